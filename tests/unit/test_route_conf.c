/*
 * test_route_conf.c — routes.conf: every parse error names file and line; each
 * eligibility rule (currency, amount, bank, service hours, cut-off windows
 * across midnight and time zones, app allow / deny / pin with amount
 * thresholds); fees; and each strategy's order (weighted, priority,
 * lowest_cost, success_rate with and without exploration).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pgw_route.h"
#include "pgw_route_conf.h"

/* 2026-11-23 00:00:00 UTC */
#define DAY0 1795392000000LL
#define AT(h, m) (DAY0 + ((int64_t) (h) * 60 + (m)) * 60000)

static struct pgw_routes *
parse(const char *text)
{
    char err[512] = "";
    struct pgw_routes *r = pgw_routes_parse("routes.conf", text, err, sizeof(err));

    if (r == NULL) {
        fail_msg("unexpected parse error: %s", err);
    }
    return r;
}


static void
expect_error(const char *text, const char *want)
{
    char err[512] = "";
    struct pgw_routes *r = pgw_routes_parse("routes.conf", text, err, sizeof(err));

    if (r != NULL) {
        pgw_routes_free(r);
        fail_msg("parsed, expected \"%s\": %s", want, text);
    }
    if (strstr(err, want) == NULL) {
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
    }
}


static void
test_errors_name_file_and_line(void **state)
{
    (void) state;
    expect_error("# c\n\nroute a m fee=abc\n", "routes.conf:3: route: fee");
    expect_error("route a\n", "routes.conf:1: route: route CHANNEL METHOD");
    expect_error("route a m\nroute a m\n", "routes.conf:2: route: a m is already routed at line 1");
    expect_error("route a m color=red\n", "unknown option \"color\"");
    expect_error("route a m open=25:00-26:00\n", ":1: route: open: windows are HH:MM-HH:MM");
    expect_error("route a m closed=10:00-10:00\n", "empty");
    expect_error("route a m min=10 max=5\n", "min is above max");
    expect_error("route a m min=-1\n", "min: an amount");
    expect_error("route a m weight=2000000\n", ":1: route: weight: 0..1000000");
    expect_error("route a m fee=1+101%\n", "up to 100%");
    expect_error("route a m fee=0.12345%\n", "at most 4 decimals");
    expect_error("route a m currencies=\n", "options are key=value");
    expect_error("route a m currencies=CNY,,USD\n", "empty item");
    expect_error("strategy m fastest\n", "unknown strategy \"fastest\"");
    expect_error("strategy m priority\nstrategy m weighted\n", ":2: strategy: the strategy of m is already set at line 1");
    expect_error("strategy m priority explore=5\n", "explore= goes with success_rate only");
    expect_error("app A1\n", ":1: app: app APP");
    expect_error("app A1 allow=a deny=b\n", "exactly one of allow=, deny=, pin=");
    expect_error("app A1 pin=a,b\n", "pin names exactly one channel");
    expect_error("app A1 method=m\n", "exactly one of");
    expect_error("tz 8\n", "tz is an offset");
    expect_error("bogus x\n", ":1: bogus: unknown directive");
}


static void
test_fee_and_cost(void **state)
{
    struct pgw_routes *r = parse("route a m fee=30+0.6%\n"
                                 "route b m fee=0.38%\n"
                                 "route c m fee=100\n"
                                 "route d m\n");
    (void) state;
    /* 10000.00 -> 30 + 60 = 90 minor units (in millionths) */
    assert_int_equal(pgw_rc_route_cost(pgw_routes_find(r, "a", "m"), 10000), 90000000);
    assert_int_equal(pgw_rc_route_cost(pgw_routes_find(r, "b", "m"), 10000), 38000000);
    assert_int_equal(pgw_rc_route_cost(pgw_routes_find(r, "c", "m"), 10000), 100000000);
    assert_int_equal(pgw_rc_route_cost(pgw_routes_find(r, "d", "m"), 10000), 0);
    assert_int_equal(pgw_rc_route_cost(NULL, 10000), 0);
    pgw_routes_free(r);
}


static void
test_find_exact_beats_star(void **state)
{
    struct pgw_routes *r = parse("route a * priority=5\nroute a m priority=1\n");

    (void) state;
    assert_int_equal(pgw_routes_find(r, "a", "m")->priority, 1);
    assert_int_equal(pgw_routes_find(r, "a", "other")->priority, 5);
    assert_null(pgw_routes_find(r, "b", "m"));
    assert_true(pgw_routes_method_listed(r, "m"));
    assert_false(pgw_routes_method_listed(r, "other"));
    pgw_routes_free(r);
}


