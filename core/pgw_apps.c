/*
 * pgw_apps.c — parses the apps file (docs/apps-file.md):
 *
 *   app_id  key_type  key  [name=value ...]     '#' comments to end of line
 *
 * key_type HMAC-SHA256: key is the shared secret (16-255 bytes). RSA2: key is
 * the path of the app's RSA public key (PEM SubjectPublicKeyInfo, >= 2048
 * bits), relative to the apps file's directory; it is loaded here so a bad
 * key stops start-up. Options are checked for syntax only (each at most once):
 * apis=NAME[,NAME...]|*, rate=N r/s|r/m|off, burst=N, rate.API=Nr/s|Nr/m,
 * burst.API=N, concurrency=N|off. Duplicate app ids are an error, not a silent
 * override. Every error is "<file>:<line>: <what>".
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "pgw_core.h"
#include "pgw_apps.h"

#define PGW__MAX_FIELDS   64
#define PGW__MAX_APIS     16
#define PGW__MAX_API_NAME 47
#define PGW__MAX_NUMBER   1000000UL


struct pgw_apps {
    struct pgw_app *items;
    size_t n;
};


const struct pgw_app *
pgw_apps_find(const struct pgw_apps *apps, const char *app_id)
{
    for (size_t i = 0; i < apps->n; i++) {
        if (strcmp(apps->items[i].app_id, app_id) == 0) {
            return &apps->items[i];
        }
    }
    return NULL;
}


int
pgw_apps_have_rsa(const struct pgw_apps *apps)
{
    for (size_t i = 0; i < apps->n; i++) {
        if (apps->items[i].key_type == PGW_KEY_RSA2) {
            return 1;
        }
    }
    return 0;
}


EVP_PKEY *
pgw_rsa_load_pem(const char *file, int private_key, int min_bits, char *err,
                 size_t errlen)
{
    FILE *f = fopen(file, "r");
    EVP_PKEY *pkey;

    if (f == NULL) {
        snprintf(err, errlen, "cannot open %s: %s", file, strerror(errno));
        return NULL;
    }
    pkey = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
                       : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    ERR_clear_error();
    if (pkey == NULL) {
        snprintf(err, errlen, "%s is not a PEM %s", file,
                 private_key ? "private key" : "public key (SubjectPublicKeyInfo)");
        return NULL;
    }
    if (!EVP_PKEY_is_a(pkey, "RSA")) {
        snprintf(err, errlen, "%s is not an RSA key", file);
        EVP_PKEY_free(pkey);
        return NULL;
    }
    if (EVP_PKEY_get_bits(pkey) < min_bits) {
        snprintf(err, errlen, "%s: RSA key of %d bits, at least %d required",
                 file, EVP_PKEY_get_bits(pkey), min_bits);
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}


/* [A-Za-z0-9_.-], 1 to max characters */
static int
pgw__name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}


/* decimal digits only, 1 to PGW__MAX_NUMBER (0 allowed with allow_zero);
 * end (if not NULL) receives where the digits stop */
static int
pgw__number(const char *s, int allow_zero, const char **end)
{
    unsigned long v = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned long) (*p - '0');
        if (v > PGW__MAX_NUMBER) {
            return 0;
        }
        p++;
    }
    if (p == s || (!allow_zero && v == 0)) {
        return 0;
    }
    if (end != NULL) {
        *end = p;
    } else if (*p != '\0') {
        return 0;
    }
    return 1;
}


/* "Nr/s" or "Nr/m", N >= 1 */
static int
pgw__rate_ok(const char *v)
{
    const char *p;

    return pgw__number(v, 0, &p)
           && (strcmp(p, "r/s") == 0 || strcmp(p, "r/m") == 0);
}


