package io.umh;

/**
 * The one long-lived thread that clones every child that must die with the JVM.
 *
 * <p>A child's PR_SET_PDEATHSIG fires when the <em>thread</em> that cloned it exits, not the JVM.
 * Were children cloned on the caller's thread, a helper forked from a short-lived thread (a task
 * in a pool that shrinks) would be SIGKILLed when that thread ended. Cloning here, on a thread
 * that lives as long as the JVM, makes "the helper dies with the JVM" and "the helper outlives the
 * thread that forked it" both true.
 *
 * <p>The thread spends its life in native code ({@code umh_spawner_serve} in umh_spawner.c):
 * {@link Native#spawn} with {@link Native#SPAWN_PDEATHSIG} queues the clone there and sleeps until
 * the kernel wakes it at the child's exec, without a hand-back through this thread.
 */
final class Spawner {
    static {
        Native.ensureLoaded();
        Thread t = new Thread(null, new Serve(), "umh-spawner", 0, false);
        t.setDaemon(true);
        t.setContextClassLoader(null); // a library thread: it must not pin the loader of whoever started it
        t.start();
    }

    private Spawner() {}

    /** The thread's body: a class, not a lambda, as on every first-fork path (see ColdStartTest). */
    private static final class Serve implements Runnable {
        @Override
        public void run() {
            serve();
        }
    }

    /**
     * Makes sure the spawner thread is started (once, by this class's initialisation). A spawn
     * queued before it reaches native code waits for it there.
     */
    static void ensureStarted() {}

    private static void serve() {
        Native.serveSpawns(); // never returns: children depend on this thread staying alive
    }
}
