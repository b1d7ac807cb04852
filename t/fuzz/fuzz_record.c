/*
 * fuzz_record.c: the record layer after the handshake.
 *
 * A zt_conn is put straight into CONNECTED with known traffic secrets (via
 * internal.h), so the fuzzer need not finish a handshake to reach the
 * protected-record paths. The harness plays the client: it keeps its own
 * copy of both traffic keys, seals records the way RFC 8446 section 5.2
 * says, and decrypts everything the server emits.
 *
 * Input layout:
 *   byte 0      bits 0-1 cipher suite (AES-128-GCM, AES-256-GCM, ChaCha20,
 *               AES-128-GCM); bit 2 KeyUpdate limit of 3 records; bit 3
 *               zero-copy pipe (zt_recv_buf/zt_recv_done) instead of zt_feed
 *   then steps  mode (1), content type (1), length (2, big endian), bytes
 *     mode bit 0      1: feed the bytes raw (framing, overflow, bad tags)
 *                     0: seal TLSInnerPlaintext = bytes || type || zeros
 *                        with the client key as one TLSCiphertext
 *     mode bit 1      sealed: pad the inner plaintext to exactly 2^14 + 1
 *                     (+1 more when bit 4 is set: one over the limit)
 *     mode bits 2-3   chunk size: whole, 1, 3 or 17 bytes per call
 *     mode bit 4      sealed: 8 bytes of zero padding
 *     mode bits 5-7   then: 0 nothing, 1 zt_write 100 bytes, 2 KeyUpdate,
 *                     3 KeyUpdate requesting the peer's, 4 zt_close,
 *                     5 hold (read no plaintext, flush nothing),
 *                     6 zt_conn_release_buffers, 7 zt_write 16 KiB
 *                     without flushing
 *
 * Invariants (abort() when violated): plaintext released is exactly, in
 * order, what was sealed as application data; every byte the server emits
 * decrypts under the expected server key (following its KeyUpdates) and is
 * application data we wrote, a KeyUpdate or an alert; a KeyUpdate taken by
 * the server moves its read key to the RFC 8446 section 7.2 successor; an
 * alert sent matches zt_err_alert of the sticky error.
 */
#include <stdlib.h>

#include "internal.h"

static const uint8_t client_secret0[ZT_MAX_HASH_LEN] = {
    0x9e, 0x40, 0x64, 0x6c, 0xe7, 0x9a, 0x7f, 0x9d, 0xc0, 0x5a, 0xf8, 0x88,
    0x9b, 0xce, 0x65, 0x52, 0x87, 0x5a, 0xfa, 0x0b, 0x06, 0xdf, 0x00, 0x87,
    0xf7, 0x92, 0xeb, 0xb7, 0xc1, 0x75, 0x04, 0xa5, 0x01, 0x02, 0x03, 0x04,
    0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
static const uint8_t server_secret0[ZT_MAX_HASH_LEN] = {
    0xa1, 0x1a, 0xf9, 0xf0, 0x55, 0x31, 0xf8, 0x56, 0xad, 0x47, 0x11, 0x6b,
    0x45, 0xa9, 0x50, 0x32, 0x82, 0x04, 0xb4, 0xf4, 0x4b, 0xfb, 0x6b, 0x3a,
    0x4b, 0x4f, 0x1f, 0x3f, 0xcb, 0x63, 0x16, 0x43, 0x11, 0x12, 0x13, 0x14,
    0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20};

static const uint16_t suites[4] = {
    ZT_TLS_AES_128_GCM_SHA256, ZT_TLS_AES_256_GCM_SHA384,
    ZT_TLS_CHACHA20_POLY1305_SHA256, ZT_TLS_AES_128_GCM_SHA256};

/* One direction as the client sees it. */
typedef struct {
    const zt_suite_info *suite;
    size_t hlen;
    uint8_t secret[ZT_MAX_HASH_LEN];
    uint8_t iv[ZT_AEAD_NONCE_LEN];
    uint64_t seq;
    zt_aead *aead;
} fz_key;

static void key_set(fz_key *k, const uint8_t *secret)
{
    uint8_t key[ZT_AEAD_MAX_KEY_LEN];

    memcpy(k->secret, secret, k->hlen);
    if (zt_hkdf_expand_label(k->suite->hash, k->secret, k->hlen, "key", NULL,
                             0, key, k->suite->key_len) != ZT_OK ||
        zt_hkdf_expand_label(k->suite->hash, k->secret, k->hlen, "iv", NULL,
                             0, k->iv, ZT_AEAD_NONCE_LEN) != ZT_OK)
        abort();
    zt_aead_free(k->aead);
    k->aead = zt_aead_new(k->suite->aead, key);
    if (k->aead == NULL)
        abort();
    k->seq = 0;
}

static void key_next(const fz_key *k, uint8_t *out)
{
    if (zt_hkdf_expand_label(k->suite->hash, k->secret, k->hlen,
                             "traffic upd", NULL, 0, out, k->hlen) != ZT_OK)
        abort();
}

static void key_nonce(const fz_key *k, uint8_t nonce[ZT_AEAD_NONCE_LEN])
{
    int i;

    memcpy(nonce, k->iv, ZT_AEAD_NONCE_LEN);
    for (i = 0; i < 8; i++)
        nonce[ZT_AEAD_NONCE_LEN - 1 - i] ^= (uint8_t)(k->seq >> (8 * i));
}

typedef struct {
    zt_conn *c;
    zt_config *cfg;
    fz_key cli, srv;
    int pipe;
    /* application data sealed by us, and how much the server released */
    uint8_t *exp;
    size_t exp_len, exp_off;
    /* application data written by the server side, and how much we saw */
    uint64_t wrote, seen;
    /* server output being reassembled into records */
    uint8_t *acc;
    size_t acc_len;
    int closed_by_us;
    uint8_t rec[5 + 65535 + 32];
} fz_state;

#define ACC_CAP (5 + ZT_MAX_CIPHERTEXT)

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i * 7 + 3);
}

