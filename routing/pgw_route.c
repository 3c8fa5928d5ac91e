/*
 * pgw_route.c — channel selection: the channels eligible by paygwd.conf and
 * the pack manifests, narrowed by the ops route rules (enabled / disabled /
 * draining, weight, timed disable; docs/routing.md), then a weighted choice.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgw_config.h"
#include "pgw_core.h"
#include "pgw_daemon.h"
#include "pgw_health.h"
#include "pgw_pack.h"
#include "pgw_route.h"
#include "pgw_store.h"


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


/* ---- rules ------------------------------------------------------------------ */

static struct pgw_route_rule *pgw__rules;
static size_t pgw__nrules, pgw__caprules;
static int pgw__rules_loaded;
static uint64_t pgw__rng;


const char *
pgw_route_state_name(int state)
{
    switch (state) {
    case PGW_RS_DISABLED:
        return "disabled";
    case PGW_RS_DRAINING:
        return "draining";
    default:
        return "enabled";
    }
}


int
pgw_route_state_parse(const char *s)
{
    if (s == NULL) {
        return -1;
    }
    if (strcmp(s, "enabled") == 0) {
        return PGW_RS_ENABLED;
    }
    if (strcmp(s, "disabled") == 0) {
        return PGW_RS_DISABLED;
    }
    if (strcmp(s, "draining") == 0) {
        return PGW_RS_DRAINING;
    }
    return -1;
}


const struct pgw_route_rule *
pgw_route_rule_match(const struct pgw_route_rule *rules, size_t n,
                     const char *channel, const char *method, const char *app,
                     int64_t now)
{
    const struct pgw_route_rule *best = NULL;
    int best_rank = -1;

    for (size_t i = 0; i < n; i++) {
        const struct pgw_route_rule *r = &rules[i];
        int rank;

        if (strcmp(r->channel, channel) != 0) {
            continue;
        }
        if (r->method[0] && (method == NULL || strcmp(r->method, method) != 0)) {
            continue;
        }
        if (r->app[0] && (app == NULL || strcmp(r->app, app) != 0)) {
            continue;
        }
        if (r->until_ms != 0 && now >= r->until_ms) {
            continue;           /* expired: no longer applies */
        }
        /* channel+method+app 3 > channel+method 2 > channel+app 1 > channel 0 */
        rank = (r->method[0] ? 2 : 0) + (r->app[0] ? 1 : 0);
        if (rank > best_rank) {
            best = r;
            best_rank = rank;
        }
    }
    return best;
}


int
pgw_route_weighted(const int64_t *weights, size_t n, uint64_t r)
{
    uint64_t sum = 0, x;

    for (size_t i = 0; i < n; i++) {
        sum += weights[i] > 0 ? (uint64_t) weights[i] : 0;
    }
    if (sum == 0) {
        return -1;
    }
    x = r % sum;
    for (size_t i = 0; i < n; i++) {
        uint64_t w = weights[i] > 0 ? (uint64_t) weights[i] : 0;
        if (x < w) {
            return (int) i;
        }
        x -= w;
    }
    return -1;
}


int
pgw_route_rules_put(const struct pgw_route_rule *r)
{
    for (size_t i = 0; i < pgw__nrules; i++) {
        struct pgw_route_rule *x = &pgw__rules[i];
        if (strcmp(x->channel, r->channel) == 0
            && strcmp(x->method, r->method) == 0
            && strcmp(x->app, r->app) == 0) {
            *x = *r;
            return PGW_OK;
        }
    }
    if (pgw__nrules == pgw__caprules) {
        size_t cap = pgw__caprules ? pgw__caprules * 2 : 16;
        struct pgw_route_rule *p = realloc(pgw__rules, cap * sizeof(*p));
        if (p == NULL) {
            return PGW_ERR;
        }
        pgw__rules = p;
        pgw__caprules = cap;
    }
    pgw__rules[pgw__nrules++] = *r;
    return PGW_OK;
}


int
pgw_route_rules_load(struct pgw_daemon *d)
{
    sqlite3_stmt *st;

    pgw__rules_loaded = 1;
    pgw__nrules = 0;
    st = pgw_store_query(d->store,
                         "SELECT channel, method, app, state, weight,"
                         " COALESCE(until_ms, 0), updated_at FROM route_rules"
                         " ORDER BY rowid", "");
    if (st == NULL) {
        return PGW_ERR;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct pgw_route_rule r;

        memset(&r, 0, sizeof(r));
        snprintf(r.channel, sizeof(r.channel), "%s", pgw_col_text(st, 0));
        snprintf(r.method, sizeof(r.method), "%s", pgw_col_text(st, 1));
        snprintf(r.app, sizeof(r.app), "%s", pgw_col_text(st, 2));
        r.state = pgw_route_state_parse(pgw_col_text(st, 3));
        if (r.state < 0) {
            r.state = PGW_RS_ENABLED;
        }
        r.weight = sqlite3_column_int64(st, 4);
        r.until_ms = sqlite3_column_int64(st, 5);
        r.updated_at = sqlite3_column_int64(st, 6);
        pgw_route_rules_put(&r);
    }
    sqlite3_reset(st);
    return PGW_OK;
}


