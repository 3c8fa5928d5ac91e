/*
 * test_pack_alipay.c -- the real alipay pack through the public adapter API
 * (adapters/pgw_pack.h): load (fixtures run), build a precreate and check
 * its RSA2 signature with an INDEPENDENT OpenSSL verification over a signing
 * string rebuilt here, parse signed / tampered / unknown / error answers
 * into classes, verify genuine and forged notifies (including Alipay's own
 * published V2 notify), reject broken packs with file:line / file: field
 * messages, and keep a retained old version alive and usable across a swap.
 * Run from the repository root.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "pgw_pack.h"


#define ENDPOINT "http://127.0.0.1:9100/gateway.do"
#define APP_ID "2021000000000001"
#define PLATFORM_PRIV "tests/vectors/keys/alipay_fixture_platform_private.pem"
#define APP_PUB "tests/vectors/keys/v13_test_public.pem"


static json_t *
config(const char *app_id, const char *pub)
{
    return json_pack("{s:s,s:s,s:s,s:s}", "app_id", app_id, "app_private_key",
                     "v13_test_private", "channel_public_key", pub, "endpoint", ENDPOINT);
}


static struct pgw_packs *
load_real(const char *app_id, const char *pub)
{
    char err[512];
    struct pgw_packs *ps = pgw_packs_new("templates", "scripts", "tests/vectors/keys", err,
                                         sizeof(err));
    json_t *cfg = config(app_id, pub);

    assert_non_null(ps);
    if (pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)) != 0) {
        fail_msg("load failed: %s", err);
    }
    json_decref(cfg);
    return ps;
}


static json_t *
order(void)
{
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:i,s:s}", "out_trade_no", "T20261122001",
                     "amount", 1000, "currency", "CNY", "subject", "Order 1", "method",
                     "alipay.qr", "expire_seconds", 900, "notify_url",
                     "http://127.0.0.1:8080/notify/alipay");
}


/* ---- independent helpers: plain OpenSSL, no adapter code ---- */

static int
hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}


static char *
url_decode(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    size_t i, j = 0;

    assert_non_null(o);
    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n + 1 && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
            o[j++] = (char) (hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
            i += 2;
        } else {
            o[j++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    o[j] = '\0';
    return o;
}


struct kv {
    char *k;
    char *v;
};


static int
kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kv *) a)->k, ((const struct kv *) b)->k);
}


static size_t
form_split(const char *body, struct kv *out, size_t max)
{
    size_t n = 0;
    const char *p = body;

    while (*p != '\0' && n < max) {
        const char *amp = strchr(p, '&'), *end = amp != NULL ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t) (end - p));
        assert_non_null(eq);
        out[n].k = url_decode(p, (size_t) (eq - p));
        out[n].v = url_decode(eq + 1, (size_t) (end - eq - 1));
        n++;
        p = amp != NULL ? amp + 1 : end;
    }
    return n;
}


static const char *
kv_get(struct kv *kv, size_t n, const char *k)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(kv[i].k, k) == 0) {
            return kv[i].v;
        }
    }
    return NULL;
}


static void
kv_free(struct kv *kv, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(kv[i].k);
        free(kv[i].v);
    }
}


static EVP_PKEY *
pem_key(const char *path, int priv)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k;

    assert_non_null(f);
    k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}


static int
ossl_verify(const char *pub, const char *data, const char *b64)
{
    EVP_PKEY *k = pem_key(pub, 0);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024];
    int n = EVP_DecodeBlock(sig, (const unsigned char *) b64, (int) strlen(b64));
    size_t len = strlen(b64);
    int ok;

    assert_true(n > 0);
    n -= (len > 0 && b64[len - 1] == '=') + (len > 1 && b64[len - 2] == '=');
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1
         && EVP_DigestVerify(ctx, sig, (size_t) n, (const unsigned char *) data,
                             strlen(data)) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return ok;
}


static void
ossl_sign(const char *data, char *out, size_t outlen)
{
    EVP_PKEY *k = pem_key(PLATFORM_PRIV, 1);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[512];
    size_t n = sizeof(sig);

    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &n, (const unsigned char *) data, strlen(data)),
                     1);
    assert_true(outlen > 4 * ((n + 2) / 3));
    EVP_EncodeBlock((unsigned char *) out, sig, (int) n);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
}


/* {"<key>":<inner>,"sign":"<sig over sign_over>"} */
static char *
response(const char *key, const char *inner, const char *sign_over)
{
    char sig[1024], *body = malloc(8192);

    assert_non_null(body);
    ossl_sign(sign_over != NULL ? sign_over : inner, sig, sizeof(sig));
    snprintf(body, 8192, "{\"%s\":%s,\"sign\":\"%s\"}", key, inner, sig);
    return body;
}


static void
url_encode_into(char *out, size_t outlen, const char *s)
{
    size_t o = strlen(out);

    for (; *s != '\0' && o + 4 < outlen; s++) {
        unsigned char c = (unsigned char) *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '_' || c == '.') {
            out[o++] = (char) c;
        } else {
            o += (size_t) snprintf(out + o, outlen - o, "%%%02X", c);
        }
    }
    out[o] = '\0';
}


/* a signed notify form body from n sorted k/v pairs (sign over all but
 * sign/sign_type); tamper_k/tamper_v change a value after signing */
