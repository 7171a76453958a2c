/*
 * umh: the plain-C core of the shim. Nothing here knows about JNI, so the same code is
 * driven by the JVM (umh_jni.c) and by the C unit tests (test/umh_ctest.c).
 *
 * Failures travel as one negative int, -(step << 12 | errno): the step says which call failed,
 * errno why. errno always fits in 12 bits (the kernel's MAX_ERRNO is 4095). Java decodes it once
 * (Native.describe) into "execveat failed: ENOEXEC (Exec format error)".
 */
#ifndef UMH_H
#define UMH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Which call failed; umh_step_name (umh_errors.c) names each. The numbers cross into Java and
 * are only ever appended to, never renumbered: a step that belongs to an earlier group goes at
 * the end, with the group it belongs to in its comment. */
enum umh_step {
    UMH_STEP_NONE = 0,
    /* loading a blob */
    UMH_MEMFD_CREATE, UMH_WRITE, UMH_ADD_SEALS,
    /* the parent's side of a spawn */
    UMH_PIPE2, UMH_CLONE, UMH_PIDFD_OPEN, UMH_MALLOC,
    /* the child, between clone and exec */
    UMH_CHILD_SIGACTION, UMH_CHILD_PDEATHSIG, UMH_CHILD_MOVE_FD, UMH_CHILD_DUP3,
    UMH_CHILD_SETSID, UMH_CHILD_SETRLIMIT, UMH_CHILD_SETGROUPS, UMH_CHILD_SETGID, UMH_CHILD_SETUID,
    UMH_CHILD_NO_NEW_PRIVS,
    UMH_CHILD_CLOSE_FDS, UMH_CHILD_CLEAR_CLOEXEC, UMH_CHILD_CHDIR, UMH_CHILD_EXECVEAT,
    /* lifetime */
    UMH_OPEN, UMH_WAITID, UMH_EPOLL_CREATE, UMH_EPOLL_CTL, UMH_EPOLL_WAIT, UMH_SIGNAL, UMH_CLOSE,
    /* the parent's side of a spawn */
    UMH_SETPIPE_SZ,
    /* lifetime: waitFor waiting on the pidfd itself */
    UMH_DUP, UMH_POLL,
    /* one step per call, where one step stood for two */
    UMH_CLONE3,             /* UMH_CLONE is clone's: the fallback, or where clone3 was refused */
    UMH_CHILD_SIGPROCMASK,  /* UMH_CHILD_SIGACTION is rt_sigaction's */
    UMH_CHILD_EXECVE,       /* the /proc/self/fd/N fallback; UMH_CHILD_EXECVEAT is execveat's */
    UMH_KILL,               /* UMH_SIGNAL is pidfd_send_signal's */
    UMH_GET_CRITICAL,       /* GetPrimitiveArrayCritical (umh_jni.c); UMH_MALLOC is malloc's */
    /* the child's sandbox (struct umh_sandbox), in the order it applies it */
    UMH_CHILD_SETGROUPS_DENY, UMH_CHILD_UID_MAP, UMH_CHILD_GID_MAP,
    UMH_CHILD_MOUNT_PRIVATE, UMH_CHILD_MOUNT_TMPFS, UMH_CHILD_MKDIR, UMH_CHILD_MOUNT_TARGET,
    UMH_CHILD_MOUNT_BIND, UMH_CHILD_MOUNT_SETATTR, UMH_CHILD_PIVOT_ROOT, UMH_CHILD_UMOUNT,
    UMH_CHILD_SECUREBITS, UMH_CHILD_CAP_AMBIENT, UMH_CHILD_LANDLOCK, UMH_CHILD_SECCOMP,
    /* the parent's side of a sandbox: umh_sandbox.c, umh_landlock.c */
    UMH_SANDBOX_OPEN,
    UMH_LANDLOCK_ABI,             /* no Landlock here: ENOSYS, EOPNOTSUPP (disabled at boot), EPERM */
    UMH_LANDLOCK_SPEC,            /* a bad spec: a path that is not absolute, unknown scope bits (EINVAL) */
    UMH_LANDLOCK_CREATE_RULESET, UMH_LANDLOCK_OPEN_PATH, UMH_LANDLOCK_STATX, UMH_LANDLOCK_ADD_RULE,
    UMH_SECCOMP_BUILD,        /* umh_seccomp_build: a bad spec (EINVAL), no room in out (ENOSPC),
                               * or a built-in list names a call unknown on this CPU (ENOSYS) */
    UMH_SECCOMP_GROUP,        /* umh_seccomp_group: no such group (ENOENT), no room (ENOSPC), or the
                               * group names a call unknown on this CPU (ENOSYS) */
    UMH_SECCOMP_ACTION_AVAIL, /* seccomp(SECCOMP_GET_ACTION_AVAIL, SECCOMP_RET_USER_NOTIF) */
    UMH_SECCOMP_NOTIF_SIZES,  /* seccomp(SECCOMP_GET_NOTIF_SIZES) */
    UMH_SECCOMP_NOTIF_RECV,   /* ioctl(SECCOMP_IOCTL_NOTIF_RECV) */
    UMH_CHILD_SECCOMP_LISTENER, /* the child's sendmsg of the listener */
    UMH_SANDBOX_SOCKETPAIR,   /* the parent's socketpair for it */
    UMH_CHILD_SETNS,          /* the child's setns into a namespace made once (umh_sandbox_namespaces) */
    UMH_SANDBOX_NAMESPACES,   /* the clone that makes those namespaces */
    /* the parent's side of a sandbox: umh_cgroup.c (its open and write are UMH_OPEN, UMH_WRITE) */
    UMH_CGROUP_MKDIR,         /* the helper's cgroup under the delegated one: EACCES without delegation */
    /* loading a blob from a file (umh_memfd_load_file; the file's open is UMH_OPEN) */
    UMH_STATX, UMH_COPY_FILE_RANGE, UMH_SENDFILE, UMH_READ,
    /* lifetime: the wake-up that takes the watcher threads out of epoll_wait at JVM exit */
    UMH_EVENTFD,
    UMH_STEP_COUNT
};

