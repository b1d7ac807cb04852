/*
 * internal.h: types shared by the core's .c files. Not installed; the nginx
 * glue and the example server use zigtls.h only. Unit tests may include it.
 */
#ifndef ZT_INTERNAL_H
#define ZT_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "crypto.h"
#include "zigtls.h"

/* 0-RTT we did not accept is skipped up to this many bytes (RFC 8446
 * section 4.2.10), or up to the max_early_data we grant plus record
 * overhead if that is more (zt_early_skip_budget). */
#define ZT_EARLY_SKIP_MAX (4 * (ZT_MAX_CIPHERTEXT + 5))

/* Most pieces one record gathers (zt_write_v). */
#define ZT_MAX_IOV 64

/* ---- content and handshake types (RFC 8446 sections 4 and 5.1) ---------- */
enum {
    ZT_CT_CCS = 20,
    ZT_CT_ALERT = 21,
    ZT_CT_HANDSHAKE = 22,
    ZT_CT_APPDATA = 23
};
enum {
    ZT_HS_CLIENT_HELLO = 1,
    ZT_HS_SERVER_HELLO = 2,
    ZT_HS_NEW_SESSION_TICKET = 4,
    ZT_HS_END_OF_EARLY_DATA = 5,
    ZT_HS_ENCRYPTED_EXTENSIONS = 8,
    ZT_HS_CERTIFICATE = 11,
    ZT_HS_CERTIFICATE_REQUEST = 13,
    ZT_HS_CERTIFICATE_VERIFY = 15,
    ZT_HS_FINISHED = 20,
    ZT_HS_KEY_UPDATE = 24,
    ZT_HS_COMPRESSED_CERTIFICATE = 25, /* RFC 8879 */
    ZT_HS_MESSAGE_HASH = 254
};
enum {
    ZT_EXT_SERVER_NAME = 0,
    ZT_EXT_STATUS_REQUEST = 5,
    ZT_EXT_SUPPORTED_GROUPS = 10,
    ZT_EXT_SIGNATURE_ALGORITHMS = 13,
    ZT_EXT_ALPN = 16,
    ZT_EXT_PADDING = 21,
    ZT_EXT_RECORD_SIZE_LIMIT = 28,
    ZT_EXT_PRE_SHARED_KEY = 41,
    ZT_EXT_EARLY_DATA = 42,
    ZT_EXT_SUPPORTED_VERSIONS = 43,
    ZT_EXT_COOKIE = 44,
    ZT_EXT_PSK_KEY_EXCHANGE_MODES = 45,
    ZT_EXT_CERTIFICATE_AUTHORITIES = 47,
    ZT_EXT_SIGNATURE_ALGORITHMS_CERT = 50,
    ZT_EXT_KEY_SHARE = 51,
    ZT_EXT_COMPRESS_CERTIFICATE = 27 /* RFC 8879 */
};

/* ---- reader: every untrusted byte goes through one cursor --------------- */
typedef struct zt_cur {
    const uint8_t *p;
    const uint8_t *end;
} zt_cur;

