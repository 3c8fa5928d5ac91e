-- scripts/unionpay_acp.lua -- China UnionPay online gateway (ACP 5.1.0):
-- code lists, answer parsers and the backUrl notify verifier of the
-- unionpay_acp pack (builders: templates/unionpay_acp.lua).
--
-- Answers are `k=v&k=v` text, NOT url-encoded (the signature and the PEM in
-- signPubKeyCert keep their raw '+', '/', '=' and newlines; reserved fields
-- may hold `{…&…=…}`): parse_kv splits them the way the official SDK does
-- (SDKUtil.parseQString: '&' inside {…} or […] does not split).
-- The backUrl notify is a normal url-encoded form POST.
--
-- Verification (every answer and notify must carry a good signature before
-- it can leave PROCESSING; signed_responses = true):
--   signMethod 01: SHA256withRSA over lowercase hex(SHA-256(S)), S = every
--     received field except `signature` (empty ones included, as
--     SDKUtil.coverMap2String does), sorted, k=v&k=v.  The key, as the
--     official SDK's AcpService.validate (5.1.0) takes it: the message's own
--     signPubKeyCert, once CertUtil.verifyCertificate's checks hold -- it
--     chains to UnionPay's root through the middle certificate (config
--     root_cert / middle_cert, gw.crypto.verify_chain: OpenSSL
--     X509_verify_cert, validity dates included) and the third '@' part of
--     its CN is 中国银联股份有限公司 (also "00040000:SIGN" with
--     validate_cn_name = "false", the SDK's test setting).  A message
--     certificate that fails any check is NOT verified (no fallback).  With
--     no root_cert configured, or no signPubKeyCert in the message, the key
--     is the configured verify_cert.
--   signMethod 11 / 12: hex(SHA-256|SM3(S & hex(SHA-256|SM3(secureKey)))).
--   A message may use any signMethod whose key is configured (01: root_cert
--   or verify_cert, 11/12: secure_key); both kinds are UnionPay's or shared
--   with it only.
--
-- Codes extracted (classified by the host against S.codes):
--   pay, front consume : nothing (a local credential built by the template;
--                        nothing is sent, so nothing is parsed);
--   pay, back consume / refund / cancel : respCode of the synchronous
--                        answer ("00" = ACCEPTED only, never final);
--   query / refund_query: "00:" .. origRespCode when respCode is 00 (the
--                        query itself worked), else respCode ("34" = no such
--                        transaction -> not_found); a front consume's
--                        decline before its payTimeout: "00:<code>:open";
--   notify             : respCode of the notify ("<code>:open" for a front
--                        consume's decline, see S.codes.notify).

local S = {}

-- Sources (each read for issue 4; the lists below cite the one they rest on).
-- UnionPay's own demo code (ACP 5.x PHP demo, "版权： 中国银联", as shipped in
-- hectorqin/lpays), whose comments and branches are the status rules:
local DEMO = "https://github.com/hectorqin/lpays/blob/21853947b7c4544ddbefb4e4611661eb05d56f04/"
  .. "src/libs/upacp_apple_pay/demo/api_05_app/"
local DEMO_QUERY = DEMO .. "Form_6_5_Query.php"       -- queryTrans: respCode / origRespCode
local DEMO_REFUND = DEMO .. "Form_6_4_Refund.php"     -- backTrans refund: sync respCode
local DEMO_UNDO = DEMO .. "Form_6_3_ConsumeUndo.php"  -- backTrans void: sync respCode
local DEMO_NOTIFY = DEMO .. "BackReceive.php"          -- backUrl notify
-- The 应答码 (respCode) meanings: UnionPay's respCode list, which every demo
-- file names ("测试过程中产生的6位应答码问题疑问请在 …respCodeList 输入应答码"); its
-- two-digit texts as mirrored verbatim in integrations (01 交易失败 … 46 交易已被
-- 成功冲正 … 83 发卡行（渠道）处理中), and the A6 row of Q/CUP 006.6-2014
-- (有缺陷的成功 → 成功).  The open.unionpay.com pages themselves could not be read.
local DOC_CODES = "https://open.unionpay.com/ajweb/help/respCode/respCodeList"
-- (the operations whose synchronous answer is never a final success say so
-- with success = {none = …}; their sources:)
local DOC_BACK = "https://open.unionpay.com/tjweb/acproduct/APIList?apiservId=448&acpAPIId=755"
local DOC_FRONT = "https://open.unionpay.com/tjweb/acproduct/APIList?apiservId=448&acpAPIId=754"

-- in doubt / in progress (DOC_CODES texts): 03 交易通讯超时，请发起查询交易,
-- 04 交易状态未明，请查询对账结果, 05 交易已受理，请稍后查询交易结果 (DEMO_QUERY:
-- "查询到03，04，05继续查询"), 02 系统未开放或暂时关闭, 06 系统繁忙, 12 重复交易
-- (the first one may have gone through), 37 已超过最大查询次数或操作过于频繁,
-- 42 扣款成功但交易超过规定支付时间, 70 交易已跳转，等待持卡人输入, 74 扣款成功，
-- 销账未知, 75 扣款成功，销账失败, 83 发卡行（渠道）处理中
local IN_DOUBT = { "03", "04", "05", "02", "06", "12", "37", "42", "70", "74", "75", "83" }

-- refused before any processing (DOC_CODES): 10 报文格式错误, 11 验证签名失败,
-- 13 报文交易要素缺失, 31 商户状态不正确, 32 无此交易权限, 43 无此业务权限.
-- The demos treat every sync code but 00/03/04/05 as failure ("其他应答码做以
-- 失败处理"); that these six were not processed at all is our reading of the
-- texts, not a UnionPay statement.  Only honoured on a signed answer.
local REJECTED = { "10", "11", "13", "31", "32", "43" }

-- declines of a consume (DOC_CODES): 01 交易失败, 30 交易未通过, 33 交易金额超限,
-- 38 银联风险受限, 60 交易失败，详情请咨询您的发卡行, 61 输入的卡号无效, 62 发卡银行
-- 不支持该商户, 63 卡状态不正确, 64 卡上的余额不足, 65 密码、有效期或CVN2有误,
-- 66 持卡人身份信息或手机号输入不正确, 67 密码输入次数超限, 68 银行卡暂不支持该业务,
-- 71 动态口令或短信验证码校验失败, 73 支付卡已超过有效期, 77 银行卡未开通认证支付
local CONSUME_DECLINED = { "01", "30", "33", "38", "60", "61", "62", "63", "64", "65",
                           "66", "67", "68", "71", "73", "77" }

-- refund / void refusals (DOC_CODES): 33 交易金额超限, 35 原交易不存在或状态不正确,
-- 36 与原交易信息不符, 45 原交易已被成功退货或已被成功撤销, 46 交易已被成功冲正
local BACK_REFUSED = { "33", "35", "36", "45", "46" }

-- A front consume (unionpay.web / .wap: the buyer pays on UnionPay's page) is
-- not over when one attempt fails.  DEMO_QUERY: "前台类交易建议间隔（5分、10分、
-- 30分、60分、120分）发起交易查询 …（失败，处理中，查询不到订单均可能为中间状态）。
-- 也可以建议商户使用payTimeout（支付超时时间），过了这个时间点查询，得到的结果为
-- 最终结果".  So a declined origRespCode of a front consume is final only once
-- the order's payTimeout (created_at + expire_seconds, sent by the template)
-- has passed by FRONT_GRACE_MS; before that -- or with no payTimeout at all --
-- the parser reports "00:<code>:open", which is on processing.
local FRONT_GRACE_MS = 60000

local function prefixed(prefix, list, suffix)
  local out = {}
  for i, c in ipairs(list) do out[i] = prefix .. c .. (suffix or "") end
  return out
end

local function joined(...)
  local out = {}
  for _, list in ipairs({ ... }) do
    for _, c in ipairs(list) do out[#out + 1] = c end
  end
  return out
end

S.codes = {
  pay = {
    success = { source = DOC_FRONT, none = "a front consume is a local credential "
                .. "(no answer) and a back consume's 00 is acceptance only: the query "
                .. "or the notify says whether it was paid" },
    -- a back consume's synchronous decline (DEMO_QUERY for back transactions:
    -- only 03/04/05 mean "query again"; DOC_CODES texts above)
    failure = { source = DEMO_QUERY .. " ; " .. DOC_CODES, codes = CONSUME_DECLINED },
    -- 00 = accepted only (DEMO_REFUND / DEMO_UNDO: "交易已受理，等待接收后台通知
    -- 更新订单状态"); the in-doubt set above
    processing = { source = DEMO_QUERY .. " ; " .. DOC_CODES, codes = joined({ "00" }, IN_DOUBT) },
    rejected = { source = DOC_CODES, codes = REJECTED },
  },
  query = {
    -- DEMO_QUERY: respCode 00 and origRespCode 00 = "交易成功"; A6 = 有缺陷的成功,
    -- a success (DEMO_NOTIFY: "判断respCode=00或A6即可认为交易成功"; Q/CUP 006.6: A6 成功)
    success = { source = DEMO_QUERY .. " ; " .. DEMO_NOTIFY, codes = { "00:00", "00:A6" } },
    -- DEMO_QUERY: every other origRespCode "做以失败处理" -- for a back consume, and
    -- for a front consume only past its payTimeout (see FRONT_GRACE_MS)
    failure = { source = DEMO_QUERY .. " ; " .. DOC_CODES, codes = prefixed("00:", CONSUME_DECLINED) },
    -- DEMO_QUERY: origRespCode / respCode 03, 04, 05 -> query again; the rest of
    -- the in-doubt set; 10 / 11 = the query itself was refused (format /
    -- signature), 06 / 12 / 37 likewise say nothing about the consume; a front
    -- consume's decline before payTimeout ("00:<code>:open")
    processing = { source = DEMO_QUERY, codes = joined(
      prefixed("00:", IN_DOUBT),
      { "03", "04", "05", "06", "10", "11", "12", "37" },
      prefixed("00:", CONSUME_DECLINED, ":open")) },
    -- 34 查无此交易: normal before the buyer pays a front consume; never FAILED
    not_found = { source = DEMO_QUERY .. " ; " .. DOC_CODES, codes = { "34" } },
  },
  refund = {
    -- backTrans "00" is acceptance only: the result comes by notify / query.
    success = { source = DOC_BACK, none = "backTrans 00 is acceptance only "
                .. "(交易已受理): refund_query or the notify says whether it was refunded" },
    -- DEMO_REFUND: "其他应答码做以失败处理"; the refusals above
    failure = { source = DEMO_REFUND .. " ; " .. DOC_CODES, codes = BACK_REFUSED },
    -- DEMO_REFUND: 00 "交易已受理"; 03/04/05 "后续需发起交易状态查询交易确定交易状态"
    processing = { source = DEMO_REFUND, codes = joined({ "00" }, IN_DOUBT) },
    rejected = { source = DOC_CODES, codes = REJECTED },
  },
  refund_query = {
    success = { source = DEMO_QUERY .. " ; " .. DEMO_NOTIFY, codes = { "00:00", "00:A6" } },
    -- a refund is a back transaction: DEMO_QUERY's "其他应答码做以失败处理"
    -- holds for it (01 交易失败 and the refusals above)
    failure = { source = DEMO_QUERY .. " ; " .. DOC_CODES, codes = prefixed("00:", joined({ "01" }, BACK_REFUSED)) },
    processing = { source = DEMO_QUERY, codes = joined(
      prefixed("00:", IN_DOUBT), { "03", "04", "05", "06", "10", "11", "12", "37" }) },
    not_found = { source = DEMO_QUERY .. " ; " .. DOC_CODES, codes = { "34" } },
  },
  cancel = {
    success = { source = DOC_BACK, none = "backTrans 00 is acceptance only "
                .. "(交易已受理): the query or the notify says whether it was voided" },
    failure = { source = DEMO_UNDO .. " ; " .. DOC_CODES, codes = BACK_REFUSED },
    processing = { source = DEMO_UNDO, codes = joined({ "00" }, IN_DOUBT) },
    rejected = { source = DOC_CODES, codes = REJECTED },
  },
  notify = {
    -- DEMO_NOTIFY: "判断respCode=00或A6即可认为交易成功"
    success = { source = DEMO_NOTIFY, codes = { "00", "A6" } },
    -- a back consume's decline (bizType 000301): final, as its query would say
    -- (DEMO_QUERY: every origRespCode but 00 / 03 / 04 / 05 "做以失败处理")
    failure = { source = DEMO_QUERY .. " ; " .. DOC_CODES, codes = CONSUME_DECLINED },
    -- a front consume's failed attempt is not final (DEMO_QUERY, see
    -- FRONT_GRACE_MS) and a notify cannot tell whether payTimeout has passed:
    -- S.notify reports "<code>:open" for it (any bizType but 000301); the query
    -- settles it.  DEMO_NOTIFY itself names no failure code.
    processing = { source = DEMO_NOTIFY .. " ; " .. DEMO_QUERY,
                   codes = joined({ "03", "04", "05" }, prefixed("", CONSUME_DECLINED, ":open")) },
  },
}

local TZ_BEIJING = 480
local TIME_FMT = "yyyyMMddHHmmss"

local function str(v)
  return type(v) == "string" and v or nil
end

-- `k=v&k=v` answer text -> table, or nil, err.  '&' inside {…} / […] does
-- not split; the first '=' of a pair splits name from value; no decoding.
function S.parse_kv(text)
  if type(text) ~= "string" or text == "" then return nil, "empty answer" end
  local out, depth, start, n = {}, 0, 1, #text
  local function put(i)
    local pair = text:sub(start, i - 1)
    if pair ~= "" then
      local eq = pair:find("=", 1, true)
      if eq == nil or eq == 1 then return "pair without a name=value: " .. pair:sub(1, 20) end
      local k = pair:sub(1, eq - 1)
      if k:find("[^%w_]") then return "bad field name" end
      if out[k] ~= nil then return "field " .. k .. " given twice" end
      out[k] = pair:sub(eq + 1)
    end
    start = i + 1
    return nil
  end
  for i = 1, n do
    local c = text:byte(i)
    if c == 123 or c == 91 then            -- { [
      depth = depth + 1
    elseif (c == 125 or c == 93) and depth > 0 then
      depth = depth - 1
    elseif c == 38 and depth == 0 then     -- &
      local e = put(i)
      if e then return nil, e end
    end
  end
  local e = put(n + 1)
  if e then return nil, e end
  if next(out) == nil then return nil, "no fields" end
  return out
end

-- CertUtil.verifyCertificate's name check: the third '@'-separated part of
-- the certificate's CN (getIdentitiesFromCertficate) is UnionPay's name
-- (SDKConstants.UNIONPAY_CNNAME); ifValidateCNName=false (the SDK's test
-- setting, here config validate_cn_name = "false") also takes 00040000:SIGN.
local UNIONPAY_CNNAME = "中国银联股份有限公司"
local TEST_CNNAME = "00040000:SIGN"

local function unionpay_name(cn, cfg)
  local parts = {}
  for part in (cn .. "@"):gmatch("([^@]*)@") do parts[#parts + 1] = part end
  local who = parts[3]
  if who == UNIONPAY_CNNAME then return true end
  return who == TEST_CNNAME and cfg.validate_cn_name == "false"
end

local function set(v)
  return type(v) == "string" and v ~= "" and v or nil
end

-- signMethod 01 with the message's signPubKeyCert (chain + name), or with the
-- configured verify_cert when there is no root_cert or no signPubKeyCert.
local function verify_rsa(p, cfg, digest, sig)
  local cert, root = set(p.signPubKeyCert), set(cfg.root_cert)
  if cert ~= nil and root ~= nil then
    local middle = set(cfg.middle_cert)
    local ok, cn = gw.crypto.verify_chain(cert, root, middle)
    if not ok then return false, "signPubKeyCert not trusted: " .. tostring(cn) end
    if not unionpay_name(cn, cfg) then
      return false, "signPubKeyCert is not UnionPay's (CN " .. cn .. ")"
    end
    local good, verr = gw.crypto.verify({ cert = cert, root = root, middle = middle },
                                        "RSA2", digest, sig)
    if not good then return false, "signature invalid" .. (verr and (": " .. verr) or "") end
    return true
  end
  if set(cfg.verify_cert) == nil then
    return false, "signMethod 01 but no config root_cert (with a signPubKeyCert) or verify_cert"
  end
  if not gw.crypto.verify(cfg.verify_cert, "RSA2", digest, sig) then
    return false, "signature invalid"
  end
  return true
end

-- true when p's signature is UnionPay's.  The message names its signMethod;
-- it is accepted only when the key for it is configured: 01 needs
-- config.root_cert (+ middle_cert, the message's certificate is checked) or
-- config.verify_cert, 11 / 12 need config.secure_key (the secret shared with
-- UnionPay).  config.sign_method only says how WE sign.
function S.verify(p, ctx)
  local cfg = ctx.config
  local sig = str(p.signature)
  if sig == nil or sig == "" then return false, "not signed" end
  local method = p.signMethod
  local s = gw.form.sign_string(p, { exclude = { "signature" }, skip_empty = false })
  if method == "01" then
    return verify_rsa(p, cfg, gw.crypto.sha256(s, "hex"), sig)
  end
  if method ~= "11" and method ~= "12" then
    return false, "unsupported signMethod " .. tostring(method)
  end
  if type(cfg.secure_key) ~= "string" or cfg.secure_key == "" then
    return false, "signMethod " .. method .. " but no config secure_key"
  end
  local key = gw.secret(cfg.secure_key)
  local expect
  if method == "11" then
    expect = gw.crypto.sha256(s .. "&" .. gw.crypto.sha256(key, "hex"), "hex")
  else
    expect = gw.crypto.sm3(s .. "&" .. gw.crypto.sm3(key, "hex"), "hex")
  end
  if not gw.crypto.equals(expect, sig:lower()) then return false, "signature invalid" end
  return true
end

-- Read + verify a synchronous answer. -> p, code, nil | nil, code?, err
local function open_answer(resp, ctx)
  if resp.status ~= 200 then
    return nil, nil, "HTTP status " .. tostring(resp.status)
  end
  local p, perr = S.parse_kv(resp.body)
  if p == nil then return nil, nil, "answer is not k=v text: " .. tostring(perr) end
  local code = str(p.respCode)
  if code == nil or code == "" then return nil, nil, "answer has no respCode" end
  local ok, verr = S.verify(p, ctx)
  if not ok then return nil, code, "response signature invalid: " .. verr end
  if p.merId ~= nil and p.merId ~= ctx.config.mer_id then
    return nil, code, "answer is for another merId"
  end
  return p, code, nil
end

local function not_verified(code, err)
  return { code = code, error = err, verified = false }
end

local function amount_of(v)
  if type(v) ~= "string" or not v:match("^%d+$") or #v > 12 then return nil end
  return math.tointeger(tonumber(v))
end

-- same orderId as asked (when the answer names one)
local function same_order(p, want)
  return want == nil or p.orderId == nil or p.orderId == want
end

-- A synchronous backTrans / queryTrans answer: the code, the ids, the checks
local function back_answer(resp, order, ctx, want_order_id)
  local p, code, err = open_answer(resp, ctx)
  if p == nil then return not_verified(code, err) end
  if not same_order(p, want_order_id) then
    return { code = "", verified = true, error = "orderId in the answer differs" }
  end
  return { code = code, verified = true,
           fields = { channel_trade_no = str(p.queryId), msg = str(p.respMsg) } }, p
end

-- front consume methods: a local credential, never sent (templates/)
local FRONT = { ["unionpay.web"] = true, ["unionpay.wap"] = true }

S.parse = {}

function S.parse.pay(resp, order, ctx)
  if FRONT[order.method or "unionpay.web"] then
    -- never reached: the template builds the front form as a local
    -- credential and the host sends nothing.  Whatever came back is no
    -- answer of ours.
    return not_verified(nil, "front consume is a local credential; no answer expected")
  end
  local r, p = back_answer(resp, order, ctx, order.out_trade_no)
  if p ~= nil and p.txnAmt ~= nil and amount_of(p.txnAmt) ~= order.amount then
    r.error = "txnAmt in the answer differs from the order"
  end
  return r
end

-- queryTrans: "00:"..origRespCode, or the respCode of a failed query
local function query_answer(resp, order, ctx, want_order_id, want_amount)
  local p, code, err = open_answer(resp, ctx)
  if p == nil then return not_verified(code, err) end
  if code ~= "00" then
    return { code = code, verified = true, fields = { msg = str(p.respMsg) } }
  end
  if not same_order(p, want_order_id) then
    return { code = "", verified = true, error = "orderId in the answer differs" }
  end
  local orig = str(p.origRespCode)
  if orig == nil or orig == "" then
    return { code = "", verified = true, error = "query answer has no origRespCode" }
  end
  local fields = {
    channel_trade_no = str(p.queryId),
    trade_status = orig,
    msg = str(p.origRespMsg),
    settle_date = str(p.settleDate),
    trace_no = str(p.traceNo),
  }
  fields.amount = amount_of(p.txnAmt)
  -- a success must name the order's amount (missing counts as different)
  if want_amount ~= nil and fields.amount ~= want_amount and (orig == "00" or orig == "A6") then
    return { code = "00:" .. orig, verified = true, fields = fields,
             error = "paid amount differs from the order amount" }
  end
  if str(p.txnTime) ~= nil and (orig == "00" or orig == "A6") then
    fields.paid_at_ms = gw.time.parse(p.txnTime, TIME_FMT, TZ_BEIJING)
  end
  return { code = "00:" .. orig, verified = true, fields = fields }
end

-- true while a front consume can still be paid (FRONT_GRACE_MS above): no
-- payTimeout was sent (expire_seconds unset), or it has not passed yet
local function front_open(order)
  if not FRONT[order.method or "unionpay.web"] then return false end
  local expire, created = order.expire_seconds, order.created_at_ms
  if math.type(expire) ~= "integer" or expire <= 0 or math.type(created) ~= "integer" then
    return true
  end
  return gw.time.now_ms() <= created + expire * 1000 + FRONT_GRACE_MS
end

-- the back consume's bizType (templates/unionpay_acp.lua, method unionpay.back)
local BIZ_BACK = "000301"

local DECLINED = {}
for _, c in ipairs(CONSUME_DECLINED) do DECLINED[c] = true end

function S.parse.query(resp, order, ctx)
  local r = query_answer(resp, order, ctx, order.out_trade_no, order.amount)
  local orig = r.fields and r.fields.trade_status
  if r.verified and orig and DECLINED[orig] and r.code == "00:" .. orig and front_open(order) then
    r.code = r.code .. ":open"
  end
  return r
end

function S.parse.refund(resp, order, ctx)
  local r = order.refund or {}
  local res, p = back_answer(resp, order, ctx, r.out_refund_no)
  if p ~= nil then
    res.fields.channel_refund_no = str(p.queryId)
    res.fields.channel_trade_no = nil
    res.fields.refund_status = "ACCEPTED"
  end
  return res
end

function S.parse.refund_query(resp, order, ctx)
  local r = order.refund or {}
  local want = nil
  if str(r.channel_refund_no) == nil then want = r.out_refund_no end
  local res = query_answer(resp, order, ctx, want, r.amount)
  if res.fields ~= nil then
    res.fields.channel_refund_no = res.fields.channel_trade_no
    res.fields.channel_trade_no = nil
    res.fields.refund_status = res.fields.trade_status
  end
  return res
end

function S.parse.cancel(resp, order, ctx)
  local res = back_answer(resp, order, ctx, nil)
  return res
end

-- backUrl notify: url-encoded form; verify as an answer; consume (01),
-- refund (04) or void (31) by txnType.
function S.notify(req, ctx)
  local p, ferr = gw.form.decode(req.body)
  if p == nil then
    return { verified = false, error = "notify is not a form: " .. tostring(ferr) }
  end
  local ok, verr = S.verify(p, ctx)
  if not ok then return { verified = false, error = "notify " .. verr } end
  if p.merId ~= ctx.config.mer_id then
    return { verified = false, error = "notify is for another merId" }
  end
  local fields = {
    channel_trade_no = str(p.queryId),
    msg = str(p.respMsg),
    txn_type = str(p.txnType),
    settle_date = str(p.settleDate),
    trace_no = str(p.traceNo),
    amount = amount_of(p.txnAmt),
  }
  if str(p.txnTime) ~= nil and (p.respCode == "00" or p.respCode == "A6") then
    fields.paid_at_ms = gw.time.parse(p.txnTime, TIME_FMT, TZ_BEIJING)
  end
  local out_trade_no = str(p.orderId)
  if p.txnType == "04" then
    -- a refund's notify names the refund; the consume is origQryId
    fields.kind = "refund"
    fields.out_refund_no = str(p.orderId)
    fields.channel_refund_no = str(p.queryId)
    fields.channel_trade_no = str(p.origQryId)
    out_trade_no = str(p.reqReserved) or str(p.orderId)
  elseif p.txnType == "31" then
    fields.kind = "cancel"
    fields.channel_trade_no = str(p.origQryId)
    -- the void's code is not a consume outcome: never classified as one
    return { verified = true, code = "31:" .. tostring(p.respCode),
             out_trade_no = str(p.reqReserved) or str(p.orderId), fields = fields }
  elseif p.txnType ~= "01" then
    return { verified = true, code = tostring(p.txnType) .. ":" .. tostring(p.respCode),
             out_trade_no = out_trade_no, fields = fields }
  end
  fields.out_trade_no = str(p.orderId)
  local code = str(p.respCode) or ""
  if DECLINED[code] and p.bizType ~= BIZ_BACK then code = code .. ":open" end
  return { verified = true, code = code, out_trade_no = out_trade_no, fields = fields }
end

return S
