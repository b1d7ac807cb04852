/*
 * crypto-bench.c: why each primitive comes from the library it comes from.
 *
 * For every primitive that both libsodium and OpenSSL's libcrypto offer, the
 * two are measured side by side, the way the core would call them (keyed
 * contexts set up once, one call per record; raw 32-byte keys from the
 * wire). Primitives only libcrypto offers are measured for scale. Rows
 * marked "zt" go through the core's own provider (src/crypto.c), to show
 * the provider adds nothing over the library it wraps.
 *
 * Timing: CLOCK_MONOTONIC around a fixed number of iterations, after a
 * warm-up; each figure is the best of REPS short runs, so that a run that
 * lost the CPU to another process does not count (the load average is
 * printed before and after). BENCH_SCALE=0.1 (env)
 * shortens everything for a smoke run.
 *
 * bench/ is, with src/crypto.c, the only place allowed to include sodium.h
 * and openssl headers.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define OPENSSL_API_COMPAT 0x10101000L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/opensslv.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "crypto.h"
#include "zigtls.h"

#define REPS 7

static double g_scale = 1.0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "crypto-bench: %s failed\n", what);
    exit(1);
}
#define CHECK(x, what) do { if (!(x)) die(what); } while (0)

/* A benchmark body: run `iters` operations. */
typedef void (*body_fn)(void *ctx, long iters);

/* Seconds per operation: warm-up, then best of REPS timed runs. */
static double measure(body_fn fn, void *ctx, long iters)
{
    double best = 1e30, t0, t;
    int r;

    iters = (long)((double)iters * g_scale / 2);
    if (iters < 4)
        iters = 4;
    fn(ctx, iters / 8 + 1); /* warm-up: caches, CPU frequency, lazy init */
    for (r = 0; r < REPS; r++) {
        t0 = now_s();
        fn(ctx, iters);
        t = (now_s() - t0) / (double)iters;
        if (t < best)
            best = t;
    }
    return best;
}

static void header(const char *title)
{
    printf("\n%s\n", title);
}

static void row_tp(const char *prim, const char *impl, size_t len, double spo)
{
    printf("  %-34s %-22s %6zu B  %9.0f MB/s  %11.0f ops/s  %8.2f us/op\n",
           prim, impl, len, (double)len / spo / 1e6, 1.0 / spo, spo * 1e6);
}

static void row_ops(const char *prim, const char *impl, double spo)
{
    printf("  %-34s %-22s %8s  %9s       %11.0f ops/s  %8.2f us/op\n", prim,
           impl, "", "", 1.0 / spo, spo * 1e6);
}

/* ---- AEAD ------------------------------------------------------------------ */

static uint8_t g_buf[16384 + 64];
static const uint8_t g_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static uint8_t g_nonce[12];
static const uint8_t g_aad[5] = {23, 3, 3, 0x40, 0x11};
static size_t g_len;

typedef struct {
    EVP_CIPHER_CTX *ctx;
} evp_aead;

