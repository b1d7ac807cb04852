
/*
 * zigtls for nginx: the operations plane, shared by the http and the
 * stream modules. Its types and its interface; one file per job:
 *
 *   ngx_zigtls_zone.c        zigtls_zone: shared memory with the counters
 *                            of every worker, the server{}s registered in
 *                            it, the hooks called by ngx_zigtls_module.c
 *                            on the handshake and record paths
 *   ngx_zigtls_certs.c       the certificate store: per server{} and
 *                            worker, the active and the previous
 *                            zt_config, generation numbers agreed through
 *                            shared memory, hot reload and rollback
 *   ngx_zigtls_ratelimit.c   zigtls_handshake_rate: a token bucket per
 *                            server{} in shared memory
 *   ngx_zigtls_keylog.c      zigtls_keylog: NSS key log lines
 *   ngx_zigtls_status.c      the status pages (text and Prometheus)
 *
 * The protocol modules (ngx_http_zigtls_ops.c, ngx_stream_zigtls_ops.c)
 * hold the directives and register their server{}s here.
 */


#ifndef _NGX_ZIGTLS_OPS_H_INCLUDED_
#define _NGX_ZIGTLS_OPS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_zigtls_module.h"


/* handshake failure reasons: the labels of the metrics */
enum {
    NGX_ZIGTLS_R_MALFORMED = 0,
    NGX_ZIGTLS_R_UNEXPECTED_MESSAGE,
    NGX_ZIGTLS_R_PROTOCOL_VERSION,
    NGX_ZIGTLS_R_NO_SHARED_CIPHER,
    NGX_ZIGTLS_R_NO_SHARED_GROUP,
    NGX_ZIGTLS_R_NO_SHARED_SIGALG,
    NGX_ZIGTLS_R_POLICY_SNI,
    NGX_ZIGTLS_R_POLICY_ALPN,
    NGX_ZIGTLS_R_POLICY_REJECT,
    NGX_ZIGTLS_R_BAD_FINISHED,
    NGX_ZIGTLS_R_BAD_RECORD_MAC,
    NGX_ZIGTLS_R_TIMEOUT,
    NGX_ZIGTLS_R_RATE_LIMITED,
    NGX_ZIGTLS_R_TRUNCATED,
    NGX_ZIGTLS_R_PEER_ALERT,
    NGX_ZIGTLS_R_INTERNAL,
    NGX_ZIGTLS_R_OTHER,
    NGX_ZIGTLS_R_COUNT,

    NGX_ZIGTLS_R_AUTO = 100   /* from the core's error */
};

#define NGX_ZIGTLS_OPS_MAX_FILES   (2 * ZT_MAX_CREDENTIALS)
#define NGX_ZIGTLS_OPS_NAME_LEN    128
#define NGX_ZIGTLS_OPS_REASON_LEN  256
#define NGX_ZIGTLS_OPS_NALPN       16
#define NGX_ZIGTLS_OPS_NBUCKETS    13    /* 0.1 ms .. 1 s, then +Inf */

/* ngx_zigtls_ops_groups[]: the post-quantum hybrids first, the status page
 * counts their share */
#define NGX_ZIGTLS_OPS_NPQ         2


typedef struct {
    ngx_atomic_uint_t          ino;
    ngx_atomic_uint_t          mtime;
    ngx_atomic_uint_t          size;
} ngx_zigtls_ops_stamp_t;


/* one server{} in shared memory, found by its key across reloads */
typedef struct ngx_zigtls_ops_shslot_s  ngx_zigtls_ops_shslot_t;

struct ngx_zigtls_ops_shslot_s {
    ngx_zigtls_ops_shslot_t   *next;
    u_char                     key[NGX_ZIGTLS_OPS_NAME_LEN * 2];

    ngx_atomic_t               generation;
    ngx_atomic_t               prev_generation;
    ngx_atomic_t               config_seq;    /* nginx configuration seen */
    ngx_atomic_t               reload_ok;
    ngx_atomic_t               reload_failed;
    ngx_atomic_t               last_ok;       /* 1 ok, 0 failed */
    ngx_atomic_t               last_time;
    ngx_atomic_t               ncerts;
    int64_t                    not_after[ZT_MAX_CREDENTIALS];
    ngx_zigtls_ops_stamp_t     stamps[NGX_ZIGTLS_OPS_MAX_FILES];
    u_char                     reason[NGX_ZIGTLS_OPS_REASON_LEN];

    /* token bucket, under the slab mutex: milli-tokens, ms */
    uint64_t                   tokens;
    uint64_t                   bucket_time;
};


/*
 * The gauges of one worker process, in the slot nginx gave it
 * (ngx_process_slot): a worker that dies without closing its connections
 * (kill -9, a crash) leaves numbers that the next process in that slot
 * clears (ngx_zigtls_ops_init_process); the pages show the sum.
 */
