/*
 * pgw_op.c — one channel operation of an order: the pack version it runs on,
 * the message the pack built, the send through the transport and the
 * interpretation of what came back (attempt row + masked message log).
 * Also the per-channel settings every operation needs (timeouts, first-query
 * delay, query backoff), where paygwd.conf overrides the pack manifest.
 * What an outcome does to an order is the caller's business (pgw_dispatch.c).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgw_auth.h"
#include "pgw_bulkhead.h"
#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_health.h"
#include "pgw_log.h"
#include "pgw_op.h"
#include "pgw_order.h"
#include "pgw_packver.h"
#include "pgw_route.h"
#include "pgw_store.h"
#include "pgw_transport.h"

/* new: an operation on its pack version (retained): a pay on the channel's
 * current version or its canary, any later operation of an order on the
 * version that built the order while it is remembered (pgw_packver.c); NULL
 * when out of memory or the channel has no pack loaded */
struct pgw_op *
pgw_op_new(struct pgw_daemon *d, int64_t order_id, const char *opname,
            const char *channel)
{
    struct pgw_pack *pack = strcmp(opname, "pay") == 0
                                ? pgw_packver_for_pay(d, channel)
                                : pgw_packver_for_order(d, channel, order_id);
    struct pgw_op *op;

    if (pack == NULL) {
        return NULL;
    }
    op = calloc(1, sizeof(*op));
    if (op == NULL) {
        return NULL;
    }
    op->d = d;
    op->order_id = order_id;
    snprintf(op->op, sizeof(op->op), "%s", opname);
    snprintf(op->channel, sizeof(op->channel), "%s", channel);
    op->pack = pack;
    pgw_pack_retain(pack);
    return op;
}


static void
pgw_op_abandon(void *arg)
{
    struct pgw_op *op = arg;

    pgw_op_free(op);
}


void
pgw_op_free(struct pgw_op *op)
{
    if (op == NULL) {
        return;
    }
    if (op->pack) {
        pgw_pack_release(op->pack);
    }
    pgw_msg_clear(&op->msg);
    json_decref(op->order_json);
    free(op->scrub);
    free(op);
}


/* ---- per-channel settings: config overrides the pack manifest ------------ */

int64_t
pgw_channel_first_query_delay(struct pgw_daemon *d, const char *channel,
                       const json_t *man)
{
    struct pgw_channel_conf *c = pgw_config_channel(d->conf, channel);

    if (c && c->first_query_delay_ms >= 0) {
        return c->first_query_delay_ms;
    }
    return pgw_manifest_int(man, "first_query_delay_ms", 5000);
}


int64_t
pgw_channel_query_backoff(struct pgw_daemon *d, const char *channel, const json_t *man,
                   int64_t count)
{
    struct pgw_channel_conf *c = pgw_config_channel(d->conf, channel);
    const json_t *list;
    size_t n;

    if (c && c->n_query_backoff > 0) {
        return c->query_backoff_ms[count < c->n_query_backoff
                                       ? count : c->n_query_backoff - 1];
    }
    list = json_object_get(man, "query_backoff_ms");
    n = json_array_size(list);
    if (n == 0) {
        return 10000;
    }
    return json_integer_value(json_array_get(list, (size_t) count < n ? (size_t) count
                                                                      : n - 1));
}


void
pgw_channel_timeouts(struct pgw_daemon *d, const char *channel, const json_t *man,
              long *connect_ms, long *total_ms)
{
    struct pgw_channel_conf *c = pgw_config_channel(d->conf, channel);

    *connect_ms = (long) pgw_manifest_int(man, "connect_timeout_ms", 5000);
    *total_ms = (long) pgw_manifest_int(man, "timeout_ms", 15000);
    if (c && c->connect_timeout_ms >= 0) {
        *connect_ms = (long) c->connect_timeout_ms;
    }
    if (c && c->timeout_ms >= 0) {
        *total_ms = (long) c->timeout_ms;
    }
}


