/*
 * The C floor for the benchmarks: the same work as umh's Java path, done the most direct way C
 * can, with nothing around it. Our Java figures are held against these.
 *
 *   spawn_wait_loaded     pipe2 x2, vfork, dup2 onto 0/1, execveat(memfd) of a blob loaded once, waitpid
 *   spawn_wait_one_shot   the same with memfd_create + write + seal of the blob every time
 *   first_byte            spawn cat, write 1 byte, read it back, close, waitpid
 *   umh_core_spawn_wait   umh_spawn itself (PDEATHSIG: cloned on its spawner thread); _here: on this thread
 *   load_N                memfd_create + write + seal of N bytes (64 KiB .. 128 MiB)
 *   pipe_throughput       256 MiB through cat, written and read at once (MiB/s); again with 1 MiB pipes
 *
 * Usage: umh-floor BLOB CAT_BLOB [seconds-per-benchmark [spawn]] (spawn: the spawn+wait lines
 * only). Prints one JSON object per line:
 * {"benchmark": "...", "score": N, "unit": "us/op" | "MiB/s", "n": iterations}
 *
 * umh-floor BLOB CAT_BLOB turns: one spawn+wait per byte read from stdin ('l': loaded, 'o':
 * one-shot; 't': 256 MiB through cat instead), its time in ns on a line of stdout; for
 * io.umh.bench.Interleaved, which takes turns with this process so that the C floor and the JVM's
 * spawns and transfers run side by side, one at a time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umh.h"
#include "umh_floor_spawn.h"

static char *const child_argv[] = { "umh", NULL };
static char *const child_envp[] = { NULL };

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        die(path);
    char *buf = malloc((size_t)st.st_size);
    if (buf == NULL || read(fd, buf, (size_t)st.st_size) != st.st_size)
        die(path);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

static int load(const char *data, size_t len)
{
    int fd = memfd_create("floor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        die("memfd_create");
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0)
            die("write");
        off += (size_t)n;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
        die("seal"); /* as umh_memfd_seal does */
    return fd;
}

/* Spawn with a pipe on the child's 0 and 1 (of pipe_size bytes when > 0); *in_w and *out_r are
 * the parent's ends. */
static pid_t spawn_sized(int memfd, int *in_w, int *out_r, int pipe_size)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        die("pipe2");
    if (pipe_size > 0 && (fcntl(in[1], F_SETPIPE_SZ, pipe_size) < 0 || fcntl(out[1], F_SETPIPE_SZ, pipe_size) < 0))
        die("F_SETPIPE_SZ");
    pid_t pid = floor_vfork_exec(memfd, in[0], out[1], child_argv, child_envp);
    if (pid < 0)
        die("vfork");
    close(in[0]);
    close(out[1]);
    *in_w = in[1];
    *out_r = out[0];
    return pid;
}

static pid_t spawn(int memfd, int *in_w, int *out_r)
{
    return spawn_sized(memfd, in_w, out_r, 0);
}

static void wait_exit(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        die("waitpid");
}

static void report(const char *name, double score, const char *unit, long n)
{
    printf("{\"benchmark\": \"%s\", \"score\": %.1f, \"unit\": \"%s\", \"n\": %ld}\n", name, score, unit, n);
    fflush(stdout);
}

/* One spawn+wait of the blob: loaded is its memfd, or -1 to load it first (one-shot). */
static void spawn_wait_once(int loaded, const char *blob, size_t len)
{
    int memfd = loaded < 0 ? load(blob, len) : loaded;
    int in_w, out_r;
    pid_t pid = spawn(memfd, &in_w, &out_r);
    if (loaded < 0)
        close(memfd);
    close(in_w);
    close(out_r);
    wait_exit(pid);
}

static void spawn_wait(const char *name, const char *blob, size_t len, int one_shot, double seconds)
{
    int loaded = one_shot ? -1 : load(blob, len);
    long n = 0;
    double start = now_us(), end = start + seconds * 1e6, t;
    do {
        spawn_wait_once(loaded, blob, len);
        n++;
    } while ((t = now_us()) < end);
    report(name, (t - start) / (double)n, "us/op", n);
    if (!one_shot)
        close(loaded);
}

/* umh's own C core (signal reset, PDEATHSIG, close_range, pidfd, waitid) without Java around
 * it: splits our overhead into "the core's extra syscalls" and "the JVM side". With
 * UMH_SPAWN_PDEATHSIG the clone is handed to the spawner thread, as in the JVM; without it (the
 * "_here" line) it is made on this thread. */
static void umh_core_spawn_wait(const char *name, int flags, const char *blob, size_t len, double seconds)
{
    int memfd = umh_memfd_load(blob, len);
    struct umh_spawn_req req = { .memfd = memfd, .flags = flags, .argv = child_argv,
                                 .envp = child_envp, .stdio[2].how = UMH_STDIO_INHERIT };
    long n = 0;
    double start = now_us(), end = start + seconds * 1e6, t;
    do {
        struct umh_spawn_res res;
        if (umh_spawn(&req, &res) != 0)
            die("umh_spawn");
        close(res.stdin_w);
        close(res.stdout_r);
        if (umh_reap(res.pidfd, res.pid, 1) != 0)
            die("umh_reap");
        close(res.pidfd);
        n++;
    } while ((t = now_us()) < end);
    report(name, (t - start) / (double)n, "us/op", n);
    close(memfd);
}

