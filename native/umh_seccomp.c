/*
 * umh_seccomp.c: this CPU's system call table, the named groups, and the seccomp-bpf program a
 * helper runs under (see umh_seccomp.h for what the program does). Runs in the parent only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "umh_seccomp.h"
#include "umh_spin.h"
#include "umh_syscalls.h" /* generated: cmake/umh_syscalls.cmake */

#if defined(__x86_64__)
#define UMH_AUDIT_ARCH AUDIT_ARCH_X86_64
/* x86_64-only names; the asm-generic CPUs (aarch64) have only the *at and p* forms */
#define X86_64(name) name,
#elif defined(__aarch64__)
#define UMH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#define X86_64(name)
#else
#error "umh_seccomp: no AUDIT_ARCH for this CPU"
#endif

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
/* every namespace clone() can make (CLONE_NEWTIME is clone3's and unshare's only) */
#define UMH_CLONE_NEW_ANY (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER \
                           | CLONE_NEWPID | CLONE_NEWNET)
/* x86_64's x32 ABI marks its calls with this bit: they reach other kernel entry points */
#define UMH_X32_SYSCALL_BIT 0x40000000u

/* ---- the table */

static int by_name(const void *key, const void *entry)
{
    return strcmp(key, ((const struct umh_syscall_entry *)entry)->name);
}

int umh_syscall_number(const char *name)
{
    const struct umh_syscall_entry *e = bsearch(name, umh_syscalls_by_name, UMH_SYSCALL_COUNT,
                                                sizeof umh_syscalls_by_name[0], by_name);
    return e != NULL ? e->nr : -1;
}

static int by_nr(const void *key, const void *entry)
{
    int nr = *(const int *)key, other = ((const struct umh_syscall_entry *)entry)->nr;
    return (nr > other) - (nr < other);
}

const char *umh_syscall_name(int nr)
{
    const struct umh_syscall_entry *e = bsearch(&nr, umh_syscalls_by_nr, UMH_SYSCALL_COUNT,
                                                sizeof umh_syscalls_by_nr[0], by_nr);
    return e != NULL ? e->name : NULL;
}

const char *umh_syscall_cpu(void)
{
    return UMH_SYSCALLS_CPU;
}

/* ---- the lists, by name: each name must be known on this CPU (resolve fails otherwise), so
 * a typo or a call missing from this CPU's headers fails the tests rather than vanishing. */

static const char *const stdio_calls[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "close",
    "fstat", "newfstatat", /* glibc 2.33+ makes fstat a newfstatat(fd, "", AT_EMPTY_PATH) */
    "lseek", "fcntl", "dup", "dup3", "ppoll", X86_64("dup2") X86_64("poll")
    "pipe2", X86_64("pipe") /* a pipe of its own: xz's and any event loop's self-pipe */ NULL
};
static const char *const memory_calls[] = {
    "brk", "mmap", "munmap", "mprotect", "mremap", "madvise",
    /* its own pages kept in RAM (gpg's secure memory), within its RLIMIT_MEMLOCK: it has no
     * CAP_IPC_LOCK after the exec */
    "mlock", "mlock2", "munlock", "mlockall", "munlockall", NULL
};
static const char *const time_calls[] = {
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", X86_64("time") NULL
};
static const char *const signal_calls[] = {
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", NULL
};
static const char *const exit_calls[] = { "exit", "exit_group", NULL };
/* What a static glibc 2.36 program calls before main (strace of test-blobs/exit): TLS, the robust
 * futex list, the stack limit, /proc/self/exe, the malloc/stack-guard randomness, RELRO. rseq is
 * on the ENOSYS list instead (see there). uname: older glibcs check the kernel's version.
 * getcwd: what a program that resolves a relative name asks first (jq at its start); in the
 * sandbox's empty root it is "/". */
static const char *const startup_static_calls[] = {
    X86_64("arch_prctl") "set_tid_address", "set_robust_list", "prlimit64", "readlinkat",
    X86_64("readlink") "getrandom", "uname", "brk", "mprotect", "getcwd", NULL
};
/* ... and what ld.so adds: finding, reading and mapping the libraries (strace of /bin/true) */
static const char *const startup_dynamic_calls[] = {
    X86_64("arch_prctl") "set_tid_address", "set_robust_list", "prlimit64", "readlinkat",
    X86_64("readlink") "getrandom", "uname", "brk", "mprotect", "getcwd",
    "openat", "read", "mmap", "munmap", "pread64", "close", X86_64("access") "faccessat",
    "newfstatat", "fstat",
    "statfs", "fstatfs", /* libselinux's constructor, in coreutils' id, ls, cp... */ NULL
};
/* pthread_create and join, with "memory" and "signals": clone only with CLONE_THREAD (the filter
 * checks its flags), clone3 gets ENOSYS and glibc falls back to clone. */
