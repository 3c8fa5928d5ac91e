-- templates/adyen.lua -- Adyen Checkout API v71: the manifest and the request
-- builders of the adyen pack (parsers and the webhook verifier:
-- scripts/adyen.lua).
--
-- Every request is JSON over HTTPS with the API key in `X-API-Key`
-- (gw.secret(ctx.config.api_key)) and an `Idempotency-Key` header (Adyen keeps
-- it for at least 7 days and answers a repeat with the first result):
--   pay     POST {endpoint}/payments
--   cancel  POST {endpoint}/payments/{pspReference}/cancels, or POST
--           {endpoint}/cancels with paymentReference = out_trade_no when the
--           pspReference is not known (the /payments call timed out)
--   refund  POST {endpoint}/payments/{pspReference}/refunds
-- Modification references are "<out_trade_no>/cancel" and
-- "<out_trade_no>/<out_refund_no>" ('/' never occurs in those ids), so a
-- webhook names the order whichever reference Adyen reports in it.
-- Amounts are {currency, value} with value in minor units, exactly the order's
-- integer `amount` (Adyen uses the ISO 4217 exponent, like the host).
--
-- No query.  Adyen has no payment-status GET for Checkout payments: the final
-- outcome of a payment (and of every refund/cancel, which Adyen answers only
-- with `status: received`) arrives in the HMAC-signed standard webhook
-- (AUTHORISATION, REFUND, CANCELLATION, ...).  The pack therefore offers no
-- `query` op rather than a fake one (manifest.query = "notification").
--
--   details POST {endpoint}/payments/details  (the `details` op, below)
--
-- /payments/details: the next leg of the *same* payment after an action
-- (RedirectShopper, 3DS2 IdentifyShopper / ChallengeShopper).  The caller
-- posts what the shopper's browser brought back to
-- POST /v1/payments/{no}/details; the host hands it to the `details` builder
-- as order.details = {details = {...}, payment_data = "..."?} and interprets
-- the answer with the pay codes (the same resultCode set).  Its
-- Idempotency-Key is "details:<out_trade_no>:<16 hex of sha256(body)>", so a
-- retried leg is answered by Adyen as the first, and the next leg (another
-- payload) is a new request.
--
-- ctx.config keys: merchant_account, api_key (secret name, keystore
-- <name>.secret), hmac_key (secret name of the HEX webhook HMAC key, used by
-- the script), optional endpoint.

local M = {}

local DEFAULT_MAX = 99999999999       -- Adyen amount.value is int64; cap per routing

