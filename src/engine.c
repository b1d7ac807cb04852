/*
 * engine.c: the connection object and its four pipes. Records in are
 * framed, checked and unprotected here, then handed to the handshake
 * (server.c) or released as plaintext once their tag verified.
 */
#include <stdlib.h>

#include "internal.h"

size_t zt_conn_size(void)
{
    return sizeof(zt_conn);
}

zt_conn *zt_conn_new(const zt_config *cfg)
{
    zt_conn *c;

    if (cfg == NULL)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cfg = c->use = cfg;
    c->st = ZT_S_WAIT_CH;
    c->alert_sent = c->alert_recv = ZT_ALERT_NONE;
    c->max_frag = ZT_MAX_PLAINTEXT;
    c->cred_index = -1;
    return c;
}

static void free_buf(uint8_t **p, size_t n)
{
    if (*p) {
        zt_memzero(*p, n);
        free(*p);
        *p = NULL;
    }
}

void zt_conn_free(zt_conn *c)
{
    if (c == NULL)
        return;
    zt_hs_release(c);
    zt_peer_free(c);
    zt_dir_clear(&c->rd);
    zt_dir_clear(&c->wr);
    free(c->sni);
    free(c->ja4);
    free_buf(&c->in, c->in_hwm);
    free_buf(&c->out, c->out_hwm);
    zt_memzero(c, sizeof(*c));
    free(c);
}

void zt_conn_set_user(zt_conn *c, void *user)
{
    c->user = user;
}

void *zt_conn_user(const zt_conn *c)
{
    return c->user;
}

/* First error wins; it queues its alert (if any) behind pending output. */
zt_err zt_fail(zt_conn *c, zt_err e)
{
    uint8_t a[2];

    if (c->err != ZT_OK)
        return c->err;
    c->err = e;
    c->st = ZT_S_FAILED;
    c->hs_out_len = 0;
    if (c->wr_held) {
        /* gathered plaintext never goes out after a failure */
        zt_memzero(c->out + c->out_len, 5 + c->wr_held);
        c->wr_held = 0;
    }
    a[1] = zt_err_alert(e);
    if (a[1] != ZT_ALERT_NONE && !c->closed) {
        a[0] = 2; /* fatal */
        if (zt_emit_record(c, ZT_CT_ALERT, a, 2) == ZT_OK)
            c->alert_sent = a[1];
        c->closed = 1;
    }
    return e;
}

/* ---- records in --------------------------------------------------------- */

static zt_err on_alert(zt_conn *c, const uint8_t *p, size_t n)
{
    /* Section 5.1: zero-length fragments of alerts MUST NOT be sent (as
     * for handshake records: unexpected_message); alerts are never
     * fragmented or coalesced. */
    if (n == 0)
        return ZT_E_UNEXPECTED_MESSAGE;
    if (n != 2)
        return ZT_E_DECODE;
    c->alert_recv = p[1];
    if (p[1] == ZT_ALERT_CLOSE_NOTIFY) {
        c->peer_closed = 1;
        return c->done ? ZT_OK : ZT_E_PEER_ALERT;
    }
    if (p[1] == ZT_ALERT_USER_CANCELED) {
        /* section 6.1: a close_notify should follow; a stream of them is
         * a flood */
        if (++c->n_warn > ZT_MAX_WARNING_ALERTS)
            return ZT_E_TOO_MANY_WARNINGS;
        return ZT_OK;
    }
    return ZT_E_PEER_ALERT; /* every other alert is fatal in TLS 1.3 */
}

static zt_err hs_append(zt_conn *c, const uint8_t *p, size_t n)
{
    uint8_t *nb;
    size_t cap;

    if (c->hs_cap - c->hs_len < n) {
        cap = c->hs_cap ? c->hs_cap : 1024;
        while (cap - c->hs_len < n)
            cap *= 2;
        if (cap > UINT32_MAX)
            return ZT_E_NOMEM; /* sizes are 32-bit (zt_conn) */
        nb = realloc(c->hs, cap);
        if (nb == NULL)
            return ZT_E_NOMEM;
        c->hs = nb;
        c->hs_cap = cap;
    }
    memcpy(c->hs + c->hs_len, p, n);
    c->hs_len += n;
    return ZT_OK;
}

