/*
 * pgw_store.c — SQLite store with a writer thread doing group commit.
 *
 * Invariants:
 *  - one writer connection, used only by the writer thread (and by
 *    pgw_store_exec_now before the loop starts);
 *  - a txn's completion callback runs on the loop thread strictly after the
 *    COMMIT that contains it returned SQLITE_OK with synchronous=FULL;
 *  - each txn is wrapped in its own SAVEPOINT: an expectation failure (a lost
 *    compare-and-set) or a UNIQUE violation rolls back that txn only.
 */

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "pgw_core.h"
#include "pgw_log.h"
#include "pgw_schema.h"
#include "pgw_store.h"

#define PGW__STMT_CACHE 64


struct pgw__param {
    char type;
    int64_t i;
    char *s;
};

struct pgw__stmt {
    const char *sql;            /* borrowed: SQL texts are string literals */
    int expect;
    int nparams;
    struct pgw__param *params;
};

struct pgw_txn {
    struct pgw__stmt *stmts;
    int n;
    int cap;
    int broken;
    /* filled by the writer */
    int rc;
    int failed_stmt;
    pgw_txn_done_fn *done;
    void *arg;
    struct pgw_txn *next;
};

struct pgw__cache_entry {
    const char *sql;
    sqlite3_stmt *st;
};

struct pgw__stmt_cache {
    struct pgw__cache_entry e[PGW__STMT_CACHE];
    int n;
};

struct pgw_store {
    sqlite3 *wdb;
    sqlite3 *rdb;
    struct pgw__stmt_cache wcache;
    struct pgw__stmt_cache rcache;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct pgw_txn *queue_head, *queue_tail;     /* loop -> writer */
    struct pgw_txn *done_head, *done_tail;       /* writer -> loop */
    struct event *done_ev;
    int stopping;
    int closed;                  /* writer joined: submits fail at once */
    int group_max;
    int64_t next_ids[16];
    struct pgw_store_stats stats;
};

static const char *const pgw__id_tables[] = {
    "orders", "attempts", "transitions", "messages", "outbox", "outbox_tries",
    "discrepancies", "refunds", "payouts", "payout_attempts",
    "xfer_transitions", "payout_outbox", "payout_outbox_tries", "recon_runs",
    NULL
};


/* ---- statement cache ---------------------------------------------------- */

static sqlite3_stmt *
pgw__prepare(sqlite3 *db, struct pgw__stmt_cache *cache, const char *sql)
{
    sqlite3_stmt *st = NULL;

    for (int i = 0; i < cache->n; i++) {
        if (cache->e[i].sql == sql || strcmp(cache->e[i].sql, sql) == 0) {
            sqlite3_reset(cache->e[i].st);
            sqlite3_clear_bindings(cache->e[i].st);
            return cache->e[i].st;
        }
    }
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL)
        != SQLITE_OK) {
        pgw_log(PGW_LOG_ERROR, "store.prepare", "%s: %s", sqlite3_errmsg(db),
                sql);
        return NULL;
    }
    if (cache->n < PGW__STMT_CACHE) {
        cache->e[cache->n].sql = sql;
        cache->e[cache->n].st = st;
        cache->n++;
    } else {
        /* cache full: evict the oldest entry */
        sqlite3_finalize(cache->e[0].st);
        memmove(&cache->e[0], &cache->e[1],
                (PGW__STMT_CACHE - 1) * sizeof(cache->e[0]));
        cache->e[PGW__STMT_CACHE - 1].sql = sql;
        cache->e[PGW__STMT_CACHE - 1].st = st;
    }
    return st;
}


static void
pgw__cache_clear(struct pgw__stmt_cache *cache)
{
    for (int i = 0; i < cache->n; i++) {
        sqlite3_finalize(cache->e[i].st);
    }
    cache->n = 0;
}


/* ---- transactions as values --------------------------------------------- */

struct pgw_txn *
pgw_txn_new(void)
{
    return calloc(1, sizeof(struct pgw_txn));
}


void
pgw_txn_free(struct pgw_txn *txn)
{
    if (txn == NULL) {
        return;
    }
    for (int i = 0; i < txn->n; i++) {
        for (int j = 0; j < txn->stmts[i].nparams; j++) {
            free(txn->stmts[i].params[j].s);
        }
        free(txn->stmts[i].params);
    }
    free(txn->stmts);
    free(txn);
}


