/*
 * test_rfc8448.c: the server reproduces RFC 8448 sections 3 (1-RTT, with
 * its NewSessionTicket), 4 (resumption with 0-RTT), 5 (HelloRetryRequest),
 * 6 (client authentication) and 7 (compatibility mode) byte for byte.
 *
 * The trace's ticket is an opaque label made by the trace's server, so the
 * ticket codec here (zt_config_set_ticket_codec) hands it out for the
 * session state our server seals in section 3, and gives that state back
 * when section 4's client presents it: the PSK, binder, early data and
 * every key after come from our own state and key schedule.
 *
 * The trace's client records are fed in; the server's random, ephemeral key
 * and HRR cookie come from a scripted random source, and its RSA-PSS
 * CertificateVerify signature (randomized by nature) from an external
 * signer returning the trace's. Separately, a real signature made with the
 * trace's key is checked to verify under the trace's certificate. Section
 * 6 does not publish the server's ECDSA key: its credential is the trace's
 * certificate with the external signer only, and the trace's signature is
 * checked under that certificate over the content the engine built. Its
 * client's certificate (RSA-1024, self-signed) is the one trusted CA; the
 * client's CertificateVerify is verified by the engine.
 */
#include <stdlib.h>

#include "internal.h"
#include "test.h"

typedef struct {
    int step;
    char actor[8];
    char step_text[128];
    char label[64];
    uint8_t *data;
    size_t len;
} entry;

typedef struct {
    entry *e;
    size_t n;
} trace;

static void trace_free(trace *t)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        free(t->e[i].data);
    free(t->e);
}

static int trace_load(trace *t, const char *name)
{
    char path[512], *buf, *line, *save = NULL;
    char *f[6];
    int k;

    snprintf(path, sizeof(path), "%s/rfc8448/%s", zt_vectors_dir(), name);
    buf = zt_read_file(path, NULL);
    if (buf == NULL)
        return -1;
    t->e = calloc(1024, sizeof(entry));
    t->n = 0;
    for (line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *p = line;
        entry *e;
        if (line[0] == '#' || t->n == 1024)
            continue;
        for (k = 0; k < 6; k++) {
            f[k] = p;
            p = p ? strchr(p, '\t') : NULL;
            if (p)
                *p++ = '\0';
        }
        if (f[5] == NULL)
            f[5] = "";
        e = &t->e[t->n++];
        e->step = atoi(f[0]);
        snprintf(e->actor, sizeof(e->actor), "%s", f[1]);
        snprintf(e->step_text, sizeof(e->step_text), "%s", f[2]);
        snprintf(e->label, sizeof(e->label), "%s", f[3]);
        e->data = zt_unhex(f[5], &e->len);
    }
    free(buf);
    return 0;
}

/* The nth (0-based) entry whose step text contains `step` and label is
 * `label`, from `actor` (NULL: either). */
static const entry *find(const trace *t, const char *actor, const char *step,
                         const char *label, int nth)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        const entry *e = &t->e[i];
        if ((actor == NULL || strcmp(e->actor, actor) == 0) &&
            strstr(e->step_text, step) && strcmp(e->label, label) == 0 &&
            nth-- == 0)
            return e;
    }
    return NULL;
}

/* The entry of step number `step` with label `label`. */
static const entry *find_step(const trace *t, int step, const char *label)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (t->e[i].step == step && strcmp(t->e[i].label, label) == 0)
            return &t->e[i];
    return NULL;
}

/* ---- scripted random source -------------------------------------------- */

typedef struct {
    uint8_t buf[512];
    size_t len, off;
} script;

