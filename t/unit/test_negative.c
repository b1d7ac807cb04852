/*
 * test_negative.c: a negative case for every parser and every state, each
 * asserting the exact error and the exact alert on the wire (RFC 8446
 * section 6.2 and the sections cited per case).
 */
#include <stdlib.h>

#include "tclient.h"
#include "test.h"

typedef void (*cli_fn)(tcli *t);
typedef void (*cfg_fn)(zt_config *cfg);

static uint8_t out[65536];

/* The server must fail with `err`, and the last thing it sent must be the
 * alert `alert` (or no alert at all for ZT_ALERT_NONE). */
static void check_fail(const char *name, zt_conn *s, zt_err got, zt_err err,
                       int alert, tcli *t)
{
    size_t n = tsrv_drain(s, out, sizeof(out));
    int a = tsrv_alert(out, n, t);

    CHECK_MSG(got == err, "%s: got %s, want %s", name, zt_err_str(got),
              zt_err_str(err));
    CHECK_MSG(zt_conn_error(s) == err, "%s: sticky error %s", name,
              zt_err_str(zt_conn_error(s)));
    CHECK_MSG(zt_conn_state(s) & ZT_ST_FAILED, "%s: not failed", name);
    if (alert == ZT_ALERT_NONE) {
        CHECK_MSG(zt_conn_alert_sent(s) == ZT_ALERT_NONE,
                  "%s: sent alert %d", name, zt_conn_alert_sent(s));
    } else {
        CHECK_MSG(a == alert, "%s: alert on the wire %d, want %s (%d)", name,
                  a, zt_alert_str((uint8_t)alert), alert);
        CHECK_MSG(zt_conn_alert_sent(s) == alert, "%s: alert_sent %d", name,
                  zt_conn_alert_sent(s));
    }
    /* sticky: later calls are no-ops returning the same error */
    {
        size_t used = 99;
        uint8_t b[1] = {0};
        CHECK(zt_feed(s, b, 1, &used) == err);
        CHECK(zt_eof(s) == err);
    }
}

/* One ClientHello built by the test client with `mut` applied. */
static void ch_case(const char *name, cli_fn mut, cfg_fn cmut, zt_err err,
                    int alert)
{
    zt_config *cfg = tsrv_config(TSRV_ED25519 | TSRV_P256 | TSRV_RSA);
    zt_conn *s;
    tcli t;
    uint8_t msg[4096], rec[8192];
    size_t n;
    zt_err got;

    if (cmut)
        cmut(cfg);
    s = zt_conn_new(cfg);
    tcli_init(&t);
    if (mut)
        mut(&t);
    n = tcli_client_hello(&t, msg, sizeof(msg));
    CHECK_MSG(n > 0, "%s: cannot build ClientHello", name);
    n = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
    got = tsrv_feed(s, rec, n, 0);
    check_fail(name, s, got, err, alert, NULL);
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
}

/* Raw bytes as the first thing on the connection. */
static void raw_case(const char *name, const uint8_t *p, size_t n, zt_err err,
                     int alert)
{
    zt_config *cfg = tsrv_config(TSRV_ED25519);
    zt_conn *s = zt_conn_new(cfg);
    zt_err got = tsrv_feed(s, p, n, 0);

    check_fail(name, s, got, err, alert, NULL);
    zt_conn_free(s);
    zt_config_free(cfg);
}

/* A valid ClientHello message, then edited by `edit` (which may change its
 * length), sent as one record. */
typedef size_t (*edit_fn)(uint8_t *m, size_t n);

static void edit_case(const char *name, edit_fn edit, zt_err err, int alert)
{
    tcli t;
    uint8_t msg[4096], rec[8192];
    size_t n;

    tcli_init(&t);
    n = tcli_client_hello(&t, msg, sizeof(msg));
    n = edit(msg, n);
    msg[1] = (uint8_t)((n - 4) >> 16);
    msg[2] = (uint8_t)((n - 4) >> 8);
    msg[3] = (uint8_t)(n - 4);
    n = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
    raw_case(name, rec, n, err, alert);
    tcli_free(&t);
}

/* ---- ClientHello mutations ------------------------------------------------ */

static size_t ed_truncate(uint8_t *m, size_t n)
{
    return n - 7; /* cut inside the last extension */
}
static size_t ed_trailing(uint8_t *m, size_t n)
{
    m[n] = 0; /* one byte after the extensions block */
    return n + 1;
}
static size_t ed_overlong_ext(uint8_t *m, size_t n)
{
    /* extensions block length larger than what follows */
    size_t at = 4 + 2 + 32 + 1 + m[4 + 2 + 32] ;
    size_t sl = ((size_t)m[at] << 8) | m[at + 1];
    at += 2 + sl;
    at += 1 + m[at];
    m[at] = (uint8_t)(m[at] + 1);
    return n;
}
static size_t ed_long_session_id(uint8_t *m, size_t n)
{
    /* legacy_session_id<0..32>: make it 33 bytes */
    size_t at = 4 + 2 + 32;
    memmove(m + at + 1 + 33, m + at + 1, n - at - 1);
    m[at] = 33;
    memset(m + at + 1, 0x11, 33);
    return n + 33;
}
static size_t ed_empty_suites(uint8_t *m, size_t n)
{
    size_t at = 4 + 2 + 32 + 1;
    size_t sl = ((size_t)m[at] << 8) | m[at + 1];
    memmove(m + at + 2, m + at + 2 + sl, n - at - 2 - sl);
    m[at] = m[at + 1] = 0;
    return n - sl;
}
static size_t ed_odd_suites(uint8_t *m, size_t n)
{
    size_t at = 4 + 2 + 32 + 1;
    size_t sl = ((size_t)m[at] << 8) | m[at + 1];
    memmove(m + at + 2 + sl - 1, m + at + 2 + sl, n - at - 2 - sl);
    m[at + 1] = (uint8_t)(sl - 1);
    return n - 1;
}
static size_t ed_no_extensions(uint8_t *m, size_t n)
{
    size_t at = 4 + 2 + 32 + 1;
    size_t sl = ((size_t)m[at] << 8) | m[at + 1];
    at += 2 + sl;
    at += 1 + m[at];
    return at; /* a TLS 1.2 style hello with no extensions at all */
}

