/*
 * pgw_packs.c -- the pack registry and pack versions.
 *
 * Owns: channel -> current version map, the previous version (one-step
 * rollback) and the last few versions served (an order's later operations
 * run on the version that built it while it is remembered); loading (read both files, version =
 * first 12 hex of sha256(template bytes || script bytes || the keystore files
 * the channel's config names), run the fixtures
 * in a fixture sandbox, open the real instance, then swap); opening one
 * version (fresh sandbox, compile both chunks as text, build the merged
 * manifest and validate it, prepare ctx); refcounts.
 *
 * Invariants: a version is never modified after pgw_pack_open; the registry
 * holds one reference on each current version, pgw_packs_load drops it only
 * after the replacement is fully built and its fixtures passed, so a failed
 * load leaves the running version in place and an in-flight user that
 * retained the old version keeps it alive.  Single-threaded (event loop).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lua.h>
#include <lauxlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pgw_adapter.h"
#include "pgw_pack.h"


#define PGW_PACKS_HISTORY 8

struct pgw_packs_entry {
    char channel[64];
    struct pgw_pack *cur;
    struct pgw_pack *prev;                      /* rollback target, retained */
    struct pgw_pack *hist[PGW_PACKS_HISTORY];   /* recently served versions,
                                                   retained: an order's later
                                                   operations find theirs */
    size_t nhist;
};

struct pgw_packs {
    char *tdir;
    char *sdir;
    char *kdir;
    struct pgw_packs_entry *v;
    size_t n;
    size_t cap;
};


/* the operations of docs/pack-operations.md */
static const char *const pgw_pack_ops[] = {
    "pay", "query", "close", "cancel", "capture", "refund", "refund_query", "payout",
    "payout_query", "bill", "token", "details", NULL
};


char *
pgw_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long sz;

    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: cannot read", path);
    } else if ((size_t) sz > max) {
        snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
    } else if ((buf = malloc((size_t) sz + 1)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
    } else if (fread(buf, 1, (size_t) sz, f) != (size_t) sz) {
        snprintf(err, errlen, "%s: short read", path);
        free(buf);
        buf = NULL;
    } else {
        buf[sz] = '\0';
        *len = (size_t) sz;
    }
    fclose(f);
    return buf;
}


static int
pgw_packs_channel_ok(const char *c)
{
    size_t i, n = c != NULL ? strlen(c) : 0;

    if (n == 0 || n >= 64) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9') || c[i] == '_')) {
            return 0;
        }
    }
    return 1;
}


/* ---- one version ---- */

static int
pgw_pack_run_chunk(struct pgw_pack *p, const char *file, const char *buf, size_t len,
                   int *ref, char *err, size_t errlen)
{
    lua_State *L = p->sbx->L;
    char name[1100];

    snprintf(name, sizeof(name), "@%s", file);
    if (pgw_sbx_load(p->sbx, buf, len, name, err, errlen) != 0
        || pgw_sbx_call(p->sbx, 0, 1, err, errlen) != 0) {
        return -1;
    }
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        snprintf(err, errlen, "%s: the file must return a table", file);
        return -1;
    }
    *ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (*ref == LUA_REFNIL || *ref == LUA_NOREF) {
        snprintf(err, errlen, "%s: out of memory", file);
        return -1;
    }
    return 0;
}


struct pgw_pack_prep {           /* pgw_pack_prepare's in/out (runs under pcall) */
    struct pgw_pack *p;
    const json_t *config;
    json_t *manifest;            /* out: merged manifest */
    char err[512];
};


static int
pgw_pack_known_op(const char *op)
{
    size_t i;

    for (i = 0; pgw_pack_ops[i] != NULL; i++) {
        if (strcmp(pgw_pack_ops[i], op) == 0) {
            return 1;
        }
    }
    return 0;
}


static int
pgw_pack_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}


/* Under pcall: reads T.manifest, T.build, S.codes, S.parse, S.notify,
 * builds the merged manifest and the ctx table (left in the registry). */