static void first_byte(int cat, double seconds)
{
    long n = 0;
    double start = now_us(), end = start + seconds * 1e6, t;
    do {
        int in_w, out_r;
        char c = 'x';
        pid_t pid = spawn(cat, &in_w, &out_r);
        if (write(in_w, &c, 1) != 1 || read(out_r, &c, 1) != 1)
            die("first byte");
        close(in_w);
        close(out_r);
        wait_exit(pid);
        n++;
    } while ((t = now_us()) < end);
    report("first_byte", (t - start) / (double)n, "us/op", n);
}

#define THROUGHPUT_BYTES (256L << 20)
#define CHUNK (1 << 16)

static void *writer(void *arg)
{
    int fd = *(int *)arg;
    static char buf[CHUNK];
    memset(buf, 'u', sizeof buf);
    for (long sent = 0; sent < THROUGHPUT_BYTES; sent += CHUNK)
        for (size_t off = 0; off < CHUNK;) {
            ssize_t w = write(fd, buf + off, CHUNK - off);
            if (w < 0)
                die("write");
            off += (size_t)w;
        }
    close(fd);
    return NULL;
}

/* One transfer of THROUGHPUT_BYTES through cat, written and read at once: its time in us. */
static double throughput_once(int cat, int pipe_size)
{
    int in_w, out_r;
    pthread_t t;
    static char buf[CHUNK];
    double start = now_us();
    pid_t pid = spawn_sized(cat, &in_w, &out_r, pipe_size);
    pthread_create(&t, NULL, writer, &in_w);
    long got = 0;
    for (ssize_t n; (n = read(out_r, buf, sizeof buf)) > 0;)
        got += n;
    pthread_join(t, NULL);
    close(out_r);
    wait_exit(pid);
    if (got != THROUGHPUT_BYTES)
        die("short transfer");
    return now_us() - start;
}

static void throughput(const char *name, int cat, int rounds, int pipe_size)
{
    double seconds = 0;
    for (int r = 0; r < rounds; r++)
        seconds += throughput_once(cat, pipe_size) / 1e6;
    /* all bytes over all time: the same mean JMH's ms/op turns into */
    report(name, (double)(THROUGHPUT_BYTES >> 20) * rounds / seconds, "MiB/s", rounds);
}

/* memfd_create + write + seal + close of size bytes, as Umh.load does (JMH's PipeBench.load). */
static void load_cost(size_t size, double seconds)
{
    char *data = calloc(1, size);
    if (data == NULL)
        die("calloc");
    char name[32];
    snprintf(name, sizeof name, "load_%zu", size);
    long n = 0;
    double start = now_us(), end = start + seconds * 1e6, t;
    do {
        close(load(data, size));
        n++;
    } while ((t = now_us()) < end);
    report(name, (t - start) / (double)n, "us/op", n);
    free(data);
}

/* Takes turns with the JVM (io.umh.bench.Interleaved): per command byte a spawn+wait ('l' loaded,
 * 'o' one-shot) or a 256 MiB transfer through cat ('t'), its time in ns on a line. */
static int turns(const char *blob, size_t len, int cat)
{
    int loaded = load(blob, len);
    char cmd;
    while (read(0, &cmd, 1) == 1) {
        double start = now_us();
        if (cmd == 't')
            throughput_once(cat, 0);
        else
            spawn_wait_once(cmd == 'o' ? -1 : loaded, blob, len);
        printf("%.0f\n", (now_us() - start) * 1e3);
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (argc > 4 && strcmp(argv[4], "spawn") != 0)) {
        fprintf(stderr, "usage: umh-floor BLOB CAT_BLOB [seconds [spawn]]\n"
                        "  spawn: only the spawn+wait lines (benchmarks/run.sh's paired rounds)\n"
                        "       umh-floor BLOB CAT_BLOB turns (for io.umh.bench.Interleaved)\n");
        return 2;
    }
    size_t len, cat_len;
    char *blob = read_file(argv[1], &len);
    char *cat_blob = read_file(argv[2], &cat_len);
    int cat = load(cat_blob, cat_len);
    if (argc == 4 && strcmp(argv[3], "turns") == 0)
        return turns(blob, len, cat);
    double seconds = argc > 3 ? atof(argv[3]) : 5;
    spawn_wait("spawn_wait_loaded", blob, len, 0, seconds);
    spawn_wait("spawn_wait_one_shot", blob, len, 1, seconds);
    pthread_t spawner; /* umh's spawner thread, as Spawner.java starts it in the JVM */
    if (pthread_create(&spawner, NULL, umh_spawner_thread, NULL) != 0)
        die("pthread_create");
    umh_core_spawn_wait("umh_core_spawn_wait", UMH_SPAWN_PDEATHSIG, blob, len, seconds);
    umh_core_spawn_wait("umh_core_spawn_wait_here", 0, blob, len, seconds);
    if (argc > 4)
        return 0;
    first_byte(cat, seconds);
    throughput("pipe_throughput", cat, 8, 0);
    throughput("pipe_throughput_1mib_pipes", cat, 8, 1 << 20);
    static const size_t sizes[] = { 64 << 10, 1 << 20, 16 << 20, 128 << 20 }; /* as JMH's PipeBench.load */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        load_cost(sizes[i], seconds / 2);
    return 0;
}
