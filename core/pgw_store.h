/*
 * pgw_store.h — the durable store: SQLite in WAL mode with synchronous=FULL.
 *
 * Writes go through transactions-as-values (struct pgw_txn): the loop queues them,
 * one writer thread runs every queued txn inside ONE SQLite transaction (each in
 * its own SAVEPOINT, so one txn's conflict does not touch its neighbours) and
 * commits once — group commit: many orders share one fsync. The completion
 * callback runs on the loop thread after the commit is durable. Nothing is
 * answered to a caller before that callback.
 *
 * Reads run on the loop thread through a second, read-only connection (WAL
 * readers never block the writer).
 */

#ifndef PGW_STORE_H
#define PGW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

struct event_base;
struct pgw_store;
struct pgw_txn;

/* rc: PGW_OK, PGW_CONFLICT (an expectation or a UNIQUE constraint failed; the
 * txn's changes were rolled back), PGW_ERR (the commit failed; nothing of it is
 * stored). failed_stmt: index of the statement that failed, or -1. */
typedef void pgw_txn_done_fn(void *arg, int rc, int failed_stmt);

struct pgw_store *pgw_store_open(const char *path, struct event_base *base,
                                 int group_max, char *err, size_t errlen);
void pgw_store_close(struct pgw_store *store);

/* ids: monotonically increasing per table, seeded from the database at open */
int64_t pgw_store_next_id(struct pgw_store *store, const char *table);

struct pgw_txn *pgw_txn_new(void);
void pgw_txn_free(struct pgw_txn *txn);
/* Adds a statement. types: one char per parameter: 's' const char * (copied,
 * NULL binds NULL), 'i' int64_t, 'n' NULL. expect: number of rows it must
 * change, or -1 for any. Returns PGW_OK or PGW_ERR (out of memory: the txn is
 * then marked broken and its submit fails). */
int pgw_txn_add(struct pgw_txn *txn, int expect, const char *sql,
                const char *types, ...);
/* steals txn */
void pgw_store_submit(struct pgw_store *store, struct pgw_txn *txn,
                      pgw_txn_done_fn *done, void *arg);
/* runs txn synchronously on the calling thread's writer connection; only for
 * start-up recovery before the loop runs */
int pgw_store_exec_now(struct pgw_store *store, struct pgw_txn *txn);

/* read side (loop thread): prepared statement cached by SQL text (borrowed,
 * reset, bound). types as above. Returns NULL on error. */
sqlite3_stmt *pgw_store_query(struct pgw_store *store, const char *sql,
                              const char *types, ...);
/* Steps st (a query whose first column is an id) into ids, at most max,
 * then resets it; st may be NULL (0). Returns how many were read. */
int pgw_store_ids(sqlite3_stmt *st, int64_t *ids, int max);
const char *pgw_col_text(sqlite3_stmt *st, int col); /* "" for NULL */

/* counters for /metrics */
struct pgw_store_stats {
    uint64_t commits;
    uint64_t txns;
    uint64_t conflicts;
    uint64_t errors;
};
void pgw_store_stats(struct pgw_store *store, struct pgw_store_stats *out);

/* every row of st (bound; NULL: an empty array) as an object with the
 * column names as keys (integers, NULL, else text); st is reset after */
json_t *pgw_store_rows_json(sqlite3_stmt *st);

#endif
