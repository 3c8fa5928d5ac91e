-- scripts/wechatpay_v2.lua -- WeChat Pay API v2: code lists, response parsers
-- and the notify verifier of the wechatpay_v2 pack (builders:
-- templates/wechatpay_v2.lua).
--
-- Every answer is XML.  return_code (communication) comes first: anything but
-- SUCCESS is unsigned and proves nothing -> PROCESSING.  With return_code
-- SUCCESS the answer carries `sign` over all its other fields (same rule and
-- algorithm as the request, sign_type from the config); a missing or wrong
-- sign, or an appid / mch_id that is not ours -> error -> PROCESSING.  Then:
--   result_code SUCCESS -> the operation's code (query: trade_state,
--                          refund_query: refund_status_$n, others "SUCCESS")
--   result_code FAIL    -> err_code (e.g. USERPAYING, ORDERNOTEXIST)
-- The host classifies the code against S.codes below; unknown codes are
-- PROCESSING.  Only /pay/downloadbill answers are unsigned by design (the
-- statement file is plain text; wechatpay-axios-plugin lib/transformer.js lists
-- it in SIGNLESS) and are taken as verified.
--
-- Notifications: pay result (signed XML, like an answer) and refund result
-- (`req_info` = base64 AES-256-ECB/PKCS#7 with key = lower-case hex MD5 of the
-- API key; no outer sign: only a successful decryption to XML that names our
-- order authenticates it).  Refund notifies return code "REFUND.<status>".

local S = {}

-- Sources (WeChat Pay v2 documentation, section "错误码" / field tables)
local DOC_UNIFIED = "https://pay.weixin.qq.com/wiki/doc/api/native.php?chapter=9_1"
local DOC_MICROPAY = "https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_10&index=1"
local DOC_QUERY = "https://pay.weixin.qq.com/wiki/doc/api/native.php?chapter=9_2"
local DOC_CLOSE = "https://pay.weixin.qq.com/wiki/doc/api/native.php?chapter=9_3"
local DOC_REVERSE = "https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_11&index=3"
local DOC_REFUND = "https://pay.weixin.qq.com/wiki/doc/api/native.php?chapter=9_4"
local DOC_REFUNDQUERY = "https://pay.weixin.qq.com/wiki/doc/api/native.php?chapter=9_5"
local DOC_BILL = "https://pay.weixin.qq.com/wiki/doc/api/native.php?chapter=9_6"
local DOC_NOTIFY = "https://pay.weixin.qq.com/wiki/doc/api/native.php?chapter=9_7"
local DOC_REFUND_NOTIFY = "https://pay.weixin.qq.com/wiki/doc/api/native.php?chapter=9_16&index=10"

-- err_codes that say the request itself was refused (auth, format, missing
-- parameters, signature) before any order was touched: unifiedorder and
-- micropay "错误码" tables, described there as "请求参数/签名/权限" problems.
local REQUEST_REFUSED = {
  "NOAUTH", "APPID_NOT_EXIST", "MCHID_NOT_EXIST", "APPID_MCHID_NOT_MATCH",
  "LACK_PARAMS", "SIGNERROR", "XML_FORMAT_ERROR", "REQUIRE_POST_METHOD",
  "POST_DATA_EMPTY", "NOT_UTF8",
}

