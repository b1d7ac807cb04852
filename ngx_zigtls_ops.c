
/*
 * zigtls for nginx: the operations plane (see ngx_zigtls_ops.h).
 *
 * Shared memory holds one ngx_zigtls_ops_sh_t, found through the slab
 * pool's data pointer (so that it survives "nginx -s reload"), and one
 * ngx_zigtls_ops_shslot_t per server{} with certificates, found by key.
 *
 * Generations: every server{} starts at the zone's current generation
 * counter; a reload that succeeds takes the next number of the counter.
 * One worker at a time (reload_lock) is the "authority": it validates the
 * files, installs the new zt_config locally and publishes the generation;
 * the other workers notice change_seq moving (before each new connection
 * and on their timer) and follow: load the same files, or swap back to
 * their previous configuration on a rollback.
 *
 * A zt_config that leaves both the active and the previous place is
 * retired: it is freed when every connection that was open at that moment
 * has closed (connections record the retirement epoch they were born in).
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
static uint64_t ngx_zigtls_ops_clock(void *arg);
static void ngx_zigtls_ops_stamps(ngx_zigtls_ops_slot_t *slot,
    ngx_zigtls_ops_stamp_t *st);
static ngx_uint_t ngx_zigtls_ops_stamps_differ(ngx_zigtls_ops_slot_t *slot);
static zt_config *ngx_zigtls_ops_build(ngx_zigtls_ops_slot_t *slot,
    u_char *reason, size_t len);
static void ngx_zigtls_ops_install(ngx_zigtls_ops_slot_t *slot,
    zt_config *zt, uint64_t generation);
static void ngx_zigtls_ops_swap(ngx_zigtls_ops_slot_t *slot);
static void ngx_zigtls_ops_retire(ngx_zigtls_ops_slot_t *slot,
    zt_config *zt);
static void ngx_zigtls_ops_follow(ngx_log_t *log);
static void ngx_zigtls_ops_publish_certs(ngx_zigtls_ops_slot_t *slot,
    zt_config *zt);
static ngx_uint_t ngx_zigtls_ops_lock(ngx_zigtls_ops_sh_t *sh);
static void ngx_zigtls_ops_unlock(ngx_zigtls_ops_sh_t *sh);
static ngx_int_t ngx_zigtls_ops_reload_slot(ngx_zigtls_ops_slot_t *slot,
    ngx_log_t *log, ngx_uint_t rollback, uint64_t *newgen,
    ngx_zigtls_ops_result_t *res, ngx_pool_t *pool);
static void ngx_zigtls_ops_timer(ngx_event_t *ev);
static zt_err ngx_zigtls_ops_client_hello(void *arg, zt_conn *zt,
    const zt_client_hello *ch, const zt_config **use);
static void ngx_zigtls_ops_keylog(void *arg, const zt_conn *c,
    const char *line);
static ngx_uint_t ngx_zigtls_ops_reason(zt_err err);


static ngx_zigtls_ops_main_t  *ngx_zigtls_ops_cur;
static ngx_zigtls_ops_sh_t    *ngx_zigtls_ops_shm;
static ngx_zigtls_ops_conn_t  *ngx_zigtls_ops_conns;
static ngx_uint_t              ngx_zigtls_ops_nconns;
static ngx_uint_t              ngx_zigtls_ops_epoch;
static ngx_uint_t              ngx_zigtls_ops_live;
static ngx_atomic_uint_t       ngx_zigtls_ops_seen_seq;
static ngx_zigtls_ops_retired_t  *ngx_zigtls_ops_retired;
static ngx_event_t             ngx_zigtls_ops_timer_ev;
static ngx_msec_t              ngx_zigtls_ops_period;


static const char *ngx_zigtls_ops_reason_names[NGX_ZIGTLS_R_COUNT] = {
    "malformed", "unexpected_message", "protocol_version",
    "no_shared_cipher", "no_shared_group", "no_shared_sigalg",
    "policy_sni", "policy_alpn", "policy_reject", "bad_finished",
    "bad_record_mac", "timeout", "rate_limited", "truncated", "peer_alert",
    "internal", "other"
};

static const uint64_t  ngx_zigtls_ops_bucket_us[NGX_ZIGTLS_OPS_NBUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000
};

static const char *ngx_zigtls_ops_bucket_le[NGX_ZIGTLS_OPS_NBUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1", "0.25", "0.5", "1"
};

static const uint16_t  ngx_zigtls_ops_suites[3] = {
    ZT_TLS_AES_128_GCM_SHA256, ZT_TLS_AES_256_GCM_SHA384,
    ZT_TLS_CHACHA20_POLY1305_SHA256
};

/* the post-quantum hybrids first: the status page counts their share */
#define NGX_ZIGTLS_OPS_NPQ  2

