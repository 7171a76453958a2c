/*
 * C tests of umh_landlock.c, the parent's half of the Landlock sandbox: each check runs in a
 * fork()ed child restricted by a prepared ruleset (as umh's vfork child will be: no new
 * privileges, then landlock_restrict_self), one probe per child, and the child's exit code is
 * the probe's errno (0: it worked). Everything a probe could change if the sandbox failed is
 * harmless: temporary directories of the test's own, signal 0, the test's own listeners.
 * Also pins what dynamic linking needs from Landlock (see umh_landlock.h), and the
 * down-levelled report under a forced lower ABI (umh_landlock_max_abi).
 * Where there is no Landlock (qemu-user 7.2 answers ENOSYS) or no exec path, the tests that
 * need it are skipped, as umh-ctest does.
 * Usage: umh-landlock-test TEST_BLOBS_DIR.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umh.h"
#include "umh_landlock.h"
#include "umh_test.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif
/* the kernel's values, for the raw rulesets that measure single rights */
#define LL_EXECUTE (1ULL << 0)
#define LL_READ_FILE (1ULL << 2)
#define LL_ALL_FS_ABI1 ((1ULL << 13) - 1)

static char tmp_root[] = "/tmp/umh-landlock-XXXXXX"; /* every path a probe may write is under it */

/* ---- the child's side, as umh's child will do it (umh_landlock_restrict_self is not ours) */

/* PR_SET_NO_NEW_PRIVS (needed unless root with CAP_SYS_ADMIN; umh sets it anyway), then the
 * domain: 0 or errno */
static int restrict_self(int ruleset)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return errno;
    return syscall(SYS_landlock_restrict_self, ruleset, 0U) < 0 ? errno : 0;
}

/* One thing a restricted child tries: returns 0 if it worked, else its errno. */
struct probe {
    int (*fn)(const struct probe *p);
    const char *path, *path2;
    int flags, fd, port;
    char *const *argv;
    int quiet;  /* the child's stderr to /dev/null (ld.so's expected complaint) */
};

#define RESTRICT_FAILED 250
/* Runs p in a fork()ed child restricted by ruleset (-1: not restricted): its answer, or
 * RESTRICT_FAILED, or 128 + signal. */
static int in_child(int ruleset, const struct probe *p)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int null = p->quiet ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
        if (null >= 0)
            dup2(null, 2);
        if (ruleset >= 0 && restrict_self(ruleset) != 0)
            _exit(RESTRICT_FAILED);
        _exit(p->fn(p));
    }
    return pid < 0 ? -1 : status_of(pid);
}

