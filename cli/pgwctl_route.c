/*
 * pgwctl_route: the ops route controls of the admin API (docs/routing.md).
 *
 *   paygwctl route list [--json]
 *   paygwctl route enable|disable|drain|weight CHANNEL [--method M] [--app A]
 *            [--weight N] [--for 10m] --reason "..." [--who NAME]
 *   paygwctl route reload --reason "..." [--who NAME]
 *
 * list prints one line per channel (state, weight, in-flight, success % and
 * p99 over the last 10 minutes) and its rules below it with the time a timed
 * rule has left, then the routes.conf in force.  The others POST
 * /admin/routes (reload: /admin/routes/reload, which names the file and line
 * of a refused file); --who defaults to $USER.
 */
#include "pgwctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pgwctl__route_usage(void)
{
    fprintf(stderr,
        "usage: paygwctl route list [--json]\n"
        "       paygwctl route enable|disable|drain|weight CHANNEL\n"
        "                [--method M] [--app A] [--weight N] [--for DURATION]\n"
        "                --reason TEXT [--who NAME]\n"
        "       paygwctl route reload --reason TEXT [--who NAME]\n"
        "  DURATION: seconds, or N followed by s, m, h or d (disable, drain)\n");
}

/* "90", "90s", "10m", "2h", "1d" -> seconds, or -1 */
static long pgwctl__duration(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    long mul = 1;

    if (end == s || n <= 0)
        return -1;
    if (*end == 'm')
        mul = 60;
    else if (*end == 'h')
        mul = 3600;
    else if (*end == 'd')
        mul = 86400;
    else if (*end != 's' && *end != '\0')
        return -1;
    if (*end != '\0' && end[1] != '\0')
        return -1;
    if (n > 366L * 86400 / mul)
        return -1;
    return n * mul;
}

static void pgwctl__remaining(long s, char *buf, size_t len)
{
    if (s >= 3600)
        snprintf(buf, len, "%ldh%02ldm left", s / 3600, (s % 3600) / 60);
    else if (s >= 60)
        snprintf(buf, len, "%ldm%02lds left", s / 60, s % 60);
    else
        snprintf(buf, len, "%lds left", s);
}

/* one exchange with /admin/routes<path> (pgwctl_admin.c) */
static int pgwctl__admin(const struct pgwctl_opts *o, const char *method,
                         const char *path, const char *body, json_t **out)
{
    char p[64];

    snprintf(p, sizeof(p), "/admin/routes%s", path);
    return pgwctl_admin_call(o, method, p, body, out);
}

static void pgwctl__print_routes_file(const json_t *f)
{
    const json_t *x;
    size_t i;

    if (!json_is_object(f)) {
        printf("routes.conf: none (every channel serves what its pack offers)\n");
        return;
    }
    printf("routes.conf: %s (sha256 %.12s)",
           json_string_value(json_object_get(f, "path")),
           json_string_value(json_object_get(f, "sha256")));
    json_array_foreach(json_object_get(f, "strategies"), i, x)
        printf("%s %s=%s", i ? "," : "; strategies",
               json_string_value(json_object_get(x, "method")),
               json_string_value(json_object_get(x, "strategy")));
    printf("; %zu route lines, %zu app rules\n",
           json_array_size(json_object_get(f, "routes")),
           json_array_size(json_object_get(f, "apps")));
}

