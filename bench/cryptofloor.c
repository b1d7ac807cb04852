/*
 * cryptofloor.c: the crypto floor, what one full handshake or one MiB of
 * bulk costs in the primitives alone, done with the libraries the core
 * uses (through its provider, src/crypto.c) and nothing else: no parsing,
 * no state machine, no buffers, no I/O. bench/compare.sh runs it under
 * callgrind twice (N and 2N iterations) and divides the difference by N,
 * which cancels start-up, so the figure is instructions per operation.
 *
 *   cryptofloor hs CHAIN.pem KEY.pem N   N server handshakes' crypto
 *   cryptofloor bulk SUITE N             N MiB sealed in 16 KiB records
 *                                        (SUITE: aes128gcm | chacha20)
 *
 * One server handshake (X25519, TLS_AES_128_GCM_SHA256, RFC 8446 7.1):
 *   - key share: X25519 key pair and shared secret;
 *   - the CertificateVerify signature (the key's scheme);
 *   - the key schedule: 3 HKDF-Extract, 6 Derive-Secret, 8
 *     HKDF-Expand-Label for the keys and IVs of 4 traffic secrets, 2
 *     finished keys and 2 Finished HMACs;
 *   - the transcript hash over about 1.4 KB of handshake messages, and 5
 *     snapshots of it;
 *   - 4 AEAD contexts keyed, the server's encrypted flight sealed (one
 *     record of the flight's size) and the client Finished opened.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void die(const char *what)
{
    fprintf(stderr, "cryptofloor: %s\n", what);
    exit(1);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        die(path);
    p = malloc((size_t)n + 1);
    if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n)
        die(path);
    fclose(f);
    p[n] = 0;
    *len = (size_t)n;
    return p;
}

static uint16_t scheme_of(const zt_cred *c)
{
    switch (c->type) {
    case ZT_KEY_ED25519:
        return ZT_SIG_ED25519;
    case ZT_KEY_ECDSA_P256:
        return ZT_SIG_ECDSA_SECP256R1_SHA256;
    default:
        return ZT_SIG_RSA_PSS_RSAE_SHA256;
    }
}

static void handshake(const zt_cred *cred, const uint8_t *peer_pub)
{
    static uint8_t msgs[1400], flight[1200], fin[64];
    uint8_t priv[ZT_KX_MAX_PRIV], pub[ZT_KX_MAX_PUB], shared[32];
    uint8_t s[6][32], k[16], iv[12], th[32], mac[32], tag[16];
    static const uint8_t hdr[5] = {23, 3, 3, 4, 0xc0};
    uint8_t prk[32], cv[130], sig[ZT_MAX_SIG_LEN];
    size_t pub_len, sl, i;
    zt_aead *a[4];
    zt_hash *h;

    if (zt_kx_keygen(ZT_GROUP_X25519, zt_sys_random, NULL, priv, pub,
                     &pub_len) ||
        zt_kx_derive(ZT_GROUP_X25519, priv, peer_pub, 32, shared, &sl))
        die("x25519");
    h = zt_hash_new(ZT_SHA256);
    if (h == NULL || zt_hash_update(h, msgs, 350) || zt_hash_peek(h, th))
        die("hash");
    /* early secret, handshake secret, master secret and their children */
    if (zt_hkdf_extract(ZT_SHA256, NULL, 0, NULL, 0, prk) ||
        zt_derive_secret(ZT_SHA256, prk, "derived", th, s[0]) ||
        zt_hkdf_extract(ZT_SHA256, s[0], 32, shared, 32, prk) ||
        zt_derive_secret(ZT_SHA256, prk, "c hs traffic", th, s[1]) ||
        zt_derive_secret(ZT_SHA256, prk, "s hs traffic", th, s[2]) ||
        zt_derive_secret(ZT_SHA256, prk, "derived", th, s[3]) ||
        zt_hkdf_extract(ZT_SHA256, s[3], 32, NULL, 0, prk))
        die("key schedule");
    for (i = 0; i < 2; i++) {
        if (zt_hkdf_expand_label(ZT_SHA256, s[1 + i], 32, "key", NULL, 0, k,
                                 16) ||
            zt_hkdf_expand_label(ZT_SHA256, s[1 + i], 32, "iv", NULL, 0, iv,
                                 12) ||
            (a[i] = zt_aead_new(ZT_AEAD_AES_128_GCM, k)) == NULL)
            die("handshake keys");
    }
    /* CertificateVerify over 64 spaces, context string, transcript */
    memset(cv, 0x20, 64);
    memcpy(cv + 64, "TLS 1.3, server CertificateVerify", 34);
    if (zt_hash_update(h, msgs + 350, 800) || zt_hash_peek(h, th))
        die("hash");
    memcpy(cv + 98, th, 32);
    sl = sizeof(sig);
    if (zt_cred_sign(cred, scheme_of(cred), cv, sizeof(cv), sig, &sl))
        die("sign");
    /* server Finished */
    if (zt_hash_update(h, msgs + 1150, 100) || zt_hash_peek(h, th) ||
        zt_finished_mac(ZT_SHA256, s[2], th, mac) ||
        zt_hash_update(h, mac, 36) || zt_hash_peek(h, th))
        die("finished");
    /* application secrets and keys */
    if (zt_derive_secret(ZT_SHA256, prk, "c ap traffic", th, s[4]) ||
        zt_derive_secret(ZT_SHA256, prk, "s ap traffic", th, s[5]))
        die("app secrets");
    for (i = 0; i < 2; i++) {
        if (zt_hkdf_expand_label(ZT_SHA256, s[4 + i], 32, "key", NULL, 0, k,
                                 16) ||
            zt_hkdf_expand_label(ZT_SHA256, s[4 + i], 32, "iv", NULL, 0, iv,
                                 12) ||
            (a[2 + i] = zt_aead_new(ZT_AEAD_AES_128_GCM, k)) == NULL)
            die("app keys");
    }
    /* the encrypted flight, the client Finished */
    if (zt_aead_seal(a[1], iv, hdr, 5, flight, sizeof(flight), tag))
        die("seal");
    if (zt_finished_mac(ZT_SHA256, s[1], th, mac) ||
        zt_hash_update(h, fin, 36) || zt_hash_peek(h, th))
        die("client finished");
    if (zt_aead_seal(a[0], iv, hdr, 5, fin, 37, tag) ||
        zt_aead_open(a[0], iv, hdr, 5, fin, 37, tag))
        die("open");
    zt_hash_free(h);
    for (i = 0; i < 4; i++)
        zt_aead_free(a[i]);
    zt_memzero(s, sizeof(s));
    zt_crypto_scrub();
}

