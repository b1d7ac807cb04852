
/*
 * zigtls for nginx: the binding of the sans-I/O TLS 1.3 core to nginx
 * connections, shared by the http and the stream modules.
 *
 * A connection goes through three stages here:
 *
 *   ngx_zigtls_create()   a zt_conn is attached to the connection through a
 *                         per-worker array indexed like ngx_cycle->connections
 *   handshake             driven by c->read / c->write events with the raw
 *                         socket functions (ngx_zigtls_handshake_handler)
 *   ngx_zigtls_install()  c->recv, c->send, c->recv_chain and c->send_chain
 *                         are replaced by the record layer below
 *
 * close_notify: nginx has no per-connection hook before it closes a socket;
 * every ngx_close_connection() passes through ngx_event_actions.del_conn
 * while the socket is still open, so that is wrapped (see
 * ngx_zigtls_del_conn).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_zigtls_module.h"
#include "ngx_zigtls_ops.h"

#include <time.h>


/* what a connection's pool cleanup knows: the slot, and whose it was */
typedef struct {
    ngx_zigtls_conn_t         *zc;
    ngx_atomic_uint_t          number;
} ngx_zigtls_cleanup_t;


static ngx_int_t ngx_zigtls_handshake(ngx_connection_t *c,
    ngx_zigtls_conn_t *zc);
static void ngx_zigtls_finish(ngx_connection_t *c, ngx_zigtls_conn_t *zc,
    ngx_int_t rc);
static void ngx_zigtls_fail(ngx_connection_t *c, ngx_zigtls_conn_t *zc,
    const char *what);
static ngx_int_t ngx_zigtls_flush(ngx_connection_t *c, ngx_zigtls_conn_t *zc);
static void ngx_zigtls_final(ngx_zigtls_conn_t *zc, ngx_uint_t notify);
static void ngx_zigtls_quickack(ngx_connection_t *c);
static void ngx_zigtls_burst(ngx_zigtls_conn_t *zc);
static void ngx_zigtls_idle_timer(ngx_event_t *ev);
static void ngx_zigtls_idle(ngx_connection_t *c, ngx_zigtls_conn_t *zc);
static void ngx_zigtls_cleanup(void *data);
static ngx_int_t ngx_zigtls_del_conn(ngx_connection_t *c, ngx_uint_t flags);
static uint64_t ngx_zigtls_clock(void *arg);
static ngx_int_t ngx_zigtls_check_file(ngx_conf_t *cf, ngx_zigtls_file_t *f,
    const char *what);


static ngx_zigtls_conn_t   *ngx_zigtls_conns;   /* [connection_n] */
static ngx_queue_t          ngx_zigtls_idle_q;
static ngx_event_t          ngx_zigtls_idle_ev;
static ngx_connection_t     ngx_zigtls_idle_dumb;  /* ev->data for the debug
                                                      log's ngx_event_ident */
static ngx_uint_t           ngx_zigtls_nconns;
static ngx_int_t          (*ngx_zigtls_orig_del_conn)(ngx_connection_t *c,
                               ngx_uint_t flags);


/* configuration */


