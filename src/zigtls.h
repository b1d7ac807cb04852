/*
 * zigtls.h: the public API of the zigtls TLS 1.3 server core.
 *
 * The core is sans-I/O. It never touches a socket, a clock or the random
 * device by itself: bytes received from the network go in, TLS records to
 * send come out, plaintext goes in and out. Time and randomness come from
 * callbacks in the configuration, so a test can make every run identical.
 *
 * Objects
 *   zt_config  built once (certificates, suites, groups, ALPN, policy),
 *              then shared read-only by any number of connections. It must
 *              outlive every connection created from it.
 *   zt_conn    one TLS connection, server role. zt_conn_new() makes one
 *              allocation of zt_conn_size() bytes (a published, fixed size).
 *              The record buffers are allocated when first needed and can
 *              be given back while the connection is idle
 *              (zt_conn_release_buffers); the data path never allocates.
 *
 * The four pipes (the BearSSL model: "give me the buffer" / "I used N")
 *   records in      zt_recv_buf() / zt_recv_done()     (or zt_feed())
 *   records out     zt_send_buf() / zt_send_done()
 *   plaintext in    zt_write()
 *   plaintext out   zt_app_data() / zt_app_data_done() (or zt_read())
 *
 * Errors
 *   Every call that can fail returns a zt_err. The first error is sticky:
 *   after it every call is a no-op returning that error. A fatal error
 *   queues the matching alert (one switch, zt_err_alert()) in the send
 *   pipe; the embedder should flush zt_send_buf() and then close.
 *
 * Thread safety: a zt_conn is used by one thread at a time; a zt_config is
 * read-only once connections exist and may be shared across threads.
 */
#ifndef ZIGTLS_H
#define ZIGTLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ZT_WUR __attribute__((warn_unused_result))
#else
#define ZT_WUR
#endif

/* ---- sizes (RFC 8446 section 5) ---------------------------------------- */

#define ZT_RECORD_HEADER_LEN    5
#define ZT_MAX_PLAINTEXT        16384             /* 2^14 */
#define ZT_MAX_CIPHERTEXT       (16384 + 256)     /* 2^14 + 256 */
#define ZT_AEAD_TAG_LEN         16
/* Input buffer: one complete record at its largest, plus the next header. */
#define ZT_INBUF_SIZE           (ZT_RECORD_HEADER_LEN + ZT_MAX_CIPHERTEXT + \
                                 ZT_RECORD_HEADER_LEN)
/* Dynamic record sizing: the first ZT_BURST_BYTES of plaintext after the
 * handshake (and after zt_conn_restart_records) go in records of at most
 * ZT_BURST_RECORD bytes, one TCP segment each, so the peer can decrypt the
 * first bytes as soon as they arrive; then records are full (2^14). */
#define ZT_BURST_RECORD         1369
#define ZT_BURST_BYTES          4096
/* A record at least this long is read exactly (the rest of it and the next
 * header); shorter ones are read together, as many as the buffer takes. */
#define ZT_RECV_EXACT           4096
/* Output buffer after the handshake: one full protected record. */
#define ZT_OUTBUF_SIZE          (ZT_RECORD_HEADER_LEN + ZT_MAX_PLAINTEXT + 1 + \
                                 ZT_AEAD_TAG_LEN)
/* Largest handshake message body we reassemble by default (the ClientHello
 * with its extensions; see zt_config_set_max_handshake_len), and the most
 * the protocol allows (a 24-bit length). */
#define ZT_DEFAULT_MAX_HANDSHAKE 65536
#define ZT_MAX_HANDSHAKE_BODY   0xffffff
/* Floods a peer may repeat without progress (each refused with
 * unexpected_message once exceeded): empty application-data records in a
 * row, warning alerts (user_canceled) in a row, KeyUpdates without
 * application data in between. The values BoringSSL uses. */
#define ZT_MAX_EMPTY_RECORDS    32
#define ZT_MAX_WARNING_ALERTS   4
#define ZT_MAX_KEY_UPDATES      32
#define ZT_MAX_SNI_LEN          255
#define ZT_MAX_ALPN_LEN         255
#define ZT_MAX_ALPN_PROTOS      16
#define ZT_MAX_CREDENTIALS      8

/* ---- protocol code points ---------------------------------------------- */

#define ZT_TLS13                0x0304

#define ZT_TLS_AES_128_GCM_SHA256        0x1301
#define ZT_TLS_AES_256_GCM_SHA384        0x1302
#define ZT_TLS_CHACHA20_POLY1305_SHA256  0x1303

#define ZT_GROUP_SECP256R1      0x0017
#define ZT_GROUP_X25519         0x001d
/* Hybrid post-quantum groups (draft-ietf-tls-ecdhe-mlkem): ML-KEM-768
 * together with an ECDH group; both secrets feed the key schedule. */
#define ZT_GROUP_SECP256R1MLKEM768 0x11eb
#define ZT_GROUP_X25519MLKEM768    0x11ec
/* A configuration lists each suite or group once, so these are also every
 * suite and every group the core has. */
#define ZT_MAX_SUITES           3
#define ZT_MAX_GROUPS           4

#define ZT_SIG_ECDSA_SECP256R1_SHA256   0x0403
#define ZT_SIG_ECDSA_SECP384R1_SHA384   0x0503  /* client certificates only */
#define ZT_SIG_ECDSA_SECP521R1_SHA512   0x0603  /* client certificates only */
#define ZT_SIG_RSA_PSS_RSAE_SHA256      0x0804
#define ZT_SIG_RSA_PSS_RSAE_SHA384      0x0805
#define ZT_SIG_RSA_PSS_RSAE_SHA512      0x0806
#define ZT_SIG_ED25519                  0x0807

/* Alert descriptions (RFC 8446 section 6). */
enum {
    ZT_ALERT_CLOSE_NOTIFY = 0,
    ZT_ALERT_UNEXPECTED_MESSAGE = 10,
    ZT_ALERT_BAD_RECORD_MAC = 20,
    ZT_ALERT_RECORD_OVERFLOW = 22,
    ZT_ALERT_HANDSHAKE_FAILURE = 40,
    ZT_ALERT_BAD_CERTIFICATE = 42,
    ZT_ALERT_UNSUPPORTED_CERTIFICATE = 43,
    ZT_ALERT_CERTIFICATE_REVOKED = 44,
    ZT_ALERT_CERTIFICATE_EXPIRED = 45,
    ZT_ALERT_CERTIFICATE_UNKNOWN = 46,
    ZT_ALERT_ILLEGAL_PARAMETER = 47,
    ZT_ALERT_UNKNOWN_CA = 48,
    ZT_ALERT_DECODE_ERROR = 50,
    ZT_ALERT_DECRYPT_ERROR = 51,
    ZT_ALERT_PROTOCOL_VERSION = 70,
    ZT_ALERT_INSUFFICIENT_SECURITY = 71,
    ZT_ALERT_INTERNAL_ERROR = 80,
    ZT_ALERT_USER_CANCELED = 90,
    ZT_ALERT_MISSING_EXTENSION = 109,
    ZT_ALERT_UNSUPPORTED_EXTENSION = 110,
    ZT_ALERT_UNRECOGNIZED_NAME = 112,
    ZT_ALERT_CERTIFICATE_REQUIRED = 116,
    ZT_ALERT_NO_APPLICATION_PROTOCOL = 120,
    ZT_ALERT_NONE = 255 /* no alert (sent / received) */
};

