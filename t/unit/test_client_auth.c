/*
 * test_client_auth.c: client certificates (RFC 8446 sections 4.3.2,
 * 4.4.2.4, 4.4.3). Every mode with ECDSA, Ed25519 and RSA client keys,
 * the facts and the result getters, the chain's lifetime; and a negative
 * case for every failure, each with its exact error and its alert on the
 * wire. Certificates: t/unit/certs/client-* (make-client-certs.sh), judged
 * at fixed times through the wall clock (zt_config_set_wall_clock).
 */
#include <stdlib.h>

#include "tclient.h"
#include "test.h"

#define T_2030 1893456000    /* inside every fixture's validity */
#define T_2200 7258118400LL  /* after it */
#define T_2020 1577836800    /* before it */

static int64_t g_now = T_2030;

static uint64_t test_time(void *arg)
{
    (void)arg;
    return (uint64_t)g_now * 1000; /* the wall clock is in ms */
}

static uint8_t out[65536];

typedef struct {
    const char *chain, *key;
} ccert;

static const ccert C_P256 = {"certs/client-p256.crt", "certs/client-p256.key"};
static const ccert C_ED25519 = {"certs/client-ed25519.crt",
                                "certs/client-ed25519.key"};
static const ccert C_RSA = {"certs/client-rsa.crt", "certs/client-rsa.key"};
static const ccert C_DEEP = {"certs/client-deep-chain.crt",
                             "certs/client-deep.key"};
static const ccert C_SERVER = {"certs/client-server.crt",
                               "certs/client-server.key"};
static const ccert C_REVOKED = {"certs/client-revoked.crt",
                                "certs/client-revoked.key"};
static const ccert C_FOREIGN = {"certs/client-foreign.crt",
                                "certs/client-foreign.key"};
static const ccert C_SELF = {"certs/client-self.crt", "certs/client-self.key"};

/* A server with the P-256 credential, asking in `mode`, trusting
 * client-ca (advertised). */
static zt_config *ca_config(zt_verify_mode mode, unsigned flags)
{
    zt_config *cfg = tsrv_config(TSRV_P256);
    char err[256] = "";

    CHECK(cfg != NULL);
    CHECK(zt_config_set_verify_client(cfg, mode, flags) == ZT_OK);
    CHECK_MSG(zt_config_add_client_ca_file(cfg, "certs/client-ca.crt", 1, err,
                                           sizeof(err)) == ZT_OK,
              "%s", err);
    zt_config_set_wall_clock(cfg, test_time, NULL);
    return cfg;
}

static void add_crls(zt_config *cfg, int ca, int intermediate)
{
    char err[256] = "";

    if (ca)
        CHECK_MSG(zt_config_add_crl_file(cfg, "certs/client-ca.crl", err,
                                         sizeof(err)) == ZT_OK,
                  "%s", err);
    if (intermediate)
        CHECK_MSG(zt_config_add_crl_file(cfg, "certs/client-int.crl", err,
                                         sizeof(err)) == ZT_OK,
                  "%s", err);
}

/* The whole handshake with `cc` (NULL: an empty Certificate); returns what
 * the server said to the client's flight. */
static zt_err run(zt_config *cfg, const ccert *cc, void (*knob)(tcli *t),
                  zt_conn **sp, tcli *t)
{
    static uint8_t rec[70000];
    zt_conn *s = zt_conn_new(cfg);
    zt_err e;
    size_t n;

    tcli_init(t);
    if (cc != NULL)
        t->client_cred = tcli_load_cred(cc->chain, cc->key);
    if (knob)
        knob(t);
    *sp = s;
    if (thello(s, t, 0) != 0)
        return ZT_E_INTERNAL;
    n = tcli_finished(t, rec, 0);
    if (n == 0)
        return ZT_E_INTERNAL;
    e = tsrv_feed(s, rec, n, 0);
    return e;
}

static void done(zt_conn *s, tcli *t)
{
    tcli_free_cred(t->client_cred);
    tcli_free(t);
    zt_conn_free(s);
}

/* The server failed with err, the alert on the wire and in the getters. */
static void check_alert(const char *name, zt_conn *s, tcli *t, zt_err got,
                        zt_err err, int alert)
{
    size_t n = tsrv_drain(s, out, sizeof(out));
    int a = tsrv_alert(out, n, t);

    CHECK_MSG(got == err, "%s: got %s, want %s", name, zt_err_str(got),
              zt_err_str(err));
    CHECK_MSG(zt_conn_error(s) == err, "%s: sticky %s", name,
              zt_err_str(zt_conn_error(s)));
    CHECK_MSG(zt_err_alert(err) == alert, "%s: %s maps to %d, want %d", name,
              zt_err_str(err), zt_err_alert(err), alert);
    CHECK_MSG(a == alert, "%s: alert on the wire %d, want %s (%d)", name, a,
              zt_alert_str((uint8_t)alert), alert);
    CHECK_MSG(zt_conn_alert_sent(s) == alert, "%s: alert_sent %d", name,
              zt_conn_alert_sent(s));
}

/* ---- the happy paths ------------------------------------------------------- */

