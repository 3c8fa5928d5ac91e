/*
 * pgw_schema.c — tables of the durable store.
 *
 * orders       one row per (app_id, out_trade_no): the idempotency key; status
 *              changes only by compare-and-set (pgw_order.c).
 * attempts     one row per message sent (or about to be sent) to a channel. A row
 *              in state SENDING is written and committed BEFORE the send starts:
 *              after a crash it proves the send may have happened.
 * transitions  every status change with its reason and masked evidence.
 * messages     every raw channel message in and out, masked.
 * outbox       notifications to the caller, retried until acknowledged.
 * outbox_tries one row per delivery attempt.
 * discrepancies contrary evidence after a final status, and other alerts.
 * order_channel_data  per order, the channel values a pack asked the host to
 *              keep (fields.keep, e.g. PayPal's capture id) for later builders
 *              (order.channel_data).
 *
 * Refunds and payouts (SPEC §3.4, pgw_xfer.c) add tables and leave the ones
 * above unchanged:
 * refunds      one row per (app_id, out_refund_no), the idempotency key; it
 *              belongs to its payment (order_id) and goes to that payment's
 *              channel. The refund-sum guard (refunds not FAILED never exceed
 *              the payment) is part of the INSERT itself, so it holds inside
 *              the writer's transaction, whatever runs concurrently.
 * refund_attempts  links an `attempts` row (order_id = the payment, op
 *              refund / refund_query) to its refund: a payment may have many
 *              refunds, so the attempt alone would not say whose it is.
 *              Their messages are `messages` rows of the payment, op refund*.
 * payouts      one row per (app_id, out_payout_no). A payout has no payment
 *              order, and attempts.order_id is NOT NULL with a foreign key,
 *              so payouts keep their own attempts:
 * payout_attempts  the same columns and states as `attempts` (SENDING is
 *              committed before the send) plus payout_id. Payout messages are
 *              `messages` rows with order_id NULL whose attempt_id is a
 *              payout_attempts id (op payout / payout_query).
 * xfer_transitions  every refund / payout status change (kind 'refund' or
 *              'payout', xfer_id = its row id) with reason and evidence.
 * payout_outbox, payout_outbox_tries  caller notifications of payouts: the
 *              columns of outbox / outbox_tries with payout_id for order_id
 *              (outbox.order_id is NOT NULL REFERENCES orders); the same
 *              delivery code serves both (pgw_outbox.c). Refund notifications
 *              are ordinary outbox rows of the payment.
 * review_queue PROCESSING payments whose query schedule is exhausted
 *              (pgw_dispatch.c): one row per order, cleared_at set when the
 *              order reaches a final status; an alert (discrepancy
 *              'review') goes with the row. The order is never FAILED for it.
 * Refund and payout discrepancies are `discrepancies` rows (order_id = the
 * payment for refunds, NULL for payouts) whose kind starts with refund_ /
 * payout_ and whose detail names the out_refund_no / out_payout_no.
 *
 * Statement reconciliation (pgw_recon*.c, docs/reconciliation.md):
 * recon_runs   one row per run: channel, statement day, source, who, the
 *              counts per category, state RUNNING DONE FAILED.
 * Its findings are `discrepancies` rows with kind recon_<category> and
 * run_id; every discrepancy has a workflow state (open, acknowledged,
 * resolved; carried for a day-cut item), changed only through the admin
 * API and recorded in discrepancy_audit. Those columns are added to an
 * existing database by pgw_schema_migrate (ALTER TABLE, guarded).
 */

#include <stdio.h>
#include <string.h>

#include "pgw_schema.h"

