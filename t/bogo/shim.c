/*
 * t/bogo/shim.c: the zigtls core under BoringSSL's test runner ("BoGo",
 * ssl/test/runner). The runner starts this program once per test with
 * flags, listens on loopback, and plays a scripted, often misbehaving,
 * TLS client; we connect to it, say which shim we are (-shim-id, 8 bytes
 * little-endian), act as the server, and echo application data with every
 * byte XOR 0xff until the runner closes (the bssl_shim protocol).
 *
 * Server role only, over src/zigtls.h alone. A flag we do not implement,
 * the client role, DTLS and QUIC exit with 89, the runner's
 * "unimplemented" code, so that a test is never passed by a shim that
 * ignored what it asked for. A failure prints ":<zt_err_str>:" to stderr
 * (t/bogo/config.json maps BoringSSL's error names onto ours) and exits 1;
 * success prints nothing and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "zigtls.h"

#define EXIT_UNIMPLEMENTED 89
#define MAX_CURVES 8

/* What one connection is asked to do (-on-initial-/-on-resume- prefixes
 * give the first and the later connections their own copy). */
typedef struct shim_cfg {
    const char *key_file, *cert_file;
    const char *select_alpn;
    const char *expect_server_name;
    int curves[MAX_CURVES];
    size_t n_curves;
    int expect_curve_id;
    int expect_hrr, expect_no_hrr;
    int shim_writes_first, shim_shuts_down, check_close_notify;
    int key_update;
    int read_size;
    int no_ticket;
    int enable_early_data, expect_accept_early, expect_reject_early;
    const char *expect_early_reason;
    int use_early_callback, fail_early_callback;
    /* client certificates */
    const char *trust_cert, *expect_peer_cert_file;
    int require_any_client_cert, verify_peer, expect_verify_result;
} shim_cfg;

typedef struct shim_opts {
    int port, ipv6, server, async, resume_count, expect_session_miss;
    int dtls, quic;
    uint64_t shim_id;
    int handshaker_supported;
    shim_cfg conn[2]; /* initial, resume */
} shim_opts;

typedef enum { F_BOOL, F_INT, F_STR, F_IGNORE_BOOL, F_IGNORE_STR } ftype;

typedef struct flag {
    const char *name;
    ftype type;
    /* where the value goes: an offset into shim_cfg (per connection), or
     * into shim_opts when global is set */
    size_t off;
    int global;
} flag;

#define C(f) offsetof(shim_cfg, f), 0
#define O(f) offsetof(shim_opts, f), 1

/* Every flag the shim understands. Anything else is unimplemented. */
static const flag flags[] = {
    {"-port", F_INT, O(port)},
    {"-ipv6", F_BOOL, O(ipv6)},
    {"-server", F_BOOL, O(server)},
    {"-dtls", F_BOOL, O(dtls)},
    {"-quic", F_BOOL, O(quic)},
    {"-async", F_BOOL, O(async)},
    {"-resume-count", F_INT, O(resume_count)},
    {"-expect-session-miss", F_BOOL, O(expect_session_miss)},
    {"-is-handshaker-supported", F_BOOL, O(handshaker_supported)},
    {"-key-file", F_STR, C(key_file)},
    {"-cert-file", F_STR, C(cert_file)},
    {"-select-alpn", F_STR, C(select_alpn)},
    {"-expect-server-name", F_STR, C(expect_server_name)},
    {"-expect-curve-id", F_INT, C(expect_curve_id)},
    {"-expect-hrr", F_BOOL, C(expect_hrr)},
    {"-expect-no-hrr", F_BOOL, C(expect_no_hrr)},
    {"-shim-writes-first", F_BOOL, C(shim_writes_first)},
    {"-shim-shuts-down", F_BOOL, C(shim_shuts_down)},
    {"-check-close-notify", F_BOOL, C(check_close_notify)},
    {"-key-update", F_BOOL, C(key_update)},
    {"-read-size", F_INT, C(read_size)},
    {"-enable-early-data", F_BOOL, C(enable_early_data)},
    {"-expect-accept-early-data", F_BOOL, C(expect_accept_early)},
    {"-expect-reject-early-data", F_BOOL, C(expect_reject_early)},
    {"-expect-early-data-reason", F_STR, C(expect_early_reason)},
    /* BoringSSL's select_certificate_cb: our ClientHello callback */
    {"-use-early-callback", F_BOOL, C(use_early_callback)},
    {"-fail-early-callback", F_BOOL, C(fail_early_callback)},
    /* Accepted and without effect here, each for a stated reason: */
    /* the SSL_read that starts the handshake: we always start at once */
    {"-implicit-handshake", F_IGNORE_BOOL, 0, 0},
    /* versions below TLS 1.3 are never spoken anyway */
    {"-no-tls1", F_IGNORE_BOOL, 0, 0},
    {"-no-tls11", F_IGNORE_BOOL, 0, 0},
    {"-no-tls12", F_IGNORE_BOOL, 0, 0},
    {"-no-ticket", F_BOOL, C(no_ticket)},
    /* the server's cipher preference is always used */
    {"-server-preference", F_IGNORE_BOOL, 0, 0},
    /* client certificates: the runner's CA (the root of its chain, or its
     * self-signed certificate), which the core verifies the client's chain
     * against (BoringSSL's shim accepts any certificate instead) */
    {"-trust-cert", F_STR, C(trust_cert)},
    {"-require-any-client-certificate", F_BOOL, C(require_any_client_cert)},
    {"-verify-peer", F_BOOL, C(verify_peer)},
    {"-expect-verify-result", F_BOOL, C(expect_verify_result)},
    {"-expect-peer-cert-file", F_STR, C(expect_peer_cert_file)},
    /* split-handshake hints: we have no handshaker */
    {"-allow-hint-mismatch", F_IGNORE_BOOL, 0, 0},
};

