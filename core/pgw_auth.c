/*
 * pgw_auth.c — the OAuth2 token cache of the channels (see pgw_auth.h).
 *
 * One entry per channel: the token the pack's token op returned
 * (fields.access_token, fields.expires_in seconds), when it stops being
 * used (90 % of its life, at most 5 minutes before it ends), whether a fetch
 * is in flight, and the last failure. The token op goes through the same
 * transport as any channel call, on a fresh connection, with the channel's
 * timeouts; it is not an order operation, so it leaves no attempt row.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "pgw_auth.h"
#include "pgw_config.h"
#include "pgw_daemon.h"
#include "pgw_dispatch.h"
#include "pgw_log.h"
#include "pgw_op.h"
#include "pgw_pack.h"
#include "pgw_store.h"

#define PGW__AUTH_RETRY_MS 5000


struct pgw__token {
    char channel[32];
    json_t *token;              /* owned: {access_token, expires_in, ...} */
    int64_t use_until;          /* ms; 0 = none */
    int fetching;
    int64_t failed_at;          /* ms of the last failed fetch, 0 = none */
    char error[300];
    struct pgw__token *next;
};

struct pgw_auth {
    struct pgw__token *head;
};


struct pgw_auth *
pgw_auth_new(void)
{
    return calloc(1, sizeof(struct pgw_auth));
}


void
pgw_auth_free(struct pgw_auth *a)
{
    if (a == NULL) {
        return;
    }
    for (struct pgw__token *t = a->head, *next; t; t = next) {
        next = t->next;
        json_decref(t->token);
        free(t);
    }
    free(a);
}


static const char *
pgw__auth_op(const struct pgw_pack *pack)
{
    return json_string_value(json_object_get(
        json_object_get(pgw_pack_manifest(pack), "auth"), "op"));
}


static struct pgw__token *
pgw__entry(struct pgw_auth *a, const char *channel)
{
    struct pgw__token *t;

    for (t = a->head; t; t = t->next) {
        if (strcmp(t->channel, channel) == 0) {
            return t;
        }
    }
    t = calloc(1, sizeof(*t));
    if (t != NULL) {
        snprintf(t->channel, sizeof(t->channel), "%s", channel);
        t->next = a->head;
        a->head = t;
    }
    return t;
}


/* now that a token exists, orders that waited for it go out */
static void
pgw__release_waiting(struct pgw_daemon *d)
{
    sqlite3_stmt *st = pgw_store_query(d->store,
                                       "SELECT id FROM orders WHERE status ="
                                       " 'ACCEPTED' ORDER BY id LIMIT 256", "");
    int64_t ids[256];
    int n = pgw_store_ids(st, ids, 256);

    for (int i = 0; i < n; i++) {
        pgw_dispatch_pay(d, ids[i]);
    }
}


static void
pgw__fetched(void *arg, const struct pgw_http_result *res)
{
    struct pgw_op *op = arg;
    struct pgw_daemon *d = op->d;
    struct pgw__token *t = pgw__entry(d->auth, op->channel);
    struct pgw_outcome out;
    const char *tok;
    int64_t life, now = pgw_now_ms();

    memset(&out, 0, sizeof(out));
    if (res->sent == PGW_SENT_ANSWERED) {
        pgw_pack_parse(op->pack, op->op, res->status, res->headers, res->body,
                       res->body_len, op->order_json, &out);
    } else {
        snprintf(out.error, sizeof(out.error), "%s", res->error);
    }
    tok = json_string_value(json_object_get(out.fields, "access_token"));
    if (t != NULL) {
        t->fetching = 0;
        if (tok != NULL && tok[0] != '\0' && out.error[0] == '\0') {
            json_decref(t->token);
            t->token = json_deep_copy(out.fields);
            life = json_integer_value(json_object_get(out.fields, "expires_in"))
                   * 1000;
            if (life <= 0) {
                life = 300000;      /* no lifetime given: refresh in 5 min */
            }
            t->use_until = now + (life - life / 10 > life - 300000
                                  ? life - life / 10 : life - 300000);
            if (t->use_until <= now) {
                t->use_until = now + life / 2;
            }
            t->failed_at = 0;
            t->error[0] = '\0';
            pgw_log(PGW_LOG_INFO, "auth.token", "%s: token valid for %lld s",
                    op->channel, (long long) (life / 1000));
            pgw__release_waiting(d);
        } else {
            t->failed_at = now;
            snprintf(t->error, sizeof(t->error), "%s",
                     out.error[0] ? out.error
                     : res->sent == PGW_SENT_ANSWERED ? "no access_token"
                                                      : res->error);
            pgw_log(PGW_LOG_WARN, "auth.token_failed", "%s: %s", op->channel,
                    t->error);
        }
    }
    pgw_outcome_clear(&out);
    pgw_op_free(op);
}


