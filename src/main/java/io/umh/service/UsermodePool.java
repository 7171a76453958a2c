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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

import io.umh.ForkOptions;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;
import io.umh.internal.Watchdog;

/**
 * N supervised helpers of one blob behind one call API: each member is a {@link UsermodeService}
 * (restarted on its own, by the same policy), and each call goes to the least busy member that
 * is RUNNING (fewest calls in flight; ties taken in turn).
 *
 * <pre>{@code
 * try (UsermodeBlob blob = Umh.load(bytes);
 *      UsermodePool pool = UsermodePool.builder(blob).size(4).idempotent(true)
 *              .channel(64 * 1024, Duration.ofSeconds(5)).start()) {
 *     byte[] reply = pool.call(request);   // from any thread
 * }
 * }</pre>
 *
 * <p><b>Calls</b> are those of a service ({@link UsermodeService#call(byte[], Duration)}): while
 * no member is RUNNING a call waits for one within its own deadline; a call in flight when its
 * helper dies fails with that helper's pid and exit status, unless it is idempotent
 * ({@link Builder#idempotent}, {@link #callIdempotent}): then it goes to another member (the least
 * busy again), never twice to one helper, never after its deadline.
 *
 * <p><b>Failure.</b> A member that fails (its restart limit, a start that can never work) stays
 * FAILED; the pool serves on with the others. The pool is FAILED once no member will run again
 * and at least one failed (STOPPED if all stopped cleanly, as {@link UsermodeService.Restart#ON_FAILURE}
 * does after exits 0): then calls fail at once. {@link Builder#start()} fails, and stops the
 * others, if any member does not start.
 *
 * <p><b>Events</b> are the members': each listener given to the builder hears every member's
 * events, on that member's thread ("umh-service-NAME-i"), so it must be thread-safe; the JFR
 * events are those of every helper's fork and exit. {@link #stats()} counts calls in flight,
 * replies, failed and retried calls, and restarts, per member and in all.
 */
public final class UsermodePool implements AutoCloseable {
    /** One member's counts at one moment. {@code pid} is -1 while it has no live helper. */
    public record MemberStats(String name, UsermodeService.State state, long pid, int inFlight, long replies,
                              long failedCalls, long retries, long restarts) {}

    /**
     * The pool's counts at one moment: {@code running} members with a live helper of {@code size};
     * calls in flight now; calls that got a reply; calls that failed (on a member, or waiting for one
     * in vain); calls sent again after their helper died; restarts of members' helpers. Each total is
     * the sum over {@code members}, but failedCalls also counts calls that reached no member.
     */
    public record Stats(int size, int running, int inFlight, long replies, long failedCalls, long retries, long restarts,
                        List<MemberStats> members) {}

    /** A member service with its counts. */
    private static final class Member {
        final String name;
        UsermodeService service; // set once started, before the pool is returned
        final AtomicInteger inFlight = new AtomicInteger();
        final LongAdder replies = new LongAdder();
        final LongAdder failedCalls = new LongAdder();
        final LongAdder retries = new LongAdder();
        final LongAdder restarts = new LongAdder();

        Member(String name) {
            this.name = name;
        }
    }

    /** A call placed on a member's current helper: counted in flight until {@link #replied} or {@link #failed}. */
    static final class Lease {
        private final Member member;
        final UsermodeChannel channel;

        private Lease(Member member, UsermodeChannel channel) {
            this.member = member;
            this.channel = channel;
        }

        void replied() {
            member.inFlight.decrementAndGet();
            member.replies.increment();
        }

        /** The call failed on this member; {@code again}: it will be sent to another. */
        void failed(boolean again) {
            member.inFlight.decrementAndGet();
            (again ? member.retries : member.failedCalls).increment();
        }
    }

    private final String name;
    private final List<Member> members;
    private final Duration callTimeout;
    private final boolean idempotent;
    private final Duration stopGrace;
    private final LongAdder unplaced = new LongAdder(); // calls that failed before reaching a member
    private int next;            // guarded by this: where the next pick starts looking, for ties in turn
    private boolean closed;      // guarded by this
    private final WaitingCalls waiting = new WaitingCalls(this); // async calls waiting for a helper

    private UsermodePool(Builder b) {
        name = b.name != null ? b.name : b.options.argv0() != null ? b.options.argv0() : b.blob.name();
        List<Member> m = new ArrayList<>();
        for (int i = 0; i < b.size; i++) {
            m.add(new Member(name + "-" + i));
        }
        members = List.copyOf(m);
        callTimeout = b.callTimeout;
        idempotent = b.idempotent;
        stopGrace = b.stopGrace;
    }

