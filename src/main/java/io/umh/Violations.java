package io.umh;

import java.io.IOException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The seccomp listeners of sandboxed helpers, and the one library thread that waits on them
 * ("umh-seccomp", started with the first): a helper's forbidden call blocks in the kernel, which
 * tells the listener its number; this thread names the call, records it on the process and
 * SIGKILLs the helper through its pidfd, so the call never runs. The process reports it as a
 * seccomp kill would (exit status 159, {@link UsermodeProcess#violation()}).
 */
final class Violations {
    private static final Log LOG = Log.LOG;
    /** listener fd -> its process, from {@link #watch} until {@link #forget}. */
    private static final ConcurrentHashMap<Integer, UsermodeProcess> LISTENERS = new ConcurrentHashMap<>();
    private static final FdWatcher WATCHER = new FdWatcher("umh-seccomp", Violations::handle); // after LISTENERS

    private Violations() {}

    /** Starts watching {@code listener} (owned by {@code p}, closed by {@link #forget}). */
    static void watch(UsermodeProcess p, int listener) throws IOException {
        LISTENERS.put(listener, p);
        try {
            WATCHER.add(listener);
        } catch (IOException e) {
            LISTENERS.remove(listener);
            throw e;
        }
    }

    /** Once the helper is reaped: stops watching its listener, before the caller closes it. */
    static void forget(int listener) {
        if (LISTENERS.remove(listener) != null) {
            WATCHER.removeQuietly(listener);
        }
    }

    private static void handle(int listener) {
        UsermodeProcess p = LISTENERS.get(listener);
        if (p == null) {
            return; // forgotten meanwhile
        }
        if (!Native.seccompPending(listener)) {
            // the hang-up of a helper that has exited: nothing more can come; the close is forget's caller's
            if (LISTENERS.remove(listener, p)) {
                WATCHER.removeQuietly(listener);
            }
            return;
        }
        try {
            int nr = Native.seccompReceive(listener);
            String name = Native.syscallName(nr);
            p.violated(new SandboxViolation(name != null ? name : "syscall " + nr,
                    "seccomp user notification: system call " + nr + " on " + System.getProperty("os.arch")));
        } catch (IOException e) {
            // ENOENT: the helper died (or the call was interrupted) before it could be read: the next event says
            LOG.log(System.Logger.Level.DEBUG, "umh: helper pid " + p.pid() + ": " + e.getMessage());
        }
    }
}
