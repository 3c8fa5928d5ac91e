-- scripts/wechatpay_v3.lua -- WeChat Pay API v3: code lists, answer parsers,
-- answer-signature and notify verification of the wechatpay_v3 pack
-- (builders: templates/wechatpay_v3.lua).
--
-- Answers and notifications are signed by WeChat Pay in headers:
--   Wechatpay-Timestamp, Wechatpay-Nonce, Wechatpay-Signature, Wechatpay-Serial
-- signature = base64 SHA256withRSA over  timestamp \n nonce \n BODY \n  with
-- the platform certificate (or WeChat Pay public key) whose serial is
-- Wechatpay-Serial (https://pay.weixin.qq.com/docs/merchant/development/interface-rules/signature-verification.html).
-- Missing headers, an unknown serial, a timestamp more than
-- manifest.signature_max_skew_s away from our clock, a probe signature
-- (WECHATPAY/SIGNTEST/…) or a bad signature -> error -> PROCESSING.
--
-- Code per answer: HTTP 200/204 -> the state field of the operation
-- (trade_state, refund status, detail_status; "SUCCESS" for a prepay or a
-- close); HTTP 4xx -> the error body's "code" (ORDER_NOT_EXIST, …); 5xx ->
-- PROCESSING whatever it says.
--
-- Notifications: JSON {id, event_type, resource{algorithm AEAD_AES_256_GCM,
-- ciphertext, nonce, associated_data}}: header signature as above, then the
-- resource is decrypted with the APIv3 key (gw.secret(config api_v3_key));
-- a tag failure is "not verified".  Payment: code = trade_state; refund:
-- code = event_type (REFUND.SUCCESS / REFUND.CLOSED / REFUND.ABNORMAL);
-- transfer batch: code = "MCHTRANSFER." .. batch_status (never final: the
-- detail decides, through payout_query).

local S = {}

local DOC_PREPAY = "https://pay.weixin.qq.com/docs/merchant/apis/native-payment/direct-jsons/native-prepay.html"
local DOC_QUERY = "https://pay.weixin.qq.com/docs/merchant/apis/native-payment/query-by-out-trade-no.html"
local DOC_CLOSE = "https://pay.weixin.qq.com/docs/merchant/apis/native-payment/close-order.html"
local DOC_REFUND = "https://pay.weixin.qq.com/docs/merchant/apis/refund/refunds/create.html"
local DOC_REFUND_QUERY = "https://pay.weixin.qq.com/docs/merchant/apis/refund/refunds/query-by-out-refund-no.html"
local DOC_TRANSFER = "https://pay.weixin.qq.com/docs/merchant/apis/batch-transfer-to-balance/transfer-batch/initiate-batch-transfer.html"
local DOC_TRANSFER_DETAIL = "https://pay.weixin.qq.com/docs/merchant/apis/batch-transfer-to-balance/transfer-detail/get-transfer-detail-by-out-no.html"
local DOC_NOTIFY = "https://pay.weixin.qq.com/docs/merchant/apis/native-payment/payment-notice.html"
local DOC_REFUND_NOTIFY = "https://pay.weixin.qq.com/docs/merchant/apis/refund/refunds/refund-result-notice.html"
local DOC_ERRORS = "https://pay.weixin.qq.com/docs/merchant/development/interface-rules/basic-rules.html"

-- signed 4xx answers that refuse the request itself (signature, merchant,
-- permission, malformed parameters) before any order is touched: the
-- prepay doc's 错误码 table (400/401/403 "请求参数/签名/权限")
local REQUEST_REFUSED = {
  "SIGN_ERROR", "APPID_MCHID_NOT_MATCH", "MCH_NOT_EXISTS", "NO_AUTH", "PARAM_ERROR",
}

S.codes = {
  pay = {
    success = { source = DOC_PREPAY, codes = { "SUCCESS" } },
    failure = { source = DOC_PREPAY, codes = { "ORDER_CLOSED", "TRADE_ERROR", "RULE_LIMIT" } },
    -- the order may exist or be paid already; WeChat unsure -> query
    processing = { source = DOC_PREPAY, codes = {
      "SYSTEM_ERROR", "OUT_TRADE_NO_USED", "ORDERPAID", "INVALID_REQUEST",
      "FREQUENCY_LIMITED", "BANKERROR",
    } },
    rejected = { source = DOC_PREPAY, codes = REQUEST_REFUSED },
  },
  query = {
    success = { source = DOC_QUERY, codes = { "SUCCESS", "REFUND" } },
    closed = { source = DOC_QUERY, codes = { "CLOSED" } },
    failure = { source = DOC_QUERY, codes = { "REVOKED", "PAYERROR" } },
    processing = { source = DOC_QUERY, codes = {
      "NOTPAY", "USERPAYING", "ACCEPT", "SYSTEM_ERROR", "FREQUENCY_LIMITED",
    } },
    -- 404 ORDER_NOT_EXIST: never FAILED (the prepay may still be in flight)
    not_found = { source = DOC_QUERY, codes = { "ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS" } },
  },
  close = {
    -- HTTP 204 (also for an order that was closed already)
    success = { source = DOC_CLOSE, codes = { "SUCCESS" } },
    processing = { source = DOC_CLOSE, codes = { "ORDERPAID", "SYSTEM_ERROR", "FREQUENCY_LIMITED" } },
    not_found = { source = DOC_CLOSE, codes = { "ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS" } },
  },
  refund = {
    -- the answer's status: SUCCESS is final; PROCESSING / ABNORMAL are not
    success = { source = DOC_REFUND, codes = { "SUCCESS" } },
    failure = { source = DOC_REFUND, codes = { "CLOSED", "NOT_ENOUGH", "USER_ACCOUNT_ABNORMAL" } },
    processing = { source = DOC_REFUND, codes = {
      "PROCESSING", "ABNORMAL", "SYSTEM_ERROR", "FREQUENCY_LIMITED", "INVALID_REQUEST",
    } },
    not_found = { source = DOC_REFUND, codes = { "RESOURCE_NOT_EXISTS", "ORDER_NOT_EXIST" } },
    rejected = { source = DOC_ERRORS, codes = { "SIGN_ERROR", "APPID_MCHID_NOT_MATCH",
                                                "MCH_NOT_EXISTS", "NO_AUTH" } },
  },
  refund_query = {
    success = { source = DOC_REFUND_QUERY, codes = { "SUCCESS" } },
    failure = { source = DOC_REFUND_QUERY, codes = { "CLOSED" } },
    processing = { source = DOC_REFUND_QUERY, codes = { "PROCESSING", "ABNORMAL", "SYSTEM_ERROR" } },
    not_found = { source = DOC_REFUND_QUERY, codes = { "RESOURCE_NOT_EXISTS" } },
  },
  payout = {
    -- Payouts read strictly: no error code is a definite failure
    -- ("遇到新的错误码请勿换单重试").
    success = { source = DOC_TRANSFER, none = "a created transfer batch is only "
                .. "accepted (ACCEPTED / PROCESSING); each transfer's outcome is "
                .. "its detail's, read by payout_query" },
    processing = { source = DOC_TRANSFER, codes = {
      "ACCEPTED", "PROCESSING", "WAIT_PAY", "FINISHED", "SYSTEM_ERROR", "FREQUENCY_LIMITED",
      "NOT_ENOUGH", "INVALID_REQUEST", "QUOTA_EXCEED",
    } },
    rejected = { source = DOC_TRANSFER, codes = { "SIGN_ERROR", "APPID_MCHID_NOT_MATCH",
                                                  "NO_AUTH", "PARAM_ERROR" } },
  },
  payout_query = {
    success = { source = DOC_TRANSFER_DETAIL, codes = { "SUCCESS" } },
    -- FAIL: "转账失败" of this detail (fail_reason says why); final
    failure = { source = DOC_TRANSFER_DETAIL, codes = { "FAIL" } },
    processing = { source = DOC_TRANSFER_DETAIL, codes = {
      "INIT", "WAIT_PAY", "PROCESSING", "SYSTEM_ERROR", "FREQUENCY_LIMITED",
    } },
    -- the batch may still be being accepted: never FAILED on this
    not_found = { source = DOC_TRANSFER_DETAIL, codes = { "NOT_FOUND", "RESOURCE_NOT_EXISTS" } },
  },
  notify = {
    success = { source = DOC_NOTIFY, codes = { "SUCCESS", "REFUND.SUCCESS" } },
    closed = { source = DOC_NOTIFY, codes = { "CLOSED" } },
    failure = { source = DOC_REFUND_NOTIFY, codes = { "REVOKED", "PAYERROR", "REFUND.CLOSED" } },
    processing = { source = DOC_REFUND_NOTIFY, codes = {
      "NOTPAY", "USERPAYING", "REFUND.ABNORMAL", "MCHTRANSFER.FINISHED", "MCHTRANSFER.CLOSED",
    } },
  },
}

local function str(v)
  return type(v) == "string" and v or nil
end

local function opt(v)
  if type(v) == "string" and v ~= "" then return v end
  return nil
end

local function int(v)
  return math.type(v) == "integer" and v or nil
end

-- "2024-01-01T12:00:05+08:00" -> epoch ms (nil when not RFC 3339)
local function rfc3339_ms(s)
  if type(s) ~= "string" then return nil end
  local base, sign, hh, mm = s:match("^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d)[%.%d]*([%+%-])(%d%d):(%d%d)$")
  if base == nil then
    base = s:match("^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d)[%.%d]*Z$")
    if base == nil then return nil end
    sign, hh, mm = "+", "00", "00"
  end
  local off = tonumber(hh) * 60 + tonumber(mm)
  if sign == "-" then off = -off end
  local ok, ms = pcall(gw.time.parse, base, "yyyy-MM-ddTHH:mm:ss", off)
  return ok and ms or nil
end

local function platform_serial(cfg)
  if opt(cfg.platform_serial) then return cfg.platform_serial end
  local ok, serial = pcall(gw.crypto.cert_serial, cfg.platform_cert, "hex")
  return ok and serial or nil
end

-- Verify the WeChat Pay signature headers over the raw body.  nil = good,
-- else the reason.
local function check_signature(headers, body, ctx)
  local h = type(headers) == "table" and headers or {}
  local ts, nonce = opt(h["wechatpay-timestamp"]), opt(h["wechatpay-nonce"])
  local sig, serial = opt(h["wechatpay-signature"]), opt(h["wechatpay-serial"])
  if ts == nil or nonce == nil or sig == nil or serial == nil then
    return "response signature invalid (no Wechatpay-* signature headers)"
  end
  if sig:sub(1, 19) == "WECHATPAY/SIGNTEST/" then
    return "response signature invalid (probe signature)"
  end
  local cfg = ctx.config
  local want = platform_serial(cfg)
  if want == nil or serial:upper() ~= want:upper() then
    return "response signature invalid (unknown Wechatpay-Serial " .. serial .. ")"
  end
  if not ts:match("^%d+$") or #ts > 12 then
    return "response signature invalid (bad Wechatpay-Timestamp)"
  end
  local skew = (ctx.manifest and ctx.manifest.signature_max_skew_s) or 300
  local now = gw.time.now_ms() // 1000
  if math.abs(now - tonumber(ts)) > skew then
    return "response signature invalid (Wechatpay-Timestamp outside " .. skew .. " s)"
  end
  local msg = ts .. "\n" .. nonce .. "\n" .. (body or "") .. "\n"
  if not gw.crypto.verify(cfg.platform_cert, "RSA2", msg, sig) then
    return "response signature invalid"
  end
  return nil
end

-- Open an answer: returns t (decoded body, {} for an empty body), code,
-- nil; or nil, code-or-nil, error.  ok_code = the code of a 2xx answer
-- without a state field.
local function open_answer(resp, ctx)
  local status = resp.status
  if type(status) ~= "number" or status >= 500 or status < 200 then
    return nil, nil, "HTTP status " .. tostring(status)
  end
  local body = resp.body or ""
  local t = {}
  if body ~= "" then
    local j, jerr = gw.json.decode(body)
    if type(j) ~= "table" then
      return nil, nil, "answer is not a JSON object: " .. tostring(jerr)
    end
    t = j
  end
  local code = nil
  if status >= 300 then
    code = opt(t.code)
  end
  local serr = check_signature(resp.headers, body, ctx)
  if serr ~= nil then
    return nil, code, serr
  end
  if status >= 300 then
    if code == nil then
      return nil, nil, "HTTP " .. status .. " without an error code"
    end
    return nil, code, nil, t
  end
  return t, nil, nil
end

-- result for a signed error answer (4xx with code)
local function error_answer(code, t)
  return { code = code, verified = true,
           fields = { message = type(t) == "table" and str(t.message) or nil } }
end

local function unverified(code, err)
  return { code = code or "", verified = false, error = err }
end

S.parse = {}

local function nonce_str()
  return gw.id():upper()
end

-- JSAPI: wx.requestPayment / WeixinJSBridge: paySign = RSA over
-- appId\ntimeStamp\nnonceStr\npackage\n  (merchant key)
local function jsapi_credential(prepay_id, appid, ctx)
  local c = {
    type = "jsapi",
    appId = appid,
    timeStamp = tostring(gw.time.now_ms() // 1000),
    nonceStr = nonce_str(),
    package = "prepay_id=" .. prepay_id,
    signType = "RSA",
  }
  c.paySign = gw.crypto.sign(ctx.config.merchant_private_key, "RSA2",
                             c.appId .. "\n" .. c.timeStamp .. "\n" .. c.nonceStr .. "\n"
                             .. c.package .. "\n")
  return c
end

-- APP: sign = RSA over appid\ntimestamp\nnoncestr\nprepayid\n
local function app_credential(prepay_id, appid, ctx)
  local c = {
    type = "app",
    appid = appid,
    partnerid = ctx.config.mchid,
    prepayid = prepay_id,
    package = "Sign=WXPay",
    noncestr = nonce_str(),
    timestamp = tostring(gw.time.now_ms() // 1000),
  }
  c.sign = gw.crypto.sign(ctx.config.merchant_private_key, "RSA2",
                          c.appid .. "\n" .. c.timestamp .. "\n" .. c.noncestr .. "\n"
                          .. c.prepayid .. "\n")
  return c
end

function S.parse.pay(resp, order, ctx)
  local t, code, err, et = open_answer(resp, ctx)
  if err ~= nil then return unverified(code, err) end
  if t == nil then return error_answer(code, et) end
  local method = order ~= nil and order.method or "wechat.native"
  local cfg = ctx.config
  local fields = {}
  if method == "wechat.native" then
    if opt(t.code_url) == nil then
      return { code = "", verified = true, error = "native prepay answer has no code_url" }
    end
    fields.credential = { type = "qr_code", qr_code = t.code_url }
  elseif method == "wechat.h5" then
    if opt(t.h5_url) == nil then
      return { code = "", verified = true, error = "h5 prepay answer has no h5_url" }
    end
    fields.credential = { type = "url", url = t.h5_url }
  else
    local prepay_id = opt(t.prepay_id)
    if prepay_id == nil then
      return { code = "", verified = true, error = "prepay answer has no prepay_id" }
    end
    fields.prepay_id = prepay_id
    if method == "wechat.app" then
      fields.credential = app_credential(prepay_id, opt(cfg.app_appid) or cfg.appid, ctx)
    else
      fields.credential = jsapi_credential(prepay_id, cfg.appid, ctx)
    end
  end
  return { code = "SUCCESS", verified = true, fields = fields }
end

-- a transaction document (query answer or decrypted notify resource)
local function transaction_fields(t)
  local amount = type(t.amount) == "table" and t.amount or {}
  return {
    channel_trade_no = str(t.transaction_id),
    trade_status = str(t.trade_state),
    amount = int(amount.total),
    payer_amount = int(amount.payer_total),
    paid_at_ms = rfc3339_ms(t.success_time),
  }
end

local function other_order(t, order)
  return order ~= nil and type(order.out_trade_no) == "string"
         and t.out_trade_no ~= nil and t.out_trade_no ~= order.out_trade_no
end

function S.parse.query(resp, order, ctx)
  local t, code, err, et = open_answer(resp, ctx)
  if err ~= nil then return unverified(code, err) end
  if t == nil then return error_answer(code, et) end
  if other_order(t, order) then
    return { code = "", verified = true, error = "out_trade_no in the answer differs" }
  end
  if t.mchid ~= nil and t.mchid ~= ctx.config.mchid then
    return { code = "", verified = true, error = "answer is for another mchid" }
  end
  local fields = transaction_fields(t)
  local state = opt(t.trade_state)
  if (state == "SUCCESS" or state == "REFUND") and order ~= nil
     and math.type(order.amount) == "integer" and fields.amount ~= order.amount then
    return { code = state, verified = true, fields = fields,
             error = "paid amount differs from the order amount" }
  end
  return { code = state or "", verified = true, fields = fields }
end

function S.parse.close(resp, order, ctx)
  local t, code, err, et = open_answer(resp, ctx)
  if err ~= nil then return unverified(code, err) end
  if t == nil then return error_answer(code, et) end
  if resp.status ~= 204 and resp.status ~= 200 then
    return { code = "", verified = true, error = "close answered HTTP " .. resp.status }
  end
  return { code = "SUCCESS", verified = true, fields = {} }
end

local function refund_fields(t)
  local amount = type(t.amount) == "table" and t.amount or {}
  return {
    channel_refund_no = str(t.refund_id),
    out_refund_no = str(t.out_refund_no),
    channel_trade_no = str(t.transaction_id),
    amount = int(amount.refund),
    refund_status = str(t.status) or str(t.refund_status),
    refunded_at_ms = rfc3339_ms(t.success_time),
  }
end

local function parse_refund(resp, order, ctx)
  local t, code, err, et = open_answer(resp, ctx)
  if err ~= nil then return unverified(code, err) end
  if t == nil then return error_answer(code, et) end
  local want = order ~= nil and type(order.refund) == "table" and order.refund or {}
  if want.out_refund_no ~= nil and t.out_refund_no ~= want.out_refund_no then
    return { code = "", verified = true, error = "out_refund_no in the answer differs" }
  end
  local fields = refund_fields(t)
  local status = opt(t.status)
  if status == "SUCCESS" and math.type(want.amount) == "integer" and fields.amount ~= want.amount then
    return { code = status, verified = true, fields = fields,
             error = "refunded amount differs from the request" }
  end
  return { code = status or "", verified = true, fields = fields }
end

S.parse.refund = parse_refund
S.parse.refund_query = parse_refund

function S.parse.payout(resp, order, ctx)
  local t, code, err, et = open_answer(resp, ctx)
  if err ~= nil then return unverified(code, err) end
  if t == nil then return error_answer(code, et) end
  local want = order ~= nil and type(order.payout) == "table" and order.payout or {}
  if want.out_payout_no ~= nil and t.out_batch_no ~= want.out_payout_no then
    return { code = "", verified = true, error = "out_batch_no in the answer differs" }
  end
  if opt(t.batch_id) == nil then
    return { code = "", verified = true, error = "transfer answer has no batch_id" }
  end
  return { code = opt(t.batch_status) or "ACCEPTED", verified = true,
           fields = { channel_batch_no = t.batch_id, batch_status = str(t.batch_status) } }
end

function S.parse.payout_query(resp, order, ctx)
  local t, code, err, et = open_answer(resp, ctx)
  if err ~= nil then return unverified(code, err) end
  if t == nil then return error_answer(code, et) end
  local want = order ~= nil and type(order.payout) == "table" and order.payout or {}
  if want.out_payout_no ~= nil and (t.out_detail_no ~= want.out_payout_no
                                    or t.out_batch_no ~= want.out_payout_no) then
    return { code = "", verified = true, error = "out_detail_no in the answer differs" }
  end
  local status = opt(t.detail_status)
  local fields = {
    channel_payout_no = str(t.detail_id),
    channel_batch_no = str(t.batch_id),
    amount = int(t.transfer_amount),
    detail_status = status,
    fail_reason = str(t.fail_reason),
  }
  if status == "SUCCESS" and math.type(want.amount) == "integer" and fields.amount ~= want.amount then
    return { code = status, verified = true, fields = fields,
             error = "paid-out amount differs from the request" }
  end
  return { code = status or "", verified = true, fields = fields }
end

-- Notification: signature headers, then AEAD_AES_256_GCM resource
function S.notify(req, ctx)
  local body = req.body or ""
  local serr = check_signature(req.headers, body, ctx)
  if serr ~= nil then
    return { verified = false, error = (serr:gsub("^response", "notify")) }
  end
  local n = gw.json.decode(body)
  if type(n) ~= "table" or type(n.resource) ~= "table" then
    return { verified = false, error = "notify is not a WeChat Pay event" }
  end
  local r = n.resource
  if r.algorithm ~= "AEAD_AES_256_GCM" or opt(r.ciphertext) == nil or opt(r.nonce) == nil then
    return { verified = false, error = "resource is not AEAD_AES_256_GCM" }
  end
  local ct = gw.crypto.base64_decode(r.ciphertext)
  if ct == nil or #ct <= 16 then
    return { verified = false, error = "resource ciphertext is not base64" }
  end
  local plain = gw.crypto.aes_gcm_decrypt(gw.secret(ctx.config.api_v3_key), r.nonce, ct,
                                          str(r.associated_data) or "")
  if type(plain) ~= "string" then
    return { verified = false, error = "resource does not decrypt (tag mismatch)" }
  end
  local d = gw.json.decode(plain)
  if type(d) ~= "table" then
    return { verified = false, error = "decrypted resource is not JSON" }
  end
  local mchid = d.mchid or d.mch_id or d.sp_mchid
  if mchid ~= ctx.config.mchid then
    return { verified = false, error = "notify is for another mchid" }
  end
  local event = str(n.event_type) or ""
  if event:sub(1, 7) == "REFUND." then
    local f = refund_fields(d)
    f.kind = "refund"
    if f.refund_status ~= nil and "REFUND." .. f.refund_status ~= event then
      return { verified = false, error = "event_type and refund_status disagree" }
    end
    return { verified = true, code = event, out_trade_no = str(d.out_trade_no), fields = f }
  end
  if event:sub(1, 12) == "MCHTRANSFER." then
    local f = { kind = "payout", out_payout_no = str(d.out_batch_no),
                channel_batch_no = str(d.batch_id), batch_status = str(d.batch_status) }
    return { verified = true, code = "MCHTRANSFER." .. (str(d.batch_status) or ""),
             out_trade_no = str(d.out_batch_no), fields = f }
  end
  local f = transaction_fields(d)
  f.event_type = event
  f.notify_id = str(n.id)
  return { verified = true, code = str(d.trade_state) or "", out_trade_no = str(d.out_trade_no),
           fields = f }
end

return S
