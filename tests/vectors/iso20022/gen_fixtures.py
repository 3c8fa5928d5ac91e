#!/usr/bin/env python3
"""tests/vectors/iso20022/gen_fixtures.py -- writes the fixtures of the iso20022
archetype (templates/archetypes/iso20022/fixtures/): pain.001 requests and
pain.002 answers built and HMAC-signed here, independently of the pack, with a
TEST-ONLY key. Run from the repository root: python3 tests/vectors/iso20022/gen_fixtures.py
"""
import hashlib
import hmac
import os

OUT = "templates/archetypes/iso20022/fixtures"
KEY = b"iso20022-archetype-TEST-ONLY-hmac-key"
ENDPOINT = "https://h2h.bank.example/iso20022"
CONFIG = {"debtor_name": "Example Merchant GmbH", "debtor_iban": "DE89370400440532013000",
          "debtor_bic": "COBADEFFXXX", "hmac_key": "fixture_iso_hmac", "endpoint": ENDPOINT}
CLOCK_MS = 1704081600000      # 2024-01-01T04:00:00Z


def mac(data):
    return hmac.new(KEY, data.encode(), hashlib.sha256).hexdigest()


def order(no="P20240101001", amount=123456, remark="Invoice 42"):
    return {"out_trade_no": no, "amount": amount, "currency": "EUR", "subject": "Payout",
            "method": "iso20022.credit_transfer",
            "payout": {"out_payout_no": no, "amount": amount, "currency": "EUR", "remark": remark,
                       "payee": {"account_no": "FR1420041010050500013M02606",
                                 "account_name": "Jean & Fils", "bank_code": "PSSTFRPPPAR",
                                 "type": "corporate"}}}


def pain001(o):
    p = o["payout"]
    amt = "%d.%02d" % (p["amount"] // 100, p["amount"] % 100)
    esc = lambda s: (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                     .replace('"', "&quot;").replace("'", "&apos;"))
    c = CONFIG
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn>'
            f'<GrpHdr><MsgId>{p["out_payout_no"]}</MsgId><CreDtTm>2024-01-01T04:00:00Z</CreDtTm>'
            f'<NbOfTxs>1</NbOfTxs><CtrlSum>{amt}</CtrlSum><InitgPty><Nm>{esc(c["debtor_name"])}</Nm>'
            '</InitgPty></GrpHdr>'
            f'<PmtInf><PmtInfId>{p["out_payout_no"]}</PmtInfId><PmtMtd>TRF</PmtMtd><NbOfTxs>1</NbOfTxs>'
            f'<CtrlSum>{amt}</CtrlSum><ReqdExctnDt><Dt>2024-01-01</Dt></ReqdExctnDt>'
            f'<Dbtr><Nm>{esc(c["debtor_name"])}</Nm></Dbtr>'
            f'<DbtrAcct><Id><IBAN>{c["debtor_iban"]}</IBAN></Id></DbtrAcct>'
            f'<DbtrAgt><FinInstnId><BICFI>{c["debtor_bic"]}</BICFI></FinInstnId></DbtrAgt>'
            f'<CdtTrfTxInf><PmtId><EndToEndId>{p["out_payout_no"]}</EndToEndId></PmtId>'
            f'<Amt><InstdAmt Ccy="EUR">{amt}</InstdAmt></Amt>'
            f'<CdtrAgt><FinInstnId><BICFI>{p["payee"]["bank_code"]}</BICFI></FinInstnId></CdtrAgt>'
            f'<Cdtr><Nm>{esc(p["payee"]["account_name"])}</Nm></Cdtr>'
            f'<CdtrAcct><Id><IBAN>{p["payee"]["account_no"]}</IBAN></Id></CdtrAcct>'
            f'<RmtInf><Ustrd>{esc(p["remark"])}</Ustrd></RmtInf>'
            '</CdtTrfTxInf></PmtInf></CstmrCdtTrfInitn></Document>')


def pain002(e2e, sts, reason=None, ref="BANKREF0001"):
    rsn = f"<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>" if reason else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">\n'
            '  <CstmrPmtStsRpt>\n'
            '    <GrpHdr><MsgId>STS-' + e2e + '</MsgId><CreDtTm>2024-01-01T04:00:05Z</CreDtTm></GrpHdr>\n'
            '    <OrgnlGrpInfAndSts><OrgnlMsgId>' + e2e + '</OrgnlMsgId>'
            '<OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId></OrgnlGrpInfAndSts>\n'
            '    <OrgnlPmtInfAndSts><OrgnlPmtInfId>' + e2e + '</OrgnlPmtInfId>\n'
            '      <TxInfAndSts><OrgnlEndToEndId>' + e2e + '</OrgnlEndToEndId><TxSts>' + sts +
            '</TxSts>' + rsn + '<AcctSvcrRef>' + ref + '</AcctSvcrRef></TxInfAndSts>\n'
            '    </OrgnlPmtInfAndSts>\n'
            '  </CstmrPmtStsRpt>\n'
            '</Document>\n')


