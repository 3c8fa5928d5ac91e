/*
 * pgw_api.c — the caller API of SPEC §3.3 as paygwd serves it behind nginx, on
 * a unix socket (HTTP/1.1, keep-alive).
 *
 * nginx has verified the caller's signature and passes the app in
 * X-Paygw-App-Id; a request without it is refused. POST /v1/payments answers
 * 202 as soon as the order row is committed — the channel call starts after
 * that, on the loop, and never delays the answer. Idempotency key:
 * (app_id, out_trade_no); the same canonical body gives the same voucher, a
 * different one 409. Voucher long-polls wait on the order (pgw_waiters_wake).
 *
 * A scheme B request arrives as the verified form body
 * (application/x-www-form-urlencoded): it becomes the same JSON request
 * (pgw_form.c), so the canonical JSON — what is hashed for idempotency — does
 * not depend on the encoding. nginx mints the voucher id at the edge and
 * passes it in X-Paygw-Voucher-Id ("V" + 30 digits); a new order takes it, a
 * repeat answers the stored one; without it the core mints one. voucher_id
 * is UNIQUE in the store, so a (theoretically impossible) collision stores
 * nothing and answers 503.
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_dispatch.h"
#include "pgw_form.h"
#include "pgw_http.h"
#include "pgw_log.h"
#include "pgw_notify_in.h"
#include "pgw_order.h"
#include "pgw_pack.h"
#include "pgw_refresh.h"
#include "pgw_route.h"
#include "pgw_store.h"
#include "pgw_xfer.h"

#define PGW__MAX_WAIT_MS 30000


/* ---- long-poll waiters ---------------------------------------------------- */

struct pgw_waiter {
    struct pgw_daemon *d;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    int64_t order_id;
    int sync;           /* a sync:true payment: waits for a final status and
                           answers with the payment, not the voucher */
    int64_t details_at; /* a POST .../details (0: not): waits for the answer of
                           the details attempt started since then */
    struct event *timer;
    struct pgw_waiter *prev, *next;
};

struct pgw_waiters {
    struct pgw_waiter *head;
};


static json_t *
pgw__voucher_json(const struct pgw_order *o)
{
    json_t *j = json_pack("{s:s, s:s, s:s}", "voucher_id", o->voucher_id,
                          "status", o->voucher_status, "payment_status",
                          pgw_status_name(o->status));

    if (j == NULL) {
        return NULL;
    }
    json_object_set_new(j, "out_trade_no", json_string(o->out_trade_no));
    json_object_set_new(j, "channel",
                        o->channel[0] ? json_string(o->channel) : json_null());
    if (o->credential) {
        json_t *cred = json_loads(o->credential, 0, NULL);
        if (cred) {
            json_object_set_new(j, "credential", cred);
        }
    }
    if (strcmp(o->voucher_status, "FAILED") == 0 && o->fail_reason) {
        json_object_set_new(j, "reason", json_string(o->fail_reason));
    }
    return j;
}


static int
pgw__voucher_settled(const struct pgw_order *o)
{
    return strcmp(o->voucher_status, "PENDING") != 0
           || pgw_status_is_final(o->status);
}


static void
pgw__waiter_remove(struct pgw_daemon *d, struct pgw_waiter *w)
{
    if (w->prev) {
        w->prev->next = w->next;
    } else {
        d->waiters->head = w->next;
    }
    if (w->next) {
        w->next->prev = w->prev;
    }
    if (w->timer) {
        event_free(w->timer);
    }
    evhttp_connection_set_closecb(w->conn, NULL, NULL);
    free(w);
}


/* The latest details attempt of an order started at or after since: its
 * state ("" when none yet) and, once answered, its class and code. */
static void
pgw__details_attempt(struct pgw_daemon *d, int64_t order_id, int64_t since,
                     char *state, char *cls, char *code, size_t len)
{
    sqlite3_stmt *st = pgw_store_query(d->store,
                                       "SELECT state, COALESCE(class, ''),"
                                       " COALESCE(code, '') FROM attempts"
                                       " WHERE order_id = ? AND op = 'details'"
                                       " AND started_at >= ? ORDER BY id DESC"
                                       " LIMIT 1", "ii", order_id, since);

    state[0] = cls[0] = code[0] = '\0';
    if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(state, len, "%s", pgw_col_text(st, 0));
        snprintf(cls, len, "%s", pgw_col_text(st, 1));
        snprintf(code, len, "%s", pgw_col_text(st, 2));
    }
    if (st != NULL) {
        sqlite3_reset(st);
    }
}