static void keys_cases(void)
{
    static const struct {
        const ccert *cc;
        const char *subject;
    } keys[] = {
        {&C_P256, "O=zigtls test,CN=client p256"},
        {&C_ED25519, "O=zigtls test,CN=client ed25519"},
        {&C_RSA, "O=zigtls test,CN=client rsa"},
    };
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        zt_config *cfg = ca_config(ZT_VERIFY_REQUIRED, 0);
        const zt_peer_info *pi;
        zt_conn *s;
        tcli t;
        zt_err e = run(cfg, keys[i].cc, NULL, &s, &t);

        CHECK_MSG(e == ZT_OK, "%s: %s", keys[i].subject, zt_err_str(e));
        CHECK(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE);
        CHECK(t.got_cr);
        CHECK_EQ_INT(t.cr_ctx_len, 0);
        /* 4.3.2: signature_algorithms; certificate_authorities names the
         * advertised CA (its DER subject contains its CN) */
        CHECK_EQ_INT(t.n_cr_sigalgs, 10);
        CHECK(t.cr_cas_len > 2 &&
              memmem(t.cr_cas, t.cr_cas_len, "zigtls client CA", 16) != NULL);
        CHECK(zt_conn_peer_requested(s));
        CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_OK);
        CHECK(zt_conn_peer_accepted(s));
        pi = zt_conn_peer_info(s);
        CHECK(pi != NULL);
        if (pi != NULL) {
            CHECK_MSG(strcmp(pi->subject, keys[i].subject) == 0, "%s",
                      pi->subject);
            CHECK_MSG(strcmp(pi->issuer,
                             "O=zigtls test,CN=zigtls client CA") == 0,
                      "%s", pi->issuer);
            CHECK_EQ_INT(pi->not_before, 1735689600); /* 2025-01-01 */
            CHECK_EQ_INT(pi->not_after, 4891363200LL); /* 2125-01-01 */
            CHECK(strlen(pi->serial) == 4); /* 100N */
        }
        /* the chain went with the handshake state */
        CHECK_EQ_INT(zt_conn_peer_chain_len(s), 0);
        done(s, &t);
        zt_config_free(cfg);
    }
}

