/*
 * pgw_dispatch.c — channel operations of an order and what their answers do.
 *
 * Each operation is a small chain of callbacks on the loop:
 *   build (pack) -> commit the intent (store) -> send (transport)
 *   -> interpret (pack) -> commit the outcome (store) -> wake long-polls.
 * For pay the intent commit is the ACCEPTED -> PROCESSING compare-and-set plus
 * the SENDING attempt: it must be durable before a byte leaves, so a crash can
 * never cause a second send (recovery sees the attempt and queries instead).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "pgw_auth.h"
#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_dispatch.h"
#include "pgw_log.h"
#include "pgw_op.h"
#include "pgw_order.h"
#include "pgw_pack.h"
#include "pgw_query_plan.h"
#include "pgw_route.h"
#include "pgw_store.h"
#include "pgw_transport.h"

#define PGW__MAX_TRIED 8


struct pgw__settle {
    struct pgw_daemon *d;
    int64_t order_id;
    enum pgw_status to;
    char *reason;
    char *evidence;
    char *source;
    char *channel_trade_no;
    int retried;
    pgw_settled_fn *then;
    void *then_arg;
};


static void pgw__send_pay(struct pgw_daemon *d, int64_t order_id,
                          enum pgw_status from);


/* ---- settle: apply final evidence ---------------------------------------- */

static void pgw__settle_run(struct pgw__settle *s);
static void pgw__settle_end(struct pgw__settle *s, int rc);


/* a discrepancy was recorded instead of a transition */
static void
pgw__settle_recorded(void *arg, int rc, int failed_stmt)
{
    (void) failed_stmt;
    pgw__settle_end(arg, rc == PGW_OK ? PGW_OK : PGW_ERR);
}


static void
pgw__settle_end(struct pgw__settle *s, int rc)
{
    if (s->then) {
        s->then(s->then_arg, rc);
    }
    free(s->reason);
    free(s->evidence);
    free(s->source);
    free(s->channel_trade_no);
    free(s);
}


static void
pgw__settle_done(void *arg, int rc, int failed_stmt)
{
    struct pgw__settle *s = arg;

    (void) failed_stmt;
    if (rc == PGW_OK) {
        s->d->metrics.transitions++;
        pgw_log(PGW_LOG_INFO, "order.settled", "order %lld -> %s (%s)",
                (long long) s->order_id, pgw_status_name(s->to), s->source);
        pgw_waiters_wake(s->d, s->order_id);
        pgw__settle_end(s, PGW_OK);
        return;
    }
    if (rc == PGW_CONFLICT && !s->retried) {
        /* someone else moved it between our read and our write: look again */
        s->retried = 1;
        pgw__settle_run(s);
        return;
    }
    pgw_log(PGW_LOG_ERROR, "order.settle_failed", "order %lld -> %s: rc %d",
            (long long) s->order_id, pgw_status_name(s->to), rc);
    pgw__settle_end(s, PGW_ERR);
}


static void
pgw__settle_run(struct pgw__settle *s)
{
    struct pgw_daemon *d = s->d;
    struct pgw_order o;
    struct pgw_txn *txn;

    if (pgw_order_load_by_id(d, s->order_id, &o) != PGW_OK) {
        pgw__settle_end(s, PGW_ERR);
        return;
    }
    if (o.status == s->to) {
        /* the same final result again: nothing to do */
        pgw_order_clear(&o);
        pgw__settle_end(s, PGW_OK);
        return;
    }
    txn = pgw_txn_new();
    if (txn == NULL) {
        pgw_order_clear(&o);
        pgw__settle_end(s, PGW_ERR);
        return;
    }
    if (pgw_status_is_final(o.status)) {
        /* the first final result wins; the contrary one is an alert */
        char detail[512];
        snprintf(detail, sizeof(detail), "%s says %s after %s: %s", s->source,
                 pgw_status_name(s->to), pgw_status_name(o.status),
                 s->evidence ? s->evidence : "");
        pgw_order_txn_discrepancy(d, txn, o.id, "contrary_result",
                                  pgw_status_name(o.status),
                                  pgw_status_name(s->to), s->source, detail);
        pgw_log(PGW_LOG_WARN, "order.discrepancy", "%s", detail);
        pgw_store_submit(d->store, txn, pgw__settle_recorded, s);
        pgw_order_clear(&o);
        return;
    }
    if (o.status == PGW_ST_ACCEPTED) {
        /* evidence for an order whose send has not been committed yet cannot
         * be about our send; record it and let the send proceed */
        pgw_order_txn_discrepancy(d, txn, o.id, "early_evidence", "ACCEPTED",
                                  pgw_status_name(s->to), s->source,
                                  s->evidence);
        pgw_store_submit(d->store, txn, pgw__settle_recorded, s);
        pgw_order_clear(&o);
        return;
    }
    if (s->channel_trade_no && s->channel_trade_no[0]) {
        pgw_txn_add(txn, -1,
                    "UPDATE orders SET channel_trade_no = ? WHERE id = ?", "si",
                    s->channel_trade_no, o.id);
        snprintf(o.channel_trade_no, sizeof(o.channel_trade_no), "%s",
                 s->channel_trade_no);
    }
    if (s->to == PGW_ST_FAILED || s->to == PGW_ST_CLOSED) {
        pgw_txn_add(txn, -1,
                    "UPDATE orders SET voucher_status = CASE voucher_status"
                    " WHEN 'PENDING' THEN 'FAILED' ELSE voucher_status END,"
                    " fail_reason = COALESCE(fail_reason, ?) WHERE id = ?",
                    "si", s->reason, o.id);
    } else if (s->to == PGW_ST_SUCCESS) {
        /* a method with no buyer-facing credential (direct card, micropay)
         * settles its voucher with the payment: nothing is left to wait for */
        pgw_txn_add(txn, -1,
                    "UPDATE orders SET voucher_status = 'READY'"
                    " WHERE id = ? AND voucher_status = 'PENDING'", "i", o.id);
    }
    pgw_order_txn_transition(d, txn, &o, o.status, s->to, s->reason,
                             s->evidence);
    /* a final status takes the order out of the review queue */
    pgw_txn_add(txn, -1,
                "UPDATE review_queue SET cleared_at = ? WHERE order_id = ?"
                " AND cleared_at IS NULL", "ii", pgw_now_ms(), o.id);
    pgw_store_submit(d->store, txn, pgw__settle_done, s);
    pgw_order_clear(&o);
}


