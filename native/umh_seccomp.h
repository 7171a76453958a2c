/*
 * umh_seccomp: the parent's (the JVM's) half of a helper's seccomp-bpf filter. Everything here runs
 * before the clone, where libc is fine; the vfork child only installs the finished program with
 * syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog), as the last step before execveat.
 *
 * Numbers are this CPU's (the table is generated at build time from the compiler's own headers,
 * cmake/umh_syscalls.cmake), so an aarch64 build knows aarch64's calls and no others.
 *
 * What every filter built here does, in order:
 *   1. arch != this CPU's AUDIT_ARCH (an x86_64 program's int $0x80 is i386): KILL_PROCESS;
 *      on x86_64, an x32 call (nr >= 0x40000000): KILL_PROCESS;
 *   2. the always-denied calls (umh_seccomp_always_denied): the default action, whatever is allowed;
 *   3. execve: the default action; execveat: allowed only as execveat(exec_fd, exec_path, .., .., flags
 *      with AT_EMPTY_PATH), exec_fd's high 32 bits 0; anything else the default action;
 *   4. clone: when allowed, only with CLONE_THREAD and without any CLONE_NEW* flag (threads, not
 *      processes or namespaces); clone3 always ENOSYS (its flags are in memory the filter cannot
 *      read, and glibc falls back to clone);
 *   5. the allowed calls; sendmsg only on notify_fd_sock when it is not allowed outright; ioctl,
 *      unless allowed outright, only with a request (its low 32 bits) among TCGETS, TCGETS2,
 *      TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX (isatty() and the like);
 *      prctl, unless allowed outright, only as PR_SET_NAME, PR_GET_NAME, PR_CAPBSET_READ,
 *      PR_GET_DUMPABLE, PR_GET_SECCOMP, PR_GET_NO_NEW_PRIVS, PR_GET_KEEPCAPS (libcap's start);
 *      socket, unless allowed: AF_UNIX refused with EAFNOSUPPORT (glibc's probe of nscd in every
 *      getpwuid(), syslog()'s /dev/log: each falls back), every other family the default action;
 *   6. the ENOSYS list (umh_seccomp_enosys) unless allowed; exit and exit_group always allowed (the
 *      child's own failure path after a failed exec, and any program may end);
 *   7. everything else: the default action, SECCOMP_RET_KILL_PROCESS (the parent sees SIGSYS, status
 *      159) or SECCOMP_RET_USER_NOTIF (the listener's owner learns the call, then must stop the
 *      helper: it must never answer SECCOMP_USER_NOTIF_FLAG_CONTINUE, which would run an
 *      always-denied call).
 * Argument checks read 32-bit halves of seccomp_data.args: an fd must match in the low half and be 0
 * in the high half, so the caller passes fds as (long) to syscall(), never as a bare int.
 */
#ifndef UMH_SECCOMP_H
#define UMH_SECCOMP_H

#include <linux/filter.h>

#include "umh.h"

/* the failing steps are umh.h's UMH_SECCOMP_* */

/* Room enough for any list of this CPU's call numbers, and for any program umh_seccomp_build makes
 * (the kernel's own limit). */
#define UMH_SECCOMP_MAX_NRS 1024
#define UMH_SECCOMP_MAX_INSNS BPF_MAXINSNS

/* This CPU's number for a call's name ("socket", "newfstatat"), or -1 where it has no such call. */
int umh_syscall_number(const char *name);
/* The name of this CPU's call nr, or NULL. */
const char *umh_syscall_name(int nr);
/* The CPU the table was generated for: "x86_64", "aarch64". */
const char *umh_syscall_cpu(void);

/* Named groups of calls, like sandbox2's and systemd's, with this CPU's numbers:
 *   stdio, memory, time, signals, exit, startup-static, startup-dynamic, threads, files,
 *   files-write, network.
 * umh_seccomp_group_name(i): the i-th group's name, NULL past the last (to list them).
 * umh_seccomp_group: writes the group's numbers into nrs, returns how many, or UMH_FAIL. */
