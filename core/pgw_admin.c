/*
 * pgw_admin.c — the ops API on its own listener (default 127.0.0.1:8081),
 * bearer token compared in constant time. This first version serves the order
 * trace (every transition, attempt, masked message, caller notification and
 * discrepancy), health, Prometheus metrics and the route controls
 * (GET/POST /admin/routes, GET /admin/routes/audit; docs/routing.md).
 * Reconciliation runs and discrepancies (/admin/recon/..., /admin/discrepancies)
 * are served by pgw_recon_run.c (docs/reconciliation.md).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "pgw_bulkhead.h"
#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_http.h"
#include "pgw_order.h"
#include "pgw_health.h"
#include "pgw_log.h"
#include "pgw_recon_run.h"
#include "pgw_route.h"
#include "pgw_route_conf.h"
#include "pgw_store.h"
#include "pgw_transport.h"


static int
pgw__authorized(struct pgw_daemon *d, struct evhttp_request *req)
{
    const char *h = pgw_http_header(req, "Authorization");
    const char *tok = d->conf->admin_token;
    size_t n = strlen(tok);

    if (n == 0 || h == NULL || strncmp(h, "Bearer ", 7) != 0
        || strlen(h + 7) != n) {
        return 0;
    }
    return CRYPTO_memcmp(h + 7, tok, n) == 0;
}


/* rows of one query as an array of objects, column names as keys */
static json_t *
pgw__rows(struct pgw_daemon *d, const char *sql, int64_t order_id)
{
    return pgw_store_rows_json(pgw_store_query(d->store, sql, "i", order_id));
}


static void
pgw__trace(struct pgw_daemon *d, struct evhttp_request *req, const char *no)
{
    char app[72] = "";
    json_t *orders = json_array();
    int64_t ids[16];
    int n = 0;
    sqlite3_stmt *st;

    pgw_http_query_param(req, "app_id", app, sizeof(app));
    st = pgw_store_query(d->store,
                         "SELECT id FROM orders WHERE out_trade_no = ?"
                         " AND (? = '' OR app_id = ?) ORDER BY id LIMIT 16",
                         "sss", no, app, app);
    while (st && n < 16 && sqlite3_step(st) == SQLITE_ROW) {
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    if (st) {
        sqlite3_reset(st);
    }
    if (n == 0) {
        json_decref(orders);
        pgw_http_error(req, 404, "NOT_FOUND", "no such order");
        return;
    }
    for (int i = 0; i < n; i++) {
        struct pgw_order o;
        json_t *j;

        if (pgw_order_load_by_id(d, ids[i], &o) != PGW_OK) {
            continue;
        }
        j = pgw_order_api_json(d, &o);
        json_object_set_new(j, "app_id", json_string(o.app_id));
        json_object_set_new(j, "pack_version", json_string(o.pack_version));
        json_object_set_new(j, "voucher_status", json_string(o.voucher_status));
        json_object_set_new(j, "transitions",
                            pgw__rows(d, "SELECT from_status, to_status, reason,"
                                         " evidence, at FROM transitions"
                                         " WHERE order_id = ? ORDER BY id",
                                      o.id));
        json_object_set_new(j, "attempts",
                            pgw__rows(d, "SELECT id, op, channel, pack_version,"
                                         " state, class, code, error,"
                                         " http_status, started_at, finished_at"
                                         " FROM attempts WHERE order_id = ?"
                                         " ORDER BY id",
                                      o.id));
        json_object_set_new(j, "messages",
                            pgw__rows(d, "SELECT attempt_id, channel, direction,"
                                         " op, http_status, body, note, at"
                                         " FROM messages WHERE order_id = ?"
                                         " ORDER BY id",
                                      o.id));
        json_object_set_new(j, "notifications",
                            pgw__rows(d, "SELECT o.event_id, o.type, o.url,"
                                         " o.state, o.attempts, o.last_error,"
                                         " o.delivered_at, (SELECT"
                                         " json_group_array(json_object("
                                         "'http_status', t.http_status,"
                                         " 'error', t.error, 'at', t.at))"
                                         " FROM outbox_tries t WHERE"
                                         " t.outbox_id = o.id) AS tries"
                                         " FROM outbox o WHERE o.order_id = ?"
                                         " ORDER BY o.id",
                                      o.id));
        json_object_set_new(j, "routes",
                            pgw__rows(d, "SELECT attempt_id, channel, reason, at"
                                         " FROM order_routes WHERE order_id = ?"
                                         " ORDER BY attempt_id",
                                      o.id));
        json_object_set_new(j, "discrepancies",
                            pgw__rows(d, "SELECT kind, status, evidence_class,"
                                         " code, detail, acknowledged, at"
                                         " FROM discrepancies"
                                         " WHERE order_id = ? ORDER BY id",
                                      o.id));
        /* the order's refunds with their transitions (docs/refunds-payouts.md);
         * their attempts and messages are in the lists above (op refund*) */
        json_object_set_new(j, "refunds",
                            pgw__rows(d, "SELECT r.out_refund_no, r.amount,"
                                         " r.status, r.channel,"
                                         " r.channel_refund_no, r.reason,"
                                         " r.fail_reason, r.query_count,"
                                         " r.created_at, r.finished_at, (SELECT"
                                         " json_group_array(json_object("
                                         "'from', t.from_status, 'to',"
                                         " t.to_status, 'reason', t.reason,"
                                         " 'evidence', t.evidence, 'at', t.at))"
                                         " FROM xfer_transitions t WHERE"
                                         " t.kind = 'refund' AND t.xfer_id ="
                                         " r.id) AS transitions,"
                                         " (SELECT json_group_array("
                                         "ra.attempt_id) FROM refund_attempts"
                                         " ra WHERE ra.refund_id = r.id) AS"
                                         " attempt_ids FROM refunds r"
                                         " WHERE r.order_id = ? ORDER BY r.id",
                                      o.id));
        json_array_append_new(orders, j);
        pgw_order_clear(&o);
    }
    pgw_http_json(req, 200, json_pack("{s:o}", "orders", orders));
}


void
pgw_metrics_unmapped(struct pgw_daemon *d, const char *channel, const char *code)
{
    char key[192];
    json_t *n;

    if (d->metrics.unmapped == NULL && (d->metrics.unmapped = json_object()) == NULL) {
        return;
    }
    snprintf(key, sizeof(key), "%s\t%s", channel, code);
    n = json_object_get(d->metrics.unmapped, key);
    if (n == NULL && json_object_size(d->metrics.unmapped) >= 1000) {
        snprintf(key, sizeof(key), "%s\t(other)", channel);
        n = json_object_get(d->metrics.unmapped, key);
    }
    if (n != NULL) {
        json_integer_set(n, json_integer_value(n) + 1);
    } else {
        json_object_set_new(d->metrics.unmapped, key, json_integer(1));
    }
}


/* a Prometheus label value: backslash, double quote and newline escaped */
static void
pgw__label(struct evbuffer *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' || s[i] == '"') {
            evbuffer_add_printf(b, "\\%c", s[i]);
        } else if (s[i] == '\n') {
            evbuffer_add(b, "\\n", 2);
        } else {
            evbuffer_add(b, s + i, 1);
        }
    }
}


