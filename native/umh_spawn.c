/*
 * The spawn: clone3 (or clone) with CLONE_VM | CLONE_VFORK on a small separate stack, as glibc's
 * posix_spawn does. The child shares the JVM's memory and never copies its page tables, so the
 * cost does not grow with the heap; the parent is suspended until the child has exec'd or exited.
 *
 * The child itself, and its contract, are in umh_child.c.
 * All signals are blocked across the clone so that no JVM handler can run on the child's stack.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umh.h"
#include "umh_child.h"
#include "umh_spin.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define CHILD_STACK_SIZE (32 * 1024)

int umh_fallbacks;

int umh_missing_features(void)
{
    /* arguments every kernel that has the call refuses (EINVAL, ENOENT, EBADF): nothing is closed,
     * exec'd or reaped; ENOSYS says the call is missing */
    int missing = 0;
    if (syscall(SYS_close_range, 1U, 0U, 0) < 0 && errno == ENOSYS)
        missing |= UMH_NO_CLOSE_RANGE;
    if (syscall(SYS_execveat, -1, "", NULL, NULL, 0) < 0 && errno == ENOSYS)
        missing |= UMH_NO_EXECVEAT;
    /* pidfds need waitid(P_PIDFD), 5.4: 5.2 has CLONE_PIDFD and 5.3 pidfd_open, but reaping by
     * pidfd fails there. Before 5.4 P_PIDFD is an unknown idtype (EINVAL); since, fd INT_MAX is
     * no open fd (EBADF) */
    siginfo_t info;
    if (waitid((idtype_t)P_PIDFD, (id_t)INT_MAX, &info, WEXITED | WNOHANG) < 0 && errno == EINVAL)
        missing |= UMH_NO_PIDFD;
    return missing;
}

/* ---------------------------------------------------------------- the parent */

static void close_if_open(int *fd)
{
    if (*fd >= 0) {
        close(*fd); /* never retried: the fd is gone even when close reports EINTR */
        *fd = -1;
    }
}

/* A close-on-exec pipe, of size bytes or more when size > 0 (large transfers take fewer wake-ups). */
static int make_pipe(int *r, int *w, int size)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return UMH_FAIL(UMH_PIPE2, errno);
    if (size > 0 && fcntl(p[1], F_SETPIPE_SZ, size) < 0) {
        int rc = UMH_FAIL(UMH_SETPIPE_SZ, errno);
        close(p[0]);
        close(p[1]);
        return rc;
    }
    *r = p[0];
    *w = p[1];
    return 0;
}

int umh_open_redirect(const char *path, int how)
{
    int flags = how == UMH_OPEN_READ ? O_RDONLY : O_WRONLY | O_CREAT | (how == UMH_OPEN_APPEND ? O_APPEND : O_TRUNC);
    int fd;
    do {
        fd = open(path, flags | O_CLOEXEC, 0666);
    } while (fd < 0 && errno == EINTR);
    return fd < 0 ? UMH_FAIL(UMH_OPEN, errno) : fd;
}

/* ---------------------------------------------------------------- the fd plan, the parent's side */

int umh_fd_floor(const struct umh_spawn_req *req)
{
    return req->npass > 0 && req->pass[req->npass - 1].target > 2 ? req->pass[req->npass - 1].target : 2;
}

int umh_dup_above(int fd, int floor)
{
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, floor + 1);
    return copy < 0 ? UMH_FAIL(UMH_DUP, errno) : copy;
}

int umh_move_above(int *fd, int floor)
{
    if (*fd < 0 || *fd > floor)
        return 0;
    int copy = umh_dup_above(*fd, floor);
    if (copy < 0)
        return copy;
    close(*fd);
    *fd = copy;
    return 0;
}

/* What the child cannot check: the passed fds within bounds, their targets above 2 and strictly
 * ascending (so no two the same), each stdio `how` known (AS_STDOUT on fd 2 only), and the fds the
 * child uses after its plan (a sandbox's socket, ruleset, namespaces, and the memfd its filter
 * names) above the highest target (umh_fd_floor). EINVAL otherwise. */
