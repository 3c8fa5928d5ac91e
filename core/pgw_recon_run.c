/*
 * pgw_recon_run.c — statement reconciliation inside paygwd
 * (docs/reconciliation.md): the admin API of runs, the worker thread,
 * storing its findings, the recon metrics. The discrepancy workflow is
 * pgw_discrepancy.c.
 *
 * Why a worker thread: parsing and matching a day (100 000 rows) takes
 * seconds; the loop must keep serving payments. The worker owns everything
 * it touches: a copy of the statement, its own read-only SQLite connection
 * and its own pack runtime (a Lua state is not shared between threads).
 * It never writes: its findings come back to the loop (an event made
 * active from the worker), and the loop stores them through the ordinary
 * writer in one transaction — the run row, one discrepancy per finding,
 * the next_query_at of each PROCESSING order the statement reports paid
 * (the scheduler's query settles it; a statement never sets a status), and
 * the closing of the previous day's carried items.
 *
 * One run at a time per daemon. A run still RUNNING in the store when a
 * new one starts was cut short by a stop: it is marked FAILED then.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sqlite3.h>

#include "pgw_config.h"
#include "pgw_discrepancy.h"
#include "pgw_daemon.h"
#include "pgw_http.h"
#include "pgw_log.h"
#include "pgw_pack.h"
#include "pgw_recon.h"
#include "pgw_recon_fetch.h"
#include "pgw_recon_run.h"
#include "pgw_store.h"

#define PGW__DEFAULT_WINDOW_S 600
#define PGW__MAX_CHANNELS     64


struct pgw__carried {           /* an item the previous day's run carried */
    int64_t order_id;
    int64_t discrepancy_id;
};

struct pgw__job {
    int64_t run_id;
    char channel[32];
    char date[11];
    char tz[8];                 /* "" = the statement's own, else +00:00 */
    int64_t window_ms;
    char who[128];
    char source[200];
    char *text;                 /* the statement bytes, owned; NULL: fetch
                                   it through the pack's bill operation */
    size_t len;
    long connect_ms, timeout_ms;    /* for the fetch */

    /* copies for the worker */
    char db[512], templates[512], scripts[512], keystore[512];
    json_t *params;
    char channels[PGW__MAX_CHANNELS][32];
    int n_channels;

    /* results */
    int failed;
    char error[512];
    char stmt_warning[256];     /* the statement's own error (footer counts) */
    struct pgw_recon rec;
    int rec_ready;
    json_t *totals;
    uint64_t refund_rows;
    uint64_t orders;
    struct pgw__carried *carried;
    size_t n_carried;
    double seconds;
};

static struct {
    struct pgw_daemon *d;
    pthread_t thread;
    int thread_live;
    struct event *done_ev;
    struct pgw__job *job;       /* the run in progress */
    atomic_int cancel;
    int stopped;                /* paygwd is stopping: start nothing */
    json_t *items;              /* "channel\tkind" -> count */
    json_t *runs;               /* "channel\tstate" -> count */
} R;


static void
pgw__count(json_t **obj, const char *channel, const char *what, uint64_t n)
{
    char key[96];
    json_t *v;

    if (*obj == NULL && (*obj = json_object()) == NULL) {
        return;
    }
    snprintf(key, sizeof(key), "%s\t%s", channel, what);
    v = json_object_get(*obj, key);
    if (v) {
        json_integer_set(v, json_integer_value(v) + (json_int_t) n);
    } else {
        json_object_set_new(*obj, key, json_integer((json_int_t) n));
    }
}


static void
pgw__job_free(struct pgw__job *job)
{
    if (job == NULL) {
        return;
    }
    free(job->text);
    json_decref(job->params);
    json_decref(job->totals);
    free(job->carried);
    if (job->rec_ready) {
        pgw_recon_free(&job->rec);
    }
    free(job);
}


/* ---- the worker ----------------------------------------------------------- */

static void
pgw__fail(struct pgw__job *job, const char *fmt, const char *a, const char *b)
{
    job->failed = 1;
    snprintf(job->error, sizeof(job->error), fmt, a, b);
}


static void
pgw__col_str(sqlite3_stmt *st, int col, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    snprintf(out, len, "%s", t ? (const char *) t : "");
}


#define PGW__ORDER_COLS \
    "o.id, o.out_trade_no, COALESCE(o.channel, ''), o.channel_trade_no," \
    " o.currency, o.status, o.amount, o.created_at, o.finished_at"

