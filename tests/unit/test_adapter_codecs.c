/*
 * test_adapter_codecs.c -- gw.json, gw.xml, gw.form, gw.amount, gw.time as a
 * pack sees them: exact encodings (sorted keys, integers stay integers,
 * url-encoding, signing strings), raw-member extraction, and clean errors
 * for hostile input (XXE / entity expansion, malformed and oversized text,
 * duplicated fields, invalid UTF-8, too-deep nesting).
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


static int
setup(void **state)
{
    (void) state;
    return harness_open();
}


static int
teardown(void **state)
{
    (void) state;
    harness_close();
    return 0;
}


static void
test_json_numbers_and_types(void **state)
{
    (void) state;
    expect("local v = gw.json.decode('{\"a\":1000,\"b\":10.5,\"c\":9007199254740993}')"
           " return math.type(v.a) .. ' ' .. math.type(v.b) .. ' ' .. v.c",
           "integer float 9007199254740993");
    expect("return gw.json.decode('null') == gw.json.null", "true");
    expect("return gw.json.encode({a = gw.json.null, b = true, c = false})",
           "{\"a\":null,\"b\":true,\"c\":false}");
    expect("return gw.json.encode({x = 1, y = 1.5})", "{\"x\":1,\"y\":1.5}");
}


static void
test_json_encode_is_reproducible(void **state)
{
    (void) state;
    expect("return gw.json.encode({total_amount='10.00', out_trade_no='T1', subject='s',"
           " b={z=1, a={1,2,3}}})",
           "{\"b\":{\"a\":[1,2,3],\"z\":1},\"out_trade_no\":\"T1\",\"subject\":\"s\","
           "\"total_amount\":\"10.00\"}");
    expect("return gw.json.encode({c=3, a=1, b=2}, {order={'c','b'}})",
           "{\"c\":3,\"b\":2,\"a\":1}");
    expect("return gw.json.encode({s='\xe4\xb8\xad/\"\\n'})",
           "{\"s\":\"\xe4\xb8\xad/\\\"\\n\"}");
    /* arrays keep [] through a round trip, a plain empty table is {} */
    expect("return gw.json.encode(gw.json.decode('{\"l\":[],\"o\":{}}'))",
           "{\"l\":[],\"o\":{}}");
    expect("return gw.json.encode({})", "{}");
    expect("return gw.json.encode(setmetatable({}, gw.json.array_mt))", "[]");
}


static void
test_json_errors(void **state)
{
    (void) state;
    expect_prefix("return select(2, gw.json.decode('{\"a\":'))", "json: ");
    expect("return gw.json.decode('{\"a\":1,\"a\":2}')", "nil");
    expect("return gw.json.decode('')", "nil");
    expect("return gw.json.encode({'\\255\\254'})", "nil");
    expect_prefix("return select(2, gw.json.encode({1, 2, x = 3}))", "json: table mixes");
    expect_prefix("return select(2, gw.json.encode({f = print or tostring}))",
                  "json: cannot encode a function");
    expect_prefix("return select(2, gw.json.encode({n = 0/0}))", "json: cannot encode NaN");
    expect("local t = {} local c = t for i = 1, 100 do c.x = {} c = c.x end"
           " return gw.json.encode(t)", "nil");
    expect_error("return gw.json.decode(string.rep('[', 100) .. string.rep(']', 100))",
                 "nested too deeply");
    expect("return gw.json.decode(string.rep('[', 5000))", "nil");
}


static void
test_json_raw_member(void **state)
{
    (void) state;
    expect("return gw.json.raw_member('{ \"a_response\" : {\"x\":\"}\\\\\"\",\"y\":[1,{}]} ,"
           " \"sign\":\"S\"}', 'a_response')", "{\"x\":\"}\\\"\",\"y\":[1,{}]}");
    expect("return gw.json.raw_member('{\"a\":{\"q\":\"http:\\\\/\\\\/x\"},\"sign\":\"S\"}', 'a')",
           "{\"q\":\"http:\\/\\/x\"}");
    expect("return gw.json.raw_member('{\"a\":1,\"sign\":\"S\"}', 'sign')", "\"S\"");
    expect("return select(2, gw.json.raw_member('{\"a\":1,\"a\":2}', 'a'))",
           "json: duplicate member 'a'");
    expect("return select(2, gw.json.raw_member('{\"a\":1}', 'b'))", "json: no member 'b'");
    expect("return select(2, gw.json.raw_member('[1]', 'a'))",
           "json: not a well-formed object");
    expect("return gw.json.raw_member('{\"a\":{\"b\":1}', 'a')", "nil");
}


