/* t/unit/main.c: runs every unit-test suite and prints the summary line. */
#include <stdlib.h>

#include "test.h"

unsigned long zt_test_passed, zt_test_failed;
const char *zt_test_suite = "";

#define SUITES(X) X(wycheproof) X(rfc8448) X(negative) X(engine) X(ja4) X(certcomp) X(pq) \
    X(sessions) X(io) X(client_auth) X(files)

#define DECL(n) void suite_##n(void);
SUITES(DECL)

int zt_check_mem(const char *file, int line, const char *what,
                 const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t i;

    if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0)) {
        zt_test_passed++;
        return 1;
    }
    zt_test_failed++;
    fprintf(stderr, "FAIL %s %s:%d: %s (len %zu vs %zu)\n  got:  ",
            zt_test_suite, file, line, what, alen, blen);
    for (i = 0; i < alen && i < 64; i++)
        fprintf(stderr, "%02x", a[i]);
    fprintf(stderr, "\n  want: ");
    for (i = 0; i < blen && i < 64; i++)
        fprintf(stderr, "%02x", b[i]);
    fputc('\n', stderr);
    return 0;
}

uint8_t *zt_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex), i;
    uint8_t *out = malloc(n / 2 + 1);

    for (i = 0; i + 1 < n + 1 && i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)v;
    }
    *len = n / 2;
    return out;
}

char *zt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

const char *zt_vectors_dir(void)
{
    const char *v = getenv("ZT_VECTORS");
    return v ? v : "../../../shared/vectors";
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;

#define RUN(n)                                                               \
    if (only == NULL || strcmp(only, #n) == 0) {                             \
        unsigned long p0 = zt_test_passed, f0 = zt_test_failed;              \
        zt_test_suite = #n;                                                  \
        suite_##n();                                                         \
        printf("suite %-12s %lu passed, %lu failed\n", #n,                   \
               zt_test_passed - p0, zt_test_failed - f0);                    \
    }
    SUITES(RUN)
    printf("%lu passed, %lu failed\n", zt_test_passed, zt_test_failed);
    return zt_test_failed == 0 && zt_test_passed > 0 ? 0 : 1;
}
