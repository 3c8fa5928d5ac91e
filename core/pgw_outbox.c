/*
 * pgw_outbox.c — caller notification delivery.
 *
 * A row is PENDING until a 2xx comes back (DELIVERED) or the schedule is
 * exhausted (GAVE_UP, which opens an alert; ops can re-push). The schedule:
 * the first attempt at once, then one retry after each notify_backoff delay
 * (n delays, n + 1 attempts; the default is 10 attempts over about 12 h).
 * Before a send the row's next_at moves forward by the next delay in the same
 * commit that counts the attempt, so a crash mid-send retries later instead
 * of never. Delivery is at-least-once: the caller dedupes on event_id.
 *
 * Per order (per payout) the rows go out strictly in the order they were
 * written: a row is eligible only while no older row of the same order is
 * still PENDING or GAVE_UP, so a newer status is never delivered before an
 * older one (a GAVE_UP row holds the newer ones until ops re-push it).
 * Two queues with the same columns: outbox (payments, refunds) and
 * payout_outbox (payouts, which have no order row); `payout` picks the table.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "pgw_apps.h"
#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_log.h"
#include "pgw_order.h"
#include "pgw_outbox.h"
#include "pgw_sign.h"
#include "pgw_store.h"
#include "pgw_transport.h"

#define PGW__OUTBOX_BATCH 64
#define PGW__OUTBOX_MAX_IN_FLIGHT 256


int64_t
pgw_outbox_delay_ms(const int64_t *backoff_ms, int n, int64_t attempt)
{
    /* after attempt k (1-based) comes delay k - 1; after the last attempt
     * the row is given up on an error, the last delay only bounds a crash */
    if (n <= 0) {
        return 60000;
    }
    if (attempt < 1) {
        attempt = 1;
    }
    return backoff_ms[attempt - 1 < n ? attempt - 1 : n - 1];
}


struct pgw__delivery {
    struct pgw_daemon *d;
    int payout;                  /* a payout_outbox row (order_id: payout) */
    int64_t id;
    int64_t order_id;
    int64_t attempts;            /* including this one */
};


static void
pgw__delivered(void *arg, const struct pgw_http_result *res)
{
    struct pgw__delivery *dl = arg;
    struct pgw_daemon *d = dl->d;
    struct pgw_txn *txn = pgw_txn_new();
    int64_t now = pgw_now_ms();
    int ok = res->sent == PGW_SENT_ANSWERED && res->status >= 200
             && res->status < 300;
    char err[300];

    d->outbox_in_flight--;
    if (txn == NULL) {
        free(dl);
        return;
    }
    snprintf(err, sizeof(err), "%s", ok ? "" : (res->error[0] ? res->error
                                                              : "non-2xx answer"));
    pgw_txn_add(txn, 1,
                dl->payout ? "INSERT INTO payout_outbox_tries (id, outbox_id,"
                             " http_status, error, at) VALUES (?, ?, ?, ?, ?)"
                           : "INSERT INTO outbox_tries (id, outbox_id,"
                             " http_status, error, at) VALUES (?, ?, ?, ?, ?)",
                "iiisi", pgw_store_next_id(d->store, dl->payout
                                                         ? "payout_outbox_tries"
                                                         : "outbox_tries"),
                dl->id, (int64_t) res->status, err, now);
    if (ok) {
        d->metrics.caller_notify_sent++;
        pgw_txn_add(txn, -1,
                    dl->payout ? "UPDATE payout_outbox SET state = 'DELIVERED',"
                                 " delivered_at = ?, last_error = NULL"
                                 " WHERE id = ? AND state = 'PENDING'"
                               : "UPDATE outbox SET state = 'DELIVERED',"
                                 " delivered_at = ?, last_error = NULL"
                                 " WHERE id = ? AND state = 'PENDING'",
                    "ii", now, dl->id);
    } else {
        d->metrics.caller_notify_failed++;
        if (dl->attempts > d->conf->n_notify_backoff) {
            pgw_txn_add(txn, -1,
                        dl->payout ? "UPDATE payout_outbox SET state = 'GAVE_UP',"
                                     " last_error = ? WHERE id = ?"
                                     " AND state = 'PENDING'"
                                   : "UPDATE outbox SET state = 'GAVE_UP',"
                                     " last_error = ? WHERE id = ?"
                                     " AND state = 'PENDING'",
                        "si", err, dl->id);
            pgw_order_txn_discrepancy(d, txn, dl->payout ? 0 : dl->order_id,
                                      dl->payout ? "payout_notify_gave_up"
                                                 : "notify_gave_up",
                                      NULL, NULL, NULL,
                                      "caller notification never acknowledged");
        } else {
            pgw_txn_add(txn, -1,
                        dl->payout ? "UPDATE payout_outbox SET last_error = ?"
                                     " WHERE id = ?"
                                   : "UPDATE outbox SET last_error = ?"
                                     " WHERE id = ?",
                        "si", err, dl->id);
        }
    }
    pgw_store_submit(d->store, txn, NULL, NULL);
    free(dl);
}


