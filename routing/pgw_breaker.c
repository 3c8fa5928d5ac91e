/*
 * pgw_breaker.c — the daemon side of channel health (pgw_health.h): the hook
 * pgw_op_interpret calls for every channel answer, the eligibility check of
 * routing, the half-open probe (the channel's query op on a recent order of
 * that channel, never a pay) and the alerts of every transition
 * (discrepancies rows breaker_open / breaker_half_open / breaker_closed with
 * order_id NULL, and a log line, each in a commit of its own).
 */

#include <stdio.h>
#include <string.h>

#include "pgw_adapter.h"
#include "pgw_config.h"
#include "pgw_core.h"
#include "pgw_daemon.h"
#include "pgw_health.h"
#include "pgw_log.h"
#include "pgw_op.h"
#include "pgw_order.h"
#include "pgw_pack.h"
#include "pgw_store.h"
#include "pgw_transport.h"


static void
pgw__breaker_conf(struct pgw_daemon *d, const char *channel, int64_t *errors,
                  int64_t *open_ms)
{
    struct pgw_channel_conf *c = pgw_config_channel(d->conf, channel);

    *errors = c && c->breaker_errors >= 0 ? c->breaker_errors
                                          : PGW_BREAKER_DEFAULT_ERRORS;
    *open_ms = c && c->breaker_open_ms >= 0 ? c->breaker_open_ms
                                            : PGW_BREAKER_DEFAULT_OPEN_MS;
}


/* the alert of a transition: a discrepancy row (order_id NULL) in txn, or in a
 * txn of its own when txn is NULL, and a log line */
static void
pgw__alert(struct pgw_daemon *d, struct pgw_txn *txn, const struct pgw_health *h,
           const char *detail)
{
    char kind[32], text[256];
    struct pgw_txn *own = NULL;

    snprintf(kind, sizeof(kind), "breaker_%s", pgw_circuit_name(h->circuit));
    snprintf(text, sizeof(text), "%s %s: circuit %s (%s)", h->channel,
             h->method, pgw_circuit_name(h->circuit), detail);
    pgw_log(PGW_LOG_WARN, "channel.breaker", "%s", text);
    if (txn == NULL) {
        txn = own = pgw_txn_new();
        if (txn == NULL) {
            return;
        }
    }
    pgw_txn_add(txn, 1,
                "INSERT INTO discrepancies (id, order_id, kind, status,"
                " evidence_class, code, detail, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                "inssnssi", pgw_store_next_id(d->store, "discrepancies"), kind,
                pgw_circuit_name(h->circuit), h->channel, text, pgw_now_ms());
    d->metrics.discrepancies++;
    /* the state survives a restart: a half-open breaker comes back open
     * (its probe is redone), a closed one has no row */
    if (h->circuit == PGW_CB_CLOSED) {
        pgw_txn_add(txn, -1, "DELETE FROM breaker_state WHERE channel = ? AND"
                             " method = ?", "ss", h->channel, h->method);
    } else {
        pgw_txn_add(txn, 1,
                    "INSERT INTO breaker_state (channel, method, opened_at,"
                    " changed_at) VALUES (?, ?, ?, ?) ON CONFLICT (channel,"
                    " method) DO UPDATE SET opened_at = excluded.opened_at,"
                    " changed_at = excluded.changed_at",
                    "ssii", h->channel, h->method, h->opened_at, h->changed_at);
    }
    if (own) {
        pgw_store_submit(d->store, own, NULL, NULL);
    }
}


int
pgw_breaker_restore(struct pgw_daemon *d)
{
    sqlite3_stmt *st = pgw_store_query(d->store,
                                       "SELECT channel, method, opened_at,"
                                       " changed_at FROM breaker_state"
                                       " WHERE changed_at > ?", "i", (int64_t) 0);

    if (st == NULL) {
        return PGW_ERR;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *channel = pgw_col_text(st, 0), *method = pgw_col_text(st, 1);
        struct pgw_health *h;

        if (pgw_config_channel(d->conf, channel) == NULL
            || (h = pgw_health_get(channel, method)) == NULL) {
            continue;           /* a channel no longer configured */
        }
        h->circuit = PGW_CB_OPEN;
        h->opened_at = sqlite3_column_int64(st, 2);
        h->changed_at = sqlite3_column_int64(st, 3);
        pgw_log(PGW_LOG_WARN, "channel.breaker", "%s %s: circuit open (restored"
                " after a restart; probe due %lld ms after it opened)", channel,
                method, (long long) (h->changed_at - h->opened_at));
    }
    sqlite3_reset(st);
    return PGW_OK;
}


