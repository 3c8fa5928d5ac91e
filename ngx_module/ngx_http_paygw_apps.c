
/*
 * The apps file (docs/apps-file.md), read at configuration time:
 *
 *     # app_id  key_type     key                 options...
 *     A1        HMAC-SHA256  9f2c41d07be35a86    apis=* rate=200r/s burst=50
 *     A2        RSA2         keys/a2_public.pem  concurrency=20
 *
 * One app per line, fields separated by blanks; '#' starts a comment that
 * runs to the end of the line (so a secret cannot contain '#').  An HMAC
 * secret is the literal key, 16 to 255 bytes; an RSA2 key is a PEM public
 * key path, relative to this file's directory.  paygwd and paygwctl read
 * the same file with the same rules.  Any malformed line fails the
 * configuration (so "nginx -t" and "nginx -s reload" exit non-zero) with
 * "<file>:<line>: <what is wrong>".
 *
 * Invariants: the loaded set is sorted by app_id and free of duplicates;
 * the file's bytes are wiped from memory once loaded; keys, HMAC states and
 * the scheme B secret copies are freed (wiped) by a cleanup on the
 * configuration pool.
 */


#include "ngx_http_paygw_module.h"

#include <openssl/crypto.h>


static char *ngx_http_paygw_apps_parse(ngx_conf_t *cf,
    ngx_http_paygw_apps_t *apps, u_char *p, u_char *end);
static char *ngx_http_paygw_apps_line(ngx_conf_t *cf,
    ngx_http_paygw_apps_t *apps, ngx_uint_t line, ngx_str_t *field,
    ngx_uint_t n);
static ngx_int_t ngx_http_paygw_apps_key_path(ngx_conf_t *cf,
    ngx_http_paygw_apps_t *apps, ngx_str_t *key, ngx_str_t *path);
static ngx_int_t ngx_http_paygw_apps_option(ngx_conf_t *cf,
    ngx_http_paygw_apps_t *apps, ngx_uint_t line, ngx_http_paygw_app_t *app,
    ngx_str_t *opt);
static ngx_int_t ngx_http_paygw_apps_rate(ngx_conf_t *cf,
    ngx_http_paygw_apps_t *apps, ngx_uint_t line, ngx_http_paygw_rate_t *rate,
    ngx_uint_t rate_opt, ngx_str_t *value);
static ngx_int_t ngx_http_paygw_apps_rates(ngx_conf_t *cf,
    ngx_http_paygw_apps_t *apps, ngx_uint_t line, ngx_http_paygw_rate_t *rate,
    ngx_str_t *api);
static ngx_int_t ngx_http_paygw_app_id_valid(ngx_str_t *id);


static ngx_str_t  ngx_http_paygw_empty = ngx_null_string;
static int ngx_http_paygw_app_cmp(const void *one, const void *two);
static void ngx_http_paygw_apps_cleanup(void *data);


/*
 * Loads "file" (relative names are taken from the configuration prefix)
 * into a new set allocated from cf->pool; *out receives it.
 */

char *
ngx_http_paygw_apps_load(ngx_conf_t *cf, ngx_str_t *file,
    ngx_http_paygw_apps_t **out)
{
    char                   *rv;
    u_char                 *buf;
    size_t                  size;
    ssize_t                 n;
    ngx_fd_t                fd;
    ngx_file_t              f;
    ngx_file_info_t         fi;
    ngx_pool_cleanup_t     *cln;
    ngx_http_paygw_apps_t  *apps;

    apps = ngx_pcalloc(cf->pool, sizeof(ngx_http_paygw_apps_t));
    if (apps == NULL) {
        return NGX_CONF_ERROR;
    }

    apps->file = *file;

    if (ngx_conf_full_name(cf->cycle, &apps->file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_array_init(&apps->apps, cf->pool, 8, sizeof(ngx_http_paygw_app_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_paygw_apps_cleanup;
    cln->data = apps;

    fd = ngx_open_file(apps->file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &apps->file);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&f, sizeof(ngx_file_t));
    f.fd = fd;
    f.name = apps->file;
    f.log = cf->log;

    rv = NGX_CONF_ERROR;
    buf = NULL;
    size = 0;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &apps->file);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_PAYGW_MAX_APPS_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: file is larger than %d bytes",
                           &apps->file, NGX_HTTP_PAYGW_MAX_APPS_FILE);
        goto done;
    }

    size = (size_t) ngx_file_size(&fi);

    buf = ngx_pnalloc(cf->temp_pool, size + 1);
    if (buf == NULL) {
        goto done;
    }

    n = ngx_read_file(&f, buf, size, 0);
    if (n == NGX_ERROR) {
        goto done;
    }

    if ((size_t) n != size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: read %z of %uz bytes", &apps->file, n, size);
        goto done;
    }

    rv = ngx_http_paygw_apps_parse(cf, apps, buf, buf + size);

    if (rv == NGX_CONF_OK) {
        ngx_qsort(apps->apps.elts, apps->apps.nelts,
                  sizeof(ngx_http_paygw_app_t), ngx_http_paygw_app_cmp);
        *out = apps;
    }

done:

    if (buf != NULL) {
        OPENSSL_cleanse(buf, size);
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &apps->file);
    }

    return rv;
}


