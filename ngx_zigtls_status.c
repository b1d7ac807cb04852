
/*
 * zigtls for nginx, operations plane: the status pages, the counters of
 * the zone and the certificate store of every server{} rendered as text
 * or in the Prometheus text format.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_zigtls_ops.h"


static const char *ngx_zigtls_ops_reason_names[NGX_ZIGTLS_R_COUNT] = {
    "malformed", "unexpected_message", "protocol_version",
    "no_shared_cipher", "no_shared_group", "no_shared_sigalg",
    "policy_sni", "policy_alpn", "policy_reject", "bad_finished",
    "bad_record_mac", "timeout", "rate_limited", "truncated", "peer_alert",
    "internal", "other"
};

static const char *ngx_zigtls_ops_bucket_le[NGX_ZIGTLS_OPS_NBUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1", "0.25", "0.5", "1"
};


static u_char *
ngx_zigtls_ops_escape(u_char *p, u_char *last, u_char *s, size_t len,
    ngx_uint_t json)
{
    size_t  i;

    for (i = 0; i < len && p + 2 < last; i++) {
        if (s[i] == '\\' || s[i] == '"') {
            *p++ = '\\';
            *p++ = s[i];

        } else if (s[i] == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else if (s[i] < 0x20 || s[i] == 0x7f) {
            if (json && p + 6 < last) {
                p = ngx_sprintf(p, "\\u%04xd", (ngx_uint_t) s[i]);
            }

        } else {
            *p++ = s[i];
        }
    }

    return p;
}


static void
ngx_zigtls_ops_quantiles(ngx_zigtls_ops_sh_t *sh, double *q)
{
    double             want[3] = { 0.5, 0.95, 0.99 };
    double             rank, lo, hi, prev, cum;
    uint64_t           counts[NGX_ZIGTLS_OPS_NBUCKETS + 1], total;
    ngx_uint_t         i, k;

    total = 0;

    for (i = 0; i <= NGX_ZIGTLS_OPS_NBUCKETS; i++) {
        counts[i] = sh->latency[i];
        total += counts[i];
    }

    for (k = 0; k < 3; k++) {
        q[k] = 0;

        if (total == 0) {
            continue;
        }

        rank = want[k] * (double) total;
        cum = 0;

        for (i = 0; i <= NGX_ZIGTLS_OPS_NBUCKETS; i++) {
            prev = cum;
            cum += (double) counts[i];

            if (cum >= rank && counts[i]) {
                break;
            }
        }

        if (i == NGX_ZIGTLS_OPS_NBUCKETS + 1 || i == NGX_ZIGTLS_OPS_NBUCKETS) {
            q[k] = 1.0;
            continue;
        }

        lo = i ? (double) ngx_zigtls_ops_bucket_us[i - 1] / 1e6 : 0;
        hi = (double) ngx_zigtls_ops_bucket_us[i] / 1e6;

        q[k] = lo + (hi - lo) * (rank - prev) / (double) counts[i];
    }
}


/*
 * What the status pages list per server: this module's servers with their
 * certificate paths, then the servers of the other module (stream, when
 * it shares the zone) of the current configuration, known only by what
 * their key in shared memory says.
 */

typedef struct {
    ngx_str_t                  name;
    ngx_str_t                  certs[ZT_MAX_CREDENTIALS];
    ngx_uint_t                 ncerts;
    ngx_zigtls_ops_shslot_t   *sh;
} ngx_zigtls_ops_entry_t;