static void modes_cases(void)
{
    zt_config *cfg;
    zt_conn *s;
    tcli t;
    zt_err e;
    size_t n, len;
    const uint8_t *der;

    /* OFF: no CertificateRequest */
    cfg = tsrv_config(TSRV_P256);
    e = run(cfg, &C_P256, NULL, &s, &t);
    CHECK(e == ZT_OK && !t.got_cr && !zt_conn_peer_requested(s));
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_NONE);
    CHECK(zt_conn_peer_info(s) == NULL);
    done(s, &t);
    zt_config_free(cfg);

    /* OPTIONAL, an empty Certificate: connected, unauthenticated */
    cfg = ca_config(ZT_VERIFY_OPTIONAL, 0);
    e = run(cfg, NULL, NULL, &s, &t);
    CHECK_MSG(e == ZT_OK, "%s", zt_err_str(e));
    CHECK(zt_conn_peer_requested(s) && !zt_conn_peer_accepted(s));
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_NONE);
    CHECK(strcmp(zt_conn_peer_verify_reason(s), "none") == 0);
    done(s, &t);
    zt_config_free(cfg);

    /* REQUIRED with DEFER: no certificate is reported, not refused
     * (nginx's 496 comes after the handshake) */
    cfg = ca_config(ZT_VERIFY_REQUIRED, ZT_VERIFY_DEFER);
    e = run(cfg, NULL, NULL, &s, &t);
    CHECK_MSG(e == ZT_OK, "%s", zt_err_str(e));
    CHECK(!zt_conn_peer_accepted(s));
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_NONE);
    done(s, &t);
    /* ... nor a foreign one (495; the reason nginx logs for it) */
    e = run(cfg, &C_FOREIGN, NULL, &s, &t);
    CHECK_MSG(e == ZT_OK, "%s", zt_err_str(e));
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_UNKNOWN_CA);
    CHECK(!zt_conn_peer_accepted(s));
    CHECK_MSG(strcmp(zt_conn_peer_verify_reason(s),
                     "unable to verify the first certificate") == 0,
              "%s", zt_conn_peer_verify_reason(s));
    CHECK(zt_conn_peer_info(s) != NULL);
    done(s, &t);
    zt_config_free(cfg);

    /* OPTIONAL_NO_CA: self-signed and foreign chains are accepted, the
     * reason stays for the embedder; an expired one is not */
    cfg = ca_config(ZT_VERIFY_OPTIONAL_NO_CA, 0);
    e = run(cfg, &C_SELF, NULL, &s, &t);
    CHECK_MSG(e == ZT_OK, "%s", zt_err_str(e));
    CHECK(zt_conn_peer_accepted(s));
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_UNKNOWN_CA);
    CHECK_MSG(strcmp(zt_conn_peer_verify_reason(s),
                     "self-signed certificate") == 0,
              "%s", zt_conn_peer_verify_reason(s));
    done(s, &t);
    e = run(cfg, &C_FOREIGN, NULL, &s, &t);
    CHECK(e == ZT_OK && zt_conn_peer_accepted(s));
    done(s, &t);
    g_now = T_2200;
    e = run(cfg, &C_SELF, NULL, &s, &t);
    check_alert("no_ca expired", s, &t, e, ZT_E_CERT_EXPIRED,
                ZT_ALERT_CERTIFICATE_EXPIRED);
    g_now = T_2030;
    done(s, &t);
    zt_config_free(cfg);

    /* an intermediate within the depth; the chain kept on request */
    cfg = ca_config(ZT_VERIFY_REQUIRED, ZT_VERIFY_KEEP_CHAIN);
    e = run(cfg, &C_DEEP, NULL, &s, &t);
    CHECK_MSG(e == ZT_OK, "%s", zt_err_str(e));
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_OK);
    n = zt_conn_peer_chain_len(s);
    CHECK_EQ_INT(n, 2);
    der = zt_conn_peer_cert(s, 0, &len);
    CHECK(der != NULL && len == t.client_cred->chain_len[0] &&
          memcmp(der, t.client_cred->chain_der[0], len) == 0);
    CHECK(zt_conn_buffer_bytes(s) > len);
    zt_conn_peer_release(s);
    CHECK_EQ_INT(zt_conn_peer_chain_len(s), 0);
    CHECK(zt_conn_peer_info(s) != NULL);
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_OK);
    done(s, &t);
    zt_config_free(cfg);

    /* CRLs: a listed certificate refused, the others fine */
    cfg = ca_config(ZT_VERIFY_REQUIRED, 0);
    add_crls(cfg, 1, 1);
    CHECK_EQ_INT(zt_config_crl_count(cfg), 2);
    CHECK_EQ_INT(zt_config_client_ca_count(cfg), 1);
    e = run(cfg, &C_P256, NULL, &s, &t);
    CHECK_MSG(e == ZT_OK, "%s", zt_err_str(e));
    done(s, &t);
    e = run(cfg, &C_DEEP, NULL, &s, &t);
    CHECK_MSG(e == ZT_OK, "%s", zt_err_str(e));
    done(s, &t);
    e = run(cfg, &C_REVOKED, NULL, &s, &t);
    check_alert("revoked", s, &t, e, ZT_E_CERT_REVOKED,
                ZT_ALERT_CERTIFICATE_REVOKED);
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_REVOKED);
    done(s, &t);
    zt_config_free(cfg);

    /* an issuer without a CRL while CRLs are checked (nginx's ssl_crl) */
    cfg = ca_config(ZT_VERIFY_REQUIRED, 0);
    add_crls(cfg, 0, 1);
    e = run(cfg, &C_P256, NULL, &s, &t);
    check_alert("crl missing", s, &t, e, ZT_E_UNKNOWN_CA,
                ZT_ALERT_UNKNOWN_CA);
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_CRL_MISSING);
    done(s, &t);
    zt_config_free(cfg);

    /* a CA trusted silently: no certificate_authorities */
    cfg = tsrv_config(TSRV_P256);
    {
        char err[256];
        CHECK(zt_config_set_verify_client(cfg, ZT_VERIFY_REQUIRED, 0) ==
              ZT_OK);
        CHECK(zt_config_add_client_ca_file(cfg, "certs/client-ca.crt", 0,
                                           err, sizeof(err)) == ZT_OK);
        zt_config_set_wall_clock(cfg, test_time, NULL);
    }
    e = run(cfg, &C_ED25519, NULL, &s, &t);
    CHECK(e == ZT_OK && t.got_cr && t.cr_cas_len == 0);
    done(s, &t);
    zt_config_free(cfg);
}

/* ---- every failure with its alert ------------------------------------------ */

static void knob_corrupt(tcli *t) { t->cv_corrupt = 1; }
static void knob_no_cv(tcli *t) { t->no_cv = 1; }
static void knob_pss_pss(tcli *t) { t->cv_scheme = 0x0809; }
static void knob_pkcs1(tcli *t) { t->cv_scheme = 0x0401; }
static void knob_ecdsa_scheme(tcli *t)
{
    t->cv_scheme = ZT_SIG_ECDSA_SECP256R1_SHA256;
}

typedef struct {
    const char *name;
    zt_verify_mode mode;
    unsigned flags;
    const ccert *cc;
    void (*knob)(tcli *t);
    int64_t now;
    unsigned depth; /* 99: default */
    zt_err err;
    int alert;
    zt_verify_result vr;
} fcase;

