-- scripts/stripe.lua -- Stripe PaymentIntents + Refunds: code lists, answer
-- parsers and the webhook verifier of the stripe pack (builders:
-- templates/stripe.lua).
--
-- The one code per answer:
--   * a PaymentIntent (retrieve, create, confirm, cancel)  -> its `status`
--     (succeeded, canceled, requires_payment_method, processing, …); for the
--     prepay method a fresh intent with a client_secret    -> "created"
--   * a Refund                                            -> its `status`
--   * an error {"error":{type, code}}                      -> "<type>:<code>"
--     ("<type>:http<status>" when Stripe gives no code)
--   * a search / list with no object of ours               -> "not_found"
-- Stripe does not sign its API answers; an answer counts only when it names
-- our order (metadata.out_trade_no / out_refund_no) and amount — anything
-- else is returned with `error` (-> PROCESSING).
-- A declined attempt (402 card_error) leaves the PaymentIntent in
-- requires_payment_method: Stripe documents it as reusable (a later confirm
-- may still charge it), so it is PROCESSING, never FAILED; only a `canceled`
-- intent is documented as never chargeable again (close -> CLOSED).

local S = {}

local DOC_PI_STATUS = "https://docs.stripe.com/payments/paymentintents/lifecycle"
local DOC_PI_OBJECT = "https://docs.stripe.com/api/payment_intents/object#payment_intent_object-status"
local DOC_ERRORS = "https://docs.stripe.com/api/errors"          -- types, 402/404/409/429/5xx
local DOC_ERROR_CODES = "https://docs.stripe.com/error-codes"
local DOC_IDEMPOTENCY = "https://docs.stripe.com/api/idempotent_requests"
local DOC_CANCEL = "https://docs.stripe.com/api/payment_intents/cancel"
local DOC_REFUND = "https://docs.stripe.com/api/refunds/object#refund_object-status"
local DOC_EVENTS = "https://docs.stripe.com/api/events/types"

