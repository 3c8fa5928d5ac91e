/*
 * pgw_refresh.h — ?refresh=true: a caller asking the channel *now* about a
 * payment, refund or payout, and the limits that keep it from hammering the
 * channel (SPEC §3.3 "rate-limited"; docs/status-keeping.md).
 */

#ifndef PGW_REFRESH_H
#define PGW_REFRESH_H

#include <stdint.h>

#include <jansson.h>

#include "pgw_core.h"

struct pgw_daemon;

/* what the caller's row says, gathered by the API that owns the row */
struct pgw_refresh_facts {
    enum pgw_status status;
    const char *channel;         /* "" until routed */
    int64_t next_query_at;       /* 0 until sent */
    int64_t query_count;         /* queries so far */
    int64_t last_query_at;       /* start of the last query, 0 if none */
    int64_t sending;             /* attempts of the row still on their way */
};

/* Decides one refresh: never before the first query is due, at most once
 * per refresh_min_interval_ms per row, not while a send or query is on its
 * way, not past the channel's query_concurrency, within the app's
 * refresh_rate / refresh_burst bucket. Returns QUERYING with *go = 1 (the
 * caller starts the query now), else why not: FINAL, NOT_SENT_YET,
 * TOO_EARLY, TOO_SOON, QUERYING (one is on its way), CHANNEL_BUSY,
 * RATE_LIMITED, with *wait_ms > 0 when trying again later can help. */
const char *pgw_refresh_decide(struct pgw_daemon *d, const char *app_id,
                               const struct pgw_refresh_facts *f, int *go,
                               int64_t *wait_ms);

/* {"result": …[, "retry_after_ms": …]} — the "refresh" member of the answer */
json_t *pgw_refresh_json(const char *result, int64_t wait_ms);

#endif
