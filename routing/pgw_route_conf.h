/*
 * pgw_route_conf.h — routes.conf: what each channel serves and how a method's
 * channels are ordered (docs/routing.md "routes.conf").
 *
 *   tz       +08:00                                  offset of the windows
 *   strategy METHOD|* weighted|priority|lowest_cost|success_rate [explore=PCT]
 *   route    CHANNEL METHOD|* [currencies=A,B] [min=N] [max=N] [banks=A,B]
 *            [open=HH:MM-HH:MM,...] [closed=HH:MM-HH:MM,...]
 *            [fee=FIXED+RATE%] [weight=N] [priority=N]
 *   app      APP [method=M] [min=N] [max=N] allow=CH,... | deny=CH,... | pin=CH
 *
 * Parsing stops at the first error with "<file>:<line>: <message>"; a file
 * that does not parse never replaces the one in force. Everything below the
 * loader is pure (no daemon, `now` passed in) for tests/unit/test_route_conf.c.
 */

#ifndef PGW_ROUTE_CONF_H
#define PGW_ROUTE_CONF_H

#include <stddef.h>
#include <stdint.h>

#define PGW_RC_MAX_LIST 16
#define PGW_RC_MAX_WINDOWS 4

enum pgw_strategy {
    PGW_STRAT_WEIGHTED = 0,
    PGW_STRAT_PRIORITY,
    PGW_STRAT_LOWEST_COST,
    PGW_STRAT_SUCCESS_RATE
};

struct pgw_rc_window {
    int from_min, to_min;          /* minutes of the day; to <= from wraps */
};

/* one "route CHANNEL METHOD" line */
struct pgw_rc_route {
    int line;
    char channel[32];
    char method[64];               /* "*" = every method of the channel */
    char currencies[PGW_RC_MAX_LIST][8];
    int ncurrencies;               /* 0: any the manifest offers */
    char banks[PGW_RC_MAX_LIST][16];
    int nbanks;                    /* 0: any bank */
    int64_t min_amount, max_amount;    /* 0 / INT64_MAX when not given */
    struct pgw_rc_window open[PGW_RC_MAX_WINDOWS];
    int nopen;                     /* 0: always open */
    struct pgw_rc_window closed[PGW_RC_MAX_WINDOWS];
    int nclosed;
    int64_t fee_fixed;             /* minor units */
    int64_t fee_ppm;               /* rate in millionths of the amount */
    int64_t weight;                /* -1: not given (100) */
    int64_t priority;              /* lower first; 100 when not given */
};

enum pgw_rc_app_kind { PGW_RCA_ALLOW = 0, PGW_RCA_DENY, PGW_RCA_PIN };

/* one "app APP ..." line */
struct pgw_rc_app {
    int line;
    char app[72];
    char method[64];               /* "" = every method */
    int64_t min_amount, max_amount;
    int kind;                      /* enum pgw_rc_app_kind */
    char channels[PGW_RC_MAX_LIST][32];
    int nchannels;
};

struct pgw_rc_strategy {
    int line;
    char method[64];               /* "*" = default */
    int strategy;                  /* enum pgw_strategy */
    int explore_pct;               /* success_rate: share drawn by weight */
};

struct pgw_routes {
    char path[512];
    char sha256[65];               /* of the file's bytes, for the audit */
    int tz_min;                    /* offset of the windows from UTC */
    struct pgw_rc_route *routes;
    size_t nroutes;
    struct pgw_rc_app *apps;
    size_t napps;
    struct pgw_rc_strategy *strategies;
    size_t nstrategies;
};

/* NULL and "<file>:<line>: <msg>" in err on error */
struct pgw_routes *pgw_routes_load(const char *path, char *err, size_t errlen);
/* the same, from text (tests); name is the file name in messages */
struct pgw_routes *pgw_routes_parse(const char *name, const char *text,
                                    char *err, size_t errlen);
void pgw_routes_free(struct pgw_routes *r);

const char *pgw_strategy_name(int strategy);

/* the line for channel x method (an exact method beats "*"), or NULL */
const struct pgw_rc_route *pgw_routes_find(const struct pgw_routes *r,
                                           const char *channel,
                                           const char *method);
/* 1 when some route line names this method exactly: such a method is served
 * only by the channels that have a line for it (exact or "*") */
int pgw_routes_method_listed(const struct pgw_routes *r, const char *method);
/* NULL when the line admits the order, else why not ("currency USD not
 * routed", "closed 23:50-00:10", ...); buf holds built messages */
const char *pgw_rc_route_refuses(const struct pgw_rc_route *rt, int tz_min,
                                 const char *currency, int64_t amount,
                                 const char *bank, int64_t now_ms,
                                 char *buf, size_t buflen);
/* fee of an amount in millionths of a minor unit */
int64_t pgw_rc_route_cost(const struct pgw_rc_route *rt, int64_t amount);

/* app rules for app x method x amount: NULL when the channel may serve the
 * order, else why not (deny, or not on an allow list) */
const char *pgw_routes_app_refuses(const struct pgw_routes *r, const char *app,
                                   const char *method, int64_t amount,
                                   const char *channel, char *buf,
                                   size_t buflen);
/* the channel an app rule pins the order to, or NULL */
const char *pgw_routes_app_pin(const struct pgw_routes *r, const char *app,
                               const char *method, int64_t amount);
/* the strategy for a method ("*" line, else weighted) */
const struct pgw_rc_strategy *pgw_routes_strategy(const struct pgw_routes *r,
                                                  const char *method);

#endif
