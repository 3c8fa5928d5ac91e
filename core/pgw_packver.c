/*
 * pgw_packver.c — pack versions in the running daemon (docs/pack-versions.md).
 *
 * Owns: the inotify watch on the pack directories (a changed
 * templates/<ch>.lua, scripts/<ch>.lua or templates/<ch>.fixtures/ file
 * reloads <ch> after a 250 ms quiet period); reload / rollback / promote;
 * the canary of each channel (a staged version serving canary_pct % of new
 * pays, judged against the current version's error rate since it was staged
 * and dropped automatically when it does worse); which version an operation
 * runs on; pack_events rows and the alerts of refused or rolled-back versions.
 *
 * A new version is compiled in a fresh sandbox, its manifest checked and its
 * fixtures run (adapters/pgw_packs.c) before anything serves it; a refused one
 * leaves the version in force serving. Versions are refcounted: a send in
 * flight finishes on the version that built it, whatever is swapped meanwhile.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_log.h"
#include "pgw_pack.h"
#include "pgw_packver.h"
#include "pgw_store.h"

#define PGW__PV_MAX 128
#define PGW__PV_DEBOUNCE_MS 250
#define PGW__PV_WATCHES 256

struct pgw__pv {
    char channel[32];
    struct pgw_pack *canary;        /* retained, or NULL */
    int canary_pct;
    int64_t canary_since;
    uint64_t can_n, can_err;        /* canary outcomes since staged */
    uint64_t base_n, base_err;      /* current version's, same period */
    int pending;                    /* the watcher saw its files change */
    char pending_file[128];
    int64_t last_at;
    char last_result[16];           /* installed canary unchanged refused ... */
    char last_version[16];
    char last_error[512];
};

static struct pgw__pv pgw__pvs[PGW__PV_MAX];
static size_t pgw__npv;
static int pgw__ifd = -1;
static struct event *pgw__iev, *pgw__timer;
static struct {
    int wd;
    int kind;                       /* 0 templates, 1 scripts, 2 fixtures */
    char channel[32];
} pgw__watch[PGW__PV_WATCHES];
static size_t pgw__nwatch;
static uint64_t pgw__rng;


static struct pgw__pv *
pgw__pv(const char *channel)
{
    for (size_t i = 0; i < pgw__npv; i++) {
        if (strcmp(pgw__pvs[i].channel, channel) == 0) {
            return &pgw__pvs[i];
        }
    }
    if (pgw__npv == PGW__PV_MAX) {
        return NULL;
    }
    memset(&pgw__pvs[pgw__npv], 0, sizeof(pgw__pvs[0]));
    snprintf(pgw__pvs[pgw__npv].channel, sizeof(pgw__pvs[0].channel), "%s", channel);
    return &pgw__pvs[pgw__npv++];
}


/* ---- record: pack_events rows, alerts, log lines ------------------------------ */

