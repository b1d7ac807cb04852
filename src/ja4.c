/*
 * ja4.c: JA4 fingerprints of a ClientHello (the public JA4 specification,
 * FoxIO's technical_details/JA4.md). Computed from the bytes as the client
 * sent them: GREASE values (RFC 8701) are left out everywhere, extensions
 * this core does not know (ECH, ALPS, ...) are counted and listed like any
 * other. The walk is its own and tolerant: a ClientHello the handshake
 * refuses (TLS 1.2 only, a bad extension body) is fingerprinted too, as
 * long as its fixed fields and extension framing can be read.
 */
#include <stdlib.h>

#include "internal.h"

#define JA4_STACK_LIST 128 /* entries sorted on the stack, else malloc */

typedef struct ja4_hello {
    uint16_t version; /* highest of supported_versions, else legacy */
    int sni;          /* extension 0 present */
    char alpn[2];     /* first and last character of the first ALPN */
    zt_cur suites;
    zt_cur exts;      /* the whole extensions block */
    zt_cur sigalgs;   /* signature_algorithms list (empty if none) */
} ja4_hello;

/* RFC 8701 section 2: 0x0A0A, 0x1A1A, ... 0xFAFA. */
static int is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static int is_alnum(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') ||
           (b >= 'a' && b <= 'z');
}

static const char hexdig[] = "0123456789abcdef";

/* JA4.md "ALPN Extension Value": first and last byte of the first
 * protocol; when either is not alphanumeric, the first and last hex digit
 * of the protocol's hex form instead; "00" when there is none. */
static void first_alpn(zt_cur ext, char out[2])
{
    zt_cur list, name;
    size_t n;

    if (zt_cur_vec(&ext, 2, &list) || zt_cur_vec(&list, 1, &name))
        return;
    n = zt_cur_left(&name);
    if (n == 0)
        return;
    if (is_alnum(name.p[0]) && is_alnum(name.p[n - 1])) {
        out[0] = (char)name.p[0];
        out[1] = (char)name.p[n - 1];
    } else {
        out[0] = hexdig[name.p[0] >> 4];
        out[1] = hexdig[name.p[n - 1] & 0x0f];
    }
}

static void best_version(zt_cur ext, uint16_t *version)
{
    zt_cur list;
    uint16_t v, best = 0;

    if (zt_cur_vec(&ext, 1, &list))
        return;
    while (zt_cur_u16(&list, &v) == 0)
        if (!is_grease(v) && v > best)
            best = v;
    if (best)
        *version = best;
}

static zt_err walk(const uint8_t *body, size_t len, ja4_hello *h)
{
    zt_cur c = zt_cur_make(body, len), sid, comp, it, ext, list;
    const uint8_t *random;
    uint16_t type;
    int seen_alpn = 0, seen_sig = 0, seen_ver = 0;

    memset(h, 0, sizeof(*h));
    h->alpn[0] = h->alpn[1] = '0';
    if (zt_cur_u16(&c, &h->version) || zt_cur_bytes(&c, 32, &random) ||
        zt_cur_vec(&c, 1, &sid) || zt_cur_vec(&c, 2, &h->suites) ||
        zt_cur_vec(&c, 1, &comp) || zt_cur_left(&h->suites) % 2)
        return ZT_E_DECODE;
    h->exts = zt_cur_make(c.p, 0);
    h->sigalgs = h->exts;
    if (zt_cur_left(&c) == 0)
        return ZT_OK; /* no extensions at all */
    if (zt_cur_vec(&c, 2, &h->exts))
        return ZT_E_DECODE;
    it = h->exts;
    while (zt_cur_left(&it)) {
        if (zt_cur_u16(&it, &type) || zt_cur_vec(&it, 2, &ext))
            return ZT_E_DECODE;
        /* only the first of a repeated extension counts */
        if (type == ZT_EXT_SERVER_NAME) {
            h->sni = 1;
        } else if (type == ZT_EXT_ALPN && !seen_alpn++) {
            first_alpn(ext, h->alpn);
        } else if (type == ZT_EXT_SIGNATURE_ALGORITHMS && !seen_sig++) {
            if (zt_cur_vec(&ext, 2, &list) == 0 && zt_cur_left(&list) % 2 == 0)
                h->sigalgs = list;
        } else if (type == ZT_EXT_SUPPORTED_VERSIONS && !seen_ver++) {
            best_version(ext, &h->version);
        }
    }
    return ZT_OK;
}

static const char *version_str(uint16_t v)
{
    switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default: return "00";
    }
}

/* ---- output: a string, or a running SHA-256 of it ------------------------- */

