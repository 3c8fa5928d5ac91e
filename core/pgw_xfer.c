/*
 * pgw_xfer.c — refunds and payouts: the caller API (create / get), the send
 * (intent committed before a byte leaves), the queries that settle them, the
 * settlement of final evidence, and the caller notifications.
 *
 * One code path serves both kinds; `payout` picks the table and the op
 * names. A channel operation is a pgw_op (pgw_op.c): build with the pack,
 * send, interpret into the attempt row and the masked message. Refund
 * attempts are `attempts` rows of the payment linked by refund_attempts;
 * payout attempts are payout_attempts rows (pgw_schema.c).
 *
 * Money rules here:
 *  - the refund sum guard is inside the INSERT (pgw_refund_txn_insert): two
 *    concurrent refunds are serialized by the single writer, the second sees
 *    the first;
 *  - NOT_SENT: a refund that provably never reached the channel is FAILED
 *    (the caller may refund again); a payout only with transport proof
 *    (connect refused, DNS, TLS) — a pack's "rejected" code leaves a payout
 *    PROCESSING for payout_query to decide. Neither is ever rerouted;
 *  - a payee's account_no never reaches a log line or a message row: the
 *    op scrubs it (pgw_op_scrub) and the row keeps a masked copy for reads.
 */

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "pgw_adapter.h"
#include "pgw_auth.h"
#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_http.h"
#include "pgw_log.h"
#include "pgw_op.h"
#include "pgw_order.h"
#include "pgw_pack.h"
#include "pgw_refresh.h"
#include "pgw_route.h"
#include "pgw_store.h"
#include "pgw_xfer.h"

#define PGW__XFER_SWEEP 64


/* a refund or payout row */
struct pgw__x {
    int payout;
    int64_t id;
    char app_id[65];
    char no[65];
    int64_t order_id;            /* refunds: the payment */
    char out_trade_no[65];       /* refunds: the payment's */
    int64_t amount;
    char currency[8];
    char channel[32];
    char channel_no[128];
    enum pgw_status status;
    int64_t query_count;
    int64_t next_query_at;       /* 0: not sent yet */
    int64_t not_found_since;
    int64_t created_at;
    int64_t finished_at;
    char account_masked[80];
    char *request;
    char *request_hash;
    char *notify_url;
    char *reason;
    char *fail_reason;
};

static void
pgw__x_clear(struct pgw__x *x)
{
    free(x->request);
    free(x->request_hash);
    free(x->notify_url);
    free(x->reason);
    free(x->fail_reason);
    memset(x, 0, sizeof(*x));
}


static char *
pgw__dup_col(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL
               ? NULL
               : strdup(pgw_col_text(st, col));
}


static void
pgw__x_fill(struct pgw__x *x, sqlite3_stmt *st, int payout)
{
    memset(x, 0, sizeof(*x));
    x->payout = payout;
    x->id = sqlite3_column_int64(st, 0);
    snprintf(x->app_id, sizeof(x->app_id), "%s", pgw_col_text(st, 1));
    snprintf(x->no, sizeof(x->no), "%s", pgw_col_text(st, 2));
    x->order_id = sqlite3_column_int64(st, 3);
    x->amount = sqlite3_column_int64(st, 4);
    snprintf(x->currency, sizeof(x->currency), "%s", pgw_col_text(st, 5));
    snprintf(x->channel, sizeof(x->channel), "%s", pgw_col_text(st, 6));
    snprintf(x->channel_no, sizeof(x->channel_no), "%s", pgw_col_text(st, 7));
    x->status = pgw_status_parse(pgw_col_text(st, 8));
    x->query_count = sqlite3_column_int64(st, 9);
    x->not_found_since = sqlite3_column_int64(st, 10);
    x->created_at = sqlite3_column_int64(st, 11);
    x->finished_at = sqlite3_column_int64(st, 12);
    x->request = pgw__dup_col(st, 13);
    x->request_hash = pgw__dup_col(st, 14);
    x->notify_url = pgw__dup_col(st, 15);
    x->reason = pgw__dup_col(st, 16);
    x->fail_reason = pgw__dup_col(st, 17);
    snprintf(x->account_masked, sizeof(x->account_masked), "%s",
             pgw_col_text(st, 18));
    snprintf(x->out_trade_no, sizeof(x->out_trade_no), "%s",
             pgw_col_text(st, 19));
    x->next_query_at = sqlite3_column_int64(st, 20);
}


static int
pgw__x_load_st(struct pgw__x *x, sqlite3_stmt *st, int payout)
{
    int rc;

    if (st == NULL) {
        return PGW_ERR;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        pgw__x_fill(x, st, payout);
        rc = PGW_OK;
        if (sqlite3_step(st) == SQLITE_ROW) {
            pgw__x_clear(x);
            rc = PGW_CONFLICT;
        }
    } else {
        rc = rc == SQLITE_DONE ? PGW_NOTFOUND : PGW_ERR;
    }
    sqlite3_reset(st);
    return rc;
}


static int
pgw__x_load_id(struct pgw_daemon *d, int payout, int64_t id, struct pgw__x *x)
{
    return pgw__x_load_st(
        x,
        payout ? pgw_store_query(d->store,
                                 "SELECT id, app_id, out_payout_no, 0, amount,"
                                 " currency, channel, channel_payout_no, status,"
                                 " query_count, COALESCE(not_found_since, 0),"
                                 " created_at, COALESCE(finished_at, 0),"
                                 " request, request_hash, notify_url, NULL,"
                                 " fail_reason, account_masked, '',"
                                 " COALESCE(next_query_at, 0)"
                                 " FROM payouts WHERE id = ?",
                                 "i", id)
               : pgw_store_query(d->store,
                                 "SELECT id, app_id, out_refund_no, order_id,"
                                 " amount, currency, channel, channel_refund_no,"
                                 " status, query_count,"
                                 " COALESCE(not_found_since, 0), created_at,"
                                 " COALESCE(finished_at, 0), request,"
                                 " request_hash, notify_url, reason,"
                                 " fail_reason, '', (SELECT out_trade_no FROM"
                                 " orders WHERE orders.id = refunds.order_id),"
                                 " COALESCE(next_query_at, 0)"
                                 " FROM refunds WHERE id = ?",
                                 "i", id),
        payout);
}


static int
pgw__x_load_no(struct pgw_daemon *d, int payout, const char *app_id,
               const char *no, struct pgw__x *x)
{
    return pgw__x_load_st(
        x,
        payout ? pgw_store_query(d->store,
                                 "SELECT id, app_id, out_payout_no, 0, amount,"
                                 " currency, channel, channel_payout_no, status,"
                                 " query_count, COALESCE(not_found_since, 0),"
                                 " created_at, COALESCE(finished_at, 0),"
                                 " request, request_hash, notify_url, NULL,"
                                 " fail_reason, account_masked, '',"
                                 " COALESCE(next_query_at, 0)"
                                 " FROM payouts WHERE app_id = ?"
                                 " AND out_payout_no = ?",
                                 "ss", app_id, no)
               : pgw_store_query(d->store,
                                 "SELECT id, app_id, out_refund_no, order_id,"
                                 " amount, currency, channel, channel_refund_no,"
                                 " status, query_count,"
                                 " COALESCE(not_found_since, 0), created_at,"
                                 " COALESCE(finished_at, 0), request,"
                                 " request_hash, notify_url, reason,"
                                 " fail_reason, '', (SELECT out_trade_no FROM"
                                 " orders WHERE orders.id = refunds.order_id),"
                                 " COALESCE(next_query_at, 0)"
                                 " FROM refunds WHERE app_id = ?"
                                 " AND out_refund_no = ?",
                                 "ss", app_id, no),
        payout);
}


static int pgw__find_one(sqlite3_stmt *st, int64_t *id, int64_t *amount);


