/*
 * server.c: the server handshake (RFC 8446 sections 4.1-4.6): the state
 * table, ClientHello negotiation and policy, HelloRetryRequest, the server
 * flight, the client Finished, KeyUpdate. Resumption and 0-RTT decisions
 * are in psk.c and early_data.c, tickets in ticket.c, the client's
 * certificate messages in client_auth.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "internal.h"

/* SHA-256("HelloRetryRequest"), section 4.1.3. */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
    0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
    0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* ---- outgoing handshake staging ------------------------------------------ */

static zt_err hs_out_reserve(zt_conn *c, size_t n)
{
    uint8_t *nb;
    size_t cap;

    if (c->hs_out_cap - c->hs_out_len >= n)
        return ZT_OK;
    cap = c->hs_out_cap ? c->hs_out_cap : 4096;
    while (cap - c->hs_out_len < n)
        cap *= 2;
    if (cap > UINT32_MAX)
        return ZT_E_NOMEM; /* sizes are 32-bit (zt_conn) */
    nb = realloc(c->hs_out, cap);
    if (nb == NULL)
        return ZT_E_NOMEM;
    c->hs_out = nb;
    c->hs_out_cap = cap;
    return ZT_OK;
}

uint8_t *zt_hs_scratch(zt_conn *c, size_t n)
{
    return hs_out_reserve(c, n) == ZT_OK ? c->hs_out + c->hs_out_len : NULL;
}

/* A writer over the free tail of the staging buffer. */
static zt_err hs_begin(zt_conn *c, size_t max, zt_wr *w)
{
    zt_err e = hs_out_reserve(c, max);

    if (e != ZT_OK)
        return e;
    *w = zt_wr_make(c->hs_out + c->hs_out_len, max);
    return ZT_OK;
}

/* The message in w is complete: fix its length, add it to the transcript. */
static zt_err hs_commit(zt_conn *c, zt_wr *w)
{
    uint32_t body;

    if (w->err || w->len < 4)
        return ZT_E_INTERNAL;
    body = (uint32_t)(w->len - 4);
    w->buf[1] = (uint8_t)(body >> 16);
    w->buf[2] = (uint8_t)(body >> 8);
    w->buf[3] = (uint8_t)body;
    if (zt_hash_update(c->transcript, w->buf, w->len))
        return ZT_E_INTERNAL;
    c->hs_out_len += w->len;
    return ZT_OK;
}

/* For the other handshake files (client_auth.c). */
zt_err zt_hs_begin(zt_conn *c, size_t max, zt_wr *w)
{
    return hs_begin(c, max, w);
}

zt_err zt_hs_commit(zt_conn *c, zt_wr *w)
{
    return hs_commit(c, w);
}

/* Cut the staged messages into records (coalesced, <= max_frag each). */
zt_err zt_hs_flush(zt_conn *c)
{
    size_t off = 0, n;
    zt_err e;

    while (off < c->hs_out_len) {
        n = c->hs_out_len - off;
        if (n > c->max_frag)
            n = c->max_frag;
        e = zt_emit_record(c, ZT_CT_HANDSHAKE, c->hs_out + off, n);
        if (e != ZT_OK)
            return e;
        off += n;
    }
    c->hs_out_len = 0;
    return ZT_OK;
}

void zt_hs_release(zt_conn *c)
{
    if (c->hs) {
        zt_memzero(c->hs, c->hs_cap);
        free(c->hs);
    }
    if (c->hs_out) {
        zt_memzero(c->hs_out, c->hs_out_cap);
        free(c->hs_out);
    }
    c->hs = c->hs_out = NULL;
    c->hs_len = c->hs_cap = c->hs_out_len = c->hs_out_cap = 0;
    zt_hash_free(c->transcript);
    c->transcript = NULL;
    if (c->hss) {
        if (c->hss->ticket_pt) {
            zt_memzero(c->hss->ticket_pt, ZT_MAX_SESSION_STATE);
            free(c->hss->ticket_pt);
        }
        zt_memzero(c->hss, sizeof(*c->hss));
        free(c->hss);
        c->hss = NULL;
    }
}

/* ---- key log (NSS format) --------------------------------------------- */

void zt_keylog(zt_conn *c, const char *label, const uint8_t *secret)
{
    char line[64 + 1 + 64 + 1 + 2 * ZT_MAX_HASH_LEN + 1];
    size_t i, at;

    if (c->use->keylog == NULL)
        return;
    at = (size_t)snprintf(line, sizeof(line), "%s ", label);
    for (i = 0; i < 32; i++)
        at += (size_t)snprintf(line + at, sizeof(line) - at, "%02x",
                               c->hss->client_random[i]);
    line[at++] = ' ';
    for (i = 0; i < c->hlen; i++)
        at += (size_t)snprintf(line + at, sizeof(line) - at, "%02x",
                               secret[i]);
    line[at] = '\0';
    c->use->keylog(c->use->keylog_arg, c, line);
    zt_memzero(line, sizeof(line));
}

/* ---- negotiation helpers -------------------------------------------------- */

static int list_has(zt_cur list, uint16_t v)
{
    uint16_t x;

    while (zt_cur_u16(&list, &x) == 0)
        if (x == v)
            return 1;
    return 0;
}

/* Up to `max` u16 entries of a validated list, for the ClientHello callback. */
static size_t list_copy(zt_cur list, uint16_t *out, size_t max)
{
    size_t n = 0;
    uint16_t x;

    while (n < max && zt_cur_u16(&list, &x) == 0)
        out[n++] = x;
    return n;
}

