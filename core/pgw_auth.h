/*
 * pgw_auth.h — OAuth2 access tokens of the channels that need one (a pack
 * whose manifest has auth = {op = "token"}, e.g. PayPal): one cached token per
 * channel, fetched through the pack's token operation, refreshed ahead of
 * its expiry, handed to each pack version as ctx.token before it builds.
 *
 * A request is never built without a valid token: while the first one is
 * being fetched an order waits (it is still ACCEPTED, nothing was sent); a
 * failed fetch makes the channel unavailable until a later fetch succeeds.
 */

#ifndef PGW_AUTH_H
#define PGW_AUTH_H

#include <stdint.h>

struct pgw_daemon;
struct pgw_pack;
struct pgw_auth;

enum pgw_auth_state {
    PGW_AUTH_READY = 0,       /* no token needed, or a valid one is set */
    PGW_AUTH_PENDING,         /* a fetch is under way: try again shortly */
    PGW_AUTH_FAILED           /* the last fetch failed: the channel cannot
                                 be used now (another fetch is scheduled) */
};

struct pgw_auth *pgw_auth_new(void);
void pgw_auth_free(struct pgw_auth *);

/* Before building with pack: sets ctx.token when a valid one is cached,
 * otherwise starts a fetch (at most one per channel at a time, failures
 * retried no sooner than 5 s apart). why (may be NULL) gets the reason. */
enum pgw_auth_state pgw_auth_prepare(struct pgw_daemon *d, struct pgw_pack *pack,
                                     char *why, size_t whylen);
/* Forget the channel's token (the channel answered 401): the next prepare
 * fetches a new one. */
void pgw_auth_invalidate(struct pgw_daemon *d, const char *channel);
/* Fetch tokens for every loaded pack that needs one (start-up, and then
 * ahead of expiry from the scheduler tick). */
void pgw_auth_refresh(struct pgw_daemon *d);

#endif
