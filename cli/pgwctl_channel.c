/*
 * pgwctl_channel: "paygwctl channel test|render|exchange|notify" — a channel
 * pack driven offline, through the same adapter runtime paygwd uses
 * (libpaygw: pgw_packs_*, pgw_pack_build/parse/notify, pgw_classify), so what
 * it prints is exactly what paygwd would build and conclude.  Nothing is
 * stored and no daemon is needed; the paygwd.conf given with --conf supplies
 * templates, scripts, keystore and the channel's params (docs/pack-operations.md).
 *
 *   test      load the pack (compile, validate, run its fixtures)
 *   render    the HTTP request an operation would send (secrets masked)
 *   exchange  build, send once over a fresh connection, parse, classify
 *   notify    verify and interpret a recorded notification
 *   new       a pack skeleton from an archetype (pgwctl_scaffold.c)
 *   record    one exchange, appended as a fixture case for human review
 */
#include "pgwctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "pgwctl_scaffold.h"
#include "pgw_config.h"
#include "pgw_pack.h"
#include "pgw_transport.h"

#define PGWCTL_CH_MAX_BODY (4 << 20)
#define PGWCTL_CH_MAX_HEADERS 32

struct pgwctl_ch {
    struct pgw_config *conf;
    struct pgw_packs *packs;
    struct pgw_pack *pack;          /* borrowed from packs */
    struct pgw_channel_conf *cc;    /* borrowed from conf */
    json_t *token;                  /* ctx.token for OAuth2 channels, owned */
};

struct pgwctl_ch_buf {
    char *data;
    size_t len;
    int too_big;
};


static void pgwctl__ch_close(struct pgwctl_ch *c)
{
    pgw_packs_free(c->packs);
    pgw_config_free(c->conf);
    json_decref(c->token);
    memset(c, 0, sizeof(*c));
}

/* Loads the conf and the channel's pack (which runs its fixtures). */
static int pgwctl__ch_open(struct pgwctl_ch *c, const char *conf_path, const char *name)
{
    char err[1024];

    memset(c, 0, sizeof(*c));
    c->conf = pgw_config_load(conf_path, err, sizeof(err));
    if (c->conf == NULL) {
        fprintf(stderr, "paygwctl: %s\n", err);
        return -1;
    }
    c->cc = pgw_config_channel(c->conf, name);
    if (c->cc == NULL) {
        fprintf(stderr, "paygwctl: %s: no 'channel %s' lines\n", conf_path, name);
        return -1;
    }
    if (c->cc->endpoint[0]) {
        json_object_set_new(c->cc->params, "endpoint", json_string(c->cc->endpoint));
    }
    c->packs = pgw_packs_new(c->conf->templates, c->conf->scripts, c->conf->keystore,
                             err, sizeof(err));
    if (c->packs == NULL) {
        fprintf(stderr, "paygwctl: %s\n", err);
        return -1;
    }
    if (pgw_packs_load(c->packs, name, c->cc->params, err, sizeof(err)) != 0) {
        fprintf(stderr, "paygwctl: channel %s: %s\n", name, err);
        return -1;
    }
    c->pack = pgw_packs_get(c->packs, name);
    return c->pack != NULL ? 0 : -1;
}

static json_t *pgwctl__load_json(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);

    if (j == NULL) {
        fprintf(stderr, "paygwctl: %s:%d: %s\n", path, je.line, je.text);
    } else if (!json_is_object(j)) {
        fprintf(stderr, "paygwctl: %s: must hold a JSON object\n", path);
        json_decref(j);
        j = NULL;
    }
    return j;
}

static char *pgwctl__read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (fp == NULL) {
        fprintf(stderr, "paygwctl: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && n <= PGWCTL_CH_MAX_BODY
        && fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t) n + 1)) != NULL) {
        if (fread(buf, 1, (size_t) n, fp) != (size_t) n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
            *len = (size_t) n;
        }
    }
    if (buf == NULL) {
        fprintf(stderr, "paygwctl: %s: cannot read (over %d bytes?)\n", path,
                PGWCTL_CH_MAX_BODY);
    }
    fclose(fp);
    return buf;
}

