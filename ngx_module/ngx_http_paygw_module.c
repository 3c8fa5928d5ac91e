
/*
 * ngx_http_paygw_module: module tables, configuration, the request context
 * and the $paygw_app_id variable.
 *
 * Directives (all merged down to locations):
 *   paygw_apps        <file>;        apps file, "app_id scheme secret" lines
 *   paygw_verify      on | off;      verify scheme-A signatures (off)
 *   paygw_time_window <time>;        accepted timestamp skew (300s)
 *   paygw_max_body    <size>;        largest request body verified (64k)
 *
 * "paygw_verify on" without apps in scope is a configuration error, so a
 * verifying location can never let an unsigned request through.
 */


#include "ngx_http_paygw_module.h"


static ngx_int_t ngx_http_paygw_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_paygw_init(ngx_conf_t *cf);
static void *ngx_http_paygw_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_paygw_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_paygw_apps(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_paygw_app_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void ngx_http_paygw_ctx_cleanup(void *data);


static ngx_conf_post_t  ngx_http_paygw_time_window_post;


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

      ngx_null_command
};


static ngx_http_module_t  ngx_http_paygw_module_ctx = {
    ngx_http_paygw_add_variables,          /* preconfiguration */
    ngx_http_paygw_init,                   /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

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
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_paygw_vars[] = {

    { ngx_string("paygw_app_id"), NULL, ngx_http_paygw_app_id_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

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
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

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

    conf->apps = NGX_CONF_UNSET_PTR;
    conf->verify = NGX_CONF_UNSET;
    conf->time_window = NGX_CONF_UNSET;
    conf->max_body = NGX_CONF_UNSET_SIZE;

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

    if (conf->verify && conf->apps == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"paygw_verify on\" needs \"paygw_apps\" "
                           "in the same or an enclosing block");
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
