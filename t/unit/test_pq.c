/*
 * test_pq.c: post-quantum key exchange.
 *   - ML-KEM-768 in the provider against Wycheproof: every case of
 *     mlkem_768_encaps_test.json (m as the randomness; valid cases give
 *     exactly c and K, invalid ones are refused, among them the "public key
 *     not reduced" keys of FIPS 203 section 7.2) and of mlkem_768_test.json
 *     (key generation from the seed, decapsulation);
 *   - whole handshakes on X25519MLKEM768 and SecP256r1MLKEM768 with fixed
 *     randomness: the server's share is the Wycheproof ciphertext and the
 *     ECDH share in the draft's order, and its handshake secret (key log)
 *     is the one computed here from ML-KEM secret and ECDH secret in the
 *     draft's order (draft-ietf-tls-ecdhe-mlkem section 3);
 *   - group selection: PQ preferred, no HelloRetryRequest to upgrade a
 *     usable classical share, HelloRetryRequest to the hybrid, PQ required;
 *   - refusals with their alerts (lengths, unreduced key, zero X25519,
 *     off-curve P-256, wrong share after a HelloRetryRequest);
 *   - a 1.9 KB ClientHello cut into records and segments.
 */
#include <stdlib.h>

#include "json.h"
#include "tclient.h"
#include "test.h"

static uint8_t out[1 << 17];

/* ---- Wycheproof ---------------------------------------------------------- */

static zt_json *pq_load(const char *file)
{
    char path[512];
    char *text;
    size_t len, off = 0;
    zt_json *root;

    snprintf(path, sizeof(path), "%s/wycheproof/testvectors_v1/%s",
             zt_vectors_dir(), file);
    text = zt_read_file(path, &len);
    CHECK_MSG(text != NULL, "cannot read %s", path);
    if (text == NULL)
        return NULL;
    root = zt_json_parse(text, len, &off);
    CHECK_MSG(root != NULL, "%s: JSON syntax error at byte %zu", path, off);
    free(text);
    return root;
}

static uint8_t *pq_hex(const zt_json *o, const char *key, size_t *len)
{
    const char *s = zt_json_str(o, key);

    *len = 0;
    return s != NULL ? zt_unhex(s, len) : NULL;
}

static int pq_valid(const zt_json *t)
{
    const char *r = zt_json_str(t, "result");

    return r != NULL && strcmp(r, "valid") == 0;
}

/* A FIPS 203 key pair found in both files, for the handshakes below:
 * seed and ek (mlkem_768_test.json) and m, c, K of an encapsulation to the
 * same ek (mlkem_768_encaps_test.json). */
static struct {
    uint8_t seed[64], ek[ZT_MLKEM768_EK_LEN], m[32];
    uint8_t c[ZT_MLKEM768_CT_LEN], k[32];
    int have_seed, have_enc;
} kp;

