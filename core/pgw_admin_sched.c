/*
 * pgw_admin_sched.c — the admin API of the status keeping
 * (docs/status-keeping.md): the review queue and the caller-notification
 * outbox.
 *
 *   GET  /admin/review                    PROCESSING orders whose query
 *                                         schedule is exhausted
 *   GET  /admin/notifications[?state=PENDING|GAVE_UP|DELIVERED]
 *                            [&out_trade_no=T&app_id=A]
 *   POST /admin/notifications/push {"id":N} | {"out_trade_no":T[,"app_id":A]}
 *        [,"who":W,"reason":R]          re-push: the rows (not DELIVERED)
 *                                         start a fresh schedule now
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <sqlite3.h>

#include "pgw_daemon.h"
#include "pgw_http.h"
#include "pgw_log.h"
#include "pgw_store.h"

#define PGW__PUSH_MAX 64




static void
pgw__review(struct pgw_daemon *d, struct evhttp_request *req)
{
    sqlite3_stmt *st = pgw_store_query(
        d->store,
        "SELECT o.out_trade_no, o.app_id, o.channel, o.status, o.amount,"
        " o.currency, o.query_count, o.next_query_at, o.created_at,"
        " r.since, r.reason FROM review_queue r JOIN orders o"
        " ON o.id = r.order_id WHERE r.cleared_at IS NULL"
        " ORDER BY r.since LIMIT ?", "i", (int64_t) 500);

    pgw_http_json(req, 200, json_pack("{s:o}", "review", pgw_store_rows_json(st)));
}


static void
pgw__notifications(struct pgw_daemon *d, struct evhttp_request *req)
{
    char state[16] = "", no[128] = "", app[72] = "";
    sqlite3_stmt *st;

    pgw_http_query_param(req, "state", state, sizeof(state));
    pgw_http_query_param(req, "out_trade_no", no, sizeof(no));
    pgw_http_query_param(req, "app_id", app, sizeof(app));
    st = pgw_store_query(
        d->store,
        "SELECT x.id, x.event_id, o.out_trade_no, x.app_id, x.type, x.url,"
        " x.state, x.attempts, x.next_at, x.last_error, x.created_at,"
        " x.delivered_at FROM outbox x JOIN orders o ON o.id = x.order_id"
        " WHERE (?1 = '' OR x.state = upper(?1))"
        " AND (?2 = '' OR o.out_trade_no = ?2) AND (?3 = '' OR x.app_id = ?3)"
        " ORDER BY x.id DESC LIMIT 500", "sss", state, no, app);
    pgw_http_json(req, 200,
                  json_pack("{s:o}", "notifications", pgw_store_rows_json(st)));
}


struct pgw__push {
    struct evhttp_request *req;
    json_t *ids;
};


static void
pgw__pushed(void *arg, int rc, int failed_stmt)
{
    struct pgw__push *p = arg;

    (void) failed_stmt;
    if (rc == PGW_OK) {
        pgw_http_json(p->req, 200, json_pack("{s:o}", "pushed", p->ids));
    } else {
        json_decref(p->ids);
        pgw_http_error(p->req, 503, "CORE_UNAVAILABLE",
                       "the re-push was not stored");
    }
    free(p);
}


static void
pgw__push(struct pgw_daemon *d, struct evhttp_request *req)
{
    size_t len;
    const char *text = pgw_http_body(req, &len);
    json_t *body = text ? json_loadb(text, len, 0, NULL) : NULL;
    json_t *id = json_object_get(body, "id");
    const char *no = json_string_value(json_object_get(body, "out_trade_no"));
    const char *app = json_string_value(json_object_get(body, "app_id"));
    const char *who = json_string_value(json_object_get(body, "who"));
    const char *why = json_string_value(json_object_get(body, "reason"));
    int64_t ids[PGW__PUSH_MAX];
    int n;
    struct pgw_txn *txn;
    struct pgw__push *p;
    int64_t now = pgw_now_ms();

    if (!json_is_object(body) || (!json_is_integer(id) && no == NULL)) {
        json_decref(body);
        pgw_http_error(req, 400, "INVALID_PARAMETER",
                       "give \"id\" (a notification) or \"out_trade_no\""
                       " (all of an order's undelivered ones)");
        return;
    }
    /* oldest first: the order's rows keep their sequence */
    n = pgw_store_ids(json_is_integer(id)
                          ? pgw_store_query(d->store,
                                            "SELECT id FROM outbox WHERE id = ?"
                                            " AND state <> 'DELIVERED'",
                                            "i", (int64_t) json_integer_value(id))
                          : pgw_store_query(d->store,
                                            "SELECT x.id FROM outbox x JOIN"
                                            " orders o ON o.id = x.order_id"
                                            " WHERE o.out_trade_no = ?1"
                                            " AND (?2 = '' OR x.app_id = ?2)"
                                            " AND x.state <> 'DELIVERED'"
                                            " ORDER BY x.id",
                                            "ss", no, app ? app : ""),
                      ids, PGW__PUSH_MAX);
    if (n == 0) {
        json_decref(body);
        pgw_http_error(req, 404, "NOT_FOUND",
                       "no undelivered notification matches");
        return;
    }
    txn = pgw_txn_new();
    p = calloc(1, sizeof(*p));
    if (txn == NULL || p == NULL) {
        pgw_txn_free(txn);
        free(p);
        json_decref(body);
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
        return;
    }
    p->req = req;
    p->ids = json_array();
    for (int i = 0; i < n; i++) {
        pgw_txn_add(txn, -1,
                    "UPDATE outbox SET state = 'PENDING', attempts = 0,"
                    " next_at = ?, last_error = NULL WHERE id = ?"
                    " AND state <> 'DELIVERED'", "ii", now, ids[i]);
        json_array_append_new(p->ids, json_integer(ids[i]));
        pgw_log(PGW_LOG_INFO, "outbox.push", "notification %lld re-pushed by"
                " %s: %s", (long long) ids[i], who ? who : "admin",
                why ? why : "-");
    }
    json_decref(body);
    pgw_store_submit(d->store, txn, pgw__pushed, p);
}


int
pgw_admin_sched(struct pgw_daemon *d, struct evhttp_request *req,
                const char *path)
{
    int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;

    if (strcmp(path, "/admin/review") == 0) {
        pgw__review(d, req);
        return 1;
    }
    if (strcmp(path, "/admin/notifications") == 0) {
        pgw__notifications(d, req);
        return 1;
    }
    if (strcmp(path, "/admin/notifications/push") == 0) {
        if (!post) {
            pgw_http_error(req, 404, "NOT_FOUND", "POST a re-push");
        } else {
            pgw__push(d, req);
        }
        return 1;
    }
    return 0;
}
