/* t/unit/test_files.c: configuration files read by the core
 * (zt_config_add_credential_file and the CA/CRL readers).
 *
 * - a FIFO, a directory or a device in place of a file is refused at once
 *   with "not a regular file" (an open() of a FIFO would wait for good)
 * - a missing file says why
 * - a key file larger than any first buffer leaves no copy of the key in
 *   memory released by the core: free() and realloc() are wrapped in the
 *   unit binary (-Wl,--wrap), and every block the core releases while the
 *   check is armed is searched for a piece of the key
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "zigtls.h"

void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static const char *armed;     /* the piece of secret looked for */
static unsigned long leaked;  /* blocks released holding it */

static void check_block(void *p)
{
    size_t n, k;

    if (armed == NULL || p == NULL)
        return;
    n = malloc_usable_size(p);
    k = strlen(armed);
    if (n >= k && memmem(p, n, armed, k) != NULL)
        leaked++;
}

void *__wrap_realloc(void *p, size_t n)
{
    /* a realloc that moves the block frees the old one as it is */
    check_block(p);
    return __real_realloc(p, n);
}

void __wrap_free(void *p)
{
    check_block(p);
    __real_free(p);
}

static char dir[] = "/tmp/zt-unit-files-XXXXXX";

static void on_alarm(int sig)
{
    static const char msg[] = "FAIL files: a file read blocked\n";

    (void)sig;
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

static void refused(const char *cert, const char *key, const char *want)
{
    char err[512] = "";
    zt_config *cfg = zt_config_new();

    alarm(10);
    CHECK(zt_config_add_credential_file(cfg, cert, key, err, sizeof(err))
          == ZT_E_CONFIG);
    alarm(0);
    CHECK_MSG(strstr(err, want) != NULL, "error \"%s\", wanted \"%s\"", err,
              want);
    CHECK_EQ_INT(zt_config_credential_count(cfg), 0);
    zt_config_free(cfg);
}

static void test_not_regular(void)
{
    char fifo[128], sub[128];

    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(mkdir(sub, 0700) == 0);

    refused(fifo, "certs/p256.key", "is not a regular file");
    refused("certs/p256.crt", fifo, "is not a regular file");
    refused(sub, "certs/p256.key", "is not a regular file");
    refused("certs/p256.crt", "/dev/zero", "is not a regular file");
    refused("certs/p256.crt", "certs/no-such.key", "No such file");

    unlink(fifo);
    rmdir(sub);
}

static void test_no_copies(void)
{
    char path[128], err[512] = "", piece[33];
    size_t len, i;
    char *pem, *b64;
    FILE *f;
    zt_config *cfg;

    /* the key, then 60 kB of text after its END line (PEM allows it) */
    pem = zt_read_file("certs/rsa2048.key", &len);
    CHECK(pem != NULL);
    if (pem == NULL)
        return;
    snprintf(path, sizeof(path), "%s/big.key", dir);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL) {
        free(pem);
        return;
    }
    fwrite(pem, 1, len, f);
    for (i = 0; i < 1000; i++)
        fprintf(f, "# comment line %04zu after the key, to make it large\n",
                i);
    fclose(f);

    /* a piece of the key: the start of its eighth base64 line */
    b64 = pem;
    for (i = 0; i < 8 && b64 != NULL; i++) {
        b64 = strchr(b64, '\n');
        if (b64 != NULL)
            b64++;
    }
    CHECK(b64 != NULL && strlen(b64) > 64);
    if (b64 == NULL || strlen(b64) <= 64) {
        free(pem);
        return;
    }
    memcpy(piece, b64, 32);
    piece[32] = '\0';

    cfg = zt_config_new();
    leaked = 0;
    armed = piece;
    CHECK(zt_config_add_credential_file(cfg, "certs/rsa2048.crt", path, err,
                                        sizeof(err)) == ZT_OK);
    armed = NULL;
    CHECK_MSG(leaked == 0,
              "%lu block(s) released with a copy of the key in them",
              leaked);
    CHECK_EQ_INT(zt_config_credential_count(cfg), 1);
    zt_config_free(cfg);

    free(pem);
    unlink(path);
}

void suite_files(void)
{
    zt_test_suite = "files";
    signal(SIGALRM, on_alarm);
    if (mkdtemp(dir) == NULL) {
        CHECK(0);
        return;
    }
    test_not_regular();
    test_no_copies();
    rmdir(dir);
}
