#!/usr/bin/env python3
"""Regenerates templates/alipay.fixtures/cases.lua -- the alipay pack's recorded
request/response pairs -- independently of the C/Lua code under test:
requests are signed here with the V13 TEST key (python `cryptography`), the
"Alipay" side (responses, notifies) with tests/vectors/keys/
alipay_fixture_platform_private.pem.  All keys are TEST-ONLY.
Certificate mode (公钥证书模式) cases carry their own config naming copies of
tests/vectors/keys/alipay_cert_test_*.pem; their SNs are computed here from the
certificates (python `cryptography`) and checked against the values
alipay-sdk's antcertutil prints for them (tests/vectors/alipay/gen_certs.sh).
The output is deterministic (RSA PKCS#1 v1.5, fixed keys and clock).

    python3 tests/vectors/alipay/gen_fixtures.py [OUT]   (from the repository root;
    default OUT templates/alipay.fixtures/cases.lua)
"""
import base64
import hashlib
import json
import sys
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

APP_KEY = "tests/vectors/keys/v13_test_private.pem"
PLATFORM_KEY = "tests/vectors/keys/alipay_fixture_platform_private.pem"
OUT = sys.argv[1] if len(sys.argv) > 1 else "templates/alipay.fixtures/cases.lua"

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


class Commented(int):
    """an integer written with a trailing Lua comment"""
    def __new__(cls, v, comment):
        o = int.__new__(cls, v)
        o.comment = comment
        return o


def created(ms_before, comment):
    o = {k: v for k, v in ORDER.items() if k != "notify_url"}
    o["created_at_ms"] = Commented(CLOCK_MS - ms_before, comment)
    o["notify_url"] = ORDER["notify_url"]
    return o


close_gone = response(CLS, raw({"code": "40004", "msg": "Business Failed",
                                "sub_code": "ACQ.TRADE_NOT_EXIST",
                                "sub_msg": "trade not exist"}))
parse("close not found after the payment deadline: confirmed closed", "close", close_gone,
      {"class": "SUCCESS", "code": "40004:ACQ.TRADE_NOT_EXIST:EXPIRED"},
      order=created(15 * 60000 + 61000, "the frozen clock - 15 min - 61 s"))
parse("close not found within a minute of the deadline: still only not found", "close",
      close_gone, {"class": "NOT_FOUND", "code": "40004:ACQ.TRADE_NOT_EXIST"},
      order=created(15 * 60000 + 59000, "the frozen clock - 15 min - 59 s"))

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


# ---- the ops beyond precreate/query/close (issue 4) -------------------------
PAY, CAN, REF, RFQ = ("alipay.trade.pay", "alipay.trade.cancel", "alipay.trade.refund",
                      "alipay.trade.fastpay.refund.query")
BILL, TRF, TRQ = ("alipay.data.dataservice.bill.downloadurl.query",
                  "alipay.fund.trans.uni.transfer", "alipay.fund.trans.common.query")
TRADE_NO = "2024010122001400001234567890"
BARCODE = dict(ORDER, method="alipay.barcode", extra={"auth_code": "28763443825664394"})
REFUND = dict(ORDER, refund={"out_refund_no": "R20240101001", "amount": 400,
                             "reason": "returned"})
BILL_ORDER = {"bill": {"date": "2024-01-01", "type": "trade"}}
PAYOUT = {"payout": {"out_payout_no": "P20240101001", "amount": 1000, "currency": "CNY",
                     "payee": {"account_no": "payee@example.com", "account_name": "张三"},
                     "remark": "conformance"}}


def signed_params(method, biz, notify_url=None, return_url=None):
    p = {"app_id": APP_ID, "method": method, "format": "JSON", "charset": "utf-8",
         "sign_type": "RSA2", "timestamp": TIMESTAMP, "version": "1.0",
         "biz_content": json.dumps(biz, ensure_ascii=False, sort_keys=True,
                                   separators=(",", ":"))}
    if notify_url:
        p["notify_url"] = notify_url
    if return_url:
        p["return_url"] = return_url
    p["sign"] = rsa2(app_key, sign_string(p, {"sign"}))
    return p


build("barcode pay request (alipay.trade.pay, scene bar_code)", "pay",
      request_body(PAY, {"out_trade_no": "T20240101001", "total_amount": "10.00",
                         "subject": "Order 1", "timeout_express": "15m",
                         "scene": "bar_code", "auth_code": "28763443825664394",
                         "product_code": "FACE_TO_FACE_PAYMENT"}, ORDER["notify_url"]),
      order=BARCODE)
