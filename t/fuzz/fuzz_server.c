/*
 * fuzz_server.c: the whole server engine on arbitrary client bytes.
 *
 * Input layout:
 *   byte 0      configuration switches (see make_config): ALPN, SNI and
 *               ALPN policy, group order, suite order, record pipe use
 *   byte 1      chunking: 0 feeds everything at once; otherwise chunk
 *               sizes are drawn in [1, 8 * byte1] from a PRNG seeded by
 *               bytes 2-3
 *   bytes 2-3   chunk PRNG seed (with the record pipe and an odd byte 1,
 *               zt_recv_into with buffers of drawn sizes, not zt_recv_done)
 *   bytes 4-    what the client sends (records), e.g. a captured stream
 *
 * Configurations 0-6 issue and resume tickets (a fixed ring key, a fixed
 * wall clock) and accept 0-RTT with a replay table cleared for every input,
 * so a recorded resumption (ticket of an earlier recording, binder, early
 * data, EndOfEarlyData) replays to the end; configuration 7 has no tickets.
 *
 * The server's randomness comes from a counter-based generator reset for
 * every input, and its clock is a counter, so a run is reproducible and a
 * stream recorded against the same configuration (record_server.c) replays
 * to the end: handshake, application data, KeyUpdate, close_notify.
 *
 * Invariants checked (abort() when violated):
 *   - once ZT_ST_FAILED, zt_conn_error and every call return that error;
 *   - an alert we sent is the one zt_err_alert() gives for the error, and
 *     one is sent whenever due unless we had queued close_notify first;
 *   - zt_recv_buf never offers more than the input buffer, and the state
 *     bits agree with the pipes.
 */
#include <stdlib.h>

#include "internal.h"

#ifdef FZ_CLIENT_AUTH
static void fz_client_auth(zt_config *cfg, unsigned sel);
#endif

static const char fz_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdTCCASegAwIBAgIUI0qLlTNcG8B6I86UCQTwTMPOuOowBQYDK2VwMBsxGTAX\n"
    "BgNVBAMMEGZ1enouemlndGxzLnRlc3QwIBcNMjYxMTIyMDQwMTI5WhgPMjEyNjEw\n"
    "MjkwNDAxMjlaMBsxGTAXBgNVBAMMEGZ1enouemlndGxzLnRlc3QwKjAFBgMrZXAD\n"
    "IQCxtx+yuRLlFk/q49ZcUY7tGIYySLI31WvgG1OnEK5h8aN7MHkwHQYDVR0OBBYE\n"
    "FIoYmRakTefFMv7W/S4mNsvtgXxHMB8GA1UdIwQYMBaAFIoYmRakTefFMv7W/S4m\n"
    "NsvtgXxHMA8GA1UdEwEB/wQFMAMBAf8wJgYDVR0RBB8wHYIQZnV6ei56aWd0bHMu\n"
    "dGVzdIIJbG9jYWxob3N0MAUGAytlcANBAFEYhwDXHBuT9UOhca9qfNhKfl4HYS5C\n"
    "NV5ut5BEVb0R7cqfr94DBOLg/9TG9vNmdosbi6zXlm8/IHI/zLYNKAY=\n"
    "-----END CERTIFICATE-----\n";

static const char fz_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIG/cArG8EX+BcgLG3boVCJVJoUFhRcWgnwzzwRYt9SxJ\n"
    "-----END PRIVATE KEY-----\n";

/* ---- deterministic sources ------------------------------------------------ */

typedef struct {
    uint64_t ctr;
} fz_rng;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int fz_random(void *arg, uint8_t *out, size_t len)
{
    fz_rng *r = arg;
    size_t i;
    uint64_t v = 0;

    for (i = 0; i < len; i++) {
        if (i % 8 == 0)
            v = splitmix(&r->ctr);
        out[i] = (uint8_t)(v >> (8 * (i % 8)));
    }
    return 0;
}

static uint64_t fz_clock(void *arg)
{
    uint64_t *t = arg;
    return ++*t;
}

/* Sessions: the wall clock stands still, the ring key is fixed. */
#define FZ_WALL 1700000000000ull
static uint64_t fz_wall(void *arg)
{
    return FZ_WALL;
}
static zt_ticket_keys *fz_ring;
static uint8_t fz_replay[4096];

/* ---- configurations ---------------------------------------------------- */

#define FZ_N_CONFIGS 8
static zt_config *fz_cfg[FZ_N_CONFIGS];
static fz_rng fz_rnd;
static uint64_t fz_time;

