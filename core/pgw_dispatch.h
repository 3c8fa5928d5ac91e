/*
 * pgw_dispatch.h — running channel operations for an order: pay (with the
 * NOT_SENT-only reroute), query and close, and applying their outcomes.
 *
 * Money rules enforced here:
 *  - a pay is sent only after the ACCEPTED -> PROCESSING compare-and-set and the
 *    SENDING attempt row are committed; a lost CAS means someone else owns the
 *    send, so nothing is sent;
 *  - only PGW_CLASS_NOT_SENT (transport proof or a rejected-before-processing
 *    code) moves an order to another channel;
 *  - only SUCCESS / FAILED / CLOSED classes move an order to a final status; a
 *    final status already set is never changed, contrary evidence is recorded
 *    as a discrepancy.
 */

#ifndef PGW_DISPATCH_H
#define PGW_DISPATCH_H

#include <stdint.h>

#include <jansson.h>

#include "pgw_core.h"

struct pgw_daemon;

/* sends the pay of an ACCEPTED order (no-op for any other status) */
void pgw_dispatch_pay(struct pgw_daemon *d, int64_t order_id);
/* queries a PROCESSING order at its channel */
void pgw_dispatch_query(struct pgw_daemon *d, int64_t order_id);
/* one query now, outside the schedule (GET ?refresh=true) */
void pgw_dispatch_refresh(struct pgw_daemon *d, int64_t order_id);
/* how many more payment queries channel may have in flight (its
 * query_concurrency, default 32, minus those running) */
int pgw_dispatch_query_room(struct pgw_daemon *d, const char *channel);
/* asks the channel to close a PROCESSING order */
void pgw_dispatch_close(struct pgw_daemon *d, int64_t order_id);
/* sends the shopper's next leg of a PROCESSING order's payment (the pack's
 * `details` op, order.details = details): the voucher goes PENDING until the
 * answer brings the next step (READY with it) or the outcome. PGW_OK once
 * the attempt's intent is submitted; PGW_ERR with err when nothing was sent
 * (the pack refused to build it, the channel has no token yet) */
int pgw_dispatch_details(struct pgw_daemon *d, int64_t order_id,
                         const json_t *details, char *err, size_t errlen);

/* Applies final evidence to an order: a CAS from its current non-final status
 * to `to`; duplicates are no-ops, contrary evidence opens a discrepancy.
 * channel_trade_no may be NULL. */
typedef void pgw_settled_fn(void *arg, int rc);
/* then (may be NULL) runs once the evidence is durable (rc PGW_OK: applied,
 * a duplicate or a recorded discrepancy) or failed to be stored (PGW_ERR). */
void pgw_settle(struct pgw_daemon *d, int64_t order_id, enum pgw_status to,
                const char *reason, const char *evidence, const char *source,
                const char *channel_trade_no, pgw_settled_fn *then, void *arg);

/* called after any committed change that a long-poll may wait for */
void pgw_waiters_wake(struct pgw_daemon *d, int64_t order_id);

#endif
