/*
 * test_sessions.c: session tickets, resumption and 0-RTT (RFC 8446 sections
 * 2.2, 2.3, 4.2.9-4.2.11, 4.6.1, 8) with the key ring and the replay table:
 * the happy paths, every fallback to a full handshake or to 1-RTT with its
 * reason, and every abort with its exact alert.
 */
#include <stdlib.h>

#include "tclient.h"
#include "test.h"

/* tcli variables start zeroed; reinit frees what a previous use held */
static void reinit(tcli *t)
{
    tcli_free(t);
    tcli_init(t);
}

static uint64_t now_ms = 1700000000000ull;
static uint64_t wall(void *arg)
{
    return now_ms;
}

static uint8_t key_a[ZT_TICKET_KEY_LONG], key_b[ZT_TICKET_KEY_SHORT];
static uint8_t table[64 * 1024];
static uint8_t out[65536];

/* A server with the test credentials, ring `ring`, the replay table and
 * 0-RTT up to max_early bytes on node "node-a". */
static zt_config *scfg(const zt_ticket_keys *ring, uint32_t max_early)
{
    zt_config *cfg = tsrv_config(TSRV_ED25519 | TSRV_P256);

    zt_config_set_ticket_keys(cfg, ring);
    zt_config_set_wall_clock(cfg, wall, NULL);
    CHECK(zt_config_set_max_early_data(cfg, max_early) == ZT_OK);
    zt_config_set_replay_filter(cfg, zt_replay_table_check, table);
    CHECK(zt_config_set_node_id(cfg, (const uint8_t *)"node-a", 6) == ZT_OK);
    return cfg;
}

static void reset_table(void)
{
    CHECK(zt_replay_table_init(table, sizeof(table), now_ms - 1000) > 0);
}

/* A full handshake of a client that can resume (psk_dhe_ke, unless the
 * test chose its modes); the tickets land in t. Returns the server. */
static zt_conn *full(zt_config *cfg, tcli *t)
{
    zt_conn *s = zt_conn_new(cfg);
    size_t n;

    if (t->psk_modes == 0 && !t->no_psk_modes)
        t->psk_modes = ZT_PSK_MODE_DHE_KE;
    CHECK(thandshake(s, t) == 0);
    n = tsrv_drain(s, out, sizeof(out));
    CHECK_EQ_INT(tcli_read_tickets(t, out, n), zt_conn_tickets_sent(s));
    return s;
}

/* Feed a ClientHello resuming `from`'s ticket 0 (with `early` bytes of
 * 0-RTT when early > 0) and read the server's flight. */
static zt_err offer(zt_conn *s, tcli *t, size_t early)
{
    static uint8_t msg[8192], rec[16384];
    uint8_t data[2048];
    size_t n, k;
    zt_err e;

    t->early_data = early > 0;
    n = tcli_client_hello(t, msg, sizeof(msg));
    CHECK(n > 0);
    k = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
    if (early) {
        CHECK(tcli_early_keys(t) == 0);
        memset(data, 'e', sizeof(data));
        k += tcli_seal(t, ZT_CT_APPDATA, data, early, 0, rec + k);
    }
    e = tsrv_feed(s, rec, k, 0);
    if (e != ZT_OK)
        return e;
    n = tsrv_drain(s, out, sizeof(out));
    CHECK(tcli_server_flight(t, out, n) == 0);
    return ZT_OK;
}

/* The client's second flight: [EndOfEarlyData] Finished. */
static zt_err finish(zt_conn *s, tcli *t)
{
    uint8_t rec[512];
    size_t n = 0;

    if (t->early_accepted)
        n = tcli_end_of_early_data(t, rec);
    n += tcli_finished(t, rec + n, 0);
    return tsrv_feed(s, rec, n, 0);
}

/* Resume `from`'s ticket 0 claiming age_ms, with `early` bytes of 0-RTT. */
static zt_conn *resume(zt_config *cfg, const tcli *from, tcli *t,
                       uint32_t age_ms, size_t early)
{
    zt_conn *s = zt_conn_new(cfg);

    reinit(t);
    tcli_resume(t, from, 0, age_ms);
    CHECK(offer(s, t, early) == ZT_OK);
    if (early && t->early_accepted) {
        size_t n = 0;
        const uint8_t *p = zt_app_data(s, &n);
        CHECK(p != NULL && n == early && zt_app_data_early(s));
        zt_app_data_done(s, n);
    }
    CHECK(finish(s, t) == ZT_OK);
    CHECK(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE);
    return s;
}

/* The server failed with `want`, and its last record is `alert`. */
static void expect_fail(const char *name, zt_conn *s, zt_err got,
                        zt_err want, int alert, tcli *t)
{
    size_t n = tsrv_drain(s, out, sizeof(out));

    CHECK_MSG(got == want, "%s: got %s, want %s", name, zt_err_str(got),
              zt_err_str(want));
    CHECK_MSG(zt_conn_alert_sent(s) == alert, "%s: alert_sent %d", name,
              zt_conn_alert_sent(s));
    CHECK_MSG(tsrv_alert(out, n, t) == alert, "%s: alert on the wire %d",
              name, tsrv_alert(out, n, t));
}

/* ---- the key ring, the state format, the replay table -------------------- */

static void ring_api(void)
{
    zt_ticket_keys *r = zt_ticket_keys_new();
    uint8_t k[ZT_TICKET_KEY_LONG], id[ZT_TICKET_KEY_ID_LEN];
    size_t i;

    CHECK(r != NULL);
    CHECK(zt_ticket_keys_add(r, key_a, 47) == ZT_E_CONFIG);
    CHECK(zt_ticket_keys_add(r, key_a, 81) == ZT_E_CONFIG);
    CHECK(zt_ticket_keys_add(r, key_a, sizeof(key_a)) == ZT_OK);
    CHECK(zt_ticket_keys_add(r, key_a, sizeof(key_a)) == ZT_E_CONFIG);
    CHECK(zt_ticket_keys_add(r, key_b, sizeof(key_b)) == ZT_OK);
    CHECK_EQ_INT(zt_ticket_keys_count(r), 2);
    CHECK(zt_ticket_keys_id(r, 0, id) == 0 && memcmp(id, key_a, 16) == 0);
    CHECK(zt_ticket_keys_id(r, 1, id) == 0 && memcmp(id, key_b, 16) == 0);
    CHECK(zt_ticket_keys_id(r, 2, id) == -1);
    for (i = 2; i < ZT_TICKET_KEYS_MAX; i++) {
        memset(k, (int)(0x60 + i), sizeof(k));
        CHECK(zt_ticket_keys_add(r, k, sizeof(k)) == ZT_OK);
    }
    memset(k, 0x7f, sizeof(k));
    CHECK(zt_ticket_keys_add(r, k, sizeof(k)) == ZT_E_CONFIG); /* full */
    zt_ticket_keys_clear(r);
    CHECK_EQ_INT(zt_ticket_keys_count(r), 0);

    /* rotation: the new key seals, the old ones open until keep_ms */
    CHECK(zt_ticket_keys_rotate(r, key_a, sizeof(key_a), 1000, 5000) == ZT_OK);
    CHECK(zt_ticket_keys_rotate(r, key_b, sizeof(key_b), 2000, 5000) == ZT_OK);
    CHECK_EQ_INT(zt_ticket_keys_count(r), 2);
    CHECK(zt_ticket_keys_id(r, 0, id) == 0 && memcmp(id, key_b, 16) == 0);
    CHECK(zt_ticket_keys_rotate(r, key_b, sizeof(key_b), 3000, 5000) ==
          ZT_E_CONFIG); /* the same id twice */
    memset(k, 0x21, sizeof(k));
    CHECK(zt_ticket_keys_rotate(r, k, sizeof(k), 8000, 5000) == ZT_OK);
    /* key_a stopped sealing at 2000: more than 5000 ago, dropped; key_b
     * stopped at 8000: kept */
    CHECK_EQ_INT(zt_ticket_keys_count(r), 2);
    CHECK(zt_ticket_keys_id(r, 1, id) == 0 && memcmp(id, key_b, 16) == 0);
    for (i = 0; i < ZT_TICKET_KEYS_MAX + 2; i++) {
        memset(k, (int)(0x30 + i), sizeof(k));
        CHECK(zt_ticket_keys_rotate(r, k, sizeof(k), 9000, 1000000) == ZT_OK);
    }
    CHECK_EQ_INT(zt_ticket_keys_count(r), ZT_TICKET_KEYS_MAX);
    CHECK(zt_ticket_keys_id(r, 0, id) == 0 && id[0] == 0x30 + i - 1);
    zt_ticket_keys_free(r);
}