static const char *const thread_calls[] = {
    "clone", "futex", "set_robust_list", "gettid", "sched_yield", "madvise", "exit", NULL
};
/* naming, reading and walking files (what Landlock and the mount namespace then narrow) */
static const char *const file_calls[] = {
    "openat", X86_64("open") "close", "read", "getdents64", "lseek", "newfstatat", "fstat",
    X86_64("stat") X86_64("lstat") "statx", "statfs", "fstatfs", "faccessat", "faccessat2",
    X86_64("access") "readlinkat", X86_64("readlink") "getcwd", "chdir", "fchdir",
    /* ls -l asks each file for its ACL and security label */
    "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
    /* its own creation mask (libmagic sets one before its temporary file): nothing outside it */
    "umask", NULL
};
static const char *const file_write_calls[] = {
    "write", "mkdirat", "unlinkat", "renameat", "renameat2", "linkat", "symlinkat", "truncate",
    "ftruncate", "fallocate", "fsync", "fdatasync", "fchmod", "fchmodat", "utimensat",
    X86_64("mkdir") X86_64("rmdir") X86_64("unlink") X86_64("rename") X86_64("creat")
    X86_64("link") X86_64("symlink") X86_64("chmod")
    /* sqlite, as root, gives its journal the database's owner: without CAP_CHOWN after the exec
     * an owner can only be set to what it already is */
    "fchown", "fchownat", X86_64("chown") X86_64("lchown") NULL
};
/* sockets of any family; glibc's resolver sends its queries with sendmmsg */
static const char *const network_calls[] = {
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto", "recvfrom",
    "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "getsockopt", "setsockopt", "getsockname",
    "getpeername", "shutdown", NULL
};

static const struct {
    const char *name;
    const char *const *calls;
} groups[] = {
    { "stdio", stdio_calls },
    { "memory", memory_calls },
    { "time", time_calls },
    { "signals", signal_calls },
    { "exit", exit_calls },
    { "startup-static", startup_static_calls },
    { "startup-dynamic", startup_dynamic_calls },
    { "threads", thread_calls },
    { "files", file_calls },
    { "files-write", file_write_calls },
    { "network", network_calls },
};

/* Answered ENOSYS, as a kernel without them would: libc and runtimes probe these and fall back,
 * where a kill would end the program and EPERM would be taken as a real refusal (Rust's statx
 * probe, glibc's faccessat2, the container runtimes' lesson).
 *   clone3: glibc 2.34+ pthread_create and posix_spawn try it first, then clone (whose flags the
 *     filter can check; clone3's are in memory it cannot read);
 *   rseq: glibc 2.35+ registers it in every thread; on failure it sets __rseq_size to 0 and goes
 *     on, as on kernels before 4.18. Refused rather than allowed: it only speeds up sched_getcpu,
 *     and it is one more kernel-written per-thread area with abort handlers (kernel code a helper
 *     need not reach); a program that wants it can still allow it by name;
 *   close_range: glibc's closefrom falls back to a close loop;
 *   statx, faccessat2, openat2: stat, faccessat with flags and path resolution fall back to
 *     newfstatat, the emulation in glibc, openat;
 *   copy_file_range, preadv2, pwritev2: coreutils and glibc (flags 0) fall back to read/write;
 *   sysinfo: glibc's sysconf(_SC_PHYS_PAGES) (qsort's and GNU sort's memory sizing, CPython's
 *     start) says -1 and its callers assume enough memory; allowed, it would tell the host's
 *     memory, load, uptime and process count, which no namespace hides. */
static const char *const enosys_calls[] = {
    "clone3", "rseq", "close_range", "statx", "faccessat2", "openat2", "copy_file_range",
    "preadv2", "pwritev2", "sysinfo", NULL
};

/* Refused in every filter, even when asked for: other processes' memory and fds, kernel
 * attack surface no helper needs, the host's state (root without a user namespace would change
 * it), namespaces and mounts, a second exec. */
static const char *const always_denied_calls[] = {
    /* other processes */
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd",
    "pidfd_open", "kcmp",
    /* big kernel surface */
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key",
    /* mounts and namespaces */
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsmount",
    "fsconfig", "fspick", "mount_setattr", "unshare", "setns",
    /* the host */
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "sethostname", "setdomainname", "syslog", "acct", "quotactl", "quotactl_fd", "vhangup",
    "open_by_handle_at", X86_64("iopl") X86_64("ioperm")
    /* execveat only as the filter's rule allows */
    "execve", NULL
};

/* The names' numbers into nrs (at most max): how many, or UMH_FAIL(step, ENOSYS) for a name
 * this CPU does not know, ENOSPC for no room. */
static int resolve(const char *const *names, int *nrs, int max, int step)
{
    int n = 0;
    for (; names[n] != NULL; n++) {
        int nr = umh_syscall_number(names[n]);
        if (nr < 0)
            return UMH_FAIL(step, ENOSYS);
        if (n >= max)
            return UMH_FAIL(step, ENOSPC);
        nrs[n] = nr;
    }
    return n;
}

const char *umh_seccomp_group_name(int i)
{
    return i >= 0 && i < (int)(sizeof groups / sizeof groups[0]) ? groups[i].name : NULL;
}

int umh_seccomp_group(const char *name, int *nrs, int max)
{
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (strcmp(groups[i].name, name) == 0)
            return resolve(groups[i].calls, nrs, max, UMH_SECCOMP_GROUP);
    return UMH_FAIL(UMH_SECCOMP_GROUP, ENOENT);
}

