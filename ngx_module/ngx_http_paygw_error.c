
/*
 * The module's own error responses (SPEC 3.2):
 *
 *   {"error":{"code":"SIGNATURE_INVALID","message":"..."}}
 *
 * sent with Content-Type application/json through the whole filter chain,
 * so the signing filter signs them whenever the request's app is known.
 * A 401 also carries "WWW-Authenticate: PAYGW-HMAC-SHA256".
 */


#include "ngx_http_paygw_module.h"


/*
 * Sends the error; returns what the output filters returned (the caller
 * finalizes the request with it).  An unread request body is discarded
 * first so a keepalive connection stays usable.
 */

ngx_int_t
ngx_http_paygw_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, u_char *message, size_t len)
{
    u_char           *p;
    size_t            size, clen;
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    if (r->header_sent) {
        return NGX_ERROR;
    }

    if (r->request_body == NULL) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }
    }

    clen = ngx_strlen(code);

    size = sizeof("{\"error\":{\"code\":\"") - 1 + clen
           + sizeof("\",\"message\":\"") - 1 + len
           + ngx_escape_json(NULL, message, len)
           + sizeof("\"}}\n") - 1;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = b->last;
    p = ngx_cpymem(p, "{\"error\":{\"code\":\"",
                   sizeof("{\"error\":{\"code\":\"") - 1);
    p = ngx_cpymem(p, code, clen);
    p = ngx_cpymem(p, "\",\"message\":\"", sizeof("\",\"message\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, message, len);
    p = ngx_cpymem(p, "\"}}\n", sizeof("\"}}\n") - 1);
    b->last = p;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    if (status == NGX_HTTP_UNAUTHORIZED) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "WWW-Authenticate");
        ngx_str_set(&h->value, "PAYGW-HMAC-SHA256");
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
