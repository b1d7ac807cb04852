/*
 * errors.c: the one place that maps every error to its alert (RFC 8446
 * section 6.2), and the names used in logs and metrics (errors, and client
 * certificate verification results).
 */
#include "internal.h"

uint8_t zt_err_alert(zt_err e)
{
    switch (e) {
    case ZT_OK:
    case ZT_E_WANT_MORE:
    case ZT_E_CLOSED:
    case ZT_E_PEER_ALERT:   /* the peer's alert ends it; we send none */
    case ZT_E_TRUNCATED:    /* the transport is gone */
    case ZT_E_STATE:        /* API misuse by the embedder */
    case ZT_E_CONFIG:
        return ZT_ALERT_NONE;
    case ZT_E_DECODE:
    case ZT_E_HANDSHAKE_TOO_LARGE:
        return ZT_ALERT_DECODE_ERROR;
    case ZT_E_DUPLICATE_EXTENSION: /* 4.2 names none: as BoringSSL, rustls */
        return ZT_ALERT_DECODE_ERROR;
    case ZT_E_ILLEGAL_PARAMETER:
    case ZT_E_HRR_MISMATCH:        /* 4.1.2 */
    case ZT_E_BAD_KEY_SHARE:       /* 4.2.8.1, 4.2.8.2, 7.4.2 */
        return ZT_ALERT_ILLEGAL_PARAMETER;
    case ZT_E_MISSING_EXTENSION:
        return ZT_ALERT_MISSING_EXTENSION;
    case ZT_E_UNSUPPORTED_EXTENSION:
        return ZT_ALERT_UNSUPPORTED_EXTENSION;
    case ZT_E_UNEXPECTED_MESSAGE:
    case ZT_E_UNEXPECTED_CCS:
    case ZT_E_TOO_MANY_EMPTY:
    case ZT_E_TOO_MANY_WARNINGS:
    case ZT_E_TOO_MANY_KEY_UPDATES:
        return ZT_ALERT_UNEXPECTED_MESSAGE;
    case ZT_E_RECORD_OVERFLOW:
        return ZT_ALERT_RECORD_OVERFLOW;
    case ZT_E_PROTOCOL_VERSION:
        return ZT_ALERT_PROTOCOL_VERSION;
    case ZT_E_NO_SHARED_CIPHER:
    case ZT_E_NO_SHARED_GROUP:
    case ZT_E_NO_SHARED_SIGALG:
    case ZT_E_POLICY_REJECT:
    case ZT_E_RATE_LIMITED:
        return ZT_ALERT_HANDSHAKE_FAILURE;
    case ZT_E_POLICY_SNI:
        return ZT_ALERT_UNRECOGNIZED_NAME;
    case ZT_E_POLICY_ALPN:
        return ZT_ALERT_NO_APPLICATION_PROTOCOL;
    case ZT_E_BAD_FINISHED:
    case ZT_E_BAD_SIGNATURE:
    case ZT_E_BAD_BINDER: /* 4.2.11, 6.2 */
        return ZT_ALERT_DECRYPT_ERROR;
    case ZT_E_EARLY_DATA_LIMIT: /* 4.6.1: SHOULD unexpected_message */
        return ZT_ALERT_UNEXPECTED_MESSAGE;
    case ZT_E_BAD_RECORD_MAC:
        return ZT_ALERT_BAD_RECORD_MAC;
    case ZT_E_CERT_REQUIRED:     /* 4.4.2.4 */
        return ZT_ALERT_CERTIFICATE_REQUIRED;
    case ZT_E_BAD_CERTIFICATE:   /* 4.4.2.4, 6.2 */
        return ZT_ALERT_BAD_CERTIFICATE;
    case ZT_E_UNSUPPORTED_CERT:
        return ZT_ALERT_UNSUPPORTED_CERTIFICATE;
    case ZT_E_CERT_REVOKED:
        return ZT_ALERT_CERTIFICATE_REVOKED;
    case ZT_E_CERT_EXPIRED:
        return ZT_ALERT_CERTIFICATE_EXPIRED;
    case ZT_E_CERT_UNKNOWN:
        return ZT_ALERT_CERTIFICATE_UNKNOWN;
    case ZT_E_UNKNOWN_CA:
        return ZT_ALERT_UNKNOWN_CA;
    case ZT_E_BAD_SIGALG:        /* 4.4.3, as libssl */
        return ZT_ALERT_ILLEGAL_PARAMETER;
    case ZT_E_INTERNAL:
    case ZT_E_NOMEM:
    case ZT_E__COUNT:
        return ZT_ALERT_INTERNAL_ERROR;
    }
    return ZT_ALERT_INTERNAL_ERROR;
}

