-- scripts/square.lua -- Square Payments + Refunds: code lists, answer parsers
-- and the webhook verifier of the square pack (builders: templates/square.lua).
--
-- The one code per answer:
--   * an answer carrying a Payment (CreatePayment, GetPayment, CancelPayment,
--     and a declined CreatePayment, which returns `errors` AND the FAILED
--     payment)                                   -> payment.status
--   * a PaymentRefund                            -> refund.status
--   * `errors` without an object                 -> "<category>:<code>" of the first error
--   * ListPayments without our reference_id      -> "not_found" (only when complete)
--   * CancelPaymentByIdempotencyKey's empty {}   -> "cancel_requested" (proves nothing)
-- Square does not sign API answers: a payment counts only when its
-- reference_id is our out_trade_no and its amount is the order's; a refund
-- only when its payment_id and amount are ours.

local S = {}

local DOC_PAYMENT = "https://developer.squareup.com/reference/square/objects/Payment"   -- status
local DOC_CREATE = "https://developer.squareup.com/reference/square/payments-api/create-payment"
local DOC_CANCEL = "https://developer.squareup.com/reference/square/payments-api/cancel-payment"
local DOC_CANCEL_KEY = "https://developer.squareup.com/reference/square/payments-api/cancel-payment-by-idempotency-key"
local DOC_ERRORS = "https://developer.squareup.com/reference/square/enums/ErrorCode"
local DOC_ERROR_HANDLING = "https://developer.squareup.com/docs/build-basics/handling-errors"
local DOC_REFUND = "https://developer.squareup.com/reference/square/objects/PaymentRefund"
local DOC_WEBHOOK = "https://developer.squareup.com/reference/square/payments-api/webhooks/payment.updated"

-- rejected by authentication / request validation: Square processed nothing
local REJECTED = {
  "AUTHENTICATION_ERROR:UNAUTHORIZED", "AUTHENTICATION_ERROR:ACCESS_TOKEN_EXPIRED",
  "AUTHENTICATION_ERROR:ACCESS_TOKEN_REVOKED", "AUTHENTICATION_ERROR:UNAUTHORIZED_CLIENT",
  "INVALID_REQUEST_ERROR:MISSING_REQUIRED_PARAMETER", "INVALID_REQUEST_ERROR:INVALID_CONTENT_TYPE",
  "INVALID_REQUEST_ERROR:UNSUPPORTED_CURRENCY",
}

-- unknown outcome (retry with the same idempotency_key, or query)
local UNSURE = {
  "API_ERROR:INTERNAL_SERVER_ERROR", "API_ERROR:SERVICE_UNAVAILABLE", "API_ERROR:GATEWAY_TIMEOUT",
  "RATE_LIMIT_ERROR:RATE_LIMITED", "INVALID_REQUEST_ERROR:IDEMPOTENCY_KEY_REUSED",
  "INVALID_REQUEST_ERROR:CONFLICT",
}

