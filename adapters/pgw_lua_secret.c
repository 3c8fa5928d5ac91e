/*
 * pgw_lua_secret.c -- gw.secret(name) -> string: a symmetric API secret (HMAC
 * key, AES key, bearer API key) by name from the pack's keystore,
 * <keystore>/<name>.secret (pgw_keystore_secret).  A missing or invalid
 * name is a Lua error naming the secret, never showing its content.
 * Asymmetric private keys never come through here: they stay in the
 * keystore and are used by name (gw.crypto.sign).
 */

#include <lua.h>
#include <lauxlib.h>

#include "pgw_adapter.h"


int
pgw_lua_secret(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *data;
    size_t len = 0;
    char err[256];

    data = pgw_keystore_secret(pgw_sbx_of(L)->keys, name, &len, err, sizeof(err));
    if (data == NULL) {
        return luaL_error(L, "gw.secret: %s", err);
    }
    lua_pushlstring(L, data, len);
    return 1;
}
