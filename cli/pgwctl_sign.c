/*
 * pgwctl_sign: scheme-A request signing and response verification for
 * paygwctl (see pgwctl_sign.h).  OpenSSL 3 EVP_Q_mac, constant-time compare.
 */
#include "pgwctl_sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

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
