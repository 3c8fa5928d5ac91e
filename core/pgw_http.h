/*
 * pgw_http.h — small helpers shared by the HTTP faces of paygwd (caller API,
 * channel notify, admin): JSON answers, the SPEC §3.2 error shape, body access.
 */

#ifndef PGW_HTTP_H
#define PGW_HTTP_H

#include <stddef.h>

#include <jansson.h>

struct evhttp_request;

/* steals body */
void pgw_http_json(struct evhttp_request *req, int status, json_t *body);
void pgw_http_error(struct evhttp_request *req, int status, const char *code,
                    const char *message);
void pgw_http_text(struct evhttp_request *req, int status,
                   const char *content_type, const char *text, size_t len);
/* borrowed: the request body, NUL-terminated; len may be NULL */
const char *pgw_http_body(struct evhttp_request *req, size_t *len);
const char *pgw_http_header(struct evhttp_request *req, const char *name);
/* all request headers as a new object, names lower-cased (NULL: no memory) */
json_t *pgw_http_headers(struct evhttp_request *req);
/* decoded path of the request into buf; query string value of key into val */
int pgw_http_path(struct evhttp_request *req, char *buf, size_t len);
int pgw_http_query_param(struct evhttp_request *req, const char *key,
                         char *val, size_t len);

#endif