char *
ngx_zigtls_set_enable(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_zigtls_srv_conf_t  *zscf = conf;

    char  *rv;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    zscf->file = ngx_pnalloc(cf->pool, cf->conf_file->file.name.len + 1);
    if (zscf->file == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn(zscf->file, cf->conf_file->file.name.data,
                       cf->conf_file->file.name.len + 1);
    zscf->line = cf->conf_file->line;

    return NGX_CONF_OK;
}


char *
ngx_zigtls_set_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t           *value;
    ngx_array_t        **a;
    ngx_zigtls_file_t   *f;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a == NGX_CONF_UNSET_PTR) {
        *a = ngx_array_create(cf->pool, 4, sizeof(ngx_zigtls_file_t));
        if (*a == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if ((*a)->nelts == ZT_MAX_CREDENTIALS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many \"%V\" directives, at most %d",
                           &cmd->name, ZT_MAX_CREDENTIALS);
        return NGX_CONF_ERROR;
    }

    f = ngx_array_push(*a);
    if (f == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;
    f->name = value[1];

    if (ngx_conf_full_name(cf->cycle, &f->name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    f->file = ngx_pnalloc(cf->pool, cf->conf_file->file.name.len + 1);
    if (f->file == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn(f->file, cf->conf_file->file.name.data,
                       cf->conf_file->file.name.len + 1);
    f->line = cf->conf_file->line;

    return NGX_CONF_OK;
}


/* zigtls_ciphers and zigtls_groups: the names are checked by the core now,
 * so that a typo fails "nginx -t" with this file and line */

char *
ngx_zigtls_set_list(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    char         why[128];
    u_char      *list;
    zt_err       err;
    ngx_str_t   *value, *field;
    zt_config   *zt;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    list = ngx_pnalloc(cf->pool, value[1].len + 1);
    if (list == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn(list, value[1].data, value[1].len + 1);

    zt = zt_config_new();
    if (zt == NULL) {
        return NGX_CONF_ERROR;
    }

    why[0] = '\0';

    if (cmd->post == (void *) 1) {
        err = zt_config_set_groups_str(zt, (const char *) list, why,
                                       sizeof(why));

    } else {
        err = zt_config_set_cipher_suites_str(zt, (const char *) list, why,
                                              sizeof(why));
    }

    zt_config_free(zt);

    if (err != ZT_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in \"%V\"",
                           why[0] ? why : zt_err_str(err), &cmd->name);
        return NGX_CONF_ERROR;
    }

    field->data = list;
    field->len = value[1].len;

    return NGX_CONF_OK;
}


char *
ngx_zigtls_set_alpn(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_zigtls_srv_conf_t  *zscf = conf;

    ngx_str_t   *value, *s;
    ngx_uint_t   i;

    if (zscf->alpn != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    if (cf->args->nelts - 1 > ZT_MAX_ALPN_PROTOS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many protocols in \"%V\", at most %d",
                           &cmd->name, ZT_MAX_ALPN_PROTOS);
        return NGX_CONF_ERROR;
    }

    zscf->alpn = ngx_array_create(cf->pool, cf->args->nelts,
                                  sizeof(ngx_str_t));
    if (zscf->alpn == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (value[i].len == 0 || value[i].len > 255) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid protocol name \"%V\" in \"%V\"",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        s = ngx_array_push(zscf->alpn);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
}


/* zigtls_log_failures off | LEVEL [rate=N/s] */

char *
ngx_zigtls_set_log_failures(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_zigtls_srv_conf_t  *zscf = conf;

    static ngx_str_t  levels[] = {
        ngx_null_string, ngx_string("emerg"), ngx_string("alert"),
        ngx_string("crit"), ngx_string("error"), ngx_string("warn"),
        ngx_string("notice"), ngx_string("info"), ngx_string("debug")
    };

    ngx_int_t    n;
    ngx_str_t   *value, s;
    ngx_uint_t   i;

    if (zscf->log_failures != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts > 2) {
            return "takes no rate with \"off\"";
        }

        zscf->log_failures = 0;
        return NGX_CONF_OK;
    }

    for (i = 1; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (value[1].len == levels[i].len
            && ngx_strcmp(value[1].data, levels[i].data) == 0)
        {
            break;
        }
    }

    if (i == sizeof(levels) / sizeof(levels[0])) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid level \"%V\" in \"%V\", expected off, "
                           "emerg, alert, crit, error, warn, notice, info "
                           "or debug", &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    zscf->log_failures = i;

    if (cf->args->nelts == 3) {
        s = value[2];

        if (s.len < 8 || ngx_strncmp(s.data, "rate=", 5) != 0
            || ngx_strncmp(s.data + s.len - 2, "/s", 2) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"%V\", "
                               "expected rate=N/s", &s, &cmd->name);
            return NGX_CONF_ERROR;
        }

        n = ngx_atoi(s.data + 5, s.len - 7);

        if (n < 1 || n > 1000000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid rate \"%V\" in \"%V\", "
                               "1 to 1000000 lines a second", &s, &cmd->name);
            return NGX_CONF_ERROR;
        }

        zscf->log_failures_rate = (ngx_uint_t) n;
    }

    return NGX_CONF_OK;
}


/*
 * A flood of bad handshakes must not fill the disk: each worker writes at
 * most log_failures_rate lines a second, counts the rest, and says how
 * many it left out with the next line it writes.
 */

ngx_uint_t
ngx_zigtls_failure_level(ngx_zigtls_conn_t *zc)
{
    static time_t      second;
    static ngx_uint_t  written, dropped;

    ngx_uint_t  level;

    level = zc->conf->log_failures;

    if (level == 0 || level == NGX_CONF_UNSET_UINT) {
        return 0;
    }

    if (second != ngx_time()) {
        second = ngx_time();
        written = 0;

        if (dropped) {
            ngx_log_error(level, zc->c->log, 0,
                          "zigtls: %ui failed-handshake line%s not written "
                          "(over zigtls_log_failures rate=%ui/s)",
                          dropped, dropped == 1 ? "" : "s",
                          zc->conf->log_failures_rate);
            dropped = 0;
        }
    }

    if (written >= zc->conf->log_failures_rate) {
        dropped++;
        return 0;
    }

    written++;

    return level;
}


void
ngx_zigtls_init_srv_conf(ngx_zigtls_srv_conf_t *conf)
{
    /*
     * set by ngx_pcalloc():
     *
     *     conf->ciphers = { 0, NULL };
     *     conf->groups = { 0, NULL };
     *     conf->zt = NULL;
     *     conf->file = NULL;
     *     conf->line = 0;
     */

    conf->enable = NGX_CONF_UNSET;
    conf->certificates = NGX_CONF_UNSET_PTR;
    conf->certificate_keys = NGX_CONF_UNSET_PTR;
    conf->alpn = NGX_CONF_UNSET_PTR;
    conf->require_sni = NGX_CONF_UNSET;
    conf->server_names_strict = NGX_CONF_UNSET;
    conf->handshake_timeout = NGX_CONF_UNSET_MSEC;
    conf->log_failures = NGX_CONF_UNSET_UINT;
    conf->log_failures_rate = NGX_CONF_UNSET_UINT;
    conf->max_handshake = NGX_CONF_UNSET_SIZE;
    conf->cert_compression = NGX_CONF_UNSET;
}


/* zigtls_max_handshake_size: what the core accepts (256 .. 2^24 - 1) */
static char *
ngx_zigtls_check_max_handshake(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp < 256 || *sp > ZT_MAX_HANDSHAKE_BODY) {
        return "must be between 256 and 16777215 bytes";
    }

    return NGX_CONF_OK;
}


ngx_conf_post_t  ngx_zigtls_max_handshake_post = {
    ngx_zigtls_check_max_handshake
};


char *
ngx_zigtls_merge_srv_conf(ngx_conf_t *cf, ngx_zigtls_srv_conf_t *conf,
    ngx_zigtls_srv_conf_t *prev)
{
    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    if (conf->file == NULL) {
        conf->file = prev->file;
        conf->line = prev->line;
    }

    ngx_conf_merge_ptr_value(conf->certificates, prev->certificates, NULL);
    ngx_conf_merge_ptr_value(conf->certificate_keys, prev->certificate_keys,
                             NULL);
    ngx_conf_merge_str_value(conf->ciphers, prev->ciphers, "");
    ngx_conf_merge_str_value(conf->groups, prev->groups, "");
    ngx_conf_merge_ptr_value(conf->alpn, prev->alpn, NULL);
    ngx_conf_merge_value(conf->require_sni, prev->require_sni, 0);
    ngx_conf_merge_value(conf->server_names_strict,
                         prev->server_names_strict, 0);
    if (conf->log_failures == NGX_CONF_UNSET_UINT) {
        conf->log_failures = prev->log_failures;
        conf->log_failures_rate = prev->log_failures_rate;
    }

    ngx_conf_merge_uint_value(conf->log_failures, prev->log_failures,
                              NGX_LOG_INFO);
    ngx_conf_merge_uint_value(conf->log_failures_rate,
                              prev->log_failures_rate,
                              NGX_ZIGTLS_LOG_FAILURES_RATE);

    ngx_conf_merge_msec_value(conf->handshake_timeout,
                              prev->handshake_timeout,
                              NGX_ZIGTLS_DEFAULT_TIMEOUT);
    ngx_conf_merge_value(conf->cert_compression, prev->cert_compression, 0);
    ngx_conf_merge_size_value(conf->max_handshake, prev->max_handshake,
                              ZT_DEFAULT_MAX_HANDSHAKE);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_zigtls_check_file(ngx_conf_t *cf, ngx_zigtls_file_t *f, const char *what)
{
    ngx_fd_t         fd;
    ngx_int_t        rc;
    ngx_file_info_t  fi;

    /* without blocking: an open() of a FIFO would wait for a writer */

    fd = ngx_open_file(f->name.data, NGX_FILE_RDONLY|NGX_FILE_NONBLOCK,
                       NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "cannot read zigtls %s \"%V\" in %s:%ui",
                      what, &f->name, f->file, f->line);
        return NGX_ERROR;
    }

    rc = NGX_OK;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "cannot stat zigtls %s \"%V\" in %s:%ui",
                      what, &f->name, f->file, f->line);
        rc = NGX_ERROR;

    } else if (!ngx_is_file(&fi)) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "zigtls %s \"%V\" is not a regular file in %s:%ui",
                      what, &f->name, f->file, f->line);
        rc = NGX_ERROR;
    }

    (void) ngx_close_file(fd);

    return rc;
}


static void
ngx_zigtls_config_cleanup(void *data)
{
    zt_config  *zt = data;

    zt_config_free(zt);
}