/* ---- XML ---- */

static void
test_xml_decode(void **state)
{
    (void) state;
    expect("local t, root = gw.xml.decode('<xml><return_code><![CDATA[SUCCESS]]></return_code>"
           "<total_fee>1</total_fee><a>x &amp; <![CDATA[<y>]]></a></xml>')"
           " return root .. ' ' .. t.return_code .. ' ' .. t.total_fee .. ' ' .. t.a",
           "xml SUCCESS 1 x & <y>");
    expect("local t = gw.xml.decode('<r><i>1</i><i>2</i><o><p>3</p></o></r>')"
           " return #t.i .. t.i[1] .. t.i[2] .. t.o.p", "2123");
    expect("local t = gw.xml.decode('<?xml version=\"1.0\" encoding=\"UTF-8\"?><r><e/></r>')"
           " return '[' .. t.e .. ']'", "[]");
}


static void
test_xml_xxe_and_entities_never_expand(void **state)
{
    (void) state;
    expect("local t, err = gw.xml.decode('<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM"
           " \"file:///etc/passwd\">]><xml><a>&e;</a></xml>')"
           " return tostring(t) .. '|' .. err",
           "nil|xml: DTD and entity declarations are not allowed");
    expect("local t, err = gw.xml.decode('<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
           "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]><l>&lol2;</l>')"
           " return tostring(t)", "nil");
    /* an undeclared entity is a well-formedness error, never a lookup */
    expect("return gw.xml.decode('<xml><a>&e;</a></xml>')", "nil");
    expect("local t = gw.xml.decode('<xml><a>&#65;&lt;</a></xml>') return t.a", "A<");
    /* the file's content must never show up */
    expect("local t, err = gw.xml.decode('<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
           "<x>&e;</x>') return tostring(err):find('root:') == nil", "true");
}


static void
test_xml_malformed_and_huge(void **state)
{
    (void) state;
    expect_prefix("return select(2, gw.xml.decode('<xml><a>1</b></xml>'))", "xml: ");
    expect("return gw.xml.decode('')", "nil");
    expect("return gw.xml.decode('not xml')", "nil");
    expect("return select(2, gw.xml.decode('<a>' .. string.rep('x', 9 * 1024 * 1024) .. '</a>'))",
           "xml: text too large");
    expect_error("return gw.xml.decode(string.rep('<a>', 200) .. string.rep('</a>', 200))",
                 "nested too deeply");
}


static void
test_xml_encode(void **state)
{
    (void) state;
    expect("return gw.xml.encode({b='2', a='x<&>\"', n=1})",
           "<xml><a>x&lt;&amp;&gt;&quot;</a><b>2</b><n>1</n></xml>");
    expect("return gw.xml.encode({b='2', a='1'}, {cdata=true, root='root', order={'b'}})",
           "<root><b><![CDATA[2]]></b><a><![CDATA[1]]></a></root>");
    expect("return gw.xml.encode({a='x]]>y'}, {cdata=true})",
           "<xml><a><![CDATA[x]]]]><![CDATA[>y]]></a></xml>");
    expect("local t = gw.xml.decode(gw.xml.encode({a='x]]>y<'}, {cdata=true})) return t.a",
           "x]]>y<");
    expect("return gw.xml.encode({i={'1','2'}, o={p='3'}})",
           "<xml><i>1</i><i>2</i><o><p>3</p></o></xml>");
    expect("return select(2, gw.xml.encode({['bad name']='1'}))", "xml: invalid element name");
}


/* ---- form ---- */