#define UMH_FAIL(step, err) (-(int)(((unsigned)(step) << 12) | ((unsigned)(err) & 0xfffu)))
#define UMH_FAIL_STEP(code) ((-(code)) >> 12)
#define UMH_FAIL_ERRNO(code) ((-(code)) & 0xfff)
/* umh_reap's answer for a child that has not exited yet; distinct from every UMH_FAIL code */
#define UMH_RUNNING (-1)

/* umh_errors.c */
const char *umh_step_name(int step);
const char *umh_errno_name(int err);
/* "execveat failed: ENOEXEC (Exec format error)" into buf; returns buf */
char *umh_describe(int code, char *buf, size_t len);

/* umh_memfd.c: an empty executable memfd that allows sealing, named name (fd >= 0 or UMH_FAIL).
 * The kernel takes names of at most UMH_MEMFD_NAME_MAX bytes (NAME_MAX less "memfd:"). */
#define UMH_MEMFD_NAME_MAX 249
#define UMH_MEMFD_DEFAULT_NAME "umh-blob"
int umh_memfd_create(const char *name);
/* append all of data: short writes and EINTR handled (0 or UMH_FAIL) */
int umh_memfd_write(int fd, const void *data, size_t size);
/* seal: nobody can change the blob afterwards (0 or UMH_FAIL); the fd stays the caller's */
int umh_memfd_seal(int fd);
/* all three: for callers that have the bytes in C memory (fd or UMH_FAIL, nothing left behind);
 * the memfd is named UMH_MEMFD_DEFAULT_NAME */
int umh_memfd_load(const void *data, size_t size);
/* appends src, from its offset to its end, in the kernel where it can (copy_file_range, then
 * sendfile), else by read/write: the bytes copied, or UMH_FAIL */
long long umh_memfd_copy(int memfd, int src);
/* whether the memfd's first two bytes are "#!" */
int umh_memfd_is_script(int fd);
/* the file at path in a new sealed memfd named name: the fd, its size in *size (0 for an empty
 * file: the caller decides), or UMH_FAIL with nothing left open */
int umh_memfd_load_file(const char *path, const char *name, long long *size);

/* Fallbacks for old kernels: chosen on ENOSYS/EINVAL, or forced with these bits (the C tests
 * force each one so that it is exercised on new kernels too; -Dumh.pidfd=false forces
 * UMH_NO_PIDFD from Java). Set before any spawn; each spawn reads it once and hands the child
 * a copy (struct child). */