int umh_seccomp_enosys(int *nrs, int max)
{
    return resolve(enosys_calls, nrs, max, UMH_SECCOMP_GROUP);
}

static int listed(const char *const *names, int nr)
{
    const char *name = umh_syscall_name(nr);
    for (int i = 0; name != NULL && names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

/* The two lists by number, resolved once: the build asks about every call of the CPU, twice per
 * spawn (the kill and the notify filter), and the names compared one by one cost ~0.2 ms per spawn
 * for the always-denied list and ~30 us for the ENOSYS one (perf profiles of strict() spawns).
 * Bit 1: always denied; bit 2: ENOSYS. A spin lock, not pthread_once (libpthread's before glibc
 * 2.34: the shim's floor is 2.17). */
#define LISTED_MAP_SIZE 1024
#define LISTED_DENIED 1
#define LISTED_ENOSYS 2
static unsigned char listed_map[LISTED_MAP_SIZE];
static atomic_int listed_ready;
static atomic_flag listed_lock = ATOMIC_FLAG_INIT;

static void listed_map_fill(void)
{
    umh_spin_lock(&listed_lock);
    if (!atomic_load_explicit(&listed_ready, memory_order_relaxed)) {
        for (int nr = 0; nr < LISTED_MAP_SIZE; nr++)
            listed_map[nr] = (unsigned char)((listed(always_denied_calls, nr) ? LISTED_DENIED : 0)
                                             | (listed(enosys_calls, nr) ? LISTED_ENOSYS : 0));
        atomic_store_explicit(&listed_ready, 1, memory_order_release);
    }
    umh_spin_unlock(&listed_lock);
}

/* Whether nr is in the list bit names (LISTED_DENIED or LISTED_ENOSYS). */
static int listed_as(int nr, int bit)
{
    if (nr < 0 || nr >= LISTED_MAP_SIZE)
        return listed(bit == LISTED_DENIED ? always_denied_calls : enosys_calls, nr);
    if (!atomic_load_explicit(&listed_ready, memory_order_acquire))
        listed_map_fill();
    return (listed_map[nr] & bit) != 0;
}

int umh_seccomp_always_denied(int nr)
{
    return listed_as(nr, LISTED_DENIED);
}

/* ---- the program */

/* what the filter does with one call number */
enum rule_kind {
    RULE_DEFAULT,  /* not in the program: the default action */
    RULE_ALLOW,
    RULE_ENOSYS,
    RULE_EXECVEAT, /* the one exec: exec_fd, AT_EMPTY_PATH, exec_path */
    RULE_CLONE,    /* threads only, no namespaces */
    RULE_SENDMSG,  /* on notify_fd_sock only */
    RULE_IOCTL,    /* the queries of tty_queries only */
    RULE_PRCTL,    /* the options of prctl_queries only */
    RULE_SOCKET,   /* not allowed: AF_UNIX refused (EAFNOSUPPORT), any other family the default */
};
#define RULE_KINDS (RULE_SOCKET + 1)

/* termios2's size on x86_64 and aarch64 alike (4 tcflag_t, c_line, 19 c_cc, 2 speed_t): the
 * kernel's header defines TCGETS2 with a struct that clashes with glibc's termios */
#define UMH_TCGETS2 _IOR('T', 0x2A, char[44])

/* The ioctls every filter lets through (unless ioctl is allowed outright): what isatty(), a
 * terminal's size, the foreground group, the bytes waiting and an fd's O_NONBLOCK and
 * close-on-exec flags ask, the queries of nearly every program's start (ls, python3, sqlite3,
 * jq, getent all call TCGETS on fds 0-2). Each reads or sets a flag of the helper's own fd;
 * none writes to a terminal (TIOCSTI, which types into the JVM's terminal, is not among them). */
static const unsigned tty_queries[] = {
    TCGETS, UMH_TCGETS2, TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX,
};

/* The prctl options every filter lets through (unless prctl is allowed outright): a thread's own
 * name, and questions about itself. libcap's constructor asks PR_CAPBSET_READ in every program
 * linked with it (curl); none changes a credential, a memory map or another process. */
static const unsigned prctl_queries[] = {
    PR_SET_NAME, PR_GET_NAME, PR_CAPBSET_READ, PR_GET_DUMPABLE, PR_GET_SECCOMP, PR_GET_NO_NEW_PRIVS,
    PR_GET_KEEPCAPS,
};
struct rule {
    int nr;
    enum rule_kind kind;
};

static enum rule_kind classify(const struct umh_seccomp_spec *spec, const unsigned char *allowed, int nr)
{
    if (umh_seccomp_always_denied(nr))
        return RULE_DEFAULT;
    if (nr == SYS_execveat)
        return spec->exec_fd >= 0 ? RULE_EXECVEAT : RULE_DEFAULT;
    if (nr == SYS_clone)
        return allowed[nr] ? RULE_CLONE : RULE_DEFAULT;
    if (nr == SYS_clone3)
        return RULE_ENOSYS; /* even when allowed: its flags are beyond the filter's reach */
    if (nr == SYS_ioctl)
        return allowed[nr] ? RULE_ALLOW : RULE_IOCTL;
    if (nr == SYS_prctl)
        return allowed[nr] ? RULE_ALLOW : RULE_PRCTL;
    if (nr == SYS_socket && !allowed[nr])
        return RULE_SOCKET;
    if (allowed[nr] || nr == SYS_exit || nr == SYS_exit_group)
        return RULE_ALLOW;
    if (nr == SYS_sendmsg && spec->notify_fd_sock >= 0)
        return RULE_SENDMSG;
    return listed_as(nr, LISTED_ENOSYS) ? RULE_ENOSYS : RULE_DEFAULT;
}

/* The spec's allowed numbers as a map (0 or UMH_FAIL: a number this CPU does not have). */
static int allowed_map(const struct umh_seccomp_spec *spec, unsigned char *allowed)
{
    if (spec->nallowed < 0 || (spec->nallowed > 0 && spec->allowed == NULL))
        return UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL);
    memset(allowed, 0, UMH_SYSCALL_NR_LIMIT);
    for (int i = 0; i < spec->nallowed; i++) {
        int nr = spec->allowed[i];
        if (nr < 0 || nr >= UMH_SYSCALL_NR_LIMIT || umh_syscall_name(nr) == NULL)
            return UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL);
        allowed[nr] = 1;
    }
    return 0;
}

