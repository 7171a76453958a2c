package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * OpenJDK's {@code test/jdk/java/lang/Process/ProcessCloseTest.java} (JDK 26, bug 8364361: Process
 * became Closeable) run against UsermodeProcess, whose close() does the same on JDK 17 too. Its
 * single-thread cases are each (child, commands before close, checks after close); here each is a
 * test, its child translated: {@code echo} and {@code cat} are /bin/echo and /bin/cat loaded as
 * bytes or the cat blob; the Java child's STDOUT_ECHO is the cat blob, its SLEEP a sleeper, its
 * PROCESS_EXIT1 the exit blob, its STDOUT_MARCO/STDERR_MARCO echo and sh. Each case runs as the
 * JDK's {@code simple} (close() called) and {@code autoCloseable} (try-with-resources) variants run it.
 *
 * <p>umh's stderr defaults to INHERIT (documented), ProcessBuilder's to PIPE: these children get PIPE.
 *
 * <p>Where ProcessCloseTest accepts any RACY status for a child that exits by itself around
 * close(), umh asserts the child's own (0 or SIGPIPE), never a kill: its documented close() waits.
 */
@Timeout(60)
@org.junit.jupiter.api.extension.ExtendWith(NothingLeaked.class)
class JdkProcessCloseTest {
    private static UsermodeBlob echo;
    private static UsermodeBlob cat;
    private static UsermodeBlob sh;

    @BeforeAll
    static void load() throws IOException {
        echo = Umh.load(Path.of("/bin/echo"));
        cat = Umh.load(Path.of("/bin/cat"));
        sh = Umh.load(Path.of("/bin/sh"));
    }

    @AfterAll
    static void unload() {
        echo.close();
        cat.close();
        sh.close();
    }

    private static UsermodeProcess fork(UsermodeBlob blob, String... args) throws IOException {
        return blob.fork(ForkOptions.builder().args(args).redirectError(Redirect.PIPE).build());
    }

    private static String all(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    // {echo xyz0} STDOUT_PRINT_ALL_LINES, STDERR_EXPECT_EMPTY, NORMAL; close; NORMAL. And {echo xyz1}
    // without the waitFor before close. Then twice more: close() again (idempotent) keeps the status.
    @Test
    void echoReadThenClose() throws Exception {
        UsermodeProcess p = fork(echo, "xyz0");
        assertEquals("xyz0", p.inputReader().readLine());
        assertEquals(-1, p.getErrorStream().read());
        assertEquals(0, p.waitFor());
        p.close();
        assertEquals(0, p.waitFor());
        try (UsermodeProcess q = fork(echo, "xyz1")) {
            assertFalse(q.inputReader().lines().collect(java.util.stream.Collectors.toList()).isEmpty());
        }
        p.close();
        assertEquals(0, p.exitValue());
    }

    // {java STDOUT_ECHO} WRITER_WRITE, WRITER_CLOSE, STDOUT_PRINT_ALL_LINES; close; NORMAL. And the
    // STDOUT_WRITE, STDOUT_CLOSE variants (through getOutputStream), with and without the read.
    @Test
    void echoChildEchoesStdinAfterClose() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"))) {
            Writer w = p.outputWriter();
            w.write("Now is the time.");
            w.close();
            assertEquals(List.of("Now is the time."), p.inputReader().lines().collect(java.util.stream.Collectors.toList()));
            p.close();
            assertEquals(0, p.waitFor());
        }
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"));
        try (p) {
            p.getOutputStream().write("stdout-write".getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().flush();
            p.getOutputStream().close();
            assertEquals(0, p.waitFor());
        }
        assertEquals(0, p.waitFor());
    }

    // {cat NoSuchFile.txt} STDERR_PRINT_ALL_LINES, STDOUT_EXPECT_EMPTY; close; FAIL (1).
    @Test
    void catOfAMissingFileFails() throws Exception {
        UsermodeProcess p = fork(cat, "NoSuchFile.txt");
        try (p) {
            assertFalse(p.errorReader().lines().collect(java.util.stream.Collectors.toList()).isEmpty());
            assertEquals(-1, p.getInputStream().read());
        }
        assertEquals(1, p.waitFor());
    }

    // {java STDOUT_MARCO} STDOUT_EXPECT_POLO, STDERR_EXPECT_EMPTY; {java STDERR_MARCO} the other way
    // round; both NORMAL after close.
    @Test
    void marcoPolo() throws Exception {
        UsermodeProcess out = fork(echo, "Polo");
        try (out) {
            assertEquals("Polo\n", all(out.getInputStream()));
            assertEquals(-1, out.getErrorStream().read());
        }
        assertEquals(0, out.waitFor());
        UsermodeProcess err = fork(sh, "-c", "echo Polo >&2");
        try (err) {
            assertEquals("Polo\n", all(err.getErrorStream()));
            assertEquals(-1, err.getInputStream().read());
        }
        assertEquals(0, err.waitFor());
    }