static void session_format(void)
{
    uint8_t buf[ZT_MAX_SESSION_STATE + 8];
    static const uint8_t cid[] = "CN=client";
    zt_session s, d;
    size_t n;

    memset(&s, 0, sizeof(s));
    s.suite = ZT_TLS_AES_256_GCM_SHA384;
    s.issued_ms = 0x0102030405060708ull;
    s.auth_ms = 42;
    s.lifetime_s = 7200;
    s.age_add = 0xdeadbeef;
    s.max_early = 16384;
    s.generation = 7;
    s.policy = 5;
    memset(s.psk, 0xab, 48);
    s.psk_len = 48;
    s.sni = (const uint8_t *)"example.com";
    s.sni_len = 11;
    s.alpn = (const uint8_t *)"h2";
    s.alpn_len = 2;
    s.node = (const uint8_t *)"n1";
    s.node_len = 2;
    s.client_verify = 1;
    s.client_id = cid;
    s.client_id_len = sizeof(cid) - 1;
    CHECK(zt_session_encode(&s, buf, sizeof(buf), &n) == ZT_OK);
    CHECK(buf[0] == ZT_SESSION_VERSION);
    CHECK(zt_session_decode(buf, n, &d) == ZT_OK);
    CHECK(d.suite == s.suite && d.issued_ms == s.issued_ms &&
          d.auth_ms == 42 && d.lifetime_s == 7200 &&
          d.age_add == 0xdeadbeef && d.max_early == 16384 &&
          d.generation == 7 && d.policy == 5 && d.psk_len == 48 &&
          memcmp(d.psk, s.psk, 48) == 0 && d.sni_len == 11 &&
          d.alpn_len == 2 && d.node_len == 2 && d.client_verify == 1 &&
          d.client_id_len == s.client_id_len &&
          memcmp(d.client_id, cid, d.client_id_len) == 0);
    buf[n] = 0; /* trailing */
    CHECK(zt_session_decode(buf, n + 1, &d) == ZT_E_DECODE);
    CHECK(zt_session_decode(buf, n - 1, &d) == ZT_E_DECODE);
    buf[0] = ZT_SESSION_VERSION + 1;
    CHECK(zt_session_decode(buf, n, &d) == ZT_E_DECODE);
    s.client_id_len = ZT_MAX_CLIENT_ID_LEN + 1;
    CHECK(zt_session_encode(&s, buf, sizeof(buf), &n) == ZT_E_INTERNAL);
}

static void replay_table(void)
{
    static uint8_t small[1024];
    uint8_t k1[32], k2[32];
    size_t n, i;

    memset(k1, 1, sizeof(k1));
    memset(k2, 2, sizeof(k2));
    CHECK(zt_replay_table_init(small, 64, 1000) == 0); /* too small */
    n = zt_replay_table_init(small, zt_replay_table_bytes(16), 1000);
    CHECK_EQ_INT(n, 16);
    CHECK(zt_replay_table_check(small, k1, 32, 1000, 2000, 5000) ==
          ZT_REPLAY_FRESH);
    CHECK(zt_replay_table_check(small, k1, 32, 1000, 3000, 5000) ==
          ZT_REPLAY_SEEN);
    CHECK(zt_replay_table_check(small, k2, 32, 1000, 3000, 5000) ==
          ZT_REPLAY_FRESH);
    CHECK_EQ_INT(zt_replay_table_used(small, 3000), 2);
    /* expired: recorded again */
    CHECK(zt_replay_table_check(small, k1, 32, 1000, 5001, 9000) ==
          ZT_REPLAY_FRESH);
    /* a ticket issued before the table existed */
    CHECK(zt_replay_table_check(small, k2, 32, 999, 5001, 9000) ==
          ZT_REPLAY_UNAVAILABLE);
    CHECK(zt_replay_table_check(small, k2, 15, 1000, 5001, 9000) ==
          ZT_REPLAY_UNAVAILABLE);
    /* full: refused, never accepted unchecked */
    for (i = 0; i < 15; i++) {
        k2[0] = (uint8_t)(10 + i);
        CHECK(zt_replay_table_check(small, k2, 32, 1000, 6000, 9000) ==
              ZT_REPLAY_FRESH);
    }
    k2[0] = 99;
    CHECK(zt_replay_table_check(small, k2, 32, 1000, 6000, 9000) ==
          ZT_REPLAY_UNAVAILABLE);
    CHECK_EQ_INT(zt_replay_table_used(small, 6000), 16);
    CHECK(zt_replay_table_check(NULL, k2, 32, 1000, 6000, 9000) ==
          ZT_REPLAY_UNAVAILABLE);
}

/* ---- resumption ---------------------------------------------------------- */