static int plan_valid(const struct umh_spawn_req *req, int floor)
{
    if (req->npass < 0 || req->npass > UMH_PASS_MAX)
        return 0;
    for (int i = 0; i < req->npass; i++)
        if (req->pass[i].target <= (i == 0 ? 2 : req->pass[i - 1].target) || req->pass[i].source < 0)
            return 0;
    for (int k = 0; k < 3; k++) {
        int how = req->stdio[k].how;
        if (how < UMH_STDIO_PIPE || how > UMH_STDIO_AS_STDOUT || (how == UMH_STDIO_AS_STDOUT && k != 2) ||
            (how == UMH_STDIO_FD && req->stdio[k].fd < 0))
            return 0;
    }
    const struct umh_sandbox *s = req->sandbox;
    return s == NULL || ((s->notify_sock < 0 || s->notify_sock > floor) && (s->landlock_fd < 0 || s->landlock_fd > floor) &&
                         (s->join_mnt_fd < 0 || s->join_mnt_fd > floor) && (s->join_net_fd < 0 || s->join_net_fd > floor) &&
                         (s->join_ipc_fd < 0 || s->join_ipc_fd > floor) && (s->join_user_fd < 0 || s->join_user_fd > floor) &&
                         (s->filter == NULL || req->memfd > floor));
}

/* The child's fds 0, 1, 2 as struct child takes them: the child's end of each new pipe (the
 * parent's into ends[k]), the caller's fd, or the JVM's own (c->inherited). */
static int plan_stdio(const struct umh_spawn_req *req, struct child *c, int child_ends[3], int ends[3])
{
    for (int k = 0; k < 3; k++) {
        switch (req->stdio[k].how) {
        case UMH_STDIO_PIPE: {
            /* fd 0: the child reads; 1 and 2: it writes */
            int rc = k == 0 ? make_pipe(&child_ends[k], &ends[k], req->pipe_size) : make_pipe(&ends[k], &child_ends[k], req->pipe_size);
            if (rc < 0)
                return rc;
            c->stdio[k] = child_ends[k];
            break;
        }
        case UMH_STDIO_INHERIT:
            c->stdio[k] = k;
            c->inherited |= 1 << k;
            break;
        case UMH_STDIO_FD:
            c->stdio[k] = req->stdio[k].fd;
            break;
        default: /* UMH_STDIO_AS_STDOUT: 2>&1, the JVM's fd 1 where that is inherited */
            c->stdio[k] = c->stdio[1];
            c->inherited |= (c->inherited & 2) << 1;
            break;
        }
    }
    return 0;
}

/* Wait for a child that failed before exec, so a failed spawn leaves no zombie. */
static void reap_failed(int pid)
{
    siginfo_t info;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED) < 0 && errno == EINTR) {
    }
}

/* Set once clone3 was refused for a reason that will not change: ENOSYS (before 5.3, or a seccomp
 * filter or an emulator that hides it), EINVAL (5.3 and 5.4 know no CLONE_CLEAR_SIGHAND), EPERM
 * (container filters that predate clone3). Later spawns go straight to clone. */
static atomic_int clone3_refused;

static int clone3_refusal(long rc)
{
    return rc == -ENOSYS || rc == -EINVAL || rc == -EPERM;
}

/* clone3: the kernel resets the child's caught signals and writes the pidfd and the pid into c
 * before the child runs, and with a cgroup (UMH_SPAWN_CGROUP) makes it there. The pid, or -errno. */
