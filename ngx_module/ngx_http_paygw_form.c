
/*
 * Scheme B requests (SPEC 3.1): an application/x-www-form-urlencoded body
 * whose parameters carry app_id, timestamp, nonce_str, sign_type and sign.
 *
 * Parsing decodes every name and value ('+' is a space, %XX a byte) into
 * pool memory.  Strict on purpose, because what we sign must be what paygwd
 * reads: a malformed escape, an empty name or a parameter given twice makes
 * the whole body invalid.
 *
 * string_to_sign = every parameter with a non-empty value except "sign",
 * sorted by name in byte order, joined as "k=v&k=v" (decoded values).
 */


#include "ngx_http_paygw_module.h"


#define NGX_HTTP_PAYGW_MAX_PARAMS  64


static ngx_int_t ngx_http_paygw_form_decode(ngx_pool_t *pool, u_char *p,
    u_char *end, ngx_str_t *out);
static ngx_int_t ngx_http_paygw_param_cmp(const void *one, const void *two);


/*
 * Fills "params" (an initialised array of ngx_http_paygw_param_t) from
 * "body", sorted by name (byte order; names are unique, so the order is
 * total).  Returns NGX_OK, NGX_DECLINED with *what set, or NGX_ERROR.
 */

ngx_int_t
ngx_http_paygw_form_parse(ngx_pool_t *pool, ngx_str_t *body,
    ngx_array_t *params, const char **what)
{
    u_char                  *p, *end, *amp, *eq;
    ngx_uint_t               i;
    ngx_http_paygw_param_t  *param, *all;

    p = body->data;
    end = p + body->len;

    while (p < end) {
        amp = ngx_strlchr(p, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        if (amp == p) {
            p++;            /* "a=1&&b=2": an empty pair is no parameter */
            continue;
        }

        if (params->nelts == NGX_HTTP_PAYGW_MAX_PARAMS) {
            *what = "too many form parameters";
            return NGX_DECLINED;
        }

        eq = ngx_strlchr(p, amp, '=');
        if (eq == NULL) {
            eq = amp;
        }

        if (eq == p) {
            *what = "form parameter without a name";
            return NGX_DECLINED;
        }

        param = ngx_array_push(params);
        if (param == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_paygw_form_decode(pool, p, eq, &param->name) != NGX_OK
            || ngx_http_paygw_form_decode(pool, (eq < amp) ? eq + 1 : amp,
                                          amp, &param->value)
               != NGX_OK)
        {
            *what = "malformed percent-escape in the form body";
            return NGX_DECLINED;
        }

        p = amp + 1;
    }

    /* sorted by name from here on: a repeated name sits next to its twin */

    all = params->elts;

    ngx_sort(all, params->nelts, sizeof(ngx_http_paygw_param_t),
             ngx_http_paygw_param_cmp);

    for (i = 1; i < params->nelts; i++) {
        if (all[i].name.len == all[i - 1].name.len
            && ngx_memcmp(all[i].name.data, all[i - 1].name.data,
                          all[i].name.len) == 0)
        {
            *what = "form parameter given more than once";
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/* Returns the parameter called "name" (borrowed) or NULL. */

ngx_http_paygw_param_t *
ngx_http_paygw_form_get(ngx_array_t *params, const char *name)
{
    size_t                   len;
    ngx_uint_t               i;
    ngx_http_paygw_param_t  *param;

    len = ngx_strlen(name);
    param = params->elts;

    for (i = 0; i < params->nelts; i++) {
        if (param[i].name.len == len
            && ngx_memcmp(param[i].name.data, name, len) == 0)
        {
            return &param[i];
        }
    }

    return NULL;
}


/* Builds the string to sign, from the sorted "params", in pool memory. */

ngx_int_t
ngx_http_paygw_form_string_to_sign(ngx_pool_t *pool, ngx_array_t *params,
    ngx_str_t *out)
{
    u_char                  *p;
    size_t                   len;
    ngx_uint_t               i;
    ngx_http_paygw_param_t  *param;

    param = params->elts;
    len = 0;

    for (i = 0; i < params->nelts; i++) {
        len += param[i].name.len + 1 + param[i].value.len + 1;
    }

    out->data = ngx_pnalloc(pool, len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;

    for (i = 0; i < params->nelts; i++) {

        if (param[i].value.len == 0
            || (param[i].name.len == 4
                && ngx_memcmp(param[i].name.data, "sign", 4) == 0))
        {
            continue;
        }

        if (p != out->data) {
            *p++ = '&';
        }

        p = ngx_cpymem(p, param[i].name.data, param[i].name.len);
        *p++ = '=';
        p = ngx_cpymem(p, param[i].value.data, param[i].value.len);
    }

    out->len = p - out->data;

    return NGX_OK;
}


/*
 * Decodes one form-encoded token; borrows the input when it has nothing to
 * decode.  NGX_DECLINED on a malformed %-escape.
 */

static ngx_int_t
ngx_http_paygw_form_decode(ngx_pool_t *pool, u_char *p, u_char *end,
    ngx_str_t *out)
{
    u_char  *s, *d, c, hi, lo;

    for (s = p; s < end; s++) {
        if (*s == '%' || *s == '+') {
            break;
        }
    }

    if (s == end) {
        out->data = p;
        out->len = end - p;
        return NGX_OK;
    }

    d = ngx_pnalloc(pool, end - p);
    if (d == NULL) {
        return NGX_ERROR;
    }

    out->data = d;

    for (s = p; s < end; s++) {
        c = *s;

        if (c == '+') {
            *d++ = ' ';
            continue;
        }

        if (c != '%') {
            *d++ = c;
            continue;
        }

        if (end - s < 3) {
            return NGX_DECLINED;
        }

        hi = (u_char) (s[1] | 0x20);
        lo = (u_char) (s[2] | 0x20);

        if (!((hi >= '0' && hi <= '9') || (hi >= 'a' && hi <= 'f'))
            || !((lo >= '0' && lo <= '9') || (lo >= 'a' && lo <= 'f')))
        {
            return NGX_DECLINED;
        }

        hi = (hi <= '9') ? hi - '0' : hi - 'a' + 10;
        lo = (lo <= '9') ? lo - '0' : lo - 'a' + 10;

        *d++ = (u_char) (hi << 4 | lo);
        s += 2;
    }

    out->len = d - out->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_param_cmp(const void *one, const void *two)
{
    const ngx_http_paygw_param_t  *a = one;
    const ngx_http_paygw_param_t  *b = two;

    return ngx_memn2cmp(a->name.data, b->name.data, a->name.len, b->name.len);
}
