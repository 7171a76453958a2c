package io.umh;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.umh.internal.VirtualThreads;

/**
 * One child's kernel state, and its only owner: the pid, the pidfd and the exit status, with the
 * one method that completes the child and the only code that signals it.
 *
 * <p>States, under this object's lock ({@code released}: a boolean, not an enum, which would be a
 * class more for a first fork to load and initialise):
 * <ul>
 *   <li>running: not reaped. The pid is the child's (a zombie keeps it), the pidfd is
 *       open (or -1 on kernels without pidfds); {@link #signal} sends.
 *   <li>released: reaped by {@link #reap}, which in the same critical section takes
 *       the pidfd out of the reaper and closes it. Signals are refused from then on: the pid may
 *       already name another process.
 * </ul>
 * Whoever learns of an exit (the reaper thread, {@code waitFor} waiting on the pidfd itself, a
 * waiting thread of the child's own, a spawn whose watch failed) calls {@link #reap}; the one call
 * that finds the child exited releases it and then publishes its status to its UsermodeProcess
 * ({@code waitFor}, {@code onExit}, the events), once, outside the lock. No path here blocks in
 * the kernel under the lock: the blocking waits wait on a duplicate of the pidfd (or with
 * {@code WNOWAIT}) first and reap without blocking after.
 */
final class Child {
    // Which path completed the child: tests prove which one ran, logs say it at TRACE. Numbers, not
    // an enum, which would be one more class for a first fork to load and initialise.
    /** The reaper thread, woken by the epoll. */
    static final int REAPER = 1;
    /** {@code waitFor} polling the pidfd itself. */
    static final int DIRECT_WAIT = 2;
    /** A waiting thread of the child's own (no pidfds, or the epoll refused the pidfd). */
    static final int OWN_THREAD = 3;
    /** The spawn, after watching the new child failed: killed and reaped there. */
    static final int SPAWN = 4;
    private static final String[] PATHS = {"none", "REAPER", "DIRECT_WAIT", "OWN_THREAD", "SPAWN"};

    private static final Log LOG = Log.LOG;
    /** How long waitFor waits on the pidfd itself before it leaves the child to the reaper thread. */
    static final long DIRECT_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /** Whether this JDK has virtual threads (21+): before, VirtualThreads is not even loaded. */
    private static final boolean VIRTUAL_THREADS = Runtime.version().feature() >= 21;

    final int pid;
    private final UsermodeProcess process; // told the status once released: a class less than an IntConsumer of its own
    /** 1 while a waitFor waits on the pidfd itself. Not an AtomicBoolean: its VarHandle costs a fresh JVM ~0.7 ms of a first fork. */
    private final AtomicInteger directWaiter = new AtomicInteger();
    private boolean released;            // guarded by this: reaped (see the states above)
    private int pidfd;                   // guarded by this: -1 once released, or without pidfds
    private boolean watched;             // guarded by this: the pidfd is in the reaper's epoll
    private int status;                  // guarded by this: set on release
    private int completedBy;             // guarded by this: set on release (0 before)

    /** Owns {@code pidfd} from here on; {@code process} gets the status once the child is released. */
    Child(int pid, int pidfd, UsermodeProcess process) {
        this.pid = pid;
        this.pidfd = pidfd;
        this.process = process;
    }

    /**
     * Hands the child to the reaper, which completes it once it exits; without pidfds, to a thread
     * of its own. Throws if the epoll refuses the pidfd (ENOMEM, ENOSPC): the child is then still
     * running and the caller's to kill and reap.
     */
    void watch() throws IOException {
        synchronized (this) {
            if (pidfd >= 0) {
                Reaper.watch(this, pidfd);
                watched = true;
                return;
            }
        }
        Reaper.onOwnThread(this);
    }

    /** Sends {@code sig} unless the child has been reaped; true if it was sent. */
    synchronized boolean signal(int sig) {
        return !released && Native.trySignal(pidfd, pid, sig);
    }

    /**
     * SIGTERM, or SIGKILL for a child that is the init of its own pid namespace and does not catch
     * SIGTERM: the kernel drops an init's unhandled signals (SIGKILL aside), so a SIGTERM would do
     * nothing. Read from /proc/PID/status while the child is unreaped, so the pid is its.
     */
    synchronized boolean terminate(boolean pidNamespaceInit) {
        if (released) {
            return false;
        }
        return signal(pidNamespaceInit && !catches(Abi.SIGTERM) ? Abi.SIGKILL : Abi.SIGTERM);
    }

