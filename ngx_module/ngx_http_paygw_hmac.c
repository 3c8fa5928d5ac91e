
/*
 * HMAC-SHA256 signatures.
 *
 * Each app's key is turned at configuration time into the two SHA-256
 * states HMAC starts from, after the blocks key^ipad and key^opad (RFC
 * 2104); a signature copies them to the stack, feeds the parts, each
 * followed by "\n" in the scheme A layout, and base64-encodes the 32-byte
 * MAC.  This is HMAC with the key schedule done once: no EVP context
 * duplication (a malloc and a free per copy in OpenSSL 3) per request,
 * and the same SHA-256 block code (SHA extensions where the CPU has them).
 * Besides these states, only the apps file's scheme B copy holds the
 * secret.
 */


/* the low-level SHA-256 calls, as nginx's own OpenSSL code does */
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#endif

#include "ngx_http_paygw_module.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>


struct ngx_http_paygw_hmac_key_s {
    SHA256_CTX   inner;             /* after (key ^ ipad) */
    SHA256_CTX   outer;             /* after (key ^ opad) */
};


/*
 * Creates the app's HMAC-SHA256 key states in pool memory; *out is wiped
 * by ngx_http_paygw_hmac_free_key().
 */

ngx_int_t
ngx_http_paygw_hmac_new_key(ngx_pool_t *pool, u_char *key, size_t len,
    ngx_http_paygw_hmac_key_t **out)
{
    u_char                      k[SHA256_CBLOCK], pad[SHA256_CBLOCK];
    ngx_int_t                   rc;
    ngx_uint_t                  i;
    ngx_http_paygw_hmac_key_t  *hk;

    hk = ngx_palloc(pool, sizeof(ngx_http_paygw_hmac_key_t));
    if (hk == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(k, sizeof(k));

    if (len > sizeof(k)) {
        if (SHA256(key, len, k) == NULL) {
            return NGX_ERROR;
        }

    } else {
        ngx_memcpy(k, key, len);
    }

    rc = NGX_ERROR;

    for (i = 0; i < sizeof(k); i++) {
        pad[i] = k[i] ^ 0x36;
    }

    if (!SHA256_Init(&hk->inner)
        || !SHA256_Update(&hk->inner, pad, sizeof(pad)))
    {
        goto done;
    }

    for (i = 0; i < sizeof(k); i++) {
        pad[i] = k[i] ^ 0x5c;
    }

    if (!SHA256_Init(&hk->outer)
        || !SHA256_Update(&hk->outer, pad, sizeof(pad)))
    {
        goto done;
    }

    *out = hk;
    rc = NGX_OK;

done:

    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));

    if (rc != NGX_OK) {
        OPENSSL_cleanse(hk, sizeof(ngx_http_paygw_hmac_key_t));
    }

    return rc;
}


void
ngx_http_paygw_hmac_free_key(ngx_http_paygw_hmac_key_t *hk)
{
    if (hk != NULL) {
        OPENSSL_cleanse(hk, sizeof(ngx_http_paygw_hmac_key_t));
    }
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
    u_char      ih[SHA256_DIGEST_LENGTH];
    ngx_int_t   rc;
    ngx_uint_t  i;
    SHA256_CTX  c;

    if (app->hmac == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;
    c = app->hmac->inner;

    for (i = 0; i < nparts; i++) {
        if (!SHA256_Update(&c, parts[i].data, parts[i].len)) {
            goto done;
        }

        if (newlines && !SHA256_Update(&c, "\n", 1)) {
            goto done;
        }
    }

    if (!SHA256_Final(ih, &c)) {
        goto done;
    }

    c = app->hmac->outer;

    if (!SHA256_Update(&c, ih, sizeof(ih)) || !SHA256_Final(md, &c)) {
        goto done;
    }

    rc = NGX_OK;

done:

    /* the copied states are as good as the key until data moved them */
    ngx_explicit_memzero(&c, sizeof(c));
    ngx_explicit_memzero(ih, sizeof(ih));

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

    ngx_explicit_memzero(md, sizeof(md));

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
