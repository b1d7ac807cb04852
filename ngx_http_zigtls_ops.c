
/*
 * zigtls for nginx: the operations plane of the http module
 * (ngx_http_zigtls_ops_module, in ngx_http_zigtls_module.so).
 *
 *   zigtls_zone name:size;                      http
 *   zigtls_handshake_rate RATE [burst=N];       http, server
 *   zigtls_keylog file | off;                   http, server
 *   zigtls_certificate_reload_interval time;    http, server
 *   zigtls_status [text | prometheus];          location
 *   zigtls_reload [rollback];                   location
 *   $zigtls_cert_generation
 *
 * The work is done by the operations plane (ngx_zigtls_ops.h); this file
 * is the http side.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_zigtls_ops.h"


typedef struct {
    ngx_uint_t                 prometheus;
    ngx_uint_t                 rollback;
} ngx_http_zigtls_ops_loc_conf_t;


extern ngx_module_t  ngx_http_zigtls_module;


static char *ngx_http_zigtls_ops_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_zigtls_ops_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_zigtls_ops_reload(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_zigtls_ops_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_zigtls_ops_reload_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_zigtls_ops_send(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, ngx_buf_t *b);
static ngx_int_t ngx_http_zigtls_ops_generation(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_zigtls_ops_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_zigtls_ops_postconfiguration(ngx_conf_t *cf);
static char *ngx_http_zigtls_ops_needs_zone(ngx_conf_t *cf,
    ngx_command_t *cmd);
static void *ngx_http_zigtls_ops_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_zigtls_ops_create_srv_conf(ngx_conf_t *cf);
static char *ngx_http_zigtls_ops_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static void *ngx_http_zigtls_ops_create_loc_conf(ngx_conf_t *cf);
static ngx_int_t ngx_http_zigtls_ops_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_zigtls_ops_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_zigtls_ops_commands[] = {

    { ngx_string("zigtls_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_zigtls_ops_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zigtls_handshake_rate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE12,
      ngx_zigtls_ops_set_rate,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zigtls_keylog"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_zigtls_ops_set_keylog,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zigtls_certificate_reload_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_SRV_CONF_OFFSET,
      offsetof(ngx_zigtls_ops_srv_conf_t, reload_interval),
      NULL },

    { ngx_string("zigtls_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_zigtls_ops_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("zigtls_reload"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_zigtls_ops_reload,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_zigtls_ops_module_ctx = {
    ngx_http_zigtls_ops_add_variables,     /* preconfiguration */
    ngx_http_zigtls_ops_postconfiguration, /* postconfiguration */

    ngx_http_zigtls_ops_create_main_conf,  /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_http_zigtls_ops_create_srv_conf,   /* create server configuration */
    ngx_http_zigtls_ops_merge_srv_conf,    /* merge server configuration */

    ngx_http_zigtls_ops_create_loc_conf,   /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_zigtls_ops_module = {
    NGX_MODULE_V1,
    &ngx_http_zigtls_ops_module_ctx,       /* module context */
    ngx_http_zigtls_ops_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_zigtls_ops_init_module,       /* init module */
    ngx_http_zigtls_ops_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_zigtls_ops_generation_name =
    ngx_string("zigtls_cert_generation");


static char *
ngx_http_zigtls_ops_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_zigtls_ops_zone(cf, cmd, conf);
}


