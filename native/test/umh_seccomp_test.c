/*
 * Tests of umh_seccomp.c: this CPU's syscall table, the groups and lists, and the filters it
 * builds, two ways:
 *   - in a small classic-BPF interpreter here, against a model of what umh_seccomp.h promises,
 *     for every call number, the x32 bit and wrong arches, with argument variations (anywhere,
 *     emulators included), and for policies big enough that the tree needs long jumps;
 *   - in the kernel: a forked child installs the filter (PR_SET_NO_NEW_PRIVS + seccomp) and then
 *     makes one call: allowed, killed (SIGSYS, 159 as the JDK reports it), ENOSYS, the one exec
 *     (a static blob from the test-blobs directory really runs under the filter), threads, the
 *     notify socket, and the user-notification listener handed to the parent over SCM_RIGHTS.
 *     Skipped, with a SKIP line, where filters do not work (qemu-user).
 * Usage: umh-seccomp-test TEST_BLOBS_DIR. Prints "ok"/"FAIL"/"SKIP" per test, then
 * "N passed, N failed" (checks).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umh.h"
#include "umh_seccomp.h"
#include "umh_test.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define OTHER_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#define OTHER_ARCH AUDIT_ARCH_ARM
#endif
#define CLONE_NEW_ANY (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER \
                       | CLONE_NEWPID | CLONE_NEWNET)
#define RET_ENOSYS (SECCOMP_RET_ERRNO | ENOSYS)
#define STATUS_SIGSYS (128 + SIGSYS) /* 159: what the JDK reports for a seccomp kill */
/* ioctl's requests every filter lets through, as umh_seccomp.h lists them (TCGETS2: _IOR('T',
 * 0x2A, struct termios2), 44 bytes on x86_64 and aarch64) */
static const unsigned tty_queries[] = {
    TCGETS, _IOR('T', 0x2A, char[44]), TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX,
};
/* and prctl's options */
static const unsigned prctl_queries[] = {
    PR_SET_NAME, PR_GET_NAME, PR_CAPBSET_READ, PR_GET_DUMPABLE, PR_GET_SECCOMP, PR_GET_NO_NEW_PRIVS, PR_GET_KEEPCAPS,
};

static int one_of(uint64_t arg, const unsigned *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((uint32_t)arg == values[i])
            return 1;
    return 0;
}

static int exit_memfd = -1, cat_memfd = -1;
/* the child's "" for execveat, whose address the filter can require; and another one */
static const char exec_path[] = "";
static const char other_path[] = "";

/* ---- policies: a spec, its allowed numbers, and the program built from it */

struct policy {
    struct umh_seccomp_spec spec;
    int allowed[UMH_SECCOMP_MAX_NRS];
    struct sock_filter prog[UMH_SECCOMP_MAX_INSNS];
    int len;
};

static void add_group(struct policy *p, const char *group)
{
    int n = umh_seccomp_group(group, p->allowed + p->spec.nallowed, UMH_SECCOMP_MAX_NRS - p->spec.nallowed);
    CHECK(n > 0);
    if (n > 0)
        p->spec.nallowed += n;
}

static void add_call(struct policy *p, const char *name)
{
    int nr = umh_syscall_number(name);
    CHECK(nr >= 0);
    if (nr >= 0)
        p->allowed[p->spec.nallowed++] = nr;
}

static void init_policy(struct policy *p, int exec_fd, unsigned action)
{
    memset(&p->spec, 0, sizeof p->spec);
    p->spec.allowed = p->allowed;
    p->spec.exec_fd = exec_fd;
    p->spec.exec_path = exec_path;
    p->spec.notify_fd_sock = -1;
    p->spec.default_action = action;
    p->len = 0;
}

/* what strict() asks for: a static program that only uses its fds */
static void strict_policy(struct policy *p, int exec_fd, unsigned action)
{
    init_policy(p, exec_fd, action);
    static const char *const groups[] = { "stdio", "memory", "time", "signals", "exit", "startup-static" };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        add_group(p, groups[i]);
}

static void build(struct policy *p)
{
    p->len = umh_seccomp_build(&p->spec, p->prog, UMH_SECCOMP_MAX_INSNS);
    CHECK(p->len > 0);
}

/* ---- the table, the groups, the lists */

static void test_table(void)
{
    CHECK(umh_syscall_number("socket") == SYS_socket);
    CHECK(umh_syscall_number("read") == SYS_read);
    CHECK(umh_syscall_number("execveat") == SYS_execveat);
    CHECK(umh_syscall_number("clone3") == SYS_clone3);
    CHECK(umh_syscall_number("no_such_call") == -1);
    CHECK(umh_syscall_number("") == -1);
    CHECK(umh_syscall_number("SOCKET") == -1);
    CHECK(strcmp(umh_syscall_name(SYS_socket), "socket") == 0);
    CHECK(umh_syscall_name(-1) == NULL);
    CHECK(umh_syscall_name(1 << 20) == NULL);
    /* the generated table is this CPU's, not the build host's */
#if defined(__x86_64__)
    CHECK(strcmp(umh_syscall_cpu(), "x86_64") == 0);
    CHECK(umh_syscall_number("open") == 2 && umh_syscall_number("arch_prctl") == SYS_arch_prctl);
#else
    CHECK(strcmp(umh_syscall_cpu(), "aarch64") == 0);
    CHECK(umh_syscall_number("open") == -1 && umh_syscall_number("arch_prctl") == -1);
    CHECK(umh_syscall_number("dup2") == -1 && umh_syscall_number("socket") == 198);
#endif
    int names = 0;
    for (int nr = 0; nr < 4096; nr++) {
        const char *name = umh_syscall_name(nr);
        if (name != NULL) {
            names++;
            CHECK(umh_syscall_number(name) == nr);
        }
    }
    CHECK(names > 250);
}

static int contains(const int *nrs, int n, int nr)
{
    for (int i = 0; i < n; i++)
        if (nrs[i] == nr)
            return 1;
    return 0;
}

/* each group resolves on this CPU (every name in it known here), without duplicates or an
 * always-denied call; printed, as the report of what each group is on this CPU */
