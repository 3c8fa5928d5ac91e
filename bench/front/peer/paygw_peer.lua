-- paygw_peer.lua — an OpenResty-style peer of our front gateway, written
-- the way a competent OpenResty user would (lua-resty-limit-traffic and
-- lua-resty-hmac idioms), on Debian's lua-nginx-module + resty.core.
-- It does the same work as ngx_http_paygw_module with paygw_local_voucher:
--
--   access_by_lua  peer.access()   415/400 on a malformed request; body read,
--                                  ngx.req.get_post_args; app lookup;
--                                  timestamp window +-300 s; SPEC 3.1 scheme B
--                                  HMAC-SHA256 (sorted k=v&..&key=SECRET,
--                                  uppercase hex, plain ~= compare as APISIX
--                                  and Kong do); nonce dict:add (600 s TTL);
--                                  per-app and per-API leaky bucket
--                                  (resty.limit.req algorithm: FFI record
--                                  {excess,last} in a lua_shared_dict,
--                                  get + set, ms clock); per-app concurrency
--                                  (resty.limit.conn: incr here, decr in log)
--   content_by_lua peer.content()  voucher id minted (ms time + pid + per-
--                                  worker counter), 202 JSON, signed
--   log_by_lua     peer.log()      concurrency decr
--
-- Every answer for a known app carries Paygw-Timestamp / Paygw-Nonce /
-- Paygw-Signature = base64(HMAC-SHA256(secret, TS\nNONCE\nBODY\n)).

local ffi = require "ffi"
local hmac = require "hmac_sha256"

local ngx = ngx
local ngx_now = ngx.now
local ngx_time = ngx.time
local ngx_var = ngx.var
local ngx_header = ngx.header
local re_find = ngx.re.find
local get_post_args = ngx.req.get_post_args
local read_body = ngx.req.read_body
local str_find = string.find
local concat = table.concat
local sort = table.sort
local tonumber = tonumber
local type = type
local pairs = pairs
local abs = math.abs
local max = math.max
local floor = math.floor
local fmt = string.format
local new_tab = require "table.new"

local nonces = ngx.shared.peer_nonces
local limits = ngx.shared.peer_limits

local API = "payments.create"
local WINDOW = 300
local NONCE_TTL = 600
local MAX_ARGS = 64

local _M = {}

local apps = {}
local app_rate, app_burst      -- x1000, as resty.limit.req keeps them
local api_rate, api_burst
local conc_max

-- apps file: "app_id HMAC-SHA256 secret [options]", '#' comments
function _M.init(apps_file, opts)
    local f = assert(io.open(apps_file, "r"))
    for line in f:lines() do
        line = line:gsub("#.*", "")
        local id, kind, secret = line:match("^%s*(%S+)%s+(%S+)%s+(%S+)")
        if id then
            if kind ~= "HMAC-SHA256" then
                error("peer supports HMAC-SHA256 apps only: " .. id)
            end
            apps[id] = {
                id = id,
                secret = secret,
                all_apis = true,
                rate_key = "a:" .. id,
                api_key = "p:" .. id .. ":" .. API,
                conc_key = "c:" .. id,
            }
        end
    end
    f:close()
    app_rate = opts.app_rate * 1000
    app_burst = opts.app_burst * 1000
    api_rate = opts.api_rate * 1000
    api_burst = opts.api_burst * 1000
    conc_max = opts.concurrency
end

-- answers --------------------------------------------------------------

local function sign_headers(app, body)
    local ts = tostring(ngx_time())
    local nonce = hmac.random_hex(8)
    ngx_header["Paygw-Timestamp"] = ts
    ngx_header["Paygw-Nonce"] = nonce
    ngx_header["Paygw-Signature"] = hmac.b64_lines3(app.secret, ts, nonce, body)
end

local function answer(status, body, app)
    ngx.status = status
    ngx_header["Content-Type"] = "application/json"
    ngx_header["Content-Length"] = #body
    if app then
        sign_headers(app, body)
    end
    ngx.print(body)
end

local function reject(status, code, msg, app, retry_after)
    if retry_after then
        ngx_header["Retry-After"] = retry_after
    end
    answer(status, '{"error":{"code":"' .. code .. '","message":"' .. msg .. '"}}', app)
    return ngx.exit(status)
end

-- limits (resty.limit.req's leaky bucket, resty.limit.conn's counter) ----

ffi.cdef [[
struct paygw_peer_rec {
    unsigned long excess;
    uint64_t      last;   /* ms */
};
]]
local rec_ptr_t = ffi.typeof("const struct paygw_peer_rec *")
local rec_size = ffi.sizeof("struct paygw_peer_rec")
local rec = ffi.new("struct paygw_peer_rec")

-- returns true, or nil and "rejected"
local function leaky_bucket(key, rate, burst)
    local now = ngx_now() * 1000
    local excess = 0
    local v = limits:get(key)
    if v then
        if type(v) ~= "string" or #v ~= rec_size then
            return nil, "shdict abused by other users"
        end
        local r = ffi.cast(rec_ptr_t, v)
        local elapsed = now - tonumber(r.last)
        excess = max(tonumber(r.excess) - rate * abs(elapsed) / 1000 + 1000, 0)
        if excess > burst then
            return nil, "rejected"
        end
    end
    rec.excess = excess
    rec.last = now
    limits:set(key, ffi.string(rec, rec_size))
    return true