pay_biz = {"out_trade_no": "T20240101001", "total_amount": "10.00", "subject": "Order 1",
           "timeout_express": "15m"}
for meth, api, pc in (("alipay.wap", "alipay.trade.wap.pay", "QUICK_WAP_WAY"),
                      ("alipay.page", "alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY")):
    o = dict(ORDER, method=meth, extra={"return_url": "https://shop.example.com/back"})
    prm = signed_params(api, dict(pay_biz, product_code=pc), ORDER["notify_url"],
                        "https://shop.example.com/back")
    cases.append({"name": f"{meth}: a signed GET URL, nothing sent", "kind": "build",
                  "op": "pay", "order": o,
                  "expect": {"credential": {"type": "page_url",
                                            "url": ENDPOINT + "?" + form(prm)},
                             "body_contains": ["method=" + api]}})
prm = signed_params("alipay.trade.app.pay", dict(pay_biz, product_code="QUICK_MSECURITY_PAY"),
                    ORDER["notify_url"])
cases.append({"name": "alipay.app: the signed order string for the app SDK", "kind": "build",
              "op": "pay", "order": dict(ORDER, method="alipay.app"),
              "expect": {"credential": {"type": "app_order_string",
                                        "order_string": form(prm)}}})
build("cancel request", "cancel", request_body(CAN, {"out_trade_no": "T20240101001"}))
build("refund request (out_request_no = out_refund_no)", "refund",
      request_body(REF, {"out_trade_no": "T20240101001", "refund_amount": "4.00",
                         "out_request_no": "R20240101001", "refund_reason": "returned"}),
      order=REFUND)
build("refund query request", "refund_query",
      request_body(RFQ, {"out_trade_no": "T20240101001", "out_request_no": "R20240101001",
                         "query_options": ["gmt_refund_pay"]}), order=REFUND)
build("bill download URL request", "bill",
      request_body(BILL, {"bill_type": "trade", "bill_date": "2024-01-01"}), order=BILL_ORDER)
build("payout request (uni.transfer to a login id)", "payout",
      request_body(TRF, {"out_biz_no": "P20240101001", "trans_amount": "10.00",
                         "product_code": "TRANS_ACCOUNT_NO_PWD",
                         "biz_scene": "DIRECT_TRANSFER", "order_title": "conformance",
                         "remark": "conformance",
                         "payee_info": {"identity": "payee@example.com",
                                        "identity_type": "ALIPAY_LOGON_ID",
                                        "name": "张三"}}), order=PAYOUT)
build("payout query request", "payout_query",
      request_body(TRQ, {"out_biz_no": "P20240101001", "product_code": "TRANS_ACCOUNT_NO_PWD",
                         "biz_scene": "DIRECT_TRANSFER"}), order=PAYOUT)


def biz_err(sub, msg="Business Failed", code="40004"):
    return raw({"code": code, "msg": msg, "sub_code": sub, "sub_msg": sub})


paid = raw({"code": "10000", "msg": "Success", "out_trade_no": "T20240101001",
            "trade_no": TRADE_NO, "total_amount": "10.00",
            "gmt_payment": "2024-01-01 12:00:03", "buyer_logon_id": "159****5620"})
parse("barcode paid (10000)", "pay", response(PAY, paid),
      {"class": "SUCCESS", "code": "10000", "error": "",
       "fields": {"channel_trade_no": TRADE_NO, "amount": 1000,
                  "paid_at_ms": 1704081603000}}, order=BARCODE)
parse("barcode 10003 waits for the buyer", "pay",
      response(PAY, raw({"code": "10003", "msg": "order success pay inprocess",
                         "out_trade_no": "T20240101001", "trade_no": TRADE_NO})),
      {"class": "PROCESSING", "code": "10003", "error": ""}, order=BARCODE)
parse("barcode 10000 with WAIT_BUYER_PAY is not paid", "pay",
      response(PAY, raw({"code": "10000", "msg": "Success", "out_trade_no": "T20240101001",
                         "trade_status": "WAIT_BUYER_PAY", "total_amount": "10.00"})),
      {"class": "PROCESSING", "code": "10000:WAIT_BUYER_PAY"}, order=BARCODE)
parse("barcode auth code invalid is final", "pay",
      response(PAY, biz_err("ACQ.PAYMENT_AUTH_CODE_INVALID")),
      {"class": "FAILED", "code": "40004:ACQ.PAYMENT_AUTH_CODE_INVALID"}, order=BARCODE)