static const flag *find_flag(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strcmp(flags[i].name, name) == 0)
            return &flags[i];
    return NULL;
}

static void unimplemented(const char *what)
{
    /* stdout: the runner ignores it; stderr would count as an error */
    printf("unimplemented: %s\n", what);
    exit(EXIT_UNIMPLEMENTED);
}

/* The first flag we cannot honour. Parsing stops there (its arity is
 * unknown); the role and the protocol come first on the runner's command
 * line, so they are known and are reported first. */
static const char *refused;

static void refuse(const char *what)
{
    if (refused == NULL)
        refused = what;
}

static void set_flag(shim_opts *o, const flag *f, int which, const char *v)
{
    char *base;
    int i, lo, hi;

    if (f->type == F_IGNORE_BOOL || f->type == F_IGNORE_STR)
        return;
    lo = which < 0 ? 0 : which;
    hi = which < 0 ? 1 : which;
    for (i = lo; i <= hi; i++) {
        base = f->global ? (char *)o : (char *)&o->conn[i];
        switch (f->type) {
        case F_BOOL:
            *(int *)(base + f->off) = 1;
            break;
        case F_INT:
            *(int *)(base + f->off) = atoi(v);
            break;
        case F_STR:
            *(const char **)(base + f->off) = v;
            break;
        default:
            break;
        }
        if (f->global)
            break;
    }
}

/* Version flags: only TLS 1.3 is spoken. */
static void version_flag(const char *name, const char *v)
{
    if (strcmp(name, "-max-version") == 0 && atoi(v) < ZT_TLS13)
        refuse("-max-version below TLS 1.3");
    if (strcmp(name, "-min-version") == 0 && atoi(v) > ZT_TLS13)
        refuse("-min-version above TLS 1.3");
}