static inline zt_cur zt_cur_make(const uint8_t *p, size_t n)
{
    zt_cur c;
    c.p = p;
    c.end = p + n;
    return c;
}
static inline size_t zt_cur_left(const zt_cur *c)
{
    return (size_t)(c->end - c->p);
}
ZT_WUR static inline int zt_cur_u8(zt_cur *c, uint8_t *v)
{
    if (c->p >= c->end)
        return -1;
    *v = *c->p++;
    return 0;
}
ZT_WUR static inline int zt_cur_u16(zt_cur *c, uint16_t *v)
{
    if (zt_cur_left(c) < 2)
        return -1;
    *v = (uint16_t)((c->p[0] << 8) | c->p[1]);
    c->p += 2;
    return 0;
}
ZT_WUR static inline int zt_cur_u24(zt_cur *c, uint32_t *v)
{
    if (zt_cur_left(c) < 3)
        return -1;
    *v = ((uint32_t)c->p[0] << 16) | ((uint32_t)c->p[1] << 8) | c->p[2];
    c->p += 3;
    return 0;
}
ZT_WUR static inline int zt_cur_bytes(zt_cur *c, size_t n, const uint8_t **out)
{
    if (zt_cur_left(c) < n)
        return -1;
    *out = c->p;
    c->p += n;
    return 0;
}
/* A vector with a 1-, 2- or 3-byte length prefix; sub covers its body. */
ZT_WUR static inline int zt_cur_vec(zt_cur *c, int lenbytes, zt_cur *sub)
{
    uint32_t n = 0;
    uint8_t b8;
    uint16_t b16;
    const uint8_t *p;

    if (lenbytes == 1) {
        if (zt_cur_u8(c, &b8))
            return -1;
        n = b8;
    } else if (lenbytes == 2) {
        if (zt_cur_u16(c, &b16))
            return -1;
        n = b16;
    } else if (zt_cur_u24(c, &n)) {
        return -1;
    }
    if (zt_cur_bytes(c, n, &p))
        return -1;
    *sub = zt_cur_make(p, n);
    return 0;
}
/* Trailing bytes are a decode_error. */
ZT_WUR static inline int zt_cur_finish(const zt_cur *c)
{
    return c->p == c->end ? 0 : -1;
}

/* ---- writer: every byte we emit; refuses to overflow --------------------- */
typedef struct zt_wr {
    uint8_t *buf;
    size_t len;
    size_t cap;
    int err;
} zt_wr;

static inline zt_wr zt_wr_make(uint8_t *buf, size_t cap)
{
    zt_wr w;
    w.buf = buf;
    w.len = 0;
    w.cap = cap;
    w.err = 0;
    return w;
}
static inline void zt_wr_bytes(zt_wr *w, const void *p, size_t n)
{
    if (w->err || w->cap - w->len < n) {
        w->err = 1;
        return;
    }
    if (n)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}
static inline void zt_wr_u8(zt_wr *w, unsigned v)
{
    uint8_t b = (uint8_t)v;
    zt_wr_bytes(w, &b, 1);
}
static inline void zt_wr_u16(zt_wr *w, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    zt_wr_bytes(w, b, 2);
}
static inline void zt_wr_u24(zt_wr *w, uint32_t v)
{
    uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    zt_wr_bytes(w, b, 3);
}
/* Open a length-prefixed vector; close patches the length in place. */
static inline size_t zt_wr_open(zt_wr *w, int lenbytes)
{
    size_t at = w->len;
    uint8_t z[3] = {0, 0, 0};
    zt_wr_bytes(w, z, (size_t)lenbytes);
    return at;
}
static inline void zt_wr_close(zt_wr *w, size_t at, int lenbytes)
{
    size_t n;
    int i;

    if (w->err)
        return;
    n = w->len - at - (size_t)lenbytes;
    if (lenbytes < 3 && n >> (8 * lenbytes)) {
        w->err = 1;
        return;
    }
    for (i = 0; i < lenbytes; i++)
        w->buf[at + (size_t)i] = (uint8_t)(n >> (8 * (lenbytes - 1 - i)));
}