/* ---- errors -------------------------------------------------------------- */

/*
 * One code per reason. zt_err_alert() maps each to the alert we send (or
 * ZT_ALERT_NONE); zt_err_str() names it for logs and metrics.
 */
typedef enum zt_err {
    ZT_OK = 0,
    ZT_E_WANT_MORE,          /* not an error: the call needs more input */
    ZT_E_CLOSED,             /* peer sent close_notify (clean end) */
    /* parse */
    ZT_E_DECODE,             /* malformed message: decode_error */
    ZT_E_ILLEGAL_PARAMETER,  /* well-formed but wrong value */
    ZT_E_DUPLICATE_EXTENSION,
    ZT_E_MISSING_EXTENSION,
    ZT_E_UNSUPPORTED_EXTENSION,
    ZT_E_UNEXPECTED_MESSAGE,
    ZT_E_UNEXPECTED_CCS,
    ZT_E_RECORD_OVERFLOW,
    ZT_E_HANDSHAKE_TOO_LARGE,
    ZT_E_PROTOCOL_VERSION,   /* client does not offer TLS 1.3 */
    /* negotiation */
    ZT_E_NO_SHARED_CIPHER,
    ZT_E_NO_SHARED_GROUP,
    ZT_E_NO_SHARED_SIGALG,
    ZT_E_HRR_MISMATCH,       /* second ClientHello changed what it must not */
    ZT_E_BAD_KEY_SHARE,      /* wrong length, not on curve, zero secret */
    /* policy (decided before any asymmetric crypto) */
    ZT_E_POLICY_SNI,         /* unrecognized_name */
    ZT_E_POLICY_ALPN,        /* no_application_protocol */
    ZT_E_POLICY_REJECT,      /* refused by the ClientHello callback */
    ZT_E_RATE_LIMITED,       /* refused by a handshake rate limit */
    /* proofs */
    ZT_E_BAD_FINISHED,
    ZT_E_BAD_SIGNATURE,
    ZT_E_BAD_RECORD_MAC,
    /* the peer */
    ZT_E_PEER_ALERT,         /* fatal alert received: zt_conn_alert_received */
    ZT_E_TRUNCATED,          /* transport EOF without close_notify */
    /* local */
    ZT_E_INTERNAL,
    ZT_E_NOMEM,
    ZT_E_CONFIG,             /* bad configuration argument */
    ZT_E_STATE,              /* call not valid in this state (API misuse) */
    /* floods (bounded repetition without progress) */
    ZT_E_TOO_MANY_EMPTY,     /* > ZT_MAX_EMPTY_RECORDS empty records */
    ZT_E_TOO_MANY_WARNINGS,  /* > ZT_MAX_WARNING_ALERTS warning alerts */
    ZT_E_TOO_MANY_KEY_UPDATES, /* > ZT_MAX_KEY_UPDATES KeyUpdates */
    /* sessions */
    ZT_E_BAD_BINDER,         /* PSK binder does not verify: decrypt_error */
    ZT_E_EARLY_DATA_LIMIT,   /* more 0-RTT than max_early_data: unexpected_message */
    /* client certificates (RFC 8446 4.4.2.4, 4.4.3) */
    ZT_E_CERT_REQUIRED,      /* empty Certificate, certificate required */
    ZT_E_BAD_CERTIFICATE,    /* damaged, weak or badly signed chain */
    ZT_E_UNSUPPORTED_CERT,   /* key we cannot verify, or not for clientAuth */
    ZT_E_CERT_REVOKED,       /* on a configured CRL */
    ZT_E_CERT_EXPIRED,       /* outside its validity (or its CRL's) */
    ZT_E_CERT_UNKNOWN,       /* any other path validation failure */
    ZT_E_UNKNOWN_CA,         /* no path to a trusted CA */
    ZT_E_BAD_SIGALG,         /* CertificateVerify scheme not offered, or
                                not the key's */
    ZT_E__COUNT
} zt_err;

uint8_t zt_err_alert(zt_err e);      /* alert we send for e, or ZT_ALERT_NONE */
const char *zt_err_str(zt_err e);    /* short stable name, e.g. "bad_finished" */
const char *zt_alert_str(uint8_t alert); /* RFC name, e.g. "decode_error" */

/* One piece of plaintext to gather into a record (zt_write_v). */
typedef struct zt_iov {
    const uint8_t *base;
    size_t len;
} zt_iov;

/* ---- configuration ------------------------------------------------------- */

typedef struct zt_config zt_config;
typedef struct zt_conn zt_conn;

/* Fill out[0..len) with cryptographically secure random bytes; 0 on success. */
typedef int (*zt_random_fn)(void *arg, uint8_t *out, size_t len);
/* Milliseconds since some fixed epoch (used for timing facts only). */
typedef uint64_t (*zt_clock_fn)(void *arg);
/*
 * External signer (hardware keys, tests): sign `msg` with credential
 * `cred_index` using `scheme`; write at most *sig_len bytes to sig and set
 * *sig_len. Return 0 on success. When unset, the core signs with the loaded
 * private key.
 */
typedef int (*zt_sign_fn)(void *arg, int cred_index, uint16_t scheme,
                          const uint8_t *msg, size_t msg_len,
                          uint8_t *sig, size_t *sig_len);
/* One line of NSS key log format, without newline (debugging only). */
typedef void (*zt_keylog_fn)(void *arg, const zt_conn *c, const char *line);

/* What the ClientHello said, for policy and server selection (L1). */
typedef struct zt_client_hello {
    const char *sni;                 /* NUL-terminated, or NULL */
    size_t sni_len;
    const uint8_t *alpn;             /* raw ProtocolNameList body, or NULL */
    size_t alpn_len;
    const uint16_t *cipher_suites;   /* as offered, in client order */
    size_t n_cipher_suites;
    const uint16_t *groups;
    size_t n_groups;
    const uint16_t *sigalgs;
    size_t n_sigalgs;
} zt_client_hello;

