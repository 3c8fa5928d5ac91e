/*
 * pgw_health.c — sliding windows and breaker transitions per channel x method
 * (pure: the caller passes the clock; pgw_health.h).
 */

#include <stdio.h>
#include <string.h>

#include "pgw_health.h"

#define PGW__MAX_HEALTH 128

static struct pgw_health pgw__h[PGW__MAX_HEALTH];
static size_t pgw__nh;


struct pgw_health *
pgw_health_get(const char *channel, const char *method)
{
    for (size_t i = 0; i < pgw__nh; i++) {
        if (strcmp(pgw__h[i].channel, channel) == 0
            && strcmp(pgw__h[i].method, method) == 0) {
            return &pgw__h[i];
        }
    }
    if (pgw__nh == PGW__MAX_HEALTH) {
        return NULL;
    }
    struct pgw_health *h = &pgw__h[pgw__nh++];
    memset(h, 0, sizeof(*h));
    snprintf(h->channel, sizeof(h->channel), "%s", channel);
    snprintf(h->method, sizeof(h->method), "%s", method);
    for (int i = 0; i < 60; i++) {
        h->w1[i].slot = -1;
        h->w10[i].slot = -1;
    }
    return h;
}


struct pgw_health *
pgw_health_at(size_t i)
{
    return i < pgw__nh ? &pgw__h[i] : NULL;
}


size_t
pgw_health_count(void)
{
    return pgw__nh;
}


void
pgw_health_reset(void)
{
    pgw__nh = 0;
}


const char *
pgw_circuit_name(int circuit)
{
    switch (circuit) {
    case PGW_CB_OPEN:
        return "open";
    case PGW_CB_HALF_OPEN:
        return "half_open";
    default:
        return "closed";
    }
}


static struct pgw_health_bucket *
pgw__bucket(struct pgw_health_bucket *w, int64_t slot)
{
    struct pgw_health_bucket *b = &w[slot % 60];

    if (b->slot != slot) {
        memset(b, 0, sizeof(*b));
        b->slot = slot;
    }
    return b;
}


static int
pgw__lat_index(int64_t ms)
{
    int i = 0;

    while (ms > 1 && i < PGW_HEALTH_NLAT - 1) {
        ms >>= 1;
        i++;
    }
    return i;
}


static void
pgw__add(struct pgw_health_bucket *b, int kind, int64_t latency_ms)
{
    switch (kind) {
    case PGW_HK_NETWORK:
        b->network++;
        return;
    case PGW_HK_TIMEOUT:
        b->timeout++;
        return;
    case PGW_HK_5XX:
        b->s5xx++;
        break;
    case PGW_HK_SUCCESS:
        b->success++;
        break;
    case PGW_HK_FAILED:
        b->failed++;
        break;
    default:
        break;
    }
    b->answered++;
    b->lat[pgw__lat_index(latency_ms < 0 ? 0 : latency_ms)]++;
}


int
pgw_health_record(struct pgw_health *h, int kind, int64_t latency_ms,
                  int64_t now, int64_t errors_threshold)
{
    struct pgw_health_stats st;

    pgw__add(pgw__bucket(h->w1, now / 1000), kind, latency_ms);
    pgw__add(pgw__bucket(h->w10, now / 10000), kind, latency_ms);
    if (h->circuit != PGW_CB_CLOSED
        || (kind != PGW_HK_NETWORK && kind != PGW_HK_TIMEOUT)) {
        return -1;
    }
    pgw_health_stats(h, 1, now, &st);
    if (errors_threshold > 0 && st.network + st.timeout >= errors_threshold) {
        h->circuit = PGW_CB_OPEN;
        h->opened_at = now;
        h->changed_at = now;
        return PGW_CB_OPEN;
    }
    return -1;
}


void
pgw_health_stats(const struct pgw_health *h, int win, int64_t now,
                 struct pgw_health_stats *out)
{
    const struct pgw_health_bucket *w = win == 1 ? h->w1 : h->w10;
    int64_t cur = win == 1 ? now / 1000 : now / 10000;
    int64_t lat[PGW_HEALTH_NLAT];

    memset(out, 0, sizeof(*out));
    memset(lat, 0, sizeof(lat));
    for (int i = 0; i < 60; i++) {
        if (w[i].slot < 0 || w[i].slot > cur || w[i].slot <= cur - 60) {
            continue;
        }
        out->network += w[i].network;
        out->timeout += w[i].timeout;
        out->s5xx += w[i].s5xx;
        out->answered += w[i].answered;
        out->success += w[i].success;
        out->failed += w[i].failed;
        for (int k = 0; k < PGW_HEALTH_NLAT; k++) {
            lat[k] += w[i].lat[k];
        }
    }
    out->p99_ms = -1;
    if (out->answered > 0) {
        /* the upper bound of the bucket holding the 99th percentile */
        int64_t rank = (out->answered * 99 + 99) / 100, seen = 0;
        for (int k = 0; k < PGW_HEALTH_NLAT; k++) {
            seen += lat[k];
            if (seen >= rank) {
                out->p99_ms = (int64_t) 1 << k;
                break;
            }
        }
    }
}


int
pgw_health_allows(const struct pgw_health *h)
{
    return h == NULL || h->circuit == PGW_CB_CLOSED;
}


int
pgw_breaker_probe_due(struct pgw_health *h, int64_t now, int64_t open_ms)
{
    if (h->circuit != PGW_CB_OPEN || now - h->opened_at < open_ms) {
        return 0;
    }
    h->circuit = PGW_CB_HALF_OPEN;
    h->changed_at = now;
    h->probing = 1;
    return 1;
}


int
pgw_breaker_probe_done(struct pgw_health *h, int ok, int64_t now)
{
    h->probing = 0;
    h->changed_at = now;
    if (ok) {
        /* a fresh start: the errors that opened it no longer count */
        for (int i = 0; i < 60; i++) {
            h->w1[i].network = h->w1[i].timeout = 0;
        }
        h->circuit = PGW_CB_CLOSED;
    } else {
        h->circuit = PGW_CB_OPEN;
        h->opened_at = now;
    }
    return h->circuit;
}


void
pgw_breaker_probe_skip(struct pgw_health *h, int64_t now)
{
    h->probing = 0;
    h->circuit = PGW_CB_OPEN;
    h->opened_at = now;
    h->changed_at = now;
}