/*
 * Complete handshake messages in p[0, n) go to the state table; a partial
 * tail waits in c->hs. A message may not straddle a change of read key
 * (section 5.1), and is capped at the configured max_hs.
 */
static zt_err run_messages(zt_conn *c, const uint8_t *p, size_t n,
                           size_t *used)
{
    unsigned before = c->rd.epoch;
    zt_state st = c->st;
    uint32_t mlen;
    zt_err e;

    *used = 0;
    while (n - *used >= 4) {
        const uint8_t *m = p + *used;
        mlen = ((uint32_t)m[1] << 16) | ((uint32_t)m[2] << 8) | m[3];
        if (mlen > c->use->max_hs)
            return ZT_E_HANDSHAKE_TOO_LARGE;
        if (n - *used < 4 + (size_t)mlen)
            break;
        e = zt_on_handshake_msg(c, m, 4 + (size_t)mlen);
        if (e != ZT_OK)
            return e;
        *used += 4 + (size_t)mlen;
        if (c->rd.epoch != before && *used != n)
            return ZT_E_UNEXPECTED_MESSAGE;
        /* nothing can follow a ClientHello answered by a HelloRetryRequest:
         * the second one needs the HRR first (4.1.4) */
        if (st == ZT_S_WAIT_CH && c->st == ZT_S_WAIT_CH2 && *used != n)
            return ZT_E_UNEXPECTED_MESSAGE;
        st = c->st;
        before = c->rd.epoch;
    }
    return ZT_OK;
}

static zt_err on_handshake_data(zt_conn *c, const uint8_t *p, size_t n)
{
    unsigned before = c->rd.epoch;
    size_t used;
    zt_err e;

    if (c->hs_len == 0) {
        /* Common case: whole messages in this record, no copy. */
        e = run_messages(c, p, n, &used);
        if (e == ZT_OK && used < n)
            e = hs_append(c, p + used, n - used);
    } else {
        e = hs_append(c, p, n);
        if (e == ZT_OK)
            e = run_messages(c, c->hs, c->hs_len, &used);
        if (e == ZT_OK && c->hs != NULL) {
            memmove(c->hs, c->hs + used, c->hs_len - used);
            c->hs_len -= used;
        }
    }
    if (e != ZT_OK)
        return e;
    if (c->hs_len > 0 && c->rd.epoch != before)
        return ZT_E_UNEXPECTED_MESSAGE;
    if (c->hs_len >= 4) {
        uint32_t mlen = ((uint32_t)c->hs[1] << 16) |
                        ((uint32_t)c->hs[2] << 8) | c->hs[3];
        if (mlen > c->use->max_hs)
            return ZT_E_HANDSHAKE_TOO_LARGE;
    }
    return ZT_OK;
}

/*
 * One whole record: header at rec[-5], fragment rec[0, len). With dst (a
 * protected record after the handshake, dst has room for len - 16 bytes)
 * the plaintext is decrypted there and application data is counted in
 * *direct instead of being held in place.
 */
