package io.umh.service;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.umh.ForkOptions;
import io.umh.SandboxViolation;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;
import io.umh.internal.PermanentForkFailure;
import io.umh.internal.Watchdog;

/**
 * Keeps one helper running: forks it from a blob, runs a start hook before it counts as up,
 * checks its health now and then, restarts it by a policy with exponential backoff, and reports
 * itself {@link State#FAILED} rather than loop when it restarted too often within a window.
 * A fork that fails for a reason that will not change (bytes that are no program, a missing
 * {@code #!} interpreter or ELF loader, a memfd exec refused with EACCES, a sandbox layer
 * REQUIRED but missing here, a closed blob) fails the service at once, with that cause, and no
 * restart: {@link Builder#start()} throws it.
 *
 * <pre>{@code
 * try (UsermodeBlob blob = Umh.load(bytes);
 *      UsermodeService service = UsermodeService.builder(blob)
 *              .restart(UsermodeService.Restart.ON_FAILURE)
 *              .healthCheck(ch -> ch.call(PING), Duration.ofSeconds(10), Duration.ofSeconds(1))
 *              .start()) {
 *     byte[] reply = service.call(request);
 * }
 * }</pre>
 *
 * <p><b>Calls across restarts.</b> {@link #call(byte[], Duration)} waits, within the call's own
 * deadline, while the service is STARTING or RESTARTING, and fails at once when it is FAILED or
 * STOPPED, saying why. A call in flight when its helper dies fails with that helper's pid and exit
 * status, unless it is idempotent ({@link Builder#idempotent} for every call, {@link #callIdempotent}
 * for one): then it is sent again to the next helper, never twice to one, never after its deadline.
 * {@link #callAsync(byte[], Duration)} does the same with no thread waiting: it returns a future at
 * once, sent on the current helper's channel or kept until the next helper is up.
 * {@link UsermodePool} spreads calls over several such services.
 *
 * <p>Each helper comes with a {@link UsermodeChannel} (framed requests and replies); the hooks get
 * it, and {@link #channel()} and {@link #call(byte[])} use the current one. Once a helper has
 * exited the service closes its channel and its process (the process once no call is in flight on
 * the channel): a caller still holding either gets an IOException saying which helper exited and
 * how, never a hang, and asks the service again.
 *
 * <p>One thread per service, "umh-service-NAME", forks the helpers, runs the hooks and calls the
 * listeners, in order; it ends when the service has stopped or failed. Timeouts kill the helper
 * (which ends every read and write on its pipes) from the shared "umh-timer" thread.
 */
public final class UsermodeService implements AutoCloseable {
    /** When a helper that has exited is started again. */
    public enum Restart {
        /** Never: the service stops after a clean exit (status 0) and fails after any other. */
        NEVER,
        /** After an exit with a status other than 0, or a failed start hook or health check. */
        ON_FAILURE,
        /** After every exit, clean or not. */
        ALWAYS
    }

    /** Where the service is in its life. */
    public enum State {
        /** Forking a helper and running the start hook. */
        STARTING,
        /** The helper is up: {@link #channel()} and {@link #process()} give it. */
        RUNNING,
        /** The helper has exited; the service waits out the backoff before it starts another. */
        RESTARTING,
        /** Given up (the policy or the restart limit said so): no helper runs, none will. */
        FAILED,
        /** Stopped for good: by {@link #stop}, by {@link #close}, by JVM shutdown, or by a clean exit not restarted. */
        STOPPED
    }

    /** A start hook or a health check: talks to a helper and throws if it is not right. */
    @FunctionalInterface
    public interface Hook {
        /** Checks the helper behind {@code channel}; returns normally if it is fine, throws if not. */
        void run(UsermodeChannel channel) throws Exception;
    }

    /** What a service tells about its helpers, on the service's thread, in order. Methods default to nothing. */
    public interface Listener {
        /** A helper is up: forked and through the start hook. */
        default void started(UsermodeProcess process) {}

        /**
         * A helper has exited and been reaped: {@code status} is its exit code or 128+signal;
         * {@code cause} is why the service ended it (its start hook or health check failed or timed
         * out), or null if it exited by itself or the service was being stopped.
         */
        default void exited(UsermodeProcess process, int status, Exception cause) {}