/*
 * Called once per connection after the ClientHello is parsed and before
 * any asymmetric crypto. It may switch the configuration used for the rest
 * of the handshake (certificates, ALPN, policy of the server{} chosen by
 * SNI) by storing another config in *use; that config must outlive the
 * connection. Return ZT_OK to go on, or an error (ZT_E_POLICY_SNI,
 * ZT_E_POLICY_ALPN, ZT_E_POLICY_REJECT...) to refuse with its alert.
 */
typedef zt_err (*zt_client_hello_fn)(void *arg, zt_conn *c,
                                     const zt_client_hello *ch,
                                     const zt_config **use);

zt_config *zt_config_new(void) ZT_WUR;
void zt_config_free(zt_config *cfg);

/* Server preference order; unknown code points, a code point listed
 * twice, more than ZT_MAX_SUITES / ZT_MAX_GROUPS or none: ZT_E_CONFIG. */
zt_err zt_config_set_cipher_suites(zt_config *cfg, const uint16_t *suites,
                                   size_t n) ZT_WUR;
zt_err zt_config_set_groups(zt_config *cfg, const uint16_t *groups,
                            size_t n) ZT_WUR;
/* Colon-separated names, e.g. "TLS_AES_128_GCM_SHA256:TLS_CHACHA20..."
 * and "x25519mlkem768:x25519:secp256r1" (case-insensitive; also "P-256",
 * "prime256v1", "secp256r1mlkem768"), each once. On error ZT_E_CONFIG and
 * the reason, naming the entry, in err (if not NULL): `unknown group
 * "x448"`, `group "P-256" is listed twice (as secp256r1)`, `too many
 * groups at "x25519": at most 4`, `no group listed`. Default groups:
 * X25519MLKEM768, x25519, secp256r1 (SecP256r1MLKEM768 only when listed). */
zt_err zt_config_set_cipher_suites_str(zt_config *cfg, const char *list,
                                       char *err, size_t err_len) ZT_WUR;
zt_err zt_config_set_groups_str(zt_config *cfg, const char *list, char *err,
                                size_t err_len) ZT_WUR;
/*
 * Groups advertised in EncryptedExtensions.supported_groups (RFC 8446
 * section 4.2.7, informational). Default: the configured groups. n = 0
 * stops advertising.
 */
zt_err zt_config_set_advertised_groups(zt_config *cfg, const uint16_t *groups,
                                       size_t n) ZT_WUR;

/* ALPN protocols in server preference order (RFC 7301). */
zt_err zt_config_set_alpn(zt_config *cfg, const char *const *protos,
                          size_t n) ZT_WUR;

#define ZT_POLICY_REQUIRE_SNI   0x01u  /* no SNI: unrecognized_name */
/* With an ALPN list configured, a client whose list has no overlap is
 * always refused (RFC 7301 3.2); REQUIRE_ALPN also refuses a client that
 * sends no ALPN at all. Both get no_application_protocol. */
#define ZT_POLICY_REQUIRE_ALPN  0x02u
#define ZT_POLICY_SNI_ALLOWLIST 0x04u  /* SNI not in the list: unrecognized_name */
void zt_config_set_policy(zt_config *cfg, unsigned flags);
/* Allow-list entry: exact name, or "*.example.com" for one label. */
zt_err zt_config_add_server_name(zt_config *cfg, const char *name) ZT_WUR;

/*
 * Add a certificate chain (PEM, leaf first) and its private key (PEM).
 * Key types: Ed25519, ECDSA P-256, RSA >= 2048 bits. Checks that the key
 * matches the leaf. On failure returns ZT_E_CONFIG and writes a reason to
 * err (if not NULL). Several credentials may be added; the handshake picks
 * one by the client's signature_algorithms (and _cert).
 */
zt_err zt_config_add_credential_file(zt_config *cfg, const char *chain_path,
                                     const char *key_path, char *err,
                                     size_t err_len) ZT_WUR;
zt_err zt_config_add_credential_mem(zt_config *cfg, const char *chain_pem,
                                    size_t chain_len, const char *key_pem,
                                    size_t key_len, char *err,
                                    size_t err_len) ZT_WUR;
size_t zt_config_credential_count(const zt_config *cfg);
/* Leaf notAfter as seconds since the epoch (0 if unknown). */
int64_t zt_config_credential_not_after(const zt_config *cfg, size_t i);
/* Key type name of credential i: "ed25519", "ecdsa-p256", "rsa". */
const char *zt_config_credential_type(const zt_config *cfg, size_t i);

void zt_config_set_random(zt_config *cfg, zt_random_fn fn, void *arg);
void zt_config_set_clock(zt_config *cfg, zt_clock_fn fn, void *arg);
void zt_config_set_signer(zt_config *cfg, zt_sign_fn fn, void *arg);
void zt_config_set_keylog(zt_config *cfg, zt_keylog_fn fn, void *arg);
void zt_config_set_client_hello_cb(zt_config *cfg, zt_client_hello_fn fn,
                                   void *arg);
/*
 * Length of the HelloRetryRequest cookie (bytes from the random source,
 * echoed back by the client and compared in constant time). Default 32.
 */
zt_err zt_config_set_hrr_cookie_len(zt_config *cfg, size_t len) ZT_WUR;
/* Smallest RSA key accepted by zt_config_add_credential_* (default 2048;
 * 1024 only for legacy test keys such as RFC 8448's). */
zt_err zt_config_set_rsa_min_bits(zt_config *cfg, unsigned bits) ZT_WUR;
/* A number the embedder bumps on certificate reload; reported per conn. */
void zt_config_set_generation(zt_config *cfg, uint64_t generation);
/*
 * Records protected with one key before the core rotates it with a
 * KeyUpdate (default: 2^24, well under the AES-GCM limit of RFC 8446
 * section 5.5).
 */
void zt_config_set_key_update_limit(zt_config *cfg, uint64_t records);
/*
 * Largest handshake message body the core reassembles from the client (in
 * practice the ClientHello; default ZT_DEFAULT_MAX_HANDSHAKE, 64 KiB). It
 * bounds the memory an unauthenticated peer can make one connection hold
 * during the handshake (the reassembly buffer grows to about twice it).
 * A bigger message is refused with decode_error as soon as its 4-byte
 * header arrives. Real ClientHellos are 0.2-4 KiB; the protocol allows
 * up to 2^24 - 1. Accepted: 256 .. ZT_MAX_HANDSHAKE_BODY, else ZT_E_CONFIG.
 */