static zt_err on_record(zt_conn *c, uint8_t type, uint8_t *rec, size_t len,
                        uint8_t *dst, size_t *direct)
{
    uint8_t inner = type;
    size_t n = len;
    zt_err e;

    if (c->peer_closed)
        return ZT_OK; /* section 6.1: data after close_notify is ignored */
    if (type == ZT_CT_CCS) {
        /* Section 5: an unprotected 0x01 "at any time" between the first
         * ClientHello and the client Finished is dropped; anything else is
         * unexpected_message. Repeated ones make no progress: they count
         * with empty records. */
        if (len != 1 || rec[0] != 0x01 || c->hs_len != 0 ||
            (c->st != ZT_S_WAIT_CH2 && c->st != ZT_S_WAIT_EOED &&
             c->st != ZT_S_WAIT_CERT && c->st != ZT_S_WAIT_CV &&
             c->st != ZT_S_WAIT_FINISHED))
            return ZT_E_UNEXPECTED_CCS;
        c->ccs_seen = 1;
        if (++c->n_empty > ZT_MAX_EMPTY_RECORDS)
            return ZT_E_TOO_MANY_EMPTY;
        return ZT_OK;
    }
    if (c->rd.keyed) {
        if (type == ZT_CT_APPDATA) {
            if (dst == NULL && (size_t)(rec - c->in) + len > c->in_pt)
                c->in_pt = (size_t)(rec - c->in) + len; /* wiped on free */
            e = dst ? zt_unprotect_to(c, rec, len, dst, &inner, &n)
                    : zt_unprotect(c, rec, len, &inner, &n);
            if (e == ZT_E_BAD_RECORD_MAC &&
                (c->st == ZT_S_WAIT_FINISHED || c->st == ZT_S_WAIT_CERT) &&
                c->early_skip >= len) {
                c->early_skip -= len; /* rejected 0-RTT (4.2.10) */
                return ZT_OK;
            }
            if (e != ZT_OK)
                return e;
            c->early_skip = 0;
            if (dst)
                rec = dst;
        } else if (!(type == ZT_CT_ALERT && !c->done)) {
            /* only an alert may come unprotected, from a client that could
             * not read our ServerHello */
            return ZT_E_UNEXPECTED_MESSAGE;
        }
    } else if (type == ZT_CT_APPDATA) {
        if (c->st == ZT_S_WAIT_CH2 && c->early_skip >= len) {
            c->early_skip -= len; /* 0-RTT after our HRR: skipped */
            return ZT_OK;
        }
        return ZT_E_UNEXPECTED_MESSAGE; /* no early data accepted */
    }
    if (c->hs_len != 0 && inner != ZT_CT_HANDSHAKE)
        return ZT_E_UNEXPECTED_MESSAGE; /* no interleaving (5.1) */
    if (inner != ZT_CT_ALERT)
        c->n_warn = 0; /* only consecutive warning alerts are a flood */
    switch (inner) {
    case ZT_CT_HANDSHAKE:
        if (n == 0)
            return ZT_E_UNEXPECTED_MESSAGE; /* no zero-length fragments */
        return on_handshake_data(c, rec, n);
    case ZT_CT_ALERT:
        return on_alert(c, rec, n);
    case ZT_CT_APPDATA:
        if (c->st == ZT_S_WAIT_EOED) {
            e = zt_early_data_in(c, n); /* accepted 0-RTT (4.2.10) */
            if (e != ZT_OK)
                return e;
        } else if (!c->done) {
            return ZT_E_UNEXPECTED_MESSAGE;
        }
        if (n == 0) {
            /* legal (5.1), but only a few in a row: no progress */
            if (++c->n_empty > ZT_MAX_EMPTY_RECORDS)
                return ZT_E_TOO_MANY_EMPTY;
            return ZT_OK;
        }
        c->n_empty = c->n_ku = 0;
        c->rx_early = c->st == ZT_S_WAIT_EOED; /* never delivered direct */
        if (dst) {
            *direct = n;
            return ZT_OK;
        }
        c->app_off = (size_t)(rec - c->in);
        c->app_len = n;
        c->app_held = 1;
        return ZT_OK;
    default:
        return ZT_E_UNEXPECTED_MESSAGE;
    }
}

/* Length of the record whose header is at in[at] (5 bytes present). */
static size_t rec_len_at(const zt_conn *c, size_t at)
{
    return ((size_t)c->in[at + 3] << 8) | c->in[at + 4];
}

/*
 * Process the complete records at in_off, one after the other. With dst,
 * application data after the handshake is decrypted straight into
 * dst[*got, cap) while it fits; the first record that does not fit stops
 * the loop if something was delivered already, otherwise it is decrypted
 * in place and held (the caller copies it out).
 */
