/*
 * pgw_lua_time.c -- gw.time for packs.
 *
 *   gw.time.now_ms()                        wall clock, ms since the epoch
 *                                           (frozen while fixtures run)
 *   gw.time.format(ms, fmt [, tz_minutes])  tokens yyyy MM dd HH mm ss SSS,
 *                                           anything else literal; tz_minutes
 *                                           east of UTC (Alipay: 480)
 *   gw.time.parse(text, fmt [, tz_minutes]) inverse of format -> ms | nil, err
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lua.h>
#include <lauxlib.h>

#include "pgw_adapter.h"


static int
pgw_time_now_ms(lua_State *L)
{
    struct pgw_sbx *sbx = pgw_sbx_of(L);
    struct timespec ts;

    if (sbx->clock_frozen) {
        lua_pushinteger(L, (lua_Integer) sbx->frozen_ms);
        return 1;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushinteger(L, (lua_Integer) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    return 1;
}


static long long
pgw_time_floordiv(long long a, long long b)
{
    long long q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}


static int
pgw_time_format(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, 1);
    const char *fmt = luaL_checkstring(L, 2);
    lua_Integer tz = luaL_optinteger(L, 3, 0);
    long long secs, msec;
    time_t t;
    struct tm tm;
    luaL_Buffer b;
    char tmp[16];
    const char *p;

    luaL_argcheck(L, tz >= -24 * 60 && tz <= 24 * 60, 3, "tz offset out of range");
    luaL_argcheck(L, ms > -62135596800000LL && ms < 253402300800000LL, 1,
                  "time out of range");
    secs = pgw_time_floordiv((long long) ms, 1000);
    msec = (long long) ms - secs * 1000;
    t = (time_t) (secs + (long long) tz * 60);
    if (gmtime_r(&t, &tm) == NULL) {
        return luaL_error(L, "time: cannot convert");
    }
    luaL_buffinit(L, &b);
    for (p = fmt; *p != '\0';) {
        if (strncmp(p, "yyyy", 4) == 0) {
            snprintf(tmp, sizeof(tmp), "%04d", tm.tm_year + 1900);
            p += 4;
        } else if (strncmp(p, "SSS", 3) == 0) {
            snprintf(tmp, sizeof(tmp), "%03lld", msec);
            p += 3;
        } else if (strncmp(p, "MM", 2) == 0) {
            snprintf(tmp, sizeof(tmp), "%02d", tm.tm_mon + 1);
            p += 2;
        } else if (strncmp(p, "dd", 2) == 0) {
            snprintf(tmp, sizeof(tmp), "%02d", tm.tm_mday);
            p += 2;
        } else if (strncmp(p, "HH", 2) == 0) {
            snprintf(tmp, sizeof(tmp), "%02d", tm.tm_hour);
            p += 2;
        } else if (strncmp(p, "mm", 2) == 0) {
            snprintf(tmp, sizeof(tmp), "%02d", tm.tm_min);
            p += 2;
        } else if (strncmp(p, "ss", 2) == 0) {
            snprintf(tmp, sizeof(tmp), "%02d", tm.tm_sec);
            p += 2;
        } else {
            tmp[0] = *p++;
            tmp[1] = '\0';
        }
        luaL_addstring(&b, tmp);
    }
    luaL_pushresult(&b);
    return 1;
}


static int
pgw_time_digits(const char **s, int n, int *out)
{
    int i, v = 0;

    for (i = 0; i < n; i++) {
        if ((*s)[i] < '0' || (*s)[i] > '9') {
            return -1;
        }
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}


static int
pgw_time_parse(lua_State *L)
{
    const char *s = luaL_checkstring(L, 1);
    const char *fmt = luaL_checkstring(L, 2);
    lua_Integer tz = luaL_optinteger(L, 3, 0);
    int year = 1970, mon = 1, day = 1, hour = 0, min = 0, sec = 0, msec = 0, rc = 0;
    struct tm tm;
    const char *p;
    time_t t;

    for (p = fmt; *p != '\0' && rc == 0;) {
        if (strncmp(p, "yyyy", 4) == 0) {
            rc = pgw_time_digits(&s, 4, &year);
            p += 4;
        } else if (strncmp(p, "SSS", 3) == 0) {
            rc = pgw_time_digits(&s, 3, &msec);
            p += 3;
        } else if (strncmp(p, "MM", 2) == 0) {
            rc = pgw_time_digits(&s, 2, &mon);
            p += 2;
        } else if (strncmp(p, "dd", 2) == 0) {
            rc = pgw_time_digits(&s, 2, &day);
            p += 2;
        } else if (strncmp(p, "HH", 2) == 0) {
            rc = pgw_time_digits(&s, 2, &hour);
            p += 2;
        } else if (strncmp(p, "mm", 2) == 0) {
            rc = pgw_time_digits(&s, 2, &min);
            p += 2;
        } else if (strncmp(p, "ss", 2) == 0) {
            rc = pgw_time_digits(&s, 2, &sec);
            p += 2;
        } else {
            rc = *s == *p ? 0 : -1;
            s++;
            p++;
        }
    }
    if (rc != 0 || *s != '\0' || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23
        || min > 59 || sec > 60) {
        luaL_pushfail(L);
        lua_pushliteral(L, "time: text does not match the format");
        return 2;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    t = timegm(&tm);
    lua_pushinteger(L, ((lua_Integer) t - tz * 60) * 1000 + msec);
    return 1;
}


int
pgw_luaopen_time(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"now_ms", pgw_time_now_ms},
        {"format", pgw_time_format},
        {"parse", pgw_time_parse},
        {NULL, NULL}
    };

    luaL_newlib(L, fns);
    return 1;
}
