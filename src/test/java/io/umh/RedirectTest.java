package io.umh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The child's fds 0, 1 and 2 as ProcessBuilder redirects them: INHERIT, PIPE, DISCARD, from(file),
 * to(file), appendTo(file), redirectErrorStream, inheritIO; the null streams of a redirected fd.
 */
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

    private static String text(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void redirectInputFromAFileFeedsFd0AndLeavesANullOutputStream(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("in.txt"), "from the file\n");
        ForkOptions o = ForkOptions.builder().redirectInput(Redirect.from(f.toFile())).build();
        assertEquals(Redirect.Type.READ, o.redirectInput().type());
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"), o)) {
            assertEquals("from the file\n", text(p.getInputStream()));
            assertEquals(0, p.waitFor());
            IOException e = assertThrows(IOException.class, () -> p.getOutputStream().write('x'));
            assertEquals("Stream closed", e.getMessage());
            assertThrows(IOException.class, () -> p.getOutputStream().write(new byte[3]));
            p.getOutputStream().write(new byte[0]); // nothing to write: no error, as ProcessBuilder's
            p.getOutputStream().close();
            assertEquals("Stream closed", assertThrows(IOException.class, () -> p.getOutputStream().write(1)).getMessage());
            IllegalStateException ise = assertThrows(IllegalStateException.class, p::pipeToUmh);
            assertTrue(ise.getMessage().contains("redirectInput") && ise.getMessage().contains(f.toString()), ise.getMessage());
        }
        assertFalse(TestBlobs.fdTargets().contains(f.toString()), "the JVM still holds " + f);
    }

    @Test
    void redirectOutputToAndAppendToAFileAndDiscard(@TempDir Path dir) throws Exception {
        File f = dir.resolve("out.log").toFile();
        Files.writeString(f.toPath(), "old contents that must go\n");
        for (Redirect r : List.of(Redirect.to(f), Redirect.appendTo(f), Redirect.DISCARD)) {
            ForkOptions o = ForkOptions.builder().redirectOutput(r).args("err").redirectError(Redirect.PIPE).build();
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("stderr"), o)) {
                assertEquals("err\n", text(p.getErrorStream()));
                assertEquals(0, p.waitFor());
                assertEquals(-1, p.getInputStream().read());
                assertEquals(0, p.getInputStream().available());
                assertArrayEquals(new byte[0], p.getInputStream().readAllBytes());
                p.getInputStream().close();
                assertEquals(-1, p.getInputStream().read(new byte[4]), "EOF after close too, as ProcessBuilder's");
                IllegalStateException e = assertThrows(IllegalStateException.class, p::pipeFromUmh);
                assertTrue(e.getMessage().contains("redirectOutput"), e.getMessage());
            }
        }
        assertEquals("out\nout\n", Files.readString(f.toPath()));
        assertFalse(TestBlobs.fdTargets().contains(f.getPath()), "the JVM still holds " + f);
    }

    @Test
    void redirectErrorStreamPutsFd2OnWhateverFd1Is(@TempDir Path dir) throws Exception {
        ForkOptions merged = ForkOptions.builder().args("one", "two").redirectError(Redirect.DISCARD).redirectErrorStream(true).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("stderr"), merged)) {
            assertEquals("one\ntwo\nout\n", text(p.getInputStream()));
            assertEquals(-1, p.getErrorStream().read(), "redirectError is ignored: no stderr pipe");
            assertEquals(0, p.waitFor());
        }
        // one open file for both: they share the offset, as 2>&1 does (two opens would overwrite each other)
        File f = dir.resolve("both.log").toFile();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("stderr"),
                merged.toBuilder().redirectOutput(Redirect.to(f)).build())) {
            assertEquals(0, p.waitFor());
        }
        assertEquals("one\ntwo\nout\n", Files.readString(f.toPath()));
    }

    @Test
    void inheritIoSharesTheJvmsFds() throws Exception {
        ForkOptions o = ForkOptions.builder().inheritIO().args("pause").build();
        assertEquals(List.of(Redirect.INHERIT, Redirect.INHERIT, Redirect.INHERIT),
                List.of(o.redirectInput(), o.redirectOutput(), o.redirectError()));
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("fds"), o)) {
            for (int fd = 0; fd < 3; fd++) {
                Path own = Paths.get("/proc/self/fd/" + fd);
                Path child = Paths.get("/proc/" + p.pid() + "/fd/" + fd);
                assertEquals(Files.readSymbolicLink(own), Files.readSymbolicLink(child), "fd " + fd);
            }
            assertEquals(-1, p.getInputStream().read());
            assertThrows(IOException.class, () -> p.getOutputStream().write(0));
            p.destroyForcibly();
            assertEquals(137, p.waitFor());
        }
    }

    @Test
    void theNullStreamsBehaveAsProcessBuildersDo() throws Exception {
        Process jdk = new ProcessBuilder("true").redirectInput(Redirect.INHERIT).redirectOutput(Redirect.DISCARD)
                .redirectErrorStream(true).start();
        try (UsermodeProcess umh = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder()
                .redirectInput(Redirect.INHERIT).redirectOutput(Redirect.DISCARD).redirectErrorStream(true).build())) {
            for (Process p : List.of(jdk, umh)) {
                assertEquals(0, p.waitFor());
                OutputStream in = p.getOutputStream();
                assertEquals("Stream closed", assertThrows(IOException.class, () -> in.write(7)).getMessage(), p.toString());
                for (InputStream out : List.of(p.getInputStream(), p.getErrorStream())) {
                    assertEquals(-1, out.read(), p.toString());
                    assertEquals(0, out.available(), p.toString());
                }
            }
        }
    }

    @Test
    void aFileThatCannotBeOpenedIsNamedAndNothingStaysOpen(@TempDir Path dir) throws Exception {
        TestBlobs.warmUp();
        int before = TestBlobs.openFds();
        Path in = Files.writeString(dir.resolve("in.txt"), "x");
        File missing = new File("/nonexistent/umh-dir/x");
        FileNotFoundException e = assertThrows(FileNotFoundException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("cat"),
                ForkOptions.builder().redirectInput(Redirect.from(missing)).build()));
        assertEquals("fork: open failed: ENOENT (No such file or directory): redirectInput " + missing, e.getMessage());
        // opened first, then the output's failure: the input is closed again
        e = assertThrows(FileNotFoundException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("cat"),
                ForkOptions.builder().redirectInput(Redirect.from(in.toFile())).redirectOutput(Redirect.to(missing)).build()));
        assertEquals("fork: open failed: ENOENT (No such file or directory): redirectOutput " + missing, e.getMessage());
        assertFalse(TestBlobs.fdTargets().contains(in.toString()), "the JVM still holds " + in);
        // and a spawn that fails after the opens (a missing directory) closes them too
        assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("cat"), ForkOptions.builder()
                .redirectInput(Redirect.from(in.toFile())).directory(Path.of("/nonexistent/umh-dir")).build()));
        assertFalse(TestBlobs.fdTargets().contains(in.toString()), "the JVM still holds " + in);
        TestBlobs.assertFds(before);
        assertEquals(List.of(), TestBlobs.zombieChildren());
    }

    @Test
    void redirectsTheWrongWayRoundAreIllegalArguments(@TempDir Path dir) {
        File f = dir.resolve("f").toFile();
        ForkOptions.Builder b = ForkOptions.builder();
        for (Redirect r : List.of(Redirect.to(f), Redirect.appendTo(f), Redirect.DISCARD)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.redirectInput(r));
            assertTrue(e.getMessage().startsWith("redirectInput: Redirect invalid for reading"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.redirectOutput(Redirect.from(f)));
        assertTrue(e.getMessage().startsWith("redirectOutput: Redirect invalid for writing"), e.getMessage());
        assertThrows(NullPointerException.class, () -> b.redirectInput(null));
        assertEquals(Redirect.PIPE, b.build().redirectInput());
        assertEquals(Redirect.PIPE, b.build().redirectOutput());
        assertFalse(b.build().redirectErrorStream());
    }
}
