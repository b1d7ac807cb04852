/*
 * crypto.c: the crypto provider (see crypto.h and docs/crypto.md).
 *
 * The only file of the core that includes <sodium.h>, <openssl/...> or
 * PQClean's headers.
 *   libsodium  X25519, Ed25519 signing and verification, random bytes,
 *              wipe, constant-time compare
 *   libcrypto  AEADs, SHA-2, HMAC (and HKDF built on it), P-256 ECDH,
 *              ECDSA P-256, RSA-PSS, PEM/X.509 parsing
 *   PQClean    ML-KEM-768 (build-deps/pqclean/, fetched at the pinned npm
 *              version by .ci/fetch-pqclean): its headers, and its Keccak
 *              code, are included here only
 *
 * nginx uses libcrypto in the same process, so every failing libcrypto call
 * is followed by ERR_clear_error(): we never leave entries in its error
 * queue for nginx to trip over later.
 *
 * libcrypto algorithm objects (EVP_MD, EVP_CIPHER, EVP_MAC) are fetched once
 * (pthread_once) so that the per-record and per-handshake paths do not pay
 * the OpenSSL 3 implicit-fetch cost.
 */
/* EC_POINT and friends are all we need for raw P-256 ECDH; keep the
 * 1.1.1 API visible without deprecation warnings. */
#define OPENSSL_API_COMPAT 0x10101000L
/* timegm() (the Makefile passes -D_GNU_SOURCE; other builds may not). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "crypto.h"

/* ---- one-time setup ------------------------------------------------------ */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_ok;
static EVP_MD *g_sha256, *g_sha384, *g_sha512;
static EVP_CIPHER *g_aes128gcm, *g_aes256gcm, *g_chacha;
static EVP_MAC *g_hmac;
static EC_GROUP *g_p256;
static BIGNUM *g_p256_order;
static size_t g_aead_bytes, g_hash_bytes;

static size_t heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    return mallinfo2().uordblks;
#else
    return 0;
#endif
}

/* What one AEAD context and one transcript hash cost on the heap, for
 * zt_conn_memory(): measured, not guessed. 64 of each are made, so that
 * freed chunks glibc keeps at hand (at most 7 per size) hardly count, after
 * a first one that loads what libcrypto keeps for the process. */
#define ZT_MEASURE_N 64

static void measure_contexts(void)
{
    static const uint8_t key[ZT_AEAD_MAX_KEY_LEN];
    zt_aead *a[ZT_MEASURE_N];
    zt_hash *h[ZT_MEASURE_N];
    size_t before, after;
    int i, n;

    zt_aead_free(zt_aead_new(ZT_AEAD_AES_128_GCM, key));
    zt_hash_free(zt_hash_new(ZT_SHA256));
    before = heap_in_use();
    for (n = 0; n < ZT_MEASURE_N; n++)
        if ((a[n] = zt_aead_new(ZT_AEAD_AES_128_GCM, key)) == NULL)
            break;
    after = heap_in_use();
    if (n == ZT_MEASURE_N && after > before)
        g_aead_bytes = (after - before) / ZT_MEASURE_N;
    for (i = 0; i < n; i++)
        zt_aead_free(a[i]);
    before = heap_in_use();
    for (n = 0; n < ZT_MEASURE_N; n++)
        if ((h[n] = zt_hash_new(ZT_SHA256)) == NULL)
            break;
    after = heap_in_use();
    if (n == ZT_MEASURE_N && after > before)
        g_hash_bytes = (after - before) / ZT_MEASURE_N;
    for (i = 0; i < n; i++)
        zt_hash_free(h[i]);
}

static void crypto_once(void)
{
    if (sodium_init() < 0)
        return;
    g_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    g_sha384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
    g_sha512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
    g_aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    g_aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    g_chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    g_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    g_p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    if (g_p256 != NULL) {
        const BIGNUM *o = EC_GROUP_get0_order(g_p256);
        g_p256_order = o != NULL ? BN_dup(o) : NULL;
    }
    g_ok = g_sha256 != NULL && g_sha384 != NULL && g_sha512 != NULL &&
           g_aes128gcm != NULL && g_aes256gcm != NULL && g_chacha != NULL &&
           g_hmac != NULL && g_p256 != NULL && g_p256_order != NULL;
    ERR_clear_error();
}

static pthread_once_t g_measure_once = PTHREAD_ONCE_INIT;

int zt_crypto_init(void)
{
    if (pthread_once(&g_once, crypto_once) != 0)
        return -1;
    return g_ok ? 0 : -1;
}

size_t zt_aead_bytes(void)
{
    (void)pthread_once(&g_measure_once, measure_contexts);
    return g_aead_bytes;
}

size_t zt_hash_bytes(void)
{
    (void)pthread_once(&g_measure_once, measure_contexts);
    return g_hash_bytes;
}

/* Every entry point that needs a fetched object goes through this, so a
 * caller that forgot zt_crypto_init() still works. */
static int ready(void)
{
    return pthread_once(&g_once, crypto_once) == 0 && g_ok;
}

static const EVP_MD *md_of(zt_hash_alg alg)
{
    if (!ready())
        return NULL;
    switch (alg) {
    case ZT_SHA256:
        return g_sha256;
    case ZT_SHA384:
        return g_sha384;
    }
    return NULL;
}

static const char *md_name(zt_hash_alg alg)
{
    return alg == ZT_SHA256 ? "SHA2-256" : "SHA2-384";
}

/* Clear libcrypto's error queue and return -1 (the failure value). */
static int fail(void)
{
    ERR_clear_error();
    return -1;
}

/* ---- utilities ----------------------------------------------------------- */

void zt_memzero(void *p, size_t n)
{
    if (p != NULL && n > 0)
        sodium_memzero(p, n);
}

int zt_ct_equal(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return 1;
    return sodium_memcmp(a, b, n) == 0;
}

int zt_sys_random(void *arg, uint8_t *out, size_t len)
{
    (void)arg;
    if (!ready())
        return -1;
    randombytes_buf(out, len);
    return 0;
}

/* ---- hashes -------------------------------------------------------------- */

size_t zt_hash_len(zt_hash_alg alg)
{
    switch (alg) {
    case ZT_SHA256:
        return 32;
    case ZT_SHA384:
        return 48;
    }
    return 0;
}

struct zt_hash {
    EVP_MD_CTX *ctx;
    EVP_MD_CTX *tmp; /* reused by zt_hash_peek */
};

zt_hash *zt_hash_new(zt_hash_alg alg)
{
    const EVP_MD *md = md_of(alg);
    zt_hash *h;

    if (md == NULL)
        return NULL;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    h->tmp = EVP_MD_CTX_new();
    if (h->ctx == NULL || h->tmp == NULL ||
        EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
        zt_hash_free(h);
        ERR_clear_error();
        return NULL;
    }
    return h;
}

int zt_hash_update(zt_hash *h, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    return EVP_DigestUpdate(h->ctx, p, n) == 1 ? 0 : fail();
}

int zt_hash_peek(const zt_hash *h, uint8_t *out)
{
    /* Finish a copy; the running hash goes on. */
    if (EVP_MD_CTX_copy_ex(h->tmp, h->ctx) != 1 ||
        EVP_DigestFinal_ex(h->tmp, out, NULL) != 1)
        return fail();
    return 0;
}

void zt_hash_free(zt_hash *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_CTX_free(h->tmp);
    free(h);
}

int zt_hash_oneshot(zt_hash_alg alg, const uint8_t *p, size_t n,
                    uint8_t *out)
{
    static const uint8_t empty[1];
    const EVP_MD *md = md_of(alg);

    if (md == NULL)
        return -1;
    return EVP_Digest(n ? p : empty, n, out, NULL, md, NULL) == 1 ? 0
                                                                  : fail();
}

/* ---- HMAC and HKDF (RFC 2104, RFC 5869) ----------------------------------- */

/*
 * One keyed-on-demand HMAC context per thread and digest: EVP_MAC_init with
 * a new key restarts it, so the key schedule costs no allocation and no
 * lookup of the digest by name (about 30 HMACs per handshake). A context
 * keeps the last key's pads until it is keyed again; zt_crypto_scrub()
 * re-keys the used ones with an empty key, once per step of the core
 * instead of once per HMAC (docs/crypto.md).
 */
static _Thread_local EVP_MAC_CTX *tl_hmac[3];
static _Thread_local unsigned tl_hmac_dirty;

