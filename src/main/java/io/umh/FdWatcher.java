package io.umh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.IntConsumer;

/**
 * One library thread that waits on a set of fds with epoll and hands each ready one to a handler:
 * the reaper's pidfds ({@link Reaper}), the sandbox's seccomp listeners ({@link Violations}). The
 * fds stay their owners'; this only watches them, from {@link #add} until {@link #removeQuietly}.
 *
 * <p>At JVM exit the shutdown hook {@linkplain #retireAll retires} every watcher: HotSpot's exit
 * waits up to ~300 ms for threads that are in native code, and a watcher is in epoll_wait for its
 * whole life. A retired watcher is woken (an eventfd that is readable from the start, added to its
 * set: no fd is spent on this before), then polls its set every {@value #RETIRED_POLL_MS} ms from
 * Java, so that helpers other shutdown hooks still wait for are still seen to exit.
 */
final class FdWatcher implements Runnable {
    static final int RETIRED_POLL_MS = 5;
    private static FdWatcher all; // guarded by FdWatcher.class: every watcher, through next
    private final int epfd;
    private final IntConsumer onReady;
    private FdWatcher next;          // guarded by FdWatcher.class
    private volatile boolean retired;
    private volatile int wakeFd = -1; // the retirement's eventfd, until this thread closes it

    /** Starts the daemon thread {@code name}, which runs {@code onReady} for each fd that becomes ready. */
    FdWatcher(String name, IntConsumer onReady) {
        try {
            this.epfd = Native.epollCreate();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.onReady = onReady;
        synchronized (FdWatcher.class) {
            next = all;
            all = this;
        }
        Thread t = new Thread(null, this, name, 0, false); // a Runnable, not a lambda: see ColdStartTest
        t.setDaemon(true);
        t.setContextClassLoader(null); // a library thread: it must not pin the loader of whoever started it
        t.start();
    }

    void add(int fd) throws IOException {
        Native.epollAdd(epfd, fd);
    }

    /** Stops watching fd; the only failure, ENOENT (not watched), is nothing to act on. */
    void removeQuietly(int fd) {
        Native.epollDelQuietly(epfd, fd);
    }

    /** At JVM exit: every watcher out of epoll_wait, polling from Java from here on. */
    static synchronized void retireAll() {
        for (FdWatcher w = all; w != null; w = w.next) {
            w.retire();
        }
    }

    private void retire() {
        if (retired) {
            return;
        }
        retired = true;
        int fd = -1;
        try {
            fd = Native.eventfdReady();
            wakeFd = fd; // before the epoll can report it: the thread must know it for what it is
            Native.epollAdd(epfd, fd);
        } catch (IOException e) { // no fd left (EMFILE), no memory: the thread sees retired at its next wake-up
            if (fd >= 0) {
                wakeFd = -1;
                Native.closeQuietly(fd);
            }
            Log.LOG.log(System.Logger.Level.DEBUG, "umh: could not wake the fd watcher at exit: " + e.getMessage());
        }
    }

    @Override
    public void run() {
        int[] ready = new int[64];
        while (true) {
            boolean polling = retired;
            int n;
            try {
                n = Native.epollWait(epfd, ready, polling ? 0 : -1);
            } catch (IOException e) { // only a broken epoll fd gets here: say so rather than spin
                throw new IllegalStateException("umh " + e.getMessage(), e);
            }
            int wake = wakeFd;
            for (int i = 0; i < n; i++) {
                if (ready[i] == wake) {
                    Native.epollDelQuietly(epfd, wake);
                    wakeFd = -1; // before the close: the number may come back as a pidfd
                    Native.closeQuietly(wake);
                } else {
                    onReady.accept(ready[i]);
                }
            }
            if (polling) {
                try {
                    Thread.sleep(RETIRED_POLL_MS);
                } catch (InterruptedException e) {
                    // nobody interrupts this thread; a poll sooner is no harm
                }
            }
        }
    }
}
