
/*
 * HMAC-SHA256 signatures with OpenSSL 3 EVP_MAC.
 *
 * Each app gets one keyed EVP_MAC_CTX at configuration time; a signature
 * duplicates that template, feeds the parts each followed by "\n" (the
 * SPEC 3.1 string-to-sign layout) and base64-encodes the 32-byte MAC.
 * The secret itself is kept nowhere else.
 */


#include "ngx_http_paygw_module.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rand.h>


/* Creates a keyed HMAC-SHA256 template; *out is new, freed by the caller. */

ngx_int_t
ngx_http_paygw_hmac_new_key(u_char *key, size_t len, EVP_MAC_CTX **out)
{
    EVP_MAC      *mac;
    OSSL_PARAM    params[2];
    EVP_MAC_CTX  *ctx;

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) {
        return NGX_ERROR;
    }

    ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);

    if (ctx == NULL) {
        return NGX_ERROR;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    if (!EVP_MAC_init(ctx, key, len, params)) {
        EVP_MAC_CTX_free(ctx);
        return NGX_ERROR;
    }

    *out = ctx;

    return NGX_OK;
}


/*
 * Writes HMAC-SHA256(app secret, parts) into md (NGX_HTTP_PAYGW_MAC_LEN
 * bytes); with "newlines" every part is followed by "\n" (the scheme A
 * layout), otherwise the parts are concatenated (scheme B).
 */

ngx_int_t
ngx_http_paygw_hmac_raw(ngx_http_paygw_app_t *app, ngx_str_t *parts,
    ngx_uint_t nparts, ngx_uint_t newlines, u_char *md)
{
    size_t        mdlen;
    ngx_int_t     rc;
    ngx_uint_t    i;
    EVP_MAC_CTX  *ctx;

    ctx = EVP_MAC_CTX_dup(app->mac);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    for (i = 0; i < nparts; i++) {
        if (!EVP_MAC_update(ctx, parts[i].data, parts[i].len)) {
            goto done;
        }

        if (newlines && !EVP_MAC_update(ctx, (u_char *) "\n", 1)) {
            goto done;
        }
    }

    if (EVP_MAC_final(ctx, md, &mdlen, NGX_HTTP_PAYGW_MAC_LEN)
        && mdlen == NGX_HTTP_PAYGW_MAC_LEN)
    {
        rc = NGX_OK;
    }

done:

    EVP_MAC_CTX_free(ctx);

    return rc;
}


/*
 * Writes base64(HMAC-SHA256(app secret, part1 "\n" part2 "\n" ...)) into
 * b64, which must hold NGX_HTTP_PAYGW_MAC_B64_LEN bytes.
 */

ngx_int_t
ngx_http_paygw_hmac_sign(ngx_http_paygw_app_t *app, ngx_str_t *parts,
    ngx_uint_t nparts, u_char *b64)
{
    u_char     md[NGX_HTTP_PAYGW_MAC_LEN];
    ngx_int_t  rc;
    ngx_str_t  src, dst;

    rc = ngx_http_paygw_hmac_raw(app, parts, nparts, 1, md);

    if (rc == NGX_OK) {
        src.data = md;
        src.len = NGX_HTTP_PAYGW_MAC_LEN;
        dst.data = b64;

        ngx_encode_base64(&dst, &src);

        rc = (dst.len == NGX_HTTP_PAYGW_MAC_B64_LEN) ? NGX_OK : NGX_ERROR;
    }

    OPENSSL_cleanse(md, sizeof(md));

    return rc;
}


/* Writes NGX_HTTP_PAYGW_NONCE_LEN random hex digits into hex. */

ngx_int_t
ngx_http_paygw_nonce(u_char *hex)
{
    u_char  raw[NGX_HTTP_PAYGW_NONCE_LEN / 2];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NGX_ERROR;
    }

    ngx_hex_dump(hex, raw, sizeof(raw));

    return NGX_OK;
}
