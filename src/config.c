/*
 * config.c: the configuration object, built once and shared read-only by
 * connections; cipher suite, group and signature scheme tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static const zt_suite_info zt_suites[] = {
    {ZT_TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256",
     ZT_AEAD_AES_128_GCM, ZT_SHA256, 16},
    {ZT_TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384",
     ZT_AEAD_AES_256_GCM, ZT_SHA384, 32},
    {ZT_TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256",
     ZT_AEAD_CHACHA20_POLY1305, ZT_SHA256, 32},
};

_Static_assert(sizeof(zt_suites) / sizeof(zt_suites[0]) == ZT_MAX_SUITES,
               "a configuration can list every suite");

const zt_suite_info *zt_suite_lookup(uint16_t id)
{
    size_t i;

    for (i = 0; i < sizeof(zt_suites) / sizeof(zt_suites[0]); i++)
        if (zt_suites[i].id == id)
            return &zt_suites[i];
    return NULL;
}

const char *zt_cipher_suite_name(uint16_t suite)
{
    const zt_suite_info *s = zt_suite_lookup(suite);
    return s ? s->name : NULL;
}

const char *zt_group_name(uint16_t group)
{
    switch (group) {
    case ZT_GROUP_X25519: return "x25519";
    case ZT_GROUP_SECP256R1: return "secp256r1";
    /* the IANA names (draft-ietf-tls-ecdhe-mlkem section 5) */
    case ZT_GROUP_X25519MLKEM768: return "X25519MLKEM768";
    case ZT_GROUP_SECP256R1MLKEM768: return "SecP256r1MLKEM768";
    }
    return NULL;
}

const char *zt_sigalg_name(uint16_t scheme)
{
    switch (scheme) {
    case ZT_SIG_ECDSA_SECP256R1_SHA256: return "ecdsa_secp256r1_sha256";
    case ZT_SIG_ECDSA_SECP384R1_SHA384: return "ecdsa_secp384r1_sha384";
    case ZT_SIG_ECDSA_SECP521R1_SHA512: return "ecdsa_secp521r1_sha512";
    case ZT_SIG_RSA_PSS_RSAE_SHA256: return "rsa_pss_rsae_sha256";
    case ZT_SIG_RSA_PSS_RSAE_SHA384: return "rsa_pss_rsae_sha384";
    case ZT_SIG_RSA_PSS_RSAE_SHA512: return "rsa_pss_rsae_sha512";
    case ZT_SIG_ED25519: return "ed25519";
    }
    return NULL;
}

zt_config *zt_config_new(void)
{
    zt_config *cfg;

    if (zt_crypto_init() != 0)
        return NULL;
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return NULL;
    /* AES-128-GCM first: mandatory, and fastest with AES-NI here. */
    cfg->suites[0] = ZT_TLS_AES_128_GCM_SHA256;
    cfg->suites[1] = ZT_TLS_AES_256_GCM_SHA384;
    cfg->suites[2] = ZT_TLS_CHACHA20_POLY1305_SHA256;
    cfg->n_suites = 3;
    /* Post-quantum hybrid first, as current browsers and OpenSSL 3.5 do;
     * a client that sent only a classical share still gets it without a
     * HelloRetryRequest (docs/security.md). */
    cfg->groups[0] = ZT_GROUP_X25519MLKEM768;
    cfg->groups[1] = ZT_GROUP_X25519;
    cfg->groups[2] = ZT_GROUP_SECP256R1;
    cfg->n_groups = 3;
    cfg->rnd = zt_sys_random;
    cfg->cookie_len = 32;
    cfg->rsa_min_bits = 2048;
    cfg->ku_limit = (uint64_t)1 << 24;
    cfg->max_hs = ZT_DEFAULT_MAX_HANDSHAKE;
    cfg->ticket_count = 1;
    cfg->ticket_lifetime = 7200;
    cfg->age_window = 10000;
    cfg->verify_depth = 1; /* nginx's ssl_verify_depth */
    return cfg;
}

void zt_config_free(zt_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    for (i = 0; i < cfg->n_creds; i++) {
        zt_cred_free(&cfg->creds[i]);
        zt_cert_comp_free(cfg, i);
    }
    for (i = 0; i < cfg->n_names; i++)
        free(cfg->names[i]);
    free(cfg->names);
    zt_trust_free(cfg->trust);
    zt_memzero(cfg, sizeof(*cfg));
    free(cfg);
}

