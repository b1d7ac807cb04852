/*
 * ticket.c: session tickets (RFC 8446 section 4.6.1): the ticket key ring,
 * sealing and opening, the session state format, NewSessionTicket.
 *
 * A ticket sealed by a ring key (format 1):
 *
 *   u8      format = 1
 *   u8      key_id[16]
 *   u8      nonce[12]            random, one per ticket
 *   u8      sealed[n]            AES-256-GCM of the session state, with
 *                                aad = format || key_id
 *   u8      tag[16]
 *
 * The AEAD key is HKDF-SHA256 of the ring key's secret (salt "zigtls
 * ticket key v1", info "aes-256-gcm"). The session state (version 1) is
 * what an embedder's codec also receives (zt_config_set_ticket_codec):
 *
 *   u8      version = 1
 *   u16     cipher_suite
 *   u64     issued_ms            wall clock, ms since the Unix epoch
 *   u64     auth_ms              the full handshake it descends from
 *   u32     lifetime_s
 *   u32     ticket_age_add
 *   u32     max_early_data       0: no 0-RTT
 *   u64     certificate generation
 *   u32     policy               zt_session_policy() of the issuing config
 *   opaque  psk<32..48>          the resumption PSK of this ticket
 *   opaque  session_context<0..32>
 *   opaque  server_name<0..255>
 *   opaque  alpn<0..255>
 *   opaque  node_id<0..32>       set when 0-RTT is allowed
 *   u8      client_verify        0: no client certificate; else 1 + the
 *                                zt_verify_result (0xff: an identity too
 *                                large to carry, never resumes)
 *   opaque  client_identity<0..2^16-1>   client_auth.c's format
 *
 * Vectors of up to 255 bytes have a 1-byte length, the client identity a
 * 2-byte one. A state of another version, or with trailing bytes, does not
 * resume (a full handshake), so the format can grow by a version bump.
 */
#include <stdlib.h>

#include "internal.h"

#define TICKET_FORMAT 1
#define TICKET_HDR (1 + ZT_TICKET_KEY_ID_LEN + ZT_AEAD_NONCE_LEN)
#define TICKET_OVERHEAD (TICKET_HDR + ZT_AEAD_TAG_LEN)

/* ---- the key ring ----------------------------------------------------------- */

typedef struct zt_ring_key {
    uint8_t id[ZT_TICKET_KEY_ID_LEN];
    uint8_t key[32];     /* AES-256-GCM key derived from the secret */
    uint64_t retired_ms; /* when it stopped sealing; 0 while it seals */
} zt_ring_key;

struct zt_ticket_keys {
    size_t n;
    zt_ring_key k[ZT_TICKET_KEYS_MAX]; /* k[0] seals */
};

zt_ticket_keys *zt_ticket_keys_new(void)
{
    if (zt_crypto_init() != 0)
        return NULL;
    return calloc(1, sizeof(zt_ticket_keys));
}

void zt_ticket_keys_clear(zt_ticket_keys *ring)
{
    zt_memzero(ring, sizeof(*ring));
}

void zt_ticket_keys_free(zt_ticket_keys *ring)
{
    if (ring == NULL)
        return;
    zt_ticket_keys_clear(ring);
    free(ring);
}

/* Operator key (16 bytes id, then the secret) -> ring entry. */
static zt_err derive_key(zt_ring_key *k, const uint8_t *key, size_t len)
{
    static const char salt[] = "zigtls ticket key v1";
    static const char info[] = "aes-256-gcm";
    uint8_t prk[32];
    int rc;

    if (len != ZT_TICKET_KEY_SHORT && len != ZT_TICKET_KEY_LONG)
        return ZT_E_CONFIG;
    memcpy(k->id, key, ZT_TICKET_KEY_ID_LEN);
    rc = zt_hkdf_extract(ZT_SHA256, (const uint8_t *)salt, sizeof(salt) - 1,
                         key + ZT_TICKET_KEY_ID_LEN,
                         len - ZT_TICKET_KEY_ID_LEN, prk) ||
         zt_hkdf_expand(ZT_SHA256, prk, sizeof(prk), (const uint8_t *)info,
                        sizeof(info) - 1, k->key, sizeof(k->key));
    zt_memzero(prk, sizeof(prk));
    k->retired_ms = 0;
    return rc ? ZT_E_INTERNAL : ZT_OK;
}

