/*
 * test_recon.c — the reconciliation matching rules (core/pgw_recon.c,
 * docs/reconciliation.md): one case per category, the day cut in both
 * directions, orders found outside the day, two apps sharing a number, the
 * time helpers; the schema migration of a database made before recon.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "pgw_core.h"
#include "pgw_recon.h"
#include "pgw_schema.h"

#define D0 1795104000000LL             /* 2026-11-20 00:00 +08:00 */
#define D1 (D0 + 86400000LL)
#define WIN 600000LL
#define H(n) ((int64_t) (n) * 3600000LL)


static struct pgw_recon_order
order(int64_t id, const char *no, const char *status, int64_t amount, int64_t created)
{
    struct pgw_recon_order o;

    memset(&o, 0, sizeof(o));
    o.id = id;
    snprintf(o.out_trade_no, sizeof(o.out_trade_no), "%s", no);
    snprintf(o.channel, sizeof(o.channel), "alipay");
    snprintf(o.channel_trade_no, sizeof(o.channel_trade_no), "T%s", no);
    snprintf(o.currency, sizeof(o.currency), "CNY");
    snprintf(o.status, sizeof(o.status), "%s", status);
    o.amount = amount;
    o.created_at = created;
    o.finished_at = strcmp(status, "PROCESSING") == 0 ? 0 : created + 5000;
    return o;
}


static int
row(struct pgw_recon *r, const char *no, int64_t amount)
{
    char tno[80];
    struct pgw_recon_row w = { .out_trade_no = no, .channel_trade_no = tno,
                               .currency = "", .status = "SUCCESS", .amount = amount };

    snprintf(tno, sizeof(tno), "T%s", no);
    return pgw_recon_row(r, &w);
}


static const struct pgw_recon_item *
item_of(const struct pgw_recon *r, const char *no)
{
    for (size_t i = 0; i < r->n_items; i++) {
        if (strcmp(r->items[i].out_trade_no, no) == 0) {
            return &r->items[i];
        }
    }
    return NULL;
}


static void
add(struct pgw_recon *r, struct pgw_recon_order o)
{
    assert_int_equal(pgw_recon_add_order(r, &o), PGW_OK);
}


static void
test_categories(void **state)
{
    struct pgw_recon r;
    const struct pgw_recon_item *it;

    (void) state;
    assert_int_equal(pgw_recon_init(&r, "alipay", D0, D1, WIN, NULL, NULL), PGW_OK);
    add(&r, order(1, "M1", "SUCCESS", 1000, D0 + H(1)));      /* matched */
    add(&r, order(2, "A1", "SUCCESS", 1000, D0 + H(2)));      /* amount */
    add(&r, order(3, "S1", "CLOSED", 1000, D0 + H(3)));       /* status */
    add(&r, order(4, "F1", "FAILED", 1000, D0 + H(3)));       /* status */
    add(&r, order(5, "P1", "PROCESSING", 1000, D0 + H(4)));   /* long + query */
    add(&r, order(6, "C0", "ACCEPTED", 1000, D0 + H(4)));     /* long, no query */
    add(&r, order(7, "SH", "SUCCESS", 1000, D0 + H(5)));      /* short */
    add(&r, order(8, "Q1", "PROCESSING", 1000, D0 + H(6)));   /* quiet: unpaid */
    add(&r, order(9, "Q2", "CLOSED", 1000, D0 + H(6)));       /* quiet: closed */

    assert_int_equal(row(&r, "M1", 1000), PGW_OK);
    assert_int_equal(row(&r, "A1", 1001), PGW_OK);
    assert_int_equal(row(&r, "S1", 1000), PGW_OK);
    assert_int_equal(row(&r, "F1", 1000), PGW_OK);
    assert_int_equal(row(&r, "P1", 1000), PGW_OK);
    assert_int_equal(row(&r, "C0", 1000), PGW_OK);
    assert_int_equal(row(&r, "XX", 4200), PGW_OK);            /* long: none of ours */
    assert_int_equal(row(&r, "M1", 1000), PGW_OK);            /* duplicate */
    assert_int_equal(pgw_recon_finish(&r), PGW_OK);

    assert_int_equal(r.rows, 8);
    assert_int_equal(r.matched, 1);
    assert_int_equal(r.counts[PGW_RK_LONG], 3);
    assert_int_equal(r.counts[PGW_RK_SHORT], 1);
    assert_int_equal(r.counts[PGW_RK_AMOUNT], 1);
    assert_int_equal(r.counts[PGW_RK_STATUS], 2);
    assert_int_equal(r.counts[PGW_RK_CARRIED], 0);
    assert_int_equal(r.counts[PGW_RK_DUPLICATE], 1);
    assert_int_equal(r.n_items, 8);

    it = item_of(&r, "A1");
    assert_int_equal(it->kind, PGW_RK_AMOUNT);
    assert_int_equal(it->our_amount, 1000);
    assert_int_equal(it->their_amount, 1001);
    assert_int_equal(item_of(&r, "S1")->kind, PGW_RK_STATUS);
    assert_string_equal(item_of(&r, "S1")->our_status, "CLOSED");
    it = item_of(&r, "P1");
    assert_int_equal(it->kind, PGW_RK_LONG);
    assert_int_equal(it->query, 1);
    assert_int_equal(it->order_id, 5);
    assert_int_equal(item_of(&r, "C0")->query, 0);
    it = item_of(&r, "XX");
    assert_int_equal(it->kind, PGW_RK_LONG);
    assert_int_equal(it->order_id, 0);
    assert_int_equal(it->query, 0);
    assert_int_equal(item_of(&r, "SH")->kind, PGW_RK_SHORT);
    assert_int_equal(item_of(&r, "SH")->their_amount, -1);
    assert_null(item_of(&r, "Q1"));
    assert_null(item_of(&r, "Q2"));
    /* only a PROCESSING long asks for a query: nothing else is an action */
    for (size_t i = 0; i < r.n_items; i++) {
        assert_int_equal(r.items[i].query, strcmp(r.items[i].out_trade_no, "P1") == 0);
    }
    pgw_recon_free(&r);
}


