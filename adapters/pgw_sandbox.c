/*
 * pgw_sandbox.c -- the Lua 5.4 sandbox a channel pack runs in.
 *
 * Owns: lua_State creation with a byte-capped allocator (mem_limit per
 * state), the trimmed library set (base, string, table, math, utf8 only: no
 * io, os, package/require, debug, coroutine), the patched base library
 * (load is text-only, loadfile/dofile/print/warn gone, collectgarbage limited
 * to "collect"/"count"/"step", string.dump gone, string.find / match /
 * gmatch / gsub replaced by versions with a step budget, the string metatable
 * hidden from getmetatable), the per-call instruction
 * budget (LUA_MASKCOUNT hook that raises "instruction budget exhausted" and
 * keeps raising at every instruction once exhausted, so pcall in a script
 * cannot swallow it), and guard userdata that release C resources on GC.
 */

#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "pgw_adapter.h"


#define PGW_GUARD_MT "pgw.guard"


struct pgw_guard {
    void *ptr;
    void (*release)(void *);
};


static void *
pgw_sbx_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct pgw_sbx *sbx = ud;
    size_t old = ptr != NULL ? osize : 0;
    void *p;

    if (nsize == 0) {
        free(ptr);
        sbx->mem_used -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > sbx->mem_limit - sbx->mem_used) {
        return NULL;   /* over the cap: Lua raises a memory error */
    }
    p = realloc(ptr, nsize);
    if (p == NULL) {
        return NULL;
    }
    sbx->mem_used = sbx->mem_used - old + nsize;
    return p;
}


static void
pgw_sbx_hook(lua_State *L, lua_Debug *ar)
{
    struct pgw_sbx *sbx = pgw_sbx_of(L);

    if (!sbx->exhausted) {
        sbx->exhausted = 1;
        /* from now on fire at every instruction until the call unwinds */
        lua_sethook(L, pgw_sbx_hook, LUA_MASKCOUNT, 1);
    }
    /* name the line that was running (the loop), not its caller's */
    if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0) {
        lua_pushfstring(L, "%s:%d: instruction budget exhausted (%d instructions)",
                        ar->short_src, ar->currentline, (int) sbx->budget);
        lua_error(L);
    }
    luaL_error(L, "instruction budget exhausted (%d instructions)", (int) sbx->budget);
}


struct pgw_sbx *
pgw_sbx_of(lua_State *L)
{
    return *(struct pgw_sbx **) lua_getextraspace(L);
}


/* load(chunk [, chunkname [, mode [, env]]]) -- strings only, text only */
static int
pgw_sbx_lua_load(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "=(load)");
    const char *mode = luaL_optstring(L, 3, "t");
    int env = !lua_isnone(L, 4) ? 4 : 0;

    if (strcmp(mode, "t") != 0) {
        luaL_pushfail(L);
        lua_pushliteral(L, "only text chunks may be loaded (mode must be \"t\")");
        return 2;
    }
    if (luaL_loadbufferx(L, s, len, name, "t") != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env != 0) {
        lua_pushvalue(L, env);
        if (lua_setupvalue(L, -2, 1) == NULL) {
            lua_pop(L, 1);
        }
    }
    return 1;
}


static int
pgw_sbx_lua_collectgarbage(lua_State *L)
{
    static const char *const opts[] = {"collect", "count", "step", NULL};
    int o = luaL_checkoption(L, 1, "collect", opts);

    switch (o) {
    case 1: {
        int k = lua_gc(L, LUA_GCCOUNT, 0);
        int b = lua_gc(L, LUA_GCCOUNTB, 0);
        lua_pushnumber(L, (lua_Number) k + ((lua_Number) b / 1024));
        return 1;
    }
    case 2:
        lua_pushboolean(L, lua_gc(L, LUA_GCSTEP, 0));
        return 1;
    default:
        lua_gc(L, LUA_GCCOLLECT);
        lua_pushinteger(L, 0);
        return 1;
    }
}


static int
pgw_guard_gc(lua_State *L)
{
    struct pgw_guard *g = luaL_checkudata(L, 1, PGW_GUARD_MT);

    if (g->ptr != NULL && g->release != NULL) {
        g->release(g->ptr);
    }
    g->ptr = NULL;
    return 0;
}


void **
pgw_lua_guard(lua_State *L, void (*release)(void *))
{
    struct pgw_guard *g = lua_newuserdatauv(L, sizeof(*g), 0);

    g->ptr = NULL;
    g->release = release;
    luaL_setmetatable(L, PGW_GUARD_MT);
    return &g->ptr;
}


