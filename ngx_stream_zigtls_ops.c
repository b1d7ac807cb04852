
/*
 * zigtls for nginx: the operations plane of the stream module
 * (ngx_stream_zigtls_ops_module, in ngx_stream_zigtls_module.so).
 *
 *   zigtls_zone name:size;                      stream
 *   zigtls_handshake_rate RATE [burst=N];       stream, server
 *   zigtls_keylog file | off;                   stream, server
 *   zigtls_certificate_reload_interval time;    stream, server
 *   $zigtls_cert_generation
 *
 * Stream has no locations: the status page and zigtls_reload live in
 * http. Given the same zone name (and size) as http, the stream servers
 * count into the same totals.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_zigtls_ops.h"


extern ngx_module_t  ngx_stream_zigtls_module;


static char *ngx_stream_zigtls_ops_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_stream_zigtls_ops_generation(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_stream_zigtls_ops_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_stream_zigtls_ops_postconfiguration(ngx_conf_t *cf);
static void *ngx_stream_zigtls_ops_create_main_conf(ngx_conf_t *cf);
static void *ngx_stream_zigtls_ops_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_zigtls_ops_merge_srv_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_stream_zigtls_ops_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_stream_zigtls_ops_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_stream_zigtls_ops_commands[] = {

    { ngx_string("zigtls_zone"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_stream_zigtls_ops_zone,
      NGX_STREAM_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zigtls_handshake_rate"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE12,
      ngx_zigtls_ops_set_rate,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zigtls_keylog"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_zigtls_ops_set_keylog,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zigtls_certificate_reload_interval"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_ops_srv_conf_t, reload_interval),
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_zigtls_ops_module_ctx = {
    ngx_stream_zigtls_ops_add_variables,     /* preconfiguration */
    ngx_stream_zigtls_ops_postconfiguration, /* postconfiguration */

    ngx_stream_zigtls_ops_create_main_conf,  /* create main configuration */
    NULL,                                    /* init main configuration */

    ngx_stream_zigtls_ops_create_srv_conf,   /* create server configuration */
    ngx_stream_zigtls_ops_merge_srv_conf     /* merge server configuration */
};


ngx_module_t  ngx_stream_zigtls_ops_module = {
    NGX_MODULE_V1,
    &ngx_stream_zigtls_ops_module_ctx,     /* module context */
    ngx_stream_zigtls_ops_commands,        /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    ngx_stream_zigtls_ops_init_module,     /* init module */
    ngx_stream_zigtls_ops_init_process,    /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_stream_zigtls_ops_generation_name =
    ngx_string("zigtls_cert_generation");


static char *
ngx_stream_zigtls_ops_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_zigtls_ops_zone(cf, cmd, conf);
}


static ngx_int_t
ngx_stream_zigtls_ops_generation(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data)
{
    ngx_int_t  rc;
    ngx_str_t  str;

    rc = ngx_zigtls_ops_generation_value(s->connection, s->connection->pool,
                                         &str);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = str.len;
    v->data = str.data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_stream_zigtls_ops_add_variables(ngx_conf_t *cf)
{
    ngx_stream_variable_t  *var;

    var = ngx_stream_add_variable(cf, &ngx_stream_zigtls_ops_generation_name,
                                  NGX_STREAM_VAR_CHANGEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_stream_zigtls_ops_generation;

    return NGX_OK;
}


static ngx_int_t
ngx_stream_zigtls_ops_postconfiguration(ngx_conf_t *cf)
{
    u_char                        *p, *base;
    ngx_str_t                      name;
    ngx_uint_t                     s;
    ngx_zigtls_srv_conf_t         *zscf;
    ngx_zigtls_ops_main_t         *omcf;
    ngx_zigtls_ops_srv_conf_t     *oscf;
    ngx_stream_core_srv_conf_t   **cscfp;
    ngx_stream_core_main_conf_t   *cmcf;

    cmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_core_module);
    omcf = ngx_stream_conf_get_module_main_conf(cf,
                                                ngx_stream_zigtls_ops_module);

    /* a POST to an http zigtls_reload location reaches us too */
    omcf->remote = 1;

    cscfp = cmcf->servers.elts;

    for (s = 0; s < cmcf->servers.nelts; s++) {
        zscf = cscfp[s]->ctx->srv_conf[ngx_stream_zigtls_module.ctx_index];
        oscf = cscfp[s]->ctx->srv_conf[ngx_stream_zigtls_ops_module.ctx_index];

        if (!zscf->enable || zscf->zt == NULL) {
            continue;
        }

        /* stream servers have no names in nginx 1.22: "stream:file:line" */

        base = cscfp[s]->file_name ? cscfp[s]->file_name : (u_char *) "?";
        p = (u_char *) ngx_strchr(base, '/');

        while (p) {
            base = p + 1;
            p = (u_char *) ngx_strchr(base, '/');
        }

        name.data = ngx_pnalloc(cf->pool, ngx_strlen(base) + 32);
        if (name.data == NULL) {
            return NGX_ERROR;
        }

        name.len = ngx_sprintf(name.data, "stream:%s:%ui", base,
                               cscfp[s]->line)
                   - name.data;

        if (ngx_zigtls_ops_add_server(cf, omcf, zscf, oscf, &name)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_zigtls_ops_check_zone(cf, omcf);
}


static void *
ngx_stream_zigtls_ops_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_zigtls_ops_main_t));
}


static void *
ngx_stream_zigtls_ops_create_srv_conf(ngx_conf_t *cf)
{
    ngx_zigtls_ops_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_zigtls_ops_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    ngx_zigtls_ops_init_srv_conf(conf);

    return conf;
}


static char *
ngx_stream_zigtls_ops_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    return ngx_zigtls_ops_merge_srv_conf(cf, child, parent);
}


static ngx_int_t
ngx_stream_zigtls_ops_init_module(ngx_cycle_t *cycle)
{
    ngx_zigtls_ops_warn_keylog(cycle,
        ngx_stream_cycle_get_module_main_conf(cycle,
                                              ngx_stream_zigtls_ops_module));

    return NGX_OK;
}


static ngx_int_t
ngx_stream_zigtls_ops_init_process(ngx_cycle_t *cycle)
{
    return ngx_zigtls_ops_init_process(cycle,
               ngx_stream_cycle_get_module_main_conf(cycle,
                                               ngx_stream_zigtls_ops_module));
}
