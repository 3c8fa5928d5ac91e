
/*
 * ngx_http_paygw_nonce.c: the replay store (SPEC 3.1, "nonce never seen
 * before inside that window, across all nginx workers").
 *
 * Owns the "paygw_nonce_zone <size>" directive and its shared memory zone:
 * a slab pool holding a chained hash table of (app_id, nonce) entries, each
 * remembered until a wall-clock expiry time the caller chooses (the request
 * timestamp plus the time window), and an insertion-ordered queue used to
 * reclaim expired entries from its tail.  The table has one bucket per
 * ~128 bytes of zone, fixed when the zone is created, so a lookup costs
 * one or two cache misses even with a million live nonces (a tree of that
 * size costs ~20).
 *
 * Invariants:
 *   - every lookup and insert runs under the slab pool's mutex, so "seen?"
 *     and "record" are one atomic step for all worker processes;
 *   - entries are compared on the full app_id and nonce bytes; the CRC32
 *     only picks the bucket and skips most comparisons;
 *   - an unexpired entry is never evicted: when there is no room the
 *     request is refused (NGX_BUSY), never let through;
 *   - an expired entry counts as absent and is replaced on lookup;
 *   - "nginx -s reload" with an unchanged size keeps the store (init_zone
 *     adopts the old zone's state); a changed size starts an empty store.
 *
 * An entry is 36 bytes of header and the key bytes: 64 bytes after slab
 * rounding for keys up to 28 bytes (a 16-byte nonce with an app id up to
 * 12 bytes), 128 bytes up to 92.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_paygw_module.h"


/* expired tail entries freed on every insert, and scanned when out of room */
#define NGX_HTTP_PAYGW_NONCE_EXPIRE_EACH   2
#define NGX_HTTP_PAYGW_NONCE_EXPIRE_SCAN   256


typedef struct ngx_http_paygw_nonce_node_s  ngx_http_paygw_nonce_node_t;

struct ngx_http_paygw_nonce_node_s {
    ngx_http_paygw_nonce_node_t *next;      /* bucket chain */
    ngx_queue_t                  queue;     /* newest at the head */
    uint32_t                     hash;
    uint32_t                     expires;   /* wall clock, seconds */
    u_char                       app_len;
    u_char                       nonce_len;
    u_char                       data[2];   /* app_id, then nonce */
};


typedef struct {
    ngx_http_paygw_nonce_node_t **buckets;
    ngx_uint_t                   mask;      /* buckets - 1, a power of 2 */
    ngx_queue_t                  queue;
    time_t                       full_logged;  /* last "store full" warning */
} ngx_http_paygw_nonce_shctx_t;


typedef struct {
    ngx_http_paygw_nonce_shctx_t  *sh;
    ngx_slab_pool_t               *shpool;
} ngx_http_paygw_nonce_ctx_t;


static ngx_int_t ngx_http_paygw_nonce_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_paygw_nonce_node_t *ngx_http_paygw_nonce_lookup(
    ngx_http_paygw_nonce_ctx_t *ctx, ngx_uint_t hash, ngx_str_t *app_id,
    ngx_str_t *nonce);
static ngx_uint_t ngx_http_paygw_nonce_expire(ngx_http_paygw_nonce_ctx_t *ctx,
    time_t now, ngx_uint_t scan, ngx_uint_t stop);
static void ngx_http_paygw_nonce_free(ngx_http_paygw_nonce_ctx_t *ctx,
    ngx_http_paygw_nonce_node_t *nn);


static ngx_str_t  ngx_http_paygw_nonce_zone_name = ngx_string("paygw_nonce");


char *
ngx_http_paygw_nonce_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_paygw_main_conf_t *pmcf = conf;

    return ngx_http_paygw_zone_add(cf, &ngx_http_paygw_nonce_zone_name,
                                   sizeof(ngx_http_paygw_nonce_ctx_t),
                                   ngx_http_paygw_nonce_init_zone,
                                   &pmcf->nonce_zone);
}


