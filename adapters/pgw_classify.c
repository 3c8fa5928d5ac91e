/*
 * pgw_classify.c -- the host classifier: one extracted code + an operation's
 * code lists -> enum pgw_class.
 *
 * The white-list rule lives here and nowhere else: exact byte match of the
 * whole code against the lists; a code found on exactly one list gets that
 * list's class; a code on no list, on several lists, an empty or absent
 * code, or absent lists -> PGW_CLASS_PROCESSING.  List names:
 * success, failure, processing, closed, not_found, rejected (-> NOT_SENT).
 * A list is {"codes":[...], "source":"<doc URL>"} (a bare array is also
 * accepted).
 */

#include <string.h>

#include "pgw_pack.h"


static const struct {
    const char *list;
    enum pgw_class cls;
} pgw_classify_lists[] = {
    {"success", PGW_CLASS_SUCCESS},
    {"failure", PGW_CLASS_FAILED},
    {"processing", PGW_CLASS_PROCESSING},
    {"closed", PGW_CLASS_CLOSED},
    {"not_found", PGW_CLASS_NOT_FOUND},
    {"rejected", PGW_CLASS_NOT_SENT},
};


static int
pgw_classify_in(const json_t *list, const char *code)
{
    const json_t *codes = json_is_object(list) ? json_object_get(list, "codes") : list;
    size_t i, n = json_array_size(codes);

    for (i = 0; i < n; i++) {
        const json_t *c = json_array_get(codes, i);
        if (json_is_string(c) && strlen(json_string_value(c)) == json_string_length(c)
            && strcmp(json_string_value(c), code) == 0) {
            return 1;
        }
    }
    return 0;
}


enum pgw_class
pgw_classify(const json_t *op_codes, const char *code)
{
    enum pgw_class cls = PGW_CLASS_PROCESSING;
    size_t i;
    int hits = 0;

    if (code == NULL || code[0] == '\0' || !json_is_object(op_codes)) {
        return PGW_CLASS_PROCESSING;
    }
    for (i = 0; i < sizeof(pgw_classify_lists) / sizeof(pgw_classify_lists[0]); i++) {
        const json_t *list = json_object_get(op_codes, pgw_classify_lists[i].list);
        if (list != NULL && pgw_classify_in(list, code)) {
            hits++;
            cls = pgw_classify_lists[i].cls;
        }
    }
    return hits == 1 ? cls : PGW_CLASS_PROCESSING;
}


int
pgw_classify_mapped(const json_t *op_codes, const char *code)
{
    size_t i;

    if (code == NULL || code[0] == '\0' || !json_is_object(op_codes)) {
        return 0;
    }
    for (i = 0; i < sizeof(pgw_classify_lists) / sizeof(pgw_classify_lists[0]); i++) {
        const json_t *list = json_object_get(op_codes, pgw_classify_lists[i].list);
        if (list != NULL && pgw_classify_in(list, code)) {
            return 1;
        }
    }
    return 0;
}


static const char *const pgw_class_names[] = {
    "PROCESSING", "SUCCESS", "FAILED", "CLOSED", "NOT_FOUND", "NOT_SENT"
};


const char *
pgw_class_name(enum pgw_class cls)
{
    if ((unsigned) cls >= sizeof(pgw_class_names) / sizeof(pgw_class_names[0])) {
        return "PROCESSING";
    }
    return pgw_class_names[cls];
}


int
pgw_class_from_name(const char *name, enum pgw_class *out)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof(pgw_class_names) / sizeof(pgw_class_names[0]);
         i++) {
        if (strcmp(name, pgw_class_names[i]) == 0) {
            *out = (enum pgw_class) i;
            return 0;
        }
    }
    return -1;
}