static void
pgw__order_from(sqlite3_stmt *st, struct pgw_recon_order *o)
{
    memset(o, 0, sizeof(*o));
    o->id = sqlite3_column_int64(st, 0);
    pgw__col_str(st, 1, o->out_trade_no, sizeof(o->out_trade_no));
    pgw__col_str(st, 2, o->channel, sizeof(o->channel));
    pgw__col_str(st, 3, o->channel_trade_no, sizeof(o->channel_trade_no));
    pgw__col_str(st, 4, o->currency, sizeof(o->currency));
    pgw__col_str(st, 5, o->status, sizeof(o->status));
    o->amount = sqlite3_column_int64(st, 6);
    o->created_at = sqlite3_column_int64(st, 7);
    o->finished_at = sqlite3_column_int64(st, 8);
}


struct pgw__lookup {
    struct pgw__job *job;
    sqlite3_stmt *st;           /* by (channel, out_trade_no): indexed */
};

/* an order a row names outside the day's set: the run's channel first,
 * then the other configured channels (each lookup uses the index) */
static int
pgw__lookup(void *arg, const char *out_trade_no, struct pgw_recon_order *out)
{
    struct pgw__lookup *lk = arg;
    struct pgw__job *job = lk->job;

    for (int i = -1; i < job->n_channels; i++) {
        const char *ch = i < 0 ? job->channel : job->channels[i];
        int rc;

        if (i >= 0 && strcmp(ch, job->channel) == 0) {
            continue;
        }
        sqlite3_reset(lk->st);
        sqlite3_bind_text(lk->st, 1, ch, -1, SQLITE_STATIC);
        sqlite3_bind_text(lk->st, 2, out_trade_no, -1, SQLITE_STATIC);
        rc = sqlite3_step(lk->st);
        if (rc == SQLITE_ROW) {
            pgw__order_from(lk->st, out);
            sqlite3_reset(lk->st);
            return 1;
        }
        if (rc != SQLITE_DONE) {
            return -1;
        }
    }
    sqlite3_reset(lk->st);
    return 0;
}


static int
pgw__cmp_carried(const void *a, const void *b)
{
    int64_t x = ((const struct pgw__carried *) a)->order_id;
    int64_t y = ((const struct pgw__carried *) b)->order_id;

    return x < y ? -1 : x > y;
}


static struct pgw__carried *
pgw__carried_find(struct pgw__job *job, int64_t order_id)
{
    struct pgw__carried key = { .order_id = order_id };

    if (job->n_carried == 0) {
        return NULL;
    }
    return bsearch(&key, job->carried, job->n_carried, sizeof(key),
                   pgw__cmp_carried);
}


/* the previous day's DONE run and the items it carried to this day */
static int
pgw__load_carried(struct pgw__job *job, sqlite3 *db, int64_t day_start)
{
    char prev[16];
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    struct tm d, back;
    time_t x;

    /* D-1 from the date text (the day start is only needed for D) */
    (void) day_start;
    memset(&d, 0, sizeof(d));
    if (sscanf(job->date, "%4d-%2d-%2d", &d.tm_year, &d.tm_mon, &d.tm_mday) != 3) {
        return -1;
    }
    d.tm_year -= 1900;
    d.tm_mon -= 1;
    d.tm_mday -= 1;
    x = timegm(&d);
    if (gmtime_r(&x, &back) == NULL) {
        return -1;
    }
    strftime(prev, sizeof(prev), "%Y-%m-%d", &back);
    if (sqlite3_prepare_v2(db,
                           "SELECT d.order_id, d.id FROM discrepancies d"
                           " WHERE d.kind = 'recon_carried' AND d.order_id IS NOT NULL"
                           " AND d.run_id = (SELECT MAX(id) FROM recon_runs"
                           " WHERE channel = ? AND date = ? AND state = 'DONE')",
                           -1, &st, NULL) != SQLITE_OK) {
        return -1;
    }
    sqlite3_bind_text(st, 1, job->channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, prev, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (job->n_carried == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct pgw__carried *g = realloc(job->carried, ncap * sizeof(*g));
            if (g == NULL) {
                sqlite3_finalize(st);
                return -1;
            }
            job->carried = g;
            cap = ncap;
        }
        job->carried[job->n_carried].order_id = sqlite3_column_int64(st, 0);
        job->carried[job->n_carried].discrepancy_id = sqlite3_column_int64(st, 1);
        job->n_carried++;
    }
    sqlite3_finalize(st);
    if (job->n_carried > 1) {
        qsort(job->carried, job->n_carried, sizeof(*job->carried), pgw__cmp_carried);
    }
    return 0;
}


