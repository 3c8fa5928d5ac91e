/*
 * pgw_xfer.h — refunds and payouts (SPEC §3.4): money leaving the merchant.
 *
 * Both follow the order rules of SPEC §4 with their own rows (pgw_schema.c):
 * stored durably before the caller's 202; the SENDING attempt committed
 * before the send and never re-sent (after a crash it is UNKNOWN and the
 * query settles it); only an explicit success code is SUCCESS, only an
 * explicit definite-failure code is FAILED, everything else PROCESSING and
 * settled by refund_query / payout_query or a verified notify; "not found"
 * on a query is never a failure; the first final result wins, contrary
 * evidence is a discrepancy. A refund goes to the channel that took its
 * payment; a payout to the requested channel, else the first configured
 * channel whose pack offers payout in its currency — and is never rerouted.
 */

#ifndef PGW_XFER_H
#define PGW_XFER_H

#include <stdint.h>

#include "pgw_core.h"

struct evhttp_request;
struct pgw_daemon;
struct pgw_txn;

/* POST /v1/refunds, POST /v1/payouts (payout = 1) */
void pgw_xfer_api_create(struct pgw_daemon *d, struct evhttp_request *req,
                         const char *app_id, int payout);
/* GET /v1/refunds/{no}, GET /v1/payouts/{no} */
void pgw_xfer_api_get(struct pgw_daemon *d, struct evhttp_request *req,
                      const char *app_id, const char *no, int payout);

/* The refund INSERT with its guard, in one statement: it inserts only when
 * the payment is SUCCESS and the refunds of that payment that are not FAILED
 * plus this one stay within its amount; otherwise it changes no row, which
 * the txn's expectation turns into PGW_CONFLICT. Plus the NULL -> ACCEPTED
 * transition row (id transition_id). */
void pgw_refund_txn_insert(struct pgw_txn *txn, int64_t id,
                           int64_t transition_id, const char *app_id,
                           const char *out_refund_no, int64_t order_id,
                           const char *request_hash, const char *request,
                           int64_t amount, const char *reason,
                           const char *notify_url, int64_t now);

/* scheduler: due refund_query / payout_query (at most `room`), and ACCEPTED
 * rows whose intent commit failed; returns the number of queries started */
int pgw_xfer_tick(struct pgw_daemon *d, int room);
/* start-up, after attempts SENDING became UNKNOWN: payout attempts alike,
 * and ACCEPTED refunds / payouts (never sent) are dispatched */
int pgw_xfer_recover(struct pgw_daemon *d);

/* a verified notify of kind "refund" / "payout": find the row at that
 * channel by its number; PGW_OK with *id set, PGW_NOTFOUND, PGW_CONFLICT */
int pgw_xfer_find(struct pgw_daemon *d, int payout, const char *channel,
                  const char *no, int64_t *id, int64_t *amount);
/* the same by the channel's own refund / payout id (a notify that does not
 * echo our number, e.g. Square's refund.updated) */
int pgw_xfer_find_by_channel_no(struct pgw_daemon *d, int payout,
                                const char *channel, const char *channel_no,
                                int64_t *id, int64_t *amount);
typedef void pgw_xfer_settled_fn(void *arg, int rc);
/* applies final evidence (SUCCESS / FAILED) to a refund / payout: CAS from
 * PROCESSING, duplicate no-op, contrary -> discrepancy; then(arg, rc) once
 * durable */
void pgw_xfer_settle(struct pgw_daemon *d, int payout, int64_t id,
                     enum pgw_status to, const char *reason,
                     const char *evidence, const char *source,
                     const char *channel_no, pgw_xfer_settled_fn *then,
                     void *arg);

#endif
