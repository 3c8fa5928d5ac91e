/*
 * pgw_lua_pattern.c -- string.find, string.match, string.gmatch and
 * string.gsub for the pack sandbox, with a step budget.
 *
 * Lua's own matcher runs in C, where the sandbox's instruction budget never
 * fires: a pattern that backtracks badly over a large answer (".-.-.-x" over
 * a megabyte) would hold paygwd's only thread for hours. These replacements
 * implement the same pattern language (Lua 5.4 manual, section 6.4.1: classes,
 * sets, the four repetitions, anchors, captures and position captures,
 * back-references, %b and %f) and the same four functions, but count every
 * step of the matcher; past the budget of one call (20 M steps plus 64 per
 * byte of the subject; per iteration for gmatch) they raise "pattern matching
 * budget exhausted", which the pack call reports like any script error (an
 * answer is then PROCESSING). tests/unit/test_lua_pattern.c checks
 * them against the real functions on a few hundred cases.
 */

#include <ctype.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "pgw_adapter.h"

/* steps per call: a fixed allowance plus some per byte of the subject, so a
 * linear pass over a large statement fits and a quadratic one over a few
 * hundred kilobytes does not */
#define PGW_PATTERN_STEPS 20000000L
#define PGW_PATTERN_STEPS_PER_BYTE 64
#define PGW_PAT_MAXCAPTURES 32
#define PGW_PAT_MAXDEPTH 200
#define PGW_CAP_UNFINISHED (-1)
#define PGW_CAP_POSITION (-2)
#define PGW_ESC '%'
#define PGW_SPECIALS "^$*+?.([%-"

struct pgw_ms {
    const char *src_init, *src_end, *p_end;
    lua_State *L;
    long steps;
    long budget;
    int depth;
    int level;
    struct {
        const char *init;
        ptrdiff_t len;
    } capture[PGW_PAT_MAXCAPTURES];
};


static void
pgw_ms_step(struct pgw_ms *ms)
{
    if (++ms->steps > ms->budget) {
        luaL_error(ms->L, "pattern matching budget exhausted (%I steps)",
                   (lua_Integer) ms->budget);
    }
}


static int
pgw_check_capture(struct pgw_ms *ms, int l)
{
    l -= '1';
    if (l < 0 || l >= ms->level || ms->capture[l].len == PGW_CAP_UNFINISHED) {
        return luaL_error(ms->L, "invalid capture index %%%d", l + 1);
    }
    return l;
}


static int
pgw_capture_to_close(struct pgw_ms *ms)
{
    int level = ms->level;

    for (level--; level >= 0; level--) {
        if (ms->capture[level].len == PGW_CAP_UNFINISHED) {
            return level;
        }
    }
    return luaL_error(ms->L, "invalid pattern capture");
}


/* the end of the single-character class starting at p */
static const char *
pgw_class_end(struct pgw_ms *ms, const char *p)
{
    switch (*p++) {
    case PGW_ESC:
        if (p == ms->p_end) {
            luaL_error(ms->L, "malformed pattern (ends with '%%')");
        }
        return p + 1;
    case '[':
        if (*p == '^') {
            p++;
        }
        do {
            if (p == ms->p_end) {
                luaL_error(ms->L, "malformed pattern (missing ']')");
            }
            if (*(p++) == PGW_ESC && p < ms->p_end) {
                p++;
            }
        } while (*p != ']');
        return p + 1;
    default:
        return p;
    }
}


static int
pgw_single_class(int c, int cl)
{
    int res;

    switch (tolower(cl)) {
    case 'a': res = isalpha(c); break;
    case 'c': res = iscntrl(c); break;
    case 'd': res = isdigit(c); break;
    case 'g': res = isgraph(c); break;
    case 'l': res = islower(c); break;
    case 'p': res = ispunct(c); break;
    case 's': res = isspace(c); break;
    case 'u': res = isupper(c); break;
    case 'w': res = isalnum(c); break;
    case 'x': res = isxdigit(c); break;
    case 'z': res = c == 0; break;      /* deprecated in 5.2, still there */
    default: return cl == c;
    }
    if (isupper(cl)) {
        res = !res;
    }
    return res;
}