int
pgw_xfer_find(struct pgw_daemon *d, int payout, const char *channel,
              const char *no, int64_t *id, int64_t *amount)
{
    sqlite3_stmt *st = payout
        ? pgw_store_query(d->store,
                          "SELECT id, amount FROM payouts WHERE channel = ?"
                          " AND out_payout_no = ?", "ss", channel, no)
        : pgw_store_query(d->store,
                          "SELECT id, amount FROM refunds WHERE channel = ?"
                          " AND out_refund_no = ?", "ss", channel, no);

    return pgw__find_one(st, id, amount);
}


int
pgw_xfer_find_by_channel_no(struct pgw_daemon *d, int payout,
                            const char *channel, const char *channel_no,
                            int64_t *id, int64_t *amount)
{
    sqlite3_stmt *st = payout
        ? pgw_store_query(d->store,
                          "SELECT id, amount FROM payouts WHERE channel = ?"
                          " AND channel_payout_no = ?", "ss", channel,
                          channel_no)
        : pgw_store_query(d->store,
                          "SELECT id, amount FROM refunds WHERE channel = ?"
                          " AND channel_refund_no = ?", "ss", channel,
                          channel_no);

    return pgw__find_one(st, id, amount);
}


/* the one row st selects (id, amount): PGW_OK, PGW_NOTFOUND, or
 * PGW_CONFLICT when more than one matches */
static int
pgw__find_one(sqlite3_stmt *st, int64_t *id, int64_t *amount)
{
    int rc;

    if (st == NULL) {
        return PGW_ERR;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        *amount = sqlite3_column_int64(st, 1);
        rc = sqlite3_step(st) == SQLITE_ROW ? PGW_CONFLICT : PGW_OK;
    } else {
        rc = rc == SQLITE_DONE ? PGW_NOTFOUND : PGW_ERR;
    }
    sqlite3_reset(st);
    return rc;
}


static const char *
pgw__kind(int payout)
{
    return payout ? "payout" : "refund";
}


/* ---- recording ------------------------------------------------------------ */

static void
pgw__x_txn_transition(struct pgw_daemon *d, struct pgw_txn *txn,
                      const struct pgw__x *x, const char *from,
                      const char *to, const char *reason,
                      const char *evidence)
{
    pgw_txn_add(txn, 1,
                "INSERT INTO xfer_transitions (id, kind, xfer_id, from_status,"
                " to_status, reason, evidence, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                "isissssi", pgw_store_next_id(d->store, "xfer_transitions"),
                pgw__kind(x->payout), x->id, from, to, reason, evidence,
                pgw_now_ms());
}


static void
pgw__x_txn_discrepancy(struct pgw_daemon *d, struct pgw_txn *txn,
                       const struct pgw__x *x, const char *kind,
                       const char *status, const char *cls, const char *code,
                       const char *detail)
{
    char k[64], full[640];

    snprintf(k, sizeof(k), "%s_%s", pgw__kind(x->payout), kind);
    snprintf(full, sizeof(full), "%s %s: %s", pgw__kind(x->payout), x->no,
             detail ? detail : "");
    pgw_order_txn_discrepancy(d, txn, x->payout ? 0 : x->order_id, k, status,
                              cls, code, full);
}


static void
pgw__event_id(char *buf, size_t len)
{
    unsigned char r[12];

    RAND_bytes(r, sizeof(r));
    snprintf(buf, len, "E");
    for (int i = 0; i < 12; i++) {
        snprintf(buf + 1 + i * 2, len - 1 - i * 2, "%02x", r[i]);
    }
}


/* the caller notification of a final refund / payout */
static void
pgw__x_txn_outbox(struct pgw_daemon *d, struct pgw_txn *txn,
                  const struct pgw__x *x, enum pgw_status to,
                  const char *channel_no, int64_t now)
{
    char event_id[40], finished[32], type[32];
    json_t *ev;
    char *body;

    if (x->notify_url == NULL || x->notify_url[0] == '\0') {
        return;
    }
    pgw__event_id(event_id, sizeof(event_id));
    pgw_rfc3339(now, finished, sizeof(finished));
    snprintf(type, sizeof(type), "%s.%s", pgw__kind(x->payout),
             to == PGW_ST_SUCCESS ? "succeeded" : "failed");
    ev = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}",
                   "event_id", event_id, "type", type,
                   x->payout ? "out_payout_no" : "out_refund_no", x->no,
                   "status", pgw_status_name(to),
                   "amount", (json_int_t) x->amount,
                   "currency", x->currency,
                   "channel", x->channel,
                   "finished_at", finished);
    if (ev == NULL) {
        return;
    }
    if (!x->payout) {
        json_object_set_new(ev, "out_trade_no", json_string(x->out_trade_no));
    }
    json_object_set_new(ev, x->payout ? "channel_payout_no"
                                      : "channel_refund_no",
                        channel_no && channel_no[0] ? json_string(channel_no)
                                                    : json_null());
    body = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (body == NULL) {
        return;
    }
    if (x->payout) {
        pgw_txn_add(txn, 1,
                    "INSERT INTO payout_outbox (id, event_id, payout_id, app_id,"
                    " type, url, body, state, attempts, next_at, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, ?, ?)",
                    "isissssii", pgw_store_next_id(d->store, "payout_outbox"),
                    event_id, x->id, x->app_id, type, x->notify_url, body, now,
                    now);
    } else {
        pgw_txn_add(txn, 1,
                    "INSERT INTO outbox (id, event_id, order_id, app_id, type,"
                    " url, body, state, attempts, next_at, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, ?, ?)",
                    "isissssii", pgw_store_next_id(d->store, "outbox"),
                    event_id, x->order_id, x->app_id, type, x->notify_url,
                    body, now, now);
    }
    free(body);
}


/* CAS from -> to (final: finished_at, no more queries, notification) */
static void
pgw__x_txn_move(struct pgw_daemon *d, struct pgw_txn *txn,
                const struct pgw__x *x, enum pgw_status from,
                enum pgw_status to, const char *reason, const char *evidence,
                const char *channel_no)
{
    int64_t now = pgw_now_ms();

    if (x->payout) {
        pgw_txn_add(txn, 1,
                    "UPDATE payouts SET status = ?, updated_at = ?,"
                    " finished_at = ?, next_query_at = NULL,"
                    " channel_payout_no = COALESCE(?, channel_payout_no),"
                    " fail_reason = CASE WHEN ? = 'FAILED' THEN ?"
                    " ELSE fail_reason END WHERE id = ? AND status = ?",
                    "siisssis", pgw_status_name(to), now, now,
                    channel_no && channel_no[0] ? channel_no : NULL,
                    pgw_status_name(to), reason, x->id, pgw_status_name(from));
    } else {
        pgw_txn_add(txn, 1,
                    "UPDATE refunds SET status = ?, updated_at = ?,"
                    " finished_at = ?, next_query_at = NULL,"
                    " channel_refund_no = COALESCE(?, channel_refund_no),"
                    " fail_reason = CASE WHEN ? = 'FAILED' THEN ?"
                    " ELSE fail_reason END WHERE id = ? AND status = ?",
                    "siisssis", pgw_status_name(to), now, now,
                    channel_no && channel_no[0] ? channel_no : NULL,
                    pgw_status_name(to), reason, x->id, pgw_status_name(from));
    }
    pgw__x_txn_transition(d, txn, x, pgw_status_name(from),
                          pgw_status_name(to), reason, evidence);
    pgw__x_txn_outbox(d, txn, x, to,
                      channel_no && channel_no[0] ? channel_no : x->channel_no,
                      now);
}


static void
pgw__logged(void *arg, int rc, int failed_stmt)
{
    (void) failed_stmt;
    if (rc != PGW_OK) {
        pgw_log(PGW_LOG_ERROR, "store.write_failed", "%s: rc %d",
                (const char *) arg, rc);
    }
}