typedef struct {
    ngx_atomic_t               in_progress;
    ngx_atomic_t               active;
    ngx_atomic_t               conn_memory;    /* zt_conn_memory, all open */
} ngx_zigtls_ops_gauges_t;


typedef struct {
    ngx_atomic_t               started;
    ngx_atomic_t               succeeded;
    ngx_atomic_t               failed;
    ngx_atomic_t               reasons[NGX_ZIGTLS_R_COUNT];
    ngx_atomic_t               alerts_sent[256];
    ngx_atomic_t               alerts_received[256];
    ngx_atomic_t               suites[4];      /* 1301, 1302, 1303, other */
    ngx_atomic_t               groups[5];      /* X25519MLKEM768,
                                                  SecP256r1MLKEM768, x25519,
                                                  secp256r1, other */
    ngx_atomic_t               sigalgs[6];     /* 0403 0804 0805 0806 0807 ? */
    ngx_atomic_t               alpn[NGX_ZIGTLS_OPS_NALPN + 2]; /* none, other */
    u_char                     alpn_names[NGX_ZIGTLS_OPS_NALPN][32];
    ngx_atomic_t               key_updates;
    ngx_atomic_t               cert_compressed[2]; /* zlib, brotli */
    ngx_atomic_t               cert_saved_bytes;   /* by compression */
    ngx_atomic_t               bytes_in;
    ngx_atomic_t               bytes_out;
    ngx_atomic_t               latency[NGX_ZIGTLS_OPS_NBUCKETS + 1];
    ngx_atomic_t               latency_sum_us;
    ngx_atomic_t               latency_count;

    ngx_atomic_t               generation_counter;
    ngx_atomic_t               change_seq;     /* any generation moved */
    ngx_atomic_t               config_seq;     /* nginx configurations */
    ngx_atomic_t               reload_lock;    /* pid of the reloader */
    ngx_atomic_t               reload_lock_time;
    ngx_atomic_t               reload_requests;
    ngx_atomic_t               request_seq;    /* POSTs for the other side */
    ngx_atomic_t               request_done;
    ngx_atomic_t               request_rollback;
    ngx_atomic_t               slots_failed;   /* zone too full for a slot */
    ngx_atomic_t               nslots;

    ngx_zigtls_ops_shslot_t   *slots;

    ngx_zigtls_ops_gauges_t    gauges[NGX_MAX_PROCESSES];
} ngx_zigtls_ops_sh_t;


typedef struct ngx_zigtls_ops_retired_s  ngx_zigtls_ops_retired_t;

struct ngx_zigtls_ops_retired_s {
    ngx_zigtls_ops_retired_t  *next;
    zt_config                 *zt;
    ngx_uint_t                 remaining;  /* older connections still open */
    ngx_uint_t                 epoch;
};


typedef struct ngx_zigtls_ops_main_s  ngx_zigtls_ops_main_t;


/* per server{} directives of the operations plane */
typedef struct {
    ngx_uint_t                 rate;        /* milli-handshakes per second */
    ngx_uint_t                 burst;
    ngx_str_t                  keylog;
    ngx_open_file_t           *keylog_file;
    ngx_msec_t                 reload_interval;
} ngx_zigtls_ops_srv_conf_t;


/* one server{} in one worker: its certificate store */
typedef struct {
    ngx_zigtls_srv_conf_t     *zscf;
    ngx_zigtls_ops_srv_conf_t *oscf;
    ngx_zigtls_ops_main_t     *main;
    ngx_str_t                  name;        /* for status pages */
    ngx_str_t                  key;         /* for shared memory */

    ngx_zigtls_ops_shslot_t   *sh;

    zt_config                 *initial;     /* owned by the cycle pool */
    zt_config                 *previous;
    uint64_t                   generation;
    uint64_t                   prev_generation;
    ngx_msec_t                 last_check;
} ngx_zigtls_ops_slot_t;


struct ngx_zigtls_ops_main_s {
    ngx_shm_zone_t            *shm_zone;
    ngx_array_t                slots;       /* of ngx_zigtls_ops_slot_t */
    ngx_msec_t                 min_interval;
    ngx_uint_t                 remote;      /* reloads asked for by http */
    u_char                    *file;
    ngx_uint_t                 line;
};


typedef struct {
    ngx_uint_t                 ok;          /* 0 failed, 1 ok, 2 unchanged */
    ngx_str_t                  reason;
    uint64_t                   generation;
} ngx_zigtls_ops_result_t;


