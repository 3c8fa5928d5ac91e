/*
 * pgw_log.h — JSON-lines logging to stderr (SPEC §6). Callers pass already-masked
 * text: card numbers and secrets never reach this layer.
 */

#ifndef PGW_LOG_H
#define PGW_LOG_H

enum pgw_log_level { PGW_LOG_DEBUG, PGW_LOG_INFO, PGW_LOG_WARN, PGW_LOG_ERROR };

void pgw_log_set_level(enum pgw_log_level level);
int pgw_log_parse_level(const char *name, enum pgw_log_level *out);
void pgw_log(enum pgw_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