static void parse_args(shim_opts *o, int argc, char **argv)
{
    const char *name, *v;
    const flag *f;
    int i, which;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        name = argv[i];
        which = -1;
        if (strncmp(name, "-on-shim-", 9) == 0) {
            name += 8;
        } else if (strncmp(name, "-on-handshaker-", 15) == 0) {
            /* for the split-handshake helper, which we do not have */
            if (strcmp(name + 14, "-curves") == 0 ||
                strcmp(name + 14, "-max-version") == 0 ||
                strcmp(name + 14, "-min-version") == 0) {
                i++;
                continue;
            }
            f = find_flag(name + 14);
            if (f == NULL) {
                refuse(argv[i]);
                return;
            }
            if (f->type != F_BOOL && f->type != F_IGNORE_BOOL)
                i++;
            continue;
        } else if (strncmp(name, "-on-initial-", 12) == 0) {
            name += 11;
            which = 0;
        } else if (strncmp(name, "-on-resume-", 11) == 0) {
            name += 10;
            which = 1;
        }
        if (strcmp(name, "-shim-id") == 0) {
            if (i + 1 >= argc)
                return refuse("-shim-id without a value");
            o->shim_id = strtoull(argv[++i], NULL, 10);
            continue;
        }
        if (strcmp(name, "-curves") == 0) {
            /* one -curves per curve id, in preference order */
            int id;
            if (i + 1 >= argc)
                return refuse("-curves without a value");
            id = atoi(argv[++i]);
            if (id != ZT_GROUP_X25519 && id != ZT_GROUP_SECP256R1)
                refuse("a curve the core does not have");
            for (int k = 0; k < 2; k++) {
                shim_cfg *sc = &o->conn[k];
                if ((which < 0 || which == k) && sc->n_curves < MAX_CURVES)
                    sc->curves[sc->n_curves++] = id;
            }
            continue;
        }
        if (strcmp(name, "-max-version") == 0 ||
            strcmp(name, "-min-version") == 0) {
            if (i + 1 >= argc)
                return refuse(name);
            version_flag(name, argv[++i]);
            continue;
        }
        f = find_flag(name);
        if (f == NULL) {
            refuse(argv[i]);
            return;
        }
        v = NULL;
        if (f->type != F_BOOL && f->type != F_IGNORE_BOOL) {
            if (i + 1 >= argc)
                return refuse("a flag without its value");
            v = argv[++i];
        }
        set_flag(o, f, which, v);
    }
}

/* ---- transport --------------------------------------------------------- */

static int connect_runner(const shim_opts *o)
{
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    uint8_t id[8];
    int fd, one = 1, i;

    fd = socket(o->ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (o->ipv6) {
        memset(&a6, 0, sizeof(a6));
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)o->port);
        a6.sin6_addr = in6addr_loopback;
        if (connect(fd, (struct sockaddr *)&a6, sizeof(a6)) != 0)
            goto fail;
    } else {
        memset(&a4, 0, sizeof(a4));
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)o->port);
        a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&a4, sizeof(a4)) != 0)
            goto fail;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (i = 0; i < 8; i++)
        id[i] = (uint8_t)(o->shim_id >> (8 * i));
    if (write(fd, id, sizeof(id)) != (ssize_t)sizeof(id))
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

/* Everything the core has to send goes out (one byte per write in -async
 * mode, so that every partial write is seen). */
