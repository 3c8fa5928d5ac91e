-- templates/paypal.lua -- PayPal REST (Orders v2, Payments v2, OAuth2): the
-- manifest and the request builders of the paypal pack (parsers and the
-- webhook verifier: scripts/paypal.lua).
--
-- Every business call is JSON with `Authorization: Bearer <ctx.token>`; the
-- token comes from the `token` op (POST /v1/oauth2/token, HTTP Basic
-- client_id:secret, grant_type=client_credentials), which the host calls
-- and caches (manifest.auth).  State-changing calls carry a
-- `PayPal-Request-Id` that is a pure function of the merchant's number
-- (pay-/capture-<out_trade_no>, refund-<out_refund_no>), so a resend after a
-- timeout is answered with the first call's result instead of a second order.
--
-- Flow: pay = create order (intent CAPTURE) -> the buyer approves at the
-- approve / payer-action link -> capture -> query (GET order) settles it.
-- Refunds act on the capture id (not the order id): the host must pass it as
-- order.capture_id, order.channel_data.capture_id (kept by the host from the
-- capture / query answer), order.extra.capture_id or order.refund.capture_id.
--
-- ctx.config keys: client_id, client_secret (name of the keystore secret
-- <name>.secret holding the client secret), webhook_id, webhook_cert (key
-- name of PayPal's webhook signing certificate), webhook_cert_url (the
-- PAYPAL-CERT-URL that certificate was downloaded from), return_url,
-- cancel_url, optional brand_name, endpoint.

local M = {}

local ZERO_DECIMAL = { HUF = true, JPY = true, TWD = true }   -- PayPal currency codes page

