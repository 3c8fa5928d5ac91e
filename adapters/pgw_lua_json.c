/*
 * pgw_lua_json.c -- gw.json for packs, on Jansson.
 *
 *   gw.json.decode(text)            -> value | nil, err
 *       integers stay Lua integers, reals become floats, null becomes
 *       gw.json.null, arrays get gw.json.array_mt (so they re-encode as []).
 *   gw.json.encode(value [, {order={k1,k2,...}}]) -> text | nil, err
 *       compact ("," ":"), object keys sorted by byte order (reproducible
 *       signatures); `order` puts the listed top-level keys first, in that
 *       order.  A table is an array if it has array_mt or its keys are exactly
 *       1..n (n > 0); an empty plain table is {}.  Strings must be UTF-8.
 *   gw.json.raw_member(text, key)   -> raw text | nil, err
 *       the exact bytes of the value of top-level member `key` as received
 *       (for signatures over raw text, e.g. Alipay's *_response); a
 *       duplicated key is an error, so what is verified is what is read.
 *
 * Also the C conversions pgw_lua_to_json / pgw_lua_push_json used by the
 * host for manifests, fixtures and results.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "pgw_adapter.h"


#define PGW_JSON_ARRAY_MT "pgw.json.array"
#define PGW_JSON_MAX_DEPTH 64
#define PGW_JSON_MAX_TEXT (8 * 1024 * 1024)

static const char pgw_json_null_tag = 0;


static int
pgw_json_is_null(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA
           && lua_touserdata(L, idx) == (void *) &pgw_json_null_tag;
}


static int
pgw_json_has_array_mt(lua_State *L, int idx)
{
    int r = 0;

    if (lua_getmetatable(L, idx)) {
        luaL_getmetatable(L, PGW_JSON_ARRAY_MT);
        r = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    return r;
}


static json_t *pgw_lua_to_json_at(lua_State *L, int idx, int depth, char *err,
                                  size_t errlen);


static json_t *
pgw_lua_table_to_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
    lua_Integer n = 0, maxk = 0;
    int only_int = 1;
    json_t *out;

    /* first pass: shape */
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        n++;
        if (lua_type(L, -2) == LUA_TNUMBER && lua_isinteger(L, -2)) {
            lua_Integer k = lua_tointeger(L, -2);
            if (k < 1) {
                only_int = 0;
            } else if (k > maxk) {
                maxk = k;
            }
        } else {
            only_int = 0;
        }
        lua_pop(L, 1);
    }

    if ((only_int && n > 0 && maxk == n) || (n == 0 && pgw_json_has_array_mt(L, idx))) {
        lua_Integer i;

        out = json_array();
        if (out == NULL) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        for (i = 1; i <= n; i++) {
            json_t *v;
            lua_rawgeti(L, idx, i);
            v = pgw_lua_to_json_at(L, lua_gettop(L), depth + 1, err, errlen);
            lua_pop(L, 1);
            if (v == NULL || json_array_append_new(out, v) != 0) {
                json_decref(out);
                if (v != NULL) {
                    snprintf(err, errlen, "out of memory");
                }
                return NULL;
            }
        }
        return out;
    }

    out = json_object();
    if (out == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        size_t klen;
        const char *k;
        json_t *v;

        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            json_decref(out);
            snprintf(err, errlen, "table mixes array and object keys (or has a "
                     "non-string key)");
            return NULL;
        }
        k = lua_tolstring(L, -2, &klen);
        v = pgw_lua_to_json_at(L, lua_gettop(L), depth + 1, err, errlen);
        if (v == NULL) {
            lua_pop(L, 2);
            json_decref(out);
            return NULL;
        }
        if (strlen(k) != klen || json_object_setn_new(out, k, klen, v) != 0) {
            lua_pop(L, 2);
            json_decref(out);
            snprintf(err, errlen, "invalid object key");
            return NULL;
        }
        lua_pop(L, 1);
    }
    return out;
}