static zt_err process_into(zt_conn *c, uint8_t *dst, size_t cap, size_t *got)
{
    size_t rlen, max, direct;
    uint8_t type, *h;
    int to_dst;
    zt_err e;

    c->sealed_wait = 0;
    while (c->err == ZT_OK && !c->app_held && c->in_len - c->in_off >= 5) {
        h = c->in + c->in_off;
        type = h[0];
        rlen = rec_len_at(c, c->in_off);
        if ((type & 0x80) && h[2] == 0x01 && c->st == ZT_S_WAIT_CH &&
            c->hs_len == 0 && c->alert_recv == ZT_ALERT_NONE)
            /* An SSLv2-format CLIENT-HELLO (2-byte length with the high
             * bit, msg_type 1) as the first record: an old client that
             * cannot negotiate TLS 1.3 this way (D.5), told so as
             * OpenSSL and BoringSSL do, not as garbage. */
            return zt_fail(c, ZT_E_PROTOCOL_VERSION);
        if (type < ZT_CT_CCS || type > ZT_CT_APPDATA)
            return zt_fail(c, ZT_E_UNEXPECTED_MESSAGE);
        /* Section 5.1/5.2: 2^14 plaintext, 2^14 + 256 protected. */
        max = (c->rd.keyed && type == ZT_CT_APPDATA)
                  ? ZT_MAX_CIPHERTEXT
                  : ZT_MAX_PLAINTEXT;
        if (rlen > max)
            return zt_fail(c, ZT_E_RECORD_OVERFLOW);
        if (c->in_len - c->in_off < 5 + rlen)
            break;
        to_dst = dst != NULL && c->done && c->rd.keyed && !c->peer_closed &&
                 type == ZT_CT_APPDATA && rlen > ZT_AEAD_TAG_LEN;
        if (to_dst && cap - *got < rlen - ZT_AEAD_TAG_LEN) {
            if (*got > 0) {
                c->sealed_wait = 1; /* the caller's buffer is full */
                break;
            }
            to_dst = 0;
        }
        direct = 0;
        e = on_record(c, type, h + 5, rlen, to_dst ? dst + *got : NULL,
                      &direct);
        if (e != ZT_OK)
            return zt_fail(c, e);
        *got += direct;
        if (c->app_held)
            c->in_hold = 5 + rlen;
        else
            c->in_off += 5 + rlen;
    }
    if (!c->app_held && c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    zt_crypto_scrub(); /* no HMAC key left behind by this step */
    return c->err;
}

static zt_err process(zt_conn *c)
{
    size_t got = 0;

    return process_into(c, NULL, 0, &got);
}

uint8_t *zt_recv_buf(zt_conn *c, size_t *len)
{
    size_t at, lim, rlen;

    *len = 0;
    if (c->err != ZT_OK || c->peer_closed)
        return NULL;
    if (c->in == NULL) {
        c->in = malloc(ZT_INBUF_SIZE);
        if (c->in == NULL) {
            zt_fail(c, ZT_E_NOMEM);
            return NULL;
        }
        c->in_off = c->in_len = 0;
    }
    /* the first record not complete yet */
    at = c->in_off + (c->app_held ? c->in_hold : 0);
    while (c->in_len - at >= 5 && c->in_len - at >= 5 + rec_len_at(c, at))
        at += 5 + rec_len_at(c, at);
    rlen = c->in_len - at >= 5 ? rec_len_at(c, at) : ZT_MAX_CIPHERTEXT;
    /*
     * It must fit with the next header; if not, what is not consumed moves
     * to the front (a partial record, once per buffer), unless plaintext
     * handed out still lies there.
     */
    if (at + 5 + rlen + 5 > ZT_INBUF_SIZE && c->in_off > 0 && !c->app_held) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        at -= c->in_off;
        c->in_off = 0;
    }
    /*
     * Batch: read what the socket has, up to the buffer's end, so that many
     * small records cost one recv. A long record is read exactly (the rest
     * of it and the next header): bulk data never has a partial record to
     * move.
     */
    lim = ZT_INBUF_SIZE;
    if (c->in_len - at >= 5 && rlen >= ZT_RECV_EXACT)
        lim = at + 5 + rlen + 5;
    if (lim > ZT_INBUF_SIZE)
        lim = ZT_INBUF_SIZE;
    if (lim <= c->in_len)
        return NULL;
    *len = lim - c->in_len;
    return c->in + c->in_len;
}

