/*
 * pgwctl_apps: the apps file reader of paygwctl (see pgwctl_apps.h).
 * The whole file is validated, not only the wanted line, so paygwctl
 * refuses a file that nginx would refuse too.
 */
#include "pgwctl_apps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define PGWCTL_MAX_APP_ID 64

static int pgwctl__app_id_valid(const char *s, size_t n)
{
    if (n == 0 || n > PGWCTL_MAX_APP_ID)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Splits line into at most 4 fields ('#' ends the line); returns the count
 * or -1 on a control character. */
static int pgwctl__fields(char *line, char **f, size_t *len)
{
    int n = 0;
    char *p = line;
    char *hash = strchr(line, '#');

    if (hash != NULL)
        *hash = '\0';

    while (*p) {
        if (*p == ' ' || *p == '\t' || *p == '\r') {
            p++;
            continue;
        }
        if (n == 4)
            break;
        f[n] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r') {
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return -1;
            p++;
        }
        len[n] = (size_t)(p - f[n]);
        n++;
    }
    return n;
}

int pgwctl_apps_secret(const char *file, const char *app_id, char **secret,
                       char *err, size_t errlen)
{
    FILE *fp = fopen(file, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "cannot open apps file %s: %s", file,
                 strerror(errno));
        return -1;
    }

    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    unsigned long lineno = 0;
    int rc = 0;

    *secret = NULL;

    while ((got = getline(&line, &cap, fp)) != -1) {
        char *f[4];
        size_t len[4];

        lineno++;
        if (got > 0 && line[got - 1] == '\n')
            line[got - 1] = '\0';

        int n = pgwctl__fields(line, f, len);
        const char *what = NULL;

        if (n == 0)
            continue;
        if (n < 0)
            what = "control character in field";
        else if (n < 2)
            what = "missing scheme and secret after app_id";
        else if (n < 3)
            what = "missing secret after scheme";
        else if (n > 3)
            what = "unexpected field after secret";
        else if (!pgwctl__app_id_valid(f[0], len[0]))
            what = "invalid app_id";
        else if (len[1] != 11 || strncmp(f[1], "HMAC-SHA256", 11) != 0)
            what = "unsupported scheme (supported: HMAC-SHA256)";
        else if (len[2] < 16 || len[2] > 255)
            what = "secret must be 16 to 255 bytes";

        if (what != NULL) {
            snprintf(err, errlen, "%s:%lu: %s", file, lineno, what);
            rc = -1;
            break;
        }

        if (len[0] == strlen(app_id) && strncmp(f[0], app_id, len[0]) == 0) {
            if (*secret != NULL) {
                snprintf(err, errlen, "%s:%lu: duplicate app_id \"%s\"", file,
                         lineno, app_id);
                rc = -1;
                break;
            }
            *secret = strndup(f[2], len[2]);
            if (*secret == NULL) {
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
    if (rc == 0 && *secret == NULL) {
        snprintf(err, errlen, "app \"%s\" is not in %s", app_id, file);
        rc = -1;
    }
    if (rc != 0) {
        pgwctl_secret_free(*secret);
        *secret = NULL;
    }

    if (line != NULL) {
        OPENSSL_cleanse(line, cap);
        free(line);
    }
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