static void pgwctl__print_routes(const json_t *v)
{
    const json_t *chans = json_object_get(v, "channels");
    const json_t *c;
    size_t i;

    printf("%-16s %-10s %-9s %6s %9s %9s %8s %6s\n", "CHANNEL", "STATE",
           "CIRCUIT", "WEIGHT", "IN-FLIGHT", "SUCCESS%", "P99-MS", "ERR-1M");
    json_array_foreach(chans, i, c) {
        const json_t *rate = json_object_get(c, "success_rate_10m");
        const json_t *p99 = json_object_get(c, "p99_ms_10m");
        const json_t *rules = json_object_get(c, "rules");
        char rs[16], ps[24], left[48] = "";
        const json_t *r;
        size_t k;

        if (json_is_number(rate))
            snprintf(rs, sizeof(rs), "%.1f", 100.0 * json_number_value(rate));
        else
            snprintf(rs, sizeof(rs), "-");
        if (json_is_integer(p99))
            snprintf(ps, sizeof(ps), "%lld", (long long)json_integer_value(p99));
        else
            snprintf(ps, sizeof(ps), "-");
        if (json_is_integer(json_object_get(c, "remaining_s")))
            pgwctl__remaining((long)json_integer_value(
                                  json_object_get(c, "remaining_s")),
                              left, sizeof(left));
        const char *circ = json_string_value(json_object_get(c, "circuit"));
        printf("%-16s %-10s %-9s %6lld %9lld %9s %8s %6lld%s%s\n",
               json_string_value(json_object_get(c, "channel")),
               json_string_value(json_object_get(c, "state")),
               circ ? circ : "-",
               (long long)json_integer_value(json_object_get(c, "weight")),
               (long long)json_integer_value(json_object_get(c, "in_flight")),
               rs, ps,
               (long long)json_integer_value(json_object_get(c, "errors_1m")),
               left[0] ? "  " : "", left);
        json_array_foreach(rules, k, r) {
            const char *m = json_string_value(json_object_get(r, "method"));
            const char *a = json_string_value(json_object_get(r, "app"));
            const json_t *rem = json_object_get(r, "remaining_s");
            left[0] = '\0';
            if (json_is_integer(rem))
                pgwctl__remaining((long)json_integer_value(rem), left,
                                  sizeof(left));
            printf("  rule method=%s app=%s: %s, weight %lld%s%s\n",
                   m ? m : "*", a ? a : "*",
                   json_string_value(json_object_get(r, "state")),
                   (long long)json_integer_value(json_object_get(r, "weight")),
                   left[0] ? ", " : "", left);
        }
    }
    pgwctl__print_routes_file(json_object_get(v, "routes_file"));
}

