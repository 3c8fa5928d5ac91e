-- scripts/adyen.lua -- Adyen Checkout API v71: code lists, answer parsers and
-- the standard-webhook (HMAC) verifier of the adyen pack (builders:
-- templates/adyen.lua).
--
-- Codes this file extracts (the host classifies them):
--   * pay (/payments) and details (/payments/details): `resultCode` as Adyen spells it
--     (Authorised, Refused, Pending, RedirectShopper, ...).  For a prepay
--     method (adyen.redirect) an action code becomes "prepay:<resultCode>":
--     the redirect/QR credential exists, the order stays PROCESSING.
--   * cancel / refund: `status` ("received": Adyen only took the request; the
--     outcome arrives by the CANCELLATION / REFUND webhook).
--   * an error answer (HTTP 4xx with {status, errorCode, errorType}):
--     "<HTTP status>:<errorCode>", e.g. "401:000", "422:167".
--   * webhook: "<eventCode>:<success>", e.g. "AUTHORISATION:true".
-- Adyen does not sign API answers; TLS is the only proof of origin.  Only the
-- webhook is signed: additionalData.hmacSignature = base64 HMAC-SHA256, key =
-- the hex-decoded HMAC key, over
--   pspReference:originalReference:merchantAccountCode:merchantReference:
--   value:currency:eventCode:success          (absent field -> empty string)
-- (@adyen/api-library src/utils/hmacValidator.ts, getDataToSign/calculateHmac).

local S = {}

local DOC_RESULT = "https://docs.adyen.com/online-payments/payment-result-codes"
local DOC_SDK_RESULT = "https://github.com/Adyen/adyen-node-api-library/blob/v32.1.0/src/typings/checkout/paymentResponse.ts"
local DOC_ERRORS = "https://docs.adyen.com/development-resources/error-codes"
local DOC_REFUND = "https://docs.adyen.com/online-payments/refund"
local DOC_CANCEL = "https://docs.adyen.com/online-payments/cancel"
local DOC_WEBHOOK = "https://docs.adyen.com/development-resources/webhooks/webhook-types"
local DOC_EVENTS = "https://github.com/Adyen/adyen-node-api-library/blob/v32.1.0/src/typings/notification/notificationRequestItem.ts"

-- 000 "Unauthorised" (wrong API key) and 010 "Not allowed" (credential lacks
-- the role): Adyen refuses the call at its API edge, no payment is created.
-- https://docs.adyen.com/development-resources/error-codes (Generic error codes)
local REJECTED = { "401:000", "403:010" }

S.codes = {
  pay = {
    -- "Authorised ... This is a final state" (payment-result-codes)
    success = { source = DOC_RESULT, codes = { "Authorised",
      -- prepay methods: the redirect / QR to show the buyer exists
      "prepay:RedirectShopper", "prepay:PresentToShopper" } },
    -- "Refused ... final state"; "Cancelled ... final state"
    failure = { source = DOC_RESULT, codes = { "Refused", "Cancelled" } },
    -- in progress or needs the shopper; Error is documented final, but an
    -- error while processing does not prove the issuer did not authorise:
    -- kept PROCESSING until the AUTHORISATION webhook (conservative)
    processing = { source = DOC_SDK_RESULT, codes = {
      "Pending", "Received", "RedirectShopper", "IdentifyShopper", "ChallengeShopper",
      "PresentToShopper", "Error", "PartiallyAuthorised", "AuthenticationFinished",
      "AuthenticationNotRequired", "Success",
    } },
    rejected = { source = DOC_ERRORS, codes = REJECTED },
  },
  cancel = {
    success = { source = DOC_CANCEL, none = "the synchronous answer is only "
                .. "status received; the cancel's outcome is the CANCELLATION webhook" },
    processing = { source = DOC_CANCEL, codes = { "received" } },
    rejected = { source = DOC_ERRORS, codes = REJECTED },
  },
  refund = {
    success = { source = DOC_REFUND, none = "the synchronous answer is only status "
                .. "received; the refund's outcome is the REFUND / REFUND_FAILED webhook" },
    processing = { source = DOC_REFUND, codes = { "received" } },
    rejected = { source = DOC_ERRORS, codes = REJECTED },
  },
  notify = {
    success = { source = DOC_WEBHOOK, codes = {
      "AUTHORISATION:true", "CAPTURE:true", "REFUND:true",
    } },
    -- success=false on these events is Adyen's final "did not happen"
    failure = { source = DOC_WEBHOOK, codes = {
      "AUTHORISATION:false", "CAPTURE_FAILED:true", "REFUND:false", "REFUND_FAILED:true",
    } },
    -- an unpaid offer (redirect/voucher) expired; a cancelled authorisation
    closed = { source = DOC_WEBHOOK, codes = { "OFFER_CLOSED:true", "CANCELLATION:true" } },
    processing = { source = DOC_EVENTS, codes = {
      "PENDING:true", "CANCELLATION:false", "CAPTURE:false", "CANCEL_OR_REFUND:true",
      "CANCEL_OR_REFUND:false", "TECHNICAL_CANCEL:true", "REFUNDED_REVERSED:true",
      "CHARGEBACK:true", "EXPIRE:true",
    } },
  },
}

