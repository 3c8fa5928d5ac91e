/*
 * pgw_notify_in.c — applies a channel's asynchronous notification.
 *
 * Order of checks: the channel has a pack; the pack verifies the signature over
 * the raw body (else: recorded as forged with an alert, a 4xx with the pack's
 * rejection ack, no change); the order exists at that channel; the amount,
 * the currency and the channel's trade number (when the notify carries them
 * and, for the trade number, once the order is final) match the order (else: a
 * discrepancy, no change). Only then is the class applied with pgw_settle —
 * a duplicate is a no-op, a contrary result after a final one is a
 * discrepancy. A SUCCESS above the channel's notify_confirm_above amount is
 * kept as evidence and confirmed by a query (brought forward to now) before
 * the order is final. The channel's expected ack is sent only after the
 * evidence is durably recorded.
 * A notify whose fields.kind is "refund" / "payout" names a refund / payout
 * (fields.out_refund_no / out_payout_no) at that channel; a final one is
 * applied to it the same way (pgw_xfer_settle), one that is not final makes
 * that row's next query due now (once its first was due).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_dispatch.h"
#include "pgw_http.h"
#include "pgw_log.h"
#include "pgw_notify_in.h"
#include "pgw_order.h"
#include "pgw_pack.h"
#include "pgw_store.h"
#include "pgw_xfer.h"


struct pgw__ack {
    struct pgw_daemon *d;
    struct evhttp_request *req;
    int status;
    char content_type[64];
    char *body;
    int64_t order_id;
    enum pgw_status to;
    char reason[160];
    char evidence[512];
    char trade_no[128];
    int xfer;                    /* 1 refund, 2 payout: order_id is its row */
};



/* the forged-notify alert throttle for notifies that name no order: 1 when
 * this one is recorded (*suppressed = how many were left out before it) */
#define PGW__FORGED_WINDOW_MS 10000
static struct {
    char channel[32];
    int64_t last_ms;
    int64_t suppressed;
} pgw__forged[64];

static int
pgw__forged_record(const char *channel, int64_t *suppressed)
{
    int64_t now = pgw_now_ms();
    size_t i, free_slot = sizeof(pgw__forged) / sizeof(pgw__forged[0]);

    *suppressed = 0;
    for (i = 0; i < sizeof(pgw__forged) / sizeof(pgw__forged[0]); i++) {
        if (pgw__forged[i].channel[0] == '\0') {
            free_slot = free_slot < i ? free_slot : i;
            continue;
        }
        if (strcmp(pgw__forged[i].channel, channel) != 0) {
            continue;
        }
        if (now - pgw__forged[i].last_ms < PGW__FORGED_WINDOW_MS) {
            pgw__forged[i].suppressed++;
            return 0;
        }
        *suppressed = pgw__forged[i].suppressed;
        pgw__forged[i].suppressed = 0;
        pgw__forged[i].last_ms = now;
        return 1;
    }
    if (free_slot < sizeof(pgw__forged) / sizeof(pgw__forged[0])) {
        snprintf(pgw__forged[free_slot].channel, sizeof(pgw__forged[0].channel),
                 "%s", channel);
        pgw__forged[free_slot].last_ms = now;
    }
    return 1;
}

static void
pgw__ack_send(void *arg, int rc)
{
    struct pgw__ack *a = arg;

    if (rc != PGW_OK) {
        /* not durably applied: make the channel send it again */
        pgw_http_text(a->req, 503, "text/plain", "retry", 5);
    } else {
        pgw_http_text(a->req, a->status, a->content_type,
                      a->body ? a->body : "", a->body ? strlen(a->body) : 0);
    }
    free(a->body);
    free(a);
}


/* the notify and its checks are recorded; apply the result, then ack */
static void
pgw__ack_done(void *arg, int rc, int failed_stmt)
{
    struct pgw__ack *a = arg;

    (void) failed_stmt;
    if (rc == PGW_OK && a->to != PGW_ST_NONE && a->xfer) {
        pgw_xfer_settle(a->d, a->xfer == 2, a->order_id, a->to, a->reason,
                        a->evidence, "notify",
                        a->trade_no[0] ? a->trade_no : NULL, pgw__ack_send, a);
        return;
    }
    if (rc == PGW_OK && a->to != PGW_ST_NONE) {
        pgw_settle(a->d, a->order_id, a->to, a->reason, a->evidence, "notify",
                   a->trade_no[0] ? a->trade_no : NULL, pgw__ack_send, a);
        return;
    }
    pgw__ack_send(a, rc == PGW_OK ? PGW_OK : PGW_ERR);
}