static void test_groups(void)
{
    int groups = 0;
    for (const char *g; (g = umh_seccomp_group_name(groups)) != NULL; groups++) {
        int nrs[UMH_SECCOMP_MAX_NRS];
        int n = umh_seccomp_group(g, nrs, UMH_SECCOMP_MAX_NRS);
        CHECK(n > 0);
        printf("group %s (%s):", g, umh_syscall_cpu());
        for (int i = 0; i < n; i++) {
            CHECK(umh_syscall_name(nrs[i]) != NULL);
            CHECK(!contains(nrs, i, nrs[i]));
            CHECK(!umh_seccomp_always_denied(nrs[i]));
            printf(" %s", umh_syscall_name(nrs[i]));
        }
        printf("\n");
        CHECK(umh_seccomp_group(g, nrs, n - 1) == UMH_FAIL(UMH_SECCOMP_GROUP, ENOSPC));
    }
    CHECK(groups >= 10);
    CHECK(umh_seccomp_group_name(-1) == NULL);
    int nrs[UMH_SECCOMP_MAX_NRS];
    CHECK(umh_seccomp_group("no-such-group", nrs, UMH_SECCOMP_MAX_NRS) == UMH_FAIL(UMH_SECCOMP_GROUP, ENOENT));
    int n = umh_seccomp_group("startup-static", nrs, UMH_SECCOMP_MAX_NRS);
    CHECK(contains(nrs, n, SYS_set_tid_address) && !contains(nrs, n, SYS_rseq));
#if defined(__x86_64__)
    CHECK(contains(nrs, n, SYS_arch_prctl));
#endif
    n = umh_seccomp_group("threads", nrs, UMH_SECCOMP_MAX_NRS);
    CHECK(contains(nrs, n, SYS_clone) && !contains(nrs, n, SYS_clone3));
}

static void test_lists(void)
{
    int nrs[UMH_SECCOMP_MAX_NRS];
    int n = umh_seccomp_enosys(nrs, UMH_SECCOMP_MAX_NRS);
    static const char *const enosys[] = { "clone3", "rseq", "close_range", "statx", "faccessat2", "openat2" };
    for (size_t i = 0; i < sizeof enosys / sizeof enosys[0]; i++)
        CHECK(contains(nrs, n, umh_syscall_number(enosys[i])));
    printf("enosys (%s):", umh_syscall_cpu());
    for (int i = 0; i < n; i++)
        printf(" %s", umh_syscall_name(nrs[i]));
    printf("\n");
    static const char *const denied[] = {
        "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "pidfd_open", "bpf",
        "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
        "keyctl", "add_key", "request_key", "mount", "umount2", "pivot_root", "move_mount",
        "open_tree", "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr", "unshare", "setns",
        "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
        "swapon", "swapoff", "execve"
    };
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++)
        CHECK(umh_seccomp_always_denied(umh_syscall_number(denied[i])));
    static const char *const not_denied[] = { "read", "clone", "clone3", "execveat", "sendmsg", "exit_group" };
    for (size_t i = 0; i < sizeof not_denied / sizeof not_denied[0]; i++)
        CHECK(!umh_seccomp_always_denied(umh_syscall_number(not_denied[i])));
    CHECK(!umh_seccomp_always_denied(-1));
}

static void test_bad_specs(void)
{
    static struct policy p;
    strict_policy(&p, 3, SECCOMP_RET_KILL_PROCESS);
    CHECK(umh_seccomp_build(NULL, p.prog, UMH_SECCOMP_MAX_INSNS) == UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL));
    CHECK(umh_seccomp_build(&p.spec, NULL, UMH_SECCOMP_MAX_INSNS) == UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL));
    CHECK(umh_seccomp_build(&p.spec, p.prog, 10) == UMH_FAIL(UMH_SECCOMP_BUILD, ENOSPC));
    p.spec.default_action = SECCOMP_RET_ALLOW;
    CHECK(umh_seccomp_build(&p.spec, p.prog, UMH_SECCOMP_MAX_INSNS) == UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL));
    p.spec.default_action = SECCOMP_RET_KILL_PROCESS;
    p.spec.exec_fd = -2;
    CHECK(umh_seccomp_build(&p.spec, p.prog, UMH_SECCOMP_MAX_INSNS) == UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL));
    p.spec.exec_fd = 3;
    p.allowed[p.spec.nallowed++] = 4000; /* no such call */
    CHECK(umh_seccomp_build(&p.spec, p.prog, UMH_SECCOMP_MAX_INSNS) == UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL));
    p.allowed[p.spec.nallowed - 1] = -1;
    CHECK(umh_seccomp_build(&p.spec, p.prog, UMH_SECCOMP_MAX_INSNS) == UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL));
    p.spec.nallowed--;
    CHECK(umh_seccomp_build(&p.spec, p.prog, UMH_SECCOMP_MAX_INSNS) > 0);
}

/* ---- the interpreter and the model */

/* classic BPF as the kernel runs a seccomp filter, for the instructions umh_seccomp emits; *bad
 * for anything else, a load outside seccomp_data, or running off the program's end */
static unsigned run_bpf(const struct sock_filter *f, int len, const struct seccomp_data *d, int *bad)
{
    uint32_t a = 0;
    for (int pc = 0; pc >= 0 && pc < len;) {
        const struct sock_filter *i = &f[pc];
        switch (i->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (i->k % 4 != 0 || i->k + 4 > sizeof *d)
                goto bad;
            memcpy(&a, (const char *)d + i->k, 4);
            pc++;
            break;
        case BPF_JMP | BPF_JA:
            pc += 1 + (int)i->k;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += 1 + (a == i->k ? i->jt : i->jf);
            break;
        case BPF_JMP | BPF_JGE | BPF_K:
            pc += 1 + (a >= i->k ? i->jt : i->jf);
            break;
        case BPF_JMP | BPF_JSET | BPF_K:
            pc += 1 + ((a & i->k) != 0 ? i->jt : i->jf);
            break;
        case BPF_RET | BPF_K:
            return i->k;
        default:
            goto bad;
        }
    }
bad:
    *bad = 1;
    return 0xdeadbeef;
}

