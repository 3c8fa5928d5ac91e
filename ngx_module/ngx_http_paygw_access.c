
/*
 * Request admission in the access phase (SPEC 3.1, 3.2): signature, replay
 * protection, API permission and limits, then the voucher id of a prepay.
 *
 * Before the body is read (cheapest first):
 *   scheme A (Authorization header):
 *     header well formed                       401 SIGNATURE_INVALID
 *     app_id registered                        401 APP_UNKNOWN
 *     header scheme matches the app's key      401 SIGNATURE_INVALID
 *     timestamp within +-paygw_time_window     401 TIMESTAMP_EXPIRED
 *     POST/PUT/PATCH carry application/json    415 UNSUPPORTED_MEDIA_TYPE
 *   scheme B (no Authorization, a POST with an
 *     application/x-www-form-urlencoded body)
 *   either: Content-Length <= paygw_max_body   413 BODY_TOO_LARGE
 * after the whole body is in memory:
 *   scheme B: form well formed, app_id, sign_type, timestamp, nonce_str
 *             present (400/401 as above)
 *   the signature, compared in constant time   401 SIGNATURE_INVALID
 *   the app may call this location's paygw_api 403 API_NOT_ALLOWED
 *   the nonce was never seen in the window     401 NONCE_REPLAYED
 *                                              503 REPLAY_STORE_FULL
 *   the app's rates and concurrency admit it   429 RATE_LIMITED
 *                                              503 LIMIT_STORE_FULL
 * and a location with "paygw_voucher on" gets a voucher id for the core.
 *
 * The nonce is recorded only for a valid signature (a forged request
 * cannot burn a nonce), and limits count only authenticated requests that
 * are not replays (a forger cannot spend an app's quota).
 *
 * Invariants: a rejected request is finalized here and never reaches the
 * content phase; the body that was read stays in r->request_body, where the
 * proxy module picks it up unchanged; once the app is known ctx->app is
 * set, so every later response (errors included) is signed for it.
 */


#include "ngx_http_paygw_module.h"

#include <openssl/crypto.h>


typedef struct {
    ngx_uint_t     status;
    const char    *code;
    u_char         message[192];
    size_t         len;
    ngx_msec_t     retry_after;
} ngx_http_paygw_reject_t;


static ngx_int_t ngx_http_paygw_check_head(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_http_paygw_reject_t *rej);
static ngx_int_t ngx_http_paygw_check_app(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_uint_t key_type, ngx_http_paygw_reject_t *rej);
static ngx_int_t ngx_http_paygw_check_timestamp(
    ngx_http_paygw_loc_conf_t *plcf, ngx_str_t *value, time_t *ts,
    ngx_http_paygw_reject_t *rej);
static ngx_int_t ngx_http_paygw_check_body(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_http_paygw_reject_t *rej);
static ngx_int_t ngx_http_paygw_check_scheme_a(ngx_http_request_t *r,
    ngx_http_paygw_ctx_t *ctx, ngx_str_t *body,
    ngx_http_paygw_reject_t *rej);
static ngx_int_t ngx_http_paygw_check_scheme_b(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_str_t *body, ngx_http_paygw_reject_t *rej);
static ngx_int_t ngx_http_paygw_admit(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_http_paygw_reject_t *rej);
static ngx_int_t ngx_http_paygw_limit(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_http_paygw_reject_t *rej);
static ngx_int_t ngx_http_paygw_request_body(ngx_http_request_t *r,
    size_t max, ngx_str_t *body, ngx_uint_t *too_large);
static ngx_int_t ngx_http_paygw_media_is(ngx_http_request_t *r,
    ngx_str_t *type);
static void ngx_http_paygw_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_paygw_reject(ngx_http_request_t *r,
    ngx_http_paygw_reject_t *rej);
static void ngx_http_paygw_set_reject(ngx_http_paygw_reject_t *rej,
    ngx_uint_t status, const char *code, const char *fmt, ...);


/* a hex digit's value (either case) plus one; 0 for any other byte */
static const u_char  ngx_http_paygw_hex[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
    ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16
};


static ngx_str_t  ngx_http_paygw_json_type = ngx_string("application/json");
static ngx_str_t  ngx_http_paygw_form_type =
    ngx_string("application/x-www-form-urlencoded");