static int p_read(const struct probe *p)
{
    char c;
    int fd = open(p->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = read(fd, &c, 1) < 0 ? errno : 0;
    close(fd);
    return rc;
}

static int p_open(const struct probe *p)
{
    int fd = open(p->path, p->flags | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

static int p_list(const struct probe *p)
{
    DIR *d = opendir(p->path);
    if (d == NULL)
        return errno;
    errno = 0;
    int rc = readdir(d) == NULL ? (errno != 0 ? errno : ENOENT) : 0;
    closedir(d);
    return rc;
}

static int p_write_new(const struct probe *p)
{
    int fd = open(p->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    int rc = write(fd, "x", 1) == 1 ? 0 : errno;
    close(fd);
    return rc;
}

static int p_truncate(const struct probe *p) { return truncate(p->path, 0) < 0 ? errno : 0; }
static int p_mkdir(const struct probe *p) { return mkdir(p->path, 0700) < 0 ? errno : 0; }
static int p_unlink(const struct probe *p) { return unlink(p->path) < 0 ? errno : 0; }
static int p_rename(const struct probe *p) { return rename(p->path, p->path2) < 0 ? errno : 0; }
static int p_mkfifo(const struct probe *p) { return mkfifo(p->path, 0600) < 0 ? errno : 0; }
/* a /dev/null node (harmless if it got through): a root helper's mknod of a disk, in small */
static int p_mknod_chr(const struct probe *p)
{
    return mknod(p->path, S_IFCHR | 0600, makedev(1, 3)) < 0 ? errno : 0;
}

static int p_connect_tcp(const struct probe *p)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return errno;
    int rc = connect(s, (struct sockaddr *)&a, sizeof a) < 0 ? errno : 0;
    close(s);
    return rc;
}

static int p_bind_tcp(const struct probe *p)
{
    (void)p;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return errno;
    int rc = bind(s, (struct sockaddr *)&a, sizeof a) < 0 ? errno : 0;
    close(s);
    return rc;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(a->sun_path + 1, name, n); /* sun_path[0] == '\0': the abstract namespace */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int p_connect_abstract(const struct probe *p)
{
    struct sockaddr_un a;
    socklen_t len = abstract_addr(&a, p->path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return errno;
    int rc = connect(s, (struct sockaddr *)&a, len) < 0 ? errno : 0;
    close(s);
    return rc;
}

static int p_kill_parent(const struct probe *p)
{
    (void)p;
    return kill(getppid(), 0) < 0 ? errno : 0; /* signal 0: only asks */
}

static int p_kill_self(const struct probe *p)
{
    (void)p;
    return kill(getpid(), 0) < 0 ? errno : 0;
}

/* the program's exit code if the exec worked, else exec's errno */
static int p_execveat(const struct probe *p)
{
    static char *const envp[] = { NULL };
    syscall(SYS_execveat, p->fd, "", p->argv, envp, AT_EMPTY_PATH);
    return errno;
}

static int p_execve(const struct probe *p)
{
    static char *const envp[] = { NULL };
    execve(p->path, p->argv, envp);
    return errno;
}

/* ---- the parent's helpers */

/* a ruleset from the arrays (NULL: none), or the UMH_FAIL code */
static int prepare(const char *const *ro, const char *const *rw, int network, unsigned scopes,
                   struct umh_landlock_report *rep)
{
    struct umh_landlock_spec spec = { .read_only = ro, .read_write = rw, .network = network, .scopes = scopes };
    return umh_landlock_prepare(&spec, rep);
}

/* a ruleset that handles ABI 1's rights and allows exactly these (path, rights) pairs: to
 * measure single rights, which umh_landlock_prepare never hands out one by one */
static int raw_ruleset(const char *const *paths, const uint64_t *rights)
{
    uint64_t handled = LL_ALL_FS_ABI1;
    int rs = (int)syscall(SYS_landlock_create_ruleset, &handled, sizeof handled, 0U);
    for (; rs >= 0 && *paths != NULL; paths++, rights++) {
        struct { uint64_t allowed; int32_t fd; } __attribute__((packed)) rule = { *rights, -1 };
        rule.fd = open(*paths, O_PATH | O_CLOEXEC);
        int rc = (int)syscall(SYS_landlock_add_rule, rs, 1 /* PATH_BENEATH */, &rule, 0U);
        if (rule.fd >= 0)
            close(rule.fd);
        if (rc < 0) {
            perror(*paths);
            close(rs);
            rs = -1;
        }
    }
    return rs;
}

static void path_in(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        perror(path);
        exit(2);
    }
    close(fd);
}

/* the test blob `name` copied to path, executable */
static void copy_file(const char *path, const char *name)
{
    char from[PATH_MAX];
    path_in(from, sizeof from, blobs, name);
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    char buf[65536];
    ssize_t n = 0;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            n = -1;
    if (in < 0 || out < 0 || n < 0) {
        perror(path);
        exit(2);
    }
    close(in);
    close(out);
}

/* a fresh directory under tmp_root */
static void make_dir(char *buf, size_t size, const char *name)
{
    path_in(buf, size, tmp_root, name);
    if (mkdir(buf, 0700) < 0) {
        perror(buf);
        exit(2);
    }
}

/* The ELF interpreter /bin/true names (PT_INTERP), resolved: the file the kernel opens with
 * open_exec. 0, or -1 where there is none to find. */
static int interpreter_of(const char *program, char *out)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    char interp[PATH_MAX] = "";
    int fd = open(program, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || pread(fd, &eh, sizeof eh, 0) != sizeof eh || eh.e_ident[EI_CLASS] != ELFCLASS64) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (int i = 0; i < eh.e_phnum && interp[0] == '\0'; i++)
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) == sizeof ph
            && ph.p_type == PT_INTERP && ph.p_filesz < sizeof interp
            && pread(fd, interp, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz)
            interp[0] = '\0';
    close(fd);
    return interp[0] != '\0' && realpath(interp, out) != NULL ? 0 : -1;
}

/* ---- the tests */

static void test_no_rules_denies_everything(void)
{
    struct umh_landlock_report rep;
    int rs = prepare(NULL, NULL, 0, 0, &rep);
    CHECK(rs >= 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_read, .path = "/etc/passwd" }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_list, .path = "/" }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_open, .path = "/", .flags = O_RDONLY | O_DIRECTORY }) == EACCES);
    char f[PATH_MAX];
    path_in(f, sizeof f, tmp_root, "denied");
    CHECK(in_child(rs, &(struct probe){ .fn = p_write_new, .path = f }) == EACCES);
    CHECK(access(f, F_OK) < 0);
    /* the same fd again: each restrict_self makes its own domain, the fd serves many spawns */
    CHECK(in_child(rs, &(struct probe){ .fn = p_read, .path = "/etc/passwd" }) == EACCES);
    /* and unrestricted, the probe works: the EACCES above is the sandbox's */
    CHECK(in_child(-1, &(struct probe){ .fn = p_read, .path = "/etc/passwd" }) == 0);
    close(rs);
}