/* The rules, sorted by number (the table's order): how many, or UMH_FAIL. */
static int make_rules(const struct umh_seccomp_spec *spec, struct rule *rules)
{
    unsigned char allowed[UMH_SYSCALL_NR_LIMIT];
    int rc = allowed_map(spec, allowed);
    if (rc < 0)
        return rc;
    int n = 0;
    for (int i = 0; i < UMH_SYSCALL_COUNT; i++) {
        int nr = umh_syscalls_by_nr[i].nr;
        enum rule_kind kind = classify(spec, allowed, nr);
        if (kind != RULE_DEFAULT && (n == 0 || rules[n - 1].nr != nr))
            rules[n++] = (struct rule){ nr, kind };
    }
    return n;
}

/* Every name on the built-in lists must be this CPU's, or the filter would silently miss one.
 * The answer is the build's constant: found once (a race finds the same answer twice), not by
 * ~50 name searches in each of a spawn's two builds. */
static atomic_int lists_checked; /* 0: not yet; 1: every name known; else the UMH_FAIL code */

static int check_lists(void)
{
    int checked = atomic_load_explicit(&lists_checked, memory_order_relaxed);
    if (checked == 0) {
        int nrs[UMH_SECCOMP_MAX_NRS];
        int rc = resolve(always_denied_calls, nrs, UMH_SECCOMP_MAX_NRS, UMH_SECCOMP_BUILD);
        if (rc >= 0)
            rc = resolve(enosys_calls, nrs, UMH_SECCOMP_MAX_NRS, UMH_SECCOMP_BUILD);
        checked = rc < 0 ? rc : 1;
        atomic_store_explicit(&lists_checked, checked, memory_order_relaxed);
    }
    return checked < 0 ? checked : 0;
}

/* A program being written: instructions past max are counted, not stored, so the same code
 * measures a subtree (out NULL) and emits it. */
struct prog {
    struct sock_filter *out;
    int max, len;
    int overflow;             /* a jump offset did not fit in 8 bits (a bug: checked, tested) */
    unsigned deflt;           /* the default action */
    const struct umh_seccomp_spec *spec;
    int body_len[RULE_KINDS]; /* each kind's body, measured once per build (body_lengths) */
    struct umh_seccomp_slots *slots; /* where exec_fd and notify_fd_sock land, or NULL */
};

static void emit(struct prog *p, struct sock_filter insn)
{
    if (p->out != NULL && p->len < p->max)
        p->out[p->len] = insn;
    p->len++;
}

static void emit_jump(struct prog *p, unsigned short code, unsigned k, int jt, int jf)
{
    if (jt < 0 || jt > 255 || jf < 0 || jf > 255)
        p->overflow = 1;
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | code | BPF_K, k, (unsigned char)jt, (unsigned char)jf));
}

static void emit_ret(struct prog *p, unsigned action)
{
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
}

static void emit_load(struct prog *p, unsigned offset)
{
    emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset));
}

/* seccomp_data.args[i]'s low and high 32 bits, wherever this CPU keeps them */
static unsigned arg_lo(int i)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (unsigned)(offsetof(struct seccomp_data, args) + 8 * (unsigned)i);
#else
    return (unsigned)(offsetof(struct seccomp_data, args) + 8 * (unsigned)i + 4);
#endif
}

static unsigned arg_hi(int i)
{
    return arg_lo(i) ^ 4u;
}

/* An argument check: a few tests, each of which jumps to the block's "refuse" when it fails,
 * then "ret allow", then "refuse: ret default". Written into a small array first, so that each
 * test's distance to "refuse" is known before it is emitted. */
struct block {
    struct sock_filter insn[16];
    int n;
    int fd_at;     /* the insn whose k is the fd of fd_slot, or -1 */
    int *fd_slot;  /* the umh_seccomp_slots field that records where it lands */
};
#define REFUSE 0xff /* a placeholder offset: "to the block's refusal" */