/* Is this header one whose value is a secret in a log or on a screen? */
static int pgwctl__secret_header(const struct pgwctl_ch *c, const char *name)
{
    const json_t *mask = json_object_get(pgw_pack_manifest(c->pack), "mask");
    const json_t *v;
    size_t i;

    if (strcasecmp(name, "authorization") == 0) {
        return 1;
    }
    json_array_foreach(mask, i, v) {
        if (json_is_string(v) && strcasecmp(json_string_value(v), name) == 0) {
            return 1;
        }
    }
    return 0;
}

static json_t *pgwctl__msg_json(const struct pgwctl_ch *c, const struct pgw_msg *m, int raw)
{
    json_t *h;
    const char *k;
    json_t *v;

    if (m->credential != NULL) {
        /* a local credential: nothing is sent, the buyer's client opens it */
        return json_pack("{s:b, s:O}", "local", 1, "credential", m->credential);
    }
    h = json_object();
    json_object_foreach(m->headers, k, v) {
        json_object_set_new(h, k, json_string(!raw && pgwctl__secret_header(c, k)
                                              ? "***" : json_string_value(v)));
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:s%}", "method", m->method, "url", m->url,
                     "content_type", m->content_type ? m->content_type : "",
                     "headers", h, "body", raw ? m->body : m->masked,
                     raw ? m->body_len : strlen(m->masked));
}

static void pgwctl__print(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

    if (s != NULL) {
        printf("%s\n", s);
        free(s);
    }
    json_decref(j);
}

static int pgwctl__build(struct pgwctl_ch *c, const char *op, const json_t *order,
                         struct pgw_msg *m)
{
    char err[512];

    if (pgw_pack_build(c->pack, op, order, m, err, sizeof(err)) != 0) {
        fprintf(stderr, "paygwctl: build.%s: %s\n", op, err);
        return -1;
    }
    return 0;
}


/* ---- one HTTP exchange, as paygwd's transport makes it ----------------- */

static size_t pgwctl__ch_write(char *p, size_t size, size_t n, void *ud)
{
    struct pgwctl_ch_buf *b = ud;
    size_t add = size * n;
    char *grown;

    if (b->len + add > PGWCTL_CH_MAX_BODY) {
        b->too_big = 1;
        return 0;
    }
    grown = realloc(b->data, b->len + add + 1);
    if (grown == NULL) {
        return 0;
    }
    b->data = grown;
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

static json_t *pgwctl__resp_headers(CURL *e)
{
    json_t *o = json_object();
    struct curl_header *h, *prev = NULL;

    while ((h = curl_easy_nextheader(e, CURLH_HEADER, -1, prev)) != NULL) {
        char name[128];
        size_t i, n = strlen(h->name);
        const char *old;

        prev = h;
        if (n == 0 || n >= sizeof(name)) {
            continue;
        }
        for (i = 0; i <= n; i++) {
            name[i] = (char) (h->name[i] >= 'A' && h->name[i] <= 'Z'
                              ? h->name[i] + 32 : h->name[i]);
        }
        old = json_string_value(json_object_get(o, name));
        if (old == NULL) {
            json_object_set_new(o, name, json_string(h->value));
        } else {
            char *j = NULL;
            if (asprintf(&j, "%s, %s", old, h->value) >= 0) {
                json_object_set_new(o, name, json_string(j));
                free(j);
            }
        }
    }
    return o;
}

/* Sends m once; fills *sent, *status, *headers (new) and body. */
static int pgwctl__send(const struct pgwctl_ch *c, const struct pgw_msg *m,
                        long timeout_ms, enum pgw_sent *sent, long *status,
                        json_t **headers, struct pgwctl_ch_buf *body, char *err,
                        size_t errlen)
{
    CURL *e = curl_easy_init();
    struct curl_slist *hl = NULL;
    char line[4096], ebuf[CURL_ERROR_SIZE] = "";
    const char *k;
    json_t *v;
    CURLcode rc;
    int n = 0;

    if (e == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (m->content_type != NULL && m->content_type[0]) {
        snprintf(line, sizeof(line), "Content-Type: %s", m->content_type);
        hl = curl_slist_append(hl, line);
    }
    hl = curl_slist_append(hl, "Expect:");
    json_object_foreach(m->headers, k, v) {
        if (++n > PGWCTL_CH_MAX_HEADERS) {
            break;
        }
        snprintf(line, sizeof(line), "%s: %s", k, json_string_value(v));
        hl = curl_slist_append(hl, line);
    }
    curl_easy_setopt(e, CURLOPT_URL, m->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, pgwctl__ch_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     c->cc->connect_timeout_ms > 0 ? (long) c->cc->connect_timeout_ms
                                                    : 5000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (strcmp(m->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, m->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) m->body_len);
        if (strcmp(m->method, "POST") != 0) {
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m->method);
        }
    }
    rc = curl_easy_perform(e);
    *status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    *sent = pgw_transport_classify(rc, *status);
    if (body->too_big) {
        *sent = PGW_SENT_UNKNOWN;
        snprintf(err, errlen, "response over %d bytes", PGWCTL_CH_MAX_BODY);
    } else if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", curl_easy_strerror(rc), ebuf[0] ? ebuf : "-");
    }
    *headers = pgwctl__resp_headers(e);
    curl_slist_free_all(hl);
    curl_easy_cleanup(e);
    return 0;
}


