/*
 * test_engine.c: positive behaviour of the engine with the test client:
 * every suite x group x credential, HelloRetryRequest, fragmentation and
 * coalescing both ways, application data, record_size_limit, KeyUpdate
 * both ways and at the limit, close_notify, idle buffer release, and
 * credential choice by signature_algorithms.
 */
#include <stdlib.h>
#include <strings.h>

#include "tclient.h"
#include "test.h"

static uint8_t out[1 << 17];

static void matrix(void)
{
    static const uint16_t suites[] = {ZT_TLS_AES_128_GCM_SHA256,
                                      ZT_TLS_AES_256_GCM_SHA384,
                                      ZT_TLS_CHACHA20_POLY1305_SHA256};
    static const uint16_t groups[] = {ZT_GROUP_X25519, ZT_GROUP_SECP256R1};
    static const struct {
        unsigned cred;
        uint16_t sig;
    } sigs[] = {{TSRV_ED25519, ZT_SIG_ED25519},
                {TSRV_P256, ZT_SIG_ECDSA_SECP256R1_SHA256},
                {TSRV_RSA, ZT_SIG_RSA_PSS_RSAE_SHA256},
                {TSRV_RSA, ZT_SIG_RSA_PSS_RSAE_SHA384},
                {TSRV_RSA, ZT_SIG_RSA_PSS_RSAE_SHA512}};
    size_t i, j, k;
    int hrr;

    for (i = 0; i < 3; i++)
        for (j = 0; j < 2; j++)
            for (k = 0; k < 5; k++)
                for (hrr = 0; hrr < 2; hrr++) {
                    zt_config *cfg = tsrv_config(sigs[k].cred);
                    zt_conn *s = zt_conn_new(cfg);
                    tcli t;
                    uint8_t rec[64], pt[64], type;
                    size_t n, acc;
                    long got;

                    tcli_init(&t);
                    t.suites[0] = suites[i];
                    t.n_suites = 1;
                    t.groups[0] = groups[j];
                    t.n_groups = 1;
                    t.shares[0] = groups[j];
                    t.n_shares = hrr ? 0 : 1;
                    t.sigalgs[0] = sigs[k].sig;
                    t.n_sigalgs = 1;
                    CHECK_MSG(thandshake(s, &t) == 0,
                              "handshake %04x %04x %04x hrr=%d: %s",
                              suites[i], groups[j], sigs[k].sig, hrr,
                              zt_err_str(zt_conn_error(s)));
                    CHECK_EQ_INT(zt_conn_cipher_suite(s), suites[i]);
                    CHECK_EQ_INT(zt_conn_group(s), groups[j]);
                    CHECK_EQ_INT(zt_conn_sigalg(s), sigs[k].sig);
                    CHECK_EQ_INT(zt_conn_hrr(s), hrr);
                    CHECK_EQ_INT(t.got_hrr, hrr);
                    CHECK_EQ_INT(zt_conn_version(s), ZT_TLS13);
                    /* one round trip of data each way */
                    n = tcli_seal(&t, ZT_CT_APPDATA,
                                  (const uint8_t *)"ping", 4, 0, rec);
                    CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
                    CHECK_EQ_INT(zt_read(s, pt, sizeof(pt)), 4);
                    CHECK(memcmp(pt, "ping", 4) == 0);
                    CHECK(zt_write(s, (const uint8_t *)"pong", 4, &acc) ==
                          ZT_OK);
                    CHECK_EQ_INT(acc, 4);
                    n = tsrv_drain(s, out, sizeof(out));
                    got = tcli_open(&t, out, n, &type, pt);
                    CHECK(got == 4 && type == ZT_CT_APPDATA &&
                          memcmp(pt, "pong", 4) == 0);
                    tcli_free(&t);
                    zt_conn_free(s);
                    zt_config_free(cfg);
                }
}

/* Credential choice by the client's signature_algorithms, server order
 * Ed25519 > ECDSA > RSA among what the client accepts. */
