/*
 * pgw_fixtures.c -- runs a pack's own recorded cases before it may go live.
 *
 * Layout: <templates_dir>/<channel>.fixtures/cases.lua returns pure data
 *   { clock_ms = <frozen gw.time.now_ms>, config = {... ctx.config ...},
 *     token = <ctx.token for OAuth2 packs, optional>,
 *     cases = { {name=, kind="build"|"parse"|"notify", ...}, ... } }
 * and <templates_dir>/<channel>.fixtures/keys/ is the keystore the fixture
 * instance uses (test-only keys; production keys are never touched).
 * cases.lua is evaluated in its own sandbox (no keys) and turned into JSON;
 * the cases then go through the public API (pgw_pack_build / _parse /
 * _notify) of a separate fixture instance of the pack, so they exercise
 * exactly the code paths production uses.
 *
 * Case fields (every kind may also carry config = {...}: merged over the
 * set's config for that case only -- a key the case sets wins, every other
 * key keeps the set's value; a case cannot remove a key (false is a value
 * the pack sees), so a set whose cases differ by a key's presence leaves it
 * out of the set's config.  Each distinct merged config gets its own fixture
 * instance, opened on first use with the same keystore and frozen clock and
 * cached for the rest of the run):
 *   build:  op, order, expect = {method?, url?, content_type?, body?
 *           (exact), body_contains = {...}?, headers = {...}?} or, for a
 *           builder that returns a local credential, expect = {credential =
 *           {...} (subset), body_contains = {...}? (in its JSON text)}
 *   parse:  op, order?, status (default 200), response, expect = {class,
 *           code?, error? (substring; "" = no error), fields? (subset)}
 *   notify: content_type?, body, expect = {verified, class?, code?,
 *           out_trade_no?, fields?, ack_status?, ack_body?}
 * Every operation of the pack needs at least one parse (or notify) case and
 * every builder at least one build case.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "pgw_adapter.h"
#include "pgw_pack.h"


#define PGW_FX_FAIL(...)                                                               \
    do {                                                                               \
        char pgw_fx_m[400];                                                            \
        snprintf(pgw_fx_m, sizeof(pgw_fx_m), __VA_ARGS__);                             \
        snprintf(err, errlen, "%s: case %zu ('%s'): %s", file, idx + 1, name, pgw_fx_m);\
        goto fail;                                                                     \
    } while (0)


static json_t *
pgw_fixtures_read(const char *file, char *err, size_t errlen)
{
    struct pgw_sbx *sbx;
    char *buf, name[1300], jerr[200];
    size_t len;
    json_t *v = NULL;

    buf = pgw_read_file(file, PGW_PACK_FILE_MAX * 4, &len, err, errlen);
    if (buf == NULL) {
        return NULL;
    }
    sbx = pgw_sbx_new(PGW_SBX_MEM_LIMIT, PGW_SBX_BUDGET, err, errlen);
    if (sbx == NULL) {
        free(buf);
        return NULL;
    }
    snprintf(name, sizeof(name), "@%s", file);
    if (pgw_sbx_load(sbx, buf, len, name, err, errlen) == 0
        && pgw_sbx_call(sbx, 0, 1, err, errlen) == 0) {
        if (!lua_istable(sbx->L, -1)) {
            snprintf(err, errlen, "%s: must return a table", file);
        } else if ((v = pgw_lua_to_json(sbx->L, -1, jerr, sizeof(jerr))) == NULL) {
            snprintf(err, errlen, "%s: %s", file, jerr);
        }
    }
    pgw_sbx_free(sbx);
    free(buf);
    return v;
}


/* every key of want equals (json_equal) the same key of got */
static const char *
pgw_fixtures_subset(const json_t *want, const json_t *got)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *) want, k, v) {
        if (!json_equal(v, json_object_get(got, k))) {
            return k;
        }
    }
    return NULL;
}


static int
pgw_fixtures_covered(const json_t *cases, const char *kind, const char *op)
{
    size_t i;

    for (i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        const char *k = json_string_value(json_object_get(c, "kind"));
        const char *o = json_string_value(json_object_get(c, "op"));
        if (k != NULL && strcmp(k, kind) == 0
            && (strcmp(kind, "notify") == 0 || (o != NULL && strcmp(o, op) == 0))) {
            return 1;
        }
    }
    return 0;
}