        /**
         * The sandbox stopped a helper ({@link UsermodeProcess#violation()}): the call it made that
         * its policy does not allow. Heard just before that helper's {@link #exited}, whose status
         * is then 159 (128+SIGSYS); the exit's message names the call too.
         */
        default void violated(UsermodeProcess process, SandboxViolation violation) {}

        /** A new helper will be started after {@code delay}: restart number {@code restart}, counted from 1. */
        default void restarting(int restart, Duration delay) {}

        /** The service has given up: {@code cause} says why. */
        default void failed(IOException cause) {}

        /** The service has stopped for good. */
        default void stopped() {}
    }

    private static volatile boolean shuttingDown; // once true, for good

    private final UsermodeBlob blob;
    private final ForkOptions options;
    private final String name;
    private final RestartPolicy policy; // the supervisor's only
    private final Hook startHook;
    private final Duration startTimeout;
    private final Hook healthCheck;
    private final Duration checkInterval;
    private final Duration checkTimeout;
    private final int maxFrameSize;
    private final Duration callTimeout;
    private final boolean idempotent;
    private final List<Listener> listeners;
    private final Duration stopGrace;
    private final Thread supervisor;
    private int restarts; // the supervisor's only

    private State state = State.STARTING; // guarded by this, as are the fields below
    private UsermodeProcess process;
    private UsermodeChannel channel;
    private boolean everRunning;
    private boolean stopping;
    private Duration grace;
    private IOException why; // why the service is not RUNNING
    private final WaitingCalls waiting = new WaitingCalls(this); // async calls waiting for a helper

    private UsermodeService(Builder b) {
        blob = b.blob;
        options = b.options;
        name = b.name != null ? b.name : b.options.argv0() != null ? b.options.argv0() : b.blob.name();
        policy = new RestartPolicy(b.restart, b.backoffInitial, b.backoffMax, b.jitter, b.restartLimit, b.restartWindow,
                System::nanoTime, () -> ThreadLocalRandom.current().nextDouble());
        startHook = b.startHook;
        startTimeout = b.startTimeout;
        healthCheck = b.healthCheck;
        checkInterval = b.checkInterval;
        checkTimeout = b.checkTimeout;
        maxFrameSize = b.maxFrameSize;
        callTimeout = b.callTimeout;
        idempotent = b.idempotent;
        listeners = List.copyOf(b.listeners);
        stopGrace = b.stopGrace;
        grace = stopGrace;
        supervisor = new Thread(null, this::supervise, "umh-service-" + name, 0, false);
        supervisor.setDaemon(true);
    }

    /** A builder for a service that runs {@code blob}. */
    public static Builder builder(UsermodeBlob blob) {
        return new Builder(blob);
    }

    /** Where the service is now. */
    public synchronized State state() {
        return state;
    }

    /**
     * The helper that is up now.
     *
     * @throws IOException saying why, unless the service is RUNNING with a live helper
     */
    public synchronized UsermodeProcess process() throws IOException {
        checkRunning();
        return process;
    }

    /**
     * The channel to the helper that is up now.
     *
     * @throws IOException saying why, unless the service is RUNNING with a live helper
     */
    public synchronized UsermodeChannel channel() throws IOException {
        checkRunning();
        return channel;
    }

    /**
     * {@link #call(byte[], Duration)} within the builder's call timeout ({@link Builder#channel};
     * without one, no limit).
     */
    public byte[] call(byte[] request) throws IOException {
        return call(request, callTimeout, idempotent);
    }

    /**
     * Sends {@code request} to the current helper and returns its reply, all within {@code timeout}
     * (null: no limit). While the service is STARTING or RESTARTING the call waits for the next
     * helper; it fails at once when the service is FAILED, STOPPED or stopping, saying why. If the
     * helper dies with the call in flight (taken by its channel: waiting for its turn or sent), the
     * call fails with the channel's IOException, which names the helper's pid and exit status, unless
     * the builder made calls {@linkplain Builder#idempotent idempotent}: then it is sent again to the
     * next helper, as by {@link #callIdempotent}.
     *
     * @throws InterruptedIOException if no helper came up within {@code timeout} (the message says
     *         where the service is), on the channel's timeout, or if interrupted while waiting
     * @throws IOException if the service has ended, or its helper failed during the call
     * @throws IllegalArgumentException if the request is longer than the maximum frame size
     */
    public byte[] call(byte[] request, Duration timeout) throws IOException {
        return call(request, timeout, idempotent);
    }