def lua(v, ind=0):
    pad = " " * ind
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = []
        for k in v:
            key = k if k.isidentifier() else '["%s"]' % k
            items.append(f"{pad}  {key} = {lua(v[k], ind + 2)},")
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(v, list):
        return "{\n" + "\n".join(f"{pad}  {lua(x, ind + 2)}," for x in v) + f"\n{pad}}}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    if "\n" in s or '"' in s:
        assert "]==]" not in s
        return "[==[" + ("\n" if s.startswith("\n") else "") + s + "]==]"
    return '"' + s.replace("\\", "\\\\") + '"'


def parse_case(name, op, o, body, expect, status=200, sig=None):
    return {"name": name, "kind": "parse", "op": op, "order": o, "status": status,
            "headers": {"content-type": "application/xml",
                        "x-signature": mac(body) if sig is None else sig},
            "response": body, "expect": expect}


def main():
    o = order()
    no = o["payout"]["out_payout_no"]
    body = pain001(o)
    path = f"/iso20022/payments/{no}/status"
    cases = [
        {"name": "pain.001 credit transfer (exact, HMAC-SHA256 computed independently)",
         "kind": "build", "op": "payout", "order": o,
         "expect": {"method": "POST", "url": ENDPOINT + "/payments", "content_type": "application/xml",
                    "body": body, "headers": {"X-Signature": mac(body)}}},
        {"name": "status request", "kind": "build", "op": "payout_query", "order": o,
         "expect": {"method": "GET", "url": ENDPOINT + f"/payments/{no}/status",
                    "headers": {"X-Signature": mac("GET " + path)}}},
        parse_case("accepted, settlement in process: not final", "payout", o, pain002(no, "ACSP"),
                   {"class": "PROCESSING", "code": "ACSP", "error": ""}),
        parse_case("settled", "payout", o, pain002(no, "ACSC"),
                   {"class": "SUCCESS", "code": "ACSC", "error": "",
                    "fields": {"channel_payout_no": "BANKREF0001"}}),
        parse_case("closed account: final rejection", "payout", o, pain002(no, "RJCT", "AC04"),
                   {"class": "FAILED", "code": "RJCT:AC04", "error": ""}),
        parse_case("duplicate message id: an earlier instruction exists, never a failure", "payout",
                   o, pain002(no, "RJCT", "DU01"), {"class": "PROCESSING", "code": "RJCT:DU01"}),
        parse_case("invalid file format: refused before processing", "payout", o,
                   pain002(no, "RJCT", "FF01"), {"class": "NOT_SENT", "code": "RJCT:FF01"}),
        parse_case("an unknown reason stays PROCESSING", "payout", o, pain002(no, "RJCT", "MS03"),
                   {"class": "PROCESSING", "code": "RJCT:MS03"}),
        parse_case("bad signature: PROCESSING whatever it says", "payout", o, pain002(no, "ACSC"),
                   {"class": "PROCESSING", "error": "response signature invalid"}, sig="00" * 32),
        parse_case("report for another transfer", "payout", o, pain002("P-OTHER", "ACSC"),
                   {"class": "PROCESSING", "error": "another EndToEndId"}),
        parse_case("query: settled", "payout_query", o, pain002(no, "ACSC"),
                   {"class": "SUCCESS", "code": "ACSC", "error": ""}),
        parse_case("query: unknown transfer (404) is not found, never failed", "payout_query", o,
                   "", {"class": "NOT_FOUND", "code": "NOTFOUND", "error": ""}, status=404),
    ]
    doc = {"clock_ms": CLOCK_MS, "config": CONFIG, "cases": cases}
    text = ("-- templates/archetypes/iso20022/fixtures/cases.lua -- GENERATED by\n"
            "-- tests/vectors/iso20022/gen_fixtures.py with a TEST-ONLY HMAC key\n"
            "-- (keys/fixture_iso_hmac.secret); regenerate, do not hand-edit.\n"
            "return " + lua(doc) + "\n")
    # the record marker, just before the cases list closes
    text = text[:text.rstrip().rfind("  },")] + "    -- paygwctl channel record appends here\n" + \
        text[text.rstrip().rfind("  },"):]
    os.makedirs(OUT + "/keys", exist_ok=True)
    with open(OUT + "/cases.lua", "w") as f:
        f.write(text)
    with open(OUT + "/keys/fixture_iso_hmac.secret", "wb") as f:
        f.write(KEY + b"\n")


if __name__ == "__main__":
    main()