static long clone3_child(struct child *c, char *stack, size_t size, unsigned long long flags,
                         atomic_int *clear_on_exec, int (*fn)(void *))
{
    int cgroup = c->req->flags & UMH_SPAWN_CGROUP;
    struct umh_clone_args args = {
        .flags = flags | CLONE_CLEAR_SIGHAND | CLONE_PARENT_SETTID | (clear_on_exec ? CLONE_CHILD_CLEARTID : 0),
        .pidfd = (uintptr_t)&c->pidfd,
        .child_tid = (uintptr_t)clear_on_exec,
        .parent_tid = (uintptr_t)&c->pid,
        .exit_signal = SIGCHLD,
        .stack = (uintptr_t)stack,
        .stack_size = size,
    };
    if (cgroup) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)c->req->cgroup_fd;
    }
    c->sighand_cleared = 1;
    c->report_pid = 0;
    return umh_clone3(&args, cgroup ? UMH_CLONE_ARGS_SIZE_CGROUP : UMH_CLONE_ARGS_SIZE_VER0, fn, c);
}

/* clone, which returns a pidfd and a parent tid through one pointer: on the spawner thread the
 * child writes its own pid first thing, or without pidfds CLONE_PARENT_SETTID does. The pid, or
 * -errno. */
static long clone_legacy(struct child *c, char *stack_top, int flags, atomic_int *clear_on_exec)
{
    int pidfd_flag = flags & CLONE_PIDFD;
    c->sighand_cleared = 0;
    c->report_pid = clear_on_exec != NULL && pidfd_flag;
    flags |= SIGCHLD;
    if (clear_on_exec != NULL)
        flags |= CLONE_CHILD_CLEARTID | (pidfd_flag ? 0 : CLONE_PARENT_SETTID);
    int *ptid = pidfd_flag ? &c->pidfd : (int *)&c->pid;
    int pid = clone(umh_child_main, stack_top, flags, c, ptid, NULL, clear_on_exec);
    /* Kernels before 5.2 ignore CLONE_PIDFD, but qemu-user 7.2 (and a strict seccomp filter)
     * refuse it with EINVAL: no child was made, so clone again without it; umh_spawn then asks
     * pidfd_open for the pidfd. */
    if (pid < 0 && errno == EINVAL && pidfd_flag) {
        flags &= ~CLONE_PIDFD;
        c->report_pid = 0;
        if (clear_on_exec != NULL)
            flags |= CLONE_PARENT_SETTID;
        pid = clone(umh_child_main, stack_top, flags, c, (int *)&c->pid, NULL, clear_on_exec);
    }
    return pid < 0 ? -errno : pid;
}

/* Until the helper has exec'd or exited: the kernel zeroes the word then and wakes us (a shared
 * futex, as CLONE_CHILD_CLEARTID's wake is). */
static void wait_helper(struct child *c)
{
    while (atomic_load(&c->helper_word) != 0)
        syscall(SYS_futex, &c->helper_word, FUTEX_WAIT, 1, NULL, NULL, 0); /* EINTR, EAGAIN: loop */
}

/*
 * A relay has exited (umh_child_relay), on the thread that cloned it: the spawner, whose caller
 * sleeps until the word in helper_exec is cleared, or the caller itself. helper_pidfd, the slot
 * the relay's clone fills, says whether a helper was made; the relay may have failed or been
 * killed before. With a helper, the helper's exec or exit clears the word: on the spawner path
 * the caller may be awake and gone with c already, so c is not touched; the caller reaps the
 * relay (adopt_helper). Without one nobody else will wake the caller: the relay is reaped here
 * and the spawn fails, c being still the caller's. The relay's pid, or UMH_FAIL.
 */
static int relay_ended(struct child *c, int relay_pid, int helper_pidfd, atomic_int *clear_on_exec)
{
    if (helper_pidfd >= 0) {
        close(helper_pidfd); /* the caller opens its own (adopt_helper): this one was only the sign */
        if (clear_on_exec == NULL)
            wait_helper(c); /* the caller's own thread: the helper runs on its frame until its exec */
        return relay_pid;
    }
    reap_failed(relay_pid);
    close_if_open(&c->pidfd);
    return c->fail != 0 ? c->fail : UMH_FAIL(UMH_CLONE3, ECHILD); /* the relay was killed before its clone */
}

