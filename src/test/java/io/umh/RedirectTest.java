package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.File;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The child's fd 2: INHERIT, PIPE, DISCARD, to(file), appendTo(file), as ProcessBuilder. */
@Timeout(60)
class RedirectTest {
    private static String run(Redirect r, String... stderrLines) throws Exception {
        ForkOptions o = ForkOptions.builder().args(stderrLines).redirectError(r).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("stderr"), o)) {
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals("out\n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(0, p.waitFor());
            return err;
        }
    }

    @Test
    void pipeMakesTheErrorStreamReadable() throws Exception {
        assertEquals("one\ntwo\n", run(Redirect.PIPE, "one", "two"));
    }

    @Test
    void discardDropsIt() throws Exception {
        assertEquals("", run(Redirect.DISCARD, "lost"));
    }

    @Test
    void toFileTruncatesAndAppendToFileAppends(@TempDir Path dir) throws Exception {
        File f = dir.resolve("err.log").toFile();
        Files.writeString(f.toPath(), "old contents that must go\n");
        assertEquals("", run(Redirect.to(f), "first"));
        assertEquals("first\n", Files.readString(f.toPath()));
        run(Redirect.appendTo(f), "second");
        assertEquals("first\nsecond\n", Files.readString(f.toPath()));
        assertFalse(TestBlobs.fdTargets().contains(f.getPath()), "the JVM still holds " + f);
    }

    @Test
    void inheritSharesTheJvmsStderr() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("probe"))) {
            String jvmStderr = Files.readSymbolicLink(Paths.get("/proc/self/fd/2")).toString();
            assertEquals(jvmStderr, TestBlobs.probe(p).get("fd2"));
        }
    }
}
