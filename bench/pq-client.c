/*
 * pq-client.c: a load generator for bench/pq-bench.sh that speaks the
 * hybrid groups (OpenSSL 3.0's libssl, which bench/nginx-client.c uses,
 * does not): the unit tests' TLS 1.3 client (t/unit/tclient.c) over TCP.
 * A measurement tool, not a test; the server's CPU is what the script
 * measures, not this program's.
 *
 *   pq-client [-n N] [-g group] [-u path] PORT
 *
 * N connections to 127.0.0.1:PORT, one after the other, each: connect,
 * full TLS 1.3 handshake with one key share for `group` (default
 * X25519MLKEM768; TLS_AES_128_GCM_SHA256, ecdsa_secp256r1_sha256), the
 * server's flight read until the socket has been quiet for 2 ms, its
 * Finished and CertificateVerify checked, then the client Finished and
 * "GET PATH" with "Connection: close", read to EOF, close. Prints how many
 * succeeded and the group asked for; exits 1 on the first failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tclient.h"

static uint8_t g_in[1 << 17], g_msg[8192], g_rec[16384];

static uint16_t group_by_name(const char *s)
{
    static const uint16_t all[] = {ZT_GROUP_X25519, ZT_GROUP_SECP256R1,
                                   ZT_GROUP_X25519MLKEM768,
                                   ZT_GROUP_SECP256R1MLKEM768};
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcasecmp(s, zt_group_name(all[i])) == 0)
            return all[i];
    return 0;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
    ssize_t k;

    while (n > 0) {
        k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Read until whole records have arrived and nothing more comes for 2 ms
 * (bounded: 5 s in all). */
static long read_flight(int fd)
{
    size_t n = 0, off;
    struct pollfd pfd = {fd, POLLIN, 0};
    int waited = 0, r;
    ssize_t k;

    for (;;) {
        r = poll(&pfd, 1, n == 0 ? 100 : 2);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            if (n > 0) {
                /* complete records only */
                for (off = 0; off + 5 <= n;)
                    off += 5 + (((size_t)g_in[off + 3] << 8) | g_in[off + 4]);
                if (off == n)
                    return (long)n;
            }
            if ((waited += n == 0 ? 100 : 2) > 5000)
                return -1;
            continue;
        }
        k = recv(fd, g_in + n, sizeof(g_in) - n, 0);
        if (k <= 0)
            return -1;
        n += (size_t)k;
    }
}

static int one(int port, uint16_t group, const char *path)
{
    struct sockaddr_in sa;
    char req[256];
    size_t n, m;
    long f;
    int fd, one_ = 1, rc = -1;
    tcli t;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
    tcli_init(&t);
    t.suites[0] = ZT_TLS_AES_128_GCM_SHA256;
    t.n_suites = 1;
    t.groups[0] = group;
    t.n_groups = 1;
    t.shares[0] = group;
    t.n_shares = 1;
    t.sigalgs[0] = ZT_SIG_ECDSA_SECP256R1_SHA256;
    t.n_sigalgs = 1;
    t.sni = "localhost";
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto out;
    n = tcli_client_hello(&t, g_msg, sizeof(g_msg));
    if (n == 0)
        goto out;
    n = tcli_record(ZT_CT_HANDSHAKE, g_msg, n, g_rec);
    if (send_all(fd, g_rec, n) != 0 || (f = read_flight(fd)) < 0 ||
        tcli_server_flight(&t, g_in, (size_t)f) != 0 || t.group != group)
        goto out;
    n = tcli_finished(&t, g_rec, 0);
    m = (size_t)snprintf(req, sizeof(req),
                         "GET %s HTTP/1.1\r\nHost: localhost\r\n"
                         "Connection: close\r\n\r\n",
                         path);
    m = tcli_seal(&t, ZT_CT_APPDATA, (const uint8_t *)req, m, 0, g_rec + n);
    if (n == 0 || m == 0 || send_all(fd, g_rec, n + m) != 0)
        goto out;
    /* the response and close_notify: read to EOF (bounded by the server) */
    for (;;) {
        ssize_t k = recv(fd, g_in, sizeof(g_in), 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
    }
    rc = 0;
out:
    tcli_free(&t);
    close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    const char *path = "/small";
    uint16_t group = ZT_GROUP_X25519MLKEM768;
    long n = 1000, i;
    int o, port;

    while ((o = getopt(argc, argv, "n:g:u:")) != -1) {
        switch (o) {
        case 'n': n = atol(optarg); break;
        case 'g': group = group_by_name(optarg); break;
        case 'u': path = optarg; break;
        default: group = 0; break;
        }
    }
    if (optind + 1 != argc || group == 0 || zt_crypto_init() != 0) {
        fprintf(stderr, "usage: pq-client [-n N] [-g X25519MLKEM768|x25519|"
                        "secp256r1|SecP256r1MLKEM768] [-u path] PORT\n");
        return 2;
    }
    port = atoi(argv[optind]);
    for (i = 0; i < n; i++)
        if (one(port, group, path) != 0) {
            fprintf(stderr, "pq-client: connection %ld failed\n", i);
            return 1;
        }
    printf("handshakes=%ld group=%s\n", n, zt_group_name(group));
    return 0;
}