/* what umh_seccomp.h promises for one call, written from the header, not from the builder */
static unsigned model(const struct policy *p, const struct seccomp_data *d)
{
    const struct umh_seccomp_spec *s = &p->spec;
    unsigned deflt = s->default_action;
    if (d->arch != NATIVE_ARCH)
        return SECCOMP_RET_KILL_PROCESS;
#if defined(__x86_64__)
    if ((unsigned)d->nr >= 0x40000000u)
        return SECCOMP_RET_KILL_PROCESS;
#endif
    int nr = d->nr;
    if (umh_syscall_name(nr) == NULL || umh_seccomp_always_denied(nr))
        return deflt;
    int allowed = contains(s->allowed, s->nallowed, nr);
    uint32_t flags = (uint32_t)d->args[0];
    if (nr == SYS_execveat)
        return s->exec_fd >= 0 && d->args[0] == (uint64_t)s->exec_fd && (d->args[4] & AT_EMPTY_PATH)
               && (s->exec_path == NULL || d->args[1] == (uint64_t)(uintptr_t)s->exec_path) ? SECCOMP_RET_ALLOW : deflt;
    if (nr == SYS_clone)
        return allowed && (flags & CLONE_NEW_ANY) == 0 && (flags & CLONE_THREAD) ? SECCOMP_RET_ALLOW : deflt;
    if (nr == SYS_clone3)
        return RET_ENOSYS;
    if (allowed || nr == SYS_exit || nr == SYS_exit_group)
        return SECCOMP_RET_ALLOW;
    if (nr == SYS_sendmsg && s->notify_fd_sock >= 0)
        return d->args[0] == (uint64_t)s->notify_fd_sock ? SECCOMP_RET_ALLOW : deflt;
    if (nr == SYS_socket && !allowed)
        return (uint32_t)d->args[0] == AF_UNIX ? (SECCOMP_RET_ERRNO | EAFNOSUPPORT) : deflt;
    if (nr == SYS_ioctl)
        return one_of(d->args[1], tty_queries, sizeof tty_queries / sizeof tty_queries[0]) ? SECCOMP_RET_ALLOW : deflt;
    if (nr == SYS_prctl)
        return one_of(d->args[0], prctl_queries, sizeof prctl_queries / sizeof prctl_queries[0]) ? SECCOMP_RET_ALLOW : deflt;
    int enosys[UMH_SECCOMP_MAX_NRS];
    int n = umh_seccomp_enosys(enosys, UMH_SECCOMP_MAX_NRS);
    return contains(enosys, n, nr) ? RET_ENOSYS : deflt;
}

/* argument sets that straddle each argument check: the fds, their high halves, AT_EMPTY_PATH,
 * the path's pointer, clone's flags, ioctl's requests (the high half ignored, as the kernel does) */
static void arg_variants(const struct policy *p, uint64_t v[][3], int *n)
{
    uint64_t fd = (uint64_t)(p->spec.exec_fd >= 0 ? p->spec.exec_fd : 3);
    uint64_t sock = (uint64_t)(p->spec.notify_fd_sock >= 0 ? p->spec.notify_fd_sock : 4);
    uint64_t path = (uint64_t)(uintptr_t)exec_path;
    uint64_t thread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
    const uint64_t sets[][3] = { /* args[0], args[1], args[4] */
        { 0, 0, 0 }, { fd, path, AT_EMPTY_PATH }, { fd, path, AT_EMPTY_PATH | 0x100 }, { fd, path, 0 },
        { fd, path + 1, AT_EMPTY_PATH }, { fd, path ^ (1ull << 32), AT_EMPTY_PATH },
        { fd | (1ull << 32), path, AT_EMPTY_PATH }, { fd + 1, path, AT_EMPTY_PATH },
        { fd, path, AT_EMPTY_PATH | (1ull << 40) }, { sock, 0, 0 }, { sock | (1ull << 32), 0, 0 },
        { sock + 1, 0, 0 }, { thread, 0, 0 }, { thread | CLONE_NEWUSER, 0, 0 }, { SIGCHLD, 0, 0 },
        { CLONE_NEWNET | SIGCHLD, 0, 0 }, { thread | (1ull << 33), 0, 0 }, { thread & ~(uint64_t)CLONE_THREAD, 0, 0 },
        { 1, TCGETS, 0 }, { 1, TCGETS | (1ull << 32), 0 }, { 1, TCGETS + 1, 0 }, { 0, TIOCSTI, 0 },
        { 1, TIOCGWINSZ, 0 }, { 1, FIONCLEX, 0 }, { 1, TIOCSWINSZ, 0 }, { 1, TCSETS, 0 },
        { AF_UNIX | (1ull << 32), SOCK_STREAM, 0 }, { AF_INET, SOCK_STREAM, 0 }, { AF_NETLINK, SOCK_RAW, 0 },
        { PR_CAPBSET_READ, 0, 0 }, { PR_SET_NAME | (1ull << 32), 0, 0 }, { PR_SET_DUMPABLE, 0, 0 },
        { PR_SET_SECCOMP, 0, 0 }, { PR_SET_MM, 0, 0 },
    };
    *n = (int)(sizeof sets / sizeof sets[0]);
    memcpy(v, sets, sizeof sets);
}

/* the program against the model: every number a little past the table, the x32 bit, wrong arches */
static void check_program(const struct policy *p)
{
    uint64_t v[48][3];
    int nv, bad = 0, mismatches = 0;
    arg_variants(p, v, &nv);
    static const unsigned extra[] = { 0x40000000u, 0x40000000u + SYS_read, 0x7fffffffu, 0xffffffffu };
    for (int k = 0; k < 4096 + 4; k++) {
        unsigned nr = k < 4096 ? (unsigned)k : extra[k - 4096];
        for (int arch = 0; arch < 2; arch++)
            for (int i = 0; i < nv; i++) {
                struct seccomp_data d = { .nr = (int)nr, .arch = arch ? OTHER_ARCH : NATIVE_ARCH };
                d.args[0] = v[i][0];
                d.args[1] = v[i][1];
                d.args[4] = v[i][2];
                unsigned got = run_bpf(p->prog, p->len, &d, &bad), want = model(p, &d);
                if (got != want && mismatches++ < 5)
                    fprintf(stderr, "nr %u (%s) arch %d args %d: 0x%x, want 0x%x\n", nr,
                            umh_syscall_name((int)nr) ? umh_syscall_name((int)nr) : "?", arch, i, got, want);
            }
    }
    CHECK(bad == 0);
    CHECK(mismatches == 0);
}

