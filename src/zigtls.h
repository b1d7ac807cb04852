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

#define ZT_SIG_ECDSA_SECP256R1_SHA256   0x0403
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
    ZT_ALERT_ILLEGAL_PARAMETER = 47,
    ZT_ALERT_DECODE_ERROR = 50,
    ZT_ALERT_DECRYPT_ERROR = 51,
    ZT_ALERT_PROTOCOL_VERSION = 70,
    ZT_ALERT_INSUFFICIENT_SECURITY = 71,
    ZT_ALERT_INTERNAL_ERROR = 80,
    ZT_ALERT_USER_CANCELED = 90,
    ZT_ALERT_MISSING_EXTENSION = 109,
    ZT_ALERT_UNSUPPORTED_EXTENSION = 110,
    ZT_ALERT_UNRECOGNIZED_NAME = 112,
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
    ZT_E__COUNT
} zt_err;

uint8_t zt_err_alert(zt_err e);      /* alert we send for e, or ZT_ALERT_NONE */
const char *zt_err_str(zt_err e);    /* short stable name, e.g. "bad_finished" */
const char *zt_alert_str(uint8_t alert); /* RFC name, e.g. "decode_error" */

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

/* Server preference order; unknown code points are a ZT_E_CONFIG. */
zt_err zt_config_set_cipher_suites(zt_config *cfg, const uint16_t *suites,
                                   size_t n) ZT_WUR;
zt_err zt_config_set_groups(zt_config *cfg, const uint16_t *groups,
                            size_t n) ZT_WUR;
/* Colon-separated names, e.g. "TLS_AES_128_GCM_SHA256:TLS_CHACHA20..."
 * and "x25519mlkem768:x25519:secp256r1" (case-insensitive; also "P-256",
 * "prime256v1", "secp256r1mlkem768"). On error *bad (if not NULL) points at
 * the offending name inside `list`. Default groups:
 * X25519MLKEM768, x25519, secp256r1 (SecP256r1MLKEM768 only when listed). */
zt_err zt_config_set_cipher_suites_str(zt_config *cfg, const char *list,
                                       const char **bad) ZT_WUR;
zt_err zt_config_set_groups_str(zt_config *cfg, const char *list,
                                const char **bad) ZT_WUR;
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
 * must be flushed first. Only after the handshake. */
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
/* Queue close_notify; no plaintext may be written after it. */
zt_err zt_close(zt_conn *c);
/* Send a KeyUpdate; request_peer asks the peer to update its key too. */
zt_err zt_key_update(zt_conn *c, int request_peer) ZT_WUR;

/* Give back the record buffers while idle (nothing buffered either way).
 * Returns ZT_OK if released, ZT_E_STATE if something is still buffered. */
zt_err zt_conn_release_buffers(zt_conn *c);
/* Bytes currently allocated for this connection besides zt_conn_size(). */
size_t zt_conn_buffer_bytes(const zt_conn *c);

/* ---- state ---------------------------------------------------------------- */

#define ZT_ST_WANT_READ     0x01u  /* the core wants more records */
#define ZT_ST_HAS_OUTPUT    0x02u  /* zt_send_buf has bytes to send */
#define ZT_ST_APP_READABLE  0x04u  /* zt_app_data has plaintext */
#define ZT_ST_APP_WRITABLE  0x08u  /* zt_write would accept data now */
#define ZT_ST_HANDSHAKE_DONE 0x10u
#define ZT_ST_PEER_CLOSED   0x20u  /* close_notify received */
#define ZT_ST_CLOSED        0x40u  /* we queued close_notify */
#define ZT_ST_FAILED        0x80u  /* fatal error; see zt_conn_error */

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
int zt_conn_resumed(const zt_conn *c);            /* always 0 for now */
int zt_conn_early_data_accepted(const zt_conn *c);/* always 0 for now */
int zt_conn_hrr(const zt_conn *c);                /* a HelloRetryRequest was sent */
uint64_t zt_conn_generation(const zt_conn *c);    /* of the config used */
const zt_config *zt_conn_config(const zt_conn *c);/* after the CH callback */
uint64_t zt_conn_handshake_ms(const zt_conn *c);  /* first byte to done */
uint64_t zt_conn_key_updates(const zt_conn *c);   /* sent + received */

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

const char *zt_cipher_suite_name(uint16_t suite); /* "TLS_AES_128_GCM_SHA256" */
const char *zt_group_name(uint16_t group);        /* "x25519", "X25519MLKEM768" */
const char *zt_sigalg_name(uint16_t scheme);      /* "ecdsa_secp256r1_sha256" */

#ifdef __cplusplus
}
#endif
#endif /* ZIGTLS_H */