static void failure_cases(void)
{
    static const fcase cases[] = {
        {"no certificate when required", ZT_VERIFY_REQUIRED, 0, NULL, NULL,
         T_2030, 99, ZT_E_CERT_REQUIRED, ZT_ALERT_CERTIFICATE_REQUIRED,
         ZT_VR_NONE},
        {"wrong CA", ZT_VERIFY_REQUIRED, 0, &C_FOREIGN, NULL, T_2030, 99,
         ZT_E_UNKNOWN_CA, ZT_ALERT_UNKNOWN_CA, ZT_VR_UNKNOWN_CA},
        {"wrong CA, optional", ZT_VERIFY_OPTIONAL, 0, &C_FOREIGN, NULL,
         T_2030, 99, ZT_E_UNKNOWN_CA, ZT_ALERT_UNKNOWN_CA, ZT_VR_UNKNOWN_CA},
        {"self-signed", ZT_VERIFY_REQUIRED, 0, &C_SELF, NULL, T_2030, 99,
         ZT_E_UNKNOWN_CA, ZT_ALERT_UNKNOWN_CA, ZT_VR_UNKNOWN_CA},
        {"expired", ZT_VERIFY_REQUIRED, 0, &C_P256, NULL, T_2200, 99,
         ZT_E_CERT_EXPIRED, ZT_ALERT_CERTIFICATE_EXPIRED, ZT_VR_EXPIRED},
        {"not yet valid", ZT_VERIFY_REQUIRED, 0, &C_P256, NULL, T_2020, 99,
         ZT_E_CERT_EXPIRED, ZT_ALERT_CERTIFICATE_EXPIRED, ZT_VR_EXPIRED},
        {"serverAuth only", ZT_VERIFY_REQUIRED, 0, &C_SERVER, NULL, T_2030,
         99, ZT_E_UNSUPPORTED_CERT, ZT_ALERT_UNSUPPORTED_CERTIFICATE,
         ZT_VR_BAD_PURPOSE},
        {"deeper than the depth", ZT_VERIFY_REQUIRED, 0, &C_DEEP, NULL,
         T_2030, 0, ZT_E_CERT_UNKNOWN, ZT_ALERT_CERTIFICATE_UNKNOWN,
         ZT_VR_CHAIN_TOO_LONG},
        {"bad CertificateVerify signature", ZT_VERIFY_REQUIRED, 0, &C_P256,
         knob_corrupt, T_2030, 99, ZT_E_BAD_SIGNATURE, ZT_ALERT_DECRYPT_ERROR,
         ZT_VR_OK},
        {"bad CertificateVerify, Ed25519", ZT_VERIFY_REQUIRED, 0, &C_ED25519,
         knob_corrupt, T_2030, 99, ZT_E_BAD_SIGNATURE,
         ZT_ALERT_DECRYPT_ERROR, ZT_VR_OK},
        {"bad CertificateVerify, RSA", ZT_VERIFY_REQUIRED, 0, &C_RSA,
         knob_corrupt, T_2030, 99, ZT_E_BAD_SIGNATURE,
         ZT_ALERT_DECRYPT_ERROR, ZT_VR_OK},
        {"bad CertificateVerify under DEFER", ZT_VERIFY_REQUIRED,
         ZT_VERIFY_DEFER, &C_FOREIGN, knob_corrupt, T_2030, 99,
         ZT_E_BAD_SIGNATURE, ZT_ALERT_DECRYPT_ERROR, ZT_VR_UNKNOWN_CA},
        {"scheme we did not offer", ZT_VERIFY_REQUIRED, 0, &C_RSA,
         knob_pss_pss, T_2030, 99, ZT_E_BAD_SIGALG,
         ZT_ALERT_ILLEGAL_PARAMETER, ZT_VR_OK},
        {"PKCS#1 in CertificateVerify", ZT_VERIFY_REQUIRED, 0, &C_RSA,
         knob_pkcs1, T_2030, 99, ZT_E_BAD_SIGALG, ZT_ALERT_ILLEGAL_PARAMETER,
         ZT_VR_OK},
        {"scheme not the key's", ZT_VERIFY_REQUIRED, 0, &C_RSA,
         knob_ecdsa_scheme, T_2030, 99, ZT_E_BAD_SIGALG,
         ZT_ALERT_ILLEGAL_PARAMETER, ZT_VR_OK},
        {"CertificateVerify missing", ZT_VERIFY_REQUIRED, 0, &C_P256,
         knob_no_cv, T_2030, 99, ZT_E_UNEXPECTED_MESSAGE,
         ZT_ALERT_UNEXPECTED_MESSAGE, ZT_VR_OK},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const fcase *f = &cases[i];
        zt_config *cfg = ca_config(f->mode, f->flags);
        zt_conn *s;
        tcli t;
        zt_err e;

        if (f->depth != 99)
            CHECK(zt_config_set_verify_depth(cfg, f->depth) == ZT_OK);
        g_now = f->now;
        e = run(cfg, f->cc, f->knob, &s, &t);
        check_alert(f->name, s, &t, e, f->err, f->alert);
        CHECK_MSG(zt_conn_peer_verify(s) == f->vr, "%s: result %s", f->name,
                  zt_verify_result_str(zt_conn_peer_verify(s)));
        CHECK(!(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE));
        g_now = T_2030;
        done(s, &t);
        zt_config_free(cfg);
    }
}

/* ---- hand-made client flights: order and framing ----------------------------- */

enum {
    F_FINISHED_ONLY,     /* Finished without a Certificate */
    F_CV_FIRST,          /* CertificateVerify before the Certificate */
    F_CERT_TWICE,
    F_EMPTY_THEN_CV,     /* empty Certificate, then a CertificateVerify */
    F_CONTEXT,           /* a certificate_request_context we never sent */
    F_EXTENSION,         /* an extension in the CertificateEntry */
    F_TRUNCATED,         /* certificate_list longer than the message */
    F_TRAILING,          /* a byte after certificate_list */
    F_EMPTY_ENTRY,       /* cert_data<1..2^24-1> of length 0 */
    F_GARBAGE_DER,       /* not a certificate */
    F_TOO_MANY,          /* more entries than we take */
    F_CV_TRAILING,       /* a byte after the signature */
    F_SPLIT,             /* the flight one byte per record: fine */
    F__COUNT
};