static void script_add(script *s, const uint8_t *p, size_t n)
{
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static int script_rnd(void *arg, uint8_t *out, size_t len)
{
    script *s = arg;

    if (s->len - s->off < len)
        return -1;
    memcpy(out, s->buf + s->off, len);
    s->off += len;
    return 0;
}

/* ---- injected signature -------------------------------------------------- */

typedef struct {
    const uint8_t *sig;
    size_t len;
    uint16_t scheme;
    uint8_t content[256];
    size_t content_len;
} signer_state;

static int trace_signer(void *arg, int cred_index, uint16_t scheme,
                        const uint8_t *msg, size_t msg_len, uint8_t *sig,
                        size_t *sig_len)
{
    signer_state *s = arg;

    if (scheme != s->scheme || *sig_len < s->len ||
        msg_len > sizeof(s->content))
        return -1;
    memcpy(s->content, msg, msg_len);
    s->content_len = msg_len;
    memcpy(sig, s->sig, s->len);
    *sig_len = s->len;
    return 0;
}

/* ---- the trace's RSA key as PEM (RFC 8448 section 2) ----------------------- */

static void der_len(zt_wr *w, size_t n)
{
    if (n < 128) {
        zt_wr_u8(w, (unsigned)n);
    } else if (n < 256) {
        zt_wr_u8(w, 0x81);
        zt_wr_u8(w, (unsigned)n);
    } else {
        zt_wr_u8(w, 0x82);
        zt_wr_u16(w, (unsigned)n);
    }
}

static void der_int(zt_wr *w, const uint8_t *p, size_t n)
{
    int pad = n > 0 && (p[0] & 0x80);

    zt_wr_u8(w, 0x02);
    der_len(w, n + (size_t)pad);
    if (pad)
        zt_wr_u8(w, 0);
    zt_wr_bytes(w, p, n);
}

static char *rsa_key_pem(const trace *keys)
{
    static const char *const names[] = {
        "modulus (public)", "public exponent", "private exponent", "prime1",
        "prime2", "exponent1", "exponent2", "coefficient"};
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t body[2048], der[2100];
    zt_wr w = zt_wr_make(body, sizeof(body)), d;
    size_t i, o = 0;
    char *pem;
    const uint8_t zero = 0;

    der_int(&w, &zero, 1); /* version */
    for (i = 0; i < 8; i++) {
        const entry *e = find(keys, "server", "private key", names[i], 0);
        if (e == NULL)
            return NULL;
        der_int(&w, e->data, e->len);
    }
    d = zt_wr_make(der, sizeof(der));
    zt_wr_u8(&d, 0x30);
    der_len(&d, w.len);
    zt_wr_bytes(&d, body, w.len);
    if (w.err || d.err)
        return NULL;
    pem = malloc(d.len * 2 + 128);
    o += (size_t)sprintf(pem, "-----BEGIN RSA PRIVATE KEY-----\n");
    for (i = 0; i < d.len; i += 3) {
        uint32_t v = (uint32_t)der[i] << 16;
        size_t left = d.len - i;
        if (left > 1)
            v |= (uint32_t)der[i + 1] << 8;
        if (left > 2)
            v |= der[i + 2];
        pem[o++] = b64[(v >> 18) & 63];
        pem[o++] = b64[(v >> 12) & 63];
        pem[o++] = left > 1 ? b64[(v >> 6) & 63] : '=';
        pem[o++] = left > 2 ? b64[v & 63] : '=';
        if ((i / 3) % 16 == 15)
            pem[o++] = '\n';
    }
    if (pem[o - 1] != '\n')
        pem[o++] = '\n';
    o += (size_t)sprintf(pem + o, "-----END RSA PRIVATE KEY-----\n");
    return pem;
}

static char *cert_pem_from_msg(const entry *cert_msg, const uint8_t **der,
                               size_t *der_len_out)
{
    /* Certificate: type(1) len(3) ctx_len(1)=0 list_len(3) cert_len(3) */
    const uint8_t *p = cert_msg->data;
    size_t n = ((size_t)p[8] << 16) | ((size_t)p[9] << 8) | p[10];
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *c = p + 11;
    char *pem = malloc(n * 2 + 128);
    size_t i, o = 0;

    *der = c;
    *der_len_out = n;
    o += (size_t)sprintf(pem, "-----BEGIN CERTIFICATE-----\n");
    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)c[i] << 16;
        size_t left = n - i;
        if (left > 1)
            v |= (uint32_t)c[i + 1] << 8;
        if (left > 2)
            v |= c[i + 2];
        pem[o++] = b64[(v >> 18) & 63];
        pem[o++] = b64[(v >> 12) & 63];
        pem[o++] = left > 1 ? b64[(v >> 6) & 63] : '=';
        pem[o++] = left > 2 ? b64[v & 63] : '=';
        if ((i / 3) % 16 == 15)
            pem[o++] = '\n';
    }
    if (pem[o - 1] != '\n')
        pem[o++] = '\n';
    o += (size_t)sprintf(pem + o, "-----END CERTIFICATE-----\n");
    return pem;
}

