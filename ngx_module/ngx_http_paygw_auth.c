
/*
 * The scheme-A Authorization header (SPEC 3.1):
 *
 *   PAYGW-HMAC-SHA256 app_id="A1",timestamp="1763800000",nonce="n8s7",
 *                     signature="BASE64"
 *
 * or the same with PAYGW-SHA256-RSA2048 for apps holding an RSA key.
 *
 * Grammar (RFC 9110 auth-param, strict):
 *   credentials = scheme 1*SP param *( OWS "," OWS param ) OWS
 *   param       = name OWS "=" OWS ( quoted-string / token )
 *
 * The four parameters may come in any order; each must appear exactly
 * once; unknown parameters, empty values, backslash escapes and control
 * characters are rejected.  Values borrow the header's memory.
 */


#include "ngx_http_paygw_module.h"


typedef struct {
    ngx_str_t     name;
    size_t        offset;
    size_t        max;
} ngx_http_paygw_auth_param_t;


static ngx_http_paygw_auth_param_t  ngx_http_paygw_auth_params[] = {
    { ngx_string("app_id"), offsetof(ngx_http_paygw_auth_t, app_id),
      NGX_HTTP_PAYGW_MAX_APP_ID },
    { ngx_string("timestamp"), offsetof(ngx_http_paygw_auth_t, timestamp),
      20 },
    { ngx_string("nonce"), offsetof(ngx_http_paygw_auth_t, nonce),
      NGX_HTTP_PAYGW_MAX_NONCE },
    { ngx_string("signature"), offsetof(ngx_http_paygw_auth_t, signature),
      NGX_HTTP_PAYGW_MAX_SIGNATURE },
    { ngx_null_string, 0, 0 }
};


static ngx_inline ngx_uint_t
ngx_http_paygw_is_tchar(u_char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
        return 1;
    }

    return 0;
}


/*
 * Parses "header" into "auth".  Returns NGX_OK, or NGX_DECLINED with
 * *what set to a static description of the first problem found.
 */

ngx_int_t
ngx_http_paygw_auth_parse(ngx_str_t *header, ngx_http_paygw_auth_t *auth,
    const char **what)
{
    u_char                       *p, *end, *start;
    ngx_str_t                     name, value, *dst;
    ngx_http_paygw_auth_param_t  *param;

    ngx_memzero(auth, sizeof(ngx_http_paygw_auth_t));

    p = header->data;
    end = p + header->len;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    start = p;

    while (p < end && ngx_http_paygw_is_tchar(*p)) {
        p++;
    }

    if ((size_t) (p - start) == sizeof("PAYGW-HMAC-SHA256") - 1
        && ngx_strncasecmp(start, (u_char *) "PAYGW-HMAC-SHA256",
                           sizeof("PAYGW-HMAC-SHA256") - 1) == 0)
    {
        auth->key_type = NGX_HTTP_PAYGW_KEY_HMAC;

    } else if ((size_t) (p - start) == sizeof("PAYGW-SHA256-RSA2048") - 1
               && ngx_strncasecmp(start, (u_char *) "PAYGW-SHA256-RSA2048",
                                  sizeof("PAYGW-SHA256-RSA2048") - 1) == 0)
    {
        auth->key_type = NGX_HTTP_PAYGW_KEY_RSA2;

    } else {
        *what = "Authorization scheme is neither PAYGW-HMAC-SHA256 nor "
                "PAYGW-SHA256-RSA2048";
        return NGX_DECLINED;
    }

    if (p == end || *p != ' ') {
        *what = "Authorization header has no parameters after the scheme";
        return NGX_DECLINED;
    }

    for ( ;; ) {

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == end) {
            *what = "Authorization header ends where a parameter is expected";
            return NGX_DECLINED;
        }

        name.data = p;

        while (p < end && ngx_http_paygw_is_tchar(*p)) {
            p++;
        }

        name.len = p - name.data;

        if (name.len == 0) {
            *what = "Authorization header has garbage where a parameter "
                    "name is expected";
            return NGX_DECLINED;
        }

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == end || *p != '=') {
            *what = "Authorization parameter without \"=\"";
            return NGX_DECLINED;
        }

        p++;

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p < end && *p == '"') {
            p++;
            value.data = p;

            while (p < end && *p != '"') {
                if (*p == '\\' || *p < 0x20 || *p == 0x7f) {
                    *what = "Authorization parameter value contains an "
                            "escape or control character";
                    return NGX_DECLINED;
                }

                p++;
            }

            if (p == end) {
                *what = "Authorization parameter value lacks its "
                        "closing quote";
                return NGX_DECLINED;
            }

            value.len = p - value.data;
            p++;

        } else {
            value.data = p;

            while (p < end && ngx_http_paygw_is_tchar(*p)) {
                p++;
            }

            value.len = p - value.data;
        }

        if (value.len == 0) {
            *what = "Authorization parameter has an empty value";
            return NGX_DECLINED;
        }

        for (param = ngx_http_paygw_auth_params; param->name.len; param++) {
            if (param->name.len == name.len
                && ngx_strncmp(param->name.data, name.data, name.len) == 0)
            {
                break;
            }
        }

        if (param->name.len == 0) {
            *what = "Authorization header has an unknown parameter";
            return NGX_DECLINED;
        }

        dst = (ngx_str_t *) ((u_char *) auth + param->offset);

        if (dst->data != NULL) {
            *what = "Authorization header repeats a parameter";
            return NGX_DECLINED;
        }

        if (value.len > param->max) {
            *what = "Authorization parameter value is too long";
            return NGX_DECLINED;
        }

        *dst = value;

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == end) {
            break;
        }

        if (*p != ',') {
            *what = "Authorization header has garbage after a parameter";
            return NGX_DECLINED;
        }

        p++;
    }

    if (auth->app_id.data == NULL) {
        *what = "Authorization header lacks app_id";
        return NGX_DECLINED;
    }

    if (auth->timestamp.data == NULL) {
        *what = "Authorization header lacks timestamp";
        return NGX_DECLINED;
    }

    if (auth->nonce.data == NULL) {
        *what = "Authorization header lacks nonce";
        return NGX_DECLINED;
    }

    if (auth->signature.data == NULL) {
        *what = "Authorization header lacks signature";
        return NGX_DECLINED;
    }

    return NGX_OK;
}
