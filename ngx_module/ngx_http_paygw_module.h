
/*
 * ngx_http_paygw_module: the front gateway of paygw.
 *
 * Concept: a caller request reaching a "paygw_verify on" location is let
 * through to the content phase only after its scheme-A signature (SPEC 3.1)
 * checked out against the app's secret; every response to a request whose
 * app is known is signed with that app's secret.
 *
 * Invariants:
 *   - an app's secret lives only in its HMAC key states (SHA-256 after
 *     key^ipad and key^opad) and the scheme B copy, both made at
 *     configuration time and wiped by a conf pool cleanup;
 *   - a request rejected by the module never reaches the content handler
 *     (nothing is forwarded upstream);
 *   - the request context survives internal redirects (error_page) through
 *     a request pool cleanup entry, so error pages are signed too.
 */


#ifndef _NGX_HTTP_PAYGW_MODULE_H_INCLUDED_
#define _NGX_HTTP_PAYGW_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>


#define NGX_HTTP_PAYGW_MAC_LEN           32
#define NGX_HTTP_PAYGW_MAC_B64_LEN       44
#define NGX_HTTP_PAYGW_NONCE_LEN         16
#define NGX_HTTP_PAYGW_MAX_APP_ID        64
#define NGX_HTTP_PAYGW_MAX_NONCE         64
#define NGX_HTTP_PAYGW_MAX_SIGNATURE     1024
#define NGX_HTTP_PAYGW_MAX_RESPONSE      (1024 * 1024)
#define NGX_HTTP_PAYGW_MAX_APPS_FILE     (4 * 1024 * 1024)


/* an app's key type (apps file, docs/apps-file.md) */
#define NGX_HTTP_PAYGW_KEY_HMAC          1    /* HMAC-SHA256 shared secret */
#define NGX_HTTP_PAYGW_KEY_RSA2          2    /* RSA public key, SHA256withRSA */

/* how a request was signed (SPEC 3.1) */
#define NGX_HTTP_PAYGW_SCHEME_A          1    /* Authorization header, JSON */
#define NGX_HTTP_PAYGW_SCHEME_B          2    /* form parameters, "sign" */

#define NGX_HTTP_PAYGW_MAX_APIS          16
#define NGX_HTTP_PAYGW_MAX_FIELDS        (3 + 2 + 4 * NGX_HTTP_PAYGW_MAX_APIS)
#define NGX_HTTP_PAYGW_MAX_API_NAME      48
#define NGX_HTTP_PAYGW_VOUCHER_LEN       31   /* "V" 17 time 3 node 7 pid 3 seq */


/* an HMAC-SHA256 key, as the two states HMAC starts from (hmac.c) */
typedef struct ngx_http_paygw_hmac_key_s  ngx_http_paygw_hmac_key_t;


/* a request rate: rate in milli-requests per second, 0 = no limit */
typedef struct {
    ngx_uint_t                   rate;
    ngx_uint_t                   burst;    /* requests beyond the rate */
} ngx_http_paygw_rate_t;


/* one rate-limited bucket a request must pass */
typedef struct {
    ngx_str_t                    key;      /* e.g. "a:A1", "p:A1:payments.get" */
    ngx_http_paygw_rate_t       *rate;
} ngx_http_paygw_limit_t;


/* an app's per-API rate override (apps file "rate.API=" / "burst.API=") */
typedef struct {
    ngx_str_t                    api;
    ngx_http_paygw_rate_t        rate;
} ngx_http_paygw_api_rate_t;


typedef struct {
    ngx_str_t                    id;
    ngx_uint_t                   key_type;
    ngx_http_paygw_hmac_key_t   *hmac;     /* HMAC apps: key states, wiped
                                              by the conf pool cleanup */
    ngx_str_t                    secret;   /* HMAC apps: for scheme B "&key=",
                                              wiped by the conf pool cleanup */
    EVP_PKEY                    *pkey;     /* RSA2 apps: public key, owned */

    ngx_uint_t                   all_apis;            /* apis=* */
    ngx_uint_t                   apis_set;
    ngx_str_t                    apis[NGX_HTTP_PAYGW_MAX_APIS];
    ngx_uint_t                   napis;

    ngx_http_paygw_rate_t        rate;         /* rate=/burst=; rate UNSET */
    ngx_uint_t                   rate_set;
    ngx_uint_t                   concurrency;  /* NGX_CONF_UNSET_UINT: none */
    ngx_http_paygw_api_rate_t    api_rates[NGX_HTTP_PAYGW_MAX_APIS];
    ngx_uint_t                   napi_rates;
} ngx_http_paygw_app_t;


