package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Which path completed a child, proved rather than assumed: each timing-dependent path is made the
 * only one that can run, and the child says which one did. Also runs with -Dumh.pidfd=false
 * (the pom's without-pidfd execution), where a waiting thread of the child's own does it all.
 */
@Timeout(60)
class ReapPathTest {
    private static final boolean BY_PID = "false".equals(System.getProperty("umh.pidfd"));

    private static int expected(int withPidfds) {
        return BY_PID ? Child.OWN_THREAD : withPidfds;
    }

    /** cat, which exits when its stdin closes: nothing can complete it before the test lets it. */
    private static UsermodeProcess cat() throws Exception {
        return Umh.forkUsermodeBlob(TestBlobs.bytes("cat"));
    }

    /** waitFor's direct wait on a thread of its own (a platform thread: virtual ones never take it), long enough for any test. */
    private static CompletableFuture<Void> directWaiter(UsermodeProcess p) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                p.child().waitDirectly(TimeUnit.SECONDS.toNanos(30));
                done.complete(null);
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        });
        t.start();
        return done;
    }

    @Test
    void nobodyWaitingTheReaperCompletesIt() throws Exception {
        try (UsermodeProcess p = cat()) {
            p.pipeToUmh().close();
            assertEquals(0, p.onExit().get(10, TimeUnit.SECONDS).exitValue());
            assertEquals(expected(Child.REAPER), p.child().completedBy());
        }
    }

    @Test
    void waitForPollingThePidfdCompletesItItself() throws Exception {
        try (UsermodeProcess p = cat()) {
            // the reaper is paused for the pidfd while waitDirectly polls it: only this thread can reap
            CompletableFuture<Void> waiter = directWaiter(p);
            Await.until("waitFor to take the pidfd from the reaper", () -> BY_PID || !p.child().watchedByReaper());
            p.pipeToUmh().close();
            waiter.get(30, TimeUnit.SECONDS);
            assertEquals(0, p.waitFor());
            assertEquals(expected(Child.DIRECT_WAIT), p.child().completedBy());
        }
    }

    @Test
    void waitForOnAShortHelperUsuallyTakesTheDirectPath() throws Exception {
        int direct = 0;
        for (int i = 0; i < 20; i++) {
            // a helper that ends 5 ms after its fork: one that exits at once (~170 us on a fast VM)
            // is reaped before waitFor starts, every time
            try (UsermodeProcess p = cat()) {
                CompletableFuture.runAsync(() -> {
                    try {
                        p.pipeToUmh().close();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS));
                assertEquals(0, p.waitFor());
                if (p.child().completedBy() == Child.DIRECT_WAIT) {
                    direct++;
                }
            }
        }
        // timing decides each one (the reaper may see an exit before waitFor starts), but not all 20
        assertTrue(BY_PID ? direct == 0 : direct > 0, "direct waits: " + direct + " of 20");
    }

    @Test
    void aSecondWaiterLeavesItToTheFirst() throws Exception {
        try (UsermodeProcess p = cat()) {
            CompletableFuture<Void> first = directWaiter(p);
            Await.until("the first waitFor to take the pidfd from the reaper", () -> BY_PID || !p.child().watchedByReaper());
            p.child().waitDirectly(TimeUnit.SECONDS.toNanos(30)); // returns at once: one direct waiter at a time
            assertTrue(p.isAlive());
            p.pipeToUmh().close();
            first.get(30, TimeUnit.SECONDS);
            assertEquals(0, p.waitFor());
            assertEquals(expected(Child.DIRECT_WAIT), p.child().completedBy());
        }
    }
}
