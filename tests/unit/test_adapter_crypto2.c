/*
 * test_adapter_crypto2.c -- the host functions added for the WeChat Pay,
 * UnionPay, Stripe, PayPal, Adyen, Razorpay, Square, Checkout.com, Mollie and
 * Paytm packs, driven from Lua in a real sandbox with known-answer vectors:
 * gw.secret from a temporary keystore, AES-GCM (NIST), AES-ECB/CBC
 * (NIST SP 800-38A + round trips), HMAC algorithms and encodings, SHA-512,
 * certificates (verify with a certificate, cert_serial), certificate chains
 * (verify_chain, verify with a received certificate: UnionPay's
 * signPubKeyCert), RSA-OAEP, SM2, SM4 (GB/T 32907) and gw.charset (iconv).
 * Run from the repository root (TEST-ONLY keys in tests/vectors/keys).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <lua.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "pgw_adapter.h"
#include "lua_harness.h"


static void
write_file(const char *dir, const char *name, const char *data, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}


static void
remove_file(const char *dir, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}


static void
test_secret_from_temp_keystore(void **state)
{
    char dir[] = "/tmp/pgw-secret-XXXXXX";
    struct pgw_keystore *tmp;

    (void) state;
    assert_non_null(mkdtemp(dir));
    write_file(dir, "apiv3.secret", "0123456789abcdef0123456789abcdef\n", 33);
    write_file(dir, "crlf.secret", "sk_test_abc\r\n", 13);
    write_file(dir, "plain.secret", "no-newline", 10);
    write_file(dir, "two.secret", "x\n\n", 3);
    write_file(dir, "bin.secret", "a\0b", 3);
    write_file(dir, "empty.secret", "\n", 1);
    write_file(dir, "nosuffix", "s3cr3t-content", 14);
    tmp = pgw_keystore_new(dir);
    assert_non_null(tmp);
    sbx->keys = tmp;

    expect("return gw.secret('apiv3')", "0123456789abcdef0123456789abcdef");
    expect("return #gw.secret('apiv3')", "32");
    expect("return gw.secret('crlf')", "sk_test_abc");
    expect("return gw.secret('plain')", "no-newline");
    expect("return gw.secret('two') == 'x\\n'", "true");       /* one newline only */
    expect("return gw.secret('bin') == 'a\\0b'", "true");
    /* cached: the file may go away, the pack version keeps its secret */
    remove_file(dir, "apiv3.secret");
    expect("return gw.secret('apiv3')", "0123456789abcdef0123456789abcdef");
    expect_error("return gw.secret('missing')", "secret 'missing' not found");
    expect_error("return gw.secret('nosuffix')", "'nosuffix' not found");
    expect_error("return gw.secret('empty')", "empty");
    expect_error("return gw.secret('../keys/x')", "invalid secret name");
    expect_error("return gw.secret('.hidden')", "invalid secret name");
    expect_error("return gw.secret()", "bad argument");
    /* the error never carries the content */
    {
        char out[1024];
        assert_int_equal(run("return gw.secret('nosuffix')", out, sizeof(out)), -1);
        assert_null(strstr(out, "s3cr3t"));
    }
    /* a secret used as an HMAC key (Stripe/Razorpay style) */
    expect("return gw.crypto.hmac('sha256', gw.secret('crlf'), 'payload')",
           "a7b15812f07fba5d6ee4b4ff3bbd847e9a0533c1e12e230a203b9ea3ff4efe53");

    sbx->keys = keys;
    pgw_keystore_free(tmp);
    remove_file(dir, "crlf.secret");
    remove_file(dir, "plain.secret");
    remove_file(dir, "two.secret");
    remove_file(dir, "bin.secret");
    remove_file(dir, "empty.secret");
    remove_file(dir, "nosuffix");
    rmdir(dir);
    /* no keystore at all */
    sbx->keys = NULL;
    expect_error("return gw.secret('apiv3')", "no keystore");
    sbx->keys = keys;
}


/* The GCM specification's test vectors (McGrew & Viega, as adopted by NIST
 * SP 800-38D validation): cases 1, 4 (AES-128) and 16 (AES-256). */
#define GCM_K4 "feffe9928665731c6d6a8f9467308308"
#define GCM_P4 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define GCM_A4 "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define GCM_IV4 "cafebabefacedbaddecaf888"
#define GCM_C4 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" \
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
#define GCM_T4 "5bc94fbc3221a5db94fae95ae7121a47"
#define GCM_C16 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" \
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
#define GCM_T16 "76fc6ece0f4e1768cddf8853bb2d551b"

#define HX "local h = gw.crypto.hex_decode local x = gw.crypto.hex_encode "