static char *
ngx_http_zigtls_ops_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_zigtls_ops_loc_conf_t  *olcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    value = cf->args->elts;

    if (cf->args->nelts > 1) {
        if (ngx_strcmp(value[1].data, "prometheus") == 0) {
            olcf->prometheus = 1;

        } else if (ngx_strcmp(value[1].data, "text") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid format \"%V\", expected \"text\" or "
                               "\"prometheus\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_zigtls_ops_status_handler;

    return ngx_http_zigtls_ops_needs_zone(cf, cmd);
}


static char *
ngx_http_zigtls_ops_reload(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_zigtls_ops_loc_conf_t  *olcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    value = cf->args->elts;

    if (cf->args->nelts > 1) {
        if (ngx_strcmp(value[1].data, "rollback") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\", expected "
                               "\"rollback\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        olcf->rollback = 1;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_zigtls_ops_reload_handler;

    return ngx_http_zigtls_ops_needs_zone(cf, cmd);
}


/*
 * zigtls_status and zigtls_reload work on the zone: the first of them in
 * this configuration is remembered, and postconfiguration refuses it when
 * the http{} block has no zigtls_zone ("nginx -t" says where)
 */

static ngx_str_t    ngx_http_zigtls_ops_needer;
static u_char      *ngx_http_zigtls_ops_needer_file;
static ngx_uint_t   ngx_http_zigtls_ops_needer_line;


static char *
ngx_http_zigtls_ops_needs_zone(ngx_conf_t *cf, ngx_command_t *cmd)
{
    if (ngx_http_zigtls_ops_needer_file) {
        return NGX_CONF_OK;
    }

    ngx_http_zigtls_ops_needer_file = ngx_pnalloc(cf->pool,
                                          cf->conf_file->file.name.len + 1);
    if (ngx_http_zigtls_ops_needer_file == NULL) {
        return NGX_CONF_ERROR;
    }

    (void) ngx_cpystrn(ngx_http_zigtls_ops_needer_file,
                       cf->conf_file->file.name.data,
                       cf->conf_file->file.name.len + 1);
    ngx_http_zigtls_ops_needer_line = cf->conf_file->line;
    ngx_http_zigtls_ops_needer = cmd->name;

    return NGX_CONF_OK;
}


/* "?format=prometheus", "?rollback", "?rollback=1" */

static ngx_uint_t
ngx_http_zigtls_ops_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char  *p, *last, *end, *eq;
    size_t   len;

    len = ngx_strlen(name);
    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        eq = ngx_strlchr(p, end, '=');

        if ((size_t) ((eq ? eq : end) - p) == len
            && ngx_strncmp(p, name, len) == 0)
        {
            if (value) {
                value->data = eq ? eq + 1 : end;
                value->len = eq ? (size_t) (end - eq - 1) : 0;
            }

            return 1;
        }

        p = end + 1;
    }

    return 0;
}


static ngx_int_t
ngx_http_zigtls_ops_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_str_t                        v;
    ngx_buf_t                       *b;
    ngx_uint_t                       prom;
    ngx_http_zigtls_ops_loc_conf_t  *olcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_zigtls_ops_module);
    prom = olcf->prometheus;

    if (ngx_http_zigtls_ops_arg(r, "format", &v)) {
        if (v.len == 10 && ngx_strncmp(v.data, "prometheus", 10) == 0) {
            prom = 1;

        } else if (v.len == 4 && ngx_strncmp(v.data, "text", 4) == 0) {
            prom = 0;

        } else {
            return NGX_HTTP_BAD_REQUEST;
        }
    }

    if (ngx_zigtls_ops_sh(ngx_zigtls_ops_get_main()) == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "zigtls_status needs a \"zigtls_zone\"");
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    b = ngx_zigtls_ops_render(r->pool, prom);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_zigtls_ops_send(r, NGX_HTTP_OK,
                                    prom ? "text/plain; version=0.0.4; "
                                           "charset=utf-8"
                                         : "text/plain; charset=utf-8",
                                    b);
}


static u_char *
ngx_http_zigtls_ops_json_str(u_char *p, u_char *last, u_char *s, size_t len)
{
    size_t  i;

    if (p < last) {
        *p++ = '"';
    }

    for (i = 0; i < len && p + 7 < last; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            *p++ = '\\';
            *p++ = s[i];

        } else if (s[i] < 0x20) {
            p = ngx_sprintf(p, "\\u%04xi", (ngx_uint_t) s[i]);

        } else {
            *p++ = s[i];
        }
    }

    if (p < last) {
        *p++ = '"';
    }

    return p;
}


static ngx_int_t
ngx_http_zigtls_ops_reload_handler(ngx_http_request_t *r)
{
    u_char                          *p, *last;
    uint64_t                         gen;
    ngx_int_t                        rc;
    ngx_buf_t                       *b;
    ngx_uint_t                       i, j, rollback, status;
    ngx_array_t                      results;
    ngx_table_elt_t                 *h;
    ngx_zigtls_file_t               *certs;
    ngx_zigtls_ops_main_t           *omcf;
    ngx_zigtls_ops_slot_t          **slots;
    ngx_zigtls_ops_result_t         *res;
    ngx_http_zigtls_ops_loc_conf_t  *olcf;

    if (r->method != NGX_HTTP_POST) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "POST");

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_zigtls_ops_module);
    rollback = olcf->rollback || ngx_http_zigtls_ops_arg(r, "rollback", NULL);

    omcf = ngx_zigtls_ops_get_main();

    if (ngx_zigtls_ops_sh(omcf) == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "zigtls_reload needs a \"zigtls_zone\"");
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    if (ngx_array_init(&results, r->pool, 4, sizeof(ngx_zigtls_ops_result_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    gen = 0;

    rc = ngx_zigtls_ops_reload(r->connection->log, rollback, r->pool,
                               &results, &gen);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_BUSY) {
        /* stream servers sharing the zone: a stream worker does them */
        ngx_zigtls_ops_request(rollback);
    }

    b = ngx_create_temp_buf(r->pool, 1024 + results.nelts * 4096);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->pos;
    last = b->end;

    if (rc == NGX_BUSY) {
        p = ngx_slprintf(p, last, "{\"result\":\"busy\",\"reason\":"
                         "\"another reload is running\"}\n");
        b->last = p;

        return ngx_http_zigtls_ops_send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        "application/json", b);
    }

    status = rc == NGX_OK ? NGX_HTTP_OK : NGX_HTTP_CONFLICT;

    p = ngx_slprintf(p, last, "{\"result\":\"%s\",\"action\":\"%s\","
                     "\"generation\":%uL,\"servers\":[",
                     rc == NGX_OK ? "ok" : "failed",
                     rollback ? "rollback" : "reload", gen);

    slots = omcf->slots.elts;
    res = results.elts;

    for (i = 0; i < results.nelts; i++) {
        certs = slots[i]->zscf->certificates->elts;

        p = ngx_slprintf(p, last, "%s{\"server\":", i ? "," : "");
        p = ngx_http_zigtls_ops_json_str(p, last, slots[i]->name.data,
                                         slots[i]->name.len);
        p = ngx_slprintf(p, last, ",\"result\":\"%s\",\"generation\":%uL,"
                         "\"previous_generation\":%uL,\"certificates\":[",
                         res[i].ok == 1 ? "ok"
                         : res[i].ok == 2 ? "unchanged" : "failed",
                         slots[i]->generation, slots[i]->prev_generation);

        for (j = 0; j < slots[i]->zscf->certificates->nelts; j++) {
            p = ngx_slprintf(p, last, "%s", j ? "," : "");
            p = ngx_http_zigtls_ops_json_str(p, last, certs[j].name.data,
                                             certs[j].name.len);
        }

        p = ngx_slprintf(p, last, "]");

        if (res[i].reason.len) {
            p = ngx_slprintf(p, last, ",\"reason\":");
            p = ngx_http_zigtls_ops_json_str(p, last, res[i].reason.data,
                                             res[i].reason.len);
        }

        p = ngx_slprintf(p, last, "}");
    }

    p = ngx_slprintf(p, last, "]}\n");
    b->last = p;

    return ngx_http_zigtls_ops_send(r, status, "application/json", b);
}