/* our side: orders of the channel created in [day_start - window, day_end),
 * plus the carried ones created earlier */
static int
pgw__load_orders(struct pgw__job *job, sqlite3 *db)
{
    struct pgw_recon *rec = &job->rec;
    sqlite3_stmt *st = NULL;
    int rc = 0;

    if (sqlite3_prepare_v2(db,
                           "SELECT " PGW__ORDER_COLS " FROM orders o"
                           " WHERE o.channel = ? AND o.created_at >= ?"
                           " AND o.created_at < ?",
                           -1, &st, NULL) != SQLITE_OK) {
        return -1;
    }
    sqlite3_bind_text(st, 1, job->channel, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, rec->day_start - rec->window);
    sqlite3_bind_int64(st, 3, rec->day_end);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct pgw_recon_order o;

        pgw__order_from(st, &o);
        o.carried_in = pgw__carried_find(job, o.id) != NULL;
        if (pgw_recon_add_order(rec, &o) != PGW_OK) {
            sqlite3_finalize(st);
            return -1;
        }
        job->orders++;
        if ((job->orders & 4095) == 0 && atomic_load(&R.cancel)) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return -1;
    }
    /* carried orders outside the window (carried for their finish time) */
    if (job->n_carried == 0) {
        return 0;
    }
    if (sqlite3_prepare_v2(db, "SELECT " PGW__ORDER_COLS " FROM orders o"
                               " WHERE o.id = ? AND o.created_at < ?",
                           -1, &st, NULL) != SQLITE_OK) {
        return -1;
    }
    for (size_t i = 0; i < job->n_carried; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, job->carried[i].order_id);
        sqlite3_bind_int64(st, 2, rec->day_start - rec->window);
        if (sqlite3_step(st) == SQLITE_ROW) {
            struct pgw_recon_order o;
            pgw__order_from(st, &o);
            o.carried_in = 1;
            if (pgw_recon_add_order(rec, &o) != PGW_OK) {
                sqlite3_finalize(st);
                return -1;
            }
            job->orders++;
        }
    }
    sqlite3_finalize(st);
    return 0;
}


static json_t *
pgw__parse(struct pgw__job *job)
{
    char err[400];
    struct pgw_packs *packs;
    struct pgw_pack *pack;
    json_t *res = NULL;

    packs = pgw_packs_new(job->templates, job->scripts, job->keystore, err,
                          sizeof(err));
    if (packs == NULL) {
        pgw__fail(job, "packs: %s%s", err, "");
        return NULL;
    }
    if (pgw_packs_load(packs, job->channel, job->params, err, sizeof(err)) != 0
        || (pack = pgw_packs_get(packs, job->channel)) == NULL) {
        pgw__fail(job, "pack %s: %s", job->channel, err);
        pgw_packs_free(packs);
        return NULL;
    }
    if (job->text == NULL
        && pgw_recon_fetch(pack, job->date, job->connect_ms, job->timeout_ms, &job->text,
                           &job->len, err, sizeof(err)) != 0) {
        pgw__fail(job, "%s%s", err, "");
        pgw_packs_free(packs);
        return NULL;
    }
    if (pgw_pack_statement(pack, job->text, job->len, &res, err, sizeof(err)) != 0) {
        pgw__fail(job, "statement: %s%s", err, "");
        res = NULL;
    }
    pgw_packs_free(packs);
    return res;
}


static const char *
pgw__jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}