static void
test_aes_gcm_known_answers(void **state)
{
    (void) state;
    expect(HX "return x(gw.crypto.aes_gcm_encrypt(h('" GCM_K4 "'), h('" GCM_IV4 "'),"
           " h('" GCM_P4 "'), h('" GCM_A4 "')))", GCM_C4 GCM_T4);
    expect(HX "return x(gw.crypto.aes_gcm_decrypt(h('" GCM_K4 "'), h('" GCM_IV4 "'),"
           " h('" GCM_C4 GCM_T4 "'), h('" GCM_A4 "')))", GCM_P4);
    expect(HX "local k = h('" GCM_K4 GCM_K4 "')"
           " return x(gw.crypto.aes_gcm_encrypt(k, h('" GCM_IV4 "'), h('" GCM_P4 "'),"
           " h('" GCM_A4 "')))", GCM_C16 GCM_T16);
    /* case 1: empty plaintext, no aad (nil and "") */
    expect(HX "return x(gw.crypto.aes_gcm_encrypt(string.rep('\\0', 16),"
           " string.rep('\\0', 12), ''))", "58e2fccefa7e3061367f1d57a4e7455a");
    expect(HX "return gw.crypto.aes_gcm_decrypt(string.rep('\\0', 16), string.rep('\\0', 12),"
           " h('58e2fccefa7e3061367f1d57a4e7455a'), '')", "");
    /* a flipped bit in ciphertext, tag or aad: nil, err */
    expect(HX "local c = h('" GCM_C4 GCM_T4 "')"
           " c = string.char(c:byte(1) ~ 1) .. c:sub(2)"
           " local p, e = gw.crypto.aes_gcm_decrypt(h('" GCM_K4 "'), h('" GCM_IV4 "'), c,"
           " h('" GCM_A4 "')) return tostring(p) .. ' ' .. e",
           "nil crypto.aes_gcm_decrypt: AES-128-GCM: authentication failed");
    expect(HX "return gw.crypto.aes_gcm_decrypt(h('" GCM_K4 "'), h('" GCM_IV4 "'),"
           " h('" GCM_C4 GCM_T4 "'), 'other aad')", "nil");
    expect(HX "return gw.crypto.aes_gcm_decrypt(h('" GCM_K4 "'), h('" GCM_IV4 "'),"
           " h('" GCM_C4 GCM_T4 "'))", "nil");
    /* WeChat Pay v3 notify resource (AEAD_AES_256_GCM, APIv3 key, 12-byte nonce,
     * associated_data), ciphertext made with Python cryptography's AESGCM */
    expect("local r = {algorithm='AEAD_AES_256_GCM', nonce='fdasflkja484',"
           " associated_data='transaction', ciphertext="
           "'DUcclrHBE5NffFMk6pzEyhUOzEv805vSXVdOTWcxr669KE1ZsfUaWu+xWJDRToaFm60JTfuIXPEGBSOvnA=='}"
           " return gw.crypto.aes_gcm_decrypt('0123456789abcdef0123456789abcdef', r.nonce,"
           " gw.crypto.base64_decode(r.ciphertext), r.associated_data)",
           "{\"out_trade_no\":\"T1\",\"trade_state\":\"SUCCESS\"}");
    /* bad input: nil, err — never a crash */
    expect("return select(2, gw.crypto.aes_gcm_decrypt('short', 'n', string.rep('x', 20)))",
           "crypto.aes_gcm_decrypt: key must be 16, 24 or 32 bytes");
    expect("return select(2, gw.crypto.aes_gcm_decrypt(string.rep('k', 32), 'nonce', 'x'))",
           "crypto.aes_gcm_decrypt: ciphertext shorter than the 16-byte tag");
    expect("return select(2, gw.crypto.aes_gcm_encrypt(string.rep('k', 32), '', 'x'))",
           "crypto.aes_gcm_encrypt: nonce must be 1..128 bytes");
    expect_error("return gw.crypto.aes_gcm_encrypt(string.rep('k', 32), 'n', {})",
                 "bad argument");
    /* round trip with a 1-byte and a 60-byte nonce, 24-byte key */
    expect("local k = string.rep('K', 24) for _, n in ipairs({'1', string.rep('n', 60)}) do"
           " local c = gw.crypto.aes_gcm_encrypt(k, n, 'msg', 'aad')"
           " assert(#c == 3 + 16) assert(gw.crypto.aes_gcm_decrypt(k, n, c, 'aad') == 'msg')"
           " end return 'ok'", "ok");
}


/* NIST SP 800-38A F.1.1 (ECB-AES128) and F.2.1 (CBC-AES128), first block */
#define SP_K "2b7e151628aed2a6abf7158809cf4f3c"
#define SP_P "6bc1bee22e409f96e93d7e117393172a"


