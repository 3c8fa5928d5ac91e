/*
 * pgw_base64.c -- standard base64 (RFC 4648, '+' '/', '=' padding) for the
 * keystore's bare-base64 keys and for gw.crypto.  Decoding skips ASCII
 * whitespace (keys arrive wrapped), rejects any other byte outside the
 * alphabet and misplaced padding, and accepts non-zero trailing bits (as the
 * channels' SDKs do).
 */

#include <stddef.h>

#include "pgw_adapter.h"


static const char pgw_b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


size_t
pgw_b64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}


void
pgw_b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned) in[i] << 16 | (unsigned) in[i + 1] << 8 | in[i + 2];
        out[o++] = pgw_b64_alpha[v >> 18 & 63];
        out[o++] = pgw_b64_alpha[v >> 12 & 63];
        out[o++] = pgw_b64_alpha[v >> 6 & 63];
        out[o++] = pgw_b64_alpha[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned) in[i] << 16;
        out[o++] = pgw_b64_alpha[v >> 18 & 63];
        out[o++] = pgw_b64_alpha[v >> 12 & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        unsigned v = (unsigned) in[i] << 16 | (unsigned) in[i + 1] << 8;
        out[o++] = pgw_b64_alpha[v >> 18 & 63];
        out[o++] = pgw_b64_alpha[v >> 12 & 63];
        out[o++] = pgw_b64_alpha[v >> 6 & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
}


static int
pgw_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}


int
pgw_b64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
    unsigned acc = 0;
    int bits = 0, pad = 0;
    size_t i, o = 0, nchars = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) in[i];
        int v;

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            continue;
        }
        if (c == '=') {
            pad++;
            nchars++;
            if (pad > 2) {
                return -1;
            }
            continue;
        }
        if (pad > 0) {
            return -1;             /* data after padding */
        }
        v = pgw_b64_value(c);
        if (v < 0) {
            return -1;
        }
        nchars++;
        acc = (acc << 6) | (unsigned) v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char) (acc >> bits & 0xff);
        }
    }
    if (pad > 0 && nchars % 4 != 0) {
        return -1;
    }
    if ((nchars - (size_t) pad) % 4 == 1) {
        return -1;                 /* a lone sextet is never valid */
    }
    *outlen = o;
    return 0;
}
