
/*
 * HMAC-SHA256 signatures with OpenSSL 3 EVP_MAC.
 *
 * Each app gets one keyed EVP_MAC_CTX at configuration time; a signature
 * restarts it (same key), feeds the parts, each followed by "\n" in the
 * scheme A layout, and base64-encodes the 32-byte MAC.  Besides the
 * context, only the apps file's scheme B copy holds the secret.
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
    ngx_uint_t    i;
    EVP_MAC_CTX  *ctx;

    /*
     * The app's keyed context is reused: a worker is single-threaded and
     * owns its copy of the configuration, and EVP_MAC_init() with no key
     * restarts HMAC with the key it holds (no allocation per request).
     */

    ctx = app->mac;

    if (!EVP_MAC_init(ctx, NULL, 0, NULL)) {
        return NGX_ERROR;
    }

    for (i = 0; i < nparts; i++) {
        if (!EVP_MAC_update(ctx, parts[i].data, parts[i].len)) {
            return NGX_ERROR;
        }

        if (newlines && !EVP_MAC_update(ctx, (u_char *) "\n", 1)) {
            return NGX_ERROR;
        }
    }

    if (!EVP_MAC_final(ctx, md, &mdlen, NGX_HTTP_PAYGW_MAC_LEN)
        || mdlen != NGX_HTTP_PAYGW_MAC_LEN)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
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


/*
 * Writes NGX_HTTP_PAYGW_NONCE_LEN hex digits into hex: 8 random digits
 * drawn once per process, then a per-process counter.  A response nonce
 * must be unique, not secret; this keeps RAND_bytes() (and its lock) off
 * the per-response path.
 */

ngx_int_t
ngx_http_paygw_nonce(u_char *hex)
{
    u_char            raw[4];

    static uint32_t   counter;
    static ngx_pid_t  owner;
    static u_char     prefix[8];

    if (owner != ngx_pid || counter == 0xffffffff) {
        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            return NGX_ERROR;
        }

        ngx_hex_dump(prefix, raw, sizeof(raw));
        owner = ngx_pid;
        counter = 0;
    }

    counter++;

    raw[0] = (u_char) (counter >> 24);
    raw[1] = (u_char) (counter >> 16);
    raw[2] = (u_char) (counter >> 8);
    raw[3] = (u_char) counter;

    ngx_memcpy(hex, prefix, sizeof(prefix));
    ngx_hex_dump(hex + sizeof(prefix), raw, sizeof(raw));

    return NGX_OK;
}
