/*
 * pgw_notify_in.h — channel notifications (POST /notify/{channel}, through
 * nginx): verified by the channel's pack over the raw bytes, then applied as
 * final evidence. A notify that does not verify changes nothing.
 */

#ifndef PGW_NOTIFY_IN_H
#define PGW_NOTIFY_IN_H

struct pgw_daemon;
struct evhttp_request;

void pgw_notify_in(struct pgw_daemon *d, struct evhttp_request *req,
                   const char *channel);

#endif
