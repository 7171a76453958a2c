/*
 * C unit tests of the shim's core, without a JVM: memfd sealing, spawn with pipes, exit codes,
 * exec failures leaving nothing behind, stdio fds already sitting on 0..2, and the child's fds;
 * the frames of umh_helper.h through short reads, EINTR, bad lengths and ends mid-frame.
 * Under an emulator (the aarch64 build runs under qemu-user) the tests that need what it cannot
 * do are skipped: see probe_system.
 * Usage: umh-ctest TEST_BLOBS_DIR. Prints each test as "ok", "FAIL" or "SKIP: needs ...", then
 * "N passed, N failed" (checks).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umh.h"
#include "umh_helper.h"
#include "umh_test.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

/* The step a failed clone reports: clone3's where umh uses it (x86_64, a kernel that has it),
 * else clone's. Set by probe_system. */
static int clone_step = UMH_CLONE;
#define TEST_SPAWNERS 4 /* the spawner pool's limit (main) */
static int exec_status = -1; /* what a child that execs "exit 0" ends with: 0, or 127 where it cannot exec */

static int spawn(int memfd, char **argv, struct umh_spawn_res *res)
{
    static char *envp[] = { "A=b", NULL };
    struct umh_spawn_req req = { .memfd = memfd, .flags = UMH_SPAWN_PDEATHSIG, .argv = argv, .envp = envp, .stdio[2].how = UMH_STDIO_INHERIT };
    return umh_spawn(&req, res);
}

/* spawn(), without PR_SET_PDEATHSIG: cloned on the calling thread, not the spawner */
static int spawn_here(int memfd, char **argv, struct umh_spawn_res *res)
{
    static char *envp[] = { "A=b", NULL };
    struct umh_spawn_req req = { .memfd = memfd, .argv = argv, .envp = envp, .stdio[2].how = UMH_STDIO_INHERIT };
    return umh_spawn(&req, res);
}

/* n threads running fn(memfd) at once, each of which must return NULL (no failure). */
static void in_threads(int n, void *(*fn)(void *), int *memfd)
{
    pthread_t t[16];
    for (int i = 0; i < n && i < 16; i++)
        CHECK(pthread_create(&t[i], NULL, fn, memfd) == 0);
    for (int i = 0; i < n && i < 16; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        CHECK(bad == NULL);
    }
}

static void close_res(struct umh_spawn_res *res)
{
    close(res->stdin_w);
    close(res->stdout_r);
    if (res->pidfd >= 0)
        close(res->pidfd);
}

/* EOF on the child's stdin, all of its stdout into out (NUL-terminated), then it must exit 0;
 * every fd of res closed. */
static void run_to_end(struct umh_spawn_res *res, char *out, size_t size)
{
    close(res->stdin_w);
    size_t len = 0;
    for (ssize_t n; (n = read(res->stdout_r, out + len, size - 1 - len)) > 0;)
        len += (size_t)n;
    out[len] = '\0';
    CHECK(umh_reap(res->pidfd, res->pid, 1) == 0);
    close(res->stdout_r);
    if (res->pidfd >= 0)
        close(res->pidfd);
}

static void test_seals(void)
{
    int fd = umh_memfd_load("#!/bin/sh\n", 10);
    CHECK(fd >= 0);
    CHECK(write(fd, "x", 1) < 0 && errno == EPERM);
    CHECK(ftruncate(fd, 0) < 0 && errno == EPERM);
    /* F_SEAL_FUTURE_WRITE since 5.1; F_SEAL_WRITE before (see umh_memfd_seal) */
    int seals = fcntl(fd, F_GET_SEALS);
    CHECK(seals == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)
          || seals == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL));
    CHECK(mmap(NULL, 10, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EPERM);
    CHECK(pwrite(fd, "x", 1, 0) < 0 && errno == EPERM);
    close(fd);
}

/* The bytes of fd from offset 0, into buf (up to size): how many */
static size_t read_all(int fd, char *buf, size_t size)
{
    size_t len = 0;
    for (ssize_t n; len < size && (n = pread(fd, buf + len, size - len, (off_t)len)) > 0;)
        len += (size_t)n;
    return len;
}

/* A file by the kernel's copy, a pipe by read/write: the same bytes, sealed, named; a missing file
 * and a directory fail naming the call, and nothing is left open */
static void test_load_file(void)
{
    char path[4096], link[256], name[64];
    snprintf(path, sizeof path, "%s/exit", blobs);
    static char want[1 << 21], got[1 << 21];
    int src = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = read_all(src, want, sizeof want);
    close(src);
    CHECK(len > 0 && len < sizeof want);
    int before = count_fds();
    long long size = -1;
    int fd = umh_memfd_load_file(path, "exit-file", &size);
    CHECK(fd >= 0 && size == (long long)len);
    CHECK(read_all(fd, got, sizeof got) == len && memcmp(want, got, len) == 0);
    CHECK(write(fd, "x", 1) < 0 && errno == EPERM);
    CHECK(!umh_memfd_is_script(fd));
    snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(name, link, sizeof link - 1);
    CHECK(n > 0 && (link[n] = '\0', strcmp(link, "/memfd:exit-file (deleted)") == 0));
    close(fd);

    int p[2];
    CHECK(pipe(p) == 0 && write(p[1], "#!/bin/sh\n", 10) == 10);
    close(p[1]);
    fd = umh_memfd_create("piped");
    CHECK(fd >= 0 && umh_memfd_copy(fd, p[0]) == 10 && umh_memfd_is_script(fd));
    close(p[0]);
    close(fd);

    snprintf(path, sizeof path, "%s/no-such-file", blobs);
    CHECK(umh_memfd_load_file(path, "x", &size) == UMH_FAIL(UMH_OPEN, ENOENT));
    CHECK(umh_memfd_load_file(blobs, "x", &size) == UMH_FAIL(UMH_READ, EISDIR));
    char msg[256];
    CHECK(strcmp(umh_describe(UMH_FAIL(UMH_READ, EISDIR), msg, sizeof msg), "read failed: EISDIR (Is a directory)") == 0);
    CHECK(count_fds() == before);
}

static void test_exit_code(void)
{
    int memfd = load_file("exit");
    char *argv[] = { "exit", "42", NULL };
    struct umh_spawn_res res;
    CHECK(spawn(memfd, argv, &res) == 0);
    CHECK(res.pidfd >= 0);
    CHECK(umh_reap(res.pidfd, res.pid, 1) == 42);
    close_res(&res);
    char *killed[] = { "exit", "-s", "9", NULL };
    CHECK(spawn(memfd, killed, &res) == 0);
    CHECK(umh_reap(res.pidfd, res.pid, 1) == 128 + 9);
    close_res(&res);
    close(memfd);
}

/* A spawned cat gets word and EOF, must echo word and exit 0, and res->pid must name it (this
 * process's child, exited); every fd of res closed. */