static void
test_currency_amount_bank(void **state)
{
    char buf[200];
    struct pgw_routes *r = parse("route a m currencies=CNY,HKD min=100 max=5000 banks=ICBC,CCB\n");
    const struct pgw_rc_route *rt = pgw_routes_find(r, "a", "m");

    (void) state;
    assert_null(pgw_rc_route_refuses(rt, 0, "CNY", 100, NULL, AT(12, 0), buf, sizeof(buf)));
    assert_null(pgw_rc_route_refuses(rt, 0, "HKD", 5000, "CCB", AT(12, 0), buf, sizeof(buf)));
    assert_non_null(strstr(pgw_rc_route_refuses(rt, 0, "USD", 100, NULL, AT(12, 0), buf, sizeof(buf)),
                           "currency USD not routed (line 1)"));
    assert_non_null(strstr(pgw_rc_route_refuses(rt, 0, "CNY", 99, NULL, AT(12, 0), buf, sizeof(buf)),
                           "amount outside"));
    assert_non_null(pgw_rc_route_refuses(rt, 0, "CNY", 5001, NULL, AT(12, 0), buf, sizeof(buf)));
    assert_non_null(strstr(pgw_rc_route_refuses(rt, 0, "CNY", 200, "ABC", AT(12, 0), buf, sizeof(buf)),
                           "bank ABC not routed"));
    pgw_routes_free(r);
}


static void
test_windows_wrap_midnight_and_tz(void **state)
{
    char buf[200];
    /* a bank's nightly cut-off 23:50-00:10 Beijing time (UTC+8) */
    struct pgw_routes *r = parse("tz +08:00\n"
                                 "route a m closed=23:50-00:10\n"
                                 "route b m open=09:00-17:00,18:00-20:00\n");
    const struct pgw_rc_route *a = pgw_routes_find(r, "a", "m");
    const struct pgw_rc_route *b = pgw_routes_find(r, "b", "m");
    int tz = r->tz_min;

    (void) state;
    assert_int_equal(tz, 480);
    /* 15:49 UTC = 23:49 +08 open; 15:50 closed; 16:09 closed; 16:10 open */
    assert_null(pgw_rc_route_refuses(a, tz, "CNY", 1, NULL, AT(15, 49), buf, sizeof(buf)));
    assert_non_null(strstr(pgw_rc_route_refuses(a, tz, "CNY", 1, NULL, AT(15, 50), buf, sizeof(buf)),
                           "closed 23:50-00:10 (line 2)"));
    assert_non_null(pgw_rc_route_refuses(a, tz, "CNY", 1, NULL, AT(16, 9), buf, sizeof(buf)));
    assert_null(pgw_rc_route_refuses(a, tz, "CNY", 1, NULL, AT(16, 10), buf, sizeof(buf)));
    /* service hours: 01:00 UTC = 09:00 +08 open; 09:00 UTC = 17:00 closed */
    assert_null(pgw_rc_route_refuses(b, tz, "CNY", 1, NULL, AT(1, 0), buf, sizeof(buf)));
    assert_non_null(strstr(pgw_rc_route_refuses(b, tz, "CNY", 1, NULL, AT(9, 0), buf, sizeof(buf)),
                           "outside service hours"));
    assert_null(pgw_rc_route_refuses(b, tz, "CNY", 1, NULL, AT(10, 30), buf, sizeof(buf)));
    /* a negative offset wraps the day the other way */
    assert_null(pgw_rc_route_refuses(b, -300, "CNY", 1, NULL, AT(14, 0), buf, sizeof(buf)));
    assert_non_null(pgw_rc_route_refuses(b, -300, "CNY", 1, NULL, AT(3, 0), buf, sizeof(buf)));
    pgw_routes_free(r);
}


static void
test_app_allow_deny_pin_thresholds(void **state)
{
    char buf[200];
    struct pgw_routes *r = parse("app A1 deny=stripe\n"
                                 "app A1 min=500000 allow=unionpay\n"
                                 "app A2 method=wechat.native pin=wechatpay_v3\n"
                                 "app A2 method=wechat.native min=100000 pin=wechatpay_v2\n");

    (void) state;
    assert_non_null(strstr(pgw_routes_app_refuses(r, "A1", "m", 100, "stripe", buf, sizeof(buf)),
                           "denied for app A1 (line 1)"));
    assert_null(pgw_routes_app_refuses(r, "A1", "m", 100, "adyen", buf, sizeof(buf)));
    /* at and above the threshold only unionpay */
    assert_non_null(strstr(pgw_routes_app_refuses(r, "A1", "m", 500000, "adyen", buf, sizeof(buf)),
                           "allow list (line 2)"));
    assert_null(pgw_routes_app_refuses(r, "A1", "m", 500000, "unionpay", buf, sizeof(buf)));
    assert_null(pgw_routes_app_refuses(r, "A9", "m", 500000, "stripe", buf, sizeof(buf)));
    assert_null(pgw_routes_app_refuses(r, NULL, "m", 500000, "stripe", buf, sizeof(buf)));
    /* pins: by method, the first applicable line wins */
    assert_string_equal(pgw_routes_app_pin(r, "A2", "wechat.native", 100), "wechatpay_v3");
    assert_null(pgw_routes_app_pin(r, "A2", "alipay.qr", 100));
    assert_null(pgw_routes_app_pin(r, "A1", "wechat.native", 100));
    pgw_routes_free(r);
}