M.manifest = {
  channel = "adyen",
  methods = {
    -- kind "direct": Authorised on /payments is the payment's own outcome
    ["adyen.card"] = { kind = "direct",
                       currencies = { "EUR", "USD", "GBP", "CNY", "JPY", "SGD", "HKD", "AUD" },
                       min_amount = 1, max_amount = DEFAULT_MAX },
    -- redirect methods (iDEAL, wallets...): the answer is RedirectShopper
    ["adyen.redirect"] = { kind = "prepay",
                           currencies = { "EUR", "USD", "GBP", "CNY", "JPY", "SGD", "HKD", "AUD" },
                           min_amount = 1, max_amount = DEFAULT_MAX },
  },
  currencies = { "EUR", "USD", "GBP", "CNY", "JPY", "SGD", "HKD", "AUD" },
  min_amount = 1,
  max_amount = DEFAULT_MAX,
  endpoints = {
    -- live URLs carry the merchant's prefix: set
    --   channel adyen endpoint https://<prefix>-checkout-live.adyenpayments.com/checkout/v71
    production = "https://checkout-test.adyen.com/v71",
    test = "https://checkout-test.adyen.com/v71",
  },
  timeouts = { connect_timeout_ms = 3000, timeout_ms = 30000 },
  -- there is no query op: these only pace the host's re-checks of nothing;
  -- the outcome comes by webhook (Adyen retries a webhook for up to 30 days)
  first_query_delay_ms = 10000,
  query_backoff_ms = { 30000, 60000, 300000, 900000, 3600000 },
  max_concurrency = 100,
  qps = 50,
  mask = { "x-api-key", "hmacSignature", "paymentMethod", "encryptedCardNumber",
           "encryptedSecurityCode", "encryptedExpiryMonth", "encryptedExpiryYear",
           "redirectResult", "paymentData", "shopperEmail" },
  notify_ack = {
    -- Adyen accepts any 2xx; "[accepted]" is the documented legacy body
    ok = { status = 200, content_type = "text/plain", body = "[accepted]" },
    -- non-2xx: Adyen retries (3 quick, then a queue for up to 30 days)
    fail = { status = 401, content_type = "text/plain", body = "[rejected]" },
  },
  -- Adyen does not sign API answers (TLS is the only proof); webhooks are HMAC-signed
  signed_responses = false,
  query = "notification",
  api_version = "v71",
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("adyen: " .. what .. " is required", 0)
  end
  return v
end

-- Adyen's Idempotency-Key is at most 64 characters: a longer key is replaced
-- by its SHA-256 hex (64), still one key per (operation, merchant id).
local function idem_key(s)
  if #s <= 64 then return s end
  return gw.crypto.sha256(s, "hex")
end

local function amount_of(value, currency)
  if math.type(value) ~= "integer" or value < 1 or value > DEFAULT_MAX then
    error("adyen: amount must be an integer in 1.." .. DEFAULT_MAX .. " minor units", 0)
  end
  if type(currency) ~= "string" or not currency:match("^%u%u%u$") then
    error("adyen: currency must be an ISO 4217 code", 0)
  end
  return { currency = currency, value = value }
end

local function request(ctx, path, body, key)
  local base = need(ctx.endpoint, "endpoint"):gsub("/+$", "")
  return {
    method = "POST",
    url = base .. path,
    content_type = "application/json",
    headers = {
      ["X-API-Key"] = gw.secret(need(ctx.config.api_key, "config api_key")),
      ["Idempotency-Key"] = idem_key(key),
      ["Accept"] = "application/json",
    },
    body = gw.json.encode(body),
  }
end

local function extra(order)
  return type(order.extra) == "table" and order.extra or {}
end

local function psp_ref(order)
  local r = order.channel_trade_no
  if type(r) == "string" and r ~= "" then
    if not r:match("^[%w]+$") then
      error("adyen: channel_trade_no is not a pspReference", 0)
    end
    return r
  end
  return nil
end

M.build = {}

-- pay = POST /payments
function M.build.pay(order, ctx)
  local ex = extra(order)
  local otn = need(order.out_trade_no, "out_trade_no")
  if order.method ~= nil and M.manifest.methods[order.method] == nil then
    error("adyen: method " .. tostring(order.method) .. " is not offered", 0)
  end
  if type(ex.payment_method) ~= "table" then
    error("adyen: order.extra.payment_method (Adyen paymentMethod object) is required", 0)
  end
  local body = {
    merchantAccount = need(ctx.config.merchant_account, "config merchant_account"),
    reference = otn,
    amount = amount_of(order.amount, order.currency),
    paymentMethod = ex.payment_method,
    shopperInteraction = "Ecommerce",
  }
  if type(ex.return_url) == "string" and ex.return_url ~= "" then
    body.returnUrl = ex.return_url
  elseif order.method == "adyen.redirect" then
    error("adyen: order.extra.return_url is required for redirect methods", 0)
  end
  if type(order.subject) == "string" and order.subject ~= "" then
    body.shopperStatement = order.subject:sub(1, 22)
  end
  if type(ex.shopper_reference) == "string" and ex.shopper_reference ~= "" then
    body.shopperReference = ex.shopper_reference
  end
  return request(ctx, "/payments", body, otn)
end


-- details = POST /payments/details: the shopper's result for an action of
-- this payment (order.details from POST /v1/payments/{no}/details)
function M.build.details(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  local d = type(order.details) == "table" and order.details or {}
  if type(d.details) ~= "table" or next(d.details) == nil then
    error("adyen: details.details (what the shopper's browser returned) is required", 0)
  end
  local body = { details = d.details }
  if type(d.payment_data) == "string" and d.payment_data ~= "" then
    body.paymentData = d.payment_data
  end
  -- gw.json.encode sorts keys: the same leg always gives the same key
  local leg = gw.crypto.sha256(gw.json.encode(body), "hex"):sub(1, 16)
  return request(ctx, "/payments/details", body, "details:" .. otn .. ":" .. leg)
end

-- cancel = void an authorisation (answer: status received; result by webhook)
function M.build.cancel(order, ctx)
  local otn = need(order.out_trade_no, "out_trade_no")
  local merchant = need(ctx.config.merchant_account, "config merchant_account")
  local psp = psp_ref(order)
  if psp ~= nil then
    return request(ctx, "/payments/" .. psp .. "/cancels",
                   { merchantAccount = merchant, reference = otn .. "/cancel" },
                   "cancel:" .. otn)
  end
  -- the pspReference never came back (timeout): cancel by our reference
  return request(ctx, "/cancels",
                 { merchantAccount = merchant, paymentReference = otn,
                   reference = otn .. "/cancel" },
                 "cancel:" .. otn)
end

-- refund = POST /payments/{pspReference}/refunds (result by REFUND webhook)
function M.build.refund(order, ctx)
  local rf = order.refund
  if type(rf) ~= "table" then error("adyen: order.refund is required", 0) end
  local psp = psp_ref(order)
  if psp == nil then
    error("adyen: refund needs the payment's pspReference (channel_trade_no)", 0)
  end
  local orn = need(rf.out_refund_no, "refund.out_refund_no")
  -- "<out_trade_no>/<out_refund_no>": the REFUND webhook names both orders
  local ref = need(order.out_trade_no, "out_trade_no") .. "/" .. orn
  if #ref > 80 then
    error("adyen: out_trade_no/out_refund_no exceeds Adyen's 80-character reference", 0)
  end
  local body = {
    merchantAccount = need(ctx.config.merchant_account, "config merchant_account"),
    reference = ref,
    amount = amount_of(rf.amount, order.currency),
  }
  return request(ctx, "/payments/" .. psp .. "/refunds", body, "refund:" .. orn)
end

return M
