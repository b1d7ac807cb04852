/*
 * keysched.c: the TLS 1.3 key schedule helpers (RFC 8446 section 7.1).
 */
#include "internal.h"

/* HKDF-Expand-Label(Secret, Label, Context, Length), section 7.1. */
zt_err zt_hkdf_expand_label(zt_hash_alg alg, const uint8_t *secret,
                            size_t secret_len, const char *label,
                            const uint8_t *ctx, size_t ctx_len, uint8_t *out,
                            size_t out_len)
{
    uint8_t info[2 + 1 + 255 + 1 + 255];
    zt_wr w = zt_wr_make(info, sizeof(info));
    size_t at, llen = strlen(label);

    if (llen > 249 || ctx_len > 255 || out_len > 0xffff)
        return ZT_E_INTERNAL;
    zt_wr_u16(&w, (unsigned)out_len);
    at = zt_wr_open(&w, 1);
    zt_wr_bytes(&w, "tls13 ", 6);
    zt_wr_bytes(&w, label, llen);
    zt_wr_close(&w, at, 1);
    at = zt_wr_open(&w, 1);
    zt_wr_bytes(&w, ctx, ctx_len);
    zt_wr_close(&w, at, 1);
    if (w.err)
        return ZT_E_INTERNAL;
    if (zt_hkdf_expand(alg, secret, secret_len, info, w.len, out, out_len))
        return ZT_E_INTERNAL;
    return ZT_OK;
}

/* Derive-Secret(Secret, Label, Messages) given Transcript-Hash(Messages). */
zt_err zt_derive_secret(zt_hash_alg alg, const uint8_t *secret,
                        const char *label, const uint8_t *th, uint8_t *out)
{
    size_t h = zt_hash_len(alg);
    return zt_hkdf_expand_label(alg, secret, h, label, th, h, out, h);
}

/* verify_data = HMAC(finished_key, Transcript-Hash), section 4.4.4. */
zt_err zt_finished_mac(zt_hash_alg alg, const uint8_t *base_secret,
                       const uint8_t *th, uint8_t *out)
{
    uint8_t fk[ZT_MAX_HASH_LEN];
    size_t h = zt_hash_len(alg);
    zt_err e;

    e = zt_hkdf_expand_label(alg, base_secret, h, "finished", NULL, 0, fk, h);
    if (e == ZT_OK && zt_hmac(alg, fk, h, th, h, out))
        e = ZT_E_INTERNAL;
    zt_memzero(fk, sizeof(fk));
    return e;
}