static zt_config *make_config(unsigned sel)
{
    static const char *const alpn[] = {"h2", "http/1.1"};
    static const uint16_t p256_first[] = {ZT_GROUP_SECP256R1,
                                          ZT_GROUP_X25519};
    static const uint16_t chacha_first[] = {ZT_TLS_CHACHA20_POLY1305_SHA256,
                                            ZT_TLS_AES_256_GCM_SHA384,
                                            ZT_TLS_AES_128_GCM_SHA256};
    static const uint16_t comp[] = {ZT_CERT_COMP_BROTLI, ZT_CERT_COMP_ZLIB};
    zt_config *cfg = zt_config_new();
    char err[256];

    /* RFC 8879 in every configuration: a hello that offers it gets a
     * CompressedCertificate, the others are unchanged */
    if (cfg == NULL || zt_config_set_cert_compression(cfg, comp, 2) != ZT_OK ||
        zt_config_add_credential_mem(cfg, fz_cert, sizeof(fz_cert) - 1, fz_key,
                                     sizeof(fz_key) - 1, err,
                                     sizeof(err)) != ZT_OK)
        abort();
    zt_config_set_random(cfg, fz_random, &fz_rnd);
    zt_config_set_clock(cfg, fz_clock, &fz_time);
    if (sel & 1) {
        /* ALPN required, SNI allow-list */
        if (zt_config_set_alpn(cfg, alpn, 2) != ZT_OK ||
            zt_config_add_server_name(cfg, "*.zigtls.test") != ZT_OK ||
            zt_config_add_server_name(cfg, "localhost") != ZT_OK)
            abort();
        zt_config_set_policy(cfg, ZT_POLICY_REQUIRE_ALPN |
                                      ZT_POLICY_SNI_ALLOWLIST |
                                      ZT_POLICY_REQUIRE_SNI);
    }
    if ((sel & 2) && zt_config_set_groups(cfg, p256_first, 2) != ZT_OK)
        abort();
    if ((sel & 4) && zt_config_set_cipher_suites(cfg, chacha_first, 3) != ZT_OK)
        abort();
    if (sel & 4)
        zt_config_set_key_update_limit(cfg, 2);
    if (sel != 7) {
        uint8_t key[ZT_TICKET_KEY_LONG];
        if (fz_ring == NULL) {
            memset(key, 0x5a, sizeof(key));
            fz_ring = zt_ticket_keys_new();
            if (fz_ring == NULL ||
                zt_ticket_keys_add(fz_ring, key, sizeof(key)) != ZT_OK)
                abort();
        }
        zt_config_set_ticket_keys(cfg, fz_ring);
        zt_config_set_wall_clock(cfg, fz_wall, NULL);
        zt_config_set_replay_filter(cfg, zt_replay_table_check, fz_replay);
        if (zt_config_set_max_early_data(cfg, 16384) != ZT_OK ||
            zt_config_set_ticket_count(cfg, 2) != ZT_OK)
            abort();
    }
#ifdef FZ_CLIENT_AUTH
    fz_client_auth(cfg, sel); /* fuzz_client_auth.c */
#endif
    return cfg;
}

/* ---- invariants -------------------------------------------------------- */

typedef struct {
    zt_conn *c;
    int closed_by_us; /* zt_close() before the failure: no second alert */
    uint8_t hdr[5];   /* output framing check */
    size_t hdr_len, body_left;
} fz_run;

static void check(fz_run *r, zt_err ret)
{
    zt_conn *c = r->c;
    unsigned st = zt_conn_state(c);
    zt_err err = zt_conn_error(c);
    uint8_t sent = zt_conn_alert_sent(c);
    size_t n;

    if ((st & ZT_ST_FAILED) != 0) {
        if (err == ZT_OK || err == ZT_E_WANT_MORE)
            abort();
        if (ret != ZT_OK && ret != err)
            abort();
        if (sent != ZT_ALERT_NONE && sent != zt_err_alert(err))
            abort();
        if (sent == ZT_ALERT_NONE && zt_err_alert(err) != ZT_ALERT_NONE &&
            !r->closed_by_us && err != ZT_E_NOMEM)
            abort();
        if (st & ZT_ST_WANT_READ)
            abort();
        if (zt_recv_buf(c, &n) != NULL || n != 0)
            abort();
    } else if (err != ZT_OK || sent != ZT_ALERT_NONE) {
        abort();
    }
    if (((st & ZT_ST_HAS_OUTPUT) != 0) != (zt_send_buf(c, &n) != NULL))
        abort();
    if (((st & ZT_ST_APP_READABLE) != 0) != (zt_app_data(c, &n) != NULL))
        abort();
}

/* After a failure every entry point returns the same error. */
static void check_sticky(fz_run *r)
{
    zt_conn *c = r->c;
    zt_err err = zt_conn_error(c);
    size_t n;
    uint8_t b[1] = {0};

    if (err == ZT_OK)
        return;
    if (zt_feed(c, b, 1, &n) != err || n != 0)
        abort();
    if (zt_recv_done(c, 0) != err)
        abort();
    if (zt_write(c, b, 1, &n) != err || n != 0)
        abort();
    if (zt_key_update(c, 1) != err)
        abort();
    if (zt_close(c) != err)
        abort();
    if (zt_eof(c) != err)
        abort();
    if (zt_conn_error(c) != err)
        abort();
}

/* Every byte we emit is a sequence of records: type, legacy version and
 * length checked across zt_send_buf chunks. */
