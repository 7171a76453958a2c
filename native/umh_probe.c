/*
 * What the sandbox needs, tried for real once per JVM (io.umh.SandboxSupport), as the spawn would
 * use it: a sysctl says user namespaces are on, yet a container's seccomp profile can still refuse
 * CLONE_NEWUSER (EPERM), an LSM can let the clone through and refuse the id maps (Ubuntu's
 * AppArmor restriction: EPERM at the uid_map write), and an outer seccomp filter can hold the one
 * listener a filter chain may have (EBUSY). Each probe makes a short-lived child the way
 * umh_spawn does (clone with CLONE_VM | CLONE_VFORK, all signals blocked across it), which tries
 * the step and exits; the parent reads the child's answer from shared memory and reaps it.
 *
 * The probe child runs in the JVM's memory, as umh_child.c's does: raw system calls only on
 * memory prepared before the clone, no malloc, no locks, no libc state, and nothing per-mm
 * (PR_SET_NO_NEW_PRIVS and a seccomp filter are the child task's own).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umh.h"
#include "umh_child.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define PROBE_STACK_SIZE (16 * 1024)
/* As umh_child.c's CHILD: under AddressSanitizer the child must not poison or check shadow it
 * shares with the parent, on a stack inside a parent frame. */
#define PROBE_CHILD __attribute__((no_sanitize_address))

struct probe {
    int listener;                /* install an allow-all filter with a listener */
    int map_ids;                 /* write setgroups "deny", then the one-id maps */
    int private_root;            /* the root's first step: / made private in the new mount namespace */
    char uid_map[32], gid_map[32];
    size_t uid_map_len, gid_map_len;
    int rc;                      /* the child's answer: 0, or UMH_FAIL */
};

static PROBE_CHILD int probe_write(const char *path, const char *text, size_t len)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    long n = syscall(SYS_write, fd, text, len);
    int err = n < 0 ? errno : 0;
    syscall(SYS_close, fd);
    return -err;
}

/* The child: each step in the order the sandbox's child takes it; the first failure is the answer. */
static PROBE_CHILD int probe_child(void *arg)
{
    struct probe *p = arg;
    static const char deny[] = "deny";
    int err;
    if (p->map_ids) {
        if ((err = probe_write("/proc/self/setgroups", deny, sizeof deny - 1)) < 0) {
            p->rc = UMH_FAIL(UMH_CHILD_SETGROUPS_DENY, -err);
            syscall(SYS_exit, 0);
        }
        if ((err = probe_write("/proc/self/uid_map", p->uid_map, p->uid_map_len)) < 0) {
            p->rc = UMH_FAIL(UMH_CHILD_UID_MAP, -err);
            syscall(SYS_exit, 0);
        }
        if ((err = probe_write("/proc/self/gid_map", p->gid_map, p->gid_map_len)) < 0) {
            p->rc = UMH_FAIL(UMH_CHILD_GID_MAP, -err);
            syscall(SYS_exit, 0);
        }
    }
    /* refused (EPERM) where the JVM already runs in a Landlock domain, which may not mount, or
     * where an LSM or a filter refuses mounts: the namespaces are there, the root is not */
    if (p->private_root && syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        p->rc = UMH_FAIL(UMH_CHILD_MOUNT_PRIVATE, errno);
        syscall(SYS_exit, 0);
    }
    if (p->listener) {
        struct sock_filter allow;
        allow.code = BPF_RET | BPF_K;
        allow.jt = allow.jf = 0;
        allow.k = SECCOMP_RET_ALLOW;
        struct sock_fprog prog;
        prog.len = 1;
        prog.filter = &allow;
        if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
            p->rc = UMH_FAIL(UMH_CHILD_NO_NEW_PRIVS, errno);
            syscall(SYS_exit, 0);
        }
        /* the listener lands in the child's own fd table (no CLONE_FILES): gone with it */
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog) < 0) {
            p->rc = UMH_FAIL(UMH_CHILD_SECCOMP, errno);
            syscall(SYS_exit, 0);
        }
    }
    p->rc = 0;
    syscall(SYS_exit, 0);
    return 0;
}

/* Clones the probe child with ns_flags, waits for it: its answer, or clone's failure. */
static int probe_run(struct probe *p, unsigned long ns_flags)
{
    char stack[PROBE_STACK_SIZE] __attribute__((aligned(16)));
    sigset_t all, old;
    sigfillset(&all);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, KERNEL_SIGSET_SIZE);
    p->rc = UMH_FAIL(UMH_CLONE, ECHILD); /* stays if the child dies before it answers */
    int pid = clone(probe_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD | (int)ns_flags, p);
    int err = errno;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, KERNEL_SIGSET_SIZE);
    if (pid < 0)
        return UMH_FAIL(UMH_CLONE, err);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return p->rc;
}

int umh_probe_namespaces(unsigned long ns_flags, int root)
{
    struct probe p;
    memset(&p, 0, sizeof p);
    p.private_root = root && (ns_flags & CLONE_NEWNS) != 0;
    if (ns_flags & CLONE_NEWUSER) {
        /* the very maps the sandbox's child writes (umh_sandbox.c) */
        int n = snprintf(p.uid_map, sizeof p.uid_map, "%u %u 1", (unsigned)getuid(), (unsigned)getuid());
        p.uid_map_len = n > 0 ? (size_t)n : 0;
        n = snprintf(p.gid_map, sizeof p.gid_map, "%u %u 1", (unsigned)getgid(), (unsigned)getgid());
        p.gid_map_len = n > 0 ? (size_t)n : 0;
        p.map_ids = 1;
    }
    return probe_run(&p, ns_flags);
}

int umh_probe_listener(void)
{
    struct probe p;
    memset(&p, 0, sizeof p);
    p.listener = 1;
    return probe_run(&p, 0);
}

int umh_probe_clone3(void)
{
    /* a size below the first version's: EINVAL from every kernel with clone3, and no child */
    if (syscall(SYS_clone3, NULL, (size_t)0) < 0 && errno != EINVAL)
        return UMH_FAIL(UMH_CLONE3, errno);
    return 0;
}
