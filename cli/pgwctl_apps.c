/*
 * pgwctl_apps: the apps file reader of paygwctl (see pgwctl_apps.h).
 * The whole file is validated, not only the wanted line, so paygwctl
 * refuses a file that nginx and paygwd would refuse too.
 */
#include "pgwctl_apps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pgwctl_sign.h"

#define PGWCTL_MAX_APP_ID 64
#define PGWCTL_MAX_FIELDS 64
#define PGWCTL_MAX_APIS 16
#define PGWCTL_MAX_API_NAME 47
#define PGWCTL_MAX_NUMBER 1000000UL

/* [A-Za-z0-9._-], 1..max characters */
static int pgwctl__name_valid(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* decimal digits, 1..PGWCTL_MAX_NUMBER (0 with allow_zero); *rest gets
 * what follows, or the whole must be digits when rest is NULL */
static int pgwctl__number(const char *s, int allow_zero, const char **rest)
{
    unsigned long v = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > PGWCTL_MAX_NUMBER)
            return 0;
        p++;
    }
    if (p == s || (!allow_zero && v == 0))
        return 0;
    if (rest != NULL)
        *rest = p;
    else if (*p != '\0')
        return 0;
    return 1;
}

static int pgwctl__rate_valid(const char *v)
{
    const char *unit;
    return pgwctl__number(v, 0, &unit) &&
           (strcmp(unit, "r/s") == 0 || strcmp(unit, "r/m") == 0);
}

static const char *pgwctl__apis(const char *v)
{
    size_t n = 0;

    if (strcmp(v, "*") == 0)
        return NULL;
    for (const char *p = v;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (++n > PGWCTL_MAX_APIS)
            return "apis: at most 16 API names";
        if (!pgwctl__name_valid(p, len, PGWCTL_MAX_API_NAME))
            return "apis: a comma list of API names (1-47 characters of "
                   "A-Z a-z 0-9 . _ -), or *";
        if (comma == NULL)
            return NULL;
        p = comma + 1;
    }
}

/* one name=value option; NULL or what is wrong */
static const char *pgwctl__option(const char *opt, char seen[][64],
                                  int nseen)
{
    const char *eq = strchr(opt, '=');
    char name[64];

    if (eq == NULL || eq == opt || eq[1] == '\0')
        return "an option is name=value";
    if ((size_t)(eq - opt) >= sizeof(name))
        return "unknown option";
    memcpy(name, opt, (size_t)(eq - opt));
    name[eq - opt] = '\0';
    const char *v = eq + 1;
    for (int i = 0; i < nseen; i++)
        if (strcmp(seen[i], name) == 0)
            return "option given twice";

    if (strcmp(name, "apis") == 0)
        return pgwctl__apis(v);
    if (strcmp(name, "rate") == 0)
        return strcmp(v, "off") == 0 || pgwctl__rate_valid(v)
                   ? NULL
                   : "rate: Nr/s, Nr/m or off";
    if (strcmp(name, "burst") == 0)
        return pgwctl__number(v, 1, NULL) ? NULL
                                          : "burst: a number of requests";
    if (strcmp(name, "concurrency") == 0)
        return strcmp(v, "off") == 0 || pgwctl__number(v, 0, NULL)
                   ? NULL
                   : "concurrency: a positive number or off";
    if (strncmp(name, "rate.", 5) == 0) {
        if (!pgwctl__name_valid(name + 5, strlen(name + 5),
                                PGWCTL_MAX_API_NAME))
            return "rate.API: bad API name";
        return pgwctl__rate_valid(v) ? NULL : "rate.API: Nr/s or Nr/m";
    }
    if (strncmp(name, "burst.", 6) == 0) {
        if (!pgwctl__name_valid(name + 6, strlen(name + 6),
                                PGWCTL_MAX_API_NAME))
            return "burst.API: bad API name";
        return pgwctl__number(v, 1, NULL) ? NULL
                                          : "burst.API: a number of requests";
    }
    return "unknown option";
}

/* Splits line into fields ('#' ends the line, fields are NUL-terminated);
 * returns the count, -1 on a control character, -2 on too many fields. */
static int pgwctl__fields(char *line, char **f)
{
    int n = 0;
    char *p = line;
    char *hash = strchr(line, '#');

    if (hash != NULL)
        *hash = '\0';

    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            *p++ = '\0';
        if (*p == '\0')
            return n;
        if (n == PGWCTL_MAX_FIELDS)
            return -2;
        f[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return -1;
            p++;
        }
    }
}