parse("barcode ACQ.PAYMENT_FAIL stays processing", "pay",
      response(PAY, biz_err("ACQ.PAYMENT_FAIL")),
      {"class": "PROCESSING", "code": "40004:ACQ.PAYMENT_FAIL"}, order=BARCODE)
parse("barcode 20000 stays processing", "pay",
      response(PAY, biz_err("isp.unknow-error", "Service Currently Unavailable", "20000")),
      {"class": "PROCESSING", "code": "20000:isp.unknow-error"}, order=BARCODE)
parse("barcode paid amount differs", "pay",
      response(PAY, paid.replace('"10.00"', '"0.01"')),
      {"class": "PROCESSING", "error": "amount"}, order=BARCODE)
parse("barcode bad signature", "pay", response(PAY, paid, sign_with=app_key),
      {"class": "PROCESSING", "error": "response signature invalid"}, order=BARCODE)

cancel_ok = {"code": "10000", "msg": "Success", "out_trade_no": "T20240101001",
             "trade_no": TRADE_NO, "retry_flag": "N", "action": "close"}
parse("cancel closed the trade", "cancel", response(CAN, raw(cancel_ok)),
      {"class": "SUCCESS", "code": "10000", "fields": {"action": "close"}})
parse("cancel refunded the trade", "cancel",
      response(CAN, raw(dict(cancel_ok, action="refund"))),
      {"class": "SUCCESS", "code": "10000", "fields": {"action": "refund"}})
parse("cancel retry_flag=Y: call again", "cancel",
      response(CAN, raw({"code": "40004", "msg": "Business Failed",
                         "sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": "busy",
                         "retry_flag": "Y"})),
      {"class": "PROCESSING", "code": "40004:ACQ.SYSTEM_ERROR:retry",
       "fields": {"recall": True}})
parse("cancel too late is final", "cancel",
      response(CAN, biz_err("ACQ.TRADE_CANCEL_TIME_OUT")),
      {"class": "FAILED", "code": "40004:ACQ.TRADE_CANCEL_TIME_OUT"})
parse("cancel not found", "cancel", response(CAN, biz_err("ACQ.TRADE_NOT_EXIST")),
      {"class": "NOT_FOUND"})
parse("cancel unknown code", "cancel", response(CAN, biz_err("ACQ.SOMETHING_NEW")),
      {"class": "PROCESSING"})
parse("cancel bad signature", "cancel", response(CAN, raw(cancel_ok), tamper="{}"),
      {"class": "PROCESSING", "error": "response signature invalid"})

refund_ok = {"code": "10000", "msg": "Success", "out_trade_no": "T20240101001",
             "trade_no": TRADE_NO, "buyer_logon_id": "159****5620", "fund_change": "Y",
             "refund_fee": "4.00"}
parse("refund fund_change=Y", "refund", response(REF, raw(refund_ok)),
      {"class": "SUCCESS", "code": "10000", "fields": {"refund_status": "SUCCESS"}},
      order=REFUND)
parse("refund fund_change=N: query it", "refund",
      response(REF, raw(dict(refund_ok, fund_change="N"))),
      {"class": "PROCESSING", "code": "10000:fund_change_N"}, order=REFUND)
parse("refund on an unrefundable trade is final", "refund",
      response(REF, biz_err("ACQ.TRADE_STATUS_ERROR")),
      {"class": "FAILED", "code": "40004:ACQ.TRADE_STATUS_ERROR"}, order=REFUND)
parse("refund trade not exist is not a money failure", "refund",
      response(REF, biz_err("ACQ.TRADE_NOT_EXIST")), {"class": "NOT_FOUND"}, order=REFUND)
parse("refund unknown code", "refund", response(REF, biz_err("ACQ.SOMETHING_NEW")),
      {"class": "PROCESSING"}, order=REFUND)
parse("refund bad signature", "refund", response(REF, raw(refund_ok), sign_with=app_key),
      {"class": "PROCESSING", "error": "response signature invalid"}, order=REFUND)

rq_ok = {"code": "10000", "msg": "Success", "out_trade_no": "T20240101001",
         "trade_no": TRADE_NO, "out_request_no": "R20240101001", "total_amount": "10.00",
         "refund_amount": "4.00", "refund_status": "REFUND_SUCCESS",
         "gmt_refund_pay": "2024-01-01 12:10:00"}