static void
pgw__metrics_unmapped(struct pgw_daemon *d, struct evbuffer *b)
{
    const char *key;
    json_t *n;

    evbuffer_add_printf(b, "# HELP paygw_channel_unmapped_codes_total answers whose code"
                           " is on none of the pack's lists (kept PROCESSING)\n"
                           "# TYPE paygw_channel_unmapped_codes_total counter\n");
    json_object_foreach(d->metrics.unmapped, key, n) {
        const char *tab = strchr(key, '\t');

        if (tab == NULL) {
            continue;
        }
        evbuffer_add_printf(b, "paygw_channel_unmapped_codes_total{channel=\"");
        pgw__label(b, key, (size_t) (tab - key));
        evbuffer_add_printf(b, "\",code=\"");
        pgw__label(b, tab + 1, strlen(tab + 1));
        evbuffer_add_printf(b, "\"} %lld\n", (long long) json_integer_value(n));
    }
}


/* per channel: the bulkhead's gauges and rejections */
static void
pgw__metrics_bh_line(void *arg, const struct pgw_bh_stats *s)
{
    struct evbuffer *b = arg;

    evbuffer_add_printf(b,
                        "paygw_channel_in_flight{channel=\"%s\"} %d\n"
                        "paygw_channel_queued{channel=\"%s\"} %d\n"
                        "paygw_channel_rejected_total{channel=\"%s\"} %llu\n",
                        s->channel, s->in_flight, s->channel, s->queued,
                        s->channel, (unsigned long long) s->rejected_total);
}


static void
pgw__metrics_bulkhead(struct pgw_daemon *d, struct evbuffer *b)
{
    evbuffer_add_printf(b, "# TYPE paygw_channel_in_flight gauge\n"
                           "# TYPE paygw_channel_queued gauge\n"
                           "# TYPE paygw_channel_rejected_total counter\n");
    pgw_bulkhead_stats(d->bulkhead, pgw__metrics_bh_line, b);
}