static void credential_choice(void)
{
    static const struct {
        uint16_t offer[3];
        size_t n;
        uint16_t want;
    } cases[] = {
        {{ZT_SIG_ECDSA_SECP256R1_SHA256, ZT_SIG_RSA_PSS_RSAE_SHA256,
          ZT_SIG_ED25519},
         3,
         ZT_SIG_ED25519},
        {{ZT_SIG_RSA_PSS_RSAE_SHA256, ZT_SIG_ECDSA_SECP256R1_SHA256}, 2,
         ZT_SIG_ECDSA_SECP256R1_SHA256},
        {{ZT_SIG_RSA_PSS_RSAE_SHA384}, 1, ZT_SIG_RSA_PSS_RSAE_SHA384},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_config *cfg = tsrv_config(TSRV_ED25519 | TSRV_P256 | TSRV_RSA);
        zt_conn *s = zt_conn_new(cfg);
        tcli t;

        tcli_init(&t);
        memcpy(t.sigalgs, cases[i].offer, sizeof(cases[i].offer));
        t.n_sigalgs = cases[i].n;
        CHECK(thandshake(s, &t) == 0);
        CHECK_EQ_INT(zt_conn_sigalg(s), cases[i].want);
        CHECK_EQ_INT(t.sigalg, cases[i].want);
        tcli_free(&t);
        zt_conn_free(s);
        zt_config_free(cfg);
    }
    {
        /* signature_algorithms_cert narrows the chain (4.2.3, 4.4.2.2):
         * the test chains are self-signed with ed25519, ecdsa_secp256r1_sha256
         * and rsa_pkcs1_sha256 */
        static const uint8_t only_ecdsa[] = {0x00, 0x32, 0x00, 0x04,
                                             0x00, 0x02, 0x04, 0x03};
        static const uint8_t only_pkcs1[] = {0x00, 0x32, 0x00, 0x04,
                                             0x00, 0x02, 0x04, 0x01};
        static const uint8_t only_unknown[] = {0x00, 0x32, 0x00, 0x04,
                                               0x00, 0x02, 0x08, 0x09};
        const uint8_t *lists[3] = {only_ecdsa, only_pkcs1, only_unknown};
        static const uint16_t want[3] = {ZT_SIG_ECDSA_SECP256R1_SHA256,
                                         ZT_SIG_RSA_PSS_RSAE_SHA256,
                                         ZT_SIG_ED25519};
        for (i = 0; i < 3; i++) {
            zt_config *cfg = tsrv_config(TSRV_ED25519 | TSRV_P256 | TSRV_RSA);
            zt_conn *s = zt_conn_new(cfg);
            tcli t;
            tcli_init(&t);
            t.extra = lists[i];
            t.extra_len = 8;
            CHECK(thandshake(s, &t) == 0);
            CHECK_EQ_INT(zt_conn_sigalg(s), want[i]);
            tcli_free(&t);
            zt_conn_free(s);
            zt_config_free(cfg);
        }
    }
    {
        zt_config *cfg = tsrv_config(TSRV_ED25519 | TSRV_P256 | TSRV_RSA);
        CHECK_EQ_INT(zt_config_credential_count(cfg), 3);
        CHECK(strcmp(zt_config_credential_type(cfg, 0), "ed25519") == 0);
        CHECK(strcmp(zt_config_credential_type(cfg, 2), "rsa") == 0);
        CHECK(zt_config_credential_not_after(cfg, 1) > 4000000000LL);
        zt_config_free(cfg);
    }
    {
        /* a key that does not match its certificate is a load error */
        zt_config *cfg = zt_config_new();
        char err[256] = "";
        CHECK(zt_config_add_credential_file(cfg, "certs/p256.crt",
                                            "certs/ed25519.key", err,
                                            sizeof(err)) == ZT_E_CONFIG);
        CHECK_MSG(strstr(err, "match") != NULL, "reason: %s", err);
        /* a chain in order loads; the same chain reversed is refused */
        CHECK_MSG(zt_config_add_credential_file(cfg, "certs/chain.crt",
                                                "certs/leaf.key", err,
                                                sizeof(err)) == ZT_OK,
                  "chain: %s", err);
        CHECK(zt_config_add_credential_file(cfg, "certs/chain-reversed.crt",
                                            "certs/ca.key", err,
                                            sizeof(err)) == ZT_E_CONFIG);
        CHECK_MSG(strstr(err, "out of order") != NULL, "reason: %s", err);
        CHECK(zt_config_add_credential_file(cfg, "certs/missing.crt",
                                            "certs/p256.key", err,
                                            sizeof(err)) == ZT_E_CONFIG);
        CHECK_MSG(strstr(err, "missing.crt") != NULL, "reason: %s", err);
        zt_config_free(cfg);
    }
}

