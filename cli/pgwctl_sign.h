/*
 * pgwctl_sign: scheme A of SPEC 3.1, as a caller computes it.
 *
 *   string_to_sign = METHOD "\n" PATH_AND_QUERY "\n" TIMESTAMP "\n" NONCE "\n"
 *                    BODY "\n"
 *   signature      = base64(HMAC-SHA256(app_secret, string_to_sign))
 *   Authorization: PAYGW-HMAC-SHA256 app_id="A1",timestamp="…",nonce="…",
 *                  signature="…"
 *
 * and the gateway's response signature
 *   Paygw-Signature = base64(HMAC-SHA256(app_secret, TS "\n" NONCE "\n" BODY "\n")).
 *
 * The secret is the literal key bytes; it is never copied by these functions.
 */
#ifndef PGWCTL_SIGN_H
#define PGWCTL_SIGN_H

#include <stddef.h>

#define PGWCTL_SIG_B64_LEN 44 /* base64 of 32 bytes, padded */
#define PGWCTL_NONCE_HEX 32   /* 16 random bytes */

enum pgwctl_rc { PGWCTL_OK = 0, PGWCTL_ERR = -1, PGWCTL_MISMATCH = -2 };

/* The request string to sign; returns new memory (free()), NULL on OOM. */
char *pgwctl_string_to_sign(const char *method, const char *path_query,
                            const char *timestamp, const char *nonce,
                            const char *body, size_t body_len,
                            size_t *out_len);

/* base64(HMAC-SHA256(key, msg)) into out[PGWCTL_SIG_B64_LEN + 1]. */
int pgwctl_hmac_b64(const char *key, size_t key_len, const void *msg,
                    size_t msg_len, char *out);

/* Signs a request; sig receives PGWCTL_SIG_B64_LEN chars + NUL. */
int pgwctl_sign_request(const char *secret, const char *method,
                        const char *path_query, const char *timestamp,
                        const char *nonce, const char *body, size_t body_len,
                        char *sig);

/* Formats the Authorization header value into buf[size]. */
int pgwctl_authorization(char *buf, size_t size, const char *app_id,
                         const char *timestamp, const char *nonce,
                         const char *sig);

/* Checks a response signature in constant time: PGWCTL_OK or
 * PGWCTL_MISMATCH (PGWCTL_ERR on a crypto failure). */
int pgwctl_verify_response(const char *secret, const char *timestamp,
                           const char *nonce, const char *body,
                           size_t body_len, const char *sig);

/* PGWCTL_NONCE_HEX random hex digits + NUL into out. */
int pgwctl_nonce(char *out);

#endif
