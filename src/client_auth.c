/*
 * client_auth.c: client certificates (mTLS). The CertificateRequest we
 * send (RFC 8446 section 4.3.2), the client's Certificate (4.4.2, 4.4.2.4)
 * and CertificateVerify (4.4.3) we receive, their configuration, the
 * client's identity in session tickets, and the getters for what was
 * learnt. Path validation is the crypto provider's
 * (libcrypto's X509 store, see crypto.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

/*
 * signature_algorithms of the CertificateRequest: the schemes a client
 * may sign its CertificateVerify with, and, as section 4.2.3 lets the one
 * list cover both, the PKCS#1 schemes that CAs sign client certificates
 * with. A CertificateVerify made with a PKCS#1 scheme is refused (4.2.3).
 */
static const uint16_t cr_default[] = {
    ZT_SIG_ECDSA_SECP256R1_SHA256, ZT_SIG_ECDSA_SECP384R1_SHA384,
    ZT_SIG_ECDSA_SECP521R1_SHA512, ZT_SIG_ED25519,
    ZT_SIG_RSA_PSS_RSAE_SHA256,    ZT_SIG_RSA_PSS_RSAE_SHA384,
    ZT_SIG_RSA_PSS_RSAE_SHA512,    0x0401, /* rsa_pkcs1_sha256 */
    0x0501,                        /* rsa_pkcs1_sha384 */
    0x0601,                        /* rsa_pkcs1_sha512 */
};

/* ---- configuration --------------------------------------------------------- */

zt_err zt_config_set_verify_client(zt_config *cfg, zt_verify_mode mode,
                                   unsigned flags)
{
    if ((unsigned)mode > ZT_VERIFY_OPTIONAL_NO_CA ||
        (flags & ~(ZT_VERIFY_DEFER | ZT_VERIFY_KEEP_CHAIN)) != 0)
        return ZT_E_CONFIG;
    cfg->verify_mode = mode;
    cfg->verify_flags = flags;
    return ZT_OK;
}

zt_err zt_config_set_verify_depth(zt_config *cfg, unsigned depth)
{
    if (depth > 32)
        return ZT_E_CONFIG;
    cfg->verify_depth = depth;
    return ZT_OK;
}

static zt_err trust_of(zt_config *cfg, char *err, size_t err_len)
{
    if (cfg->trust == NULL && (cfg->trust = zt_trust_new()) == NULL) {
        if (err && err_len)
            snprintf(err, err_len, "out of memory");
        return ZT_E_NOMEM;
    }
    return ZT_OK;
}

zt_err zt_config_add_client_ca_mem(zt_config *cfg, const char *pem,
                                   size_t len, int advertise, char *err,
                                   size_t err_len)
{
    zt_err e = trust_of(cfg, err, err_len);

    if (e != ZT_OK)
        return e;
    if (err && err_len)
        err[0] = '\0';
    return zt_trust_add_ca(cfg->trust, pem, len, advertise, err, err_len)
               ? ZT_E_CONFIG
               : ZT_OK;
}

zt_err zt_config_add_crl_mem(zt_config *cfg, const char *pem, size_t len,
                             char *err, size_t err_len)
{
    zt_err e = trust_of(cfg, err, err_len);

    if (e != ZT_OK)
        return e;
    return zt_trust_add_crl(cfg->trust, pem, len, err, err_len)
               ? ZT_E_CONFIG
               : ZT_OK;
}

zt_err zt_config_add_client_ca_file(zt_config *cfg, const char *path,
                                    int advertise, char *err, size_t err_len)
{
    size_t len;
    char *pem = zt_file_read(path, &len, err, err_len);
    zt_err e;

    if (pem == NULL)
        return ZT_E_CONFIG;
    e = zt_config_add_client_ca_mem(cfg, pem, len, advertise, err, err_len);
    free(pem);
    return e;
}

