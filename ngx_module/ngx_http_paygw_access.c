
/*
 * Scheme-A request verification in the access phase (SPEC 3.1, 3.2).
 *
 * Order of checks, cheapest first, so a bad request is refused before its
 * body is read:
 *   Authorization present and well formed     401 SIGNATURE_INVALID
 *   app_id registered                         401 APP_UNKNOWN
 *   timestamp within +-paygw_time_window      401 TIMESTAMP_EXPIRED
 *   POST/PUT/PATCH carry application/json     415 UNSUPPORTED_MEDIA_TYPE
 *   Content-Length <= paygw_max_body          413 BODY_TOO_LARGE
 * then the whole body is read into memory (a chunked body is measured after
 * reading, same 413) and
 *   base64(HMAC-SHA256(secret, METHOD\nURI\nTIMESTAMP\nNONCE\nBODY\n))
 * is compared with the header's signature in constant time.
 *
 * Invariants: a rejected request is finalized here and never reaches the
 * content phase; the body that was read stays in r->request_body, where the
 * proxy module picks it up unchanged; once the app is known ctx->app is
 * set, so every later response (errors included) is signed for it.
 */


#include "ngx_http_paygw_module.h"

#include <openssl/crypto.h>


typedef struct {
    ngx_uint_t     status;
    const char    *code;
    u_char         message[192];
    size_t         len;
} ngx_http_paygw_reject_t;


static ngx_int_t ngx_http_paygw_check_head(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_http_paygw_reject_t *rej);
static ngx_int_t ngx_http_paygw_check_body(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_http_paygw_reject_t *rej);
static ngx_int_t ngx_http_paygw_request_body(ngx_http_request_t *r,
    size_t max, ngx_str_t *body, ngx_uint_t *too_large);
static ngx_int_t ngx_http_paygw_is_json(ngx_http_request_t *r);
static void ngx_http_paygw_body_handler(ngx_http_request_t *r);
static void ngx_http_paygw_set_reject(ngx_http_paygw_reject_t *rej,
    ngx_uint_t status, const char *code, const char *fmt, ...);


ngx_int_t
ngx_http_paygw_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_paygw_ctx_t       *ctx;
    ngx_http_paygw_reject_t     rej;
    ngx_http_paygw_loc_conf_t  *plcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_paygw_module);

    if (!plcf->verify) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_paygw_get_ctx(r);

    if (ctx != NULL) {
        /*
         * re-entry: after the body was read (phase_rc is NGX_OK), or after
         * an internal redirect of a request that was never verified
         */

        if (ctx->verified) {
            return NGX_OK;
        }

        return (ctx->phase_rc == NGX_OK) ? NGX_HTTP_FORBIDDEN
                                         : ctx->phase_rc;
    }

    ctx = ngx_http_paygw_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->phase_rc = NGX_HTTP_FORBIDDEN;

    rc = ngx_http_paygw_check_head(r, plcf, ctx, &rej);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        rc = ngx_http_paygw_send_error(r, rej.status, rej.code,
                                       rej.message, rej.len);
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    ctx->phase_rc = NGX_DONE;

    rc = ngx_http_read_client_request_body(r, ngx_http_paygw_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        ctx->phase_rc = NGX_HTTP_FORBIDDEN;
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}


/*
 * Called once the whole body is in r->request_body (possibly from inside
 * ngx_http_read_client_request_body()).  Either continues the phases or
 * answers the request.
 */

