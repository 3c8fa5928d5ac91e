/*
 * pgw_order.c — order rows, the status whitelist and the transition writer.
 *
 * Whitelist (SPEC §4):
 *   ACCEPTED   -> PROCESSING   a send is about to start (committed first)
 *   ACCEPTED   -> FAILED       nothing was ever sent (no eligible channel)
 *   PROCESSING -> SUCCESS      explicit success code (answer, query, notify)
 *   PROCESSING -> FAILED       explicit definite-failure code, or every attempt
 *                              proven NOT_SENT and no channel left
 *   PROCESSING -> CLOSED       closed at the channel, or expired unpaid
 * Nothing leaves SUCCESS, FAILED or CLOSED.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "pgw_apps.h"
#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_order.h"
#include "pgw_store.h"


static const char *const pgw__status_names[] = {
    "NONE", "ACCEPTED", "PROCESSING", "SUCCESS", "FAILED", "CLOSED"
};


const char *
pgw_status_name(enum pgw_status st)
{
    return pgw__status_names[st];
}


enum pgw_status
pgw_status_parse(const char *name)
{
    for (int i = 1; i <= PGW_ST_CLOSED; i++) {
        if (strcmp(name, pgw__status_names[i]) == 0) {
            return (enum pgw_status) i;
        }
    }
    return PGW_ST_NONE;
}


int
pgw_status_is_final(enum pgw_status st)
{
    return st == PGW_ST_SUCCESS || st == PGW_ST_FAILED || st == PGW_ST_CLOSED;
}


int
pgw_transition_allowed(enum pgw_status from, enum pgw_status to)
{
    switch (from) {
    case PGW_ST_ACCEPTED:
        return to == PGW_ST_PROCESSING || to == PGW_ST_FAILED;
    case PGW_ST_PROCESSING:
        return to == PGW_ST_SUCCESS || to == PGW_ST_FAILED
               || to == PGW_ST_CLOSED;
    default:
        return 0;
    }
}


#define PGW__ORDER_COLS \
    "id, app_id, out_trade_no, voucher_id, method, currency, channel," \
    " pack_version, channel_trade_no, voucher_status, status, amount," \
    " expire_seconds, created_at, updated_at, finished_at, next_query_at," \
    " query_count, not_found_since, subject, notify_url, credential," \
    " fail_reason, request_hash, request FROM orders "


static void
pgw__cp(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src);
}


static char *
pgw__dup_or_null(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return t ? strdup((const char *) t) : NULL;
}


static int
pgw__fill(sqlite3_stmt *st, struct pgw_order *o)
{
    int rc = sqlite3_step(st);

    memset(o, 0, sizeof(*o));
    if (rc == SQLITE_DONE) {
        return PGW_NOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        return PGW_ERR;
    }
    o->id = sqlite3_column_int64(st, 0);
    pgw__cp(o->app_id, sizeof(o->app_id), pgw_col_text(st, 1));
    pgw__cp(o->out_trade_no, sizeof(o->out_trade_no), pgw_col_text(st, 2));
    pgw__cp(o->voucher_id, sizeof(o->voucher_id), pgw_col_text(st, 3));
    pgw__cp(o->method, sizeof(o->method), pgw_col_text(st, 4));
    pgw__cp(o->currency, sizeof(o->currency), pgw_col_text(st, 5));
    pgw__cp(o->channel, sizeof(o->channel), pgw_col_text(st, 6));
    pgw__cp(o->pack_version, sizeof(o->pack_version), pgw_col_text(st, 7));
    pgw__cp(o->channel_trade_no, sizeof(o->channel_trade_no),
            pgw_col_text(st, 8));
    pgw__cp(o->voucher_status, sizeof(o->voucher_status), pgw_col_text(st, 9));
    o->status = pgw_status_parse(pgw_col_text(st, 10));
    o->amount = sqlite3_column_int64(st, 11);
    o->expire_seconds = sqlite3_column_int64(st, 12);
    o->created_at = sqlite3_column_int64(st, 13);
    o->updated_at = sqlite3_column_int64(st, 14);
    o->finished_at = sqlite3_column_int64(st, 15);
    o->next_query_at = sqlite3_column_int64(st, 16);
    o->query_count = sqlite3_column_int64(st, 17);
    o->not_found_since = sqlite3_column_int64(st, 18);
    o->subject = pgw__dup_or_null(st, 19);
    o->notify_url = pgw__dup_or_null(st, 20);
    o->credential = pgw__dup_or_null(st, 21);
    o->fail_reason = pgw__dup_or_null(st, 22);
    o->request_hash = pgw__dup_or_null(st, 23);
    o->request = pgw__dup_or_null(st, 24);
    return PGW_OK;
}


static int
pgw__load_one(sqlite3_stmt *st, struct pgw_order *o)
{
    int rc;

    if (st == NULL) {
        memset(o, 0, sizeof(*o));
        return PGW_ERR;
    }
    rc = pgw__fill(st, o);
    sqlite3_reset(st);
    return rc;
}


int
pgw_order_load_by_id(struct pgw_daemon *d, int64_t id, struct pgw_order *o)
{
    return pgw__load_one(pgw_store_query(d->store,
                             "SELECT " PGW__ORDER_COLS "WHERE id = ?", "i", id),
                         o);
}


int
pgw_order_load_by_no(struct pgw_daemon *d, const char *app_id,
                     const char *out_trade_no, struct pgw_order *o)
{
    return pgw__load_one(
        pgw_store_query(d->store,
                        "SELECT " PGW__ORDER_COLS
                        "WHERE app_id = ? AND out_trade_no = ?",
                        "ss", app_id, out_trade_no),
        o);
}


int
pgw_order_load_by_voucher(struct pgw_daemon *d, const char *voucher_id,
                          struct pgw_order *o)
{
    return pgw__load_one(pgw_store_query(d->store,
                             "SELECT " PGW__ORDER_COLS "WHERE voucher_id = ?",
                             "s", voucher_id),
                         o);
}


int
pgw_order_load_by_channel_no(struct pgw_daemon *d, const char *channel,
                             const char *out_trade_no, struct pgw_order *o)
{
    sqlite3_stmt *st = pgw_store_query(d->store,
                                       "SELECT " PGW__ORDER_COLS
                                       "WHERE channel = ? AND out_trade_no = ?"
                                       " LIMIT 2",
                                       "ss", channel, out_trade_no);
    int rc;

    if (st == NULL) {
        memset(o, 0, sizeof(*o));
        return PGW_ERR;
    }
    rc = pgw__fill(st, o);
    if (rc == PGW_OK && sqlite3_step(st) == SQLITE_ROW) {
        /* two apps share the number at one channel: never guess */
        pgw_order_clear(o);
        rc = PGW_CONFLICT;
    }
    sqlite3_reset(st);
    return rc;
}