/* legacy_version (4.1.2, D.5) */
static size_t ed_legacy_0300(uint8_t *m, size_t n)
{
    m[4] = 0x03;
    m[5] = 0x00;
    return n;
}
static size_t ed_legacy_0000(uint8_t *m, size_t n)
{
    m[4] = m[5] = 0x00;
    return n;
}
static size_t ed_legacy_0301(uint8_t *m, size_t n)
{
    m[4] = 0x03;
    m[5] = 0x01;
    return n;
}

static void no_versions(tcli *t) { t->n_versions = 0; }
static void tls12_only(tcli *t)
{
    t->versions[0] = 0x0303;
    t->versions[1] = 0x0302;
    t->n_versions = 2;
}
static void bad_compression(tcli *t)
{
    t->compression[0] = 1;
    t->compression[1] = 0;
    t->n_compression = 2;
}
static void no_sigalgs(tcli *t) { t->n_sigalgs = 0; }
static void no_groups(tcli *t) { t->n_groups = 0; }
static void only_chacha(tcli *t)
{
    t->suites[0] = 0x1304; /* TLS_AES_128_CCM_SHA256: we do not offer it */
    t->n_suites = 1;
}
static void only_p384(tcli *t)
{
    t->groups[0] = 0x0018;
    t->n_groups = 1;
    t->n_shares = 0;
}
static void only_ecdsa_p384_sig(tcli *t)
{
    t->sigalgs[0] = 0x0503;
    t->sigalgs[1] = 0x0201; /* rsa_pkcs1_sha1: not for TLS 1.3 */
    t->n_sigalgs = 2;
}
static void short_x25519(tcli *t) { t->bad_share = 1; }
static void zero_x25519(tcli *t) { t->bad_share = 2; }
static void offcurve_p256(tcli *t)
{
    t->shares[0] = ZT_GROUP_SECP256R1;
    t->bad_share = 2;
}
static void share_not_offered(tcli *t)
{
    t->groups[0] = ZT_GROUP_SECP256R1;
    t->n_groups = 1; /* share stays x25519 */
}
static void dup_share(tcli *t)
{
    t->shares[1] = ZT_GROUP_X25519;
    t->n_shares = 2;
}
static const uint8_t dup_ext[] = {0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04};
static void dup_versions(tcli *t)
{
    t->extra = dup_ext;
    t->extra_len = sizeof(dup_ext);
}
static void psk_not_last(tcli *t)
{
    tcli_foreign_ticket(t);
    t->psk_not_last = 1;
}
static const uint8_t empty_sni[] = {0x00, 0x00, 0x00, 0x05, 0x00, 0x03,
                                    0x00, 0x00, 0x00};
static void sni_empty_name(tcli *t)
{
    t->extra = empty_sni;
    t->extra_len = sizeof(empty_sni);
}
static const uint8_t empty_alpn_name[] = {0x00, 0x10, 0x00, 0x04, 0x00,
                                          0x02, 0x00, 0x00};
static void alpn_empty_name(tcli *t)
{
    t->extra = empty_alpn_name;
    t->extra_len = sizeof(empty_alpn_name);
}
static const uint8_t empty_groups[] = {0x00, 0x0a, 0x00, 0x02, 0x00, 0x00};
static void groups_empty(tcli *t)
{
    t->n_groups = 0;
    t->extra = empty_groups;
    t->extra_len = sizeof(empty_groups);
}
static void small_record_limit(tcli *t) { t->record_size_limit = 63; }
static void sni_control_char(tcli *t) { t->sni = "bad\x01name"; }
static void no_sni(tcli *t) { t->sni = NULL; }
static void sni_other(tcli *t) { t->sni = "other.example.org"; }
static void alpn_spdy(tcli *t)
{
    t->alpn[0] = "spdy/3";
    t->n_alpn = 1;
}
static void require_sni(zt_config *cfg)
{
    zt_config_set_policy(cfg, ZT_POLICY_REQUIRE_SNI);
}
static void allowlist(zt_config *cfg)
{
    zt_config_set_policy(cfg, ZT_POLICY_SNI_ALLOWLIST);
    CHECK(zt_config_add_server_name(cfg, "*.example.com") == ZT_OK);
}
static void alpn_h2(zt_config *cfg)
{
    static const char *const p[] = {"h2", "http/1.1"};
    CHECK(zt_config_set_alpn(cfg, p, 2) == ZT_OK);
}
static void alpn_required(zt_config *cfg)
{
    alpn_h2(cfg);
    zt_config_set_policy(cfg, ZT_POLICY_REQUIRE_ALPN);
}
static zt_err reject_all(void *arg, zt_conn *c, const zt_client_hello *ch,
                         const zt_config **use)
{
    return ZT_E_POLICY_REJECT;
}
static void callback_rejects(zt_config *cfg)
{
    zt_config_set_client_hello_cb(cfg, reject_all, NULL);
}

