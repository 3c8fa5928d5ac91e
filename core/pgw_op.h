/*
 * pgw_op.h — one channel operation of an order (pay, query, close, cancel,
 * refund, payout, ...): build with the channel's current pack version, send
 * through the transport, interpret the answer into an attempt row and a
 * masked message, and the per-channel settings those steps need.
 *
 * An op retains its pack version from build to interpretation, so an answer
 * is always read by the version that built the request.
 */

#ifndef PGW_OP_H
#define PGW_OP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pgw_pack.h"
#include "pgw_transport.h"

struct pgw_daemon;
struct pgw_order;
struct pgw_txn;

struct pgw_op {
    struct pgw_daemon *d;
    int64_t order_id;
    int64_t attempt_id;
    char op[16];                 /* pack operation name */
    char channel[32];
    struct pgw_pack *pack;       /* retained */
    struct pgw_msg msg;
    json_t *order_json;          /* owned: what the builder saw */
    int prepay;                  /* pay of a prepay method */
    int payout;                  /* attempt_id is a payout_attempts row and
                                    order_id is 0 (a payout has no order) */
    char *scrub;                 /* owned, may be NULL: text (a payee's
                                    account number) masked out of every
                                    message this op records */
    void *data;                  /* the caller's, e.g. a refund row id */
    /* the send through the channel's bulkhead (pgw_op_send) */
    pgw_http_done_fn *sent_done; /* the caller's done */
    int sent_fresh;
    int bh_held;                 /* holds a slot of its channel's bulkhead */
    int bh_submitting;           /* inside pgw_bulkhead_submit */
    int bh_rejected;             /* refused by our own bulkhead: says nothing
                                    about the channel's health */
};

/* An op on the channel's current pack version (retained); NULL when out of
 * memory or the channel has no pack loaded. */
struct pgw_op *pgw_op_new(struct pgw_daemon *d, int64_t order_id,
                          const char *opname, const char *channel);
void pgw_op_free(struct pgw_op *op);

/* Builds op->msg for the order (op->order_json becomes the order's pack JSON
 * plus notify_url); PGW_ERR + err when the pack could not build it. */
int pgw_op_build(struct pgw_op *op, const struct pgw_order *o, char *err,
                 size_t errlen);
/* The same for an order JSON the caller made (refund / payout ops: the
 * payment's pack JSON plus `refund`, or a payout's own); steals order_json. */
int pgw_op_build_json(struct pgw_op *op, json_t *order_json, char *err,
                      size_t errlen);
/* new: text with every occurrence of needle (>= 1 byte) replaced by its mask
 * (first 6 and last 4 characters kept when it has 13 or more, else only the
 * last 4 when it has 8 or more, else all masked). NULL when out of memory. */
char *pgw_op_scrub(const char *text, const char *needle);
/* Sends op->msg (fresh: a new connection) through the channel's bulkhead
 * (pgw_bulkhead.h): at once, or after a wait in the channel's queue; done
 * gets op back as its arg. A send the bulkhead refuses (queue full, waited
 * too long) is answered NOT_SENT with the reason in res->error, from the
 * loop, never from inside this call. */
int pgw_op_send(struct pgw_op *op, int fresh, pgw_http_done_fn *done);
/* Interprets a transport result with the op's pack and starts the txn that
 * records it: the attempt's final state and the masked answer. NULL when out
 * of memory (out is then cleared). evidence gets "class=... code=...". */
struct pgw_txn *pgw_op_interpret(struct pgw_op *op,
                                 const struct pgw_http_result *res,
                                 struct pgw_outcome *out, char *evidence,
                                 size_t evlen);
const char *pgw_op_evidence(const struct pgw_outcome *out, char *buf,
                            size_t len);

/* per-channel settings: paygwd.conf overrides the pack manifest */
int64_t pgw_channel_first_query_delay(struct pgw_daemon *d, const char *channel,
                                      const json_t *man);
int64_t pgw_channel_query_backoff(struct pgw_daemon *d, const char *channel,
                                  const json_t *man, int64_t count);
struct pgw_bh_limits;
/* max_concurrency, qps: the manifest's, paygwd.conf overrides; queue_max,
 * queue_wait_ms: paygwd.conf (defaults in docs/bulkheads.md) */
void pgw_channel_bulkhead(struct pgw_daemon *d, const char *channel,
                          const json_t *man, struct pgw_bh_limits *lim);
void pgw_channel_timeouts(struct pgw_daemon *d, const char *channel,
                          const json_t *man, long *connect_ms, long *total_ms);

#endif