    /** Whether the child has a handler for {@code sig} (SigCgt in /proc/PID/status). */
    private boolean catches(int sig) {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("SigCgt:")) {
                    return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << (sig - 1))) != 0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone or unreadable: as if it caught it (a SIGTERM is the gentler guess)
        }
        return true;
    }

    synchronized boolean released() {
        return released;
    }

    /** Whether the reaper's epoll is watching the pidfd (not while a waitFor polls it itself). */
    synchronized boolean watchedByReaper() {
        return watched;
    }

    /** The path that completed the child ({@link #REAPER}, ...), or 0 while it runs. */
    synchronized int completedBy() {
        return completedBy;
    }

    /**
     * The one completion: reaps the child if it has exited (never blocks), then, in this order and
     * exactly once, takes it out of the reaper, closes the pidfd, and publishes the status. True if
     * this call completed it.
     */
    boolean reap(int path) {
        int s;
        synchronized (this) {
            if (released) {
                return false;
            }
            try {
                s = Native.reap(pidfd, pid);
                if (s == Abi.RUNNING) {
                    return false;
                }
            } catch (IOException e) {
                // ECHILD: someone else reaped our child (SIGCHLD set to SIG_IGN, say): the status is unknown
                LOG.log(System.Logger.Level.DEBUG, "umh: helper pid " + pid + ": " + e.getMessage() + "; exit status unknown (-1)");
                s = -1;
            }
            status = s;
            released = true;
            completedBy = path;
            if (pidfd >= 0) {
                // forget it before its pidfd is closed: the number may come back for the next child
                Reaper.forget(this, pidfd, watched);
                watched = false;
                Native.closeQuietly(pidfd);
                pidfd = -1;
            }
            s = status;
        }
        if (LOG.trace()) {
            LOG.log(System.Logger.Level.TRACE, "umh: helper pid " + pid + " reaped, exit status " + s + " (by " + PATHS[path] + ")");
        }
        process.exited(s); // last: whoever waitFor()s sees every fd but the pipes released
        return true;
    }

    /**
     * Blocks until the child has exited, then completes it: for a thread that has nothing else to
     * do. Waits on a duplicate of the pidfd (the pidfd itself may be closed meanwhile by another
     * completion, and its number reused), or without pidfds with {@code waitid(WNOWAIT)}.
     */
    void awaitAndReap(int path) {
        int fd = -1;
        try {
            boolean byPid;
            synchronized (this) {
                if (released) {
                    return;
                }
                byPid = pidfd < 0;
                if (!byPid) {
                    fd = Native.dup(pidfd);
                }
            }
            if (byPid) {
                Native.waitExited(pid);
            } else {
                while (!Native.pollIn(fd, -1)) {
                    // EINTR: poll again
                }
            }
        } catch (IOException e) {
            // no fd for a duplicate (EMFILE), or a wait that failed: reap below still completes an
            // exited child; a running one stays the reaper's, or this is retried by its caller
            LOG.log(System.Logger.Level.DEBUG, "umh: helper pid " + pid + ": " + e.getMessage());
        } finally {
            if (fd >= 0) {
                Native.closeQuietly(fd);
            }
        }
        reap(path);
    }

    /**
     * {@code waitFor}'s fast path: waits on the child's pidfd on the calling thread for up to
     * {@code nanos}, and completes it here if it exits meanwhile. That saves the reaper thread's
     * wake-up and its hand-off to this thread: two cross-CPU wake-ups, ~300 us of a ~1.5 ms
     * spawn+wait of a short helper here. One thread at a time, platform threads only (a poll pins
     * a virtual thread's carrier); the reaper leaves the pidfd alone meanwhile and watches it again
     * after. The poll runs on a duplicate, so the pidfd may be released under it; it wakes every
     * 10 ms for interrupts.
     */
    void waitDirectly(long nanos) throws InterruptedException {
        if (nanos <= 0 || (VIRTUAL_THREADS && VirtualThreads.current()) || !directWaiter.compareAndSet(0, 1)) {
            return;
        }
        int fd = -1;
        boolean paused = false;
        try {
            synchronized (this) {
                if (released || pidfd < 0 || !watched) {
                    return; // done, tracked by pid, or on a thread of its own
                }
                fd = Native.dup(pidfd);
                Reaper.pause(pidfd);
                watched = false;
                paused = true;
            }
            long deadline = System.nanoTime() + nanos;
            for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                if (Native.pollIn(fd, (int) Math.min(10, TimeUnit.NANOSECONDS.toMillis(left) + 1))) {
                    reap(DIRECT_WAIT);
                    break;
                }
            }
        } catch (IOException e) {
            // no fd for a duplicate (EMFILE), or a poll error: the reaper takes it from here
            LOG.log(System.Logger.Level.DEBUG, "umh: helper pid " + pid + ": waitFor leaves it to the reaper: " + e.getMessage());
        } finally {
            if (fd >= 0) {
                Native.closeQuietly(fd);
            }
            if (paused) {
                rewatch();
            }
            directWaiter.set(0);
        }
    }

    /** Gives a paused child back to the reaper; if the epoll refuses it (ENOMEM), to a thread of its own. */
    private void rewatch() {
        synchronized (this) {
            if (released || watched) {
                return;
            }
            watched = Reaper.resume(pidfd);
            if (watched) {
                return;
            }
        }
        Reaper.onOwnThread(this);
    }

    @Override
    public synchronized String toString() {
        return "Child[pid=" + pid + (released ? ", RELEASED, status=" + status + ", by " + PATHS[completedBy] : ", RUNNING") + "]";
    }
}
