/*
 * pgw_bulkhead.c — per-channel concurrency + QPS caps with a bounded FIFO
 * wait queue (pgw_bulkhead.h). One timer per channel drives its queue:
 * armed at 0 when a slot frees or a send is to be rejected, at the next
 * token when QPS-limited, at the oldest waiter's deadline otherwise.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "pgw_bulkhead.h"
#include "pgw_core.h"

struct pgw__bh_item {
    pgw_bh_start_fn *start;
    pgw_bh_reject_fn *reject;
    pgw_bh_abandon_fn *abandon;
    void *arg;
    int64_t deadline;            /* monotonic ms */
    int doomed;                  /* queue was full: reject on the timer */
    struct pgw__bh_item *next;
};

struct pgw__bh_chan {
    struct pgw_bulkhead *b;
    char name[32];
    struct pgw_bh_limits lim;
    int in_flight;
    int queued;                  /* waiting (not doomed) */
    uint64_t rejected_total;
    uint64_t started_total;
    double tokens;
    int64_t refilled_at;
    struct pgw__bh_item *head, *tail;   /* FIFO, doomed ones included */
    struct event *timer;
    struct pgw__bh_chan *next;
};

struct pgw_bulkhead {
    struct event_base *base;
    pgw_bh_clock_fn *clock;
    void *clock_arg;
    struct pgw__bh_chan *chans;
};


