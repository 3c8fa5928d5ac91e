/*
 * test_order_state.c — the SPEC §4 status whitelist: every pair of statuses is
 * checked, final statuses never move, and nothing reaches SUCCESS or FAILED
 * except from PROCESSING (or ACCEPTED -> FAILED when nothing was sent).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgw_order.h"


static void
test_whitelist_exact(void **state)
{
    (void) state;
    /* the complete allowed set; everything else must be refused */
    static const int allowed[6][6] = {
        /* to:    NONE ACC PROC SUCC FAIL CLOSED */
        [PGW_ST_ACCEPTED] = { 0, 0, 1, 0, 1, 0 },
        [PGW_ST_PROCESSING] = { 0, 0, 0, 1, 1, 1 },
    };
    for (int from = 0; from <= PGW_ST_CLOSED; from++) {
        for (int to = 0; to <= PGW_ST_CLOSED; to++) {
            assert_int_equal(pgw_transition_allowed(from, to),
                             allowed[from][to]);
        }
    }
}


static void
test_final_statuses_are_final(void **state)
{
    (void) state;
    enum pgw_status finals[] = { PGW_ST_SUCCESS, PGW_ST_FAILED, PGW_ST_CLOSED };
    for (int i = 0; i < 3; i++) {
        assert_true(pgw_status_is_final(finals[i]));
        for (int to = 0; to <= PGW_ST_CLOSED; to++) {
            assert_false(pgw_transition_allowed(finals[i], to));
        }
    }
    assert_false(pgw_status_is_final(PGW_ST_ACCEPTED));
    assert_false(pgw_status_is_final(PGW_ST_PROCESSING));
}


static void
test_names_round_trip(void **state)
{
    (void) state;
    for (int st = PGW_ST_ACCEPTED; st <= PGW_ST_CLOSED; st++) {
        assert_int_equal(pgw_status_parse(pgw_status_name(st)), st);
    }
    assert_int_equal(pgw_status_parse("PAID"), PGW_ST_NONE);
    assert_int_equal(pgw_status_parse(""), PGW_ST_NONE);
    assert_int_equal(pgw_status_parse("success"), PGW_ST_NONE);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whitelist_exact),
        cmocka_unit_test(test_final_statuses_are_final),
        cmocka_unit_test(test_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