static char *
notify_body(const char *const *kv, size_t n, const char *tamper_k, const char *tamper_v)
{
    char str[8192] = "", sig[1024];
    char *body = calloc(1, 16384);
    size_t i;

    assert_non_null(body);
    for (i = 0; i < n; i++) {
        if (i > 0) {
            strncat(str, "&", sizeof(str) - strlen(str) - 1);
        }
        strncat(str, kv[2 * i], sizeof(str) - strlen(str) - 1);
        strncat(str, "=", sizeof(str) - strlen(str) - 1);
        strncat(str, kv[2 * i + 1], sizeof(str) - strlen(str) - 1);
    }
    ossl_sign(str, sig, sizeof(sig));
    for (i = 0; i < n; i++) {
        const char *v = tamper_k != NULL && strcmp(kv[2 * i], tamper_k) == 0 ? tamper_v
                                                                             : kv[2 * i + 1];
        strncat(body, kv[2 * i], 16383 - strlen(body));
        strncat(body, "=", 16383 - strlen(body));
        url_encode_into(body, 16384, v);
        strncat(body, "&", 16383 - strlen(body));
    }
    strncat(body, "sign_type=RSA2&sign=", 16383 - strlen(body));
    url_encode_into(body, 16384, sig);
    return body;
}


/* ---- tests ---- */

static void
test_load_real_pack(void **state)
{
    struct pgw_packs *ps = load_real(APP_ID, "alipay_fixture_platform_public");
    struct pgw_pack *p = pgw_packs_get(ps, "alipay");
    const json_t *m;
    char *ops;
    size_t i;

    (void) state;
    assert_non_null(p);
    assert_string_equal(pgw_pack_channel(p), "alipay");
    assert_int_equal(strlen(pgw_pack_version(p)), 12);
    for (i = 0; i < 12; i++) {
        assert_true(hexv(pgw_pack_version(p)[i]) >= 0);
    }
    m = pgw_pack_manifest(p);
    ops = json_dumps(json_object_get(m, "operations"), JSON_COMPACT);
    assert_string_equal(ops, "[\"bill\",\"cancel\",\"close\",\"pay\",\"payout\","
                        "\"payout_query\",\"query\",\"refund\",\"refund_query\",\"notify\"]");
    free(ops);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
                            m, "methods"), "alipay.qr"), "kind")), "prepay");
    assert_non_null(json_object_get(json_object_get(json_object_get(m, "codes"), "query"),
                                    "not_found"));
    assert_null(pgw_packs_get(ps, "wechat"));
    pgw_packs_free(ps);
}


static void
test_build_precreate_verified_independently(void **state)
{
    struct pgw_packs *ps = load_real(APP_ID, "alipay_fixture_platform_public");
    struct pgw_pack *p = pgw_packs_get(ps, "alipay");
    json_t *o = order(), *biz;
    struct pgw_msg msg;
    struct kv kv[32];
    char err[256], str[4096] = "";
    size_t n, i;
    const char *ts, *sign;
    struct tm tm;
    time_t now = time(NULL), t;

    (void) state;
    assert_int_equal(pgw_pack_build(p, "pay", o, &msg, err, sizeof(err)), 0);
    assert_string_equal(msg.method, "POST");
    assert_string_equal(msg.url, ENDPOINT);
    assert_string_equal(msg.content_type, "application/x-www-form-urlencoded;charset=utf-8");
    assert_int_equal(strlen(msg.body), msg.body_len);

    n = form_split(msg.body, kv, 32);
    assert_string_equal(kv_get(kv, n, "app_id"), APP_ID);
    assert_string_equal(kv_get(kv, n, "method"), "alipay.trade.precreate");
    assert_string_equal(kv_get(kv, n, "format"), "JSON");
    assert_string_equal(kv_get(kv, n, "charset"), "utf-8");
    assert_string_equal(kv_get(kv, n, "sign_type"), "RSA2");
    assert_string_equal(kv_get(kv, n, "version"), "1.0");
    assert_string_equal(kv_get(kv, n, "notify_url"), "http://127.0.0.1:8080/notify/alipay");
    biz = json_loads(kv_get(kv, n, "biz_content"), 0, NULL);
    assert_non_null(biz);
    assert_string_equal(json_string_value(json_object_get(biz, "total_amount")), "10.00");
    assert_string_equal(json_string_value(json_object_get(biz, "out_trade_no")),
                        "T20261122001");
    assert_string_equal(json_string_value(json_object_get(biz, "subject")), "Order 1");
    assert_string_equal(json_string_value(json_object_get(biz, "timeout_express")), "15m");
    json_decref(biz);

    /* timestamp: "yyyy-MM-dd HH:mm:ss" in +08:00, i.e. now + 8 h */
    ts = kv_get(kv, n, "timestamp");
    assert_non_null(ts);
    memset(&tm, 0, sizeof(tm));
    assert_non_null(strptime(ts, "%Y-%m-%d %H:%M:%S", &tm));
    assert_int_equal(strlen(ts), 19);
    t = timegm(&tm) - 8 * 3600;
    assert_true(t >= now - 5 && t <= now + 5);

    /* independent signing string: all but sign, sorted, k=v&..., raw */
    sign = kv_get(kv, n, "sign");
    assert_non_null(sign);
    qsort(kv, n, sizeof(kv[0]), kv_cmp);
    for (i = 0; i < n; i++) {
        if (strcmp(kv[i].k, "sign") == 0) {
            continue;
        }
        if (str[0] != '\0') {
            strncat(str, "&", sizeof(str) - strlen(str) - 1);
        }
        strncat(str, kv[i].k, sizeof(str) - strlen(str) - 1);
        strncat(str, "=", sizeof(str) - strlen(str) - 1);
        strncat(str, kv[i].v, sizeof(str) - strlen(str) - 1);
    }
    assert_non_null(strstr(str, "&sign_type=RSA2&"));
    assert_true(ossl_verify(APP_PUB, str, sign));
    str[5] ^= 1;
    assert_false(ossl_verify(APP_PUB, str, sign));

    /* the message log never sees the signature */
    assert_non_null(strstr(msg.masked, "sign=***"));
    assert_null(strstr(msg.masked, sign + 1));
    assert_non_null(strstr(msg.body, "&sign="));
    kv_free(kv, n);
    pgw_msg_clear(&msg);
    json_decref(o);
    pgw_packs_free(ps);
}


