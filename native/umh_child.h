/*
 * The vfork child's side of a spawn (umh_child.c), private to umh_spawn.c, which prepares
 * `struct child` before the clone and reads it after.
 */
#ifndef UMH_CHILD_H
#define UMH_CHILD_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include "umh.h"

/* close_range (5.9) has this number on every CPU; older libc headers lack it. The parent probes
 * for it (umh_missing_features), the child calls it. */
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define KERNEL_SIGSET_SIZE sizeof(uint64_t)

/* Everything the child needs, prepared before the clone. The child writes `fail` and, with
 * `report_pid`, `pid`; everything else it only reads (see the contract in umh_child.c). */
struct child {
    const struct umh_spawn_req *req;
    int stdio[3];         /* what becomes fd 0, 1, 2: a pipe's end, the caller's fd, or (inherited) the JVM's own */
    int inherited;        /* bit k: stdio[k] is the JVM's own fd 0, 1 or 2 (for 2>&1, its fd 1), kept as it is */
    int fd_floor;         /* umh_fd_floor: the highest fd number the plan writes; the memfd and mm_w go above it */
    pid_t parent;         /* for the PR_SET_PDEATHSIG race check */
    int fallbacks;        /* umh_fallbacks at the spawn: the child reads no global */
    int mm_w;             /* -1, or a close-on-exec pipe's write end that the child keeps open
                           * until its exec or exit: the parent's sign that the child no longer
                           * shares its mm (UMH_SPAWN_USER: see umh_spawn.c) */
    volatile int fail;    /* set by the child before it exits: the parent reads it after the vfork */
    volatile int pid;     /* on the spawner path: written by CLONE_PARENT_SETTID (clone3, or clone
                           * without pidfds) or else by the child first thing; 0 until then */
    int pidfd;            /* the parent's: CLONE_PIDFD's, or -1 */
    int report_pid;       /* the child writes its pid into `pid` */
    int sighand_cleared;  /* clone3 reset every caught signal (CLONE_CLEAR_SIGHAND) */
    char *relay_stack;    /* with a sandbox's join_user_fd: the helper's stack, in the caller's frame
                           * (umh_spawn's: the relay's clone returns before the helper's exec) */
    unsigned long relay_stack_size;
    volatile int relayed; /* set by the relay before it clones the helper: the helper joins nothing */
    volatile int grandchild; /* the helper's pid, written by the relay's clone3 (CLONE_PARENT_SETTID), or 0 */
    _Atomic int *helper_exec; /* the word the kernel zeroes (and wakes) at the helper's exec or exit
                               * (CLONE_CHILD_CLEARTID of the relay's clone): the caller's hand-off
                               * word on the spawner path, else helper_word */
    _Atomic int helper_word;
    volatile int *helper_pidfd; /* where the relay's clone puts the helper's pidfd: a slot in the frame of
                           * the thread that cloned the relay, which learns from it (and only from it:
                           * struct child may be gone by then) whether a helper was made */
};

/* A clone (CLONE_VM | CLONE_VFORK | CLONE_FILES, with CLONE_NEWNS and/or CLONE_NEWNET) that
 * makes namespaces to keep (umh_sandbox_namespaces): it opens their nsfs files into the fd table
 * it shares with the caller, makes the sandbox's root in the mount namespace, and exits 0. */
struct umh_ns_holder {
    struct child c;                    /* only c.fail: UMH_FAIL, or 0 */
    const struct umh_sandbox *sandbox; /* NULL, or the root, directories and binds to make; and,
                                        * with CLONE_NEWUSER in its ns_flags, the id maps to write */
    int net;                           /* open the network namespace too, and the ipc one */
    int user;                          /* a new user namespace (the clone's): write its maps, open it */
    int join_user;                     /* -1, or a user namespace to join first, then unshare a mount namespace */
    int mnt_fd, net_fd, user_fd, ipc_fd; /* written by the holder: -1, or its opened nsfs fds */
};
int umh_child_ns_holder(void *arg) __attribute__((noreturn));

/* A child whose sandbox joins a user namespace made once (join_user_fd): it joins that, the
 * mount, the network (and the ipc) namespace, then clones the helper with CLONE_PARENT (so it is still the
 * JVM's child) and the sandbox's ns_flags (its own pid, ipc and uts namespaces), and exits at
 * once, without waiting for the helper's exec: the caller waits for that on helper_word. The
 * helper runs umh_child_main. */
int umh_child_relay(void *arg) __attribute__((noreturn));

/* The "" the child passes to execveat: a sandbox's seccomp filter allows only this pointer. */
extern const char umh_child_empty_path[1];

/* The child's whole life, as clone's fn: it execs or exits, never returns (see umh_child.c). */
int umh_child_main(void *arg) __attribute__((noreturn));

#endif
