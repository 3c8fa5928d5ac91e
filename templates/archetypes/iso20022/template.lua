-- templates/archetypes/iso20022/template.lua -- the iso20022 archetype
-- (paygwctl channel new NAME --like iso20022): a bank's host-to-host credit
-- transfer API in ISO 20022 XML. Never loaded as a channel (a subdirectory).
--
-- payout       = POST <endpoint>/payments, one pain.001.001.09 (CstmrCdtTrfInitn)
--                with one transaction; MsgId = PmtInfId = EndToEndId = out_payout_no
-- payout_query = GET <endpoint>/payments/<EndToEndId>/status
-- Both answers are a pain.002.001.10 (CstmrPmtStsRpt). Every request and answer
-- carries X-Signature = HMAC-SHA256 (hex) with the shared key named by
-- ctx.config.hmac_key: over the body (POST, answers) or "GET <path>".
-- ISO 20022 message definitions: https://www.iso20022.org/iso-20022-message-definitions
--
-- ctx.config: debtor_name, debtor_iban, debtor_bic (our account), hmac_key
-- (keystore secret name), endpoint.

local M = {}

M.manifest = {
  channel = "iso20022_archetype",
  methods = {
    ["iso20022.credit_transfer"] = { kind = "direct", currencies = { "EUR" },
                                     min_amount = 1, max_amount = 99999999999 },
  },
  currencies = { "EUR" },
  min_amount = 1,
  max_amount = 99999999999,
  endpoints = { production = "https://h2h.bank.example/iso20022" },
  timeouts = { connect_timeout_ms = 3000, timeout_ms = 20000 },
  -- credit transfers settle in minutes to hours: look after 1 min, then back off
  first_query_delay_ms = 60000,
  query_backoff_ms = { 60000, 300000, 900000, 3600000 },
  max_concurrency = 10,
  qps = 5,
  mask = { "IBAN", "Nm", "Ustrd" },
  signed_responses = true,
}

M.build = {}

local XML_ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;",
                  ["'"] = "&apos;" }

local function esc(v, what)
  if v == nil or v == "" then error("iso20022: " .. what .. " is required", 0) end
  return (tostring(v):gsub("[&<>\"']", XML_ESC))
end

local function sign(ctx, data)
  return gw.crypto.hmac_sha256(gw.secret(ctx.config.hmac_key), data, "hex")
end

local function payout_of(order)
  local p = order.payout
  if type(p) ~= "table" or type(p.payee) ~= "table" then
    error("iso20022: order.payout with a payee is required", 0)
  end
  return p
end

function M.build.payout(order, ctx)
  local p = payout_of(order)
  local cfg = ctx.config
  local now = gw.time.now_ms()
  local amt = gw.amount.to_decimal(p.amount, 2)
  local id = esc(p.out_payout_no, "payout.out_payout_no")
  local xml = table.concat({
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn>',
    '<GrpHdr><MsgId>', id, '</MsgId><CreDtTm>', gw.time.format(now, "yyyy-MM-ddTHH:mm:ss", 0),
    'Z</CreDtTm><NbOfTxs>1</NbOfTxs><CtrlSum>', amt, '</CtrlSum><InitgPty><Nm>',
    esc(cfg.debtor_name, "config.debtor_name"), '</Nm></InitgPty></GrpHdr>',
    '<PmtInf><PmtInfId>', id, '</PmtInfId><PmtMtd>TRF</PmtMtd><NbOfTxs>1</NbOfTxs><CtrlSum>',
    amt, '</CtrlSum><ReqdExctnDt><Dt>', gw.time.format(now, "yyyy-MM-dd", 0), '</Dt></ReqdExctnDt>',
    '<Dbtr><Nm>', esc(cfg.debtor_name, "config.debtor_name"), '</Nm></Dbtr>',
    '<DbtrAcct><Id><IBAN>', esc(cfg.debtor_iban, "config.debtor_iban"), '</IBAN></Id></DbtrAcct>',
    '<DbtrAgt><FinInstnId><BICFI>', esc(cfg.debtor_bic, "config.debtor_bic"),
    '</BICFI></FinInstnId></DbtrAgt>',
    '<CdtTrfTxInf><PmtId><EndToEndId>', id, '</EndToEndId></PmtId>',
    '<Amt><InstdAmt Ccy="', esc(p.currency or order.currency, "payout.currency"), '">', amt,
    '</InstdAmt></Amt>',
    '<CdtrAgt><FinInstnId><BICFI>', esc(p.payee.bank_code, "payout.payee.bank_code"),
    '</BICFI></FinInstnId></CdtrAgt>',
    '<Cdtr><Nm>', esc(p.payee.account_name, "payout.payee.account_name"), '</Nm></Cdtr>',
    '<CdtrAcct><Id><IBAN>', esc(p.payee.account_no, "payout.payee.account_no"),
    '</IBAN></Id></CdtrAcct>',
    '<RmtInf><Ustrd>', esc(p.remark ~= nil and p.remark ~= "" and p.remark or p.out_payout_no,
                           "payout.remark"), '</Ustrd></RmtInf>',
    '</CdtTrfTxInf></PmtInf></CstmrCdtTrfInitn></Document>',
  })
  return { method = "POST", url = ctx.endpoint .. "/payments", content_type = "application/xml",
           headers = { ["X-Signature"] = sign(ctx, xml) }, body = xml }
end

function M.build.payout_query(order, ctx)
  local p = payout_of(order)
  local url = ctx.endpoint .. "/payments/" .. gw.form.urlencode(esc(p.out_payout_no,
                                                                    "payout.out_payout_no")) .. "/status"
  local path = url:match("^https?://[^/]+(/.*)$") or url
  return { method = "GET", url = url, content_type = "application/xml",
           headers = { ["X-Signature"] = sign(ctx, "GET " .. path) }, body = "" }
end

return M