    /** A builder for a pool of helpers of {@code blob}. */
    public static Builder builder(UsermodeBlob blob) {
        return new Builder(blob);
    }

    /** {@link #call(byte[], Duration)} within the builder's call timeout ({@link Builder#channel}; without one, no limit). */
    public byte[] call(byte[] request) throws IOException {
        return call(request, callTimeout, idempotent);
    }

    /**
     * Sends {@code request} to the least busy RUNNING member and returns its reply, all within
     * {@code timeout} (null: no limit), as {@link UsermodeService#call(byte[], Duration)} does;
     * idempotent if the builder said so.
     */
    public byte[] call(byte[] request, Duration timeout) throws IOException {
        return call(request, timeout, idempotent);
    }

    /** {@link #call(byte[], Duration)} for a request that may run twice: if its helper dies, it goes to another member. */
    public byte[] callIdempotent(byte[] request, Duration timeout) throws IOException {
        return call(request, timeout, true);
    }

    private byte[] call(byte[] request, Duration timeout, boolean retry) throws IOException {
        Objects.requireNonNull(request, "request");
        Deadline deadline = Deadline.after(timeout);
        List<UsermodeChannel> tried = new ArrayList<>(1); // helpers that died under this call
        IOException lost = null;
        while (true) {
            Lease lease = acquire(deadline, tried, lost);
            try {
                byte[] reply = lease.channel.call(request, deadline.left());
                lease.replied();
                return reply;
            } catch (IOException e) {
                boolean again = retry && UsermodeService.helperLost(lease.channel, e);
                lease.failed(again);
                if (!again) {
                    throw e;
                }
                tried.add(lease.channel);
                lost = e;
            } catch (RuntimeException e) { // a request over the maximum frame size: nothing was sent
                lease.failed(false);
                throw e;
            }
        }
    }

    /** {@link #callAsync(byte[], Duration)} within the builder's call timeout (without one, no limit). */
    public CompletableFuture<byte[]> callAsync(byte[] request) {
        return callAsync(request, callTimeout, idempotent);
    }

    /**
     * {@link #call(byte[], Duration)} without a waiting thread, as
     * {@link UsermodeService#callAsync(byte[], Duration)}: the least busy RUNNING member's channel's
     * callAsync, counted in flight until the future completes; while no member can take it the call
     * waits in a list, placed when a member starts, failed at its deadline by the shared timer.
     * Idempotent if the builder said so: then a call whose helper dies goes to another member.
     *
     * @throws IllegalArgumentException if the request is longer than the maximum frame size
     */
    public CompletableFuture<byte[]> callAsync(byte[] request, Duration timeout) {
        return callAsync(request, timeout, idempotent);
    }

    /** {@link #callAsync(byte[], Duration)} for a request that may run twice: if its helper dies, it goes to another member. */
    public CompletableFuture<byte[]> callIdempotentAsync(byte[] request, Duration timeout) {
        return callAsync(request, timeout, true);
    }

    private CompletableFuture<byte[]> callAsync(byte[] request, Duration timeout, boolean retry) {
        members.get(0).service.checkRequest(request); // every member has the same maximum frame size
        AsyncCall call = new AsyncCall(request, Deadline.after(timeout), retry);
        call.place();
        return call.result;
    }

    /** An async call, from placed to completed: on a member's channel, or waiting in {@link #waiting} for one. */
    private final class AsyncCall implements WaitingCalls.Call {
        final byte[] request;
        final Deadline deadline;
        final boolean retry;
        final CompletableFuture<byte[]> result = new CompletableFuture<>();
        final List<UsermodeChannel> tried = new ArrayList<>(1); // helpers that died under this call
        IOException lost;

        AsyncCall(byte[] request, Deadline deadline, boolean retry) {
            this.request = request;
            this.deadline = deadline;
            this.retry = retry;
        }