static void
pgw__waiter_answer(struct pgw_waiter *w)
{
    struct pgw_daemon *d = w->d;
    struct evhttp_request *req = w->req;
    struct pgw_order o;
    int64_t order_id = w->order_id, details_at = w->details_at;
    json_t *j;

    int sync = w->sync;

    pgw__waiter_remove(d, w);
    if (pgw_order_load_by_id(d, order_id, &o) != PGW_OK) {
        pgw_http_error(req, 500, "INTERNAL", "order vanished");
        return;
    }
    /* a sync payment answers with whatever is known at its deadline:
     * PROCESSING stays PROCESSING, the scheduler goes on settling it */
    j = sync ? pgw_order_api_json(d, &o) : pgw__voucher_json(&o);
    if (details_at != 0 && j != NULL) {
        /* what became of the leg: the voucher says what is next */
        char state[128], cls[128], code[128];
        pgw__details_attempt(d, order_id, details_at, state, cls, code,
                             sizeof(code));
        json_object_set_new(j, "details",
                            json_pack("{s:s, s:s}", "result",
                                      cls[0] ? cls : "PENDING", "code", code));
    }
    pgw_http_json(req, 200, j);
    pgw_order_clear(&o);
}


static void
pgw__waiter_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    pgw__waiter_answer(arg);
}


static void
pgw__waiter_closed(struct evhttp_connection *conn, void *arg)
{
    struct pgw_daemon *d = arg;

    for (struct pgw_waiter *w = d->waiters->head, *next; w; w = next) {
        next = w->next;
        if (w->conn == conn) {
            pgw__waiter_remove(d, w);
        }
    }
}


void
pgw_waiters_wake(struct pgw_daemon *d, int64_t order_id)
{
    struct pgw_order o;
    int settled, final;

    if (d->waiters->head == NULL) {
        return;
    }
    if (pgw_order_load_by_id(d, order_id, &o) != PGW_OK) {
        return;
    }
    settled = pgw__voucher_settled(&o);
    final = pgw_status_is_final(o.status);
    pgw_order_clear(&o);
    for (struct pgw_waiter *w = d->waiters->head, *next; w; w = next) {
        next = w->next;
        if (w->order_id != order_id) {
            continue;
        }
        if (w->details_at != 0 && !final) {
            /* a details leg: its own answer, whatever it says (the voucher
             * may still be the one from before the leg) */
            char state[128], cls[128], code[128];
            pgw__details_attempt(d, order_id, w->details_at, state, cls, code,
                                 sizeof(code));
            if (state[0] == '\0' || strcmp(state, "SENDING") == 0
                || strcmp(cls, "SUCCESS") == 0 || strcmp(cls, "FAILED") == 0) {
                continue;   /* not answered, or the settle is on its way */
            }
        } else if (!settled || !(final || !w->sync)) {
            continue;
        }
        pgw__waiter_answer(w);
    }
}


/* Parks req until the order's voucher settles (sync: until its payment is
 * final) or wait_ms passes; the answer is written then. -1 when out of
 * memory (nothing parked). */
static int
pgw__wait_on(struct pgw_daemon *d, struct evhttp_request *req,
             int64_t order_id, long wait_ms, int sync, int64_t details_at)
{
    struct pgw_waiter *w = calloc(1, sizeof(*w));
    struct timeval tv;

    if (w == NULL) {
        return -1;
    }
    w->d = d;
    w->req = req;
    w->conn = evhttp_request_get_connection(req);
    w->order_id = order_id;
    w->sync = sync;
    w->details_at = details_at;
    w->timer = evtimer_new(d->base, pgw__waiter_timeout, w);
    if (w->timer == NULL) {
        free(w);
        return -1;
    }
    tv.tv_sec = wait_ms / 1000;
    tv.tv_usec = (wait_ms % 1000) * 1000;
    evtimer_add(w->timer, &tv);
    evhttp_connection_set_closecb(w->conn, pgw__waiter_closed, d);
    w->next = d->waiters->head;
    if (w->next) {
        w->next->prev = w;
    }
    d->waiters->head = w;
    return 0;
}


/* ---- validation ------------------------------------------------------------ */

