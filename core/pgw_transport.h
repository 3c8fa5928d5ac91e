/*
 * pgw_transport.h — outgoing HTTP(S) on the daemon's event loop: libcurl multi
 * driven by libevent (socket_action). TLS verification is always on.
 *
 * Money rule: state-changing sends (pay, refund, close, payout) use a fresh
 * connection that is never reused, so libcurl's silent retry of a request on a
 * dead reused connection can never send a payment twice. Queries may reuse.
 */

#ifndef PGW_TRANSPORT_H
#define PGW_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct pgw_transport;

enum pgw_sent {
    PGW_SENT_ANSWERED = 0,   /* an HTTP answer came back (any status) */
    PGW_SENT_UNKNOWN,        /* may have reached the peer: timeout, reset, … */
    PGW_SENT_NOT_SENT        /* proof it never left: refused, DNS, TLS handshake */
};

struct pgw_http_result {
    enum pgw_sent sent;
    long status;
    char *body;              /* borrowed for the callback's duration */
    size_t body_len;
    json_t *headers;         /* borrowed: the final answer's headers, names in
                                lower case, repeats joined with ", " */
    char error[256];
    int64_t elapsed_ms;
};

typedef void pgw_http_done_fn(void *arg, const struct pgw_http_result *res);

struct pgw_http_request {
    const char *method;
    const char *url;
    const char *content_type;
    const char *const *headers;   /* NULL-terminated "Name: value" lines */
    const char *body;
    size_t body_len;
    long connect_timeout_ms;
    long timeout_ms;
    int fresh_connection;         /* 1 for state-changing operations */
    void (*abandon)(void *arg);   /* frees arg if the transport is torn down
                                     before done runs (NULL: nothing to free) */
};

struct pgw_transport *pgw_transport_new(struct event_base *base);
void pgw_transport_free(struct pgw_transport *t);
/* copies everything from req; done is called exactly once, on the loop — or,
 * if the transport is freed first, abandon is (the outcome of such a send is
 * unknown: start-up recovery treats it like a crash) */
int pgw_transport_send(struct pgw_transport *t, const struct pgw_http_request *req,
                       pgw_http_done_fn *done, void *arg);
int pgw_transport_in_flight(const struct pgw_transport *t);
/* maps a libcurl result to the sent class (exposed for unit tests) */
enum pgw_sent pgw_transport_classify(int curl_code, long http_status);

#endif
