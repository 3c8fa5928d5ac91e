-- templates/checkout.lua -- Checkout.com unified Payments API (JSON, Bearer
-- secret key, Cko-Idempotency-Key): the manifest and the request builders of
-- the checkout pack (parsers and webhook verification: scripts/checkout.lua).
--
-- Requests (https://api-reference.checkout.com/#tag/Payments):
--   pay           POST /payments                      request a payment (capture: true)
--   query         GET  /payments/{id}                 get payment details, or when the id is
--                 unknown (a request whose answer was lost) GET /payments?reference=…
--   cancel        POST /payments/{id}/voids           void an authorization (async, 202)
--   refund        POST /payments/{id}/refunds         refund (async, 202 + action_id)
--   refund_query  GET  /payments/{id}/actions         the Refund action (approved, response_code)
-- Every POST carries a Cko-Idempotency-Key derived only from our order /
-- refund number, so a resend returns the first payment or action instead of a
-- second one.  Amounts are integers in the currency's minor unit.
-- reference = out_trade_no on the payment, out_refund_no on a refund.
--
-- ctx.config keys: secret_key (secret name: keystore <name>.secret = sk_…),
-- optional processing_channel_id (pc_…, required on NAS accounts),
-- webhook_secret (secret name, used by the script), endpoint.

local M = {}

local CURRENCIES = {
  "USD", "EUR", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "AED", "SAR",
  "KWD", "BHD", "QAR", "OMR", "JOD", "EGP", "HKD", "SGD", "AUD", "NZD", "CAD", "JPY",
}

M.manifest = {
  channel = "checkout",
  methods = {
    -- source from extra.payment_method: a card token (tok_…) or a stored source (src_…)
    ["checkout.card"] = { kind = "direct", currencies = CURRENCIES, min_amount = 1,
                          max_amount = 9999999999 },
  },
  currencies = CURRENCIES,
  min_amount = 1,
  max_amount = 9999999999,
  endpoints = {
    production = "https://api.checkout.com",
    sandbox = "https://api.sandbox.checkout.com",
  },
  timeouts = { connect_timeout_ms = 5000, timeout_ms = 30000 },
  first_query_delay_ms = 3000,
  query_backoff_ms = { 3000, 10000, 30000, 60000, 300000, 900000 },
  max_concurrency = 50,
  qps = 50,
  mask = { "token", "cvv", "number" },
  notify_ack = {
    ok = { status = 200, content_type = "text/plain", body = "ok" },
    fail = { status = 401, content_type = "text/plain", body = "webhook refused" },
  },
  -- Checkout.com does not sign API answers (TLS only): the parsers check the
  -- reference and amount of every answer instead.
  signed_responses = false,
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("checkout: " .. what .. " is required", 0)
  end
  return v
end

local function opt(v)
  return type(v) == "string" and v ~= "" and v or nil
end

local function base(ctx)
  return (need(ctx.endpoint, "endpoint"):gsub("/+$", ""))
end

local function path_id(v, what)
  need(v, what)
  if not v:match("^[A-Za-z0-9_]+$") then
    error("checkout: " .. what .. " has unexpected characters", 0)
  end
  return v
end

local function headers(ctx, idem)
  local h = { Authorization = "Bearer " .. gw.secret(need(ctx.config.secret_key, "config secret_key")) }
  if idem ~= nil then h["Cko-Idempotency-Key"] = idem end
  return h
end

local function post(ctx, path, body, idem)
  return {
    method = "POST",
    url = base(ctx) .. path,
    content_type = "application/json",
    headers = headers(ctx, idem),
    body = gw.json.encode(body),
  }
end

local function get(ctx, path)
  return { method = "GET", url = base(ctx) .. path, content_type = "", headers = headers(ctx),
           body = "" }
end

local function amount_of(v)
  if math.type(v) ~= "integer" or v < 1 or v > M.manifest.max_amount then
    error("checkout: amount must be a positive integer in minor units", 0)
  end
  return v
end

local function source_of(order)
  local x = type(order.extra) == "table" and order.extra or {}
  local pm = x.payment_method
  if type(pm) == "table" and type(pm.type) == "string" then return pm end
  pm = need(opt(pm), "extra.payment_method (tok_… or src_…)")
  if pm:match("^tok_") then return { type = "token", token = pm } end
  if pm:match("^src_") then return { type = "id", id = pm } end
  error("checkout: extra.payment_method must be tok_… or src_…", 0)
end

M.build = {}

function M.build.pay(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  if order.method ~= nil and M.manifest.methods[order.method] == nil then
    error("checkout: method " .. tostring(order.method) .. " is not offered", 0)
  end
  if type(order.currency) ~= "string" or not order.currency:match("^%u%u%u$") then
    error("checkout: currency must be ISO 4217 upper case", 0)
  end
  local body = {
    source = source_of(order),
    amount = amount_of(order.amount),
    currency = order.currency,
    reference = otn,
    capture = true,
    description = (opt(order.subject) or otn):sub(1, 100),
    metadata = { out_trade_no = otn },
  }
  if opt(ctx.config.processing_channel_id) ~= nil then
    body.processing_channel_id = ctx.config.processing_channel_id
  end
  local x = type(order.extra) == "table" and order.extra or {}
  if opt(x.return_url) ~= nil then
    body.success_url = x.return_url
    body.failure_url = x.return_url
  end
  if opt(x.customer_id) ~= nil then body.customer = { id = x.customer_id } end
  return post(ctx, "/payments", body, "paygw-pay-" .. otn)
end

function M.build.query(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  if opt(order.channel_trade_no) ~= nil then
    return get(ctx, "/payments/" .. path_id(order.channel_trade_no, "channel_trade_no"))
  end
  return get(ctx, "/payments?reference=" .. gw.form.urlencode(otn) .. "&limit=10")
end

function M.build.cancel(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  return post(ctx, "/payments/" .. path_id(order.channel_trade_no, "channel_trade_no (query first)")
              .. "/voids", { reference = otn }, "paygw-void-" .. otn)
end

local function refund_of(order)
  if type(order.refund) ~= "table" then error("checkout: order.refund is required", 0) end
  return order.refund
end

function M.build.refund(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  local r = refund_of(order)
  local orn = need(r.out_refund_no, "refund.out_refund_no")
  return post(ctx, "/payments/" .. path_id(order.channel_trade_no, "channel_trade_no") .. "/refunds",
              { amount = amount_of(r.amount), reference = orn,
                metadata = { out_trade_no = otn, out_refund_no = orn } },
              "paygw-refund-" .. orn)
end

function M.build.refund_query(order, ctx)
  need(refund_of(order).out_refund_no, "refund.out_refund_no")
  return get(ctx, "/payments/" .. path_id(order.channel_trade_no, "channel_trade_no") .. "/actions")
end

return M
