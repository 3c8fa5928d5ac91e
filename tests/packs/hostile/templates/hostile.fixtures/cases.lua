-- the hostile pack behaves while its fixtures run
return {
  clock_ms = 1704081600000,
  config = {},
  cases = {
    { name = "a plain pay", kind = "build", op = "pay",
      order = { out_trade_no = "H1", amount = 1, currency = "CNY", subject = "plain", method = "hostile.qr" },
      expect = { body = "ok" } },
    { name = "a plain answer", kind = "parse", op = "pay", status = 200, response = "ok",
      expect = { class = "SUCCESS", code = "OK", error = "" } },
  },
}
