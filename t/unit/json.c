/* t/unit/json.c: minimal recursive-descent JSON parser (RFC 8259). */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ZT_JSON_MAX_DEPTH 64

typedef struct {
    const char *p, *end, *start;
} jp;

static zt_json *parse_value(jp *s, int depth);

static void skip_ws(jp *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
                             *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static zt_json *node(zt_json_type t)
{
    zt_json *j = calloc(1, sizeof(*j));

    if (j != NULL)
        j->type = t;
    return j;
}

static int hex4(jp *s, unsigned *v)
{
    int i;

    *v = 0;
    if (s->end - s->p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        char c = *s->p++;

        *v <<= 4;
        if (c >= '0' && c <= '9')
            *v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            *v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            *v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parse a string starting at '"'; returns a malloc'd NUL-terminated copy.
 * The unescaped form is never longer than the escaped one. */
static char *parse_string(jp *s, size_t *out_len)
{
    const char *q;
    char *out, *o;

    if (s->p >= s->end || *s->p != '"')
        return NULL;
    s->p++;
    for (q = s->p; q < s->end && *q != '"'; q++)
        if (*q == '\\')
            q++;
    if (q >= s->end)
        return NULL;
    out = malloc((size_t)(q - s->p) + 1);
    if (out == NULL)
        return NULL;
    o = out;
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p++;
        unsigned cp, lo;

        if (c < 0x20)
            goto bad;
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        if (s->p >= s->end)
            goto bad;
        switch (*s->p++) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u':
            if (hex4(s, &cp) != 0)
                goto bad;
            /* A surrogate pair (12 escaped bytes) gives 4 UTF-8 bytes. */
            if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 6 &&
                s->p[0] == '\\' && s->p[1] == 'u') {
                s->p += 2;
                if (hex4(s, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                    goto bad;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            o += put_utf8(o, cp);
            break;
        default:
            goto bad;
        }
    }
    if (s->p >= s->end)
        goto bad;
    s->p++; /* closing quote */
    *o = '\0';
    *out_len = (size_t)(o - out);
    return out;
bad:
    free(out);
    return NULL;
}

static zt_json *parse_container(jp *s, int depth, int is_obj)
{
    zt_json *j = node(is_obj ? ZT_JSON_OBJECT : ZT_JSON_ARRAY), **tail, *v;
    char close = is_obj ? '}' : ']';

    if (j == NULL)
        return NULL;
    tail = &j->child;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return j;
    }
    for (;;) {
        char *key = NULL;
        size_t kl;

        skip_ws(s);
        if (is_obj) {
            key = parse_string(s, &kl);
            if (key == NULL)
                goto bad;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':') {
                free(key);
                goto bad;
            }
            s->p++;
        }
        v = parse_value(s, depth + 1);
        if (v == NULL) {
            free(key);
            goto bad;
        }
        v->key = key;
        *tail = v;
        tail = &v->next;
        j->n++;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == close) {
            s->p++;
            return j;
        }
        goto bad;
    }
bad:
    zt_json_free(j);
    return NULL;
}

static zt_json *parse_number(jp *s)
{
    char buf[64];
    const char *q = s->p;
    char *endp;
    size_t n;
    zt_json *j;

    while (q < s->end && (strchr("+-0123456789.eE", *q) != NULL))
        q++;
    n = (size_t)(q - s->p);
    if (n == 0 || n >= sizeof(buf))
        return NULL;
    memcpy(buf, s->p, n);
    buf[n] = '\0';
    j = node(ZT_JSON_NUMBER);
    if (j == NULL)
        return NULL;
    j->num = strtod(buf, &endp);
    if (*endp != '\0') {
        free(j);
        return NULL;
    }
    s->p = q;
    return j;
}

static zt_json *parse_literal(jp *s, const char *lit, zt_json_type t,
                              double v)
{
    size_t n = strlen(lit);
    zt_json *j;

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return NULL;
    s->p += n;
    j = node(t);
    if (j != NULL)
        j->num = v;
    return j;
}

static zt_json *parse_value(jp *s, int depth)
{
    zt_json *j;

    if (depth > ZT_JSON_MAX_DEPTH)
        return NULL;
    skip_ws(s);
    if (s->p >= s->end)
        return NULL;
    switch (*s->p) {
    case '{':
        return parse_container(s, depth, 1);
    case '[':
        return parse_container(s, depth, 0);
    case '"':
        j = node(ZT_JSON_STRING);
        if (j == NULL)
            return NULL;
        j->str = parse_string(s, &j->str_len);
        if (j->str == NULL) {
            free(j);
            return NULL;
        }
        return j;
    case 't':
        return parse_literal(s, "true", ZT_JSON_BOOL, 1);
    case 'f':
        return parse_literal(s, "false", ZT_JSON_BOOL, 0);
    case 'n':
        return parse_literal(s, "null", ZT_JSON_NULL, 0);
    default:
        return parse_number(s);
    }
}

zt_json *zt_json_parse(const char *text, size_t len, size_t *err)
{
    jp s = {text, text + len, text};
    zt_json *j = parse_value(&s, 0);

    if (j != NULL) {
        skip_ws(&s);
        if (s.p != s.end) {
            zt_json_free(j);
            j = NULL;
        }
    }
    if (j == NULL && err != NULL)
        *err = (size_t)(s.p - s.start);
    return j;
}

void zt_json_free(zt_json *j)
{
    while (j != NULL) {
        zt_json *next = j->next;

        zt_json_free(j->child);
        free(j->key);
        free(j->str);
        free(j);
        j = next;
    }
}

const zt_json *zt_json_get(const zt_json *obj, const char *key)
{
    const zt_json *c;

    if (obj == NULL || obj->type != ZT_JSON_OBJECT)
        return NULL;
    for (c = obj->child; c != NULL; c = c->next)
        if (c->key != NULL && strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

const char *zt_json_str(const zt_json *obj, const char *key)
{
    const zt_json *c = zt_json_get(obj, key);

    return c != NULL && c->type == ZT_JSON_STRING ? c->str : NULL;
}

long zt_json_int(const zt_json *obj, const char *key, long def)
{
    const zt_json *c = zt_json_get(obj, key);

    return c != NULL && c->type == ZT_JSON_NUMBER ? (long)c->num : def;
}
