/*
 * pgw_lua_form.c -- gw.form for packs: application/x-www-form-urlencoded and
 * the "sorted k=v&k=v" signing strings of the Chinese payment APIs.
 *
 *   gw.form.encode(params [, {order={...}}]) -> "a=1&b=2"
 *       keys in byte order (`order` names go first); keys and values
 *       percent-encoded (RFC 3986 unreserved bytes kept, space -> %20).
 *   gw.form.decode(text) -> table | nil, err
 *       '+' -> space, %XX decoded once; a key given twice is an error (a
 *       duplicated field in a signed notify is never silently resolved).
 *   gw.form.sign_string(params [, {exclude={...}, skip_empty=true}]) -> text
 *       every key not excluded (and, with skip_empty, not ""), sorted by byte
 *       order, joined "k=v&k=v" with NO encoding -- the raw UTF-8 bytes that
 *       get signed.
 *   gw.form.urlencode(s), gw.form.urldecode(s)
 * Values must be strings or numbers (integers print without ".0").
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "pgw_adapter.h"
#include "pgw_buf.h"


#define PGW_FORM_MAX_TEXT (8 * 1024 * 1024)


static int
pgw_form_put_escaped(struct pgw_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, start = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '_' || c == '.' || c == '~') {
            continue;
        }
        {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (pgw_buf_add(b, s + start, i - start) != 0 || pgw_buf_add(b, e, 3) != 0) {
                return -1;
            }
        }
        start = i + 1;
    }
    return pgw_buf_add(b, s + start, n - start);
}


static int
pgw_form_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}


/* decodes in place into out (out may equal in); -1 on a bad escape */
static int
pgw_form_unescape(const char *in, size_t n, char *out, size_t *outlen)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (in[i] == '+') {
            out[o++] = ' ';
        } else if (in[i] == '%') {
            int h, l;
            if (i + 2 >= n) {
                return -1;
            }
            h = pgw_form_hexval(in[i + 1]);
            l = pgw_form_hexval(in[i + 2]);
            if (h < 0 || l < 0) {
                return -1;
            }
            out[o++] = (char) (h << 4 | l);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    *outlen = o;
    return 0;
}


static int
pgw_form_key_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *) a, *y = *(const char *const *) b;
    return strcmp(x, y);
}


/* Collect the string keys of the table at idx into a GC-owned array that is
 * left on the stack; returns it, count in *n.  Non-string key -> NULL. */
static const char **
pgw_form_keys(lua_State *L, int idx, size_t *n)
{
    const char **keys;
    size_t cnt = 0, i = 0;

    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            return NULL;
        }
        cnt++;
    }
    keys = lua_newuserdatauv(L, (cnt + 1) * sizeof(*keys), 0);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        keys[i++] = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    qsort(keys, cnt, sizeof(*keys), pgw_form_key_cmp);
    *n = cnt;
    return keys;
}


/* value of params[key] as a string on the stack top, or NULL if not allowed */
static const char *
pgw_form_value(lua_State *L, int idx, const char *key, size_t *len)
{
    lua_getfield(L, idx, key);
    if (lua_type(L, -1) == LUA_TNUMBER) {
        if (lua_isinteger(L, -1)) {
            lua_pushfstring(L, "%I", (LUAI_UACINT) lua_tointeger(L, -1));
        } else {
            lua_pushfstring(L, "%f", (LUAI_UACNUMBER) lua_tonumber(L, -1));
        }
        lua_remove(L, -2);
    }
    if (lua_type(L, -1) != LUA_TSTRING) {
        return NULL;
    }
    return lua_tolstring(L, -1, len);
}


static int
pgw_form_encode(lua_State *L)
{
    const char **keys;
    size_t n, i, on = 0, j;
    struct pgw_buf *b;
    void **slot;
    int first = 1;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (!lua_isnil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (lua_getfield(L, 2, "order") == LUA_TTABLE) {
            on = (size_t) lua_rawlen(L, 3);
        }
    } else {
        lua_pushnil(L);
    }
    keys = pgw_form_keys(L, 1, &n);                 /* index 4 */
    if (keys == NULL) {
        return luaL_error(L, "form: keys must be strings");
    }
    /* move `order` names to the front, in order */
    for (i = 1, j = 0; i <= on; i++) {
        size_t k;
        const char *name;
        lua_rawgeti(L, 3, (lua_Integer) i);
        name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        lua_pop(L, 1);
        for (k = j; name != NULL && k < n; k++) {
            if (strcmp(keys[k], name) == 0) {
                const char *t = keys[k];
                memmove(keys + j + 1, keys + j, (k - j) * sizeof(*keys));
                keys[j++] = t;
                break;
            }
        }
    }

    slot = pgw_lua_guard(L, pgw_buf_release);       /* index 5 */
    b = pgw_buf_new();
    if (b == NULL) {
        return luaL_error(L, "form: out of memory");
    }
    *slot = b;
    for (i = 0; i < n; i++) {
        size_t vlen;
        const char *v = pgw_form_value(L, 1, keys[i], &vlen);
        if (v == NULL) {
            return luaL_error(L, "form: value of '%s' must be a string or number",
                              keys[i]);
        }
        if ((!first && pgw_buf_adds(b, "&") != 0)
            || pgw_form_put_escaped(b, keys[i], strlen(keys[i])) != 0
            || pgw_buf_adds(b, "=") != 0 || pgw_form_put_escaped(b, v, vlen) != 0) {
            return luaL_error(L, "form: out of memory");
        }
        first = 0;
        lua_pop(L, 1);
    }
    lua_pushlstring(L, b->p != NULL ? b->p : "", b->len);
    pgw_lua_guard_done(L, 5);
    return 1;
}


