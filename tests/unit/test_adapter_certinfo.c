/*
 * test_adapter_certinfo.c -- gw.crypto.cert_info: the public fields of every
 * certificate stored under a keystore name (Alipay certificate mode reads
 * its SNs from them).  TEST-ONLY certificates from
 * tests/vectors/alipay/gen_certs.sh (openssl CLI): a three-certificate root
 * bundle (RSA sha256, EC P-256, RSA sha1), an app and an "Alipay"
 * certificate.  The SN values come from alipay-sdk's own antcertutil (the
 * generator prints them), so the issuer naming is proven against @fidm/x509.
 * Run from the repository root.
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

#include "pgw_adapter.h"
#include "lua_harness.h"


/* Alipay's SN, as alipay-sdk's antcertutil computes it, from cert_info */
#define SN_FN \
    "local function sn(c) local p = {} " \
    "  for i = #c.issuer, 1, -1 do p[#p + 1] = c.issuer[i][1] .. '=' .. c.issuer[i][2] end " \
    "  return gw.crypto.md5(table.concat(p, ',') .. c.serial_dec) end "
#define ROOT_SN_FN SN_FN \
    "local function root_sn(name) local out = {} " \
    "  for _, c in ipairs(gw.crypto.cert_info(name)) do " \
    "    if c.sig_alg_oid:sub(1, 18) == '1.2.840.113549.1.1' then out[#out + 1] = sn(c) end " \
    "  end return table.concat(out, '_') end "


static void
test_single_certificate(void **state)
{
    (void) state;
    expect("return #gw.crypto.cert_info('alipay_cert_test_app_cert')", "1");
    expect("local c = gw.crypto.cert_info('alipay_cert_test_app_cert')[1] "
           "return c.serial_hex .. ' ' .. c.serial_dec",
           "8ABCDEF0123456789ABCDEF0 42937262203322712987858165488");
    expect("return gw.crypto.cert_info('alipay_cert_test_app_cert')[1].sig_alg_oid",
           "1.2.840.113549.1.1.11");
    expect("return gw.crypto.cert_info('alipay_cert_test_app_cert')[1].subject_cn",
           "2021000000000001");
    /* issuer attributes in the certificate's order */
    expect("local t = {} for _, a in ipairs(gw.crypto.cert_info('alipay_cert_test_app_cert')"
           "[1].issuer) do t[#t + 1] = a[1] .. '=' .. a[2] end return table.concat(t, '|')",
           "C=CN|O=Paygw Test|OU=Certification Authority|CN=Paygw Test Class 2 Root");
    /* emailAddress is "E", ST and L as @fidm/x509 names them */
    expect("local t = {} for _, a in ipairs(gw.crypto.cert_info('alipay_cert_test_alipay_cert')"
           "[1].issuer) do t[#t + 1] = a[1] end return table.concat(t, ',')",
           "C,ST,L,O,OU,CN,E");
    expect("return gw.crypto.cert_info('alipay_cert_test_alipay_cert')[1].issuer[7][2]",
           "root@example.test");
    /* the SNs alipay-sdk computes (gen_certs.sh prints them) */
    expect(SN_FN "return sn(gw.crypto.cert_info('alipay_cert_test_app_cert')[1])",
           "d4cc71fec4570a12ea2f46aefa22abcc");
    expect(SN_FN "return sn(gw.crypto.cert_info('alipay_cert_test_alipay_cert')[1])",
           "d66127af062d1684477c5cfe472086ae");
    /* other certificates keep working: the WeChat one, an EC one with serial 0x0ABC */
    expect("return gw.crypto.cert_info('wxpay_test_platform_cert')[1].serial_hex",
           "1234ABCD5678EF9001");
    expect("local c = gw.crypto.cert_info('serial_0abc_test_cert')[1] "
           "return c.serial_hex .. ' ' .. c.serial_dec .. ' ' .. c.sig_alg_oid",
           "0ABC 2748 1.2.840.10045.4.3.2");
    /* the SM2 certificate: SM2-with-SM3 */
    expect("return gw.crypto.cert_info('sm2_test_cert')[1].sig_alg_oid",
           "1.2.156.10197.1.501");
}


static void
test_bundle(void **state)
{
    (void) state;
    /* three certificates, file order: RSA sha256, EC (skipped by Alipay), RSA sha1 */
    expect("return #gw.crypto.cert_info('alipay_cert_test_root_bundle')", "3");
    expect("local t = {} for _, c in ipairs(gw.crypto.cert_info('alipay_cert_test_root_bundle')) "
           "do t[#t + 1] = c.sig_alg_oid end return table.concat(t, ' ')",
           "1.2.840.113549.1.1.11 1.2.840.10045.4.3.2 1.2.840.113549.1.1.5");
    expect("local t = {} for _, c in ipairs(gw.crypto.cert_info('alipay_cert_test_root_bundle')) "
           "do t[#t + 1] = c.subject_cn end return table.concat(t, '|')",
           "Paygw Test Alipay Root|Paygw Test EC Root|Paygw Test Class 2 Root");
    expect("return gw.crypto.cert_info('alipay_cert_test_root_bundle')[2].serial_dec", "7");
    expect("return gw.crypto.cert_info('alipay_cert_test_root_bundle')[3].serial_hex",
           "F1E2D3C4B5A69788");
    expect(ROOT_SN_FN "return root_sn('alipay_cert_test_root_bundle')",
           "cdc2100da457d1e23297e78cd8713b4a_17db9947aafee47de163202d394d1725");
    /* the bundle's first certificate is still the key and cert_serial's */
    expect("return gw.crypto.cert_serial('alipay_cert_test_root_bundle')", "2A3B4C5D6E7F");
    /* cached: the same answer twice */
    expect("return gw.crypto.cert_info('alipay_cert_test_root_bundle')[3].subject_cn == "
           "gw.crypto.cert_info('alipay_cert_test_root_bundle')[3].subject_cn", "true");
}


static void
test_errors(void **state)
{
    (void) state;
    expect_error("return gw.crypto.cert_info('v13_test_public')", "not a certificate");
    expect_error("return gw.crypto.cert_info('v13_test_private')", "not a certificate");
    expect_error("return gw.crypto.cert_info('no_such_cert')", "not found");
    expect_error("return gw.crypto.cert_info('../keys/x')", "invalid key name");
    expect_error("return gw.crypto.cert_info()", "bad argument");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_certificate),
        cmocka_unit_test(test_bundle),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, harness_setup_keys, harness_teardown_keys);
}
