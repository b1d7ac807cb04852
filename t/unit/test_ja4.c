/*
 * test_ja4.c: JA4 fingerprints (src/ja4.c) against published examples.
 *
 * The vectors are fingerprints published with the JA4 specification
 * (FoxIO's technical_details/JA4.md and the reference implementation's
 * expected outputs for its sample captures) and one of a current Chrome
 * published with its raw form. From each published JA4_ro (every value in
 * the order sent) the test writes a ClientHello that says exactly that,
 * with GREASE values added where browsers put them (first suite, first
 * and last extension, a supported version, a signature algorithm), and
 * checks that all four forms come out as published.
 */
#include <stdlib.h>

#include "tclient.h"
#include "test.h"

typedef struct ja4_vec {
    const char *what;
    const char *alpn; /* first ALPN protocol sent ("" none) */
    const char *ja4, *ja4_o, *ja4_r, *ja4_ro;
} ja4_vec;

static const ja4_vec vecs[] = {
    {"specification example (Chrome)", "h2",
     "t13d1516h2_8daaf6152771_e5627efa2ab1",
     "t13d1516h2_acb858a92679_18f69afefd3d",
     "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,"
     "c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,"
     "002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601",
     "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,"
     "009c,009d,002f,0035_001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,"
     "0012,002b,ff01,000b,000a,0015_0403,0804,0401,0503,0805,0501,0806,0601"},
    {"Chrome with ECH and the new ALPS code point", "h2",
     "t13d1516h2_8daaf6152771_d8a2da3f94cd",
     "t13d1516h2_acb858a92679_f96a17c57971",
     "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,"
     "c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,"
     "0033,44cd,fe0d,ff01_0403,0804,0401,0503,0805,0501,0806,0601",
     "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,"
     "009c,009d,002f,0035_002d,0033,0010,fe0d,0017,44cd,0000,000b,000a,002b,"
     "ff01,0023,0012,0005,000d,001b_0403,0804,0401,0503,0805,0501,0806,0601"},
    {"Chrome resuming (pre_shared_key last)", "h2",
     "t13d1516h2_8daaf6152771_9b887d9acb53",
     "t13d1516h2_acb858a92679_ff8ca026d952",
     "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,"
     "c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0017,001b,0023,0029,002b,"
     "002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601",
     "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,"
     "009c,009d,002f,0035_000d,0010,0000,000b,0023,4469,ff01,0033,000a,002d,"
     "002b,0005,0017,0012,001b,0029_0403,0804,0401,0503,0805,0501,0806,0601"},
    {"Chrome offering http/1.1 first", "http/1.1",
     "t13d1516h1_8daaf6152771_e5627efa2ab1",
     "t13d1516h1_acb858a92679_5eba26eeae83",
     "t13d1516h1_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,"
     "c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,"
     "002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601",
     "t13d1516h1_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,"
     "009c,009d,002f,0035_000d,0033,0000,ff01,002b,0023,002d,0005,0012,000b,"
     "0017,4469,0010,001b,000a,0015_0403,0804,0401,0503,0805,0501,0806,0601"},
    {"Chrome without ALPN", "",
     "t13d151400_8daaf6152771_de4a06bb82e3",
     "t13d151400_acb858a92679_2f4561be1d1f",
     "t13d151400_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,"
     "c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,"
     "002d,0033,ff01_0403,0804,0401,0503,0805,0501,0806,0601",
     "t13d151400_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,"
     "009c,009d,002f,0035_0033,002b,001b,0000,0012,002d,000d,000a,0005,0023,"
     "0017,ff01,000b,0015_0403,0804,0401,0503,0805,0501,0806,0601"},
    {"Firefox", "h2",
     "t13d1715h2_5b57614c22b0_3d5424432f57",
     "t13d1715h2_5b234860e130_014157ec0da2",
     "t13d1715h2_002f,0035,009c,009d,1301,1302,1303,c009,c00a,c013,c014,"
     "c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0015,0017,001c,0022,"
     "0023,002b,002d,0033,ff01_0403,0503,0603,0804,0805,0806,0401,0501,0601,"
     "0203,0201",
     "t13d1715h2_1301,1303,1302,c02b,c02f,cca9,cca8,c02c,c030,c00a,c009,"
     "c013,c014,009c,009d,002f,0035_0000,0017,ff01,000a,000b,0023,0010,0005,"
     "0022,0033,002b,000d,002d,001c,0015_0403,0503,0603,0804,0805,0806,0401,"
     "0501,0601,0203,0201"},
    {"Safari (a signature algorithm listed twice)", "h2",
     "t13d2613h2_2802a3db6c62_845d286b0d67",
     "t13d2613h2_78a7dc604b78_93870a65b655",
     "t13d2613h2_000a,002f,0035,003c,003d,009c,009d,1301,1302,1303,c008,"
     "c009,c00a,c012,c013,c014,c023,c024,c027,c028,c02b,c02c,c02f,c030,cca8,"
     "cca9_0005,000a,000b,000d,0012,0015,0017,002b,002d,0033,ff01_0403,0804,"
     "0401,0503,0203,0805,0805,0501,0806,0601,0201",
     "t13d2613h2_1301,1302,1303,c02c,c02b,c024,c023,c00a,c009,cca9,c030,"
     "c02f,c028,c027,c014,c013,cca8,009d,009c,003d,003c,0035,002f,c008,c012,"
     "000a_ff01,0000,0017,000d,0005,0012,0010,000b,0033,002d,002b,000a,0015_"
     "0403,0804,0401,0503,0203,0805,0805,0501,0806,0601,0201"},
    {"TLS 1.2 client, no ALPN", "",
     "t12d190800_d83cc789557e_7af1ed941c26",
     "t12d190800_e8d5f427a2c5_5e98404dd3cc",
     "t12d190800_000a,002f,0035,003c,003d,009c,009d,c009,c00a,c013,c014,"
     "c023,c024,c027,c028,c02b,c02c,c02f,c030_0005,000a,000b,000d,0017,0023,"
     "ff01_0804,0805,0806,0401,0501,0201,0403,0503,0203,0202,0601,0603",
     "t12d190800_c02c,c02b,c030,c02f,c024,c023,c028,c027,c00a,c009,c014,"
     "c013,009d,009c,003d,003c,0035,002f,000a_0000,0005,000a,000b,000d,0023,"
     "0017,ff01_0804,0805,0806,0401,0501,0201,0403,0503,0203,0202,0601,0603"},
    {"TLS 1.2 client with 46 suites", "h2",
     "t12d4605h2_85626a9a5f7f_aaf95bb78ec9",
     "t12d4605h2_644f5d117d98_094daec7ec8d",
     "t12d4605h2_0004,0005,000a,0016,002f,0033,0035,0039,003c,003d,0041,"
     "0045,0067,006b,0081,0084,0088,009c,009d,009e,009f,00ba,00be,00c0,00c4,"
     "00ff,c007,c008,c009,c00a,c011,c012,c013,c014,c023,c024,c027,c028,c02b,"
     "c02c,c02f,c030,cca8,cca9,ccaa,ff85_000a,000b,000d_0601,0603,efef,0501,"
     "0503,0401,0403,eeee,eded,0301,0303,0201,0203",
     "t12d4605h2_c030,c02c,c028,c024,c014,c00a,009f,006b,0039,cca9,cca8,"
     "ccaa,ff85,00c4,0088,0081,009d,003d,0035,00c0,0084,c02f,c02b,c027,c023,"
     "c013,c009,009e,0067,0033,00be,0045,009c,003c,002f,00ba,0041,c011,c007,"
     "0005,0004,c012,c008,0016,000a,00ff_0000,000b,000a,000d,0010_0601,0603,"
     "efef,0501,0503,0401,0403,eeee,eded,0301,0303,0201,0203"},
    /* only server_name: the sorted extension list is empty, so part c is
     * twelve zeros in the original-order form too, as published */
    {"TLS 1.0 client, SNI only, no signature algorithms", "",
     "t10d230100_6a57a6f57151_000000000000",
     "t10d230100_ce175d585f73_000000000000",
     "t10d230100_0003,0004,0005,0006,0008,0009,000a,0011,0012,0013,0014,"
     "0015,0016,002f,0032,0033,0035,0038,0039,0096,0099,009a,00ff_",
     "t10d230100_0039,0038,0035,0016,0013,000a,0033,0032,002f,009a,0099,"
     "0096,0005,0004,0015,0012,0009,0014,0011,0008,0006,0003,00ff_0000"},
};

