/*
 * pgw_route_conf.c — reads routes.conf (syntax in pgw_route_conf.h and
 * docs/routing.md) and answers the pure questions selection asks of it: does
 * this channel's line admit the order (currency, amount, bank, service
 * window), what does it cost, what do the app rules allow, which strategy.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pgw_core.h"
#include "pgw_route_conf.h"

#define PGW__RC_MAX_TOKENS 24


const char *
pgw_strategy_name(int strategy)
{
    switch (strategy) {
    case PGW_STRAT_PRIORITY:
        return "priority";
    case PGW_STRAT_LOWEST_COST:
        return "lowest_cost";
    case PGW_STRAT_SUCCESS_RATE:
        return "success_rate";
    default:
        return "weighted";
    }
}


static int
pgw__strategy_parse(const char *s)
{
    for (int i = PGW_STRAT_WEIGHTED; i <= PGW_STRAT_SUCCESS_RATE; i++) {
        if (strcmp(s, pgw_strategy_name(i)) == 0) {
            return i;
        }
    }
    return -1;
}


/* ---- value parsers: NULL on success, else the message ------------------------ */

static const char *
pgw__amount(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0 || s[0] == '-' || s[0] == '+') {
        return "an amount in minor units (a non-negative integer)";
    }
    *out = v;
    return NULL;
}


/* "HH:MM" -> minutes of the day */
static int
pgw__hhmm(const char *s, size_t len)
{
    if (len != 5 || s[2] != ':') {
        return -1;
    }
    for (size_t i = 0; i < 5; i++) {
        if (i != 2 && (s[i] < '0' || s[i] > '9')) {
            return -1;
        }
    }
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0)) {
        return -1;
    }
    return h * 60 + m;
}


/* "HH:MM-HH:MM,HH:MM-HH:MM" */
static const char *
pgw__windows(const char *s, struct pgw_rc_window *w, int *n)
{
    const char *p = s;

    *n = 0;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen(p);

        if (*n == PGW_RC_MAX_WINDOWS) {
            return "at most 4 windows";
        }
        if (len != 11 || p[5] != '-') {
            return "windows are HH:MM-HH:MM, comma-separated";
        }
        w[*n].from_min = pgw__hhmm(p, 5);
        w[*n].to_min = pgw__hhmm(p + 6, 5);
        if (w[*n].from_min < 0 || w[*n].to_min < 0) {
            return "windows are HH:MM-HH:MM (00:00..24:00), comma-separated";
        }
        if (w[*n].from_min == w[*n].to_min) {
            return "a window from a time to the same time is empty";
        }
        (*n)++;
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    return *n ? NULL : "windows are HH:MM-HH:MM, comma-separated";
}


/* "A,B,C" into fixed-size slots */
static const char *
pgw__list(const char *s, char *slots, size_t slotlen, int max, int *n)
{
    const char *p = s;

    *n = 0;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen(p);

        if (len == 0) {
            return "an empty item in the list";
        }
        if (*n == max) {
            return "too many items in the list (at most 16)";
        }
        if (len >= slotlen) {
            return "a list item is too long";
        }
        memcpy(slots + (size_t) *n * slotlen, p, len);
        slots[(size_t) *n * slotlen + len] = '\0';
        (*n)++;
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    return *n ? NULL : "an empty list";
}


/* "30", "0.6%", "30+0.6%": fixed minor units + a percentage (up to 4
 * decimals), kept in millionths */
