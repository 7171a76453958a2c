package io.umh;

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
 * JVM shutdown every live helper gets such a stop (unless {@link ForkOptions.Lifetime#OUTLIVES_JVM}),
 * bounded in all by {@code -Dumh.shutdown.grace} (an ISO-8601 duration or milliseconds, default
 * 2 s; half of it for EOF, half for SIGTERM). {@link #close()} closes the streams (EOF), waits for
 * the child to exit and kills it only if it is still running after {@link ForkOptions#closeGrace()}.
 *
 * <p><b>Release at exit</b>, as the JDK does: once the child has exited (whether or not anyone
 * waits for it), its stdin is closed and its stdout and stderr pipes are read into memory (what
 * they hold: at most their capacity) and closed; their streams, still the same objects, then serve
 * those bytes and EOF (see {@code PipeInputStream}; a {@code getChannel()} taken before the exit
 * keeps its fd until close()). So a process that is waited for but never
 * closed keeps no fd. A thread that is reading one of them at exit stays its one reader: the
 * release waits for that read to end and is done by that thread, never beside it.
 */
public final class UsermodeProcess extends Process implements AutoCloseable {
    private final Child child;
    private final FileOutputStream toUmh;
    private final FileInputStream fromUmh;
    private final InputStream errorStream; // the stderr pipe, or null: then getErrorStream() makes a null stream
    private InputStream nullErrorStream;   // guarded by this
    private final java.lang.ProcessBuilder.Redirect stdin;  // null or PIPE, or the redirect that replaced the pipe
    private final java.lang.ProcessBuilder.Redirect stdout;
    private final Closer closeAll; // the Cleaner's action: it must not reference the process
    private final Cleaner.Cleanable pipes;
    private final CountDownLatch exited = new CountDownLatch(1);
    /**
     * onExit's future, made by its first call (guarded by {@code exited}): a first fork that never
     * asks sets up no CompletableFuture, whose class initialisation starts ForkJoinPool's
     * (two dozen classes, ~9 of them outside the JDK's CDS archive).
     */
    private CompletableFuture<Integer> exit;
    // flags as AtomicIntegers (0, 1), not AtomicBooleans: AtomicBoolean's VarHandle costs a fresh JVM ~0.7 ms of its first fork
    private final AtomicInteger closed = new AtomicInteger();
    private final AtomicInteger publications = new AtomicInteger(); // 1 once exited: the race tests check it
    private volatile int status;
    private final java.util.Map<SandboxSupport.Layer, SandboxSupport.Status> sandboxLayers;
    private final boolean seccomp; // a seccomp filter stops it on a violation
    private final boolean pidNamespace; // pid 1 of a pid namespace of its own
    private final int listener;         // the seccomp listener, or -1; closed once reaped
    private volatile SandboxViolation violation; // named by the listener's thread
    private volatile boolean oomKilled; // by the OOM killer in its own cgroup, read before its removal
    private final Cgroup cgroup;        // the helper's own, or null; removed once reaped
    private final long started = System.nanoTime();
    private final java.time.Duration closeGrace; // in nanoseconds (Stopper) only when close() must wait
    private final AtomicInteger holding = new AtomicInteger(1); // counted in HOLDING until exit or close
    /** Helpers forked and neither exited nor closed: they hold pipes, named by an EMFILE. */
    private static final AtomicInteger HOLDING = new AtomicInteger();
    /** How long close() waits for a child it has SIGKILLed (one stuck in the kernel) before it leaves it to the reaper. */
    static final long KILL_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final java.util.concurrent.atomic.AtomicLong SERIALS = new java.util.concurrent.atomic.AtomicLong();
    /** Which fork this is, in this JVM: orders two handles of children that had the same pid. */
    final long serial = SERIALS.incrementAndGet();

    private UsermodeProcess(Spawn spawned, ForkOptions o) {
        int[] fds = spawned.fds();
        this.cgroup = spawned.cgroup();
        this.sandboxLayers = spawned.layers();
        // not sandboxed: not even the Layer enum loaded
        this.seccomp = !sandboxLayers.isEmpty() && full(sandboxLayers.get(SandboxSupport.Layer.SECCOMP));
        this.pidNamespace = !sandboxLayers.isEmpty() && full(sandboxLayers.get(SandboxSupport.Layer.NAMESPACES));
        this.listener = fds[Abi.OUT_LISTENER];
        this.stdin = o.redirect(0);
        this.stdout = o.redirect(1);
        int in = fds[Abi.OUT_STDIN_W];
        int out = fds[Abi.OUT_STDOUT_R];
        this.closeGrace = o.closeGrace(); // validated by ForkOptions: not negative
        int err = fds[Abi.OUT_STDERR_R];
        // the null streams' classes loaded only where they are used: stderr, not piped by default, gets its
        // own at the first getErrorStream()
        this.toUmh = in >= 0 ? new FileOutputStream(Native.fileDescriptor(in)) : NullStreams.output();
        this.fromUmh = out >= 0 ? new PipeInputStream(Native.fileDescriptor(out)) : NullStreams.input();
        this.errorStream = err >= 0 ? new PipeInputStream(Native.fileDescriptor(err)) : null;
        this.child = new Child(fds[Abi.OUT_PID], fds[Abi.OUT_PIDFD], this);
        this.closeAll = new Closer(child.pid, toUmh, fromUmh, errorStream);
        this.pipes = CleanerThread.CLEANER.register(this, closeAll);
        HOLDING.incrementAndGet();
    }

    private static boolean full(SandboxSupport.Status layer) {
        return layer != null && layer.level() == SandboxSupport.Level.FULL;
    }

    /** Clones a child from a loaded blob (named {@code name}, NUL-terminated) and hands it to the reaper. */
    static UsermodeProcess spawn(int memfd, BlobInfo blob, byte[] name, ForkOptions o) throws IOException {
        UsermodeProcess p = new UsermodeProcess(spawnExplained(memfd, blob, name, o), o);
        if (o.stoppedAtShutdown()) {
            ShutdownHook.add(p); // before the reaper can see it exit
        }
        try {
            if (p.listener >= 0) {
                Violations.watch(p, p.listener); // before the helper runs far enough to violate
            }
            p.child.watch();
        } catch (IOException e) {
            p.child.signal(Abi.SIGKILL);
            p.child.awaitAndReap(Child.SPAWN);
            p.close();
            throw e;
        }
        return p;
    }

    /** Spawn.run; an EMFILE says how many helpers hold fds because nobody closed them. */
    private static Spawn spawnExplained(int memfd, BlobInfo blob, byte[] name, ForkOptions o) throws IOException {
        try {
            return Spawn.run(memfd, blob, name, o);
        } catch (IOException e) {
            int holding = HOLDING.get();
            if (holding == 0 || e.getMessage() == null || !e.getMessage().contains("EMFILE")) {
                throw e;
            }
            throw new IOException(e.getMessage() + "; " + holding + " helper(s) forked by umh are running and not closed,"
                    + " holding 3 to 5 fds each: close each UsermodeProcess once done with it (try-with-resources)", e);
        }
    }

    /**
     * The child's fd 0: what is written here, the helper reads.
     *
     * @throws IllegalStateException if fd 0 is not a pipe ({@link ForkOptions.Builder#redirectInput}
     *         other than PIPE): there is no such stream; {@link #getOutputStream()} is a null stream
     */
    public FileOutputStream pipeToUmh() {
        if (stdin != null && stdin.type() != java.lang.ProcessBuilder.Redirect.Type.PIPE) {
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
        if (stdout != null && stdout.type() != java.lang.ProcessBuilder.Redirect.Type.PIPE) {
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
        if (errorStream != null) {
            return errorStream;
        }
        synchronized (this) {
            if (nullErrorStream == null) {
                nullErrorStream = NullStreams.input();
            }
            return nullErrorStream;
        }
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

    /**
     * As the JDK's: true at once for a child that has exited (interrupted or not); a timeout of 0 or
     * less never waits; a null unit throws NullPointerException, exited or not.
     */
    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout); // first, as the JDK's: NPE before any other answer; saturates
        if (exited.getCount() == 0) {
            return true;
        }
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

    /**
     * Sends {@code signal} through the pidfd, so it can only reach this child; refused (false) once
     * the child has been reaped, when its pid may already be another process's. A sandboxed helper,
     * pid 1 of its own pid namespace, gets only the signals it has a handler for (SIGKILL and
     * SIGSTOP aside): the kernel drops the others.
     *
     * @return true if it was sent; false if the child has been reaped (or the kernel refused, EPERM)
     */
    public boolean sendSignal(Signal signal) {
        return signal(java.util.Objects.requireNonNull(signal, "signal").number());
    }

    /**
     * {@link #sendSignal(Signal)} by number, for any signal 1 to 64 (the real-time ones too).
     *
     * @throws IllegalArgumentException if {@code signal} is not within 1 and 64
     */
    public boolean sendSignal(int signal) {
        if (signal < 1 || signal > Abi.SIGMAX) {
            throw new IllegalArgumentException("sendSignal: no signal " + signal + " (1 to " + Abi.SIGMAX + ")");
        }
        return signal(signal);
    }

    @Override
    public boolean supportsNormalTermination() {
        return true;
    }

    /** Completes (on the common pool, never on the reaper thread) once the child has exited and been reaped. */
    @Override
    public CompletableFuture<Process> onExit() {
        return exitFuture().handleAsync((s, t) -> this);
    }

    /**
     * umh's own handle for this child: destroy and onExit act through the pidfd and umh's reaper,
     * so they can never reach another process that reuses the pid. It is not the JDK's handle for
     * the pid, and does not equal it: {@code ProcessHandle.current().children()} and
     * {@code ProcessHandle.of(pid())} give the JDK's (they match by {@code pid()}, not by equals);
     * the JDK's equals accepts only its own class, and compareTo throws ClassCastException across
     * the two kinds. info(), children() and descendants() come from the JDK's handle while the
     * child runs; once it has exited, they are empty. Its info() waits until the kernel has
     * finished the exec (up to a second; fork returns a fraction of a millisecond before the new
     * argv is in place); the JDK's handle for the pid, read at once, may lack the arguments.
     */
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

    /**
     * Ends the process as the JDK's {@code Process.close()} does (JDK 26; the same here on 17):
     * closes its stdin (EOF), stdout and stderr, then waits for it to exit, up to
     * {@link ForkOptions#closeGrace()} (default 2 s); a child still running then is SIGKILLed and
     * reaped. The exit status is the child's own: a {@code cat} that exits at EOF ends 0. With
     * {@code closeGrace(Duration.ZERO)} a running child is SIGKILLed at once, before its streams
     * close (what close() always did before: such a child ends 137).
     *
     * <p>Interrupted while waiting, it kills the child at once, waits for it to be reaped, and
     * returns with the interrupt flag set. The wait is bounded: a child that does not die within
     * 10 s of SIGKILL (stuck in the kernel) is left to the reaper, which reaps it once it dies.
     * Idempotent: later calls return at once.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(0, 1)) {
            return;
        }
        if (closeGrace.isZero()) {
            destroyForcibly(); // no grace: killed before the EOF could let it exit by itself, as close() always did
        }
        closeAll.closeStreams(); // EOF; and nobody reads its output any more
        boolean interrupted = false;
        try {
            if (isAlive() && !waitFor(Stopper.graceNanos(closeGrace), TimeUnit.NANOSECONDS)) {
                destroyForcibly();
            }
        } catch (InterruptedException e) {
            interrupted = true;
            destroyForcibly();
        }
        interrupted |= awaitKilled();
        closeAll.byClose = true;
        pipes.clean();
        unhold();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** After a SIGKILL: waits up to {@link #KILL_WAIT_NANOS} for the reap, through interrupts; true if interrupted. */
    private boolean awaitKilled() {
        boolean interrupted = false;
        long deadline = System.nanoTime() + KILL_WAIT_NANOS;
        for (long left = KILL_WAIT_NANOS; left > 0 && exited.getCount() != 0; left = deadline - System.nanoTime()) {
            try {
                exited.await(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (exited.getCount() != 0) {
            Log.LOG.log(Level.WARNING, "umh: helper pid " + child.pid + " has not died within 10 s of SIGKILL"
                    + " (stuck in the kernel?); close() returns, and the reaper reaps it once it dies");
        }
        return interrupted;
    }

    /** Counted no more among the helpers that hold pipes; once. */
    private void unhold() {
        if (holding.compareAndSet(1, 0)) {
            HOLDING.decrementAndGet();
        }
    }

    /** The release at exit: stdin closed; stdout and stderr kept in memory, their fds closed. */
    private void releaseAtExit() {
        closeStdin();
        for (InputStream in : new InputStream[] {fromUmh, errorStream}) {
            if (in instanceof PipeInputStream) { // a pipe; not the null stream of a redirected fd
                ((PipeInputStream) in).releaseAtExit();
            }
        }
        unhold();
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

    /**
     * The cgroup v2 this sandboxed helper runs in, of its own ({@link SandboxPolicy.Builder#cgroup}),
     * or empty for none. It is removed once the helper has exited and been reaped.
     */
    public java.util.Optional<java.nio.file.Path> cgroup() {
        return java.util.Optional.ofNullable(cgroup).map(c -> c.path);
    }

    /**
     * True once the helper has exited killed by the kernel's OOM killer in its own cgroup: past its
     * {@link SandboxPolicy.Builder#memoryMax} (exit status 137, counted in the cgroup's
     * memory.events before umh removed it). False while it runs, and for any other end, a
     * {@code kill -9} by someone else included.
     */
    public boolean oomKilled() {
        return oomKilled && !isAlive();
    }

    /** As the JDK's Process: {@code UsermodeProcess[pid=N, exitValue="not exited"]}, or the status (and a violation, an OOM kill). */
    @Override
    public String toString() {
        String v = violation().map(x -> ", violation=" + x.syscall()).orElse(oomKilled() ? ", oomKilled=true" : "");
        return "UsermodeProcess[pid=" + child.pid + ", exitValue=" + (isAlive() ? "\"not exited\"" : status) + v + "]";
    }

    /** Completes with the exit status once the child has exited and been reaped; made at the first call. */
    CompletableFuture<Integer> exitFuture() {
        synchronized (exited) {
            if (exit == null) {
                exit = new CompletableFuture<>();
                if (exited.getCount() == 0) { // exited() looked before this existed: complete it here
                    exit.complete(status);
                }
            }
            return exit;
        }
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

    /** The child's completion, published once by {@link Child#reap} (outside its lock): every fd but the pipes is released. */
    void exited(int s) {
        publications.incrementAndGet();
        if (violation != null && s == 128 + Abi.SIGKILL) {
            s = 128 + 31; // what a seccomp kill leaves: umh stopped it for the same reason, by name
        }
        if (listener >= 0) {
            Violations.forget(listener);
            Native.closeQuietly(listener);
        }
        if (cgroup != null) {
            oomKilled = s == 128 + Abi.SIGKILL && cgroup.oomKills() > 0; // an OOM kill is a SIGKILL
            cgroup.remove(); // before anyone waiting learns of the exit
        }
        status = s;
        if (UsermodeBlob.recording()) {
            SandboxViolation v = violationFor(s).orElse(null);
            Events.exit(child.pid, s, System.nanoTime() - started, v == null ? null : v.syscall(), oomKilled);
        }
        ShutdownHook.remove(this);
        releaseAtExit(); // before waitFor returns: whoever waited sees the fds released
        exited.countDown();
        CompletableFuture<Integer> f;
        synchronized (exited) { // after the count: an exitFuture() made from now on completes itself
            f = exit;
        }
        if (f != null) {
            f.complete(s);
        }
    }
}
