-- scripts/checkout.lua -- Checkout.com Payments API: code lists, answer parsers
-- and the webhook verifier of the checkout pack (builders: templates/checkout.lua).
--
-- The one code per answer:
--   * a payment (request / get details)      -> its `status`; an approval counts only
--     with approved = true (and response_code 10000 when the answer carries one),
--     else "<status>:unapproved" / "<status>:<response_code>"; a decline carrying a
--     response code -> "Declined:<family>" (20xxx soft, 30xxx hard, 40xxx risk)
--   * 202 on a void / refund                 -> "accepted" (asynchronous: final only
--     through the payment's actions or a webhook)
--   * the Refund action (actions list)       -> "Refund:approved" / "Refund:declined"
--   * a list without our reference           -> "not_found"
--   * an error                               -> "request_invalid" (422) / "http<status>"
-- Checkout.com does not sign API answers: a payment counts only when its
-- reference is our out_trade_no and its amount the order's.

local S = {}

local DOC_STATUS = "https://api-reference.checkout.com/#operation/getPaymentDetails"   -- status enum
local DOC_REQUEST = "https://api-reference.checkout.com/#operation/requestAPaymentOrPayout"
local DOC_CODES = "https://www.checkout.com/docs/developer-resources/codes/api-response-codes"
local DOC_VOID = "https://api-reference.checkout.com/#operation/voidAPayment"
local DOC_REFUND = "https://api-reference.checkout.com/#operation/refundAPayment"
local DOC_ACTIONS = "https://api-reference.checkout.com/#operation/getPaymentActions"
local DOC_WEBHOOKS = "https://www.checkout.com/docs/developer-resources/webhooks/webhook-event-types"

S.codes = {
  pay = {
    success = { source = DOC_CODES, codes = { "Authorized", "Captured", "Paid" } },
    -- a Declined payment with a decline / risk response code is final (DOC_CODES)
    failure = { source = DOC_CODES, codes = { "Declined:20xxx", "Declined:30xxx", "Declined:40xxx" } },
    processing = { source = DOC_REQUEST, codes = {
      "Pending", "Card Verified", "Retry Scheduled", "Declined", "Authorized:unapproved",
      "http409", "http429", "http502",
    } },
    -- 422 invalid data / 401 unauthorized: no payment was created (DOC_REQUEST)
    rejected = { source = DOC_REQUEST, codes = { "request_invalid", "http401" } },
  },
  query = {
    -- Refunded / Partially Refunded: the payment was captured, refunds are separate
    success = { source = DOC_STATUS, codes = {
      "Authorized", "Captured", "Paid", "Partially Captured", "Partially Refunded", "Refunded",
    } },
    failure = { source = DOC_STATUS, codes = { "Declined" } },
    closed = { source = DOC_STATUS, codes = { "Voided", "Canceled", "Expired" } },
    processing = { source = DOC_STATUS, codes = {
      "Pending", "Card Verified", "Retry Scheduled", "Authorized:unapproved", "http429", "http502",
    } },
    not_found = { source = DOC_STATUS, codes = { "http404", "not_found" } },
  },
  cancel = {
    success = { source = DOC_VOID, none = "the void endpoint only ever answers 202 "
                .. "accepted (asynchronous): a void is final when the payment reads "
                .. "Voided (query) or payment_voided arrives" },
    processing = { source = DOC_VOID, codes = { "accepted", "http403", "http409", "http429", "http502" } },
    not_found = { source = DOC_VOID, codes = { "http404" } },
  },
  refund = {
    success = { source = DOC_ACTIONS, none = "the refund endpoint only answers 202 "
                .. "accepted; the refund's outcome is its action (refund_query) or the "
                .. "payment_refunded / payment_refund_declined webhook" },
    -- 403 "refund not allowed" may be our own earlier refund: never FAILED here
    processing = { source = DOC_REFUND, codes = { "accepted", "http403", "http409", "http429", "http502" } },
    not_found = { source = DOC_REFUND, codes = { "http404" } },
  },
  refund_query = {
    success = { source = DOC_ACTIONS, codes = { "Refund:approved" } },
    failure = { source = DOC_ACTIONS, codes = { "Refund:declined" } },
    not_found = { source = DOC_ACTIONS, codes = { "http404", "not_found" } },
    processing = { source = DOC_ACTIONS, codes = { "http429", "http502" } },
  },
  notify = {
    success = { source = DOC_WEBHOOKS, codes = {
      "payment_approved", "payment_captured", "payment_paid", "payment_refunded",
    } },
    failure = { source = DOC_WEBHOOKS, codes = { "payment_declined", "payment_refund_declined" } },
    closed = { source = DOC_WEBHOOKS, codes = { "payment_voided", "payment_canceled", "payment_expired" } },
    processing = { source = DOC_WEBHOOKS, codes = {
      "payment_pending", "payment_capture_pending", "payment_capture_declined",
      "payment_refund_pending", "payment_void_declined", "payment_retry_scheduled",
      "payment_authentication_failed",
    } },
  },
}

local APPROVALS = {
  Authorized = true, Captured = true, Paid = true, ["Partially Captured"] = true,
  ["Partially Refunded"] = true, Refunded = true,
}

local function str(v)
  return type(v) == "string" and v or nil
end

local function open(resp)
  local st = resp.status
  if st == 404 or st == 401 or st == 403 or st == 409 or st == 429 or (type(st) == "number" and st >= 500) then
    return nil, "http" .. tostring(st), nil
  end
  local body = resp.body or ""
  if st == 202 and body == "" then return {}, nil, nil end
  local obj, jerr = gw.json.decode(body)
  if type(obj) ~= "table" then
    return nil, nil, "answer is not JSON (HTTP " .. tostring(st) .. "): " .. tostring(jerr)
  end
  if st == 422 then return nil, "request_invalid", nil, obj end
  if type(st) ~= "number" or st < 200 or st > 299 then
    return nil, "http" .. tostring(st), nil
  end
  return obj, nil, nil
end

local function payment_code(p, with_rc)
  local status = str(p.status) or ""
  local rc = str(p.response_code)
  if status == "Declined" and with_rc and rc ~= nil and rc:match("^%d%d%d%d%d$") then
    return "Declined:" .. rc:sub(1, 2) .. "xxx"
  end
  if APPROVALS[status] and status ~= "Refunded" and status ~= "Partially Refunded" then
    if p.approved ~= true then return status .. ":unapproved" end
    if rc ~= nil and rc ~= "10000" then return status .. ":" .. rc end
  end
  return status
end

local function check_payment(p, order)
  if type(order) ~= "table" then return nil end
  if str(order.out_trade_no) ~= nil and p.reference ~= order.out_trade_no then
    return "payment " .. tostring(p.id) .. " is not for out_trade_no " .. order.out_trade_no
  end
  if str(order.channel_trade_no) ~= nil and order.channel_trade_no ~= "" and p.id ~= order.channel_trade_no then
    return "payment id differs from channel_trade_no"
  end
  if math.type(order.amount) == "integer" and p.amount ~= order.amount then
    return "payment amount differs from the order amount"
  end
  if str(order.currency) ~= nil and p.currency ~= order.currency then
    return "payment currency differs from the order currency"
  end
  return nil
end

local function payment_result(p, order, with_rc)
  local f = {
    channel_trade_no = str(p.id),
    trade_status = str(p.status),
    amount = math.type(p.amount) == "integer" and p.amount or nil,
    response_code = str(p.response_code),
    response_summary = str(p.response_summary),
  }
  local links = type(p._links) == "table" and p._links or {}
  if type(links.redirect) == "table" and str(links.redirect.href) ~= nil then
    f.credential = { type = "url", url = links.redirect.href }
  end
  return { code = payment_code(p, with_rc), error = check_payment(p, order), fields = f }
end

S.parse = {}

function S.parse.pay(resp, order, ctx)
  local p, code, err, e = open(resp)
  if p == nil then
    local f = {}
    if type(e) == "table" and type(e.error_codes) == "table" then
      f.error_code = str(e.error_codes[1])
    end
    return { code = code, error = err, fields = f }
  end
  return payment_result(p, order, true)
end

function S.parse.query(resp, order, ctx)
  local p, code, err = open(resp)
  if p == nil then return { code = code, error = err } end
  if type(p.data) == "table" and p.id == nil then
    local mine = {}
    for _, x in ipairs(p.data) do
      if type(x) == "table" and type(order) == "table" and x.reference == order.out_trade_no then
        mine[#mine + 1] = x
      end
    end
    if #mine == 0 then
      if math.type(p.total_count) == "integer" and p.total_count > #p.data then
        return { code = "", error = "payment list has more pages" }
      end
      return { code = "not_found" }
    end
    if #mine > 1 then
      return { code = "", error = #mine .. " payments carry reference " .. tostring(order.out_trade_no) }
    end
    p = mine[1]
  end
  return payment_result(p, order, false)
end

local function accepted(resp, what)
  local obj, code, err = open(resp)
  if obj == nil then return { code = code, error = err } end
  if resp.status ~= 202 then
    return { code = "", error = what .. " answered HTTP " .. tostring(resp.status) .. ", not 202" }
  end
  return { code = "accepted", fields = { action_id = str(obj.action_id), reference = str(obj.reference) } }
end

function S.parse.cancel(resp, order, ctx)
  return accepted(resp, "void")
end

function S.parse.refund(resp, order, ctx)
  local r = accepted(resp, "refund")
  if r.fields ~= nil then
    local want = type(order) == "table" and type(order.refund) == "table" and order.refund or {}
    r.fields.channel_refund_no = r.fields.action_id
    if r.fields.reference ~= nil and str(want.out_refund_no) ~= nil and r.fields.reference ~= want.out_refund_no then
      r.error = "refund action is for another reference"
    end
  end
  return r
end

function S.parse.refund_query(resp, order, ctx)
  local list, code, err = open(resp)
  if list == nil then return { code = code, error = err } end
  local want = type(order) == "table" and type(order.refund) == "table" and order.refund or {}
  local found
  for _, a in ipairs(list) do
    if type(a) == "table" and a.type == "Refund"
       and ((str(want.channel_refund_no) ~= nil and a.id == want.channel_refund_no)
            or (str(want.out_refund_no) ~= nil and a.reference == want.out_refund_no)) then
      if found ~= nil then return { code = "", error = "two refund actions match" } end
      found = a
    end
  end
  if found == nil then return { code = "not_found" } end
  local f = {
    channel_refund_no = str(found.id),
    amount = math.type(found.amount) == "integer" and found.amount or nil,
    response_code = str(found.response_code),
  }
  local e
  if math.type(want.amount) == "integer" and f.amount ~= want.amount then
    e = "refund amount differs from the requested amount"
  end
  local c
  if found.approved == true and (found.response_code == nil or found.response_code == "10000") then
    c = "Refund:approved"
  elseif found.approved == false then
    c = "Refund:declined"
  else
    c = "Refund:" .. tostring(found.response_code)
  end
  f.refund_status = c
  return { code = c, error = e, fields = f }
end

local REFUND_EVENTS = {
  payment_refunded = true, payment_refund_declined = true, payment_refund_pending = true,
}

-- Cko-Signature = hex HMAC-SHA256(webhook secret key, raw body)
-- (https://www.checkout.com/docs/developer-resources/webhooks/manage-webhooks — authenticate)
function S.notify(req, ctx)
  local sig = type(req.headers) == "table" and str(req.headers["cko-signature"]) or nil
  if sig == nil or sig == "" then return { verified = false, error = "no Cko-Signature header" } end
  local name = ctx.config.webhook_secret
  if type(name) ~= "string" or name == "" then
    return { verified = false, error = "config webhook_secret is not set" }
  end
  local expected = gw.crypto.hmac("sha256", gw.secret(name), req.body, "hex")
  if not gw.crypto.equals(sig:lower(), expected) then
    return { verified = false, error = "Cko-Signature does not match" }
  end
  local evt = gw.json.decode(req.body)
  local typ = type(evt) == "table" and str(evt.type) or nil
  if typ == nil or type(evt.data) ~= "table" then
    return { verified = false, error = "signature valid, but the body is not a Checkout.com event" }
  end
  local d = evt.data
  local md = type(d.metadata) == "table" and d.metadata or {}
  local fields = {
    event_id = str(evt.id), event_type = typ, channel_trade_no = str(d.id),
    amount = math.type(d.amount) == "integer" and d.amount or nil,
    response_code = str(d.response_code),
  }
  local otn = str(md.out_trade_no)
  if REFUND_EVENTS[typ] then
    fields.kind = "refund"
    fields.out_refund_no = str(md.out_refund_no) or str(d.reference)
    fields.channel_refund_no = str(d.action_id)
  else
    otn = otn or str(d.reference)
  end
  if otn == nil or not typ:match("^payment_") then
    return { verified = false, fields = fields,
             error = "signature valid, but event " .. typ .. " names no order of ours" }
  end
  return { verified = true, code = typ, out_trade_no = otn, fields = fields }
end

return S