ngx_int_t
ngx_zigtls_build_config(ngx_conf_t *cf, ngx_zigtls_srv_conf_t *conf,
    const char *const *default_alpn, ngx_uint_t n_default_alpn,
    zt_client_hello_fn ch_cb)
{
    char                errbuf[256];
    u_char             *list;
    size_t              n;
    int64_t             not_after;
    zt_err              err;
    ngx_str_t          *alpn;
    ngx_uint_t          i;
    zt_config          *zt;
    const char         *protos[ZT_MAX_ALPN_PROTOS];
    ngx_pool_cleanup_t *cln;
    ngx_zigtls_file_t  *certs, *keys;

    if (conf->certificates == NULL || conf->certificates->nelts == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "no \"zigtls_certificate\" is defined for the server "
                      "with \"zigtls on\" in %s:%ui",
                      conf->file ? conf->file : (u_char *) "?", conf->line);
        return NGX_ERROR;
    }

    certs = conf->certificates->elts;

    if (conf->certificate_keys == NULL
        || conf->certificate_keys->nelts < conf->certificates->nelts)
    {
        i = conf->certificate_keys ? conf->certificate_keys->nelts : 0;

        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "no \"zigtls_certificate_key\" is defined for "
                      "certificate \"%V\" in %s:%ui",
                      &certs[i].name, certs[i].file, certs[i].line);
        return NGX_ERROR;
    }

    keys = conf->certificate_keys->elts;

    if (conf->certificate_keys->nelts > conf->certificates->nelts) {
        i = conf->certificates->nelts;

        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "no \"zigtls_certificate\" is defined for "
                      "key \"%V\" in %s:%ui",
                      &keys[i].name, keys[i].file, keys[i].line);
        return NGX_ERROR;
    }

    zt = zt_config_new();
    if (zt == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        zt_config_free(zt);
        return NGX_ERROR;
    }

    cln->handler = ngx_zigtls_config_cleanup;
    cln->data = zt;

    conf->zt = zt;
    conf->ch_cb = ch_cb;
    conf->default_alpn = default_alpn;
    conf->n_default_alpn = n_default_alpn;

    if (ngx_zigtls_prepare_config(zt, conf, (u_char *) errbuf,
                                  sizeof(errbuf))
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "%s for the server with "
                      "\"zigtls on\" in %s:%ui", errbuf,
                      conf->file ? conf->file : (u_char *) "?", conf->line);
        return NGX_ERROR;
    }

    for (i = 0; i < conf->certificates->nelts; i++) {

        if (ngx_zigtls_check_file(cf, &certs[i], "certificate") != NGX_OK
            || ngx_zigtls_check_file(cf, &keys[i], "certificate key")
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        errbuf[0] = '\0';

        err = zt_config_add_credential_file(zt, (char *) certs[i].name.data,
                                            (char *) keys[i].name.data,
                                            errbuf, sizeof(errbuf));
        if (err != ZT_OK) {
            errbuf[sizeof(errbuf) - 1] = '\0';

            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "cannot load zigtls certificate \"%V\" with key "
                          "\"%V\": %s in %s:%ui",
                          &certs[i].name, &keys[i].name,
                          errbuf[0] ? errbuf : zt_err_str(err),
                          certs[i].file, certs[i].line);
            return NGX_ERROR;
        }

        n = zt_config_credential_count(zt);
        not_after = n ? zt_config_credential_not_after(zt, n - 1) : 0;

        if (not_after != 0 && not_after < (int64_t) ngx_time()) {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "zigtls certificate \"%V\" has expired "
                          "in %s:%ui",
                          &certs[i].name, certs[i].file, certs[i].line);
        }
    }

    if (conf->ciphers.len) {
        list = conf->ciphers.data;   /* NUL-terminated by the handler */

        if (zt_config_set_cipher_suites_str(zt, (const char *) list, NULL, 0)
            != ZT_OK)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "invalid zigtls_ciphers \"%V\"", &conf->ciphers);
            return NGX_ERROR;
        }
    }

    if (conf->groups.len) {
        list = conf->groups.data;

        if (zt_config_set_groups_str(zt, (const char *) list, NULL, 0)
            != ZT_OK)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "invalid zigtls_groups \"%V\"", &conf->groups);
            return NGX_ERROR;
        }
    }

    if (conf->alpn) {
        alpn = conf->alpn->elts;

        for (i = 0; i < conf->alpn->nelts; i++) {
            protos[i] = (const char *) alpn[i].data;  /* NUL-terminated */
        }

        err = zt_config_set_alpn(zt, protos, conf->alpn->nelts);

    } else if (n_default_alpn) {
        err = zt_config_set_alpn(zt, default_alpn, n_default_alpn);

    } else {
        err = ZT_OK;
    }

    if (err != ZT_OK) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "invalid zigtls_alpn: %s", zt_err_str(err));
        return NGX_ERROR;
    }

    if (zt_config_set_max_handshake_len(zt, conf->max_handshake) != ZT_OK) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "invalid zigtls_max_handshake_size %uz",
                      conf->max_handshake);
        return NGX_ERROR;
    }

    zt_config_set_clock(zt, ngx_zigtls_clock, NULL);

    if (ch_cb) {
        zt_config_set_client_hello_cb(zt, ch_cb, NULL);
    }

    return NGX_OK;
}


ngx_int_t
ngx_zigtls_prepare_config(zt_config *zt, ngx_zigtls_srv_conf_t *conf,
    u_char *err, size_t len)
{
    /* RFC 8879: brotli (what browsers offer) first, then zlib; each
     * certificate is compressed once as it is added, never per handshake */
    static const uint16_t  algs[] = { ZT_CERT_COMP_BROTLI, ZT_CERT_COMP_ZLIB };

    if (conf->cert_compression == 1
        && zt_config_set_cert_compression(zt, algs, 2) != ZT_OK)
    {
        (void) ngx_cpystrn(err, (u_char *) "zigtls_certificate_compression: "
                           "out of memory", len);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static uint64_t
ngx_zigtls_clock(void *arg)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}


/* per worker process */


ngx_int_t
ngx_zigtls_init_process(ngx_cycle_t *cycle)
{
    if (ngx_zigtls_conns == NULL) {
        /* pages are touched only as slots are used */
        ngx_zigtls_conns = ngx_calloc(cycle->connection_n
                                      * sizeof(ngx_zigtls_conn_t),
                                      cycle->log);
        if (ngx_zigtls_conns == NULL) {
            return NGX_ERROR;
        }

        ngx_zigtls_nconns = cycle->connection_n;

        ngx_queue_init(&ngx_zigtls_idle_q);
        ngx_zigtls_idle_dumb.fd = (ngx_socket_t) -1;
        ngx_zigtls_idle_ev.data = &ngx_zigtls_idle_dumb;
        ngx_zigtls_idle_ev.handler = ngx_zigtls_idle_timer;
        ngx_zigtls_idle_ev.log = cycle->log;
        ngx_zigtls_idle_ev.cancelable = 1;
    }

    if (ngx_event_actions.del_conn
        && ngx_event_actions.del_conn != ngx_zigtls_del_conn)
    {
        ngx_zigtls_orig_del_conn = ngx_event_actions.del_conn;
        ngx_event_actions.del_conn = ngx_zigtls_del_conn;
    }

    return NGX_OK;
}


void
ngx_zigtls_exit_process(ngx_cycle_t *cycle)
{
    /* connections are closed by nginx before this runs */
}


ngx_zigtls_conn_t *
ngx_zigtls_get(ngx_connection_t *c)
{
    ngx_uint_t          i;
    ngx_zigtls_conn_t  *zc;

    if (ngx_zigtls_conns == NULL
        || c < ngx_cycle->connections
        || c >= ngx_cycle->connections + ngx_zigtls_nconns)
    {
        return NULL;
    }

    i = c - ngx_cycle->connections;
    zc = &ngx_zigtls_conns[i];

    if (zc->c != c || zc->zt == NULL) {
        return NULL;
    }

    return zc;
}


ngx_uint_t
ngx_zigtls_ours(ngx_connection_t *c)
{
    return c->recv == ngx_zigtls_recv;
}


ngx_zigtls_conn_t *
ngx_zigtls_create(ngx_connection_t *c, ngx_zigtls_srv_conf_t *conf,
    ngx_zigtls_done_pt handler, void *data)
{
    ngx_zigtls_conn_t     *zc;
    ngx_pool_cleanup_t    *cln;
    ngx_zigtls_cleanup_t  *cd;

    if (ngx_zigtls_conns == NULL
        || c < ngx_cycle->connections
        || c >= ngx_cycle->connections + ngx_zigtls_nconns
        || conf->zt == NULL)
    {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "zigtls: connection outside of the worker's array");
        return NULL;
    }

    /* the records go through the plain socket functions (ngx_io) */
    if (c->recv != ngx_recv || c->send != ngx_send) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "zigtls: not a plain TCP connection");
        return NULL;
    }

    zc = &ngx_zigtls_conns[c - ngx_cycle->connections];

    if (zc->zt != NULL) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "zigtls: connection slot still in use");
        return NULL;
    }

    cln = ngx_pool_cleanup_add(c->pool, sizeof(ngx_zigtls_cleanup_t));
    if (cln == NULL) {
        return NULL;
    }

    ngx_zigtls_ops_prepare(conf);   /* catch up with certificate reloads */

    ngx_memzero(zc, sizeof(ngx_zigtls_conn_t));

    zc->zt = zt_conn_new(conf->zt);
    if (zc->zt == NULL) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0, "zt_conn_new() failed");
        return NULL;
    }

    cd = cln->data;
    cd->zc = zc;
    cd->number = c->number;
    cln->handler = ngx_zigtls_cleanup;

    zt_conn_set_user(zc->zt, zc);
    zt_conn_set_ja4(zc->zt, conf->ja4_forms);

    zc->c = c;
    zc->handler = handler;
    zc->data = data;
    zc->conf = conf;
    zc->start = (uint32_t) ngx_current_msec;

    ngx_zigtls_ops_conn_open(zc);

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, c->log, 0,
                   "zigtls create: fd:%d conn:%uz bytes",
                   c->fd, zt_conn_size());

    return zc;
}


