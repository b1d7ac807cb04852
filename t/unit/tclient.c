/*
 * tclient.c: the unit tests' TLS 1.3 client (see tclient.h). Test code:
 * it trusts its own inputs, and fails loudly (returns -1) on anything the
 * server does that it did not expect.
 */
#include <stdio.h>
#include <stdlib.h>

#include <brotli/decode.h>
#include <zlib.h>

#include "tclient.h"
#include "test.h"

static char *zt_read_file_t(const char *path)
{
    return zt_read_file(path, NULL);
}

static const uint8_t hrr_magic[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
    0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
    0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

void tcli_init(tcli *t)
{
    memset(t, 0, sizeof(*t));
    t->suites[0] = ZT_TLS_AES_128_GCM_SHA256;
    t->suites[1] = ZT_TLS_AES_256_GCM_SHA384;
    t->suites[2] = ZT_TLS_CHACHA20_POLY1305_SHA256;
    t->n_suites = 3;
    t->groups[0] = ZT_GROUP_X25519;
    t->groups[1] = ZT_GROUP_SECP256R1;
    t->n_groups = 2;
    t->shares[0] = ZT_GROUP_X25519;
    t->n_shares = 1;
    t->sigalgs[0] = ZT_SIG_ED25519;
    t->sigalgs[1] = ZT_SIG_ECDSA_SECP256R1_SHA256;
    t->sigalgs[2] = ZT_SIG_RSA_PSS_RSAE_SHA256;
    t->sigalgs[3] = ZT_SIG_RSA_PSS_RSAE_SHA384;
    t->sigalgs[4] = ZT_SIG_RSA_PSS_RSAE_SHA512;
    t->n_sigalgs = 5;
    t->versions[0] = ZT_TLS13;
    t->n_versions = 1;
    t->n_compression = 1;
    t->rnd = zt_sys_random;
    memset(t->random, 0x5a, 32);
}

void tcli_free(tcli *t)
{
    zt_hash_free(t->th);
    zt_aead_free(t->rd);
    zt_aead_free(t->wr);
    t->th = NULL;
    t->rd = t->wr = NULL;
    zt_memzero(t->priv, sizeof(t->priv));
}

static int keygen(tcli *t, size_t i, uint16_t g)
{
    /* where the ECDH part and the ML-KEM key sit in the share */
    size_t ec = g == ZT_GROUP_X25519MLKEM768 ? ZT_MLKEM768_EK_LEN : 0;
    size_t ek = g == ZT_GROUP_SECP256R1MLKEM768 ? 65 : 0;
    uint16_t ecg = g == ZT_GROUP_X25519MLKEM768 ? ZT_GROUP_X25519
                   : g == ZT_GROUP_SECP256R1MLKEM768 ? ZT_GROUP_SECP256R1
                                                     : g;

    if (zt_kx_keygen(g, t->rnd, t->rnd_arg, t->priv[i], t->pub[i],
                     &t->pub_len[i]))
        return -1;
    if (t->bad_share == 1) {
        t->pub_len[i]--;
    } else if (t->bad_share == 2) {
        if (ecg == ZT_GROUP_X25519)
            memset(t->pub[i] + ec, 0, 32);
        else
            memset(t->pub[i] + ec + 1, 0x11, 64);
    } else if (t->bad_share == 3) {
        t->pub[i][t->pub_len[i]++] = 0;
    } else if (t->bad_share == 4) {
        t->pub_len[i] = 0;
    } else if (t->bad_share == 5 && zt_kx_is_hybrid(g)) {
        /* the last coefficient of the last polynomial: 0xfff >= 3329 */
        t->pub[i][ek + 3 * 384 - 1] = 0xff;
        t->pub[i][ek + 3 * 384 - 2] |= 0xf0;
    }
    return 0;
}

static zt_hash_alg psk_hash(const tcli *t)
{
    return t->psk_len == 48 ? ZT_SHA384 : ZT_SHA256;
}

/* pre_shared_key (RFC 8446 4.2.11) with zeroed binders; returns where the
 * binders list starts (Truncate()). */
static size_t psk_ext(tcli *t, zt_wr *w)
{
    size_t at, ids, list, cut, k, blen;

    blen = t->binder_len ? (size_t)t->binder_len : t->psk_len;
    zt_wr_u16(w, ZT_EXT_PRE_SHARED_KEY);
    at = zt_wr_open(w, 2);
    ids = zt_wr_open(w, 2);
    if (t->junk_id_len) {
        zt_wr_u16(w, (unsigned)t->junk_id_len);
        zt_wr_bytes(w, t->junk_id, t->junk_id_len);
        zt_wr_u16(w, 0);
        zt_wr_u16(w, 0);
    }
    zt_wr_u16(w, (unsigned)t->psk_id_len);
    zt_wr_bytes(w, t->psk_id, t->psk_id_len);
    zt_wr_u16(w, t->psk_age >> 16);
    zt_wr_u16(w, t->psk_age & 0xffff);
    zt_wr_close(w, ids, 2);
    cut = w->len;
    list = zt_wr_open(w, 2);
    for (k = 0; k < 1u + (t->junk_id_len ? 1u : 0u) + (t->extra_binder ? 1u : 0u);
         k++) {
        static const uint8_t z[255];
        zt_wr_u8(w, (unsigned)blen);
        zt_wr_bytes(w, z, blen);
    }
    zt_wr_close(w, list, 2);
    zt_wr_close(w, at, 2);
    return cut;
}

/* Our binder: HMAC over Transcript-Hash(Truncate(ClientHello)), with the
 * binder_key of our PSK (4.2.11.2, 7.1); it goes in the last slot that
 * belongs to our identity. */
static int fill_binder(tcli *t, uint8_t *msg, size_t cut)
{
    zt_hash_alg h = psk_hash(t);
    uint8_t th[ZT_MAX_HASH_LEN], empty[ZT_MAX_HASH_LEN], bk[ZT_MAX_HASH_LEN];
    size_t blen = t->binder_len ? (size_t)t->binder_len : t->psk_len;
    size_t at = cut + 2 + (t->junk_id_len ? 1 + blen : 0) + 1;

    if (t->th != NULL) {
        if (zt_hash_update(t->th, msg, cut) || zt_hash_peek(t->th, th))
            return -1;
    } else if (zt_hash_oneshot(h, msg, cut, th)) {
        return -1;
    }
    if (zt_hkdf_extract(h, NULL, 0, t->psk, t->psk_len, t->early) ||
        zt_hash_oneshot(h, NULL, 0, empty) ||
        zt_derive_secret(h, t->early, "res binder", empty, bk) ||
        zt_finished_mac(h, bk, th, t->binder))
        return -1;
    memcpy(msg + at, t->binder, blen < t->psk_len ? blen : t->psk_len);
    if (t->binder_corrupt)
        msg[at] ^= 1;
    return 0;
}

size_t tcli_client_hello(tcli *t, uint8_t *out, size_t cap)
{
    zt_wr w = zt_wr_make(out, cap);
    size_t exts, at, at2, i, cut = 0;
    uint8_t sid[32];

    if (t->got_hrr) {
        t->shares[0] = t->hrr_group;
        t->n_shares = 1;
    }
    for (i = 0; i < t->n_shares; i++)
        if (keygen(t, i, t->shares[i]))
            return 0;
    memset(sid, 0xa5, sizeof(sid));
    zt_wr_u8(&w, ZT_HS_CLIENT_HELLO);
    zt_wr_u24(&w, 0);
    zt_wr_u16(&w, 0x0303);
    zt_wr_bytes(&w, t->random, 32);
    zt_wr_u8(&w, (unsigned)t->session_id_len);
    zt_wr_bytes(&w, sid, t->session_id_len);
    at = zt_wr_open(&w, 2);
    for (i = 0; i < t->n_suites; i++)
        zt_wr_u16(&w, t->suites[i]);
    zt_wr_close(&w, at, 2);
    zt_wr_u8(&w, (unsigned)t->n_compression);
    zt_wr_bytes(&w, t->compression, t->n_compression);
    exts = zt_wr_open(&w, 2);
    zt_wr_bytes(&w, t->extra_first, t->extra_first_len);
    if (t->sni) {
        zt_wr_u16(&w, ZT_EXT_SERVER_NAME);
        at = zt_wr_open(&w, 2);
        at2 = zt_wr_open(&w, 2);
        zt_wr_u8(&w, 0);
        zt_wr_u16(&w, (unsigned)strlen(t->sni));
        zt_wr_bytes(&w, t->sni, strlen(t->sni));
        zt_wr_close(&w, at2, 2);
        zt_wr_close(&w, at, 2);
    }
    if (t->n_groups) {
        zt_wr_u16(&w, ZT_EXT_SUPPORTED_GROUPS);
        at = zt_wr_open(&w, 2);
        at2 = zt_wr_open(&w, 2);
        for (i = 0; i < t->n_groups; i++)
            zt_wr_u16(&w, t->groups[i]);
        zt_wr_close(&w, at2, 2);
        zt_wr_close(&w, at, 2);
    }
    if (t->n_sigalgs) {
        zt_wr_u16(&w, ZT_EXT_SIGNATURE_ALGORITHMS);
        at = zt_wr_open(&w, 2);
        at2 = zt_wr_open(&w, 2);
        for (i = 0; i < t->n_sigalgs; i++)
            zt_wr_u16(&w, t->sigalgs[i]);
        zt_wr_close(&w, at2, 2);
        zt_wr_close(&w, at, 2);
    }
    if (t->n_alpn) {
        zt_wr_u16(&w, ZT_EXT_ALPN);
        at = zt_wr_open(&w, 2);
        at2 = zt_wr_open(&w, 2);
        for (i = 0; i < t->n_alpn; i++) {
            zt_wr_u8(&w, (unsigned)strlen(t->alpn[i]));
            zt_wr_bytes(&w, t->alpn[i], strlen(t->alpn[i]));
        }
        zt_wr_close(&w, at2, 2);
        zt_wr_close(&w, at, 2);
    }
    if (t->n_versions) {
        zt_wr_u16(&w, ZT_EXT_SUPPORTED_VERSIONS);
        zt_wr_u16(&w, (unsigned)(1 + 2 * t->n_versions));
        zt_wr_u8(&w, (unsigned)(2 * t->n_versions));
        for (i = 0; i < t->n_versions; i++)
            zt_wr_u16(&w, t->versions[i]);
    }
    if (t->record_size_limit) {
        zt_wr_u16(&w, ZT_EXT_RECORD_SIZE_LIMIT);
        zt_wr_u16(&w, 2);
        zt_wr_u16(&w, t->record_size_limit);
    }
    if (t->cookie_len) {
        zt_wr_u16(&w, ZT_EXT_COOKIE);
        zt_wr_u16(&w, (unsigned)t->cookie_len + 2);
        zt_wr_u16(&w, (unsigned)t->cookie_len);
        zt_wr_bytes(&w, t->cookie, t->cookie_len);
    }
    zt_wr_u16(&w, ZT_EXT_KEY_SHARE);
    at = zt_wr_open(&w, 2);
    at2 = zt_wr_open(&w, 2);
    for (i = 0; i < t->n_shares; i++) {
        zt_wr_u16(&w, t->shares[i]);
        zt_wr_u16(&w, (unsigned)t->pub_len[i]);
        zt_wr_bytes(&w, t->pub[i], t->pub_len[i]);
    }
    zt_wr_close(&w, at2, 2);
    zt_wr_close(&w, at, 2);
    zt_wr_bytes(&w, t->extra, t->extra_len);
    if ((t->psk_id_len || t->psk_modes) && !t->no_psk_modes) {
        unsigned m = t->psk_modes ? t->psk_modes : ZT_PSK_MODE_DHE_KE;
        zt_wr_u16(&w, ZT_EXT_PSK_KEY_EXCHANGE_MODES);
        at = zt_wr_open(&w, 2);
        at2 = zt_wr_open(&w, 1);
        if (m & ZT_PSK_MODE_DHE_KE)
            zt_wr_u8(&w, 1);
        if (m & ZT_PSK_MODE_KE)
            zt_wr_u8(&w, 0);
        zt_wr_close(&w, at2, 1);
        zt_wr_close(&w, at, 2);
    }
    if (t->early_data && !t->got_hrr) {
        zt_wr_u16(&w, ZT_EXT_EARLY_DATA);
        zt_wr_u16(&w, 0);
    }
    if (t->psk_id_len)
        cut = psk_ext(t, &w);
    if (t->psk_not_last) { /* padding after pre_shared_key */
        zt_wr_u16(&w, ZT_EXT_PADDING);
        zt_wr_u16(&w, 1);
        zt_wr_u8(&w, 0);
    }
    zt_wr_close(&w, exts, 2);
    if (w.err)
        return 0;
    out[1] = (uint8_t)((w.len - 4) >> 16);
    out[2] = (uint8_t)((w.len - 4) >> 8);
    out[3] = (uint8_t)(w.len - 4);
    if (t->psk_id_len && fill_binder(t, out, cut))
        return 0;
    if (t->th != NULL) {
        if (zt_hash_update(t->th, out + cut, w.len - cut))
            return 0;
    } else if (w.len <= sizeof(t->ch1)) {
        memcpy(t->ch1, out, w.len);
        t->ch1_len = w.len;
    }
    return w.len;
}

size_t tcli_record(uint8_t type, const uint8_t *p, size_t n, uint8_t *out)
{
    out[0] = type;
    out[1] = 0x03;
    out[2] = 0x03;
    out[3] = (uint8_t)(n >> 8);
    out[4] = (uint8_t)n;
    memcpy(out + 5, p, n);
    return n + 5;
}

static int set_key(tcli *t, zt_aead **a, uint8_t *iv, const uint8_t *secret)
{
    uint8_t key[32];
    size_t h = zt_hash_len(t->suite->hash);

    if (zt_hkdf_expand_label(t->suite->hash, secret, h, "key", NULL, 0, key,
                             t->suite->key_len) ||
        zt_hkdf_expand_label(t->suite->hash, secret, h, "iv", NULL, 0, iv,
                             12))
        return -1;
    zt_aead_free(*a);
    *a = zt_aead_new(t->suite->aead, key);
    return *a ? 0 : -1;
}

static void nonce(const uint8_t *iv, uint64_t seq, uint8_t *n)
{
    int i;

    memcpy(n, iv, 12);
    for (i = 0; i < 8; i++)
        n[11 - i] ^= (uint8_t)(seq >> (8 * i));
}

size_t tcli_seal(tcli *t, uint8_t type, const uint8_t *p, size_t n,
                 size_t pad, uint8_t *out)
{
    uint8_t nn[12];
    size_t clen = n + 1 + pad + 16;

    out[0] = ZT_CT_APPDATA;
    out[1] = 0x03;
    out[2] = 0x03;
    out[3] = (uint8_t)(clen >> 8);
    out[4] = (uint8_t)clen;
    if (n)
        memmove(out + 5, p, n);
    out[5 + n] = type;
    memset(out + 6 + n, 0, pad);
    nonce(t->wr_iv, t->wr_seq++, nn);
    if (zt_aead_seal(t->wr, nn, out, 5, out + 5, n + 1 + pad,
                     out + 5 + n + 1 + pad))
        return 0;
    return 5 + clen;
}

long tcli_open(tcli *t, const uint8_t *rec, size_t len, uint8_t *type,
               uint8_t *pt)
{
    uint8_t nn[12];
    size_t n;

    if (len < 5 + 17 || rec[0] != ZT_CT_APPDATA)
        return -1;
    n = len - 5 - 16;
    memcpy(pt, rec + 5, n);
    nonce(t->rd_iv, t->rd_seq++, nn);
    if (zt_aead_open(t->rd, nn, rec, 5, pt, n, rec + 5 + n))
        return -1;
    while (n > 0 && pt[n - 1] == 0)
        n--;
    if (n == 0)
        return -1;
    *type = pt[n - 1];
    return (long)(n - 1);
}

static void rotate(tcli *t, uint8_t *secret, zt_aead **a, uint8_t *iv,
                   uint64_t *seq)
{
    size_t h = zt_hash_len(t->suite->hash);
    uint8_t n[ZT_MAX_HASH_LEN];

    if (zt_hkdf_expand_label(t->suite->hash, secret, h, "traffic upd", NULL,
                             0, n, h) == ZT_OK) {
        memcpy(secret, n, h);
        (void)set_key(t, a, iv, secret);
        *seq = 0;
    }
}

void tcli_update_write(tcli *t)
{
    rotate(t, t->wr_secret, &t->wr, t->wr_iv, &t->wr_seq);
}

void tcli_update_read(tcli *t)
{
    rotate(t, t->rd_secret, &t->rd, t->rd_iv, &t->rd_seq);
}

static int on_server_hello(tcli *t, const uint8_t *m, size_t len)
{
    zt_cur c = zt_cur_make(m + 4, len - 4), sid, exts, ext, kx;
    const uint8_t *random;
    uint16_t ver, suite, type, g = 0;
    uint8_t comp, shared[ZT_KX_MAX_SECRET], hs[ZT_MAX_HASH_LEN];
    uint8_t zeros[ZT_MAX_HASH_LEN];
    uint8_t early[ZT_MAX_HASH_LEN], derived[ZT_MAX_HASH_LEN];
    uint8_t empty[ZT_MAX_HASH_LEN], th[ZT_MAX_HASH_LEN];
    size_t shared_len = sizeof(shared), h, i;
    int is_hrr;

    memset(&kx, 0, sizeof(kx));
    if (zt_cur_u16(&c, &ver) || zt_cur_bytes(&c, 32, &random) ||
        zt_cur_vec(&c, 1, &sid) || zt_cur_u16(&c, &suite) ||
        zt_cur_u8(&c, &comp) || zt_cur_vec(&c, 2, &exts) ||
        zt_cur_finish(&c))
        return -1;
    is_hrr = memcmp(random, hrr_magic, 32) == 0;
    t->suite = zt_suite_lookup(suite);
    if (t->suite == NULL)
        return -1;
    h = zt_hash_len(t->suite->hash);
    while (zt_cur_left(&exts)) {
        if (zt_cur_u16(&exts, &type) || zt_cur_vec(&exts, 2, &ext))
            return -1;
        if (type == ZT_EXT_KEY_SHARE) {
            if (zt_cur_u16(&ext, &g))
                return -1;
            if (!is_hrr && zt_cur_vec(&ext, 2, &kx))
                return -1;
        } else if (type == ZT_EXT_PRE_SHARED_KEY) {
            if (zt_cur_u16(&ext, &t->psk_selected) || is_hrr)
                return -1;
            t->psk_accepted = 1;
        } else if (type == ZT_EXT_COOKIE) {
            zt_cur ck;
            if (zt_cur_vec(&ext, 2, &ck))
                return -1;
            t->cookie_len = zt_cur_left(&ck);
            memcpy(t->cookie, ck.p, t->cookie_len);
        }
    }
    if (t->th == NULL) {
        t->th = zt_hash_new(t->suite->hash);
        if (is_hrr) {
            uint8_t mh[4] = {ZT_HS_MESSAGE_HASH, 0, 0, (uint8_t)h};
            if (zt_hash_oneshot(t->suite->hash, t->ch1, t->ch1_len, th) ||
                zt_hash_update(t->th, mh, 4) || zt_hash_update(t->th, th, h))
                return -1;
        } else if (zt_hash_update(t->th, t->ch1, t->ch1_len)) {
            return -1;
        }
    }
    if (zt_hash_update(t->th, m, len))
        return -1;
    if (is_hrr) {
        if (t->got_hrr)
            return -1;
        t->got_hrr = 1;
        t->hrr_group = g;
        return 0;
    }
    t->group = g;
    memset(zeros, 0, sizeof(zeros));
    if (g == 0 && t->psk_accepted) { /* psk_ke */
        memcpy(shared, zeros, h);
        shared_len = h;
    } else {
        for (i = 0; i < t->n_shares; i++)
            if (t->shares[i] == g)
                break;
        if (i == t->n_shares)
            return -1;
        if (zt_kx_derive(g, t->priv[i], kx.p, zt_cur_left(&kx), shared,
                         &shared_len))
            return -1;
    }
    if (t->psk_accepted)
        memcpy(early, t->early, h);
    else if (zt_hkdf_extract(t->suite->hash, NULL, 0, zeros, h, early))
        return -1;
    if (
        zt_hash_oneshot(t->suite->hash, NULL, 0, empty) ||
        zt_derive_secret(t->suite->hash, early, "derived", empty, derived) ||
        zt_hkdf_extract(t->suite->hash, derived, h, shared, shared_len, hs) ||
        zt_hash_peek(t->th, th) ||
        zt_derive_secret(t->suite->hash, hs, "c hs traffic", th, t->c_hs) ||
        zt_derive_secret(t->suite->hash, hs, "s hs traffic", th, t->s_hs))
        return -1;
    /* master secret for later */
    if (zt_derive_secret(t->suite->hash, hs, "derived", empty, derived) ||
        zt_hkdf_extract(t->suite->hash, derived, h, zeros, h, t->master))
        return -1;
    memcpy(t->rd_secret, t->s_hs, h);
    t->rd_seq = 0;
    if (t->wr_early) /* 0-RTT goes on until EndOfEarlyData */
        return set_key(t, &t->rd, t->rd_iv, t->s_hs);
    memcpy(t->wr_secret, t->c_hs, h);
    t->wr_seq = 0;
    return set_key(t, &t->rd, t->rd_iv, t->s_hs) ||
           set_key(t, &t->wr, t->wr_iv, t->c_hs);
}

/* Certificate body (4.4.2): keep the leaf for CertificateVerify. */
static int take_certificate(tcli *t, zt_cur c)
{
    zt_cur list, cert;
    uint8_t ctxl;

    t->saw_cert = 1;
    if (c.end - c.p <= (long)sizeof(t->cert_body)) {
        memcpy(t->cert_body, c.p, zt_cur_left(&c));
        t->cert_body_len = zt_cur_left(&c);
    }
    if (zt_cur_u8(&c, &ctxl) || zt_cur_vec(&c, 3, &list) ||
        zt_cur_vec(&list, 3, &cert) ||
        zt_cur_left(&cert) > sizeof(t->server_cert))
        return -1;
    memcpy(t->server_cert, cert.p, zt_cur_left(&cert));
    t->server_cert_len = zt_cur_left(&cert);
    return 0;
}

long tcli_decompress(uint16_t alg, const uint8_t *in, size_t n, uint8_t *out,
                     size_t cap)
{
    uLongf zn = (uLongf)cap;
    size_t bn = cap;

    if (alg == ZT_CERT_COMP_ZLIB)
        return uncompress(out, &zn, in, (uLong)n) == Z_OK ? (long)zn : -1;
    if (alg == ZT_CERT_COMP_BROTLI)
        return BrotliDecoderDecompress(n, in, &bn, out) ==
                       BROTLI_DECODER_RESULT_SUCCESS
                   ? (long)bn
                   : -1;
    return -1;
}

static int on_encrypted_msg(tcli *t, const uint8_t *m, size_t len)
{
    size_t h = zt_hash_len(t->suite->hash);
    uint8_t th[ZT_MAX_HASH_LEN], mac[ZT_MAX_HASH_LEN];
    zt_cur c = zt_cur_make(m + 4, len - 4), v, e;
    uint16_t type;

    if (zt_hash_peek(t->th, th))
        return -1;
    switch (m[0]) {
    case ZT_HS_ENCRYPTED_EXTENSIONS:
        if (zt_cur_vec(&c, 2, &v))
            return -1;
        while (zt_cur_left(&v)) {
            if (zt_cur_u16(&v, &type) || zt_cur_vec(&v, 2, &e))
                return -1;
            if (type == ZT_EXT_EARLY_DATA)
                t->early_accepted = 1;
            if (type == ZT_EXT_ALPN && zt_cur_left(&e) >= 3 &&
                zt_cur_left(&e) - 3 < sizeof(t->alpn_got)) {
                memcpy(t->alpn_got, e.p + 3, zt_cur_left(&e) - 3);
                t->alpn_got[zt_cur_left(&e) - 3] = '\0';
            }
        }
        break;
    case ZT_HS_CERTIFICATE:
        if (take_certificate(t, c))
            return -1;
        break;
    case ZT_HS_COMPRESSED_CERTIFICATE: {
        /* RFC 8879 section 4: decompress, the length must match */
        zt_cur data;
        uint32_t raw;
        uint8_t *dec;
        int rc;
        if (zt_cur_u16(&c, &t->cert_comp_alg) || zt_cur_u24(&c, &raw) ||
            zt_cur_vec(&c, 3, &data) || zt_cur_finish(&c) || raw > 1 << 20)
            return -1;
        dec = malloc(raw + 1);
        if (dec == NULL)
            return -1;
        rc = tcli_decompress(t->cert_comp_alg, data.p, zt_cur_left(&data),
                             dec, raw + 1) == (long)raw
                 ? take_certificate(t, zt_cur_make(dec, raw))
                 : -1;
        if (rc == 0) {
            t->cert_comp_raw = raw;
            t->cert_comp_len = zt_cur_left(&data);
            if (raw <= sizeof(t->cert_body)) {
                memcpy(t->cert_body, dec, raw);
                t->cert_body_len = raw;
            }
        }
        free(dec);
        if (rc)
            return -1;
        break;
    }
    case ZT_HS_CERTIFICATE_VERIFY: {
        static const char ctx[] = "TLS 1.3, server CertificateVerify";
        uint8_t content[64 + sizeof(ctx) + ZT_MAX_HASH_LEN];
        zt_cur sig;
        if (zt_cur_u16(&c, &t->sigalg) || zt_cur_vec(&c, 2, &sig))
            return -1;
        memset(content, 0x20, 64);
        memcpy(content + 64, ctx, sizeof(ctx));
        memcpy(content + 64 + sizeof(ctx), th, h);
        if (zt_verify_cert_sig(t->server_cert, t->server_cert_len, t->sigalg,
                               content, 64 + sizeof(ctx) + h, sig.p,
                               zt_cur_left(&sig)))
            return -1;
        break;
    }
    case ZT_HS_CERTIFICATE_REQUEST: {
        zt_cur ctx, list;
        if (zt_cur_vec(&c, 1, &ctx) || zt_cur_vec(&c, 2, &v) ||
            zt_cur_finish(&c) || t->server_cert_len != 0)
            return -1;
        t->got_cr = 1;
        t->cr_ctx_len = zt_cur_left(&ctx);
        memcpy(t->cr_ctx, ctx.p, t->cr_ctx_len);
        while (zt_cur_left(&v)) {
            if (zt_cur_u16(&v, &type) || zt_cur_vec(&v, 2, &e))
                return -1;
            if (type == ZT_EXT_SIGNATURE_ALGORITHMS) {
                if (zt_cur_vec(&e, 2, &list) || zt_cur_finish(&e))
                    return -1;
                while (zt_cur_left(&list) &&
                       t->n_cr_sigalgs < sizeof(t->cr_sigalgs) / 2)
                    if (zt_cur_u16(&list,
                                   &t->cr_sigalgs[t->n_cr_sigalgs++]))
                        return -1;
            } else if (type == ZT_EXT_CERTIFICATE_AUTHORITIES) {
                if (zt_cur_vec(&e, 2, &list) || zt_cur_finish(&e) ||
                    zt_cur_left(&list) > sizeof(t->cr_cas))
                    return -1;
                t->cr_cas_len = zt_cur_left(&list);
                memcpy(t->cr_cas, list.p, t->cr_cas_len);
            }
        }
        if (t->n_cr_sigalgs == 0) /* 4.3.2: MUST */
            return -1;
        break;
    }
    case ZT_HS_FINISHED:
        if (len - 4 != h || zt_finished_mac(t->suite->hash, t->s_hs, th, mac) ||
            memcmp(mac, m + 4, h) != 0)
            return -1;
        t->server_finished_ok = 1;
        if (zt_hash_update(t->th, m, len) || zt_hash_peek(t->th, th))
            return -1;
        if (zt_derive_secret(t->suite->hash, t->master, "c ap traffic", th,
                             t->c_ap) ||
            zt_derive_secret(t->suite->hash, t->master, "s ap traffic", th,
                             t->s_ap))
            return -1;
        memcpy(t->rd_secret, t->s_ap, h);
        t->rd_seq = 0;
        return set_key(t, &t->rd, t->rd_iv, t->s_ap);
    default:
        return -1;
    }
    return zt_hash_update(t->th, m, len) ? -1 : 0;
}

int tcli_server_flight(tcli *t, const uint8_t *p, size_t n)
{
    uint8_t pt[ZT_MAX_CIPHERTEXT], hsbuf[65536], type;
    size_t hslen = 0, off = 0, rl, used;
    long k;

    while (off + 5 <= n) {
        rl = ((size_t)p[off + 3] << 8) | p[off + 4];
        if (off + 5 + rl > n)
            return -1;
        if (5 + rl > t->max_record)
            t->max_record = 5 + rl;
        if (p[off] == ZT_CT_CCS) {
            t->saw_ccs = 1;
        } else if (p[off] == ZT_CT_HANDSHAKE && t->rd == NULL) {
            if (hslen + rl > sizeof(hsbuf))
                return -1;
            memcpy(hsbuf + hslen, p + off + 5, rl);
            hslen += rl;
        } else if (p[off] == ZT_CT_APPDATA && t->rd != NULL) {
            k = tcli_open(t, p + off, 5 + rl, &type, pt);
            if (k < 0 || type != ZT_CT_HANDSHAKE ||
                hslen + (size_t)k > sizeof(hsbuf))
                return -1;
            memcpy(hsbuf + hslen, pt, (size_t)k);
            hslen += (size_t)k;
        } else {
            return -1;
        }
        off += 5 + rl;
        /* complete messages */
        used = 0;
        while (hslen - used >= 4) {
            size_t ml = ((size_t)hsbuf[used + 1] << 16) |
                        ((size_t)hsbuf[used + 2] << 8) | hsbuf[used + 3];
            int rc;
            if (hslen - used < 4 + ml)
                break;
            if (hsbuf[used] == ZT_HS_SERVER_HELLO)
                rc = on_server_hello(t, hsbuf + used, 4 + ml);
            else
                rc = on_encrypted_msg(t, hsbuf + used, 4 + ml);
            if (rc)
                return -1;
            used += 4 + ml;
        }
        memmove(hsbuf, hsbuf + used, hslen - used);
        hslen -= used;
    }
    return off == n && hslen == 0 ? 0 : -1;
}

size_t tcli_finished_msg(tcli *t, uint8_t *msg, int corrupt)
{
    size_t h = zt_hash_len(t->suite->hash);
    uint8_t th[ZT_MAX_HASH_LEN];

    if (t->wr_early) { /* early data refused: no EndOfEarlyData (4.2.10) */
        t->wr_early = 0;
        memcpy(t->wr_secret, t->c_hs, h);
        t->wr_seq = 0;
        if (set_key(t, &t->wr, t->wr_iv, t->c_hs))
            return 0;
    }
    if (zt_hash_peek(t->th, th))
        return 0;
    msg[0] = ZT_HS_FINISHED;
    msg[1] = msg[2] = 0;
    msg[3] = (uint8_t)h;
    if (zt_finished_mac(t->suite->hash, t->c_hs, th, msg + 4))
        return 0;
    if (corrupt)
        msg[4] ^= 1;
    /* resumption_master_secret: transcript through this Finished */
    if (zt_hash_update(t->th, msg, 4 + h) || zt_hash_peek(t->th, th) ||
        zt_derive_secret(t->suite->hash, t->master, "res master", th,
                         t->res_master))
        return 0;
    return 4 + h;
}

size_t tcli_seal_flight(tcli *t, const uint8_t *msgs, size_t n, uint8_t *out)
{
    size_t h = zt_hash_len(t->suite->hash), off = 0, k = 0, f;

    while (off < n) {
        f = n - off > 16000 ? 16000 : n - off;
        k += tcli_seal(t, ZT_CT_HANDSHAKE, msgs + off, f, 0, out + k);
        off += f;
    }
    memcpy(t->wr_secret, t->c_ap, h);
    t->wr_seq = 0;
    if (set_key(t, &t->wr, t->wr_iv, t->c_ap))
        return 0;
    return k;
}

size_t tcli_certificate_msg(tcli *t, uint8_t *msg, size_t cap)
{
    zt_wr w = zt_wr_make(msg, cap);
    size_t list, i;
    const zt_cred *cr = t->client_cred;

    zt_wr_u8(&w, ZT_HS_CERTIFICATE);
    zt_wr_u24(&w, 0);
    zt_wr_u8(&w, (unsigned)t->cr_ctx_len);
    zt_wr_bytes(&w, t->cr_ctx, t->cr_ctx_len);
    list = zt_wr_open(&w, 3);
    for (i = 0; cr != NULL && i < cr->n_chain; i++) {
        zt_wr_u24(&w, (uint32_t)cr->chain_len[i]);
        zt_wr_bytes(&w, cr->chain_der[i], cr->chain_len[i]);
        zt_wr_u16(&w, 0);
    }
    zt_wr_close(&w, list, 3);
    if (w.err)
        return 0;
    msg[1] = (uint8_t)((w.len - 4) >> 16);
    msg[2] = (uint8_t)((w.len - 4) >> 8);
    msg[3] = (uint8_t)(w.len - 4);
    return zt_hash_update(t->th, msg, w.len) ? 0 : w.len;
}

static uint16_t usual_scheme(const zt_cred *cr)
{
    switch (cr->type) {
    case ZT_KEY_ED25519:
        return ZT_SIG_ED25519;
    case ZT_KEY_ECDSA_P256:
        return ZT_SIG_ECDSA_SECP256R1_SHA256;
    case ZT_KEY_RSA:
        return ZT_SIG_RSA_PSS_RSAE_SHA256;
    case ZT_KEY_NONE:
        break;
    }
    return 0;
}

size_t tcli_cert_verify_msg(tcli *t, uint8_t *msg, size_t cap)
{
    static const char ctx[] = "TLS 1.3, client CertificateVerify";
    uint8_t content[64 + sizeof(ctx) + ZT_MAX_HASH_LEN];
    uint8_t sig[ZT_MAX_SIG_LEN];
    size_t h = zt_hash_len(t->suite->hash), sl = sizeof(sig);
    uint16_t scheme = t->cv_scheme;
    zt_wr w = zt_wr_make(msg, cap);

    if (t->client_cred == NULL)
        return 0;
    if (scheme == 0)
        scheme = usual_scheme(t->client_cred);
    memset(content, 0x20, 64);
    memcpy(content + 64, ctx, sizeof(ctx));
    if (zt_hash_peek(t->th, content + 64 + sizeof(ctx)))
        return 0;
    /* a scheme the key cannot make is signed with its usual one */
    if (zt_cred_sign(t->client_cred, scheme, content, 64 + sizeof(ctx) + h,
                     sig, &sl) != 0) {
        sl = sizeof(sig);
        if (zt_cred_sign(t->client_cred, usual_scheme(t->client_cred),
                         content, 64 + sizeof(ctx) + h, sig, &sl) != 0)
            return 0;
    }
    if (t->cv_corrupt)
        sig[sl / 2] ^= 0x01;
    zt_wr_u8(&w, ZT_HS_CERTIFICATE_VERIFY);
    zt_wr_u24(&w, (uint32_t)(4 + sl));
    zt_wr_u16(&w, scheme);
    zt_wr_u16(&w, (unsigned)sl);
    zt_wr_bytes(&w, sig, sl);
    if (w.err || zt_hash_update(t->th, msg, w.len))
        return 0;
    return w.len;
}

size_t tcli_finished(tcli *t, uint8_t *out, int corrupt)
{
    static uint8_t msgs[65536];
    size_t n = 0, k;

    if (t->got_cr) {
        k = tcli_certificate_msg(t, msgs, sizeof(msgs));
        if (k == 0)
            return 0;
        n += k;
        if (t->client_cred != NULL && !t->no_cv) {
            k = tcli_cert_verify_msg(t, msgs + n, sizeof(msgs) - n);
            if (k == 0)
                return 0;
            n += k;
        }
    }
    k = tcli_finished_msg(t, msgs + n, corrupt);
    if (k == 0)
        return 0;
    return tcli_seal_flight(t, msgs, n + k, out);
}

zt_cred *tcli_load_cred(const char *chain, const char *key)
{
    char err[256] = "", *c = zt_read_file_t(chain), *k = zt_read_file_t(key);
    zt_cred *cr = calloc(1, sizeof(*cr));

    if (cr != NULL && c != NULL && k != NULL) {
        cr->rsa_min_bits = 1024;
        if (zt_cred_load(cr, c, strlen(c), k, strlen(k), err,
                         sizeof(err)) != 0) {
            fprintf(stderr, "tcli_load_cred %s: %s\n", chain, err);
            free(cr);
            cr = NULL;
        }
    } else {
        fprintf(stderr, "tcli_load_cred: cannot read %s or %s\n", chain, key);
        free(cr);
        cr = NULL;
    }
    free(c);
    free(k);
    return cr;
}

void tcli_free_cred(zt_cred *cred)
{
    if (cred != NULL) {
        zt_cred_free(cred);
        free(cred);
    }
}

/* NewSessionTicket (RFC 8446 4.6.1) */
static int on_ticket(tcli *t, const uint8_t *m, size_t len)
{
    zt_cur c = zt_cur_make(m + 4, len - 4), nonce, tk, exts, ext;
    struct tcli_ticket *k;
    uint16_t a, b, type;
    size_t h = zt_hash_len(t->suite->hash);

    if (t->n_tickets == sizeof(t->tickets) / sizeof(t->tickets[0]))
        return -1;
    k = &t->tickets[t->n_tickets];
    memset(k, 0, sizeof(*k));
    if (zt_cur_u16(&c, &a) || zt_cur_u16(&c, &b))
        return -1;
    k->lifetime = ((uint32_t)a << 16) | b;
    if (zt_cur_u16(&c, &a) || zt_cur_u16(&c, &b))
        return -1;
    k->age_add = ((uint32_t)a << 16) | b;
    if (zt_cur_vec(&c, 1, &nonce) || zt_cur_vec(&c, 2, &tk) ||
        zt_cur_vec(&c, 2, &exts) || zt_cur_finish(&c) ||
        zt_cur_left(&tk) == 0 || zt_cur_left(&tk) > sizeof(k->ticket))
        return -1;
    while (zt_cur_left(&exts)) {
        if (zt_cur_u16(&exts, &type) || zt_cur_vec(&exts, 2, &ext))
            return -1;
        if (type == ZT_EXT_EARLY_DATA) {
            if (zt_cur_u16(&ext, &a) || zt_cur_u16(&ext, &b) ||
                zt_cur_finish(&ext))
                return -1;
            k->max_early = ((uint32_t)a << 16) | b;
        }
    }
    k->nonce_len = zt_cur_left(&nonce);
    memcpy(k->nonce, nonce.p, k->nonce_len);
    k->len = zt_cur_left(&tk);
    memcpy(k->ticket, tk.p, k->len);
    k->psk_len = h;
    k->suite = t->suite->id;
    if (zt_hkdf_expand_label(t->suite->hash, t->res_master, h, "resumption",
                             k->nonce, k->nonce_len, k->psk, h))
        return -1;
    t->n_tickets++;
    return 0;
}

int tcli_read_tickets(tcli *t, const uint8_t *p, size_t n)
{
    static uint8_t pt[ZT_MAX_CIPHERTEXT];
    size_t off = 0, rl, used, before = t->n_tickets;
    uint8_t type;
    long k;

    while (off + 5 <= n) {
        rl = ((size_t)p[off + 3] << 8) | p[off + 4];
        if (off + 5 + rl > n)
            return -1;
        k = tcli_open(t, p + off, 5 + rl, &type, pt);
        if (k < 0 || type != ZT_CT_HANDSHAKE)
            return -1;
        for (used = 0; (size_t)k - used >= 4;) {
            size_t ml = ((size_t)pt[used + 1] << 16) |
                        ((size_t)pt[used + 2] << 8) | pt[used + 3];
            if ((size_t)k - used < 4 + ml ||
                pt[used] != ZT_HS_NEW_SESSION_TICKET ||
                on_ticket(t, pt + used, 4 + ml))
                return -1;
            used += 4 + ml;
        }
        off += 5 + rl;
    }
    return off == n ? (int)(t->n_tickets - before) : -1;
}

void tcli_resume(tcli *to, const tcli *from, size_t i, uint32_t age_ms)
{
    const struct tcli_ticket *k = &from->tickets[i];

    memcpy(to->psk_id, k->ticket, k->len);
    to->psk_id_len = k->len;
    memcpy(to->psk, k->psk, k->psk_len);
    to->psk_len = k->psk_len;
    to->psk_suite = k->suite;
    to->psk_age = age_ms + k->age_add;
}

void tcli_foreign_ticket(tcli *t)
{
    memset(t->psk_id, 0x33, 120);
    t->psk_id_len = 120;
    memset(t->psk, 0x44, 32);
    t->psk_len = 32;
    t->psk_suite = ZT_TLS_AES_128_GCM_SHA256;
    t->psk_age = 0x01020304;
}

int tcli_early_keys(tcli *t)
{
    uint8_t th[ZT_MAX_HASH_LEN];
    zt_hash_alg h = psk_hash(t);

    t->suite = zt_suite_lookup(t->psk_suite);
    if (t->suite == NULL || zt_hash_oneshot(h, t->ch1, t->ch1_len, th) ||
        zt_derive_secret(h, t->early, "c e traffic", th, t->c_e))
        return -1;
    memcpy(t->wr_secret, t->c_e, zt_hash_len(h));
    t->wr_seq = 0;
    t->wr_early = 1;
    return set_key(t, &t->wr, t->wr_iv, t->c_e);
}

size_t tcli_end_of_early_data(tcli *t, uint8_t *out)
{
    static const uint8_t eoed[4] = {ZT_HS_END_OF_EARLY_DATA, 0, 0, 0};
    size_t n = tcli_seal(t, ZT_CT_HANDSHAKE, eoed, 4, 0, out);

    if (zt_hash_update(t->th, eoed, 4))
        return 0;
    t->wr_early = 0;
    memcpy(t->wr_secret, t->c_hs, zt_hash_len(t->suite->hash));
    t->wr_seq = 0;
    if (set_key(t, &t->wr, t->wr_iv, t->c_hs))
        return 0;
    return n;
}

/* ---- server-side helpers ---------------------------------------------- */

zt_config *tsrv_config(unsigned creds)
{
    static const char *const files[3][2] = {
        {"certs/ed25519.crt", "certs/ed25519.key"},
        {"certs/p256.crt", "certs/p256.key"},
        {"certs/rsa2048.crt", "certs/rsa2048.key"}};
    zt_config *cfg = zt_config_new();
    char err[256];
    int i;

    if (cfg == NULL)
        return NULL;
    for (i = 0; i < 3; i++) {
        if (!(creds & (1u << i)))
            continue;
        if (zt_config_add_credential_file(cfg, files[i][0], files[i][1], err,
                                          sizeof(err)) != ZT_OK) {
            fprintf(stderr, "tsrv_config: %s\n", err);
            zt_config_free(cfg);
            return NULL;
        }
    }
    return cfg;
}

zt_err tsrv_feed(zt_conn *s, const uint8_t *p, size_t n, size_t chunk)
{
    size_t off = 0, k, used;
    zt_err e = ZT_OK;

    while (off < n) {
        k = chunk && n - off > chunk ? chunk : n - off;
        e = zt_feed(s, p + off, k, &used);
        if (e != ZT_OK)
            return e;
        if (used == 0)
            return ZT_E_STATE; /* the server would not take input */
        off += used;
    }
    return e;
}

zt_err tsrv_hello(zt_conn *s, tcli *t)
{
    static uint8_t msg[8192], rec[16384];
    size_t n = tcli_client_hello(t, msg, sizeof(msg));

    if (n == 0)
        return ZT_E_INTERNAL;
    n = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
    return tsrv_feed(s, rec, n, 0);
}

size_t tsrv_drain(zt_conn *s, uint8_t *out, size_t cap)
{
    size_t n, total = 0;
    const uint8_t *p;

    while ((p = zt_send_buf(s, &n)) != NULL && total + n <= cap) {
        memcpy(out + total, p, n);
        total += n;
        zt_send_done(s, n);
    }
    return total;
}

int thello(zt_conn *s, tcli *t, size_t chunk)
{
    static uint8_t msg[8192], rec[65536], out[65536];
    size_t n, k, off;
    int round;

    for (round = 0; round < 2; round++) {
        n = tcli_client_hello(t, msg, sizeof(msg));
        if (n == 0)
            return -1;
        /* fragment the ClientHello over records of `chunk` bytes */
        k = 0;
        for (off = 0; off < n;) {
            size_t f = chunk && n - off > chunk ? chunk : n - off;
            k += tcli_record(ZT_CT_HANDSHAKE, msg + off, f, rec + k);
            off += f;
        }
        if (tsrv_feed(s, rec, k, 0) != ZT_OK)
            return -1;
        n = tsrv_drain(s, out, sizeof(out));
        if (tcli_server_flight(t, out, n) != 0)
            return -1;
        if (!t->got_hrr || t->server_finished_ok)
            break;
    }
    return t->server_finished_ok ? 0 : -1;
}

int thandshake(zt_conn *s, tcli *t)
{
    static uint8_t rec[70000];
    size_t n;

    if (thello(s, t, 0) != 0)
        return -1;
    n = tcli_finished(t, rec, 0);
    if (n == 0 || tsrv_feed(s, rec, n, 0) != ZT_OK)
        return -1;
    return (zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE) ? 0 : -1;
}

int tsrv_alert(const uint8_t *out, size_t n, tcli *t)
{
    size_t off = 0, rl;
    uint8_t pt[ZT_MAX_CIPHERTEXT], type;
    long k;

    /* the last record of the output */
    while (off + 5 <= n) {
        rl = ((size_t)out[off + 3] << 8) | out[off + 4];
        if (off + 5 + rl == n)
            break;
        off += 5 + rl;
    }
    if (off + 5 > n)
        return -1;
    rl = n - off - 5;
    if (out[off] == ZT_CT_ALERT && rl == 2)
        return out[off + 6];
    if (out[off] == ZT_CT_APPDATA && t != NULL && t->rd != NULL) {
        k = tcli_open(t, out + off, n - off, &type, pt);
        if (k == 2 && type == ZT_CT_ALERT)
            return pt[1];
    }
    return -1;
}
