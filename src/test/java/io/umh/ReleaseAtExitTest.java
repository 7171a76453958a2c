package io.umh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Release like the JDK: once a helper has exited, its stdin is closed and its unread output is
 * kept in memory while its fds close, so a process that is waited for but never closed keeps no
 * fd until a GC; and pipeFromUmh() stays the very FileInputStream, serving those bytes.
 */
@Timeout(180)
class ReleaseAtExitTest {
    private static ExecutorService pool;

    @BeforeAll
    static void warmUp() throws Exception {
        TestBlobs.warmUp();
        pool = Executors.newSingleThreadExecutor();
    }

    @AfterAll
    static void shutDown() {
        pool.shutdownNow();
    }

    /** cat's output, unread at its exit: the fds are gone without close(), the bytes still readable, then EOF. */
    @Test
    void unreadOutputStaysReadableAfterTheFdsAreReleased() throws Exception {
        int fds = TestBlobs.openFds();
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"));
        FileInputStream out = p.pipeFromUmh();
        byte[] msg = "unread at exit\n".getBytes(StandardCharsets.US_ASCII);
        p.pipeToUmh().write(msg);
        p.pipeToUmh().close();
        assertEquals(0, p.waitFor());
        TestBlobs.assertFds(fds); // no close(): every fd released at the exit
        assertSame(out, p.pipeFromUmh());
        assertSame(out, p.getInputStream());
        assertEquals(msg.length, out.available());
        assertArrayEquals(msg, out.readAllBytes());
        assertEquals(-1, out.read());
        p.close();
        assertThrows(IOException.class, out::read, "closed by close()");
    }

