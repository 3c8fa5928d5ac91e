/*
 * test_health.c — channel health windows (1 min, 10 min, p99) and the
 * circuit breaker's transitions with an injected clock (routing/pgw_health.h).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pgw_health.h"

#define T0 1800000000000LL   /* an epoch ms */


static void
test_windows(void **state)
{
    struct pgw_health *h;
    struct pgw_health_stats st;

    (void) state;
    pgw_health_reset();
    h = pgw_health_get("wechatpay_v2", "wechat.native");
    assert_non_null(h);
    assert_ptr_equal(h, pgw_health_get("wechatpay_v2", "wechat.native"));
    assert_ptr_not_equal(h, pgw_health_get("wechatpay_v2", "wechat.jsapi"));

    for (int i = 0; i < 98; i++) {
        pgw_health_record(h, PGW_HK_SUCCESS, 20, T0 + i * 100, 0);
    }
    pgw_health_record(h, PGW_HK_ANSWERED, 900, T0 + 9800, 0);
    pgw_health_record(h, PGW_HK_5XX, 3000, T0 + 9900, 0);
    pgw_health_record(h, PGW_HK_NETWORK, 0, T0 + 9900, 0);
    pgw_health_record(h, PGW_HK_TIMEOUT, 0, T0 + 9900, 0);
    pgw_health_stats(h, 1, T0 + 10000, &st);
    assert_int_equal(st.answered, 100);
    assert_int_equal(st.success, 98);
    assert_int_equal(st.s5xx, 1);
    assert_int_equal(st.network, 1);
    assert_int_equal(st.timeout, 1);
    /* 99th of 100 latencies is 900 ms: its log2 bucket's bound is 512 */
    assert_true(st.p99_ms >= 512 && st.p99_ms <= 1024);

    /* 61 s later the 1-min window is empty, the 10-min one still counts */
    pgw_health_stats(h, 1, T0 + 71000, &st);
    assert_int_equal(st.answered, 0);
    assert_int_equal(st.p99_ms, -1);
    pgw_health_stats(h, 10, T0 + 71000, &st);
    assert_int_equal(st.answered, 100);
    assert_int_equal(st.timeout, 1);
    /* and 10 minutes later that one is empty too */
    pgw_health_stats(h, 10, T0 + 11 * 60000, &st);
    assert_int_equal(st.answered, 0);
    /* a bucket reused after wrap-around starts from zero */
    pgw_health_record(h, PGW_HK_SUCCESS, 5, T0 + 120000, 0);
    pgw_health_stats(h, 1, T0 + 120000, &st);
    assert_int_equal(st.answered, 1);
}


static void
test_breaker(void **state)
{
    struct pgw_health *h;
    int64_t t = T0;

    (void) state;
    pgw_health_reset();
    h = pgw_health_get("a", "m");
    assert_true(pgw_health_allows(h));
    /* 5xx and answers never open it; errors spread over > 1 min do not */
    for (int i = 0; i < 50; i++) {
        assert_int_equal(pgw_health_record(h, PGW_HK_5XX, 10, t, 3), -1);
    }
    assert_int_equal(pgw_health_record(h, PGW_HK_NETWORK, 0, t, 3), -1);
    assert_int_equal(pgw_health_record(h, PGW_HK_TIMEOUT, 0, t + 30000, 3), -1);
    t += 61000;   /* the first error left the window */
    assert_int_equal(pgw_health_record(h, PGW_HK_NETWORK, 0, t, 3), -1);
    assert_int_equal(h->circuit, PGW_CB_CLOSED);
    /* the third within a minute opens it */
    assert_int_equal(pgw_health_record(h, PGW_HK_TIMEOUT, 0, t + 1000, 3),
                     PGW_CB_OPEN);
    t += 1000;
    assert_false(pgw_health_allows(h));
    /* more errors while open: no new transition */
    assert_int_equal(pgw_health_record(h, PGW_HK_NETWORK, 0, t, 3), -1);
    /* not before open_ms */
    assert_int_equal(pgw_breaker_probe_due(h, t + 4999, 5000), 0);
    assert_int_equal(h->circuit, PGW_CB_OPEN);
    /* then half-open: one probe, still no new pays */
    assert_int_equal(pgw_breaker_probe_due(h, t + 5000, 5000), 1);
    assert_int_equal(h->circuit, PGW_CB_HALF_OPEN);
    assert_false(pgw_health_allows(h));
    assert_int_equal(pgw_breaker_probe_due(h, t + 6000, 5000), 0);  /* one */
    /* the probe fails: open again, the clock restarts */
    assert_int_equal(pgw_breaker_probe_done(h, 0, t + 7000), PGW_CB_OPEN);
    assert_int_equal(pgw_breaker_probe_due(h, t + 11000, 5000), 0);
    assert_int_equal(pgw_breaker_probe_due(h, t + 12000, 5000), 1);
    /* no order to probe with: stays open, retried later */
    pgw_breaker_probe_skip(h, t + 12000);
    assert_int_equal(h->circuit, PGW_CB_OPEN);
    assert_int_equal(pgw_breaker_probe_due(h, t + 17000, 5000), 1);
    /* the probe answers: closed, and the errors that opened it are gone */
    assert_int_equal(pgw_breaker_probe_done(h, 1, t + 17500), PGW_CB_CLOSED);
    assert_true(pgw_health_allows(h));
    assert_int_equal(pgw_health_record(h, PGW_HK_NETWORK, 0, t + 18000, 3), -1);
    assert_int_equal(h->circuit, PGW_CB_CLOSED);
    assert_string_equal(pgw_circuit_name(PGW_CB_HALF_OPEN), "half_open");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_breaker),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