static int
pgw_pack_prepare(lua_State *L)
{
    struct pgw_pack_prep *pp = lua_touserdata(L, 1);
    struct pgw_pack *p = pp->p;
    const char *ops[16];
    size_t nops = 0, i;
    json_t *m, *codes, *arr;
    const json_t *ep;
    char jerr[200];

    lua_settop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->t_ref);                     /* 2 */
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->s_ref);                     /* 3 */
    if (lua_getfield(L, 2, "build") != LUA_TTABLE) {                 /* 4 */
        return luaL_error(L, "%s: build: must be a table of builder functions", p->tfile);
    }
    if (lua_getfield(L, 3, "parse") != LUA_TTABLE) {                 /* 5 */
        return luaL_error(L, "%s: parse: must be a table of parser functions", p->sfile);
    }
    lua_pushnil(L);
    while (lua_next(L, 4) != 0) {
        const char *op = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (op == NULL || !pgw_pack_known_op(op)) {
            return luaL_error(L, "%s: build.%s: unknown operation (expected pay, query, "
                              "close, cancel, capture, refund, refund_query, payout, "
                              "payout_query, bill, token)",
                              p->tfile, op != NULL ? op : "?");
        }
        if (!lua_isfunction(L, -1)) {
            return luaL_error(L, "%s: build.%s: must be a function", p->tfile, op);
        }
        if (lua_getfield(L, 5, op) != LUA_TFUNCTION) {
            return luaL_error(L, "%s: parse.%s: missing parser for operation '%s'",
                              p->sfile, op, op);
        }
        lua_pop(L, 2);
        if (nops < 15) {
            ops[nops++] = op;     /* key strings stay referenced by the table */
        }
    }
    qsort(ops, nops, sizeof(ops[0]), pgw_pack_key_cmp);
    lua_getfield(L, 3, "notify");                                    /* 6 */
    if (!lua_isnil(L, 6) && !lua_isfunction(L, 6)) {
        return luaL_error(L, "%s: notify: must be a function", p->sfile);
    }
    if (lua_isfunction(L, 6)) {
        ops[nops++] = "notify";
    }

    /* manifest JSON: nothing may raise while these are held */
    lua_getfield(L, 2, "manifest");                                  /* 7 */
    lua_getfield(L, 3, "codes");                                     /* 8 */
    if (!lua_istable(L, 7)) {
        return luaL_error(L, "%s: manifest: missing (the template must return "
                          "{manifest = {...}, build = {...}})", p->tfile);
    }
    if (!lua_istable(L, 8)) {
        return luaL_error(L, "%s: codes: missing (the script must return {codes = "
                          "{...}, parse = {...}})", p->sfile);
    }
    m = pgw_lua_to_json(L, 7, jerr, sizeof(jerr));
    if (m == NULL) {
        return luaL_error(L, "%s: manifest: %s", p->tfile, jerr);
    }
    codes = pgw_lua_to_json(L, 8, jerr, sizeof(jerr));
    if (codes == NULL) {
        json_decref(m);
        return luaL_error(L, "%s: codes: %s", p->sfile, jerr);
    }
    if (!json_is_object(m) || !json_is_object(codes)) {
        int bad_codes = json_is_object(m);
        json_decref(m);
        json_decref(codes);
        return luaL_error(L, "%s: %s: must be a table with named fields",
                          bad_codes ? p->sfile : p->tfile, bad_codes ? "codes" : "manifest");
    }
    arr = json_array();
    for (i = 0; arr != NULL && i < nops; i++) {
        json_array_append_new(arr, json_string(ops[i]));
    }
    if (json_object_set_new(m, "codes", codes) != 0
        || json_object_set_new(m, "operations", arr) != 0
        || json_object_set_new(m, "version", json_string(p->version)) != 0) {
        json_decref(m);
        return luaL_error(L, "%s: manifest: out of memory", p->tfile);
    }
    pp->manifest = m;

    /* ctx = {channel, config, endpoint, manifest} -- after this point a raise
     * is fine: pp->manifest is freed by the caller */
    lua_createtable(L, 0, 4);                                        /* 9 */
    lua_pushstring(L, p->channel);
    lua_setfield(L, 9, "channel");
    if (pp->config != NULL) {
        pgw_lua_push_json(L, pp->config);
    } else {
        lua_newtable(L);
    }
    lua_setfield(L, 9, "config");
    ep = json_object_get(pp->config, "endpoint");
    if (!json_is_string(ep)) {
        ep = json_object_get(json_object_get(m, "endpoints"), "production");
    }
    if (json_is_string(ep)) {
        lua_pushstring(L, json_string_value(ep));
        lua_setfield(L, 9, "endpoint");
    }
    lua_pushvalue(L, 7);
    lua_setfield(L, 9, "manifest");
    p->ctx_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}