static int ring_has(const zt_ticket_keys *ring, const uint8_t *id)
{
    size_t i;

    for (i = 0; i < ring->n; i++)
        if (memcmp(ring->k[i].id, id, ZT_TICKET_KEY_ID_LEN) == 0)
            return 1;
    return 0;
}

zt_err zt_ticket_keys_add(zt_ticket_keys *ring, const uint8_t *key,
                          size_t len)
{
    zt_err e;

    if (ring->n == ZT_TICKET_KEYS_MAX || len < ZT_TICKET_KEY_ID_LEN ||
        ring_has(ring, key))
        return ZT_E_CONFIG;
    e = derive_key(&ring->k[ring->n], key, len);
    if (e != ZT_OK) {
        zt_memzero(&ring->k[ring->n], sizeof(zt_ring_key));
        return e;
    }
    ring->n++;
    return ZT_OK;
}

static void ring_drop(zt_ticket_keys *ring, size_t i)
{
    memmove(&ring->k[i], &ring->k[i + 1],
            (ring->n - i - 1) * sizeof(zt_ring_key));
    ring->n--;
    zt_memzero(&ring->k[ring->n], sizeof(zt_ring_key));
}

zt_err zt_ticket_keys_rotate(zt_ticket_keys *ring, const uint8_t *key,
                             size_t len, uint64_t now_ms, uint64_t keep_ms)
{
    zt_ring_key nk;
    size_t i;
    zt_err e;

    if (len < ZT_TICKET_KEY_ID_LEN || ring_has(ring, key))
        return ZT_E_CONFIG;
    e = derive_key(&nk, key, len);
    if (e != ZT_OK)
        return e;
    if (ring->n == ZT_TICKET_KEYS_MAX)
        ring_drop(ring, ring->n - 1); /* the oldest */
    if (ring->n > 0 && ring->k[0].retired_ms == 0)
        ring->k[0].retired_ms = now_ms ? now_ms : 1;
    memmove(&ring->k[1], &ring->k[0], ring->n * sizeof(zt_ring_key));
    ring->k[0] = nk;
    ring->n++;
    zt_memzero(&nk, sizeof(nk));
    for (i = ring->n; i-- > 1;)
        if (now_ms > ring->k[i].retired_ms &&
            now_ms - ring->k[i].retired_ms > keep_ms)
            ring_drop(ring, i);
    return ZT_OK;
}

int zt_ticket_key_generate(uint8_t key[ZT_TICKET_KEY_LONG])
{
    if (zt_crypto_init() != 0)
        return -1;
    return zt_sys_random(NULL, key, ZT_TICKET_KEY_LONG) ? -1 : 0;
}

size_t zt_ticket_keys_count(const zt_ticket_keys *ring)
{
    return ring ? ring->n : 0;
}

int zt_ticket_keys_id(const zt_ticket_keys *ring, size_t i,
                      uint8_t id[ZT_TICKET_KEY_ID_LEN])
{
    if (ring == NULL || i >= ring->n)
        return -1;
    memcpy(id, ring->k[i].id, ZT_TICKET_KEY_ID_LEN);
    return 0;
}

/* ---- sealing with the ring ----------------------------------------------------- */

static int ring_seal(const zt_ticket_keys *ring, const zt_config *u,
                     const uint8_t *state, size_t n, uint8_t *t, size_t *tlen,
                     uint8_t *key_id)
{
    zt_aead *a;
    int rc;

    if (ring->n == 0 || *tlen < n + TICKET_OVERHEAD)
        return -1;
    t[0] = TICKET_FORMAT;
    memcpy(t + 1, ring->k[0].id, ZT_TICKET_KEY_ID_LEN);
    if (u->rnd(u->rnd_arg, t + 1 + ZT_TICKET_KEY_ID_LEN, ZT_AEAD_NONCE_LEN))
        return -1;
    memmove(t + TICKET_HDR, state, n);
    a = zt_aead_new(ZT_AEAD_AES_256_GCM, ring->k[0].key);
    if (a == NULL)
        return -1;
    rc = zt_aead_seal(a, t + 1 + ZT_TICKET_KEY_ID_LEN, t,
                      1 + ZT_TICKET_KEY_ID_LEN, t + TICKET_HDR, n,
                      t + TICKET_HDR + n);
    zt_aead_free(a);
    if (rc)
        return -1;
    *tlen = n + TICKET_OVERHEAD;
    memcpy(key_id, ring->k[0].id, ZT_TICKET_KEY_ID_LEN);
    return 0;
}

