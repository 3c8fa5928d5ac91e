/*
 * pgwctl_apps: reads one app's secret from the apps file shared with nginx
 * and paygwd (docs/internals.md): "app_id scheme secret" per line, blanks
 * between fields, '#' comments out the rest of the line, secrets of 16 to
 * 255 bytes.  A malformed line is an error "<file>:<line>: <what>", as in
 * nginx and paygwd.
 */
#ifndef PGWCTL_APPS_H
#define PGWCTL_APPS_H

#include <stddef.h>

/* Finds app_id in file; *secret receives new memory the caller wipes with
 * pgwctl_secret_free().  Returns 0, or -1 with err filled. */
int pgwctl_apps_secret(const char *file, const char *app_id, char **secret,
                       char *err, size_t errlen);

/* Wipes and frees a secret (NULL is fine). */
void pgwctl_secret_free(char *secret);

#endif
