/*
 * pgw_recon_fetch.h — getting a statement: through the channel pack's bill
 * operation (blocking; the reconciliation worker only), and unpacking the
 * ZIP archive some channels serve (docs/reconciliation.md).
 */

#ifndef PGW_RECON_FETCH_H
#define PGW_RECON_FETCH_H

#include <stddef.h>

struct pgw_pack;

/* the statement of date (YYYY-MM-DD) as the channel serves it, unpacked;
 * 0 with *text (malloc, NUL-terminated) and *len, or -1 + err */
int pgw_recon_fetch(struct pgw_pack *pack, const char *date, long connect_ms,
                    long timeout_ms, char **text, size_t *len, char *err,
                    size_t errlen);

/* 1 when data starts like a ZIP archive */
int pgw_recon_is_zip(const char *data, size_t len);
/* the largest file of a ZIP archive (stored or deflated; the detail CSV of
 * an Alipay bill, its summary file being the smaller one); 0 with *out
 * (malloc, NUL-terminated) and *out_len, or -1 + err */
int pgw_recon_unzip(const char *data, size_t len, char **out, size_t *out_len,
                    char *err, size_t errlen);

#endif