static int ring_open(const zt_ticket_keys *ring, const uint8_t *t,
                     size_t len, uint8_t *state, size_t *state_len,
                     uint8_t *key_id)
{
    const zt_ring_key *k = NULL;
    size_t i, n;
    zt_aead *a;
    int rc;

    if (len < TICKET_OVERHEAD + 1 || t[0] != TICKET_FORMAT)
        return ZT_TICKET_UNKNOWN;
    for (i = 0; i < ring->n && k == NULL; i++)
        if (memcmp(ring->k[i].id, t + 1, ZT_TICKET_KEY_ID_LEN) == 0)
            k = &ring->k[i];
    if (k == NULL)
        return ZT_TICKET_UNKNOWN;
    n = len - TICKET_OVERHEAD;
    if (n > *state_len)
        return ZT_TICKET_BAD;
    memcpy(state, t + TICKET_HDR, n);
    a = zt_aead_new(ZT_AEAD_AES_256_GCM, k->key);
    if (a == NULL)
        return ZT_TICKET_BAD;
    rc = zt_aead_open(a, t + 1 + ZT_TICKET_KEY_ID_LEN, t,
                      1 + ZT_TICKET_KEY_ID_LEN, state, n, t + TICKET_HDR + n);
    zt_aead_free(a);
    if (rc)
        return ZT_TICKET_BAD; /* the state buffer was wiped */
    *state_len = n;
    memcpy(key_id, k->id, ZT_TICKET_KEY_ID_LEN);
    return ZT_TICKET_OK;
}

/* ---- configuration -------------------------------------------------------------- */

void zt_config_set_ticket_keys(zt_config *cfg, const zt_ticket_keys *ring)
{
    cfg->ticket_ring = ring;
    cfg->tk_seal = NULL;
    cfg->tk_open = NULL;
    cfg->tk_arg = NULL;
}

void zt_config_set_ticket_codec(zt_config *cfg, zt_ticket_seal_fn seal,
                                zt_ticket_open_fn open, void *arg)
{
    cfg->ticket_ring = NULL;
    cfg->tk_seal = seal;
    cfg->tk_open = open;
    cfg->tk_arg = arg;
}

void zt_config_set_wall_clock(zt_config *cfg, zt_clock_fn fn, void *arg)
{
    cfg->wall = fn;
    cfg->wall_arg = arg;
}

zt_err zt_config_set_ticket_count(zt_config *cfg, unsigned n)
{
    if (n > 16)
        return ZT_E_CONFIG;
    cfg->ticket_count = n;
    return ZT_OK;
}

zt_err zt_config_set_ticket_lifetime(zt_config *cfg, uint32_t seconds)
{
    if (seconds == 0 || seconds > ZT_MAX_TICKET_LIFETIME)
        return ZT_E_CONFIG;
    cfg->ticket_lifetime = seconds;
    return ZT_OK;
}

zt_err zt_config_set_session_context(zt_config *cfg, const uint8_t *ctx,
                                     size_t len)
{
    if (len > ZT_MAX_SESSION_CONTEXT) {
        /* kept as its SHA-256 */
        if (zt_hash_oneshot(ZT_SHA256, ctx, len, cfg->session_ctx))
            return ZT_E_INTERNAL;
        cfg->session_ctx_len = 32;
        return ZT_OK;
    }
    if (len)
        memcpy(cfg->session_ctx, ctx, len);
    cfg->session_ctx_len = len;
    return ZT_OK;
}

void zt_config_set_psk_ke(zt_config *cfg, int allow)
{
    cfg->psk_ke = allow != 0;
}

int zt_tickets_enabled(const zt_config *u)
{
    return u->wall != NULL &&
           ((u->ticket_ring != NULL && u->ticket_ring->n > 0) ||
            (u->tk_seal != NULL && u->tk_open != NULL));
}

uint64_t zt_wall_ms(const zt_config *u)
{
    return u->wall ? u->wall(u->wall_arg) : 0;
}

/* What a ticket must agree on with the configuration that resumes it,
 * besides the session context: the verification policy a full handshake
 * would apply. */
uint32_t zt_session_policy(const zt_config *u)
{
    /* client certificates: mode, depth, trusted CAs and CRLs
     * (client_auth.c); 0 without them */
    return (uint32_t)u->policy ^ zt_client_auth_policy(u);
}

