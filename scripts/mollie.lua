-- scripts/mollie.lua -- Mollie Payments API v2: code lists, response parsers
-- and the webhook hint of the mollie pack (builders: templates/mollie.lua).
--
-- The host classifies; this file only extracts one code per answer:
--   * 2xx           -> the resource's `status` (payment: open, pending,
--                      authorized, paid, failed, canceled, expired; refund:
--                      queued, pending, processing, refunded, failed, canceled)
--   * error answers -> the HTTP status as text ("404", "422", "401"): Mollie's
--                      errors are application/problem+json with a status, a
--                      title and a detail, no machine code
-- Mollie does not sign API answers (TLS only); an answer for another
-- payment / order, or a paid amount different from the order, is an error.
--
-- Webhook (classic): an unsigned form POST `id=tr_…`.  Nothing in it can be
-- believed (https://docs.mollie.com/reference/webhooks: "fetch the payment
-- status and act accordingly"), so the script returns a hint: verified =
-- false, hint = true, out_trade_no = the `ref` the pack put in the webhook
-- URL's query string.  The host acks it and only brings that order's query
-- forward (docs/pack-operations.md "Notifications").

local S = {}

local DOC_STATUS = "https://docs.mollie.com/docs/status-change"         -- payment statuses
local DOC_CREATE = "https://docs.mollie.com/reference/create-payment"
local DOC_GET = "https://docs.mollie.com/reference/get-payment"
local DOC_CANCEL = "https://docs.mollie.com/reference/cancel-payment"
local DOC_REFUND = "https://docs.mollie.com/reference/create-refund"    -- refund statuses
local DOC_REFUND_GET = "https://docs.mollie.com/reference/get-refund"
local DOC_ERRORS = "https://docs.mollie.com/reference/handling-errors"  -- HTTP status codes
local DOC_WEBHOOK = "https://docs.mollie.com/reference/webhooks"

S.codes = {
  pay = {
    -- the payment exists and waits for the buyer at the checkout URL; the
    -- host keeps a prepay order PROCESSING
    success = { source = DOC_CREATE, codes = { "open" } },
    -- 400/422: the request was refused, no payment was created
    failure = { source = DOC_ERRORS, codes = { "400", "422" } },
    -- 401: the API key was refused before anything was processed
    rejected = { source = DOC_ERRORS, codes = { "401" } },
    processing = { source = DOC_STATUS, codes = { "pending", "authorized", "paid", "429" } },
  },
  query = {
    success = { source = DOC_STATUS, codes = { "paid" } },
    failure = { source = DOC_STATUS, codes = { "failed" } },
    closed = { source = DOC_STATUS, codes = { "canceled", "expired" } },
    processing = { source = DOC_STATUS, codes = { "open", "pending", "authorized", "401", "429" } },
    -- never FAILED on this word
    not_found = { source = DOC_GET, codes = { "404", "410" } },
  },
  close = {
    -- DELETE answers the payment, now canceled
    success = { source = DOC_CANCEL, codes = { "canceled" } },
    -- 422: not cancelable (it may be paid): query tells
    processing = { source = DOC_CANCEL, codes = { "422", "open", "pending", "401", "429" } },
    not_found = { source = DOC_CANCEL, codes = { "404", "410" } },
  },
  refund = {
    -- Mollie refunds are asynchronous: only `refunded` is final
    success = { source = DOC_REFUND, codes = { "refunded" } },
    failure = { source = DOC_REFUND, codes = { "failed", "canceled", "400", "422" } },
    processing = { source = DOC_REFUND, codes = { "queued", "pending", "processing", "401", "429" } },
    not_found = { source = DOC_ERRORS, codes = { "404", "410" } },
  },
  refund_query = {
    success = { source = DOC_REFUND_GET, codes = { "refunded" } },
    failure = { source = DOC_REFUND_GET, codes = { "failed", "canceled" } },
    processing = { source = DOC_REFUND_GET, codes = { "queued", "pending", "processing", "401", "429" } },
    not_found = { source = DOC_REFUND_GET, codes = { "404", "410" } },
  },
  -- a hint is never applied; the list only satisfies the contract
  notify = {
    success = { source = DOC_WEBHOOK, codes = { "paid" } },
  },
}

local function str(v)
  return type(v) == "string" and v or nil
end

local function minor(ctx, a)
  local exps = ctx.manifest and ctx.manifest.exponents or {}
  if type(a) ~= "table" or str(a.value) == nil or exps[a.currency or ""] == nil then
    return nil
  end
  return gw.amount.from_decimal(a.value, exps[a.currency])
end

-- "2024-01-01T12:00:00+00:00" -> ms (Mollie answers with an offset)
local function iso_ms(s)
  if str(s) == nil or #s < 19 then return nil end
  local ms = gw.time.parse(s:sub(1, 19), "yyyy-MM-ddTHH:mm:ss", 0)
  local sign, hh, mm = s:sub(20):match("^([%+%-])(%d%d):(%d%d)$")
  if ms ~= nil and sign ~= nil then
    local off = (tonumber(hh) * 60 + tonumber(mm)) * 60000
    ms = sign == "+" and ms - off or ms + off
  end
  return ms
end

local function result(code, fields, err)
  return { code = code or "", fields = fields, error = err }
end

-- Returns body or nil, code, fields, error
local function open(resp)
  local b = gw.json.decode(resp.body or "")
  local fields = {}
  if resp.status >= 200 and resp.status < 300 then
    if type(b) ~= "table" then
      return nil, nil, fields, "answer is not JSON (HTTP " .. tostring(resp.status) .. ")"
    end
    return b, str(b.status), fields, nil
  end
  if resp.status >= 500 or resp.status < 100 then
    return nil, nil, fields, "HTTP " .. tostring(resp.status)
  end
  -- problem+json: {"status":422,"title":"…","detail":"…","field":"…"}
  if type(b) ~= "table" or math.type(b.status) ~= "integer" or b.status ~= resp.status then
    return nil, nil, fields, "error answer is not Mollie's (HTTP " .. tostring(resp.status) .. ")"
  end
  fields.msg = str(b.detail) or str(b.title)
  fields.field = str(b.field)
  return nil, tostring(resp.status), fields, nil
end

local function same_payment(b, order)
  if type(order) ~= "table" then return true end
  if str(order.channel_trade_no) ~= nil and str(b.id) ~= nil and b.id ~= order.channel_trade_no then
    return false
  end
  local md = type(b.metadata) == "table" and b.metadata or {}
  if str(md.out_trade_no) ~= nil and str(order.out_trade_no) ~= nil
     and md.out_trade_no ~= order.out_trade_no then
    return false
  end
  return true
end

local function payment(resp, order, ctx)
  local b, code, fields, err = open(resp)
  if b == nil then return nil, result(code, fields, err) end
  if b.resource ~= nil and b.resource ~= "payment" then
    return nil, result("", fields, "answer is a " .. tostring(b.resource) .. ", not a payment")
  end
  fields.channel_trade_no = str(b.id)
  fields.trade_status = code
  fields.amount = minor(ctx, b.amount)
  if not same_payment(b, order) then
    return nil, result("", fields, "the answer is for another payment")
  end
  return b, code, fields
end

S.parse = {}

function S.parse.pay(resp, order, ctx)
  local b, code, fields = payment(resp, order, ctx)
  if b == nil then return code end
  if code == "open" then
    local co = type(b._links) == "table" and b._links.checkout
    if type(co) ~= "table" or str(co.href) == nil or fields.channel_trade_no == nil then
      return result(code, fields, "create answer has no id or checkout link")
    end
    fields.credential = { type = "url", url = co.href }
  end
  return result(code, fields)
end

function S.parse.query(resp, order, ctx)
  local b, code, fields = payment(resp, order, ctx)
  if b == nil then return code end
  if code == "paid" then
    fields.paid_at_ms = iso_ms(b.paidAt)
    if type(order) == "table" and math.type(order.amount) == "integer"
       and fields.amount ~= order.amount then
      return result(code, fields, "paid amount differs from the order amount")
    end
  end
  return result(code, fields)
end

function S.parse.close(resp, order, ctx)
  local b, code, fields = payment(resp, order, ctx)
  if b == nil then return code end
  return result(code, fields)
end

local function refund(resp, order, ctx)
  local b, code, fields, err = open(resp)
  if b == nil then return result(code, fields, err) end
  if b.resource ~= nil and b.resource ~= "refund" then
    return result("", fields, "answer is a " .. tostring(b.resource) .. ", not a refund")
  end
  fields.channel_refund_no = str(b.id)
  fields.refund_status = code
  fields.amount = minor(ctx, b.amount)
  local r = type(order) == "table" and type(order.refund) == "table" and order.refund or nil
  local md = type(b.metadata) == "table" and b.metadata or {}
  if r ~= nil and ((str(md.out_refund_no) ~= nil and md.out_refund_no ~= r.out_refund_no)
     or (str(r.channel_refund_no) ~= nil and str(b.id) ~= nil and b.id ~= r.channel_refund_no)) then
    return result("", fields, "the answer is for another refund")
  end
  if code == "refunded" and r ~= nil and math.type(r.amount) == "integer"
     and fields.amount ~= r.amount then
    return result(code, fields, "refunded amount differs from the refund amount")
  end
  return result(code, fields)
end

S.parse.refund = refund
S.parse.refund_query = refund

-- Classic webhook: `id=tr_…`, unsigned -> a hint naming the order by the
-- `ref` we put in the webhook URL.  Never verified, never applied.
function S.notify(req, ctx)
  local q = gw.form.decode(req.query or "")
  local ref = type(q) == "table" and str(q.ref) or nil
  if ref == nil or not ref:match("^[%w_%-]+$") or #ref > 64 then
    return { verified = false, error = "webhook URL carries no ref=<out_trade_no>" }
  end
  local p = gw.form.decode(req.body or "")
  local id = type(p) == "table" and str(p.id) or nil
  if id == nil or not id:match("^tr_[%w]+$") then
    return { verified = false, error = "webhook body is not id=tr_…" }
  end
  return { verified = false, hint = true, out_trade_no = ref,
           fields = { channel_trade_no = id } }
end

return S