void
pgw_settle(struct pgw_daemon *d, int64_t order_id, enum pgw_status to,
           const char *reason, const char *evidence, const char *source,
           const char *channel_trade_no, pgw_settled_fn *then, void *arg)
{
    struct pgw__settle *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        if (then) {
            then(arg, PGW_ERR);
        }
        return;
    }
    s->d = d;
    s->order_id = order_id;
    s->to = to;
    s->reason = strdup(reason ? reason : "");
    s->evidence = evidence ? strdup(evidence) : NULL;
    s->source = strdup(source ? source : "");
    s->channel_trade_no = channel_trade_no ? strdup(channel_trade_no) : NULL;
    s->then = then;
    s->then_arg = arg;
    pgw__settle_run(s);
}


static enum pgw_status
pgw__final_of(enum pgw_class cls)
{
    switch (cls) {
    case PGW_CLASS_SUCCESS:
        return PGW_ST_SUCCESS;
    case PGW_CLASS_FAILED:
        return PGW_ST_FAILED;
    case PGW_CLASS_CLOSED:
        return PGW_ST_CLOSED;
    default:
        return PGW_ST_NONE;
    }
}


/* a micropay policy setting: paygwd.conf's `channel X micropay key v` wins */
static int64_t
pgw__mp_int(struct pgw_daemon *d, const char *channel, const json_t *policy,
            const char *key, int64_t def)
{
    struct pgw_channel_conf *c = pgw_config_channel(d->conf, channel);
    const json_t *v = c != NULL ? json_object_get(c->micropay, key) : NULL;

    return v != NULL ? (int64_t) json_integer_value(v)
                     : pgw_manifest_int(policy, key, def);
}


/* ---- pay ------------------------------------------------------------------- */

static void
pgw__commit_logged(void *arg, int rc, int failed_stmt)
{
    (void) failed_stmt;
    if (rc != PGW_OK) {
        pgw_log(PGW_LOG_ERROR, "store.write_failed", "%s: rc %d",
                (const char *) arg, rc);
    }
}


struct pgw__wake {
    struct pgw_daemon *d;
    int64_t order_id;
};


static void
pgw__wake_done(void *arg, int rc, int failed_stmt)
{
    struct pgw__wake *w = arg;

    (void) failed_stmt;
    if (rc == PGW_OK) {
        pgw_waiters_wake(w->d, w->order_id);
    }
    free(w);
}


static void
pgw__submit_and_wake(struct pgw_daemon *d, struct pgw_txn *txn, int64_t order_id)
{
    struct pgw__wake *w = malloc(sizeof(*w));

    if (w == NULL) {
        pgw_store_submit(d->store, txn, pgw__commit_logged, "wake");
        return;
    }
    w->d = d;
    w->order_id = order_id;
    pgw_store_submit(d->store, txn, pgw__wake_done, w);
}


/* No channel (left) for an order that never reached one: FAILED is safe. */
static void
pgw__fail_unsent(struct pgw_daemon *d, const struct pgw_order *o,
                 enum pgw_status from, const char *why)
{
    struct pgw_txn *txn = pgw_txn_new();
    char reason[512];

    if (txn == NULL) {
        return;
    }
    snprintf(reason, sizeof(reason), "NO_CHANNEL_AVAILABLE: %s", why);
    if (from == PGW_ST_PROCESSING) {
        /* guard: every attempt of this order is proven NOT_SENT */
        pgw_txn_add(txn, 0,
                    "UPDATE orders SET updated_at = updated_at WHERE id = ?"
                    " AND EXISTS (SELECT 1 FROM attempts WHERE order_id = ?"
                    " AND state <> 'NOT_SENT')",
                    "ii", o->id, o->id);
    }
    pgw_txn_add(txn, 1,
                "UPDATE orders SET voucher_status = 'FAILED', fail_reason = ?"
                " WHERE id = ?",
                "si", reason, o->id);
    pgw_order_txn_transition(d, txn, o, from, PGW_ST_FAILED, reason, why);
    pgw__submit_and_wake(d, txn, o->id);
}


static void pgw__pay_answered(void *arg, const struct pgw_http_result *res);


static void
pgw__pay_intent_done(void *arg, int rc, int failed_stmt)
{
    struct pgw_op *op = arg;

    (void) failed_stmt;
    if (rc != PGW_OK) {
        /* CONFLICT: another dispatcher owns this order's send; ERR: nothing
         * was committed, the ACCEPTED sweep will try again. Never send. */
        pgw_log(rc == PGW_CONFLICT ? PGW_LOG_INFO : PGW_LOG_ERROR,
                "pay.not_started", "order %lld: intent not committed (rc %d)",
                (long long) op->order_id, rc);
        pgw_op_free(op);
        return;
    }
    if (op->msg.credential != NULL) {
        /* a local credential was committed with the intent: nothing to send,
         * the buyer's client opens it and the query scheduler follows up */
        pgw_waiters_wake(op->d, op->order_id);
        pgw_op_free(op);
        return;
    }
    op->d->metrics.channel_sends++;
    if (pgw_op_send(op, 1, pgw__pay_answered) != PGW_OK) {
        /* the transport could not even queue it: nothing left this host */
        struct pgw_http_result res;
        memset(&res, 0, sizeof(res));
        res.sent = PGW_SENT_NOT_SENT;
        snprintf(res.error, sizeof(res.error), "transport refused the send");
        res.body = "";
        pgw__pay_answered(op, &res);
    }
}


