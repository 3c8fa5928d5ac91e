/*
 * pgw_route.c — channel selection: the channels eligible by paygwd.conf and
 * the pack manifests, narrowed by routes.conf (currencies, amounts, banks,
 * service windows, app allow / deny / pin) and the ops route rules (enabled /
 * disabled / draining, weight, timed disable; docs/routing.md), then ordered
 * by the method's strategy (weighted, priority, lowest_cost, success_rate).
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
#include "pgw_route_conf.h"
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
pgw__xorshift(uint64_t *x)
{
    /* xorshift64* */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545F4914F6CDD1DULL;
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
    return pgw__xorshift(&pgw__rng);
}


static void
pgw__iso(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


#define PGW__MAX_CAND 64

/* negative when a goes before b under the strategy's key (ties: 0) */
static int
pgw__cmp(const struct pgw_route_cand *a, const struct pgw_route_cand *b,
         int strategy)
{
    switch (strategy) {
    case PGW_STRAT_PRIORITY:
        return (a->priority > b->priority) - (a->priority < b->priority);
    case PGW_STRAT_LOWEST_COST:
        if (a->cost != b->cost) {
            return a->cost < b->cost ? -1 : 1;
        }
        return (a->priority > b->priority) - (a->priority < b->priority);
    case PGW_STRAT_SUCCESS_RATE:
        return (a->score < b->score) - (a->score > b->score);
    default:
        return 0;
    }
}


int
pgw_route_order(struct pgw_route_cand *c, size_t n, int strategy,
                int explore_pct, uint64_t seed)
{
    uint64_t x = seed ? seed : 0x9e3779b97f4a7c15ULL;

    if (n > PGW__MAX_CAND) {
        n = PGW__MAX_CAND;
    }
    /* 1. the weighted order: successive draws without replacement */
    for (size_t i = 0; i + 1 < n; i++) {
        int64_t w[PGW__MAX_CAND];
        int k;

        for (size_t j = i; j < n; j++) {
            w[j - i] = c[j].weight;
        }
        k = pgw_route_weighted(w, n - i, pgw__xorshift(&x));
        if (k > 0) {
            struct pgw_route_cand t = c[i];
            c[i] = c[i + (size_t) k];
            c[i + (size_t) k] = t;
        }
    }
    if (strategy == PGW_STRAT_SUCCESS_RATE && explore_pct > 0
        && (int) (pgw__xorshift(&x) % 100) < explore_pct) {
        return 1;               /* exploring: the weighted order stands */
    }
    /* 2. stable insertion sort by the strategy's key: ties keep the draw */
    for (size_t i = 1; i < n && strategy != PGW_STRAT_WEIGHTED; i++) {
        struct pgw_route_cand t = c[i];
        size_t j = i;
        while (j > 0 && pgw__cmp(&t, &c[j - 1], strategy) < 0) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = t;
    }
    return 0;
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


int64_t
pgw_route_weight(struct pgw_daemon *d, const struct pgw_route_rule *r,
                 const char *channel, const char *method)
{
    const struct pgw_rc_route *rt;

    if (r && r->weight >= 0) {
        return r->weight;
    }
    rt = pgw_routes_find(d->routes, channel, method ? method : "*");
    return rt && rt->weight >= 0 ? rt->weight : PGW_ROUTE_DEFAULT_WEIGHT;
}


/* the routes.conf and app-rule checks of one channel; NULL when they admit */
static const char *
pgw__route_refuses(struct pgw_daemon *d, const char *channel,
                   const struct pgw_route_query *q, int64_t now, char *buf,
                   size_t buflen, const struct pgw_rc_route **line)
{
    const struct pgw_rc_route *rt = pgw_routes_find(d->routes, channel, q->method);

    *line = rt;
    if (d->routes == NULL) {
        return NULL;
    }
    if (rt == NULL && pgw_routes_method_listed(d->routes, q->method)) {
        const char *file = strrchr(d->routes->path, '/');
        snprintf(buf, buflen, "no route for %.64s in %.64s", q->method,
                 file ? file + 1 : d->routes->path);
        return buf;
    }
    if (rt != NULL) {
        const char *why = pgw_rc_route_refuses(rt, d->routes->tz_min, q->currency,
                                               q->amount, q->bank_code, now,
                                               buf, buflen);
        if (why) {
            return why;
        }
    }
    return pgw_routes_app_refuses(d->routes, q->app_id, q->method, q->amount,
                                  channel, buf, buflen);
}


static void
pgw__fee_text(int64_t cost, char *buf, size_t len)
{
    /* millionths of a minor unit -> minor units with 2 decimals */
    int64_t hundredths = (cost + 5000) / 10000;
    snprintf(buf, len, "%lld.%02lld", (long long) (hundredths / 100),
             (long long) (hundredths % 100));
}


static void
pgw__decide(char *out, size_t len, const struct pgw_route_cand *c, size_t n,
            int strategy, int explored, int64_t sum, const char *notes)
{
    int k = 0;

    for (size_t i = 0; i < n && k >= 0 && (size_t) k < len; i++) {
        char fee[32];
        const char *sep = i == 0 ? "" : "; ";

        switch (strategy) {
        case PGW_STRAT_PRIORITY:
            k += snprintf(out + k, len - k, "%s%s: priority %lld", sep,
                          c[i].channel, (long long) c[i].priority);
            break;
        case PGW_STRAT_LOWEST_COST:
            pgw__fee_text(c[i].cost, fee, sizeof(fee));
            k += snprintf(out + k, len - k, "%s%s: fee %s", sep, c[i].channel, fee);
            break;
        case PGW_STRAT_SUCCESS_RATE:
            k += snprintf(out + k, len - k, "%s%s: success score %.3f%s", sep,
                          c[i].channel, (double) c[i].score / 1e6,
                          i == 0 && explored ? " (exploring: drawn by weight)" : "");
            break;
        default:
            if (i == 0) {
                k += snprintf(out + k, len - k, "%s: weight %lld of %lld",
                              c[i].channel, (long long) c[i].weight, (long long) sum);
            } else {
                k += snprintf(out + k, len - k, "; %s: weight %lld, not drawn",
                              c[i].channel, (long long) c[i].weight);
            }
            continue;
        }
        if (i == 0 && n > 1 && k >= 0 && (size_t) k < len) {
            k += snprintf(out + k, len - k, " (strategy %s)",
                          pgw_strategy_name(strategy));
        }
    }
    if (notes[0] && k >= 0 && (size_t) k < len) {
        snprintf(out + k, len - k, "; %s", notes);
    }
}


int
pgw_route_pick(struct pgw_daemon *d, const struct pgw_route_query *q, char *out,
               size_t outlen, char *why, size_t whylen)
{
    const char *last = "no channel configured";
    struct pgw_route_cand cand[PGW__MAX_CAND];
    char notes[512] = "", buf[200];
    size_t n = 0, nrules;
    const struct pgw_route_rule *rules = pgw_route_rules(d, &nrules);
    const struct pgw_rc_strategy *strat = pgw_routes_strategy(d->routes, q->method);
    int strategy = strat ? strat->strategy : PGW_STRAT_WEIGHTED;
    const char *wanted = q->channel;
    const char *pin = pgw_routes_app_pin(d->routes, q->app_id, q->method, q->amount);
    int64_t now = pgw_now_ms(), sum = 0;
    int explored;

    if (pin && wanted == NULL) {
        wanted = pin;           /* an app rule pins the order: only that one */
    }
    for (struct pgw_channel_conf *c = d->conf->channels; c; c = c->next) {
        const char *reason;
        const struct pgw_route_rule *r = NULL;
        const struct pgw_rc_route *line = NULL;

        if (wanted && strcmp(wanted, c->name) != 0) {
            continue;
        }
        reason = pgw__ineligible(d, c, q);
        if (reason == NULL && pin && strcmp(pin, c->name) != 0) {
            reason = "the app is pinned to another channel";
        }
        if (reason == NULL) {
            reason = pgw__route_refuses(d, c->name, q, now, buf, sizeof(buf), &line);
        }
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
            } else if (pgw_route_weight(d, r, c->name, q->method) <= 0) {
                reason = "weight 0";
            }
            if (reason == NULL) {
                /* health: an open (or probing) circuit takes no new pays */
                pgw_health_eligible(c->name, q->method, &reason);
            }
        }
        if (reason == NULL && n < PGW__MAX_CAND) {
            cand[n].channel = c->name;
            cand[n].weight = pgw_route_weight(d, r, c->name, q->method);
            cand[n].priority = line ? line->priority : 100;
            cand[n].cost = pgw_rc_route_cost(line, q->amount);
            cand[n].score = strategy == PGW_STRAT_SUCCESS_RATE
                                ? pgw_health_score(c->name, q->method, now) : 0;
            sum += cand[n].weight;
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
        explored = pgw_route_order(cand, n, strategy,
                                   strat ? strat->explore_pct : 0, pgw__random());
        snprintf(out, outlen, "%s", cand[0].channel);
        if (q->decision) {
            pgw__decide(q->decision, q->decisionlen, cand, n, strategy, explored,
                        sum, notes);
        }
        return PGW_OK;
    }
    if (why && (q->channel == NULL || strcmp(last, "no channel configured") == 0)) {
        if (q->channel && pgw_config_channel(d->conf, q->channel) == NULL) {
            snprintf(why, whylen, "unknown channel %s", q->channel);
        } else if (pin && pgw_config_channel(d->conf, pin) == NULL) {
            snprintf(why, whylen, "app pinned to unknown channel %s", pin);
        } else if (d->conf->channels == NULL) {
            snprintf(why, whylen, "%s", last);
        }
    }
    return PGW_NOTFOUND;
}


/* ---- routes.conf in force ------------------------------------------------------ */

static int
pgw__offered_by(struct pgw_daemon *d, const char *channel, const char *method)
{
    struct pgw_pack *pack = pgw_packs_get(d->packs, channel);

    return pack != NULL && pgw_manifest_method(pgw_pack_manifest(pack), method) != NULL;
}


int
pgw_routes_check(struct pgw_daemon *d, const struct pgw_routes *r, char *err,
                 size_t errlen)
{
    for (size_t i = 0; i < r->nroutes; i++) {
        const struct pgw_rc_route *rt = &r->routes[i];
        if (pgw_config_channel(d->conf, rt->channel) == NULL) {
            snprintf(err, errlen, "%s:%d: route: unknown channel %s (not declared"
                     " in %s)", r->path, rt->line, rt->channel, d->conf->path);
            return PGW_ERR;
        }
        if (strcmp(rt->method, "*") != 0 && pgw_packs_get(d->packs, rt->channel)
            && !pgw__offered_by(d, rt->channel, rt->method)) {
            snprintf(err, errlen, "%s:%d: route: %s's pack does not offer"
                     " method %s", r->path, rt->line, rt->channel, rt->method);
            return PGW_ERR;
        }
    }
    for (size_t i = 0; i < r->napps; i++) {
        const struct pgw_rc_app *a = &r->apps[i];
        for (int k = 0; k < a->nchannels; k++) {
            if (pgw_config_channel(d->conf, a->channels[k]) == NULL) {
                snprintf(err, errlen, "%s:%d: app: unknown channel %s (not"
                         " declared in %s)", r->path, a->line, a->channels[k],
                         d->conf->path);
                return PGW_ERR;
            }
        }
    }
    return PGW_OK;
}


int
pgw_routes_reload(struct pgw_daemon *d, char *err, size_t errlen)
{
    struct pgw_routes *r;

    if (d->conf->routes[0] == '\0') {
        snprintf(err, errlen, "%s: no \"routes\" file is configured", d->conf->path);
        return PGW_NOTFOUND;
    }
    r = pgw_routes_load(d->conf->routes, err, errlen);
    if (r == NULL || pgw_routes_check(d, r, err, errlen) != PGW_OK) {
        pgw_routes_free(r);
        return PGW_ERR;         /* the routes in force keep serving */
    }
    pgw_routes_free(d->routes);
    d->routes = r;
    return PGW_OK;
}