static void tickets_and_resumption(zt_ticket_keys *ring)
{
    zt_config *cfg = scfg(ring, 0);
    zt_conn *s, *r;
    tcli a = {0}, b = {0};
    uint8_t id[16], rec[256], pt[64], type;
    size_t n, acc;
    long k;

    reinit(&a);
    a.sni = "example.com";
    s = full(cfg, &a);
    CHECK(!zt_conn_resumed(s));
    CHECK_EQ_INT(zt_conn_psk_result(s), ZT_PSK_NONE);
    CHECK_EQ_INT(a.n_tickets, 1);
    CHECK_EQ_INT(a.tickets[0].lifetime, 7200);
    CHECK_EQ_INT(a.tickets[0].max_early, 0); /* 0-RTT off */
    CHECK_EQ_INT(a.tickets[0].nonce_len, 2);
    /* format 1, the sealing key's id, nonce, state, tag */
    CHECK(a.tickets[0].ticket[0] == 1 &&
          memcmp(a.tickets[0].ticket + 1, key_a, 16) == 0);
    CHECK(zt_conn_ticket_key_id(s, id) == 0 && memcmp(id, key_a, 16) == 0);
    CHECK(s->hss == NULL); /* the handshake state is gone */
    zt_conn_free(s);

    r = resume(cfg, &a, &b, 1500, 0);
    CHECK(zt_conn_resumed(r));
    CHECK(b.psk_accepted && b.psk_selected == 0 && !b.saw_cert);
    CHECK_EQ_INT(zt_conn_psk_result(r), ZT_PSK_ACCEPTED);
    CHECK_EQ_INT(zt_conn_early_result(r), ZT_EARLY_NONE);
    CHECK_EQ_INT(zt_conn_sigalg(r), 0);
    CHECK(b.group == ZT_GROUP_X25519); /* psk_dhe_ke: a fresh ECDHE */
    CHECK(zt_conn_ticket_key_id(r, id) == 0 && memcmp(id, key_a, 16) == 0);
    CHECK(r->hss == NULL);
    /* a new ticket on the resumed connection, then application data */
    n = tsrv_drain(r, out, sizeof(out));
    CHECK_EQ_INT(tcli_read_tickets(&b, out, n), 1);
    CHECK(memcmp(b.tickets[0].ticket, a.tickets[0].ticket, 40) != 0);
    CHECK(zt_write(r, (const uint8_t *)"pong", 4, &acc) == ZT_OK && acc == 4);
    n = tsrv_drain(r, out, sizeof(out));
    k = tcli_open(&b, out, n, &type, pt);
    CHECK(k == 4 && type == ZT_CT_APPDATA && memcmp(pt, "pong", 4) == 0);
    n = tcli_seal(&b, ZT_CT_APPDATA, (const uint8_t *)"ping", 4, 0, rec);
    CHECK(tsrv_feed(r, rec, n, 0) == ZT_OK);
    CHECK(zt_read(r, pt, sizeof(pt)) == 4 && !zt_app_data_early(r));
    zt_conn_free(r);

    /* a resumption of the resumption */
    r = resume(cfg, &b, &a, 10, 0);
    CHECK(zt_conn_resumed(r));
    zt_conn_free(r);

    /* several tickets, each its own; count 0 sends none but resumes */
    CHECK(zt_config_set_ticket_count(cfg, 3) == ZT_OK);
    reinit(&a);
    s = full(cfg, &a);
    CHECK_EQ_INT(a.n_tickets, 3);
    CHECK(a.tickets[0].nonce[1] == 0 && a.tickets[2].nonce[1] == 2);
    CHECK(memcmp(a.tickets[0].psk, a.tickets[1].psk, 32) != 0);
    CHECK(a.tickets[1].age_add != a.tickets[2].age_add);
    zt_conn_free(s);
    {
        tcli c2 = {0};
        reinit(&c2);
        tcli_resume(&c2, &a, 2, 5);
        r = zt_conn_new(cfg);
        CHECK(offer(r, &c2, 0) == ZT_OK && finish(r, &c2) == ZT_OK);
        CHECK(zt_conn_resumed(r));
        tcli_free(&c2);
        zt_conn_free(r);
    }
    CHECK(zt_config_set_ticket_count(cfg, 0) == ZT_OK);
    r = resume(cfg, &a, &b, 5, 0);
    CHECK(zt_conn_resumed(r) && zt_conn_tickets_sent(r) == 0);
    CHECK(tsrv_drain(r, out, sizeof(out)) == 0);
    zt_conn_free(r);
    CHECK(zt_config_set_ticket_count(cfg, 17) == ZT_E_CONFIG);
    CHECK(zt_config_set_ticket_lifetime(cfg, ZT_MAX_TICKET_LIFETIME + 1) ==
          ZT_E_CONFIG);
    CHECK(zt_config_set_ticket_lifetime(cfg, 0) == ZT_E_CONFIG);
    tcli_free(&a);
    tcli_free(&b);
    zt_config_free(cfg);
}

/* Section 4.2.9: no ticket for a client that could not resume it, one
 * whose psk_key_exchange_modes (if any) has no mode we allow. */
static void tickets_need_modes(zt_ticket_keys *ring)
{
    static const struct {
        const char *name;
        int no_modes;
        unsigned modes;
        int allow_ke;
        unsigned tickets;
    } cases[] = {
        {"no psk_key_exchange_modes", 1, 0, 0, 0},
        {"psk_ke only, refused here", 0, ZT_PSK_MODE_KE, 0, 0},
        {"psk_ke only, allowed here", 0, ZT_PSK_MODE_KE, 1, 1},
        {"psk_dhe_ke", 0, ZT_PSK_MODE_DHE_KE, 0, 1},
        {"both modes", 0, ZT_PSK_MODE_KE | ZT_PSK_MODE_DHE_KE, 0, 1},
    };
    zt_config *cfg = scfg(ring, 0);
    zt_conn *s;
    tcli a = {0};
    size_t i, n;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_config_set_psk_ke(cfg, cases[i].allow_ke);
        reinit(&a);
        a.no_psk_modes = cases[i].no_modes;
        a.psk_modes = cases[i].modes;
        s = zt_conn_new(cfg);
        CHECK_MSG(thandshake(s, &a) == 0, "%s", cases[i].name);
        n = tsrv_drain(s, out, sizeof(out));
        CHECK_MSG(zt_conn_tickets_sent(s) == cases[i].tickets &&
                      tcli_read_tickets(&a, out, n) == (int)cases[i].tickets,
                  "%s: %u tickets", cases[i].name, zt_conn_tickets_sent(s));
        zt_conn_free(s);
    }
    /* the modes of the ClientHello the ServerHello answers, after a
     * HelloRetryRequest too */
    zt_config_set_psk_ke(cfg, 0);
    reinit(&a);
    a.no_psk_modes = 1;
    a.n_shares = 0;
    s = zt_conn_new(cfg);
    CHECK(thandshake(s, &a) == 0 && a.got_hrr);
    n = tsrv_drain(s, out, sizeof(out));
    CHECK(n == 0 && zt_conn_tickets_sent(s) == 0);
    zt_conn_free(s);
    reinit(&a);
    a.psk_modes = ZT_PSK_MODE_DHE_KE;
    a.n_shares = 0;
    s = zt_conn_new(cfg);
    CHECK(thandshake(s, &a) == 0 && a.got_hrr);
    n = tsrv_drain(s, out, sizeof(out));
    CHECK_EQ_INT(tcli_read_tickets(&a, out, n), 1);
    zt_conn_free(s);
    /* a resumed connection of a psk_ke client gets a psk_ke ticket */
    {
        tcli b = {0};
        zt_config_set_psk_ke(cfg, 1);
        reinit(&a);
        zt_conn_free(full(cfg, &a));
        reinit(&b);
        tcli_resume(&b, &a, 0, 10);
        b.psk_modes = ZT_PSK_MODE_KE;
        s = zt_conn_new(cfg);
        CHECK(offer(s, &b, 0) == ZT_OK && finish(s, &b) == ZT_OK);
        CHECK(zt_conn_resumed(s) && zt_conn_group(s) == 0);
        n = tsrv_drain(s, out, sizeof(out));
        CHECK_EQ_INT(tcli_read_tickets(&b, out, n), 1);
        zt_conn_free(s);
        tcli_free(&b);
    }
    tcli_free(&a);
    zt_config_free(cfg);
}

