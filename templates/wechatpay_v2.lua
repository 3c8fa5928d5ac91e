-- templates/wechatpay_v2.lua -- WeChat Pay API v2 (XML, MD5 / HMAC-SHA256):
-- the manifest and the request builders of the wechatpay_v2 pack (parsers,
-- code lists and the notify verifier: scripts/wechatpay_v2.lua).
--
-- Every request is an XML POST `<xml><k>v</k>…</xml>` (UTF-8) of the common
-- fields appid, mch_id, nonce_str (and sign_type when it is HMAC-SHA256)
-- plus the operation's fields and `sign`:
--   string = every non-empty field except sign, sorted by name (ASCII),
--            k=v joined with "&", then "&key=<API key>"
--   MD5          -> upper-case hex MD5(string)
--   HMAC-SHA256  -> upper-case hex HMAC-SHA256(key = API key, string)
-- (https://pay.weixin.qq.com/wiki/doc/api/native.php?chapter=4_3 "安全规范";
-- vector V1 of channel-vectors.md).  The API key is a symmetric secret read
-- with gw.secret(ctx.config.api_key); it never leaves this pack except as
-- the signature.  Amounts are integer fen (total_fee, refund_fee).
--
-- ctx.config keys: appid, mch_id, api_key (secret name), sign_type
-- ("MD5" default | "HMAC-SHA256"), spbill_create_ip (used when the order has
-- no extra.payer_client_ip), optional sub_mch_id, endpoint (base URL,
-- default https://api.mch.weixin.qq.com).
--
-- Operations: pay (unifiedorder NATIVE/JSAPI, micropay), query (orderquery),
-- close (closeorder), cancel (reverse; needs the merchant's client
-- certificate at the transport), refund (secapi refund; client certificate),
-- refund_query (refundquery), bill (downloadbill).

local M = {}

local TZ_BEIJING = 480            -- minutes east of UTC
local MAX_FEN = 10000000000       -- 100,000,000.00 CNY

local PATH = {
  unifiedorder = "/pay/unifiedorder",
  micropay = "/pay/micropay",
  query = "/pay/orderquery",
  close = "/pay/closeorder",
  cancel = "/secapi/pay/reverse",
  refund = "/secapi/pay/refund",
  refund_query = "/pay/refundquery",
  bill = "/pay/downloadbill",
}

-- pay method -> trade_type of unifiedorder ("MICROPAY" = /pay/micropay)
local TRADE_TYPE = {
  ["wechat.native"] = "NATIVE",
  ["wechat.jsapi"] = "JSAPI",
  ["wechat.micropay"] = "MICROPAY",
}

M.manifest = {
  channel = "wechatpay_v2",
  methods = {
    ["wechat.native"] = { kind = "prepay", currencies = { "CNY" },
                          min_amount = 1, max_amount = MAX_FEN },
    ["wechat.jsapi"] = { kind = "prepay", currencies = { "CNY" },
                         min_amount = 1, max_amount = MAX_FEN },
    -- payment code: the answer is the payment itself (or USERPAYING)
    ["wechat.micropay"] = { kind = "micropay", currencies = { "CNY" },
                            min_amount = 1, max_amount = MAX_FEN },
  },
  currencies = { "CNY" },
  min_amount = 1,
  max_amount = MAX_FEN,
  endpoints = {
    production = "https://api.mch.weixin.qq.com",
    backup = "https://api2.mch.weixin.qq.com",
  },
  timeouts = { connect_timeout_ms = 3000, timeout_ms = 10000 },
  -- micropay doc: SYSTEMERROR -> wait 5 s then query; USERPAYING -> every ~10 s
  first_query_delay_ms = 5000,
  query_backoff_ms = { 5000, 10000, 10000, 30000, 60000, 120000, 300000, 600000 },
  -- micropay orchestration hints for the host (doc: poll ~30 s, reverse not
  -- earlier than 15 s after the pay call, repeat while recall=Y)
  micropay = { poll_ms = 10000, give_up_after_ms = 30000, reverse_not_before_ms = 15000,
               reverse_op = "cancel", reverse_retry_ms = 10000, reverse_max = 5 },
  max_concurrency = 100,
  qps = 100,
  mask = { "sign", "auth_code", "openid", "sub_openid", "req_info", "paySign", "code_url" },
  notify_ack = {
    ok = { status = 200, content_type = "text/xml",
           body = "<xml><return_code><![CDATA[SUCCESS]]></return_code>"
                  .. "<return_msg><![CDATA[OK]]></return_msg></xml>" },
    fail = { status = 500, content_type = "text/xml",
             body = "<xml><return_code><![CDATA[FAIL]]></return_code>"
                    .. "<return_msg><![CDATA[FAIL]]></return_msg></xml>" },
  },
  -- every answer (except the unsigned bill file, see the script) must carry
  -- a verified sign before it can leave PROCESSING
  signed_responses = true,
  paths = PATH,
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("wechatpay_v2: " .. what .. " is required", 0)
  end
  return v
end

local function opt(v)
  if type(v) == "string" and v ~= "" then return v end
  return nil
end

local function sign_type(cfg)
  local t = cfg.sign_type
  if t == nil or t == "" or t == "MD5" then return "MD5" end
  if t == "HMAC-SHA256" then return t end
  error("wechatpay_v2: config sign_type must be MD5 or HMAC-SHA256", 0)
end

-- The v2 signature (shared with the script through the manifest's rule):
-- sorted non-empty k=v except sign, "&key=" .. API key, upper-case hex.
local function sign(p, cfg)
  local key = gw.secret(need(cfg.api_key, "config api_key"))
  local s = gw.form.sign_string(p, { exclude = { "sign" }, skip_empty = true })
            .. "&key=" .. key
  if sign_type(cfg) == "HMAC-SHA256" then
    return gw.crypto.hmac("sha256", key, s, "HEX")
  end
  return gw.crypto.md5(s, "HEX")
end

local function request(ctx, path, fields)
  local cfg = ctx.config
  local p = {
    appid = need(cfg.appid, "config appid"),
    mch_id = need(cfg.mch_id, "config mch_id"),
    nonce_str = gw.id(),
  }
  if opt(cfg.sub_mch_id) then p.sub_mch_id = cfg.sub_mch_id end
  if sign_type(cfg) == "HMAC-SHA256" then p.sign_type = "HMAC-SHA256" end
  for k, v in pairs(fields) do p[k] = v end
  p.sign = sign(p, cfg)
  return {
    method = "POST",
    url = need(ctx.endpoint, "endpoint"):gsub("/+$", "") .. path,
    content_type = "text/xml;charset=utf-8",
    headers = {},
    body = gw.xml.encode(p, { root = "xml" }),
  }
end

local function amount_of(order)
  local a = order.amount
  if math.type(a) ~= "integer" or a < 1 or a > MAX_FEN then
    error("wechatpay_v2: amount must be an integer in 1.." .. MAX_FEN .. " fen", 0)
  end
  return a
end

local function extra(order)
  return type(order.extra) == "table" and order.extra or {}
end

local function trade_ref(order)
  local f = {}
  if opt(order.channel_trade_no) then
    f.transaction_id = order.channel_trade_no
  else
    f.out_trade_no = need(order.out_trade_no, "out_trade_no")
  end
  return f
end

M.build = {}

-- pay: /pay/unifiedorder (NATIVE -> code_url, JSAPI -> prepay_id) or
-- /pay/micropay (payment code in extra.auth_code, synchronous)
function M.build.pay(order, ctx)
  local method = order.method or "wechat.native"
  local tt = TRADE_TYPE[method]
  if tt == nil then
    error("wechatpay_v2: method " .. tostring(method) .. " is not offered", 0)
  end
  if order.currency ~= "CNY" then
    error("wechatpay_v2: currency " .. tostring(order.currency) .. " is not supported", 0)
  end
  local x = extra(order)
  local f = {
    body = opt(order.subject) or need(order.out_trade_no, "out_trade_no"),
    out_trade_no = need(order.out_trade_no, "out_trade_no"),
    total_fee = tostring(amount_of(order)),
    fee_type = "CNY",
    spbill_create_ip = need(opt(x.payer_client_ip) or ctx.config.spbill_create_ip,
                            "extra.payer_client_ip or config spbill_create_ip"),
  }
  local expire = order.expire_seconds
  if math.type(expire) == "integer" and expire > 0 then
    -- time_expire: yyyyMMddHHmmss Beijing time; WeChat wants >= 1 minute
    if expire < 60 then expire = 60 end
    f.time_expire = gw.time.format(gw.time.now_ms() + expire * 1000, "yyyyMMddHHmmss",
                                   TZ_BEIJING)
  end
  if tt == "MICROPAY" then
    f.auth_code = need(opt(x.auth_code), "extra.auth_code")
    return request(ctx, PATH.micropay, f)
  end
  f.trade_type = tt
  f.notify_url = need(order.notify_url, "notify_url")
  if tt == "NATIVE" then
    f.product_id = order.out_trade_no         -- required for NATIVE
  else
    f.openid = need(opt(x.openid), "extra.openid")
  end
  return request(ctx, PATH.unifiedorder, f)
end

function M.build.query(order, ctx)
  return request(ctx, PATH.query, trade_ref(order))
end

function M.build.close(order, ctx)
  return request(ctx, PATH.close, { out_trade_no = need(order.out_trade_no, "out_trade_no") })
end

-- cancel = /secapi/pay/reverse: a micropay that never settled is closed, a
-- paid one is refunded; call again while the answer says recall=Y
function M.build.cancel(order, ctx)
  return request(ctx, PATH.cancel, trade_ref(order))
end

local function refund_of(order)
  if type(order.refund) ~= "table" then
    error("wechatpay_v2: order.refund is required", 0)
  end
  return order.refund
end

function M.build.refund(order, ctx)
  local r = refund_of(order)
  local ra = r.amount
  if math.type(ra) ~= "integer" or ra < 1 or ra > amount_of(order) then
    error("wechatpay_v2: refund.amount must be an integer in 1..order amount", 0)
  end
  local f = trade_ref(order)
  f.out_refund_no = need(r.out_refund_no, "refund.out_refund_no")
  f.total_fee = tostring(amount_of(order))
  f.refund_fee = tostring(ra)
  f.refund_fee_type = "CNY"
  f.refund_desc = opt(r.reason)
  f.notify_url = opt(order.notify_url)
  return request(ctx, PATH.refund, f)
end

function M.build.refund_query(order, ctx)
  local r = refund_of(order)
  local f = {}
  if opt(r.channel_refund_no) then
    f.refund_id = r.channel_refund_no
  else
    f.out_refund_no = need(r.out_refund_no, "refund.out_refund_no")
  end
  return request(ctx, PATH.refund_query, f)
end

-- bill = /pay/downloadbill: the statement of one day (text on success)
local BILL_TYPE = { trade = "SUCCESS", refund = "REFUND", all = "ALL" }

function M.build.bill(order, ctx)
  local b = type(order.bill) == "table" and order.bill or {}
  local y, m, d = tostring(b.date):match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if y == nil then
    error("wechatpay_v2: bill.date must be YYYY-MM-DD", 0)
  end
  local bt = BILL_TYPE[b.type or "all"]
  if bt == nil then
    error("wechatpay_v2: bill.type must be trade, refund or all", 0)
  end
  return request(ctx, PATH.bill, { bill_date = y .. m .. d, bill_type = bt })
end

return M
