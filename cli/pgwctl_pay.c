/*
 * pgwctl_pay: the caller-API commands of paygwctl, each request signed with
 * scheme A and each response's signature checked (pgwctl_caller.c):
 *
 *   pay    POST /v1/payments, long-poll GET /v1/vouchers/{id}?wait_ms=5000
 *          until the prepay credential is READY (or FAILED), then
 *          GET /v1/payments/{out_trade_no}
 *   get    GET /v1/payments/{out_trade_no}[?refresh=true]
 *   close  POST /v1/payments/{out_trade_no}/close
 *
 * pay and close also take --scheme A|B (as the global option does).
 */
#include "pgwctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#define PGWCTL_WAIT_MS 5000

static int pgwctl__parse_long(const char *s, const char *what, long min,
                              long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "paygwctl: %s must be an integer in [%ld, %ld]\n",
                what, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* "T" + UTC time + 6 random digits, e.g. T20261122093001123456 */
static int pgwctl__trade_no(char *buf, size_t size)
{
    unsigned char r[4];
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;

    if (RAND_bytes(r, sizeof(r)) != 1 || gmtime_r(&now, &tm) == NULL ||
        strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
        return -1;
    unsigned long n = ((unsigned long)r[0] << 24 | (unsigned long)r[1] << 16 |
                       (unsigned long)r[2] << 8 | r[3]) %
                      1000000UL;
    snprintf(buf, size, "T%s%06lu", stamp, n);
    return 0;
}

static const char *pgwctl__str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

static void pgwctl__print_payment(const json_t *p)
{
    printf("payment %s: status %s, channel %s, channel_trade_no %s\n",
           pgwctl__str(p, "out_trade_no"), pgwctl__str(p, "status"),
           pgwctl__str(p, "channel"), pgwctl__str(p, "channel_trade_no"));
    pgwctl_print_json(p, 2);
}

/* Long-polls the voucher until it leaves PENDING or wait_s runs out.
 * Returns 0 when READY, 1 otherwise. */
static int pgwctl__await_voucher(struct pgwctl_caller *c, const char *vid,
                                 long wait_s)
{
    char path[512];
    char *esc = pgwctl_url_escape(vid);
    time_t deadline = time(NULL) + wait_s;
    int rc = 1;

    if (esc == NULL)
        return 1;
    snprintf(path, sizeof(path), "/v1/vouchers/%s?wait_ms=%d", esc,
             PGWCTL_WAIT_MS);
    free(esc);

    printf("waiting up to %ld s for the prepay credential...\n", wait_s);
    for (;;) {
        struct pgwctl_response res;
        json_t *v = NULL;
        int failed = pgwctl_caller_call(c, "GET", path, NULL,
                                        c->opts->timeout_s + 10, &res, &v);
        const char *status = failed ? NULL : pgwctl__str(v, "status");

        if (status != NULL && strcmp(status, "READY") == 0) {
            const json_t *cred = json_object_get(v, "credential");
            printf("voucher %s READY via %s, payment_status %s\n", vid,
                   pgwctl__str(v, "channel"), pgwctl__str(v, "payment_status"));
            if (json_string_value(json_object_get(cred, "qr_code")))
                printf("credential (%s): %s\n", pgwctl__str(cred, "type"),
                       pgwctl__str(cred, "qr_code"));
            pgwctl_print_json(v, 2);
            rc = 0;
        } else if (status != NULL && strcmp(status, "PENDING") == 0 &&
                   time(NULL) < deadline) {
            printf("voucher %s still PENDING\n", vid);
            json_decref(v);
            pgwctl_response_clear(&res);
            continue;
        } else if (status != NULL) {
            printf("voucher %s %s\n", vid, status);
            pgwctl_print_json(v, 2);
            if (strcmp(status, "PENDING") == 0)
                fprintf(stderr, "paygwctl: no credential after %ld s\n",
                        wait_s);
        }
        json_decref(v);
        pgwctl_response_clear(&res);
        return rc;
    }
}

static int pgwctl__get_payment(struct pgwctl_caller *c, const char *no,
                               int refresh)
{
    char path[512];
    if (strlen(no) > 128) {
        fprintf(stderr, "paygwctl: out_trade_no longer than 128 bytes\n");
        return 1;
    }
    char *esc = pgwctl_url_escape(no);
    if (esc == NULL)
        return 1;
    snprintf(path, sizeof(path), "/v1/payments/%s%s", esc,
             refresh ? "?refresh=true" : "");
    free(esc);

    struct pgwctl_response res;
    json_t *p = NULL;
    int rc = pgwctl_caller_call(c, "GET", path, NULL, c->opts->timeout_s,
                                &res, &p);
    if (rc == 0)
        pgwctl__print_payment(p);
    else if (p != NULL)
        pgwctl_print_json(p, 2);
    json_decref(p);
    pgwctl_response_clear(&res);
    return rc;
}

static void pgwctl__pay_usage(void)
{
    fprintf(stderr,
            "usage: paygwctl [global options] pay --amount MINOR_UNITS\n"
            "         [--currency CNY] [--method alipay.qr] "
            "[--out-trade-no T...]\n"
            "         [--subject TEXT] [--notify-url URL] [--channel NAME]\n"
            "         [--expire-seconds N] [--wait SECONDS] [--scheme A|B]\n");
}

int pgwctl_cmd_pay(const struct pgwctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"amount", required_argument, NULL, 'm'},
        {"currency", required_argument, NULL, 'c'},
        {"method", required_argument, NULL, 'M'},
        {"out-trade-no", required_argument, NULL, 'o'},
        {"subject", required_argument, NULL, 's'},
        {"notify-url", required_argument, NULL, 'n'},
        {"channel", required_argument, NULL, 'C'},
        {"expire-seconds", required_argument, NULL, 'e'},
        {"wait", required_argument, NULL, 'w'},
        {"scheme", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct pgwctl_opts mine = *o;
    long amount = -1, expire = -1, wait_s = 30;
    const char *currency = "CNY", *method = "alipay.qr", *subject = NULL;
    const char *notify = NULL, *channel = NULL, *trade_no = NULL;
    char gen_no[64];
    int ch;

    optind = 0; /* full getopt reset: the global parse used "+" */
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            if (pgwctl__parse_long(optarg, "--amount", 1, 999999999999L,
                                   &amount) != 0)
                return PGWCTL_EXIT_USAGE;
            break;
        case 'c': currency = optarg; break;
        case 'M': method = optarg; break;
        case 'o': trade_no = optarg; break;
        case 's': subject = optarg; break;
        case 'n': notify = optarg; break;
        case 'C': channel = optarg; break;
        case 'e':
            if (pgwctl__parse_long(optarg, "--expire-seconds", 60, 604800,
                                   &expire) != 0)
                return PGWCTL_EXIT_USAGE;
            break;
        case 'w':
            if (pgwctl__parse_long(optarg, "--wait", 0, 3600, &wait_s) != 0)
                return PGWCTL_EXIT_USAGE;
            break;
        case 'S':
            mine.scheme_b = pgwctl_parse_scheme(optarg);
            if (mine.scheme_b < 0) {
                fprintf(stderr, "paygwctl: --scheme must be A or B\n");
                return PGWCTL_EXIT_USAGE;
            }
            break;
        default:
            pgwctl__pay_usage();
            return PGWCTL_EXIT_USAGE;
        }
    }
    if (optind != argc || amount < 0) {
        if (amount < 0)
            fprintf(stderr, "paygwctl: pay needs --amount\n");
        pgwctl__pay_usage();
        return PGWCTL_EXIT_USAGE;
    }
    if (trade_no == NULL) {
        if (pgwctl__trade_no(gen_no, sizeof(gen_no)) != 0) {
            fprintf(stderr, "paygwctl: cannot make an out_trade_no\n");
            return PGWCTL_EXIT_FAIL;
        }
        trade_no = gen_no;
    }
    if (subject == NULL)
        subject = "paygwctl test order";

    json_t *req = json_pack("{s:s, s:I, s:s, s:s, s:s}", "out_trade_no",
                            trade_no, "amount", (json_int_t)amount,
                            "currency", currency, "method", method,
                            "subject", subject);
    if (req == NULL ||
        (notify && json_object_set_new(req, "notify_url", json_string(notify))) ||
        (channel && json_object_set_new(req, "channel", json_string(channel))) ||
        (expire > 0 &&
         json_object_set_new(req, "expire_seconds", json_integer(expire)))) {
        fprintf(stderr, "paygwctl: cannot build the request (bad UTF-8?)\n");
        json_decref(req);
        return PGWCTL_EXIT_FAIL;
    }
    char *body = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(req);
    if (body == NULL) {
        fprintf(stderr, "paygwctl: out of memory\n");
        return PGWCTL_EXIT_FAIL;
    }

    struct pgwctl_caller c;
    if (pgwctl_caller_open(&c, &mine) != 0) {
        free(body);
        return PGWCTL_EXIT_FAIL;
    }

    struct pgwctl_response res;
    json_t *v = NULL;
    int rc = pgwctl_caller_call(&c, "POST", "/v1/payments", body, mine.timeout_s,
                                &res, &v);
    free(body);

    if (rc == 0) {
        const char *vid = json_string_value(json_object_get(v, "voucher_id"));
        printf("voucher %s for %s: %s\n", vid ? vid : "-",
               pgwctl__str(v, "out_trade_no"), pgwctl__str(v, "status"));
        pgwctl_print_json(v, 2);
        if (vid == NULL) {
            fprintf(stderr, "paygwctl: the answer has no voucher_id\n");
            rc = 1;
        } else {
            rc = pgwctl__await_voucher(&c, vid, wait_s);
        }
        rc |= pgwctl__get_payment(&c, trade_no, 0);
    } else if (v != NULL) {
        pgwctl_print_json(v, 2);
    }

    json_decref(v);
    pgwctl_response_clear(&res);
    pgwctl_caller_close(&c);
    return rc ? PGWCTL_EXIT_FAIL : PGWCTL_EXIT_OK;
}

