/*
 * test_pack_hostile.c -- the sandbox end to end: a deliberately hostile pack
 * (tests/packs/hostile/) loaded through pgw_packs_* like paygwd loads any
 * pack, then attacked through the public calls (pgw_pack_build / _parse).
 * Each attack -- infinite loops (even under pcall), memory and string.rep /
 * concat bombs, deep recursion, io/os/require/package/debug/dofile/loadfile/
 * loadstring/string.dump/binary load, huge bodies, fields and codes -- must
 * end quickly with a clear error naming what stopped it, a parse must be
 * PROCESSING, nothing may escape, and the very next call on the same pack
 * version must work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "pgw_pack.h"

#define PWNED "/tmp/paygw-hostile-pwned"

struct attack {
    const char *name;
    const char *expect;     /* substring of the error */
};

static struct pgw_packs *packs;
static struct pgw_pack *pack;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
    char err[512];
    json_t *cfg = json_object();

    (void) state;
    unlink(PWNED);
    packs = pgw_packs_new("tests/packs/hostile/templates", "tests/packs/hostile/scripts",
                          "tests/packs/hostile/templates/hostile.fixtures/keys", err,
                          sizeof(err));
    assert_non_null(packs);
    if (pgw_packs_load(packs, "hostile", cfg, err, sizeof(err)) != 0) {
        fail_msg("the hostile pack must load (its fixtures behave): %s", err);
    }
    json_decref(cfg);
    pack = pgw_packs_get(packs, "hostile");
    assert_non_null(pack);
    return 0;
}

static int teardown(void **state)
{
    (void) state;
    pgw_packs_free(packs);
    return 0;
}

static void good_parse(void)
{
    struct pgw_outcome out;

    pgw_pack_parse(pack, "pay", 200, NULL, "ok", 2, NULL, &out);
    assert_int_equal(out.cls, PGW_CLASS_SUCCESS);
    assert_string_equal(out.error, "");
    pgw_outcome_clear(&out);
}

static void good_build(void)
{
    struct pgw_msg m;
    char err[512];
    json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s}", "out_trade_no", "H2", "amount", 1,
                          "currency", "CNY", "subject", "plain", "method", "hostile.qr");

    if (pgw_pack_build(pack, "pay", o, &m, err, sizeof(err)) != 0) {
        fail_msg("a plain build after an attack failed: %s", err);
    }
    assert_string_equal(m.body, "ok");
    pgw_msg_clear(&m);
    json_decref(o);
}

static void parse_attacks(void **state)
{
    static const struct attack attacks[] = {
        {"loop", "hostile.lua:14: instruction budget exhausted"},
        {"pcall_loop", "hostile.lua:16: instruction budget exhausted"},
        {"memory", "pack hostile, parse.pay: memory limit exceeded"},
        {"rep_bomb", "hostile.lua:22: resulting string too large"},
        {"concat_bomb", "pack hostile, parse.pay: memory limit exceeded"},
        {"recursion", "pack hostile, parse.pay: memory limit exceeded"},
        {"io", "hostile.lua:"},
        {"os", "hostile.lua:"},
        {"require", "hostile.lua:"},
        {"package", "hostile.lua:"},
        {"debug", "hostile.lua:"},
        {"dofile", "hostile.lua:"},
        {"loadfile", "hostile.lua:"},
        {"loadstring", "hostile.lua:"},
        {"dump", "hostile.lua:"},
        {"load_binary", "hostile.lua:"},
        {"load_env", "os"},
        {"getmetatable_string", "hostile.lua:"},    /* attempt to index a boolean */
        {"collectgarbage", "hostile.lua:"},
        {"huge_fields", "pack hostile, parse.pay: result is over the 4194304-byte limit"},
        {"huge_code", "code too long"},
        /* string.find(string.rep("a", 1e5), ".-.-.-.-.-.-.-b"): Lua's own
         * matcher would backtrack for hours in C, out of the instruction
         * hook's reach; the sandbox's (adapters/pgw_lua_pattern.c) counts */
        {"pattern", "pattern matching budget exhausted"},
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
        struct pgw_outcome out;
        double t0 = now_s(), dt;

        pgw_pack_parse(pack, "pay", 200, NULL, attacks[i].name, strlen(attacks[i].name),
                       NULL, &out);
        dt = now_s() - t0;
        print_message("parse %-20s %.2fs %s: %s\n", attacks[i].name, dt,
                      pgw_class_name(out.cls), out.error);
        if (out.cls != PGW_CLASS_PROCESSING || strstr(out.error, attacks[i].expect) == NULL) {
            fail_msg("attack %s: class %s, error '%s' (wanted PROCESSING and '%s')",
                     attacks[i].name, pgw_class_name(out.cls), out.error, attacks[i].expect);
        }
        assert_true(dt < 10.0);
        pgw_outcome_clear(&out);
        good_parse();
        good_build();
    }
    assert_int_not_equal(access(PWNED, F_OK), 0);
}

static void build_attacks(void **state)
{
    static const struct attack attacks[] = {
        {"loop", "hostile.lua:18: instruction budget exhausted"},
        {"huge_body", "pack hostile, build.pay: body of 8388608 bytes is over the "
                      "4194304-byte limit"},
        {"rep_bomb", "hostile.lua:20: resulting string too large"},
        {"recursion", "pack hostile, build.pay: memory limit exceeded"},
        {"memory", "pack hostile, build.pay: memory limit exceeded"},
        {"os", "hostile.lua:"},
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
        struct pgw_msg m;
        char err[512] = "";
        double t0 = now_s(), dt;
        json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s}", "out_trade_no", "H3", "amount", 1,
                              "currency", "CNY", "subject", attacks[i].name, "method",
                              "hostile.qr");
        int rc = pgw_pack_build(pack, "pay", o, &m, err, sizeof(err));

        dt = now_s() - t0;
        print_message("build %-20s %.2fs rc=%d: %s\n", attacks[i].name, dt, rc, err);
        if (rc == 0 || strstr(err, attacks[i].expect) == NULL) {
            fail_msg("build attack %s: rc %d, error '%s' (wanted a refusal with '%s')",
                     attacks[i].name, rc, err, attacks[i].expect);
        }
        assert_true(dt < 10.0);
        json_decref(o);
        good_build();
        good_parse();
    }
    assert_int_not_equal(access(PWNED, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_attacks),
        cmocka_unit_test(build_attacks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
