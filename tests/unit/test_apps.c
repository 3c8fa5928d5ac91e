/*
 * test_apps.c — the apps file v2 (docs/apps-file.md) as paygwd reads it:
 * HMAC-SHA256 and RSA2 apps, option syntax checked but not applied, and every
 * bad line stops loading with "<file>:<line>: <what>". RSA keys are generated
 * for the test with OpenSSL (EVP_PKEY_Q_keygen) into a private temp dir.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "pgw_apps.h"

static char dir[256];
static char apps_path[300];


static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}


/* writes an RSA (bits > 0) or EC (bits == 0) key pair: name.pem (public,
 * SPKI) and name.key (private, PKCS#8) under dir/keys */
static void
write_key(const char *name, unsigned int bits)
{
    char path[400];
    EVP_PKEY *k = bits ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) bits)
                       : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    FILE *f;

    assert_non_null(k);
    snprintf(path, sizeof(path), "%s/keys/%s.pem", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PUBKEY(f, k), 1);
    fclose(f);
    snprintf(path, sizeof(path), "%s/keys/%s.key", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    EVP_PKEY_free(k);
}


static int
setup(void **state)
{
    char keys[300];

    (void) state;
    snprintf(dir, sizeof(dir), "/tmp/pgw-test-apps-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(keys, sizeof(keys), "%s/keys", dir);
    mkdir(keys, 0700);
    snprintf(apps_path, sizeof(apps_path), "%s/apps.conf", dir);
    write_key("a2", 2048);
    write_key("small", 1024);
    write_key("ec", 0);
    return 0;
}


static int
teardown(void **state)
{
    char cmd[400];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}


static void
expect_error(const char *text, const char *needle)
{
    char err[1024], want[600];
    struct pgw_apps *apps;

    write_file(apps_path, text);
    apps = pgw_apps_load(apps_path, err, sizeof(err));
    if (apps != NULL) {
        pgw_apps_free(apps);
        fail_msg("accepted: %s", text);
    }
    /* "N: text" must follow the file name; a needle without a line number
     * only has to appear after "<file>:1: " */
    if (needle[0] >= '0' && needle[0] <= '9') {
        snprintf(want, sizeof(want), "%s:%s", apps_path, needle);
    } else {
        snprintf(want, sizeof(want), "%s:1: ", apps_path);
        if (strncmp(err, want, strlen(want)) != 0) {
            fail_msg("error '%s' does not start with '%s'", err, want);
        }
        snprintf(want, sizeof(want), "%s", needle);
    }
    if (strstr(err, want) == NULL) {
        fail_msg("error '%s' lacks '%s'", err, want);
    }
}


static void
test_good_file(void **state)
{
    char err[1024], abs_line[600];
    struct pgw_apps *apps;
    const struct pgw_app *a;

    (void) state;
    snprintf(abs_line, sizeof(abs_line), "A3 RSA2 %s/keys/a2.pem apis=*\n", dir);
    {
        char text[2048];
        snprintf(text, sizeof(text),
                 "# app_id  key_type      key    options...\n"
                 "A1  HMAC-SHA256  s3cr3t-for-app-A1-xxxxx  apis=* rate=200r/s"
                 " burst=50 concurrency=20\n"
                 "A2\tRSA2\tkeys/a2.pem\tapis=payments.create,payments.get"
                 " rate.payments.create=50r/s burst.payments.create=5 # c\n"
                 "%s"
                 "\n   \n"
                 "B.1_x-y HMAC-SHA256 0123456789abcdef rate=off concurrency=off"
                 " burst=0 rate.vouchers.get=10r/m\n"
                 "B2 HMAC-SHA256 0123456789abcdef#comment right after\n",
                 abs_line);
        write_file(apps_path, text);
    }
    apps = pgw_apps_load(apps_path, err, sizeof(err));
    if (apps == NULL) {
        fail_msg("%s", err);
    }
    a = pgw_apps_find(apps, "A1");
    assert_non_null(a);
    assert_int_equal(a->key_type, PGW_KEY_HMAC_SHA256);
    assert_string_equal(a->secret, "s3cr3t-for-app-A1-xxxxx");
    assert_int_equal(a->secret_len, 23);
    assert_null(a->pubkey);
    a = pgw_apps_find(apps, "A2");
    assert_non_null(a);
    assert_int_equal(a->key_type, PGW_KEY_RSA2);
    assert_non_null(a->pubkey);
    assert_int_equal(EVP_PKEY_get_bits(a->pubkey), 2048);
    assert_int_equal(a->secret_len, 0);
    assert_non_null(pgw_apps_find(apps, "A3"));
    assert_non_null(pgw_apps_find(apps, "B.1_x-y"));
    assert_string_equal(pgw_apps_find(apps, "B2")->secret, "0123456789abcdef");
    assert_null(pgw_apps_find(apps, "A4"));
    assert_int_equal(pgw_apps_have_rsa(apps), 1);
    pgw_apps_free(apps);

    write_file(apps_path, "A1 HMAC-SHA256 0123456789abcdef\n");
    apps = pgw_apps_load(apps_path, err, sizeof(err));
    assert_non_null(apps);
    assert_int_equal(pgw_apps_have_rsa(apps), 0);
    pgw_apps_free(apps);
}


static void
test_bad_lines(void **state)
{
    (void) state;
    /* fields */
    expect_error("A1 HMAC-SHA256 0123456789abcdef\nA2 HMAC-SHA256\n",
                 "2: expected: app_id key_type key");
    expect_error("A1\n", "1: expected");
    expect_error("A1 HMAC-SHA256 0123456789abcdef\n"
                 "A1 HMAC-SHA256 0123456789abcdef\n", "2: duplicate app_id");
    expect_error("A/1 HMAC-SHA256 0123456789abcdef\n", "1: app_id");
    expect_error("A1234567890123456789012345678901234567890123456789012345678901234"
                 " HMAC-SHA256 0123456789abcdef\n", "1: app_id");
    expect_error("A1 MD5 0123456789abcdef\n", "1: unknown key_type");
    expect_error("A1 rsa2 keys/a2.pem\n", "1: unknown key_type");
    expect_error("A1 HMAC-SHA256 short\n", "1: secret must be 16 to 255 bytes");
    expect_error("A1 HMAC-SHA256 0123456789\x01" "abcdef\n", "1: control character");
    /* options */
    expect_error("\nA1 HMAC-SHA256 0123456789abcdef apis\n",
                 "2: apis: an option is name=value");
    expect_error("A1 HMAC-SHA256 0123456789abcdef apis=\n", "1: apis=:");
    expect_error("A1 HMAC-SHA256 0123456789abcdef colour=red\n",
                 "1: colour=red: unknown option");
    expect_error("A1 HMAC-SHA256 0123456789abcdef rate=1r/s rate=2r/s\n",
                 "1: rate=2r/s: option given twice");
    expect_error("A1 HMAC-SHA256 0123456789abcdef rate=200\n", "1: rate=200: rate");
    expect_error("A1 HMAC-SHA256 0123456789abcdef rate=0r/s\n", "1: rate=0r/s");
    expect_error("A1 HMAC-SHA256 0123456789abcdef rate=5r/h\n", "1: rate=5r/h");
    expect_error("A1 HMAC-SHA256 0123456789abcdef rate=-5r/s\n", "1: rate=-5r/s");
    expect_error("A1 HMAC-SHA256 0123456789abcdef rate=99999999999r/s\n",
                 "1: rate=99999999999r/s");
    expect_error("A1 HMAC-SHA256 0123456789abcdef burst=x\n", "1: burst=x: burst");
    expect_error("A1 HMAC-SHA256 0123456789abcdef burst=5r/s\n", "1: burst=5r/s");
    expect_error("A1 HMAC-SHA256 0123456789abcdef concurrency=0\n",
                 "1: concurrency=0: concurrency");
    expect_error("A1 HMAC-SHA256 0123456789abcdef apis=payments.get,,x\n",
                 "1: apis=payments.get,,x: apis");
    expect_error("A1 HMAC-SHA256 0123456789abcdef apis=payments.get,\n",
                 "1: apis=payments.get,: apis");
    expect_error("A1 HMAC-SHA256 0123456789abcdef apis=pay/ments\n",
                 "1: apis=pay/ments: apis");
    expect_error("A1 HMAC-SHA256 0123456789abcdef rate.=5r/s\n", "1: rate.=5r/s");
    expect_error("A1 HMAC-SHA256 0123456789abcdef rate.payments.get=off\n",
                 "1: rate.payments.get=off: rate.API");
    expect_error("A1 HMAC-SHA256 0123456789abcdef burst.payments.get=5r/s\n",
                 "1: burst.payments.get=5r/s: burst.API");
    expect_error("A1 HMAC-SHA256 0123456789abcdef burst.a=1 burst.a=2\n",
                 "1: burst.a=2: option given twice");
    /* RSA2 keys */
    expect_error("A1 RSA2 keys/missing.pem\n", "1: cannot open");
    expect_error("A1 RSA2 keys/missing.pem\n", "keys/missing.pem: No such file");
    expect_error("A1 RSA2 keys/small.pem\n", "at least 2048");
    expect_error("A1 RSA2 keys/ec.pem\n", "is not an RSA key");
    expect_error("A1 RSA2 keys/a2.key\n", "is not a PEM public key");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_bad_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
