
/*
 * The front's metrics, shared by all workers, served in the Prometheus text
 * format by a location with "paygw_metrics;":
 *
 *   paygw_front_accepted_total                 admitted requests
 *   paygw_front_rejected_total{code="..."}     rejected, by SPEC 3.2 code
 *   paygw_front_limited_total                  rejected by a rate or
 *                                              concurrency limit (429)
 *   paygw_front_request_duration_seconds       histogram, from the access
 *                                              phase to the log phase, of
 *                                              every request the module saw
 *
 * Counters are atomics in a small shared memory zone ("paygw_metrics"),
 * created whenever the module is loaded; a reload reuses it, so counters
 * only ever grow while the master lives.
 */


#include "ngx_http_paygw_module.h"


#define NGX_HTTP_PAYGW_METRICS_SIZE  (128 * 1024)


static const char  *ngx_http_paygw_codes[] = {
    "SIGNATURE_INVALID",
    "APP_UNKNOWN",
    "TIMESTAMP_EXPIRED",
    "NONCE_REPLAYED",
    "API_NOT_ALLOWED",
    "BODY_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "INVALID_PARAMETER",
    "RATE_LIMITED",
    "REPLAY_STORE_FULL",
    "LIMIT_STORE_FULL",
    "INTERNAL_ERROR",
    "OTHER",                            /* must stay last */
    NULL
};

#define NGX_HTTP_PAYGW_NCODES  13


/* histogram bounds in microseconds */
static const uint64_t  ngx_http_paygw_bounds[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000, 2500000, 5000000, 10000000
};

#define NGX_HTTP_PAYGW_NBOUNDS  16


/*
 * One set of counters per worker number, each on its own cache lines, so
 * that workers do not bounce a shared line on every request; the scrape
 * adds them up.  Adds stay atomic: during a reload an old and a new worker
 * may share a number.
 */

#define NGX_HTTP_PAYGW_METRICS_SLOTS  32

typedef struct {
    ngx_atomic_t    accepted;
    ngx_atomic_t    rejected[NGX_HTTP_PAYGW_NCODES];
    ngx_atomic_t    bucket[NGX_HTTP_PAYGW_NBOUNDS + 1];
    ngx_atomic_t    sum_us;
    ngx_atomic_t    count;
    u_char          pad[64];
} ngx_http_paygw_metrics_slot_t;

typedef struct {
    ngx_http_paygw_metrics_slot_t  slot[NGX_HTTP_PAYGW_METRICS_SLOTS];
} ngx_http_paygw_metrics_t;


static ngx_int_t ngx_http_paygw_metrics_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_paygw_metrics_log(ngx_http_request_t *r);


static ngx_http_paygw_metrics_t  *ngx_http_paygw_metrics_shm;


/* Adds the zone and the log phase handler (postconfiguration). */

ngx_int_t
ngx_http_paygw_metrics_init_zone(ngx_conf_t *cf,
    ngx_http_paygw_main_conf_t *pmcf)
{
    ngx_str_t                   name = ngx_string("paygw_metrics");
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    pmcf->metrics_zone = ngx_shared_memory_add(cf, &name,
                                               NGX_HTTP_PAYGW_METRICS_SIZE,
                                               &ngx_http_paygw_module);
    if (pmcf->metrics_zone == NULL) {
        return NGX_ERROR;
    }

    pmcf->metrics_zone->init = ngx_http_paygw_metrics_zone_init;
    pmcf->metrics_zone->noreuse = 0;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_paygw_metrics_log;

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_metrics_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    if (data) {
        shm_zone->data = data;
        ngx_http_paygw_metrics_shm = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        ngx_http_paygw_metrics_shm = shpool->data;
        return NGX_OK;
    }

    ngx_http_paygw_metrics_shm = ngx_slab_calloc(shpool,
                                            sizeof(ngx_http_paygw_metrics_t));
    if (ngx_http_paygw_metrics_shm == NULL) {
        return NGX_ERROR;
    }

    shpool->data = ngx_http_paygw_metrics_shm;
    shm_zone->data = ngx_http_paygw_metrics_shm;

    return NGX_OK;
}


/* Counts an admitted request (code NULL) or a rejection by its code. */

void
ngx_http_paygw_metrics_count(ngx_http_request_t *r, const char *code)
{
    ngx_uint_t                      i;
    ngx_http_paygw_metrics_slot_t  *m;

    if (ngx_http_paygw_metrics_shm == NULL) {
        return;
    }

    m = &ngx_http_paygw_metrics_shm->slot[ngx_worker
                                          % NGX_HTTP_PAYGW_METRICS_SLOTS];

    if (code == NULL) {
        (void) ngx_atomic_fetch_add(&m->accepted, 1);
        return;
    }

    for (i = 0; i < NGX_HTTP_PAYGW_NCODES - 1; i++) {
        if (ngx_strcmp(ngx_http_paygw_codes[i], code) == 0) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&m->rejected[i], 1);
}