static void
pgw__work(struct pgw__job *job)
{
    json_t *res, *rows, *row;
    const char *tz;
    int tz_min = 0;
    int64_t day_start;
    sqlite3 *db = NULL;
    struct pgw__lookup lk = { .job = job };
    size_t i;

    res = pgw__parse(job);
    free(job->text);            /* the rows hold what is needed */
    job->text = NULL;
    if (res == NULL) {
        return;
    }
    if (json_is_string(json_object_get(res, "error"))) {
        snprintf(job->stmt_warning, sizeof(job->stmt_warning), "%s",
                 pgw__jstr(res, "error"));
    }
    job->totals = json_incref(json_object_get(res, "totals"));
    tz = job->tz[0] ? job->tz : pgw__jstr(res, "timezone");
    if (tz[0] == '\0') {
        tz = "+00:00";
    }
    if (pgw_recon_parse_tz(tz, &tz_min) != PGW_OK) {
        pgw__fail(job, "timezone '%.16s' (want +HH:MM)%s", tz, "");
        goto done;
    }
    snprintf(job->tz, sizeof(job->tz), "%s", tz);
    if (pgw_recon_day_start(job->date, tz_min, &day_start) != PGW_OK) {
        pgw__fail(job, "date '%s'%s", job->date, "");
        goto done;
    }
    if (pgw_recon_init(&job->rec, job->channel, day_start, day_start + 86400000,
                       job->window_ms, pgw__lookup, &lk) != PGW_OK) {
        pgw__fail(job, "out of memory%s%s", "", "");
        goto done;
    }
    job->rec_ready = 1;
    if (sqlite3_open_v2(job->db, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        pgw__fail(job, "database: %s%s", db ? sqlite3_errmsg(db) : "no memory", "");
        goto done;
    }
    sqlite3_busy_timeout(db, 5000);
    /* one read transaction: a consistent view of the orders */
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (pgw__load_carried(job, db, day_start) != 0
        || pgw__load_orders(job, db) != 0) {
        pgw__fail(job, "reading orders: %s%s",
                  atomic_load(&R.cancel) ? "stopped" : sqlite3_errmsg(db), "");
        goto done;
    }
    if (sqlite3_prepare_v2(db, "SELECT " PGW__ORDER_COLS " FROM orders o"
                               " WHERE o.channel = ? AND o.out_trade_no = ?"
                               " ORDER BY o.id DESC LIMIT 1",
                           -1, &lk.st, NULL) != SQLITE_OK) {
        pgw__fail(job, "database: %s%s", sqlite3_errmsg(db), "");
        goto done;
    }
    rows = json_object_get(res, "rows");
    json_array_foreach(rows, i, row) {
        const char *type = pgw__jstr(row, "type");
        const json_t *amount = json_object_get(row, "amount");
        struct pgw_recon_row r;

        if ((i & 4095) == 0 && atomic_load(&R.cancel)) {
            pgw__fail(job, "stopped%s%s", "", "");
            goto done;
        }
        if (type[0] && strcmp(type, "pay") != 0) {
            job->refund_rows++;     /* refunds: counted, not matched yet */
            continue;
        }
        r.out_trade_no = pgw__jstr(row, "out_trade_no");
        r.channel_trade_no = pgw__jstr(row, "channel_trade_no");
        r.currency = pgw__jstr(row, "currency");
        r.status = json_is_string(json_object_get(row, "status"))
                       ? pgw__jstr(row, "status") : "SUCCESS";
        if (r.out_trade_no[0] == '\0' || !json_is_integer(amount)) {
            job->failed = 1;
            snprintf(job->error, sizeof(job->error), "statement row %zu: no"
                     " out_trade_no or no integer amount", i + 1);
            goto done;
        }
        r.amount = (int64_t) json_integer_value(amount);
        if (pgw_recon_row(&job->rec, &r) != PGW_OK) {
            pgw__fail(job, "matching: %s%s", sqlite3_errmsg(db), "");
            goto done;
        }
    }
    if (pgw_recon_finish(&job->rec) != PGW_OK) {
        pgw__fail(job, "out of memory%s%s", "", "");
    }

done:
    sqlite3_finalize(lk.st);
    if (db) {
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(db);
    }
    json_decref(res);
}


static void *
pgw__thread(void *arg)
{
    struct pgw__job *job = arg;
    int64_t t0 = pgw_now_ms();

    pgw__work(job);
    job->seconds = (double) (pgw_now_ms() - t0) / 1000.0;
    event_active(R.done_ev, EV_READ, 0);
    return NULL;
}


/* ---- storing the findings (loop thread) ----------------------------------- */

static json_t *
pgw__counts_json(const struct pgw__job *job)
{
    json_t *c = json_object();

    json_object_set_new(c, "matched", json_integer((json_int_t) job->rec.matched));
    for (int k = 0; k < PGW_RK__N; k++) {
        json_object_set_new(c, pgw_recon_kind_name(k),
                            json_integer((json_int_t) job->rec.counts[k]));
    }
    return c;
}


static void
pgw__stored(void *arg, int rc, int failed_stmt)
{
    struct pgw__job *job = arg;

    (void) failed_stmt;
    if (rc != PGW_OK) {
        pgw_log(PGW_LOG_ERROR, "recon.store", "run %lld: its findings were not"
                " stored (rc %d)", (long long) job->run_id, rc);
    }
    pgw__job_free(job);
}


static void
pgw__done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pgw_daemon *d = arg;
    struct pgw__job *job = R.job;
    struct pgw_txn *txn;
    int64_t now = pgw_now_ms();

    (void) fd;
    (void) what;
    pthread_join(R.thread, NULL);
    R.thread_live = 0;
    R.job = NULL;
    if (job == NULL) {
        return;
    }
    txn = pgw_txn_new();
    if (txn == NULL) {
        pgw__job_free(job);
        return;
    }
    if (job->failed) {
        pgw_txn_add(txn, 1, "UPDATE recon_runs SET state = 'FAILED', error = ?,"
                            " finished_at = ? WHERE id = ?",
                    "sii", job->error, now, job->run_id);
        pgw__count(&R.runs, job->channel, "FAILED", 1);
        pgw_log(PGW_LOG_WARN, "recon.failed", "run %lld %s %s: %s",
                (long long) job->run_id, job->channel, job->date, job->error);
        pgw_store_submit(d->store, txn, pgw__stored, job);
        return;
    }
    for (size_t i = 0; i < job->rec.n_items; i++) {
        const struct pgw_recon_item *it = &job->rec.items[i];
        char kind[40];
        json_t *det = json_pack("{s:s, s:s, s:s, s:b}", "out_trade_no",
                                it->out_trade_no, "channel_trade_no",
                                it->channel_trade_no, "note", it->detail,
                                "carried_in", it->carried_in);
        char *text;

        if (it->our_amount >= 0) {
            json_object_set_new(det, "our_amount", json_integer(it->our_amount));
        }
        if (it->their_amount >= 0) {
            json_object_set_new(det, "their_amount", json_integer(it->their_amount));
        }
        if (it->query) {
            json_object_set_new(det, "query_due", json_true());
        }
        text = json_dumps(det, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(det);
        snprintf(kind, sizeof(kind), "recon_%s", pgw_recon_kind_name(it->kind));
        if (it->order_id > 0) {
            pgw_txn_add(txn, 1,
                        "INSERT INTO discrepancies (id, order_id, kind, status,"
                        " evidence_class, code, detail, at, run_id, state)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "iisssssiis", pgw_store_next_id(d->store, "discrepancies"),
                        it->order_id, kind, it->our_status[0] ? it->our_status : NULL,
                        it->their_status[0] ? it->their_status : NULL,
                        pgw_recon_kind_name(it->kind), text, now, job->run_id,
                        it->kind == PGW_RK_CARRIED ? "carried" : "open");
        } else {
            pgw_txn_add(txn, 1,
                        "INSERT INTO discrepancies (id, order_id, kind, status,"
                        " evidence_class, code, detail, at, run_id, state)"
                        " VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, 'open')",
                        "isssssii", pgw_store_next_id(d->store, "discrepancies"),
                        kind, it->our_status[0] ? it->our_status : NULL,
                        it->their_status[0] ? it->their_status : NULL,
                        pgw_recon_kind_name(it->kind), text, now, job->run_id);
        }
        free(text);
        if (it->query) {
            /* the scheduler queries it at its next scan; the query, not the
             * statement, settles the order */
            pgw_txn_add(txn, -1, "UPDATE orders SET next_query_at = ?"
                                 " WHERE id = ? AND status = 'PROCESSING'",
                        "ii", now, it->order_id);
        }
        if (it->kind != PGW_RK_CARRIED) {
            d->metrics.discrepancies++;
        }
    }
    /* the previous day's carried items are settled by this day's statement */
    for (size_t i = 0; i < job->n_carried; i++) {
        const struct pgw__carried *c = &job->carried[i];
        const char *note = "matched on the next day's statement";
        char buf[160];

        for (size_t j = 0; j < job->rec.n_items; j++) {
            if (job->rec.items[j].order_id == c->order_id) {
                snprintf(buf, sizeof(buf), "next day (%s): %s", job->date,
                         pgw_recon_kind_name(job->rec.items[j].kind));
                note = buf;
                break;
            }
        }
        pgw_txn_add(txn, -1,
                    "UPDATE discrepancies SET state = 'resolved', note = ?,"
                    " handled_by = 'recon', handled_at = ? WHERE id = ?"
                    " AND state = 'carried'",
                    "sii", note, now, c->discrepancy_id);
        pgw_txn_add(txn, 1,
                    "INSERT INTO discrepancy_audit (discrepancy_id, at, who,"
                    " action, old_state, new_state, note)"
                    " VALUES (?, ?, 'recon', 'resolve', 'carried', 'resolved', ?)",
                    "iis", c->discrepancy_id, now, note);
    }
    json_t *counts = pgw__counts_json(job);
    char *counts_s = json_dumps(counts, JSON_COMPACT);
    char *totals_s = job->totals ? json_dumps(job->totals, JSON_COMPACT | JSON_SORT_KEYS)
                                 : NULL;
    json_decref(counts);
    pgw_txn_add(txn, 1,
                "UPDATE recon_runs SET state = 'DONE', tz = ?, rows = ?,"
                " orders = ?, matched = ?, counts = ?, totals = ?, error = ?,"
                " finished_at = ? WHERE id = ?",
                "siiisssii", job->tz, (int64_t) job->rec.rows, (int64_t) job->orders,
                (int64_t) job->rec.matched, counts_s, totals_s,
                job->stmt_warning[0] ? job->stmt_warning : NULL, now, job->run_id);
    free(counts_s);
    free(totals_s);
    pgw__count(&R.runs, job->channel, "DONE", 1);
    for (int k = 0; k < PGW_RK__N; k++) {
        pgw__count(&R.items, job->channel, pgw_recon_kind_name(k), job->rec.counts[k]);
    }
    pgw__count(&R.items, job->channel, "matched", job->rec.matched);
    pgw_log(PGW_LOG_INFO, "recon.done",
            "run %lld %s %s: %llu rows (+%llu refund rows, not matched), %llu orders,"
            " %llu matched, %zu items in %.2f s", (long long) job->run_id, job->channel,
            job->date, (unsigned long long) job->rec.rows,
            (unsigned long long) job->refund_rows, (unsigned long long) job->orders,
            (unsigned long long) job->rec.matched, job->rec.n_items, job->seconds);
    pgw_store_submit(d->store, txn, pgw__stored, job);
}


/* ---- admin: runs ------------------------------------------------------------ */

#define PGW__RUN_COLS \
    "id, channel, date, tz, window_s, source, who, state, error, rows," \
    " orders, matched, counts, totals, started_at, finished_at"

struct pgw__start {
    struct pgw_daemon *d;
    struct evhttp_request *req;
    struct pgw__job *job;
};


static void
pgw__started(void *arg, int rc, int failed_stmt)
{
    struct pgw__start *s = arg;
    struct pgw__job *job = s->job;
    struct evhttp_request *req = s->req;

    (void) failed_stmt;
    free(s);
    if (rc != PGW_OK || R.stopped) {
        R.job = NULL;
        pgw__job_free(job);
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "the run was not stored");
        return;
    }
    atomic_store(&R.cancel, 0);
    if (pthread_create(&R.thread, NULL, pgw__thread, job) != 0) {
        /* recorded as started: record why it ended */
        struct pgw_txn *txn = pgw_txn_new();
        if (txn) {
            pgw_txn_add(txn, 1, "UPDATE recon_runs SET state = 'FAILED',"
                                " error = 'cannot start a thread', finished_at = ?"
                                " WHERE id = ?", "ii", pgw_now_ms(), job->run_id);
            pgw_store_submit(R.d->store, txn, NULL, NULL);
        }
        R.job = NULL;
        pgw__job_free(job);
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "cannot start the run");
        return;
    }
    R.thread_live = 1;
    pgw_http_json(req, 202, json_pack("{s:{s:I, s:s, s:s, s:s, s:s}}", "run", "id",
                                      (json_int_t) job->run_id, "state", "RUNNING",
                                      "channel", job->channel, "date", job->date,
                                      "source", job->source));
}


