/*
 * pgw_pack.h -- the adapter runtime API: channel packs (Lua 5.4 builders in
 * templates/<channel>.lua, interpreters in scripts/<channel>.lua) loaded into
 * a sandbox, versioned, swapped atomically, and called to build outgoing
 * channel messages, interpret answers and verify notifies.
 *
 * Invariants:
 *  - classification is the host's (pgw_classify): a code is SUCCESS only if it
 *    is on the operation's success list, FAILED only if on its failure list;
 *    anything unproven (script error, bad signature, 5xx, unknown code) is
 *    PROCESSING.  A pack error is never FAILED.
 *  - a loaded pack version is immutable and refcounted; pgw_packs_load swaps
 *    the channel's current version only after its fixtures pass, and callers
 *    that retained the old version keep using it until they release it.
 *  - everything runs on one thread (the daemon's event loop); the Lua state of
 *    a version is reused across calls, each call gets a fresh instruction
 *    budget, and the state's memory is capped.
 *  - private keys never enter Lua: packs sign and verify by key name.
 *
 * Ownership: "borrowed" results live as long as the object they come from;
 * everything a struct says it owns is released by its _clear function.
 */

#ifndef PGW_PACK_H
#define PGW_PACK_H

#include <stddef.h>
#include <jansson.h>


enum pgw_class {                /* host classification of one channel answer */
    PGW_CLASS_PROCESSING = 0,   /* default: anything not proven */
    PGW_CLASS_SUCCESS,          /* code on the op's success list */
    PGW_CLASS_FAILED,           /* code on the op's definite-failure list */
    PGW_CLASS_CLOSED,           /* code on the op's closed list (query: closed unpaid) */
    PGW_CLASS_NOT_FOUND,        /* code on the op's not_found list (query) */
    PGW_CLASS_NOT_SENT          /* code on the op's rejected list, or transport proof */
};

struct pgw_packs;   /* registry: channel name -> current pack version */
struct pgw_pack;    /* one loaded immutable version of a channel pack, refcounted */

/* New registry (NULL + err on failure).  The directories are copied. */
struct pgw_packs *pgw_packs_new(const char *templates_dir, const char *scripts_dir,
                                const char *keystore_dir, char *err, size_t errlen);
/* Drops the registry's reference on every current version; versions retained
 * elsewhere stay alive until released. */
void pgw_packs_free(struct pgw_packs *);
/* Compile templates/<channel>.lua + scripts/<channel>.lua, validate the
 * manifest, run the fixtures in <templates_dir>/<channel>.fixtures/, then swap
 * the new version in.  config (borrowed, may be NULL) becomes ctx.config.
 * 0 on success; -1 with "<file>:<line>: ..." or "<file>: <field>: ..." in err,
 * the current version (if any) staying untouched. */
int  pgw_packs_load(struct pgw_packs *, const char *channel, json_t *config /*borrowed*/,
                    char *err, size_t errlen);           /* compile + run fixtures + swap */
struct pgw_pack *pgw_packs_get(struct pgw_packs *, const char *channel); /* borrowed */
void pgw_pack_retain(struct pgw_pack *); void pgw_pack_release(struct pgw_pack *);
const char *pgw_pack_channel(const struct pgw_pack *);
const char *pgw_pack_version(const struct pgw_pack *);  /* sha256 hex prefix of its files */
const json_t *pgw_pack_manifest(const struct pgw_pack *); /* borrowed */

struct pgw_msg {        /* an outgoing channel message, all fields owned */
    char *method;       /* "POST" */
    char *url;
    char *content_type;
    json_t *headers;    /* object name -> string */
    char *body; size_t body_len;
    char *masked;       /* body with secrets masked, for the message log */
    json_t *credential; /* non-NULL: a local credential the builder returned
                           ({credential = {...}}, no body): nothing is sent,
                           the buyer's client opens it; url etc. are NULL */
};
/* Build the message for op ("pay", "query", "close", ...).  0 on success;
 * -1 + err (nothing was built, so nothing may be sent). */
int  pgw_pack_build(struct pgw_pack *, const char *op, const json_t *order,
                    struct pgw_msg *out, char *err, size_t errlen);
void pgw_msg_clear(struct pgw_msg *);

struct pgw_outcome {    /* an interpreted channel answer, owned */
    enum pgw_class cls;
    char code[128];     /* the code the script extracted, "" if none */
    json_t *fields;     /* channel_trade_no, credential{type,qr_code}, amount, ... */
    char error[256];    /* script / parse / signature error, "" if none */
    char *masked;       /* the raw answer with secrets masked */
    int unmapped;       /* a code was extracted but is on none of the op's lists:
                           PROCESSING, and counted per (channel, code) */
};
/* headers (borrowed, may be NULL): the answer's headers, name -> string; the
 * pack sees them as resp.headers with lower-case names (resp = {status,
 * headers, body}). */
