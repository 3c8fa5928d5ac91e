-- scripts/razorpay.lua -- Razorpay API v1: code lists, answer parsers, and the
-- verification of webhooks and of the Checkout callback (builders:
-- templates/razorpay.lua).
--
-- Codes this file extracts (the host classifies them):
--   * pay: the created order's `status` ("created": the Checkout credential
--     exists; the order stays PROCESSING, kind prepay).
--   * query: one code for the whole order, from its payments:
--       captured / refunded  some payment took the money
--       authorized / created a payment is under way (capture pending)
--       no_payment           no attempt yet
--       attempt_failed       every attempt failed, but the buyer may still
--                            retry on the same order inside Checkout
--       failed               every attempt failed AND the order's pay window
--                            (expire_seconds, passed to Checkout as `timeout`)
--                            is over
--       paid / attempted     (receipt lookup) the order entity's status
--       order_not_found      (receipt lookup) no order with our receipt
--   * capture: the payment's `status`; refund / refund_query: the refund's
--     `status` (pending / processed / failed); refund_not_found.
--   * an error answer: "<HTTP status>:<error.code>", e.g. "400:BAD_REQUEST_ERROR".
--   * webhook: the `event` name (payment.captured, refund.processed, ...);
--     Checkout callback: "checkout.callback".
-- API answers are not signed (TLS only).  Webhook: X-Razorpay-Signature = hex
-- HMAC-SHA256(webhook secret, raw body); Checkout callback: razorpay_signature
-- = hex HMAC-SHA256(key_secret, order_id .. "|" .. payment_id)
-- (razorpay npm 2.9.8 dist/utils/razorpay-utils.js: validateWebhookSignature,
-- validatePaymentVerification).

local S = {}

local DOC_ORDERS = "https://razorpay.com/docs/api/orders/create/"
local DOC_PAYMENTS = "https://razorpay.com/docs/payments/payments/#payment-life-cycle"
local DOC_ORDER_STATES = "https://razorpay.com/docs/api/orders/#order-entity"
local DOC_CAPTURE = "https://razorpay.com/docs/api/payments/capture/"
local DOC_REFUNDS = "https://razorpay.com/docs/api/refunds/#refund-entity"
local DOC_ERRORS = "https://razorpay.com/docs/errors/"
local DOC_WEBHOOKS = "https://razorpay.com/docs/webhooks/payloads/payments/"
local DOC_REFUND_WH = "https://razorpay.com/docs/webhooks/payloads/refunds/"
local DOC_CHECKOUT = "https://razorpay.com/docs/payments/server-integration/nodejs/integration-steps/#verify-payment-signature"

-- 401 "Authentication failed": the API refused the key before any processing
local REJECTED = { "401:BAD_REQUEST_ERROR" }

S.codes = {
  pay = {
    success = { source = DOC_ORDERS, codes = { "created" } },
    -- a 400 on create means no order exists: nothing can be paid against it
    failure = { source = DOC_ERRORS, codes = { "400:BAD_REQUEST_ERROR" } },
    rejected = { source = DOC_ERRORS, codes = REJECTED },
  },
  query = {
    success = { source = DOC_PAYMENTS, codes = { "captured", "refunded", "paid" } },
    failure = { source = DOC_PAYMENTS, codes = { "failed" } },
    processing = { source = DOC_PAYMENTS, codes = {
      "authorized", "created", "no_payment", "attempt_failed", "attempted",
    } },
    -- "The id provided does not exist" is a 400 BAD_REQUEST_ERROR: never FAILED
    not_found = { source = DOC_ERRORS, codes = { "order_not_found", "400:BAD_REQUEST_ERROR" } },
  },
  capture = {
    success = { source = DOC_CAPTURE, codes = { "captured" } },
    -- "already captured" / "not authorized" come as 400: the query decides
    processing = { source = DOC_CAPTURE, codes = { "authorized", "400:BAD_REQUEST_ERROR" } },
    rejected = { source = DOC_ERRORS, codes = REJECTED },
  },
  refund = {
    success = { source = DOC_REFUNDS, codes = { "processed" } },
    failure = { source = DOC_REFUNDS, codes = { "failed" } },
    processing = { source = DOC_REFUNDS, codes = { "pending" } },
    rejected = { source = DOC_ERRORS, codes = REJECTED },
  },
  refund_query = {
    success = { source = DOC_REFUNDS, codes = { "processed" } },
    failure = { source = DOC_REFUNDS, codes = { "failed" } },
    processing = { source = DOC_REFUNDS, codes = { "pending" } },
    not_found = { source = DOC_ERRORS, codes = { "refund_not_found", "400:BAD_REQUEST_ERROR" } },
  },
  notify = {
    success = { source = DOC_WEBHOOKS, codes = { "payment.captured", "order.paid", "refund.processed" } },
    failure = { source = DOC_REFUND_WH, codes = { "refund.failed" } },
    -- payment.failed is one failed attempt: the buyer may retry on the order
    processing = { source = DOC_CHECKOUT, codes = {
      "payment.authorized", "payment.failed", "refund.created", "checkout.callback",
    } },
  },
}