static int long_jumps(const struct policy *p)
{
    int n = 0;
    for (int i = 0; i < p->len; i++)
        n += p->prog[i].code == (BPF_JMP | BPF_JA);
    return n;
}

/* every call of the table allowed (every: runs of consecutive numbers, merged into few
 * intervals), or every other one (alternating: hundreds of intervals, a search whose jumps
 * outgrow 8-bit offsets, to its halves and to the shared returns at the end) */
static void everything_policy(struct policy *p, unsigned action, int every)
{
    init_policy(p, 5, action);
    int k = 0;
    for (int nr = 0; nr < 4096; nr++)
        if (umh_syscall_name(nr) != NULL && (every || k++ % 2 == 0))
            p->allowed[p->spec.nallowed++] = nr;
}

static void test_programs(void)
{
    static struct policy p;
    init_policy(&p, -1, SECCOMP_RET_KILL_PROCESS); /* nothing at all, not even an exec */
    build(&p);
    check_program(&p);
    strict_policy(&p, 3, SECCOMP_RET_KILL_PROCESS);
    build(&p);
    check_program(&p);
    printf("strict program: %d instructions\n", p.len);
    p.spec.exec_path = NULL;
    build(&p);
    check_program(&p);
    strict_policy(&p, 7, SECCOMP_RET_USER_NOTIF);
    add_group(&p, "threads");
    p.spec.notify_fd_sock = 9;
    build(&p);
    check_program(&p);
    static const char *const wide[] = { "startup-dynamic", "threads", "files", "files-write", "network" };
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        add_group(&p, wide[i]);
    build(&p);
    check_program(&p);
    /* asked for, refused all the same */
    static const char *const denied[] = { "ptrace", "unshare", "execve", "bpf", "mount", "clone3" };
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++)
        add_call(&p, denied[i]);
    build(&p);
    check_program(&p);
    everything_policy(&p, SECCOMP_RET_KILL_PROCESS, 1);
    build(&p);
    check_program(&p);
    printf("everything program: %d instructions, %d long jumps\n", p.len, long_jumps(&p));
    CHECK(p.len < 128); /* its runs merged */
    everything_policy(&p, SECCOMP_RET_USER_NOTIF, 0);
    build(&p);
    check_program(&p);
    int in_place = 0; /* allowing returns before the shared three: the argument checks' (5 at most) and the leaves too far to share */
    for (int i = 0; i < p.len - 3; i++)
        in_place += p.prog[i].code == (BPF_RET | BPF_K) && p.prog[i].k == SECCOMP_RET_ALLOW;
    printf("every other call: %d instructions, %d long jumps, %d allowing returns in place\n", p.len, long_jumps(&p), in_place);
    CHECK(p.len > 255 && long_jumps(&p) > 0 && in_place > 5);
}

/* umh_seccomp_build_cached with fds a, b: the same program as a fresh build with them. */
static void check_cached_as_built(struct policy *p, int exec_fd, int notify)
{
    static struct sock_filter cached[UMH_SECCOMP_MAX_INSNS];
    p->spec.exec_fd = exec_fd;
    p->spec.notify_fd_sock = notify;
    build(p);
    int n = umh_seccomp_build_cached(&p->spec, cached, UMH_SECCOMP_MAX_INSNS);
    CHECK(n == p->len && memcmp(cached, p->prog, (size_t)n * sizeof cached[0]) == 0);
}

/* A spawn's program from the one built for its policy, its fds patched in: each the same as a
 * fresh build, for a first use (built, kept), later ones with other fds (copied, patched), and
 * policies in turn; the slots name the two k's that hold the fds, and nothing else differs. */
static void test_cached(void)
{
    static struct policy p;
    static struct policy other;
    strict_policy(&p, 3, SECCOMP_RET_KILL_PROCESS);
    everything_policy(&other, SECCOMP_RET_USER_NOTIF, 0);
    for (int round = 0; round < 3; round++) {
        p.spec.default_action = SECCOMP_RET_KILL_PROCESS;
        check_cached_as_built(&p, 3 + round, -1);
        p.spec.default_action = SECCOMP_RET_USER_NOTIF;
        check_cached_as_built(&p, 7 + round, 20 + round);
        check_cached_as_built(&other, 5 + round, 9 - round);
        check_cached_as_built(&other, 5 + round, -1); /* without the sendmsg check: another program */
    }
    struct umh_seccomp_slots slots;
    p.spec.exec_fd = 11;
    p.spec.notify_fd_sock = 12;
    int n = umh_seccomp_build_slots(&p.spec, p.prog, UMH_SECCOMP_MAX_INSNS, &slots);
    CHECK(n > 0 && slots.exec_fd_at > 0 && slots.notify_fd_sock_at > 0 && slots.exec_fd_at != slots.notify_fd_sock_at);
    CHECK(p.prog[slots.exec_fd_at].k == 11 && p.prog[slots.notify_fd_sock_at].k == 12);
    static struct sock_filter before[UMH_SECCOMP_MAX_INSNS];
    memcpy(before, p.prog, (size_t)n * sizeof before[0]);
    CHECK(umh_seccomp_patch(p.prog, &slots, 4, 5) == 0);
    int differ = 0;
    for (int i = 0; i < n; i++)
        differ += memcmp(&before[i], &p.prog[i], sizeof before[0]) != 0;
    CHECK(differ == 2 && p.prog[slots.exec_fd_at].k == 4 && p.prog[slots.notify_fd_sock_at].k == 5);
    /* a program with the sendmsg check needs the listener's socket; one without it has nothing to patch */
    CHECK(umh_seccomp_patch(p.prog, &slots, 4, -1) == UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL));
    add_call(&p, "sendmsg"); /* allowed: not checked */
    n = umh_seccomp_build_slots(&p.spec, p.prog, UMH_SECCOMP_MAX_INSNS, &slots);
    CHECK(n > 0 && slots.notify_fd_sock_at == -1 && slots.exec_fd_at > 0);
    memcpy(before, p.prog, (size_t)n * sizeof before[0]);
    CHECK(umh_seccomp_patch(p.prog, &slots, 11, 5) == 0 && memcmp(before, p.prog, (size_t)n * sizeof before[0]) == 0);
    slots.exec_fd_at = -2;
    CHECK(umh_seccomp_patch(p.prog, &slots, 11, 5) == UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL));
    CHECK(umh_seccomp_build_cached(NULL, p.prog, UMH_SECCOMP_MAX_INSNS) == UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL));
}