const char pgw_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS orders ("
    " id BIGINT PRIMARY KEY,"
    " app_id TEXT NOT NULL,"
    " out_trade_no TEXT NOT NULL,"
    " voucher_id TEXT NOT NULL UNIQUE,"
    " request_hash TEXT NOT NULL,"
    " request TEXT NOT NULL,"
    " amount BIGINT NOT NULL,"
    " currency TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    " subject TEXT,"
    " notify_url TEXT,"
    " expire_seconds BIGINT NOT NULL,"
    " channel TEXT,"
    " pack_version TEXT,"
    " channel_trade_no TEXT,"
    " status TEXT NOT NULL,"
    " voucher_status TEXT NOT NULL,"
    " credential TEXT,"
    " fail_reason TEXT,"
    " next_query_at BIGINT,"
    " query_count BIGINT NOT NULL DEFAULT 0,"
    " not_found_since BIGINT,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " finished_at BIGINT,"
    " UNIQUE (app_id, out_trade_no));"
    "CREATE INDEX IF NOT EXISTS orders_query ON orders (status, next_query_at);"
    "CREATE INDEX IF NOT EXISTS orders_channel_no ON orders (channel, out_trade_no);"
    "CREATE TABLE IF NOT EXISTS attempts ("
    " id BIGINT PRIMARY KEY,"
    " order_id BIGINT NOT NULL REFERENCES orders (id),"
    " op TEXT NOT NULL,"
    " channel TEXT NOT NULL,"
    " pack_version TEXT NOT NULL,"
    " state TEXT NOT NULL,"          /* SENDING ANSWERED NOT_SENT UNKNOWN */
    " class TEXT,"
    " code TEXT,"
    " error TEXT,"
    " http_status BIGINT,"
    " started_at BIGINT NOT NULL,"
    " finished_at BIGINT);"
    "CREATE INDEX IF NOT EXISTS attempts_order ON attempts (order_id);"
    "CREATE TABLE IF NOT EXISTS transitions ("
    " id BIGINT PRIMARY KEY,"
    " order_id BIGINT NOT NULL REFERENCES orders (id),"
    " from_status TEXT,"
    " to_status TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " evidence TEXT,"
    " at BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS transitions_order ON transitions (order_id);"
    "CREATE TABLE IF NOT EXISTS messages ("
    " id BIGINT PRIMARY KEY,"
    " order_id BIGINT,"
    " attempt_id BIGINT,"
    " channel TEXT NOT NULL,"
    " direction TEXT NOT NULL,"      /* request response notify */
    " op TEXT NOT NULL,"
    " http_status BIGINT,"
    " body TEXT,"                    /* masked */
    " note TEXT,"
    " at BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS messages_order ON messages (order_id);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    " id BIGINT PRIMARY KEY,"
    " event_id TEXT NOT NULL UNIQUE,"
    " order_id BIGINT NOT NULL REFERENCES orders (id),"
    " app_id TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " url TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " state TEXT NOT NULL,"          /* PENDING DELIVERED GAVE_UP */
    " attempts BIGINT NOT NULL DEFAULT 0,"
    " next_at BIGINT NOT NULL,"
    " last_error TEXT,"
    " created_at BIGINT NOT NULL,"
    " delivered_at BIGINT);"
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_at);"
    "CREATE INDEX IF NOT EXISTS outbox_order ON outbox (order_id, id);"
    "CREATE TABLE IF NOT EXISTS outbox_tries ("
    " id BIGINT PRIMARY KEY,"
    " outbox_id BIGINT NOT NULL REFERENCES outbox (id),"
    " http_status BIGINT,"
    " error TEXT,"
    " at BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS discrepancies ("
    " id BIGINT PRIMARY KEY,"
    " order_id BIGINT,"
    " kind TEXT NOT NULL,"
    " status TEXT,"
    " evidence_class TEXT,"
    " code TEXT,"
    " detail TEXT,"
    " acknowledged BIGINT NOT NULL DEFAULT 0,"
    " at BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS refunds ("
    " id BIGINT PRIMARY KEY,"
    " app_id TEXT NOT NULL,"
    " out_refund_no TEXT NOT NULL,"
    " order_id BIGINT NOT NULL REFERENCES orders (id),"
    " request_hash TEXT NOT NULL,"
    " request TEXT NOT NULL,"
    " amount BIGINT NOT NULL,"
    " currency TEXT NOT NULL,"
    " reason TEXT,"
    " notify_url TEXT,"
    " channel TEXT NOT NULL,"
    " pack_version TEXT,"
    " channel_refund_no TEXT,"
    " status TEXT NOT NULL,"         /* ACCEPTED PROCESSING SUCCESS FAILED */
    " fail_reason TEXT,"
    " next_query_at BIGINT,"
    " query_count BIGINT NOT NULL DEFAULT 0,"
    " not_found_since BIGINT,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " finished_at BIGINT,"
    " UNIQUE (app_id, out_refund_no));"
    "CREATE INDEX IF NOT EXISTS refunds_order ON refunds (order_id);"
    "CREATE INDEX IF NOT EXISTS refunds_query ON refunds (status, next_query_at);"
    "CREATE TABLE IF NOT EXISTS refund_attempts ("
    " attempt_id BIGINT PRIMARY KEY REFERENCES attempts (id),"
    " refund_id BIGINT NOT NULL REFERENCES refunds (id));"
    "CREATE INDEX IF NOT EXISTS refund_attempts_refund ON refund_attempts (refund_id);"
    "CREATE TABLE IF NOT EXISTS payouts ("
    " id BIGINT PRIMARY KEY,"
    " app_id TEXT NOT NULL,"
    " out_payout_no TEXT NOT NULL,"
    " request_hash TEXT NOT NULL,"
    " request TEXT NOT NULL,"        /* the caller's body: needed to build */
    " amount BIGINT NOT NULL,"
    " currency TEXT NOT NULL,"
    " account_masked TEXT NOT NULL,"
    " notify_url TEXT,"
    " channel TEXT NOT NULL,"
    " pack_version TEXT,"
    " channel_payout_no TEXT,"
    " status TEXT NOT NULL,"
    " fail_reason TEXT,"
    " next_query_at BIGINT,"
    " query_count BIGINT NOT NULL DEFAULT 0,"
    " not_found_since BIGINT,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " finished_at BIGINT,"
    " UNIQUE (app_id, out_payout_no));"
    "CREATE INDEX IF NOT EXISTS payouts_query ON payouts (status, next_query_at);"
    "CREATE TABLE IF NOT EXISTS payout_attempts ("
    " id BIGINT PRIMARY KEY,"
    " payout_id BIGINT NOT NULL REFERENCES payouts (id),"
    " op TEXT NOT NULL,"
    " channel TEXT NOT NULL,"
    " pack_version TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " class TEXT,"
    " code TEXT,"
    " error TEXT,"
    " http_status BIGINT,"
    " started_at BIGINT NOT NULL,"
    " finished_at BIGINT);"
    "CREATE INDEX IF NOT EXISTS payout_attempts_payout ON payout_attempts (payout_id);"
    "CREATE TABLE IF NOT EXISTS xfer_transitions ("
    " id BIGINT PRIMARY KEY,"
    " kind TEXT NOT NULL,"           /* refund payout */
    " xfer_id BIGINT NOT NULL,"
    " from_status TEXT,"
    " to_status TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " evidence TEXT,"
    " at BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS xfer_transitions_x ON xfer_transitions (kind, xfer_id);"
    "CREATE TABLE IF NOT EXISTS payout_outbox ("
    " id BIGINT PRIMARY KEY,"
    " event_id TEXT NOT NULL UNIQUE,"
    " payout_id BIGINT NOT NULL REFERENCES payouts (id),"
    " app_id TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " url TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " attempts BIGINT NOT NULL DEFAULT 0,"
    " next_at BIGINT NOT NULL,"
    " last_error TEXT,"
    " created_at BIGINT NOT NULL,"
    " delivered_at BIGINT);"
    "CREATE INDEX IF NOT EXISTS payout_outbox_due ON payout_outbox (state, next_at);"
    "CREATE INDEX IF NOT EXISTS payout_outbox_payout ON payout_outbox (payout_id, id);"
    "CREATE TABLE IF NOT EXISTS payout_outbox_tries ("
    " id BIGINT PRIMARY KEY,"
    " outbox_id BIGINT NOT NULL REFERENCES payout_outbox (id),"
    " http_status BIGINT,"
    " error TEXT,"
    " at BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS order_channel_data ("
    " order_id BIGINT PRIMARY KEY REFERENCES orders (id),"
    " data TEXT NOT NULL,"           /* JSON object: what packs asked to keep */
    " updated_at BIGINT NOT NULL);"
    /* ops route rules (docs/routing.md): channel x method x app, '' = all */
    "CREATE TABLE IF NOT EXISTS route_rules ("
    " channel TEXT NOT NULL,"
    " method TEXT NOT NULL DEFAULT '',"
    " app TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL,"          /* enabled disabled draining */
    " weight BIGINT NOT NULL DEFAULT 100,"
    " until_ms BIGINT,"              /* NULL = until changed */
    " updated_at BIGINT NOT NULL,"
    " PRIMARY KEY (channel, method, app));"
    /* every pack version change: installed, canary, promoted, rolled_back,
     * canary_dropped, canary_rolled_back, refused (docs/pack-versions.md) */
    /* circuit breakers not closed (routing/pgw_breaker.c): restored at start */
    "CREATE TABLE IF NOT EXISTS breaker_state ("
    " channel TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    " opened_at BIGINT NOT NULL,"
    " changed_at BIGINT NOT NULL,"
    " PRIMARY KEY (channel, method));"
    "CREATE TABLE IF NOT EXISTS pack_events ("
    " id INTEGER PRIMARY KEY,"
    " at BIGINT NOT NULL,"
    " channel TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " old_version TEXT,"
    " new_version TEXT,"
    " who TEXT,"
    " reason TEXT,"
    " error TEXT);"
    "CREATE TABLE IF NOT EXISTS route_audit ("
    " id INTEGER PRIMARY KEY,"
    " at BIGINT NOT NULL,"
    " who TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " channel TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    " app TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " old TEXT,"                     /* JSON rule before, NULL if none */
    " new TEXT NOT NULL);"           /* JSON rule after */
    /* why each pay attempt went to its channel */
    "CREATE TABLE IF NOT EXISTS order_routes ("
    " attempt_id BIGINT PRIMARY KEY,"
    " order_id BIGINT NOT NULL REFERENCES orders (id),"
    " channel TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " at BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS order_routes_order ON order_routes (order_id);"
    "CREATE TABLE IF NOT EXISTS review_queue ("
    " order_id BIGINT PRIMARY KEY REFERENCES orders (id),"
    " since BIGINT NOT NULL,"
    " reason TEXT NOT NULL,"
    " cleared_at BIGINT);"
    "CREATE INDEX IF NOT EXISTS orders_channel_created ON orders (channel, created_at);"
    "CREATE TABLE IF NOT EXISTS recon_runs ("
    " id BIGINT PRIMARY KEY,"
    " channel TEXT NOT NULL,"
    " date TEXT NOT NULL,"           /* YYYY-MM-DD, the statement's day */
    " tz TEXT NOT NULL,"             /* the statement's UTC offset, +08:00 */
    " window_s BIGINT NOT NULL,"     /* day-cut window */
    " source TEXT NOT NULL,"         /* file:<name> */
    " who TEXT NOT NULL,"
    " state TEXT NOT NULL,"          /* RUNNING DONE FAILED */
    " error TEXT,"
    " rows BIGINT,"
    " orders BIGINT,"
    " matched BIGINT,"
    " counts TEXT,"                  /* JSON {long, short, ...} */
    " totals TEXT,"                  /* JSON: the statement's own totals */
    " started_at BIGINT NOT NULL,"
    " finished_at BIGINT);"
    "CREATE INDEX IF NOT EXISTS recon_runs_day ON recon_runs (channel, date);"
    "CREATE TABLE IF NOT EXISTS discrepancy_audit ("
    " id INTEGER PRIMARY KEY,"
    " discrepancy_id BIGINT NOT NULL,"
    " at BIGINT NOT NULL,"
    " who TEXT NOT NULL,"
    " action TEXT NOT NULL,"         /* acknowledge resolve (auto: recon) */
    " old_state TEXT,"
    " new_state TEXT NOT NULL,"
    " note TEXT);"
    "CREATE INDEX IF NOT EXISTS discrepancy_audit_d ON discrepancy_audit (discrepancy_id);";


