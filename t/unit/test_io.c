/*
 * t/unit/test_io.c: how records go in and out: output gathered across
 * calls into few records (held, then sealed), dynamic record sizing, no
 * copy besides the AEAD's on the gathered and the direct paths, input
 * batching (many records per zt_recv_buf), buffers and AEAD contexts given
 * back right after the handshake, the HMAC keys scrubbed after each step.
 */
#include <stdlib.h>

#include "tclient.h"
#include "test.h"

static uint8_t out[1 << 17];

/* Open every record in out[0, n) into pt; returns the number of records
 * (-1 on a bad one), their plaintext lengths in lens. */
static int open_all(tcli *t, const uint8_t *p, size_t n, uint8_t *pt,
                    size_t *pt_len, size_t *lens, int max)
{
    size_t o = 0, rl, have = 0;
    uint8_t type;
    long k;
    int recs = 0;

    while (o + 5 <= n) {
        rl = ((size_t)p[o + 3] << 8) | p[o + 4];
        if (o + 5 + rl > n)
            return -1;
        k = tcli_open(t, p + o, 5 + rl, &type, pt + have);
        if (k < 0 || type != ZT_CT_APPDATA)
            return -1;
        if (recs < max)
            lens[recs] = (size_t)k;
        recs++;
        have += (size_t)k;
        o += 5 + rl;
    }
    *pt_len = have;
    return o == n ? recs : -1;
}

static void gathered_output(void)
{
    zt_config *cfg = tsrv_config(TSRV_ED25519);
    zt_conn *s = zt_conn_new(cfg);
    static uint8_t body[40000], pt[50000];
    size_t room, acc, n, ptn, lens[16], i;
    uint8_t *w;
    zt_iov v[2];
    tcli t;
    int recs;

    for (i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 13);
    tcli_init(&t);
    CHECK(thandshake(s, &t) == 0);
    (void)tsrv_drain(s, out, sizeof(out));

    /* two calls hold their bytes (HTTP/2 HEADERS, then a small DATA):
     * nothing goes out until the record is sealed */
    w = zt_write_buf(s, &room);
    CHECK(w != NULL && room == ZT_BURST_RECORD);
    memcpy(w, "HEADERS:", 8);
    CHECK(zt_write_hold(s, 8) == ZT_OK);
    CHECK(zt_conn_state(s) & ZT_ST_HOLDING);
    CHECK(!(zt_conn_state(s) & ZT_ST_HAS_OUTPUT));
    CHECK(zt_conn_release_buffers(s) == ZT_E_STATE); /* held: busy */
    w = zt_write_buf(s, &room);
    CHECK(w != NULL && room == ZT_BURST_RECORD - 8);
    memcpy(w, "more:", 5);
    CHECK(zt_write_hold(s, 5) == ZT_OK);
    /* the last piece is read by the AEAD where it is */
    v[0].base = (const uint8_t *)"DATA";
    v[0].len = 4;
    CHECK(zt_write_v(s, v, 1, &acc) == ZT_OK && acc == 4);
    CHECK(!(zt_conn_state(s) & ZT_ST_HOLDING));
    n = tsrv_drain(s, out, sizeof(out));
    recs = open_all(&t, out, n, pt, &ptn, lens, 16);
    CHECK_EQ_INT(recs, 1);
    CHECK(ptn == 17 && memcmp(pt, "HEADERS:more:DATA", 17) == 0);
    CHECK_EQ_INT(s->copied, 13); /* only the held bytes were copied */

    /* dynamic record sizing: small records for the first ZT_BURST_BYTES,
     * then full ones; a gathered send of many pieces, no copy */
    s->copied = 0;
    {
        size_t off = 0;
        n = 0;
        while (off < sizeof(body)) {
            v[0].base = body + off;
            v[0].len = 100 < sizeof(body) - off ? 100 : sizeof(body) - off;
            v[1].base = body + off + v[0].len;
            v[1].len = sizeof(body) - off - v[0].len;
            CHECK(zt_write_v(s, v, 2, &acc) == ZT_OK);
            if (acc == 0) {
                const uint8_t *p = zt_send_buf(s, &room);
                CHECK(p != NULL && n + room <= sizeof(out));
                if (p == NULL || n + room > sizeof(out))
                    break;
                memcpy(out + n, p, room);
                n += room;
                zt_send_done(s, room);
                continue;
            }
            off += acc;
        }
        n += tsrv_drain(s, out + n, sizeof(out) - n);
    }
    recs = open_all(&t, out, n, pt, &ptn, lens, 16);
    CHECK(ptn == sizeof(body) && memcmp(pt, body, ptn) == 0);
    CHECK_EQ_INT(s->copied, 0);
    CHECK(recs >= 6);
    if (recs >= 6) {
        /* 1369 * 3 >= 4096: three small records, one that fills the send
         * pipe's record, then full ones */
        CHECK_EQ_INT(lens[0], ZT_BURST_RECORD);
        CHECK_EQ_INT(lens[1], ZT_BURST_RECORD);
        CHECK_EQ_INT(lens[2], ZT_BURST_RECORD);
        CHECK_EQ_INT(lens[3], ZT_OUTBUF_SIZE - 4 * 22 - 3 * ZT_BURST_RECORD);
        CHECK_EQ_INT(lens[4], ZT_MAX_PLAINTEXT);
    }
    /* after a quiet while the embedder starts small again */
    zt_conn_restart_records(s);
    w = zt_write_buf(s, &room);
    CHECK(w != NULL && room == ZT_BURST_RECORD);

    /* close_notify goes after what is held; a failure drops it */
    memcpy(w, "last", 4);
    CHECK(zt_write_hold(s, 4) == ZT_OK);
    CHECK(zt_close(s) == ZT_OK);
    n = tsrv_drain(s, out, sizeof(out));
    {
        uint8_t type;
        size_t rl = ((size_t)out[3] << 8) | out[4];
        long k = tcli_open(&t, out, 5 + rl, &type, pt);
        CHECK(k == 4 && type == ZT_CT_APPDATA && memcmp(pt, "last", 4) == 0);
        k = tcli_open(&t, out + 5 + rl, n - 5 - rl, &type, pt);
        CHECK(k == 2 && type == ZT_CT_ALERT && pt[1] == ZT_ALERT_CLOSE_NOTIFY);
    }
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
}

