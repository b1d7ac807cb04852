/*
 * test_certcomp.c: certificate compression (RFC 8879, src/compress.c).
 * The client (t/unit/tclient.c) decompresses what it gets with zlib or
 * brotli's decoder, checks the length the server announced, and goes on
 * with the handshake: CertificateVerify and Finished verify only if the
 * CompressedCertificate was put in the transcript as sent.
 */
#include <stdlib.h>

#include "tclient.h"
#include "test.h"

static uint8_t ext[64];

/* compress_certificate with these algorithms; a raw length byte when
 * `bad` (0: well-formed) */
static void offer(tcli *t, const uint16_t *algs, size_t n, int bad)
{
    zt_wr w = zt_wr_make(ext, sizeof(ext));
    size_t at, l;

    zt_wr_u16(&w, ZT_EXT_COMPRESS_CERTIFICATE);
    at = zt_wr_open(&w, 2);
    l = zt_wr_open(&w, 1);
    for (size_t i = 0; i < n; i++)
        zt_wr_u16(&w, algs[i]);
    zt_wr_close(&w, l, 1);
    if (bad == 1)
        w.buf[l] = (uint8_t)(w.buf[l] + 1); /* length past the end */
    if (bad == 2)
        zt_wr_u8(&w, 0); /* trailing byte */
    zt_wr_close(&w, at, 2);
    t->extra = ext;
    t->extra_len = w.len;
}

/* One handshake offering `algs`; returns the algorithm the client got
 * (0: plain Certificate), -1 if the handshake failed. The certificate
 * body the client ended with goes to body/len. */
static int shake(zt_config *cfg, const uint16_t *algs, size_t n,
                 uint8_t *body, size_t *len, size_t *saved)
{
    zt_conn *s = zt_conn_new(cfg);
    tcli t;
    int rc;

    tcli_init(&t);
    if (n)
        offer(&t, algs, n, 0);
    rc = thandshake(s, &t) == 0 ? t.cert_comp_alg : -1;
    if (rc < 0)
        fprintf(stderr, "server: %s\n", zt_err_str(zt_conn_error(s)));
    if (rc >= 0) {
        CHECK_EQ_INT(zt_conn_cert_compression(s, saved), t.cert_comp_alg);
        if (t.cert_comp_alg) {
            /* what the wire says: the plain body against alg, two
             * lengths and the compressed bytes */
            CHECK_EQ_INT(*saved, t.cert_comp_raw - t.cert_comp_len - 8);
            CHECK(t.cert_comp_len < t.cert_comp_raw);
        }
    }
    memcpy(body, t.cert_body, t.cert_body_len);
    *len = t.cert_body_len;
    tcli_free(&t);
    zt_conn_free(s);
    return rc;
}

static void negotiation(void)
{
    static const uint16_t br[] = {ZT_CERT_COMP_BROTLI},
                          zl[] = {ZT_CERT_COMP_ZLIB},
                          zs[] = {3 /* zstd */},
                          both[] = {ZT_CERT_COMP_ZLIB, ZT_CERT_COMP_BROTLI},
                          pref[] = {ZT_CERT_COMP_BROTLI, ZT_CERT_COMP_ZLIB},
                          unknown[] = {0x1234, 0xfafa, ZT_CERT_COMP_ZLIB};
    zt_config *cfg = tsrv_config(TSRV_P256 | TSRV_RSA);
    uint8_t plain[8192], got[8192];
    size_t plain_len, got_len, saved, i;

    /* off by default: an offer changes nothing */
    CHECK_EQ_INT(shake(cfg, br, 1, plain, &plain_len, &saved), 0);
    CHECK_EQ_INT(saved, 0);
    CHECK(plain_len > 300);
    CHECK_EQ_INT(zt_config_credential_cert_len(cfg, 0, ZT_CERT_COMP_BROTLI),
                 0);

    /* set after the credentials were added: compressed now, for each */
    CHECK(zt_config_set_cert_compression(cfg, pref, 2) == ZT_OK);
    for (i = 0; i < 2; i++) {
        size_t raw = zt_config_credential_cert_len(cfg, i, 0);
        size_t b = zt_config_credential_cert_len(cfg, i, ZT_CERT_COMP_BROTLI);
        size_t z = zt_config_credential_cert_len(cfg, i, ZT_CERT_COMP_ZLIB);
        CHECK(raw > 300 && b > 0 && z > 0 && b < raw && z < raw);
        CHECK_EQ_INT(zt_config_credential_cert_len(cfg, i, 3), 0);
    }
    CHECK_EQ_INT(zt_config_credential_cert_len(cfg, 0, 0), plain_len);

    /* brotli offered: sent compressed, decompresses to the plain body,
     * and the handshake verifies end to end */
    CHECK_EQ_INT(shake(cfg, br, 1, got, &got_len, &saved), ZT_CERT_COMP_BROTLI);
    CHECK_MEM(got, got_len, plain, plain_len);
    CHECK(saved > 0);
    CHECK_EQ_INT(shake(cfg, zl, 1, got, &got_len, &saved), ZT_CERT_COMP_ZLIB);
    CHECK_MEM(got, got_len, plain, plain_len);
    /* our preference among those offered, whatever the client's order */
    CHECK_EQ_INT(shake(cfg, both, 2, got, &got_len, &saved),
                 ZT_CERT_COMP_BROTLI);
    /* unknown and GREASE code points are ignored */
    CHECK_EQ_INT(shake(cfg, unknown, 3, got, &got_len, &saved),
                 ZT_CERT_COMP_ZLIB);
    /* zstd only, or nothing offered: the plain Certificate */
    CHECK_EQ_INT(shake(cfg, zs, 1, got, &got_len, &saved), 0);
    CHECK_MEM(got, got_len, plain, plain_len);
    CHECK_EQ_INT(shake(cfg, NULL, 0, got, &got_len, &saved), 0);

    /* zlib preferred by the server */
    CHECK(zt_config_set_cert_compression(cfg, both, 2) == ZT_OK);
    CHECK_EQ_INT(shake(cfg, pref, 2, got, &got_len, &saved),
                 ZT_CERT_COMP_ZLIB);
    /* turned off again: nothing kept, nothing sent */
    CHECK(zt_config_set_cert_compression(cfg, NULL, 0) == ZT_OK);
    CHECK_EQ_INT(zt_config_credential_cert_len(cfg, 0, ZT_CERT_COMP_ZLIB), 0);
    CHECK_EQ_INT(shake(cfg, both, 2, got, &got_len, &saved), 0);
    zt_config_free(cfg);

    /* set before the credentials: each is compressed as it is added */
    cfg = zt_config_new();
    CHECK(zt_config_set_cert_compression(cfg, br, 1) == ZT_OK);
    CHECK(zt_config_add_credential_file(cfg, "certs/chain.crt",
                                        "certs/leaf.key", NULL,
                                        0) == ZT_OK);
    CHECK(zt_config_credential_cert_len(cfg, 0, ZT_CERT_COMP_BROTLI) > 0);
    CHECK_EQ_INT(shake(cfg, br, 1, got, &got_len, &saved),
                 ZT_CERT_COMP_BROTLI);
    zt_config_free(cfg);
}

