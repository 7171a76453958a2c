package io.umh.service;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Counts platform threads around a run of virtual threads, for tests that check a virtual thread
 * never holds one while it waits for a helper: how many more there are now and at the peak than
 * when counting began, and how many have a name (the carriers, "ForkJoinPool-"; the channels'
 * readers, "umh-channel-").
 */
final class PlatformThreads {
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final int before;

    private PlatformThreads() {
        before = threads.getThreadCount();
        threads.resetPeakThreadCount();
    }

    /** Starts counting: the peak from now. */
    static PlatformThreads count() {
        return new PlatformThreads();
    }

    /** A virtual thread per task (Java 21+, reached by reflection: the tests compile for 17); skips the test before 21. */
    static ExecutorService virtualThreadPerTask() throws ReflectiveOperationException {
        try {
            return (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        } catch (NoSuchMethodException e) {
            assumeTrue(false, "no virtual threads before Java 21");
            throw new AssertionError(e); // never: assumeTrue(false) throws
        }
    }

    /** Platform threads more than when counting began. */
    int more() {
        return threads.getThreadCount() - before;
    }

    /** Platform threads more at the peak since counting began than when it began. */
    int peakMore() {
        return threads.getPeakThreadCount() - before;
    }

    /** The carriers of virtual threads now. */
    static int carriers() {
        return named("ForkJoinPool-");
    }

    /** The channels' reader threads now. */
    static int readers() {
        return named("umh-channel-");
    }

    private static int named(String prefix) {
        int n = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            n += t.getName().startsWith(prefix) ? 1 : 0;
        }
        return n;
    }
}
