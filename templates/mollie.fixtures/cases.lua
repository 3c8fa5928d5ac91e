-- templates/mollie.fixtures/cases.lua -- recorded request/response pairs the
-- host runs before the mollie pack may go live (docs/packs.md §7).
-- Hand-written from Mollie's API reference examples (docs.mollie.com,
-- "Create payment", "Get payment", "Cancel payment", "Create refund", "Get
-- refund", "Handling errors", "Webhooks"); the API key in keys/ is a
-- TEST-ONLY placeholder.  Mollie signs nothing, so bodies are exact.

local ORDER = {
  out_trade_no = "T20240101001",
  amount = 1000,
  currency = "EUR",
  subject = "Order 1",
  method = "mollie.checkout",
  expire_seconds = 900,
  notify_url = "http://127.0.0.1:8080/notify/mollie",
  channel_trade_no = "tr_WDqYK6vllg",
}

local REFUND_ORDER = {
  out_trade_no = "T20240101001",
  amount = 1000,
  currency = "EUR",
  channel_trade_no = "tr_WDqYK6vllg",
  refund = { out_refund_no = "R20240101001", amount = 500, reason = "Returned item",
             channel_refund_no = "re_4qqhO89gsT" },
}

local AUTH = "Bearer test_fixtureMollieApiKey0000000000000"
local API = "https://api.mollie.com/v2"

local function payment(status, extra)
  return [[{"resource":"payment","id":"tr_WDqYK6vllg","mode":"test","createdAt":"2024-01-01T12:00:00+00:00",]]
    .. [["amount":{"value":"10.00","currency":"EUR"},"description":"Order 1","method":null,]]
    .. [["metadata":{"out_trade_no":"T20240101001"},"status":"]] .. status .. [[",]]
    .. (extra or "")
    .. [["redirectUrl":"https://shop.example/return","webhookUrl":"http://127.0.0.1:8080/notify/mollie?ref=T20240101001",]]
    .. [["_links":{"self":{"href":"https://api.mollie.com/v2/payments/tr_WDqYK6vllg","type":"application/hal+json"},]]
    .. [["checkout":{"href":"https://www.mollie.com/checkout/select-method/WDqYK6vllg","type":"text/html"}}}]]
end

