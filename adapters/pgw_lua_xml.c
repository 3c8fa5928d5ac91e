/*
 * pgw_lua_xml.c -- gw.xml for packs, on libxml2.
 *
 *   gw.xml.decode(text) -> table, root_name | nil, err
 *       Parsed with XML_PARSE_NONET and without NOENT/DTDLOAD; any document
 *       with a DOCTYPE is refused outright (no entity of any kind is ever
 *       expanded, internal or external).  An element with element children
 *       becomes a table keyed by child name (repeated names become an array,
 *       in document order); an element without element children becomes the
 *       concatenation of its text and CDATA.  Attributes are ignored.
 *   gw.xml.encode(table [, {root="xml", cdata=false, order={...}}]) -> text
 *       Elements in byte order of their names (`order` lists top-level names
 *       to put first).  Strings are escaped (& < > " ') or, with cdata=true,
 *       wrapped in CDATA (a "]]>" inside is split safely); numbers and
 *       booleans are written as text; arrays repeat the element.  No XML
 *       declaration is written.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "pgw_adapter.h"
#include "pgw_buf.h"


#define PGW_XML_MAX_TEXT (8 * 1024 * 1024)
#define PGW_XML_MAX_DEPTH 64


static void
pgw_xml_release(void *p)
{
    xmlFreeDoc(p);
}


static void pgw_xml_push_node(lua_State *L, xmlNodePtr node, int depth);


static void
pgw_xml_push_text(lua_State *L, xmlNodePtr node)
{
    xmlNodePtr c;
    int n = 0;

    for (c = node->children; c != NULL; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
            && c->content != NULL) {
            luaL_checkstack(L, 2, "xml");
            lua_pushstring(L, (const char *) c->content);
            if (++n == 2) {
                lua_concat(L, 2);
                n = 1;
            }
        }
    }
    if (n == 0) {
        lua_pushliteral(L, "");
    }
}


static void
pgw_xml_push_node(lua_State *L, xmlNodePtr node, int depth)
{
    xmlNodePtr c;
    int has_elements = 0;

    if (depth > PGW_XML_MAX_DEPTH) {
        luaL_error(L, "xml: nested too deeply");
    }
    luaL_checkstack(L, 6, "xml");
    for (c = node->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            has_elements = 1;
            break;
        }
    }
    if (!has_elements) {
        pgw_xml_push_text(L, node);
        return;
    }

    /* counts[name] = occurrences, so repeated names become arrays */
    lua_newtable(L);                       /* result */
    lua_newtable(L);                       /* counts */
    for (c = node->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            continue;
        }
        lua_pushstring(L, (const char *) c->name);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        lua_pushinteger(L, lua_tointeger(L, -1) + 1);
        lua_remove(L, -2);
        lua_rawset(L, -3);
    }
    for (c = node->children; c != NULL; c = c->next) {
        lua_Integer count;

        if (c->type != XML_ELEMENT_NODE) {
            continue;
        }
        lua_pushstring(L, (const char *) c->name);
        lua_rawget(L, -2);
        count = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (count > 1) {
            lua_pushstring(L, (const char *) c->name);
            if (lua_rawget(L, -3) == LUA_TNIL) {
                lua_pop(L, 1);
                lua_newtable(L);
                lua_pushstring(L, (const char *) c->name);
                lua_pushvalue(L, -2);
                lua_rawset(L, -5);
            }
            pgw_xml_push_node(L, c, depth + 1);
            lua_rawseti(L, -2, (lua_Integer) lua_rawlen(L, -2) + 1);
            lua_pop(L, 1);
        } else {
            lua_pushstring(L, (const char *) c->name);
            pgw_xml_push_node(L, c, depth + 1);
            lua_rawset(L, -4);
        }
    }
    lua_pop(L, 1);                         /* counts */
}