/* The request's time inside nginx, for every request the module saw. */

static ngx_int_t
ngx_http_paygw_metrics_log(ngx_http_request_t *r)
{
    uint64_t                        us;
    ngx_uint_t                      i;
    ngx_http_paygw_ctx_t           *ctx;
    ngx_http_paygw_metrics_slot_t  *m;

    ctx = ngx_http_paygw_get_ctx(r);

    if (ngx_http_paygw_metrics_shm == NULL || ctx == NULL || !ctx->counted
        || ctx->start_us == 0)
    {
        return NGX_OK;
    }

    m = &ngx_http_paygw_metrics_shm->slot[ngx_worker
                                          % NGX_HTTP_PAYGW_METRICS_SLOTS];

    us = ngx_http_paygw_now_us() - ctx->start_us;
    ctx->start_us = 0;

    for (i = 0; i < NGX_HTTP_PAYGW_NBOUNDS; i++) {
        if (us <= ngx_http_paygw_bounds[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&m->bucket[i], 1);
    (void) ngx_atomic_fetch_add(&m->sum_us, (ngx_atomic_int_t) us);
    (void) ngx_atomic_fetch_add(&m->count, 1);

    return NGX_OK;
}


/* content handler of "paygw_metrics" */

ngx_int_t
ngx_http_paygw_metrics_handler(ngx_http_request_t *r)
{
    u_char                         *p;
    ngx_int_t                       rc;
    ngx_buf_t                      *b;
    ngx_uint_t                      i, j, limited;
    ngx_chain_t                     out;
    ngx_atomic_uint_t               cum;
    ngx_http_paygw_metrics_slot_t   sum, *m;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_paygw_metrics_shm == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ngx_memzero(&sum, sizeof(sum));

    for (j = 0; j < NGX_HTTP_PAYGW_METRICS_SLOTS; j++) {
        m = &ngx_http_paygw_metrics_shm->slot[j];

        sum.accepted += m->accepted;
        sum.sum_us += m->sum_us;
        sum.count += m->count;

        for (i = 0; i < NGX_HTTP_PAYGW_NCODES; i++) {
            sum.rejected[i] += m->rejected[i];
        }

        for (i = 0; i <= NGX_HTTP_PAYGW_NBOUNDS; i++) {
            sum.bucket[i] += m->bucket[i];
        }
    }

    m = &sum;

    b = ngx_create_temp_buf(r->pool, 8192);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;

    p = ngx_sprintf(p, "# HELP paygw_front_accepted_total Requests the front "
                       "admitted (signature, replay and limits passed).\n"
                       "# TYPE paygw_front_accepted_total counter\n"
                       "paygw_front_accepted_total %uA\n", m->accepted);

    p = ngx_sprintf(p, "# HELP paygw_front_rejected_total Requests the front "
                       "rejected, by error code.\n"
                       "# TYPE paygw_front_rejected_total counter\n");

    limited = 0;

    for (i = 0; i < NGX_HTTP_PAYGW_NCODES; i++) {
        p = ngx_sprintf(p, "paygw_front_rejected_total{code=\"%s\"} %uA\n",
                        ngx_http_paygw_codes[i], m->rejected[i]);

        if (ngx_strcmp(ngx_http_paygw_codes[i], "RATE_LIMITED") == 0) {
            limited = m->rejected[i];
        }
    }

    p = ngx_sprintf(p, "# HELP paygw_front_limited_total Requests refused by "
                       "a rate or concurrency limit.\n"
                       "# TYPE paygw_front_limited_total counter\n"
                       "paygw_front_limited_total %ui\n", limited);

    p = ngx_sprintf(p, "# HELP paygw_front_request_duration_seconds Time "
                       "from admission checks to the end of the request.\n"
                       "# TYPE paygw_front_request_duration_seconds "
                       "histogram\n");

    cum = 0;

    for (i = 0; i < NGX_HTTP_PAYGW_NBOUNDS; i++) {
        cum += m->bucket[i];
        p = ngx_sprintf(p, "paygw_front_request_duration_seconds_bucket"
                           "{le=\"%uL.%06uL\"} %uA\n",
                        ngx_http_paygw_bounds[i] / 1000000,
                        ngx_http_paygw_bounds[i] % 1000000, cum);
    }

    cum += m->bucket[NGX_HTTP_PAYGW_NBOUNDS];

    p = ngx_sprintf(p, "paygw_front_request_duration_seconds_bucket"
                       "{le=\"+Inf\"} %uA\n"
                       "paygw_front_request_duration_seconds_sum "
                       "%uA.%06uA\n"
                       "paygw_front_request_duration_seconds_count %uA\n",
                    cum, m->sum_us / 1000000, m->sum_us % 1000000, m->count);

    b->last = p;
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