/*
 * Clones the child: its pid (>= 0) or UMH_FAIL. The pidfd comes with the clone (CLONE_PIDFD, into
 * c->pidfd) before the child runs: opening it later by pid would race with a kernel that reaps
 * children itself (SIGCHLD ignored) and could then name a recycled pid. On the spawner thread
 * (umh_spawner.c) the kernel zeroes *clear_on_exec at the child's exec or exit, which wakes the
 * caller, and nothing here touches c once the clone has returned (c may be gone by then): c->pid
 * is written before the child runs, or by the child itself (clone_legacy).
 */
static int clone_child(struct child *c, atomic_int *clear_on_exec)
{
    /* the child's stack lives in this frame: the parent is suspended until the child execs or
     * exits (where the child is a relay, the helper's stack is the caller's: umh_spawn) */
    char stack[CHILD_STACK_SIZE] __attribute__((aligned(16)));
    sigset_t all, old;
    sigfillset(&all);
    /* raw: glibc's pthread_sigmask would leave its own SIGCANCEL/SIGSETXID open */
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, KERNEL_SIGSET_SIZE);
    int flags = CLONE_VM | CLONE_VFORK | (c->fallbacks & UMH_NO_PIDFD ? 0 : CLONE_PIDFD);
    const struct umh_sandbox *s = c->req->sandbox;
    int relay = s != NULL && s->join_user_fd >= 0;
    if (s != NULL && !relay)
        flags |= (int)s->ns_flags; /* the namespaces come with the clone: nothing to unshare after */
    /* clone3 only: the relay's own clone of the helper is clone3's (umh_child_relay). It opens,
     * closes and dups nothing: it shares the JVM's fd table, which spares a copy of the table at
     * its clone and the closing of that copy at its exit (the helper gets its own copy). The
     * helper's exec, not the relay's exit, clears the caller's word */
    volatile int helper_pidfd = -1;
    if (relay) {
        flags |= CLONE_FILES;
        c->helper_pidfd = &helper_pidfd;
        c->helper_exec = clear_on_exec != NULL ? clear_on_exec : &c->helper_word;
    }
    long pid = -ENOSYS;
    int step = UMH_CLONE3; /* the call whose error is reported */
    /* A cgroup comes with clone3 or not at all: plain clone would start the helper outside its
     * limits. Its refusals say nothing of clone3 without it (5.3 to 5.6 refuse the flag: EINVAL). */
    int cgroup = c->req->flags & UMH_SPAWN_CGROUP;
    if (!(c->fallbacks & UMH_NO_CLONE3) && !atomic_load_explicit(&clone3_refused, memory_order_relaxed)) {
        pid = clone3_child(c, stack, sizeof stack, (unsigned)flags, relay ? NULL : clear_on_exec, relay ? umh_child_relay : umh_child_main);
        if (clone3_refusal(pid) && !cgroup)
            atomic_store_explicit(&clone3_refused, 1, memory_order_relaxed);
    }
    if (clone3_refusal(pid) && !cgroup && !relay) {
        /* clone's one pointer for the pidfd and the pid: on the spawner path the child would
         * report its own pid, which is 1 in a new pid namespace. Take the pid from the clone,
         * and the pidfd from pidfd_open after (umh_spawn). */
        if (clear_on_exec != NULL && s != NULL && (s->ns_flags & CLONE_NEWPID))
            flags &= ~CLONE_PIDFD;
        pid = clone_legacy(c, stack + sizeof stack, flags, clear_on_exec);
        step = UMH_CLONE;
    }
    /* A clone that fails late (a full pids cgroup: EAGAIN) has already written a pidfd number and
     * then released it: the number is not ours, and another thread may open it any moment. */
    if (pid < 0)
        c->pidfd = -1;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, KERNEL_SIGSET_SIZE);
    if (pid < 0)
        return UMH_FAIL(step, -pid);
    return relay ? relay_ended(c, (int)pid, helper_pidfd, clear_on_exec) : (int)pid;
}