/* As src/crypto.c does: keyed once, per record only the nonce is set. */
static void evp_seal(void *p, long n)
{
    evp_aead *a = p;
    int outl, fl;
    uint8_t tag[16];

    for (long i = 0; i < n; i++) {
        g_nonce[11] = (uint8_t)i;
        if (EVP_CipherInit_ex2(a->ctx, NULL, NULL, g_nonce, 1, NULL) != 1 ||
            EVP_CipherUpdate(a->ctx, NULL, &outl, g_aad, 5) != 1 ||
            EVP_CipherUpdate(a->ctx, g_buf, &outl, g_buf, (int)g_len) != 1 ||
            EVP_CipherFinal_ex(a->ctx, g_buf + outl, &fl) != 1 ||
            EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
            die("EVP seal");
    }
}

static void evp_open_body(void *p, long n)
{
    evp_aead *a = p;
    int outl, fl;
    uint8_t tag[16];

    /* Seal one record once, then open it n times (out of place from the
     * sealed copy: same cost as in place, and the tag keeps verifying). */
    static uint8_t sealed[16384], tagc[16];
    memcpy(sealed, g_buf, g_len);
    g_nonce[11] = 0;
    if (EVP_CipherInit_ex2(a->ctx, NULL, NULL, g_nonce, 1, NULL) != 1 ||
        EVP_CipherUpdate(a->ctx, NULL, &outl, g_aad, 5) != 1 ||
        EVP_CipherUpdate(a->ctx, sealed, &outl, sealed, (int)g_len) != 1 ||
        EVP_CipherFinal_ex(a->ctx, sealed + outl, &fl) != 1 ||
        EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, 16, tagc) != 1)
        die("EVP seal (open setup)");
    for (long i = 0; i < n; i++) {
        memcpy(tag, tagc, 16);
        g_nonce[11] = 0;
        if (EVP_CipherInit_ex2(a->ctx, NULL, NULL, g_nonce, 0, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1 ||
            EVP_CipherUpdate(a->ctx, NULL, &outl, g_aad, 5) != 1 ||
            EVP_CipherUpdate(a->ctx, g_buf, &outl, sealed, (int)g_len) != 1 ||
            EVP_CipherFinal_ex(a->ctx, g_buf + outl, &fl) != 1)
            die("EVP open");
    }
}

static void sodium_aes256_seal(void *p, long n)
{
    crypto_aead_aes256gcm_state *st = p;
    uint8_t tag[16];
    unsigned long long tl;

    for (long i = 0; i < n; i++) {
        g_nonce[11] = (uint8_t)i;
        crypto_aead_aes256gcm_encrypt_detached_afternm(
            g_buf, tag, &tl, g_buf, g_len, g_aad, 5, NULL, g_nonce, st);
    }
}

static void sodium_aes256_open(void *p, long n)
{
    crypto_aead_aes256gcm_state *st = p;
    static uint8_t sealed[16384], tag[16];
    unsigned long long tl;

    memcpy(sealed, g_buf, g_len);
    g_nonce[11] = 0;
    crypto_aead_aes256gcm_encrypt_detached_afternm(sealed, tag, &tl, sealed,
                                                   g_len, g_aad, 5, NULL,
                                                   g_nonce, st);
    for (long i = 0; i < n; i++)
        if (crypto_aead_aes256gcm_decrypt_detached_afternm(
                g_buf, NULL, sealed, g_len, tag, g_aad, 5, g_nonce, st) != 0)
            die("sodium aes256gcm open");
}

static void sodium_chacha_seal(void *p, long n)
{
    uint8_t tag[16];
    unsigned long long tl;
    (void)p;

    for (long i = 0; i < n; i++) {
        g_nonce[11] = (uint8_t)i;
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(
            g_buf, tag, &tl, g_buf, g_len, g_aad, 5, NULL, g_nonce, g_key);
    }
}

static void sodium_chacha_open(void *p, long n)
{
    static uint8_t sealed[16384], tag[16];
    unsigned long long tl;
    (void)p;

    memcpy(sealed, g_buf, g_len);
    g_nonce[11] = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(
        sealed, tag, &tl, sealed, g_len, g_aad, 5, NULL, g_nonce, g_key);
    for (long i = 0; i < n; i++)
        if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
                g_buf, NULL, sealed, g_len, tag, g_aad, 5, g_nonce,
                g_key) != 0)
            die("sodium chacha open");
}

/* The core's provider: zt_aead_seal in place. */
static void zt_seal_body(void *p, long n)
{
    uint8_t tag[16];

    for (long i = 0; i < n; i++) {
        g_nonce[11] = (uint8_t)i;
        if (zt_aead_seal(p, g_nonce, g_aad, 5, g_buf, g_len, tag))
            die("zt_aead_seal");
    }
}

