/*
 * pgw_config.c — reads paygwd.conf: "directive value…" lines, '#' comments.
 * Every unknown directive, missing value or bad number stops start-up with the
 * file and line. Defaults are set before parsing; relative paths are kept as given
 * (paygwd runs from the repository or the install prefix) — except sign_key,
 * the gateway's RSA private key (PEM) that signs notifications to RSA2 apps,
 * which is taken from the config file's directory and loaded here, so an
 * unreadable or non-RSA key names its line.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pgw_apps.h"
#include "pgw_core.h"
#include "pgw_config.h"

#define PGW__MAX_TOKENS 8


static int
pgw__copy(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);

    if (n >= len) {
        return PGW_ERR;
    }
    memcpy(dst, src, n + 1);
    return PGW_OK;
}


static int
pgw__int(const char *text, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0) {
        return PGW_ERR;
    }
    *out = v;
    return PGW_OK;
}


int
pgw_parse_ms_list(const char *text, int64_t *out, int max, int *n)
{
    char buf[512], *save = NULL, *tok;

    if (pgw__copy(buf, sizeof(buf), text) != PGW_OK) {
        return PGW_ERR;
    }
    *n = 0;
    for (tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (*n >= max || pgw__int(tok, &out[*n]) != PGW_OK) {
            return PGW_ERR;
        }
        (*n)++;
    }
    return *n > 0 ? PGW_OK : PGW_ERR;
}


struct pgw_channel_conf *
pgw_config_channel(struct pgw_config *conf, const char *name)
{
    for (struct pgw_channel_conf *c = conf->channels; c; c = c->next) {
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}


static struct pgw_channel_conf *
pgw__channel_get(struct pgw_config *conf, const char *name)
{
    struct pgw_channel_conf *c = pgw_config_channel(conf, name);

    if (c != NULL) {
        return c;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    if (pgw__copy(c->name, sizeof(c->name), name) != PGW_OK) {
        free(c);
        return NULL;
    }
    c->first_query_delay_ms = -1;
    c->connect_timeout_ms = -1;
    c->timeout_ms = -1;
    c->breaker_errors = -1;
    c->breaker_open_ms = -1;
    c->max_concurrency = -1;
    c->canary_pct = 0;
    c->qps = -1;
    c->queue_max = -1;
    c->queue_wait_ms = -1;
    c->query_max = -1;
    c->query_concurrency = -1;
    c->notify_confirm_above = -1;
    c->enabled = 1;
    c->params = json_object();
    if (c->params == NULL) {
        free(c);
        return NULL;
    }
    /* keep declaration order: append */
    struct pgw_channel_conf **tail = &conf->channels;
    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = c;
    return c;
}


