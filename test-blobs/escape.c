/* escape ATTEMPT [ARG...]: one escape attempt per run, for the sandbox tests (issue 14).
 *
 * Prints exactly one line to stdout and exits 0:
 *   "ATTEMPT ok"              the kernel let it through (vmread and procmem ADDR add " HEX",
 *                             the 8 bytes read, in memory order)
 *   "ATTEMPT refused ERRNAME" the call failed (ERRNAME from the table below, else the number)
 * unless the kernel kills it (a seccomp kill: no line, status 159). Bad arguments, or a target it
 * will not touch because it could harm the host: a message on stderr and exit 2, never "refused".
 *
 * The tests run as root, so every attempt is harmless if it gets through: signal 0, a file of its
 * own in the test's directory and unlinked, a tmpfs on the test's empty directory detached at once,
 * the hostname set to its current value, ptrace seized without stopping the tracee. Attempts:
 *   read FILE            open + read 1 byte              write DIR   create DIR/escape-PID, unlink
 *   chown DIR            create DIR/escape-PID, fchown it to uid 12345, unlink
 *   procmem PID [ADDR]   open /proc/PID/mem O_RDWR (+ pread 8 bytes at hex ADDR; writes nothing)
 *   vmread PID ADDR      process_vm_readv 8 bytes        ptrace PID  PTRACE_SEIZE, no stop
 *   kill PID             kill(PID, 0)                    tcp PORT    connect 127.0.0.1:PORT, close
 *   abstract NAME        connect to "\0NAME", close      socket      socket(AF_INET, SOCK_STREAM)
 *   fork                 child _exits 0, parent waits    unshare     unshare(CLONE_NEWUSER), itself
 *   exec PATH            execve PATH -c "echo exec ok": the shell prints "exec ok"
 *   memfd-exec           memfd_create, copy /proc/self/exe, execveat it: the copy prints "memfd-exec ok"
 *   mount DIR            tmpfs on the empty DIR, umount2(MNT_DETACH) at once
 *   chroot DIR           chroot(DIR), itself only        mknod DIR   char dev 1:3 in DIR, unlink
 *   hostname             sethostname(its current name)   pidfd-getfd PID FD   dup the fd, close it
 *   bpf                  a 1-entry array map, closed     perf        a disabled task-clock counter on itself
 *   userfaultfd          user-mode-only, closed          io_uring    a 1-entry ring, closed
 *   keyctl               KEYCTL_GET_KEYRING_ID of the user keyring (no create)
 *   tiocsti              TIOCSTI of a space on fd 0: typing into a terminal (where fd 0 is one;
 *                        umh gives it a pipe, which says ENOTTY)
 *   isatty               TCGETS on fd 1 (a pipe: "refused ENOTTY" means the call reached the kernel)
 *   unix-socket          socket(AF_UNIX, SOCK_STREAM), as glibc's nscd probe does
 *   thread               pthread_create a thread that returns, join it
 * and the resources a cgroup limits (a helper's bombs, harmless in a cgroup of its own):
 *   memory MIB           map MIB MiB and write every page, unmap (past memory.max: OOM-killed, 137)
 *   threads N            N threads at once, each waiting until all are up, joined ("refused EAGAIN"
 *                        past pids.max, the ones started joined first)
 *   spin MS              MS ms of CPU time on one thread: "spin ok WALL", the wall ms it took
 *   ok                   nothing: the control
 * and, not an attempt, the listener for "abstract":
 *   listen-abstract NAME listens on "\0NAME", prints "listen-abstract ok", accepts (and closes)
 *                        connections until stdin ends, then prints "accepted N" */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *attempt;

