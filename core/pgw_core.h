/*
 * pgw_core.h — shared definitions of the paygwd core: return codes, time helpers,
 * the order statuses of SPEC §4 and the daemon context every core file works on.
 *
 * Invariant: the daemon is one libevent loop; everything here is touched only from
 * the loop thread, except the store's writer thread (pgw_store.c) which owns its
 * own SQLite connection and talks to the loop through completion events.
 */

#ifndef PGW_CORE_H
#define PGW_CORE_H

#include <stddef.h>
#include <stdint.h>

enum pgw_rc {
    PGW_OK = 0,
    PGW_ERR = -1,
    PGW_CONFLICT = -2,   /* a compare-and-set or uniqueness check did not hold */
    PGW_NOTFOUND = -3
};

/* Order status (SPEC §4). Stored as text; the whitelist is in pgw_order.c. */
enum pgw_status {
    PGW_ST_NONE = 0,
    PGW_ST_ACCEPTED,
    PGW_ST_PROCESSING,
    PGW_ST_SUCCESS,
    PGW_ST_FAILED,
    PGW_ST_CLOSED
};

int64_t pgw_now_ms(void);
void pgw_rfc3339(int64_t ms, char *buf, size_t len);

struct pgw_daemon;

#endif