struct pgw_pack *
pgw_pack_open(const char *channel, const struct pgw_pack_src *src, const char *version,
              const char *keystore_dir, const json_t *config, long long frozen_ms,
              char *err, size_t errlen)
{
    struct pgw_pack_prep pp;
    struct pgw_pack *p;
    const char *mc;

    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->refs = 1;
    p->t_ref = p->s_ref = p->ctx_ref = LUA_NOREF;
    snprintf(p->channel, sizeof(p->channel), "%s", channel);
    snprintf(p->version, sizeof(p->version), "%s", version);
    p->tfile = strdup(src->tfile);
    p->sfile = strdup(src->sfile);
    p->keys = pgw_keystore_new(keystore_dir);
    p->sbx = pgw_sbx_new(PGW_SBX_MEM_LIMIT, PGW_SBX_BUDGET, err, errlen);
    if (p->tfile == NULL || p->sfile == NULL || p->keys == NULL || p->sbx == NULL) {
        if (p->sbx != NULL) {
            snprintf(err, errlen, "out of memory");
        }
        goto fail;
    }
    p->sbx->keys = p->keys;
    snprintf(p->sbx->channel, sizeof(p->sbx->channel), "%s", channel);
    if (frozen_ms >= 0) {
        p->sbx->clock_frozen = 1;
        p->sbx->frozen_ms = frozen_ms;
    }

    if (pgw_pack_run_chunk(p, src->tfile, src->tbuf, src->tlen, &p->t_ref, err, errlen)
        != 0
        || pgw_pack_run_chunk(p, src->sfile, src->sbuf, src->slen, &p->s_ref, err, errlen)
        != 0) {
        goto fail;
    }

    memset(&pp, 0, sizeof(pp));
    pp.p = p;
    pp.config = config;
    if (!lua_checkstack(p->sbx->L, 4)) {
        snprintf(err, errlen, "Lua stack exhausted");
        goto fail;
    }
    lua_pushcfunction(p->sbx->L, pgw_pack_prepare);
    lua_pushlightuserdata(p->sbx->L, &pp);
    if (pgw_sbx_call(p->sbx, 1, 0, err, errlen) != 0) {
        json_decref(pp.manifest);
        goto fail;
    }
    p->manifest = pp.manifest;

    if (pgw_manifest_validate(p->manifest, p->tfile, p->sfile, err, errlen) != 0) {
        goto fail;
    }
    mc = json_string_value(json_object_get(p->manifest, "channel"));
    if (strcmp(mc, channel) != 0) {
        snprintf(err, errlen, "%s: manifest.channel: is '%s' but the pack is loaded as "
                 "'%s'", p->tfile, mc, channel);
        goto fail;
    }
    return p;

fail:
    p->refs = 1;
    pgw_pack_release(p);
    return NULL;
}


int
pgw_pack_has_op(const struct pgw_pack *p, const char *op)
{
    const json_t *ops = json_object_get(p->manifest, "operations");
    size_t i;

    for (i = 0; op != NULL && i < json_array_size(ops); i++) {
        if (strcmp(json_string_value(json_array_get(ops, i)), op) == 0) {
            return 1;
        }
    }
    return 0;
}


