package io.umh;

import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * One spawn: ForkOptions translated into the one native spawn call (the redirects' and passed files
 * opened, the flags combined, the prepared blocks passed), a failure turned into an IOException that
 * names the option it concerns ({@link ExecFailure#forkFailed}), and what came back: the new child's
 * fds and ids, all of them the caller's. One class for all of it, not a class each for the plan and
 * the result: each class is one more for a fresh JVM's first fork to load (ColdStartTest).
 */
final class Spawn implements AutoCloseable {
    /** The child's fds as the native spawn reads them ({@link Abi}'s FDS_* and PASS_*). */
    private final int[] plan;
    /** The files opened for this fork, which {@link #close()} closes: the JVM's only until the child has its copies. */
    private final int[] opened;
    private int nopened;
    /** The new child's fds and ids as {@link Abi}'s OUT_* name them (a stdio fd -1 unless piped, pidfd -1 without pidfds). */
    private final int[] out = new int[Abi.OUT_LENGTH];
    private Cgroup cgroup;
    private Map<SandboxSupport.Layer, SandboxSupport.Status> layers;

    /** Clones a child from a loaded blob ({@code blob}: what it is; {@code name}: its name NUL-terminated, the default argv0). */
    static Spawn run(int memfd, BlobInfo blob, byte[] name, ForkOptions o) throws IOException {
        // PR_SET_PDEATHSIG follows the cloning thread: with it, the clone is made on the spawner
        // thread, which outlives every child; without it, on this one. Started first: a first
        // spawner reaches its native loop while this thread prepares the spawn.
        if (o.killOnParentDeath()) {
            Spawner.ensureStarted();
        }
        boolean script = blob.isScript();
        SandboxPolicy policy = o.sandbox().orElse(null);
        int[] sandbox = policy != null ? policy.spawnHeader(script, o) : null;
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
        byte[] argv = o.argv(name);
        int flags = o.spawnFlags() | (script ? Abi.SPAWN_SCRIPT : 0) | (cgroup != null ? Abi.SPAWN_CGROUP : 0);
        int[] ids = o.ids;
        if (cgroup != null) {
            ids = ids.clone();
            ids[Abi.IDS_CGROUP_FD] = cgroup.fd();
        }
        int rc;
        Spawn s = null;
        try {
            s = new Spawn(o);
            rc = Native.spawn(memfd, flags, argv, o.argc(), o.envp, o.envp == null ? 0 : o.envc(), o.dir,
                    s.plan, ids, o.rlimits, sandbox, sandboxPaths, s.out);
        } catch (IOException | RuntimeException e) {
            if (cgroup != null) {
                cgroup.remove();
            }
            throw e;
        } finally {
            if (s != null) {
                s.close();
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
            throw ExecFailure.forkFailed(rc, blob, o, argv, cgroup);
        }
        s.cgroup = cgroup;
        s.layers = layers;
        return s;
    }

    /** {@code layers} with the cgroup layer's status replaced (a BEST_EFFORT fork that could not make its cgroup). */
    private static Map<SandboxSupport.Layer, SandboxSupport.Status> withCgroup(Map<SandboxSupport.Layer, SandboxSupport.Status> layers,
                                                                               SandboxSupport.Status cgroup) {
        Map<SandboxSupport.Layer, SandboxSupport.Status> m = new EnumMap<>(layers);
        m.put(SandboxSupport.Layer.CGROUP, cgroup);
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The plan of the child's fds from the options, with the files it names opened: closed again on failure. */
    private Spawn(ForkOptions o) throws IOException {
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

    /** The new child's fds and ids, as {@link Abi}'s OUT_* name them. */
    int[] fds() {
        return out;
    }

    /** The cgroup the child was made in (null: none; the caller's to remove after the reap). */
    Cgroup cgroup() {
        return cgroup;
    }

    /** The sandbox layers the child got (empty: not sandboxed). */
    Map<SandboxSupport.Layer, SandboxSupport.Status> layers() {
        return layers;
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
        int fd = Native.openRedirect(Umh.nulTerminated(file), how, what);
        opened[nopened++] = fd;
        return fd;
    }

    /** Closes the files opened for this fork (the child has its copies, or there is no child). */
    @Override
    public void close() {
        while (nopened > 0) {
            Native.closeQuietly(opened[--nopened]);
        }
    }
}
