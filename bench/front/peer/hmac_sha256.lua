-- hmac_sha256.lua — HMAC-SHA256 for the OpenResty-style peer, the way
-- lua-resty-hmac does it (Debian ships no resty.string / resty.hmac):
-- LuaJIT FFI straight into the libcrypto.so.3 that nginx already links,
-- one HMAC_CTX per worker, rekeyed with HMAC_Init_ex on every call (every
-- request may carry another app's key); hex through nginx's ngx_hex_dump,
-- as resty.string.to_hex does; base64 through ngx.encode_base64.

local ffi = require "ffi"
local ffi_new = ffi.new
local ffi_str = ffi.string
local C = ffi.C

ffi.cdef [[
typedef struct hmac_ctx_st HMAC_CTX;
typedef struct evp_md_st EVP_MD;
typedef struct engine_st ENGINE;

HMAC_CTX *HMAC_CTX_new(void);
void HMAC_CTX_free(HMAC_CTX *ctx);
int HMAC_Init_ex(HMAC_CTX *ctx, const void *key, int len, const EVP_MD *md,
                 ENGINE *impl);
int HMAC_Update(HMAC_CTX *ctx, const unsigned char *data, size_t len);
int HMAC_Final(HMAC_CTX *ctx, unsigned char *md, unsigned int *len);
const EVP_MD *EVP_sha256(void);
int RAND_bytes(unsigned char *buf, int num);

unsigned char *ngx_hex_dump(unsigned char *dst, const unsigned char *src,
                            size_t len);
]]

local crypto = ffi.load("libcrypto.so.3")
local sha256 = crypto.EVP_sha256()

local md = ffi_new("unsigned char[32]")
local md_len = ffi_new("unsigned int[1]")
local hex = ffi_new("unsigned char[64]")
local rnd = ffi_new("unsigned char[16]")

local ctx   -- one per worker, created on first use (after the fork)

local _M = {}

local function get_ctx()
    if ctx == nil then
        ctx = crypto.HMAC_CTX_new()
        if ctx == nil then
            error("HMAC_CTX_new failed")
        end
        ffi.gc(ctx, crypto.HMAC_CTX_free)
    end
    return ctx
end

local function init(key)
    local c = get_ctx()
    if crypto.HMAC_Init_ex(c, key, #key, sha256, nil) ~= 1 then
        error("HMAC_Init_ex failed")
    end
    return c
end

local function final(c)
    if crypto.HMAC_Final(c, md, md_len) ~= 1 then
        error("HMAC_Final failed")
    end
end

-- uppercase hex of HMAC-SHA256(key, msg)
function _M.hex_upper(key, msg)
    local c = init(key)
    crypto.HMAC_Update(c, msg, #msg)
    final(c)
    C.ngx_hex_dump(hex, md, 32)
    return ffi_str(hex, 64):upper()
end

-- base64(HMAC-SHA256(key, a \n b \n c \n)): the response signature
local nl = "\n"
function _M.b64_lines3(key, a, b, c3)
    local c = init(key)
    crypto.HMAC_Update(c, a, #a)
    crypto.HMAC_Update(c, nl, 1)
    crypto.HMAC_Update(c, b, #b)
    crypto.HMAC_Update(c, nl, 1)
    crypto.HMAC_Update(c, c3, #c3)
    crypto.HMAC_Update(c, nl, 1)
    final(c)
    return ngx.encode_base64(ffi_str(md, 32))
end

-- n random bytes as 2n lowercase hex characters (n <= 16)
function _M.random_hex(n)
    if crypto.RAND_bytes(rnd, n) ~= 1 then
        error("RAND_bytes failed")
    end
    C.ngx_hex_dump(hex, rnd, n)
    return ffi_str(hex, 2 * n)
end

return _M
