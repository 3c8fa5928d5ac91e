/*
 * test_query_plan.c -- the status keeping's pure decisions: the next step of
 * a due payment (core/pgw_query_plan.c), the ?refresh=true token bucket
 * (core/pgw_tokens.c) and the caller-notification retry delays
 * (pgw_outbox_delay_ms).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pgw_outbox.h"
#include "pgw_query_plan.h"
#include "pgw_tokens.h"

#define T0 1763800000000LL


static struct pgw_query_state
fresh(void)
{
    struct pgw_query_state s;

    memset(&s, 0, sizeof(s));
    s.now = T0 + 10000;
    s.created_at = T0;
    s.expire_seconds = 900;
    s.expiry_grace_s = 300;
    s.query_max = 5;
    s.close_max = 3;
    return s;
}


static void
test_a_fresh_order_is_queried_and_counted(void **state)
{
    struct pgw_query_state s = fresh();
    struct pgw_query_plan p;

    (void) state;
    pgw_query_plan(&s, &p);
    assert_string_equal(p.op, "query");
    assert_int_equal(p.counts, 1);
    assert_int_equal(p.to_review, 0);
}


static void
test_no_close_before_expiry_plus_grace(void **state)
{
    struct pgw_query_state s = fresh();
    struct pgw_query_plan p;

    (void) state;
    s.now = pgw_query_expired_at(T0, 900, 300);      /* not after it yet */
    pgw_query_plan(&s, &p);
    assert_string_equal(p.op, "query");
    s.now += 1;
    pgw_query_plan(&s, &p);
    assert_string_equal(p.op, "close");
    assert_int_equal(p.counts, 0);
    assert_int_equal(pgw_query_expired_at(T0, 900, 300), T0 + 1200000);
}


static void
test_after_expiry_query_and_close_alternate_up_to_close_max(void **state)
{
    struct pgw_query_state s = fresh();
    struct pgw_query_plan p;

    (void) state;
    s.now = T0 + 2000000;
    s.last_was_close = 1;                /* a close just went: query first */
    pgw_query_plan(&s, &p);
    assert_string_equal(p.op, "query");
    s.last_was_close = 0;
    s.closes = 2;
    pgw_query_plan(&s, &p);
    assert_string_equal(p.op, "close");
    s.closes = 3;                        /* close_max reached: queries only */
    pgw_query_plan(&s, &p);
    assert_string_equal(p.op, "query");
    assert_int_equal(p.counts, 1);
}


static void
test_exhausted_schedule_goes_to_review_once_and_keeps_querying(void **state)
{
    struct pgw_query_state s = fresh();
    struct pgw_query_plan p;

    (void) state;
    s.query_count = 4;
    pgw_query_plan(&s, &p);
    assert_int_equal(p.to_review, 0);
    s.query_count = 5;
    pgw_query_plan(&s, &p);
    assert_int_equal(p.to_review, 1);
    assert_string_equal(p.op, "query");   /* never a final status */
    s.in_review = 1;
    s.query_count = 50;
    pgw_query_plan(&s, &p);
    assert_int_equal(p.to_review, 0);
    assert_string_equal(p.op, "query");
}


static void
test_token_bucket_burst_then_rate(void **state)
{
    struct pgw_tokens b;
    int64_t wait = -1;

    (void) state;
    memset(&b, 0, sizeof(b));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pgw_tokens_take(&b, 2.0, 3.0, T0, &wait), 1);
        assert_int_equal(wait, 0);
    }
    assert_int_equal(pgw_tokens_take(&b, 2.0, 3.0, T0, &wait), 0);
    assert_true(wait > 0 && wait <= 501);
    /* 2 per second: one more after 500 ms, not before */
    assert_int_equal(pgw_tokens_take(&b, 2.0, 3.0, T0 + 400, &wait), 0);
    assert_int_equal(pgw_tokens_take(&b, 2.0, 3.0, T0 + 520, &wait), 1);
    /* refills to the burst, never past it */
    assert_int_equal(pgw_tokens_take(&b, 2.0, 3.0, T0 + 60000, &wait), 1);
    assert_int_equal(pgw_tokens_take(&b, 2.0, 3.0, T0 + 60000, &wait), 1);
    assert_int_equal(pgw_tokens_take(&b, 2.0, 3.0, T0 + 60000, &wait), 1);
    assert_int_equal(pgw_tokens_take(&b, 2.0, 3.0, T0 + 60000, &wait), 0);
}


static void
test_notify_delays_follow_the_schedule(void **state)
{
    /* the default: 9 delays, 10 attempts, about 12 hours */
    static const int64_t def[] = { 15000, 15000, 30000, 180000, 600000,
                                   1800000, 3600000, 14400000, 21600000 };
    int64_t sum = 0;

    (void) state;
    for (int a = 1; a <= 9; a++) {
        sum += pgw_outbox_delay_ms(def, 9, a);
    }
    assert_true(sum >= 11 * 3600000LL && sum <= 13 * 3600000LL);
    assert_int_equal(pgw_outbox_delay_ms(def, 9, 1), 15000);
    assert_int_equal(pgw_outbox_delay_ms(def, 9, 9), 21600000);
    assert_int_equal(pgw_outbox_delay_ms(def, 9, 12), 21600000);
    assert_int_equal(pgw_outbox_delay_ms(def, 0, 1), 60000);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_fresh_order_is_queried_and_counted),
        cmocka_unit_test(test_no_close_before_expiry_plus_grace),
        cmocka_unit_test(test_after_expiry_query_and_close_alternate_up_to_close_max),
        cmocka_unit_test(test_exhausted_schedule_goes_to_review_once_and_keeps_querying),
        cmocka_unit_test(test_token_bucket_burst_then_rate),
        cmocka_unit_test(test_notify_delays_follow_the_schedule),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
