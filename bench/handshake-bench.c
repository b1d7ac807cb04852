/*
 * handshake-bench.c: full handshakes and bulk transfer through the core,
 * in-process, measured as the server's own CPU time.
 *
 * The core has no client role, so the client is OpenSSL's SSL API over
 * memory BIOs (allowed in bench/ only). Only the time spent inside zt_*
 * calls is counted: CLOCK_THREAD_CPUTIME_ID is read around each of them
 * and the measured cost of an empty pair of reads is subtracted. Moving
 * bytes between the two ends (what the kernel would do) and everything
 * the client does are not counted.
 *
 * For scale, the same measurements are made with OpenSSL's own TLS server
 * (libssl, as nginx uses it) against the same client: server CPU inside
 * SSL_* calls, same certificates, no session cache. Full handshakes issue
 * no tickets on either side; resumed handshakes (psk_dhe_ke, the client
 * offering the ticket of an earlier connection) issue one new ticket on
 * either side, as each does by default on a resumption.
 *
 * Usage: handshake-bench [N]   N full handshakes per configuration
 *        (default 2000; RSA uses N/4). BENCH_SCALE=0.1 shortens all.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "zigtls.h"

static double g_scale = 1.0;
#define BULK_REPS 3 /* best of, per direction */

static void die(const char *what)
{
    fprintf(stderr, "handshake-bench: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}
#define CHECK(x, what) do { if (!(x)) die(what); } while (0)

/* ---- server CPU accounting ------------------------------------------------ */

static uint64_t g_cpu_ns;   /* accumulated server CPU */
static uint64_t g_pairs;    /* clock reads (pairs) taken */
static double g_pair_ns;    /* calibrated cost of one empty pair */
static struct timespec g_t0;

static uint64_t ts_ns(const struct timespec *t)
{
    return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

static inline void T_on(void)
{
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &g_t0);
}

static inline void T_off(void)
{
    struct timespec t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    g_cpu_ns += ts_ns(&t1) - ts_ns(&g_t0);
    g_pairs++;
}
/* Time one expression as server work. */
#define T(expr) (T_on(), (expr), T_off())

static void calibrate(void)
{
    const int n = 200000;
    int i;

    g_cpu_ns = g_pairs = 0;
    for (i = 0; i < n; i++)
        T((void)0);
    g_pair_ns = (double)g_cpu_ns / n;
    g_cpu_ns = g_pairs = 0;
}

/* Server CPU so far, with the timer's own cost taken out. */
static double server_ns(void)
{
    double v = (double)g_cpu_ns - g_pair_ns * (double)g_pairs;
    return v > 0 ? v : 0;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t wall_ms(void *arg)
{
    struct timespec ts;

    (void)arg;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- credentials: self-signed certificates made here ------------------------ */

typedef struct {
    const char *name;
    char *cert, *key;
    size_t cert_len, key_len;
    X509 *x;
    EVP_PKEY *pk;
} cred;

static char *bio_str(BIO *b, size_t *len)
{
    char *p, *s;
    long n = BIO_get_mem_data(b, &p);

    s = malloc((size_t)n + 1);
    CHECK(s, "malloc");
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    *len = (size_t)n;
    return s;
}

static void make_cred(cred *c, const char *name, EVP_PKEY *pk)
{
    X509 *x = X509_new();
    X509_NAME *nm;
    BIO *b;
    const EVP_MD *md = EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519
                           ? NULL
                           : EVP_sha256();

    CHECK(pk && x, name);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
    X509_set_pubkey(x, pk);
    nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
                               (const unsigned char *)"bench.zigtls.test",
                               -1, -1, 0);
    X509_set_issuer_name(x, nm);
    CHECK(X509_sign(x, pk, md) > 0, "X509_sign");
    c->name = name;
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    c->cert = bio_str(b, &c->cert_len);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    c->key = bio_str(b, &c->key_len);
    BIO_free(b);
    c->x = x;
    c->pk = pk;
}

/* ---- the client: OpenSSL over memory BIOs ----------------------------------- */

typedef struct {
    SSL *ssl;
    BIO *in;  /* bytes for the client to read (server -> client) */
    BIO *out; /* bytes the client wrote (client -> server) */
} client;

static SSL_CTX *client_ctx(const char *suite, const char *group,
                           const char *sigalg)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    CHECK(ctx, "SSL_CTX_new client");
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    CHECK(SSL_CTX_set_ciphersuites(ctx, suite), "client ciphersuites");
    CHECK(SSL_CTX_set1_groups_list(ctx, group), "client groups");
    CHECK(SSL_CTX_set1_sigalgs_list(ctx, sigalg), "client sigalgs");
    return ctx;
}

static void client_new(client *cl, SSL_CTX *ctx)
{
    cl->ssl = SSL_new(ctx);
    cl->in = BIO_new(BIO_s_mem());
    cl->out = BIO_new(BIO_s_mem());
    CHECK(cl->ssl && cl->in && cl->out, "client");
    BIO_set_mem_eof_return(cl->in, -1);
    SSL_set_bio(cl->ssl, cl->in, cl->out);
    SSL_set_connect_state(cl->ssl);
    SSL_set_tlsext_host_name(cl->ssl, "bench.zigtls.test");
}

/* ---- one server: zigtls or OpenSSL -------------------------------------------- */

static uint8_t g_xfer[1 << 20];

/* Client bytes (in g_xfer[0, n)) into the core; the memcpy stands for the
 * kernel's recv() and is not counted (a few kB per handshake). */
static void zt_take(zt_conn *s, const uint8_t *p, size_t n)
{
    size_t off = 0, room, k;
    uint8_t *b;
    zt_err e;

    while (off < n) {
        T(b = zt_recv_buf(s, &room));
        if (room == 0)
            die("zt_recv_buf: no room");
        k = n - off < room ? n - off : room;
        memcpy(b, p + off, k);
        T(e = zt_recv_done(s, k));
        if (e != ZT_OK)
            die(zt_err_str(e));
        off += k;
    }
}

/* Server output into the client (the BIO_write stands for send()). */
static void zt_give(zt_conn *s, client *cl)
{
    const uint8_t *p;
    size_t len;

    for (;;) {
        T(p = zt_send_buf(s, &len));
        if (len == 0)
            break;
        BIO_write(cl->in, p, (int)len);
        T(zt_send_done(s, len));
    }
}

static void client_step(client *cl)
{
    int r = SSL_do_handshake(cl->ssl);

    if (r != 1 && SSL_get_error(cl->ssl, r) != SSL_ERROR_WANT_READ)
        die("client handshake");
}

static zt_conn *zt_handshake(const zt_config *cfg, client *cl)
{
    zt_conn *s;
    int n, rounds;
    unsigned st = 0;

    T(s = zt_conn_new(cfg));
    CHECK(s, "zt_conn_new");
    for (rounds = 0; rounds < 16; rounds++) {
        client_step(cl);
        while ((n = BIO_read(cl->out, g_xfer, sizeof(g_xfer))) > 0)
            zt_take(s, g_xfer, (size_t)n);
        zt_give(s, cl);
        T(st = zt_conn_state(s));
        if ((st & ZT_ST_HANDSHAKE_DONE) && SSL_is_init_finished(cl->ssl))
            return s;
        if (st & ZT_ST_FAILED)
            die("server handshake");
    }
    die("handshake did not finish");
    return NULL;
}

/* OpenSSL's server for the reference rows: SSL_* calls are counted, and
 * so are its BIO_write/BIO_read of records (its record copies). */
typedef struct {
    SSL *ssl;
    BIO *in, *out;
} oserver;

static void os_new(oserver *o, SSL_CTX *ctx)
{
    T(o->ssl = SSL_new(ctx));
    o->in = BIO_new(BIO_s_mem());
    o->out = BIO_new(BIO_s_mem());
    CHECK(o->ssl && o->in && o->out, "openssl server");
    BIO_set_mem_eof_return(o->in, -1);
    T(SSL_set_bio(o->ssl, o->in, o->out));
    SSL_set_accept_state(o->ssl);
}

static void os_handshake(oserver *o, client *cl)
{
    int n, r = 0, rounds;

    for (rounds = 0; rounds < 16; rounds++) {
        client_step(cl);
        while ((n = BIO_read(cl->out, g_xfer, sizeof(g_xfer))) > 0)
            T(BIO_write(o->in, g_xfer, n));
        T(r = SSL_do_handshake(o->ssl));
        if (r != 1 && SSL_get_error(o->ssl, r) != SSL_ERROR_WANT_READ)
            die("openssl server handshake");
        for (;;) {
            T(n = BIO_read(o->out, g_xfer, sizeof(g_xfer)));
            if (n <= 0)
                break;
            BIO_write(cl->in, g_xfer, n);
        }
        if (r == 1 && SSL_is_init_finished(cl->ssl))
            return;
    }
    die("openssl handshake did not finish");
}

/* ---- handshakes ----------------------------------------------------------------- */

typedef struct {
    const char *cert; /* credential label */
    const char *sigalg;
    const char *group;
} hs_case;

static void bench_handshakes(zt_config *cfg, SSL_CTX *sctx, int n)
{
    static const hs_case cases[] = {
        {"ECDSA P-256", "ECDSA+SHA256", "X25519"},
        {"ECDSA P-256", "ECDSA+SHA256", "P-256"},
        {"Ed25519", "ed25519", "X25519"},
        {"Ed25519", "ed25519", "P-256"},
        {"RSA-2048", "rsa_pss_rsae_sha256", "X25519"},
        {"RSA-2048", "rsa_pss_rsae_sha256", "P-256"},
    };
    size_t i;

    printf("\nFull handshakes (TLS_AES_128_GCM_SHA256, no tickets; server CPU "
           "per handshake, inside the server's calls only)\n");
    printf("  %-12s %-7s %-8s %8s %12s %14s %12s\n", "certificate", "group",
           "server", "count", "server CPU", "server hs/s", "both ends");
    printf("  %-12s %-7s %-8s %8s %12s %14s %12s\n", "", "", "", "",
           "us/hs", "(1 core)", "hs/s wall");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const hs_case *hc = &cases[i];
        SSL_CTX *cctx = client_ctx("TLS_AES_128_GCM_SHA256", hc->group,
                                   hc->sigalg);
        int count = strncmp(hc->cert, "RSA", 3) == 0 ? n / 4 : n;
        int k, w, warm = count / 10 + 2;
        uint16_t sig = 0;
        double t0 = 0, us, wall;

        for (w = 0; w < 2; w++) { /* 0: zigtls, 1: OpenSSL libssl */
            for (k = -warm; k < count; k++) {
                client cl;
                if (k == 0) {
                    g_cpu_ns = g_pairs = 0;
                    t0 = wall_s();
                }
                client_new(&cl, cctx);
                if (w == 0) {
                    zt_conn *s = zt_handshake(cfg, &cl);
                    sig = zt_conn_sigalg(s);
                    T(zt_conn_free(s));
                } else {
                    oserver o;
                    os_new(&o, sctx);
                    os_handshake(&o, &cl);
                    T(SSL_free(o.ssl));
                }
                SSL_free(cl.ssl);
            }
            wall = wall_s() - t0;
            us = server_ns() / count / 1e3;
            printf("  %-12s %-7s %-8s %8d %12.1f %14.0f %12.0f%s%s\n",
                   hc->cert, hc->group, w ? "OpenSSL" : "zigtls", count, us,
                   1e6 / us, count / wall, w ? "" : "   ",
                   w ? "" : zt_sigalg_name(sig));
        }
        SSL_CTX_free(cctx);
    }
}

/* ---- resumed handshakes ---------------------------------------------------------- */

/* Free a client without marking its session unusable (SSL_free of a
 * connection not shut down removes its session from resumption). */
static void client_free(client *cl)
{
    SSL_set_shutdown(cl->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(cl->ssl);
}

/* A session to resume: one full handshake, then the client reads the
 * NewSessionTicket that followed it. */
static SSL_SESSION *get_session(const zt_config *cfg, SSL_CTX *sctx,
                                SSL_CTX *cctx)
{
    SSL_SESSION *sess;
    client cl;
    char b[16];

    client_new(&cl, cctx);
    if (cfg != NULL) {
        zt_conn *s = zt_handshake(cfg, &cl);
        zt_conn_free(s);
    } else {
        oserver o;
        os_new(&o, sctx);
        os_handshake(&o, &cl);
        SSL_free(o.ssl);
    }
    (void)SSL_read(cl.ssl, b, sizeof(b)); /* takes the ticket */
    sess = SSL_get1_session(cl.ssl);
    CHECK(sess && SSL_SESSION_is_resumable(sess), "a resumable session");
    client_free(&cl);
    return sess;
}

static void bench_resumed(zt_config *cfg, SSL_CTX *sctx, int n)
{
    static const char *const groups[] = {"X25519", "P-256"};
    size_t i;

    printf("\nResumed handshakes (psk_dhe_ke, TLS_AES_128_GCM_SHA256, one new "
           "ticket sent; server CPU per handshake, inside the server's calls "
           "only)\n");
    printf("  %-7s %-8s %8s %12s %14s %12s\n", "group", "server", "count",
           "server CPU", "server hs/s", "both ends");
    printf("  %-7s %-8s %8s %12s %14s %12s\n", "", "", "", "us/hs",
           "(1 core)", "hs/s wall");
    for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        SSL_CTX *cctx = client_ctx("TLS_AES_128_GCM_SHA256", groups[i],
                                   "ECDSA+SHA256");
        int k, w, warm = n / 10 + 2, reused = 0;

        double t0 = 0, us, wall;

        for (w = 0; w < 2; w++) { /* 0: zigtls, 1: OpenSSL libssl */
            SSL_SESSION *sess = get_session(w ? NULL : cfg, sctx, cctx);
            reused = 0;
            for (k = -warm; k < n; k++) {
                client cl;
                if (k == 0) {
                    g_cpu_ns = g_pairs = 0;
                    t0 = wall_s();
                }
                client_new(&cl, cctx);
                if (SSL_set_session(cl.ssl, sess) != 1)
                    die("SSL_set_session");
                if (w == 0) {
                    zt_conn *s = zt_handshake(cfg, &cl);
                    reused += zt_conn_resumed(s);
                        T(zt_conn_free(s));
                } else {
                    oserver o;
                    os_new(&o, sctx);
                    os_handshake(&o, &cl);
                    reused += SSL_session_reused(o.ssl);
                    T(SSL_free(o.ssl));
                }
                client_free(&cl);
            }
            wall = wall_s() - t0;
            us = server_ns() / n / 1e3;
            CHECK(reused == n + warm, "every handshake resumed");
            printf("  %-7s %-8s %8d %12.1f %14.0f %12.0f\n", groups[i],
                   w ? "OpenSSL" : "zigtls", n, us, 1e6 / us, n / wall);
            SSL_SESSION_free(sess);
        }
        SSL_CTX_free(cctx);
    }
}

/* ---- bulk --------------------------------------------------------------------- */

static uint8_t g_plain[16384];

/* Server -> client: zt_write + zt_send_buf/zt_send_done per record. The
 * first records go to the client and are checked; the rest are dropped
 * (the client's CPU is not what is measured). */
static double zt_bulk_write(zt_conn *s, client *cl, size_t total, int check)
{
    size_t sent = 0, acc, len;
    const uint8_t *p;
    uint8_t back[16384];
    int checked = check ? 0 : 4;
    zt_err e;

    g_cpu_ns = g_pairs = 0;
    while (sent < total) {
        T_on();
        e = zt_write(s, g_plain, sizeof(g_plain), &acc);
        p = zt_send_buf(s, &len);
        if (checked < 4) {
            T_off();
            BIO_write(cl->in, p, (int)len);
            T_on();
        }
        zt_send_done(s, len);
        T_off();
        if (e != ZT_OK || acc != sizeof(g_plain))
            die("zt_write");
        if (checked < 4) {
            if (SSL_read(cl->ssl, back, sizeof(back)) != (int)sizeof(back) ||
                memcmp(back, g_plain, sizeof(back)) != 0)
                die("client read of zt_write data");
            checked++;
        }
        sent += acc;
    }
    return server_ns();
}

/* Client -> server: records made by the client in batches (not counted),
 * then taken by the core: zt_recv_buf / zt_recv_done / zt_app_data /
 * zt_app_data_done (plaintext read in place, no copy out). */
static double zt_bulk_read(zt_conn *s, client *cl, size_t total)
{
    size_t got = 0, n, off, room, k, len;
    const uint8_t *p;
    uint8_t *b;
    int i;
    zt_err e;

    g_cpu_ns = g_pairs = 0;
    while (got < total) {
        for (i = 0; i < 48; i++)
            CHECK(SSL_write(cl->ssl, g_plain, sizeof(g_plain)) ==
                      (int)sizeof(g_plain), "client SSL_write");
        n = (size_t)BIO_read(cl->out, g_xfer, sizeof(g_xfer));
        CHECK(n > 0 && BIO_pending(cl->out) == 0, "client batch");
        off = 0;
        while (off < n) {
            T_on();
            b = zt_recv_buf(s, &room);
            if (room == 0)
                die("no room");
            k = n - off < room ? n - off : room;
            /* the recv() copy into the record buffer: counted, as
             * OpenSSL's copy from its read BIO is */
            memcpy(b, g_xfer + off, k);
            e = zt_recv_done(s, k);
            while ((p = zt_app_data(s, &len)) != NULL) {
                got += len;
                zt_app_data_done(s, len);
            }
            T_off();
            if (e != ZT_OK)
                die(zt_err_str(e));
            off += k;
        }
    }
    return server_ns();
}

/* OpenSSL server: SSL_write into a null BIO (records are dropped without
 * a copy, like the core's), SSL_read into a buffer. */
static double os_bulk_write(oserver *o, size_t total)
{
    size_t sent = 0;
    int r;

    if (BIO_method_type(SSL_get_wbio(o->ssl)) != BIO_TYPE_NULL)
        SSL_set0_wbio(o->ssl, BIO_new(BIO_s_null()));
    g_cpu_ns = g_pairs = 0;
    while (sent < total) {
        T(r = SSL_write(o->ssl, g_plain, sizeof(g_plain)));
        CHECK(r == (int)sizeof(g_plain), "openssl SSL_write");
        sent += (size_t)r;
    }
    return server_ns();
}

static double os_bulk_read(oserver *o, client *cl, size_t total)
{
    static uint8_t sink[16384];
    size_t got = 0, n;
    int i, r;

    g_cpu_ns = g_pairs = 0;
    while (got < total) {
        for (i = 0; i < 48; i++)
            CHECK(SSL_write(cl->ssl, g_plain, sizeof(g_plain)) ==
                      (int)sizeof(g_plain), "client SSL_write");
        n = (size_t)BIO_read(cl->out, g_xfer, sizeof(g_xfer));
        /* BIO_write stands for the kernel's recv() copy: not counted,
         * as for the core */
        BIO_write(o->in, g_xfer, (int)n);
        for (;;) {
            T(r = SSL_read(o->ssl, sink, sizeof(sink)));
            if (r <= 0)
                break;
            got += (size_t)r;
        }
    }
    return server_ns();
}

static void bench_bulk(zt_config *cfg, SSL_CTX *sctx, size_t total)
{
    static const char *suites[] = {"TLS_AES_128_GCM_SHA256",
                                   "TLS_CHACHA20_POLY1305_SHA256",
                                   "TLS_AES_256_GCM_SHA384"};
    size_t i;
    double gb = (double)total / 1e9;

    printf("\nBulk transfer, 16 KiB records, %.2f GB per direction "
           "(server CPU inside its calls; read counts the copy of the received "
           "bytes into the server's record buffer, write counts no copy out; "
           "best of %d)\n", gb, BULK_REPS);
    printf("  %-30s %-8s %16s %16s %10s %10s\n", "suite", "server",
           "write ms/GB", "read ms/GB", "write MB/s", "read MB/s");
    fflush(stdout);
    for (i = 0; i < 3; i++) {
        SSL_CTX *cctx = client_ctx(suites[i], "X25519", "ECDSA+SHA256");
        double wns, rns;
        int r;
        client cl;
        zt_conn *s;
        oserver o;

        client_new(&cl, cctx);
        s = zt_handshake(cfg, &cl);
        CHECK(strcmp(zt_cipher_suite_name(zt_conn_cipher_suite(s)),
                     suites[i]) == 0, "suite");
        zt_bulk_write(s, &cl, total / 16, 1); /* warm-up, checked */
        zt_bulk_read(s, &cl, total / 16);
        wns = rns = 1e30;
        for (r = 0; r < BULK_REPS; r++) {
            wns = fmin(wns, zt_bulk_write(s, &cl, total, 0));
            rns = fmin(rns, zt_bulk_read(s, &cl, total));
        }
        printf("  %-30s %-8s %16.1f %16.1f %10.0f %10.0f\n", suites[i],
               "zigtls", wns / 1e6 / gb, rns / 1e6 / gb, total / (wns / 1e3),
               total / (rns / 1e3));
        zt_conn_free(s);
        SSL_free(cl.ssl);

        client_new(&cl, cctx);
        os_new(&o, sctx);
        os_handshake(&o, &cl);
        os_bulk_write(&o, total / 16);
        os_bulk_read(&o, &cl, total / 16);
        wns = rns = 1e30;
        for (r = 0; r < BULK_REPS; r++) {
            wns = fmin(wns, os_bulk_write(&o, total));
            rns = fmin(rns, os_bulk_read(&o, &cl, total));
        }
        printf("  %-30s %-8s %16.1f %16.1f %10.0f %10.0f\n", suites[i],
               "OpenSSL", wns / 1e6 / gb, rns / 1e6 / gb, total / (wns / 1e3),
               total / (rns / 1e3));
        SSL_free(o.ssl);
        SSL_free(cl.ssl);
        SSL_CTX_free(cctx);
    }
}

/* ---- memory of an idle connection -------------------------------------------- */

static void bench_memory(zt_config *cfg)
{
    SSL_CTX *cctx = client_ctx("TLS_AES_128_GCM_SHA256", "X25519",
                               "ECDSA+SHA256");
    client cl;
    zt_conn *s;
    size_t acc;
    uint8_t back[100];
    const uint8_t *p;
    size_t len;

    client_new(&cl, cctx);
    s = zt_handshake(cfg, &cl);
    printf("\nMemory per connection (core only)\n");
    printf("  zt_conn_size()                       %6zu bytes\n",
           zt_conn_size());
    printf("  buffers after the handshake          %6zu bytes\n",
           zt_conn_buffer_bytes(s));
    CHECK(zt_write(s, (const uint8_t *)"hello", 5, &acc) == ZT_OK, "write");
    p = zt_send_buf(s, &len);
    BIO_write(cl.in, p, (int)len);
    zt_send_done(s, len);
    CHECK(SSL_read(cl.ssl, back, sizeof(back)) == 5, "read");
    SSL_write(cl.ssl, "hi", 2);
    len = (size_t)BIO_read(cl.out, g_xfer, sizeof(g_xfer));
    zt_take(s, g_xfer, len);
    CHECK(zt_read(s, back, sizeof(back)) == 2, "zt_read");
    printf("  buffers after one request/response   %6zu bytes\n",
           zt_conn_buffer_bytes(s));
    CHECK(zt_conn_release_buffers(s) == ZT_OK, "release");
    printf("  buffers after zt_conn_release_buffers %5zu bytes (idle: %zu "
           "bytes in all, plus malloc overhead and the AEAD contexts)\n",
           zt_conn_buffer_bytes(s), zt_conn_size());
    zt_conn_free(s);
    SSL_free(cl.ssl);
    SSL_CTX_free(cctx);
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const char *labels[3] = {"ECDSA P-256", "Ed25519", "RSA-2048"};
    cred creds[3];
    zt_config *cfg;
    SSL_CTX *sctx;
    char err[256], model[256] = "unknown", line[256];
    const char *sc = getenv("BENCH_SCALE");
    int n = argc > 1 ? atoi(argv[1]) : 2000, i;
    FILE *f;

    if (sc != NULL && atof(sc) > 0)
        g_scale = atof(sc);
    n = (int)(n * g_scale);
    if (n < 8)
        n = 8;
    memset(g_plain, 'z', sizeof(g_plain));

    make_cred(&creds[0], labels[0], EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
    make_cred(&creds[1], labels[1], EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
    make_cred(&creds[2], labels[2],
              EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));

    cfg = zt_config_new();
    CHECK(cfg, "zt_config_new");
    sctx = SSL_CTX_new(TLS_server_method());
    CHECK(sctx, "SSL_CTX_new server");
    SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
    SSL_CTX_set_num_tickets(sctx, 0);
    SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF);
    for (i = 0; i < 3; i++) {
        if (zt_config_add_credential_mem(cfg, creds[i].cert, creds[i].cert_len,
                                         creds[i].key, creds[i].key_len, err,
                                         sizeof(err)) != ZT_OK) {
            fprintf(stderr, "credential %s: %s\n", labels[i], err);
            return 1;
        }
        CHECK(SSL_CTX_use_certificate(sctx, creds[i].x) == 1 &&
                  SSL_CTX_use_PrivateKey(sctx, creds[i].pk) == 1,
              "OpenSSL server credential");
    }

    if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
        while (fgets(line, sizeof(line), f))
            if (strncmp(line, "model name", 10) == 0) {
                snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        fclose(f);
    }
    calibrate();
    printf("handshake-bench: CPU %s, %ld online CPUs; everything runs in one "
           "thread\n", model, sysconf(_SC_NPROCESSORS_ONLN));
    printf("%s; client: OpenSSL libssl over memory BIOs\n",
           OpenSSL_version(OPENSSL_VERSION));
    printf("timer: CLOCK_THREAD_CPUTIME_ID, %.0f ns per read pair "
           "(subtracted)\n", g_pair_ns);

    bench_handshakes(cfg, sctx, n);
    {
        /* resumption: a ring key and the wall clock here; OpenSSL's
         * stateless tickets there, one per handshake on both sides */
        zt_ticket_keys *ring = zt_ticket_keys_new();
        uint8_t key[ZT_TICKET_KEY_LONG];
        SSL_CTX *rctx = SSL_CTX_new(TLS_server_method());

        CHECK(ring && rctx && zt_ticket_key_generate(key) == 0 &&
                  zt_ticket_keys_add(ring, key, sizeof(key)) == ZT_OK,
              "ticket key");
        zt_config_set_ticket_keys(cfg, ring);
        zt_config_set_wall_clock(cfg, wall_ms, NULL);
        SSL_CTX_set_min_proto_version(rctx, TLS1_3_VERSION);
        SSL_CTX_set_num_tickets(rctx, 1);
        SSL_CTX_set_session_cache_mode(rctx, SSL_SESS_CACHE_OFF);
        CHECK(SSL_CTX_use_certificate(rctx, creds[0].x) == 1 &&
                  SSL_CTX_use_PrivateKey(rctx, creds[0].pk) == 1,
              "OpenSSL server credential");
        bench_resumed(cfg, rctx, n);
        zt_config_set_ticket_keys(cfg, NULL);
        zt_ticket_keys_free(ring);
        SSL_CTX_free(rctx);
    }
    bench_bulk(cfg, sctx, (size_t)((double)(1u << 29) * g_scale));
    bench_memory(cfg);

    zt_config_free(cfg);
    SSL_CTX_free(sctx);
    for (i = 0; i < 3; i++) {
        free(creds[i].cert);
        free(creds[i].key);
        X509_free(creds[i].x);
        EVP_PKEY_free(creds[i].pk);
    }
    return 0;
}