/* configuration (protocol modules) */
char *ngx_zigtls_ops_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_zigtls_ops_main_t *omcf);
char *ngx_zigtls_ops_set_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_zigtls_ops_set_keylog(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_zigtls_ops_init_srv_conf(ngx_zigtls_ops_srv_conf_t *conf);
char *ngx_zigtls_ops_merge_srv_conf(ngx_conf_t *cf,
    ngx_zigtls_ops_srv_conf_t *conf, ngx_zigtls_ops_srv_conf_t *prev);
ngx_int_t ngx_zigtls_ops_add_server(ngx_conf_t *cf,
    ngx_zigtls_ops_main_t *omcf, ngx_zigtls_srv_conf_t *zscf,
    ngx_zigtls_ops_srv_conf_t *oscf, ngx_str_t *name);
ngx_int_t ngx_zigtls_ops_check_zone(ngx_conf_t *cf,
    ngx_zigtls_ops_main_t *omcf);
ngx_int_t ngx_zigtls_ops_init_process(ngx_cycle_t *cycle,
    ngx_zigtls_ops_main_t *omcf);
void ngx_zigtls_ops_warn_keylog(ngx_cycle_t *cycle,
    ngx_zigtls_ops_main_t *omcf);

/* run time */
ngx_zigtls_ops_main_t *ngx_zigtls_ops_get_main(void);
ngx_zigtls_ops_sh_t *ngx_zigtls_ops_sh(ngx_zigtls_ops_main_t *omcf);
/* this process's gauges */
#define NGX_ZIGTLS_OPS_MINE(sh)  (&(sh)->gauges[ngx_process_slot])
/* the gauges summed over every worker slot */
void ngx_zigtls_ops_gauges_sum(ngx_zigtls_ops_sh_t *sh,
    ngx_zigtls_ops_gauges_t *sum);
ngx_int_t ngx_zigtls_ops_reload(ngx_log_t *log, ngx_uint_t rollback,
    ngx_pool_t *pool, ngx_array_t *results, uint64_t *generation);
void ngx_zigtls_ops_request(ngx_uint_t rollback);
ngx_buf_t *ngx_zigtls_ops_render(ngx_pool_t *pool, ngx_uint_t prometheus);
ngx_int_t ngx_zigtls_ops_generation_value(ngx_connection_t *c,
    ngx_pool_t *pool, ngx_str_t *value);

/* hooks for ngx_zigtls_module.c */
void ngx_zigtls_ops_prepare(ngx_zigtls_srv_conf_t *conf);
void ngx_zigtls_ops_conn_open(ngx_zigtls_conn_t *zc);
void ngx_zigtls_ops_first_byte(ngx_zigtls_conn_t *zc);
void ngx_zigtls_ops_handshake_done(ngx_zigtls_conn_t *zc);
void ngx_zigtls_ops_handshake_failed(ngx_zigtls_conn_t *zc,
    ngx_uint_t reason);
void ngx_zigtls_ops_conn_close(ngx_zigtls_conn_t *zc);
void ngx_zigtls_ops_bytes(ngx_uint_t in, size_t n);
void ngx_zigtls_ops_memory(ngx_zigtls_conn_t *zc);


/* between the files of the operations plane */

#define ngx_zigtls_ops_inc(p)       (void) ngx_atomic_fetch_add(&(p), 1)
#define ngx_zigtls_ops_dec(p)       (void) ngx_atomic_fetch_add(&(p), -1)
#define ngx_zigtls_ops_add(p, n)                                            \
    (void) ngx_atomic_fetch_add(&(p), (ngx_atomic_int_t) (n))

/* ngx_zigtls_zone.c: this worker's configuration and zone */
extern ngx_zigtls_ops_main_t  *ngx_zigtls_ops_cur;
extern ngx_zigtls_ops_sh_t    *ngx_zigtls_ops_shm;
extern const uint64_t  ngx_zigtls_ops_bucket_us[NGX_ZIGTLS_OPS_NBUCKETS];
extern const uint16_t  ngx_zigtls_ops_suites[3];
extern const uint16_t  ngx_zigtls_ops_groups[4];
extern const uint16_t  ngx_zigtls_ops_sigalgs[5];
uint64_t ngx_zigtls_ops_clock(void *arg);

/* ngx_zigtls_certs.c */
extern ngx_atomic_uint_t       ngx_zigtls_ops_seen_seq;
ngx_uint_t ngx_zigtls_ops_store_enter(void);
void ngx_zigtls_ops_store_leave(ngx_uint_t epoch, ngx_log_t *log);
void ngx_zigtls_ops_stamps(ngx_zigtls_ops_slot_t *slot,
    ngx_zigtls_ops_stamp_t *st);
void ngx_zigtls_ops_publish_certs(ngx_zigtls_ops_slot_t *slot,
    zt_config *zt);
void ngx_zigtls_ops_start_timer(ngx_cycle_t *cycle,
    ngx_zigtls_ops_main_t *omcf);

/* ngx_zigtls_ratelimit.c */
zt_err ngx_zigtls_ops_client_hello(void *arg, zt_conn *zt,
    const zt_client_hello *ch, const zt_config **use);

/* ngx_zigtls_keylog.c */
void ngx_zigtls_ops_keylog(void *arg, const zt_conn *c, const char *line);


#endif /* _NGX_ZIGTLS_OPS_H_INCLUDED_ */