/* ---- the ticket codec and the clock of sections 3 and 4 ------------------- */

static struct {
    uint8_t ticket[256];
    size_t ticket_len;
    uint8_t state[ZT_MAX_SESSION_STATE];
    size_t state_len;
    int sealed, opened;
} codec;

static int codec_seal(void *arg, const uint8_t *state, size_t n,
                      uint8_t *ticket, size_t *len)
{
    if (n > sizeof(codec.state) || *len < codec.ticket_len)
        return -1;
    memcpy(codec.state, state, n);
    codec.state_len = n;
    memcpy(ticket, codec.ticket, codec.ticket_len);
    *len = codec.ticket_len;
    codec.sealed++;
    return 0;
}

static int codec_open(void *arg, const uint8_t *ticket, size_t n,
                      uint8_t *state, size_t *len)
{
    if (!codec.sealed || n != codec.ticket_len ||
        memcmp(ticket, codec.ticket, n) != 0)
        return ZT_TICKET_UNKNOWN;
    if (*len < codec.state_len)
        return ZT_TICKET_BAD;
    memcpy(state, codec.state, codec.state_len);
    *len = codec.state_len;
    codec.opened++;
    return ZT_TICKET_OK;
}

static uint64_t trace_ms = 1534000000000ull; /* August 2018 */

static uint64_t trace_clock(void *arg)
{
    return trace_ms;
}

/* ---- section 6: client authentication ---------------------------------------- */

static uint64_t trace_time(void *arg)
{
    (void)arg;
    return 1514764800000ull; /* 2018-01-01, inside both certificates' validity */
}

/* The server credential without its private key (the external signer
 * signs), the trace's CertificateRequest list, the client's self-signed
 * certificate as the one trusted CA. */
static int setup_client_auth(const trace *t, zt_config *cfg,
                             const uint8_t *der, size_t der_len)
{
    const entry *cr = find(t, "server", "construct a CertificateRequest",
                           "CertificateRequest", 0);
    const entry *cc = find(t, "client", "construct a Certificate",
                           "Certificate", 0);
    zt_cred *cred = &cfg->creds[0];
    char *pem, err[256] = "";
    const uint8_t *cder;
    size_t cder_len, i, n;
    zt_cur m, exts, v;

    CHECK(cr != NULL && cc != NULL);
    if (cr == NULL || cc == NULL)
        return 0;
    memset(cred, 0, sizeof(*cred));
    cred->type = ZT_KEY_ECDSA_P256;
    cred->chain_der[0] = malloc(der_len);
    memcpy(cred->chain_der[0], der, der_len);
    cred->chain_len[0] = der_len;
    cred->chain_sig[0] = ZT_SIG_ECDSA_SECP256R1_SHA256;
    cred->n_chain = 1;
    cfg->n_creds = 1;
    /* CertificateRequest: context(1) = 0, extensions: signature_algorithms
     * only. The trace's server lists schemes we do not verify; the public
     * API would refuse them, so they go in directly. */
    m = zt_cur_make(cr->data + 5, cr->len - 5);
    CHECK(cr->data[4] == 0 && zt_cur_vec(&m, 2, &exts) == 0 &&
          zt_cur_u16(&exts, (uint16_t[]){0}) == 0 &&
          zt_cur_vec(&exts, 2, &v) == 0 && zt_cur_vec(&v, 2, &m) == 0);
    n = zt_cur_left(&m) / 2;
    CHECK(n > 0 && n <= 16);
    for (i = 0; i < n && i < 16; i++)
        CHECK(zt_cur_u16(&m, &cfg->cr_sigalgs[i]) == 0);
    cfg->n_cr_sigalgs = n;
    CHECK(zt_config_set_verify_client(cfg, ZT_VERIFY_REQUIRED, 0) == ZT_OK);
    zt_config_set_wall_clock(cfg, trace_time, NULL);
    pem = cert_pem_from_msg(cc, &cder, &cder_len);
    CHECK_MSG(zt_config_add_client_ca_mem(cfg, pem, strlen(pem), 0, err,
                                          sizeof(err)) == ZT_OK,
              "%s", err);
    free(pem);
    return 1;
}

