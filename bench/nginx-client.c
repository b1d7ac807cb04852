/*
 * nginx-client.c: the load generator of bench/nginx-bench.sh (a
 * measurement, not a test). OpenSSL's libssl as the TLS client; the
 * server's CPU is what the script measures, not this program's.
 *
 *   nginx-client hs   [opts] PORT   N connections, each: connect, full TLS
 *                                   1.3 handshake (no session is ever
 *                                   offered), GET PATH with
 *                                   "Connection: close", read to EOF, close
 *   nginx-client idle [opts] PORT   open N connections, each doing one
 *                                   keep-alive GET PATH and then idling;
 *                                   after every step of N/S connections it
 *                                   prints "STEP i total" and waits for
 *                                   SIGUSR1 (the script reads the server's
 *                                   RSS meanwhile); then "DONE" and waits
 *                                   for SIGTERM (bounded by -t seconds)
 * options:
 *   -n N        connections (default 1000)
 *   -P procs    parallel client processes for hs (default 2)
 *   -p          plain TCP (no TLS)
 *   -g groups   client key-share groups (default X25519)
 *   -s sigalgs  client signature_algorithms (default: OpenSSL's)
 *   -c suites   TLS 1.3 cipher suites (default TLS_AES_128_GCM_SHA256)
 *   -u path     request path (default /small)
 *   -S steps    idle: number of steps (default 2)
 *   -t secs     idle: longest time to hold the connections (default 120)
 *   -H          idle: no request, the connections idle right after their
 *               handshake
 *
 * hs prints one line of facts about the handshakes it saw: count, failures,
 * resumed handshakes (must be 0), NewSessionTickets received (per
 * connection), and the negotiated version, cipher, group and signature
 * algorithm of the last connection.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>

static int g_plain;
static const char *g_groups = "X25519";
static const char *g_sigalgs;
static const char *g_suites = "TLS_AES_128_GCM_SHA256";
static const char *g_path = "/small";
static int g_no_request;
static int g_port;
static SSL_CTX *g_ctx;
static long g_tickets; /* NewSessionTickets seen by this process */

static void die(const char *what)
{
    fprintf(stderr, "nginx-client: %s: %s\n", what, strerror(errno));
    ERR_print_errors_fp(stderr);
    exit(2);
}

static int new_ticket_cb(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl; (void)sess;
    g_tickets++;
    return 0; /* not kept: never offered back */
}

static void setup_ctx(void)
{
    if (g_plain) return;
    g_ctx = SSL_CTX_new(TLS_client_method());
    if (!g_ctx) die("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(g_ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(g_ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(g_ctx, SSL_VERIFY_NONE, NULL);
    if (!SSL_CTX_set_ciphersuites(g_ctx, g_suites)) die("ciphersuites");
    if (!SSL_CTX_set1_groups_list(g_ctx, g_groups)) die("groups");
    if (g_sigalgs && !SSL_CTX_set1_sigalgs_list(g_ctx, g_sigalgs))
        die("sigalgs");
    /* the client cache mode only makes OpenSSL report tickets to the
     * callback; nothing is stored or offered */
    SSL_CTX_set_session_cache_mode(g_ctx, SSL_SESS_CACHE_CLIENT |
                                   SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(g_ctx, new_ticket_cb);
}

struct conn {
    int fd;
    SSL *ssl;
};

static int tcp_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)g_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    /* every wait is bounded */
    struct timeval tv = { 20, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

static int c_open(struct conn *c)
{
    c->ssl = NULL;
    c->fd = tcp_connect();
    if (c->fd < 0) return -1;
    if (g_plain) return 0;
    c->ssl = SSL_new(g_ctx);
    if (!c->ssl) return -1;
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    if (SSL_connect(c->ssl) != 1) return -1;
    return 0;
}

static int c_write(struct conn *c, const char *buf, int len)
{
    if (g_plain) return (int)write(c->fd, buf, (size_t)len);
    return SSL_write(c->ssl, buf, len);
}

static int c_read(struct conn *c, char *buf, int len)
{
    if (g_plain) return (int)read(c->fd, buf, (size_t)len);
    return SSL_read(c->ssl, buf, len);
}

static void c_close(struct conn *c)
{
    if (c->ssl) SSL_free(c->ssl);
    if (c->fd >= 0) close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
}

/* one request; close: read to EOF; keep-alive: read headers + body */
static int request(struct conn *c, int keepalive)
{
    char req[256], buf[16384];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", g_path,
                     keepalive ? "" : "Connection: close\r\n");
    if (c_write(c, req, n) != n) return -1;
    long got = 0, need = -1, hdr = -1;
    static char head[4096];
    for (int iter = 0; iter < 100000; iter++) {
        int r = c_read(c, buf, sizeof(buf));
        if (r <= 0) return (!keepalive && got > 0) ? 0 : -1;
        if (hdr < 0) {
            long take = r;
            if (got + take > (long)sizeof(head) - 1)
                take = (long)sizeof(head) - 1 - got;
            memcpy(head + got, buf, (size_t)take);
            head[got + take] = 0;
            if (strncmp(head, "HTTP/1.1 200", 12) != 0 && got + take >= 12)
                return -1;
            char *e = strstr(head, "\r\n\r\n");
            if (e) {
                hdr = (e + 4) - head;
                char *cl = strcasestr(head, "\r\nContent-Length:");
                if (cl) need = hdr + atol(cl + 17);
            }
        }
        got += r;
        if (keepalive && need >= 0 && got >= need) return 0;
    }
    return -1;
}

static const char *group_name(SSL *ssl)
{
    int nid = SSL_get_negotiated_group(ssl);
    const char *n = OBJ_nid2sn(nid & ~TLSEXT_nid_unknown);
    if (nid == NID_X9_62_prime256v1) return "P-256";
    return n ? n : "?";
}

static const char *sig_name(SSL *ssl)
{
    int nid = 0;
    if (!SSL_get_peer_signature_type_nid(ssl, &nid)) return "?";
    switch (nid) {
    case EVP_PKEY_RSA_PSS: return "RSA-PSS";
    case EVP_PKEY_EC: return "ECDSA";
    case EVP_PKEY_ED25519: return "Ed25519";
    default: return OBJ_nid2sn(nid);
    }
}

static void hs_worker(int n, int fd_out)
{
    long ok = 0, fail = 0, reused = 0;
    char last[200] = "plain";
    for (int i = 0; i < n; i++) {
        struct conn c;
        if (c_open(&c) < 0 || request(&c, 0) < 0) {
            fail++;
            c_close(&c);
            if (fail > 20 && fail > n / 100) break; /* server is gone */
            continue;
        }
        ok++;
        if (c.ssl) {
            if (SSL_session_reused(c.ssl)) reused++;
            if (i == n - 1 || ok == 1)
                snprintf(last, sizeof(last), "%s %s %s %s",
                         SSL_get_version(c.ssl),
                         SSL_CIPHER_get_name(SSL_get_current_cipher(c.ssl)),
                         group_name(c.ssl), sig_name(c.ssl));
        }
        c_close(&c);
    }
    char line[400];
    int len = snprintf(line, sizeof(line), "%ld %ld %ld %ld %s\n", ok, fail,
                       reused, g_tickets, last);
    if (write(fd_out, line, (size_t)len) != len) _exit(3);
}

static int do_hs(int n, int procs)
{
    int pfd[2];
    if (pipe(pfd) < 0) die("pipe");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int p = 0; p < procs; p++) {
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            close(pfd[0]);
            hs_worker(n / procs + (p < n % procs), pfd[1]);
            _exit(0);
        }
    }
    close(pfd[1]);
    int st, bad = 0;
    for (int p = 0; p < procs; p++) {
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) bad = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char buf[4096];
    ssize_t r = read(pfd[0], buf, sizeof(buf) - 1);
    buf[r > 0 ? r : 0] = 0;
    long ok = 0, fail = 0, reused = 0, tickets = 0;
    char last[200] = "";
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        long a, b, c, d;
        int off = 0;
        if (sscanf(line, "%ld %ld %ld %ld %n", &a, &b, &c, &d, &off) >= 4) {
            ok += a; fail += b; reused += c; tickets += d;
            snprintf(last, sizeof(last), "%s", line + off);
        }
    }
    double wall = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("ok=%ld fail=%ld reused=%ld tickets_per_conn=%.2f wall_s=%.2f "
           "conn_per_s=%.0f last=[%s]\n", ok, fail, reused,
           ok ? (double)tickets / (double)ok : 0.0, wall,
           wall > 0 ? (double)ok / wall : 0.0, last);
    return (bad || fail || ok != n || reused) ? 1 : 0;
}

