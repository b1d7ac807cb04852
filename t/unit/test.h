/* t/unit/test.h: the unit-test harness shared by every t/unit/test_*.c.
 * Each suite is a function `void suite_NAME(void)` listed in main.c.
 * CHECK counts one passed or failed assertion; the runner ends with
 * "N passed, N failed". */
#ifndef ZT_TEST_H
#define ZT_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern unsigned long zt_test_passed, zt_test_failed;
extern const char *zt_test_suite;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            zt_test_passed++;                                                \
        } else {                                                             \
            zt_test_failed++;                                                \
            fprintf(stderr, "FAIL %s %s:%d: %s\n", zt_test_suite, __FILE__,  \
                    __LINE__, #cond);                                        \
        }                                                                    \
    } while (0)

#define CHECK_MSG(cond, ...)                                                 \
    do {                                                                     \
        if (cond) {                                                          \
            zt_test_passed++;                                                \
        } else {                                                             \
            zt_test_failed++;                                                \
            fprintf(stderr, "FAIL %s %s:%d: %s: ", zt_test_suite, __FILE__,  \
                    __LINE__, #cond);                                        \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                   \
    CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld",              \
              (long long)(a), (long long)(b))

#define CHECK_STR(got, want)                                                 \
    CHECK_MSG(strcmp((got), (want)) == 0, "\"%s\", want \"%s\"", (got),    \
              (want))

/* Compare memory; on mismatch print both in hex (first 64 bytes). */
#define CHECK_MEM(a, alen, b, blen)                                          \
    zt_check_mem(__FILE__, __LINE__, #a, (a), (alen), (b), (blen))

int zt_check_mem(const char *file, int line, const char *what,
                 const uint8_t *a, size_t alen, const uint8_t *b,
                 size_t blen);

/* Hex helpers: decode into a malloc'd buffer (caller frees). */
uint8_t *zt_unhex(const char *hex, size_t *len);
/* Read a whole file into a malloc'd NUL-terminated buffer. */
char *zt_read_file(const char *path, size_t *len);

/* Path of the shared vectors, relative to the test's working directory
 * (the runner is started in t/unit; override with ZT_VECTORS). */
const char *zt_vectors_dir(void);

#endif