void
pgw_pack_retain(struct pgw_pack *p)
{
    if (p != NULL) {
        p->refs++;
    }
}


void
pgw_pack_release(struct pgw_pack *p)
{
    if (p == NULL || --p->refs > 0) {
        return;
    }
    pgw_sbx_free(p->sbx);
    pgw_keystore_free(p->keys);
    json_decref(p->manifest);
    free(p->tfile);
    free(p->sfile);
    free(p);
}


const char *
pgw_pack_channel(const struct pgw_pack *p)
{
    return p->channel;
}


const char *
pgw_pack_version(const struct pgw_pack *p)
{
    return p->version;
}


const json_t *
pgw_pack_manifest(const struct pgw_pack *p)
{
    return p->manifest;
}


/* ---- registry ---- */

struct pgw_packs *
pgw_packs_new(const char *templates_dir, const char *scripts_dir, const char *keystore_dir,
              char *err, size_t errlen)
{
    struct pgw_packs *ps;

    if (templates_dir == NULL || scripts_dir == NULL || keystore_dir == NULL) {
        snprintf(err, errlen, "templates, scripts and keystore directories are required");
        return NULL;
    }
    ps = calloc(1, sizeof(*ps));
    if (ps == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ps->tdir = strdup(templates_dir);
    ps->sdir = strdup(scripts_dir);
    ps->kdir = strdup(keystore_dir);
    if (ps->tdir == NULL || ps->sdir == NULL || ps->kdir == NULL) {
        snprintf(err, errlen, "out of memory");
        pgw_packs_free(ps);
        return NULL;
    }
    return ps;
}


void
pgw_packs_free(struct pgw_packs *ps)
{
    size_t i;

    if (ps == NULL) {
        return;
    }
    for (i = 0; i < ps->n; i++) {
        pgw_pack_release(ps->v[i].cur);
        pgw_pack_release(ps->v[i].prev);
        for (size_t k = 0; k < ps->v[i].nhist; k++) {
            pgw_pack_release(ps->v[i].hist[k]);
        }
    }
    free(ps->v);
    free(ps->tdir);
    free(ps->sdir);
    free(ps->kdir);
    free(ps);
}


static struct pgw_packs_entry *
pgw_packs_find(struct pgw_packs *ps, const char *channel)
{
    size_t i;

    for (i = 0; channel != NULL && i < ps->n; i++) {
        if (strcmp(ps->v[i].channel, channel) == 0) {
            return &ps->v[i];
        }
    }
    return NULL;
}


struct pgw_pack *
pgw_packs_get(struct pgw_packs *ps, const char *channel)
{
    struct pgw_packs_entry *e = ps != NULL ? pgw_packs_find(ps, channel) : NULL;

    return e != NULL ? e->cur : NULL;
}


/* Adds to the version's digest every keystore file the channel's config
 * names (a string param that is a key name, under each name the keystore
 * looks for: <name>.pem, .key, bare, .secret): a rotated key or secret is a
 * new version, so `paygwctl channel reload` picks it up and each attempt
 * records which keys signed it.  Missing files add nothing (the build says
 * what is missing).  0, or -1 when a file cannot be read. */
static int
pgw_packs_digest_keys(EVP_MD_CTX *mctx, const char *kdir, const json_t *config)
{
    static const char *const ext[] = {".pem", ".key", "", ".secret", NULL};
    const char *k;
    const json_t *v;
    char path[1024], err[256];

    if (kdir == NULL || !json_is_object(config)) {
        return 0;
    }
    json_object_foreach((json_t *) config, k, v) {
        const char *name = json_string_value(v);
        if (name == NULL || !pgw_keystore_name_ok(name)) {
            continue;
        }
        for (int i = 0; ext[i] != NULL; i++) {
            struct stat sb;
            size_t len;
            char *bytes;

            snprintf(path, sizeof(path), "%s/%s%s", kdir, name, ext[i]);
            if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
                continue;
            }
            bytes = pgw_read_file(path, PGW_PACK_FILE_MAX, &len, err, sizeof(err));
            if (bytes == NULL) {
                return -1;
            }
            if (EVP_DigestUpdate(mctx, path + strlen(kdir), strlen(path + strlen(kdir)) + 1)
                    != 1
                || EVP_DigestUpdate(mctx, bytes, len) != 1) {
                OPENSSL_cleanse(bytes, len);
                free(bytes);
                return -1;
            }
            OPENSSL_cleanse(bytes, len);
            free(bytes);
        }
    }
    return 0;
}