static void test_read_only_dir(void)
{
    char dir[PATH_MAX], f[PATH_MAX], g[PATH_MAX], sub[PATH_MAX];
    make_dir(dir, sizeof dir, "ro");
    path_in(f, sizeof f, dir, "file");
    path_in(g, sizeof g, dir, "new");
    path_in(sub, sizeof sub, dir, "sub");
    write_file(f, "secret");
    const char *ro[] = { dir, NULL };
    struct umh_landlock_report rep;
    int rs = prepare(ro, NULL, 0, 0, &rep);
    CHECK(rs >= 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_read, .path = f }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_list, .path = dir }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_open, .path = f, .flags = O_WRONLY }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_open, .path = f, .flags = O_RDWR | O_APPEND }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_write_new, .path = g }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_mkdir, .path = sub }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_unlink, .path = f }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_truncate, .path = f }) == EACCES); /* ABI 3 */
    CHECK(in_child(rs, &(struct probe){ .fn = p_read, .path = "/etc/passwd" }) == EACCES);
    CHECK(access(g, F_OK) < 0 && access(sub, F_OK) < 0);
    close(rs);
}

static void test_read_write_dir(void)
{
    char dir[PATH_MAX], a[PATH_MAX], b[PATH_MAX], sub[PATH_MAX], fifo[PATH_MAX], chr[PATH_MAX];
    char prog[PATH_MAX], moved[PATH_MAX];
    make_dir(dir, sizeof dir, "rw");
    path_in(a, sizeof a, dir, "a");
    path_in(b, sizeof b, dir, "b");
    path_in(sub, sizeof sub, dir, "sub");
    path_in(moved, sizeof moved, sub, "b");
    path_in(fifo, sizeof fifo, dir, "fifo");
    path_in(chr, sizeof chr, dir, "null");
    path_in(prog, sizeof prog, dir, "prog");
    copy_file(prog, "exit"); /* static: only the file's own EXECUTE right decides */
    const char *rw[] = { dir, NULL };
    struct umh_landlock_report rep;
    int rs = prepare(NULL, rw, 0, 0, &rep);
    CHECK(rs >= 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_write_new, .path = a }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_read, .path = a }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_truncate, .path = a }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_rename, .path = a, .path2 = b }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_mkdir, .path = sub }) == 0);
    /* REFER: into another directory of the same tree, where it gains no rights */
    CHECK(in_child(rs, &(struct probe){ .fn = p_rename, .path = b, .path2 = moved }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_unlink, .path = moved }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_mkfifo, .path = fifo }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_list, .path = dir }) == 0);
    /* what read_write never gives: device nodes (root could make a disk's), exec (write-then-run) */
    CHECK(in_child(rs, &(struct probe){ .fn = p_mknod_chr, .path = chr }) == EACCES);
    CHECK(access(chr, F_OK) < 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_execve, .path = prog,
                                       .argv = (char *const[]){ "exit", "3", NULL } }) == EACCES);
    CHECK(in_child(-1, &(struct probe){ .fn = p_execve, .path = prog,
                                       .argv = (char *const[]){ "exit", "3", NULL } }) == 3);
    /* and nothing outside it */
    CHECK(in_child(rs, &(struct probe){ .fn = p_list, .path = tmp_root }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_read, .path = "/etc/passwd" }) == EACCES);
    close(rs);
}

/* A rule on a file gets only file rights: the kernel refuses directory rights on a file. */
static void test_file_rules(void)
{
    char dir[PATH_MAX], f[PATH_MAX], other[PATH_MAX];
    make_dir(dir, sizeof dir, "files");
    path_in(f, sizeof f, dir, "rw-file");
    path_in(other, sizeof other, dir, "other");
    write_file(f, "x");
    write_file(other, "y");
    const char *ro[] = { "/etc/passwd", NULL };
    const char *rw[] = { f, NULL };
    struct umh_landlock_report rep;
    int rs = prepare(ro, rw, 0, 0, &rep);
    CHECK(rs >= 0);
    CHECK(rep.bad_path == NULL);
    CHECK(in_child(rs, &(struct probe){ .fn = p_read, .path = "/etc/passwd" }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_open, .path = "/etc/passwd", .flags = O_WRONLY }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_read, .path = "/etc/group" }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_open, .path = f, .flags = O_WRONLY | O_TRUNC }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_read, .path = other }) == EACCES);
    close(rs);
}