static int
pgw__valid_no(const char *s)
{
    size_t n = strlen(s);

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


/* returns NULL when valid, else the message */
static const char *
pgw__validate_payment(json_t *req)
{
    static const char *const known[] = {
        "out_trade_no", "amount", "currency", "method", "subject", "notify_url",
        "expire_seconds", "channel", "bank_code", "payer", "extra", "sync", NULL
    };
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
    v = json_object_get(req, "out_trade_no");
    if (!json_is_string(v) || !pgw__valid_no(json_string_value(v))) {
        return "out_trade_no: 1-64 characters of A-Z a-z 0-9 _ - .";
    }
    v = json_object_get(req, "amount");
    if (!json_is_integer(v) || json_integer_value(v) <= 0
        || json_integer_value(v) > 100000000000000LL) {
        return "amount: a positive integer in minor units";
    }
    v = json_object_get(req, "currency");
    if (!json_is_string(v) || json_string_length(v) != 3
        || !isupper((unsigned char) json_string_value(v)[0])
        || !isupper((unsigned char) json_string_value(v)[1])
        || !isupper((unsigned char) json_string_value(v)[2])) {
        return "currency: an ISO 4217 code such as CNY";
    }
    v = json_object_get(req, "method");
    if (!json_is_string(v) || json_string_length(v) == 0
        || json_string_length(v) > 63) {
        return "method: required, e.g. alipay.qr";
    }
    v = json_object_get(req, "subject");
    if (v && (!json_is_string(v) || json_string_length(v) > 256)) {
        return "subject: a string of at most 256 bytes";
    }
    v = json_object_get(req, "notify_url");
    if (v && (!json_is_string(v) || json_string_length(v) > 512
              || (strncmp(json_string_value(v), "http://", 7) != 0
                  && strncmp(json_string_value(v), "https://", 8) != 0))) {
        return "notify_url: an http(s) URL of at most 512 bytes";
    }
    v = json_object_get(req, "expire_seconds");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 60
              || json_integer_value(v) > 7 * 86400)) {
        return "expire_seconds: an integer from 60 to 604800";
    }
    v = json_object_get(req, "channel");
    if (v && (!json_is_string(v) || json_string_length(v) > 31)) {
        return "channel: a channel name";
    }
    v = json_object_get(req, "bank_code");
    if (v && !json_is_string(v)) {
        return "bank_code: a string";
    }
    v = json_object_get(req, "payer");
    if (v && !json_is_object(v)) {
        return "payer: an object";
    }
    v = json_object_get(req, "extra");
    if (v && !json_is_object(v)) {
        return "extra: an object";
    }
    v = json_object_get(req, "sync");
    if (v && !json_is_boolean(v)) {
        return "sync: true or false";
    }
    return NULL;
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


/* the edge-minted voucher id: exactly ^V[0-9]{30}$ */
static int
pgw__edge_voucher_ok(const char *v)
{
    if (strlen(v) != 31 || v[0] != 'V') {
        return 0;
    }
    for (int i = 1; i < 31; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return 0;
        }
    }
    return 1;
}


static void
pgw__voucher_id(char *buf, size_t len)
{
    unsigned char r[12];

    RAND_bytes(r, sizeof(r));
    snprintf(buf, len, "V");
    for (int i = 0; i < 12; i++) {
        snprintf(buf + 1 + i * 2, len - 1 - i * 2, "%02x", r[i]);
    }
}


/* ---- POST /v1/payments ----------------------------------------------------- */

struct pgw__accept {
    struct pgw_daemon *d;
    struct evhttp_request *req;
    int64_t order_id;
    char app_id[65];
    char out_trade_no[65];
    char voucher_id[48];
    char hash[65];
    int sync;           /* sync:true: answer with the outcome (or PROCESSING
                           at sync_timeout_ms), not at once with ACCEPTED */
};


static void
pgw__answer_existing(struct pgw_daemon *d, struct evhttp_request *req,
                     const char *app_id, const char *no, const char *hash)
{
    struct pgw_order o;
    int rc = pgw_order_load_by_no(d, app_id, no, &o);

    if (rc != PGW_OK) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "store read failed");
        return;
    }
    if (strcmp(o.request_hash ? o.request_hash : "", hash) != 0) {
        pgw_http_error(req, 409, "IDEMPOTENCY_CONFLICT",
                       "out_trade_no already used with a different body");
    } else {
        d->metrics.payments_replayed++;
        pgw_http_json(req, 202,
                      json_pack("{s:s, s:s, s:s}", "voucher_id", o.voucher_id,
                                "out_trade_no", o.out_trade_no, "status",
                                pgw_status_name(o.status)));
    }
    pgw_order_clear(&o);
}