/* ---- a ClientHello that says what a JA4_ro says ------------------------- */

static size_t hexlist(const char *s, uint16_t *out, size_t max)
{
    size_t n = 0;
    unsigned v;

    while (*s && *s != '_' && n < max) {
        if (sscanf(s, "%4x", &v) != 1)
            break;
        out[n++] = (uint16_t)v;
        s += 4;
        if (*s == ',')
            s++;
    }
    return n;
}

static void wr_ext(zt_wr *w, uint16_t type, const uint8_t *body, size_t n)
{
    zt_wr_u16(w, type);
    zt_wr_u16(w, (unsigned)n);
    zt_wr_bytes(w, body, n);
}

/* The hello body for vector v, GREASE added; returns its length. */
static size_t build(const ja4_vec *v, uint8_t *buf, size_t cap)
{
    const char *ro = v->ja4_ro, *p;
    uint16_t suites[128], exts[64], sigs[64];
    size_t ns, ne, nsig = 0, i, at, l2, l3;
    uint8_t body[300], rnd[32];
    zt_wr w = zt_wr_make(buf, cap), b;
    int tls13 = ro[1] == '1' && ro[2] == '3';

    p = strchr(ro, '_') + 1;
    ns = hexlist(p, suites, 128);
    p = strchr(p, '_') + 1;
    ne = hexlist(p, exts, 64);
    p = strchr(p, '_');
    if (p)
        nsig = hexlist(p + 1, sigs, 64);

    zt_wr_u16(&w, ro[1] == '1' && ro[2] == '0' ? 0x0301 : 0x0303);
    memset(rnd, 0x5a, sizeof(rnd));
    zt_wr_bytes(&w, rnd, 32);
    zt_wr_u8(&w, 32);
    zt_wr_bytes(&w, rnd, 32);
    at = zt_wr_open(&w, 2);
    zt_wr_u16(&w, 0x3a3a); /* GREASE suite first, as Chrome does */
    for (i = 0; i < ns; i++)
        zt_wr_u16(&w, suites[i]);
    zt_wr_close(&w, at, 2);
    zt_wr_u8(&w, 1);
    zt_wr_u8(&w, 0);
    at = zt_wr_open(&w, 2);
    wr_ext(&w, 0x8a8a, NULL, 0); /* GREASE extension first */
    for (i = 0; i < ne; i++) {
        b = zt_wr_make(body, sizeof(body));
        switch (exts[i]) {
        case ZT_EXT_SERVER_NAME:
            l2 = zt_wr_open(&b, 2);
            zt_wr_u8(&b, 0);
            l3 = zt_wr_open(&b, 2);
            zt_wr_bytes(&b, "example.com", 11);
            zt_wr_close(&b, l3, 2);
            zt_wr_close(&b, l2, 2);
            break;
        case ZT_EXT_ALPN:
            l2 = zt_wr_open(&b, 2);
            l3 = zt_wr_open(&b, 1);
            zt_wr_bytes(&b, v->alpn, strlen(v->alpn));
            zt_wr_close(&b, l3, 1);
            l3 = zt_wr_open(&b, 1);
            zt_wr_bytes(&b, "http/1.1", 8);
            zt_wr_close(&b, l3, 1);
            zt_wr_close(&b, l2, 2);
            break;
        case ZT_EXT_SIGNATURE_ALGORITHMS:
            l2 = zt_wr_open(&b, 2);
            zt_wr_u16(&b, 0x6a6a); /* GREASE is left out here too */
            for (l3 = 0; l3 < nsig; l3++)
                zt_wr_u16(&b, sigs[l3]);
            zt_wr_close(&b, l2, 2);
            break;
        case ZT_EXT_SUPPORTED_VERSIONS:
            l2 = zt_wr_open(&b, 1);
            zt_wr_u16(&b, 0xdada); /* numerically above 0x0304 */
            if (tls13)
                zt_wr_u16(&b, 0x0304);
            zt_wr_u16(&b, 0x0303);
            zt_wr_close(&b, l2, 1);
            break;
        default:
            zt_wr_u8(&b, (unsigned)i); /* contents do not matter */
            break;
        }
        wr_ext(&w, exts[i], body, b.len);
    }
    body[0] = 0;
    wr_ext(&w, 0xfafa, body, 1); /* GREASE extension last, one byte */
    zt_wr_close(&w, at, 2);
    return w.err ? 0 : w.len;
}