zt_err zt_config_add_crl_file(zt_config *cfg, const char *path, char *err,
                              size_t err_len)
{
    size_t len;
    char *pem = zt_file_read(path, &len, err, err_len);
    zt_err e;

    if (pem == NULL)
        return ZT_E_CONFIG;
    e = zt_config_add_crl_mem(cfg, pem, len, err, err_len);
    free(pem);
    return e;
}

size_t zt_config_client_ca_count(const zt_config *cfg)
{
    return zt_trust_ca_count(cfg->trust);
}

size_t zt_config_crl_count(const zt_config *cfg)
{
    return zt_trust_crl_count(cfg->trust);
}

/* ---- CertificateRequest (4.3.2) ---------------------------------------------- */

static void cr_sigalgs(const zt_config *u, const uint16_t **algs, size_t *n)
{
    if (u->n_cr_sigalgs) {
        *algs = u->cr_sigalgs;
        *n = u->n_cr_sigalgs;
    } else {
        *algs = cr_default;
        *n = sizeof(cr_default) / sizeof(cr_default[0]);
    }
}

zt_err zt_send_certificate_request(zt_conn *c)
{
    const zt_config *u = c->use;
    const uint16_t *algs;
    const uint8_t *names;
    size_t n, names_len, exts, at, at2, i;
    zt_wr w;
    zt_err e;

    cr_sigalgs(u, &algs, &n);
    names = zt_trust_names(u->trust, &names_len);
    e = zt_hs_begin(c, 32 + 2 * n + names_len, &w);
    if (e != ZT_OK)
        return e;
    zt_wr_u8(&w, ZT_HS_CERTIFICATE_REQUEST);
    zt_wr_u24(&w, 0);
    zt_wr_u8(&w, 0); /* certificate_request_context: empty in the handshake */
    exts = zt_wr_open(&w, 2);
    zt_wr_u16(&w, ZT_EXT_SIGNATURE_ALGORITHMS); /* MUST (4.3.2) */
    at = zt_wr_open(&w, 2);
    at2 = zt_wr_open(&w, 2);
    for (i = 0; i < n; i++)
        zt_wr_u16(&w, algs[i]);
    zt_wr_close(&w, at2, 2);
    zt_wr_close(&w, at, 2);
    if (names != NULL) {
        /* 4.2.4: DistinguishedName authorities<3..2^16-1> */
        zt_wr_u16(&w, ZT_EXT_CERTIFICATE_AUTHORITIES);
        at = zt_wr_open(&w, 2);
        at2 = zt_wr_open(&w, 2);
        zt_wr_bytes(&w, names, names_len);
        zt_wr_close(&w, at2, 2);
        zt_wr_close(&w, at, 2);
    }
    zt_wr_close(&w, exts, 2);
    e = zt_hs_commit(c, &w);
    if (e == ZT_OK)
        c->cr_sent = 1;
    return e;
}

/* ---- the client's Certificate (4.4.2, 4.4.2.4) ------------------------------- */

static void chain_free(zt_peer_chain *ch)
{
    size_t i;

    if (ch == NULL)
        return;
    for (i = 0; i < ch->n; i++)
        free(ch->der[i]);
    free(ch);
}

void zt_peer_free(zt_conn *c)
{
    if (c->peer == NULL)
        return;
    chain_free(c->peer->chain);
    free(c->peer->text);
    free(c->peer->sid);
    free(c->peer);
    c->peer = NULL;
}

/* What refuses a certificate that failed path validation (the alert is
 * errors.c's). */
static zt_err result_err(zt_verify_result r)
{
    switch (r) {
    case ZT_VR_UNKNOWN_CA:
    case ZT_VR_CRL_MISSING:
        return ZT_E_UNKNOWN_CA;
    case ZT_VR_EXPIRED:
        return ZT_E_CERT_EXPIRED;
    case ZT_VR_REVOKED:
        return ZT_E_CERT_REVOKED;
    case ZT_VR_BAD_PURPOSE:
        return ZT_E_UNSUPPORTED_CERT;
    case ZT_VR_BAD_CERT:
        return ZT_E_BAD_CERTIFICATE;
    case ZT_VR_NONE:
        return ZT_E_CERT_REQUIRED;
    case ZT_VR_OK:
    case ZT_VR_CHAIN_TOO_LONG:
    case ZT_VR_OTHER:
    case ZT_VR__COUNT:
        break;
    }
    return ZT_E_CERT_UNKNOWN;
}