static void
pgw__accept_done(void *arg, int rc, int failed_stmt)
{
    struct pgw__accept *a = arg;

    (void) failed_stmt;
    if (rc == PGW_OK) {
        a->d->metrics.payments_accepted++;
        if (!a->sync
            || pgw__wait_on(a->d, a->req, a->order_id,
                            (long) a->d->conf->sync_timeout_ms, 1, 0) != 0) {
            pgw_http_json(a->req, 202,
                          json_pack("{s:s, s:s, s:s}", "voucher_id",
                                    a->voucher_id, "out_trade_no",
                                    a->out_trade_no, "status", "ACCEPTED"));
        }
        /* stored and answered: now the channel call */
        pgw_dispatch_pay(a->d, a->order_id);
    } else if (rc == PGW_CONFLICT) {
        struct pgw_order o;
        int lrc = pgw_order_load_by_no(a->d, a->app_id, a->out_trade_no, &o);

        if (lrc == PGW_OK) {
            /* a concurrent twin won the UNIQUE (app_id, out_trade_no) race */
            pgw_order_clear(&o);
            pgw__answer_existing(a->d, a->req, a->app_id, a->out_trade_no,
                                 a->hash);
        } else if (lrc != PGW_NOTFOUND) {
            pgw_http_error(a->req, 503, "CORE_UNAVAILABLE", "store read failed");
        } else {
            /* no twin: the voucher id is taken by another order (an edge or
             * core minting collision); nothing of this order was stored */
            pgw_log(PGW_LOG_ERROR, "voucher.collision",
                    "voucher_id %s already belongs to another order; %s/%s"
                    " not accepted", a->voucher_id, a->app_id,
                    a->out_trade_no);
            pgw_http_error(a->req, 503, "CORE_UNAVAILABLE",
                           "the order could not be stored (voucher id"
                           " collision); nothing was accepted, retry");
        }
    } else {
        pgw_http_error(a->req, 503, "CORE_UNAVAILABLE",
                       "the order could not be stored; nothing was accepted");
    }
    free(a);
}


