/*
 * pgw_refresh.c — the ?refresh=true decision shared by GET /v1/payments,
 * /v1/refunds and /v1/payouts, and the per-app token buckets behind it.
 */

#include <stdio.h>
#include <string.h>

#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_dispatch.h"
#include "pgw_order.h"
#include "pgw_refresh.h"
#include "pgw_tokens.h"

/* one bucket per app (apps.conf is small and fixed for the process's life;
 * an app past the table shares the last bucket) */
#define PGW__REFRESH_APPS 256

static struct {
    char app_id[72];
    struct pgw_tokens bucket;
} pgw__refresh_apps[PGW__REFRESH_APPS];


static struct pgw_tokens *
pgw__refresh_bucket(const char *app_id)
{
    int i;

    for (i = 0; i < PGW__REFRESH_APPS - 1; i++) {
        if (pgw__refresh_apps[i].app_id[0] == '\0') {
            snprintf(pgw__refresh_apps[i].app_id,
                     sizeof(pgw__refresh_apps[i].app_id), "%s", app_id);
            break;
        }
        if (strcmp(pgw__refresh_apps[i].app_id, app_id) == 0) {
            break;
        }
    }
    return &pgw__refresh_apps[i].bucket;
}


const char *
pgw_refresh_decide(struct pgw_daemon *d, const char *app_id,
                   const struct pgw_refresh_facts *f, int *go, int64_t *wait_ms)
{
    int64_t now = pgw_now_ms();

    *go = 0;
    *wait_ms = 0;
    if (f->status != PGW_ST_PROCESSING) {
        return pgw_status_is_final(f->status) ? "FINAL" : "NOT_SENT_YET";
    }
    if (f->channel[0] == '\0' || f->next_query_at == 0) {
        return "NOT_SENT_YET";
    }
    if (f->query_count == 0 && now < f->next_query_at) {
        *wait_ms = f->next_query_at - now;
        return "TOO_EARLY";
    }
    if (f->last_query_at != 0
        && now < f->last_query_at + d->conf->refresh_min_interval_ms)
    {
        *wait_ms = f->last_query_at + d->conf->refresh_min_interval_ms - now;
        return "TOO_SOON";
    }
    if (f->sending > 0) {
        *wait_ms = 500;
        return "QUERYING";   /* one is on its way already */
    }
    if (pgw_dispatch_query_room(d, f->channel) <= 0) {
        *wait_ms = 1000;
        return "CHANNEL_BUSY";
    }
    if (!pgw_tokens_take(pgw__refresh_bucket(app_id),
                         (double) d->conf->refresh_rate,
                         (double) d->conf->refresh_burst, now, wait_ms)) {
        return "RATE_LIMITED";
    }
    *go = 1;
    return "QUERYING";
}


json_t *
pgw_refresh_json(const char *result, int64_t wait_ms)
{
    return wait_ms > 0 ? json_pack("{s:s, s:I}", "result", result,
                                   "retry_after_ms", (json_int_t) wait_ms)
                       : json_pack("{s:s}", "result", result);
}