static int
pgw_xml_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    void **slot;
    xmlDocPtr doc;
    xmlNodePtr root;

    if (len > PGW_XML_MAX_TEXT) {
        luaL_pushfail(L);
        lua_pushliteral(L, "xml: text too large");
        return 2;
    }
    if (memmem(s, len, "<!DOCTYPE", 9) != NULL || memmem(s, len, "<!ENTITY", 8) != NULL) {
        luaL_pushfail(L);
        lua_pushliteral(L, "xml: DTD and entity declarations are not allowed");
        return 2;
    }
    slot = pgw_lua_guard(L, pgw_xml_release);
    doc = xmlReadMemory(s, (int) len, "message.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        const xmlError *e = xmlGetLastError();
        char msg[160];

        snprintf(msg, sizeof(msg), "xml: %s", e != NULL && e->message != NULL
                 ? e->message : "not well-formed");
        msg[strcspn(msg, "\n")] = '\0';
        luaL_pushfail(L);
        lua_pushstring(L, msg);
        return 2;
    }
    *slot = doc;
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        pgw_xml_release(doc);
        *slot = NULL;
        luaL_pushfail(L);
        lua_pushliteral(L, "xml: DTD and entity declarations are not allowed");
        return 2;
    }
    root = xmlDocGetRootElement(doc);
    if (root == NULL) {
        luaL_pushfail(L);
        lua_pushliteral(L, "xml: no root element");
        return 2;
    }
    pgw_xml_push_node(L, root, 0);
    lua_pushstring(L, (const char *) root->name);
    pgw_xml_release(doc);
    *slot = NULL;
    return 2;
}


/* ---- encode ---- */

static int
pgw_xml_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 128) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        int other = (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':';
        if (!(alpha || (i > 0 && other))) {
            return 0;
        }
    }
    return 1;
}


static int
pgw_xml_put_text(struct pgw_buf *b, const char *s, size_t n, int cdata)
{
    size_t i, start = 0;

    if (cdata) {
        if (pgw_buf_adds(b, "<![CDATA[") != 0) {
            return -1;
        }
        for (i = 0; i + 2 < n; i++) {
            if (s[i] == ']' && s[i + 1] == ']' && s[i + 2] == '>') {
                if (pgw_buf_add(b, s + start, i + 2 - start) != 0
                    || pgw_buf_adds(b, "]]><![CDATA[") != 0) {
                    return -1;
                }
                start = i + 2;
            }
        }
        if (pgw_buf_add(b, s + start, n - start) != 0 || pgw_buf_adds(b, "]]>") != 0) {
            return -1;
        }
        return 0;
    }
    for (i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default: break;
        }
        if (rep != NULL) {
            if (pgw_buf_add(b, s + start, i - start) != 0 || pgw_buf_adds(b, rep) != 0) {
                return -1;
            }
            start = i + 1;
        }
    }
    return pgw_buf_add(b, s + start, n - start);
}


static const char *pgw_xml_put(lua_State *L, struct pgw_buf *b, const char *name,
                               size_t nlen, int idx, int cdata, int order, int depth);


static int
pgw_xml_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}


/* children of the table at idx; order (stack index or 0) lists names first */
static const char *
pgw_xml_put_children(lua_State *L, struct pgw_buf *b, int idx, int cdata, int order,
                     int depth)
{
    const char **keys;
    size_t n = 0, i, j, cap = 0;
    const char *err = NULL;

    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return "xml: element names must be strings";
        }
        cap++;
        lua_pop(L, 1);
    }
    /* GC-owned, so a Lua error below cannot leak it */
    keys = lua_newuserdatauv(L, (cap + 1) * sizeof(*keys), 0);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        keys[n++] = lua_tostring(L, -2);   /* string key: no conversion */
        lua_pop(L, 1);
    }
    qsort(keys, n, sizeof(*keys), pgw_xml_key_cmp);

    if (order != 0) {
        size_t on = (size_t) lua_rawlen(L, order), front = 0;
        for (i = 1; i <= on; i++) {
            const char *k;
            lua_rawgeti(L, order, (lua_Integer) i);
            k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
            lua_pop(L, 1);
            for (j = front; k != NULL && j < n; j++) {
                if (strcmp(keys[j], k) == 0) {
                    const char *t = keys[j];
                    memmove(keys + front + 1, keys + front, (j - front) * sizeof(*keys));
                    keys[front++] = t;
                    break;
                }
            }
        }
    }

    for (i = 0; i < n && err == NULL; i++) {
        lua_pushstring(L, keys[i]);
        lua_rawget(L, idx);
        err = pgw_xml_put(L, b, keys[i], strlen(keys[i]), lua_gettop(L), cdata, 0,
                          depth + 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);                       /* keys */
    return err;
}