static json_t *
pgw_lua_to_json_at(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
    json_t *v = NULL;

    if (depth > PGW_JSON_MAX_DEPTH) {
        snprintf(err, errlen, "value nested too deeply");
        return NULL;
    }
    if (!lua_checkstack(L, 4)) {
        snprintf(err, errlen, "Lua stack exhausted");
        return NULL;
    }
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        v = json_null();
        break;
    case LUA_TBOOLEAN:
        v = json_boolean(lua_toboolean(L, idx));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            v = json_integer((json_int_t) lua_tointeger(L, idx));
        } else {
            double d = lua_tonumber(L, idx);
            if (!isfinite(d)) {
                snprintf(err, errlen, "cannot encode NaN or infinity");
                return NULL;
            }
            v = json_real(d);
        }
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        v = json_stringn(s, len);
        if (v == NULL) {
            snprintf(err, errlen, "string is not valid UTF-8");
            return NULL;
        }
        break;
    }
    case LUA_TTABLE:
        return pgw_lua_table_to_json(L, idx, depth, err, errlen);
    case LUA_TLIGHTUSERDATA:
        if (pgw_json_is_null(L, idx)) {
            v = json_null();
            break;
        }
        /* fall through */
    default:
        snprintf(err, errlen, "cannot encode a %s", luaL_typename(L, idx));
        return NULL;
    }
    if (v == NULL) {
        snprintf(err, errlen, "out of memory");
    }
    return v;
}


json_t *
pgw_lua_to_json(lua_State *L, int idx, char *err, size_t errlen)
{
    return pgw_lua_to_json_at(L, lua_absindex(L, idx), 0, err, errlen);
}


static void
pgw_lua_push_json_at(lua_State *L, const json_t *v, int depth)
{
    luaL_checkstack(L, 4, "JSON nested too deeply");
    if (depth > PGW_JSON_MAX_DEPTH) {
        luaL_error(L, "JSON nested too deeply");
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *m;
        lua_createtable(L, 0, (int) json_object_size(v));
        json_object_foreach((json_t *) v, k, m) {
            lua_pushstring(L, k);
            pgw_lua_push_json_at(L, m, depth + 1);
            lua_rawset(L, -3);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i, n = json_array_size(v);
        lua_createtable(L, (int) n, 0);
        for (i = 0; i < n; i++) {
            pgw_lua_push_json_at(L, json_array_get(v, i), depth + 1);
            lua_rawseti(L, -2, (lua_Integer) i + 1);
        }
        luaL_setmetatable(L, PGW_JSON_ARRAY_MT);
        break;
    }
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer) json_integer_value(v));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(v));
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    default:
        lua_pushlightuserdata(L, (void *) &pgw_json_null_tag);
        break;
    }
}


void
pgw_lua_push_json(lua_State *L, const json_t *v)
{
    pgw_lua_push_json_at(L, v, 0);
}


static void
pgw_json_release(void *p)
{
    json_decref(p);
}


static int
pgw_json_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    json_error_t jerr;
    void **slot;
    json_t *root;

    if (len > PGW_JSON_MAX_TEXT) {
        luaL_pushfail(L);
        lua_pushliteral(L, "json: text too large");
        return 2;
    }
    slot = pgw_lua_guard(L, pgw_json_release);
    root = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                      &jerr);
    if (root == NULL) {
        luaL_pushfail(L);
        lua_pushfstring(L, "json: %s at line %d column %d", jerr.text, jerr.line,
                        jerr.column);
        return 2;
    }
    *slot = root;
    pgw_lua_push_json(L, root);
    pgw_lua_guard_done(L, -2);
    return 1;
}


static int
pgw_json_encode(lua_State *L)
{
    char err[200];
    json_t *v, *ordered;
    void **slot;
    char *text;
    size_t i, n = 0;

    luaL_checkany(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (lua_getfield(L, 2, "order") != LUA_TNIL) {
            luaL_checktype(L, -1, LUA_TTABLE);
            n = (size_t) lua_rawlen(L, -1);
        }
    } else {
        lua_pushnil(L);
    }
    /* stack: value, opts, order */
    slot = pgw_lua_guard(L, pgw_json_release);
    v = pgw_lua_to_json(L, 1, err, sizeof(err));
    if (v == NULL) {
        luaL_pushfail(L);
        lua_pushfstring(L, "json: %s", err);
        return 2;
    }
    *slot = v;

    if (n > 0 && json_is_object(v)) {
        const char *k;
        json_t *m;

        ordered = json_object();
        if (ordered == NULL) {
            return luaL_error(L, "json: out of memory");   /* v is guarded */
        }
        for (i = 1; i <= n; i++) {
            const char *key;
            lua_rawgeti(L, 3, (lua_Integer) i);
            key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
            if (key != NULL && (m = json_object_get(v, key)) != NULL) {
                json_object_set(ordered, key, m);
            }
            lua_pop(L, 1);
        }
        /* the rest in byte order */
        {
            size_t cnt = json_object_size(v), j = 0, a, b;
            const char **keys = malloc(cnt * sizeof(*keys) + 1);
            if (keys == NULL) {
                json_decref(ordered);
                return luaL_error(L, "json: out of memory");
            }
            json_object_foreach(v, k, m) {
                if (json_object_get(ordered, k) == NULL) {
                    keys[j++] = k;
                }
            }
            for (a = 1; a < j; a++) {
                for (b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
                    const char *t = keys[b];
                    keys[b] = keys[b - 1];
                    keys[b - 1] = t;
                }
            }
            for (a = 0; a < j; a++) {
                json_object_set(ordered, keys[a], json_object_get(v, keys[a]));
            }
            free(keys);
        }
        text = json_dumps(ordered, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(ordered);
    } else {
        text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    }
    pgw_lua_guard_done(L, -1);
    if (text == NULL) {
        return luaL_error(L, "json: cannot encode value");
    }
    /* text must be freed even if the push fails: park it in a guard */
    slot = pgw_lua_guard(L, free);
    *slot = text;
    lua_pushstring(L, text);
    pgw_lua_guard_done(L, -2);
    return 1;
}


/* ---- raw member scanner ---- */

static size_t
pgw_json_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) {
        i++;
    }
    return i;
}