/* ---- commands ---------------------------------------------------------- */

static void pgwctl__channel_usage(FILE *fp)
{
    fprintf(fp,
        "usage: paygwctl channel test NAME --conf FILE\n"
        "       paygwctl channel render NAME OP --input ORDER.json --conf FILE [--raw]\n"
        "       paygwctl channel exchange NAME OP --input ORDER.json --conf FILE\n"
        "                [--timeout-ms N]\n"
        "       paygwctl channel notify NAME --conf FILE --body-file F\n"
        "                [--content-type CT] [--header 'Name: value']... [--query Q]\n"
        "       paygwctl channel statement NAME --conf FILE --file STATEMENT\n"
        "       paygwctl channel new NAME --like ARCHETYPE [--dir ROOT] [--from TREE]\n"
        "                (archetypes: form_rsa2, xml_hmac, json_header_rsa, sm2_sm4,\n"
        "                iso20022)\n"
        "       paygwctl channel record NAME OP --input ORDER.json --conf FILE\n"
        "                [--out CASES.lua] [--timeout-ms N]\n"
        "the running paygwd's versions (admin API, docs/pack-versions.md):\n"
        "       paygwctl channel status [NAME] [--json]\n"
        "       paygwctl channel reload NAME [--canary PCT] --reason TEXT [--who NAME]\n"
        "       paygwctl channel rollback|promote NAME --reason TEXT [--who NAME]\n"
        "(docs/pack-operations.md)\n");
}

