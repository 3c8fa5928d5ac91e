/*
 * paygwd.c — the core daemon's entry point: reads the configuration, opens the
 * store, loads every configured channel pack (a broken pack stops start-up
 * with its file and line), recovers interrupted work, starts the caller API,
 * the admin API and the scheduler, and runs the one event loop until SIGINT or
 * SIGTERM.
 *
 *   paygwd -c paygwd.conf      run
 *   paygwd -c paygwd.conf -t   check the configuration and the packs, then exit
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "pgw_apps.h"
#include "pgw_auth.h"
#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_health.h"
#include "pgw_log.h"
#include "pgw_pack.h"
#include "pgw_packver.h"
#include "pgw_route.h"
#include "pgw_route_conf.h"
#include "pgw_recon_run.h"
#include "pgw_store.h"
#include "pgw_transport.h"
#include "pgw_bulkhead.h"


static void
pgw__usage(void)
{
    fprintf(stderr, "usage: paygwd -c <paygwd.conf> [-t]\n");
}


static void
pgw__on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct pgw_daemon *d = arg;

    (void) what;
    pgw_log(PGW_LOG_INFO, "shutdown", "signal %d: stopping", (int) sig);
    event_base_loopexit(d->base, NULL);
}


static void
pgw__adapter_log(const char *level, const char *channel, const char *msg,
                 void *ud)
{
    enum pgw_log_level lv = PGW_LOG_INFO;

    (void) ud;
    pgw_log_parse_level(level, &lv);
    pgw_log(lv, "pack.log", "%s: %s", channel, msg);
}


/* loads (or, with check_only, checks) every configured channel's pack */
static int
pgw__load_packs(struct pgw_daemon *d, int check_only, char *err, size_t errlen)
{
    for (struct pgw_channel_conf *c = d->conf->channels; c; c = c->next) {
        if (c->endpoint[0]) {
            json_object_set_new(c->params, "endpoint", json_string(c->endpoint));
        }
        int rc = check_only ? pgw_packs_check(d->packs, c->name, c->params, err,
                                              errlen)
                            : pgw_packs_load(d->packs, c->name, c->params, err,
                                             errlen);
        if (rc != 0) {
            return PGW_ERR;
        }
        pgw_log(PGW_LOG_INFO, "pack.loaded", "%s version %s", c->name,
                check_only ? "(checked)"
                           : pgw_pack_version(pgw_packs_get(d->packs, c->name)));
    }
    return PGW_OK;
}


