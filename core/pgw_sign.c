/*
 * pgw_sign.c — signing of caller notifications with OpenSSL 3 EVP: HMAC-SHA256
 * (EVP_Q_mac) for HMAC apps, RSA PKCS#1 v1.5 SHA-256 (EVP_DigestSign) with the
 * gateway's key for RSA2 apps; base64 via EVP_EncodeBlock. The string to sign
 * is assembled in one buffer exactly as SPEC §3.1 gives it, trailing newline
 * included.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "pgw_core.h"
#include "pgw_sign.h"


/* TIMESTAMP\nNONCE\nBODY\n in new memory (free()), NULL on OOM */
static unsigned char *
pgw__string_to_sign(const char *timestamp, const char *nonce, const char *body,
                    size_t body_len, size_t *out_len)
{
    size_t ts_len = strlen(timestamp), nonce_len = strlen(nonce);
    size_t len = ts_len + nonce_len + body_len + 3;
    unsigned char *msg = malloc(len);

    if (msg == NULL) {
        return NULL;
    }
    memcpy(msg, timestamp, ts_len);
    msg[ts_len] = '\n';
    memcpy(msg + ts_len + 1, nonce, nonce_len);
    msg[ts_len + 1 + nonce_len] = '\n';
    if (body_len > 0) {
        memcpy(msg + ts_len + 2 + nonce_len, body, body_len);
    }
    msg[len - 1] = '\n';
    *out_len = len;
    return msg;
}


int
pgw_sign_caller(const char *secret, size_t secret_len, const char *timestamp,
                const char *nonce, const char *body, size_t body_len, char *out,
                size_t outlen)
{
    unsigned char mac[EVP_MAX_MD_SIZE], *msg;
    size_t mac_len = 0, len;

    if (outlen < 45) {
        return PGW_ERR;
    }
    msg = pgw__string_to_sign(timestamp, nonce, body, body_len, &len);
    if (msg == NULL) {
        return PGW_ERR;
    }
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len, msg,
                  len, mac, sizeof(mac), &mac_len)
        == NULL) {
        free(msg);
        return PGW_ERR;
    }
    free(msg);
    EVP_EncodeBlock((unsigned char *) out, mac, (int) mac_len);
    return PGW_OK;
}


int
pgw_sign_caller_rsa(EVP_PKEY *key, const char *timestamp, const char *nonce,
                    const char *body, size_t body_len, char *out, size_t outlen)
{
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *msg = NULL, *sig = NULL;
    size_t len, sig_len = 0;
    int rc = PGW_ERR;

    if (key == NULL) {
        return PGW_ERR;
    }
    msg = pgw__string_to_sign(timestamp, nonce, body, body_len, &len);
    md = EVP_MD_CTX_new();
    if (msg == NULL || md == NULL
        || EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, key, NULL) != 1
        || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1
        || EVP_DigestSign(md, NULL, &sig_len, msg, len) != 1) {
        goto out;
    }
    /* base64 grows 3 bytes into 4, plus the NUL */
    if ((sig_len + 2) / 3 * 4 + 1 > outlen) {
        goto out;
    }
    sig = malloc(sig_len);
    if (sig == NULL || EVP_DigestSign(md, sig, &sig_len, msg, len) != 1) {
        goto out;
    }
    EVP_EncodeBlock((unsigned char *) out, sig, (int) sig_len);
    rc = PGW_OK;

out:
    free(sig);
    free(msg);
    EVP_MD_CTX_free(md);
    return rc;
}


void
pgw_sign_nonce(char out[17])
{
    unsigned char r[8];

    RAND_bytes(r, sizeof(r));
    for (int i = 0; i < 8; i++) {
        snprintf(out + i * 2, 3, "%02x", r[i]);
    }
}