        /** Sends the call to the least busy member, or puts it in the waiting list, or fails it: never blocks but to write. */
        @Override
        public void place() {
            Lease lease;
            synchronized (UsermodePool.this) {
                try {
                    if (!tried.isEmpty() && deadline.nanosLeft() <= 0) { // a retry: never sent after its deadline
                        throw noMemberInTime(deadline, lost);
                    }
                    lease = pick(tried, lost);
                } catch (IOException e) {
                    result.completeExceptionally(e);
                    return;
                }
                if (lease == null) {
                    waiting.add(this);
                    return;
                }
            }
            CompletableFuture<byte[]> sent;
            try {
                sent = lease.channel.callAsync(request, deadline.left());
            } catch (RuntimeException e) { // checked before: cannot happen, but never leave the call counted
                lease.failed(false);
                result.completeExceptionally(e);
                return;
            }
            result.whenComplete((reply, e) -> sent.cancel(false)); // a cancel is passed on; otherwise sent is done already
            sent.whenComplete((reply, e) -> {
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                boolean again = cause instanceof IOException io && retry && UsermodeService.helperLost(lease.channel, io);
                if (cause == null) {
                    lease.replied();
                    result.complete(reply);
                    return;
                }
                lease.failed(again);
                if (again) {
                    tried.add(lease.channel);
                    lost = (IOException) cause;
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
            return noMemberInTime(deadline, lost);
        }
    }

    /** Places again every waiting async call, now a member has started or ended or the pool is closed; off the lock. */
    private void placeWaiting() {
        waiting.placeAll();
    }

    /**
     * {@link #pick}, waiting for a member within {@code deadline} while none can take the call now;
     * throws, naming {@code lost} (why this call is placed again), if none comes in time.
     */
    synchronized Lease acquire(Deadline deadline, List<UsermodeChannel> tried, IOException lost) throws IOException {
        Lease lease;
        while ((lease = pick(tried, lost)) == null) {
            long left = deadline.nanosLeft();
            if (left <= 0) {
                throw noMemberInTime(deadline, lost);
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left); // woken by a member's start or end, or by close
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw unplaced(new InterruptedIOException("umh pool " + name + ": interrupted while waiting for a member;"
                        + " nothing was sent" + retried(lost)));
            }
        }
        return lease;
    }

    /**
     * Picks the RUNNING member with the fewest calls in flight whose helper is none of
     * {@code tried} (ties: the first after the last pick) and counts the call in flight on it;
     * null if none can take it now. Never waits: every call is placed here, sync or async.
     *
     * @throws IOException if the pool is closed, or no member will run again
     */
    synchronized Lease pick(List<UsermodeChannel> tried, IOException lost) throws IOException {
        if (closed) {
            throw unplaced(new IOException("umh pool " + name + " is closed" + retried(lost), lost));
        }
        int best = -1;
        UsermodeChannel bestChannel = null;
        boolean willRun = false; // some member is or may again be RUNNING
        int n = members.size();
        for (int i = 0; i < n; i++) {
            int k = (next + i) % n;
            Member m = members.get(k);
            UsermodeChannel ch = m.service.currentChannel();
            willRun |= ch != null || !ended(m.service.state());
            if (ch != null && !tried.contains(ch) && (best < 0 || m.inFlight.get() < members.get(best).inFlight.get())) {
                best = k;
                bestChannel = ch;
            }
        }
        if (best >= 0) {
            next = (best + 1) % n; // the next tie goes to the member after this one
            members.get(best).inFlight.incrementAndGet();
            return new Lease(members.get(best), bestChannel);
        }
        if (!willRun) {
            throw unplaced(new IOException("umh pool " + name + " is " + state() + ": " + membersStatus() + retried(lost), lost));
        }
        return null;
    }

    private InterruptedIOException noMemberInTime(Deadline deadline, IOException lost) {
        InterruptedIOException e = new InterruptedIOException("umh pool " + name + ": no member took the call within "
                + deadline.timeout() + ": " + membersStatus() + retried(lost));
        e.initCause(lost);
        return unplaced(e);
    }

    private <E extends IOException> E unplaced(E failure) {
        unplaced.increment();
        return failure;
    }

    private static String retried(IOException lost) {
        return lost == null ? "" : "; the call was to be sent again after: " + lost.getMessage();
    }

    /** Where the members are, for a message: the first few. */
    private String membersStatus() {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(members.size(), 4); i++) {
            Member m = members.get(i);
            s.append(i == 0 ? "" : "; ").append("member ").append(m.name).append(": ").append(m.service.status());
        }
        return s.append(members.size() > 4 ? "; ..." : "").toString();
    }

    private static boolean ended(UsermodeService.State s) {
        return s == UsermodeService.State.FAILED || s == UsermodeService.State.STOPPED;
    }

    /** A member started or ended: a call waiting for one may go on. */
    private void changed() {
        synchronized (this) {
            notifyAll();
        }
        placeWaiting();
    }

