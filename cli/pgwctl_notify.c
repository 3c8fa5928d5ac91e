/*
 * pgwctl_notify: the caller-notification outbox (SPEC §3.5) through the
 * admin API.
 *
 *   paygwctl notify list [--status pending|gave_up|delivered] [--order NO]
 *                        [--app A] [--json]
 *   paygwctl notify push ID | --order NO [--app A] [--who NAME] [--reason TEXT]
 *
 * list prints one line per notification (newest first): id, state,
 * attempts, the order, its type and the last error. push re-queues one
 * notification, or every undelivered one of an order (oldest first, so they
 * keep their sequence), for delivery now on a fresh schedule.
 */
#include "pgwctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

static void pgwctl__notify_usage(void)
{
    fprintf(stderr,
        "usage: paygwctl notify list [--status pending|gave_up|delivered]\n"
        "                [--order OUT_TRADE_NO] [--app APP_ID] [--json]\n"
        "       paygwctl notify push ID | --order OUT_TRADE_NO [--app APP_ID]\n"
        "                [--who NAME] [--reason TEXT]\n");
}

static void pgwctl__ms_time(const json_t *v, char *buf, size_t len)
{
    if (!json_is_integer(v)) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)(json_integer_value(v) / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "-");
}

static void pgwctl__print_list(const json_t *v)
{
    const json_t *n;
    size_t i;

    printf("%-8s %-9s %4s %-24s %-20s %-20s %s\n", "ID", "STATE", "TRY",
           "OUT_TRADE_NO", "TYPE", "NEXT", "LAST ERROR");
    json_array_foreach(json_object_get(v, "notifications"), i, n) {
        char next[32];
        const char *state = json_string_value(json_object_get(n, "state"));
        const char *err = json_string_value(json_object_get(n, "last_error"));
        pgwctl__ms_time(json_object_get(n, "next_at"), next, sizeof(next));
        printf("%-8lld %-9s %4lld %-24s %-20s %-20s %s\n",
               (long long)json_integer_value(json_object_get(n, "id")),
               state ? state : "?",
               (long long)json_integer_value(json_object_get(n, "attempts")),
               json_string_value(json_object_get(n, "out_trade_no")),
               json_string_value(json_object_get(n, "type")),
               state && strcmp(state, "PENDING") == 0 ? next : "-",
               err ? err : "");
    }
}

static int pgwctl__escape_into(const char *name, const char *value,
                               char *q, size_t qlen)
{
    char *e;

    if (value == NULL)
        return 0;
    e = curl_easy_escape(NULL, value, 0);
    if (e == NULL)
        return -1;
    size_t used = strlen(q);
    int n = snprintf(q + used, qlen - used, "%s%s=%s", used ? "&" : "?",
                     name, e);
    curl_free(e);
    return n < 0 || (size_t)n >= qlen - used ? -1 : 0;
}

int pgwctl_cmd_notify(const struct pgwctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"status", required_argument, NULL, 's'},
        {"order", required_argument, NULL, 'o'},
        {"app", required_argument, NULL, 'a'},
        {"who", required_argument, NULL, 'W'},
        {"reason", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *status = NULL, *order = NULL, *app = NULL, *who = NULL,
               *reason = NULL;
    int raw = 0, ch, rc;
    json_t *v = NULL;

    optind = 0; /* full getopt reset: the global parse used "+" */
    while ((ch = getopt_long(argc, argv, "s:o:a:W:r:jh", longopts, NULL)) !=
           -1) {
        switch (ch) {
        case 's': status = optarg; break;
        case 'o': order = optarg; break;
        case 'a': app = optarg; break;
        case 'W': who = optarg; break;
        case 'r': reason = optarg; break;
        case 'j': raw = 1; break;
        default: pgwctl__notify_usage(); return PGWCTL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        pgwctl__notify_usage();
        return PGWCTL_EXIT_USAGE;
    }
    const char *sub = argv[optind++];

    if (strcmp(sub, "list") == 0) {
        char q[1024] = "";
        if (status && strcmp(status, "pending") && strcmp(status, "gave_up") &&
            strcmp(status, "delivered")) {
            fprintf(stderr, "paygwctl: --status: pending, gave_up or "
                            "delivered\n");
            return PGWCTL_EXIT_USAGE;
        }
        if (pgwctl__escape_into("state", status, q, sizeof(q)) ||
            pgwctl__escape_into("out_trade_no", order, q, sizeof(q)) ||
            pgwctl__escape_into("app_id", app, q, sizeof(q))) {
            fprintf(stderr, "paygwctl: arguments too long\n");
            return PGWCTL_EXIT_USAGE;
        }
        char path[1200];
        snprintf(path, sizeof(path), "/admin/notifications%s", q);
        rc = pgwctl_admin_call(o, "GET", path, NULL, &v);
        if (rc == PGWCTL_EXIT_OK) {
            if (raw)
                pgwctl_print_json(v, 0);
            else
                pgwctl__print_list(v);
        }
        json_decref(v);
        return rc;
    }
    if (strcmp(sub, "push") == 0) {
        json_t *body = json_object();
        if (optind < argc) {
            char *end;
            long long id = strtoll(argv[optind], &end, 10);
            if (*end || end == argv[optind] || id <= 0 || order) {
                json_decref(body);
                pgwctl__notify_usage();
                return PGWCTL_EXIT_USAGE;
            }
            json_object_set_new(body, "id", json_integer(id));
        } else if (order) {
            json_object_set_new(body, "out_trade_no", json_string(order));
            if (app)
                json_object_set_new(body, "app_id", json_string(app));
        } else {
            json_decref(body);
            pgwctl__notify_usage();
            return PGWCTL_EXIT_USAGE;
        }
        const char *user = getenv("USER");
        json_object_set_new(body, "who", json_string(who ? who : user ? user
                                                                : "paygwctl"));
        if (reason)
            json_object_set_new(body, "reason", json_string(reason));
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        rc = pgwctl_admin_call(o, "POST", "/admin/notifications/push", text,
                               &v);
        free(text);
        if (rc == PGWCTL_EXIT_OK) {
            const json_t *id;
            size_t i;
            if (raw)
                pgwctl_print_json(v, 0);
            else
                json_array_foreach(json_object_get(v, "pushed"), i, id)
                    printf("notification %lld: queued for delivery now\n",
                           (long long)json_integer_value(id));
        }
        json_decref(v);
        return rc;
    }
    pgwctl__notify_usage();
    return PGWCTL_EXIT_USAGE;
}
