-- templates/archetypes/iso20022/script.lua -- the iso20022 archetype's code
-- lists and parsers: a pain.002.001.10 (CstmrPmtStsRpt) answer, HMAC-SHA256
-- (hex) of the raw body in X-Signature, checked before anything is believed.
-- The code is TxSts, or "RJCT:<StsRsnInf/Rsn/Cd>" for a rejection; 404 on the
-- status call is "NOTFOUND".
local S = {}

local DOC_STATUS = "https://www.iso20022.org/catalogue-messages/additional-content-messages/external-code-sets (ExternalPaymentTransactionStatus1Code)"
local DOC_REASON = "https://www.iso20022.org/catalogue-messages/additional-content-messages/external-code-sets (ExternalStatusReason1Code)"

-- ACSC = settlement completed on the debtor's account: the only final success.
-- RJCT with a reason the bank documents as final for the instruction: failure.
-- RJCT:DU01 (duplicate message id) means an earlier instruction with this id
-- exists: never a failure, never rerouted -> processing.
-- RJCT:FF01 (invalid file format): refused before any processing -> rejected.
local FINAL_REJECTIONS = { "RJCT:AC01", "RJCT:AC04", "RJCT:AC06", "RJCT:AG01", "RJCT:BE01" }
local IN_FLIGHT = { "RCVD", "ACTC", "ACCP", "ACSP", "ACWC", "PDNG", "RJCT:DU01" }

S.codes = {
  payout = {
    success = { source = DOC_STATUS, codes = { "ACSC" } },
    failure = { source = DOC_REASON, codes = FINAL_REJECTIONS },
    processing = { source = DOC_STATUS .. " ; " .. DOC_REASON, codes = IN_FLIGHT },
    rejected = { source = DOC_REASON, codes = { "RJCT:FF01" } },
  },
  payout_query = {
    success = { source = DOC_STATUS, codes = { "ACSC" } },
    failure = { source = DOC_REASON, codes = FINAL_REJECTIONS },
    processing = { source = DOC_STATUS .. " ; " .. DOC_REASON, codes = IN_FLIGHT },
    not_found = { source = DOC_STATUS, codes = { "NOTFOUND" } },
  },
}

S.parse = {}

local function verified(resp, ctx)
  local sig = resp.headers["x-signature"]
  if type(sig) ~= "string" then return false end
  local mac = gw.crypto.hmac_sha256(gw.secret(ctx.config.hmac_key), resp.body, "hex")
  return gw.crypto.equals(mac, sig:lower())
end

local function status_report(resp, order, ctx)
  if not verified(resp, ctx) then
    return { error = "response signature invalid" }
  end
  if resp.status == 404 then
    return { code = "NOTFOUND", verified = true }
  end
  local doc, err = gw.xml.decode(resp.body)
  if doc == nil then
    return { verified = true, error = "answer is not XML: " .. tostring(err) }
  end
  local rpt = doc.CstmrPmtStsRpt
  local pmt = type(rpt) == "table" and rpt.OrgnlPmtInfAndSts or nil
  local tx = type(pmt) == "table" and pmt.TxInfAndSts or nil
  if type(tx) ~= "table" or type(tx.TxSts) ~= "string" then
    return { verified = true, error = "no CstmrPmtStsRpt/OrgnlPmtInfAndSts/TxInfAndSts/TxSts" }
  end
  local want = order and order.payout and order.payout.out_payout_no
  if want ~= nil and tx.OrgnlEndToEndId ~= want then
    return { verified = true, error = "status report for another EndToEndId" }
  end
  local code = tx.TxSts
  if code == "RJCT" then
    local rsn = type(tx.StsRsnInf) == "table" and type(tx.StsRsnInf.Rsn) == "table"
                and tx.StsRsnInf.Rsn.Cd or ""
    code = "RJCT:" .. tostring(rsn)
  end
  return { code = code, verified = true,
           fields = { channel_payout_no = tx.AcctSvcrRef or tx.OrgnlEndToEndId,
                      out_payout_no = tx.OrgnlEndToEndId } }
end

function S.parse.payout(resp, order, ctx) return status_report(resp, order, ctx) end
function S.parse.payout_query(resp, order, ctx) return status_report(resp, order, ctx) end

return S
