/*
 * test_classify.c -- the host classifier (adapters/pgw_classify.c): only an
 * exact match on exactly one list leaves PROCESSING; empty, unknown,
 * ambiguous, near-miss codes and missing lists are all PROCESSING.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgw_pack.h"


static json_t *
lists(void)
{
    json_t *j = json_loads(
        "{\"success\":{\"codes\":[\"TRADE_SUCCESS\",\"TRADE_FINISHED\"],\"source\":\"https://x\"},"
        " \"failure\":{\"codes\":[\"40004:ACQ.TOTAL_FEE_EXCEED\"],\"source\":\"https://x\"},"
        " \"processing\":{\"codes\":[\"WAIT_BUYER_PAY\"],\"source\":\"https://x\"},"
        " \"closed\":{\"codes\":[\"TRADE_CLOSED\"],\"source\":\"https://x\"},"
        " \"not_found\":{\"codes\":[\"40004:ACQ.TRADE_NOT_EXIST\"],\"source\":\"https://x\"},"
        " \"rejected\":{\"codes\":[\"40002:isv.invalid-signature\"],\"source\":\"https://x\"}}",
        0, NULL);
    assert_non_null(j);
    return j;
}


static void
test_each_list_maps_to_its_class(void **state)
{
    json_t *l = lists();

    (void) state;
    assert_int_equal(pgw_classify(l, "TRADE_SUCCESS"), PGW_CLASS_SUCCESS);
    assert_int_equal(pgw_classify(l, "TRADE_FINISHED"), PGW_CLASS_SUCCESS);
    assert_int_equal(pgw_classify(l, "40004:ACQ.TOTAL_FEE_EXCEED"), PGW_CLASS_FAILED);
    assert_int_equal(pgw_classify(l, "WAIT_BUYER_PAY"), PGW_CLASS_PROCESSING);
    assert_int_equal(pgw_classify(l, "TRADE_CLOSED"), PGW_CLASS_CLOSED);
    assert_int_equal(pgw_classify(l, "40004:ACQ.TRADE_NOT_EXIST"), PGW_CLASS_NOT_FOUND);
    assert_int_equal(pgw_classify(l, "40002:isv.invalid-signature"), PGW_CLASS_NOT_SENT);
    json_decref(l);
}


static void
test_unknown_and_near_misses_are_processing(void **state)
{
    json_t *l = lists();

    (void) state;
    assert_int_equal(pgw_classify(l, "TRADE_SUCCESS "), PGW_CLASS_PROCESSING);
    assert_int_equal(pgw_classify(l, "trade_success"), PGW_CLASS_PROCESSING);
    assert_int_equal(pgw_classify(l, "TRADE_SUCCES"), PGW_CLASS_PROCESSING);
    assert_int_equal(pgw_classify(l, "40004"), PGW_CLASS_PROCESSING);
    assert_int_equal(pgw_classify(l, "40004:ACQ.SYSTEM_ERROR"), PGW_CLASS_PROCESSING);
    assert_int_equal(pgw_classify(l, "40004:ACQ.TOTAL_FEE_EXCEED:x"), PGW_CLASS_PROCESSING);
    assert_int_equal(pgw_classify(l, "SOMETHING_NEW"), PGW_CLASS_PROCESSING);
    json_decref(l);
}


static void
test_empty_absent_code_or_lists_are_processing(void **state)
{
    json_t *l = lists();

    (void) state;
    assert_int_equal(pgw_classify(l, ""), PGW_CLASS_PROCESSING);
    assert_int_equal(pgw_classify(l, NULL), PGW_CLASS_PROCESSING);
    assert_int_equal(pgw_classify(NULL, "TRADE_SUCCESS"), PGW_CLASS_PROCESSING);
    json_decref(l);

    l = json_loads("{}", 0, NULL);
    assert_int_equal(pgw_classify(l, "TRADE_SUCCESS"), PGW_CLASS_PROCESSING);
    json_decref(l);
}


static void
test_code_on_two_lists_is_processing(void **state)
{
    json_t *l = json_loads("{\"success\":{\"codes\":[\"X\"]},\"failure\":{\"codes\":[\"X\"]}}",
                           0, NULL);

    (void) state;
    assert_non_null(l);
    assert_int_equal(pgw_classify(l, "X"), PGW_CLASS_PROCESSING);
    json_decref(l);
}


static void
test_bare_array_lists_and_non_string_entries(void **state)
{
    json_t *l = json_loads("{\"success\":[\"10000\"],\"failure\":[10000, null]}", 0, NULL);

    (void) state;
    assert_non_null(l);
    assert_int_equal(pgw_classify(l, "10000"), PGW_CLASS_SUCCESS);
    json_decref(l);
}


static void
test_class_names_round_trip(void **state)
{
    enum pgw_class c;
    int i;

    (void) state;
    for (i = PGW_CLASS_PROCESSING; i <= PGW_CLASS_NOT_SENT; i++) {
        assert_int_equal(pgw_class_from_name(pgw_class_name((enum pgw_class) i), &c), 0);
        assert_int_equal(c, i);
    }
    assert_string_equal(pgw_class_name(PGW_CLASS_FAILED), "FAILED");
    assert_string_equal(pgw_class_name((enum pgw_class) 99), "PROCESSING");
    assert_int_equal(pgw_class_from_name("DONE", &c), -1);
    assert_int_equal(pgw_class_from_name(NULL, &c), -1);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_list_maps_to_its_class),
        cmocka_unit_test(test_unknown_and_near_misses_are_processing),
        cmocka_unit_test(test_empty_absent_code_or_lists_are_processing),
        cmocka_unit_test(test_code_on_two_lists_is_processing),
        cmocka_unit_test(test_bare_array_lists_and_non_string_entries),
        cmocka_unit_test(test_class_names_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
