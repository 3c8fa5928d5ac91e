/*
 * pgw_discrepancy.h — the discrepancy workflow of the admin API
 * (/admin/discrepancies, docs/reconciliation.md) and the row-to-JSON helper
 * the admin pages of reconciliation share.
 */

#ifndef PGW_DISCREPANCY_H
#define PGW_DISCREPANCY_H

#include <jansson.h>
#include <sqlite3.h>

struct evhttp_request;
struct pgw_daemon;

/* the columns a discrepancy is shown with (its workflow state included) */
#define PGW_DISC_COLS \
    "id, order_id, (SELECT out_trade_no FROM orders WHERE orders.id ="  \
    " discrepancies.order_id) AS out_trade_no, kind, status, evidence_class," \
    " code, detail, run_id, COALESCE(state, CASE WHEN acknowledged THEN"  \
    " 'acknowledged' ELSE 'open' END) AS state, note, handled_by, handled_at, at"

/* serves /admin/discrepancies[/{id}]; 1 when the path was one of those */
int pgw_discrepancy_admin(struct pgw_daemon *d, struct evhttp_request *req,
                          const char *path);

/* the current row of st as an object (column names as keys; counts, totals
 * and a JSON detail embedded as JSON); every row of st, then st is reset
 * (st may be NULL: an empty array) */
json_t *pgw_db_row_json(sqlite3_stmt *st);
json_t *pgw_db_rows(sqlite3_stmt *st);

#endif
