
/*
 * zigtls for nginx, operations plane: zigtls_zone, the shared memory of
 * every worker, and the counters in it.
 *
 * Shared memory holds one ngx_zigtls_ops_sh_t, found through the slab
 * pool's data pointer (so that it survives "nginx -s reload"), and one
 * ngx_zigtls_ops_shslot_t per server{} with certificates, found by key.
 * The protocol modules register their server{}s here; a worker attaches
 * them to their slots at start. The hooks called by ngx_zigtls_module.c
 * on the handshake and record paths count with atomics only, no lock.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_zigtls_ops.h"

#include <time.h>


typedef struct {
    ngx_zigtls_conn_t         *zc;
    uint64_t                   t0;         /* us, first ClientHello byte */
    ngx_uint_t                 epoch;
    unsigned                   open:1;
    unsigned                   outcome:1;
} ngx_zigtls_ops_conn_t;


static ngx_int_t ngx_zigtls_ops_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_zigtls_ops_conn_t *ngx_zigtls_ops_conn(ngx_connection_t *c);
static uint64_t ngx_zigtls_ops_now_us(void);
static ngx_uint_t ngx_zigtls_ops_reason(zt_err err);
static void ngx_zigtls_ops_clear_slot(ngx_zigtls_ops_sh_t *sh, ngx_log_t *log);


ngx_zigtls_ops_main_t         *ngx_zigtls_ops_cur;
ngx_zigtls_ops_sh_t           *ngx_zigtls_ops_shm;

static ngx_zigtls_ops_conn_t  *ngx_zigtls_ops_conns;
static ngx_uint_t              ngx_zigtls_ops_nconns;


const uint64_t  ngx_zigtls_ops_bucket_us[NGX_ZIGTLS_OPS_NBUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000
};

const uint16_t  ngx_zigtls_ops_suites[3] = {
    ZT_TLS_AES_128_GCM_SHA256, ZT_TLS_AES_256_GCM_SHA384,
    ZT_TLS_CHACHA20_POLY1305_SHA256
};

const uint16_t  ngx_zigtls_ops_groups[4] = {
    ZT_GROUP_X25519MLKEM768, ZT_GROUP_SECP256R1MLKEM768,
    ZT_GROUP_X25519, ZT_GROUP_SECP256R1
};

const uint16_t  ngx_zigtls_ops_sigalgs[5] = {
    ZT_SIG_ECDSA_SECP256R1_SHA256, ZT_SIG_RSA_PSS_RSAE_SHA256,
    ZT_SIG_RSA_PSS_RSAE_SHA384, ZT_SIG_RSA_PSS_RSAE_SHA512, ZT_SIG_ED25519
};


/* configuration */


