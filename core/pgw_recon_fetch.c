/*
 * pgw_recon_fetch.c — the statement of a day fetched through the channel
 * pack (docs/reconciliation.md): the pack's `bill` operation (built and
 * interpreted by the pack, sent once), then either the statement text the
 * answer carries (fields.statement) or a GET of fields.download_url; a ZIP
 * archive is unpacked (pgw_recon_unzip). Blocking libcurl easy calls: run
 * only on the reconciliation worker thread, never on the loop.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "pgw_pack.h"
#include "pgw_recon_fetch.h"

#define PGW__BILL_ANSWER_MAX (4L << 20)
#define PGW__STATEMENT_MAX   (512L << 20)


struct pgw__sink {
    char *data;
    size_t len;
    size_t max;
    int too_big;
};


static size_t
pgw__write(char *p, size_t size, size_t n, void *arg)
{
    struct pgw__sink *s = arg;
    size_t add = size * n;
    char *grown;

    if (s->len + add > s->max) {
        s->too_big = 1;
        return 0;
    }
    grown = realloc(s->data, s->len + add + 1);
    if (grown == NULL) {
        return 0;
    }
    s->data = grown;
    memcpy(s->data + s->len, p, add);
    s->len += add;
    s->data[s->len] = '\0';
    return add;
}


/* one exchange over a fresh connection; 0 with *status, or -1 + err */
static int
pgw__http(const char *method, const char *url, const char *ctype,
          const json_t *headers, const char *body, size_t body_len,
          long connect_ms, long timeout_ms, struct pgw__sink *sink, long *status,
          char *err, size_t errlen)
{
    CURL *e = curl_easy_init();
    struct curl_slist *hl = NULL;
    char line[4096], ebuf[CURL_ERROR_SIZE] = "";
    const char *k;
    json_t *v;
    CURLcode rc;

    if (e == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (ctype && ctype[0]) {
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        hl = curl_slist_append(hl, line);
    }
    hl = curl_slist_append(hl, "Expect:");
    json_object_foreach((json_t *) headers, k, v) {
        if (json_is_string(v)) {
            snprintf(line, sizeof(line), "%s: %s", k, json_string_value(v));
            hl = curl_slist_append(hl, line);
        }
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, pgw__write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) body_len);
        if (strcmp(method, "POST") != 0) {
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        }
    }
    rc = curl_easy_perform(e);
    *status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(e);
    if (sink->too_big) {
        snprintf(err, errlen, "answer over %zu bytes", sink->max);
        return -1;
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", curl_easy_strerror(rc), ebuf[0] ? ebuf : "-");
        return -1;
    }
    return 0;
}


int
pgw_recon_fetch(struct pgw_pack *pack, const char *date, long connect_ms,
                long timeout_ms, char **text, size_t *len, char *err,
                size_t errlen)
{
    struct pgw_msg msg;
    struct pgw_outcome out;
    struct pgw__sink answer = { .max = PGW__BILL_ANSWER_MAX };
    struct pgw__sink file = { .max = PGW__STATEMENT_MAX };
    json_t *order, *headers;
    const char *url, *stmt;
    long status;
    char e2[256];
    int rc = -1;

    *text = NULL;
    *len = 0;
    memset(&msg, 0, sizeof(msg));
    memset(&out, 0, sizeof(out));
    order = json_pack("{s:s, s:{s:s, s:s}, s:s, s:I, s:s}", "out_trade_no", "bill",
                      "bill", "date", date, "type", "trade", "bill_date", date,
                      "amount", (json_int_t) 0, "currency", "");
    headers = json_object();
    if (order == NULL || headers == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (pgw_pack_build(pack, "bill", order, &msg, e2, sizeof(e2)) != 0) {
        snprintf(err, errlen, "bill: the pack cannot build it: %s", e2);
        goto done;
    }
    if (pgw__http(msg.method, msg.url, msg.content_type, msg.headers, msg.body,
                  msg.body_len, connect_ms, timeout_ms, &answer, &status, e2,
                  sizeof(e2)) != 0) {
        snprintf(err, errlen, "bill: %s", e2);
        goto done;
    }
    pgw_pack_parse(pack, "bill", status, headers, answer.data ? answer.data : "",
                   answer.len, order, &out);
    if (out.cls != PGW_CLASS_SUCCESS) {
        snprintf(err, errlen, "bill: the channel's answer is %s (code %s%s%s)",
                 out.cls == PGW_CLASS_NOT_FOUND ? "NOT_FOUND: no statement for"
                                                  " that day (yet)"
                                                : pgw_class_name(out.cls),
                 out.code[0] ? out.code : "-", out.error[0] ? "; " : "", out.error);
        goto done;
    }
    stmt = json_string_value(json_object_get(out.fields, "statement"));
    if (stmt != NULL) {
        size_t n = json_string_length(json_object_get(out.fields, "statement"));
        *text = malloc(n + 1);
        if (*text == NULL) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        memcpy(*text, stmt, n + 1);
        *len = n;
        rc = 0;
        goto done;
    }
    url = json_string_value(json_object_get(out.fields, "download_url"));
    if (url == NULL) {
        snprintf(err, errlen, "bill: the answer has neither fields.statement nor"
                              " fields.download_url");
        goto done;
    }
    if (pgw__http("GET", url, NULL, NULL, NULL, 0, connect_ms, timeout_ms * 4, &file,
                  &status, e2, sizeof(e2)) != 0) {
        snprintf(err, errlen, "download: %s", e2);
        goto done;
    }
    if (status != 200) {
        snprintf(err, errlen, "download: HTTP %ld", status);
        goto done;
    }
    if (pgw_recon_is_zip(file.data, file.len)) {
        if (pgw_recon_unzip(file.data, file.len, text, len, e2, sizeof(e2)) != 0) {
            snprintf(err, errlen, "download: %s", e2);
            goto done;
        }
        rc = 0;
        goto done;
    }
    *text = file.data ? file.data : strdup("");
    *len = file.len;
    file.data = NULL;
    rc = *text ? 0 : -1;

done:
    free(answer.data);
    free(file.data);
    pgw_msg_clear(&msg);
    pgw_outcome_clear(&out);
    json_decref(order);
    json_decref(headers);
    return rc;
}
