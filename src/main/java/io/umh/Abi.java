package io.umh;

import java.lang.annotation.Native;

/**
 * Every number Java and C must agree on, in one place: {@code javac -h} writes each into
 * {@code io_umh_Abi.h} as {@code io_umh_Abi_NAME}, and umh_jni.c asserts each against the C side
 * (umh.h, or the kernel's own headers) with {@code _Static_assert}. A renumbering on either side
 * fails the build instead of silently misassigning. Nothing crosses JNI as a positional array
 * whose layout is not named here.
 */
final class Abi {
    private Abi() {}

    // ---- signals, the kernel's numbers (asserted against <signal.h>)
    @Native static final int SIGTERM = 15;
    @Native static final int SIGKILL = 9;
    @Native static final int SIGHUP = 1;
    @Native static final int SIGINT = 2;
    @Native static final int SIGQUIT = 3;
    @Native static final int SIGUSR1 = 10;
    @Native static final int SIGUSR2 = 12;
    @Native static final int SIGPIPE = 13;
    @Native static final int SIGALRM = 14;
    @Native static final int SIGCONT = 18;
    @Native static final int SIGSTOP = 19;
    @Native static final int SIGTSTP = 20;
    @Native static final int SIGWINCH = 28;
    /** The highest signal number (SIGRTMAX as the kernel counts, _NSIG - 1). */
    @Native static final int SIGMAX = 64;

    // ---- errnos Java acts on, the kernel's numbers (asserted against <errno.h>)
    @Native static final int EPERM = 1;
    @Native static final int EACCES = 13;
    @Native static final int EEXIST = 17;

    /** Native.reap without blocking: the child has not exited (umh.h UMH_RUNNING; no failure code is -1). */
    @Native static final int RUNNING = -1;

    // ---- Native.spawn flags (umh.h UMH_SPAWN_*)
    @Native static final int SPAWN_SCRIPT = 1;
    @Native static final int SPAWN_PDEATHSIG = 2;
    @Native static final int SPAWN_NO_NEW_PRIVS = 4;
    @Native static final int SPAWN_SETSID = 8;
    @Native static final int SPAWN_UMASK = 16;
    @Native static final int SPAWN_USER = 32;
    @Native static final int SPAWN_CGROUP = 64;

    // ---- the spawner pool (umh.h UMH_SPAWNERS_MAX: the most -Dumh.spawners may be), and
    // Native.spawnerStats's long[] out: SPAWNER_FIELDS per spawner (struct umh_spawner_stats)
    @Native static final int SPAWNERS_MAX = 256;
    @Native static final int SPAWNER_SPAWNS = 0;
    @Native static final int SPAWNER_CLONE_NS = 1;
    @Native static final int SPAWNER_QUEUED_NS = 2;
    @Native static final int SPAWNER_FIELDS = 3;

    // ---- fallbacks for calls a kernel lacks (umh.h UMH_NO_*), as Native.missingFeatures reports them
    @Native static final int NO_CLOSE_RANGE = 1;
    @Native static final int NO_EXECVEAT = 2;
    @Native static final int NO_PIDFD = 4;
    @Native static final int NO_CLONE3 = 16;

    // ---- loading: the longest memfd name the kernel takes (umh.h UMH_MEMFD_NAME_MAX), and
    // Native.loadFile's long[] out
    @Native static final int MEMFD_NAME_MAX = 249;
    @Native static final int LOADED_SIZE = 0;
    @Native static final int LOADED_SCRIPT = 1;
    @Native static final int LOADED_LENGTH = 2;

    // ---- Native.spawn's int[] ids: who the child runs as, and its pipes
    @Native static final int IDS_UID = 0;
    @Native static final int IDS_GID = 1;
    @Native static final int IDS_UMASK = 2;
    @Native static final int IDS_PIPE_SIZE = 3;
    @Native static final int IDS_CGROUP_FD = 4; // with SPAWN_CGROUP: the helper's cgroup (Cgroup)
    @Native static final int IDS_LENGTH = 5;

    // ---- Native.spawn's long[] rlimits: RLIMITS_MAX triples {resource, soft, hard} at most
    @Native static final int RLIMIT_RESOURCE = 0;
    @Native static final int RLIMIT_SOFT = 1;
    @Native static final int RLIMIT_HARD = 2;
    @Native static final int RLIMIT_FIELDS = 3;
    @Native static final int RLIMITS_MAX = 16;