/* ---- server output: decrypt and check every record ----------------------- */

static void on_server_record(fz_state *s, uint8_t *h, size_t len)
{
    uint8_t nonce[ZT_AEAD_NONCE_LEN], next[ZT_MAX_HASH_LEN];
    uint8_t *b = h + 5;
    size_t n, i;

    if (h[0] != ZT_CT_APPDATA || h[1] != 3 || h[2] != 3 ||
        len < ZT_AEAD_TAG_LEN + 1)
        abort();
    n = len - ZT_AEAD_TAG_LEN;
    key_nonce(&s->srv, nonce);
    if (zt_aead_open(s->srv.aead, nonce, h, 5, b, n, b + n))
        abort(); /* the server emitted a record we cannot open */
    s->srv.seq++;
    while (n > 0 && b[n - 1] == 0)
        n--;
    if (n == 0 || n - 1 > s->c->max_frag)
        abort();
    n--;
    switch (b[n]) {
    case ZT_CT_APPDATA:
        for (i = 0; i < n; i++)
            if (b[i] != pattern(s->seen++))
                abort();
        if (s->seen > s->wrote)
            abort();
        break;
    case ZT_CT_HANDSHAKE:
        /* only KeyUpdate after the handshake, one per record, key changes
         * right after it */
        if (n != 5 || b[0] != ZT_HS_KEY_UPDATE || b[1] || b[2] || b[3] != 1 ||
            b[4] > 1)
            abort();
        key_next(&s->srv, next);
        key_set(&s->srv, next);
        break;
    case ZT_CT_ALERT:
        if (n != 2 || (b[0] != 1 && b[0] != 2))
            abort();
        break;
    default:
        abort();
    }
}

static void drain_output(fz_state *s)
{
    const uint8_t *p;
    size_t n, k, rl;

    while ((p = zt_send_buf(s->c, &n)) != NULL) {
        size_t sent = n;
        while (n > 0) {
            k = ACC_CAP - s->acc_len;
            if (k > n)
                k = n;
            memcpy(s->acc + s->acc_len, p, k);
            s->acc_len += k;
            p += k;
            n -= k;
            while (s->acc_len >= 5) {
                rl = ((size_t)s->acc[3] << 8) | s->acc[4];
                if (rl > ZT_MAX_CIPHERTEXT)
                    abort();
                if (s->acc_len < 5 + rl)
                    break;
                on_server_record(s, s->acc, rl);
                memmove(s->acc, s->acc + 5 + rl, s->acc_len - 5 - rl);
                s->acc_len -= 5 + rl;
            }
        }
        zt_send_done(s->c, sent); /* p is not ours after this */
    }
}