void zt_crypto_scrub(void)
{
    unsigned i;

    if (tl_hmac_dirty == 0)
        return;
    for (i = 0; i < 3; i++)
        if ((tl_hmac_dirty & (1u << i)) && tl_hmac[i] != NULL &&
            EVP_MAC_init(tl_hmac[i], (const uint8_t *)"", 0, NULL) != 1) {
            /* cannot re-key: free it (freeing cleanses) */
            EVP_MAC_CTX_free(tl_hmac[i]);
            tl_hmac[i] = NULL;
            ERR_clear_error();
        }
    tl_hmac_dirty = 0;
}

unsigned zt_crypto_hmac_keyed(void)
{
    return tl_hmac_dirty;
}

static EVP_MAC_CTX *hmac_start(zt_hash_alg alg, const uint8_t *key,
                               size_t key_len)
{
    static const uint8_t empty[1];
    OSSL_PARAM params[2];
    EVP_MAC_CTX *m;

    if (md_of(alg) == NULL || (unsigned)alg >= 3)
        return NULL;
    m = tl_hmac[alg];
    if (m == NULL) {
        m = EVP_MAC_CTX_new(g_hmac);
        if (m == NULL)
            return NULL;
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                     (char *)md_name(alg), 0);
        params[1] = OSSL_PARAM_construct_end();
        if (EVP_MAC_CTX_set_params(m, params) != 1) {
            EVP_MAC_CTX_free(m);
            ERR_clear_error();
            return NULL;
        }
        tl_hmac[alg] = m;
    }
    tl_hmac_dirty |= 1u << alg;
    /* A NULL key means "keep the previous key": pass a real pointer. */
    if (EVP_MAC_init(m, key_len ? key : empty, key_len, NULL) != 1) {
        ERR_clear_error();
        return NULL;
    }
    return m;
}

static int hmac_finish(EVP_MAC_CTX *m, uint8_t *out, size_t out_len)
{
    size_t n = 0;

    if (EVP_MAC_final(m, out, &n, out_len) != 1 || n != out_len)
        return fail();
    return 0;
}

int zt_hmac(zt_hash_alg alg, const uint8_t *key, size_t key_len,
            const uint8_t *msg, size_t msg_len, uint8_t *out)
{
    EVP_MAC_CTX *m = hmac_start(alg, key, key_len);

    if (m == NULL)
        return -1;
    if (msg_len > 0 && EVP_MAC_update(m, msg, msg_len) != 1)
        return fail();
    return hmac_finish(m, out, zt_hash_len(alg));
}

/* RFC 5869 section 2.2: PRK = HMAC-Hash(salt, IKM); no salt means a string
 * of HashLen zeros. */
int zt_hkdf_extract(zt_hash_alg alg, const uint8_t *salt, size_t salt_len,
                    const uint8_t *ikm, size_t ikm_len, uint8_t *prk)
{
    uint8_t zeros[ZT_MAX_HASH_LEN] = {0};
    size_t hl = zt_hash_len(alg);

    if (hl == 0)
        return -1;
    if (salt == NULL || salt_len == 0) {
        salt = zeros;
        salt_len = hl;
    }
    return zt_hmac(alg, salt, salt_len, ikm, ikm_len, prk);
}

/* RFC 5869 section 2.3: T(i) = HMAC-Hash(PRK, T(i-1) | info | i),
 * L <= 255 * HashLen. */
int zt_hkdf_expand(zt_hash_alg alg, const uint8_t *prk, size_t prk_len,
                   const uint8_t *info, size_t info_len, uint8_t *out,
                   size_t out_len)
{
    uint8_t t[ZT_MAX_HASH_LEN];
    size_t hl = zt_hash_len(alg), done = 0, n;
    EVP_MAC_CTX *m;
    uint8_t i;
    int rc = 0;

    if (hl == 0 || out_len > 255 * hl)
        return -1;
    if (out_len == 0)
        return 0;
    m = hmac_start(alg, prk, prk_len);
    if (m == NULL)
        return -1;
    for (i = 1; done < out_len; i++) {
        /* Restart with the same key (EVP_MAC_init with a NULL key). */
        if ((i > 1 && (EVP_MAC_init(m, NULL, 0, NULL) != 1 ||
                       EVP_MAC_update(m, t, hl) != 1)) ||
            (info_len > 0 && EVP_MAC_update(m, info, info_len) != 1) ||
            EVP_MAC_update(m, &i, 1) != 1 || hmac_finish(m, t, hl) != 0) {
            rc = fail();
            break;
        }
        n = out_len - done < hl ? out_len - done : hl;
        memcpy(out + done, t, n);
        done += n;
    }
    zt_memzero(t, sizeof(t));
    if (rc != 0)
        zt_memzero(out, out_len);
    return rc;
}

/* ---- AEAD ---------------------------------------------------------------- */

size_t zt_aead_key_len(zt_aead_alg alg)
{
    switch (alg) {
    case ZT_AEAD_AES_128_GCM:
        return 16;
    case ZT_AEAD_AES_256_GCM:
    case ZT_AEAD_CHACHA20_POLY1305:
        return 32;
    }
    return 0;
}

struct zt_aead {
    EVP_CIPHER_CTX *ctx; /* keyed once; each call only sets the nonce */
};

zt_aead *zt_aead_new(zt_aead_alg alg, const uint8_t *key)
{
    const EVP_CIPHER *c = NULL;
    zt_aead *a;

    if (!ready())
        return NULL;
    switch (alg) {
    case ZT_AEAD_AES_128_GCM:
        c = g_aes128gcm;
        break;
    case ZT_AEAD_AES_256_GCM:
        c = g_aes256gcm;
        break;
    case ZT_AEAD_CHACHA20_POLY1305:
        c = g_chacha;
        break;
    }
    if (c == NULL)
        return NULL;
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->ctx = EVP_CIPHER_CTX_new();
    /* Both GCM and ChaCha20-Poly1305 default to a 12-byte IV, which is
     * what TLS 1.3 uses (RFC 8446 section 5.3). */
    if (a->ctx == NULL ||
        EVP_CipherInit_ex2(a->ctx, c, key, NULL, 1, NULL) != 1 ||
        EVP_CIPHER_CTX_get_iv_length(a->ctx) != ZT_AEAD_NONCE_LEN) {
        zt_aead_free(a);
        ERR_clear_error();
        return NULL;
    }
    return a;
}

void zt_aead_free(zt_aead *a)
{
    if (a == NULL)
        return;
    EVP_CIPHER_CTX_free(a->ctx); /* cleanses the key schedule */
    free(a);
}

/* Set direction and nonce, keep the key, feed the AAD. */
static int aead_start(zt_aead *a, int enc, const uint8_t *nonce,
                      const uint8_t *aad, size_t aad_len)
{
    int outl;

    if (aad_len > INT_MAX ||
        EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, enc, NULL) != 1)
        return -1;
    if (aad_len > 0 &&
        EVP_CipherUpdate(a->ctx, NULL, &outl, aad, (int)aad_len) != 1)
        return -1;
    return 0;
}

int zt_aead_seal_v(zt_aead *a, const uint8_t nonce[ZT_AEAD_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const zt_iov *in,
                   size_t n_in, uint8_t *out, uint8_t tag[ZT_AEAD_TAG_LEN])
{
    size_t i, off = 0;
    int outl, fl = 0;

    if (aead_start(a, 1, nonce, aad, aad_len) != 0)
        return fail();
    for (i = 0; i < n_in; i++) {
        if (in[i].len == 0)
            continue;
        if (in[i].len > INT_MAX ||
            EVP_CipherUpdate(a->ctx, out + off, &outl, in[i].base,
                             (int)in[i].len) != 1 ||
            (size_t)outl != in[i].len)
            return fail();
        off += in[i].len;
    }
    if (EVP_CipherFinal_ex(a->ctx, out + off, &fl) != 1 || fl != 0 ||
        EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, ZT_AEAD_TAG_LEN,
                            tag) != 1)
        return fail();
    return 0;
}

