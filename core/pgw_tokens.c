/*
 * pgw_tokens.c — a token bucket: refilled at rate per second up to burst.
 */

#include "pgw_tokens.h"


int
pgw_tokens_take(struct pgw_tokens *b, double rate, double burst,
                int64_t now_ms, int64_t *wait_ms)
{
    if (burst < 1) {
        burst = 1;
    }
    if (b->at == 0) {
        b->tokens = burst;
    } else if (now_ms > b->at) {
        b->tokens += (double) (now_ms - b->at) * rate / 1000.0;
        if (b->tokens > burst) {
            b->tokens = burst;
        }
    }
    b->at = now_ms;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        *wait_ms = 0;
        return 1;
    }
    *wait_ms = rate > 0 ? (int64_t) ((1.0 - b->tokens) * 1000.0 / rate) + 1
                        : 60000;
    return 0;
}
