/* t/unit/json.h: a minimal JSON tree parser for the test vectors.
 *
 * zt_json_parse() builds a tree from a complete document; strings are
 * unescaped (\uXXXX to UTF-8), numbers kept as double. Object members keep
 * their order. One zt_json_free() releases the whole tree. */
#ifndef ZT_TEST_JSON_H
#define ZT_TEST_JSON_H

#include <stddef.h>

typedef enum {
    ZT_JSON_NULL,
    ZT_JSON_BOOL,
    ZT_JSON_NUMBER,
    ZT_JSON_STRING,
    ZT_JSON_ARRAY,
    ZT_JSON_OBJECT
} zt_json_type;

typedef struct zt_json {
    zt_json_type type;
    char *key;             /* member name when inside an object */
    char *str;             /* ZT_JSON_STRING, NUL-terminated */
    size_t str_len;
    double num;            /* ZT_JSON_NUMBER; ZT_JSON_BOOL: 0 or 1 */
    struct zt_json *child; /* first element / member */
    struct zt_json *next;  /* next sibling */
    size_t n;              /* number of children */
} zt_json;

/* NULL on a syntax error (err, if not NULL, gets the byte offset). */
zt_json *zt_json_parse(const char *text, size_t len, size_t *err);
void zt_json_free(zt_json *j);

/* Member of an object by name, or NULL. */
const zt_json *zt_json_get(const zt_json *obj, const char *key);
/* String member, or NULL if absent or not a string. */
const char *zt_json_str(const zt_json *obj, const char *key);
/* Integer member, or def if absent or not a number. */
long zt_json_int(const zt_json *obj, const char *key, long def);

#endif
