/*
 * pgwctl_sign: scheme-A request signing and response verification for
 * paygwctl (see pgwctl_sign.h).  OpenSSL 3 EVP_Q_mac, constant-time compare.
 */
#include "pgwctl_sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

static char *pgwctl__join(const char *const *parts, const size_t *lens,
                          size_t n, size_t *out_len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += lens[i] + 1;

    char *s = malloc(total + 1);
    if (s == NULL)
        return NULL;

    char *p = s;
    for (size_t i = 0; i < n; i++) {
        if (lens[i])
            memcpy(p, parts[i], lens[i]);
        p += lens[i];
        *p++ = '\n';
    }
    *p = '\0';
    *out_len = total;
    return s;
}

char *pgwctl_string_to_sign(const char *method, const char *path_query,
                            const char *timestamp, const char *nonce,
                            const char *body, size_t body_len,
                            size_t *out_len)
{
    const char *parts[5] = {method, path_query, timestamp, nonce,
                            body ? body : ""};
    size_t lens[5] = {strlen(method), strlen(path_query), strlen(timestamp),
                      strlen(nonce), body ? body_len : 0};

    return pgwctl__join(parts, lens, 5, out_len);
}

int pgwctl_hmac_b64(const char *key, size_t key_len, const void *msg,
                    size_t msg_len, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t md_len = 0;

    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, msg,
                  msg_len, md, sizeof(md), &md_len) == NULL ||
        md_len != 32)
        return PGWCTL_ERR;

    int n = EVP_EncodeBlock((unsigned char *)out, md, (int)md_len);
    OPENSSL_cleanse(md, sizeof(md));
    return n == PGWCTL_SIG_B64_LEN ? PGWCTL_OK : PGWCTL_ERR;
}

int pgwctl_sign_request(const char *secret, const char *method,
                        const char *path_query, const char *timestamp,
                        const char *nonce, const char *body, size_t body_len,
                        char *sig)
{
    size_t len;
    char *sts = pgwctl_string_to_sign(method, path_query, timestamp, nonce,
                                      body, body_len, &len);
    if (sts == NULL)
        return PGWCTL_ERR;

    int rc = pgwctl_hmac_b64(secret, strlen(secret), sts, len, sig);
    free(sts);
    return rc;
}

int pgwctl_authorization(char *buf, size_t size, const char *app_id,
                         const char *timestamp, const char *nonce,
                         const char *sig)
{
    int n = snprintf(buf, size,
                     "PAYGW-HMAC-SHA256 app_id=\"%s\",timestamp=\"%s\","
                     "nonce=\"%s\",signature=\"%s\"",
                     app_id, timestamp, nonce, sig);
    return (n > 0 && (size_t)n < size) ? PGWCTL_OK : PGWCTL_ERR;
}

int pgwctl_verify_response(const char *secret, const char *timestamp,
                           const char *nonce, const char *body,
                           size_t body_len, const char *sig)
{
    const char *parts[3] = {timestamp, nonce, body ? body : ""};
    size_t lens[3] = {strlen(timestamp), strlen(nonce), body ? body_len : 0};
    size_t len;
    char want[PGWCTL_SIG_B64_LEN + 1];

    char *sts = pgwctl__join(parts, lens, 3, &len);
    if (sts == NULL)
        return PGWCTL_ERR;

    int rc = pgwctl_hmac_b64(secret, strlen(secret), sts, len, want);
    free(sts);
    if (rc != PGWCTL_OK)
        return rc;

    if (strlen(sig) != PGWCTL_SIG_B64_LEN ||
        CRYPTO_memcmp(want, sig, PGWCTL_SIG_B64_LEN) != 0)
        return PGWCTL_MISMATCH;
    return PGWCTL_OK;
}

