/*
 * tclient.h: a small TLS 1.3 client for unit tests, built from the core's
 * own key schedule helpers and crypto provider. It writes ClientHellos with
 * knobs to break them, follows the server's flight, verifies the server
 * Finished and seals/opens records, so tests can reach every state.
 */
#ifndef ZT_TCLIENT_H
#define ZT_TCLIENT_H

#include "internal.h"

typedef struct tcli {
    /* ClientHello knobs (set before tcli_client_hello) */
    uint16_t suites[8];
    size_t n_suites;
    uint16_t groups[8];
    size_t n_groups;
    uint16_t shares[4];
    size_t n_shares;
    uint16_t sigalgs[8];
    size_t n_sigalgs;
    uint16_t versions[4];
    size_t n_versions;     /* 0: no supported_versions extension */
    const char *sni;
    const char *alpn[4];
    size_t n_alpn;
    size_t session_id_len;
    uint16_t record_size_limit; /* 0: none */
    uint8_t compression[4];
    size_t n_compression;  /* default {0} */
    const uint8_t *extra;  /* raw extensions appended (type, len, body) */
    size_t extra_len;
    const uint8_t *extra_first; /* raw extensions put first */
    size_t extra_first_len;
    /* 1: one byte short, 2: all-zero X25519 / off-curve P-256 (the ECDH
     * part of a hybrid), 3: one byte long, 4: empty, 5: an ML-KEM key
     * coefficient >= q (hybrids) */
    int bad_share;
    zt_random_fn rnd;      /* key shares' randomness (default: system) */
    void *rnd_arg;
    /* resumption (set by tcli_resume, or by hand) */
    uint8_t psk_id[ZT_MAX_TICKET_LEN]; /* the ticket, as identity */
    size_t psk_id_len;     /* 0: no pre_shared_key */
    uint8_t psk[ZT_MAX_HASH_LEN];
    size_t psk_len;        /* 32: SHA-256 suites, 48: SHA-384 */
    uint16_t psk_suite;    /* the ticket's suite (0-RTT keys) */
    uint32_t psk_age;      /* obfuscated_ticket_age sent */
    /* ZT_PSK_MODE_* sent in psk_key_exchange_modes; 0: psk_dhe_ke with a
     * PSK, no extension without one (set it to ask for tickets, 4.2.9) */
    unsigned psk_modes;
    int no_psk_modes;      /* leave psk_key_exchange_modes out */
    int early_data;        /* send the early_data extension */
    int binder_corrupt;    /* flip a bit of the binder */
    int binder_len;        /* binder length sent (0: the hash length) */
    int extra_binder;      /* one binder more than identities */
    const uint8_t *junk_id; /* an identity put before ours */
    size_t junk_id_len;
    int psk_not_last;      /* an extension after pre_shared_key */

    /* state */
    uint8_t random[32];
    uint8_t priv[4][ZT_KX_MAX_PRIV];
    uint8_t pub[4][ZT_KX_MAX_PUB + 1]; /* + 1: bad_share 3 */
    size_t pub_len[4];
    uint8_t cookie[256];
    size_t cookie_len;
    int got_hrr;
    uint16_t hrr_group;
    uint8_t ch1[8192];
    size_t ch1_len;
    const zt_suite_info *suite;
    uint16_t group, sigalg;
    zt_hash *th;
    uint8_t c_hs[ZT_MAX_HASH_LEN], s_hs[ZT_MAX_HASH_LEN];
    uint8_t c_ap[ZT_MAX_HASH_LEN], s_ap[ZT_MAX_HASH_LEN];
    zt_aead *rd, *wr;
    uint8_t rd_iv[12], wr_iv[12];
    uint8_t rd_secret[ZT_MAX_HASH_LEN], wr_secret[ZT_MAX_HASH_LEN];
    uint64_t rd_seq, wr_seq;
    int server_finished_ok;
    char alpn_got[64];
    int saw_ccs;
    size_t max_record; /* largest record seen from the server */
    uint8_t server_cert[4096];
    size_t server_cert_len;
    /* RFC 8879: the Certificate body as received (decompressed), and the
     * CompressedCertificate's algorithm and sizes (0: not compressed) */
    uint8_t cert_body[8192];
    size_t cert_body_len;
    uint16_t cert_comp_alg;
    size_t cert_comp_raw, cert_comp_len;
    /* resumption state */
    uint8_t early[ZT_MAX_HASH_LEN];   /* early secret of our PSK */
    uint8_t c_e[ZT_MAX_HASH_LEN];     /* client_early_traffic_secret */
    uint8_t master[ZT_MAX_HASH_LEN], res_master[ZT_MAX_HASH_LEN];
    uint8_t binder[ZT_MAX_HASH_LEN];  /* the binder we sent */
    int psk_accepted, early_accepted, saw_cert;
    int wr_early;          /* writing 0-RTT: the handshake key waits */
    uint16_t psk_selected;
    /* NewSessionTickets received (tcli_read_tickets) */
    struct tcli_ticket {
        uint8_t ticket[ZT_MAX_TICKET_LEN];
        size_t len;
        uint32_t lifetime, age_add, max_early;
        uint8_t nonce[255];
        size_t nonce_len;
        uint8_t psk[ZT_MAX_HASH_LEN];
        size_t psk_len;
        uint16_t suite;
    } tickets[3];
    size_t n_tickets;

    /* client authentication: what to answer a CertificateRequest with */
    zt_cred *client_cred;  /* NULL: an empty Certificate */
    uint16_t cv_scheme;    /* 0: the key's usual scheme */
    int cv_corrupt;        /* flip a bit of the signature */
    int no_cv;             /* Certificate, then straight to Finished */
    /* what the server's CertificateRequest said */
    int got_cr;
    uint8_t cr_ctx[255];
    size_t cr_ctx_len;
    uint16_t cr_sigalgs[32];
    size_t n_cr_sigalgs;
    uint8_t cr_cas[8192];  /* certificate_authorities' authorities body */
    size_t cr_cas_len;
} tcli;

