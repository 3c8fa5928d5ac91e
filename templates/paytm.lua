-- templates/paytm.lua -- Paytm Payment Gateway (PG v3-era JSON APIs): the manifest
-- and the request builders of the paytm pack (parsers, code lists and the
-- callback / webhook verifier: scripts/paytm.lua).
--
-- Every request is JSON `{"body":{…},"head":{"signature":"…"}}` where the
-- signature is Paytm's checksum over the EXACT text of the body member as sent:
--   hash     = lowercase hex(SHA-256(body_text .. "|" .. salt)) .. salt
--   checksum = base64(AES-128-CBC(merchant key, IV "@@@@&&&&####$$$$", PKCS#7)(hash))
-- salt = 4 characters, fresh per request (paytmchecksum's generateSignature
-- uses 4 random base64 chars; any 4 chars verify).  Source: the official SDK
-- tests/sim/node_modules/paytmchecksum/PaytmChecksum.js (calculateHash,
-- calculateChecksum, encrypt), vector V9 of channel-vectors.md.
--
-- Operations: pay (initiateTransaction -> txnToken), query (/v3/order/status),
-- refund (/refund/apply), refund_query (/v2/refund/status).
-- Amounts: INR, sent as rupees with 2 decimals (gw.amount, never floats).
--
-- ctx.config (paygwd.conf `channel paytm param …`): mid, merchant_key (secret
-- name: keystore <name>.secret holds the 16-byte merchant key), website
-- ("DEFAULT" in production, "WEBSTAGING" on staging), optional cust_id
-- (default: the order number), endpoint.

local M = {}

local IV = "@@@@&&&&####$$$$"

local PATHS = {
  pay = "/theia/api/v1/initiateTransaction",
  query = "/v3/order/status",
  refund = "/refund/apply",
  refund_query = "/v2/refund/status",
}

M.manifest = {
  channel = "paytm",
  methods = {
    -- the txnToken opens Paytm's checkout (JS / app): a prepay credential
    ["paytm.checkout"] = { kind = "prepay", currencies = { "INR" },
                           min_amount = 1, max_amount = 10000000000 },
  },
  currencies = { "INR" },
  min_amount = 1,                       -- 0.01 INR
  max_amount = 10000000000,
  endpoints = {
    production = "https://securegw.paytm.in",
    staging = "https://securegw-stage.paytm.in",
  },
  paths = PATHS,
  timeouts = { connect_timeout_ms = 3000, timeout_ms = 20000 },
  -- the buyer pays in Paytm's checkout: first look after 10 s, then back off
  first_query_delay_ms = 10000,
  query_backoff_ms = { 10000, 20000, 30000, 60000, 120000, 300000, 600000, 1800000 },
  max_concurrency = 100,
  qps = 50,
  mask = { "signature", "CHECKSUMHASH", "txnToken", "custId" },
  notify_ack = {
    ok = { status = 200, content_type = "text/plain", body = "OK" },
    fail = { status = 400, content_type = "text/plain", body = "FAIL" },
  },
  signed_responses = true,
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("paytm: " .. what .. " is required", 0)
  end
  return v
end

-- Paytm checksum of `text` with the merchant key (raw 16 bytes).
function M.checksum(text, key, salt)
  local hash = gw.crypto.sha256(text .. "|" .. salt, "hex") .. salt
  local ct, err = gw.crypto.aes_cbc_encrypt(key, IV, hash)
  if ct == nil then error("paytm: checksum: " .. tostring(err), 0) end
  return gw.crypto.base64_encode(ct)
end

local function merchant_key(cfg)
  local key = gw.secret(need(cfg.merchant_key, "config merchant_key"))
  if #key ~= 16 then error("paytm: the merchant key must be 16 bytes (AES-128)", 0) end
  return key
end

local function rupees(v, what)
  if math.type(v) ~= "integer" or v < 1 or v > 10000000000 then
    error("paytm: " .. what .. " must be an integer in 1..10000000000 paise", 0)
  end
  return gw.amount.to_decimal(v, 2)
end

-- POST {body, head:{signature}} with the body text signed exactly as sent
local function request(ctx, op, body, query)
  local cfg = ctx.config
  local text = gw.json.encode(body)
  local salt = gw.id():sub(-4)
  local sig = M.checksum(text, merchant_key(cfg), salt)
  local url = need(ctx.endpoint, "endpoint"):gsub("/+$", "") .. PATHS[op]
  if query ~= nil then url = url .. "?" .. gw.form.encode(query, { order = { "mid" } }) end
  return {
    method = "POST",
    url = url,
    content_type = "application/json",
    headers = {},
    body = '{"body":' .. text .. ',"head":{"signature":"' .. sig .. '"}}',
  }
end

M.build = {}

-- pay: initiateTransaction -> txnToken for Paytm's checkout
function M.build.pay(order, ctx)
  local cfg = ctx.config
  if order.method ~= nil and order.method ~= "paytm.checkout" then
    error("paytm: method " .. tostring(order.method) .. " is not offered", 0)
  end
  if order.currency ~= "INR" then
    error("paytm: currency " .. tostring(order.currency) .. " is not supported", 0)
  end
  local mid = need(cfg.mid, "config mid")
  local otn = need(order.out_trade_no, "out_trade_no")
  local body = {
    requestType = "Payment",
    mid = mid,
    websiteName = need(cfg.website, "config website"),
    orderId = otn,
    callbackUrl = need(order.notify_url, "notify_url"),
    txnAmount = { value = rupees(order.amount, "amount"), currency = "INR" },
    userInfo = { custId = (type(cfg.cust_id) == "string" and cfg.cust_id ~= "")
                          and cfg.cust_id or ("CUST_" .. otn) },
  }
  return request(ctx, "pay", body, { mid = mid, orderId = otn })
end

-- query: Transaction Status API v3
function M.build.query(order, ctx)
  return request(ctx, "query", {
    mid = need(ctx.config.mid, "config mid"),
    orderId = need(order.out_trade_no, "out_trade_no"),
  })
end

local function refund_of(order)
  local r = order.refund
  if type(r) ~= "table" then error("paytm: order.refund is required", 0) end
  return r
end

-- refund: Refund API (refId = our refund number, idempotent at Paytm)
function M.build.refund(order, ctx)
  local r = refund_of(order)
  return request(ctx, "refund", {
    mid = need(ctx.config.mid, "config mid"),
    txnType = "REFUND",
    orderId = need(order.out_trade_no, "out_trade_no"),
    txnId = need(order.channel_trade_no, "channel_trade_no (Paytm TXNID)"),
    refId = need(r.out_refund_no, "refund.out_refund_no"),
    refundAmount = rupees(r.amount, "refund.amount"),
  })
end

-- refund_query: Refund Status API v2
function M.build.refund_query(order, ctx)
  local r = refund_of(order)
  return request(ctx, "refund_query", {
    mid = need(ctx.config.mid, "config mid"),
    orderId = need(order.out_trade_no, "out_trade_no"),
    refId = need(r.out_refund_no, "refund.out_refund_no"),
  })
end

return M