static evp_aead evp_aead_new(const char *name)
{
    evp_aead a;
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);

    CHECK(c, name);
    a.ctx = EVP_CIPHER_CTX_new();
    CHECK(a.ctx && EVP_CipherInit_ex2(a.ctx, c, g_key, NULL, 1, NULL) == 1,
          "EVP_CipherInit");
    EVP_CIPHER_free(c);
    return a;
}

static long iters_for(size_t len, long per_16k)
{
    return (long)((double)per_16k * 16384.0 / (double)len);
}

static void bench_aead(void)
{
    static const size_t lens[] = {16384, 1024};
    int have_aes = crypto_aead_aes256gcm_is_available();
    crypto_aead_aes256gcm_state *st = sodium_malloc(sizeof(*st));
    evp_aead a128 = evp_aead_new("AES-128-GCM");
    evp_aead a256 = evp_aead_new("AES-256-GCM");
    evp_aead ach = evp_aead_new("ChaCha20-Poly1305");
    zt_aead *z128 = zt_aead_new(ZT_AEAD_AES_128_GCM, g_key);
    zt_aead *z256 = zt_aead_new(ZT_AEAD_AES_256_GCM, g_key);
    zt_aead *zch = zt_aead_new(ZT_AEAD_CHACHA20_POLY1305, g_key);
    size_t k;

    CHECK(st && z128 && z256 && zch, "AEAD setup");
    crypto_aead_aes256gcm_beforenm(st, g_key);
    header("AEAD (seal = encrypt+tag in place, open = verify+decrypt; 5-byte "
           "AAD, 12-byte nonce)");
    for (k = 0; k < 2; k++) {
        long it = iters_for(lens[k], 20000);
        g_len = lens[k];
        if (have_aes) {
            row_tp("AES-256-GCM seal", "libsodium", g_len,
                   measure(sodium_aes256_seal, st, it));
        } else {
            printf("  %-34s %-22s (crypto_aead_aes256gcm_is_available() == 0 "
                   "on this CPU)\n", "AES-256-GCM seal", "libsodium");
        }
        row_tp("AES-256-GCM seal", "libcrypto EVP", g_len,
               measure(evp_seal, &a256, it));
        row_tp("AES-256-GCM seal", "zt provider", g_len,
               measure(zt_seal_body, z256, it));
        if (have_aes)
            row_tp("AES-256-GCM open", "libsodium", g_len,
                   measure(sodium_aes256_open, st, it));
        row_tp("AES-256-GCM open", "libcrypto EVP", g_len,
               measure(evp_open_body, &a256, it));
        row_tp("ChaCha20-Poly1305 seal", "libsodium", g_len,
               measure(sodium_chacha_seal, NULL, it));
        row_tp("ChaCha20-Poly1305 seal", "libcrypto EVP", g_len,
               measure(evp_seal, &ach, it));
        row_tp("ChaCha20-Poly1305 seal", "zt provider", g_len,
               measure(zt_seal_body, zch, it));
        row_tp("ChaCha20-Poly1305 open", "libsodium", g_len,
               measure(sodium_chacha_open, NULL, it));
        row_tp("ChaCha20-Poly1305 open", "libcrypto EVP", g_len,
               measure(evp_open_body, &ach, it));
        row_tp("AES-128-GCM seal (libcrypto only)", "libcrypto EVP", g_len,
               measure(evp_seal, &a128, it));
        row_tp("AES-128-GCM seal (libcrypto only)", "zt provider", g_len,
               measure(zt_seal_body, z128, it));
        row_tp("AES-128-GCM open (libcrypto only)", "libcrypto EVP", g_len,
               measure(evp_open_body, &a128, it));
    }
    EVP_CIPHER_CTX_free(a128.ctx);
    EVP_CIPHER_CTX_free(a256.ctx);
    EVP_CIPHER_CTX_free(ach.ctx);
    zt_aead_free(z128);
    zt_aead_free(z256);
    zt_aead_free(zch);
    sodium_free(st);
}