/* returns an error message or NULL */
static const char *
pgw__channel_directive(struct pgw_config *conf, char **tok, int ntok)
{
    struct pgw_channel_conf *c;

    if (ntok < 4) {
        return "usage: channel <name> <setting> <value>";
    }
    c = pgw__channel_get(conf, tok[1]);
    if (c == NULL) {
        return "channel name too long or out of memory";
    }
    if (strcmp(tok[2], "endpoint") == 0) {
        if (strncmp(tok[3], "http://", 7) != 0
            && strncmp(tok[3], "https://", 8) != 0) {
            return "endpoint must be an http:// or https:// URL";
        }
        return pgw__copy(c->endpoint, sizeof(c->endpoint), tok[3]) == PGW_OK
                   ? NULL : "endpoint too long";
    }
    if (strcmp(tok[2], "first_query_delay_ms") == 0) {
        return pgw__int(tok[3], &c->first_query_delay_ms) == PGW_OK
                   ? NULL : "first_query_delay_ms must be a non-negative integer";
    }
    if (strcmp(tok[2], "connect_timeout_ms") == 0) {
        return pgw__int(tok[3], &c->connect_timeout_ms) == PGW_OK
                   ? NULL : "connect_timeout_ms must be a non-negative integer";
    }
    if (strcmp(tok[2], "timeout_ms") == 0) {
        return pgw__int(tok[3], &c->timeout_ms) == PGW_OK
                   ? NULL : "timeout_ms must be a non-negative integer";
    }
    if (strcmp(tok[2], "breaker_errors") == 0) {
        return pgw__int(tok[3], &c->breaker_errors) == PGW_OK
                   ? NULL : "breaker_errors must be a non-negative integer";
    }
    if (strcmp(tok[2], "breaker_open_ms") == 0) {
        return pgw__int(tok[3], &c->breaker_open_ms) == PGW_OK
                   ? NULL : "breaker_open_ms must be a non-negative integer";
    }
    /* the bulkhead (docs/bulkheads.md) */
    if (strcmp(tok[2], "max_concurrency") == 0) {
        return pgw__int(tok[3], &c->max_concurrency) == PGW_OK
                       && c->max_concurrency > 0
                   ? NULL : "max_concurrency must be a positive integer";
    }
    if (strcmp(tok[2], "qps") == 0) {
        return pgw__int(tok[3], &c->qps) == PGW_OK && c->qps > 0
                   ? NULL : "qps must be a positive integer";
    }
    if (strcmp(tok[2], "queue_max") == 0) {
        return pgw__int(tok[3], &c->queue_max) == PGW_OK
                   ? NULL : "queue_max must be a non-negative integer";
    }
    if (strcmp(tok[2], "queue_wait_ms") == 0) {
        return pgw__int(tok[3], &c->queue_wait_ms) == PGW_OK
                   ? NULL : "queue_wait_ms must be a non-negative integer";
    }
    /* pack versions (docs/pack-versions.md) */
    if (strcmp(tok[2], "canary_pct") == 0) {
        return pgw__int(tok[3], &c->canary_pct) == PGW_OK && c->canary_pct <= 100
                   ? NULL : "canary_pct must be an integer from 0 to 100";
    }
    /* the query scheduler (docs/status-keeping.md) */
    if (strcmp(tok[2], "query_max") == 0) {
        return pgw__int(tok[3], &c->query_max) == PGW_OK && c->query_max > 0
                   ? NULL : "query_max must be a positive integer";
    }
    if (strcmp(tok[2], "query_concurrency") == 0) {
        return pgw__int(tok[3], &c->query_concurrency) == PGW_OK
                       && c->query_concurrency > 0
                   ? NULL : "query_concurrency must be a positive integer";
    }
    if (strcmp(tok[2], "notify_confirm_above") == 0) {
        return pgw__int(tok[3], &c->notify_confirm_above) == PGW_OK
                   ? NULL : "notify_confirm_above must be an amount in minor"
                            " units";
    }
    if (strcmp(tok[2], "query_backoff_ms") == 0) {
        return pgw_parse_ms_list(tok[3], c->query_backoff_ms, PGW_MAX_BACKOFF,
                                 &c->n_query_backoff) == PGW_OK
                   ? NULL : "query_backoff_ms must be a comma list of integers";
    }
    if (strcmp(tok[2], "enabled") == 0) {
        if (strcmp(tok[3], "on") == 0 || strcmp(tok[3], "off") == 0) {
            c->enabled = strcmp(tok[3], "on") == 0;
            return NULL;
        }
        return "enabled must be on or off";
    }
    if (strcmp(tok[2], "micropay") == 0) {
        /* overrides one key of the pack's micropay policy, e.g. for tests:
         * channel wechatpay_v2 micropay give_up_after_ms 2000 */
        static const char *const keys[] = { "poll_ms", "give_up_after_ms",
                                            "reverse_not_before_ms",
                                            "reverse_retry_ms", "reverse_max" };
        int64_t v;
        size_t i;

        if (ntok < 5) {
            return "usage: channel <name> micropay <key> <value>";
        }
        for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            if (strcmp(tok[3], keys[i]) == 0) {
                break;
            }
        }
        if (i == sizeof(keys) / sizeof(keys[0])) {
            return "micropay key must be poll_ms, give_up_after_ms,"
                   " reverse_not_before_ms, reverse_retry_ms or reverse_max";
        }
        if (pgw__int(tok[4], &v) != PGW_OK) {
            return "micropay value must be a non-negative integer";
        }
        if (c->micropay == NULL && (c->micropay = json_object()) == NULL) {
            return "out of memory";
        }
        json_object_set_new(c->micropay, tok[3], json_integer(v));
        return NULL;
    }
    if (strcmp(tok[2], "param") == 0) {
        if (ntok < 5) {
            return "usage: channel <name> param <key> <value>";
        }
        json_object_set_new(c->params, tok[3], json_string(tok[4]));
        return NULL;
    }
    return "unknown channel setting";
}