static int clone_handed_off(struct umh_handoff *h, atomic_int *clear_on_exec)
{
    struct child *c = h->arg;
    int pid = clone_child(c, clear_on_exec);
    if (clear_on_exec == NULL && pid >= 0)
        c->pid = pid; /* the caller still waits: the spawner completes h after this */
    return pid;
}

/* Reaps a child that was killed before it ran a line (it never wrote its pid), by its pidfd.
 * Only clone can leave such a child (clone3 has the kernel write the pid first): reported as
 * clone's ESRCH, the clone having made no child we can use. */
static int reap_unborn(int pidfd)
{
    siginfo_t info;
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0 && errno == EINTR) {
    }
    return UMH_FAIL(UMH_CLONE, ESRCH);
}

/*
 * The JVM's dumpable flag, across spawns that change the child's credentials (UMH_SPAWN_USER).
 * The kernel resets the dumpable flag of the mm of a task whose euid, egid, fsuid, fsgid or
 * capabilities change (commit_creds: to fs.suid_dumpable, 0 by default), and the vfork child's
 * mm is the JVM's: ForkOptions.user turned the JVM non-dumpable for good (no core dumps, /proc
 * of the JVM owned by root, no ptrace, jcmd or profiler attach by its own non-root user).
 *
 * The parent restores it, not the child: a child that set it back would run as the new user,
 * dumpable, with the JVM's memory until its exec, open to ptrace and process_vm_readv from every
 * process of that user (see umh_child.c). And not when the vfork returns either: the kernel wakes
 * the parent (exec_mm_release) just before it switches the child to its new mm. The sign that
 * the switch is done is the EOF of a close-on-exec pipe that only the child still holds (mm_w):
 * the exec closes it after exec_mmap, an exit after exit_mm.
 *
 * With several such spawns at once, the flag read when the first began is put back when the last
 * ended, so that no spawn reads a flag another's child has just reset. Until then the JVM is not
 * dumpable, which is the safe direction. A prctl(PR_SET_DUMPABLE) by other code in the JVM
 * meanwhile would be overwritten; a JVM makes none. prctl can set 0 and 1 only; 2
 * (SUID_DUMP_ROOT) comes from fs.suid_dumpable=2 itself, the value the reset writes: left alone.
 */
static atomic_flag dumpable_lock = ATOMIC_FLAG_INIT; /* held for a prctl or two */
static int dumpable_users;  /* spawns with UMH_SPAWN_USER whose child may share our mm */
static int dumpable_saved;  /* PR_GET_DUMPABLE when the first of them began */

static void user_spawn_begin(void)
{
    umh_spin_lock(&dumpable_lock);
    if (dumpable_users++ == 0)
        dumpable_saved = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    umh_spin_unlock(&dumpable_lock);
}

/* After the child's exec or exit (mm_r's EOF); mm_r is closed here. */
static void user_spawn_end(int *mm_r)
{
    char b;
    while (read(*mm_r, &b, 1) < 0 && errno == EINTR) {
    }
    close_if_open(mm_r);
    umh_spin_lock(&dumpable_lock);
    if (--dumpable_users == 0 && (dumpable_saved == 0 || dumpable_saved == 1) &&
        prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != dumpable_saved)
        prctl(PR_SET_DUMPABLE, dumpable_saved, 0, 0, 0);
    umh_spin_unlock(&dumpable_lock);
}

/* The child's pid or UMH_FAIL. A child that must die with the process is cloned on the spawner
 * thread (see umh_spawner.c); any other right here. */
/*
 * After a relay that made the helper (relay_ended): the helper has exec'd or exited, the relay
 * exited right after its clone. Reaps the relay (a zombie by now, as a rule: its exit overlapped
 * the helper's set-up) and closes its pidfd; the helper, the JVM's child by CLONE_PARENT, is the
 * spawn's child from here (its pidfd comes from pidfd_open: it is ours to reap, so its pid names
 * no other process). Its pid, or UMH_FAIL (the helper's failure, both reaped).
 */