static int
pgw_fixtures_case(struct pgw_pack *p, const json_t *c, const char *file, size_t idx,
                  char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *kind = json_string_value(json_object_get(c, "kind"));
    const char *op = json_string_value(json_object_get(c, "op"));
    const json_t *expect = json_object_get(c, "expect");
    const json_t *order = json_object_get(c, "order");
    struct pgw_msg msg;
    struct pgw_outcome oc;
    struct pgw_notify nt;
    const struct pgw_outcome *got = NULL;
    enum pgw_class want;
    const char *s, *bad;
    char berr[256];

    memset(&msg, 0, sizeof(msg));
    memset(&oc, 0, sizeof(oc));
    memset(&nt, 0, sizeof(nt));
    if (name == NULL) {
        name = "?";
    }
    if (kind == NULL || !json_is_object(expect)) {
        PGW_FX_FAIL("needs kind and expect");
    }

    if (strcmp(kind, "build") == 0) {
        const json_t *bc = json_object_get(expect, "body_contains");
        size_t i;

        if (op == NULL) {
            PGW_FX_FAIL("build case needs op");
        }
        if (pgw_pack_build(p, op, order, &msg, berr, sizeof(berr)) != 0) {
            PGW_FX_FAIL("build failed: %s", berr);
        }
        if (msg.credential != NULL) {
            /* a local credential: expect.credential is a subset of it and
             * body_contains looks into its JSON text; nothing is sent */
            const json_t *ec = json_object_get(expect, "credential");

            if (json_object_get(expect, "body") || json_object_get(expect, "url")) {
                pgw_msg_clear(&msg);
                PGW_FX_FAIL("built a local credential, not a request to send");
            }
            if (json_is_object(ec)
                && (bad = pgw_fixtures_subset(ec, msg.credential)) != NULL) {
                pgw_msg_clear(&msg);
                PGW_FX_FAIL("credential field '%s' differs", bad);
            }
            for (i = 0; i < json_array_size(bc); i++) {
                s = json_string_value(json_array_get(bc, i));
                if (s == NULL || strstr(msg.masked, s) == NULL) {
                    pgw_msg_clear(&msg);
                    PGW_FX_FAIL("credential does not contain '%s'", s != NULL ? s : "?");
                }
            }
            pgw_msg_clear(&msg);
            return 0;
        }
        if (json_object_get(expect, "credential")) {
            pgw_msg_clear(&msg);
            PGW_FX_FAIL("expected a local credential, got a request to %s", msg.url);
        }
        if ((s = json_string_value(json_object_get(expect, "body"))) != NULL
            && (strlen(s) != msg.body_len || memcmp(s, msg.body, msg.body_len) != 0)) {
            PGW_FX_FAIL("body differs from the recorded request; got: %.250s", msg.body);
        }
        for (i = 0; i < json_array_size(bc); i++) {
            s = json_string_value(json_array_get(bc, i));
            if (s == NULL || strstr(msg.body, s) == NULL) {
                PGW_FX_FAIL("body does not contain '%s'", s != NULL ? s : "?");
            }
        }
        if ((s = json_string_value(json_object_get(expect, "url"))) != NULL
            && strcmp(s, msg.url) != 0) {
            PGW_FX_FAIL("url is '%s', expected '%s'", msg.url, s);
        }
        if ((s = json_string_value(json_object_get(expect, "method"))) != NULL
            && strcmp(s, msg.method) != 0) {
            PGW_FX_FAIL("method is '%s', expected '%s'", msg.method, s);
        }
        if ((s = json_string_value(json_object_get(expect, "content_type"))) != NULL
            && strcmp(s, msg.content_type) != 0) {
            PGW_FX_FAIL("content_type is '%s', expected '%s'", msg.content_type, s);
        }
        if (json_is_object(json_object_get(expect, "headers"))
            && (bad = pgw_fixtures_subset(json_object_get(expect, "headers"),
                                          msg.headers)) != NULL) {
            PGW_FX_FAIL("header '%s' differs", bad);
        }
        pgw_msg_clear(&msg);
        return 0;
    }

    if (strcmp(kind, "parse") == 0) {
        const json_t *st = json_object_get(c, "status");
        const char *resp = json_string_value(json_object_get(c, "response"));

        if (op == NULL || resp == NULL) {
            PGW_FX_FAIL("parse case needs op and response");
        }
        pgw_pack_parse(p, op, json_is_integer(st) ? (long) json_integer_value(st) : 200,
                       json_object_get(c, "headers"), resp, strlen(resp), order, &oc);
        got = &oc;
    } else if (strcmp(kind, "notify") == 0) {
        const char *body = json_string_value(json_object_get(c, "body"));
        const json_t *v = json_object_get(expect, "verified");

        if (body == NULL || !json_is_boolean(v)) {
            PGW_FX_FAIL("notify case needs body and expect.verified");
        }
        if (pgw_pack_notify(p, json_string_value(json_object_get(c, "content_type")),
                            json_object_get(c, "headers"),
                            json_string_value(json_object_get(c, "query")),
                            body, strlen(body), &nt) != 0) {
            PGW_FX_FAIL("notify failed (out of memory)");
        }
        got = &nt.outcome;
        if (nt.verified != json_is_true(v)) {
            PGW_FX_FAIL("verified is %d, expected %d (error: %s)", nt.verified,
                        json_is_true(v), nt.outcome.error);
        }
        if ((s = json_string_value(json_object_get(expect, "out_trade_no"))) != NULL
            && strcmp(s, nt.out_trade_no) != 0) {
            PGW_FX_FAIL("out_trade_no is '%s', expected '%s'", nt.out_trade_no, s);
        }
        if (json_is_integer(json_object_get(expect, "ack_status"))
            && json_integer_value(json_object_get(expect, "ack_status")) != nt.ack_status) {
            PGW_FX_FAIL("ack status is %d", nt.ack_status);
        }
        if ((s = json_string_value(json_object_get(expect, "ack_body"))) != NULL
            && strcmp(s, nt.ack_body) != 0) {
            PGW_FX_FAIL("ack body is '%s', expected '%s'", nt.ack_body, s);
        }
    } else {
        PGW_FX_FAIL("unknown kind '%s' (build, parse or notify)", kind);
    }

    s = json_string_value(json_object_get(expect, "class"));
    if (s == NULL && strcmp(kind, "parse") == 0) {
        PGW_FX_FAIL("parse case needs expect.class");
    }
    if (s != NULL) {
        if (pgw_class_from_name(s, &want) != 0) {
            PGW_FX_FAIL("unknown class '%s'", s);
        }
        if (want != got->cls) {
            PGW_FX_FAIL("class is %s (code '%.100s', error '%.150s'), expected %s",
                        pgw_class_name(got->cls), got->code, got->error, s);
        }
    }
    if ((s = json_string_value(json_object_get(expect, "code"))) != NULL
        && strcmp(s, got->code) != 0) {
        PGW_FX_FAIL("code is '%s', expected '%s'", got->code, s);
    }
    if ((s = json_string_value(json_object_get(expect, "error"))) != NULL
        && ((s[0] == '\0' && got->error[0] != '\0')
            || (s[0] != '\0' && strstr(got->error, s) == NULL))) {
        PGW_FX_FAIL("error is '%s', expected '%s'", got->error, s);
    }
    if (json_is_object(json_object_get(expect, "fields"))
        && (bad = pgw_fixtures_subset(json_object_get(expect, "fields"), got->fields))
           != NULL) {
        char *gs = json_dumps(got->fields, JSON_COMPACT | JSON_SORT_KEYS);
        char shown[200];
        snprintf(shown, sizeof(shown), "%s", gs != NULL ? gs : "?");
        free(gs);
        PGW_FX_FAIL("field '%s' differs; got fields %s", bad, shown);
    }
    pgw_outcome_clear(&oc);
    pgw_notify_clear(&nt);
    return 0;

fail:
    pgw_msg_clear(&msg);
    pgw_outcome_clear(&oc);
    pgw_notify_clear(&nt);
    return -1;
}