static void
test_build_refusals(void **state)
{
    struct pgw_packs *ps = load_real(APP_ID, "alipay_fixture_platform_public");
    struct pgw_pack *p = pgw_packs_get(ps, "alipay");
    json_t *o = order();
    struct pgw_msg msg;
    char err[256];

    (void) state;
    json_object_set_new(o, "currency", json_string("USD"));
    assert_int_equal(pgw_pack_build(p, "pay", o, &msg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "currency USD is not supported"));
    assert_null(msg.body);
    json_object_set_new(o, "currency", json_string("CNY"));
    json_object_set_new(o, "amount", json_integer(0));
    assert_int_equal(pgw_pack_build(p, "pay", o, &msg, err, sizeof(err)), -1);
    assert_int_equal(pgw_pack_build(p, "capture", o, &msg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no operation 'capture'"));
    assert_int_equal(pgw_pack_build(p, "notify", o, &msg, err, sizeof(err)), -1);
    json_object_set_new(o, "amount", json_integer(1000));
    assert_int_equal(pgw_pack_build(p, "query", o, &msg, err, sizeof(err)), 0);
    assert_non_null(strstr(msg.body, "method=alipay.trade.query"));
    assert_null(strstr(msg.body, "notify_url"));
    pgw_msg_clear(&msg);
    json_decref(o);
    pgw_packs_free(ps);
}


static void
parse_expect(struct pgw_pack *p, const char *op, long status, const char *body,
             enum pgw_class cls, const char *code, const char *error_part)
{
    json_t *o = order();
    struct pgw_outcome oc;

    assert_int_equal(pgw_pack_parse(p, op, status, NULL, body, strlen(body), o, &oc), 0);
    if (oc.cls != cls) {
        fail_msg("class %s (code '%s', error '%s'), expected %s", pgw_class_name(oc.cls),
                 oc.code, oc.error, pgw_class_name(cls));
    }
    if (code != NULL) {
        assert_string_equal(oc.code, code);
    }
    if (error_part == NULL) {
        assert_string_equal(oc.error, "");
    } else if (strstr(oc.error, error_part) == NULL) {
        fail_msg("error '%s' lacks '%s'", oc.error, error_part);
    }
    assert_non_null(oc.fields);
    assert_non_null(oc.masked);
    pgw_outcome_clear(&oc);
    json_decref(o);
}


#define PRE_OK "{\"code\":\"10000\",\"msg\":\"Success\",\"out_trade_no\":\"T20261122001\"," \
               "\"qr_code\":\"https:\\/\\/qr.alipay.com\\/bax1\"}"


static void
test_parse_answers_into_classes(void **state)
{
    struct pgw_packs *ps = load_real(APP_ID, "alipay_fixture_platform_public");
    struct pgw_pack *p = pgw_packs_get(ps, "alipay");
    json_t *o = order();
    struct pgw_outcome oc;
    char *b;

    (void) state;
    b = response("alipay_trade_precreate_response", PRE_OK, NULL);
    assert_int_equal(pgw_pack_parse(p, "pay", 200, NULL, b, strlen(b), o, &oc), 0);
    assert_int_equal(oc.cls, PGW_CLASS_SUCCESS);
    assert_string_equal(oc.code, "10000");
    assert_string_equal(json_string_value(json_object_get(json_object_get(oc.fields,
                        "credential"), "qr_code")), "https://qr.alipay.com/bax1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(oc.fields,
                        "credential"), "type")), "qr_code");
    assert_non_null(strstr(oc.masked, "\"sign\":\"***\""));
    pgw_outcome_clear(&oc);
    /* the same valid body behind a 5xx is still PROCESSING */
    parse_expect(p, "pay", 503, b, PGW_CLASS_PROCESSING, NULL, "HTTP status 503");
    free(b);

    /* signature over something else */
    b = response("alipay_trade_precreate_response", PRE_OK, "{\"code\":\"10000\"}");
    parse_expect(p, "pay", 200, b, PGW_CLASS_PROCESSING, "10000", "response signature invalid");
    free(b);
    /* no signature at all */
    parse_expect(p, "pay", 200, "{\"alipay_trade_precreate_response\":" PRE_OK "}",
                 PGW_CLASS_PROCESSING, "10000", "response signature invalid");

    b = response("alipay_trade_precreate_response",
                 "{\"code\":\"40004\",\"msg\":\"Business Failed\",\"sub_code\":"
                 "\"ACQ.TOTAL_FEE_EXCEED\"}", NULL);
    parse_expect(p, "pay", 200, b, PGW_CLASS_FAILED, "40004:ACQ.TOTAL_FEE_EXCEED", NULL);
    free(b);
    b = response("alipay_trade_precreate_response",
                 "{\"code\":\"40004\",\"msg\":\"Business Failed\",\"sub_code\":"
                 "\"ACQ.TRADE_HAS_SUCCESS\"}", NULL);
    parse_expect(p, "pay", 200, b, PGW_CLASS_PROCESSING, "40004:ACQ.TRADE_HAS_SUCCESS", NULL);
    free(b);
    b = response("alipay_trade_precreate_response",
                 "{\"code\":\"99999\",\"msg\":\"??\"}", NULL);
    parse_expect(p, "pay", 200, b, PGW_CLASS_PROCESSING, "99999", NULL);
    free(b);

    b = response("alipay_trade_query_response",
                 "{\"code\":\"40004\",\"msg\":\"Business Failed\",\"sub_code\":"
                 "\"ACQ.TRADE_NOT_EXIST\"}", NULL);
    parse_expect(p, "query", 200, b, PGW_CLASS_NOT_FOUND, "40004:ACQ.TRADE_NOT_EXIST", NULL);
    free(b);
    b = response("alipay_trade_query_response",
                 "{\"code\":\"10000\",\"out_trade_no\":\"T20261122001\",\"trade_no\":\"2026\","
                 "\"trade_status\":\"TRADE_SUCCESS\",\"total_amount\":\"10.00\"}", NULL);
    assert_int_equal(pgw_pack_parse(p, "query", 200, NULL, b, strlen(b), o, &oc), 0);
    assert_int_equal(oc.cls, PGW_CLASS_SUCCESS);
    assert_int_equal(json_integer_value(json_object_get(oc.fields, "amount")), 1000);
    assert_string_equal(json_string_value(json_object_get(oc.fields, "channel_trade_no")),
                        "2026");
    pgw_outcome_clear(&oc);
    free(b);
    /* a script error (unparseable amount) is PROCESSING, never FAILED */
    b = response("alipay_trade_query_response",
                 "{\"code\":\"10000\",\"out_trade_no\":\"T20261122001\","
                 "\"trade_status\":\"TRADE_SUCCESS\",\"total_amount\":\"ten\"}", NULL);
    parse_expect(p, "query", 200, b, PGW_CLASS_PROCESSING, NULL, "script error");
    free(b);
    /* an answer for another order */
    b = response("alipay_trade_query_response",
                 "{\"code\":\"10000\",\"out_trade_no\":\"OTHER\","
                 "\"trade_status\":\"TRADE_SUCCESS\",\"total_amount\":\"10.00\"}", NULL);
    parse_expect(p, "query", 200, b, PGW_CLASS_PROCESSING, NULL, "out_trade_no");
    free(b);
    /* two *_response members: refused, not guessed */
    parse_expect(p, "query", 200, "{\"alipay_trade_query_response\":{\"code\":\"10000\"},"
                 "\"alipay_trade_query_response\":{\"code\":\"10000\"},\"sign\":\"x\"}",
                 PGW_CLASS_PROCESSING, NULL, "not a JSON object");
    parse_expect(p, "close", 200, "", PGW_CLASS_PROCESSING, NULL, "not a JSON object");
    parse_expect(p, "capture", 200, "{}", PGW_CLASS_PROCESSING, "", "no parser");
    json_decref(o);
    pgw_packs_free(ps);
}