/* The key share the client sent for `group`, if any. */
static int find_share(zt_cur list, uint16_t group, zt_cur *kx)
{
    uint16_t g;
    zt_cur k;

    while (zt_cur_left(&list)) {
        if (zt_cur_u16(&list, &g) || zt_cur_vec(&list, 2, &k))
            return 0;
        if (g == group) {
            *kx = k;
            return 1;
        }
    }
    return 0;
}

/* Section 4.2.8: each share's group is offered, and no group twice. */
static zt_err check_shares(const zt_ch *ch)
{
    zt_cur it = ch->key_shares, k, rest;
    uint16_t g;
    zt_cur dummy;

    while (zt_cur_left(&it)) {
        if (zt_cur_u16(&it, &g) || zt_cur_vec(&it, 2, &k))
            return ZT_E_DECODE;
        if (!list_has(ch->groups, g))
            return ZT_E_ILLEGAL_PARAMETER;
        rest = it;
        if (find_share(rest, g, &dummy))
            return ZT_E_ILLEGAL_PARAMETER;
    }
    return ZT_OK;
}

static int name_matches(const char *pat, const char *name, size_t len)
{
    size_t pl = strlen(pat);
    const char *dot;

    if (pl == len && strncasecmp(pat, name, len) == 0)
        return 1;
    if (pl > 2 && pat[0] == '*' && pat[1] == '.') {
        /* "*.example.com" matches exactly one label before the suffix */
        dot = memchr(name, '.', len);
        if (dot == NULL || dot == name)
            return 0;
        return (size_t)(name + len - dot) == pl - 1 &&
               strncasecmp(dot, pat + 1, pl - 1) == 0;
    }
    return 0;
}

/* L1 policy: SNI and ALPN, before any asymmetric crypto. */
static zt_err apply_policy(zt_conn *c, const zt_ch *ch)
{
    const zt_config *u = c->use;
    size_t i;
    zt_cur it, name;

    if (ch->sni == NULL && (u->policy & ZT_POLICY_REQUIRE_SNI))
        return ZT_E_POLICY_SNI;
    if (ch->sni != NULL && (u->policy & ZT_POLICY_SNI_ALLOWLIST)) {
        for (i = 0; i < u->n_names; i++)
            if (name_matches(u->names[i], c->sni ? c->sni : "",
                             ch->sni_len))
                break;
        if (i == u->n_names)
            return ZT_E_POLICY_SNI;
    }
    c->alpn = NULL;
    if (u->n_alpn == 0)
        return ZT_OK; /* we speak no ALPN: ignore the client's list */
    if (!ch->has_alpn)
        return (u->policy & ZT_POLICY_REQUIRE_ALPN) ? ZT_E_POLICY_ALPN
                                                     : ZT_OK;
    /* RFC 7301 section 3.2: server preference */
    for (i = 0; i < u->n_alpn; i++) {
        it = ch->alpn;
        while (zt_cur_left(&it) && zt_cur_vec(&it, 1, &name) == 0) {
            if (zt_cur_left(&name) == u->alpn_len[i] &&
                memcmp(name.p, u->alpn[i], u->alpn_len[i]) == 0) {
                c->alpn = (const char *)u->alpn[i];
                return ZT_OK;
            }
        }
    }
    return ZT_E_POLICY_ALPN;
}

static zt_err choose_suite(zt_conn *c, const zt_ch *ch)
{
    size_t i;

    for (i = 0; i < c->use->n_suites; i++) {
        if (list_has(ch->suites, c->use->suites[i])) {
            c->suite = zt_suite_lookup(c->use->suites[i]);
            c->hlen = zt_hash_len(c->suite->hash);
            return ZT_OK;
        }
    }
    return ZT_E_NO_SHARED_CIPHER;
}

static zt_err choose_credential_pass(zt_conn *c, const zt_ch *ch,
                                     int strict);

/* Section 4.4.2.2: every certificate of the chain signed with a scheme the
 * client lists in signature_algorithms_cert (or, without it, in
 * signature_algorithms). A single self-signed certificate is judged the
 * same way: clients that pin it do not care, others would reject it. */
static int chain_acceptable(const zt_cred *cr, const zt_ch *ch)
{
    zt_cur list = ch->has_sigalgs_cert ? ch->sigalgs_cert : ch->sigalgs;
    size_t i;

    for (i = 0; i < cr->n_chain; i++)
        if (!list_has(list, cr->chain_sig[i]))
            return 0;
    return 1;
}

/*
 * Credential by the client's signature_algorithms, in server preference:
 * Ed25519 (cheapest to sign), then ECDSA P-256, then RSA-PSS; first among
 * chains the client's signature_algorithms_cert accepts, then, as section
 * 4.4.2.2 asks, any chain whose key can sign for the client.
 */
static zt_err choose_credential(zt_conn *c, const zt_ch *ch)
{
    zt_err e = ZT_E_NO_SHARED_SIGALG;
    int strict;

    for (strict = 1; strict >= 0 && e != ZT_OK; strict--)
        e = choose_credential_pass(c, ch, strict);
    return e;
}

