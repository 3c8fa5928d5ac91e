/*
 * pgw_pack_call.c -- calling into a pack version: build, parse, notify.
 *
 * Every call runs in the version's one Lua state under pgw_sbx_call (fresh
 * instruction budget, memory cap, lua_pcall).  A C trampoline does all the
 * Lua work (pushing the order, calling the pack, converting its result to
 * JSON) inside the protected call, so no Lua error can escape or leak.
 *
 * The host, not the pack, decides the class (pgw_classify over the op's
 * lists) and enforces the money rules on top:
 *   - script error / result not a table / code too long -> PROCESSING + error
 *   - a build body or a result (as JSON) over PGW_PACK_OUTPUT_MAX -> refused
 *     (build: nothing sent; parse/notify: PROCESSING + error); an error
 *     without a file:line (memory cap) names the pack and the call
 *   - result.error set (e.g. "response signature invalid") -> PROCESSING
 *   - manifest.signed_responses = true and result.verified ~= true -> PROCESSING
 *   - HTTP status >= 500 or < 100 (no answer) -> PROCESSING
 *   - notify: verified = 1 only if result.verified == true, no error and an
 *     out_trade_no of 1..64 bytes; an unverified notify is PROCESSING and
 *     gets the manifest's notify_ack.fail, unless the pack marks it a hint
 *     (result.hint: an unsigned "go and look" such as Mollie's webhook), which
 *     is acked ok and can only make the host query the named order.
 */

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "pgw_adapter.h"
#include "pgw_pack.h"


enum pgw_call_kind { PGW_CALL_BUILD, PGW_CALL_PARSE, PGW_CALL_NOTIFY };

#define PGW_CALL_WHERE_MAX 256

struct pgw_call {
    struct pgw_pack *p;
    enum pgw_call_kind kind;
    const char *op;
    const json_t *order;
    long status;
    const char *body;
    size_t len;
    const char *content_type;
    const json_t *headers;      /* answer / notify headers, lower-case names */
    const char *query;          /* notify: raw query string of its URL */
    json_t *result;             /* out: the pack's result table as JSON */
    char err[256];
};


/* headers as a Lua table name -> value; names are lower-cased here too, so a
 * pack can rely on resp.headers["content-type"] whoever filled the object */
static void
pgw_call_push_headers(lua_State *L, const json_t *headers)
{
    const char *k;
    const json_t *v;
    char name[128];

    lua_createtable(L, 0, (int) json_object_size(headers));
    json_object_foreach((json_t *) headers, k, v) {
        size_t i, n = strlen(k);

        if (!json_is_string(v) || n == 0 || n >= sizeof(name)) {
            continue;
        }
        for (i = 0; i < n; i++) {
            name[i] = (char) tolower((unsigned char) k[i]);
        }
        lua_pushlstring(L, name, n);
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        lua_rawset(L, -3);
    }
}