parse("refund query REFUND_SUCCESS", "refund_query", response(RFQ, raw(rq_ok)),
      {"class": "SUCCESS", "code": "REFUND_SUCCESS",
       "fields": {"amount": 400, "refunded_at_ms": 1704082200000}}, order=REFUND)
parse("refund query without refund_status", "refund_query",
      response(RFQ, raw({k: v for k, v in rq_ok.items() if k != "refund_status"})),
      {"class": "PROCESSING", "code": "10000"}, order=REFUND)
parse("refund query: nothing came back", "refund_query",
      response(RFQ, raw({"code": "10000", "msg": "Success", "out_trade_no": "T20240101001",
                         "trade_no": TRADE_NO})),
      {"class": "NOT_FOUND", "code": "REFUND_NOT_EXIST"}, order=REFUND)
parse("refund query amount differs", "refund_query",
      response(RFQ, raw(dict(rq_ok, refund_amount="4.01"))),
      {"class": "PROCESSING", "error": "amount"}, order=REFUND)
parse("refund query unknown code", "refund_query", response(RFQ, biz_err("ACQ.NEW")),
      {"class": "PROCESSING"}, order=REFUND)
parse("refund query bad signature", "refund_query", response(RFQ, raw(rq_ok), tamper="{}"),
      {"class": "PROCESSING", "error": "response signature invalid"}, order=REFUND)

bill_url = "https://dwbillcenter.alipay.com/downloadBillFile.resource?bizType=trade&fileType=csv.zip&bizDates=20240101"
parse("bill URL", "bill",
      response(BILL, raw({"code": "10000", "msg": "Success", "bill_download_url": bill_url})),
      {"class": "SUCCESS", "code": "10000", "fields": {"download_url": bill_url}},
      order=BILL_ORDER)
parse("bill not there", "bill", response(BILL, biz_err("isp.bill_not_exist")),
      {"class": "NOT_FOUND"}, order=BILL_ORDER)
parse("bill unknown code", "bill", response(BILL, biz_err("isp.something")),
      {"class": "PROCESSING"}, order=BILL_ORDER)
parse("bill bad signature", "bill", response(BILL, raw({"code": "10000", "msg": "Success",
                                                       "bill_download_url": bill_url}),
                                             sign_with=app_key),
      {"class": "PROCESSING", "error": "response signature invalid"}, order=BILL_ORDER)

trf = {"code": "10000", "msg": "Success", "out_biz_no": "P20240101001",
       "order_id": "20240101110070000006210012345678",
       "pay_fund_order_id": "20240101110070001506210012345678", "status": "SUCCESS",
       "trans_date": "2024-01-01 12:00:10"}
parse("payout SUCCESS", "payout", response(TRF, raw(trf)),
      {"class": "SUCCESS", "code": "SUCCESS",
       "fields": {"channel_payout_no": "20240101110070000006210012345678"}}, order=PAYOUT)
parse("payout DEALING", "payout", response(TRF, raw(dict(trf, status="DEALING"))),
      {"class": "PROCESSING", "code": "DEALING"}, order=PAYOUT)
parse("payout FAIL on the transfer answer stays processing (query it)", "payout",
      response(TRF, raw(dict(trf, status="FAIL"))),
      {"class": "PROCESSING", "code": "FAIL"}, order=PAYOUT)
parse("payout payee does not exist is final", "payout",
      response(TRF, biz_err("PAYEE_NOT_EXIST")),
      {"class": "FAILED", "code": "40004:PAYEE_NOT_EXIST"}, order=PAYOUT)
parse("payout balance not enough stays processing", "payout",
      response(TRF, biz_err("PAYER_BALANCE_NOT_ENOUGH")),
      {"class": "PROCESSING"}, order=PAYOUT)
parse("payout unknown code", "payout", response(TRF, biz_err("SOMETHING_NEW")),
      {"class": "PROCESSING"}, order=PAYOUT)
parse("payout bad signature", "payout", response(TRF, raw(trf), sign_with=app_key),
      {"class": "PROCESSING", "error": "response signature invalid"}, order=PAYOUT)
trq = dict(trf, trans_amount="10.00")
parse("payout query SUCCESS", "payout_query", response(TRQ, raw(trq)),
      {"class": "SUCCESS", "code": "SUCCESS", "fields": {"amount": 1000}}, order=PAYOUT)
