package io.umh.service;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

import io.umh.internal.Watchdog;

/**
 * Whether a service starts its helper again after an exit, and after how long: the policy
 * ({@link UsermodeService.Restart}), an exponential backoff with jitter, and at most a number of
 * restarts within a sliding window. Pure logic: the clock and the random source are given, so
 * RestartPolicyTest needs neither sleeps nor processes. Not thread-safe: one service's own thread
 * alone uses it.
 */
final class RestartPolicy {
    /** What {@link #nextDelay()} returns once the window already holds the limit. */
    static final long GIVE_UP = -1;

    private final UsermodeService.Restart restart;
    private final long initial; // nanoseconds
    private final long max;     // nanoseconds
    private final double jitter;
    private final int limit;
    private final Duration window;
    private final LongSupplier nanoTime;
    private final DoubleSupplier random;
    private final ArrayDeque<Long> recent = new ArrayDeque<>(); // when each restart within the window was granted

    /**
     * @param nanoTime a monotonic clock in nanoseconds, as {@link System#nanoTime()}
     * @param random   values from 0 (inclusive) to 1 (exclusive), as {@link java.util.Random#nextDouble()}
     */
    RestartPolicy(UsermodeService.Restart restart, Duration initial, Duration max, double jitter, int limit,
                  Duration window, LongSupplier nanoTime, DoubleSupplier random) {
        this.restart = Objects.requireNonNull(restart, "restart");
        checkBackoff(initial, max, jitter);
        checkLimit(limit, window);
        this.initial = Watchdog.nanos(initial);
        this.max = Watchdog.nanos(max);
        this.jitter = jitter;
        this.limit = limit;
        this.window = window;
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.random = Objects.requireNonNull(random, "random");
    }

    /** Fails unless {@code initial} is zero or positive, {@code max} at least {@code initial}, and {@code jitter} within 0 and 1. */
    static void checkBackoff(Duration initial, Duration max, double jitter) {
        if (Objects.requireNonNull(initial, "initial").isNegative()) {
            throw new IllegalArgumentException("initial is negative: " + initial);
        }
        if (Objects.requireNonNull(max, "max").compareTo(initial) < 0) {
            throw new IllegalArgumentException("max " + max + " is less than initial " + initial);
        }
        if (!(jitter >= 0 && jitter <= 1)) {
            throw new IllegalArgumentException("jitter must be within 0 and 1: " + jitter);
        }
    }

    /** Fails unless {@code restarts} is zero or positive and {@code window} positive. */
    static void checkLimit(int restarts, Duration window) {
        if (restarts < 0) {
            throw new IllegalArgumentException("restarts is negative: " + restarts);
        }
        Watchdog.checkTimeout(Objects.requireNonNull(window, "window"), "window");
    }

    /** Whether an exit is followed by a restart at all: after every exit (ALWAYS), only after a failure (ON_FAILURE), or never. */
    boolean restartsAfter(boolean failure) {
        return restart == UsermodeService.Restart.ALWAYS || restart == UsermodeService.Restart.ON_FAILURE && failure;
    }

    /**
     * Grants the next restart and returns the wait before it, in nanoseconds: initial * 2^(restarts
     * granted within the window), at most max, less a random fraction of it up to jitter. Restarts
     * granted a whole window ago or longer no longer count. {@link #GIVE_UP} (and nothing granted)
     * once the window already holds the limit.
     */
    long nextDelay() {
        long now = nanoTime.getAsLong();
        while (!recent.isEmpty() && now - recent.peekFirst() >= Watchdog.nanos(window)) {
            recent.removeFirst();
        }
        if (recent.size() >= limit) {
            return GIVE_UP;
        }
        double delay = Math.min(max, initial * Math.pow(2, recent.size()));
        delay *= 1 - jitter * random.getAsDouble();
        recent.addLast(now);
        return (long) delay;
    }

    /** The most restarts within a window. */
    int limit() {
        return limit;
    }

    /** The window. */
    Duration window() {
        return window;
    }
}