static const char *
pgw__fee(const char *s, int64_t *fixed, int64_t *ppm)
{
    const char *pct = strchr(s, '%');
    const char *plus = strchr(s, '+');
    const char *rate = s;
    char num[32];

    *fixed = 0;
    *ppm = 0;
    if (pct && pct[1] != '\0') {
        return "fee is FIXED, RATE% or FIXED+RATE% (e.g. 30+0.6%)";
    }
    if (plus || pct == NULL) {
        size_t len = plus ? (size_t) (plus - s) : strlen(s);
        if (len == 0 || len >= sizeof(num)) {
            return "fee is FIXED, RATE% or FIXED+RATE% (e.g. 30+0.6%)";
        }
        memcpy(num, s, len);
        num[len] = '\0';
        if (pgw__amount(num, fixed) != NULL) {
            return "fee: FIXED is in minor units (a non-negative integer)";
        }
        if (plus == NULL) {
            return NULL;
        }
        rate = plus + 1;
        if (pct == NULL) {
            return "fee: the rate after + ends with %";
        }
    }
    /* RATE%: digits, optionally '.' and up to 4 digits */
    {
        int64_t whole = 0, frac = 0;
        int fd = 0, seen_dot = 0, digits = 0;
        for (const char *p = rate; p < pct; p++) {
            if (*p == '.' && !seen_dot) {
                seen_dot = 1;
            } else if (*p >= '0' && *p <= '9') {
                digits++;
                if (seen_dot) {
                    if (++fd > 4) {
                        return "fee: at most 4 decimals in the rate";
                    }
                    frac = frac * 10 + (*p - '0');
                } else if ((whole = whole * 10 + (*p - '0')) > 100) {
                    return "fee: the rate is a percentage up to 100%";
                }
            } else {
                return "fee is FIXED, RATE% or FIXED+RATE% (e.g. 30+0.6%)";
            }
        }
        if (digits == 0) {
            return "fee is FIXED, RATE% or FIXED+RATE% (e.g. 30+0.6%)";
        }
        while (fd++ < 4) {
            frac *= 10;
        }
        *ppm = whole * 10000 + frac;      /* 1% = 10000 ppm */
        if (*ppm > 1000000) {
            return "fee: the rate is a percentage up to 100%";
        }
    }
    return NULL;
}


static const char *
pgw__tz(const char *s, int *out)
{
    int hm;

    if ((s[0] != '+' && s[0] != '-') || (hm = pgw__hhmm(s + 1, strlen(s + 1))) < 0
        || hm > 14 * 60) {
        return "tz is an offset from UTC, +HH:MM or -HH:MM (e.g. +08:00)";
    }
    *out = s[0] == '-' ? -hm : hm;
    return NULL;
}


/* ---- lines --------------------------------------------------------------------- */

static void *
pgw__grow(void *arr, size_t n, size_t size)
{
    /* one more slot; arrays stay small (a few hundred lines at most) */
    return realloc(arr, (n + 1) * size);
}


