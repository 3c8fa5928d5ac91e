
/*
 * ngx_http_paygw_limit.c: request rates and concurrency per app and API,
 * shared by all worker processes.
 *
 * Owns the directives "paygw_limit_zone <size>", "paygw_app_rate",
 * "paygw_api_rate" (RATE [burst=N] | off), "paygw_app_concurrency"
 * (N | off), the rate syntax shared with the apps file, and the shared
 * memory zone holding
 *   - rate buckets: GCRA (a leaky bucket) on CLOCK_MONOTONIC nanoseconds
 *     read per call, so a rate above 1000 r/s with no burst is not capped
 *     at one request per millisecond; kept in a red-black tree with an LRU
 *     queue from whose tail idle buckets are freed;
 *   - concurrency counters, one count per worker process slot and a total;
 *   - a process table of 64 slots {pid}, claimed by each worker at start.
 *
 * Invariants:
 *   - ngx_http_paygw_limit_acquire() decides and commits under one lock,
 *     all or nothing: a refused request advances no bucket and takes no
 *     concurrency unit;
 *   - a bucket stores its "theoretical arrival time" together with the
 *     emission interval it was computed with; a different rate (reload,
 *     app override) first rescales the backlog to the new interval and
 *     stores it, so the requests already in the bucket are kept and drain
 *     at the new rate from the first request that sees it on (a refusal
 *     commits no admission, but the rescaled state is the same state in
 *     new units);
 *   - a bucket is freed only when idle (no backlog): freeing it loses
 *     nothing, so a full zone never lets a request through unlimited;
 *   - a concurrency unit is released exactly once, by a cleanup on the
 *     main request's pool (client gone or not); a unit taken by a worker
 *     that died is reclaimed from its slot once its pid is gone;
 *     a counter node lives while its total is above zero;
 *   - "nginx -s reload" with an unchanged size keeps every bucket and
 *     counter (init_zone adopts the old zone); a changed size starts empty.
 *
 * A bucket is 32 bytes of rbtree node, 40 of header and its key: 128 bytes
 * after slab rounding for keys up to 56 bytes.  A counter is 512 bytes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <time.h>

#include "ngx_http_paygw_module.h"


#define NGX_HTTP_PAYGW_LIMIT_SLOTS        64
#define NGX_HTTP_PAYGW_LIMIT_NOSLOT       NGX_HTTP_PAYGW_LIMIT_SLOTS
#define NGX_HTTP_PAYGW_LIMIT_MAX          8      /* limits per acquire */
#define NGX_HTTP_PAYGW_LIMIT_EXPIRE_EACH  2
#define NGX_HTTP_PAYGW_LIMIT_EXPIRE_SCAN  256
#define NGX_HTTP_PAYGW_LIMIT_MAX_RATE     1000000
#define NGX_HTTP_PAYGW_LIMIT_MAX_BURST    1000000
#define NGX_HTTP_PAYGW_LIMIT_MAX_CONC     1000000
#define NGX_HTTP_PAYGW_LIMIT_RECLAIM_NS   100000000    /* 100 ms */

#define NGX_HTTP_PAYGW_NS                 1000000000LL


/* a rate bucket; overlays ngx_rbtree_node_t from its "color" field on */
typedef struct {
    u_char                       color;
    u_char                       pinned;   /* used by the running acquire */
    u_short                      len;
    uint32_t                     dummy;
    ngx_queue_t                  queue;    /* LRU, most recent at the head */
    int64_t                      tat;      /* theoretical arrival, mono ns */
    int64_t                      period;   /* emission interval of tat, ns */
    u_char                       data[1];  /* key */
} ngx_http_paygw_limit_bucket_t;


/* a concurrency counter; overlays ngx_rbtree_node_t likewise */
typedef struct {
    u_char                       color;
    u_char                       dummy;
    u_short                      len;
    uint32_t                     total;
    ngx_queue_t                  queue;    /* all counters, for reclaims */
    uint32_t                     counts[NGX_HTTP_PAYGW_LIMIT_SLOTS + 1];
    u_char                       data[1];  /* key */
} ngx_http_paygw_limit_conc_t;


