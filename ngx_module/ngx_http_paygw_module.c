
/*
 * ngx_http_paygw_module: module tables, configuration, the request context
 * and the $paygw_app_id variable.
 *
 * Directives (docs/front.md has the full list):
 *   http only:   paygw_nonce_zone <size>;   paygw_limit_zone <size>;
 *                paygw_node_id <0-999>;     paygw_sign_key <pem>;
 *   merged down: paygw_apps <file>;  paygw_verify on|off;
 *                paygw_time_window <time>;  paygw_max_body <size>;
 *                paygw_app_rate <rate> [burst=N]|off;
 *                paygw_api_rate <rate> [burst=N]|off;
 *                paygw_app_concurrency <n>|off;  paygw_voucher on|off;
 *   location:    paygw_api <name>;  paygw_local_voucher on|off;
 *                paygw_metrics;
 *
 * "paygw_verify on" without apps in scope, or without the nonce zone, is a
 * configuration error, so a verifying location can never let an unsigned
 * or replayable request through.
 */


#include "ngx_http_paygw_module.h"


static ngx_int_t ngx_http_paygw_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_paygw_init(ngx_conf_t *cf);
static void *ngx_http_paygw_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_paygw_init_main_conf(ngx_conf_t *cf, void *conf);
static ngx_int_t ngx_http_paygw_init_process(ngx_cycle_t *cycle);
static char *ngx_http_paygw_sign_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_paygw_local_voucher(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_paygw_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_paygw_pkey_cleanup(void *data);
static ngx_int_t ngx_http_paygw_check_loc(ngx_conf_t *cf,
    ngx_http_paygw_loc_conf_t *plcf);
static void *ngx_http_paygw_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_paygw_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_paygw_apps(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_paygw_app_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_paygw_voucher_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void ngx_http_paygw_ctx_cleanup(void *data);


static ngx_conf_post_t  ngx_http_paygw_time_window_post;

static ngx_conf_num_bounds_t  ngx_http_paygw_node_id_bounds = {
    ngx_conf_check_num_bounds, 0, 999
};


static ngx_command_t  ngx_http_paygw_commands[] = {

    { ngx_string("paygw_apps"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_paygw_apps,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("paygw_verify"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_paygw_loc_conf_t, verify),
      NULL },

    { ngx_string("paygw_time_window"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_paygw_loc_conf_t, time_window),
      &ngx_http_paygw_time_window_post },

    { ngx_string("paygw_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_paygw_loc_conf_t, max_body),
      NULL },

    { ngx_string("paygw_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_paygw_loc_conf_t, api),
      NULL },

    { ngx_string("paygw_nonce_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_paygw_nonce_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("paygw_limit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_paygw_limit_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("paygw_app_rate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_paygw_rate_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_paygw_loc_conf_t, app_rate),
      NULL },

    { ngx_string("paygw_api_rate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_paygw_rate_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_paygw_loc_conf_t, api_rate),
      NULL },

    { ngx_string("paygw_app_concurrency"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_paygw_concurrency,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_paygw_loc_conf_t, app_concurrency),
      NULL },

    { ngx_string("paygw_node_id"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_paygw_main_conf_t, node_id),
      &ngx_http_paygw_node_id_bounds },

    { ngx_string("paygw_sign_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_paygw_sign_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("paygw_voucher"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_paygw_loc_conf_t, voucher),
      NULL },

    { ngx_string("paygw_local_voucher"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_paygw_local_voucher,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_paygw_loc_conf_t, local_voucher),
      NULL },

    { ngx_string("paygw_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_paygw_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_paygw_module_ctx = {
    ngx_http_paygw_add_variables,          /* preconfiguration */
    ngx_http_paygw_init,                   /* postconfiguration */

    ngx_http_paygw_create_main_conf,       /* create main configuration */
    ngx_http_paygw_init_main_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_paygw_create_loc_conf,        /* create location configuration */
    ngx_http_paygw_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_paygw_module = {
    NGX_MODULE_V1,
    &ngx_http_paygw_module_ctx,            /* module context */
    ngx_http_paygw_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_paygw_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_paygw_vars[] = {

    { ngx_string("paygw_app_id"), NULL, ngx_http_paygw_app_id_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("paygw_voucher_id"), NULL,
      ngx_http_paygw_voucher_id_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static char *
ngx_http_paygw_check_time_window(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *sp = data;

    if (*sp <= 0) {
        return "must be positive";
    }

    return NGX_CONF_OK;
}


static ngx_conf_post_t  ngx_http_paygw_time_window_post = {
    ngx_http_paygw_check_time_window
};


/*
 * Returns the request's context (borrowed) or NULL.  An internal redirect
 * (error_page, named locations) zeroes r->ctx, so the context is found
 * again through the cleanup entry that ngx_http_paygw_create_ctx()
 * registered in the request pool.
 */

ngx_http_paygw_ctx_t *
ngx_http_paygw_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t    *cln;
    ngx_http_paygw_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_paygw_module);

    if (ctx != NULL || !r->internal) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_paygw_ctx_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_paygw_module);
            return ctx;
        }
    }

    return NULL;
}


/* Creates the request's context in r->pool (new, owned by the pool). */

ngx_http_paygw_ctx_t *
ngx_http_paygw_create_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t    *cln;
    ngx_http_paygw_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_paygw_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_paygw_ctx_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_paygw_module);

    return ctx;
}


/*
 * Runs when the request pool goes away: drops the borrowed app reference
 * and the collected response so nothing points into freed memory.
 */

static void
ngx_http_paygw_ctx_cleanup(void *data)
{
    ngx_http_paygw_ctx_t  *ctx = data;

    ctx->app = NULL;
    ctx->verified = 0;
    ctx->body = NULL;
    ctx->body_len = 0;
    ctx->body_cap = 0;
}


static ngx_int_t
ngx_http_paygw_app_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_paygw_ctx_t  *ctx;

    ctx = ngx_http_paygw_get_ctx(r->main);

    if (ctx == NULL || !ctx->verified || ctx->app == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = ctx->app->id.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = ctx->app->id.data;

    return NGX_OK;
}


/* the voucher id minted for this request; empty when there is none */

static ngx_int_t
ngx_http_paygw_voucher_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_paygw_ctx_t  *ctx;

    ctx = ngx_http_paygw_get_ctx(r->main);

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    if (ctx == NULL || !ctx->verified || !ctx->minted) {
        v->len = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    v->len = NGX_HTTP_PAYGW_VOUCHER_LEN;
    v->data = ctx->voucher;

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_paygw_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt         *h;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_paygw_main_conf_t  *pmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_paygw_module);

    if (ngx_http_paygw_metrics_init_zone(cf, pmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_paygw_access_handler;

    return ngx_http_paygw_sign_filter_init(cf);
}


static void *
ngx_http_paygw_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_paygw_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_paygw_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /* set by ngx_pcalloc(): api = { 0, NULL }, rate bursts = 0 */

    conf->apps = NGX_CONF_UNSET_PTR;
    conf->verify = NGX_CONF_UNSET;
    conf->time_window = NGX_CONF_UNSET;
    conf->max_body = NGX_CONF_UNSET_SIZE;
    conf->app_rate.rate = NGX_CONF_UNSET_UINT;
    conf->api_rate.rate = NGX_CONF_UNSET_UINT;
    conf->app_concurrency = NGX_CONF_UNSET_UINT;
    conf->voucher = NGX_CONF_UNSET;
    conf->local_voucher = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_paygw_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_paygw_loc_conf_t  *prev = parent;
    ngx_http_paygw_loc_conf_t  *conf = child;

    ngx_conf_merge_ptr_value(conf->apps, prev->apps, NULL);
    ngx_conf_merge_value(conf->verify, prev->verify, 0);
    ngx_conf_merge_sec_value(conf->time_window, prev->time_window, 300);
    ngx_conf_merge_size_value(conf->max_body, prev->max_body, 64 * 1024);
    ngx_conf_merge_value(conf->voucher, prev->voucher, 0);
    ngx_conf_merge_value(conf->local_voucher, prev->local_voucher, 0);
    ngx_conf_merge_uint_value(conf->app_concurrency, prev->app_concurrency, 0);

    if (conf->app_rate.rate == NGX_CONF_UNSET_UINT) {
        conf->app_rate = prev->app_rate;

        if (conf->app_rate.rate == NGX_CONF_UNSET_UINT) {
            conf->app_rate.rate = 0;
            conf->app_rate.burst = 0;
        }
    }

    if (conf->api_rate.rate == NGX_CONF_UNSET_UINT) {
        conf->api_rate = prev->api_rate;

        if (conf->api_rate.rate == NGX_CONF_UNSET_UINT) {
            conf->api_rate.rate = 0;
            conf->api_rate.burst = 0;
        }
    }

    if (conf->verify && conf->apps == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"paygw_verify on\" needs \"paygw_apps\" "
                           "in the same or an enclosing block");
        return NGX_CONF_ERROR;
    }

    if (conf->local_voucher && !conf->verify) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"paygw_local_voucher on\" needs "
                           "\"paygw_verify on\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_paygw_check_loc(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_paygw_apps(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_paygw_loc_conf_t *plcf = conf;

    ngx_str_t  *value;

    if (plcf->apps != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_paygw_apps_load(cf, &value[1], &plcf->apps);
}


static void *
ngx_http_paygw_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_paygw_main_conf_t  *pmcf;

    pmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_paygw_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     pmcf->nonce_zone = NULL;
     *     pmcf->limit_zone = NULL;
     *     pmcf->metrics_zone = NULL;
     *     pmcf->sign_key = NULL;
     */

    pmcf->node_id = NGX_CONF_UNSET_UINT;

    return pmcf;
}


static char *
ngx_http_paygw_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_paygw_main_conf_t  *pmcf = conf;

    ngx_conf_init_uint_value(pmcf->node_id, 0);

    return NGX_CONF_OK;
}


/*
 * Checks that a verifying location has the zones it needs; called while
 * merging, when the whole http{} block (whose zone directives may come
 * after the locations) has been read.
 */

static ngx_int_t
ngx_http_paygw_check_loc(ngx_conf_t *cf, ngx_http_paygw_loc_conf_t *plcf)
{
    ngx_uint_t                   i;
    ngx_http_paygw_app_t        *app;
    ngx_http_paygw_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_paygw_module);

    if (plcf->verify && pmcf->nonce_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"paygw_verify on\" needs \"paygw_nonce_zone\" "
                           "in the http block (replay protection)");
        return NGX_ERROR;
    }

    if (plcf->verify && pmcf->sign_key == NULL) {
        app = plcf->apps->apps.elts;

        for (i = 0; i < plcf->apps->apps.nelts; i++) {
            if (app[i].key_type == NGX_HTTP_PAYGW_KEY_RSA2) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "app \"%V\" in \"%V\" holds an RSA2 key: "
                                   "its responses are signed with the "
                                   "gateway key, so \"paygw_sign_key\" is "
                                   "required", &app[i].id,
                                   &plcf->apps->file);
                return NGX_ERROR;
            }
        }
    }

    if (plcf->verify && pmcf->limit_zone == NULL
        && (plcf->app_rate.rate || plcf->api_rate.rate
            || plcf->app_concurrency))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "paygw limits need \"paygw_limit_zone\" "
                           "in the http block");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_init_process(ngx_cycle_t *cycle)
{
    ngx_http_paygw_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_paygw_module);

    if (pmcf == NULL || pmcf->limit_zone == NULL) {
        return NGX_OK;
    }

    return ngx_http_paygw_limit_init_process(cycle);
}


/* paygw_sign_key <pem>: the gateway's RSA private key */

static char *
ngx_http_paygw_sign_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_paygw_main_conf_t *pmcf = conf;

    ngx_str_t           *value;
    ngx_pool_cleanup_t  *cln;

    if (pmcf->sign_key != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    pmcf->sign_key = ngx_http_paygw_rsa_load(cf, &value[1], 1);
    if (pmcf->sign_key == NULL) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_paygw_pkey_cleanup;
    cln->data = pmcf->sign_key;

    return NGX_CONF_OK;
}


static void
ngx_http_paygw_pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
}