static const uint16_t  ngx_zigtls_ops_groups[4] = {
    ZT_GROUP_X25519MLKEM768, ZT_GROUP_SECP256R1MLKEM768,
    ZT_GROUP_X25519, ZT_GROUP_SECP256R1
};

static const uint16_t  ngx_zigtls_ops_sigalgs[5] = {
    ZT_SIG_ECDSA_SECP256R1_SHA256, ZT_SIG_RSA_PSS_RSAE_SHA256,
    ZT_SIG_RSA_PSS_RSAE_SHA384, ZT_SIG_RSA_PSS_RSAE_SHA512, ZT_SIG_ED25519
};


#define ngx_zigtls_ops_inc(p)       (void) ngx_atomic_fetch_add(&(p), 1)
#define ngx_zigtls_ops_dec(p)       (void) ngx_atomic_fetch_add(&(p), -1)
#define ngx_zigtls_ops_add(p, n)                                            \
    (void) ngx_atomic_fetch_add(&(p), (ngx_atomic_int_t) (n))


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


/* zigtls_handshake_rate 10r/s [burst=N] */

char *
ngx_zigtls_ops_set_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_zigtls_ops_srv_conf_t  *oscf = conf;

    u_char     *p;
    size_t      len;
    ngx_int_t   rate, scale, burst;
    ngx_str_t  *value;
    ngx_uint_t  i;

    if (oscf->rate != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        oscf->rate = 0;
        return NGX_CONF_OK;
    }

    len = value[1].len;
    p = value[1].data + len - 3;
    scale = 1;

    if (len > 3 && ngx_strncmp(p, "r/s", 3) == 0) {
        scale = 1;
        len -= 3;

    } else if (len > 3 && ngx_strncmp(p, "r/m", 3) == 0) {
        scale = 60;
        len -= 3;

    } else {
        goto invalid;
    }

    rate = ngx_atoi(value[1].data, len);
    if (rate <= 0) {
        goto invalid;
    }

    oscf->rate = rate * 1000 / scale;

    if (oscf->rate == 0) {
        goto invalid;
    }

    burst = (rate + scale - 1) / scale;

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {
            burst = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (burst <= 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid burst value \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    oscf->burst = burst;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid rate \"%V\", expected e.g. 100r/s or 600r/m",
                       &value[1]);
    return NGX_CONF_ERROR;
}


char *
ngx_zigtls_ops_set_keylog(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_zigtls_ops_srv_conf_t  *oscf = conf;

    ngx_str_t  *value;

    if (oscf->keylog_file != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        oscf->keylog_file = NULL;
        return NGX_CONF_OK;
    }

    oscf->keylog = value[1];

    oscf->keylog_file = ngx_conf_open_file(cf->cycle, &value[1]);
    if (oscf->keylog_file == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "zigtls_keylog is on: the TLS secrets of every "
                       "connection are written to \"%V\"; anyone who can "
                       "read it can decrypt the traffic (debugging only)",
                       &value[1]);

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


void
ngx_zigtls_ops_warn_keylog(ngx_cycle_t *cycle, ngx_zigtls_ops_main_t *omcf)
{
    ngx_uint_t               i;
    ngx_zigtls_ops_slot_t  **slots;

    if (omcf == NULL || omcf->slots.elts == NULL) {
        return;
    }

    slots = omcf->slots.elts;

    for (i = 0; i < omcf->slots.nelts; i++) {
        if (slots[i]->oscf->keylog_file) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "zigtls_keylog is on for server \"%V\": the TLS "
                          "secrets of every connection are written to "
                          "\"%V\"; anyone who can read it can decrypt the "
                          "traffic (debugging only)",
                          &slots[i]->name, &slots[i]->oscf->keylog);
        }
    }
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

    /*
     * the timer watches files (zigtls_certificate_reload_interval) and
     * makes an idle worker follow reloads within a second, so that it has
     * the previous generation at hand for a rollback
     */

    ngx_zigtls_ops_period = omcf->min_interval
                            ? ngx_min(omcf->min_interval, 1000) : 1000;

    if (n) {
        ngx_zigtls_ops_timer_ev.handler = ngx_zigtls_ops_timer;
        ngx_zigtls_ops_timer_ev.log = cycle->log;
        ngx_zigtls_ops_timer_ev.data = omcf;
        ngx_zigtls_ops_timer_ev.cancelable = 1;

        ngx_add_timer(&ngx_zigtls_ops_timer_ev, ngx_zigtls_ops_period);
    }

    return NGX_OK;
}