static void
pgw__reroute_or_fail(struct pgw_daemon *d, int64_t order_id)
{
    pgw__send_pay(d, order_id, PGW_ST_PROCESSING);
}


static void
pgw__pay_answered(void *arg, const struct pgw_http_result *res)
{
    struct pgw_op *op = arg;
    struct pgw_daemon *d = op->d;
    struct pgw_outcome out;
    struct pgw_txn *txn;
    char evidence[512];
    enum pgw_status final;

    txn = pgw_op_interpret(op, res, &out, evidence, sizeof(evidence));
    if (txn == NULL) {
        pgw_op_free(op);
        return;
    }

    const char *trade_no = json_string_value(
        json_object_get(out.fields, "channel_trade_no"));

    if (out.cls == PGW_CLASS_NOT_SENT) {
        /* proven not to have reached the channel: another channel may try */
        pgw_store_submit(d->store, txn, pgw__commit_logged, "pay.not_sent");
        pgw_log(PGW_LOG_WARN, "pay.not_sent", "order %lld at %s: %s",
                (long long) op->order_id, op->channel, evidence);
        pgw__reroute_or_fail(d, op->order_id);
        pgw_outcome_clear(&out);
        pgw_op_free(op);
        return;
    }

    if (op->prepay && out.cls == PGW_CLASS_SUCCESS) {
        /* the prepay credential exists; the payment itself is still open */
        json_t *cred = json_object_get(out.fields, "credential");
        char *cred_text = cred ? json_dumps(cred, JSON_COMPACT) : NULL;
        /* -1: a voucher already settled must not roll back the record */
        pgw_txn_add(txn, -1,
                    "UPDATE orders SET voucher_status = 'READY', credential = ?,"
                    " channel_trade_no = COALESCE(?, channel_trade_no),"
                    " updated_at = ? WHERE id = ? AND voucher_status = 'PENDING'",
                    "ssii", cred_text, trade_no, pgw_now_ms(), op->order_id);
        free(cred_text);
        pgw__submit_and_wake(d, txn, op->order_id);
    } else {
        if (trade_no != NULL && trade_no[0] != '\0') {
            /* the channel's id of a pending payment: later queries need it
             * (PayPal's order id, Stripe's PaymentIntent id) */
            pgw_txn_add(txn, -1,
                        "UPDATE orders SET channel_trade_no ="
                        " COALESCE(channel_trade_no, ?) WHERE id = ?",
                        "si", trade_no, op->order_id);
        }
        final = pgw__final_of(out.cls);
        json_t *step = json_object_get(out.fields, "credential");
        if (step != NULL && final == PGW_ST_NONE) {
            /* a payment that needs the shopper first (a card's 3DS redirect):
             * the step is handed out as the voucher's credential; the order
             * stays PROCESSING (POST .../details, a query or the webhook) */
            char *step_text = json_dumps(step, JSON_COMPACT);
            pgw_txn_add(txn, -1,
                        "UPDATE orders SET voucher_status = 'READY',"
                        " credential = ? WHERE id = ? AND voucher_status ="
                        " 'PENDING' AND status = 'PROCESSING'",
                        "si", step_text, op->order_id);
            free(step_text);
            pgw__submit_and_wake(d, txn, op->order_id);
        } else {
            pgw_store_submit(d->store, txn, pgw__commit_logged, "pay.answer");
        }
        if (final != PGW_ST_NONE && !(op->prepay && final == PGW_ST_SUCCESS)) {
            char reason[256];
            snprintf(reason, sizeof(reason), "pay answer %s", out.code);
            pgw_settle(d, op->order_id, final, reason, evidence, "pay",
                       trade_no, NULL, NULL);
        }
        /* PROCESSING / NOT_FOUND: the query scheduler settles it */
    }
    pgw_outcome_clear(&out);
    pgw_op_free(op);
}


static int
pgw__tried_channels(struct pgw_daemon *d, int64_t order_id,
                    char tried[][32], const char **list)
{
    sqlite3_stmt *st = pgw_store_query(d->store,
                                       "SELECT DISTINCT channel FROM attempts"
                                       " WHERE order_id = ? AND op = 'pay'",
                                       "i", order_id);
    int n = 0;

    while (st && n < PGW__MAX_TRIED && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(tried[n], 32, "%s", pgw_col_text(st, 0));
        list[n] = tried[n];
        n++;
    }
    if (st) {
        sqlite3_reset(st);
    }
    list[n] = NULL;
    return n;
}


