package io.umh;

import java.io.Closeable;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A running (or finished) usermode helper: its pid, its pipes and its exit.
 *
 * <p>The child's fd 0 is {@link #pipeToUmh()}, its fd 1 {@link #pipeFromUmh()}; both are plain
 * file streams over the pipe and are the very objects {@link #getOutputStream()} and
 * {@link #getInputStream()} return. A redirected fd ({@link ForkOptions.Builder#redirectInput},
 * {@link ForkOptions.Builder#redirectOutput}) has no pipe: its {@code get*Stream()} is a null
 * stream, as ProcessBuilder's, and its {@code pipe*Umh()} throws IllegalStateException. Signals go through a pidfd, so they can never reach a process
 * that merely reuses the pid. The exit status is a normal exit's code, or 128+N after death by
 * signal N, as the JDK reports it.
 *
 * <p>{@link #stop(Duration)} asks the child to finish (EOF, then SIGTERM) before it kills it. On
 * JVM shutdown every live helper gets such a stop, bounded in all by {@code -Dumh.shutdown.grace}
 * (an ISO-8601 duration or milliseconds, default 2 s; half of it for EOF, half for SIGTERM).
 * {@link #close()} kills the child if it is still running, reaps it and closes every pipe. A
 * process that is never closed has its pipes closed once it has exited and become unreachable,
 * and the first such process in a JVM is logged as a WARNING.
 */
public final class UsermodeProcess extends Process implements AutoCloseable {
    static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(null, r, "umh-cleaner", 64 * 1024, false);
        t.setDaemon(true);
        t.setContextClassLoader(null);
        return t;
    });

    private final Child child;
    private final FileOutputStream toUmh;
    private final FileInputStream fromUmh;
    private final InputStream errorStream;
    private final java.lang.ProcessBuilder.Redirect stdin;  // PIPE, or the redirect that replaced the pipe
    private final java.lang.ProcessBuilder.Redirect stdout;
    private final CloseAll closeAll;
    private final Cleaner.Cleanable pipes;
    private final CountDownLatch exited = new CountDownLatch(1);
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicInteger publications = new AtomicInteger(); // 1 once exited: the race tests check it
    private volatile int status;
    private final java.util.Map<SandboxSupport.Layer, SandboxSupport.Status> sandboxLayers;
    private final boolean seccomp; // a seccomp filter stops it on a violation
    private final boolean pidNamespace; // pid 1 of a pid namespace of its own
    private final int listener;         // the seccomp listener, or -1; closed once reaped
    private volatile SandboxViolation violation; // named by the listener's thread
    private final long started = System.nanoTime();
    private static final java.util.concurrent.atomic.AtomicLong SERIALS = new java.util.concurrent.atomic.AtomicLong();
    /** Which fork this is, in this JVM: orders two handles of children that had the same pid. */
    final long serial = SERIALS.incrementAndGet();

    private UsermodeProcess(int[] fds, ForkOptions o) {
        this.sandboxLayers = o.sandbox().map(policy -> policy.enforced).orElse(java.util.Map.of());
        SandboxSupport.Status sc = sandboxLayers.get(SandboxSupport.Layer.SECCOMP);
        this.seccomp = sc != null && sc.level() == SandboxSupport.Level.FULL;
        SandboxSupport.Status ns = sandboxLayers.get(SandboxSupport.Layer.NAMESPACES);
        this.pidNamespace = ns != null && ns.level() == SandboxSupport.Level.FULL;
        this.listener = fds[Abi.OUT_LISTENER];
        this.stdin = o.redirectInput();
        this.stdout = o.redirectOutput();
        int in = fds[Abi.OUT_STDIN_W];
        int out = fds[Abi.OUT_STDOUT_R];
        int err = fds[Abi.OUT_STDERR_R];
        this.toUmh = in >= 0 ? new FileOutputStream(Native.fileDescriptor(in)) : new NullStreams.Output();
        this.fromUmh = out >= 0 ? new PipeInputStream(Native.fileDescriptor(out)) : new NullStreams.Input();
        this.errorStream = err >= 0 ? new PipeInputStream(Native.fileDescriptor(err)) : new NullStreams.Input();
        this.child = new Child(fds[Abi.OUT_PID], fds[Abi.OUT_PIDFD], this::exited);
        this.closeAll = new CloseAll(child.pid, toUmh, fromUmh, errorStream);
        this.pipes = CLEANER.register(this, closeAll);
    }

    /** Clones a child from a loaded blob and hands it to the reaper. */
    static UsermodeProcess spawn(int memfd, boolean script, ForkOptions o) throws IOException {
        UsermodeProcess p = new UsermodeProcess(Spawn.run(memfd, script, o), o);
        ShutdownHook.add(p); // before the reaper can see it exit
        try {
            if (p.listener >= 0) {
                Violations.watch(p, p.listener); // before the helper runs far enough to violate
            }
            p.child.watch();
        } catch (IOException e) {
            p.child.signal(Abi.SIGKILL);
            p.child.awaitAndReap(Child.Path.SPAWN);
            p.close();
            throw e;
        }
        return p;
    }

    /**
     * The child's fd 0: what is written here, the helper reads.
     *
     * @throws IllegalStateException if fd 0 is not a pipe ({@link ForkOptions.Builder#redirectInput}
     *         other than PIPE): there is no such stream; {@link #getOutputStream()} is a null stream
     */
    public FileOutputStream pipeToUmh() {
        if (stdin.type() != java.lang.ProcessBuilder.Redirect.Type.PIPE) {
            throw new IllegalStateException("pipeToUmh: the helper's fd 0 is not a pipe: redirectInput " + stdin);
        }
        return toUmh;
    }

    /**
     * The child's fd 1: what the helper writes, this reads.
     *
     * @throws IllegalStateException if fd 1 is not a pipe ({@link ForkOptions.Builder#redirectOutput}
     *         other than PIPE): there is no such stream; {@link #getInputStream()} is a null stream
     */
    public FileInputStream pipeFromUmh() {
        if (stdout.type() != java.lang.ProcessBuilder.Redirect.Type.PIPE) {
            throw new IllegalStateException("pipeFromUmh: the helper's fd 1 is not a pipe: redirectOutput " + stdout);
        }
        return fromUmh;
    }

    /** {@link #pipeToUmh()}; with fd 0 redirected, a null stream whose writes throw {@code IOException("Stream closed")}, as ProcessBuilder's. */
    @Override
    public FileOutputStream getOutputStream() {
        return toUmh;
    }

    /** {@link #pipeFromUmh()}; with fd 1 redirected, a null stream that reads EOF, as ProcessBuilder's. */
    @Override
    public FileInputStream getInputStream() {
        return fromUmh;
    }

    /** The child's stderr with {@code Redirect.PIPE}; otherwise (and with redirectErrorStream) a null stream that reads EOF, as ProcessBuilder gives. */
    @Override
    public InputStream getErrorStream() {
        return errorStream;
    }

    @Override
    public long pid() {
        return child.pid;
    }

    /** The exit status; a child that has exited gives it even to a thread whose interrupt flag is set, as the JDK's does. */
    @Override
    public int waitFor() throws InterruptedException {
        if (exited.getCount() != 0) {
            child.waitDirectly(Child.DIRECT_WAIT_NANOS);
            exited.await();
        }
        return status;
    }

    /** As the JDK's: true at once for a child that has exited (interrupted or not); a timeout of 0 or less never waits. */
    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        if (exited.getCount() == 0) {
            return true;
        }
        long nanos = unit.toNanos(timeout); // saturates: Long.MIN_VALUE stays negative
        if (nanos <= 0) {
            return false;
        }
        long start = System.nanoTime();
        child.waitDirectly(Math.min(nanos, Child.DIRECT_WAIT_NANOS));
        return exited.await(nanos - (System.nanoTime() - start), TimeUnit.NANOSECONDS);
    }

    @Override
    public int exitValue() {
        if (exited.getCount() != 0) {
            throw new IllegalThreadStateException("process " + child.pid + " has not exited");
        }
        return status;
    }

    @Override
    public boolean isAlive() {
        return exited.getCount() != 0;
    }

    /**
     * SIGTERM. A sandboxed helper is pid 1 of its own pid namespace, which drops a SIGTERM it has
     * no handler for: that one gets SIGKILL instead, so that destroy() still ends it.
     */
    @Override
    public void destroy() {
        terminate();
    }

    /** destroy()'s signal; true if it was sent. */
    boolean terminate() {
        return child.terminate(pidNamespace);
    }

    /** SIGKILL. */
    @Override
    public UsermodeProcess destroyForcibly() {
        signal(Abi.SIGKILL);
        return this;
    }

    @Override
    public boolean supportsNormalTermination() {
        return true;
    }

    /** Completes (on the common pool, never on the reaper thread) once the child has exited and been reaped. */
    @Override
    public CompletableFuture<Process> onExit() {
        return exit.handleAsync((s, t) -> this);
    }

    @Override
    public ProcessHandle toHandle() {
        return new UsermodeProcessHandle(this);
    }

    /**
     * Stops the helper gracefully and returns its exit status: closes its stdin (EOF: a helper that
     * reads requests finishes and exits), waits up to {@code grace} for it to exit, then sends
     * SIGTERM and waits up to {@code grace} again, then sends SIGKILL. Returns once the child has
     * exited and been reaped: at most about twice {@code grace} after the call, sooner when the
     * helper exits at an earlier step. A helper that has already exited just gives its status.
     *
     * <p>Its stdout and stderr stay open, for what it wrote last; {@link #close()} closes them.
     *
     * @throws IllegalArgumentException if {@code grace} is negative
     * @throws InterruptedException if interrupted while waiting; the helper has been sent SIGKILL
     *         first, so nothing is left running
     */
    public int stop(Duration grace) throws InterruptedException {
        long nanos = Stopper.graceNanos(grace);
        try {
            Stopper.stopAll(List.of(this), nanos);
        } catch (InterruptedException e) {
            destroyForcibly();
            throw e;
        }
        destroyForcibly(); // stopAll's last step, or harmless once it has exited
        return waitFor();
    }

    /** EOF to the helper: the first step of a graceful stop. */
    void closeStdin() {
        try {
            toUmh.close();
        } catch (IOException ignored) {
            // closing a pipe end cannot fail in a way anyone could act on
        }
    }

    /** SIGKILL if still running, reap, close every pipe. Idempotent; waits for the child uninterruptibly. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (isAlive()) {
            destroyForcibly();
        }
        boolean interrupted = false;
        while (true) {
            try {
                exited.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        closeAll.byClose = true;
        pipes.clean();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Empty unless the sandbox stopped the helper: a seccomp kill (death by SIGSYS, exit status
     * 159) of a helper forked with a seccomp layer. The call is named where the kernel gave umh a
     * listener; else it is "unknown", and {@link SandboxViolation#detail()} says why.
     */
    public java.util.Optional<SandboxViolation> violation() {
        return isAlive() ? java.util.Optional.empty() : violationFor(status);
    }

    private java.util.Optional<SandboxViolation> violationFor(int status) {
        if (!seccomp || status != 128 + 31) {
            return java.util.Optional.empty();
        }
        SandboxViolation v = violation;
        return java.util.Optional.of(v != null ? v : new SandboxViolation("unknown", "killed by SIGSYS (seccomp's kill):"
                + " no listener to name the call (" + SandboxSupport.Probed.SUPPORT.status(SandboxSupport.Layer.VIOLATION_NAMES)
                + ", or an outer seccomp filter holds one)"));
    }

    /** The listener's thread: the helper made a forbidden call, which is blocked; it is stopped here. */
    void violated(SandboxViolation v) {
        violation = v;
        child.signal(Abi.SIGKILL);
    }

    /**
     * Which sandbox layers this helper got: each FULL, or NONE with why (not asked for by its
     * policy, or not available here under {@link Enforcement#BEST_EFFORT}). Empty when not sandboxed.
     */
    public java.util.Map<SandboxSupport.Layer, SandboxSupport.Status> sandboxLayers() {
        return sandboxLayers;
    }

    /** As the JDK's Process: {@code UsermodeProcess[pid=N, exitValue="not exited"]}, or the status (and a violation). */
    @Override
    public String toString() {
        String v = violation().map(x -> ", violation=" + x.syscall()).orElse("");
        return "UsermodeProcess[pid=" + child.pid + ", exitValue=" + (isAlive() ? "\"not exited\"" : status) + v + "]";
    }

    CompletableFuture<Integer> exitFuture() {
        return exit;
    }

    /** Sends {@code sig} unless the child has been reaped; true if it was sent. */
    boolean signal(int sig) {
        return child.signal(sig);
    }

    /** The pipes' Cleanable, the very action the Cleaner runs for a process nobody closed: for the race tests. */
    Cleaner.Cleanable pipesCleanable() {
        return pipes;
    }

    /** How often the exit was published: 1 once exited, whichever paths raced to complete it. */
    int publications() {
        return publications.get();
    }

    /** The child's kernel state, for tests that prove which path completed it. */
    Child child() {
        return child;
    }

    /** The child's completion, published once by {@link Child#reap}: every fd but the pipes is released. */
    private void exited(int s) {
        publications.incrementAndGet();
        if (violation != null && s == 128 + Abi.SIGKILL) {
            s = 128 + 31; // what a seccomp kill leaves: umh stopped it for the same reason, by name
        }
        if (listener >= 0) {
            Violations.forget(listener);
            Native.closeQuietly(listener);
        }
        status = s;
        SandboxViolation v = violationFor(s).orElse(null);
        Events.exit(child.pid, s, System.nanoTime() - started, v == null ? null : v.syscall());
        ShutdownHook.remove(this);
        exited.countDown();
        exit.complete(s);
    }

    /** The Cleaner's action: must not reference the process. */
    private static final class CloseAll implements Runnable {
        private static final Log LOG = Log.LOG;
        private static final AtomicBoolean WARNED = new AtomicBoolean(); // once a WARNING, then DEBUG
        private final int pid;
        private final Closeable[] closeables;
        volatile boolean byClose; // set by close(): no warning

        CloseAll(int pid, Closeable... closeables) {
            this.pid = pid;
            this.closeables = closeables;
        }

        @Override
        public void run() {
            if (!byClose) {
                Level level = WARNED.compareAndSet(false, true) ? Level.WARNING : Level.DEBUG;
                LOG.log(level, "umh: closing the pipes of helper pid " + pid + ", which nobody closed; close each"
                        + " UsermodeProcess (try-with-resources) to release them at once (later ones are logged at DEBUG)");
            }
            for (Closeable c : closeables) {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // closing a pipe end cannot fail in a way anyone could act on
                }
            }
        }
    }
}
