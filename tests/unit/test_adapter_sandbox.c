/*
 * test_adapter_sandbox.c -- the Lua sandbox packs run in
 * (adapters/pgw_sandbox.c): only base/string/table/math/utf8 + gw exist;
 * bytecode can never be loaded; the per-call instruction budget stops
 * endless loops (even under pcall); the memory cap stops allocation bombs;
 * the state stays usable after every kind of failure; gw.log reaches the
 * host sink masked.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <lua.h>

#include "pgw_adapter.h"
#include "lua_harness.h"
#include "pgw_pack.h"


static int
setup(void **state)
{
    (void) state;
    return harness_open();
}


static int
teardown(void **state)
{
    (void) state;
    harness_close();
    return 0;
}


static void
still_usable(void)
{
    expect("local t = {} for i = 1, 1000 do t[i] = i end return #t .. gw.crypto.sha1('')",
           "1000da39a3ee5e6b4b0d3255bfef95601890afd80709");
}


static void
test_dangerous_globals_absent(void **state)
{
    (void) state;
    expect("return tostring(io) .. tostring(os) .. tostring(require) .. tostring(debug)"
           " .. tostring(package) .. tostring(dofile) .. tostring(loadfile)"
           " .. tostring(coroutine) .. tostring(string.dump) .. tostring(print)"
           " .. tostring(warn)", "nilnilnilnilnilnilnilnilnilnilnil");
    /* the strings' metatable is hidden (a script cannot rewire methods) and
     * string.dump is unreachable through it too */
    expect("return tostring(getmetatable(''))", "false");
    expect("return tostring(('').dump)", "nil");
    expect("return type(string.format) .. type(table.concat) .. type(math.floor)"
           " .. type(utf8.char) .. type(pcall) .. type(setmetatable)",
           "functionfunctionfunctionfunctionfunctionfunction");
    expect_error("return io.open('/etc/passwd')", "attempt to index a nil value");
    expect_error("return require('os')", "attempt to call a nil value");
}


static void
test_binary_chunks_refused(void **state)
{
    char out[512];
    static const char bin[] = "\x1bLua\x54\x00\x19\x93\r\n\x1a\n";

    (void) state;
    expect("return select(2, load('\\27Lua\\84\\0\\25\\147\\r\\n\\26\\n'))",
           "attempt to load a binary chunk (mode is 't')");
    expect("return select(2, load('return 1', 'x', 'b'))",
           "only text chunks may be loaded (mode must be \"t\")");
    expect("return select(2, load('return 1', 'x', 'bt'))",
           "only text chunks may be loaded (mode must be \"t\")");
    expect("return load('return 1 + 1')()", "2");
    expect("return load('return x', 'c', 't', {x = 42})()", "42");
    expect_error("return load(function() return nil end)", "bad argument");
    /* the host's own loader refuses bytecode too */
    assert_int_equal(pgw_sbx_load(sbx, bin, sizeof(bin) - 1, "=bin", out, sizeof(out)), -1);
    assert_non_null(strstr(out, "binary chunk"));
}


static void
test_instruction_budget(void **state)
{
    (void) state;
    expect_error("while true do end", "instruction budget exhausted");
    still_usable();
    /* a script cannot swallow the budget error with pcall */
    expect_error("while true do pcall(function() while true do end end) end",
                 "instruction budget exhausted");
    still_usable();
    expect_error("local function f() return f() end return f()", "instruction budget");
    still_usable();
    /* the budget is per call: a long-but-bounded job fits in a fresh call */
    expect("local n = 0 for i = 1, 1000000 do n = n + 1 end return n", "1000000");
    expect("local n = 0 for i = 1, 1000000 do n = n + 1 end return n", "1000000");
}


static void
test_memory_cap(void **state)
{
    (void) state;
    expect_error("return string.rep('x', 1e9)", "memory limit exceeded");
    still_usable();
    expect_error("local t = {} for i = 1, 1e8 do t[i] = string.rep('y', 64) .. i end",
                 "memory limit exceeded");
    still_usable();
    expect("local ok, e = pcall(string.rep, 'x', 1e9) return tostring(ok) .. ' ' .. e",
           "false not enough memory");
    still_usable();
    assert_true(sbx->mem_used < sbx->mem_limit / 2);
}


static void
test_collectgarbage_limited(void **state)
{
    (void) state;
    expect("return type(collectgarbage('count'))", "number");
    expect("return collectgarbage()", "0");
    expect_error("collectgarbage('stop')", "invalid option 'stop'");
    expect_error("collectgarbage('generational')", "invalid option");
}


static char log_level[16];
static char log_msg[256];
static char log_channel[64];


static void
capture(const char *level, const char *channel, const char *msg, void *ud)
{
    (void) ud;
    snprintf(log_level, sizeof(log_level), "%s", level);
    snprintf(log_channel, sizeof(log_channel), "%s", channel);
    snprintf(log_msg, sizeof(log_msg), "%s", msg);
}


static void
test_log_goes_to_host_masked(void **state)
{
    (void) state;
    snprintf(sbx->channel, sizeof(sbx->channel), "demo");
    pgw_adapters_set_log(capture, NULL);
    expect("gw.log('warn', 'card 4111111111111111 declined') return 1", "1");
    assert_string_equal(log_level, "warn");
    assert_string_equal(log_channel, "demo");
    assert_string_equal(log_msg, "card 411111****1111 declined");
    expect_error("gw.log('loud', 'x')", "invalid option 'loud'");
    pgw_adapters_set_log(NULL, NULL);
}


static void
test_errors_carry_chunk_and_line(void **state)
{
    char out[512];
    static const char code[] = "local a = 1\nlocal b = nil\nreturn b.c\n";

    (void) state;
    assert_int_equal(pgw_sbx_load(sbx, code, strlen(code), "@scripts/demo.lua", out,
                                  sizeof(out)), 0);
    assert_int_equal(pgw_sbx_call(sbx, 0, 1, out, sizeof(out)), -1);
    assert_non_null(strstr(out, "scripts/demo.lua:3:"));
    assert_int_equal(pgw_sbx_load(sbx, "x = = 1", 7, "@templates/demo.lua", out,
                                  sizeof(out)), -1);
    assert_non_null(strstr(out, "templates/demo.lua:1:"));
    expect_error("error({})", "non-string error");
    still_usable();
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dangerous_globals_absent),
        cmocka_unit_test(test_binary_chunks_refused),
        cmocka_unit_test(test_instruction_budget),
        cmocka_unit_test(test_memory_cap),
        cmocka_unit_test(test_collectgarbage_limited),
        cmocka_unit_test(test_log_goes_to_host_masked),
        cmocka_unit_test(test_errors_carry_chunk_and_line),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