static void
test_status_currency_trade_no(void **state)
{
    struct pgw_recon r;
    struct pgw_recon_row w;

    (void) state;
    assert_int_equal(pgw_recon_init(&r, "alipay", D0, D1, WIN, NULL, NULL), PGW_OK);
    add(&r, order(1, "R1", "SUCCESS", 500, D0 + H(1)));
    add(&r, order(2, "C1", "SUCCESS", 500, D0 + H(1)));
    add(&r, order(3, "N1", "SUCCESS", 500, D0 + H(1)));
    add(&r, order(4, "U1", "PROCESSING", 500, D0 + H(1)));
    /* ours SUCCESS, the channel's REFUNDED */
    w = (struct pgw_recon_row) { "R1", "TR1", "", "REFUNDED", 500 };
    assert_int_equal(pgw_recon_row(&r, &w), PGW_OK);
    /* same amount, other currency */
    w = (struct pgw_recon_row) { "C1", "TC1", "USD", "SUCCESS", 500 };
    assert_int_equal(pgw_recon_row(&r, &w), PGW_OK);
    /* another channel trade number for the same order */
    w = (struct pgw_recon_row) { "N1", "OTHER", "", "SUCCESS", 500 };
    assert_int_equal(pgw_recon_row(&r, &w), PGW_OK);
    /* neither side paid: agreement */
    w = (struct pgw_recon_row) { "U1", "", "", "CLOSED", 500 };
    assert_int_equal(pgw_recon_row(&r, &w), PGW_OK);
    assert_int_equal(pgw_recon_finish(&r), PGW_OK);

    assert_int_equal(item_of(&r, "R1")->kind, PGW_RK_STATUS);
    assert_string_equal(item_of(&r, "R1")->their_status, "REFUNDED");
    assert_int_equal(item_of(&r, "C1")->kind, PGW_RK_AMOUNT);
    assert_int_equal(item_of(&r, "N1")->kind, PGW_RK_STATUS);
    assert_null(item_of(&r, "U1"));
    assert_int_equal(r.matched, 1);
    pgw_recon_free(&r);
}


