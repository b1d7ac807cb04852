/*
 * gen_pq_seeds.c: seeds with post-quantum hybrid key shares for the
 * ClientHello and engine harnesses, written by the unit tests' client
 * (t/unit/tclient.c) with a fixed random source, so they are the same at
 * every run (`make fuzz-seeds-pq` writes them into t/fuzz/corpus/).
 *
 *   fuzz_client_hello/seed-pq-*   ClientHello bodies: X25519MLKEM768 with
 *       X25519 (as browsers send), SecP256r1MLKEM768, both hybrids and a
 *       padding extension (about 4.6 KB), and the refused variants (one
 *       byte short, one byte long, an unreduced ML-KEM key, a zero X25519
 *       part), and a classical share with the hybrid listed
 *   fuzz_server/seed-pq-*         the same as records after the harness's
 *       4-byte prefix (configuration 0 or 2, no chunking), one of them cut
 *       into 200-byte records
 */
#include <stdio.h>
#include <stdlib.h>

#include "tclient.h"

static int fixed_rnd(void *arg, uint8_t *out, size_t len)
{
    uint64_t *s = arg;
    size_t i;

    for (i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(*s >> 56);
    }
    return 0;
}

static void put(const char *dir, const char *harness, const char *name,
                const uint8_t *p, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/seed-pq-%s", dir, harness, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "gen_pq_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void one(const char *dir, const char *name, const uint16_t *shares,
                size_t n_shares, int bad, int pad, uint8_t sel, size_t frag)
{
    static uint8_t msg[8192], in[16384];
    static uint8_t padding[4 + 2000];
    uint64_t seed = 0x5eed;
    size_t n, k = 0, off, i;
    tcli t;

    tcli_init(&t);
    t.rnd = fixed_rnd;
    t.rnd_arg = &seed;
    t.groups[0] = ZT_GROUP_X25519MLKEM768;
    t.groups[1] = ZT_GROUP_SECP256R1MLKEM768;
    t.groups[2] = ZT_GROUP_X25519;
    t.groups[3] = ZT_GROUP_SECP256R1;
    t.n_groups = 4;
    for (i = 0; i < n_shares; i++)
        t.shares[i] = shares[i];
    t.n_shares = n_shares;
    t.bad_share = bad;
    t.sni = "localhost";
    t.session_id_len = 32;
    if (pad) {
        padding[1] = ZT_EXT_PADDING;
        padding[2] = (uint8_t)((sizeof(padding) - 4) >> 8);
        padding[3] = (uint8_t)(sizeof(padding) - 4);
        t.extra = padding;
        t.extra_len = sizeof(padding);
    }
    n = tcli_client_hello(&t, msg, sizeof(msg));
    if (n == 0) {
        fprintf(stderr, "gen_pq_seeds: %s: no ClientHello\n", name);
        exit(1);
    }
    put(dir, "fuzz_client_hello", name, msg + 4, n - 4);
    in[0] = sel; /* configuration switches */
    in[1] = in[2] = in[3] = 0; /* no chunking */
    for (off = 0; off < n;) {
        size_t f = frag && n - off > frag ? frag : n - off;
        k += tcli_record(ZT_CT_HANDSHAKE, msg + off, f, in + 4 + k);
        off += f;
    }
    put(dir, "fuzz_server", name, in, 4 + k);
    tcli_free(&t);
}

int main(int argc, char **argv)
{
    static const uint16_t browser[] = {ZT_GROUP_X25519MLKEM768,
                                       ZT_GROUP_X25519};
    static const uint16_t p256h[] = {ZT_GROUP_SECP256R1MLKEM768};
    static const uint16_t both[] = {ZT_GROUP_X25519MLKEM768,
                                    ZT_GROUP_SECP256R1MLKEM768};
    const char *dir = argc > 1 ? argv[1] : "t/fuzz/corpus";

    one(dir, "x25519mlkem768", browser, 2, 0, 0, 0, 0);
    one(dir, "x25519mlkem768-p256-first", browser, 2, 0, 0, 2, 0);
    one(dir, "x25519mlkem768-records", browser, 2, 0, 0, 0, 200);
    one(dir, "secp256r1mlkem768", p256h, 1, 0, 0, 0, 0);
    one(dir, "both-hybrids-padded", both, 2, 0, 1, 0, 0);
    one(dir, "hybrid-short", browser, 1, 1, 0, 0, 0);
    one(dir, "hybrid-long", browser, 1, 3, 0, 0, 0);
    one(dir, "hybrid-unreduced", browser, 1, 5, 0, 0, 0);
    one(dir, "hybrid-zero-x25519", browser, 1, 2, 0, 0, 0);
    one(dir, "p256-hybrid-off-curve", p256h, 1, 2, 0, 0, 0);
    one(dir, "x25519-share-only", browser + 1, 1, 0, 0, 0, 0);
    return 0;
}