static void wy_encaps(void)
{
    zt_json *root = pq_load("mlkem_768_encaps_test.json");
    const zt_json *g, *t;
    unsigned long n = 0, p0 = zt_test_passed, f0 = zt_test_failed;
    unsigned long valid = 0, unreduced = 0;

    if (root == NULL)
        return;
    for (g = zt_json_get(root, "testGroups")->child; g; g = g->next) {
        for (t = zt_json_get(g, "tests")->child; t; t = t->next) {
            size_t ekl, ml, cl, kl;
            uint8_t *ek = pq_hex(t, "ek", &ekl), *m = pq_hex(t, "m", &ml);
            uint8_t *c = pq_hex(t, "c", &cl), *k = pq_hex(t, "K", &kl);
            uint8_t ct[ZT_MLKEM768_CT_LEN], ss[32];
            long id = zt_json_int(t, "tcId", -1);
            int rc;

            n++;
            memset(ct, 0xee, sizeof(ct));
            rc = ml == 32 ? zt_mlkem768_encaps(ek, ekl, m, ct, ss) : -1;
            if (pq_valid(t)) {
                valid++;
                CHECK_MSG(rc == 0 && cl == sizeof(ct) && kl == 32 &&
                              memcmp(ct, c, cl) == 0 &&
                              memcmp(ss, k, 32) == 0,
                          "encaps tcId %ld", id);
                if (!kp.have_enc && kp.have_seed &&
                    ekl == ZT_MLKEM768_EK_LEN &&
                    memcmp(kp.ek, ek, ekl) == 0) {
                    memcpy(kp.m, m, 32);
                    memcpy(kp.c, c, cl);
                    memcpy(kp.k, k, 32);
                    kp.have_enc = 1;
                }
            } else {
                /* refused, and nothing written */
                CHECK_MSG(rc != 0 && ct[0] == 0xee && ct[1087] == 0xee,
                          "encaps tcId %ld (%s) accepted", id,
                          zt_json_str(t, "comment"));
                if (ekl == ZT_MLKEM768_EK_LEN) {
                    unreduced++;
                    CHECK_MSG(zt_mlkem768_check_ek(ek, ekl) != 0,
                              "modulus check tcId %ld", id);
                }
            }
            free(ek);
            free(m);
            free(c);
            free(k);
        }
    }
    CHECK_EQ_INT(n, 265);
    CHECK_EQ_INT(valid, 133);
    CHECK_EQ_INT(unreduced, 112); /* 100 + 12 CCTV "ModulusOverflow" */
    printf("  %-40s %4lu passed, %lu failed\n", "mlkem_768_encaps_test.json",
           zt_test_passed - p0, zt_test_failed - f0);
    zt_json_free(root);
}

static void wy_keygen_decaps(void)
{
    zt_json *root = pq_load("mlkem_768_test.json");
    const zt_json *g, *t;
    unsigned long n = 0, p0 = zt_test_passed, f0 = zt_test_failed;

    if (root == NULL)
        return;
    for (g = zt_json_get(root, "testGroups")->child; g; g = g->next) {
        for (t = zt_json_get(g, "tests")->child; t; t = t->next) {
            size_t sl, ekl, cl, kl;
            uint8_t *seed = pq_hex(t, "seed", &sl), *ek = pq_hex(t, "ek", &ekl);
            uint8_t *c = pq_hex(t, "c", &cl), *k = pq_hex(t, "K", &kl);
            uint8_t myek[ZT_MLKEM768_EK_LEN], dk[ZT_MLKEM768_DK_LEN], ss[32];
            long id = zt_json_int(t, "tcId", -1);
            int ok;

            n++;
            ok = zt_mlkem768_keygen(seed, sl, myek, dk) == 0;
            if (pq_valid(t)) {
                ok = ok && ekl == sizeof(myek) &&
                     memcmp(myek, ek, ekl) == 0 &&
                     zt_mlkem768_decaps(dk, sizeof(dk), c, cl, ss) == 0 &&
                     kl == 32 && memcmp(ss, k, 32) == 0;
                CHECK_MSG(ok, "keygen/decaps tcId %ld", id);
                if (!kp.have_seed && sl == 64 &&
                    zt_json_get(t, "comment") != NULL) { /* FIPS 203 set */
                    memcpy(kp.seed, seed, 64);
                    memcpy(kp.ek, myek, sizeof(myek));
                    kp.have_seed = 1;
                    /* FIPS 203 section 7.3 hash check: a dk whose H(ek)
                     * does not match is refused */
                    dk[ZT_MLKEM768_DK_LEN - 40] ^= 1;
                    CHECK(zt_mlkem768_decaps(dk, sizeof(dk), c, cl, ss) != 0);
                    CHECK(zt_mlkem768_decaps(dk, sizeof(dk) - 1, c, cl, ss) !=
                          0);
                }
            } else {
                /* a seed or a ciphertext of the wrong length */
                ok = ok && zt_mlkem768_decaps(dk, sizeof(dk), c, cl, ss) == 0;
                CHECK_MSG(!ok, "tcId %ld (%s) accepted", id,
                          zt_json_str(t, "comment"));
            }
            zt_memzero(dk, sizeof(dk));
            free(seed);
            free(ek);
            free(c);
            free(k);
        }
    }
    CHECK_EQ_INT(n, 193);
    printf("  %-40s %4lu passed, %lu failed\n", "mlkem_768_test.json",
           zt_test_passed - p0, zt_test_failed - f0);
    zt_json_free(root);
}

