/*
 * pgw_config.h — paygwd.conf: the daemon's configuration (docs/internals.md).
 * Parsing stops at the first error with "<file>:<line>: <message>".
 */

#ifndef PGW_CONFIG_H
#define PGW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#define PGW_MAX_BACKOFF 16

struct pgw_channel_conf {
    char name[32];
    char endpoint[512];
    int64_t first_query_delay_ms;       /* -1: take the pack's */
    int64_t query_backoff_ms[PGW_MAX_BACKOFF];
    int n_query_backoff;                /* 0: take the pack's */
    int64_t connect_timeout_ms;         /* -1: take the pack's */
    int64_t timeout_ms;                 /* -1: take the pack's */
    int64_t breaker_errors;             /* -1: 12 network errors / minute */
    int64_t breaker_open_ms;            /* -1: 30000 */
    int64_t max_concurrency;            /* -1: take the pack's (bulkhead) */
    int64_t qps;                        /* -1: take the pack's (bulkhead) */
    int64_t queue_max;                  /* -1: default (bulkhead) */
    int64_t queue_wait_ms;              /* -1: default (bulkhead) */
    int64_t canary_pct;                 /* a watched change goes to this share
                                           of new pays first (0: swapped) */
    int64_t query_max;                  /* -1: take the pack's, else 100:
                                           scheduled queries before the
                                           order goes to the review queue */
    int64_t query_concurrency;          /* -1: 32 queries in flight at most */
    int64_t notify_confirm_above;       /* -1: never; a SUCCESS notify above
                                           this amount is confirmed by a
                                           query before the order is final */
    int enabled;
    json_t *params;                     /* owned: ctx.config for the pack */
    json_t *micropay;                   /* owned, may be NULL: overrides of
                                           the pack's micropay policy */
    struct pgw_channel_conf *next;
};

struct pgw_config {
    char path[512];
    char listen_unix[256];
    char admin_listen[128];
    char admin_token[128];
    char db[512];
    char apps[512];
    char routes[512];                   /* routes.conf, "" = none */
    char templates[512];
    char scripts[512];
    char keystore[512];
    char public_url[256];
    char log_level[16];
    char sign_key[1024];                /* resolved path, "" if none */
    EVP_PKEY *sign_key_pkey;            /* owned: the gateway's RSA key */
    int64_t notify_backoff_ms[PGW_MAX_BACKOFF]; /* delays before retries:
                                           n of them give n + 1 attempts */
    int n_notify_backoff;
    int64_t refresh_rate;               /* ?refresh=true: per app per second */
    int64_t refresh_burst;              /* ... and the bucket's size */
    int64_t refresh_min_interval_ms;    /* ... and per order */
    int64_t not_found_alert_s;
    int64_t expiry_grace_s;
    int64_t sync_timeout_ms;            /* sync:true payments wait at most this */
    int64_t pack_watch;                 /* 1: reload changed packs (inotify) */
    int64_t canary_min_samples;         /* canary outcomes before judging it */
    int64_t scan_interval_ms;
    int64_t group_commit_max;
    struct pgw_channel_conf *channels;  /* owned list */
};

/* new: returns NULL and fills err with "<file>:<line>: <msg>" on error */
struct pgw_config *pgw_config_load(const char *path, char *err, size_t errlen);
void pgw_config_free(struct pgw_config *conf);
struct pgw_channel_conf *pgw_config_channel(struct pgw_config *conf,
                                            const char *name); /* borrowed */
int pgw_parse_ms_list(const char *text, int64_t *out, int max, int *n);

#endif
