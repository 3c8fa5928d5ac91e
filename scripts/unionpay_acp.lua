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
--                        transaction -> not_found);
--   notify             : respCode of the notify.

local S = {}

-- Sources.  respCode table: UnionPay open platform 应答码 list (ranges: 01-09
-- UnionPay system, 10-29 message format, 30-59 merchant-side business checks,
-- 60-89 cardholder / issuer); the status rules: the official ACP 5.1 Java
-- demo (Form_6_5_Query / BackRcvResponse comments: "00" query -> origRespCode
-- 00 success, 03/04/05 processing or unknown -> query again / statement, 34 =
-- order not found -> unknown, 10/11 = the query itself failed; backTrans "00"
-- = accepted, result by notify/query).
local DOC_CODES = "https://open.unionpay.com/ajweb/help/respCode/respCodeList"
local DOC_QUERY = "https://open.unionpay.com/tjweb/acproduct/APIList?apiservId=448&acpAPIId=757"
local DOC_BACK = "https://open.unionpay.com/tjweb/acproduct/APIList?apiservId=448&acpAPIId=755"
local DOC_FRONT = "https://open.unionpay.com/tjweb/acproduct/APIList?apiservId=448&acpAPIId=754"
local DOC_NOTIFY = "https://open.unionpay.com/tjweb/acproduct/APIList?apiservId=448&acpAPIId=756"

-- in doubt / in progress: 03 通讯超时, 04 状态未明, 05 已受理, 12 重复交易
-- (the first one may have gone through), 02/06 system busy, 37 too many
-- queries, 42/74/75 debited (扣款成功 …), 70 waiting for the cardholder
local IN_DOUBT = { "03", "04", "05", "02", "06", "12", "37", "42", "70", "74", "75" }

-- message format / signature / permission problems: the transaction was
-- refused before any processing (10 报文格式错误, 11 验证签名失败, 13 报文
-- 交易要素缺失, 31 商户状态不正确, 32 无此交易权限, 43 无此业务权限).  Only
-- honoured on a signed answer.
local REJECTED = { "10", "11", "13", "31", "32", "43" }

-- definitive declines of a consume (30 交易未通过, 33 金额超限, 38 风险受限,
-- 60-68 / 71 / 73 / 77 cardholder or issuer refusals, 01 交易失败)
local CONSUME_DECLINED = { "01", "30", "33", "38", "60", "61", "62", "63", "64", "65",
                           "66", "67", "68", "71", "73", "77" }

local function prefixed(prefix, list)
  local out = {}
  for i, c in ipairs(list) do out[i] = prefix .. c end
  return out
end

S.codes = {
  pay = {
    -- never produced: the front consume is a local credential (no answer)
    -- and a back consume's "00" is acceptance only (the list must not be empty)
    success = { source = DOC_FRONT, codes = { "FINAL" } },
    failure = { source = DOC_CODES, codes = CONSUME_DECLINED },
    processing = { source = DOC_BACK, codes = { "00", table.unpack(IN_DOUBT) } },
    rejected = { source = DOC_CODES, codes = REJECTED },
  },
  query = {
    -- A6 = 有缺陷的成功 (success with a defect): paid (demo treats it as success)
    success = { source = DOC_QUERY, codes = { "00:00", "00:A6" } },
    failure = { source = DOC_CODES, codes = prefixed("00:", CONSUME_DECLINED) },
    processing = { source = DOC_QUERY, codes = {
      "00:03", "00:04", "00:05", "00:42", "00:70", "00:74", "00:75",
      "03", "04", "05", "06", "10", "11", "12", "37",
    } },
    not_found = { source = DOC_QUERY, codes = { "34" } },
  },
  refund = {
    -- backTrans "00" is acceptance only: the result comes by notify / query.
    -- "FINAL" is never produced by the parser (the list must not be empty).
    success = { source = DOC_BACK, codes = { "FINAL" } },
    -- 35 原交易不存在或状态不正确, 36 与原交易信息不符, 45/46 already
    -- refunded / voided, 33 amount over the refundable
    failure = { source = DOC_CODES, codes = { "33", "35", "36", "45", "46" } },
    processing = { source = DOC_BACK, codes = { "00", table.unpack(IN_DOUBT) } },
    rejected = { source = DOC_CODES, codes = REJECTED },
  },
  refund_query = {
    success = { source = DOC_QUERY, codes = { "00:00", "00:A6" } },
    failure = { source = DOC_CODES, codes = {
      "00:01", "00:33", "00:35", "00:36", "00:45", "00:46",
    } },
    processing = { source = DOC_QUERY, codes = {
      "00:03", "00:04", "00:05", "03", "04", "05", "06", "10", "11", "12", "37",
    } },
    not_found = { source = DOC_QUERY, codes = { "34" } },
  },
  cancel = {
    success = { source = DOC_BACK, codes = { "FINAL" } },   -- never produced, see refund
    failure = { source = DOC_CODES, codes = { "33", "35", "36", "45", "46" } },
    processing = { source = DOC_BACK, codes = { "00", table.unpack(IN_DOUBT) } },
    rejected = { source = DOC_CODES, codes = REJECTED },
  },
  notify = {
    success = { source = DOC_NOTIFY, codes = { "00", "A6" } },
    failure = { source = DOC_CODES, codes = CONSUME_DECLINED },
    processing = { source = DOC_NOTIFY, codes = { "03", "04", "05" } },
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

function S.parse.query(resp, order, ctx)
  return query_answer(resp, order, ctx, order.out_trade_no, order.amount)
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
  return { verified = true, code = str(p.respCode) or "", out_trade_no = out_trade_no,
           fields = fields }
end

return S