int
main(int argc, char **argv)
{
    struct pgw_daemon d;
    const char *conf_path = NULL;
    int check_only = 0, opt, rc = 1;
    char err[1024];
    enum pgw_log_level level;

    while ((opt = getopt(argc, argv, "c:th")) != -1) {
        switch (opt) {
        case 'c':
            conf_path = optarg;
            break;
        case 't':
            check_only = 1;
            break;
        default:
            pgw__usage();
            return 2;
        }
    }
    if (conf_path == NULL) {
        pgw__usage();
        return 2;
    }

    memset(&d, 0, sizeof(d));
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    curl_global_init(CURL_GLOBAL_DEFAULT);

    d.conf = pgw_config_load(conf_path, err, sizeof(err));
    if (d.conf == NULL) {
        fprintf(stderr, "paygwd: %s\n", err);
        goto out;
    }
    if (pgw_log_parse_level(d.conf->log_level, &level) != PGW_OK) {
        fprintf(stderr, "paygwd: %s: log_level: use debug, info, warn or error\n",
                conf_path);
        goto out;
    }
    pgw_log_set_level(level);
    pgw_adapters_set_log(pgw__adapter_log, NULL);

    d.apps = pgw_apps_load(d.conf->apps, err, sizeof(err));
    if (d.apps == NULL) {
        fprintf(stderr, "paygwd: %s\n", err);
        goto out;
    }
    if (pgw_apps_have_rsa(d.apps) && d.conf->sign_key_pkey == NULL) {
        fprintf(stderr,
                "paygwd: %s: the apps file %s has RSA2 apps, whose"
                " notifications are signed with the gateway's RSA key: add"
                " \"sign_key <private key PEM>\" to the configuration\n",
                conf_path, d.conf->apps);
        goto out;
    }
    d.packs = pgw_packs_new(d.conf->templates, d.conf->scripts,
                            d.conf->keystore, err, sizeof(err));
    if (d.packs == NULL || pgw__load_packs(&d, check_only, err, sizeof(err))
                               != PGW_OK) {
        fprintf(stderr, "paygwd: %s\n", err);
        goto out;
    }
    if (d.conf->routes[0] != '\0' && pgw_routes_reload(&d, err, sizeof(err))
                                          != PGW_OK) {
        fprintf(stderr, "paygwd: %s\n", err);
        goto out;
    }
    if (check_only) {
        fprintf(stderr, "paygwd: configuration %s is valid\n", conf_path);
        rc = 0;
        goto out;
    }

    d.base = event_base_new();
    if (d.base == NULL) {
        fprintf(stderr, "paygwd: cannot create the event loop\n");
        goto out;
    }
    d.store = pgw_store_open(d.conf->db, d.base, (int) d.conf->group_commit_max,
                             err, sizeof(err));
    if (d.store == NULL) {
        fprintf(stderr, "paygwd: %s\n", err);
        goto out;
    }
    d.transport = pgw_transport_new(d.base);
    if (d.transport == NULL) {
        fprintf(stderr, "paygwd: cannot start the transport\n");
        goto out;
    }
    d.bulkhead = pgw_bulkhead_new(d.base);
    if (d.bulkhead == NULL) {
        fprintf(stderr, "paygwd: out of memory\n");
        goto out;
    }
    if (pgw_api_start(&d, err, sizeof(err)) != PGW_OK
        || pgw_admin_start(&d, err, sizeof(err)) != PGW_OK
        || pgw_packver_start(&d, err, sizeof(err)) != PGW_OK) {
        fprintf(stderr, "paygwd: %s\n", err);
        goto out;
    }
    d.auth = pgw_auth_new();
    if (d.auth == NULL) {
        fprintf(stderr, "paygwd: out of memory\n");
        goto out;
    }
    /* OAuth2 channels fetch their first token before orders need it */
    pgw_auth_refresh(&d);
    if (pgw_recover(&d) != PGW_OK || pgw_breaker_restore(&d) != PGW_OK
        || pgw_scheduler_start(&d) != PGW_OK) {
        fprintf(stderr, "paygwd: recovery or scheduler start failed\n");
        goto out;
    }
    d.sigint_ev = evsignal_new(d.base, SIGINT, pgw__on_signal, &d);
    d.sigterm_ev = evsignal_new(d.base, SIGTERM, pgw__on_signal, &d);
    event_add(d.sigint_ev, NULL);
    event_add(d.sigterm_ev, NULL);

    pgw_log(PGW_LOG_INFO, "ready", "paygwd listening on %s, admin on %s",
            d.conf->listen_unix, d.conf->admin_listen);
    event_base_dispatch(d.base);
    rc = 0;

out:
    /* shutdown order: stop timers; drain the store (its callbacks may still
     * answer requests or start sends); abandon sends in flight (recovery
     * treats them like a crash); then drop the listeners and waiters */
    if (d.scan_timer) {
        event_free(d.scan_timer);
    }
    if (d.sigint_ev) {
        event_free(d.sigint_ev);
    }
    if (d.sigterm_ev) {
        event_free(d.sigterm_ev);
    }
    pgw_recon_stop(&d);              /* joins a reconciliation worker */
    pgw_store_close(d.store);
    pgw_transport_free(d.transport);
    pgw_bulkhead_free(d.bulkhead);   /* sends still waiting: abandoned too */
    pgw_api_stop(&d);
    if (d.admin_http) {
        evhttp_free(d.admin_http);
    }
    pgw_auth_free(d.auth);
    pgw_packver_stop(&d);
    pgw_packs_free(d.packs);
    pgw_routes_free(d.routes);
    json_decref(d.metrics.unmapped);
    json_decref(d.queries_by_channel);
    pgw_apps_free(d.apps);
    pgw_config_free(d.conf);
    if (d.base) {
        event_base_free(d.base);
    }
    curl_global_cleanup();
    return rc;
}
