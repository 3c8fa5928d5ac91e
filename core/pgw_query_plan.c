/*
 * pgw_query_plan.c — the next step of a due PROCESSING payment: a query, a
 * close after expiry, entering the review queue (pgw_query_plan.h).
 */

#include <stddef.h>

#include "pgw_query_plan.h"


int64_t
pgw_query_expired_at(int64_t created_at, int64_t expire_seconds,
                     int64_t expiry_grace_s)
{
    return created_at + (expire_seconds + expiry_grace_s) * 1000;
}


void
pgw_query_plan(const struct pgw_query_state *s, struct pgw_query_plan *p)
{
    int expired = s->now > pgw_query_expired_at(s->created_at,
                                                s->expire_seconds,
                                                s->expiry_grace_s);

    p->op = "query";
    p->counts = 1;
    p->to_review = !s->in_review && s->query_max > 0
                   && s->query_count >= s->query_max;
    if (expired && s->closes < s->close_max && !s->last_was_close) {
        /* query, close, query, close ...: a payment that arrived late is
         * seen by the query before the close could hide it */
        p->op = "close";
        p->counts = 0;
    }
}