static const char *
pgw__route_line(struct pgw_routes *r, char **tok, int ntok, int line,
                char *msg, size_t msglen)
{
    struct pgw_rc_route rt, *p;
    const char *e;

    if (ntok < 3) {
        return "route CHANNEL METHOD|* [key=value ...]";
    }
    memset(&rt, 0, sizeof(rt));
    rt.line = line;
    rt.max_amount = INT64_MAX;
    rt.weight = -1;
    rt.priority = 100;
    if (strlen(tok[1]) >= sizeof(rt.channel) || strlen(tok[2]) >= sizeof(rt.method)) {
        return "channel or method name too long";
    }
    snprintf(rt.channel, sizeof(rt.channel), "%s", tok[1]);
    snprintf(rt.method, sizeof(rt.method), "%s", tok[2]);
    for (size_t i = 0; i < r->nroutes; i++) {
        if (strcmp(r->routes[i].channel, rt.channel) == 0
            && strcmp(r->routes[i].method, rt.method) == 0) {
            snprintf(msg, msglen, "%s %s is already routed at line %d",
                     rt.channel, rt.method, r->routes[i].line);
            return msg;
        }
    }
    for (int i = 3; i < ntok; i++) {
        char *eq = strchr(tok[i], '=');
        const char *key = tok[i], *val;

        if (eq == NULL || eq == tok[i] || eq[1] == '\0') {
            snprintf(msg, msglen, "\"%s\": options are key=value", tok[i]);
            return msg;
        }
        *eq = '\0';
        val = eq + 1;
        if (strcmp(key, "currencies") == 0) {
            e = pgw__list(val, &rt.currencies[0][0], sizeof(rt.currencies[0]),
                          PGW_RC_MAX_LIST, &rt.ncurrencies);
        } else if (strcmp(key, "banks") == 0) {
            e = pgw__list(val, &rt.banks[0][0], sizeof(rt.banks[0]),
                          PGW_RC_MAX_LIST, &rt.nbanks);
        } else if (strcmp(key, "min") == 0) {
            e = pgw__amount(val, &rt.min_amount);
        } else if (strcmp(key, "max") == 0) {
            e = pgw__amount(val, &rt.max_amount);
        } else if (strcmp(key, "open") == 0) {
            e = pgw__windows(val, rt.open, &rt.nopen);
        } else if (strcmp(key, "closed") == 0) {
            e = pgw__windows(val, rt.closed, &rt.nclosed);
        } else if (strcmp(key, "fee") == 0) {
            e = pgw__fee(val, &rt.fee_fixed, &rt.fee_ppm);
        } else if (strcmp(key, "weight") == 0) {
            e = pgw__amount(val, &rt.weight);
            if (e != NULL || rt.weight > 1000000) {
                e = "0..1000000";
            }
        } else if (strcmp(key, "priority") == 0) {
            e = pgw__amount(val, &rt.priority);
            if (e) {
                e = "a non-negative integer (lower goes first)";
            }
        } else {
            snprintf(msg, msglen, "unknown option \"%s\" (currencies, min, max,"
                     " banks, open, closed, fee, weight, priority)", key);
            return msg;
        }
        if (e != NULL) {
            snprintf(msg, msglen, "%s: %s", key, e);
            return msg;
        }
    }
    if (rt.min_amount > rt.max_amount) {
        return "min is above max";
    }
    p = pgw__grow(r->routes, r->nroutes, sizeof(*p));
    if (p == NULL) {
        return "out of memory";
    }
    r->routes = p;
    r->routes[r->nroutes++] = rt;
    return NULL;
}


static const char *
pgw__app_line(struct pgw_routes *r, char **tok, int ntok, int line,
              char *msg, size_t msglen)
{
    struct pgw_rc_app a, *p;
    int kinds = 0;
    const char *e = NULL;

    if (ntok < 3) {
        return "app APP [method=M] [min=N] [max=N] allow=CH,...|deny=CH,...|pin=CH";
    }
    memset(&a, 0, sizeof(a));
    a.line = line;
    a.max_amount = INT64_MAX;
    if (strlen(tok[1]) >= sizeof(a.app)) {
        return "app id too long";
    }
    snprintf(a.app, sizeof(a.app), "%s", tok[1]);
    for (int i = 2; i < ntok; i++) {
        char *eq = strchr(tok[i], '=');
        const char *key = tok[i], *val;

        if (eq == NULL || eq == tok[i] || eq[1] == '\0') {
            snprintf(msg, msglen, "\"%s\": options are key=value", tok[i]);
            return msg;
        }
        *eq = '\0';
        val = eq + 1;
        if (strcmp(key, "method") == 0) {
            if (strlen(val) >= sizeof(a.method)) {
                e = "too long";
            } else {
                snprintf(a.method, sizeof(a.method), "%s", val);
            }
        } else if (strcmp(key, "min") == 0) {
            e = pgw__amount(val, &a.min_amount);
        } else if (strcmp(key, "max") == 0) {
            e = pgw__amount(val, &a.max_amount);
        } else if (strcmp(key, "allow") == 0 || strcmp(key, "deny") == 0
                   || strcmp(key, "pin") == 0) {
            kinds++;
            a.kind = key[0] == 'a' ? PGW_RCA_ALLOW
                     : key[0] == 'd' ? PGW_RCA_DENY : PGW_RCA_PIN;
            e = pgw__list(val, &a.channels[0][0], sizeof(a.channels[0]),
                          PGW_RC_MAX_LIST, &a.nchannels);
            if (e == NULL && a.kind == PGW_RCA_PIN && a.nchannels != 1) {
                e = "pin names exactly one channel";
            }
        } else {
            snprintf(msg, msglen, "unknown option \"%s\" (method, min, max,"
                     " allow, deny, pin)", key);
            return msg;
        }
        if (e != NULL) {
            snprintf(msg, msglen, "%s: %s", key, e);
            return msg;
        }
    }
    if (kinds != 1) {
        return "an app rule has exactly one of allow=, deny=, pin=";
    }
    if (a.min_amount > a.max_amount) {
        return "min is above max";
    }
    p = pgw__grow(r->apps, r->napps, sizeof(*p));
    if (p == NULL) {
        return "out of memory";
    }
    r->apps = p;
    r->apps[r->napps++] = a;
    return NULL;
}


