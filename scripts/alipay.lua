-- scripts/alipay.lua -- Alipay OpenAPI v2: code lists, response parsers and
-- the async-notify verifier of the alipay pack (builders: templates/alipay.lua).
--
-- The host classifies; this file only extracts one code per answer:
--   * code "10000" on pay / close          -> "10000"
--   * code "10000" on query                -> trade_status (e.g. TRADE_SUCCESS)
--   * barcode pay (alipay.trade.pay)       -> "10000" only when trade_status is
--                                             absent or paid, else "10000:<status>";
--                                             "10003" (waiting for the buyer)
--   * cancel                               -> code, plus ":retry" when retry_flag=Y
--   * refund                               -> "10000" only with fund_change=Y,
--                                             else "10000:fund_change_N"
--   * refund_query                         -> refund_status (REFUND_SUCCESS), "10000"
--                                             with refund data but no status,
--                                             "REFUND_NOT_EXIST" when nothing came back
--   * payout / payout_query                -> status (SUCCESS, DEALING, FAIL, ...)
--   * any other code                       -> code .. ":" .. sub_code
--                                             (e.g. "40004:ACQ.TRADE_NOT_EXIST")
-- Also S.statement(text, ctx): the GBK trade statement CSV -> rows + totals.
-- A response is trusted only after its RSA2 signature verifies over the RAW
-- text of "<method>_response" exactly as received (gw.json.raw_member, never
-- re-serialised).  Missing or bad signature -> error "response signature
-- invalid" -> PROCESSING, whatever the code says (this includes Alipay's
-- unsigned gateway errors such as 40001/40002 on a bad app_id: they stay
-- PROCESSING, never FAILED, never NOT_SENT without a signature).
-- Certificate mode (ctx.config app_cert + alipay_root_cert +
-- alipay_public_cert, see templates/alipay.lua): answers and notifies are
-- verified with the public key of alipay_public_cert, and an answer whose
-- alipay_cert_sn is not that certificate's SN is not trusted ("Alipay
-- certificate changed": Alipay rotated its certificate; install the new
-- alipayCertPublicKey_RSA2.crt and reload) -> PROCESSING, never FAILED.

local S = {}