/* Certificate message for the loaded credential, with `n_entries` copies
 * of the leaf and the given context and extension. */
static size_t cert_msg(tcli *t, uint8_t *m, size_t cap, size_t ctx_len,
                       int ext, size_t n_entries, int garbage)
{
    const zt_cred *cr = t->client_cred;
    zt_wr w = zt_wr_make(m, cap);
    size_t list, i;

    zt_wr_u8(&w, ZT_HS_CERTIFICATE);
    zt_wr_u24(&w, 0);
    zt_wr_u8(&w, (unsigned)ctx_len);
    for (i = 0; i < ctx_len; i++)
        zt_wr_u8(&w, 0x42);
    list = zt_wr_open(&w, 3);
    for (i = 0; i < n_entries; i++) {
        if (garbage) {
            uint8_t junk[64];
            memset(junk, 0x30, sizeof(junk));
            zt_wr_u24(&w, sizeof(junk));
            zt_wr_bytes(&w, junk, sizeof(junk));
        } else {
            zt_wr_u24(&w, (uint32_t)cr->chain_len[0]);
            zt_wr_bytes(&w, cr->chain_der[0], cr->chain_len[0]);
        }
        if (ext) {
            zt_wr_u16(&w, 6);
            zt_wr_u16(&w, ZT_EXT_SIGNATURE_ALGORITHMS_CERT);
            zt_wr_u16(&w, 2);
            zt_wr_u16(&w, 0);
        } else {
            zt_wr_u16(&w, 0);
        }
    }
    zt_wr_close(&w, list, 3);
    if (w.err)
        return 0;
    m[1] = (uint8_t)((w.len - 4) >> 16);
    m[2] = (uint8_t)((w.len - 4) >> 8);
    m[3] = (uint8_t)(w.len - 4);
    return zt_hash_update(t->th, m, w.len) ? 0 : w.len;
}

static void flight_cases(void)
{
    static const struct {
        const char *name;
        zt_err err;
        int alert;
    } want[F__COUNT] = {
        [F_FINISHED_ONLY] = {"Finished without Certificate",
                             ZT_E_UNEXPECTED_MESSAGE,
                             ZT_ALERT_UNEXPECTED_MESSAGE},
        [F_CV_FIRST] = {"CertificateVerify first", ZT_E_UNEXPECTED_MESSAGE,
                        ZT_ALERT_UNEXPECTED_MESSAGE},
        [F_CERT_TWICE] = {"Certificate twice", ZT_E_UNEXPECTED_MESSAGE,
                          ZT_ALERT_UNEXPECTED_MESSAGE},
        [F_EMPTY_THEN_CV] = {"CertificateVerify after an empty Certificate",
                             ZT_E_UNEXPECTED_MESSAGE,
                             ZT_ALERT_UNEXPECTED_MESSAGE},
        [F_CONTEXT] = {"certificate_request_context not ours",
                       ZT_E_ILLEGAL_PARAMETER, ZT_ALERT_ILLEGAL_PARAMETER},
        [F_EXTENSION] = {"extension not requested",
                         ZT_E_UNSUPPORTED_EXTENSION,
                         ZT_ALERT_UNSUPPORTED_EXTENSION},
        [F_TRUNCATED] = {"certificate_list truncated", ZT_E_DECODE,
                         ZT_ALERT_DECODE_ERROR},
        [F_TRAILING] = {"bytes after certificate_list", ZT_E_DECODE,
                        ZT_ALERT_DECODE_ERROR},
        [F_EMPTY_ENTRY] = {"empty cert_data", ZT_E_DECODE,
                           ZT_ALERT_DECODE_ERROR},
        [F_GARBAGE_DER] = {"not a certificate", ZT_E_BAD_CERTIFICATE,
                           ZT_ALERT_BAD_CERTIFICATE},
        [F_TOO_MANY] = {"too many certificates", ZT_E_BAD_CERTIFICATE,
                        ZT_ALERT_BAD_CERTIFICATE},
        [F_CV_TRAILING] = {"bytes after the signature", ZT_E_DECODE,
                           ZT_ALERT_DECODE_ERROR},
        [F_SPLIT] = {"one byte per record", ZT_OK, ZT_ALERT_NONE},
    };
    static uint8_t msgs[70000], rec[200000];
    int f;

    for (f = 0; f < F__COUNT; f++) {
        zt_config *cfg = ca_config(ZT_VERIFY_OPTIONAL, 0);
        zt_conn *s = zt_conn_new(cfg);
        tcli t;
        size_t n = 0, k;
        zt_err e;

        tcli_init(&t);
        t.client_cred = tcli_load_cred(C_P256.chain, C_P256.key);
        CHECK(thello(s, &t, 0) == 0);
        switch (f) {
        case F_FINISHED_ONLY:
            break;
        case F_CV_FIRST:
            n += tcli_cert_verify_msg(&t, msgs, sizeof(msgs));
            break;
        case F_CERT_TWICE:
            n += tcli_certificate_msg(&t, msgs, sizeof(msgs));
            n += tcli_certificate_msg(&t, msgs + n, sizeof(msgs) - n);
            break;
        case F_EMPTY_THEN_CV: {
            zt_cred *keep = t.client_cred;
            t.client_cred = NULL;
            n += tcli_certificate_msg(&t, msgs, sizeof(msgs));
            t.client_cred = keep;
            n += tcli_cert_verify_msg(&t, msgs + n, sizeof(msgs) - n);
            break;
        }
        case F_CONTEXT:
            n += cert_msg(&t, msgs, sizeof(msgs), 3, 0, 1, 0);
            break;
        case F_EXTENSION:
            n += cert_msg(&t, msgs, sizeof(msgs), 0, 1, 1, 0);
            break;
        case F_TRUNCATED:
            n += cert_msg(&t, msgs, sizeof(msgs), 0, 0, 1, 0);
            msgs[6] += 1; /* list length (u24 at 5..7) one more */
            break;
        case F_TRAILING:
            n += cert_msg(&t, msgs, sizeof(msgs), 0, 0, 1, 0);
            msgs[n++] = 0;
            k = n - 4;
            msgs[1] = (uint8_t)(k >> 16);
            msgs[2] = (uint8_t)(k >> 8);
            msgs[3] = (uint8_t)k;
            break;
        case F_EMPTY_ENTRY:
            /* ctx 0, list {cert_data<0>, extensions<0>} */
            msgs[0] = ZT_HS_CERTIFICATE;
            msgs[1] = msgs[2] = 0;
            msgs[3] = 9;
            msgs[4] = 0;
            msgs[5] = msgs[6] = 0;
            msgs[7] = 5;
            msgs[8] = msgs[9] = msgs[10] = 0;
            msgs[11] = msgs[12] = 0;
            n = 13;
            break;
        case F_GARBAGE_DER:
            n += cert_msg(&t, msgs, sizeof(msgs), 0, 0, 1, 1);
            break;
        case F_TOO_MANY:
            n += cert_msg(&t, msgs, sizeof(msgs), 0, 0, ZT_MAX_PEER_CHAIN + 1,
                          0);
            break;
        case F_CV_TRAILING:
            n += tcli_certificate_msg(&t, msgs, sizeof(msgs));
            k = tcli_cert_verify_msg(&t, msgs + n, sizeof(msgs) - n);
            msgs[n + k] = 0;
            msgs[n + 3] += 1;
            n += k + 1;
            break;
        case F_SPLIT:
            n += tcli_certificate_msg(&t, msgs, sizeof(msgs));
            n += tcli_cert_verify_msg(&t, msgs + n, sizeof(msgs) - n);
            break;
        }
        n += tcli_finished_msg(&t, msgs + n, 0);
        if (f == F_SPLIT) {
            size_t off, r = 0;
            for (off = 0; off < n; off++)
                r += tcli_seal(&t, ZT_CT_HANDSHAKE, msgs + off, 1, 0,
                               rec + r);
            e = tsrv_feed(s, rec, r, 0);
            CHECK_MSG(e == ZT_OK, "%s: %s", want[f].name, zt_err_str(e));
            CHECK(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE);
            CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_OK);
        } else {
            k = tcli_seal_flight(&t, msgs, n, rec);
            e = tsrv_feed(s, rec, k, 0);
            check_alert(want[f].name, s, &t, e, want[f].err, want[f].alert);
        }
        done(s, &t);
        zt_config_free(cfg);
    }
}