static zt_err choose_credential_pass(zt_conn *c, const zt_ch *ch, int strict)
{
    static const zt_key_type order[] = {ZT_KEY_ED25519, ZT_KEY_ECDSA_P256,
                                        ZT_KEY_RSA};
    static const uint16_t rsa[] = {ZT_SIG_RSA_PSS_RSAE_SHA256,
                                   ZT_SIG_RSA_PSS_RSAE_SHA384,
                                   ZT_SIG_RSA_PSS_RSAE_SHA512};
    const zt_config *u = c->use;
    size_t o, i, k;

    for (o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
        for (i = 0; i < u->n_creds; i++) {
            if (u->creds[i].type != order[o] ||
                (strict && !chain_acceptable(&u->creds[i], ch)))
                continue;
            switch (order[o]) {
            case ZT_KEY_ED25519:
                if (list_has(ch->sigalgs, ZT_SIG_ED25519)) {
                    c->sigalg = ZT_SIG_ED25519;
                    c->cred_index = (int)i;
                    return ZT_OK;
                }
                break;
            case ZT_KEY_ECDSA_P256:
                if (list_has(ch->sigalgs, ZT_SIG_ECDSA_SECP256R1_SHA256)) {
                    c->sigalg = ZT_SIG_ECDSA_SECP256R1_SHA256;
                    c->cred_index = (int)i;
                    return ZT_OK;
                }
                break;
            case ZT_KEY_RSA:
                for (k = 0; k < 3; k++) {
                    if (list_has(ch->sigalgs, rsa[k])) {
                        c->sigalg = rsa[k];
                        c->cred_index = (int)i;
                        return ZT_OK;
                    }
                }
                break;
            case ZT_KEY_NONE:
                break;
            }
        }
    }
    return ZT_E_NO_SHARED_SIGALG;
}

/* The ClientHello callback (L1): may switch the configuration. */
static zt_err run_callback(zt_conn *c, const zt_ch *ch)
{
    uint16_t suites[64], groups[64], sigalgs[64];
    zt_client_hello h;
    const zt_config *use = c->use;
    zt_err e;

    if (c->cfg->ch_cb == NULL)
        return ZT_OK;
    memset(&h, 0, sizeof(h));
    h.sni = ch->sni ? c->sni : NULL;
    h.sni_len = ch->sni_len;
    if (ch->has_alpn) {
        h.alpn = ch->alpn.p;
        h.alpn_len = zt_cur_left(&ch->alpn);
    }
    h.cipher_suites = suites;
    h.n_cipher_suites = list_copy(ch->suites, suites, 64);
    h.groups = groups;
    h.n_groups = ch->has_groups ? list_copy(ch->groups, groups, 64) : 0;
    h.sigalgs = sigalgs;
    h.n_sigalgs = ch->has_sigalgs ? list_copy(ch->sigalgs, sigalgs, 64) : 0;
    e = c->cfg->ch_cb(c->cfg->ch_arg, c, &h, &use);
    if (e != ZT_OK) /* a refusal must reach the client as an alert */
        return zt_err_alert(e) == ZT_ALERT_NONE ? ZT_E_POLICY_REJECT : e;
    if (use != NULL)
        c->use = use;
    return ZT_OK;
}

/* ---- messages we send ------------------------------------------------------ */

static zt_err send_ccs_once(zt_conn *c)
{
    static const uint8_t one = 1;

    /* Middlebox compatibility (appendix D.4): only if the client sent a
     * legacy_session_id, once, right after our first handshake message. */
    if (c->hss->session_id_len == 0 || c->ccs_sent)
        return ZT_OK;
    c->ccs_sent = 1;
    return zt_emit_record(c, ZT_CT_CCS, &one, 1);
}

static zt_err send_hrr(zt_conn *c)
{
    uint8_t th[ZT_MAX_HASH_LEN], mh[4];
    zt_wr w;
    size_t ext;
    zt_err e;

    /* Transcript: message_hash(ClientHello1) replaces CH1 (4.4.1). */
    if (zt_hash_peek(c->transcript, th))
        return ZT_E_INTERNAL;
    zt_hash_free(c->transcript);
    c->transcript = zt_hash_new(c->suite->hash);
    mh[0] = ZT_HS_MESSAGE_HASH;
    mh[1] = mh[2] = 0;
    mh[3] = (uint8_t)c->hlen;
    if (c->transcript == NULL || zt_hash_update(c->transcript, mh, 4) ||
        zt_hash_update(c->transcript, th, c->hlen))
        return ZT_E_NOMEM;

    c->hss->cookie_len = c->use->cookie_len;
    if (c->use->rnd(c->use->rnd_arg, c->hss->cookie, c->hss->cookie_len))
        return ZT_E_INTERNAL;

    e = hs_begin(c, 128 + c->hss->cookie_len, &w);
    if (e != ZT_OK)
        return e;
    zt_wr_u8(&w, ZT_HS_SERVER_HELLO);
    zt_wr_u24(&w, 0);
    zt_wr_u16(&w, 0x0303);
    zt_wr_bytes(&w, hrr_random, 32);
    zt_wr_u8(&w, (unsigned)c->hss->session_id_len);
    zt_wr_bytes(&w, c->hss->session_id, c->hss->session_id_len);
    zt_wr_u16(&w, c->suite->id);
    zt_wr_u8(&w, 0);
    ext = zt_wr_open(&w, 2);
    zt_wr_u16(&w, ZT_EXT_KEY_SHARE);
    zt_wr_u16(&w, 2);
    zt_wr_u16(&w, c->group);
    zt_wr_u16(&w, ZT_EXT_COOKIE);
    zt_wr_u16(&w, (unsigned)c->hss->cookie_len + 2);
    zt_wr_u16(&w, (unsigned)c->hss->cookie_len);
    zt_wr_bytes(&w, c->hss->cookie, c->hss->cookie_len);
    zt_wr_u16(&w, ZT_EXT_SUPPORTED_VERSIONS);
    zt_wr_u16(&w, 2);
    zt_wr_u16(&w, ZT_TLS13);
    zt_wr_close(&w, ext, 2);
    e = hs_commit(c, &w);
    if (e == ZT_OK)
        e = zt_hs_flush(c);
    if (e == ZT_OK)
        e = send_ccs_once(c);
    if (e == ZT_OK) {
        c->hrr = 1;
        c->st = ZT_S_WAIT_CH2;
    }
    return e;
}