static ngx_uint_t
ngx_zigtls_ops_entries(ngx_pool_t *pool, ngx_zigtls_ops_entry_t **out)
{
    u_char                   *p, *q, *end;
    ngx_uint_t                i, j, n, local, nslots;
    ngx_zigtls_file_t        *certs;
    ngx_zigtls_ops_sh_t      *sh;
    ngx_zigtls_ops_main_t    *omcf;
    ngx_zigtls_ops_slot_t   **slots;
    ngx_zigtls_ops_entry_t   *e;
    ngx_zigtls_ops_shslot_t  *ss;

    omcf = ngx_zigtls_ops_cur;
    sh = ngx_zigtls_ops_shm;

    local = omcf->slots.elts ? omcf->slots.nelts : 0;
    slots = omcf->slots.elts;
    nslots = sh->nslots;

    e = ngx_pcalloc(pool,
                    (local + nslots + 1) * sizeof(ngx_zigtls_ops_entry_t));
    if (e == NULL) {
        *out = NULL;
        return 0;
    }

    n = 0;

    for (i = 0; i < local; i++) {
        e[n].name = slots[i]->name;
        e[n].sh = slots[i]->sh;
        certs = slots[i]->zscf->certificates->elts;

        for (j = 0; j < slots[i]->zscf->certificates->nelts
                    && j < ZT_MAX_CREDENTIALS; j++)
        {
            e[n].certs[j] = certs[j].name;
        }

        e[n].ncerts = j;
        n++;
    }

    for (ss = sh->slots; ss && n < local + nslots; ss = ss->next) {
        if (ss->config_seq != sh->config_seq) {
            continue;
        }

        for (i = 0; i < local; i++) {
            if (slots[i]->sh == ss) {
                break;
            }
        }

        if (i < local) {
            continue;
        }

        /* key: name|first certificate|index */

        p = ss->key;
        end = p + ngx_strnlen(p, sizeof(ss->key));
        q = ngx_strlchr(p, end, '|');

        if (q == NULL) {
            continue;
        }

        e[n].name.data = p;
        e[n].name.len = q - p;

        p = q + 1;
        q = ngx_strlchr(p, end, '|');

        e[n].certs[0].data = p;
        e[n].certs[0].len = q ? (size_t) (q - p) : (size_t) (end - p);

        for (j = 1; j < ZT_MAX_CREDENTIALS; j++) {
            e[n].certs[j].data = ngx_pnalloc(pool, NGX_INT_T_LEN + 1);
            if (e[n].certs[j].data == NULL) {
                break;
            }

            e[n].certs[j].len = ngx_sprintf(e[n].certs[j].data, "#%ui", j)
                                - e[n].certs[j].data;
        }

        e[n].ncerts = ZT_MAX_CREDENTIALS;
        e[n].sh = ss;
        n++;
    }

    *out = e;

    return n;
}


#define ngx_zigtls_ops_help(p, last, name, type, help)                      \
    p = ngx_slprintf(p, last, "# HELP " name " " help "\n# TYPE " name     \
                     " " type "\n")