/* ---- resumption: tickets carry the client (RFC 8446 4.6.1, 2.2) ------------ */

static zt_ticket_keys *ring;

/* a server as ca_config (or without client certificates), with tickets */
static zt_config *tk_config(zt_verify_mode mode, unsigned flags)
{
    zt_config *cfg;

    if (mode == ZT_VERIFY_OFF) {
        cfg = tsrv_config(TSRV_P256);
        zt_config_set_wall_clock(cfg, test_time, NULL);
    } else {
        cfg = ca_config(mode, flags);
    }
    zt_config_set_ticket_keys(cfg, ring);
    return cfg;
}

/* psk_key_exchange_modes: tickets are sent only to a client that can use
 * them (4.2.9) */
static void knob_psk(tcli *t) { t->psk_modes = ZT_PSK_MODE_DHE_KE; }

/* A full handshake that leaves its tickets in t. */
static void tk_full(zt_config *cfg, const ccert *cc, tcli *t)
{
    zt_conn *s;
    zt_err e = run(cfg, cc, knob_psk, &s, t);
    size_t n;

    CHECK_MSG(e == ZT_OK, "full handshake: %s", zt_err_str(e));
    n = tsrv_drain(s, out, sizeof(out));
    CHECK(tcli_read_tickets(t, out, n) >= 1);
    tcli_free_cred(t->client_cred);
    t->client_cred = NULL;
    zt_conn_free(s);
}

/* Offer from's ticket 0 (and cc's certificate should a CertificateRequest
 * come); the server's answer to the client's second flight. */
static zt_err tk_resume(zt_config *cfg, const tcli *from, const ccert *cc,
                        zt_conn **sp, tcli *t)
{
    static uint8_t rec[70000];
    zt_conn *s = zt_conn_new(cfg);
    size_t n;

    tcli_init(t);
    tcli_resume(t, from, 0, 1000);
    if (cc != NULL)
        t->client_cred = tcli_load_cred(cc->chain, cc->key);
    *sp = s;
    if (thello(s, t, 0) != 0)
        return ZT_E_INTERNAL;
    n = tcli_finished(t, rec, 0);
    return n ? tsrv_feed(s, rec, n, 0) : ZT_E_INTERNAL;
}