ngx_int_t
ngx_http_paygw_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_paygw_ctx_t       *ctx;
    ngx_http_paygw_reject_t     rej;
    ngx_http_paygw_loc_conf_t  *plcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_paygw_module);

    if (!plcf->verify) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_paygw_get_ctx(r);

    if (ctx != NULL) {
        /*
         * re-entry: after the body was read (phase_rc is NGX_OK), or after
         * an internal redirect of a request that was never verified
         */

        if (ctx->verified) {
            return NGX_OK;
        }

        return (ctx->phase_rc == NGX_OK) ? NGX_HTTP_FORBIDDEN
                                         : ctx->phase_rc;
    }

    ctx = ngx_http_paygw_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->phase_rc = NGX_HTTP_FORBIDDEN;
    ctx->counted = 1;
    ctx->start_us = ngx_http_paygw_now_us();

    rej.retry_after = 0;

    rc = ngx_http_paygw_check_head(r, plcf, ctx, &rej);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        rc = ngx_http_paygw_reject(r, &rej);
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    ctx->phase_rc = NGX_DONE;

    rc = ngx_http_read_client_request_body(r, ngx_http_paygw_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        ctx->phase_rc = NGX_HTTP_FORBIDDEN;
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}


/*
 * Called once the whole body is in r->request_body (possibly from inside
 * ngx_http_read_client_request_body()).  Either continues the phases or
 * answers the request.
 */

static void
ngx_http_paygw_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_paygw_ctx_t       *ctx;
    ngx_http_paygw_reject_t     rej;
    ngx_http_paygw_loc_conf_t  *plcf;

    ctx = ngx_http_paygw_get_ctx(r);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_paygw_module);

    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rej.retry_after = 0;

    rc = ngx_http_paygw_check_body(r, plcf, ctx, &rej);

    if (rc == NGX_OK) {
        rc = ngx_http_paygw_admit(r, plcf, ctx, &rej);
    }

    if (rc == NGX_OK) {
        ctx->verified = 1;
        ctx->phase_rc = NGX_OK;

        ngx_http_paygw_metrics_count(r, NULL);

        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);
        return;
    }

    ctx->phase_rc = NGX_HTTP_FORBIDDEN;

    if (rc == NGX_ERROR) {
        ngx_http_paygw_metrics_count(r, "INTERNAL_ERROR");
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_paygw_reject(r, &rej);
    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_paygw_check_head(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_http_paygw_reject_t *rej)
{
    time_t            ts;
    ngx_int_t         rc;
    const char       *what;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL || h->value.len == 0) {

        if (r->method == NGX_HTTP_POST
            && ngx_http_paygw_media_is(r, &ngx_http_paygw_form_type))
        {
            ctx->scheme = NGX_HTTP_PAYGW_SCHEME_B;
            goto length;
        }

        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "missing Authorization header (or a "
                                  "signed form body)");
        return NGX_DECLINED;
    }

    ctx->scheme = NGX_HTTP_PAYGW_SCHEME_A;

    what = NULL;

    if (ngx_http_paygw_auth_parse(&h->value, &ctx->auth, &what) != NGX_OK) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID", "%s", what);
        return NGX_DECLINED;
    }

    rc = ngx_http_paygw_check_app(r, plcf, ctx, ctx->auth.key_type, rej);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_paygw_check_timestamp(plcf, &ctx->auth.timestamp, &ts, rej);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx->ts = ts;

    if ((r->method & (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH))
        && !ngx_http_paygw_media_is(r, &ngx_http_paygw_json_type))
    {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                  "UNSUPPORTED_MEDIA_TYPE",
                                  "Content-Type must be application/json "
                                  "with an Authorization header");
        return NGX_DECLINED;
    }

length:

    if (r->headers_in.content_length_n > (off_t) plcf->max_body) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "BODY_TOO_LARGE",
                                  "request body is larger than %uz bytes",
                                  plcf->max_body);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* Finds the app and checks it holds the key the request was signed with. */

