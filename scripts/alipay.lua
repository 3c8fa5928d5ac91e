-- scripts/alipay.lua -- Alipay OpenAPI v2: code lists, response parsers and
-- the async-notify verifier of the alipay pack (builders: templates/alipay.lua).
--
-- The host classifies; this file only extracts one code per answer:
--   * code "10000" on pay / close          -> "10000"
--   * code "10000" on query                -> trade_status (e.g. TRADE_SUCCESS)
--   * any other code                       -> code .. ":" .. sub_code
--                                             (e.g. "40004:ACQ.TRADE_NOT_EXIST")
-- A response is trusted only after its RSA2 signature verifies over the RAW
-- text of "<method>_response" exactly as received (gw.json.raw_member, never
-- re-serialised).  Missing or bad signature -> error "response signature
-- invalid" -> PROCESSING, whatever the code says (this includes Alipay's
-- unsigned gateway errors such as 40001/40002 on a bad app_id: they stay
-- PROCESSING, never FAILED, never NOT_SENT without a signature).

local S = {}

local DOC_PRECREATE = "https://opendocs.alipay.com/open/02ekfg"    -- alipay.trade.precreate
local DOC_QUERY = "https://opendocs.alipay.com/open/02ekfh"        -- alipay.trade.query
local DOC_CLOSE = "https://opendocs.alipay.com/open/02o6e7"        -- alipay.trade.close
local DOC_COMMON = "https://opendocs.alipay.com/common/02km9f"     -- public (gateway) error codes
local DOC_NOTIFY = "https://opendocs.alipay.com/open/194/103296"   -- async notify, trade_status

-- Public gateway errors: the OpenAPI gateway rejects the call (auth, missing
-- or invalid common parameter, permission) before any business processing,
-- so no trade was created or changed.  Only honoured on a signed answer.
local GATEWAY_REJECTED = {
  "20001:aop.invalid-auth-token", "20001:aop.auth-token-time-out",
  "20001:aop.invalid-app-auth-token", "20001:aop.invalid-app-auth-token-no-api",
  "20001:aop.app-auth-token-time-out",
  "40001:isv.missing-method", "40001:isv.missing-signature",
  "40001:isv.missing-signature-type", "40001:isv.missing-app-id",
  "40001:isv.missing-timestamp", "40001:isv.missing-version",
  "40002:isv.invalid-method", "40002:isv.invalid-format",
  "40002:isv.invalid-signature-type", "40002:isv.invalid-signature",
  "40002:isv.invalid-encrypt-type", "40002:isv.invalid-app-id",
  "40002:isv.invalid-timestamp", "40002:isv.invalid-charset",
  "40006:isv.insufficient-isv-permissions",
}