zt_err zt_config_set_max_handshake_len(zt_config *cfg, size_t len) ZT_WUR;

/* ---- sessions: tickets, resumption, 0-RTT -------------------------------
 *
 * RFC 8446 sections 2.2, 2.3, 4.2.9-4.2.11, 4.6.1 and 8. Off by default:
 * a configuration resumes and issues tickets once it has a ticket sealer
 * (a key ring, or the embedder's own codec) and a wall clock, and accepts
 * 0-RTT only when, in addition, max_early_data > 0 and a replay filter is
 * set. docs/api.md ("Sessions") explains the model.
 *
 * Tickets are stateless: the session state (resumption PSK, suite, times,
 * ticket_age_add, SNI, ALPN, max_early_data, certificate generation, the
 * server{} binding, node id, client identity) sealed with AES-256-GCM
 * under a ring key that has an id, so any process holding the key opens
 * it. Resumption always uses psk_dhe_ke (a fresh ECDHE) unless psk_ke is
 * allowed. The binder is verified (constant time) before anything from
 * the ticket is used; a ticket that cannot be used (unknown key, expired,
 * another server{}, another hash) means a full handshake, never an error.
 */

#define ZT_TICKET_KEY_ID_LEN    16
#define ZT_TICKET_KEY_SHORT     48  /* id(16) + secret(32): `openssl rand 48` */
#define ZT_TICKET_KEY_LONG      80  /* id(16) + secret(64): `openssl rand 80` */
#define ZT_TICKET_KEYS_MAX      8   /* keys one ring holds */
#define ZT_MAX_TICKET_LIFETIME  604800u /* seconds: 7 days (4.6.1) */
#define ZT_MAX_SESSION_CONTEXT  32
#define ZT_MAX_NODE_ID          32
#define ZT_MAX_CLIENT_ID_LEN    2048 /* client identity kept in a ticket */
/* Largest session state and sealed ticket the core makes or accepts. */
#define ZT_MAX_SESSION_STATE    (96 + 48 + ZT_MAX_SESSION_CONTEXT + 255 + \
                                 255 + ZT_MAX_NODE_ID + ZT_MAX_CLIENT_ID_LEN)
#define ZT_MAX_TICKET_LEN       (ZT_MAX_SESSION_STATE + 64)

/*
 * The ticket key ring: one key seals new tickets (the first), every key
 * opens. Keys are what an operator generates with `openssl rand 80` (or
 * 48): 16 bytes of key id, then the secret; the AEAD key is derived from
 * the secret with HKDF-SHA256 and the secret itself is not kept.
 *
 * A ring may be shared by many configurations (all server{} blocks of a
 * process). Handshakes only read it, without a lock; changing it
 * (add/rotate/clear) must not run at the same time as a handshake on a
 * configuration that uses it (one event loop: between events; threads:
 * build a new ring and a new configuration). Retired keys are wiped.
 */
typedef struct zt_ticket_keys zt_ticket_keys;

zt_ticket_keys *zt_ticket_keys_new(void) ZT_WUR;
void zt_ticket_keys_free(zt_ticket_keys *ring);   /* wipes every key */
void zt_ticket_keys_clear(zt_ticket_keys *ring);  /* wipes every key */
/* Append a key (decrypt only, unless the ring was empty: then it seals).
 * ZT_E_CONFIG: length other than 48 or 80, ring full, or an id already in
 * the ring. */
zt_err zt_ticket_keys_add(zt_ticket_keys *ring, const uint8_t *key,
                          size_t len) ZT_WUR;
/*
 * Rotation by time: `key` becomes the sealing key, the previous keys stay
 * to open tickets they sealed; a key that stopped sealing more than
 * keep_ms ago (set it to the ticket lifetime: no ticket it sealed is
 * still valid) is wiped and dropped, and so is the oldest when the ring is
 * full. now_ms: the wall clock.
 */
zt_err zt_ticket_keys_rotate(zt_ticket_keys *ring, const uint8_t *key,
                             size_t len, uint64_t now_ms,
                             uint64_t keep_ms) ZT_WUR;
/* A fresh key (ZT_TICKET_KEY_LONG bytes: random id and secret) from the
 * system's random source, for rings an embedder rotates itself; 0 on
 * success. Wipe it after use. */
int zt_ticket_key_generate(uint8_t key[ZT_TICKET_KEY_LONG]) ZT_WUR;
size_t zt_ticket_keys_count(const zt_ticket_keys *ring);
/* Id of key i (0 seals); 0 on success. */
int zt_ticket_keys_id(const zt_ticket_keys *ring, size_t i,
                      uint8_t id[ZT_TICKET_KEY_ID_LEN]) ZT_WUR;

/* Seal and open tickets with this ring (NULL: no tickets). */
void zt_config_set_ticket_keys(zt_config *cfg, const zt_ticket_keys *ring);

/*
 * Or an embedder's own ticket codec (a session database for single-use
 * tickets, RFC 8446 section 8.1; an existing ticket format). seal: write
 * the ticket for the opaque session state (state_len bytes) into ticket,
 * at most *ticket_len bytes, set *ticket_len; 0 on success. open: the
 * state back from a ticket into state (at most *state_len bytes), set
 * *state_len; return ZT_TICKET_OK, ZT_TICKET_UNKNOWN (not ours, unknown
 * key: a full handshake) or ZT_TICKET_BAD (forged or damaged: also a full
 * handshake, counted apart). Replaces the key ring.
 */
enum { ZT_TICKET_OK = 0, ZT_TICKET_UNKNOWN = 1, ZT_TICKET_BAD = 2 };
typedef int (*zt_ticket_seal_fn)(void *arg, const uint8_t *state,
                                 size_t state_len, uint8_t *ticket,
                                 size_t *ticket_len);
typedef int (*zt_ticket_open_fn)(void *arg, const uint8_t *ticket,
                                 size_t ticket_len, uint8_t *state,
                                 size_t *state_len);
void zt_config_set_ticket_codec(zt_config *cfg, zt_ticket_seal_fn seal,
                                zt_ticket_open_fn open, void *arg);

/* Wall clock, milliseconds since the Unix epoch: ticket times cross
 * processes and machines (the clock of zt_config_set_clock may be
 * monotonic). Without it no ticket is issued or accepted. */
void zt_config_set_wall_clock(zt_config *cfg, zt_clock_fn fn, void *arg);
/* NewSessionTickets sent after the client Finished (default 1; 0: none,
 * resumption of tickets still works). At most 16. None to a client whose
 * psk_key_exchange_modes has no mode we allow (4.2.9). */
