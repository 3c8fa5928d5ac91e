
/*
 * Response signing (SPEC 3.1): every response to a request whose app is
 * known carries
 *
 *   Paygw-Timestamp: <unix seconds>
 *   Paygw-Nonce:     <16 random hex digits>
 *   Paygw-Signature: base64(HMAC-SHA256(secret, TS\nNONCE\nBODY\n))
 *
 * An RSA2 app's responses, and the module's rejections of requests whose
 * app is not known, are signed with the gateway key (paygw_sign_key):
 * base64(SHA256withRSA(TS\nNONCE\nBODY\n)).  Without that key a request
 * of unknown app gets an unsigned error (nothing to sign it with).  An
 * identical unidentified rejection within the same second reuses the
 * timestamp, nonce and signature (bounded RSA work under a flood).
 *
 * The header filter holds the headers back; the body filter collects the
 * body in memory (at most NGX_HTTP_PAYGW_MAX_RESPONSE bytes) until
 * last_buf, then sends the headers with the signature and an exact
 * Content-Length, followed by the body in one buffer.
 *
 * Invariants: a response is either sent signed or replaced by a signed
 * 502 RESPONSE_TOO_LARGE error, never sent unsigned; Paygw-* headers that
 * the upstream set are dropped; responses without a body (HEAD, 204, 304)
 * are signed over the empty body.  Filters that change the body after this
 * one (gzip, sub_filter, addition, charset) must stay off in signed
 * locations.
 */


#include "ngx_http_paygw_module.h"


static ngx_int_t ngx_http_paygw_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_paygw_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_paygw_collect(ngx_http_request_t *r,
    ngx_http_paygw_ctx_t *ctx, ngx_buf_t *b);
static ngx_int_t ngx_http_paygw_send_signed(ngx_http_request_t *r,
    ngx_http_paygw_ctx_t *ctx);
static ngx_int_t ngx_http_paygw_too_large(ngx_http_request_t *r,
    ngx_http_paygw_ctx_t *ctx);
static ngx_int_t ngx_http_paygw_add_signature(ngx_http_request_t *r,
    ngx_http_paygw_ctx_t *ctx, u_char *body, size_t len);
static void ngx_http_paygw_strip_headers(ngx_http_request_t *r,
    ngx_uint_t all);
static ngx_uint_t ngx_http_paygw_gateway_signs(ngx_http_request_t *r);
static ngx_int_t ngx_http_paygw_unidentified_cached(ngx_str_t *parts,
    ngx_str_t *sig);
static void ngx_http_paygw_unidentified_keep(ngx_str_t *parts,
    ngx_str_t *sig);


/*
 * Rejections of requests whose app is unknown are signed with the gateway's
 * RSA key (~0.8 ms each).  So that a flood of garbage cannot buy that much
 * CPU per request, a worker reuses, within the same second, the timestamp,
 * nonce and signature of an identical rejection body (these bodies are a
 * handful of fixed texts): at most a few RSA signatures per second.
 */

#define NGX_HTTP_PAYGW_UNIDENTIFIED_CACHE  8
#define NGX_HTTP_PAYGW_UNIDENTIFIED_BODY   256

typedef struct {
    time_t      sec;
    size_t      body_len;
    u_char      body[NGX_HTTP_PAYGW_UNIDENTIFIED_BODY];
    u_char      ts[NGX_TIME_T_LEN];
    size_t      ts_len;
    u_char      nonce[NGX_HTTP_PAYGW_NONCE_LEN];
    u_char      sig[1024];
    size_t      sig_len;
} ngx_http_paygw_unidentified_t;

static ngx_http_paygw_unidentified_t
    ngx_http_paygw_unidentified[NGX_HTTP_PAYGW_UNIDENTIFIED_CACHE];
static ngx_uint_t  ngx_http_paygw_unidentified_next;


/* the current second as text: Paygw-Timestamp of every answer */
static time_t      ngx_http_paygw_ts_sec = -1;
static u_char      ngx_http_paygw_ts_text[NGX_TIME_T_LEN];
static size_t      ngx_http_paygw_ts_len;


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


static ngx_str_t  ngx_http_paygw_headers[] = {
    ngx_string("Paygw-Timestamp"),
    ngx_string("Paygw-Nonce"),
    ngx_string("Paygw-Signature"),
    ngx_null_string
};


