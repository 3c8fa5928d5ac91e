-- templates/stripe.lua -- Stripe PaymentIntents + Refunds (REST, form bodies,
-- Bearer secret key): the manifest and the request builders of the stripe
-- pack (parsers and webhook verification: scripts/stripe.lua).
--
-- Requests (https://docs.stripe.com/api):
--   pay           POST /v1/payment_intents              (create; confirm=true for stripe.card)
--                 POST /v1/payment_intents/{id}/confirm (stripe.card with a known PI id)
--   query         GET  /v1/payment_intents/{id}, or when the id is unknown (a create
--                 whose answer was lost) GET /v1/payment_intents/search?query=metadata[...]
--   close         POST /v1/payment_intents/{id}/cancel
--   refund        POST /v1/refunds
--   refund_query  GET  /v1/refunds/{id}, or GET /v1/refunds?payment_intent=… (id unknown)
-- Bodies are application/x-www-form-urlencoded with Stripe's bracket nesting
-- (metadata[out_trade_no]=…); every POST carries an Idempotency-Key derived only
-- from our own order / refund number, so a resend can never create a second
-- PaymentIntent or refund (https://docs.stripe.com/api/idempotent_requests).
-- Amounts are integers in the currency's smallest unit, as Stripe wants them
-- (https://docs.stripe.com/currencies#zero-decimal), except ISK and UGX which
-- Stripe still takes "two-decimal" (x100).
--
-- ctx.config keys: api_key (secret name: keystore <name>.secret = sk_…),
-- webhook_secret (secret name: whsec_…, used by the script), optional
-- api_version (Stripe-Version header), endpoint (base URL, default api.stripe.com).

local M = {}

local DEFAULT_API_VERSION = "2026-10-28.endive"   -- the version stripe@23.1.0 pins
local X100 = { ISK = true, UGX = true }           -- zero-decimal, sent x100

-- a common subset of https://docs.stripe.com/currencies (presentment currencies)
local CURRENCIES = {
  "USD", "EUR", "GBP", "JPY", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN",
  "CZK", "HUF", "RON", "BGN", "SGD", "HKD", "MXN", "BRL", "INR", "KRW", "THB", "MYR",
  "ILS", "AED", "ZAR", "TWD", "ISK", "UGX",
}

M.manifest = {
  channel = "stripe",
  methods = {
    -- server-side confirm with a PaymentMethod (order.extra.payment_method = "pm_…")
    ["stripe.card"] = { kind = "direct", currencies = CURRENCIES,
                        min_amount = 1, max_amount = 99999999 },
    -- the client confirms with the client_secret (Stripe.js / mobile SDK)
    ["stripe.payment_intent"] = { kind = "prepay", currencies = CURRENCIES,
                                  min_amount = 1, max_amount = 99999999 },
  },
  currencies = CURRENCIES,
  min_amount = 1,
  max_amount = 99999999,           -- Stripe: amount at most eight digits
  endpoints = {
    production = "https://api.stripe.com",
  },
  timeouts = { connect_timeout_ms = 5000, timeout_ms = 30000 },
  first_query_delay_ms = 3000,
  query_backoff_ms = { 3000, 10000, 30000, 60000, 300000, 900000 },
  max_concurrency = 100,
  qps = 100,                       -- live-mode default rate limit, 100 read + 100 write ops/s
  mask = { "client_secret", "payment_method", "api_key", "idempotency-key" },
  notify_ack = {
    ok = { status = 200, content_type = "application/json", body = "{\"received\":true}" },
    fail = { status = 400, content_type = "text/plain", body = "webhook refused" },
  },
  -- Stripe does not sign API answers (TLS only): the parsers check that every
  -- answer names our order (metadata.out_trade_no) and amount instead.
  signed_responses = false,
  webhook_tolerance_s = 300,
  x100_currencies = X100,
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("stripe: " .. what .. " is required", 0)
  end
  return v
end

local function opt(v)
  return type(v) == "string" and v ~= "" and v or nil
end

local function base(ctx)
  local e = need(ctx.endpoint, "endpoint")
  return (e:gsub("/+$", ""))
end

-- an id Stripe gave us goes into a path: only [A-Za-z0-9_] survives
local function path_id(v, what)
  need(v, what)
  if not v:match("^[A-Za-z0-9_]+$") then
    error("stripe: " .. what .. " has unexpected characters", 0)
  end
  return v
end

local function headers(ctx, idem)
  local h = {
    Authorization = "Bearer " .. gw.secret(need(ctx.config.api_key, "config api_key")),
    ["Stripe-Version"] = opt(ctx.config.api_version) or DEFAULT_API_VERSION,
  }
  if idem ~= nil then h["Idempotency-Key"] = idem end
  return h
end

local function post(ctx, path, params, idem)
  return {
    method = "POST",
    url = base(ctx) .. path,
    content_type = "application/x-www-form-urlencoded",
    headers = headers(ctx, idem),
    body = gw.form.encode(params),
  }
end

local function get(ctx, path)
  return { method = "GET", url = base(ctx) .. path, content_type = "", headers = headers(ctx),
           body = "" }
end

-- integer minor units of `currency` -> the integer Stripe wants
local function stripe_amount(amount, currency)
  if math.type(amount) ~= "integer" or amount < 1 or amount > M.manifest.max_amount then
    error("stripe: amount must be an integer in 1..99999999 minor units", 0)
  end
  if X100[currency] then return amount * 100 end
  return amount
end

local function currency_of(order)
  local c = need(order.currency, "currency")
  if not c:match("^%u%u%u$") then error("stripe: currency must be ISO 4217 upper case", 0) end
  return c
end

local function extra(order)
  return type(order.extra) == "table" and order.extra or {}
end

M.build = {}

function M.build.pay(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  local method = order.method or "stripe.card"
  if M.manifest.methods[method] == nil then
    error("stripe: method " .. tostring(method) .. " is not offered", 0)
  end
  local cur = currency_of(order)
  local amount = stripe_amount(order.amount, cur)
  local x = extra(order)
  local pm = opt(x.payment_method)
  if method == "stripe.card" then
    if pm == nil or not pm:match("^[A-Za-z0-9_]+$") then
      error("stripe: stripe.card needs extra.payment_method (pm_…)", 0)
    end
    if opt(order.channel_trade_no) ~= nil then
      -- the PaymentIntent exists already: confirm it (idempotent per order + method)
      return post(ctx, "/v1/payment_intents/" .. path_id(order.channel_trade_no, "channel_trade_no")
                  .. "/confirm", { payment_method = pm },
                  "paygw-confirm-" .. otn .. "-" .. pm)
    end
  end
  local p = {
    amount = tostring(amount),
    currency = cur:lower(),
    description = opt(order.subject) or otn,
    ["metadata[out_trade_no]"] = otn,
  }
  if method == "stripe.card" then
    p.payment_method = pm
    p.confirm = "true"
    p["payment_method_types[0]"] = "card"
  else
    p["automatic_payment_methods[enabled]"] = "true"
    if pm ~= nil then p.payment_method = pm end
  end
  if opt(x.return_url) ~= nil and method == "stripe.card" then p.return_url = x.return_url end
  if opt(x.customer_id) ~= nil then p.customer = x.customer_id end
  return post(ctx, "/v1/payment_intents", p, "paygw-pi-" .. otn)
end

function M.build.query(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  if opt(order.channel_trade_no) ~= nil then
    return get(ctx, "/v1/payment_intents/" .. path_id(order.channel_trade_no, "channel_trade_no"))
  end
  -- out_trade_no is [A-Za-z0-9_-]: safe inside the search query's quotes
  return get(ctx, "/v1/payment_intents/search?query="
             .. gw.form.urlencode("metadata['out_trade_no']:'" .. otn .. "'") .. "&limit=10")
end

function M.build.close(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  local id = path_id(order.channel_trade_no, "channel_trade_no (query first)")
  return post(ctx, "/v1/payment_intents/" .. id .. "/cancel",
              { cancellation_reason = "abandoned" }, "paygw-cancel-" .. otn)
end

local REFUND_REASONS = { duplicate = true, fraudulent = true, requested_by_customer = true }

local function refund_of(order)
  if type(order.refund) ~= "table" then error("stripe: order.refund is required", 0) end
  return order.refund
end

function M.build.refund(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  local r = refund_of(order)
  local orn = need(r.out_refund_no, "refund.out_refund_no")
  local p = {
    payment_intent = path_id(order.channel_trade_no, "channel_trade_no"),
    amount = tostring(stripe_amount(r.amount, currency_of(order))),
    ["metadata[out_trade_no]"] = otn,
    ["metadata[out_refund_no]"] = orn,
  }
  if REFUND_REASONS[r.reason] then p.reason = r.reason end
  return post(ctx, "/v1/refunds", p, "paygw-refund-" .. orn)
end

function M.build.refund_query(order, ctx)
  local r = refund_of(order)
  need(r.out_refund_no, "refund.out_refund_no")
  if opt(r.channel_refund_no) ~= nil then
    return get(ctx, "/v1/refunds/" .. path_id(r.channel_refund_no, "refund.channel_refund_no"))
  end
  return get(ctx, "/v1/refunds?payment_intent="
             .. path_id(order.channel_trade_no, "channel_trade_no") .. "&limit=100")
end

return M