#define PGW__BH_DEFAULT_CONCURRENCY 100
#define PGW__BH_DEFAULT_QUEUE_MAX 256
#define PGW__BH_DEFAULT_QUEUE_WAIT_MS 5000

static int
pgw__bh_int(int64_t v)
{
    return v > 1000000 ? 1000000 : (int) v;
}


void
pgw_channel_bulkhead(struct pgw_daemon *d, const char *channel,
                     const json_t *man, struct pgw_bh_limits *lim)
{
    struct pgw_channel_conf *c = pgw_config_channel(d->conf, channel);

    lim->max_concurrency = pgw__bh_int(pgw_manifest_int(
        man, "max_concurrency", PGW__BH_DEFAULT_CONCURRENCY));
    lim->qps = pgw__bh_int(pgw_manifest_int(man, "qps", 0));
    lim->queue_max = PGW__BH_DEFAULT_QUEUE_MAX;
    lim->queue_wait_ms = PGW__BH_DEFAULT_QUEUE_WAIT_MS;
    if (c && c->max_concurrency > 0) {
        lim->max_concurrency = pgw__bh_int(c->max_concurrency);
    }
    if (c && c->qps > 0) {
        lim->qps = pgw__bh_int(c->qps);
    }
    if (c && c->queue_max >= 0) {
        lim->queue_max = pgw__bh_int(c->queue_max);
    }
    if (c && c->queue_wait_ms >= 0) {
        lim->queue_wait_ms = c->queue_wait_ms;
    }
}


/* the transport's answer: the slot frees, then the caller hears it */
static void
pgw__op_sent(void *arg, const struct pgw_http_result *res)
{
    struct pgw_op *op = arg;

    if (op->bh_held) {
        op->bh_held = 0;
        pgw_bulkhead_release(op->d->bulkhead, op->channel);
    }
    op->sent_done(op, res);
}


static int pgw__op_transport_send(struct pgw_op *op, int fresh,
                                  pgw_http_done_fn *done);


/* the bulkhead lets it go (slot + token held) */
static int
pgw__op_bh_start(void *arg)
{
    struct pgw_op *op = arg;
    int rc;

    op->bh_held = 1;
    rc = pgw__op_transport_send(op, op->sent_fresh, pgw__op_sent);
    if (rc != PGW_OK) {
        op->bh_held = 0;
    }
    return rc;
}


static void
pgw__op_not_sent(struct pgw_op *op, const char *why)
{
    struct pgw_http_result res;

    memset(&res, 0, sizeof(res));
    res.sent = PGW_SENT_NOT_SENT;
    res.body = "";
    snprintf(res.error, sizeof(res.error), "%s", why);
    op->sent_done(op, &res);
}


/* a queued send that then could not start: nothing left this host */
static int
pgw__op_bh_start_queued(void *arg)
{
    struct pgw_op *op = arg;

    if (pgw__op_bh_start(op) != PGW_OK) {
        if (op->bh_submitting) {
            return PGW_ERR;      /* pgw_op_send's caller answers it */
        }
        pgw__op_not_sent(op, "transport refused the send");
        return PGW_ERR;
    }
    return PGW_OK;
}


static void
pgw__op_bh_reject(void *arg, const char *why)
{
    struct pgw_op *op = arg;

    pgw_log(PGW_LOG_WARN, "bulkhead.reject", "order %lld attempt %lld %s: %s",
            (long long) op->order_id, (long long) op->attempt_id, op->op, why);
    op->bh_rejected = 1;
    pgw__op_not_sent(op, why);
}


int
pgw_op_send(struct pgw_op *op, int fresh, pgw_http_done_fn *done)
{
    struct pgw_bh_limits lim;
    int rc;

    op->sent_done = done;
    op->sent_fresh = fresh;
    if (op->d->bulkhead == NULL) {
        return pgw__op_transport_send(op, fresh, pgw__op_sent);
    }
    pgw_channel_bulkhead(op->d, op->channel, pgw_pack_manifest(op->pack), &lim);
    /* the first start runs inside submit: an error there is the caller's
     * (its usual "transport refused" path); a queued one answers itself */
    op->bh_submitting = 1;
    rc = pgw_bulkhead_submit(op->d->bulkhead, op->channel, &lim,
                             pgw__op_bh_start_queued, pgw__op_bh_reject,
                             pgw_op_abandon, op);
    op->bh_submitting = 0;
    return rc;
}


