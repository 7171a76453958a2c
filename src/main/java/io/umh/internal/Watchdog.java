package io.umh.internal;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * An action that runs once a timeout expires, unless cancelled first: how umh bounds a blocking
 * read or a user's hook without Thread.stop. The action kills the helper, and a dead helper ends
 * every read and write on its pipes.
 *
 * <p>Every watchdog shares one daemon thread, "umh-timer", which exists only while some timeout
 * is pending: it ends a second after the last one fired or was cancelled.
 *
 * <p>Not API: public only so that {@code io.umh.service} (the channel's call timeout, the
 * service's hook timeouts) and {@code io.umh} (the stop grace) share it; module-info does not
 * export this package.
 */
public final class Watchdog {
    /** Made at the first timeout, not when {@link #nanos} is first asked (every fork asks it). */
    private static final class Timer {
        static final ScheduledThreadPoolExecutor TIMER = timer();
    }
    private final Runnable action;
    private ScheduledFuture<?> future; // guarded by this
    private boolean fired;             // guarded by this
    private boolean cancelled;         // guarded by this

    private Watchdog(Runnable action) {
        this.action = action;
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread thread = new Thread(null, r, "umh-timer", 0, false);
            thread.setDaemon(true);
            thread.setContextClassLoader(null); // shared by every service: it must pin no one's loader
            return thread;
        });
        t.setKeepAliveTime(1, TimeUnit.SECONDS);
        t.allowCoreThreadTimeOut(true);
        t.setRemoveOnCancelPolicy(true);
        return t;
    }

    /** Runs {@code action} on the timer thread after {@code timeout}; a null timeout never fires. */
    public static Watchdog start(Duration timeout, Runnable action) {
        Watchdog w = new Watchdog(action);
        if (timeout != null) {
            synchronized (w) {
                w.future = Timer.TIMER.schedule(w::fire, nanos(timeout), TimeUnit.NANOSECONDS);
            }
        }
        return w;
    }

    private synchronized void fire() {
        if (!cancelled) {
            fired = true;
            action.run();
        }
    }

    /** After this returns the action will not run; true if it already has. Idempotent. */
    public synchronized boolean cancel() {
        cancelled = true;
        if (future != null) {
            future.cancel(false);
        }
        return fired;
    }

    /** {@code d} in nanoseconds, capped at a year (no overflow for "forever"). */
    public static long nanos(Duration d) {
        Duration year = Duration.ofDays(365);
        return d.compareTo(year) > 0 ? year.toNanos() : d.toNanos();
    }

    /** Fails unless {@code d} is null (none) or positive. */
    public static Duration checkTimeout(Duration d, String what) {
        if (d != null && (d.isNegative() || d.isZero())) {
            throw new IllegalArgumentException(what + " must be positive: " + d);
        }
        return d;
    }
}