/* certificate_list: entries copied out of the message, none with
 * extensions (4.4.2: the client's must answer extensions of our
 * CertificateRequest, and it asked for none). */
static zt_err parse_chain(zt_cur list, zt_peer_chain *ch)
{
    zt_cur data, exts, ext;
    uint16_t type;
    int any;

    while (zt_cur_left(&list)) {
        if (zt_cur_vec(&list, 3, &data) || zt_cur_vec(&list, 2, &exts) ||
            zt_cur_left(&data) == 0)
            return ZT_E_DECODE;
        any = zt_cur_left(&exts) != 0;
        while (zt_cur_left(&exts))
            if (zt_cur_u16(&exts, &type) || zt_cur_vec(&exts, 2, &ext))
                return ZT_E_DECODE;
        if (any)
            return ZT_E_UNSUPPORTED_EXTENSION;
        if (ch->n == ZT_MAX_PEER_CHAIN)
            return ZT_E_BAD_CERTIFICATE;
        ch->der[ch->n] = malloc(zt_cur_left(&data));
        if (ch->der[ch->n] == NULL)
            return ZT_E_NOMEM;
        memcpy(ch->der[ch->n], data.p, zt_cur_left(&data));
        ch->len[ch->n] = zt_cur_left(&data);
        ch->n++;
    }
    return ZT_OK;
}

static zt_err peer_facts(zt_peer *p)
{
    zt_x509_facts f;

    if (zt_x509_facts_get(p->chain->der[0], p->chain->len[0], &f) != 0)
        return ZT_E_BAD_CERTIFICATE;
    p->key = f.key;
    p->text = f.text;
    p->text_len = f.text_len;
    p->info.subject = f.text;
    p->info.issuer = f.text + f.issuer_off;
    p->info.serial = f.text + f.serial_off;
    p->info.not_before = f.not_before;
    p->info.not_after = f.not_after;
    memcpy(p->info.sha256, f.sha256, 32);
    memcpy(p->info.sha1, f.sha1, 20);
    /* a key whose CertificateVerify we could not check (RSA: as
     * zt_verify_cert_sig takes it) */
    if (f.key == ZT_PK_OTHER ||
        (f.key == ZT_PK_RSA &&
         (f.key_bits < 1024 || f.key_bits > 8 * ZT_MAX_SIG_LEN)))
        return ZT_E_UNSUPPORTED_CERT;
    return ZT_OK;
}

/* Certificates are judged at the wall clock (zt_config_set_wall_clock),
 * else at the system's. */
static int64_t cert_time(const zt_config *u)
{
    return u->wall ? (int64_t)(u->wall(u->wall_arg) / 1000)
                   : (int64_t)time(NULL);
}

static void peer_validate(zt_conn *c, zt_peer *p)
{
    const zt_config *u = c->use;
    const uint8_t *der[ZT_MAX_PEER_CHAIN];
    int64_t now = cert_time(u);
    /* libcrypto security level 2 (RSA >= 2048 bits, no SHA-1), 1 where the
     * configuration admits smaller RSA keys */
    int level = u->rsa_min_bits < 2048 ? 1 : 2;
    size_t i;

    for (i = 0; i < p->chain->n; i++)
        der[i] = p->chain->der[i];
    p->result = zt_x509_verify_client(u->trust, der, p->chain->len,
                                      p->chain->n, u->verify_depth, now,
                                      level, &p->code);
    p->accepted = p->result == ZT_VR_OK ||
                  (u->verify_mode == ZT_VERIFY_OPTIONAL_NO_CA &&
                   zt_x509_code_no_ca(p->code));
}