static int has_dup(const uint16_t *v, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++)
        for (j = i + 1; j < n; j++)
            if (v[i] == v[j])
                return 1;
    return 0;
}

zt_err zt_config_set_cipher_suites(zt_config *cfg, const uint16_t *suites,
                                   size_t n)
{
    size_t i;

    if (n == 0 || n > ZT_MAX_SUITES || has_dup(suites, n))
        return ZT_E_CONFIG;
    for (i = 0; i < n; i++)
        if (zt_suite_lookup(suites[i]) == NULL)
            return ZT_E_CONFIG;
    memcpy(cfg->suites, suites, n * sizeof(*suites));
    cfg->n_suites = n;
    return ZT_OK;
}

zt_err zt_config_set_groups(zt_config *cfg, const uint16_t *groups, size_t n)
{
    size_t i;

    if (n == 0 || n > ZT_MAX_GROUPS || has_dup(groups, n))
        return ZT_E_CONFIG;
    for (i = 0; i < n; i++)
        if (zt_group_name(groups[i]) == NULL)
            return ZT_E_CONFIG;
    memcpy(cfg->groups, groups, n * sizeof(*groups));
    cfg->n_groups = n;
    return ZT_OK;
}

zt_err zt_config_set_advertised_groups(zt_config *cfg, const uint16_t *groups,
                                       size_t n)
{
    if (n > sizeof(cfg->adv_groups) / sizeof(cfg->adv_groups[0]))
        return ZT_E_CONFIG;
    if (n)
        memcpy(cfg->adv_groups, groups, n * sizeof(*groups));
    cfg->n_adv_groups = n;
    cfg->adv_groups_set = 1;
    return ZT_OK;
}

static uint16_t suite_by_name(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof(zt_suites) / sizeof(zt_suites[0]); i++)
        if (strlen(zt_suites[i].name) == n &&
            strncasecmp(zt_suites[i].name, s, n) == 0)
            return zt_suites[i].id;
    return 0;
}

static uint16_t group_by_name(const char *s, size_t n)
{
    static const struct {
        const char *name;
        uint16_t id;
    } names[] = {
        {"x25519", ZT_GROUP_X25519},     {"secp256r1", ZT_GROUP_SECP256R1},
        {"p-256", ZT_GROUP_SECP256R1},   {"prime256v1", ZT_GROUP_SECP256R1},
        {"p256", ZT_GROUP_SECP256R1},
        {"x25519mlkem768", ZT_GROUP_X25519MLKEM768},
        {"secp256r1mlkem768", ZT_GROUP_SECP256R1MLKEM768},
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i].name) == n && strncasecmp(names[i].name, s, n) == 0)
            return names[i].id;
    return 0;
}

/* A list of names ("a:b:c") into ids, at most `max` (every one the core
 * has, so more names than that means one is repeated), each known and
 * listed once; on error a reason naming the entry goes to err. */
zt_err zt_parse_names(const char *list, const zt_name_list *kind,
                      uint16_t *out, size_t max, size_t *n, char *err,
                      size_t err_len)
{
    const char *p = list, *e;
    size_t k = 0, i, len;
    uint16_t id;

    *n = 0;
    while (*p) {
        e = p;
        while (*e && *e != ':' && *e != ',' && *e != ' ')
            e++;
        len = (size_t)(e - p);
        if (len) {
            id = kind->by_name(p, len);
            if (id == 0) {
                snprintf(err, err_len, "unknown %s \"%.*s\"", kind->what,
                         (int)len, p);
                return ZT_E_CONFIG;
            }
            for (i = 0; i < k; i++)
                if (out[i] == id) {
                    snprintf(err, err_len, "%s \"%.*s\" is listed twice "
                             "(as %s)", kind->what, (int)len, p,
                             kind->name(id));
                    return ZT_E_CONFIG;
                }
            if (k >= max) {
                snprintf(err, err_len, "too many %ss at \"%.*s\": at most "
                         "%zu", kind->what, (int)len, p, max);
                return ZT_E_CONFIG;
            }
            out[k++] = id;
        }
        p = *e ? e + 1 : e;
    }
    if (k == 0) {
        snprintf(err, err_len, "no %s listed", kind->what);
        return ZT_E_CONFIG;
    }
    *n = k;
    return ZT_OK;
}

static const zt_name_list suite_names = {"cipher suite", suite_by_name,
                                         zt_cipher_suite_name};
static const zt_name_list group_names = {"group", group_by_name,
                                         zt_group_name};