static void batched_input(void)
{
    zt_config *cfg = tsrv_config(TSRV_P256);
    zt_conn *s = zt_conn_new(cfg);
    static uint8_t recs[60 * 64], big[3 * (5 + ZT_MAX_PLAINTEXT + 17)];
    static uint8_t dst[3 * ZT_MAX_PLAINTEXT + 1], data[3 * ZT_MAX_PLAINTEXT];
    size_t r = 0, len, got, i, total, calls;
    uint8_t *b;
    tcli t;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31);
    tcli_init(&t);
    CHECK(thandshake(s, &t) == 0);
    (void)tsrv_drain(s, out, sizeof(out));

    /* right after the handshake, with nothing to read or send, the
     * connection gives back its buffers and AEAD contexts */
    CHECK(zt_conn_release_buffers(s) == ZT_OK);
    CHECK_EQ_INT(zt_conn_buffer_bytes(s), 0);
    CHECK(s->rd.aead == NULL && s->wr.aead == NULL);
    CHECK_EQ_INT(zt_conn_memory(s), zt_conn_size());

    /* 60 small records (an HTTP/2 client's frames) are taken at once */
    for (i = 0; i < 60; i++)
        r += tcli_seal(&t, ZT_CT_APPDATA, data + i * 10, 10, 0, recs + r);
    b = zt_recv_buf(s, &len);
    CHECK(b != NULL && len >= r);
    if (b == NULL || len < r)
        goto done;
    memcpy(b, recs, r);
    s->copied = 0;
    CHECK(zt_recv_into(s, r, dst, sizeof(dst), &got) == ZT_OK);
    CHECK(got == 600 && memcmp(dst, data, 600) == 0);
    CHECK_EQ_INT(s->copied, 0); /* decrypted straight into dst */
    CHECK_EQ_INT(s->in_pt, 0);  /* no plaintext left in `in` to wipe */
    CHECK(zt_conn_memory(s) >= zt_conn_size() + ZT_INBUF_SIZE + zt_aead_bytes());

    /* buffers first, then the cipher contexts */
    CHECK(zt_conn_release(s, ZT_RELEASE_BUFFERS) == ZT_OK);
    CHECK(s->in == NULL && s->rd.aead != NULL);
    CHECK(zt_conn_release(s, ZT_RELEASE_CIPHERS) == ZT_OK);
    CHECK(s->rd.aead == NULL && s->wr.aead == NULL);

    /* a caller's buffer that fills: the rest waits, sealed */
    r = 0;
    for (i = 0; i < 5; i++)
        r += tcli_seal(&t, ZT_CT_APPDATA, data + i * 10, 10, 0, recs + r);
    b = zt_recv_buf(s, &len);
    CHECK(b != NULL && len >= r);
    if (b == NULL || len < r)
        goto done;
    memcpy(b, recs, r);
    CHECK(zt_recv_into(s, r, dst, 25, &got) == ZT_OK);
    CHECK_EQ_INT(got, 20); /* two records; the third does not fit */
    CHECK(zt_conn_state(s) & ZT_ST_APP_READABLE);
    CHECK(!(zt_conn_state(s) & ZT_ST_WANT_READ));
    CHECK(zt_recv_into(s, 0, dst + 20, 5, &got) == ZT_OK);
    CHECK_EQ_INT(got, 5); /* nothing delivered yet: copied out */
    CHECK(zt_recv_into(s, 0, dst + 25, sizeof(dst) - 25, &got) == ZT_OK);
    CHECK_EQ_INT(got, 25);
    CHECK(memcmp(dst, data, 50) == 0);
    CHECK(!(zt_conn_state(s) & ZT_ST_APP_READABLE));

    /* bulk: full records are read exactly (no partial record to move) and
     * decrypted into the caller's buffer */
    r = 0;
    for (i = 0; i < 3; i++)
        r += tcli_seal(&t, ZT_CT_APPDATA, data + i * ZT_MAX_PLAINTEXT,
                       ZT_MAX_PLAINTEXT, 0, big + r);
    total = 0;
    calls = 0;
    s->copied = 0;
    for (i = 0; i < r && calls < 20; calls++) {
        b = zt_recv_buf(s, &len);
        if (b == NULL || len == 0)
            break;
        if (len > r - i)
            len = r - i;
        memcpy(b, big + i, len);
        i += len;
        CHECK(zt_recv_into(s, len, dst + total, sizeof(dst) - total, &got) ==
              ZT_OK);
        total += got;
    }
    CHECK(total == sizeof(data) && memcmp(dst, data, total) == 0);
    CHECK(calls <= 4);
    /* (the caller's room covers each record's inner plaintext: its
     * content type byte too) */
    CHECK_EQ_INT(s->copied, 0);

    /* a tampered record fails with bad_record_mac; what went to dst is
     * wiped */
    r = tcli_seal(&t, ZT_CT_APPDATA, (const uint8_t *)"secret!", 7, 0, recs);
    recs[r - 1] ^= 1;
    b = zt_recv_buf(s, &len);
    CHECK(b != NULL && len >= r);
    if (b == NULL || len < r)
        goto done;
    memcpy(b, recs, r);
    memset(dst, 0x55, 64);
    CHECK(zt_recv_into(s, r, dst, 64, &got) == ZT_E_BAD_RECORD_MAC);
    CHECK_EQ_INT(got, 0);
    CHECK(memcmp(dst, "secret!", 7) != 0);