/* ---- scripted randomness ------------------------------------------------- */

typedef struct {
    uint8_t buf[512];
    size_t len, off;
} script;

static int script_rnd(void *arg, uint8_t *p, size_t n)
{
    script *s = arg;

    if (s->len - s->off < n)
        return -1; /* asked for more than the test planned */
    memcpy(p, s->buf + s->off, n);
    s->off += n;
    return 0;
}

static void script_add(script *s, const uint8_t *p, size_t n)
{
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

/* ---- key log capture ---------------------------------------------------- */

typedef struct {
    char s_hs[256];
} klog;

static void keylog_cb(void *arg, const zt_conn *c, const char *line)
{
    klog *k = arg;
    static const char l[] = "SERVER_HANDSHAKE_TRAFFIC_SECRET ";

    (void)c;
    if (strncmp(line, l, sizeof(l) - 1) == 0)
        snprintf(k->s_hs, sizeof(k->s_hs), "%s",
                 strrchr(line, ' ') + 1);
}

static void hex(const uint8_t *p, size_t n, char *o)
{
    size_t i;

    for (i = 0; i < n; i++)
        sprintf(o + 2 * i, "%02x", p[i]);
    o[2 * n] = '\0';
}

/* The ServerHello's key_share entry in the server's first flight. */
static int sh_share(const uint8_t *p, size_t n, uint16_t *g, zt_cur *kx,
                    const uint8_t **sh, size_t *sh_len)
{
    zt_cur c, sid, exts, ext;
    const uint8_t *rnd;
    uint16_t v, suite, type;
    uint8_t comp;
    size_t ml;

    if (n < 9 || p[0] != ZT_CT_HANDSHAKE || p[5] != ZT_HS_SERVER_HELLO)
        return -1;
    ml = ((size_t)p[6] << 16) | ((size_t)p[7] << 8) | p[8];
    if (9 + ml > n)
        return -1;
    *sh = p + 5;
    *sh_len = 4 + ml;
    c = zt_cur_make(p + 9, ml);
    if (zt_cur_u16(&c, &v) || zt_cur_bytes(&c, 32, &rnd) ||
        zt_cur_vec(&c, 1, &sid) || zt_cur_u16(&c, &suite) ||
        zt_cur_u8(&c, &comp) || zt_cur_vec(&c, 2, &exts))
        return -1;
    while (zt_cur_left(&exts)) {
        if (zt_cur_u16(&exts, &type) || zt_cur_vec(&exts, 2, &ext))
            return -1;
        if (type == ZT_EXT_KEY_SHARE)
            return zt_cur_u16(&ext, g) || zt_cur_vec(&ext, 2, kx) ||
                           zt_cur_finish(&ext)
                       ? -1
                       : 0;
    }
    return -1;
}

/*
 * One handshake on a hybrid group with every random byte fixed: the
 * client's ML-KEM key from the Wycheproof seed, the server's m from the
 * matching encapsulation case, fixed ECDH keys. What the server sends and
 * derives is checked against values computed here from the parts.
 */
static void exact_handshake(uint16_t group)
{
    static const uint8_t srv_random[32] = {1, 2, 3, 4};
    uint8_t c_ec[32], s_ec[32], ec_pub[65], cl_pub[65], ec_ss[32];
    uint8_t dummy[ZT_KX_MAX_PRIV];
    uint8_t want_share[ZT_KX_MAX_PUB], want_secret[64];
    uint8_t zeros[32] = {0}, early[32], empty[32], derived[32], hs[32];
    uint8_t th[32], s_hs[32];
    char s_hs_hex[65];
    uint16_t ecg = group == ZT_GROUP_X25519MLKEM768 ? ZT_GROUP_X25519
                                                    : ZT_GROUP_SECP256R1;
    int pq_first = group == ZT_GROUP_X25519MLKEM768;
    size_t el = 0, pl, ecl, n, sh_len = 0;
    script cs, ss;
    klog kl;
    zt_config *cfg;
    zt_conn *s;
    zt_hash *h;
    zt_cur kx = zt_cur_make(out, 0);
    uint16_t g = 0;
    const uint8_t *sh = NULL;
    tcli t;
    uint8_t msg[8192], rec[8192];

    if (!kp.have_seed || !kp.have_enc) {
        CHECK_MSG(0, "no Wycheproof key pair for the exact handshake");
        return;
    }
    /* ECDH keys: the same P-256 scalar draw as the provider (in range) */
    memset(c_ec, 0x21, 32);
    memset(s_ec, 0x42, 32);
    memset(&cs, 0, sizeof(cs));
    memset(&ss, 0, sizeof(ss));
    script_add(&cs, c_ec, 32);
    script_add(&cs, kp.seed, 64);
    script_add(&ss, srv_random, 32);
    script_add(&ss, s_ec, 32);
    script_add(&ss, kp.m, 32);

    /* what the server must send: ciphertext and its ECDH share, in order */
    {
        script e;
        memset(&e, 0, sizeof(e));
        script_add(&e, s_ec, 32);
        CHECK(zt_kx_keygen(ecg, script_rnd, &e, dummy, ec_pub, &el) == 0);
        memset(&e, 0, sizeof(e));
        script_add(&e, c_ec, 32);
        CHECK(zt_kx_keygen(ecg, script_rnd, &e, dummy, cl_pub, &pl) == 0);
        /* ECDH secret from the client's side */
        CHECK(zt_kx_derive(ecg, dummy, ec_pub, el, ec_ss, &ecl) == 0);
    }
    if (pq_first) {
        memcpy(want_share, kp.c, ZT_MLKEM768_CT_LEN);
        memcpy(want_share + ZT_MLKEM768_CT_LEN, ec_pub, el);
        memcpy(want_secret, kp.k, 32);
        memcpy(want_secret + 32, ec_ss, 32);
    } else {
        memcpy(want_share, ec_pub, el);
        memcpy(want_share + el, kp.c, ZT_MLKEM768_CT_LEN);
        memcpy(want_secret, ec_ss, 32);
        memcpy(want_secret + 32, kp.k, 32);
    }

    cfg = tsrv_config(TSRV_P256);
    CHECK(zt_config_set_groups_str(cfg, "x25519mlkem768:secp256r1mlkem768:"
                                        "x25519",
                                   NULL, 0) == ZT_OK);
    zt_config_set_random(cfg, script_rnd, &ss);
    memset(&kl, 0, sizeof(kl));
    zt_config_set_keylog(cfg, keylog_cb, &kl);
    s = zt_conn_new(cfg);
    tcli_init(&t);
    t.rnd = script_rnd;
    t.rnd_arg = &cs;
    t.groups[0] = group;
    t.n_groups = 1;
    t.shares[0] = group;
    t.n_shares = 1;
    t.suites[0] = ZT_TLS_AES_128_GCM_SHA256;
    t.n_suites = 1;

    n = tcli_client_hello(&t, msg, sizeof(msg));
    CHECK(n > 0);
    /* the client's share: ek (from the seed) where the draft puts it */
    CHECK(memcmp(t.pub[0] + (pq_first ? 0 : 65), kp.ek,
                 ZT_MLKEM768_EK_LEN) == 0);
    CHECK_EQ_INT(t.pub_len[0], zt_kx_pub_len(group));
    n = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
    CHECK(tsrv_feed(s, rec, n, 0) == ZT_OK);
    n = tsrv_drain(s, out, sizeof(out));
    CHECK(sh_share(out, n, &g, &kx, &sh, &sh_len) == 0);
    CHECK_EQ_INT(g, group);
    CHECK_MEM(kx.p, zt_cur_left(&kx), want_share, zt_kx_server_pub_len(group));
    CHECK_EQ_INT(ss.off, ss.len); /* all of it, nothing more */
    CHECK_EQ_INT(cs.off, cs.len);

    /* s hs traffic = Derive-Secret(HKDF-Extract(derived, secret),
     * "s hs traffic", H(CH || SH)), RFC 8446 section 7.1 */
    h = zt_hash_new(ZT_SHA256);
    CHECK(h != NULL && zt_hash_update(h, t.ch1, t.ch1_len) == 0 &&
          zt_hash_update(h, sh, sh_len) == 0 && zt_hash_peek(h, th) == 0);
    zt_hash_free(h);
    CHECK(zt_hkdf_extract(ZT_SHA256, NULL, 0, zeros, 32, early) == 0 &&
          zt_hash_oneshot(ZT_SHA256, NULL, 0, empty) == 0 &&
          zt_derive_secret(ZT_SHA256, early, "derived", empty, derived) ==
              ZT_OK &&
          zt_hkdf_extract(ZT_SHA256, derived, 32, want_secret, 64, hs) == 0 &&
          zt_derive_secret(ZT_SHA256, hs, "s hs traffic", th, s_hs) == ZT_OK);
    hex(s_hs, 32, s_hs_hex);
    CHECK_MSG(strcmp(kl.s_hs, s_hs_hex) == 0, "%04x: server %s, want %s",
              group, kl.s_hs, s_hs_hex);

    /* the client follows, and the connection carries data */
    CHECK(tcli_server_flight(&t, out, n) == 0);
    CHECK(memcmp(t.s_hs, s_hs, 32) == 0);
    n = tcli_finished(&t, rec, 0);
    CHECK(n > 0 && tsrv_feed(s, rec, n, 0) == ZT_OK);
    CHECK(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE);
    CHECK_EQ_INT(zt_conn_group(s), group);
    CHECK_EQ_INT(zt_conn_hrr(s), 0);
    tcli_free(&t);
    zt_conn_free(s);
    zt_config_free(cfg);
    zt_memzero(dummy, sizeof(dummy));
}

/* ---- selection ----------------------------------------------------------- */

typedef struct {
    const char *server;  /* zigtls groups, NULL: the default */
    uint16_t groups[4];  /* client's supported_groups */
    size_t n_groups;
    uint16_t shares[3];  /* client's key shares */
    size_t n_shares;
    uint16_t want;       /* 0: refused */
    int hrr;
    const char *what;
} sel_case;

static void selection(void)
{
    static const sel_case cases[] = {
        {NULL, {0x11ec, 0x1d}, 2, {0x11ec, 0x1d}, 2, 0x11ec, 0,
         "both shares (as browsers send): the hybrid"},
        {NULL, {0x11ec, 0x1d, 0x17}, 3, {0x1d}, 1, 0x1d, 0,
         "a usable classical share is not upgraded by a round trip"},
        {NULL, {0x11ec, 0x17}, 2, {0x17}, 1, 0x17, 0,
         "secp256r1 share taken as it is"},
        {NULL, {0x11ec, 0x1d}, 2, {0}, 0, 0x11ec, 1,
         "listed but no share: HelloRetryRequest to the hybrid"},
        {"x25519mlkem768:secp256r1", {0x11ec, 0x1d, 0x17}, 3, {0x1d}, 1,
         0x11ec, 1, "a share the server does not take: HelloRetryRequest"},
        {NULL, {0x11eb, 0x17}, 2, {0x11eb}, 1, 0x17, 1,
         "SecP256r1MLKEM768 is not in the default list"},
        {"x25519:secp256r1", {0x11ec, 0x1d}, 2, {0x11ec, 0x1d}, 2, 0x1d, 0,
         "hybrid turned off by zigtls_groups"},
        {"secp256r1mlkem768:x25519mlkem768", {0x11ec, 0x11eb}, 2,
         {0x11ec, 0x11eb}, 2, 0x11eb, 0, "server order among shares"},
        {"x25519mlkem768:secp256r1mlkem768", {0x1d, 0x17}, 2, {0x1d}, 1, 0, 0,
         "PQ required: a classical client is refused"},
        {"x25519mlkem768", {0x11ec, 0x1d}, 2, {0x1d}, 1, 0x11ec, 1,
         "PQ required: a client that can is asked for it"},
    };
    size_t i, n;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const sel_case *k = &cases[i];
        zt_config *cfg = tsrv_config(TSRV_P256);
        zt_conn *s;
        tcli t;

        if (k->server)
            CHECK(zt_config_set_groups_str(cfg, k->server, NULL, 0) == ZT_OK);
        s = zt_conn_new(cfg);
        tcli_init(&t);
        memcpy(t.groups, k->groups, sizeof(k->groups));
        t.n_groups = k->n_groups;
        memcpy(t.shares, k->shares, sizeof(k->shares));
        t.n_shares = k->n_shares;
        if (k->want) {
            CHECK_MSG(thandshake(s, &t) == 0, "%s: %s", k->what,
                      zt_err_str(zt_conn_error(s)));
            CHECK_MSG(zt_conn_group(s) == k->want, "%s: group %04x",
                      k->what, zt_conn_group(s));
            CHECK_MSG(zt_conn_hrr(s) == k->hrr, "%s: hrr", k->what);
        } else {
            CHECK(tsrv_hello(s, &t) != ZT_OK);
            n = tsrv_drain(s, out, sizeof(out));
            CHECK_MSG(tsrv_alert(out, n, NULL) == ZT_ALERT_HANDSHAKE_FAILURE,
                      "%s", k->what);
            CHECK_EQ_INT(zt_conn_error(s), ZT_E_NO_SHARED_GROUP);
        }
        tcli_free(&t);
        zt_conn_free(s);
        zt_config_free(cfg);
    }
    /* the names */
    CHECK(strcmp(zt_group_name(ZT_GROUP_X25519MLKEM768), "X25519MLKEM768") ==
          0);
    CHECK(strcmp(zt_group_name(ZT_GROUP_SECP256R1MLKEM768),
                 "SecP256r1MLKEM768") == 0);
    {
        zt_config *cfg = zt_config_new();
        char why[128];

        CHECK(zt_config_set_groups_str(cfg, "X25519MLKEM768:SecP256r1MLKEM768:"
                                            "x25519:secp256r1",
                                       why, sizeof(why)) == ZT_OK);
        CHECK(zt_config_set_groups_str(cfg, "x25519:mlkem768", why,
                                       sizeof(why)) == ZT_E_CONFIG &&
              strcmp(why, "unknown group \"mlkem768\"") == 0);
        zt_config_free(cfg);
    }
}