typedef struct {
    ngx_str_t                    file;
    ngx_array_t                  apps;     /* ngx_http_paygw_app_t, by id */
} ngx_http_paygw_apps_t;


typedef struct {
    ngx_shm_zone_t              *nonce_zone;    /* paygw_nonce_zone */
    ngx_shm_zone_t              *limit_zone;    /* paygw_limit_zone */
    ngx_shm_zone_t              *metrics_zone;  /* always, small */
    ngx_uint_t                   node_id;       /* paygw_node_id 0-999 */
    EVP_PKEY                    *sign_key;      /* paygw_sign_key, owned */
} ngx_http_paygw_main_conf_t;


typedef struct {
    ngx_http_paygw_apps_t       *apps;
    ngx_flag_t                   verify;
    time_t                       time_window;
    size_t                       max_body;
    ngx_str_t                    api;             /* paygw_api */
    ngx_http_paygw_rate_t        app_rate;        /* paygw_app_rate */
    ngx_http_paygw_rate_t        api_rate;        /* paygw_api_rate */
    ngx_uint_t                   app_concurrency; /* paygw_app_concurrency */
    ngx_flag_t                   voucher;         /* paygw_voucher */
    ngx_flag_t                   local_voucher;   /* paygw_local_voucher */
    ngx_flag_t                   metrics;         /* paygw_metrics */
} ngx_http_paygw_loc_conf_t;


/* the parsed Authorization header; values borrow the header's memory */
typedef struct {
    ngx_uint_t                   key_type;
    ngx_str_t                    app_id;
    ngx_str_t                    timestamp;
    ngx_str_t                    nonce;
    ngx_str_t                    signature;
} ngx_http_paygw_auth_t;


typedef struct {
    ngx_http_paygw_app_t        *app;       /* borrowed from the loc conf */
    ngx_http_paygw_auth_t        auth;
    ngx_uint_t                   scheme;    /* NGX_HTTP_PAYGW_SCHEME_* */
    ngx_int_t                    phase_rc;  /* access handler re-entry */
    ngx_msec_t                   start;     /* for the latency metric */
    uint64_t                     start_us;  /* monotonic, for the metric */
    time_t                       ts;        /* the request's timestamp */
    ngx_str_t                    request_body;  /* as verified */

    ngx_str_t                    out_trade_no;  /* scheme B, local voucher */
    u_char                       voucher[NGX_HTTP_PAYGW_VOUCHER_LEN];

    u_char                      *body;      /* collected response body */
    size_t                       body_len;
    size_t                       body_cap;

    unsigned                     verified:1;
    unsigned                     hold:1;
    unsigned                     overflow:1;
    unsigned                     sent:1;
    unsigned                     minted:1;
    unsigned                     counted:1;
} ngx_http_paygw_ctx_t;