int pgwctl_cmd_route(const struct pgwctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"method", required_argument, NULL, 'm'},
        {"app", required_argument, NULL, 'a'},
        {"weight", required_argument, NULL, 'w'},
        {"for", required_argument, NULL, 'f'},
        {"reason", required_argument, NULL, 'r'},
        {"who", required_argument, NULL, 'W'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *method = NULL, *app = NULL, *reason = NULL, *who = NULL;
    long weight = -1, ttl = 0;
    int raw = 0, ch;
    json_t *v = NULL;

    optind = 0; /* full getopt reset: the global parse used "+" */
    while ((ch = getopt_long(argc, argv, "m:a:w:f:r:W:jh", longopts, NULL)) !=
           -1) {
        switch (ch) {
        case 'm': method = optarg; break;
        case 'a': app = optarg; break;
        case 'w': {
            char *end;
            weight = strtol(optarg, &end, 10);
            if (*end || end == optarg || weight < 0 || weight > 1000000) {
                fprintf(stderr, "paygwctl: --weight must be 0..1000000\n");
                return PGWCTL_EXIT_USAGE;
            }
            break;
        }
        case 'f':
            ttl = pgwctl__duration(optarg);
            if (ttl <= 0) {
                fprintf(stderr, "paygwctl: --for: e.g. 90s, 10m, 2h, 1d\n");
                return PGWCTL_EXIT_USAGE;
            }
            break;
        case 'r': reason = optarg; break;
        case 'W': who = optarg; break;
        case 'j': raw = 1; break;
        default: pgwctl__route_usage(); return PGWCTL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        pgwctl__route_usage();
        return PGWCTL_EXIT_USAGE;
    }
    const char *sub = argv[optind];
    if (strcmp(sub, "list") == 0) {
        if (optind + 1 != argc) {
            pgwctl__route_usage();
            return PGWCTL_EXIT_USAGE;
        }
        int rc = pgwctl__admin(o, "GET", "", NULL, &v);
        if (rc == PGWCTL_EXIT_OK) {
            if (raw)
                pgwctl_print_json(v, 0);
            else
                pgwctl__print_routes(v);
        }
        json_decref(v);
        return rc;
    }
    if (strcmp(sub, "reload") == 0) {
        if (optind + 1 != argc || reason == NULL || reason[0] == '\0') {
            fprintf(stderr, "paygwctl: route reload --reason TEXT [--who NAME]\n");
            return PGWCTL_EXIT_USAGE;
        }
        if (who == NULL)
            who = getenv("USER");
        if (who == NULL || who[0] == '\0') {
            fprintf(stderr, "paygwctl: --who is required (no $USER)\n");
            return PGWCTL_EXIT_USAGE;
        }
        json_t *b = json_pack("{s:s, s:s}", "reason", reason, "who", who);
        char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
        json_decref(b);
        if (body == NULL)
            return PGWCTL_EXIT_FAIL;
        int rc = pgwctl__admin(o, "POST", "/reload", body, &v);
        free(body);
        if (rc == PGWCTL_EXIT_OK) {
            printf("reloaded: ");
            pgwctl__print_routes_file(json_object_get(v, "routes_file"));
        }
        json_decref(v);
        return rc;
    }
    if (strcmp(sub, "enable") != 0 && strcmp(sub, "disable") != 0 &&
        strcmp(sub, "drain") != 0 && strcmp(sub, "weight") != 0) {
        pgwctl__route_usage();
        return PGWCTL_EXIT_USAGE;
    }
    if (optind + 2 != argc) {
        fprintf(stderr, "paygwctl: route %s needs one CHANNEL\n", sub);
        return PGWCTL_EXIT_USAGE;
    }
    if (reason == NULL || reason[0] == '\0') {
        fprintf(stderr, "paygwctl: --reason is required (why the change)\n");
        return PGWCTL_EXIT_USAGE;
    }
    if (strcmp(sub, "weight") == 0 && weight < 0) {
        fprintf(stderr, "paygwctl: route weight needs --weight N\n");
        return PGWCTL_EXIT_USAGE;
    }
    if (strcmp(sub, "weight") != 0 && weight >= 0) {
        fprintf(stderr, "paygwctl: --weight only with route weight\n");
        return PGWCTL_EXIT_USAGE;
    }
    if (ttl > 0 && strcmp(sub, "disable") != 0 && strcmp(sub, "drain") != 0) {
        fprintf(stderr, "paygwctl: --for only with disable or drain\n");
        return PGWCTL_EXIT_USAGE;
    }
    if (who == NULL)
        who = getenv("USER");
    if (who == NULL || who[0] == '\0') {
        fprintf(stderr, "paygwctl: --who is required (no $USER)\n");
        return PGWCTL_EXIT_USAGE;
    }
    json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "channel", argv[optind + 1],
                          "action", sub, "reason", reason, "who", who);
    if (method)
        json_object_set_new(b, "method", json_string(method));
    if (app)
        json_object_set_new(b, "app", json_string(app));
    if (weight >= 0)
        json_object_set_new(b, "weight", json_integer(weight));
    if (ttl > 0)
        json_object_set_new(b, "ttl_s", json_integer(ttl));
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    if (body == NULL)
        return PGWCTL_EXIT_FAIL;
    int rc = pgwctl__admin(o, "POST", "", body, &v);
    free(body);
    if (rc == PGWCTL_EXIT_OK) {
        const json_t *r = json_object_get(v, "rule");
        const char *m = json_string_value(json_object_get(r, "method"));
        const char *a = json_string_value(json_object_get(r, "app"));
        const json_t *until = json_object_get(r, "until_ms");
        printf("%s method=%s app=%s: %s, weight %lld", argv[optind + 1],
               m ? m : "*", a ? a : "*",
               json_string_value(json_object_get(r, "state")),
               (long long)json_integer_value(json_object_get(r, "weight")));
        if (json_is_integer(until))
            printf(", for %lds", ttl);
        printf("\n");
    }
    json_decref(v);
    return rc;
}