static void
pgw__event(struct pgw_daemon *d, const char *channel, const char *action,
           const char *old_v, const char *new_v, const char *who, const char *reason,
           const char *error, const char *alert_kind)
{
    struct pgw_txn *txn = pgw_txn_new();
    int64_t now = pgw_now_ms();

    if (txn == NULL) {
        return;
    }
    pgw_txn_add(txn, 1,
                "INSERT INTO pack_events (at, channel, action, old_version,"
                " new_version, who, reason, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                "isssssss", now, channel, action, old_v, new_v, who, reason, error);
    if (alert_kind != NULL) {
        char detail[700];
        snprintf(detail, sizeof(detail), "%s: %s", channel, error ? error : action);
        pgw_txn_add(txn, 1,
                    "INSERT INTO discrepancies (id, order_id, kind, status,"
                    " evidence_class, code, detail, at)"
                    " VALUES (?, NULL, ?, NULL, NULL, ?, ?, ?)",
                    "isssi", pgw_store_next_id(d->store, "discrepancies"), alert_kind,
                    channel, detail, now);
        d->metrics.discrepancies++;
    }
    pgw_store_submit(d->store, txn, NULL, NULL);
}


static void
pgw__last(struct pgw__pv *pv, const char *result, const char *version, const char *error)
{
    pv->last_at = pgw_now_ms();
    snprintf(pv->last_result, sizeof(pv->last_result), "%s", result);
    snprintf(pv->last_version, sizeof(pv->last_version), "%s", version ? version : "");
    snprintf(pv->last_error, sizeof(pv->last_error), "%s", error ? error : "");
}


static void
pgw__drop_canary(struct pgw__pv *pv)
{
    pgw_pack_release(pv->canary);
    pv->canary = NULL;
    pv->canary_pct = 0;
    pv->can_n = pv->can_err = pv->base_n = pv->base_err = 0;
}


static const char *
pgw__v(const struct pgw_pack *p)
{
    return p != NULL ? pgw_pack_version(p) : NULL;
}


/* ---- operations ---------------------------------------------------------------- */

int
pgw_packver_reload(struct pgw_daemon *d, const char *channel, int canary_pct,
                   const char *who, const char *reason, json_t **out, char *err,
                   size_t errlen)
{
    struct pgw_channel_conf *c = pgw_config_channel(d->conf, channel);
    struct pgw_pack *cur, *p = NULL;
    struct pgw__pv *pv;
    char old_v[16];
    int rc;

    *out = NULL;
    if (c == NULL || (pv = pgw__pv(channel)) == NULL) {
        snprintf(err, errlen, "%s is not a channel of %s", channel, d->conf->path);
        return PGW_NOTFOUND;
    }
    cur = pgw_packs_get(d->packs, channel);
    snprintf(old_v, sizeof(old_v), "%s", cur ? pgw_pack_version(cur) : "");
    rc = pgw_packs_prepare_version(d->packs, channel, c->params, &p, err, errlen);
    if (rc < 0) {
        pgw_log(PGW_LOG_ERROR, "pack.reload_refused", "%s: %s (version %s keeps serving)",
                channel, err, old_v[0] ? old_v : "none");
        pgw__last(pv, "refused", NULL, err);
        pgw__event(d, channel, "refused", old_v, NULL, who, reason, err,
                   "pack_reload_failed");
        return PGW_ERR;
    }
    if (rc == 1 && !(pv->canary && canary_pct == 0)) {
        pgw__last(pv, "unchanged", old_v, NULL);
        *out = json_pack("{s:s, s:s, s:s}", "channel", channel, "result", "unchanged",
                         "version", old_v);
        return PGW_OK;
    }
    if (rc == 1) {
        /* the files are the current version again while a canary runs:
         * reloading them means "no canary" */
        pgw__event(d, channel, "canary_dropped", pgw__v(pv->canary), old_v, who, reason,
                   NULL, NULL);
        pgw__drop_canary(pv);
        pgw__last(pv, "installed", old_v, NULL);
        *out = json_pack("{s:s, s:s, s:s}", "channel", channel, "result", "installed",
                         "version", old_v);
        return PGW_OK;
    }
    if (canary_pct > 0) {
        pgw__drop_canary(pv);
        pv->canary = p;                 /* our reference */
        pv->canary_pct = canary_pct;
        pv->canary_since = pgw_now_ms();
        pgw_packs_remember_version(d->packs, channel, p);
        pgw_log(PGW_LOG_INFO, "pack.canary", "%s: version %s on %d%% of new pays"
                " (current %s)", channel, pgw_pack_version(p), canary_pct, old_v);
        pgw__last(pv, "canary", pgw_pack_version(p), NULL);
        pgw__event(d, channel, "canary", old_v, pgw_pack_version(p), who, reason, NULL,
                   NULL);
        *out = json_pack("{s:s, s:s, s:s, s:s, s:i}", "channel", channel, "result",
                         "canary", "version", pgw_pack_version(p), "previous", old_v,
                         "canary_pct", canary_pct);
        return PGW_OK;
    }
    if (pgw_packs_install(d->packs, channel, p, err, errlen) != 0) {
        pgw_pack_release(p);
        return PGW_ERR;
    }
    pgw__drop_canary(pv);
    pgw_log(PGW_LOG_INFO, "pack.reloaded", "%s: version %s replaces %s (by %s: %s)",
            channel, pgw_pack_version(p), old_v, who, reason);
    pgw__last(pv, "installed", pgw_pack_version(p), NULL);
    pgw__event(d, channel, "installed", old_v, pgw_pack_version(p), who, reason, NULL,
               NULL);
    *out = json_pack("{s:s, s:s, s:s, s:s}", "channel", channel, "result", "installed",
                     "version", pgw_pack_version(p), "previous", old_v);
    pgw_pack_release(p);                /* the registry holds it now */
    return PGW_OK;
}


int
pgw_packver_rollback(struct pgw_daemon *d, const char *channel, const char *who,
                     const char *reason, json_t **out, char *err, size_t errlen)
{
    struct pgw__pv *pv;
    struct pgw_pack *cur;
    char old_v[16];

    *out = NULL;
    if (pgw_config_channel(d->conf, channel) == NULL || (pv = pgw__pv(channel)) == NULL) {
        snprintf(err, errlen, "%s is not a channel of %s", channel, d->conf->path);
        return PGW_NOTFOUND;
    }
    cur = pgw_packs_get(d->packs, channel);
    snprintf(old_v, sizeof(old_v), "%s", cur ? pgw_pack_version(cur) : "");
    if (pv->canary != NULL) {
        char can_v[16];
        snprintf(can_v, sizeof(can_v), "%s", pgw_pack_version(pv->canary));
        pgw__drop_canary(pv);
        pgw_log(PGW_LOG_WARN, "pack.rollback", "%s: canary %s dropped by %s (%s);"
                " %s serves every pay", channel, can_v, who, reason, old_v);
        pgw__last(pv, "rolled_back", old_v, NULL);
        pgw__event(d, channel, "canary_dropped", can_v, old_v, who, reason, NULL, NULL);
        *out = json_pack("{s:s, s:s, s:s, s:s}", "channel", channel, "result",
                         "canary_dropped", "version", old_v, "dropped", can_v);
        return PGW_OK;
    }
    if (pgw_packs_rollback(d->packs, channel, err, errlen) != 0) {
        return PGW_ERR;
    }
    cur = pgw_packs_get(d->packs, channel);
    pgw_log(PGW_LOG_WARN, "pack.rollback", "%s: back to version %s from %s (by %s: %s)",
            channel, pgw_pack_version(cur), old_v, who, reason);
    pgw__last(pv, "rolled_back", pgw_pack_version(cur), NULL);
    pgw__event(d, channel, "rolled_back", old_v, pgw_pack_version(cur), who, reason, NULL,
               NULL);
    *out = json_pack("{s:s, s:s, s:s, s:s}", "channel", channel, "result", "rolled_back",
                     "version", pgw_pack_version(cur), "previous", old_v);
    return PGW_OK;
}


int
pgw_packver_promote(struct pgw_daemon *d, const char *channel, const char *who,
                    const char *reason, json_t **out, char *err, size_t errlen)
{
    struct pgw__pv *pv;
    struct pgw_pack *cur;
    char old_v[16];

    *out = NULL;
    if (pgw_config_channel(d->conf, channel) == NULL || (pv = pgw__pv(channel)) == NULL) {
        snprintf(err, errlen, "%s is not a channel of %s", channel, d->conf->path);
        return PGW_NOTFOUND;
    }
    if (pv->canary == NULL) {
        snprintf(err, errlen, "%s has no canary to promote", channel);
        return PGW_ERR;
    }
    cur = pgw_packs_get(d->packs, channel);
    snprintf(old_v, sizeof(old_v), "%s", cur ? pgw_pack_version(cur) : "");
    if (pgw_packs_install(d->packs, channel, pv->canary, err, errlen) != 0) {
        return PGW_ERR;
    }
    cur = pv->canary;
    pgw_log(PGW_LOG_INFO, "pack.promoted", "%s: canary %s now serves every pay (by %s: %s)",
            channel, pgw_pack_version(cur), who, reason);
    pgw__last(pv, "installed", pgw_pack_version(cur), NULL);
    pgw__event(d, channel, "promoted", old_v, pgw_pack_version(cur), who, reason, NULL,
               NULL);
    *out = json_pack("{s:s, s:s, s:s, s:s}", "channel", channel, "result", "installed",
                     "version", pgw_pack_version(cur), "previous", old_v);
    pgw__drop_canary(pv);
    return PGW_OK;
}


/* ---- which version runs an operation --------------------------------------- */

struct pgw_pack *
pgw_packver_for_pay(struct pgw_daemon *d, const char *channel)
{
    struct pgw_pack *cur = pgw_packs_get(d->packs, channel);
    struct pgw__pv *pv;

    for (size_t i = 0; i < pgw__npv; i++) {
        pv = &pgw__pvs[i];
        if (pv->canary == NULL || strcmp(pv->channel, channel) != 0) {
            continue;
        }
        if (pgw__rng == 0) {
            pgw__rng = ((uint64_t) time(NULL) << 21) ^ (uint64_t) getpid() ^ 0x9e37;
        }
        pgw__rng ^= pgw__rng >> 12;
        pgw__rng ^= pgw__rng << 25;
        pgw__rng ^= pgw__rng >> 27;
        if (((pgw__rng * 0x2545F4914F6CDD1DULL) >> 33) % 100 < (uint64_t) pv->canary_pct
            || cur == NULL) {
            return pv->canary;
        }
        break;
    }
    return cur;
}


struct pgw_pack *
pgw_packver_for_order(struct pgw_daemon *d, const char *channel, int64_t order_id)
{
    struct pgw_pack *p = NULL;
    sqlite3_stmt *st;

    if (order_id <= 0 || (st = pgw_store_query(d->store,
                                                "SELECT pack_version FROM orders"
                                                " WHERE id = ? AND channel = ?",
                                                "is", order_id, channel)) == NULL) {
        return pgw_packs_get(d->packs, channel);
    }
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
        const char *v = (const char *) sqlite3_column_text(st, 0);
        p = pgw_packs_find_version(d->packs, channel, v);
    }
    sqlite3_reset(st);
    return p != NULL ? p : pgw_packs_get(d->packs, channel);
}