const struct pgw_route_rule *
pgw_route_rules(struct pgw_daemon *d, size_t *n)
{
    if (!pgw__rules_loaded) {
        pgw_route_rules_load(d);
    }
    *n = pgw__nrules;
    return pgw__rules;
}


const struct pgw_route_rule *
pgw_route_rule_exact(struct pgw_daemon *d, const char *channel,
                     const char *method, const char *app)
{
    size_t n;
    const struct pgw_route_rule *rules = pgw_route_rules(d, &n);

    for (size_t i = 0; i < n; i++) {
        if (strcmp(rules[i].channel, channel) == 0
            && strcmp(rules[i].method, method) == 0
            && strcmp(rules[i].app, app) == 0) {
            return &rules[i];
        }
    }
    return NULL;
}


static uint64_t
pgw__random(void)
{
    if (pgw__rng == 0) {
        const char *seed = getenv("PAYGW_ROUTE_SEED");
        pgw__rng = seed && *seed ? strtoull(seed, NULL, 10)
                                 : ((uint64_t) time(NULL) << 20) ^ (uint64_t) getpid();
        if (pgw__rng == 0) {
            pgw__rng = 0x9e3779b97f4a7c15ULL;
        }
    }
    /* xorshift64* */
    pgw__rng ^= pgw__rng >> 12;
    pgw__rng ^= pgw__rng << 25;
    pgw__rng ^= pgw__rng >> 27;
    return pgw__rng * 0x2545F4914F6CDD1DULL;
}


static void
pgw__iso(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


static void
pgw__append(char *buf, size_t len, const char *fmt, const char *a, const char *b)
{
    size_t used = strlen(buf);

    if (used + 1 >= len) {
        return;
    }
    snprintf(buf + used, len - used, fmt, used ? "; " : "", a, b);
}


#define PGW__MAX_CAND 64

int
pgw_route_pick(struct pgw_daemon *d, const struct pgw_route_query *q, char *out,
               size_t outlen, char *why, size_t whylen)
{
    const char *last = "no channel configured";
    const char *cand[PGW__MAX_CAND];
    int64_t weights[PGW__MAX_CAND], sum = 0;
    char notes[512] = "", buf[160];
    size_t n = 0, nrules;
    const struct pgw_route_rule *rules = pgw_route_rules(d, &nrules);
    int64_t now = pgw_now_ms();
    int idx;

    for (struct pgw_channel_conf *c = d->conf->channels; c; c = c->next) {
        const char *reason;
        const struct pgw_route_rule *r = NULL;

        if (q->channel && strcmp(q->channel, c->name) != 0) {
            continue;
        }
        reason = pgw__ineligible(d, c, q);
        if (reason == NULL) {
            r = pgw_route_rule_match(rules, nrules, c->name, q->method,
                                     q->app_id, now);
            if (r && r->state != PGW_RS_ENABLED) {
                if (r->until_ms) {
                    char iso[32];
                    pgw__iso(r->until_ms, iso, sizeof(iso));
                    snprintf(buf, sizeof(buf), "%s by ops until %s",
                             pgw_route_state_name(r->state), iso);
                } else {
                    snprintf(buf, sizeof(buf), "%s by ops",
                             pgw_route_state_name(r->state));
                }
                reason = buf;
            } else if (r && r->weight <= 0) {
                reason = "weight 0";
            }
            if (reason == NULL) {
                /* health: an open (or probing) circuit takes no new pays */
                pgw_health_eligible(c->name, q->method, &reason);
            }
        }
        if (reason == NULL && n < PGW__MAX_CAND) {
            cand[n] = c->name;
            weights[n] = r ? r->weight : PGW_ROUTE_DEFAULT_WEIGHT;
            sum += weights[n];
            n++;
            continue;
        }
        if (reason == NULL) {
            continue;
        }
        pgw__append(notes, sizeof(notes), "%s%s: %s", c->name, reason);
        last = reason;
        if (why) {
            snprintf(why, whylen, "%s: %s", c->name, reason);
        }
    }
    if (n > 0) {
        idx = n == 1 ? 0 : pgw_route_weighted(weights, n, pgw__random());
        if (idx < 0) {
            idx = 0;
        }
        snprintf(out, outlen, "%s", cand[idx]);
        if (q->decision) {
            int k = snprintf(q->decision, q->decisionlen,
                             "%s: weight %lld of %lld", cand[idx],
                             (long long) weights[idx], (long long) sum);
            for (size_t i = 0; i < n && k >= 0 && (size_t) k < q->decisionlen;
                 i++) {
                if ((int) i != idx) {
                    k += snprintf(q->decision + k, q->decisionlen - k,
                                  "; %s: weight %lld, not drawn", cand[i],
                                  (long long) weights[i]);
                }
            }
            if (notes[0] && k >= 0 && (size_t) k < q->decisionlen) {
                snprintf(q->decision + k, q->decisionlen - k, "; %s", notes);
            }
        }
        return PGW_OK;
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