static void
pgw__send_one(struct pgw_daemon *d, sqlite3_stmt *st, int payout)
{
    const char *app_id = pgw_col_text(st, 1);
    const char *url = pgw_col_text(st, 2);
    const char *body = pgw_col_text(st, 3);
    const struct pgw_app *app = pgw_apps_find(d->apps, app_id);
    char ts[24], nonce[17], sig[PGW_SIGN_MAX_B64], h_ts[48], h_nonce[48];
    char h_sig[PGW_SIGN_MAX_B64 + 32];
    int rc;
    const char *headers[4];
    struct pgw_http_request req;
    struct pgw__delivery *dl;

    if (app == NULL) {
        return;   /* app removed from apps.conf: stays PENDING, visible to ops */
    }
    dl = calloc(1, sizeof(*dl));
    if (dl == NULL) {
        return;
    }
    dl->d = d;
    dl->payout = payout;
    dl->id = sqlite3_column_int64(st, 0);
    dl->attempts = sqlite3_column_int64(st, 4) + 1;
    dl->order_id = sqlite3_column_int64(st, 5);

    snprintf(ts, sizeof(ts), "%lld", (long long) (pgw_now_ms() / 1000));
    pgw_sign_nonce(nonce);
    /* HMAC apps: their secret; RSA2 apps: the gateway's key (sign_key) */
    rc = app->key_type == PGW_KEY_RSA2
             ? pgw_sign_caller_rsa(d->conf->sign_key_pkey, ts, nonce, body,
                                   strlen(body), sig, sizeof(sig))
             : pgw_sign_caller(app->secret, app->secret_len, ts, nonce, body,
                               strlen(body), sig, sizeof(sig));
    if (rc != PGW_OK) {
        pgw_log(PGW_LOG_ERROR, "outbox.sign", "cannot sign notification %lld"
                " for app %s", (long long) dl->id, app_id);
        free(dl);
        return;
    }
    snprintf(h_ts, sizeof(h_ts), "Paygw-Timestamp: %s", ts);
    snprintf(h_nonce, sizeof(h_nonce), "Paygw-Nonce: %s", nonce);
    snprintf(h_sig, sizeof(h_sig), "Paygw-Signature: %s", sig);
    headers[0] = h_ts;
    headers[1] = h_nonce;
    headers[2] = h_sig;
    headers[3] = NULL;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.content_type = "application/json";
    req.headers = headers;
    req.body = body;
    req.body_len = strlen(body);
    req.abandon = free;
    req.connect_timeout_ms = 3000;
    req.timeout_ms = 10000;
    if (pgw_transport_send(d->transport, &req, pgw__delivered, dl) != PGW_OK) {
        free(dl);
        return;
    }
    d->outbox_in_flight++;
}


struct pgw__claim {
    struct pgw_daemon *d;
    int payout;
    int n;
    int64_t ids[PGW__OUTBOX_BATCH];
};