/* The ticket outlives its lifetime nor 7 days after the full
 * handshake it descends from. */
static void lifetimes(zt_ticket_keys *ring)
{
    zt_config *cfg = scfg(ring, 0);
    zt_conn *s, *r;
    tcli a = {0}, b = {0};
    uint64_t t0 = now_ms;

    CHECK(zt_config_set_ticket_lifetime(cfg, ZT_MAX_TICKET_LIFETIME) ==
          ZT_OK);
    reinit(&a);
    s = full(cfg, &a);
    CHECK_EQ_INT(a.tickets[0].lifetime, ZT_MAX_TICKET_LIFETIME);
    zt_conn_free(s);
    /* a node whose clock is a minute behind the issuer's still resumes */
    now_ms = t0 - 60000;
    r = resume(cfg, &a, &b, 1000, 0);
    CHECK(zt_conn_resumed(r));
    zt_conn_free(r);
    now_ms = t0 + 6ull * 86400 * 1000; /* six days later */
    r = resume(cfg, &a, &b, 1000, 0);
    CHECK(zt_conn_resumed(r));
    CHECK(tcli_read_tickets(&b, out, tsrv_drain(r, out, sizeof(out))) == 1);
    CHECK_EQ_INT(b.tickets[0].lifetime, 86400); /* what is left of 7 days */
    zt_conn_free(r);
    now_ms = t0 + 7ull * 86400 * 1000 + 1000; /* the first is past 7 days */
    s = zt_conn_new(cfg);
    reinit(&a);
    tcli_resume(&a, &b, 0, 1000);
    CHECK(offer(s, &a, 0) == ZT_OK);
    CHECK_EQ_INT(zt_conn_psk_result(s), ZT_PSK_EXPIRED);
    CHECK(a.saw_cert);
    zt_conn_free(s);
    now_ms = t0;
    tcli_free(&a);
    tcli_free(&b);
    zt_config_free(cfg);
}

/* A ticket that cannot be used means a full handshake with a reason. */
static void fallback(const char *name, zt_config *cfg, tcli *t,
                     zt_psk_result want)
{
    zt_conn *s = zt_conn_new(cfg);

    CHECK_MSG(offer(s, t, 0) == ZT_OK, "%s", name);
    CHECK_MSG(finish(s, t) == ZT_OK, "%s", name);
    CHECK_MSG(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE, "%s", name);
    CHECK_MSG(!zt_conn_resumed(s) && t->saw_cert && !t->psk_accepted,
              "%s: resumed", name);
    CHECK_MSG(zt_conn_psk_result(s) == want, "%s: psk result %s", name,
              zt_psk_result_str(zt_conn_psk_result(s)));
    CHECK_MSG(zt_conn_alert_sent(s) == ZT_ALERT_NONE, "%s", name);
    zt_conn_free(s);
}

static const zt_config *switch_to;
static zt_err pick_other(void *arg, zt_conn *c, const zt_client_hello *ch,
                         const zt_config **use)
{
    *use = switch_to;
    return ZT_OK;
}