/* ---- settle ---------------------------------------------------------------- */

struct pgw__settle {
    struct pgw_daemon *d;
    int payout;
    int64_t id;
    enum pgw_status to;
    char reason[256];
    char evidence[512];
    char source[32];
    char channel_no[128];
    int retried;
    pgw_xfer_settled_fn *then;
    void *arg;
};

static void pgw__settle_run(struct pgw__settle *s);


static void
pgw__settle_end(struct pgw__settle *s, int rc)
{
    if (s->then) {
        s->then(s->arg, rc);
    }
    free(s);
}


static void
pgw__settle_done(void *arg, int rc, int failed_stmt)
{
    struct pgw__settle *s = arg;

    (void) failed_stmt;
    if (rc == PGW_CONFLICT && !s->retried) {
        s->retried = 1;
        pgw__settle_run(s);
        return;
    }
    if (rc == PGW_OK) {
        s->d->metrics.transitions++;
    }
    pgw__settle_end(s, rc == PGW_OK ? PGW_OK : PGW_ERR);
}


static void
pgw__settle_run(struct pgw__settle *s)
{
    struct pgw_daemon *d = s->d;
    struct pgw__x x;
    struct pgw_txn *txn;
    char detail[1024];

    if (pgw__x_load_id(d, s->payout, s->id, &x) != PGW_OK) {
        pgw__settle_end(s, PGW_ERR);
        return;
    }
    if (x.status == s->to) {
        pgw__x_clear(&x);
        pgw__settle_end(s, PGW_OK);   /* the same result again */
        return;
    }
    txn = pgw_txn_new();
    if (txn == NULL) {
        pgw__x_clear(&x);
        pgw__settle_end(s, PGW_ERR);
        return;
    }
    if (pgw_status_is_final(x.status) || x.status == PGW_ST_ACCEPTED) {
        /* the first final result wins; evidence before our send was
         * committed cannot be about our send: both are alerts only */
        snprintf(detail, sizeof(detail), "%s says %s after %s: %s", s->source,
                 pgw_status_name(s->to), pgw_status_name(x.status),
                 s->evidence);
        pgw__x_txn_discrepancy(d, txn, &x,
                               x.status == PGW_ST_ACCEPTED ? "early_evidence"
                                                           : "contrary_result",
                               pgw_status_name(x.status),
                               pgw_status_name(s->to), s->source, detail);
        pgw_log(PGW_LOG_WARN, "xfer.discrepancy", "%s %s: %s",
                pgw__kind(s->payout), x.no, detail);
    } else {
        pgw__x_txn_move(d, txn, &x, x.status, s->to, s->reason, s->evidence,
                        s->channel_no);
        pgw_log(PGW_LOG_INFO, "xfer.settled", "%s %s -> %s (%s)",
                pgw__kind(s->payout), x.no, pgw_status_name(s->to), s->source);
    }
    pgw_store_submit(d->store, txn, pgw__settle_done, s);
    pgw__x_clear(&x);
}


void
pgw_xfer_settle(struct pgw_daemon *d, int payout, int64_t id,
                enum pgw_status to, const char *reason, const char *evidence,
                const char *source, const char *channel_no,
                pgw_xfer_settled_fn *then, void *arg)
{
    struct pgw__settle *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        if (then) {
            then(arg, PGW_ERR);
        }
        return;
    }
    s->d = d;
    s->payout = payout;
    s->id = id;
    s->to = to;
    snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "");
    snprintf(s->evidence, sizeof(s->evidence), "%s", evidence ? evidence : "");
    snprintf(s->source, sizeof(s->source), "%s", source ? source : "");
    snprintf(s->channel_no, sizeof(s->channel_no), "%s",
             channel_no ? channel_no : "");
    s->then = then;
    s->arg = arg;
    pgw__settle_run(s);
}


/* ---- building ---------------------------------------------------------------- */

/* the order table the pack sees (docs/pack-operations.md) */
static json_t *
pgw__x_pack_json(struct pgw_daemon *d, const struct pgw__x *x, char **account)
{
    json_t *req = json_loads(x->request ? x->request : "{}", 0, NULL);
    json_t *j = NULL, *sub;

    *account = NULL;
    if (req == NULL) {
        return NULL;
    }
    if (!x->payout) {
        struct pgw_order o;

        if (pgw_order_load_by_id(d, x->order_id, &o) != PGW_OK) {
            json_decref(req);
            return NULL;
        }
        j = pgw_order_pack_json(d, &o);
        pgw_order_clear(&o);
        /* created_at_ms: when we accepted the refund (UnionPay's refund
         * query names the refund by its txnTime) */
        sub = json_pack("{s:s, s:I, s:s, s:I}", "out_refund_no", x->no,
                        "amount", (json_int_t) x->amount, "reason",
                        x->reason ? x->reason : "", "created_at_ms",
                        (json_int_t) x->created_at);
        if (x->channel_no[0] && sub) {
            json_object_set_new(sub, "channel_refund_no",
                                json_string(x->channel_no));
        }
        if (j && sub) {
            json_object_set_new(j, "refund", sub);
        } else {
            json_decref(sub);
        }
    } else {
        char created[32];
        json_t *payee = json_deep_copy(json_object_get(req, "payee"));
        json_t *remark = json_object_get(req, "remark");

        pgw_rfc3339(x->created_at, created, sizeof(created));
        j = json_pack("{s:s, s:I, s:s, s:s, s:s, s:i, s:s, s:I}",
                      "out_trade_no", x->no,
                      "amount", (json_int_t) x->amount,
                      "currency", x->currency,
                      "subject", json_is_string(remark)
                                     ? json_string_value(remark) : x->no,
                      "method", "payout",
                      "expire_seconds", 0,
                      "created_at", created,
                      "created_at_ms", (json_int_t) x->created_at);
        sub = json_pack("{s:s, s:I, s:s, s:s}", "out_payout_no", x->no,
                        "amount", (json_int_t) x->amount, "currency",
                        x->currency, "remark",
                        json_is_string(remark) ? json_string_value(remark)
                                               : "");
        if (x->channel_no[0] && sub) {
            json_object_set_new(sub, "channel_payout_no",
                                json_string(x->channel_no));
        }
        if (sub && payee) {
            const char *acct = json_string_value(
                json_object_get(payee, "account_no"));
            *account = acct ? strdup(acct) : NULL;
            json_object_set_new(sub, "payee", payee);
            payee = NULL;
        }
        json_decref(payee);
        if (j && sub) {
            json_object_set_new(j, "payout", sub);
        } else {
            json_decref(sub);
        }
    }
    json_decref(req);
    return j;
}


/* The op, built; NULL + err when it cannot be built, or + *wait = 1 when the
 * channel's OAuth2 token is not there yet (nothing built, nothing to record:
 * try again on a later tick). */
static struct pgw_op *
pgw__x_op(struct pgw_daemon *d, const struct pgw__x *x, const char *opname,
          char *err, size_t errlen, int *wait)
{
    struct pgw_op *op = pgw_op_new(d, x->payout ? 0 : x->order_id, opname,
                                   x->channel);
    char *account = NULL;
    json_t *j;

    *wait = 0;
    if (op == NULL) {
        snprintf(err, errlen, "channel %s has no pack loaded", x->channel);
        return NULL;
    }
    if (pgw_auth_prepare(d, op->pack, err, errlen) != PGW_AUTH_READY) {
        *wait = 1;
        pgw_op_free(op);
        return NULL;
    }
    op->payout = x->payout;
    op->data = (void *) (intptr_t) x->id;
    j = pgw__x_pack_json(d, x, &account);
    op->scrub = account;
    if (pgw_op_build_json(op, j, err, errlen) != PGW_OK) {
        pgw_op_free(op);
        return NULL;
    }
    return op;
}


