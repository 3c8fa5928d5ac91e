/*
 * pgw_apps.h — the callers (apps) registry read from the apps file
 * (docs/apps-file.md): app_id, key type and key. The core needs it to sign
 * notifications to the caller (SPEC §3.5); the nginx module reads the same
 * file for request verification and limits, paygwctl for signing.
 *
 * paygwd reads app_id, key_type and key, and checks the options' syntax
 * (apis=, rate=, burst=, rate.API=, burst.API=, concurrency=) without
 * applying them: limits are the front's business.
 */

#ifndef PGW_APPS_H
#define PGW_APPS_H

#include <stddef.h>

#include <openssl/evp.h>

enum pgw_key_type {
    PGW_KEY_HMAC_SHA256 = 1,   /* key = shared secret, literal bytes */
    PGW_KEY_RSA2               /* key = the app's RSA public key (PEM) */
};

struct pgw_app {
    char app_id[65];
    enum pgw_key_type key_type;
    char secret[256];          /* HMAC-SHA256 only */
    size_t secret_len;
    EVP_PKEY *pubkey;          /* RSA2 only: owned by the registry */
};

struct pgw_apps;

/* new: NULL with "<file>:<line>: <msg>" in err on a malformed file. RSA2 key
 * paths are taken relative to the apps file's directory and must load as an
 * RSA public key of 2048 bits or more. */
struct pgw_apps *pgw_apps_load(const char *path, char *err, size_t errlen);
void pgw_apps_free(struct pgw_apps *apps);
const struct pgw_app *pgw_apps_find(const struct pgw_apps *apps,
                                    const char *app_id); /* borrowed */
/* 1 when some app has key type RSA2 (its notifications need sign_key) */
int pgw_apps_have_rsa(const struct pgw_apps *apps);

/* Loads a PEM RSA key (public: SubjectPublicKeyInfo or PKCS#1; private:
 * PKCS#8 or PKCS#1) and checks it is RSA with at least min_bits. New
 * reference, NULL with a message (no file name) in err. */
EVP_PKEY *pgw_rsa_load_pem(const char *file, int private_key, int min_bits,
                           char *err, size_t errlen);

#endif
