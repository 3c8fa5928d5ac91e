/*
 * pgw_lua_pkey.c -- gw.crypto operations on keystore keys, by NAME
 * (pgw_keystore.c); key material never crosses into Lua.
 *
 *   sign(key_name, alg, data) -> base64 signature
 *   verify(key_name, alg, data, sig_base64) -> boolean
 *       alg "RSA2" / "SHA256withRSA"     RSA PKCS#1 v1.5, SHA-256
 *           "RSA"  / "SHA1withRSA"       RSA PKCS#1 v1.5, SHA-1
 *           "RSA-SHA512" / "SHA512withRSA"  RSA PKCS#1 v1.5, SHA-512
 *           "SM2"  / "SM3withSM2"        SM2 with SM3, user id
 *                                        "1234567812345678", DER signature
 *       verify takes a public key, a private key or an X.509 certificate
 *       (its public key) as the named key.
 *   rsa_oaep_encrypt(key_name, data) -> base64 | nil, err
 *       RSA-OAEP, SHA-1 and MGF1-SHA-1 (WeChat Pay v3 sensitive fields);
 *       the key may be a certificate, a public or a private key.
 *   cert_serial(key_name [, "hex"|"dec"]) -> string
 *       the serial of the certificate stored under key_name: "hex" (default)
 *       upper case, whole bytes, as `openssl x509 -serial` prints it (WeChat
 *       Pay v3 Wechatpay-Serial); "dec" decimal (UnionPay certId).
 *
 * A missing key, a key of the wrong type or an unknown algorithm is a Lua
 * error (the call fails: PROCESSING / not verified); a signature that is
 * malformed or does not match is simply false.  OpenSSL objects live only
 * inside the helpers below, which make no Lua call.
 */

#include <stdio.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "pgw_adapter.h"


#define PGW_SIG_MAX 1024          /* bytes: RSA up to 8192 bits */
#define PGW_SM2_ID  "1234567812345678"


struct pgw_sig_alg {
    const char *name;
    const char *alias;
    const char *md;             /* OpenSSL digest name */
    const char *keytype;        /* "RSA" or "SM2" */
};

static const struct pgw_sig_alg pgw_sig_algs[] = {
    {"RSA2", "SHA256withRSA", "SHA256", "RSA"},
    {"RSA", "SHA1withRSA", "SHA1", "RSA"},
    {"RSA-SHA512", "SHA512withRSA", "SHA512", "RSA"},
    {"SM2", "SM3withSM2", "SM3", "SM2"},
    {NULL, NULL, NULL, NULL}
};


static const struct pgw_sig_alg *
pgw_pkey_sig_alg(const char *name)
{
    const struct pgw_sig_alg *a;

    for (a = pgw_sig_algs; a->name != NULL; a++) {
        if (strcmp(name, a->name) == 0 || strcmp(name, a->alias) == 0) {
            return a;
        }
    }
    return NULL;
}


/* Signs or verifies with no Lua call while OpenSSL objects are alive.
 * Returns 1 ok / 0 mismatch (verify) / -1 error (err filled). */