static const char *
pgw__apis_ok(const char *v)
{
    char buf[PGW__MAX_APIS * (PGW__MAX_API_NAME + 1) + 1];
    char *save = NULL, *tok;
    int n = 0;

    if (strcmp(v, "*") == 0) {
        return NULL;
    }
    if (strlen(v) >= sizeof(buf) || v[0] == ',' || v[strlen(v) - 1] == ','
        || strstr(v, ",,") != NULL) {
        return "apis: a comma list of API names, or *";
    }
    memcpy(buf, v, strlen(v) + 1);
    for (tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (++n > PGW__MAX_APIS) {
            return "apis: at most 16 API names";
        }
        if (!pgw__name_ok(tok, PGW__MAX_API_NAME)) {
            return "apis: an API name is 1-47 characters of A-Z a-z 0-9 . _ -";
        }
    }
    return NULL;
}


/* checks one "name=value" option; returns NULL or the message */
static const char *
pgw__option(const char *opt, char seen[][64], int nseen)
{
    const char *eq = strchr(opt, '=');
    const char *v;
    size_t nlen;
    char name[64];

    if (eq == NULL || eq == opt || eq[1] == '\0') {
        return "an option is name=value";
    }
    nlen = (size_t) (eq - opt);
    if (nlen >= sizeof(name)) {
        return "unknown option";
    }
    memcpy(name, opt, nlen);
    name[nlen] = '\0';
    v = eq + 1;
    for (int i = 0; i < nseen; i++) {
        if (strcmp(seen[i], name) == 0) {
            return "option given twice";
        }
    }
    if (strcmp(name, "apis") == 0) {
        return pgw__apis_ok(v);
    }
    if (strcmp(name, "rate") == 0) {
        return strcmp(v, "off") == 0 || pgw__rate_ok(v)
                   ? NULL : "rate: Nr/s, Nr/m or off";
    }
    if (strcmp(name, "burst") == 0) {
        return pgw__number(v, 1, NULL) ? NULL : "burst: a number of requests";
    }
    if (strcmp(name, "concurrency") == 0) {
        return strcmp(v, "off") == 0 || pgw__number(v, 0, NULL)
                   ? NULL : "concurrency: a positive number or off";
    }
    if (strncmp(name, "rate.", 5) == 0) {
        if (!pgw__name_ok(name + 5, PGW__MAX_API_NAME)) {
            return "rate.API: bad API name";
        }
        return pgw__rate_ok(v) ? NULL : "rate.API: Nr/s or Nr/m";
    }
    if (strncmp(name, "burst.", 6) == 0) {
        if (!pgw__name_ok(name + 6, PGW__MAX_API_NAME)) {
            return "burst.API: bad API name";
        }
        return pgw__number(v, 1, NULL) ? NULL : "burst.API: a number of requests";
    }
    return "unknown option";
}


/* splits on blanks; returns the count, -1 on a control character, -2 on too
 * many fields */
static int
pgw__fields(char *line, char **f)
{
    int n = 0;
    char *p = line;

    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            *p++ = '\0';
        }
        if (*p == '\0') {
            return n;
        }
        if (n == PGW__MAX_FIELDS) {
            return -2;
        }
        f[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                return -1;
            }
            p++;
        }
    }
}


