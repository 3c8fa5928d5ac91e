-- post.lua — wrk script for bench/front: POST /v1/payments with pre-signed
-- scheme-B form bodies, each sent at most once per run.
--
-- BODIES=<prefix>: thread k reads <prefix>.t<k>, one body per request, in
-- order (gen_bodies.js writes one file per wrk thread, so threads never
-- share a body). When a thread runs out it starts over and counts a wrap;
-- run.sh treats wraps > 0 as an invalid run for the verifying variants (a
-- wrapped body is a replay).
-- done() prints one machine-readable line:
--   RESULT requests=N duration_us=N rps=N p50_us=N p99_us=N non2xx=N
--          errors=N wraps=N

local threads = {}
local counter = 0

function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

local f
wraps = 0  -- global: done() reads it through thread:get
local path = "/v1/payments"
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

-- the file is read line by line as requests go (buffered stdio), so no
-- thread spends the first part of the run loading bodies while another one
-- already sends (wrk starts its clock only after every thread's init)
function init(args)
    local prefix = os.getenv("BODIES")
    if not prefix then
        error("BODIES is not set")
    end
    local file = prefix .. ".t" .. tid
    f = assert(io.open(file, "r"))
    f:setvbuf("full", 1048576)
    if not f:read("*l") then
        error("no bodies in " .. file)
    end
    f:seek("set", 0)
    path = os.getenv("URL_PATH") or path
end

function request()
    local body = f:read("*l")
    if not body then
        wraps = wraps + 1
        f:seek("set", 0)
        body = f:read("*l")
    end
    return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
    local w = 0
    for _, t in ipairs(threads) do
        w = w + (tonumber(t:get("wraps")) or 0)
    end
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format(
        "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d errors=%d wraps=%d\n",
        summary.requests, summary.duration, summary.requests / secs,
        latency:percentile(50), latency:percentile(99), e.status,
        e.connect + e.read + e.write + e.timeout, w))
end