/* checks one line; NULL or what is wrong (msg may hold it) */
static const char *pgwctl__line(char **f, int n, const char *dir, char *msg,
                                size_t msglen)
{
    char seen[PGWCTL_MAX_FIELDS][64];
    int nseen = 0;

    if (n == -1)
        return "control character in field";
    if (n == -2)
        return "too many fields";
    if (n < 2)
        return "missing key_type and key after app_id";
    if (n < 3)
        return "missing key after key_type";
    if (!pgwctl__name_valid(f[0], strlen(f[0]), PGWCTL_MAX_APP_ID))
        return "invalid app_id";
    for (int i = 3; i < n; i++) {
        const char *why = pgwctl__option(f[i], seen, nseen);
        if (why != NULL) {
            snprintf(msg, msglen, "%s: %s", f[i], why);
            return msg;
        }
        snprintf(seen[nseen++], sizeof(seen[0]), "%.*s",
                 (int)(strchr(f[i], '=') - f[i]), f[i]);
    }
    if (strcmp(f[1], "HMAC-SHA256") == 0) {
        size_t len = strlen(f[2]);
        if (len < 16 || len > 255)
            return "secret must be 16 to 255 bytes";
        return NULL;
    }
    if (strcmp(f[1], "RSA2") == 0) {
        char path[4096];
        int len = f[2][0] == '/' ? snprintf(path, sizeof(path), "%s", f[2])
                                 : snprintf(path, sizeof(path), "%s/%s", dir,
                                            f[2]);
        if (len < 0 || (size_t)len >= sizeof(path))
            return "key path too long";
        EVP_PKEY *k = pgwctl_rsa_load(path, 0, msg, msglen);
        if (k == NULL)
            return msg;
        EVP_PKEY_free(k);
        return NULL;
    }
    return "unsupported key_type (supported: HMAC-SHA256, RSA2)";
}

int pgwctl_apps_lookup(const char *file, const char *app_id,
                       struct pgwctl_app *app, char *err, size_t errlen)
{
    FILE *fp = fopen(file, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "cannot open apps file %s: %s", file,
                 strerror(errno));
        return -1;
    }

    char dir[4096];
    const char *slash = strrchr(file, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == file)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);

    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    unsigned long lineno = 0;
    int rc = 0, found = 0;
    char (*ids)[PGWCTL_MAX_APP_ID + 1] = NULL; /* every app_id so far */
    size_t nids = 0;

    memset(app, 0, sizeof(*app));

    while ((got = getline(&line, &cap, fp)) != -1) {
        char *f[PGWCTL_MAX_FIELDS], msg[512];

        lineno++;
        if (memchr(line, '\0', (size_t)got) != NULL) {
            snprintf(err, errlen, "%s:%lu: NUL byte in line", file, lineno);
            rc = -1;
            break;
        }
        int n = pgwctl__fields(line, f);
        if (n == 0)
            continue;
        const char *what = pgwctl__line(f, n, dir, msg, sizeof(msg));
        for (size_t i = 0; what == NULL && i < nids; i++)
            if (strcmp(ids[i], f[0]) == 0)
                what = "duplicate app_id";
        if (what == NULL) {
            void *grown = realloc(ids, (nids + 1) * sizeof(*ids));
            if (grown == NULL) {
                what = "out of memory";
            } else {
                ids = grown;
                snprintf(ids[nids++], sizeof(ids[0]), "%s", f[0]);
            }
        }
        if (what != NULL) {
            snprintf(err, errlen, "%s:%lu: %s", file, lineno, what);
            rc = -1;
            break;
        }
        if (strcmp(f[0], app_id) != 0)
            continue;
        found = 1;
        if (strcmp(f[1], "RSA2") == 0) {
            app->key_type = PGWCTL_KEY_RSA2;
        } else {
            app->key_type = PGWCTL_KEY_HMAC;
            app->secret = strdup(f[2]);
            if (app->secret == NULL) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
        }
    }

    if (rc == 0 && ferror(fp)) {
        snprintf(err, errlen, "cannot read apps file %s: %s", file,
                 strerror(errno));
        rc = -1;
    }
    if (rc == 0 && !found) {
        snprintf(err, errlen, "app \"%s\" is not in %s", app_id, file);
        rc = -1;
    }
    if (rc != 0) {
        pgwctl_secret_free(app->secret);
        memset(app, 0, sizeof(*app));
    }

    if (line != NULL) {
        OPENSSL_cleanse(line, cap);
        free(line);
    }
    free(ids);
    fclose(fp);
    return rc;
}

void pgwctl_secret_free(char *secret)
{
    if (secret == NULL)
        return;
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
}