/* ctx.token for OAuth2 channels (manifest.auth.op): fetched once per run */
static int pgwctl__ch_token(struct pgwctl_ch *c, long timeout_ms)
{
    const json_t *auth = json_object_get(pgw_pack_manifest(c->pack), "auth");
    const char *op = json_string_value(json_object_get(auth, "op"));
    struct pgw_msg m;
    struct pgw_outcome out;
    struct pgwctl_ch_buf body = {0};
    enum pgw_sent sent;
    json_t *order, *headers = NULL;
    const char *tok;
    long status;
    char err[512] = "";
    int rc = -1;

    if (op == NULL) {
        return 0;
    }
    order = json_object();
    memset(&m, 0, sizeof(m));
    if (pgwctl__build(c, op, order, &m) == 0
        && pgwctl__send(c, &m, timeout_ms, &sent, &status, &headers, &body, err,
                        sizeof(err)) == 0) {
        pgw_pack_parse(c->pack, op, sent == PGW_SENT_ANSWERED ? status : 0, headers,
                       body.data ? body.data : "", body.len, order, &out);
        tok = json_string_value(json_object_get(out.fields, "access_token"));
        if (sent == PGW_SENT_ANSWERED && tok != NULL && out.error[0] == '\0') {
            c->token = json_deep_copy(out.fields);
            pgw_pack_set_token(c->pack, c->token);
            rc = 0;
        } else {
            fprintf(stderr, "paygwctl: %s: no token (%s)\n", op,
                    err[0] ? err : out.error[0] ? out.error : "no access_token");
        }
        pgw_outcome_clear(&out);
    }
    pgw_msg_clear(&m);
    json_decref(headers);
    json_decref(order);
    free(body.data);
    return rc;
}

static int pgwctl__cmd_exchange(struct pgwctl_ch *c, const char *op, const json_t *order,
                                long timeout_ms)
{
    struct pgw_msg m;
    struct pgw_outcome out;
    struct pgwctl_ch_buf body = {0};
    enum pgw_sent sent = PGW_SENT_UNKNOWN;
    json_t *headers = NULL, *res;
    long status = 0;
    char err[512] = "";
    const char *cls;

    if (timeout_ms <= 0) {
        timeout_ms = c->cc->timeout_ms > 0 ? (long) c->cc->timeout_ms : 15000L;
    }
    if (pgwctl__ch_token(c, timeout_ms) != 0) {
        return PGWCTL_EXIT_FAIL;
    }
    memset(&m, 0, sizeof(m));
    if (pgwctl__build(c, op, order, &m) != 0) {
        return PGWCTL_EXIT_FAIL;
    }
    if (m.credential != NULL) {
        /* built locally, never sent: the credential is the whole answer */
        res = json_pack("{s:s, s:s, s:i, s:s, s:s, s:b, s:{s:O}, s:s, s:o}", "op", op,
                        "sent", "LOCAL", "http_status", 0, "class", "SUCCESS", "code", "",
                        "unmapped", 0, "fields", "credential", m.credential, "error", "",
                        "request", pgwctl__msg_json(c, &m, 0));
        pgwctl__print(res);
        pgw_msg_clear(&m);
        return PGWCTL_EXIT_OK;
    }
    pgwctl__send(c, &m, timeout_ms, &sent, &status, &headers, &body, err, sizeof(err));
    if (sent == PGW_SENT_ANSWERED) {
        pgw_pack_parse(c->pack, op, status, headers, body.data ? body.data : "", body.len,
                       order, &out);
        cls = pgw_class_name(out.cls);
    } else {
        memset(&out, 0, sizeof(out));
        out.fields = json_object();
        snprintf(out.error, sizeof(out.error), "%s", err);
        cls = sent == PGW_SENT_NOT_SENT ? "NOT_SENT" : "PROCESSING";
    }
    res = json_pack("{s:s, s:s, s:i, s:s, s:s, s:b, s:O, s:s, s:o}", "op", op,
                    "sent", sent == PGW_SENT_ANSWERED ? "ANSWERED"
                        : sent == PGW_SENT_NOT_SENT ? "NOT_SENT" : "UNKNOWN",
                    "http_status", (int) status, "class", cls, "code", out.code,
                    "unmapped", out.unmapped, "fields", out.fields, "error", out.error,
                    "request", pgwctl__msg_json(c, &m, 0));
    pgwctl__print(res);
    pgw_outcome_clear(&out);
    pgw_msg_clear(&m);
    json_decref(headers);
    free(body.data);
    return PGWCTL_EXIT_OK;
}