typedef struct ja4_sink {
    char *out;
    size_t cap; /* bytes of out usable for characters (NUL not counted) */
    size_t len; /* characters produced, also past cap */
    zt_hash *h;
    int err;
} ja4_sink;

static void put(ja4_sink *s, const char *p, size_t n)
{
    size_t room;

    if (s->h) {
        if (zt_hash_update(s->h, (const uint8_t *)p, n))
            s->err = 1;
    } else if (s->len < s->cap) {
        room = s->cap - s->len;
        memcpy(s->out + s->len, p, n < room ? n : room);
    }
    s->len += n;
}

static void put_hex16(ja4_sink *s, uint16_t v)
{
    char b[4];

    b[0] = hexdig[(v >> 12) & 15];
    b[1] = hexdig[(v >> 8) & 15];
    b[2] = hexdig[(v >> 4) & 15];
    b[3] = hexdig[v & 15];
    put(s, b, 4);
}

static void put_list(ja4_sink *s, const uint16_t *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (i)
            put(s, ",", 1);
        put_hex16(s, v[i]);
    }
}

/* ---- the lists ------------------------------------------------------------- */

typedef struct ja4_list {
    uint16_t *v;
    size_t n;
    uint16_t stack[JA4_STACK_LIST];
} ja4_list;

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return x < y ? -1 : x > y;
}

static zt_err list_alloc(ja4_list *l, size_t max)
{
    l->n = 0;
    l->v = l->stack;
    if (max > JA4_STACK_LIST) {
        l->v = malloc(max * sizeof(uint16_t));
        if (l->v == NULL)
            return ZT_E_NOMEM;
    }
    return ZT_OK;
}

static void list_free(ja4_list *l)
{
    if (l->v != l->stack)
        free(l->v);
    l->v = NULL;
}

/* Values of a u16 list (cipher suites, signature algorithms), GREASE out. */
static zt_err list_u16(ja4_list *l, zt_cur c)
{
    uint16_t v;
    zt_err e = list_alloc(l, zt_cur_left(&c) / 2);

    while (e == ZT_OK && zt_cur_u16(&c, &v) == 0)
        if (!is_grease(v))
            l->v[l->n++] = v;
    return e;
}

/* Extension types in the order sent, GREASE out; `fold` also leaves out
 * server_name and ALPN (the sorted forms have them in the first part). */
static zt_err list_exts(ja4_list *l, zt_cur c, int fold)
{
    zt_cur body;
    uint16_t t;
    zt_err e = list_alloc(l, zt_cur_left(&c) / 4);

    while (e == ZT_OK && zt_cur_u16(&c, &t) == 0 &&
           zt_cur_vec(&c, 2, &body) == 0) {
        if (is_grease(t))
            continue;
        if (fold && (t == ZT_EXT_SERVER_NAME || t == ZT_EXT_ALPN))
            continue;
        l->v[l->n++] = t;
    }
    return e;
}

/* Extensions, GREASE out; `fold`: also without server_name and ALPN. */
static size_t count_exts(zt_cur c, int fold)
{
    zt_cur body;
    uint16_t t;
    size_t n = 0;

    while (zt_cur_u16(&c, &t) == 0 && zt_cur_vec(&c, 2, &body) == 0)
        if (!is_grease(t) &&
            !(fold && (t == ZT_EXT_SERVER_NAME || t == ZT_EXT_ALPN)))
            n++;
    return n;
}

/* "_" and the 12 first hex digits of SHA-256 over list a (then "_" and
 * list b if not empty), or "000000000000" when `empty` (JA4.md, "Cipher
 * hash", "Extension hash"). */
static void put_hash_of(ja4_sink *s, int empty, const uint16_t *a, size_t na,
                        const uint16_t *b, size_t nb)
{
    ja4_sink hs;
    uint8_t md[32];
    char hex[12];
    size_t i;

    put(s, "_", 1);
    if (empty) {
        put(s, "000000000000", 12);
        return;
    }
    memset(&hs, 0, sizeof(hs));
    hs.h = zt_hash_new(ZT_SHA256);
    if (hs.h == NULL) {
        s->err = 1;
        return;
    }
    put_list(&hs, a, na);
    if (nb) {
        put(&hs, "_", 1);
        put_list(&hs, b, nb);
    }
    if (hs.err || zt_hash_peek(hs.h, md))
        s->err = 1;
    zt_hash_free(hs.h);
    for (i = 0; i < 6; i++) {
        hex[2 * i] = hexdig[md[i] >> 4];
        hex[2 * i + 1] = hexdig[md[i] & 15];
    }
    put(s, hex, 12);
}

static void put_count(ja4_sink *s, size_t n)
{
    char b[2];

    if (n > 99)
        n = 99;
    b[0] = (char)('0' + n / 10);
    b[1] = (char)('0' + n % 10);
    put(s, b, 2);
}