static const char *const notify_kv[] = {
    "app_id", APP_ID,
    "gmt_payment", "2026-11-22 12:00:05",
    "notify_id", "2026112200222120005012345678",
    "notify_type", "trade_status_sync",
    "out_trade_no", "T20261122001",
    "subject", "\xe6\xb5\x8b\xe8\xaf\x95 Order 1",
    "total_amount", "10.00",
    "trade_no", "2026112222001400001234567890",
    "trade_status", "TRADE_SUCCESS",
};


static void
test_notify_genuine_and_forged(void **state)
{
    struct pgw_packs *ps = load_real(APP_ID, "alipay_fixture_platform_public");
    struct pgw_pack *p = pgw_packs_get(ps, "alipay");
    struct pgw_notify nt;
    char *b;

    (void) state;
    b = notify_body(notify_kv, 9, NULL, NULL);
    assert_int_equal(pgw_pack_notify(p, "application/x-www-form-urlencoded", NULL, NULL, b,
                                     strlen(b), &nt), 0);
    assert_int_equal(nt.verified, 1);
    assert_int_equal(nt.outcome.cls, PGW_CLASS_SUCCESS);
    assert_string_equal(nt.outcome.code, "TRADE_SUCCESS");
    assert_string_equal(nt.out_trade_no, "T20261122001");
    assert_int_equal(json_integer_value(json_object_get(nt.outcome.fields, "amount")), 1000);
    assert_string_equal(json_string_value(json_object_get(nt.outcome.fields,
                                                          "channel_trade_no")),
                        "2026112222001400001234567890");
    assert_string_equal(json_string_value(json_object_get(nt.outcome.fields, "app_id")),
                        APP_ID);
    assert_int_equal(nt.ack_status, 200);
    assert_string_equal(nt.ack_body, "success");
    assert_string_equal(nt.ack_content_type, "text/plain");
    assert_non_null(strstr(nt.outcome.masked, "sign=***"));
    pgw_notify_clear(&nt);
    free(b);

    /* forged: amount raised after signing */
    b = notify_body(notify_kv, 9, "total_amount", "1000.00");
    assert_int_equal(pgw_pack_notify(p, "application/x-www-form-urlencoded", NULL, NULL, b,
                                     strlen(b), &nt), 0);
    assert_int_equal(nt.verified, 0);
    assert_int_equal(nt.outcome.cls, PGW_CLASS_PROCESSING);
    assert_int_equal(nt.ack_status, 400);
    assert_string_equal(nt.ack_body, "fail");
    assert_string_equal(nt.ack_content_type, "text/plain");
    pgw_notify_clear(&nt);
    free(b);

    /* forged: status flipped */
    b = notify_body(notify_kv, 9, "trade_status", "TRADE_CLOSED");
    assert_int_equal(pgw_pack_notify(p, "", NULL, NULL, b, strlen(b), &nt), 0);
    assert_int_equal(nt.verified, 0);
    pgw_notify_clear(&nt);
    free(b);

    /* garbage and empty bodies */
    assert_int_equal(pgw_pack_notify(p, "text/plain", NULL, NULL, "%%%", 3, &nt), 0);
    assert_int_equal(nt.verified, 0);
    assert_int_equal(nt.ack_status, 400);
    pgw_notify_clear(&nt);
    assert_int_equal(pgw_pack_notify(p, NULL, NULL, NULL, NULL, 0, &nt), 0);
    assert_int_equal(nt.verified, 0);
    pgw_notify_clear(&nt);
    pgw_packs_free(ps);
}


