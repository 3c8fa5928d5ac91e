/*
 * pgw_health.h — channel health and circuit breaker (issue 5, item 3).
 *
 * Per channel x method, in memory: sliding windows of 1 min (60 one-second
 * buckets) and 10 min (60 ten-second buckets) counting network errors,
 * timeouts, 5xx, answered, success and a latency histogram (for p99). Fed by
 * one call from pgw_op_interpret for every channel answer.
 *
 * Breaker: closed -> open when the 1-min window holds >= errors (network
 * errors + timeouts; default 12); open: not eligible for new pays; after
 * open_ms (default 30000) -> half_open, and ONE probe with the channel's
 * query op on a recent order (never a pay); a definite answer closes it, a
 * network error / timeout / 5xx opens it again. No query op or no order to
 * probe: it stays open and the probe is retried after open_ms.
 *
 * The pure part (windows, transitions) takes `now` from the caller, for the
 * unit test (tests/unit/test_health.c).
 */
#ifndef PGW_HEALTH_H
#define PGW_HEALTH_H

#include <stddef.h>
#include <stdint.h>

enum pgw_health_kind {
    PGW_HK_SUCCESS = 0,   /* answered, class SUCCESS */
    PGW_HK_ANSWERED,      /* answered, any other class (not 5xx) */
    PGW_HK_5XX,           /* answered with an HTTP 5xx */
    PGW_HK_NETWORK,       /* NOT_SENT, or UNKNOWN without an answer */
    PGW_HK_TIMEOUT,       /* UNKNOWN: the transport timed out */
    PGW_HK_FAILED         /* answered, class FAILED (counted as answered too) */
};

enum pgw_circuit { PGW_CB_CLOSED = 0, PGW_CB_OPEN, PGW_CB_HALF_OPEN };

#define PGW_BREAKER_DEFAULT_ERRORS 12
#define PGW_BREAKER_DEFAULT_OPEN_MS 30000
#define PGW_HEALTH_NLAT 20

struct pgw_health_bucket {
    int64_t slot;                 /* second (1-min) or 10-second (10-min) index */
    int64_t network, timeout, s5xx, answered, success, failed;
    int64_t lat[PGW_HEALTH_NLAT]; /* answered latency, log2 ms buckets */
};

struct pgw_health {
    char channel[32];
    char method[64];
    struct pgw_health_bucket w1[60], w10[60];
    int circuit;                  /* enum pgw_circuit */
    int64_t opened_at;            /* when it last went open */
    int64_t changed_at;
    int probing;                  /* a half-open probe is in flight */
};

struct pgw_health_stats {
    int64_t network, timeout, s5xx, answered, success, failed;
    int64_t p99_ms;               /* -1 when nothing answered */
};

/* the entry for channel x method (created), or NULL when the table is full */
struct pgw_health *pgw_health_get(const char *channel, const char *method);
/* entries in creation order */
struct pgw_health *pgw_health_at(size_t i);
size_t pgw_health_count(void);
void pgw_health_reset(void);      /* tests */

const char *pgw_circuit_name(int circuit);

/* records one outcome; returns the new circuit state when it changed (only
 * closed -> open here), else -1 */
int pgw_health_record(struct pgw_health *h, int kind, int64_t latency_ms,
                      int64_t now, int64_t errors_threshold);
/* window sums: win 1 = last minute, 10 = last 10 minutes */
void pgw_health_stats(const struct pgw_health *h, int win, int64_t now,
                      struct pgw_health_stats *out);
/* 1 when the channel may take new pays (closed) */
int pgw_health_allows(const struct pgw_health *h);
/* open and open_ms elapsed: moves to half_open, returns 1 (probe now) */
int pgw_breaker_probe_due(struct pgw_health *h, int64_t now, int64_t open_ms);
/* the probe's result (ok = a definite answer): returns the new state */
int pgw_breaker_probe_done(struct pgw_health *h, int ok, int64_t now);
/* no probe possible (no query op / no order): back to open, retry later */
void pgw_breaker_probe_skip(struct pgw_health *h, int64_t now);

/* ---- daemon glue (routing/pgw_breaker.c) ---------------------------------- */
struct pgw_daemon;
struct pgw_op;
struct pgw_http_result;
struct pgw_outcome;
struct pgw_txn;

/* the pgw_op_interpret hook: records the outcome; a transition's alert
 * (discrepancy row, order_id NULL) is committed on its own (txn is the
 * answer's, left untouched) */
void pgw_health_note(struct pgw_daemon *d, const struct pgw_op *op,
                     const struct pgw_http_result *res,
                     const struct pgw_outcome *out, struct pgw_txn *txn);
/* 1 when channel x method takes new pays; else why (e.g. "circuit open") */
int pgw_health_eligible(const char *channel, const char *method,
                        const char **why);
/* the success_rate strategy's score of channel x method over the last 10
 * minutes, in millionths: (good + 1) / (all + 2), where good = answers that
 * are neither 5xx nor FAILED and all adds network errors and timeouts — an
 * unknown channel scores 1/2 */
int64_t pgw_health_score(const char *channel, const char *method, int64_t now);
/* start-up: breakers that were open (or probing) when paygwd stopped come
 * back open with their opening time (breaker_state table) */
int pgw_breaker_restore(struct pgw_daemon *d);
/* scheduler tick: open breakers whose time is up go half-open and probe */
void pgw_breaker_tick(struct pgw_daemon *d);

#endif