/* SNI, ALPN, compatibility mode, ClientHello callback switching config. */
static zt_config *switch_to;
static zt_err pick(void *arg, zt_conn *c, const zt_client_hello *ch,
                   const zt_config **use)
{
    int *calls = arg;

    (*calls)++;
    if (ch->sni && strcmp(ch->sni, "rsa.example") == 0)
        *use = switch_to;
    return ZT_OK;
}

static void extensions(void)
{
    static const char *const alpn[] = {"h2", "http/1.1"};
    zt_config *cfg = tsrv_config(TSRV_ED25519);
    zt_conn *s;
    tcli t;
    int calls = 0;

    CHECK(zt_config_set_alpn(cfg, alpn, 2) == ZT_OK);
    zt_config_set_policy(cfg, ZT_POLICY_REQUIRE_SNI |
                                  ZT_POLICY_SNI_ALLOWLIST);
    CHECK(zt_config_add_server_name(cfg, "*.example") == ZT_OK);
    switch_to = tsrv_config(TSRV_RSA);
    zt_config_set_generation(switch_to, 7);
    zt_config_set_client_hello_cb(cfg, pick, &calls);

    s = zt_conn_new(cfg);
    tcli_init(&t);
    t.sni = "www.example";
    t.alpn[0] = "http/1.1";
    t.alpn[1] = "h2";
    t.n_alpn = 2;
    t.session_id_len = 32;
    CHECK(thandshake(s, &t) == 0);
    CHECK(zt_conn_sni(s) && strcmp(zt_conn_sni(s), "www.example") == 0);
    CHECK(zt_conn_alpn(s) && strcmp(zt_conn_alpn(s), "h2") == 0);
    CHECK(strcmp(t.alpn_got, "h2") == 0);
    CHECK(t.saw_ccs); /* compatibility mode: CCS after ServerHello */
    CHECK_EQ_INT(zt_conn_sigalg(s), ZT_SIG_ED25519);
    CHECK_EQ_INT(zt_conn_generation(s), 0);
    tcli_free(&t);
    zt_conn_free(s);

    s = zt_conn_new(cfg);
    tcli_init(&t);
    t.sni = "rsa.example";
    CHECK(thandshake(s, &t) == 0);
    CHECK_EQ_INT(zt_conn_sigalg(s), ZT_SIG_RSA_PSS_RSAE_SHA256);
    CHECK(zt_conn_config(s) == switch_to);
    CHECK_EQ_INT(zt_conn_generation(s), 7);
    CHECK(!t.saw_ccs);
    CHECK_EQ_INT(calls, 2);
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(switch_to);
    zt_config_free(cfg);
}

/* Input in every chunking: 1-byte feeds, 1-byte handshake fragments,
 * everything coalesced into one feed. */
static void fragmentation(void)
{
    zt_config *cfg = tsrv_config(TSRV_P256);
    zt_conn *s;
    tcli t;
    uint8_t rec[4096], pt[64];
    size_t n, m;

    /* ClientHello in 1-byte handshake fragments (one record each) */
    s = zt_conn_new(cfg);
    tcli_init(&t);
    CHECK(thello(s, &t, 1) == 0);
    tcli_free(&t);
    zt_conn_free(s);

    /* ClientHello in 7-byte fragments, the whole stream fed 1 byte at a
     * time; then Finished + data coalesced in one feed */
    s = zt_conn_new(cfg);
    tcli_init(&t);
    {
        uint8_t msg[2048], recs[8192];
        size_t k = 0, off;
        static uint8_t o[8192];
        n = tcli_client_hello(&t, msg, sizeof(msg));
        for (off = 0; off < n; off += 7)
            k += tcli_record(ZT_CT_HANDSHAKE, msg + off,
                             n - off < 7 ? n - off : 7, recs + k);
        CHECK(tsrv_feed(s, recs, k, 1) == ZT_OK);
        m = tsrv_drain(s, o, sizeof(o));
        CHECK(tcli_server_flight(&t, o, m) == 0);
    }
    n = tcli_finished(&t, rec, 0);
    n += tcli_seal(&t, ZT_CT_APPDATA, (const uint8_t *)"one", 3, 0, rec + n);
    n += tcli_seal(&t, ZT_CT_APPDATA, (const uint8_t *)"two", 3, 5, rec + n);
    {
        /* one buffer, read as the engine releases each record */
        size_t off = 0, used, got = 0, rounds = 0;
        while (off < n && rounds++ < 16) {
            CHECK(zt_feed(s, rec + off, n - off, &used) == ZT_OK);
            off += used;
            got += zt_read(s, pt + got, sizeof(pt) - got);
        }
        CHECK_EQ_INT(off, n);
        CHECK_EQ_INT(got, 6);
    }
    CHECK(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE);
    CHECK(memcmp(pt, "onetwo", 6) == 0);
    /* a zero-length application record is allowed and yields nothing */
    n = tcli_seal(&t, ZT_CT_APPDATA, NULL, 0, 3, rec);
    CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
    CHECK_EQ_INT(zt_read(s, pt, sizeof(pt)), 0);
    /* a KeyUpdate fragmented over two records */
    {
        uint8_t ku[5] = {ZT_HS_KEY_UPDATE, 0, 0, 1, 0};
        n = tcli_seal(&t, ZT_CT_HANDSHAKE, ku, 2, 0, rec);
        n += tcli_seal(&t, ZT_CT_HANDSHAKE, ku + 2, 3, 0, rec + n);
        CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
        tcli_update_write(&t);
        n = tcli_seal(&t, ZT_CT_APPDATA, (const uint8_t *)"new", 3, 0, rec);
        CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
        CHECK_EQ_INT(zt_read(s, pt, sizeof(pt)), 3);
        CHECK(memcmp(pt, "new", 3) == 0);
    }
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
}

