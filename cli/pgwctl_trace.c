/*
 * pgwctl_trace: "paygwctl trace OUT_TRADE_NO [--app A1] [--json]" asks the
 * admin API (GET /admin/orders/{no}[?app_id=], bearer token) for everything
 * paygwd recorded about an order and prints it readably: the order's fields,
 * then each section (transitions, attempts, messages, notifications,
 * discrepancies, …) one entry per line, long texts such as masked messages
 * indented below their entry.  --json prints the raw answer.
 */
#include "pgwctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PGWCTL_INLINE_MAX 80

static int pgwctl__is_long_text(const json_t *v)
{
    const char *s = json_string_value(v);
    return s != NULL && (strlen(s) > PGWCTL_INLINE_MAX || strchr(s, '\n'));
}

/* Times named "at" or "*_at" that paygwd gives as epoch milliseconds (or
 * seconds) print as RFC 3339 UTC. */
static int pgwctl__print_time(const char *key, const json_t *v)
{
    size_t n = strlen(key);
    if (!json_is_integer(v) ||
        !(strcmp(key, "at") == 0 || (n > 3 && strcmp(key + n - 3, "_at") == 0)))
        return 0;

    json_int_t t = json_integer_value(v);
    long ms = -1;
    if (t > 100000000000LL) { /* milliseconds */
        ms = (long)(t % 1000);
        t /= 1000;
    }
    time_t secs = (time_t)t;
    struct tm tm;
    char buf[32];
    if (t <= 0 || gmtime_r(&secs, &tm) == NULL ||
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return 0;
    if (ms >= 0)
        printf("%s.%03ldZ", buf, ms);
    else
        printf("%sZ", buf);
    return 1;
}

/* Prints a scalar (or a compact nested value) without a newline. */
static void pgwctl__print_value(const char *key, const json_t *v)
{
    if (pgwctl__print_time(key, v))
        return;
    if (json_is_string(v)) {
        printf("%s", json_string_value(v));
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                                JSON_PRESERVE_ORDER);
    printf("%s", s ? s : "?");
    free(s);
}

static void pgwctl__print_text(const char *s, int indent)
{
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        printf("%*s%.*s\n", indent, "", (int)n, s);
        s += n + (nl ? 1 : 0);
    }
}

static void pgwctl__print_entry(const json_t *e, int indent)
{
    const char *key;
    const json_t *v;
    int first = 1;

    if (!json_is_object(e)) {
        printf("%*s- ", indent, "");
        pgwctl__print_value("", e);
        printf("\n");
        return;
    }
    printf("%*s-", indent, "");
    json_object_foreach((json_t *)e, key, v) {
        if (pgwctl__is_long_text(v) || json_is_null(v) ||
            (json_is_string(v) && json_string_length(v) == 0))
            continue;
        printf("%s%s=", first ? " " : "  ", key);
        pgwctl__print_value(key, v);
        first = 0;
    }
    printf("\n");
    json_object_foreach((json_t *)e, key, v) {
        if (!pgwctl__is_long_text(v))
            continue;
        printf("%*s%s:\n", indent + 4, "", key);
        pgwctl__print_text(json_string_value(v), indent + 6);
    }
}

static void pgwctl__print_order(const json_t *order)
{
    const char *key;
    const json_t *v;

    printf("order %s (app %s)\n",
           json_string_value(json_object_get(order, "out_trade_no"))
               ? json_string_value(json_object_get(order, "out_trade_no"))
               : "?",
           json_string_value(json_object_get(order, "app_id"))
               ? json_string_value(json_object_get(order, "app_id"))
               : "?");
    json_object_foreach((json_t *)order, key, v) {
        if (json_is_array(v) || json_is_null(v))
            continue;
        printf("  %-18s ", key);
        if (pgwctl__is_long_text(v)) {
            printf("\n");
            pgwctl__print_text(json_string_value(v), 6);
        } else {
            pgwctl__print_value(key, v);
            printf("\n");
        }
    }
    json_object_foreach((json_t *)order, key, v) {
        if (!json_is_array(v))
            continue;
        printf("  %s (%zu)\n", key, json_array_size(v));
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) pgwctl__print_entry(e, 4);
    }
}

