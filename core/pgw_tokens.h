/*
 * pgw_tokens.h — a token bucket (pure; the ?refresh=true limit per app).
 */

#ifndef PGW_TOKENS_H
#define PGW_TOKENS_H

#include <stdint.h>

struct pgw_tokens {
    double tokens;
    int64_t at;                  /* ms of the last refill; 0: new (full) */
};

/* Takes one token (1) or says how long until one is there (0, *wait_ms).
 * rate: tokens per second, burst: the bucket's size (>= 1). */
int pgw_tokens_take(struct pgw_tokens *b, double rate, double burst,
                    int64_t now_ms, int64_t *wait_ms);

#endif