int  pgw_pack_parse(struct pgw_pack *, const char *op, long http_status,
                    const json_t *headers, const char *body, size_t len,
                    const json_t *order,
                    struct pgw_outcome *out);   /* always fills out; script errors
                                                   give PROCESSING + error */
struct pgw_notify {
    int verified;       /* 1 only if the signature checked out */
    int hint;           /* unverified, but the pack says it only asks for a query
                           (e.g. Mollie's unsigned webhook): out_trade_no names
                           the order to query now; its status never changes */
    char out_trade_no[65];
    struct pgw_outcome outcome;   /* classified against the op "notify" lists */
    char *ack_body; char ack_content_type[64]; int ack_status;
};
/* req = {content_type, headers (lower-case names), query (the raw query
 * string of the notify URL, "" if none), body} for the pack */
int  pgw_pack_notify(struct pgw_pack *, const char *content_type, const json_t *headers,
                     const char *query, const char *body, size_t len,
                     struct pgw_notify *out);
void pgw_outcome_clear(struct pgw_outcome *); void pgw_notify_clear(struct pgw_notify *);


/* ---- additions beyond docs/internals.md (all optional for callers) ---- */

/* Classify one code against an operation's lists, the JSON form found in the
 * manifest under codes.<op>: {"success":{"codes":[...],"source":"..."}, ...}.
 * Exact string match; NULL/"" code, NULL lists, a code on no list or on more
 * than one list -> PGW_CLASS_PROCESSING. */
enum pgw_class pgw_classify(const json_t *op_codes, const char *code);
const char *pgw_class_name(enum pgw_class);       /* "SUCCESS", ... (static) */
/* 1 if code is on any of the op's lists (processing included), else 0 */
int pgw_classify_mapped(const json_t *op_codes, const char *code);
int pgw_class_from_name(const char *name, enum pgw_class *out); /* 0 / -1 */

/* Mask a channel message for the log: values of the listed fields (JSON
 * array of names, may be NULL) in form, JSON and XML text become "***", and
 * any run of 13-19 digits becomes first6 + "****" + last4.  Returns a new
 * NUL-terminated malloc'd string (NULL on allocation failure). */
char *pgw_mask_text(const char *text, size_t len, const json_t *fields);

/* Where gw.log lines go (default: a JSON line on stderr).  level is
 * "debug"|"info"|"warn"|"error"; msg is already masked. */
typedef void (*pgw_log_fn)(const char *level, const char *channel, const char *msg,
                           void *ud);
void pgw_adapters_set_log(pgw_log_fn fn, void *ud);

/* OAuth2 channels (manifest.auth.op): the access token builders see as
 * ctx.token (token->access_token, a string); NULL removes it.  Per version:
 * a new version starts without one. */
void pgw_pack_set_token(struct pgw_pack *, const json_t *token);

/* ---- versions (live reload, rollback, canary; docs/pack-versions.md) ----
 * prepare_version: compile + validate + fixtures of the files on disk into
 * *out (retained, not installed): 0; 1 when they hash to the current version
 * (nothing built); -1 + err ("<file>:<line>: ..." or the failing fixture).
 * install: p becomes current, the current one becomes the rollback target;
 * the registry retains p.  pgw_packs_load = prepare_version + install (0 also
 * when unchanged).  rollback: current <-> previous (-1 + err when none).
 * find_version: a remembered version of the channel by its hash (borrowed). */
int pgw_packs_prepare_version(struct pgw_packs *, const char *channel, json_t *config,
                              struct pgw_pack **out, char *err, size_t errlen);
int pgw_packs_install(struct pgw_packs *, const char *channel, struct pgw_pack *p,
                      char *err, size_t errlen);
int pgw_packs_rollback(struct pgw_packs *, const char *channel, char *err, size_t errlen);
struct pgw_pack *pgw_packs_prev(struct pgw_packs *, const char *channel);
struct pgw_pack *pgw_packs_find_version(struct pgw_packs *, const char *channel,
                                        const char *version);
/* remember a version served outside the registry's current one (a canary) */
void pgw_packs_remember_version(struct pgw_packs *, const char *channel,
                                struct pgw_pack *p);

/* Dry run of pgw_packs_load: compile, validate and run the fixtures of the
 * files on disk without swapping anything in (for "paygwd -t" and CI).
 * 0 / -1 + err. */
int pgw_packs_check(struct pgw_packs *, const char *channel, json_t *config,
                    char *err, size_t errlen);

/* Parse a channel statement (reconciliation file text, raw bytes as
 * downloaded and unpacked) with the pack's S.statement(text, ctx), sandboxed
 * like a parser.  0 with *out = its result as JSON ({rows = [...], totals =
 * {...}, error?}, new reference); -1 + err when the pack has no statement
 * function, the script raised, or it returned only an error.  The call's
 * instruction and memory budgets grow with len (a day of rows). */
int pgw_pack_statement(struct pgw_pack *, const char *text, size_t len, json_t **out,
                       char *err, size_t errlen);

#endif /* PGW_PACK_H */