/* ---- configuration ------------------------------------------------------ */
#define ZT_CERT_COMP_MAX 2 /* zlib, brotli (compress.c) */
struct zt_config {
    uint16_t suites[ZT_MAX_SUITES];
    size_t n_suites;
    uint16_t groups[ZT_MAX_GROUPS];
    size_t n_groups;
    uint16_t adv_groups[32];
    size_t n_adv_groups;
    int adv_groups_set;
    uint8_t alpn[ZT_MAX_ALPN_PROTOS][ZT_MAX_ALPN_LEN + 1]; /* NUL-terminated */
    uint8_t alpn_len[ZT_MAX_ALPN_PROTOS];
    size_t n_alpn;
    unsigned policy;
    char **names;
    size_t n_names;
    zt_cred creds[ZT_MAX_CREDENTIALS];
    size_t n_creds;
    /* RFC 8879: each credential's Certificate message, compressed once
     * (compress.c) with each of comp_algs */
    uint16_t comp_algs[ZT_CERT_COMP_MAX];
    size_t n_comp;
    struct {
        size_t raw_len;                  /* the message body uncompressed */
        uint8_t *data[ZT_CERT_COMP_MAX]; /* NULL: no gain, not offered */
        size_t len[ZT_CERT_COMP_MAX];
    } comp[ZT_MAX_CREDENTIALS];
    zt_random_fn rnd;
    void *rnd_arg;
    zt_clock_fn clock;
    void *clock_arg;
    zt_sign_fn signer;
    void *signer_arg;
    zt_keylog_fn keylog;
    void *keylog_arg;
    zt_client_hello_fn ch_cb;
    void *ch_arg;
    size_t cookie_len;
    unsigned rsa_min_bits;
    uint64_t generation;
    uint64_t ku_limit;
    size_t max_hs; /* largest handshake message body accepted */
    /* sessions (ticket.c, psk.c, early_data.c) */
    const zt_ticket_keys *ticket_ring;
    zt_ticket_seal_fn tk_seal;
    zt_ticket_open_fn tk_open;
    void *tk_arg;
    zt_clock_fn wall;
    void *wall_arg;
    unsigned ticket_count;
    uint32_t ticket_lifetime; /* seconds */
    uint8_t session_ctx[ZT_MAX_SESSION_CONTEXT];
    size_t session_ctx_len;
    int psk_ke;
    uint32_t max_early;
    uint32_t age_window; /* ms */
    uint8_t node_id[ZT_MAX_NODE_ID];
    size_t node_id_len;
    zt_replay_fn replay;
    void *replay_arg;
    /* client certificates (client_auth.c) */
    zt_verify_mode verify_mode;
    unsigned verify_flags;
    unsigned verify_depth;
    zt_trust *trust;            /* NULL until a CA or CRL is added */
    uint16_t cr_sigalgs[16];    /* CertificateRequest signature_algorithms */
    size_t n_cr_sigalgs;
};

/* ---- suites ---------------------------------------------------------------- */
typedef struct zt_suite_info {
    uint16_t id;
    const char *name;
    zt_aead_alg aead;
    zt_hash_alg hash;
    size_t key_len;
} zt_suite_info;
const zt_suite_info *zt_suite_lookup(uint16_t id);

/* ---- one direction of record protection -------------------------------- */
typedef struct zt_dir {
    zt_aead *aead;       /* NULL while unprotected, or dropped while idle */
    uint64_t seq;
    uint16_t epoch;      /* bumped at every key change (compared only) */
    uint8_t keyed;       /* a traffic key is installed */
    uint8_t iv[ZT_AEAD_NONCE_LEN];
    uint8_t key[ZT_AEAD_MAX_KEY_LEN]; /* kept to rebuild aead after idle */
    uint8_t secret[ZT_MAX_HASH_LEN]; /* current traffic secret (KeyUpdate) */
} zt_dir;

/* ---- handshake states (RFC 8446 appendix A.2, server) ---------------------- */
typedef enum {
    ZT_S_WAIT_CH = 0,   /* START: nothing received yet */
    ZT_S_WAIT_CH2,      /* HelloRetryRequest sent */
    ZT_S_WAIT_EOED,     /* 0-RTT accepted: early data, then EndOfEarlyData */
    ZT_S_WAIT_CERT,     /* server flight with CertificateRequest sent */
    ZT_S_WAIT_CV,       /* client Certificate (not empty) received */
    ZT_S_WAIT_FINISHED, /* server flight sent; WAIT_FLIGHT2 without mTLS */
    ZT_S_CONNECTED,
    ZT_S_FAILED,
    ZT_S__COUNT
} zt_state;

