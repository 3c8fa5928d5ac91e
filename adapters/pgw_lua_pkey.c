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
 *   cert_info(key_name) -> { {serial_dec, serial_hex, issuer = {{"C", "CN"},
 *                             ...}, sig_alg_oid, subject_cn}, ... }
 *       the public fields of every certificate stored under key_name, in
 *       file order (a PEM bundle such as Alipay's alipayRootCert.crt holds
 *       several): issuer attributes in the certificate's order, named as
 *       @fidm/x509 names them (C, ST, L, O, OU, CN, E = emailAddress; else
 *       OpenSSL's short name or the dotted OID), values UTF-8; sig_alg_oid
 *       dotted (1.2.840.113549.1.1.11).  Alipay's certificate SN is built
 *       from these by the pack.
 *   verify_chain(cert_pem, root_name [, middle_name]) -> true, subject_cn
 *                                                     | false, err
 *       cert_pem (a PEM certificate received in a message, e.g. UnionPay's
 *       signPubKeyCert) must chain, by OpenSSL's X509_verify_cert, to the
 *       keystore certificate root_name (the only trust anchor) through the
 *       keystore certificate middle_name (when given: the leaf's issuer must
 *       be exactly that certificate), with every validity period holding at
 *       the sandbox clock (the fixtures' frozen clock, else now).  A
 *       self-signed leaf or the anchor itself never passes.  Nothing is
 *       fetched (no CRL, no AIA); no default trust store is read.  On success
 *       the leaf's first subject CN (UTF-8, "" if none) comes back for the
 *       pack's own name check.  A missing root / middle key is a Lua error.
 *   verify({cert = pem, root = name, middle = name?}, alg, data, sig)
 *       -> boolean [, err]
 *       verify with the public key of a received certificate: the same
 *       chain check as verify_chain first (false, err when it fails), so a
 *       pack cannot verify with a message's certificate without it.
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
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "pgw_adapter.h"


#define PGW_SIG_MAX 1024          /* bytes: RSA up to 8192 bits */
#define PGW_SM2_ID  "1234567812345678"
#define PGW_CERT_PEM_MAX (64 * 1024)   /* bytes of a received certificate */


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


/* A certificate received as PEM text, or NULL. */
static X509 *
pgw_pkey_pem_cert(const char *pem, size_t n)
{
    BIO *bio;
    X509 *x;

    if (n == 0 || n > PGW_CERT_PEM_MAX || memmem(pem, n, "CERTIFICATE-----", 16) == NULL) {
        return NULL;
    }
    bio = BIO_new_mem_buf(pem, (int) n);
    if (bio == NULL) {
        return NULL;
    }
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return x;
}


/* The first subject CN of x as UTF-8 into cn ("" if none). */
static void
pgw_pkey_subject_cn(X509 *x, char *cn, size_t cnlen)
{
    const X509_NAME *nm = X509_get_subject_name(x);
    int idx = nm != NULL ? X509_NAME_get_index_by_NID(nm, NID_commonName, -1) : -1;
    unsigned char *u = NULL;
    int len;

    cn[0] = '\0';
    if (idx < 0) {
        return;
    }
    len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, idx)));
    if (len > 0 && (size_t) len < cnlen && memchr(u, '\0', (size_t) len) == NULL) {
        memcpy(cn, u, (size_t) len);
        cn[len] = '\0';
    }
    OPENSSL_free(u);
}


/* Does leaf chain to root (the only trust anchor) through middle (may be
 * NULL: then directly)?  at >= 0: check validity at that time (seconds),
 * else now.  No Lua call.  1 yes (cn filled) / 0 no (err filled) / -1 error. */