/* c in the set [p .. ec] (p at '[', ec at ']') */
static int
pgw_in_set(int c, const char *p, const char *ec)
{
    int sig = 1;

    if (*(p + 1) == '^') {
        sig = 0;
        p++;
    }
    while (++p < ec) {
        if (*p == PGW_ESC) {
            p++;
            if (pgw_single_class(c, (unsigned char) *p)) {
                return sig;
            }
        } else if (*(p + 1) == '-' && p + 2 < ec) {
            p += 2;
            if ((unsigned char) *(p - 2) <= c && c <= (unsigned char) *p) {
                return sig;
            }
        } else if ((unsigned char) *p == c) {
            return sig;
        }
    }
    return !sig;
}


static int
pgw_single_match(struct pgw_ms *ms, const char *s, const char *p, const char *ep)
{
    int c;

    if (s >= ms->src_end) {
        return 0;
    }
    c = (unsigned char) *s;
    switch (*p) {
    case '.':
        return 1;
    case PGW_ESC:
        return pgw_single_class(c, (unsigned char) *(p + 1));
    case '[':
        return pgw_in_set(c, p, ep - 1);
    default:
        return (unsigned char) *p == c;
    }
}


static const char *pgw_do_match(struct pgw_ms *ms, const char *s, const char *p);


static const char *
pgw_match_balance(struct pgw_ms *ms, const char *s, const char *p)
{
    int b, e, cont;

    if (p >= ms->p_end - 1) {
        luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    }
    if (*s != *p) {
        return NULL;
    }
    b = *p;
    e = *(p + 1);
    cont = 1;
    while (++s < ms->src_end) {
        pgw_ms_step(ms);
        if (*s == e) {
            if (--cont == 0) {
                return s + 1;
            }
        } else if (*s == b) {
            cont++;
        }
    }
    return NULL;
}


static const char *
pgw_max_expand(struct pgw_ms *ms, const char *s, const char *p, const char *ep)
{
    ptrdiff_t i = 0;

    while (pgw_single_match(ms, s + i, p, ep)) {
        pgw_ms_step(ms);
        i++;
    }
    while (i >= 0) {
        const char *res = pgw_do_match(ms, s + i, ep + 1);
        if (res) {
            return res;
        }
        i--;
    }
    return NULL;
}


static const char *
pgw_min_expand(struct pgw_ms *ms, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *res = pgw_do_match(ms, s, ep + 1);
        if (res != NULL) {
            return res;
        }
        if (!pgw_single_match(ms, s, p, ep)) {
            return NULL;
        }
        s++;
    }
}


static const char *
pgw_start_capture(struct pgw_ms *ms, const char *s, const char *p, int what)
{
    const char *res;
    int level = ms->level;

    if (level >= PGW_PAT_MAXCAPTURES) {
        luaL_error(ms->L, "too many captures");
    }
    ms->capture[level].init = s;
    ms->capture[level].len = what;
    ms->level = level + 1;
    if ((res = pgw_do_match(ms, s, p)) == NULL) {
        ms->level--;
    }
    return res;
}


static const char *
pgw_end_capture(struct pgw_ms *ms, const char *s, const char *p)
{
    int l = pgw_capture_to_close(ms);
    const char *res;

    ms->capture[l].len = s - ms->capture[l].init;
    if ((res = pgw_do_match(ms, s, p)) == NULL) {
        ms->capture[l].len = PGW_CAP_UNFINISHED;
    }
    return res;
}


static const char *
pgw_match_capture(struct pgw_ms *ms, const char *s, int l)
{
    size_t len;

    l = pgw_check_capture(ms, l);
    len = (size_t) ms->capture[l].len;
    if ((size_t) (ms->src_end - s) >= len
        && memcmp(ms->capture[l].init, s, len) == 0) {
        return s + len;
    }
    return NULL;
}


