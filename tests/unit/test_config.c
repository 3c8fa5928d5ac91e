/*
 * test_config.c — paygwd.conf and apps.conf: good files parse; every bad line
 * stops with "<file>:<line>: …" naming the problem.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "pgw_apps.h"
#include "pgw_config.h"


static const char *
write_tmp(const char *text)
{
    static char path[64];
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/pgw-test-conf-%d", getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}


static void
expect_error(const char *text, const char *needle)
{
    char err[512], want[128];
    const char *path = write_tmp(text);
    struct pgw_config *c = pgw_config_load(path, err, sizeof(err));

    assert_null(c);
    snprintf(want, sizeof(want), "%s:%s", path, needle);
    if (strstr(err, want) == NULL) {
        fail_msg("error '%s' lacks '%s'", err, want);
    }
    unlink(path);
}


static void
test_good_config(void **state)
{
    char err[512];
    const char *path = write_tmp(
        "# comment\n"
        "db /tmp/x.db\n"
        "admin_token t0k  # trailing comment\n"
        "notify_backoff 1,2,3\n"
        "channel alipay endpoint http://127.0.0.1:9100/gateway.do\n"
        "channel alipay first_query_delay_ms 300\n"
        "channel alipay query_backoff_ms 300,500\n"
        "channel alipay param app_id 2021000000000001\n"
        "channel alipay query_max 7\n"
        "channel alipay query_concurrency 4\n"
        "channel alipay notify_confirm_above 500000\n"
        "refresh_rate 3\n");
    struct pgw_config *c = pgw_config_load(path, err, sizeof(err));
    struct pgw_channel_conf *ch;

    (void) state;
    assert_non_null(c);
    assert_string_equal(c->db, "/tmp/x.db");
    assert_string_equal(c->admin_token, "t0k");
    assert_int_equal(c->n_notify_backoff, 3);
    assert_int_equal(c->notify_backoff_ms[2], 3000);
    ch = pgw_config_channel(c, "alipay");
    assert_non_null(ch);
    assert_int_equal(ch->first_query_delay_ms, 300);
    assert_int_equal(ch->n_query_backoff, 2);
    assert_string_equal(json_string_value(json_object_get(ch->params, "app_id")),
                        "2021000000000001");
    assert_int_equal(ch->query_max, 7);
    assert_int_equal(ch->query_concurrency, 4);
    assert_int_equal(ch->notify_confirm_above, 500000);
    assert_int_equal(c->refresh_rate, 3);
    assert_int_equal(c->refresh_burst, 20);
    assert_int_equal(c->refresh_min_interval_ms, 2000);
    pgw_config_free(c);
    unlink(path);
}


static void
test_notify_backoff_ms_and_defaults(void **state)
{
    char err[512];
    const char *path = write_tmp("notify_backoff_ms 10,20,40\n");
    struct pgw_config *c = pgw_config_load(path, err, sizeof(err));

    (void) state;
    assert_non_null(c);
    assert_int_equal(c->n_notify_backoff, 3);
    assert_int_equal(c->notify_backoff_ms[0], 10);
    assert_int_equal(c->notify_backoff_ms[2], 40);
    pgw_config_free(c);
    unlink(path);
    /* the default: 9 delays between 10 attempts */
    path = write_tmp("db /tmp/x.db\n");
    c = pgw_config_load(path, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(c->n_notify_backoff, 9);
    pgw_config_free(c);
    unlink(path);
    expect_error("channel alipay query_max 0\n", "1: channel: query_max");
    expect_error("notify_backoff_ms x\n", "1: notify_backoff_ms");
}


static void
test_bad_configs_name_file_and_line(void **state)
{
    (void) state;
    expect_error("db x\nbogus 1\n", "2: bogus: unknown directive");
    expect_error("\n\nscan_interval_ms abc\n", "3: scan_interval_ms");
    expect_error("channel alipay endpoint ftp://x\n", "1: channel: endpoint");
    expect_error("notify_backoff 1,,x\n", "1: notify_backoff");
    expect_error("db\n", "1: db: expected exactly one value");
    expect_error("channel alipay param onlykey\n", "1: channel");
}