static const char *
pgw__strategy_line(struct pgw_routes *r, char **tok, int ntok, int line,
                   char *msg, size_t msglen)
{
    struct pgw_rc_strategy s, *p;

    if (ntok < 3 || ntok > 4) {
        return "strategy METHOD|* weighted|priority|lowest_cost|success_rate"
               " [explore=PCT]";
    }
    memset(&s, 0, sizeof(s));
    s.line = line;
    s.explore_pct = 5;
    if (strlen(tok[1]) >= sizeof(s.method)) {
        return "method name too long";
    }
    snprintf(s.method, sizeof(s.method), "%s", tok[1]);
    s.strategy = pgw__strategy_parse(tok[2]);
    if (s.strategy < 0) {
        snprintf(msg, msglen, "unknown strategy \"%s\" (weighted, priority,"
                 " lowest_cost, success_rate)", tok[2]);
        return msg;
    }
    if (ntok == 4) {
        int64_t pct;
        if (strncmp(tok[3], "explore=", 8) != 0
            || pgw__amount(tok[3] + 8, &pct) != NULL || pct > 100) {
            return "explore=PCT (0..100): the share of orders drawn by weight";
        }
        if (s.strategy != PGW_STRAT_SUCCESS_RATE) {
            return "explore= goes with success_rate only";
        }
        s.explore_pct = (int) pct;
    }
    for (size_t i = 0; i < r->nstrategies; i++) {
        if (strcmp(r->strategies[i].method, s.method) == 0) {
            snprintf(msg, msglen, "the strategy of %s is already set at line %d",
                     s.method, r->strategies[i].line);
            return msg;
        }
    }
    p = pgw__grow(r->strategies, r->nstrategies, sizeof(*p));
    if (p == NULL) {
        return "out of memory";
    }
    r->strategies = p;
    r->strategies[r->nstrategies++] = s;
    return NULL;
}