/* ---- plaintext released by the server -------------------------------------- */

static void drain_app(fz_state *s)
{
    uint8_t buf[1500];
    size_t k, i;

    while ((k = zt_read(s->c, buf, sizeof(buf))) > 0) {
        if (k > s->exp_len - s->exp_off)
            abort(); /* more than we sealed */
        for (i = 0; i < k; i++)
            if (buf[i] != s->exp[s->exp_off + i])
                abort();
        s->exp_off += k;
    }
}

/* The server took a KeyUpdate: its read key must be our successor. */
static void follow_read_key(fz_state *s)
{
    uint8_t next[ZT_MAX_HASH_LEN];

    if (memcmp(s->c->rd.secret, s->cli.secret, s->cli.hlen) == 0)
        return;
    key_next(&s->cli, next);
    if (memcmp(s->c->rd.secret, next, s->cli.hlen) != 0)
        abort();
    key_set(&s->cli, next);
}

static void check_errors(fz_state *s, zt_err ret)
{
    zt_err err = zt_conn_error(s->c);
    uint8_t sent = zt_conn_alert_sent(s->c);

    if (err == ZT_OK) {
        if (sent != ZT_ALERT_NONE || (zt_conn_state(s->c) & ZT_ST_FAILED))
            abort();
        return;
    }
    if (!(zt_conn_state(s->c) & ZT_ST_FAILED))
        abort();
    if (ret != ZT_OK && ret != ZT_E_STATE && ret != err)
        abort();
    if (sent != ZT_ALERT_NONE && sent != zt_err_alert(err))
        abort();
    if (sent == ZT_ALERT_NONE && zt_err_alert(err) != ZT_ALERT_NONE &&
        !s->closed_by_us && err != ZT_E_NOMEM)
        abort();
}

/* ---- feeding ---------------------------------------------------------------- */

static void feed(fz_state *s, const uint8_t *p, size_t n, size_t chunk,
                 int hold)
{
    size_t off = 0, k, room, took;
    uint8_t *b;
    zt_err e;

    while (off < n) {
        k = n - off < chunk ? n - off : chunk;
        took = 0;
        if (s->pipe) {
            b = zt_recv_buf(s->c, &room);
            e = zt_conn_error(s->c);
            if (room > ZT_INBUF_SIZE)
                abort();
            if (room > 0) {
                took = k < room ? k : room;
                memcpy(b, p + off, took);
                e = zt_recv_done(s->c, took);
            }
        } else {
            e = zt_feed(s->c, p + off, k, &took);
        }
        off += took;
        check_errors(s, e);
        follow_read_key(s);
        if (e != ZT_OK)
            return;
        if (took == 0) {
            /* blocked: plaintext held, or the peer closed */
            if (hold || !(zt_conn_state(s->c) & ZT_ST_APP_READABLE))
                return;
        }
        if (!hold) {
            drain_app(s);
            drain_output(s);
            follow_read_key(s);
        }
    }
}

/* Seal inner = bytes || type || zeros into s->rec; returns record length. */
static size_t seal(fz_state *s, uint8_t type, const uint8_t *p, size_t n,
                   unsigned mode)
{
    uint8_t nonce[ZT_AEAD_NONCE_LEN];
    uint8_t *b = s->rec + 5;
    size_t inner, pad = (mode & 0x10) ? 8 : 0, i;

    if (mode & 0x02) {
        size_t want = ZT_MAX_PLAINTEXT + 1 + ((mode & 0x10) ? 1 : 0);
        pad = n + 1 < want ? want - n - 1 : 0;
    }
    if (n + 1 + pad + ZT_AEAD_TAG_LEN > 65535)
        n = 65535 - ZT_AEAD_TAG_LEN - 1 - pad;
    inner = n + 1 + pad;
    memcpy(b, p, n);
    b[n] = type;
    memset(b + n + 1, 0, pad);
    s->rec[0] = ZT_CT_APPDATA;
    s->rec[1] = 3;
    s->rec[2] = 3;
    s->rec[3] = (uint8_t)((inner + ZT_AEAD_TAG_LEN) >> 8);
    s->rec[4] = (uint8_t)(inner + ZT_AEAD_TAG_LEN);

    /* what the server should release if it accepts this record */
    i = inner;
    while (i > 0 && b[i - 1] == 0)
        i--;
    if (i > 0 && b[i - 1] == ZT_CT_APPDATA && inner <= ZT_MAX_PLAINTEXT + 1) {
        memcpy(s->exp + s->exp_len, b, i - 1);
        s->exp_len += i - 1;
    }

    key_nonce(&s->cli, nonce);
    if (zt_aead_seal(s->cli.aead, nonce, s->rec, 5, b, inner, b + inner))
        abort();
    s->cli.seq++;
    return 5 + inner + ZT_AEAD_TAG_LEN;
}

