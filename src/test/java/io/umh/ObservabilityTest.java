package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Loading a helper from the class path, and the JFR events a fork and an exit leave. */
@Timeout(60)
class ObservabilityTest {
    @Test
    void loadResourceFromTheClassPath() throws Exception {
        try (UsermodeBlob blob = Umh.loadResource(ObservabilityTest.class, "resource-helper.sh");
             UsermodeProcess p = blob.fork(ForkOptions.builder().args("hi").build())) {
            p.pipeToUmh().close();
            assertEquals("from a resource: hi\n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(0, p.waitFor());
        }
        IOException e = assertThrows(FileNotFoundException.class, () -> Umh.loadResource(ObservabilityTest.class, "missing"));
        assertEquals("no class-path resource missing next to io.umh.ObservabilityTest", e.getMessage());
    }

    /**
     * Silent by default: a fork prints nothing. With java.util.logging at FINER for "io.umh", the
     * System.Logger lines show where the shim was loaded from and each helper reaped.
     */
    @Test
    void logsOnlyWhenAskedTo(@TempDir Path dir) throws Exception {
        Class<?> main = NativeLoaderTest.ForkOnce.class;
        assertEquals("forked 0\n", TestBlobs.run(TestBlobs.javaCommand(List.of(), List.of(), main)));
        Path config = dir.resolve("logging.properties");
        Files.writeString(config, "handlers=java.util.logging.ConsoleHandler\n"
                + "java.util.logging.ConsoleHandler.level=ALL\n"
                + "io.umh.level=FINER\n");
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(), List.of("-Djava.util.logging.config.file=" + config), main));
        // extracted (JDK 17, or no native access), or from a memfd (JDK 22+ with native access)
        assertTrue(out.matches("(?s).*umh: loaded native library /\\S+/libumh-[\\w-]+\\.so \\(/META-INF/native/\\S+/libumh.so extracted into /\\S+\\).*")
                || out.matches("(?s).*umh: loaded native library \\S+/libumh.so \\(from a memfd: no file written\\).*"), out);
        assertTrue(out.contains("umh: helper pid ") && out.contains(" reaped, exit status 0"), out);
        assertTrue(out.contains("forked 0"), out);
    }

    @Test
    void forkAndExitEvents(@TempDir Path dir) throws Exception {
        byte[] exit = TestBlobs.bytes("exit");
        long pid;
        long violator = -1;
        Path file = dir.resolve("umh.jfr");
        try (Recording r = new Recording()) {
            r.enable("io.umh.Fork");
            r.enable("io.umh.Exit");
            r.start();
            try (UsermodeProcess p = Umh.forkUsermodeBlob(exit, ForkOptions.builder().args("7").build())) {
                pid = p.pid();
                assertEquals(7, p.waitFor());
            }
            assertThrows(IOException.class, () -> Umh.forkUsermodeBlob("no program".getBytes()));
            if (Umh.sandboxSupport().isFull(SandboxSupport.Layer.VIOLATION_NAMES)) {
                try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("escape"), ForkOptions.builder()
                        .args("socket").sandbox(SandboxPolicy.strict()).build())) {
                    violator = p.pid();
                    p.pipeToUmh().close();
                    assertEquals(159, p.waitFor());
                }
            }
            r.stop();
            r.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        RecordedEvent fork = events.stream().filter(e -> e.getEventType().getName().equals("io.umh.Fork")
                && e.getLong("pid") == pid).findFirst().orElseThrow();
        assertEquals(exit.length, fork.getLong("blobSize"));
        assertEquals("ok", fork.getString("outcome"));
        assertTrue(fork.getDuration().toNanos() > 0);
        RecordedEvent failed = events.stream().filter(e -> e.getEventType().getName().equals("io.umh.Fork")
                && e.getLong("pid") == -1).findFirst().orElseThrow();
        assertTrue(failed.getString("outcome").contains("ENOEXEC"), failed.getString("outcome"));
        RecordedEvent exited = events.stream().filter(e -> e.getEventType().getName().equals("io.umh.Exit")
                && e.getLong("pid") == pid).findFirst().orElseThrow();
        assertEquals(7, exited.getInt("exitStatus"));
        assertEquals(null, exited.getString("violation"));
        assertFalse(exited.getBoolean("oomKilled"));
        assertTrue(exited.getLong("lifetime") > 0);
        long v = violator;
        if (v > 0) {
            RecordedEvent stopped = events.stream().filter(e -> e.getEventType().getName().equals("io.umh.Exit")
                    && e.getLong("pid") == v).findFirst().orElseThrow();
            assertEquals(159, stopped.getInt("exitStatus"));
            assertEquals("socket", stopped.getString("violation"));
        }
        assertTrue(Files.size(file) > 0);
    }
}
