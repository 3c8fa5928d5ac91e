/*
 * pgw_time.c — wall-clock helpers: milliseconds since the epoch and RFC 3339 UTC
 * formatting for API answers (SPEC §3: times are RFC 3339 UTC).
 */

#include <time.h>

#include "pgw_core.h"


int64_t
pgw_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


void
pgw_rfc3339(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