/* the SENDING attempt (+ link) and the request message, before the send */
static void
pgw__x_txn_attempt(struct pgw_daemon *d, struct pgw_txn *txn,
                   const struct pgw__x *x, struct pgw_op *op, int64_t now)
{
    if (x->payout) {
        op->attempt_id = pgw_store_next_id(d->store, "payout_attempts");
        pgw_txn_add(txn, 1,
                    "INSERT INTO payout_attempts (id, payout_id, op, channel,"
                    " pack_version, state, started_at)"
                    " VALUES (?, ?, ?, ?, ?, 'SENDING', ?)",
                    "iisssi", op->attempt_id, x->id, op->op, x->channel,
                    pgw_pack_version(op->pack), now);
    } else {
        op->attempt_id = pgw_store_next_id(d->store, "attempts");
        pgw_txn_add(txn, 1,
                    "INSERT INTO attempts (id, order_id, op, channel,"
                    " pack_version, state, started_at)"
                    " VALUES (?, ?, ?, ?, ?, 'SENDING', ?)",
                    "iisssi", op->attempt_id, x->order_id, op->op, x->channel,
                    pgw_pack_version(op->pack), now);
        pgw_txn_add(txn, 1,
                    "INSERT INTO refund_attempts (attempt_id, refund_id)"
                    " VALUES (?, ?)",
                    "ii", op->attempt_id, x->id);
    }
    pgw_order_txn_message(d, txn, x->payout ? 0 : x->order_id, op->attempt_id,
                          x->channel, "request", op->op, 0,
                          op->msg.masked ? op->msg.masked : "", op->msg.url);
}


/* ---- send (refund / payout) ------------------------------------------------- */

static void pgw__x_answered(void *arg, const struct pgw_http_result *res);


static void
pgw__x_intent_done(void *arg, int rc, int failed_stmt)
{
    struct pgw_op *op = arg;

    (void) failed_stmt;
    if (rc != PGW_OK) {
        /* CONFLICT: someone else owns the send; ERR: nothing committed, the
         * ACCEPTED sweep tries again. Never send. */
        pgw_log(rc == PGW_CONFLICT ? PGW_LOG_INFO : PGW_LOG_ERROR,
                "xfer.not_started", "%s %lld: intent not committed (rc %d)",
                op->op, (long long) (intptr_t) op->data, rc);
        pgw_op_free(op);
        return;
    }
    op->d->metrics.channel_sends++;
    if (pgw_op_send(op, 1, pgw__x_answered) != PGW_OK) {
        struct pgw_http_result res;

        memset(&res, 0, sizeof(res));
        res.sent = PGW_SENT_NOT_SENT;
        snprintf(res.error, sizeof(res.error), "transport refused the send");
        res.body = "";
        pgw__x_answered(op, &res);
    }
}


/* nothing was sent (no pack, build failed): ACCEPTED -> FAILED is safe */
static void
pgw__x_fail_unsent(struct pgw_daemon *d, const struct pgw__x *x,
                   const char *why)
{
    struct pgw_txn *txn = pgw_txn_new();
    char reason[600];

    if (txn == NULL) {
        return;
    }
    snprintf(reason, sizeof(reason), "NOT_SENT: %s", why);
    pgw__x_txn_discrepancy(d, txn, x, "pack_error", "ACCEPTED", NULL,
                           x->channel, why);
    pgw__x_txn_move(d, txn, x, PGW_ST_ACCEPTED, PGW_ST_FAILED, reason, why,
                    NULL);
    pgw_store_submit(d->store, txn, pgw__logged, "xfer.fail_unsent");
}


static void
pgw__x_send(struct pgw_daemon *d, int payout, int64_t id)
{
    struct pgw__x x;
    struct pgw_op *op;
    struct pgw_txn *txn;
    char err[512];
    int wait;
    int64_t now = pgw_now_ms();

    if (pgw__x_load_id(d, payout, id, &x) != PGW_OK) {
        return;
    }
    if (x.status != PGW_ST_ACCEPTED) {
        pgw__x_clear(&x);
        return;
    }
    op = pgw__x_op(d, &x, payout ? "payout" : "refund", err, sizeof(err),
                   &wait);
    if (op == NULL && wait) {
        /* stays ACCEPTED until the channel's token is there (the sweep) */
        pgw__x_clear(&x);
        return;
    }
    if (op == NULL) {
        pgw_log(PGW_LOG_ERROR, "pack.build_failed", "%s %s %s: %s",
                x.channel, pgw__kind(payout), x.no, err);
        if (pgw_packs_get(d->packs, x.channel) != NULL) {
            pgw__x_fail_unsent(d, &x, err);
        }
        /* no pack loaded: stays ACCEPTED, the sweep retries after a reload */
        pgw__x_clear(&x);
        return;
    }
    const json_t *man = pgw_pack_manifest(op->pack);
    txn = pgw_txn_new();
    if (txn == NULL) {
        pgw_op_free(op);
        pgw__x_clear(&x);
        return;
    }
    pgw_txn_add(txn, 1,
                payout ? "UPDATE payouts SET status = 'PROCESSING',"
                         " pack_version = ?, next_query_at = ?, updated_at = ?"
                         " WHERE id = ? AND status = 'ACCEPTED'"
                       : "UPDATE refunds SET status = 'PROCESSING',"
                         " pack_version = ?, next_query_at = ?, updated_at = ?"
                         " WHERE id = ? AND status = 'ACCEPTED'",
                "siii", pgw_pack_version(op->pack),
                now + pgw_channel_first_query_delay(d, x.channel, man), now,
                x.id);
    char reason[96];
    snprintf(reason, sizeof(reason), "sending %s to %s", op->op, x.channel);
    pgw__x_txn_transition(d, txn, &x, "ACCEPTED", "PROCESSING", reason, NULL);
    pgw__x_txn_attempt(d, txn, &x, op, now);
    pgw_store_submit(d->store, txn, pgw__x_intent_done, op);
    pgw__x_clear(&x);
}


static enum pgw_status
pgw__final_of(enum pgw_class cls)
{
    return cls == PGW_CLASS_SUCCESS  ? PGW_ST_SUCCESS
           : cls == PGW_CLASS_FAILED ? PGW_ST_FAILED
                                     : PGW_ST_NONE;
}


static void
pgw__x_answered(void *arg, const struct pgw_http_result *res)
{
    struct pgw_op *op = arg;
    struct pgw_daemon *d = op->d;
    struct pgw_outcome out;
    struct pgw_txn *txn;
    char evidence[512], reason[320];
    int64_t id = (int64_t) (intptr_t) op->data;
    enum pgw_status final;

    txn = pgw_op_interpret(op, res, &out, evidence, sizeof(evidence));
    if (txn == NULL) {
        pgw_op_free(op);
        return;
    }
    const char *no = json_string_value(json_object_get(
        out.fields, op->payout ? "channel_payout_no" : "channel_refund_no"));
    if (no && no[0]) {
        pgw_txn_add(txn, -1,
                    op->payout ? "UPDATE payouts SET channel_payout_no ="
                                 " COALESCE(channel_payout_no, ?) WHERE id = ?"
                               : "UPDATE refunds SET channel_refund_no ="
                                 " COALESCE(channel_refund_no, ?) WHERE id = ?",
                    "si", no, id);
    }
    pgw_store_submit(d->store, txn, pgw__logged, "xfer.answer");

    final = pgw__final_of(out.cls);
    snprintf(reason, sizeof(reason), "%s answer %s", op->op, out.code);
    if (out.cls == PGW_CLASS_NOT_SENT) {
        /* proven never to have reached the channel. A payout accepts only
         * the transport's proof; a pack's "rejected" code is left to
         * payout_query (strictest reading: a false FAILED pays twice) */
        if (!op->payout || res->sent == PGW_SENT_NOT_SENT) {
            final = PGW_ST_FAILED;
            snprintf(reason, sizeof(reason), "NOT_SENT: %s",
                     out.error[0] ? out.error : out.code);
        }
    }
    pgw_log(PGW_LOG_INFO, "xfer.answer", "%s %lld at %s: %s", op->op,
            (long long) id, op->channel, evidence);
    if (final != PGW_ST_NONE) {
        pgw_xfer_settle(d, op->payout, id, final, reason, evidence, op->op, no,
                        NULL, NULL);
    }
    /* PROCESSING / NOT_FOUND: the query scheduler settles it; never resent */
    pgw_outcome_clear(&out);
    pgw_op_free(op);
}