int pgwctl_cmd_get(const struct pgwctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"refresh", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int refresh = 0, ch;

    optind = 0; /* full getopt reset: the global parse used "+" */
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (ch != 'r') {
            fprintf(stderr,
                    "usage: paygwctl [global options] get OUT_TRADE_NO "
                    "[--refresh]\n");
            return PGWCTL_EXIT_USAGE;
        }
        refresh = 1;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: paygwctl [global options] get OUT_TRADE_NO "
                        "[--refresh]\n");
        return PGWCTL_EXIT_USAGE;
    }

    struct pgwctl_caller c;
    if (pgwctl_caller_open(&c, o) != 0)
        return PGWCTL_EXIT_FAIL;
    int rc = pgwctl__get_payment(&c, argv[optind], refresh);
    pgwctl_caller_close(&c);
    return rc ? PGWCTL_EXIT_FAIL : PGWCTL_EXIT_OK;
}

int pgwctl_cmd_close(const struct pgwctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"scheme", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct pgwctl_opts mine = *o;
    int ch;

    optind = 0; /* full getopt reset: the global parse used "+" */
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (ch != 'S' || (mine.scheme_b = pgwctl_parse_scheme(optarg)) < 0) {
            fprintf(stderr, "usage: paygwctl [global options] close "
                            "OUT_TRADE_NO [--scheme A|B]\n");
            return PGWCTL_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || strlen(argv[optind]) > 128) {
        fprintf(stderr, "usage: paygwctl [global options] close "
                        "OUT_TRADE_NO [--scheme A|B]\n");
        return PGWCTL_EXIT_USAGE;
    }

    char path[512];
    char *esc = pgwctl_url_escape(argv[optind]);
    if (esc == NULL)
        return PGWCTL_EXIT_FAIL;
    snprintf(path, sizeof(path), "/v1/payments/%s/close", esc);
    free(esc);

    struct pgwctl_caller c;
    if (pgwctl_caller_open(&c, &mine) != 0)
        return PGWCTL_EXIT_FAIL;

    struct pgwctl_response res;
    json_t *v = NULL;
    int rc = pgwctl_caller_call(&c, "POST", path, "{}", mine.timeout_s, &res,
                                &v);
    if (v != NULL)
        pgwctl_print_json(v, 2);
    json_decref(v);
    pgwctl_response_clear(&res);
    pgwctl_caller_close(&c);
    return rc ? PGWCTL_EXIT_FAIL : PGWCTL_EXIT_OK;
}
