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
 *
 * RSA2 apps: the same strings, signed with RSA PKCS#1 v1.5 SHA-256 by the
 * app's private key (Authorization: PAYGW-SHA256-RSA2048 …); the gateway's
 * answers to them carry the same signature by the gateway's key, checked
 * with its public key.
 */
#ifndef PGWCTL_SIGN_H
#define PGWCTL_SIGN_H

#include <stddef.h>

#include <openssl/evp.h>

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

/* Loads a PEM RSA key of at least 2048 bits: the private key (PKCS#8 or
 * PKCS#1) or the public key (SubjectPublicKeyInfo).  New reference, or NULL
 * with err filled. */
EVP_PKEY *pgwctl_rsa_load(const char *file, int private_key, char *err,
                          size_t errlen);

/* base64(RSA PKCS#1 v1.5 SHA-256 signature of msg); new memory (free()),
 * NULL on failure. */
char *pgwctl_rsa_sign_b64(EVP_PKEY *key, const void *msg, size_t msg_len);

/* PGWCTL_OK, PGWCTL_MISMATCH, or PGWCTL_ERR. */
int pgwctl_rsa_verify_b64(EVP_PKEY *pub, const void *msg, size_t msg_len,
                          const char *sig_b64);

/* Scheme A with an RSA key: *sig receives new memory (free()). */
int pgwctl_sign_request_rsa(EVP_PKEY *key, const char *method,
                            const char *path_query, const char *timestamp,
                            const char *nonce, const char *body,
                            size_t body_len, char **sig);

/* "PAYGW-SHA256-RSA2048 app_id=…" into buf[size]. */
int pgwctl_authorization_rsa(char *buf, size_t size, const char *app_id,
                             const char *timestamp, const char *nonce,
                             const char *sig);

/* Checks a gateway RSA response signature: PGWCTL_OK / PGWCTL_MISMATCH /
 * PGWCTL_ERR. */
int pgwctl_verify_response_rsa(EVP_PKEY *gateway, const char *timestamp,
                               const char *nonce, const char *body,
                               size_t body_len, const char *sig);

/* PGWCTL_NONCE_HEX random hex digits + NUL into out. */
int pgwctl_nonce(char *out);

#endif