/* ---- query ---------------------------------------------------------------- */

static void pgw__xq_answered(void *arg, const struct pgw_http_result *res);


static void
pgw__xq_intent_done(void *arg, int rc, int failed_stmt)
{
    struct pgw_op *op = arg;

    (void) failed_stmt;
    if (rc != PGW_OK) {
        op->d->queries_in_flight--;
        pgw_op_free(op);
        return;
    }
    op->d->metrics.queries++;
    if (pgw_op_send(op, 0, pgw__xq_answered) != PGW_OK) {
        op->d->queries_in_flight--;
        pgw_op_free(op);
    }
}


static void
pgw__xq_answered(void *arg, const struct pgw_http_result *res)
{
    struct pgw_op *op = arg;
    struct pgw_daemon *d = op->d;
    struct pgw_outcome out;
    struct pgw_txn *txn;
    struct pgw__x x;
    char evidence[512], reason[256];
    int64_t id = (int64_t) (intptr_t) op->data;
    enum pgw_status final;

    d->queries_in_flight--;
    txn = pgw_op_interpret(op, res, &out, evidence, sizeof(evidence));
    if (txn == NULL) {
        pgw_op_free(op);
        return;
    }
    const char *no = json_string_value(json_object_get(
        out.fields, op->payout ? "channel_payout_no" : "channel_refund_no"));
    json_t *amount = json_object_get(out.fields, "amount");

    final = pgw__final_of(out.cls);
    snprintf(reason, sizeof(reason), "%s answer %s", op->op, out.code);
    if (pgw__x_load_id(d, op->payout, id, &x) == PGW_OK) {
        int64_t now = pgw_now_ms();

        if (final != PGW_ST_NONE && json_is_integer(amount)
            && json_integer_value(amount) != x.amount) {
            /* a final answer about another amount is not ours to apply */
            char detail[160];
            snprintf(detail, sizeof(detail), "%s amount %lld != %lld",
                     op->op, (long long) json_integer_value(amount),
                     (long long) x.amount);
            pgw__x_txn_discrepancy(d, txn, &x, "amount_mismatch",
                                   pgw_status_name(x.status),
                                   pgw_class_name(out.cls), out.code, detail);
            final = PGW_ST_NONE;
        }
        if (out.cls == PGW_CLASS_NOT_FOUND) {
            /* never FAILED on that word: an alert after a while */
            if (x.not_found_since == 0) {
                pgw_txn_add(txn, -1,
                            op->payout ? "UPDATE payouts SET not_found_since = ?"
                                         " WHERE id = ?"
                                       : "UPDATE refunds SET not_found_since = ?"
                                         " WHERE id = ?",
                            "ii", now, id);
            } else if (now - x.not_found_since
                       > d->conf->not_found_alert_s * 1000) {
                pgw__x_txn_discrepancy(d, txn, &x, "not_found_alert",
                                       pgw_status_name(x.status), "NOT_FOUND",
                                       out.code, "channel keeps saying it"
                                       " does not exist");
            }
        }
        pgw__x_clear(&x);
    }
    pgw_store_submit(d->store, txn, pgw__logged, "xfer.query_answer");
    if (final != PGW_ST_NONE) {
        pgw_xfer_settle(d, op->payout, id, final, reason, evidence, op->op, no,
                        NULL, NULL);
    }
    pgw_outcome_clear(&out);
    pgw_op_free(op);
}


static void
pgw__x_query(struct pgw_daemon *d, int payout, int64_t id)
{
    struct pgw__x x;
    struct pgw_op *op;
    struct pgw_txn *txn;
    char err[512];
    int wait;
    int64_t now = pgw_now_ms();

    if (pgw__x_load_id(d, payout, id, &x) != PGW_OK) {
        return;
    }
    if (x.status != PGW_ST_PROCESSING) {
        pgw__x_clear(&x);
        return;
    }
    txn = pgw_txn_new();
    if (txn == NULL) {
        pgw__x_clear(&x);
        return;
    }
    /* the next query time moves now, so a slow answer is not re-queried */
    struct pgw_pack *pack = pgw_packs_get(d->packs, x.channel);
    int64_t next = now + pgw_channel_query_backoff(
                             d, x.channel,
                             pack ? pgw_pack_manifest(pack) : NULL,
                             x.query_count);
    pgw_txn_add(txn, -1,
                payout ? "UPDATE payouts SET query_count = query_count + 1,"
                         " next_query_at = ? WHERE id = ?"
                         " AND status = 'PROCESSING'"
                       : "UPDATE refunds SET query_count = query_count + 1,"
                         " next_query_at = ? WHERE id = ?"
                         " AND status = 'PROCESSING'",
                "ii", next, x.id);
    op = pgw__x_op(d, &x, payout ? "payout_query" : "refund_query", err,
                   sizeof(err), &wait);
    if (op == NULL && wait) {
        pgw_txn_free(txn);
        pgw__x_clear(&x);
        return;
    }
    if (op == NULL) {
        pgw_log(PGW_LOG_ERROR, "pack.build_failed", "%s %s_query %s: %s",
                x.channel, pgw__kind(payout), x.no, err);
        pgw__x_txn_discrepancy(d, txn, &x, "pack_error", "PROCESSING", NULL,
                               x.channel, err);
        pgw_store_submit(d->store, txn, pgw__logged, "xfer.query_build");
        pgw__x_clear(&x);
        return;
    }
    pgw__x_txn_attempt(d, txn, &x, op, now);
    d->queries_in_flight++;
    pgw_store_submit(d->store, txn, pgw__xq_intent_done, op);
    pgw__x_clear(&x);
}


/* ---- scheduler, recovery ---------------------------------------------------- */

int
pgw_xfer_tick(struct pgw_daemon *d, int room)
{
    int64_t ids[PGW__XFER_SWEEP];
    int64_t now = pgw_now_ms();
    int n, started = 0;

    for (int payout = 0; payout <= 1; payout++) {
        int max = room - started;
        if (max > PGW__XFER_SWEEP) {
            max = PGW__XFER_SWEEP;
        }
        if (max > 0) {
            n = pgw_store_ids(
                payout ? pgw_store_query(
                             d->store,
                             "SELECT id FROM payouts WHERE status = 'PROCESSING'"
                             " AND next_query_at IS NOT NULL"
                             " AND next_query_at <= ? AND NOT EXISTS (SELECT 1"
                             " FROM payout_attempts a WHERE a.payout_id ="
                             " payouts.id AND a.state = 'SENDING')"
                             " ORDER BY next_query_at LIMIT 64",
                             "i", now)
                       : pgw_store_query(
                             d->store,
                             "SELECT id FROM refunds WHERE status = 'PROCESSING'"
                             " AND next_query_at IS NOT NULL"
                             " AND next_query_at <= ? AND NOT EXISTS (SELECT 1"
                             " FROM refund_attempts ra JOIN attempts a"
                             " ON a.id = ra.attempt_id WHERE ra.refund_id ="
                             " refunds.id AND a.state = 'SENDING')"
                             " ORDER BY next_query_at LIMIT 64",
                             "i", now),
                ids, max);
            for (int i = 0; i < n; i++) {
                pgw__x_query(d, payout, ids[i]);
            }
            started += n;
        }
        /* ACCEPTED for more than 5 s: the intent commit failed, never sent */
        n = pgw_store_ids(
            payout ? pgw_store_query(d->store,
                                     "SELECT id FROM payouts WHERE status ="
                                     " 'ACCEPTED' AND updated_at < ? LIMIT 64",
                                     "i", now - 5000)
                   : pgw_store_query(d->store,
                                     "SELECT id FROM refunds WHERE status ="
                                     " 'ACCEPTED' AND updated_at < ? LIMIT 64",
                                     "i", now - 5000),
            ids, PGW__XFER_SWEEP);
        for (int i = 0; i < n; i++) {
            pgw__x_send(d, payout, ids[i]);
        }
    }
    return started;
}


