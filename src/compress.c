/*
 * compress.c: certificate compression (RFC 8879). The Certificate message
 * of a credential is the same for every handshake, so it is compressed
 * once, when the credential is added to a configuration (at startup and
 * at every hot reload), with each algorithm the configuration offers; a
 * handshake only copies the stored result. The only file that includes
 * zlib's and brotli's headers.
 */
#include <stdlib.h>

#include <brotli/encode.h>
#include <zlib.h>

#include "internal.h"

static int known(uint16_t alg)
{
    return alg == ZT_CERT_COMP_ZLIB || alg == ZT_CERT_COMP_BROTLI;
}

/* Section 4: "zlib" is the ZLIB format of RFC 1950, "brotli" RFC 7932. */
static uint8_t *squeeze(uint16_t alg, const uint8_t *in, size_t n,
                        size_t *out_len)
{
    uint8_t *out;
    size_t cap;
    uLongf zn;

    if (alg == ZT_CERT_COMP_ZLIB) {
        cap = compressBound((uLong)n);
        out = malloc(cap);
        zn = (uLongf)cap;
        if (out == NULL ||
            compress2(out, &zn, in, (uLong)n, Z_BEST_COMPRESSION) != Z_OK) {
            free(out);
            return NULL;
        }
        *out_len = zn;
        return out;
    }
    cap = BrotliEncoderMaxCompressedSize(n);
    out = cap ? malloc(cap) : NULL;
    *out_len = cap;
    if (out == NULL ||
        !BrotliEncoderCompress(BROTLI_MAX_QUALITY, BROTLI_DEFAULT_WINDOW,
                               BROTLI_MODE_GENERIC, n, in, out_len, out)) {
        free(out);
        return NULL;
    }
    return out;
}

void zt_cert_comp_free(zt_config *cfg, size_t i)
{
    size_t a;

    for (a = 0; a < ZT_CERT_COMP_MAX; a++) {
        free(cfg->comp[i].data[a]);
        cfg->comp[i].data[a] = NULL;
        cfg->comp[i].len[a] = 0;
    }
}

/* Compress credential i's Certificate message with every configured
 * algorithm; a result that is not smaller is not kept. */
zt_err zt_cert_comp_build(zt_config *cfg, size_t i)
{
    const zt_cred *cr = &cfg->creds[i];
    uint8_t *body, *out;
    size_t need = 8, k, a, n;
    zt_wr w;
    zt_err e = ZT_OK;

    zt_cert_comp_free(cfg, i);
    for (k = 0; k < cr->n_chain; k++)
        need += 5 + cr->chain_len[k];
    cfg->comp[i].raw_len = need - 8 + 4; /* context, list length */
    if (cfg->n_comp == 0)
        return ZT_OK;
    body = malloc(need);
    if (body == NULL)
        return ZT_E_NOMEM;
    w = zt_wr_make(body, need);
    zt_write_certificate_body(&w, cr);
    if (w.err) {
        free(body);
        return ZT_E_INTERNAL;
    }
    for (a = 0; a < cfg->n_comp && e == ZT_OK; a++) {
        out = squeeze(cfg->comp_algs[a], body, w.len, &n);
        if (out == NULL) {
            e = ZT_E_NOMEM;
        } else if (n + 8 >= w.len) {
            free(out); /* algorithm and two lengths cost 8 bytes: no gain */
        } else {
            cfg->comp[i].data[a] = out;
            cfg->comp[i].len[a] = n;
        }
    }
    free(body);
    if (e != ZT_OK)
        zt_cert_comp_free(cfg, i);
    return e;
}

zt_err zt_config_set_cert_compression(zt_config *cfg, const uint16_t *algs,
                                      size_t n)
{
    size_t i, j;
    zt_err e;

    if (n > ZT_CERT_COMP_MAX)
        return ZT_E_CONFIG;
    for (i = 0; i < n; i++) {
        if (!known(algs[i]))
            return ZT_E_CONFIG;
        for (j = 0; j < i; j++)
            if (algs[j] == algs[i])
                return ZT_E_CONFIG;
    }
    for (i = 0; i < n; i++)
        cfg->comp_algs[i] = algs[i];
    cfg->n_comp = n;
    for (i = 0; i < cfg->n_creds; i++) {
        e = zt_cert_comp_build(cfg, i);
        if (e != ZT_OK)
            return e;
    }
    return ZT_OK;
}

size_t zt_config_credential_cert_len(const zt_config *cfg, size_t i,
                                     uint16_t alg)
{
    size_t a;

    if (i >= cfg->n_creds)
        return 0;
    if (alg == 0)
        return cfg->comp[i].raw_len;
    for (a = 0; a < cfg->n_comp; a++)
        if (cfg->comp_algs[a] == alg)
            return cfg->comp[i].len[a];
    return 0;
}

uint16_t zt_conn_cert_compression(const zt_conn *c, size_t *saved)
{
    size_t comp;

    if (saved)
        *saved = 0;
    if (c->cert_comp == 0 || c->cred_index < 0)
        return 0;
    comp = zt_config_credential_cert_len(c->use, (size_t)c->cred_index,
                                         c->cert_comp);
    /* algorithm (2), uncompressed_length (3) and the compressed vector's
     * length (3), against the plain body */
    if (saved)
        *saved = c->use->comp[c->cred_index].raw_len - comp - 8;
    return c->cert_comp;
}

/* The algorithm to use with credential i for a client that offered the
 * algorithms in `offered` (bit 1 << alg): ours in preference order. */
int zt_cert_comp_pick(const zt_config *cfg, size_t i, unsigned offered)
{
    size_t a;

    for (a = 0; a < cfg->n_comp; a++)
        if ((offered >> cfg->comp_algs[a]) & 1u && cfg->comp[i].data[a])
            return (int)a;
    return -1;
}