void
pgw_notify_in(struct pgw_daemon *d, struct evhttp_request *req,
              const char *channel)
{
    struct pgw_pack *pack;
    struct pgw_notify nt;
    struct pgw_order o;
    struct pgw_txn *txn;
    struct pgw__ack *a;
    size_t len;
    const char *body = pgw_http_body(req, &len);
    const char *ctype = pgw_http_header(req, "Content-Type");
    int have_order = 0;
    json_t *hdrs;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        pgw_http_error(req, 404, "NOT_FOUND", "notifications are POSTed");
        return;
    }
    pack = pgw_packs_get(d->packs, channel);
    if (pack == NULL) {
        pgw_http_error(req, 404, "NOT_FOUND", "no such channel");
        return;
    }
    pgw_pack_retain(pack);
    memset(&nt, 0, sizeof(nt));
    memset(&o, 0, sizeof(o));
    hdrs = pgw_http_headers(req);
    pgw_pack_notify(pack, ctype ? ctype : "", hdrs,
                    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)), body, len, &nt);
    json_decref(hdrs);

    txn = pgw_txn_new();
    a = calloc(1, sizeof(*a));
    if (txn == NULL || a == NULL) {
        pgw_txn_free(txn);
        free(a);
        pgw_http_text(req, 503, "text/plain", "retry", 5);
        goto done;
    }
    a->d = d;
    a->req = req;
    a->to = PGW_ST_NONE;
    a->status = nt.ack_status ? nt.ack_status : (nt.verified ? 200 : 400);
    snprintf(a->content_type, sizeof(a->content_type), "%s",
             nt.ack_content_type[0] ? nt.ack_content_type : "text/plain");
    a->body = strdup(nt.ack_body ? nt.ack_body : (nt.verified ? "" : "fail"));

    if (nt.hint) {
        /* an unsigned "go and look": it may only bring the order's next query
         * forward; nothing it says is applied */
        int hr = pgw_order_load_by_channel_no(d, channel, nt.out_trade_no, &o);

        have_order = hr == PGW_OK;
        pgw_order_txn_message(d, txn, have_order ? o.id : 0, 0, channel, "notify",
                              "notify", 0, nt.outcome.masked ? nt.outcome.masked : "",
                              have_order ? "HINT: query brought forward"
                                         : "HINT: unknown order, ignored");
        if (have_order) {
            pgw_txn_add(txn, -1,
                        "UPDATE orders SET next_query_at = ? WHERE id = ?"
                        " AND status = 'PROCESSING'", "ii", pgw_now_ms(), o.id);
        }
        pgw_store_submit(d->store, txn, pgw__ack_done, a);
        goto done;
    }
    if (!nt.verified) {
        d->metrics.notifies_rejected++;
        pgw_log(PGW_LOG_WARN, "notify.rejected", "%s: %s", channel,
                nt.outcome.error[0] ? nt.outcome.error : "signature invalid");
        /* forged (or broken) notifications are an alert: someone may be
         * trying to buy with a fake "paid" */
        int fr = nt.out_trade_no[0]
                     ? pgw_order_load_by_channel_no(d, channel, nt.out_trade_no,
                                                    &o)
                     : PGW_NOTFOUND;

        have_order = fr == PGW_OK;
        /* one naming an order is always recorded with it; those naming
         * none are recorded at most once per channel per 10 s, the next
         * record counting the ones left out, so a flood of forgeries cannot
         * fill the store (the metric counts every one) */
        char detail[320];
        int64_t suppressed = 0;
        if (have_order || pgw__forged_record(channel, &suppressed)) {
            snprintf(detail, sizeof(detail), "%.200s",
                     nt.outcome.error[0] ? nt.outcome.error : "signature invalid");
            if (suppressed) {
                snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
                         " (and %lld more unattached forged notifies since the"
                         " last alert)", (long long) suppressed);
            }
            pgw_order_txn_message(d, txn, have_order ? o.id : 0, 0, channel,
                                  "notify", "notify", 0,
                                  nt.outcome.masked ? nt.outcome.masked : "",
                                  "REJECTED: signature did not verify");
            pgw_order_txn_discrepancy(d, txn, have_order ? o.id : 0,
                                      "notify_forged",
                                      have_order ? pgw_status_name(o.status) : NULL,
                                      pgw_class_name(nt.outcome.cls),
                                      nt.outcome.code, detail);
        }
        if (a->status < 400) {
            a->status = 400;   /* never acknowledge what we did not verify */
        }
        pgw_store_submit(d->store, txn, pgw__ack_done, a);
        goto done;
    }
    d->metrics.notifies_verified++;
    if (nt.outcome.unmapped) {
        pgw_metrics_unmapped(d, channel, nt.outcome.code);
    }

    /* a refund / payout notify settles that refund / payout */
    const char *kind = json_string_value(json_object_get(nt.outcome.fields,
                                                         "kind"));
    if (kind && (strcmp(kind, "refund") == 0 || strcmp(kind, "payout") == 0)) {
        int payout = kind[0] == 'p';
        const char *xno = json_string_value(json_object_get(
            nt.outcome.fields, payout ? "out_payout_no" : "out_refund_no"));
        int64_t xid = 0, xamount = 0;
        const char *xcno = json_string_value(json_object_get(
            nt.outcome.fields, payout ? "channel_payout_no" : "channel_refund_no"));
        int xr = xno ? pgw_xfer_find(d, payout, channel, xno, &xid, &xamount)
                     : xcno ? pgw_xfer_find_by_channel_no(d, payout, channel, xcno,
                                                          &xid, &xamount)
                            : PGW_NOTFOUND;

        if (xno == NULL) {
            xno = xcno;
        }
        json_t *xam = json_object_get(nt.outcome.fields, "amount");
        char detail[200];

        pgw_order_txn_message(d, txn, 0, 0, channel, "notify", "notify", 0,
                              nt.outcome.masked ? nt.outcome.masked : "",
                              xr == PGW_OK ? (payout ? "verified payout"
                                                     : "verified refund")
                                           : "unknown refund/payout");
        if (xr != PGW_OK) {
            snprintf(detail, sizeof(detail), "%s %s", kind, xno ? xno : "-");
            pgw_order_txn_discrepancy(d, txn, 0, "notify_unknown_xfer", NULL,
                                      pgw_class_name(nt.outcome.cls),
                                      nt.outcome.code, detail);
        } else if (json_is_integer(xam) && json_integer_value(xam) != xamount) {
            snprintf(detail, sizeof(detail), "%s %s: notify amount %lld != %lld",
                     kind, xno, (long long) json_integer_value(xam),
                     (long long) xamount);
            pgw_order_txn_discrepancy(d, txn, 0, "xfer_amount_mismatch", NULL,
                                      pgw_class_name(nt.outcome.cls),
                                      nt.outcome.code, detail);
        } else {
            a->xfer = payout ? 2 : 1;
            a->order_id = xid;
            a->to = nt.outcome.cls == PGW_CLASS_SUCCESS  ? PGW_ST_SUCCESS
                    : nt.outcome.cls == PGW_CLASS_FAILED ? PGW_ST_FAILED
                                                         : PGW_ST_NONE;
            snprintf(a->reason, sizeof(a->reason), "notify %s",
                     nt.outcome.code);
            snprintf(a->evidence, sizeof(a->evidence), "class=%s code=%s",
                     pgw_class_name(nt.outcome.cls), nt.outcome.code);
            xno = json_string_value(json_object_get(
                nt.outcome.fields,
                payout ? "channel_payout_no" : "channel_refund_no"));
            snprintf(a->trade_no, sizeof(a->trade_no), "%s", xno ? xno : "");
            if (a->to == PGW_ST_NONE) {
                /* not final (WeChat's "batch finished" says each transfer's
                 * outcome can now be read): a hint to query now -- but never
                 * before the first query was due */
                int64_t now = pgw_now_ms();
                pgw_txn_add(txn, -1,
                            payout ? "UPDATE payouts SET next_query_at = ?"
                                     " WHERE id = ? AND status = 'PROCESSING'"
                                     " AND query_count > 0 AND next_query_at > ?"
                                   : "UPDATE refunds SET next_query_at = ?"
                                     " WHERE id = ? AND status = 'PROCESSING'"
                                     " AND query_count > 0 AND next_query_at > ?",
                            "iii", now, xid, now);
            }
        }
        pgw_store_submit(d->store, txn, pgw__ack_done, a);
        goto done;
    }

    int rc = pgw_order_load_by_channel_no(d, channel, nt.out_trade_no, &o);
    have_order = rc == PGW_OK;
    if (!have_order) {
        /* verified but not ours (or ambiguous): record, alert, ack so the
         * channel stops; nothing changes */
        pgw_order_txn_message(d, txn, 0, 0, channel, "notify", "notify", 0,
                              nt.outcome.masked ? nt.outcome.masked : "",
                              rc == PGW_CONFLICT ? "ambiguous out_trade_no"
                                                 : "unknown out_trade_no");
        pgw_order_txn_discrepancy(d, txn, 0, "notify_unknown_order", NULL,
                                  pgw_class_name(nt.outcome.cls),
                                  nt.outcome.code, nt.out_trade_no);
        pgw_store_submit(d->store, txn, pgw__ack_done, a);
        goto done;
    }
    pgw_order_txn_message(d, txn, o.id, 0, channel, "notify", "notify", 0,
                          nt.outcome.masked ? nt.outcome.masked : "", "verified");

    /* the notify must be about our order: amount, currency, trade number */
    char mismatch[256] = "";
    const char *kind_mm = NULL;
    json_t *amount = json_object_get(nt.outcome.fields, "amount");
    const char *cur = json_string_value(json_object_get(nt.outcome.fields,
                                                        "currency"));
    const char *ctn = json_string_value(json_object_get(nt.outcome.fields,
                                                        "channel_trade_no"));
    if (json_is_integer(amount) && json_integer_value(amount) != o.amount) {
        kind_mm = "amount_mismatch";
        snprintf(mismatch, sizeof(mismatch), "notify amount %lld != order %lld",
                 (long long) json_integer_value(amount), (long long) o.amount);
    } else if (cur != NULL && cur[0] && strcasecmp(cur, o.currency) != 0) {
        kind_mm = "currency_mismatch";
        snprintf(mismatch, sizeof(mismatch), "notify currency %.16s != order"
                 " %.16s", cur, o.currency);
    } else if (ctn != NULL && ctn[0] && o.channel_trade_no[0]
               && pgw_status_is_final(o.status)
               && strcmp(ctn, o.channel_trade_no) != 0) {
        /* only once final: ours is then the trade the settling evidence
         * named; before, a pack may hold another object's id (Razorpay: the
         * order's at prepay, the payment's in the notify) */
        kind_mm = "trade_no_mismatch";
        snprintf(mismatch, sizeof(mismatch), "notify channel trade no %.64s !="
                 " order's %.64s", ctn, o.channel_trade_no);
    }
    if (kind_mm != NULL) {
        pgw_order_txn_discrepancy(d, txn, o.id, kind_mm,
                                  pgw_status_name(o.status),
                                  pgw_class_name(nt.outcome.cls),
                                  nt.outcome.code, mismatch);
        pgw_log(PGW_LOG_WARN, "notify.mismatch", "order %lld: %s",
                (long long) o.id, mismatch);
        pgw_store_submit(d->store, txn, pgw__ack_done, a);
        goto done;
    }

    struct pgw_channel_conf *cc = pgw_config_channel(d->conf, channel);
    if (nt.outcome.cls == PGW_CLASS_SUCCESS && o.status == PGW_ST_PROCESSING
        && cc != NULL && cc->notify_confirm_above >= 0
        && o.amount > cc->notify_confirm_above) {
        /* a large SUCCESS is believed only from the channel's own query:
         * keep this as evidence (the message above), query now */
        pgw_order_txn_message(d, txn, o.id, 0, channel, "notify", "notify", 0,
                              "", "SUCCESS above notify_confirm_above:"
                              " confirming by a query before it is final");
        pgw_txn_add(txn, -1,
                    "UPDATE orders SET next_query_at = ? WHERE id = ?"
                    " AND status = 'PROCESSING'", "ii", pgw_now_ms(), o.id);
        pgw_log(PGW_LOG_INFO, "notify.confirm", "order %lld: amount %lld >"
                " %lld, confirming the SUCCESS notify by a query",
                (long long) o.id, (long long) o.amount,
                (long long) cc->notify_confirm_above);
        pgw_store_submit(d->store, txn, pgw__ack_done, a);
        goto done;
    }

    pgw_order_txn_keep(d, txn, o.id, json_object_get(nt.outcome.fields, "keep"));

    switch (nt.outcome.cls) {
    case PGW_CLASS_SUCCESS:
        a->to = PGW_ST_SUCCESS;
        break;
    case PGW_CLASS_FAILED:
        a->to = PGW_ST_FAILED;
        break;
    case PGW_CLASS_CLOSED:
        a->to = PGW_ST_CLOSED;
        break;
    default:
        a->to = PGW_ST_NONE;   /* in progress: nothing final to apply */
    }
    a->order_id = o.id;
    snprintf(a->reason, sizeof(a->reason), "notify %s", nt.outcome.code);
    snprintf(a->evidence, sizeof(a->evidence), "class=%s code=%s",
             pgw_class_name(nt.outcome.cls), nt.outcome.code);
    snprintf(a->trade_no, sizeof(a->trade_no), "%s",
             json_string_value(json_object_get(nt.outcome.fields,
                                               "channel_trade_no"))
                 ? json_string_value(json_object_get(nt.outcome.fields,
                                                     "channel_trade_no"))
                 : "");
    pgw_store_submit(d->store, txn, pgw__ack_done, a);

done:
    if (have_order) {
        pgw_order_clear(&o);
    }
    pgw_notify_clear(&nt);
    pgw_pack_release(pack);
}