/* the attempts are counted durably: send from the committed rows */
static void
pgw__claimed(void *arg, int rc, int failed_stmt)
{
    struct pgw__claim *c = arg;
    struct pgw_daemon *d = c->d;
    sqlite3_stmt *st;

    (void) failed_stmt;
    d->outbox_claiming = 0;
    for (int i = 0; rc == PGW_OK && i < c->n; i++) {
        st = c->payout
                 ? pgw_store_query(d->store,
                                   "SELECT id, app_id, url, body, attempts - 1,"
                                   " payout_id FROM payout_outbox WHERE id = ?",
                                   "i", c->ids[i])
                 : pgw_store_query(d->store,
                                   "SELECT id, app_id, url, body, attempts - 1,"
                                   " order_id FROM outbox WHERE id = ?",
                                   "i", c->ids[i]);
        if (st && sqlite3_step(st) == SQLITE_ROW) {
            pgw__send_one(d, st, c->payout);
        }
        if (st) {
            sqlite3_reset(st);
        }
    }
    free(c);
}


static void
pgw__tick_one(struct pgw_daemon *d, int payout)
{
    int64_t now = pgw_now_ms();
    int64_t ids[PGW__OUTBOX_BATCH], attempts[PGW__OUTBOX_BATCH];
    int n = 0;
    sqlite3_stmt *st;
    struct pgw_txn *txn;

    if (d->outbox_claiming || d->outbox_in_flight >= PGW__OUTBOX_MAX_IN_FLIGHT) {
        return;
    }
    st = payout ? pgw_store_query(d->store,
                                  "SELECT id, attempts FROM payout_outbox o"
                                  " WHERE state = 'PENDING' AND next_at <= ?"
                                  " AND NOT EXISTS (SELECT 1 FROM"
                                  " payout_outbox p WHERE p.payout_id ="
                                  " o.payout_id AND p.id < o.id AND p.state"
                                  " IN ('PENDING', 'GAVE_UP'))"
                                  " ORDER BY next_at LIMIT 64",
                                  "i", now)
                : pgw_store_query(d->store,
                                  "SELECT id, attempts FROM outbox o"
                                  " WHERE state = 'PENDING' AND next_at <= ?"
                                  " AND NOT EXISTS (SELECT 1 FROM outbox p"
                                  " WHERE p.order_id = o.order_id"
                                  " AND p.id < o.id AND p.state"
                                  " IN ('PENDING', 'GAVE_UP'))"
                                  " ORDER BY next_at LIMIT 64",
                                  "i", now);
    while (st && n < PGW__OUTBOX_BATCH && sqlite3_step(st) == SQLITE_ROW) {
        ids[n] = sqlite3_column_int64(st, 0);
        attempts[n] = sqlite3_column_int64(st, 1);
        n++;
    }
    if (st) {
        sqlite3_reset(st);
    }
    if (n == 0) {
        return;
    }
    /* count the attempts and move next_at first (one commit for the batch),
     * then send from the committed rows (pgw__claimed) */
    txn = pgw_txn_new();
    if (txn == NULL) {
        return;
    }
    for (int i = 0; i < n; i++) {
        int64_t step = pgw_outbox_delay_ms(d->conf->notify_backoff_ms,
                                           d->conf->n_notify_backoff,
                                           attempts[i] + 1);
        pgw_txn_add(txn, 1,
                    payout ? "UPDATE payout_outbox SET attempts = attempts + 1,"
                             " next_at = ? WHERE id = ? AND state = 'PENDING'"
                             " AND attempts = ?"
                           : "UPDATE outbox SET attempts = attempts + 1,"
                             " next_at = ? WHERE id = ? AND state = 'PENDING'"
                             " AND attempts = ?",
                    "iii", now + step, ids[i], attempts[i]);
    }
    struct pgw__claim *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        pgw_txn_free(txn);
        return;
    }
    c->d = d;
    c->payout = payout;
    c->n = n;
    memcpy(c->ids, ids, sizeof(ids[0]) * n);
    d->outbox_claiming = 1;
    pgw_store_submit(d->store, txn, pgw__claimed, c);
}


void
pgw_outbox_tick(struct pgw_daemon *d)
{
    pgw__tick_one(d, 0);
    /* one claim at a time: payouts' turn when the orders' claim is done */
    pgw__tick_one(d, 1);
}