typedef struct {
    ngx_rbtree_t                 buckets;
    ngx_rbtree_node_t            bsentinel;
    ngx_queue_t                  lru;

    ngx_rbtree_t                 counters;
    ngx_rbtree_node_t            csentinel;
    ngx_queue_t                  conc;

    ngx_pid_t                    pids[NGX_HTTP_PAYGW_LIMIT_SLOTS];
    int64_t                      reclaimed;  /* last dead-slot check, ns */
    time_t                       full_logged;
} ngx_http_paygw_limit_shctx_t;


typedef struct {
    ngx_http_paygw_limit_shctx_t  *sh;
    ngx_slab_pool_t               *shpool;
} ngx_http_paygw_limit_ctx_t;


typedef struct {
    ngx_shm_zone_t               *zone;
    ngx_http_paygw_limit_conc_t  *node;
    ngx_uint_t                    slot;
} ngx_http_paygw_limit_cleanup_t;


static ngx_int_t ngx_http_paygw_limit_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static int64_t ngx_http_paygw_limit_now(void);
static ngx_rbtree_node_t *ngx_http_paygw_limit_lookup(ngx_rbtree_t *tree,
    uint32_t hash, ngx_str_t *key, size_t off);
static void ngx_http_paygw_limit_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel, size_t off);
static void ngx_http_paygw_limit_bucket_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_paygw_limit_conc_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void *ngx_http_paygw_limit_alloc(ngx_http_paygw_limit_ctx_t *ctx,
    size_t size, int64_t now);
static ngx_uint_t ngx_http_paygw_limit_expire(ngx_http_paygw_limit_ctx_t *ctx,
    int64_t now, ngx_uint_t scan, ngx_uint_t stop);
static ngx_http_paygw_limit_bucket_t *ngx_http_paygw_limit_bucket(
    ngx_http_paygw_limit_ctx_t *ctx, ngx_str_t *key, int64_t now);
static void ngx_http_paygw_limit_conc_free(ngx_http_paygw_limit_ctx_t *ctx,
    ngx_http_paygw_limit_conc_t *cn);
static ngx_uint_t ngx_http_paygw_limit_reclaim(
    ngx_http_paygw_limit_ctx_t *ctx, ngx_uint_t starting, ngx_log_t *log);
static void ngx_http_paygw_limit_release(void *data);


#define ngx_http_paygw_limit_node(p)                                          \
    ((ngx_rbtree_node_t *)                                                    \
         ((u_char *) (p) - offsetof(ngx_rbtree_node_t, color)))

#define ngx_http_paygw_limit_bucket_off                                      \
    (offsetof(ngx_rbtree_node_t, color)                                      \
     + offsetof(ngx_http_paygw_limit_bucket_t, data))

#define ngx_http_paygw_limit_conc_off                                        \
    (offsetof(ngx_rbtree_node_t, color)                                      \
     + offsetof(ngx_http_paygw_limit_conc_t, data))


static ngx_str_t  ngx_http_paygw_limit_zone_name = ngx_string("paygw_limit");

/* this process's slot in the zone's process table */
static ngx_uint_t  ngx_http_paygw_limit_slot = NGX_HTTP_PAYGW_LIMIT_NOSLOT;


/* configuration */

char *
ngx_http_paygw_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_paygw_main_conf_t *pmcf = conf;

    return ngx_http_paygw_zone_add(cf, &ngx_http_paygw_limit_zone_name,
                                   sizeof(ngx_http_paygw_limit_ctx_t),
                                   ngx_http_paygw_limit_init_zone,
                                   &pmcf->limit_zone);
}


