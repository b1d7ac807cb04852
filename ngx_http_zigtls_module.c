
/*
 * zigtls for nginx: the http module.
 *
 * init_module takes over the listening sockets of the server{}s with
 * "zigtls on" (ls->handler); the accept handler runs the handshake on
 * nginx events, then hands the connection to ngx_http_init_connection()
 * (or ngx_http_v2_init() when ALPN chose "h2") with the record layer of
 * ngx_zigtls_module.c installed as c->recv / c->send / ... .
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_zigtls_module.h"
#include "ngx_zigtls_ops.h"


/* HTTP/2 server push, and its counter, went away in nginx 1.25.1 */
#if (nginx_version < 1025001)
#define ngx_http_zigtls_v2_pushing(h2c)  ((h2c)->pushing)
#else
#define ngx_http_zigtls_v2_pushing(h2c)  0
#endif

#define ngx_http_zigtls_srv_conf(cscf)                                      \
    ((ngx_zigtls_srv_conf_t *)                                              \
         (cscf)->ctx->srv_conf[ngx_http_zigtls_module.ctx_index])


static void ngx_http_zigtls_init_connection(ngx_connection_t *c);
static void ngx_http_zigtls_proxy_protocol_handler(ngx_event_t *rev);
static void ngx_http_zigtls_handshake_done(ngx_connection_t *c,
    ngx_int_t rc);
static zt_err ngx_http_zigtls_client_hello(void *arg, zt_conn *zt,
    const zt_client_hello *ch, const zt_config **use);
static ngx_http_core_srv_conf_t *ngx_http_zigtls_find_server(
    ngx_http_addr_conf_t *addr_conf, ngx_str_t *host);
static ngx_uint_t ngx_http_zigtls_name_match(ngx_http_core_srv_conf_t *cscf,
    ngx_str_t *host);
static ngx_connection_t *ngx_http_zigtls_connection(ngx_http_request_t *r);
#if (NGX_HTTP_V2)
static ngx_chain_t *ngx_http_zigtls_v2_send_chain(ngx_connection_t *c,
    ngx_chain_t *in, off_t limit);
static void ngx_http_zigtls_v2_stream_cleanup(void *data);
#endif