static void
pgw__metrics(struct pgw_daemon *d, struct evhttp_request *req)
{
    struct pgw_store_stats ss;
    struct pgw_metrics *m = &d->metrics;
    char buf[4096];
    int n;

    pgw_store_stats(d->store, &ss);
    n = snprintf(buf, sizeof(buf),
                 "# TYPE paygw_payments_accepted_total counter\n"
                 "paygw_payments_accepted_total %llu\n"
                 "paygw_payments_replayed_total %llu\n"
                 "paygw_channel_sends_total %llu\n"
                 "paygw_channel_not_sent_total %llu\n"
                 "paygw_channel_unknown_total %llu\n"
                 "paygw_queries_total %llu\n"
                 "paygw_notifies_verified_total %llu\n"
                 "paygw_notifies_rejected_total %llu\n"
                 "paygw_transitions_total %llu\n"
                 "paygw_discrepancies_total %llu\n"
                 "paygw_caller_notify_sent_total %llu\n"
                 "paygw_caller_notify_failed_total %llu\n"
                 "paygw_store_commits_total %llu\n"
                 "paygw_store_txns_total %llu\n"
                 "paygw_store_conflicts_total %llu\n"
                 "paygw_store_errors_total %llu\n"
                 "# TYPE paygw_transport_in_flight gauge\n"
                 "paygw_transport_in_flight %d\n",
                 (unsigned long long) m->payments_accepted,
                 (unsigned long long) m->payments_replayed,
                 (unsigned long long) m->channel_sends,
                 (unsigned long long) m->channel_not_sent,
                 (unsigned long long) m->channel_unknown,
                 (unsigned long long) m->queries,
                 (unsigned long long) m->notifies_verified,
                 (unsigned long long) m->notifies_rejected,
                 (unsigned long long) m->transitions,
                 (unsigned long long) m->discrepancies,
                 (unsigned long long) m->caller_notify_sent,
                 (unsigned long long) m->caller_notify_failed,
                 (unsigned long long) ss.commits, (unsigned long long) ss.txns,
                 (unsigned long long) ss.conflicts,
                 (unsigned long long) ss.errors,
                 pgw_transport_in_flight(d->transport));
    struct evbuffer *out = evbuffer_new();

    if (out == NULL) {
        pgw_http_text(req, 503, "text/plain", "retry", 5);
        return;
    }
    evbuffer_add(out, buf, n < (int) sizeof(buf) ? (size_t) n : sizeof(buf) - 1);
    pgw__metrics_unmapped(d, out);
    pgw__metrics_bulkhead(d, out);
    pgw_recon_metrics(d, out);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, NULL, out);
    evbuffer_free(out);
}


/* ---- route controls (docs/routing.md) ---------------------------------------- */

static json_t *
pgw__rule_json(struct pgw_daemon *d, const struct pgw_route_rule *r, int64_t now)
{
    /* weight: the one in force; weight_inherited when the rule takes it from
     * routes.conf (or the default) instead of carrying its own */
    json_t *j = json_pack("{s:s, s:s?, s:s?, s:s, s:I}", "channel", r->channel,
                          "method", r->method[0] ? r->method : NULL,
                          "app", r->app[0] ? r->app : NULL,
                          "state", pgw_route_state_name(r->state),
                          "weight", (json_int_t) pgw_route_weight(
                              d, r, r->channel, r->method[0] ? r->method : NULL));

    if (j && r->weight < 0) {
        json_object_set_new(j, "weight_inherited", json_true());
    }
    if (j && r->until_ms) {
        json_object_set_new(j, "until_ms", json_integer(r->until_ms));
        if (now) {
            int64_t left = r->until_ms - now;
            json_object_set_new(j, "remaining_s",
                                json_integer(left > 0 ? (left + 999) / 1000 : 0));
        }
    }
    return j;
}


/* one row of counts for a channel since a time (INT64_MIN: ever) */
static int64_t
pgw__count1(struct pgw_daemon *d, const char *sql, const char *channel,
            int64_t since, int64_t *second)
{
    int64_t v = -1;
    sqlite3_stmt *st = pgw_store_query(d->store, sql, "si", channel, since);

    if (st && sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        if (second) {
            *second = sqlite3_column_int64(st, 1);
        }
    }
    if (st) {
        sqlite3_reset(st);
    }
    return v;
}



/* the in-memory health of the channel (routing/pgw_health.h): `circuit`
 * (the worst over its methods), errors_1m (network errors + timeouts),
 * success_rate_1m and p99_ms_1m over every method, and `health` per method
 * with the 1-min and 10-min windows */
