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

    /**
     * Processes nobody closes: their pipes are released at their exit, as the JDK's are, with no GC
     * and no Cleaner (regression: they stayed open until the Cleaner ran, EMFILE after ~120 forks
     * at ulimit -n 256; ReleaseAtExitTest shows that limit).
     */
    @Test
    void unclosedProcessesReleaseTheirPipesAtExit() throws Exception {
        int before = TestBlobs.openFds();
        List<UsermodeProcess> ps = new ArrayList<>(); // reachable: no Cleaner can run for them
        for (int i = 0; i < 50; i++) {
            ps.add(Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder()
                    .redirectError(ProcessBuilder.Redirect.PIPE).build()));
        }
        for (UsermodeProcess p : ps) {
            assertEquals(0, p.waitFor());
        }
        TestBlobs.assertFds(before);
        assertEquals(50, ps.size());
    }
}