enum { UMH_NO_CLOSE_RANGE = 1, UMH_NO_EXECVEAT = 2, UMH_NO_PIDFD = 4,
       UMH_NO_PROC = 8, /* the child reads nothing from /proc: asks about each signal, closes by a loop */
       UMH_NO_CLONE3 = 16 /* clone, not clone3: the child resets caught signals itself (umh also stops
                           * trying clone3 once the kernel, a seccomp filter or an emulator refused it) */ };
extern int umh_fallbacks;
/* UMH_NO_* for the calls this kernel lacks, probed once at load: the JVM forces those fallbacks
 * and says which it uses */
int umh_missing_features(void);

/* umh_spawn.c */
enum {
    UMH_SPAWN_SCRIPT = 1,     /* the blob starts with "#!": its interpreter must be able to open it */
    UMH_SPAWN_PDEATHSIG = 2,  /* SIGKILL the child when the calling thread exits (PR_SET_PDEATHSIG) */
    UMH_SPAWN_NO_NEW_PRIVS = 4, /* PR_SET_NO_NEW_PRIVS */
    UMH_SPAWN_SETSID = 8,     /* a new session (setsid) */
    UMH_SPAWN_UMASK = 16,     /* set umask to req->umask */
    UMH_SPAWN_USER = 32,      /* drop supplementary groups, then setgid(req->gid), setuid(req->uid) */
    UMH_SPAWN_CGROUP = 64,    /* clone3 with CLONE_INTO_CGROUP of req->cgroup_fd; never plain clone */
};

/* Where one of the child's fds 0, 1, 2 comes from (struct umh_stdio's how). Zero, the default, is a pipe. */
enum {
    UMH_STDIO_PIPE = 0,       /* a new pipe; the parent's end comes back in umh_spawn_res */
    UMH_STDIO_INHERIT = 1,    /* the JVM's own fd of that number (none where the JVM has none) */
    UMH_STDIO_FD = 2,         /* fd: the caller's (a file opened for the spawn), copied onto it */
    UMH_STDIO_AS_STDOUT = 3,  /* fd 2 only: whatever fd 1 gets (2>&1) */
};
struct umh_stdio {
    int how;                  /* UMH_STDIO_* */
    int fd;                   /* with UMH_STDIO_FD */
};
/* An extra fd for the child: the caller's fd `source` becomes the child's fd `target`. */
struct umh_fd_pass {
    int target;               /* above 2; a request's targets ascend strictly */
    int source;               /* any fd of the caller's, its own target included */
};
enum { UMH_PASS_MAX = 64 };

struct umh_rlimit {
    int resource;             /* RLIMIT_* */
    unsigned long long soft, hard;
};
struct umh_spawn_req {
    int memfd;               /* the loaded blob */
    int flags;               /* UMH_SPAWN_* */
    char *const *argv;       /* NULL-terminated, argv[0] set */
    char *const *envp;       /* NULL-terminated */
    const char *dir;         /* NULL: the caller's working directory */
    struct umh_stdio stdio[3]; /* the child's fds 0, 1, 2 */
    const struct umh_fd_pass *pass; /* the child's fds above 2 (npass of them, at most UMH_PASS_MAX) */
    int npass;
    unsigned uid, gid, umask; /* with UMH_SPAWN_USER, UMH_SPAWN_UMASK */
    const struct umh_rlimit *rlimits; /* set in the child, in order */
    int nrlimits;
    int pipe_size;           /* > 0: F_SETPIPE_SZ on each new pipe (bytes; the kernel rounds up) */
    const struct umh_sandbox *sandbox; /* NULL: none */
    int cgroup_fd;           /* with UMH_SPAWN_CGROUP: a cgroup v2 directory (umh_cgroup_create) the
                              * child starts in; the caller's, open until the spawn returns */
};

/*
 * A sandbox for one child (io.umh.SandboxPolicy): namespaces made by the clone itself, an empty
 * root holding only the paths the policy names, no capabilities after the exec, no new
 * privileges, a Landlock ruleset and a seccomp filter, applied in that order by the child and
 * only to the child. The parent prepares all of it before the clone (umh_jni.c); the child only
 * reads it, with raw system calls.
 */