void
pgw_packver_note(struct pgw_daemon *d, const struct pgw_pack *pack, int error)
{
    const char *channel = pgw_pack_channel(pack);
    struct pgw__pv *pv = NULL;
    double base_rate, can_rate;

    for (size_t i = 0; i < pgw__npv; i++) {
        if (pgw__pvs[i].canary != NULL && strcmp(pgw__pvs[i].channel, channel) == 0) {
            pv = &pgw__pvs[i];
            break;
        }
    }
    if (pv == NULL) {
        return;                         /* no canary: nothing to judge */
    }
    if (pack == pv->canary) {
        pv->can_n++;
        pv->can_err += error != 0;
    } else if (pack == pgw_packs_get(d->packs, channel)) {
        pv->base_n++;
        pv->base_err += error != 0;
        return;
    } else {
        return;
    }
    if (pv->can_n < (uint64_t) d->conf->canary_min_samples || pv->can_err < 3) {
        return;
    }
    base_rate = pv->base_n ? (double) pv->base_err / (double) pv->base_n : 0.0;
    can_rate = (double) pv->can_err / (double) pv->can_n;
    if (can_rate > base_rate + 0.05) {
        char why[256], can_v[16], cur_v[16];
        snprintf(can_v, sizeof(can_v), "%s", pgw_pack_version(pv->canary));
        const char *cv = pgw__v(pgw_packs_get(d->packs, channel));
        snprintf(cur_v, sizeof(cur_v), "%s", cv ? cv : "");
        snprintf(why, sizeof(why), "canary %s: %llu errors in %llu outcomes (%.0f%%)"
                 " against %.0f%% for %s: rolled back", can_v,
                 (unsigned long long) pv->can_err, (unsigned long long) pv->can_n,
                 100.0 * can_rate, 100.0 * base_rate, cur_v);
        pgw_log(PGW_LOG_ERROR, "pack.canary_rolled_back", "%s: %s", channel, why);
        pgw__drop_canary(pv);
        pgw__last(pv, "rolled_back", cur_v, why);
        pgw__event(d, channel, "canary_rolled_back", can_v, cur_v, "paygwd",
                   "canary error rate", why, "pack_canary_rolled_back");
    }
}


