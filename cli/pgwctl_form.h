/*
 * pgwctl_form: scheme B of SPEC 3.1 as a caller computes it.
 *
 *   parameters      the request's fields (objects as compact JSON) plus
 *                   app_id, timestamp, nonce_str, sign_type
 *   string_to_sign  every non-empty parameter but sign, sorted by name in
 *                   byte order, joined as k=v&k=v (values not encoded)
 *   HMAC-SHA256     sign = uppercase hex HMAC-SHA256(secret,
 *                                                    string_to_sign "&key=" secret)
 *   RSA2            sign = base64 SHA256withRSA(string_to_sign)
 *   body            application/x-www-form-urlencoded (curl_easy_escape)
 */
#ifndef PGWCTL_FORM_H
#define PGWCTL_FORM_H

#include <stddef.h>

#include <jansson.h>

struct pgwctl_param {
    char *name;  /* owned */
    char *value; /* owned */
};

struct pgwctl_form {
    struct pgwctl_param *p;
    size_t n;
    size_t cap;
};

/* Copies name and value.  Returns 0, or -1 on OOM. */
int pgwctl_form_add(struct pgwctl_form *f, const char *name,
                    const char *value);

/* Adds every member of a JSON object: strings as they are, integers in
 * decimal, true/false, objects and arrays as compact JSON; null is
 * skipped.  Returns 0, or -1 (OOM, not an object, a real number). */
int pgwctl_form_add_json(struct pgwctl_form *f, const json_t *obj);

/* The string to sign, new memory (free()), NULL on OOM. */
char *pgwctl_form_string_to_sign(const struct pgwctl_form *f);

/* sign for sign_type=HMAC-SHA256 into out[65]; 0 or -1. */
int pgwctl_form_sign_hmac(const char *secret, const char *sts, char *out);

/* The url-encoded body, new memory (free()), NULL on OOM. */
char *pgwctl_form_body(const struct pgwctl_form *f);

void pgwctl_form_clear(struct pgwctl_form *f);

#endif
