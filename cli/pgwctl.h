/*
 * paygwctl: shared options and the command entry points.  Each command
 * returns the process exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef PGWCTL_H
#define PGWCTL_H

#include <jansson.h>

#include "pgwctl_http.h"

enum { PGWCTL_EXIT_OK = 0, PGWCTL_EXIT_FAIL = 1, PGWCTL_EXIT_USAGE = 2 };

struct pgwctl_opts {
    const char *url;         /* caller API base, PAYGW_URL */
    const char *admin_url;   /* admin API base, PAYGW_ADMIN_URL */
    const char *admin_token; /* PAYGW_ADMIN_TOKEN, borrowed */
    const char *app_id;      /* PAYGW_APP_ID */
    const char *apps_file;   /* PAYGW_APPS */
    const char *secret;      /* -s / PAYGW_SECRET, borrowed */
    long timeout_s;
    int verbose;
};

/* A signed caller-API session: the options plus the app's secret. */
struct pgwctl_caller {
    const struct pgwctl_opts *opts; /* borrowed */
    char *secret;                   /* owned, wiped on close */
    char *base_path;                /* path part of opts->url, owned */
};

int pgwctl_caller_open(struct pgwctl_caller *c, const struct pgwctl_opts *o);
void pgwctl_caller_close(struct pgwctl_caller *c);

/* Signs and sends METHOD path_query (body may be NULL), verifies the
 * response signature and prints what happened.  *json receives the parsed
 * body (new reference, NULL if not JSON).  Returns 0 for a 2xx response
 * with a valid signature, 1 otherwise (the reason is printed). */
int pgwctl_caller_call(struct pgwctl_caller *c, const char *method,
                       const char *path_query, const char *body,
                       long timeout_s, struct pgwctl_response *res,
                       json_t **json);

/* Prints v as indented JSON, each line prefixed by indent spaces. */
void pgwctl_print_json(const json_t *v, int indent);

int pgwctl_cmd_pay(const struct pgwctl_opts *o, int argc, char **argv);
int pgwctl_cmd_get(const struct pgwctl_opts *o, int argc, char **argv);
int pgwctl_cmd_close(const struct pgwctl_opts *o, int argc, char **argv);
int pgwctl_cmd_trace(const struct pgwctl_opts *o, int argc, char **argv);

#endif
