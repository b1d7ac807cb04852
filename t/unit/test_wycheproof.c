/*
 * t/unit/test_wycheproof.c: the crypto provider (src/crypto.c) against
 * Project Wycheproof vectors, plus direct tests of credentials, signing,
 * key exchange and the AEAD wipe-on-failure contract.
 *
 * Every Wycheproof test case is one CHECK. "valid" must pass, "invalid" must
 * be rejected. "acceptable" cases are decided per file (see the comments at
 * each runner) and also counted as one CHECK each. Groups whose parameters
 * TLS 1.3 never uses (AES-GCM with a nonce other than 12 bytes, AES-192...)
 * are skipped and the skipped count is printed.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "test.h"

/*
 * Test-only: libcrypto's error queue must stay empty after our calls
 * (nginx shares it). Only src/crypto.c includes OpenSSL headers, so the
 * one function used here is declared by hand (it is in libcrypto, which
 * the runner links).
 */
unsigned long ERR_peek_error(void);

/* Per-file tally, printed after each file. */
typedef struct {
    const char *file;
    unsigned long p0, f0;
    unsigned long skipped, acceptable;
} wy_tally;

static zt_json *wy_load(const char *file, wy_tally *t)
{
    char path[512];
    char *text;
    size_t len, off = 0;
    zt_json *root;

    memset(t, 0, sizeof(*t));
    t->file = file;
    snprintf(path, sizeof(path), "%s/wycheproof/testvectors_v1/%s",
             zt_vectors_dir(), file);
    text = zt_read_file(path, &len);
    CHECK_MSG(text != NULL, "cannot read %s", path);
    if (text == NULL)
        return NULL;
    root = zt_json_parse(text, len, &off);
    CHECK_MSG(root != NULL, "%s: JSON syntax error at byte %zu", path, off);
    free(text);
    /* From here on, one CHECK per test case. */
    t->p0 = zt_test_passed;
    t->f0 = zt_test_failed;
    return root;
}

static void wy_done(zt_json *root, wy_tally *t, const char *note)
{
    printf("  %-40s %4lu passed, %lu failed, %lu skipped",
           t->file, zt_test_passed - t->p0, zt_test_failed - t->f0,
           t->skipped);
    if (t->acceptable)
        printf(" (%lu acceptable: %s)", t->acceptable, note);
    else if (t->skipped && note)
        printf(" (%s)", note);
    putchar('\n');
    zt_json_free(root);
}

/* Hex member as a malloc'd buffer (never NULL for a present member; an
 * empty string gives a 1-byte buffer with *len 0). */
static uint8_t *wy_hex(const zt_json *o, const char *key, size_t *len)
{
    const char *s = zt_json_str(o, key);

    *len = 0;
    return s != NULL ? zt_unhex(s, len) : NULL;
}

static const zt_json *wy_groups(const zt_json *root)
{
    const zt_json *g = zt_json_get(root, "testGroups");

    return g != NULL ? g->child : NULL;
}

/* Number of test cases in a group (for the skipped count). */
static size_t wy_ntests(const zt_json *group)
{
    const zt_json *t = zt_json_get(group, "tests");

    return t != NULL ? t->n : 0;
}

static const zt_json *wy_tests(const zt_json *group)
{
    const zt_json *t = zt_json_get(group, "tests");

    return t != NULL ? t->child : NULL;
}

enum { WY_VALID, WY_INVALID, WY_ACCEPTABLE };