ngx_zigtls_ops_main_t *
ngx_zigtls_ops_get_main(void)
{
    return ngx_zigtls_ops_cur;
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


static uint64_t
ngx_zigtls_ops_clock(void *arg)
{
    return ngx_zigtls_ops_now_us() / 1000;
}


/* hooks: the handshake and record paths */


void
ngx_zigtls_ops_prepare(ngx_zigtls_srv_conf_t *conf)
{
    if (ngx_zigtls_ops_shm
        && ngx_zigtls_ops_shm->change_seq != ngx_zigtls_ops_seen_seq)
    {
        ngx_zigtls_ops_follow(ngx_cycle->log);
    }
}


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
    oc->epoch = ngx_zigtls_ops_epoch;
    oc->open = 1;
    oc->outcome = 0;

    ngx_zigtls_ops_live++;

    ngx_zigtls_ops_inc(sh->started);
    ngx_zigtls_ops_inc(sh->in_progress);
    ngx_zigtls_ops_inc(sh->active);
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
    size_t                  i;
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
    ngx_zigtls_ops_dec(sh->in_progress);

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
    ngx_zigtls_ops_dec(sh->in_progress);
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
    uint8_t                    a;
    ngx_zigtls_ops_sh_t       *sh;
    ngx_zigtls_ops_conn_t     *oc;
    ngx_zigtls_ops_retired_t  *r, **pr;

    sh = ngx_zigtls_ops_shm;
    oc = ngx_zigtls_ops_conn(zc->c);

    if (sh == NULL || oc == NULL || !oc->open || oc->zc != zc) {
        return;
    }

    if (!oc->outcome) {
        /* closed before the handshake ended: every failed handshake has
         * its log line, this one too */
        ngx_log_error(NGX_LOG_INFO, zc->c->log, 0,
                      "zigtls handshake failed: connection closed before "
                      "the handshake ended%s, alert sent: none",
                      ngx_exiting ? " (worker shutdown)" : "");
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

    ngx_zigtls_ops_dec(sh->active);

    if (zc->memory) {
        (void) ngx_atomic_fetch_add(&sh->conn_memory,
                                    -(ngx_atomic_int_t) zc->memory);
        zc->memory = 0;
    }

    oc->open = 0;
    oc->zc = NULL;
    ngx_zigtls_ops_live--;

    /* configurations retired while this connection was open */

    pr = &ngx_zigtls_ops_retired;

    for (r = *pr; r; r = *pr) {
        if (oc->epoch < r->epoch && --r->remaining == 0) {
            ngx_log_debug1(NGX_LOG_DEBUG_EVENT, zc->c->log, 0,
                           "zigtls: freeing retired config %p", r->zt);
            zt_config_free(r->zt);
            *pr = r->next;
            ngx_free(r);
            continue;
        }

        pr = &r->next;
    }
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

    (void) ngx_atomic_fetch_add(&sh->conn_memory,
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


/* rate limit: checked in the ClientHello callback, before any signature */

static zt_err
ngx_zigtls_ops_client_hello(void *arg, zt_conn *zt,
    const zt_client_hello *ch, const zt_config **use)
{
    ngx_zigtls_ops_slot_t  *slot = arg;

    uint64_t                  now, cap, add;
    ngx_uint_t                ok;
    ngx_slab_pool_t          *sp;
    ngx_zigtls_ops_shslot_t  *ss;

    ss = slot->sh;

    if (slot->oscf->rate && ss) {
        sp = (ngx_slab_pool_t *) slot->main->shm_zone->shm.addr;
        cap = (uint64_t) slot->oscf->burst * 1000000;

        ngx_shmtx_lock(&sp->mutex);

        now = ngx_zigtls_ops_clock(NULL);

        if (now > ss->bucket_time) {
            /* ms * milli-handshakes/s = micro-handshakes */
            add = (now - ss->bucket_time) * slot->oscf->rate;
            ss->tokens = ngx_min(cap, ss->tokens + add);
            ss->bucket_time = now;
        }

        ok = ss->tokens >= 1000000;

        if (ok) {
            ss->tokens -= 1000000;
        }

        ngx_shmtx_unlock(&sp->mutex);

        if (!ok) {
            return ZT_E_RATE_LIMITED;
        }
    }

    if (slot->zscf->ch_cb) {
        return slot->zscf->ch_cb(NULL, zt, ch, use);
    }

    return ZT_OK;
}


static void
ngx_zigtls_ops_keylog(void *arg, const zt_conn *c, const char *line)
{
    ngx_zigtls_ops_slot_t  *slot = arg;

    u_char            buf[1024];
    size_t            len;
    ngx_open_file_t  *file;

    file = slot->oscf->keylog_file;

    if (file == NULL || file->fd == NGX_INVALID_FILE) {
        return;
    }

    len = ngx_strlen(line);

    if (len > sizeof(buf) - 1) {
        return;
    }

    ngx_memcpy(buf, line, len);
    buf[len++] = '\n';

    (void) ngx_write_fd(file->fd, buf, len);
}


/* the certificate store */


static void
ngx_zigtls_ops_stamps(ngx_zigtls_ops_slot_t *slot, ngx_zigtls_ops_stamp_t *st)
{
    ngx_uint_t          i, j, n;
    struct stat         sb;
    ngx_zigtls_file_t  *f;
    ngx_array_t        *a;

    ngx_memzero(st, NGX_ZIGTLS_OPS_MAX_FILES * sizeof(ngx_zigtls_ops_stamp_t));

    n = 0;

    for (j = 0; j < 2; j++) {
        a = j ? slot->zscf->certificate_keys : slot->zscf->certificates;

        if (a == NULL || a == NGX_CONF_UNSET_PTR) {
            continue;
        }

        f = a->elts;

        for (i = 0; i < a->nelts && n < NGX_ZIGTLS_OPS_MAX_FILES; i++, n++) {
            if (stat((char *) f[i].name.data, &sb) == -1) {
                st[n].ino = (ngx_atomic_uint_t) -1;
                continue;
            }

            st[n].ino = sb.st_ino;
            st[n].mtime = (ngx_atomic_uint_t) sb.st_mtim.tv_sec * 1000000000
                          + sb.st_mtim.tv_nsec;
            st[n].size = sb.st_size;
        }
    }
}


static ngx_uint_t
ngx_zigtls_ops_stamps_differ(ngx_zigtls_ops_slot_t *slot)
{
    ngx_zigtls_ops_stamp_t  st[NGX_ZIGTLS_OPS_MAX_FILES];

    if (slot->sh == NULL) {
        return 0;
    }

    ngx_zigtls_ops_stamps(slot, st);

    return ngx_memcmp(st, slot->sh->stamps, sizeof(st)) != 0;
}


static void
ngx_zigtls_ops_publish_certs(ngx_zigtls_ops_slot_t *slot, zt_config *zt)
{
    size_t                    i, n;
    ngx_zigtls_ops_shslot_t  *ss;

    ss = slot->sh;

    if (ss == NULL || zt == NULL) {
        return;
    }

    n = ngx_min(zt_config_credential_count(zt), ZT_MAX_CREDENTIALS);

    for (i = 0; i < n; i++) {
        ss->not_after[i] = zt_config_credential_not_after(zt, i);
    }

    ss->ncerts = n;
}


/*
 * A new zt_config from the files, with the settings of the server{}: what
 * ngx_zigtls_build_config() does at startup, and a stricter check (an
 * expired certificate is refused here; at startup it is only a warning).
 */

static zt_config *
ngx_zigtls_ops_build(ngx_zigtls_ops_slot_t *slot, u_char *reason, size_t len)
{
    char                    err[256];
    size_t                  n;
    int64_t                 not_after;
    zt_err                  rc;
    ngx_str_t              *alpn;
    ngx_uint_t              i;
    zt_config              *zt;
    const char             *protos[ZT_MAX_ALPN_PROTOS];
    ngx_zigtls_file_t      *certs, *keys;
    ngx_zigtls_srv_conf_t  *zscf;

    zscf = slot->zscf;
    certs = zscf->certificates->elts;
    keys = zscf->certificate_keys->elts;

    zt = zt_config_new();
    if (zt == NULL) {
        (void) ngx_cpystrn(reason, (u_char *) "out of memory", len);
        return NULL;
    }

    for (i = 0; i < zscf->certificates->nelts; i++) {
        err[0] = '\0';

        rc = zt_config_add_credential_file(zt, (char *) certs[i].name.data,
                                           (char *) keys[i].name.data,
                                           err, sizeof(err));
        if (rc != ZT_OK) {
            err[sizeof(err) - 1] = '\0';
            *ngx_snprintf(reason, len - 1, "certificate \"%V\" with key "
                          "\"%V\": %s", &certs[i].name, &keys[i].name,
                          err[0] ? err : zt_err_str(rc)) = '\0';
            goto failed;
        }

        n = zt_config_credential_count(zt);
        not_after = n ? zt_config_credential_not_after(zt, n - 1) : 0;

        if (not_after != 0 && not_after < (int64_t) ngx_time()) {
            *ngx_snprintf(reason, len - 1, "certificate \"%V\" has expired",
                          &certs[i].name) = '\0';
            goto failed;
        }
    }

    if (zscf->ciphers.len
        && zt_config_set_cipher_suites_str(zt, (char *) zscf->ciphers.data,
                                           NULL)
           != ZT_OK)
    {
        (void) ngx_cpystrn(reason, (u_char *) "invalid zigtls_ciphers", len);
        goto failed;
    }

    if (zscf->groups.len
        && zt_config_set_groups_str(zt, (char *) zscf->groups.data, NULL)
           != ZT_OK)
    {
        (void) ngx_cpystrn(reason, (u_char *) "invalid zigtls_groups", len);
        goto failed;
    }

    rc = ZT_OK;

    if (zscf->alpn && zscf->alpn != NGX_CONF_UNSET_PTR) {
        alpn = zscf->alpn->elts;

        for (i = 0; i < zscf->alpn->nelts; i++) {
            protos[i] = (const char *) alpn[i].data;
        }

        rc = zt_config_set_alpn(zt, protos, zscf->alpn->nelts);

    } else if (zscf->n_default_alpn) {
        rc = zt_config_set_alpn(zt, zscf->default_alpn,
                                zscf->n_default_alpn);
    }

    if (rc != ZT_OK) {
        (void) ngx_cpystrn(reason, (u_char *) "invalid zigtls_alpn", len);
        goto failed;
    }

    if (zt_config_set_max_handshake_len(zt, zscf->max_handshake) != ZT_OK) {
        (void) ngx_cpystrn(reason,
                           (u_char *) "invalid zigtls_max_handshake_size",
                           len);
        goto failed;
    }

    zt_config_set_clock(zt, ngx_zigtls_ops_clock, NULL);

    if (slot->oscf->rate) {
        zt_config_set_client_hello_cb(zt, ngx_zigtls_ops_client_hello, slot);

    } else if (zscf->ch_cb) {
        zt_config_set_client_hello_cb(zt, zscf->ch_cb, NULL);
    }

    if (slot->oscf->keylog_file) {
        zt_config_set_keylog(zt, ngx_zigtls_ops_keylog, slot);
    }

    return zt;

failed:

    zt_config_free(zt);
    return NULL;
}


static void
ngx_zigtls_ops_retire(ngx_zigtls_ops_slot_t *slot, zt_config *zt)
{
    ngx_zigtls_ops_retired_t  *r;

    if (zt == NULL || zt == slot->initial) {
        /* the configuration's own: freed with the cycle's pool */
        return;
    }

    ngx_zigtls_ops_epoch++;

    if (ngx_zigtls_ops_live == 0) {
        zt_config_free(zt);
        return;
    }

    r = ngx_alloc(sizeof(ngx_zigtls_ops_retired_t), ngx_cycle->log);
    if (r == NULL) {
        /* leak it rather than free what a connection may use */
        return;
    }

    r->zt = zt;
    r->epoch = ngx_zigtls_ops_epoch;
    r->remaining = ngx_zigtls_ops_live;
    r->next = ngx_zigtls_ops_retired;
    ngx_zigtls_ops_retired = r;
}


static void
ngx_zigtls_ops_install(ngx_zigtls_ops_slot_t *slot, zt_config *zt,
    uint64_t generation)
{
    zt_config_set_generation(zt, generation);

    ngx_zigtls_ops_retire(slot, slot->previous);

    slot->previous = slot->zscf->zt;
    slot->prev_generation = slot->generation;
    slot->zscf->zt = zt;
    slot->generation = generation;
}


static void
ngx_zigtls_ops_swap(ngx_zigtls_ops_slot_t *slot)
{
    uint64_t    g;
    zt_config  *zt;

    zt = slot->zscf->zt;
    slot->zscf->zt = slot->previous;
    slot->previous = zt;

    g = slot->generation;
    slot->generation = slot->prev_generation;
    slot->prev_generation = g;
}


/* other workers: catch up with the generations in shared memory */

static void
ngx_zigtls_ops_follow(ngx_log_t *log)
{
    u_char                   reason[NGX_ZIGTLS_OPS_REASON_LEN];
    uint64_t                 g;
    ngx_uint_t               i;
    zt_config               *zt;
    ngx_zigtls_ops_sh_t     *sh;
    ngx_zigtls_ops_slot_t  **slots, *slot;

    sh = ngx_zigtls_ops_shm;

    if (sh == NULL || ngx_zigtls_ops_cur == NULL
        || ngx_zigtls_ops_cur->slots.elts == NULL)
    {
        return;
    }

    ngx_zigtls_ops_seen_seq = sh->change_seq;

    slots = ngx_zigtls_ops_cur->slots.elts;

    for (i = 0; i < ngx_zigtls_ops_cur->slots.nelts; i++) {
        slot = slots[i];

        if (slot->sh == NULL) {
            continue;
        }

        g = slot->sh->generation;

        if (g == slot->generation) {
            continue;
        }

        if (slot->previous && g == slot->prev_generation) {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "zigtls: server \"%V\": back to certificate "
                          "generation %uL", &slot->name, g);
            ngx_zigtls_ops_swap(slot);
            continue;
        }

        if (g < slot->generation) {
            /* a rollback past what this worker ever loaded */
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "zigtls: server \"%V\": generation %uL was never "
                          "loaded by this worker, loading the current files "
                          "for it", &slot->name, g);
        }

        zt = ngx_zigtls_ops_build(slot, reason, sizeof(reason));

        if (zt == NULL) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "zigtls: server \"%V\": cannot load certificate "
                          "generation %uL, keeping %uL: %s",
                          &slot->name, g, slot->generation, reason);
            continue;
        }

        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "zigtls: server \"%V\": certificate generation %uL",
                      &slot->name, g);

        ngx_zigtls_ops_install(slot, zt, g);
    }
}