/*
 * paygw_local_voucher on: the location answers a verified prepay itself
 * with 202 and a minted voucher, without the core.  Nothing is stored, so
 * this is for measuring and testing the front alone; the warning says so.
 */

static char *
ngx_http_paygw_local_voucher(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_paygw_loc_conf_t *plcf = conf;

    char                      *rv;
    ngx_http_core_loc_conf_t  *clcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (!plcf->local_voucher) {
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "paygw_local_voucher: prepays are answered without "
                       "the core and are NOT stored (front benchmarks and "
                       "tests only)");

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_paygw_voucher_handler;

    return NGX_CONF_OK;
}


/* paygw_metrics: the location serves the module's Prometheus metrics */

static char *
ngx_http_paygw_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_paygw_loc_conf_t *plcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (plcf->metrics) {
        return "is duplicate";
    }

    plcf->metrics = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_paygw_metrics_handler;

    return NGX_CONF_OK;
}


/*
 * Called by a zone's init when it creates fresh state: if the previous
 * cycle had this zone (a reload that changed its size), says so, since the
 * state it held is gone.
 */

void
ngx_http_paygw_zone_resized(ngx_shm_zone_t *shm_zone, const char *lost)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_shm_zone_t   *ozone;

    part = (ngx_list_part_t *) &ngx_cycle->shared_memory.part;
    ozone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return;
            }

            part = part->next;
            ozone = part->elts;
            i = 0;
        }

        if (ozone[i].tag == shm_zone->tag
            && ozone[i].shm.name.len == shm_zone->shm.name.len
            && ngx_strncmp(ozone[i].shm.name.data, shm_zone->shm.name.data,
                           shm_zone->shm.name.len)
               == 0)
        {
            ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                          "%V zone size changed from %uz to %uz: %s",
                          &shm_zone->shm.name, ozone[i].shm.size,
                          shm_zone->shm.size, lost);
            return;
        }
    }
}


/*
 * "paygw_*_zone <size>;": adds the shared memory zone "name" with a
 * ctx_size context from cf->pool; *zone receives it.  Sizes below 8 pages
 * (the slab allocator's minimum) are refused.
 */

char *
ngx_http_paygw_zone_add(ngx_conf_t *cf, ngx_str_t *name, size_t ctx_size,
    ngx_shm_zone_init_pt init, ngx_shm_zone_t **zone)
{
    void            *ctx;
    ssize_t          size;
    ngx_str_t       *value;
    ngx_shm_zone_t  *shm_zone;

    if (*zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small, at least %uzk",
                           &value[1], 8 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    ctx = ngx_pcalloc(cf->pool, ctx_size);
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    shm_zone = ngx_shared_memory_add(cf, name, size, &ngx_http_paygw_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        return "is duplicate";
    }

    shm_zone->init = init;
    shm_zone->data = ctx;

    *zone = shm_zone;

    return NGX_CONF_OK;
}
