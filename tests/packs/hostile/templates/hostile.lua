-- tests/packs/hostile/templates/hostile.lua -- a deliberately hostile pack
-- (tests/unit/test_pack_hostile.c): its builder behaves while the fixtures run
-- and attacks the host when order.subject names an attack.  Never a channel.
local M = {}

M.manifest = {
  channel = "hostile",
  methods = { ["hostile.qr"] = { kind = "prepay", currencies = { "CNY" } } },
  endpoints = { production = "http://127.0.0.1:9/hostile" },
  timeouts = { connect_timeout_ms = 1000, timeout_ms = 1000 },
  first_query_delay_ms = 0,
  query_backoff_ms = { 1000 },
}

M.build = {}

local attacks = {
  loop = function() while true do end end,
  huge_body = function() return string.rep("x", 8 * 1024 * 1024) end,
  rep_bomb = function() return string.rep("x", 1 << 40) end,
  recursion = function()
    local function deep(n) return deep(n + 1) + 1 end
    return deep(1)
  end,
  memory = function()
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep("m", 1024) .. i end
    return t
  end,
  os = function() return os.execute("touch /tmp/paygw-hostile-pwned") end,
}

function M.build.pay(order, ctx)
  local attack = attacks[order.subject]
  local body = "ok"
  if attack then body = attack() end
  return { method = "POST", url = ctx.endpoint, content_type = "text/plain", body = body }
end

return M