static void
pgw__post_payment(struct pgw_daemon *d, struct evhttp_request *req,
                  const char *app_id)
{
    size_t len;
    const char *body = pgw_http_body(req, &len);
    json_error_t jerr;
    json_t *pay;
    const char *msg, *no, *edge_voucher;
    char *canon, why[256], channel[32];
    struct pgw__accept *a;
    struct pgw_order existing;
    struct pgw_route_query q;
    struct pgw_txn *txn;
    int64_t now = pgw_now_ms();

    edge_voucher = pgw_http_header(req, "X-Paygw-Voucher-Id");
    if (edge_voucher != NULL && !pgw__edge_voucher_ok(edge_voucher)) {
        pgw_http_error(req, 400, "INVALID_PARAMETER",
                       "X-Paygw-Voucher-Id: V followed by 30 digits");
        return;
    }
    if (pgw_form_is_form(pgw_http_header(req, "Content-Type"))) {
        char form_app[80];

        pay = pgw_form_request(body, len, form_app, sizeof(form_app), why,
                               sizeof(why));
        if (pay == NULL) {
            pgw_http_error(req, 400, "INVALID_PARAMETER", why);
            return;
        }
        if (form_app[0] != '\0' && strcmp(form_app, app_id) != 0) {
            json_decref(pay);
            pgw_http_error(req, 401, "SIGNATURE_INVALID",
                           "the form's app_id is not the verified app");
            return;
        }
    } else {
        pay = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (pay == NULL) {
            snprintf(why, sizeof(why), "body is not valid JSON: %s", jerr.text);
            pgw_http_error(req, 400, "INVALID_PARAMETER", why);
            return;
        }
    }
    msg = pgw__validate_payment(pay);
    if (msg != NULL) {
        pgw_http_error(req, 400, "INVALID_PARAMETER", msg);
        json_decref(pay);
        return;
    }
    no = json_string_value(json_object_get(pay, "out_trade_no"));
    canon = json_dumps(pay, JSON_COMPACT | JSON_SORT_KEYS);
    a = calloc(1, sizeof(*a));
    if (canon == NULL || a == NULL) {
        free(canon);
        free(a);
        json_decref(pay);
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
        return;
    }
    a->d = d;
    a->req = req;
    snprintf(a->app_id, sizeof(a->app_id), "%s", app_id);
    snprintf(a->out_trade_no, sizeof(a->out_trade_no), "%s", no);
    a->sync = json_is_true(json_object_get(pay, "sync"));
    pgw__sha256_hex(canon, strlen(canon), a->hash);

    /* idempotency: an existing order answers for itself */
    int rc = pgw_order_load_by_no(d, app_id, no, &existing);
    if (rc == PGW_OK) {
        pgw_order_clear(&existing);
        pgw__answer_existing(d, req, app_id, no, a->hash);
        goto done;
    }
    if (rc != PGW_NOTFOUND) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "store read failed");
        goto done;
    }

    /* a request no channel could ever take is refused, not stored */
    memset(&q, 0, sizeof(q));
    q.method = json_string_value(json_object_get(pay, "method"));
    q.currency = json_string_value(json_object_get(pay, "currency"));
    q.amount = json_integer_value(json_object_get(pay, "amount"));
    q.channel = json_string_value(json_object_get(pay, "channel"));
    q.app_id = app_id;
    snprintf(why, sizeof(why), "no channel offers %s", q.method);
    if (pgw_route_pick(d, &q, channel, sizeof(channel), why, sizeof(why))
        != PGW_OK) {
        pgw_http_error(req, 503, "NO_CHANNEL_AVAILABLE", why);
        goto done;
    }

    a->order_id = pgw_store_next_id(d->store, "orders");
    if (edge_voucher != NULL) {
        snprintf(a->voucher_id, sizeof(a->voucher_id), "%s", edge_voucher);
    } else {
        pgw__voucher_id(a->voucher_id, sizeof(a->voucher_id));
    }
    json_t *exp = json_object_get(pay, "expire_seconds");
    txn = pgw_txn_new();
    if (txn == NULL) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
        goto done;
    }
    pgw_txn_add(txn, 1,
                "INSERT INTO orders (id, app_id, out_trade_no, voucher_id,"
                " request_hash, request, amount, currency, method, subject,"
                " notify_url, expire_seconds, status, voucher_status,"
                " created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ACCEPTED',"
                " 'PENDING', ?, ?)",
                "isssssissssiii", a->order_id, app_id, no, a->voucher_id,
                a->hash, canon, (int64_t) q.amount, q.currency, q.method,
                json_string_value(json_object_get(pay, "subject")),
                json_string_value(json_object_get(pay, "notify_url")),
                (int64_t) (exp ? json_integer_value(exp) : 900), now, now);
    pgw_txn_add(txn, 1,
                "INSERT INTO transitions (id, order_id, from_status, to_status,"
                " reason, evidence, at) VALUES (?, ?, NULL, 'ACCEPTED',"
                " 'accepted from caller', NULL, ?)",
                "iii", pgw_store_next_id(d->store, "transitions"), a->order_id,
                now);
    pgw_store_submit(d->store, txn, pgw__accept_done, a);
    a = NULL;

done:
    free(a);
    free(canon);
    json_decref(pay);
}


/* ---- GET /v1/payments/{no}, POST /v1/payments/{no}/close ------------------- */

/* attempts of an order on their way: all (op NULL) or of one op */
static int64_t
pgw__count_op_sending(struct pgw_daemon *d, int64_t order_id, const char *op)
{
    sqlite3_stmt *st = pgw_store_query(d->store, "SELECT COUNT(*) FROM"
                                       " attempts WHERE order_id = ? AND state"
                                       " = 'SENDING' AND (? IS NULL OR op = ?)",
                                       "iss", order_id, op, op);
    int64_t n = 0;

    if (st && sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
    }
    if (st) {
        sqlite3_reset(st);
    }
    return n;
}


/* ?refresh=true on a payment (pgw_refresh.c decides; the query is outside
 * the schedule) */
