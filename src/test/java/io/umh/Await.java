package io.umh;

import java.time.Duration;

/**
 * The one way tests wait for a condition that no event announces (a process gone from /proc, a
 * thread ended, a Cleaner run): poll it, with a short pause, until it holds or the time is up,
 * then fail naming what was awaited and what was last seen.
 */
public final class Await {
    /** Generous for a loaded CI machine; a condition that holds returns at its first check. */
    public static final Duration DEFAULT = Duration.ofSeconds(20);

    private Await() {}

    /** A condition that may throw (reading /proc, say). */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    /** Waits up to {@link #DEFAULT} for {@code condition}; AssertionError naming {@code what} if it never holds. */
    public static void until(String what, Condition condition) throws Exception {
        until(what, DEFAULT, condition);
    }

    /** Waits up to {@code timeout} for {@code condition}; AssertionError naming {@code what} if it never holds. */
    public static void until(String what, Duration timeout, Condition condition) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.holds()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout + " waiting for: " + what);
            }
            Thread.sleep(5);
        }
    }
}
