/*
 * pgw_apps.c — parses apps.conf ("app_id scheme secret" per line, '#' comments).
 * Scheme is HMAC-SHA256 for now (scheme A of SPEC §3.1); RSA apps come with the
 * full front. Duplicate app ids are an error, not a silent override.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgw_core.h"
#include "pgw_apps.h"


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


static const char *
pgw__parse_line(struct pgw_apps *apps, char *line)
{
    char *tok[4], *save = NULL, *p;
    int n = 0;
    struct pgw_app *app, *grown;

    for (p = strtok_r(line, " \t\r\n", &save); p; p = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == 4) {
            return "expected: app_id scheme secret";
        }
        tok[n++] = p;
    }
    if (n == 0) {
        return NULL;
    }
    if (n != 3) {
        return "expected: app_id scheme secret";
    }
    if (strlen(tok[0]) >= sizeof(app->app_id)) {
        return "app_id longer than 64 bytes";
    }
    if (strcmp(tok[1], "HMAC-SHA256") != 0) {
        return "unknown scheme (supported: HMAC-SHA256)";
    }
    if (strlen(tok[2]) < 16 || strlen(tok[2]) >= sizeof(app->secret)) {
        return "secret must be 16 to 255 bytes";
    }
    if (pgw_apps_find(apps, tok[0]) != NULL) {
        return "duplicate app_id";
    }
    grown = realloc(apps->items, (apps->n + 1) * sizeof(*apps->items));
    if (grown == NULL) {
        return "out of memory";
    }
    apps->items = grown;
    app = &apps->items[apps->n++];
    memset(app, 0, sizeof(*app));
    memcpy(app->app_id, tok[0], strlen(tok[0]) + 1);
    memcpy(app->scheme, tok[1], strlen(tok[1]) + 1);
    app->secret_len = strlen(tok[2]);
    memcpy(app->secret, tok[2], app->secret_len + 1);
    return NULL;
}


struct pgw_apps *
pgw_apps_load(const char *path, char *err, size_t errlen)
{
    struct pgw_apps *apps;
    char line[1024];
    FILE *f;
    int lineno = 0;

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
    while (fgets(line, sizeof(line), f) != NULL) {
        char *hash = strchr(line, '#');
        const char *msg;

        lineno++;
        if (hash != NULL) {
            *hash = '\0';
        }
        msg = pgw__parse_line(apps, line);
        if (msg != NULL) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            fclose(f);
            pgw_apps_free(apps);
            return NULL;
        }
    }
    fclose(f);
    return apps;
}


void
pgw_apps_free(struct pgw_apps *apps)
{
    if (apps == NULL) {
        return;
    }
    if (apps->items != NULL) {
        /* secrets: wipe before release */
        memset(apps->items, 0, apps->n * sizeof(*apps->items));
    }
    free(apps->items);
    free(apps);
}