int
pgw_txn_add(struct pgw_txn *txn, int expect, const char *sql,
            const char *types, ...)
{
    struct pgw__stmt *st;
    va_list ap;
    int n = (int) strlen(types);

    if (txn->n == txn->cap) {
        int cap = txn->cap ? txn->cap * 2 : 8;
        struct pgw__stmt *grown = realloc(txn->stmts, cap * sizeof(*grown));
        if (grown == NULL) {
            txn->broken = 1;
            return PGW_ERR;
        }
        txn->stmts = grown;
        txn->cap = cap;
    }
    st = &txn->stmts[txn->n];
    st->sql = sql;
    st->expect = expect;
    st->nparams = n;
    st->params = calloc(n ? n : 1, sizeof(*st->params));
    if (st->params == NULL) {
        txn->broken = 1;
        return PGW_ERR;
    }
    txn->n++;

    va_start(ap, types);
    for (int i = 0; i < n; i++) {
        struct pgw__param *p = &st->params[i];
        p->type = types[i];
        if (types[i] == 'i') {
            p->i = va_arg(ap, int64_t);
        } else if (types[i] == 's') {
            const char *s = va_arg(ap, const char *);
            if (s == NULL) {
                p->type = 'n';
            } else {
                p->s = strdup(s);
                if (p->s == NULL) {
                    txn->broken = 1;
                }
            }
        } else {
            p->type = 'n';
        }
    }
    va_end(ap);
    return txn->broken ? PGW_ERR : PGW_OK;
}


static int
pgw__bind(sqlite3_stmt *st, const struct pgw__param *params, int n)
{
    for (int i = 0; i < n; i++) {
        int rc;
        switch (params[i].type) {
        case 'i':
            rc = sqlite3_bind_int64(st, i + 1, params[i].i);
            break;
        case 's':
            rc = sqlite3_bind_text(st, i + 1, params[i].s, -1, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(st, i + 1);
        }
        if (rc != SQLITE_OK) {
            return PGW_ERR;
        }
    }
    return PGW_OK;
}


/* runs one txn inside the open transaction; returns PGW_OK / PGW_CONFLICT /
 * PGW_ERR and sets txn->failed_stmt */
static int
pgw__run_txn(struct pgw_store *store, struct pgw_txn *txn)
{
    txn->failed_stmt = -1;
    if (txn->broken) {
        return PGW_ERR;
    }
    if (sqlite3_exec(store->wdb, "SAVEPOINT t", NULL, NULL, NULL) != SQLITE_OK) {
        return PGW_ERR;
    }
    for (int i = 0; i < txn->n; i++) {
        struct pgw__stmt *s = &txn->stmts[i];
        sqlite3_stmt *st = pgw__prepare(store->wdb, &store->wcache, s->sql);
        int rc;

        if (st == NULL || pgw__bind(st, s->params, s->nparams) != PGW_OK) {
            txn->failed_stmt = i;
            goto rollback_err;
        }
        do {
            rc = sqlite3_step(st);
        } while (rc == SQLITE_ROW);
        sqlite3_reset(st);
        if (rc == SQLITE_CONSTRAINT) {
            txn->failed_stmt = i;
            goto rollback_conflict;
        }
        if (rc != SQLITE_DONE) {
            pgw_log(PGW_LOG_ERROR, "store.step", "%s", sqlite3_errmsg(store->wdb));
            txn->failed_stmt = i;
            goto rollback_err;
        }
        if (s->expect >= 0 && sqlite3_changes(store->wdb) != s->expect) {
            txn->failed_stmt = i;
            goto rollback_conflict;
        }
    }
    sqlite3_exec(store->wdb, "RELEASE t", NULL, NULL, NULL);
    return PGW_OK;

rollback_conflict:
    sqlite3_exec(store->wdb, "ROLLBACK TO t; RELEASE t", NULL, NULL, NULL);
    return PGW_CONFLICT;
rollback_err:
    sqlite3_exec(store->wdb, "ROLLBACK TO t; RELEASE t", NULL, NULL, NULL);
    return PGW_ERR;
}


static void *
pgw__writer(void *arg)
{
    struct pgw_store *store = arg;

    for (;;) {
        struct pgw_txn *batch, *last, *t;
        int count = 0;

        pthread_mutex_lock(&store->lock);
        while (store->queue_head == NULL && !store->stopping) {
            pthread_cond_wait(&store->cond, &store->lock);
        }
        if (store->queue_head == NULL && store->stopping) {
            pthread_mutex_unlock(&store->lock);
            break;
        }
        /* take up to group_max txns: they share one commit */
        batch = store->queue_head;
        last = batch;
        count = 1;
        while (last->next != NULL && count < store->group_max) {
            last = last->next;
            count++;
        }
        store->queue_head = last->next;
        if (store->queue_head == NULL) {
            store->queue_tail = NULL;
        }
        last->next = NULL;
        pthread_mutex_unlock(&store->lock);

        int commit_rc = PGW_OK;
        if (sqlite3_exec(store->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL)
            != SQLITE_OK) {
            commit_rc = PGW_ERR;
        } else {
            for (t = batch; t != NULL; t = t->next) {
                t->rc = pgw__run_txn(store, t);
            }
            if (sqlite3_exec(store->wdb, "COMMIT", NULL, NULL, NULL)
                != SQLITE_OK) {
                pgw_log(PGW_LOG_ERROR, "store.commit", "%s",
                        sqlite3_errmsg(store->wdb));
                sqlite3_exec(store->wdb, "ROLLBACK", NULL, NULL, NULL);
                commit_rc = PGW_ERR;
            }
        }

        pthread_mutex_lock(&store->lock);
        store->stats.commits++;
        for (t = batch; t != NULL; t = t->next) {
            if (commit_rc != PGW_OK) {
                t->rc = PGW_ERR;
            }
            store->stats.txns++;
            store->stats.conflicts += t->rc == PGW_CONFLICT;
            store->stats.errors += t->rc == PGW_ERR;
        }
        if (store->done_tail) {
            store->done_tail->next = batch;
        } else {
            store->done_head = batch;
        }
        store->done_tail = last;
        pthread_mutex_unlock(&store->lock);
        event_active(store->done_ev, EV_READ, 0);
    }
    return NULL;
}


static void
pgw__done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pgw_store *store = arg;
    struct pgw_txn *list, *next;

    (void) fd;
    (void) what;
    pthread_mutex_lock(&store->lock);
    list = store->done_head;
    store->done_head = store->done_tail = NULL;
    pthread_mutex_unlock(&store->lock);

    for (; list != NULL; list = next) {
        next = list->next;
        if (list->done) {
            list->done(list->arg, list->rc, list->failed_stmt);
        }
        pgw_txn_free(list);
    }
}