/* Every size of allow-list from 1 call to every other one of the table, so that the search's
 * jumps pass the 8-bit limit at every depth, checked for each call number (arguments 0). */
static void test_tree_sizes(void)
{
    static struct policy p;
    everything_policy(&p, SECCOMP_RET_KILL_PROCESS, 0);
    int all = p.spec.nallowed, with_long_jumps = 0, bad = 0, mismatches = 0;
    for (int n = 1; n <= all; n++) {
        p.spec.nallowed = n;
        build(&p);
        with_long_jumps += long_jumps(&p) > 0;
        for (int nr = 0; nr < 1024; nr++) {
            struct seccomp_data d = { .nr = nr, .arch = NATIVE_ARCH };
            mismatches += run_bpf(p.prog, p.len, &d, &bad) != model(&p, &d);
        }
    }
    printf("tree sizes: %d programs, %d with long jumps\n", all, with_long_jumps);
    CHECK(with_long_jumps > 0 && with_long_jumps < all);
    CHECK(bad == 0);
    CHECK(mismatches == 0);
}

/* ---- in the kernel: one forked child per check */

static struct policy kp; /* the policy the next child installs */

/* In the child: fds and signals set up by setup() (before the filter), then the filter with
 * flags, then body(seccomp's return), whose return is the exit code. Returns the child's status
 * as the JDK reports it (code, or 128 + signal); *pid_out the child's pid, when it must be
 * waited for by the caller (then the status is 0). */
struct child_plan {
    void (*setup)(void);
    int (*body)(int listener);
    unsigned flags;
    int no_wait;
};

static void confine(const struct child_plan *plan)
{
    /* a seccomp kill dumps core: not from these children */
    prctl(PR_SET_DUMPABLE, 0);
    if (plan->setup != NULL)
        plan->setup();
    struct sock_fprog prog = { .len = (unsigned short)kp.len, .filter = kp.prog };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        _exit(120);
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, plan->flags, &prog);
    if (rc < 0)
        _exit(121);
    _exit(plan->body((int)rc));
}

static int run_child(const struct child_plan *plan, int *pid_out)
{
    fflush(NULL);
    int pid = fork();
    if (pid == 0)
        confine(plan);
    if (pid < 0)
        return -1;
    if (plan->no_wait) {
        *pid_out = pid;
        return 0;
    }
    return status_of(pid);
}

static int run_body(int (*body)(int))
{
    struct child_plan plan = { .body = body };
    return run_child(&plan, NULL);
}

static int devnull = -1;

static int write_ok(int unused)
{
    (void)unused;
    struct timespec ts;
    return syscall(SYS_write, (long)devnull, "x", 1L) == 1 && clock_gettime(CLOCK_MONOTONIC, &ts) == 0 ? 0 : 1;
}

static int call_getppid(int unused)
{
    (void)unused;
    syscall(SYS_getppid);
    return 0;
}

static int call_socket(int unused)
{
    (void)unused;
    syscall(SYS_socket, (long)AF_INET, (long)SOCK_STREAM, 0L);
    return 0;
}

/* a unix socket (glibc's nscd probe): refused, and the program goes on */
static int call_unix_socket(int unused)
{
    (void)unused;
    return syscall(SYS_socket, (long)AF_UNIX, (long)(SOCK_STREAM | SOCK_CLOEXEC), 0L) == -1 && errno == EAFNOSUPPORT ? 0 : 1;
}

/* isatty() of a file that is no terminal: the call reaches the kernel, which says ENOTTY */
static int call_isatty(int unused)
{
    (void)unused;
    struct winsize ws;
    return isatty((int)devnull) == 0 && errno == ENOTTY && ioctl(devnull, TIOCGWINSZ, &ws) == -1 && errno == ENOTTY ? 0 : 1;
}

/* libcap's start, a thread naming itself, a self-pipe: allowed; the dumpable flag: a kill */
static int call_prctl_query(int unused)
{
    (void)unused;
    char name[16];
    int fds[2];
    if (syscall(SYS_prctl, (long)PR_CAPBSET_READ, 7L /* CAP_SETUID */) < 0 || syscall(SYS_prctl, (long)PR_GET_NAME, name) != 0
        || syscall(SYS_pipe2, fds, 0L) != 0)
        return 1;
    syscall(SYS_close, (long)fds[0]);
    syscall(SYS_close, (long)fds[1]);
    return 0;
}

/* gpg's secure memory: one page of its own locked in RAM and unlocked (within RLIMIT_MEMLOCK) */
static int call_mlock(int unused)
{
    (void)unused;
    static char page[4096] __attribute__((aligned(4096)));
    return syscall(SYS_mlock, page, sizeof page) == 0 && syscall(SYS_munlock, page, sizeof page) == 0 ? 0 : 1;
}

static int call_prctl_set_dumpable(int unused)
{
    (void)unused;
    syscall(SYS_prctl, (long)PR_SET_DUMPABLE, 1L);
    return 0;
}

/* typing into a terminal: the filter's kill, whatever the fd is */
static int call_tiocsti(int unused)
{
    (void)unused;
    char c = ' ';
    syscall(SYS_ioctl, (long)devnull, (long)TIOCSTI, &c);
    return 0;
}

static int enosys(long rc)
{
    return rc == -1 && errno == ENOSYS;
}

