/*
 * pgw_lua_gw.c -- assembles the global `gw` table a pack sees:
 * gw.json, gw.xml, gw.form, gw.crypto, gw.charset, gw.time, gw.amount, gw.id,
 * gw.log, gw.secret.
 * The table and its sub-tables are the only host surface inside the sandbox.
 */

#include <lua.h>
#include <lauxlib.h>

#include "pgw_adapter.h"


void
pgw_lua_open_gw(lua_State *L)
{
    lua_newtable(L);
    pgw_luaopen_json(L);
    lua_setfield(L, -2, "json");
    pgw_luaopen_xml(L);
    lua_setfield(L, -2, "xml");
    pgw_luaopen_form(L);
    lua_setfield(L, -2, "form");
    pgw_luaopen_crypto(L);
    lua_setfield(L, -2, "crypto");
    pgw_luaopen_charset(L);
    lua_setfield(L, -2, "charset");
    pgw_luaopen_time(L);
    lua_setfield(L, -2, "time");
    pgw_luaopen_amount(L);
    lua_setfield(L, -2, "amount");
    lua_pushcfunction(L, pgw_lua_id);
    lua_setfield(L, -2, "id");
    lua_pushcfunction(L, pgw_lua_log);
    lua_setfield(L, -2, "log");
    lua_pushcfunction(L, pgw_lua_secret);
    lua_setfield(L, -2, "secret");
    lua_setglobal(L, "gw");
}
