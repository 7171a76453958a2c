package io.umh;

import java.lang.System.Logger.Level;

/**
 * The long-lived threads that clone every child that must die with the JVM: "umh-spawner", then
 * "umh-spawner-2", "umh-spawner-3", ... as the pool grows.
 *
 * <p>A child's PR_SET_PDEATHSIG fires when the <em>thread</em> that cloned it exits, not the JVM.
 * Were children cloned on the caller's thread, a helper forked from a short-lived thread (a task
 * in a pool that shrinks) would be SIGKILLed when that thread ended. Cloning here, on threads
 * that live as long as the JVM, makes "the helper dies with the JVM" and "the helper outlives the
 * thread that forked it" both true. So the pool never shrinks: a spawner that exited would take
 * its children along.
 *
 * <p>Each spawner spends its life, until JVM exit ({@link Native#retireSpawners}), in native code
 * ({@code umh_spawner_serve} in umh_spawner.c): {@link Native#spawn} with {@link Native#SPAWN_PDEATHSIG} queues the clone there and sleeps until
 * the kernel wakes it at the child's exec, without a hand-back through a spawner. A spawner is
 * suspended in vfork until its child execs (130-250 us), so one spawner caps the JVM's spawns a
 * second whatever its cores: the pool starts with one and grows by one, up to
 * {@code -Dumh.spawners} (default: the CPU count), each time a spawn is queued while every spawner
 * is busy. {@code -Dumh.spawners=1} keeps one.
 */
final class Spawner implements Runnable {
    static final String PROPERTY = "umh.spawners";
    private static int started; // guarded by Spawner.class
    /** The most spawners the pool grows to: read by the first grow(), on a spawner thread, not by a first fork. */
    private static int limit;   // guarded by Spawner.class; 0 until read

    private static volatile boolean running; // the first spawner is started

    private Spawner() {}

    /**
     * A spawner thread's body: this class, not a lambda or a class of its own, as on every
     * first-fork path (see ColdStartTest). In native code until JVM exit, where the shutdown
     * hook retires the spawners ({@link Native#retireSpawners}); then parked for good: its children's
     * PR_SET_PDEATHSIG fires when this thread ends, so it never does.
     */
    @Override
    public void run() {
        Native.serveSpawns();
        while (true) {
            java.util.concurrent.locks.LockSupport.park();
        }
    }


    /**
     * Makes sure the first spawner thread is started: by the cleaner thread once the shim is
     * loaded (CleanerThread), or by the first fork. A spawn queued before it reaches native code
     * waits for it there. Not a static initialiser: a start that fails ("unable to create native
     * thread") is thrown to its caller and tried again by the next, where a failed initialiser
     * would leave every later fork a NoClassDefFoundError.
     */
    static void ensureStarted() {
        if (!running) {
            startFirst();
        }
    }

    private static synchronized void startFirst() {
        if (running) {
            return;
        }
        Native.ensureLoaded();
        start();
        running = true;
    }

    /**
     * One more spawner, unless the pool has {@code -Dumh.spawners} (then none, and none is asked for
     * again). Called by a spawner thread, between two clones, when a spawn found every spawner busy.
     */
    static synchronized void grow() {
        if (limit == 0) {
            limit = limit(System.getProperty(PROPERTY), Runtime.getRuntime().availableProcessors());
        }
        if (started >= limit) {
            return;
        }
        try {
            start();
        } catch (OutOfMemoryError noThread) { // "unable to create native thread": the pool stays as it is
            Log.LOG.log(Level.WARNING, "umh: the spawner pool stays at " + started + " thread(s): " + noThread);
        }
    }

    /** How many spawner threads have been started. */
    static synchronized int started() {
        return started;
    }

    /** One more spawner thread, counted in {@link #started} once it has started: an OutOfMemoryError ("unable to create native thread") counts none. */
    private static synchronized void start() {
        int n = started + 1;
        Thread t = new Thread(null, new Spawner(), n == 1 ? "umh-spawner" : "umh-spawner-" + n, 0, false);
        t.setDaemon(true);
        t.setContextClassLoader(null); // a library thread: it must not pin the loader of whoever started it
        t.start();
        started = n;
    }

    /** The value of {@code -Dumh.spawners}: a number from 1 to {@link Abi#SPAWNERS_MAX}; otherwise cpus, with a warning. */
    static int limit(String value, int cpus) {
        int fallback = Math.max(1, Math.min(cpus, Abi.SPAWNERS_MAX));
        if (value == null || value.isBlank()) {
            return fallback;
        }
        int n = PropertyValues.integer(value, 0);
        if (n >= 1 && n <= Abi.SPAWNERS_MAX) {
            return n;
        }
        Log.LOG.log(Level.WARNING, "umh: ignoring -D" + PROPERTY + "=" + value + ": not a number from 1 to "
                + Abi.SPAWNERS_MAX + "; using " + fallback + " (the CPU count)");
        return fallback;
    }
}
