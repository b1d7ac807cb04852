
/*
 * zigtls for nginx, operations plane: the certificate store, with its
 * generations, hot reload (zigtls_reload, the file watcher of
 * zigtls_certificate_reload_interval) and rollback.
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


static ngx_uint_t ngx_zigtls_ops_stamps_differ(ngx_zigtls_ops_slot_t *slot);
static zt_config *ngx_zigtls_ops_build(ngx_zigtls_ops_slot_t *slot,
    u_char *reason, size_t len);
static void ngx_zigtls_ops_install(ngx_zigtls_ops_slot_t *slot,
    zt_config *zt, uint64_t generation);
static void ngx_zigtls_ops_swap(ngx_zigtls_ops_slot_t *slot);
static void ngx_zigtls_ops_retire(ngx_zigtls_ops_slot_t *slot,
    zt_config *zt);
static void ngx_zigtls_ops_follow(ngx_log_t *log);
static ngx_uint_t ngx_zigtls_ops_lock(ngx_zigtls_ops_sh_t *sh);
static void ngx_zigtls_ops_unlock(ngx_zigtls_ops_sh_t *sh);
static ngx_int_t ngx_zigtls_ops_reload_slot(ngx_zigtls_ops_slot_t *slot,
    ngx_log_t *log, ngx_uint_t rollback, uint64_t *newgen,
    ngx_zigtls_ops_result_t *res, ngx_pool_t *pool);
static void ngx_zigtls_ops_take_request(ngx_log_t *log);
static void ngx_zigtls_ops_timer(ngx_event_t *ev);


ngx_atomic_uint_t                 ngx_zigtls_ops_seen_seq;

static ngx_uint_t                 ngx_zigtls_ops_epoch;
static ngx_uint_t                 ngx_zigtls_ops_live;
static ngx_zigtls_ops_retired_t  *ngx_zigtls_ops_retired;
static ngx_event_t                ngx_zigtls_ops_timer_ev;
static ngx_msec_t                 ngx_zigtls_ops_period;


/* hooks: the handshake path */


void
ngx_zigtls_ops_prepare(ngx_zigtls_srv_conf_t *conf)
{
    if (ngx_zigtls_ops_shm
        && ngx_zigtls_ops_shm->change_seq != ngx_zigtls_ops_seen_seq)
    {
        ngx_zigtls_ops_follow(ngx_cycle->log);
    }
}


/* connections and retired configurations */


ngx_uint_t
ngx_zigtls_ops_store_enter(void)
{
    ngx_zigtls_ops_live++;

    return ngx_zigtls_ops_epoch;
}


void
ngx_zigtls_ops_store_leave(ngx_uint_t epoch, ngx_log_t *log)
{
    ngx_zigtls_ops_retired_t  *r, **pr;

    ngx_zigtls_ops_live--;

    /* configurations retired while this connection was open */

    pr = &ngx_zigtls_ops_retired;

    for (r = *pr; r; r = *pr) {
        if (epoch < r->epoch && --r->remaining == 0) {
            ngx_log_debug1(NGX_LOG_DEBUG_EVENT, log, 0,
                           "zigtls: freeing retired config %p", r->zt);
            zt_config_free(r->zt);
            *pr = r->next;
            ngx_free(r);
            continue;
        }

        pr = &r->next;
    }
}


/* the certificate store */


void
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


void
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

    /* certificate compression: the new chain is compressed here, once */
    if (ngx_zigtls_prepare_config(zt, zscf, reason, len) != NGX_OK) {
        goto failed;
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
                                           NULL, 0)
           != ZT_OK)
    {
        (void) ngx_cpystrn(reason, (u_char *) "invalid zigtls_ciphers", len);
        goto failed;
    }

    if (zscf->groups.len
        && zt_config_set_groups_str(zt, (char *) zscf->groups.data, NULL, 0)
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


void
ngx_zigtls_ops_start_timer(ngx_cycle_t *cycle, ngx_zigtls_ops_main_t *omcf)
{
    /*
     * the timer watches files (zigtls_certificate_reload_interval) and
     * makes an idle worker follow reloads within a second, so that it has
     * the previous generation at hand for a rollback
     */

    ngx_zigtls_ops_period = omcf->min_interval
                            ? ngx_min(omcf->min_interval, 1000) : 1000;

    ngx_zigtls_ops_timer_ev.handler = ngx_zigtls_ops_timer;
    ngx_zigtls_ops_timer_ev.log = cycle->log;
    ngx_zigtls_ops_timer_ev.data = omcf;
    ngx_zigtls_ops_timer_ev.cancelable = 1;

    ngx_add_timer(&ngx_zigtls_ops_timer_ev, ngx_zigtls_ops_period);
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
