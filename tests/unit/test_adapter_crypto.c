/*
 * test_adapter_crypto.c -- gw.crypto and the keystore, driven from Lua in a
 * real sandbox against the published vectors (shared/reference
 * channel-vectors.md): V13a RSA2 signature byte for byte (PKCS#8 PEM and
 * bare base64 PKCS#1 forms of the key), V2 Alipay notify and V3 Alipay
 * response verified with Alipay's published public keys, V1 WeChat MD5 and
 * HMAC-SHA256, V12 SM3, base64/hex round trips, key-name safety.
 * Run from the repository root (keys in tests/vectors/keys).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <lua.h>

#include "pgw_adapter.h"
#include "lua_harness.h"


#define V13A_STRING "app_id=2021000000000001&biz_content={\"out_trade_no\":\"T20240101001\"}" \
    "&charset=utf-8&method=alipay.trade.query&sign_type=RSA2&timestamp=2024-01-01 12:00:00" \
    "&version=1.0"
#define V13A_SIG "46GJ6zNPFrw3KPwzP5w5O2XB7MkL90yX1r7k6IOM53p7jlaLk3Whas8rWgE7FcxDiSAS/hmUY3gzkQcOwx7AVcNTjbcRYp3y96RVrgY0amozPPSJo5ZntRjPrRJJi5sOLDd1neUDYa6D/i1WD3bvDRfweW38ngxQ39W1K7P9ThVfAepRaYo5vn5OvxMDYJHGgWZCCwORXAJ+18GrzH1nr3kJJW/gQ4tHks2oIfCFphp0+VuJ6yRMa5/8euhR7XxR3UAy12pwazxmgCZAZid71AjCpurTBLi2ntc6FPWn/7iQS2TJiM99DWPeCrqEwqIXorz9QQUzoqNKW55U6k7Gtg=="


static void
test_v13a_rsa2_signature_byte_for_byte(void **state)
{
    (void) state;
    expect("return gw.crypto.sign('v13_test_private', 'RSA2', [[" V13A_STRING "]])", V13A_SIG);
    /* the same key as channels hand it out: bare base64 PKCS#1 */
    expect("return gw.crypto.sign('v13_test_private_pkcs1', 'RSA2', [[" V13A_STRING "]])",
           V13A_SIG);
    /* and the string itself, rebuilt with gw.form.sign_string from the params */
    expect("local p = {app_id='2021000000000001', method='alipay.trade.query',"
           " charset='utf-8', sign_type='RSA2', timestamp='2024-01-01 12:00:00',"
           " version='1.0', biz_content=gw.json.encode({out_trade_no='T20240101001'}),"
           " sign='x', empty=''}"
           " return gw.crypto.sign('v13_test_private', 'RSA2',"
           "   gw.form.sign_string(p, {exclude={'sign'}, skip_empty=true}))", V13A_SIG);
    expect("return gw.crypto.verify('v13_test_public', 'RSA2', [[" V13A_STRING "]], '"
           V13A_SIG "')", "true");
    expect("return gw.crypto.verify('v13_test_public', 'RSA2', [[" V13A_STRING "x]], '"
           V13A_SIG "')", "false");
}


#define V2_SIG "QfTb8tqE1BMhS5qAnXtvsF3/jBkEvu9q9en0pdbBUDDjvKycZhQb7h8GDs4FKfi049PynaNuatxSgLb/nLWZpXyyh0LEWdK2S6Ri7nPwrVgOs08zugLO20vOQz44y3ti2Ncm8/wZts1Fr2gZ7pShnVX3d1B50hbsXnObT1r/U8ONNQjWXd0HIul4TG+Q3fm3svmSvFEy0WnzuhcyHPX5Gm4ELNctL6Qd5YniGJFNcc7kopHYtI/XD9YCKCH6Ct02rzUs9i11C9CsadtZn+WhxF26Dqt9sGEFajkJ8cxUTLi8+VCpLHsgPE8P0y095uQcDdK0YjCh4x7wVSov+lrmOQ=="

#define V2_PARAMS                                                                      \
    "local p = {gmt_create='2019-08-15 15:56:22', charset='utf-8',"                     \
    " seller_email='z97-yuquerevenue@service.aliyun.com',"                             \
    " subject='\xe8\xaf\xad\xe9\x9b\x80\xe7\xa9\xba\xe9\x97\xb4 500\xe4\xba\xba\xe8\xa7\x84\xe6\xa8\xa1'," \
    " buyer_id='2088102534368455', invoice_amount='0.10',"                             \
    " notify_id='2019081500222155624068450559358070',"                                 \
    " fund_bill_list='[{\"amount\":\"0.10\",\"fundChannel\":\"ALIPAYACCOUNT\"}]',"      \
    " notify_type='trade_status_sync', trade_status='TRADE_SUCCESS',"                  \
    " receipt_amount='0.10', buyer_pay_amount='0.10', app_id='2019073166072302',"       \
    " seller_id='2088531891668739', gmt_payment='2019-08-15 15:56:24',"                \
    " notify_time='2019-08-15 15:56:25', version='1.0',"                               \
    " out_trade_no='20190815155618536-564-57', total_amount='0.10',"                   \
    " trade_no='2019081522001468450512505578', auth_app_id='2019073166072302',"        \
    " buyer_logon_id='xud***@126.com', point_amount='0.00',"                           \
    " sign_type='RSA2', sign='" V2_SIG "'} "


