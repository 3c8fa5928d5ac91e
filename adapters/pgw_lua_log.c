/*
 * pgw_lua_log.c -- gw.log(level, message) for packs, and the host log sink.
 *
 * Levels: "debug", "info", "warn", "error".  The message is capped at 2000
 * bytes and passed through pgw_mask_text (card-like digit runs masked)
 * before it reaches the sink, so a pack cannot log a PAN by mistake; packs
 * must still never log keys or whole signed messages.  The sink defaults to
 * a JSON line on stderr; the daemon installs its own with
 * pgw_adapters_set_log().
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "pgw_adapter.h"
#include "pgw_pack.h"


#define PGW_LOG_MAX 2000


static pgw_log_fn pgw_log_sink;
static void *pgw_log_sink_ud;


void
pgw_adapters_set_log(pgw_log_fn fn, void *ud)
{
    pgw_log_sink = fn;
    pgw_log_sink_ud = ud;
}


void
pgw_log_emit(const char *level, const char *channel, const char *msg)
{
    json_t *line;
    char *text;

    if (pgw_log_sink != NULL) {
        pgw_log_sink(level, channel, msg, pgw_log_sink_ud);
        return;
    }
    line = json_pack("{s:s, s:s, s:s, s:s}", "level", level, "src", "pack", "channel",
                     channel, "msg", msg);
    if (line == NULL) {
        return;
    }
    text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (text != NULL) {
        fprintf(stderr, "%s\n", text);
        free(text);
    }
}


int
pgw_lua_log(lua_State *L)
{
    static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
    int lv = luaL_checkoption(L, 1, NULL, levels);
    size_t n;
    const char *msg = luaL_checklstring(L, 2, &n);
    char *masked;

    masked = pgw_mask_text(msg, n > PGW_LOG_MAX ? PGW_LOG_MAX : n, NULL);
    if (masked == NULL) {
        return 0;
    }
    pgw_log_emit(levels[lv], pgw_sbx_of(L)->channel, masked);
    free(masked);
    return 0;
}