/* ---- refusals ------------------------------------------------------------ */

static void refusals(void)
{
    static const struct {
        uint16_t group;
        int bad;
        uint8_t alert;
        zt_err err;
        const char *what;
    } cases[] = {
        {0x11ec, 1, ZT_ALERT_ILLEGAL_PARAMETER, ZT_E_BAD_KEY_SHARE, "1215 bytes"},
        {0x11ec, 3, ZT_ALERT_ILLEGAL_PARAMETER, ZT_E_BAD_KEY_SHARE, "1217 bytes"},
        /* key_exchange<1..2^16-1> (RFC 8446 section 4.2.8): the empty
         * share breaks the grammar, as BoringSSL and OpenSSL judge too */
        {0x11ec, 4, ZT_ALERT_DECODE_ERROR, ZT_E_DECODE, "0 bytes"},
        {0x11ec, 5, ZT_ALERT_ILLEGAL_PARAMETER, ZT_E_BAD_KEY_SHARE,
         "ek coefficient >= q"},
        {0x11ec, 2, ZT_ALERT_ILLEGAL_PARAMETER, ZT_E_BAD_KEY_SHARE,
         "all-zero X25519 part"},
        {0x11eb, 1, ZT_ALERT_ILLEGAL_PARAMETER, ZT_E_BAD_KEY_SHARE, "1248 bytes"},
        {0x11eb, 3, ZT_ALERT_ILLEGAL_PARAMETER, ZT_E_BAD_KEY_SHARE, "1250 bytes"},
        {0x11eb, 5, ZT_ALERT_ILLEGAL_PARAMETER, ZT_E_BAD_KEY_SHARE,
         "ek coefficient >= q"},
        {0x11eb, 2, ZT_ALERT_ILLEGAL_PARAMETER, ZT_E_BAD_KEY_SHARE,
         "P-256 part off the curve"},
    };
    size_t i, n;
    int hrr;

    for (hrr = 0; hrr < 2; hrr++) {
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            zt_config *cfg = tsrv_config(TSRV_P256);
            zt_conn *s;
            tcli t;

            CHECK(zt_config_set_groups_str(cfg, "x25519mlkem768:"
                                                "secp256r1mlkem768:x25519",
                                           NULL, 0) == ZT_OK);
            s = zt_conn_new(cfg);
            tcli_init(&t);
            t.groups[0] = cases[i].group;
            t.groups[1] = ZT_GROUP_X25519;
            t.n_groups = 2;
            if (hrr) {
                /* first a ClientHello with no share for a listed group:
                 * the server asks for the hybrid */
                t.n_shares = 0;
                CHECK(tsrv_hello(s, &t) == ZT_OK);
                n = tsrv_drain(s, out, sizeof(out));
                CHECK(tcli_server_flight(&t, out, n) == 0 && t.got_hrr &&
                      t.hrr_group == cases[i].group);
            } else {
                t.shares[0] = cases[i].group;
                t.n_shares = 1;
            }
            t.bad_share = cases[i].bad;
            CHECK(tsrv_hello(s, &t) != ZT_OK);
            n = tsrv_drain(s, out, sizeof(out));
            CHECK_MSG(tsrv_alert(out, n, NULL) == cases[i].alert,
                      "%04x %s hrr=%d: alert %d", cases[i].group,
                      cases[i].what, hrr, tsrv_alert(out, n, NULL));
            CHECK_MSG(zt_conn_error(s) == cases[i].err, "%04x %s hrr=%d: %s",
                      cases[i].group, cases[i].what, hrr,
                      zt_err_str(zt_conn_error(s)));
            tcli_free(&t);
            zt_conn_free(s);
            zt_config_free(cfg);
        }
    }
    /* after a HelloRetryRequest for the hybrid, a share for another group */
    {
        zt_config *cfg = tsrv_config(TSRV_P256);
        zt_conn *s = zt_conn_new(cfg);
        tcli t;

        tcli_init(&t);
        t.groups[0] = ZT_GROUP_X25519MLKEM768;
        t.groups[1] = ZT_GROUP_X25519;
        t.n_groups = 2;
        t.n_shares = 0;
        CHECK(tsrv_hello(s, &t) == ZT_OK);
        n = tsrv_drain(s, out, sizeof(out));
        CHECK(tcli_server_flight(&t, out, n) == 0 &&
              t.hrr_group == ZT_GROUP_X25519MLKEM768);
        t.hrr_group = ZT_GROUP_X25519; /* the client answers with x25519 */
        CHECK(tsrv_hello(s, &t) != ZT_OK);
        n = tsrv_drain(s, out, sizeof(out));
        CHECK(tsrv_alert(out, n, NULL) == ZT_ALERT_ILLEGAL_PARAMETER);
        CHECK_EQ_INT(zt_conn_error(s), ZT_E_HRR_MISMATCH);
        tcli_free(&t);
        zt_conn_free(s);
        zt_config_free(cfg);
    }
    /* the provider alone: a ciphertext of the wrong length at the client */
    {
        uint8_t priv[ZT_KX_MAX_PRIV], pub[ZT_KX_MAX_PUB], sec[64];
        size_t pl, sl;

        CHECK(zt_kx_keygen(ZT_GROUP_X25519MLKEM768, zt_sys_random, NULL,
                           priv, pub, &pl) == 0 && pl == 1216);
        memset(pub, 1, sizeof(pub));
        CHECK(zt_kx_derive(ZT_GROUP_X25519MLKEM768, priv, pub, 1119, sec,
                           &sl) == ZT_KX_BAD_PEER);
        CHECK(zt_kx_derive(ZT_GROUP_X25519MLKEM768, priv, pub, 1121, sec,
                           &sl) == ZT_KX_BAD_PEER);
        zt_memzero(priv, sizeof(priv));
    }
}

