/*
 * pgwctl_review: "paygwctl review [--json]" — the review queue through the
 * admin API: PROCESSING payments whose query schedule is exhausted (they
 * are still queried; a person looks at them with the channel).
 */
#include "pgwctl.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int pgwctl_cmd_review(const struct pgwctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int raw = 0, ch, rc;
    json_t *v = NULL;
    const json_t *r;
    size_t i;

    optind = 0;
    while ((ch = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'j': raw = 1; break;
        default:
            fprintf(stderr, "usage: paygwctl review [--json]\n");
            return PGWCTL_EXIT_USAGE;
        }
    }
    rc = pgwctl_admin_call(o, "GET", "/admin/review", NULL, &v);
    if (rc != PGWCTL_EXIT_OK)
        return rc;
    if (raw) {
        pgwctl_print_json(v, 0);
    } else {
        printf("%-24s %-6s %-14s %10s %-4s %7s %-20s %s\n", "OUT_TRADE_NO",
               "APP", "CHANNEL", "AMOUNT", "CUR", "QUERIES", "SINCE",
               "REASON");
        json_array_foreach(json_object_get(v, "review"), i, r) {
            char since[32] = "-";
            time_t t = (time_t)(json_integer_value(json_object_get(r,
                                                                   "since")) /
                                1000);
            struct tm tm;
            if (gmtime_r(&t, &tm) != NULL)
                strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
            printf("%-24s %-6s %-14s %10lld %-4s %7lld %-20s %s\n",
                   json_string_value(json_object_get(r, "out_trade_no")),
                   json_string_value(json_object_get(r, "app_id")),
                   json_string_value(json_object_get(r, "channel")),
                   (long long)json_integer_value(json_object_get(r, "amount")),
                   json_string_value(json_object_get(r, "currency")),
                   (long long)json_integer_value(
                       json_object_get(r, "query_count")),
                   since, json_string_value(json_object_get(r, "reason")));
        }
    }
    json_decref(v);
    return PGWCTL_EXIT_OK;
}