static int
pgw_form_decode(lua_State *L)
{
    size_t len, i = 0;
    const char *s = luaL_checklstring(L, 1, &len);
    char *tmp;

    if (len > PGW_FORM_MAX_TEXT) {
        luaL_pushfail(L);
        lua_pushliteral(L, "form: text too large");
        return 2;
    }
    tmp = lua_newuserdatauv(L, len + 1, 0);        /* index 2, GC-owned */
    lua_newtable(L);                                /* index 3 */
    while (i < len) {
        size_t end = i, eq, klen, vlen;

        while (end < len && s[end] != '&') {
            end++;
        }
        if (end > i) {
            for (eq = i; eq < end && s[eq] != '='; eq++) {
            }
            if (pgw_form_unescape(s + i, eq - i, tmp, &klen) != 0) {
                goto bad;
            }
            lua_pushlstring(L, tmp, klen);
            if (eq < end) {
                if (pgw_form_unescape(s + eq + 1, end - eq - 1, tmp, &vlen) != 0) {
                    lua_pop(L, 1);
                    goto bad;
                }
            } else {
                vlen = 0;
            }
            lua_pushvalue(L, -1);
            if (lua_rawget(L, 3) != LUA_TNIL) {
                luaL_pushfail(L);
                lua_pushfstring(L, "form: duplicate field '%s'", lua_tostring(L, -3));
                return 2;
            }
            lua_pop(L, 1);
            lua_pushlstring(L, tmp, vlen);
            lua_rawset(L, 3);
        }
        i = end + 1;
    }
    return 1;

bad:
    luaL_pushfail(L);
    lua_pushliteral(L, "form: bad percent-escape");
    return 2;
}


static int
pgw_form_sign_string(lua_State *L)
{
    const char **keys;
    size_t n, i;
    int skip_empty = 1, first = 1;
    struct pgw_buf *b;
    void **slot;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    lua_newtable(L);                                /* 3: excluded set */
    if (!lua_isnil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (lua_getfield(L, 2, "skip_empty") != LUA_TNIL) {
            skip_empty = lua_toboolean(L, -1);
        }
        lua_pop(L, 1);
        if (lua_getfield(L, 2, "exclude") == LUA_TTABLE) {
            size_t en = (size_t) lua_rawlen(L, -1);
            for (i = 1; i <= en; i++) {
                lua_rawgeti(L, -1, (lua_Integer) i);
                lua_pushboolean(L, 1);
                lua_rawset(L, 3);
            }
        }
        lua_pop(L, 1);
    }
    keys = pgw_form_keys(L, 1, &n);                 /* 4 */
    if (keys == NULL) {
        return luaL_error(L, "form: keys must be strings");
    }
    slot = pgw_lua_guard(L, pgw_buf_release);       /* 5 */
    b = pgw_buf_new();
    if (b == NULL) {
        return luaL_error(L, "form: out of memory");
    }
    *slot = b;
    for (i = 0; i < n; i++) {
        size_t vlen;
        const char *v;

        lua_pushstring(L, keys[i]);
        if (lua_rawget(L, 3) != LUA_TNIL) {
            lua_pop(L, 1);
            continue;
        }
        lua_pop(L, 1);
        v = pgw_form_value(L, 1, keys[i], &vlen);
        if (v == NULL) {
            return luaL_error(L, "form: value of '%s' must be a string or number",
                              keys[i]);
        }
        if (!(skip_empty && vlen == 0)) {
            if ((!first && pgw_buf_adds(b, "&") != 0) || pgw_buf_adds(b, keys[i]) != 0
                || pgw_buf_adds(b, "=") != 0 || pgw_buf_add(b, v, vlen) != 0) {
                return luaL_error(L, "form: out of memory");
            }
            first = 0;
        }
        lua_pop(L, 1);
    }
    lua_pushlstring(L, b->p != NULL ? b->p : "", b->len);
    pgw_lua_guard_done(L, 5);
    return 1;
}


static int
pgw_form_urlencode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    struct pgw_buf *b;
    void **slot;

    slot = pgw_lua_guard(L, pgw_buf_release);
    b = pgw_buf_new();
    if (b == NULL || (*slot = b, pgw_form_put_escaped(b, s, n) != 0)) {
        return luaL_error(L, "form: out of memory");
    }
    lua_pushlstring(L, b->p != NULL ? b->p : "", b->len);
    pgw_lua_guard_done(L, -2);
    return 1;
}


static int
pgw_form_urldecode(lua_State *L)
{
    size_t n, o;
    const char *s = luaL_checklstring(L, 1, &n);
    char *tmp = lua_newuserdatauv(L, n + 1, 0);

    if (pgw_form_unescape(s, n, tmp, &o) != 0) {
        luaL_pushfail(L);
        lua_pushliteral(L, "form: bad percent-escape");
        return 2;
    }
    lua_pushlstring(L, tmp, o);
    return 1;
}


int
pgw_luaopen_form(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"encode", pgw_form_encode},
        {"decode", pgw_form_decode},
        {"sign_string", pgw_form_sign_string},
        {"urlencode", pgw_form_urlencode},
        {"urldecode", pgw_form_urldecode},
        {NULL, NULL}
    };

    luaL_newlib(L, fns);
    return 1;
}