    // ---- Native.spawn's int[] fds: {how, fd} for each of the child's fds 0, 1, 2 (umh.h struct
    // umh_stdio), then {target, source} per passed fd (struct umh_fd_pass), targets ascending
    @Native static final int STDIO_PIPE = 0;      // a new pipe
    @Native static final int STDIO_INHERIT = 1;   // the JVM's own
    @Native static final int STDIO_FD = 2;        // fd: a file opened for the spawn
    @Native static final int STDIO_AS_STDOUT = 3; // fd 2 only: whatever fd 1 gets
    @Native static final int FDS_HOW = 0;
    @Native static final int FDS_FD = 1;
    @Native static final int FDS_FIELDS = 2;
    @Native static final int FDS_PASSED = 6;
    @Native static final int PASS_TARGET = 0;
    @Native static final int PASS_SOURCE = 1;
    @Native static final int PASS_FIELDS = 2;
    @Native static final int PASS_MAX = 64;

    // ---- Native.openRedirect's how (umh.h UMH_OPEN_*)
    @Native static final int OPEN_READ = 0;
    @Native static final int OPEN_TRUNCATE = 1;
    @Native static final int OPEN_APPEND = 2;

    // ---- Native.spawn's int[] out: the new child's fds and ids
    @Native static final int OUT_STDIN_W = 0;
    @Native static final int OUT_STDOUT_R = 1;
    @Native static final int OUT_STDERR_R = 2;
    @Native static final int OUT_PID = 3;
    @Native static final int OUT_PIDFD = 4;
    @Native static final int OUT_LISTENER = 5;
    @Native static final int OUT_LENGTH = 6;

    // ---- RLIMIT_* resources, Linux's numbers on x86_64 and aarch64 (asserted against <sys/resource.h>)
    @Native static final int RLIMIT_CPU = 0;
    @Native static final int RLIMIT_FSIZE = 1;
    @Native static final int RLIMIT_DATA = 2;
    @Native static final int RLIMIT_STACK = 3;
    @Native static final int RLIMIT_CORE = 4;
    @Native static final int RLIMIT_NPROC = 6;
    @Native static final int RLIMIT_NOFILE = 7;
    @Native static final int RLIMIT_MEMLOCK = 8;
    @Native static final int RLIMIT_AS = 9;