int
pgw_xfer_recover(struct pgw_daemon *d)
{
    struct pgw_txn *txn = pgw_txn_new();
    int64_t ids[PGW__XFER_SWEEP];
    int total = 0;

    if (txn == NULL) {
        return PGW_ERR;
    }
    /* refund attempts are `attempts` rows: pgw_recover made them UNKNOWN */
    pgw_txn_add(txn, -1,
                "UPDATE payout_attempts SET state = 'UNKNOWN', error = 'process"
                " ended during the send', finished_at = ? WHERE state = 'SENDING'",
                "i", pgw_now_ms());
    if (pgw_store_exec_now(d->store, txn) != PGW_OK) {
        return PGW_ERR;
    }
    for (int payout = 0; payout <= 1; payout++) {
        int64_t last = 0;
        int n;
        do {
            n = pgw_store_ids(
                payout ? pgw_store_query(d->store,
                                         "SELECT id FROM payouts WHERE status ="
                                         " 'ACCEPTED' AND id > ? ORDER BY id"
                                         " LIMIT 64", "i", last)
                       : pgw_store_query(d->store,
                                         "SELECT id FROM refunds WHERE status ="
                                         " 'ACCEPTED' AND id > ? ORDER BY id"
                                         " LIMIT 64", "i", last),
                ids, PGW__XFER_SWEEP);
            for (int i = 0; i < n; i++) {
                pgw__x_send(d, payout, ids[i]);
            }
            if (n > 0) {
                last = ids[n - 1];
            }
            total += n;
        } while (n == PGW__XFER_SWEEP);
    }
    pgw_log(PGW_LOG_INFO, "recover", "%d accepted refunds/payouts dispatched",
            total);
    return PGW_OK;
}


/* ---- API -------------------------------------------------------------------- */

void
pgw_refund_txn_insert(struct pgw_txn *txn, int64_t id, int64_t transition_id,
                      const char *app_id, const char *out_refund_no,
                      int64_t order_id, const char *request_hash,
                      const char *request, int64_t amount, const char *reason,
                      const char *notify_url, int64_t now)
{
    pgw_txn_add(txn, 1,
                "INSERT INTO refunds (id, app_id, out_refund_no, order_id,"
                " request_hash, request, amount, currency, reason, notify_url,"
                " channel, status, created_at, updated_at)"
                " SELECT ?, ?, ?, o.id, ?, ?, ?, o.currency, ?, ?, o.channel,"
                " 'ACCEPTED', ?, ? FROM orders o"
                " WHERE o.id = ? AND o.status = 'SUCCESS'"
                " AND o.channel IS NOT NULL"
                " AND (SELECT COALESCE(SUM(r.amount), 0) FROM refunds r"
                " WHERE r.order_id = o.id AND r.status <> 'FAILED') + ?"
                " <= o.amount",
                "issssissiiii", id, app_id, out_refund_no, request_hash,
                request, amount, reason, notify_url, now, now, order_id,
                amount);
    pgw_txn_add(txn, 1,
                "INSERT INTO xfer_transitions (id, kind, xfer_id, from_status,"
                " to_status, reason, evidence, at) VALUES (?, 'refund', ?,"
                " NULL, 'ACCEPTED', 'accepted from caller', NULL, ?)",
                "iii", transition_id, id, now);
}


static int
pgw__valid_no(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 64) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char) s[i]) && s[i] != '_' && s[i] != '-'
            && s[i] != '.') {
            return 0;
        }
    }
    return 1;
}


static void
pgw__sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;

    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < 32; i++) {
        snprintf(out + i * 2, 3, "%02x", md[i]);
    }
}


static const char *
pgw__validate(json_t *req, int payout)
{
    static const char *const rk[] = { "out_refund_no", "out_trade_no",
                                       "amount", "reason", "notify_url", NULL };
    static const char *const pk[] = { "out_payout_no", "amount", "currency",
                                       "payee", "notify_url", "channel",
                                       "remark", NULL };
    const char *const *known = payout ? pk : rk;
    const char *key;
    json_t *v;

    if (!json_is_object(req)) {
        return "body must be a JSON object";
    }
    json_object_foreach(req, key, v) {
        int ok = 0;
        for (int i = 0; known[i]; i++) {
            ok |= strcmp(key, known[i]) == 0;
        }
        if (!ok) {
            return "unknown field in body";
        }
    }
    v = json_object_get(req, payout ? "out_payout_no" : "out_refund_no");
    if (!json_is_string(v) || !pgw__valid_no(json_string_value(v))) {
        return payout ? "out_payout_no: 1-64 characters of A-Z a-z 0-9 _ - ."
                      : "out_refund_no: 1-64 characters of A-Z a-z 0-9 _ - .";
    }
    if (!payout) {
        v = json_object_get(req, "out_trade_no");
        if (!json_is_string(v) || !pgw__valid_no(json_string_value(v))) {
            return "out_trade_no: the payment's number";
        }
    }
    v = json_object_get(req, "amount");
    if (!json_is_integer(v) || json_integer_value(v) <= 0
        || json_integer_value(v) > 100000000000000LL) {
        return "amount: a positive integer in minor units";
    }
    v = json_object_get(req, "reason");
    if (v && (!json_is_string(v) || json_string_length(v) > 256)) {
        return "reason: a string of at most 256 bytes";
    }
    v = json_object_get(req, "remark");
    if (v && (!json_is_string(v) || json_string_length(v) > 256)) {
        return "remark: a string of at most 256 bytes";
    }
    v = json_object_get(req, "notify_url");
    if (v && (!json_is_string(v) || json_string_length(v) > 512
              || (strncmp(json_string_value(v), "http://", 7) != 0
                  && strncmp(json_string_value(v), "https://", 8) != 0))) {
        return "notify_url: an http(s) URL of at most 512 bytes";
    }
    if (payout) {
        v = json_object_get(req, "currency");
        if (!json_is_string(v) || json_string_length(v) != 3
            || !isupper((unsigned char) json_string_value(v)[0])
            || !isupper((unsigned char) json_string_value(v)[1])
            || !isupper((unsigned char) json_string_value(v)[2])) {
            return "currency: an ISO 4217 code such as CNY";
        }
        v = json_object_get(req, "channel");
        if (v && (!json_is_string(v) || json_string_length(v) > 31)) {
            return "channel: a channel name";
        }
        v = json_object_get(req, "payee");
        if (!json_is_object(v)) {
            return "payee: {account_no, account_name, bank_code}";
        }
        json_t *a = json_object_get(v, "account_no");
        if (!json_is_string(a) || json_string_length(a) == 0
            || json_string_length(a) > 64) {
            return "payee.account_no: required, at most 64 bytes";
        }
        a = json_object_get(v, "account_name");
        if (a && (!json_is_string(a) || json_string_length(a) > 128)) {
            return "payee.account_name: a string";
        }
        a = json_object_get(v, "bank_code");
        if (a && (!json_is_string(a) || json_string_length(a) > 32)) {
            return "payee.bank_code: a string";
        }
    }
    return NULL;
}