static zt_err take_input(zt_conn *c, size_t n)
{
    if (c->in == NULL || n > ZT_INBUF_SIZE - c->in_len)
        return zt_fail(c, ZT_E_STATE);
    if (n > 0 && c->t_start == 0 && c->cfg->clock)
        c->t_start = c->cfg->clock(c->cfg->clock_arg);
    c->in_len += n;
    if (c->in_len > c->in_hwm)
        c->in_hwm = c->in_len;
    return ZT_OK;
}

zt_err zt_recv_done(zt_conn *c, size_t n)
{
    if (c->err != ZT_OK)
        return c->err;
    if (take_input(c, n) != ZT_OK)
        return c->err;
    return process(c);
}

/* The held plaintext is all read: drop its record. */
static void drop_held(zt_conn *c)
{
    c->app_held = 0;
    c->app_len = 0;
    c->in_off += c->in_hold;
    c->in_hold = 0;
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
}

zt_err zt_recv_into(zt_conn *c, size_t n, uint8_t *dst, size_t cap,
                    size_t *got)
{
    size_t k;

    *got = 0;
    if (c->err != ZT_OK)
        return c->err;
    if (n > 0 && take_input(c, n) != ZT_OK)
        return c->err;
    for (;;) {
        /* plaintext held in place (a record larger than dst's room, or
         * early data: that ends the call, so that what one call returns is
         * all early or all not, zt_app_data_early) */
        if (c->app_held) {
            k = c->app_len < cap - *got ? c->app_len : cap - *got;
            memcpy(dst + *got, c->in + c->app_off, k);
            c->copied += k;
            *got += k;
            c->app_off += k;
            c->app_len -= k;
            if (c->app_len > 0)
                break;
            drop_held(c);
            if (c->rx_early)
                break;
        }
        if (*got == cap || process_into(c, dst, cap, got) != ZT_OK ||
            !c->app_held)
            break;
    }
    return c->err;
}

zt_err zt_feed(zt_conn *c, const uint8_t *data, size_t len, size_t *consumed)
{
    size_t off = 0, w, k;
    uint8_t *b;
    zt_err e = c->err;

    while (e == ZT_OK && off < len) {
        b = zt_recv_buf(c, &w);
        if (w == 0)
            break;
        k = len - off < w ? len - off : w;
        memcpy(b, data + off, k);
        off += k;
        e = zt_recv_done(c, k);
    }
    if (consumed)
        *consumed = off;
    return e != ZT_OK ? e : c->err;
}

zt_err zt_eof(zt_conn *c)
{
    if (c->err != ZT_OK)
        return c->err;
    /* After either side's close_notify the stream has ended cleanly: a
     * peer that hangs up after our close_notify truncated nothing. */
    if (c->peer_closed || (c->closed && c->done))
        return ZT_OK;
    return zt_fail(c, ZT_E_TRUNCATED);
}

/* ---- records out ---------------------------------------------------------- */

const uint8_t *zt_send_buf(zt_conn *c, size_t *len)
{
    *len = c->out_len - c->out_off;
    return *len ? c->out + c->out_off : NULL;
}

void zt_send_done(zt_conn *c, size_t n)
{
    if (n > c->out_len - c->out_off)
        n = c->out_len - c->out_off;
    c->out_off += n;
    if (c->out_off == c->out_len) {
        if (c->wr_held) {
            /* the open record moves to the front (its few bytes) */
            memmove(c->out + 5, c->out + c->out_len + 5, c->wr_held);
            c->out_off = c->out_len = 0;
            return;
        }
        c->out_off = c->out_len = 0;
        /* the handshake flight may have grown it; back to one record */
        if (c->done && c->out_cap > ZT_OUTBUF_SIZE)
            free_buf(&c->out, c->out_hwm), c->out_cap = c->out_hwm = 0;
    }
}

/* ---- plaintext -------------------------------------------------------------- */

const uint8_t *zt_app_data(zt_conn *c, size_t *len)
{
    if (!c->app_held && c->err == ZT_OK && c->sealed_wait)
        (void)process(c); /* records left sealed by zt_recv_into */
    *len = c->app_held ? c->app_len : 0;
    return *len ? c->in + c->app_off : NULL;
}

void zt_app_data_done(zt_conn *c, size_t n)
{
    if (!c->app_held)
        return;
    if (n > c->app_len)
        n = c->app_len;
    c->app_off += n;
    c->app_len -= n;
    if (c->app_len == 0) {
        drop_held(c);
        (void)process(c);
    }
}

