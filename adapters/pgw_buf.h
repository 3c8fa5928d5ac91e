/*
 * pgw_buf.h -- growable byte buffer used inside adapters/ (see pgw_buf.c).
 */

#ifndef PGW_BUF_H
#define PGW_BUF_H

#include <stddef.h>

#define PGW_BUF_MAX (64u * 1024u * 1024u)

struct pgw_buf {
    char *p;
    size_t len;
    size_t cap;
};

struct pgw_buf *pgw_buf_new(void);                    /* new, NULL on ENOMEM */
void pgw_buf_release(void *b);                         /* frees buffer + struct */
int pgw_buf_add(struct pgw_buf *, const char *s, size_t n);   /* 0 / -1 */
int pgw_buf_adds(struct pgw_buf *, const char *s);
char *pgw_buf_take(struct pgw_buf *, size_t *len);     /* new string, buffer emptied */

#endif /* PGW_BUF_H */