/* ---- the session state ---------------------------------------------------------- */

static void wr_u32(zt_wr *w, uint32_t v)
{
    zt_wr_u16(w, v >> 16);
    zt_wr_u16(w, v & 0xffff);
}

static void wr_u64(zt_wr *w, uint64_t v)
{
    wr_u32(w, (uint32_t)(v >> 32));
    wr_u32(w, (uint32_t)v);
}

static void wr_vec8(zt_wr *w, const uint8_t *p, size_t n)
{
    zt_wr_u8(w, (unsigned)n);
    zt_wr_bytes(w, p, n);
}

zt_err zt_session_encode(const zt_session *s, uint8_t *out, size_t cap,
                         size_t *len)
{
    zt_wr w = zt_wr_make(out, cap);

    if (s->psk_len < 32 || s->psk_len > ZT_MAX_HASH_LEN ||
        s->ctx_len > ZT_MAX_SESSION_CONTEXT || s->sni_len > 255 ||
        s->alpn_len > 255 || s->node_len > ZT_MAX_NODE_ID ||
        s->client_id_len > ZT_MAX_CLIENT_ID_LEN)
        return ZT_E_INTERNAL;
    zt_wr_u8(&w, ZT_SESSION_VERSION);
    zt_wr_u16(&w, s->suite);
    wr_u64(&w, s->issued_ms);
    wr_u64(&w, s->auth_ms);
    wr_u32(&w, s->lifetime_s);
    wr_u32(&w, s->age_add);
    wr_u32(&w, s->max_early);
    wr_u64(&w, s->generation);
    wr_u32(&w, s->policy);
    wr_vec8(&w, s->psk, s->psk_len);
    wr_vec8(&w, s->ctx, s->ctx_len);
    wr_vec8(&w, s->sni, s->sni_len);
    wr_vec8(&w, s->alpn, s->alpn_len);
    wr_vec8(&w, s->node, s->node_len);
    zt_wr_u8(&w, s->client_verify);
    zt_wr_u16(&w, (unsigned)s->client_id_len);
    zt_wr_bytes(&w, s->client_id, s->client_id_len);
    if (w.err)
        return ZT_E_INTERNAL;
    *len = w.len;
    return ZT_OK;
}

static int rd_u32(zt_cur *c, uint32_t *v)
{
    uint16_t hi, lo;

    if (zt_cur_u16(c, &hi) || zt_cur_u16(c, &lo))
        return -1;
    *v = ((uint32_t)hi << 16) | lo;
    return 0;
}

static int rd_u64(zt_cur *c, uint64_t *v)
{
    uint32_t hi, lo;

    if (rd_u32(c, &hi) || rd_u32(c, &lo))
        return -1;
    *v = ((uint64_t)hi << 32) | lo;
    return 0;
}

static int rd_vec(zt_cur *c, int lenbytes, size_t max, const uint8_t **p,
                  size_t *n)
{
    zt_cur v;

    if (zt_cur_vec(c, lenbytes, &v) || zt_cur_left(&v) > max)
        return -1;
    *p = v.p;
    *n = zt_cur_left(&v);
    return 0;
}

/* The state back; pointers refer to p. Another version, a field out of
 * range or trailing bytes: ZT_E_DECODE (the ticket is not used). */
zt_err zt_session_decode(const uint8_t *p, size_t n, zt_session *s)
{
    zt_cur c = zt_cur_make(p, n);
    const uint8_t *psk;
    uint8_t ver;

    memset(s, 0, sizeof(*s));
    if (zt_cur_u8(&c, &ver) || ver != ZT_SESSION_VERSION ||
        zt_cur_u16(&c, &s->suite) || rd_u64(&c, &s->issued_ms) ||
        rd_u64(&c, &s->auth_ms) || rd_u32(&c, &s->lifetime_s) ||
        rd_u32(&c, &s->age_add) || rd_u32(&c, &s->max_early) ||
        rd_u64(&c, &s->generation) || rd_u32(&c, &s->policy) ||
        rd_vec(&c, 1, ZT_MAX_HASH_LEN, &psk, &s->psk_len) ||
        rd_vec(&c, 1, ZT_MAX_SESSION_CONTEXT, &s->ctx, &s->ctx_len) ||
        rd_vec(&c, 1, 255, &s->sni, &s->sni_len) ||
        rd_vec(&c, 1, 255, &s->alpn, &s->alpn_len) ||
        rd_vec(&c, 1, ZT_MAX_NODE_ID, &s->node, &s->node_len) ||
        zt_cur_u8(&c, &s->client_verify) ||
        rd_vec(&c, 2, ZT_MAX_CLIENT_ID_LEN, &s->client_id,
               &s->client_id_len) ||
        zt_cur_finish(&c) || s->psk_len < 32 ||
        s->lifetime_s > ZT_MAX_TICKET_LIFETIME)
        return ZT_E_DECODE;
    memcpy(s->psk, psk, s->psk_len);
    return ZT_OK;
}