/* Large writes, record_size_limit, partial reads through the zero-copy
 * pipes. */
static void bulk(void)
{
    zt_config *cfg = tsrv_config(TSRV_ED25519);
    zt_conn *s = zt_conn_new(cfg);
    tcli t;
    static uint8_t data[100000], got[100000], pt[ZT_MAX_CIPHERTEXT];
    size_t off = 0, acc, n, have = 0, rl, o;
    uint8_t type;
    long k;

    for (n = 0; n < sizeof(data); n++)
        data[n] = (uint8_t)(n * 7);
    tcli_init(&t);
    t.record_size_limit = 1000;
    CHECK(thandshake(s, &t) == 0);
    CHECK(t.max_record <= 5 + 1000 + 16);
    while (off < sizeof(data)) {
        CHECK(zt_write(s, data + off, sizeof(data) - off, &acc) == ZT_OK);
        CHECK(acc > 0 && acc <= 999);
        if (acc == 0)
            break;
        off += acc;
        n = tsrv_drain(s, out, sizeof(out));
        for (o = 0; o + 5 <= n; o += 5 + rl) {
            rl = ((size_t)out[o + 3] << 8) | out[o + 4];
            CHECK(5 + rl <= 5 + 1000 + 16);
            k = tcli_open(&t, out + o, 5 + rl, &type, pt);
            CHECK(k > 0 && type == ZT_CT_APPDATA);
            if (k > 0 && have + (size_t)k <= sizeof(got)) {
                memcpy(got + have, pt, (size_t)k);
                have += (size_t)k;
            }
        }
    }
    CHECK(have == sizeof(data) && memcmp(got, data, have) == 0);

    /* gathered writes: two buffers, one record, no copy of the core's */
    {
        uint8_t *w;
        size_t room;
        w = zt_write_buf(s, &room);
        CHECK(w != NULL && room == 999); /* the client's record_size_limit */
        if (w != NULL) {
            memcpy(w, "head:", 5);
            memcpy(w + 5, "body", 4);
            CHECK(zt_write_done(s, 9) == ZT_OK);
        }
        CHECK(zt_write_done(s, 5000) == ZT_E_STATE);
        n = tsrv_drain(s, out, sizeof(out));
        k = tcli_open(&t, out, n, &type, pt);
        CHECK(k == 9 && memcmp(pt, "head:body", 9) == 0);
    }

    /* client to server: full-size records, read back in small pieces
     * through zt_app_data / zt_app_data_done */
    {
        static uint8_t recs[3 * (5 + ZT_MAX_PLAINTEXT + 17)];
        const uint8_t *p;
        size_t r = 0, total = 0, len;
        int ok = 1;
        for (o = 0; o < 3; o++)
            r += tcli_seal(&t, ZT_CT_APPDATA, data + o * ZT_MAX_PLAINTEXT,
                           ZT_MAX_PLAINTEXT, 0, recs + r);
        o = 0;
        while (o < r) {
            size_t used;
            CHECK(zt_feed(s, recs + o, r - o, &used) == ZT_OK);
            o += used;
            while ((p = zt_app_data(s, &len)) != NULL) {
                if (len > 1000)
                    len = 1000;
                ok &= memcmp(p, data + total, len) == 0;
                total += len;
                zt_app_data_done(s, len);
            }
            if (used == 0 && zt_app_data(s, &len) == NULL)
                break;
        }
        CHECK(ok);
        CHECK_EQ_INT(total, 3 * ZT_MAX_PLAINTEXT);
    }
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
}

