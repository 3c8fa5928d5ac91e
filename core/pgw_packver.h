/*
 * pgw_packver.h — pack versions in the running daemon (docs/pack-versions.md):
 * live reload (inotify on templates/ and scripts/, the admin API), one-step
 * rollback, an optional canary share of new pays with automatic rollback when
 * its error rate rises, which version an operation runs on, and the record
 * of every change (pack_events) with an alert when a new version is refused.
 */

#ifndef PGW_PACKVER_H
#define PGW_PACKVER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct pgw_daemon;
struct pgw_pack;

/* watches the pack directories (conf pack_watch 1); 0 or -1 + err */
int pgw_packver_start(struct pgw_daemon *d, char *err, size_t errlen);
void pgw_packver_stop(struct pgw_daemon *d);

/* reads the channel's files again; canary_pct > 0 stages the new version for
 * that share of new pays instead of swapping it in. PGW_OK (answer in *out:
 * {channel, result: "installed"|"canary"|"unchanged", version, previous}),
 * PGW_ERR with err = "<file>:<line>: ..." or the failing fixture (the version
 * in force keeps serving; alert + event), PGW_NOTFOUND for an unknown channel */
int pgw_packver_reload(struct pgw_daemon *d, const char *channel, int canary_pct,
                       const char *who, const char *reason, json_t **out,
                       char *err, size_t errlen);
/* a canary is dropped; else current <-> previous */
int pgw_packver_rollback(struct pgw_daemon *d, const char *channel, const char *who,
                         const char *reason, json_t **out, char *err, size_t errlen);
/* the canary becomes the current version */
int pgw_packver_promote(struct pgw_daemon *d, const char *channel, const char *who,
                        const char *reason, json_t **out, char *err, size_t errlen);

/* the version a new pay of the channel runs on (the canary for its share),
 * borrowed; NULL when the channel has no pack */
struct pgw_pack *pgw_packver_for_pay(struct pgw_daemon *d, const char *channel);
/* the version a later operation of an order runs on: the one that built the
 * order's pay while it is remembered, else the current one (borrowed) */
struct pgw_pack *pgw_packver_for_order(struct pgw_daemon *d, const char *channel,
                                       int64_t order_id);
/* one outcome of a version (error = the pack could not build, or its parser
 * failed, or the code was on no list): feeds the canary judgement */
void pgw_packver_note(struct pgw_daemon *d, const struct pgw_pack *pack, int error);

/* {channels: [{channel, version, previous, canary?, last_reload?}]} */
json_t *pgw_packver_status(struct pgw_daemon *d);

#endif