static int
pgw_pkey_sig(EVP_PKEY *pkey, const struct pgw_sig_alg *alg, int do_sign, const char *data,
             size_t n, unsigned char *sig, size_t *siglen, char *err, size_t errlen)
{
    EVP_MD_CTX *ctx;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD *md;
    int sm2 = strcmp(alg->keytype, "SM2") == 0, rc = -1, ok;

    if (!EVP_PKEY_is_a(pkey, alg->keytype)) {
        snprintf(err, errlen, "not an %s key", alg->keytype);
        return -1;
    }
    if ((size_t) EVP_PKEY_get_size(pkey) > PGW_SIG_MAX) {
        snprintf(err, errlen, "key too large");
        return -1;
    }
    md = EVP_MD_fetch(NULL, alg->md, NULL);
    if (md == NULL) {
        snprintf(err, errlen, "%s not available", alg->md);
        return -1;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        EVP_MD_free(md);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (sm2) {
        /* the distinguishing id goes into Z before the first byte is hashed */
        pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (pctx == NULL || EVP_PKEY_CTX_set1_id(pctx, PGW_SM2_ID, strlen(PGW_SM2_ID)) != 1) {
            snprintf(err, errlen, "SM2 not available");
            goto done;
        }
        EVP_MD_CTX_set_pkey_ctx(ctx, pctx);
        ok = do_sign ? EVP_DigestSignInit(ctx, NULL, md, NULL, pkey)
                     : EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey);
    } else {
        EVP_PKEY_CTX *rctx = NULL;
        ok = (do_sign ? EVP_DigestSignInit(ctx, &rctx, md, NULL, pkey)
                      : EVP_DigestVerifyInit(ctx, &rctx, md, NULL, pkey)) == 1
             && EVP_PKEY_CTX_set_rsa_padding(rctx, RSA_PKCS1_PADDING) == 1;
    }
    if (ok != 1) {
        snprintf(err, errlen, do_sign ? "signing failed (is it a private key?)"
                                      : "cannot verify with this key");
        goto done;
    }
    if (do_sign) {
        size_t cap = PGW_SIG_MAX;
        if (EVP_DigestSign(ctx, sig, &cap, (const unsigned char *) data, n) != 1) {
            snprintf(err, errlen, "signing failed (is it a private key?)");
        } else {
            *siglen = cap;
            rc = 1;
        }
    } else {
        rc = EVP_DigestVerify(ctx, sig, *siglen, (const unsigned char *) data, n) == 1 ? 1 : 0;
    }

done:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_CTX_free(pctx);
    EVP_MD_free(md);
    return rc;
}


static int
pgw_pkey_sign(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *algname = luaL_checkstring(L, 2);
    size_t n, siglen = 0;
    const char *data = luaL_checklstring(L, 3, &n);
    const struct pgw_sig_alg *alg = pgw_pkey_sig_alg(algname);
    unsigned char sig[PGW_SIG_MAX];
    char err[256], out[PGW_SIG_MAX * 2];
    EVP_PKEY *pkey;

    if (alg == NULL) {
        return luaL_error(L, "crypto.sign: unknown algorithm '%s'", algname);
    }
    pkey = pgw_keystore_get(pgw_sbx_of(L)->keys, name, err, sizeof(err));
    if (pkey == NULL) {
        return luaL_error(L, "crypto.sign: %s", err);
    }
    if (pgw_pkey_sig(pkey, alg, 1, data, n, sig, &siglen, err, sizeof(err)) != 1) {
        return luaL_error(L, "crypto.sign: key '%s': %s", name, err);
    }
    pgw_b64_encode(sig, siglen, out);
    lua_pushstring(L, out);
    return 1;
}


static int
pgw_pkey_verify(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *algname = luaL_checkstring(L, 2);
    size_t n, blen, siglen = 0;
    const char *data = luaL_checklstring(L, 3, &n);
    const char *b64 = luaL_checklstring(L, 4, &blen);
    const struct pgw_sig_alg *alg = pgw_pkey_sig_alg(algname);
    unsigned char sig[PGW_SIG_MAX + 4];
    char err[256];
    EVP_PKEY *pkey;
    int rc;

    if (alg == NULL) {
        return luaL_error(L, "crypto.verify: unknown algorithm '%s'", algname);
    }
    pkey = pgw_keystore_get(pgw_sbx_of(L)->keys, name, err, sizeof(err));
    if (pkey == NULL) {
        return luaL_error(L, "crypto.verify: %s", err);
    }
    if (blen == 0 || blen > (PGW_SIG_MAX / 3) * 4 || pgw_b64_decode(b64, blen, sig, &siglen)
        != 0 || siglen == 0) {
        lua_pushboolean(L, 0);
        return 1;
    }
    rc = pgw_pkey_sig(pkey, alg, 0, data, n, sig, &siglen, err, sizeof(err));
    if (rc < 0) {
        return luaL_error(L, "crypto.verify: key '%s': %s", name, err);
    }
    lua_pushboolean(L, rc == 1);
    return 1;
}


