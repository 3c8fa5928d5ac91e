/*
 * pgw_lua_cipher.c -- symmetric ciphers for gw.crypto, on OpenSSL 3 EVP.
 *
 *   aes_gcm_encrypt(key, nonce, plaintext [, aad]) -> ciphertext .. tag(16)
 *   aes_gcm_decrypt(key, nonce, ciphertext_with_tag [, aad]) -> plaintext
 *   aes_ecb_encrypt(key, data) / aes_ecb_decrypt(key, data)     PKCS#7
 *   aes_cbc_encrypt(key, iv, data) / aes_cbc_decrypt(key, iv, data) PKCS#7
 *   sm4_ecb_encrypt(key, data) / sm4_ecb_decrypt(key, data)     PKCS#7
 *
 * Keys are raw bytes: AES 16/24/32 (AES-128/192/256 by length), SM4 16.
 * GCM nonces are 1..128 bytes (12 is the norm), the tag is always 16 bytes
 * and aad may be nil or "".  CBC IVs are 16 bytes.  Every data-dependent
 * problem (key/IV length, data length, bad padding, failed authentication,
 * SM4 missing from the provider) returns nil, err; only a non-string
 * argument raises.  Output is written into a Lua buffer allocated before
 * any OpenSSL object exists, and no Lua call happens while one does.  A
 * failed decryption wipes whatever partial plaintext was written.
 */

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pgw_adapter.h"


#define PGW_GCM_TAG       16
#define PGW_GCM_NONCE_MAX 128
#define PGW_BLOCK         16
#define PGW_CIPHER_MAX    ((size_t) INT_MAX - 64)


struct pgw_cipher_op {
    const char *alg;            /* OpenSSL name, e.g. "AES-256-GCM" */
    int enc;
    int pad;
    const unsigned char *key;
    const unsigned char *iv;
    size_t ivlen;
    const unsigned char *aad;
    size_t aadlen;
    const unsigned char *in;
    size_t inlen;
    unsigned char *out;
    size_t outlen;
    char err[128];
};


static const char *
pgw_cipher_aes_name(size_t klen, const char *mode, char *buf, size_t len)
{
    if (klen != 16 && klen != 24 && klen != 32) {
        return NULL;
    }
    snprintf(buf, len, "AES-%zu-%s", klen * 8, mode);
    return buf;
}


/* All OpenSSL work, no Lua: 0 ok / -1 with op->err. */
static int
pgw_cipher_run(struct pgw_cipher_op *op)
{
    EVP_CIPHER *c;
    EVP_CIPHER_CTX *ctx;
    int n = 0, fin = 0, gcm = strstr(op->alg, "GCM") != NULL, rc = -1;
    size_t inlen = op->inlen;
    unsigned char *tag = NULL;

    c = EVP_CIPHER_fetch(NULL, op->alg, NULL);
    if (c == NULL) {
        snprintf(op->err, sizeof(op->err), "%s not available",
                 strncmp(op->alg, "SM4", 3) == 0 ? "SM4" : op->alg);
        return -1;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        EVP_CIPHER_free(c);
        snprintf(op->err, sizeof(op->err), "out of memory");
        return -1;
    }
    if (gcm && !op->enc) {
        inlen -= PGW_GCM_TAG;
        tag = (unsigned char *) op->in + inlen;
    }

    if (EVP_CipherInit_ex2(ctx, c, NULL, NULL, op->enc, NULL) != 1
        || (gcm && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int) op->ivlen, NULL)
                   != 1)
        || EVP_CipherInit_ex2(ctx, NULL, op->key, op->iv, op->enc, NULL) != 1
        || EVP_CIPHER_CTX_set_padding(ctx, op->pad) != 1) {
        snprintf(op->err, sizeof(op->err), "cannot set up %s", op->alg);
        goto done;
    }
    if (gcm && op->aadlen > 0
        && EVP_CipherUpdate(ctx, NULL, &n, op->aad, (int) op->aadlen) != 1) {
        snprintf(op->err, sizeof(op->err), "%s: aad rejected", op->alg);
        goto done;
    }
    if (tag != NULL
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, PGW_GCM_TAG, tag) != 1) {
        snprintf(op->err, sizeof(op->err), "%s: tag rejected", op->alg);
        goto done;
    }
    n = 0;
    if (inlen > 0 && EVP_CipherUpdate(ctx, op->out, &n, op->in, (int) inlen) != 1) {
        snprintf(op->err, sizeof(op->err), "%s failed", op->alg);
        goto done;
    }
    if (EVP_CipherFinal_ex(ctx, op->out + n, &fin) != 1) {
        snprintf(op->err, sizeof(op->err), gcm ? "%s: authentication failed"
                 : op->enc ? "%s failed" : "%s: bad padding or wrong key", op->alg);
        goto done;
    }
    op->outlen = (size_t) n + (size_t) fin;
    if (gcm && op->enc) {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, PGW_GCM_TAG,
                                op->out + op->outlen) != 1) {
            snprintf(op->err, sizeof(op->err), "%s: no tag", op->alg);
            goto done;
        }
        op->outlen += PGW_GCM_TAG;
    }
    rc = 0;

