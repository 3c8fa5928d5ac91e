/*
 * pgw_outbox.h — delivery of caller notifications from the durable outbox
 * (SPEC §3.5): signed POSTs, any 2xx acknowledges, otherwise retried on the
 * decaying schedule notify_backoff; every attempt is recorded.
 */

#ifndef PGW_OUTBOX_H
#define PGW_OUTBOX_H

struct pgw_daemon;

#include <stdint.h>

/* the wait after delivery attempt `attempt` (1-based) failed: the
 * attempt-th delay of the schedule (the last one repeats) */
int64_t pgw_outbox_delay_ms(const int64_t *backoff_ms, int n, int64_t attempt);

/* sends what is due (called by the scheduler tick) */
void pgw_outbox_tick(struct pgw_daemon *d);

#endif