int zt_aead_seal(zt_aead *a, const uint8_t nonce[ZT_AEAD_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, uint8_t *buf,
                 size_t len, uint8_t tag[ZT_AEAD_TAG_LEN])
{
    zt_iov v;

    v.base = buf;
    v.len = len;
    return zt_aead_seal_v(a, nonce, aad, aad_len, &v, 1, buf, tag);
}

int zt_aead_open_to(zt_aead *a, const uint8_t nonce[ZT_AEAD_NONCE_LEN],
                    const uint8_t *aad, size_t aad_len, const uint8_t *in,
                    size_t len, const uint8_t tag[ZT_AEAD_TAG_LEN],
                    uint8_t *out)
{
    uint8_t t[ZT_AEAD_TAG_LEN];
    int outl = 0, fl = 0;

    memcpy(t, tag, sizeof(t)); /* the ctrl takes a non-const pointer */
    if (len > INT_MAX || aead_start(a, 0, nonce, aad, aad_len) != 0 ||
        EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, ZT_AEAD_TAG_LEN,
                            t) != 1)
        goto bad;
    if (len > 0 && (EVP_CipherUpdate(a->ctx, out, &outl, in, (int)len) != 1 ||
                    (size_t)outl != len))
        goto bad;
    if (EVP_CipherFinal_ex(a->ctx, out + outl, &fl) != 1 || fl != 0)
        goto bad;
    return 0;
bad:
    /* No unverified plaintext escapes. */
    zt_memzero(out, len);
    return fail();
}