static int
pgw__op_transport_send(struct pgw_op *op, int fresh, pgw_http_done_fn *done)
{
    const char *hdrs[17];
    char *lines[16];
    int n = 0, rc;
    const char *name;
    json_t *val;
    struct pgw_http_request req;
    const json_t *man = pgw_pack_manifest(op->pack);

    json_object_foreach(op->msg.headers, name, val) {
        if (n == 16 || !json_is_string(val)) {
            continue;
        }
        size_t len = strlen(name) + json_string_length(val) + 3;
        lines[n] = malloc(len);
        if (lines[n] == NULL) {
            break;
        }
        snprintf(lines[n], len, "%s: %s", name, json_string_value(val));
        hdrs[n] = lines[n];
        n++;
    }
    hdrs[n] = NULL;

    memset(&req, 0, sizeof(req));
    req.method = op->msg.method ? op->msg.method : "POST";
    req.url = op->msg.url;
    req.content_type = op->msg.content_type;
    req.headers = hdrs;
    req.body = op->msg.body;
    req.body_len = op->msg.body_len;
    req.fresh_connection = fresh;
    req.abandon = pgw_op_abandon;
    pgw_channel_timeouts(op->d, op->channel, man, &req.connect_timeout_ms,
                  &req.timeout_ms);
    rc = pgw_transport_send(op->d->transport, &req, done, op);
    for (int i = 0; i < n; i++) {
        free(lines[i]);
    }
    return rc;
}


/* Builds op->msg for the order; on failure fills err. */
int
pgw_op_build(struct pgw_op *op, const struct pgw_order *o, char *err,
           size_t errlen)
{
    return pgw_op_build_json(op, pgw_order_pack_json(op->d, o), err, errlen);
}


char *
pgw_op_scrub(const char *text, const char *needle)
{
    size_t n = strlen(needle), tl = strlen(text), keep_head, keep_tail;
    char mask[256], *out, *w;
    const char *p;

    if (n == 0 || n >= sizeof(mask)) {
        return strdup(text);
    }
    keep_head = n >= 13 ? 6 : 0;
    keep_tail = n >= 8 ? 4 : 0;
    memcpy(mask, needle, keep_head);
    memset(mask + keep_head, '*', n - keep_head - keep_tail);
    memcpy(mask + n - keep_tail, needle + n - keep_tail, keep_tail);
    mask[n] = '\0';
    out = malloc(tl + 1);
    if (out == NULL) {
        return NULL;
    }
    for (p = text, w = out; *p;) {
        if (strncmp(p, needle, n) == 0) {
            memcpy(w, mask, n);
            w += n;
            p += n;
        } else {
            *w++ = *p++;
        }
    }
    *w = '\0';
    return out;
}


static void
pgw__op_scrub_in_place(const struct pgw_op *op, char **text)
{
    char *s;

    if (op->scrub == NULL || *text == NULL) {
        return;
    }
    s = pgw_op_scrub(*text, op->scrub);
    free(*text);
    *text = s;   /* NULL when out of memory: nothing unmasked is recorded */
}


int
pgw_op_build_json(struct pgw_op *op, json_t *order_json, char *err,
                  size_t errlen)
{
    op->order_json = order_json;
    if (op->order_json == NULL) {
        snprintf(err, errlen, "out of memory");
        return PGW_ERR;
    }
    /* the order carries the channel being tried, for notify_url */
    char notify[512];
    snprintf(notify, sizeof(notify), "%s/notify/%s", op->d->conf->public_url,
             op->channel);
    json_object_set_new(op->order_json, "notify_url", json_string(notify));
    if (pgw_pack_build(op->pack, op->op, op->order_json, &op->msg, err, errlen)
        != 0) {
        pgw_packver_note(op->d, op->pack, 1);
        return PGW_ERR;
    }
    if (op->msg.credential == NULL
        && (op->msg.url == NULL || op->msg.url[0] == '\0')) {
        snprintf(err, errlen, "pack built no URL for %s", op->op);
        return PGW_ERR;
    }
    pgw__op_scrub_in_place(op, &op->msg.masked);
    return PGW_OK;
}