static void check_output(fz_run *r, const uint8_t *p, size_t n)
{
    size_t k;

    while (n > 0) {
        if (r->body_left > 0) {
            k = n < r->body_left ? n : r->body_left;
            r->body_left -= k;
            p += k;
            n -= k;
            continue;
        }
        r->hdr[r->hdr_len++] = *p++;
        n--;
        if (r->hdr_len < 5)
            continue;
        r->hdr_len = 0;
        if (r->hdr[0] < ZT_CT_CCS || r->hdr[0] > ZT_CT_APPDATA ||
            r->hdr[1] != 3 || r->hdr[2] != 3)
            abort();
        r->body_left = ((size_t)r->hdr[3] << 8) | r->hdr[4];
        if (r->body_left == 0 || r->body_left > ZT_MAX_CIPHERTEXT)
            abort();
    }
}

static void drain_output(fz_run *r, int partial)
{
    const uint8_t *p;
    size_t n;

    while ((p = zt_send_buf(r->c, &n)) != NULL) {
        if (partial && n > 7)
            n -= 7;
        partial = 0;
        check_output(r, p, n);
        zt_send_done(r->c, n);
    }
}

static void drain_app(fz_run *r)
{
    uint8_t buf[4096];
    size_t k, wr;
    zt_err e;

    while ((k = zt_read(r->c, buf, sizeof(buf))) > 0) {
        /* echo it back, as a server would */
        e = zt_write(r->c, buf, k, &wr);
        check(r, e);
        drain_output(r, 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_run r;
    const uint8_t *p;
    size_t left, chunk, room, off;
    uint64_t seed;
    unsigned sel, cmode, st;
    uint8_t *b;
    zt_err e;

    if (size < 4)
        return 0;
    sel = data[0];
    cmode = data[1];
    seed = ((uint64_t)data[2] << 8) | data[3];
    p = data + 4;
    left = size - 4;

    if (fz_cfg[sel % FZ_N_CONFIGS] == NULL)
        fz_cfg[sel % FZ_N_CONFIGS] = make_config(sel % FZ_N_CONFIGS);
    fz_rnd.ctr = 0;
    fz_time = 0;
    if (zt_replay_table_init(fz_replay, sizeof(fz_replay), FZ_WALL - 1000) ==
        0)
        abort();
    memset(&r, 0, sizeof(r));
    r.c = zt_conn_new(fz_cfg[sel % FZ_N_CONFIGS]);
    if (r.c == NULL)
        abort();

    while (left > 0) {
        chunk = left;
        if (cmode != 0)
            chunk = 1 + (size_t)(splitmix(&seed) % (8u * cmode));
        if (chunk > left)
            chunk = left;
        off = 0;
        while (off < chunk) {
            size_t took = 0, before;
            if (sel & 0x08) {
                /* the zero-copy pipe */
                b = zt_recv_buf(r.c, &room);
                if (room > ZT_INBUF_SIZE)
                    abort();
                e = zt_conn_error(r.c);
                if (room > 0) {
                    took = chunk - off < room ? chunk - off : room;
                    memcpy(b, p + off, took);
                    if (cmode & 1) {
                        /* plaintext straight into a caller's buffer of
                         * a size drawn from the chunk generator */
                        static uint8_t dst[ZT_MAX_PLAINTEXT + 1];
                        size_t cap = 1 + (size_t)(splitmix(&seed) %
                                                  sizeof(dst)), got = 0;
                        e = zt_recv_into(r.c, took, dst, cap, &got);
                        if (got > cap)
                            abort();
                    } else {
                        e = zt_recv_done(r.c, took);
                    }
                }
            } else {
                e = zt_feed(r.c, p + off, chunk - off, &took);
            }
            off += took;
            check(&r, e);
            drain_output(&r, (sel & 0x10) != 0);
            before = zt_conn_state(r.c) & ZT_ST_APP_READABLE;
            drain_app(&r);
            if (e != ZT_OK || (took == 0 && !before))
                break; /* failed, or nothing can be taken (peer closed) */
        }
        if (off == 0)
            break;
        p += off;
        left -= off;
        if ((sel & 0x20) && (zt_conn_state(r.c) & ZT_ST_HANDSHAKE_DONE) &&
            !(zt_conn_state(r.c) & ZT_ST_CLOSED)) {
            e = zt_key_update(r.c, (sel & 0x40) != 0);
            check(&r, e);
            drain_output(&r, 0);
        }
    }
    if ((sel & 0x80) && zt_conn_error(r.c) == ZT_OK) {
        e = zt_close(r.c);
        r.closed_by_us = 1;
        check(&r, e);
    }
    drain_output(&r, 0);
    st = zt_conn_state(r.c);
    e = zt_eof(r.c);
    check(&r, e);
    if (e != zt_conn_error(r.c))
        abort();
    /* EOF is clean only after a close_notify (the peer's, or ours once the
     * handshake is done) and no earlier error; otherwise truncation. */
    if ((st & ZT_ST_FAILED) == 0 &&
        ((st & ZT_ST_PEER_CLOSED) ||
         ((st & ZT_ST_CLOSED) && (st & ZT_ST_HANDSHAKE_DONE))) != (e == ZT_OK))
        abort();
    drain_output(&r, 0);
    check_sticky(&r);
    (void)zt_conn_release_buffers(r.c);
    zt_conn_free(r.c);
    return 0;
}