/* ---- hashes and HMAC ------------------------------------------------------- */

static EVP_MD *g_md256, *g_md512;

static void sodium_sha256(void *p, long n)
{
    uint8_t out[32];
    (void)p;
    for (long i = 0; i < n; i++)
        crypto_hash_sha256(out, g_buf, g_len);
}

static void sodium_sha512(void *p, long n)
{
    uint8_t out[64];
    (void)p;
    for (long i = 0; i < n; i++)
        crypto_hash_sha512(out, g_buf, g_len);
}

static void evp_digest(void *p, long n)
{
    uint8_t out[64];
    for (long i = 0; i < n; i++)
        if (EVP_Digest(g_buf, g_len, out, NULL, p, NULL) != 1)
            die("EVP_Digest");
}

/* Transcript-style: a running hash, peeked (copy + final) per message. */
static void evp_transcript(void *p, long n)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new(), *t = EVP_MD_CTX_new();
    uint8_t out[64];

    EVP_DigestInit_ex(c, p, NULL);
    for (long i = 0; i < n; i++)
        if (EVP_DigestUpdate(c, g_buf, g_len) != 1 ||
            EVP_MD_CTX_copy_ex(t, c) != 1 ||
            EVP_DigestFinal_ex(t, out, NULL) != 1)
            die("EVP transcript");
    EVP_MD_CTX_free(c);
    EVP_MD_CTX_free(t);
}

static void sodium_transcript(void *p, long n)
{
    crypto_hash_sha256_state c, t;
    uint8_t out[32];
    (void)p;

    crypto_hash_sha256_init(&c);
    for (long i = 0; i < n; i++) {
        crypto_hash_sha256_update(&c, g_buf, g_len);
        t = c;
        crypto_hash_sha256_final(&t, out);
    }
}

static void sodium_hmac256(void *p, long n)
{
    uint8_t out[32];
    (void)p;
    for (long i = 0; i < n; i++)
        crypto_auth_hmacsha256(out, g_buf, g_len, g_key); /* 32-byte key */
}

static void zt_hmac_body(void *p, long n)
{
    uint8_t out[32];
    (void)p;
    for (long i = 0; i < n; i++)
        if (zt_hmac(ZT_SHA256, g_key, 32, g_buf, g_len, out))
            die("zt_hmac");
}

static void bench_hash(void)
{
    static const size_t lens[] = {16384, 1024, 64};
    size_t k;

    g_md256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    g_md512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
    CHECK(g_md256 && g_md512, "EVP_MD_fetch");
    header("Hashes (one-shot; 64 B is a typical handshake message)");
    for (k = 0; k < 3; k++) {
        long it = iters_for(lens[k], 20000);
        if (it > 2000000)
            it = 2000000;
        g_len = lens[k];
        row_tp("SHA-256", "libsodium", g_len, measure(sodium_sha256, NULL, it));
        row_tp("SHA-256", "libcrypto EVP", g_len,
               measure(evp_digest, g_md256, it));
        row_tp("SHA-512", "libsodium", g_len, measure(sodium_sha512, NULL, it));
        row_tp("SHA-512", "libcrypto EVP", g_len,
               measure(evp_digest, g_md512, it));
    }
    header("Transcript hash (update 64 B + peek digest, as zt_hash_peek)");
    g_len = 64;
    row_tp("SHA-256 transcript step", "libsodium", g_len,
           measure(sodium_transcript, NULL, 1000000));
    row_tp("SHA-256 transcript step", "libcrypto EVP", g_len,
           measure(evp_transcript, g_md256, 1000000));
    header("HMAC-SHA-256 (32-byte key; HKDF is built on it)");
    g_len = 64;
    row_tp("HMAC-SHA-256", "libsodium", g_len,
           measure(sodium_hmac256, NULL, 1000000));
    row_tp("HMAC-SHA-256", "zt provider (EVP_MAC)", g_len,
           measure(zt_hmac_body, NULL, 1000000));
}