static void
test_v2_alipay_notify_verifies_with_published_key(void **state)
{
    (void) state;
    expect(V2_PARAMS "local s = gw.form.sign_string(p, {exclude={'sign','sign_type'}})"
           " return gw.crypto.verify('v2_alipay_public', 'RSA2', s, p.sign)", "true");
    /* sign_type kept in the string: must NOT verify (gotcha 1) */
    expect(V2_PARAMS "local s = gw.form.sign_string(p, {exclude={'sign'}})"
           " return gw.crypto.verify('v2_alipay_public', 'RSA2', s, p.sign)", "false");
    /* a changed amount does not verify */
    expect(V2_PARAMS "p.total_amount = '100.10'"
           " local s = gw.form.sign_string(p, {exclude={'sign','sign_type'}})"
           " return gw.crypto.verify('v2_alipay_public', 'RSA2', s, p.sign)", "false");
    /* through the form codec: encode then decode gives the same verification */
    expect(V2_PARAMS "local q = gw.form.decode(gw.form.encode(p))"
           " local s = gw.form.sign_string(q, {exclude={'sign','sign_type'}})"
           " return gw.crypto.verify('v2_alipay_public', 'RSA2', s, q.sign)", "true");
}


#define V3_BODY "{\"alipay_open_file_upload_response\":{\"code\":\"10000\",\"msg\":\"Success\",\"file_id\":\"CAxAToWB1JsAAAAAAAAAAAAADgSLAQBr\"},\"sign\":\"F+LDzpTNiavn7xVZPGuPCSSVRSmWzJGgtuji6tVELGEaqMaNj0jRKXUEr5nloZJBBmwEnddOyCjjepMmrTKTvoOqQ0Efxpr/R1iEeHTHVbb/Q8TTh6Up5gHJDkILdaWS2q1cWeQ6VT+HQY9P3WRXS7uhILHuDODIhpAyCu5KhWGt0rMCIG+Im6NODJP2oohtSCtmTFXg58HH587Z2y2bdbjzOxLvzD9IrU1imghXQ2S/Q+wMIvRk9on6cWnBLkrNvJKapA2ReNGWOwyuASvB9zDVzhMPbR+3mfRGkVDxsq5HYLjBKGskJMXHw0HuugZij6ScRuaLPODhmHwr/pJ9yw==\"}"


static void
test_v3_alipay_response_verifies_over_raw_text(void **state)
{
    (void) state;
    expect("local b = [[" V3_BODY "]] return gw.json.raw_member(b, 'alipay_open_file_upload_response')",
           "{\"code\":\"10000\",\"msg\":\"Success\",\"file_id\":\"CAxAToWB1JsAAAAAAAAAAAAADgSLAQBr\"}");
    expect("local b = [[" V3_BODY "]]"
           " local raw = gw.json.raw_member(b, 'alipay_open_file_upload_response')"
           " local sign = gw.json.decode(gw.json.raw_member(b, 'sign'))"
           " return gw.crypto.verify('v3_alipay_public', 'RSA2', raw, sign)", "true");
    /* re-serialised (sorted keys) text is not what was signed */
    expect("local b = [[" V3_BODY "]] local all = gw.json.decode(b)"
           " local again = gw.json.encode(all.alipay_open_file_upload_response)"
           " return gw.crypto.verify('v3_alipay_public', 'RSA2', again, all.sign)", "false");
    /* wrong key */
    expect("local b = [[" V3_BODY "]] local all = gw.json.decode(b)"
           " local raw = gw.json.raw_member(b, 'alipay_open_file_upload_response')"
           " return gw.crypto.verify('v2_alipay_public', 'RSA2', raw, all.sign)", "false");
}


#define V1_PARAMS "local p = {appid='wxd930ea5d5a258f4f', mch_id='10000100', device_info='1000'," \
    " body='test', nonce_str='ibuaiVcKdpRxkhJA'} local key = '192006250b4c09247ec02edce69f6a2d'" \
    " local s = gw.form.sign_string(p) .. '&key=' .. key "


