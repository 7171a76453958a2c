package io.umh;

import io.umh.internal.Watchdog;
import java.io.Closeable;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.ProcessBuilder.Redirect;
import java.lang.System.Logger.Level;
import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A running (or finished) usermode helper: its pid, its pipes and its exit.
 *
 * <p>The child's fd 0 is {@link #pipeToUmh()}, its fd 1 {@link #pipeFromUmh()}; both are plain
 * file streams over the pipe and are the very objects {@link #getOutputStream()} and
 * {@link #getInputStream()} return. Signals go through a pidfd, so they can never reach a process
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
        return t;
    });

    private final int pid;
    private final FileOutputStream toUmh;
    private final FileInputStream fromUmh;
    private final InputStream errorStream;
    private final CloseAll closeAll;
    private final Cleaner.Cleanable pipes;
    private final CountDownLatch exited = new CountDownLatch(1);
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Object lock = new Object();
    private int pidfd;          // guarded by lock: -1 once released, or without pidfds
    private boolean reaped;     // guarded by lock: never signal a reaped child
    private volatile int status;
    private final long started = System.nanoTime();
    /** How long waitFor waits on the pidfd itself before it leaves the child to the reaper thread. */
    private static final long DIRECT_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private final AtomicBoolean directWaiter = new AtomicBoolean();

    private UsermodeProcess(int[] fds) {
        this.toUmh = new FileOutputStream(Native.fileDescriptor(fds[0]));
        this.fromUmh = new PipeInputStream(Native.fileDescriptor(fds[1]));
        this.errorStream = fds[2] >= 0 ? new PipeInputStream(Native.fileDescriptor(fds[2])) : InputStream.nullInputStream();
        this.pid = fds[3];
        this.pidfd = fds[4];
        this.closeAll = new CloseAll(pid, toUmh, fromUmh, errorStream);
        this.pipes = CLEANER.register(this, closeAll);
    }

    /** Clones a child from a loaded blob, on the spawner thread, and hands it to the reaper. */
    static UsermodeProcess spawn(int memfd, boolean script, ForkOptions o) throws IOException {
        Redirect err = o.redirectError();
        int errFd = 2;
        if (err.type() == Redirect.Type.PIPE) {
            errFd = -1;
        } else if (err.type() != Redirect.Type.INHERIT) {
            String file = err.file().getPath();
            int rc = Native.openOutput(ForkOptions.nulTerminated(file), err.type() == Redirect.Type.APPEND);
            if (rc < 0) {
                throw Native.error("fork", rc, ": " + file);
            }
            errFd = rc;
        }
        int[] out = new int[5];
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
        UsermodeProcess p = new UsermodeProcess(out);
        ShutdownHook.add(p); // before the reaper can see it exit
        try {
            Reaper.watch(p, p.pidfd);
        } catch (IOException e) {
            p.destroyForcibly();
            p.releasePidfd();
            p.exited(p.tryReap(true));
            p.close();
            throw e;
        }
        return p;
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

    /** The child's fd 0: what is written here, the helper reads. */
    public FileOutputStream pipeToUmh() {
        return toUmh;
    }

    /** The child's fd 1: what the helper writes, this reads. */
    public FileInputStream pipeFromUmh() {
        return fromUmh;
    }

    @Override
    public FileOutputStream getOutputStream() {
        return toUmh;
    }

    @Override
    public FileInputStream getInputStream() {
        return fromUmh;
    }

    /** The child's stderr with {@code Redirect.PIPE}; otherwise an empty stream, as ProcessBuilder gives. */
    @Override
    public InputStream getErrorStream() {
        return errorStream;
    }

    @Override
    public long pid() {
        return pid;
    }

    @Override
    public int waitFor() throws InterruptedException {
        waitOnPidfd(DIRECT_WAIT_NANOS);
        exited.await();
        return status;
    }

    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        long start = System.nanoTime();
        waitOnPidfd(Math.min(nanos, DIRECT_WAIT_NANOS));
        return exited.await(nanos - (System.nanoTime() - start), TimeUnit.NANOSECONDS);
    }

    /**
     * Waits on the child's pidfd on the calling thread for up to {@code nanos}, and reaps it here
     * if it exits meanwhile. That saves the reaper thread's wake-up and its hand-off to this
     * thread: two cross-CPU wake-ups, ~300 us of a ~1.5 ms spawn+wait of a short helper here.
     * One thread at a time, platform threads only (a poll pins a virtual thread's carrier); the
     * reaper leaves the pidfd alone meanwhile and watches it again after. The poll runs on a
     * duplicate, so the pidfd may be released under it; it wakes every 10 ms for interrupts.
     */
    private void waitOnPidfd(long nanos) throws InterruptedException {
        if (nanos <= 0 || exited.getCount() == 0 || VirtualThreads.current() || !directWaiter.compareAndSet(false, true)) {
            return;
        }
        int key;
        int fd = -1;
        synchronized (lock) {
            key = pidfd;
            if (!reaped && key >= 0 && (fd = Native.dup(key)) >= 0) {
                Reaper.pause(key);
            }
        }
        try {
            long deadline = System.nanoTime() + nanos;
            for (long left = nanos; fd >= 0 && left > 0; left = deadline - System.nanoTime()) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                int ready = Native.pollIn(fd, (int) Math.min(10, TimeUnit.NANOSECONDS.toMillis(left) + 1));
                if (ready > 0) {
                    int s = tryReap(false);
                    if (s != NOT_REAPED) {
                        Reaper.reaped(this, key, s, false); // paused above: not in the epoll
                    }
                }
                if (ready != 0) {
                    break; // exited, or a poll error: the reaper takes it from here
                }
            }
        } finally {
            if (fd >= 0) {
                Native.close(fd);
                boolean watched;
                synchronized (lock) {
                    watched = pidfd < 0 || Reaper.resume(this, key);
                }
                if (!watched) { // the epoll refused it back (ENOMEM): a thread of its own waits
                    Reaper.reapOnThread(this, key);
                }
            }
            directWaiter.set(false);
        }
    }

    @Override
    public int exitValue() {
        if (exited.getCount() != 0) {
            throw new IllegalThreadStateException("process " + pid + " has not exited");
        }
        return status;
    }

    @Override
    public boolean isAlive() {
        return exited.getCount() != 0;
    }

    /** SIGTERM. */
    @Override
    public void destroy() {
        signal(Native.SIGTERM);
    }

    /** SIGKILL. */
    @Override
    public UsermodeProcess destroyForcibly() {
        signal(Native.SIGKILL);
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
        long nanos = graceNanos(grace);
        try {
            stopAll(List.of(this), nanos);
        } catch (InterruptedException e) {
            destroyForcibly();
            throw e;
        }
        destroyForcibly(); // stopAll's last step, or harmless once it has exited
        return waitFor();
    }

    /**
     * Stop's first two steps for several helpers at once, the waits shared: EOF to all, wait up to
     * {@code graceNanos} for all, SIGTERM to those still running, wait up to {@code graceNanos}, then
     * SIGKILL to those still running. Does not wait for the SIGKILLed to be reaped.
     */
    static void stopAll(Collection<UsermodeProcess> processes, long graceNanos) throws InterruptedException {
        for (UsermodeProcess p : processes) {
            p.closeStdin();
        }
        if (awaitAll(processes, graceNanos)) {
            return;
        }
        for (UsermodeProcess p : processes) {
            p.destroy();
        }
        if (awaitAll(processes, graceNanos)) {
            return;
        }
        for (UsermodeProcess p : processes) {
            p.destroyForcibly();
        }
    }

    /** True once every process has exited, false if some still run after {@code nanos}. */
    private static boolean awaitAll(Collection<UsermodeProcess> processes, long nanos) throws InterruptedException {
        long deadline = System.nanoTime() + nanos;
        for (UsermodeProcess p : processes) {
            if (!p.waitFor(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                return false;
            }
        }
        return true;
    }

    static long graceNanos(Duration grace) {
        Objects.requireNonNull(grace, "grace");
        if (grace.isNegative()) {
            throw new IllegalArgumentException("grace is negative: " + grace);
        }
        return Watchdog.nanos(grace);
    }

    private void closeStdin() {
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

    @Override
    public String toString() {
        return "UsermodeProcess[pid=" + pid + (isAlive() ? ", alive" : ", exitValue=" + status) + "]";
    }

    CompletableFuture<Integer> exitFuture() {
        return exit;
    }

    /** Sends {@code sig} unless the child has been reaped; true if it was sent. */
    boolean signal(int sig) {
        synchronized (lock) {
            return !reaped && Native.signal(pidfd, pid, sig) == 0;
        }
    }

    /** What {@link #tryReap} answers for a child still running: never an exit status (those are -1 or more). */
    static final int NOT_REAPED = Integer.MIN_VALUE;

    /**
     * Reaps the child if it has exited: its status, or {@link #NOT_REAPED}. After this, no
     * signal is sent any more; the caller releases the pidfd and then calls {@link #exited}.
     */
    int tryReap(boolean block) {
        synchronized (lock) {
            if (reaped) {
                return status;
            }
            int s = Native.reap(pidfd, pid, block);
            if (s == Native.RUNNING) {
                return NOT_REAPED;
            }
            reaped = true;
            // a failed waitid (ECHILD: someone else reaped our child, e.g. SIGCHLD set to SIG_IGN): status unknown
            status = s < 0 ? -1 : s;
            return status;
        }
    }

    /** Completes waitFor and onExit; called once every resource but the pipes is released. */
    void exited(int s) {
        Events.exit(pid, s, System.nanoTime() - started);
        ShutdownHook.remove(this);
        exited.countDown();
        exit.complete(s);
    }

    /** Closes the pidfd once the child is reaped and the reaper has forgotten it. */
    void releasePidfd() {
        synchronized (lock) {
            if (pidfd >= 0) {
                Native.close(pidfd);
                pidfd = -1;
            }
        }
    }

    /** The Cleaner's action: must not reference the process. */
    private static final class CloseAll implements Runnable {
        private static final System.Logger LOG = System.getLogger("io.umh");
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