    /**
     * Where the pool is: RUNNING while some member is; FAILED once every member has ended and at
     * least one failed; STOPPED once closed, or every member stopped cleanly; else RESTARTING (no
     * member is RUNNING now, some will be).
     */
    public UsermodeService.State state() {
        boolean anyFailed = false;
        boolean allEnded = true;
        for (Member m : members) {
            UsermodeService.State s = m.service.state();
            if (s == UsermodeService.State.RUNNING) {
                return isClosed() ? UsermodeService.State.STOPPED : s;
            }
            anyFailed |= s == UsermodeService.State.FAILED;
            allEnded &= ended(s);
        }
        return allEnded && anyFailed ? UsermodeService.State.FAILED
                : allEnded || isClosed() ? UsermodeService.State.STOPPED : UsermodeService.State.RESTARTING;
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    /** How many members the pool has. */
    public int size() {
        return members.size();
    }

    /** How many members are RUNNING with a live helper now. */
    public int running() {
        int n = 0;
        for (Member m : members) {
            n += m.service.currentChannel() != null ? 1 : 0;
        }
        return n;
    }

    /** The counts now, per member and in all. */
    public Stats stats() {
        List<MemberStats> each = new ArrayList<>();
        int running = 0;
        int inFlight = 0;
        long replies = 0;
        long failed = unplaced.sum();
        long retries = 0;
        long restarts = 0;
        for (Member m : members) {
            UsermodeChannel ch = m.service.currentChannel();
            MemberStats s = new MemberStats(m.name, m.service.state(), ch == null ? -1 : ch.process().pid(), m.inFlight.get(),
                    m.replies.sum(), m.failedCalls.sum(), m.retries.sum(), m.restarts.sum());
            each.add(s);
            running += ch != null ? 1 : 0;
            inFlight += s.inFlight();
            replies += s.replies();
            failed += s.failedCalls();
            retries += s.retries();
            restarts += s.restarts();
        }
        return new Stats(members.size(), running, inFlight, replies, failed, retries, restarts, List.copyOf(each));
    }

    /**
     * Stops every member, all at once, each with {@code grace} ({@link UsermodeService#stop}); returns
     * once all have stopped. Calls waiting for a member fail at once. Idempotent.
     */
    public void stop(Duration grace) {
        if (Objects.requireNonNull(grace, "grace").isNegative()) {
            throw new IllegalArgumentException("grace is negative: " + grace);
        }
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        placeWaiting(); // fails them at once: "is closed"
        stopAll(members, grace);
    }

    /** {@link #stop} with the builder's stop grace (default 2 s). */
    @Override
    public void close() {
        stop(stopGrace);
    }

    @Override
    public String toString() {
        return "UsermodePool[" + name + ", " + state() + ", " + running() + " of " + size() + " running]";
    }

    /** Stops each started member of {@code ms} on a thread of its own; returns once all are stopped. */
    private void stopAll(List<Member> ms, Duration grace) {
        inParallel(ms.size(), "stop", i -> {
            UsermodeService s = ms.get(i).service;
            if (s != null) {
                s.stop(grace);
            }
        });
    }

    /**
     * Runs {@code task(i)} for each member index on a thread of its own, "umh-pool-NAME-WHAT-i",
     * and returns once all have ended. An interrupt is passed on to them, and kept.
     */
    private void inParallel(int n, String what, IntConsumer task) {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int index = i;
            Thread t = new Thread(null, () -> task.accept(index), "umh-pool-" + name + "-" + what + "-" + i, 0, false);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        boolean interrupted = false;
        for (Thread t : threads) {
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                    threads.forEach(Thread::interrupt);
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Starts every member at once; if one does not start, stops the others and throws its failure. */
    private void startAll(Builder b) throws IOException {
        IOException[] failures = new IOException[members.size()];
        inParallel(members.size(), "start", i -> {
            Member m = members.get(i);
            UsermodeService.Builder sb = UsermodeService.builder(b.blob).name(m.name);
            b.steps.forEach(step -> step.accept(sb));
            sb.listener(new UsermodeService.Listener() { // first: the counts are right before the user's listeners hear
                @Override
                public void started(UsermodeProcess process) {
                    changed();
                }

                @Override
                public void restarting(int restart, Duration delay) {
                    m.restarts.increment();
                }

                @Override
                public void failed(IOException cause) {
                    changed();
                }

                @Override
                public void stopped() {
                    changed();
                }
            });
            b.listeners.forEach(sb::listener);
            try {
                m.service = sb.start();
            } catch (IOException e) {
                failures[i] = e;
            }
        });
        IOException first = null;
        for (int i = 0; i < failures.length; i++) {
            if (failures[i] != null && first == null) {
                first = new IOException("umh pool " + name + ": member " + members.get(i).name + " did not start: "
                        + failures[i].getMessage(), failures[i]);
            } else if (failures[i] != null) {
                first.addSuppressed(failures[i]);
            }
        }
        if (first != null || Thread.currentThread().isInterrupted()) {
            stopAll(members, Duration.ZERO);
            throw first != null ? first : new InterruptedIOException("umh pool " + name + ": interrupted while starting; stopped");
        }
    }

    /**
     * How to run a pool; {@link #start()} starts it. The options are those of
     * {@link UsermodeService.Builder}, given to every member, and {@link #size}. Not thread-safe.
     */
    public static final class Builder {
        private final UsermodeBlob blob;
        private final UsermodeService.Builder probe; // checks each option as it is given, as a member's builder will
        private final List<Consumer<UsermodeService.Builder>> steps = new ArrayList<>();
        private final List<UsermodeService.Listener> listeners = new ArrayList<>();
        private ForkOptions options = ForkOptions.defaults();
        private String name;
        private int size = Runtime.getRuntime().availableProcessors();
        private Duration callTimeout;
        private boolean idempotent;
        private Duration stopGrace = Duration.ofSeconds(2);

        private Builder(UsermodeBlob blob) {
            this.blob = Objects.requireNonNull(blob, "blob");
            this.probe = UsermodeService.builder(blob);
        }

        private Builder step(Consumer<UsermodeService.Builder> step) {
            step.accept(probe); // throws here, naming the bad argument, not at start()
            steps.add(step);
            return this;
        }

        /** How many members (default: {@link Runtime#availableProcessors()}), at least 1. */
        public Builder size(int size) {
            if (size < 1) {
                throw new IllegalArgumentException("size must be at least 1: " + size);
            }
            this.size = size;
            return this;
        }

        /** How each helper is forked: {@link UsermodeService.Builder#options}. */
        public Builder options(ForkOptions options) {
            this.options = Objects.requireNonNull(options, "options");
            return step(b -> b.options(options));
        }

        /** The name in messages; member i is "NAME-i", its thread "umh-service-NAME-i" (default: argv0, else the blob's name). */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /** When each member restarts its helper: {@link UsermodeService.Builder#restart}. */
        public Builder restart(UsermodeService.Restart policy) {
            return step(b -> b.restart(policy));
        }

        /** Each member's wait before a restart: {@link UsermodeService.Builder#backoff}. */
        public Builder backoff(Duration initial, Duration max, double jitter) {
            return step(b -> b.backoff(initial, max, jitter));
        }

        /** Each member's limit: {@link UsermodeService.Builder#restartLimit}; past it that member FAILS, the others serve on. */
        public Builder restartLimit(int restarts, Duration window) {
            return step(b -> b.restartLimit(restarts, window));
        }

        /** Runs on each new helper of every member before it counts as up: {@link UsermodeService.Builder#onStart}. */
        public Builder onStart(UsermodeService.Hook hook, Duration timeout) {
            return step(b -> b.onStart(hook, timeout));
        }

        /** Each member's health check: {@link UsermodeService.Builder#healthCheck}. */
        public Builder healthCheck(UsermodeService.Hook check, Duration interval, Duration timeout) {
            return step(b -> b.healthCheck(check, interval, timeout));
        }

        /** Each helper's channel, and the timeout of {@link UsermodePool#call(byte[])}: {@link UsermodeService.Builder#channel}. */
        public Builder channel(int maxFrameSize, Duration callTimeout) {
            step(b -> b.channel(maxFrameSize, callTimeout));
            this.callTimeout = callTimeout;
            return this;
        }

        /** Whether {@link UsermodePool#call} sends a request to another member when its helper dies: {@link UsermodeService.Builder#idempotent}. */
        public Builder idempotent(boolean idempotent) {
            this.idempotent = idempotent;
            return step(b -> b.idempotent(idempotent));
        }

        /** Adds a listener that hears every member's events, each on that member's thread: it must be thread-safe. */
        public Builder listener(UsermodeService.Listener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /** The grace each member's helper gets at {@link UsermodePool#close()} (default 2 s); all stop at once. */
        public Builder stopGrace(Duration grace) {
            step(b -> b.stopGrace(grace));
            this.stopGrace = grace;
            return this;
        }

        /**
         * Starts every member at once and returns once each has its first helper up.
         *
         * @throws IOException if a member did not start (the others are stopped): its failure
         */
        public UsermodePool start() throws IOException {
            UsermodePool pool = new UsermodePool(this);
            pool.startAll(this);
            return pool;
        }
    }
}