zt_err zt_on_client_certificate(zt_conn *c, const uint8_t *msg, size_t len)
{
    const zt_config *u = c->use;
    zt_cur m = zt_cur_make(msg + 4, len - 4), ctx, list;
    zt_peer *p;
    zt_err e;

    if (zt_cur_vec(&m, 1, &ctx) || zt_cur_vec(&m, 3, &list) ||
        zt_cur_finish(&m))
        return ZT_E_DECODE;
    /* our certificate_request_context was empty; it must come back (4.4.2) */
    if (zt_cur_left(&ctx) != 0)
        return ZT_E_ILLEGAL_PARAMETER;
    if (zt_hash_update(c->transcript, msg, len))
        return ZT_E_INTERNAL;
    if (zt_cur_left(&list) == 0) {
        /* 4.4.2.4: no certificate; no CertificateVerify follows */
        if (u->verify_mode == ZT_VERIFY_REQUIRED &&
            !(u->verify_flags & ZT_VERIFY_DEFER))
            return ZT_E_CERT_REQUIRED;
        c->st = ZT_S_WAIT_FINISHED;
        return ZT_OK;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->chain = calloc(1, sizeof(*p->chain))) == NULL) {
        free(p);
        return ZT_E_NOMEM;
    }
    c->peer = p;
    p->result = ZT_VR_BAD_CERT;
    e = parse_chain(list, p->chain);
    if (e == ZT_OK)
        e = peer_facts(p);
    if (e != ZT_OK)
        return e;
    peer_validate(c, p);
    /* 4.4.2.4: a chain we do not accept may end the handshake, or leave the
     * client unauthenticated for the embedder to judge (DEFER) */
    if (!p->accepted && !(u->verify_flags & ZT_VERIFY_DEFER))
        return result_err(p->result);
    c->st = ZT_S_WAIT_CV;
    return ZT_OK;
}

/* ---- the client's CertificateVerify (4.4.3) ---------------------------------- */

/* A scheme a CertificateVerify may use with this key (4.2.3: not PKCS#1,
 * ECDSA on the curve the scheme names). */
static int scheme_fits(uint16_t scheme, zt_pk_kind key)
{
    switch (scheme) {
    case ZT_SIG_ED25519:
        return key == ZT_PK_ED25519;
    case ZT_SIG_ECDSA_SECP256R1_SHA256:
        return key == ZT_PK_P256;
    case ZT_SIG_ECDSA_SECP384R1_SHA384:
        return key == ZT_PK_P384;
    case ZT_SIG_ECDSA_SECP521R1_SHA512:
        return key == ZT_PK_P521;
    case ZT_SIG_RSA_PSS_RSAE_SHA256:
    case ZT_SIG_RSA_PSS_RSAE_SHA384:
    case ZT_SIG_RSA_PSS_RSAE_SHA512:
        return key == ZT_PK_RSA;
    }
    return 0;
}

static int offered(const zt_config *u, uint16_t scheme)
{
    const uint16_t *algs;
    size_t n, i;

    cr_sigalgs(u, &algs, &n);
    for (i = 0; i < n; i++)
        if (algs[i] == scheme)
            return 1;
    return 0;
}

zt_err zt_on_client_cert_verify(zt_conn *c, const uint8_t *msg, size_t len)
{
    static const char ctx[] = "TLS 1.3, client CertificateVerify";
    uint8_t content[64 + sizeof(ctx) + ZT_MAX_HASH_LEN];
    zt_cur m = zt_cur_make(msg + 4, len - 4), sig;
    zt_peer *p = c->peer;
    uint16_t scheme;
    size_t n;

    if (zt_cur_u16(&m, &scheme) || zt_cur_vec(&m, 2, &sig) ||
        zt_cur_finish(&m))
        return ZT_E_DECODE;
    /* 4.4.3: one of the schemes of our CertificateRequest */
    if (p == NULL || p->chain == NULL || !offered(c->use, scheme) ||
        !scheme_fits(scheme, p->key))
        return ZT_E_BAD_SIGALG;
    /* 64 spaces, the client's context string, 0, Transcript-Hash(...,
     * Certificate) */
    memset(content, 0x20, 64);
    memcpy(content + 64, ctx, sizeof(ctx));
    n = 64 + sizeof(ctx);
    if (zt_hash_peek(c->transcript, content + n))
        return ZT_E_INTERNAL;
    n += c->hlen;
    if (zt_verify_cert_sig(p->chain->der[0], p->chain->len[0], scheme,
                           content, n, sig.p, zt_cur_left(&sig)) != 0)
        return ZT_E_BAD_SIGNATURE;
    if (zt_hash_update(c->transcript, msg, len))
        return ZT_E_INTERNAL;
    c->st = ZT_S_WAIT_FINISHED;
    return ZT_OK;
}