static int
pgw_pkey_chain(X509 *leaf, X509 *root, X509 *middle, long long at, char *cn, size_t cnlen,
               char *err, size_t errlen)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    STACK_OF(X509) *chain;
    int rc = -1, want = middle != NULL ? 3 : 2;

    if (store == NULL || ctx == NULL || untrusted == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (X509_self_signed(leaf, 1) == 1) {
        snprintf(err, errlen, "the certificate is self-signed");
        rc = 0;
        goto done;
    }
    if (X509_STORE_add_cert(store, root) != 1
        || (middle != NULL && sk_X509_push(untrusted, middle) <= 0)
        || X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        snprintf(err, errlen, "cannot set up the chain check");
        goto done;
    }
    if (at >= 0) {
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t) at);
    }
    if (X509_verify_cert(ctx) != 1) {
        snprintf(err, errlen, "certificate chain: %s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        rc = 0;
        goto done;
    }
    chain = X509_STORE_CTX_get0_chain(ctx);
    if (chain == NULL || sk_X509_num(chain) != want
        || (middle != NULL && X509_cmp(sk_X509_value(chain, 1), middle) != 0)) {
        snprintf(err, errlen, "certificate chain: not issued through the configured %s",
                 middle != NULL ? "middle certificate" : "root");
        rc = 0;
        goto done;
    }
    pgw_pkey_subject_cn(leaf, cn, cnlen);
    rc = 1;

done:
    sk_X509_free(untrusted);        /* the middle stays the keystore's */
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}


/* The keystore anchors of a chain check, or a Lua error (misconfiguration). */
static void
pgw_pkey_anchors(lua_State *L, const char *fn, const char *root_name, const char *middle_name,
                 X509 **root, X509 **middle)
{
    struct pgw_keystore *ks = pgw_sbx_of(L)->keys;
    char err[256];

    *root = pgw_keystore_cert(ks, root_name, err, sizeof(err));
    if (*root == NULL) {
        luaL_error(L, "crypto.%s: root: %s", fn, err);
    }
    *middle = NULL;
    if (middle_name != NULL) {
        *middle = pgw_keystore_cert(ks, middle_name, err, sizeof(err));
        if (*middle == NULL) {
            luaL_error(L, "crypto.%s: middle: %s", fn, err);
        }
    }
}


static long long
pgw_pkey_check_time(lua_State *L)
{
    struct pgw_sbx *s = pgw_sbx_of(L);

    return s->clock_frozen ? s->frozen_ms / 1000 : -1;
}


/* Received PEM + anchors -> 1 (leaf returned, owned; cn filled) / 0 (err). */
static int
pgw_pkey_received_cert(const char *pem, size_t n, X509 *root, X509 *middle, long long at,
                       X509 **leaf, char *cn, size_t cnlen, char *err, size_t errlen)
{
    int rc;

    *leaf = pgw_pkey_pem_cert(pem, n);
    if (*leaf == NULL) {
        snprintf(err, errlen, "not a PEM certificate");
        return 0;
    }
    rc = pgw_pkey_chain(*leaf, root, middle, at, cn, cnlen, err, errlen);
    if (rc != 1) {
        X509_free(*leaf);
        *leaf = NULL;
        return 0;
    }
    return 1;
}


static int
pgw_pkey_verify_chain(lua_State *L)
{
    size_t n;
    const char *pem = luaL_checklstring(L, 1, &n);
    const char *root_name = luaL_checkstring(L, 2);
    const char *middle_name = luaL_optstring(L, 3, NULL);
    long long at = pgw_pkey_check_time(L);
    char err[256], cn[512];
    X509 *root, *middle, *leaf;

    if (middle_name != NULL && middle_name[0] == '\0') {
        middle_name = NULL;
    }
    pgw_pkey_anchors(L, "verify_chain", root_name, middle_name, &root, &middle);
    if (!pgw_pkey_received_cert(pem, n, root, middle, at, &leaf, cn, sizeof(cn), err,
                                sizeof(err))) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, err);
        return 2;
    }
    X509_free(leaf);
    lua_pushboolean(L, 1);
    lua_pushstring(L, cn);
    return 2;
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


/* verify({cert = pem, root = name, middle = name?}, alg, data, sig): the
 * received certificate's key, only once its chain checks out. */
