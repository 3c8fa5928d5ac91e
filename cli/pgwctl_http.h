/*
 * pgwctl_http: one blocking HTTP exchange with libcurl easy.  Captures the
 * status, the body and the Paygw-* response headers (of the final response:
 * interim 1xx responses are discarded).
 */
#ifndef PGWCTL_HTTP_H
#define PGWCTL_HTTP_H

#include <stddef.h>

struct pgwctl_response {
    long status;
    char *body; /* NUL-terminated, owned */
    size_t len;
    char *content_type; /* owned, NULL if absent */
    char *paygw_timestamp;
    char *paygw_nonce;
    char *paygw_signature;
    char *retry_after;
};

struct pgwctl_request {
    const char *method;
    const char *url;
    const char *authorization; /* full header value, or NULL */
    const char *content_type;  /* or NULL */
    const char *body;          /* or NULL */
    size_t body_len;
    long timeout_s;
    int verbose;
};

/* Performs req; out is filled (release with pgwctl_response_clear()) on
 * success.  Returns 0, or -1 with err filled (transport failure). */
int pgwctl_http_do(const struct pgwctl_request *req,
                   struct pgwctl_response *out, char *err, size_t errlen);

void pgwctl_response_clear(struct pgwctl_response *res);

/* Percent-encodes s for a path segment; new memory (free()), NULL on OOM. */
char *pgwctl_url_escape(const char *s);

/* The path of a base URL without its trailing '/' ("" for none); new memory
 * (free()), NULL if the URL does not parse. */
char *pgwctl_url_base_path(const char *base);

#endif
