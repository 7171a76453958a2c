package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ProcessBuilder.Redirect;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * umh's stderr defaults to INHERIT (documented at ForkOptions.Builder#redirectError), where
 * ProcessBuilder's is PIPE: the checks that read stderr ask for PIPE.
 *
 * <p>The Process-contract checks of OpenJDK's own tests, run against UsermodeProcess: from
 * {@code test/jdk/java/lang/ProcessBuilder/Basic.java} (its waitFor, destroy, stream and redirect
 * sections), {@code test/jdk/java/lang/Process/WaitForDuration.java} and
 * {@code test/jdk/java/lang/ProcessBuilder/DestroyTest.java}. Each test names the check it ports.
 * The JDK's children ({@code sleep}, its Java child's {@code testIO} and {@code print4095}, a bash
 * script trapping SIGTERM) become test blobs, or {@code /bin/sh} loaded as bytes.
 */
@Timeout(60)
@org.junit.jupiter.api.extension.ExtendWith(NothingLeaked.class)
class JdkProcessBasicTest {
    private static UsermodeBlob sh;

    @BeforeAll
    static void loadShell() throws IOException {
        sh = Umh.load(Path.of("/bin/sh")); // dynamic; runs unsandboxed as any ELF does
    }

    @AfterAll
    static void closeShell() {
        sh.close();
    }

