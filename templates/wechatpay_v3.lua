-- templates/wechatpay_v3.lua -- WeChat Pay API v3 (JSON, RSA, AES-256-GCM):
-- the manifest and the request builders of the wechatpay_v3 pack (parsers,
-- code lists, answer and notify verification: scripts/wechatpay_v3.lua).
--
-- Every request carries
--   Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",serial_no="…",
--                  timestamp="…",nonce_str="…",signature="…"
-- signature = base64 SHA256withRSA (merchant API private key, by name) over
--   METHOD \n PATH?QUERY \n timestamp \n nonce \n BODY \n
-- (GET: empty body line).  https://pay.weixin.qq.com/docs/merchant/development/interface-rules/signature-generation.html
-- (vector V13b of channel-vectors.md; the SDK's Formatter.request).  The
-- serial is the merchant API certificate's (config merchant_serial_no, or
-- read from the certificate named by merchant_cert).  Bodies are compact JSON,
-- amounts integer fen.
--
-- ctx.config keys: mchid, appid, merchant_private_key (key name),
-- merchant_serial_no (or merchant_cert, key name of the merchant API cert),
-- platform_cert (key name of the WeChat Pay platform certificate, or the
-- WeChat Pay public key), platform_serial (its serial / PUB_KEY_ID_…, read
-- from the certificate when absent), api_v3_key (secret name of the APIv3
-- key), optional app_appid (mobile app id for method wechat.app), endpoint.
--
-- Operations: pay (native / jsapi / h5 / app), query, close, refund,
-- refund_query, payout (one transfer batch of one detail to an openid),
-- payout_query (that detail).

local M = {}

local TZ_BEIJING = 480
local MAX_FEN = 10000000000

local PAY_PATH = {
  ["wechat.native"] = "/v3/pay/transactions/native",
  ["wechat.jsapi"] = "/v3/pay/transactions/jsapi",
  ["wechat.h5"] = "/v3/pay/transactions/h5",
  ["wechat.app"] = "/v3/pay/transactions/app",
}

local function method_def()
  return { kind = "prepay", currencies = { "CNY" }, min_amount = 1, max_amount = MAX_FEN }
end