static void
test_strategy_lookup(void **state)
{
    struct pgw_routes *r = parse("strategy * priority\nstrategy m success_rate explore=20\n");

    (void) state;
    assert_int_equal(pgw_routes_strategy(r, "m")->strategy, PGW_STRAT_SUCCESS_RATE);
    assert_int_equal(pgw_routes_strategy(r, "m")->explore_pct, 20);
    assert_int_equal(pgw_routes_strategy(r, "x")->strategy, PGW_STRAT_PRIORITY);
    assert_null(pgw_routes_strategy(NULL, "x"));
    pgw_routes_free(r);
}


static void
cands(struct pgw_route_cand *c)
{
    /* a: cheap, low priority, poor; b: dear, first priority; c: middling, best */
    c[0] = (struct pgw_route_cand) { "a", 100, 3, 38, 300000 };
    c[1] = (struct pgw_route_cand) { "b", 100, 1, 90, 600000 };
    c[2] = (struct pgw_route_cand) { "c", 100, 2, 60, 900000 };
}


static void
test_strategies_order(void **state)
{
    struct pgw_route_cand c[3];

    (void) state;
    for (uint64_t seed = 1; seed < 50; seed++) {
        cands(c);
        pgw_route_order(c, 3, PGW_STRAT_PRIORITY, 0, seed);
        assert_string_equal(c[0].channel, "b");
        assert_string_equal(c[1].channel, "c");
        assert_string_equal(c[2].channel, "a");
        cands(c);
        pgw_route_order(c, 3, PGW_STRAT_LOWEST_COST, 0, seed);
        assert_string_equal(c[0].channel, "a");
        assert_string_equal(c[1].channel, "c");
        assert_string_equal(c[2].channel, "b");
        cands(c);
        assert_int_equal(pgw_route_order(c, 3, PGW_STRAT_SUCCESS_RATE, 0, seed), 0);
        assert_string_equal(c[0].channel, "c");
        assert_string_equal(c[1].channel, "b");
        assert_string_equal(c[2].channel, "a");
    }
}


static void
test_cost_ties_go_by_priority(void **state)
{
    struct pgw_route_cand c[2] = {
        { "x", 100, 5, 50, 0 },
        { "y", 100, 1, 50, 0 },
    };

    (void) state;
    pgw_route_order(c, 2, PGW_STRAT_LOWEST_COST, 0, 7);
    assert_string_equal(c[0].channel, "y");
}


static void
test_weighted_order_follows_weights(void **state)
{
    int first[2] = { 0, 0 };

    (void) state;
    for (uint64_t seed = 1; seed <= 4000; seed++) {
        struct pgw_route_cand c[2] = {
            { "x", 300, 100, 0, 0 },
            { "y", 100, 100, 0, 0 },
        };
        pgw_route_order(c, 2, PGW_STRAT_WEIGHTED, 0, seed * 2654435761ULL);
        first[c[0].channel[0] == 'x' ? 0 : 1]++;
        /* every candidate stays in the list, once */
        assert_true(strcmp(c[0].channel, c[1].channel) != 0);
    }
    /* 3:1 within a few per cent */
    assert_in_range(first[0], 2850, 3150);
}


static void
test_success_rate_explores_by_weight(void **state)
{
    int explored = 0, c_first_when_not = 0, not = 0;

    (void) state;
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        struct pgw_route_cand c[3];
        cands(c);
        if (pgw_route_order(c, 3, PGW_STRAT_SUCCESS_RATE, 10, seed * 0x9E3779B97F4A7C15ULL)) {
            explored++;
        } else {
            not++;
            c_first_when_not += c[0].channel[0] == 'c';
        }
    }
    assert_int_equal(c_first_when_not, not);
    assert_in_range(explored, 120, 280);        /* ~10 % of 2000 */
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_fee_and_cost),
        cmocka_unit_test(test_find_exact_beats_star),
        cmocka_unit_test(test_currency_amount_bank),
        cmocka_unit_test(test_windows_wrap_midnight_and_tz),
        cmocka_unit_test(test_app_allow_deny_pin_thresholds),
        cmocka_unit_test(test_strategy_lookup),
        cmocka_unit_test(test_strategies_order),
        cmocka_unit_test(test_cost_ties_go_by_priority),
        cmocka_unit_test(test_weighted_order_follows_weights),
        cmocka_unit_test(test_success_rate_explores_by_weight),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