static void check_form(const char *what, const uint8_t *h, size_t n,
                       zt_ja4_form f, const char *want)
{
    char out[2100];
    size_t len = zt_ja4(h, n, f, out, sizeof(out));

    CHECK_MSG(len == strlen(want) && strcmp(out, want) == 0,
              "%s form %d:\n  got  %s\n  want %s", what, (int)f, out, want);
}

static void published(void)
{
    uint8_t hello[4096];
    size_t i, n;

    for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        n = build(&vecs[i], hello, sizeof(hello));
        CHECK(n > 0);
        check_form(vecs[i].what, hello, n, ZT_JA4, vecs[i].ja4);
        check_form(vecs[i].what, hello, n, ZT_JA4_O, vecs[i].ja4_o);
        check_form(vecs[i].what, hello, n, ZT_JA4_R, vecs[i].ja4_r);
        check_form(vecs[i].what, hello, n, ZT_JA4_RO, vecs[i].ja4_ro);
    }
}

/* The first ALPN value when its ends are not alphanumeric (JA4.md, "ALPN
 * Extension Value", the specification's own examples). */
static void alpn_rule(void)
{
    static const struct {
        const char *proto;
        size_t len;
        const char *want;
    } cases[] = {
        {"\xab", 1, "ab"},          {"\x20", 1, "20"},
        {"\xab\xcd", 2, "ad"},      {"\x20\x61", 2, "21"},
        {"\x30\xab", 2, "3b"},      {"\x61\x20", 2, "60"},
        {"\x30\x31\xab\xcd", 4, "3d"}, {"\x30\xab\xcd\x31", 4, "01"},
        {"a", 1, "aa"},             {"h2", 2, "h2"},
        {"http/1.1", 8, "h1"},
    };
    uint8_t hello[512], ext[300];
    char out[64];
    size_t i, n;
    zt_wr w, e;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e = zt_wr_make(ext, sizeof(ext));
        zt_wr_u16(&e, ZT_EXT_ALPN);
        zt_wr_u16(&e, (unsigned)(3 + cases[i].len));
        zt_wr_u16(&e, (unsigned)(1 + cases[i].len));
        zt_wr_u8(&e, (unsigned)cases[i].len);
        zt_wr_bytes(&e, cases[i].proto, cases[i].len);
        w = zt_wr_make(hello, sizeof(hello));
        zt_wr_u16(&w, 0x0303);
        memset(out, 0, 32);
        zt_wr_bytes(&w, out, 32);
        zt_wr_u8(&w, 0);
        zt_wr_u16(&w, 2);
        zt_wr_u16(&w, 0x1301);
        zt_wr_u8(&w, 1);
        zt_wr_u8(&w, 0);
        zt_wr_u16(&w, (unsigned)e.len);
        zt_wr_bytes(&w, ext, e.len);
        n = zt_ja4(hello, w.len, ZT_JA4, out, sizeof(out));
        CHECK_EQ_INT(n, ZT_JA4_LEN);
        CHECK_MSG(memcmp(out + 8, cases[i].want, 2) == 0, "alpn %zu: %s",
                  i, out);
    }
}