/* "--   " + each line of text (at most max bytes), for a Lua comment */
static void pgwctl__comment_lines(FILE *mem, const char *text, size_t len, size_t max)
{
    size_t i, n = len < max ? len : max;

    fputs("    --   ", mem);
    for (i = 0; i < n; i++) {
        if (text[i] == '\n') {
            fputs("\n    --   ", mem);
        } else if (text[i] != '\r') {
            fputc(text[i], mem);
        }
    }
    fprintf(mem, "%s\n", len > max ? " [...]" : "");
}

/* record: one exchange, appended to the pack's fixtures as a parse case
 * with the pack's own classification as the expectation, marked for review;
 * then the fixtures are run again and the file restored if they fail. */
static int pgwctl__cmd_record(struct pgwctl_ch *c, const char *conf_path, const char *name,
                              const char *op, const json_t *order, long timeout_ms,
                              const char *out_file)
{
    static const char *const hop[] = { "date", "connection", "keep-alive",
        "transfer-encoding", "content-length", "server", NULL };
    struct pgw_msg m;
    struct pgw_outcome out;
    struct pgwctl_ch_buf body = {0};
    enum pgw_sent sent = PGW_SENT_UNKNOWN;
    json_t *headers = NULL, *kc = NULL, *rh, *req;
    long status = 0;
    char err[1024] = "", path[4200], when[32], *lua = NULL, *text = NULL, *old = NULL;
    char *reqtext = NULL;
    size_t textlen = 0, oldlen = 0;
    const char *cls, *k;
    json_t *v;
    time_t now = time(NULL);
    FILE *mem;
    int rc = PGWCTL_EXIT_FAIL, i, live;

    memset(&out, 0, sizeof(out));
    if (timeout_ms <= 0) {
        timeout_ms = c->cc->timeout_ms > 0 ? (long) c->cc->timeout_ms : 15000L;
    }
    if (pgwctl__ch_token(c, timeout_ms) != 0) {
        return PGWCTL_EXIT_FAIL;
    }
    memset(&m, 0, sizeof(m));
    if (pgwctl__build(c, op, order, &m) != 0) {
        return PGWCTL_EXIT_FAIL;
    }
    if (m.credential != NULL) {
        fprintf(stderr, "paygwctl: channel record: %s built a local credential: nothing "
                "is exchanged, record a build case by hand (docs/packs.md section 7)\n", op);
        goto done;
    }
    pgwctl__send(c, &m, timeout_ms, &sent, &status, &headers, &body, err, sizeof(err));
    if (sent != PGW_SENT_ANSWERED) {
        fprintf(stderr, "paygwctl: channel record: no answer to record (%s: %s)\n",
                sent == PGW_SENT_NOT_SENT ? "NOT_SENT" : "UNKNOWN", err);
        goto done;
    }
    pgw_pack_parse(c->pack, op, status, headers, body.data ? body.data : "", body.len,
                   order, &out);
    cls = pgw_class_name(out.cls);

    /* the answer as received, minus hop-by-hop headers */
    rh = json_object();
    json_object_foreach(headers, k, v) {
        for (i = 0; hop[i] != NULL && strcmp(hop[i], k) != 0; i++) {
        }
        if (hop[i] == NULL) {
            json_object_set(rh, k, v);
        }
    }
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    kc = json_pack("{s:s+++, s:s, s:s, s:O, s:i, s:o, s:s%, s:b, s:{s:s, s:s, s:s}}",
                   "name", "recorded ", op, " ", when, "kind", "parse", "op", op,
                   "order", order, "status", (int) status, "headers", rh,
                   "response", body.data ? body.data : "", body.len, "review", 1,
                   "expect", "class", cls, "code", out.code, "error", out.error);
    lua = kc != NULL ? pgwctl_lua_value(kc, 4) : NULL;
    req = pgwctl__msg_json(c, &m, 0);           /* masked, as render prints it */
    reqtext = json_dumps(json_object_get(req, "headers"), JSON_COMPACT | JSON_SORT_KEYS);
    mem = lua != NULL ? open_memstream(&text, &textlen) : NULL;
    if (mem == NULL) {
        json_decref(req);
        fprintf(stderr, "paygwctl: channel record: out of memory\n");
        goto done;
    }
    fprintf(mem, "    -- recorded by `paygwctl channel record %s %s` at %s from\n"
            "    -- %s %s (HTTP %ld).\n"
            "    -- REVIEW: `expect` is the pack's own classification of this answer\n"
            "    -- (class %s, code \"%s\"%s%s). Check it against the bank's document,\n"
            "    -- then delete `review = true`.\n"
            "    -- The request as built (secrets masked; headers %s):\n",
            name, op, when, m.method, m.url, status, cls, out.code,
            out.error[0] ? ", error: " : "", out.error, reqtext ? reqtext : "{}");
    pgwctl__comment_lines(mem, m.masked, strlen(m.masked), 4000);
    fprintf(mem, "    %s,\n", lua);
    fclose(mem);
    json_decref(req);

    live = out_file == NULL;
    if (live) {
        snprintf(path, sizeof(path), "%s/%s.fixtures/cases.lua", c->conf->templates, name);
    } else {
        snprintf(path, sizeof(path), "%s", out_file);
    }
    if (pgwctl_fixture_append(path, text, &old, &oldlen, err, sizeof(err)) != 0) {
        fprintf(stderr, "paygwctl: channel record: %s\n", err);
        goto done;
    }
    if (live) {
        /* the new case must pass like every other one before it stays */
        struct pgwctl_ch again;
        int ok;

        fflush(stderr);
        ok = pgwctl__ch_open(&again, conf_path, name) == 0;
        pgwctl__ch_close(&again);
        if (!ok) {
            if (pgwctl_write_file(path, old, oldlen, 0, err, sizeof(err)) != 0) {
                fprintf(stderr, "paygwctl: channel record: cannot restore %s: %s\n", path,
                        err);
            }
            fprintf(stderr, "paygwctl: channel record: the recorded case does not pass in "
                    "the fixture instance (above); %s left as it was. Usually the answer "
                    "is signed with a key that is not the fixtures' (keys/ next to "
                    "cases.lua): record against a sandbox or simulator that uses TEST-ONLY "
                    "keys the fixtures have too.\n", path);
            goto done;
        }
    }
    pgwctl__print(json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "recorded", path, "op", op,
                            "class", cls, "code", out.code, "error", out.error,
                            "review", 1));
    rc = PGWCTL_EXIT_OK;