void
pgw_store_submit(struct pgw_store *store, struct pgw_txn *txn,
                 pgw_txn_done_fn *done, void *arg)
{
    txn->done = done;
    txn->arg = arg;
    txn->next = NULL;
    if (store->closed) {
        /* shutting down: nothing more is written; say so to the owner */
        pgw_txn_free(txn);
        if (done) {
            done(arg, PGW_ERR, -1);
        }
        return;
    }
    pthread_mutex_lock(&store->lock);
    if (store->queue_tail) {
        store->queue_tail->next = txn;
    } else {
        store->queue_head = txn;
    }
    store->queue_tail = txn;
    pthread_cond_signal(&store->cond);
    pthread_mutex_unlock(&store->lock);
}


int
pgw_store_exec_now(struct pgw_store *store, struct pgw_txn *txn)
{
    int rc;

    if (sqlite3_exec(store->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL)
        != SQLITE_OK) {
        pgw_txn_free(txn);
        return PGW_ERR;
    }
    rc = pgw__run_txn(store, txn);
    if (sqlite3_exec(store->wdb, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(store->wdb, "ROLLBACK", NULL, NULL, NULL);
        rc = PGW_ERR;
    }
    pgw_txn_free(txn);
    return rc;
}


/* ---- reads --------------------------------------------------------------- */

sqlite3_stmt *
pgw_store_query(struct pgw_store *store, const char *sql, const char *types, ...)
{
    sqlite3_stmt *st = pgw__prepare(store->rdb, &store->rcache, sql);
    va_list ap;
    int n = (int) strlen(types), rc = SQLITE_OK;

    if (st == NULL) {
        return NULL;
    }
    va_start(ap, types);
    for (int i = 0; i < n && rc == SQLITE_OK; i++) {
        if (types[i] == 'i') {
            rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        } else if (types[i] == 's') {
            const char *s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(st, i + 1);
        } else {
            rc = sqlite3_bind_null(st, i + 1);
        }
    }
    va_end(ap);
    return rc == SQLITE_OK ? st : NULL;
}


const char *
pgw_col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return t ? (const char *) t : "";
}


int64_t
pgw_store_next_id(struct pgw_store *store, const char *table)
{
    for (int i = 0; pgw__id_tables[i]; i++) {
        if (strcmp(pgw__id_tables[i], table) == 0) {
            return ++store->next_ids[i];
        }
    }
    abort();   /* programming error: unknown table */
}