/* After the trace: the client's certificate verified, its facts known,
 * its chain gone with the handshake. */
static void check_client_auth(const trace *t, zt_conn *c)
{
    const entry *cc = find(t, "client", "construct a Certificate",
                           "Certificate", 0);
    const zt_peer_info *pi = zt_conn_peer_info(c);
    uint8_t h[32];
    size_t n;

    CHECK(zt_conn_peer_requested(c));
    CHECK_EQ_INT(zt_conn_peer_verify(c), ZT_VR_OK);
    CHECK(zt_conn_peer_accepted(c));
    CHECK(strcmp(zt_conn_peer_verify_reason(c), "ok") == 0);
    CHECK(pi != NULL);
    if (pi == NULL || cc == NULL)
        return;
    CHECK_MSG(strcmp(pi->subject, "CN=client") == 0, "%s", pi->subject);
    CHECK_MSG(strcmp(pi->issuer, "CN=client") == 0, "%s", pi->issuer);
    CHECK_MSG(strcmp(pi->serial, "01") == 0, "%s", pi->serial);
    CHECK_EQ_INT(pi->not_before, 1469841839); /* 2016-07-30 01:23:59 */
    CHECK_EQ_INT(pi->not_after, 1785374639);  /* 2026-07-30 01:23:59 */
    n = ((size_t)cc->data[8] << 16) | ((size_t)cc->data[9] << 8) |
        cc->data[10];
    CHECK(zt_hash_oneshot(ZT_SHA256, cc->data + 11, n, h) == 0);
    CHECK_MEM(pi->sha256, 32, h, 32);
    /* no ZT_VERIFY_KEEP_CHAIN: the DER went with the handshake state */
    CHECK_EQ_INT(zt_conn_peer_chain_len(c), 0);
    CHECK(zt_conn_peer_cert(c, 0, &n) == NULL && n == 0);
}

/* ---- driving one section ---------------------------------------------------- */

typedef struct {
    const char *file;
    uint16_t group;
    const uint16_t *adv;
    size_t n_adv;
    int hrr;
    int tickets; /* 1: issues the ticket (3), 2: resumes it with 0-RTT (4) */
    int client_auth; /* section 6 */
} section;

/* Everything the server has to send, taken out of the engine. */
static size_t drain(zt_conn *c, uint8_t *out, size_t cap)
{
    size_t n, total = 0;
    const uint8_t *p;

    while ((p = zt_send_buf(c, &n)) != NULL && total + n <= cap) {
        memcpy(out + total, p, n);
        total += n;
        zt_send_done(c, n);
    }
    return total;
}

static void feed_all(zt_conn *c, const entry *e)
{
    size_t used = 0;
    zt_err err = zt_feed(c, e->data, e->len, &used);

    CHECK_MSG(err == ZT_OK, "feeding step %d: %s", e->step, zt_err_str(err));
    CHECK_EQ_INT(used, e->len);
}

static void check_secret(const trace *t, const char *label, const uint8_t *got)
{
    const entry *e = find(t, "server", label, "expanded", 0);

    CHECK_MSG(e != NULL, "no %s in trace", label);
    if (e)
        CHECK_MEM(got, e->len, e->data, e->len);
}