/* sign_key <path>: resolved from the config file's directory, loaded now */
static const char *
pgw__sign_key(struct pgw_config *conf, const char *value, char *msg,
              size_t msglen)
{
    const char *slash = strrchr(conf->path, '/');
    int n;

    if (conf->sign_key_pkey != NULL) {
        return "given twice";
    }
    if (value[0] == '/' || slash == NULL) {
        n = snprintf(conf->sign_key, sizeof(conf->sign_key), "%s", value);
    } else {
        n = snprintf(conf->sign_key, sizeof(conf->sign_key), "%.*s/%s",
                     (int) (slash - conf->path), conf->path, value);
    }
    if (n < 0 || (size_t) n >= sizeof(conf->sign_key)) {
        return "path too long";
    }
    conf->sign_key_pkey = pgw_rsa_load_pem(conf->sign_key, 1, 2048, msg, msglen);
    return conf->sign_key_pkey != NULL ? NULL : msg;
}


static const char *
pgw__directive(struct pgw_config *conf, char **tok, int ntok, char *msg,
               size_t msglen)
{
    static const struct {
        const char *name;
        size_t off;
        size_t len;
    } strs[] = {
#define PGW__S(f) { #f, offsetof(struct pgw_config, f), \
                    sizeof(((struct pgw_config *) 0)->f) }
        PGW__S(listen_unix), PGW__S(admin_listen), PGW__S(admin_token),
        PGW__S(db), PGW__S(apps), PGW__S(routes), PGW__S(templates), PGW__S(scripts),
        PGW__S(keystore), PGW__S(public_url), PGW__S(log_level),
#undef PGW__S
    };
    static const struct {
        const char *name;
        size_t off;
    } ints[] = {
        { "not_found_alert_s", offsetof(struct pgw_config, not_found_alert_s) },
        { "expiry_grace_s", offsetof(struct pgw_config, expiry_grace_s) },
        { "scan_interval_ms", offsetof(struct pgw_config, scan_interval_ms) },
        { "sync_timeout_ms", offsetof(struct pgw_config, sync_timeout_ms) },
        { "pack_watch", offsetof(struct pgw_config, pack_watch) },
        { "canary_min_samples", offsetof(struct pgw_config, canary_min_samples) },
        { "group_commit_max", offsetof(struct pgw_config, group_commit_max) },
        { "refresh_rate", offsetof(struct pgw_config, refresh_rate) },
        { "refresh_burst", offsetof(struct pgw_config, refresh_burst) },
        { "refresh_min_interval_ms",
          offsetof(struct pgw_config, refresh_min_interval_ms) },
    };

    if (strcmp(tok[0], "channel") == 0) {
        return pgw__channel_directive(conf, tok, ntok);
    }
    if (ntok != 2) {
        return "expected exactly one value";
    }
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (strcmp(tok[0], strs[i].name) == 0) {
            return pgw__copy((char *) conf + strs[i].off, strs[i].len, tok[1])
                           == PGW_OK
                       ? NULL : "value too long";
        }
    }
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        if (strcmp(tok[0], ints[i].name) == 0) {
            return pgw__int(tok[1], (int64_t *) ((char *) conf + ints[i].off))
                           == PGW_OK
                       ? NULL : "value must be a non-negative integer";
        }
    }
    if (strcmp(tok[0], "sign_key") == 0) {
        return pgw__sign_key(conf, tok[1], msg, msglen);
    }
    if (strcmp(tok[0], "notify_backoff") == 0) {
        /* seconds, kept in ms */
        if (pgw_parse_ms_list(tok[1], conf->notify_backoff_ms, PGW_MAX_BACKOFF,
                              &conf->n_notify_backoff) != PGW_OK) {
            return "notify_backoff must be a comma list of seconds";
        }
        for (int i = 0; i < conf->n_notify_backoff; i++) {
            conf->notify_backoff_ms[i] *= 1000;
        }
        return NULL;
    }
    if (strcmp(tok[0], "notify_backoff_ms") == 0) {
        /* the same in milliseconds (compressed schedules in tests) */
        return pgw_parse_ms_list(tok[1], conf->notify_backoff_ms,
                                 PGW_MAX_BACKOFF, &conf->n_notify_backoff)
                       == PGW_OK
                   ? NULL : "notify_backoff_ms must be a comma list of"
                            " milliseconds";
    }
    return "unknown directive";
}