done:
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return rc;
}


static int
pgw_cipher_fail(lua_State *L, const char *fn, const char *msg)
{
    luaL_pushfail(L);
    lua_pushfstring(L, "crypto.%s: %s", fn, msg);
    return 2;
}


/* Runs op with a Lua buffer of cap bytes as output; pushes the result. */
static int
pgw_cipher_push(lua_State *L, const char *fn, struct pgw_cipher_op *op, size_t cap)
{
    luaL_Buffer b;

    op->out = (unsigned char *) luaL_buffinitsize(L, &b, cap);
    if (pgw_cipher_run(op) != 0) {
        OPENSSL_cleanse(op->out, cap);
        luaL_pushresultsize(&b, 0);
        lua_pop(L, 1);
        return pgw_cipher_fail(L, fn, op->err);
    }
    if (!op->enc && op->outlen < cap) {
        OPENSSL_cleanse(op->out + op->outlen, cap - op->outlen);
    }
    luaL_pushresultsize(&b, op->outlen);
    return 1;
}


static int
pgw_cipher_gcm(lua_State *L, int enc)
{
    const char *fn = enc ? "aes_gcm_encrypt" : "aes_gcm_decrypt";
    struct pgw_cipher_op op;
    size_t klen;
    const char *key = luaL_checklstring(L, 1, &klen);
    char name[32];

    memset(&op, 0, sizeof(op));
    op.enc = enc;
    op.key = (const unsigned char *) key;
    op.iv = (const unsigned char *) luaL_checklstring(L, 2, &op.ivlen);
    op.in = (const unsigned char *) luaL_checklstring(L, 3, &op.inlen);
    op.aad = (const unsigned char *) luaL_optlstring(L, 4, "", &op.aadlen);
    op.alg = pgw_cipher_aes_name(klen, "GCM", name, sizeof(name));

    if (op.alg == NULL) {
        return pgw_cipher_fail(L, fn, "key must be 16, 24 or 32 bytes");
    }
    if (op.ivlen == 0 || op.ivlen > PGW_GCM_NONCE_MAX) {
        return pgw_cipher_fail(L, fn, "nonce must be 1..128 bytes");
    }
    if (op.inlen > PGW_CIPHER_MAX || op.aadlen > PGW_CIPHER_MAX) {
        return pgw_cipher_fail(L, fn, "data too large");
    }
    if (!enc && op.inlen < PGW_GCM_TAG) {
        return pgw_cipher_fail(L, fn, "ciphertext shorter than the 16-byte tag");
    }
    return pgw_cipher_push(L, fn, &op, op.inlen + PGW_GCM_TAG);
}

