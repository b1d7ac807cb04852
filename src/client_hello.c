/*
 * client_hello.c: ClientHello decoding (RFC 8446 section 4.1.2, 4.2).
 * Structure only; negotiation happens in server.c. Every field is read
 * through the cursor; anything short, long or trailing is decode_error.
 */
#include <stdlib.h>

#include "internal.h"

/* Extensions a second ClientHello may change (section 4.1.2). */
static int may_change_after_hrr(uint16_t type)
{
    return type == ZT_EXT_KEY_SHARE || type == ZT_EXT_EARLY_DATA ||
           type == ZT_EXT_COOKIE || type == ZT_EXT_PRE_SHARED_KEY ||
           type == ZT_EXT_PADDING;
}

/* A u16 list with a 2-byte length: non-empty, even. */
static zt_err u16_list(zt_cur *ext, zt_cur *out)
{
    if (zt_cur_vec(ext, 2, out) || zt_cur_finish(ext))
        return ZT_E_DECODE;
    if (zt_cur_left(out) == 0 || zt_cur_left(out) % 2)
        return ZT_E_DECODE;
    return ZT_OK;
}

static zt_err parse_sni(zt_cur ext, zt_ch *ch)
{
    zt_cur list, name;
    uint8_t type;
    size_t i;

    /* RFC 6066 section 3: ServerNameList server_name_list<1..2^16-1> */
    if (zt_cur_vec(&ext, 2, &list) || zt_cur_finish(&ext) ||
        zt_cur_left(&list) == 0)
        return ZT_E_DECODE;
    while (zt_cur_left(&list)) {
        if (zt_cur_u8(&list, &type) || zt_cur_vec(&list, 2, &name))
            return ZT_E_DECODE;
        if (type != 0)
            continue; /* only host_name is defined */
        if (ch->sni != NULL)
            return ZT_E_ILLEGAL_PARAMETER; /* one name per type */
        if (zt_cur_left(&name) == 0 || zt_cur_left(&name) > ZT_MAX_SNI_LEN)
            return ZT_E_DECODE;
        for (i = 0; i < zt_cur_left(&name); i++)
            if (name.p[i] <= 0x20 || name.p[i] >= 0x7f)
                return ZT_E_ILLEGAL_PARAMETER;
        ch->sni = name.p;
        ch->sni_len = zt_cur_left(&name);
    }
    return ZT_OK;
}

static zt_err parse_alpn(zt_cur ext, zt_ch *ch)
{
    zt_cur list, it, name;

    /* RFC 7301 section 3.1: ProtocolName protocol_name_list<2..2^16-1>,
     * each ProtocolName<1..2^8-1>. */
    if (zt_cur_vec(&ext, 2, &list) || zt_cur_finish(&ext) ||
        zt_cur_left(&list) < 2)
        return ZT_E_DECODE;
    it = list;
    while (zt_cur_left(&it))
        if (zt_cur_vec(&it, 1, &name) || zt_cur_left(&name) == 0)
            return ZT_E_DECODE;
    ch->has_alpn = 1;
    ch->alpn = list;
    return ZT_OK;
}

static zt_err parse_key_shares(zt_cur ext, zt_ch *ch)
{
    zt_cur list, it, kx;
    uint16_t g;

    if (zt_cur_vec(&ext, 2, &list) || zt_cur_finish(&ext))
        return ZT_E_DECODE;
    it = list;
    while (zt_cur_left(&it))
        if (zt_cur_u16(&it, &g) || zt_cur_vec(&it, 2, &kx) ||
            zt_cur_left(&kx) == 0)
            return ZT_E_DECODE;
    ch->has_key_share = 1;
    ch->key_shares = list;
    return ZT_OK;
}

static zt_err parse_versions(zt_cur ext, zt_ch *ch)
{
    zt_cur list;
    uint16_t v;

    if (zt_cur_vec(&ext, 1, &list) || zt_cur_finish(&ext) ||
        zt_cur_left(&list) < 2 || zt_cur_left(&list) % 2)
        return ZT_E_DECODE;
    ch->has_versions = 1;
    while (zt_cur_left(&list)) {
        if (zt_cur_u16(&list, &v))
            return ZT_E_DECODE;
        if (v == ZT_TLS13)
            ch->offers_tls13 = 1;
    }
    return ZT_OK;
}

/* Section 4.2.9: PskKeyExchangeMode ke_modes<1..255>; unknown modes are
 * ignored. */
