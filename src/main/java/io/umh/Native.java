package io.umh;

import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.System.Logger.Level;

/**
 * The JNI surface: one native per system-level operation, each returning a value or a failure code
 * {@code -(step << 12 | errno)}. Exceptions are built here, in {@link #error}, and nowhere else.
 */
final class Native {
    private static final System.Logger LOG = System.getLogger("io.umh");
    private static final Throwable LOAD_FAILURE;
    static final int SIGTERM;
    static final int SIGKILL;
    /** {@link #reap} with {@code block == false}: the child has not exited yet. */
    static final int RUNNING;
    /** {@link #spawn} flags. */
    static final int SPAWN_SCRIPT;
    static final int SPAWN_PDEATHSIG;
    static final int SPAWN_NO_NEW_PRIVS;
    static final int SPAWN_SETSID;
    static final int SPAWN_UMASK;
    static final int SPAWN_USER;

    static {
        Throwable failure = null;
        int[] c = new int[12]; // only read if the shim loaded: every entry point calls ensureLoaded() first
        try {
            NativeLoader.load();
            c = constants();
            int missing = missingFeatures();
            forceFallbacks(missing); // the child would find out too, but not that reaping by pidfd fails before 5.4
            warnAboutFallbacks(missing, c[10], c[11], c[3]);
            // -Dumh.pidfd=false: track children by pid, as on kernels before 5.4 (for testing that path)
            if ("false".equals(System.getProperty("umh.pidfd"))) {
                forceFallbacks(c[3]);
                LOG.log(Level.DEBUG, "umh: children tracked by pid, not by pidfd (-Dumh.pidfd=false)");
            }
        } catch (Throwable t) {
            failure = t;
        }
        LOAD_FAILURE = failure;
        SIGTERM = c[0];
        SIGKILL = c[1];
        RUNNING = c[2];
        SPAWN_SCRIPT = c[4];
        SPAWN_PDEATHSIG = c[5];
        SPAWN_NO_NEW_PRIVS = c[6];
        SPAWN_SETSID = c[7];
        SPAWN_UMASK = c[8];
        SPAWN_USER = c[9];
    }

    private Native() {}

    /** Once, at load: what this kernel lacks, and what umh does instead. */
    private static void warnAboutFallbacks(int missing, int noCloseRange, int noExecveat, int noPidfd) {
        StringBuilder s = new StringBuilder();
        if ((missing & noCloseRange) != 0) {
            s.append("; no close_range (5.9): each child closes fds one by one up to RLIMIT_NOFILE");
        }
        if ((missing & noExecveat) != 0) {
            s.append("; no execveat (3.19): children exec /proc/self/fd/N, which needs /proc");
        }
        if ((missing & noPidfd) != 0) {
            s.append("; no waitid(P_PIDFD) (5.4): children tracked by pid, not pidfd, a waiting thread each");
        }
        if (s.length() > 0) {
            LOG.log(Level.WARNING, "umh: this kernel (" + System.getProperty("os.version") + ") lacks calls umh uses"
                    + s + "; see the README's kernel table");
        }
    }

    /** Throws, at every use, why the shim could not be loaded. */
    static void ensureLoaded() {
        if (LOAD_FAILURE != null) {
            UnsatisfiedLinkError e = new UnsatisfiedLinkError(LOAD_FAILURE.getMessage());
            e.initCause(LOAD_FAILURE);
            throw e;
        }
    }

    /** Returns {@code rc}, or throws the IOException a failure code stands for. */
    static int check(int rc, String operation) throws IOException {
        if (rc < 0) {
            throw error(operation, rc, "");
        }
        return rc;
    }

    /** {@code "fork: execveat failed: ENOEXEC (Exec format error)" + detail}. */
    static IOException error(String operation, int code, String detail) {
        return new IOException(operation + ": " + describe(code) + detail);
    }

    static native int[] constants();

    static native void forceFallbacks(int bits);

    /** The UMH_NO_* fallbacks this kernel needs: the calls it lacks. */
    static native int missingFeatures();

    static native String describe(int code);

    static native String stepName(int code);

    /** A FileDescriptor that owns {@code fd}; nothing public makes one from a number. */
    static native FileDescriptor fileDescriptor(int fd);

    /** A sealed, executable memfd holding {@code blob}. */
    static native int load(byte[] blob);

    /** Opens a file for a child's stderr; {@code path} is NUL-terminated. */
    static native int openOutput(byte[] path, boolean append);

    /**
     * Spawns a child from {@code memfd} ({@code flags}: SPAWN_*). {@code argv}/{@code envp} hold argc/envc NUL-terminated
     * strings, {@code dir} is NUL-terminated or null, {@code errFd} is -1 for a pipe or the fd to put
     * on the child's fd 2, {@code ids} is {uid, gid, umask}, {@code rlimits} holds {resource, soft,
     * hard} triples. Fills {@code out} with {stdin_w, stdout_r, stderr_r, pid, pidfd}. With
     * SPAWN_PDEATHSIG the clone is made on the spawner thread ({@link Spawner#ensureStarted} first).
     */
    static native int spawn(int memfd, int flags, byte[] argv, int argc, byte[] envp, int envc,
                            byte[] dir, int errFd, int[] ids, long[] rlimits, int[] out);

    /**
     * The spawner thread's whole life (umh_spawner_serve): makes the clones of the spawns with
     * SPAWN_PDEATHSIG, which {@link #spawn} queues for it. Never returns.
     */
    static native void serveSpawns();

    /** RLIMIT_* for a name without the prefix ("AS", "NOFILE"), or -1. */
    static native int rlimitNumber(String name);

    static native int reap(int pidfd, int pid, boolean block);

    static native int waitExited(int pid);

    static native int signal(int pidfd, int pid, int sig);

    /** A close-on-exec duplicate of fd, or a negative code. */
    static native int dup(int fd);

    /** 1 once fd is readable (or in error), 0 after timeoutMs (or EINTR), or a negative code. */
    static native int pollIn(int fd, int timeoutMs);

    static native int epollCreate();

    static native int epollCtl(int epfd, boolean add, int fd);

    static native int epollWait(int epfd, int[] fds);

    static native int close(int fd);

    /** This JVM's dumpable flag, {@code prctl(PR_GET_DUMPABLE)}: for tests that a fork leaves it alone. */
    static native int dumpable();
}
