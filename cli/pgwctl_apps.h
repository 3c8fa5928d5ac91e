/*
 * pgwctl_apps: reads one app from the apps file shared with nginx and
 * paygwd (docs/apps-file.md): "app_id key_type key [options]" per line,
 * blanks between fields, '#' comments out the rest of the line.
 * HMAC-SHA256 keys are secrets of 16 to 255 bytes; RSA2 keys are paths of
 * the app's public key (relative to the apps file's directory; it must load
 * as an RSA public key of 2048 bits or more).  Options (apis=, rate=,
 * burst=, rate.API=, burst.API=, concurrency=) are checked for syntax only.
 * A malformed line is an error "<file>:<line>: <what>", as in nginx and
 * paygwd.
 */
#ifndef PGWCTL_APPS_H
#define PGWCTL_APPS_H

#include <stddef.h>

enum pgwctl_key_type { PGWCTL_KEY_HMAC = 1, PGWCTL_KEY_RSA2 = 2 };

struct pgwctl_app {
    int key_type; /* enum pgwctl_key_type */
    char *secret; /* HMAC-SHA256: owned, wipe with pgwctl_secret_free() */
};

/* Finds app_id in file (validating the whole file).  Returns 0, or -1 with
 * err filled. */
int pgwctl_apps_lookup(const char *file, const char *app_id,
                       struct pgwctl_app *app, char *err, size_t errlen);

/* Wipes and frees a secret (NULL is fine). */
void pgwctl_secret_free(char *secret);

#endif
