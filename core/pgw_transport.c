/*
 * pgw_transport.c — libcurl multi on libevent.
 *
 * The integration follows curl's documented socket_action pattern: libcurl tells
 * us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it
 * (CURLMOPT_TIMERFUNCTION); libevent calls curl_multi_socket_action back. A
 * finished transfer is classified (pgw_transport_classify) and handed to its
 * callback; the response body is capped at 1 MiB (over it: UNKNOWN, never an
 * answer we act on).
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "pgw_core.h"
#include "pgw_log.h"
#include "pgw_transport.h"

#define PGW__MAX_BODY (1024 * 1024)


struct pgw__xfer;

struct pgw_transport {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    int in_flight;
    struct pgw__xfer *xfers;     /* in flight, for teardown */
};

struct pgw__xfer {
    struct pgw_transport *t;
    CURL *easy;
    struct curl_slist *headers;
    char *body;                  /* request body copy */
    char *resp;
    size_t resp_len;
    size_t resp_cap;
    int too_big;
    int64_t started;
    pgw_http_done_fn *done;
    void (*abandon)(void *arg);
    void *arg;
    struct pgw__xfer *prev, *next;
    char errbuf[CURL_ERROR_SIZE];
};

struct pgw__sock {
    struct event *ev;
};


enum pgw_sent
pgw_transport_classify(int curl_code, long http_status)
{
    (void) http_status;
    switch (curl_code) {
    case CURLE_OK:
        return PGW_SENT_ANSWERED;
    /* the request never left this host: proof enough to try elsewhere */
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return PGW_SENT_NOT_SENT;
    /* everything else — timeouts above all — may have reached the channel */
    default:
        return PGW_SENT_UNKNOWN;
    }
}


static size_t
pgw__write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct pgw__xfer *x = userdata;
    size_t n = size * nmemb;

    if (x->resp_len + n + 1 > PGW__MAX_BODY) {
        x->too_big = 1;
        return 0;   /* aborts the transfer: CURLE_WRITE_ERROR → UNKNOWN */
    }
    if (x->resp_len + n + 1 > x->resp_cap) {
        size_t cap = x->resp_cap ? x->resp_cap * 2 : 4096;
        while (cap < x->resp_len + n + 1) {
            cap *= 2;
        }
        char *grown = realloc(x->resp, cap);
        if (grown == NULL) {
            return 0;
        }
        x->resp = grown;
        x->resp_cap = cap;
    }
    memcpy(x->resp + x->resp_len, ptr, n);
    x->resp_len += n;
    x->resp[x->resp_len] = '\0';
    return n;
}


/* The headers of the last answer of the transfer (not of a 100 Continue or
 * a redirect), through libcurl's header API: names lower-cased, a repeated
 * header's values joined with ", " as RFC 9110 section 5.3 allows. */
static json_t *
pgw__resp_headers(CURL *e)
{
    json_t *o = json_object();
    struct curl_header *h, *prev = NULL;
    char name[128];

    if (o == NULL) {
        return NULL;
    }
    while ((h = curl_easy_nextheader(e, CURLH_HEADER, -1, prev)) != NULL) {
        const char *old;
        size_t i, n = strlen(h->name);

        prev = h;
        if (n == 0 || n >= sizeof(name)) {
            continue;
        }
        for (i = 0; i < n; i++) {
            name[i] = (char) tolower((unsigned char) h->name[i]);
        }
        name[n] = '\0';
        old = json_string_value(json_object_get(o, name));
        if (old == NULL) {
            json_object_set_new(o, name, json_string(h->value));
        } else {
            size_t ol = strlen(old), vl = strlen(h->value);
            char *joined = malloc(ol + 2 + vl + 1);

            if (joined == NULL) {
                continue;
            }
            memcpy(joined, old, ol);
            memcpy(joined + ol, ", ", 2);
            memcpy(joined + ol + 2, h->value, vl + 1);
            json_object_set_new(o, name, json_string(joined));
            free(joined);
        }
    }
    return o;
}


static void
pgw__xfer_unlink(struct pgw__xfer *x)
{
    if (x->prev) {
        x->prev->next = x->next;
    } else if (x->t->xfers == x) {
        x->t->xfers = x->next;
    }
    if (x->next) {
        x->next->prev = x->prev;
    }
    x->prev = x->next = NULL;
}


static void
pgw__xfer_free(struct pgw__xfer *x)
{
    curl_slist_free_all(x->headers);
    curl_easy_cleanup(x->easy);
    free(x->body);
    free(x->resp);
    free(x);
}


static void
pgw__check_done(struct pgw_transport *t)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(t->multi, &left)) != NULL) {
        struct pgw__xfer *x;
        struct pgw_http_result res;

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
        memset(&res, 0, sizeof(res));
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res.status);
        res.sent = pgw_transport_classify(msg->data.result, res.status);
        if (x->too_big) {
            res.sent = PGW_SENT_UNKNOWN;
            snprintf(res.error, sizeof(res.error), "response over %d bytes",
                     PGW__MAX_BODY);
        } else if (msg->data.result != CURLE_OK) {
            snprintf(res.error, sizeof(res.error), "%.60s: %.180s",
                     curl_easy_strerror(msg->data.result),
                     x->errbuf[0] ? x->errbuf : "-");
        }
        res.body = x->resp ? x->resp : "";
        res.body_len = x->resp_len;
        res.headers = pgw__resp_headers(x->easy);
        res.elapsed_ms = pgw_now_ms() - x->started;

        curl_multi_remove_handle(t->multi, x->easy);
        pgw__xfer_unlink(x);
        t->in_flight--;
        x->done(x->arg, &res);
        json_decref(res.headers);
        pgw__xfer_free(x);
    }
}