static int flush(zt_conn *c, int fd, int async)
{
    const uint8_t *p;
    size_t n;
    ssize_t w;

    while ((p = zt_send_buf(c, &n)) != NULL) {
        w = send(fd, p, async ? 1 : n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        zt_send_done(c, (size_t)w);
    }
    return 0;
}

/* One read from the socket into the core (one byte in -async mode: every
 * record then arrives cut at every offset). 0: fed; 1: EOF; -1: error. */
static int pump(zt_conn *c, int fd, int async, zt_err *err)
{
    uint8_t *b;
    size_t room;
    ssize_t r;

    b = zt_recv_buf(c, &room);
    if (b == NULL || room == 0) {
        *err = zt_conn_error(c);
        return *err == ZT_OK ? 0 : -1;
    }
    do
        r = recv(fd, b, async ? 1 : room, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        *err = ZT_E_TRUNCATED;
        return -1;
    }
    if (r == 0) {
        *err = zt_eof(c);
        return 1;
    }
    *err = zt_recv_done(c, (size_t)r);
    return *err == ZT_OK ? 0 : -1;
}

static void report(zt_conn *c, zt_err e)
{
    fprintf(stderr, "zigtls: :%s: alert_sent=%s alert_received=%s\n",
            zt_err_str(e), zt_alert_str(zt_conn_alert_sent(c)),
            zt_alert_str(zt_conn_alert_received(c)));
}

/* ---- one connection ---------------------------------------------------------- */

/* One ticket key ring for all the connections of a test: the resumption
 * connections (-resume-count) must open the tickets of the first. */
static zt_ticket_keys *ring;

/* 0-RTT (-enable-early-data): BoringSSL's server takes up to 14336 bytes
 * (its kMaxEarlyDataAccepted, which the runner's tests use); the replay
 * filter, one for the test's connections, as one nginx zone has it. */
#define EARLY_DATA_MAX 14336
static uint8_t replay_mem[4096];

/* The ALPN protocol of the first connection: which ticket parameter a
 * refused 0-RTT differed in. */
static char first_alpn[256];

static uint64_t wall_ms(void *arg)
{
    struct timespec ts;

    (void)arg;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The ClientHello callback (-use-early-callback: it must run once per
 * connection; -fail-early-callback: it refuses the client). */
static int early_callback_calls;

static zt_err on_client_hello(void *arg, zt_conn *c, const zt_client_hello *ch,
                              const zt_config **use)
{
    const shim_cfg *sc = arg;

    (void)c, (void)ch, (void)use;
    early_callback_calls++;
    return sc->fail_early_callback ? ZT_E_POLICY_REJECT : ZT_OK;
}

static zt_config *make_config(const shim_cfg *sc)
{
    uint16_t groups[MAX_CURVES];
    char why[256];
    zt_config *cfg;
    size_t i;

    cfg = zt_config_new();
    if (cfg == NULL)
        return NULL;
    if (sc->key_file == NULL || sc->cert_file == NULL)
        unimplemented("a server without a certificate");
    why[0] = '\0';
    if (zt_config_add_credential_file(cfg, sc->cert_file, sc->key_file, why,
                                      sizeof(why)) != ZT_OK) {
        /* P-384, P-521, RSA-1024 and other keys the core refuses */
        printf("credential: %s\n", why);
        exit(EXIT_UNIMPLEMENTED);
    }
    if (sc->n_curves) {
        for (i = 0; i < sc->n_curves; i++)
            groups[i] = (uint16_t)sc->curves[i];
        if (zt_config_set_groups(cfg, groups, sc->n_curves) != ZT_OK)
            unimplemented("-curves");
    }
    /* tickets and resumption, as a server{} of the nginx module has
     * them; -no-ticket (BoringSSL's SSL_OP_NO_TICKET) turns both off */
    if (!sc->no_ticket) {
        zt_config_set_ticket_keys(cfg, ring);
        zt_config_set_wall_clock(cfg, wall_ms, NULL);
    }
    if (sc->select_alpn != NULL && sc->select_alpn[0] != '\0') {
        const char *p[1] = {sc->select_alpn};
        if (zt_config_set_alpn(cfg, p, 1) != ZT_OK)
            unimplemented("-select-alpn");
    }
    /* -require-any-client-certificate: a certificate is required;
     * -verify-peer alone: asked for, and verified when one comes */
    if (sc->require_any_client_cert || sc->verify_peer) {
        zt_verify_mode m = sc->require_any_client_cert ? ZT_VERIFY_REQUIRED
                                                       : ZT_VERIFY_OPTIONAL;
        if (zt_config_set_verify_client(cfg, m, ZT_VERIFY_KEEP_CHAIN) !=
            ZT_OK)
            unimplemented("client certificates");
        if (sc->trust_cert != NULL &&
            zt_config_add_client_ca_file(cfg, sc->trust_cert, 0, why,
                                         sizeof(why)) != ZT_OK) {
            printf("-trust-cert: %s\n", why);
            exit(EXIT_UNIMPLEMENTED);
        }
    }
    if (sc->use_early_callback || sc->fail_early_callback)
        zt_config_set_client_hello_cb(cfg, on_client_hello, (void *)sc);
    if (sc->enable_early_data && !sc->no_ticket) {
        if (zt_config_set_max_early_data(cfg, EARLY_DATA_MAX) != ZT_OK)
            unimplemented("-enable-early-data");
        zt_config_set_replay_filter(cfg, zt_replay_table_check, replay_mem);
    }
    return cfg;
}

/* BoringSSL's name (SSL_early_data_reason_string) for what became of the
 * client's 0-RTT, from the core's reason and the shim's own settings. */
static const char *early_reason(zt_conn *c, const shim_cfg *sc)
{
    zt_early_result r = zt_conn_early_result(c);
    const char *alpn = zt_conn_alpn(c);

    if (!sc->enable_early_data)
        return r == ZT_EARLY_NONE || r == ZT_EARLY_DISABLED ? "disabled"
                                                             : "not disabled";
    switch (r) {
    case ZT_EARLY_ACCEPTED:
        return "accept";
    case ZT_EARLY_NONE:
    case ZT_EARLY_NO_PSK:
        if (zt_conn_psk_result(c) == ZT_PSK_NONE)
            return "no_session_offered";
        return zt_conn_resumed(c) ? "peer_declined" : "session_not_resumed";
    case ZT_EARLY_DISABLED: /* on here: the ticket did not allow it */
        return "unsupported_for_session";
    case ZT_EARLY_HRR: /* BoringSSL names a ticket not resumed first */
        return zt_conn_resumed(c) ? "hello_retry_request"
                                  : "session_not_resumed";
    case ZT_EARLY_AGE:
        return "ticket_age_skew";
    case ZT_EARLY_PARAMS: /* suite, ALPN or SNI: name the ALPN case */
        return strcmp(alpn ? alpn : "", first_alpn) != 0 ? "alpn_mismatch"
                                                          : "params";
    default:
        return zt_early_result_str(r);
    }
}

/* ---- client certificates ---------------------------------------------------- */

/* The certificates of a PEM file, DER, in order (base64 is not crypto:
 * decoded here, so that the shim needs nothing but src/zigtls.h). */
#define PEER_MAX 8
typedef struct pem_list {
    uint8_t der[PEER_MAX][8192];
    size_t len[PEER_MAX], n;
} pem_list;

static int b64(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

static int read_pem(const char *path, pem_list *out)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    char line[256];
    unsigned acc = 0;
    int in = 0, bits = 0, v;
    FILE *f = fopen(path, "r");

    out->n = 0;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, begin, sizeof(begin) - 1) == 0) {
            if (out->n == PEER_MAX)
                break;
            out->len[out->n] = 0;
            in = 1, acc = 0, bits = 0;
            continue;
        }
        if (strncmp(line, end, sizeof(end) - 1) == 0) {
            in = 0;
            out->n++;
            continue;
        }
        for (char *p = line; in && *p; p++) {
            if ((v = b64((unsigned char)*p)) < 0)
                continue; /* '=', newline */
            acc = (acc << 6) | (unsigned)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                if (out->len[out->n] == sizeof(out->der[0]))
                    goto fail;
                out->der[out->n][out->len[out->n]++] =
                    (uint8_t)(acc >> bits);
            }
        }
    }
    fclose(f);
    return out->n > 0 ? 0 : -1;