static const char *
pgw__parse_line(struct pgw_apps *apps, const char *dir, char *line,
                char *msg, size_t msglen)
{
    char *f[PGW__MAX_FIELDS], keypath[1024];
    char seen[PGW__MAX_FIELDS][64];
    int n = pgw__fields(line, f), nseen = 0;
    struct pgw_app app, *grown;
    const char *why;

    if (n == 0) {
        return NULL;
    }
    if (n == -1) {
        return "control character in a field";
    }
    if (n == -2) {
        return "too many fields";
    }
    if (n < 3) {
        return "expected: app_id key_type key [options]";
    }
    memset(&app, 0, sizeof(app));
    if (!pgw__name_ok(f[0], sizeof(app.app_id) - 1)) {
        return "app_id: 1-64 characters of A-Z a-z 0-9 . _ -";
    }
    if (pgw_apps_find(apps, f[0]) != NULL) {
        return "duplicate app_id";
    }
    for (int i = 3; i < n; i++) {
        why = pgw__option(f[i], seen, nseen);
        if (why != NULL) {
            snprintf(msg, msglen, "%s: %s", f[i], why);
            return msg;
        }
        snprintf(seen[nseen++], sizeof(seen[0]), "%.*s",
                 (int) (strchr(f[i], '=') - f[i]), f[i]);
    }
    memcpy(app.app_id, f[0], strlen(f[0]) + 1);
    if (strcmp(f[1], "HMAC-SHA256") == 0) {
        if (strlen(f[2]) < 16 || strlen(f[2]) >= sizeof(app.secret)) {
            return "secret must be 16 to 255 bytes";
        }
        app.key_type = PGW_KEY_HMAC_SHA256;
        app.secret_len = strlen(f[2]);
        memcpy(app.secret, f[2], app.secret_len + 1);
    } else if (strcmp(f[1], "RSA2") == 0) {
        int len = f[2][0] == '/'
                      ? snprintf(keypath, sizeof(keypath), "%s", f[2])
                      : snprintf(keypath, sizeof(keypath), "%s/%s", dir, f[2]);
        if (len < 0 || (size_t) len >= sizeof(keypath)) {
            return "key path too long";
        }
        app.key_type = PGW_KEY_RSA2;
        app.pubkey = pgw_rsa_load_pem(keypath, 0, 2048, msg, msglen);
        if (app.pubkey == NULL) {
            return msg;
        }
    } else {
        return "unknown key_type (supported: HMAC-SHA256, RSA2)";
    }
    grown = realloc(apps->items, (apps->n + 1) * sizeof(*apps->items));
    if (grown == NULL) {
        EVP_PKEY_free(app.pubkey);
        OPENSSL_cleanse(&app, sizeof(app));
        return "out of memory";
    }
    apps->items = grown;
    apps->items[apps->n++] = app;
    OPENSSL_cleanse(&app, sizeof(app));
    return NULL;
}


struct pgw_apps *
pgw_apps_load(const char *path, char *err, size_t errlen)
{
    struct pgw_apps *apps;
    char *line = NULL, dir[1024], msg[600];
    const char *slash = strrchr(path, '/');
    size_t cap = 0;
    ssize_t got;
    FILE *f;
    int lineno = 0;

    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == path) {
        snprintf(dir, sizeof(dir), "/");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", (int) (slash - path), path);
    }
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    apps = calloc(1, sizeof(*apps));
    if (apps == NULL) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    while ((got = getline(&line, &cap, f)) != -1) {
        char *hash = memchr(line, '#', (size_t) got);
        const char *why;

        lineno++;
        if (hash != NULL) {
            *hash = '\0';
        }
        if (memchr(line, '\0', hash ? (size_t) (hash - line) : (size_t) got)
            != NULL) {
            why = "NUL byte in line";
        } else {
            why = pgw__parse_line(apps, dir, line, msg, sizeof(msg));
        }
        if (why != NULL) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            goto failed;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        goto failed;
    }
    OPENSSL_cleanse(line, cap);
    free(line);
    fclose(f);
    return apps;

failed:
    if (line != NULL) {
        OPENSSL_cleanse(line, cap);
    }
    free(line);
    fclose(f);
    pgw_apps_free(apps);
    return NULL;
}


void
pgw_apps_free(struct pgw_apps *apps)
{
    if (apps == NULL) {
        return;
    }
    for (size_t i = 0; i < apps->n; i++) {
        EVP_PKEY_free(apps->items[i].pubkey);
    }
    if (apps->items != NULL) {
        /* secrets: wipe before release */
        OPENSSL_cleanse(apps->items, apps->n * sizeof(*apps->items));
    }
    free(apps->items);
    free(apps);
}