static void
test_notify_for_another_app_is_not_verified(void **state)
{
    struct pgw_packs *ps = load_real("2021999999999999", "alipay_fixture_platform_public");
    struct pgw_notify nt;
    char *b = notify_body(notify_kv, 9, NULL, NULL);

    (void) state;
    assert_int_equal(pgw_pack_notify(pgw_packs_get(ps, "alipay"), "", NULL, NULL, b,
                                     strlen(b), &nt), 0);
    assert_int_equal(nt.verified, 0);
    assert_non_null(strstr(nt.outcome.error, "another app_id"));
    pgw_notify_clear(&nt);
    free(b);
    pgw_packs_free(ps);
}


static void
test_published_v2_alipay_notify(void **state)
{
    static const char *const v2[] = {
        "gmt_create", "2019-08-15 15:56:22", "charset", "utf-8",
        "seller_email", "z97-yuquerevenue@service.aliyun.com",
        "subject", "\xe8\xaf\xad\xe9\x9b\x80\xe7\xa9\xba\xe9\x97\xb4 500\xe4\xba\xba"
                   "\xe8\xa7\x84\xe6\xa8\xa1",
        "buyer_id", "2088102534368455", "invoice_amount", "0.10",
        "notify_id", "2019081500222155624068450559358070",
        "fund_bill_list", "[{\"amount\":\"0.10\",\"fundChannel\":\"ALIPAYACCOUNT\"}]",
        "notify_type", "trade_status_sync", "trade_status", "TRADE_SUCCESS",
        "receipt_amount", "0.10", "buyer_pay_amount", "0.10", "app_id", "2019073166072302",
        "seller_id", "2088531891668739", "gmt_payment", "2019-08-15 15:56:24",
        "notify_time", "2019-08-15 15:56:25", "version", "1.0",
        "out_trade_no", "20190815155618536-564-57", "total_amount", "0.10",
        "trade_no", "2019081522001468450512505578", "auth_app_id", "2019073166072302",
        "buyer_logon_id", "xud***@126.com", "point_amount", "0.00", "sign_type", "RSA2",
        "sign", "QfTb8tqE1BMhS5qAnXtvsF3/jBkEvu9q9en0pdbBUDDjvKycZhQb7h8GDs4FKfi049PynaNuatxSgLb/nLWZpXyyh0LEWdK2S6Ri7nPwrVgOs08zugLO20vOQz44y3ti2Ncm8/wZts1Fr2gZ7pShnVX3d1B50hbsXnObT1r/U8ONNQjWXd0HIul4TG+Q3fm3svmSvFEy0WnzuhcyHPX5Gm4ELNctL6Qd5YniGJFNcc7kopHYtI/XD9YCKCH6Ct02rzUs9i11C9CsadtZn+WhxF26Dqt9sGEFajkJ8cxUTLi8+VCpLHsgPE8P0y095uQcDdK0YjCh4x7wVSov+lrmOQ==",
    };
    struct pgw_packs *ps = load_real("2019073166072302", "v2_alipay_public");
    struct pgw_notify nt;
    char body[8192] = "";
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(v2) / sizeof(v2[0]); i += 2) {
        if (i > 0) {
            strncat(body, "&", sizeof(body) - strlen(body) - 1);
        }
        strncat(body, v2[i], sizeof(body) - strlen(body) - 1);
        strncat(body, "=", sizeof(body) - strlen(body) - 1);
        url_encode_into(body, sizeof(body), v2[i + 1]);
    }
    assert_int_equal(pgw_pack_notify(pgw_packs_get(ps, "alipay"),
                                     "application/x-www-form-urlencoded; charset=utf-8", NULL, NULL,
                                     body, strlen(body), &nt), 0);
    if (nt.verified != 1) {
        fail_msg("real Alipay notify not verified: %s", nt.outcome.error);
    }
    assert_int_equal(nt.outcome.cls, PGW_CLASS_SUCCESS);
    assert_string_equal(nt.out_trade_no, "20190815155618536-564-57");
    assert_int_equal(json_integer_value(json_object_get(nt.outcome.fields, "amount")), 10);
    assert_string_equal(nt.ack_body, "success");
    pgw_notify_clear(&nt);
    pgw_packs_free(ps);
}


