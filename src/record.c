/*
 * record.c: the record layer (RFC 8446 section 5): framing, per-direction
 * keys, nonces and sequence numbers, AEAD protection in place.
 */
#include <stdlib.h>

#include "internal.h"

void zt_dir_clear(zt_dir *d)
{
    zt_aead_free(d->aead);
    zt_memzero(d, sizeof(*d));
}

/* Key and iv from a traffic secret, section 7.3; the key is kept (a few
 * dozen bytes) so that an idle connection rebuilds its AEAD context
 * without running the key schedule again. */
static zt_err make_aead(zt_conn *c, zt_dir *d, const uint8_t *secret)
{
    zt_hash_alg h = c->suite->hash;
    zt_aead *a;
    zt_err e;

    e = zt_hkdf_expand_label(h, secret, c->hlen, "key", NULL, 0, d->key,
                             c->suite->key_len);
    if (e == ZT_OK)
        e = zt_hkdf_expand_label(h, secret, c->hlen, "iv", NULL, 0, d->iv,
                                 ZT_AEAD_NONCE_LEN);
    if (e != ZT_OK) {
        zt_memzero(d->key, sizeof(d->key));
        return e;
    }
    a = zt_aead_new(c->suite->aead, d->key);
    if (a == NULL)
        return ZT_E_NOMEM;
    zt_aead_free(d->aead);
    d->aead = a;
    return ZT_OK;
}

/* Install a new traffic secret for one direction. */
zt_err zt_set_key(zt_conn *c, zt_dir *d, const uint8_t *secret)
{
    zt_err e = make_aead(c, d, secret);

    if (e != ZT_OK)
        return e;
    d->seq = 0;
    d->keyed = 1;
    d->epoch++;
    if (secret != d->secret)
        memcpy(d->secret, secret, c->hlen);
    return ZT_OK;
}

/* The AEAD context, rebuilt from the kept key if an idle connection gave
 * it back (zt_conn_release_buffers). */
zt_err zt_dir_ready(zt_conn *c, zt_dir *d)
{
    if (d->aead != NULL)
        return ZT_OK;
    d->aead = zt_aead_new(c->suite->aead, d->key);
    return d->aead != NULL ? ZT_OK : ZT_E_NOMEM;
}

/* Per-record nonce: the iv XOR the 64-bit sequence number (section 5.3). */
static void make_nonce(const zt_dir *d, uint8_t nonce[ZT_AEAD_NONCE_LEN])
{
    int i;

    memcpy(nonce, d->iv, ZT_AEAD_NONCE_LEN);
    for (i = 0; i < 8; i++)
        nonce[ZT_AEAD_NONCE_LEN - 1 - i] ^= (uint8_t)(d->seq >> (8 * i));
}

zt_err zt_out_reserve(zt_conn *c, size_t n)
{
    uint8_t *nb;
    size_t cap;

    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out != NULL && c->out_cap - c->out_len >= n)
        return ZT_OK;
    /* Only the handshake, alerts and KeyUpdate get here with a full buffer;
     * application data never grows it (zt_write checks space first). */
    cap = c->out_cap ? c->out_cap : ZT_OUTBUF_SIZE;
    while (cap - c->out_len < n)
        cap *= 2;
    if (cap > UINT32_MAX)
        return ZT_E_NOMEM; /* sizes are 32-bit (zt_conn) */
    nb = realloc(c->out, cap);
    if (nb == NULL)
        return ZT_E_NOMEM;
    c->out = nb;
    c->out_cap = cap;
    return ZT_OK;
}

/*
 * Protect one record at out[at]: its plaintext is out[at + 5, at + 5 +
 * n_in_place) (in place) followed by the pieces iov[0, n_iov), which the
 * AEAD reads where they are; then the inner type byte. The caller reserved
 * room for the whole record at `at`.
 */