EVP_PKEY *pgwctl_rsa_load(const char *file, int private_key, char *err,
                          size_t errlen)
{
    FILE *fp = fopen(file, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "cannot open %s: %s", file, strerror(errno));
        return NULL;
    }
    EVP_PKEY *k = private_key ? PEM_read_PrivateKey(fp, NULL, NULL, NULL)
                              : PEM_read_PUBKEY(fp, NULL, NULL, NULL);
    fclose(fp);
    ERR_clear_error();
    if (k == NULL) {
        snprintf(err, errlen, "%s is not a PEM %s", file,
                 private_key ? "private key"
                             : "public key (SubjectPublicKeyInfo)");
        return NULL;
    }
    if (!EVP_PKEY_is_a(k, "RSA")) {
        snprintf(err, errlen, "%s is not an RSA key", file);
        EVP_PKEY_free(k);
        return NULL;
    }
    if (EVP_PKEY_get_bits(k) < 2048) {
        snprintf(err, errlen, "%s: RSA key of %d bits, at least 2048 required",
                 file, EVP_PKEY_get_bits(k));
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

char *pgwctl_rsa_sign_b64(EVP_PKEY *key, const void *msg, size_t msg_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig = NULL;
    char *b64 = NULL;
    size_t sig_len = 0;

    if (md == NULL ||
        EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, key, NULL) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_DigestSign(md, NULL, &sig_len, msg, msg_len) != 1)
        goto out;
    sig = malloc(sig_len);
    if (sig == NULL || EVP_DigestSign(md, sig, &sig_len, msg, msg_len) != 1)
        goto out;
    b64 = malloc((sig_len + 2) / 3 * 4 + 1);
    if (b64 != NULL)
        EVP_EncodeBlock((unsigned char *)b64, sig, (int)sig_len);
out:
    free(sig);
    EVP_MD_CTX_free(md);
    return b64;
}

int pgwctl_rsa_verify_b64(EVP_PKEY *pub, const void *msg, size_t msg_len,
                          const char *sig_b64)
{
    size_t b64_len = strlen(sig_b64);
    unsigned char *sig;
    int n, rc = PGWCTL_MISMATCH;

    if (b64_len == 0 || b64_len % 4 != 0 || b64_len > 4096)
        return PGWCTL_MISMATCH;
    sig = malloc(b64_len / 4 * 3);
    if (sig == NULL)
        return PGWCTL_ERR;
    n = EVP_DecodeBlock(sig, (const unsigned char *)sig_b64, (int)b64_len);
    if (n < 0) {
        free(sig);
        return PGWCTL_MISMATCH;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes */
    if (sig_b64[b64_len - 1] == '=')
        n--;
    if (sig_b64[b64_len - 2] == '=')
        n--;

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (md == NULL ||
        EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, pub, NULL) !=
            1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
        rc = PGWCTL_ERR;
    else if (EVP_DigestVerify(md, sig, (size_t)n, msg, msg_len) == 1)
        rc = PGWCTL_OK;
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    free(sig);
    return rc;
}

int pgwctl_sign_request_rsa(EVP_PKEY *key, const char *method,
                            const char *path_query, const char *timestamp,
                            const char *nonce, const char *body,
                            size_t body_len, char **sig)
{
    size_t len;
    char *sts = pgwctl_string_to_sign(method, path_query, timestamp, nonce,
                                      body, body_len, &len);
    if (sts == NULL)
        return PGWCTL_ERR;
    *sig = pgwctl_rsa_sign_b64(key, sts, len);
    free(sts);
    return *sig != NULL ? PGWCTL_OK : PGWCTL_ERR;
}

int pgwctl_authorization_rsa(char *buf, size_t size, const char *app_id,
                             const char *timestamp, const char *nonce,
                             const char *sig)
{
    int n = snprintf(buf, size,
                     "PAYGW-SHA256-RSA2048 app_id=\"%s\",timestamp=\"%s\","
                     "nonce=\"%s\",signature=\"%s\"",
                     app_id, timestamp, nonce, sig);
    return (n > 0 && (size_t)n < size) ? PGWCTL_OK : PGWCTL_ERR;
}

int pgwctl_verify_response_rsa(EVP_PKEY *gateway, const char *timestamp,
                               const char *nonce, const char *body,
                               size_t body_len, const char *sig)
{
    const char *parts[3] = {timestamp, nonce, body ? body : ""};
    size_t lens[3] = {strlen(timestamp), strlen(nonce), body ? body_len : 0};
    size_t len;
    char *sts = pgwctl__join(parts, lens, 3, &len);

    if (sts == NULL)
        return PGWCTL_ERR;
    int rc = pgwctl_rsa_verify_b64(gateway, sts, len, sig);
    free(sts);
    return rc;
}

int pgwctl_nonce(char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[PGWCTL_NONCE_HEX / 2];

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return PGWCTL_ERR;
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 0xf];
    }
    out[PGWCTL_NONCE_HEX] = '\0';
    return PGWCTL_OK;
}
