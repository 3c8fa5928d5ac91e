-- templates/adyen.fixtures/cases.lua -- recorded requests/answers/webhooks the
-- host runs before the adyen pack may go live (docs/packs.md).
-- Webhook HMACs were produced by @adyen/api-library 32.1.0
-- (hmacValidator.calculateHmac, checked with validateHMAC) with the TEST-ONLY key of
-- channel-vectors.md V4 (keys/fixture_adyen_hmac.secret); the first notify case
-- is V4 (a) itself.  Builder bodies are gw.json.encode's sorted compact JSON.
return {
  clock_ms = 1704081600000,
  config = {
    merchant_account = "merchantAccount",
    api_key = "fixture_adyen_api_key",
    hmac_key = "fixture_adyen_hmac",
    endpoint = "https://checkout-test.adyen.com/v71",
  },
  cases = { {
    name = "payments request",
    kind = "build",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    expect = {
      method = "POST",
      url = "https://checkout-test.adyen.com/v71/payments",
      content_type = "application/json",
      headers = {
        ["X-API-Key"] = "AQE_fixture_api_key",
        ["Idempotency-Key"] = "T20240101001",
      },
      body = [==[{"amount":{"currency":"EUR","value":1000},"merchantAccount":"merchantAccount","paymentMethod":{"encryptedCardNumber":"test_4111111111111111","type":"scheme"},"reference":"T20240101001","shopperInteraction":"Ecommerce","shopperStatement":"Order 1"}]==],
    },
  }, {
    name = "payments request, redirect method",
    kind = "build",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.redirect",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "ideal",
        },
        return_url = "https://shop.example/return",
      },
    },
    expect = {
      url = "https://checkout-test.adyen.com/v71/payments",
      body_contains = { [==["returnUrl":"https:]==], [==["type":"ideal"]==] },
    },
  }, {
    name = "payments/details request (the details op)",
    kind = "build",
    op = "details",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      details = {
        details = {
          redirectResult = "X6XtfGC3",
        },
      },
    },
    expect = {
      url = "https://checkout-test.adyen.com/v71/payments/details",
      headers = {
        ["X-API-Key"] = "AQE_fixture_api_key",
        ["Idempotency-Key"] = "details:T20240101001:cd9c9e753f2ef989",
      },
      body = [==[{"details":{"redirectResult":"X6XtfGC3"}}]==],
    },
  }, {
    name = "payments/details, second 3DS2 leg with paymentData: another key",
    kind = "build",
    op = "details",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      method = "adyen.card",
      details = {
        details = {
          threeDSResult = "eyJ0cmFuc1N0YXR1cyI6IlkifQ==",
        },
        payment_data = "Ab02b4c0",
      },
    },
    expect = {
      url = "https://checkout-test.adyen.com/v71/payments/details",
      headers = {
        ["Idempotency-Key"] = "details:T20240101001:8c3bf82f6168d3da",
      },
      body = [==[{"details":{"threeDSResult":"eyJ0cmFuc1N0YXR1cyI6IlkifQ=="},"paymentData":"Ab02b4c0"}]==],
    },
  }, {
    name = "cancel by pspReference",
    kind = "build",
    op = "cancel",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
      channel_trade_no = "QFQTPCQ8HXSKGK82",
    },
    expect = {
      url = "https://checkout-test.adyen.com/v71/payments/QFQTPCQ8HXSKGK82/cancels",
      headers = {
        ["X-API-Key"] = "AQE_fixture_api_key",
        ["Idempotency-Key"] = "cancel:T20240101001",
      },
      body = [==[{"merchantAccount":"merchantAccount","reference":"T20240101001/cancel"}]==],
    },
  }, {
    name = "standalone cancel by reference (pspReference unknown)",
    kind = "build",
    op = "cancel",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    expect = {
      url = "https://checkout-test.adyen.com/v71/cancels",
      body = [==[{"merchantAccount":"merchantAccount","paymentReference":"T20240101001","reference":"T20240101001/cancel"}]==],
    },
  }, {
    name = "refund request",
    kind = "build",
    op = "refund",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
      channel_trade_no = "QFQTPCQ8HXSKGK82",
      refund = {
        out_refund_no = "R20240101001",
        amount = 500,
      },
    },
    expect = {
      url = "https://checkout-test.adyen.com/v71/payments/QFQTPCQ8HXSKGK82/refunds",
      headers = {
        ["X-API-Key"] = "AQE_fixture_api_key",
        ["Idempotency-Key"] = "refund:R20240101001",
      },
      body = [==[{"amount":{"currency":"EUR","value":500},"merchantAccount":"merchantAccount","reference":"T20240101001/R20240101001"}]==],
    },
  }, {
    name = "Authorised",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"Authorised","amount":{"currency":"EUR","value":1000}}]==],
    expect = {
      class = "SUCCESS",
      code = "Authorised",
      error = "",
      fields = {
        channel_trade_no = "QFQTPCQ8HXSKGK82",
        amount = 1000,
      },
    },
  }, {
    name = "Refused is a definite failure",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"Refused","refusalReason":"Not enough balance","refusalReasonCode":"12"}]==],
    expect = {
      class = "FAILED",
      code = "Refused",
      fields = {
        refusal_reason = "Not enough balance",
      },
    },
  }, {
    name = "Cancelled is a definite failure",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"Cancelled"}]==],
    expect = {
      class = "FAILED",
      code = "Cancelled",
    },
  }, {
    name = "Error stays processing",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"Error","refusalReason":"Acquirer Error"}]==],
    expect = {
      class = "PROCESSING",
      code = "Error",
    },
  }, {
    name = "Pending stays processing",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"Pending"}]==],
    expect = {
      class = "PROCESSING",
      code = "Pending",
    },
  }, {
    name = "Received stays processing",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"Received"}]==],
    expect = {
      class = "PROCESSING",
      code = "Received",
    },
  }, {
    name = "card RedirectShopper (3DS) stays processing, credential returned",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"RedirectShopper","action":{"type":"redirect","method":"GET","url":"https://checkoutshopper-test.adyen.com/checkoutshopper/checkoutPaymentRedirect?redirectData=X3XtfGC9","paymentMethodType":"ideal"}}]==],
    expect = {
      class = "PROCESSING",
      code = "RedirectShopper",
      fields = {
        credential = {
          type = "url",
          url = "https://checkoutshopper-test.adyen.com/checkoutshopper/checkoutPaymentRedirect?redirectData=X3XtfGC9",
          method = "GET",
          action_type = "redirect",
        },
      },
    },
  }, {
    name = "prepay RedirectShopper: the credential exists",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.redirect",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "ideal",
        },
        return_url = "https://shop.example/return",
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"RedirectShopper","action":{"type":"redirect","method":"GET","url":"https://checkoutshopper-test.adyen.com/checkoutshopper/checkoutPaymentRedirect?redirectData=X3XtfGC9","paymentMethodType":"ideal"}}]==],
    expect = {
      class = "SUCCESS",
      code = "prepay:RedirectShopper",
      fields = {
        credential = {
          type = "url",
          url = "https://checkoutshopper-test.adyen.com/checkoutshopper/checkoutPaymentRedirect?redirectData=X3XtfGC9",
          method = "GET",
          action_type = "redirect",
        },
      },
    },
  }, {
    name = "ChallengeShopper stays processing",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"ChallengeShopper","action":{"type":"threeDS2","paymentData":"Ab02b4c0","token":"eyJ0"}}]==],
    expect = {
      class = "PROCESSING",
      code = "ChallengeShopper",
    },
  }, {
    name = "details: Authorised is the payment's success",
    kind = "parse",
    op = "details",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      method = "adyen.redirect",
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"Authorised","amount":{"currency":"EUR","value":1000}}]==],
    expect = {
      class = "SUCCESS",
      code = "Authorised",
      error = "",
      fields = {
        channel_trade_no = "QFQTPCQ8HXSKGK82",
      },
    },
  }, {
    name = "details: Refused is a definite failure",
    kind = "parse",
    op = "details",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      method = "adyen.card",
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"Refused","refusalReason":"Refused","refusalReasonCode":"2"}]==],
    expect = {
      class = "FAILED",
      code = "Refused",
    },
  }, {
    name = "details: a redirect method's next action is the shopper's next step, not prepay",
    kind = "parse",
    op = "details",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      method = "adyen.redirect",
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"RedirectShopper","action":{"type":"redirect","method":"GET","url":"https://checkoutshopper-test.adyen.com/checkoutshopper/redirect?d=1"}}]==],
    expect = {
      class = "PROCESSING",
      code = "RedirectShopper",
      fields = {
        credential = {
          type = "url",
          url = "https://checkoutshopper-test.adyen.com/checkoutshopper/redirect?d=1",
          method = "GET",
          action_type = "redirect",
        },
      },
    },
  }, {
    name = "details: 422 (a stale or forged redirectResult) stays processing",
    kind = "parse",
    op = "details",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      method = "adyen.card",
    },
    status = 422,
    response = [==[{"status":422,"errorCode":"14_006","message":"Invalid payload provided","errorType":"validation"}]==],
    expect = {
      class = "PROCESSING",
      code = "422:14_006",
    },
  }, {
    name = "unknown resultCode stays processing",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"SomethingNew"}]==],
    expect = {
      class = "PROCESSING",
      code = "SomethingNew",
    },
  }, {
    name = "Authorised for another reference is processing",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T-OTHER","resultCode":"Authorised"}]==],
    expect = {
      class = "PROCESSING",
      error = "merchantReference",
    },
  }, {
    name = "Authorised with another amount is processing",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001","resultCode":"Authorised","amount":{"currency":"EUR","value":999}}]==],
    expect = {
      class = "PROCESSING",
      error = "amount",
    },
  }, {
    name = "401 Unauthorised (wrong API key) is not sent",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 401,
    response = [==[{"status":401,"errorCode":"000","message":"HTTP Status Response - Unauthorized","errorType":"security"}]==],
    expect = {
      class = "NOT_SENT",
      code = "401:000",
    },
  }, {
    name = "422 validation error stays processing",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 422,
    response = [==[{"status":422,"errorCode":"101","message":"Invalid card number","errorType":"validation"}]==],
    expect = {
      class = "PROCESSING",
      code = "422:101",
    },
  }, {
    name = "HTTP 500 is processing",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 500,
    response = [==[{"status":500,"errorCode":"905","message":"Payment details are not supported","errorType":"configuration"}]==],
    expect = {
      class = "PROCESSING",
    },
  }, {
    name = "garbage is processing",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = "<html>garbage",
    expect = {
      class = "PROCESSING",
      error = "not a JSON",
    },
  }, {
    name = "no resultCode is processing",
    kind = "parse",
    op = "pay",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
    },
    status = 200,
    response = [==[{"additionalData":{},"pspReference":"QFQTPCQ8HXSKGK82","merchantReference":"T20240101001"}]==],
    expect = {
      class = "PROCESSING",
      error = "resultCode",
    },
  }, {
    name = "cancel received stays processing (outcome by webhook)",
    kind = "parse",
    op = "cancel",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
      channel_trade_no = "QFQTPCQ8HXSKGK82",
    },
    status = 201,
    response = [==[{"merchantAccount":"merchantAccount","paymentPspReference":"QFQTPCQ8HXSKGK82","pspReference":"CNCL000000000001","reference":"T20240101001/cancel","status":"received"}]==],
    expect = {
      class = "PROCESSING",
      code = "received",
      error = "",
      fields = {
        channel_modification_no = "CNCL000000000001",
      },
    },
  }, {
    name = "cancel unknown status stays processing",
    kind = "parse",
    op = "cancel",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
      channel_trade_no = "QFQTPCQ8HXSKGK82",
    },
    status = 201,
    response = [==[{"merchantAccount":"merchantAccount","paymentPspReference":"QFQTPCQ8HXSKGK82","pspReference":"CNCL000000000001","reference":"T20240101001/cancel","status":"weird"}]==],
    expect = {
      class = "PROCESSING",
      code = "weird",
    },
  }, {
    name = "cancel 401 is not sent",
    kind = "parse",
    op = "cancel",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
      channel_trade_no = "QFQTPCQ8HXSKGK82",
    },
    status = 401,
    response = [==[{"status":401,"errorCode":"000","message":"Unauthorized","errorType":"security"}]==],
    expect = {
      class = "NOT_SENT",
      code = "401:000",
    },
  }, {
    name = "cancel 422 unknown pspReference stays processing",
    kind = "parse",
    op = "cancel",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
      channel_trade_no = "QFQTPCQ8HXSKGK82",
    },
    status = 422,
    response = [==[{"status":422,"errorCode":"167","message":"Original pspReference required for this operation","errorType":"validation"}]==],
    expect = {
      class = "PROCESSING",
      code = "422:167",
    },
  }, {
    name = "cancel garbage is processing",
    kind = "parse",
    op = "cancel",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
      channel_trade_no = "QFQTPCQ8HXSKGK82",
    },
    status = 200,
    response = "not json",
    expect = {
      class = "PROCESSING",
    },
  }, {
    name = "refund received stays processing (outcome by webhook)",
    kind = "parse",
    op = "refund",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
      channel_trade_no = "QFQTPCQ8HXSKGK82",
      refund = {
        out_refund_no = "R20240101001",
        amount = 500,
      },
    },
    status = 201,
    response = [==[{"merchantAccount":"merchantAccount","paymentPspReference":"QFQTPCQ8HXSKGK82","pspReference":"RFND000000000001","reference":"T20240101001/R20240101001","status":"received","amount":{"currency":"EUR","value":500}}]==],
    expect = {
      class = "PROCESSING",
      code = "received",
      error = "",
      fields = {
        channel_refund_no = "RFND000000000001",
        refund_status = "received",
      },
    },
  }, {
    name = "refund unknown status stays processing",
    kind = "parse",
    op = "refund",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
      channel_trade_no = "QFQTPCQ8HXSKGK82",
      refund = {
        out_refund_no = "R20240101001",
        amount = 500,
      },
    },
    status = 201,
    response = [==[{"merchantAccount":"merchantAccount","paymentPspReference":"QFQTPCQ8HXSKGK82","pspReference":"CNCL000000000001","reference":"T20240101001/cancel","status":"processed"}]==],
    expect = {
      class = "PROCESSING",
      code = "processed",
    },
  }, {
    name = "refund 422 stays processing",
    kind = "parse",
    op = "refund",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
      channel_trade_no = "QFQTPCQ8HXSKGK82",
      refund = {
        out_refund_no = "R20240101001",
        amount = 500,
      },
    },
    status = 422,
    response = [==[{"status":422,"errorCode":"137","message":"Invalid amount specified","errorType":"validation"}]==],
    expect = {
      class = "PROCESSING",
      code = "422:137",
    },
  }, {
    name = "refund 502 is processing",
    kind = "parse",
    op = "refund",
    order = {
      out_trade_no = "T20240101001",
      amount = 1000,
      currency = "EUR",
      subject = "Order 1",
      method = "adyen.card",
      notify_url = "http://127.0.0.1:8080/notify/adyen",
      extra = {
        payment_method = {
          type = "scheme",
          encryptedCardNumber = "test_4111111111111111",
        },
      },
      channel_trade_no = "QFQTPCQ8HXSKGK82",
      refund = {
        out_refund_no = "R20240101001",
        amount = 500,
      },
    },
    status = 502,
    response = "<html>bad gateway</html>",
    expect = {
      class = "PROCESSING",
    },
  }, {
    name = "V4 published vector: CAPTURE success (hmacValidator.spec.ts)",
    kind = "notify",
    content_type = "application/json",
    body = [==[{"live":"false","notificationItems":[{"NotificationRequestItem":{"pspReference":"pspReference","originalReference":"originalReference","merchantAccountCode":"merchantAccount","merchantReference":"reference","amount":{"currency":"EUR","value":1000},"eventCode":"CAPTURE","eventDate":"2018-22-09T11:58:52+02:00","success":"true","reason":"","paymentMethod":"visa","additionalData":{"hmacSignature":"xhpHvYq2u2Np0rstbZ6QjLGu7JWhvf7Iwaa6EviJSX0="}}}]}]==],
    expect = {
      verified = true,
      class = "SUCCESS",
      code = "CAPTURE:true",
      out_trade_no = "reference",
      ack_status = 200,
      ack_body = "[accepted]",
      fields = {
        channel_trade_no = "originalReference",
      },
    },
  }, {
    name = "AUTHORISATION success=true",
    kind = "notify",
    content_type = "application/json",
    body = [==[{"live":"false","notificationItems":[{"NotificationRequestItem":{"amount":{"currency":"EUR","value":1000},"eventCode":"AUTHORISATION","eventDate":"2024-01-01T12:00:00+01:00","merchantAccountCode":"merchantAccount","merchantReference":"T20240101001","pspReference":"QFQTPCQ8HXSKGK82","originalReference":"","success":"true","paymentMethod":"visa","reason":"","additionalData":{"hmacSignature":"ojsuMXuBiQvht/0pn5iKVVxfPgJtabf/jZY/0VHYXLA="}}}]}]==],
    expect = {
      verified = true,
      class = "SUCCESS",
      code = "AUTHORISATION:true",
      out_trade_no = "T20240101001",
      ack_status = 200,
      ack_body = "[accepted]",
      fields = {
        channel_trade_no = "QFQTPCQ8HXSKGK82",
        amount = 1000,
      },
    },
  }, {
    name = "AUTHORISATION success=false is a failure",
    kind = "notify",
    content_type = "application/json",
    body = [==[{"live":"false","notificationItems":[{"NotificationRequestItem":{"amount":{"currency":"EUR","value":1000},"eventCode":"AUTHORISATION","eventDate":"2024-01-01T12:00:00+01:00","merchantAccountCode":"merchantAccount","merchantReference":"T20240101001","pspReference":"QFQTPCQ8HXSKGK82","originalReference":"","success":"false","paymentMethod":"visa","reason":"Refused","additionalData":{"hmacSignature":"Ofl+djrJ+LfYjPbIqxS4tBktepnAK7UFaNpx+SJOStw="}}}]}]==],
    expect = {
      verified = true,
      class = "FAILED",
      code = "AUTHORISATION:false",
      out_trade_no = "T20240101001",
      ack_status = 200,
      ack_body = "[accepted]",
    },
  }, {
    name = "REFUND success names the refund",
    kind = "notify",
    content_type = "application/json",
    body = [==[{"live":"false","notificationItems":[{"NotificationRequestItem":{"amount":{"currency":"EUR","value":500},"eventCode":"REFUND","eventDate":"2024-01-01T12:00:00+01:00","merchantAccountCode":"merchantAccount","merchantReference":"T20240101001/R20240101001","pspReference":"RFND000000000001","originalReference":"QFQTPCQ8HXSKGK82","success":"true","paymentMethod":"visa","reason":"","additionalData":{"hmacSignature":"rXTkZaFMDjut/Bl0+mcOwC9qrGL5elJOjyKorTAZ+iE="}}}]}]==],
    expect = {
      verified = true,
      class = "SUCCESS",
      code = "REFUND:true",
      out_trade_no = "T20240101001",
      fields = {
        kind = "refund",
        out_refund_no = "R20240101001",
        channel_refund_no = "RFND000000000001",
      },
    },
  }, {
    name = "CANCELLATION success closes",
    kind = "notify",
    content_type = "application/json",
    body = [==[{"live":"false","notificationItems":[{"NotificationRequestItem":{"amount":{"currency":"EUR","value":1000},"eventCode":"CANCELLATION","eventDate":"2024-01-01T12:00:00+01:00","merchantAccountCode":"merchantAccount","merchantReference":"T20240101001/cancel","pspReference":"CNCL000000000001","originalReference":"QFQTPCQ8HXSKGK82","success":"true","paymentMethod":"visa","reason":"","additionalData":{"hmacSignature":"ro71QTwFOtVUZmGodg9cUvESmI5xi36fCqKavP+5I8w="}}}]}]==],
    expect = {
      verified = true,
      class = "CLOSED",
      code = "CANCELLATION:true",
      out_trade_no = "T20240101001",
    },
  }, {
    name = "unknown eventCode verified but processing",
    kind = "notify",
    content_type = "application/json",
    body = [==[{"live":"false","notificationItems":[{"NotificationRequestItem":{"amount":{"currency":"EUR","value":1000},"eventCode":"NEW_EVENT_KIND","eventDate":"2024-01-01T12:00:00+01:00","merchantAccountCode":"merchantAccount","merchantReference":"T20240101001","pspReference":"QFQTPCQ8HXSKGK82","originalReference":"","success":"true","paymentMethod":"visa","reason":"","additionalData":{"hmacSignature":"lg5pikja2JkBvy+Yoo23DXjFjXaQePe4i05zC0IJNoA="}}}]}]==],
    expect = {
      verified = true,
      class = "PROCESSING",
      code = "NEW_EVENT_KIND:true",
    },
  }, {
    name = "forged HMAC is refused",
    kind = "notify",
    content_type = "application/json",
    body = [==[{"live":"false","notificationItems":[{"NotificationRequestItem":{"amount":{"currency":"EUR","value":1000},"eventCode":"AUTHORISATION","eventDate":"2024-01-01T12:00:00+01:00","merchantAccountCode":"merchantAccount","merchantReference":"T20240101001","pspReference":"QFQTPCQ8HXSKGK82","originalReference":"","success":"true","paymentMethod":"visa","reason":"","additionalData":{"hmacSignature":"mc2wSTMvbcfkFH9CaYfjuBMi8n+HXz2QNiCa2uKit6c="}}}]}]==],
    expect = {
      verified = false,
      class = "PROCESSING",
      ack_status = 401,
    },
  }, {
    name = "tampered amount is refused",
    kind = "notify",
    content_type = "application/json",
    body = [==[{"live":"false","notificationItems":[{"NotificationRequestItem":{"amount":{"currency":"EUR","value":1},"eventCode":"AUTHORISATION","eventDate":"2024-01-01T12:00:00+01:00","merchantAccountCode":"merchantAccount","merchantReference":"T20240101001","pspReference":"QFQTPCQ8HXSKGK82","originalReference":"","success":"true","paymentMethod":"visa","reason":"","additionalData":{"hmacSignature":"ojsuMXuBiQvht/0pn5iKVVxfPgJtabf/jZY/0VHYXLA="}}}]}]==],
    expect = {
      verified = false,
      class = "PROCESSING",
    },
  }, {
    name = "another merchant account is refused",
    kind = "notify",
    content_type = "application/json",
    body = [==[{"live":"false","notificationItems":[{"NotificationRequestItem":{"amount":{"currency":"EUR","value":1000},"eventCode":"AUTHORISATION","eventDate":"2024-01-01T12:00:00+01:00","merchantAccountCode":"OtherMerchant","merchantReference":"T20240101001","pspReference":"QFQTPCQ8HXSKGK82","originalReference":"","success":"true","paymentMethod":"visa","reason":"","additionalData":{"hmacSignature":"ZRUb+JYGNFfwOhK7tCBwwxONo9nWFZE7mbtN9vDONwY="}}}]}]==],
    expect = {
      verified = false,
    },
  }, {
    name = "garbage notify is refused",
    kind = "notify",
    content_type = "application/json",
    body = "garbage",
    expect = {
      verified = false,
      ack_status = 401,
    },
  }, {
    name = "no notificationItems is refused",
    kind = "notify",
    content_type = "application/json",
    body = [==[{"live":"false"}]==],
    expect = {
      verified = false,
    },
  } },
}