static void
test_aes_ecb_cbc(void **state)
{
    (void) state;
    /* 16 bytes in, PKCS#7 adds a full block: the first block is the vector */
    expect(HX "return x(gw.crypto.aes_ecb_encrypt(h('" SP_K "'), h('" SP_P "'))):sub(1, 32)",
           "3ad77bb40d7a3660a89ecaf32466ef97");
    expect(HX "return #gw.crypto.aes_ecb_encrypt(h('" SP_K "'), h('" SP_P "'))", "32");
    expect(HX "return x(gw.crypto.aes_cbc_encrypt(h('" SP_K "'),"
           " h('000102030405060708090a0b0c0d0e0f'), h('" SP_P "'))):sub(1, 32)",
           "7649abac8119b246cee98e9b12e9197d");
    /* WeChat Pay v2 refund notify req_info: AES-256-ECB, key = md5 hex of the
     * API key (ciphertext made with `openssl enc -aes-256-ecb`) */
    expect("local key = gw.crypto.md5('192006250b4c09247ec02edce69f6a2d')"
           " return gw.crypto.aes_ecb_decrypt(key, gw.crypto.base64_decode("
           "'WBzGpzQuNpcFxIlFjUUD9CdH4BF3YHmtiHaWV8j0mqDLQs/FUrjFmK+mli7+Iybd'))",
           "<root><out_refund_no>R1</out_refund_no></root>");
    /* Paytm: AES-128-CBC, IV "@@@@&&&&####$$$$" (`openssl enc -aes-128-cbc`) */
    expect("return gw.crypto.base64_encode(gw.crypto.aes_cbc_encrypt('abcdefghijklmnop',"
           " '@@@@&&&&####$$$$', 'hello paytm checksum'))",
           "P8mCwpopn5HEZlSayspGhhkcYQVHjZAXFFyE7AtQPsA=");
    expect("return gw.crypto.aes_cbc_decrypt('abcdefghijklmnop', '@@@@&&&&####$$$$',"
           " gw.crypto.base64_decode('P8mCwpopn5HEZlSayspGhhkcYQVHjZAXFFyE7AtQPsA='))",
           "hello paytm checksum");
    /* round trips over every length 0..40 and every key size */
    expect("for _, kl in ipairs({16, 24, 32}) do local k = string.rep('k', kl)"
           " for n = 0, 40 do local d = string.rep('d', n)"
           "  local e = gw.crypto.aes_ecb_encrypt(k, d)"
           "  assert(#e == (n // 16 + 1) * 16)"
           "  assert(gw.crypto.aes_ecb_decrypt(k, e) == d)"
           "  local c = gw.crypto.aes_cbc_encrypt(k, string.rep('i', 16), d)"
           "  assert(gw.crypto.aes_cbc_decrypt(k, string.rep('i', 16), c) == d)"
           " end end return 'ok'", "ok");
    /* bad input: nil, err */
    expect("return select(2, gw.crypto.aes_ecb_decrypt(string.rep('k', 16), 'abc'))",
           "crypto.aes_ecb_decrypt: data is not a whole number of 16-byte blocks");
    expect("return select(2, gw.crypto.aes_ecb_decrypt(string.rep('k', 16), ''))",
           "crypto.aes_ecb_decrypt: data is not a whole number of 16-byte blocks");
    expect("return select(2, gw.crypto.aes_ecb_encrypt(string.rep('k', 15), 'abc'))",
           "crypto.aes_ecb_encrypt: key must be 16, 24 or 32 bytes");
    expect("return select(2, gw.crypto.aes_cbc_encrypt(string.rep('k', 16), 'iv', 'abc'))",
           "crypto.aes_cbc_encrypt: iv must be 16 bytes");
    /* wrong key: the padding does not check out (or, rarely, garbage) —
     * never the plaintext */
    expect("local e = gw.crypto.aes_ecb_encrypt(string.rep('k', 16), 'secret text')"
           " local bad = 0 for i = 1, 50 do"
           "  local p = gw.crypto.aes_ecb_decrypt(string.rep(string.char(i), 16), e)"
           "  assert(p ~= 'secret text') if p == nil then bad = bad + 1 end end"
           " return bad > 40", "true");
    expect("local e = gw.crypto.aes_ecb_encrypt(string.rep('k', 16), 'x')"
           " return select(2, gw.crypto.aes_ecb_decrypt(string.rep('j', 16), e))",
           "crypto.aes_ecb_decrypt: AES-128-ECB: bad padding or wrong key");
}


static void
test_sm4_ecb(void **state)
{
    (void) state;
    /* GB/T 32907-2016 appendix A.1: key = plaintext = 0123456789abcdeffedcba9876543210
     * -> 681edf34d206965e86b3e94f536e4246; PKCS#7 then adds one block (the
     * whole output checked against `openssl enc -sm4-ecb`) */
    expect(HX "local k = h('0123456789abcdeffedcba9876543210')"
           " return x(gw.crypto.sm4_ecb_encrypt(k, k))",
           "681edf34d206965e86b3e94f536e4246002a8a4efa863ccad024ac0300bb40d2");
    expect(HX "local k = h('0123456789abcdeffedcba9876543210')"
           " return x(gw.crypto.sm4_ecb_decrypt(k,"
           " h('681edf34d206965e86b3e94f536e4246002a8a4efa863ccad024ac0300bb40d2')))",
           "0123456789abcdeffedcba9876543210");
    /* multi-block with a partial last block (`openssl enc -sm4-ecb`) */
    expect(HX "return x(gw.crypto.sm4_ecb_encrypt(h('0123456789abcdeffedcba9876543210'),"
           " 'SM4 multi-block plaintext, more than 32 bytes long!'))",
           "f75f69d9c79d72bbb8966480ab127bcc98a9c1d2c0dba80fbd13fb6ff777e933"
           "ca5c12b816041fa7d17ec4c3726b558b50364778264fd030b27114421f5a9da7");
    expect("local k = string.rep('s', 16) for n = 0, 33 do local d = string.rep('d', n)"
           " assert(gw.crypto.sm4_ecb_decrypt(k, gw.crypto.sm4_ecb_encrypt(k, d)) == d) end"
           " return 'ok'", "ok");
    expect("return select(2, gw.crypto.sm4_ecb_encrypt(string.rep('k', 32), 'x'))",
           "crypto.sm4_ecb_encrypt: key must be 16 bytes");
    expect("return select(2, gw.crypto.sm4_ecb_decrypt(string.rep('k', 16), 'x'))",
           "crypto.sm4_ecb_decrypt: data is not a whole number of 16-byte blocks");
}