static zt_err send_server_hello(zt_conn *c, const uint8_t *pub, size_t pub_len)
{
    zt_wr w;
    size_t ext;
    zt_err e;

    e = hs_begin(c, 128 + pub_len, &w);
    if (e != ZT_OK)
        return e;
    zt_wr_u8(&w, ZT_HS_SERVER_HELLO);
    zt_wr_u24(&w, 0);
    zt_wr_u16(&w, 0x0303);
    zt_wr_bytes(&w, c->hss->server_random, 32);
    zt_wr_u8(&w, (unsigned)c->hss->session_id_len);
    zt_wr_bytes(&w, c->hss->session_id, c->hss->session_id_len);
    zt_wr_u16(&w, c->suite->id);
    zt_wr_u8(&w, 0);
    ext = zt_wr_open(&w, 2);
    zt_psk_server_hello_ext(c, &w);
    if (pub_len) { /* none in psk_ke (4.2.9) */
        zt_wr_u16(&w, ZT_EXT_KEY_SHARE);
        zt_wr_u16(&w, (unsigned)(4 + pub_len));
        zt_wr_u16(&w, c->group);
        zt_wr_u16(&w, (unsigned)pub_len);
        zt_wr_bytes(&w, pub, pub_len);
    }
    zt_wr_u16(&w, ZT_EXT_SUPPORTED_VERSIONS);
    zt_wr_u16(&w, 2);
    zt_wr_u16(&w, ZT_TLS13);
    zt_wr_close(&w, ext, 2);
    return hs_commit(c, &w);
}

static zt_err send_encrypted_extensions(zt_conn *c, const zt_ch *ch)
{
    const zt_config *u = c->use;
    const uint16_t *adv = u->adv_groups_set ? u->adv_groups : u->groups;
    size_t n_adv = u->adv_groups_set ? u->n_adv_groups : u->n_groups;
    size_t exts, at, i, l;
    zt_wr w;
    zt_err e;

    e = hs_begin(c, 128 + 2 * n_adv + ZT_MAX_ALPN_LEN, &w);
    if (e != ZT_OK)
        return e;
    zt_wr_u8(&w, ZT_HS_ENCRYPTED_EXTENSIONS);
    zt_wr_u24(&w, 0);
    exts = zt_wr_open(&w, 2);
    if (n_adv) {
        zt_wr_u16(&w, ZT_EXT_SUPPORTED_GROUPS);
        at = zt_wr_open(&w, 2);
        zt_wr_u16(&w, (unsigned)(2 * n_adv));
        for (i = 0; i < n_adv; i++)
            zt_wr_u16(&w, adv[i]);
        zt_wr_close(&w, at, 2);
    }
    if (ch->has_record_size_limit) {
        /* RFC 8449: our limit, 2^14 + 1 in TLS 1.3 */
        zt_wr_u16(&w, ZT_EXT_RECORD_SIZE_LIMIT);
        zt_wr_u16(&w, 2);
        zt_wr_u16(&w, ZT_MAX_PLAINTEXT + 1);
    }
    if (ch->sni != NULL) {
        /* RFC 6066 section 3: empty server_name acknowledges the name */
        zt_wr_u16(&w, ZT_EXT_SERVER_NAME);
        zt_wr_u16(&w, 0);
    }
    if (c->alpn != NULL) {
        l = strlen(c->alpn);
        zt_wr_u16(&w, ZT_EXT_ALPN);
        zt_wr_u16(&w, (unsigned)(l + 3));
        zt_wr_u16(&w, (unsigned)(l + 1));
        zt_wr_u8(&w, (unsigned)l);
        zt_wr_bytes(&w, c->alpn, l);
    }
    if (c->early_ok) {
        /* 4.2.10: we will read the early data */
        zt_wr_u16(&w, ZT_EXT_EARLY_DATA);
        zt_wr_u16(&w, 0);
    }
    zt_wr_close(&w, exts, 2);
    return hs_commit(c, &w);
}

void zt_write_certificate_body(zt_wr *w, const zt_cred *cr)
{
    size_t i, list;

    zt_wr_u8(w, 0); /* certificate_request_context */
    list = zt_wr_open(w, 3);
    for (i = 0; i < cr->n_chain; i++) {
        zt_wr_u24(w, (uint32_t)cr->chain_len[i]);
        zt_wr_bytes(w, cr->chain_der[i], cr->chain_len[i]);
        zt_wr_u16(w, 0); /* extensions */
    }
    zt_wr_close(w, list, 3);
}