/* ---- opening (psk.c decides what to do with the state) ------------------------- */

/* ZT_TICKET_OK with the state in state[0, *state_len), or why not. */
int zt_ticket_open(zt_conn *c, const uint8_t *ticket, size_t len,
                   uint8_t *state, size_t *state_len)
{
    const zt_config *u = c->use;
    uint8_t id[ZT_TICKET_KEY_ID_LEN];
    int rc;

    if (u->ticket_ring != NULL) {
        rc = ring_open(u->ticket_ring, ticket, len, state, state_len, id);
        if (rc == ZT_TICKET_OK) {
            memcpy(c->key_id, id, sizeof(id));
            c->key_id_set = 1;
        }
        return rc;
    }
    rc = u->tk_open(u->tk_arg, ticket, len, state, state_len);
    return rc == ZT_TICKET_OK || rc == ZT_TICKET_UNKNOWN ? rc : ZT_TICKET_BAD;
}

/* ---- NewSessionTicket (section 4.6.1) -------------------------------------------- */

/* resumption_master_secret over the transcript through the client
 * Finished (section 7.1). */
static zt_err resumption_master(zt_conn *c, uint8_t *res)
{
    uint8_t th[ZT_MAX_HASH_LEN];

    if (zt_hash_peek(c->transcript, th))
        return ZT_E_INTERNAL;
    return zt_derive_secret(c->suite->hash, c->hss->master, "res master",
                            th, res);
}

/* The session this connection hands out, for ticket number `nonce`. */
static zt_err session_for(zt_conn *c, const uint8_t *res, uint16_t nonce,
                          uint64_t now, uint32_t lifetime, zt_session *s)
{
    const zt_config *u = c->use;
    uint8_t nb[2] = {(uint8_t)(nonce >> 8), (uint8_t)nonce};
    int early = u->max_early > 0 && u->replay != NULL;
    uint8_t r[4];

    memset(s, 0, sizeof(*s));
    s->suite = c->suite->id;
    s->issued_ms = now;
    s->auth_ms = c->hss->auth_ms;
    s->lifetime_s = lifetime;
    if (u->rnd(u->rnd_arg, r, 4))
        return ZT_E_INTERNAL;
    s->age_add = ((uint32_t)r[0] << 24) | ((uint32_t)r[1] << 16) |
                 ((uint32_t)r[2] << 8) | r[3];
    s->max_early = early ? u->max_early : 0;
    s->generation = c->resumed ? c->hss->sess.generation : u->generation;
    s->policy = zt_session_policy(u);
    s->psk_len = c->hlen;
    s->ctx = u->session_ctx;
    s->ctx_len = u->session_ctx_len;
    if (c->sni) {
        s->sni = (const uint8_t *)c->sni;
        s->sni_len = strlen(c->sni);
    }
    if (c->alpn) {
        s->alpn = (const uint8_t *)c->alpn;
        s->alpn_len = strlen(c->alpn);
    }
    if (early) {
        s->node = u->node_id;
        s->node_len = u->node_id_len;
    }
    if (c->resumed) {
        /* the client identity proven by the full handshake goes on */
        s->client_verify = c->hss->sess.client_verify;
        s->client_id = c->hss->sess.client_id;
        s->client_id_len = c->hss->sess.client_id_len;
    } else {
        zt_err e = zt_peer_session(c, s); /* client_auth.c */
        if (e != ZT_OK)
            return e;
    }
    return zt_hkdf_expand_label(c->suite->hash, res, c->hlen, "resumption",
                                nb, 2, s->psk, s->psk_len);
}

