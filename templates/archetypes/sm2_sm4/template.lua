-- templates/archetypes/sm2_sm4/template.lua -- the sm2_sm4 archetype
-- (paygwctl channel new NAME --like sm2_sm4): a Chinese bank's JSON API under
-- the national algorithms (GM/T 0003 SM2, GM/T 0004 SM3, GM/T 0002 SM4), the
-- way most banks' open platforms use them. Never loaded as a channel.
--
-- Every request is a JSON POST of { merchant_id, service, timestamp, version,
-- sign_type = "SM2", encrypted = base64(SM4-ECB/PKCS#7(biz JSON)), sign }:
--   encrypted  SM4 key = the 16-byte secret named by ctx.config.sm4_key
--   sign       SM2 with SM3 (user id 1234567812345678, DER, base64) over every
--              other non-empty field sorted by name, k=v&k=v (gw.form.sign_string),
--              with the private key named by ctx.config.merchant_private_key
-- Answers and notifications carry the same envelope (code, msg, encrypted,
-- sign) signed by the bank's key (ctx.config.bank_public_key).
--
-- ctx.config: merchant_id, merchant_private_key (key name, SM2), bank_public_key
-- (key name, SM2 public key or certificate), sm4_key (secret name), endpoint.

local M = {}

local TZ_BEIJING = 480

M.manifest = {
  channel = "sm2_sm4_archetype",
  methods = {
    ["sm2bank.qr"] = { kind = "prepay", currencies = { "CNY" },
                       min_amount = 1, max_amount = 5000000 },
  },
  currencies = { "CNY" },
  min_amount = 1,
  max_amount = 5000000,
  endpoints = { production = "https://openapi.sm2bank.example/api" },
  timeouts = { connect_timeout_ms = 3000, timeout_ms = 15000 },
  first_query_delay_ms = 5000,
  query_backoff_ms = { 5000, 10000, 30000, 60000, 300000 },
  max_concurrency = 50,
  qps = 20,
  mask = { "sign", "encrypted" },
  notify_ack = {
    ok = { status = 200, content_type = "application/json", body = '{"code":"SUCCESS"}' },
    fail = { status = 400, content_type = "application/json", body = '{"code":"FAIL"}' },
  },
  signed_responses = true,
}

M.build = {}

local function need(v, what)
  if v == nil or v == "" then error("sm2_sm4: " .. what .. " is required", 0) end
  return v
end

local function request(ctx, service, biz)
  local cfg = ctx.config
  local key = gw.secret(need(cfg.sm4_key, "config.sm4_key"))
  local enc, err = gw.crypto.sm4_ecb_encrypt(key, gw.json.encode(biz))
  if enc == nil then error("sm2_sm4: " .. tostring(err), 0) end
  local p = {
    merchant_id = need(cfg.merchant_id, "config.merchant_id"),
    service = service,
    timestamp = gw.time.format(gw.time.now_ms(), "yyyyMMddHHmmss", TZ_BEIJING),
    version = "1.0",
    sign_type = "SM2",
    encrypted = gw.crypto.base64_encode(enc),
  }
  p.sign = gw.crypto.sign(need(cfg.merchant_private_key, "config.merchant_private_key"), "SM2",
                          gw.form.sign_string(p, { exclude = { "sign" }, skip_empty = true }))
  return { method = "POST", url = need(ctx.endpoint, "endpoint"),
           content_type = "application/json;charset=utf-8", body = gw.json.encode(p) }
end

function M.build.pay(order, ctx)
  if order.currency ~= "CNY" then
    error("sm2_sm4: currency " .. tostring(order.currency) .. " is not supported", 0)
  end
  return request(ctx, "trade.qr", {
    out_trade_no = need(order.out_trade_no, "out_trade_no"),
    amount = math.tointeger(need(order.amount, "amount")),
    subject = (order.subject ~= nil and order.subject ~= "") and order.subject
              or order.out_trade_no,
    notify_url = order.notify_url,
  })
end

function M.build.query(order, ctx)
  return request(ctx, "trade.query", { out_trade_no = need(order.out_trade_no, "out_trade_no") })
end

return M
