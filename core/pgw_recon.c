/*
 * pgw_recon.c — statement reconciliation: the matching rules (pgw_recon.h,
 * docs/reconciliation.md). Pure: orders and rows in, items and counts out.
 *
 * Per statement row (a payment the channel reports):
 *   none of ours                     -> long (recorded; nothing to settle)
 *   ours at another channel          -> long (recorded, detail says where)
 *   ours PROCESSING / ACCEPTED       -> long, query = 1 for PROCESSING
 *   ours FAILED / CLOSED             -> status mismatch (first final wins)
 *   ours SUCCESS, amount / currency  -> amount mismatch
 *   ours SUCCESS, row not SUCCESS    -> status mismatch
 *   ours SUCCESS, channel_trade_no differs (both known) -> status mismatch
 *   ours SUCCESS, all equal          -> matched (counted, not stored)
 *   the same order a second time     -> duplicate
 * After the rows, each of our SUCCESS orders no row named:
 *   created or finished within the window before day_end -> carried (D+1)
 *   otherwise (including one carried in from D-1)         -> short
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgw_core.h"
#include "pgw_recon.h"


static const char *const pgw__kind_names[PGW_RK__N] = {
    "long", "short", "amount_mismatch", "status_mismatch", "carried",
    "duplicate"
};


const char *
pgw_recon_kind_name(enum pgw_recon_kind k)
{
    return (unsigned) k < PGW_RK__N ? pgw__kind_names[k] : "?";
}


static uint64_t
pgw__hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char) *s;
        h *= 1099511628211ULL;
    }
    return h;
}


static int
pgw__rehash(struct pgw_recon *r, size_t n_slots)
{
    size_t *slots = calloc(n_slots, sizeof(*slots));

    if (slots == NULL) {
        return PGW_ERR;
    }
    for (size_t i = 0; i < r->n_orders; i++) {
        size_t h = (size_t) (pgw__hash(r->orders[i].out_trade_no) & (n_slots - 1));
        while (slots[h]) {
            h = (h + 1) & (n_slots - 1);
        }
        slots[h] = i + 1;
    }
    free(r->slots);
    r->slots = slots;
    r->n_slots = n_slots;
    return PGW_OK;
}


int
pgw_recon_init(struct pgw_recon *r, const char *channel, int64_t day_start,
               int64_t day_end, int64_t window, pgw_recon_lookup_fn *lookup,
               void *lookup_arg)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->channel, sizeof(r->channel), "%s", channel);
    r->day_start = day_start;
    r->day_end = day_end;
    r->window = window;
    r->lookup = lookup;
    r->lookup_arg = lookup_arg;
    return pgw__rehash(r, 1024);
}


void
pgw_recon_free(struct pgw_recon *r)
{
    free(r->orders);
    free(r->slots);
    free(r->items);
    memset(r, 0, sizeof(*r));
}


int
pgw_recon_add_order(struct pgw_recon *r, const struct pgw_recon_order *o)
{
    size_t h;

    if (r->n_orders == r->cap_orders) {
        size_t cap = r->cap_orders ? r->cap_orders * 2 : 1024;
        struct pgw_recon_order *grown = realloc(r->orders, cap * sizeof(*grown));
        if (grown == NULL) {
            return PGW_ERR;
        }
        r->orders = grown;
        r->cap_orders = cap;
    }
    /* load factor at most 1/2 */
    if ((r->n_orders + 1) * 2 > r->n_slots
        && pgw__rehash(r, r->n_slots * 2) != PGW_OK) {
        return PGW_ERR;
    }
    r->orders[r->n_orders] = *o;
    r->orders[r->n_orders].seen = 0;
    h = (size_t) (pgw__hash(o->out_trade_no) & (r->n_slots - 1));
    while (r->slots[h]) {
        h = (h + 1) & (r->n_slots - 1);
    }
    r->slots[h] = ++r->n_orders;
    return PGW_OK;
}