/* The client Finished verified: the chain goes unless it is to be kept. */
void zt_peer_handshake_done(zt_conn *c)
{
    if (c->peer == NULL)
        return;
    free(c->peer->sid); /* the tickets are sent */
    c->peer->sid = NULL;
    if (!(c->use->verify_flags & ZT_VERIFY_KEEP_CHAIN))
        zt_conn_peer_release(c);
}

size_t zt_peer_bytes(const zt_conn *c)
{
    size_t n, i;

    if (c->peer == NULL)
        return 0;
    n = sizeof(*c->peer) + c->peer->text_len;
    if (c->peer->chain != NULL) {
        n += sizeof(*c->peer->chain);
        for (i = 0; i < c->peer->chain->n; i++)
            n += c->peer->chain->len[i];
    }
    return n;
}

/* ---- sessions: the client's identity in tickets (ticket.c, psk.c) ---------
 *
 * client_verify is 1 + the zt_verify_result of the full handshake (0: no
 * client certificate); client_identity (version 1):
 *
 *   u8      version = 1
 *   u8      accepted
 *   u8      key kind (zt_pk_kind)
 *   u32     code                libcrypto's detail
 *   u64     not_before, not_after   seconds since the epoch
 *   u8      sha256[32], sha1[20]
 *   opaque  text<0..2^16-1>     subject NUL issuer NUL serial NUL
 *   opaque  leaf<0..2^16-1>     the DER leaf, with ZT_VERIFY_KEEP_CHAIN
 *                               when it fits; else empty
 *
 * An identity that does not fit ZT_MAX_CLIENT_ID_LEN even without the leaf
 * is sent as ZT_CLIENT_VERIFY_UNRESUMABLE: such a ticket never resumes. */
#define ZT_CLIENT_VERIFY_UNRESUMABLE 0xff
#define PEER_ID_FIXED (1 + 1 + 1 + 4 + 8 + 8 + 32 + 20 + 2 + 2)

uint32_t zt_client_auth_policy(const zt_config *u)
{
    uint8_t in[8 + 32], h[32];
    size_t n = 0;

    if (u->verify_mode == ZT_VERIFY_OFF)
        return 0;
    in[n++] = (uint8_t)u->verify_mode;
    in[n++] = (uint8_t)(u->verify_flags & ZT_VERIFY_DEFER);
    in[n++] = (uint8_t)u->verify_depth;
    in[n++] = (uint8_t)(u->rsa_min_bits < 2048 ? 1 : 2);
    zt_trust_digest(u->trust, in + n);
    n += 32;
    if (zt_hash_oneshot(ZT_SHA256, in, n, h))
        return 0x80000000u;
    /* the top bit: never the policy of a server without client auth */
    return 0x80000000u | ((uint32_t)h[0] << 24 & 0x7f000000u) |
           ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3];
}

static void wr_u64(zt_wr *w, uint64_t v)
{
    zt_wr_u16(w, (unsigned)(v >> 48) & 0xffff);
    zt_wr_u16(w, (unsigned)(v >> 32) & 0xffff);
    zt_wr_u16(w, (unsigned)(v >> 16) & 0xffff);
    zt_wr_u16(w, (unsigned)v & 0xffff);
}

