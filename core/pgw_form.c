/*
 * pgw_form.c — scheme B form bodies to the JSON request of the caller API.
 *
 * The body is split on '&' and the first '=' (a name alone has an empty
 * value, like the front's parser); '+' becomes a space and %XX
 * escapes are decoded by libcurl (curl_easy_unescape) after a strict check
 * that every '%' starts a two-hex-digit escape. A decoded NUL, invalid UTF-8
 * or a repeated name is refused: the JSON request must say exactly what the
 * signed form said.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "pgw_core.h"
#include "pgw_form.h"


int
pgw_form_is_form(const char *ct)
{
    static const char form[] = "application/x-www-form-urlencoded";
    size_t n = sizeof(form) - 1;

    if (ct == NULL) {
        return 0;
    }
    while (*ct == ' ' || *ct == '\t') {
        ct++;
    }
    return strncasecmp(ct, form, n) == 0
           && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}


/* decodes s[0..len) into new memory; NULL on a malformed escape or a NUL */
static char *
pgw__decode(const char *s, size_t len)
{
    char *plus, *out;
    int out_len = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && (i + 2 >= len || !isxdigit((unsigned char) s[i + 1])
                            || !isxdigit((unsigned char) s[i + 2]))) {
            return NULL;
        }
    }
    plus = malloc(len + 1);
    if (plus == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        plus[i] = s[i] == '+' ? ' ' : s[i];
    }
    plus[len] = '\0';
    out = curl_easy_unescape(NULL, plus, (int) len, &out_len);
    free(plus);
    if (out == NULL) {
        return NULL;
    }
    if (strlen(out) != (size_t) out_len) {
        curl_free(out);
        return NULL;
    }
    return out;
}


/* -?[0-9]{1,18}, nothing else */
static int
pgw__integer(const char *s, json_int_t *out)
{
    const char *p = s + (s[0] == '-');
    size_t n = strlen(p);

    if (n == 0 || n > 18) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }
    *out = (json_int_t) strtoll(s, NULL, 10);
    return 1;
}


/* the typed JSON value of one parameter; NULL with why */
static json_t *
pgw__value(const char *name, const char *value, char *why, size_t whylen)
{
    json_int_t i;
    json_t *j;

    if (strcmp(name, "amount") == 0 || strcmp(name, "expire_seconds") == 0) {
        if (!pgw__integer(value, &i)) {
            snprintf(why, whylen, "%s: an integer", name);
            return NULL;
        }
        return json_integer(i);
    }
    if (strcmp(name, "sync") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            snprintf(why, whylen, "sync: true or false");
            return NULL;
        }
        return json_boolean(strcmp(value, "true") == 0);
    }
    if (strcmp(name, "payer") == 0 || strcmp(name, "extra") == 0) {
        j = json_loads(value, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(j)) {
            json_decref(j);
            snprintf(why, whylen, "%s: a JSON object", name);
            return NULL;
        }
        return j;
    }
    j = json_string(value);
    if (j == NULL) {
        snprintf(why, whylen, "%s: not valid UTF-8", name);
    }
    return j;
}


json_t *
pgw_form_request(const char *body, size_t len, char *app_id_out,
                 size_t app_id_len, char *why, size_t whylen)
{
    static const char *const sig_params[] = {
        "app_id", "timestamp", "nonce_str", "sign_type", "sign", NULL
    };
    json_t *req = json_object(), *seen = json_object();
    const char *p = body, *end = body + len;

    if (app_id_len > 0) {
        app_id_out[0] = '\0';
    }
    if (req == NULL || seen == NULL) {
        snprintf(why, whylen, "out of memory");
        goto failed;
    }
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t) (end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t) (stop - p));
        char *name = NULL, *value = NULL;
        int sig = 0;

        if (stop == p) {            /* "a=1&&b=2", a trailing '&' */
            p = stop + 1;
            continue;
        }
        if (eq == NULL) {
            eq = stop;              /* "name" alone: an empty value */
        }
        if (eq == p) {
            snprintf(why, whylen, "form body: a parameter without a name");
            goto failed;
        }
        name = pgw__decode(p, (size_t) (eq - p));
        value = eq < stop ? pgw__decode(eq + 1, (size_t) (stop - eq - 1))
                          : pgw__decode("", 0);
        if (name == NULL || value == NULL) {
            snprintf(why, whylen, "form body: malformed %%-escape or NUL");
            curl_free(name);
            curl_free(value);
            goto failed;
        }
        p = amp ? amp + 1 : end;
        if (json_object_get(seen, name) != NULL) {
            snprintf(why, whylen, "form body: parameter %.64s given twice",
                     name);
            curl_free(name);
            curl_free(value);
            goto failed;
        }
        json_object_set_new(seen, name, json_true());
        for (int i = 0; sig_params[i]; i++) {
            sig |= strcmp(name, sig_params[i]) == 0;
        }
        if (sig && strcmp(name, "app_id") == 0 && app_id_len > 0) {
            snprintf(app_id_out, app_id_len, "%s", value);
        }
        if (!sig && value[0] != '\0') {
            json_t *v = pgw__value(name, value, why, whylen);
            if (v == NULL || json_object_set_new(req, name, v) != 0) {
                if (v != NULL) {
                    snprintf(why, whylen, "form body: bad parameter name");
                }
                curl_free(name);
                curl_free(value);
                goto failed;
            }
        }
        curl_free(name);
        curl_free(value);
    }
    json_decref(seen);
    return req;

failed:
    json_decref(seen);
    json_decref(req);
    return NULL;
}
