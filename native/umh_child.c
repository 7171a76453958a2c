/*
 * The child's side of a spawn: what runs between the clone (umh_spawn.c) and the exec, on a
 * small stack in the parent's frame, sharing the JVM's memory.
 *
 * The child's contract (umh_child_main and everything it calls):
 *   - it never returns: it execs, or it exits with status 127 (exit_group);
 *   - it reads `struct child`, which umh_spawn filled in before the clone, what that points at
 *     (the request: argv, envp, dir, the limits) and nothing else of the parent's;
 *   - outside its own stack it writes exactly three things: `fail`, once, just before it exits;
 *     `pid`, first thing, only where `report_pid` says the kernel had nowhere to put it (clone
 *     with CLONE_PIDFD on the spawner path); and the cloning thread's errno, which syscall()
 *     sets on a failure (that thread is suspended until the exec or the exit, and reads errno
 *     after a clone only when no child was made). What it changes as it goes (its fd plan: the
 *     fds it lifts above the highest target, the kept list; the "/proc/self/fd/N" path) are
 *     locals on its own stack;
 *   - the kernel writes for it what the parent asked for in the clone: `pidfd` and `pid` before
 *     it runs (CLONE_PIDFD, CLONE_PARENT_SETTID) and the hand-off word at its exec or exit
 *     (CLONE_CHILD_CLEARTID, umh_spawner.c);
 *   - no malloc or free, no locks, no stdio, no JNI, no libc but syscall(): raw system calls
 *     only. It shares memory with a JVM whose other threads may hold any lock at the moment of
 *     the clone, and glibc's wrappers may take one or talk to other threads (setuid does).
 *     native/test/check_child_symbols.sh fails the build on any other external symbol in this
 *     file's object;
 *   - it changes no state it shares with the JVM but through the kernel's own side effects, of
 *     which there is one: a credential change resets the dumpable flag of the mm, the JVM's
 *     (the parent puts it back after the exec). See "What the child changes, and whose it is".
 *
 * What the child changes, and whose it is. The clone shares only the memory (CLONE_VM; no
 * CLONE_FILES, CLONE_FS, CLONE_SIGHAND or CLONE_THREAD), so:
 *   - fds: the lifts, dup3s, closes and F_SETFD act on its own copy of the fd table. It changes
 *     no open file's status flags or offset (shared with the JVM's fds), and its closes drop none
 *     of the JVM's record locks (their owner is the fd table);
 *   - chdir and umask: its own fs_struct;
 *   - rt_sigaction: its own copy of the handler table (CLONE_CLEAR_SIGHAND resets it in the
 *     clone); rt_sigprocmask, PR_SET_PDEATHSIG and PR_SET_NO_NEW_PRIVS: its own task;
 *   - prlimit64(0, ...) and setsid: its own signal_struct (limits, session, process group);
 *   - setgroups, setresgid, setresuid: its own credentials (its process count moves to the new
 *     user's RLIMIT_NPROC, none of the JVM's). But commit_creds also resets the dumpable flag of
 *     the task's mm to fs.suid_dumpable when the euid, egid, fsuid, fsgid or capabilities change,
 *     and that mm is the JVM's: this is what turned the JVM non-dumpable (ForkOptions.user). The
 *     child does NOT set it back: from then until its exec it runs as the new user with the
 *     JVM's memory, and with the flag at 1 any process of that user could ptrace it or
 *     process_vm_readv it, i.e. read and write the JVM (tried: a uid 65534 process read a root
 *     parent's memory through such a child; with the flag left at 0 it got EPERM). The parent
 *     restores the flag once the child has an mm of its own (umh_spawn.c, user_spawn_end);
 *     the child's part is to keep `mm_w` open until its exec or exit;
 *   - memory: the writes listed in the contract. The kernel writes none of the parent thread's
 *     memory for it either: a CLONE_VM child starts without rseq and robust-futex registrations.
 *   - the exec gives it an mm of its own (exec_mmap); from there it shares nothing with the JVM.
 * Per-mm settings the child must never make, as they would stay the JVM's: PR_SET_DUMPABLE,
 * PR_SET_MDWE (it would refuse the JIT's every later mmap(RWX)), PR_SET_THP_DISABLE, PR_SET_MM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "umh_child.h"

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* The kernel's own sigaction layout (rt_sigaction), not glibc's. */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};
#define KERNEL_NSIG 64

/* Under AddressSanitizer (the C tests' second build) the child must not poison or check stack
 * shadow: it shares the parent's memory, shadow included, and runs on a stack inside a parent
 * frame, so every check would be about the parent's view of that memory. */
#define CHILD __attribute__((no_sanitize_address))

/* exit_group, as _exit: the child is a process of its own (no CLONE_THREAD), so only it ends. */
static CHILD __attribute__((noreturn)) void child_exit(void)
{
    for (;;)
        syscall(SYS_exit_group, 127);
}

