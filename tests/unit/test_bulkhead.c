/*
 * test_bulkhead.c — the per-channel bulkhead: the concurrency cap, FIFO
 * order of the wait queue, queue full and wait timeout (rejected, never
 * started), QPS pacing on an injected clock, and channels never sharing
 * a cap or a queue.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>

#include "pgw_bulkhead.h"
#include "pgw_core.h"

struct env {
    struct event_base *base;
    struct pgw_bulkhead *b;
    int64_t now;
    int started[64];             /* ids in start order */
    int n_started;
    int rejected[64];
    char why[64][160];
    int n_rejected;
    int abandoned;
};

struct job {
    struct env *e;
    int id;
};

static struct job jobs[64];


static int64_t
fake_clock(void *arg)
{
    return ((struct env *) arg)->now;
}


static int
on_start(void *arg)
{
    struct job *j = arg;

    j->e->started[j->e->n_started++] = j->id;
    return PGW_OK;
}


static void
on_reject(void *arg, const char *why)
{
    struct job *j = arg;

    snprintf(j->e->why[j->e->n_rejected], sizeof(j->e->why[0]), "%s", why);
    j->e->rejected[j->e->n_rejected++] = j->id;
}


static void
on_abandon(void *arg)
{
    ((struct job *) arg)->e->abandoned++;
}


static void
run_loop(struct env *e)
{
    for (int i = 0; i < 3; i++) {
        event_base_loop(e->base, EVLOOP_NONBLOCK);
    }
}


static int
submit(struct env *e, const char *ch, const struct pgw_bh_limits *lim, int id)
{
    jobs[id].e = e;
    jobs[id].id = id;
    return pgw_bulkhead_submit(e->b, ch, lim, on_start, on_reject, on_abandon,
                               &jobs[id]);
}


static int
setup(void **state)
{
    static struct env e;

    memset(&e, 0, sizeof(e));
    e.base = event_base_new();
    e.b = pgw_bulkhead_new(e.base);
    e.now = 1000000;
    pgw_bulkhead_set_clock(e.b, fake_clock, &e);
    *state = &e;
    return 0;
}


static int
teardown(void **state)
{
    struct env *e = *state;

    pgw_bulkhead_free(e->b);
    event_base_free(e->base);
    return 0;
}


static void
test_cap_and_fifo(void **state)
{
    struct env *e = *state;
    struct pgw_bh_limits lim = { .max_concurrency = 2, .queue_max = 10,
                                 .queue_wait_ms = 5000 };

    for (int i = 0; i < 5; i++) {
        assert_int_equal(submit(e, "A", &lim, i), PGW_OK);
    }
    run_loop(e);
    assert_int_equal(e->n_started, 2);          /* the cap */
    pgw_bulkhead_release(e->b, "A");
    run_loop(e);
    assert_int_equal(e->n_started, 3);
    pgw_bulkhead_release(e->b, "A");
    pgw_bulkhead_release(e->b, "A");
    run_loop(e);
    assert_int_equal(e->n_started, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(e->started[i], i);     /* FIFO */
    }
    assert_int_equal(e->n_rejected, 0);
}


static void
test_queue_full(void **state)
{
    struct env *e = *state;
    struct pgw_bh_limits lim = { .max_concurrency = 1, .queue_max = 2,
                                 .queue_wait_ms = 5000 };

    for (int i = 0; i < 5; i++) {
        assert_int_equal(submit(e, "A", &lim, i), PGW_OK);
    }
    assert_int_equal(e->n_rejected, 0);         /* never from inside submit */
    run_loop(e);
    assert_int_equal(e->n_started, 1);
    assert_int_equal(e->n_rejected, 2);
    assert_int_equal(e->rejected[0], 3);
    assert_int_equal(e->rejected[1], 4);
    assert_string_equal(e->why[0], "channel A at its concurrency cap: queue full");
    /* the queued ones still start, in order, never the rejected ones */
    pgw_bulkhead_release(e->b, "A");
    run_loop(e);
    pgw_bulkhead_release(e->b, "A");
    run_loop(e);
    assert_int_equal(e->n_started, 3);
    assert_int_equal(e->started[1], 1);
    assert_int_equal(e->started[2], 2);
}