const char *zt_err_str(zt_err e)
{
    static const char *const names[ZT_E__COUNT] = {
        [ZT_OK] = "ok",
        [ZT_E_WANT_MORE] = "want_more",
        [ZT_E_CLOSED] = "closed",
        [ZT_E_DECODE] = "malformed",
        [ZT_E_ILLEGAL_PARAMETER] = "illegal_parameter",
        [ZT_E_DUPLICATE_EXTENSION] = "duplicate_extension",
        [ZT_E_MISSING_EXTENSION] = "missing_extension",
        [ZT_E_UNSUPPORTED_EXTENSION] = "unsupported_extension",
        [ZT_E_UNEXPECTED_MESSAGE] = "unexpected_message",
        [ZT_E_UNEXPECTED_CCS] = "unexpected_ccs",
        [ZT_E_RECORD_OVERFLOW] = "record_overflow",
        [ZT_E_HANDSHAKE_TOO_LARGE] = "handshake_too_large",
        [ZT_E_PROTOCOL_VERSION] = "protocol_version",
        [ZT_E_NO_SHARED_CIPHER] = "no_shared_cipher",
        [ZT_E_NO_SHARED_GROUP] = "no_shared_group",
        [ZT_E_NO_SHARED_SIGALG] = "no_shared_sigalg",
        [ZT_E_HRR_MISMATCH] = "hrr_mismatch",
        [ZT_E_BAD_KEY_SHARE] = "bad_key_share",
        [ZT_E_POLICY_SNI] = "policy_sni",
        [ZT_E_POLICY_ALPN] = "policy_alpn",
        [ZT_E_POLICY_REJECT] = "policy_reject",
        [ZT_E_RATE_LIMITED] = "rate_limited",
        [ZT_E_BAD_FINISHED] = "bad_finished",
        [ZT_E_BAD_SIGNATURE] = "bad_signature",
        [ZT_E_BAD_RECORD_MAC] = "bad_record_mac",
        [ZT_E_CERT_REQUIRED] = "certificate_required",
        [ZT_E_BAD_CERTIFICATE] = "bad_certificate",
        [ZT_E_UNSUPPORTED_CERT] = "unsupported_certificate",
        [ZT_E_CERT_REVOKED] = "certificate_revoked",
        [ZT_E_CERT_EXPIRED] = "certificate_expired",
        [ZT_E_CERT_UNKNOWN] = "certificate_unknown",
        [ZT_E_UNKNOWN_CA] = "unknown_ca",
        [ZT_E_BAD_SIGALG] = "bad_sigalg",
        [ZT_E_PEER_ALERT] = "peer_alert",
        [ZT_E_TRUNCATED] = "truncated",
        [ZT_E_INTERNAL] = "internal",
        [ZT_E_NOMEM] = "out_of_memory",
        [ZT_E_CONFIG] = "config",
        [ZT_E_STATE] = "bad_state",
        [ZT_E_TOO_MANY_EMPTY] = "too_many_empty_records",
        [ZT_E_TOO_MANY_WARNINGS] = "too_many_warning_alerts",
        [ZT_E_TOO_MANY_KEY_UPDATES] = "too_many_key_updates",
        [ZT_E_BAD_BINDER] = "bad_binder",
        [ZT_E_EARLY_DATA_LIMIT] = "early_data_limit",
    };
    if ((unsigned)e >= ZT_E__COUNT || names[e] == NULL)
        return "unknown";
    return names[e];
}

const char *zt_psk_result_str(zt_psk_result r)
{
    static const char *const names[ZT_PSK__COUNT] = {
        [ZT_PSK_NONE] = "none",
        [ZT_PSK_ACCEPTED] = "accepted",
        [ZT_PSK_DISABLED] = "disabled",
        [ZT_PSK_MODE] = "mode",
        [ZT_PSK_UNKNOWN_KEY] = "unknown_key",
        [ZT_PSK_BAD_TICKET] = "bad_ticket",
        [ZT_PSK_EXPIRED] = "expired",
        [ZT_PSK_WRONG_SERVER] = "wrong_server",
        [ZT_PSK_SUITE] = "suite",
    };
    return (unsigned)r < ZT_PSK__COUNT ? names[r] : "unknown";
}

const char *zt_early_result_str(zt_early_result r)
{
    static const char *const names[ZT_EARLY__COUNT] = {
        [ZT_EARLY_NONE] = "none",
        [ZT_EARLY_ACCEPTED] = "accepted",
        [ZT_EARLY_DISABLED] = "disabled",
        [ZT_EARLY_NO_PSK] = "no_psk",
        [ZT_EARLY_HRR] = "hrr",
        [ZT_EARLY_PARAMS] = "params",
        [ZT_EARLY_OTHER_NODE] = "other_node",
        [ZT_EARLY_AGE] = "age",
        [ZT_EARLY_REPLAY] = "replayed",
        [ZT_EARLY_UNAVAILABLE] = "unavailable",
    };
    return (unsigned)r < ZT_EARLY__COUNT ? names[r] : "unknown";
}

const char *zt_alert_str(uint8_t a)
{
    switch (a) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 22: return "record_overflow";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    case ZT_ALERT_NONE: return "none";
    }
    return "unknown_alert";
}

const char *zt_verify_result_str(zt_verify_result r)
{
    static const char *const names[ZT_VR__COUNT] = {
        [ZT_VR_NONE] = "none",
        [ZT_VR_OK] = "ok",
        [ZT_VR_UNKNOWN_CA] = "unknown_ca",
        [ZT_VR_EXPIRED] = "expired",
        [ZT_VR_REVOKED] = "revoked",
        [ZT_VR_BAD_PURPOSE] = "bad_purpose",
        [ZT_VR_CHAIN_TOO_LONG] = "chain_too_long",
        [ZT_VR_CRL_MISSING] = "crl_missing",
        [ZT_VR_BAD_CERT] = "bad_certificate",
        [ZT_VR_OTHER] = "other",
    };
    if ((unsigned)r >= ZT_VR__COUNT)
        return "unknown";
    return names[r];
}
