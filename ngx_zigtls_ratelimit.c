
/*
 * zigtls for nginx, operations plane: zigtls_handshake_rate, a token
 * bucket per server{} in shared memory, checked in the ClientHello
 * callback, before any signature is made.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_zigtls_ops.h"


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


zt_err
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
