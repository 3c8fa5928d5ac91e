/*
 * pgw_lua_id.c -- gw.id([prefix]): a unique id for nonces and request ids,
 * prefix .. 32 lowercase hex chars from the OpenSSL CSPRNG (128 bits).
 * While fixtures run (clock frozen) ids are a deterministic counter so
 * recorded requests can be compared byte for byte.
 */

#include <stdio.h>

#include <lua.h>
#include <lauxlib.h>
#include <openssl/rand.h>

#include "pgw_adapter.h"


int
pgw_lua_id(lua_State *L)
{
    struct pgw_sbx *sbx = pgw_sbx_of(L);
    const char *prefix = luaL_optstring(L, 1, "");
    unsigned char r[16];
    char hex[33];
    int i;

    if (sbx->clock_frozen) {
        snprintf(hex, sizeof(hex), "%032llx", ++sbx->id_seq);
    } else {
        if (RAND_bytes(r, sizeof(r)) != 1) {
            return luaL_error(L, "id: random generator failed");
        }
        for (i = 0; i < 16; i++) {
            snprintf(hex + 2 * i, 3, "%02x", r[i]);
        }
    }
    lua_pushfstring(L, "%s%s", prefix, hex);
    return 1;
}