int zt_aead_open(zt_aead *a, const uint8_t nonce[ZT_AEAD_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, uint8_t *buf,
                 size_t len, const uint8_t tag[ZT_AEAD_TAG_LEN])
{
    return zt_aead_open_to(a, nonce, aad, aad_len, buf, len, tag, buf);
}

/* ---- ML-KEM-768 (FIPS 203) ------------------------------------------------ */

/*
 * PQClean's Keccak code (common/fips202.c) allocates every SHAKE state with
 * malloc, frees it without wiping it (the noise PRF's state is derived from
 * secrets) and calls exit() when malloc fails. It is compiled here, inside
 * the provider, with malloc and free pointing at a small per-thread area
 * that is wiped on release: no allocation per handshake, nothing left in
 * the heap, no exit. ML-KEM-768 holds at most one such state at a time; a
 * second slot and a wiping heap fallback cover anything else.
 */
#define ZT_PQ_STATE_LEN (sizeof(uint64_t) * 26) /* PQC_SHAKEINCCTX_BYTES */
static _Thread_local uint64_t tl_keccak[2][26];
static _Thread_local unsigned tl_keccak_busy;

static void *pq_state_alloc(size_t n)
{
    unsigned i;
    uint64_t *p;

    if (n > ZT_PQ_STATE_LEN)
        return NULL;
    for (i = 0; i < 2; i++)
        if (!(tl_keccak_busy & (1u << i))) {
            tl_keccak_busy |= 1u << i;
            return tl_keccak[i];
        }
    p = malloc(ZT_PQ_STATE_LEN);
    return p;
}

static void pq_state_free(void *p)
{
    unsigned i;

    if (p == NULL)
        return;
    zt_memzero(p, ZT_PQ_STATE_LEN);
    for (i = 0; i < 2; i++)
        if (p == (void *)tl_keccak[i]) {
            tl_keccak_busy &= ~(1u << i);
            return;
        }
    free(p);
}

#define malloc(n) pq_state_alloc(n)
#define free(p) pq_state_free(p)
#include "common/fips202.c"
#undef malloc
#undef free

#include "crypto_kem/ml-kem-768/clean/kem.h"

/* PQClean's randomness hook (common/randombytes.h), used only by its
 * non-derandomised entry points: the core calls the _derand ones with
 * bytes from the configured random source. */
int PQCLEAN_randombytes(uint8_t *output, size_t n);
int PQCLEAN_randombytes(uint8_t *output, size_t n)
{
    if (!ready())
        abort(); /* PQClean has no failure path; never reached */
    randombytes_buf(output, n);
    return 0;
}

/*
 * PQClean keeps its polynomials (secret noise, the message) on the stack
 * and leaves them there: after each call, overwrite the stack it used
 * (about 13 KB for an encapsulation with -O2) with zeros.
 */
#define ZT_PQ_STACK_BURN 24576
static __attribute__((noinline)) void pq_burn_stack(void)
{
    uint8_t b[ZT_PQ_STACK_BURN];

    sodium_memzero(b, sizeof(b));
    __asm__ __volatile__("" : : "r"(b) : "memory");
}

/* FIPS 203 section 7.2, modulus check: ByteEncode12(ByteDecode12(t)) = t,
 * that is every 12-bit coefficient of the k = 3 polynomials < q. ek is
 * public: no need for constant time. */
int zt_mlkem768_check_ek(const uint8_t *ek, size_t ek_len)
{
    size_t i;
    unsigned c0, c1;

    if (ek == NULL || ek_len != ZT_MLKEM768_EK_LEN)
        return -1;
    for (i = 0; i + 3 <= 3 * 384; i += 3) {
        c0 = (unsigned)ek[i] | ((unsigned)(ek[i + 1] & 0x0f) << 8);
        c1 = ((unsigned)ek[i + 1] >> 4) | ((unsigned)ek[i + 2] << 4);
        if (c0 >= 3329 || c1 >= 3329)
            return -1;
    }
    return 0;
}

int zt_mlkem768_keygen(const uint8_t *seed, size_t seed_len, uint8_t *ek,
                       uint8_t *dk)
{
    if (seed_len != ZT_MLKEM_SEED_LEN)
        return -1;
    (void)PQCLEAN_MLKEM768_CLEAN_crypto_kem_keypair_derand(ek, dk, seed);
    pq_burn_stack();
    return 0;
}

int zt_mlkem768_encaps(const uint8_t *ek, size_t ek_len,
                       const uint8_t m[ZT_MLKEM_M_LEN], uint8_t *ct,
                       uint8_t ss[ZT_MLKEM_SS_LEN])
{
    if (zt_mlkem768_check_ek(ek, ek_len) != 0)
        return -1;
    (void)PQCLEAN_MLKEM768_CLEAN_crypto_kem_enc_derand(ct, ss, ek, m);
    pq_burn_stack();
    return 0;
}

int zt_mlkem768_decaps(const uint8_t *dk, size_t dk_len, const uint8_t *ct,
                       size_t ct_len, uint8_t ss[ZT_MLKEM_SS_LEN])
{
    uint8_t h[32];
    int ok;

    /* Section 7.3: ciphertext and key lengths, then the hash check
     * H(ek) = h of the ek and h that dk carries. */
    if (ct_len != ZT_MLKEM768_CT_LEN || dk_len != ZT_MLKEM768_DK_LEN)
        return -1;
    sha3_256(h, dk + 1152, ZT_MLKEM768_EK_LEN);
    ok = sodium_memcmp(h, dk + 1152 + ZT_MLKEM768_EK_LEN, 32) == 0;
    zt_memzero(h, sizeof(h));
    if (!ok)
        return -1;
    (void)PQCLEAN_MLKEM768_CLEAN_crypto_kem_dec(ss, ct, dk);
    pq_burn_stack();
    return 0;
}

/* ---- key exchange --------------------------------------------------------- */

/* P-256 private scalar from 32 big-endian bytes; NULL unless in [1, n-1]. */
static BIGNUM *p256_scalar(const uint8_t priv[32])
{
    BIGNUM *k = BN_secure_new();

    if (k == NULL)
        return NULL;
    BN_set_flags(k, BN_FLG_CONSTTIME);
    if (BN_bin2bn(priv, 32, k) == NULL || BN_is_zero(k) ||
        BN_cmp(k, g_p256_order) >= 0) {
        BN_clear_free(k);
        return NULL;
    }
    return k;
}

/* pub = k * G, uncompressed (RFC 8446 section 4.2.8.2). */
static int p256_keygen(zt_random_fn rnd, void *rnd_arg, uint8_t priv[32],
                       uint8_t *pub)
{
    BIGNUM *k = NULL;
    EC_POINT *pt = NULL;
    BN_CTX *bn = NULL;
    int tries, rc = -1;

    /* A uniform 32-byte string is >= n with probability about 2^-32. */
    for (tries = 0; tries < 64 && k == NULL; tries++) {
        if (rnd(rnd_arg, priv, 32) != 0)
            goto out;
        k = p256_scalar(priv);
    }
    if (k == NULL)
        goto out;
    bn = BN_CTX_new();
    pt = EC_POINT_new(g_p256);
    if (bn == NULL || pt == NULL ||
        EC_POINT_mul(g_p256, pt, k, NULL, NULL, bn) != 1 ||
        EC_POINT_point2oct(g_p256, pt, POINT_CONVERSION_UNCOMPRESSED, pub,
                           65, bn) != 65)
        goto out;
    rc = 0;
out:
    BN_clear_free(k);
    EC_POINT_free(pt);
    BN_CTX_free(bn);
    if (rc != 0) {
        zt_memzero(priv, 32);
        ERR_clear_error();
    }
    return rc;
}

/* secret = x-coordinate of k * peer (RFC 8446 section 7.4.2). */
static int p256_derive(const uint8_t priv[32], const uint8_t *peer,
                       size_t peer_len, uint8_t *secret)
{
    BIGNUM *k = NULL, *x = NULL;
    EC_POINT *q = NULL, *r = NULL;
    BN_CTX *bn = NULL;
    int rc = -1;

    /* Only the uncompressed form: legacy_form = 4 (RFC 8446 4.2.8.2). */
    if (peer_len != 65 || peer[0] != 0x04)
        return -1;
    k = p256_scalar(priv);
    bn = BN_CTX_new();
    q = EC_POINT_new(g_p256);
    r = EC_POINT_new(g_p256);
    x = BN_new();
    if (k == NULL || bn == NULL || q == NULL || r == NULL || x == NULL)
        goto out;
    /* oct2point also checks the curve equation; check again explicitly,
     * the validation RFC 8446 section 4.2.8.2 asks for. */
    if (EC_POINT_oct2point(g_p256, q, peer, peer_len, bn) != 1 ||
        EC_POINT_is_on_curve(g_p256, q, bn) != 1 ||
        EC_POINT_is_at_infinity(g_p256, q))
        goto out;
    if (EC_POINT_mul(g_p256, r, NULL, q, k, bn) != 1 ||
        EC_POINT_is_at_infinity(g_p256, r) ||
        EC_POINT_get_affine_coordinates(g_p256, r, x, NULL, bn) != 1 ||
        BN_bn2binpad(x, secret, 32) != 32)
        goto out;
    rc = 0;
out:
    BN_clear_free(k);
    BN_clear_free(x);
    EC_POINT_clear_free(r);
    EC_POINT_free(q);
    BN_CTX_free(bn);
    if (rc != 0) {
        zt_memzero(secret, 32);
        ERR_clear_error();
    }
    return rc;
}

/* The ECDH groups: 32-byte private keys, either side. */
static int ecdh_keygen(uint16_t group, zt_random_fn rnd, void *rnd_arg,
                       uint8_t priv[32], uint8_t *pub, size_t *pub_len)
{
    switch (group) {
    case ZT_GROUP_X25519:
        /* RFC 7748 section 6.1: 32 random bytes; libsodium clamps. */
        if (rnd(rnd_arg, priv, 32) != 0)
            break;
        if (crypto_scalarmult_base(pub, priv) != 0) {
            zt_memzero(priv, 32);
            break;
        }
        *pub_len = 32;
        return 0;
    case ZT_GROUP_SECP256R1:
        if (p256_keygen(rnd, rnd_arg, priv, pub) != 0)
            break;
        *pub_len = 65;
        return 0;
    }
    return ZT_KX_FAILED;
}

static int ecdh_derive(uint16_t group, const uint8_t priv[32],
                       const uint8_t *peer, size_t peer_len, uint8_t *secret)
{
    switch (group) {
    case ZT_GROUP_X25519:
        if (peer_len != 32)
            return ZT_KX_BAD_PEER;
        /* libsodium returns -1 on an all-zero result (a low-order peer
         * point); check it again ourselves: RFC 8446 section 7.4.2,
         * RFC 7748 section 6.1. */
        if (crypto_scalarmult(secret, priv, peer) != 0 ||
            sodium_is_zero(secret, 32)) {
            zt_memzero(secret, 32);
            return ZT_KX_BAD_PEER;
        }
        return 0;
    case ZT_GROUP_SECP256R1:
        return p256_derive(priv, peer, peer_len, secret) == 0
                   ? 0
                   : ZT_KX_BAD_PEER;
    }
    return ZT_KX_FAILED;
}

/* How a hybrid group lays out its parts (draft-ietf-tls-ecdhe-mlkem
 * section 3): which ECDH group, and whether ML-KEM comes first. */
typedef struct {
    uint16_t ecdh;
    size_t ecdh_len;
    int pq_first;
} hybrid_layout;

static int hybrid_of(uint16_t group, hybrid_layout *h)
{
    switch (group) {
    case ZT_GROUP_X25519MLKEM768:
        h->ecdh = ZT_GROUP_X25519;
        h->ecdh_len = 32;
        h->pq_first = 1;
        return 1;
    case ZT_GROUP_SECP256R1MLKEM768:
        h->ecdh = ZT_GROUP_SECP256R1;
        h->ecdh_len = 65;
        h->pq_first = 0;
        return 1;
    }
    return 0;
}

int zt_kx_is_hybrid(uint16_t group)
{
    hybrid_layout h;

    return hybrid_of(group, &h);
}

size_t zt_kx_pub_len(uint16_t group)
{
    hybrid_layout h;

    if (hybrid_of(group, &h))
        return h.ecdh_len + ZT_MLKEM768_EK_LEN;
    switch (group) {
    case ZT_GROUP_X25519:
        return 32;
    case ZT_GROUP_SECP256R1:
        return 65;
    }
    return 0;
}

size_t zt_kx_server_pub_len(uint16_t group)
{
    hybrid_layout h;

    if (hybrid_of(group, &h))
        return h.ecdh_len + ZT_MLKEM768_CT_LEN;
    return zt_kx_pub_len(group);
}

int zt_kx_keygen(uint16_t group, zt_random_fn rnd, void *rnd_arg,
                 uint8_t *priv, uint8_t *pub,
                 size_t *pub_len)
{
    uint8_t seed[ZT_MLKEM_SEED_LEN];
    hybrid_layout h;
    size_t el;
    int rc;

    if (!ready() || rnd == NULL)
        return ZT_KX_FAILED;
    if (!hybrid_of(group, &h))
        return ecdh_keygen(group, rnd, rnd_arg, priv, pub, pub_len);
    /* priv: the ECDH private key, then dk */
    rc = ecdh_keygen(h.ecdh, rnd, rnd_arg, priv,
                     pub + (h.pq_first ? ZT_MLKEM768_EK_LEN : 0), &el);
    if (rc != 0)
        return rc;
    if (rnd(rnd_arg, seed, sizeof(seed)) != 0 ||
        zt_mlkem768_keygen(seed, sizeof(seed),
                           pub + (h.pq_first ? 0 : h.ecdh_len),
                           priv + 32) != 0) {
        zt_memzero(seed, sizeof(seed));
        zt_memzero(priv, ZT_KX_MAX_PRIV);
        return ZT_KX_FAILED;
    }
    zt_memzero(seed, sizeof(seed));
    *pub_len = h.ecdh_len + ZT_MLKEM768_EK_LEN;
    return 0;
}

int zt_kx_derive(uint16_t group, const uint8_t *priv,
                 const uint8_t *peer, size_t peer_len, uint8_t *secret,
                 size_t *secret_len)
{
    const uint8_t *ct, *ep;
    uint8_t *pq_ss, *ec_ss;
    hybrid_layout h;
    int rc;

    if (!ready())
        return ZT_KX_FAILED;
    if (!hybrid_of(group, &h)) {
        rc = ecdh_derive(group, priv, peer, peer_len, secret);
        if (rc == 0)
            *secret_len = 32;
        return rc;
    }
    /* Client side of a hybrid: the server's share must be exactly
     * ciphertext + ECDH share long. */
    if (peer_len != h.ecdh_len + ZT_MLKEM768_CT_LEN)
        return ZT_KX_BAD_PEER;
    ct = h.pq_first ? peer : peer + h.ecdh_len;
    ep = h.pq_first ? peer + ZT_MLKEM768_CT_LEN : peer;
    pq_ss = h.pq_first ? secret : secret + 32;
    ec_ss = h.pq_first ? secret + 32 : secret;
    rc = ecdh_derive(h.ecdh, priv, ep, h.ecdh_len, ec_ss);
    if (rc == 0 && zt_mlkem768_decaps(priv + 32, ZT_MLKEM768_DK_LEN, ct,
                                      ZT_MLKEM768_CT_LEN, pq_ss) != 0)
        rc = ZT_KX_FAILED;
    if (rc != 0) {
        zt_memzero(secret, 64);
        return rc;
    }
    *secret_len = 64;
    return 0;
}

int zt_kx_encaps(uint16_t group, zt_random_fn rnd, void *rnd_arg,
                 const uint8_t *peer, size_t peer_len, uint8_t *pub,
                 size_t *pub_len, uint8_t *secret, size_t *secret_len)
{
    uint8_t priv[32], m[ZT_MLKEM_M_LEN];
    const uint8_t *ek, *ep;
    uint8_t *ct, *our_ep, *pq_ss, *ec_ss;
    hybrid_layout h;
    size_t el;
    int rc;

    if (!ready() || rnd == NULL)
        return ZT_KX_FAILED;
    if (!hybrid_of(group, &h)) {
        /* the length is the peer's fault, not worth a key pair */
        if (zt_kx_pub_len(group) == 0 || peer_len != zt_kx_pub_len(group))
            return ZT_KX_BAD_PEER;
        rc = ecdh_keygen(group, rnd, rnd_arg, priv, pub, pub_len);
        if (rc == 0)
            rc = ecdh_derive(group, priv, peer, peer_len, secret);
        zt_memzero(priv, sizeof(priv));
        if (rc == 0)
            *secret_len = 32;
        return rc;
    }
    /* draft-ietf-tls-ecdhe-mlkem section 3: exact length, then the ECDH
     * checks and the FIPS 203 section 7.2 check, all illegal_parameter. */
    if (peer_len != h.ecdh_len + ZT_MLKEM768_EK_LEN)
        return ZT_KX_BAD_PEER;
    ek = h.pq_first ? peer : peer + h.ecdh_len;
    ep = h.pq_first ? peer + ZT_MLKEM768_EK_LEN : peer;
    ct = h.pq_first ? pub : pub + h.ecdh_len;
    our_ep = h.pq_first ? pub + ZT_MLKEM768_CT_LEN : pub;
    pq_ss = h.pq_first ? secret : secret + 32;
    ec_ss = h.pq_first ? secret + 32 : secret;
    if (zt_mlkem768_check_ek(ek, ZT_MLKEM768_EK_LEN) != 0)
        return ZT_KX_BAD_PEER;
    rc = ecdh_keygen(h.ecdh, rnd, rnd_arg, priv, our_ep, &el);
    if (rc == 0)
        rc = ecdh_derive(h.ecdh, priv, ep, h.ecdh_len, ec_ss);
    if (rc == 0 && rnd(rnd_arg, m, sizeof(m)) != 0)
        rc = ZT_KX_FAILED;
    if (rc == 0 &&
        zt_mlkem768_encaps(ek, ZT_MLKEM768_EK_LEN, m, ct, pq_ss) != 0)
        rc = ZT_KX_BAD_PEER;
    zt_memzero(priv, sizeof(priv));
    zt_memzero(m, sizeof(m));
    if (rc != 0) {
        zt_memzero(secret, 64);
        return rc;
    }
    *pub_len = h.ecdh_len + ZT_MLKEM768_CT_LEN;
    *secret_len = 64;
    return 0;
}

/* ---- signatures ----------------------------------------------------------- */

/* The hash of an RSA-PSS scheme (RFC 8446 section 4.2.3), or NULL. */
static const EVP_MD *pss_md(uint16_t scheme)
{
    switch (scheme) {
    case ZT_SIG_RSA_PSS_RSAE_SHA256:
        return g_sha256;
    case ZT_SIG_RSA_PSS_RSAE_SHA384:
        return g_sha384;
    case ZT_SIG_RSA_PSS_RSAE_SHA512:
        return g_sha512;
    }
    return NULL;
}

static int is_curve(EVP_PKEY *pk, const char *sn)
{
    char name[64];
    size_t n = 0;

    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
        EVP_PKEY_get_group_name(pk, name, sizeof(name), &n) != 1)
        return 0;
    return strcmp(name, sn) == 0;
}