static void
test_v1_wechat_md5_and_hmac(void **state)
{
    (void) state;
    expect(V1_PARAMS "return s",
           "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&"
           "nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d");
    expect(V1_PARAMS "return gw.crypto.md5(s, 'HEX')", "9A0A8659F005D6984697E2CA0A9CF3B7");
    expect(V1_PARAMS "return gw.crypto.md5(s):upper()", "9A0A8659F005D6984697E2CA0A9CF3B7");
    expect(V1_PARAMS "return gw.crypto.hmac_sha256(key, s, 'HEX')",
           "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6");
    expect(V1_PARAMS "return gw.crypto.hmac('sha256', key, s, 'HEX')",
           "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6");
    expect(V1_PARAMS "return gw.crypto.equals(gw.crypto.md5(s, 'HEX'),"
           " '9A0A8659F005D6984697E2CA0A9CF3B7')", "true");
    expect(V1_PARAMS "return gw.crypto.equals(gw.crypto.md5(s, 'HEX'),"
           " '9A0A8659F005D6984697E2CA0A9CF3B8')", "false");
}


static void
test_digests(void **state)
{
    (void) state;
    expect("return gw.crypto.sha256('abc')",
           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect("return gw.crypto.sha1('abc')", "a9993e364706816aba3e25717850c26c9cd0d89d");
    expect("return #gw.crypto.sha256('abc', 'raw')", "32");
    expect("return gw.crypto.sm3('abc')",
           "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    expect_error("return gw.crypto.sha256('abc', 'b64')", "encoding");
}


static void
test_base64_hex_round_trips(void **state)
{
    (void) state;
    expect("local all = {} for i = 0, 255 do all[#all+1] = string.char(i) end"
           " local s = table.concat(all)"
           " for n = 0, 10 do local x = s:sub(1, n)"
           "   assert(gw.crypto.base64_decode(gw.crypto.base64_encode(x)) == x, n)"
           "   assert(gw.crypto.hex_decode(gw.crypto.hex_encode(x)) == x, n) end"
           " assert(gw.crypto.base64_decode(gw.crypto.base64_encode(s)) == s)"
           " assert(gw.crypto.hex_decode(gw.crypto.hex_encode(s, true)) == s)"
           " return 'ok'", "ok");
    expect("return gw.crypto.base64_encode('foobar')", "Zm9vYmFy");
    expect("return gw.crypto.base64_encode('fo')", "Zm8=");
    expect("return gw.crypto.base64_decode('Zm9v\\nYmE=')", "fooba");
    expect("return gw.crypto.hex_encode('\\1\\171')", "01ab");
    expect("return gw.crypto.hex_encode('\\1\\171', true)", "01AB");
    expect("return select(2, gw.crypto.base64_decode('Zm9v!'))", "crypto: invalid base64");
    expect("return gw.crypto.base64_decode('Zm=9v')", "nil");
    expect("return gw.crypto.hex_decode('abc')", "nil");
    expect("return gw.crypto.hex_decode('zz')", "nil");
}


static void
test_key_errors_and_names(void **state)
{
    (void) state;
    expect_error("return gw.crypto.sign('no_such_key', 'RSA2', 'x')", "not found");
    expect_error("return gw.crypto.sign('../keys/v13_test_private', 'RSA2', 'x')",
                 "invalid key name");
    expect_error("return gw.crypto.sign('.hidden', 'RSA2', 'x')", "invalid key name");
    expect_error("return gw.crypto.sign('v13_test_public', 'RSA2', 'x')", "signing failed");
    expect_error("return gw.crypto.sign('v13_test_private', 'MD5withRSA', 'x')",
                 "unknown algorithm");
    expect_error("return gw.crypto.verify('README', 'RSA2', 'x', 'AAAA')", "not found");
    expect("return gw.crypto.verify('v13_test_public', 'RSA2', 'x', 'not base64!')", "false");
    expect("return gw.crypto.verify('v13_test_public', 'RSA2', 'x', '')", "false");
    /* RSA (SHA1withRSA) round trip */
    expect("local s = gw.crypto.sign('v13_test_private', 'RSA', 'hello')"
           " return tostring(gw.crypto.verify('v13_test_public', 'RSA', 'hello', s))"
           "  .. tostring(gw.crypto.verify('v13_test_public', 'RSA2', 'hello', s))",
           "truefalse");
    assert_int_equal(pgw_keystore_name_ok("a/b"), 0);
    assert_int_equal(pgw_keystore_name_ok(""), 0);
    assert_int_equal(pgw_keystore_name_ok("alipay_public-2024.v1"), 1);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v13a_rsa2_signature_byte_for_byte),
        cmocka_unit_test(test_v2_alipay_notify_verifies_with_published_key),
        cmocka_unit_test(test_v3_alipay_response_verifies_over_raw_text),
        cmocka_unit_test(test_v1_wechat_md5_and_hmac),
        cmocka_unit_test(test_digests),
        cmocka_unit_test(test_base64_hex_round_trips),
        cmocka_unit_test(test_key_errors_and_names),
    };

    return cmocka_run_group_tests(tests, harness_setup_keys, harness_teardown_keys);
}
