/*
 * pgw_scheduler.c — the loop's periodic work and start-up recovery.
 *
 * Every scan_interval_ms: query PROCESSING orders whose next_query_at is due
 * (set at send time to sent + first-query delay, then moved by the channel's
 * backoff on each query — never sooner; it is a column, so a restart goes on
 * where the schedule was), at most query_concurrency per channel in flight;
 * re-dispatch ACCEPTED orders whose intent commit failed, and deliver due
 * caller notifications. What a due order gets (a query, a close after
 * expiry, the review queue) is pgw_query_plan's decision (pgw_dispatch.c).
 *
 * Recovery (before the loop runs): an attempt still SENDING belongs to a
 * process that died mid-send — it may have reached the channel, so it becomes
 * UNKNOWN and its order (already PROCESSING, same commit as the attempt) is
 * left to the query scheduler; it is never sent again. ACCEPTED orders have no
 * attempt and were never sent: they are dispatched. Refunds and payouts
 * alike (pgw_xfer.c): their due queries share the in-flight bound.
 */

#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "pgw_auth.h"
#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_dispatch.h"
#include "pgw_health.h"
#include "pgw_log.h"
#include "pgw_outbox.h"
#include "pgw_store.h"
#include "pgw_xfer.h"

#define PGW__SCAN_BATCH 256
#define PGW__MAX_QUERIES_IN_FLIGHT 512
#define PGW__MAX_CHANNELS 128


static int
pgw__collect(struct pgw_daemon *d, const char *sql, int64_t arg, int64_t *ids,
             int max)
{
    return pgw_store_ids(pgw_store_query(d->store, sql, "i", arg), ids, max);
}


/* Due payment queries, channel by channel: each channel gets at most its
 * own room (query_concurrency minus what it has in flight), so the orders of
 * a hung channel — their queries stuck in its bulkhead — can neither take
 * the others' room nor, being the oldest due, hide the others' due orders. */
static void
pgw__due_queries(struct pgw_daemon *d, int64_t now, int room)
{
    char channels[PGW__MAX_CHANNELS][32];
    int64_t ids[PGW__SCAN_BATCH];
    int nch = 0, n;
    sqlite3_stmt *st;

    st = pgw_store_query(d->store,
                         "SELECT DISTINCT channel FROM orders"
                         " WHERE status = 'PROCESSING' AND next_query_at"
                         " IS NOT NULL AND next_query_at <= ?"
                         " AND channel IS NOT NULL", "i", now);
    while (st && nch < PGW__MAX_CHANNELS && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(channels[nch++], sizeof(channels[0]), "%s",
                 pgw_col_text(st, 0));
    }
    if (st) {
        sqlite3_reset(st);
    }
    for (int c = 0; c < nch && room > 0; c++) {
        int mine = pgw_dispatch_query_room(d, channels[c]);

        if (mine > room) {
            mine = room;
        }
        if (mine <= 0) {
            continue;
        }
        st = pgw_store_query(d->store,
                             "SELECT id FROM orders WHERE status = 'PROCESSING'"
                             " AND next_query_at IS NOT NULL"
                             " AND next_query_at <= ? AND channel = ?"
                             " AND NOT EXISTS (SELECT 1 FROM attempts a WHERE"
                             " a.order_id = orders.id AND a.state = 'SENDING')"
                             " ORDER BY next_query_at LIMIT 256",
                             "is", now, channels[c]);
        n = pgw_store_ids(st, ids, mine);
        for (int i = 0; i < n; i++) {
            pgw_dispatch_query(d, ids[i]);
        }
        room -= n;
    }
}


void
pgw_scheduler_tick(struct pgw_daemon *d)
{
    int64_t ids[PGW__SCAN_BATCH];
    int64_t now = pgw_now_ms();
    int n, room;

    room = PGW__MAX_QUERIES_IN_FLIGHT - d->queries_in_flight;
    if (room > PGW__SCAN_BATCH) {
        room = PGW__SCAN_BATCH;
    }
    if (room > 0) {
        pgw__due_queries(d, now, room);
    }
    /* refund_query / payout_query in the room left, ACCEPTED sweep */
    pgw_xfer_tick(d, PGW__MAX_QUERIES_IN_FLIGHT - d->queries_in_flight);
    /* ACCEPTED for more than 5 s: the intent commit failed; nothing was sent */
    n = pgw__collect(d,
                     "SELECT id FROM orders WHERE status = 'ACCEPTED'"
                     " AND updated_at < ? LIMIT 64",
                     now - 5000, ids, 64);
    for (int i = 0; i < n; i++) {
        pgw_dispatch_pay(d, ids[i]);
    }
    pgw_outbox_tick(d);
    pgw_auth_refresh(d);
    pgw_breaker_tick(d);
}


static void
pgw__tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    pgw_scheduler_tick(arg);
}


int
pgw_scheduler_start(struct pgw_daemon *d)
{
    struct timeval tv;

    d->scan_timer = event_new(d->base, -1, EV_PERSIST, pgw__tick_cb, d);
    if (d->scan_timer == NULL) {
        return PGW_ERR;
    }
    tv.tv_sec = d->conf->scan_interval_ms / 1000;
    tv.tv_usec = (d->conf->scan_interval_ms % 1000) * 1000;
    return event_add(d->scan_timer, &tv) == 0 ? PGW_OK : PGW_ERR;
}


int
pgw_recover(struct pgw_daemon *d)
{
    struct pgw_txn *txn = pgw_txn_new();
    int64_t ids[PGW__SCAN_BATCH];
    int n = 0, total = 0;

    if (txn == NULL) {
        return PGW_ERR;
    }
    /* sends that may have happened: never again, the query settles them */
    pgw_txn_add(txn, -1,
                "UPDATE attempts SET state = 'UNKNOWN', error = 'process ended"
                " during the send', finished_at = ? WHERE state = 'SENDING'",
                "i", pgw_now_ms());
    if (pgw_store_exec_now(d->store, txn) != PGW_OK) {
        return PGW_ERR;
    }
    /* refunds and payouts first: their recovery commits synchronously too,
     * which must happen before any dispatch opens a group commit */
    if (pgw_xfer_recover(d) != PGW_OK) {
        return PGW_ERR;
    }
    /* never sent: send now (the CAS makes a double dispatch harmless) */
    do {
        n = pgw__collect(d,
                         "SELECT id FROM orders WHERE status = 'ACCEPTED'"
                         " AND id > ? ORDER BY id LIMIT 256",
                         total ? ids[n - 1] : 0, ids, PGW__SCAN_BATCH);
        for (int i = 0; i < n; i++) {
            pgw_dispatch_pay(d, ids[i]);
        }
        total += n;
    } while (n == PGW__SCAN_BATCH);
    pgw_log(PGW_LOG_INFO, "recover", "%d accepted orders dispatched", total);
    return PGW_OK;
}