static int
pgw__who(struct evhttp_request *req, char *who, size_t len)
{
    const char *h = pgw_http_header(req, "X-Paygw-Operator");

    if (h && h[0] && strlen(h) < len) {
        snprintf(who, len, "%s", h);
        return 0;
    }
    if (pgw_http_query_param(req, "who", who, len) == PGW_OK && who[0]) {
        return 0;
    }
    return -1;
}


static void
pgw__run_post(struct pgw_daemon *d, struct evhttp_request *req)
{
    struct pgw__job *job;
    struct pgw_channel_conf *cc;
    struct pgw__start *s;
    struct pgw_txn *txn;
    char val[64], msg[256];
    size_t len = 0;
    const char *body;
    int tzm;
    int64_t ds;

    if (R.job != NULL) {
        pgw_http_error(req, 409, "CONFLICT", "a reconciliation run is in progress");
        return;
    }
    job = calloc(1, sizeof(*job));
    if (job == NULL) {
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
        return;
    }
#define PGW__BAD(...) do { snprintf(msg, sizeof(msg), __VA_ARGS__); goto bad; } while (0)
    if (pgw_http_query_param(req, "channel", job->channel, sizeof(job->channel)) != PGW_OK
        || (cc = pgw_config_channel(d->conf, job->channel)) == NULL) {
        PGW__BAD("channel: a channel of paygwd.conf is required");
    }
    if (pgw_http_query_param(req, "date", job->date, sizeof(job->date)) != PGW_OK
        || pgw_recon_day_start(job->date, 0, &ds) != PGW_OK) {
        PGW__BAD("date: YYYY-MM-DD is required");
    }
    if (pgw_http_query_param(req, "tz", job->tz, sizeof(job->tz)) == PGW_OK
        && pgw_recon_parse_tz(job->tz, &tzm) != PGW_OK) {
        PGW__BAD("tz: +HH:MM, -HH:MM or Z");
    }
    job->window_ms = PGW__DEFAULT_WINDOW_S * 1000;
    if (pgw_http_query_param(req, "window_s", val, sizeof(val)) == PGW_OK) {
        char *end;
        long long w = strtoll(val, &end, 10);
        if (*end || w < 0 || w > 86400) {
            PGW__BAD("window_s: seconds from 0 to 86400");
        }
        job->window_ms = (int64_t) w * 1000;
    }
    if (pgw__who(req, job->who, sizeof(job->who)) != 0) {
        PGW__BAD("who: required (X-Paygw-Operator header or ?who=)");
    }
    if (pgw_http_query_param(req, "source", val, sizeof(val)) != PGW_OK) {
        snprintf(val, sizeof(val), "upload");
    }
    body = pgw_http_body(req, &len);
    job->params = json_deep_copy(cc->params);
    if (job->params == NULL) {
        PGW__BAD("out of memory");
    }
    if (body != NULL && len > 0) {
        snprintf(job->source, sizeof(job->source), "file:%s", val);
        job->text = malloc(len + 1);
        if (job->text == NULL) {
            PGW__BAD("out of memory");
        }
        memcpy(job->text, body, len);
        job->text[len] = '\0';
        job->len = len;
    } else {
        /* no file: the worker asks the channel (the pack's bill op) */
        snprintf(job->source, sizeof(job->source), "bill");
    }
    job->connect_ms = cc->connect_timeout_ms > 0 ? (long) cc->connect_timeout_ms : 5000;
    job->timeout_ms = cc->timeout_ms > 0 ? (long) cc->timeout_ms : 30000;
    if (job->timeout_ms < 10000) {
        job->timeout_ms = 10000;    /* a statement is larger than an answer */
    }
    if (cc->endpoint[0]) {
        json_object_set_new(job->params, "endpoint", json_string(cc->endpoint));
    }
    snprintf(job->db, sizeof(job->db), "%s", d->conf->db);
    snprintf(job->templates, sizeof(job->templates), "%s", d->conf->templates);
    snprintf(job->scripts, sizeof(job->scripts), "%s", d->conf->scripts);
    snprintf(job->keystore, sizeof(job->keystore), "%s", d->conf->keystore);
    for (struct pgw_channel_conf *c = d->conf->channels;
         c && job->n_channels < PGW__MAX_CHANNELS; c = c->next) {
        snprintf(job->channels[job->n_channels++], 32, "%s", c->name);
    }
#undef PGW__BAD

    if (R.done_ev == NULL) {
        R.d = d;
        R.done_ev = event_new(d->base, -1, 0, pgw__done_cb, d);
        if (R.done_ev == NULL) {
            pgw__job_free(job);
            pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
            return;
        }
    }
    job->run_id = pgw_store_next_id(d->store, "recon_runs");
    s = calloc(1, sizeof(*s));
    txn = pgw_txn_new();
    if (s == NULL || txn == NULL) {
        free(s);
        pgw_txn_free(txn);
        pgw__job_free(job);
        pgw_http_error(req, 503, "CORE_UNAVAILABLE", "out of memory");
        return;
    }
    pgw_txn_add(txn, -1, "UPDATE recon_runs SET state = 'FAILED', error ="
                         " 'interrupted: paygwd stopped during the run',"
                         " finished_at = ? WHERE state = 'RUNNING'",
                "i", pgw_now_ms());
    pgw_txn_add(txn, 1,
                "INSERT INTO recon_runs (id, channel, date, tz, window_s, source,"
                " who, state, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'RUNNING', ?)",
                "isssissi", job->run_id, job->channel, job->date, job->tz,
                job->window_ms / 1000, job->source, job->who, pgw_now_ms());
    s->d = d;
    s->req = req;
    s->job = job;
    R.job = job;                /* busy from now on */
    pgw_log(PGW_LOG_INFO, "recon.start", "run %lld %s %s by %s: %zu bytes",
            (long long) job->run_id, job->channel, job->date, job->who, len);
    pgw_store_submit(d->store, txn, pgw__started, s);
    return;

bad:
    pgw__job_free(job);
    pgw_http_error(req, 400, "INVALID_PARAMETER", msg);
}