done:
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
}

/* The key schedule leaves no HMAC key in the cached contexts once a step
 * of the core is over (docs/crypto.md). */
static void hmac_scrubbed(void)
{
    zt_config *cfg = tsrv_config(TSRV_ED25519);
    zt_conn *s = zt_conn_new(cfg);
    uint8_t prk[32];
    tcli t;

    CHECK(zt_hkdf_extract(ZT_SHA256, NULL, 0, (const uint8_t *)"k", 1,
                          prk) == 0);
    CHECK(zt_crypto_hmac_keyed() != 0);
    zt_crypto_scrub();
    CHECK_EQ_INT(zt_crypto_hmac_keyed(), 0);
    tcli_init(&t);
    CHECK(tsrv_hello(s, &t) == ZT_OK);
    CHECK_EQ_INT(zt_crypto_hmac_keyed(), 0); /* after the ClientHello */
    tcli_free(&t);
    zt_conn_free(s);
    s = zt_conn_new(cfg);
    tcli_init(&t);
    CHECK(thandshake(s, &t) == 0);
    (void)zt_crypto_hmac_keyed(); /* the test client's own HMACs */
    zt_crypto_scrub();
    CHECK(zt_key_update(s, 0) == ZT_OK);
    CHECK_EQ_INT(zt_crypto_hmac_keyed(), 0);
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
}

void suite_io(void)
{
    gathered_output();
    batched_input();
    hmac_scrubbed();
}