ngx_buf_t *
ngx_zigtls_ops_render(ngx_pool_t *pool, ngx_uint_t prom)
{
    u_char                   *p, *last, *start;
    double                    q[3];
    size_t                    size;
    uint64_t                  cum, pq, total;
    ngx_buf_t                *b;
    ngx_uint_t                i, j, k, n;
    const char               *name;
    ngx_zigtls_ops_sh_t      *sh;
    ngx_zigtls_ops_main_t    *omcf;
    ngx_zigtls_ops_entry_t   *ent;
    ngx_zigtls_ops_shslot_t  *ss;
    ngx_zigtls_ops_gauges_t   g;

    omcf = ngx_zigtls_ops_cur;
    sh = ngx_zigtls_ops_shm;

    if (sh == NULL) {
        return NULL;
    }

    n = ngx_zigtls_ops_entries(pool, &ent);
    if (ent == NULL) {
        return NULL;
    }

    size = 64 * 1024 + n * 8 * 1024;

    b = ngx_create_temp_buf(pool, size);
    if (b == NULL) {
        return NULL;
    }

    start = b->pos;
    p = start;
    last = b->end;

    ngx_zigtls_ops_quantiles(sh, q);
    ngx_zigtls_ops_gauges_sum(sh, &g);

    if (!prom) {
        p = ngx_slprintf(p, last,
                 "zigtls zone \"%V\"\n"
                 "connections: active %uA, handshakes in progress %uA\n"
                 "connection memory: %uA bytes, %uA per connection\n"
                 "handshakes: started %uA, succeeded %uA, failed %uA\n",
                 &omcf->shm_zone->shm.name, g.active, g.in_progress,
                 g.conn_memory, g.active ? g.conn_memory / g.active : 0,
                 sh->started, sh->succeeded, sh->failed);

        pq = 0;
        total = 0;
        p = ngx_slprintf(p, last, "key exchange:");
        for (i = 0; i < 5; i++) {
            p = ngx_slprintf(p, last, " %s=%uA",
                             i < 4 ? zt_group_name(ngx_zigtls_ops_groups[i])
                                   : "other",
                             sh->groups[i]);
            pq += i < NGX_ZIGTLS_OPS_NPQ ? sh->groups[i] : 0;
            total += sh->groups[i];
        }
        p = ngx_slprintf(p, last, "; post-quantum %.1f%%\n",
                         total ? 100.0 * (double) pq / (double) total : 0.0);

        p = ngx_slprintf(p, last, "failures:");
        for (i = 0; i < NGX_ZIGTLS_R_COUNT; i++) {
            p = ngx_slprintf(p, last, " %s=%uA",
                             ngx_zigtls_ops_reason_names[i],
                             sh->reasons[i]);
        }

        p = ngx_slprintf(p, last,
                 "\nhandshake time: p50 %.3f ms, p95 %.3f ms, p99 %.3f ms, "
                 "mean %.3f ms\n",
                 q[0] * 1000, q[1] * 1000, q[2] * 1000,
                 sh->latency_count
                 ? (double) sh->latency_sum_us / 1000
                   / (double) sh->latency_count
                 : 0.0);

        p = ngx_slprintf(p, last,
                 "bytes: in %uA, out %uA (plaintext); key updates %uA; "
                 "reload requests %uA\n",
                 sh->bytes_in, sh->bytes_out, sh->key_updates,
                 sh->reload_requests);

        p = ngx_slprintf(p, last,
                 "certificates compressed: brotli %uA, zlib %uA; "
                 "%uA bytes saved\n",
                 sh->cert_compressed[1], sh->cert_compressed[0],
                 sh->cert_saved_bytes);

        p = ngx_slprintf(p, last, "alerts sent:");
        for (i = 0; i < 256; i++) {
            if (sh->alerts_sent[i]) {
                p = ngx_slprintf(p, last, " %s=%uA", zt_alert_str(i),
                                 sh->alerts_sent[i]);
            }
        }

        p = ngx_slprintf(p, last, "\nalerts received:");
        for (i = 0; i < 256; i++) {
            if (sh->alerts_received[i]) {
                p = ngx_slprintf(p, last, " %s=%uA", zt_alert_str(i),
                                 sh->alerts_received[i]);
            }
        }

        p = ngx_slprintf(p, last, "\n");

        for (i = 0; i < n; i++) {
            ss = ent[i].sh;

            if (ss == NULL) {
                p = ngx_slprintf(p, last, "server \"%V\": no room in zone\n",
                                 &ent[i].name);
                continue;
            }

            p = ngx_slprintf(p, last,
                     "server \"%V\": generation %uA (previous %uA), "
                     "reloads ok %uA failed %uA, last %s%s%s%s\n",
                     &ent[i].name, ss->generation, ss->prev_generation,
                     ss->reload_ok, ss->reload_failed,
                     ss->last_ok ? "ok" : "failed",
                     ss->last_ok ? "" : " (",
                     ss->last_ok ? (u_char *) "" : ss->reason,
                     ss->last_ok ? "" : ")");

            for (j = 0; j < ss->ncerts && j < ent[i].ncerts; j++) {
                p = ngx_slprintf(p, last, "  %V: not after %L\n",
                                 &ent[i].certs[j], ss->not_after[j]);
            }
        }

        b->last = p;
        return b;
    }

    /* Prometheus text format 0.0.4 */

    ngx_zigtls_ops_help(p, last, "zigtls_connections_active", "gauge",
                        "Open zigtls connections.");
    p = ngx_slprintf(p, last, "zigtls_connections_active %uA\n", g.active);

    ngx_zigtls_ops_help(p, last, "zigtls_connection_memory_bytes", "gauge",
                        "Memory the TLS core holds for the open "
                        "connections (zt_conn_memory: connection, record "
                        "buffers, handshake state, cipher contexts).");
    p = ngx_slprintf(p, last, "zigtls_connection_memory_bytes %uA\n",
                     g.conn_memory);

    ngx_zigtls_ops_help(p, last, "zigtls_handshakes_in_progress", "gauge",
                        "Handshakes started and not yet ended.");
    p = ngx_slprintf(p, last, "zigtls_handshakes_in_progress %uA\n",
                     g.in_progress);

    ngx_zigtls_ops_help(p, last, "zigtls_handshakes_started_total",
                        "counter", "Handshakes started (connections "
                        "accepted).");
    p = ngx_slprintf(p, last, "zigtls_handshakes_started_total %uA\n",
                     sh->started);

    ngx_zigtls_ops_help(p, last, "zigtls_handshakes_succeeded_total",
                        "counter", "Handshakes completed.");
    p = ngx_slprintf(p, last, "zigtls_handshakes_succeeded_total %uA\n",
                     sh->succeeded);

    ngx_zigtls_ops_help(p, last, "zigtls_handshakes_failed_total", "counter",
                        "Handshakes failed, by reason.");
    for (i = 0; i < NGX_ZIGTLS_R_COUNT; i++) {
        p = ngx_slprintf(p, last,
                         "zigtls_handshakes_failed_total{reason=\"%s\"} %uA\n",
                         ngx_zigtls_ops_reason_names[i], sh->reasons[i]);
    }

    ngx_zigtls_ops_help(p, last, "zigtls_alerts_sent_total", "counter",
                        "TLS alerts sent, by description.");
    for (i = 0; i < 256; i++) {
        if (sh->alerts_sent[i]) {
            p = ngx_slprintf(p, last,
                             "zigtls_alerts_sent_total{alert=\"%s\"} %uA\n",
                             zt_alert_str(i), sh->alerts_sent[i]);
        }
    }

    ngx_zigtls_ops_help(p, last, "zigtls_alerts_received_total", "counter",
                        "TLS alerts received, by description.");
    for (i = 0; i < 256; i++) {
        if (sh->alerts_received[i]) {
            p = ngx_slprintf(p, last,
                             "zigtls_alerts_received_total{alert=\"%s\"} "
                             "%uA\n",
                             zt_alert_str(i), sh->alerts_received[i]);
        }
    }

    ngx_zigtls_ops_help(p, last, "zigtls_handshakes_by_cipher_total",
                        "counter", "Completed handshakes by cipher suite.");
    for (i = 0; i < 4; i++) {
        name = i < 3 ? zt_cipher_suite_name(ngx_zigtls_ops_suites[i])
                     : "other";
        p = ngx_slprintf(p, last,
                         "zigtls_handshakes_by_cipher_total{cipher=\"%s\"} "
                         "%uA\n", name, sh->suites[i]);
    }

    ngx_zigtls_ops_help(p, last, "zigtls_handshakes_by_group_total",
                        "counter", "Completed handshakes by key exchange "
                        "group.");
    for (i = 0; i < 5; i++) {
        name = i < 4 ? zt_group_name(ngx_zigtls_ops_groups[i]) : "other";
        p = ngx_slprintf(p, last,
                         "zigtls_handshakes_by_group_total{group=\"%s\"} "
                         "%uA\n", name, sh->groups[i]);
    }

    ngx_zigtls_ops_help(p, last, "zigtls_handshakes_by_sigalg_total",
                        "counter", "Completed handshakes by signature "
                        "scheme.");
    for (i = 0; i < 6; i++) {
        name = i < 5 ? zt_sigalg_name(ngx_zigtls_ops_sigalgs[i]) : "other";
        p = ngx_slprintf(p, last,
                         "zigtls_handshakes_by_sigalg_total{sigalg=\"%s\"} "
                         "%uA\n", name, sh->sigalgs[i]);
    }

    ngx_zigtls_ops_help(p, last, "zigtls_handshakes_by_alpn_total",
                        "counter", "Completed handshakes by ALPN protocol.");
    p = ngx_slprintf(p, last,
                     "zigtls_handshakes_by_alpn_total{alpn=\"none\"} %uA\n",
                     sh->alpn[NGX_ZIGTLS_OPS_NALPN]);
    for (i = 0; i < NGX_ZIGTLS_OPS_NALPN && sh->alpn_names[i][0]; i++) {
        p = ngx_slprintf(p, last,
                         "zigtls_handshakes_by_alpn_total{alpn=\"");
        p = ngx_zigtls_ops_escape(p, last, sh->alpn_names[i],
                                  ngx_strlen(sh->alpn_names[i]), 0);
        p = ngx_slprintf(p, last, "\"} %uA\n", sh->alpn[i]);
    }
    if (sh->alpn[NGX_ZIGTLS_OPS_NALPN + 1]) {
        p = ngx_slprintf(p, last,
                         "zigtls_handshakes_by_alpn_total{alpn=\"other\"} "
                         "%uA\n", sh->alpn[NGX_ZIGTLS_OPS_NALPN + 1]);
    }

    ngx_zigtls_ops_help(p, last, "zigtls_certificates_compressed_total",
                        "counter", "Handshakes whose certificate chain was "
                        "sent compressed (RFC 8879), by algorithm.");
    p = ngx_slprintf(p, last,
                     "zigtls_certificates_compressed_total{algorithm=\"zlib\"}"
                     " %uA\n"
                     "zigtls_certificates_compressed_total"
                     "{algorithm=\"brotli\"} %uA\n",
                     sh->cert_compressed[0], sh->cert_compressed[1]);

    ngx_zigtls_ops_help(p, last,
                        "zigtls_certificate_compression_saved_bytes_total",
                        "counter", "Bytes of server handshake flights saved "
                        "by certificate compression.");
    p = ngx_slprintf(p, last,
                     "zigtls_certificate_compression_saved_bytes_total %uA\n",
                     sh->cert_saved_bytes);

    ngx_zigtls_ops_help(p, last, "zigtls_key_updates_total", "counter",
                        "KeyUpdate messages sent and received (counted when "
                        "the connection closes).");
    p = ngx_slprintf(p, last, "zigtls_key_updates_total %uA\n",
                     sh->key_updates);

    ngx_zigtls_ops_help(p, last, "zigtls_received_bytes_total", "counter",
                        "Application data received (plaintext).");
    p = ngx_slprintf(p, last, "zigtls_received_bytes_total %uA\n",
                     sh->bytes_in);

    ngx_zigtls_ops_help(p, last, "zigtls_sent_bytes_total", "counter",
                        "Application data sent (plaintext).");
    p = ngx_slprintf(p, last, "zigtls_sent_bytes_total %uA\n",
                     sh->bytes_out);

    ngx_zigtls_ops_help(p, last, "zigtls_handshake_duration_seconds",
                        "histogram", "Handshake time from the first "
                        "ClientHello byte to the client's Finished.");
    cum = 0;
    for (i = 0; i < NGX_ZIGTLS_OPS_NBUCKETS; i++) {
        cum += sh->latency[i];
        p = ngx_slprintf(p, last,
                         "zigtls_handshake_duration_seconds_bucket"
                         "{le=\"%s\"} %uL\n",
                         ngx_zigtls_ops_bucket_le[i], cum);
    }
    cum += sh->latency[NGX_ZIGTLS_OPS_NBUCKETS];
    p = ngx_slprintf(p, last,
                     "zigtls_handshake_duration_seconds_bucket{le=\"+Inf\"} "
                     "%uL\n"
                     "zigtls_handshake_duration_seconds_sum %.6f\n"
                     "zigtls_handshake_duration_seconds_count %uL\n",
                     cum, (double) sh->latency_sum_us / 1e6, cum);

    ngx_zigtls_ops_help(p, last, "zigtls_handshake_duration_quantile_seconds",
                        "gauge", "Handshake time quantiles estimated from "
                        "the histogram since start.");
    p = ngx_slprintf(p, last,
                     "zigtls_handshake_duration_quantile_seconds"
                     "{quantile=\"0.5\"} %.6f\n"
                     "zigtls_handshake_duration_quantile_seconds"
                     "{quantile=\"0.95\"} %.6f\n"
                     "zigtls_handshake_duration_quantile_seconds"
                     "{quantile=\"0.99\"} %.6f\n", q[0], q[1], q[2]);

    ngx_zigtls_ops_help(p, last, "zigtls_certificate_reload_requests_total",
                        "counter", "Requests to zigtls_reload locations.");
    p = ngx_slprintf(p, last, "zigtls_certificate_reload_requests_total "
                     "%uA\n", sh->reload_requests);

    for (j = 0; j < 4; j++) {
        switch (j) {
        case 0:
            ngx_zigtls_ops_help(p, last, "zigtls_certificate_generation",
                                "gauge", "Active certificate generation of "
                                "each server.");
            break;
        case 1:
            ngx_zigtls_ops_help(p, last, "zigtls_certificate_reloads_total",
                                "counter", "Certificate reloads by result.");
            break;
        case 2:
            ngx_zigtls_ops_help(p, last,
                                "zigtls_certificate_last_reload_success",
                                "gauge", "1 if the last reload of the "
                                "server's certificates succeeded.");
            break;
        default:
            ngx_zigtls_ops_help(p, last,
                                "zigtls_certificate_expiry_timestamp_seconds",
                                "gauge", "Not-after time of each active "
                                "certificate (Unix time).");
        }

        for (i = 0; i < n; i++) {
            ss = ent[i].sh;

            if (ss == NULL) {
                continue;
            }

            switch (j) {
            case 0:
                p = ngx_slprintf(p, last,
                                 "zigtls_certificate_generation{server=\"");
                p = ngx_zigtls_ops_escape(p, last, ent[i].name.data,
                                          ent[i].name.len, 0);
                p = ngx_slprintf(p, last, "\"} %uA\n", ss->generation);
                break;

            case 1:
                for (k = 0; k < 2; k++) {
                    p = ngx_slprintf(p, last,
                                     "zigtls_certificate_reloads_total"
                                     "{server=\"");
                    p = ngx_zigtls_ops_escape(p, last, ent[i].name.data,
                                              ent[i].name.len, 0);
                    p = ngx_slprintf(p, last, "\",result=\"%s\"} %uA\n",
                                     k ? "failure" : "success",
                                     k ? ss->reload_failed : ss->reload_ok);
                }
                break;

            case 2:
                p = ngx_slprintf(p, last,
                                 "zigtls_certificate_last_reload_success"
                                 "{server=\"");
                p = ngx_zigtls_ops_escape(p, last, ent[i].name.data,
                                          ent[i].name.len, 0);
                p = ngx_slprintf(p, last, "\"} %uA\n",
                                 ss->last_ok ? 1 : 0);
                break;

            default:
                for (k = 0; k < ss->ncerts && k < ent[i].ncerts; k++) {
                    p = ngx_slprintf(p, last,
                                     "zigtls_certificate_expiry_timestamp"
                                     "_seconds{server=\"");
                    p = ngx_zigtls_ops_escape(p, last, ent[i].name.data,
                                              ent[i].name.len, 0);
                    p = ngx_slprintf(p, last, "\",certificate=\"");
                    p = ngx_zigtls_ops_escape(p, last, ent[i].certs[k].data,
                                              ent[i].certs[k].len, 0);
                    p = ngx_slprintf(p, last, "\"} %L\n",
                                     ss->not_after[k]);
                }
            }
        }
    }

    ngx_zigtls_ops_help(p, last, "zigtls_zone_slots_failed_total", "counter",
                        "Servers that found no room in the zone.");
    p = ngx_slprintf(p, last, "zigtls_zone_slots_failed_total %uA\n",
                     sh->slots_failed);

    b->last = p;

    return b;
}
