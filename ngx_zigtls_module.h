
/*
 * zigtls for nginx: glue shared by the http and the stream modules.
 *
 * This file and ngx_zigtls_module.c know nginx's core and event layers
 * only; everything http or stream specific lives in
 * ngx_http_zigtls_module.c and ngx_stream_zigtls_module.c.  Each of the two
 * .so files carries its own copy of this glue (kept local by
 * ngx_zigtls.map).
 */


#ifndef _NGX_ZIGTLS_MODULE_H_INCLUDED_
#define _NGX_ZIGTLS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <zigtls.h>


/* our bit of c->buffered, inside NGX_LOWLEVEL_BUFFERED (as SSL's 0x01) */
#define NGX_ZIGTLS_BUFFERED          0x01

#define NGX_ZIGTLS_DEFAULT_TIMEOUT   60000
#define NGX_ZIGTLS_LOG_FAILURES_RATE 100    /* lines a second per worker */
/* on graceful shutdown, how long a connection accepted without its
 * ClientHello yet may still take to start one (ms) */
#define NGX_ZIGTLS_QUIT_GRACE        2000


typedef struct ngx_zigtls_conn_s  ngx_zigtls_conn_t;

/* called once when the handshake ends: rc is NGX_OK or NGX_ERROR */
typedef void (*ngx_zigtls_done_pt)(ngx_connection_t *c, ngx_int_t rc);


/* a configuration file name with the place it was given at */
typedef struct {
    ngx_str_t                  name;
    u_char                    *file;
    ngx_uint_t                 line;
} ngx_zigtls_file_t;


/* the directives shared by http and stream server{}s */
typedef struct {
    ngx_flag_t                 enable;
    ngx_array_t               *certificates;      /* of ngx_zigtls_file_t */
    ngx_array_t               *certificate_keys;  /* of ngx_zigtls_file_t */
    ngx_str_t                  ciphers;
    ngx_str_t                  groups;
    ngx_array_t               *alpn;              /* of ngx_str_t */
    ngx_flag_t                 require_sni;
    ngx_flag_t                 server_names_strict;
    ngx_msec_t                 handshake_timeout;
    size_t                     max_handshake;     /* ClientHello cap */
    ngx_flag_t                 cert_compression;  /* RFC 8879 */

    /* zigtls_log_failures: the level of failed-handshake lines (0: off)
     * and how many a worker writes per second at most */
    ngx_uint_t                 log_failures;
    ngx_uint_t                 log_failures_rate;

    /* the JA4 forms the configuration's variables use (postconfiguration) */
    ngx_uint_t                 ja4_forms;

    zt_config                 *zt;

    /* what ngx_zigtls_build_config() was given, for certificate reloads
     * (ngx_zigtls_certs.c), and the server's certificate store there */
    zt_client_hello_fn         ch_cb;
    const char *const         *default_alpn;
    ngx_uint_t                 n_default_alpn;
    void                      *ops;

    /* http: the server's names, kept for run time (nginx keeps its own
     * list in a pool freed after configuration) */
    ngx_array_t               *server_names;

    /* where "zigtls on" was said, for error messages */
    u_char                    *file;
    ngx_uint_t                 line;
} ngx_zigtls_srv_conf_t;


/*
 * One per connection, in a per-worker array indexed like
 * ngx_cycle->connections (not in c->pool: the pool's first block is
 * nginx's, and what we took of it made nginx allocate a second block of
 * connection_pool_size after the first request, docs/performance.md).
 * Kept small: an idle connection costs these bytes.
 */
struct ngx_zigtls_conn_s {
    zt_conn                   *zt;         /* NULL: the slot is free */
    ngx_connection_t          *c;

    /* stream: the upstream connection's own recv, wrapped to watch for
     * its EOF (ngx_stream_zigtls_module.c) */
    ngx_recv_pt                upstream_recv;

    ngx_zigtls_done_pt         handler;
    void                      *data;       /* the module's, e.g. addr_conf */
    void                      *selected;   /* server chosen by SNI */
    ngx_zigtls_srv_conf_t     *conf;       /* conf of the default server */

    ngx_queue_t                idle_q;       /* waiting for its ciphers to
                                                be released */

    uint32_t                   start;        /* ngx_current_msec of the
                                                first byte, then the
                                                handshake's duration */
    uint32_t                   last_out;     /* ngx_current_msec when
                                                records last went out */
    uint32_t                   memory;       /* zt_conn_memory() as counted
                                                in the status zone */