static void
pgw__fetch(struct pgw_daemon *d, struct pgw__token *t, struct pgw_pack *pack)
{
    struct pgw_op *op = pgw_op_new(d, 0, pgw__auth_op(pack), t->channel);
    char err[256];

    if (op == NULL) {
        return;
    }
    op->order_json = json_object();
    if (op->order_json == NULL
        || pgw_pack_build(op->pack, op->op, op->order_json, &op->msg, err,
                          sizeof(err)) != 0
        || op->msg.url == NULL) {
        t->failed_at = pgw_now_ms();
        snprintf(t->error, sizeof(t->error), "token op: %s",
                 op->order_json ? err : "out of memory");
        pgw_log(PGW_LOG_ERROR, "auth.token_failed", "%s: %s", t->channel,
                t->error);
        pgw_op_free(op);
        return;
    }
    t->fetching = 1;
    if (pgw_op_send(op, 1, pgw__fetched) != PGW_OK) {
        struct pgw_http_result res;

        memset(&res, 0, sizeof(res));
        res.sent = PGW_SENT_NOT_SENT;
        snprintf(res.error, sizeof(res.error), "transport refused the send");
        pgw__fetched(op, &res);
    }
}


enum pgw_auth_state
pgw_auth_prepare(struct pgw_daemon *d, struct pgw_pack *pack, char *why,
                 size_t whylen)
{
    struct pgw__token *t;
    int64_t now;

    if (pgw__auth_op(pack) == NULL) {
        return PGW_AUTH_READY;
    }
    t = pgw__entry(d->auth, pgw_pack_channel(pack));
    if (t == NULL) {
        if (why) {
            snprintf(why, whylen, "out of memory");
        }
        return PGW_AUTH_FAILED;
    }
    now = pgw_now_ms();
    if (t->token != NULL && now < t->use_until) {
        /* every version gets it: a reloaded pack starts without one */
        pgw_pack_set_token(pack, t->token);
        return PGW_AUTH_READY;
    }
    if (!t->fetching && (t->failed_at == 0
                         || now - t->failed_at >= PGW__AUTH_RETRY_MS)) {
        pgw__fetch(d, t, pack);
    }
    if (t->fetching) {
        if (why) {
            snprintf(why, whylen, "%s: OAuth2 token being fetched", t->channel);
        }
        return PGW_AUTH_PENDING;
    }
    if (why) {
        snprintf(why, whylen, "%s: no OAuth2 token (%s)", t->channel, t->error);
    }
    return PGW_AUTH_FAILED;
}


void
pgw_auth_invalidate(struct pgw_daemon *d, const char *channel)
{
    for (struct pgw__token *t = d->auth->head; t; t = t->next) {
        if (strcmp(t->channel, channel) == 0) {
            t->use_until = 0;
        }
    }
}


void
pgw_auth_refresh(struct pgw_daemon *d)
{
    for (struct pgw_channel_conf *c = d->conf->channels; c; c = c->next) {
        struct pgw_pack *pack = pgw_packs_get(d->packs, c->name);

        if (pack != NULL && pgw__auth_op(pack) != NULL) {
            (void) pgw_auth_prepare(d, pack, NULL, 0);
        }
    }
}