local function concat(...)
  local out = {}
  for _, l in ipairs({ ... }) do
    for _, v in ipairs(l) do out[#out + 1] = v end
  end
  return out
end

S.codes = {
  pay = {
    success = { source = DOC_PAYMENT, codes = { "COMPLETED" } },
    -- a declined CreatePayment returns the payment with status FAILED; CANCELED
    -- moves no money (DOC_PAYMENT)
    failure = { source = DOC_PAYMENT, codes = { "FAILED", "CANCELED" } },
    -- APPROVED = authorized, waiting for complete/cancel (autocomplete=false)
    -- card errors without the FAILED payment prove nothing: PROCESSING
    processing = { source = DOC_CREATE, codes = concat({
      "APPROVED", "PENDING", "PAYMENT_METHOD_ERROR:CARD_DECLINED",
      "PAYMENT_METHOD_ERROR:GENERIC_DECLINE", "PAYMENT_METHOD_ERROR:INSUFFICIENT_FUNDS",
    }, UNSURE) },
    rejected = { source = DOC_ERROR_HANDLING, codes = REJECTED },
  },
  query = {
    success = { source = DOC_PAYMENT, codes = { "COMPLETED" } },
    failure = { source = DOC_PAYMENT, codes = { "FAILED" } },
    closed = { source = DOC_PAYMENT, codes = { "CANCELED" } },
    processing = { source = DOC_PAYMENT, codes = concat({ "APPROVED", "PENDING" }, UNSURE) },
    not_found = { source = DOC_ERRORS, codes = { "INVALID_REQUEST_ERROR:NOT_FOUND", "not_found" } },
  },
  cancel = {
    success = { source = DOC_CANCEL, codes = { "CANCELED" } },
    -- COMPLETED: too late to cancel (refund instead); the key variant's {} proves nothing
    processing = { source = DOC_CANCEL_KEY, codes = concat({
      "COMPLETED", "APPROVED", "PENDING", "cancel_requested",
      "INVALID_REQUEST_ERROR:BAD_REQUEST",
    }, UNSURE) },
    not_found = { source = DOC_ERRORS, codes = { "INVALID_REQUEST_ERROR:NOT_FOUND" } },
  },
  refund = {
    success = { source = DOC_REFUND, codes = { "COMPLETED" } },
    failure = { source = DOC_REFUND, codes = { "REJECTED", "FAILED" } },
    processing = { source = DOC_REFUND, codes = concat({ "PENDING" }, UNSURE) },
  },
  refund_query = {
    success = { source = DOC_REFUND, codes = { "COMPLETED" } },
    failure = { source = DOC_REFUND, codes = { "REJECTED", "FAILED" } },
    processing = { source = DOC_REFUND, codes = concat({ "PENDING" }, UNSURE) },
    not_found = { source = DOC_ERRORS, codes = { "INVALID_REQUEST_ERROR:NOT_FOUND" } },
  },
  -- payment.* events: the payment's status; refund.* events: "REFUND." .. the
  -- refund's status (Refund object, status: PENDING, COMPLETED, REJECTED, FAILED)
  notify = {
    success = { source = DOC_WEBHOOK, codes = { "COMPLETED", "REFUND.COMPLETED" } },
    failure = { source = DOC_PAYMENT, codes = { "FAILED", "REFUND.REJECTED", "REFUND.FAILED" } },
    closed = { source = DOC_PAYMENT, codes = { "CANCELED" } },
    processing = { source = DOC_PAYMENT, codes = { "APPROVED", "PENDING", "REFUND.PENDING" } },
  },
}

local function str(v)
  return type(v) == "string" and v or nil
end

local function open(resp)
  local obj, jerr = gw.json.decode(resp.body or "")
  if type(obj) ~= "table" then
    return nil, nil, "answer is not JSON (HTTP " .. tostring(resp.status) .. "): " .. tostring(jerr)
  end
  local code
  if type(obj.errors) == "table" and type(obj.errors[1]) == "table" then
    local e = obj.errors[1]
    code = (str(e.category) or "?") .. ":" .. (str(e.code) or "?")
  elseif type(resp.status) ~= "number" or resp.status < 200 or resp.status > 299 then
    return nil, nil, "HTTP " .. tostring(resp.status) .. " without Square errors"
  end
  return obj, code, nil
end

local function money_amount(m)
  if type(m) == "table" and math.type(m.amount) == "integer" then return m.amount end
  return nil
end

local function payment_fields(p)
  local f = {
    channel_trade_no = str(p.id),
    trade_status = str(p.status),
    amount = money_amount(p.amount_money),
  }
  if type(p.card_details) == "table" then f.card_status = str(p.card_details.status) end
  return f
end

local function check_payment(p, order)
  if type(order) ~= "table" then return nil end
  if str(order.out_trade_no) ~= nil and p.reference_id ~= order.out_trade_no then
    return "payment " .. tostring(p.id) .. " is not for out_trade_no " .. order.out_trade_no
  end
  if str(order.channel_trade_no) ~= nil and order.channel_trade_no ~= "" and p.id ~= order.channel_trade_no then
    return "payment id differs from channel_trade_no"
  end
  local m = p.amount_money
  if math.type(order.amount) == "integer" and money_amount(m) ~= order.amount then
    return "payment amount differs from the order amount"
  end
  if str(order.currency) ~= nil and (type(m) ~= "table" or m.currency ~= order.currency) then
    return "payment currency differs from the order currency"
  end
  return nil
end

local function payment_result(p, order)
  return { code = str(p.status) or "", error = check_payment(p, order), fields = payment_fields(p) }
end

local function error_fields(obj)
  local e = type(obj.errors) == "table" and obj.errors[1] or nil
  if type(e) ~= "table" then return {} end
  return { error_code = str(e.code), error_detail = str(e.detail) }
end

S.parse = {}

local function parse_payment(resp, order)
  local obj, code, err = open(resp)
  if obj == nil then return { code = code, error = err } end
  if type(obj.payment) == "table" then
    local r = payment_result(obj.payment, order)
    if code ~= nil then
      -- errors next to a payment: only a FAILED payment is a verdict
      for k, v in pairs(error_fields(obj)) do r.fields[k] = v end
      if obj.payment.status ~= "FAILED" then r.code = code end
    end
    return r
  end
  if code ~= nil then return { code = code, fields = error_fields(obj) } end
  return { code = "", error = "answer has neither payment nor errors" }
end

function S.parse.pay(resp, order, ctx)
  return parse_payment(resp, order)
end

function S.parse.query(resp, order, ctx)
  local obj, code, err = open(resp)
  if obj == nil then return { code = code, error = err } end
  if code == nil and type(obj.payment) ~= "table" then
    -- ListPayments: find our reference_id
    local mine = {}
    for _, p in ipairs(type(obj.payments) == "table" and obj.payments or {}) do
      if type(p) == "table" and type(order) == "table" and p.reference_id == order.out_trade_no then
        mine[#mine + 1] = p
      end
    end
    if #mine == 0 then
      if str(obj.cursor) ~= nil and obj.cursor ~= "" then
        return { code = "", error = "payment list has more pages" }
      end
      return { code = "not_found" }
    end
    if #mine > 1 then
      return { code = "", error = #mine .. " payments carry reference_id " .. tostring(order.out_trade_no) }
    end
    return payment_result(mine[1], order)
  end
  return parse_payment(resp, order)
end

function S.parse.cancel(resp, order, ctx)
  local obj, code, err = open(resp)
  if obj == nil then return { code = code, error = err } end
  if code == nil and type(obj.payment) ~= "table" then
    -- CancelPaymentByIdempotencyKey answers {}: it says nothing about a payment
    return { code = "cancel_requested" }
  end
  return parse_payment(resp, order)
end

local function refund_result(resp, order)
  local obj, code, err = open(resp)
  if obj == nil then return { code = code, error = err } end
  local rf = obj.refund
  if type(rf) ~= "table" then
    if code ~= nil then return { code = code, fields = error_fields(obj) } end
    return { code = "", error = "answer has neither refund nor errors" }
  end
  local want = type(order) == "table" and type(order.refund) == "table" and order.refund or {}
  local f = {
    channel_refund_no = str(rf.id),
    refund_status = str(rf.status),
    amount = money_amount(rf.amount_money),
    channel_trade_no = str(rf.payment_id),
  }
  local e
  if type(order) == "table" and str(order.channel_trade_no) ~= nil and rf.payment_id ~= order.channel_trade_no then
    e = "refund belongs to another payment"
  elseif str(want.channel_refund_no) ~= nil and rf.id ~= want.channel_refund_no then
    e = "refund id differs from channel_refund_no"
  elseif math.type(want.amount) == "integer" and f.amount ~= want.amount then
    e = "refund amount differs from the requested amount"
  end
  return { code = code or str(rf.status) or "", error = e, fields = f }
end

function S.parse.refund(resp, order, ctx)
  return refund_result(resp, order)
end

function S.parse.refund_query(resp, order, ctx)
  return refund_result(resp, order)
end

-- x-square-hmacsha256-signature = base64 HMAC-SHA256(signature key,
-- notification URL + raw body) (https://developer.squareup.com/docs/webhooks/step3validate)
function S.notify(req, ctx)
  local cfg = ctx.config
  local sig = type(req.headers) == "table" and str(req.headers["x-square-hmacsha256-signature"]) or nil
  if sig == nil or sig == "" then return { verified = false, error = "no x-square-hmacsha256-signature" } end
  if str(cfg.notification_url) == nil or str(cfg.webhook_signature_key) == nil then
    return { verified = false, error = "config notification_url / webhook_signature_key not set" }
  end
  local expected = gw.crypto.base64_encode(gw.crypto.hmac("sha256",
    gw.secret(cfg.webhook_signature_key), cfg.notification_url .. req.body, "raw"))
  if not gw.crypto.equals(sig, expected) then
    return { verified = false, error = "x-square-hmacsha256-signature does not match" }
  end
  local evt = gw.json.decode(req.body)
  local typ = type(evt) == "table" and str(evt.type) or nil
  if typ == nil or type(evt.data) ~= "table" then
    return { verified = false, error = "signature valid, but the body is not a Square event" }
  end
  if str(cfg.merchant_id) ~= nil and evt.merchant_id ~= cfg.merchant_id then
    return { verified = false, error = "signature valid, but the event is for another merchant" }
  end
  local obj = type(evt.data.object) == "table" and evt.data.object or {}
  local fields = { event_id = str(evt.event_id), event_type = typ }
  if (typ == "payment.created" or typ == "payment.updated") and type(obj.payment) == "table" then
    for k, v in pairs(payment_fields(obj.payment)) do fields[k] = v end
    return { verified = true, code = str(obj.payment.status) or "",
             out_trade_no = str(obj.payment.reference_id), fields = fields }
  end
  -- refund.* events name Square's refund id (and the payment id) only, never
  -- our numbers: the host finds the refund by its channel_refund_no
  if (typ == "refund.created" or typ == "refund.updated") and type(obj.refund) == "table"
     and str(obj.refund.id) ~= nil and str(obj.refund.status) ~= nil then
    local rf = obj.refund
    fields.kind = "refund"
    fields.channel_refund_no = rf.id
    fields.channel_trade_no = str(rf.payment_id)
    if type(rf.amount_money) == "table" and math.type(rf.amount_money.amount) == "integer" then
      fields.amount = rf.amount_money.amount
    end
    return { verified = true, code = "REFUND." .. rf.status, fields = fields }
  end
  return { verified = false, fields = fields,
           error = "signature valid, but event " .. typ .. " names no order of ours" }
end

return S