zt_err zt_config_set_ticket_count(zt_config *cfg, unsigned n) ZT_WUR;
/* Ticket lifetime in seconds (default 7200; 1..ZT_MAX_TICKET_LIFETIME).
 * A session descending by resumption from one full handshake never
 * outlives that handshake by more than ZT_MAX_TICKET_LIFETIME. */
zt_err zt_config_set_ticket_lifetime(zt_config *cfg, uint32_t seconds) ZT_WUR;
/*
 * The binding of tickets to a server{} (RFC 8446 4.2.11; the lesson of
 * nginx's CVE-2025-23419): a ticket resumes only on a configuration with
 * the same session context (compared after the ClientHello callback chose
 * the configuration), else a full handshake. Give every server{} its own
 * value, derived from its identity and from every verification policy a
 * full handshake would apply. Up to ZT_MAX_SESSION_CONTEXT bytes are kept
 * as they are, a longer value as its SHA-256; default empty.
 */
zt_err zt_config_set_session_context(zt_config *cfg, const uint8_t *ctx,
                                     size_t len) ZT_WUR;
/* Allow psk_ke (resumption without a fresh ECDHE, no forward secrecy for
 * the session) to clients that offer only that mode. Default: refused. */
void zt_config_set_psk_ke(zt_config *cfg, int allow);

/*
 * 0-RTT (RFC 8446 4.2.10, 8). max_early_data: bytes of early application
 * data a ticket allows (0: off, the default). 0-RTT is accepted only on a
 * ticket that allowed it, issued by this node (same node id), with the
 * same suite, ALPN and SNI, a ticket age within the window, and a replay
 * filter that saw this ClientHello's binder for the first time. Anything
 * else: the early data is skipped and the handshake goes on in 1-RTT.
 */
zt_err zt_config_set_max_early_data(zt_config *cfg, uint32_t bytes) ZT_WUR;
/* Allowed difference between the client's ticket age and ours (default
 * 10000 ms, section 8.3). */
void zt_config_set_ticket_age_window(zt_config *cfg, uint32_t ms);
/* This node's id, kept in tickets that allow 0-RTT: another node resumes
 * such a ticket without 0-RTT. Up to ZT_MAX_NODE_ID bytes; default empty. */
zt_err zt_config_set_node_id(zt_config *cfg, const uint8_t *id,
                             size_t len) ZT_WUR;

/*
 * The replay filter (section 8.2): called once per 0-RTT ClientHello that
 * passed every other check, with the verified binder as key. Record it
 * until expires_ms (wall clock) and return ZT_REPLAY_FRESH, or
 * ZT_REPLAY_SEEN when it is already recorded, or ZT_REPLAY_UNAVAILABLE
 * when it cannot tell (full, error, or the ticket was issued at issued_ms,
 * before the filter started: section 8.2 asks to refuse 0-RTT while the
 * recording window overlaps the start). Anything but FRESH refuses 0-RTT.
 */
enum { ZT_REPLAY_FRESH = 0, ZT_REPLAY_SEEN = 1, ZT_REPLAY_UNAVAILABLE = 2 };
typedef int (*zt_replay_fn)(void *arg, const uint8_t *key, size_t key_len,
                            uint64_t issued_ms, uint64_t now_ms,
                            uint64_t expires_ms);
void zt_config_set_replay_filter(zt_config *cfg, zt_replay_fn fn, void *arg);

/*
 * A replay filter over memory the embedder provides (a process's heap, or
 * shared memory under the embedder's own lock), of fixed size: no
 * allocation. zt_replay_table_check has the zt_replay_fn signature, with
 * the table as arg. When full, it answers ZT_REPLAY_UNAVAILABLE (0-RTT is
 * refused, never accepted unchecked).
 */
size_t zt_replay_table_bytes(size_t entries);
/* Lay out a table in mem (bytes from zt_replay_table_bytes); start_ms:
 * the wall clock now. Returns the number of entries, 0 if too small. */
size_t zt_replay_table_init(void *mem, size_t bytes, uint64_t start_ms);
int zt_replay_table_check(void *table, const uint8_t *key, size_t key_len,
                          uint64_t issued_ms, uint64_t now_ms,
                          uint64_t expires_ms);
/* Entries in use (not expired at now_ms). */
size_t zt_replay_table_used(const void *table, uint64_t now_ms);

/* ---- client certificates (mTLS: RFC 8446 sections 4.3.2, 4.4.2-4.4.4) ----
 *
 * With a mode other than ZT_VERIFY_OFF the server sends a
 * CertificateRequest after EncryptedExtensions (signature_algorithms, and
 * certificate_authorities naming the CAs added with advertise = 1), then
 * waits for the client's Certificate, CertificateVerify and Finished. The
 * CertificateVerify signature (client context string, a scheme we
 * offered) and the Finished are always enforced. Path validation goes
 * through the crypto provider (libcrypto's X509 store): trusted CAs,
 * depth, CRLs, key usage / extended key usage for clientAuth, validity at
 * the wall clock's time (zt_config_set_wall_clock; without one, the
 * system's).
 *
 * Without ZT_VERIFY_DEFER a failure ends the handshake with its alert
 * (certificate_required, unknown_ca, certificate_expired, ...). With it,
 * a missing or failed certificate does not end the handshake: the result
 * is reported (zt_conn_peer_verify) and the embedder decides, as nginx's
 * ssl_verify_client does (HTTP 496 / 495 after the handshake). A malformed
 * message, a CertificateVerify that does not verify and a certificate whose
 * key we cannot check still end it in every mode.
 */
typedef enum zt_verify_mode {
    ZT_VERIFY_OFF = 0,        /* no CertificateRequest (the default) */
    ZT_VERIFY_REQUIRED,       /* an empty Certificate: certificate_required */
    ZT_VERIFY_OPTIONAL,       /* none is fine; one that is sent must verify */
    ZT_VERIFY_OPTIONAL_NO_CA  /* as OPTIONAL, but a chain that does not lead
                                 to a trusted CA (unknown issuer, self-signed)
                                 is accepted: the embedder checks it */
} zt_verify_mode;

#define ZT_VERIFY_DEFER       0x01u /* report, do not refuse (see above) */
#define ZT_VERIFY_KEEP_CHAIN  0x02u /* keep the client's DER chain after the
                                       handshake (zt_conn_peer_cert) until
                                       zt_conn_peer_release() */

zt_err zt_config_set_verify_client(zt_config *cfg, zt_verify_mode mode,
                                   unsigned flags) ZT_WUR;
/* Intermediate CAs allowed between the client's certificate and a trusted
 * CA (libcrypto's verify depth; 0: issued by a trusted CA directly).
 * Default 1, as nginx's ssl_verify_depth. At most 32. */
