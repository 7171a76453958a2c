package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A #! script blob: its interpreter opens /dev/fd/N, which the child keeps open for it. */
@Timeout(60)
class ScriptTest {
    @Test
    void shellScriptRunsWithArgsAndPipes() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("hello.sh"))) {
            assertTrue(blob.isScript());
            try (UsermodeProcess p = blob.fork(ForkOptions.builder().args("a", "b").build())) {
                p.pipeToUmh().write("line\n".getBytes(StandardCharsets.UTF_8));
                p.pipeToUmh().close();
                assertEquals("hello from sh: a b\nread: line\n",
                        new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8));
                assertEquals(7, p.waitFor());
            }
        }
    }

    /** One-shot: the parent releases its memfd at once; the child's own copy keeps the script readable. */
    @Test
    void oneShotScript() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("hello.sh"))) {
            p.pipeToUmh().close();
            assertEquals("hello from sh: \n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(7, p.waitFor());
        }
    }

    @Test
    void binaryIsNoScript() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"))) {
            assertFalse(blob.isScript());
        }
    }

    @Test
    void missingInterpreterIsEnoent() throws Exception {
        TestBlobs.warmUp(); // the library's own fds are not counted
        int fds = TestBlobs.openFds();
        IOException e = assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("nointerp.sh")));
        assertTrue(e.getMessage().contains("ENOENT"), e.getMessage());
        TestBlobs.assertFds(fds);
        assertTrue(TestBlobs.zombieChildren().isEmpty());
    }
}
