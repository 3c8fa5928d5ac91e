-- templates/razorpay.lua -- Razorpay Orders/Payments API v1: the manifest and
-- the request builders of the razorpay pack (parsers, webhook and checkout
-- callback verification: scripts/razorpay.lua).
--
-- Every request is JSON (or a GET) with HTTP Basic auth key_id:key_secret
-- (key_secret from gw.secret(ctx.config.key_secret)).  Amounts are integers in
-- the currency's smallest unit (paise), exactly the order's `amount`.
--   pay           POST /orders  (receipt + notes.out_trade_no); the answer's
--                 order id is the credential Razorpay Checkout opens
--   query         GET /orders/{order_id}/payments  (channel_trade_no order_…)
--                 GET /payments/{payment_id}        (channel_trade_no pay_…)
--                 GET /orders?receipt=…             (no id yet: the create timed out)
--   capture       POST /payments/{payment_id}/capture
--   refund        POST /payments/{payment_id}/refund (X-Refund-Idempotency)
--   refund_query  GET /refunds/{refund_id}, or GET /payments/{payment_id}/refunds
--                 when the refund id never came back
-- Razorpay's `receipt` holds at most 40 characters: a longer out_trade_no /
-- out_refund_no is sent as the first 40 hex digits of its SHA-256 (the same
-- derivation finds it again); the full value always travels in `notes`.
--
-- ctx.config keys: key_id (public, e.g. rzp_test_…), key_secret (secret name),
-- webhook_secret (secret name, used by the script), optional endpoint.

local M = {}

local MAX_AMOUNT = 50000000000          -- Razorpay's per-order cap is account-specific

