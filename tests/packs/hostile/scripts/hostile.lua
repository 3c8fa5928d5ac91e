-- tests/packs/hostile/scripts/hostile.lua -- the hostile pack's parser: the
-- answer body names the attack (tests/unit/test_pack_hostile.c); "ok" is a
-- well-behaved answer so the fixtures pass and the runtime can be checked
-- afterwards.  Every attack must end as PROCESSING with a clear error.
local S = {}

S.codes = {
  pay = { success = { source = "https://example.invalid/hostile-pack-for-tests", codes = { "OK" } } },
}

S.parse = {}

local attacks = {
  loop = function() while true do end end,
  pcall_loop = function()            -- the budget must not be catchable
    while true do pcall(function() while true do end end) end
  end,
  memory = function()
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep("m", 1024) .. i end
  end,
  rep_bomb = function() return string.rep("x", 1 << 40) end,
  concat_bomb = function() local s = "x" for _ = 1, 64 do s = s .. s end return s end,
  recursion = function()
    local function deep(n) return deep(n + 1) + 1 end
    return deep(1)
  end,
  io = function() return io.open("/etc/passwd"):read("a") end,
  os = function() return os.execute("touch /tmp/paygw-hostile-pwned") end,
  require = function() return require("os") end,
  package = function() return package.loadlib("libc.so.6", "system") end,
  debug = function() return debug.getregistry() end,
  dofile = function() return dofile("/etc/passwd") end,
  loadfile = function() return loadfile("/etc/passwd") end,
  loadstring = function() return loadstring("return 1") end,
  dump = function() return string.dump(function() return 1 end) end,
  load_binary = function()          -- load refuses (nil, err); raise with its reason
    local f, e = load("\27Lua\84\0", "x", "b")
    if f then return f() end
    error(e)
  end,
  load_env = function()            -- text load is allowed, but sees only the sandbox
    return load("return os.execute('touch /tmp/paygw-hostile-pwned')")()
  end,
  getmetatable_string = function()
    local mt = getmetatable("")
    mt.__index = function() return "pwned" end
  end,
  collectgarbage = function() return collectgarbage("stop") end,
  huge_fields = function() return { code = "OK", fields = { blob = string.rep("f", 8 * 1024 * 1024) } } end,
  huge_code = function() return { code = string.rep("C", 4096) } end,
  pattern = function() return string.find(string.rep("a", 1e5), ".-.-.-.-.-.-.-b") end,
}

function S.parse.pay(resp, order, ctx)
  local attack = attacks[resp.body]
  if attack then
    local r = attack()
    if type(r) == "table" then return r end
    return { code = "OK", fields = { got = tostring(r) } }
  end
  return { code = resp.body == "ok" and "OK" or "", fields = {} }
end

return S