static void bad_config(void)
{
    static const uint16_t zstd[] = {3}, dup[] = {1, 1}, three[] = {1, 2, 1};
    zt_config *cfg = zt_config_new();

    CHECK(zt_config_set_cert_compression(cfg, zstd, 1) == ZT_E_CONFIG);
    CHECK(zt_config_set_cert_compression(cfg, dup, 2) == ZT_E_CONFIG);
    CHECK(zt_config_set_cert_compression(cfg, three, 3) == ZT_E_CONFIG);
    zt_config_free(cfg);
}

/* A malformed extension is decode_error (RFC 8446 section 6.2 rules for
 * a vector that does not parse; RFC 8879 section 3 gives the bounds). */
static void bad_extension(void)
{
    static const uint16_t one[] = {ZT_CERT_COMP_BROTLI};
    static uint8_t out[1 << 16];
    zt_config *cfg = tsrv_config(TSRV_P256);
    int bad;

    for (bad = 0; bad < 4; bad++) {
        zt_conn *s = zt_conn_new(cfg);
        tcli t;
        size_t n;
        zt_err e;

        tcli_init(&t);
        offer(&t, one, bad == 3 ? 0 : 1, bad == 3 ? 0 : bad);
        e = tsrv_hello(s, &t);
        n = tsrv_drain(s, out, sizeof(out));
        if (bad == 0) {
            CHECK(e == ZT_OK);
        } else {
            /* 1: length past the end, 2: trailing byte, 3: empty list */
            CHECK_MSG(e == ZT_E_DECODE, "case %d: %s", bad, zt_err_str(e));
            CHECK_EQ_INT(tsrv_alert(out, n, NULL), ZT_ALERT_DECODE_ERROR);
        }
        tcli_free(&t);
        zt_conn_free(s);
    }
    zt_config_free(cfg);
}

/* After a HelloRetryRequest the second ClientHello must offer the same
 * algorithms (it is not among the extensions that may change, 4.1.2). */
static void after_hrr(void)
{
    static const uint16_t br[] = {ZT_CERT_COMP_BROTLI};
    static const uint16_t x25519[] = {ZT_GROUP_X25519};
    static uint8_t out[1 << 16];
    zt_config *cfg = tsrv_config(TSRV_P256);
    zt_conn *s;
    tcli t;
    zt_err e;

    CHECK(zt_config_set_cert_compression(cfg, br, 1) == ZT_OK);
    CHECK(zt_config_set_groups(cfg, x25519, 1) == ZT_OK);
    s = zt_conn_new(cfg);
    tcli_init(&t);
    t.shares[0] = ZT_GROUP_SECP256R1; /* the server takes x25519: HRR */
    t.groups[0] = ZT_GROUP_X25519;
    t.groups[1] = ZT_GROUP_SECP256R1;
    offer(&t, br, 1, 0);
    CHECK(thandshake(s, &t) == 0);
    CHECK(t.got_hrr);
    CHECK_EQ_INT(t.cert_comp_alg, ZT_CERT_COMP_BROTLI);
    tcli_free(&t);
    zt_conn_free(s);

    /* the second hello drops the offer: refused */
    s = zt_conn_new(cfg);
    tcli_init(&t);
    t.shares[0] = ZT_GROUP_SECP256R1;
    offer(&t, br, 1, 0);
    e = tsrv_hello(s, &t);
    CHECK_MSG(e == ZT_OK, "%s", zt_err_str(e));
    CHECK(tcli_server_flight(&t, out, tsrv_drain(s, out, sizeof(out))) == 0);
    CHECK(t.got_hrr);
    t.extra = NULL;
    t.extra_len = 0;
    CHECK(tsrv_hello(s, &t) == ZT_E_HRR_MISMATCH);
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
}

void suite_certcomp(void)
{
    negotiation();
    bad_config();
    bad_extension();
    after_hrr();
}
