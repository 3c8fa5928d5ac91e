
/*
 * ngx_http_paygw_module: the front gateway of paygw.
 *
 * Concept: a caller request reaching a "paygw_verify on" location is let
 * through to the content phase only after its scheme-A signature (SPEC 3.1)
 * checked out against the app's secret; every response to a request whose
 * app is known is signed with that app's secret.
 *
 * Invariants:
 *   - an app's secret lives only inside its keyed EVP_MAC_CTX template, which
 *     is created at configuration time and freed by a conf pool cleanup;
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


/* signature schemes; an app is registered for exactly one */
#define NGX_HTTP_PAYGW_SCHEME_HMAC_SHA256  1


typedef struct {
    ngx_str_t                    id;
    ngx_uint_t                   scheme;
    EVP_MAC_CTX                 *mac;      /* keyed HMAC template, owned */
} ngx_http_paygw_app_t;


typedef struct {
    ngx_str_t                    file;
    ngx_array_t                  apps;     /* ngx_http_paygw_app_t, by id */
} ngx_http_paygw_apps_t;


typedef struct {
    ngx_http_paygw_apps_t       *apps;
    ngx_flag_t                   verify;
    time_t                       time_window;
    size_t                       max_body;
} ngx_http_paygw_loc_conf_t;


/* the parsed Authorization header; values borrow the header's memory */
typedef struct {
    ngx_uint_t                   scheme;
    ngx_str_t                    app_id;
    ngx_str_t                    timestamp;
    ngx_str_t                    nonce;
    ngx_str_t                    signature;
} ngx_http_paygw_auth_t;


typedef struct {
    ngx_http_paygw_app_t        *app;       /* borrowed from the loc conf */
    ngx_http_paygw_auth_t        auth;
    ngx_int_t                    phase_rc;  /* access handler re-entry */

    u_char                      *body;      /* collected response body */
    size_t                       body_len;
    size_t                       body_cap;

    unsigned                     verified:1;
    unsigned                     hold:1;
    unsigned                     overflow:1;
    unsigned                     sent:1;
} ngx_http_paygw_ctx_t;


/* ngx_http_paygw_module.c */
ngx_http_paygw_ctx_t *ngx_http_paygw_get_ctx(ngx_http_request_t *r);
ngx_http_paygw_ctx_t *ngx_http_paygw_create_ctx(ngx_http_request_t *r);

/* ngx_http_paygw_apps.c */
char *ngx_http_paygw_apps_load(ngx_conf_t *cf, ngx_str_t *file,
    ngx_http_paygw_apps_t **out);
ngx_http_paygw_app_t *ngx_http_paygw_apps_find(ngx_http_paygw_apps_t *apps,
    ngx_str_t *id);

/* ngx_http_paygw_auth.c */
ngx_int_t ngx_http_paygw_auth_parse(ngx_str_t *header,
    ngx_http_paygw_auth_t *auth, const char **what);

/* ngx_http_paygw_hmac.c */
ngx_int_t ngx_http_paygw_hmac_new_key(u_char *key, size_t len,
    EVP_MAC_CTX **out);
ngx_int_t ngx_http_paygw_hmac_sign(ngx_http_paygw_app_t *app, ngx_str_t *parts,
    ngx_uint_t nparts, u_char *b64);
ngx_int_t ngx_http_paygw_nonce(u_char *hex);

/* ngx_http_paygw_access.c */
ngx_int_t ngx_http_paygw_access_handler(ngx_http_request_t *r);

/* ngx_http_paygw_error.c */
ngx_int_t ngx_http_paygw_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, u_char *message, size_t len);

/* ngx_http_paygw_sign_filter.c */
ngx_int_t ngx_http_paygw_sign_filter_init(ngx_conf_t *cf);


extern ngx_module_t  ngx_http_paygw_module;


#endif /* _NGX_HTTP_PAYGW_MODULE_H_INCLUDED_ */