static json_t *
pgw__x_answer(const struct pgw__x *x)
{
    json_t *j = json_pack("{s:s, s:s}",
                          x->payout ? "out_payout_no" : "out_refund_no", x->no,
                          "status", pgw_status_name(x->status));

    if (j && !x->payout) {
        json_object_set_new(j, "out_trade_no", json_string(x->out_trade_no));
    }
    return j;
}


static void
pgw__x_answer_existing(struct pgw_daemon *d, struct evhttp_request *req,
                       int payout, const char *app_id, const char *no,
                       const char *hash)
{
    struct pgw__x x;
    int rc = pgw__x_load_no(d, payout, app_id, no, &x);

    if (rc != PGW_OK) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "store read failed");
        return;
    }
    if (strcmp(x.request_hash ? x.request_hash : "", hash) != 0) {
        pgw_http_error(req, 409, "IDEMPOTENCY_CONFLICT",
                       payout ? "out_payout_no already used with a different body"
                              : "out_refund_no already used with a different body");
    } else {
        pgw_http_json(req, 202, pgw__x_answer(&x));
    }
    pgw__x_clear(&x);
}


struct pgw__create {
    struct pgw_daemon *d;
    struct evhttp_request *req;
    int payout;
    int64_t id;
    char app_id[65];
    char no[65];
    char out_trade_no[65];
    char hash[65];
};


static void
pgw__create_done(void *arg, int rc, int failed_stmt)
{
    struct pgw__create *c = arg;
    struct pgw__x x;

    (void) failed_stmt;
    if (rc == PGW_OK) {
        json_t *j = json_pack("{s:s, s:s}",
                              c->payout ? "out_payout_no" : "out_refund_no",
                              c->no, "status", "ACCEPTED");
        if (j && !c->payout) {
            json_object_set_new(j, "out_trade_no", json_string(c->out_trade_no));
        }
        pgw_http_json(c->req, 202, j);
        /* stored and answered: now the channel call */
        pgw__x_send(c->d, c->payout, c->id);
    } else if (rc == PGW_CONFLICT) {
        int lrc = pgw__x_load_no(c->d, c->payout, c->app_id, c->no, &x);
        if (lrc == PGW_OK) {
            /* a concurrent twin won the UNIQUE race */
            pgw__x_clear(&x);
            pgw__x_answer_existing(c->d, c->req, c->payout, c->app_id, c->no,
                                   c->hash);
        } else if (!c->payout && lrc == PGW_NOTFOUND) {
            /* the guard held: the refunds would exceed the payment */
            pgw_http_error(c->req, 409, "REFUND_EXCEEDS_PAYMENT",
                           "the refunds of this payment would exceed its"
                           " amount; nothing was accepted");
        } else {
            pgw_http_error(c->req, 503, "CORE_UNAVAILABLE",
                           "not stored; nothing was accepted");
        }
    } else {
        pgw_http_error(c->req, 503, "CORE_UNAVAILABLE",
                       "not stored; nothing was accepted");
    }
    free(c);
}


/* a payout's channel: the requested one, else the first configured channel
 * (paygwd.conf order) whose pack offers payout in the currency */
static int
pgw__payout_channel(struct pgw_daemon *d, const char *wanted,
                    const char *currency, char *out, size_t outlen)
{
    for (struct pgw_channel_conf *c = d->conf->channels; c; c = c->next) {
        struct pgw_pack *p;
        const json_t *cur;
        size_t i;
        int ok = 0;

        if (wanted && strcmp(wanted, c->name) != 0) {
            continue;
        }
        p = pgw_packs_get(d->packs, c->name);
        if (p == NULL || !c->enabled || !pgw_pack_has_op(p, "payout")) {
            continue;
        }
        cur = json_object_get(pgw_pack_manifest(p), "currencies");
        for (i = 0; i < json_array_size(cur); i++) {
            ok |= strcmp(json_string_value(json_array_get(cur, i)), currency)
                  == 0;
        }
        if (!ok && json_array_size(cur) > 0) {
            continue;
        }
        snprintf(out, outlen, "%s", c->name);
        return PGW_OK;
    }
    return PGW_NOTFOUND;
}


/* first6****last4 for 13+ characters, ****last4 for 8-12, all masked below */
static void
pgw__mask_account(const char *acct, char *out, size_t outlen)
{
    char *m = pgw_op_scrub(acct, acct);

    snprintf(out, outlen, "%s", m ? m : "****");
    free(m);
}


void
pgw_xfer_api_create(struct pgw_daemon *d, struct evhttp_request *req,
                    const char *app_id, int payout)
{
    size_t len;
    const char *body = pgw_http_body(req, &len);
    json_error_t jerr;
    json_t *j;
    const char *msg, *no;
    char *canon = NULL, why[256];
    struct pgw__create *c = NULL;
    struct pgw__x x;
    struct pgw_txn *txn;
    int64_t now = pgw_now_ms();
    int rc;

    j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        snprintf(why, sizeof(why), "body is not valid JSON: %s", jerr.text);
        pgw_http_error(req, 400, "INVALID_PARAMETER", why);
        return;
    }
    msg = pgw__validate(j, payout);
    if (msg != NULL) {
        pgw_http_error(req, 400, "INVALID_PARAMETER", msg);
        json_decref(j);
        return;
    }
    no = json_string_value(json_object_get(j, payout ? "out_payout_no"
                                                     : "out_refund_no"));
    canon = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    c = calloc(1, sizeof(*c));
    if (canon == NULL || c == NULL) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
        goto done;
    }
    c->d = d;
    c->req = req;
    c->payout = payout;
    snprintf(c->app_id, sizeof(c->app_id), "%s", app_id);
    snprintf(c->no, sizeof(c->no), "%s", no);
    pgw__sha256_hex(canon, strlen(canon), c->hash);

    /* idempotency: an existing one answers for itself */
    rc = pgw__x_load_no(d, payout, app_id, no, &x);
    if (rc == PGW_OK) {
        pgw__x_clear(&x);
        pgw__x_answer_existing(d, req, payout, app_id, no, c->hash);
        goto done;
    }
    if (rc != PGW_NOTFOUND) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "store read failed");
        goto done;
    }
    int64_t amount = json_integer_value(json_object_get(j, "amount"));
    const char *notify = json_string_value(json_object_get(j, "notify_url"));
    txn = pgw_txn_new();
    if (txn == NULL) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
        goto done;
    }
    if (!payout) {
        struct pgw_order o;
        struct pgw_pack *pack;
        int64_t refunded = 0;

        snprintf(c->out_trade_no, sizeof(c->out_trade_no), "%s",
                 json_string_value(json_object_get(j, "out_trade_no")));
        rc = pgw_order_load_by_no(d, app_id, c->out_trade_no, &o);
        if (rc != PGW_OK) {
            pgw_txn_free(txn);
            if (rc == PGW_NOTFOUND) {
                pgw_http_error(req, 400, "PAYMENT_NOT_FOUND",
                               "no payment with this out_trade_no");
            } else {
                pgw_http_error(req, 503, "CORE_UNAVAILABLE", "store read failed");
            }
            goto done;
        }
        pack = pgw_packs_get(d->packs, o.channel);
        sqlite3_stmt *st = pgw_store_query(d->store,
                                           "SELECT COALESCE(SUM(amount), 0)"
                                           " FROM refunds WHERE order_id = ?"
                                           " AND status <> 'FAILED'",
                                           "i", o.id);
        if (st && sqlite3_step(st) == SQLITE_ROW) {
            refunded = sqlite3_column_int64(st, 0);
        }
        if (st) {
            sqlite3_reset(st);
        }
        if (o.status != PGW_ST_SUCCESS) {
            snprintf(why, sizeof(why), "the payment is %s; only a SUCCESS"
                     " payment can be refunded", pgw_status_name(o.status));
            pgw_http_error(req, 409, "PAYMENT_NOT_REFUNDABLE", why);
        } else if (pack == NULL) {
            pgw_http_error(req, 503, "NO_CHANNEL_AVAILABLE",
                           "the payment's channel is not loaded");
        } else if (!pgw_pack_has_op(pack, "refund")) {
            pgw_http_error(req, 409, "REFUND_NOT_SUPPORTED",
                           "the payment's channel offers no refund");
        } else if (refunded + amount > o.amount) {
            pgw_http_error(req, 409, "REFUND_EXCEEDS_PAYMENT",
                           "the refunds of this payment would exceed its"
                           " amount; nothing was accepted");
        } else {
            c->id = pgw_store_next_id(d->store, "refunds");
            pgw_refund_txn_insert(
                txn, c->id, pgw_store_next_id(d->store, "xfer_transitions"),
                app_id, no, o.id, c->hash, canon, amount,
                json_string_value(json_object_get(j, "reason")), notify, now);
            pgw_store_submit(d->store, txn, pgw__create_done, c);
            txn = NULL;
            c = NULL;
        }
        pgw_order_clear(&o);
        pgw_txn_free(txn);
        goto done;
    }

    /* payout */
    char channel[32], masked[80];
    const char *currency = json_string_value(json_object_get(j, "currency"));
    if (pgw__payout_channel(d, json_string_value(json_object_get(j, "channel")),
                            currency, channel, sizeof(channel)) != PGW_OK) {
        pgw_txn_free(txn);
        snprintf(why, sizeof(why), "no channel offers payout in %s", currency);
        pgw_http_error(req, 503, "NO_CHANNEL_AVAILABLE", why);
        goto done;
    }
    pgw__mask_account(json_string_value(json_object_get(
                          json_object_get(j, "payee"), "account_no")),
                      masked, sizeof(masked));
    c->id = pgw_store_next_id(d->store, "payouts");
    pgw_txn_add(txn, 1,
                "INSERT INTO payouts (id, app_id, out_payout_no, request_hash,"
                " request, amount, currency, account_masked, notify_url,"
                " channel, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ACCEPTED', ?, ?)",
                "issssissssii", c->id, app_id, no, c->hash, canon, amount,
                currency, masked, notify, channel, now, now);
    pgw_txn_add(txn, 1,
                "INSERT INTO xfer_transitions (id, kind, xfer_id, from_status,"
                " to_status, reason, evidence, at) VALUES (?, 'payout', ?,"
                " NULL, 'ACCEPTED', 'accepted from caller', ?, ?)",
                "iisi", pgw_store_next_id(d->store, "xfer_transitions"), c->id,
                channel, now);
    pgw_store_submit(d->store, txn, pgw__create_done, c);
    c = NULL;