/* i at '"'; returns index after the closing quote, or 0 on error */
static size_t
pgw_json_skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\') {
            i++;
        } else if (s[i] == '"') {
            return i + 1;
        }
    }
    return 0;
}


/* returns index after the value starting at i, or 0 on error */
static size_t
pgw_json_skip_value(const char *s, size_t len, size_t i)
{
    int depth = 0;

    if (i >= len) {
        return 0;
    }
    if (s[i] == '"') {
        return pgw_json_skip_string(s, len, i);
    }
    if (s[i] != '{' && s[i] != '[') {
        while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' '
               && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            i++;
        }
        return i;
    }
    for (; i < len; i++) {
        if (s[i] == '"') {
            i = pgw_json_skip_string(s, len, i);
            if (i == 0) {
                return 0;
            }
            i--;
        } else if (s[i] == '{' || s[i] == '[') {
            if (++depth > 512) {
                return 0;
            }
        } else if (s[i] == '}' || s[i] == ']') {
            if (--depth == 0) {
                return i + 1;
            }
        }
    }
    return 0;
}


static int
pgw_json_raw_member(lua_State *L)
{
    size_t len, klen, i, found_at = 0, found_end = 0;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *key = luaL_checklstring(L, 2, &klen);
    int found = 0;

    i = pgw_json_ws(s, len, 0);
    if (i >= len || s[i] != '{') {
        goto bad;
    }
    i = pgw_json_ws(s, len, i + 1);
    if (i < len && s[i] == '}') {
        goto missing;
    }
    for (;;) {
        size_t ks, ke, vs, ve;

        if (i >= len || s[i] != '"') {
            goto bad;
        }
        ks = i + 1;
        ke = pgw_json_skip_string(s, len, i);
        if (ke == 0) {
            goto bad;
        }
        i = pgw_json_ws(s, len, ke);
        if (i >= len || s[i] != ':') {
            goto bad;
        }
        vs = pgw_json_ws(s, len, i + 1);
        ve = pgw_json_skip_value(s, len, vs);
        if (ve == 0 || ve == vs) {
            goto bad;
        }
        if (ke - 1 - ks == klen && memcmp(s + ks, key, klen) == 0) {
            if (found) {
                luaL_pushfail(L);
                lua_pushfstring(L, "json: duplicate member '%s'", key);
                return 2;
            }
            found = 1;
            found_at = vs;
            found_end = ve;
        }
        i = pgw_json_ws(s, len, ve);
        if (i < len && s[i] == ',') {
            i = pgw_json_ws(s, len, i + 1);
            continue;
        }
        if (i < len && s[i] == '}') {
            break;
        }
        goto bad;
    }
    if (!found) {
        goto missing;
    }
    lua_pushlstring(L, s + found_at, found_end - found_at);
    return 1;

missing:
    luaL_pushfail(L);
    lua_pushfstring(L, "json: no member '%s'", key);
    return 2;
bad:
    luaL_pushfail(L);
    lua_pushliteral(L, "json: not a well-formed object");
    return 2;
}


int
pgw_luaopen_json(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"decode", pgw_json_decode},
        {"encode", pgw_json_encode},
        {"raw_member", pgw_json_raw_member},
        {NULL, NULL}
    };

    luaL_newlib(L, fns);
    lua_pushlightuserdata(L, (void *) &pgw_json_null_tag);
    lua_setfield(L, -2, "null");
    luaL_newmetatable(L, PGW_JSON_ARRAY_MT);
    lua_pushliteral(L, "json.array");
    lua_setfield(L, -2, "__name");
    lua_setfield(L, -2, "array_mt");
    return 1;
}