static int is_p256(EVP_PKEY *pk)
{
    return is_curve(pk, SN_X9_62_prime256v1);
}

/* RSA-PSS parameters for TLS: MGF1 with the same hash, salt length equal
 * to the hash length (RFC 8446 section 4.2.3). */
static int pss_setup(EVP_PKEY_CTX *pctx, const EVP_MD *md)
{
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) ==
               1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
}

/* Verify sig over msg under pk with scheme; 0 when it verifies. */
static int verify_pkey(EVP_PKEY *pk, uint16_t scheme, const uint8_t *msg,
                       size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    static const uint8_t empty[1];
    const EVP_MD *md = NULL;
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    int rc = -1;

    if (msg_len == 0)
        msg = empty;
    switch (scheme) {
    case ZT_SIG_ED25519: {
        uint8_t raw[32];
        size_t n = sizeof(raw);

        if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519 ||
            EVP_PKEY_get_raw_public_key(pk, raw, &n) != 1 || n != 32 ||
            sig_len != crypto_sign_BYTES)
            return fail();
        return crypto_sign_verify_detached(sig, msg, msg_len, raw) == 0 ? 0
                                                                       : -1;
    }
    case ZT_SIG_ECDSA_SECP256R1_SHA256:
        if (!is_p256(pk))
            return fail();
        md = g_sha256;
        break;
    case ZT_SIG_ECDSA_SECP384R1_SHA384: /* client certificates */
        if (!is_curve(pk, SN_secp384r1))
            return fail();
        md = g_sha384;
        break;
    case ZT_SIG_ECDSA_SECP521R1_SHA512:
        if (!is_curve(pk, SN_secp521r1))
            return fail();
        md = g_sha512;
        break;
    case ZT_SIG_RSA_PSS_RSAE_SHA256:
    case ZT_SIG_RSA_PSS_RSAE_SHA384:
    case ZT_SIG_RSA_PSS_RSAE_SHA512:
        /* rsae: an rsaEncryption key. Verification takes 1024 bits and up
         * (the RFC 8448 trace key); credentials we serve are held to
         * cred->rsa_min_bits when loaded. */
        if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
            EVP_PKEY_get_bits(pk) < 1024)
            return fail();
        md = pss_md(scheme);
        break;
    default:
        return -1;
    }
    mctx = EVP_MD_CTX_new();
    if (mctx == NULL ||
        EVP_DigestVerifyInit(mctx, &pctx, md, NULL, pk) != 1)
        goto out;
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA && !pss_setup(pctx, md))
        goto out;
    /* For ECDSA libcrypto insists on the strict DER form of the signature
     * (it re-encodes and compares), as RFC 8446 section 4.2.3 wants. */
    if (EVP_DigestVerify(mctx, sig, sig_len, msg, msg_len) == 1)
        rc = 0;
out:
    EVP_MD_CTX_free(mctx);
    ERR_clear_error();
    return rc;
}

int zt_verify_cert_sig(const uint8_t *cert_der, size_t cert_len,
                       uint16_t scheme, const uint8_t *msg, size_t msg_len,
                       const uint8_t *sig, size_t sig_len)
{
    const unsigned char *p = cert_der;
    X509 *x;
    EVP_PKEY *pk;
    int rc = -1;

    if (!ready() || cert_len > LONG_MAX)
        return -1;
    x = d2i_X509(NULL, &p, (long)cert_len);
    if (x != NULL && p == cert_der + cert_len &&
        (pk = X509_get0_pubkey(x)) != NULL)
        rc = verify_pkey(pk, scheme, msg, msg_len, sig, sig_len);
    X509_free(x);
    ERR_clear_error();
    return rc;
}

int zt_verify_pubkey_sig(const uint8_t *spki_der, size_t spki_len,
                         uint16_t scheme, const uint8_t *msg, size_t msg_len,
                         const uint8_t *sig, size_t sig_len)
{
    const unsigned char *p = spki_der;
    EVP_PKEY *pk;
    int rc = -1;

    if (!ready() || spki_len > LONG_MAX)
        return -1;
    pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
    if (pk != NULL && p == spki_der + spki_len)
        rc = verify_pkey(pk, scheme, msg, msg_len, sig, sig_len);
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return rc;
}

