/*
 * pgw_adapter.h -- internal contracts between the files of adapters/: the
 * sandboxed Lua state (pgw_sandbox.c), the keystore (pgw_keystore.c), the
 * gw.* libraries (pgw_lua_*.c), base64 (pgw_base64.c) and the manifest
 * checks (pgw_manifest.c).  Not for use outside adapters/.
 *
 * Rule for every lua_CFunction here: never raise a Lua error (luaL_error,
 * luaL_check*, or a Lua API call that may allocate) while holding a C
 * resource; resources that must survive such calls are parked in a guard
 * userdata (pgw_lua_guard) whose __gc releases them.
 */

#ifndef PGW_ADAPTER_H
#define PGW_ADAPTER_H

#include <stddef.h>
#include <jansson.h>
#include <lua.h>
#include <openssl/evp.h>
#include <openssl/x509.h>


#define PGW_SBX_MEM_LIMIT   (32u * 1024u * 1024u)  /* bytes per Lua state */
#define PGW_SBX_BUDGET      5000000L               /* VM instructions per call */
#define PGW_PACK_FILE_MAX   (1024 * 1024)          /* bytes per pack file */
#define PGW_PACK_OUTPUT_MAX (4 * 1024 * 1024)      /* bytes a builder's body, or a
                                                      parse/notify result as JSON,
                                                      may have (pgw_pack_call.c) */


struct pgw_keystore;

struct pgw_sbx {                /* one sandboxed Lua state and its budgets */
    lua_State *L;
    size_t mem_used;
    size_t mem_limit;
    long budget;                /* instructions per call */
    int exhausted;              /* budget ran out during the current call */
    struct pgw_keystore *keys;  /* borrowed; NULL = no keys available */
    char channel[64];           /* for gw.log */
    int clock_frozen;           /* fixtures: gw.time.now_ms returns frozen_ms */
    long long frozen_ms;
    unsigned long long id_seq;
};

/* sandbox (pgw_sandbox.c) */
struct pgw_sbx *pgw_sbx_new(size_t mem_limit, long budget, char *err, size_t errlen);
void pgw_sbx_free(struct pgw_sbx *);
struct pgw_sbx *pgw_sbx_of(lua_State *L);                  /* borrowed */
/* Compile text (never bytecode) and push the chunk; 0 / -1 + err. */
int pgw_sbx_load(struct pgw_sbx *, const char *buf, size_t len, const char *chunkname,
                 char *err, size_t errlen);
/* lua_pcall with a fresh instruction budget; on error pops the message into
 * err and returns -1. */
int pgw_sbx_call(struct pgw_sbx *, int nargs, int nresults, char *err, size_t errlen);

/* guards (pgw_sandbox.c) */
void **pgw_lua_guard(lua_State *L, void (*release)(void *));  /* pushes it */
void pgw_lua_guard_done(lua_State *L, int idx);               /* release now */

/* gw table (pgw_lua_gw.c): builds the global "gw" */
void pgw_lua_open_gw(lua_State *L);
/* string.find / match / gmatch / gsub with a step budget (pgw_lua_pattern.c),
 * set into the string table on top of the stack */
void pgw_lua_pattern_install(lua_State *L);
int pgw_luaopen_json(lua_State *L);
int pgw_luaopen_xml(lua_State *L);
int pgw_luaopen_form(lua_State *L);
int pgw_luaopen_crypto(lua_State *L);
int pgw_luaopen_time(lua_State *L);
int pgw_luaopen_amount(lua_State *L);
int pgw_lua_id(lua_State *L);
int pgw_lua_log(lua_State *L);
int pgw_lua_secret(lua_State *L);                 /* gw.secret (pgw_lua_secret.c) */
void pgw_lua_cipher_open(lua_State *L);  /* adds AES/SM4 to the table on top (pgw_lua_cipher.c) */
void pgw_lua_pkey_open(lua_State *L);    /* adds sign/verify/OAEP/cert_serial (pgw_lua_pkey.c) */
int pgw_luaopen_charset(lua_State *L);            /* gw.charset (pgw_lua_charset.c) */
void pgw_log_emit(const char *level, const char *channel, const char *msg);