static void
pgw__route_health(json_t *j, const char *channel, int64_t now)
{
    json_t *list = json_array();
    int worst = PGW_CB_CLOSED;
    int64_t errors = 0, answered = 0, success = 0, p99 = -1;

    for (size_t i = 0; i < pgw_health_count(); i++) {
        const struct pgw_health *h = pgw_health_at(i);
        struct pgw_health_stats m1, m10;

        if (strcmp(h->channel, channel) != 0) {
            continue;
        }
        pgw_health_stats(h, 1, now, &m1);
        pgw_health_stats(h, 10, now, &m10);
        if (h->circuit == PGW_CB_OPEN
            || (h->circuit == PGW_CB_HALF_OPEN && worst == PGW_CB_CLOSED)) {
            worst = h->circuit;
        }
        errors += m1.network + m1.timeout;
        answered += m1.answered;
        success += m1.success;
        if (m1.p99_ms > p99) {
            p99 = m1.p99_ms;
        }
        json_array_append_new(list, json_pack(
            "{s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:o, s:o}",
            "method", h->method, "circuit", pgw_circuit_name(h->circuit),
            "network_errors_1m", (json_int_t) m1.network,
            "timeouts_1m", (json_int_t) m1.timeout,
            "http_5xx_1m", (json_int_t) m1.s5xx,
            "answered_1m", (json_int_t) m1.answered,
            "success_rate_1m", m1.answered ? json_real((double) m1.success
                                                       / (double) m1.answered)
                                           : json_null(),
            "p99_ms_1m", m1.p99_ms >= 0 ? json_integer(m1.p99_ms) : json_null(),
            "errors_10m", (json_int_t) (m10.network + m10.timeout),
            "answered_10m", (json_int_t) m10.answered,
            "success_rate_10m", m10.answered ? json_real((double) m10.success
                                                         / (double) m10.answered)
                                             : json_null(),
            "p99_ms_10m", m10.p99_ms >= 0 ? json_integer(m10.p99_ms)
                                          : json_null()));
    }
    json_object_set_new(j, "circuit", json_string(pgw_circuit_name(worst)));
    json_object_set_new(j, "errors_1m", json_integer(errors));
    json_object_set_new(j, "success_rate_1m",
                        answered ? json_real((double) success / (double) answered)
                                 : json_null());
    json_object_set_new(j, "p99_ms_1m", p99 >= 0 ? json_integer(p99) : json_null());
    json_object_set_new(j, "health", list);
}


/* routes.conf in force: path, hash, route lines, strategies (or null) */
static json_t *
pgw__routes_file_json(struct pgw_daemon *d)
{
    const struct pgw_routes *r = d->routes;
    json_t *routes, *strategies, *apps;

    if (r == NULL) {
        return json_null();
    }
    routes = json_array();
    for (size_t i = 0; i < r->nroutes; i++) {
        const struct pgw_rc_route *rt = &r->routes[i];
        json_array_append_new(routes, json_pack(
            "{s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "line", rt->line,
            "channel", rt->channel, "method", rt->method,
            "priority", (json_int_t) rt->priority,
            "weight", (json_int_t) (rt->weight >= 0 ? rt->weight
                                                   : PGW_ROUTE_DEFAULT_WEIGHT),
            "fee_fixed", (json_int_t) rt->fee_fixed,
            "fee_ppm", (json_int_t) rt->fee_ppm,
            "min_amount", (json_int_t) rt->min_amount));
    }
    strategies = json_array();
    for (size_t i = 0; i < r->nstrategies; i++) {
        json_array_append_new(strategies, json_pack(
            "{s:i, s:s, s:s}", "line", r->strategies[i].line,
            "method", r->strategies[i].method,
            "strategy", pgw_strategy_name(r->strategies[i].strategy)));
    }
    apps = json_array();
    for (size_t i = 0; i < r->napps; i++) {
        static const char *const kinds[] = { "allow", "deny", "pin" };
        json_t *chs = json_array();
        for (int k = 0; k < r->apps[i].nchannels; k++) {
            json_array_append_new(chs, json_string(r->apps[i].channels[k]));
        }
        json_array_append_new(apps, json_pack(
            "{s:i, s:s, s:s, s:o}", "line", r->apps[i].line, "app", r->apps[i].app,
            "kind", kinds[r->apps[i].kind], "channels", chs));
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "path", r->path, "sha256",
                     r->sha256, "routes", routes, "strategies", strategies,
                     "apps", apps);
}


struct pgw__reload {
    struct evhttp_request *req;
    json_t *answer;
};