static void
pgw__send_pay(struct pgw_daemon *d, int64_t order_id, enum pgw_status from)
{
    struct pgw_order o;
    char tried[PGW__MAX_TRIED][32], why[256] = "no eligible channel", err[512];
    char decision[512] = "";
    const char *excluded[PGW__MAX_TRIED + 1];
    struct pgw_route_query q;
    struct pgw_op *op;
    struct pgw_txn *txn;

    if (pgw_order_load_by_id(d, order_id, &o) != PGW_OK) {
        return;
    }
    if (o.status != from) {
        pgw_order_clear(&o);
        return;
    }
    pgw__tried_channels(d, order_id, tried, excluded);

    for (;;) {
        char channel[32];
        int n;

        memset(&q, 0, sizeof(q));
        q.method = o.method;
        q.currency = o.currency;
        q.amount = o.amount;
        /* the caller's channel choice is in the stored request */
        sqlite3_stmt *st = pgw_store_query(d->store,
                                           "SELECT json_extract(request,"
                                           " '$.channel'), json_extract("
                                           "request, '$.bank_code')"
                                           " FROM orders WHERE id = ?",
                                           "i", order_id);
        char wanted[32] = "", bank[32] = "";
        if (st && sqlite3_step(st) == SQLITE_ROW) {
            if (sqlite3_column_type(st, 0) == SQLITE_TEXT) {
                snprintf(wanted, sizeof(wanted), "%s", pgw_col_text(st, 0));
            }
            if (sqlite3_column_type(st, 1) == SQLITE_TEXT) {
                snprintf(bank, sizeof(bank), "%s", pgw_col_text(st, 1));
            }
        }
        if (st) {
            sqlite3_reset(st);
        }
        q.channel = wanted[0] ? wanted : NULL;
        q.bank_code = bank[0] ? bank : NULL;
        q.excluded = excluded;
        q.app_id = o.app_id;
        q.decision = decision;
        q.decisionlen = sizeof(decision);
        if (pgw_route_pick(d, &q, channel, sizeof(channel), why, sizeof(why))
            != PGW_OK) {
            pgw__fail_unsent(d, &o, from, why);
            pgw_order_clear(&o);
            return;
        }

        op = pgw_op_new(d, order_id, "pay", channel);
        if (op == NULL) {
            pgw_order_clear(&o);
            return;
        }
        enum pgw_auth_state auth = pgw_auth_prepare(d, op->pack, err,
                                                    sizeof(err));
        if (auth == PGW_AUTH_PENDING && from == PGW_ST_ACCEPTED) {
            /* nothing sent yet: the order waits for the channel's first
             * token (dispatched again when it arrives, or by the sweep) */
            pgw_op_free(op);
            pgw_order_clear(&o);
            return;
        }
        snprintf(o.channel, sizeof(o.channel), "%s", channel);
        op->prepay = pgw_manifest_is_prepay(pgw_pack_manifest(op->pack),
                                            o.method);
        if (auth == PGW_AUTH_READY
            && pgw_op_build(op, &o, err, sizeof(err)) == PGW_OK) {
            break;
        }
        if (auth != PGW_AUTH_READY) {
            /* no token, so nothing was built or sent: try another channel */
            pgw_log(PGW_LOG_WARN, "pay.no_token", "order %lld: %s",
                    (long long) order_id, err);
        } else {
            /* the pack could not build it: nothing was sent; alert, try
             * another */
            pgw_log(PGW_LOG_ERROR, "pack.build_failed", "%s pay: %s", channel,
                    err);
            txn = pgw_txn_new();
            if (txn) {
                pgw_order_txn_discrepancy(d, txn, order_id, "pack_error", NULL,
                                          NULL, channel, err);
                pgw_store_submit(d->store, txn, NULL, NULL);
            }
        }
        n = 0;
        while (excluded[n]) {
            n++;
        }
        if (n >= PGW__MAX_TRIED) {
            pgw_op_free(op);
            pgw__fail_unsent(d, &o, from, err);
            pgw_order_clear(&o);
            return;
        }
        snprintf(tried[n], 32, "%s", channel);
        excluded[n] = tried[n];
        excluded[n + 1] = NULL;
        snprintf(why, sizeof(why), "%s: %.200s", channel, err);
        pgw_op_free(op);
    }

    /* commit the intent: the CAS (or the ownership guard on a reroute), the
     * SENDING attempt and the outgoing message, before anything is sent */
    int64_t now = pgw_now_ms();
    const json_t *man = pgw_pack_manifest(op->pack);
    txn = pgw_txn_new();
    if (txn == NULL) {
        pgw_op_free(op);
        pgw_order_clear(&o);
        return;
    }
    op->attempt_id = pgw_store_next_id(d->store, "attempts");
    if (from == PGW_ST_ACCEPTED) {
        char reason[64];
        snprintf(reason, sizeof(reason), "sending pay to %s", op->channel);
        pgw_order_txn_transition(d, txn, &o, PGW_ST_ACCEPTED,
                                 PGW_ST_PROCESSING, reason, NULL);
    } else {
        /* reroute: only while no attempt of this order is still open */
        pgw_txn_add(txn, 0,
                    "UPDATE orders SET updated_at = updated_at WHERE id = ?"
                    " AND EXISTS (SELECT 1 FROM attempts WHERE order_id = ?"
                    " AND state <> 'NOT_SENT')",
                    "ii", o.id, o.id);
    }
    const json_t *mp = pgw_micropay_policy(man, o.method);
    int64_t first = mp != NULL
                    ? pgw__mp_int(d, op->channel, mp, "poll_ms", 5000)
                    : pgw_channel_first_query_delay(d, op->channel, man);
    pgw_txn_add(txn, 1,
                "UPDATE orders SET channel = ?, pack_version = ?,"
                " next_query_at = ?, updated_at = ?"
                " WHERE id = ? AND status = 'PROCESSING'",
                "ssiii", op->channel, pgw_pack_version(op->pack),
                now + first, now, o.id);
    /* a local credential is never sent: the attempt is LOCAL at once (it
     * still counts as possibly used, so the order is never rerouted) */
    pgw_txn_add(txn, 1,
                "INSERT INTO attempts (id, order_id, op, channel, pack_version,"
                " state, started_at, finished_at) VALUES (?, ?, 'pay', ?, ?, ?,"
                " ?, CASE WHEN ? = 'LOCAL' THEN ? END)",
                "iisssisi", op->attempt_id, o.id, op->channel,
                pgw_pack_version(op->pack),
                op->msg.credential ? "LOCAL" : "SENDING", now,
                op->msg.credential ? "LOCAL" : "SENDING", now);
    /* why this channel (docs/routing.md), in the same commit as the intent */
    pgw_txn_add(txn, 1,
                "INSERT INTO order_routes (attempt_id, order_id, channel,"
                " reason, at) VALUES (?, ?, ?, ?, ?)",
                "iissi", op->attempt_id, o.id, op->channel,
                decision[0] ? decision : op->channel, now);
    pgw_order_txn_message(d, txn, o.id, op->attempt_id, op->channel,
                          op->msg.credential ? "credential" : "request",
                          "pay", 0, op->msg.masked ? op->msg.masked : "",
                          op->msg.credential ? "built locally, not sent"
                                             : op->msg.url);
    if (op->msg.credential != NULL) {
        char *cred_text = json_dumps(op->msg.credential, JSON_COMPACT);

        pgw_txn_add(txn, 1,
                    "UPDATE orders SET voucher_status = 'READY', credential = ?"
                    " WHERE id = ? AND voucher_status = 'PENDING'",
                    "si", cred_text, o.id);
        free(cred_text);
    }
    pgw_store_submit(d->store, txn, pgw__pay_intent_done, op);
    pgw_order_clear(&o);
}


