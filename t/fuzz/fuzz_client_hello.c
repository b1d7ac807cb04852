/*
 * fuzz_client_hello.c: the ClientHello decoder on arbitrary bytes.
 *
 * Input: a ClientHello body (after the 4-byte handshake header), as handed
 * to zt_parse_client_hello by the handshake. Any result is fine; what must
 * hold is memory safety, and on success every pointer and cursor the parser
 * returns lies inside the input (each is read here so a sanitizer checks
 * it), and the lists the handshake trusts are as validated as promised.
 * The JA4 walk (src/ja4.c) runs on the same bytes: its four forms stay
 * inside their buffers, say how long they are, and exist whenever the
 * parser accepted the hello.
 */
#include <stdlib.h>

#include "internal.h"

static volatile uint8_t sink;

static void touch(const uint8_t *p, size_t n, const uint8_t *lo,
                  const uint8_t *hi)
{
    uint8_t x = 0;
    size_t i;

    if (n == 0)
        return;
    if (p == NULL || p < lo || p + n > hi)
        abort();
    for (i = 0; i < n; i++)
        x ^= p[i];
    sink ^= x;
}

static void touch_cur(zt_cur c, const uint8_t *lo, const uint8_t *hi)
{
    if (c.p == NULL && c.end == NULL)
        return;
    if (c.end < c.p)
        abort();
    touch(c.p, zt_cur_left(&c), lo, hi);
}

/* A u16 list the parser accepted: even and non-empty. */
static void check_u16_list(int present, zt_cur c)
{
    if (present && (zt_cur_left(&c) == 0 || zt_cur_left(&c) % 2))
        abort();
}

static void check_ja4(const uint8_t *data, size_t size, int parsed)
{
    static char big[1 << 18];
    char small[20];
    size_t n, m;
    int f;

    for (f = 0; f < ZT_JA4_FORMS; f++) {
        n = zt_ja4(data, size, (zt_ja4_form)f, big, sizeof(big));
        m = zt_ja4(data, size, (zt_ja4_form)f, small, sizeof(small));
        if (n != m || (n && n < sizeof(big) && strlen(big) != n))
            abort();
        if (n == 0 ? (big[0] || small[0] || parsed)
                   : strlen(small) != (n < 19 ? n : 19))
            abort();
        if ((f == ZT_JA4 || f == ZT_JA4_O) && n && n != ZT_JA4_LEN)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *hi = data + size;
    zt_ch ch;
    zt_err e;

    e = zt_parse_client_hello(data, size, &ch);
    check_ja4(data, size, e == ZT_OK);
    if (e == ZT_OK || e == ZT_E_PROTOCOL_VERSION) {
        touch(ch.random, 32, data, hi);
        touch(ch.session_id, ch.session_id_len, data, hi);
        if (ch.session_id_len > 32)
            abort();
        touch_cur(ch.suites, data, hi);
    }
    if (e != ZT_OK)
        return 0;
    if (!ch.offers_tls13 || !ch.has_versions)
        abort(); /* accepted without TLS 1.3 */
    if (zt_cur_left(&ch.suites) < 2 || zt_cur_left(&ch.suites) % 2)
        abort();
    check_u16_list(ch.has_groups, ch.groups);
    check_u16_list(ch.has_sigalgs, ch.sigalgs);
    check_u16_list(ch.has_sigalgs_cert, ch.sigalgs_cert);
    touch_cur(ch.groups, data, hi);
    touch_cur(ch.sigalgs, data, hi);
    touch_cur(ch.sigalgs_cert, data, hi);
    touch_cur(ch.key_shares, data, hi);
    touch_cur(ch.alpn, data, hi);
    touch_cur(ch.cookie, data, hi);
    if (ch.sni != NULL) {
        if (ch.sni_len == 0 || ch.sni_len > ZT_MAX_SNI_LEN)
            abort();
        touch(ch.sni, ch.sni_len, data, hi);
    }
    if (ch.has_cookie && zt_cur_left(&ch.cookie) == 0)
        abort();
    if (ch.has_record_size_limit && ch.record_size_limit < 64)
        abort();
    return 0;
}