static zt_err send_ticket(zt_conn *c, const uint8_t *res, uint16_t nonce,
                          uint64_t now, uint32_t lifetime)
{
    const zt_config *u = c->use;
    size_t state_len, tlen = ZT_MAX_TICKET_LEN, at;
    uint8_t *buf, *state, *msg;
    uint8_t id[ZT_TICKET_KEY_ID_LEN] = {0};
    zt_session s;
    zt_wr w;
    zt_err e;
    int rc;

    /* scratch: the state, then the message with the ticket in place */
    buf = zt_hs_scratch(c, ZT_MAX_SESSION_STATE + ZT_MAX_TICKET_LEN + 32);
    if (buf == NULL)
        return ZT_E_NOMEM;
    state = buf;
    msg = buf + ZT_MAX_SESSION_STATE;
    e = session_for(c, res, nonce, now, lifetime, &s);
    if (e == ZT_OK)
        e = zt_session_encode(&s, state, ZT_MAX_SESSION_STATE, &state_len);
    if (e != ZT_OK)
        goto out;
    /* type(1) len(3) lifetime(4) age_add(4) nonce<0..255> ticket<1..2^16-1> */
    at = 4 + 4 + 4 + 1 + 2 + 2;
    if (u->ticket_ring != NULL)
        rc = ring_seal(u->ticket_ring, u, state, state_len, msg + at, &tlen,
                       id);
    else
        rc = u->tk_seal(u->tk_arg, state, state_len, msg + at, &tlen);
    e = ZT_E_INTERNAL;
    if (rc != 0 || tlen == 0 || tlen > ZT_MAX_TICKET_LEN)
        goto out;
    if (u->ticket_ring != NULL) {
        memcpy(c->key_id, id, sizeof(id));
        c->key_id_set = 1;
    }
    w = zt_wr_make(msg, at + tlen + 10);
    zt_wr_u8(&w, ZT_HS_NEW_SESSION_TICKET);
    zt_wr_u24(&w, (uint32_t)(at - 4 + tlen + 2 + (s.max_early ? 8 : 0)));
    wr_u32(&w, lifetime);
    wr_u32(&w, s.age_add);
    zt_wr_u8(&w, 2); /* ticket_nonce: the ticket's number on this connection */
    zt_wr_u16(&w, nonce);
    zt_wr_u16(&w, (unsigned)tlen);
    if (w.len != at)
        goto out;
    w.len += tlen; /* the sealed ticket is already in place */
    at = zt_wr_open(&w, 2);
    if (s.max_early) {
        zt_wr_u16(&w, ZT_EXT_EARLY_DATA); /* 4.2.10: max_early_data_size */
        zt_wr_u16(&w, 4);
        wr_u32(&w, s.max_early);
    }
    zt_wr_close(&w, at, 2);
    if (w.err)
        goto out;
    e = zt_emit_record(c, ZT_CT_HANDSHAKE, msg, w.len);
out:
    zt_memzero(&s, sizeof(s));
    zt_memzero(buf, ZT_MAX_SESSION_STATE + ZT_MAX_TICKET_LEN + 32);
    return e;
}

/* After the client Finished (transcript through it): the configured number
 * of tickets, each with its own nonce, PSK and ticket_age_add. */
zt_err zt_send_tickets(zt_conn *c)
{
    const zt_config *u = c->use;
    uint8_t res[ZT_MAX_HASH_LEN];
    uint64_t now, age, lifetime;
    unsigned i;
    zt_err e;

    if (!zt_tickets_enabled(u) || u->ticket_count == 0 ||
        !c->hss->can_resume)
        return ZT_OK;
    now = zt_wall_ms(u);
    if (!c->resumed)
        c->hss->auth_ms = now;
    /* never past ZT_MAX_TICKET_LIFETIME after the full handshake */
    age = now > c->hss->auth_ms ? (now - c->hss->auth_ms) / 1000 : 0;
    if (age >= ZT_MAX_TICKET_LIFETIME)
        return ZT_OK;
    lifetime = u->ticket_lifetime;
    if (lifetime > ZT_MAX_TICKET_LIFETIME - age)
        lifetime = ZT_MAX_TICKET_LIFETIME - age;
    e = resumption_master(c, res);
    for (i = 0; e == ZT_OK && i < u->ticket_count; i++) {
        e = send_ticket(c, res, (uint16_t)i, now, (uint32_t)lifetime);
        if (e == ZT_OK)
            c->tickets_sent++;
    }
    zt_memzero(res, sizeof(res));
    return e;
}
