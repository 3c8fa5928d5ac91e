-- templates/paypal.fixtures/cases.lua -- recorded request/response pairs the
-- host runs before the paypal pack may go live (docs/packs.md §7).
-- Answers follow the examples of PayPal's Orders v2 / Payments v2 / OAuth2
-- reference (developer.paypal.com/docs/api/orders/v2, /payments/v2,
-- /api/rest/authentication); PayPal does not sign answers, so they are
-- hand-written.  The webhook cases between the GENERATED markers are signed
-- by gen_webhooks.js (node:crypto + zlib.crc32, independent of paygw) with
-- the TEST-ONLY key in signer/; keys/ holds its self-signed certificate and a
-- TEST-ONLY client secret.

local ORDER = {
  out_trade_no = "T20240101001",
  amount = 1000,
  currency = "USD",
  subject = "Order 1",
  method = "paypal.checkout",
  expire_seconds = 900,
  notify_url = "http://127.0.0.1:8080/notify/paypal",
  channel_trade_no = "5O190127TN364715T",
}

local REFUND_ORDER = {
  out_trade_no = "T20240101001",
  amount = 1000,
  currency = "USD",
  channel_trade_no = "5O190127TN364715T",
  extra = { capture_id = "2GG279541U471931P" },
  refund = { out_refund_no = "R20240101001", amount = 500, reason = "Returned item",
             channel_refund_no = "1JU08902781691411" },
}

local API = "https://api-m.paypal.com"
local BEARER = "Bearer A21AAFixtureAccessTokenTestOnly"

