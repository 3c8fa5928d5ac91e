/*
 * test_fixtures_config.c -- a fixture case's own config (adapters/
 * pgw_fixtures.c): merged over the set's config for that case only, the
 * next case without one sees the set's again, false is a value (not a
 * removal), and a bad case config fails naming the case.  A tiny pack
 * whose builder echoes ctx.config runs through pgw_fixtures_run, the same
 * call pgw_packs_load makes.
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

#include "pgw_adapter.h"

static const char echo_template[] =
    "local M = {}\n"
    "M.manifest = {\n"
    "  channel = 'echo',\n"
    "  methods = { ['echo.qr'] = { kind = 'prepay', currencies = { 'CNY' } } },\n"
    "  endpoints = { production = 'http://127.0.0.1:9/echo' },\n"
    "  timeouts = { connect_timeout_ms = 1000, timeout_ms = 1000 },\n"
    "  first_query_delay_ms = 0,\n"
    "  query_backoff_ms = { 1000 },\n"
    "}\n"
    "M.build = {}\n"
    "function M.build.pay(order, ctx)\n"
    "  local c = ctx.config\n"
    "  return { method = 'POST', url = ctx.endpoint, content_type = 'text/plain',\n"
    "           body = tostring(c.mode) .. ':' .. tostring(c.extra) .. ':'\n"
    "                  .. tostring(c.only) .. '@' .. gw.time.now_ms() }\n"
    "end\n"
    "return M\n";

static const char echo_script[] =
    "local S = {}\n"
    "S.codes = { pay = { success = { source = 'https://example.invalid/echo-test-pack',\n"
    "                                codes = { 'OK' } } } }\n"
    "S.parse = {}\n"
    "function S.parse.pay(resp, order, ctx)\n"
    "  if resp.body == ctx.config.mode then return { class = 'SUCCESS', code = 'OK' } end\n"
    "  return { class = 'PROCESSING', code = '', error = 'mode is ' .. ctx.config.mode }\n"
    "end\n"
    "return S\n";

static const struct pgw_pack_src src = {
    "echo.lua", echo_template, sizeof(echo_template) - 1,
    "echo_s.lua", echo_script, sizeof(echo_script) - 1,
};

#define ORDER "order = { out_trade_no = 'E1', amount = 1, currency = 'CNY', " \
              "subject = 's', method = 'echo.qr' }, "

static char fixdir[64];

static int setup(void **state)
{
    char keys[128];

    (void) state;
    snprintf(fixdir, sizeof(fixdir), "/tmp/pgw_fx_cfg_XXXXXX");
    assert_non_null(mkdtemp(fixdir));
    snprintf(keys, sizeof(keys), "%s/keys", fixdir);
    assert_int_equal(mkdir(keys, 0700), 0);
    return 0;
}

static int teardown(void **state)
{
    char path[128];

    (void) state;
    snprintf(path, sizeof(path), "%s/cases.lua", fixdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/keys", fixdir);
    rmdir(path);
    rmdir(fixdir);
    return 0;
}

/* writes cases.lua with the set config {mode='a', extra='x'} and the given
 * cases, runs it; 0 / -1 + err */
static int run_cases(const char *cases, char *err, size_t errlen)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/cases.lua", fixdir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "return { clock_ms = 1704081600000,\n"
               "  config = { mode = 'a', extra = 'x' },\n"
               "  cases = {\n%s\n"
               "    { name = 'parse', kind = 'parse', op = 'pay', response = 'a',\n"
               "      expect = { class = 'SUCCESS', code = 'OK', error = '' } },\n"
               "  } }\n", cases);
    fclose(f);
    err[0] = '\0';
    return pgw_fixtures_run("echo", &src, "v1", fixdir, err, errlen);
}

static void case_config_wins_for_that_case_only(void **state)
{
    char err[600];

    (void) state;
    if (run_cases(
            "{ name = 'set', kind = 'build', op = 'pay', " ORDER
            "  expect = { body = 'a:x:nil@1704081600000' } },\n"
            "{ name = 'own', kind = 'build', op = 'pay', " ORDER
            "  config = { mode = 'b', only = 'o' },\n"
            "  expect = { body = 'b:x:o@1704081600000' } },\n"
            "{ name = 'set again', kind = 'build', op = 'pay', " ORDER
            "  expect = { body = 'a:x:nil@1704081600000' } },\n"
            "{ name = 'same own config, cached', kind = 'build', op = 'pay', " ORDER
            "  config = { only = 'o', mode = 'b' },\n"
            "  expect = { body = 'b:x:o@1704081600000' } },\n"
            "{ name = 'parse under own', kind = 'parse', op = 'pay', response = 'b',\n"
            "  config = { mode = 'b' }, expect = { class = 'SUCCESS', code = 'OK' } },\n"
            "{ name = 'parse under set', kind = 'parse', op = 'pay', response = 'b',\n"
            "  expect = { class = 'PROCESSING', error = 'mode is a' } },\n",
            err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
}

static void false_is_a_value_not_a_removal(void **state)
{
    char err[600];

    (void) state;
    if (run_cases("{ name = 'false', kind = 'build', op = 'pay', " ORDER
                  "  config = { extra = false },\n"
                  "  expect = { body = 'a:false:nil@1704081600000' } },\n",
                  err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
}

static void a_case_sees_the_set_config_without_its_own(void **state)
{
    char err[600];

    (void) state;
    /* the second case has no config: it must not see the first case's */
    assert_int_equal(run_cases("{ name = 'own', kind = 'build', op = 'pay', " ORDER
                               "  config = { mode = 'b' },\n"
                               "  expect = { body = 'b:x:nil@1704081600000' } },\n"
                               "{ name = 'leaks?', kind = 'build', op = 'pay', " ORDER
                               "  expect = { body = 'b:x:nil@1704081600000' } },\n",
                               err, sizeof(err)), -1);
    if (strstr(err, "case 2 ('leaks?'): body differs") == NULL
        || strstr(err, "got: a:x:nil") == NULL) {
        fail_msg("unexpected error: %s", err);
    }
}

static void a_bad_case_config_names_the_case(void **state)
{
    char err[600];

    (void) state;
    assert_int_equal(run_cases("{ name = 'ok', kind = 'build', op = 'pay', " ORDER
                               "  expect = { body = 'a:x:nil@1704081600000' } },\n"
                               "{ name = 'list', kind = 'build', op = 'pay', " ORDER
                               "  config = { 'a', 'b' }, expect = { body = '' } },\n",
                               err, sizeof(err)), -1);
    if (strstr(err, "case 2 ('list'): config must be a table of keys") == NULL) {
        fail_msg("unexpected error: %s", err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(case_config_wins_for_that_case_only),
        cmocka_unit_test(false_is_a_value_not_a_removal),
        cmocka_unit_test(a_case_sees_the_set_config_without_its_own),
        cmocka_unit_test(a_bad_case_config_names_the_case),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
