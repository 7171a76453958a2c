package io.umh;

/**
 * Which call failed: the step of a failure code {@code -(step << 12 | errno)}, as C's
 * {@code enum umh_step} numbers it (each number is an {@link Abi} constant that umh_jni.c asserts
 * against umh.h; {@code StepTest} checks that every one has its constant here). Its display name,
 * the call as strace shows it, comes from C with the message ({@link Native#error}).
 */
enum Step {
    NONE(Abi.STEP_NONE),
    MEMFD_CREATE(Abi.STEP_MEMFD_CREATE),
    WRITE(Abi.STEP_WRITE),
    ADD_SEALS(Abi.STEP_ADD_SEALS),
    PIPE2(Abi.STEP_PIPE2),
    CLONE(Abi.STEP_CLONE),
    PIDFD_OPEN(Abi.STEP_PIDFD_OPEN),
    MALLOC(Abi.STEP_MALLOC),
    CHILD_SIGACTION(Abi.STEP_CHILD_SIGACTION),
    CHILD_PDEATHSIG(Abi.STEP_CHILD_PDEATHSIG),
    CHILD_MOVE_FD(Abi.STEP_CHILD_MOVE_FD),
    CHILD_DUP3(Abi.STEP_CHILD_DUP3),
    CHILD_SETSID(Abi.STEP_CHILD_SETSID),
    CHILD_SETRLIMIT(Abi.STEP_CHILD_SETRLIMIT),
    CHILD_SETGROUPS(Abi.STEP_CHILD_SETGROUPS),
    CHILD_SETGID(Abi.STEP_CHILD_SETGID),
    CHILD_SETUID(Abi.STEP_CHILD_SETUID),
    CHILD_NO_NEW_PRIVS(Abi.STEP_CHILD_NO_NEW_PRIVS),
    CHILD_CLOSE_FDS(Abi.STEP_CHILD_CLOSE_FDS),
    CHILD_CLEAR_CLOEXEC(Abi.STEP_CHILD_CLEAR_CLOEXEC),
    CHILD_CHDIR(Abi.STEP_CHILD_CHDIR),
    CHILD_EXECVEAT(Abi.STEP_CHILD_EXECVEAT),
    OPEN(Abi.STEP_OPEN),
    WAITID(Abi.STEP_WAITID),
    EPOLL_CREATE(Abi.STEP_EPOLL_CREATE),
    EPOLL_CTL(Abi.STEP_EPOLL_CTL),
    EPOLL_WAIT(Abi.STEP_EPOLL_WAIT),
    SIGNAL(Abi.STEP_SIGNAL),
    CLOSE(Abi.STEP_CLOSE),
    SETPIPE_SZ(Abi.STEP_SETPIPE_SZ),
    DUP(Abi.STEP_DUP),
    POLL(Abi.STEP_POLL),
    CLONE3(Abi.STEP_CLONE3),
    CHILD_SIGPROCMASK(Abi.STEP_CHILD_SIGPROCMASK),
    CHILD_EXECVE(Abi.STEP_CHILD_EXECVE),
    KILL(Abi.STEP_KILL),
    GET_CRITICAL(Abi.STEP_GET_CRITICAL),
    CHILD_SETGROUPS_DENY(Abi.STEP_CHILD_SETGROUPS_DENY),
    CHILD_UID_MAP(Abi.STEP_CHILD_UID_MAP),
    CHILD_GID_MAP(Abi.STEP_CHILD_GID_MAP),
    CHILD_MOUNT_PRIVATE(Abi.STEP_CHILD_MOUNT_PRIVATE),
    CHILD_MOUNT_TMPFS(Abi.STEP_CHILD_MOUNT_TMPFS),
    CHILD_MKDIR(Abi.STEP_CHILD_MKDIR),
    CHILD_MOUNT_TARGET(Abi.STEP_CHILD_MOUNT_TARGET),
    CHILD_MOUNT_BIND(Abi.STEP_CHILD_MOUNT_BIND),
    CHILD_MOUNT_SETATTR(Abi.STEP_CHILD_MOUNT_SETATTR),
    CHILD_PIVOT_ROOT(Abi.STEP_CHILD_PIVOT_ROOT),
    CHILD_UMOUNT(Abi.STEP_CHILD_UMOUNT),
    CHILD_SECUREBITS(Abi.STEP_CHILD_SECUREBITS),
    CHILD_CAP_AMBIENT(Abi.STEP_CHILD_CAP_AMBIENT),
    CHILD_LANDLOCK(Abi.STEP_CHILD_LANDLOCK),
    CHILD_SECCOMP(Abi.STEP_CHILD_SECCOMP),
    SANDBOX_OPEN(Abi.STEP_SANDBOX_OPEN);

    private static final Step[] BY_CODE = new Step[Abi.STEP_COUNT];

    static {
        for (Step s : values()) {
            BY_CODE[s.code] = s;
        }
    }

    final int code;

    Step(int code) {
        this.code = code;
    }

    /** The step numbered {@code code}; {@link #NONE} for a number C does not have. */
    static Step of(int code) {
        return code >= 0 && code < BY_CODE.length && BY_CODE[code] != null ? BY_CODE[code] : NONE;
    }
}
