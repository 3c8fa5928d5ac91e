
/*
 * SHA256withRSA (RSA PKCS#1 v1.5 over SHA-256) with OpenSSL 3 EVP:
 * loading an app's public key or the gateway's private key from PEM at
 * configuration time, verifying request signatures (SPEC 3.1 scheme A
 * PAYGW-SHA256-RSA2048 and scheme B sign_type=RSA2) and signing responses
 * for RSA apps with the gateway key.
 *
 * A message is given as parts; with "newlines" each part is followed by
 * "\n" (the scheme A layout), without it they are simply concatenated.
 * Keys shorter than 2048 bits are refused.
 */


#include "ngx_http_paygw_module.h"

#include <openssl/pem.h>
#include <openssl/err.h>


static ngx_int_t ngx_http_paygw_rsa_feed(EVP_MD_CTX *md, ngx_str_t *parts,
    ngx_uint_t nparts, ngx_uint_t newlines, ngx_uint_t sign);


/*
 * Reads a PEM key (relative names from the configuration prefix); returns
 * a new EVP_PKEY the caller frees, or NULL after logging why.
 */

EVP_PKEY *
ngx_http_paygw_rsa_load(ngx_conf_t *cf, ngx_str_t *file, ngx_uint_t private)
{
    BIO        *bio;
    EVP_PKEY   *pkey;
    ngx_str_t   name;

    name = *file;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NULL;
    }

    bio = BIO_new_file((char *) name.data, "r");
    if (bio == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot open the key file \"%V\"", &name);
        ERR_clear_error();
        return NULL;
    }

    pkey = private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                   : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);

    BIO_free(bio);

    if (pkey == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is not a PEM %s key", &name,
                           private ? "private" : "public (SubjectPublicKeyInfo)");
        ERR_clear_error();
        return NULL;
    }

    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA
        || EVP_PKEY_get_bits(pkey) < 2048)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is not an RSA key of 2048 bits or more",
                           &name);
        EVP_PKEY_free(pkey);
        return NULL;
    }

    return pkey;
}


/* Returns NGX_OK if b64sig is a valid signature, NGX_DECLINED if not. */

ngx_int_t
ngx_http_paygw_rsa_verify(EVP_PKEY *pkey, ngx_str_t *parts, ngx_uint_t nparts,
    ngx_uint_t newlines, ngx_str_t *b64sig)
{
    u_char       sig[NGX_HTTP_PAYGW_MAX_SIGNATURE];
    ngx_int_t    rc;
    ngx_str_t    raw;
    EVP_MD_CTX  *md;

    if (ngx_base64_decoded_length(b64sig->len) > sizeof(sig)) {
        return NGX_DECLINED;
    }

    raw.data = sig;

    if (ngx_decode_base64(&raw, b64sig) != NGX_OK) {
        return NGX_DECLINED;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_DECLINED;

    if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1
        && ngx_http_paygw_rsa_feed(md, parts, nparts, newlines, 0) == NGX_OK
        && EVP_DigestVerifyFinal(md, raw.data, raw.len) == 1)
    {
        rc = NGX_OK;
    }

    EVP_MD_CTX_free(md);
    ERR_clear_error();

    return rc;
}


/* Signs with the gateway key; b64sig receives base64 from "pool". */

ngx_int_t
ngx_http_paygw_rsa_sign(ngx_pool_t *pool, EVP_PKEY *pkey, ngx_str_t *parts,
    ngx_uint_t nparts, ngx_str_t *b64sig)
{
    u_char       sig[1024];
    size_t       len;
    ngx_int_t    rc;
    ngx_str_t    raw;
    EVP_MD_CTX  *md;

    if ((size_t) EVP_PKEY_get_size(pkey) > sizeof(sig)) {
        return NGX_ERROR;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;
    len = sizeof(sig);

    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1
        || ngx_http_paygw_rsa_feed(md, parts, nparts, 1, 1) != NGX_OK
        || EVP_DigestSignFinal(md, sig, &len) != 1)
    {
        goto done;
    }

    raw.data = sig;
    raw.len = len;

    b64sig->data = ngx_pnalloc(pool, ngx_base64_encoded_length(len));
    if (b64sig->data == NULL) {
        goto done;
    }

    ngx_encode_base64(b64sig, &raw);
    rc = NGX_OK;

done:

    EVP_MD_CTX_free(md);
    ERR_clear_error();

    return rc;
}


static ngx_int_t
ngx_http_paygw_rsa_feed(EVP_MD_CTX *md, ngx_str_t *parts, ngx_uint_t nparts,
    ngx_uint_t newlines, ngx_uint_t sign)
{
    int         ok;
    ngx_uint_t  i;

    for (i = 0; i < nparts; i++) {
        ok = sign ? EVP_DigestSignUpdate(md, parts[i].data, parts[i].len)
                  : EVP_DigestVerifyUpdate(md, parts[i].data, parts[i].len);

        if (ok == 1 && newlines) {
            ok = sign ? EVP_DigestSignUpdate(md, "\n", 1)
                      : EVP_DigestVerifyUpdate(md, "\n", 1);
        }

        if (ok != 1) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