/* the matcher: NULL when p does not match at s, else the end of the match */
static const char *
pgw_do_match(struct pgw_ms *ms, const char *s, const char *p)
{
    if (ms->depth-- == 0) {
        luaL_error(ms->L, "pattern too complex");
    }
    pgw_ms_step(ms);
    while (p != ms->p_end) {
        const char *ep;

        pgw_ms_step(ms);
        switch (*p) {
        case '(':
            if (*(p + 1) == ')') {
                s = pgw_start_capture(ms, s, p + 2, PGW_CAP_POSITION);
            } else {
                s = pgw_start_capture(ms, s, p + 1, PGW_CAP_UNFINISHED);
            }
            goto done;
        case ')':
            s = pgw_end_capture(ms, s, p + 1);
            goto done;
        case '$':
            if (p + 1 != ms->p_end) {
                goto dflt;
            }
            s = s == ms->src_end ? s : NULL;
            goto done;
        case PGW_ESC:
            switch (*(p + 1)) {
            case 'b':
                s = pgw_match_balance(ms, s, p + 2);
                if (s != NULL) {
                    p += 4;
                    continue;
                }
                goto done;
            case 'f': {
                const char *set;
                int previous, current;
                p += 2;
                if (*p != '[') {
                    luaL_error(ms->L, "missing '[' after '%%f' in pattern");
                }
                set = p;
                ep = pgw_class_end(ms, p);
                previous = s == ms->src_init ? '\0' : (unsigned char) *(s - 1);
                current = s < ms->src_end ? (unsigned char) *s : '\0';
                if (!pgw_in_set(previous, set, ep - 1)
                    && pgw_in_set(current, set, ep - 1)) {
                    p = ep;
                    continue;
                }
                s = NULL;
                goto done;
            }
            case '0': case '1': case '2': case '3': case '4':
            case '5': case '6': case '7': case '8': case '9':
                s = pgw_match_capture(ms, s, (unsigned char) *(p + 1));
                if (s != NULL) {
                    p += 2;
                    continue;
                }
                goto done;
            default:
                goto dflt;
            }
        default:
        dflt:
            ep = pgw_class_end(ms, p);
            if (!pgw_single_match(ms, s, p, ep)) {
                if (*ep == '*' || *ep == '?' || *ep == '-') {
                    p = ep + 1;
                    continue;
                }
                s = NULL;
            } else {
                switch (*ep) {
                case '?': {
                    const char *res = pgw_do_match(ms, s + 1, ep + 1);
                    if (res != NULL) {
                        s = res;
                    } else {
                        p = ep + 1;
                        continue;
                    }
                    break;
                }
                case '+':
                    s = pgw_max_expand(ms, s + 1, p, ep);
                    break;
                case '*':
                    s = pgw_max_expand(ms, s, p, ep);
                    break;
                case '-':
                    s = pgw_min_expand(ms, s, p, ep);
                    break;
                default:
                    s++;
                    p = ep;
                    continue;
                }
            }
            goto done;
        }
    }
done:
    ms->depth++;
    return s;
}


/* ---- captures to Lua values ------------------------------------------------------ */

static size_t
pgw_get_onecapture(struct pgw_ms *ms, int i, const char *s, const char *e,
                   const char **cap)
{
    if (i >= ms->level) {
        if (i != 0) {
            luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        }
        *cap = s;
        return (size_t) (e - s);
    }
    ptrdiff_t capl = ms->capture[i].len;
    *cap = ms->capture[i].init;
    if (capl == PGW_CAP_UNFINISHED) {
        luaL_error(ms->L, "unfinished capture");
    } else if (capl == PGW_CAP_POSITION) {
        lua_pushinteger(ms->L, (ms->capture[i].init - ms->src_init) + 1);
    }
    return (size_t) capl;
}


static void
pgw_push_onecapture(struct pgw_ms *ms, int i, const char *s, const char *e)
{
    const char *cap;
    ptrdiff_t l = (ptrdiff_t) pgw_get_onecapture(ms, i, s, e, &cap);

    if (l != PGW_CAP_POSITION) {
        lua_pushlstring(ms->L, cap, (size_t) l);
    }
}