static void
test_wait_timeout(void **state)
{
    struct env *e = *state;
    struct pgw_bh_limits lim = { .max_concurrency = 1, .queue_max = 10,
                                 .queue_wait_ms = 200 };

    submit(e, "A", &lim, 0);
    submit(e, "A", &lim, 1);
    run_loop(e);
    e->now += 100;
    pgw_bulkhead_poke(e->b);
    assert_int_equal(e->n_rejected, 0);
    e->now += 150;
    pgw_bulkhead_poke(e->b);
    assert_int_equal(e->n_rejected, 1);
    assert_int_equal(e->rejected[0], 1);
    assert_non_null(strstr(e->why[0], "at its concurrency cap: waited 200 ms"));
    pgw_bulkhead_release(e->b, "A");
    run_loop(e);
    assert_int_equal(e->n_started, 1);          /* the expired one never starts */
}


static void
test_qps_pacing(void **state)
{
    struct env *e = *state;
    struct pgw_bh_limits lim = { .max_concurrency = 0, .qps = 10,
                                 .queue_max = 100, .queue_wait_ms = 60000 };

    for (int i = 0; i < 20; i++) {
        submit(e, "A", &lim, i);
    }
    run_loop(e);
    assert_int_equal(e->n_started, 10);         /* one second's burst */
    e->now += 50;
    pgw_bulkhead_poke(e->b);
    assert_int_equal(e->n_started, 10);         /* half a token */
    e->now += 50;
    pgw_bulkhead_poke(e->b);
    assert_int_equal(e->n_started, 11);
    e->now += 500;
    pgw_bulkhead_poke(e->b);
    assert_int_equal(e->n_started, 16);         /* 10 per second */
    for (int i = 0; i < 16; i++) {
        assert_int_equal(e->started[i], i);
    }
}


static void
test_channels_are_isolated(void **state)
{
    struct env *e = *state;
    struct pgw_bh_limits lim = { .max_concurrency = 1, .queue_max = 1,
                                 .queue_wait_ms = 5000 };

    submit(e, "A", &lim, 0);                    /* A: hung, holds its slot */
    submit(e, "A", &lim, 1);                    /* queued */
    submit(e, "A", &lim, 2);                    /* queue full */
    for (int i = 10; i < 20; i++) {             /* B: its own cap and queue */
        assert_int_equal(submit(e, "B", &lim, i), PGW_OK);
        run_loop(e);
        pgw_bulkhead_release(e->b, "B");
    }
    run_loop(e);
    assert_int_equal(e->n_started, 11);         /* A0 + all of B */
    assert_int_equal(e->n_rejected, 1);
    assert_int_equal(e->rejected[0], 2);
}


static void
stats_cb(void *arg, const struct pgw_bh_stats *s)
{
    struct pgw_bh_stats *out = arg;

    if (strcmp(s->channel, "A") == 0) {
        *out = *s;
    }
}


static void
test_stats_and_abandon(void **state)
{
    struct env *e = *state;
    struct pgw_bh_limits lim = { .max_concurrency = 1, .queue_max = 1,
                                 .queue_wait_ms = 5000 };
    struct pgw_bh_stats st;

    submit(e, "A", &lim, 0);
    submit(e, "A", &lim, 1);
    submit(e, "A", &lim, 2);
    run_loop(e);
    memset(&st, 0, sizeof(st));
    assert_int_equal(pgw_bulkhead_stats(e->b, stats_cb, &st), 1);
    assert_int_equal(st.in_flight, 1);
    assert_int_equal(st.queued, 1);
    assert_int_equal(st.rejected_total, 1);
    pgw_bulkhead_free(e->b);                    /* the waiting one: abandoned */
    assert_int_equal(e->abandoned, 1);
    e->b = pgw_bulkhead_new(e->base);           /* for teardown */
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cap_and_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qps_pacing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channels_are_isolated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stats_and_abandon, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
