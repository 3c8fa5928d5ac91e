/*
 * pgw_discrepancy.c — the discrepancy workflow of the admin API
 * (docs/reconciliation.md): list, show, acknowledge, resolve. A
 * discrepancy's state goes open -> acknowledged -> resolved (a carried
 * reconciliation item: carried -> resolved by the next day's run, in
 * pgw_recon_run.c). Every change is a compare-and-set on the state plus a
 * discrepancy_audit row (who, when, old and new state, note); a wrong move
 * is 409. Rows older than the state column read as open (or acknowledged
 * when their acknowledged flag is set).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>
#include <sqlite3.h>

#include "pgw_daemon.h"
#include "pgw_discrepancy.h"
#include "pgw_http.h"
#include "pgw_log.h"
#include "pgw_store.h"


/* the current row of st as an object, column names as keys; columns named
 * counts / totals / detail that hold JSON are embedded as JSON */
json_t *
pgw_db_row_json(sqlite3_stmt *st)
{
    json_t *row = json_object();

    for (int c = 0; c < sqlite3_column_count(st); c++) {
        const char *name = sqlite3_column_name(st, c);
        switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER:
            json_object_set_new(row, name, json_integer(sqlite3_column_int64(st, c)));
            break;
        case SQLITE_NULL:
            json_object_set_new(row, name, json_null());
            break;
        default: {
            const char *t = pgw_col_text(st, c);
            json_t *j = NULL;
            if (strcmp(name, "counts") == 0 || strcmp(name, "totals") == 0
                || (strcmp(name, "detail") == 0 && t[0] == '{')) {
                j = json_loads(t, 0, NULL);
            }
            json_object_set_new(row, name, j ? j : json_string(t));
        }
        }
    }
    return row;
}


json_t *
pgw_db_rows(sqlite3_stmt *st)
{
    json_t *arr = json_array();

    while (st && sqlite3_step(st) == SQLITE_ROW) {
        json_array_append_new(arr, pgw_db_row_json(st));
    }
    if (st) {
        sqlite3_reset(st);
    }
    return arr;
}


/* ---- admin: discrepancies --------------------------------------------------- */

static void
pgw__disc_list(struct pgw_daemon *d, struct evhttp_request *req)
{
    char state[24] = "", kind[48] = "", channel[32] = "", run[24] = "", lim[16] = "";
    int64_t limit = 500;

    if (pgw_http_query_param(req, "state", state, sizeof(state)) != PGW_OK) {
        pgw_http_query_param(req, "status", state, sizeof(state));
    }
    pgw_http_query_param(req, "kind", kind, sizeof(kind));
    pgw_http_query_param(req, "channel", channel, sizeof(channel));
    pgw_http_query_param(req, "run_id", run, sizeof(run));
    if (pgw_http_query_param(req, "limit", lim, sizeof(lim)) == PGW_OK) {
        limit = strtoll(lim, NULL, 10);
    }
    sqlite3_stmt *st = pgw_store_query(
        d->store,
        "SELECT " PGW_DISC_COLS " FROM discrepancies WHERE"
        " (? = '' OR COALESCE(state, CASE WHEN acknowledged THEN 'acknowledged'"
        " ELSE 'open' END) = ?)"
        " AND (? = '' OR kind = ? OR kind = 'recon_' || ?)"
        " AND (? = 0 OR run_id = ?)"
        " AND (? = '' OR run_id IN (SELECT id FROM recon_runs WHERE channel = ?)"
        " OR order_id IN (SELECT id FROM orders WHERE channel = ?))"
        " ORDER BY id DESC LIMIT ?",
        "sssssiisssi", state, state, kind, kind, kind, (int64_t) strtoll(run, NULL, 10),
        (int64_t) strtoll(run, NULL, 10), channel, channel, channel, limit);
    pgw_http_json(req, 200, json_pack("{s:o}", "discrepancies", pgw_db_rows(st)));
}


struct pgw__disc_change {
    struct evhttp_request *req;
    json_t *answer;
};


static void
pgw__disc_done(void *arg, int rc, int failed_stmt)
{
    struct pgw__disc_change *c = arg;

    (void) failed_stmt;
    if (rc == PGW_OK) {
        pgw_http_json(c->req, 200, c->answer);
    } else {
        json_decref(c->answer);
        pgw_http_error(c->req, rc == PGW_CONFLICT ? 409 : 503,
                       rc == PGW_CONFLICT ? "CONFLICT" : "CORE_UNAVAILABLE",
                       rc == PGW_CONFLICT ? "the discrepancy changed meanwhile"
                                          : "the change was not stored");
    }
    free(c);
}