S.codes = {
  pay = {
    -- unifiedorder: the prepay exists (kind prepay keeps the order
    -- PROCESSING); micropay: the payment code was charged
    success = { source = DOC_MICROPAY, codes = { "SUCCESS" } },
    -- final for this out_trade_no: micropay "错误码" (expired / invalid code,
    -- insufficient funds, card not supported, trade error) and the order
    -- already closed or reversed (unifiedorder and micropay ORDERCLOSED)
    failure = { source = DOC_MICROPAY, codes = {
      "AUTHCODEEXPIRE", "AUTH_CODE_ERROR", "AUTH_CODE_INVALID", "NOTENOUGH",
      "NOTSUPORTCARD", "ORDERCLOSED", "ORDERREVERSED", "TRADE_ERROR", "PARAM_ERROR",
    } },
    -- the buyer is entering a password / the bank or WeChat is unsure / the
    -- order may already exist or be paid: query (micropay doc: SYSTEMERROR ->
    -- query after 5 s, USERPAYING -> query every ~10 s, BANKERROR -> query)
    processing = { source = DOC_MICROPAY, codes = {
      "USERPAYING", "SYSTEMERROR", "BANKERROR", "ORDERPAID", "OUT_TRADE_NO_USED",
      "INVALID_REQUEST", "BUYER_MISMATCH",
    } },
    rejected = { source = DOC_UNIFIED, codes = REQUEST_REFUSED },
  },
  query = {
    -- trade_state: SUCCESS, REFUND (= was paid, a refund started)
    success = { source = DOC_QUERY, codes = { "SUCCESS", "REFUND" } },
    closed = { source = DOC_QUERY, codes = { "CLOSED" } },
    -- REVOKED (micropay reversed), PAYERROR (bank refused) are final unpaid
    failure = { source = DOC_QUERY, codes = { "REVOKED", "PAYERROR" } },
    processing = { source = DOC_QUERY, codes = {
      "NOTPAY", "USERPAYING", "ACCEPT", "SYSTEMERROR",
    } },
    -- never FAILED: the micropay/unifiedorder may still be in flight
    not_found = { source = DOC_QUERY, codes = { "ORDERNOTEXIST" } },
  },
  close = {
    success = { source = DOC_CLOSE, codes = { "SUCCESS", "ORDERCLOSED" } },
    -- ORDERPAID: it was paid -> query decides (never "closed")
    processing = { source = DOC_CLOSE, codes = { "ORDERPAID", "SYSTEMERROR", "USERPAYING" } },
    not_found = { source = DOC_CLOSE, codes = { "ORDERNOTEXIST" } },
  },
  cancel = {
    -- reversed (closed, or refunded when it had been paid)
    success = { source = DOC_REVERSE, codes = { "SUCCESS" } },
    -- REVERSE_EXPIRE: past the reversible window: the pay stands as it is
    failure = { source = DOC_REVERSE, codes = { "REVERSE_EXPIRE" } },
    -- RECALL = recall=Y (call reverse again), system/state errors
    processing = { source = DOC_REVERSE, codes = {
      "RECALL", "SYSTEMERROR", "USERPAYING", "TRADE_STATE_ERROR",
    } },
    not_found = { source = DOC_REVERSE, codes = { "ORDERNOTEXIST" } },
  },
  refund = {
    -- the refund API's SUCCESS is "申请退款成功" = accepted only; the final
    -- state comes from refundquery or the refund notify.
    success = { source = DOC_REFUND, none = "SUCCESS here means the refund "
                .. "application was accepted (申请退款成功); the refund's own state "
                .. "comes from refundquery or the refund notify" },
    failure = { source = DOC_REFUND, codes = {
      "TRADE_OVERDUE", "NOTENOUGH", "USER_ACCOUNT_ABNORMAL", "INVALID_TRANSACTIONID",
    } },
    processing = { source = DOC_REFUND, codes = {
      "SUCCESS", "SYSTEMERROR", "BIZERR_NEED_RETRY", "ERROR", "FREQUENCY_LIMITED",
      "INVALID_REQ_TOO_MUCH", "PARAM_ERROR",
    } },
    not_found = { source = DOC_REFUND, codes = { "ORDERNOTEXIST" } },
    rejected = { source = DOC_REFUND, codes = {
      "NOAUTH", "APPID_NOT_EXIST", "MCHID_NOT_EXIST", "SIGNERROR", "XML_FORMAT_ERROR",
      "REQUIRE_POST_METHOD", "POST_DATA_EMPTY",
    } },
  },
  refund_query = {
    success = { source = DOC_REFUNDQUERY, codes = { "SUCCESS" } },
    failure = { source = DOC_REFUNDQUERY, codes = { "REFUNDCLOSE" } },
    -- CHANGE = abnormal, needs manual handling: not a final failure
    processing = { source = DOC_REFUNDQUERY, codes = { "PROCESSING", "CHANGE", "SYSTEMERROR" } },
    not_found = { source = DOC_REFUNDQUERY, codes = { "REFUNDNOTEXIST", "ORDERNOTEXIST" } },
  },
  bill = {
    success = { source = DOC_BILL, codes = { "SUCCESS" } },
    not_found = { source = DOC_BILL, codes = { "No Bill Exist" } },
    processing = { source = DOC_BILL, codes = { "Bill Creating", "SYSTEMERROR" } },
  },
  notify = {
    success = { source = DOC_NOTIFY, codes = { "SUCCESS", "REFUND.SUCCESS" } },
    failure = { source = DOC_REFUND_NOTIFY, codes = { "REFUND.REFUNDCLOSE" } },
    processing = { source = DOC_REFUND_NOTIFY, codes = { "REFUND.CHANGE", "FAIL" } },
  },
}