done:
    free(old);
    free(text);
    free(lua);
    free(reqtext);
    json_decref(kc);
    pgw_outcome_clear(&out);
    pgw_msg_clear(&m);
    json_decref(headers);
    free(body.data);
    return rc;
}

static int pgwctl__cmd_notify(struct pgwctl_ch *c, const char *body_file, const char *ctype,
                              json_t *headers, const char *query)
{
    struct pgw_notify nt;
    size_t len = 0;
    char *body = pgwctl__read_file(body_file, &len);
    json_t *res;

    if (body == NULL) {
        return PGWCTL_EXIT_FAIL;
    }
    if (ctype == NULL) {
        ctype = json_string_value(json_object_get(headers, "content-type"));
    }
    pgw_pack_notify(c->pack, ctype ? ctype : "", headers, query, body, len, &nt);
    res = json_pack("{s:b, s:b, s:b, s:s, s:s, s:s, s:O, s:s, s:{s:i, s:s, s:s}}",
                    "verified", nt.verified, "hint", nt.hint, "unmapped", nt.outcome.unmapped,
                    "out_trade_no", nt.out_trade_no,
                    "class", pgw_class_name(nt.outcome.cls), "code", nt.outcome.code,
                    "fields", nt.outcome.fields, "error", nt.outcome.error,
                    "ack", "status", nt.ack_status, "content_type", nt.ack_content_type,
                    "body", nt.ack_body ? nt.ack_body : "");
    pgwctl__print(res);
    pgw_notify_clear(&nt);
    free(body);
    return PGWCTL_EXIT_OK;
}