int zt_cred_sign(const zt_cred *cred, uint16_t scheme, const uint8_t *msg,
                 size_t msg_len, uint8_t *sig, size_t *sig_len)
{
    static const uint8_t empty[1];
    EVP_PKEY *pk = cred->pkey;
    const EVP_MD *md = NULL;
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    size_t n;
    int rc = -1;

    if (!ready() || pk == NULL)
        return -1;
    if (msg_len == 0)
        msg = empty;
    switch (cred->type) {
    case ZT_KEY_ED25519: {
        unsigned long long sl = 0;

        if (scheme != ZT_SIG_ED25519 || *sig_len < crypto_sign_BYTES ||
            crypto_sign_detached(sig, &sl, msg, msg_len, cred->ed25519_sk) !=
                0)
            return -1;
        *sig_len = (size_t)sl;
        return 0;
    }
    case ZT_KEY_ECDSA_P256:
        if (scheme != ZT_SIG_ECDSA_SECP256R1_SHA256)
            return -1;
        md = g_sha256;
        break;
    case ZT_KEY_RSA:
        md = pss_md(scheme);
        if (md == NULL)
            return -1;
        break;
    default:
        return -1;
    }
    mctx = EVP_MD_CTX_new();
    if (mctx == NULL || EVP_DigestSignInit(mctx, &pctx, md, NULL, pk) != 1)
        goto out;
    if (cred->type == ZT_KEY_RSA && !pss_setup(pctx, md))
        goto out;
    /* Size first (DER ECDSA signatures vary, at most 72 bytes). */
    if (EVP_DigestSign(mctx, NULL, &n, msg, msg_len) != 1 || n > *sig_len)
        goto out;
    n = *sig_len;
    if (EVP_DigestSign(mctx, sig, &n, msg, msg_len) != 1)
        goto out;
    *sig_len = n;
    rc = 0;
out:
    EVP_MD_CTX_free(mctx);
    if (rc != 0)
        ERR_clear_error();
    return rc;
}

/* ---- credentials ----------------------------------------------------------- */

static int cred_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && err_len > 0) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();
    return -1;
}

/* Never prompt for a pass phrase (the default callback reads the tty). */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* The TLS SignatureScheme of the signature on a certificate (RFC 8446
 * section 4.2.3), for signature_algorithms_cert; 0 when it has none. */
static uint16_t cert_sig_scheme(const X509 *x)
{
    switch (X509_get_signature_nid(x)) {
    case NID_ED25519: return 0x0807;
    case NID_ecdsa_with_SHA256: return 0x0403;
    case NID_ecdsa_with_SHA384: return 0x0503;
    case NID_ecdsa_with_SHA512: return 0x0603;
    case NID_sha256WithRSAEncryption: return 0x0401;
    case NID_sha384WithRSAEncryption: return 0x0501;
    case NID_sha512WithRSAEncryption: return 0x0601;
    default: return 0;
    }
}

static int cred_chain(zt_cred *cred, const char *pem, size_t len, X509 **leaf,
                      char *err, size_t err_len)
{
    BIO *bio;
    X509 *x, *prev = NULL, *prev_owned = NULL;
    int n, rc;

    if (len > INT_MAX)
        return cred_err(err, err_len, "certificate chain too large");
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        return cred_err(err, err_len, "out of memory");
    while ((x = PEM_read_bio_X509(bio, NULL, no_password, NULL)) != NULL) {
        uint8_t *der = NULL;

        if (cred->n_chain == ZT_MAX_CHAIN) {
            X509_free(x);
            X509_free(prev_owned);
            BIO_free(bio);
            return cred_err(err, err_len,
                            "certificate chain has more than %d certificates",
                            ZT_MAX_CHAIN);
        }
        /* Leaf first, each certificate issued by the next (RFC 8446
         * 4.4.2): a chain out of order is refused rather than served.
         * Names and key identifiers only; signatures are the client's. */
        if (prev != NULL && (rc = X509_check_issued(x, prev)) != X509_V_OK) {
            X509_free(x);
            X509_free(prev_owned);
            BIO_free(bio);
            return cred_err(err, err_len,
                            "certificate chain out of order: certificate %zu "
                            "is not issued by certificate %zu (%s)",
                            cred->n_chain, cred->n_chain + 1,
                            X509_verify_cert_error_string(rc));
        }
        n = i2d_X509(x, &der);
        if (n <= 0) {
            X509_free(x);
            X509_free(prev_owned);
            BIO_free(bio);
            return cred_err(err, err_len, "cannot encode certificate %zu",
                            cred->n_chain + 1);
        }
        /* Our own copy, freed with free() (not OPENSSL_free). */
        cred->chain_der[cred->n_chain] = malloc((size_t)n);
        if (cred->chain_der[cred->n_chain] == NULL) {
            OPENSSL_free(der);
            X509_free(x);
            X509_free(prev_owned);
            BIO_free(bio);
            return cred_err(err, err_len, "out of memory");
        }
        memcpy(cred->chain_der[cred->n_chain], der, (size_t)n);
        OPENSSL_free(der);
        cred->chain_len[cred->n_chain] = (size_t)n;
        cred->chain_sig[cred->n_chain] = cert_sig_scheme(x);
        if (cred->n_chain == 0) {
            *leaf = x;
        } else {
            X509_free(prev_owned);
            prev_owned = x;
        }
        prev = x;
        cred->n_chain++;
    }
    X509_free(prev_owned);
    BIO_free(bio);
    /* The loop ends on "no start line": expected, not an error. Anything
     * else (a damaged certificate) is. */
    {
        unsigned long e = ERR_peek_last_error();

        if (cred->n_chain == 0)
            return cred_err(err, err_len,
                            "no certificate found in the chain PEM");
        if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
                        ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
            return cred_err(err, err_len,
                            "cannot parse certificate %zu of the chain: %s",
                            cred->n_chain + 1, ERR_reason_error_string(e)
                                                   ? ERR_reason_error_string(e)
                                                   : "bad PEM");
    }
    ERR_clear_error();
    return 0;
}

static int64_t cert_not_after(X509 *x)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

/* Check the key type is one we sign with; fill cred->type. */
static int cred_key_type(zt_cred *cred, EVP_PKEY *pk, char *err,
                         size_t err_len)
{
    char name[64];
    size_t n = 0;
    int id = EVP_PKEY_get_base_id(pk);

    switch (id) {
    case EVP_PKEY_ED25519:
        cred->type = ZT_KEY_ED25519;
        return 0;
    case EVP_PKEY_EC:
        if (is_p256(pk)) {
            cred->type = ZT_KEY_ECDSA_P256;
            return 0;
        }
        if (EVP_PKEY_get_group_name(pk, name, sizeof(name), &n) != 1)
            snprintf(name, sizeof(name), "(explicit parameters)");
        return cred_err(err, err_len,
                        "unsupported key type: EC curve %s (only P-256)",
                        name);
    case EVP_PKEY_RSA:
        cred->rsa_bits = (unsigned)EVP_PKEY_get_bits(pk);
        if (cred->rsa_bits < (cred->rsa_min_bits ? cred->rsa_min_bits : 2048))
            return cred_err(err, err_len,
                            "unsupported key type: RSA %u bits (at least "
                            "%u required)",
                            cred->rsa_bits,
                            cred->rsa_min_bits ? cred->rsa_min_bits : 2048);
        if (cred->rsa_bits > 8 * ZT_MAX_SIG_LEN)
            return cred_err(err, err_len,
                            "unsupported key type: RSA %u bits (at most %d)",
                            cred->rsa_bits, 8 * ZT_MAX_SIG_LEN);
        cred->type = ZT_KEY_RSA;
        return 0;
    case EVP_PKEY_RSA_PSS:
        return cred_err(err, err_len,
                        "unsupported key type: RSASSA-PSS key (use an "
                        "rsaEncryption RSA key)");
    default: {
        const char *tn = EVP_PKEY_get0_type_name(pk);

        return cred_err(err, err_len, "unsupported key type: %s",
                        tn ? tn : OBJ_nid2sn(id));
    }
    }
}

/* libsodium's 64-byte signing key from the PKCS#8 Ed25519 seed. */
static int cred_ed25519(zt_cred *cred, EVP_PKEY *pk, char *err,
                        size_t err_len)
{
    uint8_t seed[32], pub[32], own[crypto_sign_PUBLICKEYBYTES];
    size_t n = sizeof(seed), m = sizeof(pub);
    int rc = 0;

    if (EVP_PKEY_get_raw_private_key(pk, seed, &n) != 1 || n != 32 ||
        EVP_PKEY_get_raw_public_key(pk, pub, &m) != 1 || m != 32 ||
        crypto_sign_seed_keypair(own, cred->ed25519_sk, seed) != 0 ||
        sodium_memcmp(own, pub, 32) != 0)
        rc = cred_err(err, err_len, "cannot use the Ed25519 private key");
    zt_memzero(seed, sizeof(seed));
    return rc;
}