/* RSA-OAEP (SHA-1, MGF1-SHA-1) with no Lua call: 0 / -1 + err. */
static int
pgw_pkey_oaep(EVP_PKEY *pkey, const unsigned char *in, size_t n, unsigned char *out,
              size_t *outlen, char *err, size_t errlen)
{
    EVP_PKEY_CTX *pctx;
    size_t cap = *outlen;
    int rc = -1;

    if (!EVP_PKEY_is_a(pkey, "RSA")) {
        snprintf(err, errlen, "not an RSA key");
        return -1;
    }
    if ((size_t) EVP_PKEY_get_size(pkey) > cap) {
        snprintf(err, errlen, "key too large");
        return -1;
    }
    if ((size_t) EVP_PKEY_get_size(pkey) < 42 || n > (size_t) EVP_PKEY_get_size(pkey) - 42) {
        snprintf(err, errlen, "data too long for RSA-OAEP with this key");
        return -1;
    }
    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (pctx == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (EVP_PKEY_encrypt_init(pctx) != 1
        || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) != 1
        || EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha1()) != 1
        || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha1()) != 1
        || EVP_PKEY_encrypt(pctx, out, &cap, in, n) != 1) {
        snprintf(err, errlen, "RSA-OAEP encryption failed");
    } else {
        *outlen = cap;
        rc = 0;
    }
    EVP_PKEY_CTX_free(pctx);
    return rc;
}


static int
pgw_pkey_rsa_oaep_encrypt(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    size_t n, outlen = PGW_SIG_MAX;
    const char *data = luaL_checklstring(L, 2, &n);
    unsigned char ct[PGW_SIG_MAX];
    char err[256], out[PGW_SIG_MAX * 2];
    EVP_PKEY *pkey;

    pkey = pgw_keystore_get(pgw_sbx_of(L)->keys, name, err, sizeof(err));
    if (pkey == NULL) {
        return luaL_error(L, "crypto.rsa_oaep_encrypt: %s", err);
    }
    if (pgw_pkey_oaep(pkey, (const unsigned char *) data, n, ct, &outlen, err, sizeof(err))
        != 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "crypto.rsa_oaep_encrypt: key '%s': %s", name, err);
        return 2;
    }
    pgw_b64_encode(ct, outlen, out);
    lua_pushstring(L, out);
    return 1;
}


static int
pgw_pkey_cert_serial(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *fmt = luaL_optstring(L, 2, "hex");
    int dec = strcmp(fmt, "dec") == 0;
    char err[256], out[512];
    BIGNUM *bn;
    char *s;
    X509 *cert;

    if (!dec && strcmp(fmt, "hex") != 0) {
        return luaL_error(L, "crypto.cert_serial: format must be \"hex\" or \"dec\"");
    }
    cert = pgw_keystore_cert(pgw_sbx_of(L)->keys, name, err, sizeof(err));
    if (cert == NULL) {
        return luaL_error(L, "crypto.cert_serial: %s", err);
    }
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    s = bn == NULL ? NULL : dec ? BN_bn2dec(bn) : BN_bn2hex(bn);
    if (s != NULL && strlen(s) + 2 < sizeof(out)) {
        /* BN_bn2hex prints whole bytes ("0ABC"), like openssl x509 -serial,
         * except that a zero serial is "0": make it "00" as OpenSSL prints it */
        out[0] = '0';
        memcpy(out + 1, s, strlen(s) + 1);
        if (dec || strcmp(s, "0") != 0) {
            memmove(out, out + 1, strlen(out));
        }
    } else {
        out[0] = '\0';
    }
    OPENSSL_free(s);
    BN_free(bn);
    if (out[0] == '\0') {
        return luaL_error(L, "crypto.cert_serial: key '%s': unreadable serial", name);
    }
    lua_pushstring(L, out);
    return 1;
}


void
pgw_lua_pkey_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"sign", pgw_pkey_sign},
        {"verify", pgw_pkey_verify},
        {"rsa_oaep_encrypt", pgw_pkey_rsa_oaep_encrypt},
        {"cert_serial", pgw_pkey_cert_serial},
        {NULL, NULL}
    };

    luaL_setfuncs(L, fns, 0);
}