char *
ngx_http_paygw_rate_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_int_t               burst;
    ngx_str_t              *value, s;
    ngx_uint_t              rate;
    ngx_http_paygw_rate_t  *rt;

    rt = (ngx_http_paygw_rate_t *) (p + cmd->offset);

    if (rt->rate != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {

        if (cf->args->nelts > 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"off\" takes no burst");
            return NGX_CONF_ERROR;
        }

        rt->rate = 0;
        rt->burst = 0;
        return NGX_CONF_OK;
    }

    if (ngx_http_paygw_rate_parse(&value[1], &rate) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid rate \"%V\", expected Nr/s or Nr/m "
                           "with N from 1 to %d, or off",
                           &value[1], NGX_HTTP_PAYGW_LIMIT_MAX_RATE);
        return NGX_CONF_ERROR;
    }

    burst = 0;

    if (cf->args->nelts > 2) {

        if (ngx_strncmp(value[2].data, "burst=", 6) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\", expected burst=N",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        s.data = value[2].data + 6;
        s.len = value[2].len - 6;

        burst = ngx_atoi(s.data, s.len);

        if (burst == NGX_ERROR || burst > NGX_HTTP_PAYGW_LIMIT_MAX_BURST) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid burst \"%V\", expected 0 to %d",
                               &s, NGX_HTTP_PAYGW_LIMIT_MAX_BURST);
            return NGX_CONF_ERROR;
        }
    }

    rt->rate = rate;
    rt->burst = (ngx_uint_t) burst;

    return NGX_CONF_OK;
}


char *
ngx_http_paygw_concurrency(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_uint_t  *np;

    np = (ngx_uint_t *) (p + cmd->offset);

    if (*np != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        *np = 0;
        return NGX_CONF_OK;
    }

    n = ngx_atoi(value[1].data, value[1].len);

    if (n == NGX_ERROR || n < 1 || n > NGX_HTTP_PAYGW_LIMIT_MAX_CONC) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid concurrency \"%V\", expected 1 to %d "
                           "or off", &value[1], NGX_HTTP_PAYGW_LIMIT_MAX_CONC);
        return NGX_CONF_ERROR;
    }

    *np = (ngx_uint_t) n;

    return NGX_CONF_OK;
}


/* "Nr/s" or "Nr/m", N from 1 to 1000000: milli-requests per second */

ngx_int_t
ngx_http_paygw_rate_parse(ngx_str_t *value, ngx_uint_t *rate)
{
    size_t      len;
    ngx_int_t   n;
    ngx_uint_t  scale;

    len = value->len;

    if (len < 4 || value->data[len - 3] != 'r' || value->data[len - 2] != '/')
    {
        return NGX_ERROR;
    }

    switch (value->data[len - 1]) {

    case 's':
        scale = 1;
        break;

    case 'm':
        scale = 60;
        break;

    default:
        return NGX_ERROR;
    }

    n = ngx_atoi(value->data, len - 3);

    if (n == NGX_ERROR || n < 1 || n > NGX_HTTP_PAYGW_LIMIT_MAX_RATE) {
        return NGX_ERROR;
    }

    *rate = (ngx_uint_t) n * 1000 / scale;

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_limit_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_paygw_limit_ctx_t  *octx = data;

    size_t                       len;
    ngx_http_paygw_limit_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        /* reload, same size: buckets and counters carry on */
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    /* a reload that changed the size gets here too: the state is lost */

    ngx_http_paygw_zone_resized(shm_zone,
                                "rate buckets and concurrency counts "
                                "start empty");

    ctx->sh = ngx_slab_calloc(ctx->shpool,
                              sizeof(ngx_http_paygw_limit_shctx_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    ngx_rbtree_init(&ctx->sh->buckets, &ctx->sh->bsentinel,
                    ngx_http_paygw_limit_bucket_insert);
    ngx_queue_init(&ctx->sh->lru);

    ngx_rbtree_init(&ctx->sh->counters, &ctx->sh->csentinel,
                    ngx_http_paygw_limit_conc_insert);
    ngx_queue_init(&ctx->sh->conc);

    len = sizeof(" in paygw_limit_zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in paygw_limit_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is an expected, answered condition (NGX_DECLINED) */
    ctx->shpool->log_nomem = 0;

    return NGX_OK;
}


/* the process table */

ngx_int_t
ngx_http_paygw_limit_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_paygw_limit_ctx_t  *ctx;
    ngx_http_paygw_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_paygw_module);

    if (pmcf == NULL || pmcf->limit_zone == NULL) {
        return NGX_OK;
    }

    ctx = pmcf->limit_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    /* a respawned worker is often here because one died: settle its units */
    (void) ngx_http_paygw_limit_reclaim(ctx, 1, cycle->log);
    ctx->sh->reclaimed = ngx_http_paygw_limit_now();

    for (i = 0; i < NGX_HTTP_PAYGW_LIMIT_SLOTS; i++) {
        if (ctx->sh->pids[i] == 0) {
            break;
        }
    }

    if (i < NGX_HTTP_PAYGW_LIMIT_SLOTS) {
        ctx->sh->pids[i] = ngx_pid;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    if (i == NGX_HTTP_PAYGW_LIMIT_SLOTS) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "paygw_limit_zone: no free process slot, concurrency "
                      "units taken by this process are not reclaimed if "
                      "it dies");
    }

    ngx_http_paygw_limit_slot = i;

    return NGX_OK;
}