/* columns added after a database was first created: name, then definition */
static const char *const pgw__added_columns[][3] = {
    { "discrepancies", "run_id", "BIGINT" },
    { "discrepancies", "state", "TEXT" },       /* NULL: open (older rows) */
    { "discrepancies", "note", "TEXT" },
    { "discrepancies", "handled_by", "TEXT" },
    { "discrepancies", "handled_at", "BIGINT" },
};


int
pgw_schema_migrate(sqlite3 *db, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(pgw__added_columns) / sizeof(pgw__added_columns[0]);
         i++) {
        const char *table = pgw__added_columns[i][0];
        const char *col = pgw__added_columns[i][1];
        char sql[256];
        sqlite3_stmt *st;
        int have = 0;

        snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "migrate %s: %s", table, sqlite3_errmsg(db));
            return -1;
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *name = sqlite3_column_text(st, 1);
            if (name && strcmp((const char *) name, col) == 0) {
                have = 1;
            }
        }
        sqlite3_finalize(st);
        if (have) {
            continue;
        }
        snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s", table, col,
                 pgw__added_columns[i][2]);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "migrate %s.%s: %s", table, col, sqlite3_errmsg(db));
            return -1;
        }
    }
    if (sqlite3_exec(db, "CREATE INDEX IF NOT EXISTS discrepancies_run"
                         " ON discrepancies (run_id);"
                         "CREATE INDEX IF NOT EXISTS discrepancies_state"
                         " ON discrepancies (state, kind);",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "migrate indexes: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}