void
pgw_dispatch_pay(struct pgw_daemon *d, int64_t order_id)
{
    pgw__send_pay(d, order_id, PGW_ST_ACCEPTED);
}


/* ---- query ----------------------------------------------------------------- */

static void pgw__query_answered(void *arg, const struct pgw_http_result *res);
static int pgw__channel_op(struct pgw_daemon *d, int64_t order_id,
                           const char *opname, int64_t next_at, int count,
                           const json_t *details, char *err_out);
static int64_t pgw__count(struct pgw_daemon *d, const char *sql,
                          int64_t order_id, const char *arg);


#define PGW__QUERY_CONCURRENCY 32
#define PGW__CLOSE_MAX 3
#define PGW__QUERY_MAX 100


/* payment queries and closes in flight per channel: a hung channel holds at
 * most its query_concurrency of them, never the others' room */
static void
pgw__inflight_add(struct pgw_daemon *d, const char *channel, int delta)
{
    json_t *n;

    d->queries_in_flight += delta;
    if (d->queries_by_channel == NULL
        && (d->queries_by_channel = json_object()) == NULL) {
        return;
    }
    n = json_object_get(d->queries_by_channel, channel);
    if (n == NULL) {
        json_object_set_new(d->queries_by_channel, channel,
                            json_integer(delta > 0 ? delta : 0));
    } else {
        json_int_t v = json_integer_value(n) + delta;
        json_integer_set(n, v > 0 ? v : 0);
    }
}


int
pgw_dispatch_query_room(struct pgw_daemon *d, const char *channel)
{
    struct pgw_channel_conf *c = pgw_config_channel(d->conf, channel);
    int64_t cap = c != NULL && c->query_concurrency > 0
                      ? c->query_concurrency : PGW__QUERY_CONCURRENCY;
    int64_t busy = json_integer_value(json_object_get(d->queries_by_channel,
                                                      channel));

    return busy >= cap ? 0 : (int) (cap - busy);
}


static int64_t
pgw__query_max(struct pgw_daemon *d, const char *channel, const json_t *man)
{
    struct pgw_channel_conf *c = pgw_config_channel(d->conf, channel);

    if (c != NULL && c->query_max > 0) {
        return c->query_max;
    }
    return pgw_manifest_int(man, "query_max", PGW__QUERY_MAX);
}


static void
pgw__query_intent_done(void *arg, int rc, int failed_stmt)
{
    struct pgw_op *op = arg;

    (void) failed_stmt;
    if (rc != PGW_OK) {
        pgw__inflight_add(op->d, op->channel, -1);
        pgw_op_free(op);
        return;
    }
    op->d->metrics.queries++;
    if (pgw_op_send(op, 0, pgw__query_answered) != PGW_OK) {
        pgw__inflight_add(op->d, op->channel, -1);
        pgw_op_free(op);
    }
}


