/*
 * pgw_http.c — evhttp answer and request helpers. Every JSON answer carries
 * Content-Type: application/json; errors use {"error":{"code","message"}}.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "pgw_core.h"
#include "pgw_http.h"


void
pgw_http_text(struct evhttp_request *req, int status, const char *content_type,
              const char *text, size_t len)
{
    struct evbuffer *buf = evbuffer_new();

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      content_type);
    if (buf != NULL) {
        evbuffer_add(buf, text, len);
    }
    evhttp_send_reply(req, status, NULL, buf);
    if (buf != NULL) {
        evbuffer_free(buf);
    }
}


void
pgw_http_json(struct evhttp_request *req, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    if (text == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"out of memory\"}}";
        pgw_http_text(req, 500, "application/json", oom, sizeof(oom) - 1);
        return;
    }
    pgw_http_text(req, status, "application/json", text, strlen(text));
    free(text);
}


void
pgw_http_error(struct evhttp_request *req, int status, const char *code,
               const char *message)
{
    pgw_http_json(req, status,
                  json_pack("{s:{s:s, s:s}}", "error", "code", code, "message",
                            message));
}


const char *
pgw_http_body(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    unsigned char *p;

    /* NUL-terminate in place: append a 0 byte and report the length without it */
    evbuffer_add(in, "", 1);
    p = evbuffer_pullup(in, -1);
    if (len) {
        *len = n;
    }
    return (const char *) p;
}


const char *
pgw_http_header(struct evhttp_request *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}


json_t *
pgw_http_headers(struct evhttp_request *req)
{
    struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
    struct evkeyval *h;
    json_t *o = json_object();
    char name[128];

    if (o == NULL) {
        return NULL;
    }
    TAILQ_FOREACH(h, hs, next) {
        size_t i, n = strlen(h->key);
        const char *old;

        if (n == 0 || n >= sizeof(name)) {
            continue;
        }
        for (i = 0; i < n; i++) {
            name[i] = (char) tolower((unsigned char) h->key[i]);
        }
        name[n] = '\0';
        old = json_string_value(json_object_get(o, name));
        if (old == NULL) {
            json_object_set_new(o, name, json_string(h->value));
        } else {                /* repeated: joined as RFC 9110 section 5.3 allows */
            char *joined = NULL;

            if (asprintf(&joined, "%s, %s", old, h->value) >= 0) {
                json_object_set_new(o, name, json_string(joined));
                free(joined);
            }
        }
    }
    return o;
}


int
pgw_http_path(struct evhttp_request *req, char *buf, size_t len)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    char *dec;

    if (path == NULL) {
        return PGW_ERR;
    }
    dec = evhttp_uridecode(path, 0, NULL);
    if (dec == NULL) {
        return PGW_ERR;
    }
    if (strlen(dec) >= len) {
        free(dec);
        return PGW_ERR;
    }
    snprintf(buf, len, "%s", dec);
    free(dec);
    return PGW_OK;
}


int
pgw_http_query_param(struct evhttp_request *req, const char *key, char *val,
                     size_t len)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq params;
    const char *v;
    int rc = PGW_NOTFOUND;

    if (query == NULL) {
        return PGW_NOTFOUND;
    }
    memset(&params, 0, sizeof(params));
    params.tqh_last = &params.tqh_first;
    if (evhttp_parse_query_str(query, &params) != 0) {
        return PGW_ERR;
    }
    v = evhttp_find_header(&params, key);
    if (v != NULL && strlen(v) < len) {
        snprintf(val, len, "%s", v);
        rc = PGW_OK;
    }
    evhttp_clear_headers(&params);
    return rc;
}
