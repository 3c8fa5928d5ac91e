/*
 * paygwctl: the operator's command line for paygw.  main() reads the global
 * options (flags win over the PAYGW_* environment, which wins over the
 * defaults) and dispatches to one command:
 *
 *   pay / get / close   signed caller-API requests (pgwctl_pay.c)
 *   trace               the admin API's record of one order (pgwctl_trace.c)
 *   channel             a channel pack driven offline (pgwctl_channel.c)
 *   route               the ops route controls of the admin API
 *                       (pgwctl_route.c)
 *   notify              caller notifications: list, re-push (pgwctl_notify.c)
 *   review              the review queue (pgwctl_review.c)
 *   recon, discrepancy  statement reconciliation and the discrepancy
 *                       workflow of the admin API (pgwctl_recon.c)
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include "pgwctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

static void pgwctl__usage(FILE *fp)
{
    fprintf(fp,
        "usage: paygwctl [global options] COMMAND [command options]\n"
        "\n"
        "commands:\n"
        "  pay --amount N [--currency CNY] [--method alipay.qr]\n"
        "      [--scheme A|B]\n"
        "      [--out-trade-no T…] [--subject TEXT] [--notify-url URL]\n"
        "      [--channel NAME] [--expire-seconds N] [--wait SECONDS]\n"
        "                      create a payment, wait for its credential\n"
        "  get OUT_TRADE_NO [--refresh]   show a payment\n"
        "  close OUT_TRADE_NO [--scheme A|B]  close a payment\n"
        "  trace OUT_TRADE_NO [--app APP_ID] [--json]\n"
        "                      everything recorded about an order (admin)\n"
        "  channel test|render|exchange|notify NAME … --conf paygwd.conf\n"
        "                      a channel pack offline: fixtures, the request\n"
        "                      it builds, one real exchange, a notify\n"
        "  channel new NAME --like ARCHETYPE | record NAME OP …\n"
        "                      a new pack from an archetype; an exchange\n"
        "                      recorded as a fixture (paygwctl channel --help)\n"
        "  route list [--json]  channels: state, weight, in-flight, success %%,\n"
        "                      p99, rules with their time left (admin)\n"
        "  route enable|disable|drain|weight CHANNEL [--method M] [--app A]\n"
        "      [--weight N] [--for 10m] --reason TEXT [--who NAME]\n"
        "                      change a route live, audited (admin)\n"
        "  notify list [--status pending|gave_up|delivered] [--order NO]\n"
        "              [--app A] [--json]   caller notifications (admin)\n"
        "  notify push ID | --order NO [--app A] [--who W] [--reason R]\n"
        "                      deliver again now, fresh schedule (admin)\n"
        "  review [--json]     payments whose query schedule is exhausted\n"
        "                      (admin)\n"
        "  recon run --channel X --date YYYY-MM-DD --file STATEMENT [--tz +08:00]\n"
        "      [--window 10m] [--json]   reconcile a day's statement (admin)\n"
        "  recon report RUN_ID | recon list   a run's report, the runs (admin)\n"
        "  discrepancy list [--state open] [--kind K] | show ID\n"
        "  discrepancy ack|resolve ID --note TEXT [--who NAME]   (admin)\n"
        "\n"
        "global options (environment in brackets):\n"
        "  -u, --url URL          gateway [PAYGW_URL] (http://127.0.0.1:8080)\n"
        "  -a, --app APP_ID       app to sign as [PAYGW_APP_ID] (A1)\n"
        "      --apps FILE        apps file with the secret [PAYGW_APPS]\n"
        "                         (conf/apps.conf)\n"
        "  -s, --secret SECRET    the app secret instead of --apps\n"
        "                         [PAYGW_SECRET]\n"
        "  -k, --key FILE         an RSA2 app's private key (PEM)\n"
        "                         [PAYGW_APP_KEY]\n"
        "  -g, --gateway-key FILE the gateway's RSA public key (PEM): checks\n"
        "                         answers to RSA2 apps [PAYGW_GATEWAY_PUBKEY]\n"
        "  -S, --scheme A|B       A: Authorization header, JSON bodies\n"
        "                         (default); B: POST bodies as signed forms\n"
        "                         (sign_type HMAC-SHA256 or RSA2; GETs stay A)\n"
        "  -A, --admin-url URL    admin API [PAYGW_ADMIN_URL]\n"
        "                         (http://127.0.0.1:8081)\n"
        "  -T, --token TOKEN      admin bearer token [PAYGW_ADMIN_TOKEN]\n"
        "  -t, --timeout SECONDS  per request (30)\n"
        "  -v, --verbose          show what is signed; twice: HTTP trace\n"
        "  -h, --help\n");
}

static const char *pgwctl__env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : def;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},
        {"app", required_argument, NULL, 'a'},
        {"apps", required_argument, NULL, 'F'},
        {"secret", required_argument, NULL, 's'},
        {"key", required_argument, NULL, 'k'},
        {"gateway-key", required_argument, NULL, 'g'},
        {"scheme", required_argument, NULL, 'S'},
        {"admin-url", required_argument, NULL, 'A'},
        {"token", required_argument, NULL, 'T'},
        {"timeout", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const struct {
        const char *name;
        int (*run)(const struct pgwctl_opts *, int, char **);
    } commands[] = {
        {"pay", pgwctl_cmd_pay},
        {"get", pgwctl_cmd_get},
        {"close", pgwctl_cmd_close},
        {"trace", pgwctl_cmd_trace},
        {"channel", pgwctl_cmd_channel},
        {"route", pgwctl_cmd_route},
        {"notify", pgwctl_cmd_notify},
        {"review", pgwctl_cmd_review},
        {"recon", pgwctl_cmd_recon},
        {"discrepancy", pgwctl_cmd_discrepancy},
    };
    struct pgwctl_opts o = {
        .url = pgwctl__env("PAYGW_URL", "http://127.0.0.1:8080"),
        .admin_url = pgwctl__env("PAYGW_ADMIN_URL", "http://127.0.0.1:8081"),
        .admin_token = pgwctl__env("PAYGW_ADMIN_TOKEN", NULL),
        .app_id = pgwctl__env("PAYGW_APP_ID", "A1"),
        .apps_file = pgwctl__env("PAYGW_APPS", "conf/apps.conf"),
        .secret = pgwctl__env("PAYGW_SECRET", NULL),
        .app_key = pgwctl__env("PAYGW_APP_KEY", NULL),
        .gateway_key = pgwctl__env("PAYGW_GATEWAY_PUBKEY", NULL),
        .scheme_b = 0,
        .timeout_s = 30,
        .verbose = 0,
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "+u:a:s:k:g:S:A:T:t:vh", longopts, NULL)) !=
           -1) {
        switch (ch) {
        case 'u': o.url = optarg; break;
        case 'a': o.app_id = optarg; break;
        case 'F':
            o.apps_file = optarg;
            o.secret = NULL;
            o.app_key = NULL;
            break;
        case 's':
            o.secret = optarg;
            o.app_key = NULL;
            break;
        case 'k':
            o.app_key = optarg;
            o.secret = NULL;
            break;
        case 'g': o.gateway_key = optarg; break;
        case 'S':
            o.scheme_b = pgwctl_parse_scheme(optarg);
            if (o.scheme_b < 0) {
                fprintf(stderr, "paygwctl: --scheme must be A or B\n");
                return PGWCTL_EXIT_USAGE;
            }
            break;
        case 'A': o.admin_url = optarg; break;
        case 'T': o.admin_token = optarg; break;
        case 't': {
            char *end;
            errno = 0;
            long t = strtol(optarg, &end, 10);
            if (errno || *end || t < 1 || t > 3600) {
                fprintf(stderr, "paygwctl: --timeout must be 1..3600\n");
                return PGWCTL_EXIT_USAGE;
            }
            o.timeout_s = t;
            break;
        }
        case 'v': o.verbose++; break;
        case 'h': pgwctl__usage(stdout); return PGWCTL_EXIT_OK;
        default: pgwctl__usage(stderr); return PGWCTL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        pgwctl__usage(stderr);
        return PGWCTL_EXIT_USAGE;
    }

    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(name, commands[i].name) != 0)
            continue;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "paygwctl: curl_global_init failed\n");
            return PGWCTL_EXIT_FAIL;
        }
        /* the command sees argv[0] = its name */
        int rc = commands[i].run(&o, argc - optind, argv + optind);
        curl_global_cleanup();
        return rc;
    }
    fprintf(stderr, "paygwctl: unknown command \"%s\"\n", name);
    pgwctl__usage(stderr);
    return PGWCTL_EXIT_USAGE;
}
