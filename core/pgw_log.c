/*
 * pgw_log.c — one JSON object per line on stderr: {"ts","level","event","msg"}.
 * The message is escaped with jansson so log lines always parse.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "pgw_core.h"
#include "pgw_log.h"


static enum pgw_log_level pgw__level = PGW_LOG_INFO;
static const char *const pgw__names[] = { "debug", "info", "warn", "error" };


void
pgw_log_set_level(enum pgw_log_level level)
{
    pgw__level = level;
}


int
pgw_log_parse_level(const char *name, enum pgw_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, pgw__names[i]) == 0) {
            *out = (enum pgw_log_level) i;
            return PGW_OK;
        }
    }
    return PGW_ERR;
}


void
pgw_log(enum pgw_log_level level, const char *event, const char *fmt, ...)
{
    char msg[2048], ts[32];
    va_list ap;
    json_t *line;
    char *text;

    if (level < pgw__level) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pgw_rfc3339(pgw_now_ms(), ts, sizeof(ts));

    line = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level",
                     pgw__names[level], "event", event, "msg", msg);
    if (line == NULL) {
        return;
    }
    text = json_dumps(line, JSON_COMPACT);
    if (text != NULL) {
        fprintf(stderr, "%s\n", text);
        free(text);
    }
    json_decref(line);
}
