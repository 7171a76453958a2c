package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every pair of paths that can learn of a child's exit or release it, raced many times: each child
 * is completed exactly once (one publication of its status), every fd is closed once (none leaks,
 * and the live child forked next to the race still has working pipes: a second close of a reused
 * number would have taken one of its fds), no signal is sent once it is reaped, no zombie is left.
 */
@Timeout(120)
class ChildRaceTest {
    private static final int ROUNDS = 200;
    private static UsermodeBlob exit;
    private static UsermodeBlob cat;
    private static ExecutorService pool;

    @BeforeAll
    static void load() throws Exception {
        TestBlobs.warmUp();
        exit = Umh.load(TestBlobs.bytes("exit"));
        cat = Umh.load(TestBlobs.bytes("cat"));
        pool = Executors.newFixedThreadPool(2);
    }

    @AfterAll
    static void unload() {
        pool.shutdownNow();
        exit.close();
        cat.close();
    }

    /** exit 3, whose close() kills at once if it still runs: the old close, a kill racing the exit. */
    private static final ForkOptions KILL_AT_CLOSE = ForkOptions.builder().args("3").closeGrace(java.time.Duration.ZERO).build();
    /** exit 3, whose close() waits for it: nothing kills it, so its status is always its own. */
    private static final ForkOptions WAIT_AT_CLOSE = ForkOptions.builder().args("3").build();

    /** {@link #race(String, ForkOptions, Racer, Racer)} with a close that kills at once. */
    private static void race(String name, Racer a, Racer b) throws Exception {
        race(name, KILL_AT_CLOSE, a, b);
    }

    /** Runs {@code a} and {@code b} at once, released together by a barrier, {@link #ROUNDS} times, each on a new short helper. */
    private static void race(String name, ForkOptions options, Racer a, Racer b) throws Exception {
        int fdsBefore = TestBlobs.openFds();
        try (UsermodeProcess witness = cat.fork()) { // a live neighbour whose fds a stray close would hit
            for (int i = 0; i < ROUNDS; i++) {
                UsermodeProcess p = exit.fork(options);
                CyclicBarrier start = new CyclicBarrier(2);
                Future<?> fa = pool.submit(() -> {
                    start.await();
                    a.run(p);
                    return null;
                });
                Future<?> fb = pool.submit(() -> {
                    start.await();
                    b.run(p);
                    return null;
                });
                fa.get();
                fb.get();
                p.close();
                int status = p.waitFor();
                assertTrue(Set.of(3, 128 + 9, 128 + 15).contains(status), name + ": exit status " + status);
                if (options == WAIT_AT_CLOSE && !name.contains("destroy")) {
                    assertEquals(3, status, name + ": close() killed a helper that exits by itself");
                }
                assertEquals(1, p.publications(), name + ": the exit was published more than once or never");
                assertTrue(p.child().completedBy() != 0, name);
                assertTrue(p.child().released(), name);
                assertFalse(p.signal(0), name + ": signal 0 went to a reaped pid");
                assertFalse(p.toHandle().destroyForcibly(), name + ": a reaped child was signalled");
                roundTrip(witness, i);
            }
        }
        TestBlobs.assertFds(fdsBefore);
        assertEquals(List.of(), TestBlobs.zombieChildren());
    }

    /** The neighbour still echoes: none of its fds was closed by someone else's second close. */
    private static void roundTrip(UsermodeProcess cat, int i) throws IOException {
        byte[] msg = ("round " + i + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        cat.pipeToUmh().write(msg);
        assertEquals(new String(msg, java.nio.charset.StandardCharsets.US_ASCII),
                new String(cat.pipeFromUmh().readNBytes(msg.length), java.nio.charset.StandardCharsets.US_ASCII));
    }

    interface Racer {
        void run(UsermodeProcess p) throws Exception;
    }

    private static final Racer NOTHING = p -> { };

    @Test
    void exitVersusDestroy() throws Exception {
        race("exit vs destroy", NOTHING, UsermodeProcess::destroy);
    }

    @Test
    void exitVersusDestroyForcibly() throws Exception {
        race("exit vs destroyForcibly", NOTHING, p -> p.toHandle().destroyForcibly());
    }

    @Test
    void exitVersusClose() throws Exception {
        race("exit vs close", NOTHING, UsermodeProcess::close);
    }

    @Test
    void closeVersusClose() throws Exception {
        race("close vs close", UsermodeProcess::close, UsermodeProcess::close);
    }

    /** close() waiting out its grace, against the exit and the reaper: the status is the helper's own, 3. */
    @Test
    void exitVersusGracefulClose() throws Exception {
        race("exit vs graceful close", WAIT_AT_CLOSE, NOTHING, UsermodeProcess::close);
    }

    @Test
    void gracefulCloseVersusGracefulClose() throws Exception {
        race("graceful close vs graceful close", WAIT_AT_CLOSE, UsermodeProcess::close, UsermodeProcess::close);
    }

    /** A graceful close against a kill: either ends it, once. */
    @Test
    void gracefulCloseVersusDestroyForcibly() throws Exception {
        race("graceful close vs destroyForcibly", WAIT_AT_CLOSE, UsermodeProcess::close, UsermodeProcess::destroyForcibly);
    }

    @Test
    void waitForVersusReaper() throws Exception {
        // two waitFors at once: one may poll the pidfd itself, the other and the reaper race it
        race("waitFor vs waitFor and the reaper", UsermodeProcess::waitFor, p -> p.waitFor(1, TimeUnit.SECONDS));
    }

    @Test
    void waitForVersusDestroy() throws Exception {
        race("waitFor vs destroy", UsermodeProcess::waitFor, UsermodeProcess::destroyForcibly);
    }

    @Test
    void cleanerVersusClose() throws Exception {
        // the Cleanable is the very action the Cleaner thread runs for a process nobody closed
        race("Cleaner vs close", p -> p.pipesCleanable().clean(), UsermodeProcess::close);
    }

    @Test
    void afterTheCleanerTheStreamsAreClosed() throws Exception {
        try (UsermodeProcess p = exit.fork()) {
            p.waitFor();
            p.pipesCleanable().clean();
            assertThrows(IOException.class, () -> p.pipeToUmh().write(1));
            assertThrows(IOException.class, () -> p.pipeFromUmh().read());
        }
    }
}
