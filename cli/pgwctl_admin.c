/*
 * pgwctl_admin: one exchange with paygwd's admin API (bearer token) for the
 * commands that only read or change state there (notify, review): errors
 * are printed, a 2xx JSON answer is handed back.
 */
#include "pgwctl.h"

#include <stdio.h>
#include <string.h>

int pgwctl_admin_call(const struct pgwctl_opts *o, const char *method,
                      const char *path_query, const char *body, json_t **out)
{
    char url[2048], auth[1024], err[1024];
    size_t blen = strlen(o->admin_url);
    struct pgwctl_response res;
    json_error_t jerr;
    int rc = PGWCTL_EXIT_FAIL;

    *out = NULL;
    if (o->admin_token == NULL || o->admin_token[0] == '\0') {
        fprintf(stderr, "paygwctl: no admin token (use -T or "
                        "PAYGW_ADMIN_TOKEN)\n");
        return PGWCTL_EXIT_FAIL;
    }
    while (blen > 0 && o->admin_url[blen - 1] == '/')
        blen--;
    int n = snprintf(url, sizeof(url), "%.*s%s", (int)blen, o->admin_url,
                     path_query);
    int m = snprintf(auth, sizeof(auth), "Bearer %s", o->admin_token);
    if (n < 0 || (size_t)n >= sizeof(url) || m < 0 ||
        (size_t)m >= sizeof(auth)) {
        fprintf(stderr, "paygwctl: admin URL or token too long\n");
        return PGWCTL_EXIT_FAIL;
    }
    struct pgwctl_request req = {
        .method = method,
        .url = url,
        .authorization = auth,
        .content_type = body ? "application/json" : NULL,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .timeout_s = o->timeout_s,
        .verbose = o->verbose > 1,
    };
    if (pgwctl_http_do(&req, &res, err, sizeof(err)) != 0) {
        fprintf(stderr, "paygwctl: %s\n", err);
        return PGWCTL_EXIT_FAIL;
    }
    json_t *v = json_loadb(res.body, res.len, 0, &jerr);
    if (res.status == 401 || res.status == 403) {
        fprintf(stderr, "paygwctl: the admin API refused the token "
                        "(HTTP %ld)\n", res.status);
    } else if (res.status < 200 || res.status > 299) {
        const json_t *e = json_object_get(v, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (code != NULL)
            fprintf(stderr, "paygwctl: error %s: %s\n", code,
                    msg ? msg : "(no message)");
        else
            fprintf(stderr, "paygwctl: HTTP %ld: %.300s\n", res.status,
                    res.body);
    } else if (v == NULL) {
        fprintf(stderr, "paygwctl: the admin answer is not JSON: %s\n",
                jerr.text);
    } else {
        *out = v;
        v = NULL;
        rc = PGWCTL_EXIT_OK;
    }
    json_decref(v);
    pgwctl_response_clear(&res);
    return rc;
}
