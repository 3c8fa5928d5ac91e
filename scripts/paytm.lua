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

-- Sources (each read for issue 4; every list cites the ones it rests on).
-- Paytm's own code: the PG server's result codes (theia, as published in
-- samyy21/theia): initiateTransaction resultCode / resultStatus, and the
-- RESPCODEs of transaction status / callback.
local THEIA = "https://github.com/samyy21/theia/blob/90187ac11561adfb7242ad6d5cf424cb5e474dbc/"
  .. "theia/src/main/java/com/paytm/pgplus/theia/"
local SRC_RESULT = THEIA .. "offline/enums/ResultCode.java"
local SRC_NATIVE = THEIA .. "nativ/enums/ResultCode.java"
local SRC_RESPCODE = THEIA .. "constants/TheiaConstant.java"    -- ResponseCodes
local SRC_RESPMAP = THEIA .. "utils/MapperUtils.java"           -- getResponseCode
-- Paytm's developer documentation as published from its source repository
-- (developer.paytm.com, 2019): the response-code tables of the status,
-- refund and refund status APIs
local DEVDOCS = "https://github.com/mohitchauhan-paytm/paytm-payments-developer/blob/"
  .. "e67b4885c952e2a55e5c792a5ac46cbfb5bdef46/src/pages/docs/"
