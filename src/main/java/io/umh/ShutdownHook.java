package io.umh;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * On JVM shutdown (the end of main, {@code System.exit}, SIGTERM or SIGINT to the JVM) every live
 * helper (but those forked with {@code Lifetime.OUTLIVES_JVM}) gets a short graceful stop, all of them at once: EOF, then SIGTERM to those still running
 * after half the grace, then SIGKILL to those still running at its end. Shutdown is never held up
 * longer than the grace: {@code -Dumh.shutdown.grace}, an ISO-8601 duration ({@code PT0.5S}) or
 * milliseconds ({@code 500}), default 2 s; {@code 0} kills at once. Without the hook the kernel
 * would still SIGKILL every helper when the JVM dies (PR_SET_PDEATHSIG), but with no chance to
 * finish.
 */
final class ShutdownHook implements Runnable {
    private static final Log LOG = Log.LOG;
    static final String PROPERTY = "umh.shutdown.grace";
    static final Duration DEFAULT_GRACE = Duration.ofSeconds(2);
    private static final Set<UsermodeProcess> LIVE = ConcurrentHashMap.newKeySet();
    private static volatile boolean running;
    /** Whether a helper's cgroup was ever made: else the hook leaves Cgroup unloaded (its pid lookup starts the JDK's process reaper). */
    private static volatile boolean cgroups;

    static {
        try {
            Thread hook = new Thread(null, new ShutdownHook(), "umh-shutdown", 0, false); // not a lambda: see ColdStartTest
            hook.setContextClassLoader(null); // registered for the JVM's life: it must pin no one's loader
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            running = true; // the first helper was forked during shutdown: the kernel kills it at exit
        }
    }

    private ShutdownHook() {}

    /** Makes sure the hook is registered (once, by this class's initialisation). */
    static void ensureRegistered() {}

    /** The hook's body: this class, not a method reference or a class of its own. */
    @Override
    public void run() {
        try {
            stopAll();
        } finally {
            retireThreads(); // also after a stop that failed: the exit's wait is the same
        }
    }

    /**
     * Last: umh's threads out of native code. HotSpot's exit waits up to ~300 ms for threads that
     * are in native code (VM_Exit::wait_for_threads_in_native_to_block), and the reaper's epoll_wait
     * and the spawners' wait for work are: without this, every JVM that has forked a helper exited
     * 0.33 s late. Helpers forked or still waited for after this still work (Native#retireSpawners,
     * FdWatcher).
     */
    static void retireThreads() {
        FdWatcher.retireAll();
        Native.retireSpawners();
    }

    /** A helper that is running: the hook stops it. */
    static void add(UsermodeProcess p) {
        LIVE.add(p);
    }

    /** A helper that has exited and been reaped. */
    static void remove(UsermodeProcess p) {
        LIVE.remove(p);
    }

    /** A helper's cgroup was made: the hook removes those that are left. */
    static void cgroupMade() {
        cgroups = true;
    }

    /** Whether the JVM is shutting down: supervisors must not restart helpers any more. */
    static boolean running() {
        return running;
    }

    private static void stopAll() {
        running = true;
        List<UsermodeProcess> live = List.copyOf(LIVE);
        Duration grace = grace(System.getProperty(PROPERTY));
        if (!live.isEmpty() && LOG.isLoggable(Level.DEBUG)) {
            LOG.log(Level.DEBUG, "umh: JVM shutdown: stopping " + live.size() + " helper(s) within " + grace);
        }
        try {
            if (!live.isEmpty()) {
                Stopper.stopAll(live, grace.toNanos() / 2);
            }
        } catch (InterruptedException e) {
            live.forEach(UsermodeProcess::destroyForcibly);
        }
        // the SIGKILLed may not be reaped yet: their cgroups go once they have exited, within ms
        // (up to ~40 ms seen at load 20 on 2 CPUs); the bound only matters for a stuck exit
        if (cgroups) {
            Cgroup.removeAll(1000);
        }
    }

    /** The value of {@code -Dumh.shutdown.grace}; the default, with a warning, when it is no duration. */
    static Duration grace(String value) {
        if (value == null || value.isBlank()) {
            return DEFAULT_GRACE;
        }
        Duration d = PropertyValues.duration(value);
        if (d != null) {
            return d;
        }
        LOG.log(Level.WARNING, "umh: ignoring -D" + PROPERTY + "=" + value
                + ": neither an ISO-8601 duration (PT0.5S) nor milliseconds; using " + DEFAULT_GRACE);
        return DEFAULT_GRACE;
    }
}