    // ---- failure steps (umh.h enum umh_step): which call failed, the high bits of a failure code
    @Native static final int STEP_NONE = 0;
    @Native static final int STEP_MEMFD_CREATE = 1;
    @Native static final int STEP_WRITE = 2;
    @Native static final int STEP_ADD_SEALS = 3;
    @Native static final int STEP_PIPE2 = 4;
    @Native static final int STEP_CLONE = 5;
    @Native static final int STEP_PIDFD_OPEN = 6;
    @Native static final int STEP_MALLOC = 7;
    @Native static final int STEP_CHILD_SIGACTION = 8;
    @Native static final int STEP_CHILD_PDEATHSIG = 9;
    @Native static final int STEP_CHILD_MOVE_FD = 10;
    @Native static final int STEP_CHILD_DUP3 = 11;
    @Native static final int STEP_CHILD_SETSID = 12;
    @Native static final int STEP_CHILD_SETRLIMIT = 13;
    @Native static final int STEP_CHILD_SETGROUPS = 14;
    @Native static final int STEP_CHILD_SETGID = 15;
    @Native static final int STEP_CHILD_SETUID = 16;
    @Native static final int STEP_CHILD_NO_NEW_PRIVS = 17;
    @Native static final int STEP_CHILD_CLOSE_FDS = 18;
    @Native static final int STEP_CHILD_CLEAR_CLOEXEC = 19;
    @Native static final int STEP_CHILD_CHDIR = 20;
    @Native static final int STEP_CHILD_EXECVEAT = 21;
    @Native static final int STEP_OPEN = 22;
    @Native static final int STEP_WAITID = 23;
    @Native static final int STEP_EPOLL_CREATE = 24;
    @Native static final int STEP_EPOLL_CTL = 25;
    @Native static final int STEP_EPOLL_WAIT = 26;
    @Native static final int STEP_SIGNAL = 27;
    @Native static final int STEP_CLOSE = 28;
    @Native static final int STEP_SETPIPE_SZ = 29;
    @Native static final int STEP_DUP = 30;
    @Native static final int STEP_POLL = 31;
    @Native static final int STEP_CLONE3 = 32;
    @Native static final int STEP_CHILD_SIGPROCMASK = 33;
    @Native static final int STEP_CHILD_EXECVE = 34;
    @Native static final int STEP_KILL = 35;
    @Native static final int STEP_GET_CRITICAL = 36;
    @Native static final int STEP_CHILD_SETGROUPS_DENY = 37;
    @Native static final int STEP_CHILD_UID_MAP = 38;
    @Native static final int STEP_CHILD_GID_MAP = 39;
    @Native static final int STEP_CHILD_MOUNT_PRIVATE = 40;
    @Native static final int STEP_CHILD_MOUNT_TMPFS = 41;
    @Native static final int STEP_CHILD_MKDIR = 42;
    @Native static final int STEP_CHILD_MOUNT_TARGET = 43;
    @Native static final int STEP_CHILD_MOUNT_BIND = 44;
    @Native static final int STEP_CHILD_MOUNT_SETATTR = 45;
    @Native static final int STEP_CHILD_PIVOT_ROOT = 46;
    @Native static final int STEP_CHILD_UMOUNT = 47;
    @Native static final int STEP_CHILD_SECUREBITS = 48;
    @Native static final int STEP_CHILD_CAP_AMBIENT = 49;
    @Native static final int STEP_CHILD_LANDLOCK = 50;
    @Native static final int STEP_CHILD_SECCOMP = 51;
    @Native static final int STEP_SANDBOX_OPEN = 52;
    @Native static final int STEP_LANDLOCK_ABI = 53;
    @Native static final int STEP_LANDLOCK_SPEC = 54;
    @Native static final int STEP_LANDLOCK_CREATE_RULESET = 55;
    @Native static final int STEP_LANDLOCK_OPEN_PATH = 56;
    @Native static final int STEP_LANDLOCK_STATX = 57;
    @Native static final int STEP_LANDLOCK_ADD_RULE = 58;
    @Native static final int STEP_SECCOMP_BUILD = 59;
    @Native static final int STEP_SECCOMP_GROUP = 60;
    @Native static final int STEP_SECCOMP_ACTION_AVAIL = 61;
    @Native static final int STEP_SECCOMP_NOTIF_SIZES = 62;
    @Native static final int STEP_SECCOMP_NOTIF_RECV = 63;
    @Native static final int STEP_CHILD_SECCOMP_LISTENER = 64;
    @Native static final int STEP_SANDBOX_SOCKETPAIR = 65;
    @Native static final int STEP_CHILD_SETNS = 66;
    @Native static final int STEP_SANDBOX_NAMESPACES = 67;
    @Native static final int STEP_CGROUP_MKDIR = 68;
    @Native static final int STEP_STATX = 69;
    @Native static final int STEP_COPY_FILE_RANGE = 70;
    @Native static final int STEP_SENDFILE = 71;
    @Native static final int STEP_READ = 72;
    @Native static final int STEP_EVENTFD = 73;
    @Native static final int STEP_COUNT = 74;

    // ---- Native.spawn's int[] sandbox header (then one SBX_BIND_* word per bind, then the allowed
    // calls' numbers), and the namespaces
    @Native static final int SBX_NS_FLAGS = 0;
    @Native static final int SBX_NEW_ROOT = 1;
    @Native static final int SBX_NO_CAPS = 2;
    @Native static final int SBX_MKDIRS = 3;
    @Native static final int SBX_BINDS = 4;
    @Native static final int SBX_NETWORK = 5;
    @Native static final int SBX_LANDLOCK = 6;
    @Native static final int SBX_SECCOMP = 7;
    @Native static final int SBX_SYSCALLS = 8;
    @Native static final int SBX_NOTIFY = 9;
    @Native static final int SBX_JOIN_MNT = 10;
    @Native static final int SBX_JOIN_NET = 11;
    @Native static final int SBX_JOIN_USER = 12;
    @Native static final int SBX_JOIN_IPC = 13;
    @Native static final int SBX_HEADER = 14;
    @Native static final int SBX_MAX_BINDS = 64;
    @Native static final int SBX_BIND_DIR = 1;
    @Native static final int SBX_BIND_WRITABLE = 2;
    @Native static final int SBX_BIND_DEVICE = 4;
    @Native static final int CLONE_NEWNS = 0x00020000;
    @Native static final int CLONE_NEWUTS = 0x04000000;
    @Native static final int CLONE_NEWIPC = 0x08000000;
    @Native static final int CLONE_NEWUSER = 0x10000000;
    @Native static final int CLONE_NEWPID = 0x20000000;
    @Native static final int CLONE_NEWNET = 0x40000000;

    // ---- errnos a failed exec is explained for (ExecFailure; asserted against <errno.h>)
    @Native static final int ENOENT = 2;
    @Native static final int E2BIG = 7;
    @Native static final int ENOEXEC = 8;
}