static int
pgw_call_tramp(lua_State *L)
{
    struct pgw_call *c = lua_touserdata(L, 1);
    struct pgw_pack *p = c->p;
    int nargs = 0, res;

    lua_settop(L, 1);
    if (c->kind == PGW_CALL_BUILD) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, p->t_ref);
        lua_getfield(L, -1, "build");
        lua_getfield(L, -1, c->op);
    } else if (c->kind == PGW_CALL_PARSE) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, p->s_ref);
        lua_getfield(L, -1, "parse");
        lua_getfield(L, -1, c->op);
    } else {
        lua_rawgeti(L, LUA_REGISTRYINDEX, p->s_ref);
        lua_getfield(L, -1, "notify");
    }
    if (!lua_isfunction(L, -1)) {
        return luaL_error(L, "pack has no %s function for operation '%s'",
                          c->kind == PGW_CALL_BUILD ? "build" : "parse", c->op);
    }

    if (c->kind == PGW_CALL_NOTIFY) {
        lua_createtable(L, 0, 4);
        lua_pushstring(L, c->content_type != NULL ? c->content_type : "");
        lua_setfield(L, -2, "content_type");
        lua_pushstring(L, c->query != NULL ? c->query : "");
        lua_setfield(L, -2, "query");
        pgw_call_push_headers(L, c->headers);
        lua_setfield(L, -2, "headers");
        lua_pushlstring(L, c->body, c->len);
        lua_setfield(L, -2, "body");
        nargs = 1;
    } else {
        if (c->kind == PGW_CALL_PARSE) {
            lua_createtable(L, 0, 3);
            lua_pushinteger(L, (lua_Integer) c->status);
            lua_setfield(L, -2, "status");
            pgw_call_push_headers(L, c->headers);
            lua_setfield(L, -2, "headers");
            lua_pushlstring(L, c->body, c->len);
            lua_setfield(L, -2, "body");
            nargs++;
        }
        if (c->order != NULL) {
            pgw_lua_push_json(L, c->order);
        } else {
            lua_newtable(L);
        }
        nargs++;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ctx_ref);
    nargs++;
    lua_call(L, nargs, 1);

    res = lua_gettop(L);
    if (!lua_istable(L, res)) {
        return luaL_error(L, "%s must return a table, got %s",
                          c->kind == PGW_CALL_BUILD ? "build" : c->kind == PGW_CALL_PARSE
                          ? "parse" : "notify", luaL_typename(L, res));
    }
    if (c->kind == PGW_CALL_BUILD) {
        /* the body leaves as a Lua string (it may be any bytes) */
        lua_pushliteral(L, "body");
        lua_rawget(L, res);
        if (lua_type(L, -1) == LUA_TNIL) {
            /* a local credential ({credential = {...}}): nothing is sent */
            lua_pop(L, 1);
            lua_pushliteral(L, "");
        } else if (lua_type(L, -1) != LUA_TSTRING) {
            return luaL_error(L, "build.%s: result.body must be a string", c->op);
        }
        lua_pushliteral(L, "body");
        lua_pushnil(L);
        lua_rawset(L, res);
    } else {
        lua_pushnil(L);
    }
    c->result = pgw_lua_to_json(L, res, c->err, sizeof(c->err));
    if (c->result == NULL) {
        return luaL_error(L, "result: %s", c->err);
    }
    return 1;    /* nothing below may raise: c->result is now held */
}


/* 0 with c->result set (and, for build, the body string left on the stack);
 * -1 with err. */
static int
pgw_call_run(struct pgw_call *c, char *err, size_t errlen)
{
    lua_State *L = c->p->sbx->L;

    if (!lua_checkstack(L, 4)) {
        snprintf(err, errlen, "Lua stack exhausted");
        return -1;
    }
    lua_pushcfunction(L, pgw_call_tramp);
    lua_pushlightuserdata(L, c);
    if (pgw_sbx_call(c->p->sbx, 1, 1, err, errlen) != 0) {
        json_decref(c->result);
        c->result = NULL;
        if (strstr(err, ".lua:") == NULL) {
            /* no file:line in it (memory cap, a C-level refusal): name the
             * pack and the call at least */
            char where[PGW_CALL_WHERE_MAX];
            snprintf(where, sizeof(where), "%s", err);
            snprintf(err, errlen, "pack %s, %s.%s: %s", c->p->channel,
                     c->kind == PGW_CALL_BUILD ? "build" : "parse",
                     c->kind == PGW_CALL_NOTIFY ? "notify" : c->op, where);
        }
        return -1;
    }
    if (c->kind == PGW_CALL_BUILD) {
        size_t blen = 0;
        lua_tolstring(L, -1, &blen);
        if (blen > PGW_PACK_OUTPUT_MAX) {
            snprintf(err, errlen, "pack %s, build.%s: body of %zu bytes is over the "
                     "%d-byte limit", c->p->channel, c->op, blen, PGW_PACK_OUTPUT_MAX);
            lua_settop(L, 0);
            json_decref(c->result);
            c->result = NULL;
            return -1;
        }
    }
    if (json_dumpb(c->result, NULL, 0, JSON_COMPACT) > PGW_PACK_OUTPUT_MAX) {
        snprintf(err, errlen, "pack %s, %s.%s: result is over the %d-byte limit",
                 c->p->channel, c->kind == PGW_CALL_BUILD ? "build" : "parse",
                 c->kind == PGW_CALL_NOTIFY ? "notify" : c->op, PGW_PACK_OUTPUT_MAX);
        lua_settop(L, 0);
        json_decref(c->result);
        c->result = NULL;
        return -1;
    }
    return 0;
}


static int
pgw_call_header_safe(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") == NULL;
}


