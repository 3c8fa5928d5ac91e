/*
 * pgwctl_recon: statement reconciliation and the discrepancy workflow over
 * the admin API (docs/reconciliation.md).
 *
 *   paygwctl recon run --channel X --date YYYY-MM-DD [--file F]
 *            [--tz +08:00] [--window 10m] [--who NAME] [--wait SECONDS] [--json]
 *   paygwctl recon report RUN_ID [--kind K] [--json]
 *   paygwctl recon list [--channel X] [--json]
 *   paygwctl discrepancy list [--state open] [--kind K] [--channel X]
 *            [--run RUN_ID] [--limit N] [--json]
 *   paygwctl discrepancy show ID [--json]
 *   paygwctl discrepancy ack|resolve ID --note TEXT [--who NAME]
 *
 * `recon run` uploads the statement file (a ZIP is unpacked here: its
 * largest file) to paygwd — or, without --file, has paygwd fetch it through
 * the pack's bill operation — which parses it with the channel pack and
 * matches it in a worker thread; the command
 * waits for the run to finish and prints the report: a summary by
 * category and one line per finding (--json: the run and its items).
 * --who defaults to $USER.
 */
#include "pgwctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgw_recon_fetch.h"

#define PGWCTL_RECON_MAX_FILE (512L << 20)

/* one admin exchange; prints errors; *out gets the JSON answer of a 2xx */
static int pgwctl__radmin(const struct pgwctl_opts *o, const char *method,
                          const char *path, const char *ctype, const char *body,
                          size_t body_len, long timeout_s, json_t **out)
{
    char url[4096], auth[1024], err[1024];
    size_t blen = strlen(o->admin_url);
    struct pgwctl_response res;
    json_error_t jerr;
    int rc = PGWCTL_EXIT_FAIL;

    *out = NULL;
    if (o->admin_token == NULL || o->admin_token[0] == '\0') {
        fprintf(stderr, "paygwctl: no admin token (use -T or PAYGW_ADMIN_TOKEN)\n");
        return PGWCTL_EXIT_FAIL;
    }
    while (blen > 0 && o->admin_url[blen - 1] == '/')
        blen--;
    int n = snprintf(url, sizeof(url), "%.*s%s", (int)blen, o->admin_url, path);
    int m = snprintf(auth, sizeof(auth), "Bearer %s", o->admin_token);
    if (n < 0 || (size_t)n >= sizeof(url) || m < 0 || (size_t)m >= sizeof(auth)) {
        fprintf(stderr, "paygwctl: admin URL or token too long\n");
        return PGWCTL_EXIT_FAIL;
    }
    struct pgwctl_request req = {
        .method = method,
        .url = url,
        .authorization = auth,
        .content_type = body ? ctype : NULL,
        .body = body,
        .body_len = body_len,
        .timeout_s = timeout_s,
        .verbose = o->verbose > 1,
    };
    if (pgwctl_http_do(&req, &res, err, sizeof(err)) != 0) {
        fprintf(stderr, "paygwctl: %s\n", err);
        return PGWCTL_EXIT_FAIL;
    }
    json_t *v = json_loadb(res.body, res.len, 0, &jerr);
    if (res.status == 401 || res.status == 403) {
        fprintf(stderr, "paygwctl: the admin API refused the token (HTTP %ld)\n",
                res.status);
    } else if (res.status < 200 || res.status > 299) {
        const json_t *e = json_object_get(v, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (code != NULL)
            fprintf(stderr, "paygwctl: error %s: %s\n", code, msg ? msg : "(no message)");
        else
            fprintf(stderr, "paygwctl: HTTP %ld: %.300s\n", res.status, res.body);
    } else if (v == NULL) {
        fprintf(stderr, "paygwctl: the admin answer is not JSON: %s\n", jerr.text);
    } else {
        *out = v;
        v = NULL;
        rc = PGWCTL_EXIT_OK;
    }
    json_decref(v);
    pgwctl_response_clear(&res);
    return rc;
}

static char *pgwctl__slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (fp == NULL) {
        fprintf(stderr, "paygwctl: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && n <= PGWCTL_RECON_MAX_FILE
        && fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
            *len = (size_t)n;
        }
    }
    if (buf == NULL)
        fprintf(stderr, "paygwctl: %s: cannot read (over %ld bytes?)\n", path,
                PGWCTL_RECON_MAX_FILE);
    fclose(fp);
    return buf;
}