/* Returns the app registered as "id" (borrowed) or NULL. */

ngx_http_paygw_app_t *
ngx_http_paygw_apps_find(ngx_http_paygw_apps_t *apps, ngx_str_t *id)
{
    ngx_int_t              c;
    ngx_uint_t             lo, hi, mid;
    ngx_http_paygw_app_t  *app;

    app = apps->apps.elts;
    lo = 0;
    hi = apps->apps.nelts;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        c = ngx_memn2cmp(id->data, app[mid].id.data, id->len, app[mid].id.len);

        if (c == 0) {
            return &app[mid];
        }

        if (c < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


/* Whether the app may call the API named "api" (empty: an unnamed one). */

ngx_int_t
ngx_http_paygw_app_allows(ngx_http_paygw_app_t *app, ngx_str_t *api)
{
    ngx_uint_t  i;

    if (app->all_apis) {
        return 1;
    }

    for (i = 0; i < app->napis; i++) {
        if (app->apis[i].len == api->len
            && ngx_strncmp(app->apis[i].data, api->data, api->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static char *
ngx_http_paygw_apps_parse(ngx_conf_t *cf, ngx_http_paygw_apps_t *apps,
    u_char *p, u_char *end)
{
    char        *rv;
    u_char      *eol, *s, *last;
    ngx_str_t    field[NGX_HTTP_PAYGW_MAX_FIELDS];
    ngx_uint_t   line, n;

    for (line = 1; p < end; line++, p = eol + 1) {

        eol = ngx_strlchr(p, end, '\n');
        if (eol == NULL) {
            eol = end;
        }

        last = ngx_strlchr(p, eol, '#');
        if (last == NULL) {
            last = eol;
        }

        n = 0;
        s = p;

        while (s < last) {

            if (*s == ' ' || *s == '\t' || *s == '\r') {
                s++;
                continue;
            }

            if (n == NGX_HTTP_PAYGW_MAX_FIELDS) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "%V:%ui: more than %d fields",
                                   &apps->file, line,
                                   NGX_HTTP_PAYGW_MAX_FIELDS);
                return NGX_CONF_ERROR;
            }

            field[n].data = s;

            while (s < last && *s != ' ' && *s != '\t' && *s != '\r') {
                if (*s < 0x20 || *s == 0x7f) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "%V:%ui: control character in field",
                                       &apps->file, line);
                    return NGX_CONF_ERROR;
                }

                s++;
            }

            field[n].len = s - field[n].data;
            n++;
        }

        if (n == 0) {
            continue;
        }

        rv = ngx_http_paygw_apps_line(cf, apps, line, field, n);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_paygw_apps_line(ngx_conf_t *cf, ngx_http_paygw_apps_t *apps,
    ngx_uint_t line, ngx_str_t *field, ngx_uint_t n)
{
    ngx_str_t              path;
    ngx_uint_t             i;
    ngx_http_paygw_app_t  *app;

    if (n < 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: missing key type and key after app_id",
                           &apps->file, line);
        return NGX_CONF_ERROR;
    }

    if (n < 3) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: missing key after key type",
                           &apps->file, line);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_paygw_app_id_valid(&field[0]) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: invalid app_id \"%V\" (1-%d characters "
                           "of A-Z a-z 0-9 . _ -)", &apps->file, line,
                           &field[0], NGX_HTTP_PAYGW_MAX_APP_ID);
        return NGX_CONF_ERROR;
    }

    app = apps->apps.elts;

    for (i = 0; i < apps->apps.nelts; i++) {
        if (app[i].id.len == field[0].len
            && ngx_strncmp(app[i].id.data, field[0].data, field[0].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V:%ui: duplicate app_id \"%V\"",
                               &apps->file, line, &field[0]);
            return NGX_CONF_ERROR;
        }
    }

    app = ngx_array_push(&apps->apps);
    if (app == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(app, sizeof(ngx_http_paygw_app_t));

    app->all_apis = 1;
    app->rate.rate = NGX_CONF_UNSET_UINT;
    app->rate.burst = NGX_CONF_UNSET_UINT;
    app->concurrency = NGX_CONF_UNSET_UINT;

    app->id.len = field[0].len;
    app->id.data = ngx_pstrdup(cf->pool, &field[0]);
    if (app->id.data == NULL) {
        return NGX_CONF_ERROR;
    }

    if (field[1].len == sizeof("HMAC-SHA256") - 1
        && ngx_strncmp(field[1].data, "HMAC-SHA256", field[1].len) == 0)
    {
        app->key_type = NGX_HTTP_PAYGW_KEY_HMAC;

        if (field[2].len < 16 || field[2].len > 255) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V:%ui: secret must be 16 to 255 bytes "
                               "(app \"%V\")", &apps->file, line, &field[0]);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_paygw_hmac_new_key(cf->pool, field[2].data,
                                        field[2].len, &app->hmac)
            != NGX_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V:%ui: cannot create the HMAC-SHA256 key "
                               "for app \"%V\"", &apps->file, line,
                               &field[0]);
            return NGX_CONF_ERROR;
        }

        app->secret.len = field[2].len;
        app->secret.data = ngx_pstrdup(cf->pool, &field[2]);
        if (app->secret.data == NULL) {
            return NGX_CONF_ERROR;
        }

    } else if (field[1].len == sizeof("RSA2") - 1
               && ngx_strncmp(field[1].data, "RSA2", field[1].len) == 0)
    {
        app->key_type = NGX_HTTP_PAYGW_KEY_RSA2;

        if (ngx_http_paygw_apps_key_path(cf, apps, &field[2], &path)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        app->pkey = ngx_http_paygw_rsa_load(cf, &path, 0);
        if (app->pkey == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V:%ui: cannot use the public key \"%V\" "
                               "of app \"%V\"", &apps->file, line, &path,
                               &field[0]);
            return NGX_CONF_ERROR;
        }

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: unsupported key type \"%V\" for app "
                           "\"%V\" (supported: HMAC-SHA256, RSA2)",
                           &apps->file, line, &field[1], &field[0]);
        return NGX_CONF_ERROR;
    }

    for (i = 3; i < n; i++) {
        if (ngx_http_paygw_apps_option(cf, apps, line, app, &field[i])
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_paygw_apps_rates(cf, apps, line, &app->rate, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < app->napi_rates; i++) {
        if (ngx_http_paygw_apps_rates(cf, apps, line, &app->api_rates[i].rate,
                                      &app->api_rates[i].api)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * A burst needs a rate; a rate without a burst has burst 0.  An app rate
 * left unset stays rate == NGX_CONF_UNSET_UINT (the directive applies).
 */

static ngx_int_t
ngx_http_paygw_apps_rates(ngx_conf_t *cf, ngx_http_paygw_apps_t *apps,
    ngx_uint_t line, ngx_http_paygw_rate_t *rate, ngx_str_t *api)
{
    if (rate->rate == NGX_CONF_UNSET_UINT
        && rate->burst != NGX_CONF_UNSET_UINT)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: \"burst%s%V\" without \"rate%s%V\"",
                           &apps->file, line, api ? "." : "",
                           api ? api : &ngx_http_paygw_empty,
                           api ? "." : "",
                           api ? api : &ngx_http_paygw_empty);
        return NGX_ERROR;
    }

    if (rate->burst == NGX_CONF_UNSET_UINT) {
        rate->burst = 0;
    }

    return NGX_OK;
}


/* A relative key path is taken from the apps file's own directory. */

static ngx_int_t
ngx_http_paygw_apps_key_path(ngx_conf_t *cf, ngx_http_paygw_apps_t *apps,
    ngx_str_t *key, ngx_str_t *path)
{
    u_char  *p, *slash;

    if (key->data[0] == '/') {
        path->len = key->len;
        path->data = ngx_pstrdup(cf->pool, key);
        return (path->data == NULL) ? NGX_ERROR : NGX_OK;
    }

    slash = NULL;

    for (p = apps->file.data; p < apps->file.data + apps->file.len; p++) {
        if (*p == '/') {
            slash = p;
        }
    }

    path->len = (slash ? (size_t) (slash - apps->file.data + 1) : 0)
                + key->len;
    path->data = ngx_pnalloc(cf->pool, path->len + 1);
    if (path->data == NULL) {
        return NGX_ERROR;
    }

    p = path->data;

    if (slash) {
        p = ngx_cpymem(p, apps->file.data, slash - apps->file.data + 1);
    }

    p = ngx_cpymem(p, key->data, key->len);
    *p = '\0';

    return NGX_OK;
}


/*
 * One "name=value" option: apis=, rate=, burst=, concurrency=, rate.API=,
 * burst.API= (docs/apps-file.md).
 */

static ngx_int_t
ngx_http_paygw_apps_option(ngx_conf_t *cf, ngx_http_paygw_apps_t *apps,
    ngx_uint_t line, ngx_http_paygw_app_t *app, ngx_str_t *opt)
{
    u_char                     *eq, *p, *end, *comma;
    ngx_int_t                   num;
    ngx_str_t                   name, value, api;
    ngx_uint_t                  i, rate_opt;
    ngx_http_paygw_api_rate_t  *ar;

    eq = ngx_strlchr(opt->data, opt->data + opt->len, '=');

    if (eq == NULL || eq == opt->data || eq == opt->data + opt->len - 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: option \"%V\" is not name=value",
                           &apps->file, line, opt);
        return NGX_ERROR;
    }

    name.data = opt->data;
    name.len = eq - opt->data;
    value.data = eq + 1;
    value.len = opt->data + opt->len - value.data;

    if (name.len == 4 && ngx_strncmp(name.data, "apis", 4) == 0) {

        if (app->apis_set) {
            goto duplicate;
        }

        app->apis_set = 1;

        if (value.len == 1 && value.data[0] == '*') {
            return NGX_OK;
        }

        app->all_apis = 0;
        p = value.data;
        end = value.data + value.len;

        while (p < end) {
            comma = ngx_strlchr(p, end, ',');
            if (comma == NULL) {
                comma = end;
            }

            if (comma == p || comma - p > NGX_HTTP_PAYGW_MAX_API_NAME
                || app->napis == NGX_HTTP_PAYGW_MAX_APIS)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "%V:%ui: bad \"apis\" list \"%V\" "
                                   "(at most %d names of 1-%d characters)",
                                   &apps->file, line, &value,
                                   NGX_HTTP_PAYGW_MAX_APIS,
                                   NGX_HTTP_PAYGW_MAX_API_NAME);
                return NGX_ERROR;
            }

            api.data = p;
            api.len = comma - p;

            app->apis[app->napis].len = api.len;
            app->apis[app->napis].data = ngx_pstrdup(cf->pool, &api);
            if (app->apis[app->napis].data == NULL) {
                return NGX_ERROR;
            }

            app->napis++;
            p = comma + 1;
        }

        return NGX_OK;
    }

    if (name.len == 11 && ngx_strncmp(name.data, "concurrency", 11) == 0) {

        if (app->concurrency != NGX_CONF_UNSET_UINT) {
            goto duplicate;
        }

        if (value.len == 3 && ngx_strncmp(value.data, "off", 3) == 0) {
            app->concurrency = 0;
            return NGX_OK;
        }

        num = ngx_atoi(value.data, value.len);
        if (num <= 0 || num > 1000000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V:%ui: concurrency \"%V\" must be 1 to "
                               "1000000 or \"off\"", &apps->file, line,
                               &value);
            return NGX_ERROR;
        }

        app->concurrency = (ngx_uint_t) num;
        return NGX_OK;
    }

    if (name.len >= 4 && ngx_strncmp(name.data, "rate", 4) == 0) {
        rate_opt = 1;
        api.data = name.data + 4;
        api.len = name.len - 4;

    } else if (name.len >= 5 && ngx_strncmp(name.data, "burst", 5) == 0) {
        rate_opt = 0;
        api.data = name.data + 5;
        api.len = name.len - 5;

    } else {
        goto unknown;
    }

    if (api.len == 0) {
        return ngx_http_paygw_apps_rate(cf, apps, line, &app->rate,
                                        rate_opt, &value);
    }

    if (api.data[0] != '.' || api.len == 1
        || api.len - 1 > NGX_HTTP_PAYGW_MAX_API_NAME)
    {
        goto unknown;
    }

    api.data++;
    api.len--;

    ar = app->api_rates;

    for (i = 0; i < app->napi_rates; i++) {
        if (ar[i].api.len == api.len
            && ngx_strncmp(ar[i].api.data, api.data, api.len) == 0)
        {
            break;
        }
    }

    if (i == app->napi_rates) {
        if (i == NGX_HTTP_PAYGW_MAX_APIS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V:%ui: more than %d per-API rates",
                               &apps->file, line, NGX_HTTP_PAYGW_MAX_APIS);
            return NGX_ERROR;
        }

        ar[i].api.len = api.len;
        ar[i].api.data = ngx_pstrdup(cf->pool, &api);
        if (ar[i].api.data == NULL) {
            return NGX_ERROR;
        }

        ar[i].rate.rate = NGX_CONF_UNSET_UINT;
        ar[i].rate.burst = NGX_CONF_UNSET_UINT;
        app->napi_rates++;
    }

    return ngx_http_paygw_apps_rate(cf, apps, line, &ar[i].rate, rate_opt,
                                    &value);