static void
pgw__run_get(struct pgw_daemon *d, struct evhttp_request *req, int64_t id)
{
    char kind[48] = "", lim[16] = "";
    int64_t limit = 10000;
    sqlite3_stmt *st;
    json_t *run = NULL, *items;

    st = pgw_store_query(d->store, "SELECT " PGW__RUN_COLS " FROM recon_runs"
                                   " WHERE id = ?", "i", id);
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        run = pgw_db_row_json(st);
    }
    if (st) {
        sqlite3_reset(st);
    }
    if (run == NULL) {
        pgw_http_error(req, 404, "NOT_FOUND", "no such reconciliation run");
        return;
    }
    pgw_http_query_param(req, "kind", kind, sizeof(kind));
    if (pgw_http_query_param(req, "limit", lim, sizeof(lim)) == PGW_OK) {
        limit = strtoll(lim, NULL, 10);
    }
    items = pgw_db_rows(pgw_store_query(d->store,
                                      "SELECT " PGW_DISC_COLS " FROM discrepancies"
                                      " WHERE run_id = ? AND (? = '' OR kind = ?"
                                      " OR kind = 'recon_' || ?) ORDER BY id LIMIT ?",
                                      "isssi", id, kind, kind, kind, limit));
    pgw_http_json(req, 200, json_pack("{s:o, s:o}", "run", run, "items", items));
}