void
pgw_order_clear(struct pgw_order *o)
{
    free(o->subject);
    free(o->notify_url);
    free(o->credential);
    free(o->fail_reason);
    free(o->request_hash);
    free(o->request);
    memset(o, 0, sizeof(*o));
}


json_t *
pgw_order_pack_json(struct pgw_daemon *d, const struct pgw_order *o)
{
    char notify[512], created[32];

    snprintf(notify, sizeof(notify), "%s/notify/%s", d->conf->public_url,
             o->channel);
    pgw_rfc3339(o->created_at, created, sizeof(created));
    json_t *j = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:s, s:s, s:I}",
                          "out_trade_no", o->out_trade_no,
                          "amount", (json_int_t) o->amount,
                          "currency", o->currency,
                          "subject", o->subject ? o->subject : o->out_trade_no,
                          "method", o->method,
                          "expire_seconds", (json_int_t) o->expire_seconds,
                          "notify_url", notify,
                          "created_at", created,
                          "created_at_ms", (json_int_t) o->created_at);
    if (j != NULL && o->channel_trade_no[0]) {
        json_object_set_new(j, "channel_trade_no",
                            json_string(o->channel_trade_no));
    }
    if (j != NULL) {
        /* what earlier answers asked us to keep (fields.keep) */
        sqlite3_stmt *st = pgw_store_query(d->store,
                                           "SELECT data FROM order_channel_data"
                                           " WHERE order_id = ?", "i", o->id);
        json_t *kept = NULL;

        if (st && sqlite3_step(st) == SQLITE_ROW) {
            kept = json_loads(pgw_col_text(st, 0), 0, NULL);
        }
        if (st) {
            sqlite3_reset(st);
        }
        json_object_set_new(j, "channel_data",
                            json_is_object(kept) ? kept : json_object());
        if (kept != NULL && !json_is_object(kept)) {
            json_decref(kept);
        }
    }
    if (j != NULL && o->request != NULL) {
        /* the caller's channel-specific inputs (docs/pack-operations.md):
         * extra{auth_code, openid, payment_method, …}, bank_code, payer */
        json_t *req = json_loads(o->request, 0, NULL);
        static const char *const pass[] = { "extra", "bank_code", "payer" };

        for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
            json_t *v = json_object_get(req, pass[i]);
            if (v != NULL) {
                json_object_set(j, pass[i], v);
            }
        }
        json_decref(req);
    }
    return j;
}