static void
test_day_cut(void **state)
{
    struct pgw_recon r;
    struct pgw_recon_order o;

    (void) state;
    assert_int_equal(pgw_recon_init(&r, "alipay", D0, D1, WIN, NULL, NULL), PGW_OK);
    /* created in the last minutes of D, not listed: carried to D+1 */
    add(&r, order(1, "LATE", "SUCCESS", 100, D1 - 60000));
    /* created before the window, finished (paid) inside it: carried too */
    o = order(2, "SLOW", "SUCCESS", 100, D1 - H(1));
    o.finished_at = D1 - 30000;
    add(&r, o);
    /* created just before the window, finished before it: short */
    add(&r, order(3, "EDGE", "SUCCESS", 100, D1 - WIN - 10000));
    /* carried in from D-1 and on D's statement: matched */
    o = order(4, "IN1", "SUCCESS", 100, D0 - 120000);
    o.carried_in = 1;
    add(&r, o);
    /* carried in from D-1, on neither statement: short now */
    o = order(5, "IN2", "SUCCESS", 100, D0 - 60000);
    o.carried_in = 1;
    add(&r, o);
    /* created in D-1's window, not carried (D-1 matched it): silent */
    add(&r, order(6, "OLD", "SUCCESS", 100, D0 - 90000));
    /* a carried-in order created long before (carried for its finish time) */
    o = order(7, "IN3", "SUCCESS", 100, D0 - H(30));
    o.carried_in = 1;
    add(&r, o);
    assert_int_equal(row(&r, "IN1", 100), PGW_OK);
    assert_int_equal(row(&r, "IN3", 100), PGW_OK);
    assert_int_equal(pgw_recon_finish(&r), PGW_OK);

    assert_int_equal(item_of(&r, "LATE")->kind, PGW_RK_CARRIED);
    assert_int_equal(item_of(&r, "SLOW")->kind, PGW_RK_CARRIED);
    assert_int_equal(item_of(&r, "EDGE")->kind, PGW_RK_SHORT);
    assert_null(item_of(&r, "IN1"));
    assert_int_equal(item_of(&r, "IN2")->kind, PGW_RK_SHORT);
    assert_int_equal(item_of(&r, "IN2")->carried_in, 1);
    assert_null(item_of(&r, "OLD"));
    assert_null(item_of(&r, "IN3"));
    assert_int_equal(r.matched, 2);
    assert_int_equal(r.n_items, 4);
    pgw_recon_free(&r);
}


static int lookups;

static int
lookup(void *arg, const char *no, struct pgw_recon_order *out)
{
    (void) arg;
    lookups++;
    if (strcmp(no, "BOOM") == 0) {
        return -1;
    }
    if (strcmp(no, "OLDPAY") == 0) {
        *out = order(50, "OLDPAY", "SUCCESS", 300, D0 - H(72));
        return 1;
    }
    if (strcmp(no, "ELSE") == 0) {
        *out = order(51, "ELSE", "SUCCESS", 300, D0 + H(1));
        snprintf(out->channel, sizeof(out->channel), "wechatpay_v3");
        return 1;
    }
    return 0;
}


static void
test_lookup_outside_the_day(void **state)
{
    struct pgw_recon r;

    (void) state;
    lookups = 0;
    assert_int_equal(pgw_recon_init(&r, "alipay", D0, D1, WIN, lookup, NULL), PGW_OK);
    add(&r, order(1, "IN", "SUCCESS", 300, D0 + H(1)));
    assert_int_equal(row(&r, "IN", 300), PGW_OK);             /* no lookup */
    assert_int_equal(lookups, 0);
    assert_int_equal(row(&r, "OLDPAY", 300), PGW_OK);         /* an old QR paid today */
    assert_int_equal(row(&r, "ELSE", 300), PGW_OK);           /* ours, at another channel */
    assert_int_equal(row(&r, "NONE", 300), PGW_OK);
    assert_int_equal(lookups, 3);
    assert_int_equal(row(&r, "BOOM", 300), PGW_ERR);
    assert_int_equal(pgw_recon_finish(&r), PGW_OK);

    assert_null(item_of(&r, "OLDPAY"));                      /* matched, never short */
    assert_int_equal(item_of(&r, "ELSE")->kind, PGW_RK_LONG);
    assert_non_null(strstr(item_of(&r, "ELSE")->detail, "wechatpay_v3"));
    assert_int_equal(item_of(&r, "NONE")->kind, PGW_RK_LONG);
    assert_int_equal(r.matched, 2);
    pgw_recon_free(&r);
}


static void
test_two_apps_one_number(void **state)
{
    struct pgw_recon r;
    struct pgw_recon_order a = order(1, "SAME", "SUCCESS", 100, D0 + H(1));
    struct pgw_recon_order b = order(2, "SAME", "SUCCESS", 200, D0 + H(2));
    struct pgw_recon_row w;

    (void) state;
    snprintf(a.channel_trade_no, sizeof(a.channel_trade_no), "TA");
    snprintf(b.channel_trade_no, sizeof(b.channel_trade_no), "TB");
    assert_int_equal(pgw_recon_init(&r, "alipay", D0, D1, WIN, NULL, NULL), PGW_OK);
    add(&r, a);
    add(&r, b);
    w = (struct pgw_recon_row) { "SAME", "TB", "", "SUCCESS", 200 };
    assert_int_equal(pgw_recon_row(&r, &w), PGW_OK);          /* b, by trade number */
    w = (struct pgw_recon_row) { "SAME", "", "", "SUCCESS", 100 };
    assert_int_equal(pgw_recon_row(&r, &w), PGW_OK);          /* ambiguous */
    assert_int_equal(pgw_recon_finish(&r), PGW_OK);
    assert_int_equal(r.matched, 1);
    assert_int_equal(r.counts[PGW_RK_STATUS], 1);             /* the ambiguous row */
    assert_int_equal(r.counts[PGW_RK_SHORT], 1);              /* a: never named */
    assert_int_equal(r.items[0].order_id, 0);
    assert_int_equal(r.items[1].order_id, 1);
    pgw_recon_free(&r);
}