size_t zt_ja4(const uint8_t *hello, size_t len, zt_ja4_form form, char *out,
              size_t cap)
{
    ja4_hello h;
    ja4_list suites, exts, sigs;
    ja4_sink s;
    int original = form == ZT_JA4_O || form == ZT_JA4_RO;
    int raw = form == ZT_JA4_R || form == ZT_JA4_RO;
    zt_err e;

    if (out && cap)
        out[0] = '\0';
    if (form > ZT_JA4_RO || walk(hello, len, &h) != ZT_OK)
        return 0;
    suites.v = exts.v = sigs.v = NULL;
    e = list_u16(&suites, h.suites);
    if (e == ZT_OK)
        e = list_exts(&exts, h.exts, !original);
    if (e == ZT_OK)
        e = list_u16(&sigs, h.sigalgs);
    if (e != ZT_OK)
        goto done;
    if (!original) {
        qsort(suites.v, suites.n, sizeof(uint16_t), cmp_u16);
        qsort(exts.v, exts.n, sizeof(uint16_t), cmp_u16);
    }

    memset(&s, 0, sizeof(s));
    s.out = out;
    s.cap = out && cap ? cap - 1 : 0;
    /* part a: t13d1516h2 */
    put(&s, "t", 1);
    put(&s, version_str(h.version), 2);
    put(&s, h.sni ? "d" : "i", 1);
    put_count(&s, suites.n);
    put_count(&s, count_exts(h.exts, 0));
    put(&s, h.alpn, 2);
    if (raw) {
        /* parts b and c as lists; "_" and the signature algorithms only
         * when there are some */
        put(&s, "_", 1);
        put_list(&s, suites.v, suites.n);
        put(&s, "_", 1);
        put_list(&s, exts.v, exts.n);
        if (sigs.n) {
            put(&s, "_", 1);
            put_list(&s, sigs.v, sigs.n);
        }
    } else {
        /* part c is "empty" by the sorted list (no extension but SNI and
         * ALPN) in the original-order form too, as the reference
         * implementation publishes it */
        put_hash_of(&s, suites.n == 0, suites.v, suites.n, NULL, 0);
        put_hash_of(&s, count_exts(h.exts, 1) == 0, exts.v, exts.n, sigs.v,
                    sigs.n);
    }
    if (s.err)
        e = ZT_E_NOMEM;
    else if (out && cap)
        out[s.len < s.cap ? s.len : s.cap] = '\0';

done:
    list_free(&suites);
    list_free(&exts);
    list_free(&sigs);
    if (e != ZT_OK) {
        if (out && cap)
            out[0] = '\0';
        return 0;
    }
    return s.len;
}

/* ---- kept per connection (zt_conn_set_ja4) ------------------------------- */

void zt_conn_set_ja4(zt_conn *c, unsigned forms)
{
    c->ja4_forms = (uint8_t)(forms & ((1u << ZT_JA4_FORMS) - 1));
}

void zt_conn_keep_ja4(zt_conn *c, const uint8_t *hello, size_t len)
{
    char buf[ZT_JA4_RAW_MAX + 1];
    size_t n[ZT_JA4_FORMS], total = 0, at = 0;
    int f;

    if (c->ja4_forms == 0 || c->ja4 != NULL)
        return;
    for (f = 0; f < ZT_JA4_FORMS; f++) {
        n[f] = 0;
        if (c->ja4_forms & (1u << f)) {
            n[f] = zt_ja4(hello, len, (zt_ja4_form)f, NULL, 0);
            if (n[f] > ZT_JA4_RAW_MAX)
                n[f] = 0; /* bounded: not kept */
        }
        total += n[f] ? n[f] + 1 : 0;
    }
    if (total == 0)
        return;
    c->ja4 = malloc(total);
    if (c->ja4 == NULL)
        return; /* a fingerprint is never worth failing a handshake */
    for (f = 0; f < ZT_JA4_FORMS; f++) {
        c->ja4_off[f] = UINT16_MAX;
        if (n[f] == 0)
            continue;
        if (zt_ja4(hello, len, (zt_ja4_form)f, buf, sizeof(buf)) != n[f])
            continue;
        memcpy(c->ja4 + at, buf, n[f] + 1);
        c->ja4_off[f] = (uint16_t)at;
        at += n[f] + 1;
    }
}

const char *zt_conn_ja4(const zt_conn *c, zt_ja4_form form)
{
    if (c->ja4 == NULL || form > ZT_JA4_RO || c->ja4_off[form] == UINT16_MAX)
        return NULL;
    return c->ja4 + c->ja4_off[form];
}