static char *
pgw_call_strdup_field(const json_t *o, const char *k, const char *dflt)
{
    const json_t *v = json_object_get(o, k);
    const char *s = json_is_string(v) ? json_string_value(v) : dflt;

    return s != NULL && pgw_call_header_safe(s) ? strdup(s) : NULL;
}


int
pgw_pack_build(struct pgw_pack *p, const char *op, const json_t *order,
               struct pgw_msg *out, char *err, size_t errlen)
{
    struct pgw_call c;
    lua_State *L;
    const json_t *hdrs;
    const char *body, *k;
    const char *endpoint = NULL;
    json_t *v;
    size_t blen;

    memset(out, 0, sizeof(*out));
    if (p == NULL || op == NULL || strcmp(op, "notify") == 0 || !pgw_pack_has_op(p, op)) {
        snprintf(err, errlen, "pack %s has no operation '%s'", p != NULL ? p->channel : "?",
                 op != NULL ? op : "(null)");
        return -1;
    }
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.kind = PGW_CALL_BUILD;
    c.op = op;
    c.order = order;
    if (pgw_call_run(&c, err, errlen) != 0) {
        return -1;
    }
    L = p->sbx->L;
    body = lua_tolstring(L, -1, &blen);

    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ctx_ref);
    if (lua_istable(L, -1)) {
        lua_pushliteral(L, "endpoint");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) {
            endpoint = lua_tostring(L, -1);
        }
    }
    if (json_is_object(json_object_get(c.result, "credential"))) {
        /* built here, sent by nobody: the buyer's client opens it (an Alipay
         * page/wap/app order string, a UnionPay front-consume form) */
        lua_settop(L, 0);
        out->credential = json_deep_copy(json_object_get(c.result, "credential"));
        char *text = out->credential != NULL
                     ? json_dumps(out->credential, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        out->masked = text != NULL ? pgw_mask_text(text, strlen(text),
                                                   json_object_get(p->manifest, "mask"))
                                   : NULL;
        free(text);
        json_decref(c.result);
        if (out->masked == NULL) {
            snprintf(err, errlen, "out of memory");
            pgw_msg_clear(out);
            return -1;
        }
        return 0;
    }
    out->method = pgw_call_strdup_field(c.result, "method", "POST");
    out->url = pgw_call_strdup_field(c.result, "url", endpoint);
    out->content_type = pgw_call_strdup_field(c.result, "content_type", NULL);
    out->body = malloc(blen + 1);
    if (out->body != NULL) {
        memcpy(out->body, body, blen);
        out->body[blen] = '\0';
        out->body_len = blen;
    }
    lua_settop(L, 0);

    out->headers = json_object();
    hdrs = json_object_get(c.result, "headers");
    if (hdrs != NULL && !json_is_object(hdrs) && !(json_is_array(hdrs)
                                                   && json_array_size(hdrs) == 0)) {
        snprintf(err, errlen, "build.%s: headers must be a table name -> value", op);
        goto fail;
    }
    json_object_foreach((json_t *) (json_is_object(hdrs) ? hdrs : NULL), k, v) {
        if (!json_is_string(v) || !pgw_call_header_safe(k)
            || !pgw_call_header_safe(json_string_value(v)) || out->headers == NULL) {
            snprintf(err, errlen, "build.%s: header '%s' must be a single-line string",
                     op, k);
            goto fail;
        }
        json_object_set(out->headers, k, v);
    }
    if (out->method == NULL || out->url == NULL || out->content_type == NULL
        || out->body == NULL || out->headers == NULL) {
        snprintf(err, errlen, "build.%s: result needs url (or ctx.endpoint), "
                 "content_type and body as single-line strings", op);
        goto fail;
    }
    out->masked = pgw_mask_text(out->body, out->body_len,
                                json_object_get(p->manifest, "mask"));
    if (out->masked == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    json_decref(c.result);
    return 0;

fail:
    json_decref(c.result);
    pgw_msg_clear(out);
    return -1;
}


void
pgw_msg_clear(struct pgw_msg *m)
{
    if (m == NULL) {
        return;
    }
    free(m->method);
    free(m->url);
    free(m->content_type);
    json_decref(m->headers);
    free(m->body);
    free(m->masked);
    json_decref(m->credential);
    memset(m, 0, sizeof(*m));
}


static void
pgw_outcome_init(struct pgw_pack *p, const char *body, size_t len, struct pgw_outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->cls = PGW_CLASS_PROCESSING;
    out->masked = pgw_mask_text(body, body != NULL ? len : 0,
                                p != NULL ? json_object_get(p->manifest, "mask") : NULL);
}


static void
pgw_outcome_error(struct pgw_outcome *out, const char *prefix, const char *msg)
{
    if (out->error[0] == '\0') {
        size_t pl = strlen(prefix), ml = strlen(msg);

        if (pl > sizeof(out->error) - 1) {
            pl = sizeof(out->error) - 1;
        }
        if (ml > sizeof(out->error) - 1 - pl) {
            ml = sizeof(out->error) - 1 - pl;      /* truncated on purpose */
        }
        memcpy(out->error, prefix, pl);
        memcpy(out->error + pl, msg, ml);
        out->error[pl + ml] = '\0';
    }
}


/* Fill code/fields/error from a pack result; returns the code ("" if none). */
static const char *
pgw_outcome_take(const json_t *r, struct pgw_outcome *out)
{
    const json_t *code = json_object_get(r, "code");
    const json_t *fields = json_object_get(r, "fields");
    const json_t *e = json_object_get(r, "error");
    const char *cs = "";
    char num[32];

    if (json_is_string(code)) {
        cs = json_string_value(code);
    } else if (json_is_integer(code)) {
        snprintf(num, sizeof(num), "%lld", (long long) json_integer_value(code));
        cs = num;
    }
    if (strlen(cs) >= sizeof(out->code)) {
        pgw_outcome_error(out, "", "code too long");
        cs = "";
    }
    snprintf(out->code, sizeof(out->code), "%s", cs);
    if (json_is_string(e) && json_string_length(e) > 0) {
        pgw_outcome_error(out, "", json_string_value(e));
    } else if (e != NULL && !json_is_null(e) && !json_is_false(e)) {
        pgw_outcome_error(out, "", "pack reported an error");
    }
    if (json_is_object(fields)) {
        out->fields = json_deep_copy(fields);
    } else if (fields != NULL && !(json_is_array(fields) && json_array_size(fields) == 0)) {
        pgw_outcome_error(out, "", "result.fields must be a table of named fields");
    }
    return out->code;
}


int
pgw_pack_parse(struct pgw_pack *p, const char *op, long http_status,
               const json_t *headers, const char *body, size_t len, const json_t *order,
               struct pgw_outcome *out)
{
    struct pgw_call c;
    char err[256];

    pgw_outcome_init(p, body, len, out);
    if (p == NULL || op == NULL || strcmp(op, "notify") == 0 || !pgw_pack_has_op(p, op)) {
        pgw_outcome_error(out, "no parser for operation ", op != NULL ? op : "(null)");
        goto done;
    }
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.kind = PGW_CALL_PARSE;
    c.op = op;
    c.order = order;
    c.status = http_status;
    c.headers = headers;
    c.body = body != NULL ? body : "";
    c.len = body != NULL ? len : 0;
    if (pgw_call_run(&c, err, sizeof(err)) != 0) {
        pgw_outcome_error(out, "script error: ", err);
        goto done;
    }
    lua_settop(p->sbx->L, 0);

    pgw_outcome_take(c.result, out);
    out->cls = pgw_classify(json_object_get(json_object_get(p->manifest, "codes"), op),
                            out->code);
    out->unmapped = out->code[0] != '\0'
        && !pgw_classify_mapped(json_object_get(json_object_get(p->manifest, "codes"), op),
                                out->code);
    if (json_is_true(json_object_get(p->manifest, "signed_responses"))
        && !json_is_true(json_object_get(c.result, "verified"))) {
        pgw_outcome_error(out, "", "response signature invalid");
    }
    json_decref(c.result);

done:
    if (http_status >= 500 || http_status < 100) {
        char msg[48];
        snprintf(msg, sizeof(msg), "HTTP status %ld", http_status);
        pgw_outcome_error(out, "", msg);
    }
    if (out->error[0] != '\0') {
        out->cls = PGW_CLASS_PROCESSING;
    }
    if (out->fields == NULL) {
        out->fields = json_object();
    }
    return 0;
}


static void
pgw_notify_ack(struct pgw_pack *p, const char *which, struct pgw_notify *out)
{
    const json_t *a = json_object_get(json_object_get(p != NULL ? p->manifest : NULL,
                                                      "notify_ack"), which);
    const json_t *st = json_object_get(a, "status");
    const json_t *ct = json_object_get(a, "content_type");
    const json_t *b = json_object_get(a, "body");
    int ok = strcmp(which, "ok") == 0;

    out->ack_status = json_is_integer(st) ? (int) json_integer_value(st) : (ok ? 200 : 400);
    snprintf(out->ack_content_type, sizeof(out->ack_content_type), "%s",
             json_is_string(ct) ? json_string_value(ct) : "text/plain");
    free(out->ack_body);
    out->ack_body = strdup(json_is_string(b) ? json_string_value(b) : (ok ? "success"
                                                                         : "fail"));
}


/* 1 if notify fields name a refund or payout (fields.kind + its number or
 * the channel's id for it) */
static int
pgw_call_names_xfer(const json_t *fields)
{
    const char *kind = json_string_value(json_object_get(fields, "kind"));

    if (kind == NULL) {
        return 0;
    }
    if (strcmp(kind, "refund") == 0) {
        return json_is_string(json_object_get(fields, "out_refund_no"))
               || json_is_string(json_object_get(fields, "channel_refund_no"));
    }
    if (strcmp(kind, "payout") == 0) {
        return json_is_string(json_object_get(fields, "out_payout_no"))
               || json_is_string(json_object_get(fields, "channel_payout_no"));
    }
    return 0;
}


int
pgw_pack_notify(struct pgw_pack *p, const char *content_type, const json_t *headers,
                const char *query, const char *body, size_t len, struct pgw_notify *out)
{
    struct pgw_call c;
    const json_t *otn;
    char err[256];

    memset(out, 0, sizeof(*out));
    pgw_outcome_init(p, body, len, &out->outcome);
    if (p == NULL || !pgw_pack_has_op(p, "notify")) {
        pgw_outcome_error(&out->outcome, "", "pack does not accept notifies");
        goto done;
    }
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.kind = PGW_CALL_NOTIFY;
    c.op = "notify";
    c.content_type = content_type;
    c.headers = headers;
    c.query = query;
    c.body = body != NULL ? body : "";
    c.len = body != NULL ? len : 0;
    if (pgw_call_run(&c, err, sizeof(err)) != 0) {
        pgw_outcome_error(&out->outcome, "script error: ", err);
        goto done;
    }
    lua_settop(p->sbx->L, 0);

    pgw_outcome_take(c.result, &out->outcome);
    otn = json_object_get(c.result, "out_trade_no");
    if (json_is_string(otn) && json_string_length(otn) > 0
        && json_string_length(otn) < sizeof(out->out_trade_no)
        && strlen(json_string_value(otn)) == json_string_length(otn)) {
        memcpy(out->out_trade_no, json_string_value(otn), json_string_length(otn) + 1);
    } else if (json_is_true(json_object_get(c.result, "verified"))
               && !pgw_call_names_xfer(out->outcome.fields)) {
        /* a refund / payout notify may name its row by our number or the
         * channel's own id instead of the payment */
        pgw_outcome_error(&out->outcome, "", "notify has no usable out_trade_no");
    }
    if (!json_is_true(json_object_get(c.result, "verified"))
        && json_is_true(json_object_get(c.result, "hint"))
        && out->out_trade_no[0] != '\0') {
        /* nothing it says is trusted; it may only make the host ask */
        out->hint = 1;
    }
    if (json_is_true(json_object_get(c.result, "verified"))
        && out->outcome.error[0] == '\0') {
        const json_t *nc = json_object_get(json_object_get(p->manifest, "codes"), "notify");

        out->verified = 1;
        out->outcome.cls = pgw_classify(nc, out->outcome.code);
        out->outcome.unmapped = out->outcome.code[0] != '\0'
                                && !pgw_classify_mapped(nc, out->outcome.code);
    } else if (out->outcome.error[0] == '\0') {
        pgw_outcome_error(&out->outcome, "", "notify signature invalid");
    }
    json_decref(c.result);

done:
    if (!out->verified) {
        out->outcome.cls = PGW_CLASS_PROCESSING;
    }
    pgw_notify_ack(p, out->verified || out->hint ? "ok" : "fail", out);
    if (out->outcome.fields == NULL) {
        out->outcome.fields = json_object();
    }
    return out->ack_body != NULL ? 0 : -1;
}


void
pgw_outcome_clear(struct pgw_outcome *o)
{
    if (o == NULL) {
        return;
    }
    json_decref(o->fields);
    free(o->masked);
    memset(o, 0, sizeof(*o));
}


void
pgw_notify_clear(struct pgw_notify *n)
{
    if (n == NULL) {
        return;
    }
    pgw_outcome_clear(&n->outcome);
    free(n->ack_body);
    memset(n, 0, sizeof(*n));
}


void
pgw_pack_set_token(struct pgw_pack *p, const json_t *token)
{
    lua_State *L = p->sbx->L;
    const json_t *at = json_object_get(token, "access_token");

    if (!lua_checkstack(L, 2)) {
        return;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ctx_ref);
    if (json_is_string(at)) {
        lua_pushlstring(L, json_string_value(at), json_string_length(at));
    } else {
        lua_pushnil(L);
    }
    lua_setfield(L, -2, "token");       /* ctx is a plain table: no metamethods */
    lua_pop(L, 1);
}


/* ---- statements: S.statement(text, ctx) -------------------------------- */

struct pgw_stmt_call {
    struct pgw_pack *p;
    const char *text;
    size_t len;
    json_t *result;
    char err[256];
};

static int
pgw_stmt_tramp(lua_State *L)
{
    struct pgw_stmt_call *c = lua_touserdata(L, 1);

    lua_settop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->p->s_ref);
    lua_getfield(L, -1, "statement");
    if (!lua_isfunction(L, -1)) {
        return luaL_error(L, "pack has no statement function");
    }
    lua_pushlstring(L, c->text, c->len);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->p->ctx_ref);
    lua_call(L, 2, 1);
    if (!lua_istable(L, -1)) {
        return luaL_error(L, "statement must return a table, got %s",
                          luaL_typename(L, -1));
    }
    c->result = pgw_lua_to_json(L, lua_gettop(L), c->err, sizeof(c->err));
    if (c->result == NULL) {
        return luaL_error(L, "result: %s", c->err);
    }
    return 0;
}