static void
test_many_orders(void **state)
{
    struct pgw_recon r;
    char no[32];

    (void) state;
    assert_int_equal(pgw_recon_init(&r, "alipay", D0, D1, WIN, NULL, NULL), PGW_OK);
    for (int i = 0; i < 50000; i++) {
        snprintf(no, sizeof(no), "N%d", i);
        add(&r, order(i + 1, no, "SUCCESS", i, D0 + i));
    }
    for (int i = 0; i < 50000; i += 2) {
        snprintf(no, sizeof(no), "N%d", i);
        assert_int_equal(row(&r, no, i), PGW_OK);
    }
    assert_int_equal(pgw_recon_finish(&r), PGW_OK);
    assert_int_equal(r.matched, 25000);
    assert_int_equal(r.counts[PGW_RK_SHORT], 25000);
    pgw_recon_free(&r);
}


static void
test_time_helpers(void **state)
{
    int m;
    int64_t t;

    (void) state;
    assert_int_equal(pgw_recon_parse_tz("+08:00", &m), PGW_OK);
    assert_int_equal(m, 480);
    assert_int_equal(pgw_recon_parse_tz("-05:30", &m), PGW_OK);
    assert_int_equal(m, -330);
    assert_int_equal(pgw_recon_parse_tz("Z", &m), PGW_OK);
    assert_int_equal(m, 0);
    assert_int_equal(pgw_recon_parse_tz("+8", &m), PGW_ERR);
    assert_int_equal(pgw_recon_parse_tz("08:00", &m), PGW_ERR);
    assert_int_equal(pgw_recon_day_start("2026-11-20", 480, &t), PGW_OK);
    assert_int_equal(t, D0);
    assert_int_equal(pgw_recon_day_start("2026-11-20", -330, &t), PGW_OK);
    assert_int_equal(t, 1795152600000LL);
    assert_int_equal(pgw_recon_day_start("2026-02-30", 0, &t), PGW_ERR);
    assert_int_equal(pgw_recon_day_start("2026-1-20", 0, &t), PGW_ERR);
    assert_int_equal(pgw_recon_day_start("2026-11-20x", 0, &t), PGW_ERR);
    assert_string_equal(pgw_recon_kind_name(PGW_RK_AMOUNT), "amount_mismatch");
}


/* a database of the version before recon: discrepancies without the
 * workflow columns; opening it must add them, twice is harmless */
static void
test_migrate_existing_db(void **state)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char err[256];
    int cols = 0;

    (void) state;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE discrepancies (id BIGINT PRIMARY KEY,"
                                      " order_id BIGINT, kind TEXT NOT NULL, status TEXT,"
                                      " evidence_class TEXT, code TEXT, detail TEXT,"
                                      " acknowledged BIGINT NOT NULL DEFAULT 0,"
                                      " at BIGINT NOT NULL);"
                                      "INSERT INTO discrepancies (id, kind, at)"
                                      " VALUES (1, 'contrary_notify', 1);",
                                  NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, pgw_schema_sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(pgw_schema_migrate(db, err, sizeof(err)), 0);
    assert_int_equal(pgw_schema_migrate(db, err, sizeof(err)), 0);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM pragma_table_info("
                                            "'discrepancies') WHERE name IN ('run_id',"
                                            " 'state', 'note', 'handled_by', 'handled_at')",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    cols = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    assert_int_equal(cols, 5);
    /* the old row is still there, open by default */
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM discrepancies WHERE"
                                            " state IS NULL AND kind = 'contrary_notify'",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_categories),
        cmocka_unit_test(test_status_currency_trade_no),
        cmocka_unit_test(test_day_cut),
        cmocka_unit_test(test_lookup_outside_the_day),
        cmocka_unit_test(test_two_apps_one_number),
        cmocka_unit_test(test_many_orders),
        cmocka_unit_test(test_time_helpers),
        cmocka_unit_test(test_migrate_existing_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