static ngx_uint_t
ngx_zigtls_ops_lock(ngx_zigtls_ops_sh_t *sh)
{
    ngx_atomic_uint_t  pid, t;

    if (ngx_atomic_cmp_set(&sh->reload_lock, 0, ngx_pid)) {
        sh->reload_lock_time = ngx_time();
        return 1;
    }

    /* a worker that died while reloading */

    pid = sh->reload_lock;
    t = sh->reload_lock_time;

    if (pid && (ngx_atomic_uint_t) ngx_time() > t + 30
        && ngx_atomic_cmp_set(&sh->reload_lock, pid, ngx_pid))
    {
        sh->reload_lock_time = ngx_time();
        return 1;
    }

    return 0;
}


static void
ngx_zigtls_ops_unlock(ngx_zigtls_ops_sh_t *sh)
{
    (void) ngx_atomic_cmp_set(&sh->reload_lock, ngx_pid, 0);
}


/*
 * The authority's side, under reload_lock, for one server{}: load and
 * validate, install, publish. *newgen is the generation of this round,
 * taken from the counter by the first server{} that needs it.
 */

static ngx_int_t
ngx_zigtls_ops_reload_slot(ngx_zigtls_ops_slot_t *slot, ngx_log_t *log,
    ngx_uint_t rollback, uint64_t *newgen, ngx_zigtls_ops_result_t *res,
    ngx_pool_t *pool)
{
    u_char                   *reason;
    uint64_t                  g;
    zt_config                *zt;
    ngx_zigtls_ops_sh_t      *sh;
    ngx_zigtls_ops_shslot_t  *ss;

    sh = ngx_zigtls_ops_shm;
    ss = slot->sh;

    reason = ngx_pnalloc(pool, NGX_ZIGTLS_OPS_REASON_LEN);
    if (reason == NULL) {
        return NGX_ERROR;
    }

    reason[0] = '\0';
    res->ok = 0;
    res->generation = slot->generation;

    if (ss == NULL) {
        (void) ngx_cpystrn(reason, (u_char *) "no room in zigtls_zone",
                           NGX_ZIGTLS_OPS_REASON_LEN);
        goto failed;
    }

    if (rollback) {
        if (slot->previous == NULL
            || ss->prev_generation != slot->prev_generation)
        {
            /* nothing to go back to: not an error */
            (void) ngx_cpystrn(reason, (u_char *) "no previous generation",
                               NGX_ZIGTLS_OPS_REASON_LEN);
            res->ok = 2;
            res->reason.data = reason;
            res->reason.len = ngx_strlen(reason);
            return NGX_OK;
        }

        ngx_zigtls_ops_swap(slot);

        g = ss->generation;
        ss->generation = ss->prev_generation;
        ss->prev_generation = g;
        ngx_zigtls_ops_publish_certs(slot, slot->zscf->zt);
        ngx_zigtls_ops_inc(sh->change_seq);

        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "zigtls: server \"%V\": rolled back to certificate "
                      "generation %uL", &slot->name, slot->generation);

        res->ok = 1;
        res->generation = slot->generation;
        res->reason.len = 0;
        return NGX_OK;
    }

    if (ss->last_ok && !ngx_zigtls_ops_stamps_differ(slot)) {
        /* the files are what the active generation was loaded from */
        res->ok = 2;
        res->reason.len = 0;
        return NGX_OK;
    }

    ngx_zigtls_ops_stamps(slot, ss->stamps);

    zt = ngx_zigtls_ops_build(slot, reason, NGX_ZIGTLS_OPS_REASON_LEN);

    if (zt == NULL) {
        ngx_zigtls_ops_inc(ss->reload_failed);
        ss->last_ok = 0;
        ss->last_time = ngx_time();
        (void) ngx_cpystrn(ss->reason, reason, sizeof(ss->reason));

        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "zigtls: server \"%V\": certificate reload failed, "
                      "keeping generation %uL: %s",
                      &slot->name, slot->generation, reason);
        goto failed;
    }

    if (*newgen == 0) {
        *newgen = ngx_atomic_fetch_add(&sh->generation_counter, 1) + 1;
    }

    ngx_zigtls_ops_install(slot, zt, *newgen);

    ss->prev_generation = ss->generation;
    ss->generation = *newgen;
    ss->last_ok = 1;
    ss->last_time = ngx_time();
    ss->reason[0] = '\0';
    ngx_zigtls_ops_inc(ss->reload_ok);
    ngx_zigtls_ops_publish_certs(slot, zt);
    ngx_zigtls_ops_inc(sh->change_seq);

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "zigtls: server \"%V\": certificate generation %uL loaded",
                  &slot->name, *newgen);

    res->ok = 1;
    res->generation = *newgen;
    res->reason.len = 0;
    return NGX_OK;

