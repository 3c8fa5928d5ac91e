-- templates/alipay.lua -- Alipay OpenAPI v2 (RSA2): the manifest and the
-- request builders of the alipay pack (parsers: scripts/alipay.lua).
--
-- Every request is a form POST of the common parameters (app_id, method,
-- format=JSON, charset=utf-8, sign_type=RSA2, timestamp "yyyy-MM-dd HH:mm:ss"
-- in +08:00, version=1.0, notify_url for pay only, biz_content as a JSON
-- string) plus `sign` = RSA2 (SHA256withRSA, base64) over every other
-- non-empty parameter sorted by name, joined k=v&k=v, not url-encoded
-- (sign_type included).  The key is named by ctx.config.app_private_key; the
-- key itself never enters Lua.
--
-- ctx.config keys: app_id, app_private_key (key name), channel_public_key
-- (key name, used by the script), optional app_auth_token, endpoint.

local M = {}

local TZ_BEIJING = 480            -- minutes east of UTC
local API = {
  pay = "alipay.trade.precreate",
  query = "alipay.trade.query",
  close = "alipay.trade.close",
}

M.manifest = {
  channel = "alipay",
  methods = {
    ["alipay.qr"] = { kind = "prepay", currencies = { "CNY" },
                      min_amount = 1, max_amount = 10000000000 },
  },
  -- channel-wide limits (what routing looks at)
  currencies = { "CNY" },
  min_amount = 1,                  -- 0.01 CNY
  max_amount = 10000000000,        -- 100,000,000.00 CNY (precreate total_amount limit)
  endpoints = {
    production = "https://openapi.alipay.com/gateway.do",
    sandbox = "https://openapi-sandbox.dl.alipaydev.com/gateway.do",
  },
  timeouts = { connect_timeout_ms = 3000, timeout_ms = 15000 },
  -- a QR is paid when the buyer scans it: first look after 5 s, then back off
  first_query_delay_ms = 5000,
  query_backoff_ms = { 5000, 10000, 30000, 60000, 120000, 300000, 600000 },
  max_concurrency = 200,
  qps = 100,
  mask = { "sign", "app_auth_token", "buyer_logon_id", "buyer_id", "buyer_user_id" },
  notify_ack = {
    ok = { status = 200, content_type = "text/plain", body = "success" },
    fail = { status = 400, content_type = "text/plain", body = "fail" },
  },
  -- every answer must carry a verified signature before it can leave PROCESSING
  signed_responses = true,
  api = API,
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("alipay: " .. what .. " is required", 0)
  end
  return v
end

local function request(ctx, op, biz, notify_url)
  local cfg = ctx.config
  local p = {
    app_id = need(cfg.app_id, "config app_id"),
    method = API[op],
    format = "JSON",
    charset = "utf-8",
    sign_type = "RSA2",
    timestamp = gw.time.format(gw.time.now_ms(), "yyyy-MM-dd HH:mm:ss", TZ_BEIJING),
    version = "1.0",
    biz_content = gw.json.encode(biz),
  }
  if notify_url ~= nil and notify_url ~= "" then
    p.notify_url = notify_url
  end
  if type(cfg.app_auth_token) == "string" and cfg.app_auth_token ~= "" then
    p.app_auth_token = cfg.app_auth_token
  end
  local to_sign = gw.form.sign_string(p, { exclude = { "sign" }, skip_empty = true })
  p.sign = gw.crypto.sign(need(cfg.app_private_key, "config app_private_key"), "RSA2",
                          to_sign)
  return {
    method = "POST",
    url = need(ctx.endpoint, "endpoint"),
    content_type = "application/x-www-form-urlencoded;charset=utf-8",
    headers = {},
    body = gw.form.encode(p),
  }
end

local function trade_ref(order)
  local biz = { out_trade_no = need(order.out_trade_no, "out_trade_no") }
  if type(order.channel_trade_no) == "string" and order.channel_trade_no ~= "" then
    biz.trade_no = order.channel_trade_no
  end
  return biz
end

M.build = {}

-- pay = alipay.trade.precreate: returns a QR code the buyer scans
function M.build.pay(order, ctx)
  if order.method ~= nil and order.method ~= "alipay.qr" then
    error("alipay: method " .. tostring(order.method) .. " is not offered", 0)
  end
  if order.currency ~= "CNY" then
    error("alipay: currency " .. tostring(order.currency) .. " is not supported", 0)
  end
  local amount = order.amount
  if math.type(amount) ~= "integer" or amount < M.manifest.min_amount
     or amount > M.manifest.max_amount then
    error("alipay: amount must be an integer in 1..10000000000 fen", 0)
  end
  local biz = {
    out_trade_no = need(order.out_trade_no, "out_trade_no"),
    total_amount = gw.amount.to_decimal(amount, 2),
    subject = (type(order.subject) == "string" and order.subject ~= "")
              and order.subject or order.out_trade_no,
  }
  local expire = order.expire_seconds
  if math.type(expire) == "integer" and expire > 0 then
    -- timeout_express is in whole minutes, 1m .. 15d
    local minutes = (expire + 59) // 60
    if minutes > 21600 then minutes = 21600 end
    biz.timeout_express = minutes .. "m"
  end
  return request(ctx, "pay", biz, order.notify_url)
end

-- query = alipay.trade.query
function M.build.query(order, ctx)
  return request(ctx, "query", trade_ref(order))
end

-- close = alipay.trade.close (an unpaid trade can no longer be paid)
function M.build.close(order, ctx)
  return request(ctx, "close", trade_ref(order))
end

return M