static int wy_result(const zt_json *t)
{
    const char *r = zt_json_str(t, "result");

    if (r != NULL && strcmp(r, "valid") == 0)
        return WY_VALID;
    if (r != NULL && strcmp(r, "acceptable") == 0)
        return WY_ACCEPTABLE;
    return WY_INVALID;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* ---- AEAD: aes_gcm, chacha20_poly1305 ------------------------------------ */

static void wy_aead(const char *file, int chacha)
{
    wy_tally tl;
    zt_json *root = wy_load(file, &tl);
    const zt_json *g, *t;

    if (root == NULL)
        return;
    for (g = wy_groups(root); g != NULL; g = g->next) {
        long ks = zt_json_int(g, "keySize", 0);
        long ivs = zt_json_int(g, "ivSize", 0);
        long tags = zt_json_int(g, "tagSize", 0);
        zt_aead_alg alg;

        if (chacha)
            alg = ZT_AEAD_CHACHA20_POLY1305;
        else
            alg = ks == 128 ? ZT_AEAD_AES_128_GCM : ZT_AEAD_AES_256_GCM;
        /* TLS 1.3 uses 96-bit nonces and 128-bit tags only (RFC 8446
         * section 5.3); AES-192 is not a TLS 1.3 suite. */
        if (ivs != 96 || tags != 128 || (chacha ? ks != 256
                                                : (ks != 128 && ks != 256))) {
            tl.skipped += wy_ntests(g);
            continue;
        }
        for (t = wy_tests(g); t != NULL; t = t->next) {
            size_t kl, nl, al, ml, cl, tgl;
            uint8_t *key = wy_hex(t, "key", &kl);
            uint8_t *iv = wy_hex(t, "iv", &nl);
            uint8_t *aad = wy_hex(t, "aad", &al);
            uint8_t *msg = wy_hex(t, "msg", &ml);
            uint8_t *ct = wy_hex(t, "ct", &cl);
            uint8_t *tag = wy_hex(t, "tag", &tgl);
            uint8_t *buf = malloc(ml + cl + 1);
            uint8_t out_tag[ZT_AEAD_TAG_LEN];
            int res = wy_result(t), opened = 0, sealed = 0, wiped = 1;
            zt_aead *a = NULL;

            if (key && iv && aad && msg && ct && tag && buf &&
                kl == zt_aead_key_len(alg) && nl == ZT_AEAD_NONCE_LEN &&
                tgl == ZT_AEAD_TAG_LEN)
                a = zt_aead_new(alg, key);
            if (a != NULL) {
                /* Seal then open on the same context: only the nonce
                 * changes between calls. */
                memcpy(buf, msg, ml);
                sealed = zt_aead_seal(a, iv, aad, al, buf, ml, out_tag) == 0 &&
                         ml == cl && memcmp(buf, ct, cl) == 0 &&
                         memcmp(out_tag, tag, ZT_AEAD_TAG_LEN) == 0;
                memcpy(buf, ct, cl);
                if (zt_aead_open(a, iv, aad, al, buf, cl, tag) == 0)
                    opened = cl == ml && memcmp(buf, msg, ml) == 0;
                else
                    wiped = all_zero(buf, cl);
            }
            if (res == WY_VALID)
                CHECK_MSG(a != NULL && sealed && opened, "%s tcId %ld", file,
                          zt_json_int(t, "tcId", -1));
            else
                CHECK_MSG(!opened && wiped, "%s tcId %ld", file,
                          zt_json_int(t, "tcId", -1));
            zt_aead_free(a);
            free(key), free(iv), free(aad), free(msg), free(ct), free(tag);
            free(buf);
        }
    }
    wy_done(root, &tl, "iv or tag size, or key size, not used by TLS 1.3");
}

/* ---- key exchange: x25519, ecdh_secp256r1_ecpoint -------------------------- */

/*
 * x25519 "acceptable" cases (twist points, non-canonical u-coordinates,
 * low-order points...): RFC 7748 says to compute them, and libsodium does.
 * Our rule: an acceptable case whose shared value is all zeros must be
 * rejected (RFC 8446 section 7.4.2); any other must give exactly the
 * expected shared value.
 */
static void wy_x25519(void)
{
    wy_tally tl;
    zt_json *root = wy_load("x25519_test.json", &tl);
    const zt_json *g, *t;

    if (root == NULL)
        return;
    for (g = wy_groups(root); g != NULL; g = g->next) {
        for (t = wy_tests(g); t != NULL; t = t->next) {
            size_t pl, kl, sl, n = 0;
            uint8_t *pub = wy_hex(t, "public", &pl);
            uint8_t *priv = wy_hex(t, "private", &kl);
            uint8_t *shared = wy_hex(t, "shared", &sl);
            uint8_t out[ZT_KX_MAX_SECRET];
            int res = wy_result(t), rc = -1, match;

            if (pub && priv && shared && kl == 32)
                rc = zt_kx_derive(ZT_GROUP_X25519, priv, pub, pl, out, &n);
            match = rc == 0 && n == sl && memcmp(out, shared, sl) == 0;
            if (res == WY_ACCEPTABLE) {
                tl.acceptable++;
                if (shared != NULL && all_zero(shared, sl))
                    CHECK_MSG(rc != 0, "x25519 tcId %ld: zero secret accepted",
                              zt_json_int(t, "tcId", -1));
                else
                    CHECK_MSG(match, "x25519 tcId %ld",
                              zt_json_int(t, "tcId", -1));
            } else if (res == WY_VALID) {
                CHECK_MSG(match, "x25519 tcId %ld", zt_json_int(t, "tcId", -1));
            } else {
                CHECK_MSG(rc != 0, "x25519 tcId %ld",
                          zt_json_int(t, "tcId", -1));
            }
            free(pub), free(priv), free(shared);
        }
    }
    wy_done(root, &tl, "zero results rejected, others must match");
}

/*
 * ecdh_secp256r1_ecpoint: the public key is an X9.62 point. TLS 1.3 allows
 * only the uncompressed form (RFC 8446 section 4.2.8.2), so the one
 * "acceptable" case (a compressed point) must be rejected here.
 */
static void wy_ecdh_p256(void)
{
    wy_tally tl;
    zt_json *root = wy_load("ecdh_secp256r1_ecpoint_test.json", &tl);
    const zt_json *g, *t;

    if (root == NULL)
        return;
    for (g = wy_groups(root); g != NULL; g = g->next) {
        const char *curve = zt_json_str(g, "curve");

        if (curve == NULL || strcmp(curve, "secp256r1") != 0) {
            tl.skipped += wy_ntests(g);
            continue;
        }
        for (t = wy_tests(g); t != NULL; t = t->next) {
            size_t pl, kl, sl, n = 0, i = 0;
            uint8_t *pub = wy_hex(t, "public", &pl);
            uint8_t *priv = wy_hex(t, "private", &kl);
            uint8_t *shared = wy_hex(t, "shared", &sl);
            uint8_t k[32], out[ZT_KX_MAX_SECRET];
            int res = wy_result(t), rc = -1, match;

            /* The vectors write the scalar as a minimal or sign-padded
             * big-endian integer; zt_kx_derive wants exactly 32 bytes. */
            while (priv != NULL && i < kl && priv[i] == 0)
                i++;
            if (pub && priv && shared && kl - i <= 32) {
                memset(k, 0, sizeof(k));
                memcpy(k + 32 - (kl - i), priv + i, kl - i);
                rc = zt_kx_derive(ZT_GROUP_SECP256R1, k, pub, pl, out, &n);
            }
            match = rc == 0 && n == sl && memcmp(out, shared, sl) == 0;
            if (res == WY_VALID) {
                CHECK_MSG(match, "ecdh p256 tcId %ld",
                          zt_json_int(t, "tcId", -1));
            } else {
                if (res == WY_ACCEPTABLE)
                    tl.acceptable++;
                CHECK_MSG(rc != 0, "ecdh p256 tcId %ld (%s)",
                          zt_json_int(t, "tcId", -1),
                          zt_json_str(t, "comment"));
            }
            free(pub), free(priv), free(shared);
        }
    }
    wy_done(root, &tl, "compressed points rejected, RFC 8446 4.2.8.2");
}

/* ---- signatures: ecdsa, ed25519, rsa-pss ----------------------------------- */

static uint16_t pss_scheme(const char *sha)
{
    if (sha == NULL)
        return 0;
    if (strcmp(sha, "SHA-256") == 0)
        return ZT_SIG_RSA_PSS_RSAE_SHA256;
    if (strcmp(sha, "SHA-384") == 0)
        return ZT_SIG_RSA_PSS_RSAE_SHA384;
    if (strcmp(sha, "SHA-512") == 0)
        return ZT_SIG_RSA_PSS_RSAE_SHA512;
    return 0;
}

static size_t sha_len(const char *sha)
{
    if (sha == NULL)
        return 0;
    if (strcmp(sha, "SHA-256") == 0)
        return 32;
    if (strcmp(sha, "SHA-384") == 0)
        return 48;
    if (strcmp(sha, "SHA-512") == 0)
        return 64;
    return 0;
}

/*
 * scheme 0: RSA-PSS, taken from the group's "sha" (with MGF1 of the same
 * hash and salt length = hash length, the only form TLS 1.3 uses; other
 * groups are skipped). Acceptable cases: none in these files; if any
 * appear they are counted and must verify or not consistently (one CHECK
 * that the call returned).
 */
static void wy_sig(const char *file, uint16_t scheme)
{
    wy_tally tl;
    zt_json *root = wy_load(file, &tl);
    const zt_json *g, *t;

    if (root == NULL)
        return;
    for (g = wy_groups(root); g != NULL; g = g->next) {
        uint16_t sch = scheme;
        size_t dl;
        uint8_t *der = wy_hex(g, "publicKeyDer", &dl);

        if (sch == ZT_SIG_ECDSA_SECP256R1_SHA256) {
            const char *sha = zt_json_str(g, "sha");

            if (sha == NULL || strcmp(sha, "SHA-256") != 0)
                sch = 0;
        } else if (sch == 0) {
            const char *sha = zt_json_str(g, "sha");
            const char *mgf = zt_json_str(g, "mgfSha");

            if (mgf != NULL && sha != NULL && strcmp(mgf, sha) == 0 &&
                zt_json_int(g, "sLen", -1) == (long)sha_len(sha))
                sch = pss_scheme(sha);
        }
        if (sch == 0 || der == NULL) {
            tl.skipped += wy_ntests(g);
            free(der);
            continue;
        }
        for (t = wy_tests(g); t != NULL; t = t->next) {
            size_t ml, sl;
            uint8_t *msg = wy_hex(t, "msg", &ml);
            uint8_t *sig = wy_hex(t, "sig", &sl);
            int res = wy_result(t), rc = -1;

            if (msg && sig)
                rc = zt_verify_pubkey_sig(der, dl, sch, msg, ml, sig, sl);
            if (res == WY_VALID) {
                CHECK_MSG(rc == 0, "%s tcId %ld (%s)", file,
                          zt_json_int(t, "tcId", -1),
                          zt_json_str(t, "comment"));
            } else if (res == WY_INVALID) {
                CHECK_MSG(rc != 0, "%s tcId %ld (%s)", file,
                          zt_json_int(t, "tcId", -1),
                          zt_json_str(t, "comment"));
            } else {
                tl.acceptable++;
                CHECK(rc == 0 || rc == -1); /* the call kept its contract */
            }
            free(msg), free(sig);
        }
        free(der);
    }
    wy_done(root, &tl, "either outcome allowed");
}

/* ---- HKDF, HMAC ------------------------------------------------------------ */

static void wy_hkdf(const char *file, zt_hash_alg alg)
{
    wy_tally tl;
    zt_json *root = wy_load(file, &tl);
    const zt_json *g, *t;

    if (root == NULL)
        return;
    for (g = wy_groups(root); g != NULL; g = g->next) {
        for (t = wy_tests(g); t != NULL; t = t->next) {
            size_t il, sl, fl, ol;
            uint8_t *ikm = wy_hex(t, "ikm", &il);
            uint8_t *salt = wy_hex(t, "salt", &sl);
            uint8_t *info = wy_hex(t, "info", &fl);
            uint8_t *okm = wy_hex(t, "okm", &ol);
            long size = zt_json_int(t, "size", -1);
            uint8_t prk[ZT_MAX_HASH_LEN];
            uint8_t *out = size > 0 ? malloc((size_t)size) : NULL;
            int res = wy_result(t), rc = -1;

            if (ikm && salt && info && okm && size >= 0 &&
                (out != NULL || size == 0) &&
                zt_hkdf_extract(alg, salt, sl, ikm, il, prk) == 0)
                rc = zt_hkdf_expand(alg, prk, zt_hash_len(alg), info, fl,
                                    out, (size_t)size);
            if (res == WY_VALID)
                CHECK_MSG(rc == 0 && ol == (size_t)size &&
                              (size == 0 || memcmp(out, okm, ol) == 0),
                          "%s tcId %ld", file, zt_json_int(t, "tcId", -1));
            else
                CHECK_MSG(rc != 0, "%s tcId %ld", file,
                          zt_json_int(t, "tcId", -1));
            free(ikm), free(salt), free(info), free(okm), free(out);
        }
    }
    wy_done(root, &tl, NULL);
}

/* Tags in the truncated groups are a prefix of the full HMAC. */
static void wy_hmac(const char *file, zt_hash_alg alg)
{
    wy_tally tl;
    zt_json *root = wy_load(file, &tl);
    const zt_json *g, *t;

    if (root == NULL)
        return;
    for (g = wy_groups(root); g != NULL; g = g->next) {
        size_t want = (size_t)zt_json_int(g, "tagSize", 0) / 8;

        if (want == 0 || want > zt_hash_len(alg)) {
            tl.skipped += wy_ntests(g);
            continue;
        }
        for (t = wy_tests(g); t != NULL; t = t->next) {
            size_t kl, ml, tgl;
            uint8_t *key = wy_hex(t, "key", &kl);
            uint8_t *msg = wy_hex(t, "msg", &ml);
            uint8_t *tag = wy_hex(t, "tag", &tgl);
            uint8_t mac[ZT_MAX_HASH_LEN];
            int res = wy_result(t), ok = 0;

            if (key && msg && tag &&
                zt_hmac(alg, key, kl, msg, ml, mac) == 0)
                ok = tgl == want && zt_ct_equal(mac, tag, want);
            if (res == WY_VALID)
                CHECK_MSG(ok, "%s tcId %ld", file, zt_json_int(t, "tcId", -1));
            else
                CHECK_MSG(!ok, "%s tcId %ld", file,
                          zt_json_int(t, "tcId", -1));
            free(key), free(msg), free(tag);
        }
    }
    wy_done(root, &tl, NULL);
}

/* ---- direct tests ---------------------------------------------------------- */

/* Self-signed test certificates made with `openssl req -x509 -days 36500`
 * (OpenSSL 3.0); every leaf expires 2126-10-29 03:54:44 UTC. */
#define TEST_NOT_AFTER 4948919684LL

static const char ED25519_CRT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBOjCB7aADAgECAhRwUFEeyf99NkLLdVInx7XkBseakzAFBgMrZXAwEjEQMA4G\n"
    "A1UEAwwHZWQudGVzdDAgFw0yNjExMjIwMzU0NDRaGA8yMTI2MTAyOTAzNTQ0NFow\n"
    "EjEQMA4GA1UEAwwHZWQudGVzdDAqMAUGAytlcAMhAOv/vrn/2RRj0HImhrPoOSoM\n"
    "S4e5INUT6ixvibLWHnGDo1MwUTAdBgNVHQ4EFgQUp3d68eqfY9v224X2aqqV3OKK\n"
    "zRswHwYDVR0jBBgwFoAUp3d68eqfY9v224X2aqqV3OKKzRswDwYDVR0TAQH/BAUw\n"
    "AwEB/zAFBgMrZXADQQCGaDNJFEp28BGnn0awUtfTL3PV9wlkU+kF21HO1krQkfmD\n"
    "hgwgzCS6+2bqObKIxX3Ofgvw2pbu/UUyBD2KowwD\n"
    "-----END CERTIFICATE-----\n";

static const char ED25519_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJQGLZNw0+yGhYm2FyNsVcfWSYc2stALusyGAFaM1ZNb\n"
    "-----END PRIVATE KEY-----\n";

static const char P256_CRT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBfzCCASWgAwIBAgIUdE9iDNa2KvCi+N1/k74Zh9CDC6AwCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAwwJcDI1Ni50ZXN0MCAXDTI2MTEyMjAzNTQ0NFoYDzIxMjYxMDI5\n"
    "MDM1NDQ0WjAUMRIwEAYDVQQDDAlwMjU2LnRlc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
    "PQMBBwNCAAQOgqVFPMPZcx8hw4u/0NYKYXo7Ocl9gyv80Vmji+8Zbj0/mUMuz/7q\n"
    "jhhMB4ow2R3/17NtHuzPfrXzy2drpDjPo1MwUTAdBgNVHQ4EFgQUjBgR3RrEyf7v\n"
    "1epsJH9V5xU6XhIwHwYDVR0jBBgwFoAUjBgR3RrEyf7v1epsJH9V5xU6XhIwDwYD\n"
    "VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiApt6bXHlTxoWpnXbdLwIrT\n"
    "bLmxvSxMaTMtcUfT0BmDOwIhAOA61YX5HSKTnrkwUJeoOTdgLX3n50K3GO4F4z+c\n"
    "bVKz\n"
    "-----END CERTIFICATE-----\n";

static const char P256_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8/i9j7THFiodBhjw\n"
    "9dcSCjleNmdbWhlStcE3CrDrAAShRANCAAQOgqVFPMPZcx8hw4u/0NYKYXo7Ocl9\n"
    "gyv80Vmji+8Zbj0/mUMuz/7qjhhMB4ow2R3/17NtHuzPfrXzy2drpDjP\n"
    "-----END PRIVATE KEY-----\n";

static const char P256_OTHER_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDFfRpgtygdCHxVCY\n"
    "hsGt/AqK9nw61mFY8A4mNFj5aAGhRANCAAQDIPCUbm8kncDUB3IcPla4GCpLP52C\n"
    "elcsiEZ40fm9z3IVgJsVh7y8bPnJ7yJi1NL2ieeDMEh3f34Uigu95dNt\n"
    "-----END PRIVATE KEY-----\n";

static const char P384_CRT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBvDCCAUKgAwIBAgIUVZ9K2NVWlX2saKtRyZBOXT8JSCwwCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAwwJcDM4NC50ZXN0MCAXDTI2MTEyMjAzNTQ0NFoYDzIxMjYxMDI5\n"
    "MDM1NDQ0WjAUMRIwEAYDVQQDDAlwMzg0LnRlc3QwdjAQBgcqhkjOPQIBBgUrgQQA\n"
    "IgNiAARRGF6Saj3gWvPcQ85Mglq3FsQWn4cgUTwRE+5p4bmXkKruQvPgJMDmEi4L\n"
    "L4gfe4k8beYDjuEtKFcMf5v37sju0xf1KYUPVstcAHzgaJQ/e4mqZfPOvcpxS4D6\n"
    "Jx5vpmujUzBRMB0GA1UdDgQWBBQj8Hqh3foPir8obrep8SgCkitaMDAfBgNVHSME\n"
    "GDAWgBQj8Hqh3foPir8obrep8SgCkitaMDAPBgNVHRMBAf8EBTADAQH/MAoGCCqG\n"
    "SM49BAMCA2gAMGUCMQDyApPIQkYqgD2M4yWdwYgQVUkG9LkwpSQ5WEgHDdB8DJUQ\n"
    "s/ueO3JdoI+wM5j+0+gCMHzhqgpJKLgxuwbHprldfuw+1ZDfBfXG/XakKnyGb88Z\n"
    "X4/uC9l5AR4BGDjDPGGyaQ==\n"
    "-----END CERTIFICATE-----\n";

static const char P384_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDAUYROd1lgfmhwc+gyv\n"
    "9FvVxy0lVXmJ9++RufEpO9wYJMDu/d1EW6gK53cczAad1LShZANiAARRGF6Saj3g\n"
    "WvPcQ85Mglq3FsQWn4cgUTwRE+5p4bmXkKruQvPgJMDmEi4LL4gfe4k8beYDjuEt\n"
    "KFcMf5v37sju0xf1KYUPVstcAHzgaJQ/e4mqZfPOvcpxS4D6Jx5vpms=\n"
    "-----END PRIVATE KEY-----\n";

static const char RSA2048_CRT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDETCCAfmgAwIBAgIUTpuHEDPmpcFheoSaBClShH5fOUMwDQYJKoZIhvcNAQEL\n"
    "BQAwFzEVMBMGA1UEAwwMcnNhMjA0OC50ZXN0MCAXDTI2MTEyMjAzNTQ0NFoYDzIx\n"
    "MjYxMDI5MDM1NDQ0WjAXMRUwEwYDVQQDDAxyc2EyMDQ4LnRlc3QwggEiMA0GCSqG\n"
    "SIb3DQEBAQUAA4IBDwAwggEKAoIBAQCxOK8ce+igv7YQ/2HFQYZrulO81pvNhSf8\n"
    "PigRZ5M5+91eWf0kj5XUMcP7CuLwig+y/aiGlOosIOhPT1xgNGvO3G4Dp9kxzpG7\n"
    "VEgb+yH1gdf11CgaLuBhdHdZ/977u3M+kuOz1qpIKBugBNwknGZPbCaAeIP0aZ9n\n"
    "3zwvODSypATk1YU+CEwep/ov3ZucT1Do6dJ8uCzWwFRIsgTnFVu/vhbpEDPOgSN4\n"
    "40T3WNQIHDefFBvv6uX+R9azIepjRyD5j2hySZUkg0H5IK1LH0IIFbjZ60DnN/e9\n"
    "WclKHamNO9elyArdjmrvF0HcgvVS4hF64HDyD83S8bfGfCymajJzAgMBAAGjUzBR\n"
    "MB0GA1UdDgQWBBTR8NN3S9111/2YaW2YmDlJcBZ9/zAfBgNVHSMEGDAWgBTR8NN3\n"
    "S9111/2YaW2YmDlJcBZ9/zAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUA\n"
    "A4IBAQB1jwFPkAPt8OAleTbbOdla3F81xFTSXD6/zXGc5KnQrOS/TSy+q8X6Y2Qi\n"
    "/3UqlyccNbHeOL2cETOgs3N9TNAw8qbwwjTHLAnrh1UGRwiK5fnSw6wIW6L05VyD\n"
    "FAYGYWa41DEDc0M1DZ0w1yvWgG2gUePaX1vJzjq3mOKnvQzGMnzSp41EDPMeAlI4\n"
    "jcrBQYVuCeFkm9m4yoVnGtYgb3fy1TEJB0vXemMg2ZKuOJKUHzFHuWBbXBdfNJVj\n"
    "5qRlzdiRUeCRk7hFcNbWWPyqJRCmHFdj6tEnzKxpBVps7pAvvfx1toxs2TC29tDD\n"
    "E8GT1FPh0yKYSO5oUUg/TzanOC5p\n"
    "-----END CERTIFICATE-----\n";

static const char RSA2048_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEuwIBADANBgkqhkiG9w0BAQEFAASCBKUwggShAgEAAoIBAQCxOK8ce+igv7YQ\n"
    "/2HFQYZrulO81pvNhSf8PigRZ5M5+91eWf0kj5XUMcP7CuLwig+y/aiGlOosIOhP\n"
    "T1xgNGvO3G4Dp9kxzpG7VEgb+yH1gdf11CgaLuBhdHdZ/977u3M+kuOz1qpIKBug\n"
    "BNwknGZPbCaAeIP0aZ9n3zwvODSypATk1YU+CEwep/ov3ZucT1Do6dJ8uCzWwFRI\n"
    "sgTnFVu/vhbpEDPOgSN440T3WNQIHDefFBvv6uX+R9azIepjRyD5j2hySZUkg0H5\n"
    "IK1LH0IIFbjZ60DnN/e9WclKHamNO9elyArdjmrvF0HcgvVS4hF64HDyD83S8bfG\n"
    "fCymajJzAgMBAAECgf8Zs9Aax5wWRKPupTV7tQuvgF0NsNdDvECgvbhaIy6zyotJ\n"
    "6LymnerOMOzL5PzQXCHqv//ysscPHBKVLGoR8t2v2nzR8KbKeDGkAB8StLvcNLcD\n"
    "Pu+yz04kkosYqc7bHIkXAFD/Te5Qov03S7GoYpBMpb6uHkkfNptkj3HpdGTAl06c\n"
    "XIzUbI1MLuVeV6vkfvtkXz+6ZVEnvLl+A618lPQWcwgEBbBhrNS1N1pwAu170/y8\n"
    "WcctMif4IHymHeLYgsyPjxGSaB4r5LdYji5Ijlz5Ml43cuNfVgH64/CuC8GonIG+\n"
    "2L2PmLRMwFcQ4KYyRxdYF3VNv9Zj4Sb8qKJFgUECgYEA2/y3hd2Q2046/faU24gq\n"
    "PJjZ9xI2vdltPPvJlGy3X0BLs1VbwOYvZ7K2So9XBO0KZZGKQEqWKyI/lKNYFlyO\n"
    "q0hfGwjPIxy5kTLlDZSds4YGvAv6mqZuMqLsWdtUNPirv/uBBdiU+eBCyGWq9Ka5\n"
    "139G0Av4Lxs+vpFpgxtu0McCgYEAzju6abntNNrqPHxp45XRnN0Aeddi4/Ea/dnY\n"
    "l/wdEsEW309E+3A9WgRvvSWrUByTs0ra0uImxIFUUTiIQsg52RZSrkdC8v6ERv3R\n"
    "oKXBse3BfrpXWjnwV5wDjfnYIFdUm+xCm6r12FB2QAczEl9mxiMt6JqVaLeHdEs8\n"
    "4QHkfPUCgYBY5Et8SkWoeHoZ+TO5adI3XkRlM/Tuzhb4F34i/bMzSBXOx2UmE12A\n"
    "d5R1mGo/UVFsLV1CEWGQ2Gv8sex8TLZRvBLCJ9MbixXo+DnaPP1kd3ntLqH7L9lD\n"
    "mNYMkTX7mag9EXHXXOcF+XrC42IrLdvWmlWQ5+VHk6jM9JFAKyuiLQKBgQCgMTDZ\n"
    "Uvx349uyZAl0KDmLmPb3rWA5Il0O9ZoSZFjI6oczqkUw8bwWIgARciMhtTDdQbW7\n"
    "vMLUPIkcFcdx6ElW4MoUaXINgbmJ0zpziI1uAfocz+1uPjb8NklkjL9eT7d+7gPH\n"
    "GwKfpdBUZ8M58DTKjyTn2rtXfcePg6mkNW4fyQKBgA3uWiiI8yKkUOEPLQ/JfT7R\n"
    "eDyuNbz1+L6qw1WawUSb7mf9GT3Q9WAeEsko93PgEKkr+YnN3vasFU/AOf18EDP2\n"
    "utUxc933fVuiwOg2IYu9f+c0DFXtLus0sN7vaVnZwwUY5FWG29qwS2wUm393BCAM\n"
    "24viojYlFNwAr9frP9Em\n"
    "-----END PRIVATE KEY-----\n";

static const char RSA1024_CRT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICDDCCAXWgAwIBAgIUG2RRSQVLSw4/J0nQEV90Bt4QdFAwDQYJKoZIhvcNAQEL\n"
    "BQAwFzEVMBMGA1UEAwwMcnNhMTAyNC50ZXN0MCAXDTI2MTEyMjAzNTQ0NFoYDzIx\n"
    "MjYxMDI5MDM1NDQ0WjAXMRUwEwYDVQQDDAxyc2ExMDI0LnRlc3QwgZ8wDQYJKoZI\n"
    "hvcNAQEBBQADgY0AMIGJAoGBANbm1SGsg+wqeK9sz8pf1xZkhRnqHBXCeY9Npzvd\n"
    "bSQuigfDbMpARTxoy3Xrd+EwdRg/zQDkPtbCHBwkBZ4D8QHvmjqwwtoNutom9VGA\n"
    "ukAhQQYjNBpdmgO6r2x2yLVYLcfHjoBy0xsYp9ycqaOqRhpL+gMhm4ZGGzLcDAmx\n"
    "XamRAgMBAAGjUzBRMB0GA1UdDgQWBBQBdWJMg/7rhEseBbs1K1H5VAewFDAfBgNV\n"
    "HSMEGDAWgBQBdWJMg/7rhEseBbs1K1H5VAewFDAPBgNVHRMBAf8EBTADAQH/MA0G\n"
    "CSqGSIb3DQEBCwUAA4GBAIqbyZOjRgFvuxaladjxCxPIcbMZQdDO99aPVcv4TV8V\n"
    "r4xOyUOGG3oQSPelc+/eoPYgqUKIm+IQqiiTEppf7R97/xEbP2WAb0W1KLZfp+OO\n"
    "fZwJhjMWAWGo+sWPBzNH8naQYaIsIR/2rMbKjZ7n987awWm6SVF+ccr6Xxbok37D\n"
    "-----END CERTIFICATE-----\n";

static const char RSA1024_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBANbm1SGsg+wqeK9s\n"
    "z8pf1xZkhRnqHBXCeY9NpzvdbSQuigfDbMpARTxoy3Xrd+EwdRg/zQDkPtbCHBwk\n"
    "BZ4D8QHvmjqwwtoNutom9VGAukAhQQYjNBpdmgO6r2x2yLVYLcfHjoBy0xsYp9yc\n"
    "qaOqRhpL+gMhm4ZGGzLcDAmxXamRAgMBAAECgYBghEfQ2eReGy0czKf+YlD9s6O7\n"
    "4dM/SprB68RiNK6iA2zm07R2mar+2KoYierLbrIIdA8kiV5XodJyKROExoxk2OZG\n"
    "2wDmfPnaAJIL83o66zNdOBHqzv8giudRMaxwZQ9rKVYzsGFtlTisGfg7aJ6QvHU5\n"
    "DgOFRgZLG7ixqWllYQJBAP0NFswM0vRK2OB1z27PPjEllpwDipWXRFrl/lEfdUOX\n"
    "UTUPDd1caxDmRItd8fF9Frn1umidul20Hji4GoBpyh0CQQDZZ+9MMfP7xr6dWaKM\n"
    "4W/cZXbojmG/H124Hn1/hq+nxGaqsxnzt3LvFo5s2/j2tgqxgHPnPUJV/nVInY4B\n"
    "WeMFAkEAtCPjPLNMYXf+2BtF5b5Gqbn2c23Z9A/RK1xbJOjeE5Xey4TB+/lUhp1F\n"
    "4mioWZ8Q1KTnZJ4UE6yrbvkwdIXayQJAF8qsAWamELObQJUCmPBC0Ze4/5I1WDkS\n"
    "hIexrDcNGgsAQUYAXQ+CYG/Tfk5EXJtnaC1qga/OhqKmKyAy3ir8EQJBAOaes3D1\n"
    "ewW/OsfDagwupP7Qc0YBDDRTmnysbJ7oMc+rByMxFoKBcw8TE3FVAMzjkxfOgylv\n"
    "j/TNfM/4OcOYz2A=\n"
    "-----END PRIVATE KEY-----\n";

/* A random source that replays a script, then counts up. */
typedef struct {
    const uint8_t *script;
    size_t len, pos;
    unsigned calls;
} script_rng;

static int script_random(void *arg, uint8_t *out, size_t len)
{
    script_rng *r = arg;
    size_t i;

    r->calls++;
    for (i = 0; i < len; i++)
        out[i] = r->pos < r->len ? r->script[r->pos++] : (uint8_t)(i + 1);
    return 0;
}

static int load(zt_cred *c, const char *crt, const char *key, char *err,
                size_t err_len)
{
    return zt_cred_load(c, crt, strlen(crt), key, strlen(key), err, err_len);
}

static void sign_round_trip(const zt_cred *c, uint16_t scheme)
{
    static const uint8_t msg[] = "TLS 1.3, server CertificateVerify";
    uint8_t sig[ZT_MAX_SIG_LEN], bad[sizeof(msg)];
    size_t sl = sizeof(sig);

    CHECK_MSG(zt_cred_sign(c, scheme, msg, sizeof(msg), sig, &sl) == 0,
              "sign 0x%04x", scheme);
    CHECK_MSG(zt_verify_cert_sig(c->chain_der[0], c->chain_len[0], scheme,
                                 msg, sizeof(msg), sig, sl) == 0,
              "verify 0x%04x", scheme);
    memcpy(bad, msg, sizeof(msg));
    bad[3] ^= 1;
    CHECK_MSG(zt_verify_cert_sig(c->chain_der[0], c->chain_len[0], scheme,
                                 bad, sizeof(bad), sig, sl) != 0,
              "verify 0x%04x of a changed message", scheme);
    sig[sl / 2] ^= 0x40;
    CHECK_MSG(zt_verify_cert_sig(c->chain_der[0], c->chain_len[0], scheme,
                                 msg, sizeof(msg), sig, sl) != 0,
              "verify 0x%04x of a changed signature", scheme);
    /* A buffer too small is refused, not overrun. */
    sl = 8;
    CHECK(zt_cred_sign(c, scheme, msg, sizeof(msg), sig, &sl) != 0);
}

static void test_creds(void)
{
    char err[256], chain[4096];
    zt_cred c;
    size_t sl;
    uint8_t sig[ZT_MAX_SIG_LEN];

    /* Two unrelated certificates are not a chain: refused (the order
     * check of zt_cred_load; a real chain is tested in test_engine.c). */
    snprintf(chain, sizeof(chain), "%s%s", ED25519_CRT, P256_CRT);
    CHECK(load(&c, chain, ED25519_KEY, err, sizeof(err)) != 0);
    CHECK_MSG(strstr(err, "out of order") != NULL, "%s", err);

    /* Ed25519 alone */
    CHECK_MSG(load(&c, ED25519_CRT, ED25519_KEY, err, sizeof(err)) == 0, "%s",
              err);
    CHECK_EQ_INT(c.type, ZT_KEY_ED25519);
    CHECK_EQ_INT(c.n_chain, 1);
    CHECK_EQ_INT(c.not_after, TEST_NOT_AFTER);
    sign_round_trip(&c, ZT_SIG_ED25519);
    sl = sizeof(sig);
    CHECK(zt_cred_sign(&c, ZT_SIG_ECDSA_SECP256R1_SHA256, (const uint8_t *)"x",
                       1, sig, &sl) != 0);
    zt_cred_free(&c);
    CHECK(c.pkey == NULL && c.n_chain == 0 && all_zero(c.ed25519_sk, 64));

    /* ECDSA P-256. */
    CHECK_MSG(load(&c, P256_CRT, P256_KEY, err, sizeof(err)) == 0, "%s", err);
    CHECK_EQ_INT(c.type, ZT_KEY_ECDSA_P256);
    CHECK_EQ_INT(c.n_chain, 1);
    CHECK_EQ_INT(c.not_after, TEST_NOT_AFTER);
    sign_round_trip(&c, ZT_SIG_ECDSA_SECP256R1_SHA256);
    sl = sizeof(sig);
    CHECK(zt_cred_sign(&c, ZT_SIG_RSA_PSS_RSAE_SHA256, (const uint8_t *)"x", 1,
                       sig, &sl) != 0);
    zt_cred_free(&c);

    /* RSA-2048 with the three PSS schemes. */
    CHECK_MSG(load(&c, RSA2048_CRT, RSA2048_KEY, err, sizeof(err)) == 0, "%s",
              err);
    CHECK_EQ_INT(c.type, ZT_KEY_RSA);
    CHECK_EQ_INT(c.rsa_bits, 2048);
    CHECK_EQ_INT(c.not_after, TEST_NOT_AFTER);
    sign_round_trip(&c, ZT_SIG_RSA_PSS_RSAE_SHA256);
    sign_round_trip(&c, ZT_SIG_RSA_PSS_RSAE_SHA384);
    sign_round_trip(&c, ZT_SIG_RSA_PSS_RSAE_SHA512);
    sl = sizeof(sig);
    CHECK(zt_cred_sign(&c, ZT_SIG_ED25519, (const uint8_t *)"x", 1, sig,
                       &sl) != 0);
    /* A PSS-SHA256 signature does not verify as PSS-SHA384. */
    sl = sizeof(sig);
    CHECK(zt_cred_sign(&c, ZT_SIG_RSA_PSS_RSAE_SHA256, (const uint8_t *)"x", 1,
                       sig, &sl) == 0 && sl == 256);
    CHECK(zt_verify_cert_sig(c.chain_der[0], c.chain_len[0],
                             ZT_SIG_RSA_PSS_RSAE_SHA384, (const uint8_t *)"x",
                             1, sig, sl) != 0);
    zt_cred_free(&c);

    /* Failures, each with a message. */
    err[0] = '\0';
    CHECK(load(&c, P256_CRT, P256_OTHER_KEY, err, sizeof(err)) != 0);
    CHECK_MSG(strstr(err, "does not match") != NULL, "err: %s", err);
    CHECK(c.pkey == NULL && c.n_chain == 0);
    err[0] = '\0';
    CHECK(load(&c, ED25519_CRT, P256_KEY, err, sizeof(err)) != 0);
    CHECK_MSG(strstr(err, "does not match") != NULL, "err: %s", err);
    err[0] = '\0';
    CHECK(load(&c, RSA1024_CRT, RSA1024_KEY, err, sizeof(err)) != 0);
    CHECK_MSG(strstr(err, "RSA 1024 bits") != NULL, "err: %s", err);
    err[0] = '\0';
    CHECK(load(&c, P384_CRT, P384_KEY, err, sizeof(err)) != 0);
    CHECK_MSG(strstr(err, "unsupported key type: EC curve secp384r1") != NULL,
              "err: %s", err);
    err[0] = '\0';
    CHECK(load(&c, "", P256_KEY, err, sizeof(err)) != 0);
    CHECK_MSG(strstr(err, "no certificate") != NULL, "err: %s", err);
    err[0] = '\0';
    CHECK(load(&c, P256_CRT, "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                             "-----END PRIVATE KEY-----\n",
               err, sizeof(err)) != 0);
    CHECK_MSG(err[0] != '\0', "empty error message");
    /* A damaged second certificate is an error, not a short chain. */
    snprintf(chain, sizeof(chain), "%s%s", P256_CRT,
             "-----BEGIN CERTIFICATE-----\nMIIBfzCC\n"
             "-----END CERTIFICATE-----\n");
    err[0] = '\0';
    CHECK(load(&c, chain, P256_KEY, err, sizeof(err)) != 0);
    CHECK_MSG(strstr(err, "certificate 2") != NULL, "err: %s", err);
    /* Garbage certificate DER for verification. */
    CHECK(zt_verify_cert_sig((const uint8_t *)"\x30\x03\x02\x01\x01", 5,
                             ZT_SIG_ED25519, (const uint8_t *)"x", 1, sig,
                             64) != 0);
    CHECK_MSG(ERR_peek_error() == 0, "libcrypto error queue not empty");
}

static void test_aead_direct(void)
{
    static const zt_aead_alg algs[] = {ZT_AEAD_AES_128_GCM,
                                       ZT_AEAD_AES_256_GCM,
                                       ZT_AEAD_CHACHA20_POLY1305};
    uint8_t key[ZT_AEAD_MAX_KEY_LEN], nonce[ZT_AEAD_NONCE_LEN];
    uint8_t rec[3][300], tag[3][ZT_AEAD_TAG_LEN], buf[300], t2[16];
    const uint8_t aad[5] = {0x17, 0x03, 0x03, 0x01, 0x3c};
    size_t i, r;

    for (i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(0xa0 + i);
    for (i = 0; i < 3; i++) {
        zt_aead *a = zt_aead_new(algs[i], key), *b = zt_aead_new(algs[i], key);

        CHECK(a != NULL && b != NULL);
        if (a == NULL || b == NULL) {
            zt_aead_free(a);
            zt_aead_free(b);
            continue;
        }
        /* Three records on one context, then each on a fresh one. */
        for (r = 0; r < 3; r++) {
            memset(nonce, 0x11, sizeof(nonce));
            nonce[11] ^= (uint8_t)r;
            memset(rec[r], (int)(0x30 + r), sizeof(rec[r]));
            CHECK(zt_aead_seal(a, nonce, aad, sizeof(aad), rec[r],
                               sizeof(rec[r]), tag[r]) == 0);
        }
        for (r = 0; r < 3; r++) {
            zt_aead *f = zt_aead_new(algs[i], key);

            memset(nonce, 0x11, sizeof(nonce));
            nonce[11] ^= (uint8_t)r;
            memset(buf, (int)(0x30 + r), sizeof(buf));
            CHECK(f != NULL &&
                  zt_aead_seal(f, nonce, aad, sizeof(aad), buf, sizeof(buf),
                               t2) == 0);
            CHECK_MEM(buf, sizeof(buf), rec[r], sizeof(rec[r]));
            CHECK_MEM(t2, sizeof(t2), tag[r], sizeof(tag[r]));
            zt_aead_free(f);
            /* Open on b, interleaved with seals on b (direction switch). */
            memcpy(buf, rec[r], sizeof(buf));
            CHECK(zt_aead_open(b, nonce, aad, sizeof(aad), buf, sizeof(buf),
                               tag[r]) == 0);
            CHECK(buf[0] == 0x30 + r && buf[299] == 0x30 + r);
            CHECK(zt_aead_seal(b, nonce, NULL, 0, buf, 0, t2) == 0);
        }
        /* A flipped tag bit: failure, and buf wiped. */
        memcpy(buf, rec[0], sizeof(buf));
        tag[0][15] ^= 0x80;
        memset(nonce, 0x11, sizeof(nonce));
        CHECK(zt_aead_open(b, nonce, aad, sizeof(aad), buf, sizeof(buf),
                           tag[0]) != 0);
        CHECK(all_zero(buf, sizeof(buf)));
        /* Wrong AAD, same. */
        tag[0][15] ^= 0x80;
        memcpy(buf, rec[0], sizeof(buf));
        CHECK(zt_aead_open(b, nonce, aad, sizeof(aad) - 1, buf, sizeof(buf),
                           tag[0]) != 0);
        CHECK(all_zero(buf, sizeof(buf)));
        /* The context still works after a failure. */
        memcpy(buf, rec[0], sizeof(buf));
        CHECK(zt_aead_open(b, nonce, aad, sizeof(aad), buf, sizeof(buf),
                           tag[0]) == 0 &&
              buf[7] == 0x30);
        zt_aead_free(a);
        zt_aead_free(b);
    }
    CHECK(zt_aead_new((zt_aead_alg)9, key) == NULL);
    CHECK_MSG(ERR_peek_error() == 0, "libcrypto error queue not empty");
}

static void test_kx_direct(void)
{
    static const uint16_t groups[] = {ZT_GROUP_X25519, ZT_GROUP_SECP256R1};
    uint8_t pa[ZT_KX_MAX_PRIV], pb[ZT_KX_MAX_PRIV];
    uint8_t qa[ZT_KX_MAX_PUB], qb[ZT_KX_MAX_PUB];
    uint8_t sa[ZT_KX_MAX_SECRET], sb[ZT_KX_MAX_SECRET];
    size_t la, lb, na, nb, i;

    for (i = 0; i < 2; i++) {
        CHECK(zt_kx_keygen(groups[i], zt_sys_random, NULL, pa, qa, &la) == 0);
        CHECK(zt_kx_keygen(groups[i], zt_sys_random, NULL, pb, qb, &lb) == 0);
        CHECK(la == zt_kx_pub_len(groups[i]) && lb == la);
        CHECK(zt_kx_derive(groups[i], pa, qb, lb, sa, &na) == 0);
        CHECK(zt_kx_derive(groups[i], pb, qa, la, sb, &nb) == 0);
        CHECK_MEM(sa, na, sb, nb);
        /* Wrong lengths. */
        CHECK(zt_kx_derive(groups[i], pa, qb, lb - 1, sa, &na) != 0);
    }
    /* P-256: the compressed form of a valid point is refused. */
    qa[0] = (uint8_t)(0x02 | (qa[64] & 1));
    CHECK(zt_kx_derive(ZT_GROUP_SECP256R1, pb, qa, 33, sb, &nb) != 0);
    qa[0] = 0x04;
    qa[64] ^= 1; /* off the curve */
    CHECK(zt_kx_derive(ZT_GROUP_SECP256R1, pb, qa, 65, sb, &nb) != 0);
    /* X25519: a low-order point (0) gives zero and is refused. */
    memset(qa, 0, 32);
    CHECK(zt_kx_derive(ZT_GROUP_X25519, pb, qa, 32, sb, &nb) != 0);
    /* P-256 keygen draws again for scalars 0 and >= n: the script gives
     * all-ones (>= n), then zero, then the counting pattern. */
    {
        uint8_t script[64];
        script_rng r = {script, sizeof(script), 0, 0};

        memset(script, 0xff, 32);
        memset(script + 32, 0, 32);
        CHECK(zt_kx_keygen(ZT_GROUP_SECP256R1, script_random, &r, pa, qa,
                           &la) == 0);
        CHECK_EQ_INT(r.calls, 3);
        CHECK(pa[0] == 1 && pa[31] == 32 && qa[0] == 0x04 && la == 65);
    }
    CHECK(zt_kx_pub_len(0x0018) == 0);
    CHECK(zt_kx_keygen(0x0018, zt_sys_random, NULL, pa, qa, &la) != 0);
    CHECK_MSG(ERR_peek_error() == 0, "libcrypto error queue not empty");
}

static void test_hash_direct(void)
{
    uint8_t d1[ZT_MAX_HASH_LEN], d2[ZT_MAX_HASH_LEN];
    zt_hash *h;
    int alg;

    for (alg = ZT_SHA256; alg <= ZT_SHA384; alg++) {
        size_t hl = zt_hash_len((zt_hash_alg)alg);

        h = zt_hash_new((zt_hash_alg)alg);
        CHECK(h != NULL);
        if (h == NULL)
            continue;
        CHECK(zt_hash_peek(h, d1) == 0);
        CHECK(zt_hash_oneshot((zt_hash_alg)alg, NULL, 0, d2) == 0);
        CHECK_MEM(d1, hl, d2, hl);
        CHECK(zt_hash_update(h, (const uint8_t *)"abc", 3) == 0);
        CHECK(zt_hash_peek(h, d1) == 0);
        CHECK(zt_hash_oneshot((zt_hash_alg)alg, (const uint8_t *)"abc", 3,
                              d2) == 0);
        CHECK_MEM(d1, hl, d2, hl);
        /* Peeking did not end the running hash. */
        CHECK(zt_hash_update(h, (const uint8_t *)"def", 3) == 0);
        CHECK(zt_hash_peek(h, d1) == 0);
        CHECK(zt_hash_oneshot((zt_hash_alg)alg, (const uint8_t *)"abcdef", 6,
                              d2) == 0);
        CHECK_MEM(d1, hl, d2, hl);
        zt_hash_free(h);
    }
    /* SHA-256("abc"), FIPS 180-2 appendix B.1. */
    {
        size_t n;
        uint8_t *want = zt_unhex("ba7816bf8f01cfea414140de5dae2223"
                                 "b00361a396177a9cb410ff61f20015ad", &n);

        CHECK(zt_hash_oneshot(ZT_SHA256, (const uint8_t *)"abc", 3, d1) == 0);
        CHECK_MEM(d1, 32, want, n);
        free(want);
    }
    CHECK(zt_ct_equal("abc", "abc", 3) == 1 && zt_ct_equal("abc", "abd", 3) == 0);
}

void suite_wycheproof(void)
{
    CHECK(zt_crypto_init() == 0);
    wy_aead("aes_gcm_test.json", 0);
    wy_aead("chacha20_poly1305_test.json", 1);
    wy_x25519();
    wy_ecdh_p256();
    wy_sig("ecdsa_secp256r1_sha256_test.json", ZT_SIG_ECDSA_SECP256R1_SHA256);
    wy_sig("ed25519_test.json", ZT_SIG_ED25519);
    wy_sig("rsa_pss_2048_sha256_mgf1_32_test.json", 0);
    wy_sig("rsa_pss_2048_sha384_mgf1_48_test.json", 0);
    wy_hkdf("hkdf_sha256_test.json", ZT_SHA256);
    wy_hkdf("hkdf_sha384_test.json", ZT_SHA384);
    wy_hmac("hmac_sha256_test.json", ZT_SHA256);
    wy_hmac("hmac_sha384_test.json", ZT_SHA384);
    CHECK_MSG(ERR_peek_error() == 0, "libcrypto error queue not empty");
    test_hash_direct();
    test_aead_direct();
    test_kx_direct();
    test_creds();
}
