/*
 * pgwctl_form: scheme B form building and signing for paygwctl (see
 * pgwctl_form.h).  OpenSSL 3 EVP_Q_mac for the HMAC, libcurl for the
 * percent-encoding.
 */
#include "pgwctl_form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

int pgwctl_form_add(struct pgwctl_form *f, const char *name,
                    const char *value)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        struct pgwctl_param *p = realloc(f->p, cap * sizeof(*p));
        if (p == NULL)
            return -1;
        f->p = p;
        f->cap = cap;
    }
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    f->p[f->n].name = n;
    f->p[f->n].value = v;
    f->n++;
    return 0;
}

int pgwctl_form_add_json(struct pgwctl_form *f, const json_t *obj)
{
    const char *key;
    json_t *v;

    if (!json_is_object(obj))
        return -1;
    json_object_foreach((json_t *)obj, key, v) {
        char num[32];
        char *dump = NULL;
        const char *s;
        int rc;

        if (json_is_null(v))
            continue;
        if (json_is_string(v)) {
            s = json_string_value(v);
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));
            s = num;
        } else if (json_is_boolean(v)) {
            s = json_is_true(v) ? "true" : "false";
        } else if (json_is_object(v) || json_is_array(v)) {
            dump = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (dump == NULL)
                return -1;
            s = dump;
        } else {
            return -1;
        }
        rc = pgwctl_form_add(f, key, s);
        free(dump);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int pgwctl__by_name(const void *a, const void *b)
{
    const struct pgwctl_param *x = a, *y = b;
    return strcmp(x->name, y->name); /* byte order */
}

char *pgwctl_form_string_to_sign(const struct pgwctl_form *f)
{
    struct pgwctl_param *sorted = malloc((f->n ? f->n : 1) * sizeof(*sorted));
    size_t len = 1;
    char *s, *p;

    if (sorted == NULL)
        return NULL;
    if (f->n)
        memcpy(sorted, f->p, f->n * sizeof(*sorted));
    qsort(sorted, f->n, sizeof(*sorted), pgwctl__by_name);
    for (size_t i = 0; i < f->n; i++)
        len += strlen(sorted[i].name) + strlen(sorted[i].value) + 2;
    s = malloc(len);
    if (s == NULL) {
        free(sorted);
        return NULL;
    }
    p = s;
    for (size_t i = 0; i < f->n; i++) {
        if (sorted[i].value[0] == '\0' || strcmp(sorted[i].name, "sign") == 0)
            continue;
        p += snprintf(p, len - (size_t)(p - s), "%s%s=%s", p == s ? "" : "&",
                      sorted[i].name, sorted[i].value);
    }
    *p = '\0';
    free(sorted);
    return s;
}

int pgwctl_form_sign_hmac(const char *secret, const char *sts, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t slen = strlen(secret), len = strlen(sts) + 5 + slen;
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t md_len = 0;
    char *msg = malloc(len + 1);

    if (msg == NULL)
        return -1;
    snprintf(msg, len + 1, "%s&key=%s", sts, secret);
    void *ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, slen,
                         (unsigned char *)msg, len, md, sizeof(md), &md_len);
    OPENSSL_cleanse(msg, len);
    free(msg);
    if (ok == NULL || md_len != 32)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[64] = '\0';
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

char *pgwctl_form_body(const struct pgwctl_form *f)
{
    size_t len = 1, used = 0;
    char *body = malloc(len);

    if (body == NULL)
        return NULL;
    body[0] = '\0';
    for (size_t i = 0; i < f->n; i++) {
        char *n = curl_easy_escape(NULL, f->p[i].name, 0);
        char *v = curl_easy_escape(NULL, f->p[i].value, 0);
        char *grown = NULL;
        if (n != NULL && v != NULL) {
            len += strlen(n) + strlen(v) + 2;
            grown = realloc(body, len);
        }
        if (grown == NULL) {
            curl_free(n);
            curl_free(v);
            free(body);
            return NULL;
        }
        body = grown;
        used += (size_t)snprintf(body + used, len - used, "%s%s=%s",
                                 i ? "&" : "", n, v);
        curl_free(n);
        curl_free(v);
    }
    return body;
}

void pgwctl_form_clear(struct pgwctl_form *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->p[i].name);
        OPENSSL_cleanse(f->p[i].value, strlen(f->p[i].value));
        free(f->p[i].value);
    }
    free(f->p);
    memset(f, 0, sizeof(*f));
}