int zt_cred_load(zt_cred *cred, const char *chain_pem, size_t chain_len,
                 const char *key_pem, size_t key_len, char *err,
                 size_t err_len)
{
    X509 *leaf = NULL;
    EVP_PKEY *pk = NULL, *pub;
    BIO *bio = NULL;
    int rc = -1;
    unsigned min_bits = cred->rsa_min_bits;

    memset(cred, 0, sizeof(*cred));
    cred->rsa_min_bits = min_bits;
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (!ready())
        return cred_err(err, err_len, "crypto library initialisation failed");
    if (cred_chain(cred, chain_pem, chain_len, &leaf, err, err_len) != 0)
        goto out;
    if (key_len > INT_MAX ||
        (bio = BIO_new_mem_buf(key_pem, (int)key_len)) == NULL) {
        cred_err(err, err_len, "cannot read the private key");
        goto out;
    }
    pk = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    if (pk == NULL) {
        cred_err(err, err_len,
                 "no usable private key in the key PEM (missing, damaged or "
                 "encrypted)");
        goto out;
    }
    if (cred_key_type(cred, pk, err, err_len) != 0)
        goto out;
    pub = X509_get0_pubkey(leaf);
    if (pub == NULL || EVP_PKEY_eq(pub, pk) != 1) {
        cred_err(err, err_len,
                 "private key does not match the leaf certificate");
        goto out;
    }
    if (cred->type == ZT_KEY_ED25519 &&
        cred_ed25519(cred, pk, err, err_len) != 0)
        goto out;
    cred->not_after = cert_not_after(leaf);
    cred->pkey = pk;
    pk = NULL;
    rc = 0;
out:
    BIO_free(bio);
    EVP_PKEY_free(pk);
    X509_free(leaf);
    ERR_clear_error();
    if (rc != 0)
        zt_cred_free(cred);
    return rc;
}

void zt_cred_free(zt_cred *cred)
{
    size_t i;

    if (cred == NULL)
        return;
    EVP_PKEY_free(cred->pkey); /* libcrypto cleanses private keys */
    for (i = 0; i < cred->n_chain && i < ZT_MAX_CHAIN; i++)
        free(cred->chain_der[i]);
    zt_memzero(cred->ed25519_sk, sizeof(cred->ed25519_sk));
    memset(cred, 0, sizeof(*cred));
}

/* ---- X.509 for client certificates --------------------------------------- */

struct zt_trust {
    X509_STORE *store;
    size_t n_ca, n_crl;
    uint8_t digest[32]; /* zt_trust_digest */
    uint8_t *names; /* DistinguishedName entries, u16-prefixed */
    size_t names_len;
};

/* Room left for the names in a CertificateRequest (RFC 8446 4.3.2:
 * extensions<2..2^16-1>; the signature_algorithms extension needs less
 * than 64 bytes). */
#define ZT_TRUST_NAMES_MAX (65535 - 64)

/* A chain certificate the provider could not parse (not a libcrypto code). */
#define ZT_X509_PARSE (-1)

zt_trust *zt_trust_new(void)
{
    zt_trust *t;

    if (!ready())
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->store = X509_STORE_new();
    if (t->store == NULL) {
        free(t);
        ERR_clear_error();
        return NULL;
    }
    return t;
}

void zt_trust_free(zt_trust *t)
{
    if (t == NULL)
        return;
    X509_STORE_free(t->store);
    free(t->names);
    free(t);
}

/* Append the subject of x to the advertised names, once. */
static int trust_add_name(zt_trust *t, X509 *x, char *err, size_t err_len)
{
    unsigned char *der = NULL;
    uint8_t *nb;
    size_t off = 0, l;
    int n = i2d_X509_NAME(X509_get_subject_name(x), &der);

    if (n <= 0)
        return cred_err(err, err_len, "cannot encode a CA subject name");
    while (off + 2 <= t->names_len) {
        l = ((size_t)t->names[off] << 8) | t->names[off + 1];
        if (l == (size_t)n && memcmp(t->names + off + 2, der, l) == 0) {
            OPENSSL_free(der);
            return 0; /* already listed */
        }
        off += 2 + l;
    }
    if (t->names_len + 2 + (size_t)n > ZT_TRUST_NAMES_MAX) {
        OPENSSL_free(der);
        return cred_err(err, err_len,
                        "the CA names do not fit in a CertificateRequest "
                        "(more than %d bytes)",
                        ZT_TRUST_NAMES_MAX);
    }
    nb = realloc(t->names, t->names_len + 2 + (size_t)n);
    if (nb == NULL) {
        OPENSSL_free(der);
        return cred_err(err, err_len, "out of memory");
    }
    t->names = nb;
    nb[t->names_len] = (uint8_t)(n >> 8);
    nb[t->names_len + 1] = (uint8_t)n;
    memcpy(nb + t->names_len + 2, der, (size_t)n);
    t->names_len += 2 + (size_t)n;
    OPENSSL_free(der);
    return 0;
}

/* digest = SHA-256(digest || tag || der) */
static int trust_chain_digest(zt_trust *t, uint8_t tag, const uint8_t *der,
                              int len)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m != NULL && len > 0 &&
             EVP_DigestInit_ex(m, g_sha256, NULL) == 1 &&
             EVP_DigestUpdate(m, t->digest, 32) == 1 &&
             EVP_DigestUpdate(m, &tag, 1) == 1 &&
             EVP_DigestUpdate(m, der, (size_t)len) == 1 &&
             EVP_DigestFinal_ex(m, t->digest, NULL) == 1;

    EVP_MD_CTX_free(m);
    return ok ? 0 : -1;
}

void zt_trust_digest(const zt_trust *t, uint8_t out[32])
{
    if (t == NULL)
        memset(out, 0, 32);
    else
        memcpy(out, t->digest, 32);
}

/* The PEM loop ended: "no start line" is its normal end, anything else a
 * damaged object. */
static int pem_end_ok(void)
{
    unsigned long e = ERR_peek_last_error();

    return e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM &&
                      ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
}

int zt_trust_add_ca(zt_trust *t, const char *pem, size_t len, int advertise,
                    char *err, size_t err_len)
{
    BIO *bio;
    X509 *x;
    size_t n = 0;

    if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
        return cred_err(err, err_len, "cannot read the CA certificates");
    ERR_clear_error();
    /* _AUX: "TRUSTED CERTIFICATE" blocks too, as nginx's CA files */
    while ((x = PEM_read_bio_X509_AUX(bio, NULL, no_password, NULL)) !=
           NULL) {
        unsigned char *der = NULL;
        int dl = i2d_X509(x, &der);
        int bad = dl <= 0 || trust_chain_digest(t, 'C', der, dl) != 0;

        OPENSSL_free(der);
        if (bad || X509_STORE_add_cert(t->store, x) != 1 ||
            (advertise && trust_add_name(t, x, err, err_len) != 0)) {
            if (err != NULL && err_len > 0 && err[0] == '\0')
                cred_err(err, err_len, "cannot add CA certificate %zu",
                         n + 1);
            X509_free(x);
            BIO_free(bio);
            ERR_clear_error();
            return -1;
        }
        X509_free(x);
        n++;
    }
    BIO_free(bio);
    if (!pem_end_ok())
        return cred_err(err, err_len, "cannot parse CA certificate %zu",
                        n + 1);
    if (n == 0)
        return cred_err(err, err_len, "no certificate found");
    t->n_ca += n;
    ERR_clear_error();
    return 0;
}

