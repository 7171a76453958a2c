package io.umh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What a helper or the system can do to us: the library survives each, loses nothing, leaks nothing. */
@Timeout(60)
class FaultTest {
    private static UsermodeProcess sleeper(String... args) throws IOException {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), ForkOptions.builder().args(args).build());
        assertEquals(6, p.pipeFromUmh().readNBytes(6).length);
        return p;
    }

    /** One line, read byte by byte: the pipe stays open behind it, so no read-ahead may wait for more. */
    private static String readLine(java.io.InputStream in) throws IOException {
        StringBuilder s = new StringBuilder();
        for (int c; (c = in.read()) != -1 && c != '\n'; ) {
            s.append((char) c);
        }
        return s.toString();
    }

    private static void kill(String signal, long pid) throws Exception {
        assertEquals("", TestBlobs.run(List.of("kill", "-" + signal, Long.toString(pid))));
    }

    @Test
    void killedBySomeoneElse() throws Exception {
        try (UsermodeProcess p = sleeper("-t", "-p")) {
            kill("KILL", p.pid());
            assertEquals(128 + 9, p.waitFor());
            assertTrue(TestBlobs.zombieChildren().isEmpty());
        }
    }

    @Test
    void stoppedAndContinued() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            kill("STOP", p.pid());
            assertTrue(p.isAlive());
            assertFalse(p.waitFor(100, TimeUnit.MILLISECONDS)); // a stop is no exit
            kill("CONT", p.pid());
            p.pipeToUmh().close();
            assertEquals(0, p.waitFor());
        }
    }

    /**
     * The helper exits without reading: the writer gets an IOException, EPIPE while the exit is
     * not yet seen, "Stream Closed" once it is (stdin is closed at the exit, as the JDK does), and
     * the JVM lives on.
     */
    @Test
    void helperClosesItsStdinEarly() throws Exception {
        byte[] chunk = new byte[1 << 16];
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"))) {
            IOException e = assertThrows(IOException.class, () -> {
                for (int i = 0; i < 64; i++) {
                    p.pipeToUmh().write(chunk);
                }
            });
            assertTrue(e.getMessage().contains("Broken pipe") || e.getMessage().contains("Stream Closed"), e.getMessage());
            assertEquals(0, p.waitFor());
            e = assertThrows(IOException.class, () -> p.pipeToUmh().write(chunk));
            assertTrue(e.getMessage().contains("Stream Closed"), e.getMessage());
        }
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder().args("3").build())) {
            assertEquals(3, p.waitFor()); // still here, still forking
        }
    }

    /** Exits mid-transfer: the reader sees EOF after what was sent, the status is the helper's. */
    @Test
    void helperCrashesMidTransfer() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"))) {
            p.pipeToUmh().write("before".getBytes(StandardCharsets.UTF_8));
            p.pipeToUmh().flush();
            assertArrayEquals("before".getBytes(StandardCharsets.UTF_8), p.pipeFromUmh().readNBytes(6));
            kill("SEGV", p.pid());
            assertEquals(-1, p.pipeFromUmh().read());
            assertEquals(128 + 11, p.waitFor());
        }
    }

    /**
     * A helper whose own child keeps the pipes open: waitFor returns when the helper exits, and
     * close() returns at once, without waiting for the grandchild to let go of the pipe.
     */
    @Test
    void grandchildHoldsThePipes() throws Exception {
        byte[] script = "#!/bin/sh\nsleep 1000 &\necho $!\n".getBytes(StandardCharsets.UTF_8);
        long grandchild;
        try (UsermodeProcess p = Umh.forkUsermodeBlob(script,
                ForkOptions.builder().redirectError(ProcessBuilder.Redirect.DISCARD).build())) {
            grandchild = Long.parseLong(readLine(p.pipeFromUmh()));
            assertEquals(0, p.waitFor());
            assertTrue(TestBlobs.running(grandchild));
        }
        ProcessHandle.of(grandchild).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** Nobody can change a loaded blob: not through the JVM's memfd, not through a running child's exe. */
    @Test
    void loadedBlobCannotBeModified() throws Exception {
        byte[] bytes = TestBlobs.bytes("sleeper");
        try (UsermodeBlob blob = Umh.load(bytes); UsermodeProcess p = blob.fork()) {
            p.pipeFromUmh().readNBytes(6);
            Path memfd = null;
            for (Path fd : Files.newDirectoryStream(Paths.get("/proc/self/fd"))) {
                try {
                    if (Files.readSymbolicLink(fd).toString().startsWith("/memfd:umh-blob")) {
                        memfd = fd;
                    }
                } catch (IOException gone) {
                    // the stream's own fd
                }
            }
            assertTrue(memfd != null, "no memfd in this JVM");
            for (Path target : List.of(memfd, Paths.get("/proc/" + p.pid() + "/exe"))) {
                assertThrows(IOException.class, () -> Files.write(target, new byte[] {1}, StandardOpenOption.APPEND));
                assertThrows(IOException.class, () -> Files.write(target, new byte[] {1}, StandardOpenOption.WRITE));
                assertThrows(IOException.class, () -> Files.write(target, new byte[0], StandardOpenOption.TRUNCATE_EXISTING));
                assertArrayEquals(bytes, Files.readAllBytes(target), target.toString());
            }
        }
    }

    /** System.exit and SIGTERM end the JVM: its helpers go with it (PR_SET_PDEATHSIG). */
    @Test
    void helpersDieWithTheJvmOnExitAndOnSigterm() throws Exception {
        for (String how : List.of("exit", "sigterm")) {
            Process jvm = new ProcessBuilder(TestBlobs.javaCommand(List.of(), List.of(), ExitingJvm.class, how))
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            long helper = Long.parseLong(readLine(jvm.getInputStream()));
            try {
                if (how.equals("sigterm")) {
                    jvm.destroy();
                }
                jvm.waitFor();
                Await.until(how + ": helper " + helper + " to die with its JVM", () -> !TestBlobs.running(helper));
            } finally {
                jvm.destroyForcibly();
                ProcessHandle.of(helper).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /** Main of the second JVM: fork a helper that ignores SIGTERM and EOF, print its pid, then exit or wait. */
    public static final class ExitingJvm {
        public static void main(String[] args) throws Exception {
            UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), ForkOptions.builder()
                    .args("-t", "-p").redirectError(ProcessBuilder.Redirect.DISCARD).build());
            p.pipeFromUmh().readNBytes(6);
            System.out.println(p.pid());
            System.out.flush();
            if (args[0].equals("exit")) {
                System.exit(0);
            }
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