/* statement: S.statement over a downloaded (unpacked) statement file */
static int pgwctl__cmd_statement(struct pgwctl_ch *c, const char *file)
{
    size_t len = 0;
    char *text = pgwctl__read_file(file, &len);
    json_t *res = NULL;
    char err[512];

    if (text == NULL) {
        return PGWCTL_EXIT_FAIL;
    }
    if (pgw_pack_statement(c->pack, text, len, &res, err, sizeof(err)) != 0) {
        fprintf(stderr, "paygwctl: statement: %s\n", err);
        free(text);
        return PGWCTL_EXIT_FAIL;
    }
    pgwctl__print(res);
    free(text);
    return PGWCTL_EXIT_OK;
}

/* "Name: value" -> headers[lower(name)] = value */
static int pgwctl__add_header(json_t *headers, const char *line)
{
    const char *colon = strchr(line, ':');
    char name[128];
    size_t i, n;

    if (colon == NULL || (n = (size_t) (colon - line)) == 0 || n >= sizeof(name)) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        name[i] = (char) (line[i] >= 'A' && line[i] <= 'Z' ? line[i] + 32 : line[i]);
    }
    name[n] = '\0';
    colon++;
    while (*colon == ' ' || *colon == '\t') {
        colon++;
    }
    return json_object_set_new(headers, name, json_string(colon));
}