static void
test_hmac_algorithms_and_encodings(void **state)
{
    (void) state;
    /* RFC 4231 test case 2 (HMAC-SHA-256/512), RFC 2202 case 2 (SHA-1, MD5) */
    expect("return gw.crypto.hmac('sha256', 'Jefe', 'what do ya want for nothing?')",
           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    expect("return gw.crypto.hmac('SHA256', 'Jefe', 'what do ya want for nothing?', 'HEX')",
           "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843");
    expect("return gw.crypto.hmac('Sha512', 'Jefe', 'what do ya want for nothing?')",
           "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
           "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
    expect("return gw.crypto.hmac('SHA1', 'Jefe', 'what do ya want for nothing?')",
           "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    expect("return gw.crypto.hmac('MD5', 'Jefe', 'what do ya want for nothing?')",
           "750c783e6ab0b503eaa86e310a5db738");
    /* HMAC-SM3 (`openssl dgst -sm3 -hmac Jefe`) */
    expect("return gw.crypto.hmac('SM3', 'Jefe', 'what do ya want for nothing?')",
           "2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882");
    /* base64 (Stripe-style hex, Adyen/Square/Shopify-style base64) and raw */
    expect("return gw.crypto.hmac('sha256', 'Jefe', 'what do ya want for nothing?', 'base64')",
           "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
    expect("return gw.crypto.hmac_sha256('Jefe', 'what do ya want for nothing?', 'base64')",
           "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
    expect("return #gw.crypto.hmac('sha512', 'k', 'd', 'raw')", "64");
    expect_error("return gw.crypto.hmac('sha384', 'k', 'd')", "unknown hmac algorithm");
    expect_error("return gw.crypto.hmac('sha256', 'k', 'd', 'Base64')", "encoding");
}


static void
test_sha512_and_digest_encodings(void **state)
{
    (void) state;
    expect("return gw.crypto.sha512('abc')",
           "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
           "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    expect("return #gw.crypto.sha512('abc', 'raw')", "64");
    expect("return gw.crypto.sha256('abc', 'base64')",
           "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
    expect("return gw.crypto.sm3('abc', 'HEX')",
           "66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0");
}


#define WX_MSG "1554208460\\n593BEC0C930BF1AFEB40B4A08C8FB242\\n{\"a\":1}\\n"
#define WX_SIG "VR5nnXdiEjjNdIEkEsVV+N0sz8ZYWY6dkCUmpeT28ca98gWVww2w1v9SODvfwkGa3abQQ4w/qabNr7r4PiBChulDZF7R1uSYSZYrGzYrffIajJvzA1A1D6JiHbmvKaXXgyVWPJ3+R2f2ZM5vf8+JUD2PBVKPS0kDmtpGwzlchyINVJlKj8yHErvakOrnjCHUWB7jcRsQQ/p2DbJtbYZAuQfdI91saNhoDfFQh0GWMQvctSlbRrcZfiK94B5XCxHN3/rZndcvqPxza5W2iVyhOeW6NsT6WAgL6ns/h/MTJUDjB52EAdYaGAhwTIfB4vqS3Gf1O8hrW6AwYQ9YPiJM7g=="
#define SHA512_SIG "TiuI7xI6vvYVhBblIzLy6jeqwP+cRCy50VFA4jKN6m8XDbyBYnp5MeR8a1Dt6IUwh0smnmFmJ148oDphKiRzxaxkoDVmQbfLd2H9Ea2JREXnhXEKueloGPX50LtzqxuZSJLWzcQ5ARp9eep/ygEWqO59R0oAwPRfglHHqp4cu4+e9b8EpTvKdoU6ZBZXJeex7yei1CYERwO979mJ0sM9skUukdl8pO6fflxmgE074mD10rAF1ffKGi2zMh5sqaeGIYxBA9meF1Cd0bHZR2EeE3BZHvWo+sISQn8q2ehWqbkrORgVDG59zSaNyFfQE4NeYvkIPRDY66mwNzUgrPCm4g=="


static void
test_certificates_verify_and_serial(void **state)
{
    (void) state;
    /* WeChat Pay v3 style: RSA2 over "ts\nnonce\nbody\n", signed by
     * `openssl dgst -sha256 -sign`, verified with the platform CERTIFICATE */
    expect("return gw.crypto.verify('wxpay_test_platform_cert', 'RSA2', '" WX_MSG "', '"
           WX_SIG "')", "true");
    expect("return gw.crypto.verify('wxpay_test_platform_cert', 'RSA2', '" WX_MSG "x', '"
           WX_SIG "')", "false");
    expect("return gw.crypto.verify('v13_test_public', 'RSA2', '" WX_MSG "', '" WX_SIG "')",
           "false");
    /* a private key verifies too (its public half) */
    expect("return gw.crypto.verify('wxpay_test_platform_private', 'RSA2', '" WX_MSG "', '"
           WX_SIG "')", "true");
    /* a certificate has no private key: it cannot sign */
    expect_error("return gw.crypto.sign('wxpay_test_platform_cert', 'RSA2', 'x')",
                 "signing failed");
    /* serials: WeChat "hex" as openssl x509 -serial prints it, UnionPay "dec" */
    expect("return gw.crypto.cert_serial('wxpay_test_platform_cert')", "1234ABCD5678EF9001");
    expect("return gw.crypto.cert_serial('wxpay_test_platform_cert', 'hex')",
           "1234ABCD5678EF9001");
    expect("return gw.crypto.cert_serial('wxpay_test_platform_cert', 'dec')",
           "335836746209041551361");
    expect("return gw.crypto.cert_serial('serial_0abc_test_cert')", "0ABC");
    expect("return gw.crypto.cert_serial('serial_0abc_test_cert', 'dec')", "2748");
    expect("return gw.crypto.cert_serial('sm2_test_cert', 'dec')", "69026276696");
    expect_error("return gw.crypto.cert_serial('v13_test_public')", "not a certificate");
    expect_error("return gw.crypto.cert_serial('no_such_cert')", "not found");
    expect_error("return gw.crypto.cert_serial('wxpay_test_platform_cert', 'b64')", "format");
    /* RSA-SHA512: signature made by `openssl dgst -sha512 -sign`, and a round trip */
    expect("return gw.crypto.sign('v13_test_private', 'RSA-SHA512', 'sha512 message')",
           SHA512_SIG);
    expect("return gw.crypto.verify('v13_test_public', 'SHA512withRSA', 'sha512 message', '"
           SHA512_SIG "')", "true");
    expect("return gw.crypto.verify('v13_test_public', 'RSA2', 'sha512 message', '"
           SHA512_SIG "')", "false");
}


/* Runs `tail` after `local leaf = <PEM of tests/vectors/keys/<file>>`. */
static void
chain_body(const char *file, const char *tail, char *code, size_t codelen)
{
    char path[512], pem[8192];
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "tests/vectors/keys/%s", file);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(pem, 1, sizeof(pem) - 1, f);
    fclose(f);
    assert_true(n > 0 && n < sizeof(pem) - 1);
    pem[n] = '\0';
    snprintf(code, codelen, "local leaf = [==[%s]==] %s", pem, tail);
}


static void
chain_expect(const char *file, const char *tail, const char *want)
{
    char code[12288];

    chain_body(file, tail, code, sizeof(code));
    expect_prefix(code, want);
}


static void
chain_expect_error(const char *file, const char *tail, const char *needle)
{
    char code[12288];

    chain_body(file, tail, code, sizeof(code));
    expect_error(code, needle);
}


#define CHAIN "local ok, e = gw.crypto.verify_chain(leaf, "
#define SHOW  ") return tostring(ok) .. '|' .. tostring(e)"
#define ROOT_MIDDLE "'chain_test_root_cert', 'chain_test_middle_cert'"

static void
test_certificate_chain(void **state)
{
    (void) state;
    /* root -> middle -> leaf, made by tests/vectors/unionpay_acp/gen_chain.py */
    chain_expect("chain_test_leaf_cert.pem", CHAIN ROOT_MIDDLE SHOW,
                 "true|041@Z12@\xe4\xb8\xad\xe5\x9b\xbd\xe9\x93\xb6\xe8\x81\x94"
                 "\xe8\x82\xa1\xe4\xbb\xbd\xe6\x9c\x89\xe9\x99\x90\xe5\x85\xac"
                 "\xe5\x8f\xb8@00000001");
    /* another root: the only trust anchor is the configured one */
    chain_expect("chain_test_leaf_cert.pem",
                 CHAIN "'chain_test_other_root_cert', 'chain_test_middle_cert'" SHOW,
                 "false|certificate chain: ");
    /* the middle is required to reach the root */
    chain_expect("chain_test_leaf_cert.pem", CHAIN "'chain_test_root_cert'" SHOW,
                 "false|certificate chain: unable to get local issuer");
    /* expired (2019..2021) */
    chain_expect("chain_test_expired_cert.pem", CHAIN ROOT_MIDDLE SHOW,
                 "false|certificate chain: certificate has expired");
    /* a self-signed leaf with UnionPay's name */
    chain_expect("chain_test_selfsigned_cert.pem", CHAIN ROOT_MIDDLE SHOW,
                 "false|the certificate is self-signed");
    /* the anchors themselves are no signing certificate */
    chain_expect("chain_test_root_cert.pem", CHAIN ROOT_MIDDLE SHOW,
                 "false|the certificate is self-signed");
    chain_expect("chain_test_middle_cert.pem", CHAIN ROOT_MIDDLE SHOW,
                 "false|certificate chain: not issued through the configured middle");
    /* not a certificate */
    expect("local ok, e = gw.crypto.verify_chain('garbage', " ROOT_MIDDLE SHOW,
           "false|not a PEM certificate");
    expect("local ok, e = gw.crypto.verify_chain('-----BEGIN CERTIFICATE-----\\nAAAA\\n"
           "-----END CERTIFICATE-----\\n', " ROOT_MIDDLE SHOW, "false|not a PEM certificate");
    /* misconfigured anchors are errors, not "false" */
    chain_expect_error("chain_test_leaf_cert.pem", CHAIN "'no_such_root'" SHOW, "root:");
    chain_expect_error("chain_test_leaf_cert.pem", CHAIN "'v13_test_public'" SHOW,
                       "not a certificate");
    chain_expect_error("chain_test_leaf_cert.pem",
                       CHAIN "'chain_test_root_cert', 'no_such_middle'" SHOW, "middle:");
    /* the sandbox clock decides validity: frozen (fixtures) before the leaf's
     * notBefore (2020) it is not valid yet; inside 2019..2021 the expired one is */
    sbx->clock_frozen = 1;
    sbx->frozen_ms = 1559347200000LL;                       /* 2019-06-01 */
    chain_expect("chain_test_leaf_cert.pem", CHAIN ROOT_MIDDLE SHOW,
                 "false|certificate chain: certificate is not yet valid");
    sbx->frozen_ms = 1590969600000LL;                       /* 2020-06-01 */
    chain_expect("chain_test_expired_cert.pem", CHAIN ROOT_MIDDLE SHOW, "true|041@Z12@");
    sbx->clock_frozen = 0;

    /* verify with the received certificate, only through the chain check */
    chain_expect("chain_test_leaf_cert.pem",
                 "local s = gw.crypto.sign('chain_test_leaf_private', 'RSA2', 'msg')"
                 " local k = {cert = leaf, root = 'chain_test_root_cert',"
                 "            middle = 'chain_test_middle_cert'}"
                 " return tostring(gw.crypto.verify(k, 'RSA2', 'msg', s))"
                 " .. tostring(gw.crypto.verify(k, 'RSA2', 'msgx', s))"
                 " .. tostring(gw.crypto.verify(k, 'RSA2', 'msg', 'AAAA'))",
                 "truefalsefalse");
    chain_expect("chain_test_leaf_cert.pem",
                 "local s = gw.crypto.sign('chain_test_leaf_private', 'RSA2', 'msg')"
                 " local ok, e = gw.crypto.verify({cert = leaf, root ="
                 " 'chain_test_other_root_cert', middle = 'chain_test_middle_cert'},"
                 " 'RSA2', 'msg', s" SHOW, "false|certificate chain: ");
    chain_expect("chain_test_selfsigned_cert.pem",
                 "local s = gw.crypto.sign('chain_test_leaf_private', 'RSA2', 'msg')"
                 " local ok, e = gw.crypto.verify({cert = leaf, root = 'chain_test_root_cert',"
                 " middle = 'chain_test_middle_cert'}, 'RSA2', 'msg', s" SHOW,
                 "false|the certificate is self-signed");
    chain_expect("chain_test_expired_cert.pem",
                 "local s = gw.crypto.sign('chain_test_leaf_private', 'RSA2', 'msg')"
                 " local ok, e = gw.crypto.verify({cert = leaf, root = 'chain_test_root_cert',"
                 " middle = 'chain_test_middle_cert'}, 'RSA2', 'msg', s" SHOW,
                 "false|certificate chain: certificate has expired");
    expect("local ok, e = gw.crypto.verify({root = 'chain_test_root_cert'}, 'RSA2', 'm', 'AAAA'"
           SHOW, "false|no certificate");
    chain_expect_error("chain_test_leaf_cert.pem",
                       "return gw.crypto.verify({cert = leaf}, 'RSA2', 'm', 'AAAA')",
                       "needs root");
    /* an SM2 signature cannot come from an RSA certificate */
    chain_expect("chain_test_leaf_cert.pem",
                 "local ok, e = gw.crypto.verify({cert = leaf, root = 'chain_test_root_cert',"
                 " middle = 'chain_test_middle_cert'}, 'SM2', 'm', 'AAAA'" SHOW,
                 "false|received certificate: not an SM2 key");
}


/* Decrypts base64 RSA-OAEP (SHA-1/MGF1-SHA-1) with a keystore private key. */
static int
oaep_decrypt(const char *keyname, const char *b64, char *out, size_t *outlen)
{
    char err[256];
    unsigned char ct[1024];
    size_t ctlen = 0;
    EVP_PKEY *pkey = pgw_keystore_get(keys, keyname, err, sizeof(err));
    EVP_PKEY_CTX *pctx;
    int rc = -1;

    if (pkey == NULL || strlen(b64) > 1300 || pgw_b64_decode(b64, strlen(b64), ct, &ctlen) != 0) {
        return -1;
    }
    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (pctx != NULL && EVP_PKEY_decrypt_init(pctx) == 1
        && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) == 1
        && EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha1()) == 1
        && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha1()) == 1
        && EVP_PKEY_decrypt(pctx, (unsigned char *) out, outlen, ct, ctlen) == 1) {
        rc = 0;
    }
    EVP_PKEY_CTX_free(pctx);
    return rc;
}


static void
test_rsa_oaep_encrypt(void **state)
{
    static const char *const pairs[][2] = {
        {"wxpay_test_platform_cert", "wxpay_test_platform_private"},   /* certificate */
        {"v13_test_public", "v13_test_private"},                       /* SPKI */
        {"alipay_fixture_platform_public", "alipay_fixture_platform_private"}, /* bare b64 */
    };
    char out[8192], plain[1024];
    size_t i, plen;

    (void) state;
    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "return gw.crypto.rsa_oaep_encrypt('%s', '\xe5\xbc\xa0\xe4\xb8\x89')",
                 pairs[i][0]);
        assert_int_equal(run(body, out, sizeof(out)), 0);
        assert_int_equal(strlen(out), 344);              /* 256 bytes, base64 */
        plen = sizeof(plain);
        assert_int_equal(oaep_decrypt(pairs[i][1], out, plain, &plen), 0);
        assert_int_equal(plen, 6);
        assert_memory_equal(plain, "\xe5\xbc\xa0\xe4\xb8\x89", 6);   /* 张三 */
    }
    /* OAEP is randomised: two encryptions differ */
    expect("return gw.crypto.rsa_oaep_encrypt('v13_test_public', 'x')"
           " ~= gw.crypto.rsa_oaep_encrypt('v13_test_public', 'x')", "true");
    /* 2048-bit key: at most 256 - 42 = 214 bytes */
    expect("return #gw.crypto.rsa_oaep_encrypt('v13_test_public', string.rep('a', 214))",
           "344");
    expect("return select(2, gw.crypto.rsa_oaep_encrypt('v13_test_public',"
           " string.rep('a', 215)))",
           "crypto.rsa_oaep_encrypt: key 'v13_test_public': data too long for RSA-OAEP with"
           " this key");
    expect("return select(2, gw.crypto.rsa_oaep_encrypt('sm2_test_public', 'x'))",
           "crypto.rsa_oaep_encrypt: key 'sm2_test_public': not an RSA key");
    expect_error("return gw.crypto.rsa_oaep_encrypt('no_such_key', 'x')", "not found");
}