size_t zt_read(zt_conn *c, uint8_t *buf, size_t len)
{
    size_t got = 0, n;
    const uint8_t *p;
    unsigned early = c->rx_early;

    /* early data and what follows it are not returned together */
    while (got < len && (p = zt_app_data(c, &n)) != NULL &&
           (got == 0 || c->rx_early == early)) {
        early = c->rx_early;
        if (n > len - got)
            n = len - got;
        memcpy(buf + got, p, n);
        c->copied += n;
        got += n;
        zt_app_data_done(c, n);
    }
    return got;
}

/* After the handshake, or at 0.5-RTT once early data was accepted. */
static int can_write(const zt_conn *c)
{
    return c->done || c->early_ok;
}

/* Plaintext one record may carry now: small at the start of a burst
 * (dynamic record sizing), else the peer's limit. */
static size_t record_cap(const zt_conn *c)
{
    if (c->burst < ZT_BURST_BYTES && c->max_frag > ZT_BURST_RECORD)
        return ZT_BURST_RECORD;
    return c->max_frag;
}

uint8_t *zt_write_buf(zt_conn *c, size_t *len)
{
    size_t room, n, cap;

    *len = 0;
    if (c->err != ZT_OK || !can_write(c) || c->closed)
        return NULL;
    if (c->wr_held == 0 && c->wr.seq >= c->use->ku_limit) {
        /* section 5.5: rotate well before the AEAD's limit */
        zt_err e = zt_send_key_update(c, 0);
        zt_crypto_scrub();
        if (e != ZT_OK) {
            zt_fail(c, e);
            return NULL;
        }
    }
    if (c->out == NULL) {
        c->out = malloc(ZT_OUTBUF_SIZE);
        if (c->out == NULL) {
            zt_fail(c, ZT_E_NOMEM);
            return NULL;
        }
        c->out_cap = ZT_OUTBUF_SIZE;
        c->out_off = c->out_len = 0;
    }
    for (;;) {
        if (c->out_off == c->out_len && c->wr_held == 0)
            c->out_off = c->out_len = 0;
        room = c->out_cap - c->out_len;
        if (room < 5 + 1 + ZT_AEAD_TAG_LEN + 1)
            return NULL; /* flush first */
        n = room - (5 + 1 + ZT_AEAD_TAG_LEN);
        cap = record_cap(c);
        if (n > cap)
            n = cap;
        if (n > c->wr_held)
            break;
        /* the open record is full: seal it, open the next */
        if (zt_seal_held(c) != ZT_OK) {
            zt_fail(c, ZT_E_INTERNAL);
            return NULL;
        }
    }
    *len = n - c->wr_held;
    return c->out + c->out_len + 5 + c->wr_held;
}

zt_err zt_write_hold(zt_conn *c, size_t n)
{
    size_t len;

    if (c->err != ZT_OK)
        return c->err;
    if (n == 0)
        return ZT_OK;
    if (zt_write_buf(c, &len) == NULL || n > len)
        return ZT_E_STATE;
    c->wr_held += n;
    c->copied += n; /* the embedder copied it there */
    return ZT_OK;
}

zt_err zt_write_done(zt_conn *c, size_t n)
{
    size_t len;
    zt_err e;

    if (c->err != ZT_OK)
        return c->err;
    if (n == 0 && c->wr_held == 0)
        return ZT_OK;
    if (n > 0 && (zt_write_buf(c, &len) == NULL || n > len))
        return ZT_E_STATE;
    c->wr_held += n;
    e = zt_seal_held(c);
    return e == ZT_OK ? ZT_OK : zt_fail(c, e);
}