const char *
pgw_op_evidence(const struct pgw_outcome *out, char *buf, size_t len)
{
    snprintf(buf, len, "class=%s code=%s%s%s", pgw_class_name(out->cls),
             out->code[0] ? out->code : "-", out->error[0] ? " error=" : "",
             out->error);
    return buf;
}


/* Interprets a transport result with the op's pack and starts the txn that
 * records it: the attempt's final state and the masked answer. Returns the
 * txn (NULL when out of memory: out is then cleared). */
struct pgw_txn *
pgw_op_interpret(struct pgw_op *op, const struct pgw_http_result *res,
               struct pgw_outcome *out, char *evidence, size_t evlen)
{
    struct pgw_daemon *d = op->d;
    const char *state = "ANSWERED";
    struct pgw_txn *txn;

    memset(out, 0, sizeof(*out));
    if (res->sent == PGW_SENT_ANSWERED && res->status == 401) {
        /* an OAuth2 channel that refuses our token: fetch a new one */
        pgw_auth_invalidate(d, op->channel);
    }
    if (res->sent == PGW_SENT_ANSWERED) {
        pgw_pack_parse(op->pack, op->op, res->status, res->headers, res->body, res->body_len,
                       op->order_json, out);
        if (out->unmapped) {
            pgw_metrics_unmapped(d, pgw_pack_channel(op->pack), out->code);
        }
        pgw_packver_note(d, op->pack, out->error[0] != '\0' || out->unmapped);
    } else {
        out->cls = res->sent == PGW_SENT_NOT_SENT ? PGW_CLASS_NOT_SENT
                                                  : PGW_CLASS_PROCESSING;
        snprintf(out->error, sizeof(out->error), "%s", res->error);
        state = "UNKNOWN";
        d->metrics.channel_not_sent += res->sent == PGW_SENT_NOT_SENT;
        d->metrics.channel_unknown += res->sent == PGW_SENT_UNKNOWN;
    }
    if (out->cls == PGW_CLASS_NOT_SENT) {
        state = "NOT_SENT";
    }
    pgw_op_evidence(out, evidence, evlen);
    pgw__op_scrub_in_place(op, &out->masked);

    txn = pgw_txn_new();
    if (txn == NULL) {
        pgw_outcome_clear(out);
        return NULL;
    }
    pgw_txn_add(txn, 1,
                op->payout
                    ? "UPDATE payout_attempts SET state = ?, class = ?,"
                      " code = ?, error = ?, http_status = ?, finished_at = ?"
                      " WHERE id = ?"
                    : "UPDATE attempts SET state = ?, class = ?, code = ?,"
                      " error = ?, http_status = ?, finished_at = ? WHERE id = ?",
                "ssssiii", state, pgw_class_name(out->cls), out->code,
                out->error, (int64_t) res->status, pgw_now_ms(),
                op->attempt_id);
    if (!op->payout) {
        pgw_order_txn_keep(d, txn, op->order_id,
                           json_object_get(out->fields, "keep"));
    }
    /* channel health and breaker (routing/pgw_breaker.c); a transition's
     * alert is committed on its own, never in this txn. A send our own
     * bulkhead refused never reached the channel: a busy channel is not a
     * sick one, so it must not open the breaker. */
    if (!op->bh_rejected) {
        pgw_health_note(d, op, res, out, txn);
    }
    pgw_order_txn_message(d, txn, op->order_id, op->attempt_id, op->channel,
                          "response", op->op, res->status,
                          out->masked ? out->masked : "",
                          res->sent == PGW_SENT_ANSWERED ? out->error
                                                         : res->error);
    return txn;
}