-- Rejected by Stripe's request validation before anything was created: an
-- idempotent result is not even stored for these (DOC_IDEMPOTENCY: "results
-- are only saved if an API endpoint started executing"), and no object exists.
local PAY_REJECTED = {
  "invalid_request_error:parameter_missing", "invalid_request_error:parameter_unknown",
  "invalid_request_error:parameter_invalid_integer", "invalid_request_error:parameter_invalid_empty",
  "invalid_request_error:amount_too_small", "invalid_request_error:amount_too_large",
  "invalid_request_error:api_key_expired", "invalid_request_error:http401",
}

-- in doubt: retried / unknown / possibly executed (DOC_ERRORS, DOC_IDEMPOTENCY)
local UNSURE = {
  "api_error:http500", "api_error:http502", "api_error:http503",
  "invalid_request_error:rate_limit", "rate_limit_error:rate_limit",
  "idempotency_error:idempotency_key_in_use", "idempotency_error:http400",
  "invalid_request_error:lock_timeout",
}

local function concat(...)
  local out = {}
  for _, l in ipairs({ ... }) do
    for _, v in ipairs(l) do out[#out + 1] = v end
  end
  return out
end

S.codes = {
  pay = {
    -- succeeded: charged; created: a prepay intent exists (the host keeps
    -- a prepay order PROCESSING)
    success = { source = DOC_PI_OBJECT, codes = { "succeeded", "created" } },
    -- canceled: "no further charges" (DOC_CANCEL)
    failure = { source = DOC_CANCEL, codes = { "canceled" } },
    processing = { source = DOC_PI_STATUS, codes = concat({
      "processing", "requires_action", "requires_confirmation", "requires_capture",
      "requires_payment_method",
      -- a decline returns the intent to requires_payment_method: reusable
      "card_error:card_declined", "card_error:expired_card", "card_error:incorrect_cvc",
      "card_error:processing_error", "card_error:incorrect_number",
      "card_error:authentication_required", "invalid_request_error:payment_intent_unexpected_state",
    }, UNSURE) },
    rejected = { source = DOC_ERROR_CODES, codes = PAY_REJECTED },
  },
  query = {
    success = { source = DOC_PI_OBJECT, codes = { "succeeded" } },
    closed = { source = DOC_CANCEL, codes = { "canceled" } },
    processing = { source = DOC_PI_STATUS, codes = concat({
      "processing", "requires_action", "requires_confirmation", "requires_capture",
      "requires_payment_method",
    }, UNSURE) },
    -- retrieve 404 resource_missing, or a search that finds no intent of ours
    -- (search is eventually consistent): never FAILED
    not_found = { source = DOC_ERRORS, codes = { "invalid_request_error:resource_missing",
                                                 "not_found" } },
  },
  close = {
    success = { source = DOC_CANCEL, codes = { "canceled" } },
    -- cancel refused because the intent is processing / succeeded: query decides
    processing = { source = DOC_CANCEL, codes = concat({
      "invalid_request_error:payment_intent_unexpected_state", "succeeded", "processing",
    }, UNSURE) },
    not_found = { source = DOC_ERRORS, codes = { "invalid_request_error:resource_missing" } },
  },
  refund = {
    success = { source = DOC_REFUND, codes = { "succeeded" } },
    failure = { source = DOC_REFUND, codes = { "failed", "canceled" } },
    -- charge_already_refunded / amount_too_large may be our own earlier
    -- refund whose idempotency key expired: never FAILED on them
    processing = { source = DOC_REFUND, codes = concat({
      "pending", "requires_action", "invalid_request_error:charge_already_refunded",
      "invalid_request_error:amount_too_large",
    }, UNSURE) },
  },
  refund_query = {
    success = { source = DOC_REFUND, codes = { "succeeded" } },
    failure = { source = DOC_REFUND, codes = { "failed", "canceled" } },
    processing = { source = DOC_REFUND, codes = concat({ "pending", "requires_action" }, UNSURE) },
    not_found = { source = DOC_ERRORS, codes = { "invalid_request_error:resource_missing",
                                                 "not_found" } },
  },
  notify = {
    success = { source = DOC_EVENTS, codes = { "payment_intent.succeeded", "refund:succeeded" } },
    closed = { source = DOC_EVENTS, codes = { "payment_intent.canceled" } },
    failure = { source = DOC_REFUND, codes = { "refund:failed", "refund:canceled" } },
    -- payment_failed = one declined attempt; the intent stays reusable
    processing = { source = DOC_EVENTS, codes = {
      "payment_intent.payment_failed", "payment_intent.processing",
      "payment_intent.requires_action", "payment_intent.created",
      "payment_intent.amount_capturable_updated", "charge.refunded",
      "refund:pending", "refund:requires_action",
    } },
  },
}

local function str(v)
  return type(v) == "string" and v or nil
end

local function otn_of(order)
  return type(order) == "table" and str(order.out_trade_no) or nil
end

-- amount Stripe reports -> our integer minor units (ISK/UGX are x100 there)
local function our_amount(v, currency, ctx)
  if math.type(v) ~= "integer" then return nil end
  local x100 = ctx.manifest.x100_currencies or {}
  if type(currency) == "string" and x100[currency:upper()] then
    if v % 100 ~= 0 then return nil end
    return v // 100
  end
  return v
end

-- Decode the answer; returns obj, nil or nil, code, err.
local function open(resp)
  local st = resp.status
  local obj, jerr = gw.json.decode(resp.body or "")
  if type(obj) ~= "table" then
    return nil, nil, "answer is not JSON (HTTP " .. tostring(st) .. "): " .. tostring(jerr)
  end
  if type(obj.error) == "table" then
    local e = obj.error
    local code = (str(e.type) or "unknown") .. ":" .. (str(e.code) or ("http" .. tostring(st)))
    return nil, code, nil, e
  end
  if type(st) ~= "number" or st < 200 or st > 299 then
    return nil, nil, "HTTP " .. tostring(st) .. " without a Stripe error"
  end
  return obj, nil, nil
end

local function err_result(code, err, e)
  local fields = {}
  if type(e) == "table" then
    fields.error_code = str(e.code)
    fields.decline_code = str(e.decline_code)
    fields.message = str(e.message)
  end
  return { code = code, error = err, fields = fields }
end

-- The checks every PaymentIntent must pass before its status counts.
local function check_intent(pi, order, ctx)
  if pi.object ~= "payment_intent" then return "answer is not a payment_intent" end
  local md = type(pi.metadata) == "table" and pi.metadata or {}
  local otn = otn_of(order)
  if otn ~= nil and md.out_trade_no ~= otn then
    return "payment_intent " .. tostring(pi.id) .. " is not for out_trade_no " .. otn
  end
  if type(order) == "table" and type(order.channel_trade_no) == "string"
     and order.channel_trade_no ~= "" and pi.id ~= order.channel_trade_no then
    return "payment_intent id differs from channel_trade_no"
  end
  if type(order) == "table" and math.type(order.amount) == "integer" then
    if our_amount(pi.amount, pi.currency, ctx) ~= order.amount then
      return "payment_intent amount differs from the order amount"
    end
    if type(order.currency) == "string" and str(pi.currency) ~= order.currency:lower() then
      return "payment_intent currency differs from the order currency"
    end
  end
  if pi.status == "succeeded" and type(order) == "table" and math.type(order.amount) == "integer"
     and our_amount(pi.amount_received, pi.currency, ctx) ~= order.amount then
    return "amount_received differs from the order amount"
  end
  return nil
end

local function intent_fields(pi, ctx)
  local f = {
    channel_trade_no = str(pi.id),
    trade_status = str(pi.status),
    amount = our_amount(pi.status == "succeeded" and pi.amount_received or pi.amount,
                        pi.currency, ctx),
  }
  if type(pi.last_payment_error) == "table" then
    f.last_error_code = str(pi.last_payment_error.code)
    f.decline_code = str(pi.last_payment_error.decline_code)
  end
  return f
end

local function intent_result(pi, order, ctx)
  local f = intent_fields(pi, ctx)
  local bad = check_intent(pi, order, ctx)
  if bad ~= nil then return { code = str(pi.status) or "", error = bad, fields = f } end
  return { code = str(pi.status) or "", fields = f }
end

S.parse = {}

function S.parse.pay(resp, order, ctx)
  local pi, code, err, e = open(resp)
  if pi == nil then
    if type(e) == "table" and e.type == "card_error" and type(e.payment_intent) == "table" then
      -- a decline: the intent Stripe attaches tells whether it is still chargeable
      local epi = e.payment_intent
      local bad = check_intent(epi, order, ctx)
      local r = err_result(code, bad, e)
      r.fields.channel_trade_no = str(epi.id)
      if bad == nil and epi.status == "canceled" then r.code = "canceled" end
      return r
    end
    return err_result(code, err, e)
  end
  local r = intent_result(pi, order, ctx)
  if r.error ~= nil then return r end
  local method = type(order) == "table" and order.method or nil
  if method == "stripe.payment_intent" then
    if (pi.status == "requires_payment_method" or pi.status == "requires_confirmation"
        or pi.status == "requires_action") then
      if str(pi.client_secret) == nil or pi.client_secret == "" then
        r.error = "payment_intent has no client_secret"
        return r
      end
      r.code = "created"
      r.fields.credential = { type = "client_secret", client_secret = pi.client_secret }
    end
  elseif pi.status == "requires_action" and type(pi.next_action) == "table"
         and type(pi.next_action.redirect_to_url) == "table"
         and str(pi.next_action.redirect_to_url.url) ~= nil then
    r.fields.credential = { type = "url", url = pi.next_action.redirect_to_url.url }
  end
  return r
end

-- retrieve, or a search_result when the id was unknown
function S.parse.query(resp, order, ctx)
  local obj, code, err, e = open(resp)
  if obj == nil then return err_result(code, err, e) end
  if obj.object == "search_result" or obj.object == "list" then
    local mine = {}
    local otn = otn_of(order)
    for _, pi in ipairs(type(obj.data) == "table" and obj.data or {}) do
      if type(pi) == "table" and type(pi.metadata) == "table" and pi.metadata.out_trade_no == otn then
        mine[#mine + 1] = pi
      end
    end
    if #mine == 0 then
      if obj.has_more == true then return { code = "", error = "search has more pages" } end
      return { code = "not_found" }
    end
    if #mine > 1 then
      return { code = "", error = #mine .. " payment_intents carry out_trade_no " .. tostring(otn) }
    end
    obj = mine[1]
  end
  return intent_result(obj, order, ctx)
end

function S.parse.close(resp, order, ctx)
  local pi, code, err, e = open(resp)
  if pi == nil then return err_result(code, err, e) end
  return intent_result(pi, order, ctx)
end

local function refund_of(order)
  return type(order) == "table" and type(order.refund) == "table" and order.refund or {}
end

local function refund_result(rf, order, ctx)
  local want = refund_of(order)
  local f = {
    channel_refund_no = str(rf.id),
    refund_status = str(rf.status),
    amount = our_amount(rf.amount, rf.currency, ctx),
  }
  local md = type(rf.metadata) == "table" and rf.metadata or {}
  local e
  if rf.object ~= "refund" then
    e = "answer is not a refund"
  elseif str(want.out_refund_no) ~= nil and md.out_refund_no ~= want.out_refund_no then
    e = "refund " .. tostring(rf.id) .. " is not for out_refund_no " .. want.out_refund_no
  elseif type(order) == "table" and str(order.channel_trade_no) ~= nil
         and rf.payment_intent ~= order.channel_trade_no then
    e = "refund belongs to another payment_intent"
  elseif math.type(want.amount) == "integer" and f.amount ~= want.amount then
    e = "refund amount differs from the requested amount"
  end
  return { code = str(rf.status) or "", error = e, fields = f }
end

function S.parse.refund(resp, order, ctx)
  local rf, code, err, e = open(resp)
  if rf == nil then return err_result(code, err, e) end
  return refund_result(rf, order, ctx)
end

function S.parse.refund_query(resp, order, ctx)
  local obj, code, err, e = open(resp)
  if obj == nil then return err_result(code, err, e) end
  if obj.object == "list" then
    local orn = str(refund_of(order).out_refund_no)
    local found
    for _, rf in ipairs(type(obj.data) == "table" and obj.data or {}) do
      if type(rf) == "table" and type(rf.metadata) == "table" and rf.metadata.out_refund_no == orn then
        if found ~= nil then return { code = "", error = "two refunds carry out_refund_no " .. orn } end
        found = rf
      end
    end
    if found == nil then
      if obj.has_more == true then return { code = "", error = "refund list has more pages" } end
      return { code = "not_found" }
    end
    obj = found
  end
  return refund_result(obj, order, ctx)
end

-- Stripe-Signature: t=<unix>,v1=<hex>[,v1=…][,v0=…]; v1 = hex HMAC-SHA256
-- keyed with the whole whsec_… string over "<t>.<raw body>"
-- (https://docs.stripe.com/webhooks#verify-manually).
local function check_signature(req, ctx)
  local h = type(req.headers) == "table" and str(req.headers["stripe-signature"]) or nil
  if h == nil or h == "" then return "no Stripe-Signature header" end
  local t, v1 = nil, {}
  for part in h:gmatch("[^,]+") do
    local k, v = part:match("^%s*([%w]+)=(.-)%s*$")
    if k == "t" then t = v
    elseif k == "v1" then v1[#v1 + 1] = v end
  end
  if t == nil or not t:match("^%d+$") or #t > 12 or #v1 == 0 then
    return "Stripe-Signature has no timestamp or no v1 signature"
  end
  local name = ctx.config.webhook_secret
  if type(name) ~= "string" or name == "" then return "config webhook_secret is not set" end
  local expected = gw.crypto.hmac("sha256", gw.secret(name), t .. "." .. req.body, "hex")
  local ok = false
  for _, sig in ipairs(v1) do
    if gw.crypto.equals(sig, expected) then ok = true end
  end
  if not ok then return "Stripe-Signature does not match" end
  local tol = ctx.manifest.webhook_tolerance_s or 300
  local age = gw.time.now_ms() // 1000 - tonumber(t)
  if age > tol or age < -tol then return "Stripe-Signature timestamp outside the tolerance" end
  return nil
end

function S.notify(req, ctx)
  local bad = check_signature(req, ctx)
  if bad ~= nil then return { verified = false, error = bad } end
  local evt = gw.json.decode(req.body)
  if type(evt) ~= "table" or evt.object ~= "event" or type(evt.data) ~= "table"
     or type(evt.data.object) ~= "table" then
    return { verified = false, error = "signature valid, but the body is not a Stripe event" }
  end
  local typ, obj = str(evt.type) or "", evt.data.object
  local md = type(obj.metadata) == "table" and obj.metadata or {}
  local fields = { event_id = str(evt.id), event_type = typ }
  if typ:match("^payment_intent%.") and obj.object == "payment_intent" then
    for k, v in pairs(intent_fields(obj, ctx)) do fields[k] = v end
    return { verified = true, code = typ, out_trade_no = str(md.out_trade_no), fields = fields }
  end
  local rf
  if typ:match("^refund%.") and obj.object == "refund" then
    rf = obj
  elseif typ == "charge.refunded" and obj.object == "charge" then
    -- the charge lists its refunds only when the API version includes them
    local list = type(obj.refunds) == "table" and obj.refunds.data or nil
    if type(list) == "table" and type(list[1]) == "table" then rf = list[1] end
    if rf == nil then
      fields.kind = "refund"
      fields.channel_trade_no = str(obj.payment_intent)
      return { verified = true, code = typ, out_trade_no = str(md.out_trade_no), fields = fields }
    end
  end
  if rf ~= nil then
    local rmd = type(rf.metadata) == "table" and rf.metadata or {}
    fields.kind = "refund"
    fields.out_refund_no = str(rmd.out_refund_no)
    fields.channel_refund_no = str(rf.id)
    fields.channel_trade_no = str(rf.payment_intent)
    fields.refund_status = str(rf.status)
    fields.amount = our_amount(rf.amount, rf.currency, ctx)
    return { verified = true, code = "refund:" .. (str(rf.status) or ""),
             out_trade_no = str(rmd.out_trade_no) or str(md.out_trade_no), fields = fields }
  end
  return { verified = false, fields = fields,
           error = "signature valid, but event " .. typ .. " names no order of ours" }
end

return S