void
pgw_store_stats(struct pgw_store *store, struct pgw_store_stats *out)
{
    pthread_mutex_lock(&store->lock);
    *out = store->stats;
    pthread_mutex_unlock(&store->lock);
}


/* ---- open / close --------------------------------------------------------- */

static int
pgw__open_db(const char *path, int flags, sqlite3 **db, char *err, size_t errlen)
{
    if (sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open database: %s", path,
                 *db ? sqlite3_errmsg(*db) : "out of memory");
        return PGW_ERR;
    }
    sqlite3_busy_timeout(*db, 5000);
    return PGW_OK;
}


struct pgw_store *
pgw_store_open(const char *path, struct event_base *base, int group_max,
               char *err, size_t errlen)
{
    struct pgw_store *store;
    char *emsg = NULL;

    store = calloc(1, sizeof(*store));
    if (store == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    store->group_max = group_max > 0 ? group_max : 512;
    if (pgw__open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                     &store->wdb, err, errlen) != PGW_OK) {
        goto failed;
    }
    if (sqlite3_exec(store->wdb,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "PRAGMA foreign_keys=ON;",
                     NULL, NULL, &emsg) != SQLITE_OK
        || sqlite3_exec(store->wdb, pgw_schema_sql, NULL, NULL, &emsg)
               != SQLITE_OK) {
        snprintf(err, errlen, "%s: schema: %s", path, emsg ? emsg : "?");
        sqlite3_free(emsg);
        goto failed;
    }
    if (pgw_schema_migrate(store->wdb, err, errlen) != 0) {
        goto failed;
    }
    if (pgw__open_db(path, SQLITE_OPEN_READONLY, &store->rdb, err, errlen)
        != PGW_OK) {
        goto failed;
    }
    for (int i = 0; pgw__id_tables[i]; i++) {
        char sql[128];
        sqlite3_stmt *st;

        snprintf(sql, sizeof(sql), "SELECT COALESCE(MAX(id), 0) FROM %s",
                 pgw__id_tables[i]);
        if (sqlite3_prepare_v2(store->wdb, sql, -1, &st, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(store->wdb));
            goto failed;
        }
        if (sqlite3_step(st) == SQLITE_ROW) {
            store->next_ids[i] = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
    }

    pthread_mutex_init(&store->lock, NULL);
    pthread_cond_init(&store->cond, NULL);
    store->done_ev = event_new(base, -1, 0, pgw__done_cb, store);
    if (store->done_ev == NULL
        || pthread_create(&store->thread, NULL, pgw__writer, store) != 0) {
        snprintf(err, errlen, "%s: cannot start the writer thread", path);
        goto failed;
    }
    return store;

failed:
    if (store->done_ev) {
        event_free(store->done_ev);
    }
    sqlite3_close(store->wdb);
    sqlite3_close(store->rdb);
    free(store);
    return NULL;
}


void
pgw_store_close(struct pgw_store *store)
{
    if (store == NULL) {
        return;
    }
    pthread_mutex_lock(&store->lock);
    store->stopping = 1;
    pthread_cond_signal(&store->cond);
    pthread_mutex_unlock(&store->lock);
    pthread_join(store->thread, NULL);
    store->closed = 1;
    /* deliver completions of the last commits, then drop them */
    pgw__done_cb(-1, 0, store);
    event_free(store->done_ev);
    pgw__cache_clear(&store->wcache);
    pgw__cache_clear(&store->rcache);
    sqlite3_close(store->wdb);
    sqlite3_close(store->rdb);
    pthread_mutex_destroy(&store->lock);
    pthread_cond_destroy(&store->cond);
    free(store);
}


int
pgw_store_ids(sqlite3_stmt *st, int64_t *ids, int max)
{
    int n = 0;

    while (st && n < max && sqlite3_step(st) == SQLITE_ROW) {
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    if (st) {
        sqlite3_reset(st);
    }
    return n;
}


json_t *
pgw_store_rows_json(sqlite3_stmt *st)
{
    json_t *arr = json_array();

    while (st && sqlite3_step(st) == SQLITE_ROW) {
        json_t *row = json_object();

        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const char *name = sqlite3_column_name(st, c);

            switch (sqlite3_column_type(st, c)) {
            case SQLITE_INTEGER:
                json_object_set_new(row, name, json_integer(sqlite3_column_int64(st, c)));
                break;
            case SQLITE_NULL:
                json_object_set_new(row, name, json_null());
                break;
            default:
                json_object_set_new(row, name, json_string(pgw_col_text(st, c)));
            }
        }
        json_array_append_new(arr, row);
    }
    if (st) {
        sqlite3_reset(st);
    }
    return arr;
}