done:
    free(c);
    free(canon);
    json_decref(j);
}


/* ?refresh=true on a refund / payout: the same limits as a payment's
 * (pgw_refresh.c); the query is refund_query / payout_query, outside the
 * schedule, and moves the next scheduled one like any query */
static const char *
pgw__x_refresh(struct pgw_daemon *d, const struct pgw__x *x, int64_t *wait_ms)
{
    struct pgw_refresh_facts f = {
        .status = x->status, .channel = x->channel,
        .next_query_at = x->next_query_at, .query_count = x->query_count,
    };
    const char *result;
    sqlite3_stmt *st = NULL;
    int go;

    if (x->status == PGW_ST_PROCESSING) {
        st = x->payout
                 ? pgw_store_query(d->store,
                                   "SELECT MAX(CASE WHEN op = 'payout_query'"
                                   " THEN started_at END), SUM(state ="
                                   " 'SENDING') FROM payout_attempts"
                                   " WHERE payout_id = ?", "i", x->id)
                 : pgw_store_query(d->store,
                                   "SELECT MAX(CASE WHEN a.op = 'refund_query'"
                                   " THEN a.started_at END), SUM(a.state ="
                                   " 'SENDING') FROM attempts a JOIN"
                                   " refund_attempts ra ON ra.attempt_id ="
                                   " a.id WHERE ra.refund_id = ?", "i", x->id);
    }
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        f.last_query_at = sqlite3_column_int64(st, 0);
        f.sending = sqlite3_column_int64(st, 1);
    }
    if (st != NULL) {
        sqlite3_reset(st);
    }
    result = pgw_refresh_decide(d, x->app_id, &f, &go, wait_ms);
    if (go) {
        pgw__x_query(d, x->payout, x->id);
    }
    return result;
}


void
pgw_xfer_api_get(struct pgw_daemon *d, struct evhttp_request *req,
                 const char *app_id, const char *no, int payout)
{
    struct pgw__x x;
    char at[32], refresh[8] = "";
    json_t *j, *attempts;
    sqlite3_stmt *st;
    int rc = pgw__x_load_no(d, payout, app_id, no, &x);

    if (rc == PGW_NOTFOUND) {
        pgw_http_error(req, 404, "NOT_FOUND",
                       payout ? "no such payout" : "no such refund");
        return;
    }
    if (rc != PGW_OK) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "store read failed");
        return;
    }
    j = pgw__x_answer(&x);
    if (j == NULL) {
        pgw__x_clear(&x);
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
        return;
    }
    json_object_set_new(j, "amount", json_integer(x.amount));
    json_object_set_new(j, "currency", json_string(x.currency));
    json_object_set_new(j, "channel", json_string(x.channel));
    json_object_set_new(j, payout ? "channel_payout_no" : "channel_refund_no",
                        x.channel_no[0] ? json_string(x.channel_no)
                                        : json_null());
    pgw_rfc3339(x.created_at, at, sizeof(at));
    json_object_set_new(j, "created_at", json_string(at));
    if (x.finished_at) {
        pgw_rfc3339(x.finished_at, at, sizeof(at));
        json_object_set_new(j, "finished_at", json_string(at));
    }
    if (x.fail_reason) {
        json_object_set_new(j, "fail_reason", json_string(x.fail_reason));
    }
    if (x.reason) {
        json_object_set_new(j, "reason", json_string(x.reason));
    }
    if (payout) {
        json_t *req_j = json_loads(x.request ? x.request : "{}", 0, NULL);
        json_t *payee = json_deep_copy(json_object_get(req_j, "payee"));
        if (payee) {
            json_object_set_new(payee, "account_no",
                                json_string(x.account_masked));
            json_object_set_new(j, "payee", payee);
        }
        json_decref(req_j);
    }
    attempts = json_array();
    st = payout ? pgw_store_query(d->store,
                                  "SELECT op, channel, state, class, code,"
                                  " started_at FROM payout_attempts"
                                  " WHERE payout_id = ? ORDER BY id",
                                  "i", x.id)
                : pgw_store_query(d->store,
                                  "SELECT a.op, a.channel, a.state, a.class,"
                                  " a.code, a.started_at FROM attempts a"
                                  " JOIN refund_attempts ra ON ra.attempt_id"
                                  " = a.id WHERE ra.refund_id = ?"
                                  " ORDER BY a.id",
                                  "i", x.id);
    while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
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
    pgw_http_query_param(req, "refresh", refresh, sizeof(refresh));
    if (strcmp(refresh, "true") == 0) {
        /* the row as stored, plus what the refresh did (GET again shortly) */
        int64_t wait_ms = 0;
        const char *result = pgw__x_refresh(d, &x, &wait_ms);
        json_object_set_new(j, "refresh", pgw_refresh_json(result, wait_ms));
    }
    pgw_http_json(req, 200, j);
    pgw__x_clear(&x);
}
