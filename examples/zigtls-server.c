/*
 * zigtls-server: a small standalone TLS 1.3 server built on the zigtls core
 * alone (no nginx). It proves that the sans-I/O API is enough to drive real
 * connections: this file owns the sockets, poll(), timers and signals; the
 * core owns everything TLS.
 *
 *   zigtls-server --listen 127.0.0.1:8443 --cert chain.pem --key key.pem
 *                 [--cert ... --key ...] [--ciphers LIST] [--groups LIST]
 *                 [--alpn LIST] [--pidfile FILE] [--handshake-timeout MS]
 *                 [--idle-timeout MS] [--max-clients N] [--quiet]
 *                 [--tickets | --ticket-key FILE ...] [--ticket-lifetime S]
 *                 [--early-data BYTES]
 *
 * Every HTTP/1.x request (anything up to an empty line) is answered with a
 * small HTML page naming what the handshake settled. Keep-alive is honoured.
 * Each handshake's outcome is logged to stderr as one line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "zigtls.h"

#define MAX_CLIENTS_DEFAULT 1024
#define MAX_CLIENTS_LIMIT 65536
#define REQ_BUF_SIZE 8192 /* request head cap (431 beyond it) */
#define RESP_BUF_SIZE 4096
#define LINGER_MS 2000       /* drain the peer after our last byte */
#define IDLE_CORE_BYTES 1024 /* zt_conn_buffer_bytes() of an idle conn */
#define ACCEPT_PAUSE_MS 100  /* after accept() fails with EMFILE etc. */
#define STEP_ROUNDS 64       /* bound on one connection's work per wakeup */
#define MAX_BYTES_BODY (1ULL << 40) /* /bytes/N cap */

/* Body of GET /bytes/N: this 64-byte line repeated, cut at N bytes. */
static const char k_line[65] =
    "zigtls bulk data 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGH\n";
static char g_pattern[ZT_MAX_PLAINTEXT + 64];

enum phase {
    PH_TLS,   /* handshake or application data */
    PH_LINGER /* our side is done: write shut, draining until EOF */
};

struct client {
    int fd;
    zt_conn *tls;
    enum phase phase;
    char peer[64];
    uint64_t deadline;        /* ms, monotonic */
    uint64_t bytes_in;        /* TLS bytes received */
    unsigned logged : 1;      /* handshake outcome logged */
    unsigned rd_eof : 1;      /* transport EOF seen */
    unsigned rx_blocked : 1;  /* zt_recv_buf offered no room */
    unsigned tx_blocked : 1;  /* send() would block */
    unsigned close_after : 1; /* close once the response is out */
    unsigned closing : 1;     /* close_notify queued, flushing */
    unsigned dead : 1;        /* to be freed */
    unsigned end_logged : 1;  /* the failure was logged (log it once) */
    size_t req_len;
    size_t req_early; /* bytes at the front of req that came as 0-RTT */
    size_t discard; /* request body bytes still to skip */
    size_t resp_len, resp_off;
    uint64_t stream_left, stream_off; /* /bytes/N body still to send */
    unsigned requests;
    /* request head and response, one allocation made when plaintext first
     * arrives and given back while the connection is idle */
    char *req;  /* REQ_BUF_SIZE bytes */
    char *resp; /* RESP_BUF_SIZE bytes, right after req */
};

struct server {
    zt_config *cfg;
    int lfd;
    struct client **clients;
    size_t max_clients;
    size_t n_clients;
    uint64_t handshake_timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t accept_paused_until;
    int quiet;
    zt_ticket_keys *ring; /* session tickets (NULL: off) */
    void *replay;         /* 0-RTT replay table */
};

static volatile sig_atomic_t g_stop, g_stats;
static int g_sigpipe[2] = {-1, -1};

/* ---- small helpers ------------------------------------------------------ */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t clock_cb(void *arg)
{
    (void)arg;
    return now_ms();
}

/* Tickets cross processes: their clock is the wall clock. */
static uint64_t wall_cb(void *arg)
{
    struct timespec ts;

    (void)arg;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logf_(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n,
                          ".%03ldZ zigtls-server: ", ts.tv_nsec / 1000000L);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    n = strlen(line);
    if (n < sizeof line - 1) {
        line[n++] = '\n';
        line[n] = '\0';
    } else {
        line[sizeof line - 2] = '\n';
    }
    /* One write per line so concurrent writers do not interleave. */
    if (write(STDERR_FILENO, line, strlen(line)) < 0) {
        /* nowhere to report it */
    }
}

static void on_signal(int sig)
{
    int saved = errno;
    char b = (char)sig;

    if (sig == SIGUSR1)
        g_stats = 1;
    else
        g_stop = 1;
    if (g_sigpipe[1] >= 0 && write(g_sigpipe[1], &b, 1) < 0) {
        /* the pipe is full: a wakeup is already pending */
    }
    errno = saved;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static const char *nz(const char *s)
{
    return s ? s : "-";
}

static const char *name_or_hex(const char *name, uint16_t v, char *buf,
                               size_t len)
{
    if (name)
        return name;
    snprintf(buf, len, "0x%04x", v);
    return buf;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: zigtls-server --listen HOST:PORT --cert CHAIN.pem "
            "--key KEY.pem\n"
            "                     [--cert CHAIN.pem --key KEY.pem ...]\n"
            "                     [--ciphers LIST] [--groups LIST] "
            "[--alpn LIST]\n"
            "                     [--pidfile FILE] [--handshake-timeout MS]\n"
            "                     [--idle-timeout MS] [--max-clients N] "
            "[--quiet]\n"
            "                     [--key-update-limit RECORDS]\n"
            "                     [--tickets | --ticket-key FILE ...] "
            "[--ticket-lifetime S]\n"
            "                     [--early-data BYTES]\n"
            "  --ciphers  colon-separated TLS 1.3 suites, server preference\n"
            "             e.g. TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_"
            "SHA256\n"
            "  --groups   colon-separated, e.g. x25519mlkem768:x25519:secp256r1\n"
            "  --alpn     comma- or colon-separated, e.g. http/1.1\n"
            "  --quiet    log failed handshakes only\n"
            "  --tickets  session tickets under a key made at start\n"
            "  --ticket-key  a 48- or 80-byte key file (`openssl rand 80`);\n"
            "             the first seals, the others open\n"
            "  --early-data  accept up to BYTES of 0-RTT (replay table in "
            "memory)\n"
            "  --key-update-limit  records sent under one key before the "
            "server\n"
            "             rotates it with a KeyUpdate (default: the core's)\n");
}