static ngx_int_t
ngx_http_zigtls_ops_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_buf_t *b)
{
    ngx_int_t    rc;
    ngx_chain_t  out;

    r->headers_out.status = status;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = b->last - b->pos;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    if (r->method == NGX_HTTP_HEAD || b->last == b->pos) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_zigtls_ops_generation(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_int_t          rc;
    ngx_str_t          s;
    ngx_connection_t  *c;

    c = r->connection;

#if (NGX_HTTP_V2)
    if (r->stream) {
        c = r->stream->connection->connection;
    }
#endif

    rc = ngx_zigtls_ops_generation_value(c, r->pool, &s);

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
ngx_http_zigtls_ops_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    /* a new configuration is read: nothing of the last one counts */
    ngx_http_zigtls_ops_needer_file = NULL;

    var = ngx_http_add_variable(cf, &ngx_http_zigtls_ops_generation_name,
                                NGX_HTTP_VAR_CHANGEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_zigtls_ops_generation;

    return NGX_OK;
}


/* every server{} with "zigtls on" gets a certificate store */

static ngx_int_t
ngx_http_zigtls_ops_postconfiguration(ngx_conf_t *cf)
{
    ngx_str_t                    name;
    ngx_uint_t                   s;
    ngx_zigtls_srv_conf_t       *zscf;
    ngx_zigtls_ops_main_t       *omcf;
    ngx_zigtls_ops_srv_conf_t   *oscf;
    ngx_http_core_srv_conf_t   **cscfp;
    ngx_http_core_main_conf_t   *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_zigtls_ops_module);

    if (ngx_http_zigtls_ops_needer_file && omcf->shm_zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%V\" in %s:%ui needs a \"zigtls_zone\" in the "
                      "http{} block",
                      &ngx_http_zigtls_ops_needer,
                      ngx_http_zigtls_ops_needer_file,
                      ngx_http_zigtls_ops_needer_line);
        return NGX_ERROR;
    }

    cscfp = cmcf->servers.elts;

    for (s = 0; s < cmcf->servers.nelts; s++) {
        zscf = cscfp[s]->ctx->srv_conf[ngx_http_zigtls_module.ctx_index];
        oscf = cscfp[s]->ctx->srv_conf[ngx_http_zigtls_ops_module.ctx_index];

        if (!zscf->enable || zscf->zt == NULL) {
            continue;
        }

        name = cscfp[s]->server_name;

        if (name.len == 0) {
            ngx_str_set(&name, "_");
        }

        if (ngx_zigtls_ops_add_server(cf, omcf, zscf, oscf, &name)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_zigtls_ops_check_zone(cf, omcf);
}


static void *
ngx_http_zigtls_ops_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_zigtls_ops_main_t));
}


static void *
ngx_http_zigtls_ops_create_srv_conf(ngx_conf_t *cf)
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
ngx_http_zigtls_ops_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    return ngx_zigtls_ops_merge_srv_conf(cf, child, parent);
}


static void *
ngx_http_zigtls_ops_create_loc_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_zigtls_ops_loc_conf_t));
}


/* the key log warning again, now that the error log is open */

static ngx_int_t
ngx_http_zigtls_ops_init_module(ngx_cycle_t *cycle)
{
    ngx_zigtls_ops_main_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_zigtls_ops_module);

    ngx_zigtls_ops_warn_keylog(cycle, omcf);

    return NGX_OK;
}


static ngx_int_t
ngx_http_zigtls_ops_init_process(ngx_cycle_t *cycle)
{
    ngx_zigtls_ops_main_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_zigtls_ops_module);

    return ngx_zigtls_ops_init_process(cycle, omcf);
}
