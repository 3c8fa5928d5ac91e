
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
 *
 * Hot path (every scheme B request): one pass over the body finds the
 * separators and whether a token needs decoding (a byte class table);
 * tokens without '%' or '+' are borrowed, the others decoded into one
 * scratch buffer; the parameters live in the caller's fixed array (no
 * allocation per parameter) and are sorted by insertion on an 8-byte
 * big-endian prefix of the name (a full compare only on a tie).
 */


#include "ngx_http_paygw_module.h"


/* byte classes: a separator ends a name (& =) or a value (&) */
#define NGX_HTTP_PAYGW_C_AMP   1
#define NGX_HTTP_PAYGW_C_EQ    2
#define NGX_HTTP_PAYGW_C_ESC   4

static const u_char  ngx_http_paygw_form_class[256] = {
    ['&'] = NGX_HTTP_PAYGW_C_AMP,
    ['='] = NGX_HTTP_PAYGW_C_EQ,
    ['%'] = NGX_HTTP_PAYGW_C_ESC,
    ['+'] = NGX_HTTP_PAYGW_C_ESC
};


/*
 * Word at a time: the high bit of every byte of x that equals the byte
 * in c8 (c times 0x01..01); nonzero exactly when such a byte exists.
 */

#define NGX_HTTP_PAYGW_ONES    0x0101010101010101ULL
#define NGX_HTTP_PAYGW_HIGHS   0x8080808080808080ULL

#define ngx_http_paygw_has(x, c8)                                             \
    ((((x) ^ (c8)) - NGX_HTTP_PAYGW_ONES) & ~((x) ^ (c8))                    \
     & NGX_HTTP_PAYGW_HIGHS)

#define NGX_HTTP_PAYGW_AMP8    (NGX_HTTP_PAYGW_ONES * '&')
#define NGX_HTTP_PAYGW_EQ8     (NGX_HTTP_PAYGW_ONES * '=')
#define NGX_HTTP_PAYGW_PCT8    (NGX_HTTP_PAYGW_ONES * '%')
#define NGX_HTTP_PAYGW_PLUS8   (NGX_HTTP_PAYGW_ONES * '+')


static ngx_int_t ngx_http_paygw_form_decode(u_char *p, u_char *end,
    u_char **scratch, ngx_str_t *out);
static ngx_inline uint64_t ngx_http_paygw_load8(u_char *p);
static ngx_inline uint64_t ngx_http_paygw_form_key(ngx_str_t *name,
    u_char *limit);
static ngx_inline ngx_int_t ngx_http_paygw_param_less(
    ngx_http_paygw_param_t *a, ngx_http_paygw_param_t *b);
static void ngx_http_paygw_form_index(ngx_http_paygw_form_t *form);


/*
 * Fills "form" from "body", parameters sorted by name (byte order; names
 * are unique, so the order is total), the well-known ones indexed.
 * Returns NGX_OK, NGX_DECLINED with *what set, or NGX_ERROR.
 */