static void run_section(const section *s, const trace *keys)
{
    trace t = {0};
    script rnd = {0};
    signer_state sg = {0};
    zt_config *cfg;
    zt_conn *c;
    const entry *sh, *cv, *cert, *e;
    uint8_t out[8192], want[8192];
    size_t n, wn, i, der_len = 0;
    const uint8_t *der = NULL;
    char *key_pem = NULL, *cert_pem = NULL, err[256] = "";
    int server_rec = 0, client_rec = 0, resumed = s->tickets == 2;
    static uint8_t table[4096];

    if (trace_load(&t, s->file) != 0) {
        CHECK_MSG(0, "cannot read %s/rfc8448/%s", zt_vectors_dir(), s->file);
        return;
    }
    cfg = zt_config_new();
    CHECK(cfg != NULL);
    CHECK(zt_config_set_groups(cfg, &s->group, 1) == ZT_OK);
    /* the trace's server key is RSA-1024 */
    CHECK(zt_config_set_rsa_min_bits(cfg, 1024) == ZT_OK);
    CHECK(zt_config_set_advertised_groups(cfg, s->adv, s->n_adv) == ZT_OK);

    /* The trace's certificate and key (a resumed handshake has none). */
    cert = find(&t, "server", "construct a Certificate", "Certificate", 0);
    cv = find(&t, "server", "construct a CertificateVerify",
              "CertificateVerify", 0);
    CHECK(resumed || (cert != NULL && cv != NULL));
    if (!resumed && (cert == NULL || cv == NULL))
        goto out_trace;
    if (!resumed) {
        cert_pem = cert_pem_from_msg(cert, &der, &der_len);
        sg.scheme = (uint16_t)((cv->data[4] << 8) | cv->data[5]);
        if (s->client_auth) {
            if (!setup_client_auth(&t, cfg, der, der_len))
                goto out_free;
        } else {
            key_pem = rsa_key_pem(keys);
            CHECK(key_pem != NULL);
            CHECK_MSG(zt_config_add_credential_mem(
                          cfg, cert_pem, strlen(cert_pem), key_pem,
                          strlen(key_pem), err, sizeof(err)) == ZT_OK,
                      "%s", err);
        }
        sg.sig = cv->data + 8; /* type, len(3), scheme(2), sig len(2) */
        sg.len = cv->len - 8;
        zt_config_set_signer(cfg, trace_signer, &sg);
    }
    if (s->tickets) {
        /* the trace's server: 30 s tickets allowing 1024 bytes of 0-RTT;
         * none issued on the resumed connection */
        zt_config_set_ticket_codec(cfg, codec_seal, codec_open, NULL);
        zt_config_set_wall_clock(cfg, trace_clock, NULL);
        CHECK(zt_config_set_ticket_lifetime(cfg, 30) == ZT_OK);
        CHECK(zt_config_set_max_early_data(cfg, 1024) == ZT_OK);
        CHECK(zt_replay_table_init(table, sizeof(table), trace_ms) > 0);
        zt_config_set_replay_filter(cfg, zt_replay_table_check, table);
        CHECK(zt_config_set_ticket_count(cfg, resumed ? 0 : 1) == ZT_OK);
    } else {
        CHECK(zt_config_set_ticket_count(cfg, 0) == ZT_OK);
    }

    /* Random source: [HRR cookie], ServerHello.random, ephemeral key. */
    if (s->hrr) {
        const entry *hrr = find(&t, "server", "construct a ServerHello",
                                "ServerHello", 0);
        /* cookie ext sits after key_share (6 bytes) in the extensions */
        size_t at = 4 + 2 + 32 + 1 + 2 + 1 + 2 + 6 + 4 + 2;
        size_t clen = ((size_t)hrr->data[at - 2] << 8) | hrr->data[at - 1];
        script_add(&rnd, hrr->data + at, clen);
        CHECK(zt_config_set_hrr_cookie_len(cfg, clen) == ZT_OK);
        sh = find(&t, "server", "construct a ServerHello", "ServerHello", 1);
    } else {
        sh = find(&t, "server", "construct a ServerHello", "ServerHello", 0);
    }
    script_add(&rnd, sh->data + 6, 32);
    e = find(&t, "server", "create an ephemeral", "private key", 0);
    script_add(&rnd, e->data, e->len);
    if (s->tickets == 1) {
        /* the NewSessionTicket: its ticket_age_add, and the ticket */
        const entry *nst = find(&t, "server", "construct a NewSessionTicket",
                                "NewSessionTicket", 0);
        CHECK(nst != NULL);
        if (nst == NULL)
            goto out_trace;
        script_add(&rnd, nst->data + 8, 4);
        codec.ticket_len = ((size_t)nst->data[15] << 8) | nst->data[16];
        memcpy(codec.ticket, nst->data + 17, codec.ticket_len);
    } else if (resumed) {
        trace_ms += 10; /* the client says 6 ms: well within the window */
    }
    zt_config_set_random(cfg, script_rnd, &rnd);

    c = zt_conn_new(cfg);
    CHECK(c != NULL);

    /* Walk the trace's records in order. */
    for (i = 0; i < t.n; i++) {
        e = &t.e[i];
        if (strcmp(e->label, "complete record") != 0)
            continue;
        if (strcmp(e->actor, "client") == 0) {
            client_rec++;
            if (e->data[0] == ZT_CT_APPDATA &&
                (zt_conn_state(c) &
                 (ZT_ST_HANDSHAKE_DONE | ZT_ST_EARLY_DATA)) &&
                strstr(e->step_text, "application_data")) {
                const entry *pl = find_step(&t, e->step, "payload");
                uint8_t pt[256];
                int early = !(zt_conn_state(c) & ZT_ST_HANDSHAKE_DONE);
                feed_all(c, e);
                CHECK_EQ_INT(zt_app_data_early(c), early);
                n = zt_read(c, pt, sizeof(pt));
                CHECK_MEM(pt, n, pl->data, pl->len);
            } else if (strstr(e->step_text, "alert")) {
                feed_all(c, e);
                CHECK(zt_conn_state(c) & ZT_ST_PEER_CLOSED);
                CHECK_EQ_INT(zt_eof(c), ZT_OK);
            } else {
                feed_all(c, e);
            }
            continue;
        }
        /* a server record: compare what the engine produced */
        server_rec++;
        if (strstr(e->step_text, "application_data")) {
            const entry *pl = find(&t, "server", e->step_text, "payload", 0);
            size_t acc = 0;
            CHECK(zt_write(c, pl->data, pl->len, &acc) == ZT_OK);
            CHECK_EQ_INT(acc, pl->len);
        } else if (strstr(e->step_text, "alert")) {
            CHECK(zt_close(c) == ZT_OK);
        }
        n = drain(c, out, sizeof(out));
        wn = 0;
        /* the engine emits a whole flight at once: gather the trace's
         * consecutive server records to compare against */
        for (; i < t.n && wn + t.e[i].len <= sizeof(want); i++) {
            if (strcmp(t.e[i].label, "complete record") != 0)
                continue;
            if (strcmp(t.e[i].actor, "server") != 0)
                break;
            if (wn > 0 && wn >= n)
                break;
            memcpy(want + wn, t.e[i].data, t.e[i].len);
            wn += t.e[i].len;
        }
        i--;
        CHECK_MSG(n == wn && memcmp(out, want, n) == 0,
                  "%s: server records before step %d differ (%zu vs %zu "
                  "bytes)",
                  s->file, t.e[i].step, n, wn);
        if (!(zt_conn_state(c) & ZT_ST_HANDSHAKE_DONE) &&
            (c->st == ZT_S_WAIT_FINISHED || c->st == ZT_S_WAIT_EOED ||
             c->st == ZT_S_WAIT_CERT)) {
            if (resumed) {
                const entry *ce = find(&t, "client", "tls13 c e traffic",
                                       "expanded", 0);
                CHECK(ce != NULL && c->st == ZT_S_WAIT_EOED);
                if (ce)
                    CHECK_MEM(c->hss->c_e, ce->len, ce->data, ce->len);
            }
            check_secret(&t, "tls13 c hs traffic", c->hss->c_hs);
            check_secret(&t, "tls13 s hs traffic", c->hss->s_hs);
            check_secret(&t, "tls13 s ap traffic", c->wr.secret);
            check_secret(&t, "tls13 c ap traffic", c->hss->c_ap);
        }
    }
    CHECK(server_rec > 0 && client_rec > 0);
    CHECK(zt_conn_error(c) == ZT_OK);
    CHECK(zt_conn_state(c) & ZT_ST_HANDSHAKE_DONE);
    CHECK_EQ_INT(zt_conn_cipher_suite(c), ZT_TLS_AES_128_GCM_SHA256);
    CHECK_EQ_INT(zt_conn_group(c), s->group);
    CHECK_EQ_INT(zt_conn_sigalg(c), resumed ? 0 : sg.scheme);
    CHECK_EQ_INT(zt_conn_hrr(c), s->hrr);
    CHECK_MSG(rnd.off == rnd.len, "random source: %zu of %zu used", rnd.off,
              rnd.len);
    CHECK_EQ_INT(zt_conn_resumed(c), resumed);
    CHECK_EQ_INT(zt_conn_early_data_accepted(c), resumed);
    CHECK_EQ_INT(zt_conn_tickets_sent(c), s->tickets == 1);
    if (s->tickets == 1) {
        zt_session st;
        /* what was sealed: the trace's session, PSK = HKDF-Expand-Label(
         * res_master, "resumption", 0x0000), which section 4 uses */
        const entry *psk = find(&t, "client", "tls13 res master", "expanded",
                                0);
        CHECK(codec.sealed == 1);
        CHECK(zt_session_decode(codec.state, codec.state_len, &st) == ZT_OK);
        CHECK_EQ_INT(st.suite, ZT_TLS_AES_128_GCM_SHA256);
        CHECK_EQ_INT(st.lifetime_s, 30);
        CHECK_EQ_INT(st.age_add, 0xfad6aac5u);
        CHECK_EQ_INT(st.max_early, 1024);
        CHECK_EQ_INT(st.issued_ms, trace_ms);
        CHECK(st.sni_len == 6 && memcmp(st.sni, "server", 6) == 0);
        CHECK(psk != NULL && st.psk_len == 32);
    }
    if (resumed) {
        CHECK(codec.opened == 1);
        CHECK_EQ_INT(zt_conn_psk_result(c), ZT_PSK_ACCEPTED);
        CHECK_EQ_INT(zt_conn_early_result(c), ZT_EARLY_ACCEPTED);
        CHECK_EQ_INT(zt_replay_table_used(table, trace_ms), 1);
        goto out_conn;
    }
    if (s->client_auth)
        check_client_auth(&t, c);

    /* The trace's signature verifies over the content the engine built, and
     * a fresh signature by the trace's key verifies under its certificate. */
    CHECK(zt_verify_cert_sig(der, der_len, sg.scheme, sg.content,
                             sg.content_len, sg.sig, sg.len) == 0);
    if (!s->client_auth) {
        uint8_t sig[512];
        size_t sl = sizeof(sig);
        CHECK(zt_cred_sign(&cfg->creds[0], ZT_SIG_RSA_PSS_RSAE_SHA256,
                           sg.content, sg.content_len, sig, &sl) == 0);
        CHECK(zt_verify_cert_sig(der, der_len, ZT_SIG_RSA_PSS_RSAE_SHA256,
                                 sg.content, sg.content_len, sig, sl) == 0);
        sg.content[70] ^= 1;
        CHECK(zt_verify_cert_sig(der, der_len, ZT_SIG_RSA_PSS_RSAE_SHA256,
                                 sg.content, sg.content_len, sig, sl) != 0);
    }

out_conn:
    zt_conn_free(c);
out_free:
    free(key_pem);
    free(cert_pem);
out_trace:
    zt_config_free(cfg);
    trace_free(&t);
}

