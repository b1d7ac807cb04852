/*
 * replay_main.c: a plain main() for the libFuzzer harnesses, so `make test`
 * replays the committed corpus without clang or libFuzzer.
 *
 *   build/replay_fuzz_NAME FILE|DIR...
 *
 * Every argument is a file, or a directory whose regular files are replayed
 * in name order (not recursive). Each input is copied into a buffer of its
 * exact size (so a sanitizer sees any over-read) and given to
 * LLVMFuzzerTestOneInput once. A crash aborts the run; an input that cannot
 * be read counts as failed. Replaying nothing is a failure too: an empty or
 * missing corpus must not pass silently.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t n_passed, n_failed;

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    int ok = f != NULL;

    while (ok) {
        if (cap - len < 4096) {
            uint8_t *nb = realloc(buf, cap ? cap * 2 : 65536);
            if (nb == NULL) {
                ok = 0;
                break;
            }
            buf = nb;
            cap = cap ? cap * 2 : 65536;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            ok = !ferror(f);
            break;
        }
    }
    if (f != NULL)
        fclose(f);
    if (ok) {
        /* exact-size copy: an over-read by one byte is caught */
        uint8_t *exact = malloc(len ? len : 1);
        ok = exact != NULL;
        if (ok) {
            if (len)
                memcpy(exact, buf, len);
            LLVMFuzzerTestOneInput(exact, len);
            free(exact);
        }
    }
    free(buf);
    if (ok) {
        n_passed++;
    } else {
        n_failed++;
        fprintf(stderr, "replay: cannot read %s: %s\n", path,
                strerror(errno ? errno : EIO));
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat st;
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0, i;

    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
        n_failed++;
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap ? cap * 2 : 256) * sizeof(*nn));
            if (nn == NULL)
                break;
            names = nn;
            cap = cap ? cap * 2 : 256;
        }
        names[n] = strdup(de->d_name);
        if (names[n] != NULL)
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        run_file(path);
        free(names[i]);
    }
    free(names);
}

/* "build/replay_fuzz_x" -> "fuzz_x"; else the last directory argument's
 * base name ("t/fuzz/corpus/fuzz_x/" -> "fuzz_x"). */
static void harness_name(int argc, char **argv, char *out, size_t len)
{
    const char *b = strrchr(argv[0], '/');
    char tmp[4096];
    size_t k;
    int i;

    b = b ? b + 1 : argv[0];
    if (strncmp(b, "replay_", 7) == 0 && b[7] != '\0') {
        snprintf(out, len, "%s", b + 7);
        return;
    }
    snprintf(out, len, "%s", b);
    for (i = argc - 1; i >= 1; i--) {
        struct stat st;
        if (stat(argv[i], &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        snprintf(tmp, sizeof(tmp), "%s", argv[i]);
        k = strlen(tmp);
        while (k > 1 && tmp[k - 1] == '/')
            tmp[--k] = '\0';
        b = strrchr(tmp, '/');
        snprintf(out, len, "%s", b ? b + 1 : tmp);
        return;
    }
}

int main(int argc, char **argv)
{
    char name[256];
    struct stat st;
    int i;

    harness_name(argc, argv, name, sizeof(name));
    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            n_failed++;
        } else if (S_ISDIR(st.st_mode)) {
            run_dir(argv[i]);
        } else {
            run_file(argv[i]);
        }
    }
    printf("replay %s: %zu passed, %zu failed\n", name, n_passed, n_failed);
    if (n_passed + n_failed == 0)
        fprintf(stderr, "replay %s: no inputs found\n", name);
    return n_failed == 0 && n_passed > 0 ? 0 : 1;
}