static struct pgw_recon_item *
pgw__item(struct pgw_recon *r, enum pgw_recon_kind kind,
          const struct pgw_recon_order *o, const struct pgw_recon_row *row)
{
    struct pgw_recon_item *it;

    if (r->n_items == r->cap_items) {
        size_t cap = r->cap_items ? r->cap_items * 2 : 64;
        struct pgw_recon_item *grown = realloc(r->items, cap * sizeof(*grown));
        if (grown == NULL) {
            return NULL;
        }
        r->items = grown;
        r->cap_items = cap;
    }
    it = &r->items[r->n_items++];
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    it->our_amount = -1;
    it->their_amount = -1;
    if (o) {
        it->order_id = o->id;
        it->carried_in = o->carried_in;
        it->our_amount = o->amount;
        snprintf(it->our_status, sizeof(it->our_status), "%s", o->status);
        snprintf(it->out_trade_no, sizeof(it->out_trade_no), "%s", o->out_trade_no);
        snprintf(it->channel_trade_no, sizeof(it->channel_trade_no), "%s",
                 o->channel_trade_no);
    }
    if (row) {
        it->their_amount = row->amount;
        snprintf(it->their_status, sizeof(it->their_status), "%s", row->status);
        snprintf(it->out_trade_no, sizeof(it->out_trade_no), "%s", row->out_trade_no);
        if (row->channel_trade_no[0]) {
            snprintf(it->channel_trade_no, sizeof(it->channel_trade_no), "%s",
                     row->channel_trade_no);
        }
    }
    r->counts[kind]++;
    return it;
}


/* the order a row names: among ours of that number at this channel, the one
 * whose channel_trade_no agrees (two apps may share a number); *n = how many
 * candidates there were */
static struct pgw_recon_order *
pgw__find(struct pgw_recon *r, const struct pgw_recon_row *row, int *n)
{
    struct pgw_recon_order *first = NULL, *by_no = NULL;
    size_t h = (size_t) (pgw__hash(row->out_trade_no) & (r->n_slots - 1));

    *n = 0;
    while (r->slots[h]) {
        struct pgw_recon_order *o = &r->orders[r->slots[h] - 1];
        if (strcmp(o->out_trade_no, row->out_trade_no) == 0) {
            (*n)++;
            if (first == NULL) {
                first = o;
            }
            if (row->channel_trade_no[0]
                && strcmp(o->channel_trade_no, row->channel_trade_no) == 0) {
                by_no = o;
            }
        }
        h = (h + 1) & (r->n_slots - 1);
    }
    if (by_no) {
        *n = 1;
        return by_no;
    }
    return first;
}


int
pgw_recon_row(struct pgw_recon *r, const struct pgw_recon_row *row)
{
    struct pgw_recon_order *o;
    struct pgw_recon_item *it;
    int n;

    r->rows++;
    o = pgw__find(r, row, &n);
    if (o == NULL && r->lookup) {
        struct pgw_recon_order found;
        int rc = r->lookup(r->lookup_arg, row->out_trade_no, &found);

        if (rc < 0) {
            return PGW_ERR;
        }
        if (rc > 0) {
            found.outside = 1;
            found.carried_in = 0;
            if (pgw_recon_add_order(r, &found) != PGW_OK) {
                return PGW_ERR;
            }
            o = pgw__find(r, row, &n);
        }
    }
    if (o == NULL) {
        it = pgw__item(r, PGW_RK_LONG, NULL, row);
        if (it) {
            snprintf(it->detail, sizeof(it->detail), "no order of ours");
        }
        return it ? PGW_OK : PGW_ERR;
    }
    if (n > 1) {
        it = pgw__item(r, PGW_RK_STATUS, o, row);
        if (it) {
            it->order_id = 0;
            snprintf(it->detail, sizeof(it->detail),
                     "%d orders of ours have this number (apps differ) and the"
                     " statement's trade number names none of them", n);
        }
        return it ? PGW_OK : PGW_ERR;
    }
    if (o->seen) {
        it = pgw__item(r, PGW_RK_DUPLICATE, o, row);
        if (it) {
            snprintf(it->detail, sizeof(it->detail),
                     "the statement lists this order again");
        }
        return it ? PGW_OK : PGW_ERR;
    }
    o->seen = 1;

    if (strcmp(o->channel, r->channel) != 0) {
        it = pgw__item(r, PGW_RK_LONG, o, row);
        if (it) {
            snprintf(it->detail, sizeof(it->detail),
                     "our order is at channel '%.31s'", o->channel);
        }
        return it ? PGW_OK : PGW_ERR;
    }
    if (strcmp(o->status, "SUCCESS") != 0) {
        if (strcmp(row->status, "SUCCESS") != 0) {
            r->matched++;             /* neither side has a payment */
            return PGW_OK;
        }
        if (strcmp(o->status, "PROCESSING") == 0
            || strcmp(o->status, "ACCEPTED") == 0) {
            it = pgw__item(r, PGW_RK_LONG, o, row);
            if (it) {
                it->query = o->status[0] == 'P';
                snprintf(it->detail, sizeof(it->detail), "%s",
                         it->query ? "ours is PROCESSING: its query is made"
                                     " due; the query settles it"
                                   : "ours was never sent (ACCEPTED)");
            }
            return it ? PGW_OK : PGW_ERR;
        }
        it = pgw__item(r, PGW_RK_STATUS, o, row);
        if (it) {
            snprintf(it->detail, sizeof(it->detail),
                     "the channel reports a payment, ours is final %s", o->status);
        }
        return it ? PGW_OK : PGW_ERR;
    }
    if (o->amount != row->amount
        || (row->currency[0] && o->currency[0]
            && strcmp(o->currency, row->currency) != 0)) {
        it = pgw__item(r, PGW_RK_AMOUNT, o, row);
        if (it) {
            snprintf(it->detail, sizeof(it->detail),
                     "ours %lld %s, the channel's %lld %s", (long long) o->amount,
                     o->currency, (long long) row->amount,
                     row->currency[0] ? row->currency : o->currency);
        }
        return it ? PGW_OK : PGW_ERR;
    }
    if (strcmp(row->status, "SUCCESS") != 0) {
        it = pgw__item(r, PGW_RK_STATUS, o, row);
        if (it) {
            snprintf(it->detail, sizeof(it->detail),
                     "ours SUCCESS, the channel's %.15s", row->status);
        }
        return it ? PGW_OK : PGW_ERR;
    }
    if (row->channel_trade_no[0] && o->channel_trade_no[0]
        && strcmp(row->channel_trade_no, o->channel_trade_no) != 0) {
        it = pgw__item(r, PGW_RK_STATUS, o, row);
        if (it) {
            snprintf(it->detail, sizeof(it->detail),
                     "channel trade numbers differ: ours %.64s", o->channel_trade_no);
        }
        return it ? PGW_OK : PGW_ERR;
    }
    r->matched++;
    return PGW_OK;
}