parse("payout query FAIL is final", "payout_query",
      response(TRQ, raw(dict(trq, status="FAIL", fail_reason="PAYEE_CARD_INFO_ERROR"))),
      {"class": "FAILED", "code": "FAIL"}, order=PAYOUT)
parse("payout query REFUND (paid then returned) is not failure", "payout_query",
      response(TRQ, raw(dict(trq, status="REFUND"))), {"class": "PROCESSING"}, order=PAYOUT)
parse("payout query amount differs", "payout_query",
      response(TRQ, raw(dict(trq, trans_amount="9.99"))),
      {"class": "PROCESSING", "error": "amount"}, order=PAYOUT)
parse("payout query not found", "payout_query", response(TRQ, biz_err("ORDER_NOT_EXIST")),
      {"class": "NOT_FOUND"}, order=PAYOUT)
parse("payout query bad signature", "payout_query", response(TRQ, raw(trq), tamper="{}"),
      {"class": "PROCESSING", "error": "response signature invalid"}, order=PAYOUT)

REFUND_NOTIFY = dict(NOTIFY, refund_fee="4.00", gmt_refund="2024-01-01 12:10:00.123",
                     out_biz_no="R20240101001", notify_time="2024-01-01 12:10:01")
note("refund notify (refund_fee, out_biz_no)", notify(REFUND_NOTIFY),
     {"verified": True, "class": "SUCCESS", "code": "REFUND_SUCCESS",
      "out_trade_no": "T20240101001",
      "fields": {"kind": "refund", "out_refund_no": "R20240101001", "refund_amount": 400}})
note("full refund notify (TRADE_CLOSED) is a refund, not a closed pay",
     notify(dict(REFUND_NOTIFY, trade_status="TRADE_CLOSED", refund_fee="10.00")),
     {"verified": True, "class": "SUCCESS", "code": "REFUND_SUCCESS",
      "fields": {"kind": "refund", "refund_amount": 1000}})
note("forged refund notify", notify(REFUND_NOTIFY, tamper={"refund_fee": "10.00"}),
     {"verified": False, "class": "PROCESSING", "ack_status": 400})


# ---- public-key certificate mode (公钥证书模式), per-case config ----------------
CERTS = {"app_cert": "tests/vectors/keys/alipay_cert_test_app_cert.pem",
         "alipay_root_cert": "tests/vectors/keys/alipay_cert_test_root_bundle.pem",
         "alipay_public_cert": "tests/vectors/keys/alipay_cert_test_alipay_cert.pem"}
CERT_CONFIG = {"app_cert": "fixture_app_cert", "alipay_root_cert": "fixture_alipay_root_cert",
               "alipay_public_cert": "fixture_alipay_public_cert"}
# as @fidm/x509 (alipay-sdk) names the issuer attributes
ATTR = {"countryName": "C", "stateOrProvinceName": "ST", "localityName": "L",
        "organizationName": "O", "organizationalUnitName": "OU", "commonName": "CN",
        "emailAddress": "E"}
RSA_SIG_OID = "1.2.840.113549.1.1."