/* ---- status ------------------------------------------------------------------------ */

json_t *
pgw_packver_status(struct pgw_daemon *d)
{
    json_t *list = json_array();

    for (struct pgw_channel_conf *c = d->conf->channels; c; c = c->next) {
        struct pgw_pack *cur = pgw_packs_get(d->packs, c->name);
        struct pgw_pack *prev = pgw_packs_prev(d->packs, c->name);
        struct pgw__pv *pv = pgw__pv(c->name);
        json_t *j = json_pack("{s:s, s:s?, s:s?}", "channel", c->name,
                              "version", pgw__v(cur), "previous", pgw__v(prev));

        if (pv && pv->canary) {
            json_object_set_new(j, "canary", json_pack(
                "{s:s, s:i, s:I, s:I, s:I, s:I, s:I}", "version",
                pgw_pack_version(pv->canary), "pct", pv->canary_pct,
                "since", (json_int_t) pv->canary_since,
                "outcomes", (json_int_t) pv->can_n, "errors", (json_int_t) pv->can_err,
                "current_outcomes", (json_int_t) pv->base_n,
                "current_errors", (json_int_t) pv->base_err));
        }
        if (pv && pv->last_at) {
            json_object_set_new(j, "last_reload", json_pack(
                "{s:I, s:s, s:s?, s:s?}", "at", (json_int_t) pv->last_at,
                "result", pv->last_result,
                "version", pv->last_version[0] ? pv->last_version : NULL,
                "error", pv->last_error[0] ? pv->last_error : NULL));
        }
        json_array_append_new(list, j);
    }
    return json_pack("{s:o, s:b}", "channels", list, "watching", pgw__ifd >= 0);
}


