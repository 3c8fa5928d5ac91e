/*
 * pgw_route.h — channel selection: which channel may take an order.
 *
 * A channel is eligible when it is declared and enabled in paygwd.conf, its pack
 * is loaded, and the pack's manifest lists the method, the currency and an amount
 * range that holds the amount, and the ops rule that applies to it (below) does
 * not disable, drain or zero-weight it. An explicit "channel" in the request
 * narrows the choice to that channel; channels already tried for the order are
 * excluded. Among the eligible channels the choice is weighted by the rules'
 * weights, and the decision (why this channel, why not the others) is returned
 * for the order's record.
 */

#ifndef PGW_ROUTE_H
#define PGW_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct pgw_daemon;

struct pgw_route_query {
    const char *method;
    const char *currency;
    int64_t amount;
    const char *bank_code;           /* the request's, or NULL */
    const char *channel;             /* requested, or NULL */
    const char *const *excluded;     /* NULL-terminated, or NULL */
    const char *app_id;              /* the caller's app, for app-scoped rules */
    char *decision;                  /* out, or NULL: why this channel */
    size_t decisionlen;
};

/* ---- ops route rules (route_rules table; docs/routing.md) -------------------
 * A rule is scoped to channel x method x app ("" = all). The most specific
 * rule that has not expired wins: channel+method+app > channel+method >
 * channel+app > channel. A rule whose until_ms has passed no longer applies
 * (evaluated at selection time, no timer). */
enum pgw_route_state { PGW_RS_ENABLED = 0, PGW_RS_DISABLED, PGW_RS_DRAINING };

#define PGW_ROUTE_DEFAULT_WEIGHT 100

struct pgw_route_rule {
    char channel[32];
    char method[64];
    char app[72];
    int state;                       /* enum pgw_route_state */
    int64_t weight;                  /* >= 0; 0 = never chosen; -1 = the
                                        routes.conf weight (or 100) */
    int64_t until_ms;                /* 0 = until changed */
    int64_t updated_at;
};

const char *pgw_route_state_name(int state);
int pgw_route_state_parse(const char *s);  /* -1 if unknown */
/* the winning rule for channel/method/app at now, or NULL (pure; unit-tested) */
const struct pgw_route_rule *
pgw_route_rule_match(const struct pgw_route_rule *rules, size_t n,
                     const char *channel, const char *method, const char *app,
                     int64_t now);
/* weighted choice: the index i with r mod sum(weights) falling in weight i's
 * share; -1 when every weight is 0 (pure; unit-tested) */
int pgw_route_weighted(const int64_t *weights, size_t n, uint64_t r);

/* ---- strategies (routes.conf "strategy"; docs/routing.md) --------------- */
struct pgw_route_cand {
    const char *channel;
    int64_t weight;                  /* > 0 */
    int64_t priority;                /* lower first */
    int64_t cost;                    /* fee in millionths of a minor unit */
    int64_t score;                   /* success_rate, millionths */
};

/* orders the candidates for a strategy (pure; unit-tested): weighted =
 * successive weighted draws; priority = by priority, ties by draw;
 * lowest_cost = by cost, then priority, then draw; success_rate = by score,
 * ties by draw, except explore_pct % of the time (decided by seed) when it is
 * the weighted order — returns 1 then, else 0 */
int pgw_route_order(struct pgw_route_cand *c, size_t n, int strategy,
                    int explore_pct, uint64_t seed);

/* the daemon's rules: loaded from the store on first use, changed only by
 * pgw_route_rules_put after the change is committed */
int pgw_route_rules_load(struct pgw_daemon *d);
const struct pgw_route_rule *pgw_route_rules(struct pgw_daemon *d, size_t *n);
/* the rule of exactly this scope, or NULL */
const struct pgw_route_rule *pgw_route_rule_exact(struct pgw_daemon *d,
                                                  const char *channel,
                                                  const char *method,
                                                  const char *app);
int pgw_route_rules_put(const struct pgw_route_rule *r);

/* the weight in force: the ops rule's (>= 0), else routes.conf's line for
 * channel x method ("*" when method is NULL), else 100 */
int64_t pgw_route_weight(struct pgw_daemon *d, const struct pgw_route_rule *r,
                         const char *channel, const char *method);

/* Returns PGW_OK with the channel name in out, or PGW_NOTFOUND. If why is not
 * NULL it receives a human-readable reason when nothing is eligible. */
int pgw_route_pick(struct pgw_daemon *d, const struct pgw_route_query *q,
                   char *out, size_t outlen, char *why, size_t whylen);

/* routes.conf against paygwd.conf and the packs: every channel declared,
 * every method offered; "<file>:<line>: ..." in err */
struct pgw_routes;
int pgw_routes_check(struct pgw_daemon *d, const struct pgw_routes *r,
                     char *err, size_t errlen);
/* reads conf->routes again; only a file that parses and checks replaces the
 * one in force (PGW_OK); PGW_NOTFOUND when none is configured */
int pgw_routes_reload(struct pgw_daemon *d, char *err, size_t errlen);

/* borrowed: the manifest's entry for a method, or NULL */
const json_t *pgw_manifest_method(const json_t *manifest, const char *method);
/* 1 if the manifest marks the method as a prepay method (credential first) */
int pgw_manifest_is_prepay(const json_t *manifest, const char *method);
/* borrowed: the query-then-reverse policy of a "micropay" method (the buyer
 * confirms on a device while we wait): {poll_ms, give_up_after_ms,
 * reverse_not_before_ms, reverse_op, reverse_retry_ms, reverse_max}, from the
 * method's entry or the manifest's `micropay`, each key optional; NULL for
 * any other kind of method */
const json_t *pgw_micropay_policy(const json_t *manifest, const char *method);
/* integer manifest setting, e.g. first_query_delay_ms; def if absent */
int64_t pgw_manifest_int(const json_t *manifest, const char *key, int64_t def);

#endif
