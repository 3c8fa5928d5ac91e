/*
 * pgw_order.h — the order and its state machine (SPEC §4).
 *
 * Invariants: a status changes only through pgw_order_txn_transition, which is a
 * compare-and-set on the old status, allowed only by the whitelist below, and
 * recorded with its reason and masked evidence in the same savepoint. Final
 * statuses (SUCCESS, FAILED, CLOSED) never change.
 */

#ifndef PGW_ORDER_H
#define PGW_ORDER_H

#include <stdint.h>

#include <jansson.h>

#include "pgw_core.h"

struct pgw_daemon;
struct pgw_txn;

struct pgw_order {
    int64_t id;
    char app_id[65];
    char out_trade_no[65];
    char voucher_id[48];
    char method[64];
    char currency[8];
    char channel[32];
    char pack_version[32];
    char channel_trade_no[128];
    char voucher_status[16];     /* PENDING READY FAILED */
    enum pgw_status status;
    int64_t amount;
    int64_t expire_seconds;
    int64_t created_at;
    int64_t updated_at;
    int64_t finished_at;
    int64_t next_query_at;
    int64_t query_count;
    int64_t not_found_since;
    char *subject;               /* owned, may be NULL */
    char *notify_url;            /* owned, may be NULL */
    char *credential;            /* owned JSON text, may be NULL */
    char *fail_reason;           /* owned, may be NULL */
    char *request_hash;          /* owned */
    char *request;               /* owned: the caller's request JSON as stored */
};

const char *pgw_status_name(enum pgw_status st);
enum pgw_status pgw_status_parse(const char *name);
int pgw_status_is_final(enum pgw_status st);
int pgw_transition_allowed(enum pgw_status from, enum pgw_status to);

/* loads fill *out (cleared first); PGW_OK, PGW_NOTFOUND or PGW_ERR */
int pgw_order_load_by_id(struct pgw_daemon *d, int64_t id, struct pgw_order *out);
int pgw_order_load_by_no(struct pgw_daemon *d, const char *app_id,
                         const char *out_trade_no, struct pgw_order *out);
int pgw_order_load_by_voucher(struct pgw_daemon *d, const char *voucher_id,
                              struct pgw_order *out);
/* by the number the channel knows; PGW_CONFLICT if it is ambiguous */
int pgw_order_load_by_channel_no(struct pgw_daemon *d, const char *channel,
                                 const char *out_trade_no, struct pgw_order *out);
void pgw_order_clear(struct pgw_order *o);

/* new: the order as a channel pack sees it (docs/internals.md) */
json_t *pgw_order_pack_json(struct pgw_daemon *d, const struct pgw_order *o);
/* new: the order as the caller sees it (GET /v1/payments/{no}) */
json_t *pgw_order_api_json(struct pgw_daemon *d, const struct pgw_order *o);

/* Adds the compare-and-set from -> to, its transitions row and, for a final
 * status with a notify_url, the caller notification to the outbox. Returns
 * PGW_ERR if the whitelist forbids it (nothing added). */
int pgw_order_txn_transition(struct pgw_daemon *d, struct pgw_txn *txn,
                             const struct pgw_order *o, enum pgw_status from,
                             enum pgw_status to, const char *reason,
                             const char *evidence);
/* Adds a discrepancy / alert row. */
void pgw_order_txn_discrepancy(struct pgw_daemon *d, struct pgw_txn *txn,
                               int64_t order_id, const char *kind,
                               const char *status, const char *evidence_class,
                               const char *code, const char *detail);
/* Adds a masked message row; returns its id. */
/* Keeps a pack's fields.keep (flat strings / integers) with the order: later
 * builders see them merged as order.channel_data (PayPal's capture id for a
 * refund). No-op for an empty or missing keep. */
void pgw_order_txn_keep(struct pgw_daemon *d, struct pgw_txn *txn,
                        int64_t order_id, const json_t *keep);
int64_t pgw_order_txn_message(struct pgw_daemon *d, struct pgw_txn *txn,
                              int64_t order_id, int64_t attempt_id,
                              const char *channel, const char *direction,
                              const char *op, long http_status,
                              const char *masked_body, const char *note);

#endif