/*
 * Gives back the units held by slots whose process is gone (it cannot run
 * its pool cleanups any more) and frees those slots; "starting" is set in
 * a process that has no slot yet, when a slot bearing its own pid is stale.
 * Called with the mutex held; returns the number of units reclaimed.
 */

static ngx_uint_t
ngx_http_paygw_limit_reclaim(ngx_http_paygw_limit_ctx_t *ctx,
    ngx_uint_t starting, ngx_log_t *log)
{
    ngx_pid_t                     pid;
    ngx_uint_t                    i, n, total;
    ngx_queue_t                  *q, *next;
    ngx_http_paygw_limit_conc_t  *cn;

    total = 0;

    for (i = 0; i < NGX_HTTP_PAYGW_LIMIT_SLOTS; i++) {

        pid = ctx->sh->pids[i];

        if (pid == 0) {
            continue;
        }

        if (pid == ngx_pid) {
            if (!starting) {
                continue;
            }

            /* a dead predecessor had our pid: its units are not ours */

        } else if (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH) {
            continue;
        }

        n = 0;

        for (q = ngx_queue_head(&ctx->sh->conc);
             q != ngx_queue_sentinel(&ctx->sh->conc);
             q = next)
        {
            next = ngx_queue_next(q);
            cn = ngx_queue_data(q, ngx_http_paygw_limit_conc_t, queue);

            if (cn->counts[i] == 0) {
                continue;
            }

            n += cn->counts[i];
            cn->total -= cn->counts[i];
            cn->counts[i] = 0;

            if (cn->total == 0) {
                ngx_http_paygw_limit_conc_free(ctx, cn);
            }
        }

        ctx->sh->pids[i] = 0;

        if (n) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "paygw_limit_zone: reclaimed %ui concurrency "
                          "units of process %P, which is gone", n, pid);
        }

        total += n;
    }

    return total;
}


/* admission */