    /** Basic.java's getSleepArgs() child: runs until killed, whatever happens to its pipes. */
    private static UsermodeProcess sleeping() throws IOException {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"),
                ForkOptions.builder().args("-p").redirectError(Redirect.PIPE).build());
        assertEquals("ready\n", new String(p.getInputStream().readNBytes(6), StandardCharsets.US_ASCII));
        return p;
    }

    /** A sleeper that exits 0 at EOF on its stdin. */
    private static UsermodeProcess untilEof() throws IOException {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"));
        assertEquals("ready\n", new String(p.getInputStream().readNBytes(6), StandardCharsets.US_ASCII));
        return p;
    }

    // Basic.java: "Check that Process.isAlive() & Process.waitFor(0, TimeUnit.MILLISECONDS) work as
    // expected": alive and waitFor(0) false while running; after destroy + waitFor, not alive and waitFor(0) true.
    @Test
    void isAliveAndWaitForZero() throws Exception {
        try (UsermodeProcess p = sleeping()) {
            assertTrue(p.isAlive());
            assertFalse(p.waitFor(0, TimeUnit.MILLISECONDS));
            p.destroy();
            p.waitFor();
            assertFalse(p.isAlive());
            assertTrue(p.waitFor(0, TimeUnit.MILLISECONDS));
        }
    }

    // Basic.java: "Check that Process.waitFor(timeout, TimeUnit.MILLISECONDS) works as expected":
    // false for a running child, and not before the timeout has passed (a lower bound only).
    @Test
    void waitForTimesOutNoSooner() throws Exception {
        try (UsermodeProcess p = sleeping()) {
            long start = System.nanoTime();
            assertFalse(p.waitFor(10, TimeUnit.MILLISECONDS));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(10));
            p.destroy();
        }
    }

    // Basic.java: "Check that Process.waitFor(timeout, TimeUnit.MILLISECONDS) interrupt works as
    // expected, if interrupted while waiting" (30 s and Long.MAX_VALUE ms), and "... if interrupted
    // before waiting": each throws InterruptedException and the waiting thread ends.
    @ParameterizedTest
    @ValueSource(longs = {30_000L, Long.MAX_VALUE})
    void waitForTimeoutIsInterruptible(long millis) throws Exception {
        try (UsermodeProcess p = sleeping()) {
            for (boolean interruptFirst : new boolean[] {true, false}) {
                AtomicReference<Object> outcome = new AtomicReference<>();
                CountDownLatch started = new CountDownLatch(1);
                Thread t = new Thread(() -> {
                    try {
                        started.countDown();
                        if (interruptFirst) {
                            Thread.currentThread().interrupt();
                        } else {
                            while (!Thread.currentThread().isInterrupted()) {
                                Thread.yield();
                            }
                        }
                        outcome.set(p.waitFor(millis, TimeUnit.MILLISECONDS));
                    } catch (Throwable e) {
                        outcome.set(e);
                    }
                });
                t.start();
                started.await();
                t.interrupt();
                t.join(30_000);
                assertFalse(t.isAlive());
                assertTrue(outcome.get() instanceof InterruptedException, "waitFor gave " + outcome.get());
            }
            assertTrue(p.isAlive());
            p.destroy();
        }
    }

    // Basic.java: "Check that Process.waitFor(timeout, null) throws NPE", for 10, 0 and -1, while
    // the child runs and again after it has exited (the JDK converts the unit before anything else).
    @Test
    void waitForNullUnitThrowsNpeBeforeAndAfterExit() throws Exception {
        try (UsermodeProcess p = sleeping()) {
            for (int round = 0; round < 2; round++) {
                for (long timeout : new long[] {10L, 0L, -1L}) {
                    assertThrows(NullPointerException.class, () -> p.waitFor(timeout, null), "round " + round);
                }
                p.destroy();
                p.waitFor();
            }
        }
    }

    /** Process.waitFor(Duration) (JDK 19+), by reflection since this compiles for 17; null on 17. */
    private static Method waitForDuration() {
        try {
            return Process.class.getMethod("waitFor", Duration.class);
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    private static boolean waitFor(Process p, Duration d) throws Exception {
        Method m = waitForDuration();
        if (m == null) { // JDK 17: what the JDK's default waitFor(Duration) does with it
            return p.waitFor(TimeUnit.NANOSECONDS.convert(d), TimeUnit.NANOSECONDS);
        }
        try {
            return (Boolean) m.invoke(p, d);
        } catch (InvocationTargetException e) {
            throw (Exception) e.getCause();
        }
    }

    // WaitForDuration.java testEdgeDurations: ZERO, -100 s and Long.MIN_VALUE s (nano underflow) give
    // false on a running child (sleep 3 there; a sleeper here, which never exits on its own); 100 s and
    // Long.MAX_VALUE s (nano overflow) give true once it exits (the JDK's sleep exits by itself after
    // 3 s; this one at EOF, closed first so the test takes no seconds).
    @Test
    void waitForDurationEdges() throws Exception {
        for (Duration d : new Duration[] {Duration.ZERO, Duration.ofSeconds(-100), Duration.ofSeconds(Long.MIN_VALUE)}) {
            try (UsermodeProcess p = untilEof()) {
                assertFalse(waitFor(p, d), d.toString());
                // and the long/TimeUnit form with the same bounds: no overflow into a long wait
                assertFalse(p.waitFor(Long.MIN_VALUE, TimeUnit.SECONDS));
            }
        }
        for (Duration d : new Duration[] {Duration.ofSeconds(100), Duration.ofSeconds(Long.MAX_VALUE)}) {
            try (UsermodeProcess p = untilEof()) {
                p.getOutputStream().close();
                assertTrue(waitFor(p, d), d.toString());
                assertEquals(0, p.exitValue());
            }
        }
    }

    // WaitForDuration.java testNullDuration: waitFor(null) throws NPE (JDK 19+ only: no such method on 17).
    @Test
    void waitForNullDuration() throws Exception {
        if (waitForDuration() == null) {
            return; // JDK 17 has no Process.waitFor(Duration)
        }
        try (UsermodeProcess p = untilEof()) {
            assertThrows(NullPointerException.class, () -> waitFor(p, null));
        }
    }

    // DestroyTest.java (UnixTest): a child that traps SIGTERM (and SIGINT) is still alive after
    // destroy(); destroyForcibly().waitFor() then ends it and isAlive() is false. The bash trap script
    // becomes the signals blob, which reports each signal it catches; its report replaces the JDK's
    // Thread.sleep(1000). Basic.java: destroyForcibly() returns the process itself.
    @Test
    void destroyOfATrappingChildThenDestroyForcibly() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("signals"))) {
            java.io.BufferedReader out = new java.io.BufferedReader(
                    new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
            assertEquals("ready", out.readLine());
            p.destroy();
            assertEquals("signal 15", out.readLine());
            assertTrue(p.isAlive(), "terminated prematurely");
            assertSame(p, p.destroyForcibly());
            assertEquals(128 + 9, p.waitFor());
            assertFalse(p.isAlive());
        }
    }

    // Basic.java: "Attempt to write 4095 bytes to the pipe buffer without a reader to drain it ...
    // check that available reports all the bytes expected in the pipe buffer, and that I/O
    // operations do the expected things": after exit, available() is 4095 on stdout and stderr, a
    // write to stdin throws, each stream reads its 4095 bytes then EOF, exitValue is 5; once closed,
    // read(), read(byte[]) and available() throw IOException("Stream closed"). The Java child
    // print4095 becomes a shell that takes the 4095 bytes (so that the write cannot meet a dead
    // reader), writes 4095 '!' and 4095 'E' and exits 5.
    @Test
    void print4095AvailableAfterExitThenStreamClosed() throws Exception {
        String script = "head -c 4095 >/dev/null; printf '%4095s' '' | tr ' ' '!'; printf '%4095s' '' | tr ' ' E >&2; exit 5";
        UsermodeProcess p = sh.fork(ForkOptions.builder().args("-c", script).redirectError(Redirect.PIPE).build());
        try {
            byte[] bang = new byte[4095];
            Arrays.fill(bang, (byte) '!');
            p.getOutputStream().write(bang);
            p.getOutputStream().flush();
            p.waitFor();
            assertEquals(4095, p.getInputStream().available());
            assertEquals(4095, p.getErrorStream().available());
            assertThrows(IOException.class, () -> {
                p.getOutputStream().write('!');
                p.getOutputStream().flush();
            });
            byte[] bytes = new byte[4096];
            assertEquals(4095, p.getInputStream().readNBytes(bytes, 0, 4096));
            for (int i = 0; i < 4095; i++) {
                assertEquals('!', bytes[i]);
            }
            assertEquals(4095, p.getErrorStream().readNBytes(bytes, 0, 4096));
            for (int i = 0; i < 4095; i++) {
                assertEquals('E', bytes[i]);
            }
            assertEquals(0, p.getInputStream().available());
            assertEquals(0, p.getErrorStream().available());
            assertEquals(-1, p.getErrorStream().read());
            assertEquals(-1, p.getInputStream().read());
            assertEquals(5, p.exitValue());

            p.getInputStream().close();
            p.getErrorStream().close();
            try {
                p.getOutputStream().close();
            } catch (IOException flushFailed) {
                // as Basic.java: allowed
            }
            for (InputStream in : new InputStream[] {p.getInputStream(), p.getErrorStream()}) {
                for (Op op : new Op[] {in::read, () -> in.read(bytes), in::available}) {
                    IOException e = assertThrows(IOException.class, op::run);
                    assertTrue(e.getMessage().matches("[Ss]tream [Cc]losed"), e.getMessage());
                }
            }
        } finally {
            p.close();
        }
    }

    private interface Op {
        void run() throws IOException;
    }

    // Basic.java: "Check that reads which are pending when Process.destroy is called, get EOF, or
    // IOException("Stream closed")": four cases, stdout or stderr, read() or read(byte[]).
    @Test
    void pendingReadsGetEofOnDestroy() throws Exception {
        for (int action = 0; action < 4; action++) {
            try (UsermodeProcess p = sleeping()) {
                InputStream s = (action & 1) == 0 ? p.getInputStream() : p.getErrorStream();
                boolean array = (action & 2) != 0;
                AtomicReference<Object> outcome = new AtomicReference<>();
                Thread reader = new Thread(() -> {
                    try {
                        outcome.set(array ? s.read(new byte[10]) : s.read());
                    } catch (IOException e) {
                        outcome.set(e);
                    }
                });
                reader.start(); // whether its read has begun or not when destroy() comes, it must end the same way
                p.destroy();
                reader.join(30_000);
                assertFalse(reader.isAlive());
                Object o = outcome.get();
                assertTrue(Integer.valueOf(-1).equals(o)
                        || o instanceof IOException && "Stream closed".equals(((IOException) o).getMessage()),
                        "case " + action + ": " + o);
            }
        }
    }

    // Basic.java: "Check that subprocesses which create subprocesses of their own do not cause
    // parent to hang waiting for file descriptors to be closed": bash -c "(/bin/sleep 59)" there,
    // sh here; a reader blocked on stdout; destroy() of the child (not the grandchild, which keeps
    // the pipes open): waitFor() and exitValue() non-zero; closing the three streams (and close())
    // returns; the JDK's 30 s timer is this class's @Timeout. The grandchild is killed after, by
    // pid, as the JDK's pkill does.
    @Test
    void grandchildHoldingThePipesDoesNotHangTheParent() throws Exception {
        UsermodeProcess p = sh.fork(ForkOptions.builder().args("-c", "(sleep 59; :)").redirectError(Redirect.PIPE).build());
        java.util.List<ProcessHandle> grandchildren = new java.util.ArrayList<>();
        try {
            Await.until("the subshell's sleep", () -> p.toHandle().descendants().count() >= 2);
            grandchildren.addAll(p.toHandle().descendants().collect(java.util.stream.Collectors.toList()));
            AtomicReference<Object> read = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try {
                    read.set(p.getInputStream().read());
                } catch (IOException e) {
                    read.set(e);
                }
            });
            reader.setDaemon(true);
            reader.start();
            p.destroy();
            assertNotEquals(0, p.waitFor());
            assertNotEquals(0, p.exitValue());
            p.getInputStream().close();
            p.getErrorStream().close();
            p.getOutputStream().close();
            p.close();
        } finally {
            grandchildren.forEach(ProcessHandle::destroyForcibly);
            p.close();
        }
    }

    // Basic.java: "Check the Process toString() method": "not exited" and "pid=N," while it runs
    // (stdin a pipe, stdout and stderr DISCARD, as there); "exitValue=N" and no "not exited" after.
    @Test
    void toStringBeforeAndAfterExit() throws Exception {
        ForkOptions o = ForkOptions.builder().redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"), o)) {
            String s = p.toString();
            assertTrue(s.contains("not exited"), s);
            assertTrue(s.contains("pid=" + p.pid() + ","), s);
            p.getOutputStream().write("standard input".getBytes(StandardCharsets.US_ASCII));
            p.getOutputStream().close();
            int exitValue = p.waitFor();
            s = p.toString();
            assertTrue(s.contains("pid=" + p.pid() + ","), s);
            assertTrue(s.contains("exitValue=" + exitValue) && !s.contains("not exited"), s);
        }
    }

    // --- Basic.java testIORedirection(), with its Java child's "testIO" as a shell script: it
    // checks that stdin is "standard input", then writes "standard error" to stderr and "standard
    // output" to stdout, and exits 0.

    private static final String TEST_IO = "IFS= read -r line; [ \"$line\" = 'standard input' ] || exit 3;"
            + " printf 'standard error' >&2; printf 'standard output'";

    /** Basic.java's run(pb): the exit value and what the streams gave (the null streams of redirected fds: ""). */
    private static String[] run(ForkOptions.Builder b) throws Exception {
        try (UsermodeProcess p = sh.fork(b.args("-c", TEST_IO).build())) {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            return new String[] {Integer.toString(p.waitFor()), out, err};
        }
    }

    private static ForkOptions.Builder io(Path ifile) {
        return ForkOptions.builder().redirectInput(Redirect.from(ifile.toFile())).redirectError(Redirect.PIPE);
    }

    // testIORedirection: "Input file does not exist": start() throws IOException; then "Writing to
    // non-existent files" (created, with the child's output; the streams read ""); "Both
    // redirectErrorStream + redirectError" (stderr goes to the output file first, before stdout).
    @Test
    void redirectToNewFilesAndErrorStream(@TempDir Path dir) throws Exception {
        Path ifile = dir.resolve("ifile");
        Path ofile = dir.resolve("ofile");
        Path efile = dir.resolve("efile");
        ForkOptions.Builder b = io(ifile).redirectOutput(Redirect.to(ofile.toFile())).redirectError(Redirect.to(efile.toFile()));
        assertThrows(IOException.class, () -> sh.fork(b.args("-c", TEST_IO).build()).close());
        Files.writeString(ifile, "standard input");

        assertEquals(Arrays.asList("0", "", ""), Arrays.asList(run(b)));
        assertEquals("standard output", Files.readString(ofile));
        assertEquals("standard error", Files.readString(efile));
        Files.delete(ofile);
        Files.delete(efile);

        b.redirectErrorStream(true);
        assertEquals(Arrays.asList("0", "", ""), Arrays.asList(run(b)));
        assertEquals("standard error" + "standard output", Files.readString(ofile));
    }

    // testIORedirection: "Appending to existing files", "Replacing existing files", "Appending twice
    // to the same file?" (one appendTo for stdout and stderr: both land after the old contents).
    @Test
    void appendReplaceAndAppendTwice(@TempDir Path dir) throws Exception {
        Path ifile = Files.writeString(dir.resolve("ifile"), "standard input");
        Path ofile = dir.resolve("ofile");
        Path efile = dir.resolve("efile");

        Files.writeString(ofile, "ofile-contents");
        Files.writeString(efile, "efile-contents");
        assertEquals("0", run(io(ifile).redirectOutput(Redirect.appendTo(ofile.toFile()))
                .redirectError(Redirect.appendTo(efile.toFile())))[0]);
        assertEquals("ofile-contents" + "standard output", Files.readString(ofile));
        assertEquals("efile-contents" + "standard error", Files.readString(efile));

        Files.writeString(ofile, "ofile-contents");
        Files.writeString(efile, "efile-contents");
        assertEquals("0", run(io(ifile).redirectOutput(Redirect.to(ofile.toFile())).redirectError(Redirect.to(efile.toFile())))[0]);
        assertEquals("standard output", Files.readString(ofile));
        assertEquals("standard error", Files.readString(efile));

        Files.writeString(ofile, "ofile-contents");
        Files.writeString(efile, "efile-contents");
        Redirect appender = Redirect.appendTo(ofile.toFile());
        assertEquals("0", run(io(ifile).redirectOutput(appender).redirectError(appender))[0]);
        assertEquals("ofile-contents" + "standard error" + "standard output", Files.readString(ofile));
        assertEquals("efile-contents", Files.readString(efile));
    }

    // testIORedirection: "DISCARDing output" (exit 0, both streams read "") and "DISCARDing output
    // and redirecting error" (the output file untouched, the error file replaced).
    @Test
    void discard(@TempDir Path dir) throws Exception {
        Path ifile = Files.writeString(dir.resolve("ifile"), "standard input");
        Path ofile = Files.writeString(dir.resolve("ofile"), "ofile-contents");
        Path efile = Files.writeString(dir.resolve("efile"), "efile-contents");
        assertEquals(Arrays.asList("0", "", ""),
                Arrays.asList(run(io(ifile).redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD))));
        assertEquals(Arrays.asList("0", "", ""),
                Arrays.asList(run(io(ifile).redirectOutput(Redirect.DISCARD).redirectError(Redirect.to(efile.toFile())))));
        assertEquals("ofile-contents", Files.readString(ofile));
        assertEquals("standard error", Files.readString(efile));
    }

    // Process.getOutputStream/getInputStream Javadoc, which Basic.java's run() relies on: a
    // redirected fd's stream is a null stream; ProcessBuilder.NullInputStream reads -1 and has 0
    // available; NullOutputStream's write throws IOException("Stream closed"). umh documents the same.
    @Test
    void nullStreamsOfRedirectedFds(@TempDir Path dir) throws Exception {
        Path ifile = Files.writeString(dir.resolve("ifile"), "standard input");
        ForkOptions o = io(ifile).redirectOutput(Redirect.DISCARD).redirectErrorStream(true).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"), o)) {
            assertEquals(0, p.waitFor());
            for (InputStream in : new InputStream[] {p.getInputStream(), p.getErrorStream()}) {
                assertEquals(-1, in.read());
                assertEquals(0, in.available());
            }
            OutputStream out = p.getOutputStream();
            IOException e = assertThrows(IOException.class, () -> out.write('x'));
            assertEquals("Stream closed", e.getMessage());
        }
    }
}