/* ---- temporary pack trees ---- */

static char tmpdir[64];


static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t) n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}


static void
spit_abs(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}


static void
spit(const char *rel, const char *text)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    spit_abs(path, text);
}


/* text with `old` replaced once by `new` (new malloc'd string) */
static char *
replace(const char *text, const char *old, const char *new)
{
    const char *at = strstr(text, old);
    size_t n = strlen(text) - strlen(old) + strlen(new) + 1;
    char *out = malloc(n);

    assert_non_null(at);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int) (at - text), text, new, at + strlen(old));
    return out;
}


static struct pgw_packs *
tmp_tree(void)
{
    char path[256], real[4096], err[256];
    char *t = slurp("templates/alipay.lua"), *s = slurp("scripts/alipay.lua");
    struct pgw_packs *ps;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/pgw_pack_test_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(path, sizeof(path), "%s/templates", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/scripts", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_non_null(realpath("templates/alipay.fixtures", real));
    snprintf(path, sizeof(path), "%s/templates/alipay.fixtures", tmpdir);
    assert_int_equal(symlink(real, path), 0);
    spit("templates/alipay.lua", t);
    spit("scripts/alipay.lua", s);
    free(t);
    free(s);
    snprintf(path, sizeof(path), "%s/templates", tmpdir);
    snprintf(real, sizeof(real), "%s/scripts", tmpdir);
    ps = pgw_packs_new(path, real, "tests/vectors/keys", err, sizeof(err));
    assert_non_null(ps);
    return ps;
}


static void
rm_tree(void)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/templates/alipay.fixtures", tmpdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/templates/alipay.lua", tmpdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/scripts/alipay.lua", tmpdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/templates", tmpdir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/scripts", tmpdir);
    rmdir(path);
    rmdir(tmpdir);
}