static volatile sig_atomic_t g_go;
static void on_usr1(int s) { (void)s; g_go = 1; }

static int do_idle(int n, int steps, int hold)
{
    struct conn *cs = calloc((size_t)n, sizeof(*cs));
    if (!cs) die("calloc");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    alarm((unsigned)hold); /* SIGALRM ends us: bounded */
    int done = 0;
    for (int s = 1; s <= steps; s++) {
        int upto = (int)((long)n * s / steps);
        for (; done < upto; done++) {
            if (c_open(&cs[done]) < 0 ||
                (!g_no_request && request(&cs[done], 1) < 0)) {
                fprintf(stderr, "nginx-client: idle connection %d failed\n",
                        done);
                return 1;
            }
        }
        printf("STEP %d %d\n", s, done);
        fflush(stdout);
        g_go = 0;
        while (!g_go) sigsuspend(&old);
    }
    printf("DONE %d tickets=%ld\n", done, g_tickets);
    fflush(stdout);
    for (int i = 0; i < n; i++) c_close(&cs[i]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) goto usage;
    const char *mode = argv[1];
    int n = 1000, procs = 2, steps = 2, hold = 120, opt;
    optind = 2;
    while ((opt = getopt(argc, argv, "n:P:pg:s:c:u:S:t:H")) != -1) {
        switch (opt) {
        case 'n': n = atoi(optarg); break;
        case 'P': procs = atoi(optarg); break;
        case 'p': g_plain = 1; break;
        case 'g': g_groups = optarg; break;
        case 's': g_sigalgs = optarg; break;
        case 'c': g_suites = optarg; break;
        case 'u': g_path = optarg; break;
        case 'S': steps = atoi(optarg); break;
        case 't': hold = atoi(optarg); break;
        case 'H': g_no_request = 1; break;
        default: goto usage;
        }
    }
    if (optind != argc - 1 || n < 1 || procs < 1 || steps < 1) goto usage;
    g_port = atoi(argv[optind]);
    signal(SIGPIPE, SIG_IGN);
    setup_ctx();
    if (strcmp(mode, "hs") == 0) return do_hs(n, procs);
    if (strcmp(mode, "idle") == 0) return do_idle(n, steps, hold);
usage:
    fprintf(stderr, "usage: nginx-client hs|idle [-n N] [-P procs] [-p] "
            "[-g groups] [-s sigalgs] [-c suites] [-u path] [-S steps] "
            "[-t secs] PORT\n");
    return 2;
}