struct pgw_routes *
pgw_routes_parse(const char *name, const char *text, char *err, size_t errlen)
{
    struct pgw_routes *r = calloc(1, sizeof(*r));
    const char *p = text;
    int lineno = 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (r == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    snprintf(r->path, sizeof(r->path), "%s", name);
    EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < mdlen && i < 32; i++) {
        snprintf(r->sha256 + 2 * i, 3, "%02x", md[i]);
    }
    while (*p) {
        char line[2048], *tok[PGW__RC_MAX_TOKENS], *save = NULL, *t, *hash;
        char msg[256];
        const char *nl = strchr(p, '\n'), *e;
        size_t len = nl ? (size_t) (nl - p) : strlen(p);
        int ntok = 0;

        lineno++;
        if (len >= sizeof(line)) {
            snprintf(err, errlen, "%s:%d: line too long", name, lineno);
            goto failed;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p = nl ? nl + 1 : p + len;
        hash = strchr(line, '#');
        if (hash) {
            *hash = '\0';
        }
        for (t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
            if (ntok == PGW__RC_MAX_TOKENS) {
                snprintf(err, errlen, "%s:%d: too many values", name, lineno);
                goto failed;
            }
            tok[ntok++] = t;
        }
        if (ntok == 0) {
            continue;
        }
        msg[0] = '\0';
        if (strcmp(tok[0], "route") == 0) {
            e = pgw__route_line(r, tok, ntok, lineno, msg, sizeof(msg));
        } else if (strcmp(tok[0], "app") == 0) {
            e = pgw__app_line(r, tok, ntok, lineno, msg, sizeof(msg));
        } else if (strcmp(tok[0], "strategy") == 0) {
            e = pgw__strategy_line(r, tok, ntok, lineno, msg, sizeof(msg));
        } else if (strcmp(tok[0], "tz") == 0) {
            e = ntok == 2 ? pgw__tz(tok[1], &r->tz_min)
                          : "tz takes one offset, e.g. +08:00";
        } else {
            e = "unknown directive (route, app, strategy, tz)";
        }
        if (e != NULL) {
            snprintf(err, errlen, "%s:%d: %s: %s", name, lineno, tok[0], e);
            goto failed;
        }
    }
    return r;

failed:
    pgw_routes_free(r);
    return NULL;
}


struct pgw_routes *
pgw_routes_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long size;
    struct pgw_routes *r;

    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > 4 << 20
        || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: cannot read (or larger than 4 MiB)", path);
        fclose(f);
        return NULL;
    }
    text = malloc((size_t) size + 1);
    if (text == NULL || fread(text, 1, (size_t) size, f) != (size_t) size) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        free(text);
        fclose(f);
        return NULL;
    }
    fclose(f);
    text[size] = '\0';
    if (memchr(text, '\0', (size_t) size) != NULL) {
        snprintf(err, errlen, "%s: not a text file (NUL byte)", path);
        free(text);
        return NULL;
    }
    r = pgw_routes_parse(path, text, err, errlen);
    free(text);
    return r;
}


void
pgw_routes_free(struct pgw_routes *r)
{
    if (r == NULL) {
        return;
    }
    free(r->routes);
    free(r->apps);
    free(r->strategies);
    free(r);
}


/* ---- questions ----------------------------------------------------------------- */

const struct pgw_rc_route *
pgw_routes_find(const struct pgw_routes *r, const char *channel,
                const char *method)
{
    const struct pgw_rc_route *any = NULL;

    if (r == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < r->nroutes; i++) {
        const struct pgw_rc_route *rt = &r->routes[i];
        if (strcmp(rt->channel, channel) != 0) {
            continue;
        }
        if (strcmp(rt->method, method) == 0) {
            return rt;
        }
        if (strcmp(rt->method, "*") == 0) {
            any = rt;
        }
    }
    return any;
}


int
pgw_routes_method_listed(const struct pgw_routes *r, const char *method)
{
    for (size_t i = 0; r && i < r->nroutes; i++) {
        if (strcmp(r->routes[i].method, method) == 0) {
            return 1;
        }
    }
    return 0;
}


static int
pgw__in_window(const struct pgw_rc_window *w, int minute)
{
    if (w->from_min < w->to_min) {
        return minute >= w->from_min && minute < w->to_min;
    }
    return minute >= w->from_min || minute < w->to_min;   /* wraps midnight */
}


static void
pgw__window_text(const struct pgw_rc_window *w, char *buf, size_t len)
{
    snprintf(buf, len, "%02d:%02d-%02d:%02d", w->from_min / 60, w->from_min % 60,
             w->to_min / 60, w->to_min % 60);
}