/* Compile, validate and run fixtures; on success *out is the new instance
 * (when out != NULL).  The sources are freed here. */
static int
pgw_packs_prepare(struct pgw_packs *ps, const char *channel, const json_t *config,
                  struct pgw_pack **out, const char *unless, char *err, size_t errlen)
{
    char tfile[1024], sfile[1024], fixdir[1024], version[13];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct pgw_pack_src src;
    char *tbuf = NULL, *sbuf = NULL;
    size_t tlen = 0, slen = 0;
    EVP_MD_CTX *mctx;
    int rc = -1, i;

    if (ps == NULL || !pgw_packs_channel_ok(channel)) {
        snprintf(err, errlen, "invalid channel name (expected [a-z0-9_]{1,63})");
        return -1;
    }
    snprintf(tfile, sizeof(tfile), "%s/%s.lua", ps->tdir, channel);
    snprintf(sfile, sizeof(sfile), "%s/%s.lua", ps->sdir, channel);
    snprintf(fixdir, sizeof(fixdir), "%s/%s.fixtures", ps->tdir, channel);

    tbuf = pgw_read_file(tfile, PGW_PACK_FILE_MAX, &tlen, err, errlen);
    if (tbuf == NULL) {
        goto done;
    }
    sbuf = pgw_read_file(sfile, PGW_PACK_FILE_MAX, &slen, err, errlen);
    if (sbuf == NULL) {
        goto done;
    }

    mctx = EVP_MD_CTX_new();
    if (mctx == NULL || EVP_DigestInit_ex(mctx, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(mctx, tbuf, tlen) != 1 || EVP_DigestUpdate(mctx, sbuf, slen) != 1
        || pgw_packs_digest_keys(mctx, ps->kdir, config) != 0
        || EVP_DigestFinal_ex(mctx, md, &mdlen) != 1) {
        EVP_MD_CTX_free(mctx);
        snprintf(err, errlen, "cannot hash pack files");
        goto done;
    }
    EVP_MD_CTX_free(mctx);
    for (i = 0; i < 6; i++) {
        snprintf(version + 2 * i, 3, "%02x", md[i]);
    }
    if (unless != NULL && strcmp(unless, version) == 0) {
        rc = 1;                 /* the files have not changed */
        goto done;
    }

    src.tfile = tfile;
    src.tbuf = tbuf;
    src.tlen = tlen;
    src.sfile = sfile;
    src.sbuf = sbuf;
    src.slen = slen;

    if (pgw_fixtures_run(channel, &src, version, fixdir, err, errlen) != 0) {
        goto done;
    }
    if (out != NULL) {
        *out = pgw_pack_open(channel, &src, version, ps->kdir, config, -1, err, errlen);
        if (*out == NULL) {
            goto done;
        }
    }
    rc = 0;

done:
    free(tbuf);
    free(sbuf);
    return rc;
}


int
pgw_packs_check(struct pgw_packs *ps, const char *channel, json_t *config, char *err,
                size_t errlen)
{
    struct pgw_pack *p = NULL;

    if (pgw_packs_prepare(ps, channel, config, &p, NULL, err, errlen) != 0) {
        return -1;
    }
    pgw_pack_release(p);
    return 0;
}


static struct pgw_packs_entry *
pgw_packs_entry_add(struct pgw_packs *ps, const char *channel)
{
    struct pgw_packs_entry *e = pgw_packs_find(ps, channel);

    if (e != NULL) {
        return e;
    }
    if (ps->n == ps->cap) {
        size_t cap = ps->cap != 0 ? ps->cap * 2 : 8;
        struct pgw_packs_entry *v = realloc(ps->v, cap * sizeof(*v));
        if (v == NULL) {
            return NULL;
        }
        ps->v = v;
        ps->cap = cap;
    }
    e = &ps->v[ps->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->channel, sizeof(e->channel), "%s", channel);
    return e;
}


static void
pgw_packs_remember(struct pgw_packs_entry *e, struct pgw_pack *p)
{
    for (size_t i = 0; i < e->nhist; i++) {
        if (e->hist[i] == p) {
            return;
        }
    }
    if (e->nhist == PGW_PACKS_HISTORY) {
        pgw_pack_release(e->hist[0]);
        memmove(&e->hist[0], &e->hist[1], (PGW_PACKS_HISTORY - 1) * sizeof(e->hist[0]));
        e->nhist--;
    }
    pgw_pack_retain(p);
    e->hist[e->nhist++] = p;
}


int
pgw_packs_prepare_version(struct pgw_packs *ps, const char *channel, json_t *config,
                          struct pgw_pack **out, char *err, size_t errlen)
{
    struct pgw_pack *cur = pgw_packs_get(ps, channel);

