package io.umh;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;

/**
 * ForkOptions translated into the one native spawn call: the stderr redirect opened, the flags
 * combined, the prepared blocks passed, and a failure turned into an IOException that names the
 * option it concerns. What comes back is the new child's fds and ids, all of them the caller's.
 */
final class Spawn {
    private Spawn() {}

    /** Clones a child from a loaded blob: its fds and ids as {@link Abi}'s OUT_* name them (stderr -1 unless piped, pidfd -1 without pidfds). */
    static int[] run(int memfd, BlobInfo blob, ForkOptions o) throws IOException {
        boolean script = blob.kind() == BlobInfo.Kind.SCRIPT;
        int[] sandbox = o.sandbox().isPresent() ? sandboxHeader(o.sandbox().get(), script, o) : null;
        byte[] sandboxPaths = sandbox == null ? null : o.sandbox().get().paths;
        int errFd = openError(o.redirectError());
        int[] out = new int[Abi.OUT_LENGTH];
        int flags = o.spawnFlags() | (script ? Abi.SPAWN_SCRIPT : 0);
        int rc;
        try {
            // PR_SET_PDEATHSIG follows the cloning thread: with it, the clone is made on the
            // spawner thread, which outlives every child; without it, right here.
            if (o.killOnParentDeath()) {
                Spawner.ensureStarted();
            }
            rc = Native.spawn(memfd, flags, o.argv.bytes, o.argv.count, o.envp.bytes, o.envp.count, o.dir,
                    errFd, o.ids, o.rlimits, sandbox, sandboxPaths, out);
        } finally {
            if (errFd > 2) {
                Native.closeQuietly(errFd);
            }
            // the policy holds the namespaces the header names: reachable until the child joined them
            java.lang.ref.Reference.reachabilityFence(o);
        }
        if (rc < 0) {
            throw Native.error("fork", rc, failureDetail(rc, blob, o));
        }
        return out;
    }

    /**
     * The native sandbox header for {@code policy}, after the checks a fork makes: options that
     * cannot work together, and (REQUIRED) every layer the policy asks for that this JVM cannot give.
     */
    private static int[] sandboxHeader(SandboxPolicy policy, boolean script, ForkOptions o) throws IOException {
        if (script) {
            throw new IOException("fork: a #! script cannot run sandboxed: its interpreter is a file the sandbox's"
                    + " empty root does not have; sandbox a binary, or run the interpreter with the script on stdin");
        }
        if (o.uid().isPresent()) {
            throw new IOException("fork: user(uid, gid) and sandbox(...) cannot work together: a sandboxed helper"
                    + " keeps the JVM's ids, each mapped to itself in a user namespace of its own");
        }
        if (!policy.missing.isEmpty() && policy.enforcement() == Enforcement.REQUIRED) {
            throw new IOException("fork: the sandbox cannot be enforced here (Enforcement.REQUIRED): " + policy.missing
                    + "; see Umh.sandboxSupport(), or use Enforcement.BEST_EFFORT");
        }
        return policy.spawnHeader(); // read only: the native side copies it
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
                return Native.openOutput(ForkOptions.nulTerminated(file), err.type() == Redirect.Type.APPEND, file);
        }
    }

    /** What of the options (or, for an exec, of the blob and the system) a failed step concerns, for the exception's message. */
    private static String failureDetail(int rc, BlobInfo blob, ForkOptions o) {
        switch (Native.step(rc)) {
            case CHILD_EXECVEAT:
            case CHILD_EXECVE:
                return ExecFailure.explain(Native.errno(rc), blob, o);
            case CHILD_CHDIR:
                return ": directory " + o.directory().orElseThrow();
            case SETPIPE_SZ:
                return ": pipeSize " + o.pipeSize().orElseThrow();
            default:
                return "";
        }
    }
}
