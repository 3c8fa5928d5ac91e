/*
 * pgw_schema.h — the store schema (SQL text shared by SQLite now and PostgreSQL
 * later: BIGINT ids assigned by the daemon, TEXT, no SQLite-only types).
 */

#ifndef PGW_SCHEMA_H
#define PGW_SCHEMA_H

#include <stddef.h>

#include <sqlite3.h>

extern const char pgw_schema_sql[];

/* adds the columns later versions added to existing tables (ALTER TABLE
 * ... ADD COLUMN, only where missing); 0, or -1 + err */
int pgw_schema_migrate(sqlite3 *db, char *err, size_t errlen);

#endif