static int tcp_listener(int *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0
        || getsockname(s, (struct sockaddr *)&a, &len) < 0) {
        perror("tcp listener");
        exit(2);
    }
    *port = ntohs(a.sin_port);
    return s;
}

/* 1 if a connection is waiting (accepted and closed), else 0 */
static int accepted(int listener)
{
    int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return 0;
    close(c);
    return 1;
}

static void test_tcp(void)
{
    int port;
    int listener = tcp_listener(&port);
    struct umh_landlock_report rep;
    int denied = prepare(NULL, NULL, 0, 0, &rep);
    CHECK(denied >= 0);
    CHECK(rep.layer[UMH_LANDLOCK_TCP].level == UMH_LANDLOCK_FULL);
    CHECK(in_child(denied, &(struct probe){ .fn = p_connect_tcp, .port = port }) == EACCES);
    CHECK(!accepted(listener));
    CHECK(in_child(denied, &(struct probe){ .fn = p_bind_tcp }) == EACCES);
    int allowed = prepare(NULL, NULL, 1, 0, &rep);
    CHECK(allowed >= 0);
    CHECK(rep.layer[UMH_LANDLOCK_TCP].level == UMH_LANDLOCK_UNASKED);
    CHECK(in_child(allowed, &(struct probe){ .fn = p_connect_tcp, .port = port }) == 0);
    CHECK(accepted(listener));
    CHECK(in_child(allowed, &(struct probe){ .fn = p_bind_tcp }) == 0);
    close(denied);
    close(allowed);
    close(listener);
}

static void test_abstract_unix_scope(void)
{
    char name[64];
    snprintf(name, sizeof name, "umh-landlock-test-%d", (int)getpid());
    struct sockaddr_un a;
    socklen_t len = abstract_addr(&a, name);
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, len) < 0 || listen(listener, 8) < 0) {
        perror("abstract listener");
        exit(2);
    }
    struct umh_landlock_report rep;
    int scoped = prepare(NULL, NULL, 0, UMH_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, &rep);
    CHECK(scoped >= 0);
    CHECK(rep.layer[UMH_LANDLOCK_SCOPE_UNIX].level == UMH_LANDLOCK_FULL);
    CHECK(rep.layer[UMH_LANDLOCK_SCOPE_SIG].level == UMH_LANDLOCK_UNASKED);
    CHECK(in_child(scoped, &(struct probe){ .fn = p_connect_abstract, .path = name }) == EPERM);
    CHECK(!accepted(listener));
    int open_scope = prepare(NULL, NULL, 0, 0, &rep);
    CHECK(in_child(open_scope, &(struct probe){ .fn = p_connect_abstract, .path = name }) == 0);
    CHECK(accepted(listener));
    close(scoped);
    close(open_scope);
    close(listener);
}

static void test_signal_scope(void)
{
    struct umh_landlock_report rep;
    int scoped = prepare(NULL, NULL, 0, UMH_LANDLOCK_SCOPE_SIGNAL, &rep);
    CHECK(scoped >= 0);
    CHECK(rep.layer[UMH_LANDLOCK_SCOPE_SIG].level == UMH_LANDLOCK_FULL);
    CHECK(in_child(scoped, &(struct probe){ .fn = p_kill_parent }) == EPERM);
    CHECK(in_child(scoped, &(struct probe){ .fn = p_kill_self }) == 0); /* its own domain */
    int open_scope = prepare(NULL, NULL, 0, 0, &rep);
    CHECK(in_child(open_scope, &(struct probe){ .fn = p_kill_parent }) == 0);
    close(scoped);
    close(open_scope);
}

/* umh's own case: a static helper in a memfd runs with the whole file system denied (a memfd
 * is on no mount Landlock governs), by execveat and by the /proc/self/fd/N fallback's path */
static void test_exec_static_memfd(void)
{
    char proc_path[64];
    int memfd = load_file("exit");
    CHECK(memfd >= 0);
    struct umh_landlock_report rep;
    int rs = prepare(NULL, NULL, 0, UMH_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | UMH_LANDLOCK_SCOPE_SIGNAL, &rep);
    CHECK(rs >= 0);
    char *const argv[] = { "exit", "7", NULL };
    CHECK(in_child(rs, &(struct probe){ .fn = p_execveat, .fd = memfd, .argv = argv }) == 7);
    snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", memfd);
    CHECK(in_child(rs, &(struct probe){ .fn = p_execve, .path = proc_path, .argv = argv }) == 7);
    close(rs);
    close(memfd);
}

