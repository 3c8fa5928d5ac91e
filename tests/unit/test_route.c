/*
 * test_route.c — route rule matching (specificity, TTL expiry, weight 0) and
 * the weighted choice (docs/routing.md).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pgw_route.h"


static struct pgw_route_rule
rule(const char *ch, const char *m, const char *app, int state, int64_t w,
     int64_t until)
{
    struct pgw_route_rule r;

    memset(&r, 0, sizeof(r));
    snprintf(r.channel, sizeof(r.channel), "%s", ch);
    snprintf(r.method, sizeof(r.method), "%s", m);
    snprintf(r.app, sizeof(r.app), "%s", app);
    r.state = state;
    r.weight = w;
    r.until_ms = until;
    return r;
}


static void
test_specificity(void **state)
{
    struct pgw_route_rule rs[4];
    const struct pgw_route_rule *r;

    (void) state;
    /* listed least specific last, to show order does not matter */
    rs[0] = rule("stripe", "card", "app1", PGW_RS_DRAINING, 10, 0);
    rs[1] = rule("stripe", "", "app1", PGW_RS_ENABLED, 20, 0);
    rs[2] = rule("stripe", "card", "", PGW_RS_DISABLED, 30, 0);
    rs[3] = rule("stripe", "", "", PGW_RS_ENABLED, 40, 0);

    r = pgw_route_rule_match(rs, 4, "stripe", "card", "app1", 1000);
    assert_ptr_equal(r, &rs[0]);                  /* channel+method+app */
    r = pgw_route_rule_match(rs, 4, "stripe", "card", "app2", 1000);
    assert_ptr_equal(r, &rs[2]);                  /* channel+method */
    r = pgw_route_rule_match(rs, 4, "stripe", "wallet", "app1", 1000);
    assert_ptr_equal(r, &rs[1]);                  /* channel+app */
    r = pgw_route_rule_match(rs, 4, "stripe", "wallet", "app2", 1000);
    assert_ptr_equal(r, &rs[3]);                  /* channel */
    r = pgw_route_rule_match(rs, 3, "stripe", "wallet", "app2", 1000);
    assert_null(r);                               /* nothing applies */
    r = pgw_route_rule_match(rs, 4, "checkout", "card", "app1", 1000);
    assert_null(r);                               /* other channel */
    r = pgw_route_rule_match(rs, 4, "stripe", "card", NULL, 1000);
    assert_ptr_equal(r, &rs[2]);                  /* no app known */
}


static void
test_ttl_expiry(void **state)
{
    struct pgw_route_rule rs[2];
    const struct pgw_route_rule *r;

    (void) state;
    rs[0] = rule("stripe", "", "", PGW_RS_DISABLED, 100, 0);
    rs[1] = rule("stripe", "card", "", PGW_RS_ENABLED, 50, 5000);
    r = pgw_route_rule_match(rs, 2, "stripe", "card", "a", 4999);
    assert_ptr_equal(r, &rs[1]);
    /* at until_ms the rule no longer applies: the channel rule is back */
    r = pgw_route_rule_match(rs, 2, "stripe", "card", "a", 5000);
    assert_ptr_equal(r, &rs[0]);
    rs[0].until_ms = 3000;
    r = pgw_route_rule_match(rs, 2, "stripe", "card", "a", 6000);
    assert_null(r);
}


static void
test_weighted(void **state)
{
    int64_t w[3] = { 100, 0, 50 };
    int counts[3] = { 0, 0, 0 };
    int64_t zero[2] = { 0, 0 };
    uint64_t x = 88172645463325252ULL;

    (void) state;
    assert_int_equal(pgw_route_weighted(w, 3, 0), 0);
    assert_int_equal(pgw_route_weighted(w, 3, 99), 0);
    assert_int_equal(pgw_route_weighted(w, 3, 100), 2);    /* weight 0 skipped */
    assert_int_equal(pgw_route_weighted(w, 3, 149), 2);
    assert_int_equal(pgw_route_weighted(w, 3, 150), 0);    /* wraps */
    assert_int_equal(pgw_route_weighted(zero, 2, 7), -1);  /* nobody */
    assert_int_equal(pgw_route_weighted(w, 0, 7), -1);
    for (int i = 0; i < 30000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        counts[pgw_route_weighted(w, 3, x)]++;
    }
    assert_int_equal(counts[1], 0);
    /* 2/3 vs 1/3, within 2 points */
    assert_true(counts[0] > 19400 && counts[0] < 20600);
    assert_true(counts[2] > 9400 && counts[2] < 10600);
}


static void
test_state_names(void **state)
{
    (void) state;
    assert_int_equal(pgw_route_state_parse("draining"), PGW_RS_DRAINING);
    assert_int_equal(pgw_route_state_parse("disabled"), PGW_RS_DISABLED);
    assert_int_equal(pgw_route_state_parse("enabled"), PGW_RS_ENABLED);
    assert_int_equal(pgw_route_state_parse("off"), -1);
    assert_string_equal(pgw_route_state_name(PGW_RS_DRAINING), "draining");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_specificity),
        cmocka_unit_test(test_ttl_expiry),
        cmocka_unit_test(test_weighted),
        cmocka_unit_test(test_state_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
