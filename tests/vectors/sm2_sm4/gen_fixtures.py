#!/usr/bin/env python3
"""tests/vectors/sm2_sm4/gen_fixtures.py -- writes the fixtures of the sm2_sm4
archetype (templates/archetypes/sm2_sm4/fixtures/) with the openssl command line
(SM2 with SM3 and user id 1234567812345678, SM4-ECB), independently of the pack.
TEST-ONLY keys: the merchant's is tests/vectors/keys/sm2_test_private.pem, the
bank's is bank_sm2_private.pem here. SM2 signatures are randomised, so build
cases check the deterministic parts (the SM4 ciphertext, the fields).
Run from the repository root: python3 tests/vectors/sm2_sm4/gen_fixtures.py
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile

OUT = "templates/archetypes/sm2_sm4/fixtures"
BANK_KEY = "tests/vectors/sm2_sm4/bank_sm2_private.pem"
MERCHANT_KEY = "tests/vectors/keys/sm2_test_private.pem"
SM4_KEY = b"SM4-TEST-ONLY-16"
ENDPOINT = "https://openapi.sm2bank.example/api"
CONFIG = {"merchant_id": "M100200300", "merchant_private_key": "fixture_merchant_sm2",
          "bank_public_key": "fixture_bank_sm2_public", "sm4_key": "fixture_sm4",
          "endpoint": ENDPOINT}
CLOCK_MS = 1704081600000      # 2024-01-01 12:00:00 +08:00


def sm4(data):
    return subprocess.run(["openssl", "enc", "-sm4-ecb", "-K", SM4_KEY.hex()], input=data,
                          capture_output=True, check=True).stdout


def sm2_sign(key, data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data.encode())
        f.flush()
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", key, "-rawin", "-digest",
                              "sm3", "-pkeyopt", "distid:1234567812345678", "-in", f.name],
                             capture_output=True, check=True).stdout
    return base64.b64encode(sig).decode()


def jenc(v):
    return json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def sign_string(env):
    return "&".join(f"{k}={env[k]}" for k in sorted(env) if k != "sign" and env[k] != "")


def envelope(code, biz=None, sub_code=None, forge=False):
    env = {"merchant_id": CONFIG["merchant_id"], "code": code, "msg": "OK" if code == "0000" else "ERROR"}
    if sub_code:
        env["sub_code"] = sub_code
    if biz is not None:
        env["encrypted"] = base64.b64encode(sm4(jenc(biz).encode())).decode()
    env["sign"] = sm2_sign(MERCHANT_KEY if forge else BANK_KEY, sign_string(env))
    return jenc(env)


ORDER = {"out_trade_no": "S20240101001", "amount": 1000, "currency": "CNY", "subject": "Order 1",
         "method": "sm2bank.qr", "expire_seconds": 900,
         "notify_url": "http://127.0.0.1:8080/notify/sm2bank"}


def lua_key(k):
    return k if k.isidentifier() else '["%s"]' % k


def lua(v, ind=0):
    pad = " " * ind
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{\n" + "\n".join(f"{pad}  {lua_key(k)} = {lua(x, ind + 2)},"
                                 for k, x in v.items()) + f"\n{pad}}}"
    if isinstance(v, list):
        return "{\n" + "\n".join(f"{pad}  {lua(x, ind + 2)}," for x in v) + f"\n{pad}}}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    assert "]==]" not in v and "\n" not in v
    return "[==[" + v + "]==]" if '"' in v or "\\" in v else '"' + v + '"'


def parse(name, op, response, expect):
    return {"name": name, "kind": "parse", "op": op, "order": ORDER, "status": 200,
            "headers": {"content-type": "application/json"}, "response": response, "expect": expect}


def main():
    pay_biz = {"amount": 1000, "notify_url": ORDER["notify_url"], "out_trade_no": ORDER["out_trade_no"],
               "subject": "Order 1"}
    pay_enc = base64.b64encode(sm4(jenc(pay_biz).encode())).decode()
    query_enc = base64.b64encode(sm4(jenc({"out_trade_no": ORDER["out_trade_no"]}).encode())).decode()
    paid = {"out_trade_no": ORDER["out_trade_no"], "trade_no": "T9988776655", "status": "SUCCESS",
            "amount": 1000}
    cases = [
        {"name": "trade.qr request: SM4 part and fields (the SM2 signature is randomised)",
         "kind": "build", "op": "pay", "order": ORDER,
         "expect": {"method": "POST", "url": ENDPOINT, "content_type": "application/json;charset=utf-8",
                    "body_contains": [f'"encrypted":"{pay_enc}"', '"merchant_id":"M100200300"',
                                      '"service":"trade.qr"', '"sign_type":"SM2"',
                                      '"timestamp":"20240101120000"', '"sign":"']}},
        {"name": "trade.query request", "kind": "build", "op": "query", "order": ORDER,
         "expect": {"body_contains": [f'"encrypted":"{query_enc}"', '"service":"trade.query"']}},
        parse("QR created", "pay", envelope("0000", {"out_trade_no": ORDER["out_trade_no"],
                                                     "trade_no": "T9988776655",
                                                     "qr_code": "https://qr.sm2bank.example/q/1"}),
              {"class": "SUCCESS", "code": "0000", "error": "",
               "fields": {"channel_trade_no": "T9988776655",
                          "credential": {"type": "qr_code", "qr_code": "https://qr.sm2bank.example/q/1"}}}),
        parse("definite refusal", "pay", envelope("1001", sub_code="AMOUNT_INVALID"),
              {"class": "FAILED", "code": "1001:AMOUNT_INVALID", "error": ""}),
        parse("unknown code stays PROCESSING", "pay", envelope("1777", sub_code="NEW_THING"),
              {"class": "PROCESSING", "code": "1777:NEW_THING"}),
        parse("signed by someone else: PROCESSING whatever it says", "pay",
              envelope("0000", {"out_trade_no": ORDER["out_trade_no"]}, forge=True),
              {"class": "PROCESSING", "error": "response signature invalid"}),
        parse("query: paid", "query", envelope("0000", paid),
              {"class": "SUCCESS", "code": "SUCCESS", "error": "", "fields": {"amount": 1000}}),
        parse("query: paid another amount", "query", envelope("0000", {**paid, "amount": 999}),
              {"class": "PROCESSING", "error": "amount differs"}),
        parse("query: not found is never failed", "query", envelope("1004", sub_code="ORDER_NOT_EXIST"),
              {"class": "NOT_FOUND", "code": "1004:ORDER_NOT_EXIST", "error": ""}),
        {"name": "notify: paid", "kind": "notify", "content_type": "application/json",
         "body": envelope("0000", paid),
         "expect": {"verified": True, "class": "SUCCESS", "out_trade_no": ORDER["out_trade_no"],
                    "ack_status": 200}},
        {"name": "notify: forged", "kind": "notify", "content_type": "application/json",
         "body": envelope("0000", paid, forge=True),
         "expect": {"verified": False, "class": "PROCESSING", "ack_status": 400}},
    ]
    doc = {"clock_ms": CLOCK_MS, "config": CONFIG, "cases": cases}
    text = ("-- templates/archetypes/sm2_sm4/fixtures/cases.lua -- GENERATED by\n"
            "-- tests/vectors/sm2_sm4/gen_fixtures.py (openssl SM2/SM3/SM4, TEST-ONLY keys in\n"
            "-- keys/); regenerate, do not hand-edit.\nreturn " + lua(doc) + "\n")
    at = text.rstrip().rfind("  },")
    text = text[:at] + "    -- paygwctl channel record appends here\n" + text[at:]
    os.makedirs(OUT + "/keys", exist_ok=True)
    with open(OUT + "/cases.lua", "w") as f:
        f.write(text)
    shutil.copy(MERCHANT_KEY, OUT + "/keys/fixture_merchant_sm2.pem")
    pub = subprocess.run(["openssl", "pkey", "-in", BANK_KEY, "-pubout"], capture_output=True,
                         check=True).stdout
    with open(OUT + "/keys/fixture_bank_sm2_public.pem", "wb") as f:
        f.write(pub)
    with open(OUT + "/keys/fixture_sm4.secret", "wb") as f:
        f.write(SM4_KEY)


if __name__ == "__main__":
    main()