const char *umh_seccomp_group_name(int i);
int umh_seccomp_group(const char *name, int *nrs, int max);

/* The calls that get ENOSYS unless allowed (libc and runtimes probe them and fall back), this
 * CPU's numbers into nrs: how many, or UMH_FAIL. */
int umh_seccomp_enosys(int *nrs, int max);
/* 1 if every filter refuses nr whatever is allowed, else 0 (clone and clone3 are 0: their
 * refusal depends on their arguments, see above). */
int umh_seccomp_always_denied(int nr);

struct umh_seccomp_spec {
    const int *allowed;       /* this CPU's numbers (groups expanded, extras added); duplicates fine */
    int nallowed;
    int exec_fd;              /* the fd of the only exec allowed, or -1: no exec at all */
    const void *exec_path;    /* NULL, or the exact pointer the child passes as execveat's path
                               * (its ""): then a program that guesses exec_fd still needs this
                               * address of the parent's, which ASLR hides from it */
    int notify_fd_sock;       /* -1, or the fd the child's sendmsg hands the listener over */
    unsigned default_action;  /* SECCOMP_RET_KILL_PROCESS or SECCOMP_RET_USER_NOTIF */
};
/* The program into out (room for max instructions; UMH_SECCOMP_MAX_INSNS always suffices): its
 * length, or UMH_FAIL(UMH_SECCOMP_BUILD, ...). */
int umh_seccomp_build(const struct umh_seccomp_spec *spec, struct sock_filter *out, int max);
/* The same, and where the program compares exec_fd and notify_fd_sock (each an index into out,
 * -1 where the program has no such check, -2 where it has more than one). Only those two k's
 * depend on the fds: the same spec with other fds is the same program with them patched in. */
struct umh_seccomp_slots {
    int exec_fd_at;
    int notify_fd_sock_at;
};
int umh_seccomp_build_slots(const struct umh_seccomp_spec *spec, struct sock_filter *out, int max,
                            struct umh_seccomp_slots *slots);
/* Writes the fds (each -1 for none) into a program that build_slots made with slots (a program
 * without a check needs no fd for it: an allowed sendmsg is not checked): 0, or
 * UMH_FAIL(UMH_SECCOMP_BUILD, EINVAL) where it cannot take them (no fd for a check it has, or a
 * check in more than one place). */
int umh_seccomp_patch(struct sock_filter *prog, const struct umh_seccomp_slots *slots, int exec_fd, int notify_fd_sock);
/* umh_seccomp_build's program, from a copy of the one built for the same spec but its fds where
 * there is one (a few are kept, process-wide; thread-safe): what a spawn uses. */
int umh_seccomp_build_cached(const struct umh_seccomp_spec *spec, struct sock_filter *out, int max);

/* For the JVM thread that handles violations. */
/* 1 if this kernel has SECCOMP_RET_USER_NOTIF listeners, else UMH_FAIL with the refusal's errno
 * (ENOSYS: no seccomp(2); EOPNOTSUPP: no user notification). An outer filter that already holds
 * a listener shows only at install: SECCOMP_FILTER_FLAG_NEW_LISTENER fails with EBUSY. */
int umh_seccomp_listener_supported(void);
/* Waits for one notification on listener (retrying EINTR): the call's number and the pid (as the
 * caller's pid namespace sees it) into *nr and *pid; 0, or UMH_FAIL (ENOENT: the helper died
 * before it was read). The helper stays blocked in that call until it is killed. */
int umh_seccomp_notif_recv(int listener, int *nr, int *pid);
/* Whether a notification waits on the listener (POLLIN), not only the hang-up of an exited
 * helper (on which notif_recv would block): 1 or 0, without waiting. */
int umh_seccomp_pending(int listener);

#endif
