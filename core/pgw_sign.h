/*
 * pgw_sign.h — signatures paygwd makes towards the caller (SPEC §3.1/§3.5):
 * Paygw-Signature = base64(HMAC-SHA256(app_secret, TIMESTAMP\nNONCE\nBODY\n)).
 */

#ifndef PGW_SIGN_H
#define PGW_SIGN_H

#include <stddef.h>

/* out receives the base64 signature (at least 45 bytes) */
int pgw_sign_caller(const char *secret, size_t secret_len, const char *timestamp,
                    const char *nonce, const char *body, size_t body_len,
                    char *out, size_t outlen);
/* 16 random hex characters */
void pgw_sign_nonce(char out[17]);

#endif
