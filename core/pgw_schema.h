/*
 * pgw_schema.h — the store schema (SQL text shared by SQLite now and PostgreSQL
 * later: BIGINT ids assigned by the daemon, TEXT, no SQLite-only types).
 */

#ifndef PGW_SCHEMA_H
#define PGW_SCHEMA_H

extern const char pgw_schema_sql[];

#endif