M.manifest = {
  channel = "paypal",
  methods = {
    ["paypal.checkout"] = { kind = "prepay",
                            currencies = { "USD", "EUR", "GBP", "AUD", "CAD", "CHF", "CZK",
                                           "DKK", "HKD", "NOK", "NZD", "PLN", "SEK", "SGD",
                                           "JPY" },
                            min_amount = 1, max_amount = 1000000000 },
  },
  currencies = { "USD", "EUR", "GBP", "AUD", "CAD", "CHF", "CZK", "DKK", "HKD", "NOK",
                 "NZD", "PLN", "SEK", "SGD", "JPY" },
  min_amount = 1,
  -- amount.value allows 10 integer digits; keep the cap well inside it
  max_amount = 1000000000,
  endpoints = {
    production = "https://api-m.paypal.com",
    sandbox = "https://api-m.sandbox.paypal.com",
  },
  timeouts = { connect_timeout_ms = 3000, timeout_ms = 20000 },
  -- the buyer approves in a browser: first look after 10 s, then back off
  first_query_delay_ms = 10000,
  query_backoff_ms = { 10000, 20000, 30000, 60000, 120000, 300000, 600000, 1800000 },
  max_concurrency = 100,
  qps = 50,
  mask = { "access_token", "paypal-transmission-sig", "client_secret" },
  auth = { op = "token" },
  -- PayPal resends a webhook until it gets a 2xx (up to 25 times over 3 days)
  notify_ack = {
    ok = { status = 200, content_type = "text/plain", body = "OK" },
    fail = { status = 400, content_type = "text/plain", body = "FAIL" },
  },
  zero_decimal = ZERO_DECIMAL,
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("paypal: " .. what .. " is required", 0)
  end
  return v
end

local function opt(v)
  return (type(v) == "string" and v ~= "") and v or nil
end

-- PayPal ids are [A-Z0-9-]; refuse anything that would change the URL path
local function path_id(v, what)
  need(v, what)
  if not v:match("^[%w%-]+$") or #v > 64 then
    error("paypal: " .. what .. " is not a PayPal id", 0)
  end
  return v
end

local function exponent(currency)
  return ZERO_DECIMAL[currency] and 0 or 2
end

local function money(minor, currency)
  if math.type(minor) ~= "integer" or minor < 1 then
    error("paypal: amount must be a positive integer in minor units", 0)
  end
  need(currency, "currency")
  return { currency_code = currency, value = gw.amount.to_decimal(minor, exponent(currency)) }
end

local function base(ctx)
  return (need(ctx.endpoint, "endpoint"):gsub("/+$", ""))
end

local function bearer(ctx)
  return "Bearer " .. need(ctx.token, "an OAuth2 access token (ctx.token)")
end

local function json_call(method, url, ctx, body, request_id)
  local headers = {
    ["Authorization"] = bearer(ctx),
    ["Accept"] = "application/json",
  }
  if request_id ~= nil then
    headers["PayPal-Request-Id"] = request_id
    headers["Prefer"] = "return=representation"
  end
  return {
    method = method,
    url = url,
    content_type = method == "GET" and "" or "application/json",
    headers = headers,
    body = body or "",
  }
end

local function capture_id(order)
  local id = opt(order.capture_id)
  -- kept by the host from the capture / query answer (fields.keep)
  if id == nil and type(order.channel_data) == "table" then id = opt(order.channel_data.capture_id) end
  if id == nil and type(order.extra) == "table" then id = opt(order.extra.capture_id) end
  if id == nil and type(order.refund) == "table" then id = opt(order.refund.capture_id) end
  return path_id(id, "the capture id (order.capture_id)")
end

M.build = {}

-- token = POST /v1/oauth2/token (client credentials)
function M.build.token(order, ctx)
  local cfg = ctx.config
  local secret = gw.secret(need(cfg.client_secret, "config client_secret"))
  local basic = gw.crypto.base64_encode(need(cfg.client_id, "config client_id") .. ":" .. secret)
  return {
    method = "POST",
    url = base(ctx) .. "/v1/oauth2/token",
    content_type = "application/x-www-form-urlencoded",
    headers = { ["Authorization"] = "Basic " .. basic, ["Accept"] = "application/json" },
    body = "grant_type=client_credentials",
  }
end

-- pay = POST /v2/checkout/orders (intent CAPTURE); the credential is the
-- payer-action (approve) link
function M.build.pay(order, ctx)
  if order.method ~= nil and order.method ~= "paypal.checkout" then
    error("paypal: method " .. tostring(order.method) .. " is not offered", 0)
  end
  local otn = need(order.out_trade_no, "out_trade_no")
  local amount = order.amount
  if math.type(amount) ~= "integer" or amount < M.manifest.min_amount
     or amount > M.manifest.max_amount then
    error("paypal: amount must be an integer in 1..1000000000 minor units", 0)
  end
  local cfg = ctx.config
  local subject = opt(order.subject) or otn
  local extra = type(order.extra) == "table" and order.extra or {}
  local experience = {
    return_url = need(opt(extra.return_url) or cfg.return_url, "config return_url"),
    cancel_url = need(opt(cfg.cancel_url) or opt(extra.return_url) or cfg.return_url,
                      "config cancel_url"),
    user_action = "PAY_NOW",
    shipping_preference = "NO_SHIPPING",
  }
  if opt(cfg.brand_name) ~= nil then experience.brand_name = cfg.brand_name end
  local body = {
    intent = "CAPTURE",
    purchase_units = setmetatable({ {
      reference_id = otn,
      custom_id = otn,
      description = subject:sub(1, 127),
      amount = money(amount, order.currency),
    } }, gw.json.array_mt),
    payment_source = { paypal = { experience_context = experience } },
  }
  return json_call("POST", base(ctx) .. "/v2/checkout/orders", ctx,
                   gw.json.encode(body),
                   "pay-" .. otn)
end

-- capture = POST /v2/checkout/orders/{id}/capture (the whole order amount)
function M.build.capture(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  if order.capture_amount ~= nil and order.capture_amount ~= order.amount then
    error("paypal: an intent CAPTURE order is captured whole, not in part", 0)
  end
  local id = path_id(order.channel_trade_no, "channel_trade_no (the PayPal order id)")
  return json_call("POST", base(ctx) .. "/v2/checkout/orders/" .. id .. "/capture", ctx,
                   "{}", "capture-" .. otn)
end

-- query = GET /v2/checkout/orders/{id}
function M.build.query(order, ctx)
  local id = path_id(order.channel_trade_no, "channel_trade_no (the PayPal order id)")
  return json_call("GET", base(ctx) .. "/v2/checkout/orders/" .. id, ctx)
end

-- refund = POST /v2/payments/captures/{capture_id}/refund
function M.build.refund(order, ctx)
  local r = type(order.refund) == "table" and order.refund or {}
  local orn = need(r.out_refund_no, "refund.out_refund_no")
  local body = {
    amount = money(r.amount, order.currency),
    invoice_id = orn,
    custom_id = need(order.out_trade_no, "out_trade_no"),
  }
  if opt(r.reason) ~= nil then body.note_to_payer = r.reason:sub(1, 255) end
  return json_call("POST", base(ctx) .. "/v2/payments/captures/" .. capture_id(order)
                   .. "/refund", ctx, gw.json.encode(body), "refund-" .. orn)
end

-- refund_query = GET /v2/payments/refunds/{refund_id}
function M.build.refund_query(order, ctx)
  local r = type(order.refund) == "table" and order.refund or {}
  local id = path_id(r.channel_refund_no, "refund.channel_refund_no (the PayPal refund id)")
  return json_call("GET", base(ctx) .. "/v2/payments/refunds/" .. id, ctx)
end

return M