static const char *
pgw__refresh(struct pgw_daemon *d, const char *app_id,
             const struct pgw_order *o, int64_t *wait_ms)
{
    struct pgw_refresh_facts f = {
        .status = o->status, .channel = o->channel,
        .next_query_at = o->next_query_at, .query_count = o->query_count,
    };
    const char *result;
    sqlite3_stmt *st;
    int go;

    if (o->status == PGW_ST_PROCESSING && o->channel[0] != '\0') {
        st = pgw_store_query(d->store, "SELECT MAX(started_at) FROM attempts"
                                       " WHERE order_id = ? AND op = 'query'",
                             "i", o->id);
        if (st && sqlite3_step(st) == SQLITE_ROW) {
            f.last_query_at = sqlite3_column_int64(st, 0);
        }
        if (st) {
            sqlite3_reset(st);
        }
        f.sending = pgw__count_op_sending(d, o->id, NULL);
    }
    result = pgw_refresh_decide(d, app_id, &f, &go, wait_ms);
    if (go) {
        pgw_dispatch_refresh(d, o->id);
    }
    return result;
}


static void
pgw__get_payment(struct pgw_daemon *d, struct evhttp_request *req,
                 const char *app_id, const char *no)
{
    struct pgw_order o;
    char refresh[8] = "";
    int rc = pgw_order_load_by_no(d, app_id, no, &o);

    if (rc == PGW_NOTFOUND) {
        pgw_http_error(req, 404, "NOT_FOUND", "no such payment");
        return;
    }
    if (rc != PGW_OK) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "store read failed");
        return;
    }
    pgw_http_query_param(req, "refresh", refresh, sizeof(refresh));
    if (strcmp(refresh, "true") == 0) {
        json_t *j = pgw_order_api_json(d, &o);
        int64_t wait_ms = 0;
        const char *result = pgw__refresh(d, app_id, &o, &wait_ms);

        /* the order as stored, plus what the refresh did: QUERYING (GET
         * again shortly), or why not and when to try again */
        json_object_set_new(j, "refresh", pgw_refresh_json(result, wait_ms));
        pgw_http_json(req, 200, j);
        pgw_order_clear(&o);
        return;
    }
    pgw_http_json(req, 200, pgw_order_api_json(d, &o));
    pgw_order_clear(&o);
}


static void
pgw__close_payment(struct pgw_daemon *d, struct evhttp_request *req,
                   const char *app_id, const char *no)
{
    struct pgw_order o;
    int rc = pgw_order_load_by_no(d, app_id, no, &o);

    if (rc == PGW_NOTFOUND) {
        pgw_http_error(req, 404, "NOT_FOUND", "no such payment");
        return;
    }
    if (rc != PGW_OK) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "store read failed");
        return;
    }
    if (o.status == PGW_ST_CLOSED) {
        pgw_http_json(req, 200, pgw_order_api_json(d, &o));
    } else if (pgw_status_is_final(o.status)) {
        pgw_http_error(req, 409, "IDEMPOTENCY_CONFLICT",
                       o.status == PGW_ST_SUCCESS
                           ? "the payment succeeded; refund it instead"
                           : "the payment already failed");
    } else if (o.status == PGW_ST_ACCEPTED) {
        pgw_http_error(req, 409, "IDEMPOTENCY_CONFLICT",
                       "the payment is being sent; retry the close shortly");
    } else {
        pgw_dispatch_close(d, o.id);
        json_t *j = pgw_order_api_json(d, &o);
        json_object_set_new(j, "close", json_string("REQUESTED"));
        pgw_http_json(req, 202, j);
    }
    pgw_order_clear(&o);
}


/* ---- POST /v1/payments/{no}/details ----------------------------------------
 * The shopper's next leg of the same payment (Adyen /payments/details after a
 * redirect or a 3DS2 challenge): {"details":{...}[, "payment_data":"..."]},
 * handed to the pack's `details` op. The answer waits (sync_timeout_ms at
 * most) for that leg's answer and is the voucher -- READY with the next
 * step's credential, or the payment's outcome -- plus "details":{result,
 * code}. A leg is never sent twice at once; sending the same leg again is
 * the pack's to make idempotent at the channel (Adyen: Idempotency-Key). */

#define PGW__DETAILS_MAX 16384