static void block_load(struct block *b, unsigned offset)
{
    b->insn[b->n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset);
}

/* the accumulator must equal k, else refuse */
static void block_require_eq(struct block *b, unsigned k)
{
    b->insn[b->n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, REFUSE);
}

/* the accumulator must have every bit of k set (set 1) or none of them (set 0), else refuse */
static void block_require_bits(struct block *b, unsigned k, int set)
{
    b->insn[b->n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, k, set ? 0 : REFUSE,
                                                   set ? REFUSE : 0);
}

/* a 64-bit argument holding an fd (or any 32-bit value): low half k, high half 0 */
static void block_require_arg32(struct block *b, int arg, unsigned k)
{
    block_load(b, arg_lo(arg));
    block_require_eq(b, k);
    block_load(b, arg_hi(arg));
    block_require_eq(b, 0);
}

static void block_require_arg64(struct block *b, int arg, uint64_t k)
{
    block_load(b, arg_lo(arg));
    block_require_eq(b, (unsigned)k);
    block_load(b, arg_hi(arg));
    block_require_eq(b, (unsigned)(k >> 32));
}

/* b's fd check (block_require_arg32's first test, just made) lands where *slot records, in the
 * emitting pass only (the dry ones write nothing) */
static void block_fd_slot(struct block *b, const struct prog *p, int *slot)
{
    b->fd_at = b->n - 3;
    b->fd_slot = p->out != NULL ? slot : NULL;
}

static void emit_block(struct prog *p, struct block *b)
{
    int refuse = b->n + 1; /* after "ret allow" */
    for (int i = 0; i < b->n; i++) {
        if (b->insn[i].jt == REFUSE)
            b->insn[i].jt = (unsigned char)(refuse - i - 1);
        if (b->insn[i].jf == REFUSE)
            b->insn[i].jf = (unsigned char)(refuse - i - 1);
        if (i == b->fd_at && b->fd_slot != NULL) /* a second body of the kind: no single place to patch */
            *b->fd_slot = *b->fd_slot == -1 ? p->len : -2;
        emit(p, b->insn[i]);
    }
    emit_ret(p, SECCOMP_RET_ALLOW);
    emit_ret(p, p->deflt);
}

/* An argument (an int or unsigned int: the kernel reads the low half) one of values[n]: each a
 * jump to "ret allow" past the others and "ret default". ioctl's request, prctl's option. */
