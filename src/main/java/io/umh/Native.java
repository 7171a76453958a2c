package io.umh;

import java.io.FileDescriptor;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.lang.System.Logger.Level;

/**
 * The JNI surface, netty's way: every native is private and returns a value or a failure code
 * {@code -(step << 12 | errno)}; beside each is the one wrapper the rest of umh calls, which
 * checks the code and throws, or says by its name that it ignores it ({@code closeQuietly}).
 * Exceptions are built here, in {@link #error}, and nowhere else. The numbers both sides must agree
 * on are in {@link Abi}, asserted by the C compiler.
 */
final class Native {
    private static final Throwable LOAD_FAILURE;

    static {
        Throwable failure = null;
        try {
            NativeLoader.load();
            int missing = missingFeatures0();
            forceFallbacks0(missing); // the child would find out too, but not that reaping by pidfd fails before 5.4
            warnAboutFallbacks(missing);
            // -Dumh.pidfd=false: track children by pid, as on kernels before 5.4 (for testing that path)
            if ("false".equals(System.getProperty("umh.pidfd"))) {
                forceFallbacks0(Abi.NO_PIDFD);
                Log.LOG.log(Level.DEBUG, "umh: children tracked by pid, not by pidfd (-Dumh.pidfd=false)");
            }
            // -Dumh.clone3=false: clone, never clone3, as where clone3 is missing (no CLONE_INTO_CGROUP then)
            if ("false".equals(System.getProperty("umh.clone3"))) {
                forceFallbacks0(Abi.NO_CLONE3);
                Log.LOG.log(Level.DEBUG, "umh: children cloned with clone, not clone3 (-Dumh.clone3=false)");
            }
        } catch (Throwable t) {
            failure = t;
        }
        LOAD_FAILURE = failure;
    }

    private Native() {}

    /** Once, at load: what this kernel lacks, and what umh does instead. */
    private static void warnAboutFallbacks(int missing) {
        StringBuilder s = new StringBuilder();
        if ((missing & Abi.NO_CLOSE_RANGE) != 0) {
            s.append("; no close_range (5.9): each child closes the fds /proc/self/fd lists, or one by one up to"
                    + " RLIMIT_NOFILE without /proc");
        }
        if ((missing & Abi.NO_EXECVEAT) != 0) {
            s.append("; no execveat (3.19): children exec /proc/self/fd/N, which needs /proc");
        }
        if ((missing & Abi.NO_PIDFD) != 0) {
            s.append("; no waitid(P_PIDFD) (5.4): children tracked by pid, not pidfd, a waiting thread each");
        }
        if (s.length() > 0) {
            Log.LOG.log(Level.WARNING, "umh: this kernel (" + System.getProperty("os.version") + ") lacks calls umh uses"
                    + s + "; see the README's kernel table");
        }
    }