local DOC_PRECREATE = "https://opendocs.alipay.com/open/02ekfg"    -- alipay.trade.precreate
local DOC_QUERY = "https://opendocs.alipay.com/open/02ekfh"        -- alipay.trade.query
local DOC_CLOSE = "https://opendocs.alipay.com/open/02o6e7"        -- alipay.trade.close
local DOC_COMMON = "https://opendocs.alipay.com/common/02km9f"     -- public (gateway) error codes
local DOC_NOTIFY = "https://opendocs.alipay.com/open/194/103296"   -- async notify, trade_status
-- alipay.trade.pay, "响应参数" + "业务错误码" (and the barcode guide
-- https://opendocs.alipay.com/open/194/106039 for 10003 / 20000 handling)
local DOC_PAY = "https://opendocs.alipay.com/open/02ekfp"
-- Alipay's face-to-face API error table in English (a mirror of the open
-- platform's article 104632), read for the pay lists
local DOC_F2F_EN = "https://open.alitrip.com/docs/doc.htm?articleId=104632&docType=1&treeId=140"
local DOC_CANCEL = "https://opendocs.alipay.com/open/02ekfi"        -- alipay.trade.cancel
local DOC_REFUND = "https://opendocs.alipay.com/open/02ekfk"        -- alipay.trade.refund
local DOC_REFUND_QUERY = "https://opendocs.alipay.com/open/02ekfl"  -- fastpay.refund.query
-- alipay.data.dataservice.bill.downloadurl.query, "业务错误码"
local DOC_BILL = "https://opendocs.alipay.com/open/02e7gr"
local DOC_TRANSFER = "https://opendocs.alipay.com/open/02byuo"      -- fund.trans.uni.transfer
local DOC_TRANS_QUERY = "https://opendocs.alipay.com/open/02byup"   -- fund.trans.common.query
-- refund notifies: the trade notify again, with refund_fee / gmt_refund /
-- out_biz_no (https://opendocs.alipay.com/open/194/103296 "退款通知")
local DOC_REFUND_NOTIFY = "https://opendocs.alipay.com/open/194/103296"

-- Public gateway errors: the OpenAPI gateway rejects the call (auth, missing
-- or invalid common parameter, permission) before any business processing,
-- so no trade was created or changed.  Only honoured on a signed answer.
local GATEWAY_REJECTED = {
  "20001:aop.invalid-auth-token", "20001:aop.auth-token-time-out",
  "20001:aop.invalid-app-auth-token", "20001:aop.invalid-app-auth-token-no-api",
  "20001:aop.app-auth-token-time-out",
  "40001:isv.missing-method", "40001:isv.missing-signature",
  "40001:isv.missing-signature-type", "40001:isv.missing-app-id",
  "40001:isv.missing-timestamp", "40001:isv.missing-version",
  "40002:isv.invalid-method", "40002:isv.invalid-format",
  "40002:isv.invalid-signature-type", "40002:isv.invalid-signature",
  "40002:isv.invalid-encrypt-type", "40002:isv.invalid-app-id",
  "40002:isv.invalid-timestamp", "40002:isv.invalid-charset",
  "40006:isv.insufficient-isv-permissions",
}

S.codes = {
  pay = {
    -- 10000 = the QR code exists; the host keeps a prepay order PROCESSING
    success = { source = DOC_PRECREATE, codes = { "10000" } },
    -- definitive business refusals of precreate for this out_trade_no
    -- precreate (DOC_PRECREATE) and trade.pay (DOC_PAY) share one list: the
    -- first seven are final refusals of this out_trade_no by either API (also
    -- in Alipay's F2F error table, DOC_F2F_EN: "resend the request after
    -- fixing ..." / "update the out_trade_no"); the rest are barcode codes (DOC_PAY "业务错误码") whose documented solution
    -- is "the buyer must refresh the code / pay another way" -- the payment
    -- did not and cannot happen with this request.  Not here (PROCESSING, the
    -- host queries then cancels): ACQ.PAYMENT_FAIL, PULL_MOBILE_CASHIER_FAIL.
    failure = { source = DOC_PRECREATE .. " ; " .. DOC_PAY .. " ; " .. DOC_F2F_EN, codes = {
      "40004:ACQ.INVALID_PARAMETER", "40004:ACQ.ACCESS_FORBIDDEN",
      "40004:ACQ.EXIST_FORBIDDEN_WORD", "40004:ACQ.PARTNER_ERROR",
      "40004:ACQ.TOTAL_FEE_EXCEED",
      "40004:ACQ.TRADE_HAS_CLOSE", "40004:ACQ.BUYER_SELLER_EQUAL",
      "40004:ACQ.PAYMENT_AUTH_CODE_INVALID", "40004:ACQ.BUYER_BALANCE_NOT_ENOUGH",
      "40004:ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH",
      "40004:ACQ.ERROR_BALANCE_PAYMENT_DISABLE", "40004:ACQ.BUYER_ENABLE_STATUS_FORBID",
      "40004:ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR",
      "40004:ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR",
      "40004:ACQ.PAYMENT_REQUEST_HAS_RISK", "40004:ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE",
      "40004:ACQ.MOBILE_PAYMENT_SWITCH_OFF",
    } },
    -- in doubt: the trade may exist / be paid (TRADE_HAS_SUCCESS!) -> query.
    -- CONTEXT_INCONSISTENT: a trade already exists under this out_trade_no
    -- with other details (app-pay error table: "确认该笔交易信息是否为当前买家的
    -- 已存订单"; DOC_F2F_EN "the old information mismatches") -- it may be paid.
    -- 10003 = barcode waiting for the buyer's password; 20000 = unknown
    -- (DOC_PAY: "query, then cancel"); a 10000 with an unpaid trade_status.
    processing = { source = DOC_PAY, codes = {
      "40004:ACQ.SYSTEM_ERROR", "40004:ACQ.TRADE_HAS_SUCCESS",
      "40004:ACQ.TRADE_BUYER_NOT_MATCH", "40004:ACQ.CONTEXT_INCONSISTENT",
      "20000:isp.unknow-error",
      "20000:aop.unknow-error", "20000", "10003", "10000:WAIT_BUYER_PAY",
      "40004:ACQ.PAYMENT_FAIL", "40004:ACQ.PULL_MOBILE_CASHIER_FAIL",
    } },
    rejected = { source = DOC_COMMON, codes = GATEWAY_REJECTED },
  },
  query = {
    success = { source = DOC_QUERY, codes = { "TRADE_SUCCESS", "TRADE_FINISHED" } },
    closed = { source = DOC_QUERY, codes = { "TRADE_CLOSED" } },
    -- TRADE_PENDING (等待卖家收款): the buyer paid but the seller's account
    -- cannot take it yet -- not final either way
    processing = { source = DOC_QUERY, codes = {
      "WAIT_BUYER_PAY", "TRADE_PENDING", "40004:ACQ.SYSTEM_ERROR", "20000:isp.unknow-error",
    } },
    -- normal before the buyer scans a precreate QR: never FAILED on this
    not_found = { source = DOC_QUERY, codes = { "40004:ACQ.TRADE_NOT_EXIST" } },
  },
  close = {
    -- ":EXPIRED" is ours: TRADE_NOT_EXIST once the order's timeout_express
    -- (sent with the precreate, DOC_PRECREATE: "the latest time to pay; past
    -- it the trade is closed") has passed by a minute — the QR can no longer
    -- be paid, so the close is confirmed (S.parse.close)
    success = { source = DOC_CLOSE, codes = { "10000", "40004:ACQ.TRADE_NOT_EXIST:EXPIRED" } },
    not_found = { source = DOC_CLOSE, codes = { "40004:ACQ.TRADE_NOT_EXIST" } },
    processing = { source = DOC_CLOSE, codes = {
      "40004:ACQ.SYSTEM_ERROR", "40004:ACQ.TRADE_STATUS_ERROR",
    } },
  },
  cancel = {
    -- 10000: the trade is closed (action close) or refunded (action refund);
    -- either way it is over for the merchant
    success = { source = DOC_CANCEL, codes = { "10000" } },
    -- "超过撤销时间范围": this cancel can never happen (the trade may be paid!)
    failure = { source = DOC_CANCEL, codes = { "40004:ACQ.TRADE_CANCEL_TIME_OUT" } },
    -- retry_flag = Y: call cancel again (fields.recall = true)
    processing = { source = DOC_CANCEL, codes = {
      "10000:retry", "40004:ACQ.SYSTEM_ERROR:retry", "40004:ACQ.SYSTEM_ERROR",
      "20000:isp.unknow-error", "40004:ACQ.REASON_TRADE_BEEN_FREEZEN",
    } },
    not_found = { source = DOC_CANCEL, codes = { "40004:ACQ.TRADE_NOT_EXIST" } },
  },
  refund = {
    -- 10000 + fund_change = Y: the money moved (DOC_REFUND "响应参数"); with
    -- fund_change = N the refund may still be in progress: query it
    success = { source = DOC_REFUND, codes = { "10000" } },
    -- final refusals of this refund: nothing was or will be refunded by it
    failure = { source = DOC_REFUND, codes = {
      "40004:ACQ.TRADE_STATUS_ERROR", "40004:ACQ.TRADE_HAS_FINISHED",
      "40004:ACQ.INVALID_PARAMETER",
    } },
    -- REFUND_AMT_NOT_EQUAL_TOTAL: this out_request_no already exists with
    -- another amount -- a refund under it may have happened: never FAILED
    processing = { source = DOC_REFUND, codes = {
      "10000:fund_change_N", "40004:ACQ.SYSTEM_ERROR", "20000:isp.unknow-error",
      "40004:ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "40004:ACQ.REASON_TRADE_BEEN_FREEZEN",
      -- the seller tops up and the same out_request_no is sent again (DOC_REFUND:
      -- "一笔退款失败后重新提交，要保证重试时退款请求号不能变更"): not final
      "40004:ACQ.SELLER_BALANCE_NOT_ENOUGH",
    } },
    -- the trade is unknown: not proof about any money (query the trade)
    not_found = { source = DOC_REFUND, codes = { "40004:ACQ.TRADE_NOT_EXIST" } },
  },
  refund_query = {
    success = { source = DOC_REFUND_QUERY, codes = { "REFUND_SUCCESS" } },
    -- 10000 with refund data but no refund_status: older answer form, not
    -- proof by itself here; ask again
    processing = { source = DOC_REFUND_QUERY, codes = {
      "10000", "40004:ACQ.SYSTEM_ERROR", "20000:isp.unknow-error",
    } },
    -- DOC_REFUND_QUERY: "if nothing is returned the refund did not (yet)
    -- succeed; retry the refund with the same out_request_no"
    not_found = { source = DOC_REFUND_QUERY, codes = {
      "REFUND_NOT_EXIST", "40004:ACQ.TRADE_NOT_EXIST",
    } },
  },
  bill = {
    success = { source = DOC_BILL, codes = { "10000" } },
    -- no statement for that date (yet): "isp.bill_not_exist"
    not_found = { source = DOC_BILL, codes = { "40004:isp.bill_not_exist" } },
    failure = { source = DOC_BILL, codes = {
      "40004:isv.invalid-arguments", "40004:isp.bill_date_error",
    } },
    processing = { source = DOC_BILL, codes = { "20000:isp.unknow-error" } },
  },
  payout = {
    -- status of the transfer order (DOC_TRANSFER "响应参数 status")
    success = { source = DOC_TRANSFER, codes = { "SUCCESS" } },
    -- strictest reading: only "this payee does not exist / is not who you
    -- named" is final; balance, limits, risk and FAIL itself -> query
    failure = { source = DOC_TRANSFER, codes = {
      "40004:PAYEE_NOT_EXIST", "40004:PAYEE_USER_INFO_ERROR",
    } },
    processing = { source = DOC_TRANSFER, codes = {
      "DEALING", "WAIT_PAY", "INIT", "FAIL", "40004:SYSTEM_ERROR",
      "40004:PAYER_BALANCE_NOT_ENOUGH", "20000:isp.unknow-error",
    } },
  },
  payout_query = {
    success = { source = DOC_TRANS_QUERY, codes = { "SUCCESS" } },
    -- DOC_TRANS_QUERY "status": FAIL = failed (reason in fail_reason)
    failure = { source = DOC_TRANS_QUERY, codes = { "FAIL" } },
    -- REFUND = paid, then returned (bank card 退票): neither; a human looks
    processing = { source = DOC_TRANS_QUERY, codes = {
      "DEALING", "WAIT_PAY", "INIT", "REFUND", "40004:SYSTEM_ERROR",
      "20000:isp.unknow-error",
    } },
    not_found = { source = DOC_TRANS_QUERY, codes = { "40004:ORDER_NOT_EXIST" } },
  },
  notify = {
    success = { source = DOC_NOTIFY .. " ; " .. DOC_REFUND_NOTIFY,
                codes = { "TRADE_SUCCESS", "TRADE_FINISHED", "REFUND_SUCCESS" } },
    closed = { source = DOC_NOTIFY, codes = { "TRADE_CLOSED" } },
    processing = { source = DOC_NOTIFY, codes = { "WAIT_BUYER_PAY", "TRADE_PENDING" } },
  },
}

local TIME_FMT = "yyyy-MM-dd HH:mm:ss"
local TZ_BEIJING = 480

local function str(v)
  return type(v) == "string" and v or nil
end

-- The SN of a certificate as alipay-sdk computes it (same rule as
-- templates/alipay.lua: issuer attributes reversed "name=value" joined by
-- ",", names as @fidm/x509 spells them, then the decimal serial; md5 hex).
local FIDM_NAMES = { C = true, ST = true, L = true, O = true, OU = true, CN = true, E = true }
local SN_CACHE = {}        -- by key name; certificates are cached per pack version too

local function cert_sn(name)
  if SN_CACHE[name] == nil then
    local c, parts = gw.crypto.cert_info(name)[1], {}
    for i = #c.issuer, 1, -1 do
      local a = c.issuer[i]
      parts[#parts + 1] = (FIDM_NAMES[a[1]] and a[1] or "") .. "=" .. a[2]
    end
    SN_CACHE[name] = gw.crypto.md5(table.concat(parts, ",") .. c.serial_dec)
  end
  return SN_CACHE[name]
end

-- The key that verifies Alipay: alipay_public_cert in certificate mode
-- (then also its SN), else channel_public_key.
local function alipay_key(cfg)
  local cert = cfg.alipay_public_cert
  if type(cert) == "string" and cert ~= "" then
    return cert, cert_sn(cert)
  end
  return cfg.channel_public_key, nil
end

-- nil, or the error of an answer / notify signed under another Alipay certificate
local function cert_changed(theirs, ours)
  if ours ~= nil and theirs ~= nil and theirs ~= ours then
    return "Alipay certificate changed: alipay_cert_sn " .. tostring(theirs)
           .. " is not the SN of the configured alipay_public_cert (" .. ours
           .. "); install Alipay's new alipayCertPublicKey_RSA2.crt and reload"
  end
  return nil
end

-- Decode, locate and verify "<api>_response" (or "error_response").
-- Returns body-table r, code, nil on success; or nil, code-or-nil, error.
local function open_response(resp, api, ctx)
  if resp.status ~= 200 then
    return nil, nil, "HTTP status " .. tostring(resp.status)
  end
  -- a full decode first: well-formed JSON, no duplicated member anywhere
  local all, jerr = gw.json.decode(resp.body)
  if type(all) ~= "table" then
    return nil, nil, "response is not a JSON object: " .. tostring(jerr)
  end
  local key = api:gsub("%.", "_") .. "_response"
  local raw = gw.json.raw_member(resp.body, key)
  if raw == nil then
    key = "error_response"
    raw = gw.json.raw_member(resp.body, key)
  end
  if raw == nil then
    return nil, nil, "no " .. api:gsub("%.", "_") .. "_response in the answer"
  end
  local r = gw.json.decode(raw)
  if type(r) ~= "table" or type(r.code) ~= "string" then
    return nil, nil, key .. " has no code"
  end
  local code = r.code
  if code ~= "10000" and str(r.sub_code) ~= nil then
    code = r.code .. ":" .. r.sub_code
  end
  local sign = str(all.sign)
  local key_name, our_sn = alipay_key(ctx.config)
  local changed = cert_changed(str(all.alipay_cert_sn), our_sn)
  if changed ~= nil then
    return nil, code, changed
  end
  if sign == nil or sign == "" or type(key_name) ~= "string"
     or not gw.crypto.verify(key_name, "RSA2", raw, sign) then
    return nil, code, "response signature invalid"
  end
  return r, code, nil
end

local function failed(code, err)
  return { code = code, error = err, verified = false }
end

local function same_trade(r, order)
  if order ~= nil and type(order.out_trade_no) == "string" and r.out_trade_no ~= nil
     and r.out_trade_no ~= order.out_trade_no then
    return false
  end
  return true
end

S.parse = {}

local function amount_of(v)
  if str(v) == nil then return nil end
  local ok, a = pcall(gw.amount.from_decimal, v, 2)
  if ok then return a end
  return nil
end

-- barcode pay = alipay.trade.pay: 10000 is paid (unless an unpaid
-- trade_status says otherwise), 10003 waits for the buyer
local function parse_barcode(resp, order, ctx)
  local r, code, err = open_response(resp, ctx.manifest.api.pay_barcode, ctx)
  if r == nil then return failed(code, err) end
  local fields = {
    out_trade_no = str(r.out_trade_no),
    channel_trade_no = str(r.trade_no),
    msg = str(r.sub_msg) or str(r.msg),
  }
  if code ~= "10000" then
    return { code = code, verified = true, fields = fields }
  end
  if not same_trade(r, order) then
    return { code = "", verified = true, fields = fields,
             error = "out_trade_no in the answer differs" }
  end
  local status = str(r.trade_status)
  if status ~= nil and status ~= "TRADE_SUCCESS" and status ~= "TRADE_FINISHED" then
    return { code = "10000:" .. status, verified = true, fields = fields }
  end
  fields.amount = amount_of(r.total_amount)
  if fields.amount == nil or (order ~= nil and math.type(order.amount) == "integer"
                              and fields.amount ~= order.amount) then
    return { code = code, verified = true, fields = fields,
             error = "paid amount missing or differs from the order amount" }
  end
  if str(r.gmt_payment) ~= nil then
    fields.paid_at_ms = gw.time.parse(r.gmt_payment, TIME_FMT, TZ_BEIJING)
  end
  return { code = code, verified = true, fields = fields }
end

function S.parse.pay(resp, order, ctx)
  if order ~= nil and order.method == "alipay.barcode" then
    return parse_barcode(resp, order, ctx)
  end
  if order ~= nil and order.method ~= nil and order.method ~= "alipay.qr" then
    -- wap / page / app are built locally and never sent: no answer to read
    return { code = "", verified = false,
             error = "method " .. tostring(order.method) .. " has no server answer" }
  end
  local r, code, err = open_response(resp, ctx.manifest.api.pay, ctx)
  if r == nil then return failed(code, err) end
  if code ~= "10000" then
    return { code = code, verified = true, fields = { msg = str(r.sub_msg) or str(r.msg) } }
  end
  if not same_trade(r, order) then
    return { code = code, verified = true, error = "out_trade_no in the answer differs" }
  end
  if str(r.qr_code) == nil or r.qr_code == "" then
    return { code = code, verified = true, error = "precreate answer has no qr_code" }
  end
  return {
    code = code,
    verified = true,
    fields = {
      out_trade_no = str(r.out_trade_no),
      credential = { type = "qr_code", qr_code = r.qr_code },
    },
  }
end

function S.parse.query(resp, order, ctx)
  local r, code, err = open_response(resp, ctx.manifest.api.query, ctx)
  if r == nil then return failed(code, err) end
  if code ~= "10000" then
    return { code = code, verified = true, fields = { msg = str(r.sub_msg) or str(r.msg) } }
  end
  if not same_trade(r, order) then
    return { code = "", verified = true, error = "out_trade_no in the answer differs" }
  end
  local fields = {
    channel_trade_no = str(r.trade_no),
    trade_status = str(r.trade_status),
  }
  if str(r.total_amount) ~= nil then
    fields.amount = gw.amount.from_decimal(r.total_amount, 2)
    if order ~= nil and math.type(order.amount) == "integer" and fields.amount ~= order.amount
       and (r.trade_status == "TRADE_SUCCESS" or r.trade_status == "TRADE_FINISHED") then
      return { code = str(r.trade_status) or "", verified = true, fields = fields,
               error = "paid amount differs from the order amount" }
    end
  end
  if str(r.send_pay_date) ~= nil then
    fields.paid_at_ms = gw.time.parse(r.send_pay_date, TIME_FMT, TZ_BEIJING)
  end
  -- 10000 without a trade_status proves nothing: code "" -> PROCESSING
  return { code = str(r.trade_status) or "", verified = true, fields = fields }
end

-- the precreate's timeout_express in ms (whole minutes, as the template
-- rounds it), or nil when the order does not say when it was created
local function paid_by_ms(order)
  if order == nil or math.type(order.created_at_ms) ~= "integer"
     or math.type(order.expire_seconds) ~= "integer" or order.expire_seconds <= 0 then
    return nil
  end
  return order.created_at_ms + ((order.expire_seconds + 59) // 60) * 60000
end

function S.parse.close(resp, order, ctx)
  local r, code, err = open_response(resp, ctx.manifest.api.close, ctx)
  if r == nil then return failed(code, err) end
  if code == "40004:ACQ.TRADE_NOT_EXIST" then
    -- never created (the QR was not scanned): before the payment deadline
    -- the buyer may still pay, so it is only "not found"; a minute past it
    -- nothing can pay it any more, and the close is confirmed
    local by = paid_by_ms(order)
    if by ~= nil and gw.time.now_ms() > by + 60000 then
      return { code = code .. ":EXPIRED", verified = true, fields = { msg = str(r.sub_msg) } }
    end
  end
  if code == "10000" and not same_trade(r, order) then
    return { code = code, verified = true, error = "out_trade_no in the answer differs" }
  end
  return { code = code, verified = true,
           fields = { channel_trade_no = str(r.trade_no), msg = str(r.sub_msg) } }
end

-- cancel = alipay.trade.cancel: action close|refund; retry_flag = Y asks
-- for another cancel (fields.recall)
function S.parse.cancel(resp, order, ctx)
  local r, code, err = open_response(resp, ctx.manifest.api.cancel, ctx)
  if r == nil then return failed(code, err) end
  local fields = { channel_trade_no = str(r.trade_no), action = str(r.action),
                   msg = str(r.sub_msg) }
  if r.retry_flag == "Y" then
    fields.recall = true
    return { code = code .. ":retry", verified = true, fields = fields }
  end
  if code == "10000" and not same_trade(r, order) then
    return { code = code, verified = true, fields = fields,
             error = "out_trade_no in the answer differs" }
  end
  return { code = code, verified = true, fields = fields }
end

local function refund_no(order)
  local rf = order ~= nil and order.refund or nil
  return type(rf) == "table" and rf or {}
end

-- refund = alipay.trade.refund: fund_change = Y is the only proof
function S.parse.refund(resp, order, ctx)
  local r, code, err = open_response(resp, ctx.manifest.api.refund, ctx)
  if r == nil then return failed(code, err) end
  local fields = { channel_trade_no = str(r.trade_no), msg = str(r.sub_msg),
                   refund_fee = amount_of(r.refund_fee) }
  if code ~= "10000" then
    return { code = code, verified = true, fields = fields }
  end
  if not same_trade(r, order) then
    return { code = "", verified = true, fields = fields,
             error = "out_trade_no in the answer differs" }
  end
  if r.fund_change ~= "Y" then
    fields.refund_status = "PROCESSING"
    return { code = "10000:fund_change_N", verified = true, fields = fields }
  end
  fields.refund_status = "SUCCESS"
  return { code = code, verified = true, fields = fields }
end

-- refund_query = alipay.trade.fastpay.refund.query
function S.parse.refund_query(resp, order, ctx)
  local r, code, err = open_response(resp, ctx.manifest.api.refund_query, ctx)
  if r == nil then return failed(code, err) end
  local fields = { channel_trade_no = str(r.trade_no), msg = str(r.sub_msg),
                   refund_status = str(r.refund_status),
                   out_refund_no = str(r.out_request_no),
                   amount = amount_of(r.refund_amount) }
  if code ~= "10000" then
    return { code = code, verified = true, fields = fields }
  end
  if not same_trade(r, order) then
    return { code = "", verified = true, fields = fields,
             error = "out_trade_no in the answer differs" }
  end
  local rf = refund_no(order)
  if fields.out_refund_no ~= nil and rf.out_refund_no ~= nil
     and fields.out_refund_no ~= rf.out_refund_no then
    return { code = "", verified = true, fields = fields,
             error = "out_request_no in the answer differs" }
  end
  if fields.refund_status == nil then
    if fields.out_refund_no == nil and fields.amount == nil then
      return { code = "REFUND_NOT_EXIST", verified = true, fields = fields }
    end
    return { code = "10000", verified = true, fields = fields }
  end
  if fields.refund_status == "REFUND_SUCCESS" and math.type(rf.amount) == "integer"
     and fields.amount ~= rf.amount then
    return { code = fields.refund_status, verified = true, fields = fields,
             error = "refunded amount missing or differs from the refund amount" }
  end
  if str(r.gmt_refund_pay) ~= nil then
    fields.refunded_at_ms = gw.time.parse(r.gmt_refund_pay, TIME_FMT, TZ_BEIJING)
  end
  return { code = fields.refund_status, verified = true, fields = fields }
end

-- bill = alipay.data.dataservice.bill.downloadurl.query -> download_url
function S.parse.bill(resp, order, ctx)
  local r, code, err = open_response(resp, ctx.manifest.api.bill, ctx)
  if r == nil then return failed(code, err) end
  if code ~= "10000" then
    return { code = code, verified = true, fields = { msg = str(r.sub_msg) } }
  end
  local url = str(r.bill_download_url)
  if url == nil or not url:match("^https?://") then
    return { code = code, verified = true, error = "no bill_download_url in the answer" }
  end
  return { code = code, verified = true,
           fields = { download_url = url, bill_download_url = url } }
end

local function payout_no(order)
  local p = order ~= nil and order.payout or nil
  return type(p) == "table" and p or {}
end

local function parse_transfer(api, resp, order, ctx)
  local r, code, err = open_response(resp, api, ctx)
  if r == nil then return failed(code, err) end
  local fields = { channel_payout_no = str(r.order_id), msg = str(r.sub_msg),
                   pay_fund_order_id = str(r.pay_fund_order_id),
                   payout_status = str(r.status), fail_reason = str(r.fail_reason),
                   amount = amount_of(r.trans_amount) }
  if code ~= "10000" then
    return { code = code, verified = true, fields = fields }
  end
  local p = payout_no(order)
  if str(r.out_biz_no) ~= nil and p.out_payout_no ~= nil
     and r.out_biz_no ~= p.out_payout_no then
    return { code = "", verified = true, fields = fields,
             error = "out_biz_no in the answer differs" }
  end
  local status = str(r.status) or ""
  if status == "SUCCESS" and fields.amount ~= nil and math.type(p.amount) == "integer"
     and fields.amount ~= p.amount then
    return { code = status, verified = true, fields = fields,
             error = "transferred amount differs from the payout amount" }
  end
  return { code = status, verified = true, fields = fields }
end

-- payout = alipay.fund.trans.uni.transfer
function S.parse.payout(resp, order, ctx)
  return parse_transfer(ctx.manifest.api.payout, resp, order, ctx)
end

-- payout_query = alipay.fund.trans.common.query
function S.parse.payout_query(resp, order, ctx)
  return parse_transfer(ctx.manifest.api.payout_query, resp, order, ctx)
end

-- Async notify: form POST; verify RSA2 over every received parameter except
-- sign AND sign_type, sorted, k=v&..., values form-decoded exactly once.
function S.notify(req, ctx)
  local p, ferr = gw.form.decode(req.body)
  if p == nil then
    return { verified = false, error = "notify is not a form: " .. tostring(ferr) }
  end
  local sign = str(p.sign)
  if sign == nil or sign == "" then
    return { verified = false, error = "notify is not signed" }
  end
  if p.sign_type ~= nil and p.sign_type ~= "RSA2" then
    return { verified = false, error = "unsupported sign_type " .. tostring(p.sign_type) }
  end
  local to_verify = gw.form.sign_string(p, { exclude = { "sign", "sign_type" },
                                            skip_empty = true })
  local key_name, our_sn = alipay_key(ctx.config)
  local changed = cert_changed(str(p.alipay_cert_sn), our_sn)
  if changed ~= nil then
    return { verified = false, error = changed }
  end
  if type(key_name) ~= "string" or not gw.crypto.verify(key_name, "RSA2", to_verify, sign) then
    return { verified = false, error = "notify signature invalid" }
  end
  if p.app_id ~= ctx.config.app_id then
    return { verified = false, error = "notify is for another app_id" }
  end
  local fields = {
    out_trade_no = str(p.out_trade_no),
    channel_trade_no = str(p.trade_no),
    app_id = str(p.app_id),
    trade_status = str(p.trade_status),
    notify_id = str(p.notify_id),
  }
  if str(p.total_amount) ~= nil then
    fields.amount = gw.amount.from_decimal(p.total_amount, 2)
  end
  if str(p.gmt_payment) ~= nil then
    fields.paid_at_ms = gw.time.parse(p.gmt_payment, TIME_FMT, TZ_BEIJING)
  end
  -- a refund: the same trade notify with refund_fee, gmt_refund and
  -- out_biz_no (= our out_request_no); Alipay sends it once the refund is
  -- done, trade_status staying TRADE_SUCCESS (partial) or TRADE_CLOSED (full)
  if str(p.refund_fee) ~= nil and str(p.out_biz_no) ~= nil then
    fields.kind = "refund"
    fields.out_refund_no = p.out_biz_no
    fields.refund_amount = gw.amount.from_decimal(p.refund_fee, 2)
    if str(p.gmt_refund) ~= nil then
      fields.refunded_at_ms = gw.time.parse(p.gmt_refund:sub(1, 19), TIME_FMT, TZ_BEIJING)
    end
    return { verified = true, code = "REFUND_SUCCESS", out_trade_no = str(p.out_trade_no),
             fields = fields }
  end
  return {
    verified = true,
    code = str(p.trade_status) or "",
    out_trade_no = str(p.out_trade_no),
    fields = fields,
  }
end

-- ---- trade statement ------------------------------------------------------
-- The file behind bill_download_url is a ZIP of GBK CSVs (the caller unzips;
-- this parses the detail CSV "...业务明细.csv"): '#' lines are header/footer
-- comments, then one header row, then one row per trade or refund
-- (https://opendocs.alipay.com/open/204/106262 "对账单字段说明"): 支付宝交易号,
-- 商户订单号, 业务类型 (交易 | 退款), 商品名称, 创建时间, 完成时间, 门店编号, 门店名称,
-- 操作员, 终端号, 对方账户, 订单金额（元）, 商家实收（元）, ..., 退款批次号/请求号, 服务费（元）,
-- 分润（元）, 备注.  Values may carry tabs/spaces as padding; refund amounts are
-- negative.  S.statement(text, ctx) -> {rows = {...}, totals = {...},
-- timezone = "+08:00"} or {error = "..."}.

local function trim(v)
  return (v:gsub("^[%s\t]+", ""):gsub("[%s\t]+$", ""))
end

-- one CSV line -> fields (double quotes honoured, "" inside quotes)
local function csv_fields(line)
  local out = {}
  if not line:find('"', 1, true) then
    for f in (line .. ","):gmatch("([^,]*),") do
      out[#out + 1] = trim(f)
    end
    return out
  end
  local i, n = 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if q == nil then return nil end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          j = q + 1
          break
        end
      end
      out[#out + 1] = trim(table.concat(buf))
      local c = line:find(",", j, true)
      i = (c or n + 1) + 1
    else
      local c = line:find(",", i, true) or n + 1
      out[#out + 1] = trim(line:sub(i, c - 1))
      i = c + 1
    end
  end
  return out
end

local COLUMNS = {
  channel_trade_no = "支付宝交易号", out_trade_no = "商户订单号", biz_type = "业务类型",
  created_at = "创建时间", finished_at = "完成时间", amount = "订单金额",
  received = "商家实收", out_refund_no = "退款批次号", fee = "服务费",
}

function S.statement(text, ctx)
  if type(text) ~= "string" then
    return { error = "statement text is required" }
  end
  local utf8text, cerr = gw.charset.to_utf8(text, "GBK")
  if utf8text == nil then
    return { error = "statement is not GBK text: " .. tostring(cerr) }
  end
  local col, rows = nil, {}
  local totals = { pay_count = 0, pay_amount = 0, refund_count = 0, refund_amount = 0,
                   fee_amount = 0 }
  local lineno = 0
  for line in (utf8text:gsub("\r\n", "\n") .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    if line:sub(1, 1) == "#" then
      local pays = line:match("交易合计：?%s*(%d+)%s*笔")
      local refunds = line:match("退款合计：?%s*(%d+)%s*笔")
      if pays then totals.footer_pay_count = tonumber(pays) end
      if refunds then totals.footer_refund_count = tonumber(refunds) end
    elseif trim(line) ~= "" then
      local f = csv_fields(line)
      if f == nil then
        return { error = "line " .. lineno .. ": unbalanced quotes" }
      end
      if col == nil then
        col = {}
        for i, name in ipairs(f) do
          for key, prefix in pairs(COLUMNS) do
            if name:sub(1, #prefix) == prefix then col[key] = i end
          end
        end
        for _, key in ipairs({ "channel_trade_no", "out_trade_no", "biz_type", "amount" }) do
          if col[key] == nil then
            return { error = "line " .. lineno .. ": no column " .. COLUMNS[key] }
          end
        end
      else
        local biz = f[col.biz_type] or ""
        local kind = (biz == "交易" and "pay") or (biz == "退款" and "refund") or nil
        if kind == nil then
          return { error = "line " .. lineno .. ": unknown 业务类型 " .. biz }
        end
        local raw = (f[col.amount] or ""):gsub("^%-", "")
        local ok, amount = pcall(gw.amount.from_decimal, raw, 2)
        if not ok then
          return { error = "line " .. lineno .. ": bad amount" }
        end
        local row = {
          channel_trade_no = f[col.channel_trade_no],
          out_trade_no = f[col.out_trade_no],
          type = kind,
          amount = amount,
          status = "SUCCESS",
        }
        local fin = col.finished_at and f[col.finished_at] or ""
        if fin ~= "" then
          row.finished_at = fin
          row.finished_at_ms = gw.time.parse(fin, TIME_FMT, TZ_BEIJING)
        end
        if kind == "refund" and col.out_refund_no and (f[col.out_refund_no] or "") ~= "" then
          row.out_refund_no = f[col.out_refund_no]
        end
        -- 服务费: negative = charged to us, positive = returned with a refund
        if col.fee and (f[col.fee] or "") ~= "" then
          local neg = f[col.fee]:sub(1, 1) == "-"
          local fok, fee = pcall(gw.amount.from_decimal, (f[col.fee]:gsub("^%-", "")), 2)
          if not fok then
            return { error = "line " .. lineno .. ": bad 服务费" }
          end
          totals.fee_amount = totals.fee_amount + (neg and -fee or fee)
        end
        rows[#rows + 1] = row
        totals[kind .. "_count"] = totals[kind .. "_count"] + 1
        totals[kind .. "_amount"] = totals[kind .. "_amount"] + amount
      end
    end
  end
  if col == nil then
    return { error = "no header row (支付宝交易号, ...) in the statement" }
  end
  -- times in the statement (and its day) are Beijing time: reconciliation
  -- cuts the day there
  local r = { rows = setmetatable(rows, gw.json.array_mt), totals = totals,
              timezone = "+08:00" }
  if (totals.footer_pay_count and totals.footer_pay_count ~= totals.pay_count)
     or (totals.footer_refund_count and totals.footer_refund_count ~= totals.refund_count) then
    r.error = "row counts differ from the statement's footer"
  end
  return r
end

return S