static zt_err send_certificate(zt_conn *c)
{
    const zt_config *u = c->use;
    const zt_cred *cr = &u->creds[c->cred_index];
    size_t need = 16, i;
    int a = zt_cert_comp_pick(u, (size_t)c->cred_index, c->hss->cert_comp);
    zt_wr w;
    zt_err e;

    if (a >= 0) {
        /* RFC 8879 section 4: CompressedCertificate in place of
         * Certificate, in the transcript as sent; compressed at load */
        e = hs_begin(c, 12 + u->comp[c->cred_index].len[a], &w);
        if (e != ZT_OK)
            return e;
        zt_wr_u8(&w, ZT_HS_COMPRESSED_CERTIFICATE);
        zt_wr_u24(&w, 0);
        zt_wr_u16(&w, u->comp_algs[a]);
        zt_wr_u24(&w, (uint32_t)u->comp[c->cred_index].raw_len);
        zt_wr_u24(&w, (uint32_t)u->comp[c->cred_index].len[a]);
        zt_wr_bytes(&w, u->comp[c->cred_index].data[a],
                    u->comp[c->cred_index].len[a]);
        c->cert_comp = (uint8_t)u->comp_algs[a];
        return hs_commit(c, &w);
    }
    for (i = 0; i < cr->n_chain; i++)
        need += 5 + cr->chain_len[i];
    e = hs_begin(c, need, &w);
    if (e != ZT_OK)
        return e;
    zt_wr_u8(&w, ZT_HS_CERTIFICATE);
    zt_wr_u24(&w, 0);
    zt_write_certificate_body(&w, cr);
    return hs_commit(c, &w);
}

static zt_err send_certificate_verify(zt_conn *c)
{
    static const char ctx[] = "TLS 1.3, server CertificateVerify";
    uint8_t content[64 + sizeof(ctx) + ZT_MAX_HASH_LEN];
    uint8_t sig[ZT_MAX_SIG_LEN];
    size_t sig_len = sizeof(sig), n;
    const zt_config *u = c->use;
    zt_wr w;
    zt_err e;
    int rc;

    /* Section 4.4.3: 64 spaces, context string, 0, transcript hash. */
    memset(content, 0x20, 64);
    memcpy(content + 64, ctx, sizeof(ctx)); /* includes the 0 separator */
    n = 64 + sizeof(ctx);
    if (zt_hash_peek(c->transcript, content + n))
        return ZT_E_INTERNAL;
    n += c->hlen;
    if (u->signer != NULL)
        rc = u->signer(u->signer_arg, c->cred_index, c->sigalg, content, n,
                       sig, &sig_len);
    else
        rc = zt_cred_sign(&u->creds[c->cred_index], c->sigalg, content, n,
                          sig, &sig_len);
    if (rc != 0 || sig_len == 0 || sig_len > sizeof(sig))
        return ZT_E_INTERNAL;
    e = hs_begin(c, 16 + sig_len, &w);
    if (e != ZT_OK)
        return e;
    zt_wr_u8(&w, ZT_HS_CERTIFICATE_VERIFY);
    zt_wr_u24(&w, 0);
    zt_wr_u16(&w, c->sigalg);
    zt_wr_u16(&w, (unsigned)sig_len);
    zt_wr_bytes(&w, sig, sig_len);
    return hs_commit(c, &w);
}

static zt_err send_finished(zt_conn *c)
{
    uint8_t th[ZT_MAX_HASH_LEN], mac[ZT_MAX_HASH_LEN];
    zt_wr w;
    zt_err e;

    if (zt_hash_peek(c->transcript, th))
        return ZT_E_INTERNAL;
    e = zt_finished_mac(c->suite->hash, c->hss->s_hs, th, mac);
    if (e == ZT_OK)
        e = hs_begin(c, 4 + c->hlen, &w);
    if (e == ZT_OK) {
        zt_wr_u8(&w, ZT_HS_FINISHED);
        zt_wr_u24(&w, 0);
        zt_wr_bytes(&w, mac, c->hlen);
        e = hs_commit(c, &w);
    }
    zt_memzero(mac, sizeof(mac));
    return e;
}

/* ---- key schedule steps (section 7.1) ------------------------------------ */

/* The early secret is the PSK's (psk.c) or, without one, of zeros; in
 * psk_ke there is no (EC)DHE input (zeros again). */
static zt_err handshake_secrets(zt_conn *c, const uint8_t *shared,
                                size_t shared_len, uint8_t *hs_secret)
{
    uint8_t zeros[ZT_MAX_HASH_LEN] = {0};
    uint8_t empty[ZT_MAX_HASH_LEN], derived[ZT_MAX_HASH_LEN];
    uint8_t th[ZT_MAX_HASH_LEN];
    uint8_t *early = c->hss->early;
    zt_hash_alg h = c->suite->hash;
    zt_err e = ZT_E_INTERNAL;

    if ((c->hss->psk_len == 0 &&
         zt_hkdf_extract(h, NULL, 0, zeros, c->hlen, early)) ||
        zt_hash_oneshot(h, NULL, 0, empty))
        goto out;
    if (shared_len == 0) {
        shared = zeros;
        shared_len = c->hlen;
    }
    e = zt_derive_secret(h, early, "derived", empty, derived);
    if (e != ZT_OK)
        goto out;
    e = ZT_E_INTERNAL;
    if (zt_hkdf_extract(h, derived, c->hlen, shared, shared_len, hs_secret) ||
        zt_hash_peek(c->transcript, th))
        goto out;
    e = zt_derive_secret(h, hs_secret, "c hs traffic", th, c->hss->c_hs);
    if (e == ZT_OK)
        e = zt_derive_secret(h, hs_secret, "s hs traffic", th, c->hss->s_hs);
out:
    zt_memzero(derived, sizeof(derived));
    return e;
}