char *
ngx_zigtls_ops_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_zigtls_ops_main_t *omcf)
{
    u_char          *p;
    ssize_t          size;
    ngx_str_t       *value, name, s;
    ngx_shm_zone_t  *shm_zone;

    if (omcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\" in \"%V\", "
                           "expected name:size", &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"%V\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zigtls_zone \"%V\" is too small: %z bytes, "
                           "at least %uz", &name, size, 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    /*
     * the tag is nginx's own core module, the same in the http and the
     * stream .so files: both may count into one zone
     */

    shm_zone = ngx_shared_memory_add(cf, &name, size, &ngx_core_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_zigtls_ops_init_zone;
    if (shm_zone->data == NULL) {
        shm_zone->data = omcf;
    }

    omcf->shm_zone = shm_zone;
    omcf->file = cf->conf_file->file.name.data;
    omcf->line = cf->conf_file->line;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_zigtls_ops_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t      *sp;
    ngx_zigtls_ops_sh_t  *sh;

    sp = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (sp->data) {
        /* kept from the previous configuration */
        sh = sp->data;
        ngx_zigtls_ops_inc(sh->config_seq);
        return NGX_OK;
    }

    sh = ngx_slab_calloc(sp, sizeof(ngx_zigtls_ops_sh_t));
    if (sh == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "zigtls_zone \"%V\" is too small for its counters",
                      &shm_zone->shm.name);
        return NGX_ERROR;
    }

    sh->generation_counter = 1;
    sh->config_seq = 1;
    sp->data = sh;

    sp->log_nomem = 0;

    return NGX_OK;
}


void
ngx_zigtls_ops_init_srv_conf(ngx_zigtls_ops_srv_conf_t *conf)
{
    conf->rate = NGX_CONF_UNSET_UINT;
    conf->burst = NGX_CONF_UNSET_UINT;
    conf->keylog_file = NGX_CONF_UNSET_PTR;
    conf->reload_interval = NGX_CONF_UNSET_MSEC;
}


char *
ngx_zigtls_ops_merge_srv_conf(ngx_conf_t *cf, ngx_zigtls_ops_srv_conf_t *conf,
    ngx_zigtls_ops_srv_conf_t *prev)
{
    ngx_conf_merge_uint_value(conf->rate, prev->rate, 0);
    ngx_conf_merge_uint_value(conf->burst, prev->burst, 0);
    ngx_conf_merge_ptr_value(conf->keylog_file, prev->keylog_file, NULL);
    ngx_conf_merge_msec_value(conf->reload_interval, prev->reload_interval,
                              0);

    if (conf->keylog.data == NULL) {
        conf->keylog = prev->keylog;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_zigtls_ops_add_server(ngx_conf_t *cf, ngx_zigtls_ops_main_t *omcf,
    ngx_zigtls_srv_conf_t *zscf, ngx_zigtls_ops_srv_conf_t *oscf,
    ngx_str_t *name)
{
    u_char                 *p;
    ngx_zigtls_file_t      *certs;
    ngx_zigtls_ops_slot_t  *slot, **sp;

    if (zscf->zt == NULL || zscf->ops) {
        return NGX_OK;
    }

    if (omcf->slots.elts == NULL) {
        if (ngx_array_init(&omcf->slots, cf->pool, 4,
                           sizeof(ngx_zigtls_ops_slot_t *))
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (omcf->shm_zone == NULL
        && (oscf->rate || oscf->reload_interval))
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%s\" needs a \"zigtls_zone\" "
                      "(server with \"zigtls on\" in %s:%ui)",
                      oscf->rate ? "zigtls_handshake_rate"
                                 : "zigtls_certificate_reload_interval",
                      zscf->file, zscf->line);
        return NGX_ERROR;
    }

    slot = ngx_pcalloc(cf->pool, sizeof(ngx_zigtls_ops_slot_t));
    if (slot == NULL) {
        return NGX_ERROR;
    }

    slot->zscf = zscf;
    slot->oscf = oscf;
    slot->main = omcf;
    slot->initial = zscf->zt;

    slot->name.len = ngx_min(name->len, NGX_ZIGTLS_OPS_NAME_LEN - 1);
    slot->name.data = ngx_pstrdup(cf->pool, name);
    if (slot->name.data == NULL) {
        return NGX_ERROR;
    }

    certs = zscf->certificates->elts;

    slot->key.data = ngx_pnalloc(cf->pool, sizeof(((ngx_zigtls_ops_shslot_t *)
                                                   0)->key));
    if (slot->key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_snprintf(slot->key.data,
                     sizeof(((ngx_zigtls_ops_shslot_t *) 0)->key) - 1,
                     "%V|%V|%ui", &slot->name, &certs[0].name,
                     omcf->slots.nelts);
    slot->key.len = p - slot->key.data;
    *p = '\0';

    if (omcf->min_interval == 0
        || (oscf->reload_interval
            && oscf->reload_interval < omcf->min_interval))
    {
        omcf->min_interval = oscf->reload_interval;
    }

    sp = ngx_array_push(&omcf->slots);
    if (sp == NULL) {
        return NGX_ERROR;
    }

    *sp = slot;
    zscf->ops = slot;

    if (oscf->rate) {
        zt_config_set_client_hello_cb(zscf->zt, ngx_zigtls_ops_client_hello,
                                      slot);
    }

    if (oscf->keylog_file) {
        zt_config_set_keylog(zscf->zt, ngx_zigtls_ops_keylog, slot);
    }

    return NGX_OK;
}


ngx_int_t
ngx_zigtls_ops_check_zone(ngx_conf_t *cf, ngx_zigtls_ops_main_t *omcf)
{
    size_t  need, n, slot;

    if (omcf->shm_zone == NULL) {
        return NGX_OK;
    }

    n = omcf->slots.nelts;

    /* what the slab allocator hands out for one slot: a power of two */
    for (slot = 8; slot < sizeof(ngx_zigtls_ops_shslot_t); slot <<= 1) {
        /* void */
    }

    /* the slab pool's own header and page table, then ours */
    need = 3 * ngx_pagesize
           + ngx_align(sizeof(ngx_zigtls_ops_sh_t), ngx_pagesize)
           + ngx_align(n * slot, ngx_pagesize);

    need = ngx_max(need, 8 * ngx_pagesize);

    if (omcf->shm_zone->shm.size < need) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "zigtls_zone \"%V\" is too small: %uz bytes for %uz "
                      "server(s) with certificates need at least %uz "
                      "in %s:%ui",
                      &omcf->shm_zone->shm.name, omcf->shm_zone->shm.size,
                      n, need, omcf->file, omcf->line);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* per worker */


ngx_int_t
ngx_zigtls_ops_init_process(ngx_cycle_t *cycle, ngx_zigtls_ops_main_t *omcf)
{
    ngx_uint_t                i, n, changed;
    ngx_slab_pool_t          *sp;
    ngx_zigtls_ops_sh_t      *sh;
    ngx_zigtls_ops_slot_t   **slots, *slot;
    ngx_zigtls_ops_shslot_t  *ss;
    ngx_zigtls_ops_stamp_t    st[NGX_ZIGTLS_OPS_MAX_FILES];

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    ngx_zigtls_ops_cur = omcf;

    if (omcf == NULL || omcf->shm_zone == NULL) {
        return NGX_OK;
    }

    ngx_zigtls_ops_conns = ngx_calloc(cycle->connection_n
                                      * sizeof(ngx_zigtls_ops_conn_t),
                                      cycle->log);
    if (ngx_zigtls_ops_conns == NULL) {
        return NGX_ERROR;
    }

    ngx_zigtls_ops_nconns = cycle->connection_n;

    sp = (ngx_slab_pool_t *) omcf->shm_zone->shm.addr;
    sh = sp->data;
    ngx_zigtls_ops_shm = sh;

    ngx_zigtls_ops_clear_slot(sh, cycle->log);

    slots = omcf->slots.elts;
    n = omcf->slots.elts ? omcf->slots.nelts : 0;

    ngx_shmtx_lock(&sp->mutex);

    for (i = 0; i < n; i++) {
        slot = slots[i];

        for (ss = sh->slots; ss; ss = ss->next) {
            if (ngx_strcmp(ss->key, slot->key.data) == 0) {
                break;
            }
        }

        if (ss == NULL) {
            ss = ngx_slab_calloc_locked(sp, sizeof(ngx_zigtls_ops_shslot_t));

            if (ss == NULL) {
                ngx_zigtls_ops_inc(sh->slots_failed);
                ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                              "zigtls_zone \"%V\" is full: no certificate "
                              "metrics for server \"%V\"",
                              &omcf->shm_zone->shm.name, &slot->name);
                continue;
            }

            slot->sh = ss;

            ngx_memcpy(ss->key, slot->key.data, slot->key.len + 1);
            ss->generation = sh->generation_counter;
            ss->config_seq = sh->config_seq;
            ss->last_ok = 1;
            ngx_zigtls_ops_stamps(slot, ss->stamps);
            ngx_zigtls_ops_publish_certs(slot, slot->initial);

            ss->next = sh->slots;
            sh->slots = ss;
            ngx_zigtls_ops_inc(sh->nslots);

            /* a new bucket starts full */
            ss->tokens = (uint64_t) slot->oscf->burst * 1000000;
            ss->bucket_time = ngx_zigtls_ops_clock(NULL);

        } else if (ss->config_seq != sh->config_seq) {

            /* the first worker of a new nginx configuration */

            slot->sh = ss;

            ngx_zigtls_ops_stamps(slot, st);
            changed = ngx_memcmp(st, ss->stamps, sizeof(st)) != 0;

            if (changed) {
                ss->prev_generation = ss->generation;
                ss->generation = ngx_atomic_fetch_add(&sh->generation_counter,
                                                      1) + 1;
                ngx_memcpy(ss->stamps, st, sizeof(st));
                ngx_zigtls_ops_publish_certs(slot, slot->initial);
                ngx_zigtls_ops_inc(sh->change_seq);
            }

            ss->config_seq = sh->config_seq;
            ss->tokens = (uint64_t) slot->oscf->burst * 1000000;
            ss->bucket_time = ngx_zigtls_ops_clock(NULL);
        }

        slot->sh = ss;
    }

    /*
     * what this worker loaded at configuration time is the generation the
     * slot had when this configuration was first seen; anything newer is
     * followed below
     */

    for (i = 0; i < n; i++) {
        slot = slots[i];

        if (slot->sh == NULL) {
            continue;
        }

        slot->generation = slot->sh->generation;
        zt_config_set_generation(slot->initial, slot->generation);
    }

    ngx_zigtls_ops_seen_seq = sh->change_seq;

    if (omcf->remote) {
        /* requests from before this configuration are not for us */
        sh->request_done = sh->request_seq;
    }

    ngx_shmtx_unlock(&sp->mutex);

    if (n) {
        ngx_zigtls_ops_start_timer(cycle, omcf);
    }

    return NGX_OK;
}


ngx_zigtls_ops_main_t *
ngx_zigtls_ops_get_main(void)
{
    return ngx_zigtls_ops_cur;
}


void
ngx_zigtls_ops_gauges_sum(ngx_zigtls_ops_sh_t *sh, ngx_zigtls_ops_gauges_t *sum)
{
    ngx_uint_t  i;

    sum->in_progress = 0;
    sum->active = 0;
    sum->conn_memory = 0;

    for (i = 0; i < NGX_MAX_PROCESSES; i++) {
        sum->in_progress += sh->gauges[i].in_progress;
        sum->active += sh->gauges[i].active;
        sum->conn_memory += sh->gauges[i].conn_memory;
    }
}


/*
 * A process starting in a slot: what the slot still shows belonged to one
 * that ended without closing its connections (kill -9, a crash). Its
 * handshakes in progress will never end: they are counted as failed
 * ("other"), so that started = succeeded + failed + in progress holds.
 */

static void
ngx_zigtls_ops_clear_slot(ngx_zigtls_ops_sh_t *sh, ngx_log_t *log)
{
    ngx_atomic_uint_t         lost, open;
    ngx_zigtls_ops_gauges_t  *g;

    if (ngx_process_slot < 0 || ngx_process_slot >= NGX_MAX_PROCESSES) {
        return;
    }

    g = NGX_ZIGTLS_OPS_MINE(sh);

    lost = ngx_atomic_fetch_add(&g->in_progress, 0);
    open = ngx_atomic_fetch_add(&g->active, 0);

    if (lost) {
        ngx_zigtls_ops_add(sh->failed, lost);
        ngx_zigtls_ops_add(sh->reasons[NGX_ZIGTLS_R_OTHER], lost);
        (void) ngx_atomic_fetch_add(&g->in_progress,
                                    -(ngx_atomic_int_t) lost);
    }

    if (open) {
        (void) ngx_atomic_fetch_add(&g->active, -(ngx_atomic_int_t) open);
    }

    g->conn_memory = 0;

    if (lost || open) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "zigtls: %uA connections and %uA handshakes of a "
                      "worker that ended without closing them cleared",
                      open, lost);
    }
}


ngx_zigtls_ops_sh_t *
ngx_zigtls_ops_sh(ngx_zigtls_ops_main_t *omcf)
{
    ngx_slab_pool_t  *sp;

    if (omcf == NULL || omcf->shm_zone == NULL
        || omcf->shm_zone->shm.addr == NULL)
    {
        return NULL;
    }

    sp = (ngx_slab_pool_t *) omcf->shm_zone->shm.addr;

    return sp->data;
}


static ngx_zigtls_ops_conn_t *
ngx_zigtls_ops_conn(ngx_connection_t *c)
{
    ngx_uint_t  i;

    if (ngx_zigtls_ops_conns == NULL
        || c < ngx_cycle->connections
        || c >= ngx_cycle->connections + ngx_zigtls_ops_nconns)
    {
        return NULL;
    }

    i = c - ngx_cycle->connections;

    return &ngx_zigtls_ops_conns[i];
}


static uint64_t
ngx_zigtls_ops_now_us(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


uint64_t
ngx_zigtls_ops_clock(void *arg)
{
    return ngx_zigtls_ops_now_us() / 1000;
}


/* hooks: the handshake and record paths */


void
ngx_zigtls_ops_conn_open(ngx_zigtls_conn_t *zc)
{
    ngx_zigtls_ops_sh_t    *sh;
    ngx_zigtls_ops_conn_t  *oc;

    sh = ngx_zigtls_ops_shm;
    oc = ngx_zigtls_ops_conn(zc->c);

    if (sh == NULL || oc == NULL) {
        return;
    }

    oc->zc = zc;
    oc->t0 = ngx_zigtls_ops_now_us();
    oc->epoch = ngx_zigtls_ops_store_enter();
    oc->open = 1;
    oc->outcome = 0;

    ngx_zigtls_ops_inc(sh->started);
    ngx_zigtls_ops_inc(NGX_ZIGTLS_OPS_MINE(sh)->in_progress);
    ngx_zigtls_ops_inc(NGX_ZIGTLS_OPS_MINE(sh)->active);
}


void
ngx_zigtls_ops_first_byte(ngx_zigtls_conn_t *zc)
{
    ngx_zigtls_ops_conn_t  *oc;

    oc = ngx_zigtls_ops_conn(zc->c);

    if (oc && oc->open && oc->zc == zc) {
        oc->t0 = ngx_zigtls_ops_now_us();
    }
}


void
ngx_zigtls_ops_handshake_done(ngx_zigtls_conn_t *zc)
{
    size_t                  i, saved;
    uint16_t                v;
    uint64_t                us;
    const char             *alpn;
    ngx_zigtls_ops_sh_t    *sh;
    ngx_zigtls_ops_conn_t  *oc;

    sh = ngx_zigtls_ops_shm;
    oc = ngx_zigtls_ops_conn(zc->c);

    if (sh == NULL || oc == NULL || !oc->open || oc->zc != zc
        || oc->outcome)
    {
        return;
    }

    oc->outcome = 1;

    ngx_zigtls_ops_inc(sh->succeeded);
    ngx_zigtls_ops_dec(NGX_ZIGTLS_OPS_MINE(sh)->in_progress);

    v = zt_conn_cert_compression(zc->zt, &saved);
    if (v == ZT_CERT_COMP_ZLIB || v == ZT_CERT_COMP_BROTLI) {
        ngx_zigtls_ops_inc(sh->cert_compressed[v - 1]);
        ngx_zigtls_ops_add(sh->cert_saved_bytes, saved);
    }

    v = zt_conn_cipher_suite(zc->zt);
    for (i = 0; i < 3 && ngx_zigtls_ops_suites[i] != v; i++) { /* void */ }
    ngx_zigtls_ops_inc(sh->suites[i]);

    v = zt_conn_group(zc->zt);
    for (i = 0; i < 4 && ngx_zigtls_ops_groups[i] != v; i++) { /* void */ }
    ngx_zigtls_ops_inc(sh->groups[i]);

    v = zt_conn_sigalg(zc->zt);
    for (i = 0; i < 5 && ngx_zigtls_ops_sigalgs[i] != v; i++) { /* void */ }
    ngx_zigtls_ops_inc(sh->sigalgs[i]);

    alpn = zt_conn_alpn(zc->zt);

    if (alpn == NULL || alpn[0] == '\0') {
        ngx_zigtls_ops_inc(sh->alpn[NGX_ZIGTLS_OPS_NALPN]);

    } else {
        for (i = 0; i < NGX_ZIGTLS_OPS_NALPN; i++) {
            if (sh->alpn_names[i][0] == '\0') {
                break;
            }

            if (ngx_strncmp(sh->alpn_names[i], alpn, 31) == 0) {
                break;
            }
        }

        if (i == NGX_ZIGTLS_OPS_NALPN) {
            i = NGX_ZIGTLS_OPS_NALPN + 1;

        } else if (sh->alpn_names[i][0] == '\0') {
            /* a name seen for the first time: add it under the lock */
            ngx_slab_pool_t  *sp;

            sp = (ngx_slab_pool_t *) ngx_zigtls_ops_cur->shm_zone->shm.addr;

            ngx_shmtx_lock(&sp->mutex);

            for (i = 0; i < NGX_ZIGTLS_OPS_NALPN; i++) {
                if (sh->alpn_names[i][0] == '\0') {
                    (void) ngx_cpystrn(sh->alpn_names[i], (u_char *) alpn,
                                       32);
                    break;
                }

                if (ngx_strncmp(sh->alpn_names[i], alpn, 31) == 0) {
                    break;
                }
            }

            ngx_shmtx_unlock(&sp->mutex);

            if (i == NGX_ZIGTLS_OPS_NALPN) {
                i = NGX_ZIGTLS_OPS_NALPN + 1;
            }
        }

        ngx_zigtls_ops_inc(sh->alpn[i]);
    }

    us = ngx_zigtls_ops_now_us() - oc->t0;

    for (i = 0; i < NGX_ZIGTLS_OPS_NBUCKETS; i++) {
        if (us <= ngx_zigtls_ops_bucket_us[i]) {
            break;
        }
    }

    ngx_zigtls_ops_inc(sh->latency[i]);
    ngx_zigtls_ops_add(sh->latency_sum_us, us);
    ngx_zigtls_ops_inc(sh->latency_count);
}


void
ngx_zigtls_ops_handshake_failed(ngx_zigtls_conn_t *zc, ngx_uint_t reason)
{
    ngx_zigtls_ops_sh_t    *sh;
    ngx_zigtls_ops_conn_t  *oc;

    sh = ngx_zigtls_ops_shm;
    oc = ngx_zigtls_ops_conn(zc->c);

    if (sh == NULL || oc == NULL || !oc->open || oc->zc != zc
        || oc->outcome)
    {
        return;
    }

    if (reason >= NGX_ZIGTLS_R_COUNT) {
        reason = ngx_zigtls_ops_reason(zc->zt ? zt_conn_error(zc->zt)
                                              : ZT_E_INTERNAL);
    }

    oc->outcome = 1;

    ngx_zigtls_ops_inc(sh->failed);
    ngx_zigtls_ops_dec(NGX_ZIGTLS_OPS_MINE(sh)->in_progress);
    ngx_zigtls_ops_inc(sh->reasons[reason]);
}


static ngx_uint_t
ngx_zigtls_ops_reason(zt_err err)
{
    switch (err) {

    case ZT_E_DECODE:
    case ZT_E_ILLEGAL_PARAMETER:
    case ZT_E_DUPLICATE_EXTENSION:
    case ZT_E_MISSING_EXTENSION:
    case ZT_E_UNSUPPORTED_EXTENSION:
    case ZT_E_RECORD_OVERFLOW:
    case ZT_E_HANDSHAKE_TOO_LARGE:
    case ZT_E_HRR_MISMATCH:
    case ZT_E_BAD_KEY_SHARE:
        return NGX_ZIGTLS_R_MALFORMED;

    case ZT_E_UNEXPECTED_MESSAGE:
    case ZT_E_UNEXPECTED_CCS:
    case ZT_E_TOO_MANY_EMPTY:
    case ZT_E_TOO_MANY_WARNINGS:
    case ZT_E_TOO_MANY_KEY_UPDATES:
        return NGX_ZIGTLS_R_UNEXPECTED_MESSAGE;

    case ZT_E_PROTOCOL_VERSION:
        return NGX_ZIGTLS_R_PROTOCOL_VERSION;

    case ZT_E_NO_SHARED_CIPHER:
        return NGX_ZIGTLS_R_NO_SHARED_CIPHER;

    case ZT_E_NO_SHARED_GROUP:
        return NGX_ZIGTLS_R_NO_SHARED_GROUP;

    case ZT_E_NO_SHARED_SIGALG:
        return NGX_ZIGTLS_R_NO_SHARED_SIGALG;

    case ZT_E_POLICY_SNI:
        return NGX_ZIGTLS_R_POLICY_SNI;

    case ZT_E_POLICY_ALPN:
        return NGX_ZIGTLS_R_POLICY_ALPN;

    case ZT_E_POLICY_REJECT:
        return NGX_ZIGTLS_R_POLICY_REJECT;

    case ZT_E_RATE_LIMITED:
        return NGX_ZIGTLS_R_RATE_LIMITED;

    case ZT_E_BAD_FINISHED:
    case ZT_E_BAD_SIGNATURE:
        return NGX_ZIGTLS_R_BAD_FINISHED;

    case ZT_E_BAD_RECORD_MAC:
        return NGX_ZIGTLS_R_BAD_RECORD_MAC;

    case ZT_E_PEER_ALERT:
        return NGX_ZIGTLS_R_PEER_ALERT;

    case ZT_E_TRUNCATED:
        return NGX_ZIGTLS_R_TRUNCATED;

    case ZT_E_INTERNAL:
    case ZT_E_NOMEM:
    case ZT_E_CONFIG:
    case ZT_E_STATE:
        return NGX_ZIGTLS_R_INTERNAL;

    default:
        return NGX_ZIGTLS_R_OTHER;
    }
}


void
ngx_zigtls_ops_conn_close(ngx_zigtls_conn_t *zc)
{
    uint8_t                 a;
    ngx_uint_t              level;
    ngx_zigtls_ops_sh_t    *sh;
    ngx_zigtls_ops_conn_t  *oc;

    sh = ngx_zigtls_ops_shm;
    oc = ngx_zigtls_ops_conn(zc->c);

    if (sh == NULL || oc == NULL || !oc->open || oc->zc != zc) {
        return;
    }

    if (!oc->outcome) {
        /* closed before the handshake ended: every failed handshake has
         * its log line, this one too */
        level = ngx_zigtls_failure_level(zc);

        if (level) {
            ngx_log_error(level, zc->c->log, 0,
                          "zigtls handshake failed: connection closed before "
                          "the handshake ended%s, alert sent: none",
                          ngx_exiting ? " (worker shutdown)" : "");
        }

        ngx_zigtls_ops_handshake_failed(zc, NGX_ZIGTLS_R_OTHER);
    }

    if (zc->zt) {
        a = zt_conn_alert_sent(zc->zt);
        if (a != ZT_ALERT_NONE) {
            ngx_zigtls_ops_inc(sh->alerts_sent[a]);
        }

        a = zt_conn_alert_received(zc->zt);
        if (a != ZT_ALERT_NONE) {
            ngx_zigtls_ops_inc(sh->alerts_received[a]);
        }

        ngx_zigtls_ops_add(sh->key_updates, zt_conn_key_updates(zc->zt));
    }

    ngx_zigtls_ops_dec(NGX_ZIGTLS_OPS_MINE(sh)->active);

    if (zc->memory) {
        (void) ngx_atomic_fetch_add(&NGX_ZIGTLS_OPS_MINE(sh)->conn_memory,
                                    -(ngx_atomic_int_t) zc->memory);
        zc->memory = 0;
    }

    oc->open = 0;
    oc->zc = NULL;

    ngx_zigtls_ops_store_leave(oc->epoch, zc->c->log);
}


/*
 * The memory gauge: each connection adds the change of what its core
 * holds (zt_conn_memory) to one counter in the zone, when it changes (the
 * record buffers and cipher contexts come and go with bursts of traffic).
 */

void
ngx_zigtls_ops_memory(ngx_zigtls_conn_t *zc)
{
    size_t                  now;
    ngx_zigtls_ops_sh_t    *sh;
    ngx_zigtls_ops_conn_t  *oc;

    sh = ngx_zigtls_ops_shm;

    if (sh == NULL || zc->zt == NULL) {
        return;
    }

    now = zt_conn_memory(zc->zt);

    if (now == zc->memory) {
        return;
    }

    oc = ngx_zigtls_ops_conn(zc->c);

    if (oc == NULL || !oc->open || oc->zc != zc) {
        return;
    }

    (void) ngx_atomic_fetch_add(&NGX_ZIGTLS_OPS_MINE(sh)->conn_memory,
                                (ngx_atomic_int_t) now
                                - (ngx_atomic_int_t) zc->memory);
    zc->memory = now;
}


void
ngx_zigtls_ops_bytes(ngx_uint_t in, size_t n)
{
    ngx_zigtls_ops_sh_t  *sh;

    sh = ngx_zigtls_ops_shm;

    if (sh == NULL || n == 0) {
        return;
    }

    if (in) {
        ngx_zigtls_ops_add(sh->bytes_in, n);

    } else {
        ngx_zigtls_ops_add(sh->bytes_out, n);
    }
}