static void
pgw__reload_done(void *arg, int rc, int failed_stmt)
{
    struct pgw__reload *rl = arg;

    (void) failed_stmt;
    if (rc == PGW_OK) {
        pgw_http_json(rl->req, 200, rl->answer);
    } else {
        /* the new routes serve already; only the audit row was lost */
        json_object_set_new(rl->answer, "audit_stored", json_false());
        pgw_http_json(rl->req, 200, rl->answer);
    }
    free(rl);
}


/* POST /admin/routes/reload {reason, who}: reads routes.conf again; a file
 * that does not parse or check leaves the routes in force and answers 400
 * with "<file>:<line>: ..." */
static void
pgw__routes_reload(struct pgw_daemon *d, struct evhttp_request *req)
{
    size_t len;
    const char *raw = pgw_http_body(req, &len);
    json_t *body = json_loadb(raw ? raw : "", raw ? len : 0, 0, NULL);
    const char *reason = json_string_value(json_object_get(body, "reason"));
    const char *hdr = pgw_http_header(req, "X-Paygw-Operator");
    const char *who = hdr && hdr[0] ? hdr
                                    : json_string_value(json_object_get(body, "who"));
    char err[768], old_sha[65];
    struct pgw__reload *rl;
    struct pgw_txn *txn;
    int rc;
    int64_t now = pgw_now_ms();

    if (reason == NULL || reason[0] == '\0' || strlen(reason) > 500) {
        json_decref(body);
        pgw_http_error(req, 400, "INVALID_PARAMETER",
                       "reason: required (why the change is made), at most 500 bytes");
        return;
    }
    if (who == NULL || who[0] == '\0' || strlen(who) > 127) {
        json_decref(body);
        pgw_http_error(req, 400, "INVALID_PARAMETER",
                       "who: required (X-Paygw-Operator header or a \"who\" field)");
        return;
    }
    snprintf(old_sha, sizeof(old_sha), "%s", d->routes ? d->routes->sha256 : "");
    rc = pgw_routes_reload(d, err, sizeof(err));
    if (rc != PGW_OK) {
        json_decref(body);
        pgw_log(PGW_LOG_WARN, "routes.reload_refused", "%s", err);
        pgw_http_error(req, rc == PGW_NOTFOUND ? 404 : 400,
                       rc == PGW_NOTFOUND ? "NOT_FOUND" : "INVALID_PARAMETER", err);
        return;
    }
    pgw_log(PGW_LOG_INFO, "routes.reloaded", "%s sha256 %s by %s",
            d->routes->path, d->routes->sha256, who);
    rl = calloc(1, sizeof(*rl));
    txn = pgw_txn_new();
    if (rl == NULL || txn == NULL) {
        free(rl);
        pgw_txn_free(txn);
        json_decref(body);
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
        return;
    }
    char old_j[96], new_j[96];
    snprintf(old_j, sizeof(old_j), "{\"sha256\":\"%s\"}", old_sha);
    snprintf(new_j, sizeof(new_j), "{\"sha256\":\"%s\"}", d->routes->sha256);
    pgw_txn_add(txn, 1,
                "INSERT INTO route_audit (at, who, reason, channel, method, app,"
                " action, old, new) VALUES (?, ?, ?, '*', '', '', 'reload', ?, ?)",
                "issss", now, who, reason, old_sha[0] ? old_j : NULL, new_j);
    rl->req = req;
    rl->answer = json_pack("{s:o, s:s, s:s}", "routes_file",
                           pgw__routes_file_json(d), "who", who, "reason", reason);
    json_decref(body);
    pgw_store_submit(d->store, txn, pgw__reload_done, rl);
}


