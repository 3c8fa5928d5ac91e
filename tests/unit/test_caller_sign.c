/*
 * test_caller_sign.c — the signature paygwd puts on caller notifications.
 * Expected value computed independently with the OpenSSL CLI:
 *   printf '1763800000\nn8s7\n{"a":1}\n' \
 *     | openssl dgst -sha256 -hmac 'secret-for-app-A1' -binary | base64
 * The RSA2 signature (gateway key from paygwd.conf sign_key) is checked with
 * OpenSSL's EVP_DigestVerify against the public half, independently of
 * pgw_sign.c.
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

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "pgw_config.h"
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


/* base64 decode with EVP (not the code under test); returns the length */
static int
b64_decode(const char *in, unsigned char *out)
{
    int n = EVP_DecodeBlock(out, (const unsigned char *) in, (int) strlen(in));
    size_t len = strlen(in);

    assert_true(n > 0);
    if (len >= 1 && in[len - 1] == '=') {
        n--;
    }
    if (len >= 2 && in[len - 2] == '=') {
        n--;
    }
    return n;
}


static int
verify(EVP_PKEY *pub, const char *msg, const char *b64)
{
    unsigned char sig[1024];
    int n = b64_decode(b64, sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok;

    assert_non_null(md);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
    ok = EVP_DigestVerify(md, sig, (size_t) n, (const unsigned char *) msg,
                          strlen(msg));
    EVP_MD_CTX_free(md);
    return ok == 1;
}


static void
test_rsa_signature_verifies_with_public_key(void **state)
{
    char dir[] = "/tmp/pgw-test-sign-XXXXXX", path[128], conf_path[128];
    char err[512], sig[PGW_SIGN_MAX_B64], cmd[160];
    const char *body = "{\"event_id\":\"E1\",\"status\":\"SUCCESS\"}";
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
    EVP_PKEY *pub;
    struct pgw_config *conf;
    FILE *f;

    (void) state;
    assert_non_null(k);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/gateway.key", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    /* the verifier only gets the public half, through a PEM round trip */
    snprintf(path, sizeof(path), "%s/gateway.pub", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PUBKEY(f, k), 1);
    fclose(f);
    EVP_PKEY_free(k);
    f = fopen(path, "r");
    pub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pub);

    /* sign_key is relative to the config file's directory */
    snprintf(conf_path, sizeof(conf_path), "%s/paygwd.conf", dir);
    f = fopen(conf_path, "w");
    assert_non_null(f);
    fputs("sign_key gateway.key\n", f);
    fclose(f);
    conf = pgw_config_load(conf_path, err, sizeof(err));
    if (conf == NULL) {
        fail_msg("%s", err);
    }
    assert_non_null(conf->sign_key_pkey);

    assert_int_equal(pgw_sign_caller_rsa(conf->sign_key_pkey, "1763800000",
                                         "0123456789abcdef", body, strlen(body),
                                         sig, sizeof(sig)),
                     PGW_OK);
    assert_int_equal(strlen(sig), 344);   /* base64 of 256 bytes */
    {
        char msg[256];
        snprintf(msg, sizeof(msg), "1763800000\n0123456789abcdef\n%s\n", body);
        assert_true(verify(pub, msg, sig));
        /* any change of timestamp, nonce or body breaks it */
        snprintf(msg, sizeof(msg), "1763800001\n0123456789abcdef\n%s\n", body);
        assert_false(verify(pub, msg, sig));
        snprintf(msg, sizeof(msg), "1763800000\n0123456789abcdef\n%s", body);
        assert_false(verify(pub, msg, sig));
    }
    /* an empty body is signed too; a too small buffer is refused */
    assert_int_equal(pgw_sign_caller_rsa(conf->sign_key_pkey, "1", "n", "", 0,
                                         sig, sizeof(sig)),
                     PGW_OK);
    assert_true(verify(pub, "1\nn\n\n", sig));
    assert_int_equal(pgw_sign_caller_rsa(conf->sign_key_pkey, "1", "n", "", 0,
                                         sig, 300),
                     PGW_ERR);
    assert_int_equal(pgw_sign_caller_rsa(NULL, "1", "n", "", 0, sig,
                                         sizeof(sig)),
                     PGW_ERR);

    pgw_config_free(conf);
    EVP_PKEY_free(pub);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_body_change_changes_signature),
        cmocka_unit_test(test_nonce_shape),
        cmocka_unit_test(test_rsa_signature_verifies_with_public_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