static const char *pgwctl__s(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long pgwctl__i(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void pgwctl__amount(const json_t *det, const char *k, char *buf, size_t len)
{
    const json_t *v = json_object_get(det, k);

    if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else
        snprintf(buf, len, "-");
}

static void pgwctl__print_items(const json_t *items)
{
    const json_t *it;
    size_t i;

    if (json_array_size(items) == 0)
        return;
    printf("\n%-8s %-16s %-26s %-10s %-9s %10s %10s  %s\n", "ID", "KIND", "OUT_TRADE_NO",
           "OURS", "STATE", "OUR-AMT", "THEIR-AMT", "NOTE");
    json_array_foreach(items, i, it) {
        const json_t *det = json_object_get(it, "detail");
        const char *kind = pgwctl__s(it, "kind");
        char ours[24], theirs[24];

        if (strncmp(kind, "recon_", 6) == 0)
            kind += 6;
        pgwctl__amount(det, "our_amount", ours, sizeof(ours));
        pgwctl__amount(det, "their_amount", theirs, sizeof(theirs));
        printf("%-8lld %-16s %-26s %-10s %-9s %10s %10s  %s\n", pgwctl__i(it, "id"), kind,
               json_is_object(det) ? pgwctl__s(det, "out_trade_no") : pgwctl__s(it, "out_trade_no"),
               pgwctl__s(it, "status")[0] ? pgwctl__s(it, "status") : "-",
               pgwctl__s(it, "state"), ours, theirs,
               json_is_object(det) ? pgwctl__s(det, "note") : pgwctl__s(it, "detail"));
    }
}

static void pgwctl__print_run(const json_t *run, const json_t *items)
{
    const json_t *counts = json_object_get(run, "counts");
    static const char *const kinds[] = {"matched", "long", "short", "amount_mismatch",
                                        "status_mismatch", "carried", "duplicate"};

    printf("reconciliation run %lld: %s %s (tz %s, day-cut window %llds) — %s\n",
           pgwctl__i(run, "id"), pgwctl__s(run, "channel"), pgwctl__s(run, "date"),
           pgwctl__s(run, "tz"), pgwctl__i(run, "window_s"), pgwctl__s(run, "state"));
    printf("  source %s, by %s\n", pgwctl__s(run, "source"), pgwctl__s(run, "who"));
    if (pgwctl__s(run, "error")[0])
        printf("  %s: %s\n", strcmp(pgwctl__s(run, "state"), "FAILED") == 0 ? "error" : "warning",
               pgwctl__s(run, "error"));
    if (!json_is_object(counts))
        return;
    printf("  statement rows %lld, our orders in scope %lld\n", pgwctl__i(run, "rows"),
           pgwctl__i(run, "orders"));
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        printf("  %-16s %lld\n", kinds[k], pgwctl__i(counts, kinds[k]));
    pgwctl__print_items(items);
}

static const char *pgwctl__who(const char *who)
{
    if (who == NULL || who[0] == '\0')
        who = getenv("USER");
    return who && who[0] ? who : NULL;
}

/* "600", "600s", "10m", "1h" -> seconds, -1 if bad */
static long pgwctl__secs(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);

    if (end == s || n < 0)
        return -1;
    if (*end == 'm')
        n *= 60;
    else if (*end == 'h')
        n *= 3600;
    else if (*end != 's' && *end != '\0')
        return -1;
    if (*end != '\0' && end[1] != '\0')
        return -1;
    return n <= 86400 ? n : -1;
}

static int pgwctl__report(const struct pgwctl_opts *o, long long id, const char *kind,
                          int json)
{
    char path[256];
    json_t *v;
    int rc;

    snprintf(path, sizeof(path), "/admin/recon/runs/%lld%s%s", id, kind ? "?kind=" : "",
             kind ? kind : "");
    rc = pgwctl__radmin(o, "GET", path, NULL, NULL, 0, o->timeout_s, &v);
    if (rc != PGWCTL_EXIT_OK)
        return rc;
    if (json)
        pgwctl_print_json(v, 0);
    else
        pgwctl__print_run(json_object_get(v, "run"), json_object_get(v, "items"));
    rc = strcmp(pgwctl__s(json_object_get(v, "run"), "state"), "DONE") == 0
             ? PGWCTL_EXIT_OK : PGWCTL_EXIT_FAIL;
    json_decref(v);
    return rc;
}

static void pgwctl__recon_usage(void)
{
    fprintf(stderr,
        "usage: paygwctl recon run --channel X --date YYYY-MM-DD [--file STATEMENT]\n"
        "                [--tz +08:00] [--window 10m] [--who NAME] [--wait SECONDS]\n"
        "                [--json]\n"
        "       paygwctl recon report RUN_ID [--kind K] [--json]\n"
        "       paygwctl recon list [--channel X] [--json]\n"
        "  STATEMENT: the channel's statement as downloaded (a ZIP: its largest file);\n"
        "  without --file paygwd fetches it through the pack's bill operation.\n"
        "  Parsed by the channel pack inside paygwd.\n");
}

int pgwctl_cmd_recon(const struct pgwctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"channel", required_argument, NULL, 'c'}, {"date", required_argument, NULL, 'd'},
        {"file", required_argument, NULL, 'f'},    {"tz", required_argument, NULL, 'z'},
        {"window", required_argument, NULL, 'w'},  {"who", required_argument, NULL, 'W'},
        {"wait", required_argument, NULL, 'x'},    {"kind", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *channel = NULL, *date = NULL, *file = NULL, *tz = NULL, *who = NULL,
               *kind = NULL;
    long window = -1, wait_s = 600;
    int json = 0, ch;

    if (argc < 2) {
        pgwctl__recon_usage();
        return PGWCTL_EXIT_USAGE;
    }
    optind = 0; /* full getopt reset (the global parse used "+"): permutes */
    while ((ch = getopt_long(argc, argv, "c:d:f:z:w:W:x:k:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': channel = optarg; break;
        case 'd': date = optarg; break;
        case 'f': file = optarg; break;
        case 'z': tz = optarg; break;
        case 'w':
            if ((window = pgwctl__secs(optarg)) < 0) {
                fprintf(stderr, "paygwctl: --window: seconds, or N followed by s, m or h"
                                " (at most a day)\n");
                return PGWCTL_EXIT_USAGE;
            }
            break;
        case 'W': who = optarg; break;
        case 'x': wait_s = strtol(optarg, NULL, 10); break;
        case 'k': kind = optarg; break;
        case 'j': json = 1; break;
        case 'h': pgwctl__recon_usage(); return PGWCTL_EXIT_OK;
        default: pgwctl__recon_usage(); return PGWCTL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        pgwctl__recon_usage();
        return PGWCTL_EXIT_USAGE;
    }
    const char *sub = argv[optind++];

    if (strcmp(sub, "report") == 0) {
        if (optind >= argc) {
            pgwctl__recon_usage();
            return PGWCTL_EXIT_USAGE;
        }
        return pgwctl__report(o, strtoll(argv[optind], NULL, 10), kind, json);
    }
    if (strcmp(sub, "list") == 0) {
        char path[256];
        json_t *v, *r;
        size_t i;
        int rc;

        snprintf(path, sizeof(path), "/admin/recon/runs%s%s", channel ? "?channel=" : "",
                 channel ? channel : "");
        rc = pgwctl__radmin(o, "GET", path, NULL, NULL, 0, o->timeout_s, &v);
        if (rc != PGWCTL_EXIT_OK)
            return rc;
        if (json) {
            pgwctl_print_json(v, 0);
        } else {
            printf("%-6s %-12s %-10s %-7s %8s %8s  %s\n", "RUN", "CHANNEL", "DATE", "STATE",
                   "ROWS", "MATCHED", "FINDINGS");
            json_array_foreach(json_object_get(v, "runs"), i, r) {
                const json_t *c = json_object_get(r, "counts");
                printf("%-6lld %-12s %-10s %-7s %8lld %8lld  long %lld short %lld amount %lld"
                       " status %lld carried %lld\n", pgwctl__i(r, "id"),
                       pgwctl__s(r, "channel"), pgwctl__s(r, "date"), pgwctl__s(r, "state"),
                       pgwctl__i(r, "rows"), pgwctl__i(r, "matched"), pgwctl__i(c, "long"),
                       pgwctl__i(c, "short"), pgwctl__i(c, "amount_mismatch"),
                       pgwctl__i(c, "status_mismatch"), pgwctl__i(c, "carried"));
            }
        }
        json_decref(v);
        return PGWCTL_EXIT_OK;
    }
    if (strcmp(sub, "run") != 0) {
        pgwctl__recon_usage();
        return PGWCTL_EXIT_USAGE;
    }
    if (channel == NULL || date == NULL) {
        fprintf(stderr, "paygwctl: recon run needs --channel and --date\n");
        return PGWCTL_EXIT_USAGE;
    }
    if ((who = pgwctl__who(who)) == NULL) {
        fprintf(stderr, "paygwctl: --who is required (no $USER)\n");
        return PGWCTL_EXIT_USAGE;
    }

    size_t len = 0;
    char *text = file ? pgwctl__slurp(file, &len) : strdup("");
    if (text == NULL)
        return PGWCTL_EXIT_FAIL;
    if (pgw_recon_is_zip(text, len)) {
        /* an archive as the channel serves it: its largest file is the detail */
        char *inner, err[256];
        size_t inner_len;
        if (pgw_recon_unzip(text, len, &inner, &inner_len, err, sizeof(err)) != 0) {
            fprintf(stderr, "paygwctl: %s: %s\n", file, err);
            free(text);
            return PGWCTL_EXIT_FAIL;
        }
        free(text);
        text = inner;
        len = inner_len;
    }
    const char *base = file ? strrchr(file, '/') : NULL;
    base = base ? base + 1 : file ? file : "bill";
    char *e_ch = pgwctl_url_escape(channel), *e_date = pgwctl_url_escape(date),
         *e_who = pgwctl_url_escape(who), *e_src = pgwctl_url_escape(base),
         *e_tz = tz ? pgwctl_url_escape(tz) : NULL;
    char path[2048], wbuf[32] = "";
    json_t *v = NULL;
    int rc = PGWCTL_EXIT_FAIL;

    if (window >= 0)
        snprintf(wbuf, sizeof(wbuf), "&window_s=%ld", window);
    if (e_ch && e_date && e_who && e_src && (tz == NULL || e_tz)) {
        snprintf(path, sizeof(path), "/admin/recon/runs?channel=%s&date=%s&who=%s&source=%.64s%s%s%s",
                 e_ch, e_date, e_who, e_src, e_tz ? "&tz=" : "", e_tz ? e_tz : "", wbuf);
        rc = pgwctl__radmin(o, "POST", path, "application/octet-stream", text, len,
                            o->timeout_s > 120 ? o->timeout_s : 120, &v);
    }
    free(e_ch);
    free(e_date);
    free(e_who);
    free(e_src);
    free(e_tz);
    free(text);
    if (rc != PGWCTL_EXIT_OK)
        return rc;

    long long id = pgwctl__i(json_object_get(v, "run"), "id");
    json_decref(v);
    if (!json)
        fprintf(stderr, "paygwctl: run %lld started; waiting for it\n", id);
    /* poll until the run leaves RUNNING, bounded by --wait */
    struct timespec t0, now, nap = {0, 100 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        snprintf(path, sizeof(path), "/admin/recon/runs/%lld?limit=0", id);
        rc = pgwctl__radmin(o, "GET", path, NULL, NULL, 0, o->timeout_s, &v);
        if (rc != PGWCTL_EXIT_OK)
            return rc;
        int running = strcmp(pgwctl__s(json_object_get(v, "run"), "state"), "RUNNING") == 0;
        json_decref(v);
        if (!running)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > wait_s) {
            fprintf(stderr, "paygwctl: run %lld still running after %lds; see"
                            " `paygwctl recon report %lld`\n", id, wait_s, id);
            return PGWCTL_EXIT_FAIL;
        }
        nanosleep(&nap, NULL);
    }
    return pgwctl__report(o, id, kind, json);
}

static void pgwctl__disc_usage(void)
{
    fprintf(stderr,
        "usage: paygwctl discrepancy list [--state open|acknowledged|resolved|carried]\n"
        "                [--kind K] [--channel X] [--run RUN_ID] [--limit N] [--json]\n"
        "       paygwctl discrepancy show ID [--json]\n"
        "       paygwctl discrepancy ack|resolve ID --note TEXT [--who NAME]\n");
}

int pgwctl_cmd_discrepancy(const struct pgwctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 's'},   {"kind", required_argument, NULL, 'k'},
        {"channel", required_argument, NULL, 'c'}, {"run", required_argument, NULL, 'r'},
        {"limit", required_argument, NULL, 'l'},   {"note", required_argument, NULL, 'n'},
        {"who", required_argument, NULL, 'W'},     {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *state = NULL, *kind = NULL, *channel = NULL, *run = NULL, *limit = NULL,
               *note = NULL, *who = NULL;
    int json = 0, ch, rc;
    char path[1024];
    json_t *v;

    if (argc < 2) {
        pgwctl__disc_usage();
        return PGWCTL_EXIT_USAGE;
    }
    optind = 0; /* full getopt reset (the global parse used "+"): permutes */
    while ((ch = getopt_long(argc, argv, "s:k:c:r:l:n:W:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 's': state = optarg; break;
        case 'k': kind = optarg; break;
        case 'c': channel = optarg; break;
        case 'r': run = optarg; break;
        case 'l': limit = optarg; break;
        case 'n': note = optarg; break;
        case 'W': who = optarg; break;
        case 'j': json = 1; break;
        case 'h': pgwctl__disc_usage(); return PGWCTL_EXIT_OK;
        default: pgwctl__disc_usage(); return PGWCTL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        pgwctl__disc_usage();
        return PGWCTL_EXIT_USAGE;
    }
    const char *sub = argv[optind++];
    if (strcmp(sub, "list") == 0) {
        char *es = state ? pgwctl_url_escape(state) : NULL, *ek = kind ? pgwctl_url_escape(kind) : NULL,
             *ec = channel ? pgwctl_url_escape(channel) : NULL;
        snprintf(path, sizeof(path), "/admin/discrepancies?state=%s&kind=%s&channel=%s&run_id=%s&limit=%s",
                 es ? es : "", ek ? ek : "", ec ? ec : "", run ? run : "0", limit ? limit : "500");
        free(es);
        free(ek);
        free(ec);
        rc = pgwctl__radmin(o, "GET", path, NULL, NULL, 0, o->timeout_s, &v);
        if (rc != PGWCTL_EXIT_OK)
            return rc;
        if (json)
            pgwctl_print_json(v, 0);
        else if (json_array_size(json_object_get(v, "discrepancies")) == 0)
            printf("no discrepancies\n");
        else
            pgwctl__print_items(json_object_get(v, "discrepancies"));
        json_decref(v);
        return PGWCTL_EXIT_OK;
    }
    if (optind >= argc) {
        pgwctl__disc_usage();
        return PGWCTL_EXIT_USAGE;
    }
    long long id = strtoll(argv[optind], NULL, 10);
    if (strcmp(sub, "show") == 0) {
        snprintf(path, sizeof(path), "/admin/discrepancies/%lld", id);
        rc = pgwctl__radmin(o, "GET", path, NULL, NULL, 0, o->timeout_s, &v);
        if (rc == PGWCTL_EXIT_OK) {
            pgwctl_print_json(json ? v : json_object_get(v, "discrepancy"), 0);
            json_decref(v);
        }
        return rc;
    }
    if (strcmp(sub, "ack") != 0 && strcmp(sub, "acknowledge") != 0 && strcmp(sub, "resolve") != 0) {
        pgwctl__disc_usage();
        return PGWCTL_EXIT_USAGE;
    }
    if (note == NULL || note[0] == '\0') {
        fprintf(stderr, "paygwctl: --note is required (what was checked or done)\n");
        return PGWCTL_EXIT_USAGE;
    }
    if ((who = pgwctl__who(who)) == NULL) {
        fprintf(stderr, "paygwctl: --who is required (no $USER)\n");
        return PGWCTL_EXIT_USAGE;
    }
    json_t *body = json_pack("{s:s, s:s, s:s}", "action",
                             sub[0] == 'r' ? "resolve" : "acknowledge", "note", note, "who", who);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    snprintf(path, sizeof(path), "/admin/discrepancies/%lld", id);
    rc = text ? pgwctl__radmin(o, "POST", path, "application/json", text, strlen(text),
                               o->timeout_s, &v)
              : PGWCTL_EXIT_FAIL;
    free(text);
    if (rc == PGWCTL_EXIT_OK) {
        if (json)
            pgwctl_print_json(v, 0);
        else
            printf("discrepancy %lld: %s -> %s by %s\n", id, pgwctl__s(v, "old_state"),
                   pgwctl__s(v, "state"), pgwctl__s(v, "who"));
        json_decref(v);
    }
    return rc;
}