static void
pgw__disc_post(struct pgw_daemon *d, struct evhttp_request *req, int64_t id)
{
    size_t len;
    const char *raw = pgw_http_body(req, &len);
    json_t *body = json_loadb(raw ? raw : "", raw ? len : 0, JSON_REJECT_DUPLICATES, NULL);
    const char *action, *note, *who, *hdr;
    char old[24] = "", msg[200];
    const char *to;
    sqlite3_stmt *st;
    struct pgw__disc_change *c;
    struct pgw_txn *txn;
    int64_t now = pgw_now_ms();

    if (!json_is_object(body)) {
        json_decref(body);
        pgw_http_error(req, 400, "INVALID_PARAMETER", "body must be a JSON object");
        return;
    }
    action = json_string_value(json_object_get(body, "action"));
    note = json_string_value(json_object_get(body, "note"));
    who = json_string_value(json_object_get(body, "who"));
    hdr = pgw_http_header(req, "X-Paygw-Operator");
    if (hdr && hdr[0]) {
        who = hdr;
    }
    if (action == NULL || (strcmp(action, "acknowledge") != 0
                           && strcmp(action, "resolve") != 0)) {
        snprintf(msg, sizeof(msg), "action: acknowledge or resolve");
        goto bad;
    }
    if (who == NULL || who[0] == '\0' || strlen(who) > 127) {
        snprintf(msg, sizeof(msg), "who: required (X-Paygw-Operator header or a"
                                   " \"who\" field)");
        goto bad;
    }
    if (note == NULL || note[0] == '\0' || strlen(note) > 1000) {
        snprintf(msg, sizeof(msg), "note: required (what was checked or done),"
                                   " at most 1000 bytes");
        goto bad;
    }
    st = pgw_store_query(d->store,
                         "SELECT COALESCE(state, CASE WHEN acknowledged THEN"
                         " 'acknowledged' ELSE 'open' END) FROM discrepancies"
                         " WHERE id = ?", "i", id);
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(old, sizeof(old), "%s", pgw_col_text(st, 0));
    }
    if (st) {
        sqlite3_reset(st);
    }
    if (old[0] == '\0') {
        json_decref(body);
        pgw_http_error(req, 404, "NOT_FOUND", "no such discrepancy");
        return;
    }
    to = action[0] == 'a' ? "acknowledged" : "resolved";
    if (strcmp(old, "resolved") == 0
        || (action[0] == 'a' && strcmp(old, "open") != 0)) {
        snprintf(msg, sizeof(msg), "the discrepancy is %s: cannot %s it", old, action);
        json_decref(body);
        pgw_http_error(req, 409, "CONFLICT", msg);
        return;
    }
    c = calloc(1, sizeof(*c));
    txn = pgw_txn_new();
    if (c == NULL || txn == NULL) {
        free(c);
        pgw_txn_free(txn);
        json_decref(body);
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
        return;
    }
    pgw_txn_add(txn, 1,
                "UPDATE discrepancies SET state = ?, acknowledged = 1, note = ?,"
                " handled_by = ?, handled_at = ? WHERE id = ? AND COALESCE(state,"
                " CASE WHEN acknowledged THEN 'acknowledged' ELSE 'open' END) = ?",
                "sssiis", to, note, who, now, id, old);
    pgw_txn_add(txn, 1,
                "INSERT INTO discrepancy_audit (discrepancy_id, at, who, action,"
                " old_state, new_state, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                "iisssss", id, now, who, action, old, to, note);
    c->req = req;
    c->answer = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t) id,
                          "old_state", old, "state", to, "who", who, "note", note,
                          "at", (json_int_t) now);
    pgw_log(PGW_LOG_INFO, "discrepancy.change", "%lld %s -> %s by %s",
            (long long) id, old, to, who);
    json_decref(body);          /* who and note point into it */
    pgw_store_submit(d->store, txn, pgw__disc_done, c);
    return;

bad:
    json_decref(body);
    pgw_http_error(req, 400, "INVALID_PARAMETER", msg);
}


int
pgw_discrepancy_admin(struct pgw_daemon *d, struct evhttp_request *req, const char *path)
{
    int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
    long long id;
    char tail;

    if (strcmp(path, "/admin/discrepancies") == 0) {
        pgw__disc_list(d, req);
        return 1;
    }
    if (sscanf(path, "/admin/discrepancies/%lld%c", &id, &tail) == 1) {
        if (post) {
            pgw__disc_post(d, req, (int64_t) id);
        } else {
            sqlite3_stmt *st = pgw_store_query(
                d->store, "SELECT " PGW_DISC_COLS " FROM discrepancies WHERE id = ?",
                "i", (int64_t) id);
            json_t *rows = pgw_db_rows(st);
            json_t *audit = pgw_db_rows(pgw_store_query(
                d->store, "SELECT at, who, action, old_state, new_state, note"
                          " FROM discrepancy_audit WHERE discrepancy_id = ?"
                          " ORDER BY id", "i", (int64_t) id));
            if (json_array_size(rows) == 0) {
                json_decref(rows);
                json_decref(audit);
                pgw_http_error(req, 404, "NOT_FOUND", "no such discrepancy");
            } else {
                json_t *one = json_incref(json_array_get(rows, 0));
                json_decref(rows);
                json_object_set_new(one, "audit", audit);
                pgw_http_json(req, 200, json_pack("{s:o}", "discrepancy", one));
            }
        }
        return 1;
    }
    return 0;
}
