/*
 * pgwctl_scaffold: "paygwctl channel new" (a pack skeleton from an archetype)
 * and the fixture writer of "paygwctl channel record".
 */
#ifndef PGWCTL_SCAFFOLD_H
#define PGWCTL_SCAFFOLD_H

#include <jansson.h>

/* Writes <dir>/templates/<name>.lua, <dir>/scripts/<name>.lua and
 * <dir>/templates/<name>.fixtures/{cases.lua,keys/} from the archetype
 * <family> found under <from>/templates/archetypes/ (from NULL: $PAYGW_SHARE,
 * else the tree paygwctl was built or installed in).  Refuses to overwrite
 * anything.  Returns a PGWCTL_EXIT_* status. */
int pgwctl_scaffold_new(const char *name, const char *family, const char *dir,
                        const char *from);

/* Is name a valid new channel name ([a-z0-9_]{2,31})? */
int pgwctl_scaffold_name_ok(const char *name);

/* Appends the Lua text of one fixture case (a table constructor followed by
 * ",\n", preceded by comment) to the cases list of the cases.lua at path
 * (before the "-- paygwctl channel record appends here" marker, else before
 * the closing brace of the returned table's last member).  The old content
 * is kept in *old (malloc'ed) so the caller can restore it.  0 or -1 + err. */
int pgwctl_fixture_append(const char *path, const char *case_text, char **old,
                          size_t *old_len, char *err, size_t errlen);

/* Lua source for a JSON value (strings as long brackets when they hold
 * quotes or newlines), indented by `indent` spaces at nested levels. */
char *pgwctl_lua_value(const json_t *v, int indent);

/* Writes len bytes to path (0600 when private); 0 or -1 + err. */
int pgwctl_write_file(const char *path, const char *data, size_t len, int private_file,
                      char *err, size_t errlen);

#endif