static void cat_echoes(struct umh_spawn_res *res, const char *word)
{
    char buf[16] = { 0 };
    size_t len = strlen(word);
    CHECK(write(res->stdin_w, word, len) == (ssize_t)len);
    close(res->stdin_w);
    CHECK(read(res->stdout_r, buf, sizeof buf) == (ssize_t)len && memcmp(buf, word, len) == 0);
    siginfo_t info = { 0 };
    CHECK(waitid(P_PID, (id_t)res->pid, &info, WEXITED | WNOWAIT) == 0 && info.si_pid == res->pid);
    CHECK(umh_reap(res->pidfd, res->pid, 1) == 0);
    close(res->stdout_r);
    close(res->pidfd);
}

static void test_cat_round_trip(void)
{
    int memfd = load_file("cat");
    char *argv[] = { "cat", NULL };
    struct umh_spawn_res res;
    CHECK(spawn(memfd, argv, &res) == 0);
    cat_echoes(&res, "ping");
    close(memfd);
}

static void test_enoexec_leaves_nothing(void)
{
    int memfd = umh_memfd_load("this is no program", 18);
    char *argv[] = { "x", NULL };
    struct umh_spawn_res res;
    int before = count_fds();
    int rc = spawn(memfd, argv, &res);
    CHECK(rc < 0 && UMH_FAIL_STEP(rc) == UMH_CHILD_EXECVEAT && UMH_FAIL_ERRNO(rc) == ENOEXEC);
    CHECK(count_fds() == before);
    CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* no zombie */
    char msg[256];
    CHECK(strcmp(umh_describe(rc, msg, sizeof msg), "execveat failed: ENOEXEC (Exec format error)") == 0);
    /* by the /proc/self/fd/N fallback, the failure is execve's */
    umh_fallbacks = UMH_NO_EXECVEAT;
    rc = spawn(memfd, argv, &res);
    umh_fallbacks = 0;
    CHECK(rc == UMH_FAIL(UMH_CHILD_EXECVE, ENOEXEC));
    CHECK(strcmp(umh_describe(rc, msg, sizeof msg), "execve failed: ENOEXEC (Exec format error)") == 0);
    CHECK(count_fds() == before);
    CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
    close(memfd);
}

/* A spawn of memfd as uid/gid 65534 (UMH_SPAWN_USER), on the spawner or here, run to its end
 * (into out): 0, or the spawn's failure. */
static int spawn_as_nobody(int memfd, int here, char *out, size_t size)
{
    char *argv[] = { "probe", NULL };
    static char *envp[] = { NULL };
    struct umh_spawn_req req = { .memfd = memfd, .flags = UMH_SPAWN_USER | (here ? 0 : UMH_SPAWN_PDEATHSIG),
                                 .argv = argv, .envp = envp, .stdio[2].how = UMH_STDIO_INHERIT, .uid = 65534, .gid = 65534 };
    struct umh_spawn_res res;
    int rc = umh_spawn(&req, &res);
    if (rc == 0)
        run_to_end(&res, out, size);
    return rc;
}

static void *spawn_some_as_nobody(void *arg)
{
    int memfd = *(int *)arg, bad = 0;
    char out[8192];
    for (int i = 0; i < 20; i++)
        bad += spawn_as_nobody(memfd, i % 2, out, sizeof out) != 0;
    return (void *)(long)bad;
}

/* Regression: a spawn with UMH_SPAWN_USER (ForkOptions.user) turned the calling process itself
 * non-dumpable. The vfork child shares the caller's mm, and the kernel resets the mm's dumpable
 * flag when the child changes its credentials (commit_creds). After spawns as uid/gid 65534 (on
 * the spawner and here, with each fd-closing fallback, and from three threads at once) this
 * process must be as dumpable as before: 1, and 0 where it was 0 (the flag is restored, not set
 * to 1). The pipe umh watches for the child's exec must not reach the program. Root only. */
static void test_user_keeps_caller_dumpable(void)
{
    if (geteuid() != 0) {
        printf("skip user_keeps_caller_dumpable: needs root\n");
        return;
    }
    int memfd = load_file("probe");
    int modes[] = { 0, UMH_NO_CLOSE_RANGE, UMH_NO_CLOSE_RANGE | UMH_NO_PROC };
    for (int dumpable = 0; dumpable <= 1; dumpable++) {
        CHECK(prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0) == 0);
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            umh_fallbacks = modes[m];
            for (int here = 0; here <= 1; here++) {
                char out[8192] = "";
                CHECK(spawn_as_nobody(memfd, here, out, sizeof out) == 0);
                CHECK(strncmp(out, "fds=0,1,2\n", 10) == 0);
                CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == dumpable);
            }
        }
        umh_fallbacks = 0;
    }
    in_threads(3, spawn_some_as_nobody, &memfd);
    CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1);
    close(memfd);
}

/* A failed signal names its call: pidfd_send_signal with a pidfd, kill by pid. */
static void test_signal_steps(void)
{
    CHECK(UMH_FAIL_STEP(umh_signal(INT_MAX, 1, 0)) == UMH_SIGNAL); /* no such fd */
    CHECK(umh_signal(-1, INT_MAX, 0) == UMH_FAIL(UMH_KILL, ESRCH)); /* above any pid_max */
}

/* With the parent's 0, 1 and 2 closed, pipe2 hands out those numbers: the child must still get
 * its stdin on 0 and stdout on 1. */
static void test_low_fds(void)
{
    int memfd = load_file("cat");
    int saved[3];
    for (int i = 0; i < 3; i++)
        saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 100);
    close(0);
    close(1);
    close(2);
    char *argv[] = { "cat", NULL };
    struct umh_spawn_res res;
    int rc = spawn(memfd, argv, &res);
    char buf[16] = { 0 };
    ssize_t n = -1;
    int status = -1;
    if (rc == 0) {
        (void)!write(res.stdin_w, "low", 3);
        close(res.stdin_w);
        n = read(res.stdout_r, buf, sizeof buf);
        status = umh_reap(res.pidfd, res.pid, 1);
        close(res.stdout_r);
        close(res.pidfd);
    }
    for (int i = 0; i < 3; i++) {
        dup2(saved[i], i);
        close(saved[i]);
    }
    CHECK(rc == 0);
    CHECK(n == 3 && memcmp(buf, "low", 3) == 0);
    CHECK(status == 0);
    close(memfd);
}

/* The fallbacks for kernels without close_range, execveat or pidfds, forced on this one. */
static void test_fallbacks(void)
{
    int memfd = load_file("probe");
    char *argv[] = { "probe", NULL };
    int modes[] = { UMH_NO_CLOSE_RANGE, UMH_NO_CLOSE_RANGE | UMH_NO_PROC, UMH_NO_EXECVEAT, UMH_NO_PIDFD,
                    UMH_NO_CLOSE_RANGE | UMH_NO_EXECVEAT | UMH_NO_PIDFD };
    int inheritable = fcntl(0, F_DUPFD, 50); /* not close-on-exec: only closing keeps it from the child */
    CHECK(inheritable >= 50);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        umh_fallbacks = modes[i];
        struct umh_spawn_res res;
        char out[8192];
        CHECK(spawn(memfd, argv, &res) == 0);
        CHECK((res.pidfd < 0) == ((modes[i] & UMH_NO_PIDFD) != 0));
        run_to_end(&res, out, sizeof out);
        CHECK(strncmp(out, "fds=0,1,2\n", 10) == 0); /* everything else closed, by the loop too */
    }
    umh_fallbacks = 0;
    close(inheritable);
    close(memfd);
    /* the probe closes nothing and reports only the three fallbacks */
    int fd = dup(0);
    CHECK((umh_missing_features() & ~(UMH_NO_CLOSE_RANGE | UMH_NO_EXECVEAT | UMH_NO_PIDFD)) == 0);
    CHECK(fcntl(fd, F_GETFD) >= 0);
    close(fd);
}

