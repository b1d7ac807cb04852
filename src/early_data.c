/*
 * early_data.c: 0-RTT (RFC 8446 sections 2.3, 4.2.10, 8): whether to
 * accept the client's early data, its record budget, EndOfEarlyData, and
 * the replay filter (the interface and a fixed-size table behind it).
 */
#include "internal.h"

/* ---- configuration ---------------------------------------------------------- */

zt_err zt_config_set_max_early_data(zt_config *cfg, uint32_t bytes)
{
    if (bytes > (1u << 24))
        return ZT_E_CONFIG;
    cfg->max_early = bytes;
    return ZT_OK;
}

void zt_config_set_ticket_age_window(zt_config *cfg, uint32_t ms)
{
    cfg->age_window = ms;
}

zt_err zt_config_set_node_id(zt_config *cfg, const uint8_t *id, size_t len)
{
    if (len > ZT_MAX_NODE_ID)
        return ZT_E_CONFIG;
    if (len)
        memcpy(cfg->node_id, id, len);
    cfg->node_id_len = len;
    return ZT_OK;
}

void zt_config_set_replay_filter(zt_config *cfg, zt_replay_fn fn, void *arg)
{
    cfg->replay = fn;
    cfg->replay_arg = arg;
}

/* Early data we refuse is skipped up to what we could have granted, plus
 * the records' overhead (4.2.10), and never less than ZT_EARLY_SKIP_MAX
 * (tickets of another server). */
size_t zt_early_skip_budget(const zt_config *u)
{
    size_t b = (size_t)u->max_early +
               ((size_t)u->max_early / ZT_MAX_PLAINTEXT + 1) *
                   (ZT_RECORD_HEADER_LEN + 256);

    return b > ZT_EARLY_SKIP_MAX ? b : ZT_EARLY_SKIP_MAX;
}

/* ---- the decision ------------------------------------------------------------- */