/* Parsed ClientHello: pointers into the message being processed. */
typedef struct zt_ch {
    uint16_t legacy_version;
    const uint8_t *random;
    const uint8_t *session_id;
    size_t session_id_len;
    zt_cur suites;
    int has_versions, offers_tls13;
    int has_groups;
    zt_cur groups;
    int has_key_share;
    zt_cur key_shares;
    int has_sigalgs;
    zt_cur sigalgs;
    int has_sigalgs_cert;
    zt_cur sigalgs_cert;
    const uint8_t *sni;
    size_t sni_len;
    int has_alpn;
    zt_cur alpn;
    int has_cookie;
    zt_cur cookie;
    int has_record_size_limit;
    uint16_t record_size_limit;
    int has_early_data;
    int has_psk_modes;
    unsigned psk_modes; /* ZT_PSK_MODE_* bits offered */
    int has_psk;
    zt_cur psk_identities; /* OfferedPsks.identities body (4.2.11) */
    zt_cur psk_binders;    /* OfferedPsks.binders body */
    const uint8_t *psk_cut; /* where the binders list starts: Truncate() */
    unsigned cert_comp;     /* RFC 8879 algorithms offered (bit 1 << alg) */
    /* digest of everything a second ClientHello must repeat (4.1.2) */
    uint8_t fixed_digest[32];
} zt_ch;

/* Names of one kind (cipher suites, groups) for zt_parse_names (config.c). */
typedef struct zt_name_list {
    const char *what;                                /* "group" */
    uint16_t (*by_name)(const char *s, size_t len);  /* 0: unknown */
    const char *(*name)(uint16_t id);
} zt_name_list;
zt_err zt_parse_names(const char *list, const zt_name_list *kind,
                      uint16_t *out, size_t max, size_t *n, char *err,
                      size_t err_len) ZT_WUR;

zt_err zt_parse_client_hello(const uint8_t *body, size_t len, zt_ch *ch) ZT_WUR;

/* psk_key_exchange_modes (4.2.9) */
#define ZT_PSK_MODE_KE 0x01u
#define ZT_PSK_MODE_DHE_KE 0x02u

/* ---- the session state a ticket carries (ticket.c documents the format);
 * pointers refer to the decoded buffer -------------------------------------- */
#define ZT_SESSION_VERSION 1
typedef struct zt_session {
    uint16_t suite;
    uint64_t issued_ms;   /* wall clock when the ticket was made */
    uint64_t auth_ms;     /* the full handshake this session descends from */
    uint32_t lifetime_s;
    uint32_t age_add;
    uint32_t max_early;   /* 0: no 0-RTT */
    uint64_t generation;  /* certificate generation of the full handshake */
    uint32_t policy;      /* zt_session_policy() of the issuing config */
    uint8_t psk[ZT_MAX_HASH_LEN];
    size_t psk_len;
    const uint8_t *ctx;   /* session context (server{} binding) */
    size_t ctx_len;
    const uint8_t *sni;
    size_t sni_len;
    const uint8_t *alpn;
    size_t alpn_len;
    const uint8_t *node;  /* node id, when 0-RTT is allowed */
    size_t node_len;
    uint8_t client_verify; /* ZT_CLIENT_VERIFY_*: the client certificate */
    const uint8_t *client_id; /* identity of the client, opaque */
    size_t client_id_len;
} zt_session;
/* client_verify values; 0 is a session without a client certificate. */
#define ZT_CLIENT_VERIFY_NONE 0

/* ---- handshake-only state: allocated at the first ClientHello, wiped and
 * freed once the client Finished verifies, so a connected (and idle)
 * connection does not carry it ---------------------------------------------- */