static int call_enosys_list(int unused)
{
    (void)unused;
    int ok = enosys(syscall(SYS_close_range, 1000L, 1000L, 0L));
    ok &= enosys(syscall(SYS_clone3, NULL, 0L));
    ok &= enosys(syscall(SYS_faccessat2, (long)AT_FDCWD, "/", 0L, 0L));
    ok &= enosys(syscall(SYS_statx, (long)AT_FDCWD, "/", 0L, 0L, NULL));
    ok &= enosys(syscall(SYS_openat2, (long)AT_FDCWD, "/", NULL, 0L));
    ok &= enosys(syscall(SYS_rseq, NULL, 0L, 0L, 0L));
    struct sysinfo si;
    ok &= enosys(syscall(SYS_sysinfo, &si));
    return ok ? 0 : 1;
}

static int exec_blob(int memfd, const char *path, char *const *argv)
{
    static char *const envp[] = { NULL };
    syscall(SYS_execveat, (long)memfd, path, argv, envp, (long)AT_EMPTY_PATH);
    return 99;
}

static int exec_exit7(int unused)
{
    (void)unused;
    static char *const argv[] = { "exit", "7", NULL };
    return exec_blob(exit_memfd, exec_path, argv);
}

static int exec_other_path(int unused)
{
    (void)unused;
    static char *const argv[] = { "exit", "7", NULL };
    return exec_blob(exit_memfd, other_path, argv);
}

static int exec_fd_high_bits(int unused)
{
    (void)unused;
    static char *const argv[] = { "exit", "7", NULL }, *const envp[] = { NULL };
    syscall(SYS_execveat, (long)exit_memfd | (1L << 32), exec_path, argv, envp, (long)AT_EMPTY_PATH);
    return 99;
}

static int exec_dup_of_fd(int unused)
{
    (void)unused;
    static char *const argv[] = { "exit", "7", NULL };
    return exec_blob(dup(exit_memfd), exec_path, argv);
}

static int exec_without_empty_path(int unused)
{
    (void)unused;
    static char *const argv[] = { "exit", "7", NULL }, *const envp[] = { NULL };
    syscall(SYS_execveat, (long)exit_memfd, exec_path, argv, envp, 0L);
    return 99;
}

static int exec_sh(int unused)
{
    (void)unused;
    static char *const argv[] = { "sh", "-c", "exit 3", NULL }, *const envp[] = { NULL };
    syscall(SYS_execve, "/bin/sh", argv, envp);
    return 99;
}

static void test_kernel_basics(void)
{
    strict_policy(&kp, exit_memfd, SECCOMP_RET_KILL_PROCESS);
    build(&kp);
    CHECK(run_body(write_ok) == 0);
    CHECK(run_body(call_getppid) == STATUS_SIGSYS);
    CHECK(run_body(call_socket) == STATUS_SIGSYS);
    CHECK(run_body(call_enosys_list) == 0);
    CHECK(run_body(call_isatty) == 0);
    CHECK(run_body(call_unix_socket) == 0);
    CHECK(run_body(call_prctl_query) == 0);
    CHECK(run_body(call_mlock) == 0);
    CHECK(run_body(call_prctl_set_dumpable) == STATUS_SIGSYS);
    CHECK(run_body(call_tiocsti) == STATUS_SIGSYS);
}

/* the one exec: the static blob really starts under strict()'s groups (glibc 2.36's startup
 * included), and every other exec is a kill */
static void test_kernel_exec(void)
{
    strict_policy(&kp, exit_memfd, SECCOMP_RET_KILL_PROCESS);
    build(&kp);
    CHECK(run_body(exec_exit7) == 7);
    CHECK(run_body(exec_other_path) == STATUS_SIGSYS);
    CHECK(run_body(exec_fd_high_bits) == STATUS_SIGSYS);
    CHECK(run_body(exec_dup_of_fd) == STATUS_SIGSYS);
    CHECK(run_body(exec_without_empty_path) == STATUS_SIGSYS);
    CHECK(run_body(exec_sh) == STATUS_SIGSYS);
}

static int cat_in[2] = { -1, -1 }, cat_out[2] = { -1, -1 };

static void cat_setup(void)
{
    dup2(cat_in[0], 0);
    dup2(cat_out[1], 1);
}

static int exec_cat(int unused)
{
    (void)unused;
    static char *const argv[] = { "cat", NULL };
    return exec_blob(cat_memfd, exec_path, argv);
}