ngx_int_t
ngx_http_paygw_limit_acquire(ngx_http_request_t *r, ngx_shm_zone_t *zone,
    ngx_http_paygw_limit_t *limits, ngx_uint_t nlimits, ngx_str_t *conc_key,
    ngx_uint_t conc_max, ngx_msec_t *retry_after)
{
    size_t                           size;
    int64_t                          now, tat, period, wait, tol;
    int64_t                          tats[NGX_HTTP_PAYGW_LIMIT_MAX];
    int64_t                          periods[NGX_HTTP_PAYGW_LIMIT_MAX];
    uint32_t                         hash, count;
    ngx_int_t                        rc;
    ngx_uint_t                       i, j, n, warn;
    ngx_pool_cleanup_t              *cln;
    ngx_rbtree_node_t               *node;
    ngx_http_paygw_limit_ctx_t      *ctx;
    ngx_http_paygw_limit_conc_t     *cn;
    ngx_http_paygw_limit_bucket_t   *bn[NGX_HTTP_PAYGW_LIMIT_MAX];
    ngx_http_paygw_limit_cleanup_t  *lc;

    *retry_after = 0;

    if (zone == NULL || zone->data == NULL
        || nlimits > NGX_HTTP_PAYGW_LIMIT_MAX)
    {
        return NGX_ERROR;
    }

    ctx = zone->data;

    for (i = 0; i < nlimits; i++) {
        if (limits[i].key.len == 0 || limits[i].key.len > 1024) {
            return NGX_ERROR;
        }
    }

    cln = NULL;
    hash = 0;

    if (conc_max) {
        if (conc_key == NULL || conc_key->len == 0 || conc_key->len > 1024) {
            return NGX_ERROR;
        }

        /* taken before the lock; a cleanup with no handler does nothing */
        cln = ngx_pool_cleanup_add(r->main->pool,
                                   sizeof(ngx_http_paygw_limit_cleanup_t));
        if (cln == NULL) {
            return NGX_ERROR;
        }

        hash = ngx_crc32_short(conc_key->data, conc_key->len);
    }

    rc = NGX_OK;
    wait = 0;
    n = 0;
    cn = NULL;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    /* read under the lock: every worker sees time move forward */
    now = ngx_http_paygw_limit_now();

    /* decide the buckets */

    for (i = 0; i < nlimits; i++) {

        if (limits[i].rate == NULL || limits[i].rate->rate == 0
            || limits[i].rate->rate == NGX_CONF_UNSET_UINT)
        {
            continue;
        }

        bn[n] = ngx_http_paygw_limit_bucket(ctx, &limits[i].key, now);

        if (bn[n] == NULL) {
            rc = NGX_DECLINED;
            goto done;
        }

        bn[n]->pinned = 1;

        period = (int64_t) (1000 * NGX_HTTP_PAYGW_NS
                            / (int64_t) limits[i].rate->rate);
        if (period < 1) {
            period = 1;
        }

        /* the same bucket twice: carry on from the first decision */

        for (j = 0; j < n; j++) {
            if (bn[j] == bn[n]) {
                break;
            }
        }

        if (j < n) {
            tat = tats[j];
            if (periods[j] != period && tat > now) {
                tat = now + (int64_t) ((double) (tat - now) * period
                                       / periods[j]);
            }

        } else {
            if (bn[n]->period != period) {
                /*
                 * a new rate (reload, app override): the requests in the
                 * bucket drain at it from now on; stored even if this
                 * request is refused, it is the same state in new units
                 */

                if (bn[n]->period > 0 && bn[n]->tat > now) {
                    bn[n]->tat = now
                                 + (int64_t) ((double) (bn[n]->tat - now)
                                              * period / bn[n]->period);
                }

                bn[n]->period = period;
            }

            tat = bn[n]->tat;
        }

        if (tat < now) {
            tat = now;
        }

        tol = (int64_t) limits[i].rate->burst * period;

        if (tat - now > tol) {
            rc = NGX_BUSY;

            if (tat - now - tol > wait) {
                wait = tat - now - tol;
            }
        }

        tats[n] = tat + period;
        periods[n] = period;
        n++;
    }

    /* decide the concurrency */

    if (conc_max) {
        node = ngx_http_paygw_limit_lookup(&ctx->sh->counters, hash, conc_key,
                                           ngx_http_paygw_limit_conc_off);
        cn = node ? (ngx_http_paygw_limit_conc_t *) &node->color : NULL;
        count = cn ? cn->total : 0;

        if (count >= conc_max
            && now - ctx->sh->reclaimed >= NGX_HTTP_PAYGW_LIMIT_RECLAIM_NS)
        {
            /* perhaps units of a worker that died are in the way */

            ctx->sh->reclaimed = now;

            if (ngx_http_paygw_limit_reclaim(ctx, 0, r->connection->log)) {
                node = ngx_http_paygw_limit_lookup(&ctx->sh->counters, hash,
                                                conc_key,
                                                ngx_http_paygw_limit_conc_off);
                cn = node ? (ngx_http_paygw_limit_conc_t *) &node->color
                          : NULL;
                count = cn ? cn->total : 0;
            }
        }

        if (count >= conc_max) {
            rc = NGX_BUSY;

            if (wait < NGX_HTTP_PAYGW_NS) {
                wait = NGX_HTTP_PAYGW_NS;
            }
        }
    }

    if (rc != NGX_OK) {
        goto done;
    }

    /* admitted: the last thing that can fail is the counter's memory */

    if (conc_max && cn == NULL) {
        size = ngx_http_paygw_limit_conc_off + conc_key->len;

        node = ngx_http_paygw_limit_alloc(ctx, size, now);
        if (node == NULL) {
            rc = NGX_DECLINED;
            goto done;
        }

        ngx_memzero(node, size);

        node->key = hash;
        cn = (ngx_http_paygw_limit_conc_t *) &node->color;
        cn->len = (u_short) conc_key->len;
        ngx_memcpy(cn->data, conc_key->data, conc_key->len);

        ngx_rbtree_insert(&ctx->sh->counters, node);
        ngx_queue_insert_head(&ctx->sh->conc, &cn->queue);
    }

    /* commit */

    for (i = 0; i < n; i++) {
        bn[i]->tat = tats[i];
        bn[i]->period = periods[i];
    }

    if (conc_max) {
        cn->total++;
        cn->counts[ngx_http_paygw_limit_slot]++;

        lc = cln->data;
        lc->zone = zone;
        lc->node = cn;
        lc->slot = ngx_http_paygw_limit_slot;
        cln->handler = ngx_http_paygw_limit_release;
    }

done:

    for (i = 0; i < n; i++) {
        bn[i]->pinned = 0;
    }

    warn = 0;

    if (rc == NGX_DECLINED && ctx->sh->full_logged != ngx_time()) {
        ctx->sh->full_logged = ngx_time();
        warn = 1;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    if (warn) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "paygw_limit_zone \"%V\" is full, refusing requests",
                      &zone->shm.name);
    }

    if (rc == NGX_BUSY) {
        /* whole milliseconds, rounded up: never invite an early retry */
        *retry_after = (ngx_msec_t) ((wait + 999999) / 1000000);

        if (*retry_after == 0) {
            *retry_after = 1;
        }
    }

    return rc;
}