static void
pgw__payment_details(struct pgw_daemon *d, struct evhttp_request *req,
                     const char *app_id, const char *no)
{
    struct pgw_order o;
    size_t len;
    const char *body = pgw_http_body(req, &len);
    const json_t *man, *ops;
    json_error_t jerr;
    json_t *in = NULL, *leg;
    char err[512];
    int offered = 0;
    int64_t now = pgw_now_ms();
    int rc;

    if (len == 0 || len > PGW__DETAILS_MAX) {
        pgw_http_error(req, 400, "INVALID_PARAMETER",
                       "body: a JSON object of at most 16 KiB");
        return;
    }
    in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    leg = json_object_get(in, "details");
    if (!json_is_object(in) || !json_is_object(leg) || json_object_size(leg) == 0
        || (json_object_get(in, "payment_data") != NULL
            && !json_is_string(json_object_get(in, "payment_data"))))
    {
        json_decref(in);
        pgw_http_error(req, 400, "INVALID_PARAMETER",
                       "details: a non-empty object (what the shopper's browser"
                       " returned); payment_data: a string");
        return;
    }
    rc = pgw_order_load_by_no(d, app_id, no, &o);
    if (rc != PGW_OK) {
        json_decref(in);
        if (rc == PGW_NOTFOUND) {
            pgw_http_error(req, 404, "NOT_FOUND", "no such payment");
        } else {
            pgw_http_error(req, 503, "CORE_UNAVAILABLE", "store read failed");
        }
        return;
    }
    man = pgw_packs_get(d->packs, o.channel) != NULL
              ? pgw_pack_manifest(pgw_packs_get(d->packs, o.channel)) : NULL;
    ops = json_object_get(man, "operations");
    for (size_t i = 0; i < json_array_size(ops); i++) {
        offered |= strcmp(json_string_value(json_array_get(ops, i)), "details") == 0;
    }
    if (o.status != PGW_ST_PROCESSING || o.channel[0] == '\0') {
        pgw_http_error(req, 409, "IDEMPOTENCY_CONFLICT",
                       pgw_status_is_final(o.status)
                           ? "the payment is final; nothing is left to do"
                           : "the payment is being sent; retry shortly");
    } else if (!offered) {
        snprintf(err, sizeof(err), "channel %s has no details step", o.channel);
        pgw_http_error(req, 400, "INVALID_PARAMETER", err);
    } else if (pgw__count_op_sending(d, o.id, "details") > 0) {
        pgw_http_error(req, 409, "IDEMPOTENCY_CONFLICT",
                       "a details leg of this payment is on its way");
    } else if (pgw_dispatch_details(d, o.id, in, err, sizeof(err)) != PGW_OK) {
        pgw_http_error(req, 422, "DETAILS_NOT_SENT", err);
    } else if (pgw__wait_on(d, req, o.id, (long) d->conf->sync_timeout_ms, 0,
                            now) != 0) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
    }
    json_decref(in);
    pgw_order_clear(&o);
}


/* ---- GET /v1/vouchers/{id}?wait_ms= ---------------------------------------- */

static void
pgw__get_voucher(struct pgw_daemon *d, struct evhttp_request *req,
                 const char *app_id, const char *voucher_id)
{
    struct pgw_order o;
    char wait[16] = "0";
    long wait_ms;
    int rc = pgw_order_load_by_voucher(d, voucher_id, &o);

    if (rc == PGW_OK && strcmp(o.app_id, app_id) != 0) {
        pgw_order_clear(&o);
        rc = PGW_NOTFOUND;   /* another app's voucher does not exist for you */
    }
    if (rc == PGW_NOTFOUND) {
        pgw_http_error(req, 404, "NOT_FOUND", "no such voucher");
        return;
    }
    if (rc != PGW_OK) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "store read failed");
        return;
    }
    pgw_http_query_param(req, "wait_ms", wait, sizeof(wait));
    errno = 0;
    wait_ms = strtol(wait, NULL, 10);
    if (errno != 0 || wait_ms < 0) {
        pgw_order_clear(&o);
        pgw_http_error(req, 400, "INVALID_PARAMETER", "wait_ms: 0 to 30000");
        return;
    }
    if (wait_ms > PGW__MAX_WAIT_MS) {
        wait_ms = PGW__MAX_WAIT_MS;
    }
    if (wait_ms == 0 || pgw__voucher_settled(&o)) {
        pgw_http_json(req, 200, pgw__voucher_json(&o));
        pgw_order_clear(&o);
        return;
    }
    if (pgw__wait_on(d, req, o.id, wait_ms, 0, 0) != 0) {
        pgw_http_json(req, 200, pgw__voucher_json(&o));
    }
    pgw_order_clear(&o);
}


/* ---- request routing ------------------------------------------------------- */