typedef struct zt_hs_state {
    uint8_t master[ZT_MAX_HASH_LEN];
    uint8_t c_hs[ZT_MAX_HASH_LEN];
    uint8_t s_hs[ZT_MAX_HASH_LEN];
    uint8_t c_ap[ZT_MAX_HASH_LEN]; /* installed when the client Finished verifies */
    uint8_t client_random[32];
    uint8_t server_random[32];
    uint8_t session_id[32];
    size_t session_id_len;
    uint8_t ch1_digest[32];
    uint8_t cookie[255];
    size_t cookie_len;
    /* sessions */
    uint8_t early[ZT_MAX_HASH_LEN]; /* early secret (from the PSK or zeros) */
    uint8_t psk[ZT_MAX_HASH_LEN];   /* the chosen ticket's PSK */
    size_t psk_len;                 /* 0: no PSK chosen */
    unsigned psk_index;             /* the identity chosen */
    int psk_ke;                     /* psk_ke: no (EC)DHE */
    int can_resume;                 /* a mode both allow: tickets (4.2.9) */
    uint8_t binder[ZT_MAX_HASH_LEN]; /* verified: the replay filter's key */
    uint8_t c_e[ZT_MAX_HASH_LEN];   /* client_early_traffic_secret */
    uint32_t client_age;            /* the client's ticket age, ms */
    uint32_t early_left;            /* 0-RTT bytes still allowed */
    uint64_t auth_ms;               /* inherited by the tickets we issue */
    zt_session sess;                /* the chosen ticket's state */
    uint8_t *ticket_pt;             /* its plaintext (sess points into it) */
    unsigned cert_comp;             /* RFC 8879 algorithms offered */
} zt_hs_state;

/* ---- the client's certificate (client_auth.c): the facts and the result
 * stay for the connection's life, the DER chain only until the client
 * Finished unless ZT_VERIFY_KEEP_CHAIN ------------------------------------- */
#define ZT_MAX_PEER_CHAIN 10
typedef struct zt_peer_chain {
    size_t n;
    uint8_t *der[ZT_MAX_PEER_CHAIN];
    size_t len[ZT_MAX_PEER_CHAIN];
} zt_peer_chain;

typedef struct zt_peer {
    zt_verify_result result;
    int code;             /* the provider's detail (libcrypto X509_V_*) */
    int accepted;
    zt_pk_kind key;
    zt_peer_info info;
    char *text;           /* info's strings */
    size_t text_len;
    zt_peer_chain *chain; /* NULL once released */
    uint8_t *sid;         /* the identity as tickets carry it, while they
                             are sent */
} zt_peer;

/* ---- the connection ------------------------------------------------------
 * Every connection carries these bytes for its whole life, idle or not
 * (docs/architecture.md, "Buffers"): pointers first, then by size, so
 * that nothing is padding; sizes and offsets are 32-bit (the buffers are
 * far below 4 GiB), small codes one byte. */
struct zt_conn {
    const zt_config *cfg; /* as created */
    const zt_config *use; /* after the ClientHello callback */
    void *user;
    const zt_suite_info *suite;
    zt_hs_state *hss;   /* first ClientHello to client Finished only */
    zt_hash *transcript;
    char *sni;          /* NUL-terminated, or NULL */
    const char *alpn;   /* the selected protocol, inside the config */
    char *ja4;          /* kept fingerprints (ja4.c), or NULL */
    zt_peer *peer;      /* the client's certificate, if it sent one */
    /* records in: [in_off, in_len) holds received bytes not yet consumed; a
     * processed record whose plaintext is being read stays at in_off
     * (in_hold bytes) */
    uint8_t *in;
    /* records out: [out_off, out_len) still to send; an open record's
     * plaintext (wr_held bytes) waits at out_len + 5 */
    uint8_t *out;
    /* handshake reassembly and outgoing handshake staging (handshake only) */
    uint8_t *hs;
    uint8_t *hs_out;
    size_t early_skip; /* 0-RTT bytes we may still discard (4.2.10) */
    uint64_t t_start, t_done;

    zt_dir rd, wr;

