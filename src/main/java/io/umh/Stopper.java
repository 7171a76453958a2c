package io.umh;

import io.umh.internal.Watchdog;

import java.time.Duration;
import java.util.Collection;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The graceful stop's ladder, for one helper ({@link UsermodeProcess#stop}) or many at once (JVM
 * shutdown): EOF to all, wait, SIGTERM to those still running, wait, SIGKILL to those still
 * running. The waits are shared: n helpers take one grace, not n.
 */
final class Stopper {
    private Stopper() {}

    /**
     * EOF to all, wait up to {@code graceNanos} for all, SIGTERM to those still running, wait up to
     * {@code graceNanos}, then SIGKILL to those still running. Does not wait for the SIGKILLed to be
     * reaped.
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

    /** A grace period in nanoseconds (saturated); IllegalArgumentException if negative. */
    static long graceNanos(Duration grace) {
        Objects.requireNonNull(grace, "grace");
        if (grace.isNegative()) {
            throw new IllegalArgumentException("grace is negative: " + grace);
        }
        return Watchdog.nanos(grace);
    }
}