    // {java PROCESS_EXIT1} FAIL; close; FAIL (status 1 kept).
    @Test
    void exitOneKeptThroughClose() throws Exception {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder().args("1").build());
        try (p) {
            assertEquals(1, p.waitFor());
        }
        assertEquals(1, p.waitFor());
    }

    // {java SLEEP} PROCESS_INTERRUPT (a thread interrupts the closer), PROCESS_CLOSE,
    // PROCESS_CHECK_INTERRUPTED; KILLED: close() interrupted while it waits kills the child,
    // returns, and re-asserts the interrupt. The same through try-with-resources. The JDK's
    // interrupter fires every 200 ms; this one waits for the closer to be waiting, then interrupts.
    @Test
    void interruptedCloseKillsAndKeepsTheInterrupt() throws Exception {
        for (boolean twr : new boolean[] {false, true}) {
            UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"),
                    ForkOptions.builder().args("-p").closeGrace(java.time.Duration.ofSeconds(30)).build());
            assertEquals("ready\n", new String(p.getInputStream().readNBytes(6), StandardCharsets.US_ASCII));
            Thread closer = Thread.currentThread();
            Thread interrupter = new Thread(() -> {
                try {
                    Await.until("close() to wait", () -> closer.getState() == Thread.State.TIMED_WAITING
                            || closer.getState() == Thread.State.WAITING);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
                closer.interrupt();
            });
            interrupter.start();
            if (twr) {
                try (p) {
                    assertTrue(p.isAlive());
                }
            } else {
                p.close();
            }
            assertTrue(Thread.interrupted(), "Expected an interrupt");
            interrupter.join();
            assertEquals(128 + 9, p.waitFor());
        }
    }

    // {java SLEEP} NORMAL (waitFor before the try-with-resources exits); NORMAL. {echo} NORMAL; NORMAL.
    @Test
    void waitForBeforeClose() throws Exception {
        UsermodeProcess p = fork(echo);
        try (p) {
            assertEquals(0, p.waitFor());
        }
        assertEquals(0, p.waitFor());
    }

    // {echo abc} PROCESS_CLOSE; RACY in the JDK (any status passes there). close() closes stdout
    // before it waits, as the JDK's does, so echo either wrote first (0) or dies of SIGPIPE (141);
    // umh's close() waits with its grace, so it is never umh's SIGKILL (137).
    @Test
    void closeRightAwayGivesTheChildsOwnStatus() throws Exception {
        for (int i = 0; i < 5; i++) {
            UsermodeProcess p = fork(echo, "abc");
            p.close();
            assertTrue(Set.of(0, 128 + 13).contains(p.waitFor()), "status " + p.exitValue());
        }
    }

    // {java STDOUT_ECHO} STDOUT_WRITE, PROCESS_CLOSE; PIPE (0, 1 or 141): close() closes stdout too,
    // so the echo child dies of SIGPIPE, or exits on the write error (the cat blob: 3), or (the write
    // past, before it read) exits 0.
    @Test
    void closeWhileTheEchoChildHasOutputToWrite() throws Exception {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"));
        p.getOutputStream().write("stdout-write".getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().flush();
        p.close();
        assertTrue(Set.of(0, 1, 3, 128 + 13).contains(p.waitFor()), "status " + p.exitValue());
    }

    // {echo def} / {java STDOUT_ECHO} PROCESS_DESTROY, then close; RACY (0, 1, 137, 143): destroy
    // and an exit race; the status is one of those, never another.
    @Test
    void destroyThenClose() throws Exception {
        UsermodeProcess p = fork(echo, "def");
        p.destroy();
        p.close();
        assertTrue(Set.of(0, 1, 137, 143).contains(p.waitFor()), "status " + p.exitValue());
        UsermodeProcess q = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"));
        q.getOutputStream().write("stdout-write".getBytes(StandardCharsets.UTF_8));
        q.destroy();
        q.close();
        assertTrue(Set.of(0, 1, 137, 143).contains(q.waitFor()), "status " + q.exitValue());
    }

    // autoCloseableAll: the process and its three streams in one try-with-resources (each stream
    // closed there and again by close()), for the echo case; NORMAL.
    @Test
    void processAndStreamsInOneTry() throws Exception {
        UsermodeProcess proc;
        try (UsermodeProcess p = fork(echo, "xyz0"); var out = p.getOutputStream(); var in = p.getInputStream();
             var err = p.getErrorStream()) {
            proc = p;
            assertEquals("xyz0\n", new String(in.readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(-1, err.read());
        }
        assertEquals(0, proc.waitFor());
    }

    // example() (the Javadoc's ProcessExamples): cat the haiku through outputWriter/inputReader in one
    // try-with-resources; status 0; the lines come back as written.
    @Test
    void example() throws Exception {
        String haiku = "Oh, the sunrise glow;\nPaddling with the river flow;\nChilling still, go slow.\n";
        try (UsermodeProcess p = fork(cat); Writer writer = p.outputWriter(); Reader reader = p.inputReader()) {
            writer.write(haiku);
            writer.close();
            assertEquals(List.of(haiku.split("\n")), new java.io.BufferedReader(reader).lines().collect(java.util.stream.Collectors.toList()));
            assertEquals(0, p.waitFor());
        }
    }

    // JDK 26's Process.close Javadoc: a subclass overriding close() is still the Process's close;
    // on a JDK where Process has close(), UsermodeProcess overrides it (so a Process variable's
    // try-with-resources reaches umh's close); on 17, where it has none, it is AutoCloseable.
    @Test
    void closeIsProcessCloseWhereTheJdkHasIt() throws Exception {
        java.lang.reflect.Method m = UsermodeProcess.class.getMethod("close");
        assertEquals(UsermodeProcess.class, m.getDeclaringClass());
        boolean jdkHasClose;
        try {
            Process.class.getMethod("close");
            jdkHasClose = true;
        } catch (NoSuchMethodException e) {
            jdkHasClose = false;
        }
        assertEquals(jdkHasClose, java.io.Closeable.class.isAssignableFrom(Process.class));
        assertTrue(AutoCloseable.class.isAssignableFrom(UsermodeProcess.class));
    }
}