/* SM2 signatures made by the openssl CLI over "hello sm2" with
 * distid 1234567812345678 (pkeyutl -rawin -digest sm3, and dgst -sm3) */
#define SM2_CLI_SIG1 "MEYCIQCGsR38LBblIGenlx/J2nxH7txL5OCQrUqET6weWQSxdgIhAKX7QzY5sRV3LgT4+3YANN+JAppX0rw2lSvcEQ4LBxY4"
#define SM2_CLI_SIG2 "MEUCIDeO3PRgs/Bc+psTroXzQ6LhEnYLRFlL5+nbOIheSgwBAiEA9Hy6ZXdQhVoRh+C/xqS/BItQRTCRR5OJWXWY8jVqwQA="


static void
test_sm2_sign_verify(void **state)
{
    (void) state;
    expect("return gw.crypto.verify('sm2_test_public', 'SM2', 'hello sm2', '" SM2_CLI_SIG1 "')",
           "true");
    expect("return gw.crypto.verify('sm2_test_cert', 'SM2', 'hello sm2', '" SM2_CLI_SIG2 "')",
           "true");
    expect("return gw.crypto.verify('sm2_test_public', 'SM3withSM2', 'hello sm3', '"
           SM2_CLI_SIG1 "')", "false");
    /* sign -> verify round trip with the public key, the certificate, the
     * private key; signatures are randomised and DER (<= 72 bytes) */
    expect("local s = gw.crypto.sign('sm2_test_private', 'SM2', 'order=1&amount=100')"
           " local raw = gw.crypto.base64_decode(s)"
           " assert(raw:byte(1) == 0x30 and #raw <= 72)"
           " assert(s ~= gw.crypto.sign('sm2_test_private', 'SM2', 'order=1&amount=100'))"
           " return tostring(gw.crypto.verify('sm2_test_public', 'SM2', 'order=1&amount=100', s))"
           " .. tostring(gw.crypto.verify('sm2_test_cert', 'SM2', 'order=1&amount=100', s))"
           " .. tostring(gw.crypto.verify('sm2_test_private', 'SM2', 'order=1&amount=100', s))"
           " .. tostring(gw.crypto.verify('sm2_test_cert', 'SM2', 'order=1&amount=101', s))",
           "truetruetruefalse");
    /* garbage signatures are false, not errors */
    expect("return gw.crypto.verify('sm2_test_public', 'SM2', 'x', 'AAAA')", "false");
    expect("return gw.crypto.verify('sm2_test_public', 'SM2', 'x', '" SM2_CLI_SIG1 "x')",
           "false");
    /* key/algorithm mismatches raise */
    expect_error("return gw.crypto.sign('v13_test_private', 'SM2', 'x')", "not an SM2 key");
    expect_error("return gw.crypto.sign('sm2_test_private', 'RSA2', 'x')", "not an RSA key");
    expect_error("return gw.crypto.verify('sm2_test_cert', 'RSA2', 'x', 'AAAA')",
                 "not an RSA key");
    expect_error("return gw.crypto.sign('sm2_test_public', 'SM2', 'x')", "signing failed");
}


