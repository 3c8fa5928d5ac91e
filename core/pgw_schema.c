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
    " at BIGINT NOT NULL);";