static void fallbacks(zt_ticket_keys *ring)
{
    zt_ticket_keys *other = zt_ticket_keys_new();
    zt_config *cfg = scfg(ring, 0), *o;
    zt_conn *s;
    tcli a = {0}, t = {0};

    reinit(&a);
    s = full(cfg, &a);
    zt_conn_free(s);

    /* a ring that never held the key */
    CHECK(zt_ticket_keys_add(other, key_b, sizeof(key_b)) == ZT_OK);
    o = scfg(other, 0);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    fallback("unknown key", o, &t, ZT_PSK_UNKNOWN_KEY);
    zt_config_free(o);
    /* forged: a flipped bit in the sealed state */
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    t.psk_id[40] ^= 1;
    fallback("tampered ticket", cfg, &t, ZT_PSK_BAD_TICKET);
    /* not one of ours at all */
    reinit(&t);
    tcli_foreign_ticket(&t);
    fallback("foreign ticket", cfg, &t, ZT_PSK_UNKNOWN_KEY);
    /* expired */
    now_ms += 7200 * 1000 + 1;
    reinit(&t);
    tcli_resume(&t, &a, 0, 7200 * 1000);
    fallback("expired", cfg, &t, ZT_PSK_EXPIRED);
    now_ms -= 7200 * 1000 + 1;
    /* another server{}: another session context, same ring */
    o = scfg(ring, 0);
    CHECK(zt_config_set_session_context(o, (const uint8_t *)"srv-b", 5) ==
          ZT_OK);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    fallback("wrong server (context)", o, &t, ZT_PSK_WRONG_SERVER);
    {
        /* long contexts are hashed: equal ones agree, others do not */
        static const char lc[] = "http|www.example.com example.com|"
                                 "/etc/nginx/tls/example.crt|v1";
        zt_config *l1 = scfg(ring, 0), *l2 = scfg(ring, 0);
        tcli h = {0};
        CHECK(zt_config_set_session_context(l1, (const uint8_t *)lc,
                                            sizeof(lc) - 1) == ZT_OK);
        CHECK(zt_config_set_session_context(l2, (const uint8_t *)lc,
                                            sizeof(lc) - 2) == ZT_OK);
        reinit(&h);
        zt_conn_free(full(l1, &h));
        reinit(&t);
        tcli_resume(&t, &h, 0, 10);
        fallback("wrong server (long context)", l2, &t,
                 ZT_PSK_WRONG_SERVER);
        reinit(&t);
        tcli_resume(&t, &h, 0, 10);
        s = zt_conn_new(l1);
        CHECK(offer(s, &t, 0) == ZT_OK && finish(s, &t) == ZT_OK);
        CHECK(zt_conn_resumed(s));
        zt_conn_free(s);
        tcli_free(&h);
        zt_config_free(l1);
        zt_config_free(l2);
    }
    /* ... chosen by the ClientHello callback, as by SNI in nginx */
    switch_to = o;
    {
        zt_config *front = scfg(ring, 0);
        zt_config_set_client_hello_cb(front, pick_other, NULL);
        reinit(&t);
        tcli_resume(&t, &a, 0, 10);
        fallback("wrong server (callback)", front, &t, ZT_PSK_WRONG_SERVER);
        zt_config_free(front);
    }
    zt_config_free(o);
    /* the same server{} under another verification policy */
    o = scfg(ring, 0);
    zt_config_set_policy(o, ZT_POLICY_REQUIRE_SNI);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    t.sni = "example.com";
    fallback("wrong server (policy)", o, &t, ZT_PSK_WRONG_SERVER);
    zt_config_free(o);
    /* tickets off here */
    o = tsrv_config(TSRV_ED25519);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    fallback("tickets disabled", o, &t, ZT_PSK_DISABLED);
    zt_config_free(o);
    /* psk_ke only: refused unless allowed */
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    t.psk_modes = ZT_PSK_MODE_KE;
    fallback("psk_ke refused", cfg, &t, ZT_PSK_MODE);
    /* a SHA-384 ticket offered where SHA-256 is chosen */
    {
        tcli h = {0};
        reinit(&h);
        h.suites[0] = ZT_TLS_AES_256_GCM_SHA384;
        h.n_suites = 1;
        zt_conn_free(full(cfg, &h));
        CHECK(h.n_tickets == 1 && h.tickets[0].psk_len == 48);
        reinit(&t);
        tcli_resume(&t, &h, 0, 10);
        t.suites[0] = ZT_TLS_AES_128_GCM_SHA256;
        t.n_suites = 1;
        fallback("other hash", cfg, &t, ZT_PSK_SUITE);
        /* ... and with it, resumed */
        reinit(&t);
        tcli_resume(&t, &h, 0, 10);
        t.suites[0] = ZT_TLS_AES_256_GCM_SHA384;
        s = zt_conn_new(cfg);
        CHECK(offer(s, &t, 0) == ZT_OK && finish(s, &t) == ZT_OK);
        CHECK(zt_conn_resumed(s) &&
              zt_conn_cipher_suite(s) == ZT_TLS_AES_256_GCM_SHA384);
        zt_conn_free(s);
        tcli_free(&h);
    }
    /* without a PSK we take, signature_algorithms is needed (9.2) */
    reinit(&t);
    tcli_foreign_ticket(&t);
    t.n_sigalgs = 0;
    s = zt_conn_new(cfg);
    expect_fail("no sigalgs, no usable PSK", s, tsrv_hello(s, &t),
                ZT_E_MISSING_EXTENSION, ZT_ALERT_MISSING_EXTENSION, NULL);
    zt_conn_free(s);
    /* ... but a resumption does without it */
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    t.n_sigalgs = 0;
    s = zt_conn_new(cfg);
    CHECK(offer(s, &t, 0) == ZT_OK && finish(s, &t) == ZT_OK);
    CHECK(zt_conn_resumed(s));
    zt_conn_free(s);
    /* psk_ke when allowed: no key_share in the ServerHello */
    zt_config_set_psk_ke(cfg, 1);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    t.psk_modes = ZT_PSK_MODE_KE;
    s = zt_conn_new(cfg);
    CHECK(offer(s, &t, 0) == ZT_OK && finish(s, &t) == ZT_OK);
    CHECK(zt_conn_resumed(s) && t.group == 0 && zt_conn_group(s) == 0);
    zt_conn_free(s);
    /* both modes offered: psk_dhe_ke wins */
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    t.psk_modes = ZT_PSK_MODE_KE | ZT_PSK_MODE_DHE_KE;
    s = zt_conn_new(cfg);
    CHECK(offer(s, &t, 0) == ZT_OK && finish(s, &t) == ZT_OK);
    CHECK(zt_conn_resumed(s) && t.group == ZT_GROUP_X25519);
    zt_conn_free(s);
    zt_config_set_psk_ke(cfg, 0);
    /* an unknown identity first: ours, second, is taken */
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    t.junk_id = (const uint8_t *)"not a ticket of ours";
    t.junk_id_len = 20;
    s = zt_conn_new(cfg);
    CHECK(offer(s, &t, 0) == ZT_OK && finish(s, &t) == ZT_OK);
    CHECK(zt_conn_resumed(s) && t.psk_selected == 1);
    zt_conn_free(s);
    /* across a HelloRetryRequest (binder over CH1, HRR, CH2) */
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    t.shares[0] = ZT_GROUP_SECP256R1;
    t.groups[0] = ZT_GROUP_SECP256R1;
    t.groups[1] = ZT_GROUP_X25519;
    t.n_shares = 0;
    s = zt_conn_new(cfg);
    CHECK(offer(s, &t, 0) == ZT_OK && t.got_hrr);
    CHECK(offer(s, &t, 0) == ZT_OK && finish(s, &t) == ZT_OK);
    CHECK(zt_conn_resumed(s) && zt_conn_hrr(s) && !t.saw_cert);
    zt_conn_free(s);
    tcli_free(&a);
    tcli_free(&t);
    zt_ticket_keys_free(other);
    zt_config_free(cfg);
}

/* Rotation: tickets of the previous key still resume, the new key seals. */
static void rotation(void)
{
    zt_ticket_keys *ring = zt_ticket_keys_new();
    zt_config *cfg = scfg(ring, 0);
    zt_conn *s;
    tcli a = {0}, b = {0};
    uint8_t id[16];

    CHECK(zt_ticket_keys_rotate(ring, key_a, sizeof(key_a), now_ms,
                                7200000) == ZT_OK);
    reinit(&a);
    zt_conn_free(full(cfg, &a));
    CHECK(zt_ticket_keys_rotate(ring, key_b, sizeof(key_b), now_ms + 1000,
                                7200000) == ZT_OK);
    s = resume(cfg, &a, &b, 1000, 0);
    CHECK(zt_conn_resumed(s));
    /* opened by the old key; the new ticket sealed by the new one */
    CHECK(tcli_read_tickets(&b, out, tsrv_drain(s, out, sizeof(out))) == 1);
    CHECK(memcmp(b.tickets[0].ticket + 1, key_b, 16) == 0);
    CHECK(zt_conn_ticket_key_id(s, id) == 0 && memcmp(id, key_b, 16) == 0);
    zt_conn_free(s);
    /* past the grace period the old key is gone */
    {
        uint8_t k3[ZT_TICKET_KEY_SHORT];
        memset(k3, 0x99, sizeof(k3));
        CHECK(zt_ticket_keys_rotate(ring, k3, sizeof(k3),
                                    now_ms + 1000 + 7200001, 7200000) ==
              ZT_OK);
        CHECK_EQ_INT(zt_ticket_keys_count(ring), 2);
    }
    reinit(&b);
    tcli_resume(&b, &a, 0, 10);
    fallback("retired key", cfg, &b, ZT_PSK_UNKNOWN_KEY);
    tcli_free(&a);
    tcli_free(&b);
    zt_config_free(cfg);
    zt_ticket_keys_free(ring);
}

/* ---- 0-RTT ------------------------------------------------------------------ */

