/*
 * The harness the C tests share (umh_ctest.c, umh_landlock_test.c, umh_seccomp_test.c): the
 * CHECK counters, the test-blobs directory and its files, the child's status, and the run of a
 * table of tests: "ok"/"FAIL"/"SKIP" a test, then "tests: N ran, N skipped" and
 * "N passed, N failed" (checks); the exit code 0, or 1 if a check failed.
 * Each test program is one translation unit that includes this once (after _GNU_SOURCE and its
 * own headers); everything here is static.
 */
#ifndef UMH_TEST_H
#define UMH_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umh.h"

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

static int passed, failed;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                  \
    } while (0)

static const char *blobs; /* the test-blobs directory, the program's one argument */

/* What a test needs that this system may not do: why_not[needs] says why not ("" where it can).
 * 0 is for the tests that run anywhere; each program names the rest. */
#define MAX_NEEDS 4
static char why_not[MAX_NEEDS][256];

struct test {
    const char *name;
    void (*run)(void);
    int needs; /* an index into why_not */
};

/* The usage check (program: its name in the message), then blobs; stdout line-buffered, to
 * interleave with the FAIL lines on stderr. 0, or -1 (usage printed): exit 2. */
static inline int start_tests(int argc, char **argv, const char *program)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEST_BLOBS_DIR\n", program);
        return -1;
    }
    blobs = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    return 0;
}

/* "not here: WHAT (WHY)" for each of needs 1 .. n - 1 that this system does not meet */
static inline void say_not_here(const char *const *needs_what, int n)
{
    for (int i = 1; i < n; i++)
        if (why_not[i][0] != '\0')
            printf("not here: %s (%s)\n", needs_what[i], why_not[i]);
}

struct tally {
    int ran, skipped;
};

/* Runs the tests in order: "ok"/"FAIL" for each that ran, "SKIP name: needs WHAT" (and ": WHY"
 * with say_why) for each whose needs are not met here. */
static inline struct tally run_tests(const struct test *tests, size_t n, const char *const *needs_what, int say_why)
{
    struct tally t = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        const char *why = why_not[tests[i].needs];
        if (why[0] != '\0') {
            if (say_why)
                printf("SKIP %s: needs %s: %s\n", tests[i].name, needs_what[tests[i].needs], why);
            else
                printf("SKIP %s: needs %s\n", tests[i].name, needs_what[tests[i].needs]);
            t.skipped++;
            continue;
        }
        int failed_before = failed;
        tests[i].run();
        printf("%s %s\n", failed == failed_before ? "ok  " : "FAIL", tests[i].name);
        t.ran++;
    }
    return t;
}

/* The last two lines; the exit code */
static inline int report(struct tally t)
{
    printf("tests: %d ran, %d skipped\n", t.ran, t.skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

/* The file at path in a sealed memfd (umh_memfd_load's answer); exit 2 if it cannot be read */
static inline int memfd_of_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(path);
        exit(2);
    }
    char *data = malloc((size_t)st.st_size);
    if (data == NULL || read(fd, data, (size_t)st.st_size) != st.st_size)
        exit(2);
    close(fd);
    int memfd = umh_memfd_load(data, (size_t)st.st_size);
    free(data);
    return memfd;
}

/* the test blob `name` in a sealed memfd */
static inline int load_file(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", blobs, name);
    return memfd_of_file(path);
}

static inline int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

/* The errno of execveat(-1, "", AT_EMPTY_PATH): EBADF on any kernel that has the call, ENOSYS
 * where it does not (qemu-user 7.2) */
static inline int execveat_errno(void)
{
    errno = 0;
    syscall(SYS_execveat, -1, "", (char *const[]){ NULL }, (char *const[]){ NULL }, AT_EMPTY_PATH);
    return errno;
}

/* Waits for the child pid: its status as the JDK reports it (exit code, or 128 + signal), or -1 */
static inline int status_of(int pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

#endif
