/*
 * pgw_sign.c — HMAC-SHA256 signing of caller notifications with OpenSSL 3 EVP
 * (EVP_Q_mac), base64 via EVP_EncodeBlock. The string to sign is assembled in
 * one buffer exactly as SPEC §3.1 gives it, trailing newline included.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pgw_core.h"
#include "pgw_sign.h"


int
pgw_sign_caller(const char *secret, size_t secret_len, const char *timestamp,
                const char *nonce, const char *body, size_t body_len, char *out,
                size_t outlen)
{
    size_t ts_len = strlen(timestamp), nonce_len = strlen(nonce);
    size_t len = ts_len + nonce_len + body_len + 3;
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    char *msg;

    if (outlen < 45) {
        return PGW_ERR;
    }
    msg = malloc(len);
    if (msg == NULL) {
        return PGW_ERR;
    }
    memcpy(msg, timestamp, ts_len);
    msg[ts_len] = '\n';
    memcpy(msg + ts_len + 1, nonce, nonce_len);
    msg[ts_len + 1 + nonce_len] = '\n';
    memcpy(msg + ts_len + 2 + nonce_len, body, body_len);
    msg[len - 1] = '\n';
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len,
                  (unsigned char *) msg, len, mac, sizeof(mac), &mac_len)
        == NULL) {
        free(msg);
        return PGW_ERR;
    }
    free(msg);
    EVP_EncodeBlock((unsigned char *) out, mac, (int) mac_len);
    return PGW_OK;
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