static void
test_syntax_error_fails_with_file_and_line(void **state)
{
    struct pgw_packs *ps = tmp_tree();
    json_t *cfg = config(APP_ID, "alipay_fixture_platform_public");
    char *t = slurp("templates/alipay.lua"), *bad, want[256], err[512];

    (void) state;
    /* line 17 of the template becomes a syntax error */
    bad = replace(t, "local M = {}\n", "local M = {}\nlocal x = = 1\n");
    spit("templates/alipay.lua", bad);
    assert_int_equal(pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s/templates/alipay.lua:", tmpdir);
    if (strstr(err, want) == NULL || strstr(err, "unexpected symbol") == NULL) {
        fail_msg("message lacks file:line: %s", err);
    }
    {
        const char *line = strstr(err, want) + strlen(want);
        int ln = (int) strtol(line, NULL, 10);
        const char *nl = t;
        int expect = 1;
        while ((nl = strstr(nl, "\n")) != NULL && nl < strstr(t, "local M = {}\n")) {
            expect++;
            nl++;
        }
        assert_int_equal(ln, expect + 1);
    }
    assert_null(pgw_packs_get(ps, "alipay"));
    free(bad);

    /* a runtime error while loading the script names its file and line too */
    spit("templates/alipay.lua", t);
    {
        char *s = slurp("scripts/alipay.lua");
        char *bad2 = replace(s, "local S = {}\n", "local S = {}\nlocal boom = nil + 1\n");
        spit("scripts/alipay.lua", bad2);
        assert_int_equal(pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "%s/scripts/alipay.lua:", tmpdir);
        assert_non_null(strstr(err, want));
        assert_non_null(strstr(err, "arithmetic"));
        free(bad2);
        free(s);
    }
    free(t);
    json_decref(cfg);
    pgw_packs_free(ps);
    rm_tree();
}


static void
test_manifest_errors_name_file_and_field(void **state)
{
    struct pgw_packs *ps = tmp_tree();
    json_t *cfg = config(APP_ID, "alipay_fixture_platform_public");
    char *s = slurp("scripts/alipay.lua"), *t = slurp("templates/alipay.lua"), *bad;
    char err[512], want[256];

    (void) state;
    bad = replace(s, "success = { source = DOC_CLOSE, codes = { \"10000\",",
                  "success = { codes = { \"10000\",");
    spit("scripts/alipay.lua", bad);
    assert_int_equal(pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s/scripts/alipay.lua: codes.close.success.source", tmpdir);
    if (strstr(err, want) == NULL) {
        fail_msg("unexpected message: %s", err);
    }
    free(bad);
    spit("scripts/alipay.lua", s);

    bad = replace(t, "first_query_delay_ms = 5000,", "");
    spit("templates/alipay.lua", bad);
    assert_int_equal(pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s/templates/alipay.lua: manifest.first_query_delay_ms",
             tmpdir);
    assert_non_null(strstr(err, want));
    free(bad);

    /* a code on two lists of one operation */
    spit("templates/alipay.lua", t);
    bad = replace(s, "closed = { source = DOC_QUERY, codes = { \"TRADE_CLOSED\" } },",
                  "closed = { source = DOC_QUERY, codes = { \"TRADE_SUCCESS\" } },");
    spit("scripts/alipay.lua", bad);
    assert_int_equal(pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "codes.query: code 'TRADE_SUCCESS' is on both"));
    free(bad);

    /* "no synchronous success" is declared, with a reason, on success only */
    {
        static const struct {
            const char *list;
            const char *field;
        } refused[] = {
            { "success = { source = DOC_CLOSE, none = \"too short\" },",
              "codes.close.success.none: must say why" },
            { "success = { source = DOC_CLOSE, none = 42 },",
              "codes.close.success.none: must say why" },
            { "success = { source = DOC_CLOSE, codes = { \"10000\" }, "
              "none = \"the close is only ever accepted here\" },",
              "codes.close.success: has both 'none' and 'codes'" },
            { "success = { source = DOC_CLOSE, codes = {} },",
              "codes.close.success.codes: must be a non-empty list" },
        };
        const char *old_list = "success = { source = DOC_CLOSE, codes = { \"10000\", "
                               "\"40004:ACQ.TRADE_NOT_EXIST:EXPIRED\" } },";
        const char *fail_none = "failure = { source = DOC_CLOSE, none = \"a failure list "
                                "cannot be declared empty\" },";
        size_t i;

        for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
            bad = replace(s, old_list, refused[i].list);
            spit("scripts/alipay.lua", bad);
            assert_int_equal(pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)), -1);
            if (strstr(err, refused[i].field) == NULL) {
                fail_msg("case %zu: unexpected message: %s", i, err);
            }
            free(bad);
        }
        bad = replace(s, "not_found = { source = DOC_CLOSE, codes = "
                      "{ \"40004:ACQ.TRADE_NOT_EXIST\" } },", fail_none);
        spit("scripts/alipay.lua", bad);
        assert_int_equal(pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)), -1);
        if (strstr(err, "codes.close.failure.none: only a success list") == NULL) {
            fail_msg("unexpected message: %s", err);
        }
        free(bad);

        /* accepted by the contract: the close then has no success code, so
         * its 10000 answer, which the script still reports, is PROCESSING --
         * and the pack's own fixture (which expects SUCCESS) says so */
        bad = replace(s, old_list, "success = { source = DOC_CLOSE, none = \"the close is "
                      "only accepted here; a query settles it\" },");
        spit("scripts/alipay.lua", bad);
        assert_int_equal(pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)), -1);
        if (strstr(err, "('close success'): class is PROCESSING (code '10000'") == NULL) {
            fail_msg("unexpected message: %s", err);
        }
        free(bad);
    }
    free(s);
    free(t);
    json_decref(cfg);
    pgw_packs_free(ps);
    rm_tree();
}


static void
test_swap_keeps_retained_version_alive(void **state)
{
    struct pgw_packs *ps = tmp_tree();
    json_t *cfg = config(APP_ID, "alipay_fixture_platform_public");
    json_t *o = order();
    char *t = slurp("templates/alipay.lua"), *s = slurp("scripts/alipay.lua"), *t2, *bad;
    char err[512], v1[13];
    struct pgw_pack *old, *cur;
    struct pgw_msg msg;
    struct pgw_outcome oc;
    char *b;

    (void) state;
    assert_int_equal(pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)), 0);
    old = pgw_packs_get(ps, "alipay");
    pgw_pack_retain(old);                      /* an in-flight order holds it */
    snprintf(v1, sizeof(v1), "%s", pgw_pack_version(old));

    t2 = replace(t, "local M = {}\n", "local M = {}\n-- revision 2\n");
    spit("templates/alipay.lua", t2);
    assert_int_equal(pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)), 0);
    cur = pgw_packs_get(ps, "alipay");
    assert_ptr_not_equal(cur, old);
    assert_string_not_equal(pgw_pack_version(cur), v1);
    assert_string_equal(pgw_pack_version(old), v1);

    /* the old version still builds and parses */
    assert_int_equal(pgw_pack_build(old, "pay", o, &msg, err, sizeof(err)), 0);
    assert_non_null(strstr(msg.body, "method=alipay.trade.precreate"));
    pgw_msg_clear(&msg);
    b = response("alipay_trade_precreate_response", PRE_OK, NULL);
    pgw_pack_parse(old, "pay", 200, NULL, b, strlen(b), o, &oc);
    assert_int_equal(oc.cls, PGW_CLASS_SUCCESS);
    pgw_outcome_clear(&oc);

    /* a broken reload changes nothing */
    bad = replace(s, "function S.parse.close", "function S.parse.close(");
    spit("scripts/alipay.lua", bad);
    assert_int_equal(pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)), -1);
    assert_ptr_equal(pgw_packs_get(ps, "alipay"), cur);

    /* the registry goes away first; the retained version outlives it */
    pgw_packs_free(ps);
    pgw_pack_parse(old, "pay", 200, NULL, b, strlen(b), o, &oc);
    assert_int_equal(oc.cls, PGW_CLASS_SUCCESS);
    pgw_outcome_clear(&oc);
    pgw_pack_release(old);

    free(b);
    free(bad);
    free(t2);
    free(t);
    free(s);
    json_decref(o);
    json_decref(cfg);
    rm_tree();
}