static void
pgw__query_answered(void *arg, const struct pgw_http_result *res)
{
    struct pgw_op *op = arg;
    struct pgw_daemon *d = op->d;
    struct pgw_outcome out;
    struct pgw_txn *txn;
    struct pgw_order o;
    char evidence[512];

    pgw__inflight_add(d, op->channel, -1);
    txn = pgw_op_interpret(op, res, &out, evidence, sizeof(evidence));
    if (txn == NULL) {
        pgw_op_free(op);
        return;
    }

    const char *trade_no = json_string_value(
        json_object_get(out.fields, "channel_trade_no"));
    enum pgw_status final = pgw__final_of(out.cls);
    char reason[256];
    snprintf(reason, sizeof(reason), "%s answer %s", op->op, out.code);

    const char *next_op = json_string_value(json_object_get(out.fields,
                                                             "next_op"));
    int follow = strcmp(op->op, "query") == 0 && final == PGW_ST_NONE
                 && next_op != NULL && strcmp(next_op, "capture") == 0;

    int details = strcmp(op->op, "details") == 0;

    if (details) {
        /* the shopper's next leg: a final answer settles the order like a
         * pay answer; an action is the next step, handed out as the voucher's
         * credential; anything else leaves the voucher waiting (the queries or
         * the webhook settle the order) -- except NOT_SENT: the leg never
         * reached the channel, the caller may send it again */
        json_t *cred = json_object_get(out.fields, "credential");
        if (final == PGW_ST_NONE && (cred != NULL || out.cls == PGW_CLASS_NOT_SENT)) {
            char *cred_text = cred ? json_dumps(cred, JSON_COMPACT) : NULL;
            pgw_txn_add(txn, -1,
                        "UPDATE orders SET voucher_status = 'READY',"
                        " credential = ? WHERE id = ? AND voucher_status ="
                        " 'PENDING' AND status = 'PROCESSING'",
                        "si", cred_text, op->order_id);
            free(cred_text);
        }
    } else if (strcmp(op->op, "query") != 0 && strcmp(op->op, "capture") != 0) {
        /* a close, cancel or reverse only proves CLOSED when the channel
         * confirms it; anything else leaves the order to the queries */
        final = out.cls == PGW_CLASS_SUCCESS ? PGW_ST_CLOSED : PGW_ST_NONE;
    } else if (out.cls == PGW_CLASS_NOT_FOUND
               && pgw_order_load_by_id(d, op->order_id, &o) == PGW_OK) {
        /* "no such order" is not a failure, and after the credential's
         * expiry not a close either: the order stays PROCESSING, an alert
         * once it has lasted not_found_alert_s; only the channel's confirmed
         * close (pgw_dispatch_query after expiry) makes it CLOSED */
        int64_t now = pgw_now_ms();
        if (o.not_found_since == 0) {
            pgw_txn_add(txn, -1,
                        "UPDATE orders SET not_found_since = ? WHERE id = ?",
                        "ii", now, o.id);
        } else if (now - o.not_found_since
                       >= d->conf->not_found_alert_s * 1000
                   && pgw__count(d, "SELECT COUNT(*) FROM discrepancies"
                                    " WHERE order_id = ? AND kind = ?",
                                 o.id, "not_found_alert") == 0) {
            char detail[160];
            snprintf(detail, sizeof(detail), "channel has said the order does"
                     " not exist for %lld s", (long long) ((now
                     - o.not_found_since) / 1000));
            pgw_order_txn_discrepancy(d, txn, o.id, "not_found_alert",
                                      pgw_status_name(o.status), "NOT_FOUND",
                                      out.code, detail);
            pgw_log(PGW_LOG_WARN, "order.not_found_alert", "order %lld: %s",
                    (long long) o.id, detail);
        }
        pgw_order_clear(&o);
    } else if (strcmp(op->op, "query") == 0 && res->sent == PGW_SENT_ANSWERED
               && res->status >= 200 && res->status < 300
               && out.cls == PGW_CLASS_PROCESSING && out.code[0] != '\0'
               && out.error[0] == '\0' && !out.unmapped) {
        /* the channel knows the order (a listed in-progress code, not an
         * error or an unknown answer): the not-found age restarts */
        pgw_txn_add(txn, -1,
                    "UPDATE orders SET not_found_since = NULL WHERE id = ?"
                    " AND not_found_since IS NOT NULL", "i", op->order_id);
    }
    if (details && final == PGW_ST_NONE) {
        pgw__submit_and_wake(d, txn, op->order_id);   /* the parked POST */
    } else {
        pgw_store_submit(d->store, txn, pgw__commit_logged, "query.answer");
    }
    if (final != PGW_ST_NONE) {
        pgw_settle(d, op->order_id, final, reason, evidence, op->op, trade_no,
                   NULL, NULL);
    } else if (follow
               && pgw__count(d, "SELECT COUNT(*) FROM attempts WHERE"
                                " order_id = ? AND op = ? AND (class IS NULL"
                                " OR class <> 'NOT_SENT')",
                             op->order_id, next_op) == 0) {
        /* the buyer approved (PayPal APPROVED): the pack asks for the step
         * that moves the money. Once per order unless every earlier one is
         * proven not to have acted (rejected-before-processing): an unknown
         * capture is settled by the queries, never sent again. */
        pgw_log(PGW_LOG_INFO, "order.follow_up", "order %lld: %s after %s",
                (long long) op->order_id, next_op, out.code);
        pgw__channel_op(d, op->order_id, next_op, 0, 0, NULL, NULL);
    }
    pgw_outcome_clear(&out);
    pgw_op_free(op);
}


/* Runs opname on a PROCESSING order's channel. next_at > 0 moves the order's
 * next query time in the same commit as the attempt, so a slow answer is not
 * followed by a second op (count: also counts it as a query). */
