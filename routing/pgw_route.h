/*
 * pgw_route.h — channel selection: which channel may take an order.
 *
 * A channel is eligible when it is declared and enabled in paygwd.conf, its pack
 * is loaded, and the pack's manifest lists the method, the currency and an amount
 * range that holds the amount. An explicit "channel" in the request narrows the
 * choice to that channel. Channels already tried for the order are excluded.
 */

#ifndef PGW_ROUTE_H
#define PGW_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct pgw_daemon;

struct pgw_route_query {
    const char *method;
    const char *currency;
    int64_t amount;
    const char *channel;             /* requested, or NULL */
    const char *const *excluded;     /* NULL-terminated, or NULL */
};

/* Returns PGW_OK with the channel name in out, or PGW_NOTFOUND. If why is not
 * NULL it receives a human-readable reason when nothing is eligible. */
int pgw_route_pick(struct pgw_daemon *d, const struct pgw_route_query *q,
                   char *out, size_t outlen, char *why, size_t whylen);

/* borrowed: the manifest's entry for a method, or NULL */
const json_t *pgw_manifest_method(const json_t *manifest, const char *method);
/* 1 if the manifest marks the method as a prepay method (credential first) */
int pgw_manifest_is_prepay(const json_t *manifest, const char *method);
/* borrowed: the query-then-reverse policy of a "micropay" method (the buyer
 * confirms on a device while we wait): {poll_ms, give_up_after_ms,
 * reverse_not_before_ms, reverse_op, reverse_retry_ms, reverse_max}, from the
 * method's entry or the manifest's `micropay`, each key optional; NULL for
 * any other kind of method */
const json_t *pgw_micropay_policy(const json_t *manifest, const char *method);
/* integer manifest setting, e.g. first_query_delay_ms; def if absent */
int64_t pgw_manifest_int(const json_t *manifest, const char *key, int64_t def);

#endif