static void
pgw__routes_get(struct pgw_daemon *d, struct evhttp_request *req)
{
    json_t *chans = json_array();
    size_t nrules;
    const struct pgw_route_rule *rules = pgw_route_rules(d, &nrules);
    int64_t now = pgw_now_ms(), since = now - 600000;

    for (struct pgw_channel_conf *c = d->conf->channels; c; c = c->next) {
        const struct pgw_route_rule *top = NULL;
        json_t *j, *list = json_array();
        int64_t answered = 0, ok = 0, inflight;

        for (size_t i = 0; i < nrules; i++) {
            const struct pgw_route_rule *r = &rules[i];
            if (strcmp(r->channel, c->name) != 0
                || (r->until_ms && now >= r->until_ms)) {
                continue;
            }
            if (!r->method[0] && !r->app[0]) {
                top = r;
            }
            json_array_append_new(list, pgw__rule_json(d, r, now));
        }
        inflight = pgw__count1(d, "SELECT COUNT(DISTINCT o.id) FROM orders o"
                                  " JOIN attempts a ON a.order_id = o.id"
                                  " WHERE o.status = 'PROCESSING'"
                                  " AND a.state = 'SENDING' AND a.channel = ?"
                                  " AND a.started_at >= ?",
                               c->name, INT64_MIN, NULL);
        answered = pgw__count1(d, "SELECT COUNT(*), COALESCE(SUM(class ="
                                  " 'SUCCESS'), 0) FROM attempts WHERE"
                                  " channel = ? AND op = 'pay' AND state ="
                                  " 'ANSWERED' AND started_at >= ?",
                               c->name, since, &ok);
        j = json_pack("{s:s, s:b, s:s, s:I, s:o, s:I}", "channel", c->name,
                      "configured", c->enabled,
                      "state", !c->enabled ? "disabled (paygwd.conf)"
                               : top ? pgw_route_state_name(top->state)
                                     : "enabled",
                      "weight", (json_int_t) pgw_route_weight(d, top, c->name,
                                                              NULL),
                      "rules", list, "in_flight", (json_int_t) inflight);
        if (top && top->until_ms) {
            json_object_set_new(j, "until_ms", json_integer(top->until_ms));
            json_object_set_new(j, "remaining_s",
                                json_integer((top->until_ms - now + 999) / 1000));
        }
        json_object_set_new(j, "answered_10m", json_integer(answered));
        json_object_set_new(j, "success_rate_10m",
                            answered > 0 ? json_real((double) ok / (double) answered)
                                         : json_null());
        if (answered > 0) {
            int64_t off = (answered * 99 + 99) / 100 - 1;
            sqlite3_stmt *st = pgw_store_query(
                d->store,
                "SELECT finished_at - started_at AS ms FROM attempts WHERE"
                " channel = ? AND op = 'pay' AND state = 'ANSWERED' AND"
                " started_at >= ? AND finished_at IS NOT NULL ORDER BY ms"
                " LIMIT 1 OFFSET ?",
                "sii", c->name, since, off);
            if (st && sqlite3_step(st) == SQLITE_ROW) {
                json_object_set_new(j, "p99_ms_10m",
                                    json_integer(sqlite3_column_int64(st, 0)));
            }
            if (st) {
                sqlite3_reset(st);
            }
        }
        if (!json_object_get(j, "p99_ms_10m")) {
            json_object_set_new(j, "p99_ms_10m", json_null());
        }
        pgw__route_health(j, c->name, now);
        json_array_append_new(chans, j);
    }
    pgw_http_json(req, 200, json_pack("{s:o, s:I, s:o}", "channels", chans, "now",
                                      (json_int_t) now, "routes_file",
                                      pgw__routes_file_json(d)));
}


struct pgw__route_change {
    struct pgw_daemon *d;
    struct evhttp_request *req;
    struct pgw_route_rule rule;
    json_t *answer;
};


static void
pgw__route_done(void *arg, int rc, int failed_stmt)
{
    struct pgw__route_change *ch = arg;

    (void) failed_stmt;
    if (rc == PGW_OK && pgw_route_rules_put(&ch->rule) == PGW_OK) {
        pgw_http_json(ch->req, 200, ch->answer);
    } else {
        json_decref(ch->answer);
        pgw_http_error(ch->req, 503, "CORE_UNAVAILABLE",
                       "the route change was not stored");
    }
    free(ch);
}


static const char *
pgw__opt_str(json_t *body, const char *key, char *out, size_t len)
{
    json_t *v = json_object_get(body, key);

    out[0] = '\0';
    if (v == NULL || json_is_null(v)) {
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0
        || json_string_length(v) >= len) {
        return "bad";
    }
    snprintf(out, len, "%s", json_string_value(v));
    return NULL;
}