static int
pgw_pkey_verify_received(lua_State *L, const struct pgw_sig_alg *alg, const char *data,
                         size_t n, unsigned char *sig, size_t siglen, int sig_ok)
{
    size_t plen = 0;
    const char *pem, *root_name, *middle_name;
    long long at = pgw_pkey_check_time(L);
    char err[256], cn[512];
    X509 *root, *middle, *leaf;
    int rc;

    lua_getfield(L, 1, "cert");
    lua_getfield(L, 1, "root");
    lua_getfield(L, 1, "middle");
    pem = lua_type(L, -3) == LUA_TSTRING ? lua_tolstring(L, -3, &plen) : NULL;
    root_name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    middle_name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (root_name == NULL) {
        return luaL_error(L, "crypto.verify: a certificate key needs root = <key name>");
    }
    if (middle_name != NULL && middle_name[0] == '\0') {
        middle_name = NULL;
    }
    pgw_pkey_anchors(L, "verify", root_name, middle_name, &root, &middle);
    if (pem == NULL) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "no certificate");
        return 2;
    }
    if (!pgw_pkey_received_cert(pem, plen, root, middle, at, &leaf, cn, sizeof(cn), err,
                                sizeof(err))) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, err);
        return 2;
    }
    rc = sig_ok ? pgw_pkey_sig(X509_get0_pubkey(leaf), alg, 0, data, n, sig, &siglen, err,
                               sizeof(err))
                : 0;
    X509_free(leaf);
    if (rc < 0) {
        lua_pushboolean(L, 0);
        lua_pushfstring(L, "received certificate: %s", err);
        return 2;
    }
    lua_pushboolean(L, rc == 1);
    return 1;
}


