package io.umh;

import java.io.IOException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;

/**
 * One library thread waits for every child: epoll over their pidfds, then {@link Child#reap} for
 * the one that became readable. No thread per child, and never waitpid(-1), which would steal the
 * JDK's own children.
 *
 * <p>On kernels without pidfds (before 5.4) each child gets a small waiting thread instead: it
 * waits without reaping (WNOWAIT), then reaps under the child's lock, so a signal can never be
 * sent to a pid that was already reaped and recycled.
 *
 * <p>Everything here that changes the map or the epoll set is called under the child's lock, by
 * {@link Child}: the map's key is the pidfd's number, which is closed (and may come back for the
 * next child) only after {@link #forget}.
 */
final class Reaper implements IntConsumer {
    /** pidfd -> its child, from {@link #watch} until {@link #forget}. */
    private static final ConcurrentHashMap<Integer, Child> CHILDREN = new ConcurrentHashMap<>();
    /** The reaper thread's watcher: started by {@link #ensureStarted}, then never null. */
    private static volatile FdWatcher pidfds;

    private Reaper() {}

    /**
     * The reaper thread's watcher, started at the first call: by the cleaner thread once the shim
     * is loaded (CleanerThread), or by the first watch. Not a static initialiser, so that a start
     * that fails (no fd for the epoll, no thread) is thrown to its caller and tried again.
     */
    static FdWatcher ensureStarted() throws IOException {
        FdWatcher w = pidfds;
        return w != null ? w : start();
    }

    private static synchronized FdWatcher start() throws IOException {
        if (pidfds == null) {
            try {
                pidfds = new FdWatcher("umh-reaper", new Reaper());
            } catch (java.io.UncheckedIOException e) {
                throw e.getCause();
            }
        }
        return pidfds;
    }

    /** The watcher's handler: this class, not a method reference or a class of its own (see ColdStartTest). */
    @Override
    public void accept(int pidfd) {
        ready(pidfd);
    }

    /** Starts watching {@code c}'s pidfd. Under the child's lock. */
    static void watch(Child c, int pidfd) throws IOException {
        FdWatcher w = ensureStarted();
        CHILDREN.put(pidfd, c);
        try {
            w.add(pidfd);
        } catch (IOException e) {
            CHILDREN.remove(pidfd);
            throw e;
        }
    }

    private static void ready(int pidfd) {
        Child c = CHILDREN.get(pidfd);
        if (c != null) { // a number's old child, completed meanwhile, and its new one: reap finds out
            c.reap(Child.REAPER);
        }
    }

    /** Forgets a reaped child, before its pidfd is closed. Under the child's lock. */
    static void forget(Child c, int pidfd, boolean watched) {
        CHILDREN.remove(pidfd, c);
        if (watched) {
            pidfds.removeQuietly(pidfd);
        }
    }

    /** Stops waking up for {@code pidfd} while a thread waits on it itself. Under the child's lock. */
    static void pause(int pidfd) {
        pidfds.removeQuietly(pidfd);
    }

    /** Watches a paused pidfd again; false if the epoll refused it. Under the child's lock. */
    static boolean resume(int pidfd) {
        try {
            pidfds.add(pidfd);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A small daemon thread of the child's own, "umh-wait-PID", waits for it and completes it. */
    static void onOwnThread(Child c) {
        Thread t = new Thread(null, () -> c.awaitAndReap(Child.OWN_THREAD), "umh-wait-" + c.pid, 64 * 1024, false);
        t.setDaemon(true);
        t.setContextClassLoader(null);
        t.start();
    }
}
