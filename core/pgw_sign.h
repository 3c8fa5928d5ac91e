/*
 * pgw_sign.h — signatures paygwd makes towards the caller (SPEC §3.1/§3.5),
 * over string_to_sign = TIMESTAMP\nNONCE\nBODY\n:
 *   HMAC-SHA256 apps: Paygw-Signature = base64(HMAC-SHA256(app_secret, …))
 *   RSA2 apps:        Paygw-Signature = base64(RSA PKCS#1 v1.5 SHA-256
 *                                       signature by the gateway's key)
 */

#ifndef PGW_SIGN_H
#define PGW_SIGN_H

#include <stddef.h>

#include <openssl/evp.h>

/* big enough for the base64 of an RSA-8192 signature */
#define PGW_SIGN_MAX_B64 1400

/* out receives the base64 signature (at least 45 bytes) */
int pgw_sign_caller(const char *secret, size_t secret_len, const char *timestamp,
                    const char *nonce, const char *body, size_t body_len,
                    char *out, size_t outlen);
/* key: borrowed RSA private key; out receives the base64 signature (NUL
 * terminated); PGW_ERR if outlen is too small or signing fails */
int pgw_sign_caller_rsa(EVP_PKEY *key, const char *timestamp, const char *nonce,
                        const char *body, size_t body_len, char *out,
                        size_t outlen);
/* 16 random hex characters */
void pgw_sign_nonce(char out[17]);

#endif