static int
pgw_pkey_verify(lua_State *L)
{
    int received = lua_type(L, 1) == LUA_TTABLE;
    const char *name = received ? NULL : luaL_checkstring(L, 1);
    const char *algname = luaL_checkstring(L, 2);
    size_t n, blen, siglen = 0;
    const char *data = luaL_checklstring(L, 3, &n);
    const char *b64 = luaL_checklstring(L, 4, &blen);
    const struct pgw_sig_alg *alg = pgw_pkey_sig_alg(algname);
    unsigned char sig[PGW_SIG_MAX + 4];
    char err[256];
    EVP_PKEY *pkey;
    int rc, sig_ok;

    if (alg == NULL) {
        return luaL_error(L, "crypto.verify: unknown algorithm '%s'", algname);
    }
    sig_ok = !(blen == 0 || blen > (PGW_SIG_MAX / 3) * 4
               || pgw_b64_decode(b64, blen, sig, &siglen) != 0 || siglen == 0);
    if (received) {
        return pgw_pkey_verify_received(L, alg, data, n, sig, siglen, sig_ok);
    }
    pkey = pgw_keystore_get(pgw_sbx_of(L)->keys, name, err, sizeof(err));
    if (pkey == NULL) {
        return luaL_error(L, "crypto.verify: %s", err);
    }
    if (!sig_ok) {
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


/* The serial of x as "hex" (upper case, whole bytes, as `openssl x509
 * -serial` prints it) or decimal into out; 0 / -1 (unreadable).  No Lua call. */
static int
pgw_pkey_serial_str(X509 *x, int dec, char *out, size_t outlen)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *s = bn == NULL ? NULL : dec ? BN_bn2dec(bn) : BN_bn2hex(bn);

    if (s != NULL && strlen(s) + 2 < outlen) {
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
    return out[0] != '\0' ? 0 : -1;
}


static int
pgw_pkey_cert_serial(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *fmt = luaL_optstring(L, 2, "hex");
    int dec = strcmp(fmt, "dec") == 0;
    char err[256], out[512];
    X509 *cert;

    if (!dec && strcmp(fmt, "hex") != 0) {
        return luaL_error(L, "crypto.cert_serial: format must be \"hex\" or \"dec\"");
    }
    cert = pgw_keystore_cert(pgw_sbx_of(L)->keys, name, err, sizeof(err));
    if (cert == NULL) {
        return luaL_error(L, "crypto.cert_serial: %s", err);
    }
    if (pgw_pkey_serial_str(cert, dec, out, sizeof(out)) != 0) {
        return luaL_error(L, "crypto.cert_serial: key '%s': unreadable serial", name);
    }
    lua_pushstring(L, out);
    return 1;
}


/* The short name of a name attribute as @fidm/x509 (alipay-sdk's
 * certificate reader) spells the usual ones -- C, ST, L, O, OU, CN, and "E"
 * for emailAddress -- else OpenSSL's short name, else the dotted OID. */
static void
pgw_pkey_attr_name(const ASN1_OBJECT *obj, char *out, size_t outlen)
{
    int nid = OBJ_obj2nid(obj);
    const char *sn = nid == NID_pkcs9_emailAddress ? "E"
                     : nid != NID_undef ? OBJ_nid2sn(nid) : NULL;

    if (sn != NULL) {
        snprintf(out, outlen, "%s", sn);
    } else if (OBJ_obj2txt(out, (int) outlen, obj, 1) <= 0) {
        out[0] = '\0';
    }
}


/* s as UTF-8 into out (NUL-free, truncated never: "" + length 0 when it
 * does not fit or cannot be converted, which no real issuer name does).
 * Returns the length.  No Lua call. */
static size_t
pgw_pkey_utf8(const ASN1_STRING *s, char *out, size_t outlen)
{
    unsigned char *u = NULL;
    int len = ASN1_STRING_to_UTF8(&u, s);
    size_t n = 0;

    if (len > 0 && (size_t) len < outlen) {
        memcpy(out, u, (size_t) len);
        n = (size_t) len;
    }
    out[n] = '\0';
    OPENSSL_free(u);
    return n;
}


/* Pushes {serial_dec, serial_hex, issuer = {{sn, value}, ...}, sig_alg_oid,
 * subject_cn} for x.  Every OpenSSL string is copied to the stack first, so
 * nothing OpenSSL allocated is alive across a Lua call (which may raise). */
static void
pgw_pkey_push_cert_info(lua_State *L, X509 *x)
{
    const X509_NAME *issuer = X509_get_issuer_name(x);
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *alg_obj = NULL;
    char buf[512], cn[512], value[1024];
    int i, n = issuer != NULL ? X509_NAME_entry_count(issuer) : 0;

    lua_createtable(L, 0, 5);
    if (pgw_pkey_serial_str(x, 1, buf, sizeof(buf)) == 0) {
        lua_pushstring(L, buf);
        lua_setfield(L, -2, "serial_dec");
    }
    if (pgw_pkey_serial_str(x, 0, buf, sizeof(buf)) == 0) {
        lua_pushstring(L, buf);
        lua_setfield(L, -2, "serial_hex");
    }
    /* the outer signatureAlgorithm: what alipay-sdk tests (it must equal
     * the TBS one in any certificate that verifies) */
    X509_get0_signature(NULL, &alg, x);
    if (alg != NULL) {
        X509_ALGOR_get0(&alg_obj, NULL, NULL, alg);
    }
    if (alg_obj == NULL || OBJ_obj2txt(buf, sizeof(buf), alg_obj, 1) <= 0) {
        buf[0] = '\0';
    }
    lua_pushstring(L, buf);
    lua_setfield(L, -2, "sig_alg_oid");
    pgw_pkey_subject_cn(x, cn, sizeof(cn));
    lua_pushstring(L, cn);
    lua_setfield(L, -2, "subject_cn");

    lua_createtable(L, n, 0);
    for (i = 0; i < n; i++) {
        X509_NAME_ENTRY *e = X509_NAME_get_entry(issuer, i);
        size_t vlen = pgw_pkey_utf8(X509_NAME_ENTRY_get_data(e), value, sizeof(value));

        pgw_pkey_attr_name(X509_NAME_ENTRY_get_object(e), buf, sizeof(buf));
        lua_createtable(L, 2, 0);
        lua_pushstring(L, buf);
        lua_rawseti(L, -2, 1);
        lua_pushlstring(L, value, vlen);
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "issuer");
}


/* cert_info(key_name) -> { {serial_dec, serial_hex, issuer, sig_alg_oid,
 * subject_cn}, ... }: one entry per certificate stored under key_name, in
 * file order (Alipay's root bundle holds several).  Certificates are public:
 * their fields may enter Lua; the keystore keeps the objects. */
static int
pgw_pkey_cert_info(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const STACK_OF(X509) *certs;
    char err[256];
    int i, n;

    certs = pgw_keystore_certs(pgw_sbx_of(L)->keys, name, err, sizeof(err));
    if (certs == NULL) {
        return luaL_error(L, "crypto.cert_info: %s", err);
    }
    n = sk_X509_num(certs);
    lua_createtable(L, n, 0);
    for (i = 0; i < n; i++) {
        pgw_pkey_push_cert_info(L, sk_X509_value(certs, i));
        lua_rawseti(L, -2, i + 1);
    }
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
        {"cert_info", pgw_pkey_cert_info},
        {"verify_chain", pgw_pkey_verify_chain},
        {NULL, NULL}
    };

    luaL_setfuncs(L, fns, 0);
}