static CHILD __attribute__((noreturn)) void child_fail(struct child *c, int step, int err)
{
    c->fail = UMH_FAIL(step, err);
    child_exit();
}

/* Whether the n bytes at a and b are equal (no libc in the child: ASan intercepts memcmp). */
static CHILD int child_equal(const char *a, const char *b, size_t n)
{
    while (n > 0 && *a == *b)
        a++, b++, n--;
    return n == 0;
}

/* The 16 hex digits after "\n<key>" in buf (a /proc status file), or -1. */
static CHILD int child_hex_field(const char *buf, size_t len, const char *key, size_t key_len, uint64_t *out)
{
    for (size_t i = 0; i + 1 + key_len + 16 <= len; i++) {
        if (buf[i] != '\n' || !child_equal(buf + i + 1, key, key_len))
            continue;
        const char *p = buf + i + 1 + key_len;
        uint64_t v = 0;
        for (int d = 0; d < 16; d++) {
            char ch = p[d];
            int x = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if (x < 0)
                return -1;
            v = v << 4 | (uint64_t)x;
        }
        *out = v;
        return 0;
    }
    return -1;
}

/* The signals caught or ignored, as the kernel summarises the handler table in /proc/self/status
 * (SigCgt, SigIgn): three system calls instead of 64 rt_sigaction queries, which cost ~70 us on a
 * VM where a system call takes ~1 us. The child reads its own table, copied by the clone, so a
 * handler a JVM thread installs meanwhile is either in the copy and in the answer, or in neither.
 * -1 when /proc cannot tell: not mounted, no such fields, or not one caught signal (unless clone3
 * cleared them all), which no JVM has (it catches SIGSEGV) but an emulator's /proc might report. */
static CHILD int child_signals_from_proc(const struct child *c, uint64_t *set)
{
    char buf[4096];
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    long n;
    while (len < sizeof buf && (n = syscall(SYS_read, fd, buf + len, sizeof buf - len)) > 0)
        len += (size_t)n;
    syscall(SYS_close, fd);
    uint64_t ignored, caught;
    if (child_hex_field(buf, len, "SigIgn:\t", 8, &ignored) < 0 ||
        child_hex_field(buf, len, "SigCgt:\t", 8, &caught) < 0 || (caught == 0 && !c->sighand_cleared))
        return -1;
    *set = ignored | caught;
    return 0;
}

/* Signals the JVM catches would run JVM code on our stack; ignored ones would be inherited
 * through exec. Both go back to the default (the caught ones already are after clone3's
 * CLONE_CLEAR_SIGHAND, which keeps ignored ones); then the (fully blocked) mask is cleared.
 * Without /proc's summary, each signal is asked about first. */
static CHILD int child_reset_signals(const struct child *c)
{
    struct kernel_sigaction dfl = { .handler = SIG_DFL };
    uint64_t set = ~(uint64_t)0;
    int known = !(c->fallbacks & UMH_NO_PROC) && child_signals_from_proc(c, &set) == 0;
    for (int sig = 1; sig <= KERNEL_NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || !(set & (uint64_t)1 << (sig - 1)))
            continue;
        if (!known) {
            struct kernel_sigaction old;
            if (syscall(SYS_rt_sigaction, sig, NULL, &old, KERNEL_SIGSET_SIZE) < 0)
                return -1;
            if (old.handler == SIG_DFL)
                continue;
        }
        if (syscall(SYS_rt_sigaction, sig, &dfl, NULL, KERNEL_SIGSET_SIZE) < 0)
            return -1;
    }
    return 0;
}

static CHILD int child_unblock_signals(void)
{
    uint64_t none = 0;
    return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, KERNEL_SIGSET_SIZE);
}

/* Die with the JVM, even when it is SIGKILLed. The signal follows the thread that cloned us;
 * umh clones from its long-lived spawner threads (umh_spawner.c). Re-check the parent afterwards:
 * it may have died before the prctl took effect. */
static CHILD int child_die_with_parent(const struct child *c)
{
    if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        return -1;
    /* in a new pid namespace the parent is outside it: getppid() is 0 there, and cannot tell */
    long ppid = syscall(SYS_getppid);
    if (ppid != c->parent && !(ppid == 0 && c->req->sandbox != NULL && (c->req->sandbox->ns_flags & CLONE_NEWPID)))
        child_exit(); /* orphaned already: nobody is left to report to */
    return 0;
}

/* Session, umask, limits and identity, in that order: limits are set while still privileged, and
 * the identity drops last. Raw syscalls throughout: glibc's setuid/setgid/setgroups wrappers
 * broadcast the change to every thread of the process (SIGSETXID), and this child shares the
 * JVM's memory and thread list bookkeeping: they would signal the JVM's threads. */
