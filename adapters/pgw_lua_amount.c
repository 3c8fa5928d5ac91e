/*
 * pgw_lua_amount.c -- gw.amount: minor units <-> decimal strings, with
 * string arithmetic only (no floating point ever touches money).
 *
 *   gw.amount.to_decimal(1000, 2)      -> "10.00"
 *   gw.amount.from_decimal("10.00", 2) -> 1000
 *       accepts [-]digits[.digits] with at most `exponent` fraction digits
 *       ("10", "10.5", "10.50" all -> 1050 for exponent 2); anything else
 *       ("10.001", "1e3", " 10", "") raises an error: a script error is
 *       PROCESSING, never a guessed amount.  exponent is 0..8.
 */

#include <stdio.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "pgw_adapter.h"


#define PGW_AMOUNT_MAX_EXP 8


static int
pgw_amount_to_decimal(lua_State *L)
{
    lua_Integer minor = luaL_checkinteger(L, 1);
    lua_Integer exp = luaL_checkinteger(L, 2);
    char digits[32], out[48];
    unsigned long long mag;
    size_t n, o = 0, i;
    int neg = minor < 0;

    luaL_argcheck(L, exp >= 0 && exp <= PGW_AMOUNT_MAX_EXP, 2, "exponent must be 0..8");
    mag = neg ? (unsigned long long) (-(minor + 1)) + 1 : (unsigned long long) minor;

    /* digits, least significant first, at least exp + 1 of them */
    n = 0;
    do {
        digits[n++] = (char) ('0' + mag % 10);
        mag /= 10;
    } while (mag > 0);
    while (n < (size_t) exp + 1) {
        digits[n++] = '0';
    }
    if (neg) {
        out[o++] = '-';
    }
    for (i = n; i > 0; i--) {
        if (i == (size_t) exp && exp > 0) {
            out[o++] = '.';
        }
        out[o++] = digits[i - 1];
    }
    lua_pushlstring(L, out, o);
    return 1;
}


static int
pgw_amount_from_decimal(lua_State *L)
{
    size_t len, i = 0, frac = 0;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_Integer exp = luaL_checkinteger(L, 2);
    unsigned long long v = 0;
    const unsigned long long limit = 9223372036854775807ULL;
    int neg = 0, seen_dot = 0, digits = 0;

    luaL_argcheck(L, exp >= 0 && exp <= PGW_AMOUNT_MAX_EXP, 2, "exponent must be 0..8");
    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    for (; i < len; i++) {
        if (s[i] == '.' && !seen_dot && digits > 0) {
            seen_dot = 1;
            continue;
        }
        if (s[i] < '0' || s[i] > '9') {
            return luaL_error(L, "amount: '%s' is not a decimal amount", s);
        }
        if (seen_dot && ++frac > (size_t) exp) {
            return luaL_error(L, "amount: '%s' has more than %d decimals", s, (int) exp);
        }
        if (v > (limit - 9) / 10) {
            return luaL_error(L, "amount: '%s' out of range", s);
        }
        v = v * 10 + (unsigned long long) (s[i] - '0');
        digits++;
    }
    if (digits == 0 || (seen_dot && frac == 0)) {
        return luaL_error(L, "amount: '%s' is not a decimal amount", s);
    }
    for (; frac < (size_t) exp; frac++) {
        if (v > (limit - 9) / 10) {
            return luaL_error(L, "amount: '%s' out of range", s);
        }
        v *= 10;
    }
    lua_pushinteger(L, neg ? -(lua_Integer) v : (lua_Integer) v);
    return 1;
}


int
pgw_luaopen_amount(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"to_decimal", pgw_amount_to_decimal},
        {"from_decimal", pgw_amount_from_decimal},
        {NULL, NULL}
    };

    luaL_newlib(L, fns);
    return 1;
}