static ngx_int_t
ngx_http_paygw_check_app(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_uint_t key_type, ngx_http_paygw_reject_t *rej)
{
    ngx_http_paygw_app_t  *app;

    app = ngx_http_paygw_apps_find(plcf->apps, &ctx->auth.app_id);

    if (app == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "paygw: unknown app_id \"%V\"", &ctx->auth.app_id);
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED, "APP_UNKNOWN",
                                  "app_id is not registered");
        return NGX_DECLINED;
    }

    /* from here on, responses are signed for this app */

    ctx->app = app;

    if (app->key_type != key_type) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "the app is registered with a %s key",
                                  app->key_type == NGX_HTTP_PAYGW_KEY_RSA2
                                  ? "RSA2" : "HMAC-SHA256");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_check_timestamp(ngx_http_paygw_loc_conf_t *plcf,
    ngx_str_t *value, time_t *ts, ngx_http_paygw_reject_t *rej)
{
    time_t   t, now, skew;
    u_char  *p, *end;

    p = value->data;
    end = p + value->len;
    t = (p == end || end - p > 12) ? -1 : 0;

    for ( /* void */ ; t >= 0 && p < end; p++) {
        if (*p < '0' || *p > '9') {
            t = -1;
            break;
        }

        t = t * 10 + (*p - '0');
    }

    if (t < 0) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "timestamp is not a number of seconds "
                                  "since the epoch");
        return NGX_DECLINED;
    }

    now = ngx_time();
    skew = (t > now) ? t - now : now - t;

    if (skew > plcf->time_window) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "TIMESTAMP_EXPIRED",
                                  "timestamp is %T s away from the gateway "
                                  "clock (window %T s)",
                                  skew, plcf->time_window);
        return NGX_DECLINED;
    }

    *ts = t;

    return NGX_OK;
}


static ngx_int_t
ngx_http_paygw_check_body(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_http_paygw_reject_t *rej)
{
    ngx_str_t   body;
    ngx_uint_t  too_large;

    too_large = 0;

    if (ngx_http_paygw_request_body(r, plcf->max_body, &body, &too_large)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (too_large) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "BODY_TOO_LARGE",
                                  "request body is larger than %uz bytes",
                                  plcf->max_body);
        return NGX_DECLINED;
    }

    ctx->request_body = body;

    if (ctx->scheme == NGX_HTTP_PAYGW_SCHEME_B) {
        return ngx_http_paygw_check_scheme_b(r, plcf, ctx, &body, rej);
    }

    return ngx_http_paygw_check_scheme_a(r, ctx, &body, rej);
}


/*
 * Scheme A: base64 signature over METHOD\nPATH_AND_QUERY\nTS\nNONCE\nBODY\n,
 * HMAC-SHA256 with the app's secret or SHA256withRSA with its public key.
 */

static ngx_int_t
ngx_http_paygw_check_scheme_a(ngx_http_request_t *r,
    ngx_http_paygw_ctx_t *ctx, ngx_str_t *body, ngx_http_paygw_reject_t *rej)
{
    u_char     expect[NGX_HTTP_PAYGW_MAC_B64_LEN];
    ngx_int_t  rc;
    ngx_str_t  parts[5];

    parts[0] = r->method_name;
    parts[1] = r->unparsed_uri;
    parts[2] = ctx->auth.timestamp;
    parts[3] = ctx->auth.nonce;
    parts[4] = *body;

    if (ctx->app->key_type == NGX_HTTP_PAYGW_KEY_RSA2) {
        rc = ngx_http_paygw_rsa_verify(ctx->app->pkey, parts, 5, 1,
                                       &ctx->auth.signature);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

    } else {
        if (ngx_http_paygw_hmac_sign(ctx->app, parts, 5, expect) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "paygw: HMAC-SHA256 failed");
            return NGX_ERROR;
        }

        rc = (ctx->auth.signature.len == NGX_HTTP_PAYGW_MAC_B64_LEN
              && CRYPTO_memcmp(expect, ctx->auth.signature.data,
                               NGX_HTTP_PAYGW_MAC_B64_LEN) == 0)
             ? NGX_OK : NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "paygw: signature mismatch for app \"%V\"",
                      &ctx->app->id);
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "signature does not match the request");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Scheme B: the signature parameters come from the form itself.
 * HMAC-SHA256: sign = uppercase hex HMAC(secret, string_to_sign "&key="
 * secret); RSA2: sign = base64 SHA256withRSA(string_to_sign).
 */

