/*
 * pgw_mask.c -- masks channel messages before they reach the message log.
 *
 * Two passes over the text, whatever its format:
 *  1. values of the named fields become *** in
 *       JSON   "name" : "value"   (or a scalar / nested value) -> "name":"***"
 *       XML    <name ...>value</name>  (CDATA included)        -> <name>***</name>
 *       form   name=value (at the start or after '&')          -> name=***
 *  2. every maximal run of 13-19 ASCII digits (a possible card number)
 *     becomes its first 6 digits + "****" + its last 4.
 * Over-masking is acceptable, leaking is not: a name matched in an
 * unexpected place is masked anyway.
 */

#include <stdlib.h>
#include <string.h>

#include "pgw_buf.h"
#include "pgw_pack.h"


static size_t
pgw_mask_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) {
        i++;
    }
    return i;
}


/* end of the JSON value starting at i (not past len) */
static size_t
pgw_mask_json_value_end(const char *s, size_t len, size_t i)
{
    int depth = 0, in_str = 0;

    if (i < len && s[i] == '"') {
        for (i++; i < len; i++) {
            if (s[i] == '\\') {
                i++;
            } else if (s[i] == '"') {
                return i + 1;
            }
        }
        return len;
    }
    if (i < len && (s[i] == '{' || s[i] == '[')) {
        for (; i < len; i++) {
            if (in_str) {
                if (s[i] == '\\') {
                    i++;
                } else if (s[i] == '"') {
                    in_str = 0;
                }
            } else if (s[i] == '"') {
                in_str = 1;
            } else if (s[i] == '{' || s[i] == '[') {
                depth++;
            } else if ((s[i] == '}' || s[i] == ']') && --depth == 0) {
                return i + 1;
            }
        }
        return len;
    }
    while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' '
           && s[i] != '\r' && s[i] != '\n' && s[i] != '\t') {
        i++;
    }
    return i;
}


/* Is a masked field name at s[i..]? returns its length or 0 */
static size_t
pgw_mask_name_at(const char *s, size_t len, size_t i, const json_t *fields,
                 char terminator_set_kind)
{
    size_t k, n = json_array_size(fields);

    for (k = 0; k < n; k++) {
        const char *name = json_string_value(json_array_get(fields, k));
        size_t nl;
        char t;

        if (name == NULL || (nl = strlen(name)) == 0 || i + nl >= len
            || memcmp(s + i, name, nl) != 0) {
            continue;
        }
        t = s[i + nl];
        if ((terminator_set_kind == 'j' && t == '"')
            || (terminator_set_kind == 'x' && (t == '>' || t == ' ' || t == '\t'))
            || (terminator_set_kind == 'f' && t == '=')) {
            return nl;
        }
    }
    return 0;
}


static int
pgw_mask_fields(const char *s, size_t len, const json_t *fields, struct pgw_buf *b)
{
    size_t i = 0, copied = 0;

    while (i < len) {
        size_t nl, v, e;

        if (s[i] == '"' && (nl = pgw_mask_name_at(s, len, i + 1, fields, 'j')) > 0) {
            v = pgw_mask_ws(s, len, i + 1 + nl + 1);
            if (v < len && s[v] == ':') {
                v = pgw_mask_ws(s, len, v + 1);
                e = pgw_mask_json_value_end(s, len, v);
                if (pgw_buf_add(b, s + copied, v - copied) != 0
                    || pgw_buf_adds(b, "\"***\"") != 0) {
                    return -1;
                }
                copied = i = e;
                continue;
            }
        } else if (s[i] == '<' && (nl = pgw_mask_name_at(s, len, i + 1, fields, 'x')) > 0) {
            const char *gt = memchr(s + i, '>', len - i);
            if (gt != NULL && gt[-1] != '/') {
                char close[160];
                const char *endtag;
                v = (size_t) (gt - s) + 1;
                if (nl + 4 <= sizeof(close)) {
                    close[0] = '<';
                    close[1] = '/';
                    memcpy(close + 2, s + i + 1, nl);
                    close[nl + 2] = '>';
                    endtag = memmem(s + v, len - v, close, nl + 3);
                    e = endtag != NULL ? (size_t) (endtag - s) : len;
                    if (pgw_buf_add(b, s + copied, v - copied) != 0
                        || pgw_buf_adds(b, "***") != 0) {
                        return -1;
                    }
                    copied = i = e;
                    continue;
                }
            }
        } else if ((i == 0 || s[i - 1] == '&')
                   && (nl = pgw_mask_name_at(s, len, i, fields, 'f')) > 0) {
            v = i + nl + 1;
            for (e = v; e < len && s[e] != '&'; e++) {
            }
            if (pgw_buf_add(b, s + copied, v - copied) != 0 || pgw_buf_adds(b, "***") != 0) {
                return -1;
            }
            copied = i = e;
            continue;
        }
        i++;
    }
    return pgw_buf_add(b, s + copied, len - copied);
}


static int
pgw_mask_digits(const char *s, size_t len, struct pgw_buf *b)
{
    size_t i = 0, copied = 0;

    while (i < len) {
        size_t j = i;

        if (s[i] < '0' || s[i] > '9') {
            i++;
            continue;
        }
        while (j < len && s[j] >= '0' && s[j] <= '9') {
            j++;
        }
        if (j - i >= 13 && j - i <= 19) {
            if (pgw_buf_add(b, s + copied, i + 6 - copied) != 0
                || pgw_buf_adds(b, "****") != 0 || pgw_buf_add(b, s + j - 4, 4) != 0) {
                return -1;
            }
            copied = j;
        }
        i = j;
    }
    return pgw_buf_add(b, s + copied, len - copied);
}


char *
pgw_mask_text(const char *text, size_t len, const json_t *fields)
{
    struct pgw_buf one = {NULL, 0, 0}, two = {NULL, 0, 0};
    char *out;

    if (text == NULL) {
        len = 0;
        text = "";
    }
    if (pgw_mask_fields(text, len, fields, &one) != 0
        || pgw_mask_digits(one.p != NULL ? one.p : "", one.len, &two) != 0) {
        free(one.p);
        free(two.p);
        return NULL;
    }
    free(one.p);
    out = pgw_buf_take(&two, NULL);
    return out;
}
