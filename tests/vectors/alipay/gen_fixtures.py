#!/usr/bin/env python3
"""Regenerates templates/alipay.fixtures/cases.lua -- the alipay pack's recorded
request/response pairs -- independently of the C/Lua code under test:
requests are signed here with the V13 TEST key (python `cryptography`), the
"Alipay" side (responses, notifies) with tests/vectors/keys/
alipay_fixture_platform_private.pem.  All keys are TEST-ONLY.

    python3 tests/vectors/alipay/gen_fixtures.py   (from the repository root)
"""
import base64
import json
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

APP_KEY = "tests/vectors/keys/v13_test_private.pem"
PLATFORM_KEY = "tests/vectors/keys/alipay_fixture_platform_private.pem"
OUT = "templates/alipay.fixtures/cases.lua"

CLOCK_MS = 1704081600000            # 2024-01-01 12:00:00 +08:00
TIMESTAMP = "2024-01-01 12:00:00"
APP_ID = "2021000000000001"
ENDPOINT = "https://openapi.alipay.com/gateway.do"


def load(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


app_key = load(APP_KEY)
platform_key = load(PLATFORM_KEY)


def rsa2(key, text):
    sig = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(sig).decode()


def sign_string(params, exclude):
    return "&".join(f"{k}={params[k]}" for k in sorted(params)
                    if k not in exclude and params[k] != "")


def form(params):
    return "&".join(f"{urllib.parse.quote(k, safe='')}={urllib.parse.quote(v, safe='')}"
                    for k, v in sorted(params.items()))


def request_body(method, biz, notify_url=None):
    p = {"app_id": APP_ID, "method": method, "format": "JSON", "charset": "utf-8",
         "sign_type": "RSA2", "timestamp": TIMESTAMP, "version": "1.0",
         "biz_content": json.dumps(biz, ensure_ascii=False, sort_keys=True,
                                   separators=(",", ":"))}
    if notify_url:
        p["notify_url"] = notify_url
    p["sign"] = rsa2(app_key, sign_string(p, {"sign"}))
    return form(p)


def response(method, inner_raw, sign_with=None, sign=True, tamper=None):
    key = method.replace(".", "_") + "_response"
    signed = inner_raw if tamper is None else tamper
    body = '{"' + key + '":' + inner_raw
    if sign:
        body += ',"sign":"' + rsa2(sign_with or platform_key, signed) + '"'
    return body + "}"


def raw(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def notify(params, tamper=None, keep_sign_type=False):
    p = dict(params)
    p["sign_type"] = "RSA2"
    excl = {"sign"} if keep_sign_type else {"sign", "sign_type"}
    p["sign"] = rsa2(platform_key, sign_string(p, excl))
    if tamper:
        p.update(tamper)
    return urllib.parse.urlencode(sorted(p.items()))


ORDER = {"out_trade_no": "T20240101001", "amount": 1000, "currency": "CNY",
         "subject": "Order 1", "method": "alipay.qr", "expire_seconds": 900,
         "notify_url": "http://127.0.0.1:8080/notify/alipay"}
PRE, QRY, CLS = "alipay.trade.precreate", "alipay.trade.query", "alipay.trade.close"
QR = "https://qr.alipay.com/bax08431dmfwlz0ldnxq0035"

cases = []


def build(name, op, body, order=ORDER):
    cases.append({"name": name, "kind": "build", "op": op, "order": order,
                  "expect": {"method": "POST", "url": ENDPOINT, "body": body,
                             "content_type":
                             "application/x-www-form-urlencoded;charset=utf-8"}})


def parse(name, op, resp, expect, status=200, order=ORDER):
    cases.append({"name": name, "kind": "parse", "op": op, "order": order,
                  "status": status, "response": resp, "expect": expect})


build("precreate request (recorded, RSA2 with the V13 test key)", "pay",
      request_body(PRE, {"out_trade_no": "T20240101001", "total_amount": "10.00",
                         "subject": "Order 1", "timeout_express": "15m"},
                   ORDER["notify_url"]))
build("query request", "query", request_body(QRY, {"out_trade_no": "T20240101001"}))
build("close request", "close", request_body(CLS, {"out_trade_no": "T20240101001"}))

ok_pre = raw({"code": "10000", "msg": "Success", "out_trade_no": "T20240101001",
              "qr_code": QR})
parse("precreate success -> credential", "pay", response(PRE, ok_pre),
      {"class": "SUCCESS", "code": "10000", "error": "",
       "fields": {"credential": {"type": "qr_code", "qr_code": QR}}})
# the raw text keeps \/ escapes: the signature is over the bytes as received
ok_pre_esc = ok_pre.replace("/", "\\/")
parse("precreate success, escaped slashes signed raw", "pay", response(PRE, ok_pre_esc),
      {"class": "SUCCESS", "code": "10000",
       "fields": {"credential": {"type": "qr_code", "qr_code": QR}}})
parse("precreate definitive failure", "pay",
      response(PRE, raw({"code": "40004", "msg": "Business Failed",
                         "sub_code": "ACQ.TOTAL_FEE_EXCEED", "sub_msg": "total fee exceed"})),
      {"class": "FAILED", "code": "40004:ACQ.TOTAL_FEE_EXCEED", "error": ""})
parse("precreate system error stays processing", "pay",
      response(PRE, raw({"code": "40004", "msg": "Business Failed",
                         "sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": "system error"})),
      {"class": "PROCESSING", "code": "40004:ACQ.SYSTEM_ERROR", "error": ""})
parse("precreate unknown code stays processing", "pay",
      response(PRE, raw({"code": "40004", "msg": "Business Failed",
                         "sub_code": "ACQ.SOMETHING_NEW", "sub_msg": "?"})),
      {"class": "PROCESSING", "code": "40004:ACQ.SOMETHING_NEW", "error": ""})
parse("precreate bad response signature", "pay",
      response(PRE, ok_pre, tamper=ok_pre.replace("T20240101001", "T20240101002")),
      {"class": "PROCESSING", "code": "10000", "error": "response signature invalid"})
parse("precreate response signed by another key", "pay",
      response(PRE, ok_pre, sign_with=app_key),
      {"class": "PROCESSING", "error": "response signature invalid"})
parse("unsigned gateway error (bad app_id) is processing, not rejected", "pay",
      response(PRE, raw({"code": "40002", "msg": "Invalid Arguments",
                         "sub_code": "isv.invalid-app-id", "sub_msg": "bad app_id"}),
               sign=False),
      {"class": "PROCESSING", "code": "40002:isv.invalid-app-id",
       "error": "response signature invalid"})
parse("signed gateway rejection is not-sent", "pay",
      response(PRE, raw({"code": "40002", "msg": "Invalid Arguments",
                         "sub_code": "isv.invalid-signature", "sub_msg": "bad sign"})),
      {"class": "NOT_SENT", "code": "40002:isv.invalid-signature"})
parse("HTTP 502 is processing", "pay", "<html>Bad Gateway</html>",
      {"class": "PROCESSING", "error": "HTTP status 502"}, status=502)
parse("garbage answer is processing", "pay", "not json at all",
      {"class": "PROCESSING", "error": "response is not a JSON object"})

def q(status, **extra):
    d = {"code": "10000", "msg": "Success", "out_trade_no": "T20240101001",
         "trade_no": "2024010122001400001234567890", "trade_status": status,
         "total_amount": "10.00"}
    d.update(extra)
    return response(QRY, raw(d))

parse("query TRADE_SUCCESS", "query", q("TRADE_SUCCESS", send_pay_date="2024-01-01 12:00:05"),
      {"class": "SUCCESS", "code": "TRADE_SUCCESS", "error": "",
       "fields": {"channel_trade_no": "2024010122001400001234567890", "amount": 1000,
                  "paid_at_ms": 1704081605000}})
parse("query TRADE_FINISHED", "query", q("TRADE_FINISHED"),
      {"class": "SUCCESS", "code": "TRADE_FINISHED"})
parse("query WAIT_BUYER_PAY", "query", q("WAIT_BUYER_PAY"),
      {"class": "PROCESSING", "code": "WAIT_BUYER_PAY", "error": ""})
parse("query TRADE_CLOSED", "query", q("TRADE_CLOSED"),
      {"class": "CLOSED", "code": "TRADE_CLOSED"})
parse("query paid amount differs from the order", "query",
      q("TRADE_SUCCESS", total_amount="0.01"),
      {"class": "PROCESSING", "error": "paid amount differs"})
parse("query not found", "query",
      response(QRY, raw({"code": "40004", "msg": "Business Failed",
                         "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "trade not exist"})),
      {"class": "NOT_FOUND", "code": "40004:ACQ.TRADE_NOT_EXIST", "error": ""})
parse("query bad signature", "query",
      response(QRY, raw({"code": "10000", "msg": "Success", "out_trade_no": "T20240101001",
                         "trade_status": "TRADE_SUCCESS", "total_amount": "10.00"}),
               tamper="{}"),
      {"class": "PROCESSING", "error": "response signature invalid"})
parse("close success", "close",
      response(CLS, raw({"code": "10000", "msg": "Success", "out_trade_no": "T20240101001",
                         "trade_no": "2024010122001400001234567890"})),
      {"class": "SUCCESS", "code": "10000"})
parse("close not found", "close",
      response(CLS, raw({"code": "40004", "msg": "Business Failed",
                         "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "trade not exist"})),
      {"class": "NOT_FOUND", "code": "40004:ACQ.TRADE_NOT_EXIST"})

NOTIFY = {"gmt_create": "2024-01-01 12:00:01", "charset": "utf-8",
          "seller_email": "seller@example.com", "subject": "测试 Order 1",
          "buyer_id": "2088102534368455", "invoice_amount": "10.00",
          "notify_id": "2024010100222120005012345678", "notify_type": "trade_status_sync",
          "trade_status": "TRADE_SUCCESS", "receipt_amount": "10.00",
          "buyer_pay_amount": "10.00", "app_id": APP_ID,
          "seller_id": "2088531891668739", "gmt_payment": "2024-01-01 12:00:05",
          "notify_time": "2024-01-01 12:00:06", "version": "1.0",
          "out_trade_no": "T20240101001", "total_amount": "10.00",
          "trade_no": "2024010122001400001234567890", "auth_app_id": APP_ID,
          "fund_bill_list": '[{"amount":"10.00","fundChannel":"ALIPAYACCOUNT"}]'}

def note(name, body, expect):
    cases.append({"name": name, "kind": "notify",
                  "content_type": "application/x-www-form-urlencoded; charset=utf-8",
                  "body": body, "expect": expect})

note("valid notify TRADE_SUCCESS", notify(NOTIFY),
     {"verified": True, "class": "SUCCESS", "code": "TRADE_SUCCESS",
      "out_trade_no": "T20240101001", "ack_status": 200, "ack_body": "success",
      "fields": {"amount": 1000, "channel_trade_no": "2024010122001400001234567890",
                 "app_id": APP_ID, "out_trade_no": "T20240101001"}})
note("valid notify TRADE_CLOSED", notify(dict(NOTIFY, trade_status="TRADE_CLOSED")),
     {"verified": True, "class": "CLOSED", "ack_body": "success"})
note("forged notify (amount changed after signing)", notify(NOTIFY, tamper={"total_amount": "0.01"}),
     {"verified": False, "class": "PROCESSING", "ack_status": 400, "ack_body": "fail"})
note("notify signed with sign_type kept does not verify", notify(NOTIFY, keep_sign_type=True),
     {"verified": False, "class": "PROCESSING", "ack_body": "fail"})
note("unsigned notify", urllib.parse.urlencode(sorted(NOTIFY.items())),
     {"verified": False, "ack_status": 400})


def lua(v, ind=""):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        if any(c in v for c in '"\\\n') or len(v) > 60:
            eq = "=="
            while ("]" + eq + "]") in v:
                eq += "="
            return "[" + eq + "[" + v + "]" + eq + "]"
        return '"' + v + '"'
    if isinstance(v, dict):
        inner = ind + "  "
        items = [f"{inner}{k} = {lua(v[k], inner)}," if k.isidentifier()
                 else f'{inner}["{k}"] = {lua(v[k], inner)},' for k in v]
        return "{\n" + "\n".join(items) + "\n" + ind + "}"
    if isinstance(v, list):
        inner = ind + "  "
        return "{\n" + "\n".join(f"{inner}{lua(x, inner)}," for x in v) + "\n" + ind + "}"
    raise TypeError(v)


doc = {"clock_ms": CLOCK_MS,
       "config": {"app_id": APP_ID, "app_private_key": "fixture_app_private",
                  "channel_public_key": "fixture_alipay_public", "endpoint": ENDPOINT},
       "cases": cases}
with open(OUT, "w", encoding="utf-8") as f:
    f.write("-- templates/alipay.fixtures/cases.lua -- recorded request/response pairs the\n"
            "-- host runs before the alipay pack may go live (see docs/packs.md).\n"
            "-- GENERATED by tests/vectors/alipay/gen_fixtures.py with TEST-ONLY keys\n"
            "-- (keys/ here; tests/vectors/keys/README.md); regenerate, do not hand-edit.\n"
            "return " + lua(doc) + "\n")
print(f"{OUT}: {len(cases)} cases")
