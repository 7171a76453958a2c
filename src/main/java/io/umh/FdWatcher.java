package io.umh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.IntConsumer;

/**
 * One library thread that waits on a set of fds with epoll and hands each ready one to a handler:
 * the reaper's pidfds ({@link Reaper}), the sandbox's seccomp listeners ({@link Violations}). The
 * fds stay their owners'; this only watches them, from {@link #add} until {@link #removeQuietly}.
 */
final class FdWatcher implements Runnable {
    private final int epfd;
    private final IntConsumer onReady;

    /** Starts the daemon thread {@code name}, which runs {@code onReady} for each fd that becomes ready. */
    FdWatcher(String name, IntConsumer onReady) {
        try {
            this.epfd = Native.epollCreate();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.onReady = onReady;
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

    @Override
    public void run() {
        int[] ready = new int[64];
        while (true) {
            int n;
            try {
                n = Native.epollWait(epfd, ready);
            } catch (IOException e) { // only a broken epoll fd gets here: say so rather than spin
                throw new IllegalStateException("umh " + e.getMessage(), e);
            }
            for (int i = 0; i < n; i++) {
                onReady.accept(ready[i]);
            }
        }
    }
}