/* the fixture instances of one run: one per distinct merged config, the
 * set's own first; key = the config's canonical JSON text */
#define PGW_FX_INSTANCES_MAX  16

struct pgw_fx_instance {
    char *key;
    struct pgw_pack *pack;
};

struct pgw_fx_run {
    const char *channel;
    const struct pgw_pack_src *src;
    const char *version;
    const char *keys;
    long long clock_ms;
    const json_t *token;
    size_t n;
    struct pgw_fx_instance inst[PGW_FX_INSTANCES_MAX];
};


/* the instance for config cfg: cached, else opened (NULL + err) */
static struct pgw_pack *
pgw_fixtures_instance(struct pgw_fx_run *run, const json_t *cfg, char *err, size_t errlen)
{
    struct pgw_pack *p;
    char *key;
    size_t i;

    key = cfg != NULL ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
                      : strdup("");     /* a set without config */
    if (key == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (i = 0; i < run->n; i++) {
        if (strcmp(run->inst[i].key, key) == 0) {
            free(key);
            return run->inst[i].pack;
        }
    }
    if (run->n == PGW_FX_INSTANCES_MAX) {
        snprintf(err, errlen, "more than %d distinct case configs", PGW_FX_INSTANCES_MAX);
        free(key);
        return NULL;
    }
    p = pgw_pack_open(run->channel, run->src, run->version, run->keys, cfg, run->clock_ms,
                      err, errlen);
    if (p == NULL) {
        free(key);
        return NULL;
    }
    if (json_is_string(run->token)) {
        /* OAuth2 packs: the ctx.token their builders see while fixtures run */
        json_t *t = json_pack("{s:O}", "access_token", run->token);

        pgw_pack_set_token(p, t);
        json_decref(t);
    }
    run->inst[run->n].key = key;
    run->inst[run->n].pack = p;
    run->n++;
    return p;
}


/* the instance case idx runs on: the set's, or one for the case's own
 * config merged over the set's (NULL + err naming the case) */
static struct pgw_pack *
pgw_fixtures_case_instance(struct pgw_fx_run *run, const json_t *set_cfg, const json_t *c,
                           const char *file, size_t idx, char *err, size_t errlen)
{
    const json_t *own = json_object_get(c, "config");
    const char *name = json_string_value(json_object_get(c, "name"));
    struct pgw_pack *p;
    json_t *merged;
    char oerr[300];

    if (own == NULL) {
        return run->inst[0].pack;
    }
    if (name == NULL) {
        name = "?";
    }
    if (!json_is_object(own)) {
        snprintf(err, errlen, "%s: case %zu ('%s'): config must be a table of keys", file,
                 idx + 1, name);
        return NULL;
    }
    merged = json_is_object(set_cfg) ? json_deep_copy(set_cfg) : json_object();
    if (merged == NULL || json_object_update(merged, (json_t *) own) != 0) {
        json_decref(merged);
        snprintf(err, errlen, "%s: case %zu ('%s'): out of memory", file, idx + 1, name);
        return NULL;
    }
    p = pgw_fixtures_instance(run, merged, oerr, sizeof(oerr));
    json_decref(merged);
    if (p == NULL) {
        snprintf(err, errlen, "%s: case %zu ('%s'): its config: %s", file, idx + 1, name,
                 oerr);
    }
    return p;
}


int
pgw_fixtures_run(const char *channel, const struct pgw_pack_src *src, const char *version,
                 const char *fixdir, char *err, size_t errlen)
{
    char file[1200], keys[1200];
    json_t *fx;
    const json_t *cases, *clock, *ops, *set_cfg;
    struct pgw_fx_run run;
    struct pgw_pack *p;
    size_t i;
    int rc = -1;

    snprintf(file, sizeof(file), "%s/cases.lua", fixdir);
    snprintf(keys, sizeof(keys), "%s/keys", fixdir);
    fx = pgw_fixtures_read(file, err, errlen);
    if (fx == NULL) {
        return -1;
    }
    cases = json_object_get(fx, "cases");
    clock = json_object_get(fx, "clock_ms");
    set_cfg = json_object_get(fx, "config");
    if (!json_is_array(cases) || json_array_size(cases) == 0) {
        snprintf(err, errlen, "%s: cases: the pack ships no fixture cases", file);
        json_decref(fx);
        return -1;
    }

    memset(&run, 0, sizeof(run));
    run.channel = channel;
    run.src = src;
    run.version = version;
    run.keys = keys;
    run.clock_ms = json_is_integer(clock) ? (long long) json_integer_value(clock)
                                          : 1700000000000LL;
    run.token = json_object_get(fx, "token");

    /* the set's own instance first: its errors read as before, and its
     * manifest decides which cases must exist */
    p = pgw_fixtures_instance(&run, set_cfg, err, errlen);
    if (p == NULL) {
        json_decref(fx);
        return -1;
    }

    ops = json_object_get(p->manifest, "operations");
    for (i = 0; i < json_array_size(ops); i++) {
        const char *op = json_string_value(json_array_get(ops, i));
        int is_notify = strcmp(op, "notify") == 0;
        if (!pgw_fixtures_covered(cases, is_notify ? "notify" : "parse", op)) {
            snprintf(err, errlen, "%s: no %s case for operation '%s'", file,
                     is_notify ? "notify" : "parse", op);
            goto done;
        }
        if (!is_notify && !pgw_fixtures_covered(cases, "build", op)) {
            snprintf(err, errlen, "%s: no build case for operation '%s'", file, op);
            goto done;
        }
    }
    for (i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);

        p = pgw_fixtures_case_instance(&run, set_cfg, c, file, i, err, errlen);
        if (p == NULL || pgw_fixtures_case(p, c, file, i, err, errlen) != 0) {
            goto done;
        }
    }
    rc = 0;

done:
    for (i = 0; i < run.n; i++) {
        pgw_pack_release(run.inst[i].pack);
        free(run.inst[i].key);
    }
    json_decref(fx);
    return rc;
}
