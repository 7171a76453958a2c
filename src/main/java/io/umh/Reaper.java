package io.umh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One library thread waits for every child: epoll over their pidfds, then waitid(P_PIDFD) for
 * the one that became readable. No thread per child, and never waitpid(-1), which would steal the
 * JDK's own children.
 *
 * <p>On kernels without pidfds (before 5.3) each child gets a small waiting thread instead: it
 * waits without reaping (WNOWAIT), then reaps under the process's lock, so a signal can never be
 * sent to a pid that was already reaped and recycled.
 */
final class Reaper {
    private static final System.Logger LOG = System.getLogger("io.umh");
    private static final int EPFD;
    /** pidfd -> its process, from registration until the child is reaped. */
    private static final ConcurrentHashMap<Integer, UsermodeProcess> CHILDREN = new ConcurrentHashMap<>();

    static {
        try {
            EPFD = Native.check(Native.epollCreate(), "reaper");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread t = new Thread(null, Reaper::serve, "umh-reaper", 0, false);
        t.setDaemon(true);
        t.start();
    }

    private Reaper() {}

    /** Starts watching {@code p}; the reaper completes its exit once the child has exited. */
    static void watch(UsermodeProcess p, int pidfd) throws IOException {
        if (pidfd < 0) {
            onOwnThread(p, () -> waitWithoutPidfd(p));
            return;
        }
        CHILDREN.put(pidfd, p);
        int rc = Native.epollCtl(EPFD, true, pidfd);
        if (rc < 0) {
            CHILDREN.remove(pidfd);
            throw Native.error("fork", rc, "");
        }
    }

    private static void serve() {
        int[] ready = new int[64];
        while (true) {
            int n = Native.epollWait(EPFD, ready);
            if (n < 0) { // only a broken epoll fd gets here: say so rather than spin
                throw new IllegalStateException("umh reaper: " + Native.describe(n));
            }
            for (int i = 0; i < n; i++) {
                UsermodeProcess p = CHILDREN.get(ready[i]);
                int status = p == null ? UsermodeProcess.NOT_REAPED : p.tryReap(false);
                if (status != UsermodeProcess.NOT_REAPED) {
                    reaped(p, ready[i], status, true);
                }
            }
        }
    }

    /**
     * Completes the exit of {@code p}, reaped with {@code status}, exactly once: whoever takes it
     * out of the map first, this thread or a {@code waitFor} that waited on the pidfd itself.
     * {@code watched}: the pidfd is in the epoll (not paused by a waitFor, nor refused back).
     */
    static void reaped(UsermodeProcess p, int pidfd, int status, boolean watched) {
        // forget it before its pidfd is closed: the number may come back for the next child
        if (!CHILDREN.remove(pidfd, p)) {
            return;
        }
        if (watched) {
            Native.epollCtl(EPFD, false, pidfd);
        }
        p.releasePidfd();
        traceReaped(p, status);
        p.exited(status); // last: whoever waitFor()s sees every fd but the pipes released
    }

    /** Stops waking up for {@code pidfd} while a thread waits on it itself. Under the process's lock. */
    static void pause(int pidfd) {
        Native.epollCtl(EPFD, false, pidfd);
    }

    /**
     * Watches {@code pidfd} again, unless its process is done; false if that failed (the caller
     * then calls {@link #reapOnThread}). Under the process's lock, so the number is still this child's.
     */
    static boolean resume(UsermodeProcess p, int pidfd) {
        return CHILDREN.get(pidfd) != p || Native.epollCtl(EPFD, true, pidfd) == 0;
    }

    /** The last resort when the epoll refuses a pidfd back: a small thread of its own reaps the child. */
    static void reapOnThread(UsermodeProcess p, int pidfd) {
        onOwnThread(p, () -> reaped(p, pidfd, p.tryReap(true), false));
    }

    /** Runs {@code wait} on a small daemon thread of the child's own, "umh-wait-PID". */
    private static void onOwnThread(UsermodeProcess p, Runnable wait) {
        Thread t = new Thread(null, wait, "umh-wait-" + p.pid(), 64 * 1024, false);
        t.setDaemon(true);
        t.start();
    }

    private static void waitWithoutPidfd(UsermodeProcess p) {
        Native.waitExited((int) p.pid());
        int status = p.tryReap(true);
        traceReaped(p, status);
        p.exited(status);
    }

    private static void traceReaped(UsermodeProcess p, int status) {
        if (LOG.isLoggable(Level.TRACE)) {
            LOG.log(Level.TRACE, "umh: helper pid " + p.pid() + " reaped, exit status " + status);
        }
    }
}