/* The passed fds (struct umh_fd_pass), through each way of closing the rest: two pipes' read ends
 * on each other's numbers, one of them also on the memfd's number (which the child then lifts), a
 * not close-on-exec fd above them that must not reach the child. It lists exactly 0-2 and the
 * targets, and reads each target's pipe. */
static void test_passed_fds(void)
{
    int modes[] = { 0, UMH_NO_CLOSE_RANGE, UMH_NO_CLOSE_RANGE | UMH_NO_PROC };
    int inheritable = fcntl(0, F_DUPFD, 60);
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        int a[2], b[2];
        CHECK(pipe2(a, O_CLOEXEC) == 0 && pipe2(b, O_CLOEXEC) == 0);
        CHECK(write(a[1], "A", 1) == 1 && write(b[1], "B", 1) == 1);
        int memfd = load_file("fds"); /* after the pipes: the highest of the three numbers */
        close(a[1]);
        close(b[1]);
        struct umh_fd_pass pass[3] = { { a[0], b[0] }, { b[0], a[0] }, { memfd, a[0] } };
        char cat_a[16], cat_b[16], expected[64], out[256];
        snprintf(cat_a, sizeof cat_a, "cat:%d", a[0]);
        snprintf(cat_b, sizeof cat_b, "cat:%d", b[0]);
        snprintf(expected, sizeof expected, "fds=0,1,2,%d,%d,%d\nBA", a[0], b[0], memfd);
        char *argv[] = { "fds", "list", cat_a, cat_b, NULL };
        static char *envp[] = { NULL };
        struct umh_spawn_req req = { .memfd = memfd, .argv = argv, .envp = envp,
                                     .stdio[2].how = UMH_STDIO_INHERIT, .pass = pass, .npass = 3 };
        struct umh_spawn_res res;
        umh_fallbacks = modes[m];
        CHECK(umh_spawn(&req, &res) == 0);
        umh_fallbacks = 0;
        run_to_end(&res, out, sizeof out);
        if (strcmp(out, expected) != 0)
            fprintf(stderr, "passed_fds, fallbacks %d: \"%s\", not \"%s\"\n", modes[m], out, expected);
        CHECK(strcmp(out, expected) == 0);
        close(a[0]);
        close(b[0]);
        close(memfd);
    }
    close(inheritable);
    /* a plan the child could not carry out is refused before the clone */
    int memfd = load_file("fds");
    struct umh_fd_pass twice[2] = { { 5, 0 }, { 5, 1 } };
    char *argv[] = { "fds", NULL };
    struct umh_spawn_req req = { .memfd = memfd, .argv = argv, .envp = argv + 1, .pass = twice, .npass = 2 };
    struct umh_spawn_res res;
    CHECK(umh_spawn(&req, &res) == UMH_FAIL(UMH_CHILD_DUP3, EINVAL));
    close(memfd);
}

/* Regression: the last fallback closes fds by a loop up to RLIMIT_NOFILE, read after the spawn's
 * own limits were set, so a NOFILE limit lowered for the child left every fd above it open into
 * the program. Not close-on-exec fds at 20 and 50, NOFILE 16 for the child: none may reach it. */
static void test_close_loop_above_lowered_limit(void)
{
    int memfd = load_file("probe");
    char *argv[] = { "probe", NULL };
    static char *envp[] = { NULL };
    int low = fcntl(0, F_DUPFD, 20), high = fcntl(0, F_DUPFD, 50);
    CHECK(low >= 20 && high >= 50);
    struct umh_rlimit nofile = { RLIMIT_NOFILE, 16, 16 };
    struct umh_spawn_req req = { .memfd = memfd, .argv = argv, .envp = envp, .stdio[2].how = UMH_STDIO_INHERIT,
                                 .rlimits = &nofile, .nrlimits = 1 };
    umh_fallbacks = UMH_NO_CLOSE_RANGE | UMH_NO_PROC;
    struct umh_spawn_res res;
    char out[8192] = "";
    int rc = umh_spawn(&req, &res);
    umh_fallbacks = 0;
    CHECK(rc == 0);
    if (rc == 0)
        run_to_end(&res, out, sizeof out);
    CHECK(strncmp(out, "fds=0,1,2\n", 10) == 0);
    close(low);
    close(high);
    close(memfd);
}

static void on_signal(int sig)
{
    (void)sig;
}

/* The child starts with every signal at its default, whatever this process catches or ignores:
 * through /proc's summary of the handler table and, forced, by asking about each signal; after
 * clone3 (which reset the caught ones) and, forced, after clone. Exec
 * itself resets caught signals (SigCgt is 0 after any exec; their reset guards the window before
 * it, where no test can look) but keeps ignored ones: SigIgn shows the child used the right set. */