/* What a dynamic program needs, the brief's way: read_only over the system's directories */
static void test_exec_dynamic(void)
{
    const char *ro[] = { "/usr", "/lib", "/lib64", "/etc/ld.so.cache", NULL };
    char *const argv[] = { "true", NULL };
    struct umh_landlock_report rep;
    int libs = prepare(ro, NULL, 0, 0, &rep);
    int none = prepare(NULL, NULL, 0, 0, &rep);
    CHECK(libs >= 0 && none >= 0);
    CHECK(in_child(libs, &(struct probe){ .fn = p_execve, .path = "/bin/true", .argv = argv }) == 0);
    CHECK(in_child(none, &(struct probe){ .fn = p_execve, .path = "/bin/true", .argv = argv }) == EACCES);
    /* the same program from a memfd: the memfd needs nothing, its interpreter does */
    int memfd = memfd_of_file("/bin/true");
    CHECK(in_child(libs, &(struct probe){ .fn = p_execveat, .fd = memfd, .argv = argv }) == 0);
    CHECK(in_child(none, &(struct probe){ .fn = p_execveat, .fd = memfd, .argv = argv }) == EACCES);
    close(memfd);
    close(libs);
    close(none);
}

/* Single rights, measured (umh_landlock.h says so): the exec'd file and ld.so need
 * READ_FILE|EXECUTE, libc READ_FILE only (no check on mmap PROT_EXEC), ld.so.cache nothing. */
static void test_exec_dynamic_needs(void)
{
    char ld[PATH_MAX], libc[PATH_MAX], truth[PATH_MAX];
    if (interpreter_of("/bin/true", ld) < 0 || realpath("/bin/true", truth) == NULL) {
        printf("  (no ELF64 interpreter found for /bin/true: not measured)\n");
        return;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", ld);
    path_in(libc, sizeof libc, dirname(dir), "libc.so.6");
    const uint64_t RX = LL_READ_FILE | LL_EXECUTE, R = LL_READ_FILE, X = LL_EXECUTE;
    const struct { const char *what; uint64_t prog, interp, lib; int expect; } cases[] = {
        { "exactly enough", RX, RX, R, 0 },
        { "program without EXECUTE", R, RX, R, EACCES },
        { "program without READ_FILE", X, RX, R, EACCES },
        { "ld.so without EXECUTE", RX, R, R, EACCES },
        { "ld.so without READ_FILE", RX, X, R, EACCES },
        { "no libc: ld.so runs, fails to load it", RX, RX, 0, 127 },
    };
    char *const argv[] = { "true", NULL };
    int memfd = memfd_of_file(truth);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *paths[] = { truth, ld, libc, NULL };
        uint64_t rights[] = { cases[i].prog, cases[i].interp, cases[i].lib };
        if (rights[2] == 0)
            paths[2] = NULL;
        int rs = raw_ruleset(paths, rights);
        CHECK(rs >= 0);
        int got = in_child(rs, &(struct probe){ .fn = p_execve, .path = truth, .argv = argv, .quiet = 1 });
        if (got != cases[i].expect)
            fprintf(stderr, "  %s: got %d, expected %d\n", cases[i].what, got, cases[i].expect);
        CHECK(got == cases[i].expect);
        close(rs);
    }
    /* the memfd itself needs nothing: ld.so RX and libc R are enough */
    const char *paths[] = { ld, libc, NULL };
    const uint64_t rights[] = { RX, R };
    int rs = raw_ruleset(paths, rights);
    CHECK(in_child(rs, &(struct probe){ .fn = p_execveat, .fd = memfd, .argv = argv }) == 0);
    close(rs);
    close(memfd);
}

