/*
 * pgw_manifest.c -- validation of a channel pack's manifest.
 *
 * The merged manifest is the template's `manifest` table plus the script's
 * `codes` table plus "operations" (the ops the pack implements, computed by
 * the host).  Required (template): channel, methods (name -> {kind,
 * currencies[, min_amount, max_amount]}), endpoints.production, timeouts
 * {connect_timeout_ms, timeout_ms}, first_query_delay_ms, query_backoff_ms;
 * optional: currencies, min_amount, max_amount (channel-wide), max_concurrency,
 * qps, mask, banks, signed_responses, notify_ack {ok, fail}
 * (required when the pack verifies notifies).  Required (script): codes.<op>
 * for every operation, each with a success list; every list is
 * {codes = {...non-empty strings}, source = "http..."}, and no code appears
 * on two lists of the same operation.  An operation whose synchronous answer
 * is never a final success (a refund or payout the channel only accepts; the
 * result comes by query or notify) says so instead of inventing a code:
 * success = {none = "<why, at least 20 bytes>", source = "http..."} -- a list
 * with no codes, so nothing can match it.  Errors read "<file>: <field>: <why>".
 */

#include <stdio.h>
#include <string.h>

#include "pgw_adapter.h"


#define PGW_MF_FAIL(file, ...)                                                         \
    do {                                                                               \
        char pgw_mf_m[256];                                                            \
        snprintf(pgw_mf_m, sizeof(pgw_mf_m), __VA_ARGS__);                             \
        snprintf(err, errlen, "%s: %s", file, pgw_mf_m);                               \
        return -1;                                                                     \
    } while (0)


static const char *const pgw_mf_lists[] = {
    "success", "failure", "processing", "closed", "not_found", "rejected", NULL
};


static int
pgw_mf_posint(const json_t *v, int allow_zero)
{
    return json_is_integer(v) && (json_integer_value(v) > 0
                                  || (allow_zero && json_integer_value(v) == 0));
}


static int
pgw_mf_ack(const json_t *ack, const char *which, const char *tfile, char *err,
           size_t errlen)
{
    const json_t *a = json_object_get(ack, which);
    const json_t *st = json_object_get(a, "status");

    if (!json_is_object(a)) {
        PGW_MF_FAIL(tfile, "manifest.notify_ack.%s: missing (a table {status, "
                    "content_type, body})", which);
    }
    if (!json_is_integer(st) || json_integer_value(st) < 200
        || json_integer_value(st) > 599) {
        PGW_MF_FAIL(tfile, "manifest.notify_ack.%s.status: must be an HTTP status", which);
    }
    if (!json_is_string(json_object_get(a, "content_type"))
        || json_string_length(json_object_get(a, "content_type")) >= 64) {
        PGW_MF_FAIL(tfile, "manifest.notify_ack.%s.content_type: must be a short string",
                    which);
    }
    if (!json_is_string(json_object_get(a, "body"))) {
        PGW_MF_FAIL(tfile, "manifest.notify_ack.%s.body: must be a string", which);
    }
    return 0;
}


static int
pgw_mf_codes(const json_t *m, const char *op, const char *sfile, char *err, size_t errlen)
{
    const json_t *codes = json_object_get(json_object_get(m, "codes"), op);
    const char *name;
    json_t *list;
    json_t *seen;

    if (!json_is_object(codes)) {
        PGW_MF_FAIL(sfile, "codes.%s: missing (the code lists of operation '%s')", op, op);
    }
    if (json_object_get(codes, "success") == NULL) {
        PGW_MF_FAIL(sfile, "codes.%s.success: missing", op);
    }
    seen = json_object();
    if (seen == NULL) {
        PGW_MF_FAIL(sfile, "out of memory");
    }
    json_object_foreach((json_t *) codes, name, list) {
        const json_t *arr = json_object_get(list, "codes");
        const json_t *src = json_object_get(list, "source");
        size_t i, known = 0;

        for (i = 0; pgw_mf_lists[i] != NULL; i++) {
            known |= strcmp(pgw_mf_lists[i], name) == 0;
        }
        if (!known) {
            json_decref(seen);
            PGW_MF_FAIL(sfile, "codes.%s.%s: unknown list (expected success, failure, "
                        "processing, closed, not_found or rejected)", op, name);
        }
        if (json_object_get(list, "none") != NULL) {
            const json_t *why = json_object_get(list, "none");
            if (strcmp(name, "success") != 0) {
                json_decref(seen);
                PGW_MF_FAIL(sfile, "codes.%s.%s.none: only a success list may be "
                            "declared empty (leave the %s list out instead)", op, name, name);
            }
            if (arr != NULL) {
                json_decref(seen);
                PGW_MF_FAIL(sfile, "codes.%s.success: has both 'none' and 'codes'", op);
            }
            if (!json_is_string(why) || json_string_length(why) < 20
                || json_string_length(why) >= 512) {
                json_decref(seen);
                PGW_MF_FAIL(sfile, "codes.%s.success.none: must say why no synchronous "
                            "answer of '%s' is final (20-511 bytes)", op, op);
            }
        } else if (!json_is_array(arr) || json_array_size(arr) == 0) {
            json_decref(seen);
            PGW_MF_FAIL(sfile, "codes.%s.%s.codes: must be a non-empty list of strings "
                        "(or, for success only, none = \"<why>\")", op, name);
        }
        if (!json_is_string(src) || strncmp(json_string_value(src), "http", 4) != 0) {
            json_decref(seen);
            PGW_MF_FAIL(sfile, "codes.%s.%s.source: missing documentation URL", op, name);
        }
        for (i = 0; i < json_array_size(arr); i++) {
            const json_t *c = json_array_get(arr, i);
            const json_t *prev;
            if (!json_is_string(c) || json_string_length(c) == 0
                || json_string_length(c) >= 128) {
                json_decref(seen);
                PGW_MF_FAIL(sfile, "codes.%s.%s.codes[%zu]: must be a non-empty string "
                            "(< 128 bytes)", op, name, i + 1);
            }
            prev = json_object_get(seen, json_string_value(c));
            if (prev != NULL && strcmp(json_string_value(prev), name) != 0) {
                char msg[200];
                snprintf(msg, sizeof(msg), "code '%s' is on both '%s' and '%s'",
                         json_string_value(c), json_string_value(prev), name);
                json_decref(seen);
                PGW_MF_FAIL(sfile, "codes.%s: %s", op, msg);
            }
            json_object_set_new(seen, json_string_value(c), json_string(name));
        }
    }
    json_decref(seen);
    return 0;
}