static void test_signal_reset(void)
{
    int memfd = load_file("probe");
    char *argv[] = { "probe", NULL };
    struct sigaction caught = { .sa_handler = on_signal };
    sigaction(SIGUSR1, &caught, NULL);
    sigaction(SIGRTMIN + 3, &caught, NULL);
    signal(SIGUSR2, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    int modes[] = { 0, UMH_NO_PROC, UMH_NO_CLONE3, UMH_NO_CLONE3 | UMH_NO_PROC };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        umh_fallbacks = modes[i];
        struct umh_spawn_res res;
        char out[8192];
        CHECK(spawn(memfd, argv, &res) == 0);
        run_to_end(&res, out, sizeof out);
        CHECK(strstr(out, "\nSigIgn=0000000000000000\n") != NULL);
        CHECK(strstr(out, "\nSigCgt=0000000000000000\n") != NULL);
    }
    umh_fallbacks = 0;
    signal(SIGUSR1, SIG_DFL);
    signal(SIGRTMIN + 3, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    close(memfd);
}

/* pipe_size: both pipes get it; a size above fs.pipe-max-size without CAP_SYS_RESOURCE fails with
 * EPERM and leaves no fd and no child behind (checked in a forked copy that dropped the capability). */
static void test_pipe_size(void)
{
    int memfd = load_file("cat");
    char *argv[] = { "cat", NULL };
    static char *envp[] = { NULL };
    struct umh_spawn_req req = { .memfd = memfd, .argv = argv, .envp = envp, .stdio[2].how = UMH_STDIO_INHERIT, .pipe_size = 1 << 20 };
    struct umh_spawn_res res;
    CHECK(umh_spawn(&req, &res) == 0);
    CHECK(fcntl(res.stdin_w, F_GETPIPE_SZ) == 1 << 20);
    CHECK(fcntl(res.stdout_r, F_GETPIPE_SZ) == 1 << 20);
    close(res.stdin_w);
    CHECK(umh_reap(res.pidfd, res.pid, 1) == 0);
    close(res.stdout_r);
    close(res.pidfd);

    FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");
    int max = 0;
    CHECK(f != NULL && fscanf(f, "%d", &max) == 1 && max > 0);
    if (f != NULL)
        fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct caps[2];
        if (syscall(SYS_capget, &hdr, caps) < 0)
            _exit(3);
        caps[0].effective &= ~(1u << CAP_SYS_RESOURCE);
        if (syscall(SYS_capset, &hdr, caps) < 0)
            _exit(4);
        req.pipe_size = max * 2;
        int before = count_fds();
        int rc = umh_spawn(&req, &res);
        char msg[256];
        int ok = rc < 0 && UMH_FAIL_STEP(rc) == UMH_SETPIPE_SZ && UMH_FAIL_ERRNO(rc) == EPERM &&
                 count_fds() == before && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD &&
                 strcmp(umh_describe(rc, msg, sizeof msg), "fcntl(F_SETPIPE_SZ) failed: EPERM (Operation not "
                        "permitted); above /proc/sys/fs/pipe-max-size it needs CAP_SYS_RESOURCE") == 0;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(memfd);
}

/* A #! script through the /proc/self/fd path too. */
static void test_script(void)
{
    const char script[] = "#!/bin/sh\necho \"script $1\"\n";
    int memfd = umh_memfd_load(script, sizeof script - 1);
    char *argv[] = { "s", "ok", NULL };
    for (int fallback = 0; fallback <= UMH_NO_EXECVEAT; fallback += UMH_NO_EXECVEAT) {
        umh_fallbacks = fallback;
        struct umh_spawn_req req = { .memfd = memfd, .flags = UMH_SPAWN_SCRIPT | UMH_SPAWN_PDEATHSIG, .argv = argv, .envp = argv + 2, .stdio[2].how = UMH_STDIO_INHERIT };
        struct umh_spawn_res res;
        char out[64] = { 0 };
        CHECK(umh_spawn(&req, &res) == 0);
        close(res.stdin_w);
        CHECK(read(res.stdout_r, out, sizeof out - 1) == 10 && strcmp(out, "script ok\n") == 0);
        CHECK(umh_reap(res.pidfd, res.pid, 1) == 0);
        close(res.stdout_r);
        close(res.pidfd);
    }
    umh_fallbacks = 0;
    close(memfd);
}

/* The child's fd setup, seen from a #! script (which an emulator's host can run too): the pipes on
 * 0 and 1, and an inheritable fd of the parent's closed, by close_range and by the plain loop. */
static void test_script_fds(void)
{
    const char script[] = "#!/bin/sh\n[ -p /dev/stdin ] && [ -p /dev/stdout ] && echo pipes\n"
                          "[ -e /dev/fd/50 ] && echo leaked || echo closed\n";
    int memfd = umh_memfd_load(script, sizeof script - 1);
    char *argv[] = { "s", NULL };
    int null = open("/dev/null", O_RDONLY); /* not close-on-exec: only closing keeps it from the child */
    int inheritable = dup2(null, 50);
    close(null);
    CHECK(inheritable == 50);
    int modes[] = { 0, UMH_NO_CLOSE_RANGE | UMH_NO_EXECVEAT | UMH_NO_PIDFD };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        umh_fallbacks = modes[i];
        struct umh_spawn_req req = { .memfd = memfd, .flags = UMH_SPAWN_SCRIPT, .argv = argv, .envp = argv + 1, .stdio[2].how = UMH_STDIO_INHERIT };
        struct umh_spawn_res res;
        char out[64];
        CHECK(umh_spawn(&req, &res) == 0);
        run_to_end(&res, out, sizeof out);
        CHECK(strcmp(out, "pipes\nclosed\n") == 0);
    }
    umh_fallbacks = 0;
    close(inheritable);
    close(memfd);
}

/* Frames written whole come back whole; EOF between frames is 0; an empty frame is a frame. */
static void test_frames(void)
{
    int p[2];
    char buf[16];
    uint32_t len = 99;
    CHECK(pipe(p) == 0);
    CHECK(umh_write_frame(p[1], "hello", 5) == 0);
    CHECK(umh_write_frame(p[1], "", 0) == 0);
    close(p[1]);
    CHECK(umh_read_frame(p[0], buf, sizeof buf, &len) == 1 && len == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(umh_read_frame(p[0], buf, sizeof buf, &len) == 1 && len == 0);
    CHECK(umh_read_frame(p[0], buf, sizeof buf, &len) == 0);
    close(p[0]);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* A frame that arrives one byte per write, while SIGALRM (no SA_RESTART) keeps interrupting the
 * read: umh_read_frame still returns it whole. */
static void test_frame_short_reads_and_eintr(void)
{
    int p[2];
    char buf[16];
    uint32_t len = 0;
    CHECK(pipe(p) == 0);
    pid_t child = fork();
    if (child == 0) {
        static const char frame[] = { 0, 0, 0, 3, 'a', 'b', 'c' };
        for (size_t i = 0; i < sizeof frame; i++) {
            usleep(10000);
            if (write(p[1], frame + i, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    close(p[1]);
    struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: read fails with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every_2ms = { { 0, 2000 }, { 0, 2000 } }, off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &every_2ms, NULL);
    CHECK(umh_read_frame(p[0], buf, sizeof buf, &len) == 1 && len == 3 && memcmp(buf, "abc", 3) == 0);
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_DFL);
    CHECK(alarms > 0);
    CHECK(waitpid(child, NULL, 0) == child);
    close(p[0]);
}

/* A frame four times the pipe's size, written while SIGALRM (no SA_RESTART) keeps interrupting
 * the writev and the reader starts only 20 ms later: short writes and EINTR, and the header and
 * payload still arrive whole, in order. */
static void test_frame_short_writes_and_eintr(void)
{
    static char big[256 * 1024], back[sizeof big];
    int p[2];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    CHECK(pipe(p) == 0);
    pid_t child = fork();
    if (child == 0) {
        uint32_t len = 0;
        close(p[1]);
        usleep(20000);
        _exit(umh_read_frame(p[0], back, sizeof back, &len) == 1 && len == sizeof big && memcmp(back, big, sizeof big) == 0
                  ? 0
                  : 1);
    }
    close(p[0]);
    alarms = 0;
    struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: writev returns short, or fails with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every_1ms = { { 0, 1000 }, { 0, 1000 } }, off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &every_1ms, NULL);
    CHECK(umh_write_frame(p[1], big, sizeof big) == 0);
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_DFL);
    CHECK(alarms > 0);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(p[1]);
}

/* Over the cap: EMSGSIZE; input ending in a header or a payload: EPROTO; writing to a closed
 * pipe with SIGPIPE ignored: EPIPE. */
static void test_bad_frames(void)
{
    int p[2];
    char buf[4];
    uint32_t len = 0;
    CHECK(pipe(p) == 0);
    CHECK(umh_write_frame(p[1], "hello", 5) == 0);
    errno = 0;
    CHECK(umh_read_frame(p[0], buf, sizeof buf, &len) == -1 && errno == EMSGSIZE);
    close(p[0]);
    close(p[1]);

    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "\0\0", 2) == 2);
    close(p[1]);
    errno = 0;
    CHECK(umh_read_frame(p[0], buf, sizeof buf, &len) == -1 && errno == EPROTO);
    close(p[0]);

    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "\0\0\0\4ab", 6) == 6);
    close(p[1]);
    errno = 0;
    CHECK(umh_read_frame(p[0], buf, sizeof buf, &len) == -1 && errno == EPROTO);
    close(p[0]);

    CHECK(pipe(p) == 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    CHECK(umh_write_frame(p[1], "x", 1) == -1 && errno == EPIPE);
    signal(SIGPIPE, SIG_DFL);
    close(p[1]);
}

