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

/* An accepted pre_shared_key (RFC 8446 4.2.11): it is the last extension
 * (its end is the input's), as many binders as identities, each identity
 * non-empty with its age, each binder 32..255 bytes, and the Truncate()
 * point right before the binders list. */
static void check_psk(const zt_ch *ch, const uint8_t *lo, const uint8_t *hi)
{
    zt_cur ids = ch->psk_identities, b = ch->psk_binders, v;
    const uint8_t *age;
    size_t n_ids = 0, n_b = 0;

    touch_cur(ids, lo, hi);
    touch_cur(b, lo, hi);
    if (b.end != hi || ch->psk_cut == NULL || ch->psk_cut + 2 != b.p ||
        ch->psk_cut != ids.end)
        abort();
    while (zt_cur_left(&ids)) {
        if (zt_cur_vec(&ids, 2, &v) || zt_cur_left(&v) == 0 ||
            zt_cur_bytes(&ids, 4, &age))
            abort();
        n_ids++;
    }
    while (zt_cur_left(&b)) {
        if (zt_cur_vec(&b, 1, &v) || zt_cur_left(&v) < 32)
            abort();
        n_b++;
    }
    if (n_ids == 0 || n_ids != n_b)
        abort();
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
    if (ch.has_psk)
        check_psk(&ch, data, hi);
    else if (zt_cur_left(&ch.psk_identities) || ch.psk_cut != NULL)
        abort();
    if (ch.psk_modes & ~(ZT_PSK_MODE_KE | ZT_PSK_MODE_DHE_KE))
        abort();
    if (ch.psk_modes && !ch.has_psk_modes)
        abort();
    return 0;
}