static int
pgw_push_captures(struct pgw_ms *ms, const char *s, const char *e)
{
    int nlevels = (ms->level == 0 && s) ? 1 : ms->level;

    luaL_checkstack(ms->L, nlevels, "too many captures");
    for (int i = 0; i < nlevels; i++) {
        pgw_push_onecapture(ms, i, s, e);
    }
    return nlevels;
}


/* ---- the four functions ---------------------------------------------------------- */

static size_t
pgw_posrelat(lua_Integer pos, size_t len)
{
    if (pos > 0) {
        return (size_t) pos;
    } else if (pos == 0) {
        return 1;
    } else if (pos < -(lua_Integer) len) {
        return 1;
    }
    return len + (size_t) pos + 1;
}


static void
pgw_ms_init(struct pgw_ms *ms, lua_State *L, const char *s, size_t ls,
            const char *p, size_t lp)
{
    ms->L = L;
    ms->steps = 0;
    ms->budget = PGW_PATTERN_STEPS
                 + (long) (ls < 64000000 ? ls : 64000000) * PGW_PATTERN_STEPS_PER_BYTE;
    ms->depth = PGW_PAT_MAXDEPTH;
    ms->src_init = s;
    ms->src_end = s + ls;
    ms->p_end = p + lp;
    ms->level = 0;
}


static int
pgw_nospecials(const char *p, size_t l)
{
    size_t upto = 0;

    do {
        if (strpbrk(p + upto, PGW_SPECIALS)) {
            return 0;
        }
        upto += strlen(p + upto) + 1;
    } while (upto <= l);
    return 1;
}


static const char *
pgw_memfind(const char *s1, size_t l1, const char *s2, size_t l2)
{
    if (l2 == 0) {
        return s1;
    }
    if (l2 > l1) {
        return NULL;
    }
    for (size_t i = 0; i + l2 <= l1; i++) {
        if (s1[i] == s2[0] && memcmp(s1 + i, s2, l2) == 0) {
            return s1 + i;
        }
    }
    return NULL;
}


static int
pgw_str_find_aux(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = pgw_posrelat(luaL_optinteger(L, 3, 1), ls) - 1;

    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || pgw_nospecials(p, lp))) {
        const char *s2 = pgw_memfind(s + init, ls - init, p, lp);
        if (s2) {
            lua_pushinteger(L, (s2 - s) + 1);
            lua_pushinteger(L, (lua_Integer) ((s2 - s) + (ptrdiff_t) lp));
            return 2;
        }
    } else {
        struct pgw_ms ms;
        const char *s1 = s + init;
        int anchor = (*p == '^');

        if (anchor) {
            p++;
            lp--;
        }
        pgw_ms_init(&ms, L, s, ls, p, lp);
        do {
            const char *res;
            ms.level = 0;
            ms.depth = PGW_PAT_MAXDEPTH;
            if ((res = pgw_do_match(&ms, s1, p)) != NULL) {
                if (find) {
                    lua_pushinteger(L, (s1 - s) + 1);
                    lua_pushinteger(L, res - s);
                    return pgw_push_captures(&ms, NULL, NULL) + 2;
                }
                return pgw_push_captures(&ms, s1, res);
            }
        } while (s1++ < ms.src_end && !anchor);
    }
    luaL_pushfail(L);
    return 1;
}


static int
pgw_str_find(lua_State *L)
{
    return pgw_str_find_aux(L, 1);
}


static int
pgw_str_match(lua_State *L)
{
    return pgw_str_find_aux(L, 0);
}


struct pgw_gmatch {
    const char *src;
    const char *p;
    const char *lastmatch;
    struct pgw_ms ms;
};


static int
pgw_gmatch_aux(lua_State *L)
{
    struct pgw_gmatch *gm = (struct pgw_gmatch *) lua_touserdata(L, lua_upvalueindex(3));
    const char *src;

    gm->ms.L = L;
    gm->ms.steps = 0;           /* each iteration has its own budget */
    for (src = gm->src; src <= gm->ms.src_end; src++) {
        const char *e;
        gm->ms.level = 0;
        gm->ms.depth = PGW_PAT_MAXDEPTH;
        if ((e = pgw_do_match(&gm->ms, src, gm->p)) != NULL && e != gm->lastmatch) {
            gm->src = gm->lastmatch = e;
            return pgw_push_captures(&gm->ms, src, e);
        }
    }
    return 0;
}