static int adopt_helper(struct child *c, int relay_pid, int *pidfd)
{
    int helper = c->grandchild; /* written by the relay's clone before it returned */
    reap_failed(relay_pid);
    close_if_open(pidfd);
    if (c->fail != 0) {
        reap_failed(helper);
        return c->fail;
    }
    return helper;
}

static int start_child(struct child *c)
{
    if (!(c->req->flags & UMH_SPAWN_PDEATHSIG))
        return clone_child(c, NULL);
    struct umh_handoff h = { .run = clone_handed_off, .arg = c };
    int rc = umh_handoff(&h);
    if (rc < 0)
        return rc;
    /* killed before its first line (kill -9 of a new pid): no pid to report, and no exec */
    return c->pid > 0 ? c->pid : reap_unborn(c->pidfd);
}

int umh_spawn(const struct umh_spawn_req *req, struct umh_spawn_res *res)
{
    int child_ends[3] = { -1, -1, -1 }, ends[3] = { -1, -1, -1 }, pidfd = -1;
    int mm_r = -1, mm_w = -1;
    int rc;
    struct child c;
    memset(&c, 0, sizeof c);
    /* a relayed helper's stack (umh_child_relay): here, as it runs until its exec, after the
     * relay's clone has returned */
    char helper_stack[CHILD_STACK_SIZE] __attribute__((aligned(16)));

    int floor = umh_fd_floor(req);
    if (!plan_valid(req, floor))
        return UMH_FAIL(UMH_CHILD_DUP3, EINVAL);
    if ((rc = plan_stdio(req, &c, child_ends, ends)) < 0)
        goto out;
    int user = req->flags & UMH_SPAWN_USER;
    if (user && (rc = make_pipe(&mm_r, &mm_w, 0)) < 0)
        goto out;
    c.req = req;
    c.fd_floor = floor;
    c.parent = getpid();
    c.pidfd = -1;
    c.fallbacks = umh_fallbacks;
    c.mm_w = mm_w;
    c.relay_stack = helper_stack;
    c.relay_stack_size = sizeof helper_stack;
    atomic_init(&c.helper_word, 1);

    if (user)
        user_spawn_begin();
    rc = start_child(&c);
    if (user) {
        close_if_open(&mm_w); /* now only the child holds it, if there is one */
        user_spawn_end(&mm_r);
    }
    pidfd = c.pidfd;
    if (rc < 0)
        goto out;
    if (req->sandbox != NULL && req->sandbox->join_user_fd >= 0 && (rc = adopt_helper(&c, rc, &pidfd)) < 0)
        goto out;
    int pid = rc;
    if (c.fail != 0) {
        rc = c.fail;
        reap_failed(pid);
        goto out;
    }
    if (pidfd < 0 && !(c.fallbacks & UMH_NO_PIDFD)) {
        /* CLONE_PIDFD refused (seccomp) or ignored (a kernel before 5.2) */
        if ((pidfd = umh_pidfd_open(pid)) < 0) {
            rc = pidfd; /* EMFILE, as CLONE_PIDFD would have failed the clone */
            kill(pid, SIGKILL); /* still ours to reap, so the pid cannot name another process */
            reap_failed(pid);
            goto out;
        }
    }
    res->stdin_w = ends[0];
    res->stdout_r = ends[1];
    res->stderr_r = ends[2];
    res->pid = pid;
    res->pidfd = pidfd < 0 ? -1 : pidfd;
    ends[0] = ends[1] = ends[2] = pidfd = -1; /* handed over */
    rc = 0;
out:
    for (int k = 0; k < 3; k++) {
        close_if_open(&child_ends[k]);
        close_if_open(&ends[k]);
    }
    close_if_open(&pidfd);
    close_if_open(&mm_r);
    close_if_open(&mm_w);
    return rc;
}
