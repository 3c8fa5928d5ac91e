/*
 * pgw_recon.h — statement reconciliation, the matching itself (no I/O, no
 * daemon): our orders of one channel and day against the channel's
 * statement rows (docs/reconciliation.md).
 *
 * Usage: init with the day's bounds and the day-cut window; add our orders
 * (those created in [day_start - window, day_end) plus the ones the previous
 * day's run carried over, flagged carried_in); feed every statement row;
 * finish (our unseen SUCCESS orders become short or carried). An order a row
 * names that is not in the set is asked of the lookup callback (an older
 * order, or one at another channel) and takes part in matching, never in
 * the short check.
 *
 * The matcher only classifies: it never changes an order. A long row of a
 * PROCESSING order carries query = 1 (the caller makes the order's query
 * due; the query settles it, not the statement).
 */

#ifndef PGW_RECON_H
#define PGW_RECON_H

#include <stddef.h>
#include <stdint.h>

enum pgw_recon_kind {
    PGW_RK_LONG = 0,        /* channel: success; we: nothing / not final */
    PGW_RK_SHORT,           /* we: SUCCESS; channel: nothing */
    PGW_RK_AMOUNT,          /* both have it, amount or currency differ */
    PGW_RK_STATUS,          /* both have it, statuses disagree */
    PGW_RK_CARRIED,         /* ours at the day cut, looked for on D+1 */
    PGW_RK_DUPLICATE,       /* the statement lists the same order twice */
    PGW_RK__N
};

struct pgw_recon_order {
    int64_t id;
    char out_trade_no[65];
    char channel[32];
    char channel_trade_no[65];
    char currency[8];
    char status[16];
    int64_t amount;             /* minor units */
    int64_t created_at;         /* ms */
    int64_t finished_at;        /* ms, 0 if none */
    int carried_in;             /* carried over by the previous day's run */
    /* matcher state */
    int outside;                /* found by lookup: not part of the day */
    int seen;
};

struct pgw_recon_row {          /* one statement row of a payment */
    const char *out_trade_no;
    const char *channel_trade_no; /* "" if none */
    const char *currency;         /* "" if the statement has none */
    const char *status;           /* SUCCESS, or e.g. CLOSED / REFUNDED */
    int64_t amount;               /* minor units */
};

struct pgw_recon_item {
    enum pgw_recon_kind kind;
    int64_t order_id;           /* 0: none of ours */
    int carried_in;             /* the order came from the previous day */
    int query;                  /* make the order's query due now */
    char out_trade_no[65];
    char channel_trade_no[65];
    char our_status[16];        /* "" when none of ours */
    char their_status[16];      /* "" when not on the statement */
    int64_t our_amount;         /* -1 when unknown */
    int64_t their_amount;       /* -1 when unknown */
    char detail[160];
};

/* 1 + *out filled when an order of that number exists (any channel),
 * 0 when none, -1 on error */
typedef int pgw_recon_lookup_fn(void *arg, const char *out_trade_no,
                                struct pgw_recon_order *out);

struct pgw_recon {
    char channel[32];
    int64_t day_start;          /* ms: D 00:00 in the statement's timezone */
    int64_t day_end;            /* ms: D+1 00:00 */
    int64_t window;             /* ms: the day-cut window */
    pgw_recon_lookup_fn *lookup;
    void *lookup_arg;

    struct pgw_recon_order *orders;
    size_t n_orders, cap_orders;
    size_t *slots;              /* hash: out_trade_no -> index + 1, 0 empty */
    size_t n_slots;

    struct pgw_recon_item *items;
    size_t n_items, cap_items;
    uint64_t counts[PGW_RK__N];
    uint64_t matched;
    uint64_t rows;
};

int pgw_recon_init(struct pgw_recon *r, const char *channel, int64_t day_start,
                   int64_t day_end, int64_t window,
                   pgw_recon_lookup_fn *lookup, void *lookup_arg);
void pgw_recon_free(struct pgw_recon *r);
/* copies o; an out_trade_no added twice (two apps) keeps both */
int pgw_recon_add_order(struct pgw_recon *r, const struct pgw_recon_order *o);
/* one statement row; PGW_OK or PGW_ERR (out of memory, lookup error) */
int pgw_recon_row(struct pgw_recon *r, const struct pgw_recon_row *row);
/* our unseen orders: SUCCESS ones become short, or carried when they sit
 * at the day cut (created or finished within the window before day_end) */
int pgw_recon_finish(struct pgw_recon *r);

const char *pgw_recon_kind_name(enum pgw_recon_kind k);   /* "long", ... */

/* "YYYY-MM-DD" and a UTC offset in minutes -> the day's start in ms since
 * the epoch; PGW_ERR for a malformed date */
int pgw_recon_day_start(const char *date, int tz_offset_min, int64_t *out);
/* "+08:00", "-05:30", "Z", "UTC" -> minutes; PGW_ERR otherwise */
int pgw_recon_parse_tz(const char *tz, int *minutes);

#endif