static void resumption_cases(void)
{
    static const uint8_t key[ZT_TICKET_KEY_LONG] = {1, 2, 3};
    zt_config *cfg, *other;
    const zt_peer_info *pi;
    zt_peer_info was;
    char subject[256];
    tcli t1, t2;
    zt_conn *s;
    size_t len;
    const uint8_t *der;
    zt_err e;

    ring = zt_ticket_keys_new();
    CHECK(ring != NULL && zt_ticket_keys_add(ring, key, sizeof(key)) == ZT_OK);

    /* resumption keeps the client's identity and result, without a
     * CertificateRequest (4.3.2); the leaf too with KEEP_CHAIN */
    cfg = tk_config(ZT_VERIFY_REQUIRED, ZT_VERIFY_KEEP_CHAIN);
    {
        zt_conn *s0;
        e = run(cfg, &C_P256, knob_psk, &s0, &t1);
        CHECK(e == ZT_OK && zt_conn_peer_info(s0) != NULL);
        if (zt_conn_peer_info(s0) != NULL) {
            was = *zt_conn_peer_info(s0);
            snprintf(subject, sizeof(subject), "%s", was.subject);
        }
        len = tsrv_drain(s0, out, sizeof(out));
        CHECK(tcli_read_tickets(&t1, out, len) >= 1);
        tcli_free_cred(t1.client_cred);
        t1.client_cred = NULL;
        zt_conn_free(s0);
    }
    e = tk_resume(cfg, &t1, NULL, &s, &t2);
    CHECK_MSG(e == ZT_OK, "resume: %s", zt_err_str(e));
    CHECK(zt_conn_resumed(s) && !t2.got_cr && !zt_conn_peer_requested(s));
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_OK);
    CHECK(zt_conn_peer_accepted(s));
    pi = zt_conn_peer_info(s);
    CHECK(pi != NULL);
    if (pi != NULL) {
        CHECK_MSG(strcmp(pi->subject, subject) == 0, "%s", pi->subject);
        CHECK(strcmp(pi->issuer, "O=zigtls test,CN=zigtls client CA") == 0);
        CHECK_MEM(pi->sha256, 32, was.sha256, 32);
        CHECK_MEM(pi->sha1, 20, was.sha1, 20);
        CHECK_EQ_INT(pi->not_after, was.not_after);
    }
    der = zt_conn_peer_cert(s, 0, &len);
    CHECK(der != NULL && zt_conn_peer_chain_len(s) == 1);
    /* and tickets issued on the resumed connection carry it on */
    len = tsrv_drain(s, out, sizeof(out));
    CHECK(tcli_read_tickets(&t2, out, len) >= 1);
    zt_conn_free(s);
    {
        tcli t3;
        e = tk_resume(cfg, &t2, NULL, &s, &t3);
        CHECK(e == ZT_OK && zt_conn_resumed(s));
        CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_OK);
        CHECK(zt_conn_peer_info(s) != NULL &&
              strcmp(zt_conn_peer_info(s)->subject, subject) == 0);
        done(s, &t3);
    }
    tcli_free(&t2);

    /* the same policy elsewhere with one more CRL: a full handshake */
    other = tk_config(ZT_VERIFY_REQUIRED, ZT_VERIFY_KEEP_CHAIN);
    add_crls(other, 1, 1);
    e = tk_resume(other, &t1, &C_P256, &s, &t2);
    CHECK_MSG(e == ZT_OK, "%s", zt_err_str(e));
    CHECK(!zt_conn_resumed(s) && t2.got_cr);
    CHECK_EQ_INT(zt_conn_psk_result(s), ZT_PSK_WRONG_SERVER);
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_OK);
    done(s, &t2);
    zt_config_free(other);
    /* ... or without client certificates */
    other = tk_config(ZT_VERIFY_OFF, 0);
    e = tk_resume(other, &t1, NULL, &s, &t2);
    CHECK(e == ZT_OK && !zt_conn_resumed(s));
    CHECK_EQ_INT(zt_conn_psk_result(s), ZT_PSK_WRONG_SERVER);
    done(s, &t2);
    zt_config_free(other);
    tcli_free(&t1);

    /* a ticket issued without client authentication never resumes where a
     * certificate is required: the full handshake asks for one */
    other = tk_config(ZT_VERIFY_OFF, 0);
    tk_full(other, NULL, &t1);
    e = tk_resume(cfg, &t1, NULL, &s, &t2);
    check_alert("ticket without client auth", s, &t2, e, ZT_E_CERT_REQUIRED,
                ZT_ALERT_CERTIFICATE_REQUIRED);
    CHECK(!zt_conn_resumed(s) && t2.got_cr);
    CHECK_EQ_INT(zt_conn_psk_result(s), ZT_PSK_WRONG_SERVER);
    done(s, &t2);
    tcli_free(&t1);
    zt_config_free(other);
    /* nor one of an optional server that got no certificate */
    other = tk_config(ZT_VERIFY_OPTIONAL, 0);
    tk_full(other, NULL, &t1);
    e = tk_resume(cfg, &t1, NULL, &s, &t2);
    check_alert("ticket of optional, none", s, &t2, e, ZT_E_CERT_REQUIRED,
                ZT_ALERT_CERTIFICATE_REQUIRED);
    CHECK_EQ_INT(zt_conn_psk_result(s), ZT_PSK_WRONG_SERVER);
    done(s, &t2);
    tcli_free(&t1);
    /* that optional server resumes its own ticket, still without one */
    tk_full(other, NULL, &t1);
    e = tk_resume(other, &t1, NULL, &s, &t2);
    CHECK(e == ZT_OK && zt_conn_resumed(s));
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_NONE);
    CHECK(zt_conn_peer_info(s) == NULL);
    done(s, &t2);
    tcli_free(&t1);
    zt_config_free(other);

    /* a certificate that expired since the ticket was issued: no resumption,
     * and the full handshake refuses it */
    g_now = 4891363200LL - 60; /* one minute before its notAfter */
    tk_full(cfg, &C_P256, &t1);
    g_now = 4891363200LL + 60;
    e = tk_resume(cfg, &t1, &C_P256, &s, &t2);
    check_alert("expired since", s, &t2, e, ZT_E_CERT_EXPIRED,
                ZT_ALERT_CERTIFICATE_EXPIRED);
    CHECK_EQ_INT(zt_conn_psk_result(s), ZT_PSK_EXPIRED);
    g_now = T_2030;
    done(s, &t2);
    tcli_free(&t1);
    zt_config_free(cfg);

    /* DEFER: the failed verification resumes as failed (nginx answers 495
     * again) */
    cfg = tk_config(ZT_VERIFY_REQUIRED, ZT_VERIFY_DEFER);
    tk_full(cfg, &C_FOREIGN, &t1);
    e = tk_resume(cfg, &t1, NULL, &s, &t2);
    CHECK(e == ZT_OK && zt_conn_resumed(s));
    CHECK_EQ_INT(zt_conn_peer_verify(s), ZT_VR_UNKNOWN_CA);
    CHECK(!zt_conn_peer_accepted(s));
    CHECK_MSG(strcmp(zt_conn_peer_verify_reason(s),
                     "unable to verify the first certificate") == 0,
              "%s", zt_conn_peer_verify_reason(s));
    CHECK_EQ_INT(zt_conn_peer_chain_len(s), 0); /* no KEEP_CHAIN */
    done(s, &t2);
    tcli_free(&t1);
    zt_config_free(cfg);
    zt_ticket_keys_free(ring);
}