struct umh_bind {
    const char *source;      /* the host path, looked up by the child in its own mount namespace
                              * (a mount of another namespace cannot be bound: EINVAL) */
    const char *target;      /* where it goes: the host path under the new root's mount point */
    int is_dir;              /* the target to create is a directory (else an empty file) */
    int writable;            /* bound read-write; else read-only */
    int device;              /* one of the standard character devices (/dev/null...): bound without nodev */
};
struct umh_sandbox {
    unsigned long long ns_flags; /* CLONE_NEW*; CLONE_NEWUSER: the child writes the maps below */
    char uid_map[32], gid_map[32]; /* "U U 1": the caller's ids, each mapped to itself */
    size_t uid_map_len, gid_map_len;
    const char *root;        /* NULL, or the existing directory the new root's tmpfs is mounted on */
    const char *const *mkdirs; /* directories to create under root, parents first (NULL-terminated) */
    const struct umh_bind *binds;
    int nbinds;
    int no_caps;             /* lock the securebits (SECBIT_NOROOT...) and clear the ambient set:
                              * no capabilities after the exec, even as (namespaced) root */
    int landlock_fd;         /* -1, or a prepared Landlock ruleset the child restricts itself with */
    const void *filter;      /* NULL, or a seccomp program (struct sock_filter[filter_len]): with
                              * notify_sock, its default is USER_NOTIF, else KILL_PROCESS */
    unsigned short filter_len;
    const void *kill_filter; /* the same program with KILL_PROCESS, where a listener is refused */
    unsigned short kill_filter_len;
    int notify_sock;         /* -1, or the child's end of the socket that takes the listener over */
    int notify_recv;         /* the parent's end */
    int join_mnt_fd;         /* -1, or a mount namespace made once (its root ready) for the child to join */
    int join_net_fd;         /* -1, or a network namespace made once for the child to join */
    int join_ipc_fd;         /* -1, or an ipc namespace made once with it, for a child whose filter
                              * refuses every SysV and POSIX-mqueue call (nothing there can tell it
                              * from one of its own) */
    int join_user_fd;        /* -1, or a user namespace made once (an unprivileged JVM's): the child
                              * joins it first, then the mount and network namespaces, and clones the
                              * helper from there with ns_flags (umh_child_relay, umh_child.c) */
    int join_owned;          /* bit 0: join_mnt_fd, bit 1: join_net_fd, bit 2: join_user_fd, bit 3: join_ipc_fd is this spawn's copy above
                              * fd_floor (umh_sandbox_prepare), which release closes */
    void *mem;               /* the parent's: what umh_sandbox_release frees */
};

/* umh_sandbox.c: the policy as Java flattens it (io.umh.SandboxPolicy; io.umh.Abi's SBX_*) */
enum { UMH_SBX_BIND_DIR = 1, UMH_SBX_BIND_WRITABLE = 2, UMH_SBX_BIND_DEVICE = 4, UMH_SBX_MAX_BINDS = 64 };
struct umh_sandbox_spec {
    unsigned long long ns_flags;
    int new_root, no_caps, network, landlock, seccomp, notify;
    int memfd;               /* the blob's: the one exec the seccomp filter allows (above fd_floor) */
    int fd_floor;            /* umh_fd_floor of the spawn: the sandbox's own fds go above it */
    int join_mnt_fd, join_net_fd, join_user_fd, join_ipc_fd; /* -1, or namespaces from umh_sandbox_namespaces to join (> 2;
                              * at or below fd_floor, prepare joins through copies above it) */
    const int *syscalls;     /* the calls the filter allows, by this CPU's numbers */
    int nsyscalls;
    int nmkdirs, nbinds;
    const int *bind_flags;   /* nbinds words of UMH_SBX_BIND_* */
    const char *paths;       /* root, nmkdirs directories, then each bind's host path and target */
    size_t paths_len;
};
/* Prepares s for a spawn: 0, or UMH_FAIL with nothing left open. Release it after the spawn. */
int umh_sandbox_prepare(const struct umh_sandbox_spec *spec, struct umh_sandbox *s);
/* After a spawn that succeeded: the seccomp listener the child sent (close-on-exec, the caller's),
 * or -1 where there is none (no notify, or an outer listener made the child take the kill). */
int umh_sandbox_listener(struct umh_sandbox *s);

void umh_sandbox_release(struct umh_sandbox *s);