json_t *
pgw_order_api_json(struct pgw_daemon *d, const struct pgw_order *o)
{
    char created[32], finished[32];
    json_t *j, *attempts;
    sqlite3_stmt *st;

    pgw_rfc3339(o->created_at, created, sizeof(created));
    j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s}",
                  "out_trade_no", o->out_trade_no,
                  "voucher_id", o->voucher_id,
                  "status", pgw_status_name(o->status),
                  "amount", (json_int_t) o->amount,
                  "currency", o->currency,
                  "method", o->method,
                  "created_at", created);
    if (j == NULL) {
        return NULL;
    }
    json_object_set_new(j, "channel",
                        o->channel[0] ? json_string(o->channel) : json_null());
    json_object_set_new(j, "channel_trade_no",
                        o->channel_trade_no[0] ? json_string(o->channel_trade_no)
                                               : json_null());
    if (o->finished_at) {
        pgw_rfc3339(o->finished_at, finished, sizeof(finished));
        json_object_set_new(j, "finished_at", json_string(finished));
    }
    if (o->fail_reason) {
        json_object_set_new(j, "fail_reason", json_string(o->fail_reason));
    }
    attempts = json_array();
    st = pgw_store_query(d->store,
                         "SELECT op, channel, state, class, code, started_at"
                         " FROM attempts WHERE order_id = ? ORDER BY id",
                         "i", o->id);
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        char at[32];
        pgw_rfc3339(sqlite3_column_int64(st, 5), at, sizeof(at));
        json_array_append_new(attempts,
                              json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
                                        "op", pgw_col_text(st, 0),
                                        "channel", pgw_col_text(st, 1),
                                        "state", pgw_col_text(st, 2),
                                        "class", pgw_col_text(st, 3),
                                        "code", pgw_col_text(st, 4),
                                        "started_at", at));
    }
    if (st != NULL) {
        sqlite3_reset(st);
    }
    json_object_set_new(j, "attempts", attempts);
    return j;
}


static void
pgw__event_id(char *buf, size_t len)
{
    unsigned char r[12];

    RAND_bytes(r, sizeof(r));
    snprintf(buf, len, "E%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
             r[11]);
}


static void
pgw__txn_outbox(struct pgw_daemon *d, struct pgw_txn *txn,
                const struct pgw_order *o, enum pgw_status to, int64_t now)
{
    static const char *const types[] = {
        [PGW_ST_SUCCESS] = "payment.succeeded",
        [PGW_ST_FAILED] = "payment.failed",
        [PGW_ST_CLOSED] = "payment.closed",
    };
    char event_id[40], finished[32];
    json_t *ev;
    char *body;

    if (o->notify_url == NULL || o->notify_url[0] == '\0') {
        return;
    }
    pgw__event_id(event_id, sizeof(event_id));
    pgw_rfc3339(now, finished, sizeof(finished));
    ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}",
                   "event_id", event_id, "type", types[to],
                   "out_trade_no", o->out_trade_no,
                   "voucher_id", o->voucher_id,
                   "status", pgw_status_name(to),
                   "amount", (json_int_t) o->amount,
                   "currency", o->currency,
                   "channel", o->channel,
                   "finished_at", finished);
    if (ev == NULL) {
        return;
    }
    json_object_set_new(ev, "channel_trade_no",
                        o->channel_trade_no[0] ? json_string(o->channel_trade_no)
                                               : json_null());
    body = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (body == NULL) {
        return;
    }
    pgw_txn_add(txn, 1,
                "INSERT INTO outbox (id, event_id, order_id, app_id, type, url,"
                " body, state, attempts, next_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, ?, ?)",
                "isissssii", pgw_store_next_id(d->store, "outbox"), event_id,
                o->id, o->app_id, types[to], o->notify_url, body, now, now);
    free(body);
}