static int64_t
pgw__bh_mono(void *arg)
{
    struct timespec ts;

    (void) arg;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static int64_t
pgw__bh_now(struct pgw_bulkhead *b)
{
    return b->clock(b->clock_arg);
}


struct pgw_bulkhead *
pgw_bulkhead_new(struct event_base *base)
{
    struct pgw_bulkhead *b = calloc(1, sizeof(*b));

    if (b == NULL) {
        return NULL;
    }
    b->base = base;
    b->clock = pgw__bh_mono;
    return b;
}


void
pgw_bulkhead_set_clock(struct pgw_bulkhead *b, pgw_bh_clock_fn *fn, void *arg)
{
    b->clock = fn ? fn : pgw__bh_mono;
    b->clock_arg = arg;
}


void
pgw_bulkhead_free(struct pgw_bulkhead *b)
{
    struct pgw__bh_chan *c, *cn;
    struct pgw__bh_item *it, *in;

    if (b == NULL) {
        return;
    }
    for (c = b->chans; c; c = cn) {
        cn = c->next;
        for (it = c->head; it; it = in) {
            in = it->next;
            if (it->abandon) {
                it->abandon(it->arg);
            }
            free(it);
        }
        if (c->timer) {
            event_free(c->timer);
        }
        free(c);
    }
    free(b);
}


static void pgw__bh_fire(evutil_socket_t fd, short what, void *arg);


static struct pgw__bh_chan *
pgw__bh_chan(struct pgw_bulkhead *b, const char *name)
{
    struct pgw__bh_chan *c, **tail = &b->chans;

    for (c = b->chans; c; c = c->next) {
        if (strcmp(c->name, name) == 0) {
            return c;
        }
        tail = &c->next;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->b = b;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->timer = evtimer_new(b->base, pgw__bh_fire, c);
    if (c->timer == NULL) {
        free(c);
        return NULL;
    }
    c->refilled_at = pgw__bh_now(b);
    c->tokens = -1;              /* full on first use (limits known then) */
    *tail = c;
    return c;
}


static void
pgw__bh_refill(struct pgw__bh_chan *c, int64_t now)
{
    double burst = c->lim.qps > 0 ? (double) c->lim.qps : 0;

    if (c->lim.qps <= 0) {
        return;
    }
    if (c->tokens < 0) {
        c->tokens = burst;
    } else if (now > c->refilled_at) {
        c->tokens += (double) (now - c->refilled_at) * c->lim.qps / 1000.0;
        if (c->tokens > burst) {
            c->tokens = burst;
        }
    }
    c->refilled_at = now;
}


/* a slot and a token are free now */
static int
pgw__bh_can_start(struct pgw__bh_chan *c, int64_t now)
{
    if (c->lim.max_concurrency > 0 && c->in_flight >= c->lim.max_concurrency) {
        return 0;
    }
    pgw__bh_refill(c, now);
    return c->lim.qps <= 0 || c->tokens >= 1.0;
}


/* takes a slot and a token and starts; PGW_OK when under way */
static int
pgw__bh_start(struct pgw__bh_chan *c, pgw_bh_start_fn *start, void *arg)
{
    int rc;

    c->in_flight++;
    if (c->lim.qps > 0) {
        c->tokens -= 1.0;
    }
    c->started_total++;
    rc = start(arg);
    if (rc != PGW_OK) {
        c->in_flight--;
    }
    return rc;
}


static void
pgw__bh_arm(struct pgw__bh_chan *c, int64_t delay_ms)
{
    struct timeval tv;

    if (delay_ms < 0) {
        delay_ms = 0;
    }
    tv.tv_sec = (time_t) (delay_ms / 1000);
    tv.tv_usec = (suseconds_t) ((delay_ms % 1000) * 1000);
    evtimer_add(c->timer, &tv);
}


/* rejects doomed and expired waiters, starts what the caps allow in FIFO
 * order and re-arms the timer for whatever still waits */
static void
pgw__bh_pump(struct pgw__bh_chan *c)
{
    struct pgw_bulkhead *b = c->b;
    struct pgw__bh_item **pp, *it;
    int64_t now = pgw__bh_now(b), next = -1;
    char why[160];

    /* 1. rejections (FIFO among themselves) */
    for (pp = &c->head; (it = *pp) != NULL;) {
        if (!it->doomed && it->deadline > now) {
            pp = &it->next;
            continue;
        }
        *pp = it->next;
        if (c->tail == it) {
            c->tail = NULL;
            for (struct pgw__bh_item *t = c->head; t; t = t->next) {
                c->tail = t;
            }
        }
        if (!it->doomed) {
            c->queued--;
        }
        c->rejected_total++;
        if (it->doomed) {
            snprintf(why, sizeof(why),
                     "channel %s at its concurrency cap: queue full", c->name);
        } else {
            snprintf(why, sizeof(why),
                     "channel %s at its concurrency cap: waited %lld ms in"
                     " its queue", c->name, (long long) c->lim.queue_wait_ms);
        }
        pgw_bh_reject_fn *reject = it->reject;
        void *arg = it->arg;
        free(it);
        reject(arg, why);        /* may submit again: the list is consistent */
        pp = &c->head;           /* restart: the callee may have changed it */
    }
    /* 2. starts, oldest first */
    while (c->head != NULL && pgw__bh_can_start(c, now)) {
        it = c->head;
        c->head = it->next;
        if (c->head == NULL) {
            c->tail = NULL;
        }
        c->queued--;
        pgw_bh_start_fn *start = it->start;
        void *arg = it->arg;
        free(it);
        (void) pgw__bh_start(c, start, arg);   /* start answered its caller */
        now = pgw__bh_now(b);
    }
    /* 3. when to look again */
    if (c->head == NULL) {
        return;
    }
    next = c->head->deadline;
    for (it = c->head; it; it = it->next) {
        if (it->deadline < next) {
            next = it->deadline;
        }
    }
    if ((c->lim.max_concurrency <= 0 || c->in_flight < c->lim.max_concurrency)
        && c->lim.qps > 0 && c->tokens < 1.0) {
        int64_t tok = now + (int64_t) ((1.0 - c->tokens) * 1000.0 / c->lim.qps) + 1;
        if (tok < next) {
            next = tok;
        }
    }
    pgw__bh_arm(c, next - now);
}


static void
pgw__bh_fire(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    pgw__bh_pump(arg);
}


int
pgw_bulkhead_submit(struct pgw_bulkhead *b, const char *channel,
                    const struct pgw_bh_limits *lim, pgw_bh_start_fn *start,
                    pgw_bh_reject_fn *reject, pgw_bh_abandon_fn *abandon,
                    void *arg)
{
    struct pgw__bh_chan *c = pgw__bh_chan(b, channel);
    struct pgw__bh_item *it;
    int64_t now;

    if (c == NULL) {
        return PGW_ERR;
    }
    c->lim = *lim;
    now = pgw__bh_now(b);
    if (c->head == NULL && pgw__bh_can_start(c, now)) {
        return pgw__bh_start(c, start, arg);
    }
    it = calloc(1, sizeof(*it));
    if (it == NULL) {
        return PGW_ERR;
    }
    it->start = start;
    it->reject = reject;
    it->abandon = abandon;
    it->arg = arg;
    it->deadline = now + (lim->queue_wait_ms > 0 ? lim->queue_wait_ms : 0);
    if (c->queued >= lim->queue_max) {
        it->doomed = 1;
    } else {
        c->queued++;
    }
    if (c->tail) {
        c->tail->next = it;
    } else {
        c->head = it;
    }
    c->tail = it;
    if (it->doomed) {
        pgw__bh_arm(c, 0);
    } else if (!evtimer_pending(c->timer, NULL)) {
        pgw__bh_arm(c, 0);       /* the pump computes the real wake-up */
    }
    return PGW_OK;
}


void
pgw_bulkhead_release(struct pgw_bulkhead *b, const char *channel)
{
    struct pgw__bh_chan *c;

    for (c = b->chans; c; c = c->next) {
        if (strcmp(c->name, channel) == 0) {
            break;
        }
    }
    if (c == NULL) {
        return;
    }
    if (c->in_flight > 0) {
        c->in_flight--;
    }
    if (c->head != NULL) {
        pgw__bh_arm(c, 0);
    }
}


void
pgw_bulkhead_poke(struct pgw_bulkhead *b)
{
    for (struct pgw__bh_chan *c = b->chans; c; c = c->next) {
        pgw__bh_pump(c);
    }
}


int
pgw_bulkhead_stats(struct pgw_bulkhead *b,
                   void (*fn)(void *arg, const struct pgw_bh_stats *s),
                   void *arg)
{
    int n = 0;

    if (b == NULL) {
        return 0;
    }
    for (struct pgw__bh_chan *c = b->chans; c; c = c->next, n++) {
        struct pgw_bh_stats s = {
            .channel = c->name, .in_flight = c->in_flight, .queued = c->queued,
            .rejected_total = c->rejected_total,
            .started_total = c->started_total,
        };
        fn(arg, &s);
    }
    return n;
}