local REFUND_EVENTS = { REFUND = true, REFUND_FAILED = true, REFUNDED_REVERSED = true }

local function str(v)
  return type(v) == "string" and v or nil
end

local function decode_object(body)
  local t, err = gw.json.decode(body or "")
  if type(t) ~= "table" then
    return nil, "answer is not a JSON object: " .. tostring(err)
  end
  return t
end

-- Every answer: 2xx JSON -> t; 4xx JSON error -> code "<status>:<errorCode>";
-- anything else -> PROCESSING with an error.
local function open_answer(resp)
  local st = resp.status
  if math.type(st) ~= "integer" or st >= 500 or st < 200 then
    return nil, nil, "HTTP status " .. tostring(st)
  end
  local t, err = decode_object(resp.body)
  if t == nil then return nil, nil, err end
  if st >= 300 then
    local ec = t.errorCode
    if math.type(ec) == "integer" then ec = tostring(ec) end
    if str(ec) == nil or ec == "" then
      return nil, nil, "HTTP " .. st .. " without errorCode"
    end
    return nil, st .. ":" .. ec, nil, { msg = str(t.message), error_type = str(t.errorType),
                                         channel_trade_no = str(t.pspReference) }
  end
  return t
end

local function fail(code, err, fields)
  return { code = code, error = err, verified = false, fields = fields }
end

local function credential_of(action)
  if type(action) ~= "table" then return nil end
  if str(action.url) ~= nil then
    local c = { type = "url", url = action.url, method = str(action.method) or "GET",
                action_type = str(action.type) }
    if type(action.data) == "table" then c.data = action.data end
    return c
  end
  if str(action.qrCodeData) ~= nil then
    return { type = "qr_code", qr_code = action.qrCodeData, action_type = str(action.type) }
  end
  return { type = "none", action_type = str(action.type) }
end

local function is_prepay(order, ctx)
  local m = order ~= nil and ctx.manifest.methods[order.method or ""] or nil
  return m ~= nil and m.kind == "prepay"
end

-- the next leg of a pay (/payments/details): the same resultCode set, read
-- the same way -- but never "prepay:": an action here is the next step for
-- the shopper (the host hands it out), not the payment's first credential
S.codes.details = {
  success = { source = DOC_RESULT, codes = { "Authorised" } },
  failure = S.codes.pay.failure,
  processing = S.codes.pay.processing,
  rejected = S.codes.pay.rejected,
}

S.parse = {}

-- a payment answer (/payments or /payments/details); prepay: the order's
-- method is a prepay one and this is its first answer
local function parse_payment(resp, order, prepay)
  local t, code, err, efields = open_answer(resp)
  if t == nil then
    if code ~= nil then return { code = code, verified = true, fields = efields } end
    return fail(nil, err)
  end
  local rc = str(t.resultCode)
  if rc == nil or rc == "" then
    return fail(nil, "answer has no resultCode")
  end
  local fields = {
    channel_trade_no = str(t.pspReference),
    result_code = rc,
    refusal_reason = str(t.refusalReason),
    refusal_reason_code = str(t.refusalReasonCode),
  }
  if order ~= nil and str(t.merchantReference) ~= nil
     and t.merchantReference ~= order.out_trade_no then
    return { code = rc, verified = true, fields = fields,
             error = "merchantReference in the answer differs from out_trade_no" }
  end
  if type(t.amount) == "table" and math.type(t.amount.value) == "integer" then
    fields.amount = t.amount.value
    if order ~= nil and math.type(order.amount) == "integer"
       and (t.amount.value ~= order.amount
            or (str(t.amount.currency) and t.amount.currency ~= order.currency)) then
      return { code = rc, verified = true, fields = fields,
               error = "amount in the answer differs from the order" }
    end
  end
  if rc == "Authorised" and fields.channel_trade_no == nil then
    return { code = rc, verified = true, fields = fields,
             error = "Authorised without a pspReference" }
  end
  local cred = credential_of(t.action)
  if cred ~= nil then
    fields.credential = cred
    if type(t.action) == "table" and str(t.action.paymentData) ~= nil then
      fields.payment_data = t.action.paymentData
    end
  end
  if cred ~= nil and cred.type ~= "none" and prepay
     and (rc == "RedirectShopper" or rc == "PresentToShopper") then
    rc = "prepay:" .. rc
  end
  return { code = rc, verified = true, fields = fields }
end

function S.parse.pay(resp, order, ctx)
  return parse_payment(resp, order, is_prepay(order, ctx))
end

-- details: the answer of /payments/details is a payment answer; an action in
-- it is the shopper's next step (fields.credential), never "prepay:"
function S.parse.details(resp, order, ctx)
  return parse_payment(resp, order, false)