/* The spawn's parent side, whether or not the child can exec here: the pipes come back
 * close-on-exec, the child is tracked by a pidfd (by pidfd_open where clone refuses CLONE_PIDFD,
 * as qemu-user 7.2 does), it is reaped with the status its exec earned, and the parent keeps no
 * fd it did not hand over. */

static void test_spawn_plumbing(void)
{
    int memfd = load_file("exit");
    char *argv[] = { "exit", "0", NULL };
    struct umh_spawn_res res;
    int before = count_fds();
    CHECK(spawn(memfd, argv, &res) == 0);
    CHECK(fcntl(res.stdin_w, F_GETFD) == FD_CLOEXEC && fcntl(res.stdout_r, F_GETFD) == FD_CLOEXEC);
    CHECK(res.pidfd >= 0 && fcntl(res.pidfd, F_GETFD) == FD_CLOEXEC);
    CHECK(umh_reap(res.pidfd, res.pid, 1) == exec_status);
    close_res(&res);
    CHECK(count_fds() == before);
    CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* no zombie */
    close(memfd);
}

/* A cat spawned with PR_SET_PDEATHSIG by a thread that then exits: the clone was made on the
 * spawner thread, so the cat outlives the thread that asked for it (cloned on that thread, the
 * signal would have killed it when the thread ended). */
static void *spawn_cat(void *arg)
{
    struct umh_spawn_res *res = arg;
    int memfd = load_file("cat");
    char *argv[] = { "cat", NULL };
    long rc = spawn(memfd, argv, res);
    close(memfd);
    return (void *)rc;
}

static void test_outlives_spawning_thread(void)
{
    struct umh_spawn_res res;
    pthread_t t;
    void *rc = (void *)-1L;
    CHECK(pthread_create(&t, NULL, spawn_cat, &res) == 0);
    pthread_join(t, &rc);
    CHECK(rc == NULL);
    if (rc != NULL)
        return;
    cat_echoes(&res, "alive");
}

/* Many threads spawning at once queue on the spawners: every caller gets its own child, every
 * hand-off is served once, and the pool grows (this program's grows to TEST_SPAWNERS, see
 * main). Needs a real vfork: qemu-user runs the clone as a fork of the whole emulator, and with
 * other guest threads busy in system calls that forked emulator hung once in an internal lock
 * before the child's first line (seen in a build: the last waiting thread never saw its child exit). */
static void *spawn_some(void *arg)
{
    int memfd = *(int *)arg, bad = 0;
    for (int i = 0; i < 25; i++) {
        char code[12];
        snprintf(code, sizeof code, "%d", i);
        char *argv[] = { "exit", code, NULL };
        struct umh_spawn_res res;
        if (spawn(memfd, argv, &res) != 0) {
            bad++;
            continue;
        }
        bad += umh_reap(res.pidfd, res.pid, 1) != (exec_status == 0 ? i : exec_status);
        close_res(&res);
    }
    return (void *)(long)bad;
}

/* The spawners' counters: how many have joined, how many served at least one hand-off, and the
 * hand-offs served by all of them. */
struct pool {
    int joined, serving;
    unsigned long long spawns;
};

static struct pool pool_now(void)
{
    struct umh_spawner_stats s[UMH_SPAWNERS_MAX];
    struct pool p = { umh_spawner_stats(s, UMH_SPAWNERS_MAX), 0, 0 };
    for (int i = 0; i < p.joined; i++) {
        p.serving += s[i].spawns > 0;
        p.spawns += s[i].spawns;
    }
    return p;
}

/* The counters once no spawner is counting: an earlier test's last hand-off is counted by its
 * spawner a moment after its caller woke, which could otherwise land in this test's count. */
static struct pool pool_settled(void)
{
    struct pool p = pool_now();
    for (int ms = 0; ms < 2000; ms += 20) {
        usleep(20 * 1000);
        struct pool q = pool_now();
        if (q.spawns == p.spawns && q.joined == p.joined)
            return q;
        p = q;
    }
    return p;
}

static void test_spawner_concurrent(void)
{
    int memfd = load_file("exit");
    int before = count_fds();
    struct pool start = pool_settled();
    in_threads(8, spawn_some, &memfd);
    /* a caller wakes at its child's exec, its spawner a moment later: let the last ones count */
    struct pool end = pool_now();
    for (int ms = 0; ms < 2000 && end.spawns - start.spawns < 8 * 25; ms++) {
        usleep(1000);
        end = pool_now();
    }
    if (end.spawns - start.spawns != 8 * 25)
        fprintf(stderr, "spawns counted: %llu, not %d\n", end.spawns - start.spawns, 8 * 25);
    CHECK(end.spawns - start.spawns == 8 * 25);
    CHECK(end.joined >= 2 && end.joined <= TEST_SPAWNERS);
    CHECK(end.serving >= 2);
    CHECK(count_fds() == before);
    CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
    close(memfd);
}

/* The lowest fd limit under which exactly `free_fds` fds are free. */
static rlim_t limit_leaving(int free_fds)
{
    rlim_t limit = 0;
    for (int free_below = 0; free_below < free_fds || fcntl((int)limit, F_GETFD) >= 0; limit++)
        free_below += fcntl((int)limit, F_GETFD) < 0;
    return limit;
}

/* A spawn (on the spawner, or here) under an fd limit that leaves exactly 4 fds free: room for
 * the two pipes, not for the pidfd. The limit is restored before returning. */
static int spawn_without_room_for_pidfd(int here, int memfd, char **argv, struct umh_spawn_res *res)
{
    struct rlimit saved, low;
    getrlimit(RLIMIT_NOFILE, &saved);
    low = (struct rlimit){ limit_leaving(4), saved.rlim_max };
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    int rc = here ? spawn_here(memfd, argv, res) : spawn(memfd, argv, res);
    setrlimit(RLIMIT_NOFILE, &saved);
    return rc;
}

/* Room for the two pipes but not the pidfd: on the spawner and here, CLONE_PIDFD fails the
 * clone with EMFILE, and the spawn leaves no fd, no zombie, no child. */
static void test_pidfd_emfile_leaves_nothing(void)
{
    int memfd = load_file("cat");
    char *argv[] = { "cat", NULL };
    for (int here = 0; here <= 1; here++) {
        int before = count_fds();
        struct umh_spawn_res res;
        int rc = spawn_without_room_for_pidfd(here, memfd, argv, &res);
        CHECK(UMH_FAIL_ERRNO(rc) == EMFILE);
        CHECK(UMH_FAIL_STEP(rc) == clone_step);
        CHECK(count_fds() == before);
        CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
    }
    close(memfd);
}

/* Regression: with SIGCHLD ignored the kernel reaps exited children itself. The spawner path
 * opened the pidfd by pid after the child's exec, and a fast child was gone by then: "pidfd_open
 * failed: ESRCH" (or, worse, a recycled pid's pidfd). The pidfd now comes with the clone. */