local DOC_STATUS_CODES = DEVDOCS .. "transaction-status-api/index.md"
local DOC_REFUND_CODES = DEVDOCS .. "refund-api/index.md"
local DOC_REFUND_STATUS_CODES = DEVDOCS .. "refund-status-api/index.md"
-- Paytm pages read: the old status API page, the callback samples (01
-- success, 227 failure), the refund API ("an async process. In the sync
-- response we only notify registration of refund with PG")
local DOC_STATUS_OLD = "https://developer.paytm.com/docs/transaction-status-api/"
local DOC_CALLBACK = "https://business.paytm.com/docs/payment-status"
local DOC_REFUND = "https://business.paytm.com/docs/api/refund-api/"
-- Paytm's integration notes (paytm/paytm-agent-skills): initiate answers
-- resultStatus "F" + resultCode "501" "System Error" on a wrong websiteName
local SKILL_JS = "https://github.com/paytm/paytm-agent-skills/blob/"
  .. "c68e0b289cc56d5f9885e85ef887a7c80019ebd4/skills/js-checkout/SKILL.md"

-- definite payment failures (status API and callback, STATUS TXN_FAILURE):
-- 227 "Your payment has been declined by your bank" (DOC_CALLBACK failure
-- sample; DOC_STATUS_CODES: 227 TXN_FAILURE; theia PAYMENT_FAILURE), 141
-- "User has not completed transaction" (theia USER_CLOSED_RESPONSE_CODE; the
-- closed-order answer of Paytm's own tests), 810 (DOC_STATUS_CODES "Txn
-- Failed" TXN_FAILURE; theia PAGE_OPEN_RESPONSE_CODE: the RESPCODE of a
-- TXN_FAILURE with no bank reason and of a CLOSED order, SRC_RESPMAP).  The
-- status page: "the terminal status of transaction provided should be
-- treated as the final status of transaction" (DOC_STATUS_OLD).  Moved to processing (issue 4): 235 and 295 -- no source found
-- that says TXN_FAILURE with them is final (235 is "Wallet balance
-- Insufficient" in Paytm's tests, a velocity limit in theia; 295 not found).
-- 501 "System Error" comes with TXN_FAILURE too and is NOT final.
local PAY_FAILED = { "227", "141", "810" }
local PAY_UNSURE = { "TXN_FAILURE:235", "TXN_FAILURE:295", "TXN_FAILURE:501" }

local function prefixed(prefix, list)
  local out = {}
  for i, c in ipairs(list) do out[i] = prefix .. c end
  return out
end

local function joined(...)
  local out = {}
  for _, list in ipairs({ ... }) do
    for _, c in ipairs(list) do out[#out + 1] = c end
  end
  return out
end

S.codes = {
  pay = {
    -- SRC_RESULT: SUCCESS("0000", "S", "Success"), SUCCESS_IDEMPOTENT_ERROR("0002",
    -- "S", "Success Idempotent") -- a txnToken to pay with (not money)
    success = { source = SRC_RESULT, codes = { "S:0000", "S:0002" } },
    -- SRC_RESULT: INVALID_TXN_AMOUNT("2007", "F", "Txn amount is invalid"),
    -- REQUEST_PARAMS_VALIDATION_EXCEPTION("1001", "F", "Request parameters are
    -- not valid"): the request failed validation, no transaction or token was
    -- made, and paygw never sends an order's initiate twice
    failure = { source = SRC_RESULT, codes = { "F:2007", "F:1001" } },
    -- "F" is not always final: 501 System Error (SKILL_JS), 00000900 SYSTEM_ERROR
    -- ("F" in SRC_NATIVE, "U" in SRC_RESULT -- corrected: was F only), 2009
    -- "Duplicate request, with same orderId is already in progress" (SRC_RESULT),
    -- 2005 INVALID_CHECKSUM (SRC_RESULT; our signing: look, do not fail);
    -- 325 duplicate order id: not found in any source, kept on processing
    processing = { source = SRC_RESULT .. " ; " .. SRC_NATIVE .. " ; " .. SKILL_JS, codes = {
      "F:325", "F:501", "F:00000900", "U:00000900", "F:2009", "F:2005",
    } },
  },
  query = {
    -- DOC_STATUS_CODES "1 | Txn Success | TXN_SUCCESS"; DOC_CALLBACK sample
    -- STATUS TXN_SUCCESS, RESPCODE 01 "Txn Success"; theia SUCCESS_RESPONSE_CODE "01"
    success = { source = DOC_STATUS_CODES .. " ; " .. DOC_CALLBACK, codes = { "TXN_SUCCESS:01" } },
    failure = { source = DOC_STATUS_CODES .. " ; " .. DOC_CALLBACK .. " ; " .. SRC_RESPCODE
                  .. " ; " .. DOC_STATUS_OLD, codes = prefixed("TXN_FAILURE:", PAY_FAILED) },
    -- DOC_STATUS_CODES: 400 "Transaction status not confirmed yet" PENDING, 402
    -- "Looks like the payment is not complete. Please wait while we confirm the
    -- status with your bank" PENDING (SRC_RESPMAP: neither success nor failure)
    processing = { source = DOC_STATUS_CODES .. " ; " .. SRC_RESPMAP,
                   codes = joined({ "PENDING:400", "PENDING:402" }, PAY_UNSURE) },
    -- DOC_STATUS_CODES: 334 "Invalid Order ID": Paytm has no such order (yet)
    not_found = { source = DOC_STATUS_CODES, codes = { "TXN_FAILURE:334" } },
  },
  refund = {
    -- DOC_REFUND_CODES: 10 "Refund successful" TXN_SUCCESS.  The refund API is
    -- asynchronous now (DOC_REFUND): its answer is normally PENDING 601
    success = { source = DOC_REFUND_CODES .. " ; " .. DOC_REFUND, codes = { "TXN_SUCCESS:10" } },
    -- DOC_REFUND_CODES: 619 "Invalid refund amount", 620 "Refund failed" (was
    -- described here as "balance not enough": that is 704), both TXN_FAILURE.
    -- Moved to processing: 635 (not found in any source)
    failure = { source = DOC_REFUND_CODES, codes = { "TXN_FAILURE:619", "TXN_FAILURE:620" } },
    -- 601 "Refund request was raised for this transaction but it is pending
    -- state" (DOC_REFUND_CODES lists it under TXN_FAILURE; theia
    -- REFUND_PENDING), 617 "Refund already raised", 501 "System error"; 626 and
    -- 635 not found in any source, kept / put on processing
    processing = { source = DOC_REFUND_CODES, codes = {
      "PENDING:601", "TXN_FAILURE:601", "TXN_FAILURE:617", "TXN_FAILURE:626",
      "TXN_FAILURE:501", "TXN_FAILURE:635",
    } },
  },
  refund_query = {
    -- DOC_REFUND_STATUS_CODES: 10 "Refund successful" TXN_SUCCESS
    success = { source = DOC_REFUND_STATUS_CODES, codes = { "TXN_SUCCESS:10" } },
    -- DOC_REFUND_STATUS_CODES: 619 "Invalid refund amount", 620 "Refund failed"
    failure = { source = DOC_REFUND_STATUS_CODES, codes = { "TXN_FAILURE:619",
                                                            "TXN_FAILURE:620" } },
    -- DOC_REFUND_STATUS_CODES: 601 pending (listed with TXN_FAILURE), 604 "We
    -- are experiencing delays from the bank" PENDING, 501 "System error"
    processing = { source = DOC_REFUND_STATUS_CODES, codes = {
      "PENDING:601", "TXN_FAILURE:601", "PENDING:604", "TXN_FAILURE:501",
    } },
    -- 631 record not found: not found in any source (DOC_REFUND_STATUS_CODES
    -- has 800 "No record found" instead); kept on not_found, which is never
    -- FAILED either
    not_found = { source = DOC_REFUND_STATUS_CODES, codes = { "TXN_FAILURE:631" } },
  },
  notify = {
    -- DOC_CALLBACK: the callback carries STATUS / RESPCODE as the status API
    success = { source = DOC_CALLBACK, codes = { "TXN_SUCCESS:01" } },
    failure = { source = DOC_CALLBACK .. " ; " .. DOC_STATUS_CODES .. " ; " .. SRC_RESPCODE,
                codes = prefixed("TXN_FAILURE:", PAY_FAILED) },
    processing = { source = DOC_STATUS_CODES, codes = joined({ "PENDING:400", "PENDING:402" }, PAY_UNSURE) },
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
