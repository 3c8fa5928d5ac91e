-- templates/unionpay_acp.lua -- China UnionPay online gateway (ACP 5.1.0,
-- 全渠道): the manifest and the request builders of the unionpay_acp pack
-- (parsers, code lists and notify verification: scripts/unionpay_acp.lua).
--
-- Every request is a form POST (application/x-www-form-urlencoded, UTF-8) of
-- the ACP fields plus `signature`:
--   signMethod 01: certId = decimal serial of the merchant signing cert;
--       signature = base64(SHA256withRSA(lowercase hex(SHA-256(S))))
--   signMethod 11: signature = hex(SHA-256(S .. "&" .. hex(SHA-256(secureKey))))
--   signMethod 12: the same with SM3
-- where S = every non-empty field except `signature` (signMethod and certId
-- included), sorted by name, "k=v&k=v", raw bytes (no URL encoding).
-- Sources: ACP 5.1.0 平台接入接口规范 第2部分 (signature), the official SDK
-- AcpService.sign / SDKUtil.signBySecureKey; vectors V13c / V14 of
-- ../shared/reference/channel-vectors.md (reproduced by the fixtures).
--
-- Operations: pay (front consume: a LOCAL credential -- the signed form the
-- buyer's browser auto-submits to frontTransReq.do, never POSTed by us; back
-- consume: backTransReq.do txnType 01), query (queryTrans.do txnType 00),
-- refund (backTransReq.do txnType 04), refund_query (queryTrans.do on the
-- refund), cancel (backTransReq.do txnType 31, consume void, same day).
--
-- txnTime is yyyyMMddHHmmss Beijing time.  The consume's txnTime is taken from
-- order.created_at_ms (not the clock) because queryTrans needs the ORIGINAL
-- orderId + txnTime: every rebuild of the same order gives the same bytes.
--
-- ctx.config (paygwd.conf `channel unionpay_acp param …`): mer_id,
-- sign_method ("01" default | "11" | "12"), sign_key (key name, 01),
-- sign_cert (key name of the merchant signing certificate, 01; certId comes
-- from gw.crypto.cert_serial) or cert_id (the decimal certId, overrides),
-- verify_cert (key name of UnionPay's verify certificate, 01: the fallback),
-- root_cert + middle_cert (key names of UnionPay's root and middle
-- certificates: the signPubKeyCert of a message is checked against them and
-- then used, scripts/unionpay_acp.lua), validate_cn_name ("false" also accepts
-- the test environment's 00040000:SIGN name), secure_key (secret name,
-- 11/12), optional front_url, access_type ("0"), endpoint.

local M = {}

local TZ_BEIJING = 480
local TIME_FMT = "yyyyMMddHHmmss"

local PATHS = {
  front = "/gateway/api/frontTransReq.do",
  back = "/gateway/api/backTransReq.do",
  query = "/gateway/api/queryTrans.do",
}

-- method -> how the consume is made
local METHODS = {
  ["unionpay.web"] = { front = true, channel_type = "07", biz_type = "000201" },
  ["unionpay.wap"] = { front = true, channel_type = "08", biz_type = "000201" },
  -- back consume (no browser): needs a token or an encrypted card in order.extra
  ["unionpay.back"] = { front = false, channel_type = "07", biz_type = "000301" },
}

M.manifest = {
  channel = "unionpay_acp",
  methods = {
    ["unionpay.web"] = { kind = "prepay", currencies = { "CNY" },
                         min_amount = 1, max_amount = 99999999999 },
    ["unionpay.wap"] = { kind = "prepay", currencies = { "CNY" },
                         min_amount = 1, max_amount = 99999999999 },
    ["unionpay.back"] = { kind = "direct", currencies = { "CNY" },
                          min_amount = 1, max_amount = 99999999999 },
  },
  currencies = { "CNY" },
  min_amount = 1,                     -- txnAmt N1..12 in fen
  max_amount = 99999999999,
  endpoints = {
    production = "https://gateway.95516.com",
    sandbox = "https://gateway.test.95516.com",
  },
  paths = PATHS,
  timeouts = { connect_timeout_ms = 3000, timeout_ms = 30000 },  -- SDK: 30 s read
  -- official demo comments: back transactions queried at 1, 2, 4, 8, 16, 32 s;
  -- front (browser) ones at 5, 10, 30, 60, 120 min
  first_query_delay_ms = 1000,
  query_backoff_ms = { 2000, 4000, 8000, 16000, 32000, 300000, 600000, 1800000,
                       3600000, 7200000 },
  max_concurrency = 100,
  qps = 50,
  mask = { "signature", "accNo", "customerInfo", "signPubKeyCert", "token",
           "tokenPayData", "encryptCertId" },
  notify_ack = {
    -- UnionPay only looks at the HTTP status (200 or 302); 10 s, up to 5 sends
    ok = { status = 200, content_type = "text/plain", body = "ok" },
    fail = { status = 400, content_type = "text/plain", body = "fail" },
  },
  signed_responses = true,
}

local function need(v, what)
  if type(v) ~= "string" or v == "" then
    error("unionpay_acp: " .. what .. " is required", 0)
  end
  return v
end

-- ACP orderId: AN 8..40, letters and digits only
local function order_id(v, what)
  need(v, what)
  if #v < 8 or #v > 40 or v:find("[^A-Za-z0-9]") then
    error("unionpay_acp: " .. what .. " must be 8-40 letters/digits (ACP orderId)", 0)
  end
  return v
end

local function sign_method(cfg)
  local m = cfg.sign_method
  if m == nil or m == "" then return "01" end
  if m ~= "01" and m ~= "11" and m ~= "12" then
    error("unionpay_acp: config sign_method must be 01, 11 or 12", 0)
  end
  return m
end

local function txn_time(ms)
  return gw.time.format(ms, TIME_FMT, TZ_BEIJING)
end

local function order_time(order)
  local ms = order.created_at_ms
  if math.type(ms) ~= "integer" then
    error("unionpay_acp: order.created_at_ms is required (it is the consume's txnTime)", 0)
  end
  return txn_time(ms)
end

local function amount_fen(v, what)
  if math.type(v) ~= "integer" or v < 1 or v > 99999999999 then
    error("unionpay_acp: " .. what .. " must be an integer in 1..99999999999 fen", 0)
  end
  return tostring(v)
end

-- Sign p in place (adds certId for 01, then signature) and return it.
function M.sign(p, cfg)
  local method = sign_method(cfg)
  p.signMethod = method
  p.signature = nil
  if method == "01" then
    local cert_id = cfg.cert_id
    if cert_id == nil or cert_id == "" then
      cert_id = gw.crypto.cert_serial(need(cfg.sign_cert, "config sign_cert"), "dec")
    end
    p.certId = cert_id
    local s = gw.form.sign_string(p, { exclude = { "signature" }, skip_empty = true })
    p.signature = gw.crypto.sign(need(cfg.sign_key, "config sign_key"), "RSA2",
                                 gw.crypto.sha256(s, "hex"))
  else
    p.certId = nil
    local s = gw.form.sign_string(p, { exclude = { "signature" }, skip_empty = true })
    local key = gw.secret(need(cfg.secure_key, "config secure_key"))
    if method == "11" then
      p.signature = gw.crypto.sha256(s .. "&" .. gw.crypto.sha256(key, "hex"), "hex")
    else
      p.signature = gw.crypto.sm3(s .. "&" .. gw.crypto.sm3(key, "hex"), "hex")
    end
  end
  return p
end

local function common(cfg, txn_type, txn_sub_type, biz_type, channel_type)
  return {
    version = "5.1.0",
    encoding = "UTF-8",
    txnType = txn_type,
    txnSubType = txn_sub_type,
    bizType = biz_type,
    channelType = channel_type,
    accessType = (type(cfg.access_type) == "string" and cfg.access_type ~= "")
                 and cfg.access_type or "0",
    merId = need(cfg.mer_id, "config mer_id"),
  }
end

local function url(ctx, which)
  return need(ctx.endpoint, "endpoint"):gsub("/+$", "") .. PATHS[which]
end

local function post(ctx, which, p)
  return {
    method = "POST",
    url = url(ctx, which),
    content_type = "application/x-www-form-urlencoded;charset=UTF-8",
    headers = {},
    body = gw.form.encode(p),
  }
end

-- The signed consume fields of an order (front or back): the same order
-- always gives the same fields (txnTime from created_at_ms, RSA/SHA
-- signatures deterministic).
function M.consume_fields(order, cfg)
  local how = METHODS[order.method or "unionpay.web"]
  if how == nil then
    error("unionpay_acp: method " .. tostring(order.method) .. " is not offered", 0)
  end
  if order.currency ~= "CNY" then
    error("unionpay_acp: currency " .. tostring(order.currency) .. " is not supported", 0)
  end
  local p = common(cfg, "01", "01", how.biz_type, how.channel_type)
  p.orderId = order_id(order.out_trade_no, "out_trade_no")
  p.txnTime = order_time(order)
  p.txnAmt = amount_fen(order.amount, "amount")
  p.currencyCode = "156"
  p.backUrl = need(order.notify_url, "notify_url")
  local expire = order.expire_seconds
  if math.type(expire) == "integer" and expire > 0 then
    p.payTimeout = txn_time(order.created_at_ms + expire * 1000)
  end
  local extra = type(order.extra) == "table" and order.extra or {}
  if how.front then
    local front = extra.return_url or cfg.front_url
    if type(front) == "string" and front ~= "" then p.frontUrl = front end
  else
    -- back consume pays with a token (tokenPayData) or an encrypted card
    -- number (accNo + encryptCertId, encrypted by the caller's vault)
    if type(extra.token_pay_data) == "string" and extra.token_pay_data ~= "" then
      p.tokenPayData = extra.token_pay_data
    elseif type(extra.acc_no) == "string" and extra.acc_no ~= "" then
      p.accNo = extra.acc_no
      p.encryptCertId = need(extra.encrypt_cert_id, "extra.encrypt_cert_id")
    else
      error("unionpay_acp: back consume needs extra.token_pay_data or extra.acc_no", 0)
    end
  end
  return M.sign(p, cfg), how
end

M.build = {}

-- pay: front consume (unionpay.web / unionpay.wap) is a local credential:
-- the signed form the BUYER's browser auto-submits to frontTransReq.do
-- (ACP 5.1.0 前台交易: the merchant page posts it, the merchant server never
-- does; the official demo's Form_6_2_FrontConsume builds it with
-- AcpService.createAutoFormHtml).  Nothing is sent, the voucher is READY with
-- it and queries follow.  Back consume is a server call whose "00" only
-- means accepted.
function M.build.pay(order, ctx)
  local p, how = M.consume_fields(order, ctx.config)
  if how.front then
    return { credential = { type = "form_post", url = url(ctx, "front"), fields = p } }
  end
  return post(ctx, "back", p)
end

-- query: the consume by its orderId + txnTime
function M.build.query(order, ctx)
  local p = common(ctx.config, "00", "00", "000000", nil)
  p.channelType = nil
  p.orderId = order_id(order.out_trade_no, "out_trade_no")
  p.txnTime = order_time(order)
  return post(ctx, "query", M.sign(p, ctx.config))
end

local function refund_of(order)
  local r = order.refund
  if type(r) ~= "table" then error("unionpay_acp: order.refund is required", 0) end
  return r
end

-- The refund's own txnTime: refund.created_at_ms when the host gives it
-- (stable across resends), else now.
local function refund_time(r)
  if math.type(r.created_at_ms) == "integer" then return txn_time(r.created_at_ms) end
  return txn_time(gw.time.now_ms())
end

-- refund: backTrans txnType 04 on the consume's queryId (channel_trade_no)
function M.build.refund(order, ctx)
  local r = refund_of(order)
  local p = common(ctx.config, "04", "00", "000201", "07")
  p.orderId = order_id(r.out_refund_no, "refund.out_refund_no")
  p.txnTime = refund_time(r)
  p.txnAmt = amount_fen(r.amount, "refund.amount")
  p.currencyCode = "156"
  p.origQryId = need(order.channel_trade_no, "channel_trade_no (the consume's queryId)")
  p.backUrl = need(order.notify_url, "notify_url")
  -- echoed back in the refund's notify, which otherwise names only the refund
  p.reqReserved = order_id(order.out_trade_no, "out_trade_no")
  return post(ctx, "back", M.sign(p, ctx.config))
end

-- refund_query: queryTrans on the refund (its queryId when known, else its
-- orderId + txnTime)
function M.build.refund_query(order, ctx)
  local r = refund_of(order)
  local p = common(ctx.config, "00", "00", "000000", nil)
  p.channelType = nil
  if type(r.channel_refund_no) == "string" and r.channel_refund_no ~= "" then
    p.queryId = r.channel_refund_no
  else
    if math.type(r.created_at_ms) ~= "integer" then
      error("unionpay_acp: refund_query needs refund.channel_refund_no or "
            .. "refund.created_at_ms", 0)
    end
    p.orderId = order_id(r.out_refund_no, "refund.out_refund_no")
    p.txnTime = refund_time(r)
  end
  return post(ctx, "query", M.sign(p, ctx.config))
end

-- The void's own orderId: derived from the consume's, stable across resends
function M.cancel_order_id(out_trade_no)
  return "V" .. gw.crypto.sha256(out_trade_no, "hex"):sub(1, 31)
end

-- cancel: consume void (backTrans txnType 31, same settlement day only)
function M.build.cancel(order, ctx)
  local p = common(ctx.config, "31", "00", "000201", "07")
  p.orderId = M.cancel_order_id(order_id(order.out_trade_no, "out_trade_no"))
  p.txnTime = txn_time(gw.time.now_ms())
  p.txnAmt = amount_fen(order.amount, "amount")
  p.currencyCode = "156"
  p.origQryId = need(order.channel_trade_no, "channel_trade_no (the consume's queryId)")
  p.backUrl = need(order.notify_url, "notify_url")
  p.reqReserved = order.out_trade_no
  return post(ctx, "back", M.sign(p, ctx.config))
end

return M