static void test_sigchld_ignored(void)
{
    int memfd = load_file("exit");
    char *argv[] = { "exit", "0", NULL };
    struct sigaction ign = { .sa_handler = SIG_IGN }, old;
    sigaction(SIGCHLD, &ign, &old);
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        struct umh_spawn_res res;
        if (spawn(memfd, argv, &res) != 0)
            continue;
        ok += res.pidfd >= 0;
        umh_reap(res.pidfd, res.pid, 1); /* the status is gone with the child: only no hang */
        close_res(&res);
    }
    sigaction(SIGCHLD, &old, NULL);
    CHECK(ok == 50);
    close(memfd);
}

/* A seccomp filter on every thread of this process (TSYNC) and those they start; it cannot be
 * undone, so callers run in a forked copy: clone3 fails with clone3_err (0: allowed); clone with
 * any of clone_bits in its flags fails with clone_err. */
static int refuse_clones(int clone3_err, unsigned clone_bits, int clone_err)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, clone3_err ? SECCOMP_RET_ERRNO | (unsigned)clone3_err : SECCOMP_RET_ALLOW),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])), /* the low half */
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, clone_bits, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)clone_err),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
}

/* Runs body in a forked copy of this process, with a spawner thread of its own and then a
 * seccomp filter as refuse_clones takes, on both threads. */
static void with_clones_refused(int clone3_err, unsigned clone_bits, int clone_err, void (*body)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t spawner; /* the fork has no spawner thread */
        if (pthread_create(&spawner, NULL, umh_spawner_thread, NULL) != 0 ||
            refuse_clones(clone3_err, clone_bits, clone_err) != 0)
            _exit(3);
        int failed_before = failed; /* the count so far came with the fork */
        body();
        _exit(failed == failed_before ? 0 : 1);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A cat spawned on the spawner (here == 0) or here, with a pidfd, echoes (cat_echoes). */
static void spawn_cat_that_echoes(int here, int memfd)
{
    char *argv[] = { "cat", NULL };
    struct umh_spawn_res res;
    int rc = here ? spawn_here(memfd, argv, &res) : spawn(memfd, argv, &res);
    CHECK(rc == 0 && res.pidfd >= 0);
    if (rc == 0)
        cat_echoes(&res, "echo");
}

/* clone3 refused as a seccomp filter of a container without it does (ENOSYS), and clone
 * refusing CLONE_PIDFD (EINVAL), as strict profiles do: both paths clone again without it and
 * open the pidfd by pid; with no fd left for it, the child is killed and reaped. */
static void clone_pidfd_refused(void)
{
    int memfd = load_file("cat");
    char *argv[] = { "cat", NULL };
    for (int here = 0; here <= 1; here++) {
        spawn_cat_that_echoes(here, memfd);
        struct umh_spawn_res res;
        int before = count_fds();
        int rc = spawn_without_room_for_pidfd(here, memfd, argv, &res);
        CHECK(rc == UMH_FAIL(UMH_PIDFD_OPEN, EMFILE));
        CHECK(count_fds() == before);
        CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
    }
    close(memfd);
}

static void test_clone_pidfd_refused(void)
{
    with_clones_refused(ENOSYS, CLONE_PIDFD, EINVAL, clone_pidfd_refused);
}

/* The spawn uses clone3, not clone: with clone(CLONE_VFORK) refused, both paths still spawn (and
 * the kernel wrote the pid and the pidfd); forced onto clone, the spawn fails with clone's error
 * and leaves nothing. */
static void clone3_alone(void)
{
    int memfd = load_file("cat");
    char *argv[] = { "cat", NULL };
    for (int here = 0; here <= 1; here++) {
        spawn_cat_that_echoes(here, memfd);
        umh_fallbacks = UMH_NO_CLONE3;
        struct umh_spawn_res res;
        int before = count_fds();
        int rc = here ? spawn_here(memfd, argv, &res) : spawn(memfd, argv, &res);
        CHECK(rc == UMH_FAIL(UMH_CLONE, EPERM));
        CHECK(count_fds() == before);
        CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
        umh_fallbacks = 0;
    }
    close(memfd);
}

static void test_clone3_only(void)
{
    with_clones_refused(0, CLONE_VFORK, EPERM, clone3_alone);
}

/* clone3 refused with EPERM, as container filters written before clone3 existed do (glibc
 * itself retries only on ENOSYS): umh clones with clone, here and on the spawner. */
static void clone3_eperm(void)
{
    int memfd = load_file("cat");
    for (int here = 1; here >= 0; here--)
        spawn_cat_that_echoes(here, memfd);
    close(memfd);
}

static void test_clone3_eperm(void)
{
    with_clones_refused(EPERM, 0, 0, clone3_eperm);
}

/* Writes s to path: 0, or -1. */
static int write_text(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

#define PIDS_CGROUP "/sys/fs/cgroup/pids"

static void admit_new_tasks(const char *group)
{
    char num[32];
    snprintf(num, sizeof num, "%d", (int)getpid());
    write_text(PIDS_CGROUP "/cgroup.procs", num); /* back to the root group, where we came from */
    rmdir(group);
}

/* Whether this process sits in the root group of a cgroup-v1 pids hierarchy (so that moving it
 * back there restores it). */
static int in_root_pids_group(void)
{
    char buf[4096];
    int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strstr(buf, ":pids:/\n") != NULL;
}

/* Puts this process into a new pids group that admits no new task: every clone fails with
 * EAGAIN, a real kernel refusal. 0, or -1 with nothing changed where that cannot be done here
 * (no pids controller mounted there, not in its root group, not root): the caller skips. */
static int refuse_new_tasks(char *group, size_t len)
{
    char path[256], num[32], count[32] = "";
    if (!in_root_pids_group())
        return -1;
    snprintf(group, len, PIDS_CGROUP "/umh-ctest-%d", (int)getpid());
    if (mkdir(group, 0755) < 0)
        return -1;
    snprintf(num, sizeof num, "%d", (int)getpid());
    snprintf(path, sizeof path, "%s/cgroup.procs", group);
    int moved = write_text(path, num) == 0;
    /* the group holds all our threads now: a limit at their count admits no more */
    snprintf(path, sizeof path, "%s/pids.current", group);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, count, sizeof count - 1);
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "%s/pids.max", group);
    if (!moved || n <= 0 || write_text(path, count) < 0) {
        admit_new_tasks(group);
        return -1;
    }
    return 0;
}

/* A clone the kernel refuses (EAGAIN from a pids cgroup), on the spawner and on the caller:
 * the spawner completes the hand-off with the error itself, and nothing is left behind. */
static void test_clone_refused_leaves_nothing(void)
{
    int memfd = load_file("exit");
    char *argv[] = { "exit", "0", NULL };
    char group[128];
    int before = count_fds();
    if (refuse_new_tasks(group, sizeof group) < 0) {
        printf("skip clone_refused_leaves_nothing: no writable pids cgroup at " PIDS_CGROUP "\n");
        close(memfd);
        return;
    }
    struct umh_spawn_res res;
    int on_spawner = spawn(memfd, argv, &res);
    int here = spawn_here(memfd, argv, &res);
    admit_new_tasks(group);
    CHECK(on_spawner == UMH_FAIL(clone_step, EAGAIN));
    CHECK(here == UMH_FAIL(clone_step, EAGAIN));
    CHECK(count_fds() == before);
    CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
    /* and the spawner serves on */
    CHECK(spawn(memfd, argv, &res) == 0);
    CHECK(umh_reap(res.pidfd, res.pid, 1) == exec_status);
    close_res(&res);
    close(memfd);
}