static ngx_int_t
ngx_http_paygw_check_scheme_b(ngx_http_request_t *r,
    ngx_http_paygw_loc_conf_t *plcf, ngx_http_paygw_ctx_t *ctx,
    ngx_str_t *body, ngx_http_paygw_reject_t *rej)
{
    u_char                   md[NGX_HTTP_PAYGW_MAC_LEN];
    u_char                   got[NGX_HTTP_PAYGW_MAC_LEN];
    u_char                   hi, lo;
    time_t                   ts;
    ngx_int_t                rc;
    ngx_str_t                sts, parts[3];
    ngx_uint_t               i, bad, key_type;
    const char              *what;
    ngx_http_paygw_form_t    form;
    ngx_http_paygw_param_t  *app_id, *timestamp, *nonce, *sign_type, *sign;

    what = NULL;
    rc = ngx_http_paygw_form_parse(r->pool, body, &form, &what);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_BAD_REQUEST,
                                  "INVALID_PARAMETER", "%s", what);
        return NGX_DECLINED;
    }

    app_id = form.app_id;
    timestamp = form.timestamp;
    nonce = form.nonce_str;
    sign_type = form.sign_type;
    sign = form.sign;


    if (app_id == NULL || app_id->value.len == 0
        || app_id->value.len > NGX_HTTP_PAYGW_MAX_APP_ID)
    {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "form parameter app_id is missing");
        return NGX_DECLINED;
    }

    ctx->auth.app_id = app_id->value;

    if (sign_type == NULL) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "form parameter sign_type is missing");
        return NGX_DECLINED;
    }

    if (sign_type->value.len == sizeof("HMAC-SHA256") - 1
        && ngx_memcmp(sign_type->value.data, "HMAC-SHA256",
                      sizeof("HMAC-SHA256") - 1) == 0)
    {
        key_type = NGX_HTTP_PAYGW_KEY_HMAC;

    } else if (sign_type->value.len == sizeof("RSA2") - 1
               && ngx_memcmp(sign_type->value.data, "RSA2",
                             sizeof("RSA2") - 1) == 0)
    {
        key_type = NGX_HTTP_PAYGW_KEY_RSA2;

    } else {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "sign_type is neither HMAC-SHA256 nor RSA2");
        return NGX_DECLINED;
    }

    rc = ngx_http_paygw_check_app(r, plcf, ctx, key_type, rej);
    if (rc != NGX_OK) {
        return rc;
    }

    if (timestamp == NULL || nonce == NULL || nonce->value.len == 0
        || nonce->value.len > NGX_HTTP_PAYGW_MAX_NONCE
        || sign == NULL || sign->value.len == 0
        || sign->value.len > NGX_HTTP_PAYGW_MAX_SIGNATURE)
    {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "form parameters timestamp, nonce_str and "
                                  "sign (at most %d and %d bytes) are "
                                  "required", NGX_HTTP_PAYGW_MAX_NONCE,
                                  NGX_HTTP_PAYGW_MAX_SIGNATURE);
        return NGX_DECLINED;
    }

    rc = ngx_http_paygw_check_timestamp(plcf, &timestamp->value, &ts, rej);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx->ts = ts;
    ctx->auth.timestamp = timestamp->value;
    ctx->auth.nonce = nonce->value;
    ctx->auth.signature = sign->value;

    if (ngx_http_paygw_form_string_to_sign(r->pool, &form, &sts) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (key_type == NGX_HTTP_PAYGW_KEY_RSA2) {
        rc = ngx_http_paygw_rsa_verify(ctx->app->pkey, &sts, 1, 0,
                                       &ctx->auth.signature);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

    } else {
        parts[0] = sts;
        ngx_str_set(&parts[1], "&key=");
        parts[2] = ctx->app->secret;

        if (ngx_http_paygw_hmac_raw(ctx->app, parts, 3, 0, md) != NGX_OK) {
            return NGX_ERROR;
        }

        /*
         * the hex digits sent (either case) back to bytes, compared with
         * the MAC in constant time; whether the sign is 64 hex digits at
         * all depends only on what the client sent
         */

        bad = (ctx->auth.signature.len != 2 * sizeof(got));

        for (i = 0; !bad && i < sizeof(got); i++) {
            hi = (u_char) (ngx_http_paygw_hex[ctx->auth.signature.data[2 * i]]
                           - 1);
            lo = (u_char) (ngx_http_paygw_hex[
                               ctx->auth.signature.data[2 * i + 1]] - 1);

            bad = (hi | lo) & 0xf0;
            got[i] = (u_char) (hi << 4 | lo);
        }

        rc = (!bad && CRYPTO_memcmp(md, got, sizeof(got)) == 0)
             ? NGX_OK : NGX_DECLINED;

        ngx_explicit_memzero(md, sizeof(md));
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "paygw: form signature mismatch for app \"%V\"",
                      &ctx->app->id);
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "SIGNATURE_INVALID",
                                  "sign does not match the parameters");
        return NGX_DECLINED;
    }

    if (form.out_trade_no != NULL) {
        ctx->out_trade_no = form.out_trade_no->value;
    }

    return NGX_OK;
}