int
pgw_recon_finish(struct pgw_recon *r)
{
    int64_t cut = r->day_end - r->window;

    for (size_t i = 0; i < r->n_orders; i++) {
        struct pgw_recon_order *o = &r->orders[i];
        struct pgw_recon_item *it;
        int at_cut;

        if (o->seen || o->outside || strcmp(o->status, "SUCCESS") != 0
            || strcmp(o->channel, r->channel) != 0) {
            continue;
        }
        if (!o->carried_in && o->created_at < r->day_start) {
            continue;                 /* D-1's, and matched there */
        }
        at_cut = !o->carried_in
                 && (o->created_at >= cut || o->finished_at >= cut);
        it = pgw__item(r, at_cut ? PGW_RK_CARRIED : PGW_RK_SHORT, o, NULL);
        if (it == NULL) {
            return PGW_ERR;
        }
        snprintf(it->detail, sizeof(it->detail), "%s",
                 at_cut ? "at the day cut: looked for on the next day's statement"
                 : o->carried_in ? "carried from the previous day; on neither"
                                   " statement"
                                 : "ours SUCCESS, not on the statement");
    }
    return PGW_OK;
}


int
pgw_recon_parse_tz(const char *tz, int *minutes)
{
    int h, m, sign;

    if (strcmp(tz, "Z") == 0 || strcmp(tz, "UTC") == 0) {
        *minutes = 0;
        return PGW_OK;
    }
    if ((tz[0] != '+' && tz[0] != '-') || strlen(tz) != 6 || tz[3] != ':'
        || sscanf(tz + 1, "%2d:%2d", &h, &m) != 2 || h > 14 || m > 59) {
        return PGW_ERR;
    }
    sign = tz[0] == '-' ? -1 : 1;
    *minutes = sign * (h * 60 + m);
    return PGW_OK;
}


int
pgw_recon_day_start(const char *date, int tz_offset_min, int64_t *out)
{
    struct tm tm;
    int y, mo, d;
    char tail;

    if (strlen(date) != 10 || date[4] != '-' || date[7] != '-'
        || sscanf(date, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3
        || y < 2000 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31) {
        return PGW_ERR;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    time_t t = timegm(&tm);
    struct tm back;
    if (t == (time_t) -1 || gmtime_r(&t, &back) == NULL || back.tm_mday != d) {
        return PGW_ERR;             /* 2026-02-30 */
    }
    *out = ((int64_t) t - (int64_t) tz_offset_min * 60) * 1000;
    return PGW_OK;
}