static zt_err parse_psk_modes(zt_cur ext, zt_ch *ch)
{
    zt_cur list;
    uint8_t m;

    if (zt_cur_vec(&ext, 1, &list) || zt_cur_finish(&ext) ||
        zt_cur_left(&list) == 0)
        return ZT_E_DECODE;
    while (zt_cur_u8(&list, &m) == 0) {
        if (m == 0)
            ch->psk_modes |= ZT_PSK_MODE_KE;
        else if (m == 1)
            ch->psk_modes |= ZT_PSK_MODE_DHE_KE;
    }
    ch->has_psk_modes = 1;
    return ZT_OK;
}

/* Section 4.2.11: OfferedPsks { PskIdentity identities<7..2^16-1>;
 * PskBinderEntry binders<33..2^16-1>; }, identity<1..2^16-1> followed by
 * a uint32 age, PskBinderEntry<32..255>, one binder per identity. */
static zt_err parse_psk(zt_cur ext, zt_ch *ch)
{
    zt_cur ids, binders, it, v;
    const uint8_t *age;
    size_t n_ids = 0, n_binders = 0;

    if (zt_cur_vec(&ext, 2, &ids))
        return ZT_E_DECODE;
    ch->psk_cut = ext.p;
    if (zt_cur_vec(&ext, 2, &binders) || zt_cur_finish(&ext) ||
        zt_cur_left(&ids) < 7 || zt_cur_left(&binders) < 33)
        return ZT_E_DECODE;
    for (it = ids; zt_cur_left(&it); n_ids++)
        if (zt_cur_vec(&it, 2, &v) || zt_cur_left(&v) == 0 ||
            zt_cur_bytes(&it, 4, &age))
            return ZT_E_DECODE;
    for (it = binders; zt_cur_left(&it); n_binders++)
        if (zt_cur_vec(&it, 1, &v) || zt_cur_left(&v) < 32)
            return ZT_E_DECODE;
    if (n_ids != n_binders)
        return ZT_E_ILLEGAL_PARAMETER; /* one binder per identity */
    ch->psk_identities = ids;
    ch->psk_binders = binders;
    ch->has_psk = 1;
    return ZT_OK;
}

/* RFC 8879 section 3: CertificateCompressionAlgorithm
 * algorithms<2..2^8-2>; unknown algorithms are ignored. */
static zt_err parse_cert_comp(zt_cur ext, zt_ch *ch)
{
    zt_cur list;
    uint16_t alg;

    if (zt_cur_vec(&ext, 1, &list) || zt_cur_finish(&ext) ||
        zt_cur_left(&list) < 2 || zt_cur_left(&list) % 2)
        return ZT_E_DECODE;
    while (zt_cur_u16(&list, &alg) == 0)
        if (alg >= 1 && alg <= 15)
            ch->cert_comp |= 1u << alg;
    return ZT_OK;
}

static zt_err parse_extension(uint16_t type, zt_cur ext, zt_ch *ch)
{
    switch (type) {
    case ZT_EXT_SERVER_NAME:
        return parse_sni(ext, ch);
    case ZT_EXT_SUPPORTED_GROUPS:
        ch->has_groups = 1;
        return u16_list(&ext, &ch->groups);
    case ZT_EXT_SIGNATURE_ALGORITHMS:
        ch->has_sigalgs = 1;
        return u16_list(&ext, &ch->sigalgs);
    case ZT_EXT_SIGNATURE_ALGORITHMS_CERT:
        ch->has_sigalgs_cert = 1;
        return u16_list(&ext, &ch->sigalgs_cert);
    case ZT_EXT_ALPN:
        return parse_alpn(ext, ch);
    case ZT_EXT_KEY_SHARE:
        return parse_key_shares(ext, ch);
    case ZT_EXT_SUPPORTED_VERSIONS:
        return parse_versions(ext, ch);
    case ZT_EXT_COOKIE:
        if (zt_cur_vec(&ext, 2, &ch->cookie) || zt_cur_finish(&ext) ||
            zt_cur_left(&ch->cookie) == 0)
            return ZT_E_DECODE;
        ch->has_cookie = 1;
        return ZT_OK;
    case ZT_EXT_RECORD_SIZE_LIMIT:
        /* RFC 8449 section 4 */
        if (zt_cur_u16(&ext, &ch->record_size_limit) || zt_cur_finish(&ext))
            return ZT_E_DECODE;
        if (ch->record_size_limit < 64)
            return ZT_E_ILLEGAL_PARAMETER;
        ch->has_record_size_limit = 1;
        return ZT_OK;
    case ZT_EXT_EARLY_DATA:
        if (zt_cur_left(&ext) != 0)
            return ZT_E_DECODE;
        ch->has_early_data = 1;
        return ZT_OK;
    case ZT_EXT_PSK_KEY_EXCHANGE_MODES:
        return parse_psk_modes(ext, ch);
    case ZT_EXT_COMPRESS_CERTIFICATE:
        return parse_cert_comp(ext, ch);
    case ZT_EXT_PRE_SHARED_KEY:
        return parse_psk(ext, ch);
    default:
        return ZT_OK; /* unknown extensions are ignored (section 4.2) */
    }
}

