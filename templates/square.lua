-- templates/square.lua -- Square Payments + Refunds API (JSON, Bearer access
-- token, Square-Version header): the manifest and the request builders of the
-- square pack (parsers and webhook verification: scripts/square.lua).
--
-- Requests (https://developer.squareup.com/reference/square/payments-api):
--   pay           POST /v2/payments                  CreatePayment
--   query         GET  /v2/payments/{payment_id}     GetPayment, or when the id is
--                 unknown (a create whose answer was lost) GET /v2/payments?begin_time=…
--                 (ListPayments around created_at; the script looks for reference_id)
--   cancel        POST /v2/payments/{payment_id}/cancel   CancelPayment (voids an
--                 APPROVED payment), or POST /v2/payments/cancel with the create's
--                 idempotency_key (CancelPaymentByIdempotencyKey) when the id is unknown
--   refund        POST /v2/refunds                   RefundPayment
--   refund_query  GET  /v2/refunds/{refund_id}       GetPaymentRefund
-- Every POST carries `idempotency_key` in the body, derived only from our order /
-- refund number ("pgw-" + 40 hex of SHA-256, Square allows 45 characters), so a
-- resend returns the first result instead of charging twice.  Amounts are
-- integers in the smallest unit (Money.amount).  reference_id = out_trade_no
-- (Square allows 40 characters).
--
-- ctx.config keys: access_token (secret name: keystore <name>.secret),
-- location_id, webhook_signature_key (secret name, used by the script),
-- notification_url (the exact URL of the webhook subscription: it is part of
-- the signed data), optional square_version, optional autocomplete ("false"
-- = delayed capture, APPROVED until completed), endpoint.

local M = {}

local DEFAULT_VERSION = "2026-09-16"   -- the Square-Version square@46.0.0 sends
local CURRENCIES = { "USD", "CAD", "GBP", "EUR", "JPY", "AUD" }

M.manifest = {
  channel = "square",
  methods = {
    -- source_id = a card nonce (cnon:…) or card on file (ccof:…) in extra.payment_method
    ["square.card"] = { kind = "direct", currencies = CURRENCIES, min_amount = 1,
                        max_amount = 99999999 },
  },
  currencies = CURRENCIES,
  min_amount = 1,
  max_amount = 99999999,
  endpoints = {
    production = "https://connect.squareup.com",
    sandbox = "https://connect.squareupsandbox.com",
  },
  timeouts = { connect_timeout_ms = 5000, timeout_ms = 30000 },
  first_query_delay_ms = 3000,
  query_backoff_ms = { 3000, 10000, 30000, 60000, 300000, 900000 },
  max_concurrency = 50,
  qps = 20,
  mask = { "source_id", "verification_token", "card_details" },
  notify_ack = {
    ok = { status = 200, content_type = "text/plain", body = "ok" },
    fail = { status = 400, content_type = "text/plain", body = "webhook refused" },
  },
  -- Square does not sign API answers (TLS only): the parsers check the
  -- reference_id / payment_id and amount of every answer instead.
  signed_responses = false,
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("square: " .. what .. " is required", 0)
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
  if not v:match("^[A-Za-z0-9_-]+$") then
    error("square: " .. what .. " has unexpected characters", 0)
  end
  return v
end

-- the idempotency key of one state-changing call: stable, <= 45 characters
local function idem(kind, ref)
  return "pgw-" .. gw.crypto.sha256(kind .. ":" .. ref, "hex"):sub(1, 40)
end
M.idempotency_key = idem

local function headers(ctx)
  return {
    Authorization = "Bearer " .. gw.secret(need(ctx.config.access_token, "config access_token")),
    ["Square-Version"] = opt(ctx.config.square_version) or DEFAULT_VERSION,
    Accept = "application/json",
  }
end

local function post(ctx, path, body)
  return {
    method = "POST",
    url = base(ctx) .. path,
    content_type = "application/json",
    headers = headers(ctx),
    body = gw.json.encode(body),
  }
end

local function get(ctx, path)
  return { method = "GET", url = base(ctx) .. path, content_type = "", headers = headers(ctx),
           body = "" }
end

local function money(amount, currency)
  if math.type(amount) ~= "integer" or amount < 1 or amount > M.manifest.max_amount then
    error("square: amount must be an integer in 1..99999999 minor units", 0)
  end
  if type(currency) ~= "string" or not currency:match("^%u%u%u$") then
    error("square: currency must be ISO 4217 upper case", 0)
  end
  return { amount = amount, currency = currency }
end

local function otn_of(order)
  local otn = need(order.out_trade_no, "out_trade_no")
  if #otn > 40 then error("square: out_trade_no longer than 40 (reference_id limit)", 0) end
  return otn
end

M.build = {}

function M.build.pay(order, ctx)
  local otn = otn_of(order)
  if order.method ~= nil and M.manifest.methods[order.method] == nil then
    error("square: method " .. tostring(order.method) .. " is not offered", 0)
  end
  local x = type(order.extra) == "table" and order.extra or {}
  local body = {
    idempotency_key = idem("pay", otn),
    source_id = need(opt(x.payment_method), "extra.payment_method (card nonce / card id)"),
    amount_money = money(order.amount, order.currency),
    reference_id = otn,
    location_id = need(ctx.config.location_id, "config location_id"),
    autocomplete = ctx.config.autocomplete ~= "false",
    note = (opt(order.subject) or otn):sub(1, 500),
  }
  if opt(x.customer_id) ~= nil then body.customer_id = x.customer_id end
  if opt(x.verification_token) ~= nil then body.verification_token = x.verification_token end
  return post(ctx, "/v2/payments", body)
end

-- RFC 3339 UTC of epoch ms
local function rfc3339(ms)
  return gw.time.format(ms, "yyyy-MM-ddTHH:mm:ssZ", 0)
end

function M.build.query(order, ctx)
  local otn = otn_of(order)
  if opt(order.channel_trade_no) ~= nil then
    return get(ctx, "/v2/payments/" .. path_id(order.channel_trade_no, "channel_trade_no"))
  end
  -- ListPayments cannot filter on reference_id: list the window around the
  -- order's creation and let the script find reference_id == out_trade_no
  local created = order.created_at_ms
  if math.type(created) ~= "integer" then
    error("square: query without channel_trade_no needs created_at_ms (" .. otn .. ")", 0)
  end
  return get(ctx, "/v2/payments?begin_time=" .. gw.form.urlencode(rfc3339(created - 600000))
             .. "&end_time=" .. gw.form.urlencode(rfc3339(created + 3600000))
             .. "&location_id=" .. gw.form.urlencode(need(ctx.config.location_id, "config location_id"))
             .. "&sort_order=ASC&limit=100")
end

function M.build.cancel(order, ctx)
  local otn = otn_of(order)
  if opt(order.channel_trade_no) ~= nil then
    return post(ctx, "/v2/payments/" .. path_id(order.channel_trade_no, "channel_trade_no")
                .. "/cancel", {})
  end
  -- the create's answer was lost: cancel it by its idempotency key
  return post(ctx, "/v2/payments/cancel", { idempotency_key = idem("pay", otn) })
end

local function refund_of(order)
  if type(order.refund) ~= "table" then error("square: order.refund is required", 0) end
  return order.refund
end

function M.build.refund(order, ctx)
  otn_of(order)
  local r = refund_of(order)
  local orn = need(r.out_refund_no, "refund.out_refund_no")
  local body = {
    idempotency_key = idem("refund", orn),
    payment_id = path_id(order.channel_trade_no, "channel_trade_no"),
    amount_money = money(r.amount, order.currency),
  }
  if opt(r.reason) ~= nil then body.reason = r.reason:sub(1, 192) end
  return post(ctx, "/v2/refunds", body)
end

-- Square refunds carry no reference of ours: the refund id (from the refund's
-- answer) is needed; without it, resend `refund` (same idempotency_key).
function M.build.refund_query(order, ctx)
  local r = refund_of(order)
  return get(ctx, "/v2/refunds/" .. path_id(r.channel_refund_no,
                                             "refund.channel_refund_no (resend refund)"))
end

return M