/* ---- the watcher ------------------------------------------------------------- */

static void
pgw__on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct pgw_daemon *d = arg;

    (void) fd;
    (void) what;
    for (size_t i = 0; i < pgw__npv; i++) {
        struct pgw__pv *pv = &pgw__pvs[i];
        struct pgw_channel_conf *c;
        char err[1024], reason[200];
        json_t *out = NULL;

        if (!pv->pending) {
            continue;
        }
        pv->pending = 0;
        c = pgw_config_channel(d->conf, pv->channel);
        if (c == NULL) {
            continue;
        }
        snprintf(reason, sizeof(reason), "files changed (%s)", pv->pending_file);
        if (pgw_packver_reload(d, pv->channel, (int) c->canary_pct, "watcher", reason,
                               &out, err, sizeof(err)) == PGW_OK) {
            json_decref(out);
        }
    }
}


static void
pgw__on_inotify(evutil_socket_t fd, short what, void *arg)
{
    struct pgw_daemon *d = arg;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    int any = 0;

    (void) what;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *) p;
            char channel[32] = "";

            p += sizeof(*ev) + ev->len;
            for (size_t i = 0; i < pgw__nwatch; i++) {
                if (pgw__watch[i].wd != ev->wd) {
                    continue;
                }
                if (pgw__watch[i].kind == 2) {
                    snprintf(channel, sizeof(channel), "%s", pgw__watch[i].channel);
                } else if (ev->len > 0) {
                    const char *dot = strrchr(ev->name, '.');
                    size_t len = dot ? (size_t) (dot - ev->name) : 0;
                    if (dot && strcmp(dot, ".lua") == 0 && len > 0
                        && len < sizeof(channel)) {
                        memcpy(channel, ev->name, len);
                        channel[len] = '\0';
                    }
                }
                break;
            }
            if (channel[0] && pgw_config_channel(d->conf, channel)) {
                struct pgw__pv *pv = pgw__pv(channel);
                if (pv) {
                    pv->pending = 1;
                    snprintf(pv->pending_file, sizeof(pv->pending_file), "%s",
                             ev->len ? ev->name : "");
                    any = 1;
                }
            }
        }
    }
    if (any) {
        struct timeval tv = { 0, PGW__PV_DEBOUNCE_MS * 1000 };
        evtimer_add(pgw__timer, &tv);   /* re-armed: a quiet period */
    }
}


