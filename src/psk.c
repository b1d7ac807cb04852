/*
 * psk.c: resumption with a ticket (RFC 8446 sections 4.2.9, 4.2.11, 7.1):
 * which identity to take, whether this server{} may resume it, the PSK
 * binder, the ServerHello's pre_shared_key.
 */
#include <stdlib.h>

#include "internal.h"

/* Identities tried (one AEAD open each) before a full handshake. */
#define PSK_MAX_TRIED 4

/* Section 4.2.9 and 4.2.10, before anything is chosen. */
zt_err zt_psk_check_offer(const zt_ch *ch, int second)
{
    /* pre_shared_key without psk_key_exchange_modes: MUST abort */
    if (ch->has_psk && !ch->has_psk_modes)
        return ZT_E_MISSING_EXTENSION;
    /* early_data MUST come with pre_shared_key (4.2.10) */
    if (!second && ch->has_early_data && !ch->has_psk)
        return ZT_E_ILLEGAL_PARAMETER;
    return ZT_OK;
}

/* The i-th binder of the list (validated by the parser). */
static int nth_binder(zt_cur list, unsigned i, zt_cur *b)
{
    unsigned k;

    for (k = 0; k <= i; k++)
        if (zt_cur_vec(&list, 1, b))
            return -1;
    return 0;
}

/* Can this configuration resume this state? ZT_PSK_ACCEPTED or why not. */
static zt_psk_result usable(const zt_conn *c, const zt_session *s,
                            uint64_t now)
{
    const zt_config *u = c->use;
    const zt_suite_info *si = zt_suite_lookup(s->suite);
    uint64_t end = s->issued_ms + (uint64_t)s->lifetime_s * 1000;
    zt_psk_result r;

    if (si == NULL || s->psk_len != zt_hash_len(si->hash))
        return ZT_PSK_BAD_TICKET;
    /* a node whose clock runs ahead may have issued it "in the future":
     * fine here, the 0-RTT freshness check is the strict one */
    if (now > end || (now > s->auth_ms && now - s->auth_ms >
                                              (uint64_t)ZT_MAX_TICKET_LIFETIME *
                                                  1000))
        return ZT_PSK_EXPIRED;
    /* the same server{}, under the same verification policy */
    if (s->ctx_len != u->session_ctx_len ||
        (s->ctx_len && memcmp(s->ctx, u->session_ctx, s->ctx_len) != 0) ||
        s->policy != zt_session_policy(u))
        return ZT_PSK_WRONG_SERVER;
    /* the client certificate it carries is still valid (client_auth.c) */
    r = zt_peer_session_usable(s, now);
    if (r != ZT_PSK_ACCEPTED)
        return r;
    /* section 4.6.1: the same KDF hash as the suite chosen now */
    if (si->hash != c->suite->hash)
        return ZT_PSK_SUITE;
    return ZT_PSK_ACCEPTED;
}

/* early secret, binder_key (section 7.1), for the chosen PSK */
static zt_err early_secret(zt_conn *c)
{
    zt_hash_alg h = c->suite->hash;

    if (zt_hkdf_extract(h, NULL, 0, c->hss->psk, c->hss->psk_len,
                        c->hss->early))
        return ZT_E_INTERNAL;
    return ZT_OK;
}

/*
 * The final ClientHello (the one our ServerHello answers): take the first
 * identity that opens and that this configuration may resume (section
 * 4.2.11: "only the first identity the server can use"), for a mode the
 * client listed and we allow. Nothing from the ticket is trusted yet: the
 * binder is checked by zt_psk_transcript. Sets c->psk_result.
 */