/* Defaults: all three suites, x25519 + secp256r1, a share for x25519, the
 * five signature schemes, TLS 1.3 only. tcli_free wipes the private keys. */
void tcli_init(tcli *t);
void tcli_free(tcli *t);

/* The ClientHello handshake message (after an HRR: the second one). */
size_t tcli_client_hello(tcli *t, uint8_t *out, size_t cap);
/* Wrap payload in one plaintext record of `type`. */
size_t tcli_record(uint8_t type, const uint8_t *p, size_t n, uint8_t *out);
/* Read the server's records (a whole flight); returns 0 when understood. */
int tcli_server_flight(tcli *t, const uint8_t *p, size_t n);
/* Client Finished as a protected record (switches keys to application).
 * After a CertificateRequest the same record carries Certificate and
 * CertificateVerify first (from client_cred and the cv_ knobs). */
size_t tcli_finished(tcli *t, uint8_t *out, int corrupt);
/* The pieces, for tests that reorder or break them; each adds itself to
 * the transcript. */
size_t tcli_certificate_msg(tcli *t, uint8_t *msg, size_t cap);
size_t tcli_cert_verify_msg(tcli *t, uint8_t *msg, size_t cap);
size_t tcli_finished_msg(tcli *t, uint8_t *msg, int corrupt);
/* Seal handshake messages with the handshake key, then move the write
 * side to the application key (as after the client Finished). */
size_t tcli_seal_flight(tcli *t, const uint8_t *msgs, size_t n,
                        uint8_t *out);
/* A chain and key from files (leaf first), for client_cred. */
zt_cred *tcli_load_cred(const char *chain, const char *key);
void tcli_free_cred(zt_cred *cred);
/* Seal one record of inner type `type` with the current write key. */
size_t tcli_seal(tcli *t, uint8_t type, const uint8_t *p, size_t n,
                 size_t pad, uint8_t *out);
/* Open one protected record; returns inner plaintext length or -1. */
long tcli_open(tcli *t, const uint8_t *rec, size_t len, uint8_t *type,
               uint8_t *pt);
/* Decompress an RFC 8879 algorithm's output; the length, or -1. */
long tcli_decompress(uint16_t alg, const uint8_t *in, size_t n, uint8_t *out,
                     size_t cap);
/* Rotate our write / read key (KeyUpdate). */
void tcli_update_write(tcli *t);
void tcli_update_read(tcli *t);
/* Take NewSessionTickets out of the server's records (after Finished);
 * returns how many, -1 on anything unexpected. */
int tcli_read_tickets(tcli *t, const uint8_t *p, size_t n);
/* Prepare a fresh client `to` to resume with ticket i of `from`, claiming
 * a ticket age of age_ms (obfuscated with the ticket's age_add). */
void tcli_resume(tcli *to, const tcli *from, size_t i, uint32_t age_ms);
/* Offer a ticket no server of ours sealed (random identity and PSK). */
void tcli_foreign_ticket(tcli *t);
/* After a ClientHello with early_data: switch the write key to the early
 * traffic key (0-RTT records are then tcli_seal'ed). */
int tcli_early_keys(tcli *t);
/* EndOfEarlyData as a record under the early key; then the handshake key. */
size_t tcli_end_of_early_data(tcli *t, uint8_t *out);

#endif

/* ---- server-side helpers for tests ------------------------------------- */
#define TSRV_ED25519 1u
#define TSRV_P256 2u
#define TSRV_RSA 4u
/* A config with the test credentials from t/unit/certs/ picked by mask. */
zt_config *tsrv_config(unsigned creds);
/* Feed all of p to the server (in chunks of `chunk` bytes, 0: at once). */
zt_err tsrv_feed(zt_conn *s, const uint8_t *p, size_t n, size_t chunk);
/* Build the next ClientHello and feed it to the server as one record. */
zt_err tsrv_hello(zt_conn *s, tcli *t);
/* Take everything the server has to send. */
size_t tsrv_drain(zt_conn *s, uint8_t *out, size_t cap);
/* ClientHello (and HRR round) through to the server flight; 0 when the
 * client verified the server Finished. */
int thello(zt_conn *s, tcli *t, size_t chunk);
/* thello plus the client Finished; 0 when the server is connected. */
int thandshake(zt_conn *s, tcli *t);
/* The single alert record the server sent last, or -1. */
int tsrv_alert(const uint8_t *out, size_t n, tcli *t);