static void
ngx_http_paygw_limit_release(void *data)
{
    ngx_http_paygw_limit_cleanup_t  *lc = data;

    ngx_http_paygw_limit_ctx_t   *ctx;
    ngx_http_paygw_limit_conc_t  *cn;

    ctx = lc->zone->data;
    cn = lc->node;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (cn->counts[lc->slot] > 0) {
        cn->counts[lc->slot]--;
        cn->total--;

        if (cn->total == 0) {
            ngx_http_paygw_limit_conc_free(ctx, cn);
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/* finds or makes the bucket of a key; called with the mutex held */

static ngx_http_paygw_limit_bucket_t *
ngx_http_paygw_limit_bucket(ngx_http_paygw_limit_ctx_t *ctx, ngx_str_t *key,
    int64_t now)
{
    size_t                          size;
    uint32_t                        hash;
    ngx_rbtree_node_t              *node;
    ngx_http_paygw_limit_bucket_t  *bn;

    hash = ngx_crc32_short(key->data, key->len);

    node = ngx_http_paygw_limit_lookup(&ctx->sh->buckets, hash, key,
                                       ngx_http_paygw_limit_bucket_off);

    if (node) {
        bn = (ngx_http_paygw_limit_bucket_t *) &node->color;
        ngx_queue_remove(&bn->queue);
        ngx_queue_insert_head(&ctx->sh->lru, &bn->queue);
        return bn;
    }

    ngx_http_paygw_limit_expire(ctx, now, NGX_HTTP_PAYGW_LIMIT_EXPIRE_EACH, 1);

    size = ngx_http_paygw_limit_bucket_off + key->len;

    node = ngx_http_paygw_limit_alloc(ctx, size, now);
    if (node == NULL) {
        return NULL;
    }

    node->key = hash;

    bn = (ngx_http_paygw_limit_bucket_t *) &node->color;

    bn->pinned = 0;
    bn->len = (u_short) key->len;
    bn->dummy = 0;
    bn->tat = now;
    bn->period = 0;
    ngx_memcpy(bn->data, key->data, key->len);

    ngx_rbtree_insert(&ctx->sh->buckets, node);
    ngx_queue_insert_head(&ctx->sh->lru, &bn->queue);

    return bn;
}


/* slab memory, after freeing idle buckets if there is none */

static void *
ngx_http_paygw_limit_alloc(ngx_http_paygw_limit_ctx_t *ctx, size_t size,
    int64_t now)
{
    void  *p;

    p = ngx_slab_alloc_locked(ctx->shpool, size);

    if (p == NULL
        && ngx_http_paygw_limit_expire(ctx, now,
                                       NGX_HTTP_PAYGW_LIMIT_EXPIRE_SCAN, 0)
           > 0)
    {
        p = ngx_slab_alloc_locked(ctx->shpool, size);
    }

    return p;
}


/*
 * Frees idle buckets (no backlog: the same as no bucket at all) among the
 * "scan" least recently used; the per-insert pass ("stop" set) ends at the
 * first busy one.  Buckets in use by the running acquire are kept.
 */

static ngx_uint_t
ngx_http_paygw_limit_expire(ngx_http_paygw_limit_ctx_t *ctx, int64_t now,
    ngx_uint_t scan, ngx_uint_t stop)
{
    ngx_uint_t                      n, freed;
    ngx_queue_t                    *q, *prev;
    ngx_rbtree_node_t              *node;
    ngx_http_paygw_limit_bucket_t  *bn;

    freed = 0;
    q = ngx_queue_last(&ctx->sh->lru);

    for (n = 0; n < scan; n++) {

        if (q == ngx_queue_sentinel(&ctx->sh->lru)) {
            break;
        }

        prev = ngx_queue_prev(q);
        bn = ngx_queue_data(q, ngx_http_paygw_limit_bucket_t, queue);

        if (!bn->pinned && bn->tat <= now) {
            node = ngx_http_paygw_limit_node(bn);
            ngx_queue_remove(q);
            ngx_rbtree_delete(&ctx->sh->buckets, node);
            ngx_slab_free_locked(ctx->shpool, node);
            freed++;

        } else if (stop) {
            break;
        }

        q = prev;
    }

    return freed;
}


static void
ngx_http_paygw_limit_conc_free(ngx_http_paygw_limit_ctx_t *ctx,
    ngx_http_paygw_limit_conc_t *cn)
{
    ngx_rbtree_node_t  *node;

    node = ngx_http_paygw_limit_node(cn);

    ngx_queue_remove(&cn->queue);
    ngx_rbtree_delete(&ctx->sh->counters, node);
    ngx_slab_free_locked(ctx->shpool, node);
}


/* the trees: ordered by CRC32, then length, then the key bytes */

static ngx_rbtree_node_t *
ngx_http_paygw_limit_lookup(ngx_rbtree_t *tree, uint32_t hash, ngx_str_t *key,
    size_t off)
{
    ngx_int_t           rc;
    ngx_rbtree_node_t  *node, *sentinel;

    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        /* hash == node->key; len is at the same place in both node types */

        rc = (ngx_int_t) key->len
             - (ngx_int_t) ((ngx_http_paygw_limit_bucket_t *)
                                &node->color)->len;

        if (rc == 0) {
            rc = ngx_memcmp(key->data, (u_char *) node + off, key->len);
        }

        if (rc == 0) {
            return node;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_paygw_limit_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel, size_t off)
{
    size_t               len, tlen;
    ngx_int_t            rc;
    ngx_rbtree_node_t  **p;

    len = ((ngx_http_paygw_limit_bucket_t *) &node->color)->len;

    for ( ;; ) {

        if (node->key < temp->key) {

            p = &temp->left;

        } else if (node->key > temp->key) {

            p = &temp->right;

        } else { /* node->key == temp->key */

            tlen = ((ngx_http_paygw_limit_bucket_t *) &temp->color)->len;

            rc = (ngx_int_t) len - (ngx_int_t) tlen;

            if (rc == 0) {
                rc = ngx_memcmp((u_char *) node + off, (u_char *) temp + off,
                                len);
            }

            p = (rc < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static void
ngx_http_paygw_limit_bucket_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_http_paygw_limit_insert(temp, node, sentinel,
                                ngx_http_paygw_limit_bucket_off);
}


static void
ngx_http_paygw_limit_conc_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_http_paygw_limit_insert(temp, node, sentinel,
                                ngx_http_paygw_limit_conc_off);
}


static int64_t
ngx_http_paygw_limit_now(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * NGX_HTTP_PAYGW_NS + ts.tv_nsec;
}