static int same(const uint8_t *a, size_t alen, const char *b)
{
    size_t blen = b ? strlen(b) : 0;

    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* The freshness check of section 8.3, then the replay filter of 8.2. */
static zt_early_result fresh(zt_conn *c)
{
    const zt_config *u = c->use;
    const zt_hs_state *hs = c->hss;
    uint64_t now = zt_wall_ms(u);
    uint64_t expected = hs->sess.issued_ms + hs->client_age;
    uint64_t diff = expected > now ? expected - now : now - expected;
    int rc;

    if (diff > u->age_window)
        return ZT_EARLY_AGE;
    /* recorded for as long as a copy would pass the check above */
    rc = u->replay(u->replay_arg, hs->binder, c->hlen, hs->sess.issued_ms,
                   now, expected + u->age_window);
    if (rc == ZT_REPLAY_FRESH)
        return ZT_EARLY_ACCEPTED;
    return rc == ZT_REPLAY_SEEN ? ZT_EARLY_REPLAY : ZT_EARLY_UNAVAILABLE;
}

/*
 * After the final ClientHello entered the transcript (its binder verified):
 * accept 0-RTT only on the first identity, a ticket that allowed it and
 * was issued here, with the same suite, ALPN and SNI (4.2.10), fresh, and
 * not seen by the replay filter; the filter is asked last so that only a
 * ClientHello that would be accepted is recorded. Anything else: the early
 * records are skipped (c->early_skip) and the handshake is 1-RTT.
 */
zt_err zt_early_decide(zt_conn *c, const zt_ch *ch)
{
    const zt_config *u = c->use;
    zt_hs_state *hs = c->hss;
    const zt_session *s = &hs->sess;
    uint8_t th[ZT_MAX_HASH_LEN];
    zt_early_result r;
    zt_err e;

    if (!ch->has_early_data)
        return ZT_OK; /* none, or refused at the HelloRetryRequest */
    if (!c->resumed)
        r = ZT_EARLY_NO_PSK;
    else if (u->max_early == 0 || u->replay == NULL || s->max_early == 0 ||
             s->max_early > u->max_early)
        r = ZT_EARLY_DISABLED;
    else if (hs->psk_index != 0 || s->suite != c->suite->id ||
             !same(s->alpn, s->alpn_len, c->alpn) ||
             !same(s->sni, s->sni_len, c->sni))
        r = ZT_EARLY_PARAMS;
    else if (s->node_len != u->node_id_len ||
             (s->node_len && memcmp(s->node, u->node_id, s->node_len) != 0))
        r = ZT_EARLY_OTHER_NODE;
    else
        r = fresh(c);
    c->early_result = (uint8_t)r;
    if (r != ZT_EARLY_ACCEPTED)
        return ZT_OK;
    /* client_early_traffic_secret over the ClientHello (7.1) */
    if (zt_hash_peek(c->transcript, th))
        return ZT_E_INTERNAL;
    e = zt_derive_secret(c->suite->hash, hs->early, "c e traffic", th,
                         hs->c_e);
    if (e != ZT_OK)
        return e;
    zt_keylog(c, "CLIENT_EARLY_TRAFFIC_SECRET", hs->c_e);
    c->early_ok = 1;
    c->early_skip = 0;
    hs->early_left = s->max_early;
    return ZT_OK;
}

/* n bytes of early application data arrived (the payload only, 4.6.1). */
zt_err zt_early_data_in(zt_conn *c, size_t n)
{
    if (n > c->hss->early_left)
        return ZT_E_EARLY_DATA_LIMIT; /* SHOULD unexpected_message */
    c->hss->early_left -= (uint32_t)n;
    return ZT_OK;
}

/* EndOfEarlyData (4.5): empty; from now on the client handshake key. */
zt_err zt_on_end_of_early_data(zt_conn *c, const uint8_t *msg, size_t len)
{
    zt_err e;

    if (len != 4)
        return ZT_E_DECODE;
    if (zt_hash_update(c->transcript, msg, len))
        return ZT_E_INTERNAL;
    e = zt_set_key(c, &c->rd, c->hss->c_hs);
    if (e == ZT_OK)
        c->st = ZT_S_WAIT_FINISHED;
    return e;
}

/* ---- a replay filter over caller memory (section 8.2) ------------------------ */

#define REPLAY_MAGIC 0x7a74727031ull /* "ztrp1" */
#define REPLAY_KEY 16                /* bytes of the binder kept */
#define REPLAY_PROBE 16              /* slots looked at per key */

typedef struct replay_ent {
    uint8_t key[REPLAY_KEY];
    uint64_t expires_ms; /* 0: never used */
} replay_ent;

typedef struct replay_hdr {
    uint64_t magic;
    uint64_t start_ms;
    uint64_t n;
    uint64_t pad;
    replay_ent e[];
} replay_hdr;

size_t zt_replay_table_bytes(size_t entries)
{
    return sizeof(replay_hdr) + entries * sizeof(replay_ent);
}

size_t zt_replay_table_init(void *mem, size_t bytes, uint64_t start_ms)
{
    replay_hdr *h = mem;
    size_t n;

    if (mem == NULL || bytes < zt_replay_table_bytes(REPLAY_PROBE))
        return 0;
    n = (bytes - sizeof(replay_hdr)) / sizeof(replay_ent);
    memset(mem, 0, zt_replay_table_bytes(n));
    h->magic = REPLAY_MAGIC;
    h->start_ms = start_ms;
    h->n = n;
    return n;
}

int zt_replay_table_check(void *table, const uint8_t *key, size_t key_len,
                          uint64_t issued_ms, uint64_t now_ms,
                          uint64_t expires_ms)
{
    replay_hdr *h = table;
    replay_ent *free_slot = NULL, *x;
    uint64_t at = 0;
    size_t i;

    if (h == NULL || h->magic != REPLAY_MAGIC || key_len < REPLAY_KEY)
        return ZT_REPLAY_UNAVAILABLE;
    /* a ClientHello for a ticket older than the table may have been seen
     * before it existed (8.2: refuse while the window overlaps the start) */
    if (issued_ms < h->start_ms)
        return ZT_REPLAY_UNAVAILABLE;
    for (i = 0; i < 8; i++)
        at = (at << 8) | key[i]; /* a binder is an HMAC: uniform */
    for (i = 0; i < REPLAY_PROBE; i++) {
        x = &h->e[(at + i) % h->n];
        if (x->expires_ms > now_ms) {
            if (memcmp(x->key, key, REPLAY_KEY) == 0)
                return ZT_REPLAY_SEEN;
        } else if (free_slot == NULL) {
            free_slot = x;
        }
    }
    if (free_slot == NULL)
        return ZT_REPLAY_UNAVAILABLE; /* full here: refuse, never guess */
    memcpy(free_slot->key, key, REPLAY_KEY);
    free_slot->expires_ms = expires_ms > now_ms ? expires_ms : now_ms + 1;
    return ZT_REPLAY_FRESH;
}

size_t zt_replay_table_used(const void *table, uint64_t now_ms)
{
    const replay_hdr *h = table;
    size_t i, used = 0;

    if (h == NULL || h->magic != REPLAY_MAGIC)
        return 0;
    for (i = 0; i < h->n; i++)
        if (h->e[i].expires_ms > now_ms)
            used++;
    return used;
}
