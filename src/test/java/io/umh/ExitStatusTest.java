package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(60)
class ExitStatusTest {
    @Test
    void everyExitCodeFrom0To255() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"))) {
            for (int code = 0; code <= 255; code++) {
                try (UsermodeProcess p = blob.fork(ForkOptions.builder().args(Integer.toString(code)).build())) {
                    assertEquals(code, p.waitFor(), "exit " + code);
                    assertEquals(code, p.exitValue());
                }
            }
        }
    }

    /** Death by signal N is 128+N, as the JDK reports it (SIGQUIT, SIGABRT, SIGSEGV dump core). */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 6, 9, 11, 13, 15})
    void deathBySignalIs128PlusN(int signal) throws Exception {
        ForkOptions o = ForkOptions.builder().args("-s", Integer.toString(signal)).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), o)) {
            assertEquals(128 + signal, p.waitFor());
        }
    }

    /**
     * Regression: with SIGCHLD ignored the kernel reaps children itself and waitid fails with
     * ECHILD. The status is unknown (-1), but the process must still complete: it used to take
     * -1 for "still running", so waitFor never returned and close() hung.
     */
    @Test
    void aChildTheKernelReapedCompletesWithStatusMinusOne() throws Exception {
        // -1 where the kernel reaped the child itself (JDK 17 here); on JDK 25 the real status came
        // back although SIGCHLD shows as ignored there too (not yet understood). Either way the
        // process must complete, which is what this pins.
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(), List.of(), SigchldIgnored.class));
        assertTrue(out.equals("exited: true, status -1, closed\n") || out.equals("exited: true, status 0, closed\n"), out);
    }

    static final class SigchldIgnored {
        public static void main(String[] args) throws Exception {
            sun.misc.Signal.handle(new sun.misc.Signal("CHLD"), sun.misc.SignalHandler.SIG_IGN);
            UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"));
            boolean exited = p.waitFor(30, TimeUnit.SECONDS);
            System.out.print("exited: " + exited + ", status " + (exited ? p.exitValue() : "?"));
            p.close();
            System.out.println(", closed");
        }
    }
}
