/*
 * crypto.h: the crypto provider interface of the core.
 *
 * Only src/crypto.c includes <sodium.h> or <openssl/...>. Everything else in
 * src/ reaches cryptography through these functions. The split (docs/crypto.md):
 *   libsodium  X25519, Ed25519, random bytes, wipe, constant-time compare
 *   libcrypto  AEADs, SHA-2, HMAC, HKDF, P-256 ECDH, ECDSA, RSA-PSS,
 *              PEM/X.509 parsing, key/certificate matching
 *   PQClean    ML-KEM-768 (FIPS 203), "clean" implementation, fetched at
 *              install time from the pinned npm package (.ci/fetch-pqclean)
 *
 * Every function that can fail returns 0 on success and non-zero on
 * failure, and is marked warn_unused_result.
 */
#ifndef ZT_CRYPTO_H
#define ZT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "zigtls.h"

int zt_crypto_init(void) ZT_WUR; /* idempotent; sodium_init() */

/* ---- utilities (libsodium) ---------------------------------------------- */
void zt_memzero(void *p, size_t n);
/* 1 if equal, 0 otherwise; constant time in n. */
int zt_ct_equal(const void *a, const void *b, size_t n) ZT_WUR;
int zt_sys_random(void *arg, uint8_t *out, size_t len) ZT_WUR; /* zt_random_fn */

/* ---- hashes (libcrypto) ------------------------------------------------- */
typedef enum { ZT_SHA256 = 1, ZT_SHA384 = 2 } zt_hash_alg;
#define ZT_MAX_HASH_LEN 48
size_t zt_hash_len(zt_hash_alg alg);

typedef struct zt_hash zt_hash; /* opaque (an EVP_MD_CTX) */
zt_hash *zt_hash_new(zt_hash_alg alg) ZT_WUR;
int zt_hash_update(zt_hash *h, const uint8_t *p, size_t n) ZT_WUR;
/* Digest of everything so far, without ending the running hash. */
int zt_hash_peek(const zt_hash *h, uint8_t *out) ZT_WUR;
void zt_hash_free(zt_hash *h);
/* Heap bytes one zt_hash holds (measured once, see zt_aead_bytes). */
size_t zt_hash_bytes(void);
int zt_hash_oneshot(zt_hash_alg alg, const uint8_t *p, size_t n,
                    uint8_t *out) ZT_WUR;

/*
 * HMAC and HKDF run on one cached libcrypto context per thread and digest,
 * keyed per call. The key stays in that context until the next call or
 * until zt_crypto_scrub(), which the core calls when it leaves a step that
 * used the key schedule (docs/crypto.md): one re-key per handshake flight
 * instead of one per HMAC.
 */
void zt_crypto_scrub(void);
/* Digests whose cached HMAC context holds a key now (bit 1 << alg); 0
 * after zt_crypto_scrub(). For tests. */
unsigned zt_crypto_hmac_keyed(void);

int zt_hmac(zt_hash_alg alg, const uint8_t *key, size_t key_len,
            const uint8_t *msg, size_t msg_len, uint8_t *out) ZT_WUR;
/* RFC 5869. salt may be NULL with salt_len 0 (a string of HashLen zeros). */
int zt_hkdf_extract(zt_hash_alg alg, const uint8_t *salt, size_t salt_len,
                    const uint8_t *ikm, size_t ikm_len, uint8_t *prk) ZT_WUR;
int zt_hkdf_expand(zt_hash_alg alg, const uint8_t *prk, size_t prk_len,
                   const uint8_t *info, size_t info_len, uint8_t *out,
                   size_t out_len) ZT_WUR;

/* ---- AEAD (libcrypto) ---------------------------------------------------- */
typedef enum {
    ZT_AEAD_AES_128_GCM = 1,
    ZT_AEAD_AES_256_GCM = 2,
    ZT_AEAD_CHACHA20_POLY1305 = 3
} zt_aead_alg;
#define ZT_AEAD_NONCE_LEN 12
#define ZT_AEAD_MAX_KEY_LEN 32
size_t zt_aead_key_len(zt_aead_alg alg);

/* A keyed AEAD context, set up once per traffic key (no allocation per
 * record). */
typedef struct zt_aead zt_aead; /* opaque (an EVP_CIPHER_CTX) */
zt_aead *zt_aead_new(zt_aead_alg alg, const uint8_t *key) ZT_WUR;
void zt_aead_free(zt_aead *a);
/* Heap bytes one zt_aead holds with its libcrypto context: measured once
 * at zt_crypto_init() with glibc's mallinfo2() around the creation of an
 * AES-128-GCM context (0 where that is not available). */
