package io.umh;

import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

import io.umh.internal.PermanentForkFailure;

/**
 * ForkOptions translated into the one native spawn call: the redirects' and passed files opened, the flags
 * combined, the prepared blocks passed, and a failure turned into an IOException that names the
 * option it concerns. What comes back is the new child's fds and ids, all of them the caller's.
 */
final class Spawn {
    private Spawn() {}

    /**
     * A new child: its fds and ids as {@link Abi}'s OUT_* name them (a stdio fd -1 unless piped, pidfd
     * -1 without pidfds), the cgroup it was made in (null: none; the caller's to remove after the
     * reap), and the sandbox layers it got (empty: not sandboxed).
     */
    record Spawned(int[] fds, Cgroup cgroup, Map<SandboxSupport.Layer, SandboxSupport.Status> layers) {}

    /** Clones a child from a loaded blob ({@code blob}: what it is; {@code name}: its name NUL-terminated, the default argv0). */
    static Spawned run(int memfd, BlobInfo blob, byte[] name, ForkOptions o) throws IOException {
        // PR_SET_PDEATHSIG follows the cloning thread: with it, the clone is made on the spawner
        // thread, which outlives every child; without it, on this one. Started first: a first
        // spawner reaches its native loop while this thread prepares the spawn.
        if (o.killOnParentDeath()) {
            Spawner.ensureStarted();
        }
        boolean script = blob.kind() == BlobInfo.Kind.SCRIPT;
        SandboxPolicy policy = o.sandbox().orElse(null);
        int[] sandbox = policy != null ? sandboxHeader(policy, script, o) : null;
        byte[] sandboxPaths = sandbox == null ? null : policy.paths;
        Map<SandboxSupport.Layer, SandboxSupport.Status> layers = policy == null ? Map.of() : policy.enforced;
        Cgroup cgroup = null;
        if (policy != null && policy.placesInCgroup()) {
            try {
                cgroup = Cgroup.create(policy.cgroup().orElseThrow(), policy.cgroupLimits);
            } catch (IOException e) {
                if (policy.enforcement() == Enforcement.REQUIRED) {
                    throw e;
                }
                layers = withCgroup(layers, new SandboxSupport.Status(SandboxSupport.Level.NONE, e.getMessage()));
            }
        }
        int[] out = new int[Abi.OUT_LENGTH];
        ForkOptions.Block argv = o.argv(name);
        int flags = o.spawnFlags() | (script ? Abi.SPAWN_SCRIPT : 0) | (cgroup != null ? Abi.SPAWN_CGROUP : 0);
        int[] ids = o.ids;
        if (cgroup != null) {
            ids = ids.clone();
            ids[Abi.IDS_CGROUP_FD] = cgroup.fd();
        }
        int rc;
        Fds fds = null;
        try {
            fds = new Fds(o);
            rc = Native.spawn(memfd, flags, argv.bytes, argv.count, o.envp == null ? null : o.envp.bytes, o.envp == null ? 0 : o.envp.count, o.dir,
                    fds.plan, ids, o.rlimits, sandbox, sandboxPaths, out);
        } catch (IOException | RuntimeException e) {
            if (cgroup != null) {
                cgroup.remove();
            }
            throw e;
        } finally {
            if (fds != null) {
                fds.close();
            }
            if (cgroup != null) {
                cgroup.closeFd();
            }
            // the policy holds the namespaces the header names: reachable until the child joined them
            java.lang.ref.Reference.reachabilityFence(o);
        }
        if (rc < 0) {
            if (cgroup != null) {
                cgroup.remove(); // the failed child is reaped: the cgroup is empty
            }
            String why = Native.message("fork", rc, failureDetail(rc, blob, o, argv, cgroup));
            throw permanent(rc) ? new PermanentForkFailure(why) : new IOException(why);
        }
        return new Spawned(out, cgroup, layers);
    }