static void
pgw__routes_post(struct pgw_daemon *d, struct evhttp_request *req)
{
    size_t len;
    const char *raw = pgw_http_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(raw ? raw : "", raw ? len : 0, JSON_REJECT_DUPLICATES,
                              &jerr);
    char msg[256], method[64], app[72], who[128];
    const char *channel, *action, *reason, *hdr;
    json_t *w, *ttl, *old_j, *new_j;
    const struct pgw_route_rule *old;
    struct pgw_route_rule r;
    struct pgw__route_change *ch;
    struct pgw_txn *txn;
    int64_t now = pgw_now_ms();

#define PGW__BAD(...) do { snprintf(msg, sizeof(msg), __VA_ARGS__); goto bad; } while (0)
    if (!json_is_object(body)) {
        PGW__BAD("body must be a JSON object");
    }
    channel = json_string_value(json_object_get(body, "channel"));
    if (channel == NULL || channel[0] == '\0') {
        PGW__BAD("channel: required");
    }
    if (strlen(channel) >= sizeof(r.channel)
        || pgw_config_channel(d->conf, channel) == NULL) {
        PGW__BAD("channel: %.64s is not a channel of paygwd.conf", channel);
    }
    if (pgw__opt_str(body, "method", method, sizeof(method))) {
        PGW__BAD("method: a non-empty string of at most 63 bytes");
    }
    if (pgw__opt_str(body, "app", app, sizeof(app))) {
        PGW__BAD("app: a non-empty string of at most 71 bytes");
    }
    action = json_string_value(json_object_get(body, "action"));
    if (action == NULL
        || (strcmp(action, "enable") != 0 && strcmp(action, "disable") != 0
            && strcmp(action, "drain") != 0 && strcmp(action, "weight") != 0)) {
        PGW__BAD("action: one of enable, disable, drain, weight");
    }
    reason = json_string_value(json_object_get(body, "reason"));
    if (reason == NULL || reason[0] == '\0' || strlen(reason) > 500) {
        PGW__BAD("reason: required (why the change is made), at most 500 bytes");
    }
    hdr = pgw_http_header(req, "X-Paygw-Operator");
    if (hdr && hdr[0]) {
        snprintf(who, sizeof(who), "%s", hdr);
    } else if (pgw__opt_str(body, "who", who, sizeof(who)) || who[0] == '\0') {
        PGW__BAD("who: required (X-Paygw-Operator header or a \"who\" field)");
    }
    w = json_object_get(body, "weight");
    ttl = json_object_get(body, "ttl_s");
    if (strcmp(action, "weight") == 0) {
        if (!json_is_integer(w) || json_integer_value(w) < 0
            || json_integer_value(w) > 1000000) {
            PGW__BAD("weight: an integer from 0 to 1000000");
        }
    } else if (w != NULL) {
        PGW__BAD("weight: only with action weight");
    }
    if (ttl != NULL && (strcmp(action, "disable") != 0 && strcmp(action, "drain") != 0)) {
        PGW__BAD("ttl_s: only with action disable or drain");
    }
    if (ttl != NULL && (!json_is_integer(ttl) || json_integer_value(ttl) <= 0
                        || json_integer_value(ttl) > 366 * 86400)) {
        PGW__BAD("ttl_s: an integer number of seconds from 1 to 31622400");
    }

    old = pgw_route_rule_exact(d, channel, method, app);
    if (old && old->until_ms && now >= old->until_ms) {
        old = NULL;           /* an expired rule no longer applies */
    }
    memset(&r, 0, sizeof(r));
    snprintf(r.channel, sizeof(r.channel), "%s", channel);
    snprintf(r.method, sizeof(r.method), "%s", method);
    snprintf(r.app, sizeof(r.app), "%s", app);
    r.state = old ? old->state : PGW_RS_ENABLED;
    /* a new rule of a state action takes its weight from routes.conf */
    r.weight = old ? old->weight : -1;
    r.until_ms = old ? old->until_ms : 0;
    r.updated_at = now;
    if (strcmp(action, "enable") == 0) {
        r.state = PGW_RS_ENABLED;
        r.until_ms = 0;
    } else if (strcmp(action, "disable") == 0 || strcmp(action, "drain") == 0) {
        r.state = action[1] == 'i' ? PGW_RS_DISABLED : PGW_RS_DRAINING;
        r.until_ms = ttl ? now + (int64_t) json_integer_value(ttl) * 1000 : 0;
    } else {
        r.weight = (int64_t) json_integer_value(w);
    }

    old_j = old ? pgw__rule_json(d, old, 0) : NULL;
    new_j = pgw__rule_json(d, &r, 0);
    char *old_s = old_j ? json_dumps(old_j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *new_s = json_dumps(new_j, JSON_COMPACT | JSON_SORT_KEYS);
    ch = calloc(1, sizeof(*ch));
    txn = pgw_txn_new();
    if (ch == NULL || txn == NULL || new_s == NULL) {
        free(ch);
        pgw_txn_free(txn);
        free(old_s);
        free(new_s);
        json_decref(old_j);
        json_decref(new_j);
        json_decref(body);
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
        return;
    }
    if (r.until_ms) {
        pgw_txn_add(txn, 1,
                    "INSERT INTO route_rules (channel, method, app, state, weight,"
                    " until_ms, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (channel, method, app) DO UPDATE SET"
                    " state = excluded.state, weight = excluded.weight,"
                    " until_ms = excluded.until_ms,"
                    " updated_at = excluded.updated_at",
                    "ssssiii", r.channel, r.method, r.app,
                    pgw_route_state_name(r.state), r.weight, r.until_ms, now);
    } else {
        pgw_txn_add(txn, 1,
                    "INSERT INTO route_rules (channel, method, app, state, weight,"
                    " until_ms, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?)"
                    " ON CONFLICT (channel, method, app) DO UPDATE SET"
                    " state = excluded.state, weight = excluded.weight,"
                    " until_ms = NULL, updated_at = excluded.updated_at",
                    "ssssii", r.channel, r.method, r.app,
                    pgw_route_state_name(r.state), r.weight, now);
    }
    pgw_txn_add(txn, 1,
                "INSERT INTO route_audit (at, who, reason, channel, method, app,"
                " action, old, new) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "issssssss", now, who, reason, r.channel, r.method, r.app,
                action, old_s, new_s);
    ch->d = d;
    ch->req = req;
    ch->rule = r;
    ch->answer = json_pack("{s:o, s:o, s:s, s:s}", "rule", new_j,
                           "old", old_j ? old_j : json_null(), "who", who,
                           "reason", reason);
    free(old_s);
    free(new_s);
    json_decref(body);
    pgw_store_submit(d->store, txn, pgw__route_done, ch);
    return;

bad:
#undef PGW__BAD
    json_decref(body);
    pgw_http_error(req, 400, "INVALID_PARAMETER", msg);
}


static void
pgw__admin_cb(struct evhttp_request *req, void *arg)
{
    struct pgw_daemon *d = arg;
    char path[512], no[128];

    if (pgw_http_path(req, path, sizeof(path)) != PGW_OK) {
        pgw_http_error(req, 400, "INVALID_PARAMETER", "bad request path");
        return;
    }
    if (strcmp(path, "/admin/health") == 0) {
        pgw_http_json(req, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    if (!pgw__authorized(d, req)) {
        pgw_http_error(req, 401, "SIGNATURE_INVALID",
                       "admin API needs Authorization: Bearer <admin_token>");
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        pgw__metrics(d, req);
        return;
    }
    if (strcmp(path, "/admin/routes") == 0) {
        if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
            pgw__routes_post(d, req);
        } else {
            pgw__routes_get(d, req);
        }
        return;
    }
    if (strcmp(path, "/admin/routes/reload") == 0
        && evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
        pgw__routes_reload(d, req);
        return;
    }
    if (strcmp(path, "/admin/routes/audit") == 0) {
        pgw_http_json(req, 200,
                      json_pack("{s:o}", "audit",
                                pgw__rows(d, "SELECT id, at, who, reason,"
                                             " channel, method, app, action,"
                                             " old, new FROM route_audit"
                                             " WHERE id > ? ORDER BY id DESC"
                                             " LIMIT 200", 0)));
        return;
    }
    if (pgw_admin_sched(d, req, path)) {
        return;   /* review queue, caller notifications (pgw_admin_sched.c) */
    }
    if (pgw_admin_packs(d, req, path)) {
        return;   /* pack versions (pgw_admin_packs.c) */
    }
    if (sscanf(path, "/admin/orders/%127[^/]", no) == 1
        && strlen(path) == strlen("/admin/orders/") + strlen(no)) {
        pgw__trace(d, req, no);
        return;
    }
    /* reconciliation runs and the discrepancy workflow (pgw_recon_run.c) */
    if (pgw_recon_admin(d, req, path)) {
        return;
    }
    pgw_http_error(req, 404, "NOT_FOUND", "no such admin API");
}


int
pgw_admin_start(struct pgw_daemon *d, char *err, size_t errlen)
{
    char host[128];
    const char *colon = strrchr(d->conf->admin_listen, ':');
    int port;

    if (colon == NULL || (size_t) (colon - d->conf->admin_listen) >= sizeof(host)) {
        snprintf(err, errlen, "%s: admin_listen: expected host:port",
                 d->conf->path);
        return PGW_ERR;
    }
    memcpy(host, d->conf->admin_listen, colon - d->conf->admin_listen);
    host[colon - d->conf->admin_listen] = '\0';
    port = (int) strtol(colon + 1, NULL, 10);
    if (port <= 0 || port > 65535) {
        snprintf(err, errlen, "%s: admin_listen: bad port", d->conf->path);
        return PGW_ERR;
    }
    d->admin_http = evhttp_new(d->base);
    if (d->admin_http == NULL
        || evhttp_bind_socket(d->admin_http, host, (ev_uint16_t) port) != 0) {
        snprintf(err, errlen, "%s: admin_listen: cannot listen on %s",
                 d->conf->path, d->conf->admin_listen);
        return PGW_ERR;
    }
    evhttp_set_allowed_methods(d->admin_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(d->admin_http, pgw__admin_cb, d);
    return PGW_OK;
}
