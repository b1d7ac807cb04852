/*
 * test_rfc8448.c: the server reproduces RFC 8448 sections 3 (1-RTT), 5
 * (HelloRetryRequest) and 7 (compatibility mode) byte for byte.
 *
 * The trace's client records are fed in; the server's random, ephemeral key
 * and HRR cookie come from a scripted random source, and its RSA-PSS
 * CertificateVerify signature (randomized by nature) from an external
 * signer returning the trace's. Separately, a real signature made with the
 * trace's key is checked to verify under the trace's certificate.
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
    uint8_t content[256];
    size_t content_len;
} signer_state;

static int trace_signer(void *arg, int cred_index, uint16_t scheme,
                        const uint8_t *msg, size_t msg_len, uint8_t *sig,
                        size_t *sig_len)
{
    signer_state *s = arg;

    if (scheme != ZT_SIG_RSA_PSS_RSAE_SHA256 || *sig_len < s->len ||
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

/* ---- driving one section ---------------------------------------------------- */

typedef struct {
    const char *file;
    uint16_t group;
    const uint16_t *adv;
    size_t n_adv;
    int hrr;
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
    size_t n, wn, i, der_len;
    const uint8_t *der;
    char *key_pem, *cert_pem, err[256] = "";
    int server_rec = 0, client_rec = 0;

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

    /* The trace's certificate and key. */
    cert = find(&t, "server", "construct a Certificate", "Certificate", 0);
    cv = find(&t, "server", "construct a CertificateVerify",
              "CertificateVerify", 0);
    CHECK(cert != NULL && cv != NULL);
    if (cert == NULL || cv == NULL)
        goto out_trace;
    cert_pem = cert_pem_from_msg(cert, &der, &der_len);
    key_pem = rsa_key_pem(keys);
    CHECK(key_pem != NULL);
    CHECK_MSG(zt_config_add_credential_mem(cfg, cert_pem, strlen(cert_pem),
                                           key_pem, strlen(key_pem), err,
                                           sizeof(err)) == ZT_OK,
              "%s", err);
    sg.sig = cv->data + 8; /* type, len(3), scheme(2), sig len(2) */
    sg.len = cv->len - 8;
    zt_config_set_signer(cfg, trace_signer, &sg);

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
                (zt_conn_state(c) & ZT_ST_HANDSHAKE_DONE) &&
                strstr(e->step_text, "application_data")) {
                const entry *pl = find(&t, "client", e->step_text,
                                       "payload", 0);
                uint8_t pt[256];
                feed_all(c, e);
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
        if (strstr(e->step_text, "handshake record") &&
            (zt_conn_state(c) & ZT_ST_HANDSHAKE_DONE)) {
            /* NewSessionTicket: not issued yet; keep the sequence aligned */
            c->wr.seq++;
            continue;
        }
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
            c->st == ZT_S_WAIT_FINISHED) {
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
    CHECK_EQ_INT(zt_conn_sigalg(c), ZT_SIG_RSA_PSS_RSAE_SHA256);
    CHECK_EQ_INT(zt_conn_hrr(c), s->hrr);
    CHECK_MSG(rnd.off == rnd.len, "random source: %zu of %zu used", rnd.off,
              rnd.len);

    /* The trace's signature verifies over the content the engine built, and
     * a fresh signature by the trace's key verifies under its certificate. */
    CHECK(zt_verify_cert_sig(der, der_len, ZT_SIG_RSA_PSS_RSAE_SHA256,
                             sg.content, sg.content_len, sg.sig,
                             sg.len) == 0);
    {
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

    zt_conn_free(c);
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
        {"sec3-simple-1rtt.tsv", ZT_GROUP_X25519, adv_full, 9, 0},
        {"sec5-hello-retry-request.tsv", ZT_GROUP_SECP256R1, adv_hrr, 3, 1},
        {"sec7-compatibility-mode.tsv", ZT_GROUP_X25519, adv_full, 9, 0},
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