duplicate:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V:%ui: duplicate option \"%V\"",
                       &apps->file, line, &name);
    return NGX_ERROR;

unknown:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "%V:%ui: unknown option \"%V\" (known: apis, rate, "
                       "burst, concurrency, rate.API, burst.API)",
                       &apps->file, line, &name);
    return NGX_ERROR;
}


/*
 * rate=Nr/s|Nr/m|off or burst=N into "rate"; ngx_http_paygw_apps_rates()
 * completes the pair once the whole line is read.
 */

static ngx_int_t
ngx_http_paygw_apps_rate(ngx_conf_t *cf, ngx_http_paygw_apps_t *apps,
    ngx_uint_t line, ngx_http_paygw_rate_t *rate, ngx_uint_t rate_opt,
    ngx_str_t *value)
{
    ngx_int_t   num;
    ngx_uint_t  r;

    if (rate_opt) {
        if (rate->rate != NGX_CONF_UNSET_UINT) {
            goto duplicate;
        }

        if (value->len == 3 && ngx_strncmp(value->data, "off", 3) == 0) {
            rate->rate = 0;
            return NGX_OK;
        }

        if (ngx_http_paygw_rate_parse(value, &r) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V:%ui: invalid rate \"%V\" (Nr/s or Nr/m, "
                               "or off)", &apps->file, line, value);
            return NGX_ERROR;
        }

        rate->rate = r;

        return NGX_OK;
    }

    if (rate->burst != NGX_CONF_UNSET_UINT) {
        goto duplicate;
    }

    num = ngx_atoi(value->data, value->len);
    if (num < 0 || num > 1000000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: invalid burst \"%V\" (0 to 1000000)",
                           &apps->file, line, value);
        return NGX_ERROR;
    }

    rate->burst = (ngx_uint_t) num;

    return NGX_OK;