int
pgw_recon_admin(struct pgw_daemon *d, struct evhttp_request *req, const char *path)
{
    int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
    long long id;
    char tail;

    if (strcmp(path, "/admin/recon/runs") == 0) {
        if (post) {
            pgw__run_post(d, req);
        } else {
            char channel[32] = "";
            pgw_http_query_param(req, "channel", channel, sizeof(channel));
            sqlite3_stmt *st = pgw_store_query(
                d->store, "SELECT " PGW__RUN_COLS " FROM recon_runs"
                          " WHERE ? = '' OR channel = ? ORDER BY id DESC LIMIT 100",
                "ss", channel, channel);
            pgw_http_json(req, 200, json_pack("{s:o}", "runs", pgw_db_rows(st)));
        }
        return 1;
    }
    if (sscanf(path, "/admin/recon/runs/%lld%c", &id, &tail) == 1) {
        pgw__run_get(d, req, (int64_t) id);
        return 1;
    }
    return pgw_discrepancy_admin(d, req, path);
}


/* ---- metrics and stop ------------------------------------------------------- */

static void
pgw__metrics_obj(struct evbuffer *b, json_t *obj, const char *name,
                 const char *label)
{
    const char *key;
    json_t *n;

    json_object_foreach(obj, key, n) {
        const char *tab = strchr(key, '\t');
        if (tab == NULL) {
            continue;
        }
        evbuffer_add_printf(b, "%s{channel=\"%.*s\",%s=\"%s\"} %lld\n", name,
                            (int) (tab - key), key, label, tab + 1,
                            (long long) json_integer_value(n));
    }
}