int
pgw_order_txn_transition(struct pgw_daemon *d, struct pgw_txn *txn,
                         const struct pgw_order *o, enum pgw_status from,
                         enum pgw_status to, const char *reason,
                         const char *evidence)
{
    int64_t now = pgw_now_ms();

    if (!pgw_transition_allowed(from, to)) {
        return PGW_ERR;
    }
    if (pgw_status_is_final(to)) {
        pgw_txn_add(txn, 1,
                    "UPDATE orders SET status = ?, updated_at = ?,"
                    " finished_at = ?, next_query_at = NULL"
                    " WHERE id = ? AND status = ?",
                    "siiis", pgw_status_name(to), now, now, o->id,
                    pgw_status_name(from));
    } else {
        pgw_txn_add(txn, 1,
                    "UPDATE orders SET status = ?, updated_at = ?"
                    " WHERE id = ? AND status = ?",
                    "siis", pgw_status_name(to), now, o->id,
                    pgw_status_name(from));
    }
    pgw_txn_add(txn, 1,
                "INSERT INTO transitions (id, order_id, from_status, to_status,"
                " reason, evidence, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                "iissssi", pgw_store_next_id(d->store, "transitions"), o->id,
                pgw_status_name(from), pgw_status_name(to), reason, evidence,
                now);
    if (pgw_status_is_final(to)) {
        pgw__txn_outbox(d, txn, o, to, now);
    }
    return PGW_OK;
}


void
pgw_order_txn_discrepancy(struct pgw_daemon *d, struct pgw_txn *txn,
                          int64_t order_id, const char *kind,
                          const char *status, const char *evidence_class,
                          const char *code, const char *detail)
{
    pgw_txn_add(txn, 1,
                "INSERT INTO discrepancies (id, order_id, kind, status,"
                " evidence_class, code, detail, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                "iisssssi", pgw_store_next_id(d->store, "discrepancies"),
                order_id, kind, status, evidence_class, code, detail,
                pgw_now_ms());
    d->metrics.discrepancies++;
}


void
pgw_order_txn_keep(struct pgw_daemon *d, struct pgw_txn *txn, int64_t order_id,
                   const json_t *keep)
{
    json_t *clean;
    const char *k;
    json_t *v;
    char *text;

    (void) d;
    if (order_id <= 0 || !json_is_object(keep) || json_object_size(keep) == 0) {
        return;
    }
    /* flat string / integer values only, short: ids a later call needs */
    clean = json_object();
    json_object_foreach((json_t *) keep, k, v) {
        if (clean != NULL && strlen(k) <= 64
            && ((json_is_string(v) && json_string_length(v) <= 256)
                || json_is_integer(v))) {
            json_object_set(clean, k, v);
        }
    }
    text = clean != NULL && json_object_size(clean) > 0
           ? json_dumps(clean, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(clean);
    if (text == NULL) {
        return;
    }
    pgw_txn_add(txn, -1,
                "INSERT INTO order_channel_data (order_id, data, updated_at)"
                " VALUES (?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET"
                " data = json_patch(data, excluded.data),"
                " updated_at = excluded.updated_at",
                "isi", order_id, text, pgw_now_ms());
    free(text);
}


int64_t
pgw_order_txn_message(struct pgw_daemon *d, struct pgw_txn *txn,
                      int64_t order_id, int64_t attempt_id, const char *channel,
                      const char *direction, const char *op, long http_status,
                      const char *masked_body, const char *note)
{
    int64_t id = pgw_store_next_id(d->store, "messages");

    /* order_id 0: a message of no payment order (a payout's) */
    pgw_txn_add(txn, 1,
                "INSERT INTO messages (id, order_id, attempt_id, channel,"
                " direction, op, http_status, body, note, at)"
                " VALUES (?, NULLIF(?, 0), ?, ?, ?, ?, ?, ?, ?, ?)",
                "iiisssissi", id, order_id, attempt_id, channel, direction, op,
                (int64_t) http_status, masked_body, note, pgw_now_ms());
    return id;
}