static void early_accepted(zt_ticket_keys *ring)
{
    zt_config *cfg = scfg(ring, 4096);
    zt_conn *s;
    tcli a = {0}, b = {0};
    uint8_t rec[512], pt[64], type;
    size_t n, acc;
    const uint8_t *p;

    reset_table();
    reinit(&a);
    a.alpn[0] = "h2";
    a.n_alpn = 1;
    a.sni = "example.com";
    {
        static const char *const alpn[] = {"h2", "http/1.1"};
        CHECK(zt_config_set_alpn(cfg, alpn, 2) == ZT_OK);
    }
    zt_conn_free(full(cfg, &a));
    CHECK_EQ_INT(a.tickets[0].max_early, 4096);

    s = zt_conn_new(cfg);
    reinit(&b);
    tcli_resume(&b, &a, 0, 20);
    b.alpn[0] = "h2";
    b.n_alpn = 1;
    b.sni = "example.com";
    CHECK(offer(s, &b, 100) == ZT_OK);
    CHECK(b.early_accepted && b.psk_accepted);
    CHECK(zt_conn_early_data_accepted(s));
    CHECK_EQ_INT(zt_conn_early_result(s), ZT_EARLY_ACCEPTED);
    CHECK(zt_conn_state(s) & ZT_ST_EARLY_DATA);
    CHECK(!(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE));
    p = zt_app_data(s, &n);
    CHECK(p != NULL && n == 100 && p[0] == 'e' && zt_app_data_early(s));
    zt_app_data_done(s, n);
    /* the answer goes out at 0.5-RTT */
    CHECK(zt_conn_state(s) & ZT_ST_APP_WRITABLE);
    CHECK(zt_write(s, (const uint8_t *)"early", 5, &acc) == ZT_OK && acc == 5);
    n = tsrv_drain(s, out, sizeof(out));
    CHECK(tcli_open(&b, out, n, &type, pt) == 5 && type == ZT_CT_APPDATA);
    /* more early data (padded), then EndOfEarlyData and Finished, in one
     * write: the core takes them all (batched input) but processes what
     * follows the early data only once that is read */
    n = tcli_seal(&b, ZT_CT_APPDATA, (const uint8_t *)"more", 4, 7, rec);
    n += tcli_end_of_early_data(&b, rec + n);
    n += tcli_finished(&b, rec + n, 0);
    {
        size_t used = 0;
        CHECK(zt_feed(s, rec, n, &used) == ZT_OK && used <= n);
        CHECK(!(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE));
        p = zt_app_data(s, &acc);
        CHECK(p != NULL && acc == 4 && zt_app_data_early(s));
        zt_app_data_done(s, acc);
        CHECK(tsrv_feed(s, rec + used, n - used, 0) == ZT_OK);
    }
    CHECK(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE);
    CHECK(!(zt_conn_state(s) & ZT_ST_EARLY_DATA));
    CHECK(zt_conn_early_data_accepted(s));
    n = tsrv_drain(s, out, sizeof(out));
    CHECK_EQ_INT(tcli_read_tickets(&b, out, n), 1);
    n = tcli_seal(&b, ZT_CT_APPDATA, (const uint8_t *)"late", 4, 0, rec);
    CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
    CHECK(zt_app_data(s, &n) != NULL && !zt_app_data_early(s));
    zt_conn_free(s);
    tcli_free(&a);
    tcli_free(&b);
    zt_config_free(cfg);
}

/* Early data, EndOfEarlyData, Finished and 1-RTT data arrive together:
 * zt_recv_into (what nginx uses) and zt_read never return the early bytes
 * and the later ones in one call, and zt_app_data_early tells which. */
static void early_boundary(zt_ticket_keys *ring)
{
    zt_config *cfg = scfg(ring, 4096);
    static uint8_t in[4096], dst[4096];
    zt_conn *s;
    tcli a = {0}, b = {0};
    size_t n, off, room, k, got, calls;
    int pass;
    uint8_t *p;

    reset_table();
    reinit(&a);
    zt_conn_free(full(cfg, &a));
    for (pass = 0; pass < 2; pass++) {
        size_t early_got = 0, late_got = 0;
        int mixed = 0;
        s = zt_conn_new(cfg);
        reinit(&b);
        tcli_resume(&b, &a, 0, 10);
        CHECK(offer(s, &b, 1) == ZT_OK); /* one early byte, held */
        CHECK(b.early_accepted);
        n = tcli_seal(&b, ZT_CT_APPDATA, (const uint8_t *)"EEEEE", 5, 0, in);
        n += tcli_seal(&b, ZT_CT_APPDATA, (const uint8_t *)"early", 5, 0,
                       in + n);
        n += tcli_end_of_early_data(&b, in + n);
        n += tcli_finished(&b, in + n, 0);
        n += tcli_seal(&b, ZT_CT_APPDATA, (const uint8_t *)"LLLL", 4, 0,
                       in + n);
        for (off = 0, calls = 0; calls < 64 && (off < n || got); calls++) {
            got = 0;
            if (pass == 0) {
                p = zt_recv_buf(s, &room);
                k = p && off < n ? (n - off < room ? n - off : room) : 0;
                if (k)
                    memcpy(p, in + off, k);
                off += k;
                CHECK(zt_recv_into(s, k, dst, sizeof(dst), &got) == ZT_OK);
            } else {
                if (off < n) {
                    CHECK(zt_feed(s, in + off, n - off, &k) == ZT_OK);
                    off += k;
                }
                k = zt_app_data_early(s); /* what zt_read will return */
                got = zt_read(s, dst, sizeof(dst));
            }
            if (got && zt_app_data_early(s) && pass == 0)
                early_got += got, mixed |= memchr(dst, 'L', got) != NULL;
            else if (got && pass == 0)
                late_got += got, mixed |= memchr(dst, 'e', got) != NULL;
            else if (got)
                (k ? (early_got += got) : (late_got += got)),
                    mixed |= k ? memchr(dst, 'L', got) != NULL
                               : memchr(dst, 'e', got) != NULL;
        }
        CHECK_MSG(early_got == 11 && late_got == 4 && !mixed,
                  "pass %d: early %zu, late %zu, mixed %d", pass, early_got,
                  late_got, mixed);
        CHECK(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE);
        zt_conn_free(s);
    }
    tcli_free(&a);
    tcli_free(&b);
    zt_config_free(cfg);
}

/* 0-RTT refused: each reason, the early data skipped, 1-RTT completes. */
static void early_refused_case(const char *name, zt_config *cfg,
                               const tcli *from, tcli *t, uint32_t age,
                               zt_early_result want)
{
    zt_conn *s = zt_conn_new(cfg);

    tcli_resume(t, from, 0, age);
    CHECK_MSG(offer(s, t, 200) == ZT_OK, "%s", name);
    CHECK_MSG(!t->early_accepted && !zt_conn_early_data_accepted(s), "%s",
              name);
    CHECK_MSG(zt_conn_early_result(s) == want, "%s: early result %s", name,
              zt_early_result_str(zt_conn_early_result(s)));
    CHECK_MSG(finish(s, t) == ZT_OK, "%s: 1-RTT", name);
    CHECK_MSG(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE, "%s", name);
    CHECK_MSG(zt_app_data(s, &(size_t){0}) == NULL, "%s: early data leaked",
              name);
    zt_conn_free(s);
}