static void key_updates(void)
{
    zt_config *cfg = tsrv_config(TSRV_ED25519);
    zt_conn *s = zt_conn_new(cfg);
    tcli t;
    uint8_t rec[256], pt[ZT_MAX_CIPHERTEXT], type;
    size_t n, acc, o, rl;
    long k;
    int i, saw_ku;

    tcli_init(&t);
    CHECK(thandshake(s, &t) == 0);
    /* the client asks for an update: the server answers with its own
     * KeyUpdate(update_not_requested) and moves its write key */
    {
        uint8_t ku[5] = {ZT_HS_KEY_UPDATE, 0, 0, 1, 1};
        n = tcli_seal(&t, ZT_CT_HANDSHAKE, ku, 5, 0, rec);
        tcli_update_write(&t);
    }
    CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
    n = tsrv_drain(s, out, sizeof(out));
    k = tcli_open(&t, out, n, &type, pt);
    CHECK(k == 5 && type == ZT_CT_HANDSHAKE && pt[0] == ZT_HS_KEY_UPDATE &&
          pt[4] == 0);
    tcli_update_read(&t);
    CHECK(zt_write(s, (const uint8_t *)"after", 5, &acc) == ZT_OK);
    n = tsrv_drain(s, out, sizeof(out));
    k = tcli_open(&t, out, n, &type, pt);
    CHECK(k == 5 && memcmp(pt, "after", 5) == 0);
    n = tcli_seal(&t, ZT_CT_APPDATA, (const uint8_t *)"x", 1, 0, rec);
    CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
    CHECK_EQ_INT(zt_read(s, pt, 10), 1);

    /* server-initiated, asking the peer to update */
    CHECK(zt_key_update(s, 1) == ZT_OK);
    n = tsrv_drain(s, out, sizeof(out));
    k = tcli_open(&t, out, n, &type, pt);
    CHECK(k == 5 && pt[0] == ZT_HS_KEY_UPDATE && pt[4] == 1);
    tcli_update_read(&t);
    CHECK_EQ_INT(zt_conn_key_updates(s), 3);
    tcli_free(&t);
    zt_conn_free(s);

    /* automatic rotation before the configured record limit */
    zt_config_set_key_update_limit(cfg, 3);
    s = zt_conn_new(cfg);
    tcli_init(&t);
    CHECK(thandshake(s, &t) == 0);
    saw_ku = 0;
    for (i = 0; i < 8; i++) {
        CHECK(zt_write(s, (const uint8_t *)"abc", 3, &acc) == ZT_OK);
        n = tsrv_drain(s, out, sizeof(out));
        for (o = 0; o + 5 <= n; o += 5 + rl) {
            rl = ((size_t)out[o + 3] << 8) | out[o + 4];
            k = tcli_open(&t, out + o, 5 + rl, &type, pt);
            CHECK(k >= 0);
            if (type == ZT_CT_HANDSHAKE && pt[0] == ZT_HS_KEY_UPDATE) {
                saw_ku++;
                tcli_update_read(&t);
            } else {
                CHECK(k == 3 && memcmp(pt, "abc", 3) == 0);
            }
        }
    }
    CHECK_EQ_INT(saw_ku, 2);
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
}