/* This process's own cgroup v2 directory into dir (the cgroup2 mount, then its "0::" path of
 * /proc/self/cgroup): 0, or -1 where there is none. */
static int own_cgroup2(char *dir, size_t len)
{
    static const char *const mounts[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };
    char buf[4096], path[512];
    int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *own = strstr(buf, "0::");
    if (own == NULL || (own != buf && own[-1] != '\n'))
        return -1;
    own += 3;
    own[strcspn(own, "\n")] = '\0';
    for (size_t i = 0; i < sizeof mounts / sizeof mounts[0]; i++) {
        snprintf(path, sizeof path, "%s/cgroup.subtree_control", mounts[i]);
        if (access(path, F_OK) == 0) {
            snprintf(dir, len, "%s%.400s", mounts[i], strcmp(own, "/") == 0 ? "" : own);
            return 0;
        }
    }
    return -1;
}

/* Whether /proc/PID/cgroup's "0::" line ends with suffix. */
static int in_cgroup(int pid, const char *suffix)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *line = strstr(buf, "0::");
    if (line == NULL)
        return 0;
    line[strcspn(line, "\n")] = '\0';
    size_t l = strlen(line), sl = strlen(suffix);
    return l >= sl && strcmp(line + l - sl, suffix) == 0;
}

/* UMH_SPAWN_CGROUP: the child starts in the cgroup (clone3's CLONE_INTO_CGROUP), here and on the
 * spawner; the cgroup is empty, and can be removed, as soon as the child is reaped. A limit
 * file of a controller the parent does not enable is ENOENT. Forced onto clone, such a spawn
 * fails with clone3's ENOSYS and leaves nothing: it never starts the child unplaced. */
static void test_cgroup(void)
{
    char own[512], parent[600], suffix[64];
    if (geteuid() != 0 || own_cgroup2(own, sizeof own) < 0) {
        printf("skip cgroup: not root, or no cgroup v2 here\n");
        return;
    }
    CHECK(umh_cgroup_probe() == 0);
    snprintf(parent, sizeof parent, "%s/umh-ctest-%d", own, (int)getpid());
    if (mkdir(parent, 0755) < 0) {
        printf("skip cgroup: mkdir %s: %s\n", parent, strerror(errno));
        return;
    }
    CHECK(umh_cgroup_create(parent, "a/b") == UMH_FAIL(UMH_CGROUP_MKDIR, EINVAL));
    CHECK(umh_cgroup_create("/nonexistent", "c") == UMH_FAIL(UMH_OPEN, ENOENT));
    snprintf(suffix, sizeof suffix, "/umh-ctest-%d/c", (int)getpid());
    int memfd = load_file("cat");
    char *argv[] = { "cat", NULL };
    static char *envp[] = { "A=b", NULL };
    int before = count_fds();
    for (int here = 0; here <= 1; here++) {
        int cg = umh_cgroup_create(parent, "c");
        CHECK(cg >= 0);
        CHECK(umh_cgroup_create(parent, "c") == UMH_FAIL(UMH_CGROUP_MKDIR, EEXIST));
        char control[700], enabled[256] = "";
        snprintf(control, sizeof control, "%s/cgroup.subtree_control", parent);
        int fd = open(control, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, enabled, sizeof enabled - 1);
        if (fd >= 0)
            close(fd);
        enabled[n > 0 ? n : 0] = '\0';
        /* cgroup.max.descendants needs no controller: a value it takes, and one it refuses */
        CHECK(umh_cgroup_write(cg, "cgroup.max.descendants", "0") == 0);
        CHECK(umh_cgroup_write(cg, "cgroup.max.descendants", "lots") == UMH_FAIL(UMH_WRITE, EINVAL));
        CHECK(umh_cgroup_write(cg, "../cgroup.procs", "1") == UMH_FAIL(UMH_OPEN, EINVAL));
        int w = umh_cgroup_write(cg, "pids.max", "8");
        CHECK(strstr(enabled, "pids") != NULL ? w == 0 : w == UMH_FAIL(UMH_OPEN, ENOENT));
        struct umh_spawn_req req = { .memfd = memfd, .flags = UMH_SPAWN_CGROUP | (here ? 0 : UMH_SPAWN_PDEATHSIG),
                                     .argv = argv, .envp = envp, .stdio[2].how = UMH_STDIO_INHERIT, .cgroup_fd = cg };
        struct umh_spawn_res res;
        CHECK(umh_spawn(&req, &res) == 0);
        CHECK(in_cgroup(res.pid, suffix));
        cat_echoes(&res, "placed");
        snprintf(control, sizeof control, "%s/c", parent);
        CHECK(rmdir(control) == 0); /* right after the reap: nothing holds it any more */
        CHECK(umh_spawn(&req, &res) == UMH_FAIL(UMH_CLONE3, ENOENT)); /* a removed cgroup takes no child */
        close(cg);
    }
    int cg = umh_cgroup_create(parent, "c");
    umh_fallbacks = UMH_NO_CLONE3;
    struct umh_spawn_req req = { .memfd = memfd, .flags = UMH_SPAWN_CGROUP, .argv = argv, .envp = envp, .stdio[2].how = UMH_STDIO_INHERIT,
                                 .cgroup_fd = cg };
    struct umh_spawn_res res;
    CHECK(umh_spawn(&req, &res) == UMH_FAIL(UMH_CLONE3, ENOSYS));
    CHECK(umh_cgroup_probe() == UMH_FAIL(UMH_CLONE3, ENOSYS));
    umh_fallbacks = 0;
    CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
    close(cg);
    CHECK(count_fds() == before);
    char c[700];
    snprintf(c, sizeof c, "%s/c", parent);
    CHECK(rmdir(c) == 0);
    CHECK(rmdir(parent) == 0);
    close(memfd);
}

/* What some tests need that this system may not do, asked of it rather than assumed. Only where
 * execveat answers ENOSYS (qemu-user 7.2 does) is anything skipped: elsewhere a broken exec path
 * must fail the tests, not skip them.
 *   no exec path: the shim's /proc/self/fd/N fallback does not run the test's program either (an
 *     emulator hands that execve to the host kernel, which cannot run the target's programs unless
 *     binfmt_misc sends them back to the emulator); umh_spawn still works, its child _exits(127);
 *   no shared vfork: a child's exec error does not reach the parent (an emulator runs
 *     clone(CLONE_VM|CLONE_VFORK) as a plain fork, so the child's `fail` is its own copy). */
enum { ANYWHERE, NEEDS_EXEC, NEEDS_SHARED_VFORK, NEEDS_CLONE3 };