static void early_refused(zt_ticket_keys *ring)
{
    zt_config *cfg = scfg(ring, 4096), *o;
    tcli a = {0}, t = {0};

    reset_table();
    reinit(&a);
    a.sni = "example.com";
    zt_conn_free(full(cfg, &a));

    reinit(&t);
    t.sni = "example.com";
    early_refused_case("age out of window", cfg, &a, &t, 20000,
                       ZT_EARLY_AGE);
    CHECK_EQ_INT(zt_replay_table_used(table, now_ms), 0); /* not recorded */
    reinit(&t);
    t.sni = "other.example.com";
    early_refused_case("other SNI", cfg, &a, &t, 10, ZT_EARLY_PARAMS);
    reinit(&t);
    t.sni = "example.com";
    t.alpn[0] = "h2";
    t.n_alpn = 1;
    {
        static const char *const alpn[] = {"h2"};
        o = scfg(ring, 4096);
        CHECK(zt_config_set_alpn(o, alpn, 1) == ZT_OK);
        early_refused_case("other ALPN", o, &a, &t, 10, ZT_EARLY_PARAMS);
        zt_config_free(o);
    }
    o = scfg(ring, 4096);
    CHECK(zt_config_set_node_id(o, (const uint8_t *)"node-b", 6) == ZT_OK);
    reinit(&t);
    t.sni = "example.com";
    early_refused_case("other node", o, &a, &t, 10, ZT_EARLY_OTHER_NODE);
    zt_config_free(o);
    o = scfg(ring, 0);
    reinit(&t);
    t.sni = "example.com";
    early_refused_case("0-RTT off here", o, &a, &t, 10, ZT_EARLY_DISABLED);
    zt_config_free(o);
    o = scfg(ring, 4096);
    zt_config_set_replay_filter(o, NULL, NULL);
    reinit(&t);
    t.sni = "example.com";
    early_refused_case("no replay filter", o, &a, &t, 10, ZT_EARLY_DISABLED);
    zt_config_free(o);
    /* a filter started after the ticket was issued (a restart) */
    CHECK(zt_replay_table_init(table, sizeof(table), now_ms + 1) > 0);
    reinit(&t);
    t.sni = "example.com";
    early_refused_case("filter younger than the ticket", cfg, &a, &t, 10,
                       ZT_EARLY_UNAVAILABLE);
    reset_table();
    /* a ticket issued without 0-RTT */
    {
        tcli n0 = {0};
        o = scfg(ring, 0);
        reinit(&n0);
        n0.sni = "example.com";
        zt_conn_free(full(o, &n0));
        zt_config_free(o);
        reinit(&t);
        t.sni = "example.com";
        early_refused_case("ticket without early_data", cfg, &n0, &t, 10,
                           ZT_EARLY_DISABLED);
        tcli_free(&n0);
    }
    /* the PSK not taken at all */
    {
        zt_conn *s = zt_conn_new(cfg);
        reinit(&t);
        tcli_foreign_ticket(&t);
        t.psk_suite = ZT_TLS_AES_128_GCM_SHA256;
        CHECK(offer(s, &t, 100) == ZT_OK);
        CHECK_EQ_INT(zt_conn_early_result(s), ZT_EARLY_NO_PSK);
        CHECK(finish(s, &t) == ZT_OK);
        zt_conn_free(s);
    }
    /* 0-RTT offered, then a HelloRetryRequest: resumed in CH2, no 0-RTT */
    {
        zt_conn *s = zt_conn_new(cfg);
        reinit(&t);
        tcli_resume(&t, &a, 0, 10);
        t.sni = "example.com";
        t.n_shares = 0;
        CHECK(offer(s, &t, 100) == ZT_OK && t.got_hrr);
        CHECK(offer(s, &t, 0) == ZT_OK && finish(s, &t) == ZT_OK);
        CHECK(zt_conn_resumed(s) && !zt_conn_early_data_accepted(s));
        CHECK_EQ_INT(zt_conn_early_result(s), ZT_EARLY_HRR);
        zt_conn_free(s);
    }
    /* not the first identity */
    reinit(&t);
    t.sni = "example.com";
    t.junk_id = (const uint8_t *)"not a ticket of ours";
    t.junk_id_len = 20;
    early_refused_case("second identity", cfg, &a, &t, 10, ZT_EARLY_PARAMS);
    tcli_free(&a);
    tcli_free(&t);
    zt_config_free(cfg);
}

/* The same ClientHello and early data, byte for byte, on a second
 * connection: resumed, but 0-RTT refused and counted as a replay. */
static void early_replayed(zt_ticket_keys *ring)
{
    zt_config *cfg = scfg(ring, 4096);
    static uint8_t msg[8192], rec[16384];
    zt_conn *s1, *s2;
    tcli a = {0}, b = {0};
    size_t n, k;

    reset_table();
    reinit(&a);
    zt_conn_free(full(cfg, &a));
    reinit(&b);
    tcli_resume(&b, &a, 0, 10);
    b.early_data = 1;
    n = tcli_client_hello(&b, msg, sizeof(msg));
    k = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
    CHECK(tcli_early_keys(&b) == 0);
    k += tcli_seal(&b, ZT_CT_APPDATA, (const uint8_t *)"POST /pay", 9, 0,
                   rec + k);
    s1 = zt_conn_new(cfg);
    CHECK(tsrv_feed(s1, rec, k, 0) == ZT_OK);
    CHECK_EQ_INT(zt_conn_early_result(s1), ZT_EARLY_ACCEPTED);
    CHECK(zt_app_data(s1, &n) != NULL && n == 9);
    s2 = zt_conn_new(cfg);
    CHECK(tsrv_feed(s2, rec, k, 0) == ZT_OK);
    CHECK(zt_conn_resumed(s2));
    CHECK_EQ_INT(zt_conn_early_result(s2), ZT_EARLY_REPLAY);
    CHECK(zt_app_data(s2, &n) == NULL); /* skipped, never released */
    CHECK(zt_conn_error(s2) == ZT_OK);
    zt_conn_free(s1);
    zt_conn_free(s2);
    tcli_free(&a);
    tcli_free(&b);
    zt_config_free(cfg);
}

/* ---- aborts, each with its alert ------------------------------------------ */