def certs_of(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificates(f.read())


def cert_sn(c):
    """alipay-sdk's getSN: md5hex(issuer attributes last to first, "k=v" joined by
    ",", then the serial in decimal)"""
    attrs = [a for rdn in c.issuer.rdns for a in rdn]
    text = ",".join(f"{ATTR[a.oid._name]}={a.value}" for a in reversed(attrs))
    return hashlib.md5((text + str(c.serial_number)).encode()).hexdigest()


def root_sn(path):
    """the SNs of the bundle's RSA-signed certificates joined by "_" (others,
    Alipay's SM2 root, skipped)"""
    return "_".join(cert_sn(c) for c in certs_of(path)
                    if c.signature_algorithm_oid.dotted_string.startswith(RSA_SIG_OID))


APP_CERT_SN = cert_sn(certs_of(CERTS["app_cert"])[0])
ROOT_CERT_SN = root_sn(CERTS["alipay_root_cert"])
ALIPAY_CERT_SN = cert_sn(certs_of(CERTS["alipay_public_cert"])[0])
# what alipay-sdk's antcertutil prints for the same files (gen_certs.sh;
# tests/unit/test_adapter_certinfo.c): two implementations must agree
assert APP_CERT_SN == "d4cc71fec4570a12ea2f46aefa22abcc", APP_CERT_SN
assert ALIPAY_CERT_SN == "d66127af062d1684477c5cfe472086ae", ALIPAY_CERT_SN
assert ROOT_CERT_SN == ("cdc2100da457d1e23297e78cd8713b4a_"
                        "17db9947aafee47de163202d394d1725"), ROOT_CERT_SN
# the key in the Alipay certificate is the fixture platform key that signs answers
assert (certs_of(CERTS["alipay_public_cert"])[0].public_key().public_numbers()
        == platform_key.public_key().public_numbers())
OTHER_CERT_SN = "0123456789abcdef0123456789abcdef"      # a rotated Alipay certificate


def cert_params(method, biz, notify_url=None, return_url=None):
    p = {"app_id": APP_ID, "method": method, "format": "JSON", "charset": "utf-8",
         "sign_type": "RSA2", "timestamp": TIMESTAMP, "version": "1.0",
         "biz_content": json.dumps(biz, ensure_ascii=False, sort_keys=True,
                                   separators=(",", ":")),
         "app_cert_sn": APP_CERT_SN, "alipay_root_cert_sn": ROOT_CERT_SN}
    if notify_url:
        p["notify_url"] = notify_url
    if return_url:
        p["return_url"] = return_url
    p["sign"] = rsa2(app_key, sign_string(p, {"sign"}))
    # the app certificate holds the key that signs requests: Alipay verifies with it
    certs_of(CERTS["app_cert"])[0].public_key().verify(
        base64.b64decode(p["sign"]), sign_string(p, {"sign"}).encode(),
        padding.PKCS1v15(), hashes.SHA256())
    return p


def cert_response(method, inner_raw, sn):
    """an answer as Alipay lays it out in certificate mode: alipay_cert_sn between
    the <method>_response member and sign"""
    key = method.replace(".", "_") + "_response"
    return ('{"' + key + '":' + inner_raw + ',"alipay_cert_sn":"' + sn + '","sign":"'
            + rsa2(platform_key, inner_raw) + '"}')


cases.append({"name": "cert mode: precreate carries app_cert_sn and alipay_root_cert_sn",
              "kind": "build", "op": "pay", "order": ORDER, "config": CERT_CONFIG,
              "expect": {"method": "POST", "url": ENDPOINT,
                         "content_type": "application/x-www-form-urlencoded;charset=utf-8",
                         "body": form(cert_params(
                             PRE, {"out_trade_no": "T20240101001", "total_amount": "10.00",
                                   "subject": "Order 1", "timeout_express": "15m"},
                             ORDER["notify_url"])),
                         "body_contains": ["app_cert_sn=" + APP_CERT_SN,
                                           "alipay_root_cert_sn=" + ROOT_CERT_SN]}})
cases.append({"name": "cert mode: precreate answered under the configured alipay_cert_sn",
              "kind": "parse", "op": "pay", "order": ORDER, "config": CERT_CONFIG,
              "status": 200, "response": cert_response(PRE, ok_pre, ALIPAY_CERT_SN),
              "expect": {"class": "SUCCESS", "code": "10000", "error": "",
                         "fields": {"credential": {"type": "qr_code", "qr_code": QR}}}})
cases.append({"name": "cert mode: an answer under another alipay_cert_sn is not trusted",
              "kind": "parse", "op": "pay", "order": ORDER, "config": CERT_CONFIG,
              "status": 200, "response": cert_response(PRE, ok_pre, OTHER_CERT_SN),
              "expect": {"class": "PROCESSING", "code": "10000",
                         "error": "Alipay certificate changed"}})
o = dict(ORDER, method="alipay.wap", extra={"return_url": "https://shop.example.com/back"})
prm = cert_params("alipay.trade.wap.pay", dict(pay_biz, product_code="QUICK_WAP_WAY"),
                  ORDER["notify_url"], "https://shop.example.com/back")
cases.append({"name": "cert mode: alipay.wap signed GET URL carries both SNs", "kind": "build",
              "op": "pay", "order": o, "config": CERT_CONFIG,
              "expect": {"credential": {"type": "page_url", "url": ENDPOINT + "?" + form(prm)},
                         "body_contains": ["app_cert_sn=" + APP_CERT_SN,
                                           "alipay_root_cert_sn=" + ROOT_CERT_SN]}})


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
        items = [(f"{inner}{k} = {lua(v[k], inner)}," if k.isidentifier()
                  else f'{inner}["{k}"] = {lua(v[k], inner)},')
                 + (f"   -- {v[k].comment}" if isinstance(v[k], Commented) else "")
                 for k in v]
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