void
pgw_lua_guard_done(lua_State *L, int idx)
{
    struct pgw_guard *g = lua_touserdata(L, idx);

    if (g != NULL && g->ptr != NULL && g->release != NULL) {
        g->release(g->ptr);
    }
    if (g != NULL) {
        g->ptr = NULL;
    }
}


static void
pgw_sbx_open_lib(lua_State *L, const char *name, lua_CFunction open)
{
    luaL_requiref(L, name, open, 1);
    lua_pop(L, 1);
}


/* Runs inside lua_pcall: everything that may raise a memory error. */
static int
pgw_sbx_setup(lua_State *L)
{
    static const char *const drop[] = {"dofile", "loadfile", "print", "warn", NULL};
    int i;

    pgw_sbx_open_lib(L, LUA_GNAME, luaopen_base);
    pgw_sbx_open_lib(L, LUA_STRLIBNAME, luaopen_string);
    pgw_sbx_open_lib(L, LUA_TABLIBNAME, luaopen_table);
    pgw_sbx_open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    pgw_sbx_open_lib(L, LUA_UTF8LIBNAME, luaopen_utf8);

    for (i = 0; drop[i] != NULL; i++) {
        lua_pushnil(L);
        lua_setglobal(L, drop[i]);
    }
    lua_pushcfunction(L, pgw_sbx_lua_load);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, pgw_sbx_lua_collectgarbage);
    lua_setglobal(L, "collectgarbage");

    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    /* the pattern functions with a step budget: Lua's run in C, out of
     * reach of the instruction budget (pgw_lua_pattern.c) */
    pgw_lua_pattern_install(L);
    lua_pop(L, 1);

    /* the strings' shared metatable: getmetatable("") is false, so a script
     * cannot rewire ("x"):method() for every later call of the version */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);

    /* the loaded-modules table would let a script reach the originals */
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);

    luaL_newmetatable(L, PGW_GUARD_MT);
    lua_pushcfunction(L, pgw_guard_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);

    pgw_lua_open_gw(L);
    return 0;
}


struct pgw_sbx *
pgw_sbx_new(size_t mem_limit, long budget, char *err, size_t errlen)
{
    struct pgw_sbx *sbx;
    lua_State *L;

    sbx = calloc(1, sizeof(*sbx));
    if (sbx == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    sbx->mem_limit = mem_limit;
    sbx->budget = budget;

    L = lua_newstate(pgw_sbx_alloc, sbx);
    if (L == NULL) {
        snprintf(err, errlen, "cannot create a Lua state");
        free(sbx);
        return NULL;
    }
    sbx->L = L;
    *(struct pgw_sbx **) lua_getextraspace(L) = sbx;

    lua_pushcfunction(L, pgw_sbx_setup);
    if (pgw_sbx_call(sbx, 0, 0, err, errlen) != 0) {
        pgw_sbx_free(sbx);
        return NULL;
    }
    return sbx;
}


void
pgw_sbx_free(struct pgw_sbx *sbx)
{
    if (sbx == NULL) {
        return;
    }
    if (sbx->L != NULL) {
        lua_close(sbx->L);
    }
    free(sbx);
}


int
pgw_sbx_load(struct pgw_sbx *sbx, const char *buf, size_t len, const char *chunkname,
             char *err, size_t errlen)
{
    lua_State *L = sbx->L;
    int rc;

    if (!lua_checkstack(L, 4)) {
        snprintf(err, errlen, "%s: Lua stack exhausted", chunkname);
        return -1;
    }
    rc = luaL_loadbufferx(L, buf, len, chunkname, "t");
    if (rc != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        snprintf(err, errlen, "%s", m != NULL ? m : "cannot compile chunk");
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}


int
pgw_sbx_call(struct pgw_sbx *sbx, int nargs, int nresults, char *err, size_t errlen)
{
    lua_State *L = sbx->L;
    int rc;

    sbx->exhausted = 0;
    lua_sethook(L, pgw_sbx_hook, LUA_MASKCOUNT, (int) sbx->budget);
    rc = lua_pcall(L, nargs, nresults, 0);
    lua_sethook(L, NULL, 0, 0);

    if (rc == LUA_OK) {
        return 0;
    }
    if (rc == LUA_ERRMEM) {
        snprintf(err, errlen, "memory limit exceeded (%zu bytes per pack state)",
                 sbx->mem_limit);
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
    } else {
        snprintf(err, errlen, "script raised a non-string error (%s)",
                 luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    /* give back what the failed call left behind */
    lua_gc(L, LUA_GCCOLLECT);
    return -1;
}