end

local function parse_modification(resp, order)
  local t, code, err, efields = open_answer(resp)
  if t == nil then
    if code ~= nil then return { code = code, verified = true, fields = efields } end
    return fail(nil, err)
  end
  local status = str(t.status)
  if status == nil or status == "" then
    return fail(nil, "modification answer has no status")
  end
  local fields = {
    channel_modification_no = str(t.pspReference),
    channel_trade_no = str(t.paymentPspReference),
    reference = str(t.reference),
  }
  if order ~= nil and str(order.channel_trade_no) ~= nil and fields.channel_trade_no ~= nil
     and fields.channel_trade_no ~= order.channel_trade_no then
    return { code = status, verified = true, fields = fields,
             error = "paymentPspReference in the answer differs" }
  end
  return { code = status, verified = true, fields = fields }
end

function S.parse.cancel(resp, order, ctx)
  return parse_modification(resp, order)
end

function S.parse.refund(resp, order, ctx)
  local r = parse_modification(resp, order)
  if r.fields ~= nil then
    r.fields.channel_refund_no = r.fields.channel_modification_no
    r.fields.refund_status = r.code
  end
  return r
end

-- ---- standard webhook -------------------------------------------------------

local function as_text(v)
  if v == nil or v == gw.json.null then return "" end
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "string" then return v end
  return nil
end

-- the 8 fields of the standard notification, in Adyen's order
local function data_to_sign(item)
  local amount = type(item.amount) == "table" and item.amount or {}
  local parts = {
    as_text(item.pspReference), as_text(item.originalReference),
    as_text(item.merchantAccountCode), as_text(item.merchantReference),
    as_text(amount.value), as_text(amount.currency),
    as_text(item.eventCode), as_text(item.success),
  }
  for i = 1, 8 do
    if parts[i] == nil then return nil end
  end
  return table.concat(parts, ":")
end

-- "<out_trade_no>/<suffix>" is how the builders name modifications; Adyen may
-- report either the payment's or the modification's reference.
local function split_reference(ref)
  local otn, rest = ref:match("^([^/]+)/(.+)$")
  if otn == nil then return ref, nil end
  return otn, rest
end

function S.notify(req, ctx)
  local t, err = decode_object(req.body)
  if t == nil then return { verified = false, error = "notify: " .. err } end
  local items = t.notificationItems
  if type(items) ~= "table" or #items ~= 1 or type(items[1]) ~= "table"
     or type(items[1].NotificationRequestItem) ~= "table" then
    return { verified = false,
             error = "notify must carry exactly one NotificationRequestItem" }
  end
  local item = items[1].NotificationRequestItem
  local ad = type(item.additionalData) == "table" and item.additionalData or {}
  local sig = str(ad.hmacSignature)
  if sig == nil or sig == "" then
    return { verified = false, error = "notify has no additionalData.hmacSignature" }
  end
  local data = data_to_sign(item)
  if data == nil then
    return { verified = false, error = "notify fields are not strings/integers" }
  end
  local key = gw.crypto.hex_decode((gw.secret(ctx.config.hmac_key):gsub("%s", "")))
  if key == nil or key == "" then
    return { verified = false, error = "hmac_key secret is not hex" }
  end
  local want = gw.crypto.hmac("sha256", key, data, "base64")
  if not gw.crypto.equals(want, sig) then
    return { verified = false, error = "notify HMAC signature invalid" }
  end
  if item.merchantAccountCode ~= ctx.config.merchant_account then
    return { verified = false, error = "notify is for another merchant account" }
  end
  local live = str(ctx.config.live)
  if live ~= nil and str(t.live) ~= nil and t.live ~= live then
    return { verified = false, error = "notify live flag differs from the config" }
  end
  local event, success = str(item.eventCode), str(item.success)
  if event == nil or (success ~= "true" and success ~= "false") then
    return { verified = false, error = "notify has no eventCode/success" }
  end
  local otn, suffix = split_reference(str(item.merchantReference) or "")
  local fields = {
    event_code = event,
    success = success,
    reason = str(item.reason),
    event_date = str(item.eventDate),
    payment_method = str(item.paymentMethod),
  }
  if type(item.amount) == "table" and math.type(item.amount.value) == "integer" then
    fields.amount = item.amount.value
    fields.currency = str(item.amount.currency)
  end
  local orig = str(item.originalReference)
  if orig ~= nil and orig ~= "" then
    fields.channel_trade_no = orig
    fields.channel_modification_no = str(item.pspReference)
  else
    fields.channel_trade_no = str(item.pspReference)
  end
  if REFUND_EVENTS[event] then
    fields.kind = "refund"
    fields.channel_refund_no = str(item.pspReference)
    fields.out_refund_no = suffix
  end
  return {
    verified = true,
    code = event .. ":" .. success,
    out_trade_no = otn,
    fields = fields,
  }
end

return S
