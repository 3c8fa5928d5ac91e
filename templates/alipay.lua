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
--
-- Public-key certificate mode (公钥证书模式, required for the fund APIs): when
-- ctx.config names app_cert (appCertPublicKey_<appid>.crt), alipay_root_cert
-- (alipayRootCert.crt, a bundle) and alipay_public_cert
-- (alipayCertPublicKey_RSA2.crt) -- keystore key names, all three or none --
-- every request, the local credentials included, carries app_cert_sn and
-- alipay_root_cert_sn inside the signed string; the script verifies answers
-- and notifies with alipay_public_cert instead of channel_public_key.  SN as
-- alipay-sdk's antcertutil computes it: md5hex of the issuer attributes in
-- reverse order as "name=value" joined by "," followed by the decimal
-- serial; the root SN joins with "_" the SNs of the bundle's RSA-signed
-- certificates (signature OID 1.2.840.113549.1.1.*), others (SM2) skipped
-- (https://opendocs.alipay.com/common/02kipk "公钥证书方式").
--
-- Pay methods: alipay.qr (alipay.trade.precreate, a QR the buyer scans),
-- alipay.barcode (alipay.trade.pay scene bar_code: we scan the buyer's code;
-- kind micropay, the host queries then cancels), and alipay.wap / alipay.page /
-- alipay.app, which are NOT server calls: the builder returns a LOCAL
-- credential (a signed GET URL for the buyer's browser, or the signed order
-- string the Alipay app SDK takes) and nothing is sent.

local M = {}

local TZ_BEIJING = 480            -- minutes east of UTC
local API = {
  pay = "alipay.trade.precreate",       -- alipay.qr
  pay_barcode = "alipay.trade.pay",     -- alipay.barcode
  pay_wap = "alipay.trade.wap.pay",     -- local credential
  pay_page = "alipay.trade.page.pay",   -- local credential
  pay_app = "alipay.trade.app.pay",     -- local credential
  query = "alipay.trade.query",
  close = "alipay.trade.close",
  cancel = "alipay.trade.cancel",
  refund = "alipay.trade.refund",
  refund_query = "alipay.trade.fastpay.refund.query",
  bill = "alipay.data.dataservice.bill.downloadurl.query",
  payout = "alipay.fund.trans.uni.transfer",
  payout_query = "alipay.fund.trans.common.query",
}
-- which API a pay method calls, and the product_code Alipay expects with it
local PAY_METHODS = {
  ["alipay.qr"] = { api = "pay" },
  ["alipay.barcode"] = { api = "pay_barcode", product_code = "FACE_TO_FACE_PAYMENT" },
  ["alipay.wap"] = { api = "pay_wap", product_code = "QUICK_WAP_WAY", local_kind = "page_url" },
  ["alipay.page"] = { api = "pay_page", product_code = "FAST_INSTANT_TRADE_PAY",
                      local_kind = "page_url" },
  ["alipay.app"] = { api = "pay_app", product_code = "QUICK_MSECURITY_PAY",
                     local_kind = "app_order_string" },
}

M.manifest = {
  channel = "alipay",
  methods = {
    ["alipay.qr"] = { kind = "prepay", currencies = { "CNY" },
                      min_amount = 1, max_amount = 10000000000 },
    ["alipay.barcode"] = { kind = "micropay", currencies = { "CNY" },
                           min_amount = 1, max_amount = 10000000000 },
    ["alipay.wap"] = { kind = "prepay", currencies = { "CNY" },
                       min_amount = 1, max_amount = 10000000000 },
    ["alipay.page"] = { kind = "prepay", currencies = { "CNY" },
                        min_amount = 1, max_amount = 10000000000 },
    ["alipay.app"] = { kind = "prepay", currencies = { "CNY" },
                       min_amount = 1, max_amount = 10000000000 },
  },
  -- alipay.barcode orchestration (the host's): Alipay's barcode guide
  -- (https://opendocs.alipay.com/open/194/106039, "当面付 条码支付 接入指南",
  -- section 10003 / 轮询): code 10003 = waiting for the buyer (password);
  -- query alipay.trade.query about every 5 s for about 30 s; when still not
  -- paid, call alipay.trade.cancel (retry while retry_flag = Y).
  micropay = { poll_ms = 5000, give_up_after_ms = 30000, reverse_not_before_ms = 0,
               reverse_op = "cancel", reverse_retry_ms = 5000, reverse_max = 5 },
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
  mask = { "sign", "app_auth_token", "buyer_logon_id", "buyer_id", "buyer_user_id",
           "auth_code", "identity", "name" },
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

-- Issuer attribute names as @fidm/x509 (alipay-sdk's reader) spells them:
-- any other attribute gets an empty name there, so it does here.
local FIDM_NAMES = { C = true, ST = true, L = true, O = true, OU = true, CN = true, E = true }

-- The SN of one certificate (gw.crypto.cert_info entry); see the header.
local function cert_sn(c)
  local parts = {}
  for i = #c.issuer, 1, -1 do
    local a = c.issuer[i]
    parts[#parts + 1] = (FIDM_NAMES[a[1]] and a[1] or "") .. "=" .. a[2]
  end
  return gw.crypto.md5(table.concat(parts, ",") .. c.serial_dec)
end

-- SNs by key name: certificates are cached per pack version by the host,
-- so their SNs may be too (a rotated certificate needs a reload anyway)
local SN_CACHE = {}

local function app_cert_sn(name)
  local key = "app:" .. name
  if SN_CACHE[key] == nil then
    SN_CACHE[key] = cert_sn(gw.crypto.cert_info(name)[1])
  end
  return SN_CACHE[key]
end

local function root_cert_sn(name)
  local key = "root:" .. name
  if SN_CACHE[key] == nil then
    local sns = {}
    for _, c in ipairs(gw.crypto.cert_info(name)) do
      if c.sig_alg_oid:sub(1, 18) == "1.2.840.113549.1.1" then
        sns[#sns + 1] = cert_sn(c)
      end
    end
    if #sns == 0 then
      error("alipay: alipay_root_cert " .. name .. " holds no RSA certificate", 0)
    end
    SN_CACHE[key] = table.concat(sns, "_")
  end
  return SN_CACHE[key]
end

-- certificate mode: nil (public-key mode) or the three key names
local function cert_mode(cfg)
  local n, names = 0, {}
  for _, k in ipairs({ "app_cert", "alipay_root_cert", "alipay_public_cert" }) do
    if type(cfg[k]) == "string" and cfg[k] ~= "" then
      n = n + 1
      names[k] = cfg[k]
    end
  end
  if n == 0 then return nil end
  if n < 3 then
    error("alipay: certificate mode needs app_cert, alipay_root_cert and alipay_public_cert", 0)
  end
  return names
end

-- the common parameters + sign (docs: https://opendocs.alipay.com/common/02kf5q
-- "公共请求参数" and https://opendocs.alipay.com/common/02kf5p "自行实现签名")
local function signed_params(ctx, api, biz, notify_url, return_url)
  local cfg = ctx.config
  local p = {
    app_id = need(cfg.app_id, "config app_id"),
    method = API[api],
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
  if return_url ~= nil and return_url ~= "" then
    p.return_url = return_url
  end
  if type(cfg.app_auth_token) == "string" and cfg.app_auth_token ~= "" then
    p.app_auth_token = cfg.app_auth_token
  end
  local certs = cert_mode(cfg)
  if certs ~= nil then
    p.app_cert_sn = app_cert_sn(certs.app_cert)
    p.alipay_root_cert_sn = root_cert_sn(certs.alipay_root_cert)
  end
  local to_sign = gw.form.sign_string(p, { exclude = { "sign" }, skip_empty = true })
  p.sign = gw.crypto.sign(need(cfg.app_private_key, "config app_private_key"), "RSA2",
                          to_sign)
  return p
end

local function request(ctx, api, biz, notify_url)
  return {
    method = "POST",
    url = need(ctx.endpoint, "endpoint"),
    content_type = "application/x-www-form-urlencoded;charset=utf-8",
    headers = {},
    body = gw.form.encode(signed_params(ctx, api, biz, notify_url)),
  }
end

local function trade_ref(order)
  local biz = { out_trade_no = need(order.out_trade_no, "out_trade_no") }
  if type(order.channel_trade_no) == "string" and order.channel_trade_no ~= "" then
    biz.trade_no = order.channel_trade_no
  end
  return biz
end

local function extra(order, k)
  local e = order.extra
  if type(e) == "table" and type(e[k]) == "string" and e[k] ~= "" then
    return e[k]
  end
  return nil
end

-- an amount in fen within the manifest's limits -> "yuan.fen"
local function yuan(amount, what)
  if math.type(amount) ~= "integer" or amount < M.manifest.min_amount
     or amount > M.manifest.max_amount then
    error("alipay: " .. what .. " must be an integer in 1..10000000000 fen", 0)
  end
  return gw.amount.to_decimal(amount, 2)
end

local function cny(currency)
  if currency ~= nil and currency ~= "CNY" then
    error("alipay: currency " .. tostring(currency) .. " is not supported", 0)
  end
end

-- timeout_express is in whole minutes, 1m .. 15d
local function timeout_express(order)
  local expire = order.expire_seconds
  if math.type(expire) == "integer" and expire > 0 then
    local minutes = (expire + 59) // 60
    if minutes > 21600 then minutes = 21600 end
    return minutes .. "m"
  end
  return nil
end

M.build = {}

-- pay: alipay.qr = alipay.trade.precreate (a QR code the buyer scans);
-- alipay.barcode = alipay.trade.pay (https://opendocs.alipay.com/open/02ekfp);
-- alipay.wap / page / app: a local credential, nothing is sent
-- (https://opendocs.alipay.com/open/02ivbs wap, /open/028r8t page,
-- /open/02e7gq app "alipay.trade.app.pay" order string).
function M.build.pay(order, ctx)
  local method = order.method or "alipay.qr"
  local pm = PAY_METHODS[method]
  if pm == nil then
    error("alipay: method " .. tostring(method) .. " is not offered", 0)
  end
  if order.currency ~= "CNY" then
    error("alipay: currency " .. tostring(order.currency) .. " is not supported", 0)
  end
  local biz = {
    out_trade_no = need(order.out_trade_no, "out_trade_no"),
    total_amount = yuan(order.amount, "amount"),
    subject = (type(order.subject) == "string" and order.subject ~= "")
              and order.subject or order.out_trade_no,
    timeout_express = timeout_express(order),
    product_code = pm.product_code,
  }
  if method == "alipay.barcode" then
    biz.scene = "bar_code"
    biz.auth_code = extra(order, "auth_code")
    if biz.auth_code == nil then
      error("alipay: alipay.barcode needs extra.auth_code (the buyer's payment code)", 0)
    end
  elseif method == "alipay.wap" then
    biz.quit_url = extra(order, "quit_url")
  end
  if pm.local_kind == nil then
    return request(ctx, pm.api, biz, order.notify_url)
  end
  local p = signed_params(ctx, pm.api, biz, order.notify_url,
                          pm.local_kind == "page_url" and extra(order, "return_url") or nil)
  if pm.local_kind == "app_order_string" then
    return { credential = { type = "app_order_string", order_string = gw.form.encode(p) } }
  end
  local gateway = need(ctx.endpoint, "endpoint")
  local sep = gateway:find("?", 1, true) and "&" or "?"
  return { credential = { type = "page_url", url = gateway .. sep .. gw.form.encode(p) } }
end

-- query = alipay.trade.query
function M.build.query(order, ctx)
  return request(ctx, "query", trade_ref(order))
end

-- close = alipay.trade.close (an unpaid trade can no longer be paid)
function M.build.close(order, ctx)
  return request(ctx, "close", trade_ref(order))
end

-- cancel = alipay.trade.cancel (reverse a barcode pay: closes it if unpaid,
-- refunds it if paid; https://opendocs.alipay.com/open/02ekfi)
function M.build.cancel(order, ctx)
  return request(ctx, "cancel", trade_ref(order))
end

local function refund_of(order)
  local r = order.refund
  if type(r) ~= "table" then
    error("alipay: order.refund is required", 0)
  end
  return r
end

-- refund = alipay.trade.refund (https://opendocs.alipay.com/open/02ekfk);
-- out_request_no = out_refund_no makes a retry idempotent
function M.build.refund(order, ctx)
  local r = refund_of(order)
  cny(order.currency)
  local biz = trade_ref(order)
  biz.refund_amount = yuan(r.amount, "refund.amount")
  biz.out_request_no = need(r.out_refund_no, "refund.out_refund_no")
  if type(r.reason) == "string" and r.reason ~= "" then
    biz.refund_reason = r.reason
  end
  return request(ctx, "refund", biz)
end

-- refund_query = alipay.trade.fastpay.refund.query
-- (https://opendocs.alipay.com/open/02ekfl); query_options asks for
-- refund_status and the refund time
function M.build.refund_query(order, ctx)
  local r = refund_of(order)
  local biz = trade_ref(order)
  biz.out_request_no = need(r.out_refund_no, "refund.out_refund_no")
  biz.query_options = setmetatable({ "gmt_refund_pay" }, gw.json.array_mt)
  return request(ctx, "refund_query", biz)
end

-- bill = alipay.data.dataservice.bill.downloadurl.query
-- (https://opendocs.alipay.com/open/02e7gr): the short-lived URL of the
-- day's trade statement; order.bill = {date = "yyyy-MM-dd"} (or bill_date)
function M.build.bill(order, ctx)
  local date = (type(order.bill) == "table" and order.bill.date) or order.bill_date
  if type(date) ~= "string" or not date:match("^%d%d%d%d%-%d%d%-%d%d$") then
    error("alipay: bill date must be yyyy-MM-dd", 0)
  end
  local bill_type = "trade"
  if type(order.bill) == "table" and order.bill.type == "signcustomer" then
    bill_type = "signcustomer"
  end
  return request(ctx, "bill", { bill_type = bill_type, bill_date = date })
end

local function payout_of(order)
  local p = order.payout
  if type(p) ~= "table" then
    error("alipay: order.payout is required", 0)
  end
  return p
end

-- payout = alipay.fund.trans.uni.transfer to an Alipay account
-- (https://opendocs.alipay.com/open/02byuo): TRANS_ACCOUNT_NO_PWD /
-- DIRECT_TRANSFER, payee by login id (+ real name, checked by Alipay)
function M.build.payout(order, ctx)
  local p = payout_of(order)
  cny(p.currency)
  local payee = p.payee
  if type(payee) ~= "table" then
    error("alipay: payout.payee is required", 0)
  end
  local biz = {
    out_biz_no = need(p.out_payout_no, "payout.out_payout_no"),
    trans_amount = yuan(p.amount, "payout.amount"),
    product_code = "TRANS_ACCOUNT_NO_PWD",
    biz_scene = "DIRECT_TRANSFER",
    order_title = (type(p.remark) == "string" and p.remark ~= "") and p.remark
                  or p.out_payout_no,
    payee_info = {
      identity = need(payee.account_no, "payout.payee.account_no"),
      identity_type = "ALIPAY_LOGON_ID",
      name = (type(payee.account_name) == "string" and payee.account_name ~= "")
             and payee.account_name or nil,
    },
    remark = (type(p.remark) == "string" and p.remark ~= "") and p.remark or nil,
  }
  return request(ctx, "payout", biz)
end

-- payout_query = alipay.fund.trans.common.query
-- (https://opendocs.alipay.com/open/02byup): by out_biz_no (with its
-- product_code and biz_scene), or by Alipay's order_id once known
function M.build.payout_query(order, ctx)
  local p = payout_of(order)
  local biz = {
    out_biz_no = need(p.out_payout_no, "payout.out_payout_no"),
    product_code = "TRANS_ACCOUNT_NO_PWD",
    biz_scene = "DIRECT_TRANSFER",
  }
  if type(p.channel_payout_no) == "string" and p.channel_payout_no ~= "" then
    biz.order_id = p.channel_payout_no
  end
  return request(ctx, "payout_query", biz)
end

return M
