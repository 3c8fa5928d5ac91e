/*
 * pgw_buf.c -- a growable byte buffer (always NUL-terminated once non-empty)
 * for the adapters' encoders and the masker.  Lua-side users park the
 * buffer in a guard (pgw_lua_guard with pgw_buf_release) so a Lua error
 * while it is being filled cannot leak it.  Size is capped at PGW_BUF_MAX.
 */

#include <stdlib.h>
#include <string.h>

#include "pgw_buf.h"


struct pgw_buf *
pgw_buf_new(void)
{
    return calloc(1, sizeof(struct pgw_buf));
}


void
pgw_buf_release(void *p)
{
    struct pgw_buf *b = p;

    if (b != NULL) {
        free(b->p);
        free(b);
    }
}


int
pgw_buf_add(struct pgw_buf *b, const char *s, size_t n)
{
    if (n > PGW_BUF_MAX || b->len > PGW_BUF_MAX - n) {
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 256;
        char *p;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (p == NULL) {
            return -1;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}


int
pgw_buf_adds(struct pgw_buf *b, const char *s)
{
    return pgw_buf_add(b, s, strlen(s));
}


char *
pgw_buf_take(struct pgw_buf *b, size_t *len)
{
    char *p = b->p;

    if (p == NULL) {
        p = calloc(1, 1);
    }
    if (len != NULL) {
        *len = b->len;
    }
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}
