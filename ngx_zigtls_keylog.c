
/*
 * zigtls for nginx, operations plane: zigtls_keylog, NSS key log lines
 * for debugging (Wireshark reads them).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_zigtls_ops.h"


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


void
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
