/*
 * pgw_recon_unzip.c — the one file a statement archive holds that matters:
 * the largest entry of a ZIP (PKWARE APPNOTE: end of central directory ->
 * central directory -> local header -> data), stored or deflated (zlib raw
 * inflate). No ZIP64, no encryption, no multi-disk: those are refused with
 * a message. Bounded: at most 512 MiB out, sizes checked against the input.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "pgw_recon_fetch.h"

#define PGW__UNZIP_MAX (512UL << 20)


static uint32_t
pgw__u16(const unsigned char *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8;
}


static uint32_t
pgw__u32(const unsigned char *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}


int
pgw_recon_is_zip(const char *data, size_t len)
{
    return len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0;
}


int
pgw_recon_unzip(const char *data, size_t len, char **out, size_t *out_len,
                char *err, size_t errlen)
{
    const unsigned char *z = (const unsigned char *) data;
    const unsigned char *eocd = NULL, *cd, *best = NULL;
    size_t i, off, n_entries;
    uint32_t best_size = 0;

    *out = NULL;
    *out_len = 0;
    if (len < 22) {
        snprintf(err, errlen, "zip: too short");
        return -1;
    }
    for (i = len - 22 + 1; i-- > 0 && len - i <= 22 + 65535;) {
        if (pgw__u32(z + i) == 0x06054b50) {
            eocd = z + i;
            break;
        }
    }
    if (eocd == NULL) {
        snprintf(err, errlen, "zip: no end of central directory");
        return -1;
    }
    n_entries = pgw__u16(eocd + 10);
    off = pgw__u32(eocd + 16);
    if (pgw__u16(eocd + 4) != 0 || off == 0xffffffffU || n_entries == 0xffff) {
        snprintf(err, errlen, "zip: multi-disk or ZIP64 archives are not supported");
        return -1;
    }
    for (i = 0; i < n_entries; i++) {
        uint32_t name_len, extra_len, comment_len, usize;

        if (off + 46 > len || pgw__u32(z + off) != 0x02014b50) {
            snprintf(err, errlen, "zip: bad central directory");
            return -1;
        }
        cd = z + off;
        name_len = pgw__u16(cd + 28);
        extra_len = pgw__u16(cd + 30);
        comment_len = pgw__u16(cd + 32);
        usize = pgw__u32(cd + 24);
        if (name_len > 0 && cd[46 + name_len - 1] != '/' && (best == NULL || usize > best_size)) {
            best = cd;
            best_size = usize;
        }
        off += 46 + (size_t) name_len + extra_len + comment_len;
    }
    if (best == NULL) {
        snprintf(err, errlen, "zip: no file in the archive");
        return -1;
    }

    uint32_t flags = pgw__u16(best + 8), method = pgw__u16(best + 10);
    uint32_t csize = pgw__u32(best + 20), usize = pgw__u32(best + 24);
    size_t loc = pgw__u32(best + 42), data_off;

    if (flags & 1) {
        snprintf(err, errlen, "zip: encrypted entries are not supported");
        return -1;
    }
    if (usize > PGW__UNZIP_MAX || csize == 0xffffffffU || usize == 0xffffffffU) {
        snprintf(err, errlen, "zip: entry too large (%lu bytes)", (unsigned long) usize);
        return -1;
    }
    if (loc + 30 > len || pgw__u32(z + loc) != 0x04034b50) {
        snprintf(err, errlen, "zip: bad local header");
        return -1;
    }
    data_off = loc + 30 + pgw__u16(z + loc + 26) + pgw__u16(z + loc + 28);
    if (data_off > len || csize > len - data_off) {
        snprintf(err, errlen, "zip: entry runs past the archive");
        return -1;
    }
    *out = malloc((size_t) usize + 1);
    if (*out == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (method == 0) {
        if (csize != usize) {
            free(*out);
            *out = NULL;
            snprintf(err, errlen, "zip: stored entry with two sizes");
            return -1;
        }
        memcpy(*out, z + data_off, usize);
    } else if (method == 8) {
        z_stream s;
        int rc;

        memset(&s, 0, sizeof(s));
        if (inflateInit2(&s, -MAX_WBITS) != Z_OK) {
            free(*out);
            *out = NULL;
            snprintf(err, errlen, "zip: inflate init");
            return -1;
        }
        s.next_in = (Bytef *) (z + data_off);
        s.avail_in = csize;
        s.next_out = (Bytef *) *out;
        s.avail_out = usize;
        rc = inflate(&s, Z_FINISH);
        inflateEnd(&s);
        if (rc != Z_STREAM_END || s.total_out != usize) {
            free(*out);
            *out = NULL;
            snprintf(err, errlen, "zip: the entry does not inflate to its size");
            return -1;
        }
    } else {
        free(*out);
        *out = NULL;
        snprintf(err, errlen, "zip: compression method %lu is not supported",
                 (unsigned long) method);
        return -1;
    }
    (*out)[usize] = '\0';
    *out_len = usize;
    return 0;
}