zt_err zt_psk_choose(zt_conn *c, const zt_ch *ch, int have_share)
{
    zt_hs_state *hs = c->hss;
    zt_psk_result why = ZT_PSK_NONE, r;
    zt_cur ids = ch->psk_identities, id;
    const uint8_t *age_p;
    size_t state_len;
    uint64_t now;
    unsigned i;
    int rc;

    hs->psk_len = 0;
    /* section 4.2.9: tickets only for a client that lists a mode we allow
     * (SHOULD NOT send others); psk_dhe_ke needs no more than a share */
    hs->can_resume = (ch->psk_modes & ZT_PSK_MODE_DHE_KE) ||
                     ((ch->psk_modes & ZT_PSK_MODE_KE) && c->use->psk_ke);
    if (!ch->has_psk) {
        c->psk_result = ZT_PSK_NONE;
        return ZT_OK;
    }
    if (!zt_tickets_enabled(c->use)) {
        c->psk_result = ZT_PSK_DISABLED;
        return ZT_OK;
    }
    /* psk_dhe_ke first (a fresh ECDHE); psk_ke only when allowed */
    if ((ch->psk_modes & ZT_PSK_MODE_DHE_KE) && have_share)
        hs->psk_ke = 0;
    else if ((ch->psk_modes & ZT_PSK_MODE_KE) && c->use->psk_ke)
        hs->psk_ke = 1;
    else {
        c->psk_result = ZT_PSK_MODE;
        return ZT_OK;
    }
    if (hs->ticket_pt == NULL) {
        hs->ticket_pt = malloc(ZT_MAX_SESSION_STATE);
        if (hs->ticket_pt == NULL)
            return ZT_E_NOMEM;
    }
    now = zt_wall_ms(c->use);
    for (i = 0; i < PSK_MAX_TRIED && zt_cur_left(&ids); i++) {
        if (zt_cur_vec(&ids, 2, &id) || zt_cur_bytes(&ids, 4, &age_p))
            return ZT_E_DECODE;
        state_len = ZT_MAX_SESSION_STATE;
        rc = zt_ticket_open(c, id.p, zt_cur_left(&id), hs->ticket_pt,
                            &state_len);
        if (rc == ZT_TICKET_OK)
            r = zt_session_decode(hs->ticket_pt, state_len, &hs->sess) ==
                        ZT_OK
                    ? usable(c, &hs->sess, now)
                    : ZT_PSK_BAD_TICKET;
        else
            r = rc == ZT_TICKET_UNKNOWN ? ZT_PSK_UNKNOWN_KEY
                                        : ZT_PSK_BAD_TICKET;
        if (r == ZT_PSK_ACCEPTED) {
            /* the client's view of the ticket age, for 0-RTT (8.3) */
            hs->client_age = (((uint32_t)age_p[0] << 24) |
                              ((uint32_t)age_p[1] << 16) |
                              ((uint32_t)age_p[2] << 8) | age_p[3]) -
                             hs->sess.age_add; /* modulo 2^32 (4.2.11.1) */
            hs->psk_index = i;
            memcpy(hs->psk, hs->sess.psk, hs->sess.psk_len);
            hs->psk_len = hs->sess.psk_len;
            hs->auth_ms = hs->sess.auth_ms;
            c->psk_result = ZT_PSK_ACCEPTED; /* once the binder verifies */
            return early_secret(c);
        }
        if (why == ZT_PSK_NONE)
            why = r; /* counted by the first identity's reason */
        c->key_id_set = 0;
    }
    zt_memzero(&hs->sess, sizeof(hs->sess));
    c->psk_result = (uint8_t)why;
    return ZT_OK;
}

/*
 * Add the ClientHello to the transcript. With a chosen PSK, first
 * Truncate(ClientHello) (section 4.2.11.2: everything before the binders
 * list), whose hash the binder covers; the binder is verified in constant
 * time before the PSK is used, and a wrong one aborts with decrypt_error.
 */
zt_err zt_psk_transcript(zt_conn *c, const zt_ch *ch, const uint8_t *msg,
                         size_t len)
{
    zt_hs_state *hs = c->hss;
    uint8_t th[ZT_MAX_HASH_LEN], empty[ZT_MAX_HASH_LEN];
    uint8_t bk[ZT_MAX_HASH_LEN], mac[ZT_MAX_HASH_LEN];
    size_t cut;
    zt_cur b;
    zt_err e;
    int ok;

    if (hs->psk_len == 0)
        return zt_hash_update(c->transcript, msg, len) ? ZT_E_INTERNAL
                                                        : ZT_OK;
    cut = (size_t)(ch->psk_cut - msg);
    if (cut > len || nth_binder(ch->psk_binders, hs->psk_index, &b))
        return ZT_E_INTERNAL;
    if (zt_hash_update(c->transcript, msg, cut) ||
        zt_hash_peek(c->transcript, th) ||
        zt_hash_oneshot(c->suite->hash, NULL, 0, empty))
        return ZT_E_INTERNAL;
    e = zt_derive_secret(c->suite->hash, hs->early, "res binder", empty, bk);
    if (e == ZT_OK)
        e = zt_finished_mac(c->suite->hash, bk, th, mac);
    zt_memzero(bk, sizeof(bk));
    if (e != ZT_OK)
        return e;
    ok = zt_cur_left(&b) == c->hlen && zt_ct_equal(mac, b.p, c->hlen);
    zt_memzero(mac, sizeof(mac));
    if (!ok) {
        c->psk_result = ZT_PSK_NONE;
        return ZT_E_BAD_BINDER;
    }
    memcpy(hs->binder, b.p, c->hlen);
    c->resumed = 1;
    e = zt_peer_resume(c, &hs->sess); /* the client it names (client_auth.c) */
    if (e != ZT_OK)
        return e;
    if (zt_hash_update(c->transcript, msg + cut, len - cut))
        return ZT_E_INTERNAL;
    return ZT_OK;
}

/* ServerHello.pre_shared_key: the selected identity (4.2.11). */
void zt_psk_server_hello_ext(const zt_conn *c, zt_wr *w)
{
    if (!c->resumed)
        return;
    zt_wr_u16(w, ZT_EXT_PRE_SHARED_KEY);
    zt_wr_u16(w, 2);
    zt_wr_u16(w, c->hss->psk_index);
}
