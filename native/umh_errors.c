/* Names for steps and errnos: the one place failure codes become words. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "umh.h"

/* Each name is the call that failed, as strace would show it: one step per call. UsermodeProcess
 * matches "chdir" and "fcntl(F_SETPIPE_SZ)" to add the option concerned to the message. */
static const char *const step_names[UMH_STEP_COUNT] = {
    [UMH_STEP_NONE] = "unknown",
    [UMH_MEMFD_CREATE] = "memfd_create",
    [UMH_WRITE] = "write",
    [UMH_ADD_SEALS] = "fcntl(F_ADD_SEALS)",
    [UMH_PIPE2] = "pipe2",
    [UMH_CLONE] = "clone",
    [UMH_PIDFD_OPEN] = "pidfd_open",
    [UMH_MALLOC] = "malloc",
    [UMH_CHILD_SIGACTION] = "rt_sigaction",
    [UMH_CHILD_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
    [UMH_CHILD_MOVE_FD] = "fcntl(F_DUPFD_CLOEXEC)",
    [UMH_CHILD_DUP3] = "dup3",
    [UMH_CHILD_SETSID] = "setsid",
    [UMH_CHILD_SETRLIMIT] = "prlimit64",
    [UMH_CHILD_SETGROUPS] = "setgroups",
    [UMH_CHILD_SETGID] = "setresgid",
    [UMH_CHILD_SETUID] = "setresuid",
    [UMH_CHILD_NO_NEW_PRIVS] = "prctl(PR_SET_NO_NEW_PRIVS)",
    [UMH_CHILD_CLOSE_FDS] = "close_range", /* its fallbacks (a /proc walk, a loop) never fail */
    [UMH_CHILD_CLEAR_CLOEXEC] = "fcntl(F_SETFD)",
    [UMH_CHILD_CHDIR] = "chdir",
    [UMH_CHILD_EXECVEAT] = "execveat",
    [UMH_OPEN] = "open",
    [UMH_WAITID] = "waitid",
    [UMH_EPOLL_CREATE] = "epoll_create1",
    [UMH_EPOLL_CTL] = "epoll_ctl",
    [UMH_EPOLL_WAIT] = "epoll_wait",
    [UMH_SIGNAL] = "pidfd_send_signal",
    [UMH_CLOSE] = "close",
    [UMH_DUP] = "fcntl(F_DUPFD_CLOEXEC)",
    [UMH_POLL] = "poll",
    [UMH_SETPIPE_SZ] = "fcntl(F_SETPIPE_SZ)",
    [UMH_CLONE3] = "clone3",
    [UMH_CHILD_SIGPROCMASK] = "rt_sigprocmask",
    [UMH_CHILD_EXECVE] = "execve",
    [UMH_KILL] = "kill",
    [UMH_GET_CRITICAL] = "GetPrimitiveArrayCritical",
    [UMH_CHILD_SETGROUPS_DENY] = "write(/proc/self/setgroups)",
    [UMH_CHILD_UID_MAP] = "write(/proc/self/uid_map)",
    [UMH_CHILD_GID_MAP] = "write(/proc/self/gid_map)",
    [UMH_CHILD_MOUNT_PRIVATE] = "mount(/, MS_REC|MS_PRIVATE)",
    [UMH_CHILD_MOUNT_TMPFS] = "mount(tmpfs)",
    [UMH_CHILD_MKDIR] = "mkdirat",
    [UMH_CHILD_MOUNT_TARGET] = "openat(O_CREAT)",
    [UMH_CHILD_MOUNT_BIND] = "mount(MS_BIND)",
    [UMH_CHILD_MOUNT_SETATTR] = "mount_setattr",
    [UMH_CHILD_PIVOT_ROOT] = "pivot_root",
    [UMH_CHILD_UMOUNT] = "umount2",
    [UMH_CHILD_SECUREBITS] = "prctl(PR_SET_SECUREBITS)",
    [UMH_CHILD_CAP_AMBIENT] = "prctl(PR_CAP_AMBIENT_CLEAR_ALL)",
    [UMH_CHILD_LANDLOCK] = "landlock_restrict_self",
    [UMH_CHILD_SECCOMP] = "seccomp(SECCOMP_SET_MODE_FILTER)",
    [UMH_SANDBOX_OPEN] = "sandbox spec",
    [UMH_LANDLOCK_ABI] = "landlock_create_ruleset(LANDLOCK_CREATE_RULESET_VERSION)",
    [UMH_LANDLOCK_SPEC] = "landlock spec",
    [UMH_LANDLOCK_CREATE_RULESET] = "landlock_create_ruleset",
    [UMH_LANDLOCK_OPEN_PATH] = "open(O_PATH)",
    [UMH_LANDLOCK_STATX] = "statx",
    [UMH_LANDLOCK_ADD_RULE] = "landlock_add_rule",
    [UMH_SECCOMP_BUILD] = "seccomp filter",
    [UMH_SECCOMP_GROUP] = "seccomp group",
    [UMH_SECCOMP_ACTION_AVAIL] = "seccomp(SECCOMP_GET_ACTION_AVAIL)",
    [UMH_SECCOMP_NOTIF_SIZES] = "seccomp(SECCOMP_GET_NOTIF_SIZES)",
    [UMH_SECCOMP_NOTIF_RECV] = "ioctl(SECCOMP_IOCTL_NOTIF_RECV)",
    [UMH_CHILD_SECCOMP_LISTENER] = "sendmsg(SCM_RIGHTS)",
    [UMH_SANDBOX_SOCKETPAIR] = "socketpair",
    [UMH_CHILD_SETNS] = "setns",
    [UMH_SANDBOX_NAMESPACES] = "the namespaces' clone",
    [UMH_CGROUP_MKDIR] = "mkdir(cgroup)",
    [UMH_STATX] = "statx",
    [UMH_COPY_FILE_RANGE] = "copy_file_range",
    [UMH_SENDFILE] = "sendfile",
    [UMH_READ] = "read",
    [UMH_EVENTFD] = "eventfd",
};

const char *umh_step_name(int step)
{
    return step > 0 && step < UMH_STEP_COUNT ? step_names[step] : step_names[UMH_STEP_NONE];
}

/* Our own table (not strerrorname_np): it must exist on every glibc the jar runs on. */
#define UMH_ERRNOS(X) \
    X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG) X(ENOEXEC) X(EBADF) \
    X(ECHILD) X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT) X(EBUSY) X(EEXIST) X(ENODEV) \
    X(ENOTDIR) X(EISDIR) X(EINVAL) X(ENFILE) X(EMFILE) X(ETXTBSY) X(EFBIG) X(ENOSPC) \
    X(ESPIPE) X(EROFS) X(EMLINK) X(EPIPE) X(ERANGE) X(ENAMETOOLONG) X(ENOSYS) X(ELOOP) \
    X(ELIBBAD) X(EOVERFLOW) X(EOPNOTSUPP) X(ETIMEDOUT) X(EDQUOT) X(ECANCELED)

#define UMH_ERRNO_CASE(e) case e: return #e;

const char *umh_errno_name(int err)
{
    switch (err) {
        UMH_ERRNOS(UMH_ERRNO_CASE)
    default:
        return NULL;
    }
}

char *umh_describe(int code, char *buf, size_t len)
{
    int err = UMH_FAIL_ERRNO(code);
    const char *name = umh_errno_name(err);
    char num[24];
    if (name == NULL) {
        snprintf(num, sizeof num, "errno %d", err);
        name = num;
    }
    int step = UMH_FAIL_STEP(code);
    const char *hint = "";
    if (step == UMH_MEMFD_CREATE && err == EACCES)
        hint = "; executable memfds are refused by sysctl vm.memfd_noexec=2";
    else if (step == UMH_SETPIPE_SZ && err == EPERM)
        hint = "; above /proc/sys/fs/pipe-max-size it needs CAP_SYS_RESOURCE";
    snprintf(buf, len, "%s failed: %s (%s)%s", umh_step_name(step), name, strerror(err), hint);
    return buf;
}