ngx_int_t
ngx_http_paygw_sign_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_paygw_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_paygw_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_header_filter(ngx_http_request_t *r)
{
    ngx_http_paygw_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_paygw_get_ctx(r);

    if (ctx == NULL || ctx->sent
        || (ctx->app == NULL && !ngx_http_paygw_gateway_signs(r)))
    {
        return ngx_http_next_header_filter(r);
    }

    ngx_http_paygw_strip_headers(r, 0);

    if (r->header_only
        || r->method == NGX_HTTP_HEAD
        || r->headers_out.status == NGX_HTTP_NO_CONTENT
        || r->headers_out.status == NGX_HTTP_NOT_MODIFIED)
    {
        ctx->sent = 1;

        if (ngx_http_paygw_add_signature(r, ctx, (u_char *) "", 0) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return ngx_http_next_header_filter(r);
    }

    if (r->headers_out.content_length_n > NGX_HTTP_PAYGW_MAX_RESPONSE) {
        ctx->overflow = 1;
    }

    ctx->hold = 1;
    r->main_filter_need_in_memory = 1;
    r->allow_ranges = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_uint_t             last;
    ngx_chain_t           *cl;
    ngx_http_paygw_ctx_t  *ctx;

    if (r != r->main || in == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_paygw_get_ctx(r);

    if (ctx == NULL || !ctx->hold || ctx->sent) {
        return ngx_http_next_body_filter(r, in);
    }

    last = 0;

    for (cl = in; cl; cl = cl->next) {

        if (ngx_http_paygw_collect(r, ctx, cl->buf) != NGX_OK) {
            return NGX_ERROR;
        }

        if (cl->buf->last_buf) {
            last = 1;
        }
    }

    if (!last) {
        return NGX_OK;
    }

    ctx->sent = 1;

    if (ctx->overflow) {
        return ngx_http_paygw_too_large(r, ctx);
    }

    return ngx_http_paygw_send_signed(r, ctx);
}


/* Appends b's data to the collected body and marks b consumed. */

static ngx_int_t
ngx_http_paygw_collect(ngx_http_request_t *r, ngx_http_paygw_ctx_t *ctx,
    ngx_buf_t *b)
{
    u_char  *p;
    size_t   size, need, cap;

    if (ngx_buf_in_memory(b)) {
        size = b->last - b->pos;

    } else if (b->in_file) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "paygw: response body buffer is not in memory");
        ctx->overflow = 1;
        size = 0;

    } else {
        size = 0;
    }

    if (size && !ctx->overflow) {
        need = ctx->body_len + size;

        if (need > NGX_HTTP_PAYGW_MAX_RESPONSE) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "paygw: response body exceeds %d bytes, "
                          "answering 502", NGX_HTTP_PAYGW_MAX_RESPONSE);
            ctx->overflow = 1;

        } else {
            if (need > ctx->body_cap) {
                cap = ctx->body_cap ? ctx->body_cap * 2 : 4096;

                if (ctx->body_cap == 0
                    && r->headers_out.content_length_n > 0
                    && r->headers_out.content_length_n
                       <= NGX_HTTP_PAYGW_MAX_RESPONSE)
                {
                    cap = (size_t) r->headers_out.content_length_n;
                }

                if (cap < need) {
                    cap = need;
                }

                if (cap > NGX_HTTP_PAYGW_MAX_RESPONSE) {
                    cap = NGX_HTTP_PAYGW_MAX_RESPONSE;
                }

                p = ngx_pnalloc(r->pool, cap);
                if (p == NULL) {
                    return NGX_ERROR;
                }

                if (ctx->body_len) {
                    ngx_memcpy(p, ctx->body, ctx->body_len);
                }

                if (ctx->body) {
                    ngx_pfree(r->pool, ctx->body);
                }

                ctx->body = p;
                ctx->body_cap = cap;
            }

            ngx_memcpy(ctx->body + ctx->body_len, b->pos, size);
            ctx->body_len += size;
        }
    }

    if (ngx_buf_in_memory(b)) {
        b->pos = b->last;
    }

    if (b->in_file) {
        b->file_pos = b->file_last;
    }

    return NGX_OK;
}