    /**
     * {@link #call(byte[], Duration)} for a request that may run twice, whatever the builder says:
     * if its helper dies (or is killed for breaking the framing) before the reply, the request is
     * sent again to the next helper, never twice to one, and never once {@code timeout} has passed;
     * a failure then names the helper that died, its pid and exit status, as well as why no other took it.
     * A request that kills every helper it reaches is sent to each next one until its deadline or
     * the restart limit (which fails the service): give such calls a deadline.
     */
    public byte[] callIdempotent(byte[] request, Duration timeout) throws IOException {
        return call(request, timeout, true);
    }

    private byte[] call(byte[] request, Duration timeout, boolean retry) throws IOException {
        Objects.requireNonNull(request, "request");
        Deadline deadline = Deadline.after(timeout);
        UsermodeChannel tried = null; // the helper that died under this call: never again
        IOException lost = null;
        while (true) {
            UsermodeChannel ch = awaitChannel(deadline, tried, lost);
            try {
                return ch.call(request, deadline.left());
            } catch (IOException e) {
                if (!retry || !helperLost(ch, e)) {
                    throw e;
                }
                tried = ch;
                lost = e;
            }
        }
    }

    /**
     * Whether a call failed because its helper is gone (it exited, or its channel killed it for
     * breaking the framing): the channel is closed. Not a timeout: the call's time is up.
     */
    static boolean helperLost(UsermodeChannel ch, IOException failure) {
        return !(failure instanceof InterruptedIOException) && !ch.isOpen();
    }

    /**
     * The channel of a live helper other than {@code tried}, waiting for one within {@code deadline};
     * throws at once if the service has ended or is stopping. {@code lost}: why this call is
     * waiting again, named in the failure.
     */
    private synchronized UsermodeChannel awaitChannel(Deadline deadline, UsermodeChannel tried, IOException lost)
            throws IOException {
        UsermodeChannel ch;
        while ((ch = readyChannel(deadline, tried, lost)) == null) {
            try {
                TimeUnit.NANOSECONDS.timedWait(this, deadline.nanosLeft());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("umh service " + name + ": interrupted while waiting for a helper; nothing was sent"
                        + retried(lost));
            }
        }
        return ch;
    }

    /**
     * The channel of a live helper other than {@code tried}, or null if the call is to wait for the
     * next one; throws if the service has ended or is stopping, or {@code deadline} has passed.
     */
    private synchronized UsermodeChannel readyChannel(Deadline deadline, UsermodeChannel tried, IOException lost)
            throws IOException {
        if (!stopping && running() && channel != tried) {
            return channel;
        }
        if (stopping || ended()) {
            String s = stopping && !ended() ? "is stopping" : "is " + state + (why == null ? "" : ": " + why.getMessage());
            throw new IOException("umh service " + name + " " + s + retried(lost), lost != null ? lost : why);
        }
        if (deadline.nanosLeft() <= 0) {
            throw noHelperInTime(deadline, lost);
        }
        return null;
    }

    private synchronized InterruptedIOException noHelperInTime(Deadline deadline, IOException lost) {
        InterruptedIOException e = new InterruptedIOException("umh service " + name + ": no helper took the call within "
                + deadline.timeout() + "; " + status() + retried(lost));
        e.initCause(lost != null ? lost : why);
        return e;
    }

    // ---- async calls

    /** {@link #callAsync(byte[], Duration)} within the builder's call timeout (without one, no limit). */
    public CompletableFuture<byte[]> callAsync(byte[] request) {
        return callAsync(request, callTimeout, idempotent);
    }

    /**
     * {@link #call(byte[], Duration)} without a waiting thread: with a helper up, the current
     * channel's {@link UsermodeChannel#callAsync(byte[], Duration) callAsync} (the request is written
     * on this thread, the future completed by the channel's reader); while the service is STARTING
     * or RESTARTING the call waits in a list, sent by the service's thread once the next helper is
     * up, or failed by the shared timer at its deadline. The future fails as the sync call throws
     * (at once when the service is FAILED, STOPPED or stopping); an idempotent one
     * ({@link Builder#idempotent}) is sent again to the next helper if its helper dies under it (from
     * the common ForkJoinPool: the thread that saw the helper die may hold its channel's write turn).
     * Cancelling the future gives the call up.
     *
     * @throws IllegalArgumentException if the request is longer than the maximum frame size
     */
    public CompletableFuture<byte[]> callAsync(byte[] request, Duration timeout) {
        return callAsync(request, timeout, idempotent);
    }