static int
pgw__add_watch(const char *dir, int kind, const char *channel)
{
    int wd;

    if (pgw__nwatch == PGW__PV_WATCHES) {
        return -1;
    }
    wd = inotify_add_watch(pgw__ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
                                          | IN_DELETE | IN_MOVED_FROM);
    if (wd < 0) {
        return -1;
    }
    pgw__watch[pgw__nwatch].wd = wd;
    pgw__watch[pgw__nwatch].kind = kind;
    snprintf(pgw__watch[pgw__nwatch].channel, sizeof(pgw__watch[0].channel), "%s",
             channel ? channel : "");
    pgw__nwatch++;
    return 0;
}


int
pgw_packver_start(struct pgw_daemon *d, char *err, size_t errlen)
{
    for (struct pgw_channel_conf *c = d->conf->channels; c; c = c->next) {
        struct pgw_pack *cur = pgw_packs_get(d->packs, c->name);
        if (pgw__pv(c->name) == NULL) {
            snprintf(err, errlen, "too many channels");
            return PGW_ERR;
        }
        if (cur != NULL) {
            pgw_packs_remember_version(d->packs, c->name, cur);
        }
    }
    if (!d->conf->pack_watch) {
        return PGW_OK;
    }
    pgw__ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (pgw__ifd < 0) {
        snprintf(err, errlen, "inotify: %s (set \"pack_watch 0\" to run without it)",
                 strerror(errno));
        return PGW_ERR;
    }
    if (pgw__add_watch(d->conf->templates, 0, NULL) != 0
        || pgw__add_watch(d->conf->scripts, 1, NULL) != 0) {
        snprintf(err, errlen, "inotify: cannot watch %s and %s: %s",
                 d->conf->templates, d->conf->scripts, strerror(errno));
        close(pgw__ifd);
        pgw__ifd = -1;
        return PGW_ERR;
    }
    for (struct pgw_channel_conf *c = d->conf->channels; c; c = c->next) {
        char fix[1100];
        snprintf(fix, sizeof(fix), "%s/%s.fixtures", d->conf->templates, c->name);
        (void) pgw__add_watch(fix, 2, c->name);     /* a pack may have none */
    }
    pgw__iev = event_new(d->base, pgw__ifd, EV_READ | EV_PERSIST, pgw__on_inotify, d);
    pgw__timer = evtimer_new(d->base, pgw__on_timer, d);
    if (pgw__iev == NULL || pgw__timer == NULL || event_add(pgw__iev, NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        return PGW_ERR;
    }
    pgw_log(PGW_LOG_INFO, "pack.watching", "%s and %s", d->conf->templates,
            d->conf->scripts);
    return PGW_OK;
}


void
pgw_packver_stop(struct pgw_daemon *d)
{
    (void) d;
    if (pgw__iev) {
        event_free(pgw__iev);
        pgw__iev = NULL;
    }
    if (pgw__timer) {
        event_free(pgw__timer);
        pgw__timer = NULL;
    }
    if (pgw__ifd >= 0) {
        close(pgw__ifd);
        pgw__ifd = -1;
    }
    for (size_t i = 0; i < pgw__npv; i++) {
        pgw__drop_canary(&pgw__pvs[i]);
    }
    pgw__npv = 0;
    pgw__nwatch = 0;
}
