/*
 * pgw_recon_run.h — statement reconciliation inside paygwd: the admin API
 * of runs and discrepancies, the worker thread that parses and matches, the
 * recon metrics (docs/reconciliation.md).
 */

#ifndef PGW_RECON_RUN_H
#define PGW_RECON_RUN_H

struct evbuffer;
struct evhttp_request;
struct pgw_daemon;

/* serves /admin/recon/... (and /admin/discrepancies... through
 * pgw_discrepancy.c); returns 1 when the path was one of those (answered
 * or answering), 0 otherwise */
int pgw_recon_admin(struct pgw_daemon *d, struct evhttp_request *req,
                    const char *path);
/* Prometheus lines: paygw_recon_runs_total, paygw_recon_items_total */
void pgw_recon_metrics(struct pgw_daemon *d, struct evbuffer *out);
/* at shutdown, before the store closes: stops and joins a running worker
 * (its run stays RUNNING in the store; the next run marks it FAILED) */
void pgw_recon_stop(struct pgw_daemon *d);

#endif