failed:

    res->reason.data = reason;
    res->reason.len = ngx_strlen(reason);
    return NGX_DECLINED;
}


/*
 * zigtls_reload: every server{} of this configuration, now, in this
 * worker; the others follow. results: of ngx_zigtls_ops_result_t, one per
 * slot. NGX_OK all done, NGX_DECLINED some failed, NGX_BUSY another
 * reload is running, NGX_ERROR no zone.
 */

ngx_int_t
ngx_zigtls_ops_reload(ngx_log_t *log, ngx_uint_t rollback, ngx_pool_t *pool,
    ngx_array_t *results, uint64_t *generation)
{
    uint64_t                  newgen, max;
    ngx_int_t                 rc, rv;
    ngx_uint_t                i;
    ngx_zigtls_ops_sh_t      *sh;
    ngx_zigtls_ops_slot_t   **slots;
    ngx_zigtls_ops_result_t  *res;

    sh = ngx_zigtls_ops_shm;

    if (sh == NULL || ngx_zigtls_ops_cur == NULL) {
        return NGX_ERROR;
    }

    if (!ngx_zigtls_ops_lock(sh)) {
        return NGX_BUSY;
    }

    ngx_zigtls_ops_inc(sh->reload_requests);

    /* be current first */
    ngx_zigtls_ops_follow(log);

    rv = NGX_OK;
    newgen = 0;
    max = 0;

    slots = ngx_zigtls_ops_cur->slots.elts;

    for (i = 0; slots && i < ngx_zigtls_ops_cur->slots.nelts; i++) {
        res = ngx_array_push(results);
        if (res == NULL) {
            rv = NGX_ERROR;
            break;
        }

        rc = ngx_zigtls_ops_reload_slot(slots[i], log, rollback, &newgen,
                                        res, pool);
        if (rc == NGX_ERROR) {
            rv = NGX_ERROR;
            break;
        }

        if (rc != NGX_OK) {
            rv = NGX_DECLINED;
        }

        if (slots[i]->generation > max) {
            max = slots[i]->generation;
        }
    }

    ngx_zigtls_ops_seen_seq = sh->change_seq;

    ngx_zigtls_ops_unlock(sh);

    *generation = max;

    return rv;
}