    /** {@code layers} with the cgroup layer's status replaced (a BEST_EFFORT fork that could not make its cgroup). */
    private static Map<SandboxSupport.Layer, SandboxSupport.Status> withCgroup(Map<SandboxSupport.Layer, SandboxSupport.Status> layers,
                                                                               SandboxSupport.Status cgroup) {
        Map<SandboxSupport.Layer, SandboxSupport.Status> m = new EnumMap<>(layers);
        m.put(SandboxSupport.Layer.CGROUP, cgroup);
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * The child's fds as the native spawn reads them ({@link Abi}'s FDS_* and PASS_*), with the files
     * opened for this fork, which {@link #close()} closes: they are the JVM's only until the child
     * has its copies, on every path.
     */
    private static final class Fds implements AutoCloseable {
        final int[] plan;
        private final int[] opened;
        private int nopened;

        Fds(ForkOptions o) throws IOException {
            plan = new int[Abi.FDS_PASSED + o.passed.size() * Abi.PASS_FIELDS];
            opened = new int[3 + o.passed.size()];
            try {
                stdio(0, o.redirect(0), "redirectInput");
                stdio(1, o.redirect(1), "redirectOutput");
                if (o.redirectErrorStream()) {
                    plan[2 * Abi.FDS_FIELDS + Abi.FDS_HOW] = Abi.STDIO_AS_STDOUT;
                } else {
                    stdio(2, o.redirect(2), "redirectError");
                }
                int i = Abi.FDS_PASSED;
                for (Map.Entry<Integer, Object> e : o.passed.entrySet()) {
                    plan[i + Abi.PASS_TARGET] = e.getKey();
                    plan[i + Abi.PASS_SOURCE] = source(e.getKey(), e.getValue());
                    i += Abi.PASS_FIELDS;
                }
            } catch (IOException | RuntimeException e) {
                close();
                throw e;
            }
        }

        /** Child fd {@code fd}'s plan from its redirect, null for the default: a pipe for 0 and 1, the JVM's fd 2 for 2. */
        private void stdio(int fd, Redirect r, String option) throws IOException {
            int at = fd * Abi.FDS_FIELDS;
            if (r == null) {
                plan[at + Abi.FDS_HOW] = fd == 2 ? Abi.STDIO_INHERIT : Abi.STDIO_PIPE;
                return;
            }
            Redirect.Type type = r.type(); // no switch: its map (Spawn$1) would initialise Step's too, on every first fork
            if (type == Redirect.Type.PIPE) {
                plan[at + Abi.FDS_HOW] = Abi.STDIO_PIPE;
            } else if (type == Redirect.Type.INHERIT) {
                plan[at + Abi.FDS_HOW] = Abi.STDIO_INHERIT;
            } else {
                int how = type == Redirect.Type.READ ? Abi.OPEN_READ : type == Redirect.Type.APPEND ? Abi.OPEN_APPEND : Abi.OPEN_TRUNCATE;
                plan[at + Abi.FDS_HOW] = Abi.STDIO_FD;
                plan[at + Abi.FDS_FD] = open(r.file().getPath(), how, option + " " + r.file());
            }
        }

        /** The fd number to copy onto the child's {@code childFd}: the caller's, or a file opened here. */
        private int source(int childFd, Object source) throws IOException {
            if (source instanceof Path) {
                return open(source.toString(), Abi.OPEN_READ, "passFd " + childFd + " " + source);
            }
            int fd = Native.fdNumber((FileDescriptor) source);
            if (fd < 0) {
                throw new IOException("fork: passFd " + childFd + ": the FileDescriptor has been closed");
            }
            return fd;
        }

        private int open(String file, int how, String what) throws IOException {
            int fd = Native.openRedirect(Load.nulTerminated(file), how, what);
            opened[nopened++] = fd;
            return fd;
        }

        @Override
        public void close() {
            while (nopened > 0) {
                Native.closeQuietly(opened[--nopened]);
            }
        }
    }

    /**
     * The native sandbox header for {@code policy}, after the checks a fork makes: options that
     * cannot work together, and (REQUIRED) every layer the policy asks for that this JVM cannot give.
     */
    private static int[] sandboxHeader(SandboxPolicy policy, boolean script, ForkOptions o) throws IOException {
        if (script) {
            throw new PermanentForkFailure("fork: a #! script cannot run sandboxed: its interpreter is a file the sandbox's"
                    + " empty root does not have; sandbox a binary, or run the interpreter with the script on stdin");
        }
        if (o.uid().isPresent()) {
            throw new PermanentForkFailure("fork: user(uid, gid) and sandbox(...) cannot work together: a sandboxed helper"
                    + " keeps the JVM's ids, each mapped to itself in a user namespace of its own");
        }
        if (!policy.missing.isEmpty() && policy.enforcement() == Enforcement.REQUIRED) {
            throw new PermanentForkFailure("fork: the sandbox cannot be enforced here (Enforcement.REQUIRED): " + policy.missing
                    + "; see Umh.sandboxSupport(), or use Enforcement.BEST_EFFORT");
        }
        return policy.spawnHeader(); // read only: the native side copies it
    }

    /**
     * Whether a failure would recur on every fork of this blob with these options: an exec that
     * found no program (ENOEXEC), no interpreter or loader (ENOENT) or a memfd it may not run
     * (EACCES). Whatever else failed (a resource, a limit, a directory) may be there next time.
     */
    private static boolean permanent(int rc) {
        Step step = Native.step(rc);
        int errno = Native.errno(rc);
        return (step == Step.CHILD_EXECVEAT || step == Step.CHILD_EXECVE)
                && (errno == Abi.ENOEXEC || errno == Abi.ENOENT || errno == Abi.EACCES);
    }

    /** What of the options (or, for an exec, of the blob and the system) a failed step concerns, for the exception's message. */
    private static String failureDetail(int rc, BlobInfo blob, ForkOptions o, ForkOptions.Block argv, Cgroup cgroup) {
        switch (Native.step(rc)) {
            case CHILD_EXECVEAT:
            case CHILD_EXECVE:
                return ExecFailure.explain(Native.errno(rc), blob, o, argv);
            case CLONE3:
                return cgroup == null ? "" : ": starting the helper in cgroup " + cgroup.path + " (CLONE_INTO_CGROUP)";
            case CHILD_CHDIR:
                return ": directory " + o.directory().orElseThrow();
            case SETPIPE_SZ:
                return ": pipeSize " + o.pipeSize().orElseThrow();
            case DUP:
            case CHILD_MOVE_FD:
            case CHILD_DUP3:
            case CHILD_CLEAR_CLOEXEC:
                return o.passed.isEmpty() ? "" : ": passFd " + o.passed.keySet();
            default:
                return "";
        }
    }
}