#define ZHONGWEN "\xe4\xb8\xad\xe6\x96\x87"          /* 中文 in UTF-8 */


static void
test_charset_iconv(void **state)
{
    (void) state;
    /* 中文 <-> GBK d6d0 cec4 (also GB2312, GB18030) */
    expect("return gw.crypto.hex_encode(gw.charset.from_utf8('" ZHONGWEN "', 'GBK'))",
           "d6d0cec4");
    expect("return gw.charset.to_utf8(gw.crypto.hex_decode('d6d0cec4'), 'GBK')", ZHONGWEN);
    expect("return gw.charset.to_utf8(gw.charset.from_utf8('" ZHONGWEN "', 'gb2312'),"
           " 'GB2312')", ZHONGWEN);
    expect("return gw.charset.to_utf8(gw.charset.from_utf8('" ZHONGWEN "abc', 'GB18030'),"
           " 'GB18030')", ZHONGWEN "abc");
    /* € is a2e3 in GB18030; U+00E9 is e9 in ISO-8859-1 */
    expect("return gw.crypto.hex_encode(gw.charset.from_utf8('\xe2\x82\xac', 'GB18030'))",
           "a2e3");
    expect("return gw.crypto.hex_encode(gw.charset.from_utf8('caf\xc3\xa9', 'ISO-8859-1'))",
           "636166e9");
    expect("return gw.charset.to_utf8('caf\\xe9', 'ISO-8859-1')", "caf\xc3\xa9");
    expect("return gw.charset.to_utf8('', 'GBK')", "");
    /* a long text forces the output buffer to grow (GBK 2 bytes -> UTF-8 3) */
    expect("local g = string.rep(gw.crypto.hex_decode('d6d0cec4'), 5000)"
           " local u = gw.charset.to_utf8(g, 'GBK')"
           " return #u == 30000 and gw.charset.from_utf8(u, 'GBK') == g", "true");
    /* invalid input: nil, err — never replaced or dropped */
    expect("return select(2, gw.charset.to_utf8('ab\\xff\\xff', 'GBK'))",
           "charset.to_utf8: invalid or unrepresentable GBK input at byte 2");
    expect("return select(2, gw.charset.to_utf8('ab\\xd6', 'GBK'))",
           "charset.to_utf8: incomplete GBK character at byte 2");
    expect("return select(2, gw.charset.from_utf8('ok\\xe4\\xb8', 'GBK'))",
           "charset.from_utf8: incomplete UTF-8 character at byte 2");
    expect("return select(2, gw.charset.from_utf8('\\xc0\\xaf', 'GBK'))",
           "charset.from_utf8: invalid or unrepresentable UTF-8 input at byte 0");
    expect("return select(2, gw.charset.from_utf8('" ZHONGWEN "', 'ISO-8859-1'))",
           "charset.from_utf8: invalid or unrepresentable UTF-8 input at byte 0");
    expect("return gw.charset.from_utf8('" ZHONGWEN "', 'ISO-8859-1')", "nil");
    /* names: no //TRANSLIT or //IGNORE, unknown charsets */
    expect("return select(2, gw.charset.from_utf8('x', 'ASCII//TRANSLIT'))",
           "charset.from_utf8: invalid charset name");
    expect("return select(2, gw.charset.from_utf8('x', 'GBK//IGNORE'))",
           "charset.from_utf8: invalid charset name");
    expect("return select(2, gw.charset.to_utf8('x', ''))",
           "charset.to_utf8: invalid charset name");
    expect_prefix("return select(2, gw.charset.to_utf8('x', 'NO-SUCH-CHARSET'))",
                  "charset.to_utf8: unknown charset conversion");
    expect_error("return gw.charset.to_utf8({}, 'GBK')", "bad argument");
    expect_error("return gw.charset.to_utf8('x')", "bad argument");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_from_temp_keystore),
        cmocka_unit_test(test_aes_gcm_known_answers),
        cmocka_unit_test(test_aes_ecb_cbc),
        cmocka_unit_test(test_hmac_algorithms_and_encodings),
        cmocka_unit_test(test_sha512_and_digest_encodings),
        cmocka_unit_test(test_certificates_verify_and_serial),
        cmocka_unit_test(test_certificate_chain),
        cmocka_unit_test(test_rsa_oaep_encrypt),
        cmocka_unit_test(test_sm2_sign_verify),
        cmocka_unit_test(test_sm4_ecb),
        cmocka_unit_test(test_charset_iconv),
    };

    return cmocka_run_group_tests(tests, harness_setup_keys, harness_teardown_keys);
}
