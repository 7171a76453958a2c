package io.umh;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;

/**
 * ForkOptions translated into the one native spawn call: the stderr redirect opened, the flags
 * combined, the prepared blocks passed, and a failure turned into an IOException that names the
 * option it concerns. What comes back is the new child's fds and ids, all of them the caller's.
 */
final class Spawn {
    /** Indices into {@link #run}'s result, as umh_jni.c fills it. */
    static final int STDIN_W = 0, STDOUT_R = 1, STDERR_R = 2, PID = 3, PIDFD = 4, LENGTH = 5;

    private Spawn() {}

    /** Clones a child from a loaded blob: its {stdin_w, stdout_r, stderr_r (-1 unless piped), pid, pidfd (or -1)}. */
    static int[] run(int memfd, boolean script, ForkOptions o) throws IOException {
        int errFd = openError(o.redirectError());
        int[] out = new int[LENGTH];
        int flags = o.spawnFlags() | (script ? Native.SPAWN_SCRIPT : 0);
        int rc;
        try {
            // PR_SET_PDEATHSIG follows the cloning thread: with it, the clone is made on the
            // spawner thread, which outlives every child; without it, right here.
            if (o.killOnParentDeath()) {
                Spawner.ensureStarted();
            }
            rc = Native.spawn(memfd, flags, o.argv.bytes, o.argv.count, o.envp.bytes, o.envp.count, o.dir,
                    errFd, o.ids, o.rlimits, out);
        } finally {
            if (errFd > 2) {
                Native.close(errFd);
            }
        }
        if (rc < 0) {
            throw Native.error("fork", rc, failureDetail(rc, o));
        }
        return out;
    }

    /** The fd for the child's stderr: -1 for a new pipe, 2 to inherit the JVM's, else a file opened here. */
    private static int openError(Redirect err) throws IOException {
        switch (err.type()) {
            case PIPE:
                return -1;
            case INHERIT:
                return 2;
            default:
                String file = err.file().getPath();
                int rc = Native.openOutput(ForkOptions.nulTerminated(file), err.type() == Redirect.Type.APPEND);
                if (rc < 0) {
                    throw Native.error("fork", rc, ": " + file);
                }
                return rc;
        }
    }

    /** What of the options a failed step concerns, for the exception's message. */
    private static String failureDetail(int rc, ForkOptions o) {
        switch (Native.stepName(rc)) {
            case "chdir":
                return ": directory " + o.directory().orElseThrow();
            case "fcntl(F_SETPIPE_SZ)":
                return ": pipeSize " + o.pipeSize().orElseThrow();
            default:
                return "";
        }
    }
}