/* a read/write loop through pipes, as a sandboxed helper runs */
static void test_kernel_cat(void)
{
    strict_policy(&kp, cat_memfd, SECCOMP_RET_KILL_PROCESS);
    build(&kp);
    CHECK(pipe2(cat_in, O_CLOEXEC) == 0 && pipe2(cat_out, O_CLOEXEC) == 0);
    int pid = -1;
    struct child_plan plan = { .setup = cat_setup, .body = exec_cat, .no_wait = 1 };
    CHECK(run_child(&plan, &pid) == 0);
    close(cat_in[0]);
    close(cat_out[1]);
    static const char text[] = "through a filter\n";
    CHECK(write(cat_in[1], text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    close(cat_in[1]);
    char out[64];
    size_t len = 0;
    for (ssize_t n; (n = read(cat_out[0], out + len, sizeof out - 1 - len)) > 0;)
        len += (size_t)n;
    out[len] = '\0';
    close(cat_out[0]);
    CHECK(status_of(pid) == 0);
    CHECK(strcmp(out, text) == 0);
}

static void *thread_main(void *arg)
{
    (void)arg;
    /* (the exec'd helper has no devnull: it only asks its tid) */
    int wrote = devnull < 0 || syscall(SYS_write, (long)devnull, "t", 1L) == 1;
    return wrote && syscall(SYS_gettid) > 0 ? (void *)1 : NULL;
}

static int start_thread(int unused)
{
    (void)unused;
    pthread_t t;
    void *res = NULL;
    if (pthread_create(&t, NULL, thread_main, NULL) != 0 || pthread_join(t, &res) != 0)
        return 1;
    return res == (void *)1 ? 0 : 2;
}

static int clone_newuser(int unused)
{
    (void)unused;
    long rc = syscall(SYS_clone, (long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L);
    if (rc == 0)
        _exit(0); /* had it got through: the copy ends at once */
    return 99;
}

static int clone_thread_newnet(int unused)
{
    (void)unused;
    /* refused by the filter before the kernel's EINVAL for CLONE_NEW* with CLONE_THREAD */
    syscall(SYS_clone, (long)(CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_NEWNET), 0L, 0L, 0L, 0L);
    return 99;
}

static int clone_fork(int unused)
{
    (void)unused;
    long rc = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
    if (rc == 0)
        _exit(0);
    return 99;
}

/* In this process rseq was registered at startup, before any filter: glibc then requires each new
 * thread to register too ("Fatal glibc error: rseq registration failed"). So here rseq is allowed;
 * a helper exec'd under the filter finds it ENOSYS from its first instruction and never uses it
 * (test_kernel_threads_after_exec). */
static void test_kernel_threads(void)
{
    strict_policy(&kp, exit_memfd, SECCOMP_RET_KILL_PROCESS);
    add_group(&kp, "threads");
    add_call(&kp, "rseq");
    build(&kp);
    int status = run_body(start_thread);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's pthread_create interceptor makes calls of its own (no "threads" group covers them) */
    if (status != 0)
        printf("SKIP kernel_threads pthread_create: under ASan (status %d)\n", status);
#else
    CHECK(status == 0);
#endif
    CHECK(run_body(clone_newuser) == STATUS_SIGSYS);
    CHECK(run_body(clone_thread_newnet) == STATUS_SIGSYS);
    CHECK(run_body(clone_fork) == STATUS_SIGSYS);
    /* and without "threads", no thread either */
    strict_policy(&kp, exit_memfd, SECCOMP_RET_KILL_PROCESS);
    add_call(&kp, "rseq");
    build(&kp);
    CHECK(run_body(start_thread) == STATUS_SIGSYS);
}

#if !defined(__SANITIZE_ADDRESS__)
static int self_fd = -1; /* this program, to exec as a dynamic helper */

static int exec_thread_helper(int unused)
{
    (void)unused;
    static char *const argv[] = { "umh-seccomp-test", "--thread-helper", NULL };
    return exec_blob(self_fd, exec_path, argv);
}
#endif

/* This test program exec'd under the filter, as a dynamically linked helper that starts a
 * thread: startup-dynamic is what ld.so needs, and rseq's ENOSYS from the start is what glibc
 * copes with (no rseq in the group, none in any thread). */
static void test_kernel_threads_after_exec(void)
{
#if defined(__SANITIZE_ADDRESS__)
    printf("SKIP kernel_threads_after_exec: ASan's start-up makes calls no group has\n");
#else
    self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    CHECK(self_fd >= 0);
    init_policy(&kp, self_fd, SECCOMP_RET_KILL_PROCESS);
    static const char *const groups[] = { "startup-dynamic", "stdio", "memory", "signals", "exit", "threads" };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        add_group(&kp, groups[i]);
    build(&kp);
    CHECK(run_body(exec_thread_helper) == 0);
    close(self_fd);
#endif
}

static int sv[2] = { -1, -1 }, other_sv[2] = { -1, -1 };

/* one byte and (fd >= 0) one fd over sock, with SCM_RIGHTS */
static long send_fd(int sock, int fd, char byte)
{
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd >= 0) {
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    return syscall(SYS_sendmsg, (long)sock, &msg, 0L);
}

static int recv_fd(int sock, char *byte)
{
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec iov = { .iov_base = byte, .iov_len = 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                          .msg_controllen = sizeof control.buf };
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    int fd = -1;
    if (c != NULL && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static int sendmsg_notify_sock(int unused)
{
    (void)unused;
    return send_fd(sv[1], -1, 'x') == 1 ? 0 : 1;
}

static int sendmsg_other_sock(int unused)
{
    (void)unused;
    send_fd(other_sv[1], -1, 'x');
    return 99;
}

static void test_kernel_sendmsg(void)
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, other_sv) == 0);
    strict_policy(&kp, exit_memfd, SECCOMP_RET_KILL_PROCESS);
    kp.spec.notify_fd_sock = sv[1];
    build(&kp);
    CHECK(run_body(sendmsg_notify_sock) == 0);
    CHECK(run_body(sendmsg_other_sock) == STATUS_SIGSYS);
    for (int i = 0; i < 2; i++) {
        close(sv[i]);
        close(other_sv[i]);
    }
}

/* The user-notification path, as umh will use it: the child installs the filter with a new
 * listener, hands it to the parent over the notify socket (saying whether it is close-on-exec,
 * so that an exec'd helper never holds it), then makes a forbidden call and waits there. */
static int notify_then_socket(int listener)
{
    int cloexec = syscall(SYS_fcntl, (long)listener, (long)F_GETFD) == FD_CLOEXEC;
    if (send_fd(sv[1], listener, cloexec ? 'C' : 'N') != 1)
        return 1;
    syscall(SYS_close, (long)listener);
    syscall(SYS_socket, (long)AF_INET, (long)SOCK_STREAM, 0L);
    return 98; /* the parent answered instead of stopping it */
}

static void ignore_sigsys(void)
{
    signal(SIGSYS, SIG_IGN);
}

/* A forked child parked in a notified call; the listener and its pid. */
static int park_child(void (*setup)(void), int *pid)
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    strict_policy(&kp, exit_memfd, SECCOMP_RET_USER_NOTIF);
    kp.spec.notify_fd_sock = sv[1];
    build(&kp);
    struct child_plan plan = { .setup = setup, .body = notify_then_socket,
                               .flags = SECCOMP_FILTER_FLAG_NEW_LISTENER, .no_wait = 1 };
    CHECK(run_child(&plan, pid) == 0);
    close(sv[1]);
    char byte = 0;
    int listener = recv_fd(sv[0], &byte);
    close(sv[0]);
    CHECK(listener >= 0);
    CHECK(byte == 'C');
    int nr = -1, from = -1;
    CHECK(umh_seccomp_notif_recv(listener, &nr, &from) == 0);
    CHECK(nr == SYS_socket);
    CHECK(from == *pid);
    return listener;
}

static void test_kernel_user_notif(void)
{
    int rc = umh_seccomp_listener_supported();
    CHECK(rc == 1);
    if (rc != 1)
        return;
    int pid = -1;
    int listener = park_child(NULL, &pid);
    CHECK(kill(pid, SIGSYS) == 0);
    CHECK(status_of(pid) == STATUS_SIGSYS);
    /* the helper is gone: nothing more to receive */
    int nr, from;
    CHECK(umh_seccomp_notif_recv(-1, &nr, &from) == UMH_FAIL(UMH_SECCOMP_NOTIF_RECV, EBADF));
    close(listener);
    /* A helper that ignores SIGSYS outlives a SIGSYS: stopping it takes SIGKILL (through the
     * pidfd), and the status 159 is for the parent to report. */
    listener = park_child(ignore_sigsys, &pid);
    CHECK(kill(pid, SIGSYS) == 0);
    struct timespec pause = { 0, 100 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    CHECK(waitpid(pid, NULL, WNOHANG) == 0);
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(status_of(pid) == 128 + SIGKILL);
    close(listener);
}

#if defined(__x86_64__) /* x86_64's other ABIs: x32 and IA-32 */
static int call_x32(int unused)
{
    (void)unused;
    syscall(0x40000000L | SYS_getpid);
    return 99;
}

static int call_int80(int unused)
{
    (void)unused;
    long ret = 20; /* i386's getpid: seccomp sees AUDIT_ARCH_I386 */
    __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
    return 99;
}

/* whether int $0x80 reaches the kernel's IA-32 entry at all (not with ia32_emulation=0) */
static int has_int80(void)
{
    fflush(NULL);
    int pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* a plain fault, not ASan's report of it */
        call_int80(0);
        _exit(0);
    }
    return pid > 0 && status_of(pid) == 0;
}
#endif

static int call_refused_anyway(int unused)
{
    (void)unused;
    syscall(SYS_unshare, 0L); /* harmless had it got through */
    return 99;
}

static int call_getppid_ok(int unused)
{
    (void)unused;
    return syscall(SYS_getppid) > 0 ? 0 : 1;
}


/* the other ABIs of the CPU, the always-denied calls even when asked for, and the biggest tree */
static void test_kernel_abis_and_denied(void)
{
    strict_policy(&kp, exit_memfd, SECCOMP_RET_KILL_PROCESS);
    add_call(&kp, "getpid");
    add_call(&kp, "unshare");
    add_call(&kp, "ptrace");
    build(&kp);
    CHECK(run_body(call_refused_anyway) == STATUS_SIGSYS);
#if defined(__x86_64__)
    CHECK(run_body(call_x32) == STATUS_SIGSYS);
    if (has_int80())
        CHECK(run_body(call_int80) == STATUS_SIGSYS);
    else
        printf("SKIP int80: int $0x80 faults here (no IA-32 emulation)\n");
#endif
    everything_policy(&kp, SECCOMP_RET_KILL_PROCESS, 1);
    build(&kp);
    CHECK(run_body(call_getppid_ok) == 0);
    CHECK(run_body(call_refused_anyway) == STATUS_SIGSYS);
    CHECK(run_body(exec_sh) == STATUS_SIGSYS);
    /* the kernel takes a program with long jumps (and a shared return no leaf reaches) too */
    everything_policy(&kp, SECCOMP_RET_KILL_PROCESS, 0);
    build(&kp);
    CHECK(long_jumps(&kp) > 0);
    CHECK(run_body(call_refused_anyway) == STATUS_SIGSYS);
    CHECK(run_body(exec_sh) == STATUS_SIGSYS);
}

/* Whether this system runs seccomp filters at all: an emulator (qemu-user) does not pass them
 * to the host kernel, which would judge the target's numbers by its own arch anyway. */
enum { ANYWHERE, NEEDS_FILTERS };

static void probe_filters(void)
{
    everything_policy(&kp, SECCOMP_RET_KILL_PROCESS, 1);
    build(&kp);
    int status = run_body(call_getppid_ok);
    if (status != 0)
        snprintf(why_not[NEEDS_FILTERS], sizeof why_not[0], "a child that installs an allow-everything filter ended "
                 "with %d (120: no PR_SET_NO_NEW_PRIVS, 121: seccomp refused, 159: killed)", status);
}

static const struct test tests[] = {
    { "table", test_table, ANYWHERE },
    { "groups", test_groups, ANYWHERE },
    { "lists", test_lists, ANYWHERE },
    { "bad_specs", test_bad_specs, ANYWHERE },
    { "programs", test_programs, ANYWHERE },
    { "tree_sizes", test_tree_sizes, ANYWHERE },
    { "cached", test_cached, ANYWHERE },
    { "kernel_basics", test_kernel_basics, NEEDS_FILTERS },
    { "kernel_exec", test_kernel_exec, NEEDS_FILTERS },
    { "kernel_cat", test_kernel_cat, NEEDS_FILTERS },
    { "kernel_threads", test_kernel_threads, NEEDS_FILTERS },
    { "kernel_threads_after_exec", test_kernel_threads_after_exec, NEEDS_FILTERS },
    { "kernel_sendmsg", test_kernel_sendmsg, NEEDS_FILTERS },
    { "kernel_user_notif", test_kernel_user_notif, NEEDS_FILTERS },
    { "kernel_abis_and_denied", test_kernel_abis_and_denied, NEEDS_FILTERS },
};

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--thread-helper") == 0)
        return start_thread(0); /* exec'd by test_kernel_threads_after_exec, under its filter */
    if (start_tests(argc, argv, "umh-seccomp-test") != 0)
        return 2;
    alarm(120); /* a child parked in a notification must not hang the run */
    exit_memfd = load_file("exit");
    cat_memfd = load_file("cat");
    if (exit_memfd < 0 || cat_memfd < 0)
        return 2;
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    probe_filters();
    static const char *const needs_what[] = { "", "seccomp filters" };
    say_not_here(needs_what, NEEDS_FILTERS + 1);
    return report(run_tests(tests, sizeof tests / sizeof tests[0], needs_what, 0));
}