static const struct { int err; const char *name; } errnames[] = {
    { EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" }, { EINTR, "EINTR" }, { EIO, "EIO" },
    { E2BIG, "E2BIG" }, { ENOEXEC, "ENOEXEC" }, { EBADF, "EBADF" }, { ECHILD, "ECHILD" },
    { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" }, { EFAULT, "EFAULT" },
    { EBUSY, "EBUSY" }, { EEXIST, "EEXIST" }, { EXDEV, "EXDEV" }, { ENODEV, "ENODEV" },
    { ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" }, { EINVAL, "EINVAL" }, { EMFILE, "EMFILE" },
    { ENOSPC, "ENOSPC" }, { EROFS, "EROFS" }, { ENOSYS, "ENOSYS" }, { ELOOP, "ELOOP" },
    { ENOTTY, "ENOTTY" }, { ENOTSOCK, "ENOTSOCK" }, { EPROTONOSUPPORT, "EPROTONOSUPPORT" }, { EOPNOTSUPP, "EOPNOTSUPP" },
    { EAFNOSUPPORT, "EAFNOSUPPORT" }, { EADDRNOTAVAIL, "EADDRNOTAVAIL" }, { ENETDOWN, "ENETDOWN" },
    { ENETUNREACH, "ENETUNREACH" }, { ECONNRESET, "ECONNRESET" }, { ETIMEDOUT, "ETIMEDOUT" },
    { ECONNREFUSED, "ECONNREFUSED" }, { EHOSTUNREACH, "EHOSTUNREACH" }, { ENOKEY, "ENOKEY" },
};

static int ok(const char *detail)
{
    if (detail != NULL)
        printf("%s ok %s\n", attempt, detail);
    else
        printf("%s ok\n", attempt);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int refused(int err)
{
    for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
        if (errnames[i].err == err) {
            printf("%s refused %s\n", attempt, errnames[i].name);
            return fflush(stdout) == 0 ? 0 : 1;
        }
    printf("%s refused %d\n", attempt, err);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* a usage error, or a target it will not touch: never reported as "refused" */
static int usage(const char *why)
{
    fprintf(stderr, "escape %s: %s\n", attempt != NULL ? attempt : "", why);
    return 2;
}

static int want(int args, int n)
{
    if (args != n)
        exit(usage("wrong number of arguments"));
    return 1;
}

/* a decimal count from 1 to max */
static int parse_count(const char *s, long max, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    return errno != 0 || *end != '\0' || end == s || *v < 1 || *v > max ? -1 : 0;
}

/* a pid that names one process: never 0, -1, 1 (init) or a process group */
static int parse_pid(const char *s, pid_t *pid)
{
    long v;
    if (parse_count(s, INT_MAX, &v) < 0 || v == 1)
        return -1;
    *pid = (pid_t)v;
    return 0;
}

static int parse_hex(const char *s, unsigned long *v)
{
    char *end;
    errno = 0;
    *v = strtoul(s, &end, 16);
    return errno != 0 || *end != '\0' || end == s ? -1 : 0;
}

static void hex8(const unsigned char *b, char *out)
{
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* an absolute, real (not a symbolic link) and empty directory other than / */
static int safe_dir(const char *dir)
{
    struct stat st;
    if (dir[0] != '/' || strcmp(dir, "/") == 0 || lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int entries = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            entries++;
    closedir(d);
    return entries == 0;
}

static int attempt_read(const char *file)
{
    char c;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return refused(errno);
    ssize_t n = read(fd, &c, 1);
    int err = errno;
    close(fd);
    return n < 0 ? refused(err) : ok(NULL);
}

/* write DIR and chown DIR: DIR/escape-PID, a file of its own, created, then written one byte or
 * given another owner (uid 12345: only CAP_CHOWN may), closed and unlinked */
static int attempt_own_file(const char *dir, int give_away)
{
    char path[PATH_MAX];
    if (dir[0] != '/')
        return usage("DIR must be absolute");
    snprintf(path, sizeof path, "%s/escape-%d", dir, (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return refused(errno);
    int rc = give_away ? fchown(fd, 12345, (gid_t)-1) : (write(fd, "x", 1) == 1 ? 0 : -1);
    int err = errno;
    close(fd);
    unlink(path);
    return rc != 0 ? refused(err) : ok(NULL);
}

static int attempt_procmem(const char *pidarg, const char *addrarg)
{
    char path[64], hex[17];
    unsigned char b[8];
    pid_t pid;
    unsigned long addr = 0;
    if (parse_pid(pidarg, &pid) != 0 || (addrarg != NULL && parse_hex(addrarg, &addr) != 0))
        return usage("PID [ADDR]");
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDWR | O_CLOEXEC); /* read-write, as an attacker would; writes nothing */
    if (fd < 0)
        return refused(errno);
    if (addrarg == NULL) {
        close(fd);
        return ok(NULL);
    }
    ssize_t n = pread(fd, b, sizeof b, (off_t)addr);
    int err = errno;
    close(fd);
    if (n != (ssize_t)sizeof b)
        return refused(n < 0 ? err : EIO);
    hex8(b, hex);
    return ok(hex);
}

static int attempt_vmread(const char *pidarg, const char *addrarg)
{
    unsigned char b[8];
    char hex[17];
    pid_t pid;
    unsigned long addr;
    if (parse_pid(pidarg, &pid) != 0 || parse_hex(addrarg, &addr) != 0)
        return usage("PID ADDR");
    struct iovec local = { b, sizeof b }, remote = { (void *)addr, sizeof b };
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n != (ssize_t)sizeof b)
        return refused(n < 0 ? errno : EIO);
    hex8(b, hex);
    return ok(hex);
}

/* The least intrusive real attach: PTRACE_SEIZE (unlike PTRACE_ATTACH) does not stop the tracee,
 * and it makes the same access check (PTRACE_MODE_ATTACH_REALCREDS). No options, so no
 * PTRACE_O_EXITKILL: when this process exits, a moment later, the kernel detaches it and the tracee
 * never noticed (PTRACE_DETACH itself wants a stopped tracee). */
static int attempt_ptrace(const char *pidarg)
{
    pid_t pid;
    if (parse_pid(pidarg, &pid) != 0)
        return usage("PID");
    if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) != 0)
        return refused(errno);
    return ok(NULL); /* exit detaches */
}

static int attempt_kill(const char *pidarg)
{
    pid_t pid;
    if (parse_pid(pidarg, &pid) != 0)
        return usage("PID (one process, never 0 or -1)");
    return kill(pid, 0) != 0 ? refused(errno) : ok(NULL);
}

static int attempt_tcp(const char *portarg)
{
    int port = atoi(portarg);
    if (port <= 0 || port > 65535)
        return usage("PORT");
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return refused(errno);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int r = connect(fd, (struct sockaddr *)&a, sizeof a);
    int err = errno;
    close(fd); /* writes nothing */
    return r != 0 ? refused(err) : ok(NULL);
}

static socklen_t abstract_address(const char *name, struct sockaddr_un *a)
{
    size_t n = strlen(name);
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (n == 0 || n + 1 > sizeof a->sun_path)
        return 0;
    memcpy(a->sun_path + 1, name, n); /* sun_path[0] = '\0': the abstract namespace */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int attempt_abstract(const char *name)
{
    struct sockaddr_un a;
    socklen_t len = abstract_address(name, &a);
    if (len == 0)
        return usage("NAME");
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return refused(errno);
    int r = connect(fd, (struct sockaddr *)&a, len);
    int err = errno;
    close(fd);
    return r != 0 ? refused(err) : ok(NULL);
}

static int listen_abstract(const char *name)
{
    struct sockaddr_un a;
    socklen_t len = abstract_address(name, &a);
    if (len == 0)
        return usage("NAME");
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, len) != 0 || listen(lfd, 64) != 0) {
        fprintf(stderr, "escape listen-abstract: %s\n", strerror(errno));
        return 1;
    }
    ok(NULL);
    long accepted = 0;
    for (;;) {
        struct pollfd p[2] = { { lfd, POLLIN, 0 }, { 0, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        int eof = 0;
        if (p[1].revents != 0) {
            char buf[64];
            ssize_t n = read(0, buf, sizeof buf);
            eof = n <= 0 && !(n < 0 && errno == EINTR);
        }
        /* drain the backlog: a connect that returned is queued, so none is missed at the end */
        int c;
        while ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
            close(c);
            accepted++;
        }
        if (eof) {
            printf("accepted %ld\n", accepted);
            return fflush(stdout) == 0 ? 0 : 1;
        }
    }
}

/* socket (AF_INET) and unix-socket (AF_UNIX): made and closed */
static int attempt_socket(int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return refused(errno);
    close(fd);
    return ok(NULL);
}

static int attempt_fork(void)
{
    int status;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return refused(errno);
    if (pid == 0)
        _exit(0);
    if (waitpid(pid, &status, 0) != pid)
        return refused(errno);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ok(NULL) : refused(ECHILD);
}

static void *thread_body(void *arg)
{
    return arg;
}

/* a thread, not a process: glibc's clone3 (ENOSYS under a filter) then clone(CLONE_THREAD|...) */
static int attempt_thread(void)
{
    static int token;
    pthread_t t;
    void *back = NULL;
    int err = pthread_create(&t, NULL, thread_body, &token);
    if (err != 0)
        return refused(err);
    err = pthread_join(t, &back);
    if (err != 0)
        return refused(err);
    return back == &token ? ok(NULL) : refused(EINVAL);
}

static int attempt_memory(const char *mib)
{
    long n;
    if (parse_count(mib, 4096, &n) < 0)
        return usage("MIB is 1 to 4096");
    size_t len = (size_t)n << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return refused(errno);
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1; /* each page faulted in, charged to the cgroup */
    munmap(p, len);
    return ok(NULL);
}

static int gate[2]; /* the threads' gate: each blocks reading it until it closes */

static void *gated_body(void *arg)
{
    char c;
    while (read(gate[0], &c, 1) < 0 && errno == EINTR)
        ;
    return arg;
}

static int attempt_threads(const char *count)
{
    long n;
    if (parse_count(count, 256, &n) < 0)
        return usage("N is 1 to 256");
    pthread_t t[256];
    if (pipe(gate) < 0)
        return refused(errno);
    int started = 0, err = 0;
    while (started < n && (err = pthread_create(&t[started], NULL, gated_body, NULL)) == 0)
        started++;
    close(gate[1]); /* all that could start are up: let them end */
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    close(gate[0]);
    return started == n ? ok(NULL) : refused(err);
}

static long long now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int attempt_spin(const char *ms)
{
    long n;
    if (parse_count(ms, 60000, &n) < 0)
        return usage("MS is 1 to 60000");
    long long wall = now_ns(CLOCK_MONOTONIC), cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
    while (now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu < n * 1000000LL)
        ;
    char took[24];
    snprintf(took, sizeof took, "%lld", (now_ns(CLOCK_MONOTONIC) - wall) / 1000000);
    return ok(took);
}

/* prints nothing itself on success: the shell prints "exec ok" */
static int attempt_exec(const char *path)
{
    char *argv[] = { (char *)path, "-c", "echo exec ok", NULL };
    fflush(stdout);
    execve(path, argv, environ);
    return refused(errno);
}

/* a second program by a memfd of its own, as an exploit would: a copy of itself, which prints
 * "memfd-exec ok" */
static int attempt_memfd_exec(void)
{
    char buf[65536];
    int mfd = (int)syscall(SYS_memfd_create, "escape", 1U /* MFD_CLOEXEC */);
    if (mfd < 0)
        return refused(errno);
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return refused(errno);
    ssize_t n;
    while ((n = read(self, buf, sizeof buf)) > 0)
        if (write(mfd, buf, (size_t)n) != n)
            return refused(errno);
    if (n < 0)
        return refused(errno);
    close(self);
    char *argv[] = { "escape", "exec-done", "memfd-exec", NULL };
    fflush(stdout);
    syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
    return refused(errno);
}

static int attempt_mount(const char *dir)
{
    if (!safe_dir(dir))
        return usage("DIR must be an absolute, empty directory of the test's own");
    if (mount("escape", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k,mode=0700") != 0)
        return refused(errno);
    if (umount2(dir, MNT_DETACH) != 0)
        fprintf(stderr, "escape mount: could not undo the tmpfs on %s: %s\n", dir, strerror(errno));
    return ok(NULL);
}

static int attempt_chroot(const char *dir)
{
    if (dir[0] != '/')
        return usage("DIR must be absolute");
    return chroot(dir) != 0 ? refused(errno) : ok(NULL); /* this process only */
}

static int attempt_mknod(const char *dir)
{
    char path[PATH_MAX];
    if (dir[0] != '/')
        return usage("DIR must be absolute");
    snprintf(path, sizeof path, "%s/escape-null-%d", dir, (int)getpid());
    if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) != 0) /* /dev/null's numbers */
        return refused(errno);
    unlink(path);
    return ok(NULL);
}

static int attempt_hostname(void)
{
    struct utsname u;
    if (uname(&u) != 0)
        return refused(errno);
    return sethostname(u.nodename, strlen(u.nodename)) != 0 ? refused(errno) : ok(NULL);
}

/* A SysV shared memory segment of its own, removed at once (harmless where it gets through: in
 * the ipc namespace the helper is in, which a strict() helper shares with its JVM's other helpers
 * only because this is refused to all of them) */
static int attempt_shm(void)
{
    long id = syscall(SYS_shmget, IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0)
        return refused(errno);
    syscall(SYS_shmctl, id, IPC_RMID, NULL);
    return ok(NULL);
}

static int attempt_unshare(void)
{
    return unshare(CLONE_NEWUSER) != 0 ? refused(errno) : ok(NULL); /* its own process only */
}

static int attempt_pidfd_getfd(const char *pidarg, const char *fdarg)
{
    pid_t pid;
    int target = atoi(fdarg);
    if (parse_pid(pidarg, &pid) != 0 || target < 0 || (target == 0 && strcmp(fdarg, "0") != 0))
        return usage("PID FD");
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return refused(errno);
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target, 0);
    int err = errno;
    close(pidfd);
    if (fd < 0)
        return refused(err);
    close(fd); /* a duplicate: closing it leaves the target's fd as it was */
    return ok(NULL);
}

static int close_fd_result(long fd)
{
    if (fd < 0)
        return refused(errno);
    close((int)fd);
    return ok(NULL);
}

static int attempt_bpf(void)
{
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = 4;
    a.max_entries = 1;
    return close_fd_result(syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a));
}

static int attempt_perf(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_SOFTWARE;
    a.size = sizeof a;
    a.config = PERF_COUNT_SW_TASK_CLOCK;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    return close_fd_result(syscall(SYS_perf_event_open, &a, 0 /* itself */, -1, -1, 0UL));
}

static int attempt_userfaultfd(void)
{
    return close_fd_result(syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
}

static int attempt_io_uring(void)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    return close_fd_result(syscall(SYS_io_uring_setup, 1U, &p));
}

static int attempt_keyctl(void)
{
    long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0L /* no create */);
    return id < 0 ? refused(errno) : ok(NULL);
}

static int attempt_ioctl(int fd, unsigned long request, void *arg)
{
    return ioctl(fd, request, arg) < 0 ? refused(errno) : ok(NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage("usage: escape ATTEMPT [ARG...]");
    attempt = argv[1];
    const char *a1 = argc > 2 ? argv[2] : NULL, *a2 = argc > 3 ? argv[3] : NULL;
    int args = argc - 2;
#define IS(name, n) (strcmp(attempt, name) == 0 && want(args, n))
    if (IS("ok", 0))
        return ok(NULL);
    if (IS("exec-done", 1)) { /* the exec'd copy of memfd-exec */
        attempt = a1;
        return ok(NULL);
    }
    if (IS("read", 1))
        return attempt_read(a1);
    if (IS("write", 1))
        return attempt_own_file(a1, 0);
    if (IS("chown", 1))
        return attempt_own_file(a1, 1);
    if (strcmp(attempt, "procmem") == 0 && (args == 1 || args == 2))
        return attempt_procmem(a1, a2);
    if (IS("vmread", 2))
        return attempt_vmread(a1, a2);
    if (IS("ptrace", 1))
        return attempt_ptrace(a1);
    if (IS("kill", 1))
        return attempt_kill(a1);
    if (IS("tcp", 1))
        return attempt_tcp(a1);
    if (IS("abstract", 1))
        return attempt_abstract(a1);
    if (IS("listen-abstract", 1))
        return listen_abstract(a1);
    if (IS("socket", 0))
        return attempt_socket(AF_INET);
    if (IS("fork", 0))
        return attempt_fork();
    if (IS("thread", 0))
        return attempt_thread();
    if (IS("memory", 1))
        return attempt_memory(a1);
    if (IS("threads", 1))
        return attempt_threads(a1);
    if (IS("spin", 1))
        return attempt_spin(a1);
    if (IS("exec", 1))
        return attempt_exec(a1);
    if (IS("memfd-exec", 0))
        return attempt_memfd_exec();
    if (IS("unshare", 0))
        return attempt_unshare();
    if (IS("shm", 0))
        return attempt_shm();
    if (IS("mount", 1))
        return attempt_mount(a1);
    if (IS("chroot", 1))
        return attempt_chroot(a1);
    if (IS("mknod", 1))
        return attempt_mknod(a1);
    if (IS("hostname", 0))
        return attempt_hostname();
    if (IS("pidfd-getfd", 2))
        return attempt_pidfd_getfd(a1, a2);
    if (IS("bpf", 0))
        return attempt_bpf();
    if (IS("perf", 0))
        return attempt_perf();
    if (IS("userfaultfd", 0))
        return attempt_userfaultfd();
    if (IS("io_uring", 0))
        return attempt_io_uring();
    if (IS("keyctl", 0))
        return attempt_keyctl();
    if (IS("tiocsti", 0)) {
        char space = ' ';
        return attempt_ioctl(0, TIOCSTI, &space);
    }
    if (IS("isatty", 0)) {
        struct termios t;
        return attempt_ioctl(1, TCGETS, &t);
    }
    if (IS("unix-socket", 0))
        return attempt_socket(AF_UNIX);
#undef IS
    return usage("unknown attempt");
}
