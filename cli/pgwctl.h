/*
 * paygwctl: shared options and the command entry points.  Each command
 * returns the process exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef PGWCTL_H
#define PGWCTL_H

#include <jansson.h>
#include <openssl/evp.h>

#include "pgwctl_http.h"

enum { PGWCTL_EXIT_OK = 0, PGWCTL_EXIT_FAIL = 1, PGWCTL_EXIT_USAGE = 2 };

struct pgwctl_opts {
    const char *url;         /* caller API base, PAYGW_URL */
    const char *admin_url;   /* admin API base, PAYGW_ADMIN_URL */
    const char *admin_token; /* PAYGW_ADMIN_TOKEN, borrowed */
    const char *app_id;      /* PAYGW_APP_ID */
    const char *apps_file;   /* PAYGW_APPS */
    const char *secret;      /* -s / PAYGW_SECRET, borrowed */
    const char *app_key;     /* --key / PAYGW_APP_KEY: RSA2 private key */
    const char *gateway_key; /* --gateway-key / PAYGW_GATEWAY_PUBKEY */
    int scheme_b;            /* --scheme B: POST bodies as signed forms */
    long timeout_s;
    int verbose;
};

/* A signed caller-API session: the options plus the app's key. */
struct pgwctl_caller {
    const struct pgwctl_opts *opts; /* borrowed */
    int key_type;                   /* enum pgwctl_key_type */
    char *secret;                   /* HMAC apps: owned, wiped on close */
    EVP_PKEY *app_key;              /* RSA2 apps: owned */
    EVP_PKEY *gateway_key;          /* RSA2 apps: owned, checks answers */
    int scheme_b;
    char *base_path;                /* path part of opts->url, owned */
};

int pgwctl_caller_open(struct pgwctl_caller *c, const struct pgwctl_opts *o);
void pgwctl_caller_close(struct pgwctl_caller *c);

/* Parses "--scheme A|B" values; returns 0 (A), 1 (B) or -1. */
int pgwctl_parse_scheme(const char *v);

/* Signs and sends METHOD path_query (body may be NULL), verifies the
 * response signature and prints what happened.  With scheme B a POST body
 * (a JSON object) goes as a signed form; GETs are always scheme A (scheme B
 * is a form body).  *json receives the parsed
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
int pgwctl_cmd_channel(const struct pgwctl_opts *o, int argc, char **argv);
int pgwctl_cmd_route(const struct pgwctl_opts *o, int argc, char **argv);
int pgwctl_cmd_notify(const struct pgwctl_opts *o, int argc, char **argv);
int pgwctl_cmd_review(const struct pgwctl_opts *o, int argc, char **argv);

/* channel status|reload|rollback|promote over the admin API (pgwctl_chadmin.c) */
int pgwctl_cmd_channel_admin(const struct pgwctl_opts *o, int argc, char **argv);

/* One admin API exchange (pgwctl_admin.c): path_query after the admin URL,
 * body JSON text or NULL. Prints what went wrong; *out gets the JSON answer
 * of a 2xx. Returns an exit status. */
int pgwctl_admin_call(const struct pgwctl_opts *o, const char *method,
                      const char *path_query, const char *body, json_t **out);
int pgwctl_cmd_recon(const struct pgwctl_opts *o, int argc, char **argv);
int pgwctl_cmd_discrepancy(const struct pgwctl_opts *o, int argc, char **argv);

#endif
