/*
 * pgwctl_caller: signed requests to the caller API (SPEC 3.1) and the check
 * of every response's Paygw-Signature.  A 2xx response whose signature is
 * missing or wrong is a failure: its content cannot be trusted.
 */
#include "pgwctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgwctl_apps.h"
#include "pgwctl_sign.h"

int pgwctl_caller_open(struct pgwctl_caller *c, const struct pgwctl_opts *o)
{
    char err[512];

    memset(c, 0, sizeof(*c));
    c->opts = o;

    if (o->app_id == NULL || o->app_id[0] == '\0') {
        fprintf(stderr, "paygwctl: no app id (use -a or PAYGW_APP_ID)\n");
        return -1;
    }
    if (o->secret != NULL) {
        c->secret = strdup(o->secret);
        if (c->secret == NULL) {
            fprintf(stderr, "paygwctl: out of memory\n");
            return -1;
        }
    } else if (pgwctl_apps_secret(o->apps_file, o->app_id, &c->secret, err,
                                  sizeof(err)) != 0) {
        fprintf(stderr, "paygwctl: %s (use --apps FILE or -s SECRET)\n", err);
        return -1;
    }

    c->base_path = pgwctl_url_base_path(o->url);
    if (c->base_path == NULL) {
        fprintf(stderr, "paygwctl: invalid gateway URL \"%s\"\n", o->url);
        pgwctl_caller_close(c);
        return -1;
    }
    return 0;
}

void pgwctl_caller_close(struct pgwctl_caller *c)
{
    pgwctl_secret_free(c->secret);
    free(c->base_path);
    c->secret = NULL;
    c->base_path = NULL;
}

/* "verified", "MISSING" or "INVALID"; returns 1 when verified. */
static int pgwctl__check_signature(struct pgwctl_caller *c,
                                   const struct pgwctl_response *res,
                                   const char **state)
{
    if (res->paygw_timestamp == NULL || res->paygw_nonce == NULL ||
        res->paygw_signature == NULL) {
        *state = "response NOT signed";
        return 0;
    }
    int rc = pgwctl_verify_response(c->secret, res->paygw_timestamp,
                                    res->paygw_nonce, res->body, res->len,
                                    res->paygw_signature);
    if (rc != PGWCTL_OK) {
        *state = rc == PGWCTL_MISMATCH ? "response signature INVALID"
                                       : "response signature not checkable";
        return 0;
    }

    char *end;
    long long ts = strtoll(res->paygw_timestamp, &end, 10);
    long long skew = ts - (long long)time(NULL);
    if (*end != '\0' || skew > 300 || skew < -300) {
        *state = "response signature valid but its timestamp is off by "
                 "more than 300 s";
        return 0;
    }
    *state = "response signature verified";
    return 1;
}

int pgwctl_caller_call(struct pgwctl_caller *c, const char *method,
                       const char *path_query, const char *body,
                       long timeout_s, struct pgwctl_response *res,
                       json_t **json)
{
    const struct pgwctl_opts *o = c->opts;
    char ts[32], nonce[PGWCTL_NONCE_HEX + 1], sig[PGWCTL_SIG_B64_LEN + 1];
    char auth[1024], err[1024];
    size_t body_len = body ? strlen(body) : 0;

    *json = NULL;
    memset(res, 0, sizeof(*res));

    size_t plen = strlen(c->base_path) + strlen(path_query) + 1;
    size_t ulen = strlen(o->url) + strlen(path_query) + 1;
    char *signed_path = malloc(plen);
    char *url = malloc(ulen);
    if (signed_path == NULL || url == NULL) {
        free(signed_path);
        free(url);
        fprintf(stderr, "paygwctl: out of memory\n");
        return 1;
    }
    snprintf(signed_path, plen, "%s%s", c->base_path, path_query);
    size_t blen = strlen(o->url);
    while (blen > 0 && o->url[blen - 1] == '/')
        blen--;
    snprintf(url, ulen, "%.*s%s", (int)blen, o->url, path_query);

    snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
    int rc = 1;
    if (pgwctl_nonce(nonce) != PGWCTL_OK ||
        pgwctl_sign_request(c->secret, method, signed_path, ts, nonce, body,
                            body_len, sig) != PGWCTL_OK ||
        pgwctl_authorization(auth, sizeof(auth), o->app_id, ts, nonce, sig) !=
            PGWCTL_OK) {
        fprintf(stderr, "paygwctl: cannot sign the request\n");
        goto out;
    }

    if (o->verbose)
        fprintf(stderr, "> %s %s (app %s, timestamp %s, nonce %s)\n", method,
                signed_path, o->app_id, ts, nonce);

    struct pgwctl_request req = {
        .method = method,
        .url = url,
        .authorization = auth,
        .content_type = body ? "application/json" : NULL,
        .body = body,
        .body_len = body_len,
        .timeout_s = timeout_s,
        .verbose = o->verbose > 1,
    };
    if (pgwctl_http_do(&req, res, err, sizeof(err)) != 0) {
        fprintf(stderr, "paygwctl: %s\n", err);
        goto out;
    }

    json_error_t jerr;
    *json = json_loadb(res->body, res->len, 0, &jerr);

    const char *state;
    int verified = pgwctl__check_signature(c, res, &state);
    printf("%s %s -> HTTP %ld (%s)\n", method, signed_path, res->status,
           state);

    if (res->status < 200 || res->status > 299) {
        json_t *e = *json ? json_object_get(*json, "error") : NULL;
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (code != NULL)
            fprintf(stderr, "paygwctl: error %s: %s\n", code,
                    msg ? msg : "(no message)");
        else
            fprintf(stderr, "paygwctl: HTTP %ld: %.300s\n", res->status,
                    res->body);
        if (res->retry_after != NULL)
            fprintf(stderr, "paygwctl: retry after %s s\n", res->retry_after);
        goto out;
    }
    if (!verified) {
        fprintf(stderr, "paygwctl: not trusting this response: %s\n", state);
        goto out;
    }
    if (*json == NULL) {
        fprintf(stderr, "paygwctl: response is not JSON: %s\n", jerr.text);
        goto out;
    }
    rc = 0;

out:
    free(signed_path);
    free(url);
    return rc;
}

void pgwctl_print_json(const json_t *v, int indent)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s == NULL)
        return;
    const char *line = s;
    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        printf("%*s%.*s\n", indent, "", (int)n, line);
        line += n + (nl ? 1 : 0);
    }
    free(s);
}