/* ---- HKDF (libcrypto only: libsodium 1.0.18 has no HKDF) -------------------- */

static void evp_hkdf(void *p, long n)
{
    EVP_KDF *kdf = p;
    uint8_t out[32];
    OSSL_PARAM params[5];
    int mode = EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;

    for (long i = 0; i < n; i++) {
        EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                     "SHA2-256", 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                      (void *)g_key, 32);
        params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                      g_buf, 40);
        params[3] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
        params[4] = OSSL_PARAM_construct_end();
        if (k == NULL || EVP_KDF_derive(k, out, 32, params) != 1)
            die("EVP_KDF HKDF");
        EVP_KDF_CTX_free(k);
    }
}

static void zt_hkdf_body(void *p, long n)
{
    uint8_t prk[32], out[32];
    (void)p;
    for (long i = 0; i < n; i++)
        if (zt_hkdf_extract(ZT_SHA256, NULL, 0, g_key, 32, prk) ||
            zt_hkdf_expand(ZT_SHA256, prk, 32, g_buf, 40, out, 32))
            die("zt_hkdf");
}

static void zt_hkdf_expand_body(void *p, long n)
{
    uint8_t out[32];
    (void)p;
    for (long i = 0; i < n; i++)
        if (zt_hkdf_expand(ZT_SHA256, g_key, 32, g_buf, 40, out, 32))
            die("zt_hkdf_expand");
}

static void bench_hkdf(void)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);

    CHECK(kdf, "EVP_KDF_fetch");
    header("HKDF-SHA-256 (32-byte IKM, 40-byte info, 32-byte output)");
    row_ops("HKDF extract+expand", "libcrypto EVP_KDF",
            measure(evp_hkdf, kdf, 200000));
    row_ops("HKDF extract+expand", "zt provider (EVP_MAC)",
            measure(zt_hkdf_body, NULL, 200000));
    row_ops("HKDF expand (Expand-Label)", "zt provider (EVP_MAC)",
            measure(zt_hkdf_expand_body, NULL, 200000));
    EVP_KDF_free(kdf);
}

/* ---- key exchange ---------------------------------------------------------- */

static uint8_t g_peer_pub[ZT_KX_MAX_PUB], g_priv[32];
static size_t g_peer_len;

static void sodium_x25519_keygen(void *p, long n)
{
    uint8_t pub[32];
    (void)p;
    for (long i = 0; i < n; i++) {
        randombytes_buf(g_priv, 32);
        if (crypto_scalarmult_base(pub, g_priv) != 0)
            die("crypto_scalarmult_base");
    }
}

static void sodium_x25519_derive(void *p, long n)
{
    uint8_t s[32];
    (void)p;
    for (long i = 0; i < n; i++)
        if (crypto_scalarmult(s, g_priv, g_peer_pub) != 0)
            die("crypto_scalarmult");
}

/* EVP: what a server must do with 32 raw bytes from the wire. */
static void evp_x25519_keygen(void *p, long n)
{
    uint8_t pub[32];
    size_t pl = 32;
    (void)p;
    for (long i = 0; i < n; i++) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
        if (k == NULL || EVP_PKEY_get_raw_public_key(k, pub, &pl) != 1)
            die("EVP X25519 keygen");
        EVP_PKEY_free(k);
    }
}

static EVP_PKEY *g_x_priv;

static void evp_x25519_derive(void *p, long n)
{
    uint8_t s[32];
    size_t sl;
    (void)p;
    for (long i = 0; i < n; i++) {
        EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL,
                                                     g_peer_pub, 32);
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(g_x_priv, NULL);
        sl = sizeof(s);
        if (peer == NULL || c == NULL || EVP_PKEY_derive_init(c) != 1 ||
            EVP_PKEY_derive_set_peer(c, peer) != 1 ||
            EVP_PKEY_derive(c, s, &sl) != 1)
            die("EVP X25519 derive");
        EVP_PKEY_CTX_free(c);
        EVP_PKEY_free(peer);
    }
}