local TIME_FMT = "yyyyMMddHHmmss"
local TZ_BEIJING = 480

local function str(v)
  return type(v) == "string" and v or nil
end

local function opt(v)
  if type(v) == "string" and v ~= "" then return v end
  return nil
end

local function sign_type(cfg)
  local t = cfg.sign_type
  if t == nil or t == "" then return "MD5" end
  return t
end

local function api_key(cfg)
  if type(cfg.api_key) ~= "string" or cfg.api_key == "" then
    error("wechatpay_v2: config api_key is required", 0)
  end
  return gw.secret(cfg.api_key)
end

-- v2 signature over a flat table (see templates/wechatpay_v2.lua)
local function v2_sign(p, cfg, key)
  local s = gw.form.sign_string(p, { exclude = { "sign" }, skip_empty = true })
            .. "&key=" .. key
  local t = sign_type(cfg)
  if t == "HMAC-SHA256" then
    return gw.crypto.hmac("sha256", key, s, "HEX")
  elseif t == "MD5" then
    return gw.crypto.md5(s, "HEX")
  end
  error("wechatpay_v2: config sign_type must be MD5 or HMAC-SHA256", 0)
end

-- true when every value is a string (no nested elements to smuggle in)
local function flat(t)
  for _, v in pairs(t) do
    if type(v) ~= "string" then return false end
  end
  return true
end

local function to_fen(v)
  if type(v) ~= "string" or not v:match("^%d+$") then return nil end
  return math.tointeger(tonumber(v))
end

local function time_ms(v)
  if type(v) ~= "string" or not v:match("^%d%d%d%d%d%d%d%d%d%d%d%d%d%d$") then
    return nil
  end
  return gw.time.parse(v, TIME_FMT, TZ_BEIJING)
end

-- Decode, check the signature and identity, extract return/result/err codes.
-- Returns t, code, nil (code = "SUCCESS" or err_code) or nil, code?, error.
local function open_answer(resp, ctx)
  if resp.status ~= 200 then
    return nil, nil, "HTTP status " .. tostring(resp.status)
  end
  local t, root = gw.xml.decode(resp.body or "")
  if type(t) ~= "table" then
    return nil, nil, "answer is not XML: " .. tostring(root)
  end
  if root ~= "xml" or not flat(t) then
    return nil, nil, "answer is not a flat <xml> document"
  end
  local cfg = ctx.config
  local sign = opt(t.sign)
  -- a signed document is checked first, whatever it says
  if sign ~= nil then
    if not gw.crypto.equals(v2_sign(t, cfg, api_key(cfg)), sign) then
      return nil, nil, "response signature invalid"
    end
  end
  if t.return_code == nil then
    return nil, nil, "answer has no return_code"
  end
  if t.return_code ~= "SUCCESS" then
    -- communication failure: WeChat does not sign these
    return nil, "FAIL", "return_code " .. tostring(t.return_code) .. ": "
                        .. tostring(t.return_msg)
  end
  if sign == nil then
    return nil, nil, "response signature invalid (unsigned answer)"
  end
  if t.appid ~= nil and t.appid ~= cfg.appid then
    return nil, nil, "answer is for another appid"
  end
  if t.mch_id ~= nil and t.mch_id ~= cfg.mch_id then
    return nil, nil, "answer is for another mch_id"
  end
  if t.result_code == "SUCCESS" then
    return t, "SUCCESS", nil
  end
  if t.result_code == "FAIL" then
    return t, opt(t.err_code) or "FAIL", nil
  end
  return nil, nil, "answer has no result_code"
