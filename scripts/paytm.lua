-- scripts/paytm.lua -- Paytm Payment Gateway: code lists, answer parsers and the
-- callback / webhook verifier of the paytm pack (builders: templates/paytm.lua).
--
-- Answers are JSON `{"head":{…,"signature":"…"},"body":{…}}`; the signature is
-- Paytm's checksum over the RAW text of the body member as received
-- (gw.json.raw_member, never re-encoded).  Verify (PaytmChecksum.js
-- verifySignatureByString): AES-128-CBC-decrypt the base64 checksum with the
-- merchant key and IV "@@@@&&&&####$$$$", the last 4 characters are the salt,
-- and the rest must equal hex(SHA-256(text .. "|" .. salt)).  Missing or bad
-- -> PROCESSING, whatever the answer says (Paytm's unsigned error answers,
-- e.g. a refused checksum, therefore stay PROCESSING).
--
-- The callback (browser POST to callbackUrl) and the S2S webhook are forms
-- with CHECKSUMHASH over the VALUES of every other field, sorted by field
-- name, joined with "|" (PaytmChecksum.getStringByParams; empty values kept).
--
-- Codes: resultInfo.resultStatus .. ":" .. resultInfo.resultCode for JSON
-- answers (e.g. "TXN_SUCCESS:01"), STATUS .. ":" .. RESPCODE for callbacks.
-- initiateTransaction answers resultStatus "S"/"F" (code "S:0000").

local S = {}

local IV = "@@@@&&&&####$$$$"

-- Paytm's documentation (Payment Gateway API reference) and the SDK:
local DOC_INITIATE = "https://business.paytm.com/docs/api/initiate-transaction-api"
local DOC_STATUS = "https://business.paytm.com/docs/api/v3/transaction-status-api"
local DOC_REFUND = "https://business.paytm.com/docs/api/initiate-refund-api"
local DOC_REFUND_STATUS = "https://business.paytm.com/docs/api/v2/refund-status-api"
local DOC_CALLBACK = "https://business.paytm.com/docs/callback-response"
local DOC_CODES = "https://business.paytm.com/docs/pg-response-codes"

-- definite payment failures (status API and callback): 227 declined by the
-- bank, 235 wallet balance insufficient, 295 wrong UPI id, 141 cancelled by
-- the customer on the payment page, 810 failed / closed.  501 "System Error"
-- comes with TXN_FAILURE too and is NOT final: processing.
local PAY_FAILED = { "227", "235", "295", "141", "810" }

local function prefixed(prefix, list)
  local out = {}
  for i, c in ipairs(list) do out[i] = prefix .. c end
  return out
end

S.codes = {
  pay = {
    -- 0000 Success, 0002 Success Idempotent (same orderId, token again)
    success = { source = DOC_INITIATE, codes = { "S:0000", "S:0002" } },
    -- refusals of this order's initiation (nothing can be paid on it):
    -- 2007 txn amount invalid, 1001 request parameters invalid
    failure = { source = DOC_INITIATE, codes = { "F:2007", "F:1001" } },
    -- 325 duplicate order id (an earlier one may be paid!), 501 / 00000900
    -- system error, 2005 checksum invalid (our signing: look, do not fail)
    processing = { source = DOC_INITIATE, codes = { "F:325", "F:501", "F:00000900",
                                                    "F:2005" } },
  },
  query = {
    success = { source = DOC_STATUS, codes = { "TXN_SUCCESS:01" } },
    failure = { source = DOC_CODES, codes = prefixed("TXN_FAILURE:", PAY_FAILED) },
    processing = { source = DOC_STATUS, codes = { "PENDING:400", "PENDING:402",
                                                  "TXN_FAILURE:501" } },
    -- 334 Invalid Order ID: Paytm has no such order (yet): never FAILED
    not_found = { source = DOC_STATUS, codes = { "TXN_FAILURE:334" } },
  },
  refund = {
    -- 10 Refund Successfull is final; 601 = raised, pending
    success = { source = DOC_REFUND, codes = { "TXN_SUCCESS:10" } },
    -- 619 invalid refund amount, 620 balance not enough, 635 partial refund
    -- under 1 rupee not allowed
    failure = { source = DOC_REFUND, codes = { "TXN_FAILURE:619", "TXN_FAILURE:620",
                                               "TXN_FAILURE:635" } },
    -- 617 refund already raised (same refId), 626 another refund in progress
    processing = { source = DOC_REFUND, codes = { "PENDING:601", "TXN_FAILURE:617",
                                                  "TXN_FAILURE:626", "TXN_FAILURE:501" } },
  },
  refund_query = {
    success = { source = DOC_REFUND_STATUS, codes = { "TXN_SUCCESS:10" } },
    failure = { source = DOC_REFUND_STATUS, codes = { "TXN_FAILURE:619",
                                                      "TXN_FAILURE:620" } },
    processing = { source = DOC_REFUND_STATUS, codes = { "PENDING:601", "TXN_FAILURE:501" } },
    -- 631 record not found
    not_found = { source = DOC_REFUND_STATUS, codes = { "TXN_FAILURE:631" } },
  },
  notify = {
    success = { source = DOC_CALLBACK, codes = { "TXN_SUCCESS:01" } },
    failure = { source = DOC_CODES, codes = prefixed("TXN_FAILURE:", PAY_FAILED) },
    processing = { source = DOC_CALLBACK, codes = { "PENDING:400", "PENDING:402" } },
  },
}