/* the handshake */


void
ngx_zigtls_start(ngx_connection_t *c)
{
    ngx_zigtls_conn_t  *zc;

    zc = ngx_zigtls_get(c);

    c->read->handler = ngx_zigtls_handshake_handler;
    c->write->handler = ngx_zigtls_handshake_handler;
    c->log->action = "zigtls handshaking";

    ngx_add_timer(c->read, zc->conf->handshake_timeout);

    /* waiting for a ClientHello: idle, so "nginx -s quit" is prompt */
    c->idle = 1;
    ngx_reusable_connection(c, 1);

    if (c->read->ready) {
        /* deferred accept: the ClientHello is there already */

        if (ngx_use_accept_mutex && !zc->in_start) {
            ngx_post_event(c->read, &ngx_posted_events);
            return;
        }

        ngx_zigtls_handshake_handler(c->read);
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_zigtls_finish(c, zc, NGX_ERROR);
    }
}


void
ngx_zigtls_handshake_handler(ngx_event_t *ev)
{
    const char         *sni;
    ngx_int_t           rc;
    ngx_uint_t          level;
    ngx_connection_t   *c;
    ngx_zigtls_conn_t  *zc;

    c = ev->data;
    zc = ngx_zigtls_get(c);

    if (zc == NULL) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0, "zigtls: lost connection");
        ngx_close_connection(c);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, c->log, 0,
                   "zigtls handshake handler: %s fd:%d",
                   ev->write ? "write" : "read", c->fd);

    if (ev->timedout) {
        sni = zt_conn_sni(zc->zt);
        level = ngx_zigtls_failure_level(zc);

        if (level) {
            ngx_log_error(level, c->log, NGX_ETIMEDOUT,
                          "zigtls handshake failed: timed out, "
                          "sni: \"%s\", alert sent: none",
                          sni ? sni : "");
        }

        ngx_zigtls_ops_handshake_failed(zc, NGX_ZIGTLS_R_TIMEOUT);
        ngx_zigtls_finish(c, zc, NGX_ERROR);
        return;
    }

    if (c->close) {
        if (ngx_exiting && c->idle && !c->error && !zc->grace) {
            /*
             * graceful shutdown ("nginx -s reload", "-s quit") of a
             * connection accepted but still waiting for its ClientHello:
             * the client is probably sending it right now. Like nginx's
             * SSL, answer it; unlike it, wait at most
             * NGX_ZIGTLS_QUIT_GRACE for it to start, so quit stays prompt
             * (worker_shutdown_timeout, which sets c->error, closes at
             * once)
             */
            zc->grace = 1;
            c->close = 0;

            if (c->read->timer_set
                && c->read->timer.key > ngx_current_msec
                                        + NGX_ZIGTLS_QUIT_GRACE)
            {
                ngx_add_timer(c->read, NGX_ZIGTLS_QUIT_GRACE);
            }

            ngx_log_debug0(NGX_LOG_DEBUG_EVENT, c->log, 0,
                           "zigtls: shutdown, waiting briefly for the "
                           "ClientHello");

        } else {
            ngx_log_debug0(NGX_LOG_DEBUG_EVENT, c->log, 0,
                           "zigtls: closing idle connection");
            ngx_zigtls_finish(c, zc, NGX_ERROR);
            return;
        }
    }

    rc = ngx_zigtls_handshake(c, zc);

    if (rc == NGX_AGAIN) {

        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            ngx_zigtls_finish(c, zc, NGX_ERROR);
            return;
        }

        if (c->buffered & NGX_ZIGTLS_BUFFERED) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                ngx_zigtls_finish(c, zc, NGX_ERROR);
            }
        }

        return;
    }

    ngx_zigtls_finish(c, zc, rc);
}


static ngx_int_t
ngx_zigtls_handshake(ngx_connection_t *c, ngx_zigtls_conn_t *zc)
{
    u_char    *buf;
    size_t     len;
    ssize_t    n;
    zt_err     err;
    unsigned   st;
    ngx_int_t  rc;

    for ( ;; ) {
        rc = ngx_zigtls_flush(c, zc);

        if (rc == NGX_ERROR) {
            ngx_zigtls_fail(c, zc, "send() failed");
            return NGX_ERROR;
        }

        st = zt_conn_state(zc->zt);

        ngx_log_debug2(NGX_LOG_DEBUG_EVENT, c->log, 0,
                       "zigtls handshake: state:%xd flush:%i", st, rc);

        if (st & ZT_ST_FAILED) {
            ngx_zigtls_fail(c, zc, NULL);
            return NGX_ERROR;
        }

        if (st & ZT_ST_HANDSHAKE_DONE) {
            return NGX_OK;
        }

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        buf = zt_recv_buf(zc->zt, &len);

        if (buf == NULL || len == 0) {
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          "zigtls: the core takes no input in handshake");
            return NGX_ERROR;
        }

        n = ngx_recv(c, buf, len);

        ngx_log_debug2(NGX_LOG_DEBUG_EVENT, c->log, 0,
                       "zigtls handshake recv: %z of %uz", n, len);

        if (n == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (n == NGX_ERROR) {
            ngx_zigtls_fail(c, zc, "recv() failed");
            return NGX_ERROR;
        }

        if (n == 0) {
            (void) zt_eof(zc->zt);
            ngx_zigtls_fail(c, zc, "client closed connection");
            return NGX_ERROR;
        }

        if (c->idle) {
            /* the first bytes of a ClientHello: no longer idle */
            c->idle = 0;
            ngx_reusable_connection(c, 0);
            zc->start = (uint32_t) ngx_current_msec;
            ngx_zigtls_ops_first_byte(zc);
        }

        err = zt_recv_done(zc->zt, (size_t) n);

        ngx_log_debug2(NGX_LOG_DEBUG_EVENT, c->log, 0,
                       "zigtls handshake: fed %z bytes: %s",
                       n, zt_err_str(err));

        if (err != ZT_OK) {
            /* sticky: the next turn flushes the alert and fails */
            continue;
        }

        st = zt_conn_state(zc->zt);

        if (st & ZT_ST_HANDSHAKE_DONE) {
            /* neither a ticket nor a response is about to carry our ACK */
            zc->quiet_done = !(st & (ZT_ST_HAS_OUTPUT | ZT_ST_APP_READABLE));
        }
    }
}


/*
 * One info line per failed handshake: why, which alert went out, the SNI;
 * the client address is added by the connection's log handler.
 */