static ngx_int_t ngx_http_zigtls_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_zigtls_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_zigtls_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_zigtls_scheme_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_zigtls_https_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static ngx_int_t ngx_http_zigtls_add_variables(ngx_conf_t *cf);
static void *ngx_http_zigtls_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_zigtls_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_zigtls_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_zigtls_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_zigtls_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_zigtls_commands[] = {

    { ngx_string("zigtls"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_zigtls_set_enable,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, enable),
      NULL },

    { ngx_string("zigtls_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_zigtls_set_file,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, certificates),
      NULL },

    { ngx_string("zigtls_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_zigtls_set_file,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, certificate_keys),
      NULL },

    { ngx_string("zigtls_ciphers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_zigtls_set_list,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, ciphers),
      NULL },

    { ngx_string("zigtls_groups"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_zigtls_set_list,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, groups),
      (void *) 1 },

    { ngx_string("zigtls_alpn"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_1MORE,
      ngx_zigtls_set_alpn,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zigtls_require_sni"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, require_sni),
      NULL },

    { ngx_string("zigtls_server_names_strict"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, server_names_strict),
      NULL },

    { ngx_string("zigtls_handshake_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, handshake_timeout),
      NULL },

    { ngx_string("zigtls_max_handshake_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, max_handshake),
      &ngx_zigtls_max_handshake_post },

    { ngx_string("zigtls_certificate_compression"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_srv_conf_t, cert_compression),
      NULL },

    { ngx_string("zigtls_log_failures"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE12,
      ngx_zigtls_set_log_failures,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_zigtls_module_ctx = {
    ngx_http_zigtls_add_variables,         /* preconfiguration */
    ngx_http_zigtls_postconfiguration,     /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_http_zigtls_create_srv_conf,       /* create server configuration */
    ngx_http_zigtls_merge_srv_conf,        /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_zigtls_module = {
    NGX_MODULE_V1,
    &ngx_http_zigtls_module_ctx,           /* module context */
    ngx_http_zigtls_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_zigtls_init_module,           /* init module */
    ngx_http_zigtls_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_zigtls_exit_process,               /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_zigtls_vars[] = {

    { ngx_string("zigtls_protocol"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_PROTOCOL, NGX_HTTP_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_cipher"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_CIPHER, NGX_HTTP_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_group"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_GROUP, NGX_HTTP_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_sigalg"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_SIGALG, NGX_HTTP_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_server_name"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_SERVER_NAME, NGX_HTTP_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_alpn"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_ALPN, NGX_HTTP_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_session_reused"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_SESSION_REUSED, NGX_HTTP_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_handshake_time"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_HANDSHAKE_TIME, NGX_HTTP_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_ja4"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_JA4 + ZT_JA4, NGX_HTTP_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_ja4_r"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_JA4 + ZT_JA4_R, NGX_HTTP_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_ja4_o"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_JA4 + ZT_JA4_O, NGX_HTTP_VAR_CHANGEABLE, 0 },

    { ngx_string("zigtls_ja4_ro"), NULL, ngx_http_zigtls_variable,
      NGX_ZIGTLS_VAR_JA4 + ZT_JA4_RO, NGX_HTTP_VAR_CHANGEABLE, 0 },

      ngx_http_null_variable
};


#if (NGX_HTTP_V2)
static const char *const  ngx_http_zigtls_default_alpn[] = {
    "h2", "http/1.1"
};
#else
static const char *const  ngx_http_zigtls_default_alpn[] = {
    "http/1.1"
};
#endif


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static ngx_http_get_variable_pt  ngx_http_zigtls_orig_scheme;
static ngx_http_get_variable_pt  ngx_http_zigtls_orig_https;


/* accepting */


static void
ngx_http_zigtls_init_connection(ngx_connection_t *c)
{
    ngx_uint_t              i;
    ngx_http_port_t        *port;
    struct sockaddr_in     *sin;
    ngx_http_in_addr_t     *addr;
    ngx_zigtls_conn_t      *zc;
    ngx_http_addr_conf_t   *addr_conf;
    ngx_zigtls_srv_conf_t  *zscf;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6    *sin6;
    ngx_http_in6_addr_t    *addr6;
#endif

    /* the address lookup of ngx_http_init_connection() */

    port = c->listening->servers;

    if (port->naddrs > 1) {

        if (ngx_connection_local_sockaddr(c, NULL, 0) != NGX_OK) {
            ngx_http_close_connection(c);
            return;
        }

        switch (c->local_sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
        case AF_INET6:
            sin6 = (struct sockaddr_in6 *) c->local_sockaddr;

            addr6 = port->addrs;

            for (i = 0; i < port->naddrs - 1; i++) {
                if (ngx_memcmp(&addr6[i].addr6, &sin6->sin6_addr, 16) == 0) {
                    break;
                }
            }

            addr_conf = &addr6[i].conf;

            break;
#endif

        default: /* AF_INET */
            sin = (struct sockaddr_in *) c->local_sockaddr;

            addr = port->addrs;

            for (i = 0; i < port->naddrs - 1; i++) {
                if (addr[i].addr == sin->sin_addr.s_addr) {
                    break;
                }
            }

            addr_conf = &addr[i].conf;

            break;
        }

    } else {

        switch (c->local_sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
        case AF_INET6:
            addr6 = port->addrs;
            addr_conf = &addr6[0].conf;
            break;
#endif

        default: /* AF_INET */
            addr = port->addrs;
            addr_conf = &addr[0].conf;
            break;
        }
    }

    zscf = ngx_http_zigtls_srv_conf(addr_conf->default_server);

    if (!zscf->enable || zscf->zt == NULL) {
        ngx_http_init_connection(c);
        return;
    }

    c->log->connection = c->number;
    c->log->handler = ngx_zigtls_log_error;
    c->log->data = c;
    c->log_error = NGX_ERROR_INFO;

    zc = ngx_zigtls_create(c, zscf, ngx_http_zigtls_handshake_done,
                           addr_conf);
    if (zc == NULL) {
        ngx_http_close_connection(c);
        return;
    }

    if (addr_conf->proxy_protocol) {
        c->log->action = "reading PROXY protocol";
        c->read->handler = ngx_http_zigtls_proxy_protocol_handler;
        c->write->handler = ngx_http_empty_handler;

        ngx_add_timer(c->read, zscf->handshake_timeout);

        if (c->read->ready) {
            ngx_http_zigtls_proxy_protocol_handler(c->read);
            return;
        }

        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            ngx_http_close_connection(c);
        }

        return;
    }

    ngx_zigtls_start(c);
}


/* the PROXY protocol header comes in clear text before the ClientHello */

static void
ngx_http_zigtls_proxy_protocol_handler(ngx_event_t *rev)
{
    u_char            *p, buf[4096];
    ssize_t            n;
    ngx_err_t          err;
    ngx_connection_t  *c;

    c = rev->data;

    if (rev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "client timed out");
        ngx_http_close_connection(c);
        return;
    }

    if (c->close) {
        ngx_http_close_connection(c);
        return;
    }

    n = recv(c->fd, buf, sizeof(buf), MSG_PEEK);

    if (n == -1) {
        err = ngx_socket_errno;

        if (err == NGX_EAGAIN) {
            rev->ready = 0;

            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_close_connection(c);
            }

            return;
        }

        ngx_log_error(NGX_LOG_INFO, c->log, err, "recv() failed");
        ngx_http_close_connection(c);
        return;
    }

    if (n == 0) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "client closed connection before PROXY header");
        ngx_http_close_connection(c);
        return;
    }

    p = ngx_proxy_protocol_read(c, buf, buf + n);

    if (p == NULL) {
        ngx_http_close_connection(c);
        return;
    }

    n = recv(c->fd, buf, p - buf, 0);

    if (n != p - buf) {
        ngx_http_close_connection(c);
        return;
    }

    rev->ready = 1;

    if (rev->timer_set) {
        ngx_del_timer(rev);
    }

    ngx_zigtls_start(c);
}


static void
ngx_http_zigtls_handshake_done(ngx_connection_t *c, ngx_int_t rc)
{
    ngx_uint_t                 ready;
    const char                *alpn;
    ngx_zigtls_conn_t         *zc;
    ngx_http_connection_t     *hc;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_core_srv_conf_t  *cscf;

    if (rc != NGX_OK) {
        ngx_http_close_connection(c);
        return;
    }

    zc = ngx_zigtls_get(c);
    cscf = zc->selected;
    alpn = zt_conn_alpn(zc->zt);

    /* nginx must not run its handler from inside ngx_http_init_connection */

    ready = c->read->ready;
    c->read->ready = 0;
    c->log->action = NULL;

    ngx_http_init_connection(c);

    if (c->destroyed || c->fd == (ngx_socket_t) -1) {
        return;
    }

    hc = c->data;

    /* the PROXY header, if any, was read before the handshake */
    hc->proxy_protocol = 0;

    if (cscf) {
        hc->conf_ctx = cscf->ctx;

        clcf = ngx_http_get_module_loc_conf(hc->conf_ctx,
                                            ngx_http_core_module);
        ngx_set_connection_log(c, clcf->error_log);
    }

    c->read->ready = ready;

#if (NGX_HTTP_V2)
    if (alpn && ngx_strcmp(alpn, "h2") == 0) {
        zc->h2 = 1;

        /* HTTP/2 sets its idle timer only when none is set */
        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        c->send_chain = ngx_http_zigtls_v2_send_chain;
        c->read->handler = ngx_http_v2_init;
        ngx_http_v2_init(c->read);
        return;
    }
#else
    (void) alpn;
#endif

    if (c->read->ready) {
        c->read->handler(c->read);
    }
}


/* SNI: the server{} for the name, its zt_config for the rest */

static zt_err
ngx_http_zigtls_client_hello(void *arg, zt_conn *zt,
    const zt_client_hello *ch, const zt_config **use)
{
    u_char                     name[ZT_MAX_SNI_LEN + 1];
    size_t                     len, i;
    ngx_str_t                  host;
    ngx_zigtls_conn_t         *zc;
    ngx_http_addr_conf_t      *addr_conf;
    ngx_zigtls_srv_conf_t     *zscf;
    ngx_http_core_srv_conf_t  *cscf;

    zc = zt_conn_user(zt);

    if (zc == NULL) {
        return ZT_E_INTERNAL;
    }

    addr_conf = zc->data;

    if (ch->sni == NULL || ch->sni_len == 0) {

        if (zc->conf->require_sni) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, zc->c->log, 0,
                           "zigtls: no SNI, refused");
            return ZT_E_POLICY_SNI;
        }

        return ZT_OK;
    }

    len = ngx_min(ch->sni_len, ZT_MAX_SNI_LEN);

    for (i = 0; i < len; i++) {
        name[i] = ngx_tolower((u_char) ch->sni[i]);
    }

    if (len && name[len - 1] == '.') {
        len--;
    }

    name[len] = '\0';

    host.data = name;
    host.len = len;

    cscf = ngx_http_zigtls_find_server(addr_conf, &host);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, zc->c->log, 0,
                   "zigtls SNI \"%V\": server %p", &host, cscf);

    if (cscf == NULL) {
        if (zc->conf->server_names_strict) {
            return ZT_E_POLICY_SNI;
        }

        return ZT_OK;
    }

    zc->selected = cscf;

    zscf = ngx_http_zigtls_srv_conf(cscf);

    if (zscf->zt && zscf->zt != zc->conf->zt) {
        *use = zscf->zt;
    }

    return ZT_OK;
}


static ngx_http_core_srv_conf_t *
ngx_http_zigtls_find_server(ngx_http_addr_conf_t *addr_conf, ngx_str_t *host)
{
    ngx_http_core_srv_conf_t  *cscf;
    ngx_http_virtual_names_t  *vn;
#if (NGX_PCRE)
    ngx_int_t                  n;
    ngx_uint_t                 i;
    ngx_http_server_name_t    *sn;
#endif

    vn = addr_conf->virtual_names;

    if (vn == NULL) {
        /* one server, no names hash: compare with its names */
        cscf = addr_conf->default_server;

        return ngx_http_zigtls_name_match(cscf, host) ? cscf : NULL;
    }

    cscf = ngx_hash_find_combined(&vn->names,
                                  ngx_hash_key(host->data, host->len),
                                  host->data, host->len);
    if (cscf) {
        return cscf;
    }

#if (NGX_PCRE)

    sn = vn->regex;

    for (i = 0; i < vn->nregex; i++) {

        n = ngx_regex_exec(sn[i].regex->regex, host, NULL, 0);

        if (n == NGX_REGEX_NO_MATCHED) {
            continue;
        }

        if (n >= 0) {
            return sn[i].server;
        }

        return NULL;
    }

#endif

    return NULL;
}


static ngx_uint_t
ngx_http_zigtls_name_match(ngx_http_core_srv_conf_t *cscf, ngx_str_t *host)
{
    u_char                  *name;
    size_t                   len;
    ngx_uint_t               i;
    ngx_zigtls_srv_conf_t   *zscf;
    ngx_http_server_name_t  *sn;

    zscf = ngx_http_zigtls_srv_conf(cscf);

    if (zscf->server_names == NULL) {
        return 0;
    }

    sn = zscf->server_names->elts;

    for (i = 0; i < zscf->server_names->nelts; i++) {

#if (NGX_PCRE)
        if (sn[i].regex) {
            if (ngx_regex_exec(sn[i].regex->regex, host, NULL, 0) >= 0) {
                return 1;
            }

            continue;
        }
#endif

        name = sn[i].name.data;
        len = sn[i].name.len;

        if (len == host->len
            && ngx_strncasecmp(name, host->data, len) == 0)
        {
            return 1;
        }

        if (len > 2 && name[0] == '*' && name[1] == '.'
            && host->len > len - 1
            && ngx_strncasecmp(name + 1, host->data + host->len - (len - 1),
                               len - 1) == 0)
        {
            return 1;
        }

        if (len > 1 && name[0] == '.'
            && ((host->len == len - 1
                 && ngx_strncasecmp(name + 1, host->data, len - 1) == 0)
                || (host->len > len
                    && ngx_strncasecmp(name, host->data + host->len - len,
                                       len) == 0)))
        {
            return 1;
        }

        if (len > 2 && name[len - 1] == '*' && name[len - 2] == '.'
            && host->len > len - 1
            && ngx_strncasecmp(name, host->data, len - 1) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* HTTP/2 streams run on copies of the connection: find the real one */

static ngx_connection_t *
ngx_http_zigtls_connection(ngx_http_request_t *r)
{
#if (NGX_HTTP_V2)
    if (r->stream) {
        return r->stream->connection->connection;
    }
#endif

    return r->connection;
}


#if (NGX_HTTP_V2)

/*
 * HTTP/2 in nginx 1.22 ends an idle connection with GOAWAY and a lingering
 * close, which shuts the socket down for writing before it is closed:
 * send close_notify once a GOAWAY is on the wire and no stream is left.
 */

static ngx_chain_t *
ngx_http_zigtls_v2_send_chain(ngx_connection_t *c, ngx_chain_t *in,
    off_t limit)
{
    u_char                    *p;
    ngx_buf_t                 *b;
    ngx_chain_t               *cl;
    ngx_zigtls_conn_t         *zc;
    ngx_http_v2_connection_t  *h2c;

    zc = ngx_zigtls_get(c);

    if (zc == NULL) {
        return ngx_zigtls_send_chain(c, in, limit);
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (!ngx_buf_in_memory(b) || b->last - b->pos != 9 + 8) {
            continue;
        }

        p = b->pos;

        /* length 8, type GOAWAY (0x7), no flags, stream 0 */
        if (p[0] == 0 && p[1] == 0 && p[2] == 8 && p[3] == 0x07
            && p[4] == 0 && p[5] == 0 && p[6] == 0 && p[7] == 0 && p[8] == 0)
        {
            zc->goaway = 1;
        }
    }

    in = ngx_zigtls_send_chain(c, in, limit);

    if (in != NULL || (c->buffered & NGX_ZIGTLS_BUFFERED)) {
        return in;
    }

    h2c = c->data;

    if (h2c == NULL || h2c->processing || ngx_http_zigtls_v2_pushing(h2c)) {
        return in;
    }

    if (zc->goaway) {
        zc->goaway = 0;
        (void) ngx_zigtls_shutdown(c);
        return in;
    }

    /* no stream left and everything sent: the record buffers can go */

    ngx_zigtls_release(c, zc, 0, "HTTP/2 idle");

    return in;
}


/*
 * When the last stream closes with nothing left to send: after a GOAWAY
 * sent while streams still ran (keepalive_requests) nginx goes on to a
 * lingering close, so close_notify goes first; otherwise the connection
 * is idle and gives its record buffers back.
 */

static void
ngx_http_zigtls_v2_stream_cleanup(void *data)
{
    ngx_http_v2_connection_t  *h2c = data;

    ngx_connection_t   *c;
    ngx_zigtls_conn_t  *zc;

    c = h2c->connection;
    zc = ngx_zigtls_get(c);

    if (zc == NULL || c->error) {
        return;
    }

    if (h2c->processing > 1 || ngx_http_zigtls_v2_pushing(h2c)
        || h2c->last_out || c->buffered)
    {
        return;
    }

    if (zc->goaway) {
        zc->goaway = 0;
        (void) ngx_zigtls_shutdown(c);
        return;
    }

    /* the last stream is done and everything sent: idle from here */

    ngx_zigtls_release(c, zc, 0, "HTTP/2 idle");
}

#endif


/* filters */


static ngx_int_t
ngx_http_zigtls_header_filter(ngx_http_request_t *r)
{
    u_char                    *p;
    size_t                     len;
    ngx_str_t                  host, old;
    ngx_uint_t                 port;
    ngx_pool_cleanup_t        *cln;
    ngx_connection_t          *c;
    ngx_table_elt_t           *location;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_core_srv_conf_t  *cscf;

    c = ngx_http_zigtls_connection(r);

    if (!ngx_zigtls_ours(c)) {
        return ngx_http_next_header_filter(r);
    }

    /* never sendfile() plaintext on a TLS connection */
    r->main_filter_need_in_memory = 1;
    r->main->main_filter_need_in_memory = 1;
    r->connection->sendfile = 0;

#if (NGX_HTTP_V2)
    if (r->stream && r == r->main) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_zigtls_v2_stream_cleanup;
        cln->data = r->stream->connection;
    }
#endif

    location = r->headers_out.location;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (location == NULL || location->hash == 0
        || location->value.len == 0 || location->value.data[0] != '/'
        || !clcf->absolute_redirect)
    {
        return ngx_http_next_header_filter(r);
    }

    /* what ngx_http_header_filter() would do, with "https://" */

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    if (clcf->server_name_in_redirect) {
        host = cscf->server_name;

    } else if (r->headers_in.server.len) {
        host = r->headers_in.server;

    } else {
        host.len = NGX_SOCKADDR_STRLEN;
        host.data = ngx_pnalloc(r->pool, host.len);
        if (host.data == NULL) {
            return NGX_ERROR;
        }

        if (ngx_connection_local_sockaddr(c, &host, 0) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    port = 443;

    if (clcf->port_in_redirect
        && ngx_connection_local_sockaddr(c, NULL, 0) == NGX_OK)
    {
        port = ngx_inet_get_port(c->local_sockaddr);
    }

    len = sizeof("https://") - 1 + host.len + sizeof(":65535") - 1
          + location->value.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    old = location->value;

    location->value.data = p;
    p = ngx_cpymem(p, "https://", sizeof("https://") - 1);
    p = ngx_cpymem(p, host.data, host.len);

    if (port != 443 && port != 0) {
        p = ngx_sprintf(p, ":%ui", port);
    }

    p = ngx_cpymem(p, old.data, old.len);
    location->value.len = p - location->value.data;

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_zigtls_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_int_t           rc;
    ngx_chain_t        *cl;
    ngx_connection_t   *c;
    ngx_zigtls_conn_t  *zc;

    c = r->connection;

    if (r != r->main || !ngx_zigtls_ours(c)) {
        return ngx_http_next_body_filter(r, in);
    }

    zc = ngx_zigtls_get(c);

    if (zc == NULL || zc->h2) {
        return ngx_http_next_body_filter(r, in);
    }

    /*
     * A connection that will not be kept alive may end in a lingering
     * close, which shuts the socket down for writing before nginx closes
     * it: send close_notify right after the last byte of the response.
     */

    for (cl = in; cl; cl = cl->next) {
        if (cl->buf->last_buf) {
            zc->last_seen = 1;

            if (!r->keepalive) {
                zc->close_after_last = 1;
            }
        }
    }

    rc = ngx_http_next_body_filter(r, in);

    if (!zc->last_seen || rc != NGX_OK || r->out || c->buffered) {
        return rc;
    }

    zc->last_seen = 0;

    if (zc->close_after_last && !r->keepalive) {
        zc->close_after_last = 0;
        (void) ngx_zigtls_shutdown(c);
        return rc;
    }

    /*
     * The response is out and the connection goes on to keep-alive: give
     * the record buffers and cipher contexts back now (the core refuses
     * while it still holds bytes, e.g. a pipelined request).
     */

    ngx_zigtls_release(c, zc, 1, "response done");

    return rc;
}


/* variables */


static ngx_int_t
ngx_http_zigtls_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_int_t  rc;
    ngx_str_t  s;

    rc = ngx_zigtls_variable_value(r->pool, ngx_http_zigtls_connection(r),
                                   &s, data);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s.len;
    v->data = s.data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_zigtls_scheme_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    if (!ngx_zigtls_ours(ngx_http_zigtls_connection(r))) {
        return ngx_http_zigtls_orig_scheme(r, v, data);
    }

    v->len = sizeof("https") - 1;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = (u_char *) "https";

    return NGX_OK;
}


static ngx_int_t
ngx_http_zigtls_https_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    if (!ngx_zigtls_ours(ngx_http_zigtls_connection(r))) {
        return ngx_http_zigtls_orig_https(r, v, data);
    }

    v->len = sizeof("on") - 1;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = (u_char *) "on";

    return NGX_OK;
}


static ngx_int_t
ngx_http_zigtls_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_zigtls_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* configuration */


static void *
ngx_http_zigtls_create_srv_conf(ngx_conf_t *cf)
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
ngx_http_zigtls_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_zigtls_srv_conf_t *prev = parent;
    ngx_zigtls_srv_conf_t *conf = child;

    if (ngx_zigtls_merge_srv_conf(cf, conf, prev) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (ngx_zigtls_build_config(cf, conf, ngx_http_zigtls_default_alpn,
                                sizeof(ngx_http_zigtls_default_alpn)
                                / sizeof(ngx_http_zigtls_default_alpn[0]),
                                ngx_http_zigtls_client_hello)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_zigtls_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                  p, a, s, i, forms;
    ngx_hash_key_t             *key;
    ngx_http_variable_t        *v;
    ngx_http_conf_port_t       *port;
    ngx_http_conf_addr_t       *addr;
    ngx_zigtls_srv_conf_t      *zscf, *on;
    ngx_http_core_srv_conf_t  **servers, **cscfp, *off;
    ngx_http_server_name_t     *sn, *name;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /* one address:port is all zigtls or not at all; no "ssl" on it */

    port = cmcf->ports ? cmcf->ports->elts : NULL;

    for (p = 0; port && p < cmcf->ports->nelts; p++) {

        addr = port[p].addrs.elts;

        for (a = 0; a < port[p].addrs.nelts; a++) {

            on = NULL;
            off = NULL;
            servers = addr[a].servers.elts;

            for (s = 0; s < addr[a].servers.nelts; s++) {
                zscf = ngx_http_zigtls_srv_conf(servers[s]);
                if (zscf->enable) {
                    on = zscf;

                } else {
                    off = servers[s];
                }
            }

            if (on == NULL) {
                continue;
            }

            if (off) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "\"zigtls on\" in %s:%ui and a server "
                              "without it (\"%V\") listen on the same "
                              "address %V",
                              on->file, on->line, &off->server_name,
                              &addr[a].opt.addr_text);
                return NGX_ERROR;
            }

            if (addr[a].opt.ssl) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "the \"ssl\" parameter of \"listen %V\" "
                              "conflicts with \"zigtls on\" in %s:%ui",
                              &addr[a].opt.addr_text, on->file, on->line);
                return NGX_ERROR;
            }

            if (addr[a].opt.http2) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "the \"http2\" parameter of \"listen %V\" "
                              "cannot be used with \"zigtls on\" in %s:%ui; "
                              "HTTP/2 is chosen by ALPN",
                              &addr[a].opt.addr_text, on->file, on->line);
                return NGX_ERROR;
            }
        }
    }

    /*
     * JA4 fingerprints are kept only when the configuration names them
     * (log_format, map, limit_req_zone, ...: every such use is indexed)
     */

    forms = 0;
    v = cmcf->variables.elts;

    for (i = 0; i < cmcf->variables.nelts; i++) {
        forms |= ngx_zigtls_ja4_form(&v[i].name);
    }

    /*
     * cscf->server_names lives in the configuration's temporary pool: keep
     * a copy of each zigtls server's names for SNI checks at run time
     */

    cscfp = cmcf->servers.elts;

    for (s = 0; s < cmcf->servers.nelts; s++) {
        zscf = ngx_http_zigtls_srv_conf(cscfp[s]);

        if (!zscf->enable) {
            continue;
        }

        zscf->ja4_forms = forms;

        zscf->server_names = ngx_array_create(cf->pool,
                                  ngx_max(cscfp[s]->server_names.nelts, 1),
                                  sizeof(ngx_http_server_name_t));
        if (zscf->server_names == NULL) {
            return NGX_ERROR;
        }

        sn = cscfp[s]->server_names.elts;

        for (i = 0; i < cscfp[s]->server_names.nelts; i++) {
            name = ngx_array_push(zscf->server_names);
            if (name == NULL) {
                return NGX_ERROR;
            }

            *name = sn[i];
            name->name.data = ngx_pstrdup(cf->pool, &sn[i].name);
            if (name->name.data == NULL) {
                return NGX_ERROR;
            }
        }
    }

    /* $scheme and $https say "https" on zigtls connections */

    key = cmcf->variables_keys->keys.elts;

    for (i = 0; i < cmcf->variables_keys->keys.nelts; i++) {
        v = key[i].value;

        if (key[i].key.len == 6
            && ngx_strncmp(key[i].key.data, "scheme", 6) == 0
            && v->get_handler != ngx_http_zigtls_scheme_variable)
        {
            ngx_http_zigtls_orig_scheme = v->get_handler;
            v->get_handler = ngx_http_zigtls_scheme_variable;

        } else if (key[i].key.len == 5
                   && ngx_strncmp(key[i].key.data, "https", 5) == 0
                   && v->get_handler != ngx_http_zigtls_https_variable)
        {
            ngx_http_zigtls_orig_https = v->get_handler;
            v->get_handler = ngx_http_zigtls_https_variable;
        }
    }

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_zigtls_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_zigtls_body_filter;

    return NGX_OK;
}


/* in the master, after the listening sockets are open: take them over */

static ngx_int_t
ngx_http_zigtls_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t              i, a, on;
    ngx_listening_t        *ls;
    ngx_http_port_t        *port;
    ngx_http_in_addr_t     *addr;
    ngx_zigtls_srv_conf_t  *zscf;
    ngx_http_addr_conf_t   *addr_conf;
#if (NGX_HAVE_INET6)
    ngx_http_in6_addr_t    *addr6;
#endif

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {

        if (ls[i].handler != ngx_http_init_connection
            || ls[i].type != SOCK_STREAM
            || ls[i].servers == NULL)
        {
            continue;
        }

        port = ls[i].servers;
        on = 0;

        for (a = 0; a < port->naddrs; a++) {

            switch (ls[i].sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
            case AF_INET6:
                addr6 = port->addrs;
                addr_conf = &addr6[a].conf;
                break;
#endif

            default:
                addr = port->addrs;
                addr_conf = &addr[a].conf;
                break;
            }

            zscf = ngx_http_zigtls_srv_conf(addr_conf->default_server);

            if (zscf->enable) {
                on = 1;
            }
        }

        if (on) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                           "zigtls: taking over listen %V",
                           &ls[i].addr_text);

            ls[i].handler = ngx_http_zigtls_init_connection;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_zigtls_init_process(ngx_cycle_t *cycle)
{
    return ngx_zigtls_init_process(cycle);
}