static void
pgw__api_cb(struct evhttp_request *req, void *arg)
{
    struct pgw_daemon *d = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *app_id;
    char path[512], id[128];
    size_t n;

    if (pgw_http_path(req, path, sizeof(path)) != PGW_OK) {
        pgw_http_error(req, 400, "INVALID_PARAMETER", "bad request path");
        return;
    }
    if (strncmp(path, "/notify/", 8) == 0) {
        pgw_notify_in(d, req, path + 8);
        return;
    }
    app_id = pgw_http_header(req, "X-Paygw-App-Id");
    if (app_id == NULL || app_id[0] == '\0') {
        pgw_http_error(req, 401, "SIGNATURE_INVALID",
                       "request did not pass the signing front");
        return;
    }
    if (strcmp(path, "/v1/payments") == 0) {
        if (cmd != EVHTTP_REQ_POST) {
            pgw_http_error(req, 404, "NOT_FOUND", "use POST /v1/payments");
            return;
        }
        pgw__post_payment(d, req, app_id);
        return;
    }
    /* refunds and payouts (pgw_xfer.c) */
    if (strcmp(path, "/v1/refunds") == 0 || strcmp(path, "/v1/payouts") == 0) {
        if (cmd != EVHTTP_REQ_POST) {
            pgw_http_error(req, 404, "NOT_FOUND", "use POST");
            return;
        }
        pgw_xfer_api_create(d, req, app_id, path[4] == 'p');
        return;
    }
    if ((sscanf(path, "/v1/refunds/%127[^/]", id) == 1
         || sscanf(path, "/v1/payouts/%127[^/]", id) == 1)
        && strlen(path) == strlen("/v1/refunds/") + strlen(id)
        && pgw__valid_no(id) && cmd == EVHTTP_REQ_GET) {
        pgw_xfer_api_get(d, req, app_id, id, path[4] == 'p');
        return;
    }
    if (sscanf(path, "/v1/vouchers/%127[^/]", id) == 1
        && strlen(path) == strlen("/v1/vouchers/") + strlen(id)
        && cmd == EVHTTP_REQ_GET) {
        pgw__get_voucher(d, req, app_id, id);
        return;
    }
    if (sscanf(path, "/v1/payments/%127[^/]", id) == 1 && pgw__valid_no(id)) {
        n = strlen("/v1/payments/") + strlen(id);
        if (path[n] == '\0' && cmd == EVHTTP_REQ_GET) {
            pgw__get_payment(d, req, app_id, id);
            return;
        }
        if (strcmp(path + n, "/close") == 0 && cmd == EVHTTP_REQ_POST) {
            pgw__close_payment(d, req, app_id, id);
            return;
        }
        if (strcmp(path + n, "/details") == 0 && cmd == EVHTTP_REQ_POST) {
            pgw__payment_details(d, req, app_id, id);
            return;
        }
    }
    pgw_http_error(req, 404, "NOT_FOUND", "no such API");
}


int
pgw_api_start(struct pgw_daemon *d, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct evconnlistener *lst;
    const char *path = d->conf->listen_unix;

    d->waiters = calloc(1, sizeof(*d->waiters));
    d->api_http = evhttp_new(d->base);
    if (d->waiters == NULL || d->api_http == NULL) {
        snprintf(err, errlen, "out of memory");
        return PGW_ERR;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "%s: listen_unix: path too long", d->conf->path);
        return PGW_ERR;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    unlink(path);
    lst = evconnlistener_new_bind(d->base, NULL, NULL,
                                  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                  1024, (struct sockaddr *) &sun, sizeof(sun));
    if (lst == NULL) {
        snprintf(err, errlen, "%s: cannot listen on %s: %s", d->conf->path,
                 path, strerror(errno));
        return PGW_ERR;
    }
    /* nginx's workers (another user) must reach it; the directory that holds
     * the socket is what restricts access */
    chmod(path, 0666);
    evhttp_bind_listener(d->api_http, lst);
    evhttp_set_max_body_size(d->api_http, 1024 * 1024);
    evhttp_set_timeout(d->api_http, 120);
    evhttp_set_allowed_methods(d->api_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(d->api_http, pgw__api_cb, d);
    return PGW_OK;
}


void
pgw_api_stop(struct pgw_daemon *d)
{
    if (d->waiters != NULL) {
        while (d->waiters->head != NULL) {
            pgw__waiter_remove(d, d->waiters->head);
        }
        free(d->waiters);
        d->waiters = NULL;
    }
    if (d->api_http != NULL) {
        evhttp_free(d->api_http);
        d->api_http = NULL;
    }
    unlink(d->conf->listen_unix);
}
