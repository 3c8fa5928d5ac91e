/*
 * lua_harness.h — shared by the adapter unit tests: one sandbox per test
 * program, and helpers that run a Lua function body in it and compare the
 * first return value (as tostring) or the error text.
 */

#ifndef PGW_TEST_LUA_HARNESS_H
#define PGW_TEST_LUA_HARNESS_H

#include <stdio.h>
#include <string.h>

#include <lua.h>

#include "pgw_adapter.h"

static struct pgw_sbx *sbx;


static inline int
harness_open(void)
{
    char err[256];

    sbx = pgw_sbx_new(PGW_SBX_MEM_LIMIT, PGW_SBX_BUDGET, err, sizeof(err));
    return sbx != NULL ? 0 : -1;
}


static inline void
harness_close(void)
{
    pgw_sbx_free(sbx);
    sbx = NULL;
}


/* cmocka group setup / teardown: the sandbox with the TEST-ONLY keystore of
 * tests/vectors/keys as its keys (run from the repository root) */
static struct pgw_keystore *keys;


static inline int
harness_setup_keys(void **state)
{
    (void) state;
    keys = pgw_keystore_new("tests/vectors/keys");
    if (harness_open() != 0 || keys == NULL) {
        return -1;
    }
    sbx->keys = keys;
    return 0;
}


static inline int
harness_teardown_keys(void **state)
{
    (void) state;
    harness_close();
    pgw_keystore_free(keys);
    return 0;
}


/* runs `body` (a function body); result = tostring(first return) */
static inline int
run(const char *body, char *out, size_t outlen)
{
    char code[16384];

    snprintf(code, sizeof(code),
             "local r = (function() %s end)() return tostring(r)", body);
    if (pgw_sbx_load(sbx, code, strlen(code), "=test", out, outlen) != 0
        || pgw_sbx_call(sbx, 0, 1, out, outlen) != 0) {
        return -1;
    }
    snprintf(out, outlen, "%s", lua_tostring(sbx->L, -1));
    lua_pop(sbx->L, 1);
    return 0;
}


static inline void
expect(const char *body, const char *want)
{
    char out[8192];

    if (run(body, out, sizeof(out)) != 0) {
        fail_msg("Lua error: %s", out);
    }
    assert_string_equal(out, want);
}


static inline void
expect_prefix(const char *body, const char *want)
{
    char out[8192];

    if (run(body, out, sizeof(out)) != 0) {
        fail_msg("Lua error: %s", out);
    }
    if (strncmp(out, want, strlen(want)) != 0) {
        fail_msg("got '%s', expected a prefix '%s'", out, want);
    }
}


static inline void
expect_error(const char *body, const char *needle)
{
    char out[8192];

    assert_int_equal(run(body, out, sizeof(out)), -1);
    if (strstr(out, needle) == NULL) {
        fail_msg("error '%s' does not mention '%s'", out, needle);
    }
}

#endif
