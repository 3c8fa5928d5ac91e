/*
 * test_store.c — the durable store: group commit, per-txn savepoints, the
 * compare-and-set expectation and UNIQUE conflicts, and durability across a
 * close/reopen. Each txn's callback must report exactly what happened to it,
 * and a failing txn must leave no partial writes while its neighbours commit.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "pgw_core.h"
#include "pgw_store.h"

struct result {
    int called;
    int rc;
    int failed_stmt;
};

static struct event_base *base;
static int pending;
static char db_path[256];


static void
done_cb(void *arg, int rc, int failed_stmt)
{
    struct result *r = arg;

    r->called++;
    r->rc = rc;
    r->failed_stmt = failed_stmt;
    if (--pending == 0) {
        event_base_loopbreak(base);
    }
}


static void
run_until_done(void)
{
    while (pending > 0) {
        event_base_loop(base, EVLOOP_ONCE);
    }
}


static struct pgw_store *
open_store(void)
{
    char err[256];
    struct pgw_store *s = pgw_store_open(db_path, base, 512, err, sizeof(err));

    assert_non_null(s);
    return s;
}


static int64_t
count(struct pgw_store *s, const char *sql)
{
    sqlite3_stmt *st = pgw_store_query(s, sql, "");
    int64_t n;

    assert_non_null(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}


static void
add_order(struct pgw_txn *t, int64_t id, const char *no, const char *status)
{
    assert_int_equal(
        pgw_txn_add(t, 1,
                    "INSERT INTO orders (id, app_id, out_trade_no, voucher_id,"
                    " request_hash, request, amount, currency, method,"
                    " expire_seconds, status, voucher_status, created_at,"
                    " updated_at) VALUES (?, 'A1', ?, ?, 'h', '{}', 100, 'CNY',"
                    " 'alipay.qr', 900, ?, 'PENDING', 1, 1)",
                    "isss", id, no, no, status),
        PGW_OK);
}


static int
setup(void **state)
{
    (void) state;
    snprintf(db_path, sizeof(db_path), "/tmp/pgw-test-store-%d.db", getpid());
    unlink(db_path);
    base = event_base_new();
    return base ? 0 : -1;
}


static int
teardown(void **state)
{
    char p[300];

    (void) state;
    event_base_free(base);
    unlink(db_path);
    snprintf(p, sizeof(p), "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", db_path);
    unlink(p);
    return 0;
}


static void
test_savepoints_isolate_conflicts(void **state)
{
    struct pgw_store *s = open_store();
    struct result r1 = { 0 }, r2 = { 0 }, r3 = { 0 }, r4 = { 0 };
    struct pgw_txn *t;

    (void) state;
    t = pgw_txn_new();
    add_order(t, 1, "T1", "ACCEPTED");
    pending = 1;
    pgw_store_submit(s, t, done_cb, &r1);
    run_until_done();
    assert_int_equal(r1.rc, PGW_OK);

    /* submitted together: a good CAS, a lost CAS that first inserted a row,
     * and a UNIQUE violation — only the first may leave a trace */
    t = pgw_txn_new();
    pgw_txn_add(t, 1, "UPDATE orders SET status = 'PROCESSING' WHERE id = ?"
                      " AND status = 'ACCEPTED'", "i", (int64_t) 1);
    pending = 3;
    pgw_store_submit(s, t, done_cb, &r2);

    t = pgw_txn_new();
    add_order(t, 2, "T2", "ACCEPTED");
    pgw_txn_add(t, 1, "UPDATE orders SET status = 'SUCCESS' WHERE id = ?"
                      " AND status = 'ACCEPTED'", "i", (int64_t) 1);
    pgw_store_submit(s, t, done_cb, &r3);

    t = pgw_txn_new();
    add_order(t, 3, "T1", "ACCEPTED");   /* same (app_id, out_trade_no) */
    pgw_store_submit(s, t, done_cb, &r4);
    run_until_done();

    assert_int_equal(r2.rc, PGW_OK);
    assert_int_equal(r3.rc, PGW_CONFLICT);
    assert_int_equal(r3.failed_stmt, 1);
    assert_int_equal(r4.rc, PGW_CONFLICT);
    assert_int_equal(r4.failed_stmt, 0);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM orders"), 1);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM orders WHERE id = 1"
                              " AND status = 'PROCESSING'"), 1);
    pgw_store_close(s);
}


static void
test_group_commit_and_durability(void **state)
{
    struct pgw_store *s = open_store();
    struct result r[200];
    struct pgw_store_stats before, after;
    char no[32];

    (void) state;
    memset(r, 0, sizeof(r));
    pgw_store_stats(s, &before);
    pending = 200;
    for (int i = 0; i < 200; i++) {
        struct pgw_txn *t = pgw_txn_new();
        snprintf(no, sizeof(no), "G%d", i);
        add_order(t, pgw_store_next_id(s, "orders"), no, "ACCEPTED");
        pgw_store_submit(s, t, done_cb, &r[i]);
    }
    run_until_done();
    pgw_store_stats(s, &after);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(r[i].called, 1);
        assert_int_equal(r[i].rc, PGW_OK);
    }
    assert_int_equal(after.txns - before.txns, 200);
    /* many txns share a commit: far fewer commits than txns */
    assert_true(after.commits - before.commits < 100);
    pgw_store_close(s);

    /* everything reported committed is there after reopening, and ids go on
     * from the stored maximum */
    s = open_store();
    assert_int_equal(count(s, "SELECT COUNT(*) FROM orders WHERE out_trade_no"
                              " LIKE 'G%'"), 200);
    int64_t max = count(s, "SELECT MAX(id) FROM orders");
    assert_int_equal(pgw_store_next_id(s, "orders"), max + 1);
    pgw_store_close(s);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_savepoints_isolate_conflicts),
        cmocka_unit_test(test_group_commit_and_durability),
    };
    evthread_use_pthreads();
    return cmocka_run_group_tests(tests, setup, teardown);
}