static void emit_one_of(struct prog *p, int arg, const unsigned *values, int n)
{
    emit_load(p, arg_lo(arg));
    for (int i = 0; i < n; i++)
        emit_jump(p, BPF_JEQ, values[i], n - i, 0);
    emit_ret(p, p->deflt);
    emit_ret(p, SECCOMP_RET_ALLOW);
}

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* What a matched number does: one return, or an argument check. Ends in a return, always. */
static void emit_body(struct prog *p, enum rule_kind kind)
{
    const struct umh_seccomp_spec *spec = p->spec;
    struct block b = { .n = 0, .fd_at = -1 };
    switch (kind) {
    case RULE_ALLOW:
        emit_ret(p, SECCOMP_RET_ALLOW);
        return;
    case RULE_ENOSYS:
        emit_ret(p, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
        return;
    case RULE_EXECVEAT: /* execveat(dirfd, path, argv, envp, flags) */
        block_require_arg32(&b, 0, (unsigned)spec->exec_fd);
        block_fd_slot(&b, p, p->slots != NULL ? &p->slots->exec_fd_at : NULL);
        block_load(&b, arg_lo(4)); /* flags is an int: the kernel ignores the high half */
        block_require_bits(&b, AT_EMPTY_PATH, 1);
        if (spec->exec_path != NULL)
            block_require_arg64(&b, 1, (uint64_t)(uintptr_t)spec->exec_path);
        break;
    case RULE_CLONE: /* clone(flags, ...): flags first on every CPU; the kernel reads its low half */
        block_load(&b, arg_lo(0));
        block_require_bits(&b, UMH_CLONE_NEW_ANY, 0);
        block_require_bits(&b, CLONE_THREAD, 1);
        break;
    case RULE_SENDMSG: /* sendmsg(fd, msg, flags) */
        block_require_arg32(&b, 0, (unsigned)spec->notify_fd_sock);
        block_fd_slot(&b, p, p->slots != NULL ? &p->slots->notify_fd_sock_at : NULL);
        break;
    case RULE_IOCTL: /* ioctl(fd, request, ...) */
        emit_one_of(p, 1, tty_queries, COUNT(tty_queries));
        return;
    case RULE_PRCTL: /* prctl(option, ...) */
        emit_one_of(p, 0, prctl_queries, COUNT(prctl_queries));
        return;
    case RULE_SOCKET: /* socket(domain, ...): an int, the low half */
        emit_load(p, arg_lo(0));
        emit_jump(p, BPF_JEQ, AF_UNIX, 0, 1);
        emit_ret(p, SECCOMP_RET_ERRNO | (EAFNOSUPPORT & SECCOMP_RET_DATA));
        emit_ret(p, p->deflt);
        return;
    case RULE_DEFAULT:
        emit_ret(p, p->deflt);
        return;
    }
    emit_block(p, &b);
}

/* Each kind's body length, by emitting it into nothing: before the first jump over a body. */
static void body_lengths(struct prog *p)
{
    for (int kind = 0; kind < RULE_KINDS; kind++) {
        struct prog dry = { .deflt = p->deflt, .spec = p->spec };
        emit_body(&dry, (enum rule_kind)kind);
        p->body_len[kind] = dry.len;
    }
}

/* The numbers as intervals, each [start, next one's start) with one kind: runs of consecutive
 * calls of a one-return kind (allowed, ENOSYS) merged, each argument-checked call an interval of
 * its own, the gaps the default. A binary search over their starts needs no "nr == k" test at a
 * leaf, and a leaf whose body is one return jumps to a return shared by all (at the program's
 * end): ~35% fewer instructions than a search over the calls one by one, and the kernel's JIT and
 * its action cache (which runs the program for every number at attach) cost per instruction. */
struct interval {
    unsigned start;
    enum rule_kind kind;
};

static int one_return(enum rule_kind kind)
{
    return kind == RULE_ALLOW || kind == RULE_ENOSYS || kind == RULE_DEFAULT;
}

/* rules (sorted, distinct numbers) into iv (room for 2n + 1): how many */
static int make_intervals(const struct rule *rules, int n, struct interval *iv)
{
    int m = 0;
    unsigned next = 0; /* the first number no interval covers yet */
    for (int i = 0; i < n; i++) {
        unsigned nr = (unsigned)rules[i].nr;
        enum rule_kind kind = rules[i].kind;
        if (nr > next)
            iv[m++] = (struct interval){ next, RULE_DEFAULT };
        if (m == 0 || iv[m - 1].kind != kind || !one_return(kind)) /* else it extends the one before */
            iv[m++] = (struct interval){ nr, kind };
        next = nr + 1;
    }
    iv[m++] = (struct interval){ next, RULE_DEFAULT }; /* to the end of the numbers */
    return m;
}

/* The shared returns' order at the program's end (emit_shared_returns) */
static int shared_slot(enum rule_kind kind)
{
    return kind == RULE_ALLOW ? 0 : kind == RULE_ENOSYS ? 1 : 2;
}

/* The search's layout: per node (indexed by its split, the start of its right half) whether its
 * "then" needs a BPF_JA (further than 8 bits); per leaf whether it is emitted in place rather
 * than sharing a return too far away. Set while laying out, never cleared: the layout only grows,
 * so laying out again until nothing changes ends. */
struct layout {
    const struct interval *iv;
    unsigned char wide[2 * UMH_SYSCALL_COUNT + 1];
    unsigned char in_place[2 * UMH_SYSCALL_COUNT + 1];
    int shared;  /* where the shared returns begin, as the last pass found */
    int check;   /* whether this pass may trust shared (not the first) */
    int emitting; /* the last pass, into the program */
    int changed; /* a flag was set in this pass */
};

static int shares(const struct layout *l, int lo, int hi)
{
    return hi - lo == 1 && one_return(l->iv[lo].kind) && !l->in_place[lo];
}

static int tree_length(const struct prog *p, const struct layout *l, int lo, int hi)
{
    if (hi - lo == 1)
        return shares(l, lo, hi) ? 0 : p->body_len[l->iv[lo].kind];
    int mid = (lo + hi) / 2;
    return (l->wide[mid] ? 2 : 1) + tree_length(p, l, lo, mid) + tree_length(p, l, mid, hi);
}

/* A jump's offset from `from` to `to`. A layout pass flags one beyond 8 bits (and clamps it: that
 * pass is laid out again); the emitting pass (l->emitting) returns it as it is, so that one out of
 * range there fails the build in emit_jump (EOVERFLOW) rather than jumping anywhere else. */
static int offset(struct layout *l, int from, int to, unsigned char *flag)
{
    int off = to - from - 1;
    if (l->emitting)
        return off;
    if (off > 255 && l->check) {
        *flag = 1;
        l->changed = 1;
    }
    return off > 255 || off < 0 ? 0 : off;
}

/* intervals [lo, hi): "nr >= start of mid? right : left", the left half right after the node
 * unless it shares a return; a leaf in place is its body (the top, or one too far to share) */
static void emit_tree(struct prog *p, struct layout *l, int lo, int hi)
{
    if (hi - lo == 1) {
        emit_body(p, l->iv[lo].kind);
        return;
    }
    int mid = (lo + hi) / 2, at = p->len, node = l->wide[mid] ? 2 : 1;
    int left_shares = shares(l, lo, mid), right_shares = shares(l, mid, hi);
    int left_to = left_shares ? l->shared + shared_slot(l->iv[lo].kind) : at + node;
    int right_to = right_shares ? l->shared + shared_slot(l->iv[mid].kind)
                                : at + node + tree_length(p, l, lo, mid);
    unsigned char unused = 0;
    int jf = offset(l, at, left_to, left_shares ? &l->in_place[lo] : &unused);
    if (!l->wide[mid]) {
        emit_jump(p, BPF_JGE, l->iv[mid].start, offset(l, at, right_to, &l->wide[mid]), jf);
    } else {
        emit_jump(p, BPF_JGE, l->iv[mid].start, 0, jf);
        if (l->emitting && right_to - at - 2 < 0)
            p->overflow = 1; /* cannot happen: the right half comes after the node */
        emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, (unsigned)(right_to - at - 2), 0, 0));
    }
    if (!left_shares)
        emit_tree(p, l, lo, mid);
    if (!right_shares)
        emit_tree(p, l, mid, hi);
}