    uint32_t in_off, in_len, in_hold, in_hwm; /* hwm: bytes ever used */
    uint32_t in_pt;     /* plaintext may lie in [0, in_pt): wiped on free */
    uint32_t app_off, app_len;
    uint32_t out_cap, out_off, out_len, out_hwm, wr_held;
    uint32_t copied;    /* plaintext bytes copied besides the AEAD's pass */
    uint32_t hs_len, hs_cap;
    uint32_t hs_out_len, hs_out_cap;
    uint32_t key_updates; /* saturates */
    uint16_t burst;     /* plaintext sealed since records started small,
                           counted up to ZT_BURST_BYTES */
    uint16_t max_frag;  /* largest plaintext per record we send */
    uint16_t group, sigalg;
    uint16_t ja4_off[ZT_JA4_FORMS];
    uint8_t key_id[ZT_TICKET_KEY_ID_LEN]; /* ring key of our ticket(s) */
    uint8_t st;         /* zt_state */
    uint8_t err;        /* zt_err: the first one, sticky */
    int8_t cred_index;
    uint8_t hlen;       /* the suite's hash length */
    uint8_t alert_sent, alert_recv;
    uint8_t ja4_forms;  /* zt_conn_set_ja4 */
    uint8_t cert_comp;  /* RFC 8879 algorithm of the Certificate sent, or 0 */
    uint8_t psk_result, early_result, tickets_sent;
    /* floods: consecutive empty records, warning alerts, KeyUpdates */
    uint8_t n_empty, n_warn, n_ku;
    uint8_t sealed_wait; /* records left sealed: the caller's buffer was
                            full (zt_recv_into) */
    unsigned peer_closed : 1, closed : 1, hrr : 1, ccs_seen : 1,
        ccs_sent : 1, done : 1, app_held : 1, ku_pending : 1,
        cr_sent : 1;
    unsigned resumed : 1, early_ok : 1, key_id_set : 1, rx_early : 1;
};

/* engine.c */
zt_err zt_fail(zt_conn *c, zt_err e);
/* record.c */
zt_err zt_out_reserve(zt_conn *c, size_t n) ZT_WUR;
zt_err zt_emit_record(zt_conn *c, uint8_t type, const uint8_t *p,
                      size_t n) ZT_WUR;
zt_err zt_protect_in_place(zt_conn *c, uint8_t type, size_t at,
                           size_t n) ZT_WUR;
zt_err zt_protect_v(zt_conn *c, uint8_t type, size_t at, size_t n_in_place,
                    const zt_iov *iov, size_t n_iov) ZT_WUR;
zt_err zt_seal_held(zt_conn *c) ZT_WUR;
zt_err zt_unprotect(zt_conn *c, uint8_t *rec, size_t len, uint8_t *type,
                    size_t *pt_len) ZT_WUR;
zt_err zt_unprotect_to(zt_conn *c, const uint8_t *rec, size_t len,
                       uint8_t *dst, uint8_t *type, size_t *pt_len) ZT_WUR;
zt_err zt_set_key(zt_conn *c, zt_dir *d, const uint8_t *secret) ZT_WUR;
zt_err zt_dir_ready(zt_conn *c, zt_dir *d) ZT_WUR;
void zt_dir_clear(zt_dir *d);
/* keysched.c */
zt_err zt_hkdf_expand_label(zt_hash_alg alg, const uint8_t *secret,
                            size_t secret_len, const char *label,
                            const uint8_t *ctx, size_t ctx_len, uint8_t *out,
                            size_t out_len) ZT_WUR;
zt_err zt_derive_secret(zt_hash_alg alg, const uint8_t *secret,
                        const char *label, const uint8_t *th, uint8_t *out) ZT_WUR;
zt_err zt_finished_mac(zt_hash_alg alg, const uint8_t *base_secret,
                       const uint8_t *th, uint8_t *out) ZT_WUR;