/* refused before anything is asked of the kernel: runs with or without Landlock */
static void test_bad_spec(void)
{
    int before = count_fds();
    struct umh_landlock_report rep;
    const char *relative[] = { "/usr", "etc/passwd", NULL };
    CHECK(prepare(relative, NULL, 0, 0, &rep) == UMH_FAIL(UMH_LANDLOCK_SPEC, EINVAL));
    CHECK(rep.bad_path == relative[1]);
    const char *empty[] = { "", NULL };
    CHECK(prepare(NULL, empty, 0, 0, &rep) == UMH_FAIL(UMH_LANDLOCK_SPEC, EINVAL));
    CHECK(rep.bad_path == empty[0]);
    CHECK(prepare(NULL, NULL, 0, 4, &rep) == UMH_FAIL(UMH_LANDLOCK_SPEC, EINVAL));
    CHECK(count_fds() == before);
    CHECK(strcmp(umh_step_name(UMH_FAIL_STEP(UMH_FAIL(UMH_LANDLOCK_OPEN_PATH, ENOENT))), "open(O_PATH)") == 0);
}

static void test_bad_paths(void)
{
    int before = count_fds();
    struct umh_landlock_report rep;
    const char *missing[] = { "/usr", "/nonexistent-umh-landlock", NULL };
    CHECK(prepare(missing, NULL, 0, 0, &rep) == UMH_FAIL(UMH_LANDLOCK_OPEN_PATH, ENOENT));
    CHECK(rep.bad_path == missing[1]);
    CHECK(prepare(NULL, missing, 0, 0, &rep) == UMH_FAIL(UMH_LANDLOCK_OPEN_PATH, ENOENT));
    CHECK(rep.bad_path == missing[1]);
    CHECK(count_fds() == before);
}

static void test_no_fd_leak(void)
{
    int before = count_fds();
    const char *ro[] = { "/usr", "/etc/passwd", NULL };
    const char *rw[] = { tmp_root, NULL };
    struct umh_landlock_report rep;
    int rs = prepare(ro, rw, 0, UMH_LANDLOCK_SCOPE_SIGNAL, &rep);
    CHECK(rs >= 0);
    CHECK(count_fds() == before + 1); /* the ruleset only: every O_PATH fd closed */
    CHECK((fcntl(rs, F_GETFD) & FD_CLOEXEC) != 0);
    close(rs);
    CHECK(count_fds() == before);
}

static int has(const struct umh_landlock_report *rep, int layer, int level, const char *reason)
{
    return rep->layer[layer].level == level && strstr(rep->layer[layer].reason, reason) != NULL;
}

static void print_report(const char *title, const struct umh_landlock_report *rep)
{
    char buf[1024];
    printf("  %s (ABI %d, kernel %d):\n%s", title, rep->abi, rep->kernel_abi, umh_landlock_describe(rep, buf, sizeof buf));
}

/* The report under a forced lower ABI: what this kernel would not enforce is said, with why,
 * and the ruleset really is the lower ABI's (TCP goes through at ABI 3). */