static int rnd_fn(void *arg, uint8_t *out, size_t len)
{
    (void)arg;
    randombytes_buf(out, len);
    return 0;
}

/* The provider, as the server's handshake calls it: our share and the
 * secret from the client's share in one call (zt_kx_encaps). */
static void zt_kx_body(void *p, long n)
{
    uint16_t group = *(uint16_t *)p;
    uint8_t pub[ZT_KX_MAX_PUB], s[ZT_KX_MAX_SECRET];
    size_t pl, sl;

    for (long i = 0; i < n; i++) {
        if (zt_kx_encaps(group, rnd_fn, NULL, g_peer_pub, g_peer_len, pub,
                         &pl, s, &sl))
            die("zt_kx");
    }
}

/* ML-KEM-768 encapsulation alone (PQClean, with the FIPS 203 7.2 check),
 * and the check alone. */
static void mlkem_encaps_body(void *p, long n)
{
    uint8_t ct[ZT_MLKEM768_CT_LEN], ss[32], m[32] = {7};
    (void)p;
    for (long i = 0; i < n; i++)
        if (zt_mlkem768_encaps(g_peer_pub, ZT_MLKEM768_EK_LEN, m, ct, ss))
            die("ML-KEM encaps");
}

static void mlkem_check_body(void *p, long n)
{
    (void)p;
    for (long i = 0; i < n; i++)
        if (zt_mlkem768_check_ek(g_peer_pub, ZT_MLKEM768_EK_LEN))
            die("ML-KEM check");
}

/* P-256 via EVP_PKEY (keygen + derive from raw uncompressed point). */
static void evp_p256_body(void *p, long n)
{
    uint8_t s[32];
    size_t sl;
    (void)p;
    for (long i = 0; i < n; i++) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        EVP_PKEY *peer = EVP_PKEY_new();
        EVP_PKEY_CTX *c;
        if (k == NULL || peer == NULL ||
            EVP_PKEY_copy_parameters(peer, k) != 1 ||
            EVP_PKEY_set1_encoded_public_key(peer, g_peer_pub, 65) != 1)
            die("EVP P-256 keygen");
        c = EVP_PKEY_CTX_new(k, NULL);
        sl = sizeof(s);
        if (c == NULL || EVP_PKEY_derive_init(c) != 1 ||
            EVP_PKEY_derive_set_peer(c, peer) != 1 ||
            EVP_PKEY_derive(c, s, &sl) != 1)
            die("EVP P-256 derive");
        EVP_PKEY_CTX_free(c);
        EVP_PKEY_free(peer);
        EVP_PKEY_free(k);
    }
}