static void pgwctl__trace_usage(void)
{
    fprintf(stderr, "usage: paygwctl [-A ADMIN_URL] [-T TOKEN] trace "
                    "OUT_TRADE_NO [--app APP_ID] [--json]\n");
}

int pgwctl_cmd_trace(const struct pgwctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"app", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *app = NULL;
    int raw = 0, ch;

    optind = 0; /* full getopt reset: the global parse used "+" */
    while ((ch = getopt_long(argc, argv, "a:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'a': app = optarg; break;
        case 'j': raw = 1; break;
        default: pgwctl__trace_usage(); return PGWCTL_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || strlen(argv[optind]) > 128) {
        pgwctl__trace_usage();
        return PGWCTL_EXIT_USAGE;
    }
    if (o->admin_token == NULL || o->admin_token[0] == '\0') {
        fprintf(stderr, "paygwctl: no admin token (use -T or "
                        "PAYGW_ADMIN_TOKEN)\n");
        return PGWCTL_EXIT_FAIL;
    }

    char *no = pgwctl_url_escape(argv[optind]);
    char *app_esc = app ? pgwctl_url_escape(app) : NULL;
    char url[2048], auth[1024], err[1024];
    size_t blen = strlen(o->admin_url);
    while (blen > 0 && o->admin_url[blen - 1] == '/')
        blen--;
    int n = snprintf(url, sizeof(url), "%.*s/admin/orders/%s%s%s", (int)blen,
                     o->admin_url, no ? no : "", app_esc ? "?app_id=" : "",
                     app_esc ? app_esc : "");
    int m = snprintf(auth, sizeof(auth), "Bearer %s", o->admin_token);
    free(no);
    free(app_esc);
    if (n < 0 || (size_t)n >= sizeof(url) || m < 0 ||
        (size_t)m >= sizeof(auth)) {
        fprintf(stderr, "paygwctl: admin URL or token too long\n");
        return PGWCTL_EXIT_FAIL;
    }

    struct pgwctl_request req = {
        .method = "GET",
        .url = url,
        .authorization = auth,
        .timeout_s = o->timeout_s,
        .verbose = o->verbose > 1,
    };
    struct pgwctl_response res;
    if (pgwctl_http_do(&req, &res, err, sizeof(err)) != 0) {
        fprintf(stderr, "paygwctl: %s\n", err);
        return PGWCTL_EXIT_FAIL;
    }

    int rc = PGWCTL_EXIT_FAIL;
    json_error_t jerr;
    json_t *v = json_loadb(res.body, res.len, 0, &jerr);

    if (res.status == 401 || res.status == 403) {
        fprintf(stderr, "paygwctl: the admin API refused the token "
                        "(HTTP %ld)\n", res.status);
    } else if (res.status < 200 || res.status > 299) {
        const json_t *e = json_object_get(v, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (code != NULL)
            fprintf(stderr, "paygwctl: error %s: %s\n", code,
                    msg ? msg : "(no message)");
        else
            fprintf(stderr, "paygwctl: HTTP %ld: %.300s\n", res.status,
                    res.body);
    } else if (raw) {
        fwrite(res.body, 1, res.len, stdout);
        if (res.len == 0 || res.body[res.len - 1] != '\n')
            printf("\n");
        rc = PGWCTL_EXIT_OK;
    } else if (v == NULL) {
        fprintf(stderr, "paygwctl: the admin answer is not JSON: %s\n",
                jerr.text);
    } else {
        const json_t *orders = json_object_get(v, "orders");
        size_t i;
        const json_t *order;
        if (!json_is_array(orders)) {
            fprintf(stderr, "paygwctl: the admin answer has no \"orders\"\n");
        } else if (json_array_size(orders) == 0) {
            fprintf(stderr, "paygwctl: no order %s\n", argv[optind]);
        } else {
            json_array_foreach(orders, i, order) {
                if (i > 0)
                    printf("\n");
                pgwctl__print_order(order);
            }
            rc = PGWCTL_EXIT_OK;
        }
    }
    json_decref(v);
    pgwctl_response_clear(&res);
    return rc;
}