    /** Piped stderr is kept too; stdin is closed at the exit, so a write fails. */
    @Test
    void stderrIsKeptAndStdinIsClosed() throws Exception {
        int fds = TestBlobs.openFds();
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("stderr"),
                ForkOptions.builder().args("one", "two").redirectError(Redirect.PIPE).build());
        assertEquals(0, p.waitFor());
        TestBlobs.assertFds(fds);
        assertThrows(IOException.class, () -> p.pipeToUmh().write(1));
        assertEquals("one\ntwo\n", new String(p.getErrorStream().readAllBytes(), StandardCharsets.US_ASCII));
        byte[] out = new byte[4];
        assertEquals(4, p.pipeFromUmh().read(out)); // read(byte[]), which FileInputStream does not route through read(b, off, len)
        assertEquals("out\n", new String(out, StandardCharsets.US_ASCII));
        assertEquals(0, p.pipeFromUmh().skip(10));
        p.close();
    }

    /**
     * One owner: a thread reading the output while the helper exits is never raced by the drain,
     * nor loses a byte to it; the release is done once that read ends.
     */
    @Test
    void aReaderAtExitGetsEveryByteOnce() throws Exception {
        int fds = TestBlobs.openFds();
        byte[] msg = new byte[3000];
        for (int i = 0; i < msg.length; i++) {
            msg[i] = (byte) ('a' + i % 26);
        }
        try (UsermodeBlob cat = Umh.load(TestBlobs.bytes("cat"))) {
            for (int round = 0; round < 300; round++) {
                UsermodeProcess p = cat.fork();
                int piece = 1 + round % 700;
                // reads in small pieces, so that some reads are in the pipe and some in the drained bytes
                Future<byte[]> got = pool.submit(() -> {
                    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
                    byte[] b = new byte[piece];
                    for (int n; (n = p.pipeFromUmh().read(b)) > 0; ) {
                        all.write(b, 0, n);
                    }
                    return all.toByteArray();
                });
                p.pipeToUmh().write(msg);
                p.pipeToUmh().close();
                assertEquals(0, p.waitFor());
                assertArrayEquals(msg, got.get(), "round " + round);
                assertTrue(((PipeInputStream) p.pipeFromUmh()).released(), "round " + round + ": the fd stayed open");
            }
        }
        TestBlobs.assertFds(fds);
    }

    /**
     * Regression (PipeBench's channel pump failed with AsynchronousCloseException): a channel taken
     * before the exit is the fd's; the release leaves it open, so a reader on the channel across
     * the exit gets every byte and EOF, then close() closes it.
     */
    @Test
    void aChannelTakenBeforeTheExitReadsAcrossIt() throws Exception {
        int fds = TestBlobs.openFds();
        byte[] msg = new byte[200_000]; // more than the pipe holds: the exit comes while the channel reads
        java.util.Arrays.fill(msg, (byte) 'c');
        try (UsermodeBlob cat = Umh.load(TestBlobs.bytes("cat"))) {
            for (int round = 0; round < 50; round++) {
                UsermodeProcess p = cat.fork();
                java.nio.channels.FileChannel ch = p.pipeFromUmh().getChannel();
                int piece = 1 + round * 97;
                Future<byte[]> got = pool.submit(() -> {
                    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(piece);
                    while (ch.read(b.clear()) > 0) {
                        all.write(b.array(), 0, b.position());
                    }
                    return all.toByteArray();
                });
                p.pipeToUmh().getChannel().write(java.nio.ByteBuffer.wrap(msg));
                p.pipeToUmh().close();
                assertEquals(0, p.waitFor());
                assertArrayEquals(msg, got.get(), "round " + round);
                assertTrue(ch.isOpen(), "round " + round + ": the release closed the channel's fd");
                p.close();
                assertTrue(!ch.isOpen(), "round " + round + ": close() closes the channel");
            }
        }
        TestBlobs.assertFds(fds);
    }

    /**
     * A channel asked for after the release (a quick helper's exit races any getChannel()) reads
     * what was drained, sharing its position with the stream's reads, and holds no fd past close().
     */
    @Test
    void aChannelTakenAfterTheReleaseReadsWhatWasDrained() throws Exception {
        int fds = TestBlobs.openFds();
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"));
        p.pipeToUmh().write("drained, then read\n".getBytes(StandardCharsets.US_ASCII));
        p.pipeToUmh().close();
        assertEquals(0, p.waitFor());
        TestBlobs.assertFds(fds); // released: no fd
        assertEquals("drained", new String(p.pipeFromUmh().readNBytes(7), StandardCharsets.US_ASCII));
        java.nio.channels.FileChannel ch = p.pipeFromUmh().getChannel();
        assertSame(ch, p.pipeFromUmh().getChannel());
        assertTrue(TestBlobs.fdTargets().contains("/memfd:umh-drained (deleted)"), TestBlobs.fdTargets().toString());
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(6);
        assertEquals(6, ch.read(b));
        assertEquals(", then", new String(b.array(), StandardCharsets.US_ASCII));
        assertEquals(6, p.pipeFromUmh().available());
        assertEquals(" read\n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.US_ASCII));
        assertEquals(-1, ch.read(b.clear()));
        p.close();
        assertTrue(!ch.isOpen());
        TestBlobs.assertFds(fds); // the drained bytes' memfd closed with the stream
    }

    /**
     * Regression: fork(); waitFor(); without close() failed with EMFILE after ~120 forks at
     * {@code ulimit -n 256}. A second JVM at that limit, with Epsilon (no GC, so no Cleaner ever
     * runs), forks 2,000 times without closing; then it forks helpers that keep running, never
     * closed, until EMFILE, whose message says what holds the fds.
     */
    @Test
    void twoThousandForksWithoutCloseAtAnFdLimitOf256() throws Exception {
        List<String> cmd = TestBlobs.javaCommand(List.of("prlimit", "--nofile=256:256", "--"),
                List.of("-XX:+UnlockExperimentalVMOptions", "-XX:+UseEpsilonGC", "-Xmx1g"), ForkWithoutClose.class);
        Process jvm = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lines.add(line);
            }
        }
        assertEquals(0, jvm.waitFor(), String.join("\n", lines));
        assertTrue(lines.contains("forked and waited for 2000 without close"), String.join("\n", lines));
        String emfile = lines.stream().filter(l -> l.startsWith("EMFILE after ")).findFirst().orElseThrow(
                () -> new AssertionError("no EMFILE: " + lines));
        assertTrue(emfile.contains("are running and not closed") && emfile.contains("close each UsermodeProcess"), emfile);
    }

    /** Main of the second JVM. */
    public static final class ForkWithoutClose {
        public static void main(String[] args) throws Exception {
            try (UsermodeBlob exit = Umh.load(TestBlobs.bytes("exit"))) {
                for (int i = 0; i < 2000; i++) {
                    UsermodeProcess p = exit.fork(); // never closed
                    if (p.waitFor() != 0) {
                        throw new AssertionError("fork " + i + " exited " + p.exitValue());
                    }
                }
            }
            System.out.println("forked and waited for 2000 without close");
            List<UsermodeProcess> running = new ArrayList<>();
            try (UsermodeBlob sleeper = Umh.load(TestBlobs.bytes("sleeper"))) {
                while (running.size() < 1000) {
                    running.add(sleeper.fork()); // never closed either, and still running
                }
                System.out.println("no EMFILE in 1000 running helpers");
            } catch (IOException e) {
                System.out.println("EMFILE after " + running.size() + ": " + e.getMessage());
            } finally {
                for (UsermodeProcess p : running) {
                    p.close(); // EOF: each exits 0
                }
            }
        }
    }
}