/* ---- a browser-sized ClientHello over many records and segments ---------- */

static void big_hello(void)
{
    static uint8_t pad[4 + 600];
    size_t chunks[] = {1, 100, 700};
    size_t segs[] = {1, 7, 536};
    size_t a, b;

    /* padding extension (RFC 7685) to the size Chromium sends */
    pad[0] = 0;
    pad[1] = ZT_EXT_PADDING;
    pad[2] = (uint8_t)((sizeof(pad) - 4) >> 8);
    pad[3] = (uint8_t)(sizeof(pad) - 4);
    for (a = 0; a < 3; a++) {
        for (b = 0; b < 3; b++) {
            zt_config *cfg = tsrv_config(TSRV_P256);
            zt_conn *s = zt_conn_new(cfg);
            static uint8_t msg[8192], rec[65536];
            size_t n, k = 0, off;
            tcli t;

            tcli_init(&t);
            t.groups[0] = ZT_GROUP_X25519MLKEM768;
            t.groups[1] = ZT_GROUP_X25519;
            t.n_groups = 2;
            t.shares[0] = ZT_GROUP_X25519MLKEM768;
            t.shares[1] = ZT_GROUP_X25519;
            t.n_shares = 2;
            t.sni = "www.example.com";
            t.alpn[0] = "h2";
            t.alpn[1] = "http/1.1";
            t.n_alpn = 2;
            t.session_id_len = 32;
            t.extra = pad;
            t.extra_len = sizeof(pad);
            n = tcli_client_hello(&t, msg, sizeof(msg));
            CHECK(n >= 1900);
            for (off = 0; off < n;) {
                size_t f = n - off > chunks[a] ? chunks[a] : n - off;
                k += tcli_record(ZT_CT_HANDSHAKE, msg + off, f, rec + k);
                off += f;
            }
            CHECK_MSG(tsrv_feed(s, rec, k, segs[b]) == ZT_OK,
                      "records of %zu, segments of %zu: %s", chunks[a],
                      segs[b], zt_err_str(zt_conn_error(s)));
            n = tsrv_drain(s, out, sizeof(out));
            CHECK(tcli_server_flight(&t, out, n) == 0);
            n = tcli_finished(&t, rec, 0);
            CHECK(n > 0 && tsrv_feed(s, rec, n, 0) == ZT_OK);
            CHECK(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE);
            CHECK_EQ_INT(zt_conn_group(s), ZT_GROUP_X25519MLKEM768);
            tcli_free(&t);
            zt_conn_free(s);
            zt_config_free(cfg);
        }
    }
}

void suite_pq(void)
{
    CHECK(zt_crypto_init() == 0);
    wy_keygen_decaps();
    wy_encaps();
    exact_handshake(ZT_GROUP_X25519MLKEM768);
    exact_handshake(ZT_GROUP_SECP256R1MLKEM768);
    selection();
    refusals();
    big_hello();
}