static void bench_kx(void)
{
    uint8_t peer_priv[32];
    size_t pl = 65;
    uint16_t g;

    header("Key exchange (server side: one ephemeral key pair + one shared "
           "secret from the client's raw share)");
    randombytes_buf(peer_priv, 32);
    crypto_scalarmult_base(g_peer_pub, peer_priv);
    randombytes_buf(g_priv, 32);
    g_x_priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, g_priv, 32);
    CHECK(g_x_priv, "X25519 raw key");
    row_ops("X25519 keygen", "libsodium",
            measure(sodium_x25519_keygen, NULL, 20000));
    row_ops("X25519 keygen", "libcrypto EVP",
            measure(evp_x25519_keygen, NULL, 20000));
    row_ops("X25519 derive", "libsodium",
            measure(sodium_x25519_derive, NULL, 20000));
    row_ops("X25519 derive", "libcrypto EVP",
            measure(evp_x25519_derive, NULL, 20000));
    g = ZT_GROUP_X25519;
    g_peer_len = 32;
    row_ops("X25519 keygen+derive", "zt provider (sodium)",
            measure(zt_kx_body, &g, 10000));
    EVP_PKEY_free(g_x_priv);

    CHECK(zt_kx_keygen(ZT_GROUP_SECP256R1, rnd_fn, NULL, peer_priv,
                       g_peer_pub, &pl) == 0, "P-256 peer key");
    g = ZT_GROUP_SECP256R1;
    g_peer_len = 65;
    row_ops("P-256 ECDH keygen+derive", "libcrypto EVP_PKEY",
            measure(evp_p256_body, NULL, 5000));
    row_ops("P-256 ECDH keygen+derive", "zt provider (EC_POINT)",
            measure(zt_kx_body, &g, 5000));

    /* the hybrid: a client share (ek || X25519) made by the provider */
    {
        static uint8_t cpriv[ZT_KX_MAX_PRIV];

        CHECK(zt_kx_keygen(ZT_GROUP_X25519MLKEM768, rnd_fn, NULL, cpriv,
                           g_peer_pub, &g_peer_len) == 0,
              "X25519MLKEM768 client share");
        row_ops("ML-KEM-768 ek check (7.2)", "zt provider",
                measure(mlkem_check_body, NULL, 20000));
        row_ops("ML-KEM-768 encaps+check", "PQClean clean",
                measure(mlkem_encaps_body, NULL, 5000));
        g = ZT_GROUP_X25519MLKEM768;
        row_ops("X25519MLKEM768 share+secret",
                "zt provider (sodium+PQClean)",
                measure(zt_kx_body, &g, 5000));
    }
}

/* ---- signatures ------------------------------------------------------------- */

/* A CertificateVerify input: 64 spaces, context, 0, 32-byte hash. */
static uint8_t g_msg[130];

typedef struct {
    EVP_PKEY *pk;
    const EVP_MD *md;
    int pss;
    uint8_t sig[512];
    size_t sig_len;
} evp_sig;

static void evp_sign_body(void *p, long n)
{
    evp_sig *s = p;
    for (long i = 0; i < n; i++) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pc = NULL;
        s->sig_len = sizeof(s->sig);
        if (m == NULL || EVP_DigestSignInit(m, &pc, s->md, NULL, s->pk) != 1 ||
            (s->pss &&
             (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) !=
                  1)) ||
            EVP_DigestSign(m, s->sig, &s->sig_len, g_msg, sizeof(g_msg)) != 1)
            die("EVP sign");
        EVP_MD_CTX_free(m);
    }
}

static void evp_verify_body(void *p, long n)
{
    evp_sig *s = p;
    for (long i = 0; i < n; i++) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pc = NULL;
        if (m == NULL ||
            EVP_DigestVerifyInit(m, &pc, s->md, NULL, s->pk) != 1 ||
            (s->pss &&
             (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) !=
                  1)) ||
            EVP_DigestVerify(m, s->sig, s->sig_len, g_msg, sizeof(g_msg)) != 1)
            die("EVP verify");
        EVP_MD_CTX_free(m);
    }
}

static uint8_t g_ed_pk[32], g_ed_sk[64], g_ed_sig[64];

static void sodium_ed_sign(void *p, long n)
{
    (void)p;
    for (long i = 0; i < n; i++)
        crypto_sign_detached(g_ed_sig, NULL, g_msg, sizeof(g_msg), g_ed_sk);
}

static void sodium_ed_verify(void *p, long n)
{
    (void)p;
    for (long i = 0; i < n; i++)
        if (crypto_sign_verify_detached(g_ed_sig, g_msg, sizeof(g_msg),
                                        g_ed_pk) != 0)
            die("sodium ed25519 verify");
}