/* compress.c */
zt_err zt_cert_comp_build(zt_config *cfg, size_t i) ZT_WUR;
void zt_cert_comp_free(zt_config *cfg, size_t i);
int zt_cert_comp_pick(const zt_config *cfg, size_t i, unsigned offered);
/* ja4.c */
void zt_conn_keep_ja4(zt_conn *c, const uint8_t *hello, size_t len);
/* server.c */
zt_err zt_on_handshake_msg(zt_conn *c, const uint8_t *msg, size_t len) ZT_WUR;
zt_err zt_hs_flush(zt_conn *c) ZT_WUR;
/* The Certificate message body of a credential (4.4.2), as sent. */
void zt_write_certificate_body(zt_wr *w, const zt_cred *cr);
zt_err zt_send_key_update(zt_conn *c, int request) ZT_WUR;
void zt_hs_release(zt_conn *c);
/* n bytes of scratch at the free tail of the handshake staging buffer
 * (nothing is committed): NULL on allocation failure */
uint8_t *zt_hs_scratch(zt_conn *c, size_t n);
void zt_keylog(zt_conn *c, const char *label, const uint8_t *secret);
/* ticket.c */
int zt_tickets_enabled(const zt_config *u);
uint64_t zt_wall_ms(const zt_config *u);
uint32_t zt_session_policy(const zt_config *u);
zt_err zt_session_encode(const zt_session *s, uint8_t *out, size_t cap,
                         size_t *len) ZT_WUR;
zt_err zt_session_decode(const uint8_t *p, size_t n, zt_session *s) ZT_WUR;
int zt_ticket_open(zt_conn *c, const uint8_t *ticket, size_t len,
                   uint8_t *state, size_t *state_len) ZT_WUR;
zt_err zt_send_tickets(zt_conn *c) ZT_WUR;
/* psk.c */
zt_err zt_psk_check_offer(const zt_ch *ch, int second) ZT_WUR;
zt_err zt_psk_choose(zt_conn *c, const zt_ch *ch, int have_share) ZT_WUR;
zt_err zt_psk_transcript(zt_conn *c, const zt_ch *ch, const uint8_t *msg,
                         size_t len) ZT_WUR;
void zt_psk_server_hello_ext(const zt_conn *c, zt_wr *w);
/* early_data.c */
size_t zt_early_skip_budget(const zt_config *u);
zt_err zt_early_decide(zt_conn *c, const zt_ch *ch) ZT_WUR;
zt_err zt_early_data_in(zt_conn *c, size_t n) ZT_WUR;
zt_err zt_on_end_of_early_data(zt_conn *c, const uint8_t *msg,
                               size_t len) ZT_WUR;
zt_err zt_hs_begin(zt_conn *c, size_t max, zt_wr *w) ZT_WUR;
zt_err zt_hs_commit(zt_conn *c, zt_wr *w) ZT_WUR;
/* config.c */
char *zt_file_read(const char *path, size_t *len, char *err,
                   size_t err_len) ZT_WUR;
/* client_auth.c */
zt_err zt_send_certificate_request(zt_conn *c) ZT_WUR;
zt_err zt_on_client_certificate(zt_conn *c, const uint8_t *msg,
                                size_t len) ZT_WUR;
zt_err zt_on_client_cert_verify(zt_conn *c, const uint8_t *msg,
                                size_t len) ZT_WUR;
void zt_peer_handshake_done(zt_conn *c);
uint32_t zt_client_auth_policy(const zt_config *u);
zt_err zt_peer_session(zt_conn *c, zt_session *s) ZT_WUR;
zt_psk_result zt_peer_session_usable(const zt_session *s, uint64_t now_ms);
zt_err zt_peer_resume(zt_conn *c, const zt_session *s) ZT_WUR;
void zt_peer_free(zt_conn *c);
size_t zt_peer_bytes(const zt_conn *c);

#endif /* ZT_INTERNAL_H */
