/*
 * pgwctl_http: libcurl easy wrapper for paygwctl (see pgwctl_http.h).
 * TLS verification stays at libcurl's defaults (on); no redirects are
 * followed, since a redirected signed request would not verify anyway.
 */
#include "pgwctl_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define PGWCTL_MAX_BODY (16L * 1024 * 1024)

struct pgwctl__sink {
    struct pgwctl_response *res;
    int overflow;
};

static size_t pgwctl__body_cb(char *data, size_t size, size_t nmemb,
                              void *userp)
{
    struct pgwctl__sink *sink = userp;
    struct pgwctl_response *res = sink->res;
    size_t n = size * nmemb;

    if (res->len + n > (size_t)PGWCTL_MAX_BODY) {
        sink->overflow = 1;
        return 0;
    }
    char *p = realloc(res->body, res->len + n + 1);
    if (p == NULL)
        return 0;
    memcpy(p + res->len, data, n);
    res->body = p;
    res->len += n;
    res->body[res->len] = '\0';
    return n;
}

static void pgwctl__set(char **slot, const char *v, size_t n)
{
    free(*slot);
    *slot = strndup(v, n);
}

static void pgwctl__clear_headers(struct pgwctl_response *res)
{
    char **slots[] = {&res->content_type, &res->paygw_timestamp,
                      &res->paygw_nonce, &res->paygw_signature,
                      &res->retry_after};
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        free(*slots[i]);
        *slots[i] = NULL;
    }
}

static size_t pgwctl__header_cb(char *data, size_t size, size_t nmemb,
                                void *userp)
{
    struct pgwctl__sink *sink = userp;
    struct pgwctl_response *res = sink->res;
    size_t n = size * nmemb;
    static const struct {
        const char *name;
        size_t off;
    } wanted[] = {
        {"content-type", offsetof(struct pgwctl_response, content_type)},
        {"paygw-timestamp", offsetof(struct pgwctl_response, paygw_timestamp)},
        {"paygw-nonce", offsetof(struct pgwctl_response, paygw_nonce)},
        {"paygw-signature", offsetof(struct pgwctl_response, paygw_signature)},
        {"retry-after", offsetof(struct pgwctl_response, retry_after)},
    };

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* a new (possibly interim) response starts */
        pgwctl__clear_headers(res);
        return n;
    }

    const char *colon = memchr(data, ':', n);
    if (colon == NULL)
        return n;
    size_t name_len = (size_t)(colon - data);

    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        if (strlen(wanted[i].name) != name_len ||
            strncasecmp(wanted[i].name, data, name_len) != 0)
            continue;
        const char *v = colon + 1;
        const char *end = data + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && isspace((unsigned char)end[-1]))
            end--;
        pgwctl__set((char **)((char *)res + wanted[i].off), v,
                    (size_t)(end - v));
        break;
    }
    return n;
}

int pgwctl_http_do(const struct pgwctl_request *req,
                   struct pgwctl_response *out, char *err, size_t errlen)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    char hdr[2048];
    struct curl_slist *headers = NULL, *tmp;
    struct pgwctl__sink sink = {out, 0};
    int rc = -1;

    memset(out, 0, sizeof(*out));

    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(err, errlen, "curl_easy_init failed");
        return -1;
    }

    /* no "Expect: 100-continue" round trip; JSON only */
    tmp = curl_slist_append(headers, "Expect:");
    if (tmp == NULL)
        goto oom;
    headers = tmp;
    tmp = curl_slist_append(headers, "Accept: application/json");
    if (tmp == NULL)
        goto oom;
    headers = tmp;
    if (req->authorization != NULL) {
        int n = snprintf(hdr, sizeof(hdr), "Authorization: %s",
                         req->authorization);
        if (n < 0 || (size_t)n >= sizeof(hdr)) {
            snprintf(err, errlen, "Authorization header too long");
            goto done;
        }
        tmp = curl_slist_append(headers, hdr);
        if (tmp == NULL)
            goto oom;
        headers = tmp;
    }
    if (req->content_type != NULL) {
        snprintf(hdr, sizeof(hdr), "Content-Type: %s", req->content_type);
        tmp = curl_slist_append(headers, hdr);
        if (tmp == NULL)
            goto oom;
        headers = tmp;
    }

    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "paygwctl/1");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, req->timeout_s);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, pgwctl__body_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, pgwctl__header_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, req->verbose ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req->body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
    }

    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        if (sink.overflow)
            snprintf(err, errlen, "%s %s: response larger than %ld bytes",
                     req->method, req->url, PGWCTL_MAX_BODY);
        else
            snprintf(err, errlen, "%s %s: %s", req->method, req->url,
                     errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto done;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    if (out->body == NULL) {
        out->body = strdup("");
        if (out->body == NULL)
            goto oom;
    }
    rc = 0;
    goto done;

oom:
    snprintf(err, errlen, "out of memory");
done:
    if (rc != 0)
        pgwctl_response_clear(out);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc;
}

void pgwctl_response_clear(struct pgwctl_response *res)
{
    free(res->body);
    pgwctl__clear_headers(res);
    memset(res, 0, sizeof(*res));
}

char *pgwctl_url_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (e == NULL)
        return NULL;
    char *copy = strdup(e);
    curl_free(e);
    return copy;
}

char *pgwctl_url_base_path(const char *base)
{
    CURLU *u = curl_url();
    char *path = NULL;
    char *copy = NULL;

    if (u == NULL)
        return NULL;
    if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        size_t n = strlen(path);
        while (n > 0 && path[n - 1] == '/')
            n--;
        copy = strndup(path, n);
    }
    curl_free(path);
    curl_url_cleanup(u);
    return copy;
}