/* ---- listening socket --------------------------------------------------- */

static int split_host_port(const char *arg, char *host, size_t hlen, char *port,
                           size_t plen)
{
    const char *colon;
    size_t n;

    if (arg[0] == '[') { /* [v6addr]:port */
        const char *end = strchr(arg, ']');

        if (!end || end[1] != ':')
            return -1;
        n = (size_t)(end - arg - 1);
        colon = end + 1;
        if (n >= hlen)
            return -1;
        memcpy(host, arg + 1, n);
    } else {
        colon = strrchr(arg, ':');
        if (!colon)
            return -1;
        n = (size_t)(colon - arg);
        if (n >= hlen)
            return -1;
        memcpy(host, arg, n);
    }
    host[n] = '\0';
    if (strlen(colon + 1) == 0 || strlen(colon + 1) >= plen)
        return -1;
    strcpy(port, colon + 1);
    return 0;
}

static int open_listener(const char *listen_arg)
{
    char host[256], port[16];
    struct addrinfo hints, *res, *ai;
    int fd = -1, one = 1, rc;

    if (split_host_port(listen_arg, host, sizeof host, port, sizeof port) < 0) {
        fprintf(stderr, "zigtls-server: bad --listen '%s' (want HOST:PORT)\n",
                listen_arg);
        return -1;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "zigtls-server: %s: %s\n", listen_arg,
                gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, 511) == 0 && set_nonblock(fd) == 0)
            break;
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        fprintf(stderr, "zigtls-server: cannot listen on %s: %s\n", listen_arg,
                strerror(errno));
    freeaddrinfo(res);
    return fd;
}

static void format_peer(const struct sockaddr_storage *ss, char *out,
                        size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        snprintf(out, len, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
        snprintf(out, len, "[%s]:%u", ip, (unsigned)ntohs(sin6->sin6_port));
    } else {
        snprintf(out, len, "unknown");
    }
}

/* ---- logging of handshake outcomes -------------------------------------- */

static void log_handshake_ok(struct server *srv, struct client *cl)
{
    zt_conn *c = cl->tls;
    char b1[8], b2[8], b3[8];
    uint16_t ver = zt_conn_version(c);

    cl->logged = 1;
    if (srv->quiet)
        return;
    logf_("%s handshake ok version=%s cipher=%s group=%s sigalg=%s alpn=%s "
          "sni=%s hrr=%d resumed=%d psk=%s early=%s tickets=%u ms=%llu",
          cl->peer, ver == ZT_TLS13 ? "TLSv1.3" : "unknown",
          name_or_hex(zt_cipher_suite_name(zt_conn_cipher_suite(c)),
                      zt_conn_cipher_suite(c), b1, sizeof b1),
          name_or_hex(zt_group_name(zt_conn_group(c)), zt_conn_group(c), b2,
                      sizeof b2),
          name_or_hex(zt_sigalg_name(zt_conn_sigalg(c)), zt_conn_sigalg(c), b3,
                      sizeof b3),
          nz(zt_conn_alpn(c)), nz(zt_conn_sni(c)), zt_conn_hrr(c) ? 1 : 0,
          zt_conn_resumed(c), zt_psk_result_str(zt_conn_psk_result(c)),
          zt_early_result_str(zt_conn_early_result(c)),
          zt_conn_tickets_sent(c),
          (unsigned long long)zt_conn_handshake_ms(c));
}

/* reason: a zt_err name, or a transport-level reason when err is ZT_OK. */
static void log_handshake_failed(struct client *cl, const char *reason)
{
    zt_err e = zt_conn_error(cl->tls);

    cl->logged = 1;
    if (!reason)
        reason = zt_err_str(e);
    logf_("%s handshake failed reason=%s alert_sent=%s alert_received=%s "
          "psk=%s early=%s bytes_in=%llu",
          cl->peer, nz(reason), nz(zt_alert_str(zt_conn_alert_sent(cl->tls))),
          nz(zt_alert_str(zt_conn_alert_received(cl->tls))),
          zt_psk_result_str(zt_conn_psk_result(cl->tls)),
          zt_early_result_str(zt_conn_early_result(cl->tls)),
          (unsigned long long)cl->bytes_in);
}

/* ---- HTTP --------------------------------------------------------------- */

/* Case-insensitive search for header `name` in the request head; copies its
 * value (trimmed) to out. Returns 1 if found. */
static int header_value(const char *head, size_t len, const char *name,
                        char *out, size_t out_len)
{
    size_t nlen = strlen(name), i = 0;

    /* skip the request line */
    while (i < len && head[i] != '\n')
        i++;
    while (++i < len) {
        const char *line = head + i;
        size_t rest = len - i, ll = 0;

        while (ll < rest && line[ll] != '\n')
            ll++;
        if (ll > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1;
            size_t vl = ll - nlen - 1;

            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            if (vl >= out_len)
                vl = out_len - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 1;
        }
        i += ll;
    }
    return 0;
}

static int contains_token(const char *list, const char *tok)
{
    size_t tl = strlen(tok);
    const char *p = list;

    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncasecmp(p, tok, tl) == 0 &&
            (p[tl] == '\0' || p[tl] == ',' || p[tl] == ' '))
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

/* Copy s into out with HTML escaping (the SNI and path come from the peer). */
static void html_escape(const char *s, char *out, size_t len)
{
    size_t o = 0;

    for (; s && *s && o + 7 < len; s++) {
        const char *rep = NULL;

        switch (*s) {
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '&':
            rep = "&amp;";
            break;
        case '"':
            rep = "&quot;";
            break;
        default:
            break;
        }
        if (rep) {
            size_t rl = strlen(rep);

            memcpy(out + o, rep, rl);
            o += rl;
        } else if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f) {
            out[o++] = *s;
        } else {
            out[o++] = '?';
        }
    }
    out[o] = '\0';
}

