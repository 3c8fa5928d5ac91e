-- templates/mollie.lua -- Mollie Payments API v2: the manifest and the
-- request builders of the mollie pack (parsers and the webhook hint:
-- scripts/mollie.lua).
--
-- Every call is JSON over HTTPS with `Authorization: Bearer <API key>` (the
-- key is the keystore secret named by ctx.config.api_key; test_… or live_…).
-- POST and DELETE carry an `Idempotency-Key` that is a pure function of the
-- merchant's number (pay-<out_trade_no>, cancel-<out_trade_no>,
-- refund-<out_refund_no>), so a resend after a timeout gets the first
-- answer back instead of a second payment.
--
-- Mollie's classic webhook is unsigned and carries only `id=tr_…`; to know
-- which order it is about without trusting it, the webhookUrl we register is
-- order.notify_url .. "?ref=" .. out_trade_no (the script turns the call into
-- a "hint" that only brings that order's query forward).
--
-- ctx.config keys: api_key (secret name), redirect_url (where Mollie sends
-- the buyer back; order.extra.return_url wins), optional locale, endpoint.

local M = {}

local EXPONENT = { EUR = 2, GBP = 2, USD = 2, CHF = 2, SEK = 2, NOK = 2, DKK = 2, PLN = 2,
                   CZK = 2, HUF = 2, AUD = 2, CAD = 2 }

-- order.method -> Mollie `method` (nil = the buyer picks in hosted checkout)
local METHODS = {
  ["mollie.checkout"] = false,
  ["mollie.ideal"] = "ideal",
  ["mollie.creditcard"] = "creditcard",
  ["mollie.bancontact"] = "bancontact",
}

local function method_entry(currencies)
  return { kind = "prepay", currencies = currencies, min_amount = 1, max_amount = 1000000000 }
end

M.manifest = {
  channel = "mollie",
  methods = {
    ["mollie.checkout"] = method_entry({ "EUR", "GBP", "USD", "CHF", "SEK", "NOK", "DKK",
                                         "PLN", "CZK", "HUF", "AUD", "CAD" }),
    ["mollie.ideal"] = method_entry({ "EUR" }),
    ["mollie.creditcard"] = method_entry({ "EUR", "GBP", "USD", "CHF", "SEK", "NOK", "DKK",
                                           "PLN", "CZK", "HUF", "AUD", "CAD" }),
    ["mollie.bancontact"] = method_entry({ "EUR" }),
  },
  currencies = { "EUR", "GBP", "USD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF",
                 "AUD", "CAD" },
  min_amount = 1,
  max_amount = 1000000000,
  endpoints = { production = "https://api.mollie.com/v2" },
  timeouts = { connect_timeout_ms = 3000, timeout_ms = 15000 },
  first_query_delay_ms = 10000,
  query_backoff_ms = { 10000, 20000, 30000, 60000, 120000, 300000, 600000, 1800000 },
  max_concurrency = 100,
  qps = 25,
  mask = { "authorization" },
  -- a hint is acked 200; Mollie retries a non-2xx webhook (schedule not confirmed here)
  notify_ack = {
    ok = { status = 200, content_type = "text/plain", body = "" },
    fail = { status = 400, content_type = "text/plain", body = "" },
  },
  exponents = EXPONENT,
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("mollie: " .. what .. " is required", 0)
  end
  return v
end

local function opt(v)
  return (type(v) == "string" and v ~= "") and v or nil
end

-- Mollie ids (tr_…, re_…) are [A-Za-z0-9_]; refuse anything that would bend the path
local function path_id(v, prefix, what)
  need(v, what)
  if not v:match("^" .. prefix .. "_[%w]+$") or #v > 64 then
    error("mollie: " .. what .. " is not a Mollie " .. prefix .. "_ id", 0)
  end
  return v
end

local function money(minor, currency)
  local exp = EXPONENT[currency or ""]
  if exp == nil then
    error("mollie: currency " .. tostring(currency) .. " is not supported", 0)
  end
  if math.type(minor) ~= "integer" or minor < 1 or minor > M.manifest.max_amount then
    error("mollie: amount must be an integer in 1..1000000000 minor units", 0)
  end
  return { currency = currency, value = gw.amount.to_decimal(minor, exp) }
end

local function base(ctx)
  return (need(ctx.endpoint, "endpoint"):gsub("/+$", ""))
end

local function call(method, url, ctx, body, idem)
  local headers = {
    ["Authorization"] = "Bearer " .. gw.secret(need(ctx.config.api_key, "config api_key")),
    ["Accept"] = "application/hal+json",
  }
  if idem ~= nil then headers["Idempotency-Key"] = idem end
  return {
    method = method,
    url = url,
    content_type = (method == "POST") and "application/json" or "",
    headers = headers,
    body = body or "",
  }
end

-- the gateway's notify URL plus ?ref=<out_trade_no> (&ref= when it has a query)
local function webhook_url(notify_url, otn)
  local sep = notify_url:find("?", 1, true) and "&" or "?"
  return notify_url .. sep .. "ref=" .. gw.form.urlencode(otn)
end

M.build = {}

-- pay = POST /v2/payments -> _links.checkout.href
function M.build.pay(order, ctx)
  local m = order.method or "mollie.checkout"
  if METHODS[m] == nil then
    error("mollie: method " .. tostring(m) .. " is not offered", 0)
  end
  local otn = need(order.out_trade_no, "out_trade_no")
  local extra = type(order.extra) == "table" and order.extra or {}
  local body = {
    amount = money(order.amount, order.currency),
    description = (opt(order.subject) or otn):sub(1, 255),
    redirectUrl = need(opt(extra.return_url) or ctx.config.redirect_url, "config redirect_url"),
    webhookUrl = webhook_url(need(order.notify_url, "notify_url"), otn),
    metadata = { out_trade_no = otn },
  }
  if METHODS[m] then body.method = METHODS[m] end
  if opt(ctx.config.locale) ~= nil then body.locale = ctx.config.locale end
  return call("POST", base(ctx) .. "/payments", ctx,
              gw.json.encode(body), "pay-" .. otn)
end

-- query = GET /v2/payments/{id}
function M.build.query(order, ctx)
  local id = path_id(order.channel_trade_no, "tr", "channel_trade_no")
  return call("GET", base(ctx) .. "/payments/" .. id, ctx)
end

-- close = DELETE /v2/payments/{id} (only while the payment isCancelable)
function M.build.close(order, ctx)
  local id = path_id(order.channel_trade_no, "tr", "channel_trade_no")
  return call("DELETE", base(ctx) .. "/payments/" .. id, ctx, "",
              "cancel-" .. need(order.out_trade_no, "out_trade_no"))
end

-- refund = POST /v2/payments/{id}/refunds
function M.build.refund(order, ctx)
  local id = path_id(order.channel_trade_no, "tr", "channel_trade_no")
  local r = type(order.refund) == "table" and order.refund or {}
  local orn = need(r.out_refund_no, "refund.out_refund_no")
  local body = {
    amount = money(r.amount, order.currency),
    description = (opt(r.reason) or orn):sub(1, 140),
    metadata = { out_refund_no = orn, out_trade_no = order.out_trade_no },
  }
  return call("POST", base(ctx) .. "/payments/" .. id .. "/refunds", ctx,
              gw.json.encode(body), "refund-" .. orn)
end

-- refund_query = GET /v2/payments/{id}/refunds/{refundId}
function M.build.refund_query(order, ctx)
  local id = path_id(order.channel_trade_no, "tr", "channel_trade_no")
  local r = type(order.refund) == "table" and order.refund or {}
  local rid = path_id(r.channel_refund_no, "re", "refund.channel_refund_no")
  return call("GET", base(ctx) .. "/payments/" .. id .. "/refunds/" .. rid, ctx)
end

return M