static void test_downlevel_report(void)
{
    int port;
    int listener = tcp_listener(&port);
    unsigned both = UMH_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | UMH_LANDLOCK_SCOPE_SIGNAL;
    struct umh_landlock_report rep;

    umh_landlock_max_abi = 3;
    int rs = prepare(NULL, NULL, 0, both, &rep);
    CHECK(rs >= 0 && rep.abi == 3 && rep.kernel_abi >= 3);
    CHECK(rep.handled_net == 0 && rep.scoped == 0 && (rep.handled_fs >> 15) == 0);
    CHECK(has(&rep, UMH_LANDLOCK_TCP, UMH_LANDLOCK_NOT, "Landlock ABI 3 < 4: TCP not restricted"));
    CHECK(has(&rep, UMH_LANDLOCK_SCOPE_UNIX, UMH_LANDLOCK_NOT, "Landlock ABI 3 < 6"));
    CHECK(has(&rep, UMH_LANDLOCK_SCOPE_SIG, UMH_LANDLOCK_NOT, "Landlock ABI 3 < 6"));
    CHECK(has(&rep, UMH_LANDLOCK_IOCTL_DEV, UMH_LANDLOCK_NOT, "Landlock ABI 3 < 5"));
    CHECK(has(&rep, UMH_LANDLOCK_FS, UMH_LANDLOCK_PARTIAL, "ioctl"));
    CHECK(has(&rep, UMH_LANDLOCK_TRUNCATE, UMH_LANDLOCK_FULL, ""));
    print_report("max ABI 3", &rep);
    CHECK(in_child(rs, &(struct probe){ .fn = p_connect_tcp, .port = port }) == 0);
    CHECK(accepted(listener));
    CHECK(in_child(rs, &(struct probe){ .fn = p_read, .path = "/etc/passwd" }) == EACCES);
    close(rs);

    umh_landlock_max_abi = 5;
    rs = prepare(NULL, NULL, 0, both, &rep);
    CHECK(rs >= 0 && rep.abi == 5);
    CHECK(has(&rep, UMH_LANDLOCK_TCP, UMH_LANDLOCK_FULL, "") && has(&rep, UMH_LANDLOCK_FS, UMH_LANDLOCK_FULL, ""));
    CHECK(has(&rep, UMH_LANDLOCK_SCOPE_SIG, UMH_LANDLOCK_NOT, "Landlock ABI 5 < 6: signals not scoped"));
    CHECK(has(&rep, UMH_LANDLOCK_SCOPE_UNIX, UMH_LANDLOCK_NOT, "Landlock ABI 5 < 6: abstract unix"));
    print_report("max ABI 5", &rep);
    CHECK(in_child(rs, &(struct probe){ .fn = p_connect_tcp, .port = port }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_kill_parent }) == 0); /* unscoped at 5 */
    close(rs);

    umh_landlock_max_abi = 1;
    char dir[PATH_MAX], a[PATH_MAX], sub[PATH_MAX], moved[PATH_MAX];
    make_dir(dir, sizeof dir, "abi1");
    path_in(a, sizeof a, dir, "a");
    path_in(sub, sizeof sub, dir, "sub");
    path_in(moved, sizeof moved, sub, "a");
    write_file(a, "x");
    if (mkdir(sub, 0700) < 0)
        exit(2);
    const char *rw[] = { dir, NULL };
    rs = prepare(NULL, rw, 0, 0, &rep);
    CHECK(rs >= 0 && rep.handled_fs == LL_ALL_FS_ABI1);
    CHECK(has(&rep, UMH_LANDLOCK_TRUNCATE, UMH_LANDLOCK_NOT, "Landlock ABI 1 < 3"));
    CHECK(has(&rep, UMH_LANDLOCK_REFER, UMH_LANDLOCK_FULL, "always denied"));
    CHECK(has(&rep, UMH_LANDLOCK_FS, UMH_LANDLOCK_PARTIAL, "truncate"));
    print_report("max ABI 1", &rep);
    /* not enforced, and so it is: truncate goes through outside every rule (a file of our own) */
    char outside[PATH_MAX];
    path_in(outside, sizeof outside, tmp_root, "abi1-outside");
    write_file(outside, "truncate me");
    CHECK(in_child(rs, &(struct probe){ .fn = p_truncate, .path = outside }) == 0);
    CHECK(in_child(rs, &(struct probe){ .fn = p_read, .path = outside }) == EACCES);
    CHECK(in_child(rs, &(struct probe){ .fn = p_rename, .path = a, .path2 = moved }) == EXDEV);
    close(rs);

    /* 0: looks absent; every asked layer NOT, nothing left open */
    umh_landlock_max_abi = 0;
    int before = count_fds();
    errno = 0;
    CHECK(umh_landlock_abi() == 0 && errno == ENOSYS);
    CHECK(prepare(NULL, NULL, 1, UMH_LANDLOCK_SCOPE_SIGNAL, &rep) == UMH_FAIL(UMH_LANDLOCK_ABI, ENOSYS));
    CHECK(rep.abi == 0 && count_fds() == before);
    CHECK(has(&rep, UMH_LANDLOCK_FS, UMH_LANDLOCK_NOT, "turned off"));
    CHECK(has(&rep, UMH_LANDLOCK_SCOPE_SIG, UMH_LANDLOCK_NOT, "turned off"));
    CHECK(rep.layer[UMH_LANDLOCK_TCP].level == UMH_LANDLOCK_UNASKED);
    CHECK(rep.layer[UMH_LANDLOCK_SCOPE_UNIX].level == UMH_LANDLOCK_UNASKED);
    print_report("max ABI 0", &rep);

    umh_landlock_max_abi = -1;
    rs = prepare(NULL, NULL, 0, both, &rep);
    CHECK(rs >= 0 && rep.abi == rep.kernel_abi);
    print_report("this kernel", &rep);
    close(rs);
    close(listener);
}

/* The reasons for a missing Landlock, as the caller names them */
static void test_absent_reasons(void)
{
    CHECK(strstr(umh_landlock_absent_reason(ENOSYS), "no Landlock") != NULL);
    CHECK(strstr(umh_landlock_absent_reason(EOPNOTSUPP), "disabled at boot") != NULL);
    CHECK(strstr(umh_landlock_absent_reason(EPERM), "seccomp") != NULL);
    CHECK(strcmp(umh_landlock_layer_name(UMH_LANDLOCK_SCOPE_UNIX), "abstract-unix-scope") == 0);
    CHECK(strcmp(umh_landlock_level_name(UMH_LANDLOCK_PARTIAL), "partially enforced") == 0);
}

