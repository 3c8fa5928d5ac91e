/*
 * pgwctl_chadmin: the pack versions of the running paygwd, over the admin API
 * (docs/pack-versions.md).
 *
 *   paygwctl channel status [NAME] [--json]
 *   paygwctl channel reload NAME [--canary PCT] --reason TEXT [--who NAME]
 *   paygwctl channel rollback NAME --reason TEXT [--who NAME]
 *   paygwctl channel promote NAME --reason TEXT [--who NAME]
 *
 * status prints one line per channel: the version serving, the previous one
 * (the rollback target), a canary with its share and error counts, and the
 * last reload with the error that refused it (file and line, or fixture).
 */
#include "pgwctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pgwctl__chadmin_usage(void)
{
    fprintf(stderr,
        "usage: paygwctl channel status [NAME] [--json]\n"
        "       paygwctl channel reload NAME [--canary PCT] --reason TEXT [--who NAME]\n"
        "       paygwctl channel rollback|promote NAME --reason TEXT [--who NAME]\n");
}

static void pgwctl__print_status(const json_t *v, const char *only)
{
    const json_t *c;
    size_t i;

    printf("%-16s %-13s %-13s %-24s %s\n", "CHANNEL", "VERSION", "PREVIOUS", "CANARY",
           "LAST RELOAD");
    json_array_foreach(json_object_get(v, "channels"), i, c) {
        const char *name = json_string_value(json_object_get(c, "channel"));
        const char *ver = json_string_value(json_object_get(c, "version"));
        const char *prev = json_string_value(json_object_get(c, "previous"));
        const json_t *can = json_object_get(c, "canary");
        const json_t *last = json_object_get(c, "last_reload");
        char cs[64] = "-", ls[700] = "-";

        if (only && strcmp(only, name) != 0)
            continue;
        if (json_is_object(can))
            snprintf(cs, sizeof(cs), "%s %lld%% %lld/%lld err",
                     json_string_value(json_object_get(can, "version")),
                     (long long)json_integer_value(json_object_get(can, "pct")),
                     (long long)json_integer_value(json_object_get(can, "errors")),
                     (long long)json_integer_value(json_object_get(can, "outcomes")));
        if (json_is_object(last)) {
            const char *err = json_string_value(json_object_get(last, "error"));
            snprintf(ls, sizeof(ls), "%s%s%s",
                     json_string_value(json_object_get(last, "result")),
                     err ? ": " : "", err ? err : "");
        }
        printf("%-16s %-13s %-13s %-24s %s\n", name, ver ? ver : "-", prev ? prev : "-",
               cs, ls);
    }
}

int pgwctl_cmd_channel_admin(const struct pgwctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"canary", required_argument, NULL, 'k'},
        {"reason", required_argument, NULL, 'r'},
        {"who", required_argument, NULL, 'W'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *reason = NULL, *who = NULL, *sub, *name;
    long canary = 0;
    int raw = 0, ch, rc;
    json_t *v = NULL;
    char path[256];

    optind = 0;
    while ((ch = getopt_long(argc, argv, "k:r:W:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'k': {
            char *end;
            canary = strtol(optarg, &end, 10);
            if (*end || end == optarg || canary < 1 || canary > 99) {
                fprintf(stderr, "paygwctl: --canary is a percentage from 1 to 99\n");
                return PGWCTL_EXIT_USAGE;
            }
            break;
        }
        case 'r': reason = optarg; break;
        case 'W': who = optarg; break;
        case 'j': raw = 1; break;
        default: pgwctl__chadmin_usage(); return PGWCTL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        pgwctl__chadmin_usage();
        return PGWCTL_EXIT_USAGE;
    }
    sub = argv[optind];
    name = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (strcmp(sub, "status") == 0) {
        if (optind + 2 < argc) {
            pgwctl__chadmin_usage();
            return PGWCTL_EXIT_USAGE;
        }
        rc = pgwctl_admin_call(o, "GET", "/admin/channels", NULL, &v);
        if (rc == PGWCTL_EXIT_OK) {
            if (raw)
                pgwctl_print_json(v, 0);
            else
                pgwctl__print_status(v, name);
        }
        json_decref(v);
        return rc;
    }
    if (name == NULL || optind + 2 != argc) {
        fprintf(stderr, "paygwctl: channel %s needs one NAME\n", sub);
        return PGWCTL_EXIT_USAGE;
    }
    if (reason == NULL || reason[0] == '\0') {
        fprintf(stderr, "paygwctl: --reason is required (why the change)\n");
        return PGWCTL_EXIT_USAGE;
    }
    if (canary && strcmp(sub, "reload") != 0) {
        fprintf(stderr, "paygwctl: --canary only with channel reload\n");
        return PGWCTL_EXIT_USAGE;
    }
    if (who == NULL)
        who = getenv("USER");
    if (who == NULL || who[0] == '\0') {
        fprintf(stderr, "paygwctl: --who is required (no $USER)\n");
        return PGWCTL_EXIT_USAGE;
    }
    json_t *b = json_pack("{s:s, s:s}", "reason", reason, "who", who);
    if (canary)
        json_object_set_new(b, "canary_pct", json_integer(canary));
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    if (body == NULL)
        return PGWCTL_EXIT_FAIL;
    snprintf(path, sizeof(path), "/admin/channels/%s/%s", name, sub);
    rc = pgwctl_admin_call(o, "POST", path, body, &v);
    free(body);
    if (rc == PGWCTL_EXIT_OK) {
        const char *prev = json_string_value(json_object_get(v, "previous"));
        printf("%s: %s, version %s%s%s%s\n", name,
               json_string_value(json_object_get(v, "result")),
               json_string_value(json_object_get(v, "version")),
               prev ? " (was " : "", prev ? prev : "", prev ? ")" : "");
    }
    json_decref(v);
    return rc;
}