/* Makes, once, the namespaces spawns join (struct umh_sandbox's join_*_fd) instead of making
 * their own: with spec->new_root, the mount namespace of its root (its tmpfs, directories and
 * binds, as a child would make them), inside spec->join_user_fd's user namespace if there is one;
 * without, unless spec->network, an empty network namespace and an ipc namespace, and with
 * CLONE_NEWUSER in spec->ns_flags a user namespace (the caller's ids mapped to themselves) owning
 * them. A short-lived clone does it and exits; the nsfs fds (close-on-exec, the caller's) keep them
 * alive. 0 and fds[0] (mount), fds[1] (network), fds[2] (user), fds[3] (ipc), each -1 if not made;
 * or UMH_FAIL with nothing left open or running. */
int umh_sandbox_namespaces(const struct umh_sandbox_spec *spec, int fds[4]);

struct umh_spawn_res {
    int stdin_w;             /* parent's end of the child's fd 0, or -1 (not UMH_STDIO_PIPE) */
    int stdout_r;            /* parent's end of the child's fd 1, or -1 */
    int stderr_r;            /* parent's end of the child's fd 2, or -1 */
    int pid;
    int pidfd;               /* -1 where the kernel has no pidfds */
};
/* 0 on success (every res fd is the caller's), UMH_FAIL on failure (nothing left behind) */
int umh_spawn(const struct umh_spawn_req *req, struct umh_spawn_res *res);

/* umh_spawner.c: the long-lived threads that clone the children that must die with the process
 * (UMH_SPAWN_PDEATHSIG), a pool that grows and never shrinks; see there. */
struct umh_handoff {
    /* On a spawner thread: makes the clone (>= 0) or fails (UMH_FAIL, no child made). With
     * clear_on_exec (&word), the clone has CLONE_CHILD_CLEARTID on it and h is not the spawner's
     * after a success; with NULL, the spawner completes h after run() returns. */
    int (*run)(struct umh_handoff *h, _Atomic int *clear_on_exec);
    void *arg;
    _Atomic int word;         /* 1 while the caller waits; 0 once the child exec'd or exited */
    int rc;                   /* run()'s failure, else 0 */
    unsigned long long queued_ns; /* CLOCK_MONOTONIC when it was queued (the spawners' counters) */
    struct umh_handoff *next; /* the spawners' queue */
};
/* The caller: queues h and sleeps until its clone is made and the child exec'd or exited (0) or
 * the clone failed (UMH_FAIL). Needs a thread in umh_spawner_serve(), or the spawners retired:
 * then the caller makes its own clone itself (never another caller's). */
int umh_handoff(struct umh_handoff *h);
/* A spawner thread's life: joins the pool, serves hand-offs, and returns only once the spawners
 * are retired (umh_spawners_retire) and nothing is queued. grow(ctx) is called on this thread,
 * between two hand-offs, when a hand-off was queued while every spawner was busy: it starts one
 * more thread in umh_spawner_serve, or none where the pool is complete (then no spawner calls it
 * again). NULL: this spawner never grows the pool. */
void umh_spawner_serve(void (*grow)(void *ctx), void *ctx);
/* At the process's exit: every spawner leaves umh_spawner_serve once nothing is queued, and from
 * here on each umh_handoff makes its clone on its caller's thread (whose exit then sends the
 * child's PR_SET_PDEATHSIG). A JVM waits up to ~300 ms at exit for threads that are in native
 * code: a spawner must not be one of them then. For good: there is no way back. */
void umh_spawners_retire(void);
/* umh_spawner_serve(NULL, NULL) as a pthread start routine, for C programs (the tests, the
 * floor) that start spawners themselves: pthread_create(&t, NULL, umh_spawner_thread, NULL). */
void *umh_spawner_thread(void *unused);
/* Spawners counted in umh_spawner_stats, by the order they joined; the pool may hold more. */
#define UMH_SPAWNERS_MAX 256
/* One spawner's counters since it joined. */
struct umh_spawner_stats {
    unsigned long long spawns;    /* hand-offs it served */
    unsigned long long clone_ns;  /* time in their clones: suspended in vfork until each child's exec */
    unsigned long long queued_ns; /* their time queued, from umh_handoff to this spawner taking them */
};
/* The first max spawners' counters into out, in the order they joined; returns how many have joined. */
int umh_spawner_stats(struct umh_spawner_stats *out, int max);