/*
 * An authenticated request: permission, replay, limits, voucher id.
 */

static ngx_int_t
ngx_http_paygw_admit(ngx_http_request_t *r, ngx_http_paygw_loc_conf_t *plcf,
    ngx_http_paygw_ctx_t *ctx, ngx_http_paygw_reject_t *rej)
{
    ngx_int_t                    rc;
    ngx_http_paygw_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_paygw_module);

    if (!ngx_http_paygw_app_allows(ctx->app, &plcf->api)) {
        ngx_http_paygw_set_reject(rej, NGX_HTTP_FORBIDDEN, "API_NOT_ALLOWED",
                                  "app \"%V\" may not call %s%V",
                                  &ctx->app->id,
                                  plcf->api.len ? "" : "this endpoint",
                                  &plcf->api);
        return NGX_DECLINED;
    }

    rc = ngx_http_paygw_nonce_add(pmcf->nonce_zone, &ctx->app->id,
                                  &ctx->auth.nonce,
                                  ctx->ts + plcf->time_window + 1,
                                  r->connection->log);

    switch (rc) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        ngx_http_paygw_set_reject(rej, NGX_HTTP_UNAUTHORIZED,
                                  "NONCE_REPLAYED",
                                  "nonce was already used within the "
                                  "timestamp window");
        return NGX_DECLINED;

    case NGX_BUSY:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "paygw: the nonce store is full of unexpired nonces; "
                      "enlarge paygw_nonce_zone");
        ngx_http_paygw_set_reject(rej, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "REPLAY_STORE_FULL",
                                  "replay protection is at capacity; "
                                  "retry later");
        return NGX_DECLINED;

    default:
        return NGX_ERROR;
    }

    rc = ngx_http_paygw_limit(r, plcf, ctx, rej);
    if (rc != NGX_OK) {
        return rc;
    }

    if (plcf->voucher && r->method == NGX_HTTP_POST) {
        if (ngx_http_paygw_voucher_mint(pmcf->node_id, ctx->voucher)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ctx->minted = 1;
    }

    return NGX_OK;
}


/* The app's rate, its rate on this API and its concurrency. */

static ngx_int_t
ngx_http_paygw_limit(ngx_http_request_t *r, ngx_http_paygw_loc_conf_t *plcf,
    ngx_http_paygw_ctx_t *ctx, ngx_http_paygw_reject_t *rej)
{
    u_char                      *p;
    ngx_int_t                    rc;
    ngx_str_t                    conc_key;
    ngx_uint_t                   i, n, conc;
    ngx_msec_t                   retry;
    ngx_http_paygw_app_t        *app;
    ngx_http_paygw_rate_t       *rate;
    ngx_http_paygw_limit_t       limits[2];
    ngx_http_paygw_main_conf_t  *pmcf;

    app = ctx->app;
    n = 0;

    rate = (app->rate.rate != NGX_CONF_UNSET_UINT) ? &app->rate
                                                   : &plcf->app_rate;

    if (rate->rate) {
        limits[n].rate = rate;
        limits[n].key.len = 2 + app->id.len;
        limits[n].key.data = ngx_pnalloc(r->pool, limits[n].key.len);
        if (limits[n].key.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(limits[n].key.data, "a:", 2);
        ngx_memcpy(p, app->id.data, app->id.len);
        n++;
    }

    if (plcf->api.len) {
        rate = &plcf->api_rate;

        for (i = 0; i < app->napi_rates; i++) {
            if (app->api_rates[i].api.len == plcf->api.len
                && ngx_strncmp(app->api_rates[i].api.data, plcf->api.data,
                               plcf->api.len) == 0)
            {
                rate = &app->api_rates[i].rate;
                break;
            }
        }

        if (rate->rate) {
            limits[n].rate = rate;
            limits[n].key.len = 3 + app->id.len + plcf->api.len;
            limits[n].key.data = ngx_pnalloc(r->pool, limits[n].key.len);
            if (limits[n].key.data == NULL) {
                return NGX_ERROR;
            }

            p = ngx_cpymem(limits[n].key.data, "p:", 2);
            p = ngx_cpymem(p, app->id.data, app->id.len);
            *p++ = ':';
            ngx_memcpy(p, plcf->api.data, plcf->api.len);
            n++;
        }
    }

    conc = (app->concurrency != NGX_CONF_UNSET_UINT) ? app->concurrency
                                                     : plcf->app_concurrency;

    if (n == 0 && conc == 0) {
        return NGX_OK;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_paygw_module);

    if (pmcf->limit_zone == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "paygw: app \"%V\" has limits in the apps file but "
                      "there is no paygw_limit_zone", &app->id);
        return NGX_ERROR;
    }

    conc_key.data = app->id.data;
    conc_key.len = app->id.len;
    retry = 0;

    rc = ngx_http_paygw_limit_acquire(r, pmcf->limit_zone, limits, n,
                                      &conc_key, conc, &retry);

    switch (rc) {

    case NGX_OK:
        return NGX_OK;

    case NGX_BUSY:
        rej->retry_after = retry;
        ngx_http_paygw_set_reject(rej, NGX_HTTP_TOO_MANY_REQUESTS,
                                  "RATE_LIMITED",
                                  "app \"%V\" is over its request limits",
                                  &app->id);
        return NGX_DECLINED;

    case NGX_DECLINED:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "paygw: the limit store is full; enlarge "
                      "paygw_limit_zone");
        ngx_http_paygw_set_reject(rej, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "LIMIT_STORE_FULL",
                                  "rate limiting is at capacity; retry later");
        return NGX_DECLINED;

    default:
        return NGX_ERROR;
    }
}