static CHILD void child_identity(struct child *c, unsigned long long *nofile_before)
{
    const struct umh_spawn_req *r = c->req;
    if ((r->flags & UMH_SPAWN_SETSID) && syscall(SYS_setsid) < 0)
        child_fail(c, UMH_CHILD_SETSID, errno);
    if (r->flags & UMH_SPAWN_UMASK)
        syscall(SYS_umask, r->umask);
    for (int i = 0; i < r->nrlimits; i++) {
        struct { unsigned long long cur, max; } lim = { r->rlimits[i].soft, r->rlimits[i].hard }, old;
        /* fds may be open above the NOFILE limit set here: the close loop must reach them */
        if (r->rlimits[i].resource == RLIMIT_NOFILE && *nofile_before == 0 &&
            syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &old) == 0)
            *nofile_before = old.cur;
        if (syscall(SYS_prlimit64, 0, r->rlimits[i].resource, &lim, NULL) < 0)
            child_fail(c, UMH_CHILD_SETRLIMIT, errno);
    }
    if (r->flags & UMH_SPAWN_USER) {
        if (syscall(SYS_setgroups, 0, NULL) < 0)
            child_fail(c, UMH_CHILD_SETGROUPS, errno);
        if (syscall(SYS_setresgid, r->gid, r->gid, r->gid) < 0)
            child_fail(c, UMH_CHILD_SETGID, errno);
        if (syscall(SYS_setresuid, r->uid, r->uid, r->uid) < 0)
            child_fail(c, UMH_CHILD_SETUID, errno);
    }
    if ((r->flags & UMH_SPAWN_NO_NEW_PRIVS) && syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(c, UMH_CHILD_NO_NEW_PRIVS, errno);
}

/*
 * The fd plan: each target (0, 1, 2, then the passed fds, ascending) gets its source, the child
 * keeps nothing else but the memfd and one fd of its own (mm_w, or a sandbox's socket). A source
 * may sit on another entry's target (the JVM's stdio closed, so that pipe2 handed out 0-2; a
 * passed fd whose number another one wants), so, as OpenJDK's childproc.c does for 0-2, every
 * source at or below the highest target (fd_floor) is first lifted above it, with the memfd and
 * mm_w; then the dup3s onto the targets cannot clobber one. A source already on its own target
 * stays where it is (dup3 refuses to copy an fd onto itself) and only loses close-on-exec. The
 * fds a sandbox uses after the plan (its socket, ruleset and namespaces) and, for a sandbox, the
 * memfd the parent put above fd_floor already (umh_sandbox.c, umh_jni.c): the seccomp filter
 * names some of their numbers. Everything here is on the child's stack, at most 3 + UMH_PASS_MAX
 * entries.
 */
struct child_plan {
    int n;
    int target[3 + UMH_PASS_MAX];
    int source[3 + UMH_PASS_MAX]; /* -1: none, the target is closed */
};

/* Moves *fd above floor unless it is there (or -1): a close-on-exec copy, the original left open
 * (the close loop closes it). *fd is one of the child's locals. */
static CHILD int child_lift(int *fd, int floor)
{
    if (*fd < 0 || *fd > floor)
        return 0;
    int lifted = (int)syscall(SYS_fcntl, *fd, F_DUPFD_CLOEXEC, floor + 1);
    if (lifted < 0)
        return -1;
    *fd = lifted;
    return 0;
}