ngx_int_t
ngx_http_paygw_form_parse(ngx_pool_t *pool, ngx_str_t *body,
    ngx_http_paygw_form_t *form, const char **what)
{
    u_char                  *p, *end, *s, *scratch, *scratch_end;
    uint64_t                 w;
    ngx_uint_t               i, j, n, c, esc;
    ngx_http_paygw_param_t  *all, *param, tmp;

    const u_char  *cls = ngx_http_paygw_form_class;

    p = body->data;
    end = p + body->len;
    all = form->param;
    scratch = NULL;
    scratch_end = NULL;
    n = 0;

    while (p < end) {

        if (*p == '&') {
            p++;            /* "a=1&&b=2": an empty pair is no parameter */
            continue;
        }

        if (n == NGX_HTTP_PAYGW_MAX_PARAMS) {
            *what = "too many form parameters";
            return NGX_DECLINED;
        }

        /* the name runs to the first '=' or '&' */

        s = p;
        esc = 0;

        /* whole words without a separator first, then byte by byte */

        while (end - p >= 8) {
            w = ngx_http_paygw_load8(p);

            if (ngx_http_paygw_has(w, NGX_HTTP_PAYGW_AMP8)
                | ngx_http_paygw_has(w, NGX_HTTP_PAYGW_EQ8))
            {
                break;
            }

            if (ngx_http_paygw_has(w, NGX_HTTP_PAYGW_PCT8)
                | ngx_http_paygw_has(w, NGX_HTTP_PAYGW_PLUS8))
            {
                esc = NGX_HTTP_PAYGW_C_ESC;
            }

            p += 8;
        }

        while (p < end) {
            c = cls[*p];
            if (c & (NGX_HTTP_PAYGW_C_AMP|NGX_HTTP_PAYGW_C_EQ)) {
                break;
            }
            esc |= c;
            p++;
        }

        if (p == s) {
            *what = "form parameter without a name";
            return NGX_DECLINED;
        }

        param = &all[n];

        if (esc) {
            if (scratch == NULL) {
                /* decoding never lengthens: the body's size is enough */
                scratch = ngx_pnalloc(pool, body->len);
                if (scratch == NULL) {
                    return NGX_ERROR;
                }

                scratch_end = scratch + body->len;
            }

            if (ngx_http_paygw_form_decode(s, p, &scratch, &param->name)
                != NGX_OK)
            {
                goto malformed;
            }

            param->key = ngx_http_paygw_form_key(&param->name, scratch_end);

        } else {
            param->name.data = s;
            param->name.len = p - s;
            param->key = ngx_http_paygw_form_key(&param->name, end);
        }

        /* the value runs from after the '=' to the next '&' */

        if (p < end && *p == '=') {
            s = ++p;
            esc = 0;

            while (end - p >= 8) {
                w = ngx_http_paygw_load8(p);

                if (ngx_http_paygw_has(w, NGX_HTTP_PAYGW_AMP8)) {
                    break;
                }

                if (ngx_http_paygw_has(w, NGX_HTTP_PAYGW_PCT8)
                    | ngx_http_paygw_has(w, NGX_HTTP_PAYGW_PLUS8))
                {
                    esc = NGX_HTTP_PAYGW_C_ESC;
                }

                p += 8;
            }

            while (p < end) {
                c = cls[*p];
                if (c & NGX_HTTP_PAYGW_C_AMP) {
                    break;
                }
                esc |= c;
                p++;
            }

        } else {
            s = p;
            esc = 0;
        }

        if (esc & NGX_HTTP_PAYGW_C_ESC) {
            if (scratch == NULL) {
                scratch = ngx_pnalloc(pool, body->len);
                if (scratch == NULL) {
                    return NGX_ERROR;
                }

                scratch_end = scratch + body->len;
            }

            if (ngx_http_paygw_form_decode(s, p, &scratch, &param->value)
                != NGX_OK)
            {
                goto malformed;
            }

        } else {
            param->value.data = s;
            param->value.len = p - s;
        }

        n++;

        if (p < end) {
            p++;            /* the '&' */
        }
    }

    /* sorted by name from here on: a repeated name sits next to its twin */

    for (i = 1; i < n; i++) {
        if (!ngx_http_paygw_param_less(&all[i], &all[i - 1])) {
            continue;
        }

        tmp = all[i];
        j = i;

        do {
            all[j] = all[j - 1];
            j--;
        } while (j > 0 && ngx_http_paygw_param_less(&tmp, &all[j - 1]));

        all[j] = tmp;
    }

    for (i = 1; i < n; i++) {
        if (all[i].key == all[i - 1].key
            && all[i].name.len == all[i - 1].name.len
            && ngx_memcmp(all[i].name.data, all[i - 1].name.data,
                          all[i].name.len) == 0)
        {
            *what = "form parameter given more than once";
            return NGX_DECLINED;
        }
    }

    form->nelts = n;

    ngx_http_paygw_form_index(form);

    return NGX_OK;

malformed:

    *what = "malformed percent-escape in the form body";
    return NGX_DECLINED;
}


/* Points the well-known fields of "form" at their parameters (or NULL). */