void
pgw_health_note(struct pgw_daemon *d, const struct pgw_op *op,
                const struct pgw_http_result *res,
                const struct pgw_outcome *out, struct pgw_txn *txn)
{
    const char *method = op->order_json
        ? json_string_value(json_object_get(op->order_json, "method")) : NULL;
    struct pgw_health *h;
    int kind, st;
    int64_t errors, open_ms;
    char detail[128];

    if (method == NULL) {
        method = op->payout ? "payout" : "";
    }
    h = pgw_health_get(op->channel, method);
    if (h == NULL) {
        return;
    }
    if (res->sent == PGW_SENT_NOT_SENT) {
        kind = PGW_HK_NETWORK;
    } else if (res->sent == PGW_SENT_UNKNOWN && res->status <= 0) {
        kind = strncmp(res->error, "Timeout", 7) == 0 ? PGW_HK_TIMEOUT
                                                      : PGW_HK_NETWORK;
    } else if (res->status >= 500) {
        kind = PGW_HK_5XX;
    } else {
        kind = out->cls == PGW_CLASS_SUCCESS ? PGW_HK_SUCCESS
               : out->cls == PGW_CLASS_FAILED ? PGW_HK_FAILED : PGW_HK_ANSWERED;
    }
    pgw__breaker_conf(d, op->channel, &errors, &open_ms);
    st = pgw_health_record(h, kind, res->elapsed_ms, pgw_now_ms(), errors);
    if (st == PGW_CB_OPEN) {
        snprintf(detail, sizeof(detail),
                 ">= %lld network errors / timeouts in a minute; probe in %lld ms",
                 (long long) errors, (long long) open_ms);
        /* its own commit: an alert must never be able to break the txn that
         * records the channel's answer */
        (void) txn;
        pgw__alert(d, NULL, h, detail);
    }
}


int
pgw_health_eligible(const char *channel, const char *method, const char **why)
{
    for (size_t i = 0; i < pgw_health_count(); i++) {
        const struct pgw_health *h = pgw_health_at(i);
        if (strcmp(h->channel, channel) == 0 && strcmp(h->method, method) == 0
            && !pgw_health_allows(h)) {
            if (why) {
                *why = h->circuit == PGW_CB_OPEN ? "circuit open"
                                                 : "circuit half_open (probing)";
            }
            return 0;
        }
    }
    return 1;
}


int64_t
pgw_health_score(const char *channel, const char *method, int64_t now)
{
    for (size_t i = 0; i < pgw_health_count(); i++) {
        const struct pgw_health *h = pgw_health_at(i);
        struct pgw_health_stats st;
        int64_t good, all;

        if (strcmp(h->channel, channel) != 0 || strcmp(h->method, method) != 0) {
            continue;
        }
        pgw_health_stats(h, 10, now, &st);
        good = st.answered - st.s5xx - st.failed;
        all = st.answered + st.network + st.timeout;
        return (good + 1) * 1000000 / (all + 2);
    }
    return 500000;
}


static void
pgw__probe_done(void *arg, const struct pgw_http_result *res)
{
    struct pgw_op *op = arg;
    struct pgw_daemon *d = op->d;
    struct pgw_health *h = op->data;
    char detail[300];
    /* a definite answer (anything but a network error, a timeout or a 5xx) */
    int ok = res->sent == PGW_SENT_ANSWERED && res->status > 0
             && res->status < 500;

    pgw_breaker_probe_done(h, ok, pgw_now_ms());
    snprintf(detail, sizeof(detail), "probe query of order %lld: %s%s%.200s",
             (long long) op->order_id,
             ok ? "answered" : "failed",
             res->error[0] ? ": " : "", res->error);
    pgw__alert(d, NULL, h, detail);
    pgw_op_free(op);
}


/* half-open: one query on a recent order of the channel (and method) */
static void
pgw__probe(struct pgw_daemon *d, struct pgw_health *h)
{
    struct pgw_pack *pack = pgw_packs_get(d->packs, h->channel);
    sqlite3_stmt *st;
    int64_t order_id = 0;
    struct pgw_order o;
    struct pgw_op *op;
    char err[256];

    if (pack == NULL || !pgw_pack_has_op(pack, "query")) {
        pgw_breaker_probe_skip(h, pgw_now_ms());
        pgw__alert(d, NULL, h, "no query operation to probe with; stays open,"
                               " retried after breaker_open_ms");
        return;
    }
    /* prefer an order the channel saw (a pay that left), newest first */
    st = pgw_store_query(d->store,
                         "SELECT a.order_id FROM attempts a"
                         " JOIN orders o ON o.id = a.order_id"
                         " WHERE a.channel = ? AND a.op = 'pay' AND o.method = ?"
                         " ORDER BY (a.state <> 'NOT_SENT') DESC, a.id DESC"
                         " LIMIT 1", "ss", h->channel, h->method);
    if (st != NULL) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            order_id = sqlite3_column_int64(st, 0);
        }
        sqlite3_reset(st);
    }
    if (order_id <= 0 || pgw_order_load_by_id(d, order_id, &o) != PGW_OK) {
        pgw_breaker_probe_skip(h, pgw_now_ms());
        pgw__alert(d, NULL, h, "no order of the channel to probe with; stays"
                               " open, retried after breaker_open_ms");
        return;
    }
    op = pgw_op_new(d, order_id, "query", h->channel);
    if (op == NULL || pgw_op_build(op, &o, err, sizeof(err)) != PGW_OK
        || (op->data = h, pgw_op_send(op, 0, pgw__probe_done)) != PGW_OK) {
        pgw_op_free(op);
        pgw_order_clear(&o);
        pgw_breaker_probe_skip(h, pgw_now_ms());
        pgw__alert(d, NULL, h, "probe query could not be built or sent; stays"
                               " open");
        return;
    }
    pgw_order_clear(&o);
    pgw__alert(d, NULL, h, "probing with a query");
}


void
pgw_breaker_tick(struct pgw_daemon *d)
{
    int64_t now = pgw_now_ms();

    for (size_t i = 0; i < pgw_health_count(); i++) {
        struct pgw_health *h = pgw_health_at(i);
        int64_t errors, open_ms;

        pgw__breaker_conf(d, h->channel, &errors, &open_ms);
        if (pgw_breaker_probe_due(h, now, open_ms)) {
            pgw__probe(d, h);
        }
    }
}