zt_err zt_config_set_cipher_suites_str(zt_config *cfg, const char *list,
                                       char *err, size_t err_len)
{
    uint16_t ids[ZT_MAX_SUITES];
    char why[1];
    size_t n;
    zt_err e;

    if (err == NULL || err_len == 0)
        err = why, err_len = sizeof(why);
    e = zt_parse_names(list, &suite_names, ids, ZT_MAX_SUITES, &n, err,
                       err_len);
    return e ? e : zt_config_set_cipher_suites(cfg, ids, n);
}

zt_err zt_config_set_groups_str(zt_config *cfg, const char *list, char *err,
                                size_t err_len)
{
    uint16_t ids[ZT_MAX_GROUPS];
    char why[1];
    size_t n;
    zt_err e;

    if (err == NULL || err_len == 0)
        err = why, err_len = sizeof(why);
    e = zt_parse_names(list, &group_names, ids, ZT_MAX_GROUPS, &n, err,
                       err_len);
    return e ? e : zt_config_set_groups(cfg, ids, n);
}

zt_err zt_config_set_alpn(zt_config *cfg, const char *const *protos, size_t n)
{
    size_t i, l;

    if (n > ZT_MAX_ALPN_PROTOS)
        return ZT_E_CONFIG;
    for (i = 0; i < n; i++) {
        l = strlen(protos[i]);
        if (l == 0 || l > ZT_MAX_ALPN_LEN)
            return ZT_E_CONFIG;
    }
    for (i = 0; i < n; i++) {
        l = strlen(protos[i]);
        memcpy(cfg->alpn[i], protos[i], l + 1);
        cfg->alpn_len[i] = (uint8_t)l;
    }
    cfg->n_alpn = n;
    return ZT_OK;
}

void zt_config_set_policy(zt_config *cfg, unsigned flags)
{
    cfg->policy = flags;
}

zt_err zt_config_add_server_name(zt_config *cfg, const char *name)
{
    char **v;
    size_t l = strlen(name);

    if (l == 0 || l > ZT_MAX_SNI_LEN)
        return ZT_E_CONFIG;
    v = realloc(cfg->names, (cfg->n_names + 1) * sizeof(*v));
    if (v == NULL)
        return ZT_E_NOMEM;
    cfg->names = v;
    v[cfg->n_names] = strdup(name);
    if (v[cfg->n_names] == NULL)
        return ZT_E_NOMEM;
    cfg->n_names++;
    return ZT_OK;
}

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    if (err && err_len) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
}

zt_err zt_config_add_credential_mem(zt_config *cfg, const char *chain_pem,
                                    size_t chain_len, const char *key_pem,
                                    size_t key_len, char *err, size_t err_len)
{
    if (cfg->n_creds >= ZT_MAX_CREDENTIALS) {
        set_err(err, err_len, "%s", "too many certificates");
        return ZT_E_CONFIG;
    }
    memset(&cfg->creds[cfg->n_creds], 0, sizeof(zt_cred));
    cfg->creds[cfg->n_creds].rsa_min_bits = cfg->rsa_min_bits;
    if (zt_cred_load(&cfg->creds[cfg->n_creds], chain_pem, chain_len, key_pem,
                     key_len, err, err_len) != 0)
        return ZT_E_CONFIG;
    /* RFC 8879: compressed now, once, never per handshake */
    if (zt_cert_comp_build(cfg, cfg->n_creds) != ZT_OK) {
        zt_cred_free(&cfg->creds[cfg->n_creds]);
        set_err(err, err_len, "%s", "certificate compression failed");
        return ZT_E_NOMEM;
    }
    cfg->n_creds++;
    return ZT_OK;
}

/*
 * A whole file in one allocation of its size: never a FIFO, device or
 * directory (an open() of a FIFO would wait for a writer for good, so the
 * file is opened without blocking and refused unless it is regular), no
 * stdio buffer and no realloc (either would leave copies of a key in
 * freed memory). The buffer is wiped on every failure; the caller wipes
 * it after use.
 */
#define ZT_FILE_MAX (1u << 24)