static const char *
pgw_xml_put(lua_State *L, struct pgw_buf *b, const char *name, size_t nlen, int idx,
            int cdata, int order, int depth)
{
    const char *err = NULL;

    if (depth > PGW_XML_MAX_DEPTH || !lua_checkstack(L, 6)) {
        return "xml: nested too deeply";
    }
    if (!pgw_xml_name_ok(name, nlen)) {
        return "xml: invalid element name";
    }
    if (lua_type(L, idx) == LUA_TTABLE && lua_rawlen(L, idx) > 0) {
        size_t i, n = (size_t) lua_rawlen(L, idx);    /* array: repeat element */
        for (i = 1; i <= n && err == NULL; i++) {
            lua_rawgeti(L, idx, (lua_Integer) i);
            err = pgw_xml_put(L, b, name, nlen, lua_gettop(L), cdata, 0, depth + 1);
            lua_pop(L, 1);
        }
        return err;
    }
    if (pgw_buf_adds(b, "<") != 0 || pgw_buf_add(b, name, nlen) != 0
        || pgw_buf_adds(b, ">") != 0) {
        return "xml: out of memory";
    }
    switch (lua_type(L, idx)) {
    case LUA_TTABLE:
        err = pgw_xml_put_children(L, b, idx, cdata, order, depth);
        break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (pgw_xml_put_text(b, s, n, cdata) != 0) {
            err = "xml: out of memory";
        }
        break;
    }
    case LUA_TNUMBER: {
        char num[64];
        if (lua_isinteger(L, idx)) {
            snprintf(num, sizeof(num), "%lld", (long long) lua_tointeger(L, idx));
        } else {
            snprintf(num, sizeof(num), "%.17g", (double) lua_tonumber(L, idx));
        }
        if (pgw_buf_adds(b, num) != 0) {
            err = "xml: out of memory";
        }
        break;
    }
    case LUA_TBOOLEAN:
        if (pgw_buf_adds(b, lua_toboolean(L, idx) ? "true" : "false") != 0) {
            err = "xml: out of memory";
        }
        break;
    default:
        err = "xml: values must be strings, numbers, booleans or tables";
        break;
    }
    if (err == NULL && (pgw_buf_adds(b, "</") != 0 || pgw_buf_add(b, name, nlen) != 0
                        || pgw_buf_adds(b, ">") != 0)) {
        err = "xml: out of memory";
    }
    return err;
}


static int
pgw_xml_encode(lua_State *L)
{
    const char *root = "xml", *err;
    int cdata = 0, order = 0;
    struct pgw_buf *b;
    void **slot;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (!lua_isnil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (lua_getfield(L, 2, "root") == LUA_TSTRING) {
            root = lua_tostring(L, -1);
        }
        lua_getfield(L, 2, "cdata");
        cdata = lua_toboolean(L, -1);
        if (lua_getfield(L, 2, "order") == LUA_TTABLE) {
            order = lua_gettop(L);
        }
    }
    slot = pgw_lua_guard(L, pgw_buf_release);
    b = pgw_buf_new();
    if (b == NULL) {
        return luaL_error(L, "xml: out of memory");
    }
    *slot = b;
    err = pgw_xml_put(L, b, root, strlen(root), 1, cdata, order, 0);
    if (err != NULL) {
        pgw_lua_guard_done(L, -1);
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushlstring(L, b->p != NULL ? b->p : "", b->len);
    pgw_lua_guard_done(L, -2);
    return 1;
}


int
pgw_luaopen_xml(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"decode", pgw_xml_decode},
        {"encode", pgw_xml_encode},
        {NULL, NULL}
    };

    luaL_newlib(L, fns);
    return 1;
}