void suite_rfc8448(void)
{
    static const uint16_t adv_full[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x0100,
                                        0x0101, 0x0102, 0x0103, 0x0104};
    static const uint16_t adv_hrr[] = {0x0017, 0x0018, 0x001d};
    /* The traces' servers advertise more groups in EncryptedExtensions than
     * we implement; the advertised list is configuration, not negotiation. */
    const section sections[] = {
        {"sec3-simple-1rtt.tsv", ZT_GROUP_X25519, adv_full, 9, 0, 1, 0},
        {"sec4-resumed-0rtt.tsv", ZT_GROUP_X25519, adv_full, 9, 0, 2, 0},
        {"sec5-hello-retry-request.tsv", ZT_GROUP_SECP256R1, adv_hrr, 3, 1, 0,
         0},
        {"sec6-client-authentication.tsv", ZT_GROUP_X25519, adv_full, 9, 0, 0,
         1},
        {"sec7-compatibility-mode.tsv", ZT_GROUP_X25519, adv_full, 9, 0, 0, 0},
    };
    trace keys = {0};
    size_t i;

    if (trace_load(&keys, "sec2-private-keys.tsv") != 0) {
        CHECK_MSG(0, "cannot read the RFC 8448 keys under %s",
                  zt_vectors_dir());
        return;
    }
    for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
        run_section(&sections[i], &keys);
    trace_free(&keys);
}