M.manifest = {
  channel = "razorpay",
  methods = {
    -- the order is only a credential: the buyer pays in Razorpay Checkout
    ["razorpay.checkout"] = { kind = "prepay", currencies = { "INR", "USD", "EUR", "GBP", "SGD", "AED" },
                              min_amount = 100, max_amount = MAX_AMOUNT },
  },
  currencies = { "INR", "USD", "EUR", "GBP", "SGD", "AED" },
  min_amount = 100,                  -- Razorpay: minimum order amount 100 subunits (INR 1.00)
  max_amount = MAX_AMOUNT,
  endpoints = { production = "https://api.razorpay.com/v1" },
  timeouts = { connect_timeout_ms = 3000, timeout_ms = 20000 },
  first_query_delay_ms = 15000,
  query_backoff_ms = { 15000, 30000, 60000, 120000, 300000, 600000, 1800000 },
  max_concurrency = 50,
  qps = 25,
  mask = { "razorpay_signature", "x-razorpay-signature", "contact", "email", "vpa",
           "card_id", "bank_account" },
  notify_ack = {
    -- Razorpay wants a 2xx; anything else is retried (exponential backoff, 24 h)
    ok = { status = 200, content_type = "text/plain", body = "ok" },
    fail = { status = 400, content_type = "text/plain", body = "invalid" },
  },
  -- Razorpay does not sign API answers (TLS only); webhooks and the Checkout
  -- callback are HMAC-signed
  signed_responses = false,
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("razorpay: " .. what .. " is required", 0)
  end
  return v
end

-- receipt: <= 40 characters (Razorpay orders/refunds API)
local function receipt_of(id)
  if #id <= 40 then return id end
  return gw.crypto.sha256(id, "hex"):sub(1, 40)
end

local function base(ctx)
  return (need(ctx.endpoint, "endpoint"):gsub("/+$", ""))
end

local function auth(ctx)
  local id = need(ctx.config.key_id, "config key_id")
  local secret = gw.secret(need(ctx.config.key_secret, "config key_secret"))
  return "Basic " .. gw.crypto.base64_encode(id .. ":" .. secret)
end

local function get(ctx, path)
  return { method = "GET", url = base(ctx) .. path, content_type = "",
           headers = { Authorization = auth(ctx), Accept = "application/json" }, body = "" }
end

local function post(ctx, path, body, extra_headers)
  local h = { Authorization = auth(ctx), Accept = "application/json" }
  for k, v in pairs(extra_headers or {}) do h[k] = v end
  return { method = "POST", url = base(ctx) .. path, content_type = "application/json",
           headers = h, body = gw.json.encode(body) }
end

local function check_id(id, prefix)
  if type(id) == "string" and id:match("^" .. prefix .. "_[%w]+$") then return id end
  return nil
end

local function payment_id(order)
  local ex = type(order.extra) == "table" and order.extra or {}
  return check_id(order.channel_trade_no, "pay") or check_id(ex.payment_id, "pay")
end

local function amount_ok(v)
  if math.type(v) ~= "integer" or v < 1 or v > MAX_AMOUNT then
    error("razorpay: amount must be an integer in 1.." .. MAX_AMOUNT .. " subunits", 0)
  end
  return v
end

M.build = {}

-- pay = create an order; Checkout then collects the payment against its id
function M.build.pay(order, ctx)
  if order.method ~= nil and M.manifest.methods[order.method] == nil then
    error("razorpay: method " .. tostring(order.method) .. " is not offered", 0)
  end
  local otn = need(order.out_trade_no, "out_trade_no")
  if type(order.currency) ~= "string" or not order.currency:match("^%u%u%u$") then
    error("razorpay: currency must be an ISO 4217 code", 0)
  end
  local amount = amount_ok(order.amount)
  if amount < M.manifest.min_amount then
    error("razorpay: amount below Razorpay's minimum of 100 subunits", 0)
  end
  local notes = { out_trade_no = otn }
  if type(order.subject) == "string" and order.subject ~= "" then
    notes.subject = order.subject:sub(1, 256)
  end
  return post(ctx, "/orders", {
    amount = amount,
    currency = order.currency,
    receipt = receipt_of(otn),
    notes = notes,
  })
end

-- query = the order's payments (or one payment, or the order by receipt)
function M.build.query(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  local oid = check_id(order.channel_trade_no, "order")
  if oid ~= nil then return get(ctx, "/orders/" .. oid .. "/payments") end
  local pid = payment_id(order)
  if pid ~= nil then return get(ctx, "/payments/" .. pid) end
  return get(ctx, "/orders?receipt=" .. gw.form.urlencode(receipt_of(otn)))
end

-- capture = capture an authorized payment
function M.build.capture(order, ctx)
  local pid = payment_id(order)
  if pid == nil then
    error("razorpay: capture needs the payment id (channel_trade_no pay_…)", 0)
  end
  local amount = order.capture_amount
  if amount == nil then amount = order.amount end
  return post(ctx, "/payments/" .. pid .. "/capture",
              { amount = amount_ok(amount), currency = need(order.currency, "currency") })
end

local function refund_of(order)
  local rf = order.refund
  if type(rf) ~= "table" then error("razorpay: order.refund is required", 0) end
  return rf, need(rf.out_refund_no, "refund.out_refund_no")
end

-- refund = POST /payments/{id}/refund, one idempotency key per out_refund_no
function M.build.refund(order, ctx)
  local rf, orn = refund_of(order)
  local pid = payment_id(order)
  if pid == nil then
    error("razorpay: refund needs the payment id (channel_trade_no pay_…)", 0)
  end
  return post(ctx, "/payments/" .. pid .. "/refund", {
    amount = amount_ok(rf.amount),
    speed = "normal",
    receipt = receipt_of(orn),
    notes = { out_trade_no = need(order.out_trade_no, "out_trade_no"), out_refund_no = orn },
  }, { ["X-Refund-Idempotency"] = orn })
end

function M.build.refund_query(order, ctx)
  local rf = refund_of(order)
  local rid = check_id(rf.channel_refund_no, "rfnd")
  if rid ~= nil then return get(ctx, "/refunds/" .. rid) end
  local pid = payment_id(order)
  if pid == nil then
    error("razorpay: refund_query needs the refund id or the payment id", 0)
  end
  return get(ctx, "/payments/" .. pid .. "/refunds")
end

return M
