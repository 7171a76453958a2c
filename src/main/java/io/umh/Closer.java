package io.umh;

import java.io.Closeable;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * umh's Cleaner action (a class, not a lambda: see ColdStartTest), for what an object that nobody
 * closed held: one fd (a blob's memfd, a policy's namespace), or a helper's streams, saying once
 * that nobody closed them. One class for both: each is one more for a fresh JVM's first fork.
 * It must not reference the object it cleans up after.
 */
final class Closer implements Runnable {
    private static final AtomicInteger WARNED = new AtomicInteger(); // 1 once a WARNING: then DEBUG
    private final int fd;                // closed by run(); -1 for a helper's streams
    private final int pid;               // the helper whose streams these are
    private final Closeable[] closeables; // null for an fd
    volatile boolean byClose;            // set by UsermodeProcess.close(): no warning

    /** Closes {@code fd} quietly. */
    Closer(int fd) {
        this.fd = fd;
        this.pid = 0;
        this.closeables = null;
    }

    /** Closes helper {@code pid}'s streams (null ones skipped: a stderr never piped). */
    Closer(int pid, Closeable... closeables) {
        this.fd = -1;
        this.pid = pid;
        this.closeables = closeables;
    }

    /** UsermodeProcess.close()'s first step: every stream closed, the Cleanable left for the end. */
    void closeStreams() {
        for (Closeable c : closeables) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (IOException ignored) {
                // closing a pipe end cannot fail in a way anyone could act on
            }
        }
    }

    /** Whether a pipe is still open: one that neither the exit nor close() released. */
    private boolean holdsPipes() {
        for (Closeable c : closeables) {
            if (c instanceof PipeInputStream && !((PipeInputStream) c).released()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void run() {
        if (closeables == null) {
            Native.closeQuietly(fd);
            return;
        }
        if (!byClose && holdsPipes()) {
            Level level = WARNED.compareAndSet(0, 1) ? Level.WARNING : Level.DEBUG;
            Log.LOG.log(level, "umh: closing the pipes of helper pid " + pid + ", which nobody closed; close each"
                    + " UsermodeProcess (try-with-resources) to release them at once (later ones are logged at DEBUG)");
        }
        closeStreams();
    }
}
