/*
 * pgw_admin_packs.c — the admin API of pack versions (docs/pack-versions.md).
 *
 *   GET  /admin/channels                    version, previous, canary, last
 *                                           reload (and its error) per channel
 *   GET  /admin/channels/events             the last 200 version changes
 *   POST /admin/channels/{name}/reload      {who, reason[, canary_pct]}
 *   POST /admin/channels/{name}/rollback    {who, reason}
 *   POST /admin/channels/{name}/promote     {who, reason}
 *
 * who may come from the X-Paygw-Operator header. A refused version answers
 * 422 PACK_REFUSED with the file and line or the failing fixture; the
 * version in force keeps serving.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <sqlite3.h>

#include "pgw_daemon.h"
#include "pgw_http.h"
#include "pgw_packver.h"
#include "pgw_store.h"


static json_t *
pgw__events(struct pgw_daemon *d)
{
    return pgw_store_rows_json(pgw_store_query(d->store,
                                               "SELECT id, at, channel, action,"
                                               " old_version, new_version, who,"
                                               " reason, error FROM pack_events"
                                               " WHERE id > ? ORDER BY id DESC"
                                               " LIMIT 200", "i", (int64_t) 0));
}


static void
pgw__change(struct pgw_daemon *d, struct evhttp_request *req, const char *channel,
            const char *action)
{
    size_t len;
    const char *raw = pgw_http_body(req, &len);
    json_t *body = json_loadb(raw ? raw : "", raw ? len : 0, 0, NULL);
    const char *reason = json_string_value(json_object_get(body, "reason"));
    const char *hdr = pgw_http_header(req, "X-Paygw-Operator");
    const char *who = hdr && hdr[0] ? hdr
                                    : json_string_value(json_object_get(body, "who"));
    const json_t *pct = json_object_get(body, "canary_pct");
    char err[1024], msg[128];
    json_t *out = NULL;
    int rc;

    msg[0] = '\0';
    if (!json_is_object(body)) {
        snprintf(msg, sizeof(msg), "body must be a JSON object");
    } else if (reason == NULL || reason[0] == '\0' || strlen(reason) > 500) {
        snprintf(msg, sizeof(msg), "reason: required (why), at most 500 bytes");
    } else if (who == NULL || who[0] == '\0' || strlen(who) > 127) {
        snprintf(msg, sizeof(msg), "who: required (X-Paygw-Operator header or \"who\")");
    } else if (pct != NULL && (strcmp(action, "reload") != 0 || !json_is_integer(pct)
                               || json_integer_value(pct) < 1
                               || json_integer_value(pct) > 99)) {
        snprintf(msg, sizeof(msg), "canary_pct: an integer from 1 to 99, with reload only");
    }
    if (msg[0]) {
        json_decref(body);
        pgw_http_error(req, 400, "INVALID_PARAMETER", msg);
        return;
    }
    if (strcmp(action, "reload") == 0) {
        rc = pgw_packver_reload(d, channel, pct ? (int) json_integer_value(pct) : 0, who,
                                reason, &out, err, sizeof(err));
    } else if (strcmp(action, "rollback") == 0) {
        rc = pgw_packver_rollback(d, channel, who, reason, &out, err, sizeof(err));
    } else {
        rc = pgw_packver_promote(d, channel, who, reason, &out, err, sizeof(err));
    }
    json_decref(body);
    if (rc == PGW_OK) {
        pgw_http_json(req, 200, out);
    } else if (rc == PGW_NOTFOUND) {
        pgw_http_error(req, 404, "NOT_FOUND", err);
    } else {
        pgw_http_error(req, strcmp(action, "reload") == 0 ? 422 : 409,
                       strcmp(action, "reload") == 0 ? "PACK_REFUSED" : "CONFLICT", err);
    }
}


int
pgw_admin_packs(struct pgw_daemon *d, struct evhttp_request *req, const char *path)
{
    char channel[64], action[16];
    int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;

    if (strcmp(path, "/admin/channels") == 0 && !post) {
        pgw_http_json(req, 200, pgw_packver_status(d));
        return 1;
    }
    if (strcmp(path, "/admin/channels/events") == 0 && !post) {
        pgw_http_json(req, 200, json_pack("{s:o}", "events", pgw__events(d)));
        return 1;
    }
    if (sscanf(path, "/admin/channels/%63[a-z0-9_]/%15[a-z]", channel, action) == 2
        && strlen(path) == strlen("/admin/channels//") + strlen(channel) + strlen(action)
        && (strcmp(action, "reload") == 0 || strcmp(action, "rollback") == 0
            || strcmp(action, "promote") == 0)) {
        if (!post) {
            pgw_http_error(req, 405, "METHOD_NOT_ALLOWED", "POST only");
            return 1;
        }
        pgw__change(d, req, channel, action);
        return 1;
    }
    return 0;
}