/* Build the response to the request head req[0..head_len) into cl->resp. */
static void build_response(struct client *cl, size_t head_len)
{
    zt_conn *c = cl->tls;
    char method[16] = "", path[256] = "", version[16] = "", conn_hdr[128];
    char e_path[512], e_sni[600], b1[8], b2[8], b3[8];
    char body[2048];
    const char *status = "200 OK";
    int keep_alive, is_head, blen, hlen;
    char *line_end = memchr(cl->req, '\n', head_len);
    size_t line_len = line_end ? (size_t)(line_end - cl->req) : head_len;
    char line[512];

    if (line_len >= sizeof line)
        line_len = sizeof line - 1;
    memcpy(line, cl->req, line_len);
    line[line_len] = '\0';
    if (sscanf(line, "%15s %255s %15s", method, path, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0) {
        status = "400 Bad Request";
        cl->close_after = 1;
    }
    keep_alive = strcmp(version, "HTTP/1.1") == 0;
    if (header_value(cl->req, head_len, "Connection", conn_hdr,
                     sizeof conn_hdr)) {
        if (contains_token(conn_hdr, "close"))
            keep_alive = 0;
        else if (contains_token(conn_hdr, "keep-alive"))
            keep_alive = 1;
    }
    if (!keep_alive)
        cl->close_after = 1;
    {
        char cl_hdr[32], te[64];

        if (header_value(cl->req, head_len, "Transfer-Encoding", te,
                         sizeof te)) {
            /* chunked bodies are not parsed here: answer, then close */
            cl->close_after = 1;
        } else if (header_value(cl->req, head_len, "Content-Length", cl_hdr,
                                sizeof cl_hdr)) {
            char *end;
            unsigned long long v = strtoull(cl_hdr, &end, 10);

            if (*end != '\0' || v > (unsigned long long)SIZE_MAX / 2) {
                status = "400 Bad Request";
                cl->close_after = 1;
            } else {
                cl->discard = (size_t)v;
            }
        }
    }
    is_head = strcmp(method, "HEAD") == 0;
    cl->requests++;

    if (status[0] == '2' && strncmp(path, "/bytes/", 7) == 0) {
        char *end;
        unsigned long long n = strtoull(path + 7, &end, 10);

        if (end != path + 7 && *end == '\0' && n <= MAX_BYTES_BODY) {
            hlen = snprintf(cl->resp, RESP_BUF_SIZE,
                            "HTTP/1.1 200 OK\r\nServer: zigtls-server\r\n"
                            "Content-Type: application/octet-stream\r\n"
                            "Content-Length: %llu\r\nConnection: %s\r\n\r\n",
                            n, cl->close_after ? "close" : "keep-alive");
            cl->resp_len = hlen > 0 ? (size_t)hlen : 0;
            cl->resp_off = 0;
            cl->stream_left = is_head ? 0 : n;
            cl->stream_off = 0;
            return;
        }
    }

    html_escape(path, e_path, sizeof e_path);
    html_escape(zt_conn_sni(c), e_sni, sizeof e_sni);
    blen = snprintf(
        body, sizeof body,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<title>zigtls</title></head>\n<body>\n<h1>Hello from zigtls</h1>\n"
        "<p>This page was served over TLS 1.3 by zigtls-server, the "
        "standalone example of the zigtls core.</p>\n<pre>\n"
        "protocol: %s\ncipher: %s\ngroup: %s\nsigalg: %s\nalpn: %s\n"
        "sni: %s\nhrr: %s\nresumed: %s\nearly_data: %s\n"
        "request: %u on this connection\npath: %s\n"
        "</pre>\n</body></html>\n",
        zt_conn_version(c) == ZT_TLS13 ? "TLSv1.3" : "unknown",
        name_or_hex(zt_cipher_suite_name(zt_conn_cipher_suite(c)),
                    zt_conn_cipher_suite(c), b1, sizeof b1),
        name_or_hex(zt_group_name(zt_conn_group(c)), zt_conn_group(c), b2,
                    sizeof b2),
        name_or_hex(zt_sigalg_name(zt_conn_sigalg(c)), zt_conn_sigalg(c), b3,
                    sizeof b3),
        nz(zt_conn_alpn(c)), e_sni[0] ? e_sni : "-",
        zt_conn_hrr(c) ? "yes" : "no", zt_conn_resumed(c) ? "yes" : "no",
        cl->req_early ? "1" : "0", cl->requests, e_path);
    if (blen < 0 || (size_t)blen >= sizeof body)
        blen = (int)strlen(body);

    hlen = snprintf(cl->resp, RESP_BUF_SIZE,
                    "HTTP/1.1 %s\r\nServer: zigtls-server\r\n"
                    "Content-Type: text/html; charset=utf-8\r\n"
                    "Content-Length: %d\r\nConnection: %s\r\n\r\n",
                    status, blen, cl->close_after ? "close" : "keep-alive");
    if (hlen < 0 || (size_t)hlen >= RESP_BUF_SIZE) {
        cl->resp_len = 0;
        cl->close_after = 1;
        return;
    }
    cl->resp_len = (size_t)hlen;
    if (!is_head && cl->resp_len + (size_t)blen <= RESP_BUF_SIZE) {
        memcpy(cl->resp + cl->resp_len, body, (size_t)blen);
        cl->resp_len += (size_t)blen;
    }
    cl->resp_off = 0;
}

/* A canned error response when the request head does not fit. */
static void build_error(struct client *cl, const char *status)
{
    int n = snprintf(cl->resp, RESP_BUF_SIZE,
                     "HTTP/1.1 %s\r\nServer: zigtls-server\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n",
                     status);

    cl->resp_len = n > 0 ? (size_t)n : 0;
    cl->resp_off = 0;
    cl->close_after = 1;
}

/* Drop n bytes from the front of the request buffer. */
static void req_consume(struct client *cl, size_t n)
{
    memmove(cl->req, cl->req + n, cl->req_len - n);
    cl->req_len -= n;
    cl->req_early = cl->req_early > n ? cl->req_early - n : 0;
}

/* Look for complete request heads in cl->req and answer the first one. */
static void http_process(struct client *cl)
{
    size_t i;

    if (!cl->req || cl->resp_len || cl->close_after)
        return; /* one response in flight at a time (pipelining is serial) */
    if (cl->discard && cl->req_len) {
        size_t d = cl->discard < cl->req_len ? cl->discard : cl->req_len;

        req_consume(cl, d);
        cl->discard -= d;
    }
    if (cl->discard)
        return;
    /* tolerate empty lines before a request (RFC 9112 section 2.2) */
    while (cl->req_len && (cl->req[0] == '\r' || cl->req[0] == '\n')) {
        req_consume(cl, 1);
    }
    for (i = 0; i + 1 < cl->req_len; i++) {
        size_t head_len = 0;

        if (cl->req[i] == '\n' && cl->req[i + 1] == '\n')
            head_len = i + 2;
        else if (i + 3 < cl->req_len && memcmp(cl->req + i, "\r\n\r\n", 4) == 0)
            head_len = i + 4;
        if (head_len) {
            build_response(cl, head_len);
            req_consume(cl, head_len);
            return;
        }
    }
    if (cl->req_len == REQ_BUF_SIZE)
        build_error(cl, "431 Request Header Fields Too Large");
}

/* ---- connections -------------------------------------------------------- */

static int io_buffers_get(struct client *cl)
{
    if (!cl->req) {
        cl->req = malloc(REQ_BUF_SIZE + RESP_BUF_SIZE);
        if (!cl->req)
            return -1;
        cl->resp = cl->req + REQ_BUF_SIZE;
    }
    return 0;
}

static void io_buffers_put(struct client *cl)
{
    free(cl->req);
    cl->req = cl->resp = NULL;
}

static void client_free(struct server *srv, size_t idx)
{
    struct client *cl = srv->clients[idx];

    if (cl->fd >= 0)
        close(cl->fd);
    zt_conn_free(cl->tls);
    io_buffers_put(cl);
    free(cl);
    srv->clients[idx] = srv->clients[srv->n_clients - 1];
    srv->clients[srv->n_clients - 1] = NULL;
    srv->n_clients--;
}

/* Our last byte is out: shut the write side and drain the peer for a moment
 * so that unread input does not turn close() into a RST that could destroy
 * the response or the alert in flight. */
static void start_linger(struct client *cl)
{
    shutdown(cl->fd, SHUT_WR);
    cl->phase = PH_LINGER;
    cl->deadline = now_ms() + LINGER_MS;
    if (cl->rd_eof)
        cl->dead = 1;
}

static void linger_step(struct client *cl)
{
    char sink[4096];
    int i;

    for (i = 0; i < 16; i++) {
        ssize_t n = recv(cl->fd, sink, sizeof sink, 0);

        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            cl->dead = 1;
        return;
    }
}

/* Send what the core has queued. Returns -1 on a transport error. */
static int flush_output(struct client *cl, int *progress)
{
    cl->tx_blocked = 0;
    while (zt_conn_state(cl->tls) & ZT_ST_HAS_OUTPUT) {
        size_t len = 0;
        const uint8_t *buf = zt_send_buf(cl->tls, &len);
        ssize_t n;

        if (!buf || len == 0)
            break;
        n = send(cl->fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            zt_send_done(cl->tls, (size_t)n);
            *progress = 1;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            cl->tx_blocked = 1;
            return 0;
        }
        return -1;
    }
    return 0;
}

/* Read TLS records from the socket into the core. Returns -1 on a transport
 * error (other than EOF, which is reported to the core). */
static int pull_input(struct client *cl, int *progress)
{
    size_t len = 0;
    uint8_t *buf;
    ssize_t n;

    if (cl->rd_eof)
        return 0;
    buf = zt_recv_buf(cl->tls, &len);
    if (!buf || len == 0) {
        cl->rx_blocked = 1;
        return 0;
    }
    cl->rx_blocked = 0;
    n = recv(cl->fd, buf, len, 0);
    if (n > 0) {
        zt_err e = zt_recv_done(cl->tls, (size_t)n);

        (void)e; /* the sticky error is read back through zt_conn_state */
        cl->bytes_in += (uint64_t)n;
        *progress = 1;
        return 0;
    }
    if (n == 0) {
        cl->rd_eof = 1;
        (void)zt_eof(cl->tls);
        *progress = 1;
        return 0;
    }
    if (errno == EINTR) {
        *progress = 1;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
    return -1;
}

/* Decrypted plaintext into the request buffer. */
static void pull_plaintext(struct client *cl, int *progress)
{
    if ((zt_conn_state(cl->tls) & ZT_ST_APP_READABLE) &&
        io_buffers_get(cl) < 0) {
        logf_("%s out of memory", cl->peer);
        cl->dead = 1;
        return;
    }
    while (zt_conn_state(cl->tls) & ZT_ST_APP_READABLE) {
        size_t len = 0, room, take;
        const uint8_t *p = zt_app_data(cl->tls, &len);

        if (!p || len == 0)
            break;
        if (cl->discard && cl->req_len == 0) {
            take = cl->discard < len ? cl->discard : len;
            cl->discard -= take;
            zt_app_data_done(cl->tls, take);
            *progress = 1;
            continue;
        }
        room = REQ_BUF_SIZE - cl->req_len;
        if (room == 0) {
            http_process(cl);
            if (REQ_BUF_SIZE - cl->req_len == 0)
                break;
            continue;
        }
        take = len < room ? len : room;
        memcpy(cl->req + cl->req_len, p, take);
        cl->req_len += take;
        if (zt_app_data_early(cl->tls)) /* 0-RTT: replayable (RFC 8470) */
            cl->req_early = cl->req_len;
        zt_app_data_done(cl->tls, take);
        *progress = 1;
        http_process(cl);
    }
    http_process(cl);
}

/* Plaintext of the pending response into the core. */
static void push_response(struct client *cl, int *progress)
{
    while (cl->resp_off < cl->resp_len &&
           (zt_conn_state(cl->tls) & ZT_ST_APP_WRITABLE)) {
        size_t acc = 0;
        zt_err e = zt_write(cl->tls, (const uint8_t *)cl->resp + cl->resp_off,
                            cl->resp_len - cl->resp_off, &acc);

        if (e != ZT_OK || acc == 0)
            return;
        cl->resp_off += acc;
        *progress = 1;
    }
    /* then the /bytes/N body, one record at a time while the core takes it
     * (it refuses when its send pipe is full: backpressure) */
    while (cl->resp_off == cl->resp_len && cl->stream_left &&
           (zt_conn_state(cl->tls) & ZT_ST_APP_WRITABLE)) {
        size_t acc = 0, chunk = ZT_MAX_PLAINTEXT;
        zt_err e;

        if (chunk > cl->stream_left)
            chunk = (size_t)cl->stream_left;
        e = zt_write(cl->tls, (const uint8_t *)g_pattern + cl->stream_off % 64,
                     chunk, &acc);
        if (e != ZT_OK || acc == 0)
            return;
        cl->stream_left -= acc;
        cl->stream_off += acc;
        *progress = 1;
    }
    if (cl->resp_len && cl->resp_off == cl->resp_len && !cl->stream_left) {
        cl->resp_len = cl->resp_off = 0;
        *progress = 1;
    }
}

/* Drive one connection as far as it goes without blocking. */
static void client_step(struct server *srv, struct client *cl)
{
    int round;

    if (cl->phase == PH_LINGER) {
        linger_step(cl);
        return;
    }
    for (round = 0; round < STEP_ROUNDS; round++) {
        int progress = 0;
        unsigned st;

        if (pull_input(cl, &progress) < 0) {
            if (!cl->logged)
                log_handshake_failed(cl, "transport_error");
            cl->dead = 1;
            return;
        }
        st = zt_conn_state(cl->tls);
        if ((st & ZT_ST_HANDSHAKE_DONE) && !cl->logged) {
            log_handshake_ok(srv, cl);
            cl->deadline = now_ms() + srv->idle_timeout_ms;
        }
        if (st & ZT_ST_FAILED) {
            zt_err e = zt_conn_error(cl->tls);

            if (cl->end_logged) {
                /* an earlier round logged it; only the flush is left */
            } else if (!cl->logged) {
                if (e == ZT_E_TRUNCATED && cl->bytes_in == 0)
                    log_handshake_failed(cl, "closed_before_client_hello");
                else
                    log_handshake_failed(cl, NULL);
            } else if (e != ZT_E_CLOSED && !srv->quiet) {
                /* after the handshake: truncation (EOF without
                 * close_notify) is common and harmless for HTTP with
                 * Content-Length, but it is not a clean close: say so */
                logf_("%s connection %s reason=%s alert_sent=%s "
                      "alert_received=%s requests=%u",
                      cl->peer, e == ZT_E_TRUNCATED ? "truncated" : "failed",
                      nz(zt_err_str(e)),
                      nz(zt_alert_str(zt_conn_alert_sent(cl->tls))),
                      nz(zt_alert_str(zt_conn_alert_received(cl->tls))),
                      cl->requests);
            }
            cl->end_logged = 1;
            /* send the alert if there is one, then close */
            if (flush_output(cl, &progress) < 0 || cl->rd_eof ||
                !(zt_conn_state(cl->tls) & ZT_ST_HAS_OUTPUT)) {
                if (cl->rd_eof)
                    cl->dead = 1;
                else
                    start_linger(cl);
            }
            return;
        }
        /* requests in accepted 0-RTT are answered at 0.5-RTT, marked */
        if (st & (ZT_ST_HANDSHAKE_DONE | ZT_ST_EARLY_DATA)) {
            pull_plaintext(cl, &progress);
            push_response(cl, &progress);
            st = zt_conn_state(cl->tls);
            /* The peer's close_notify ends its side only (RFC 8446 section
             * 6.1), even when TCP EOF follows it: finish the response in
             * flight, then send ours. (EOF without close_notify is
             * truncation and took the failure path above.) */
            if ((st & ZT_ST_PEER_CLOSED) || cl->rd_eof)
                cl->close_after = 1;
            /* not before the client Finished of a 0-RTT handshake */
            if (!cl->closing && cl->close_after && cl->resp_len == 0 &&
                !(st & ZT_ST_EARLY_DATA)) {
                (void)zt_close(cl->tls);
                cl->closing = 1;
                progress = 1;
            }
        }
        if (flush_output(cl, &progress) < 0) {
            if (!cl->logged)
                log_handshake_failed(cl, "transport_error");
            cl->dead = 1;
            return;
        }
        if (progress && (zt_conn_state(cl->tls) & ZT_ST_HANDSHAKE_DONE))
            cl->deadline = now_ms() + srv->idle_timeout_ms;
        if (cl->closing && !(zt_conn_state(cl->tls) & ZT_ST_HAS_OUTPUT)) {
            start_linger(cl);
            return;
        }
        if (!progress)
            break;
    }
    /* Idle keep-alive connection: give the record buffers back. */
    if ((zt_conn_state(cl->tls) & ZT_ST_HANDSHAKE_DONE) && !cl->closing &&
        cl->req_len == 0 && cl->resp_len == 0 && !cl->stream_left &&
        !cl->discard &&
        !(zt_conn_state(cl->tls) & (ZT_ST_HAS_OUTPUT | ZT_ST_APP_READABLE))) {
        (void)zt_conn_release_buffers(cl->tls);
        io_buffers_put(cl);
    }
}

static void client_timeout(struct server *srv, struct client *cl)
{
    if (cl->phase == PH_LINGER) {
        cl->dead = 1;
        return;
    }
    if (!cl->logged) {
        log_handshake_failed(cl, "handshake_timeout");
        cl->dead = 1;
        return;
    }
    /* idle keep-alive: say goodbye properly */
    if (!srv->quiet)
        logf_("%s idle timeout after %u request(s)", cl->peer, cl->requests);
    if (!cl->closing) {
        (void)zt_close(cl->tls);
        cl->closing = 1;
    }
    {
        int progress = 0;

        if (flush_output(cl, &progress) < 0 ||
            !(zt_conn_state(cl->tls) & ZT_ST_HAS_OUTPUT))
            start_linger(cl);
        else
            cl->deadline = now_ms() + LINGER_MS; /* stuck sender: bounded */
    }
    if (cl->phase != PH_LINGER && now_ms() >= cl->deadline)
        cl->dead = 1;
}

static void accept_clients(struct server *srv)
{
    int i;

    for (i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char peer[64];
        struct client *cl;
        int fd = accept(srv->lfd, (struct sockaddr *)&ss, &sl), one = 1;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* EMFILE, ENFILE, ENOBUFS...: the listener stays readable,
                 * so pause accepting for a moment instead of spinning */
                logf_("accept: %s (pausing accept for %d ms)", strerror(errno),
                      ACCEPT_PAUSE_MS);
                srv->accept_paused_until = now_ms() + ACCEPT_PAUSE_MS;
            }
            return;
        }
        format_peer(&ss, peer, sizeof peer);
        if (srv->n_clients >= srv->max_clients) {
            logf_("%s refused: %zu clients already", peer, srv->n_clients);
            close(fd);
            continue;
        }
        if (set_nonblock(fd) < 0) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        cl = calloc(1, sizeof *cl);
        if (cl)
            cl->tls = zt_conn_new(srv->cfg);
        if (!cl || !cl->tls) {
            logf_("%s refused: out of memory", peer);
            free(cl);
            close(fd);
            continue;
        }
        cl->fd = fd;
        memcpy(cl->peer, peer, sizeof cl->peer);
        cl->phase = PH_TLS;
        cl->deadline = now_ms() + srv->handshake_timeout_ms;
        zt_conn_set_user(cl->tls, cl);
        srv->clients[srv->n_clients++] = cl;
        /* the ClientHello is often already there */
        client_step(srv, cl);
    }
}