static void
ngx_zigtls_fail(ngx_connection_t *c, ngx_zigtls_conn_t *zc, const char *what)
{
    u_char       buf[4096];
    zt_err       err;
    uint8_t      sent, received;
    ngx_int_t    i;
    ngx_uint_t   level;
    const char  *sni;

    err = zt_conn_error(zc->zt);

    /* a transport error without a TLS one: the peer went away */
    ngx_zigtls_ops_handshake_failed(zc, (what && err == ZT_OK)
                                        ? NGX_ZIGTLS_R_TRUNCATED
                                        : NGX_ZIGTLS_R_AUTO);

    /* best effort: put the alert on the wire, then a FIN, not a RST */

    if (c->fd != (ngx_socket_t) -1) {
        (void) ngx_zigtls_flush(c, zc);
        (void) shutdown(c->fd, SHUT_WR);

        for (i = 0; i < 8; i++) {
            if (recv(c->fd, buf, sizeof(buf), 0) <= 0) {
                break;
            }
        }
    }

    sni = zt_conn_sni(zc->zt);
    sent = zt_conn_alert_sent(zc->zt);
    received = zt_conn_alert_received(zc->zt);

    if (what == NULL) {
        what = zt_err_str(err);
    }

    level = ngx_zigtls_failure_level(zc);

    if (level == 0) {
        return;
    }

    if (received != ZT_ALERT_NONE) {
        ngx_log_error(level, c->log, 0,
                      "zigtls handshake failed: %s, alert received: %s, "
                      "sni: \"%s\"",
                      what, zt_alert_str(received), sni ? sni : "");
        return;
    }

    ngx_log_error(level, c->log, 0,
                  "zigtls handshake failed: %s, alert sent: %s, sni: \"%s\"",
                  what,
                  sent != ZT_ALERT_NONE ? zt_alert_str(sent) : "none",
                  sni ? sni : "");
}


static void
ngx_zigtls_finish(ngx_connection_t *c, ngx_zigtls_conn_t *zc, ngx_int_t rc)
{
    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->idle) {
        c->idle = 0;
        ngx_reusable_connection(c, 0);
    }

    if (rc == NGX_OK) {
        zc->handshaked = 1;
        /* now: the duration */
        zc->start = (uint32_t) ngx_current_msec - zc->start;

        ngx_log_debug4(NGX_LOG_DEBUG_EVENT, c->log, 0,
                       "zigtls handshake done: %s %s %s alpn:%s",
                       zt_cipher_suite_name(zt_conn_cipher_suite(zc->zt)),
                       zt_group_name(zt_conn_group(zc->zt)),
                       zt_sigalg_name(zt_conn_sigalg(zc->zt)),
                       zt_conn_alpn(zc->zt) ? zt_conn_alpn(zc->zt) : "-");

        ngx_zigtls_install(c);
        ngx_zigtls_ops_handshake_done(zc);

        ngx_zigtls_idle(c, zc);
    }

    zc->handler(c, rc);
}


/*
 * Right after the handshake, with no request read yet and nothing to
 * send: give the record buffers and cipher contexts back (a preconnect or
 * a slow client holds no more than an idle keep-alive connection), and
 * acknowledge the client Finished at once. A client without TCP_NODELAY
 * (Nagle) holds its request until that ACK, which the kernel would delay
 * by 40 ms or more when nothing of ours follows the Finished. HTTP/2
 * sends its SETTINGS at once, which carries the ACK and needs the buffers.
 */

static void
ngx_zigtls_idle(ngx_connection_t *c, ngx_zigtls_conn_t *zc)
{
    const char  *alpn;

    alpn = zt_conn_alpn(zc->zt);

    if (alpn && ngx_strcmp(alpn, "h2") == 0) {
        return;
    }

    if (zc->quiet_done) {
        zc->quiet_done = 0;
        ngx_zigtls_quickack(c);
    }

    if (zt_conn_release_buffers(zc->zt) == ZT_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, c->log, 0,
                       "zigtls: handshake done, idle, %uz bytes held",
                       zt_conn_memory(zc->zt));
    }

    ngx_zigtls_ops_memory(zc);
}


static void
ngx_zigtls_quickack(ngx_connection_t *c)
{
#if (NGX_LINUX) && defined(TCP_QUICKACK)
    int  one;

    if (c->sockaddr == NULL
        || (c->sockaddr->sa_family != AF_INET
#if (NGX_HAVE_INET6)
            && c->sockaddr->sa_family != AF_INET6
#endif
           ))
    {
        return;
    }

    one = 1;

    if (setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK,
                   (const void *) &one, sizeof(int)) == -1)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, c->log, ngx_socket_errno,
                       "zigtls: setsockopt(TCP_QUICKACK) failed on fd:%d",
                       c->fd);
    }
#else
    (void) c;
#endif
}


void
ngx_zigtls_install(ngx_connection_t *c)
{
    ngx_zigtls_conn_t  *zc;

    zc = ngx_zigtls_get(c);

    c->recv = ngx_zigtls_recv;
    c->send = ngx_zigtls_send;
    c->recv_chain = ngx_zigtls_recv_chain;
    c->send_chain = ngx_zigtls_send_chain;
    c->sendfile = 0;

    zc->installed = 1;

    if (zt_conn_state(zc->zt) & ZT_ST_APP_READABLE) {
        c->read->ready = 1;
    }
}


/* the record layer */


static ngx_int_t
ngx_zigtls_flush(ngx_connection_t *c, ngx_zigtls_conn_t *zc)
{
    off_t           sent;
    size_t          len;
    ssize_t         n;
    const uint8_t  *p;

    for ( ;; ) {
        p = zt_send_buf(zc->zt, &len);

        if (p == NULL || len == 0) {
            ngx_zigtls_ops_memory(zc);

            /* an open record (gathered output) waits for a flush */
            if (zt_conn_state(zc->zt) & ZT_ST_HOLDING) {
                c->buffered |= NGX_ZIGTLS_BUFFERED;

            } else {
                c->buffered &= ~NGX_ZIGTLS_BUFFERED;
            }

            return NGX_OK;
        }

        /* the raw send counts ciphertext in c->sent: we count plaintext */
        sent = c->sent;
        n = ngx_send(c, (u_char *) p, len);
        c->sent = sent;

        ngx_log_debug2(NGX_LOG_DEBUG_EVENT, c->log, 0,
                       "zigtls flush: %z of %uz", n, len);

        if (n == NGX_ERROR) {
            c->buffered &= ~NGX_ZIGTLS_BUFFERED;
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN || n == 0) {
            c->buffered |= NGX_ZIGTLS_BUFFERED;
            return NGX_AGAIN;
        }

        zc->last_out = (uint32_t) ngx_current_msec;
        zt_send_done(zc->zt, (size_t) n);
    }
}


/*
 * Nothing to read or send: the record buffers go at once (a malloc and a
 * free to get them back); the cipher contexts too when the connection is
 * idle for nginx ("idle": keep-alive after an HTTP/1.1 response, a read
 * that found nothing on a keep-alive connection), otherwise 200 ms later
 * if it is still idle then: rebuilding them costs a key set-up per
 * direction, which busy HTTP/2 or stream connections would pay at every
 * gap between bursts.
 */