local function str(v)
  return type(v) == "string" and v or nil
end

-- true when `checksum` is Paytm's checksum of `text` under the merchant key
function S.checksum_ok(text, checksum, ctx)
  if type(checksum) ~= "string" or checksum == "" then return false, "not signed" end
  local cfg = ctx.config
  if type(cfg.merchant_key) ~= "string" or cfg.merchant_key == "" then
    return false, "config merchant_key is missing"
  end
  local ct = gw.crypto.base64_decode(checksum)
  if ct == nil then return false, "checksum is not base64" end
  local hash = gw.crypto.aes_cbc_decrypt(gw.secret(cfg.merchant_key), IV, ct)
  if hash == nil or #hash < 5 then return false, "checksum does not decrypt" end
  local salt = hash:sub(-4)
  local want = gw.crypto.sha256(text .. "|" .. salt, "hex") .. salt
  if not gw.crypto.equals(want, hash) then return false, "checksum invalid" end
  return true
end

-- Decode + verify a JSON answer. -> body, code, nil | nil, code?, err
local function open_answer(resp, ctx, code_of)
  if resp.status ~= 200 then
    return nil, nil, "HTTP status " .. tostring(resp.status)
  end
  local all, jerr = gw.json.decode(resp.body)
  if type(all) ~= "table" then
    return nil, nil, "answer is not a JSON object: " .. tostring(jerr)
  end
  local raw = gw.json.raw_member(resp.body, "body")
  local body = type(all.body) == "table" and all.body or nil
  if raw == nil or body == nil then return nil, nil, "answer has no body" end
  local code = code_of(body)
  local head = type(all.head) == "table" and all.head or {}
  local ok, verr = S.checksum_ok(raw, str(head.signature), ctx)
  if not ok then return nil, code, "response signature invalid: " .. verr end
  return body, code, nil
end

local function result_code(body)
  local ri = type(body.resultInfo) == "table" and body.resultInfo or {}
  local st, rc = str(ri.resultStatus), str(ri.resultCode)
  if st == nil or rc == nil then return "" end
  return st .. ":" .. rc
end

local function not_verified(code, err)
  return { code = code, error = err, verified = false }
end

local function paise(v)
  if type(v) ~= "string" or not v:match("^%d+%.%d%d$") then return nil end
  return gw.amount.from_decimal(v, 2)
end

S.parse = {}