static void
test_form(void **state)
{
    (void) state;
    expect("return gw.form.encode({b='x y&z=', a='\xe4\xb8\xad', c=10})",
           "a=%E4%B8%AD&b=x%20y%26z%3D&c=10");
    expect("return gw.form.encode({b='1', a='2', c='3'}, {order={'c'}})", "c=3&a=2&b=1");
    expect("local t = gw.form.decode('a=%E4%B8%AD&b=x+y%26z%3D&c=&d') "
           " return t.a .. '|' .. t.b .. '|' .. t.c .. '|' .. t.d", "\xe4\xb8\xad|x y&z=||");
    expect("local p = {b='x y', a='1', sign='s', sign_type='RSA2', e='', Z='up'}"
           " return gw.form.sign_string(p, {exclude={'sign','sign_type'}})",
           "Z=up&a=1&b=x y");
    expect("return gw.form.sign_string({a='', b='1'}, {skip_empty=false})", "a=&b=1");
    expect("return gw.form.sign_string({a=1, b=2.5})", "a=1&b=2.5");
    expect("return select(2, gw.form.decode('a=1&a=2'))", "form: duplicate field 'a'");
    expect("return select(2, gw.form.decode('a=%zz'))", "form: bad percent-escape");
    expect("return select(2, gw.form.decode('a=%4'))", "form: bad percent-escape");
    expect_error("return gw.form.sign_string({a={}})", "must be a string or number");
    expect("return gw.form.urldecode(gw.form.urlencode('a b/\xe4'))", "a b/\xe4");
}


/* ---- amount & time ---- */

static void
test_amount(void **state)
{
    (void) state;
    expect("return gw.amount.to_decimal(1000, 2)", "10.00");
    expect("return gw.amount.to_decimal(1, 2)", "0.01");
    expect("return gw.amount.to_decimal(0, 2)", "0.00");
    expect("return gw.amount.to_decimal(-5, 2)", "-0.05");
    expect("return gw.amount.to_decimal(123, 0)", "123");
    expect("return gw.amount.to_decimal(math.mininteger, 2)", "-92233720368547758.08");
    expect("return gw.amount.from_decimal('10.00', 2)", "1000");
    expect("return gw.amount.from_decimal('10.5', 2)", "1050");
    expect("return gw.amount.from_decimal('10', 2)", "1000");
    expect("return gw.amount.from_decimal('0.10', 2)", "10");
    expect("return gw.amount.from_decimal('-0.01', 2)", "-1");
    expect("return math.type(gw.amount.from_decimal('7', 0))", "integer");
    expect_error("return gw.amount.from_decimal('10.001', 2)", "more than 2 decimals");
    expect_error("return gw.amount.from_decimal('1e3', 2)", "not a decimal amount");
    expect_error("return gw.amount.from_decimal(' 10', 2)", "not a decimal amount");
    expect_error("return gw.amount.from_decimal('', 2)", "not a decimal amount");
    expect_error("return gw.amount.from_decimal('10.', 2)", "not a decimal amount");
    expect_error("return gw.amount.from_decimal('.5', 2)", "not a decimal amount");
    expect_error("return gw.amount.from_decimal('99999999999999999999', 2)", "out of range");
    expect_error("return gw.amount.to_decimal(1, 9)", "exponent");
}


static void
test_time(void **state)
{
    (void) state;
    expect("return gw.time.format(1704081600000, 'yyyy-MM-dd HH:mm:ss', 480)",
           "2024-01-01 12:00:00");
    expect("return gw.time.format(1704081600123, 'yyyyMMddHHmmssSSS')", "20240101040000123");
    expect("return gw.time.format(-1, 'yyyy-MM-dd HH:mm:ss.SSS')", "1969-12-31 23:59:59.999");
    expect("return gw.time.parse('2024-01-01 12:00:00', 'yyyy-MM-dd HH:mm:ss', 480)",
           "1704081600000");
    expect("return gw.time.parse('2024-13-01 12:00:00', 'yyyy-MM-dd HH:mm:ss', 480)", "nil");
    expect("return gw.time.parse('2024-01-01', 'yyyy-MM-dd HH:mm:ss', 480)", "nil");
    expect("return math.type(gw.time.now_ms()) == 'integer' and gw.time.now_ms() > 1.7e12",
           "true");
    expect("local a, b = gw.id(), gw.id('n_') return #a .. ' ' .. #b .. ' ' .. tostring(a ~= b)"
           " .. ' ' .. b:sub(1, 2)", "32 34 true n_");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_numbers_and_types),
        cmocka_unit_test(test_json_encode_is_reproducible),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_raw_member),
        cmocka_unit_test(test_xml_decode),
        cmocka_unit_test(test_xml_xxe_and_entities_never_expand),
        cmocka_unit_test(test_xml_malformed_and_huge),
        cmocka_unit_test(test_xml_encode),
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_amount),
        cmocka_unit_test(test_time),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
