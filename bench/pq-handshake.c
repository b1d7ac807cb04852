/*
 * pq-handshake.c: the server's cost of one full handshake on
 * X25519MLKEM768 against X25519 (and the other groups), in process: the
 * core's server against the unit tests' client (t/unit/tclient.c, which
 * speaks the hybrid groups; OpenSSL 3.0's libssl does not). A measurement,
 * not a test (docs/performance.md).
 *
 *   pq-handshake [-n N] [-c ecdsa|ed25519] [-g group]
 *
 * For each group: N handshakes (ClientHello, server flight, client
 * Finished), ECDSA P-256 (default) or Ed25519 certificate,
 * TLS_AES_128_GCM_SHA256. Only the server's calls are timed (thread CPU
 * time around zt_conn_new, zt_feed, zt_send_buf/zt_send_done and
 * zt_conn_free); the client's work is not. Under callgrind,
 *
 *   valgrind --tool=callgrind --toggle-collect=pq_server_* \
 *       build/bench/pq-handshake -n 20
 *
 * counts the server's instructions only (every server call goes through a
 * pq_server_* function below).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tclient.h"

static double g_server_ns;

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The server's calls, one function each (callgrind --toggle-collect). */
__attribute__((noinline)) static zt_conn *pq_server_new(zt_config *cfg)
{
    double t0 = now_ns();
    zt_conn *s = zt_conn_new(cfg);

    g_server_ns += now_ns() - t0;
    return s;
}

__attribute__((noinline)) static int pq_server_feed(zt_conn *s,
                                                    const uint8_t *p,
                                                    size_t n)
{
    double t0 = now_ns();
    size_t used;
    zt_err e = zt_feed(s, p, n, &used);

    g_server_ns += now_ns() - t0;
    return e == ZT_OK && used == n ? 0 : -1;
}

__attribute__((noinline)) static size_t pq_server_drain(zt_conn *s,
                                                        uint8_t *out,
                                                        size_t cap)
{
    double t0 = now_ns();
    size_t n = tsrv_drain(s, out, cap);

    g_server_ns += now_ns() - t0;
    return n;
}

__attribute__((noinline)) static void pq_server_free(zt_conn *s)
{
    double t0 = now_ns();

    zt_conn_free(s);
    g_server_ns += now_ns() - t0;
}

static uint8_t out[1 << 17], msg[8192], rec[16384];

static int one(zt_config *cfg, uint16_t group, uint16_t sig)
{
    zt_conn *s = pq_server_new(cfg);
    size_t n;
    tcli t;
    int rc = -1;

    tcli_init(&t);
    t.suites[0] = ZT_TLS_AES_128_GCM_SHA256;
    t.n_suites = 1;
    t.groups[0] = group;
    t.n_groups = 1;
    t.shares[0] = group;
    t.n_shares = 1;
    t.sigalgs[0] = sig;
    t.n_sigalgs = 1;
    n = tcli_client_hello(&t, msg, sizeof(msg));
    if (s == NULL || n == 0)
        goto out;
    n = tcli_record(ZT_CT_HANDSHAKE, msg, n, rec);
    if (pq_server_feed(s, rec, n) != 0)
        goto out;
    n = pq_server_drain(s, out, sizeof(out));
    if (tcli_server_flight(&t, out, n) != 0)
        goto out;
    n = tcli_finished(&t, rec, 0);
    if (n == 0 || pq_server_feed(s, rec, n) != 0 ||
        !(zt_conn_state(s) & ZT_ST_HANDSHAKE_DONE) ||
        zt_conn_group(s) != group)
        goto out;
    rc = 0;
out:
    tcli_free(&t);
    pq_server_free(s);
    return rc;
}

int main(int argc, char **argv)
{
    static const uint16_t groups[] = {ZT_GROUP_X25519, ZT_GROUP_SECP256R1,
                                      ZT_GROUP_X25519MLKEM768,
                                      ZT_GROUP_SECP256R1MLKEM768};
    const char *cert = "ecdsa", *only = NULL;
    long n = 2000, i;
    size_t g;
    zt_config *cfg;
    uint16_t sig;
    int o;

    while ((o = getopt(argc, argv, "n:c:g:")) != -1) {
        if (o == 'n')
            n = atol(optarg);
        else if (o == 'g')
            only = optarg;
        else if (o == 'c')
            cert = optarg;
        else {
            fprintf(stderr, "usage: pq-handshake [-n N] [-c ecdsa|ed25519] [-g group]\n");
            return 2;
        }
    }
    /* the unit tests' certificates, from the repository's top */
    if (chdir("t/unit") != 0 && chdir("../t/unit") != 0) {
        fprintf(stderr, "pq-handshake: run from the repository or bench/\n");
        return 2;
    }
    if (strcmp(cert, "ed25519") == 0) {
        cfg = tsrv_config(TSRV_ED25519);
        sig = ZT_SIG_ED25519;
    } else {
        cfg = tsrv_config(TSRV_P256);
        sig = ZT_SIG_ECDSA_SECP256R1_SHA256;
    }
    if (cfg == NULL ||
        zt_config_set_groups_str(cfg, "x25519mlkem768:secp256r1mlkem768:"
                                      "x25519:secp256r1",
                                 NULL, 0) != ZT_OK)
        return 1;
    printf("server CPU per full handshake, in process (%s certificate, "
           "TLS_AES_128_GCM_SHA256, %ld handshakes per group)\n",
           cert, n);
    for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        if (only != NULL && strcasecmp(only, zt_group_name(groups[g])) != 0)
            continue;
        (void)one(cfg, groups[g], sig); /* warm up */
        g_server_ns = 0;
        for (i = 0; i < n; i++)
            if (one(cfg, groups[g], sig) != 0) {
                fprintf(stderr, "pq-handshake: handshake %ld on %s failed\n",
                        i, zt_group_name(groups[g]));
                return 1;
            }
        printf("  %-18s %8.1f us\n", zt_group_name(groups[g]),
               g_server_ns / 1000.0 / (double)n);
    }
    zt_config_free(cfg);
    return 0;
}