    *out = NULL;
    return pgw_packs_prepare(ps, channel, config, out,
                             cur != NULL ? pgw_pack_version(cur) : NULL, err, errlen);
}


int
pgw_packs_install(struct pgw_packs *ps, const char *channel, struct pgw_pack *p,
                  char *err, size_t errlen)
{
    struct pgw_packs_entry *e = pgw_packs_entry_add(ps, channel);

    if (e == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (e->cur == p) {
        return 0;
    }
    pgw_pack_retain(p);
    pgw_packs_remember(e, p);
    pgw_pack_release(e->prev);
    e->prev = e->cur;           /* the registry's reference moves to prev */
    e->cur = p;                 /* the swap: new callers get the new version */
    return 0;
}


int
pgw_packs_load(struct pgw_packs *ps, const char *channel, json_t *config, char *err,
               size_t errlen)
{
    struct pgw_pack *p = NULL;
    int rc = pgw_packs_prepare_version(ps, channel, config, &p, err, errlen);

    if (rc != 0) {
        return rc < 0 ? -1 : 0;     /* unchanged: nothing to swap */
    }
    rc = pgw_packs_install(ps, channel, p, err, errlen);
    pgw_pack_release(p);            /* install retained it */
    return rc;
}


int
pgw_packs_rollback(struct pgw_packs *ps, const char *channel, char *err, size_t errlen)
{
    struct pgw_packs_entry *e = ps != NULL ? pgw_packs_find(ps, channel) : NULL;
    struct pgw_pack *t;

    if (e == NULL || e->prev == NULL) {
        snprintf(err, errlen, "%s has no previous version to return to", channel);
        return -1;
    }
    t = e->cur;
    e->cur = e->prev;
    e->prev = t;
    return 0;
}


struct pgw_pack *
pgw_packs_prev(struct pgw_packs *ps, const char *channel)
{
    struct pgw_packs_entry *e = ps != NULL ? pgw_packs_find(ps, channel) : NULL;

    return e != NULL ? e->prev : NULL;
}


struct pgw_pack *
pgw_packs_find_version(struct pgw_packs *ps, const char *channel, const char *version)
{
    struct pgw_packs_entry *e = ps != NULL ? pgw_packs_find(ps, channel) : NULL;

    if (e == NULL || version == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < e->nhist; i++) {
        if (strcmp(pgw_pack_version(e->hist[i]), version) == 0) {
            return e->hist[i];
        }
    }
    return NULL;
}


void
pgw_packs_remember_version(struct pgw_packs *ps, const char *channel, struct pgw_pack *p)
{
    struct pgw_packs_entry *e = ps != NULL ? pgw_packs_entry_add(ps, channel) : NULL;

    if (e != NULL) {
        pgw_packs_remember(e, p);
    }
}