zt_err zt_peer_session(zt_conn *c, zt_session *s)
{
    zt_peer *p = c->peer;
    size_t leaf = 0, cap;
    zt_wr w;

    s->client_verify = ZT_CLIENT_VERIFY_NONE;
    s->client_id = NULL;
    s->client_id_len = 0;
    if (p == NULL)
        return ZT_OK;
    if (PEER_ID_FIXED + p->text_len > ZT_MAX_CLIENT_ID_LEN) {
        s->client_verify = ZT_CLIENT_VERIFY_UNRESUMABLE;
        return ZT_OK;
    }
    if ((c->use->verify_flags & ZT_VERIFY_KEEP_CHAIN) && p->chain != NULL &&
        PEER_ID_FIXED + p->text_len + p->chain->len[0] <=
            ZT_MAX_CLIENT_ID_LEN)
        leaf = p->chain->len[0];
    cap = PEER_ID_FIXED + p->text_len + leaf;
    if (p->sid == NULL && (p->sid = malloc(cap)) == NULL)
        return ZT_E_NOMEM;
    w = zt_wr_make(p->sid, cap);
    zt_wr_u8(&w, 1);
    zt_wr_u8(&w, (unsigned)p->accepted);
    zt_wr_u8(&w, (unsigned)p->key);
    zt_wr_u16(&w, ((uint32_t)p->code >> 16) & 0xffff);
    zt_wr_u16(&w, (uint32_t)p->code & 0xffff);
    wr_u64(&w, (uint64_t)p->info.not_before);
    wr_u64(&w, (uint64_t)p->info.not_after);
    zt_wr_bytes(&w, p->info.sha256, 32);
    zt_wr_bytes(&w, p->info.sha1, 20);
    zt_wr_u16(&w, (unsigned)p->text_len);
    zt_wr_bytes(&w, p->text, p->text_len);
    zt_wr_u16(&w, (unsigned)leaf);
    if (leaf)
        zt_wr_bytes(&w, p->chain->der[0], leaf);
    if (w.err)
        return ZT_E_INTERNAL;
    s->client_verify = (uint8_t)(1 + p->result);
    s->client_id = p->sid;
    s->client_id_len = w.len;
    return ZT_OK;
}

static int rd_u64(zt_cur *c, uint64_t *v)
{
    uint16_t a, b, d, e;

    if (zt_cur_u16(c, &a) || zt_cur_u16(c, &b) || zt_cur_u16(c, &d) ||
        zt_cur_u16(c, &e))
        return -1;
    *v = ((uint64_t)a << 48) | ((uint64_t)b << 32) | ((uint64_t)d << 16) | e;
    return 0;
}

/* Read a client identity; into p when not NULL (text and leaf copied). */
static int peer_id_read(const zt_session *s, zt_peer *p, int64_t *not_after)
{
    zt_cur c = zt_cur_make(s->client_id, s->client_id_len), text, leaf;
    const uint8_t *h256, *h1, *z1, *z2;
    uint8_t ver, acc, key;
    uint16_t hi, lo;
    uint64_t nb, na;
    size_t tl;

    if (s->client_verify == ZT_CLIENT_VERIFY_UNRESUMABLE ||
        (unsigned)s->client_verify - 1 >= ZT_VR__COUNT ||
        zt_cur_u8(&c, &ver) || ver != 1 || zt_cur_u8(&c, &acc) ||
        zt_cur_u8(&c, &key) || zt_cur_u16(&c, &hi) || zt_cur_u16(&c, &lo) ||
        rd_u64(&c, &nb) || rd_u64(&c, &na) || zt_cur_bytes(&c, 32, &h256) ||
        zt_cur_bytes(&c, 20, &h1) || zt_cur_vec(&c, 2, &text) ||
        zt_cur_vec(&c, 2, &leaf) || zt_cur_finish(&c) || acc > 1 ||
        key > ZT_PK_RSA)
        return -1;
    /* subject NUL issuer NUL serial NUL */
    tl = zt_cur_left(&text);
    if (tl < 3 || text.p[tl - 1] != 0 ||
        (z1 = memchr(text.p, 0, tl)) == NULL ||
        (z2 = memchr(z1 + 1, 0, tl - (size_t)(z1 + 1 - text.p))) == NULL ||
        z2 == text.p + tl - 1 ||
        memchr(z2 + 1, 0, tl - (size_t)(z2 + 1 - text.p)) != text.p + tl - 1)
        return -1;
    *not_after = (int64_t)na;
    if (p == NULL)
        return 0;
    p->text = malloc(tl);
    if (p->text == NULL)
        return -1;
    memcpy(p->text, text.p, tl);
    p->text_len = tl;
    p->result = (zt_verify_result)(s->client_verify - 1);
    p->accepted = acc;
    p->key = (zt_pk_kind)key;
    p->code = (int)(((uint32_t)hi << 16) | lo);
    p->info.subject = p->text;
    p->info.issuer = p->text + (z1 + 1 - text.p);
    p->info.serial = p->text + (z2 + 1 - text.p);
    p->info.not_before = (int64_t)nb;
    p->info.not_after = (int64_t)na;
    memcpy(p->info.sha256, h256, 32);
    memcpy(p->info.sha1, h1, 20);
    if (zt_cur_left(&leaf) > 0) {
        p->chain = calloc(1, sizeof(*p->chain));
        if (p->chain == NULL ||
            (p->chain->der[0] = malloc(zt_cur_left(&leaf))) == NULL)
            return -1;
        memcpy(p->chain->der[0], leaf.p, zt_cur_left(&leaf));
        p->chain->len[0] = zt_cur_left(&leaf);
        p->chain->n = 1;
    }
    return 0;
}