zt_err zt_config_set_verify_depth(zt_config *cfg, unsigned depth) ZT_WUR;
/*
 * Trusted CAs for client certificates (PEM, one or more certificates).
 * advertise = 1: their subject names are sent in certificate_authorities
 * (nginx's ssl_client_certificate); 0: trusted silently
 * (ssl_trusted_certificate). May be called several times.
 */
zt_err zt_config_add_client_ca_file(zt_config *cfg, const char *path,
                                    int advertise, char *err,
                                    size_t err_len) ZT_WUR;
zt_err zt_config_add_client_ca_mem(zt_config *cfg, const char *pem,
                                   size_t len, int advertise, char *err,
                                   size_t err_len) ZT_WUR;
/* Certificate revocation lists (PEM). With at least one, every certificate
 * of a client's chain is checked against its issuer's CRL (nginx's
 * ssl_crl: an issuer without a CRL fails the check). */
zt_err zt_config_add_crl_file(zt_config *cfg, const char *path, char *err,
                              size_t err_len) ZT_WUR;
zt_err zt_config_add_crl_mem(zt_config *cfg, const char *pem, size_t len,
                             char *err, size_t err_len) ZT_WUR;
/* Trusted CAs and CRLs loaded so far. */
size_t zt_config_client_ca_count(const zt_config *cfg);
size_t zt_config_crl_count(const zt_config *cfg);

/* ---- connection ---------------------------------------------------------- */

size_t zt_conn_size(void);  /* bytes of the one allocation zt_conn_new makes */
zt_conn *zt_conn_new(const zt_config *cfg) ZT_WUR;
void zt_conn_free(zt_conn *c);  /* wipes every secret */
void zt_conn_set_user(zt_conn *c, void *user);
void *zt_conn_user(const zt_conn *c);

/* Records in. zt_recv_buf gives where to put received bytes (*len may be 0
 * when the core cannot take more until plaintext is read or output is
 * flushed); zt_recv_done(n) says n bytes were written there and processes
 * them. Returns ZT_OK, or the sticky error. */
uint8_t *zt_recv_buf(zt_conn *c, size_t *len);
zt_err zt_recv_done(zt_conn *c, size_t n) ZT_WUR;
/* The same as zt_recv_done (n may be 0), and then plaintext out into the
 * caller's buffer: application data goes to dst[0, cap), *got bytes. A
 * record whose plaintext fits in what is left of dst is decrypted straight
 * there (the cipher's pass is the only copy); a larger one is decrypted in
 * place and copied out; records that come once dst is full wait, sealed,
 * for the next call (ZT_ST_APP_READABLE stays set). dst bytes beyond *got
 * may have been written (a KeyUpdate or alert record decrypted there, or a
 * record that failed its tag, wiped). */
zt_err zt_recv_into(zt_conn *c, size_t n, uint8_t *dst, size_t cap,
                    size_t *got) ZT_WUR;
/* Convenience: copy from data, process; *consumed tells how much was taken. */
zt_err zt_feed(zt_conn *c, const uint8_t *data, size_t len,
               size_t *consumed) ZT_WUR;
/* Transport EOF: after the peer's close_notify, or after ours once the
 * handshake is done, this is a clean close; otherwise the connection fails
 * with ZT_E_TRUNCATED. */
zt_err zt_eof(zt_conn *c);

/* Records out. */
const uint8_t *zt_send_buf(zt_conn *c, size_t *len);
void zt_send_done(zt_conn *c, size_t n);

/* Plaintext out: decrypted application data, released only after its tag
 * verified. */
const uint8_t *zt_app_data(zt_conn *c, size_t *len);
void zt_app_data_done(zt_conn *c, size_t n);
/* Convenience: copy up to len bytes of plaintext; returns bytes copied. */
size_t zt_read(zt_conn *c, uint8_t *buf, size_t len);

/* Plaintext in: protect up to len bytes into the send pipe (one record at
 * most per call, ZT_MAX_PLAINTEXT bytes). *accepted = 0 when the send pipe
 * must be flushed first. Only after the handshake, or once 0-RTT was
 * accepted (ZT_ST_EARLY_DATA: the answer to early data goes out at
 * 0.5-RTT). */
zt_err zt_write(zt_conn *c, const uint8_t *data, size_t len,
                size_t *accepted) ZT_WUR;
/* Plaintext in, without a copy of our own: zt_write_buf gives where the
 * next record's plaintext goes (*len: the most that fits now; NULL when
 * the send pipe must be flushed first, or writing is not possible), and
 * zt_write_done(n) seals the n bytes placed there into one record. Nothing
 * else may be called in between. Lets an embedder gather several buffers
 * (headers and body) into one record. The core wipes the send pipe up to
 * what was sealed; plaintext placed there but never sealed is the
 * embedder's to wipe. */
uint8_t *zt_write_buf(zt_conn *c, size_t *len);
zt_err zt_write_done(zt_conn *c, size_t n) ZT_WUR;
/* Output gathering across calls: zt_write_hold(n) says n bytes were placed
 * at zt_write_buf() and leaves the record open (not sealed, not in the
 * send pipe; ZT_ST_HOLDING). Later writes add to it; zt_write_done (n may
 * be 0), zt_write, zt_write_v, zt_close or a full record seal it. */
zt_err zt_write_hold(zt_conn *c, size_t n) ZT_WUR;
/* Plaintext in from several buffers into one record with no copy besides
 * the cipher's own pass: seals the held plaintext, if any, and up to what
 * fits of iov[0, n_iov) (a piece may also be bytes the embedder placed at
 * zt_write_buf(), in order). *accepted: bytes taken from iov (0 when the
 * send pipe must be flushed first). */
zt_err zt_write_v(zt_conn *c, const zt_iov *iov, size_t n_iov,
                  size_t *accepted) ZT_WUR;
/* Dynamic record sizing: the next ZT_BURST_BYTES go in small records again
 * (the embedder calls it when the connection was quiet for a while). */
void zt_conn_restart_records(zt_conn *c);
/* Queue close_notify; no plaintext may be written after it. */
zt_err zt_close(zt_conn *c);
/* Send a KeyUpdate; request_peer asks the peer to update its key too. */
zt_err zt_key_update(zt_conn *c, int request_peer) ZT_WUR;

/* Give back the record buffers while idle (nothing buffered either way).
 * Returns ZT_OK if released, ZT_E_STATE if something is still buffered. */
