/*
 * pgw_lua_crypto.c -- gw.crypto for packs, on OpenSSL 3 EVP.
 *
 *   sha256 / sha1 / md5 / sm3 (data [, "hex"|"HEX"|"raw"])  default lowercase hex
 *   hmac(alg, key, data [, enc]) with alg "sha256"|"sha1"|"md5"|"sha512"|"sm3"
 *   hmac_sha256(key, data [, enc])
 *   base64_encode(s), base64_decode(s) -> s | nil, err
 *   hex_encode(s [, upper]), hex_decode(s) -> s | nil, err
 *   equals(a, b)  constant-time comparison (CRYPTO_memcmp) for MACs
 *   sign(key_name, alg, data) -> base64 signature
 *   verify(key_name, alg, data, sig_base64) -> boolean
 *       alg "RSA2" = SHA256withRSA, "RSA" = SHA1withRSA, both RSA PKCS#1 v1.5
 *       (also accepted: "SHA256withRSA", "SHA1withRSA").
 * Keys are named, looked up in the pack's keystore (pgw_keystore.c); key
 * material never crosses into Lua.  A missing key or an unknown algorithm
 * is a Lua error (the call fails: PROCESSING / not verified); a signature
 * that is malformed or does not match is simply false.
 */

#include <stdio.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "pgw_adapter.h"


#define PGW_SIG_MAX 1024          /* bytes: RSA up to 8192 bits */


static const EVP_MD *
pgw_crypto_md(const char *name)
{
    if (strcmp(name, "sha256") == 0) return EVP_sha256();
    if (strcmp(name, "sha1") == 0) return EVP_sha1();
    if (strcmp(name, "md5") == 0) return EVP_md5();
    if (strcmp(name, "sha512") == 0) return EVP_sha512();
    if (strcmp(name, "sm3") == 0) return EVP_sm3();
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
    if (strcmp(enc, "HEX") == 0) {
        digits = upper;
    } else if (strcmp(enc, "hex") != 0) {
        luaL_error(L, "crypto: encoding must be \"hex\", \"HEX\" or \"raw\"");
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


static const EVP_MD *
pgw_crypto_sig_md(const char *alg)
{
    if (strcmp(alg, "RSA2") == 0 || strcmp(alg, "SHA256withRSA") == 0) {
        return EVP_sha256();
    }
    if (strcmp(alg, "RSA") == 0 || strcmp(alg, "SHA1withRSA") == 0) {
        return EVP_sha1();
    }
    return NULL;
}


/* Signs or verifies with no Lua call while OpenSSL objects are alive.
 * Returns 1 ok / 0 mismatch (verify) / -1 error (err filled). */
static int
pgw_crypto_rsa(EVP_PKEY *pkey, const EVP_MD *md, int do_sign, const char *data, size_t n,
               unsigned char *sig, size_t *siglen, char *err, size_t errlen)
{
    EVP_MD_CTX *ctx;
    EVP_PKEY_CTX *pctx = NULL;
    int rc = -1;

    if (!EVP_PKEY_is_a(pkey, "RSA")) {
        snprintf(err, errlen, "not an RSA key");
        return -1;
    }
    if ((size_t) EVP_PKEY_get_size(pkey) > PGW_SIG_MAX) {
        snprintf(err, errlen, "RSA key too large");
        return -1;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (do_sign) {
        size_t cap = PGW_SIG_MAX;
        if (EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey) != 1
            || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1
            || EVP_DigestSign(ctx, sig, &cap, (const unsigned char *) data, n) != 1) {
            snprintf(err, errlen, "signing failed (is it a private key?)");
        } else {
            *siglen = cap;
            rc = 1;
        }
    } else {
        if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pkey) != 1
            || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
            snprintf(err, errlen, "cannot verify with this key");
        } else {
            rc = EVP_DigestVerify(ctx, sig, *siglen, (const unsigned char *) data, n) == 1
                 ? 1 : 0;
        }
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}


static int
pgw_crypto_sign(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *alg = luaL_checkstring(L, 2);
    size_t n, siglen = 0;
    const char *data = luaL_checklstring(L, 3, &n);
    const EVP_MD *md = pgw_crypto_sig_md(alg);
    unsigned char sig[PGW_SIG_MAX];
    char err[256], out[PGW_SIG_MAX * 2];
    EVP_PKEY *pkey;

    if (md == NULL) {
        return luaL_error(L, "crypto.sign: unknown algorithm '%s'", alg);
    }
    pkey = pgw_keystore_get(pgw_sbx_of(L)->keys, name, err, sizeof(err));
    if (pkey == NULL) {
        return luaL_error(L, "crypto.sign: %s", err);
    }
    if (pgw_crypto_rsa(pkey, md, 1, data, n, sig, &siglen, err, sizeof(err)) != 1) {
        return luaL_error(L, "crypto.sign: key '%s': %s", name, err);
    }
    pgw_b64_encode(sig, siglen, out);
    lua_pushstring(L, out);
    return 1;
}


static int
pgw_crypto_verify(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *alg = luaL_checkstring(L, 2);
    size_t n, blen, siglen = 0;
    const char *data = luaL_checklstring(L, 3, &n);
    const char *b64 = luaL_checklstring(L, 4, &blen);
    const EVP_MD *md = pgw_crypto_sig_md(alg);
    unsigned char sig[PGW_SIG_MAX + 4];
    char err[256];
    EVP_PKEY *pkey;
    int rc;

    if (md == NULL) {
        return luaL_error(L, "crypto.verify: unknown algorithm '%s'", alg);
    }
    pkey = pgw_keystore_get(pgw_sbx_of(L)->keys, name, err, sizeof(err));
    if (pkey == NULL) {
        return luaL_error(L, "crypto.verify: %s", err);
    }
    if (blen == 0 || blen > (PGW_SIG_MAX / 3) * 4 || pgw_b64_decode(b64, blen, sig, &siglen)
        != 0) {
        lua_pushboolean(L, 0);
        return 1;
    }
    rc = pgw_crypto_rsa(pkey, md, 0, data, n, sig, &siglen, err, sizeof(err));
    if (rc < 0) {
        return luaL_error(L, "crypto.verify: key '%s': %s", name, err);
    }
    lua_pushboolean(L, rc == 1);
    return 1;
}


int
pgw_luaopen_crypto(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"sha256", pgw_crypto_sha256},
        {"sha1", pgw_crypto_sha1},
        {"md5", pgw_crypto_md5},
        {"sm3", pgw_crypto_sm3},
        {"hmac", pgw_crypto_hmac},
        {"hmac_sha256", pgw_crypto_hmac_sha256},
        {"base64_encode", pgw_crypto_b64enc},
        {"base64_decode", pgw_crypto_b64dec},
        {"hex_encode", pgw_crypto_hexenc},
        {"hex_decode", pgw_crypto_hexdec},
        {"equals", pgw_crypto_equals},
        {"sign", pgw_crypto_sign},
        {"verify", pgw_crypto_verify},
        {NULL, NULL}
    };

    luaL_newlib(L, fns);
    return 1;
}
