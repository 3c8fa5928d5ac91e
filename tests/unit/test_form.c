/*
 * test_form.c — scheme B form bodies become the JSON request of the JSON
 * path (core/pgw_form.c): '+' is a space, %XX escapes, signature parameters
 * dropped, typed fields, and the canonical JSON (what idempotency hashes)
 * equal to that of the same order sent as JSON.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pgw_form.h"


static json_t *
form(const char *body, char *app, char *why)
{
    return pgw_form_request(body, strlen(body), app, 80, why, 256);
}


static void
test_content_type(void **state)
{
    (void) state;
    assert_true(pgw_form_is_form("application/x-www-form-urlencoded"));
    assert_true(pgw_form_is_form("Application/X-WWW-Form-Urlencoded; charset=utf-8"));
    assert_false(pgw_form_is_form("application/json"));
    assert_false(pgw_form_is_form("application/x-www-form-urlencodedx"));
    assert_false(pgw_form_is_form(NULL));
}


static void
test_same_canonical_json_as_the_json_body(void **state)
{
    const char *json_body =
        "{\"out_trade_no\":\"T1\",\"amount\":1000,\"currency\":\"CNY\","
        "\"method\":\"alipay.qr\",\"subject\":\"Order 1 & more+\","
        "\"notify_url\":\"http://127.0.0.1:9000/notify?a=1\","
        "\"expire_seconds\":900,\"sync\":false,\"payer\":{\"id\":\"u 1\"},"
        "\"extra\":{}}";
    const char *form_body =
        "amount=1000&app_id=A1&currency=CNY&expire_seconds=900&extra=%7B%7D"
        "&method=alipay.qr&nonce_str=n8s7&notify_url=http%3A%2F%2F127.0.0.1"
        "%3A9000%2Fnotify%3Fa%3D1&out_trade_no=T1&payer=%7B%22id%22%3A%22u+1"
        "%22%7D&sign=ABCDEF&sign_type=HMAC-SHA256&subject=Order+1+%26+more%2B"
        "&sync=false&timestamp=1763800000";
    char app[80], why[256];
    json_t *a = json_loads(json_body, 0, NULL);
    json_t *b = form(form_body, app, why);
    char *ca, *cb;

    (void) state;
    if (b == NULL) {
        fail_msg("%s", why);
    }
    assert_string_equal(app, "A1");
    ca = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
    cb = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(ca, cb);
    assert_null(json_object_get(b, "sign"));
    assert_null(json_object_get(b, "timestamp"));
    assert_true(json_is_integer(json_object_get(b, "amount")));
    assert_true(json_is_false(json_object_get(b, "sync")));
    free(ca);
    free(cb);
    json_decref(a);
    json_decref(b);
}


static void
test_empty_values_and_unicode(void **state)
{
    char app[80], why[256];
    json_t *b = form("subject=%E8%AE%A2%E5%8D%95&channel=&&sync=true&bank_code&",
                     app, why);

    (void) state;
    assert_non_null(b);
    assert_string_equal(app, "");
    assert_string_equal(json_string_value(json_object_get(b, "subject")),
                        "\xe8\xae\xa2\xe5\x8d\x95");
    assert_null(json_object_get(b, "channel"));   /* empty: not signed, absent */
    assert_true(json_is_true(json_object_get(b, "sync")));
    assert_int_equal(json_object_size(b), 2);
    json_decref(b);
    b = form("", app, why);
    assert_non_null(b);
    assert_int_equal(json_object_size(b), 0);
    json_decref(b);
}


static void
test_bad_forms(void **state)
{
    static const struct {
        const char *body;
        const char *needle;
    } bad[] = {
        { "amount=10.5", "amount: an integer" },
        { "amount=1e3", "amount: an integer" },
        { "amount=+5", "amount: an integer" },
        { "amount=%2010", "amount: an integer" },
        { "expire_seconds=abc", "expire_seconds: an integer" },
        { "amount=1234567890123456789", "amount: an integer" },
        { "sync=1", "sync: true or false" },
        { "sync=TRUE", "sync: true or false" },
        { "payer=%5B%5D", "payer: a JSON object" },
        { "extra=nope", "extra: a JSON object" },
        { "subject=a%2", "malformed" },
        { "subject=a%zz", "malformed" },
        { "subject=a%00b", "malformed" },
        { "subject=%FF", "not valid UTF-8" },
        { "=x", "without a name" },
        { "a=1&=", "without a name" },
        { "amount=1&amount=2", "given twice" },
        { "sign=a&sign=b", "given twice" },
    };
    char app[80], why[256];

    (void) state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *b = form(bad[i].body, app, why);
        if (b != NULL) {
            json_decref(b);
            fail_msg("accepted %s", bad[i].body);
        }
        if (strstr(why, bad[i].needle) == NULL) {
            fail_msg("%s: '%s' lacks '%s'", bad[i].body, why, bad[i].needle);
        }
    }
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_same_canonical_json_as_the_json_body),
        cmocka_unit_test(test_empty_values_and_unicode),
        cmocka_unit_test(test_bad_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
