/*
 * test_refund_guard.c — the refund-sum guard of pgw_refund_txn_insert: the
 * refunds of a payment that are not FAILED never exceed its amount, also when
 * several refunds are committed in ONE group commit (the writer runs them in
 * the same SQLite transaction, one after the other); FAILED refunds free
 * their amount; only a SUCCESS payment can be refunded; a twin out_refund_no
 * is a UNIQUE conflict. A refused refund leaves no row and no transition.
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
#include "pgw_xfer.h"

struct result {
    int rc;
};

static struct event_base *base;
static int pending;
static char db_path[256];
static int64_t next_tr = 1000;


static void
done_cb(void *arg, int rc, int failed_stmt)
{
    struct result *r = arg;

    (void) failed_stmt;
    r->rc = rc;
    pending--;
}


static void
run_until_done(void)
{
    while (pending > 0) {
        event_base_loop(base, EVLOOP_ONCE);
    }
}


static int64_t
scalar(struct pgw_store *s, const char *sql)
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
exec_one(struct pgw_store *s, struct pgw_txn *t, int want)
{
    struct result r = { 99 };

    pending = 1;
    pgw_store_submit(s, t, done_cb, &r);
    run_until_done();
    assert_int_equal(r.rc, want);
}


static void
add_payment(struct pgw_store *s, int64_t id, const char *status)
{
    struct pgw_txn *t = pgw_txn_new();
    char no[16];

    snprintf(no, sizeof(no), "T%lld", (long long) id);
    pgw_txn_add(t, 1,
                "INSERT INTO orders (id, app_id, out_trade_no, voucher_id,"
                " request_hash, request, amount, currency, method,"
                " expire_seconds, channel, status, voucher_status, created_at,"
                " updated_at) VALUES (?, 'A1', ?, ?, 'h', '{}', 1000, 'CNY',"
                " 'wechat.native', 900, 'wechatpay_v2', ?, 'READY', 1, 1)",
                "isss", id, no, no, status);
    exec_one(s, t, PGW_OK);
}


static struct pgw_txn *
refund_txn(int64_t id, const char *no, int64_t order_id, int64_t amount)
{
    struct pgw_txn *t = pgw_txn_new();

    pgw_refund_txn_insert(t, id, next_tr++, "A1", no, order_id, "hash", "{}",
                          amount, "r", NULL, 1);
    return t;
}


static int
setup(void **state)
{
    (void) state;
    snprintf(db_path, sizeof(db_path), "/tmp/pgw-test-refund-%d.db", getpid());
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
test_guard(void **state)
{
    char err[256];
    struct pgw_store *s = pgw_store_open(db_path, base, 512, err, sizeof(err));
    struct result r[6];

    (void) state;
    assert_non_null(s);
    add_payment(s, 1, "SUCCESS");
    add_payment(s, 2, "PROCESSING");

    /* sequential: 600 + 400 fill it, 1 more is refused */
    exec_one(s, refund_txn(1, "R1", 1, 600), PGW_OK);
    exec_one(s, refund_txn(2, "R2", 1, 400), PGW_OK);
    exec_one(s, refund_txn(3, "R3", 1, 1), PGW_CONFLICT);
    assert_int_equal(scalar(s, "SELECT COUNT(*) FROM refunds WHERE id = 3"), 0);
    assert_int_equal(scalar(s, "SELECT COUNT(*) FROM xfer_transitions"
                               " WHERE xfer_id = 3"), 0);

    /* a FAILED refund frees its amount */
    struct pgw_txn *t = pgw_txn_new();
    pgw_txn_add(t, 1, "UPDATE refunds SET status = 'FAILED' WHERE id = 2", "");
    exec_one(s, t, PGW_OK);

    /* concurrent: six 100s submitted at once share one group commit; only
     * four fit in the 400 left */
    pending = 6;
    for (int i = 0; i < 6; i++) {
        char no[8];
        snprintf(no, sizeof(no), "C%d", i);
        r[i].rc = 99;
        pgw_store_submit(s, refund_txn(10 + i, no, 1, 100), done_cb, &r[i]);
    }
    run_until_done();
    int ok = 0, conflict = 0;
    for (int i = 0; i < 6; i++) {
        ok += r[i].rc == PGW_OK;
        conflict += r[i].rc == PGW_CONFLICT;
    }
    assert_int_equal(ok, 4);
    assert_int_equal(conflict, 2);
    assert_int_equal(scalar(s, "SELECT SUM(amount) FROM refunds WHERE order_id"
                               " = 1 AND status <> 'FAILED'"), 1000);

    /* only a SUCCESS payment; a twin number is a UNIQUE conflict */
    exec_one(s, refund_txn(20, "P1", 2, 1), PGW_CONFLICT);
    exec_one(s, refund_txn(21, "R1", 1, 0), PGW_CONFLICT);
    assert_int_equal(scalar(s, "SELECT COUNT(*) FROM refunds WHERE order_id"
                               " = 2"), 0);
    pgw_store_close(s);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard),
    };
    evthread_use_pthreads();
    return cmocka_run_group_tests(tests, setup, teardown);
}