int
pgw_pack_statement(struct pgw_pack *p, const char *text, size_t len, json_t **out,
                   char *err, size_t errlen)
{
    struct pgw_stmt_call c;
    lua_State *L;
    const json_t *e;

    *out = NULL;
    if (p == NULL || text == NULL) {
        snprintf(err, errlen, "no pack or no text");
        return -1;
    }
    L = p->sbx->L;
    memset(&c, 0, sizeof(c));
    c.p = p;
    c.text = text;
    c.len = len;
    if (!lua_checkstack(L, 4)) {
        snprintf(err, errlen, "Lua stack exhausted");
        return -1;
    }
    /* a statement is a whole day of rows: its call gets budgets that grow
     * with the text (instructions and bytes per input byte), then the
     * state is collected and the per-call budgets come back */
    long budget = p->sbx->budget;
    size_t mem_limit = p->sbx->mem_limit;
    size_t extra = len > (SIZE_MAX - mem_limit) / 24 ? SIZE_MAX - mem_limit : len * 24;
    int rc;

    p->sbx->budget = len < (size_t) (LONG_MAX / 2 - budget) / 64
                         ? budget + (long) len * 64 : LONG_MAX / 2;
    if (p->sbx->budget > INT_MAX) {
        p->sbx->budget = INT_MAX;      /* lua_sethook takes an int count */
    }
    p->sbx->mem_limit = mem_limit + extra;
    lua_pushcfunction(L, pgw_stmt_tramp);
    lua_pushlightuserdata(L, &c);
    rc = pgw_sbx_call(p->sbx, 1, 0, err, errlen);
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
    p->sbx->budget = budget;
    p->sbx->mem_limit = mem_limit;
    if (rc != 0) {
        json_decref(c.result);
        return -1;
    }
    e = json_object_get(c.result, "error");
    if (json_is_string(e) && json_string_length(e) > 0
        && json_object_get(c.result, "rows") == NULL) {
        snprintf(err, errlen, "%s", json_string_value(e));
        json_decref(c.result);
        return -1;
    }
    *out = c.result;
    return 0;
}