function S.parse.pay(resp, order, ctx)
  local body, code, err = open_answer(resp, ctx, result_code)
  if body == nil then return not_verified(code, err) end
  local fields = { msg = str((body.resultInfo or {}).resultMsg) }
  if code == "S:0000" or code == "S:0002" then
    local token = str(body.txnToken)
    if token == nil or token == "" then
      return { code = code, verified = true, error = "initiate answer has no txnToken" }
    end
    fields.credential = {
      type = "client_secret",
      client_secret = token,
      txn_token = token,
      mid = ctx.config.mid,
      order_id = order.out_trade_no,
      amount = gw.amount.to_decimal(order.amount, 2),
    }
  end
  return { code = code, verified = true, fields = fields }
end

function S.parse.query(resp, order, ctx)
  local body, code, err = open_answer(resp, ctx, result_code)
  if body == nil then return not_verified(code, err) end
  if body.orderId ~= nil and body.orderId ~= order.out_trade_no then
    return { code = "", verified = true, error = "orderId in the answer differs" }
  end
  if body.mid ~= nil and body.mid ~= ctx.config.mid then
    return { code = "", verified = true, error = "mid in the answer differs" }
  end
  local fields = {
    channel_trade_no = str(body.txnId),
    trade_status = str((body.resultInfo or {}).resultStatus),
    msg = str((body.resultInfo or {}).resultMsg),
    bank_txn_id = str(body.bankTxnId),
    payment_mode = str(body.paymentMode),
  }
  fields.amount = paise(body.txnAmount)
  if code == "TXN_SUCCESS:01" and fields.amount ~= order.amount then
    return { code = code, verified = true, fields = fields,
             error = "paid amount differs from the order amount" }
  end
  if str(body.txnDate) ~= nil and code == "TXN_SUCCESS:01" then
    -- "2024-01-01 12:00:05.0", India time (+05:30)
    fields.paid_at_ms = gw.time.parse(body.txnDate:sub(1, 19), "yyyy-MM-dd HH:mm:ss", 330)
  end
  return { code = code, verified = true, fields = fields }
end

local function refund_answer(resp, order, ctx)
  local body, code, err = open_answer(resp, ctx, result_code)
  if body == nil then return not_verified(code, err) end
  local r = order.refund or {}
  if body.refId ~= nil and body.refId ~= r.out_refund_no then
    return { code = "", verified = true, error = "refId in the answer differs" }
  end
  local fields = {
    channel_refund_no = str(body.refundId),
    refund_status = str((body.resultInfo or {}).resultStatus),
    msg = str((body.resultInfo or {}).resultMsg),
    amount = paise(body.refundAmount),
  }
  if code == "TXN_SUCCESS:10" and fields.amount ~= nil and fields.amount ~= r.amount then
    return { code = code, verified = true, fields = fields,
             error = "refunded amount differs from the refund" }
  end
  return { code = code, verified = true, fields = fields }
end

S.parse.refund = refund_answer
S.parse.refund_query = refund_answer

-- the callback's checksum string: values of every field but CHECKSUMHASH,
-- sorted by field name, joined with "|"
local function callback_string(p)
  local keys = {}
  for k in pairs(p) do
    if k ~= "CHECKSUMHASH" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local vals = {}
  for i, k in ipairs(keys) do vals[i] = p[k] end
  return table.concat(vals, "|")
end

function S.notify(req, ctx)
  local p, ferr = gw.form.decode(req.body)
  if p == nil then
    return { verified = false, error = "notify is not a form: " .. tostring(ferr) }
  end
  local ok, verr = S.checksum_ok(callback_string(p), str(p.CHECKSUMHASH), ctx)
  if not ok then return { verified = false, error = "notify " .. verr } end
  if p.MID ~= ctx.config.mid then
    return { verified = false, error = "notify is for another MID" }
  end
  local fields = {
    out_trade_no = str(p.ORDERID),
    channel_trade_no = str(p.TXNID),
    trade_status = str(p.STATUS),
    msg = str(p.RESPMSG),
    amount = paise(p.TXNAMOUNT),
    bank_txn_id = str(p.BANKTXNID),
  }
  local code = ""
  if str(p.STATUS) ~= nil and str(p.RESPCODE) ~= nil then code = p.STATUS .. ":" .. p.RESPCODE end
  return { verified = true, code = code, out_trade_no = str(p.ORDERID), fields = fields }
end

return S