static void
pgw__event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pgw_transport *t = arg;
    int running, action = 0;

    action |= (what & EV_READ) ? CURL_CSELECT_IN : 0;
    action |= (what & EV_WRITE) ? CURL_CSELECT_OUT : 0;
    curl_multi_socket_action(t->multi, fd, action, &running);
    pgw__check_done(t);
    if (running <= 0 && evtimer_pending(t->timer, NULL)) {
        evtimer_del(t->timer);
    }
}


static void
pgw__timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pgw_transport *t = arg;
    int running;

    (void) fd;
    (void) what;
    curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    pgw__check_done(t);
}


static int
pgw__multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct pgw_transport *t = userp;
    struct timeval tv;

    (void) multi;
    if (timeout_ms < 0) {
        evtimer_del(t->timer);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    evtimer_add(t->timer, &tv);
    return 0;
}


static int
pgw__multi_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
                   void *socketp)
{
    struct pgw_transport *t = userp;
    struct pgw__sock *sk = socketp;
    short kind;

    (void) easy;
    if (what == CURL_POLL_REMOVE) {
        if (sk != NULL) {
            event_free(sk->ev);
            free(sk);
            curl_multi_assign(t->multi, s, NULL);
        }
        return 0;
    }
    kind = EV_PERSIST;
    kind |= (what & CURL_POLL_IN) ? EV_READ : 0;
    kind |= (what & CURL_POLL_OUT) ? EV_WRITE : 0;
    if (sk == NULL) {
        sk = calloc(1, sizeof(*sk));
        if (sk == NULL) {
            return -1;
        }
        curl_multi_assign(t->multi, s, sk);
    } else {
        event_free(sk->ev);
    }
    sk->ev = event_new(t->base, s, kind, pgw__event_cb, t);
    if (sk->ev == NULL) {
        return -1;
    }
    event_add(sk->ev, NULL);
    return 0;
}


struct pgw_transport *
pgw_transport_new(struct event_base *base)
{
    struct pgw_transport *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        return NULL;
    }
    t->base = base;
    t->multi = curl_multi_init();
    t->timer = evtimer_new(base, pgw__timer_cb, t);
    if (t->multi == NULL || t->timer == NULL) {
        pgw_transport_free(t);
        return NULL;
    }
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, pgw__multi_sock_cb);
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, t);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, pgw__multi_timer_cb);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, t);
    curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, 256L);
    return t;
}


void
pgw_transport_free(struct pgw_transport *t)
{
    if (t == NULL) {
        return;
    }
    while (t->xfers != NULL) {
        struct pgw__xfer *x = t->xfers;
        pgw__xfer_unlink(x);
        curl_multi_remove_handle(t->multi, x->easy);
        if (x->abandon) {
            x->abandon(x->arg);
        }
        pgw__xfer_free(x);
    }
    if (t->multi) {
        curl_multi_cleanup(t->multi);
    }
    if (t->timer) {
        event_free(t->timer);
    }
    free(t);
}


int
pgw_transport_in_flight(const struct pgw_transport *t)
{
    return t->in_flight;
}


int
pgw_transport_send(struct pgw_transport *t, const struct pgw_http_request *req,
                   pgw_http_done_fn *done, void *arg)
{
    struct pgw__xfer *x = calloc(1, sizeof(*x));
    char ct[128];

    if (x == NULL) {
        return PGW_ERR;
    }
    x->t = t;
    x->done = done;
    x->abandon = req->abandon;
    x->arg = arg;
    x->started = pgw_now_ms();
    x->easy = curl_easy_init();
    x->body = malloc(req->body_len + 1);
    if (x->easy == NULL || x->body == NULL) {
        pgw__xfer_free(x);
        return PGW_ERR;
    }
    memcpy(x->body, req->body ? req->body : "", req->body_len);
    x->body[req->body_len] = '\0';

    if (req->content_type) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", req->content_type);
        x->headers = curl_slist_append(x->headers, ct);
    }
    x->headers = curl_slist_append(x->headers, "Expect:");
    for (const char *const *h = req->headers; h && *h; h++) {
        x->headers = curl_slist_append(x->headers, *h);
    }

    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, pgw__write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 5000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     req->timeout_ms > 0 ? req->timeout_ms : 15000L);
    if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) req->body_len);
        if (strcmp(req->method, "POST") != 0) {
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
        }
    }
    if (req->fresh_connection) {
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    if (curl_multi_add_handle(t->multi, e) != CURLM_OK) {
        pgw__xfer_free(x);
        return PGW_ERR;
    }
    t->in_flight++;
    x->next = t->xfers;
    if (x->next) {
        x->next->prev = x;
    }
    t->xfers = x;
    return PGW_OK;
}