int pgwctl_cmd_channel(const struct pgwctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"conf", required_argument, NULL, 'c'},
        {"input", required_argument, NULL, 'i'},
        {"raw", no_argument, NULL, 'r'},
        {"timeout-ms", required_argument, NULL, 'm'},
        {"body-file", required_argument, NULL, 'b'},
        {"content-type", required_argument, NULL, 'C'},
        {"header", required_argument, NULL, 'H'},
        {"query", required_argument, NULL, 'q'},
        {"file", required_argument, NULL, 'f'},
        {"like", required_argument, NULL, 'L'},
        {"dir", required_argument, NULL, 'D'},
        {"from", required_argument, NULL, 'F'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *conf = getenv("PAYGW_CONF"), *input = NULL, *body_file = NULL;
    const char *ctype = NULL, *query = NULL, *sub, *name, *op = NULL, *file = NULL;
    const char *like = NULL, *dir = ".", *from = NULL, *out_file = NULL;
    json_t *headers = json_object(), *order = NULL;
    struct pgwctl_ch c;
    long timeout_ms = 0;
    int raw = 0, ch, rc = PGWCTL_EXIT_USAGE;

    /* the running daemon's pack versions: over the admin API */
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            continue;
        }
        if (strcmp(argv[i], "status") == 0 || strcmp(argv[i], "reload") == 0
            || strcmp(argv[i], "rollback") == 0 || strcmp(argv[i], "promote") == 0) {
            json_decref(headers);
            return pgwctl_cmd_channel_admin(o, argc, argv);
        }
        break;
    }
    optind = 0;     /* 0: GNU getopt re-initialises and permutes, so options may
                       come before or after the words */
    while ((ch = getopt_long(argc, argv, "c:i:rm:b:C:H:q:f:L:D:F:o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': conf = optarg; break;
        case 'i': input = optarg; break;
        case 'r': raw = 1; break;
        case 'm': timeout_ms = strtol(optarg, NULL, 10); break;
        case 'b': body_file = optarg; break;
        case 'C': ctype = optarg; break;
        case 'H':
            if (pgwctl__add_header(headers, optarg) != 0) {
                fprintf(stderr, "paygwctl: --header wants 'Name: value'\n");
                goto done;
            }
            break;
        case 'q': query = optarg; break;
        case 'f': file = optarg; break;
        case 'L': like = optarg; break;
        case 'D': dir = optarg; break;
        case 'F': from = optarg; break;
        case 'o': out_file = optarg; break;
        case 'h': pgwctl__channel_usage(stdout); rc = PGWCTL_EXIT_OK; goto done;
        default: pgwctl__channel_usage(stderr); goto done;
        }
    }
    if (optind >= argc) {
        pgwctl__channel_usage(stderr);
        goto done;
    }
    sub = argv[optind++];
    name = optind < argc ? argv[optind++] : NULL;
    if (strcmp(sub, "new") == 0) {
        if (name == NULL || like == NULL || optind < argc) {
            fprintf(stderr, "paygwctl: channel new NAME --like ARCHETYPE [--dir ROOT]\n");
            goto done;
        }
        rc = pgwctl_scaffold_new(name, like, dir, from);
        goto done;
    }
    if (strcmp(sub, "render") == 0 || strcmp(sub, "exchange") == 0
        || strcmp(sub, "record") == 0) {
        op = optind < argc ? argv[optind++] : NULL;
    }
    if (name == NULL || conf == NULL || optind < argc) {
        fprintf(stderr, "paygwctl: channel %s: %s\n", sub,
                name == NULL ? "NAME is required" : conf == NULL
                ? "--conf paygwd.conf is required" : "unexpected argument");
        goto done;
    }
    if ((strcmp(sub, "render") == 0 || strcmp(sub, "exchange") == 0
         || strcmp(sub, "record") == 0) && (op == NULL || input == NULL)) {
        fprintf(stderr, "paygwctl: channel %s needs OP and --input ORDER.json\n", sub);
        goto done;
    }
    if (strcmp(sub, "notify") == 0 && body_file == NULL) {
        fprintf(stderr, "paygwctl: channel notify needs --body-file\n");
        goto done;
    }
    if (strcmp(sub, "statement") == 0 && file == NULL) {
        fprintf(stderr, "paygwctl: channel statement needs --file\n");
        goto done;
    }
    if (strcmp(sub, "test") != 0 && strcmp(sub, "render") != 0
        && strcmp(sub, "exchange") != 0 && strcmp(sub, "notify") != 0
        && strcmp(sub, "statement") != 0 && strcmp(sub, "record") != 0) {
        fprintf(stderr, "paygwctl: unknown channel command '%s'\n", sub);
        goto done;
    }
    if (input != NULL && (order = pgwctl__load_json(input)) == NULL) {
        rc = PGWCTL_EXIT_FAIL;
        goto done;
    }
    rc = PGWCTL_EXIT_FAIL;
    if (pgwctl__ch_open(&c, conf, name) != 0) {
        pgwctl__ch_close(&c);
        goto done;
    }
    if (strcmp(sub, "test") == 0) {
        printf("%s: version %s: fixtures passed\n", name, pgw_pack_version(c.pack));
        rc = PGWCTL_EXIT_OK;
    } else if (strcmp(sub, "render") == 0) {
        struct pgw_msg m;

        memset(&m, 0, sizeof(m));
        if (pgwctl__build(&c, op, order, &m) == 0) {
            pgwctl__print(pgwctl__msg_json(&c, &m, raw));
            rc = PGWCTL_EXIT_OK;
        }
        pgw_msg_clear(&m);
    } else if (strcmp(sub, "exchange") == 0) {
        rc = pgwctl__cmd_exchange(&c, op, order, timeout_ms);
    } else if (strcmp(sub, "record") == 0) {
        rc = pgwctl__cmd_record(&c, conf, name, op, order, timeout_ms, out_file);
    } else if (strcmp(sub, "statement") == 0) {
        rc = pgwctl__cmd_statement(&c, file);
    } else {
        rc = pgwctl__cmd_notify(&c, body_file, ctype, headers, query);
    }
    pgwctl__ch_close(&c);

done:
    json_decref(headers);
    json_decref(order);
    return rc;
}