/*
 * A zigtls_reload POST in http also asks the stream side (which shares
 * the zone, but whose configurations the http code cannot build): one
 * stream worker takes the request on its timer, within a second.
 */

void
ngx_zigtls_ops_request(ngx_uint_t rollback)
{
    ngx_zigtls_ops_sh_t  *sh;

    sh = ngx_zigtls_ops_shm;

    if (sh == NULL) {
        return;
    }

    sh->request_rollback = rollback;
    ngx_zigtls_ops_inc(sh->request_seq);
}


static void
ngx_zigtls_ops_take_request(ngx_log_t *log)
{
    uint64_t              gen;
    ngx_uint_t            rollback;
    ngx_pool_t           *pool;
    ngx_array_t           results;
    ngx_atomic_uint_t     seq, done;
    ngx_zigtls_ops_sh_t  *sh;

    sh = ngx_zigtls_ops_shm;
    seq = sh->request_seq;
    done = sh->request_done;

    if (seq == done) {
        return;
    }

    rollback = sh->request_rollback;

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return;
    }

    if (ngx_array_init(&results, pool, 4, sizeof(ngx_zigtls_ops_result_t))
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return;
    }

    /* exactly one worker answers a request */

    if (ngx_atomic_cmp_set(&sh->request_done, done, seq)) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "zigtls: certificate %s requested by zigtls_reload",
                      rollback ? "rollback" : "reload");

        if (ngx_zigtls_ops_reload(log, rollback, pool, &results, &gen)
            == NGX_BUSY)
        {
            /* try again on the next tick */
            (void) ngx_atomic_cmp_set(&sh->request_done, seq, done);
        }

        /* zigtls_reload_requests counts the POST once */
        ngx_zigtls_ops_dec(sh->reload_requests);
    }

    ngx_destroy_pool(pool);
}


