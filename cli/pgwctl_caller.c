/*
 * pgwctl_caller: signed requests to the caller API (SPEC 3.1) and the check
 * of every response's Paygw-Signature.  A 2xx response whose signature is
 * missing or wrong is a failure: its content cannot be trusted.
 *
 * The app's key: -s SECRET (HMAC-SHA256), else --key FILE (the RSA2 app's
 * private key), else the app's line in the apps file (an RSA2 app there
 * still needs --key).  RSA2 apps sign scheme A as PAYGW-SHA256-RSA2048 and
 * check answers with the gateway's public key (--gateway-key).  --scheme B
 * sends POST bodies as signed forms (sign_type HMAC-SHA256 or RSA2).
 */
#include "pgwctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgwctl_apps.h"
#include "pgwctl_form.h"
#include "pgwctl_sign.h"

int pgwctl_parse_scheme(const char *v)
{
    if (strcmp(v, "A") == 0 || strcmp(v, "a") == 0)
        return 0;
    if (strcmp(v, "B") == 0 || strcmp(v, "b") == 0)
        return 1;
    return -1;
}

int pgwctl_caller_open(struct pgwctl_caller *c, const struct pgwctl_opts *o)
{
    char err[1024];

    memset(c, 0, sizeof(*c));
    c->opts = o;
    c->scheme_b = o->scheme_b;

    if (o->app_id == NULL || o->app_id[0] == '\0') {
        fprintf(stderr, "paygwctl: no app id (use -a or PAYGW_APP_ID)\n");
        return -1;
    }
    if (o->secret != NULL) {
        c->key_type = PGWCTL_KEY_HMAC;
        c->secret = strdup(o->secret);
        if (c->secret == NULL) {
            fprintf(stderr, "paygwctl: out of memory\n");
            return -1;
        }
    } else if (o->app_key != NULL) {
        c->key_type = PGWCTL_KEY_RSA2;
    } else {
        struct pgwctl_app app;
        if (pgwctl_apps_lookup(o->apps_file, o->app_id, &app, err,
                               sizeof(err)) != 0) {
            fprintf(stderr,
                    "paygwctl: %s (use --apps FILE, -s SECRET or --key FILE)\n",
                    err);
            return -1;
        }
        c->key_type = app.key_type;
        c->secret = app.secret;
        if (c->key_type == PGWCTL_KEY_RSA2) {
            fprintf(stderr,
                    "paygwctl: app \"%s\" is an RSA2 app: give its private "
                    "key with --key FILE (PAYGW_APP_KEY)\n",
                    o->app_id);
            pgwctl_caller_close(c);
            return -1;
        }
    }
    /* HMAC apps: the gateway key is optional; it checks the answers the
     * gateway signs before it knows the app (e.g. APP_UNKNOWN) */
    if (c->key_type == PGWCTL_KEY_HMAC && o->gateway_key != NULL) {
        c->gateway_key = pgwctl_rsa_load(o->gateway_key, 0, err, sizeof(err));
        if (c->gateway_key == NULL) {
            fprintf(stderr, "paygwctl: --gateway-key: %s\n", err);
            pgwctl_caller_close(c);
            return -1;
        }
    }
    if (c->key_type == PGWCTL_KEY_RSA2) {
        c->app_key = pgwctl_rsa_load(o->app_key, 1, err, sizeof(err));
        if (c->app_key == NULL) {
            fprintf(stderr, "paygwctl: --key: %s\n", err);
            pgwctl_caller_close(c);
            return -1;
        }
        if (o->gateway_key == NULL) {
            fprintf(stderr,
                    "paygwctl: answers to an RSA2 app are signed with the "
                    "gateway's key: give its public key with --gateway-key "
                    "FILE (PAYGW_GATEWAY_PUBKEY)\n");
            pgwctl_caller_close(c);
            return -1;
        }
        c->gateway_key = pgwctl_rsa_load(o->gateway_key, 0, err, sizeof(err));
        if (c->gateway_key == NULL) {
            fprintf(stderr, "paygwctl: --gateway-key: %s\n", err);
            pgwctl_caller_close(c);
            return -1;
        }
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
    EVP_PKEY_free(c->app_key);
    EVP_PKEY_free(c->gateway_key);
    free(c->base_path);
    c->secret = NULL;
    c->app_key = NULL;
    c->gateway_key = NULL;
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
    int rc = c->key_type == PGWCTL_KEY_RSA2
                 ? pgwctl_verify_response_rsa(c->gateway_key,
                                              res->paygw_timestamp,
                                              res->paygw_nonce, res->body,
                                              res->len, res->paygw_signature)
                 : pgwctl_verify_response(c->secret, res->paygw_timestamp,
                                          res->paygw_nonce, res->body,
                                          res->len, res->paygw_signature);
    const char *verified = "response signature verified";
    if (rc == PGWCTL_MISMATCH && c->key_type == PGWCTL_KEY_HMAC &&
        c->gateway_key != NULL &&
        pgwctl_verify_response_rsa(c->gateway_key, res->paygw_timestamp,
                                   res->paygw_nonce, res->body, res->len,
                                   res->paygw_signature) == PGWCTL_OK) {
        rc = PGWCTL_OK;
        verified = "response signature verified with the gateway key";
    }
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
    *state = verified;
    return 1;
}

/* Scheme B: the JSON object body (or none) as a signed form, new memory in
 * *out.  Returns 0, or -1 after printing why. */
static int pgwctl__sign_form(struct pgwctl_caller *c, const char *body,
                             const char *ts, const char *nonce, char **out)
{
    struct pgwctl_form f = {0};
    json_t *obj = NULL;
    char *sts = NULL, *rsa = NULL, hex[65];
    int rc = -1;
    int rsa2 = c->key_type == PGWCTL_KEY_RSA2;

    if (body != NULL && body[0] != '\0') {
        json_error_t jerr;
        obj = json_loads(body, 0, &jerr);
        if (!json_is_object(obj)) {
            fprintf(stderr, "paygwctl: scheme B needs a JSON object body\n");
            goto out;
        }
    }
    if ((obj != NULL && pgwctl_form_add_json(&f, obj) != 0) ||
        pgwctl_form_add(&f, "app_id", c->opts->app_id) != 0 ||
        pgwctl_form_add(&f, "timestamp", ts) != 0 ||
        pgwctl_form_add(&f, "nonce_str", nonce) != 0 ||
        pgwctl_form_add(&f, "sign_type", rsa2 ? "RSA2" : "HMAC-SHA256") != 0 ||
        (sts = pgwctl_form_string_to_sign(&f)) == NULL) {
        fprintf(stderr, "paygwctl: cannot build the form\n");
        goto out;
    }
    if (rsa2 ? (rsa = pgwctl_rsa_sign_b64(c->app_key, sts, strlen(sts))) == NULL
             : pgwctl_form_sign_hmac(c->secret, sts, hex) != 0) {
        fprintf(stderr, "paygwctl: cannot sign the form\n");
        goto out;
    }
    if (c->opts->verbose)
        fprintf(stderr, "> string_to_sign: %s\n", sts);
    if (pgwctl_form_add(&f, "sign", rsa2 ? rsa : hex) != 0 ||
        (*out = pgwctl_form_body(&f)) == NULL) {
        fprintf(stderr, "paygwctl: out of memory\n");
        goto out;
    }
    rc = 0;
out:
    json_decref(obj);
    free(sts);
    free(rsa);
    pgwctl_form_clear(&f);
    return rc;
}

int pgwctl_caller_call(struct pgwctl_caller *c, const char *method,
                       const char *path_query, const char *body,
                       long timeout_s, struct pgwctl_response *res,
                       json_t **json)
{
    const struct pgwctl_opts *o = c->opts;
    char ts[32], nonce[PGWCTL_NONCE_HEX + 1], sig[PGWCTL_SIG_B64_LEN + 1];
    char auth[2048], err[1024];
    char *form_body = NULL, *rsa_sig = NULL;
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
    const char *content_type = body ? "application/json" : NULL;
    const char *send_body = body;
    const char *authorization = auth;
    int form = c->scheme_b && strcmp(method, "POST") == 0;

    if (pgwctl_nonce(nonce) != PGWCTL_OK) {
        fprintf(stderr, "paygwctl: cannot make a nonce\n");
        goto out;
    }
    if (form) {
        /* scheme B: the body's fields plus the signature parameters */
        if (pgwctl__sign_form(c, body, ts, nonce, &form_body) != 0)
            goto out;
        send_body = form_body;
        body_len = strlen(form_body);
        content_type = "application/x-www-form-urlencoded";
        authorization = NULL;
    } else if (c->key_type == PGWCTL_KEY_RSA2) {
        if (pgwctl_sign_request_rsa(c->app_key, method, signed_path, ts, nonce,
                                    body, body_len, &rsa_sig) != PGWCTL_OK ||
            pgwctl_authorization_rsa(auth, sizeof(auth), o->app_id, ts, nonce,
                                     rsa_sig) != PGWCTL_OK) {
            fprintf(stderr, "paygwctl: cannot sign the request\n");
            goto out;
        }
    } else if (pgwctl_sign_request(c->secret, method, signed_path, ts, nonce,
                                   body, body_len, sig) != PGWCTL_OK ||
               pgwctl_authorization(auth, sizeof(auth), o->app_id, ts, nonce,
                                    sig) != PGWCTL_OK) {
        fprintf(stderr, "paygwctl: cannot sign the request\n");
        goto out;
    }

    if (o->verbose)
        fprintf(stderr, "> %s %s (app %s, %s, timestamp %s, nonce %s)\n",
                method, signed_path, o->app_id,
                form ? (c->key_type == PGWCTL_KEY_RSA2
                            ? "scheme B sign_type=RSA2"
                            : "scheme B sign_type=HMAC-SHA256")
                     : (c->key_type == PGWCTL_KEY_RSA2
                            ? "PAYGW-SHA256-RSA2048"
                            : "PAYGW-HMAC-SHA256"),
                ts, nonce);

    struct pgwctl_request req = {
        .method = method,
        .url = url,
        .authorization = authorization,
        .content_type = content_type,
        .body = send_body,
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
    free(form_body);
    free(rsa_sig);
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