zt_err zt_protect_v(zt_conn *c, uint8_t type, size_t at, size_t n_in_place,
                    const zt_iov *iov, size_t n_iov)
{
    zt_iov v[ZT_MAX_IOV + 2];
    uint8_t nonce[ZT_AEAD_NONCE_LEN];
    uint8_t *h = c->out + at;
    size_t i, n = n_in_place, clen;

    if (n_iov > ZT_MAX_IOV)
        return ZT_E_INTERNAL;
    if (c->wr.seq == UINT64_MAX)
        return ZT_E_INTERNAL; /* never reached: KeyUpdate comes first */
    if (zt_dir_ready(c, &c->wr) != ZT_OK)
        return ZT_E_NOMEM;
    v[0].base = h + 5;
    v[0].len = n_in_place;
    for (i = 0; i < n_iov; i++) {
        v[1 + i] = iov[i];
        n += iov[i].len;
    }
    v[1 + n_iov].base = &type;
    v[1 + n_iov].len = 1;
    clen = n + 1 + ZT_AEAD_TAG_LEN;
    h[0] = ZT_CT_APPDATA;
    h[1] = 0x03;
    h[2] = 0x03;
    h[3] = (uint8_t)(clen >> 8);
    h[4] = (uint8_t)clen;
    make_nonce(&c->wr, nonce);
    if (zt_aead_seal_v(c->wr.aead, nonce, h, 5, v, n_iov + 2, h + 5,
                       h + 5 + n + 1))
        return ZT_E_INTERNAL;
    c->wr.seq++;
    if (type == ZT_CT_APPDATA && c->burst < ZT_BURST_BYTES)
        c->burst += n;
    c->out_len = at + 5 + clen;
    if (c->out_len > c->out_hwm)
        c->out_hwm = c->out_len;
    return ZT_OK;
}

zt_err zt_protect_in_place(zt_conn *c, uint8_t type, size_t at, size_t n)
{
    return zt_protect_v(c, type, at, n, NULL, 0);
}

/* Seal the open record (zt_write_hold), if any. */
zt_err zt_seal_held(zt_conn *c)
{
    size_t n = c->wr_held;

    if (n == 0)
        return ZT_OK;
    c->wr_held = 0;
    return zt_protect_v(c, ZT_CT_APPDATA, c->out_len, n, NULL, 0);
}

/* Append one record carrying p[0, n) (n <= max fragment). */
zt_err zt_emit_record(zt_conn *c, uint8_t type, const uint8_t *p, size_t n)
{
    zt_err e;
    size_t at;

    /* application data gathered so far goes first */
    e = zt_seal_held(c);
    if (e == ZT_OK)
        e = zt_out_reserve(c, 5 + n + 1 + ZT_AEAD_TAG_LEN);
    if (e != ZT_OK)
        return e;
    at = c->out_len;
    if (n)
        memcpy(c->out + at + 5, p, n);
    if (c->wr.keyed && type != ZT_CT_CCS)
        return zt_protect_in_place(c, type, at, n);
    c->out[at] = type;
    c->out[at + 1] = 0x03;
    c->out[at + 2] = 0x03;
    c->out[at + 3] = (uint8_t)(n >> 8);
    c->out[at + 4] = (uint8_t)n;
    c->out_len = at + 5 + n;
    if (c->out_len > c->out_hwm)
        c->out_hwm = c->out_len;
    return ZT_OK;
}

/*
 * Unprotect one TLSCiphertext into dst (dst == rec: in place). rec points
 * at the fragment (the 5-byte header sits just before it and is the AAD);
 * dst has room for len - 16 bytes. On success *type is the inner content
 * type and the plaintext is dst[0, *pt_len). Section 5.2 and 5.4: length
 * limits, tag, padding.
 */
zt_err zt_unprotect_to(zt_conn *c, const uint8_t *rec, size_t len,
                       uint8_t *dst, uint8_t *type, size_t *pt_len)
{
    uint8_t nonce[ZT_AEAD_NONCE_LEN];
    size_t n;

    if (len < ZT_AEAD_TAG_LEN + 1)
        return ZT_E_BAD_RECORD_MAC;
    n = len - ZT_AEAD_TAG_LEN;
    if (n > ZT_MAX_PLAINTEXT + 1)
        return ZT_E_RECORD_OVERFLOW; /* TLSInnerPlaintext > 2^14 + 1 */
    if (c->rd.seq == UINT64_MAX)
        return ZT_E_BAD_RECORD_MAC;
    if (zt_dir_ready(c, &c->rd) != ZT_OK)
        return ZT_E_NOMEM;
    make_nonce(&c->rd, nonce);
    if (zt_aead_open_to(c->rd.aead, nonce, rec - 5, 5, rec, n, rec + n, dst))
        return ZT_E_BAD_RECORD_MAC;
    c->rd.seq++;
    /* Strip the zero padding; no non-zero octet is unexpected_message. */
    while (n > 0 && dst[n - 1] == 0)
        n--;
    if (n == 0)
        return ZT_E_UNEXPECTED_MESSAGE;
    *type = dst[n - 1];
    *pt_len = n - 1;
    return ZT_OK;
}

zt_err zt_unprotect(zt_conn *c, uint8_t *rec, size_t len, uint8_t *type,
                    size_t *pt_len)
{
    return zt_unprotect_to(c, rec, len, rec, type, pt_len);
}
