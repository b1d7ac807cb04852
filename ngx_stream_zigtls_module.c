
/*
 * zigtls for nginx: the stream module.
 *
 * The handshake runs in NGX_STREAM_SSL_PHASE (as ngx_stream_ssl_module's
 * does); when it completes, the record layer is installed on the client
 * connection and the phases go on (preread, proxy_pass, log).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_zigtls_module.h"


static ngx_int_t ngx_stream_zigtls_handler(ngx_stream_session_t *s);
static void ngx_stream_zigtls_handshake_done(ngx_connection_t *c,
    ngx_int_t rc);
static zt_err ngx_stream_zigtls_client_hello(void *arg, zt_conn *zt,
    const zt_client_hello *ch, const zt_config **use);
static ngx_int_t ngx_stream_zigtls_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_stream_zigtls_add_variables(ngx_conf_t *cf);
static void *ngx_stream_zigtls_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_zigtls_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_stream_zigtls_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_stream_zigtls_init_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_stream_zigtls_filter(ngx_stream_session_t *s,
    ngx_chain_t *in, ngx_uint_t from_upstream);
static void ngx_stream_zigtls_watch_upstream(ngx_stream_session_t *s);
static ssize_t ngx_stream_zigtls_upstream_recv(ngx_connection_t *pc,
    u_char *buf, size_t size);


static ngx_stream_filter_pt  ngx_stream_zigtls_next_filter;


static ngx_command_t  ngx_stream_zigtls_commands[] = {

    { ngx_string("zigtls"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_zigtls_set_enable,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, enable),
      NULL },

    { ngx_string("zigtls_certificate"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_zigtls_set_file,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, certificates),
      NULL },

    { ngx_string("zigtls_certificate_key"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_zigtls_set_file,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, certificate_keys),
      NULL },

    { ngx_string("zigtls_ciphers"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_zigtls_set_list,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, ciphers),
      NULL },

    { ngx_string("zigtls_groups"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_zigtls_set_list,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, groups),
      (void *) 1 },

    { ngx_string("zigtls_alpn"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_1MORE,
      ngx_zigtls_set_alpn,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zigtls_require_sni"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, require_sni),
      NULL },

    { ngx_string("zigtls_handshake_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, handshake_timeout),
      NULL },

    { ngx_string("zigtls_max_handshake_size"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, max_handshake),
      &ngx_zigtls_max_handshake_post },

    { ngx_string("zigtls_certificate_compression"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, cert_compression),
      NULL },

    { ngx_string("zigtls_log_failures"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE12,
      ngx_zigtls_set_log_failures,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_zigtls_module_ctx = {
    ngx_stream_zigtls_add_variables,       /* preconfiguration */
    ngx_stream_zigtls_postconfiguration,   /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_stream_zigtls_create_srv_conf,     /* create server configuration */
    ngx_stream_zigtls_merge_srv_conf       /* merge server configuration */
};


