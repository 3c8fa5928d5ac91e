/*
 * pgw_route.c — picks the first eligible channel in configuration order.
 * Weights, circuit state and drain come with the ops issue; the selection
 * already goes through one place so they slot in here.
 */

#include <stdio.h>
#include <string.h>

#include "pgw_config.h"
#include "pgw_core.h"
#include "pgw_daemon.h"
#include "pgw_pack.h"
#include "pgw_route.h"


const json_t *
pgw_manifest_method(const json_t *manifest, const char *method)
{
    const json_t *methods = json_object_get(manifest, "methods");
    size_t i;
    const json_t *m;

    if (json_is_object(methods)) {
        m = json_object_get(methods, method);
        return m;
    }
    json_array_foreach(methods, i, m) {
        if (json_is_string(m) && strcmp(json_string_value(m), method) == 0) {
            return m;
        }
        if (json_is_object(m)) {
            const char *name = json_string_value(json_object_get(m, "name"));
            if (name && strcmp(name, method) == 0) {
                return m;
            }
        }
    }
    return NULL;
}


int
pgw_manifest_is_prepay(const json_t *manifest, const char *method)
{
    const json_t *m = pgw_manifest_method(manifest, method);
    const char *kind = json_string_value(json_object_get(m, "kind"));

    return kind != NULL && strcmp(kind, "prepay") == 0;
}


const json_t *
pgw_micropay_policy(const json_t *manifest, const char *method)
{
    static json_t *defaults;
    const json_t *m = pgw_manifest_method(manifest, method);
    const char *kind = json_string_value(json_object_get(m, "kind"));
    const json_t *policy;

    if (kind == NULL || strcmp(kind, "micropay") != 0) {
        return NULL;
    }
    policy = json_object_get(m, "micropay");
    if (!json_is_object(policy)) {
        policy = json_object_get(manifest, "micropay");
    }
    if (json_is_object(policy)) {
        return policy;
    }
    /* a micropay method without a policy still gets query-then-reverse */
    if (defaults == NULL) {
        defaults = json_object();
    }
    return defaults;
}


int64_t
pgw_manifest_int(const json_t *manifest, const char *key, int64_t def)
{
    const json_t *v = json_object_get(manifest, key);

    if (v == NULL) {
        const json_t *t = json_object_get(manifest, "timeouts");
        v = json_object_get(t, key);
    }
    return json_is_integer(v) ? (int64_t) json_integer_value(v) : def;
}


static int
pgw__has_string(const json_t *arr, const char *s)
{
    size_t i;
    const json_t *v;

    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) {
            return 1;
        }
    }
    return 0;
}


static const char *
pgw__ineligible(struct pgw_daemon *d, struct pgw_channel_conf *c,
                const struct pgw_route_query *q)
{
    struct pgw_pack *pack;
    const json_t *man, *cur;
    int64_t min, max;

    if (!c->enabled) {
        return "disabled";
    }
    for (const char *const *x = q->excluded; x && *x; x++) {
        if (strcmp(*x, c->name) == 0) {
            return "already tried";
        }
    }
    pack = pgw_packs_get(d->packs, c->name);
    if (pack == NULL) {
        return "no pack loaded";
    }
    man = pgw_pack_manifest(pack);
    if (pgw_manifest_method(man, q->method) == NULL) {
        return "method not offered";
    }
    cur = json_object_get(man, "currencies");
    if (json_is_array(cur) && !pgw__has_string(cur, q->currency)) {
        return "currency not offered";
    }
    min = pgw_manifest_int(man, "min_amount", 1);
    max = pgw_manifest_int(man, "max_amount", INT64_MAX);
    if (q->amount < min || q->amount > max) {
        return "amount outside the channel's limits";
    }
    return NULL;
}


int
pgw_route_pick(struct pgw_daemon *d, const struct pgw_route_query *q, char *out,
               size_t outlen, char *why, size_t whylen)
{
    const char *last = "no channel configured";

    for (struct pgw_channel_conf *c = d->conf->channels; c; c = c->next) {
        const char *reason;

        if (q->channel && strcmp(q->channel, c->name) != 0) {
            continue;
        }
        reason = pgw__ineligible(d, c, q);
        if (reason == NULL) {
            snprintf(out, outlen, "%s", c->name);
            return PGW_OK;
        }
        last = reason;
        if (why) {
            snprintf(why, whylen, "%s: %s", c->name, reason);
        }
    }
    if (why && (q->channel == NULL || strcmp(last, "no channel configured") == 0)) {
        if (q->channel && pgw_config_channel(d->conf, q->channel) == NULL) {
            snprintf(why, whylen, "unknown channel %s", q->channel);
        } else if (d->conf->channels == NULL) {
            snprintf(why, whylen, "%s", last);
        }
    }
    return PGW_NOTFOUND;
}