int zt_trust_add_crl(zt_trust *t, const char *pem, size_t len, char *err,
                     size_t err_len)
{
    BIO *bio;
    X509_CRL *crl;
    size_t n = 0;

    if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
        return cred_err(err, err_len, "cannot read the CRL file");
    ERR_clear_error();
    while ((crl = PEM_read_bio_X509_CRL(bio, NULL, no_password, NULL)) !=
           NULL) {
        unsigned char *der = NULL;
        int dl = i2d_X509_CRL(crl, &der);
        int bad = dl <= 0 || trust_chain_digest(t, 'R', der, dl) != 0;

        OPENSSL_free(der);
        if (bad || X509_STORE_add_crl(t->store, crl) != 1) {
            X509_CRL_free(crl);
            BIO_free(bio);
            return cred_err(err, err_len, "cannot add CRL %zu", n + 1);
        }
        X509_CRL_free(crl);
        n++;
    }
    BIO_free(bio);
    if (!pem_end_ok())
        return cred_err(err, err_len, "cannot parse CRL %zu", n + 1);
    if (n == 0)
        return cred_err(err, err_len, "no CRL found");
    t->n_crl += n;
    ERR_clear_error();
    return 0;
}

size_t zt_trust_ca_count(const zt_trust *t)
{
    return t ? t->n_ca : 0;
}

size_t zt_trust_crl_count(const zt_trust *t)
{
    return t ? t->n_crl : 0;
}

const uint8_t *zt_trust_names(const zt_trust *t, size_t *len)
{
    *len = t ? t->names_len : 0;
    return *len ? t->names : NULL;
}

static X509 *x509_from_der(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x;

    if (len == 0 || len > LONG_MAX)
        return NULL;
    x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != der + len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

static int64_t asn1_time_epoch(const ASN1_TIME *t)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static zt_pk_kind pk_kind(EVP_PKEY *pk, unsigned *bits)
{
    *bits = pk ? (unsigned)EVP_PKEY_get_bits(pk) : 0;
    if (pk == NULL)
        return ZT_PK_OTHER;
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_ED25519:
        return ZT_PK_ED25519;
    case EVP_PKEY_RSA:
        return ZT_PK_RSA;
    case EVP_PKEY_EC:
        if (is_curve(pk, SN_X9_62_prime256v1))
            return ZT_PK_P256;
        if (is_curve(pk, SN_secp384r1))
            return ZT_PK_P384;
        if (is_curve(pk, SN_secp521r1))
            return ZT_PK_P521;
        return ZT_PK_OTHER;
    }
    return ZT_PK_OTHER;
}

/* Subject, issuer (RFC 2253) and serial (hex) as nginx prints them,
 * NUL-separated in one allocation. */
static int x509_text(X509 *x, zt_x509_facts *f)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long n;
    size_t at[3];
    int ok = bio != NULL;

    if (ok) {
        at[0] = 0;
        ok = X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
                                XN_FLAG_RFC2253) >= 0 &&
             BIO_write(bio, "", 1) == 1;
    }
    if (ok) {
        at[1] = (size_t)BIO_pending(bio);
        ok = X509_NAME_print_ex(bio, X509_get_issuer_name(x), 0,
                                XN_FLAG_RFC2253) >= 0 &&
             BIO_write(bio, "", 1) == 1;
    }
    if (ok) {
        at[2] = (size_t)BIO_pending(bio);
        ok = i2a_ASN1_INTEGER(bio, X509_get0_serialNumber(x)) >= 0 &&
             BIO_write(bio, "", 1) == 1;
    }
    if (ok) {
        n = BIO_get_mem_data(bio, &data);
        ok = n > 0 && (f->text = malloc((size_t)n)) != NULL;
        if (ok) {
            memcpy(f->text, data, (size_t)n);
            f->text_len = (size_t)n;
            f->issuer_off = at[1];
            f->serial_off = at[2];
        }
    }
    BIO_free(bio);
    return ok ? 0 : -1;
}

int zt_x509_facts_get(const uint8_t *der, size_t len, zt_x509_facts *f)
{
    X509 *x;
    int rc = -1;

    memset(f, 0, sizeof(*f));
    if (!ready() || (x = x509_from_der(der, len)) == NULL)
        return fail();
    f->key = pk_kind(X509_get0_pubkey(x), &f->key_bits);
    f->not_before = asn1_time_epoch(X509_get0_notBefore(x));
    f->not_after = asn1_time_epoch(X509_get0_notAfter(x));
    if (EVP_Digest(der, len, f->sha256, NULL, g_sha256, NULL) == 1 &&
        EVP_Digest(der, len, f->sha1, NULL, EVP_sha1(), NULL) == 1 &&
        x509_text(x, f) == 0)
        rc = 0;
    X509_free(x);
    ERR_clear_error();
    return rc;
}

int zt_x509_code_no_ca(int code)
{
    switch (code) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return 1;
    }
    return 0;
}

const char *zt_x509_code_str(int code)
{
    if (code == ZT_X509_PARSE)
        return "certificate could not be parsed";
    return X509_verify_cert_error_string(code);
}

/* libcrypto's codes by what they mean for the client (the alerts follow
 * RFC 8446 section 6.2, and libssl's table where the RFC is silent). */
static zt_verify_result x509_result(int code)
{
    switch (code) {
    case X509_V_OK:
        return ZT_VR_OK;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
        return ZT_VR_UNKNOWN_CA;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
        return ZT_VR_EXPIRED;
    case X509_V_ERR_CERT_REVOKED:
        return ZT_VR_REVOKED;
    case X509_V_ERR_INVALID_PURPOSE:
        return ZT_VR_BAD_PURPOSE;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
        return ZT_VR_CHAIN_TOO_LONG;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
        return ZT_VR_CRL_MISSING;
    case ZT_X509_PARSE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK:
        return ZT_VR_BAD_CERT;
    }
    return ZT_VR_OTHER;
}

/* Errors seen while libcrypto walks the chain: the last one that is more
 * than "issuer unknown" wins over any "issuer unknown" one. */
typedef struct {
    int code;
    int hard;
} zt_vstate;

static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    zt_vstate *st = X509_STORE_CTX_get_app_data(ctx);
    int e;

    if (!ok && st != NULL) {
        e = X509_STORE_CTX_get_error(ctx);
        if (!zt_x509_code_no_ca(e)) {
            st->code = e;
            st->hard = 1;
        } else if (!st->hard) {
            st->code = e;
        }
    }
    return 1; /* go on: every error is seen, as with nginx's callback */
}

zt_verify_result zt_x509_verify_client(const zt_trust *t,
                                       const uint8_t *const *der,
                                       const size_t *len, size_t n,
                                       unsigned depth, int64_t now,
                                       int level, int *code)
{
    zt_trust *own = NULL;
    X509_STORE_CTX *ctx = NULL;
    X509_VERIFY_PARAM *param;
    STACK_OF(X509) *untrusted = NULL;
    X509 *leaf = NULL, *x;
    zt_vstate st = {X509_V_OK, 0};
    size_t i;
    int rc = -2;

    *code = ZT_X509_PARSE;
    if (!ready() || n == 0)
        return ZT_VR_BAD_CERT;
    if (t == NULL) {
        /* nothing trusted (optional_no_ca without CAs): an empty store */
        t = own = zt_trust_new();
        if (t == NULL) {
            *code = X509_V_ERR_OUT_OF_MEM;
            return ZT_VR_OTHER;
        }
    }
    leaf = x509_from_der(der[0], len[0]);
    untrusted = sk_X509_new_null();
    if (leaf == NULL || untrusted == NULL)
        goto out;
    for (i = 1; i < n; i++) {
        x = x509_from_der(der[i], len[i]);
        if (x == NULL || !sk_X509_push(untrusted, x)) {
            X509_free(x);
            goto out;
        }
    }
    ctx = X509_STORE_CTX_new();
    if (ctx == NULL ||
        X509_STORE_CTX_init(ctx, t->store, leaf, untrusted) != 1 ||
        X509_STORE_CTX_set_default(ctx, "ssl_client") != 1) {
        *code = X509_V_ERR_OUT_OF_MEM;
        goto out;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_depth(param, (int)depth);
    X509_VERIFY_PARAM_set_time(param, (time_t)now);
    X509_VERIFY_PARAM_set_auth_level(param, level);
    if (t->n_crl > 0)
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK |
                                               X509_V_FLAG_CRL_CHECK_ALL);
    X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
    X509_STORE_CTX_set_app_data(ctx, &st);
    rc = X509_verify_cert(ctx);
    if (rc <= 0 && st.code == X509_V_OK)
        st.code = X509_STORE_CTX_get_error(ctx) != X509_V_OK
                      ? X509_STORE_CTX_get_error(ctx)
                      : X509_V_ERR_UNSPECIFIED;
    *code = st.code;
out:
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    zt_trust_free(own);
    ERR_clear_error();
    return x509_result(*code);
}