void
pgw_recon_metrics(struct pgw_daemon *d, struct evbuffer *out)
{
    (void) d;
    evbuffer_add_printf(out, "# HELP paygw_recon_runs_total statement"
                             " reconciliation runs by outcome\n"
                             "# TYPE paygw_recon_runs_total counter\n");
    pgw__metrics_obj(out, R.runs, "paygw_recon_runs_total", "state");
    evbuffer_add_printf(out, "# HELP paygw_recon_items_total statement rows and"
                             " orders by reconciliation category\n"
                             "# TYPE paygw_recon_items_total counter\n");
    pgw__metrics_obj(out, R.items, "paygw_recon_items_total", "kind");
    evbuffer_add_printf(out, "# TYPE paygw_recon_running gauge\n"
                             "paygw_recon_running %d\n", R.job != NULL);
}


void
pgw_recon_stop(struct pgw_daemon *d)
{
    (void) d;
    R.stopped = 1;
    if (R.thread_live) {
        atomic_store(&R.cancel, 1);
        pthread_join(R.thread, NULL);
        R.thread_live = 0;
        pgw__job_free(R.job);
        R.job = NULL;
    }
    if (R.done_ev) {
        event_free(R.done_ev);
        R.done_ev = NULL;
    }
    json_decref(R.items);
    json_decref(R.runs);
    R.items = R.runs = NULL;
}
