-- scripts/paypal.lua -- PayPal REST (Orders v2, Payments v2, OAuth2): code
-- lists, response parsers and the offline webhook verifier of the paypal
-- pack (builders: templates/paypal.lua).
--
-- The host classifies; this file only extracts one code per answer:
--   * 2xx                   -> the resource's `status` (order, capture, refund);
--                              a COMPLETED order -> its capture's status:
--                              "COMPLETED" only when the capture is COMPLETED,
--                              else "COMPLETED:<capture status>"
--   * 4xx/5xx PayPal error  -> name, or name:details[1].issue
--                              ("UNPROCESSABLE_ENTITY:INSTRUMENT_DECLINED")
--   * 401 (token expired)   -> fields.auth_expired = true, code
--                              "AUTHENTICATION_FAILURE"/"invalid_token" (PROCESSING)
-- PayPal does not sign API answers (TLS only), so signed_responses is off;
-- an answer for another order, or a success with another amount, is an error.
--
-- Webhooks are verified OFFLINE (PayPal's published algorithm, "Verify the
-- signature on your own" in https://developer.paypal.com/api/rest/webhooks/rest/):
--   message = transmission_id | transmission_time | webhook_id | crc32(raw body)
--   (CRC-32/ISO-HDLC as an unsigned decimal), SHA256withRSA, base64 signature,
--   verified with the certificate PayPal names in PAYPAL-CERT-URL.
-- The pack cannot fetch that certificate: the operator installs it in the
-- keystore (config webhook_cert = its key name) and configures the URL it
-- came from (webhook_cert_url).  A notify whose PAYPAL-CERT-URL is not an
-- https URL on a paypal.com host, or is not the configured URL, is refused
-- (not verified) and the error names the URL, so a rotated certificate is
-- visible in the log (docs/channels/paypal.md, "Webhook certificate").

local S = {}

local DOC_ORDER_STATUS = "https://developer.paypal.com/docs/api/orders/v2/#orders_get"
local DOC_ORDER_CREATE = "https://developer.paypal.com/docs/api/orders/v2/#orders_create"
local DOC_ORDER_CAPTURE = "https://developer.paypal.com/docs/api/orders/v2/#orders_capture"
local DOC_ERRORS = "https://developer.paypal.com/api/rest/reference/orders/v2/errors/"
local DOC_REFUND = "https://developer.paypal.com/docs/api/payments/v2/#captures_refund"
local DOC_REFUND_GET = "https://developer.paypal.com/docs/api/payments/v2/#refunds_get"
local DOC_TOKEN = "https://developer.paypal.com/api/rest/authentication/"
local DOC_EVENTS = "https://developer.paypal.com/api/rest/webhooks/event-names/"

S.codes = {
  token = {
    success = { source = DOC_TOKEN, codes = { "OK" } },
    processing = { source = DOC_TOKEN, codes = { "invalid_client", "invalid_token" } },
  },
  pay = {
    -- the order exists and waits for the payer (credential = approve link);
    -- the host keeps a prepay order PROCESSING
    success = { source = DOC_ORDER_CREATE, codes = { "CREATED", "PAYER_ACTION_REQUIRED" } },
    -- create refused: no order exists, nobody can pay it
    failure = { source = DOC_ERRORS, codes = {
      "UNPROCESSABLE_ENTITY:CURRENCY_NOT_SUPPORTED",
      "UNPROCESSABLE_ENTITY:PAYEE_ACCOUNT_RESTRICTED",
      "UNPROCESSABLE_ENTITY:PAYEE_BLOCKED_TRANSACTION",
      "UNPROCESSABLE_ENTITY:AMOUNT_MISMATCH",
      "INVALID_REQUEST:INVALID_PARAMETER_VALUE",
      "INVALID_REQUEST:MISSING_REQUIRED_PARAMETER",
      "INVALID_REQUEST:INVALID_STRING_LENGTH",
    } },
    -- a replayed PayPal-Request-Id can answer the order as it is now
    processing = { source = DOC_ORDER_STATUS, codes = {
      "APPROVED", "SAVED", "COMPLETED", "INTERNAL_SERVER_ERROR",
      "AUTHENTICATION_FAILURE", "invalid_token",
    } },
  },
  capture = {
    -- purchase_units[0].payments.captures[0].status
    success = { source = DOC_ORDER_CAPTURE, codes = { "COMPLETED" } },
    failure = { source = DOC_ORDER_CAPTURE, codes = { "DECLINED", "FAILED" } },
    processing = { source = DOC_ERRORS, codes = {
      "PENDING",
      -- the payer may pick another funding source and approve again
      "UNPROCESSABLE_ENTITY:INSTRUMENT_DECLINED",
      -- an earlier capture went through: query tells
      "UNPROCESSABLE_ENTITY:ORDER_ALREADY_CAPTURED",
      "UNPROCESSABLE_ENTITY:DUPLICATE_INVOICE_ID",
      "INTERNAL_SERVER_ERROR", "AUTHENTICATION_FAILURE", "invalid_token",
    } },
    not_found = { source = DOC_ERRORS, codes = {
      "RESOURCE_NOT_FOUND", "RESOURCE_NOT_FOUND:INVALID_RESOURCE_ID",
    } },
    -- refused before anything was captured ("Payer has not yet approved the
    -- Order for payment"): the host may capture again once the buyer approves
    rejected = { source = DOC_ERRORS, codes = {
      "UNPROCESSABLE_ENTITY:ORDER_NOT_APPROVED",
      "UNPROCESSABLE_ENTITY:PAYER_ACTION_REQUIRED",
    } },
  },
  query = {
    -- an order is paid only when its capture is COMPLETED (a COMPLETED order
    -- can hold a PENDING or DECLINED capture); refunded captures were paid
    success = { source = DOC_ORDER_STATUS, codes = {
      "COMPLETED", "COMPLETED:PARTIALLY_REFUNDED", "COMPLETED:REFUNDED",
    } },
    failure = { source = DOC_ORDER_CAPTURE, codes = { "COMPLETED:DECLINED", "COMPLETED:FAILED" } },
    closed = { source = DOC_ORDER_STATUS, codes = { "VOIDED" } },
    processing = { source = DOC_ORDER_STATUS, codes = {
      "CREATED", "SAVED", "APPROVED", "PAYER_ACTION_REQUIRED", "COMPLETED:PENDING",
      "INTERNAL_SERVER_ERROR", "AUTHENTICATION_FAILURE", "invalid_token",
    } },
    -- never FAILED on this word
    not_found = { source = DOC_ERRORS, codes = {
      "RESOURCE_NOT_FOUND", "RESOURCE_NOT_FOUND:INVALID_RESOURCE_ID",
    } },
  },
  refund = {
    success = { source = DOC_REFUND, codes = { "COMPLETED" } },
    failure = { source = DOC_REFUND, codes = {
      "FAILED", "CANCELLED",
      "UNPROCESSABLE_ENTITY:REFUND_AMOUNT_EXCEEDED",
      "UNPROCESSABLE_ENTITY:REFUND_TIME_LIMIT_EXCEEDED",
      "UNPROCESSABLE_ENTITY:REFUND_NOT_ALLOWED",
      "UNPROCESSABLE_ENTITY:CAPTURE_DISPUTED_PARTIAL_REFUND_NOT_ALLOWED",
    } },
    processing = { source = DOC_REFUND, codes = {
      "PENDING",
      -- may be our own earlier refund: refund_query tells
      "UNPROCESSABLE_ENTITY:CAPTURE_FULLY_REFUNDED",
      "INTERNAL_SERVER_ERROR", "AUTHENTICATION_FAILURE", "invalid_token",
    } },
    not_found = { source = DOC_REFUND, codes = {
      "RESOURCE_NOT_FOUND", "RESOURCE_NOT_FOUND:INVALID_RESOURCE_ID",
    } },
  },
  refund_query = {
    success = { source = DOC_REFUND_GET, codes = { "COMPLETED" } },
    failure = { source = DOC_REFUND_GET, codes = { "FAILED", "CANCELLED" } },
    processing = { source = DOC_REFUND_GET, codes = {
      "PENDING", "INTERNAL_SERVER_ERROR", "AUTHENTICATION_FAILURE", "invalid_token",
    } },
    not_found = { source = DOC_ERRORS, codes = {
      "RESOURCE_NOT_FOUND", "RESOURCE_NOT_FOUND:INVALID_RESOURCE_ID",
    } },
  },
  notify = {
    success = { source = DOC_EVENTS, codes = {
      "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.REFUNDED",
    } },
    failure = { source = DOC_EVENTS, codes = { "PAYMENT.CAPTURE.DENIED" } },
    processing = { source = DOC_EVENTS, codes = {
      "PAYMENT.CAPTURE.PENDING", "CHECKOUT.ORDER.APPROVED", "CHECKOUT.ORDER.COMPLETED",
      "PAYMENT.CAPTURE.REVERSED",
    } },
  },
}

local function str(v)
  return type(v) == "string" and v or nil
end

local function first(a)
  return type(a) == "table" and a[1] or nil
end

-- ---------------------------------------------------------------- CRC-32
-- CRC-32/ISO-HDLC (zlib's crc32): reflected polynomial 0xEDB88320, init and
-- final xor 0xFFFFFFFF.  Check value: "123456789" -> 0xCBF43926 (a fixture).
local CRC_TABLE = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if c & 1 == 1 then c = 0xEDB88320 ~ (c >> 1) else c = c >> 1 end
  end
  CRC_TABLE[i] = c
end

local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do
    c = CRC_TABLE[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8)
  end
  return c ~ 0xFFFFFFFF
end

-- ---------------------------------------------------------------- answers

local function exponent(ctx, currency)
  local z = ctx.manifest and ctx.manifest.zero_decimal or {}
  return z[currency] and 0 or 2
end

-- amount object {currency_code, value} -> minor units, or nil
local function minor(ctx, a)
  if type(a) ~= "table" or str(a.value) == nil or str(a.currency_code) == nil then
    return nil
  end
  return gw.amount.from_decimal(a.value, exponent(ctx, a.currency_code))
end

local function iso_ms(s)
  -- "2024-01-01T12:00:00Z" (PayPal always answers UTC with Z)
  if str(s) == nil or #s < 19 then return nil end
  return gw.time.parse(s:sub(1, 19), "yyyy-MM-ddTHH:mm:ss", 0)
end

-- Decode an answer.  Returns body, code, fields; body nil when it is not a
-- PayPal answer at all (code nil -> PROCESSING).
local function open(resp)
  local fields = {}
  local b = gw.json.decode(resp.body or "")
  if resp.status == 401 then
    fields.auth_expired = true
  end
  if type(b) ~= "table" then
    return nil, nil, fields, "answer is not JSON (HTTP " .. tostring(resp.status) .. ")"
  end
  if resp.status >= 200 and resp.status < 300 then
    return b, str(b.status), fields, nil
  end
  local code = str(b.name) or str(b.error)
  local d = first(b.details)
  if code ~= nil and type(d) == "table" and str(d.issue) ~= nil then
    code = code .. ":" .. d.issue
  end
  fields.msg = str(b.message) or str(b.error_description)
  fields.debug_id = str(b.debug_id)
  return nil, code, fields, nil
end

local function result(code, fields, err)
  return { code = code or "", fields = fields, error = err }
end

local function first_capture(b)
  local pu = first(b.purchase_units)
  if type(pu) ~= "table" or type(pu.payments) ~= "table" then return nil, pu end
  return first(pu.payments.captures), pu
end

local function link(b, rels)
  if type(b.links) ~= "table" then return nil end
  for _, want in ipairs(rels) do
    for _, l in ipairs(b.links) do
      if type(l) == "table" and l.rel == want and str(l.href) ~= nil then
        return l.href
      end
    end
  end
  return nil
end

local function other_order(pu, order)
  if type(pu) ~= "table" or type(order) ~= "table" or str(order.out_trade_no) == nil then
    return false
  end
  local ref = str(pu.custom_id) or str(pu.reference_id)
  return ref ~= nil and ref ~= order.out_trade_no
end

S.parse = {}

function S.parse.token(resp, order, ctx)
  local b, code, fields, err = open(resp)
  if b == nil then return result(code, fields, err) end
  if str(b.access_token) == nil or math.type(b.expires_in) ~= "integer" then
    return result("", fields, "token answer has no access_token / expires_in")
  end
  fields.access_token = b.access_token
  fields.expires_in = b.expires_in
  fields.token_type = str(b.token_type)
  return result("OK", fields)
end

function S.parse.pay(resp, order, ctx)
  local b, code, fields, err = open(resp)
  if b == nil then return result(code, fields, err) end
  fields.channel_trade_no = str(b.id)
  local pu = first(b.purchase_units)
  if other_order(pu, order) then
    return result(code, fields, "the answer is for another order")
  end
  if code == "CREATED" or code == "PAYER_ACTION_REQUIRED" then
    local url = link(b, { "payer-action", "approve" })
    if url == nil or fields.channel_trade_no == nil then
      return result(code, fields, "create answer has no order id or approve link")
    end
    fields.credential = { type = "url", url = url }
  end
  return result(code, fields)
end

function S.parse.capture(resp, order, ctx)
  local b, code, fields, err = open(resp)
  if b == nil then return result(code, fields, err) end
  fields.channel_trade_no = str(b.id)
  fields.order_status = code
  local cap, pu = first_capture(b)
  if other_order(pu, order) then
    return result("", fields, "the answer is for another order")
  end
  if type(cap) ~= "table" or str(cap.status) == nil then
    return result("", fields, "capture answer has no capture")
  end
  fields.capture_id = str(cap.id)
  fields.capture_status = cap.status
  fields.amount = minor(ctx, cap.amount)
  -- refunds go to the capture, not the order: the host keeps its id
  if fields.capture_id ~= nil then fields.keep = { capture_id = fields.capture_id } end
  if cap.status == "COMPLETED" and type(order) == "table"
     and math.type(order.amount) == "integer" and fields.amount ~= order.amount then
    return result(cap.status, fields, "captured amount differs from the order amount")
  end
  return result(cap.status, fields)
end

function S.parse.query(resp, order, ctx)
  local b, code, fields, err = open(resp)
  if b == nil then return result(code, fields, err) end
  fields.channel_trade_no = str(b.id)
  fields.trade_status = code
  local cap, pu = first_capture(b)
  if other_order(pu, order) then
    return result("", fields, "the answer is for another order")
  end
  if code == "APPROVED" then
    -- the buyer approved: the money moves only when we capture (the host
    -- runs `capture` once for the order, then queries settle it)
    fields.next_op = "capture"
  end
  if code ~= "COMPLETED" then
    return result(code, fields)
  end
  if type(cap) ~= "table" or str(cap.status) == nil then
    return result("COMPLETED:NO_CAPTURE", fields)
  end
  fields.capture_id = str(cap.id)
  fields.capture_status = cap.status
  fields.amount = minor(ctx, cap.amount)
  fields.paid_at_ms = iso_ms(cap.create_time)
  if fields.capture_id ~= nil then fields.keep = { capture_id = fields.capture_id } end
  if cap.status ~= "COMPLETED" then
    return result("COMPLETED:" .. cap.status, fields)
  end
  if type(order) == "table" and math.type(order.amount) == "integer"
     and fields.amount ~= order.amount then
    return result("COMPLETED", fields, "paid amount differs from the order amount")
  end
  return result("COMPLETED", fields)
end

local function parse_refund(resp, order, ctx)
  local b, code, fields, err = open(resp)
  if b == nil then return result(code, fields, err) end
  fields.channel_refund_no = str(b.id)
  fields.refund_status = code
  fields.amount = minor(ctx, b.amount)
  local r = type(order) == "table" and type(order.refund) == "table" and order.refund or nil
  if r ~= nil and str(b.invoice_id) ~= nil and str(r.out_refund_no) ~= nil
     and b.invoice_id ~= r.out_refund_no then
    return result("", fields, "the answer is for another refund")
  end
  if code == "COMPLETED" and r ~= nil and math.type(r.amount) == "integer"
     and fields.amount ~= r.amount then
    return result(code, fields, "refunded amount differs from the refund amount")
  end
  return result(code, fields)
end

S.parse.refund = parse_refund
S.parse.refund_query = parse_refund

-- ---------------------------------------------------------------- webhook

-- https://<host>.paypal.com/... only: no userinfo, no port other than 443
local function paypal_cert_url(u)
  if type(u) ~= "string" then return false end
  local host, rest = u:match("^https://([^/?#]+)(/[^?#]*)$")
  if host == nil then return false end
  host = host:lower():gsub(":443$", "")
  if host:find("[@:]") then return false end
  return (host == "paypal.com" or host:sub(-11) == ".paypal.com")
         and rest:sub(1, 24) == "/v1/notifications/certs/"
end

local function verify_transmission(req, ctx)
  local h = req.headers or {}
  local cfg = ctx.config
  local tid = str(h["paypal-transmission-id"])
  local ttime = str(h["paypal-transmission-time"])
  local sig = str(h["paypal-transmission-sig"])
  local cert_url = str(h["paypal-cert-url"])
  local algo = str(h["paypal-auth-algo"])
  if tid == nil or ttime == nil or sig == nil or cert_url == nil then
    return "webhook lacks the PAYPAL-TRANSMISSION-* / PAYPAL-CERT-URL headers"
  end
  if algo ~= nil and algo ~= "SHA256withRSA" then
    return "unsupported PAYPAL-AUTH-ALGO " .. algo
  end
  if not paypal_cert_url(cert_url) then
    return "PAYPAL-CERT-URL is not a paypal.com certificate URL: " .. cert_url:sub(1, 120)
  end
  if str(cfg.webhook_cert_url) == nil or str(cfg.webhook_cert) == nil
     or str(cfg.webhook_id) == nil then
    return "config webhook_id, webhook_cert and webhook_cert_url are required"
  end
  if cert_url ~= cfg.webhook_cert_url then
    return "webhook signed with another certificate (install it): " .. cert_url:sub(1, 160)
  end
  local msg = tid .. "|" .. ttime .. "|" .. cfg.webhook_id .. "|"
              .. string.format("%d", crc32(req.body or ""))
  local ok, good = pcall(gw.crypto.verify, cfg.webhook_cert, "RSA2", msg, sig)
  if not ok then
    return "webhook certificate " .. cfg.webhook_cert .. " is not usable: " .. tostring(good)
  end
  if not good then
    return "webhook signature invalid"
  end
  return nil
end

-- the order a webhook's resource belongs to (custom_id = out_trade_no)
local function event_fields(ctx, ev)
  local r = type(ev.resource) == "table" and ev.resource or {}
  local f = { event_id = str(ev.id), event_type = str(ev.event_type) }
  local et = f.event_type or ""
  if et:sub(1, 15) == "CHECKOUT.ORDER." then
    local pu = first(r.purchase_units)
    f.out_trade_no = type(pu) == "table" and (str(pu.custom_id) or str(pu.reference_id)) or nil
    f.channel_trade_no = str(r.id)
    f.trade_status = str(r.status)
    return f
  end
  f.out_trade_no = str(r.custom_id)
  f.amount = minor(ctx, r.amount)
  if et == "PAYMENT.CAPTURE.REFUNDED" then
    f.kind = "refund"
    f.out_refund_no = str(r.invoice_id)
    f.channel_refund_no = str(r.id)
    f.refund_status = str(r.status)
  else
    f.capture_id = str(r.id)
    f.capture_status = str(r.status)
    f.paid_at_ms = iso_ms(r.create_time)
    if f.capture_id ~= nil then f.keep = { capture_id = f.capture_id } end
    local rel = type(r.supplementary_data) == "table" and r.supplementary_data.related_ids
    f.channel_trade_no = type(rel) == "table" and str(rel.order_id) or nil
  end
  return f
end

function S.notify(req, ctx)
  local body = req.body or ""
  local fields = { body_crc32 = string.format("%d", crc32(body)) }
  local err = verify_transmission(req, ctx)
  if err ~= nil then
    return { verified = false, error = err, fields = fields }
  end
  local ev = gw.json.decode(body)
  if type(ev) ~= "table" or str(ev.event_type) == nil then
    return { verified = false, error = "webhook body is not a PayPal event", fields = fields }
  end
  local f = event_fields(ctx, ev)
  f.body_crc32 = fields.body_crc32
  if f.out_trade_no == nil then
    return { verified = false, error = "webhook names no order (custom_id)", fields = f }
  end
  return { verified = true, code = ev.event_type, out_trade_no = f.out_trade_no, fields = f }
end

return S
