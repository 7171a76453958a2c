package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Every fd is closed exactly once and every child reaped, on every path. */
@Timeout(120)
class LeakTest {
    @BeforeEach
    void warmUp() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"))) {
            p.waitFor();
        }
    }

    @Test
    void noFdOrZombieAfter2000Forks() throws Exception {
        byte[] exit = TestBlobs.bytes("exit");
        byte[] sleeper = TestBlobs.bytes("sleeper");
        int before = TestBlobs.openFds();
        try (UsermodeBlob blob = Umh.load(exit)) {
            for (int i = 0; i < 1000; i++) { // waited for, then closed
                try (UsermodeProcess p = blob.fork()) {
                    assertEquals(0, p.waitFor());
                }
            }
        }
        ForkOptions killAtClose = ForkOptions.builder().closeGrace(Duration.ZERO).build();
        for (int i = 0; i < 500; i++) { // one-shot, closed at once without a grace: killed while starting or running
            Umh.forkUsermodeBlob(exit, killAtClose).close();
        }
        try (UsermodeBlob blob = Umh.load(sleeper)) {
            for (int i = 0; i < 500; i++) { // running, SIGKILLed by a close without a grace
                UsermodeProcess p = blob.fork(killAtClose);
                p.pipeFromUmh().readNBytes(6);
                p.close();
                assertEquals(128 + 9, p.exitValue());
            }
        }
        TestBlobs.assertFds(before);
        assertEquals(List.of(), TestBlobs.zombieChildren());
    }

    @Test
    void failedForksLeaveNothing() throws Exception {
        int before = TestBlobs.openFds();
        for (int i = 0; i < 200; i++) {
            try {
                Umh.forkUsermodeBlob("not a program".getBytes());
            } catch (IOException expected) {
                assertTrue(expected.getMessage().contains("ENOEXEC"));
            }
        }
        TestBlobs.assertFds(before);
        assertEquals(List.of(), TestBlobs.zombieChildren());
    }

    /** Processes nobody closes: once exited and unreachable, the Cleaner closes their pipes. */
    @Test
    void unclosedProcessesHaveTheirPipesClosedByTheCleaner() throws Exception {
        int before = TestBlobs.openFds();
        forkAndForget(50);
        Await.until("the Cleaner to close the forgotten pipes", () -> {
            System.gc();
            return TestBlobs.openFds() == before;
        });
        TestBlobs.assertFds(before);
    }

    private static void forkAndForget(int n) throws Exception {
        List<UsermodeProcess> ps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ps.add(Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder()
                    .redirectError(ProcessBuilder.Redirect.PIPE).build()));
        }
        for (UsermodeProcess p : ps) {
            assertEquals(0, p.waitFor());
        }
        assertTrue(TestBlobs.openFds() >= 3 * n); // three pipe ends each, until the Cleaner runs
    }
}