void
ngx_zigtls_release(ngx_connection_t *c, ngx_zigtls_conn_t *zc,
    ngx_uint_t idle, const char *what)
{
    if (zc->zt == NULL
        || zt_conn_release(zc->zt, ZT_RELEASE_BUFFERS) != ZT_OK)
    {
        return;
    }

    if (idle) {
        (void) zt_conn_release(zc->zt, ZT_RELEASE_CIPHERS);

    } else if (!zc->idle_queued && ngx_zigtls_conns) {
        ngx_queue_insert_tail(&ngx_zigtls_idle_q, &zc->idle_q);
        zc->idle_queued = 1;

        if (!ngx_zigtls_idle_ev.timer_set) {
            ngx_add_timer(&ngx_zigtls_idle_ev, 200);
        }
    }

    ngx_zigtls_ops_memory(zc);

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, c->log, 0,
                   "zigtls: %s, record buffers released, %uz bytes held",
                   what, zt_conn_memory(zc->zt));
}


static void
ngx_zigtls_idle_timer(ngx_event_t *ev)
{
    ngx_queue_t        *q;
    ngx_zigtls_conn_t  *zc;

    while (!ngx_queue_empty(&ngx_zigtls_idle_q)) {
        q = ngx_queue_head(&ngx_zigtls_idle_q);
        ngx_queue_remove(q);

        zc = ngx_queue_data(q, ngx_zigtls_conn_t, idle_q);
        zc->idle_queued = 0;

        /* busy again meanwhile: its next idle moment queues it again */
        if (zc->zt && zt_conn_release_buffers(zc->zt) == ZT_OK) {
            ngx_zigtls_ops_memory(zc);
        }
    }
}


/* after a quiet second the next records start small again (docs) */

static void
ngx_zigtls_burst(ngx_zigtls_conn_t *zc)
{
    if ((uint32_t) ngx_current_msec - zc->last_out > 1000
        && !(zt_conn_state(zc->zt) & (ZT_ST_HAS_OUTPUT | ZT_ST_HOLDING)))
    {
        zt_conn_restart_records(zc->zt);
    }
}


static void
ngx_zigtls_data_error(ngx_connection_t *c, ngx_zigtls_conn_t *zc)
{
    zt_err       err;
    uint8_t      sent, received;
    ngx_uint_t   level;

    err = zt_conn_error(zc->zt);
    sent = zt_conn_alert_sent(zc->zt);
    received = zt_conn_alert_received(zc->zt);

    (void) ngx_zigtls_flush(c, zc);

    level = (err == ZT_E_TRUNCATED || err == ZT_E_PEER_ALERT)
            ? NGX_LOG_INFO : NGX_LOG_ERR;

    if (err == ZT_E_TRUNCATED) {
        ngx_log_error(level, c->log, 0,
                      "zigtls: peer closed connection without close_notify "
                      "(truncated)");
        return;
    }

    ngx_log_error(level, c->log, 0,
                  "zigtls: connection failed: %s, alert sent: %s, "
                  "alert received: %s",
                  zt_err_str(err),
                  sent != ZT_ALERT_NONE ? zt_alert_str(sent) : "none",
                  received != ZT_ALERT_NONE ? zt_alert_str(received)
                                            : "none");
}


/*
 * Records in: one recv takes what the socket has (up to the core's input
 * buffer, zt_recv_buf), and the records in it are decrypted one after the
 * other straight into nginx's buffer (zt_recv_into).
 */

ssize_t
ngx_zigtls_recv(ngx_connection_t *c, u_char *buf, size_t size)
{
    u_char             *b;
    size_t              len, total, got;
    ssize_t             rn;
    zt_err              err;
    unsigned            st;
    ngx_zigtls_conn_t  *zc;

    zc = ngx_zigtls_get(c);

    if (zc == NULL) {
        c->read->error = 1;
        return NGX_ERROR;
    }

    total = 0;
    rn = 0;

    for ( ;; ) {
        /* plaintext held, or records already read */
        err = zt_recv_into(zc->zt, 0, buf + total, size - total, &got);
        total += got;

        if (got) {
            ngx_zigtls_ops_bytes(1, got);
        }

        if (total == size) {
            c->read->ready = 1;
            return total;
        }

        st = zt_conn_state(zc->zt);

        if (st & ZT_ST_HAS_OUTPUT) {
            /* KeyUpdate answers and the like */
            (void) ngx_zigtls_flush(c, zc);
        }

        if (err != ZT_OK || (st & ZT_ST_FAILED)) {
            if (zt_conn_error(zc->zt) == ZT_E_TRUNCATED) {
                /* logged when it happened */
                if (total) {
                    return total;
                }

                c->read->ready = 0;
                c->read->eof = 1;
                return 0;
            }

            ngx_zigtls_data_error(c, zc);

            if (total) {
                return total;
            }

            c->read->ready = 0;
            c->read->error = 1;
            return NGX_ERROR;
        }

        if (st & ZT_ST_PEER_CLOSED) {
            if (total) {
                return total;
            }

            ngx_log_debug0(NGX_LOG_DEBUG_EVENT, c->log, 0,
                           "zigtls: close_notify received");

            c->read->ready = 0;
            c->read->eof = 1;
            return 0;
        }

        if (rn > 0 && !c->read->ready) {
            /*
             * the raw recv saw a short read and no pending EOF (epoll
             * with EPOLLRDHUP): the socket has nothing more for now, no
             * need to ask it again
             */

            if (total) {
                return total;
            }

            return NGX_AGAIN;
        }

        b = zt_recv_buf(zc->zt, &len);

        if (b == NULL || len == 0) {
            if (total) {
                return total;
            }

            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          "zigtls: the core takes no input");
            c->read->error = 1;
            return NGX_ERROR;
        }

        rn = ngx_recv(c, b, len);

        ngx_log_debug3(NGX_LOG_DEBUG_EVENT, c->log, 0,
                       "zigtls recv: raw %z of %uz, have %uz", rn, len, total);

        if (rn == NGX_AGAIN) {
            if (total) {
                return total;
            }

            /* nothing to read or send: no record buffers, no contexts */
            ngx_zigtls_release(c, zc, c->idle, "idle");

            return NGX_AGAIN;
        }

        if (rn == NGX_ERROR) {
            if (total) {
                c->read->ready = 1;
                return total;
            }

            return NGX_ERROR;
        }

        if (rn == 0) {
            (void) zt_eof(zc->zt);

            if (zt_conn_error(zc->zt) == ZT_E_TRUNCATED) {
                ngx_zigtls_data_error(c, zc);
            }

            if (total) {
                c->read->ready = 1;
                return total;
            }

            c->read->ready = 0;
            c->read->eof = 1;
            return 0;
        }

        err = zt_recv_into(zc->zt, (size_t) rn, buf + total, size - total,
                           &got);
        total += got;

        ngx_zigtls_ops_memory(zc);

        if (got) {
            ngx_zigtls_ops_bytes(1, got);
        }

        if (total == size) {
            c->read->ready = 1;
            return total;
        }

        if (err != ZT_OK) {
            ngx_log_debug1(NGX_LOG_DEBUG_EVENT, c->log, 0,
                           "zigtls recv: %s", zt_err_str(err));
        }
    }
}


ssize_t
ngx_zigtls_recv_chain(ngx_connection_t *c, ngx_chain_t *cl, off_t limit)
{
    u_char   *last;
    ssize_t   n, bytes, size;
    ngx_buf_t *b;

    bytes = 0;

    b = cl->buf;
    last = b->last;

    for ( ;; ) {
        size = b->end - last;

        if (limit) {
            if (bytes >= limit) {
                return bytes;
            }

            if (bytes + size > limit) {
                size = (ssize_t) (limit - bytes);
            }
        }

        n = ngx_zigtls_recv(c, last, size);

        if (n > 0) {
            last += n;
            bytes += n;

            if (!c->read->ready) {
                return bytes;
            }

            if (last == b->end) {
                cl = cl->next;

                if (cl == NULL) {
                    return bytes;
                }

                b = cl->buf;
                last = b->last;
            }

            continue;
        }

        if (bytes) {
            if (n == 0 || n == NGX_ERROR) {
                c->read->ready = 1;
            }

            return bytes;
        }

        return n;
    }
}