zt_err zt_conn_release_buffers(zt_conn *c);
/* The same, choosing what goes: ZT_RELEASE_BUFFERS (the record buffers, a
 * malloc and a free to get them back) and/or ZT_RELEASE_CIPHERS (the AEAD
 * contexts, only once the buffers are gone: a key set-up per direction to
 * get them back, about ten thousand instructions each with AES-GCM).
 * zt_conn_release_buffers(c) is zt_conn_release(c, both). */
#define ZT_RELEASE_BUFFERS  0x01u
#define ZT_RELEASE_CIPHERS  0x02u
zt_err zt_conn_release(zt_conn *c, unsigned what);
/* Bytes currently allocated for this connection besides zt_conn_size():
 * record buffers, handshake state, SNI (AEAD contexts not included). */
size_t zt_conn_buffer_bytes(const zt_conn *c);
/* Everything the connection holds now: zt_conn_size(), the buffers above
 * and its AEAD contexts (their size as measured for the crypto library,
 * docs/architecture.md). */
size_t zt_conn_memory(const zt_conn *c);

/* ---- state ---------------------------------------------------------------- */

#define ZT_ST_WANT_READ     0x01u  /* the core wants more records */
#define ZT_ST_HAS_OUTPUT    0x02u  /* zt_send_buf has bytes to send */
#define ZT_ST_APP_READABLE  0x04u  /* zt_app_data has plaintext */
#define ZT_ST_APP_WRITABLE  0x08u  /* zt_write would accept data now */
#define ZT_ST_HANDSHAKE_DONE 0x10u
#define ZT_ST_PEER_CLOSED   0x20u  /* close_notify received */
#define ZT_ST_CLOSED        0x40u  /* we queued close_notify */
#define ZT_ST_FAILED        0x80u  /* fatal error; see zt_conn_error */
/* 0-RTT accepted, the client Finished not verified yet: plaintext read
 * now may be early data (zt_app_data_early), and zt_write is allowed
 * (0.5-RTT data, to a client not yet proven live, RFC 8446 4.4.4). */
#define ZT_ST_EARLY_DATA    0x100u
#define ZT_ST_HOLDING       0x200u /* an open record (zt_write_hold) */

unsigned zt_conn_state(const zt_conn *c);
zt_err zt_conn_error(const zt_conn *c);
uint8_t zt_conn_alert_sent(const zt_conn *c);      /* or ZT_ALERT_NONE */
uint8_t zt_conn_alert_received(const zt_conn *c);  /* or ZT_ALERT_NONE */

/* ---- what the handshake settled (valid once ZT_ST_HANDSHAKE_DONE; SNI and
 * ALPN also during the ClientHello callback) -------------------------------- */

uint16_t zt_conn_version(const zt_conn *c);
uint16_t zt_conn_cipher_suite(const zt_conn *c);
uint16_t zt_conn_group(const zt_conn *c);
uint16_t zt_conn_sigalg(const zt_conn *c);
const char *zt_conn_sni(const zt_conn *c);        /* NULL if none */
const char *zt_conn_alpn(const zt_conn *c);       /* NULL if none */
int zt_conn_resumed(const zt_conn *c);            /* a ticket was accepted */
int zt_conn_early_data_accepted(const zt_conn *c);/* 0-RTT was accepted */
int zt_conn_hrr(const zt_conn *c);                /* a HelloRetryRequest was sent */
uint64_t zt_conn_generation(const zt_conn *c);    /* of the config used */
const zt_config *zt_conn_config(const zt_conn *c);/* after the CH callback */
uint64_t zt_conn_handshake_ms(const zt_conn *c);  /* first byte to done */
uint64_t zt_conn_key_updates(const zt_conn *c);   /* sent + received */

/* ---- certificate compression (RFC 8879) -----------------------------------
 *
 * A client that lists one of the configured algorithms in its
 * compress_certificate extension gets a CompressedCertificate instead of
 * the Certificate message. Each credential's Certificate message is
 * compressed once, when the credential is added (or when this is set, for
 * those added before): a handshake only copies it. A chain that would not
 * get smaller is sent uncompressed.
 */
#define ZT_CERT_COMP_ZLIB    1
#define ZT_CERT_COMP_BROTLI  2
/* Server preference order; n = 0 turns compression off (the default).
 * ZT_E_CONFIG for an unknown or repeated algorithm, ZT_E_NOMEM. */
zt_err zt_config_set_cert_compression(zt_config *cfg, const uint16_t *algs,
                                      size_t n) ZT_WUR;
/* Bytes of credential i's Certificate message body as sent without
 * compression (alg 0) or compressed with alg (0: not kept). */
size_t zt_config_credential_cert_len(const zt_config *cfg, size_t i,
                                     uint16_t alg);
/* The algorithm of the CompressedCertificate this connection sent (0:
 * none); *saved (if not NULL) gets the bytes it saved on the wire. */
uint16_t zt_conn_cert_compression(const zt_conn *c, size_t *saved);

/* ---- JA4 fingerprints of the ClientHello ---------------------------------
 *
 * JA4 (the public specification, FoxIO's technical_details/JA4.md) of a
 * ClientHello as the client sent it: GREASE left out, unknown extensions
 * counted and listed. Four forms:
 *   ZT_JA4     t13d1516h2_8daaf6152771_e5627efa2ab1 (ZT_JA4_LEN characters)
 *   ZT_JA4_R   the same with the sorted lists in place of their hashes
 *   ZT_JA4_O   as ZT_JA4, lists in the order sent (SNI and ALPN kept)
 *   ZT_JA4_RO  as ZT_JA4_R, lists in the order sent
 */
typedef enum zt_ja4_form {
    ZT_JA4 = 0,
    ZT_JA4_R = 1,
    ZT_JA4_O = 2,
    ZT_JA4_RO = 3
} zt_ja4_form;
#define ZT_JA4_FORMS   4
#define ZT_JA4_LEN     36
/* Raw forms longer than this (a ClientHello with hundreds of suites) are
 * not kept per connection. */
#define ZT_JA4_RAW_MAX 2048

/*
 * Fingerprint one ClientHello body (the handshake message without its
 * 4-byte header). Writes at most cap - 1 characters and a NUL to out (out
 * may be NULL with cap 0) and returns the length of the whole fingerprint,
 * as snprintf does; 0 when the fixed fields or the extension framing
 * cannot be read.
 */
size_t zt_ja4(const uint8_t *hello, size_t len, zt_ja4_form form, char *out,
              size_t cap);
/*
 * Forms (bits 1u << zt_ja4_form) the connection keeps of its first
 * ClientHello, refused or not: one allocation at the ClientHello, freed
 * with the connection. Call before the first zt_recv_done. Default 0:
 * none kept, no cost.
 */
