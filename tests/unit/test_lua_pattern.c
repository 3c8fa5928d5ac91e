/*
 * test_lua_pattern.c — the sandbox's string.find / match / gmatch / gsub
 * (adapters/pgw_lua_pattern.c) against Lua's own, on every combination of a
 * few dozen patterns (classes, sets, repetitions, anchors, captures, position
 * captures, back-references, %b, %f, malformed ones) and subjects (empty,
 * embedded zeros, UTF-8 bytes), with init positions and gsub replacements of
 * every kind — same results, same errors; and a backtracking bomb that Lua's
 * own matcher would chew on for hours is stopped by the step budget.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "pgw_adapter.h"

static const char *const compare_script =
    "local O = { find = string.find, match = string.match, gmatch = string.gmatch,\n"
    "            gsub = string.gsub }\n"
    "local function pk(ok, ...) return { ok = ok, n = select('#', ...), ... } end\n"
    "local function show(r)\n"
    "  local t = {}\n"
    "  for i = 1, r.n do\n"
    "    local v = tostring(r[i])\n"
    "    -- argument errors name the function as found in package.loaded: ours\n"
    "    -- live in P here (and the sandbox has no package.loaded at all)\n"
    "    if not r.ok then v = O.gsub(v, \"to '[^']*'\", \"to 'F'\") end\n"
    "    t[#t + 1] = type(r[i]) .. ':' .. v\n"
    "  end\n"
    "  return tostring(r.ok) .. '|' .. table.concat(t, ',')\n"
    "end\n"
    "local function call(f, ...) return pk(pcall(f, ...)) end\n"
    "local function all(g, ...)\n"
    "  local ok, it = pcall(g, ...)\n"
    "  if not ok then return pk(false, it) end\n"
    "  local out, k = {}, 0\n"
    "  local ok2, err = pcall(function()\n"
    "    while true do\n"
    "      local r = pk(true, it())\n"
    "      if r[1] == nil then break end\n"
    "      k = k + 1; if k > 1000 then error('runaway') end\n"
    "      out[#out + 1] = show(r)\n"
    "    end\n"
    "  end)\n"
    "  if not ok2 then return pk(false, err) end\n"
    "  return pk(true, table.concat(out, ';'))\n"
    "end\n"
    "local pats = { '', 'a', '^a', 'a$', '^$', '.', '%a+', '%d*', '%s-', '[%w_]+', '[^%s]+',\n"
    "  '[a-f]+', '[]]', '[^]]+', '(%a+)=(%w+)', '()a()', '(a*(.)%w(%s*))', '%bxy', '%b()',\n"
    "  '%f[%w]%w+', '%f[%a]', '(h)(e)%2', '(l)%1', 'a?b', 'a-b', '.-b', '[%d%.]+', '%%', 'x*',\n"
    "  '(%d+)-(%d+)', '^(%w+)', '[a-]', '[-a]+', '%.', '%u%l*', '%z', '%W+', '[%a%d]-z',\n"
    "  '(.-)%s', '^(.-)$', '(%w+)%s*;', 'o', 'l+', '()', '(()a)', '%f[%z]',\n"
    "  '%', '[a', '(a', 'a)', '%1', '%f', '%b', '%bx', '(()', '%g+', '%p', '%c', '[%]]',\n"
    "  '[^%d%s]+', '.+$', '$$', '^^a', 'a%$', '[\\0-\\31]+' }\n"
    "local subjects = { '', 'a', 'hello world', '  key=value; k2=v2 ', 'aaa', '(foo(bar))baz',\n"
    "  'x1y22z333', 'THE (quick) fox', 'a.b.c', '\\0a\\0b', 'h\\195\\169llo', 'xaybzxy', '^a$',\n"
    "  '3.14-2.71', 'zzz', 'he he', 'lol' }\n"
    "local inits = { nil, 1, 2, -1, -3, 0, 100 }\n"
    "local repls = { '%0%0', '<%1>', '%%', '', { hello = 'HI', a = 'A', [1] = 'one' },\n"
    "  function(a, b) return a and (a .. (b or '')):upper() end,\n"
    "  function() return false end, '%2', 7, '%x', function() return {} end }\n"
    "local diffs, n = {}, 0\n"
    "local function cmp(what, a, b)\n"
    "  n = n + 1\n"
    "  local sa, sb = show(a), show(b)\n"
    "  if sa ~= sb then diffs[#diffs + 1] = what .. ': lua ' .. sa .. ' / ours ' .. sb end\n"
    "end\n"
    "for _, p in ipairs(pats) do\n"
    "  for _, s in ipairs(subjects) do\n"
    "    for ii = 1, #inits + 1 do\n"
    "      local i = inits[ii]\n"
    "      local tag = string.format('%q %q %s', s, p, tostring(i))\n"
    "      cmp('find ' .. tag, call(O.find, s, p, i), call(P.find, s, p, i))\n"
    "      cmp('find plain ' .. tag, call(O.find, s, p, i, true), call(P.find, s, p, i, true))\n"
    "      cmp('match ' .. tag, call(O.match, s, p, i), call(P.match, s, p, i))\n"
    "      cmp('gmatch ' .. tag, all(O.gmatch, s, p, i), all(P.gmatch, s, p, i))\n"
    "    end\n"
    "    for ri, r in ipairs(repls) do\n"
    "      for _, m in ipairs({ false, 1, 2 }) do\n"
    "        local tag = string.format('%q %q repl %d max %s', s, p, ri, tostring(m))\n"
    "        if m then\n"
    "          cmp('gsub ' .. tag, call(O.gsub, s, p, r, m), call(P.gsub, s, p, r, m))\n"
    "        else\n"
    "          cmp('gsub ' .. tag, call(O.gsub, s, p, r), call(P.gsub, s, p, r))\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "-- method calls and numbers as subjects go through the same functions\n"
    "cmp('number subject', call(O.find, 12345, '3(4)'), call(P.find, 12345, '3(4)'))\n"
    "cmp('bad repl', call(O.gsub, 'x', 'x', true), call(P.gsub, 'x', 'x', true))\n"
    "return n, table.concat(diffs, '\\n', 1, math.min(#diffs, 20)), #diffs\n";


static lua_State *
state_with_both(void)
{
    lua_State *L = luaL_newstate();

    assert_non_null(L);
    luaL_openlibs(L);
    lua_newtable(L);
    pgw_lua_pattern_install(L);
    lua_setglobal(L, "P");
    return L;
}


static void
test_same_as_lua(void **state)
{
    lua_State *L = state_with_both();

    (void) state;
    if (luaL_dostring(L, compare_script) != LUA_OK) {
        fail_msg("compare script: %s", lua_tostring(L, -1));
    }
    lua_Integer n = lua_tointeger(L, -3);
    lua_Integer ndiff = lua_tointeger(L, -1);
    if (ndiff != 0) {
        fail_msg("%lld of %lld comparisons differ:\n%s", (long long) ndiff,
                 (long long) n, lua_tostring(L, -2));
    }
    assert_true(n > 20000);
    lua_close(L);
}


static void
test_backtracking_bomb_is_stopped(void **state)
{
    lua_State *L = state_with_both();
    struct timespec t0, t1;
    const char *const bombs[] = {
        "return P.find(string.rep('a', 300000), '.-.-.-b')",
        "return P.match(string.rep('a', 300000), '(a*)*b')",
        "return P.gsub(string.rep('a', 300000), '.-.-b', '')",
        "for x in P.gmatch(string.rep('a', 300000), '.-.-b') do end",
    };

    (void) state;
    for (size_t i = 0; i < sizeof(bombs) / sizeof(bombs[0]); i++) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_not_equal(luaL_dostring(L, bombs[i]), LUA_OK);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (strstr(lua_tostring(L, -1), "pattern matching budget exhausted") == NULL
            && strstr(lua_tostring(L, -1), "pattern too complex") == NULL) {
            fail_msg("%s: %s", bombs[i], lua_tostring(L, -1));
        }
        lua_pop(L, 1);
        double s = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (s > 5.0) {
            fail_msg("%s took %.1f s", bombs[i], s);
        }
    }
    /* and a large, well-behaved parse is far inside the budget */
    if (luaL_dostring(L, "local s = string.rep('k=v&', 200000)\n"
                         "local n = 0\n"
                         "for k, v in P.gmatch(s, '(%w+)=(%w+)') do n = n + 1 end\n"
                         "assert(n == 200000)\n"
                         "assert(select(2, P.gsub(s, '&', ';')) == 200000)") != LUA_OK) {
        fail_msg("large parse: %s", lua_tostring(L, -1));
    }
    lua_close(L);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_lua),
        cmocka_unit_test(test_backtracking_bomb_is_stopped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
