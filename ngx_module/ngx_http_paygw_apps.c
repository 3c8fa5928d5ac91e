
/*
 * The apps file (docs/internals.md), read at configuration time:
 *
 *     # app_id   scheme        secret
 *     A1         HMAC-SHA256   s3cr3t-for-A1
 *
 * One app per line, fields separated by blanks; '#' starts a comment that
 * runs to the end of the line (so a secret cannot contain '#').  The
 * secret is the literal HMAC key, 16 to 255 bytes.  These are paygwd's
 * rules too (core/pgw_apps.c).  Any malformed line fails the configuration
 * with "<file>:<line>: <what is wrong>".
 *
 * Invariants: the loaded set is sorted by app_id and free of duplicates;
 * the file's bytes are wiped from memory once keyed MAC templates exist;
 * the templates are freed by a cleanup on the configuration pool.
 */


#include "ngx_http_paygw_module.h"

#include <openssl/crypto.h>


static char *ngx_http_paygw_apps_parse(ngx_conf_t *cf,
    ngx_http_paygw_apps_t *apps, u_char *p, u_char *end);
static char *ngx_http_paygw_apps_line(ngx_conf_t *cf,
    ngx_http_paygw_apps_t *apps, ngx_uint_t line, ngx_str_t *field,
    ngx_uint_t n);
static ngx_int_t ngx_http_paygw_app_id_valid(ngx_str_t *id);
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


static char *
ngx_http_paygw_apps_parse(ngx_conf_t *cf, ngx_http_paygw_apps_t *apps,
    u_char *p, u_char *end)
{
    char        *rv;
    u_char      *eol, *s, *last;
    ngx_str_t    field[4];
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

            if (n == 4) {
                break;
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
    ngx_uint_t             i;
    ngx_http_paygw_app_t  *app;

    if (n < 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: missing scheme and secret after app_id",
                           &apps->file, line);
        return NGX_CONF_ERROR;
    }

    if (n < 3) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: missing secret after scheme",
                           &apps->file, line);
        return NGX_CONF_ERROR;
    }

    if (n > 3) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: unexpected field after secret "
                           "(expected \"app_id scheme secret\")",
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

    if (field[1].len != sizeof("HMAC-SHA256") - 1
        || ngx_strncmp(field[1].data, "HMAC-SHA256", field[1].len) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: unsupported scheme \"%V\" for app \"%V\" "
                           "(supported: HMAC-SHA256)", &apps->file, line,
                           &field[1], &field[0]);
        return NGX_CONF_ERROR;
    }

    if (field[2].len < 16 || field[2].len > 255) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: secret must be 16 to 255 bytes "
                           "(app \"%V\")", &apps->file, line, &field[0]);
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

    app->id.len = field[0].len;
    app->id.data = ngx_pstrdup(cf->pool, &field[0]);
    if (app->id.data == NULL) {
        return NGX_CONF_ERROR;
    }

    app->scheme = NGX_HTTP_PAYGW_SCHEME_HMAC_SHA256;

    if (ngx_http_paygw_hmac_new_key(field[2].data, field[2].len, &app->mac)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V:%ui: cannot create the HMAC-SHA256 key "
                           "for app \"%V\"", &apps->file, line, &field[0]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
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
        EVP_MAC_CTX_free(app[i].mac);
        app[i].mac = NULL;
    }
}
