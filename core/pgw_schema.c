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
 */

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
    " cleared_at BIGINT);";