/* umh_clone3.c: the kernel's struct clone_args as of 5.7 (CLONE_ARGS_SIZE_VER2, 88 bytes; umh
 * passes the 64 bytes of 5.3, VER0, unless it asks for a cgroup), and clone3 with a function the
 * child runs on args->stack and never returns from: the child's pid, or -errno (then no child
 * was made). -ENOSYS on CPUs without the trampoline (all but x86_64). */
struct umh_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup; /* 5.5, 5.7 */
};
#define UMH_CLONE_ARGS_SIZE_VER0 64
#define UMH_CLONE_ARGS_SIZE_CGROUP 88
long umh_clone3(struct umh_clone_args *args, size_t size, int (*fn)(void *), void *arg);

/* umh_probe.c: the sandbox's steps tried once, for real, by a short-lived child (0 or UMH_FAIL
 * naming the step that failed): a clone with these CLONE_NEW* flags (with CLONE_NEWUSER, the id
 * maps written as the sandbox writes them; with root and CLONE_NEWNS, / made private as the root's
 * first mount); a seccomp filter with a listener; clone3 itself. */
int umh_probe_namespaces(unsigned long ns_flags, int root);
int umh_probe_listener(void);
int umh_probe_clone3(void);

/* umh_cgroup.c: the helper's cgroup v2, made before the clone (see there) */
/* mkdir name under the directory parent, then open it O_PATH: the fd, or UMH_FAIL with nothing made */
int umh_cgroup_create(const char *parent, const char *name);
/* one write of value into the cgroup's file (memory.max...): 0, or UMH_FAIL (open's ENOENT: the
 * controller is not enabled for it) */
int umh_cgroup_write(int cgroup_fd, const char *file, const char *value);
/* whether clone3 knows CLONE_INTO_CGROUP here: 0, or clone3's UMH_FAIL (ENOSYS, EINVAL, E2BIG) */
int umh_cgroup_probe(void);

/* open a file for a redirect of the child's fd 0, 1 or 2, or a passed fd: close-on-exec, and
 * UMH_OPEN_READ: O_RDONLY; UMH_OPEN_TRUNCATE, UMH_OPEN_APPEND: O_WRONLY|O_CREAT and O_TRUNC or
 * O_APPEND, mode 0666 (fd or UMH_FAIL) */
enum { UMH_OPEN_READ = 0, UMH_OPEN_TRUNCATE = 1, UMH_OPEN_APPEND = 2 };
int umh_open_redirect(const char *path, int how);
/* The highest fd number the child's fd plan writes (its highest passed target, at least 2): every
 * fd the child must keep through its plan (the memfd, a sandbox's socket and ruleset) goes above. */
int umh_fd_floor(const struct umh_spawn_req *req);
/* A close-on-exec duplicate of fd above floor, or UMH_FAIL(UMH_DUP). */
int umh_dup_above(int fd, int floor);
/* Moves *fd above floor (a duplicate replaces it, the original closed) unless it is there: 0 or UMH_FAIL. */
int umh_move_above(int *fd, int floor);

/* umh_reap.c */
int umh_reap(int pidfd, int pid, int block);  /* status (code, or 128+signal), UMH_RUNNING, UMH_FAIL */
int umh_wait_exited(int pid);                 /* block until pid exits, without reaping it */
int umh_signal(int pidfd, int pid, int sig);
int umh_pidfd_open(int pid);
int umh_epoll_create(void);
int umh_epoll_ctl(int epfd, int add, int fd);
/* Ready fds (at most max, 64) into fds, waiting up to timeout_ms (-1: no limit): how many (0 at the
 * timeout), or UMH_FAIL. */
int umh_epoll_wait(int epfd, int *fds, int max, int timeout_ms);
/* A close-on-exec eventfd that is readable from the start (a count of 1), or UMH_FAIL(UMH_EVENTFD). */
int umh_eventfd_ready(void);
int umh_close(int fd);
/* A close-on-exec duplicate of fd (3 or above), or UMH_FAIL. */
int umh_dup(int fd);
/* Waits up to timeout_ms for fd to be readable: 1 if it is (or has an error), 0 if not (or
 * EINTR), or UMH_FAIL. */
int umh_poll_in(int fd, int timeout_ms);

#endif