zt_err zt_write_v(zt_conn *c, const zt_iov *iov, size_t n_iov,
                  size_t *accepted)
{
    zt_iov v[ZT_MAX_IOV];
    size_t room, k = 0, i, held;
    zt_err e;

    *accepted = 0;
    if (c->err != ZT_OK)
        return c->err;
    if (!can_write(c) || c->closed)
        return ZT_E_STATE;
    if (zt_write_buf(c, &room) == NULL)
        return c->err; /* ZT_OK: flush first */
    for (i = 0; i < n_iov && k < ZT_MAX_IOV && room > 0; i++) {
        if (iov[i].len == 0)
            continue;
        v[k].base = iov[i].base;
        v[k].len = iov[i].len < room ? iov[i].len : room;
        room -= v[k].len;
        *accepted += v[k].len;
        k++;
    }
    if (k == 0 && c->wr_held == 0)
        return ZT_OK;
    held = c->wr_held;
    c->wr_held = 0;
    e = zt_protect_v(c, ZT_CT_APPDATA, c->out_len, held, v, k);
    if (e != ZT_OK) {
        *accepted = 0;
        return zt_fail(c, e);
    }
    return ZT_OK;
}

zt_err zt_write(zt_conn *c, const uint8_t *data, size_t len, size_t *accepted)
{
    zt_iov v;

    v.base = data;
    v.len = len;
    return zt_write_v(c, &v, len ? 1 : 0, accepted);
}

void zt_conn_restart_records(zt_conn *c)
{
    c->burst = 0;
}

zt_err zt_close(zt_conn *c)
{
    static const uint8_t a[2] = {1, ZT_ALERT_CLOSE_NOTIFY};
    zt_err e;

    if (c->err != ZT_OK)
        return c->err;
    if (c->closed)
        return ZT_OK;
    c->closed = 1;
    c->hs_out_len = 0;
    e = zt_emit_record(c, ZT_CT_ALERT, a, 2); /* after what is held */
    if (e != ZT_OK)
        return zt_fail(c, e);
    return ZT_OK;
}

zt_err zt_key_update(zt_conn *c, int request_peer)
{
    zt_err e;

    if (c->err != ZT_OK)
        return c->err;
    if (!c->done || c->closed)
        return ZT_E_STATE;
    e = zt_send_key_update(c, request_peer);
    zt_crypto_scrub();
    return e == ZT_OK ? ZT_OK : zt_fail(c, e);
}

/*
 * What is wiped when a buffer goes while the connection lives on: `in`
 * up to in_pt, the end of the last record decrypted in place (records
 * decrypted into the embedder's buffer leave only ciphertext behind);
 * `out` not at all: every byte of it was sealed in place (ciphertext), or
 * is a plaintext record that is no secret (ServerHello, alerts), and an
 * open record makes it busy. zt_conn_free wipes both up to what was ever
 * used.
 */
zt_err zt_conn_release(zt_conn *c, unsigned what)
{
    int busy = 0;

    if (c->in_len == c->in_off && !c->app_held) {
        if (what & ZT_RELEASE_BUFFERS) {
            free_buf(&c->in, c->in_pt);
            c->in_hwm = c->in_pt = c->in_off = c->in_len = 0;
        }
    } else {
        busy = 1;
    }
    if (c->out_off == c->out_len && c->wr_held == 0) {
        if (what & ZT_RELEASE_BUFFERS) {
            free_buf(&c->out, 0);
            c->out_cap = c->out_off = c->out_len = c->out_hwm = 0;
        }
    } else {
        busy = 1;
    }
    if (!busy && c->done && (what & ZT_RELEASE_CIPHERS) && c->in == NULL &&
        c->out == NULL) {
        /* the AEAD contexts (key schedules) are rebuilt from the kept keys
         * on the next record: one key setup per direction and wake-up
         * against about a kilobyte per idle connection */
        zt_aead_free(c->rd.aead);
        zt_aead_free(c->wr.aead);
        c->rd.aead = c->wr.aead = NULL;
    }
    return busy ? ZT_E_STATE : ZT_OK;
}

zt_err zt_conn_release_buffers(zt_conn *c)
{
    return zt_conn_release(c, ZT_RELEASE_BUFFERS | ZT_RELEASE_CIPHERS);
}

size_t zt_conn_buffer_bytes(const zt_conn *c)
{
    return (c->in ? ZT_INBUF_SIZE : 0) + c->out_cap + c->hs_cap +
           c->hs_out_cap + (c->hss ? sizeof(*c->hss) : 0) +
           (c->hss && c->hss->ticket_pt ? ZT_MAX_SESSION_STATE : 0) +
           (c->sni ? strlen(c->sni) + 1 : 0) + zt_peer_bytes(c);
}