static void aborts(zt_ticket_keys *ring)
{
    zt_config *cfg = scfg(ring, 1000);
    zt_conn *s;
    tcli a = {0}, t = {0};
    uint8_t rec[4096];
    size_t n;

    reset_table();
    reinit(&a);
    zt_conn_free(full(cfg, &a));

#define CH_ABORT(name, setup, err, alert)                                    \
    do {                                                                     \
        s = zt_conn_new(cfg);                                                \
        reinit(&t);                                                       \
        tcli_resume(&t, &a, 0, 10);                                          \
        setup;                                                               \
        expect_fail(name, s, tsrv_hello(s, &t), err, alert, NULL);           \
        zt_conn_free(s);                                                     \
    } while (0)

    CH_ABORT("bad binder", t.binder_corrupt = 1, ZT_E_BAD_BINDER,
             ZT_ALERT_DECRYPT_ERROR);
    CH_ABORT("binder of the wrong length", t.binder_len = 48,
             ZT_E_BAD_BINDER, ZT_ALERT_DECRYPT_ERROR);
    CH_ABORT("binder shorter than 32", t.binder_len = 31, ZT_E_DECODE,
             ZT_ALERT_DECODE_ERROR);
    CH_ABORT("identities and binders differ in number", t.extra_binder = 1,
             ZT_E_ILLEGAL_PARAMETER, ZT_ALERT_ILLEGAL_PARAMETER);
    CH_ABORT("pre_shared_key not last", t.psk_not_last = 1,
             ZT_E_ILLEGAL_PARAMETER, ZT_ALERT_ILLEGAL_PARAMETER);
    CH_ABORT("pre_shared_key without psk_key_exchange_modes",
             t.no_psk_modes = 1, ZT_E_MISSING_EXTENSION,
             ZT_ALERT_MISSING_EXTENSION);
    CH_ABORT("early_data without pre_shared_key",
             (t.early_data = 1, t.psk_id_len = 0), ZT_E_ILLEGAL_PARAMETER,
             ZT_ALERT_ILLEGAL_PARAMETER);
    CHECK_EQ_INT(zt_replay_table_used(table, now_ms), 0);

    /* more early data than the ticket allowed (1000 bytes) */
    s = zt_conn_new(cfg);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    CHECK(offer(s, &t, 800) == ZT_OK && t.early_accepted);
    (void)zt_read(s, rec, sizeof(rec));
    memset(rec, 'x', 300);
    n = tcli_seal(&t, ZT_CT_APPDATA, rec, 300, 0, rec);
    expect_fail("early data over the limit", s, tsrv_feed(s, rec, n, 0),
                ZT_E_EARLY_DATA_LIMIT, ZT_ALERT_UNEXPECTED_MESSAGE, &t);
    zt_conn_free(s);

    /* Finished before EndOfEarlyData */
    s = zt_conn_new(cfg);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    CHECK(offer(s, &t, 10) == ZT_OK && t.early_accepted);
    (void)zt_read(s, rec, sizeof(rec));
    t.early_accepted = 0; /* so that tcli_finished skips EndOfEarlyData */
    t.wr_early = 0;       /* ... and seals Finished under the early key */
    n = tcli_finished(&t, rec, 0);
    expect_fail("Finished before EndOfEarlyData", s, tsrv_feed(s, rec, n, 0),
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE, &t);
    zt_conn_free(s);

    /* EndOfEarlyData when 0-RTT was not accepted */
    s = zt_conn_new(cfg);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    CHECK(offer(s, &t, 0) == ZT_OK && !t.early_accepted);
    n = tcli_end_of_early_data(&t, rec);
    expect_fail("EndOfEarlyData without 0-RTT", s, tsrv_feed(s, rec, n, 0),
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE, &t);
    zt_conn_free(s);

    /* EndOfEarlyData twice */
    s = zt_conn_new(cfg);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    CHECK(offer(s, &t, 10) == ZT_OK && t.early_accepted);
    (void)zt_read(s, rec, sizeof(rec));
    n = tcli_end_of_early_data(&t, rec);
    CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
    n = tcli_seal(&t, ZT_CT_HANDSHAKE, (const uint8_t *)"\x05\0\0\0", 4, 0,
                  rec);
    expect_fail("EndOfEarlyData twice", s, tsrv_feed(s, rec, n, 0),
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE, &t);
    zt_conn_free(s);

    /* EndOfEarlyData with a body */
    s = zt_conn_new(cfg);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    CHECK(offer(s, &t, 10) == ZT_OK && t.early_accepted);
    (void)zt_read(s, rec, sizeof(rec));
    n = tcli_seal(&t, ZT_CT_HANDSHAKE, (const uint8_t *)"\x05\0\0\1\0", 5, 0,
                  rec);
    expect_fail("EndOfEarlyData with a body", s, tsrv_feed(s, rec, n, 0),
                ZT_E_DECODE, ZT_ALERT_DECODE_ERROR, &t);
    zt_conn_free(s);

    /* accepted 0-RTT that does not decrypt: bad_record_mac (4.2.10) */
    s = zt_conn_new(cfg);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    CHECK(offer(s, &t, 10) == ZT_OK && t.early_accepted);
    (void)zt_read(s, rec, sizeof(rec));
    n = tcli_seal(&t, ZT_CT_APPDATA, (const uint8_t *)"zz", 2, 0, rec);
    rec[n - 1] ^= 1;
    expect_fail("accepted 0-RTT with a bad tag", s, tsrv_feed(s, rec, n, 0),
                ZT_E_BAD_RECORD_MAC, ZT_ALERT_BAD_RECORD_MAC, &t);
    zt_conn_free(s);

    /* EndOfEarlyData after the handshake */
    s = zt_conn_new(cfg);
    reinit(&t);
    tcli_resume(&t, &a, 0, 10);
    CHECK(offer(s, &t, 0) == ZT_OK && finish(s, &t) == ZT_OK);
    (void)tsrv_drain(s, out, sizeof(out));
    n = tcli_seal(&t, ZT_CT_HANDSHAKE, (const uint8_t *)"\x05\0\0\0", 4, 0,
                  rec);
    {
        zt_err e = tsrv_feed(s, rec, n, 0);
        CHECK(e == ZT_E_UNEXPECTED_MESSAGE);
        CHECK(zt_conn_alert_sent(s) == ZT_ALERT_UNEXPECTED_MESSAGE);
    }
    zt_conn_free(s);
#undef CH_ABORT
    tcli_free(&a);
    tcli_free(&t);
    zt_config_free(cfg);
}

/* Sessions keep the connection small: nothing of the ticket work stays. */
static void memory(zt_ticket_keys *ring)
{
    zt_config *plain = tsrv_config(TSRV_ED25519 | TSRV_P256);
    zt_config *cfg = scfg(ring, 4096);
    zt_conn *s, *r;
    tcli a = {0}, b = {0};

    reinit(&a);
    s = zt_conn_new(plain);
    CHECK(thandshake(s, &a) == 0);
    (void)tsrv_drain(s, out, sizeof(out));
    CHECK(zt_conn_release_buffers(s) == ZT_OK);
    reinit(&a);
    r = full(cfg, &a);
    CHECK(zt_conn_release_buffers(r) == ZT_OK);
    CHECK_EQ_INT(zt_conn_buffer_bytes(r), zt_conn_buffer_bytes(s));
    zt_conn_free(r);
    reset_table();
    r = resume(cfg, &a, &b, 10, 50);
    (void)tsrv_drain(r, out, sizeof(out));
    CHECK(zt_conn_release_buffers(r) == ZT_OK);
    CHECK(r->hss == NULL);
    CHECK_EQ_INT(zt_conn_buffer_bytes(r), zt_conn_buffer_bytes(s));
    zt_conn_free(r);
    zt_conn_free(s);
    tcli_free(&a);
    tcli_free(&b);
    zt_config_free(cfg);
    zt_config_free(plain);
}

void suite_sessions(void)
{
    zt_ticket_keys *ring = zt_ticket_keys_new();
    size_t i;

    for (i = 0; i < sizeof(key_a); i++)
        key_a[i] = (uint8_t)(0x11 + i);
    for (i = 0; i < sizeof(key_b); i++)
        key_b[i] = (uint8_t)(0xa0 + i);
    CHECK(zt_ticket_keys_add(ring, key_a, sizeof(key_a)) == ZT_OK);
    reset_table();
    ring_api();
    session_format();
    replay_table();
    tickets_and_resumption(ring);
    lifetimes(ring);
    tickets_need_modes(ring);
    fallbacks(ring);
    rotation();
    early_accepted(ring);
    early_boundary(ring);
    early_refused(ring);
    early_replayed(ring);
    aborts(ring);
    memory(ring);
    zt_ticket_keys_free(ring);
}