static void
ngx_http_paygw_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_paygw_ctx_t       *ctx;
    ngx_http_paygw_reject_t     rej;
    ngx_http_paygw_loc_conf_t  *plcf;

    ctx = ngx_http_paygw_get_ctx(r);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_paygw_module);

    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_paygw_check_body(r, plcf, ctx, &rej);

    if (rc == NGX_OK) {
        ctx->verified = 1;
        ctx->phase_rc = NGX_OK;

        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);
        return;
    }

    ctx->phase_rc = NGX_HTTP_FORBIDDEN;

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_paygw_send_error(r, rej.status, rej.code, rej.message,
                                   rej.len);
    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_paygw_check_head(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_http_paygw_reject_t *rej)
{
    time_t                 ts, now, skew;
    u_char                *p, *end;
    const char            *what;
    ngx_table_elt_t       *h;
    ngx_http_paygw_app_t  *app;

    h = r->headers_in.authorization;

    if (h == NULL || h->value.len == 0) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "missing Authorization header");
        return NGX_DECLINED;
    }

    what = NULL;

    if (ngx_http_paygw_auth_parse(&h->value, &ctx->auth, &what) != NGX_OK) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID", "%s", what);
        return NGX_DECLINED;
    }

    app = ngx_http_paygw_apps_find(plcf->apps, &ctx->auth.app_id);

    if (app == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "paygw: unknown app_id \"%V\"", &ctx->auth.app_id);
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED, "APP_UNKNOWN",
                                  "app_id is not registered");
        return NGX_DECLINED;
    }

    /* from here on, responses are signed for this app */

    ctx->app = app;

    if (app->scheme != ctx->auth.scheme) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "the app is registered for another "
                                  "signature scheme");
        return NGX_DECLINED;
    }

    p = ctx->auth.timestamp.data;
    end = p + ctx->auth.timestamp.len;
    ts = 0;

    if (end - p > 12) {
        p = end;
        ts = -1;
    }

    for ( /* void */ ; p < end; p++) {
        if (*p < '0' || *p > '9') {
            ts = -1;
            break;
        }

        ts = ts * 10 + (*p - '0');
    }

    if (ts < 0) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "timestamp is not a number of seconds "
                                  "since the epoch");
        return NGX_DECLINED;
    }

    now = ngx_time();
    skew = (ts > now) ? ts - now : now - ts;

    if (skew > plcf->time_window) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "TIMESTAMP_EXPIRED",
                                  "timestamp is %T s away from the gateway "
                                  "clock (window %T s)",
                                  skew, plcf->time_window);
        return NGX_DECLINED;
    }

    if ((r->method & (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH))
        && !ngx_http_paygw_is_json(r))
    {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                  "UNSUPPORTED_MEDIA_TYPE",
                                  "Content-Type must be application/json");
        return NGX_DECLINED;
    }

    if (r->headers_in.content_length_n > (off_t) plcf->max_body) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "BODY_TOO_LARGE",
                                  "request body is larger than %uz bytes",
                                  plcf->max_body);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_check_body(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_http_paygw_reject_t *rej)
{
    u_char      expect[NGX_HTTP_PAYGW_MAC_B64_LEN];
    ngx_str_t   parts[5];
    ngx_uint_t  too_large;

    too_large = 0;

    if (ngx_http_paygw_request_body(r, plcf->max_body, &parts[4], &too_large)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (too_large) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "BODY_TOO_LARGE",
                                  "request body is larger than %uz bytes",
                                  plcf->max_body);
        return NGX_DECLINED;
    }

    parts[0] = r->method_name;
    parts[1] = r->unparsed_uri;
    parts[2] = ctx->auth.timestamp;
    parts[3] = ctx->auth.nonce;

    if (ngx_http_paygw_hmac_sign(ctx->app, parts, 5, expect) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "paygw: HMAC-SHA256 failed");
        return NGX_ERROR;
    }

    if (ctx->auth.signature.len != NGX_HTTP_PAYGW_MAC_B64_LEN
        || CRYPTO_memcmp(expect, ctx->auth.signature.data,
                         NGX_HTTP_PAYGW_MAC_B64_LEN) != 0)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "paygw: signature mismatch for app \"%V\"",
                      &ctx->app->id);
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "signature does not match the request");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Makes the whole request body one contiguous string (borrowed from the
 * request pool, or from r->request_body itself when it is one memory
 * buffer).  Buffers written to the client body temp file are read back.
 * r->request_body->bufs is left untouched for the proxy module.
 */

static ngx_int_t
ngx_http_paygw_request_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body, ngx_uint_t *too_large)
{
    u_char       *p;
    off_t         total, size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        body->data = (u_char *) "";
        return NGX_OK;
    }

    total = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        total += ngx_buf_size(cl->buf);
    }

    if (total > (off_t) max) {
        *too_large = 1;
        return NGX_OK;
    }

    cl = r->request_body->bufs;
    b = cl->buf;

    if (cl->next == NULL && ngx_buf_in_memory(b)) {
        body->data = b->pos;
        body->len = b->last - b->pos;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) total + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for ( /* void */ ; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        if (!b->in_file || b->file == NULL) {
            continue;
        }

        size = b->file_last - b->file_pos;

        n = ngx_read_file(b->file, p, (size_t) size, b->file_pos);

        if (n == NGX_ERROR || n != (ssize_t) size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "paygw: cannot read the request body back from "
                          "\"%V\"", &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    body->len = p - body->data;

    return NGX_OK;
}


/* "application/json", any case, optional parameters after ';' */

static ngx_int_t
ngx_http_paygw_is_json(ngx_http_request_t *r)
{
    u_char     *p, *end;
    ngx_str_t  *ct;

    if (r->headers_in.content_type == NULL) {
        return 0;
    }

    ct = &r->headers_in.content_type->value;
    p = ct->data;
    end = p + ct->len;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if ((size_t) (end - p) < sizeof("application/json") - 1
        || ngx_strncasecmp(p, (u_char *) "application/json",
                           sizeof("application/json") - 1) != 0)
    {
        return 0;
    }

    p += sizeof("application/json") - 1;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    return (p == end || *p == ';');
}


static void
ngx_http_paygw_set_reject(ngx_http_paygw_reject_t *rej, ngx_uint_t status,
    const char *code, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    rej->status = status;
    rej->code = code;

    va_start(args, fmt);
    p = ngx_vslprintf(rej->message, rej->message + sizeof(rej->message), fmt,
                      args);
    va_end(args);

    rej->len = p - rej->message;
}
