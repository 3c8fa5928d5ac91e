/*
 * pgw_daemon.h — the daemon context: everything the loop owns, handed to every
 * core part. One instance per process, touched only from the loop thread.
 */

#ifndef PGW_DAEMON_H
#define PGW_DAEMON_H

#include <stdint.h>

#include <jansson.h>

#include "pgw_core.h"

struct event_base;
struct evhttp;
struct event;
struct pgw_config;
struct pgw_apps;
struct pgw_store;
struct pgw_transport;
struct pgw_packs;
struct pgw_waiters;
struct pgw_auth;
struct pgw_bulkhead;
struct pgw_routes;

struct pgw_metrics {
    uint64_t payments_accepted;
    uint64_t payments_replayed;
    uint64_t channel_sends;
    uint64_t channel_not_sent;
    uint64_t channel_unknown;
    uint64_t queries;
    uint64_t notifies_verified;
    uint64_t notifies_rejected;
    uint64_t transitions;
    uint64_t discrepancies;
    uint64_t caller_notify_sent;
    uint64_t caller_notify_failed;
    json_t *unmapped;            /* "channel\tcode" -> count of answers whose
                                    code is on none of the pack's lists */
};

struct pgw_daemon {
    struct event_base *base;
    struct pgw_config *conf;
    struct pgw_apps *apps;
    struct pgw_store *store;
    struct pgw_transport *transport;
    struct pgw_bulkhead *bulkhead; /* per-channel caps on sends (NULL: none) */
    struct pgw_packs *packs;
    struct pgw_routes *routes;   /* routes.conf in force, or NULL (none) */
    struct pgw_waiters *waiters;
    struct pgw_auth *auth;       /* OAuth2 tokens of the channels */
    struct evhttp *api_http;
    struct evhttp *admin_http;
    struct event *scan_timer;
    struct event *sigint_ev;
    struct event *sigterm_ev;
    int queries_in_flight;
    json_t *queries_by_channel;  /* channel -> payment queries / closes in
                                    flight (query_concurrency caps it) */
    int outbox_in_flight;
    int outbox_claiming;
    int scanning;
    struct pgw_metrics metrics;
};

/* counts one unmapped channel code (bounded: past 1000 distinct codes they
 * are counted under code "(other)") */
void pgw_metrics_unmapped(struct pgw_daemon *d, const char *channel, const char *code);

/* parts started by paygwd.c */
int pgw_api_start(struct pgw_daemon *d, char *err, size_t errlen);
void pgw_api_stop(struct pgw_daemon *d);
int pgw_admin_start(struct pgw_daemon *d, char *err, size_t errlen);
struct evhttp_request;
/* the review queue and notification outbox admin routes; 1 if it answered */
int pgw_admin_sched(struct pgw_daemon *d, struct evhttp_request *req,
                    const char *path);
/* the pack version admin routes (pgw_admin_packs.c); 1 if it answered */
int pgw_admin_packs(struct pgw_daemon *d, struct evhttp_request *req,
                    const char *path);
int pgw_scheduler_start(struct pgw_daemon *d);
void pgw_scheduler_tick(struct pgw_daemon *d);
int pgw_recover(struct pgw_daemon *d);

#endif