S.codes = {
  pay = {
    -- 10000 = the QR code exists; the host keeps a prepay order PROCESSING
    success = { source = DOC_PRECREATE, codes = { "10000" } },
    -- definitive business refusals of precreate for this out_trade_no
    failure = { source = DOC_PRECREATE, codes = {
      "40004:ACQ.INVALID_PARAMETER", "40004:ACQ.ACCESS_FORBIDDEN",
      "40004:ACQ.EXIST_FORBIDDEN_WORD", "40004:ACQ.PARTNER_ERROR",
      "40004:ACQ.TOTAL_FEE_EXCEED", "40004:ACQ.CONTEXT_INCONSISTENT",
      "40004:ACQ.TRADE_HAS_CLOSE", "40004:ACQ.BUYER_SELLER_EQUAL",
    } },
    -- in doubt: the trade may exist / be paid (TRADE_HAS_SUCCESS!) -> query
    processing = { source = DOC_PRECREATE, codes = {
      "40004:ACQ.SYSTEM_ERROR", "40004:ACQ.TRADE_HAS_SUCCESS",
      "40004:ACQ.TRADE_BUYER_NOT_MATCH", "20000:isp.unknow-error",
      "20000:aop.unknow-error",
    } },
    rejected = { source = DOC_COMMON, codes = GATEWAY_REJECTED },
  },
  query = {
    success = { source = DOC_QUERY, codes = { "TRADE_SUCCESS", "TRADE_FINISHED" } },
    closed = { source = DOC_QUERY, codes = { "TRADE_CLOSED" } },
    processing = { source = DOC_QUERY, codes = {
      "WAIT_BUYER_PAY", "40004:ACQ.SYSTEM_ERROR", "20000:isp.unknow-error",
    } },
    -- normal before the buyer scans a precreate QR: never FAILED on this
    not_found = { source = DOC_QUERY, codes = { "40004:ACQ.TRADE_NOT_EXIST" } },
  },
  close = {
    success = { source = DOC_CLOSE, codes = { "10000" } },
    not_found = { source = DOC_CLOSE, codes = { "40004:ACQ.TRADE_NOT_EXIST" } },
    processing = { source = DOC_CLOSE, codes = {
      "40004:ACQ.SYSTEM_ERROR", "40004:ACQ.TRADE_STATUS_ERROR",
    } },
  },
  notify = {
    success = { source = DOC_NOTIFY, codes = { "TRADE_SUCCESS", "TRADE_FINISHED" } },
    closed = { source = DOC_NOTIFY, codes = { "TRADE_CLOSED" } },
    processing = { source = DOC_NOTIFY, codes = { "WAIT_BUYER_PAY" } },
  },
}

local TIME_FMT = "yyyy-MM-dd HH:mm:ss"
local TZ_BEIJING = 480

local function str(v)
  return type(v) == "string" and v or nil
end

-- Decode, locate and verify "<api>_response" (or "error_response").
-- Returns body-table r, code, nil on success; or nil, code-or-nil, error.
local function open_response(resp, api, ctx)
  if resp.status ~= 200 then
    return nil, nil, "HTTP status " .. tostring(resp.status)
  end
  -- a full decode first: well-formed JSON, no duplicated member anywhere
  local all, jerr = gw.json.decode(resp.body)
  if type(all) ~= "table" then
    return nil, nil, "response is not a JSON object: " .. tostring(jerr)
  end
  local key = api:gsub("%.", "_") .. "_response"
  local raw = gw.json.raw_member(resp.body, key)
  if raw == nil then
    key = "error_response"
    raw = gw.json.raw_member(resp.body, key)
  end
  if raw == nil then
    return nil, nil, "no " .. api:gsub("%.", "_") .. "_response in the answer"
  end
  local r = gw.json.decode(raw)
  if type(r) ~= "table" or type(r.code) ~= "string" then
    return nil, nil, key .. " has no code"
  end
  local code = r.code
  if code ~= "10000" and str(r.sub_code) ~= nil then
    code = r.code .. ":" .. r.sub_code
  end
  local sign = str(all.sign)
  local key_name = ctx.config.channel_public_key
  if sign == nil or sign == "" or type(key_name) ~= "string"
     or not gw.crypto.verify(key_name, "RSA2", raw, sign) then
    return nil, code, "response signature invalid"
  end
  return r, code, nil
end

local function failed(code, err)
  return { code = code, error = err, verified = false }
end

local function same_trade(r, order)
  if order ~= nil and type(order.out_trade_no) == "string" and r.out_trade_no ~= nil
     and r.out_trade_no ~= order.out_trade_no then
    return false
  end
  return true
end

S.parse = {}

function S.parse.pay(resp, order, ctx)
  local r, code, err = open_response(resp, ctx.manifest.api.pay, ctx)
  if r == nil then return failed(code, err) end
  if code ~= "10000" then
    return { code = code, verified = true, fields = { msg = str(r.sub_msg) or str(r.msg) } }
  end
  if not same_trade(r, order) then
    return { code = code, verified = true, error = "out_trade_no in the answer differs" }
  end
  if str(r.qr_code) == nil or r.qr_code == "" then
    return { code = code, verified = true, error = "precreate answer has no qr_code" }
  end
  return {
    code = code,
    verified = true,
    fields = {
      out_trade_no = str(r.out_trade_no),
      credential = { type = "qr_code", qr_code = r.qr_code },
    },
  }
