-- templates/archetypes/sm2_sm4/script.lua -- the sm2_sm4 archetype's code
-- lists, parsers and notify. An answer is believed only after the bank's SM2
-- signature checks out over its sorted fields; the business data is then
-- SM4-decrypted. Code = `code` when it is not "0000", else the trade status
-- (query, notify) or "0000" (pay: the QR exists).
local S = {}

-- the bank's result-code chapter; INTEGRATOR: the archetype's codes are those
-- of a typical bank open platform, not of any real bank
local DOC = "https://openapi.sm2bank.example/docs/result-codes"

S.codes = {
  pay = {
    success = { source = DOC, codes = { "0000" } },
    failure = { source = DOC, codes = { "1001:AMOUNT_INVALID", "1002:MERCHANT_DISABLED" } },
    processing = { source = DOC, codes = { "9999:SYSTEM_BUSY" } },
    rejected = { source = DOC, codes = { "2001:SIGN_INVALID" } },
  },
  query = {
    success = { source = DOC, codes = { "SUCCESS" } },
    closed = { source = DOC, codes = { "CLOSED" } },
    processing = { source = DOC, codes = { "WAITING", "9999:SYSTEM_BUSY" } },
    not_found = { source = DOC, codes = { "1004:ORDER_NOT_EXIST" } },
  },
  notify = {
    success = { source = DOC, codes = { "SUCCESS" } },
    closed = { source = DOC, codes = { "CLOSED" } },
  },
}

S.parse = {}

-- the verified, decrypted envelope: env, biz | nil, err
local function open(body, ctx)
  local env, err = gw.json.decode(body)
  if type(env) ~= "table" then return nil, "answer is not JSON: " .. tostring(err) end
  if type(env.sign) ~= "string" then return nil, "response signature invalid" end
  local data = gw.form.sign_string(env, { exclude = { "sign" }, skip_empty = true })
  if not gw.crypto.verify(ctx.config.bank_public_key, "SM2", data, env.sign) then
    return nil, "response signature invalid"
  end
  if env.merchant_id ~= nil and env.merchant_id ~= ctx.config.merchant_id then
    return nil, "answer for another merchant_id"
  end
  if type(env.encrypted) ~= "string" or env.encrypted == "" then return env, {} end
  local raw = gw.crypto.base64_decode(env.encrypted)
  local plain = raw and gw.crypto.sm4_ecb_decrypt(gw.secret(ctx.config.sm4_key), raw)
  local biz = plain and gw.json.decode(plain)
  if type(biz) ~= "table" then return nil, "encrypted part does not decrypt" end
  return env, biz
end

local function code_of(env, biz, status_field)
  if env.code ~= "0000" then
    return tostring(env.code) .. ":" .. tostring(env.sub_code or env.msg or "")
  end
  return status_field and biz[status_field] or "0000"
end

function S.parse.pay(resp, order, ctx)
  local env, biz = open(resp.body, ctx)
  if env == nil then return { error = biz } end
  if env.code == "0000" and biz.out_trade_no ~= order.out_trade_no then
    return { verified = true, error = "answer for another out_trade_no" }
  end
  return { verified = true, code = code_of(env, biz),
           fields = { channel_trade_no = biz.trade_no,
                      credential = biz.qr_code and { type = "qr_code", qr_code = biz.qr_code } } }
end

function S.parse.query(resp, order, ctx)
  local env, biz = open(resp.body, ctx)
  if env == nil then return { error = biz } end
  if env.code == "0000" then
    if biz.out_trade_no ~= order.out_trade_no then
      return { verified = true, error = "answer for another out_trade_no" }
    end
    if biz.status == "SUCCESS" and math.tointeger(biz.amount) ~= order.amount then
      return { verified = true, error = "paid amount differs from the order" }
    end
  end
  return { verified = true, code = code_of(env, biz, "status"),
           fields = { channel_trade_no = biz.trade_no, amount = math.tointeger(biz.amount),
                      trade_status = biz.status } }
end

function S.notify(req, ctx)
  local env, biz = open(req.body, ctx)
  if env == nil then return { verified = false, error = biz } end
  return { verified = true, code = code_of(env, biz, "status"), out_trade_no = biz.out_trade_no,
           fields = { channel_trade_no = biz.trade_no, amount = math.tointeger(biz.amount) } }
end

return S