static void client_hello_cases(void)
{
    edit_case("truncated ClientHello", ed_truncate, ZT_E_DECODE,
              ZT_ALERT_DECODE_ERROR);
    edit_case("trailing bytes", ed_trailing, ZT_E_DECODE,
              ZT_ALERT_DECODE_ERROR);
    edit_case("overlong extensions", ed_overlong_ext, ZT_E_DECODE,
              ZT_ALERT_DECODE_ERROR);
    edit_case("session id of 33", ed_long_session_id, ZT_E_DECODE,
              ZT_ALERT_DECODE_ERROR);
    edit_case("empty cipher_suites", ed_empty_suites, ZT_E_DECODE,
              ZT_ALERT_DECODE_ERROR);
    edit_case("odd cipher_suites", ed_odd_suites, ZT_E_DECODE,
              ZT_ALERT_DECODE_ERROR);
    edit_case("legacy_version 0x0300", ed_legacy_0300,
              ZT_E_PROTOCOL_VERSION, ZT_ALERT_PROTOCOL_VERSION);
    edit_case("legacy_version 0x0000", ed_legacy_0000,
              ZT_E_PROTOCOL_VERSION, ZT_ALERT_PROTOCOL_VERSION);
    edit_case("legacy_version 0x0301", ed_legacy_0301,
              ZT_E_PROTOCOL_VERSION, ZT_ALERT_PROTOCOL_VERSION);
    edit_case("no extensions (TLS 1.2)", ed_no_extensions,
              ZT_E_PROTOCOL_VERSION, ZT_ALERT_PROTOCOL_VERSION);
    ch_case("no supported_versions", no_versions, NULL,
            ZT_E_PROTOCOL_VERSION, ZT_ALERT_PROTOCOL_VERSION);
    ch_case("TLS 1.2 only", tls12_only, NULL, ZT_E_PROTOCOL_VERSION,
            ZT_ALERT_PROTOCOL_VERSION);
    ch_case("compression", bad_compression, NULL, ZT_E_ILLEGAL_PARAMETER,
            ZT_ALERT_ILLEGAL_PARAMETER);
    ch_case("duplicated extension", dup_versions, NULL,
            ZT_E_DUPLICATE_EXTENSION, ZT_ALERT_DECODE_ERROR);
    ch_case("pre_shared_key not last", psk_not_last, NULL,
            ZT_E_ILLEGAL_PARAMETER, ZT_ALERT_ILLEGAL_PARAMETER);
    ch_case("empty host_name", sni_empty_name, NULL, ZT_E_DECODE,
            ZT_ALERT_DECODE_ERROR);
    ch_case("host_name with control char", sni_control_char, NULL,
            ZT_E_ILLEGAL_PARAMETER, ZT_ALERT_ILLEGAL_PARAMETER);
    ch_case("empty ALPN name", alpn_empty_name, NULL, ZT_E_DECODE,
            ZT_ALERT_DECODE_ERROR);
    ch_case("empty supported_groups", groups_empty, NULL, ZT_E_DECODE,
            ZT_ALERT_DECODE_ERROR);
    ch_case("record_size_limit 63", small_record_limit, NULL,
            ZT_E_ILLEGAL_PARAMETER, ZT_ALERT_ILLEGAL_PARAMETER);
    ch_case("no signature_algorithms", no_sigalgs, NULL,
            ZT_E_MISSING_EXTENSION, ZT_ALERT_MISSING_EXTENSION);
    ch_case("key_share without supported_groups", no_groups, NULL,
            ZT_E_MISSING_EXTENSION, ZT_ALERT_MISSING_EXTENSION);
    ch_case("no shared cipher", only_chacha, NULL, ZT_E_NO_SHARED_CIPHER,
            ZT_ALERT_HANDSHAKE_FAILURE);
    ch_case("no shared group", only_p384, NULL, ZT_E_NO_SHARED_GROUP,
            ZT_ALERT_HANDSHAKE_FAILURE);
    ch_case("no shared signature", only_ecdsa_p384_sig, NULL,
            ZT_E_NO_SHARED_SIGALG, ZT_ALERT_HANDSHAKE_FAILURE);
    ch_case("x25519 share of 31 bytes", short_x25519, NULL,
            ZT_E_BAD_KEY_SHARE, ZT_ALERT_ILLEGAL_PARAMETER);
    ch_case("x25519 all-zero secret", zero_x25519, NULL, ZT_E_BAD_KEY_SHARE,
            ZT_ALERT_ILLEGAL_PARAMETER);
    ch_case("P-256 point off the curve", offcurve_p256, NULL,
            ZT_E_BAD_KEY_SHARE, ZT_ALERT_ILLEGAL_PARAMETER);
    ch_case("share for a group not offered", share_not_offered, NULL,
            ZT_E_ILLEGAL_PARAMETER, ZT_ALERT_ILLEGAL_PARAMETER);
    ch_case("two shares for one group", dup_share, NULL,
            ZT_E_ILLEGAL_PARAMETER, ZT_ALERT_ILLEGAL_PARAMETER);
    ch_case("SNI required, none sent", no_sni, require_sni, ZT_E_POLICY_SNI,
            ZT_ALERT_UNRECOGNIZED_NAME);
    ch_case("SNI not in allow-list", sni_other, allowlist, ZT_E_POLICY_SNI,
            ZT_ALERT_UNRECOGNIZED_NAME);
    ch_case("ALPN without overlap", alpn_spdy, alpn_h2, ZT_E_POLICY_ALPN,
            ZT_ALERT_NO_APPLICATION_PROTOCOL);
    ch_case("ALPN required, none sent", NULL, alpn_required,
            ZT_E_POLICY_ALPN, ZT_ALERT_NO_APPLICATION_PROTOCOL);
    ch_case("ClientHello callback refuses", NULL, callback_rejects,
            ZT_E_POLICY_REJECT, ZT_ALERT_HANDSHAKE_FAILURE);
}

/* ---- record layer, before any keys -------------------------------------- */