static ngx_inline uint64_t
ngx_http_paygw_now_us(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


/* ngx_http_paygw_module.c */
ngx_http_paygw_ctx_t *ngx_http_paygw_get_ctx(ngx_http_request_t *r);
ngx_http_paygw_ctx_t *ngx_http_paygw_create_ctx(ngx_http_request_t *r);
void ngx_http_paygw_zone_resized(ngx_shm_zone_t *shm_zone, const char *lost);
char *ngx_http_paygw_zone_add(ngx_conf_t *cf, ngx_str_t *name,
    size_t ctx_size, ngx_shm_zone_init_pt init, ngx_shm_zone_t **zone);

/* ngx_http_paygw_apps.c */
char *ngx_http_paygw_apps_load(ngx_conf_t *cf, ngx_str_t *file,
    ngx_http_paygw_apps_t **out);
ngx_http_paygw_app_t *ngx_http_paygw_apps_find(ngx_http_paygw_apps_t *apps,
    ngx_str_t *id);
ngx_int_t ngx_http_paygw_app_allows(ngx_http_paygw_app_t *app, ngx_str_t *api);

/* ngx_http_paygw_auth.c */
ngx_int_t ngx_http_paygw_auth_parse(ngx_str_t *header,
    ngx_http_paygw_auth_t *auth, const char **what);

/* ngx_http_paygw_form.c: scheme B */
#define NGX_HTTP_PAYGW_MAX_PARAMS  64

typedef struct {
    ngx_str_t                    name;      /* decoded */
    ngx_str_t                    value;     /* decoded */
    uint64_t                     key;       /* name prefix, for sorting */
} ngx_http_paygw_param_t;

/* a parsed form: parameters sorted by name, the well-known ones indexed */
typedef struct {
    ngx_http_paygw_param_t       param[NGX_HTTP_PAYGW_MAX_PARAMS];
    ngx_uint_t                   nelts;
    ngx_http_paygw_param_t      *app_id;
    ngx_http_paygw_param_t      *timestamp;
    ngx_http_paygw_param_t      *nonce_str;
    ngx_http_paygw_param_t      *sign_type;
    ngx_http_paygw_param_t      *sign;
    ngx_http_paygw_param_t      *out_trade_no;
} ngx_http_paygw_form_t;

ngx_int_t ngx_http_paygw_form_parse(ngx_pool_t *pool, ngx_str_t *body,
    ngx_http_paygw_form_t *form, const char **what);
ngx_int_t ngx_http_paygw_form_string_to_sign(ngx_pool_t *pool,
    ngx_http_paygw_form_t *form, ngx_str_t *out);

/* ngx_http_paygw_hmac.c */
ngx_int_t ngx_http_paygw_hmac_new_key(ngx_pool_t *pool, u_char *key,
    size_t len, ngx_http_paygw_hmac_key_t **out);
void ngx_http_paygw_hmac_free_key(ngx_http_paygw_hmac_key_t *hk);
ngx_int_t ngx_http_paygw_hmac_raw(ngx_http_paygw_app_t *app, ngx_str_t *parts,
    ngx_uint_t nparts, ngx_uint_t newlines, u_char *md);
ngx_int_t ngx_http_paygw_hmac_sign(ngx_http_paygw_app_t *app, ngx_str_t *parts,
    ngx_uint_t nparts, u_char *b64);
ngx_int_t ngx_http_paygw_nonce(u_char *hex);

/* ngx_http_paygw_rsa.c */
EVP_PKEY *ngx_http_paygw_rsa_load(ngx_conf_t *cf, ngx_str_t *file,
    ngx_uint_t private);
ngx_int_t ngx_http_paygw_rsa_verify(EVP_PKEY *pkey, ngx_str_t *parts,
    ngx_uint_t nparts, ngx_uint_t newlines, ngx_str_t *b64sig);
ngx_int_t ngx_http_paygw_rsa_sign(ngx_pool_t *pool, EVP_PKEY *pkey,
    ngx_str_t *parts, ngx_uint_t nparts, ngx_str_t *b64sig);

/* ngx_http_paygw_nonce.c: the replay store, shared by all workers */
char *ngx_http_paygw_nonce_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_paygw_nonce_add(ngx_shm_zone_t *zone, ngx_str_t *app_id,
    ngx_str_t *nonce, time_t expires, ngx_log_t *log);

/* ngx_http_paygw_limit.c: rates and concurrency, shared by all workers */
char *ngx_http_paygw_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_paygw_rate_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_paygw_concurrency(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_paygw_rate_parse(ngx_str_t *value, ngx_uint_t *rate);
ngx_int_t ngx_http_paygw_limit_acquire(ngx_http_request_t *r,
    ngx_shm_zone_t *zone, ngx_http_paygw_limit_t *limits, ngx_uint_t nlimits,
    ngx_str_t *conc_key, ngx_uint_t conc_max, ngx_msec_t *retry_after);
ngx_int_t ngx_http_paygw_limit_init_process(ngx_cycle_t *cycle);

/* ngx_http_paygw_voucher.c */
ngx_int_t ngx_http_paygw_voucher_mint(ngx_uint_t node_id, u_char *out);
ngx_int_t ngx_http_paygw_voucher_handler(ngx_http_request_t *r);

/* ngx_http_paygw_metrics.c */
ngx_int_t ngx_http_paygw_metrics_init_zone(ngx_conf_t *cf,
    ngx_http_paygw_main_conf_t *pmcf);
void ngx_http_paygw_metrics_count(ngx_http_request_t *r, const char *code);
void ngx_http_paygw_metrics_latency(ngx_http_request_t *r);
ngx_int_t ngx_http_paygw_metrics_handler(ngx_http_request_t *r);

/* ngx_http_paygw_access.c */
ngx_int_t ngx_http_paygw_access_handler(ngx_http_request_t *r);

/* ngx_http_paygw_error.c */
ngx_int_t ngx_http_paygw_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, u_char *message, size_t len);

/* ngx_http_paygw_sign_filter.c */
ngx_int_t ngx_http_paygw_sign_filter_init(ngx_conf_t *cf);
ngx_int_t ngx_http_paygw_sign_answer(ngx_http_request_t *r,
    ngx_http_paygw_ctx_t *ctx, u_char *body, size_t len);


extern ngx_module_t  ngx_http_paygw_module;


#endif /* _NGX_HTTP_PAYGW_MODULE_H_INCLUDED_ */
