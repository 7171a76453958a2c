package io.umh;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntSupplier;

/**
 * The one long-lived thread that clones every child.
 *
 * <p>A child's PR_SET_PDEATHSIG fires when the <em>thread</em> that cloned it exits, not the JVM.
 * Were children cloned on the caller's thread, a helper forked from a short-lived thread (a task
 * in a pool that shrinks) would be SIGKILLed when that thread ended. Cloning here, on a thread
 * that lives as long as the JVM, makes "the helper dies with the JVM" and "the helper outlives the
 * thread that forked it" both true.
 */
final class Spawner {
    private static final LinkedBlockingQueue<Request> QUEUE = new LinkedBlockingQueue<>();

    static {
        Thread t = new Thread(null, Spawner::serve, "umh-spawner", 0, false);
        t.setDaemon(true);
        t.start();
    }

    private Spawner() {}

    private static final class Request {
        final IntSupplier task;
        final Thread waiter = Thread.currentThread();
        volatile boolean done;
        int result;
        Throwable failure;

        Request(IntSupplier task) {
            this.task = task;
        }
    }

    /**
     * Runs {@code task} on the spawner thread and returns its result. Waits uninterruptibly: a
     * spawn takes well under a millisecond, and an interrupted caller that walked away would leave
     * a child nobody owns. The interrupt status is kept.
     */
    static int call(IntSupplier task) {
        Request r = new Request(task);
        QUEUE.add(r);
        boolean interrupted = false;
        while (!r.done) {
            LockSupport.park(r);
            interrupted |= Thread.interrupted();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (r.failure != null) {
            if (r.failure instanceof RuntimeException) {
                throw (RuntimeException) r.failure;
            }
            throw (Error) r.failure;
        }
        return r.result;
    }

    private static void serve() {
        while (true) {
            Request r;
            try {
                r = QUEUE.take();
            } catch (InterruptedException e) {
                continue; // nobody may stop this thread: children depend on it staying alive
            }
            try {
                r.result = r.task.getAsInt();
            } catch (RuntimeException | Error e) {
                r.failure = e;
            }
            r.done = true;
            LockSupport.unpark(r.waiter);
        }
    }
}