static int
pgw_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = pgw_posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
    struct pgw_gmatch *gm;

    lua_settop(L, 2);
    gm = (struct pgw_gmatch *) lua_newuserdatauv(L, sizeof(*gm), 0);
    if (init > ls) {
        init = ls + 1;          /* start after the end: no match */
    }
    pgw_ms_init(&gm->ms, L, s, ls, p, lp);
    gm->src = s + init;
    gm->p = p;
    gm->lastmatch = NULL;
    lua_pushcclosure(L, pgw_gmatch_aux, 3);   /* s, p and gm stay alive */
    return 1;
}


static void
pgw_add_s(struct pgw_ms *ms, luaL_Buffer *b, const char *s, const char *e)
{
    size_t l;
    lua_State *L = ms->L;
    const char *news = lua_tolstring(L, 3, &l);
    const char *p;

    while ((p = (const char *) memchr(news, PGW_ESC, l)) != NULL) {
        luaL_addlstring(b, news, (size_t) (p - news));
        p++;
        if (*p == PGW_ESC) {
            luaL_addchar(b, *p);
        } else if (*p == '0') {
            luaL_addlstring(b, s, (size_t) (e - s));
        } else if (isdigit((unsigned char) *p)) {
            const char *cap;
            ptrdiff_t resl = (ptrdiff_t) pgw_get_onecapture(ms, *p - '1', s, e, &cap);
            if (resl == PGW_CAP_POSITION) {
                luaL_addvalue(b);
            } else {
                luaL_addlstring(b, cap, (size_t) resl);
            }
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", PGW_ESC);
        }
        l -= (size_t) (p + 1 - news);
        news = p + 1;
    }
    luaL_addlstring(b, news, l);
}


/* 1 when the match was replaced, 0 when it is kept */
static int
pgw_add_value(struct pgw_ms *ms, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = ms->L;

    switch (tr) {
    case LUA_TFUNCTION: {
        int n;
        lua_pushvalue(L, 3);
        n = pgw_push_captures(ms, s, e);
        lua_call(L, n, 1);
        break;
    }
    case LUA_TTABLE:
        pgw_push_onecapture(ms, 0, s, e);
        lua_gettable(L, 3);
        break;
    default:
        pgw_add_s(ms, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t) (e - s));
        return 0;
    } else if (!lua_isstring(L, -1)) {
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    }
    luaL_addvalue(b);
    return 1;
}


static int
pgw_gsub(lua_State *L)
{
    size_t srcl, lp;
    const char *src = luaL_checklstring(L, 1, &srcl);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *lastmatch = NULL;
    int tr = lua_type(L, 3);
    lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer) srcl + 1);
    int anchor = (*p == '^');
    lua_Integer n = 0;
    int changed = 0;
    struct pgw_ms ms;
    luaL_Buffer b;

    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION
                     || tr == LUA_TTABLE, 3, "string/function/table");
    luaL_buffinit(L, &b);
    if (anchor) {
        p++;
        lp--;
    }
    pgw_ms_init(&ms, L, src, srcl, p, lp);
    while (n < max_s) {
        const char *e;
        ms.level = 0;
        ms.depth = PGW_PAT_MAXDEPTH;
        if ((e = pgw_do_match(&ms, src, p)) != NULL && e != lastmatch) {
            n++;
            changed = pgw_add_value(&ms, &b, src, e, tr) | changed;
            src = lastmatch = e;
        } else if (src < ms.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor) {
            break;
        }
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t) (ms.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}


/* replaces the four functions in the string table on top of the stack */
void
pgw_lua_pattern_install(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"find", pgw_str_find},
        {"match", pgw_str_match},
        {"gmatch", pgw_gmatch},
        {"gsub", pgw_gsub},
        {NULL, NULL},
    };

    luaL_setfuncs(L, fns, 0);
}