static void probe_system(void)
{
    errno = 0;
    syscall(SYS_clone3, NULL, (size_t)0); /* EINVAL (no size) where the call exists */
    if (errno == ENOSYS)
        snprintf(why_not[NEEDS_CLONE3], sizeof why_not[0], "clone3 answers ENOSYS");
#if defined(__x86_64__) /* the only CPU with umh_clone3's trampoline */
    else
        clone_step = UMH_CLONE3;
#endif
    exec_status = 0;
    if (execveat_errno() != ENOSYS)
        return;
    struct umh_spawn_res res;
    int memfd = load_file("exit");
    char *argv[] = { "exit", "42", NULL };
    int status = spawn(memfd, argv, &res);
    if (status == 0) {
        status = umh_reap(res.pidfd, res.pid, 1);
        close_res(&res);
    }
    close(memfd);
    if (status != 42) {
        exec_status = 127;
        snprintf(why_not[NEEDS_EXEC], sizeof why_not[0], "execveat answers ENOSYS, and the "
                 "/proc/self/fd/N fallback ran no program (\"exit 42\" ended with %d)", status);
    }
    memfd = umh_memfd_load("this is no program", 18);
    int rc = spawn(memfd, argv, &res);
    if (rc == 0) {
        status = umh_reap(res.pidfd, res.pid, 1);
        close_res(&res);
        snprintf(why_not[NEEDS_SHARED_VFORK], sizeof why_not[0], "exec'ing no program, umh_spawn "
                 "returned 0 and the child ended with %d: clone(CLONE_VM|CLONE_VFORK) ran as a fork", status);
    }
    close(memfd);
}

/* Retirement, as the JVM's shutdown hook does it (Spawner.java): every spawner leaves
 * umh_spawner_serve, and spawns still work, each cloned by its own caller, also from many threads
 * at once: a child cloned by another thread would get its PR_SET_PDEATHSIG (a 137, not its exit
 * code) when that thread ends, which these threads do in turn. Last: there is no way back. */
static atomic_int spawners_started, spawners_left;

static void test_spawners_retire(void)
{
    /* retired while 8 threads spawn: hand-offs queued around it are served by a spawner or taken
     * back by their callers, each once (spawn_some checks every exit code) */
    int memfd = load_file("exit");
    struct pool start = pool_settled();
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        CHECK(pthread_create(&t[i], NULL, spawn_some, &memfd) == 0);
    for (int ms = 0; ms < 5000 && pool_now().spawns < start.spawns + 40; ms++)
        usleep(1000);
    umh_spawners_retire();
    for (int i = 0; i < 8; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        CHECK(bad == NULL);
    }
    for (int ms = 0; ms < 5000 && atomic_load(&spawners_left) < atomic_load(&spawners_started); ms++)
        usleep(1000);
    CHECK(atomic_load(&spawners_started) > 0);
    CHECK(atomic_load(&spawners_left) == atomic_load(&spawners_started));
    /* and after it: not one served by a spawner */
    struct pool before = pool_settled();
    in_threads(8, spawn_some, &memfd);
    close(memfd);
    CHECK(pool_settled().spawns == before.spawns);
}

static const struct test tests[] = {
    { "seals", test_seals, ANYWHERE },
    { "load_file", test_load_file, ANYWHERE },
    { "spawn_plumbing", test_spawn_plumbing, ANYWHERE },
    { "exit_code", test_exit_code, NEEDS_EXEC },
    { "cat_round_trip", test_cat_round_trip, NEEDS_EXEC },
    { "enoexec_leaves_nothing", test_enoexec_leaves_nothing, NEEDS_SHARED_VFORK },
    { "low_fds", test_low_fds, NEEDS_EXEC },
    { "fallbacks", test_fallbacks, NEEDS_EXEC },
    { "passed_fds", test_passed_fds, NEEDS_EXEC },
    { "close_loop_above_lowered_limit", test_close_loop_above_lowered_limit, NEEDS_EXEC },
    { "signal_reset", test_signal_reset, NEEDS_EXEC },
    /* scripts: the kernel runs /bin/sh, an emulator's host kernel too */
    { "pipe_size", test_pipe_size, NEEDS_EXEC },
    { "outlives_spawning_thread", test_outlives_spawning_thread, NEEDS_EXEC },
    { "spawner_concurrent", test_spawner_concurrent, NEEDS_SHARED_VFORK },
    { "pidfd_emfile_leaves_nothing", test_pidfd_emfile_leaves_nothing, NEEDS_SHARED_VFORK },
    { "sigchld_ignored", test_sigchld_ignored, NEEDS_EXEC },
    { "clone_pidfd_refused", test_clone_pidfd_refused, NEEDS_SHARED_VFORK },
    { "clone3_only", test_clone3_only, NEEDS_CLONE3 },
    { "clone3_eperm", test_clone3_eperm, NEEDS_SHARED_VFORK },
    { "clone_refused_leaves_nothing", test_clone_refused_leaves_nothing, ANYWHERE },
    { "cgroup", test_cgroup, NEEDS_CLONE3 },
    { "script", test_script, ANYWHERE },
    { "script_fds", test_script_fds, ANYWHERE },
    { "frames", test_frames, ANYWHERE },
    { "frame_short_reads_and_eintr", test_frame_short_reads_and_eintr, ANYWHERE },
    { "frame_short_writes_and_eintr", test_frame_short_writes_and_eintr, ANYWHERE },
    { "bad_frames", test_bad_frames, ANYWHERE },
    { "signal_steps", test_signal_steps, ANYWHERE },
    /* only where the child shares the caller's memory (an emulator's vfork is a fork) */
    { "user_keeps_caller_dumpable", test_user_keeps_caller_dumpable, NEEDS_SHARED_VFORK },
    { "spawners_retire", test_spawners_retire, NEEDS_SHARED_VFORK }, /* last: for good */
};

/* The spawner pool, as Spawner.java runs it in the JVM: one spawner, grown by one up to
 * TEST_SPAWNERS when a hand-off finds every spawner busy. */
static __attribute__((noreturn)) void *spawner_main(void *unused);

static int start_spawner(void)
{
    pthread_t t;
    atomic_fetch_add(&spawners_started, 1);
    return pthread_create(&t, NULL, spawner_main, NULL);
}

static void grow_pool(void *unused)
{
    (void)unused;
    if (atomic_load(&spawners_started) < TEST_SPAWNERS && start_spawner() != 0)
        atomic_fetch_sub(&spawners_started, 1);
}

static __attribute__((noreturn)) void *spawner_main(void *unused)
{
    (void)unused;
    umh_spawner_serve(grow_pool, NULL); /* returns once retired */
    atomic_fetch_add(&spawners_left, 1);
    for (;;)
        pause(); /* as in the JVM: the thread stays, or its children would get their PR_SET_PDEATHSIG */
}

int main(int argc, char **argv)
{
    if (start_tests(argc, argv, "umh-ctest") != 0)
        return 2;
    if (start_spawner() != 0) /* as Spawner.java does in the JVM: clones UMH_SPAWN_PDEATHSIG children */
        return 2;
    probe_system();
    static const char *const needs_what[] = { "", "the exec path", "a child's exec error reaching the parent",
                                              "clone3" };
    say_not_here(needs_what, NEEDS_CLONE3 + 1);
    return report(run_tests(tests, sizeof tests / sizeof tests[0], needs_what, 0));
}