static void bench_sig(void)
{
    evp_sig ed, ec, rsa;
    EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);

    memset(g_msg, 0x20, 64);
    memcpy(g_msg + 64, "TLS 1.3, server CertificateVerify", 34);
    randombytes_buf(g_msg + 98, 32);
    header("Signatures over a 130-byte CertificateVerify input");

    crypto_sign_keypair(g_ed_pk, g_ed_sk);
    memset(&ed, 0, sizeof(ed));
    ed.pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, g_ed_sk, 32);
    CHECK(ed.pk, "Ed25519 EVP key");
    row_ops("Ed25519 sign", "libsodium", measure(sodium_ed_sign, NULL, 20000));
    row_ops("Ed25519 sign", "libcrypto EVP", measure(evp_sign_body, &ed, 20000));
    row_ops("Ed25519 verify", "libsodium",
            measure(sodium_ed_verify, NULL, 10000));
    row_ops("Ed25519 verify", "libcrypto EVP",
            measure(evp_verify_body, &ed, 10000));

    memset(&ec, 0, sizeof(ec));
    ec.pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ec.md = sha256;
    CHECK(ec.pk, "P-256 key");
    row_ops("ECDSA P-256 sign (libcrypto only)", "libcrypto EVP",
            measure(evp_sign_body, &ec, 10000));
    row_ops("ECDSA P-256 verify", "libcrypto EVP",
            measure(evp_verify_body, &ec, 5000));

    memset(&rsa, 0, sizeof(rsa));
    rsa.pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa.md = sha256;
    rsa.pss = 1;
    CHECK(rsa.pk, "RSA key");
    row_ops("RSA-2048 PSS sign (libcrypto only)", "libcrypto EVP",
            measure(evp_sign_body, &rsa, 1000));
    row_ops("RSA-2048 PSS verify", "libcrypto EVP",
            measure(evp_verify_body, &rsa, 10000));

    EVP_PKEY_free(ed.pk);
    EVP_PKEY_free(ec.pk);
    EVP_PKEY_free(rsa.pk);
    EVP_MD_free(sha256);
}

/* ---- main --------------------------------------------------------------------- */

static void print_load(const char *when)
{
    char l[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");

    if (f != NULL) {
        if (fgets(l, sizeof(l), f) == NULL)
            l[0] = '\0';
        fclose(f);
    }
    l[strcspn(l, "\n")] = '\0';
    printf("load average %s: %s\n", when, l);
}

static void print_env(void)
{
    char line[256], model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    time_t t = time(NULL);
    char date[64];

    if (f != NULL) {
        while (fgets(line, sizeof(line), f))
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                if (c) {
                    snprintf(model, sizeof(model), "%s", c + 2);
                    model[strcspn(model, "\n")] = '\0';
                }
                break;
            }
        fclose(f);
    }
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
    printf("crypto-bench  %s\n", date);
    printf("CPU: %s, %ld online CPUs (single-threaded bench)\n", model,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("libsodium %s, %s\n", sodium_version_string(),
           OpenSSL_version(OPENSSL_VERSION));
    printf("libsodium AES-256-GCM available on this CPU: %s\n",
           crypto_aead_aes256gcm_is_available() ? "yes" : "no");
    printf("best of %d runs after a warm-up; MB = 10^6 bytes\n", REPS);
    print_load("at start");
}

int main(int argc, char **argv)
{
    const char *s = getenv("BENCH_SCALE");
    const char *only = argc > 1 ? argv[1] : NULL;

    if (s != NULL)
        g_scale = atof(s) > 0 ? atof(s) : 1.0;
    if (sodium_init() < 0 || zt_crypto_init() != 0)
        die("init");
    randombytes_buf(g_buf, sizeof(g_buf));
    print_env();
    if (!only || !strcmp(only, "aead"))
        bench_aead();
    if (!only || !strcmp(only, "hash"))
        bench_hash();
    if (!only || !strcmp(only, "hkdf"))
        bench_hkdf();
    if (!only || !strcmp(only, "kx"))
        bench_kx();
    if (!only || !strcmp(only, "sig"))
        bench_sig();
    printf("\n");
    print_load("at end");
    return 0;
}