    /** Whether the shim loaded (Native's initialisation recorded no failure). */
    static boolean loaded() {
        return LOAD_FAILURE == null;
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
    private static int check(int rc, String operation) throws IOException {
        if (rc < 0) {
            throw error(operation, rc, "");
        }
        return rc;
    }

    /** {@code "fork: execveat failed: ENOEXEC (Exec format error)" + detail}. */
    static IOException error(String operation, int code, String detail) {
        return new IOException(message(operation, code, detail));
    }

    /** The message of {@link #error}, for an exception of another class. */
    static String message(String operation, int code, String detail) {
        return operation + ": " + describe0(code) + detail;
    }

    /** The errno of a failure code. */
    static int errno(int code) {
        return -code & 0xfff;
    }

    /** The step of a failure code: which call failed. */
    static Step step(int code) {
        return Step.of(-code >> 12);
    }

    /** A FileDescriptor that owns {@code fd}; nothing public makes one from a number. */
    static FileDescriptor fileDescriptor(int fd) {
        return fileDescriptor0(fd);
    }

    /** A sealed, executable memfd holding {@code blob}, named {@code name} (NUL-terminated, checked). */
    static int load(byte[] blob, byte[] name) throws IOException {
        return check(load0(blob, name), "load");
    }

    /** An empty executable memfd named {@code name}, for a streamed load: {@link #memfdWrite} it, then {@link #memfdSeal}. */
    static int memfdCreate(byte[] name) throws IOException {
        return check(memfdCreate0(name), "load");
    }

    /** Appends {@code buf[off, off + len)} to the memfd, straight from the array. */
    static void memfdWrite(int fd, byte[] buf, int off, int len) throws IOException {
        check(memfdWrite0(fd, buf, off, len), "load");
    }

    /** Seals the memfd: nobody can change its bytes from now on. */
    static void memfdSeal(int fd) throws IOException {
        check(memfdSeal0(fd), "load");
    }

    /**
     * The file at {@code path} (NUL-terminated bytes; {@code file} for the message) copied by the
     * kernel into a sealed memfd named {@code name}; {@code out} gets what {@link Abi}'s LOADED_* name.
     */
    static int loadFile(byte[] path, byte[] name, long[] out, String file) throws IOException {
        int rc = loadFile0(path, name, out);
        if (rc < 0) {
            throw error("load", rc, ": " + file);
        }
        return rc;
    }

    /** The number a FileDescriptor holds (-1 once closed); nothing public reads it. */
    static int fdNumber(FileDescriptor fd) {
        return fdNumber0(fd);
    }

    /**
     * Opens {@code path} (its NUL-terminated bytes) for a child's redirect or passed fd, close-on-exec,
     * {@code how} as Abi.OPEN_* says. A failure is a FileNotFoundException, as the JDK's
     * FileInputStream and FileOutputStream throw, naming {@code what} (the option and the file).
     */
    static int openRedirect(byte[] path, int how, String what) throws FileNotFoundException {
        int rc = openRedirect0(path, how);
        if (rc < 0) {
            throw new FileNotFoundException(error("fork", rc, ": " + what).getMessage());
        }
        return rc;
    }

    /**
     * Spawns a child from {@code memfd} ({@code flags}: Abi.SPAWN_*). {@code argv}/{@code envp} hold
     * argc/envc NUL-terminated strings ({@code envp} null: the process's own {@code environ}, as
     * ProcessBuilder passes it), {@code dir} is NUL-terminated or null, {@code fds} is laid out
     * by Abi.FDS_* and Abi.PASS_* (the child's fds 0-2, then the passed ones), {@code ids} is laid out by Abi.IDS_*,
     * {@code rlimits} by Abi.RLIMIT_*, {@code sandbox} (null: none) by Abi.SBX_* with its
     * {@code sandboxPaths} block (SandboxPolicy's). Fills {@code out} as Abi.OUT_* name it, or returns the
     * failure code (nothing left behind). With SPAWN_PDEATHSIG the clone is made on the spawner
     * thread ({@link Spawner#ensureStarted} first).
     */
    static int spawn(int memfd, int flags, byte[] argv, int argc, byte[] envp, int envc,
                     byte[] dir, int[] fds, int[] ids, long[] rlimits, int[] sandbox, byte[] sandboxPaths, int[] out) {
        return spawn0(memfd, flags, argv, argc, envp, envc, dir, fds, ids, rlimits, sandbox, sandboxPaths, out);
    }

    /**
     * Makes the namespaces a sandbox's spawns join (umh_sandbox_namespaces): {@code header} and
     * {@code paths} as for {@link #spawn}, with SBX_NEW_ROOT for the mount namespace of its root and
     * SBX_NETWORK 0 for an empty network namespace. Fills {@code out} with {mount fd, network fd}
     * (-1 for one not made), the caller's to close, or returns the failure code (nothing left open).
     */
    static int sandboxNamespaces(int[] header, byte[] paths, int[] out) {
        return sandboxNamespaces0(header, paths, out);
    }

    /**
     * A spawner thread's life (umh_spawner_serve): clones the spawns with SPAWN_PDEATHSIG, and
     * calls {@link #growSpawners} when a spawn found every spawner busy. Returns only once
     * {@link #retireSpawners} has been called.
     */
    static void serveSpawns() {
        serveSpawns0();
    }

    /**
     * At JVM exit, once the shutdown hook has stopped the helpers: every spawner returns from
     * {@link #serveSpawns}, out of native code, where the JVM's exit would wait ~300 ms for it
     * (HotSpot waits for the threads in native code before it exits). From here on, for good, a
     * spawn (another shutdown hook's) is cloned on its caller's thread: its helper is killed when
     * that thread ends, or with the JVM.
     */
    static void retireSpawners() {
        retireSpawners0();
    }

    /** Called from native code only, on a spawner thread: one more spawner, up to the pool's limit. */
    private static void growSpawners() {
        Spawner.grow();
    }

    /**
     * Each spawner's counters since it joined, in the order they joined: Abi.SPAWNER_FIELDS longs each
     * (SPAWNER_SPAWNS, SPAWNER_CLONE_NS: time suspended in vfork, SPAWNER_QUEUED_NS: the spawns'
     * time queued) for as many as {@code out} holds. Returns how many spawners have joined. For the
     * tests and the benchmarks (which read it reflectively).
     */
    static int spawnerStats(long[] out) {
        return spawnerStats0(out);
    }

    /**
     * Reaps the child if it has exited, never blocking: its status (a code, or 128+signal), or
     * {@link Abi#RUNNING}. Throws if waitid fails (ECHILD: someone else reaped it, e.g. with SIGCHLD
     * ignored).
     */
    static int reap(int pidfd, int pid) throws IOException {
        int rc = reap0(pidfd, pid);
        if (rc < 0 && rc != Abi.RUNNING) {
            throw error("reap", rc, ": pid " + pid);
        }
        return rc;
    }

    /** Blocks until {@code pid} has exited, without reaping it (waitid WNOWAIT). */
    static void waitExited(int pid) throws IOException {
        check(waitExited0(pid), "wait");
    }

    /** Sends {@code sig} through the pidfd (by pid without one); false if it could not be sent (ESRCH, EPERM). */
    static boolean trySignal(int pidfd, int pid, int sig) {
        return signal0(pidfd, pid, sig) == 0;
    }

    /** A close-on-exec duplicate of fd. */
    static int dup(int fd) throws IOException {
        return check(dup0(fd), "dup");
    }

    /** True once fd is readable (or in error), false after timeoutMs (-1: none) or on EINTR. */
    static boolean pollIn(int fd, int timeoutMs) throws IOException {
        return check(pollIn0(fd, timeoutMs), "poll") > 0;
    }

    static int epollCreate() throws IOException {
        return check(epollCreate0(), "reaper");
    }

    static void epollAdd(int epfd, int fd) throws IOException {
        check(epollCtl0(epfd, true, fd), "fork");
    }

    /** Removes fd from the epoll set; the only failure, ENOENT (not in it), is nothing to act on. */
    static void epollDelQuietly(int epfd, int fd) {
        epollCtl0(epfd, false, fd);
    }

    /** Ready fds into {@code fds}, waiting up to timeoutMs (-1: no limit): how many. Fails only on a broken epoll fd. */
    static int epollWait(int epfd, int[] fds, int timeoutMs) throws IOException {
        return check(epollWait0(epfd, fds, timeoutMs), "reaper");
    }

    /** A close-on-exec eventfd, readable from the start: the watcher's wake-up. */
    static int eventfdReady() throws IOException {
        return check(eventfdReady0(), "reaper");
    }

    /** Closes fd; its only failures (EBADF, EINTR, EIO from a pipe, memfd or pidfd) are nothing to act on, and close is never retried. */
    static void closeQuietly(int fd) {
        close0(fd);
    }

    /** PR_GET_DUMPABLE of this JVM: 1 unless something made it undumpable (a credential change in its mm). */
    static int dumpable() {
        return dumpable0();
    }

    /** This CPU's number of the system call {@code name}, or -1 for a name unknown here. */
    static int syscallNumber(String name) {
        return syscallNumber0(name);
    }

    /** The name of this CPU's system call {@code nr}, or null. */
    static String syscallName(int nr) {
        return syscallName0(nr);
    }

    /** Whether a sandbox denies the call {@code nr} whatever its policy allows. */
    static boolean alwaysDenied(int nr) {
        return alwaysDenied0(nr) != 0;
    }

    /** The numbers of a named group of calls ("stdio", "memory", ...); IllegalArgumentException for an unknown group. */
    static int[] seccompGroup(String name) {
        int[] nrs = seccompGroup0(name);
        if (nrs == null) {
            throw new IllegalArgumentException("no seccomp group \"" + name + "\" on this CPU");
        }
        return nrs;
    }

    /** The number of the call a helper's notification reports; call only when {@link #seccompPending} said one waits. */
    static int seccompReceive(int listener) throws IOException {
        return check(seccompReceive0(listener), "seccomp");
    }

    /** Whether a notification waits on the listener (not only the hang-up of an exited helper). */
    static boolean seccompPending(int listener) {
        return seccompPending0(listener) == 1;
    }

    /** Null if this kernel gives seccomp listeners, else why not. */
    static String seccompListenerRefusal() {
        int rc = seccompListenerSupported0();
        return rc == 1 ? null : describe0(rc);
    }

    /**
     * A short-lived child cloned with these CLONE_NEW* flags (with CLONE_NEWUSER it writes the id
     * maps as a sandboxed child does), as the sandbox would make it: 0 if it worked, else the
     * failure code of the step refused ({@link #step}, {@link #describe}).
     */
    static int probeNamespaces(int nsFlags) {
        return probeNamespaces0(nsFlags, false);
    }

    /** As {@link #probeNamespaces}, and then the root's first mount in the new mount namespace. */
    static int probeRoot(int nsFlags) {
        return probeNamespaces0(nsFlags, true);
    }

    /** "clone failed: EPERM (Operation not permitted)": a failure code in words. */
    static String describe(int code) {
        return describe0(code);
    }

    /** 0 if a seccomp filter with a listener can be installed here (by a probe child), else the failure code. */
    static int probeListener() {
        return probeListener0();
    }

    /** Null if this kernel (and every seccomp filter around this process) lets clone3 through, else why not. */
    static String probeClone3() {
        int rc = probeClone30();
        return rc == 0 ? null : describe0(rc);
    }

    /** Null where Landlock works, else why it does not (no Landlock, disabled at boot, refused by a filter). */
    static String landlockRefusal() {
        return landlockRefusal0();
    }

    /** The Landlock ABI version this kernel offers, 0 without Landlock. */
    static int landlockAbi() {
        return landlockAbi0();
    }

    /** Makes the cgroup {@code name} under {@code parent} (both NUL-terminated) and opens it O_PATH: its fd, or the failure code. */
    static int cgroupCreate(byte[] parent, byte[] name) {
        return cgroupCreate0(parent, name);
    }

    /** Writes {@code value} into the cgroup's {@code file} (both NUL-terminated). */
    static void cgroupWrite(int fd, byte[] file, byte[] value, String what) throws IOException {
        int rc = cgroupWrite0(fd, file, value);
        if (rc < 0) {
            throw error("fork", rc, ": " + what);
        }
    }

    /** Null if clone3 takes CLONE_INTO_CGROUP here, else why not ("clone3 failed: ENOSYS (...)"). */
    static String cgroupCloneRefusal() {
        int rc = cgroupProbe0();
        return rc == 0 ? null : describe0(rc);
    }

    private static native int cgroupCreate0(byte[] parent, byte[] name);

    private static native int cgroupWrite0(int fd, byte[] file, byte[] value);

    private static native int cgroupProbe0();

    private static native void forceFallbacks0(int bits);

    /** The Abi.NO_* fallbacks this kernel needs: the calls it lacks. */
    private static native int missingFeatures0();

    private static native String describe0(int code);

    private static native FileDescriptor fileDescriptor0(int fd);

    private static native int load0(byte[] blob, byte[] name);

    private static native int memfdCreate0(byte[] name);

    private static native int memfdWrite0(int fd, byte[] buf, int off, int len);

    private static native int memfdSeal0(int fd);

    private static native int loadFile0(byte[] path, byte[] name, long[] out);

    private static native int fdNumber0(FileDescriptor fd);

    private static native int openRedirect0(byte[] path, int how);

    private static native int sandboxNamespaces0(int[] header, byte[] paths, int[] out);

    private static native int spawn0(int memfd, int flags, byte[] argv, int argc, byte[] envp, int envc,
                                     byte[] dir, int[] fds, int[] ids, long[] rlimits, int[] sandbox,
                                     byte[] sandboxPaths, int[] out);

    private static native void serveSpawns0();
    private static native void retireSpawners0();
    private static native int eventfdReady0();

    private static native int spawnerStats0(long[] out);

    private static native int reap0(int pidfd, int pid);

    private static native int waitExited0(int pid);

    private static native int signal0(int pidfd, int pid, int sig);

    private static native int dup0(int fd);

    private static native int pollIn0(int fd, int timeoutMs);

    private static native int epollCreate0();

    private static native int epollCtl0(int epfd, boolean add, int fd);

    private static native int epollWait0(int epfd, int[] fds, int timeoutMs);

    private static native int close0(int fd);

    private static native int dumpable0();

    private static native int landlockAbi0();

    private static native String landlockRefusal0();

    private static native int probeNamespaces0(int nsFlags, boolean root);

    private static native int probeListener0();

    private static native int probeClone30();

    private static native int seccompReceive0(int listener);

    private static native int seccompPending0(int listener);

    private static native int seccompListenerSupported0();

    private static native int syscallNumber0(String name);

    private static native String syscallName0(int nr);

    private static native int alwaysDenied0(int nr);

    private static native int[] seccompGroup0(String name);
}