static void closing_and_idle(void)
{
    zt_config *cfg = tsrv_config(TSRV_ED25519);
    zt_conn *s = zt_conn_new(cfg);
    tcli t;
    uint8_t rec[256], pt[256], type;
    size_t n, acc, buf;
    long k;

    CHECK(zt_conn_size() == sizeof(struct zt_conn));
    CHECK_MSG(zt_conn_size() <= 640, "zt_conn is %zu bytes", zt_conn_size());
    tcli_init(&t);
    CHECK(thandshake(s, &t) == 0);
    /* idle: the record buffers go back; the connection still works */
    buf = zt_conn_buffer_bytes(s);
    CHECK(buf > 0);
    CHECK(zt_conn_release_buffers(s) == ZT_OK);
    CHECK_EQ_INT(zt_conn_buffer_bytes(s), 0);
    CHECK(s->rd.aead == NULL && s->wr.aead == NULL); /* rebuilt on use */
    n = tcli_seal(&t, ZT_CT_APPDATA, (const uint8_t *)"hello", 5, 0, rec);
    CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
    CHECK(zt_conn_release_buffers(s) == ZT_E_STATE); /* data unread */
    CHECK_EQ_INT(zt_read(s, pt, sizeof(pt)), 5);
    CHECK(zt_conn_state(s) & ZT_ST_APP_WRITABLE);
    CHECK(zt_write(s, (const uint8_t *)"bye", 3, &acc) == ZT_OK);
    CHECK(zt_close(s) == ZT_OK);
    CHECK(zt_conn_state(s) & ZT_ST_CLOSED);
    CHECK(!(zt_conn_state(s) & ZT_ST_APP_WRITABLE));
    CHECK(zt_write(s, (const uint8_t *)"late", 4, &acc) == ZT_E_STATE);
    n = tsrv_drain(s, out, sizeof(out));
    k = tcli_open(&t, out, n - 24, &type, pt);
    CHECK(k == 3 && type == ZT_CT_APPDATA);
    k = tcli_open(&t, out + n - 24, 24, &type, pt);
    CHECK(k == 2 && type == ZT_CT_ALERT && pt[1] == ZT_ALERT_CLOSE_NOTIFY);
    /* the client's close_notify: a clean end, then EOF is not truncation */
    {
        uint8_t a[2] = {1, 0};
        n = tcli_seal(&t, ZT_CT_ALERT, a, 2, 0, rec);
        CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
    }
    CHECK(zt_conn_state(s) & ZT_ST_PEER_CLOSED);
    CHECK(zt_eof(s) == ZT_OK);
    CHECK(zt_conn_release_buffers(s) == ZT_OK);
    tcli_free(&t);
    zt_conn_free(s);

    /* we closed first; the peer hanging up is not a truncation */
    s = zt_conn_new(cfg);
    tcli_init(&t);
    CHECK(thandshake(s, &t) == 0);
    CHECK(zt_close(s) == ZT_OK);
    CHECK(zt_eof(s) == ZT_OK);
    CHECK(zt_conn_error(s) == ZT_OK);
    tcli_free(&t);
    zt_conn_free(s);

    /* the handshake staging buffers are gone once connected */
    s = zt_conn_new(cfg);
    tcli_init(&t);
    CHECK(thandshake(s, &t) == 0);
    CHECK(s->hs == NULL && s->hs_out == NULL && s->transcript == NULL &&
          s->hss == NULL);
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
}

static void config_api(void)
{
    zt_config *cfg = zt_config_new();
    char why[128];
    static const uint16_t unknown = 0x1304;

    CHECK(zt_config_set_cipher_suites_str(
              cfg, "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
              why, sizeof(why)) == ZT_OK);
    CHECK_EQ_INT(cfg->suites[0], ZT_TLS_CHACHA20_POLY1305_SHA256);
    CHECK(zt_config_set_cipher_suites_str(cfg, "TLS_AES_128_GCM_SHA256:RC4",
                                          why, sizeof(why)) == ZT_E_CONFIG);
    CHECK_STR(why, "unknown cipher suite \"RC4\"");
    CHECK(zt_config_set_groups_str(cfg, "P-256:x25519", why, sizeof(why)) ==
          ZT_OK);
    CHECK_EQ_INT(cfg->groups[0], ZT_GROUP_SECP256R1);
    CHECK(zt_config_set_groups_str(cfg, "x448", why, sizeof(why)) ==
          ZT_E_CONFIG);
    CHECK_STR(why, "unknown group \"x448\"");
    CHECK(zt_config_set_cipher_suites(cfg, &unknown, 1) == ZT_E_CONFIG);
    CHECK(zt_config_set_hrr_cookie_len(cfg, 8) == ZT_E_CONFIG);
    CHECK(strcmp(zt_err_str(ZT_E_BAD_FINISHED), "bad_finished") == 0);
    CHECK(zt_err_alert(ZT_E_POLICY_SNI) == ZT_ALERT_UNRECOGNIZED_NAME);
    CHECK(strcmp(zt_alert_str(ZT_ALERT_PROTOCOL_VERSION),
                 "protocol_version") == 0);
    CHECK(strcmp(zt_cipher_suite_name(0x1302), "TLS_AES_256_GCM_SHA384") ==
          0);
    zt_config_free(cfg);
}