/*
 * Signs an answer whose whole body the caller holds in memory and is about
 * to send (the local voucher): the signature headers are added now and the
 * response is marked signed, so both filters pass it through instead of
 * holding the headers and copying the body.  Only for a request whose app
 * is known; on NGX_ERROR nothing is marked and the filters sign whatever
 * error answer follows.
 */

ngx_int_t
ngx_http_paygw_sign_answer(ngx_http_request_t *r, ngx_http_paygw_ctx_t *ctx,
    u_char *body, size_t len)
{
    if (r != r->main || ctx->sent || ctx->app == NULL) {
        return NGX_ERROR;
    }

    ngx_http_paygw_strip_headers(r, 0);

    if (ngx_http_paygw_add_signature(r, ctx, body, len) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->sent = 1;
    r->allow_ranges = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_send_signed(ngx_http_request_t *r, ngx_http_paygw_ctx_t *ctx)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (ngx_http_paygw_add_signature(r, ctx, ctx->body, ctx->body_len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_clear_content_length(r);
    r->headers_out.content_length_n = ctx->body_len;

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (ctx->body_len) {
        b->pos = ctx->body;
        b->last = ctx->body + ctx->body_len;
        b->start = b->pos;
        b->end = b->last;
        b->memory = 1;
    }

    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}


/* Replaces an oversized (or unreadable) response by a signed 502. */

static ngx_int_t
ngx_http_paygw_too_large(ngx_http_request_t *r, ngx_http_paygw_ctx_t *ctx)
{
    static u_char  msg[] = "{\"error\":{\"code\":\"RESPONSE_TOO_LARGE\","
                           "\"message\":\"the core's response is too large "
                           "to be signed\"}}\n";

    ngx_http_paygw_strip_headers(r, 1);

    ngx_str_null(&r->headers_out.status_line);
    r->headers_out.status = NGX_HTTP_BAD_GATEWAY;
    r->headers_out.location = NULL;
    r->headers_out.refresh = NULL;
    r->headers_out.last_modified = NULL;
    r->headers_out.last_modified_time = -1;
    r->headers_out.etag = NULL;
    r->headers_out.content_encoding = NULL;
    r->headers_out.content_range = NULL;
    r->headers_out.charset.len = 0;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    ctx->body = msg;
    ctx->body_len = sizeof(msg) - 1;
    ctx->body_cap = 0;

    return ngx_http_paygw_send_signed(r, ctx);
}


static ngx_int_t
ngx_http_paygw_add_signature(ngx_http_request_t *r, ngx_http_paygw_ctx_t *ctx,
    u_char *body, size_t len)
{
    u_char                      *ts, *nonce, *sig, *last;
    size_t                       siglen;
    time_t                       now;
    ngx_str_t                    parts[3], rsa;
    ngx_table_elt_t             *h;
    ngx_http_paygw_main_conf_t  *pmcf;

    ts = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + NGX_HTTP_PAYGW_NONCE_LEN
                              + NGX_HTTP_PAYGW_MAC_B64_LEN);
    if (ts == NULL) {
        return NGX_ERROR;
    }

    now = ngx_time();

    if (now != ngx_http_paygw_ts_sec) {
        ngx_http_paygw_ts_len = ngx_sprintf(ngx_http_paygw_ts_text, "%T", now)
                                - ngx_http_paygw_ts_text;
        ngx_http_paygw_ts_sec = now;
    }

    last = ngx_cpymem(ts, ngx_http_paygw_ts_text, ngx_http_paygw_ts_len);

    parts[0].data = ts;
    parts[0].len = last - ts;

    nonce = last;

    if (ngx_http_paygw_nonce(nonce) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "paygw: RAND_bytes() failed");
        return NGX_ERROR;
    }

    parts[1].data = nonce;
    parts[1].len = NGX_HTTP_PAYGW_NONCE_LEN;

    parts[2].data = body;
    parts[2].len = len;

    sig = nonce + NGX_HTTP_PAYGW_NONCE_LEN;
    siglen = NGX_HTTP_PAYGW_MAC_B64_LEN;

    if (ctx->app != NULL && ctx->app->key_type == NGX_HTTP_PAYGW_KEY_HMAC) {
        if (ngx_http_paygw_hmac_sign(ctx->app, parts, 3, sig) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "paygw: HMAC-SHA256 failed");
            return NGX_ERROR;
        }

    } else if (ctx->app == NULL
               && ngx_http_paygw_unidentified_cached(parts, &rsa) == NGX_OK)
    {
        sig = rsa.data;
        siglen = rsa.len;

    } else {
        pmcf = ngx_http_get_module_main_conf(r, ngx_http_paygw_module);

        if (pmcf->sign_key == NULL
            || ngx_http_paygw_rsa_sign(r->pool, pmcf->sign_key, parts, 3,
                                       &rsa)
               != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "paygw: signing with the gateway key failed");
            return NGX_ERROR;
        }

        sig = rsa.data;
        siglen = rsa.len;

        if (ctx->app == NULL) {
            ngx_http_paygw_unidentified_keep(parts, &rsa);
        }
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = ngx_http_paygw_headers[0];
    h->value = parts[0];

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = ngx_http_paygw_headers[1];
    h->value = parts[1];

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = ngx_http_paygw_headers[2];
    h->value.data = sig;
    h->value.len = siglen;

    return NGX_OK;
}