    /** {@link #callAsync(byte[], Duration)} for a request that may run twice, as {@link #callIdempotent}. */
    public CompletableFuture<byte[]> callIdempotentAsync(byte[] request, Duration timeout) {
        return callAsync(request, timeout, true);
    }

    private CompletableFuture<byte[]> callAsync(byte[] request, Duration timeout, boolean retry) {
        UsermodeChannel.checkFrame(request, maxFrameSize);
        AsyncCall call = new AsyncCall(request, Deadline.after(timeout), retry);
        call.place();
        return call.result;
    }

    /** Checks a request as a call would (null, or longer than the maximum frame size): for a pool's async call. */
    void checkRequest(byte[] request) {
        UsermodeChannel.checkFrame(request, maxFrameSize);
    }

    /** An async call, from placed to completed: on a helper's channel, or waiting in {@link #waiting} for the next. */
    private final class AsyncCall implements WaitingCalls.Call {
        final byte[] request;
        final Deadline deadline;
        final boolean retry;
        final CompletableFuture<byte[]> result = new CompletableFuture<>();
        UsermodeChannel tried; // the helper that died under this call: never again
        IOException lost;

        AsyncCall(byte[] request, Deadline deadline, boolean retry) {
            this.request = request;
            this.deadline = deadline;
            this.retry = retry;
        }

        /** Sends the call on the current helper, or puts it in the waiting list, or fails it: never blocks but to write. */
        @Override
        public void place() {
            UsermodeChannel ch;
            synchronized (UsermodeService.this) {
                try {
                    ch = readyChannel(deadline, tried, lost);
                    if (ch != null && deadline.nanosLeft() <= 0) { // a retry: never sent after its deadline
                        throw noHelperInTime(deadline, lost);
                    }
                } catch (IOException e) {
                    result.completeExceptionally(e);
                    return;
                }
                if (ch == null) {
                    waiting.add(this);
                    return;
                }
            }
            CompletableFuture<byte[]> sent = ch.callAsync(request, deadline.left());
            result.whenComplete((reply, e) -> sent.cancel(false)); // a cancel is passed on; otherwise sent is done already
            sent.whenComplete((reply, e) -> {
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                if (cause == null) {
                    result.complete(reply);
                } else if (retry && cause instanceof IOException io && helperLost(ch, io)) {
                    tried = ch;
                    lost = io;
                    ForkJoinPool.commonPool().execute(this::place); // not here: this thread may hold the dead channel's write turn
                } else {
                    result.completeExceptionally(cause);
                }
            });
        }

        @Override
        public Deadline deadline() {
            return deadline;
        }

        @Override
        public CompletableFuture<byte[]> result() {
            return result;
        }

        @Override
        public InterruptedIOException expired() {
            return noHelperInTime(deadline, lost);
        }
    }

    /** Places again every waiting async call, now the service has moved on; off the lock. */
    private void placeWaiting() {
        waiting.placeAll();
    }

    /** The part of a message that says which helper died under a call that was to be sent again. */
    private static String retried(IOException lost) {
        return lost == null ? "" : "; the call was to be sent again after: " + lost.getMessage();
    }

    /**
     * The channel of the live helper, or null if there is none now (or the service is stopping):
     * a pool's pick, which never waits.
     */
    synchronized UsermodeChannel currentChannel() {
        return !stopping && running() ? channel : null;
    }

    /** Where the service is, for a message: "it is RESTARTING: why", or that its helper has just exited. */
    synchronized String status() {
        if (state == State.RUNNING) {
            return "its helper pid " + process.pid() + (process.isAlive() ? " is up" : " has just exited");
        }
        return "it is " + state + (why == null ? "" : ": " + why.getMessage());
    }

