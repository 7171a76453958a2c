package io.umh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** stop(grace): EOF, then SIGTERM, then SIGKILL, each step only when the one before was not enough. */
@Timeout(60)
class StopTest {
    private static final Duration SHORT = Duration.ofMillis(200);
    private static final Duration LONG = Duration.ofSeconds(30);

    /** The sleeper exits 0 at EOF: stop returns its 0 well before the grace is over. */
    @Test
    void eofIsEnoughForAHelperThatExitsOnEof() throws Exception {
        try (UsermodeProcess p = ProcessContractTest.sleeper()) {
            long start = System.nanoTime();
            assertEquals(0, p.stop(LONG));
            assertTrue(System.nanoTime() - start < LONG.toNanos() / 2, "waited out the grace");
            assertFalse(p.isAlive());
        }
    }

    /** sleeper -p ignores EOF: after one grace it gets SIGTERM and dies of it. */
    @Test
    void sigtermOnceTheGraceIsOver() throws Exception {
        try (UsermodeProcess p = ProcessContractTest.sleeper("-p")) {
            long start = System.nanoTime();
            assertEquals(128 + 15, p.stop(SHORT));
            assertTrue(System.nanoTime() - start >= SHORT.toNanos());
        }
    }

    /** sleeper -t -p ignores EOF and SIGTERM: after two graces, SIGKILL; reaped, no zombie. */
    @Test
    void sigkillForAHelperThatIgnoresSigterm() throws Exception {
        try (UsermodeProcess p = ProcessContractTest.sleeper("-t", "-p")) {
            long start = System.nanoTime();
            assertEquals(128 + 9, p.stop(SHORT));
            assertTrue(System.nanoTime() - start >= 2 * SHORT.toNanos());
            assertFalse(TestBlobs.running(p.pid()));
            assertTrue(TestBlobs.zombieChildren().isEmpty());
        }
    }

    /** Stop closes stdin only: what the helper wrote before it exited can still be read. */
    @Test
    void stdoutStaysReadable() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"))) {
            byte[] last = "last words".getBytes(StandardCharsets.UTF_8);
            p.pipeToUmh().write(last);
            assertEquals(0, p.stop(LONG));
            assertArrayEquals(last, p.pipeFromUmh().readAllBytes());
        }
    }

    @Test
    void stopAfterExitGivesTheStatusAgain() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder().args("5").build())) {
            assertEquals(5, p.waitFor());
            assertEquals(5, p.stop(Duration.ZERO));
            assertEquals(5, p.stop(LONG));
        }
    }

    /** An interrupted stop leaves nothing running: the helper is SIGKILLed before the exception. */
    @Test
    void interruptedStopKillsTheHelper() throws Exception {
        try (UsermodeProcess p = ProcessContractTest.sleeper("-t", "-p")) {
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, () -> p.stop(LONG));
            assertEquals(128 + 9, p.waitFor());
        }
    }

    @Test
    void badGrace() throws Exception {
        try (UsermodeProcess p = ProcessContractTest.sleeper()) {
            assertThrows(IllegalArgumentException.class, () -> p.stop(Duration.ofMillis(-1)));
            assertThrows(NullPointerException.class, () -> p.stop(null));
            assertTrue(p.isAlive());
        }
    }
}
