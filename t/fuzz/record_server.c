/*
 * record_server.c: records a real client's bytes as a fuzz_server seed.
 *
 * Not part of the build (make only compiles t/fuzz/fuzz_*.c). It serves ONE
 * connection on 127.0.0.1:PORT with exactly the configuration, random source
 * and clock fuzz_server.c uses (it includes that file), echoes application
 * data, and writes [sel, 0, 0x12, 0x34] + every byte the client sent to OUT.
 * Replayed by fuzz_server, the handshake completes again (same server random
 * and key share), so the fuzzer starts from CONNECTED, KeyUpdate and
 * close_notify inputs it could never forge.
 *
 *   cc -Isrc -D_GNU_SOURCE -O1 -g -o build/record_server t/fuzz/record_server.c \
 *      build/libzigtls.a -lsodium -lcrypto
 *   build/record_server PORT SEL OUT &
 *   printf 'hello\nk\nK\nQ\n' | openssl s_client -connect 127.0.0.1:PORT
 *
 * A resumption with 0-RTT: record a first session with
 * `-sess_out sess.pem`, then a second with `-sess_in sess.pem -early_data
 * FILE` (the ticket opens because the ring key and clock are fixed).
 *
 * With -DFZ_CLIENT_AUTH it serves fuzz_client_auth.c's configurations
 * instead (a client certificate is asked for; add -cert/-key).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef FZ_CLIENT_AUTH
#include "fuzz_client_auth.c" /* the same, asking for a certificate */
#else
#include "fuzz_server.c"
#endif

static void flush_out(zt_conn *c, int fd)
{
    const uint8_t *p;
    size_t n;
    ssize_t w;

    while ((p = zt_send_buf(c, &n)) != NULL) {
        w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        zt_send_done(c, (size_t)w);
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in a;
    uint8_t buf[65536], pre[4] = {0, 0, 0x12, 0x34};
    unsigned sel;
    int ls, fd, one = 1;
    FILE *out;
    zt_conn *c;
    size_t k, took;
    ssize_t n;
    struct pollfd pf;

    if (argc != 4)
        return 2;
    sel = (unsigned)atoi(argv[2]) & 0xff;
    pre[0] = (uint8_t)sel;
    out = fopen(argv[3], "wb");
    if (out == NULL || fwrite(pre, 1, 4, out) != 4)
        return 1;
    fz_cfg[sel % FZ_N_CONFIGS] = make_config(sel % FZ_N_CONFIGS);
    fz_rnd.ctr = 0;
    fz_time = 0;
    (void)zt_replay_table_init(fz_replay, sizeof(fz_replay), FZ_WALL - 1000);
    c = zt_conn_new(fz_cfg[sel % FZ_N_CONFIGS]);
    ls = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c == NULL || bind(ls, (struct sockaddr *)&a, sizeof(a)) ||
        listen(ls, 1))
        return 1;
    fd = accept(ls, NULL, NULL);
    if (fd < 0)
        return 1;
    pf.fd = fd;
    pf.events = POLLIN;
    for (;;) {
        if (poll(&pf, 1, 3000) <= 0) {
            (void)zt_close(c); /* idle: say goodbye */
            flush_out(c, fd);
            break;
        }
        n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        fwrite(buf, 1, (size_t)n, out);
        for (k = 0; k < (size_t)n; k += took) {
            if (zt_feed(c, buf + k, (size_t)n - k, &took) != ZT_OK)
                break;
            flush_out(c, fd);
            for (;;) {
                uint8_t tmp[4096];
                size_t got = zt_read(c, tmp, sizeof(tmp)), acc;
                if (got == 0 || zt_write(c, tmp, got, &acc) != ZT_OK)
                    break;
                flush_out(c, fd);
            }
            if (took == 0)
                break;
        }
        flush_out(c, fd);
        fprintf(stderr, "state %#x err %s client certificate %s\n",
                zt_conn_state(c), zt_err_str(zt_conn_error(c)),
                zt_verify_result_str(zt_conn_peer_verify(c)));
        if (zt_conn_error(c) != ZT_OK || (zt_conn_state(c) & ZT_ST_PEER_CLOSED))
            break;
    }
    fclose(out);
    close(fd);
    close(ls);
    zt_conn_free(c);
    return 0;
}