ssize_t
ngx_zigtls_send(ngx_connection_t *c, u_char *buf, size_t size)
{
    size_t              total, accepted, n;
    zt_err              err;
    ngx_int_t           rc;
    ngx_zigtls_conn_t  *zc;

    zc = ngx_zigtls_get(c);

    if (zc == NULL) {
        c->write->error = 1;
        return NGX_ERROR;
    }

    rc = ngx_zigtls_flush(c, zc);

    if (rc == NGX_ERROR) {
        c->write->error = 1;
        return NGX_ERROR;
    }

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    ngx_zigtls_burst(zc);

    total = 0;

    while (total < size) {
        n = ngx_min(size - total, ZT_MAX_PLAINTEXT);

        err = zt_write(zc->zt, buf + total, n, &accepted);

        if (err != ZT_OK) {
            ngx_zigtls_data_error(c, zc);
            c->write->error = 1;
            return total ? (ssize_t) total : NGX_ERROR;
        }

        if (accepted == 0) {
            if (!(zt_conn_state(zc->zt) & ZT_ST_HAS_OUTPUT)) {
                ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                              "zigtls: the core takes no plaintext");
                c->write->error = 1;
                return total ? (ssize_t) total : NGX_ERROR;
            }

        } else {
            total += accepted;
        }

        rc = ngx_zigtls_flush(c, zc);

        if (rc == NGX_ERROR) {
            c->write->error = 1;
            return total ? (ssize_t) total : NGX_ERROR;
        }

        if (rc == NGX_AGAIN) {
            break;
        }
    }

    c->sent += total;
    ngx_zigtls_ops_bytes(0, total);

    if (total == 0) {
        return NGX_AGAIN;
    }

    return total;
}


/*
 * Records out, as nginx's own TLS buffers them (ssl_buffer_size): the
 * plaintext of a chain is sealed into records straight from nginx's
 * buffers (zt_write_v: the cipher's pass is the only copy) and full
 * records are sent; what does not fill a record waits in the core's open
 * record (zt_write_hold, c->buffered) until a buffer with "flush" or
 * "last_buf" comes, a call without a chain, or the limit: so HTTP/2's
 * HEADERS and DATA, written by two calls, leave in one record and one
 * send, and a lone small response still goes at once (its last buffer
 * has last_buf or flush).
 */

#define NGX_ZIGTLS_IOVS  64

ngx_chain_t *
ngx_zigtls_send_chain(ngx_connection_t *c, ngx_chain_t *in, off_t limit)
{
    off_t               sent, off, size;
    u_char             *data;
    size_t              n, room, fill, acc, i, at;
    ssize_t             rn;
    zt_err              err;
    zt_iov              v[NGX_ZIGTLS_IOVS];
    ngx_buf_t          *b;
    ngx_int_t           rc;
    ngx_uint_t          nv, flush;
    ngx_chain_t        *cl;
    ngx_zigtls_conn_t  *zc;

    zc = ngx_zigtls_get(c);

    if (zc == NULL) {
        c->write->error = 1;
        return NGX_CHAIN_ERROR;
    }

    if (limit == 0 || limit > (off_t) (NGX_MAX_SIZE_T_VALUE - ngx_pagesize)) {
        limit = NGX_MAX_SIZE_T_VALUE - ngx_pagesize;
    }

    rc = ngx_zigtls_flush(c, zc);

    if (rc == NGX_ERROR) {
        c->write->error = 1;
        return NGX_CHAIN_ERROR;
    }

    if (rc == NGX_AGAIN) {
        return in;
    }

    ngx_zigtls_burst(zc);

    flush = (in == NULL);

    for (cl = in; cl; cl = cl->next) {
        if (cl->buf->flush || cl->buf->last_buf) {
            flush = 1;
        }
    }

    sent = 0;
    cl = in;
    off = 0;

    while (cl && sent < limit) {

        data = zt_write_buf(zc->zt, &room);

        if (data == NULL) {
            if (zt_conn_error(zc->zt) != ZT_OK) {
                ngx_zigtls_data_error(c, zc);
                c->write->error = 1;
                return NGX_CHAIN_ERROR;
            }

            if (!(zt_conn_state(zc->zt) & ZT_ST_HAS_OUTPUT)) {
                ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                              "zigtls: the core takes no plaintext");
                c->write->error = 1;
                return NGX_CHAIN_ERROR;
            }

            rc = ngx_zigtls_flush(c, zc);

            if (rc == NGX_ERROR) {
                c->write->error = 1;
                return NGX_CHAIN_ERROR;
            }

            if (rc == NGX_AGAIN) {
                goto done;
            }

            continue;
        }

        /* the pieces of one record; file data is read into its place */

        fill = 0;
        nv = 0;

        while (cl && fill < room && sent + (off_t) fill < limit
               && nv < NGX_ZIGTLS_IOVS)
        {
            b = cl->buf;

            if (ngx_buf_in_memory(b)) {
                size = b->last - b->pos;

            } else if (b->in_file) {
                /* a fallback: http asks for memory buffers, see the filter */
                size = b->file_last - b->file_pos;

            } else {
                size = 0;
            }

            if (ngx_buf_special(b) || size == 0) {
                cl = cl->next;
                off = 0;
                continue;
            }

            n = (size_t) ngx_min(size - off, limit - sent - (off_t) fill);
            n = ngx_min(n, room - fill);

            if (ngx_buf_in_memory(b)) {
                v[nv].base = b->pos + off;

            } else {
                rn = ngx_read_file(b->file, data + fill, n,
                                   b->file_pos + off);
                if (rn <= 0) {
                    ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                                  "zigtls: cannot read \"%V\"",
                                  &b->file->name);
                    return NGX_CHAIN_ERROR;
                }

                n = (size_t) rn;
                v[nv].base = data + fill;
            }

            v[nv].len = n;
            nv++;
            fill += n;
            off += n;

            if (off == size) {
                cl = cl->next;
                off = 0;
            }
        }

        if (fill == 0) {
            break;
        }

        if (fill < room && !flush && cl == NULL) {
            /* the end of the chain, no flush: wait for more in this record */

            at = 0;

            for (i = 0; i < nv; i++) {
                if (v[i].base != data + at) {
                    ngx_memcpy(data + at, v[i].base, v[i].len);
                }

                at += v[i].len;
            }

            err = zt_write_hold(zc->zt, fill);

        } else {
            err = zt_write_v(zc->zt, v, nv, &acc);

            if (err == ZT_OK && acc != fill) {
                err = ZT_E_STATE;
            }
        }

        if (err != ZT_OK) {
            ngx_zigtls_data_error(c, zc);
            c->write->error = 1;
            return NGX_CHAIN_ERROR;
        }

        sent += fill;
    }

    if (flush || sent >= limit) {
        if (zt_write_done(zc->zt, 0) != ZT_OK) {
            ngx_zigtls_data_error(c, zc);
            c->write->error = 1;
            return NGX_CHAIN_ERROR;
        }
    }

    rc = ngx_zigtls_flush(c, zc);

    if (rc == NGX_ERROR) {
        c->write->error = 1;
        return NGX_CHAIN_ERROR;
    }