M.manifest = {
  channel = "wechatpay_v3",
  methods = {
    ["wechat.native"] = method_def(),
    ["wechat.jsapi"] = method_def(),
    ["wechat.h5"] = method_def(),
    ["wechat.app"] = method_def(),
  },
  currencies = { "CNY" },
  min_amount = 1,
  max_amount = MAX_FEN,
  endpoints = {
    production = "https://api.mch.weixin.qq.com",
    backup = "https://api2.mch.weixin.qq.com",
  },
  timeouts = { connect_timeout_ms = 3000, timeout_ms = 10000 },
  first_query_delay_ms = 5000,
  query_backoff_ms = { 5000, 10000, 30000, 60000, 120000, 300000, 600000 },
  max_concurrency = 100,
  qps = 100,
  mask = { "authorization", "user_name", "openid", "paySign", "sign", "code_url", "h5_url",
           "ciphertext" },
  -- notify: 200/204 with no body = received; anything else makes WeChat resend
  notify_ack = {
    ok = { status = 204, content_type = "application/json", body = "" },
    fail = { status = 500, content_type = "application/json",
             body = '{"code":"FAIL","message":"not verified"}' },
  },
  signed_responses = true,
  -- Wechatpay-Timestamp of answers/notifies must be within this of our clock
  signature_max_skew_s = 300,
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("wechatpay_v3: " .. what .. " is required", 0)
  end
  return v
end

local function opt(v)
  if type(v) == "string" and v ~= "" then return v end
  return nil
end

local function merchant_serial(cfg)
  if opt(cfg.merchant_serial_no) then return cfg.merchant_serial_no end
  return gw.crypto.cert_serial(need(cfg.merchant_cert,
                                    "config merchant_serial_no or merchant_cert"), "hex")
end

local function platform_serial(cfg)
  if opt(cfg.platform_serial) then return cfg.platform_serial end
  return gw.crypto.cert_serial(need(cfg.platform_cert, "config platform_cert"), "hex")
end

-- the signed URI is what the server sees: path and query of the full URL
local function uri_of(url)
  return url:match("^%a[%w+.-]*://[^/]+(/.*)$") or url
end

local function request(ctx, method, path, body_t, extra_headers)
  local cfg = ctx.config
  local url = need(ctx.endpoint, "endpoint"):gsub("/+$", "") .. path
  local body = ""
  if body_t ~= nil then
    body = assert(gw.json.encode(body_t))
  end
  local ts = tostring(gw.time.now_ms() // 1000)
  local nonce = gw.id():upper()
  local mchid = need(cfg.mchid, "config mchid")
  local msg = method .. "\n" .. uri_of(url) .. "\n" .. ts .. "\n" .. nonce .. "\n" .. body .. "\n"
  local sig = gw.crypto.sign(need(cfg.merchant_private_key, "config merchant_private_key"),
                             "RSA2", msg)
  local headers = {
    Authorization = 'WECHATPAY2-SHA256-RSA2048 mchid="' .. mchid .. '",serial_no="'
                    .. merchant_serial(cfg) .. '",timestamp="' .. ts .. '",nonce_str="'
                    .. nonce .. '",signature="' .. sig .. '"',
    Accept = "application/json",
    ["User-Agent"] = "paygw-wechatpay_v3/1",
  }
  for k, v in pairs(extra_headers or {}) do headers[k] = v end
  return {
    method = method,
    url = url,
    content_type = method == "GET" and "" or "application/json",
    headers = headers,
    body = body,
  }
end

local function amount_of(order)
  local a = order.amount
  if math.type(a) ~= "integer" or a < 1 or a > MAX_FEN then
    error("wechatpay_v3: amount must be an integer in 1.." .. MAX_FEN .. " fen", 0)
  end
  return a
end

local function extra(order)
  return type(order.extra) == "table" and order.extra or {}
end

local function esc(s)
  return gw.form.urlencode(s)
end

local function rfc3339(ms)
  return gw.time.format(ms, "yyyy-MM-ddTHH:mm:ss", TZ_BEIJING) .. "+08:00"
end

M.build = {}

-- pay: prepay of a native QR (code_url), JSAPI / app (prepay_id) or H5 (h5_url)
function M.build.pay(order, ctx)
  local method = order.method or "wechat.native"
  local path = PAY_PATH[method]
  if path == nil then
    error("wechatpay_v3: method " .. tostring(method) .. " is not offered", 0)
  end
  if order.currency ~= "CNY" then
    error("wechatpay_v3: currency " .. tostring(order.currency) .. " is not supported", 0)
  end
  local cfg = ctx.config
  local x = extra(order)
  local b = {
    appid = need(method == "wechat.app" and opt(cfg.app_appid) or cfg.appid, "config appid"),
    mchid = need(cfg.mchid, "config mchid"),
    description = opt(order.subject) or need(order.out_trade_no, "out_trade_no"),
    out_trade_no = need(order.out_trade_no, "out_trade_no"),
    notify_url = need(order.notify_url, "notify_url"),
    amount = { total = amount_of(order), currency = "CNY" },
  }
  local expire = order.expire_seconds
  if math.type(expire) == "integer" and expire > 0 then
    if expire < 60 then expire = 60 end
    b.time_expire = rfc3339(gw.time.now_ms() + expire * 1000)
  end
  if method == "wechat.jsapi" then
    b.payer = { openid = need(opt(x.openid), "extra.openid") }
  elseif method == "wechat.h5" then
    b.scene_info = {
      payer_client_ip = need(opt(x.payer_client_ip), "extra.payer_client_ip"),
      h5_info = { type = "Wap" },
    }
  elseif opt(x.payer_client_ip) then
    b.scene_info = { payer_client_ip = x.payer_client_ip }
  end
  return request(ctx, "POST", path, b)
end

function M.build.query(order, ctx)
  local mchid = esc(need(ctx.config.mchid, "config mchid"))
  if opt(order.channel_trade_no) then
    return request(ctx, "GET", "/v3/pay/transactions/id/" .. esc(order.channel_trade_no)
                   .. "?mchid=" .. mchid)
  end
  return request(ctx, "GET", "/v3/pay/transactions/out-trade-no/"
                 .. esc(need(order.out_trade_no, "out_trade_no")) .. "?mchid=" .. mchid)
end

function M.build.close(order, ctx)
  return request(ctx, "POST", "/v3/pay/transactions/out-trade-no/"
                 .. esc(need(order.out_trade_no, "out_trade_no")) .. "/close",
                 { mchid = need(ctx.config.mchid, "config mchid") })
end

local function refund_of(order)
  if type(order.refund) ~= "table" then
    error("wechatpay_v3: order.refund is required", 0)
  end
  return order.refund
end

function M.build.refund(order, ctx)
  local r = refund_of(order)
  local total = amount_of(order)
  if math.type(r.amount) ~= "integer" or r.amount < 1 or r.amount > total then
    error("wechatpay_v3: refund.amount must be an integer in 1..order amount", 0)
  end
  local b = {
    out_refund_no = need(r.out_refund_no, "refund.out_refund_no"),
    reason = opt(r.reason),
    notify_url = opt(order.notify_url),
    amount = { refund = r.amount, total = total, currency = "CNY" },
  }
  if opt(order.channel_trade_no) then
    b.transaction_id = order.channel_trade_no
  else
    b.out_trade_no = need(order.out_trade_no, "out_trade_no")
  end
  return request(ctx, "POST", "/v3/refund/domestic/refunds", b)
end

function M.build.refund_query(order, ctx)
  local r = refund_of(order)
  return request(ctx, "GET", "/v3/refund/domestic/refunds/"
                 .. esc(need(r.out_refund_no, "refund.out_refund_no")))
end

local function payout_of(order)
  if type(order.payout) ~= "table" then
    error("wechatpay_v3: order.payout is required", 0)
  end
  return order.payout
end

-- payout = 发起商家转账 (transfer batch) with exactly one detail; the batch and
-- the detail both carry out_payout_no.  user_name (the payee's real name) is
-- RSA-OAEP encrypted with the platform certificate, announced by the
-- Wechatpay-Serial header; WeChat requires it from 2,000 CNY on.
function M.build.payout(order, ctx)
  local cfg = ctx.config
  local p = payout_of(order)
  local no = need(p.out_payout_no, "payout.out_payout_no")
  local amount = p.amount
  if math.type(amount) ~= "integer" or amount < 1 or amount > MAX_FEN then
    error("wechatpay_v3: payout.amount must be an integer number of fen", 0)
  end
  if p.currency ~= nil and p.currency ~= "CNY" then
    error("wechatpay_v3: payout currency must be CNY", 0)
  end
  local payee = type(p.payee) == "table" and p.payee or {}
  local remark = opt(p.remark) or no
  local detail = {
    out_detail_no = no,
    transfer_amount = amount,
    transfer_remark = remark,
    openid = need(opt(payee.account_no), "payout.payee.account_no (openid)"),
  }
  local headers = nil
  if opt(payee.account_name) then
    local enc, eerr = gw.crypto.rsa_oaep_encrypt(need(cfg.platform_cert, "config platform_cert"),
                                                 payee.account_name)
    if enc == nil then
      error("wechatpay_v3: cannot encrypt user_name: " .. tostring(eerr), 0)
    end
    detail.user_name = enc
    headers = { ["Wechatpay-Serial"] = platform_serial(cfg) }
  elseif amount >= 200000 then
    error("wechatpay_v3: payouts from 2000 CNY need payee.account_name", 0)
  end
  local b = {
    appid = need(cfg.appid, "config appid"),
    out_batch_no = no,
    batch_name = remark,
    batch_remark = remark,
    total_amount = amount,
    total_num = 1,
    transfer_detail_list = setmetatable({ detail }, gw.json.array_mt),
  }
  return request(ctx, "POST", "/v3/transfer/batches", b, headers)
end

function M.build.payout_query(order, ctx)
  local p = payout_of(order)
  local no = esc(need(p.out_payout_no, "payout.out_payout_no"))
  return request(ctx, "GET", "/v3/transfer/batches/out-batch-no/" .. no
                 .. "/details/out-detail-no/" .. no)
end

return M