/* ---- main loop ---------------------------------------------------------- */

/* SIGUSR1: one line of memory facts. Idle keep-alive connections should
 * cost little: the core gives its record buffers back, and so does this
 * server (request/response buffers). */
static void log_stats(const struct server *srv)
{
    size_t i, idle = 0, core = 0, app = 0;

    for (i = 0; i < srv->n_clients; i++) {
        const struct client *cl = srv->clients[i];
        size_t bufs = zt_conn_buffer_bytes(cl->tls);

        core += zt_conn_size() + bufs;
        app += sizeof *cl + (cl->req ? REQ_BUF_SIZE + RESP_BUF_SIZE : 0);
        /* idle: no record buffers (16 KiB and more each) and no request
         * buffer; what is left is small state such as the SNI string */
        if (bufs < IDLE_CORE_BYTES && !cl->req)
            idle++;
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    {
        struct mallinfo2 mi = mallinfo2();

        logf_("stats connections=%zu idle=%zu core_bytes=%zu app_bytes=%zu "
              "heap_in_use=%zu",
              srv->n_clients, idle, core, app, mi.uordblks);
    }
#else
    logf_("stats connections=%zu idle=%zu core_bytes=%zu app_bytes=%zu",
          srv->n_clients, idle, core, app);
#endif
}

static int run(struct server *srv)
{
    struct pollfd *pfds;
    size_t i;

    pfds = calloc(srv->max_clients + 2, sizeof *pfds);
    if (!pfds)
        return -1;
    while (!g_stop) {
        if (g_stats) {
            g_stats = 0;
            log_stats(srv);
        }
        uint64_t now = now_ms(), next = now + 1000;
        size_t np = 0;
        int timeout, rc;

        pfds[np].fd = g_sigpipe[0];
        pfds[np++].events = POLLIN;
        pfds[np].fd = srv->lfd;
        pfds[np].revents = 0;
        if (now < srv->accept_paused_until) {
            pfds[np++].events = 0;
            if (srv->accept_paused_until < next)
                next = srv->accept_paused_until;
        } else {
            pfds[np++].events = POLLIN;
        }
        for (i = 0; i < srv->n_clients; i++) {
            struct client *cl = srv->clients[i];
            short ev = 0;

            if (cl->phase == PH_LINGER)
                ev = POLLIN;
            else {
                if (!cl->rd_eof && !cl->rx_blocked)
                    ev |= POLLIN;
                /* POLLOUT also when the step stopped at its round limit
                 * with a response still being written */
                if (cl->tx_blocked || cl->resp_len || cl->stream_left)
                    ev |= POLLOUT;
            }
            pfds[np].fd = cl->fd;
            pfds[np].events = ev;
            pfds[np].revents = 0;
            np++;
            if (cl->deadline < next)
                next = cl->deadline;
        }
        timeout = next > now ? (int)(next - now) : 0;
        rc = poll(pfds, np, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            logf_("poll: %s", strerror(errno));
            free(pfds);
            return -1;
        }
        if (pfds[0].revents & POLLIN) {
            char drain[16];

            while (read(g_sigpipe[0], drain, sizeof drain) > 0) {
            }
        }
        now = now_ms();
        /* Clients first (their slots match pfds[2..]), then new ones. */
        for (i = 0; i < srv->n_clients; i++) {
            struct client *cl = srv->clients[i];
            short rev = pfds[i + 2].revents;

            if (rev & (POLLIN | POLLOUT | POLLERR | POLLHUP)) {
                if (rev & (POLLERR | POLLHUP))
                    cl->rx_blocked = 0;
                client_step(srv, cl);
            } else if (cl->rx_blocked && !cl->tx_blocked) {
                /* the core had no room: see whether it has now */
                client_step(srv, cl);
            }
            if (!cl->dead && now >= cl->deadline)
                client_timeout(srv, cl);
        }
        for (i = srv->n_clients; i-- > 0;) {
            if (srv->clients[i]->dead)
                client_free(srv, i);
        }
        if (pfds[1].revents & POLLIN)
            accept_clients(srv);
        for (i = srv->n_clients; i-- > 0;) {
            if (srv->clients[i]->dead)
                client_free(srv, i);
        }
    }
    free(pfds);
    return 0;
}

/* On SIGTERM/SIGINT: close_notify to every established connection, a short
 * best-effort flush, then close everything. */
static void shutdown_all(struct server *srv)
{
    size_t i;

    for (i = 0; i < srv->n_clients; i++) {
        struct client *cl = srv->clients[i];
        int progress = 0;

        if (cl->phase == PH_TLS &&
            (zt_conn_state(cl->tls) & ZT_ST_HANDSHAKE_DONE) &&
            !(zt_conn_state(cl->tls) & ZT_ST_FAILED) && !cl->closing) {
            (void)zt_close(cl->tls);
            cl->closing = 1;
        }
        if (cl->phase == PH_TLS)
            (void)flush_output(cl, &progress);
    }
    while (srv->n_clients)
        client_free(srv, srv->n_clients - 1);
}

/* ---- configuration ------------------------------------------------------ */

static int add_alpn(zt_config *cfg, const char *list)
{
    char buf[1024], *save = NULL, *tok;
    const char *protos[ZT_MAX_ALPN_PROTOS];
    size_t n = 0;

    if (strlen(list) >= sizeof buf)
        return -1;
    strcpy(buf, list);
    for (tok = strtok_r(buf, ",:", &save); tok;
         tok = strtok_r(NULL, ",:", &save)) {
        if (n == ZT_MAX_ALPN_PROTOS)
            return -1;
        protos[n++] = tok;
    }
    if (n == 0)
        return -1;
    return zt_config_set_alpn(cfg, protos, n) == ZT_OK ? 0 : -1;
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        fprintf(stderr, "zigtls-server: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0) {
        fprintf(stderr, "zigtls-server: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Room for max_clients sockets plus a few: raise the soft descriptor limit
 * towards the hard one if needed (it is often 1024 by default). */
static void raise_fd_limit(size_t max_clients)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_clients + 32;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        fprintf(stderr,
                "zigtls-server: only %llu file descriptors for %zu clients\n",
                (unsigned long long)rl.rlim_cur, max_clients);
}

static int parse_ms(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > 86400000ULL)
        return -1;
    *out = v;
    return 0;
}

/* A ticket key file: exactly 48 or 80 bytes, as `openssl rand 80` writes. */
static int read_ticket_key(const char *path, uint8_t *key, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f) {
        fprintf(stderr, "zigtls-server: %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fread(key, 1, ZT_TICKET_KEY_LONG + 1, f);
    fclose(f);
    if (n != ZT_TICKET_KEY_SHORT && n != ZT_TICKET_KEY_LONG) {
        fprintf(stderr, "zigtls-server: %s: %zu bytes, want 48 or 80\n",
                path, n);
        return -1;
    }
    *len = n;
    return 0;
}

/* Session tickets (keys from files, or one made now) and 0-RTT with a
 * replay table of 16384 ClientHellos in this process. */
static int setup_tickets(struct server *srv, const char *const *files,
                         size_t n, unsigned long lifetime, unsigned long early)
{
    uint8_t key[ZT_TICKET_KEY_LONG + 1];
    size_t i, len = ZT_TICKET_KEY_LONG, bytes;
    int rc = 0;

    srv->ring = zt_ticket_keys_new();
    if (!srv->ring)
        return -1;
    for (i = 0; i < n && rc == 0; i++) {
        rc = read_ticket_key(files[i], key, &len);
        if (rc == 0 && zt_ticket_keys_add(srv->ring, key, len) != ZT_OK) {
            fprintf(stderr, "zigtls-server: %s: a key with this id is "
                            "already loaded\n", files[i]);
            rc = -1;
        }
    }
    if (n == 0 && (zt_ticket_key_generate(key) != 0 ||
                   zt_ticket_keys_add(srv->ring, key, len) != ZT_OK))
        rc = -1;
    memset(key, 0, sizeof key);
    if (rc < 0)
        return -1;
    zt_config_set_ticket_keys(srv->cfg, srv->ring);
    zt_config_set_wall_clock(srv->cfg, wall_cb, NULL);
    if (lifetime &&
        zt_config_set_ticket_lifetime(srv->cfg, (uint32_t)lifetime) != ZT_OK)
        return -1;
    if (early) {
        /* the replay table is this process's: 0-RTT of tickets another
         * process issued is refused (they resume in 1-RTT) */
        if (zt_ticket_key_generate(key) != 0 ||
            zt_config_set_node_id(srv->cfg, key, 16) != ZT_OK)
            return -1;
        memset(key, 0, sizeof key);
        bytes = zt_replay_table_bytes(16384);
        srv->replay = malloc(bytes);
        if (!srv->replay ||
            zt_replay_table_init(srv->replay, bytes, wall_cb(NULL)) == 0 ||
            zt_config_set_max_early_data(srv->cfg, (uint32_t)early) != ZT_OK)
            return -1;
        zt_config_set_replay_filter(srv->cfg, zt_replay_table_check,
                                    srv->replay);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct server srv;
    const char *listen_arg = NULL, *ciphers = NULL, *groups = NULL;
    const char *alpn = NULL, *pidfile = NULL;
    char why[128];
    uint64_t key_update_limit = 0;
    const char *certs[ZT_MAX_CREDENTIALS], *keys[ZT_MAX_CREDENTIALS];
    const char *tkeys[ZT_TICKET_KEYS_MAX];
    size_t n_tkeys = 0;
    int tickets = 0;
    unsigned long lifetime = 0, early = 0;
    size_t n_certs = 0, n_keys = 0, i;
    struct sigaction sa;
    int rc = 1, a, pid_written = 0;

    memset(&srv, 0, sizeof srv);
    srv.lfd = -1;
    for (i = 0; i < sizeof g_pattern; i++)
        g_pattern[i] = k_line[i % 64];
    srv.max_clients = MAX_CLIENTS_DEFAULT;
    srv.handshake_timeout_ms = 10000;
    srv.idle_timeout_ms = 60000;

    for (a = 1; a < argc; a++) {
        const char *opt = argv[a];
        const char *val = a + 1 < argc ? argv[a + 1] : NULL;

        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(opt, "--quiet") == 0) {
            srv.quiet = 1;
            continue;
        }
        if (strcmp(opt, "--tickets") == 0) {
            tickets = 1;
            continue;
        }
        if (!val) {
            fprintf(stderr, "zigtls-server: %s needs a value\n", opt);
            usage(stderr);
            return 2;
        }
        a++;
        if (strcmp(opt, "--listen") == 0) {
            listen_arg = val;
        } else if (strcmp(opt, "--cert") == 0) {
            if (n_certs == ZT_MAX_CREDENTIALS) {
                fprintf(stderr, "zigtls-server: at most %d certificates\n",
                        ZT_MAX_CREDENTIALS);
                return 2;
            }
            certs[n_certs++] = val;
        } else if (strcmp(opt, "--key") == 0) {
            if (n_keys == ZT_MAX_CREDENTIALS) {
                fprintf(stderr, "zigtls-server: at most %d keys\n",
                        ZT_MAX_CREDENTIALS);
                return 2;
            }
            keys[n_keys++] = val;
        } else if (strcmp(opt, "--ciphers") == 0) {
            ciphers = val;
        } else if (strcmp(opt, "--groups") == 0) {
            groups = val;
        } else if (strcmp(opt, "--alpn") == 0) {
            alpn = val;
        } else if (strcmp(opt, "--pidfile") == 0) {
            pidfile = val;
        } else if (strcmp(opt, "--handshake-timeout") == 0) {
            if (parse_ms(val, &srv.handshake_timeout_ms) < 0) {
                fprintf(stderr, "zigtls-server: bad %s '%s'\n", opt, val);
                return 2;
            }
        } else if (strcmp(opt, "--idle-timeout") == 0) {
            if (parse_ms(val, &srv.idle_timeout_ms) < 0) {
                fprintf(stderr, "zigtls-server: bad %s '%s'\n", opt, val);
                return 2;
            }
        } else if (strcmp(opt, "--key-update-limit") == 0) {
            char *end;
            unsigned long long v = strtoull(val, &end, 10);

            if (*end || end == val || v == 0) {
                fprintf(stderr, "zigtls-server: bad %s '%s'\n", opt, val);
                return 2;
            }
            key_update_limit = v;
        } else if (strcmp(opt, "--ticket-key") == 0) {
            if (n_tkeys == ZT_TICKET_KEYS_MAX) {
                fprintf(stderr, "zigtls-server: at most %d ticket keys\n",
                        ZT_TICKET_KEYS_MAX);
                return 2;
            }
            tkeys[n_tkeys++] = val;
            tickets = 1;
        } else if (strcmp(opt, "--ticket-lifetime") == 0 ||
                   strcmp(opt, "--early-data") == 0) {
            char *end;
            unsigned long v = strtoul(val, &end, 10);

            if (*end || end == val || v > (1ul << 24) ||
                (opt[2] == 't' && (v == 0 || v > ZT_MAX_TICKET_LIFETIME))) {
                fprintf(stderr, "zigtls-server: bad %s '%s'\n", opt, val);
                return 2;
            }
            if (opt[2] == 't')
                lifetime = v;
            else
                early = v;
        } else if (strcmp(opt, "--max-clients") == 0) {
            char *end;
            unsigned long v = strtoul(val, &end, 10);

            if (*end || v == 0 || v > MAX_CLIENTS_LIMIT) {
                fprintf(stderr, "zigtls-server: bad %s '%s'\n", opt, val);
                return 2;
            }
            srv.max_clients = v;
        } else {
            fprintf(stderr, "zigtls-server: unknown option %s\n", opt);
            usage(stderr);
            return 2;
        }
    }
    if (!listen_arg || n_certs == 0 || n_certs != n_keys) {
        fprintf(stderr, "zigtls-server: need --listen and as many --key as "
                        "--cert (at least one)\n");
        usage(stderr);
        return 2;
    }

    /* The configuration: the default random source is the system one. */
    srv.cfg = zt_config_new();
    if (!srv.cfg) {
        fprintf(stderr, "zigtls-server: out of memory\n");
        return 1;
    }
    zt_config_set_clock(srv.cfg, clock_cb, NULL);
    if (key_update_limit)
        zt_config_set_key_update_limit(srv.cfg, key_update_limit);
    for (i = 0; i < n_certs; i++) {
        char err[256] = "";

        if (zt_config_add_credential_file(srv.cfg, certs[i], keys[i], err,
                                          sizeof err) != ZT_OK) {
            fprintf(stderr, "zigtls-server: %s / %s: %s\n", certs[i], keys[i],
                    err[0] ? err : "cannot load");
            goto out;
        }
    }
    if (ciphers && zt_config_set_cipher_suites_str(srv.cfg, ciphers, why,
                                                   sizeof(why)) != ZT_OK) {
        fprintf(stderr, "zigtls-server: --ciphers: %s\n", why);
        goto out;
    }
    if (groups &&
        zt_config_set_groups_str(srv.cfg, groups, why, sizeof(why)) != ZT_OK) {
        fprintf(stderr, "zigtls-server: --groups: %s\n", why);
        goto out;
    }
    if (alpn && add_alpn(srv.cfg, alpn) < 0) {
        fprintf(stderr, "zigtls-server: --alpn: bad list '%s'\n", alpn);
        goto out;
    }
    if ((early || lifetime) && !tickets) {
        fprintf(stderr, "zigtls-server: --early-data and --ticket-lifetime "
                        "need --tickets or --ticket-key\n");
        goto out;
    }
    if (tickets && setup_tickets(&srv, tkeys, n_tkeys, lifetime, early) < 0)
        goto out;

    raise_fd_limit(srv.max_clients);
    srv.clients = calloc(srv.max_clients, sizeof *srv.clients);
    if (!srv.clients) {
        fprintf(stderr, "zigtls-server: out of memory\n");
        goto out;
    }
    if (pipe(g_sigpipe) < 0 || set_nonblock(g_sigpipe[0]) < 0 ||
        set_nonblock(g_sigpipe[1]) < 0) {
        fprintf(stderr, "zigtls-server: pipe: %s\n", strerror(errno));
        goto out;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    srv.lfd = open_listener(listen_arg);
    if (srv.lfd < 0)
        goto out;
    if (pidfile) {
        if (write_pidfile(pidfile) < 0)
            goto out;
        pid_written = 1;
    }
    {
        char types[128] = "";
        size_t n = 0;

        for (i = 0; i < zt_config_credential_count(srv.cfg); i++)
            n += (size_t)snprintf(
                types + n, n < sizeof types ? sizeof types - n : 0, "%s%s",
                i ? "," : "", nz(zt_config_credential_type(srv.cfg, i)));
        logf_("listening on %s (credentials %s, conn %zu bytes, max %zu "
              "clients)",
              listen_arg, types, zt_conn_size(), srv.max_clients);
    }
    rc = run(&srv) == 0 ? 0 : 1;
    logf_("shutting down (%zu open connections)", srv.n_clients);
    shutdown_all(&srv);

out:
    if (srv.lfd >= 0)
        close(srv.lfd);
    if (pid_written)
        unlink(pidfile);
    free(srv.clients);
    zt_config_free(srv.cfg);
    zt_ticket_keys_free(srv.ring);
    free(srv.replay);
    if (g_sigpipe[0] >= 0)
        close(g_sigpipe[0]);
    if (g_sigpipe[1] >= 0)
        close(g_sigpipe[1]);
    return rc;
}