static void emit_shared_returns(struct prog *p)
{
    emit_ret(p, SECCOMP_RET_ALLOW);
    emit_ret(p, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
    emit_ret(p, p->deflt);
}

/* the arch check, x32's refusal, then the number in the accumulator */
static void emit_prologue(struct prog *p)
{
    emit_load(p, offsetof(struct seccomp_data, arch));
    emit_jump(p, BPF_JEQ, UMH_AUDIT_ARCH, 1, 0);
    emit_ret(p, SECCOMP_RET_KILL_PROCESS);
    emit_load(p, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
    emit_jump(p, BPF_JGE, UMH_X32_SYSCALL_BIT, 0, 1);
    emit_ret(p, SECCOMP_RET_KILL_PROCESS);
#endif
}

static int check_spec(const struct umh_seccomp_spec *spec, const struct sock_filter *out, int max)
{
    if (spec == NULL || out == NULL || max < 0 || spec->exec_fd < -1 || spec->notify_fd_sock < -1)
        return UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL);
    if (spec->default_action != SECCOMP_RET_KILL_PROCESS && spec->default_action != SECCOMP_RET_USER_NOTIF)
        return UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL);
    return 0;
}

int umh_seccomp_build(const struct umh_seccomp_spec *spec, struct sock_filter *out, int max)
{
    return umh_seccomp_build_slots(spec, out, max, NULL);
}

int umh_seccomp_build_slots(const struct umh_seccomp_spec *spec, struct sock_filter *out, int max,
                            struct umh_seccomp_slots *slots)
{
    if (slots != NULL)
        slots->exec_fd_at = slots->notify_fd_sock_at = -1;
    int rc = check_spec(spec, out, max);
    if (rc == 0)
        rc = check_lists();
    if (rc < 0)
        return rc;
    struct rule rules[UMH_SYSCALL_COUNT];
    int n = make_rules(spec, rules);
    if (n < 0)
        return n;
    struct layout l; /* with iv and rules ~13 KB of stack: a JVM thread's, never the vfork child's */
    struct interval iv[2 * UMH_SYSCALL_COUNT + 1];
    int m = make_intervals(rules, n, iv);
    memset(&l, 0, sizeof l);
    l.iv = iv;
    struct prog p = { .max = max, .deflt = spec->default_action, .spec = spec };
    body_lengths(&p);
    p.slots = slots;
    /* laid out until the shared returns stay where the pass before found them, and no jump grew */
    for (int pass = 0;; pass++) {
        struct prog dry = p;
        l.changed = 0;
        l.check = pass > 0;
        emit_prologue(&dry);
        emit_tree(&dry, &l, 0, m);
        if (l.check && !l.changed && dry.len == l.shared)
            break;
        if (pass > 4 * m + 4)
            return UMH_FAIL(UMH_SECCOMP_BUILD, EOVERFLOW); /* cannot happen: each pass sets a flag or settles */
        l.shared = dry.len;
    }
    p.out = out;
    l.check = 0;
    l.emitting = 1;
    emit_prologue(&p);
    emit_tree(&p, &l, 0, m);
    emit_shared_returns(&p);
    if (p.overflow)
        return UMH_FAIL(UMH_SECCOMP_BUILD, EOVERFLOW);
    if (p.len > max || p.len > BPF_MAXINSNS)
        return UMH_FAIL(UMH_SECCOMP_BUILD, ENOSPC);
    return p.len;
}

int umh_seccomp_patch(struct sock_filter *prog, const struct umh_seccomp_slots *slots, int exec_fd, int notify_fd_sock)
{
    const int at[2] = { slots->exec_fd_at, slots->notify_fd_sock_at }, fd[2] = { exec_fd, notify_fd_sock };
    for (int i = 0; i < 2; i++) {
        if (at[i] == -2 || (at[i] >= 0 && fd[i] < 0))
            return UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL); /* no single place, or no fd for its check */
        if (at[i] >= 0)
            prog[at[i]].k = (unsigned)fd[i];
    }
    return 0;
}

/* The programs built so far, each under what it is built from but its two fds: a policy's spawns
 * share one build (~30 us of a strict() spawn, two programs each: perf of the sixteenth session),
 * each spawn a copy with its own fds patched in. A few, replaced in turn, under a spin lock
 * held for a compare and a copy. Parent side only (malloc), never the vfork child's. */
#define BUILT_CACHED 8
struct built {
    int *allowed;
    int nallowed;
    unsigned action;
    const void *exec_path;
    int has_exec, has_notify;
    struct sock_filter *prog;
    int len;
    struct umh_seccomp_slots slots;
};
static struct built built_cache[BUILT_CACHED];
static int built_next;
static atomic_flag built_lock = ATOMIC_FLAG_INIT;