int main(int argc, char **argv)
{
    long n, i;

    if (zt_crypto_init() != 0)
        die("crypto init");
    if (argc == 5 && strcmp(argv[1], "hs") == 0) {
        zt_cred cred;
        char err[256];
        size_t cl, kl;
        char *chain = slurp(argv[2], &cl), *key = slurp(argv[3], &kl);
        uint8_t peer_priv[32], peer_pub[65];
        size_t pl;

        memset(&cred, 0, sizeof(cred));
        if (zt_cred_load(&cred, chain, cl, key, kl, err, sizeof(err)))
            die(err);
        if (zt_kx_keygen(ZT_GROUP_X25519, zt_sys_random, NULL, peer_priv,
                         peer_pub, &pl))
            die("peer key");
        n = atol(argv[4]);
        for (i = 0; i < n; i++)
            handshake(&cred, peer_pub);
        zt_cred_free(&cred);
        printf("cryptofloor hs %ld done\n", n);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "bulk") == 0) {
        static uint8_t rec[5 + ZT_MAX_PLAINTEXT + 1 + 16];
        static const uint8_t hdr[5] = {23, 3, 3, 0x40, 0x11};
        uint8_t key[32] = {1}, nonce[12] = {2}, tag[16];
        zt_aead *a = zt_aead_new(strcmp(argv[2], "chacha20") == 0
                                     ? ZT_AEAD_CHACHA20_POLY1305
                                     : ZT_AEAD_AES_128_GCM,
                                 key);
        if (a == NULL)
            die("aead");
        n = atol(argv[3]);
        /* 64 records of 2^14 bytes (+ the content type) per MiB */
        for (i = 0; i < n * 64; i++) {
            nonce[11] = (uint8_t)i;
            if (zt_aead_seal(a, nonce, hdr, 5, rec + 5,
                             ZT_MAX_PLAINTEXT + 1, tag))
                die("seal");
        }
        zt_aead_free(a);
        printf("cryptofloor bulk %ld MiB done\n", n);
        return 0;
    }
    fprintf(stderr, "usage: cryptofloor hs CHAIN KEY N | bulk SUITE N\n");
    return 2;
}