/* The specification's hash without signature algorithms ("6d807ffa2a79"),
 * no suites at all, more than 99 suites, bad framing, short buffers. */
static void edges(void)
{
    static const char sorted[] =
        "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,"
        "ff01";
    uint16_t e[16];
    uint8_t hello[1024], z[32];
    char out[700];
    size_t n, i, ne = hexlist(sorted, e, 16);
    zt_wr w;

    memset(z, 0, sizeof(z));
    w = zt_wr_make(hello, sizeof(hello));
    zt_wr_u16(&w, 0x0303);
    zt_wr_bytes(&w, z, 32);
    zt_wr_u8(&w, 0);
    zt_wr_u16(&w, 0); /* no suites */
    zt_wr_u8(&w, 1);
    zt_wr_u8(&w, 0);
    n = zt_wr_open(&w, 2);
    for (i = 0; i < ne; i++)
        if (e[i] != ZT_EXT_SIGNATURE_ALGORITHMS)
            wr_ext(&w, e[i], NULL, 0);
    /* signature_algorithms that cannot be read: no list, part c has none */
    wr_ext(&w, ZT_EXT_SIGNATURE_ALGORITHMS, z, 3);
    zt_wr_close(&w, n, 2);
    CHECK(!w.err);
    n = zt_ja4(hello, w.len, ZT_JA4, out, sizeof(out));
    CHECK_EQ_INT(n, ZT_JA4_LEN);
    CHECK(strcmp(out, "t12i001400_000000000000_6d807ffa2a79") == 0);
    n = zt_ja4(hello, w.len, ZT_JA4_R, out, sizeof(out));
    CHECK(strncmp(out, "t12i001400__0005,", 17) == 0);
    CHECK(n == strlen(out) && out[n - 1] == '1'); /* no trailing "_" */

    /* the length is the whole fingerprint even when out is short */
    CHECK_EQ_INT(zt_ja4(hello, w.len, ZT_JA4, out, 11), ZT_JA4_LEN);
    CHECK(strcmp(out, "t12i001400") == 0);
    CHECK_EQ_INT(zt_ja4(hello, w.len, ZT_JA4, NULL, 0), ZT_JA4_LEN);

    /* every cut of the hello: a fingerprint or 0, never a read past it */
    for (i = 0; i < w.len; i++) {
        n = zt_ja4(hello, i, ZT_JA4_RO, out, sizeof(out));
        CHECK(n == 0 || (i == 2 + 32 + 1 + 2 + 2 && n > 0));
    }

    /* 120 suites (and GREASE among them): "99", all in the hash */
    w = zt_wr_make(hello, sizeof(hello));
    zt_wr_u16(&w, 0x0303);
    zt_wr_bytes(&w, z, 32);
    zt_wr_u8(&w, 0);
    zt_wr_u16(&w, 2 * 121);
    for (i = 0; i < 120; i++)
        zt_wr_u16(&w, (unsigned)(0x0100 + i));
    zt_wr_u16(&w, 0x2a2a);
    zt_wr_u8(&w, 1);
    zt_wr_u8(&w, 0);
    n = zt_ja4(hello, w.len, ZT_JA4, out, sizeof(out));
    CHECK_EQ_INT(n, ZT_JA4_LEN);
    CHECK(strncmp(out, "t12i990000_", 11) == 0);
    n = zt_ja4(hello, w.len, ZT_JA4_R, out, sizeof(out));
    CHECK_EQ_INT(n, 11 + 120 * 5 - 1 + 1);
    CHECK(strstr(out, "2a2a") == NULL && strstr(out, "0177") != NULL);

    /* an odd suite list cannot be read */
    hello[2 + 32 + 1 + 1] = 3;
    CHECK_EQ_INT(zt_ja4(hello, w.len, ZT_JA4, out, sizeof(out)), 0);
    CHECK(out[0] == '\0');
}