/* ---- configuration errors ----------------------------------------------------- */

static void config_cases(void)
{
    zt_config *cfg = zt_config_new();
    char err[256];

    CHECK(zt_config_set_verify_client(cfg, (zt_verify_mode)9, 0) ==
          ZT_E_CONFIG);
    CHECK(zt_config_set_verify_client(cfg, ZT_VERIFY_OPTIONAL, 0x80) ==
          ZT_E_CONFIG);
    CHECK(zt_config_set_verify_depth(cfg, 33) == ZT_E_CONFIG);
    err[0] = '\0';
    CHECK(zt_config_add_client_ca_file(cfg, "certs/nonexistent.crt", 1, err,
                                       sizeof(err)) == ZT_E_CONFIG);
    CHECK_MSG(strstr(err, "cannot open") != NULL, "%s", err);
    CHECK(zt_config_add_client_ca_file(cfg, "certs/client-p256.key", 1, err,
                                       sizeof(err)) == ZT_E_CONFIG);
    CHECK_MSG(strstr(err, "no certificate") != NULL, "%s", err);
    CHECK(zt_config_add_crl_file(cfg, "certs/client-ca.crt", err,
                                 sizeof(err)) == ZT_E_CONFIG);
    CHECK_MSG(strstr(err, "no CRL") != NULL, "%s", err);
    {
        static const char bad[] = "-----BEGIN CERTIFICATE-----\n"
                                  "MIIBIjANBgkqhkiG9w0BAQEFAAOC\n"
                                  "-----END CERTIFICATE-----\n";
        CHECK(zt_config_add_client_ca_mem(cfg, bad, sizeof(bad) - 1, 1, err,
                                          sizeof(err)) == ZT_E_CONFIG);
        CHECK_MSG(strstr(err, "cannot parse") != NULL, "%s", err);
    }
    CHECK_EQ_INT(zt_config_client_ca_count(cfg), 0);
    /* the same CA twice is named once */
    CHECK(zt_config_add_client_ca_file(cfg, "certs/client-ca.crt", 1, err,
                                       sizeof(err)) == ZT_OK);
    CHECK(zt_config_add_client_ca_file(cfg, "certs/client-ca.crt", 1, err,
                                       sizeof(err)) == ZT_OK);
    {
        size_t len, one;
        const uint8_t *p = zt_trust_names(cfg->trust, &len);
        CHECK(p != NULL);
        one = p ? ((size_t)p[0] << 8 | p[1]) + 2 : 0;
        CHECK_EQ_INT(len, one);
    }
    zt_config_free(cfg);
}

void suite_client_auth(void)
{
    keys_cases();
    modes_cases();
    failure_cases();
    flight_cases();
    resumption_cases();
    config_cases();
}
