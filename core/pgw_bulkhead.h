/*
 * pgw_bulkhead.h — per-channel bulkheads on the send path (docs/bulkheads.md).
 *
 * Each channel has a concurrency cap (sends in flight), a QPS cap (token
 * bucket on the monotonic clock, burst = one second's worth) and its own
 * bounded FIFO wait queue. A send over a cap waits in its channel's queue
 * and starts when a slot and a token free; it never blocks the loop or
 * another channel. A send that cannot be queued (queue full) or waited
 * longer than queue_wait_ms is rejected: it never left this host.
 *
 * Everything runs on the loop thread. start and reject of a queued item are
 * called from the channel's own timer (a clean stack), never from inside
 * pgw_bulkhead_submit or pgw_bulkhead_release.
 */

#ifndef PGW_BULKHEAD_H
#define PGW_BULKHEAD_H

#include <stdint.h>

struct event_base;
struct pgw_bulkhead;

struct pgw_bh_limits {
    int max_concurrency;         /* <= 0: no cap */
    int qps;                     /* <= 0: no cap */
    int queue_max;               /* waiting sends at most (0: none wait) */
    int64_t queue_wait_ms;       /* a waiting send is rejected after this */
};

/* starts the send; PGW_OK when it is under way (its slot is then released
 * by pgw_bulkhead_release), anything else when it could not start (the
 * slot is given back and the caller's start is expected to have answered
 * its own caller) */
typedef int pgw_bh_start_fn(void *arg);
/* the send was refused without leaving this host; why says so */
typedef void pgw_bh_reject_fn(void *arg, const char *why);
/* the bulkhead is torn down with the send still waiting: free arg */
typedef void pgw_bh_abandon_fn(void *arg);

struct pgw_bh_stats {
    const char *channel;
    int in_flight;
    int queued;
    uint64_t rejected_total;
    uint64_t started_total;
};

/* clock: monotonic milliseconds; NULL takes CLOCK_MONOTONIC */
typedef int64_t pgw_bh_clock_fn(void *arg);

struct pgw_bulkhead *pgw_bulkhead_new(struct event_base *base);
/* waiting sends are abandoned */
void pgw_bulkhead_free(struct pgw_bulkhead *b);
void pgw_bulkhead_set_clock(struct pgw_bulkhead *b, pgw_bh_clock_fn *fn,
                            void *arg);

/* PGW_OK: started now (start returned PGW_OK), queued, or (queue full)
 * to be rejected from the channel's timer; PGW_ERR: out of memory, or
 * start returned an error (nothing held, nothing called later). */
int pgw_bulkhead_submit(struct pgw_bulkhead *b, const char *channel,
                        const struct pgw_bh_limits *lim,
                        pgw_bh_start_fn *start, pgw_bh_reject_fn *reject,
                        pgw_bh_abandon_fn *abandon, void *arg);
/* a started send of channel is over: its slot frees */
void pgw_bulkhead_release(struct pgw_bulkhead *b, const char *channel);
/* runs every channel's queue now (tests with an injected clock) */
void pgw_bulkhead_poke(struct pgw_bulkhead *b);

/* per channel, in first-use order; returns how many */
int pgw_bulkhead_stats(struct pgw_bulkhead *b,
                       void (*fn)(void *arg, const struct pgw_bh_stats *s),
                       void *arg);

#endif