static void
pgw__defaults(struct pgw_config *conf)
{
    pgw__copy(conf->listen_unix, sizeof(conf->listen_unix), "run/core.sock");
    pgw__copy(conf->admin_listen, sizeof(conf->admin_listen), "127.0.0.1:8081");
    pgw__copy(conf->db, sizeof(conf->db), "run/paygw.db");
    pgw__copy(conf->apps, sizeof(conf->apps), "conf/apps.conf");
    pgw__copy(conf->templates, sizeof(conf->templates), "templates");
    pgw__copy(conf->scripts, sizeof(conf->scripts), "scripts");
    pgw__copy(conf->keystore, sizeof(conf->keystore), "conf/keys");
    pgw__copy(conf->public_url, sizeof(conf->public_url),
              "http://127.0.0.1:8080");
    pgw__copy(conf->log_level, sizeof(conf->log_level), "info");
    /* SPEC §3.5: 10 attempts over about 12 hours — the first at once, then
     * these 9 delays (15 s ... 6 h, 11.7 h in all) */
    static const int64_t backoff[] = { 15000, 15000, 30000, 180000, 600000,
                                       1800000, 3600000, 14400000, 21600000 };
    memcpy(conf->notify_backoff_ms, backoff, sizeof(backoff));
    conf->n_notify_backoff = 9;
    conf->refresh_rate = 5;
    conf->refresh_burst = 20;
    conf->refresh_min_interval_ms = 2000;
    conf->not_found_alert_s = 1800;
    conf->expiry_grace_s = 300;
    conf->scan_interval_ms = 100;
    conf->sync_timeout_ms = 40000;
    conf->pack_watch = 1;
    conf->canary_min_samples = 10;
    conf->group_commit_max = 512;
}


struct pgw_config *
pgw_config_load(const char *path, char *err, size_t errlen)
{
    struct pgw_config *conf;
    char line[2048];
    FILE *f;
    int lineno = 0;

    conf = calloc(1, sizeof(*conf));
    if (conf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    pgw__defaults(conf);
    pgw__copy(conf->path, sizeof(conf->path), path);

    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        free(conf);
        return NULL;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *tok[PGW__MAX_TOKENS], *save = NULL, *p, *hash, buf[600];
        int ntok = 0;
        const char *msg;

        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            goto failed;
        }
        hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        for (p = strtok_r(line, " \t\r\n", &save); p != NULL;
             p = strtok_r(NULL, " \t\r\n", &save)) {
            if (ntok == PGW__MAX_TOKENS) {
                snprintf(err, errlen, "%s:%d: too many values", path, lineno);
                goto failed;
            }
            tok[ntok++] = p;
        }
        if (ntok == 0) {
            continue;
        }
        msg = pgw__directive(conf, tok, ntok, buf, sizeof(buf));
        if (msg != NULL) {
            snprintf(err, errlen, "%s:%d: %s: %s", path, lineno, tok[0], msg);
            goto failed;
        }
    }
    fclose(f);
    return conf;

failed:
    fclose(f);
    pgw_config_free(conf);
    return NULL;
}


void
pgw_config_free(struct pgw_config *conf)
{
    struct pgw_channel_conf *c, *next;

    if (conf == NULL) {
        return;
    }
    for (c = conf->channels; c; c = next) {
        next = c->next;
        json_decref(c->params);
        json_decref(c->micropay);
        free(c);
    }
    EVP_PKEY_free(conf->sign_key_pkey);
    free(conf);
}