static char *slurp(const char *path, size_t *len, char *err, size_t err_len)
{
    struct stat st;
    char *buf, extra;
    size_t size, n = 0;
    ssize_t r;
    int fd;

    fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd == -1) {
        set_err(err, err_len, "cannot open \"%s\": %s", path,
                strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) == -1) {
        set_err(err, err_len, "cannot stat \"%s\": %s", path,
                strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, err_len, "\"%s\" is not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > ZT_FILE_MAX) {
        set_err(err, err_len, "\"%s\" is too large", path);
        close(fd);
        return NULL;
    }
    size = (size_t)st.st_size;
    buf = malloc(size + 1);
    if (buf == NULL) {
        set_err(err, err_len, "out of memory reading \"%s\"", path);
        close(fd);
        return NULL;
    }
    while (n < size) {
        r = read(fd, buf + n, size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    /* the file must end where fstat() said: not shrunk, not grown */
    if (n == size) {
        do
            r = read(fd, &extra, 1);
        while (r < 0 && errno == EINTR);
        zt_memzero(&extra, sizeof(extra));
    }
    close(fd);
    if (n != size || r != 0) {
        set_err(err, err_len, "cannot read \"%s\"%s", path,
                r < 0 ? "" : ": it changed while being read");
        zt_memzero(buf, size + 1);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

zt_err zt_config_add_credential_file(zt_config *cfg, const char *chain_path,
                                     const char *key_path, char *err,
                                     size_t err_len)
{
    size_t clen, klen;
    char *chain, *key;
    zt_err e;

    chain = slurp(chain_path, &clen, err, err_len);
    if (chain == NULL)
        return ZT_E_CONFIG;
    key = slurp(key_path, &klen, err, err_len);
    if (key == NULL) {
        free(chain);
        return ZT_E_CONFIG;
    }
    e = zt_config_add_credential_mem(cfg, chain, clen, key, klen, err,
                                     err_len);
    zt_memzero(key, klen);
    free(key);
    free(chain);
    return e;
}

size_t zt_config_credential_count(const zt_config *cfg)
{
    return cfg->n_creds;
}

int64_t zt_config_credential_not_after(const zt_config *cfg, size_t i)
{
    return i < cfg->n_creds ? cfg->creds[i].not_after : 0;
}

const char *zt_config_credential_type(const zt_config *cfg, size_t i)
{
    if (i >= cfg->n_creds)
        return NULL;
    switch (cfg->creds[i].type) {
    case ZT_KEY_ED25519: return "ed25519";
    case ZT_KEY_ECDSA_P256: return "ecdsa-p256";
    case ZT_KEY_RSA: return "rsa";
    case ZT_KEY_NONE: break;
    }
    return NULL;
}

void zt_config_set_random(zt_config *cfg, zt_random_fn fn, void *arg)
{
    cfg->rnd = fn ? fn : zt_sys_random;
    cfg->rnd_arg = arg;
}

void zt_config_set_clock(zt_config *cfg, zt_clock_fn fn, void *arg)
{
    cfg->clock = fn;
    cfg->clock_arg = arg;
}

void zt_config_set_signer(zt_config *cfg, zt_sign_fn fn, void *arg)
{
    cfg->signer = fn;
    cfg->signer_arg = arg;
}

void zt_config_set_keylog(zt_config *cfg, zt_keylog_fn fn, void *arg)
{
    cfg->keylog = fn;
    cfg->keylog_arg = arg;
}

void zt_config_set_client_hello_cb(zt_config *cfg, zt_client_hello_fn fn,
                                   void *arg)
{
    cfg->ch_cb = fn;
    cfg->ch_arg = arg;
}

zt_err zt_config_set_hrr_cookie_len(zt_config *cfg, size_t len)
{
    /* cookie<1..2^16-1>; we keep it in the connection, so cap it. */
    if (len < 16 || len > 255)
        return ZT_E_CONFIG;
    cfg->cookie_len = len;
    return ZT_OK;
}

zt_err zt_config_set_rsa_min_bits(zt_config *cfg, unsigned bits)
{
    if (bits < 1024 || bits > 16384)
        return ZT_E_CONFIG;
    cfg->rsa_min_bits = bits;
    return ZT_OK;
}

void zt_config_set_generation(zt_config *cfg, uint64_t generation)
{
    cfg->generation = generation;
}

void zt_config_set_key_update_limit(zt_config *cfg, uint64_t records)
{
    cfg->ku_limit = records ? records : 1;
}

zt_err zt_config_set_max_handshake_len(zt_config *cfg, size_t len)
{
    if (len < 256 || len > ZT_MAX_HANDSHAKE_BODY)
        return ZT_E_CONFIG;
    cfg->max_hs = len;
    return ZT_OK;
}

char *zt_file_read(const char *path, size_t *len, char *err, size_t err_len)
{
    return slurp(path, len, err, err_len);
}