local function str(v)
  return type(v) == "string" and v ~= "" and v or nil
end

local function receipt_of(id)
  if #id <= 40 then return id end
  return gw.crypto.sha256(id, "hex"):sub(1, 40)
end

-- 2xx JSON -> t; 4xx {error:{code}} -> code "<status>:<code>"; else PROCESSING
local function open_answer(resp)
  local st = resp.status
  if math.type(st) ~= "integer" or st < 200 or st >= 500 then
    return nil, nil, "HTTP status " .. tostring(st)
  end
  local t, jerr = gw.json.decode(resp.body or "")
  if type(t) ~= "table" then
    return nil, nil, "answer is not a JSON object: " .. tostring(jerr)
  end
  if st >= 300 then
    local e = type(t.error) == "table" and t.error or {}
    if str(e.code) == nil then
      return nil, nil, "HTTP " .. st .. " without error.code"
    end
    return nil, st .. ":" .. e.code, nil, { msg = str(e.description), reason = str(e.reason) }
  end
  return t
end

local function answer_error(code, err, fields)
  if code ~= nil then return { code = code, verified = true, fields = fields } end
  return { verified = false, error = err }
end

local function notes_otn(e)
  return type(e) == "table" and type(e.notes) == "table" and str(e.notes.out_trade_no) or nil
end

-- a parsed entity must belong to this order (notes.out_trade_no or receipt)
local function same_order(e, order)
  if order == nil or type(order.out_trade_no) ~= "string" then return true end
  local n = notes_otn(e)
  if n ~= nil then return n == order.out_trade_no end
  if str(e.receipt) ~= nil then return e.receipt == receipt_of(order.out_trade_no) end
  return true
end

S.parse = {}

function S.parse.pay(resp, order, ctx)
  local t, code, err, ef = open_answer(resp)
  if t == nil then return answer_error(code, err, ef) end
  if t.entity ~= "order" or str(t.id) == nil or str(t.status) == nil then
    return { verified = false, error = "answer is not an order entity" }
  end
  local fields = { channel_trade_no = t.id, order_id = t.id }
  if not same_order(t, order) then
    return { code = t.status, verified = true, fields = fields,
             error = "receipt/notes in the answer name another order" }
  end
  if order ~= nil and (t.amount ~= order.amount or t.currency ~= order.currency) then
    return { code = t.status, verified = true, fields = fields,
             error = "order amount/currency in the answer differs" }
  end
  local cred = {
    type = "app", sdk = "razorpay.checkout",
    key = ctx.config.key_id, order_id = t.id, amount = t.amount, currency = t.currency,
    notes = { out_trade_no = order and order.out_trade_no or nil },
  }
  if order ~= nil and str(order.notify_url) ~= nil then
    -- Checkout POSTs razorpay_payment_id/order_id/signature here (S.notify)
    cred.callback_url = order.notify_url .. "?out_trade_no="
                        .. gw.form.urlencode(order.out_trade_no)
  end
  if order ~= nil and math.type(order.expire_seconds) == "integer" and order.expire_seconds > 0 then
    cred.timeout = order.expire_seconds
  end
  fields.credential = cred
  return { code = t.status, verified = true, fields = fields }
end

local function window_over(order)
  if order == nil or math.type(order.expire_seconds) ~= "integer" or order.expire_seconds <= 0
     or math.type(order.created_at_ms) ~= "integer" then
    return false
  end
  return gw.time.now_ms() > order.created_at_ms + order.expire_seconds * 1000
end

local RANK = { captured = 5, refunded = 5, authorized = 4, created = 3, failed = 1 }

-- the order-level code from a list of payment entities
local function from_payments(items, order)
  local best, fails = nil, 0
  for _, p in ipairs(items) do
    if type(p) ~= "table" or p.entity ~= "payment" or str(p.status) == nil then
      return nil, "payments list holds something else"
    end
    if p.status == "failed" then fails = fails + 1 end
    if best == nil or (RANK[p.status] or 2) > (RANK[best.status] or 2) then best = p end
  end
  if best == nil then return "no_payment" end
  local fields = { channel_trade_no = best.id, payment_id = best.id,
                   order_id = str(best.order_id), trade_status = best.status,
                   amount = math.type(best.amount) == "integer" and best.amount or nil,
                   method = str(best.method) }
  if math.type(best.created_at) == "integer" and (best.status == "captured" or best.status == "refunded") then
    fields.paid_at_ms = best.created_at * 1000
  end
  if best.status == "failed" then
    fields.channel_trade_no = str(best.order_id)
    fields.error_code = str(best.error_code)
    fields.error_reason = str(best.error_reason)
    if fails == #items and window_over(order) then return "failed", nil, fields end
    return "attempt_failed", nil, fields
  end
  if (best.status == "captured" or best.status == "refunded") and order ~= nil
     and (best.amount ~= order.amount or best.currency ~= order.currency) then
    return best.status, "paid amount/currency differs from the order", fields
  end
  return best.status, nil, fields