/* a rotated key is a new version: `channel reload` picks it up; an untouched
 * keystore leaves the version as it is */
static void
test_rotated_key_is_a_new_version(void **state)
{
    char kdir[] = "/tmp/pgw_keys_test_XXXXXX", path[512], err[512], v1[13];
    struct pgw_packs *ps;
    struct pgw_pack *p = NULL;
    json_t *cfg = config(APP_ID, "alipay_fixture_platform_public");
    char *priv = slurp("tests/vectors/keys/v13_test_private.pem");
    char *pub = slurp("tests/vectors/keys/alipay_fixture_platform_public.key");
    char *other = slurp("tests/vectors/keys/v13_test_private_pkcs1.key");

    (void) state;
    assert_non_null(mkdtemp(kdir));
    snprintf(path, sizeof(path), "%s/v13_test_private.pem", kdir);
    spit_abs(path, priv);
    snprintf(path, sizeof(path), "%s/alipay_fixture_platform_public.key", kdir);
    spit_abs(path, pub);
    ps = pgw_packs_new("templates", "scripts", kdir, err, sizeof(err));
    assert_non_null(ps);
    if (pgw_packs_load(ps, "alipay", cfg, err, sizeof(err)) != 0) {
        fail_msg("load failed: %s", err);
    }
    snprintf(v1, sizeof(v1), "%s", pgw_pack_version(pgw_packs_get(ps, "alipay")));

    /* nothing changed: unchanged */
    assert_int_equal(pgw_packs_prepare_version(ps, "alipay", cfg, &p, err, sizeof(err)), 1);
    assert_null(p);

    /* the private key file is replaced (same key, other encoding here): a new
     * version, built and checked like any other, serving after install */
    snprintf(path, sizeof(path), "%s/v13_test_private.pem", kdir);
    spit_abs(path, other);
    assert_int_equal(pgw_packs_prepare_version(ps, "alipay", cfg, &p, err, sizeof(err)), 0);
    assert_non_null(p);
    assert_string_not_equal(pgw_pack_version(p), v1);
    assert_int_equal(pgw_packs_install(ps, "alipay", p, err, sizeof(err)), 0);
    pgw_pack_release(p);
    assert_string_not_equal(pgw_pack_version(pgw_packs_get(ps, "alipay")), v1);

    /* a file the config does not name changes nothing */
    snprintf(path, sizeof(path), "%s/unrelated.secret", kdir);
    spit_abs(path, "not ours\n");
    p = NULL;
    assert_int_equal(pgw_packs_prepare_version(ps, "alipay", cfg, &p, err, sizeof(err)), 1);

    pgw_packs_free(ps);
    unlink(path);
    snprintf(path, sizeof(path), "%s/v13_test_private.pem", kdir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/alipay_fixture_platform_public.key", kdir);
    unlink(path);
    rmdir(kdir);
    free(priv);
    free(pub);
    free(other);
    json_decref(cfg);
}


static void
test_check_and_bad_names(void **state)
{
    char err[256];
    struct pgw_packs *ps = pgw_packs_new("templates", "scripts", "tests/vectors/keys", err,
                                         sizeof(err));
    json_t *cfg = config(APP_ID, "alipay_fixture_platform_public");

    (void) state;
    assert_int_equal(pgw_packs_check(ps, "alipay", cfg, err, sizeof(err)), 0);
    assert_null(pgw_packs_get(ps, "alipay"));          /* check never swaps */
    assert_int_equal(pgw_packs_load(ps, "../etc", cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid channel name"));
    assert_int_equal(pgw_packs_load(ps, "nosuch", cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "templates/nosuch.lua: cannot open"));
    json_decref(cfg);
    pgw_packs_free(ps);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_real_pack),
        cmocka_unit_test(test_build_precreate_verified_independently),
        cmocka_unit_test(test_build_refusals),
        cmocka_unit_test(test_parse_answers_into_classes),
        cmocka_unit_test(test_notify_genuine_and_forged),
        cmocka_unit_test(test_notify_for_another_app_is_not_verified),
        cmocka_unit_test(test_published_v2_alipay_notify),
        cmocka_unit_test(test_syntax_error_fails_with_file_and_line),
        cmocka_unit_test(test_manifest_errors_name_file_and_field),
        cmocka_unit_test(test_swap_keeps_retained_version_alive),
        cmocka_unit_test(test_rotated_key_is_a_new_version),
        cmocka_unit_test(test_check_and_bad_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