local function links(id, rel)
  return [["links":[{"href":"https://api-m.paypal.com/v2/checkout/orders/]] .. id
    .. [[","rel":"self","method":"GET"},{"href":"https://www.paypal.com/checkoutnow?token=]] .. id
    .. [[","rel":"]] .. rel .. [=[","method":"GET"}]]=]
end

local function created(status, ref)
  return [[{"id":"5O190127TN364715T","status":"]] .. status .. [[","intent":"CAPTURE",]]
    .. [["purchase_units":[{"reference_id":"]] .. (ref or "T20240101001") .. [[","custom_id":"]]
    .. (ref or "T20240101001") .. [[","amount":{"currency_code":"USD","value":"10.00"}}],]]
    .. links("5O190127TN364715T", "payer-action") .. "}"
end

-- an order whose capture is <cap> (value <v>)
local function completed(cap, v)
  return [[{"id":"5O190127TN364715T","status":"COMPLETED","intent":"CAPTURE",]]
    .. [["purchase_units":[{"reference_id":"T20240101001","custom_id":"T20240101001",]]
    .. [["amount":{"currency_code":"USD","value":"10.00"},"payments":{"captures":[{"id":"2GG279541U471931P",]]
    .. [["status":"]] .. cap .. [[","amount":{"currency_code":"USD","value":"]] .. (v or "10.00")
    .. [["},"final_capture":true,"custom_id":"T20240101001","create_time":"2024-01-01T12:00:00Z"}]}}],]]
    .. links("5O190127TN364715T", "self2") .. "}"
end

local function err(name, issue, msg)
  local d = issue and ([[,"details":[{"issue":"]] .. issue .. [=[","description":"x"}]]=]) or ""
  return [[{"name":"]] .. name .. [[","message":"]] .. (msg or "x") .. [["]] .. d
    .. [[,"debug_id":"f1e2d3c4b5a69"}]]
end

local function refund(status, v)
  return [[{"id":"1JU08902781691411","status":"]] .. status .. [[","amount":{"currency_code":"USD","value":"]]
    .. (v or "5.00") .. [["},"invoice_id":"R20240101001","custom_id":"T20240101001",]]
    .. [["create_time":"2024-01-01T12:05:00Z","links":[]}]]
end

local NOT_FOUND = err("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID",
                      "The specified resource does not exist.")
local EXPIRED = [[{"error":"invalid_token","error_description":"Access Token not found in cache"}]]

return {
  clock_ms = 1704110400000,
  token = "A21AAFixtureAccessTokenTestOnly",
  config = {
    client_id = "AFixtureClientIdTestOnly",
    client_secret = "fixture_paypal_client_secret",
    webhook_id = "1JE4291016473214C",
    webhook_cert = "fixture_paypal_webhook_cert",
    webhook_cert_url = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77",
    return_url = "https://shop.example/return",
    cancel_url = "https://shop.example/cancel",
    endpoint = API,
  },
  cases = {
    -- builds -------------------------------------------------------------
    { name = "token request (Basic client_id:secret)", kind = "build", op = "token", order = {},
      expect = {
        method = "POST", url = API .. "/v1/oauth2/token",
        content_type = "application/x-www-form-urlencoded",
        body = "grant_type=client_credentials",
        -- base64("AFixtureClientIdTestOnly:EFixtureClientSecretTestOnly000000")
        headers = { Authorization = "Basic QUZpeHR1cmVDbGllbnRJZFRlc3RPbmx5OkVGaXh0dXJlQ2xpZW50U2VjcmV0VGVzdE9ubHkwMDAwMDA=" },
      } },
    { name = "create order request", kind = "build", op = "pay", order = ORDER,
      expect = {
        method = "POST", url = API .. "/v2/checkout/orders", content_type = "application/json",
        body = [[{"intent":"CAPTURE","payment_source":{"paypal":{"experience_context":{"cancel_url":"https://shop.example/cancel","return_url":"https://shop.example/return","shipping_preference":"NO_SHIPPING","user_action":"PAY_NOW"}}},"purchase_units":[{"amount":{"currency_code":"USD","value":"10.00"},"custom_id":"T20240101001","description":"Order 1","reference_id":"T20240101001"}]}]],
        headers = { Authorization = BEARER, ["PayPal-Request-Id"] = "pay-T20240101001",
                    Prefer = "return=representation" },
      } },
    { name = "create order in JPY (no minor unit)", kind = "build", op = "pay",
      order = { out_trade_no = "T2", amount = 1500, currency = "JPY", subject = "" },
      expect = { body_contains = { [["amount":{"currency_code":"JPY","value":"1500"}]],
                                   [["description":"T2"]] } } },
    { name = "capture request", kind = "build", op = "capture", order = ORDER,
      expect = {
        method = "POST", url = API .. "/v2/checkout/orders/5O190127TN364715T/capture",
        content_type = "application/json", body = "{}",
        headers = { Authorization = BEARER, ["PayPal-Request-Id"] = "capture-T20240101001" },
      } },
    { name = "get order request", kind = "build", op = "query", order = ORDER,
      expect = { method = "GET", url = API .. "/v2/checkout/orders/5O190127TN364715T", body = "",
                 headers = { Authorization = BEARER } } },
    { name = "refund capture request", kind = "build", op = "refund", order = REFUND_ORDER,
      expect = {
        method = "POST", url = API .. "/v2/payments/captures/2GG279541U471931P/refund",
        body = [[{"amount":{"currency_code":"USD","value":"5.00"},"custom_id":"T20240101001","invoice_id":"R20240101001","note_to_payer":"Returned item"}]],
        headers = { Authorization = BEARER, ["PayPal-Request-Id"] = "refund-R20240101001" },
      } },
    { name = "get refund request", kind = "build", op = "refund_query", order = REFUND_ORDER,
      expect = { method = "GET", url = API .. "/v2/payments/refunds/1JU08902781691411", body = "" } },

    -- token ------------------------------------------------------------------
    { name = "token issued", kind = "parse", op = "token", order = {}, status = 200,
      response = [[{"scope":"https://uri.paypal.com/services/payments/payment","access_token":"A21AAnewToken","token_type":"Bearer","app_id":"APP-80W284485P519543T","expires_in":32400,"nonce":"2024-01-01T12:00:00Zabc"}]],
      expect = { class = "SUCCESS", code = "OK",
                 fields = { access_token = "A21AAnewToken", expires_in = 32400 } } },
    { name = "token refused (bad client secret)", kind = "parse", op = "token", order = {},
      status = 401, response = [[{"error":"invalid_client","error_description":"Client Authentication failed"}]],
      expect = { class = "PROCESSING", code = "invalid_client" } },

    -- pay --------------------------------------------------------------------
    { name = "order created -> approve link", kind = "parse", op = "pay", order = ORDER,
      status = 200, response = created("PAYER_ACTION_REQUIRED"),
      expect = { class = "SUCCESS", code = "PAYER_ACTION_REQUIRED", error = "",
                 fields = { channel_trade_no = "5O190127TN364715T",
                            credential = { type = "url",
                                           url = "https://www.paypal.com/checkoutnow?token=5O190127TN364715T" } } } },
    { name = "order created (approve rel)", kind = "parse", op = "pay", order = ORDER,
      status = 201, response = [[{"id":"5O190127TN364715T","status":"CREATED",]]
        .. links("5O190127TN364715T", "approve") .. "}",
      expect = { class = "SUCCESS", code = "CREATED" } },
    { name = "create refused (currency) -> FAILED", kind = "parse", op = "pay", order = ORDER,
      status = 422, response = err("UNPROCESSABLE_ENTITY", "CURRENCY_NOT_SUPPORTED"),
      expect = { class = "FAILED", code = "UNPROCESSABLE_ENTITY:CURRENCY_NOT_SUPPORTED" } },
    { name = "expired token -> PROCESSING, token dropped", kind = "parse", op = "pay", order = ORDER,
      status = 401, response = EXPIRED,
      expect = { class = "PROCESSING", code = "invalid_token", fields = { auth_expired = true } } },
    { name = "unknown status", kind = "parse", op = "pay", order = ORDER,
      status = 201, response = created("SOMETHING_NEW"), expect = { class = "PROCESSING" } },
    { name = "garbage", kind = "parse", op = "pay", order = ORDER, status = 200,
      response = "<html>", expect = { class = "PROCESSING", error = "not JSON" } },
    { name = "5xx", kind = "parse", op = "pay", order = ORDER, status = 500,
      response = err("INTERNAL_SERVER_ERROR"), expect = { class = "PROCESSING" } },
    { name = "answer for another order", kind = "parse", op = "pay", order = ORDER,
      status = 201, response = created("PAYER_ACTION_REQUIRED", "T-OTHER"),
      expect = { class = "PROCESSING", error = "another order" } },

    -- capture ----------------------------------------------------------------
    { name = "captured", kind = "parse", op = "capture", order = ORDER, status = 201,
      response = completed("COMPLETED"),
      expect = { class = "SUCCESS", code = "COMPLETED",
                 fields = { capture_id = "2GG279541U471931P", channel_trade_no = "5O190127TN364715T" } } },
    { name = "capture declined", kind = "parse", op = "capture", order = ORDER, status = 201,
      response = completed("DECLINED"), expect = { class = "FAILED", code = "DECLINED" } },
    { name = "capture pending", kind = "parse", op = "capture", order = ORDER, status = 201,
      response = completed("PENDING"), expect = { class = "PROCESSING", code = "PENDING" } },
    { name = "instrument declined -> payer may retry: PROCESSING", kind = "parse", op = "capture",
      order = ORDER, status = 422, response = err("UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED"),
      expect = { class = "PROCESSING", code = "UNPROCESSABLE_ENTITY:INSTRUMENT_DECLINED" } },
    { name = "already captured -> PROCESSING (query)", kind = "parse", op = "capture",
      order = ORDER, status = 422, response = err("UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED"),
      expect = { class = "PROCESSING" } },
    { name = "capture of an unknown order", kind = "parse", op = "capture", order = ORDER,
      status = 404, response = NOT_FOUND, expect = { class = "NOT_FOUND" } },
    { name = "captured another amount -> PROCESSING", kind = "parse", op = "capture", order = ORDER,
      status = 201, response = completed("COMPLETED", "1.00"),
      expect = { class = "PROCESSING", error = "amount differs" } },

    -- query ------------------------------------------------------------------
    { name = "order completed, capture completed -> SUCCESS", kind = "parse", op = "query",
      order = ORDER, status = 200, response = completed("COMPLETED"),
      expect = { class = "SUCCESS", code = "COMPLETED", error = "",
                 fields = { amount = 1000, paid_at_ms = 1704110400000,
                            capture_id = "2GG279541U471931P" } } },
    { name = "order completed, capture pending -> PROCESSING", kind = "parse", op = "query",
      order = ORDER, status = 200, response = completed("PENDING"),
      expect = { class = "PROCESSING", code = "COMPLETED:PENDING" } },
    { name = "order completed, capture declined -> FAILED", kind = "parse", op = "query",
      order = ORDER, status = 200, response = completed("DECLINED"),
      expect = { class = "FAILED", code = "COMPLETED:DECLINED" } },
    { name = "paid another amount -> PROCESSING", kind = "parse", op = "query",
      order = ORDER, status = 200, response = completed("COMPLETED", "9.99"),
      expect = { class = "PROCESSING", error = "amount differs" } },
    { name = "approved (not captured yet)", kind = "parse", op = "query", order = ORDER,
      status = 200, response = created("APPROVED"), expect = { class = "PROCESSING", code = "APPROVED" } },
    { name = "voided -> CLOSED", kind = "parse", op = "query", order = ORDER,
      status = 200, response = created("VOIDED"), expect = { class = "CLOSED", code = "VOIDED" } },
    { name = "unknown status", kind = "parse", op = "query", order = ORDER,
      status = 200, response = created("SOMETHING_NEW"), expect = { class = "PROCESSING" } },
    { name = "not found -> NOT_FOUND, never FAILED", kind = "parse", op = "query", order = ORDER,
      status = 404, response = NOT_FOUND,
      expect = { class = "NOT_FOUND", code = "RESOURCE_NOT_FOUND:INVALID_RESOURCE_ID" } },

    -- refund -----------------------------------------------------------------
    { name = "refund completed", kind = "parse", op = "refund", order = REFUND_ORDER, status = 201,
      response = refund("COMPLETED"),
      expect = { class = "SUCCESS", code = "COMPLETED", fields = { channel_refund_no = "1JU08902781691411" } } },
    { name = "refund pending", kind = "parse", op = "refund", order = REFUND_ORDER, status = 201,
      response = refund("PENDING"), expect = { class = "PROCESSING", code = "PENDING" } },
    { name = "refund refused (exceeds)", kind = "parse", op = "refund", order = REFUND_ORDER,
      status = 422, response = err("UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED"),
      expect = { class = "FAILED" } },
    { name = "capture fully refunded -> PROCESSING (maybe ours)", kind = "parse", op = "refund",
      order = REFUND_ORDER, status = 422, response = err("UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED"),
      expect = { class = "PROCESSING" } },
    { name = "refund unknown status", kind = "parse", op = "refund", order = REFUND_ORDER,
      status = 201, response = refund("SOMETHING_NEW"), expect = { class = "PROCESSING" } },

    -- refund_query -------------------------------------------------------------
    { name = "refund query completed", kind = "parse", op = "refund_query", order = REFUND_ORDER,
      status = 200, response = refund("COMPLETED"),
      expect = { class = "SUCCESS", fields = { amount = 500, refund_status = "COMPLETED" } } },
    { name = "refund query failed", kind = "parse", op = "refund_query", order = REFUND_ORDER,
      status = 200, response = refund("FAILED"), expect = { class = "FAILED" } },
    { name = "refund query cancelled", kind = "parse", op = "refund_query", order = REFUND_ORDER,
      status = 200, response = refund("CANCELLED"), expect = { class = "FAILED" } },
    { name = "refund query another amount", kind = "parse", op = "refund_query", order = REFUND_ORDER,
      status = 200, response = refund("COMPLETED", "4.00"),
      expect = { class = "PROCESSING", error = "amount differs" } },
    { name = "refund query not found", kind = "parse", op = "refund_query", order = REFUND_ORDER,
      status = 404, response = NOT_FOUND, expect = { class = "NOT_FOUND" } },

    -- webhooks ---------------------------------------------------------------
    { name = "CRC-32 check value: crc32('123456789') = 0xCBF43926 = 3421780262", kind = "notify",
      content_type = "application/json", body = "123456789",
      expect = { verified = false, ack_status = 400, fields = { body_crc32 = "3421780262" } } },
    { name = "no PayPal headers -> not verified", kind = "notify", content_type = "application/json",
      body = [[{"event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"custom_id":"T20240101001"}}]],
      expect = { verified = false, ack_status = 400, ack_body = "FAIL", error = "lacks" } },
    -- BEGIN GENERATED WEBHOOKS (gen_webhooks.js)
    {
      name = [==[capture completed (signed, configured cert) -> SUCCESS]==],
      kind = [==[notify]==],
      content_type = [==[application/json]==],
      headers = {
        ["PAYPAL-TRANSMISSION-ID"] = [==[tid-0001]==],
        ["PAYPAL-TRANSMISSION-TIME"] = [==[2024-01-01T12:00:00Z]==],
        ["PAYPAL-TRANSMISSION-SIG"] = [==[CJ5p8ZqslNi9FTcRmQcaHarQMnXTY1Y7Nt0aOrwss6OBdjHQKU4D8ExupAmQuHZwPfAvOmfEN9mSiAboY49a3yKSrWWSpQaCGFpevRtNrdrQSaK9u4Yq7ZOiL58/XfTmhswPVzstobDRRgFg/T9UU8GvAeXQWnPFxhdYZRfZPw/lKC5Tq9aaybqmXy05klZuqJFaay1uhtoQ6cphzMTYyDanN0ZPqpagxsgxkHwuo6VXQzp8vd4HJEGnFun29O1bZUUTn+gku5QlJlP4QE4gpBDQJWR04k2a/jxqmVWXNbYYyyfSlgUBzjNo6cxqt2RvBA72Kx9DQDEdWEUeYcGsdQ==]==],
        ["PAYPAL-CERT-URL"] = [==[https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77]==],
        ["PAYPAL-AUTH-ALGO"] = [==[SHA256withRSA]==],
      },
      body = [==[{"id":"WH-PAYMENT-CAPTURE-COMPLETED","event_version":"1.0","create_time":"2024-01-01T12:00:00.000Z","resource_type":"capture","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment COMPLETED","resource":{"id":"2GG279541U471931P","status":"COMPLETED","amount":{"currency_code":"USD","value":"10.00"},"final_capture":true,"custom_id":"T20240101001","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}},"create_time":"2024-01-01T12:00:00Z"}}]==],
      expect = {
        verified = true,
        class = [==[SUCCESS]==],
        code = [==[PAYMENT.CAPTURE.COMPLETED]==],
        out_trade_no = [==[T20240101001]==],
        ack_status = 200,
        ack_body = [==[OK]==],
        fields = {
          amount = 1000,
          capture_id = [==[2GG279541U471931P]==],
          channel_trade_no = [==[5O190127TN364715T]==],
        },
      },
    },
    {
      name = [==[same capture resent (duplicate transmission) -> same result]==],
      kind = [==[notify]==],
      content_type = [==[application/json]==],
      headers = {
        ["PAYPAL-TRANSMISSION-ID"] = [==[tid-0001]==],
        ["PAYPAL-TRANSMISSION-TIME"] = [==[2024-01-01T12:00:00Z]==],
        ["PAYPAL-TRANSMISSION-SIG"] = [==[CJ5p8ZqslNi9FTcRmQcaHarQMnXTY1Y7Nt0aOrwss6OBdjHQKU4D8ExupAmQuHZwPfAvOmfEN9mSiAboY49a3yKSrWWSpQaCGFpevRtNrdrQSaK9u4Yq7ZOiL58/XfTmhswPVzstobDRRgFg/T9UU8GvAeXQWnPFxhdYZRfZPw/lKC5Tq9aaybqmXy05klZuqJFaay1uhtoQ6cphzMTYyDanN0ZPqpagxsgxkHwuo6VXQzp8vd4HJEGnFun29O1bZUUTn+gku5QlJlP4QE4gpBDQJWR04k2a/jxqmVWXNbYYyyfSlgUBzjNo6cxqt2RvBA72Kx9DQDEdWEUeYcGsdQ==]==],
        ["PAYPAL-CERT-URL"] = [==[https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77]==],
        ["PAYPAL-AUTH-ALGO"] = [==[SHA256withRSA]==],
      },
      body = [==[{"id":"WH-PAYMENT-CAPTURE-COMPLETED","event_version":"1.0","create_time":"2024-01-01T12:00:00.000Z","resource_type":"capture","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment COMPLETED","resource":{"id":"2GG279541U471931P","status":"COMPLETED","amount":{"currency_code":"USD","value":"10.00"},"final_capture":true,"custom_id":"T20240101001","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}},"create_time":"2024-01-01T12:00:00Z"}}]==],
      expect = {
        verified = true,
        class = [==[SUCCESS]==],
        out_trade_no = [==[T20240101001]==],
      },
    },
    {
      name = [==[capture denied (contrary) -> verified FAILED]==],
      kind = [==[notify]==],
      content_type = [==[application/json]==],
      headers = {
        ["PAYPAL-TRANSMISSION-ID"] = [==[tid-0002]==],
        ["PAYPAL-TRANSMISSION-TIME"] = [==[2024-01-01T12:00:00Z]==],
        ["PAYPAL-TRANSMISSION-SIG"] = [==[XBDX8kfv48XQU8/E8AS66DtefP4iJon05BaEJ4slLd78zveZhFZIF3Ibg7vVZHZhYW24EsiRKK/kZN29IETtpqFhFURrDBAr9f8QcG5dl6xB98OHHaKojW4R7+AxoD9ChFB3yrW6a3jx/LeIWLBHWT+6yF65pQPL06xey39KRpgAO2X1eFbcUgEfCZxGuwAEUb81imy6EEM8jl7ryu33nOq7S+3d6q+H3coxNu+VwaSnNbiElYU6Hh3wL41xl5PfZtnpFyw0FVjM5bDPP6Fed6WCXjgFaPOI81WG+U4SEZXQtxFiSAWU5RlbWxOp2dF63Pzg+irszF5aj7c8ZhwUMg==]==],
        ["PAYPAL-CERT-URL"] = [==[https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77]==],
        ["PAYPAL-AUTH-ALGO"] = [==[SHA256withRSA]==],
      },
      body = [==[{"id":"WH-PAYMENT-CAPTURE-DENIED","event_version":"1.0","create_time":"2024-01-01T12:00:00.000Z","resource_type":"capture","event_type":"PAYMENT.CAPTURE.DENIED","summary":"Payment DECLINED","resource":{"id":"2GG279541U471931P","status":"DECLINED","amount":{"currency_code":"USD","value":"10.00"},"final_capture":true,"custom_id":"T20240101001","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}},"create_time":"2024-01-01T12:00:00Z"}}]==],
      expect = {
        verified = true,
        class = [==[FAILED]==],
        code = [==[PAYMENT.CAPTURE.DENIED]==],
        out_trade_no = [==[T20240101001]==],
      },
    },
    {
      name = [==[capture pending -> PROCESSING]==],
      kind = [==[notify]==],
      content_type = [==[application/json]==],
      headers = {
        ["PAYPAL-TRANSMISSION-ID"] = [==[tid-0003]==],
        ["PAYPAL-TRANSMISSION-TIME"] = [==[2024-01-01T12:00:00Z]==],
        ["PAYPAL-TRANSMISSION-SIG"] = [==[Up6pHF/isgz91gPlbmqgivczmrd5KcBdcjaLbq3UQAQHUXTZ/uhAV3E8s3I4cmRwJe3g+DHT7UhVEWQFYbaNiKClRDG1o0S75jvFjE7B2pLIZ2+owBLoAfvx3uzFx/nB9rDCatoycgi5l55AEy59yGNSL5a9+Y98yw2++w7jDv3PCzL/LwpZjt+WZM4EABpOq8tZkF2TwXQ6AxKg9QvYocNOBK3MWg1rd5pB9bxNFQ2lSOGEsvjuqTDDEefhj9F/xG+73EV75AuCm8xcaze5zb2EsfwBmm9iNQts18B7yXoupwY4qCeqyuts4e87DpOCjMZS8pH8xyACVT7dK23SkA==]==],
        ["PAYPAL-CERT-URL"] = [==[https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77]==],
        ["PAYPAL-AUTH-ALGO"] = [==[SHA256withRSA]==],
      },
      body = [==[{"id":"WH-PAYMENT-CAPTURE-PENDING","event_version":"1.0","create_time":"2024-01-01T12:00:00.000Z","resource_type":"capture","event_type":"PAYMENT.CAPTURE.PENDING","summary":"Payment PENDING","resource":{"id":"2GG279541U471931P","status":"PENDING","amount":{"currency_code":"USD","value":"10.00"},"final_capture":true,"custom_id":"T20240101001","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}},"create_time":"2024-01-01T12:00:00Z"}}]==],
      expect = {
        verified = true,
        class = [==[PROCESSING]==],
        out_trade_no = [==[T20240101001]==],
      },
    },
    {
      name = [==[order approved -> PROCESSING]==],
      kind = [==[notify]==],
      content_type = [==[application/json]==],
      headers = {
        ["PAYPAL-TRANSMISSION-ID"] = [==[tid-0004]==],
        ["PAYPAL-TRANSMISSION-TIME"] = [==[2024-01-01T12:00:00Z]==],
        ["PAYPAL-TRANSMISSION-SIG"] = [==[K8ae8YW4FoP/zOmvLTn50duZ/QxGr338b3XZjZ5dMwHesIlY1Z3OTH1/WJNCc8bAEh2tkLGafP8q3P+HBhuOKvpmEAjHt3ZvZ4E5KN4WCbi82r6JoOj1uT7h6y+53VfQIGYTb7MDDQvFdGn2jn++syluChHHa4KuKr0nHxmNBn0ofJ9WOO2wVXg9qce5Abaswc1xBwADNYBXYKMjOdOgzCmRFPUYRXFVfRq71spolm+hj2u+QiqVFJ4uqC0nr2mLnYi4DuGGgdrhOrxLnflSmHKGvTMwbJz3UYcnCdyRsnFJcy3eKAXIwDkzBpzRxy0BEatjpTkcAOmrRnEps0E8eA==]==],
        ["PAYPAL-CERT-URL"] = [==[https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77]==],
        ["PAYPAL-AUTH-ALGO"] = [==[SHA256withRSA]==],
      },
      body = [==[{"id":"WH-APPROVED","event_version":"1.0","resource_type":"checkout-order","event_type":"CHECKOUT.ORDER.APPROVED","resource":{"id":"5O190127TN364715T","status":"APPROVED","intent":"CAPTURE","purchase_units":[{"reference_id":"T20240101001","custom_id":"T20240101001","amount":{"currency_code":"USD","value":"10.00"}}]}}]==],
      expect = {
        verified = true,
        class = [==[PROCESSING]==],
        out_trade_no = [==[T20240101001]==],
        fields = {
          channel_trade_no = [==[5O190127TN364715T]==],
        },
      },
    },
    {
      name = [==[refund completed -> refund notify]==],
      kind = [==[notify]==],
      content_type = [==[application/json]==],
      headers = {
        ["PAYPAL-TRANSMISSION-ID"] = [==[tid-0005]==],
        ["PAYPAL-TRANSMISSION-TIME"] = [==[2024-01-01T12:00:00Z]==],
        ["PAYPAL-TRANSMISSION-SIG"] = [==[GPEwfzS/51YYOV0c3l04xKkwfGj1Qk9r1hkfhbqhF28rEAY7t6UbZU0wOGnpDWCNrFcXnxGgQzAhAkTnpc31CjAYwKmLZrG5Pjt4RBj7YARYsI5hOEahiLEeyciJZMIv0gvkyhlPpKwb6b+/e/CQtdDVKlS7FqeX9URkNOoy3TwoN28Hc+I31M6NZDiqXOIN6NfszVTyIVXdKckbKae2PZ4XraLOB0dhqLPYjz/CZTt0s6eouTU6ZJIBxSWwCNVnFVx51cEVmxrdED7u8fIQ6owUZ41iTxw0huvGjxEbJCrfVOx85u/0XeSI22uhB3PfNUmeDL8j+9K6at+3hzifmg==]==],
        ["PAYPAL-CERT-URL"] = [==[https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77]==],
        ["PAYPAL-AUTH-ALGO"] = [==[SHA256withRSA]==],
      },
      body = [==[{"id":"WH-REFUND","event_version":"1.0","resource_type":"refund","event_type":"PAYMENT.CAPTURE.REFUNDED","resource":{"id":"1JU08902781691411","status":"COMPLETED","amount":{"currency_code":"USD","value":"5.00"},"invoice_id":"R20240101001","custom_id":"T20240101001","create_time":"2024-01-01T12:05:00Z"}}]==],
      expect = {
        verified = true,
        class = [==[SUCCESS]==],
        out_trade_no = [==[T20240101001]==],
        fields = {
          kind = [==[refund]==],
          out_refund_no = [==[R20240101001]==],
          amount = 500,
        },
      },
    },
    {
      name = [==[forged: body changed after signing (amount) -> not verified]==],
      kind = [==[notify]==],
      content_type = [==[application/json]==],
      headers = {
        ["PAYPAL-TRANSMISSION-ID"] = [==[tid-0001]==],
        ["PAYPAL-TRANSMISSION-TIME"] = [==[2024-01-01T12:00:00Z]==],
        ["PAYPAL-TRANSMISSION-SIG"] = [==[CJ5p8ZqslNi9FTcRmQcaHarQMnXTY1Y7Nt0aOrwss6OBdjHQKU4D8ExupAmQuHZwPfAvOmfEN9mSiAboY49a3yKSrWWSpQaCGFpevRtNrdrQSaK9u4Yq7ZOiL58/XfTmhswPVzstobDRRgFg/T9UU8GvAeXQWnPFxhdYZRfZPw/lKC5Tq9aaybqmXy05klZuqJFaay1uhtoQ6cphzMTYyDanN0ZPqpagxsgxkHwuo6VXQzp8vd4HJEGnFun29O1bZUUTn+gku5QlJlP4QE4gpBDQJWR04k2a/jxqmVWXNbYYyyfSlgUBzjNo6cxqt2RvBA72Kx9DQDEdWEUeYcGsdQ==]==],
        ["PAYPAL-CERT-URL"] = [==[https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77]==],
        ["PAYPAL-AUTH-ALGO"] = [==[SHA256withRSA]==],
      },
      body = [==[{"id":"WH-PAYMENT-CAPTURE-COMPLETED","event_version":"1.0","create_time":"2024-01-01T12:00:00.000Z","resource_type":"capture","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment COMPLETED","resource":{"id":"2GG279541U471931P","status":"COMPLETED","amount":{"currency_code":"USD","value":"1.00"},"final_capture":true,"custom_id":"T20240101001","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}},"create_time":"2024-01-01T12:00:00Z"}}]==],
      expect = {
        verified = false,
        class = [==[PROCESSING]==],
        ack_status = 400,
        error = [==[signature invalid]==],
      },
    },
    {
      name = [==[forged: signed with a key PayPal never had -> not verified]==],
      kind = [==[notify]==],
      content_type = [==[application/json]==],
      headers = {
        ["PAYPAL-TRANSMISSION-ID"] = [==[tid-0006]==],
        ["PAYPAL-TRANSMISSION-TIME"] = [==[2024-01-01T12:00:00Z]==],
        ["PAYPAL-TRANSMISSION-SIG"] = [==[S/IP6vDvJNFd4ouLTDubTI7utqjRRQcDaDNH/zkUgzduBrtXnXShMU4xfQROBXz5YviE+AEUJNz6lWtsH0k0wrqJ4M13l8wP3LXWYujjoe7JXPs9LPpujbKjUM683PKSR/0MYwxCeogoLxolZbKR6PVDOd517T1mj+TAZ4qNYsJzZT1xN4wIs3KFVBQTlp3GvXj7c1zyfNJdHbP0IH9+2c7+HojOCovSdoxZPRzCBgNGTklGF+YutrQFeiin9XxcRNHaLpuKF+bdZOy1Cv8aByZ30BJpB/xEGpP6dQcYaZRKD9WwW96bKZxJ7nfOQRUBYZ+LyuVBNfHnPSntUGnlUw==]==],
        ["PAYPAL-CERT-URL"] = [==[https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77]==],
        ["PAYPAL-AUTH-ALGO"] = [==[SHA256withRSA]==],
      },
      body = [==[{"id":"WH-PAYMENT-CAPTURE-COMPLETED","event_version":"1.0","create_time":"2024-01-01T12:00:00.000Z","resource_type":"capture","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment COMPLETED","resource":{"id":"2GG279541U471931P","status":"COMPLETED","amount":{"currency_code":"USD","value":"10.00"},"final_capture":true,"custom_id":"T20240101001","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}},"create_time":"2024-01-01T12:00:00Z"}}]==],
      expect = {
        verified = false,
        class = [==[PROCESSING]==],
        ack_status = 400,
        error = [==[signature invalid]==],
      },
    },
    {
      name = [==[forged: PAYPAL-CERT-URL off paypal.com -> refused before any key is used]==],
      kind = [==[notify]==],
      content_type = [==[application/json]==],
      headers = {
        ["PAYPAL-TRANSMISSION-ID"] = [==[tid-0001]==],
        ["PAYPAL-TRANSMISSION-TIME"] = [==[2024-01-01T12:00:00Z]==],
        ["PAYPAL-TRANSMISSION-SIG"] = [==[CJ5p8ZqslNi9FTcRmQcaHarQMnXTY1Y7Nt0aOrwss6OBdjHQKU4D8ExupAmQuHZwPfAvOmfEN9mSiAboY49a3yKSrWWSpQaCGFpevRtNrdrQSaK9u4Yq7ZOiL58/XfTmhswPVzstobDRRgFg/T9UU8GvAeXQWnPFxhdYZRfZPw/lKC5Tq9aaybqmXy05klZuqJFaay1uhtoQ6cphzMTYyDanN0ZPqpagxsgxkHwuo6VXQzp8vd4HJEGnFun29O1bZUUTn+gku5QlJlP4QE4gpBDQJWR04k2a/jxqmVWXNbYYyyfSlgUBzjNo6cxqt2RvBA72Kx9DQDEdWEUeYcGsdQ==]==],
        ["PAYPAL-CERT-URL"] = [==[https://api.paypal.com.evil.example/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77]==],
        ["PAYPAL-AUTH-ALGO"] = [==[SHA256withRSA]==],
      },
      body = [==[{"id":"WH-PAYMENT-CAPTURE-COMPLETED","event_version":"1.0","create_time":"2024-01-01T12:00:00.000Z","resource_type":"capture","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment COMPLETED","resource":{"id":"2GG279541U471931P","status":"COMPLETED","amount":{"currency_code":"USD","value":"10.00"},"final_capture":true,"custom_id":"T20240101001","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}},"create_time":"2024-01-01T12:00:00Z"}}]==],
      expect = {
        verified = false,
        ack_status = 400,
        error = [==[not a paypal.com certificate URL]==],
      },
    },
    {
      name = [==[PAYPAL-CERT-URL on paypal.com but not the installed certificate -> refused]==],
      kind = [==[notify]==],
      content_type = [==[application/json]==],
      headers = {
        ["PAYPAL-TRANSMISSION-ID"] = [==[tid-0001]==],
        ["PAYPAL-TRANSMISSION-TIME"] = [==[2024-01-01T12:00:00Z]==],
        ["PAYPAL-TRANSMISSION-SIG"] = [==[CJ5p8ZqslNi9FTcRmQcaHarQMnXTY1Y7Nt0aOrwss6OBdjHQKU4D8ExupAmQuHZwPfAvOmfEN9mSiAboY49a3yKSrWWSpQaCGFpevRtNrdrQSaK9u4Yq7ZOiL58/XfTmhswPVzstobDRRgFg/T9UU8GvAeXQWnPFxhdYZRfZPw/lKC5Tq9aaybqmXy05klZuqJFaay1uhtoQ6cphzMTYyDanN0ZPqpagxsgxkHwuo6VXQzp8vd4HJEGnFun29O1bZUUTn+gku5QlJlP4QE4gpBDQJWR04k2a/jxqmVWXNbYYyyfSlgUBzjNo6cxqt2RvBA72Kx9DQDEdWEUeYcGsdQ==]==],
        ["PAYPAL-CERT-URL"] = [==[https://api.paypal.com/v1/notifications/certs/CERT-00000000-rotated]==],
        ["PAYPAL-AUTH-ALGO"] = [==[SHA256withRSA]==],
      },
      body = [==[{"id":"WH-PAYMENT-CAPTURE-COMPLETED","event_version":"1.0","create_time":"2024-01-01T12:00:00.000Z","resource_type":"capture","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment COMPLETED","resource":{"id":"2GG279541U471931P","status":"COMPLETED","amount":{"currency_code":"USD","value":"10.00"},"final_capture":true,"custom_id":"T20240101001","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}},"create_time":"2024-01-01T12:00:00Z"}}]==],
      expect = {
        verified = false,
        ack_status = 400,
        error = [==[another certificate]==],
      },
    },
    {
      name = [==[V15 vector: the signature verifies over tid|time|webhook_id|3391999205 (then: names no order)]==],
      kind = [==[notify]==],
      content_type = [==[application/json]==],
      headers = {
        ["PAYPAL-TRANSMISSION-ID"] = [==[b2a6b1c0-0000-11ee-0000-000000000000]==],
        ["PAYPAL-TRANSMISSION-TIME"] = [==[2024-01-01T00:00:00Z]==],
        ["PAYPAL-TRANSMISSION-SIG"] = [==[lwm+9KrBOMb9tKwXnuSML+pBTiw1Dn7jbggnsH3a9RFkWW6H3Ser7iPybtswuFjgAfmMHx0YhXIolXL7GTWnghL8QofPRZEPq6SEuJgUV1RtsuMJ6tkQayV7imfV0NrkALFHi+/jIbHn2PhEa7ec77/R71HZ9ni4BvbgV5uN8ogy7na5c2xrv/c2myPlODINixVOxVbDyQ3du3f95mC1fcWpanXnYg+EN/t96TQL3YBifNDKtrXYHNgddmthpyVopnrkW3CWXuVBx04eJOLwwMDGDCuXGxJrQSn+oxvXJQ6454XgxepMeEwBS0XhhG/h+6dYcs/gAA+F/QY/M8yILQ==]==],
        ["PAYPAL-CERT-URL"] = [==[https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77]==],
        ["PAYPAL-AUTH-ALGO"] = [==[SHA256withRSA]==],
      },
      body = [==[{"id":"WH-TEST","event_type":"PAYMENT.CAPTURE.COMPLETED"}]==],
      expect = {
        verified = false,
        error = [==[names no order]==],
        fields = {
          body_crc32 = [==[3391999205]==],
        },
      },
    },
    -- END GENERATED WEBHOOKS
  },
}