/* Sends the rejection (with Retry-After for 429) and counts it. */

static ngx_int_t
ngx_http_paygw_reject(ngx_http_request_t *r, ngx_http_paygw_reject_t *rej)
{
    ngx_uint_t        secs;
    ngx_table_elt_t  *h;

    ngx_http_paygw_metrics_count(r, rej->code);

    if (rej->status == NGX_HTTP_TOO_MANY_REQUESTS) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        secs = (rej->retry_after + 999) / 1000;
        if (secs == 0) {
            secs = 1;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        h->value.data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (h->value.data == NULL) {
            return NGX_ERROR;
        }

        h->value.len = ngx_sprintf(h->value.data, "%ui", secs)
                       - h->value.data;
    }

    return ngx_http_paygw_send_error(r, rej->status, rej->code, rej->message,
                                     rej->len);
}


/*
 * Makes the whole request body one contiguous string (borrowed from the
 * request pool, or from r->request_body itself when it is one memory
 * buffer).  Buffers written to the client body temp file are read back.
 * r->request_body->bufs is left untouched for the proxy module.
 */

static ngx_int_t
ngx_http_paygw_request_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body, ngx_uint_t *too_large)
{
    u_char       *p;
    off_t         total, size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        body->data = (u_char *) "";
        return NGX_OK;
    }

    total = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        total += ngx_buf_size(cl->buf);
    }

    if (total > (off_t) max) {
        *too_large = 1;
        return NGX_OK;
    }

    cl = r->request_body->bufs;
    b = cl->buf;

    if (cl->next == NULL && ngx_buf_in_memory(b)) {
        body->data = b->pos;
        body->len = b->last - b->pos;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) total + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for ( /* void */ ; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        if (!b->in_file || b->file == NULL) {
            continue;
        }

        size = b->file_last - b->file_pos;

        n = ngx_read_file(b->file, p, (size_t) size, b->file_pos);

        if (n == NGX_ERROR || n != (ssize_t) size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "paygw: cannot read the request body back from "
                          "\"%V\"", &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    body->len = p - body->data;

    return NGX_OK;
}


/* Content-Type is "type" (any case), optional parameters after ';' */

static ngx_int_t
ngx_http_paygw_media_is(ngx_http_request_t *r, ngx_str_t *type)
{
    u_char     *p, *end;
    ngx_str_t  *ct;

    if (r->headers_in.content_type == NULL) {
        return 0;
    }

    ct = &r->headers_in.content_type->value;
    p = ct->data;
    end = p + ct->len;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if ((size_t) (end - p) < type->len) {
        return 0;
    }

    /* as sent by nearly every client first, any case second */

    if (ngx_memcmp(p, type->data, type->len) != 0
        && ngx_strncasecmp(p, type->data, type->len) != 0)
    {
        return 0;
    }

    p += type->len;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    return (p == end || *p == ';');
}


static void
ngx_http_paygw_set_reject(ngx_http_paygw_reject_t *rej, ngx_uint_t status,
    const char *code, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    rej->status = status;
    rej->code = code;

    va_start(args, fmt);
    p = ngx_vslprintf(rej->message, rej->message + sizeof(rej->message), fmt,
                      args);
    va_end(args);

    rej->len = p - rej->message;
}