int
pgw_manifest_validate(const json_t *m, const char *tfile, const char *sfile, char *err,
                      size_t errlen)
{
    const json_t *v, *ops;
    const char *k;
    json_t *meth;
    size_t i;
    int has_notify = 0;

    if (!json_is_object(m)) {
        PGW_MF_FAIL(tfile, "manifest: missing (the template must return {manifest = "
                    "{...}, build = {...}})");
    }
    v = json_object_get(m, "channel");
    if (!json_is_string(v) || json_string_length(v) == 0) {
        PGW_MF_FAIL(tfile, "manifest.channel: must be a non-empty string");
    }

    v = json_object_get(m, "methods");
    if (!json_is_object(v) || json_object_size(v) == 0) {
        PGW_MF_FAIL(tfile, "manifest.methods: must map method names to {kind, currencies}");
    }
    json_object_foreach((json_t *) v, k, meth) {
        const json_t *cur = json_object_get(meth, "currencies");
        const json_t *mn = json_object_get(meth, "min_amount");
        const json_t *mx = json_object_get(meth, "max_amount");

        const char *kind = json_string_value(json_object_get(meth, "kind"));
        const json_t *mp = json_object_get(meth, "micropay");

        if (kind == NULL || (strcmp(kind, "prepay") != 0 && strcmp(kind, "direct") != 0
                             && strcmp(kind, "micropay") != 0)) {
            PGW_MF_FAIL(tfile, "manifest.methods[\"%s\"].kind: must be \"prepay\", "
                        "\"direct\" or \"micropay\"", k);
        }
        if (strcmp(kind, "micropay") == 0) {
            /* the host's query-then-reverse policy: every key optional */
            static const char *const ms[] = { "poll_ms", "give_up_after_ms",
                                              "reverse_not_before_ms",
                                              "reverse_retry_ms", "reverse_max" };
            const json_t *rop;

            if (!json_is_object(mp)) {
                mp = json_object_get(m, "micropay");
            }
            if (mp != NULL && !json_is_object(mp)) {
                PGW_MF_FAIL(tfile, "manifest.micropay: must be a table");
            }
            for (i = 0; mp != NULL && i < sizeof(ms) / sizeof(ms[0]); i++) {
                const json_t *x = json_object_get(mp, ms[i]);
                if (x != NULL && !pgw_mf_posint(x, 1)) {
                    PGW_MF_FAIL(tfile, "manifest.micropay.%s: must be a non-negative "
                                "integer", ms[i]);
                }
            }
            rop = json_object_get(mp, "reverse_op");
            if (rop != NULL && !json_is_string(rop)) {
                PGW_MF_FAIL(tfile, "manifest.micropay.reverse_op: must be an operation "
                            "name");
            }
        }
        if (!json_is_array(cur) || json_array_size(cur) == 0) {
            PGW_MF_FAIL(tfile, "manifest.methods[\"%s\"].currencies: must be a non-empty "
                        "list", k);
        }
        for (i = 0; i < json_array_size(cur); i++) {
            const json_t *c = json_array_get(cur, i);
            if (!json_is_string(c) || json_string_length(c) != 3) {
                PGW_MF_FAIL(tfile, "manifest.methods[\"%s\"].currencies[%zu]: must be an "
                            "ISO 4217 code", k, i + 1);
            }
        }
        if ((mn != NULL && !pgw_mf_posint(mn, 0)) || (mx != NULL && !pgw_mf_posint(mx, 0))
            || (mn != NULL && mx != NULL
                && json_integer_value(mn) > json_integer_value(mx))) {
            PGW_MF_FAIL(tfile, "manifest.methods[\"%s\"]: min_amount/max_amount must be "
                        "positive integers (minor units), min <= max", k);
        }
    }

    v = json_object_get(m, "currencies");
    if (v != NULL) {
        if (!json_is_array(v) || json_array_size(v) == 0) {
            PGW_MF_FAIL(tfile, "manifest.currencies: must be a non-empty list");
        }
        for (i = 0; i < json_array_size(v); i++) {
            if (!json_is_string(json_array_get(v, i))
                || json_string_length(json_array_get(v, i)) != 3) {
                PGW_MF_FAIL(tfile, "manifest.currencies[%zu]: must be an ISO 4217 code",
                            i + 1);
            }
        }
    }
    if ((json_object_get(m, "min_amount") != NULL
         && !pgw_mf_posint(json_object_get(m, "min_amount"), 0))
        || (json_object_get(m, "max_amount") != NULL
            && !pgw_mf_posint(json_object_get(m, "max_amount"), 0))) {
        PGW_MF_FAIL(tfile, "manifest.min_amount/max_amount: must be positive integers "
                    "(minor units)");
    }

    v = json_object_get(m, "endpoints");
    if (!json_is_object(v) || !json_is_string(json_object_get(v, "production"))) {
        PGW_MF_FAIL(tfile, "manifest.endpoints.production: must be a URL string");
    }
    v = json_object_get(m, "timeouts");
    if (!json_is_object(v)) {
        PGW_MF_FAIL(tfile, "manifest.timeouts: missing");
    }
    if (!pgw_mf_posint(json_object_get(v, "connect_timeout_ms"), 0)) {
        PGW_MF_FAIL(tfile, "manifest.timeouts.connect_timeout_ms: must be a positive integer");
    }
    if (!pgw_mf_posint(json_object_get(v, "timeout_ms"), 0)) {
        PGW_MF_FAIL(tfile, "manifest.timeouts.timeout_ms: must be a positive integer");
    }
    if (!pgw_mf_posint(json_object_get(m, "first_query_delay_ms"), 1)) {
        PGW_MF_FAIL(tfile, "manifest.first_query_delay_ms: must be an integer >= 0");
    }
    v = json_object_get(m, "query_backoff_ms");
    if (!json_is_array(v) || json_array_size(v) == 0) {
        PGW_MF_FAIL(tfile, "manifest.query_backoff_ms: must be a non-empty list of ms");
    }
    for (i = 0; i < json_array_size(v); i++) {
        if (!pgw_mf_posint(json_array_get(v, i), 0)) {
            PGW_MF_FAIL(tfile, "manifest.query_backoff_ms[%zu]: must be a positive integer",
                        i + 1);
        }
    }
    v = json_object_get(m, "max_concurrency");
    if (v != NULL && !pgw_mf_posint(v, 0)) {
        PGW_MF_FAIL(tfile, "manifest.max_concurrency: must be a positive integer");
    }
    v = json_object_get(m, "qps");
    if (v != NULL && !pgw_mf_posint(v, 0)) {
        PGW_MF_FAIL(tfile, "manifest.qps: must be a positive integer");
    }
    v = json_object_get(m, "mask");
    if (v != NULL) {
        if (!json_is_array(v)) {
            PGW_MF_FAIL(tfile, "manifest.mask: must be a list of field names");
        }
        for (i = 0; i < json_array_size(v); i++) {
            if (!json_is_string(json_array_get(v, i))) {
                PGW_MF_FAIL(tfile, "manifest.mask[%zu]: must be a string", i + 1);
            }
        }
    }

    ops = json_object_get(m, "operations");
    if (!json_is_array(ops) || json_array_size(ops) == 0) {
        PGW_MF_FAIL(tfile, "build: the pack implements no operation");
    }
    if (!json_is_object(json_object_get(m, "codes"))) {
        PGW_MF_FAIL(sfile, "codes: missing (the script must return {codes = {...}, "
                    "parse = {...}})");
    }
    for (i = 0; i < json_array_size(ops); i++) {
        const char *op = json_string_value(json_array_get(ops, i));
        if (op == NULL) {
            PGW_MF_FAIL(tfile, "operations: bad entry");
        }
        if (strcmp(op, "notify") == 0) {
            has_notify = 1;
        }
        if (pgw_mf_codes(m, op, sfile, err, errlen) != 0) {
            return -1;
        }
    }
    json_object_foreach(json_object_get(m, "codes"), k, meth) {
        int found = 0;
        for (i = 0; i < json_array_size(ops); i++) {
            found |= strcmp(json_string_value(json_array_get(ops, i)), k) == 0;
        }
        if (!found) {
            PGW_MF_FAIL(sfile, "codes.%s: lists for an operation the pack does not "
                        "implement", k);
        }
    }
    if (has_notify) {
        v = json_object_get(m, "notify_ack");
        if (pgw_mf_ack(v, "ok", tfile, err, errlen) != 0
            || pgw_mf_ack(v, "fail", tfile, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}