static zt_err master_secrets(zt_conn *c, const uint8_t *hs_secret,
                             uint8_t *s_ap)
{
    uint8_t zeros[ZT_MAX_HASH_LEN] = {0}, empty[ZT_MAX_HASH_LEN];
    uint8_t derived[ZT_MAX_HASH_LEN], th[ZT_MAX_HASH_LEN];
    uint8_t exp[ZT_MAX_HASH_LEN];
    zt_hash_alg h = c->suite->hash;
    zt_err e = ZT_E_INTERNAL;

    if (zt_hash_oneshot(h, NULL, 0, empty))
        return ZT_E_INTERNAL;
    e = zt_derive_secret(h, hs_secret, "derived", empty, derived);
    if (e != ZT_OK)
        goto out;
    e = ZT_E_INTERNAL;
    if (zt_hkdf_extract(h, derived, c->hlen, zeros, c->hlen, c->hss->master) ||
        zt_hash_peek(c->transcript, th))
        goto out;
    e = zt_derive_secret(h, c->hss->master, "c ap traffic", th, c->hss->c_ap);
    if (e == ZT_OK)
        e = zt_derive_secret(h, c->hss->master, "s ap traffic", th, s_ap);
    if (e == ZT_OK && c->use->keylog) {
        e = zt_derive_secret(h, c->hss->master, "exp master", th, exp);
        if (e == ZT_OK) {
            zt_keylog(c, "CLIENT_TRAFFIC_SECRET_0", c->hss->c_ap);
            zt_keylog(c, "SERVER_TRAFFIC_SECRET_0", s_ap);
            zt_keylog(c, "EXPORTER_SECRET", exp);
        }
    }
out:
    zt_memzero(derived, sizeof(derived));
    zt_memzero(exp, sizeof(exp));
    return e;
}

/* ---- handlers ------------------------------------------------------------- */

