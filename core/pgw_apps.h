/*
 * pgw_apps.h — the callers (apps) registry read from apps.conf: app_id, signing
 * scheme and secret. The core needs it to sign notifications to the caller
 * (SPEC §3.5); the nginx module reads the same file for request verification.
 */

#ifndef PGW_APPS_H
#define PGW_APPS_H

#include <stddef.h>

struct pgw_app {
    char app_id[65];
    char scheme[32];
    char secret[256];
    size_t secret_len;
};

struct pgw_apps;

/* new: NULL with "<file>:<line>: <msg>" in err on a malformed file */
struct pgw_apps *pgw_apps_load(const char *path, char *err, size_t errlen);
void pgw_apps_free(struct pgw_apps *apps);
const struct pgw_app *pgw_apps_find(const struct pgw_apps *apps,
                                    const char *app_id); /* borrowed */

#endif
