/*
 * test_cli_sign: paygwctl's scheme-A signing (cli/pgwctl_sign.c) against
 * values computed independently with the openssl command line:
 *
 *   printf 'POST\n/v1/payments?x=1\n1763800000\nn8s7\n{"amount":1000}\n' \
 *     | openssl dgst -sha256 -hmac 's3cr3t-for-A1' -binary | base64
 *   => ZGRMa7V4z755Ec/RMhUhf2F/7z7PN6OZF/YeRrMWQBE=
 *
 *   printf 'GET\n/v1/vouchers/V1?wait_ms=5000\n1763800000\nabc\n\n' \
 *     | openssl dgst -sha256 -hmac 's3cr3t-for-A1' -binary | base64
 *   => aJ8PNvsdLLYU1w/9+n3JezWlRDX8VeOaYGKT3EI3/8Q=
 *
 *   printf '1763800001\n0123456789abcdef\n{"voucher_id":"V1"}\n' \
 *     | openssl dgst -sha256 -hmac 's3cr3t-for-A1' -binary | base64
 *   => J3YFsnynnEk/vtnKbwdjx5xwpWhXJE7DXbhPHqeZ5p0=   (a response signature)
 *
 * The unit under test is compiled into this program (the unit-test rule
 * links only libpaygw.a).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cli/pgwctl_sign.c"

#define SECRET "s3cr3t-for-A1"

static void test_string_to_sign_layout(void **state)
{
    (void)state;
    size_t len = 0;
    const char *body = "{\"amount\":1000}";
    char *s = pgwctl_string_to_sign("POST", "/v1/payments?x=1", "1763800000",
                                    "n8s7", body, strlen(body), &len);
    const char want[] =
        "POST\n/v1/payments?x=1\n1763800000\nn8s7\n{\"amount\":1000}\n";

    assert_non_null(s);
    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(s, want, len);
    free(s);

    s = pgwctl_string_to_sign("GET", "/v1/payments/T1", "1", "n", NULL, 0,
                              &len);
    assert_non_null(s);
    assert_int_equal(len, strlen("GET\n/v1/payments/T1\n1\nn\n\n"));
    assert_memory_equal(s, "GET\n/v1/payments/T1\n1\nn\n\n", len);
    free(s);
}

static void test_sign_post_matches_openssl(void **state)
{
    (void)state;
    char sig[PGWCTL_SIG_B64_LEN + 1];
    const char *body = "{\"amount\":1000}";

    assert_int_equal(pgwctl_sign_request(SECRET, "POST", "/v1/payments?x=1",
                                         "1763800000", "n8s7", body,
                                         strlen(body), sig),
                     PGWCTL_OK);
    assert_string_equal(sig, "ZGRMa7V4z755Ec/RMhUhf2F/7z7PN6OZF/YeRrMWQBE=");
}

static void test_sign_get_empty_body(void **state)
{
    (void)state;
    char sig[PGWCTL_SIG_B64_LEN + 1];

    assert_int_equal(pgwctl_sign_request(SECRET, "GET",
                                         "/v1/vouchers/V1?wait_ms=5000",
                                         "1763800000", "abc", NULL, 0, sig),
                     PGWCTL_OK);
    assert_string_equal(sig, "aJ8PNvsdLLYU1w/9+n3JezWlRDX8VeOaYGKT3EI3/8Q=");

    /* "" and NULL bodies sign the same */
    char sig2[PGWCTL_SIG_B64_LEN + 1];
    assert_int_equal(pgwctl_sign_request(SECRET, "GET",
                                         "/v1/vouchers/V1?wait_ms=5000",
                                         "1763800000", "abc", "", 0, sig2),
                     PGWCTL_OK);
    assert_string_equal(sig, sig2);
}

static void test_authorization_header(void **state)
{
    (void)state;
    char buf[256];

    assert_int_equal(pgwctl_authorization(buf, sizeof(buf), "A1",
                                          "1763800000", "n8s7", "SIG="),
                     PGWCTL_OK);
    assert_string_equal(buf, "PAYGW-HMAC-SHA256 app_id=\"A1\","
                             "timestamp=\"1763800000\",nonce=\"n8s7\","
                             "signature=\"SIG=\"");
    /* too small a buffer is an error, not a truncated header (volatile:
     * keeps gcc from proving the truncation at compile time) */
    volatile size_t small = 20;
    assert_int_equal(pgwctl_authorization(buf, small, "A1", "1763800000",
                                          "n8s7", "SIG="),
                     PGWCTL_ERR);
}

static void test_verify_response(void **state)
{
    (void)state;
    const char *body = "{\"voucher_id\":\"V1\"}";
    const char *good = "J3YFsnynnEk/vtnKbwdjx5xwpWhXJE7DXbhPHqeZ5p0=";

    assert_int_equal(pgwctl_verify_response(SECRET, "1763800001",
                                            "0123456789abcdef", body,
                                            strlen(body), good),
                     PGWCTL_OK);
    /* tampered body, wrong secret, truncated or padded signature */
    assert_int_equal(pgwctl_verify_response(SECRET, "1763800001",
                                            "0123456789abcdef",
                                            "{\"voucher_id\":\"V2\"}",
                                            strlen(body), good),
                     PGWCTL_MISMATCH);
    assert_int_equal(pgwctl_verify_response("other", "1763800001",
                                            "0123456789abcdef", body,
                                            strlen(body), good),
                     PGWCTL_MISMATCH);
    assert_int_equal(pgwctl_verify_response(SECRET, "1763800001",
                                            "0123456789abcdef", body,
                                            strlen(body), "J3YF"),
                     PGWCTL_MISMATCH);
    assert_int_equal(
        pgwctl_verify_response(SECRET, "1763800001", "0123456789abcdef", body,
                               strlen(body),
                               "J3YFsnynnEk/vtnKbwdjx5xwpWhXJE7DXbhPHqeZ5p0=="),
        PGWCTL_MISMATCH);
}

static void test_nonce(void **state)
{
    (void)state;
    char a[PGWCTL_NONCE_HEX + 1], b[PGWCTL_NONCE_HEX + 1];

    assert_int_equal(pgwctl_nonce(a), PGWCTL_OK);
    assert_int_equal(pgwctl_nonce(b), PGWCTL_OK);
    assert_int_equal(strlen(a), PGWCTL_NONCE_HEX);
    assert_int_equal(strspn(a, "0123456789abcdef"), PGWCTL_NONCE_HEX);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_to_sign_layout),
        cmocka_unit_test(test_sign_post_matches_openssl),
        cmocka_unit_test(test_sign_get_empty_body),
        cmocka_unit_test(test_authorization_header),
        cmocka_unit_test(test_verify_response),
        cmocka_unit_test(test_nonce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