/* the watcher: certificate files changed on disk */

static void
ngx_zigtls_ops_timer(ngx_event_t *ev)
{
    uint64_t                  newgen;
    ngx_msec_t                now;
    ngx_uint_t                i, locked;
    ngx_pool_t               *pool;
    ngx_zigtls_ops_sh_t      *sh;
    ngx_zigtls_ops_main_t    *omcf;
    ngx_zigtls_ops_slot_t   **slots, *slot;
    ngx_zigtls_ops_result_t   res;

    omcf = ev->data;
    sh = ngx_zigtls_ops_shm;

    if (ngx_exiting || ngx_quit || ngx_terminate || sh == NULL) {
        return;
    }

    now = ngx_current_msec;
    slots = omcf->slots.elts;
    locked = 0;
    newgen = 0;
    pool = NULL;

    for (i = 0; slots && i < omcf->slots.nelts; i++) {
        slot = slots[i];

        if (slot->oscf->reload_interval == 0
            || now - slot->last_check < slot->oscf->reload_interval)
        {
            continue;
        }

        slot->last_check = now;

        if (!ngx_zigtls_ops_stamps_differ(slot)) {
            continue;
        }

        if (!locked) {
            if (!ngx_zigtls_ops_lock(sh)) {
                break;
            }

            locked = 1;

            pool = ngx_create_pool(1024, ev->log);
            if (pool == NULL) {
                break;
            }

            ngx_zigtls_ops_follow(ev->log);
        }

        /* another worker may have done it meanwhile */
        if (!ngx_zigtls_ops_stamps_differ(slot)) {
            continue;
        }

        ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                      "zigtls: server \"%V\": certificate files changed",
                      &slot->name);

        (void) ngx_zigtls_ops_reload_slot(slot, ev->log, 0, &newgen, &res,
                                          pool);
    }

    if (locked) {
        ngx_zigtls_ops_seen_seq = sh->change_seq;
        ngx_zigtls_ops_unlock(sh);
    }

    if (pool) {
        ngx_destroy_pool(pool);
    }

    if (sh->change_seq != ngx_zigtls_ops_seen_seq) {
        ngx_zigtls_ops_follow(ev->log);
    }

    if (omcf->remote) {
        ngx_zigtls_ops_take_request(ev->log);
    }

    ngx_add_timer(ev, ngx_zigtls_ops_period);
}