static void
ngx_http_paygw_form_index(ngx_http_paygw_form_t *form)
{
    u_char                  *d;
    ngx_uint_t               i;
    ngx_http_paygw_param_t  *param;

    form->app_id = NULL;
    form->timestamp = NULL;
    form->nonce_str = NULL;
    form->sign_type = NULL;
    form->sign = NULL;
    form->out_trade_no = NULL;

    for (i = 0; i < form->nelts; i++) {
        param = &form->param[i];
        d = param->name.data;

        switch (param->name.len) {

        case 4:
            if (ngx_memcmp(d, "sign", 4) == 0) {
                form->sign = param;
            }
            break;

        case 6:
            if (ngx_memcmp(d, "app_id", 6) == 0) {
                form->app_id = param;
            }
            break;

        case 9:
            if (ngx_memcmp(d, "timestamp", 9) == 0) {
                form->timestamp = param;

            } else if (ngx_memcmp(d, "nonce_str", 9) == 0) {
                form->nonce_str = param;

            } else if (ngx_memcmp(d, "sign_type", 9) == 0) {
                form->sign_type = param;
            }
            break;

        case 12:
            if (ngx_memcmp(d, "out_trade_no", 12) == 0) {
                form->out_trade_no = param;
            }
            break;

        default:
            break;
        }
    }
}


/* Builds the string to sign, from the sorted "form", in pool memory. */

ngx_int_t
ngx_http_paygw_form_string_to_sign(ngx_pool_t *pool,
    ngx_http_paygw_form_t *form, ngx_str_t *out)
{
    u_char                  *p;
    size_t                   len;
    ngx_uint_t               i;
    ngx_http_paygw_param_t  *param;

    param = form->param;
    len = 0;

    for (i = 0; i < form->nelts; i++) {
        len += param[i].name.len + 1 + param[i].value.len + 1;
    }

    out->data = ngx_pnalloc(pool, len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;

    for (i = 0; i < form->nelts; i++) {

        if (param[i].value.len == 0 || &param[i] == form->sign) {
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
 * Decodes one form-encoded token into *scratch (advanced past it).
 * NGX_DECLINED on a malformed %-escape.
 */

static ngx_int_t
ngx_http_paygw_form_decode(u_char *p, u_char *end, u_char **scratch,
    ngx_str_t *out)
{
    u_char  *s, *d, c, hi, lo;

    d = *scratch;
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
    *scratch = d;

    return NGX_OK;
}


/* 8 bytes as a little-endian word: the first byte is the lowest */

static ngx_inline uint64_t
ngx_http_paygw_load8(u_char *p)
{
    return (uint64_t) p[0] | (uint64_t) p[1] << 8 | (uint64_t) p[2] << 16
           | (uint64_t) p[3] << 24 | (uint64_t) p[4] << 32
           | (uint64_t) p[5] << 40 | (uint64_t) p[6] << 48
           | (uint64_t) p[7] << 56;
}


/*
 * The first 8 bytes of a name, big-endian, zero-padded: orders as memcmp.
 * "limit" ends the buffer the name lies in: 8 bytes are read at once when
 * they are inside it.
 */

static ngx_inline uint64_t
ngx_http_paygw_form_key(ngx_str_t *name, u_char *limit)
{
    size_t     i, n;
    u_char    *p;
    uint64_t   key;

    p = name->data;
    n = (name->len < 8) ? name->len : 8;

    if (limit - p >= 8) {
        key = (uint64_t) p[0] << 56 | (uint64_t) p[1] << 48
              | (uint64_t) p[2] << 40 | (uint64_t) p[3] << 32
              | (uint64_t) p[4] << 24 | (uint64_t) p[5] << 16
              | (uint64_t) p[6] << 8 | (uint64_t) p[7];

        return (n == 8) ? key : key & ~(~(uint64_t) 0 >> (8 * n));
    }

    key = 0;

    for (i = 0; i < n; i++) {
        key = (key << 8) | p[i];
    }

    return (n == 8) ? key : key << (8 * (8 - n));
}


/* byte order of the names (ngx_memn2cmp), the prefix first */

static ngx_inline ngx_int_t
ngx_http_paygw_param_less(ngx_http_paygw_param_t *a,
    ngx_http_paygw_param_t *b)
{
    if (a->key != b->key) {
        return a->key < b->key;
    }

    return ngx_memn2cmp(a->name.data, b->name.data, a->name.len, b->name.len)
           < 0;
}