static ngx_int_t
ngx_http_paygw_nonce_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_paygw_nonce_ctx_t  *octx = data;

    size_t                       len;
    ngx_uint_t                   n;
    ngx_http_paygw_nonce_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        /* reload, same size: keep every recorded nonce */
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

    ngx_http_paygw_zone_resized(shm_zone, "the replay store starts empty");

    ctx->sh = ngx_slab_alloc(ctx->shpool,
                             sizeof(ngx_http_paygw_nonce_shctx_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    n = 1;

    while (n * 2 <= shm_zone->shm.size / 128) {
        n *= 2;
    }

    ctx->sh->buckets = ngx_slab_calloc(ctx->shpool,
                                      n * sizeof(ngx_http_paygw_nonce_node_t *));
    if (ctx->sh->buckets == NULL) {
        return NGX_ERROR;
    }

    ctx->sh->mask = n - 1;

    ngx_queue_init(&ctx->sh->queue);

    ctx->sh->full_logged = 0;

    len = sizeof(" in paygw_nonce_zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in paygw_nonce_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full store is an expected, answered condition (NGX_BUSY) */
    ctx->shpool->log_nomem = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_paygw_nonce_add(ngx_shm_zone_t *zone, ngx_str_t *app_id,
    ngx_str_t *nonce, time_t expires, ngx_log_t *log)
{
    size_t                         size;
    time_t                         now;
    uint32_t                       hash;
    ngx_uint_t                     warn;
    ngx_http_paygw_nonce_ctx_t    *ctx;
    ngx_http_paygw_nonce_node_t   *nn, **bucket;

    if (zone == NULL || zone->data == NULL
        || app_id->len == 0 || app_id->len > 255
        || nonce->len == 0 || nonce->len > 255)
    {
        return NGX_ERROR;
    }

    ctx = zone->data;
    now = ngx_time();

    if (expires <= now) {
        /* nothing to remember: the timestamp check rejects it anyway */
        expires = now + 1;
    }

    if ((uint64_t) expires > 0xffffffff) {
        expires = 0xffffffff;
    }

    ngx_crc32_init(hash);
    ngx_crc32_update(&hash, app_id->data, app_id->len);
    ngx_crc32_update(&hash, (u_char *) "\n", 1);
    ngx_crc32_update(&hash, nonce->data, nonce->len);
    ngx_crc32_final(hash);

    size = offsetof(ngx_http_paygw_nonce_node_t, data)
           + app_id->len + nonce->len;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    nn = ngx_http_paygw_nonce_lookup(ctx, hash, app_id, nonce);

    if (nn) {
        if ((time_t) nn->expires > now) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return NGX_DECLINED;
        }

        /* expired: as good as absent */
        ngx_http_paygw_nonce_free(ctx, nn);
    }

    ngx_http_paygw_nonce_expire(ctx, now,
                                NGX_HTTP_PAYGW_NONCE_EXPIRE_EACH, 1);

    nn = ngx_slab_alloc_locked(ctx->shpool, size);

    if (nn == NULL
        && ngx_http_paygw_nonce_expire(ctx, now,
                                       NGX_HTTP_PAYGW_NONCE_EXPIRE_SCAN, 0)
           > 0)
    {
        nn = ngx_slab_alloc_locked(ctx->shpool, size);
    }

    if (nn == NULL) {
        warn = (ctx->sh->full_logged != now);
        ctx->sh->full_logged = now;

        ngx_shmtx_unlock(&ctx->shpool->mutex);

        if (warn) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "paygw_nonce_zone \"%V\" is full of unexpired "
                          "nonces, refusing requests", &zone->shm.name);
        }

        return NGX_BUSY;
    }

    nn->hash = hash;
    nn->app_len = (u_char) app_id->len;
    nn->nonce_len = (u_char) nonce->len;
    nn->expires = (uint32_t) expires;
    ngx_memcpy(nn->data, app_id->data, app_id->len);
    ngx_memcpy(nn->data + app_id->len, nonce->data, nonce->len);

    bucket = &ctx->sh->buckets[hash & ctx->sh->mask];
    nn->next = *bucket;
    *bucket = nn;

    ngx_queue_insert_head(&ctx->sh->queue, &nn->queue);

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


static ngx_http_paygw_nonce_node_t *
ngx_http_paygw_nonce_lookup(ngx_http_paygw_nonce_ctx_t *ctx, ngx_uint_t hash,
    ngx_str_t *app_id, ngx_str_t *nonce)
{
    ngx_http_paygw_nonce_node_t  *nn;

    for (nn = ctx->sh->buckets[hash & ctx->sh->mask]; nn; nn = nn->next) {

        if (nn->hash == hash
            && nn->app_len == app_id->len
            && nn->nonce_len == nonce->len
            && ngx_memcmp(app_id->data, nn->data, app_id->len) == 0
            && ngx_memcmp(nonce->data, nn->data + nn->app_len, nonce->len)
               == 0)
        {
            return nn;
        }
    }

    return NULL;
}


/*
 * Frees expired entries among the "scan" oldest.  The per-insert pass
 * ("stop" set) ends at the first unexpired entry; the out-of-room pass
 * steps over unexpired ones, as expiry is not strictly monotonic in
 * insertion order (requests carry their own timestamps).  Returns the
 * number of entries freed.
 */

static ngx_uint_t
ngx_http_paygw_nonce_expire(ngx_http_paygw_nonce_ctx_t *ctx, time_t now,
    ngx_uint_t scan, ngx_uint_t stop)
{
    ngx_uint_t                    n, freed;
    ngx_queue_t                  *q, *prev;
    ngx_http_paygw_nonce_node_t  *nn;

    freed = 0;
    q = ngx_queue_last(&ctx->sh->queue);

    for (n = 0; n < scan; n++) {

        if (q == ngx_queue_sentinel(&ctx->sh->queue)) {
            break;
        }

        prev = ngx_queue_prev(q);
        nn = ngx_queue_data(q, ngx_http_paygw_nonce_node_t, queue);

        if ((time_t) nn->expires <= now) {
            ngx_http_paygw_nonce_free(ctx, nn);
            freed++;

        } else if (stop) {
            break;
        }

        q = prev;
    }

    return freed;
}


static void
ngx_http_paygw_nonce_free(ngx_http_paygw_nonce_ctx_t *ctx,
    ngx_http_paygw_nonce_node_t *nn)
{
    ngx_http_paygw_nonce_node_t  **p;

    for (p = &ctx->sh->buckets[nn->hash & ctx->sh->mask]; *p; p = &(*p)->next)
    {
        if (*p == nn) {
            *p = nn->next;
            break;
        }
    }

    ngx_queue_remove(&nn->queue);
    ngx_slab_free_locked(ctx->shpool, nn);
}
