/*
 * pgw_query_plan.h — what the query scheduler does next for one due
 * PROCESSING payment (pure: no store, no loop; tests/unit/test_query_plan.c).
 */

#ifndef PGW_QUERY_PLAN_H
#define PGW_QUERY_PLAN_H

#include <stdint.h>

struct pgw_query_state {
    int64_t now;
    int64_t created_at;          /* ms */
    int64_t expire_seconds;      /* the credential's life */
    int64_t expiry_grace_s;
    int64_t query_count;         /* scheduled queries made so far */
    int64_t query_max;           /* the schedule's length */
    int64_t closes;              /* close attempts made (not NOT_SENT) */
    int64_t close_max;
    int last_was_close;          /* the order's latest op was a close */
    int in_review;               /* already in the review queue */
};

struct pgw_query_plan {
    const char *op;              /* "query" or "close" */
    int counts;                  /* 1: a scheduled query (query_count + 1) */
    int to_review;               /* 1: the schedule is exhausted: enter the
                                    review queue (with its alert) now */
};

/* The step for a due order. Queries follow the schedule; once the order's
 * credential has expired (plus grace) a close is tried between queries, at
 * most close_max times — only its confirmed answer makes the order CLOSED,
 * and the query before it catches a late payment. When query_count reaches
 * query_max the order enters the review queue once and the queries go on at
 * the schedule's last step: a late answer still settles it; never FAILED. */
void pgw_query_plan(const struct pgw_query_state *s, struct pgw_query_plan *p);

/* the expiry instant (ms) after which an unpaid order may be closed */
int64_t pgw_query_expired_at(int64_t created_at, int64_t expire_seconds,
                             int64_t expiry_grace_s);

#endif