end

function S.parse.query(resp, order, ctx)
  local r, code, err = open_response(resp, ctx.manifest.api.query, ctx)
  if r == nil then return failed(code, err) end
  if code ~= "10000" then
    return { code = code, verified = true, fields = { msg = str(r.sub_msg) or str(r.msg) } }
  end
  if not same_trade(r, order) then
    return { code = "", verified = true, error = "out_trade_no in the answer differs" }
  end
  local fields = {
    channel_trade_no = str(r.trade_no),
    trade_status = str(r.trade_status),
  }
  if str(r.total_amount) ~= nil then
    fields.amount = gw.amount.from_decimal(r.total_amount, 2)
    if order ~= nil and math.type(order.amount) == "integer" and fields.amount ~= order.amount
       and (r.trade_status == "TRADE_SUCCESS" or r.trade_status == "TRADE_FINISHED") then
      return { code = str(r.trade_status) or "", verified = true, fields = fields,
               error = "paid amount differs from the order amount" }
    end
  end
  if str(r.send_pay_date) ~= nil then
    fields.paid_at_ms = gw.time.parse(r.send_pay_date, TIME_FMT, TZ_BEIJING)
  end
  -- 10000 without a trade_status proves nothing: code "" -> PROCESSING
  return { code = str(r.trade_status) or "", verified = true, fields = fields }
end

function S.parse.close(resp, order, ctx)
  local r, code, err = open_response(resp, ctx.manifest.api.close, ctx)
  if r == nil then return failed(code, err) end
  if code == "10000" and not same_trade(r, order) then
    return { code = code, verified = true, error = "out_trade_no in the answer differs" }
  end
  return { code = code, verified = true,
           fields = { channel_trade_no = str(r.trade_no), msg = str(r.sub_msg) } }
end

-- Async notify: form POST; verify RSA2 over every received parameter except
-- sign AND sign_type, sorted, k=v&..., values form-decoded exactly once.
function S.notify(req, ctx)
  local p, ferr = gw.form.decode(req.body)
  if p == nil then
    return { verified = false, error = "notify is not a form: " .. tostring(ferr) }
  end
  local sign = str(p.sign)
  if sign == nil or sign == "" then
    return { verified = false, error = "notify is not signed" }
  end
  if p.sign_type ~= nil and p.sign_type ~= "RSA2" then
    return { verified = false, error = "unsupported sign_type " .. tostring(p.sign_type) }
  end
  local to_verify = gw.form.sign_string(p, { exclude = { "sign", "sign_type" },
                                            skip_empty = true })
  if not gw.crypto.verify(ctx.config.channel_public_key, "RSA2", to_verify, sign) then
    return { verified = false, error = "notify signature invalid" }
  end
  if p.app_id ~= ctx.config.app_id then
    return { verified = false, error = "notify is for another app_id" }
  end
  local fields = {
    out_trade_no = str(p.out_trade_no),
    channel_trade_no = str(p.trade_no),
    app_id = str(p.app_id),
    trade_status = str(p.trade_status),
    notify_id = str(p.notify_id),
  }
  if str(p.total_amount) ~= nil then
    fields.amount = gw.amount.from_decimal(p.total_amount, 2)
  end
  if str(p.gmt_payment) ~= nil then
    fields.paid_at_ms = gw.time.parse(p.gmt_payment, TIME_FMT, TZ_BEIJING)
  end
  return {
    verified = true,
    code = str(p.trade_status) or "",
    out_trade_no = str(p.out_trade_no),
    fields = fields,
  }
end

return S