static int
pgw__channel_op(struct pgw_daemon *d, int64_t order_id, const char *opname,
                int64_t next_at, int count, const json_t *details,
                char *err_out)
{
    struct pgw_order o;
    struct pgw_op *op;
    struct pgw_txn *txn;
    char err[512];
    int rc_build;
    int64_t now = pgw_now_ms();

    if (err_out != NULL) {
        snprintf(err_out, 512, "the order is not PROCESSING at a channel");
    }
    if (pgw_order_load_by_id(d, order_id, &o) != PGW_OK) {
        return PGW_ERR;
    }
    if (o.status != PGW_ST_PROCESSING || o.channel[0] == '\0') {
        pgw_order_clear(&o);
        return PGW_ERR;
    }
    op = pgw_op_new(d, order_id, opname, o.channel);
    if (op == NULL) {
        pgw_order_clear(&o);
        return PGW_ERR;
    }
    if (pgw_auth_prepare(d, op->pack, err, sizeof(err)) != PGW_AUTH_READY) {
        /* nothing committed: the order is picked up again next tick */
        if (err_out != NULL) {
            snprintf(err_out, 512, "%s has no access token yet; try again", o.channel);
        }
        pgw_op_free(op);
        pgw_order_clear(&o);
        return PGW_ERR;
    }
    txn = pgw_txn_new();
    if (txn == NULL) {
        pgw_op_free(op);
        pgw_order_clear(&o);
        return PGW_ERR;
    }
    if (next_at > 0) {
        pgw_txn_add(txn, -1,
                    "UPDATE orders SET query_count = query_count + ?,"
                    " next_query_at = ? WHERE id = ? AND status = 'PROCESSING'",
                    "iii", (int64_t) (count != 0), next_at, o.id);
    }
    if (details != NULL) {
        /* the shopper's next leg (POST /v1/payments/{no}/details): the voucher
         * waits for what this answer brings -- the next step or the outcome */
        json_t *oj = pgw_order_pack_json(d, &o);
        if (oj != NULL) {
            json_object_set(oj, "details", (json_t *) details);
        }
        rc_build = pgw_op_build_json(op, oj, err, sizeof(err));
    } else {
        rc_build = pgw_op_build(op, &o, err, sizeof(err));
    }
    if (rc_build != PGW_OK
        || (op->msg.credential != NULL
            && snprintf(err, sizeof(err), "%s built a local credential; only"
                        " pay may", opname) > 0)) {
        pgw_log(PGW_LOG_ERROR, "pack.build_failed", "%s %s: %s", o.channel,
                opname, err);
        pgw_order_txn_discrepancy(d, txn, o.id, "pack_error",
                                  pgw_status_name(o.status), NULL, o.channel,
                                  err);
        pgw_store_submit(d->store, txn, NULL, NULL);
        if (err_out != NULL) {
            snprintf(err_out, 512, "%s", err);
        }
        pgw_op_free(op);
        pgw_order_clear(&o);
        return PGW_ERR;
    }
    if (details != NULL) {
        pgw_txn_add(txn, -1,
                    "UPDATE orders SET voucher_status = 'PENDING',"
                    " credential = NULL WHERE id = ? AND status = 'PROCESSING'",
                    "i", o.id);
    }
    op->attempt_id = pgw_store_next_id(d->store, "attempts");
    pgw_txn_add(txn, 1,
                "INSERT INTO attempts (id, order_id, op, channel, pack_version,"
                " state, started_at) VALUES (?, ?, ?, ?, ?, 'SENDING', ?)",
                "iisssi", op->attempt_id, o.id, opname, o.channel,
                pgw_pack_version(op->pack), now);
    pgw_order_txn_message(d, txn, o.id, op->attempt_id, o.channel, "request",
                          opname, 0, op->msg.masked ? op->msg.masked : "",
                          op->msg.url);
    pgw__inflight_add(d, o.channel, 1);
    pgw_store_submit(d->store, txn, pgw__query_intent_done, op);
    pgw_order_clear(&o);
    return PGW_OK;
}


/* ---- micropay: query while the buyer confirms, then reverse -------------- */

static int64_t
pgw__count(struct pgw_daemon *d, const char *sql, int64_t order_id,
           const char *arg)
{
    sqlite3_stmt *st = pgw_store_query(d->store, sql, "is", order_id, arg);
    int64_t n = 0;

    if (st && sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
    }
    if (st) {
        sqlite3_reset(st);
    }
    return n;
}


static const char *
pgw__reverse_op(const json_t *policy)
{
    const char *op = json_string_value(json_object_get(policy, "reverse_op"));

    return op != NULL ? op : "cancel";
}


/* The step due for a micropay order: a query every poll_ms until
 * give_up_after_ms after the pay was sent, then the channel's reverse (never
 * before reverse_not_before_ms), repeated every reverse_retry_ms while its
 * answer is not final, at most reverse_max times; then an alert, and plain
 * queries on the channel's backoff. A reverse that is not confirmed changes
 * nothing: the order stays PROCESSING. */
static void
pgw__micropay_step(struct pgw_daemon *d, const struct pgw_order *o,
                   const json_t *man, const json_t *policy)
{
    int64_t now = pgw_now_ms();
    int64_t sent = pgw__count(d, "SELECT MIN(started_at) FROM attempts"
                                 " WHERE order_id = ? AND op = ?",
                              o->id, "pay");
    int64_t give_up = pgw__mp_int(d, o->channel, policy, "give_up_after_ms", 30000);
    int64_t not_before = pgw__mp_int(d, o->channel, policy, "reverse_not_before_ms", 0);
    int64_t max = pgw__mp_int(d, o->channel, policy, "reverse_max", 5);
    const char *reverse = pgw__reverse_op(policy);
    int64_t reversed;

    if (give_up < not_before) {
        give_up = not_before;
    }
    if (sent == 0 || now < sent + give_up) {
        pgw__channel_op(d, o->id, "query",
                        now + pgw__mp_int(d, o->channel, policy, "poll_ms", 5000),
                        1, NULL, NULL);
        return;
    }
    reversed = pgw__count(d, "SELECT COUNT(*) FROM attempts WHERE order_id = ?"
                             " AND op = ?", o->id, reverse);
    if (reversed < max) {
        pgw_log(PGW_LOG_INFO, "micropay.reverse",
                "order %lld: not paid %lld ms after the pay, %s #%lld",
                (long long) o->id, (long long) (now - sent), reverse,
                (long long) reversed + 1);
        pgw__channel_op(d, o->id, reverse,
                        now + pgw__mp_int(d, o->channel, policy,
                                          "reverse_retry_ms", 5000),
                        0, NULL, NULL);
        return;
    }
    if (pgw__count(d, "SELECT COUNT(*) FROM discrepancies WHERE order_id = ?"
                      " AND kind = ?", o->id, "reverse_unconfirmed") == 0) {
        struct pgw_txn *txn = pgw_txn_new();
        char detail[256];

        snprintf(detail, sizeof(detail), "%lld %s calls left the micropay"
                 " unconfirmed; querying on the channel's backoff",
                 (long long) reversed, reverse);
        if (txn != NULL) {
            /* the buyer may have paid after all: a person looks at it (the
             * review queue), while the queries go on */
            pgw_txn_add(txn, -1,
                        "INSERT OR IGNORE INTO review_queue (order_id, since,"
                        " reason) VALUES (?, ?, ?)", "iis", o->id, now,
                        "micropay reverse unconfirmed");
            pgw_order_txn_discrepancy(d, txn, o->id, "reverse_unconfirmed",
                                      pgw_status_name(o->status), NULL,
                                      reverse, detail);
            pgw_store_submit(d->store, txn, pgw__commit_logged, "micropay");
        }
        pgw_log(PGW_LOG_WARN, "micropay.reverse_unconfirmed", "order %lld: %s",
                (long long) o->id, detail);
    }
    pgw__channel_op(d, o->id, "query",
                    now + pgw_channel_query_backoff(d, o->channel, man,
                                                    o->query_count), 1, NULL, NULL);
}