/* Hides the Paygw-* response headers (or, with "all", every header). */

static void
ngx_http_paygw_strip_headers(ngx_http_request_t *r, ngx_uint_t all)
{
    ngx_uint_t        i;
    ngx_str_t        *name;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        if (all) {
            h[i].hash = 0;
            continue;
        }

        for (name = ngx_http_paygw_headers; name->len; name++) {
            if (h[i].key.len == name->len
                && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
            {
                h[i].hash = 0;
                break;
            }
        }
    }
}


/* Whether a response with no known app is signed with the gateway key. */

static ngx_uint_t
ngx_http_paygw_gateway_signs(ngx_http_request_t *r)
{
    ngx_http_paygw_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_paygw_module);

    return pmcf->sign_key != NULL;
}


/*
 * On a hit, rewrites parts[0] (timestamp) and parts[1] (nonce) in place with
 * the cached ones and points sig at the cached signature.
 */

static ngx_int_t
ngx_http_paygw_unidentified_cached(ngx_str_t *parts, ngx_str_t *sig)
{
    ngx_uint_t                      i;
    ngx_http_paygw_unidentified_t  *c;

    for (i = 0; i < NGX_HTTP_PAYGW_UNIDENTIFIED_CACHE; i++) {
        c = &ngx_http_paygw_unidentified[i];

        if (c->sec != ngx_time() || c->body_len != parts[2].len
            || c->ts_len != parts[0].len
            || ngx_memcmp(c->body, parts[2].data, parts[2].len) != 0)
        {
            continue;
        }

        ngx_memcpy(parts[0].data, c->ts, c->ts_len);
        ngx_memcpy(parts[1].data, c->nonce, NGX_HTTP_PAYGW_NONCE_LEN);

        sig->data = c->sig;
        sig->len = c->sig_len;

        return NGX_OK;
    }

    return NGX_DECLINED;
}


static void
ngx_http_paygw_unidentified_keep(ngx_str_t *parts, ngx_str_t *sig)
{
    ngx_http_paygw_unidentified_t  *c;

    if (parts[2].len > NGX_HTTP_PAYGW_UNIDENTIFIED_BODY
        || parts[0].len > NGX_TIME_T_LEN || sig->len > sizeof(c->sig))
    {
        return;
    }

    c = &ngx_http_paygw_unidentified[ngx_http_paygw_unidentified_next];

    ngx_http_paygw_unidentified_next = (ngx_http_paygw_unidentified_next + 1)
                                       % NGX_HTTP_PAYGW_UNIDENTIFIED_CACHE;

    c->sec = ngx_time();
    c->body_len = parts[2].len;
    ngx_memcpy(c->body, parts[2].data, parts[2].len);
    c->ts_len = parts[0].len;
    ngx_memcpy(c->ts, parts[0].data, parts[0].len);
    ngx_memcpy(c->nonce, parts[1].data, NGX_HTTP_PAYGW_NONCE_LEN);
    c->sig_len = sig->len;
    ngx_memcpy(c->sig, sig->data, sig->len);
}