size_t zt_aead_bytes(void);
/* Encrypt buf[0..len) in place, write the 16-byte tag to tag. */
int zt_aead_seal(zt_aead *a, const uint8_t nonce[ZT_AEAD_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, uint8_t *buf,
                 size_t len, uint8_t tag[ZT_AEAD_TAG_LEN]) ZT_WUR;
/* The same, gathering the plaintext from pieces (in[i].base may be the
 * place its bytes go to in out, i.e. in place): the ciphertext of all
 * pieces goes to out[0..sum of lengths), with no copy besides the
 * cipher's own pass. */
int zt_aead_seal_v(zt_aead *a, const uint8_t nonce[ZT_AEAD_NONCE_LEN],
                   const uint8_t *aad, size_t aad_len, const zt_iov *in,
                   size_t n_in, uint8_t *out,
                   uint8_t tag[ZT_AEAD_TAG_LEN]) ZT_WUR;
/* Decrypt in[0..len) into out (out == in: in place) and verify tag. On
 * failure out is wiped and non-zero is returned. */
int zt_aead_open_to(zt_aead *a, const uint8_t nonce[ZT_AEAD_NONCE_LEN],
                    const uint8_t *aad, size_t aad_len, const uint8_t *in,
                    size_t len, const uint8_t tag[ZT_AEAD_TAG_LEN],
                    uint8_t *out) ZT_WUR;
/* Decrypt buf[0..len) in place and verify tag. On failure buf is wiped
 * (no unverified plaintext escapes) and non-zero is returned. */
int zt_aead_open(zt_aead *a, const uint8_t nonce[ZT_AEAD_NONCE_LEN],
                 const uint8_t *aad, size_t aad_len, uint8_t *buf,
                 size_t len, const uint8_t tag[ZT_AEAD_TAG_LEN]) ZT_WUR;

/* ---- ML-KEM-768 (FIPS 203; PQClean) ------------------------------------- */
#define ZT_MLKEM768_EK_LEN 1184 /* encapsulation key */
#define ZT_MLKEM768_DK_LEN 2400 /* decapsulation key */
#define ZT_MLKEM768_CT_LEN 1088 /* ciphertext */
#define ZT_MLKEM_SS_LEN 32      /* shared secret */
#define ZT_MLKEM_SEED_LEN 64    /* d || z of ML-KEM.KeyGen_internal */
#define ZT_MLKEM_M_LEN 32       /* m of ML-KEM.Encaps_internal */
/* FIPS 203 section 7.2: ek has the right length and every 12-bit
 * coefficient of its polynomial vector is below q = 3329 (the "modulus
 * check", which PQClean's code does not do). 0 when the key passes. */
int zt_mlkem768_check_ek(const uint8_t *ek, size_t ek_len) ZT_WUR;
/* ML-KEM.KeyGen_internal(d, z) from a 64-byte seed d || z: writes ek and
 * dk. Fails on a seed of another length. */
int zt_mlkem768_keygen(const uint8_t *seed, size_t seed_len, uint8_t *ek,
                       uint8_t *dk) ZT_WUR;
/* ML-KEM.Encaps_internal(ek, m) after the section 7.2 check: writes the
 * ciphertext and the shared secret. Fails (nothing written) when ek does
 * not pass the check. */
int zt_mlkem768_encaps(const uint8_t *ek, size_t ek_len,
                       const uint8_t m[ZT_MLKEM_M_LEN], uint8_t *ct,
                       uint8_t ss[ZT_MLKEM_SS_LEN]) ZT_WUR;
/* ML-KEM.Decaps after the section 7.3 checks (ciphertext length; dk length
 * and the hash of the ek it holds). A ciphertext that does not decrypt
 * gives the implicit-rejection secret, not an error. */
int zt_mlkem768_decaps(const uint8_t *dk, size_t dk_len, const uint8_t *ct,
                       size_t ct_len, uint8_t ss[ZT_MLKEM_SS_LEN]) ZT_WUR;

/* ---- key exchange -------------------------------------------------------- */
/*
 * Groups: ZT_GROUP_X25519 (libsodium), ZT_GROUP_SECP256R1 (libcrypto), and
 * the hybrids of draft-ietf-tls-ecdhe-mlkem section 3:
 *   X25519MLKEM768     client share  ek (1184) || X25519 (32)      = 1216
 *                      server share  ciphertext (1088) || X25519   = 1120
 *                      secret        ML-KEM secret || X25519 secret =  64
 *   SecP256r1MLKEM768  client share  P-256 point (65) || ek (1184) = 1249
 *                      server share  P-256 point || ciphertext     = 1153
 *                      secret        ECDH secret || ML-KEM secret   =  64
 */
#define ZT_KX_MAX_PRIV (32 + ZT_MLKEM768_DK_LEN) /* hybrid, client side */
#define ZT_KX_MAX_PUB (65 + ZT_MLKEM768_EK_LEN)  /* SecP256r1MLKEM768 */
#define ZT_KX_MAX_SECRET 64
/* Return values of zt_kx_derive and zt_kx_encaps. */
#define ZT_KX_BAD_PEER (-1) /* the peer's share is refused (illegal_parameter) */
#define ZT_KX_FAILED (-2)   /* random source or library failure */
size_t zt_kx_pub_len(uint16_t group);        /* client share; 0: unknown */
size_t zt_kx_server_pub_len(uint16_t group); /* server share; 0: unknown */
int zt_kx_is_hybrid(uint16_t group);          /* 1 for the ML-KEM groups */
/*
 * The client's key share, from the configured random source: for an ECDH
 * group draws 32 bytes as the private key (for P-256 a scalar outside
 * [1, n-1] is drawn again); for a hybrid the ECDH key first, then the
 * 64-byte ML-KEM seed. priv (ZT_KX_MAX_PRIV bytes; 32 suffice for ECDH
 * groups) keeps what zt_kx_derive needs: wipe it after.
 */
int zt_kx_keygen(uint16_t group, zt_random_fn rnd, void *rnd_arg,
                 uint8_t *priv, uint8_t *pub,
                 size_t *pub_len) ZT_WUR;
/*
 * Shared secret from our private key (zt_kx_keygen) and the peer's share:
 * for ECDH groups either side's; for a hybrid the server's share (ML-KEM
 * ciphertext decapsulated). ZT_KX_BAD_PEER when the peer value has the
 * wrong length, is not on the curve (P-256: uncompressed form only, RFC
 * 8446 section 4.2.8.2), or gives the all-zero X25519 result (RFC 8446
 * section 7.4.2).
 */
int zt_kx_derive(uint16_t group, const uint8_t *priv,
                 const uint8_t *peer, size_t peer_len, uint8_t *secret,
                 size_t *secret_len) ZT_WUR;
/*
 * The server's side in one call: from the client's share, our share (pub)
 * and the shared secret. ECDH groups: a key pair (drawn as zt_kx_keygen
 * does) and the ECDH. Hybrids: the ECDH key first, then m (32 bytes) for
 * the ML-KEM encapsulation to the client's ek, which must pass the FIPS 203
 * section 7.2 check. Every private value and ML-KEM intermediate is wiped
 * before it returns. ZT_KX_BAD_PEER as zt_kx_derive, and for an ek that
 * fails the check.
 */
int zt_kx_encaps(uint16_t group, zt_random_fn rnd, void *rnd_arg,
                 const uint8_t *peer, size_t peer_len, uint8_t *pub,
                 size_t *pub_len, uint8_t *secret, size_t *secret_len) ZT_WUR;

/* ---- credentials and signatures ----------------------------------------- */
typedef enum {
    ZT_KEY_NONE = 0,
    ZT_KEY_ED25519 = 1,
    ZT_KEY_ECDSA_P256 = 2,
    ZT_KEY_RSA = 3
} zt_key_type;

#define ZT_MAX_CHAIN 8
#define ZT_MAX_SIG_LEN 1024 /* RSA up to 8192 bits */

typedef struct zt_cred {
    zt_key_type type;
    void *pkey;                  /* provider-private (EVP_PKEY *) */
    uint8_t ed25519_sk[64];      /* libsodium signing key (Ed25519 only) */
    uint8_t *chain_der[ZT_MAX_CHAIN]; /* leaf first, malloc'd */
    size_t chain_len[ZT_MAX_CHAIN];
    uint16_t chain_sig[ZT_MAX_CHAIN]; /* scheme of each certificate's
                                         signature; 0 if unknown */
    size_t n_chain;
    int64_t not_after;           /* leaf notAfter, seconds since epoch */
    unsigned rsa_bits;
    unsigned rsa_min_bits;       /* set by the caller before load; 0: 2048 */
} zt_cred;

/* Parse a PEM chain (leaf first, at most ZT_MAX_CHAIN certificates) and a
 * PEM private key; check the key type is supported (RSA >= 2048 bits) and
 * that the key matches the leaf. On failure write a human reason to err. */
int zt_cred_load(zt_cred *cred, const char *chain_pem, size_t chain_len,
                 const char *key_pem, size_t key_len, char *err,
                 size_t err_len) ZT_WUR;
void zt_cred_free(zt_cred *cred); /* wipes the private key */

/* Sign msg with scheme (one that suits the key type). sig_len in: size of
 * sig; out: signature length. Ed25519 via libsodium, the rest libcrypto. */
int zt_cred_sign(const zt_cred *cred, uint16_t scheme, const uint8_t *msg,
                 size_t msg_len, uint8_t *sig, size_t *sig_len) ZT_WUR;

/* Verify a signature under the leaf certificate's public key (tests, and
 * later client certificates). 0 when it verifies. */
int zt_verify_cert_sig(const uint8_t *cert_der, size_t cert_len,
                       uint16_t scheme, const uint8_t *msg, size_t msg_len,
                       const uint8_t *sig, size_t sig_len) ZT_WUR;
/* The same under a DER SubjectPublicKeyInfo (Wycheproof tests; raw keys).
 * Schemes and rules as zt_verify_cert_sig: ECDSA signatures in strict DER,
 * RSA-PSS with MGF1 of the same hash and salt length = hash length. */
int zt_verify_pubkey_sig(const uint8_t *spki_der, size_t spki_len,
                         uint16_t scheme, const uint8_t *msg, size_t msg_len,
                         const uint8_t *sig, size_t sig_len) ZT_WUR;

/* ---- X.509 for client certificates (libcrypto) ---------------------------
 * A trust store (trusted CAs, CRLs, the names advertised in
 * certificate_authorities) built once with the configuration and shared
 * read-only by connections; path validation and certificate facts. */
typedef struct zt_trust zt_trust; /* opaque (an X509_STORE and names) */

zt_trust *zt_trust_new(void) ZT_WUR;
void zt_trust_free(zt_trust *t);
/* Add every certificate of a PEM text as a trust anchor; advertise: also
 * add its subject (once) to the certificate_authorities list. */
int zt_trust_add_ca(zt_trust *t, const char *pem, size_t len, int advertise,
                    char *err, size_t err_len) ZT_WUR;
int zt_trust_add_crl(zt_trust *t, const char *pem, size_t len, char *err,
                     size_t err_len) ZT_WUR;
size_t zt_trust_ca_count(const zt_trust *t);
size_t zt_trust_crl_count(const zt_trust *t);
/* The body of certificate_authorities' authorities vector: each advertised
 * name as DistinguishedName<1..2^16-1> (DER with its u16 length); NULL
 * when none. */
const uint8_t *zt_trust_names(const zt_trust *t, size_t *len);
/* SHA-256 chained over every CA and CRL added (DER), in order: what a
 * ticket's verification policy is bound to. Zeros for t NULL. */
void zt_trust_digest(const zt_trust *t, uint8_t out[32]);

/* Public key of a certificate, as far as CertificateVerify cares. */
typedef enum {
    ZT_PK_OTHER = 0,
    ZT_PK_ED25519,
    ZT_PK_P256,
    ZT_PK_P384,
    ZT_PK_P521,
    ZT_PK_RSA
} zt_pk_kind;

typedef struct zt_x509_facts {
    zt_pk_kind key;
    unsigned key_bits;
    int64_t not_before, not_after;  /* seconds since the epoch */
    uint8_t sha256[32], sha1[20];
    char *text;       /* malloc'd "subject\0issuer\0serial\0" (free()) */
    size_t text_len;  /* bytes of text, the three NULs included */
    size_t issuer_off, serial_off;
} zt_x509_facts;

/* Parse one DER certificate (exactly len bytes) and fill f. */
int zt_x509_facts_get(const uint8_t *der, size_t len, zt_x509_facts *f) ZT_WUR;

/*
 * Validate a client's chain (der[0] the leaf, the rest untrusted
 * intermediates as sent) against t for TLS client authentication (purpose
 * sslclient: key usage and extended key usage), with at most `depth`
 * intermediates, at time `now`, at libcrypto security level `level`
 * (1: RSA >= 1024, 2: RSA >= 2048 and no SHA-1). Every error is looked at
 * (the last one that matters is kept, as nginx's callback lets libcrypto
 * go on): returns the zt_verify_result and sets *code to libcrypto's
 * X509_V_ code (0 when verified). t may be NULL (nothing is trusted).
 */
zt_verify_result zt_x509_verify_client(const zt_trust *t,
                                       const uint8_t *const *der,
                                       const size_t *len, size_t n,
                                       unsigned depth, int64_t now,
                                       int level, int *code);
/* 1 when code only says the issuer is not trusted (nginx's
 * ngx_ssl_verify_error_optional: what optional_no_ca tolerates). */
int zt_x509_code_no_ca(int code);
/* libcrypto's text for code ("certificate has expired"). */
const char *zt_x509_code_str(int code);

#endif /* ZT_CRYPTO_H */