const char *
pgw_rc_route_refuses(const struct pgw_rc_route *rt, int tz_min,
                     const char *currency, int64_t amount, const char *bank,
                     int64_t now_ms, char *buf, size_t buflen)
{
    int64_t local = now_ms / 60000 + tz_min;
    int minute = (int) (((local % 1440) + 1440) % 1440);
    char w[48];
    int ok;

    if (rt->ncurrencies) {
        ok = 0;
        for (int i = 0; i < rt->ncurrencies && !ok; i++) {
            ok = currency && strcmp(rt->currencies[i], currency) == 0;
        }
        if (!ok) {
            snprintf(buf, buflen, "currency %s not routed (line %d)",
                     currency ? currency : "-", rt->line);
            return buf;
        }
    }
    if (amount < rt->min_amount || amount > rt->max_amount) {
        snprintf(buf, buflen, "amount outside the route's %lld..%lld (line %d)",
                 (long long) rt->min_amount, (long long) rt->max_amount, rt->line);
        return buf;
    }
    if (rt->nbanks && bank && bank[0]) {
        ok = 0;
        for (int i = 0; i < rt->nbanks && !ok; i++) {
            ok = strcmp(rt->banks[i], bank) == 0;
        }
        if (!ok) {
            snprintf(buf, buflen, "bank %s not routed (line %d)", bank, rt->line);
            return buf;
        }
    }
    if (rt->nopen) {
        ok = 0;
        for (int i = 0; i < rt->nopen && !ok; i++) {
            ok = pgw__in_window(&rt->open[i], minute);
        }
        if (!ok) {
            snprintf(buf, buflen, "outside service hours (line %d)", rt->line);
            return buf;
        }
    }
    for (int i = 0; i < rt->nclosed; i++) {
        if (pgw__in_window(&rt->closed[i], minute)) {
            pgw__window_text(&rt->closed[i], w, sizeof(w));
            snprintf(buf, buflen, "closed %s (line %d)", w, rt->line);
            return buf;
        }
    }
    return NULL;
}


int64_t
pgw_rc_route_cost(const struct pgw_rc_route *rt, int64_t amount)
{
    if (rt == NULL) {
        return 0;
    }
    /* fixed * 1e6 + amount * ppm; amounts beyond 9e12 minor units saturate */
    if (amount > INT64_MAX / 1000001) {
        return INT64_MAX;
    }
    return rt->fee_fixed * 1000000 + amount * rt->fee_ppm;
}


static int
pgw__app_applies(const struct pgw_rc_app *a, const char *app, const char *method,
                 int64_t amount)
{
    return app && strcmp(a->app, app) == 0
           && (a->method[0] == '\0' || strcmp(a->method, method) == 0)
           && amount >= a->min_amount && amount <= a->max_amount;
}


static int
pgw__app_names(const struct pgw_rc_app *a, const char *channel)
{
    for (int i = 0; i < a->nchannels; i++) {
        if (strcmp(a->channels[i], channel) == 0) {
            return 1;
        }
    }
    return 0;
}


const char *
pgw_routes_app_refuses(const struct pgw_routes *r, const char *app,
                       const char *method, int64_t amount, const char *channel,
                       char *buf, size_t buflen)
{
    for (size_t i = 0; r && i < r->napps; i++) {
        const struct pgw_rc_app *a = &r->apps[i];

        if (!pgw__app_applies(a, app, method, amount)) {
            continue;
        }
        if (a->kind == PGW_RCA_DENY && pgw__app_names(a, channel)) {
            snprintf(buf, buflen, "denied for app %s (line %d)", app, a->line);
            return buf;
        }
        if (a->kind == PGW_RCA_ALLOW && !pgw__app_names(a, channel)) {
            snprintf(buf, buflen, "not on app %s's allow list (line %d)", app,
                     a->line);
            return buf;
        }
    }
    return NULL;
}


const char *
pgw_routes_app_pin(const struct pgw_routes *r, const char *app,
                   const char *method, int64_t amount)
{
    for (size_t i = 0; r && i < r->napps; i++) {
        const struct pgw_rc_app *a = &r->apps[i];
        if (a->kind == PGW_RCA_PIN && pgw__app_applies(a, app, method, amount)) {
            return a->channels[0];
        }
    }
    return NULL;
}


const struct pgw_rc_strategy *
pgw_routes_strategy(const struct pgw_routes *r, const char *method)
{
    const struct pgw_rc_strategy *any = NULL;

    for (size_t i = 0; r && i < r->nstrategies; i++) {
        if (strcmp(r->strategies[i].method, method) == 0) {
            return &r->strategies[i];
        }
        if (strcmp(r->strategies[i].method, "*") == 0) {
            any = &r->strategies[i];
        }
    }
    return any;
}