/* $zigtls_cert_generation */

ngx_int_t
ngx_zigtls_ops_generation_value(ngx_connection_t *c, ngx_pool_t *pool,
    ngx_str_t *value)
{
    u_char             *p;
    ngx_zigtls_conn_t  *zc;

    zc = ngx_zigtls_get(c);

    if (zc == NULL || !zc->handshaked) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    value->data = p;
    value->len = ngx_sprintf(p, "%uL", zt_conn_generation(zc->zt)) - p;

    return NGX_OK;
}


/* status pages */


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

    if (!prom) {
        p = ngx_slprintf(p, last,
                 "zigtls zone \"%V\"\n"
                 "connections: active %uA, handshakes in progress %uA\n"
                 "connection memory: %uA bytes, %uA per connection\n"
                 "handshakes: started %uA, succeeded %uA, failed %uA\n",
                 &omcf->shm_zone->shm.name, sh->active, sh->in_progress,
                 sh->conn_memory,
                 sh->active ? sh->conn_memory / sh->active : 0,
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
    p = ngx_slprintf(p, last, "zigtls_connections_active %uA\n", sh->active);

    ngx_zigtls_ops_help(p, last, "zigtls_connection_memory_bytes", "gauge",
                        "Memory the TLS core holds for the open "
                        "connections (zt_conn_memory: connection, record "
                        "buffers, handshake state, cipher contexts).");
    p = ngx_slprintf(p, last, "zigtls_connection_memory_bytes %uA\n",
                     sh->conn_memory);

    ngx_zigtls_ops_help(p, last, "zigtls_handshakes_in_progress", "gauge",
                        "Handshakes started and not yet ended.");
    p = ngx_slprintf(p, last, "zigtls_handshakes_in_progress %uA\n",
                     sh->in_progress);

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