done:

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, c->log, 0,
                   "zigtls send chain: %O plaintext bytes", sent);

    c->sent += sent;
    ngx_zigtls_ops_bytes(0, (size_t) sent);

    in = ngx_chain_update_sent(in, sent);

    /* the other side of a proxy ended while data was still on its way */

    if (zc->close_when_flushed && in == NULL
        && !(c->buffered & NGX_ZIGTLS_BUFFERED))
    {
        zc->close_when_flushed = 0;

        if (ngx_zigtls_shutdown(c) == NGX_ERROR) {
            c->write->error = 1;
            return NGX_CHAIN_ERROR;
        }
    }

    return in;
}


/* queue close_notify and push it out: NGX_OK, NGX_AGAIN or NGX_ERROR */

ngx_int_t
ngx_zigtls_shutdown(ngx_connection_t *c)
{
    unsigned            st;
    ngx_zigtls_conn_t  *zc;

    zc = ngx_zigtls_get(c);

    if (zc == NULL || !zc->handshaked) {
        return NGX_OK;
    }

    st = zt_conn_state(zc->zt);

    if (!(st & (ZT_ST_CLOSED | ZT_ST_FAILED))) {
        ngx_log_debug0(NGX_LOG_DEBUG_EVENT, c->log, 0,
                       "zigtls: sending close_notify");

        (void) zt_close(zc->zt);
    }

    return ngx_zigtls_flush(c, zc);
}


/* the last word on a connection, while its socket is still open */

static void
ngx_zigtls_final(ngx_zigtls_conn_t *zc, ngx_uint_t notify)
{
    size_t             len;
    ssize_t            n;
    unsigned           st;
    ngx_uint_t         i;
    const uint8_t     *p;
    ngx_connection_t  *c;

    c = zc->c;

    if (notify && zc->handshaked && c->fd != (ngx_socket_t) -1
        && !c->write->error)
    {
        /*
         * best effort and quiet: the peer may be gone already, which is
         * no news worth a log line
         */

        st = zt_conn_state(zc->zt);

        if (!(st & (ZT_ST_CLOSED | ZT_ST_FAILED))) {
            ngx_log_debug0(NGX_LOG_DEBUG_EVENT, c->log, 0,
                           "zigtls: sending close_notify");

            (void) zt_close(zc->zt);
        }

        for (i = 0; i < 64; i++) {
            p = zt_send_buf(zc->zt, &len);

            if (p == NULL || len == 0) {
                break;
            }

            n = send(c->fd, p, len, MSG_NOSIGNAL);

            if (n <= 0) {
                break;
            }

            zt_send_done(zc->zt, (size_t) n);
        }
    }

    if (zc->idle_queued) {
        ngx_queue_remove(&zc->idle_q);
        zc->idle_queued = 0;
    }

    if (zc->zt) {
        ngx_zigtls_ops_conn_close(zc);
        zt_conn_free(zc->zt);
        zc->zt = NULL;       /* the slot is free */
    }
}


/* the pool goes: the connection is closed (normally seen by del_conn) */

static void
ngx_zigtls_cleanup(void *data)
{
    ngx_zigtls_cleanup_t  *cd = data;

    ngx_zigtls_conn_t     *zc;

    zc = cd->zc;

    /* the slot may serve another connection by now */
    if (zc->zt && zc->c->number == cd->number) {
        ngx_zigtls_final(zc, 0);
    }
}


static ngx_int_t
ngx_zigtls_del_conn(ngx_connection_t *c, ngx_uint_t flags)
{
    ngx_zigtls_conn_t  *zc;

    if (flags & NGX_CLOSE_EVENT) {
        zc = ngx_zigtls_get(c);

        if (zc) {
            ngx_zigtls_final(zc, 1);
        }
    }

    return ngx_zigtls_orig_del_conn(c, flags);
}


u_char *
ngx_zigtls_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char            *p;
    ngx_connection_t  *c;

    p = buf;

    if (log->action) {
        p = ngx_snprintf(buf, len, " while %s", log->action);
        len -= p - buf;
        buf = p;
    }

    c = log->data;

    if (c) {
        p = ngx_snprintf(buf, len, ", client: %V, server: %V",
                         &c->addr_text, &c->listening->addr_text);
    }

    return p;
}


/* variables */


ngx_uint_t
ngx_zigtls_ja4_form(ngx_str_t *name)
{
    static ngx_str_t  names[ZT_JA4_FORMS] = {
        ngx_string("zigtls_ja4"), ngx_string("zigtls_ja4_r"),
        ngx_string("zigtls_ja4_o"), ngx_string("zigtls_ja4_ro")
    };

    ngx_uint_t  f;

    for (f = 0; f < ZT_JA4_FORMS; f++) {
        if (name->len == names[f].len
            && ngx_strncmp(name->data, names[f].data, name->len) == 0)
        {
            return (ngx_uint_t) 1 << f;
        }
    }

    return 0;
}


ngx_int_t
ngx_zigtls_variable_value(ngx_pool_t *pool, ngx_connection_t *c,
    ngx_str_t *value, uintptr_t what)
{
    u_char             *p;
    uint64_t            ms;
    size_t              len;
    const char         *s;
    ngx_zigtls_conn_t  *zc;

    zc = ngx_zigtls_get(c);

    if (zc == NULL) {
        return NGX_DECLINED;
    }

    if (what >= NGX_ZIGTLS_VAR_JA4 && what <= NGX_ZIGTLS_VAR_JA4_LAST) {
        /* known from the ClientHello on, for refused handshakes too */
        s = zt_conn_ja4(zc->zt, (zt_ja4_form) (what - NGX_ZIGTLS_VAR_JA4));

        if (s == NULL) {
            return NGX_DECLINED;
        }

        value->len = ngx_strlen(s);
        value->data = ngx_pnalloc(pool, value->len);
        if (value->data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(value->data, s, value->len);
        return NGX_OK;
    }

    if (!zc->handshaked) {
        return NGX_DECLINED;
    }

    s = NULL;

    switch (what) {

    case NGX_ZIGTLS_VAR_PROTOCOL:
        s = zt_conn_version(zc->zt) == ZT_TLS13 ? "TLSv1.3" : "";
        break;

    case NGX_ZIGTLS_VAR_CIPHER:
        s = zt_cipher_suite_name(zt_conn_cipher_suite(zc->zt));
        break;

    case NGX_ZIGTLS_VAR_GROUP:
        s = zt_group_name(zt_conn_group(zc->zt));
        break;

    case NGX_ZIGTLS_VAR_SIGALG:
        s = zt_sigalg_name(zt_conn_sigalg(zc->zt));
        break;

    case NGX_ZIGTLS_VAR_SERVER_NAME:
        s = zt_conn_sni(zc->zt);
        break;

    case NGX_ZIGTLS_VAR_ALPN:
        s = zt_conn_alpn(zc->zt);
        break;

    case NGX_ZIGTLS_VAR_SESSION_REUSED:
        s = zt_conn_resumed(zc->zt) ? "r" : ".";
        break;

    case NGX_ZIGTLS_VAR_HANDSHAKE_TIME:
        p = ngx_pnalloc(pool, NGX_TIME_T_LEN + 4);
        if (p == NULL) {
            return NGX_ERROR;
        }

        /* the core's own measure (monotonic clock), else the event loop's */
        ms = zt_conn_handshake_ms(zc->zt);

        if (ms == 0) {
            ms = zc->start;
        }

        value->len = ngx_sprintf(p, "%T.%03M",
                                 (time_t) (ms / 1000),
                                 (ngx_msec_t) (ms % 1000))
                     - p;
        value->data = p;
        return NGX_OK;
    }

    if (s == NULL) {
        s = "";
    }

    len = ngx_strlen(s);

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, s, len);

    value->len = len;
    value->data = p;

    return NGX_OK;
}