/* Everything after the ClientHello is accepted: ServerHello to Finished. */
static zt_err server_flight(zt_conn *c, const zt_ch *ch, zt_cur share)
{
    uint8_t pub[ZT_KX_MAX_PUB];
    uint8_t shared[ZT_KX_MAX_SECRET], hs_secret[ZT_MAX_HASH_LEN];
    uint8_t s_ap[ZT_MAX_HASH_LEN];
    size_t pub_len = sizeof(pub), shared_len = sizeof(shared);
    const zt_config *u = c->use;
    zt_err e;
    int rc;

    if (c->hss->psk_ke) {
        pub_len = shared_len = 0; /* psk_ke: no (EC)DHE */
        c->group = 0;
    } else if (zt_cur_left(&share) != zt_kx_pub_len(c->group)) {
        /* Exact length for the group (RFC 8446 4.2.8.1/4.2.8.2,
         * draft-ietf-tls-ecdhe-mlkem section 3), before any work. */
        return ZT_E_BAD_KEY_SHARE;
    }
    if (u->rnd(u->rnd_arg, c->hss->server_random, 32))
        return ZT_E_INTERNAL;
    /* Our share and the secret in one step: ECDH, or for a hybrid group
     * ECDH plus the ML-KEM encapsulation to the client's key (which must
     * pass the FIPS 203 section 7.2 modulus check). */
    rc = pub_len ? zt_kx_encaps(c->group, u->rnd, u->rnd_arg, share.p,
                                zt_cur_left(&share), pub, &pub_len, shared,
                                &shared_len)
                 : 0;
    if (rc != 0) {
        e = rc == ZT_KX_BAD_PEER ? ZT_E_BAD_KEY_SHARE : ZT_E_INTERNAL;
        goto out;
    }
    e = send_server_hello(c, pub, pub_len);
    if (e == ZT_OK)
        e = zt_hs_flush(c);
    if (e == ZT_OK)
        e = send_ccs_once(c);
    if (e == ZT_OK)
        e = handshake_secrets(c, shared, shared_len, hs_secret);
    if (e != ZT_OK)
        goto out;
    zt_keylog(c, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", c->hss->c_hs);
    zt_keylog(c, "SERVER_HANDSHAKE_TRAFFIC_SECRET", c->hss->s_hs);
    e = zt_set_key(c, &c->wr, c->hss->s_hs);
    /* accepted 0-RTT is read first, under the early key (2.3) */
    if (e == ZT_OK)
        e = zt_set_key(c, &c->rd, c->early_ok ? c->hss->c_e : c->hss->c_hs);
    if (ch->has_record_size_limit &&
        (size_t)ch->record_size_limit - 1 < c->max_frag)
        c->max_frag = (size_t)ch->record_size_limit - 1;
    if (e == ZT_OK)
        e = send_encrypted_extensions(c, ch);
    if (e == ZT_OK && !c->resumed && u->verify_mode != ZT_VERIFY_OFF)
        e = zt_send_certificate_request(c); /* client_auth.c; not with a
                                               PSK (4.3.2) */
    if (e == ZT_OK && !c->resumed) /* a PSK authenticates (2.2) */
        e = send_certificate(c);
    if (e == ZT_OK && !c->resumed)
        e = send_certificate_verify(c);
    if (e == ZT_OK)
        e = send_finished(c);
    if (e == ZT_OK)
        e = zt_hs_flush(c);
    if (e == ZT_OK)
        e = master_secrets(c, hs_secret, s_ap);
    if (e == ZT_OK)
        e = zt_set_key(c, &c->wr, s_ap);
    if (e == ZT_OK)
        c->st = c->early_ok  ? ZT_S_WAIT_EOED
                : c->cr_sent ? ZT_S_WAIT_CERT
                             : ZT_S_WAIT_FINISHED;
out:
    zt_memzero(shared, sizeof(shared));
    zt_memzero(hs_secret, sizeof(hs_secret));
    zt_memzero(s_ap, sizeof(s_ap));
    return e;
}

/* Copy the SNI out of the message: the embedder logs it, also when the
 * ClientHello fails. */
static zt_err keep_sni(zt_conn *c, const zt_ch *ch)
{
    if (ch->sni == NULL || c->sni != NULL)
        return ZT_OK;
    c->sni = malloc(ch->sni_len + 1);
    if (c->sni == NULL)
        return ZT_E_NOMEM;
    memcpy(c->sni, ch->sni, ch->sni_len);
    c->sni[ch->sni_len] = '\0';
    return ZT_OK;
}

static zt_err first_client_hello(zt_conn *c, const zt_ch *ch)
{
    zt_err e;

    memcpy(c->hss->client_random, ch->random, 32);
    memcpy(c->hss->session_id, ch->session_id, ch->session_id_len);
    c->hss->session_id_len = ch->session_id_len;
    memcpy(c->hss->ch1_digest, ch->fixed_digest, 32);
    c->hss->cert_comp = ch->cert_comp;
    e = keep_sni(c, ch);
    if (e == ZT_OK)
        e = run_callback(c, ch);
    if (e == ZT_OK)
        e = apply_policy(c, ch);
    if (e == ZT_OK)
        e = choose_suite(c, ch);
    if (e != ZT_OK)
        return e;
    c->transcript = zt_hash_new(c->suite->hash);
    return c->transcript ? ZT_OK : ZT_E_NOMEM;
}

/* A group with a key share the client sent, in our order (*with_share);
 * else the first group we both support (*common), for a HelloRetryRequest. */
static void pick_group(const zt_conn *c, const zt_ch *ch, uint16_t *with_share,
                       uint16_t *common, zt_cur *share)
{
    size_t i;
    uint16_t g;

    *with_share = *common = 0;
    for (i = 0; ch->has_groups && i < c->use->n_groups; i++) {
        g = c->use->groups[i];
        if (!list_has(ch->groups, g))
            continue;
        if (*common == 0)
            *common = g;
        if (ch->has_key_share && find_share(ch->key_shares, g, share)) {
            *with_share = g;
            return;
        }
    }
}

static zt_err on_client_hello(zt_conn *c, const uint8_t *msg, size_t len)
{
    zt_ch ch;
    zt_cur share = {0};
    uint16_t with_share, common;
    zt_err e;
    int second = c->st == ZT_S_WAIT_CH2;

    if (!second)
        zt_conn_keep_ja4(c, msg + 4, len - 4); /* refused ones too */
    e = zt_parse_client_hello(msg + 4, len - 4, &ch);
    if (e != ZT_OK) {
        if (!second)
            (void)keep_sni(c, &ch);
        return e;
    }
    if (c->hss == NULL) {
        c->hss = calloc(1, sizeof(*c->hss));
        if (c->hss == NULL)
            return ZT_E_NOMEM;
    }
    if (!second) {
        e = first_client_hello(c, &ch);
        /* 0-RTT not accepted is skipped (4.2.10): trial-decrypted after a
         * ServerHello, or dropped unread after a HelloRetryRequest. */
        if (ch.has_early_data)
            c->early_skip = zt_early_skip_budget(c->use);
    } else {
        /* Section 4.1.2: the second ClientHello repeats the first except
         * for key_share, early_data, cookie, pre_shared_key, padding. */
        if (!zt_ct_equal(ch.fixed_digest, c->hss->ch1_digest, 32))
            return ZT_E_HRR_MISMATCH;
        if (!ch.has_cookie || zt_cur_left(&ch.cookie) != c->hss->cookie_len ||
            !zt_ct_equal(ch.cookie.p, c->hss->cookie, c->hss->cookie_len))
            return ZT_E_HRR_MISMATCH;
        if (ch.has_early_data)
            return ZT_E_HRR_MISMATCH;
        c->early_skip = 0; /* only records before this hello were 0-RTT */
    }
    if (e == ZT_OK)
        e = zt_psk_check_offer(&ch, second);
    if (e != ZT_OK)
        return e;
    /* Section 9.2: key_share with supported_groups; without a PSK, also
     * signature_algorithms (checked again if the PSK is not taken). */
    if (ch.has_groups != ch.has_key_share ||
        (!ch.has_psk && (!ch.has_groups || !ch.has_sigalgs)))
        return ZT_E_MISSING_EXTENSION;
    if (ch.has_key_share) {
        e = check_shares(&ch);
        if (e != ZT_OK)
            return e;
    }
    pick_group(c, &ch, &with_share, &common, &share);
    if (!second) {
        c->group = with_share;
        if (with_share == 0 && common != 0) {
            /* a certificate must exist for a client that cannot resume */
            if (!ch.has_psk) {
                e = choose_credential(c, &ch);
                if (e != ZT_OK)
                    return e;
            }
            c->group = common;
            if (zt_hash_update(c->transcript, msg, len))
                return ZT_E_INTERNAL;
            if (ch.has_early_data)
                c->early_result = ZT_EARLY_HRR;
            return send_hrr(c);
        }
    } else {
        /* Exactly one share, for the group we asked for (4.2.8). */
        zt_cur it = ch.key_shares, k;
        uint16_t g;
        if (zt_cur_u16(&it, &g) || zt_cur_vec(&it, 2, &k) ||
            zt_cur_left(&it) != 0 || g != c->group || with_share != g)
            return ZT_E_HRR_MISMATCH;
    }
    /* The ClientHello our ServerHello answers: resume, or a full
     * handshake that needs a certificate and a key share. */
    e = zt_psk_choose(c, &ch, c->group != 0);
    if (e != ZT_OK)
        return e;
    if (c->hss->psk_len == 0) {
        if (!ch.has_groups || !ch.has_sigalgs)
            return ZT_E_MISSING_EXTENSION;
        if (c->cred_index < 0) {
            e = choose_credential(c, &ch);
            if (e != ZT_OK)
                return e;
        }
        if (c->group == 0)
            return ZT_E_NO_SHARED_GROUP;
    }
    e = zt_psk_transcript(c, &ch, msg, len);
    if (e == ZT_OK)
        e = zt_early_decide(c, &ch);
    if (e != ZT_OK)
        return e;
    return server_flight(c, &ch, share);
}

static zt_err on_finished(zt_conn *c, const uint8_t *msg, size_t len)
{
    uint8_t th[ZT_MAX_HASH_LEN], mac[ZT_MAX_HASH_LEN];
    zt_err e;
    int ok;

    /* 4.4.4: contents not correct (a wrong length included) MUST be
     * decrypt_error */
    if (len - 4 != c->hlen)
        return ZT_E_BAD_FINISHED;
    if (zt_hash_peek(c->transcript, th))
        return ZT_E_INTERNAL;
    e = zt_finished_mac(c->suite->hash, c->hss->c_hs, th, mac);
    if (e != ZT_OK)
        return e;
    ok = zt_ct_equal(mac, msg + 4, c->hlen);
    zt_memzero(mac, sizeof(mac));
    if (!ok)
        return ZT_E_BAD_FINISHED;
    e = zt_set_key(c, &c->rd, c->hss->c_ap);
    /* tickets: resumption_master_secret covers this Finished (7.1) */
    if (e == ZT_OK && zt_hash_update(c->transcript, msg, len))
        e = ZT_E_INTERNAL;
    if (e == ZT_OK)
        e = zt_send_tickets(c);
    if (e != ZT_OK)
        return e;
    zt_hs_release(c); /* wipes the handshake secrets */
    zt_peer_handshake_done(c);
    c->st = ZT_S_CONNECTED;
    c->done = 1;
    if (c->cfg->clock)
        c->t_done = c->cfg->clock(c->cfg->clock_arg);
    return ZT_OK;
}

/* Rotate one direction's traffic secret (section 7.2). */
static zt_err next_secret(zt_conn *c, zt_dir *d)
{
    uint8_t n[ZT_MAX_HASH_LEN];
    zt_err e;

    e = zt_hkdf_expand_label(c->suite->hash, d->secret, c->hlen,
                             "traffic upd", NULL, 0, n, c->hlen);
    if (e == ZT_OK)
        e = zt_set_key(c, d, n);
    zt_memzero(n, sizeof(n));
    return e;
}

zt_err zt_send_key_update(zt_conn *c, int request)
{
    uint8_t m[5] = {ZT_HS_KEY_UPDATE, 0, 0, 1, (uint8_t)(request ? 1 : 0)};
    zt_err e;

    e = zt_emit_record(c, ZT_CT_HANDSHAKE, m, sizeof(m));
    if (e == ZT_OK)
        e = next_secret(c, &c->wr);
    if (e == ZT_OK)
        c->key_updates += c->key_updates < UINT32_MAX;
    return e;
}

static zt_err on_key_update(zt_conn *c, const uint8_t *msg, size_t len)
{
    zt_err e;

    /* Section 4.6.3 */
    if (len != 5)
        return ZT_E_DECODE;
    if (msg[4] > 1)
        return ZT_E_ILLEGAL_PARAMETER;
    /* each one costs a key derivation; bounded until data flows again */
    if (++c->n_ku > ZT_MAX_KEY_UPDATES)
        return ZT_E_TOO_MANY_KEY_UPDATES;
    e = next_secret(c, &c->rd);
    if (e != ZT_OK)
        return e;
    c->key_updates += c->key_updates < UINT32_MAX;
    if (msg[4] == 1 && !c->closed)
        return zt_send_key_update(c, 0);
    return ZT_OK;
}

/* ---- the state table: (state, message) -> handler ------------------------- */

typedef zt_err (*zt_handler)(zt_conn *c, const uint8_t *msg, size_t len);

static const struct zt_transition {
    zt_state state;
    uint8_t msg;
    zt_handler fn;
} zt_fsm[] = {
    {ZT_S_WAIT_CH, ZT_HS_CLIENT_HELLO, on_client_hello},
    {ZT_S_WAIT_CH2, ZT_HS_CLIENT_HELLO, on_client_hello},
    {ZT_S_WAIT_EOED, ZT_HS_END_OF_EARLY_DATA, zt_on_end_of_early_data},
    {ZT_S_WAIT_CERT, ZT_HS_CERTIFICATE, zt_on_client_certificate},
    {ZT_S_WAIT_CV, ZT_HS_CERTIFICATE_VERIFY, zt_on_client_cert_verify},
    {ZT_S_WAIT_FINISHED, ZT_HS_FINISHED, on_finished},
    {ZT_S_CONNECTED, ZT_HS_KEY_UPDATE, on_key_update},
};

/* One complete handshake message (header included). The dispatcher, not
 * the handler, rejects what the state does not allow. */
zt_err zt_on_handshake_msg(zt_conn *c, const uint8_t *msg, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(zt_fsm) / sizeof(zt_fsm[0]); i++)
        if (zt_fsm[i].state == c->st && zt_fsm[i].msg == msg[0])
            return zt_fsm[i].fn(c, msg, len);
    return ZT_E_UNEXPECTED_MESSAGE;
}