static int pgw_cipher_gcm_enc(lua_State *L) { return pgw_cipher_gcm(L, 1); }
static int pgw_cipher_gcm_dec(lua_State *L) { return pgw_cipher_gcm(L, 0); }


/* ECB and CBC with PKCS#7; family "AES" or "SM4", mode "ECB" or "CBC". */
static int
pgw_cipher_block(lua_State *L, const char *fn, const char *family, const char *mode,
                 int enc)
{
    struct pgw_cipher_op op;
    size_t klen;
    const char *key = luaL_checklstring(L, 1, &klen);
    int cbc = strcmp(mode, "CBC") == 0;
    char name[32];

    memset(&op, 0, sizeof(op));
    op.enc = enc;
    op.pad = 1;
    op.key = (const unsigned char *) key;
    if (cbc) {
        op.iv = (const unsigned char *) luaL_checklstring(L, 2, &op.ivlen);
    }
    op.in = (const unsigned char *) luaL_checklstring(L, cbc ? 3 : 2, &op.inlen);

    if (strcmp(family, "SM4") == 0) {
        if (klen != 16) {
            return pgw_cipher_fail(L, fn, "key must be 16 bytes");
        }
        snprintf(name, sizeof(name), "SM4-%s", mode);
        op.alg = name;
    } else {
        op.alg = pgw_cipher_aes_name(klen, mode, name, sizeof(name));
        if (op.alg == NULL) {
            return pgw_cipher_fail(L, fn, "key must be 16, 24 or 32 bytes");
        }
    }
    if (cbc && op.ivlen != PGW_BLOCK) {
        return pgw_cipher_fail(L, fn, "iv must be 16 bytes");
    }
    if (op.inlen > PGW_CIPHER_MAX) {
        return pgw_cipher_fail(L, fn, "data too large");
    }
    if (!enc && (op.inlen == 0 || op.inlen % PGW_BLOCK != 0)) {
        return pgw_cipher_fail(L, fn, "data is not a whole number of 16-byte blocks");
    }
    return pgw_cipher_push(L, fn, &op, op.inlen + PGW_BLOCK);
}

static int pgw_cipher_aes_ecb_enc(lua_State *L)
{
    return pgw_cipher_block(L, "aes_ecb_encrypt", "AES", "ECB", 1);
}

static int pgw_cipher_aes_ecb_dec(lua_State *L)
{
    return pgw_cipher_block(L, "aes_ecb_decrypt", "AES", "ECB", 0);
}

static int pgw_cipher_aes_cbc_enc(lua_State *L)
{
    return pgw_cipher_block(L, "aes_cbc_encrypt", "AES", "CBC", 1);
}

static int pgw_cipher_aes_cbc_dec(lua_State *L)
{
    return pgw_cipher_block(L, "aes_cbc_decrypt", "AES", "CBC", 0);
}

static int pgw_cipher_sm4_ecb_enc(lua_State *L)
{
    return pgw_cipher_block(L, "sm4_ecb_encrypt", "SM4", "ECB", 1);
}

static int pgw_cipher_sm4_ecb_dec(lua_State *L)
{
    return pgw_cipher_block(L, "sm4_ecb_decrypt", "SM4", "ECB", 0);
}


void
pgw_lua_cipher_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"aes_gcm_encrypt", pgw_cipher_gcm_enc},
        {"aes_gcm_decrypt", pgw_cipher_gcm_dec},
        {"aes_ecb_encrypt", pgw_cipher_aes_ecb_enc},
        {"aes_ecb_decrypt", pgw_cipher_aes_ecb_dec},
        {"aes_cbc_encrypt", pgw_cipher_aes_cbc_enc},
        {"aes_cbc_decrypt", pgw_cipher_aes_cbc_dec},
        {"sm4_ecb_encrypt", pgw_cipher_sm4_ecb_enc},
        {"sm4_ecb_decrypt", pgw_cipher_sm4_ecb_dec},
        {NULL, NULL}
    };

    luaL_setfuncs(L, fns, 0);
}