fail:
    fclose(f);
    return -1;
}

/* Once the handshake is done: the client's certificate as expected. */
static int check_peer(zt_conn *c, const shim_cfg *sc)
{
    static pem_list want;
    const uint8_t *der;
    size_t i, len;

    /* BoringSSL's verify result is X509_V_OK also without a certificate:
     * no failure, whether one was verified or none came */
    if (sc->expect_verify_result && zt_conn_peer_verify(c) != ZT_VR_OK &&
        zt_conn_peer_verify(c) != ZT_VR_NONE) {
        fprintf(stderr, "client certificate: %s (%s), expected verified\n",
                zt_verify_result_str(zt_conn_peer_verify(c)),
                zt_conn_peer_verify_reason(c));
        return -1;
    }
    if (sc->expect_peer_cert_file == NULL)
        return 0;
    if (read_pem(sc->expect_peer_cert_file, &want) != 0) {
        fprintf(stderr, "cannot read %s\n", sc->expect_peer_cert_file);
        return -1;
    }
    if (zt_conn_peer_chain_len(c) != want.n) {
        fprintf(stderr, "client chain of %zu certificates, expected %zu\n",
                zt_conn_peer_chain_len(c), want.n);
        return -1;
    }
    for (i = 0; i < want.n; i++) {
        der = zt_conn_peer_cert(c, i, &len);
        if (der == NULL || len != want.len[i] ||
            memcmp(der, want.der[i], len) != 0) {
            fprintf(stderr, "client certificate %zu differs\n", i);
            return -1;
        }
    }
    return 0;
}

/* What 0-RTT came to, once the handshake is done. */
static int check_early(zt_conn *c, const shim_cfg *sc)
{
    int acc = zt_conn_early_data_accepted(c);
    const char *why = early_reason(c, sc);

    if (!(zt_conn_state(c) & ZT_ST_HANDSHAKE_DONE)) {
        fprintf(stderr, "the handshake did not complete\n");
        return -1;
    }
    if ((sc->expect_accept_early && !acc) ||
        (sc->expect_reject_early && acc)) {
        fprintf(stderr, "early data %saccepted, expected the opposite (%s)\n",
                acc ? "" : "not ", why);
        return -1;
    }
    if (sc->expect_early_reason != NULL &&
        strcmp(sc->expect_early_reason, why) != 0) {
        fprintf(stderr, "early data reason %s, expected %s\n", why,
                sc->expect_early_reason);
        return -1;
    }
    return 0;
}