void zt_conn_set_ja4(zt_conn *c, unsigned forms);
/* A kept form, or NULL (not asked for, no ClientHello yet, unreadable). */
const char *zt_conn_ja4(const zt_conn *c, zt_ja4_form form);

/* What became of the client's pre_shared_key (valid after the ClientHello
 * that got our ServerHello): the reason a ticket was not used. */
typedef enum zt_psk_result {
    ZT_PSK_NONE = 0,     /* no pre_shared_key offered */
    ZT_PSK_ACCEPTED,     /* resumed */
    ZT_PSK_DISABLED,     /* we take no tickets (no sealer or wall clock) */
    ZT_PSK_MODE,         /* no PSK mode we allow (psk_ke only) */
    ZT_PSK_UNKNOWN_KEY,  /* not sealed by a key we hold */
    ZT_PSK_BAD_TICKET,   /* does not open, or not a state we understand */
    ZT_PSK_EXPIRED,      /* past its lifetime */
    ZT_PSK_WRONG_SERVER, /* another server{} (session context or policy) */
    ZT_PSK_SUITE,        /* another hash than the suite chosen now */
    ZT_PSK__COUNT
} zt_psk_result;
zt_psk_result zt_conn_psk_result(const zt_conn *c);
const char *zt_psk_result_str(zt_psk_result r);   /* "unknown_key" */

/* What became of the client's early_data. */
typedef enum zt_early_result {
    ZT_EARLY_NONE = 0,     /* not offered */
    ZT_EARLY_ACCEPTED,
    ZT_EARLY_DISABLED,     /* off here, or the ticket did not allow it */
    ZT_EARLY_NO_PSK,       /* no ticket accepted */
    ZT_EARLY_HRR,          /* a HelloRetryRequest was needed */
    ZT_EARLY_PARAMS,       /* suite, ALPN or SNI differ from the ticket's */
    ZT_EARLY_OTHER_NODE,   /* the ticket was issued by another node */
    ZT_EARLY_AGE,          /* ticket age out of the window (8.3) */
    ZT_EARLY_REPLAY,       /* the replay filter saw this ClientHello */
    ZT_EARLY_UNAVAILABLE,  /* the replay filter could not tell (full) */
    ZT_EARLY__COUNT
} zt_early_result;
zt_early_result zt_conn_early_result(const zt_conn *c);
const char *zt_early_result_str(zt_early_result r); /* "replayed" */

/* The plaintext zt_app_data offers now, or the bytes the last
 * zt_recv_into returned, arrived as 0-RTT: replayable, from a client whose
 * Finished has not been seen yet (RFC 8446 E.5). zt_recv_into and zt_read
 * never return early and later data in one call; asked before zt_read, it
 * says what zt_read will return. */
int zt_app_data_early(const zt_conn *c);
/* The id of the ring key that opened this connection's ticket (resumed) or
 * sealed the tickets it was sent; 0 on success, -1 if none (no ticket, or
 * an embedder codec). */
int zt_conn_ticket_key_id(const zt_conn *c, uint8_t id[ZT_TICKET_KEY_ID_LEN]);
/* Tickets sent on this connection. */
unsigned zt_conn_tickets_sent(const zt_conn *c);

/* ---- the client's certificate (valid once the client's Certificate was
 * processed: during and after the handshake, also after a failure) ------- */

typedef enum zt_verify_result {
    ZT_VR_NONE = 0,        /* none asked for, or an empty Certificate */
    ZT_VR_OK,              /* the chain verified */
    ZT_VR_UNKNOWN_CA,      /* no path to a trusted CA (unknown issuer,
                              self-signed, issuer not a CA) */
    ZT_VR_EXPIRED,         /* a certificate (or CRL) expired or not yet valid */
    ZT_VR_REVOKED,         /* listed on its issuer's CRL */
    ZT_VR_BAD_PURPOSE,     /* key usage / extended key usage not clientAuth */
    ZT_VR_CHAIN_TOO_LONG,  /* more intermediates than the verify depth */
    ZT_VR_CRL_MISSING,     /* CRL checking on, no usable CRL for an issuer */
    ZT_VR_BAD_CERT,        /* damaged, weak key or digest, bad signature */
    ZT_VR_OTHER,
    ZT_VR__COUNT
} zt_verify_result;

/* 1 when the server sent a CertificateRequest on this connection. */
int zt_conn_peer_requested(const zt_conn *c);
zt_verify_result zt_conn_peer_verify(const zt_conn *c);
/* 1 when the certificate is acceptable under the configured mode: verified,
 * or OPTIONAL_NO_CA and the only failure is the issuer; 0 otherwise (also
 * when there is none). */
int zt_conn_peer_accepted(const zt_conn *c);
/* libcrypto's reason text, what nginx prints after "FAILED:" in
 * $ssl_client_verify (e.g. "certificate has expired"); "ok" when verified,
 * "none" without a certificate. Static storage. */
const char *zt_conn_peer_verify_reason(const zt_conn *c);
/* Stable short name of a result for logs and metrics: "ok", "unknown_ca",
 * "expired", ... */
const char *zt_verify_result_str(zt_verify_result r);

/* Facts of the client's leaf certificate, computed once when it arrives and
 * kept for the life of the connection (a few hundred bytes). */
typedef struct zt_peer_info {
    const char *subject;   /* RFC 2253 ("CN=client,O=Example"), as nginx's
                              $ssl_client_s_dn */
    const char *issuer;
    const char *serial;    /* upper-case hex, as $ssl_client_serial */
    int64_t not_before;    /* seconds since the epoch */
    int64_t not_after;
    uint8_t sha256[32];    /* of the DER certificate */
    uint8_t sha1[20];      /* $ssl_client_fingerprint's */
} zt_peer_info;

/* NULL when the client sent no certificate. */
const zt_peer_info *zt_conn_peer_info(const zt_conn *c);
/* The chain as the client sent it, leaf first. Held until the client's
 * Finished verifies; after it only with ZT_VERIFY_KEEP_CHAIN, until
 * zt_conn_peer_release(). */
size_t zt_conn_peer_chain_len(const zt_conn *c);
const uint8_t *zt_conn_peer_cert(const zt_conn *c, size_t i, size_t *len);
/* Frees the kept chain; the facts and the result stay. */
void zt_conn_peer_release(zt_conn *c);

const char *zt_cipher_suite_name(uint16_t suite); /* "TLS_AES_128_GCM_SHA256" */
const char *zt_group_name(uint16_t group);        /* "x25519", "X25519MLKEM768" */
const char *zt_sigalg_name(uint16_t scheme);      /* "ecdsa_secp256r1_sha256" */

#ifdef __cplusplus
}
#endif
#endif /* ZIGTLS_H */
