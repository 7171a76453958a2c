package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * close() as the JDK's Process.close(): streams closed first (EOF), then a wait for the exit; only
 * a helper still running after the close grace is killed; interrupted: killed at once, reaped, the
 * interrupt kept. The exit status is the child's own.
 */
@Timeout(120)
class CloseTest {
    private static final Duration SHORT = Duration.ofMillis(200);
    private static final Duration LONG = Duration.ofSeconds(60);

    @BeforeAll
    static void warmUp() throws Exception {
        TestBlobs.warmUp();
    }

    private static UsermodeProcess sleeper(Duration grace, String... args) throws IOException {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"),
                ForkOptions.builder().args(args).closeGrace(grace).build());
        assertEquals(6, p.pipeFromUmh().readNBytes(6).length); // "ready": it runs
        return p;
    }

    /** Regression: close() killed a cat that would have exited at EOF, so it ended 137, racily. */
    @Test
    void aCatThatExitsAtEofEndsZeroNot137() throws Exception {
        int fds = TestBlobs.openFds();
        try (UsermodeBlob cat = Umh.load(TestBlobs.bytes("cat"))) {
            for (int i = 0; i < 200; i++) {
                UsermodeProcess p = cat.fork(ForkOptions.builder().closeGrace(LONG).build());
                p.close();
                assertFalse(p.isAlive(), "close returned before the exit");
                assertEquals(0, p.exitValue(), "round " + i);
            }
        }
        TestBlobs.assertFds(fds);
        assertEquals(List.of(), TestBlobs.zombieChildren());
    }

    /** The default grace: the sleeper exits at EOF by itself, 0. */
    @Test
    void theDefaultGraceLetsAHelperFinish() throws Exception {
        assertEquals(ForkOptions.DEFAULT_CLOSE_GRACE, ForkOptions.defaults().closeGrace());
        UsermodeProcess p = ProcessContractTest.sleeper();
        p.close();
        assertEquals(0, p.exitValue());
    }

    /** sleeper -p ignores EOF: it runs until the grace is over, then SIGKILL; reaped, no zombie. */
    @Test
    void aHelperStillRunningAfterTheGraceIsKilled() throws Exception {
        UsermodeProcess p = sleeper(SHORT, "-p");
        long start = System.nanoTime();
        p.close();
        assertTrue(System.nanoTime() - start >= SHORT.toNanos(), "killed before the grace was over");
        assertEquals(128 + 9, p.exitValue());
        assertTrue(p.child().released());
        assertFalse(TestBlobs.running(p.pid()));
    }

    /** closeGrace(ZERO), the old close(): a running helper is killed at once, whatever it would do at EOF. */
    @Test
    void aZeroGraceKillsAtOnce() throws Exception {
        UsermodeProcess p = sleeper(Duration.ZERO, "-p");
        p.close();
        assertEquals(128 + 9, p.exitValue());
        assertTrue(p.child().released());
    }

    /** A thread interrupted before close(): the helper is killed at once, reaped, and the flag is set again. */
    @Test
    void anInterruptedCloseKillsReapsAndKeepsTheInterrupt() throws Exception {
        UsermodeProcess p = sleeper(LONG, "-t", "-p");
        Thread.currentThread().interrupt();
        p.close();
        assertTrue(Thread.interrupted(), "the interrupt was swallowed");
        assertEquals(128 + 9, p.exitValue());
        assertTrue(p.child().released());
    }

    /** Interrupted while it waits in the grace: the same, from another thread's interrupt. */
    @Test
    void anInterruptDuringTheGraceKillsAtOnce() throws Exception {
        UsermodeProcess p = sleeper(LONG, "-t", "-p");
        AtomicBoolean keptInterrupt = new AtomicBoolean();
        Thread closer = new Thread(() -> {
            p.close();
            keptInterrupt.set(Thread.currentThread().isInterrupted());
        });
        closer.start();
        Await.until("close() to wait for the helper", () -> closer.getState() == Thread.State.TIMED_WAITING
                || closer.getState() == Thread.State.WAITING);
        closer.interrupt();
        closer.join();
        assertTrue(keptInterrupt.get(), "the interrupt was swallowed");
        assertEquals(128 + 9, p.exitValue());
        assertFalse(TestBlobs.running(p.pid()));
    }

    /** An exited child keeps its own status through close, even on an interrupted thread. */
    @Test
    void anExitedChildKeepsItsStatusOnAnInterruptedThread() throws Exception {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder().args("3").build());
        assertEquals(3, p.waitFor());
        Thread.currentThread().interrupt();
        p.close();
        assertTrue(Thread.interrupted());
        assertEquals(3, p.exitValue());
    }

    /** Idempotent: a second close returns at once and changes nothing; the streams are closed. */
    @Test
    void closeIsIdempotentAndClosesTheStreams() throws Exception {
        int fds = TestBlobs.openFds();
        UsermodeProcess p = sleeper(SHORT, "-p");
        p.close();
        p.close();
        assertEquals(128 + 9, p.exitValue());
        assertThrows(IOException.class, () -> p.pipeToUmh().write(1));
        assertThrows(IOException.class, () -> p.pipeFromUmh().read());
        TestBlobs.assertFds(fds);
    }

    /**
     * A thread blocked reading stdout does not hold close() up (close never takes the stream's
     * read lock): the helper is killed after the grace, and the reader sees the end.
     */
    @Test
    void aBlockedReaderDoesNotHoldCloseUp() throws Exception {
        UsermodeProcess p = sleeper(SHORT, "-p");
        java.util.concurrent.atomic.AtomicReference<Object> got = new java.util.concurrent.atomic.AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                got.set(p.pipeFromUmh().read());
            } catch (IOException e) {
                got.set(e);
            }
        });
        reader.start();
        Await.until("the reader to block in the pipe", () -> java.util.Arrays.stream(reader.getStackTrace())
                .anyMatch(f -> f.getMethodName().startsWith("read") && f.isNativeMethod()));
        p.close();
        assertEquals(128 + 9, p.exitValue());
        reader.join();
        assertTrue(Integer.valueOf(-1).equals(got.get()) || got.get() instanceof IOException, "read gave " + got.get());
    }

    /** The options: the grace is kept by toBuilder, and a negative one is refused, naming the option. */
    @Test
    void closeGraceOption() {
        ForkOptions o = ForkOptions.builder().closeGrace(SHORT).build();
        assertEquals(SHORT, o.closeGrace());
        assertEquals(SHORT, o.toBuilder().build().closeGrace());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ForkOptions.builder().closeGrace(Duration.ofMillis(-1)));
        assertTrue(e.getMessage().contains("closeGrace"), e.getMessage());
        assertThrows(NullPointerException.class, () -> ForkOptions.builder().closeGrace(null));
    }
}
