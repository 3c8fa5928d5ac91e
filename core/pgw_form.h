/*
 * pgw_form.h — scheme B request bodies (SPEC §3.1): nginx has verified the
 * form's signature and forwards the body unchanged as
 * application/x-www-form-urlencoded; paygwd turns it into the same JSON
 * request the JSON path takes, so both encodings of one order hash alike.
 */

#ifndef PGW_FORM_H
#define PGW_FORM_H

#include <stddef.h>

#include <jansson.h>

/* 1 if the Content-Type value names a form body (any case, parameters ok) */
int pgw_form_is_form(const char *content_type);

/* Decodes body ('+' is a space, %XX escapes) into a new JSON object:
 * the signature parameters app_id, timestamp, nonce_str, sign_type and sign
 * are dropped (app_id is copied to app_id_out, "" when absent), as are empty
 * values (scheme B does not sign them); amount and expire_seconds become
 * integers, sync a boolean ("true"/"false"), payer and extra JSON objects,
 * everything else strings. New reference, or NULL with the reason in why
 * (a malformed escape, a repeated name, a non-integer amount, ...). */
json_t *pgw_form_request(const char *body, size_t len, char *app_id_out,
                         size_t app_id_len, char *why, size_t whylen);

#endif
