/*
 * pgw_lua_charset.c -- gw.charset: text between UTF-8 (what packs work in)
 * and the charsets channels still speak, through iconv (glibc).
 *
 *   to_utf8(s, from) -> s | nil, err
 *   from_utf8(s, to) -> s | nil, err
 *
 * Any charset iconv knows by name (GBK, GB18030, GB2312, BIG5, ISO-8859-1,
 * UTF-16LE, ...); names are [A-Za-z0-9_.:-]{1,32}, so iconv's "//TRANSLIT"
 * and "//IGNORE" suffixes cannot be asked for.  Input that is not valid in
 * the source charset, a truncated last character and a character the
 * target cannot represent are all nil, err (with the byte offset): nothing
 * is ever dropped or replaced silently.  Only a non-string argument raises.
 * The iconv descriptor lives only while no Lua call is made; the output
 * buffer is parked in a guard until Lua has its copy.
 */

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "pgw_adapter.h"


#define PGW_CHARSET_NAME_MAX 32
#define PGW_CHARSET_OUT_MAX  ((size_t) 64 * 1024 * 1024)


static int
pgw_charset_name_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > PGW_CHARSET_NAME_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_' || c == '-' || c == '.' || c == ':')) {
            return 0;
        }
    }
    return 1;
}


static void
pgw_charset_release(void *p)
{
    free(p);
}


/* All iconv work, no Lua call.  *slot holds the (re)allocated output. */
static int
pgw_charset_run(const char *from, const char *to, const char *in, size_t n, void **slot,
                size_t *outlen, char *err, size_t errlen)
{
    iconv_t cd;
    char *src = (char *) in, *buf, *dst;
    size_t left = n, cap = n * 2 + 16, room, done, r;
    int rc = -1;

    cd = iconv_open(to, from);
    if (cd == (iconv_t) -1) {
        snprintf(err, errlen, "unknown charset conversion %s -> %s", from, to);
        return -1;
    }
    buf = malloc(cap);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        iconv_close(cd);
        return -1;
    }
    *slot = buf;
    dst = buf;
    room = cap;

    for (;;) {
        r = left > 0 ? iconv(cd, &src, &left, &dst, &room)
                     : iconv(cd, NULL, NULL, &dst, &room);   /* flush shift state */
        if (r != (size_t) -1) {
            if (r > 0) {
                snprintf(err, errlen, "%s cannot represent the text exactly", to);
                break;
            }
            if (left == 0 && src != NULL) {
                src = NULL;                  /* one more round: the flush */
                continue;
            }
            *outlen = (size_t) (dst - buf);
            rc = 0;
            break;
        }
        if (errno == E2BIG) {
            char *bigger;
            done = (size_t) (dst - buf);
            if (cap > PGW_CHARSET_OUT_MAX / 2) {
                snprintf(err, errlen, "result too large");
                break;
            }
            bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                snprintf(err, errlen, "out of memory");
                break;
            }
            buf = bigger;
            *slot = buf;
            cap *= 2;
            dst = buf + done;
            room = cap - done;
            continue;
        }
        if (errno == EILSEQ) {
            snprintf(err, errlen, "invalid or unrepresentable %s input at byte %zu", from,
                     n - left);
        } else if (errno == EINVAL) {
            snprintf(err, errlen, "incomplete %s character at byte %zu", from, n - left);
        } else {
            snprintf(err, errlen, "conversion %s -> %s failed", from, to);
        }
        break;
    }
    iconv_close(cd);
    return rc;
}


static int
pgw_charset_convert(lua_State *L, const char *fn, int utf8_is_target)
{
    size_t n, outlen = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *cs = luaL_checkstring(L, 2);
    const char *from = utf8_is_target ? cs : "UTF-8";
    const char *to = utf8_is_target ? "UTF-8" : cs;
    char err[160];
    void **slot;

    if (!pgw_charset_name_ok(cs)) {
        luaL_pushfail(L);
        lua_pushfstring(L, "charset.%s: invalid charset name", fn);
        return 2;
    }
    if (n > PGW_CHARSET_OUT_MAX / 4) {
        luaL_pushfail(L);
        lua_pushfstring(L, "charset.%s: input too large", fn);
        return 2;
    }
    lua_settop(L, 2);
    slot = pgw_lua_guard(L, pgw_charset_release);               /* index 3 */
    if (pgw_charset_run(from, to, s, n, slot, &outlen, err, sizeof(err)) != 0) {
        pgw_lua_guard_done(L, 3);
        luaL_pushfail(L);
        lua_pushfstring(L, "charset.%s: %s", fn, err);
        return 2;
    }
    lua_pushlstring(L, *slot, outlen);
    pgw_lua_guard_done(L, 3);
    return 1;
}


static int
pgw_charset_to_utf8(lua_State *L)
{
    return pgw_charset_convert(L, "to_utf8", 1);
}


static int
pgw_charset_from_utf8(lua_State *L)
{
    return pgw_charset_convert(L, "from_utf8", 0);
}


int
pgw_luaopen_charset(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"to_utf8", pgw_charset_to_utf8},
        {"from_utf8", pgw_charset_from_utf8},
        {NULL, NULL}
    };

    luaL_newlib(L, fns);
    return 1;
}