static void act(fz_state *s, unsigned action, uint8_t type)
{
    static uint8_t big[ZT_MAX_PLAINTEXT];
    size_t want = action == 7 ? sizeof(big) : 100, acc, i;
    zt_err e;

    switch (action) {
    case 1:
    case 7:
        for (i = 0; i < want; i++)
            big[i] = pattern(s->wrote + i);
        e = zt_write(s->c, big, want, &acc);
        if (acc > want)
            abort();
        s->wrote += acc;
        check_errors(s, e);
        break;
    case 2:
    case 3:
        e = zt_key_update(s->c, action == 3);
        check_errors(s, e);
        break;
    case 4:
        if (zt_conn_error(s->c) == ZT_OK)
            s->closed_by_us = 1;
        e = zt_close(s->c);
        check_errors(s, e);
        break;
    case 6:
        (void)zt_conn_release_buffers(s->c);
        break;
    default:
        break;
    }
    if (action != 5 && action != 7) {
        drain_app(s);
        drain_output(s);
    }
}

static const size_t chunks[4] = {(size_t)-1, 1, 3, 17};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_state s;
    const uint8_t *p = data + 1, *end = data + size;
    unsigned mode;
    uint8_t type;
    size_t n;

    if (size < 1)
        return 0;
    memset(&s.cli, 0, sizeof(s.cli));
    memset(&s.srv, 0, sizeof(s.srv));
    s.cfg = zt_config_new();
    if (s.cfg == NULL)
        abort();
    if (data[0] & 4)
        zt_config_set_key_update_limit(s.cfg, 3);
    s.c = zt_conn_new(s.cfg);
    if (s.c == NULL)
        abort();
    s.pipe = (data[0] & 8) != 0;
    s.c->suite = zt_suite_lookup(suites[data[0] & 3]);
    s.c->hlen = zt_hash_len(s.c->suite->hash);
    s.cli.suite = s.srv.suite = s.c->suite;
    s.cli.hlen = s.srv.hlen = s.c->hlen;
    if (zt_set_key(s.c, &s.c->rd, client_secret0) != ZT_OK ||
        zt_set_key(s.c, &s.c->wr, server_secret0) != ZT_OK)
        abort();
    s.c->done = 1;
    s.c->st = ZT_S_CONNECTED;
    key_set(&s.cli, client_secret0);
    key_set(&s.srv, server_secret0);
    s.exp = malloc(size + 1);
    s.acc = malloc(ACC_CAP);
    if (s.exp == NULL || s.acc == NULL)
        abort();
    s.exp_len = s.exp_off = 0;
    s.wrote = s.seen = 0;
    s.acc_len = 0;
    s.closed_by_us = 0;

    while (end - p >= 4) {
        mode = p[0];
        type = p[1];
        n = ((size_t)p[2] << 8) | p[3];
        p += 4;
        if (n > (size_t)(end - p))
            n = (size_t)(end - p);
        if (mode & 1) {
            feed(&s, p, n, chunks[(mode >> 2) & 3], (mode >> 5) == 5);
        } else {
            size_t rl = seal(&s, type, p, n, mode);
            feed(&s, s.rec, rl, chunks[(mode >> 2) & 3], (mode >> 5) == 5);
        }
        p += n;
        act(&s, mode >> 5, type);
    }
    drain_app(&s);
    drain_output(&s);
    check_errors(&s, zt_eof(s.c));
    drain_output(&s);

    zt_conn_free(s.c);
    zt_config_free(s.cfg);
    zt_aead_free(s.cli.aead);
    zt_aead_free(s.srv.aead);
    free(s.exp);
    free(s.acc);
    return 0;
}