    unsigned                   handshaked:1;
    unsigned                   installed:1;
    unsigned                   h2:1;
    unsigned                   close_after_last:1;
    unsigned                   last_seen:1;
    unsigned                   goaway:1;     /* HTTP/2 GOAWAY was queued */
    unsigned                   close_when_flushed:1;
    unsigned                   in_start:1;   /* inside ngx_zigtls_start() */
    unsigned                   done:1;       /* ended inside it */
    unsigned                   failed:1;
    unsigned                   grace:1;      /* shutdown grace given */
    unsigned                   quiet_done:1; /* nothing of ours followed the
                                                client Finished */
    unsigned                   idle_queued:1;
};


char *ngx_zigtls_set_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_zigtls_set_enable(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_zigtls_set_list(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_zigtls_set_alpn(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_zigtls_set_log_failures(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
/* the level to log this connection's handshake failure at, 0: not now
 * (off, or over the rate: counted and reported with the next line) */
ngx_uint_t ngx_zigtls_failure_level(ngx_zigtls_conn_t *zc);
extern ngx_conf_post_t  ngx_zigtls_max_handshake_post;

void ngx_zigtls_init_srv_conf(ngx_zigtls_srv_conf_t *conf);
char *ngx_zigtls_merge_srv_conf(ngx_conf_t *cf, ngx_zigtls_srv_conf_t *conf,
    ngx_zigtls_srv_conf_t *prev);
/* what every zt_config of a server gets before its certificates are added
 * (at startup and at certificate reloads); NGX_ERROR with reason in err */
ngx_int_t ngx_zigtls_prepare_config(zt_config *zt,
    ngx_zigtls_srv_conf_t *conf, u_char *err, size_t len);
ngx_int_t ngx_zigtls_build_config(ngx_conf_t *cf, ngx_zigtls_srv_conf_t *conf,
    const char *const *default_alpn, ngx_uint_t n_default_alpn,
    zt_client_hello_fn ch_cb);

ngx_int_t ngx_zigtls_init_process(ngx_cycle_t *cycle);
void ngx_zigtls_exit_process(ngx_cycle_t *cycle);

ngx_zigtls_conn_t *ngx_zigtls_create(ngx_connection_t *c,
    ngx_zigtls_srv_conf_t *conf, ngx_zigtls_done_pt handler, void *data);
ngx_zigtls_conn_t *ngx_zigtls_get(ngx_connection_t *c);
void ngx_zigtls_start(ngx_connection_t *c);
void ngx_zigtls_handshake_handler(ngx_event_t *ev);
void ngx_zigtls_install(ngx_connection_t *c);
ngx_int_t ngx_zigtls_shutdown(ngx_connection_t *c);
void ngx_zigtls_release(ngx_connection_t *c, ngx_zigtls_conn_t *zc,
    ngx_uint_t idle, const char *what);
ngx_uint_t ngx_zigtls_ours(ngx_connection_t *c);
u_char *ngx_zigtls_log_error(ngx_log_t *log, u_char *buf, size_t len);

ssize_t ngx_zigtls_recv(ngx_connection_t *c, u_char *buf, size_t size);
ssize_t ngx_zigtls_send(ngx_connection_t *c, u_char *buf, size_t size);
ssize_t ngx_zigtls_recv_chain(ngx_connection_t *c, ngx_chain_t *cl,
    off_t limit);
ngx_chain_t *ngx_zigtls_send_chain(ngx_connection_t *c, ngx_chain_t *in,
    off_t limit);

/* variables: fills v with the fact named by "what" (shared by both) */
ngx_int_t ngx_zigtls_variable_value(ngx_pool_t *pool, ngx_connection_t *c,
    ngx_str_t *value, uintptr_t what);

enum {
    NGX_ZIGTLS_VAR_PROTOCOL = 0,
    NGX_ZIGTLS_VAR_CIPHER,
    NGX_ZIGTLS_VAR_GROUP,
    NGX_ZIGTLS_VAR_SIGALG,
    NGX_ZIGTLS_VAR_SERVER_NAME,
    NGX_ZIGTLS_VAR_ALPN,
    NGX_ZIGTLS_VAR_SESSION_REUSED,
    NGX_ZIGTLS_VAR_HANDSHAKE_TIME,
    NGX_ZIGTLS_VAR_JA4,              /* + zt_ja4_form: ja4, _r, _o, _ro */
    NGX_ZIGTLS_VAR_JA4_LAST = NGX_ZIGTLS_VAR_JA4 + ZT_JA4_FORMS - 1
};

/* the JA4 form (bit 1 << form) a variable name asks to keep, or 0 */
ngx_uint_t ngx_zigtls_ja4_form(ngx_str_t *name);


#endif /* _NGX_ZIGTLS_MODULE_H_INCLUDED_ */