/* Where the kernel (or an emulator) has no Landlock: the real absence, not the forced one */
static void test_prepare_without_landlock(void)
{
    int before = count_fds();
    errno = 0;
    CHECK(umh_landlock_abi() == 0);
    int err = errno;
    CHECK(err == ENOSYS || err == EOPNOTSUPP || err == EPERM);
    struct umh_landlock_report rep;
    const char *ro[] = { "/usr", NULL };
    CHECK(prepare(ro, NULL, 0, UMH_LANDLOCK_SCOPE_SIGNAL, &rep) == UMH_FAIL(UMH_LANDLOCK_ABI, err));
    CHECK(rep.abi == 0 && rep.kernel_abi == 0 && rep.abi_errno == err && count_fds() == before);
    CHECK(has(&rep, UMH_LANDLOCK_FS, UMH_LANDLOCK_NOT, umh_landlock_absent_reason(err)));
    CHECK(has(&rep, UMH_LANDLOCK_TCP, UMH_LANDLOCK_NOT, umh_landlock_absent_reason(err)));
    CHECK(rep.layer[UMH_LANDLOCK_SCOPE_UNIX].level == UMH_LANDLOCK_UNASKED);
    print_report("no Landlock", &rep);
}

/* ---- what this system can do */

enum { ANYWHERE, NEEDS_LANDLOCK, NEEDS_EXEC, NEEDS_NO_LANDLOCK };

static void probe_system(void)
{
    int abi = umh_landlock_abi();
    int err = errno;
    if (abi == 0)
        snprintf(why_not[NEEDS_LANDLOCK], sizeof why_not[0], "%s", umh_landlock_absent_reason(err));
    if (why_not[NEEDS_LANDLOCK][0] == '\0' && abi < 6) /* the scopes, the newest checked here */
        snprintf(why_not[NEEDS_LANDLOCK], sizeof why_not[0], "Landlock ABI 6 (here: %d)", abi);
    if (abi != 0)
        snprintf(why_not[NEEDS_NO_LANDLOCK], sizeof why_not[0], "Landlock ABI %d here", abi);
    if (execveat_errno() == ENOSYS) /* qemu-user 7.2 */
        snprintf(why_not[NEEDS_EXEC], sizeof why_not[0], "execveat (answers ENOSYS)");
    if (why_not[NEEDS_LANDLOCK][0] != '\0' && why_not[NEEDS_EXEC][0] == '\0')
        snprintf(why_not[NEEDS_EXEC], sizeof why_not[0], "%s", why_not[NEEDS_LANDLOCK]);
}

static const struct test tests[] = {
    { "absent_reasons", test_absent_reasons, ANYWHERE },
    { "no_rules_denies_everything", test_no_rules_denies_everything, NEEDS_LANDLOCK },
    { "read_only_dir", test_read_only_dir, NEEDS_LANDLOCK },
    { "read_write_dir", test_read_write_dir, NEEDS_LANDLOCK },
    { "file_rules", test_file_rules, NEEDS_LANDLOCK },
    { "tcp", test_tcp, NEEDS_LANDLOCK },
    { "abstract_unix_scope", test_abstract_unix_scope, NEEDS_LANDLOCK },
    { "signal_scope", test_signal_scope, NEEDS_LANDLOCK },
    { "exec_static_memfd", test_exec_static_memfd, NEEDS_EXEC },
    { "exec_dynamic", test_exec_dynamic, NEEDS_EXEC },
    { "exec_dynamic_needs", test_exec_dynamic_needs, NEEDS_EXEC },
    { "bad_spec", test_bad_spec, ANYWHERE },
    { "bad_paths", test_bad_paths, NEEDS_LANDLOCK },
    { "no_fd_leak", test_no_fd_leak, NEEDS_LANDLOCK },
    { "downlevel_report", test_downlevel_report, NEEDS_LANDLOCK },
    { "prepare_without_landlock", test_prepare_without_landlock, NEEDS_NO_LANDLOCK },
};

/* rm -r of tmp_root (the probes' files; nftw would do, but this is a test's cleanup) */
static void remove_tree(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    if (start_tests(argc, argv, "umh-landlock-test") != 0)
        return 2;
    if (mkdtemp(tmp_root) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    probe_system();
    static const char *const needs_what[] = { "", "Landlock", "the exec path under Landlock", "no Landlock" };
    struct tally t = run_tests(tests, sizeof tests / sizeof tests[0], needs_what, 1);
    remove_tree(tmp_root);
    return report(t);
}