    /**
     * Waits until the service is RUNNING with a live helper (true), has ended (false: FAILED or
     * STOPPED), or {@code timeout} has passed (false). After a call failed because its helper
     * exited, this waits for the next helper.
     */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + Watchdog.nanos(timeout);
        synchronized (this) {
            while (!running() && !ended()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return running();
        }
    }

    /**
     * Stops the service for good: no more restarts, and the helper gets {@link UsermodeProcess#stop}
     * with {@code grace} (EOF, then SIGTERM, then SIGKILL). Returns once the service's thread has
     * ended, its listeners told; from a listener, returns at once. A failed service stays FAILED.
     * Idempotent; an interrupt makes the stop immediate (SIGKILL) and is kept.
     */
    public void stop(Duration grace) {
        checkGrace(grace);
        UsermodeProcess p;
        synchronized (this) {
            if (!stopping) {
                stopping = true;
                this.grace = grace;
            }
            notifyAll();
            p = process;
        }
        placeWaiting(); // fails them at once: "is stopping"
        boolean interrupted = false;
        if (p != null) { // stopped from here too: the service's thread may be blocked in a hook on it
            try {
                p.stop(grace);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        while (Thread.currentThread() != supervisor) {
            try {
                supervisor.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
                if (p != null) {
                    p.destroyForcibly();
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Fails unless {@code grace} is zero or positive, as {@link UsermodeProcess#stop} requires. */
    private static void checkGrace(Duration grace) {
        if (Objects.requireNonNull(grace, "grace").isNegative()) {
            throw new IllegalArgumentException("grace is negative: " + grace);
        }
    }

    /** {@link #stop} with the builder's stop grace (default 2 s). */
    @Override
    public void close() {
        stop(stopGrace);
    }

    @Override
    public synchronized String toString() {
        return "UsermodeService[" + name + ", " + state + (process == null ? "" : ", pid=" + process.pid()) + "]";
    }

    /**
     * RUNNING with a live helper. A helper that has just exited may still be the current one for a
     * moment (its caller can see the exit before this service's thread does): it does not count.
     */
    private boolean running() {
        return state == State.RUNNING && process.isAlive();
    }

    private void checkRunning() throws IOException {
        if (state == State.RUNNING && !process.isAlive()) {
            throw new IOException("umh service " + name + ": helper pid " + process.pid() + " has just exited");
        }
        if (state != State.RUNNING) {
            throw new IOException("umh service " + name + " is " + state + (why == null ? "" : ": " + why.getMessage()), why);
        }
    }

    private boolean ended() {
        return state == State.FAILED || state == State.STOPPED;
    }

    private synchronized boolean stopRequested() {
        return stopping || jvmShuttingDown();
    }

    /**
     * Whether the JVM is shutting down, when no helper may be restarted: io.umh's shutdown hook is
     * stopping them all. Once shutdown has begun, before any hook runs, the JDK refuses new hooks
     * ({@link Runtime#addShutdownHook} throws IllegalStateException): that refusal is the test.
     */
    private static boolean jvmShuttingDown() {
        if (shuttingDown) {
            return true;
        }
        // never started; if shutdown begins between the two calls, the JDK runs it: it does nothing
        Thread probe = new Thread(() -> {}, "umh-shutdown-probe");
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            shuttingDown = true;
            return true;
        }
    }

    // ---- the service's thread

    private void supervise() {
        try {
            while (helperLife()) {
                // once more
            }
        } catch (RuntimeException | Error e) { // a bug: never leave a helper behind, nor anyone waiting
            UsermodeProcess p;
            synchronized (this) {
                p = process;
            }
            if (p != null) {
                p.destroyForcibly(); // at once: close() alone would give it its close grace first
                p.close();
            }
            end(State.FAILED, null, new IOException("umh service " + name + ": its thread failed", e));
            throw e;
        }
    }

    /** One helper, from fork to reaped; then what comes next. False once the service has ended. */
    private boolean helperLife() {
        UsermodeProcess p = null;
        IOException forkFailure = null;
        boolean permanent = false; // the next fork would fail the same way: no restart
        if (!stopRequested()) {
            synchronized (this) {
                state = State.STARTING;
                notifyAll();
            }
            try {
                p = blob.fork(options);
            } catch (IOException | IllegalStateException e) { // IllegalStateException: the blob was closed
                permanent = e instanceof PermanentForkFailure || e instanceof IllegalStateException;
                forkFailure = new IOException("umh service " + name + ": fork failed: " + e.getMessage()
                        + (permanent ? "; not restarted: the next fork would fail the same way" : ""), e);
            }
        }
        Ended ended = p == null ? null : run(p);

        boolean stopped = stopRequested();
        IOException reason = stopped ? new IOException("umh service " + name + " was stopped")
                : ended == null ? forkFailure
                : new IOException("umh service " + name + ": helper pid " + p.pid() + " exited with status " + ended.status()
                        + ended.sandboxEnd()
                        + (ended.cause() == null ? "" : " (" + ended.cause().getMessage() + ")"), ended.cause());
        boolean failure = ended == null || ended.cause() != null || ended.status() != 0;
        State next;
        long delay = 0;
        if (stopped) {
            next = State.STOPPED;
        } else if (permanent || !policy.restartsAfter(failure)) {
            next = failure ? State.FAILED : State.STOPPED;
        } else if ((delay = policy.nextDelay()) == RestartPolicy.GIVE_UP) {
            next = State.FAILED;
            reason = new IOException("umh service " + name + " gave up after " + policy.limit() + " restarts within "
                    + policy.window() + "; the last: " + reason.getMessage(), reason);
        } else {
            next = State.RESTARTING;
        }
        end(next, ended, reason);
        if (next != State.RESTARTING) {
            return false;
        }
        int n = ++restarts;
        Duration d = Duration.ofNanos(delay);
        fire(l -> l.restarting(n, d));
        sleep(delay);
        return true;
    }

    /** A forked helper's life: start hook, up, health checks, until it exits or is stopped; reaped. */
    private Ended run(UsermodeProcess p) {
        UsermodeChannel ch = UsermodeChannel.open(p, maxFrameSize, callTimeout);
        synchronized (this) {
            process = p; // from here stop() stops it too
            channel = ch;
        }
        Exception cause = stopRequested() ? null : runHook(startHook, startTimeout, ch, "start hook");
        if (cause == null && up()) {
            placeWaiting();
            fire(l -> l.started(p));
            cause = watch(ch);
        }
        boolean stopped = stopRequested();
        int status = stopped ? stopQuietly(p) : killIf(cause != null, p);
        return new Ended(p, ch, status, stopped ? null : cause);
    }

    /** A helper that has exited, for {@link #end}. */
    private record Ended(UsermodeProcess process, UsermodeChannel channel, int status, Exception cause) {
        /** What the sandbox stopped it for, if it did. */
        java.util.Optional<SandboxViolation> violation() {
            return process.violation();
        }

        /** Why the sandbox ended it, for a message: " (stopped by its sandbox: CALL)", the OOM kill, or "". */
        String sandboxEnd() {
            return violation().map(v -> " (stopped by its sandbox: " + v.syscall() + ")")
                    .orElse(process.oomKilled() ? " (killed by the OOM killer: past its sandbox's memoryMax)" : "");
        }
    }

    /**
     * Moves to {@code next} and forgets the helper, in one step, then closes the helper's channel
     * and process and tells the listeners.
     */
    private void end(State next, Ended ended, IOException reason) {
        synchronized (this) {
            state = next;
            process = null;
            channel = null;
            why = reason;
            notifyAll();
        }
        placeWaiting(); // fails them at once if the service has ended
        if (ended != null) {
            // the process too, but never under a caller still reading its reply: the caller does it then
            ended.channel().closeWithProcess(new IOException("umh channel: helper pid " + ended.process().pid()
                    + " of service " + name + " has exited with status " + ended.status()
                    + ended.sandboxEnd()
                    + "; ask the service for the current channel"));
            ended.violation().ifPresent(v -> fire(l -> l.violated(ended.process(), v)));
            fire(l -> l.exited(ended.process(), ended.status(), ended.cause()));
        }
        if (next == State.FAILED) {
            fire(l -> l.failed(reason));
        } else if (next == State.STOPPED) {
            fire(Listener::stopped);
        }
    }

    /** RUNNING, unless a stop came first. */
    private synchronized boolean up() {
        if (stopRequested()) {
            return false;
        }
        state = State.RUNNING;
        everRunning = true;
        why = null;
        notifyAll();
        return true;
    }

    /** Waits for the helper to exit, running the health check every interval; the check's failure, or null. */
    private Exception watch(UsermodeChannel ch) {
        UsermodeProcess p = ch.process();
        while (!awaitExit(p, healthCheck == null ? Long.MAX_VALUE : Watchdog.nanos(checkInterval))) {
            if (stopRequested()) {
                return null;
            }
            Exception failure = runHook(healthCheck, checkTimeout, ch, "health check");
            if (failure != null) {
                return failure;
            }
        }
        return null;
    }

    /**
     * Runs {@code hook} on this thread; at {@code timeout} the helper is killed (ending any read or
     * write on its pipes) and this thread interrupted. Null if it passed, or why it did not.
     */
    private Exception runHook(Hook hook, Duration timeout, UsermodeChannel ch, String what) {
        if (hook == null) {
            return null;
        }
        Thread self = Thread.currentThread();
        Watchdog watchdog = Watchdog.start(timeout, () -> {
            ch.process().destroyForcibly();
            self.interrupt();
        });
        Exception failure = null;
        try {
            hook.run(ch);
        } catch (Exception e) {
            failure = e;
        }
        if (watchdog.cancel()) {
            Thread.interrupted(); // the watchdog's, and no more can come
            IOException e = new IOException(what + " timed out after " + timeout);
            if (failure != null) {
                e.initCause(failure);
            }
            return e;
        }
        return failure == null ? null : new IOException(what + " failed: " + failure, failure);
    }

    /** SIGKILLs {@code p} if {@code kill}; its exit status once reaped. */
    private static int killIf(boolean kill, UsermodeProcess p) {
        if (kill) {
            p.destroyForcibly();
        }
        awaitExit(p, Long.MAX_VALUE);
        return p.exitValue();
    }

    private int stopQuietly(UsermodeProcess p) {
        Duration g;
        synchronized (this) {
            g = grace;
        }
        try {
            return p.stop(g);
        } catch (InterruptedException e) { // nobody but our own watchdogs interrupts this thread
            return killIf(true, p);
        }
    }

    /** True once {@code p} has exited, false after {@code nanos}; deaf to interrupts. */
    private static boolean awaitExit(UsermodeProcess p, long nanos) {
        long deadline = System.nanoTime() + nanos;
        while (true) {
            try {
                return p.waitFor(nanos == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                // nobody but our own watchdogs interrupts this thread, and none is running now
            }
        }
    }

    /** Sleeps {@code nanos}, or until stop() wakes it. */
    private synchronized void sleep(long nanos) {
        long deadline = System.nanoTime() + nanos;
        for (long left = nanos; left > 0 && !stopping; left = deadline - System.nanoTime()) {
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                // nobody but our own watchdogs interrupts this thread
            }
        }
    }

    /** Tells every listener; one that throws goes to the thread's uncaught-exception handler, the rest still hear. */
    private void fire(Consumer<Listener> event) {
        for (Listener l : listeners) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                Thread t = Thread.currentThread();
                t.getUncaughtExceptionHandler().uncaughtException(t, e);
            }
        }
    }

    /** Waits until the first helper is up; throws if the service ended before. */
    private void awaitFirstStart() throws IOException {
        try {
            synchronized (this) {
                while (!everRunning && !ended()) {
                    wait();
                }
                if (everRunning) {
                    return;
                }
                throw new IOException("umh service " + name + " did not start: " + why.getMessage(), why);
            }
        } catch (InterruptedException e) {
            close();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("umh service " + name + ": interrupted while starting; stopped");
        }
    }

    /** How to run a service; {@link #start()} starts it. Not thread-safe. */
    public static final class Builder {
        private final UsermodeBlob blob;
        private ForkOptions options = ForkOptions.defaults();
        private String name;
        private Restart restart = Restart.ON_FAILURE;
        private Duration backoffInitial = Duration.ofMillis(100);
        private Duration backoffMax = Duration.ofSeconds(30);
        private double jitter = 0.2;
        private int restartLimit = 5;
        private Duration restartWindow = Duration.ofMinutes(1);
        private Hook startHook;
        private Duration startTimeout;
        private Hook healthCheck;
        private Duration checkInterval;
        private Duration checkTimeout;
        private int maxFrameSize = UsermodeChannel.DEFAULT_MAX_FRAME_SIZE;
        private Duration callTimeout;
        private boolean idempotent;
        private final List<Listener> listeners = new ArrayList<>();
        private Duration stopGrace = Duration.ofSeconds(2);

        private Builder(UsermodeBlob blob) {
            this.blob = Objects.requireNonNull(blob, "blob");
        }

        /** How each helper is forked (default: {@link ForkOptions#defaults()}). */
        public Builder options(ForkOptions options) {
            this.options = Objects.requireNonNull(options, "options");
            return this;
        }

        /** The name in messages and in the thread's name, "umh-service-NAME" (default: argv0, else the blob's name). */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /** When to restart a helper that has exited (default: {@link Restart#ON_FAILURE}). */
        public Builder restart(Restart policy) {
            this.restart = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /**
         * The wait before a restart: {@code initial}, doubled for each restart already within the
         * restart window, at most {@code max}, less a random fraction of it up to {@code jitter}
         * (0 to 1), so that many services do not restart in step. Default: 100 ms, 30 s, 0.2.
         */
        public Builder backoff(Duration initial, Duration max, double jitter) {
            RestartPolicy.checkBackoff(initial, max, jitter);
            this.backoffInitial = initial;
            this.backoffMax = max;
            this.jitter = jitter;
            return this;
        }

        /**
         * At most {@code restarts} restarts within any {@code window}; the one after fails the
         * service instead. Default: 5 within 1 minute.
         */
        public Builder restartLimit(int restarts, Duration window) {
            RestartPolicy.checkLimit(restarts, window);
            this.restartLimit = restarts;
            this.restartWindow = window;
            return this;
        }

        /**
         * Runs {@code hook} on each new helper before it counts as up (send configuration, wait
         * for a "ready" line...). If it throws or takes longer than {@code timeout}, the helper is
         * killed and the start counts as a failure.
         */
        public Builder onStart(Hook hook, Duration timeout) {
            this.startHook = Objects.requireNonNull(hook, "hook");
            this.startTimeout = Watchdog.checkTimeout(Objects.requireNonNull(timeout, "timeout"), "timeout");
            return this;
        }

        /**
         * Runs {@code check} every {@code interval} while the helper is up. If it throws or takes
         * longer than {@code timeout}, the helper is killed and that counts as a failure.
         */
        public Builder healthCheck(Hook check, Duration interval, Duration timeout) {
            this.healthCheck = Objects.requireNonNull(check, "check");
            this.checkInterval = Watchdog.checkTimeout(Objects.requireNonNull(interval, "interval"), "interval");
            this.checkTimeout = Watchdog.checkTimeout(Objects.requireNonNull(timeout, "timeout"), "timeout");
            return this;
        }

        /** Each helper's channel: see {@link UsermodeChannel#open(UsermodeProcess, int, Duration)}. Default: 1 MiB, no timeout. */
        public Builder channel(int maxFrameSize, Duration callTimeout) {
            if (maxFrameSize < 0) {
                throw new IllegalArgumentException("maxFrameSize is negative: " + maxFrameSize);
            }
            this.maxFrameSize = maxFrameSize;
            this.callTimeout = Watchdog.checkTimeout(callTimeout, "callTimeout");
            return this;
        }

        /**
         * Whether {@link UsermodeService#call(byte[])} and {@link UsermodeService#call(byte[], Duration)}
         * send a request again to the next helper when its helper dies before the reply (true: the
         * requests may run twice, as {@link UsermodeService#callIdempotent}), or fail with the helper's
         * exit status (false, the default).
         */
        public Builder idempotent(boolean idempotent) {
            this.idempotent = idempotent;
            return this;
        }

        /** Adds a listener; listeners hear every event in the order they were added. */
        public Builder listener(Listener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /** The grace {@link UsermodeService#close()} gives the helper (default 2 s). */
        public Builder stopGrace(Duration grace) {
            checkGrace(grace);
            this.stopGrace = grace;
            return this;
        }

        /**
         * Starts the service and returns once its first helper is up (forked and through the start
         * hook, after restarts if the policy allows them).
         *
         * @throws IOException if the service failed or stopped before any helper was up
         */
        public UsermodeService start() throws IOException {
            UsermodeService service = new UsermodeService(this);
            service.supervisor.start();
            service.awaitFirstStart();
            return service;
        }
    }
}
