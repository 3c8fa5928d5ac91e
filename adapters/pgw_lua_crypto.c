/*
 * pgw_lua_crypto.c -- gw.crypto for packs, on OpenSSL 3 EVP.
 *
 *   sha256 / sha1 / sha512 / md5 / sm3 (data [, enc])
 *   hmac(alg, key, data [, enc]) with alg "sha1"|"sha256"|"sha512"|"md5"|"sm3"
 *       (case-insensitive: "SHA256" too)
 *   hmac_sha256(key, data [, enc])
 *       enc is "hex" (default, lowercase), "HEX", "base64" or "raw"
 *   base64_encode(s), base64_decode(s) -> s | nil, err
 *   hex_encode(s [, upper]), hex_decode(s) -> s | nil, err
 *   equals(a, b)  constant-time comparison (CRYPTO_memcmp) for MACs
 * The table also carries the symmetric ciphers (pgw_lua_cipher.c: AES-GCM,
 * AES-ECB/CBC, SM4-ECB) and the operations on keystore keys by name
 * (pgw_lua_pkey.c: sign, verify, rsa_oaep_encrypt, cert_serial, cert_info,
 * verify_chain).
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <lua.h>
#include <lauxlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "pgw_adapter.h"


static const EVP_MD *
pgw_crypto_md(const char *name)
{
    if (strcasecmp(name, "sha256") == 0) return EVP_sha256();
    if (strcasecmp(name, "sha1") == 0) return EVP_sha1();
    if (strcasecmp(name, "md5") == 0) return EVP_md5();
    if (strcasecmp(name, "sha512") == 0) return EVP_sha512();
    if (strcasecmp(name, "sm3") == 0) return EVP_sm3();
    return NULL;
}


static void
pgw_crypto_push_enc(lua_State *L, const unsigned char *d, size_t n, const char *enc)
{
    static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
    const char *digits = lower;
    luaL_Buffer b;
    size_t i;

    if (strcmp(enc, "raw") == 0) {
        lua_pushlstring(L, (const char *) d, n);
        return;
    }
    if (strcmp(enc, "base64") == 0) {
        char out[EVP_MAX_MD_SIZE * 2 + 4];
        if (pgw_b64_encoded_len(n) >= sizeof(out)) {
            luaL_error(L, "crypto: value too long for base64 here");
            return;
        }
        pgw_b64_encode(d, n, out);
        lua_pushstring(L, out);
        return;
    }
    if (strcmp(enc, "HEX") == 0) {
        digits = upper;
    } else if (strcmp(enc, "hex") != 0) {
        luaL_error(L, "crypto: encoding must be \"hex\", \"HEX\", \"base64\" or \"raw\"");
        return;
    }
    luaL_buffinit(L, &b);
    for (i = 0; i < n; i++) {
        luaL_addchar(&b, digits[d[i] >> 4]);
        luaL_addchar(&b, digits[d[i] & 15]);
    }
    luaL_pushresult(&b);
}


static int
pgw_crypto_digest(lua_State *L, const char *alg)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *enc = luaL_optstring(L, 2, "hex");
    const EVP_MD *md = pgw_crypto_md(alg);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outlen = 0;

    if (md == NULL || EVP_Digest(s, n, out, &outlen, md, NULL) != 1) {
        return luaL_error(L, "crypto: %s is not available", alg);
    }
    pgw_crypto_push_enc(L, out, outlen, enc);
    return 1;
}

static int pgw_crypto_sha256(lua_State *L) { return pgw_crypto_digest(L, "sha256"); }
static int pgw_crypto_sha1(lua_State *L) { return pgw_crypto_digest(L, "sha1"); }
static int pgw_crypto_sha512(lua_State *L) { return pgw_crypto_digest(L, "sha512"); }
static int pgw_crypto_md5(lua_State *L) { return pgw_crypto_digest(L, "md5"); }
static int pgw_crypto_sm3(lua_State *L) { return pgw_crypto_digest(L, "sm3"); }


static int
pgw_crypto_hmac_with(lua_State *L, const char *alg, int first)
{
    size_t klen, n;
    const char *key = luaL_checklstring(L, first, &klen);
    const char *s = luaL_checklstring(L, first + 1, &n);
    const char *enc = luaL_optstring(L, first + 2, "hex");
    const EVP_MD *md = pgw_crypto_md(alg);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outlen = 0;

    if (md == NULL) {
        return luaL_error(L, "crypto: unknown hmac algorithm '%s'", alg);
    }
    if (HMAC(md, key, (int) klen, (const unsigned char *) s, n, out, &outlen) == NULL) {
        return luaL_error(L, "crypto: hmac failed");
    }
    pgw_crypto_push_enc(L, out, outlen, enc);
    return 1;
}

static int pgw_crypto_hmac(lua_State *L)
{
    return pgw_crypto_hmac_with(L, luaL_checkstring(L, 1), 2);
}

static int pgw_crypto_hmac_sha256(lua_State *L) { return pgw_crypto_hmac_with(L, "sha256", 1); }


static int
pgw_crypto_b64enc(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, pgw_b64_encoded_len(n) + 1);

    pgw_b64_encode((const unsigned char *) s, n, out);
    luaL_pushresultsize(&b, pgw_b64_encoded_len(n));
    return 1;
}


static int
pgw_crypto_b64dec(lua_State *L)
{
    size_t n, o;
    const char *s = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    unsigned char *out = (unsigned char *) luaL_buffinitsize(L, &b, n * 3 / 4 + 3);

    if (pgw_b64_decode(s, n, out, &o) != 0) {
        luaL_pushresultsize(&b, 0);
        luaL_pushfail(L);
        lua_pushliteral(L, "crypto: invalid base64");
        return 2;
    }
    luaL_pushresultsize(&b, o);
    return 1;
}


static int
pgw_crypto_hexenc(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);

    pgw_crypto_push_enc(L, (const unsigned char *) s, n,
                        lua_toboolean(L, 2) ? "HEX" : "hex");
    return 1;
}


static int
pgw_crypto_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}


static int
pgw_crypto_hexdec(lua_State *L)
{
    size_t n, i;
    const char *s = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    char *out;

    if (n % 2 != 0) {
        luaL_pushfail(L);
        lua_pushliteral(L, "crypto: odd-length hex");
        return 2;
    }
    out = luaL_buffinitsize(L, &b, n / 2 + 1);
    for (i = 0; i < n; i += 2) {
        int h = pgw_crypto_hexval(s[i]), l = pgw_crypto_hexval(s[i + 1]);
        if (h < 0 || l < 0) {
            luaL_pushresultsize(&b, 0);
            luaL_pushfail(L);
            lua_pushliteral(L, "crypto: invalid hex");
            return 2;
        }
        out[i / 2] = (char) (h << 4 | l);
    }
    luaL_pushresultsize(&b, n / 2);
    return 1;
}


static int
pgw_crypto_equals(lua_State *L)
{
    size_t an, bn;
    const char *a = luaL_checklstring(L, 1, &an);
    const char *b = luaL_checklstring(L, 2, &bn);

    lua_pushboolean(L, an == bn && CRYPTO_memcmp(a, b, an) == 0);
    return 1;
}


int
pgw_luaopen_crypto(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"sha256", pgw_crypto_sha256},
        {"sha1", pgw_crypto_sha1},
        {"sha512", pgw_crypto_sha512},
        {"md5", pgw_crypto_md5},
        {"sm3", pgw_crypto_sm3},
        {"hmac", pgw_crypto_hmac},
        {"hmac_sha256", pgw_crypto_hmac_sha256},
        {"base64_encode", pgw_crypto_b64enc},
        {"base64_decode", pgw_crypto_b64dec},
        {"hex_encode", pgw_crypto_hexenc},
        {"hex_decode", pgw_crypto_hexdec},
        {"equals", pgw_crypto_equals},
        {NULL, NULL}
    };

    luaL_newlib(L, fns);
    pgw_lua_cipher_open(L);
    pgw_lua_pkey_open(L);
    return 1;
}