static int check_expectations(zt_conn *c, const shim_opts *o,
                              const shim_cfg *sc, int is_resume)
{
    const char *sni = zt_conn_sni(c);

    if (sc->use_early_callback && early_callback_calls != 1) {
        fprintf(stderr, "early callback called %d times\n",
                early_callback_calls);
        return -1;
    }

    /* the first connection never resumes; the later ones must, unless the
     * test expects the miss (-expect-session-miss) */
    if (zt_conn_resumed(c) != (is_resume && !o->expect_session_miss)) {
        fprintf(stderr, "session %sresumed, expected the opposite\n",
                zt_conn_resumed(c) ? "" : "not ");
        return -1;
    }

    if (sc->expect_server_name != NULL &&
        (sni == NULL || strcmp(sni, sc->expect_server_name) != 0)) {
        fprintf(stderr, "server name %s, expected %s\n", sni ? sni : "none",
                sc->expect_server_name);
        return -1;
    }
    if (sc->expect_curve_id && zt_conn_group(c) != sc->expect_curve_id) {
        fprintf(stderr, "curve %04x, expected %04x\n", zt_conn_group(c),
                (unsigned)sc->expect_curve_id);
        return -1;
    }
    if (sc->expect_hrr && !zt_conn_hrr(c)) {
        fprintf(stderr, "no HelloRetryRequest, one expected\n");
        return -1;
    }
    if (sc->expect_no_hrr && zt_conn_hrr(c)) {
        fprintf(stderr, "HelloRetryRequest sent, none expected\n");
        return -1;
    }
    return 0;
}

/* Plaintext out, all of it (flushing whenever the send pipe is full). */
static int write_all(zt_conn *c, int fd, int async, const uint8_t *p,
                     size_t n)
{
    size_t acc;
    zt_err e;

    while (n > 0) {
        e = zt_write(c, p, n, &acc);
        if (e != ZT_OK) {
            report(c, e);
            return -1;
        }
        if (flush(c, fd, async) != 0)
            return -1;
        p += acc;
        n -= acc;
    }
    return 0;
}

/* The echo loop: each read of at most read_size bytes comes back XOR 0xff,
 * until the runner's close_notify (or EOF). */
static int echo(zt_conn *c, int fd, const shim_opts *o, const shim_cfg *sc)
{
    uint8_t buf[16384];
    size_t want = sc->read_size > 0 ? (size_t)sc->read_size : 512, n, i;
    zt_err e;
    int r;

    if (want > sizeof(buf))
        want = sizeof(buf);
    for (;;) {
        n = zt_read(c, buf, want);
        if (n > 0) {
            if (sc->key_update && zt_key_update(c, 0) != ZT_OK) {
                report(c, zt_conn_error(c));
                return -1;
            }
            for (i = 0; i < n; i++)
                buf[i] ^= 0xff;
            if (write_all(c, fd, o->async, buf, n) != 0)
                return -1;
            continue;
        }
        if (zt_conn_state(c) & ZT_ST_PEER_CLOSED)
            return 0;
        r = pump(c, fd, o->async, &e);
        if (flush(c, fd, o->async) != 0 && e == ZT_OK)
            return -1;
        if (r < 0) {
            report(c, e);
            return -1;
        }
        if (r == 1) {
            if (e != ZT_OK && e != ZT_E_TRUNCATED) {
                report(c, e);
                return -1;
            }
            return 0; /* clean or unclean end: stop, as bssl_shim does */
        }
    }
}

/* -shim-shuts-down -check-close-notify: our close_notify first, then the
 * runner's must arrive before EOF. */
static int await_close_notify(zt_conn *c, int fd, int async)
{
    zt_err e;
    int r;

    while (!(zt_conn_state(c) & ZT_ST_PEER_CLOSED)) {
        r = pump(c, fd, async, &e);
        if (r != 0 || e != ZT_OK) {
            fprintf(stderr, "no close_notify from the peer: :%s:\n",
                    zt_err_str(e));
            return -1;
        }
        if (zt_read(c, (uint8_t[1]){0}, 1) != 0) {
            fprintf(stderr, "data after our close_notify\n");
            return -1;
        }
    }
    return 0;
}