zt_err zt_parse_client_hello(const uint8_t *body, size_t len, zt_ch *ch)
{
    zt_cur c = zt_cur_make(body, len), sid, suites, comp, exts, ext;
    uint8_t seen[65536 / 8];
    zt_hash *fixed = NULL;
    const uint8_t *fixed_end;
    uint16_t type;
    zt_err e = ZT_OK;
    int null_comp = 0;

    memset(ch, 0, sizeof(*ch));
    if (zt_cur_u16(&c, &ch->legacy_version) ||
        zt_cur_bytes(&c, 32, &ch->random) || zt_cur_vec(&c, 1, &sid) ||
        zt_cur_vec(&c, 2, &suites) || zt_cur_vec(&c, 1, &comp))
        return ZT_E_DECODE;
    if (zt_cur_left(&sid) > 32 || zt_cur_left(&suites) < 2 ||
        zt_cur_left(&suites) % 2 || zt_cur_left(&comp) < 1)
        return ZT_E_DECODE;
    ch->session_id = sid.p;
    ch->session_id_len = zt_cur_left(&sid);
    ch->suites = suites;
    fixed_end = c.p;
    if (zt_cur_left(&c) == 0) {
        /* No extensions at all: a TLS 1.2-or-older ClientHello. */
        return ZT_E_PROTOCOL_VERSION;
    }
    if (zt_cur_vec(&c, 2, &exts) || zt_cur_finish(&c))
        return ZT_E_DECODE;
    /* legacy_compression_methods must be exactly {null} (4.1.2); a TLS
     * 1.2 client may offer more, so version is judged first, below. */
    null_comp = zt_cur_left(&comp) == 1 && comp.p[0] == 0;

    fixed = zt_hash_new(ZT_SHA256);
    if (fixed == NULL || zt_hash_update(fixed, body, (size_t)(fixed_end - body)))
        e = ZT_E_NOMEM;
    memset(seen, 0, sizeof(seen));
    while (e == ZT_OK && zt_cur_left(&exts)) {
        const uint8_t *start = exts.p;
        if (zt_cur_u16(&exts, &type) || zt_cur_vec(&exts, 2, &ext)) {
            e = ZT_E_DECODE;
            break;
        }
        if (seen[type >> 3] & (1u << (type & 7))) {
            e = ZT_E_DUPLICATE_EXTENSION;
            break;
        }
        seen[type >> 3] |= (uint8_t)(1u << (type & 7));
        if (ch->psk_cut != NULL) {
            /* pre_shared_key MUST be the last extension (4.2.11) */
            e = ZT_E_ILLEGAL_PARAMETER;
            break;
        }
        e = parse_extension(type, ext, ch);
        if (e == ZT_OK && !may_change_after_hrr(type) &&
            zt_hash_update(fixed, start, (size_t)(exts.p - start)))
            e = ZT_E_NOMEM;
    }
    if (e == ZT_OK && zt_hash_peek(fixed, ch->fixed_digest))
        e = ZT_E_INTERNAL;
    zt_hash_free(fixed);
    if (e != ZT_OK)
        return e;
    if (!ch->has_versions || !ch->offers_tls13)
        return ZT_E_PROTOCOL_VERSION;
    /* 4.1.2: a TLS 1.3 ClientHello has legacy_version 0x0303 (higher
     * values are tolerated, as 4.2.1 tells servers to ignore the field);
     * D.5: 0x0300 or less MUST be refused with protocol_version, and
     * nothing older than TLS 1.2 may negotiate TLS 1.3 either. */
    if (ch->legacy_version < 0x0303)
        return ZT_E_PROTOCOL_VERSION;
    if (!null_comp)
        return ZT_E_ILLEGAL_PARAMETER;
    return ZT_OK;
}