/* dup3, not dup2: aarch64 has no dup2 system call. from is above every target (lifted). */
static CHILD int child_dup3(int from, int to)
{
    long rc;
    do {
        rc = syscall(SYS_dup3, from, to, 0); /* the copy on `to` is not close-on-exec */
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? -1 : 0;
}

/* Whether the JVM's fd is one of ours, or none: inheriting the JVM's fd 0, 1 or 2 when the JVM
 * has none, pipe2 or memfd_create may have put one of ours there. All of ours are close-on-exec
 * and a real stdio fd is not: the child gets none there, as the JVM has none. */
static CHILD int child_borrowed(int fd)
{
    long flags = syscall(SYS_fcntl, fd, F_GETFD);
    return flags < 0 || (flags & FD_CLOEXEC);
}

/* The plan from struct child and the request, into p (the child's stack). */
static CHILD void child_plan_make(const struct child *c, struct child_plan *p)
{
    const struct umh_spawn_req *r = c->req;
    for (int k = 0; k < 3; k++) {
        p->target[k] = k;
        /* decided before anything moves: for 2>&1 with an inherited fd 1, fd 2 asks about fd 1 */
        p->source[k] = (c->inherited & 1 << k) && child_borrowed(c->stdio[k]) ? -1 : c->stdio[k];
    }
    for (int i = 0; i < r->npass; i++) {
        p->target[3 + i] = r->pass[i].target;
        p->source[3 + i] = r->pass[i].source;
    }
    p->n = 3 + r->npass;
}

/* Carries the plan out: lift, then dup3 (or clear close-on-exec), then close the targets that get
 * nothing. *memfd and *mm_w are the child's locals, lifted too. */
static CHILD void child_plan_apply(struct child *c, struct child_plan *p, int *memfd, int *mm_w)
{
    int floor = c->fd_floor;
    for (int i = 0; i < p->n; i++)
        if (p->source[i] != p->target[i] && child_lift(&p->source[i], floor) < 0)
            child_fail(c, UMH_CHILD_MOVE_FD, errno);
    if (child_lift(memfd, floor) < 0 || child_lift(mm_w, floor) < 0)
        child_fail(c, UMH_CHILD_MOVE_FD, errno);
    for (int i = 0; i < p->n; i++) {
        int from = p->source[i], to = p->target[i];
        if (from == to) {
            /* the JVM's own stdio is not close-on-exec (else it had counted as borrowed) */
            if (!(i < 3 && (c->inherited & 1 << i)) && syscall(SYS_fcntl, to, F_SETFD, 0) < 0)
                child_fail(c, UMH_CHILD_CLEAR_CLOEXEC, errno);
        } else if (from >= 0 && child_dup3(from, to) < 0) {
            child_fail(c, UMH_CHILD_DUP3, errno);
        }
    }
    /* no source is on 0-2 any more (lifted, or its own target): closing these loses none */
    for (int k = 0; k < 3; k++)
        if (p->source[k] < 0)
            syscall(SYS_close, k);
}

/* The fds above 2 the child keeps, ascending, into keep: the passed targets (ascending, at most
 * fd_floor), then the memfd and the second fd (mm_w or the sandbox's socket; -1: none), both above
 * fd_floor. How many. */
static CHILD int child_keep_list(const struct child *c, int memfd, int second, int *keep)
{
    const struct umh_spawn_req *r = c->req;
    int n = 0;
    for (int i = 0; i < r->npass; i++)
        keep[n++] = r->pass[i].target;
    int lo = memfd, hi = second;
    if (hi >= 0 && hi < lo) {
        lo = second;
        hi = memfd;
    }
    keep[n++] = lo;
    if (hi >= 0)
        keep[n++] = hi;
    return n;
}

static CHILD int child_kept(long fd, const int *keep, int nkeep)
{
    for (int i = 0; i < nkeep; i++)
        if (keep[i] == fd)
            return 1;
    return 0;
}

static CHILD void child_itoa(char *out, int n)
{
    char tmp[12];
    int len = 0;
    do {
        tmp[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    while (len > 0)
        *out++ = tmp[--len];
    *out = '\0';
}

/* A non-negative decimal number, or -1 (for "." and ".."). */
static CHILD long child_atol(const char *s)
{
    long v = 0;
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Close every fd above 2 but those kept that /proc/self/fd lists: as many close()s as there
 * are open fds, where counting up to RLIMIT_NOFILE makes a million of them in a JVM, which raises
 * its soft limit to the hard one (24 ms per spawn here). Raw getdents64 into a stack buffer:
 * opendir would malloc. /proc lists fds by number, so closing while reading skips none. -1
 * without /proc. */
static CHILD int child_close_listed(const int *keep, int nkeep)
{
    int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    char buf[2048] __attribute__((aligned(8)));
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            long fd = child_atol(d->d_name);
            off += d->d_reclen;
            if (fd > 2 && fd != dir && !child_kept(fd, keep, nkeep))
                syscall(SYS_close, fd);
        }
    }
    syscall(SYS_close, dir);
    return n < 0 ? -1 : 0;
}

/* close_range(from, to), where the range is not empty: 0 or -1 */
static CHILD long child_close_range(unsigned from, unsigned to)
{
    return from > to ? 0 : syscall(SYS_close_range, from, to, 0);
}

/* Close every fd above 2 but keep[0..nkeep) (ascending, each above 2): close_range (5.9) between
 * them where the kernel has it, else the fds /proc lists (one walk), else a plain loop up to
 * RLIMIT_NOFILE, or up to the limit before the spawn lowered it (nofile_before). */
static CHILD int child_close_others(const struct child *c, const int *keep, int nkeep, unsigned long long nofile_before)
{
    if (!(c->fallbacks & UMH_NO_CLOSE_RANGE)) {
        unsigned from = 3;
        long rc = 0;
        for (int i = 0; i < nkeep && rc == 0; i++) {
            rc = child_close_range(from, (unsigned)keep[i] - 1);
            from = (unsigned)keep[i] + 1;
        }
        if (rc == 0)
            rc = child_close_range(from, ~0U);
        if (rc == 0)
            return 0;
        if (errno != ENOSYS)
            return -1;
    }
    if (!(c->fallbacks & UMH_NO_PROC) && child_close_listed(keep, nkeep) == 0)
        return 0;
    /* what sysconf(_SC_OPEN_MAX) answers, without libc: the soft limit (never infinite for
     * NOFILE: the kernel caps it at fs.nr_open) */
    struct { unsigned long long cur, max; } lim = { 1024, 1024 };
    syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &lim);
    if (lim.cur < nofile_before)
        lim.cur = nofile_before;
    long max = lim.cur < INT32_MAX ? (long)lim.cur : INT32_MAX;
    for (long fd = 3; fd < max; fd++)
        if (!child_kept(fd, keep, nkeep))
            syscall(SYS_close, fd);
    return 0;
}

const char umh_child_empty_path[1] = "";

/* ---------------------------------------------------------------- the sandbox (umh_sandbox) */

#ifndef MS_REC
#define MS_REC 16384
#endif
#ifndef MS_PRIVATE
#define MS_PRIVATE (1 << 18)
#endif
#ifndef MS_BIND
#define MS_BIND 4096
#endif
#define UMH_MS_NOSUID 2
#define UMH_MS_NODEV 4
#define UMH_MNT_DETACH 2
#define UMH_AT_RECURSIVE 0x8000
#define UMH_MOUNT_ATTR_RDONLY 0x1
#define UMH_MOUNT_ATTR_NOSUID 0x2
#define UMH_MOUNT_ATTR_NODEV 0x4
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif
#define UMH_PR_SET_SECUREBITS 28
#define UMH_PR_CAP_AMBIENT 47
#define UMH_PR_CAP_AMBIENT_CLEAR_ALL 4
/* SECBIT_NOROOT, NO_SETUID_FIXUP, KEEP_CAPS_LOCKED, NO_CAP_AMBIENT_RAISE, each with its lock */
#define UMH_SECBITS_LOCKED_NOROOT 0xefu
#define UMH_SECCOMP_SET_MODE_FILTER 1
#define UMH_SECCOMP_FILTER_FLAG_NEW_LISTENER 8

/* Writes the string into a /proc/self file (an id map): one write, as the kernel wants. */
static CHILD int child_write_proc(const char *path, const char *text, size_t len)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long n = syscall(SYS_write, fd, text, len); /* lengths from the parent: a strlen loop becomes libc's */
    int err = errno;
    syscall(SYS_close, fd);
    errno = err;
    return n < 0 ? -1 : 0;
}