static uint16_t group_named(const char *s, size_t len)
{
    static const uint16_t known[] = {ZT_GROUP_X25519, ZT_GROUP_SECP256R1,
                                     ZT_GROUP_X25519MLKEM768};
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strlen(zt_group_name(known[i])) == len &&
            strncasecmp(zt_group_name(known[i]), s, len) == 0)
            return known[i];
    return 0;
}

/* Lists of names: every group and suite the core has fits, each at most
 * once; the error names the entry and why. */
static void config_lists(void)
{
    zt_config *cfg = zt_config_new();
    uint16_t all[ZT_MAX_GROUPS + 1], ids[2];
    char why[128];
    size_t n = 0, got;
    unsigned g;

    /* the limit holds every group the core has */
    for (g = 0; g <= 0xffff; g++)
        if (zt_group_name((uint16_t)g) != NULL && n < ZT_MAX_GROUPS + 1)
            all[n++] = (uint16_t)g;
    CHECK_EQ_INT(n, ZT_MAX_GROUPS);
    CHECK(zt_config_set_groups(cfg, all, n) == ZT_OK);
    CHECK(zt_config_set_groups_str(cfg, "x25519mlkem768:secp256r1mlkem768:"
                                        "x25519:secp256r1",
                                   why, sizeof(why)) == ZT_OK);
    CHECK_EQ_INT(cfg->n_groups, 4);
    CHECK(zt_config_set_cipher_suites_str(
              cfg, "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
                   "TLS_AES_128_GCM_SHA256",
              why, sizeof(why)) == ZT_OK);
    CHECK_EQ_INT(cfg->n_suites, ZT_MAX_SUITES);
    /* five names: one of them is a repeat, named with its group */
    CHECK(zt_config_set_groups_str(cfg, "x25519mlkem768:x25519:secp256r1:"
                                        "secp256r1mlkem768:P-256",
                                   why, sizeof(why)) == ZT_E_CONFIG);
    CHECK_STR(why, "group \"P-256\" is listed twice (as secp256r1)");
    CHECK(zt_config_set_groups_str(cfg, "x25519,X25519", why, sizeof(why)) ==
          ZT_E_CONFIG);
    CHECK_STR(why, "group \"X25519\" is listed twice (as x25519)");
    CHECK(zt_config_set_cipher_suites_str(
              cfg, "TLS_AES_128_GCM_SHA256:tls_aes_128_gcm_sha256", why,
              sizeof(why)) == ZT_E_CONFIG);
    CHECK_STR(why, "cipher suite \"tls_aes_128_gcm_sha256\" is listed "
                   "twice (as TLS_AES_128_GCM_SHA256)");
    CHECK(zt_config_set_groups_str(cfg, " : ", why, sizeof(why)) ==
          ZT_E_CONFIG);
    CHECK_STR(why, "no group listed");
    /* the configuration is unchanged by a refused list */
    CHECK_EQ_INT(cfg->n_groups, 4);
    CHECK_EQ_INT(cfg->n_suites, 3);
    /* the array form: a repeat, or more than the limit */
    all[1] = all[0];
    CHECK(zt_config_set_groups(cfg, all, 2) == ZT_E_CONFIG);
    CHECK(zt_config_set_groups(cfg, all, ZT_MAX_GROUPS + 1) == ZT_E_CONFIG);
    /* more names than the limit (which the public lists cannot reach: it
     * is every group there is): named, with the limit */
    {
        static const zt_name_list k = {"group", group_named, zt_group_name};
        CHECK(zt_parse_names("x25519:secp256r1:x25519mlkem768", &k, ids, 2,
                             &got, why, sizeof(why)) == ZT_E_CONFIG);
        CHECK_STR(why, "too many groups at \"x25519mlkem768\": at most 2");
        CHECK(zt_parse_names("x25519:secp256r1", &k, ids, 2, &got, why,
                             sizeof(why)) == ZT_OK &&
              got == 2 && ids[1] == ZT_GROUP_SECP256R1);
    }
    /* err may be NULL or short */
    CHECK(zt_config_set_groups_str(cfg, "x448", NULL, 0) == ZT_E_CONFIG);
    CHECK(zt_config_set_groups_str(cfg, "x448", why, 8) == ZT_E_CONFIG);
    CHECK_STR(why, "unknown");
    zt_config_free(cfg);
}