end

-- request --------------------------------------------------------------

function _M.access()
    local ct = ngx_var.content_type
    if not ct or not str_find(ct, "application/x-www-form-urlencoded", 1, true) then
        return reject(415, "UNSUPPORTED_MEDIA_TYPE",
                      "Content-Type must be application/x-www-form-urlencoded")
    end

    read_body()
    local args, err = get_post_args(MAX_ARGS)
    if not args then
        return reject(400, "INVALID_PARAMETER", "cannot read the body")
    end
    if err == "truncated" then
        return reject(400, "INVALID_PARAMETER", "too many parameters")
    end

    local app_id = args.app_id
    if type(app_id) ~= "string" then
        return reject(401, "SIGNATURE_INVALID", "app_id missing")
    end
    local app = apps[app_id]
    if not app then
        return reject(401, "APP_UNKNOWN", "app_id is not registered")
    end
    if not app.all_apis and not app.apis[API] then
        return reject(403, "API_NOT_ALLOWED", "the app may not call this API", app)
    end

    local sign = args.sign
    if type(sign) ~= "string" or args.sign_type ~= "HMAC-SHA256" then
        return reject(401, "SIGNATURE_INVALID", "sign or sign_type missing", app)
    end

    local ts = tonumber(args.timestamp)
    if not ts then
        return reject(401, "SIGNATURE_INVALID", "bad timestamp", app)
    end
    if abs(ngx_time() - ts) > WINDOW then
        return reject(401, "TIMESTAMP_EXPIRED", "timestamp outside the window", app)
    end

    -- string to sign: non-empty params but sign, sorted, k=v&...&key=SECRET
    local keys = new_tab(16, 0)
    local n = 0
    for k, v in pairs(args) do
        if k ~= "sign" then
            if type(v) ~= "string" then
                -- repeated name (table) or a name without '=' (true)
                return reject(400, "INVALID_PARAMETER", "malformed parameter", app)
            end
            if v ~= "" then
                n = n + 1
                keys[n] = k
            end
        end
    end
    sort(keys)
    local parts = new_tab(n + 1, 0)
    for i = 1, n do
        local k = keys[i]
        parts[i] = k .. "=" .. args[k]
    end
    parts[n + 1] = "key=" .. app.secret

    if hmac.hex_upper(app.secret, concat(parts, "&", 1, n + 1)) ~= sign then
        return reject(401, "SIGNATURE_INVALID", "signature does not match the request", app)
    end

    local nonce = args.nonce_str
    if type(nonce) ~= "string" or nonce == "" or #nonce > 64 then
        return reject(400, "INVALID_PARAMETER", "nonce_str missing", app)
    end
    local ok, aerr = nonces:add(app_id .. ":" .. nonce, true, NONCE_TTL)
    if not ok then
        if aerr == "exists" then
            return reject(401, "NONCE_REPLAYED", "nonce_str was seen before", app)
        end
        return reject(503, "INTERNAL_ERROR", "nonce store: " .. aerr, app)
    end

    local otn = args.out_trade_no
    if type(otn) ~= "string" or not re_find(otn, [[^[A-Za-z0-9_\-]{1,64}$]], "jo") then
        return reject(400, "INVALID_PARAMETER", "out_trade_no", app)
    end

    local lok, lerr = leaky_bucket(app.rate_key, app_rate, app_burst)
    if lok then
        lok, lerr = leaky_bucket(app.api_key, api_rate, api_burst)
    end
    if not lok then
        if lerr == "rejected" then
            return reject(429, "RATE_LIMITED", "rate limit", app, "1")
        end
        return reject(500, "INTERNAL_ERROR", lerr, app)
    end

    local conn = limits:incr(app.conc_key, 1, 0)
    if not conn then
        return reject(500, "INTERNAL_ERROR", "concurrency counter", app)
    end
    local ctx = ngx.ctx
    ctx.conc_key = app.conc_key
    if conn > conc_max then
        return reject(429, "RATE_LIMITED", "too many requests in progress", app, "1")
    end

    ctx.app = app
    ctx.otn = otn
end

-- voucher id: "V" + ms time (13) + worker pid (7) + per-worker counter (6)
local pid7
local seq = 0

function _M.content()
    local ctx = ngx.ctx
    if not pid7 then
        pid7 = fmt("%07d", ngx.worker.pid())
    end
    seq = seq + 1
    if seq > 999999 then
        seq = 0
    end
    local vid = "V" .. floor(ngx_now() * 1000) .. pid7 .. fmt("%06d", seq)
    answer(202, '{"voucher_id":"' .. vid .. '","out_trade_no":"' .. ctx.otn
           .. '","status":"ACCEPTED"}', ctx.app)
end

function _M.log()
    local key = ngx.ctx.conc_key
    if key then
        limits:incr(key, -1)
    end
end

return _M