/* In a new user namespace the child has no ids until it maps them: its own uid and gid, each to
 * itself, which needs no help from a privileged parent (so the vfork can stay). setgroups is
 * denied first, as the kernel requires of an unprivileged gid_map. */
static CHILD void child_map_ids(struct child *c, const struct umh_sandbox *s)
{
    static const char deny[] = "deny";
    if (child_write_proc("/proc/self/setgroups", deny, sizeof deny - 1) < 0)
        child_fail(c, UMH_CHILD_SETGROUPS_DENY, errno);
    if (child_write_proc("/proc/self/uid_map", s->uid_map, s->uid_map_len) < 0)
        child_fail(c, UMH_CHILD_UID_MAP, errno);
    if (child_write_proc("/proc/self/gid_map", s->gid_map, s->gid_map_len) < 0)
        child_fail(c, UMH_CHILD_GID_MAP, errno);
}

static CHILD int child_setattr(const char *path, unsigned long long set, unsigned flags)
{
    struct { unsigned long long attr_set, attr_clr, propagation, userns_fd; } a = { set, 0, 0, 0 };
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &a, sizeof a);
}

/* One bind: its target (a directory, or an empty file for a file), the bind itself, then
 * read-only (unless writable), nosuid and nodev (but for the standard devices Java names: a
 * /dev/null on a nodev mount cannot be opened), recursively. mount_setattr only adds flags, so
 * the ones a user namespace locks on the source mount stay as they are. */
