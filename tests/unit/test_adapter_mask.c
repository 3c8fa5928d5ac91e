/*
 * test_adapter_mask.c -- message masking for the log (adapters/pgw_mask.c):
 * listed fields in form, JSON and XML text become ***, 13-19 digit runs
 * become first6****last4, everything else is left alone.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pgw_pack.h"


static void
check(const char *in, const char *want)
{
    json_t *f = json_pack("[s,s]", "sign", "card_no");
    char *out = pgw_mask_text(in, strlen(in), f);

    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
    json_decref(f);
}


static void
test_form_fields(void **state)
{
    (void) state;
    check("app_id=1&sign=abc%2Bdef&sign_type=RSA2", "app_id=1&sign=***&sign_type=RSA2");
    check("sign=abc", "sign=***");
    check("design=keep&x=1", "design=keep&x=1");
}


static void
test_json_fields(void **state)
{
    (void) state;
    check("{\"a_response\":{\"code\":\"10000\"},\"sign\":\"AB\\\"C==\"}",
          "{\"a_response\":{\"code\":\"10000\"},\"sign\":\"***\"}");
    check("{\"sign\" : 12345, \"x\":1}", "{\"sign\" : \"***\", \"x\":1}");
    check("{\"card_no\":{\"pan\":\"1\"},\"x\":1}", "{\"card_no\":\"***\",\"x\":1}");
    check("{\"sign_type\":\"RSA2\"}", "{\"sign_type\":\"RSA2\"}");
}


static void
test_xml_fields(void **state)
{
    (void) state;
    check("<xml><sign>ABC</sign><b>1</b></xml>", "<xml><sign>***</sign><b>1</b></xml>");
    check("<xml><sign><![CDATA[A<B]]></sign></xml>", "<xml><sign>***</sign></xml>");
    check("<xml><signature>keep</signature></xml>", "<xml><signature>keep</signature></xml>");
}


static void
test_card_like_digit_runs(void **state)
{
    (void) state;
    check("pan=6222021234567890123", "pan=622202****0123");           /* 19 digits */
    check("4111111111111111", "411111****1111");
    check("no 123456789012 here", "no 123456789012 here");            /* 12 digits */
    check("id 12345678901234567890", "id 12345678901234567890");       /* 20 digits */
    check("<card_no>4111111111111111</card_no>", "<card_no>***</card_no>");
}


static void
test_null_and_empty(void **state)
{
    char *out;

    (void) state;
    out = pgw_mask_text(NULL, 0, NULL);
    assert_non_null(out);
    assert_string_equal(out, "");
    free(out);
    out = pgw_mask_text("sign=x", 6, NULL);
    assert_string_equal(out, "sign=x");
    free(out);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_fields),
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_xml_fields),
        cmocka_unit_test(test_card_like_digit_runs),
        cmocka_unit_test(test_null_and_empty),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