local function refund(status, value)
  return [[{"resource":"refund","id":"re_4qqhO89gsT","amount":{"currency":"EUR","value":"]]
    .. (value or "5.00") .. [["},"status":"]] .. status .. [[","createdAt":"2024-01-01T12:05:00+00:00",]]
    .. [["description":"Returned item","metadata":{"out_refund_no":"R20240101001","out_trade_no":"T20240101001"},]]
    .. [["paymentId":"tr_WDqYK6vllg"}]]
end

local function problem(status, title, detail)
  return '{"status":' .. status .. ',"title":"' .. title .. '","detail":"' .. detail
    .. '","_links":{"documentation":{"href":"https://docs.mollie.com/overview/handling-errors","type":"text/html"}}}'
end

return {
  clock_ms = 1704110400000,
  config = {
    api_key = "fixture_mollie_api_key",
    redirect_url = "https://shop.example/return",
    endpoint = API,
  },
  cases = {
    -- builds -------------------------------------------------------------
    { name = "create payment request", kind = "build", op = "pay", order = ORDER,
      expect = {
        method = "POST", url = API .. "/payments", content_type = "application/json",
        body = [[{"amount":{"currency":"EUR","value":"10.00"},"description":"Order 1","metadata":{"out_trade_no":"T20240101001"},"redirectUrl":"https://shop.example/return","webhookUrl":"http://127.0.0.1:8080/notify/mollie?ref=T20240101001"}]],
        headers = { Authorization = AUTH, ["Idempotency-Key"] = "pay-T20240101001" },
      } },
    { name = "create payment with a method, notify URL with a query", kind = "build", op = "pay",
      order = { out_trade_no = "T2", amount = 1, currency = "EUR", subject = "",
                method = "mollie.ideal", notify_url = "http://127.0.0.1:8080/notify/mollie?x=1",
                extra = { return_url = "https://shop.example/r/T2" } },
      expect = {
        body = [[{"amount":{"currency":"EUR","value":"0.01"},"description":"T2","metadata":{"out_trade_no":"T2"},"method":"ideal","redirectUrl":"https://shop.example/r/T2","webhookUrl":"http://127.0.0.1:8080/notify/mollie?x=1&ref=T2"}]],
      } },
    { name = "get payment request", kind = "build", op = "query", order = ORDER,
      expect = { method = "GET", url = API .. "/payments/tr_WDqYK6vllg", body = "",
                 headers = { Authorization = AUTH } } },
    { name = "cancel payment request", kind = "build", op = "close", order = ORDER,
      expect = { method = "DELETE", url = API .. "/payments/tr_WDqYK6vllg", body = "",
                 headers = { Authorization = AUTH, ["Idempotency-Key"] = "cancel-T20240101001" } } },
    { name = "create refund request", kind = "build", op = "refund", order = REFUND_ORDER,
      expect = {
        method = "POST", url = API .. "/payments/tr_WDqYK6vllg/refunds",
        body = [[{"amount":{"currency":"EUR","value":"5.00"},"description":"Returned item","metadata":{"out_refund_no":"R20240101001","out_trade_no":"T20240101001"}}]],
        headers = { Authorization = AUTH, ["Idempotency-Key"] = "refund-R20240101001" },
      } },
    { name = "get refund request", kind = "build", op = "refund_query", order = REFUND_ORDER,
      expect = { method = "GET", url = API .. "/payments/tr_WDqYK6vllg/refunds/re_4qqhO89gsT",
                 body = "" } },

    -- pay ------------------------------------------------------------------
    { name = "payment created -> checkout URL", kind = "parse", op = "pay", order = ORDER,
      status = 201, response = payment("open"),
      expect = { class = "SUCCESS", code = "open", error = "",
                 fields = { channel_trade_no = "tr_WDqYK6vllg",
                            credential = { type = "url",
                                           url = "https://www.mollie.com/checkout/select-method/WDqYK6vllg" } } } },
    { name = "create refused (422) -> no payment exists", kind = "parse", op = "pay", order = ORDER,
      status = 422, response = problem(422, "Unprocessable Entity", "The amount is lower than the minimum"),
      expect = { class = "FAILED", code = "422" } },
    { name = "API key refused (401) -> not sent", kind = "parse", op = "pay", order = ORDER,
      status = 401, response = problem(401, "Unauthorized Request", "Missing authentication, or failed to authenticate"),
      expect = { class = "NOT_SENT", code = "401" } },
    { name = "unknown status stays processing", kind = "parse", op = "pay", order = ORDER,
      status = 201, response = payment("brand-new"),
      expect = { class = "PROCESSING", code = "brand-new" } },
    { name = "garbage answer", kind = "parse", op = "pay", order = ORDER,
      status = 200, response = "<html>oops</html>",
      expect = { class = "PROCESSING", error = "not JSON" } },
    { name = "5xx", kind = "parse", op = "pay", order = ORDER,
      status = 503, response = problem(503, "Service Unavailable", "down"),
      expect = { class = "PROCESSING" } },
    { name = "answer for another order", kind = "parse", op = "pay",
      order = { out_trade_no = "T-OTHER", amount = 1000, currency = "EUR" },
      status = 201, response = payment("open"),
      expect = { class = "PROCESSING", error = "another payment" } },

    -- query ----------------------------------------------------------------
    { name = "paid", kind = "parse", op = "query", order = ORDER, status = 200,
      response = payment("paid", [["paidAt":"2024-01-01T13:00:00+01:00",]]),
      expect = { class = "SUCCESS", code = "paid", error = "",
                 fields = { amount = 1000, channel_trade_no = "tr_WDqYK6vllg",
                            paid_at_ms = 1704110400000 } } },
    { name = "paid with another amount -> processing", kind = "parse", op = "query",
      order = { out_trade_no = "T20240101001", amount = 999, currency = "EUR",
                channel_trade_no = "tr_WDqYK6vllg" },
      status = 200, response = payment("paid"),
      expect = { class = "PROCESSING", error = "amount differs" } },
    { name = "failed", kind = "parse", op = "query", order = ORDER, status = 200,
      response = payment("failed"), expect = { class = "FAILED", code = "failed" } },
    { name = "canceled", kind = "parse", op = "query", order = ORDER, status = 200,
      response = payment("canceled"), expect = { class = "CLOSED", code = "canceled" } },
    { name = "expired", kind = "parse", op = "query", order = ORDER, status = 200,
      response = payment("expired"), expect = { class = "CLOSED", code = "expired" } },
    { name = "open", kind = "parse", op = "query", order = ORDER, status = 200,
      response = payment("open"), expect = { class = "PROCESSING", code = "open" } },
    { name = "authorized (not captured)", kind = "parse", op = "query", order = ORDER, status = 200,
      response = payment("authorized"), expect = { class = "PROCESSING", code = "authorized" } },
    { name = "unknown status", kind = "parse", op = "query", order = ORDER, status = 200,
      response = payment("charged_back_maybe"), expect = { class = "PROCESSING" } },
    { name = "not found -> NOT_FOUND, never FAILED", kind = "parse", op = "query", order = ORDER,
      status = 404, response = problem(404, "Not Found", "No payment exists with token tr_WDqYK6vllg."),
      expect = { class = "NOT_FOUND", code = "404" } },
    { name = "a 404 that is not Mollie's (proxy page) stays processing", kind = "parse", op = "query",
      order = ORDER, status = 404, response = "<html>not found</html>",
      expect = { class = "PROCESSING" } },

    -- close ----------------------------------------------------------------
    { name = "cancel -> canceled", kind = "parse", op = "close", order = ORDER, status = 200,
      response = payment("canceled"), expect = { class = "SUCCESS", code = "canceled" } },
    { name = "cancel refused (422, maybe paid) -> processing", kind = "parse", op = "close",
      order = ORDER, status = 422,
      response = problem(422, "Unprocessable Entity", "The payment cannot be canceled"),
      expect = { class = "PROCESSING", code = "422" } },
    { name = "cancel of an unknown payment", kind = "parse", op = "close", order = ORDER,
      status = 404, response = problem(404, "Not Found", "No payment exists"),
      expect = { class = "NOT_FOUND" } },

    -- refund ---------------------------------------------------------------
    { name = "refund queued -> processing", kind = "parse", op = "refund", order = REFUND_ORDER,
      status = 201, response = refund("queued"),
      expect = { class = "PROCESSING", code = "queued", fields = { channel_refund_no = "re_4qqhO89gsT" } } },
    { name = "refund pending -> processing", kind = "parse", op = "refund", order = REFUND_ORDER,
      status = 201, response = refund("pending"), expect = { class = "PROCESSING", code = "pending" } },
    { name = "refund refused (422) -> failed", kind = "parse", op = "refund", order = REFUND_ORDER,
      status = 422, response = problem(422, "Unprocessable Entity", "The refund amount is higher than the remaining amount"),
      expect = { class = "FAILED", code = "422" } },
    { name = "refund unknown status", kind = "parse", op = "refund", order = REFUND_ORDER,
      status = 201, response = refund("brand-new"), expect = { class = "PROCESSING" } },

    -- refund_query ---------------------------------------------------------
    { name = "refund refunded", kind = "parse", op = "refund_query", order = REFUND_ORDER,
      status = 200, response = refund("refunded"),
      expect = { class = "SUCCESS", code = "refunded", fields = { amount = 500 } } },
    { name = "refunded with another amount -> processing", kind = "parse", op = "refund_query",
      order = REFUND_ORDER, status = 200, response = refund("refunded", "4.00"),
      expect = { class = "PROCESSING", error = "amount differs" } },
    { name = "refund failed", kind = "parse", op = "refund_query", order = REFUND_ORDER,
      status = 200, response = refund("failed"), expect = { class = "FAILED", code = "failed" } },
    { name = "refund canceled", kind = "parse", op = "refund_query", order = REFUND_ORDER,
      status = 200, response = refund("canceled"), expect = { class = "FAILED", code = "canceled" } },
    { name = "refund not found", kind = "parse", op = "refund_query", order = REFUND_ORDER,
      status = 404, response = problem(404, "Not Found", "No refund exists"),
      expect = { class = "NOT_FOUND", code = "404" } },

    -- webhook (unsigned -> hint) ---------------------------------------------
    { name = "webhook id=tr_… with ref -> hint, acked 200", kind = "notify",
      content_type = "application/x-www-form-urlencoded", query = "ref=T20240101001",
      body = "id=tr_WDqYK6vllg",
      expect = { verified = false, class = "PROCESSING", out_trade_no = "T20240101001",
                 ack_status = 200, fields = { channel_trade_no = "tr_WDqYK6vllg" } } },
    { name = "webhook without ref -> refused", kind = "notify",
      content_type = "application/x-www-form-urlencoded", query = "", body = "id=tr_WDqYK6vllg",
      expect = { verified = false, class = "PROCESSING", ack_status = 400 } },
    { name = "forged body claiming paid -> still only a hint, nothing applied", kind = "notify",
      content_type = "application/x-www-form-urlencoded", query = "ref=T20240101001",
      body = "id=tr_WDqYK6vllg&status=paid",
      expect = { verified = false, class = "PROCESSING", ack_status = 200 } },
    { name = "not a Mollie id -> refused", kind = "notify",
      content_type = "application/x-www-form-urlencoded", query = "ref=T20240101001",
      body = "id=../../x",
      expect = { verified = false, class = "PROCESSING", ack_status = 400 } },
  },
}