ngx_module_t  ngx_stream_zigtls_module = {
    NGX_MODULE_V1,
    &ngx_stream_zigtls_module_ctx,         /* module context */
    ngx_stream_zigtls_commands,            /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_stream_zigtls_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_zigtls_exit_process,               /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_stream_variable_t  ngx_stream_zigtls_vars[] = {

    { ngx_string("zigtls_protocol"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_PROTOCOL, NGX_STREAM_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_cipher"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_CIPHER, NGX_STREAM_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_group"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_GROUP, NGX_STREAM_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_sigalg"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_SIGALG, NGX_STREAM_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_server_name"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_SERVER_NAME, NGX_STREAM_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_alpn"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_ALPN, NGX_STREAM_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_session_reused"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_SESSION_REUSED, NGX_STREAM_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_handshake_time"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_HANDSHAKE_TIME, NGX_STREAM_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_ja4"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_JA4 + ZT_JA4, NGX_STREAM_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_ja4_r"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_JA4 + ZT_JA4_R, NGX_STREAM_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_ja4_o"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_JA4 + ZT_JA4_O, NGX_STREAM_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_ja4_ro"), NULL, ngx_stream_zigtls_variable,
      NGX_ZIGTLS_VAR_JA4 + ZT_JA4_RO, NGX_STREAM_VAR_CHANGEABLE, 0 },

      ngx_stream_null_variable
};


static ngx_int_t
ngx_stream_zigtls_handler(ngx_stream_session_t *s)
{
    ngx_connection_t       *c;
    ngx_zigtls_conn_t      *zc;
    ngx_zigtls_srv_conf_t  *zscf;

    zscf = ngx_stream_get_module_srv_conf(s, ngx_stream_zigtls_module);

    if (!zscf->enable || zscf->zt == NULL) {
        return NGX_DECLINED;
    }

    c = s->connection;
    zc = ngx_zigtls_get(c);

    if (zc) {
        /* back from ngx_stream_zigtls_handshake_done() */
        return zc->handshaked ? NGX_OK : NGX_ERROR;
    }

    zc = ngx_zigtls_create(c, zscf, ngx_stream_zigtls_handshake_done, s);
    if (zc == NULL) {
        return NGX_ERROR;
    }

    zc->in_start = 1;
    ngx_zigtls_start(c);
    zc->in_start = 0;

    if (!zc->done) {
        return NGX_AGAIN;
    }

    if (zc->failed) {
        ngx_stream_finalize_session(s, NGX_STREAM_BAD_REQUEST);
        return NGX_DONE;
    }

    c->log->action = NULL;
    c->read->handler = ngx_stream_session_handler;
    c->write->handler = ngx_stream_session_handler;

    return NGX_OK;
}


static void
ngx_stream_zigtls_handshake_done(ngx_connection_t *c, ngx_int_t rc)
{
    ngx_zigtls_conn_t     *zc;
    ngx_stream_session_t  *s;

    s = c->data;
    zc = ngx_zigtls_get(c);

    if (zc && zc->in_start) {
        zc->done = 1;
        zc->failed = (rc != NGX_OK);
        return;
    }

    if (rc != NGX_OK) {
        ngx_stream_finalize_session(s, NGX_STREAM_BAD_REQUEST);
        return;
    }

    c->log->action = NULL;
    c->read->handler = ngx_stream_session_handler;
    c->write->handler = ngx_stream_session_handler;

    ngx_stream_core_run_phases(s);
}


/*
 * proxy_half_close: when the upstream ends first, nginx shuts the client
 * socket down for writing at once. The upstream's EOF is watched here so
 * that close_notify goes to the client before that (or as soon as what
 * the upstream sent before its EOF has been written).
 */

static ngx_int_t
ngx_stream_zigtls_filter(ngx_stream_session_t *s, ngx_chain_t *in,
    ngx_uint_t from_upstream)
{
    ngx_stream_zigtls_watch_upstream(s);

    return ngx_stream_zigtls_next_filter(s, in, from_upstream);
}


static void
ngx_stream_zigtls_watch_upstream(ngx_stream_session_t *s)
{
    ngx_connection_t   *pc;
    ngx_zigtls_conn_t  *zc;

    if (s->upstream == NULL) {
        return;
    }

    zc = ngx_zigtls_get(s->connection);

    if (zc == NULL) {
        return;
    }

    pc = s->upstream->peer.connection;

    if (pc == NULL || pc->recv == ngx_stream_zigtls_upstream_recv
        || pc->type != SOCK_STREAM || pc->data != s)
    {
        return;
    }

    /*
     * the upstream's own recv (ngx_recv, or ngx_ssl_recv with proxy_ssl)
     * is kept with the client's connection: sessions of one worker proxy
     * to upstreams of different kinds
     */

    zc->upstream_recv = pc->recv;
    pc->recv = ngx_stream_zigtls_upstream_recv;
}


static ssize_t
ngx_stream_zigtls_upstream_recv(ngx_connection_t *pc, u_char *buf,
    size_t size)
{
    ssize_t                 n;
    ngx_connection_t       *c;
    ngx_zigtls_conn_t      *zc;
    ngx_stream_session_t   *s;
    ngx_stream_upstream_t  *u;

    s = pc->data;
    c = s->connection;
    zc = ngx_zigtls_get(c);

    if (zc == NULL || zc->upstream_recv == NULL) {
        ngx_log_error(NGX_LOG_ALERT, pc->log, 0,
                      "zigtls: upstream read without its session");
        pc->read->error = 1;
        return NGX_ERROR;
    }

    n = zc->upstream_recv(pc, buf, size);

    if (n != 0) {
        return n;
    }

    u = s->upstream;

    if (!zc->handshaked || u == NULL) {
        return 0;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_STREAM, c->log, 0,
                   "zigtls: upstream closed, close_notify to the client");

    if (u->downstream_out || u->downstream_busy || c->buffered) {
        zc->close_when_flushed = 1;
        return 0;
    }

    (void) ngx_zigtls_shutdown(c);

    return 0;
}


static zt_err
ngx_stream_zigtls_client_hello(void *arg, zt_conn *zt,
    const zt_client_hello *ch, const zt_config **use)
{
    ngx_zigtls_conn_t           *zc;
#if (nginx_version >= 1025005)
    u_char                      *name;
    size_t                       i, len;
    ngx_str_t                    host;
    ngx_stream_session_t        *s;
    ngx_zigtls_srv_conf_t       *zscf;
    ngx_stream_core_srv_conf_t  *cscf;
#endif

    zc = zt_conn_user(zt);

    if (zc == NULL) {
        return ZT_E_INTERNAL;
    }

    if (ch->sni == NULL || ch->sni_len == 0) {
        return zc->conf->require_sni ? ZT_E_POLICY_SNI : ZT_OK;
    }

#if (nginx_version >= 1025005)

    /* stream servers have names since 1.25.5: SNI chooses the server */

    s = zc->data;
    len = ngx_min(ch->sni_len, ZT_MAX_SNI_LEN);

    name = ngx_pnalloc(zc->c->pool, len);
    if (name == NULL) {
        return ZT_E_INTERNAL;
    }

    for (i = 0; i < len; i++) {
        name[i] = ngx_tolower((u_char) ch->sni[i]);
    }

    host.data = name;
    host.len = len;

    if (ngx_stream_validate_host(&host, zc->c->pool, 1) != NGX_OK) {
        return ZT_OK;
    }

    if (ngx_stream_find_virtual_server(s, &host, &cscf) != NGX_OK) {
        return ZT_OK;
    }

    s->srv_conf = cscf->ctx->srv_conf;

    zscf = ngx_stream_get_module_srv_conf(s, ngx_stream_zigtls_module);

    if (zscf->zt && zscf->zt != zc->conf->zt) {
        *use = zscf->zt;
    }

#endif

    return ZT_OK;
}


static ngx_int_t
ngx_stream_zigtls_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data)
{
    ngx_int_t  rc;
    ngx_str_t  str;

    rc = ngx_zigtls_variable_value(s->connection->pool, s->connection, &str,
                                   data);

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
ngx_stream_zigtls_add_variables(ngx_conf_t *cf)
{
    ngx_stream_variable_t  *var, *v;

    for (v = ngx_stream_zigtls_vars; v->name.len; v++) {
        var = ngx_stream_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_stream_zigtls_create_srv_conf(ngx_conf_t *cf)
{
    ngx_zigtls_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_zigtls_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    ngx_zigtls_init_srv_conf(conf);

    return conf;
}


static char *
ngx_stream_zigtls_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_zigtls_srv_conf_t *prev = parent;
    ngx_zigtls_srv_conf_t *conf = child;

    if (ngx_zigtls_merge_srv_conf(cf, conf, prev) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (ngx_zigtls_build_config(cf, conf, NULL, 0,
                                ngx_stream_zigtls_client_hello)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_stream_zigtls_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                    i, forms;
    ngx_stream_variable_t        *v;
    ngx_stream_handler_pt        *h;
    ngx_zigtls_srv_conf_t        *zscf;
    ngx_stream_core_srv_conf_t  **cscfp;
    ngx_stream_core_main_conf_t  *cmcf;
#if (nginx_version >= 1025005)
    ngx_uint_t                    p, a, off;
    ngx_zigtls_srv_conf_t        *on;
    ngx_stream_conf_port_t       *port;
    ngx_stream_conf_addr_t       *addr;
    ngx_stream_core_srv_conf_t  **servers;
#else
    ngx_stream_listen_t          *ls;
#endif

    cmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_core_module);

#if (nginx_version >= 1025005)

    /* stream has address:ports with several servers since 1.25.5 */

    port = cmcf->ports ? cmcf->ports->elts : NULL;

    for (p = 0; port && p < cmcf->ports->nelts; p++) {

        addr = port[p].addrs.elts;

        for (a = 0; a < port[p].addrs.nelts; a++) {
            on = NULL;
            off = 0;
            servers = addr[a].servers.elts;

            for (i = 0; i < addr[a].servers.nelts; i++) {
                zscf = servers[i]->ctx->srv_conf[
                                            ngx_stream_zigtls_module.ctx_index];
                if (zscf->enable) {
                    on = zscf;

                } else {
                    off = 1;
                }
            }

            if (on && off) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "\"zigtls on\" in %s:%ui and a server "
                              "without it listen on the same address %V",
                              on->file, on->line, &addr[a].opt.addr_text);
                return NGX_ERROR;
            }

            if (on && addr[a].opt.ssl) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "the \"ssl\" parameter of \"listen %V\" "
                              "conflicts with \"zigtls on\" in %s:%ui",
                              &addr[a].opt.addr_text, on->file, on->line);
                return NGX_ERROR;
            }
        }
    }

#else

    ls = cmcf->listen.elts;

    for (i = 0; i < cmcf->listen.nelts; i++) {
        zscf = ls[i].ctx->srv_conf[ngx_stream_zigtls_module.ctx_index];

        if (zscf->enable && ls[i].ssl) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "the \"ssl\" parameter of \"listen %V\" "
                          "conflicts with \"zigtls on\" in %s:%ui",
                          &ls[i].addr_text, zscf->file, zscf->line);
            return NGX_ERROR;
        }
    }

#endif

    /* JA4 fingerprints are kept only when the configuration names them */

    forms = 0;
    v = cmcf->variables.elts;

    for (i = 0; i < cmcf->variables.nelts; i++) {
        forms |= ngx_zigtls_ja4_form(&v[i].name);
    }

    cscfp = cmcf->servers.elts;

    for (i = 0; i < cmcf->servers.nelts; i++) {
        zscf = cscfp[i]->ctx->srv_conf[ngx_stream_zigtls_module.ctx_index];
        zscf->ja4_forms = forms;
    }

    h = ngx_array_push(&cmcf->phases[NGX_STREAM_SSL_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_stream_zigtls_handler;

    ngx_stream_zigtls_next_filter = ngx_stream_top_filter;
    ngx_stream_top_filter = ngx_stream_zigtls_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_stream_zigtls_init_process(ngx_cycle_t *cycle)
{
    return ngx_zigtls_init_process(cycle);
}