/* Through the engine: kept when asked, for refused ClientHellos too. */
static void per_connection(void)
{
    zt_config *cfg = tsrv_config(TSRV_P256);
    zt_conn *s;
    tcli t;
    uint8_t ch[2048];
    size_t n;
    char want[128];
    const char *got;

    /* not asked for: nothing kept */
    s = zt_conn_new(cfg);
    tcli_init(&t);
    CHECK(thandshake(s, &t) == 0);
    CHECK(zt_conn_ja4(s, ZT_JA4) == NULL);
    zt_conn_free(s);
    tcli_free(&t);

    s = zt_conn_new(cfg);
    zt_conn_set_ja4(s, 1u << ZT_JA4 | 1u << ZT_JA4_RO);
    tcli_init(&t);
    t.sni = "localhost";
    n = tcli_client_hello(&t, ch, sizeof(ch));
    CHECK(zt_ja4(ch + 4, n - 4, ZT_JA4, want, sizeof(want)) == ZT_JA4_LEN);
    tcli_free(&t);
    tcli_init(&t);
    t.sni = "localhost";
    CHECK(thandshake(s, &t) == 0);
    got = zt_conn_ja4(s, ZT_JA4);
    CHECK(got != NULL && strncmp(got, "t13d", 4) == 0);
    CHECK(got != NULL && strlen(got) == ZT_JA4_LEN);
    /* the same client sends the same fingerprint (the random differs) */
    CHECK(got != NULL && strcmp(got, want) == 0);
    got = zt_conn_ja4(s, ZT_JA4_RO);
    CHECK(got != NULL && strstr(got, "_1301,1302,1303_") != NULL);
    CHECK(zt_conn_ja4(s, ZT_JA4_R) == NULL);
    zt_conn_free(s);
    tcli_free(&t);

    /* a TLS 1.2-only hello is refused (protocol_version), still known */
    s = zt_conn_new(cfg);
    zt_conn_set_ja4(s, 1u << ZT_JA4);
    tcli_init(&t);
    t.n_versions = 0;
    CHECK(tsrv_hello(s, &t) == ZT_E_PROTOCOL_VERSION);
    got = zt_conn_ja4(s, ZT_JA4);
    CHECK(got != NULL && strncmp(got, "t12i03", 6) == 0);
    zt_conn_free(s);
    tcli_free(&t);
    zt_config_free(cfg);
}

void suite_ja4(void)
{
    published();
    alpn_rule();
    edges();
    per_connection();
}