static int built_matches(const struct built *b, const struct umh_seccomp_spec *spec)
{
    return b->prog != NULL && b->action == spec->default_action && b->exec_path == spec->exec_path
           && b->has_exec == (spec->exec_fd >= 0) && b->has_notify == (spec->notify_fd_sock >= 0)
           && b->nallowed == spec->nallowed
           && (spec->nallowed == 0 || memcmp(b->allowed, spec->allowed, (size_t)spec->nallowed * sizeof(int)) == 0);
}

/* A copy of the cached program for spec into out: its length, or 0 where none is cached. */
static int built_find(const struct umh_seccomp_spec *spec, struct sock_filter *out, int max,
                      struct umh_seccomp_slots *slots)
{
    int len = 0;
    umh_spin_lock(&built_lock);
    for (int i = 0; i < BUILT_CACHED && len == 0; i++)
        if (built_matches(&built_cache[i], spec) && built_cache[i].len <= max) {
            memcpy(out, built_cache[i].prog, (size_t)built_cache[i].len * sizeof *out);
            *slots = built_cache[i].slots;
            len = built_cache[i].len;
        }
    umh_spin_unlock(&built_lock);
    return len;
}

/* Keeps a copy of a program just built (nothing where memory is short: the next spawn builds again). */
static void built_keep(const struct umh_seccomp_spec *spec, const struct sock_filter *prog, int len,
                       const struct umh_seccomp_slots *slots)
{
    struct built b = { .nallowed = spec->nallowed, .action = spec->default_action, .exec_path = spec->exec_path,
                       .has_exec = spec->exec_fd >= 0, .has_notify = spec->notify_fd_sock >= 0, .len = len,
                       .slots = *slots };
    b.allowed = malloc((size_t)spec->nallowed * sizeof(int) + 1);
    b.prog = malloc((size_t)len * sizeof *prog);
    if (b.allowed == NULL || b.prog == NULL) {
        free(b.allowed);
        free(b.prog);
        return;
    }
    if (spec->nallowed > 0)
        memcpy(b.allowed, spec->allowed, (size_t)spec->nallowed * sizeof(int));
    memcpy(b.prog, prog, (size_t)len * sizeof *prog);
    umh_spin_lock(&built_lock);
    struct built old = built_cache[built_next];
    built_cache[built_next] = b;
    built_next = (built_next + 1) % BUILT_CACHED;
    umh_spin_unlock(&built_lock);
    free(old.allowed);
    free(old.prog);
}

int umh_seccomp_build_cached(const struct umh_seccomp_spec *spec, struct sock_filter *out, int max)
{
    struct umh_seccomp_slots slots;
    int rc = check_spec(spec, out, max);
    if (rc < 0)
        return rc;
    int len = built_find(spec, out, max, &slots);
    if (len == 0) {
        if ((len = umh_seccomp_build_slots(spec, out, max, &slots)) < 0)
            return len;
        if (slots.exec_fd_at == -2 || slots.notify_fd_sock_at == -2)
            return len; /* its fds in more than one place: built per spawn */
        built_keep(spec, out, len, &slots);
    }
    rc = umh_seccomp_patch(out, &slots, spec->exec_fd, spec->notify_fd_sock);
    return rc < 0 ? rc : len;
}

/* ---- the listener, on the JVM's side */

static int notif_size(size_t *size, int step)
{
    struct seccomp_notif_sizes sizes;
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
        return UMH_FAIL(step, errno);
    /* the kernel's struct may have grown past this header's: the larger of the two */
    *size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif : sizeof(struct seccomp_notif);
    return 0;
}

int umh_seccomp_listener_supported(void)
{
    unsigned action = SECCOMP_RET_USER_NOTIF;
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
        return UMH_FAIL(UMH_SECCOMP_ACTION_AVAIL, errno);
    size_t size;
    int rc = notif_size(&size, UMH_SECCOMP_NOTIF_SIZES);
    return rc < 0 ? rc : 1;
}

int umh_seccomp_pending(int listener)
{
    struct pollfd p = { .fd = listener, .events = POLLIN };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) ? 1 : 0;
}

int umh_seccomp_notif_recv(int listener, int *nr, int *pid)
{
    size_t size;
    int rc = notif_size(&size, UMH_SECCOMP_NOTIF_SIZES);
    if (rc < 0)
        return rc;
    /* zeroed: the kernel refuses a buffer with anything in it (EINVAL), seccomp_unotify(2) */
    struct seccomp_notif *req = calloc(1, size);
    if (req == NULL)
        return UMH_FAIL(UMH_MALLOC, ENOMEM);
    while ((rc = ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req)) < 0 && errno == EINTR)
        memset(req, 0, size);
    if (rc < 0) {
        rc = UMH_FAIL(UMH_SECCOMP_NOTIF_RECV, errno);
    } else {
        *nr = req->data.nr;
        *pid = (int)req->pid;
        rc = 0;
    }
    free(req);
    return rc;
}