static int run_connection(const shim_opts *o, const shim_cfg *sc,
                          int is_resume)
{
    zt_config *cfg;
    zt_conn *c;
    zt_err e = ZT_OK;
    int fd, r, ok = -1;

    cfg = make_config(sc);
    if (cfg == NULL)
        return -1;
    early_callback_calls = 0;
    fd = connect_runner(o);
    c = zt_conn_new(cfg);
    if (fd < 0 || c == NULL) {
        fprintf(stderr, "cannot connect to the runner\n");
        goto out;
    }
    /* the handshake, up to the server's flight when 0-RTT is accepted:
     * the early data is then read, and answered at 0.5-RTT, by the echo */
    while (!(zt_conn_state(c) & (ZT_ST_HANDSHAKE_DONE | ZT_ST_EARLY_DATA))) {
        r = pump(c, fd, o->async, &e);
        (void)flush(c, fd, o->async);
        if (r != 0 || e != ZT_OK) {
            report(c, e != ZT_OK ? e : ZT_E_TRUNCATED);
            goto out;
        }
    }
    if (flush(c, fd, o->async) != 0 || check_expectations(c, o, sc, is_resume) != 0)
        goto out;
    if (sc->shim_writes_first &&
        write_all(c, fd, o->async, (const uint8_t *)"hello", 5) != 0)
        goto out;
    if (!sc->shim_shuts_down && echo(c, fd, o, sc) != 0)
        goto out;
    /* -shim-shuts-down: the client Finished must be in first */
    while (!(zt_conn_state(c) & ZT_ST_HANDSHAKE_DONE)) {
        r = pump(c, fd, o->async, &e);
        (void)flush(c, fd, o->async);
        if (r != 0 || e != ZT_OK) {
            report(c, e != ZT_OK ? e : ZT_E_TRUNCATED);
            goto out;
        }
    }
    if (check_early(c, sc) != 0 || check_peer(c, sc) != 0)
        goto out;
    if (!is_resume) {
        const char *alpn = zt_conn_alpn(c);
        snprintf(first_alpn, sizeof(first_alpn), "%s", alpn ? alpn : "");
    }
    e = zt_close(c);
    if (e != ZT_OK) {
        report(c, e);
        goto out;
    }
    /* after the runner's close_notify it may be gone already: our own
     * close_notify is then best effort (as for any TLS stack) */
    if (flush(c, fd, o->async) != 0 &&
        !(zt_conn_state(c) & ZT_ST_PEER_CLOSED)) {
        fprintf(stderr, "cannot send close_notify\n");
        goto out;
    }
    if (sc->shim_shuts_down && sc->check_close_notify &&
        await_close_notify(c, fd, o->async) != 0)
        goto out;
    ok = 0;
out:
    if (fd >= 0) {
        shutdown(fd, SHUT_WR);
        close(fd);
    }
    zt_conn_free(c);
    zt_config_free(cfg);
    return ok;
}

int main(int argc, char **argv)
{
    shim_opts o;
    int i;

    signal(SIGPIPE, SIG_IGN);
    parse_args(&o, argc, argv);
    if (o.handshaker_supported && refused == NULL) {
        printf("No\n");
        return 0;
    }
    if (o.dtls || o.quic)
        unimplemented(o.dtls ? "DTLS" : "QUIC");
    if (!o.server)
        unimplemented("the client role");
    if (refused != NULL)
        unimplemented(refused);
    if (o.port <= 0)
        unimplemented("no -port");
    {
        uint8_t key[ZT_TICKET_KEY_LONG];
        if (zt_replay_table_init(replay_mem, sizeof(replay_mem),
                                 wall_ms(NULL)) == 0) {
            fprintf(stderr, "no replay table\n");
            return 1;
        }
        ring = zt_ticket_keys_new();
        if (ring == NULL ||
            getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key) ||
            zt_ticket_keys_add(ring, key, sizeof(key)) != ZT_OK) {
            fprintf(stderr, "no ticket key\n");
            return 1;
        }
    }
    for (i = 0; i <= o.resume_count; i++) {
        if (run_connection(&o, &o.conn[i > 0], i > 0) != 0) {
            fprintf(stderr, "connection %d failed\n", i + 1);
            zt_ticket_keys_free(ring);
            return 1;
        }
    }
    zt_ticket_keys_free(ring);
    return 0;
}