/* 0-RTT from a client resuming someone else's ticket: skipped, not fatal
 * (RFC 8446 section 4.2.10), up to a budget. */
static void early_data_skipped(void)
{
    zt_config *cfg = tsrv_config(TSRV_ED25519);
    zt_conn *s;
    tcli t;
    uint8_t rec[4096];
    static uint8_t o[8192], junk[5 + 600];
    size_t n, i;

    memset(junk, 0x42, sizeof(junk));
    junk[0] = ZT_CT_APPDATA;
    junk[1] = junk[2] = 3;
    junk[3] = (uint8_t)(600 >> 8);
    junk[4] = (uint8_t)(600 & 0xff);

    /* after a ServerHello: trial decryption fails, the record is dropped */
    s = zt_conn_new(cfg);
    tcli_init(&t);
    tcli_foreign_ticket(&t);
    t.early_data = 1;
    CHECK(tsrv_hello(s, &t) == ZT_OK);
    CHECK(tsrv_feed(s, junk, sizeof(junk), 0) == ZT_OK);
    CHECK(tsrv_feed(s, junk, sizeof(junk), 0) == ZT_OK);
    n = tsrv_drain(s, o, sizeof(o));
    CHECK(tcli_server_flight(&t, o, n) == 0);
    n = tcli_finished(&t, rec, 0);
    CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
    CHECK(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE);
    CHECK(!zt_conn_early_data_accepted(s));
    /* once a record decrypted, a bad tag is fatal again */
    CHECK(tsrv_feed(s, junk, sizeof(junk), 0) == ZT_E_BAD_RECORD_MAC);
    tcli_free(&t);
    zt_conn_free(s);

    /* the budget is finite */
    s = zt_conn_new(cfg);
    tcli_init(&t);
    tcli_foreign_ticket(&t);
    t.early_data = 1;
    CHECK(tsrv_hello(s, &t) == ZT_OK);
    for (i = 0; i < 200 && zt_conn_error(s) == ZT_OK; i++)
        (void)tsrv_feed(s, junk, sizeof(junk), 0);
    CHECK(zt_conn_error(s) == ZT_E_BAD_RECORD_MAC);
    CHECK(i * 600 <= ZT_EARLY_SKIP_MAX + 600);
    tcli_free(&t);
    zt_conn_free(s);

    /* after a HelloRetryRequest: application_data records are dropped */
    s = zt_conn_new(cfg);
    tcli_init(&t);
    tcli_foreign_ticket(&t);
    t.early_data = 1;
    t.n_shares = 0;
    CHECK(tsrv_hello(s, &t) == ZT_OK);
    n = tsrv_drain(s, o, sizeof(o));
    CHECK(tcli_server_flight(&t, o, n) == 0 && t.got_hrr);
    CHECK(tsrv_feed(s, junk, sizeof(junk), 0) == ZT_OK);
    /* (no early_data in the second ClientHello) */
    CHECK(tsrv_hello(s, &t) == ZT_OK);
    n = tsrv_drain(s, o, sizeof(o));
    CHECK(tcli_server_flight(&t, o, n) == 0);
    n = tcli_finished(&t, rec, 0);
    CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
    CHECK(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE);
    tcli_free(&t);
    zt_conn_free(s);

    /* after the second ClientHello the skipping is over */
    s = zt_conn_new(cfg);
    tcli_init(&t);
    tcli_foreign_ticket(&t);
    t.early_data = 1;
    t.n_shares = 0;
    CHECK(tsrv_hello(s, &t) == ZT_OK);
    n = tsrv_drain(s, o, sizeof(o));
    CHECK(tcli_server_flight(&t, o, n) == 0 && t.got_hrr);
    CHECK(tsrv_hello(s, &t) == ZT_OK);
    CHECK(tsrv_feed(s, junk, sizeof(junk), 0) == ZT_E_BAD_RECORD_MAC);
    tcli_free(&t);
    zt_conn_free(s);

    /* without early_data in the ClientHello, such a record is fatal */
    s = zt_conn_new(cfg);
    tcli_init(&t);
    CHECK(tsrv_hello(s, &t) == ZT_OK);
    CHECK(tsrv_feed(s, junk, sizeof(junk), 0) == ZT_E_BAD_RECORD_MAC);
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
}

void suite_engine(void)
{
    early_data_skipped();
    matrix();
    credential_choice();
    extensions();
    fragmentation();
    bulk();
    key_updates();
    closing_and_idle();
    config_api();
    config_lists();
}