end

local function failed(code, err)
  return { code = code or "", error = err, verified = false }
end

local function other_order(t, order)
  return order ~= nil and type(order.out_trade_no) == "string"
         and t.out_trade_no ~= nil and t.out_trade_no ~= order.out_trade_no
end

local function refused(t, code)
  return { code = code, verified = true,
           fields = { err_code = str(t.err_code), msg = str(t.err_code_des) or str(t.return_msg),
                      recall = t.recall == "Y" or nil } }
end

S.parse = {}

-- JSAPI credential for WeixinJSBridge.getBrandWCPayRequest / wx.requestPayment:
-- paySign over appId, nonceStr, package, signType, timeStamp with the API key
-- (https://pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=7_7)
local function jsapi_credential(prepay_id, ctx)
  local cfg = ctx.config
  local c = {
    appId = cfg.appid,
    timeStamp = tostring(gw.time.now_ms() // 1000),
    nonceStr = gw.id(),
    package = "prepay_id=" .. prepay_id,
    signType = sign_type(cfg),
  }
  c.paySign = v2_sign(c, cfg, api_key(cfg))
  c.type = "jsapi"
  return c
end

function S.parse.pay(resp, order, ctx)
  local t, code, err = open_answer(resp, ctx)
  if t == nil then return failed(code, err) end
  if code ~= "SUCCESS" then return refused(t, code) end
  if other_order(t, order) then
    return { code = code, verified = true, error = "out_trade_no in the answer differs" }
  end
  local method = order ~= nil and order.method or nil
  local trade_type = str(t.trade_type)
  if method == "wechat.micropay" or trade_type == "MICROPAY" then
    local fields = {
      channel_trade_no = str(t.transaction_id),
      amount = to_fen(t.total_fee),
      paid_at_ms = time_ms(t.time_end),
      trade_status = "SUCCESS",
      credential = { type = "none" },
    }
    if fields.channel_trade_no == nil then
      return { code = code, verified = true, fields = fields,
               error = "micropay success without transaction_id" }
    end
    if order ~= nil and math.type(order.amount) == "integer"
       and fields.amount ~= order.amount then
      return { code = code, verified = true, fields = fields,
               error = "paid amount differs from the order amount" }
    end
    return { code = code, verified = true, fields = fields }
  end
  local prepay_id = opt(t.prepay_id)
  if prepay_id == nil then
    return { code = code, verified = true, error = "unifiedorder answer has no prepay_id" }
  end
  local fields = { prepay_id = prepay_id }
  if method == "wechat.jsapi" or trade_type == "JSAPI" then
    fields.credential = jsapi_credential(prepay_id, ctx)
  else
    if opt(t.code_url) == nil then
      return { code = code, verified = true, error = "NATIVE answer has no code_url" }
    end
    fields.credential = { type = "qr_code", qr_code = t.code_url }
  end
  return { code = code, verified = true, fields = fields }
end

function S.parse.query(resp, order, ctx)
  local t, code, err = open_answer(resp, ctx)
  if t == nil then return failed(code, err) end
  if code ~= "SUCCESS" then return refused(t, code) end
  if other_order(t, order) then
    return { code = "", verified = true, error = "out_trade_no in the answer differs" }
  end
  local state = opt(t.trade_state)
  local fields = {
    channel_trade_no = str(t.transaction_id),
    trade_status = state,
    amount = to_fen(t.total_fee),
    paid_at_ms = time_ms(t.time_end),
  }
  if (state == "SUCCESS" or state == "REFUND") and order ~= nil
     and math.type(order.amount) == "integer" and fields.amount ~= order.amount then
    return { code = state, verified = true, fields = fields,
             error = "paid amount differs from the order amount" }
  end
  -- result SUCCESS without a trade_state proves nothing: "" -> PROCESSING
  return { code = state or "", verified = true, fields = fields }
end

function S.parse.close(resp, order, ctx)
  local t, code, err = open_answer(resp, ctx)
  if t == nil then return failed(code, err) end
  if code ~= "SUCCESS" then return refused(t, code) end
  return { code = code, verified = true, fields = {} }
end

-- reverse: recall=Y means "call reverse again": never final
function S.parse.cancel(resp, order, ctx)
  local t, code, err = open_answer(resp, ctx)
  if t == nil then return failed(code, err) end
  local recall = t.recall == "Y"
  -- whatever the err_code, recall=Y says the reverse is not done: call again
  if recall then code = "RECALL" end
  local r = refused(t, code)
  r.fields.recall = recall
  return r
end

function S.parse.refund(resp, order, ctx)
  local t, code, err = open_answer(resp, ctx)
  if t == nil then return failed(code, err) end
  if code ~= "SUCCESS" then return refused(t, code) end
  local want = order ~= nil and type(order.refund) == "table" and order.refund or {}
  if want.out_refund_no ~= nil and t.out_refund_no ~= want.out_refund_no then
    return { code = "", verified = true, error = "out_refund_no in the answer differs" }
  end
  local fields = {
    channel_refund_no = str(t.refund_id),
    out_refund_no = str(t.out_refund_no),
    amount = to_fen(t.refund_fee),
    refund_status = "PROCESSING",
  }
  if math.type(want.amount) == "integer" and fields.amount ~= want.amount then
    return { code = code, verified = true, fields = fields,
             error = "refund amount differs from the request" }
  end
  return { code = code, verified = true, fields = fields }
end

-- refundquery lists refunds as out_refund_no_$n / refund_status_$n / ...;
-- pick ours by out_refund_no (or refund_id)
function S.parse.refund_query(resp, order, ctx)
  local t, code, err = open_answer(resp, ctx)
  if t == nil then return failed(code, err) end
  if code ~= "SUCCESS" then return refused(t, code) end
  local want = order ~= nil and type(order.refund) == "table" and order.refund or {}
  local n = math.tointeger(tonumber(t.refund_count or "")) or 0
  for i = 0, math.min(n, 50) - 1 do
    local sfx = "_" .. i
    if (want.out_refund_no ~= nil and t["out_refund_no" .. sfx] == want.out_refund_no)
       or (want.out_refund_no == nil and want.channel_refund_no ~= nil
           and t["refund_id" .. sfx] == want.channel_refund_no) then
      local status = opt(t["refund_status" .. sfx])
      local fields = {
        channel_refund_no = str(t["refund_id" .. sfx]),
        out_refund_no = str(t["out_refund_no" .. sfx]),
        amount = to_fen(t["refund_fee" .. sfx]),
        refund_status = status,
      }
      if status == "SUCCESS" and math.type(want.amount) == "integer"
         and fields.amount ~= want.amount then
        return { code = status, verified = true, fields = fields,
                 error = "refunded amount differs from the request" }
      end
      return { code = status or "", verified = true, fields = fields }
    end
  end
  return { code = "", verified = true, error = "our refund is not in the answer" }
end

-- downloadbill: the statement (text, fields prefixed with "`") on success,
-- an unsigned <xml> with return_code FAIL otherwise
function S.parse.bill(resp, order, ctx)
  if resp.status ~= 200 then
    return failed(nil, "HTTP status " .. tostring(resp.status))
  end
  local body = resp.body or ""
  if body:sub(1, 5) == "<xml>" or body:match("^%s*<xml>") then
    local t = gw.xml.decode(body)
    if type(t) ~= "table" then return failed(nil, "bill error answer is not XML") end
    return { code = opt(t.return_msg) or opt(t.err_code) or "", verified = true,
             fields = { error_code = str(t.error_code) } }
  end
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end
  local first = body:match("^([^\r\n]*)")
  if first == nil or not first:find("`", 1, true) and not first:find(",", 1, true) then
    return failed(nil, "bill answer is neither a statement nor an error document")
  end
  local rows = 0
  for _ in body:gmatch("\n`") do rows = rows + 1 end
  return { code = "SUCCESS", verified = true,
           fields = { statement = body, lines = rows } }
end

-- Refund notify: decrypt req_info (AES-256-ECB, key = md5hex(API key))
local function refund_notify(t, ctx)
  local key = gw.crypto.md5(api_key(ctx.config), "hex")
  local ct = gw.crypto.base64_decode(t.req_info)
  if ct == nil or #ct == 0 or #ct % 16 ~= 0 then
    return { verified = false, error = "req_info is not base64 AES blocks" }
  end
  local ok, plain = pcall(gw.crypto.aes_ecb_decrypt, key, ct)
  if not ok or type(plain) ~= "string" then
    return { verified = false, error = "req_info does not decrypt with our key" }
  end
  local r, root = gw.xml.decode(plain)
  if type(r) ~= "table" or root ~= "root" or not flat(r) then
    return { verified = false, error = "req_info is not the refund <root> document" }
  end
  local status = opt(r.refund_status)
  if opt(r.out_trade_no) == nil or opt(r.out_refund_no) == nil or status == nil then
    return { verified = false, error = "req_info lacks out_trade_no/out_refund_no/refund_status" }
  end
  return {
    verified = true,
    code = "REFUND." .. status,
    out_trade_no = r.out_trade_no,
    fields = {
      kind = "refund",
      out_refund_no = r.out_refund_no,
      channel_refund_no = str(r.refund_id),
      channel_trade_no = str(r.transaction_id),
      amount = to_fen(r.refund_fee),
      refund_status = status,
      refunded_at_ms = r.success_time and gw.time.parse(r.success_time,
                                                         "yyyy-MM-dd HH:mm:ss", TZ_BEIJING) or nil,
    },
  }
end

function S.notify(req, ctx)
  local t, root = gw.xml.decode(req.body or "")
  if type(t) ~= "table" or root ~= "xml" or not flat(t) then
    return { verified = false, error = "notify is not a flat <xml> document" }
  end
  local cfg = ctx.config
  if t.return_code ~= "SUCCESS" then
    return { verified = false, error = "notify return_code " .. tostring(t.return_code) }
  end
  if t.appid ~= cfg.appid or t.mch_id ~= cfg.mch_id then
    return { verified = false, error = "notify is for another appid/mch_id" }
  end
  if opt(t.req_info) ~= nil then
    return refund_notify(t, ctx)
  end
  local sign = opt(t.sign)
  if sign == nil or not gw.crypto.equals(v2_sign(t, cfg, api_key(cfg)), sign) then
    return { verified = false, error = "notify signature invalid" }
  end
  local fields = {
    channel_trade_no = str(t.transaction_id),
    amount = to_fen(t.total_fee),
    paid_at_ms = time_ms(t.time_end),
    trade_type = str(t.trade_type),
    result_code = str(t.result_code),
  }
  local code = t.result_code == "SUCCESS" and "SUCCESS" or "FAIL"
  return { verified = true, code = code, out_trade_no = str(t.out_trade_no), fields = fields }
end

return S