/* Before a ticket resumes: its identity must read back and its
 * certificate still be valid now (the full handshake checked it then). */
zt_psk_result zt_peer_session_usable(const zt_session *s, uint64_t now_ms)
{
    int64_t not_after;

    if (s->client_verify == ZT_CLIENT_VERIFY_NONE)
        return ZT_PSK_ACCEPTED;
    if (peer_id_read(s, NULL, &not_after) != 0)
        return ZT_PSK_BAD_TICKET;
    if ((int64_t)(now_ms / 1000) > not_after)
        return ZT_PSK_EXPIRED;
    return ZT_PSK_ACCEPTED;
}

/* The binder verified: the connection has the client its ticket names. */
zt_err zt_peer_resume(zt_conn *c, const zt_session *s)
{
    int64_t not_after;
    zt_peer *p;

    if (s->client_verify == ZT_CLIENT_VERIFY_NONE)
        return ZT_OK;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ZT_E_NOMEM;
    c->peer = p;
    if (peer_id_read(s, p, &not_after) != 0)
        return ZT_E_INTERNAL; /* zt_peer_session_usable read it already */
    return ZT_OK;
}

/* ---- getters ----------------------------------------------------------------- */

int zt_conn_peer_requested(const zt_conn *c)
{
    return c->cr_sent;
}

zt_verify_result zt_conn_peer_verify(const zt_conn *c)
{
    return c->peer ? c->peer->result : ZT_VR_NONE;
}

int zt_conn_peer_accepted(const zt_conn *c)
{
    return c->peer ? c->peer->accepted : 0;
}

const char *zt_conn_peer_verify_reason(const zt_conn *c)
{
    if (c->peer == NULL)
        return "none";
    if (c->peer->result == ZT_VR_OK)
        return "ok";
    return zt_x509_code_str(c->peer->code);
}

const zt_peer_info *zt_conn_peer_info(const zt_conn *c)
{
    return c->peer && c->peer->text ? &c->peer->info : NULL;
}

size_t zt_conn_peer_chain_len(const zt_conn *c)
{
    return c->peer && c->peer->chain ? c->peer->chain->n : 0;
}

const uint8_t *zt_conn_peer_cert(const zt_conn *c, size_t i, size_t *len)
{
    *len = 0;
    if (i >= zt_conn_peer_chain_len(c))
        return NULL;
    *len = c->peer->chain->len[i];
    return c->peer->chain->der[i];
}

void zt_conn_peer_release(zt_conn *c)
{
    if (c->peer != NULL) {
        chain_free(c->peer->chain);
        c->peer->chain = NULL;
    }
}