static void record_cases(void)
{
    static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const uint8_t ccs_first[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};
    static const uint8_t app_first[] = {0x17, 0x03, 0x03, 0x00, 0x01, 0x00};
    static const uint8_t zero_hs[] = {0x16, 0x03, 0x01, 0x00, 0x00};
    static const uint8_t alert3[] = {0x15, 0x03, 0x03, 0x00, 0x03, 2, 40, 0};
    static const uint8_t fatal[] = {0x15, 0x03, 0x03, 0x00, 0x02, 2, 40};
    static const uint8_t zero_alert[] = {0x15, 0x03, 0x03, 0x00, 0x00};
    static const uint8_t zero_ccs[] = {0x14, 0x03, 0x03, 0x00, 0x00};
    static const uint8_t zero_app[] = {0x17, 0x03, 0x03, 0x00, 0x00};
    /* msg_length 0x8000|25, CLIENT-HELLO, version 3.1, cipher_specs 3,
     * session_id 0, challenge 16 */
    static const uint8_t v2_hello[] = {
        0x80, 0x19, 0x01, 0x03, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x10,
        0x00, 0x00, 0x2f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
        0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
    static const uint8_t finished_first[] = {0x16, 0x03, 0x01, 0x00, 0x24,
                                             0x14, 0x00, 0x00, 0x20};
    static const uint8_t huge_msg[] = {0x16, 0x03, 0x01, 0x00, 0x04,
                                       0x01, 0x01, 0x11, 0x70};
    uint8_t big[5 + 16385];
    uint8_t fin[5 + 36];

    raw_case("HTTP on a TLS port", http, sizeof(http) - 1,
             ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    raw_case("CCS before ClientHello", ccs_first, sizeof(ccs_first),
             ZT_E_UNEXPECTED_CCS, ZT_ALERT_UNEXPECTED_MESSAGE);
    raw_case("application data before keys", app_first, sizeof(app_first),
             ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    raw_case("zero-length handshake record", zero_hs, sizeof(zero_hs),
             ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    raw_case("alert of 3 bytes", alert3, sizeof(alert3), ZT_E_DECODE,
             ZT_ALERT_DECODE_ERROR);
    raw_case("zero-length alert record", zero_alert, sizeof(zero_alert),
             ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    raw_case("zero-length change_cipher_spec", zero_ccs, sizeof(zero_ccs),
             ZT_E_UNEXPECTED_CCS, ZT_ALERT_UNEXPECTED_MESSAGE);
    raw_case("zero-length application data before keys", zero_app,
             sizeof(zero_app), ZT_E_UNEXPECTED_MESSAGE,
             ZT_ALERT_UNEXPECTED_MESSAGE);
    /* SSLv2-format ClientHello (RFC 8446 D.5: never for TLS 1.3;
     * RFC 6176): the first byte has the high bit set, which is no
     * content type; answered as a record we cannot parse. */
    raw_case("SSLv2-format ClientHello", v2_hello, sizeof(v2_hello),
             ZT_E_PROTOCOL_VERSION, ZT_ALERT_PROTOCOL_VERSION);
    raw_case("fatal alert received", fatal, sizeof(fatal), ZT_E_PEER_ALERT,
             ZT_ALERT_NONE);
    memset(fin, 0, sizeof(fin));
    memcpy(fin, finished_first, sizeof(finished_first));
    raw_case("Finished before ClientHello", fin, sizeof(fin),
             ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    raw_case("handshake message over the cap", huge_msg, sizeof(huge_msg),
             ZT_E_HANDSHAKE_TOO_LARGE, ZT_ALERT_DECODE_ERROR);
    memset(big, 0, sizeof(big));
    big[0] = 0x16;
    big[1] = 0x03;
    big[2] = 0x01;
    big[3] = 0x40;
    big[4] = 0x01; /* 16385 > 2^14 */
    raw_case("plaintext record of 2^14+1", big, sizeof(big),
             ZT_E_RECORD_OVERFLOW, ZT_ALERT_RECORD_OVERFLOW);
    {
        /* a partial handshake message, then an alert: interleaving */
        uint8_t il[] = {0x16, 0x03, 0x01, 0x00, 0x02, 0x01, 0x00,
                        0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00};
        raw_case("alert inside a fragmented message", il, sizeof(il),
                 ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    }
    {
        /* EOF with nothing, and EOF in the middle of a record */
        zt_config *cfg = tsrv_config(TSRV_ED25519);
        zt_conn *s = zt_conn_new(cfg);
        size_t used;
        CHECK(zt_feed(s, zero_hs, 3, &used) == ZT_OK);
        check_fail("EOF mid-record", s, zt_eof(s), ZT_E_TRUNCATED,
                   ZT_ALERT_NONE, NULL);
        zt_conn_free(s);
        zt_config_free(cfg);
    }
}

/* ---- after the ClientHello: states and proofs ---------------------------- */

typedef struct {
    zt_config *cfg;
    zt_conn *s;
    tcli t;
} pair;

static int pair_hello(pair *p, cli_fn mut)
{
    p->cfg = tsrv_config(TSRV_ED25519 | TSRV_P256);
    p->s = zt_conn_new(p->cfg);
    tcli_init(&p->t);
    if (mut)
        mut(&p->t);
    return thello(p->s, &p->t, 0);
}

static void pair_free(pair *p)
{
    tcli_free(&p->t);
    zt_conn_free(p->s);
    zt_config_free(p->cfg);
}

/* After the server flight, send `n` bytes built by the test. */
static void flight_case(const char *name, const uint8_t *rec, size_t n,
                        pair *p, zt_err err, int alert)
{
    zt_err got = tsrv_feed(p->s, rec, n, 0);
    check_fail(name, p->s, got, err, alert, &p->t);
}

static void with_session_id(tcli *t) { t->session_id_len = 32; }
static void p256_first_share_x25519(tcli *t)
{
    t->groups[0] = ZT_GROUP_SECP256R1;
    t->groups[1] = ZT_GROUP_X25519;
    t->shares[0] = ZT_GROUP_SECP256R1;
    t->n_shares = 0; /* no shares: forces a HelloRetryRequest */
}

static void state_cases(void)
{
    uint8_t rec[20000], msg[4096];
    size_t n;
    pair p;

    /* Bad Finished: decrypt_error (4.4.4) */
    CHECK(pair_hello(&p, NULL) == 0);
    n = tcli_finished(&p.t, rec, 1);
    flight_case("bad Finished", rec, n, &p, ZT_E_BAD_FINISHED,
                ZT_ALERT_DECRYPT_ERROR);
    pair_free(&p);

    /* Tag failure: bad_record_mac (5.2) */
    CHECK(pair_hello(&p, NULL) == 0);
    n = tcli_finished(&p.t, rec, 0);
    rec[n - 1] ^= 0x80;
    flight_case("tag failure", rec, n, &p, ZT_E_BAD_RECORD_MAC,
                ZT_ALERT_BAD_RECORD_MAC);
    pair_free(&p);

    /* A second ClientHello, encrypted, in WAIT_FINISHED */
    CHECK(pair_hello(&p, NULL) == 0);
    {
        tcli t2;
        tcli_init(&t2);
        n = tcli_client_hello(&t2, msg, sizeof(msg));
        n = tcli_seal(&p.t, ZT_CT_HANDSHAKE, msg, n, 0, rec);
        tcli_free(&t2);
    }
    flight_case("ClientHello in WAIT_FINISHED", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);

    /* A client Certificate nobody asked for */
    CHECK(pair_hello(&p, NULL) == 0);
    {
        uint8_t m[] = {ZT_HS_CERTIFICATE, 0, 0, 4, 0, 0, 0, 0};
        n = tcli_seal(&p.t, ZT_CT_HANDSHAKE, m, sizeof(m), 0, rec);
    }
    flight_case("unsolicited Certificate", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);

    /* KeyUpdate before the handshake completes */
    CHECK(pair_hello(&p, NULL) == 0);
    {
        uint8_t m[] = {ZT_HS_KEY_UPDATE, 0, 0, 1, 0};
        n = tcli_seal(&p.t, ZT_CT_HANDSHAKE, m, sizeof(m), 0, rec);
    }
    flight_case("KeyUpdate in the handshake", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);

    /* Application data before the client Finished */
    CHECK(pair_hello(&p, NULL) == 0);
    n = tcli_seal(&p.t, ZT_CT_APPDATA, (const uint8_t *)"x", 1, 0, rec);
    flight_case("application data before Finished", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);

    /* Padding only, no content type (5.4) */
    CHECK(pair_hello(&p, NULL) == 0);
    n = tcli_seal(&p.t, 0, NULL, 0, 10, rec);
    flight_case("all-zero inner plaintext", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);

    /* Inner content type CCS (a protected change_cipher_spec) */
    CHECK(pair_hello(&p, NULL) == 0);
    n = tcli_seal(&p.t, ZT_CT_CCS, (const uint8_t *)"\x01", 1, 0, rec);
    flight_case("protected change_cipher_spec", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);

    /* Zero-length alert, protected with the handshake key, with and
     * without padding (5.1: unexpected_message, as for handshake) */
    CHECK(pair_hello(&p, NULL) == 0);
    n = tcli_seal(&p.t, ZT_CT_ALERT, NULL, 0, 0, rec);
    flight_case("protected zero-length alert", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);
    CHECK(pair_hello(&p, NULL) == 0);
    n = tcli_seal(&p.t, ZT_CT_ALERT, NULL, 0, 7, rec);
    flight_case("protected zero-length alert, padded", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);

    /* Zero-length handshake fragment, protected */
    CHECK(pair_hello(&p, NULL) == 0);
    n = tcli_seal(&p.t, ZT_CT_HANDSHAKE, NULL, 0, 0, rec);
    flight_case("protected zero-length handshake", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);

    /* Inner plaintext of 2^14 + 2 bytes: record_overflow (5.4) */
    CHECK(pair_hello(&p, NULL) == 0);
    memset(msg, 'a', sizeof(msg));
    {
        static uint8_t body[16386];
        memset(body, 'a', sizeof(body));
        n = tcli_seal(&p.t, ZT_CT_APPDATA, body, 16385, 0, rec);
    }
    flight_case("inner plaintext over 2^14+1", rec, n, &p,
                ZT_E_RECORD_OVERFLOW, ZT_ALERT_RECORD_OVERFLOW);
    pair_free(&p);

    /* Ciphertext over 2^14 + 256 */
    CHECK(pair_hello(&p, NULL) == 0);
    memset(rec, 0, 5 + 16641);
    rec[0] = 0x17;
    rec[1] = rec[2] = 0x03;
    rec[3] = (uint8_t)(16641 >> 8);
    rec[4] = (uint8_t)(16641 & 0xff);
    flight_case("ciphertext over 2^14+256", rec, 5 + 16641, &p,
                ZT_E_RECORD_OVERFLOW, ZT_ALERT_RECORD_OVERFLOW);
    pair_free(&p);

    /* Plaintext handshake record once keys are on */
    CHECK(pair_hello(&p, NULL) == 0);
    {
        uint8_t m[] = {ZT_HS_FINISHED, 0, 0, 0};
        n = tcli_record(ZT_CT_HANDSHAKE, m, sizeof(m), rec);
    }
    flight_case("unprotected handshake after ServerHello", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);

    /* CCS records are dropped (section 5), but a stream of them is a
     * flood: ZT_MAX_EMPTY_RECORDS pass, one more does not */
    CHECK(pair_hello(&p, with_session_id) == 0);
    CHECK(p.t.saw_ccs);
    {
        uint8_t cc[6 * (ZT_MAX_EMPTY_RECORDS + 1)];
        size_t i;
        for (i = 0; i < ZT_MAX_EMPTY_RECORDS + 1; i++)
            memcpy(cc + 6 * i, "\x14\x03\x03\x00\x01\x01", 6);
        CHECK(tsrv_feed(p.s, cc, 6 * ZT_MAX_EMPTY_RECORDS, 0) == ZT_OK);
        flight_case("change_cipher_spec flood", cc, 6, &p,
                    ZT_E_TOO_MANY_EMPTY, ZT_ALERT_UNEXPECTED_MESSAGE);
    }
    pair_free(&p);

    /* Finished with a byte too many: its contents are not correct
     * (4.4.4: decrypt_error) */
    CHECK(pair_hello(&p, NULL) == 0);
    {
        uint8_t m[4 + 49] = {ZT_HS_FINISHED, 0, 0, 0};
        size_t h = zt_hash_len(p.t.suite->hash);
        m[3] = (uint8_t)(h + 1);
        n = tcli_seal(&p.t, ZT_CT_HANDSHAKE, m, 4 + h + 1, 0, rec);
    }
    flight_case("Finished of the wrong length", rec, n, &p,
                ZT_E_BAD_FINISHED, ZT_ALERT_DECRYPT_ERROR);
    pair_free(&p);

    /* CCS with a value other than 1 */
    CHECK(pair_hello(&p, NULL) == 0);
    {
        uint8_t cc[6] = {0x14, 3, 3, 0, 1, 2};
        flight_case("change_cipher_spec of 2", cc, sizeof(cc), &p,
                    ZT_E_UNEXPECTED_CCS, ZT_ALERT_UNEXPECTED_MESSAGE);
    }
    pair_free(&p);

    /* Finished coalesced with the start of another message: the Finished
     * changes the read key, so the rest may not share its record (5.1) */
    CHECK(pair_hello(&p, NULL) == 0);
    {
        uint8_t th[ZT_MAX_HASH_LEN], m[64];
        size_t h = p.t.suite ? zt_hash_len(p.t.suite->hash) : 32;
        CHECK(zt_hash_peek(p.t.th, th) == 0);
        m[0] = ZT_HS_FINISHED;
        m[1] = m[2] = 0;
        m[3] = (uint8_t)h;
        CHECK(zt_finished_mac(p.t.suite->hash, p.t.c_hs, th, m + 4) == 0);
        m[4 + h] = ZT_HS_KEY_UPDATE;
        m[5 + h] = 0;
        n = tcli_seal(&p.t, ZT_CT_HANDSHAKE, m, 4 + h + 2, 0, rec);
    }
    flight_case("message spanning a key change", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);

    /* HelloRetryRequest, then a second ClientHello that changed */
    {
        zt_config *cfg = tsrv_config(TSRV_ED25519);
        zt_conn *s = zt_conn_new(cfg);
        tcli t;
        size_t k;
        static uint8_t o[8192];
        tcli_init(&t);
        p256_first_share_x25519(&t);
        CHECK(tsrv_hello(s, &t) == ZT_OK);
        n = tsrv_drain(s, o, sizeof(o));
        CHECK(tcli_server_flight(&t, o, n) == 0);
        CHECK(t.got_hrr && t.hrr_group == ZT_GROUP_X25519);
        tcli_free(&t);
        zt_conn_free(s);

        /* a ClientHello that gets a HelloRetryRequest, with more bytes in
         * its record: no second ClientHello can exist before the HRR */
        s = zt_conn_new(cfg);
        tcli_init(&t);
        p256_first_share_x25519(&t);
        n = tcli_client_hello(&t, msg, sizeof(msg));
        msg[n] = ZT_HS_CLIENT_HELLO;
        msg[n + 1] = 0;
        k = tcli_record(ZT_CT_HANDSHAKE, msg, n + 2, rec);
        check_fail("data after a ClientHello answered by HRR", s,
                   tsrv_feed(s, rec, k, 0), ZT_E_UNEXPECTED_MESSAGE,
                   ZT_ALERT_UNEXPECTED_MESSAGE, NULL);
        tcli_free(&t);
        zt_conn_free(s);

        s = zt_conn_new(cfg);
        tcli_init(&t);
        p256_first_share_x25519(&t);
        CHECK(tsrv_hello(s, &t) == ZT_OK);
        n = tsrv_drain(s, o, sizeof(o));
        CHECK(tcli_server_flight(&t, o, n) == 0);
        t.n_suites = 1; /* changed cipher_suites */
        n = tcli_client_hello(&t, msg, sizeof(msg));
        k = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
        check_fail("second ClientHello changed", s, tsrv_feed(s, rec, k, 0),
                   ZT_E_HRR_MISMATCH, ZT_ALERT_ILLEGAL_PARAMETER, NULL);
        tcli_free(&t);
        zt_conn_free(s);

        s = zt_conn_new(cfg);
        tcli_init(&t);
        p256_first_share_x25519(&t);
        CHECK(tsrv_hello(s, &t) == ZT_OK);
        n = tsrv_drain(s, o, sizeof(o));
        CHECK(tcli_server_flight(&t, o, n) == 0);
        t.cookie[0] ^= 1; /* wrong cookie */
        n = tcli_client_hello(&t, msg, sizeof(msg));
        k = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
        check_fail("second ClientHello with a wrong cookie", s,
                   tsrv_feed(s, rec, k, 0), ZT_E_HRR_MISMATCH,
                   ZT_ALERT_ILLEGAL_PARAMETER, NULL);
        tcli_free(&t);
        zt_conn_free(s);

        s = zt_conn_new(cfg);
        tcli_init(&t);
        p256_first_share_x25519(&t);
        CHECK(tsrv_hello(s, &t) == ZT_OK);
        n = tsrv_drain(s, o, sizeof(o));
        CHECK(tcli_server_flight(&t, o, n) == 0);
        t.hrr_group = ZT_GROUP_SECP256R1; /* share for the wrong group */
        n = tcli_client_hello(&t, msg, sizeof(msg));
        k = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
        check_fail("second ClientHello with the wrong share", s,
                   tsrv_feed(s, rec, k, 0), ZT_E_HRR_MISMATCH,
                   ZT_ALERT_ILLEGAL_PARAMETER, NULL);
        tcli_free(&t);
        zt_conn_free(s);
        zt_config_free(cfg);
    }
}

/* ---- after the handshake -------------------------------------------------- */

static void connected_cases(void)
{
    uint8_t rec[256];
    size_t n;
    pair p;

    p.cfg = tsrv_config(TSRV_ED25519);
    p.s = zt_conn_new(p.cfg);
    tcli_init(&p.t);
    CHECK(thandshake(p.s, &p.t) == 0);
    {
        uint8_t m[] = {ZT_HS_KEY_UPDATE, 0, 0, 1, 2};
        n = tcli_seal(&p.t, ZT_CT_HANDSHAKE, m, sizeof(m), 0, rec);
    }
    flight_case("KeyUpdate of 2", rec, n, &p, ZT_E_ILLEGAL_PARAMETER,
                ZT_ALERT_ILLEGAL_PARAMETER);
    pair_free(&p);

    p.cfg = tsrv_config(TSRV_ED25519);
    p.s = zt_conn_new(p.cfg);
    tcli_init(&p.t);
    CHECK(thandshake(p.s, &p.t) == 0);
    {
        uint8_t m[] = {ZT_HS_KEY_UPDATE, 0, 0, 2, 0, 0};
        n = tcli_seal(&p.t, ZT_CT_HANDSHAKE, m, sizeof(m), 0, rec);
    }
    flight_case("KeyUpdate of 2 bytes", rec, n, &p, ZT_E_DECODE,
                ZT_ALERT_DECODE_ERROR);
    pair_free(&p);

    p.cfg = tsrv_config(TSRV_ED25519);
    p.s = zt_conn_new(p.cfg);
    tcli_init(&p.t);
    CHECK(thandshake(p.s, &p.t) == 0);
    {
        uint8_t cc[6] = {0x14, 3, 3, 0, 1, 1};
        flight_case("change_cipher_spec after the handshake", cc, sizeof(cc),
                    &p, ZT_E_UNEXPECTED_CCS, ZT_ALERT_UNEXPECTED_MESSAGE);
    }
    pair_free(&p);

    p.cfg = tsrv_config(TSRV_ED25519);
    p.s = zt_conn_new(p.cfg);
    tcli_init(&p.t);
    CHECK(thandshake(p.s, &p.t) == 0);
    {
        uint8_t m[4 + 32] = {ZT_HS_FINISHED, 0, 0, 32};
        n = tcli_seal(&p.t, ZT_CT_HANDSHAKE, m, sizeof(m), 0, rec);
    }
    flight_case("second Finished", rec, n, &p, ZT_E_UNEXPECTED_MESSAGE,
                ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);

    p.cfg = tsrv_config(TSRV_ED25519);
    p.s = zt_conn_new(p.cfg);
    tcli_init(&p.t);
    CHECK(thandshake(p.s, &p.t) == 0);
    {
        uint8_t m[2] = {2, ZT_ALERT_BAD_CERTIFICATE};
        n = tcli_seal(&p.t, ZT_CT_ALERT, m, sizeof(m), 0, rec);
    }
    flight_case("fatal alert after the handshake", rec, n, &p,
                ZT_E_PEER_ALERT, ZT_ALERT_NONE);
    CHECK_EQ_INT(zt_conn_alert_received(p.s), ZT_ALERT_BAD_CERTIFICATE);
    pair_free(&p);

    p.cfg = tsrv_config(TSRV_ED25519);
    p.s = zt_conn_new(p.cfg);
    tcli_init(&p.t);
    CHECK(thandshake(p.s, &p.t) == 0);
    check_fail("EOF without close_notify", p.s, zt_eof(p.s), ZT_E_TRUNCATED,
               ZT_ALERT_NONE, &p.t);
    pair_free(&p);
}

/* ---- floods: bounded repetition ------------------------------------------ */

static void connected(pair *p)
{
    p->cfg = tsrv_config(TSRV_ED25519);
    p->s = zt_conn_new(p->cfg);
    tcli_init(&p->t);
    CHECK(thandshake(p->s, &p->t) == 0);
}

/* `count` records sealed by the client with `mk`, fed at once; then one
 * byte of application data. Returns the server's verdict. */
typedef size_t (*mk_fn)(tcli *t, uint8_t *out);

static size_t mk_empty(tcli *t, uint8_t *o)
{
    return tcli_seal(t, ZT_CT_APPDATA, NULL, 0, 0, o);
}
static size_t mk_canceled(tcli *t, uint8_t *o)
{
    static const uint8_t a[2] = {1, ZT_ALERT_USER_CANCELED};
    return tcli_seal(t, ZT_CT_ALERT, a, 2, 0, o);
}
static size_t mk_key_update(tcli *t, uint8_t *o)
{
    static const uint8_t m[5] = {ZT_HS_KEY_UPDATE, 0, 0, 1, 0};
    size_t n = tcli_seal(t, ZT_CT_HANDSHAKE, m, sizeof(m), 0, o);
    tcli_update_write(t);
    return n;
}
static size_t mk_data(tcli *t, uint8_t *o)
{
    return tcli_seal(t, ZT_CT_APPDATA, (const uint8_t *)"x", 1, 0, o);
}

static zt_err flood(pair *p, mk_fn mk, int count, int then_data)
{
    static uint8_t buf[64 * 64];
    size_t n = 0;
    int i;

    for (i = 0; i < count; i++) {
        n += mk(&p->t, buf + n);
        if (n > sizeof(buf) - 64 || i == count - 1) {
            zt_err e = tsrv_feed(p->s, buf, n, 0);
            if (e != ZT_OK)
                return e;
            n = 0;
        }
    }
    if (then_data) {
        uint8_t b[4];
        n = mk_data(&p->t, buf);
        if (tsrv_feed(p->s, buf, n, 0) != ZT_OK)
            return zt_conn_error(p->s);
        CHECK(zt_read(p->s, b, sizeof(b)) == 1);
        (void)tsrv_drain(p->s, out, sizeof(out));
    }
    return zt_conn_error(p->s);
}

static void flood_case(const char *name, mk_fn mk, int limit, zt_err err)
{
    pair p;
    zt_err got;

    /* up to the limit: accepted, and the count restarts after data */
    connected(&p);
    got = flood(&p, mk, limit, 1);
    CHECK_MSG(got == ZT_OK, "%s: %d accepted: %s", name, limit,
              zt_err_str(got));
    got = flood(&p, mk, limit, 1);
    CHECK_MSG(got == ZT_OK, "%s: %d more after data: %s", name, limit,
              zt_err_str(got));
    pair_free(&p);
    /* one more: refused with unexpected_message */
    connected(&p);
    got = flood(&p, mk, limit + 1, 0);
    check_fail(name, p.s, got, err, ZT_ALERT_UNEXPECTED_MESSAGE, &p.t);
    pair_free(&p);
}

static void flood_cases(void)
{
    uint8_t rec[256];
    size_t n;
    pair p;

    flood_case("empty records", mk_empty, ZT_MAX_EMPTY_RECORDS,
               ZT_E_TOO_MANY_EMPTY);
    flood_case("user_canceled alerts", mk_canceled, ZT_MAX_WARNING_ALERTS,
               ZT_E_TOO_MANY_WARNINGS);
    flood_case("KeyUpdates", mk_key_update, ZT_MAX_KEY_UPDATES,
               ZT_E_TOO_MANY_KEY_UPDATES);

    /* zero-length alert under the application key, padded or not */
    connected(&p);
    n = tcli_seal(&p.t, ZT_CT_ALERT, NULL, 0, 0, rec);
    flight_case("zero-length alert after the handshake", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);
    connected(&p);
    n = tcli_seal(&p.t, ZT_CT_ALERT, NULL, 0, 30, rec);
    flight_case("zero-length padded alert after the handshake", rec, n, &p,
                ZT_E_UNEXPECTED_MESSAGE, ZT_ALERT_UNEXPECTED_MESSAGE);
    pair_free(&p);
}

/* ---- the ClientHello size cap (zt_config_set_max_handshake_len) ---------- */

/* A ClientHello whose unknown extension makes its body `body` bytes long,
 * fed as 2^14-byte records. */
static zt_err big_hello(zt_conn *s, size_t body)
{
    static uint8_t ext[66000], msg[70000], recs[72000];
    size_t n, base, off, k, at = 0;
    tcli t;
    zt_err e;

    tcli_init(&t);
    t.extra = ext;
    t.extra_len = 4;
    memset(ext, 0, sizeof(ext));
    ext[0] = 0xfe; /* an unknown extension, ignored (4.2) */
    ext[1] = 0xed;
    base = tcli_client_hello(&t, msg, sizeof(msg)) - 4;
    t.extra_len = 4 + (body - base);
    ext[2] = (uint8_t)((body - base) >> 8);
    ext[3] = (uint8_t)(body - base);
    tcli_free(&t);
    tcli_init(&t);
    t.extra = ext;
    t.extra_len = 4 + (body - base);
    n = tcli_client_hello(&t, msg, sizeof(msg));
    CHECK_EQ_INT(n, body + 4);
    for (off = 0; off < n; off += k) {
        k = n - off < 16384 ? n - off : 16384;
        at += tcli_record(ZT_CT_HANDSHAKE, msg + off, k, recs + at);
    }
    e = tsrv_feed(s, recs, at, 0);
    tcli_free(&t);
    return e;
}

static void size_cap_cases(void)
{
    zt_config *cfg = tsrv_config(TSRV_ED25519);
    zt_conn *s;

    CHECK(zt_config_set_max_handshake_len(cfg, 255) == ZT_E_CONFIG);
    CHECK(zt_config_set_max_handshake_len(cfg, ZT_MAX_HANDSHAKE_BODY + 1) ==
          ZT_E_CONFIG);
    /* default: 64 KiB accepted, one byte more refused */
    s = zt_conn_new(cfg);
    CHECK(big_hello(s, ZT_DEFAULT_MAX_HANDSHAKE) == ZT_OK);
    CHECK(zt_conn_state(s) & ZT_ST_HAS_OUTPUT); /* the server flight */
    zt_conn_free(s);
    s = zt_conn_new(cfg);
    check_fail("ClientHello over the default cap", s,
               big_hello(s, ZT_DEFAULT_MAX_HANDSHAKE + 1),
               ZT_E_HANDSHAKE_TOO_LARGE, ZT_ALERT_DECODE_ERROR, NULL);
    zt_conn_free(s);
    /* raised: a legal ClientHello of 65560 bytes is served */
    CHECK(zt_config_set_max_handshake_len(cfg, 131072) == ZT_OK);
    s = zt_conn_new(cfg);
    CHECK(big_hello(s, 65560) == ZT_OK);
    CHECK(zt_conn_state(s) & ZT_ST_HAS_OUTPUT);
    zt_conn_free(s);
    /* lowered: 1000 bytes is refused at once */
    CHECK(zt_config_set_max_handshake_len(cfg, 512) == ZT_OK);
    s = zt_conn_new(cfg);
    check_fail("ClientHello over a lowered cap", s, big_hello(s, 1000),
               ZT_E_HANDSHAKE_TOO_LARGE, ZT_ALERT_DECODE_ERROR, NULL);
    zt_conn_free(s);
    zt_config_free(cfg);
}

/* legacy_version above 0x0303 is tolerated (4.2.1: ignored when
 * supported_versions is present), as real stacks do */
static void legacy_high_case(void)
{
    zt_config *cfg = tsrv_config(TSRV_ED25519);
    zt_conn *s = zt_conn_new(cfg);
    uint8_t msg[4096], rec[8192];
    tcli t;
    size_t n;

    tcli_init(&t);
    n = tcli_client_hello(&t, msg, sizeof(msg));
    msg[4] = 0x04;
    msg[5] = 0x00;
    n = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
    CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
    CHECK(zt_conn_state(s) & ZT_ST_HAS_OUTPUT);
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
}

/* legacy_record_version MUST be ignored (RFC 8446 5.1): a ClientHello
 * record claiming 0x0000 or 0xffff is served like any other; the choice
 * behind the disabled BoGo test GarbageInitialRecordVersion-TLS13 */
static void record_version_case(void)
{
    static const uint16_t versions[] = {0x0000, 0x0301, 0xffff};
    zt_config *cfg = tsrv_config(TSRV_ED25519);
    uint8_t msg[4096], rec[8192];
    size_t i, n;
    tcli t;

    for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        zt_conn *s = zt_conn_new(cfg);
        tcli_init(&t);
        n = tcli_client_hello(&t, msg, sizeof(msg));
        n = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
        rec[1] = (uint8_t)(versions[i] >> 8);
        rec[2] = (uint8_t)versions[i];
        CHECK_MSG(tsrv_feed(s, rec, n, 0) == ZT_OK,
                  "record version %04x refused", versions[i]);
        CHECK(zt_conn_state(s) & ZT_ST_HAS_OUTPUT);
        tcli_free(&t);
        zt_conn_free(s);
    }
    zt_config_free(cfg);
}

void suite_negative(void)
{
    record_version_case();
    flood_cases();
    size_cap_cases();
    legacy_high_case();
    client_hello_cases();
    record_cases();
    state_cases();
    connected_cases();
}