end

function S.parse.query(resp, order, ctx)
  local t, code, err, ef = open_answer(resp)
  if t == nil then return answer_error(code, err, ef) end
  if t.entity == "payment" then
    if not same_order(t, order) and order ~= nil and str(order.channel_trade_no) ~= t.id then
      return { verified = false, error = "payment belongs to another order" }
    end
    local c, e, f = from_payments({ t }, order)
    return { code = c, error = e, verified = true, fields = f }
  end
  if t.entity ~= "collection" or type(t.items) ~= "table" then
    return { verified = false, error = "answer is not a payment or a collection" }
  end
  local first = t.items[1]
  if type(first) == "table" and first.entity == "order" or (#t.items == 0 and order ~= nil
     and str(order.channel_trade_no) == nil) then
    -- receipt lookup: GET /orders?receipt=
    if #t.items == 0 then return { code = "order_not_found", verified = true } end
    if #t.items > 1 then
      return { verified = false, error = "several orders carry our receipt" }
    end
    if not same_order(first, order) then
      return { verified = false, error = "the order found names another out_trade_no" }
    end
    local fields = { channel_trade_no = str(first.id), order_id = str(first.id),
                     trade_status = str(first.status) }
    if first.status == "paid" and order ~= nil and first.amount_paid ~= order.amount then
      return { code = "paid", verified = true, fields = fields,
               error = "amount_paid differs from the order" }
    end
    return { code = str(first.status), verified = true, fields = fields }
  end
  for _, p in ipairs(t.items) do
    if type(p) == "table" and str(p.order_id) ~= nil and order ~= nil
       and str(order.channel_trade_no) ~= nil and p.order_id ~= order.channel_trade_no then
      return { verified = false, error = "payment of another Razorpay order in the list" }
    end
  end
  local c, e, f = from_payments(t.items, order)
  if c == nil then return { verified = false, error = e } end
  return { code = c, error = e, verified = true, fields = f }
end

function S.parse.capture(resp, order, ctx)
  local t, code, err, ef = open_answer(resp)
  if t == nil then return answer_error(code, err, ef) end
  if t.entity ~= "payment" or str(t.status) == nil then
    return { verified = false, error = "answer is not a payment entity" }
  end
  local fields = { channel_trade_no = str(t.id), amount = t.amount }
  local want = order and (order.capture_amount or order.amount)
  if t.status == "captured" and want ~= nil and t.amount ~= want then
    return { code = t.status, verified = true, fields = fields,
             error = "captured amount differs" }
  end
  return { code = t.status, verified = true, fields = fields }
end

local function refund_fields(r)
  return { channel_refund_no = str(r.id), refund_status = str(r.status),
           amount = math.type(r.amount) == "integer" and r.amount or nil,
           channel_trade_no = str(r.payment_id) }
end

local function same_refund(r, order)
  local rf = order and order.refund
  if type(rf) ~= "table" or type(rf.out_refund_no) ~= "string" then return true end
  local n = type(r.notes) == "table" and str(r.notes.out_refund_no) or nil
  if n ~= nil then return n == rf.out_refund_no end
  if str(r.receipt) ~= nil then return r.receipt == receipt_of(rf.out_refund_no) end
  return str(rf.channel_refund_no) ~= nil and rf.channel_refund_no == r.id
end

local function parse_refund_entity(r, order)
  if type(r) ~= "table" or r.entity ~= "refund" or str(r.status) == nil then
    return { verified = false, error = "answer is not a refund entity" }
  end
  local fields = refund_fields(r)
  if not same_refund(r, order) then
    return { code = r.status, verified = true, fields = fields,
             error = "refund in the answer is another out_refund_no" }
  end
  local rf = order and order.refund
  if type(rf) == "table" and math.type(rf.amount) == "integer" and r.amount ~= rf.amount then
    return { code = r.status, verified = true, fields = fields, error = "refund amount differs" }
  end
  return { code = r.status, verified = true, fields = fields }
end

function S.parse.refund(resp, order, ctx)
  local t, code, err, ef = open_answer(resp)
  if t == nil then return answer_error(code, err, ef) end
  return parse_refund_entity(t, order)