size_t zt_conn_memory(const zt_conn *c)
{
    return sizeof(*c) + zt_conn_buffer_bytes(c) +
           (c->rd.aead ? zt_aead_bytes() : 0) +
           (c->wr.aead ? zt_aead_bytes() : 0) +
           (c->transcript ? zt_hash_bytes() : 0);
}

/* ---- state and facts -------------------------------------------------------- */

unsigned zt_conn_state(const zt_conn *c)
{
    unsigned s = 0;

    if (c->out_len > c->out_off)
        s |= ZT_ST_HAS_OUTPUT;
    if (c->wr_held)
        s |= ZT_ST_HOLDING;
    if ((c->app_held && c->app_len) || (c->sealed_wait && c->err == ZT_OK))
        s |= ZT_ST_APP_READABLE;
    if (c->done)
        s |= ZT_ST_HANDSHAKE_DONE;
    if (c->peer_closed)
        s |= ZT_ST_PEER_CLOSED;
    if (c->closed)
        s |= ZT_ST_CLOSED;
    if (c->err != ZT_OK)
        return s | ZT_ST_FAILED;
    if (!c->peer_closed && !c->app_held && !c->sealed_wait)
        s |= ZT_ST_WANT_READ;
    if (c->early_ok && !c->done)
        s |= ZT_ST_EARLY_DATA;
    if (can_write(c) && !c->closed &&
        (c->out == NULL || c->out_off == c->out_len ||
         c->out_cap - c->out_len >= 5 + 1 + ZT_AEAD_TAG_LEN + 1))
        s |= ZT_ST_APP_WRITABLE;
    return s;
}

zt_err zt_conn_error(const zt_conn *c)
{
    return c->err;
}

uint8_t zt_conn_alert_sent(const zt_conn *c)
{
    return c->alert_sent;
}

uint8_t zt_conn_alert_received(const zt_conn *c)
{
    return c->alert_recv;
}

uint16_t zt_conn_version(const zt_conn *c)
{
    return c->done || c->early_ok ? ZT_TLS13 : 0;
}

uint16_t zt_conn_cipher_suite(const zt_conn *c)
{
    return c->suite ? c->suite->id : 0;
}

uint16_t zt_conn_group(const zt_conn *c)
{
    return c->group;
}

uint16_t zt_conn_sigalg(const zt_conn *c)
{
    return c->sigalg;
}

const char *zt_conn_sni(const zt_conn *c)
{
    return c->sni;
}

const char *zt_conn_alpn(const zt_conn *c)
{
    return c->alpn;
}

int zt_conn_resumed(const zt_conn *c)
{
    return c->resumed;
}

int zt_conn_early_data_accepted(const zt_conn *c)
{
    return c->early_ok;
}

zt_psk_result zt_conn_psk_result(const zt_conn *c)
{
    return (zt_psk_result)c->psk_result;
}

zt_early_result zt_conn_early_result(const zt_conn *c)
{
    return (zt_early_result)c->early_result;
}

int zt_app_data_early(const zt_conn *c)
{
    return c->rx_early;
}

int zt_conn_ticket_key_id(const zt_conn *c, uint8_t id[ZT_TICKET_KEY_ID_LEN])
{
    if (!c->key_id_set)
        return -1;
    memcpy(id, c->key_id, ZT_TICKET_KEY_ID_LEN);
    return 0;
}

unsigned zt_conn_tickets_sent(const zt_conn *c)
{
    return c->tickets_sent;
}

int zt_conn_hrr(const zt_conn *c)
{
    return c->hrr;
}

uint64_t zt_conn_generation(const zt_conn *c)
{
    return c->use->generation;
}

const zt_config *zt_conn_config(const zt_conn *c)
{
    return c->use;
}

uint64_t zt_conn_handshake_ms(const zt_conn *c)
{
    return c->t_done >= c->t_start && c->done ? c->t_done - c->t_start : 0;
}

uint64_t zt_conn_key_updates(const zt_conn *c)
{
    return c->key_updates;
}