/* the schedule is exhausted: the order enters the review queue with an
 * alert, once; it stays PROCESSING and is still queried */
static void
pgw__to_review(struct pgw_daemon *d, const struct pgw_order *o)
{
    struct pgw_txn *txn = pgw_txn_new();
    char detail[200];

    if (txn == NULL) {
        return;
    }
    snprintf(detail, sizeof(detail), "still PROCESSING after %lld scheduled"
             " queries at %s; querying on at the schedule's last step",
             (long long) o->query_count, o->channel);
    pgw_txn_add(txn, 1,
                "INSERT INTO review_queue (order_id, since, reason)"
                " VALUES (?, ?, ?)", "iis", o->id, pgw_now_ms(),
                "query schedule exhausted");
    pgw_order_txn_discrepancy(d, txn, o->id, "review",
                              pgw_status_name(o->status), NULL, o->channel,
                              detail);
    pgw_store_submit(d->store, txn, pgw__commit_logged, "review");
    pgw_log(PGW_LOG_WARN, "order.review", "order %lld: %s", (long long) o->id,
            detail);
}


void
pgw_dispatch_query(struct pgw_daemon *d, int64_t order_id)
{
    struct pgw_order o;
    const struct pgw_pack *pack;
    const json_t *man, *policy;

    if (pgw_order_load_by_id(d, order_id, &o) != PGW_OK) {
        return;
    }
    pack = o.channel[0] ? pgw_packs_get(d->packs, o.channel) : NULL;
    man = pack ? pgw_pack_manifest(pack) : NULL;
    policy = man ? pgw_micropay_policy(man, o.method) : NULL;
    if (o.status != PGW_ST_PROCESSING || man == NULL) {
        /* pgw__channel_op says nothing for these either */
    } else if (policy != NULL) {
        pgw__micropay_step(d, &o, man, policy);
    } else {
        struct pgw_query_state qs;
        struct pgw_query_plan plan;
        int64_t now = pgw_now_ms();
        sqlite3_stmt *st;

        memset(&qs, 0, sizeof(qs));
        qs.now = now;
        qs.created_at = o.created_at;
        qs.expire_seconds = o.expire_seconds;
        qs.expiry_grace_s = d->conf->expiry_grace_s;
        qs.query_count = o.query_count;
        qs.query_max = pgw__query_max(d, o.channel, man);
        qs.close_max = PGW__CLOSE_MAX;
        qs.closes = pgw__count(d, "SELECT COUNT(*) FROM attempts WHERE"
                                  " order_id = ? AND op = ? AND (class IS NULL"
                                  " OR class <> 'NOT_SENT')", o.id, "close");
        st = pgw_store_query(d->store, "SELECT op FROM attempts WHERE"
                                       " order_id = ? AND op <> 'pay'"
                                       " ORDER BY id DESC LIMIT 1", "i", o.id);
        if (st && sqlite3_step(st) == SQLITE_ROW) {
            qs.last_was_close = strcmp(pgw_col_text(st, 0), "close") == 0;
        }
        if (st) {
            sqlite3_reset(st);
        }
        qs.in_review = pgw__count(d, "SELECT COUNT(*) FROM review_queue WHERE"
                                     " order_id = ? AND reason <> ?", o.id, "") > 0;
        pgw_query_plan(&qs, &plan);
        if (plan.to_review) {
            pgw__to_review(d, &o);
        }
        if (!plan.counts) {
            pgw_log(PGW_LOG_INFO, "order.expired_close", "order %lld: expired"
                    " unpaid, asking %s to close it (#%lld)", (long long) o.id,
                    o.channel, (long long) qs.closes + 1);
        }
        /* the next step is the backoff's (its last one repeats) */
        pgw__channel_op(d, order_id, plan.op,
                        now + pgw_channel_query_backoff(d, o.channel, man,
                                                        o.query_count),
                        plan.counts, NULL, NULL);
    }
    pgw_order_clear(&o);
}


/* ?refresh=true: one query now, outside the schedule (neither counted nor
 * moving next_query_at) */
void
pgw_dispatch_refresh(struct pgw_daemon *d, int64_t order_id)
{
    pgw__channel_op(d, order_id, "query", 0, 0, NULL, NULL);
}


int
pgw_dispatch_details(struct pgw_daemon *d, int64_t order_id,
                     const json_t *details, char *err, size_t errlen)
{
    char why[512];
    int rc = pgw__channel_op(d, order_id, "details", 0, 0, details, why);

    if (rc != PGW_OK) {
        snprintf(err, errlen, "%s", why);
    }
    return rc;
}


void
pgw_dispatch_close(struct pgw_daemon *d, int64_t order_id)
{
    struct pgw_order o;
    const struct pgw_pack *pack;
    const json_t *policy = NULL;

    if (pgw_order_load_by_id(d, order_id, &o) != PGW_OK) {
        return;
    }
    pack = o.channel[0] ? pgw_packs_get(d->packs, o.channel) : NULL;
    if (pack != NULL) {
        policy = pgw_micropay_policy(pgw_pack_manifest(pack), o.method);
    }
    /* a micropay is not closed but reversed (WeChat: closeorder refuses a
     * micropay; Alipay: cancel also refunds one the buyer just paid) */
    pgw__channel_op(d, order_id, policy ? pgw__reverse_op(policy) : "close", 0,
                    0, NULL, NULL);
    pgw_order_clear(&o);
}