static void
test_apps_file(void **state)
{
    char err[512];
    const char *path = write_tmp("# apps\nA1 HMAC-SHA256 0123456789abcdef0123\n");
    struct pgw_apps *apps = pgw_apps_load(path, err, sizeof(err));

    (void) state;
    assert_non_null(apps);
    assert_non_null(pgw_apps_find(apps, "A1"));
    assert_null(pgw_apps_find(apps, "A2"));
    assert_int_equal(pgw_apps_find(apps, "A1")->secret_len, 20);
    pgw_apps_free(apps);

    path = write_tmp("A1 HMAC-SHA256 0123456789abcdef0123\n"
                     "A1 HMAC-SHA256 0123456789abcdef0123\n");
    assert_null(pgw_apps_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, ":2: duplicate app_id"));
    path = write_tmp("A1 MD5 0123456789abcdef0123\n");
    assert_null(pgw_apps_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, ":1: unknown key_type"));
    path = write_tmp("A1 HMAC-SHA256 short\n");
    assert_null(pgw_apps_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, ":1: secret"));
    unlink(path);
}


static void
test_sign_key(void **state)
{
    char dir[] = "/tmp/pgw-test-signkey-XXXXXX", path[128], conf_path[128];
    char text[256], err[512], want[200], cmd[160];
    EVP_PKEY *k;
    FILE *f;
    struct pgw_config *c;

    (void) state;
    assert_non_null(mkdtemp(dir));
    snprintf(conf_path, sizeof(conf_path), "%s/paygwd.conf", dir);
    /* an EC key and an RSA public key are not the gateway's RSA private key */
    k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    snprintf(path, sizeof(path), "%s/ec.key", dir);
    f = fopen(path, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    EVP_PKEY_free(k);
    k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
    snprintf(path, sizeof(path), "%s/rsa.pub", dir);
    f = fopen(path, "w");
    PEM_write_PUBKEY(f, k);
    fclose(f);
    snprintf(path, sizeof(path), "%s/rsa.key", dir);
    f = fopen(path, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    EVP_PKEY_free(k);

    static const struct {
        const char *text;
        const char *needle;
    } bad[] = {
        { "db x\nsign_key missing.key\n", "2: sign_key: cannot open" },
        { "sign_key ec.key\n", "1: sign_key: " },
        { "sign_key rsa.pub\n", "1: sign_key: " },
        { "sign_key rsa.key\nsign_key rsa.key\n", "2: sign_key: given twice" },
        { "sign_key\n", "1: sign_key: expected exactly one value" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f = fopen(conf_path, "w");
        fputs(bad[i].text, f);
        fclose(f);
        c = pgw_config_load(conf_path, err, sizeof(err));
        assert_null(c);
        snprintf(want, sizeof(want), "%s:%s", conf_path, bad[i].needle);
        if (strstr(err, want) == NULL) {
            fail_msg("error '%s' lacks '%s'", err, want);
        }
    }
    f = fopen(conf_path, "w");
    fputs("sign_key ec.key\n", f);
    fclose(f);
    assert_null(pgw_config_load(conf_path, err, sizeof(err)));
    assert_non_null(strstr(err, "not an RSA key"));

    /* relative to the config file's directory, absolute as given */
    snprintf(text, sizeof(text), "sign_key rsa.key\n");
    f = fopen(conf_path, "w");
    fputs(text, f);
    fclose(f);
    c = pgw_config_load(conf_path, err, sizeof(err));
    if (c == NULL) {
        fail_msg("%s", err);
    }
    assert_non_null(c->sign_key_pkey);
    snprintf(want, sizeof(want), "%s/rsa.key", dir);
    assert_string_equal(c->sign_key, want);
    pgw_config_free(c);
    f = fopen(conf_path, "w");
    fprintf(f, "sign_key %s/rsa.key\n", dir);
    fclose(f);
    c = pgw_config_load(conf_path, err, sizeof(err));
    assert_non_null(c);
    pgw_config_free(c);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_config),
        cmocka_unit_test(test_notify_backoff_ms_and_defaults),
        cmocka_unit_test(test_bad_configs_name_file_and_line),
        cmocka_unit_test(test_apps_file),
        cmocka_unit_test(test_sign_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