/* JSON <-> Lua (pgw_lua_json.c) */
/* New reference, or NULL + err.  Never raises a Lua error. */
json_t *pgw_lua_to_json(lua_State *L, int idx, char *err, size_t errlen);
/* Pushes v; may raise a memory error (keep v in a guard). */
void pgw_lua_push_json(lua_State *L, const json_t *v);

/* base64 (pgw_base64.c) */
size_t pgw_b64_encoded_len(size_t n);                 /* without NUL */
void pgw_b64_encode(const unsigned char *in, size_t n, char *out); /* NUL-terminates */
/* Skips ASCII whitespace; out must hold len*3/4+3 bytes. 0 / -1 on bad input. */
int pgw_b64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen);

/* keystore (pgw_keystore.c) */
struct pgw_keystore *pgw_keystore_new(const char *dir);   /* NULL on ENOMEM */
void pgw_keystore_free(struct pgw_keystore *);
/* Borrowed key (cached), or NULL + err. */
EVP_PKEY *pgw_keystore_get(struct pgw_keystore *, const char *name, char *err,
                           size_t errlen);
int pgw_keystore_name_ok(const char *name);
/* The certificate stored under name (borrowed), or NULL + err when missing
 * or when the file holds a bare key. */
X509 *pgw_keystore_cert(struct pgw_keystore *, const char *name, char *err, size_t errlen);
/* Every certificate of the file stored under name, in file order (a PEM
 * bundle may hold several; the first is pgw_keystore_cert's), borrowed, or
 * NULL + err as pgw_keystore_cert. */
const STACK_OF(X509) *pgw_keystore_certs(struct pgw_keystore *, const char *name, char *err,
                                         size_t errlen);
/* Symmetric secret <dir>/<name>.secret, one trailing newline removed:
 * borrowed bytes (cached, cleansed at free) + *len, or NULL + err (which
 * names the secret, never its content). */
const char *pgw_keystore_secret(struct pgw_keystore *, const char *name, size_t *len,
                                char *err, size_t errlen);

/* manifest (pgw_manifest.c): m is the merged manifest (template manifest
 * plus "codes" from the script, plus "operations"). */
int pgw_manifest_validate(const json_t *m, const char *tfile, const char *sfile,
                          char *err, size_t errlen);

/* file read helper (pgw_packs.c): NUL-terminated, malloc'd; NULL + err. */
char *pgw_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);

/* one loaded version (pgw_packs.c); immutable after pgw_pack_open */
struct pgw_pack {
    int refs;
    char channel[64];
    char version[13];
    char *tfile;                /* template path, as in error messages */
    char *sfile;                /* script path */
    json_t *manifest;           /* merged manifest (+ codes, operations, version) */
    struct pgw_sbx *sbx;        /* the version's one long-lived Lua state */
    struct pgw_keystore *keys;
    int t_ref;                  /* registry refs: template module, script module, ctx */
    int s_ref;
    int ctx_ref;
};

struct pgw_pack_src {           /* the two files of a pack, in memory */
    const char *tfile;
    const char *tbuf;
    size_t tlen;
    const char *sfile;
    const char *sbuf;
    size_t slen;
};

/* Compile + validate one version in a fresh sandbox (refs = 1).  With
 * frozen_ms >= 0 the clock is frozen (fixtures).  NULL + err on failure. */
struct pgw_pack *pgw_pack_open(const char *channel, const struct pgw_pack_src *src,
                               const char *version, const char *keystore_dir,
                               const json_t *config, long long frozen_ms, char *err,
                               size_t errlen);
/* Is op one the pack implements (manifest.operations)? */
int pgw_pack_has_op(const struct pgw_pack *, const char *op);

/* fixtures (pgw_fixtures.c): run <fixdir>/cases.lua against a fixture
 * instance of src (keystore <fixdir>/keys).  0 / -1 + err. */
int pgw_fixtures_run(const char *channel, const struct pgw_pack_src *src,
                     const char *version, const char *fixdir, char *err, size_t errlen);

#endif /* PGW_ADAPTER_H */