end

function S.parse.refund_query(resp, order, ctx)
  local t, code, err, ef = open_answer(resp)
  if t == nil then return answer_error(code, err, ef) end
  if t.entity == "collection" and type(t.items) == "table" then
    for _, r in ipairs(t.items) do
      if type(r) == "table" and r.entity == "refund" and same_refund(r, order)
         and (type(r.notes) == "table" and str(r.notes.out_refund_no) or str(r.receipt)) then
        return parse_refund_entity(r, order)
      end
    end
    return { code = "refund_not_found", verified = true }
  end
  return parse_refund_entity(t, order)
end

-- ---- webhook and Checkout callback ------------------------------------------

local function hmac_hex(key, data)
  return gw.crypto.hmac("sha256", key, data, "hex")
end

local function query_param(q, name)
  if type(q) ~= "string" or q == "" then return nil end
  local p = gw.form.decode(q)
  return p and str(p[name]) or nil
end

-- Checkout's callback_url POST (form): razorpay_payment_id, razorpay_order_id,
-- razorpay_signature = HMAC(key_secret, order_id|payment_id).  Proves the
-- buyer's payment was authorised in Checkout; the query settles the order.
local function checkout_callback(req, ctx, p)
  local oid, pid, sig = str(p.razorpay_order_id), str(p.razorpay_payment_id),
                        str(p.razorpay_signature)
  if oid == nil or pid == nil or sig == nil then
    return { verified = false, error = "checkout callback without payment/order/signature" }
  end
  local want = hmac_hex(gw.secret(ctx.config.key_secret), oid .. "|" .. pid)
  if not gw.crypto.equals(want, sig:lower()) then
    return { verified = false, error = "checkout callback signature invalid" }
  end
  local otn = query_param(req.query, "out_trade_no")
  return { verified = true, code = "checkout.callback", out_trade_no = otn,
           fields = { channel_trade_no = pid, payment_id = pid, order_id = oid,
                      kind = "checkout_callback" } }
end

local function entity(payload, name)
  local w = type(payload) == "table" and payload[name] or nil
  return type(w) == "table" and type(w.entity) == "table" and w.entity or nil
end

local function webhook(req, ctx)
  local h = req.headers or {}
  local sig = str(h["x-razorpay-signature"])
  if sig == nil then return { verified = false, error = "no X-Razorpay-Signature" } end
  local want = hmac_hex(gw.secret(ctx.config.webhook_secret), req.body or "")
  if not gw.crypto.equals(want, sig:lower()) then
    return { verified = false, error = "webhook signature invalid" }
  end
  local t = gw.json.decode(req.body or "")
  if type(t) ~= "table" or t.entity ~= "event" or str(t.event) == nil then
    return { verified = false, error = "webhook is not an event" }
  end
  local acc = str(ctx.config.account_id)
  if acc ~= nil and t.account_id ~= acc then
    return { verified = false, error = "webhook is for another account" }
  end
  local pay, ord, rfd = entity(t.payload, "payment"), entity(t.payload, "order"),
                        entity(t.payload, "refund")
  local otn = notes_otn(ord) or notes_otn(pay) or notes_otn(rfd)
              or (ord and str(ord.receipt)) or nil
  local fields = { event = t.event, event_id = str(h["x-razorpay-event-id"]) }
  if pay ~= nil then
    fields.channel_trade_no = str(pay.id)
    fields.payment_id = str(pay.id)
    fields.order_id = str(pay.order_id)
    fields.trade_status = str(pay.status)
    if math.type(pay.amount) == "integer" then fields.amount = pay.amount end
    fields.currency = str(pay.currency)
    fields.error_code = str(pay.error_code)
  end
  if ord ~= nil then
    fields.order_id = str(ord.id)
    if pay == nil and math.type(ord.amount_paid) == "integer" then fields.amount = ord.amount_paid end
  end
  if rfd ~= nil then
    fields.kind = "refund"
    fields.channel_refund_no = str(rfd.id)
    fields.refund_status = str(rfd.status)
    fields.out_refund_no = type(rfd.notes) == "table" and str(rfd.notes.out_refund_no) or nil
    if math.type(rfd.amount) == "integer" then fields.amount = rfd.amount end
  end
  return { verified = true, code = t.event, out_trade_no = otn, fields = fields }
end

function S.notify(req, ctx)
  local ct = (req.content_type or ""):lower()
  if ct:find("application/x-www-form-urlencoded", 1, true) then
    local p, ferr = gw.form.decode(req.body or "")
    if p == nil then return { verified = false, error = "callback is not a form: " .. tostring(ferr) } end
    return checkout_callback(req, ctx, p)
  end
  return webhook(req, ctx)
end

return S