duplicate:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V:%ui: duplicate %s option",
                       &apps->file, line, rate_opt ? "rate" : "burst");
    return NGX_ERROR;
}


static ngx_int_t
ngx_http_paygw_app_id_valid(ngx_str_t *id)
{
    u_char      c;
    ngx_uint_t  i;

    if (id->len == 0 || id->len > NGX_HTTP_PAYGW_MAX_APP_ID) {
        return NGX_DECLINED;
    }

    for (i = 0; i < id->len; i++) {
        c = id->data[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}


static int
ngx_http_paygw_app_cmp(const void *one, const void *two)
{
    const ngx_http_paygw_app_t  *a = one;
    const ngx_http_paygw_app_t  *b = two;

    ngx_int_t  rc;

    rc = ngx_memn2cmp(a->id.data, b->id.data, a->id.len, b->id.len);

    return (rc > 0) - (rc < 0);
}


static void
ngx_http_paygw_apps_cleanup(void *data)
{
    ngx_http_paygw_apps_t  *apps = data;

    ngx_uint_t             i;
    ngx_http_paygw_app_t  *app;

    app = apps->apps.elts;

    for (i = 0; i < apps->apps.nelts; i++) {
        ngx_http_paygw_hmac_free_key(app[i].hmac);
        app[i].hmac = NULL;

        EVP_PKEY_free(app[i].pkey);
        app[i].pkey = NULL;

        if (app[i].secret.data) {
            OPENSSL_cleanse(app[i].secret.data, app[i].secret.len);
        }
    }
}
