/*
 * test_caller_sign.c — the signature paygwd puts on caller notifications.
 * Expected value computed independently with the OpenSSL CLI:
 *   printf '1763800000\nn8s7\n{"a":1}\n' \
 *     | openssl dgst -sha256 -hmac 'secret-for-app-A1' -binary | base64
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pgw_core.h"
#include "pgw_sign.h"


static void
test_known_answer(void **state)
{
    char sig[64];
    const char *secret = "secret-for-app-A1";

    (void) state;
    assert_int_equal(pgw_sign_caller(secret, strlen(secret), "1763800000",
                                     "n8s7", "{\"a\":1}", 7, sig, sizeof(sig)),
                     PGW_OK);
    assert_string_equal(sig, "5wsjlmlvMg1YDcRtHwzCbVXM6lwFe4u5MxRrWhHe+1o=");
}


static void
test_body_change_changes_signature(void **state)
{
    char a[64], b[64];

    (void) state;
    pgw_sign_caller("k1234567890123456", 17, "1", "n", "{\"a\":1}", 7, a,
                    sizeof(a));
    pgw_sign_caller("k1234567890123456", 17, "1", "n", "{\"a\":2}", 7, b,
                    sizeof(b));
    assert_string_not_equal(a, b);
    /* too small an output buffer is refused, not truncated */
    assert_int_equal(pgw_sign_caller("k", 1, "1", "n", "", 0, a, 10), PGW_ERR);
}


static void
test_nonce_shape(void **state)
{
    char n1[17], n2[17];

    (void) state;
    pgw_sign_nonce(n1);
    pgw_sign_nonce(n2);
    assert_int_equal(strlen(n1), 16);
    assert_string_not_equal(n1, n2);
    for (int i = 0; i < 16; i++) {
        assert_non_null(strchr("0123456789abcdef", n1[i]));
    }
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_body_change_changes_signature),
        cmocka_unit_test(test_nonce_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