static CHILD void child_bind(struct child *c, const struct umh_bind *b)
{
    if (!b->is_dir) {
        /* read-only: the target may already be there inside an earlier read-only bind (readOnly(/etc)
         * with dynamic linking's /etc/ld.so.cache), where opening it for writing is EROFS */
        int fd = (int)syscall(SYS_openat, AT_FDCWD, b->target, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            child_fail(c, UMH_CHILD_MOUNT_TARGET, errno);
        syscall(SYS_close, fd);
    } else if (syscall(SYS_mkdirat, AT_FDCWD, b->target, 0755) < 0 && errno != EEXIST) {
        child_fail(c, UMH_CHILD_MKDIR, errno);
    }
    if (syscall(SYS_mount, b->source, b->target, NULL, MS_BIND | MS_REC, NULL) < 0)
        child_fail(c, UMH_CHILD_MOUNT_BIND, errno);
    unsigned long long attrs = UMH_MOUNT_ATTR_NOSUID | (b->device ? 0 : UMH_MOUNT_ATTR_NODEV)
                               | (b->writable ? 0 : UMH_MOUNT_ATTR_RDONLY);
    if (child_setattr(b->target, attrs, UMH_AT_RECURSIVE) < 0)
        child_fail(c, UMH_CHILD_MOUNT_SETATTR, errno);
}

/* The new root: nothing of the host's but the binds. A tmpfs on s->root (in this mount namespace
 * only: propagation is made private first; Java picks a mount point that hides no bind's source),
 * the binds' directories and the binds in it, the
 * tmpfs made read-only, then pivot_root into it and the old root detached, so that no path (and
 * no chroot escape) leads back to the host's tree. */
static CHILD void child_new_root(struct child *c, const struct umh_sandbox *s)
{
    if (syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        child_fail(c, UMH_CHILD_MOUNT_PRIVATE, errno);
    if (syscall(SYS_mount, "umh", s->root, "tmpfs", UMH_MS_NOSUID | UMH_MS_NODEV, "mode=0755,size=64k") < 0)
        child_fail(c, UMH_CHILD_MOUNT_TMPFS, errno);
    for (const char *const *d = s->mkdirs; *d != NULL; d++)
        if (syscall(SYS_mkdirat, AT_FDCWD, *d, 0755) < 0 && errno != EEXIST)
            child_fail(c, UMH_CHILD_MKDIR, errno);
    for (int i = 0; i < s->nbinds; i++)
        child_bind(c, &s->binds[i]);
    if (child_setattr(s->root, UMH_MOUNT_ATTR_RDONLY | UMH_MOUNT_ATTR_NOSUID | UMH_MOUNT_ATTR_NODEV, 0) < 0)
        child_fail(c, UMH_CHILD_MOUNT_SETATTR, errno);
    if (syscall(SYS_chdir, s->root) < 0)
        child_fail(c, UMH_CHILD_PIVOT_ROOT, errno);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        child_fail(c, UMH_CHILD_PIVOT_ROOT, errno);
    if (syscall(SYS_umount2, ".", UMH_MNT_DETACH) < 0)
        child_fail(c, UMH_CHILD_UMOUNT, errno);
    if (syscall(SYS_chdir, "/") < 0)
        child_fail(c, UMH_CHILD_PIVOT_ROOT, errno);
}

/* No capabilities after the exec, even for a helper that is root in its user namespace (or the
 * JVM's root): no root special-casing at exec, no ambient set, and the bits locked. Both are the
 * child's own credentials; neither changes an id, so the kernel leaves the shared mm alone. */
static CHILD void child_drop_caps(struct child *c)
{
    if (syscall(SYS_prctl, UMH_PR_SET_SECUREBITS, UMH_SECBITS_LOCKED_NOROOT, 0, 0, 0) < 0)
        child_fail(c, UMH_CHILD_SECUREBITS, errno);
    if (syscall(SYS_prctl, UMH_PR_CAP_AMBIENT, UMH_PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        child_fail(c, UMH_CHILD_CAP_AMBIENT, errno);
}

/* Into the namespaces made once for this policy (umh_sandbox_namespaces): the mount namespace
 * moves the child's root and cwd to its ready root, so nothing is mounted, pivoted or unmounted
 * here, and nothing is torn down at its exit. Each setns changes this task's nsproxy and fs only
 * (no CLONE_FS: its fs_struct is its own), never the JVM's. */
static CHILD void child_join(struct child *c, const struct umh_sandbox *s)
{
    if (c->relayed)
        return; /* the relay joined them: this is the helper it cloned, already inside */
    /* the user namespace first: it gives the capabilities that the other two setns need */
    if (s->join_user_fd >= 0 && syscall(SYS_setns, s->join_user_fd, CLONE_NEWUSER) < 0)
        child_fail(c, UMH_CHILD_SETNS, errno);
    if (s->join_mnt_fd >= 0 && syscall(SYS_setns, s->join_mnt_fd, CLONE_NEWNS) < 0)
        child_fail(c, UMH_CHILD_SETNS, errno);
    if (s->join_net_fd >= 0 && syscall(SYS_setns, s->join_net_fd, CLONE_NEWNET) < 0)
        child_fail(c, UMH_CHILD_SETNS, errno);
    if (s->join_ipc_fd >= 0 && syscall(SYS_setns, s->join_ipc_fd, CLONE_NEWIPC) < 0)
        child_fail(c, UMH_CHILD_SETNS, errno);
}

/* Everything of the sandbox but seccomp, which goes last: after it only the exec may run. */
static CHILD void child_confine(struct child *c, const struct umh_sandbox *s)
{
    child_join(c, s);
    if (s->root != NULL)
        child_new_root(c, s);
    if (s->no_caps)
        child_drop_caps(c);
    if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(c, UMH_CHILD_NO_NEW_PRIVS, errno);
    if (s->landlock_fd >= 0 && syscall(SYS_landlock_restrict_self, s->landlock_fd, 0) < 0)
        child_fail(c, UMH_CHILD_LANDLOCK, errno);
}

static CHILD int child_open_ns(const char *path)
{
    return (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
}

/* The holder's whole life (struct umh_ns_holder, umh_child.h): the same contract as a spawned
 * child's (raw system calls on memory its caller prepared, all signals blocked by the caller),
 * but it execs nothing: its namespaces outlive it through the fds it opened for the caller. The
 * files are opened before the new root, which has no /proc; an fd names the namespace, whatever
 * its root becomes. */
CHILD int umh_child_ns_holder(void *arg)
{
    struct umh_ns_holder *h = arg;
    if (h->user) {
        child_map_ids(&h->c, h->sandbox);
        if ((h->user_fd = child_open_ns("/proc/self/ns/user")) < 0)
            child_fail(&h->c, UMH_SANDBOX_NAMESPACES, errno);
    }
    if (h->join_user >= 0) { /* a policy's root in the JVM's user namespace made once */
        if (syscall(SYS_setns, h->join_user, CLONE_NEWUSER) < 0 || syscall(SYS_unshare, CLONE_NEWNS) < 0)
            child_fail(&h->c, UMH_SANDBOX_NAMESPACES, errno);
    }
    if (h->sandbox != NULL && h->sandbox->root != NULL && (h->mnt_fd = child_open_ns("/proc/self/ns/mnt")) < 0)
        child_fail(&h->c, UMH_SANDBOX_NAMESPACES, errno);
    if (h->net && ((h->net_fd = child_open_ns("/proc/self/ns/net")) < 0 || (h->ipc_fd = child_open_ns("/proc/self/ns/ipc")) < 0))
        child_fail(&h->c, UMH_SANDBOX_NAMESPACES, errno);
    if (h->sandbox != NULL && h->sandbox->root != NULL)
        child_new_root(&h->c, h->sandbox);
    for (;;)
        syscall(SYS_exit_group, 0);
}

#define UMH_CLONE_PIDFD 0x00001000ULL
#define UMH_CLONE_PARENT 0x00008000ULL
#define UMH_CLONE_PARENT_SETTID 0x00100000ULL
#define UMH_CLONE_CHILD_CLEARTID 0x00200000ULL
#define UMH_CLONE_CLEAR_SIGHAND 0x100000000ULL

/* The relay (umh_child.h): between its clone and its exit it runs as any child does, on its own
 * stack in the frame of the thread that cloned it (suspended until the relay exits: CLONE_VFORK),
 * raw system calls only. The helper's clone is clone3's, through umh_clone3 (a trampoline of raw
 * instructions); CLONE_PARENT makes the JVM its parent, whose exit signal it inherits (clone3
 * wants exit_signal 0 with it). No CLONE_VFORK: the relay exits at once, its exit and reaping
 * overlap the helper's set-up, and the caller is woken by the helper's exec itself (its
 * CLONE_CHILD_CLEARTID on helper_word), not by a relay that would first have to be scheduled
 * again. So the helper's stack is in the caller's frame, which lasts until that wake, and the
 * relay touches nothing of struct child after the clone. The kernel writes the helper's pid into
 * grandchild and its pidfd into the cloning thread's slot before the clone returns: a relay killed
 * at any point leaves either no helper, or its pid and a pidfd that says so (umh_spawn.c,
 * relay_ended). The relay wakes no one: the caller sleeps once, until the helper's exec.
 * The arguments are built field by field (an initializer could become a memset call). */
CHILD int umh_child_relay(void *arg)
{
    struct child *c = arg;
    const struct umh_sandbox *s = c->req->sandbox;
    child_join(c, s);
    struct umh_clone_args a;
    a.flags = CLONE_VM | UMH_CLONE_PARENT | UMH_CLONE_PIDFD | UMH_CLONE_PARENT_SETTID | UMH_CLONE_CHILD_CLEARTID |
              UMH_CLONE_CLEAR_SIGHAND | s->ns_flags;
    a.pidfd = (unsigned long long)(unsigned long)c->helper_pidfd;
    a.child_tid = (unsigned long long)(unsigned long)c->helper_exec;
    a.parent_tid = (unsigned long long)(unsigned long)&c->grandchild;
    a.exit_signal = 0;
    a.stack = (unsigned long long)(unsigned long)c->relay_stack;
    a.stack_size = c->relay_stack_size;
    a.tls = 0;
    c->relayed = 1;
    c->sighand_cleared = 1;
    long pid = umh_clone3(&a, UMH_CLONE_ARGS_SIZE_VER0, umh_child_main, c);
    if (pid < 0)
        child_fail(c, UMH_CLONE3, (int)-pid);
    for (;;)
        syscall(SYS_exit_group, 0);
}

/* Hands the listener to the parent over the sandbox's socket (SCM_RIGHTS): the message is built
 * on this stack, field by field (an initializer could become a memset call). */
static CHILD int child_send_fd(int sock, int fd)
{
    char byte = 0;
    struct iovec iov;
    iov.iov_base = &byte;
    iov.iov_len = 1;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg;
    msg.msg_name = NULL;
    msg.msg_namelen = 0;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    msg.msg_flags = 0;
    struct cmsghdr *cm = &u.align;
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    int *data = (int *)CMSG_DATA(cm);
    *data = fd;
    return syscall(SYS_sendmsg, (long)sock, &msg, 0L) < 0 ? -1 : 0;
}

static CHILD long child_install(const void *filter, unsigned short len, unsigned flags)
{
    struct { unsigned short len; const void *filter; } prog = { len, filter };
    return syscall(SYS_seccomp, UMH_SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* The filter, then at once the exec: it allows that execveat of the memfd and exiting, and with a
 * listener the one sendmsg that hands it to the parent (a JVM thread then learns each forbidden
 * call by name, and stops the helper). An outer filter that holds a listener already (EBUSY: a
 * container runtime's) leaves the kill-only program, which the parent prepared too. The programs
 * live in the parent's memory, prepared before the clone. */
static CHILD void child_seccomp(struct child *c, const struct umh_sandbox *s)
{
    if (s->filter == NULL)
        return;
    if (s->notify_sock >= 0) {
        long listener = child_install(s->filter, s->filter_len, UMH_SECCOMP_FILTER_FLAG_NEW_LISTENER);
        if (listener >= 0) {
            if (child_send_fd(s->notify_sock, (int)listener) < 0)
                child_fail(c, UMH_CHILD_SECCOMP_LISTENER, errno);
            return; /* the listener is close-on-exec: the parent's copy is the one that stays */
        }
        if (errno != EBUSY)
            child_fail(c, UMH_CHILD_SECCOMP, errno);
    }
    if (child_install(s->kill_filter, s->kill_filter_len, 0) < 0)
        child_fail(c, UMH_CHILD_SECCOMP, errno);
}

static CHILD __attribute__((noreturn)) void child_exec(struct child *c, int memfd)
{
    const struct umh_spawn_req *r = c->req;
    int err = ENOSYS;
    if (!(c->fallbacks & UMH_NO_EXECVEAT)) {
        /* this very "" pointer and a long fd: the seccomp filter checks both (umh_seccomp.h) */
        syscall(SYS_execveat, (long)memfd, umh_child_empty_path, r->argv, r->envp, (long)AT_EMPTY_PATH);
        err = errno;
    }
    int step = UMH_CHILD_EXECVEAT;
    /* binfmt_misc emulators and pre-3.19 kernels: exec the same file by its /proc path; the
     * error reported is execve's where execveat could not run at all, else execveat's */
    if ((err == ENOENT || err == ENOSYS || err == EINVAL) && r->sandbox == NULL) { /* no /proc there */
        static const char prefix[] = "/proc/self/fd/";
        char path[sizeof prefix + 11]; /* and up to 10 digits */
        for (size_t i = 0; i < sizeof prefix - 1; i++) /* a loop, not memcpy: no libc here */
            path[i] = prefix[i];
        child_itoa(path + sizeof prefix - 1, memfd);
        syscall(SYS_execve, path, r->argv, r->envp);
        if (err == ENOSYS || err == EINVAL) {
            err = errno;
            step = UMH_CHILD_EXECVE;
        }
    }
    child_fail(c, step, err);
}

CHILD int umh_child_main(void *arg)
{
    struct child *c = arg;
    if (c->report_pid)
        c->pid = (int)syscall(SYS_getpid);
    const struct umh_spawn_req *r = c->req;
    /* the memfd and mm_w as they end up after the lifts: ours, not the struct's */
    int memfd = r->memfd, mm_w = c->mm_w;
    struct child_plan plan;
    int keep[UMH_PASS_MAX + 2];

    const struct umh_sandbox *sandbox = r->sandbox;
    if (child_reset_signals(c) < 0)
        child_fail(c, UMH_CHILD_SIGACTION, errno);
    if (sandbox != NULL && (sandbox->ns_flags & CLONE_NEWUSER))
        child_map_ids(c, sandbox);
    unsigned long long nofile_before = 0; /* RLIMIT_NOFILE's soft limit, if the spawn sets it */
    child_identity(c, &nofile_before);
    /* after the identity: changing credentials clears the parent-death signal */
    if ((r->flags & UMH_SPAWN_PDEATHSIG) && child_die_with_parent(c) < 0)
        child_fail(c, UMH_CHILD_PDEATHSIG, errno);
    child_plan_make(c, &plan);
    child_plan_apply(c, &plan, &memfd, &mm_w);
    if (sandbox != NULL)
        child_confine(c, sandbox);
    /* the second fd to keep: mm_w for user(), the listener's socket for a sandbox (never both) */
    int nkeep = child_keep_list(c, memfd, sandbox != NULL ? sandbox->notify_sock : mm_w, keep);
    if (child_close_others(c, keep, nkeep, nofile_before) < 0)
        child_fail(c, UMH_CHILD_CLOSE_FDS, errno);
    /* a script's interpreter opens /dev/fd/N after the exec: keep N open in the child only */
    if ((r->flags & UMH_SPAWN_SCRIPT) && syscall(SYS_fcntl, memfd, F_SETFD, 0) < 0)
        child_fail(c, UMH_CHILD_CLEAR_CLOEXEC, errno);
    if (r->dir != NULL && syscall(SYS_chdir, r->dir) < 0)
        child_fail(c, UMH_CHILD_CHDIR, errno);
    if (child_unblock_signals() < 0)
        child_fail(c, UMH_CHILD_SIGPROCMASK, errno);
    if (sandbox != NULL)
        child_seccomp(c, sandbox);
    child_exec(c, memfd);
}
