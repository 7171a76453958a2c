package io.umh.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.umh.Await;
import io.umh.ForkOptions;
import io.umh.SandboxPolicy;
import io.umh.SandboxSupport;
import io.umh.SandboxViolation;
import io.umh.TestBlobs;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Supervised helpers: restart policies, backoff and its limit, hooks, health checks, stop. */
@Timeout(60)
class ServiceTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    /** Every event, as a line; restart delays too. */
    static final class Events implements UsermodeService.Listener {
        final BlockingQueue<String> queue = new LinkedBlockingQueue<>();
        final List<Duration> delays = new ArrayList<>();

        @Override
        public void started(UsermodeProcess p) {
            queue.add("started " + p.pid());
        }

        @Override
        public void exited(UsermodeProcess p, int status, Exception cause) {
            queue.add("exited " + p.pid() + " " + status + (cause == null ? "" : " " + cause.getMessage()));
        }

        @Override
        public void violated(UsermodeProcess p, SandboxViolation v) {
            queue.add("violated " + p.pid() + " " + v.syscall());
        }

        @Override
        public synchronized void restarting(int restart, Duration delay) {
            delays.add(delay);
            queue.add("restarting " + restart);
        }

        @Override
        public void failed(IOException cause) {
            queue.add("failed " + cause.getMessage());
        }

        @Override
        public void stopped() {
            queue.add("stopped");
        }

        String next() throws InterruptedException {
            String e = queue.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertNotNull(e, "no event within " + WAIT);
            return e;
        }

        /** The pid in a "started PID" event. */
        long started() throws InterruptedException {
            String e = next();
            assertTrue(e.startsWith("started "), e);
            return Long.parseLong(e.substring(8));
        }
    }

    private static ForkOptions args(String... args) {
        return ForkOptions.builder().args(args).build();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) {
                throw new IOException("EOF before a line");
            }
            line.append((char) c);
        }
        return line.toString();
    }

    /**
     * The helper exits 3 on its 2nd request: the call says so, the service restarts it, and a caller
     * still holding the old channel or process gets an IOException at once; close() is EOF.
     */
    @Test
    void restartsACrashedHelperAndOldHoldersGetAnIOException() throws Exception {
        Events ev = new Events();
        UsermodeProcess second;
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodeService s = UsermodeService.builder(blob).options(args("-c", "2"))
                     .backoff(Duration.ofMillis(10), Duration.ofMillis(100), 0).listener(ev).start()) {
            assertEquals(UsermodeService.State.RUNNING, s.state());
            UsermodeChannel first = s.channel();
            UsermodeProcess p1 = s.process();
            assertEquals(p1.pid(), ev.started());
            assertArrayEquals(bytes("one"), s.call(bytes("one")));
            IOException crash = assertThrows(IOException.class, () -> first.call(bytes("two")));
            assertTrue(crash.getMessage().endsWith("closed its stdout before replying (exit status 3)"), crash.getMessage());
            // the caller saw the exit first: awaitRunning still waits for the next helper
            assertTrue(s.awaitRunning(WAIT));
            second = s.process();
            assertNotEquals(p1.pid(), second.pid());
            assertEquals("exited " + p1.pid() + " 3", ev.next());
            assertEquals("restarting 1", ev.next());
            assertEquals(second.pid(), ev.started());

            // closed by its own failure or by the service, whichever came first: either way it says so
            IOException old = assertThrows(IOException.class, () -> first.call(bytes("again")));
            assertTrue(old.getMessage().matches("umh channel: helper pid " + p1.pid()
                    + " (closed its stdout before replying \\(exit status 3\\)"
                    + "|of service umh-blob has exited with status 3; ask the service for the current channel)"), old.getMessage());
            assertThrows(IOException.class, () -> p1.pipeToUmh().write(1));
            assertThrows(IOException.class, () -> p1.pipeFromUmh().read());
            assertArrayEquals(bytes("new"), s.call(bytes("new")));
        }
        assertEquals("exited " + second.pid() + " 0", ev.next()); // close(): EOF, and it exits 0
        assertEquals("stopped", ev.next());
        assertTrue(ev.queue.isEmpty());
    }

    /**
     * A caller whose helper crashes hears the exit, even when the service sees the exit first: the
     * service once closed the pipes between the caller's write and its read, and the caller got
     * "Stream Closed" (seen once in ~10 runs under load; ChannelTest pins the mechanism). 20 crashes.
     */
    @Test
    void aCallerWhoseHelperCrashesAlwaysHearsTheExitNotAClosedStream() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodeService s = UsermodeService.builder(blob).options(args("-c", "1")).restart(UsermodeService.Restart.ALWAYS)
                     .backoff(Duration.ofMillis(1), Duration.ofMillis(1), 0).restartLimit(100, Duration.ofMinutes(1)).start()) {
            for (int i = 0; i < 20; i++) {
                UsermodeChannel ch = s.channel();
                IOException e = assertThrows(IOException.class, () -> ch.call(bytes("crash")));
                assertEquals("umh channel: helper pid " + ch.process().pid() + " closed its stdout before replying"
                        + " (exit status 3)", e.getMessage());
                assertTrue(s.awaitRunning(WAIT));
            }
        }
    }

    /** Killed from outside (an admin, the OOM killer) while a caller holds its channel idle: that channel says what happened. */
    @Test
    void aHelperKilledFromOutsideIsReplacedAndItsChannelSaysSo() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodeService s = UsermodeService.builder(blob).backoff(Duration.ofMillis(10), Duration.ofMillis(10), 0).start()) {
            UsermodeChannel held = s.channel();
            long pid = held.process().pid();
            assertEquals(0, new ProcessBuilder("kill", "-KILL", Long.toString(pid)).start().waitFor());
            assertEquals(128 + 9, held.process().waitFor()); // reaped: from here awaitRunning waits for the next
            assertTrue(s.awaitRunning(WAIT));
            assertNotEquals(pid, s.process().pid());
            IOException e = assertThrows(IOException.class, () -> held.call(bytes("hello?")));
            assertEquals("umh channel: helper pid " + pid + " of service umh-blob has exited with status 137;"
                    + " ask the service for the current channel", e.getMessage());
            assertArrayEquals(bytes("hello!"), s.call(bytes("hello!")));
        }
    }

    /** NEVER fails after a non-zero exit; ON_FAILURE stops after a clean one. */
    @Test
    void neverAndOnFailureDecideByTheExitStatus() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"))) {
            Events ev = new Events();
            try (UsermodeService s = UsermodeService.builder(blob).options(args("3")).restart(UsermodeService.Restart.NEVER)
                    .listener(ev).start()) {
                long pid = ev.started();
                assertEquals("exited " + pid + " 3", ev.next());
                assertEquals("failed umh service umh-blob: helper pid " + pid + " exited with status 3", ev.next());
                assertEquals(UsermodeService.State.FAILED, s.state());
                IOException e = assertThrows(IOException.class, s::process);
                assertEquals("umh service umh-blob is FAILED: umh service umh-blob: helper pid " + pid + " exited with status 3",
                        e.getMessage());
                assertFalse(s.awaitRunning(WAIT));
            }
            ev = new Events();
            try (UsermodeService s = UsermodeService.builder(blob).options(args("0")).listener(ev).start()) {
                long pid = ev.started();
                assertEquals("exited " + pid + " 0", ev.next());
                assertEquals("stopped", ev.next());
                assertEquals(UsermodeService.State.STOPPED, s.state());
            }
            assertTrue(ev.queue.isEmpty()); // close() after the end: no more events
        }
    }

    /**
     * A sandboxed helper that tries to open a socket is stopped by its sandbox: the listeners hear
     * the call by name before the exit (159, as a seccomp kill), and the failure's message names it.
     */
    @Test
    void theListenersHearWhatTheSandboxStoppedAHelperFor() throws Exception {
        assumeTrue(Umh.sandboxSupport().isFull(SandboxSupport.Layer.VIOLATION_NAMES), Umh.sandboxSupport().toString());
        ForkOptions o = ForkOptions.builder().args("socket").sandbox(SandboxPolicy.strict()).build();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("escape"))) {
            Events ev = new Events();
            try (UsermodeService s = UsermodeService.builder(blob).options(o).restart(UsermodeService.Restart.NEVER)
                    .listener(ev).start()) {
                long pid = ev.started();
                assertEquals("violated " + pid + " socket", ev.next());
                assertEquals("exited " + pid + " 159", ev.next());
                String failed = "umh service umh-blob: helper pid " + pid + " exited with status 159 (stopped by its sandbox: socket)";
                assertEquals("failed " + failed, ev.next());
                assertEquals("umh service umh-blob is FAILED: " + failed, assertThrows(IOException.class, s::process).getMessage());
            }
        }
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"))) { // an ordinary exit of a sandboxed helper is none
            Events ev = new Events();
            try (UsermodeService s = UsermodeService.builder(blob).options(ForkOptions.builder().args("3")
                    .sandbox(SandboxPolicy.strict()).build()).restart(UsermodeService.Restart.NEVER).listener(ev).start()) {
                long pid = ev.started();
                assertEquals("exited " + pid + " 3", ev.next());
                assertEquals("failed umh service umh-blob: helper pid " + pid + " exited with status 3", ev.next());
            }
        }
    }

    /** ALWAYS restarts even clean exits; the backoff doubles up to its max; the 4th restart within the window fails the service. */
    @Test
    void alwaysRestartsWithDoublingBackoffUpToTheLimit() throws Exception {
        Events ev = new Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"));
             UsermodeService s = UsermodeService.builder(blob).options(args("0")).restart(UsermodeService.Restart.ALWAYS)
                     .backoff(Duration.ofMillis(10), Duration.ofMillis(25), 0).restartLimit(3, Duration.ofMinutes(1))
                     .listener(ev).start()) {
            for (int i = 1; i <= 3; i++) {
                long pid = ev.started();
                assertEquals("exited " + pid + " 0", ev.next());
                assertEquals("restarting " + i, ev.next());
            }
            long pid = ev.started();
            assertEquals("exited " + pid + " 0", ev.next());
            assertEquals("failed umh service umh-blob gave up after 3 restarts within PT1M; the last: umh service umh-blob:"
                    + " helper pid " + pid + " exited with status 0", ev.next());
            assertEquals(UsermodeService.State.FAILED, s.state());
            assertEquals(List.of(Duration.ofMillis(10), Duration.ofMillis(20), Duration.ofMillis(25)), ev.delays);
        }
    }

    /** Jitter takes a random part, up to the given fraction, off each delay. */
    @Test
    void jitterShortensEachDelayByUpToItsFraction() throws Exception {
        Events ev = new Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"));
             UsermodeService s = UsermodeService.builder(blob).options(args("0")).restart(UsermodeService.Restart.ALWAYS)
                     .backoff(Duration.ofMillis(8), Duration.ofMillis(8), 0.5).restartLimit(10, Duration.ofMinutes(1))
                     .listener(ev).start()) {
            while (!ev.next().startsWith("failed")) {
                // 10 restarts
            }
            assertEquals(UsermodeService.State.FAILED, s.state());
            synchronized (ev) {
                assertEquals(10, ev.delays.size());
                for (Duration d : ev.delays) {
                    assertTrue(d.compareTo(Duration.ofMillis(4)) >= 0 && d.compareTo(Duration.ofMillis(8)) <= 0, d.toString());
                }
                assertTrue(new HashSet<>(ev.delays).size() > 1, "no jitter: " + ev.delays);
            }
        }
    }

    /**
     * Restarts older than the window are forgotten: with one restart allowed per 5 ms and 20 ms
     * between restarts the service never gives up, and the backoff never grows.
     */
    @Test
    void theWindowForgetsOldRestarts() throws Exception {
        Events ev = new Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"))) {
            UsermodeService s = UsermodeService.builder(blob).options(args("0")).restart(UsermodeService.Restart.ALWAYS)
                    .backoff(Duration.ofMillis(20), Duration.ofSeconds(10), 0).restartLimit(1, Duration.ofMillis(5))
                    .listener(ev).start();
            try {
                for (int i = 1; i <= 5; i++) {
                    ev.started();
                    ev.next(); // exited
                    assertEquals("restarting " + i, ev.next());
                }
            } finally {
                s.close();
            }
            synchronized (ev) {
                assertEquals(List.of(Duration.ofMillis(20)), List.copyOf(new HashSet<>(ev.delays)));
            }
        }
        String e;
        while (!(e = ev.next()).equals("stopped")) {
            assertFalse(e.startsWith("failed"), e);
        }
    }

    /** A start hook waits for the helper's "ready" line; without one it times out, the helper is killed, and start() says why. */
    @Test
    void startHookWaitsForReadyAndTimesOut() throws Exception {
        UsermodeService.Hook ready = ch -> assertEquals("ready", readLine(ch.process().pipeFromUmh()));
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"))) {
            try (UsermodeService s = UsermodeService.builder(blob).options(args("-r")).onStart(ready, WAIT).start()) {
                assertArrayEquals(bytes("after ready"), s.call(bytes("after ready")));
            }
            Events ev = new Events();
            UsermodeService.Builder silent = UsermodeService.builder(blob).restart(UsermodeService.Restart.NEVER)
                    .onStart(ready, Duration.ofMillis(300)).listener(ev);
            IOException e = assertThrows(IOException.class, silent::start);
            String exited = ev.next();
            assertTrue(exited.matches("exited [0-9]+ 137 start hook timed out after PT0.3S"), exited);
            assertTrue(e.getMessage().startsWith("umh service umh-blob did not start: umh service umh-blob: helper pid"), e.getMessage());
            assertTrue(e.getMessage().endsWith("exited with status 137 (start hook timed out after PT0.3S)"), e.getMessage());
            assertTrue(ev.next().startsWith("failed "));
        }
    }

    /** A health check that times out (the helper hangs on its 3rd request) or throws gets the helper killed and restarted. */
    @Test
    void failedHealthChecksRestartTheHelper() throws Exception {
        AtomicInteger checks = new AtomicInteger();
        UsermodeService.Hook ping = ch -> {
            assertArrayEquals(bytes("ping"), ch.call(bytes("ping")));
            if (checks.incrementAndGet() == 4) {
                throw new IllegalStateException("unhealthy");
            }
        };
        Events ev = new Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodeService s = UsermodeService.builder(blob).options(args("-h", "3"))
                     .healthCheck(ping, Duration.ofMillis(20), Duration.ofSeconds(1))
                     .backoff(Duration.ofMillis(10), Duration.ofMillis(10), 0).listener(ev).start()) {
            long first = ev.started();
            assertEquals("exited " + first + " 137 health check timed out after PT1S", ev.next()); // checks 1, 2 pass
            assertEquals("restarting 1", ev.next());
            long second = ev.started();
            assertEquals("exited " + second + " 137 health check failed: java.lang.IllegalStateException: unhealthy",
                    ev.next()); // check 3 passes, 4 throws
            assertEquals("restarting 2", ev.next());
            assertEquals(ev.started(), s.process().pid());
        }
    }

    /** stop(grace) gives the helper the graceful steps: sleeper -p ignores EOF and dies of the SIGTERM. */
    @Test
    void stopGivesTheHelperEofThenSigterm() throws Exception {
        Events ev = new Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("sleeper"));
             UsermodeService s = UsermodeService.builder(blob).options(args("-p")).listener(ev).start()) {
            long pid = ev.started();
            s.stop(Duration.ofMillis(100));
            assertEquals(UsermodeService.State.STOPPED, s.state());
            assertEquals("exited " + pid + " 143", ev.next());
            assertEquals("stopped", ev.next());
            assertFalse(TestBlobs.running(pid));
        }
    }

    /** A stop during a one-minute backoff ends the service at once. */
    @Test
    void stopDuringTheBackoffEndsAtOnce() throws Exception {
        Events ev = new Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"))) {
            UsermodeService s = UsermodeService.builder(blob).options(args("0")).restart(UsermodeService.Restart.ALWAYS)
                    .backoff(Duration.ofMinutes(1), Duration.ofMinutes(1), 0).listener(ev).start();
            long start;
            try {
                ev.started();
                ev.next(); // exited
                assertEquals("restarting 1", ev.next());
                start = System.nanoTime();
            } finally {
                s.close();
            }
            assertTrue(System.nanoTime() - start < WAIT.toNanos());
            assertEquals("stopped", ev.next());
            assertEquals(UsermodeService.State.STOPPED, s.state());
        }
    }

    @Test
    void aClosedBlobFailsTheStart() throws Exception {
        UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"));
        blob.close();
        IOException e = assertThrows(IOException.class,
                () -> UsermodeService.builder(blob).restart(UsermodeService.Restart.NEVER).start());
        assertEquals("umh service umh-blob did not start: umh service umh-blob: fork failed: UsermodeBlob is closed"
                + "; not restarted: the next fork would fail the same way", e.getMessage());
    }

    /**
     * Bytes that are no program fail the service at its first fork: no restart, whatever the policy
     * allows (a backoff of 20 s and 5 restarts here), and start() says why.
     */
    @Test
    void aHelperThatIsNoProgramFailsTheServiceAtOnce() throws Exception {
        String expected = "umh service umh-blob: fork failed: fork: execveat failed: ENOEXEC (Exec format error)";
        IOException e = neverStarts(bytes("no program, only words\n"), ForkOptions.defaults());
        assertTrue(e.getCause().getMessage().startsWith(expected), e.getCause().getMessage());
    }

    /** As is a script whose #! interpreter does not exist (ENOENT at exec). */
    @Test
    void aMissingInterpreterFailsTheServiceAtOnce() throws Exception {
        IOException e = neverStarts(TestBlobs.bytes("nointerp.sh"), ForkOptions.defaults());
        assertTrue(e.getCause().getMessage().startsWith("umh service umh-blob: fork failed: fork: execve"), e.getCause().getMessage());
        assertTrue(e.getCause().getMessage().contains("ENOENT"), e.getCause().getMessage());
    }

    /** As are options the fork refuses every time: a script cannot run sandboxed. */
    @Test
    void optionsThatCanNeverWorkFailTheServiceAtOnce() throws Exception {
        IOException e = neverStarts(TestBlobs.bytes("hello.sh"), ForkOptions.builder().sandbox(SandboxPolicy.strict()).build());
        assertTrue(e.getCause().getMessage().startsWith("umh service umh-blob: fork failed: fork: a #! script cannot run sandboxed"),
                e.getCause().getMessage());
    }

    /** A service of {@code program} that must fail at its first fork: its start's exception; the only event heard is "failed". */
    private static IOException neverStarts(byte[] program, ForkOptions options) throws Exception {
        Events ev = new Events();
        try (UsermodeBlob blob = Umh.load(program)) {
            IOException e = assertThrows(IOException.class, () -> UsermodeService.builder(blob).options(options)
                    .backoff(Duration.ofSeconds(20), Duration.ofSeconds(20), 0).listener(ev).start());
            assertTrue(e.getMessage().startsWith("umh service umh-blob did not start: umh service umh-blob: fork failed: fork: "),
                    e.getMessage());
            assertTrue(e.getMessage().endsWith("; not restarted: the next fork would fail the same way"), e.getMessage());
            // the listener hears events in order, "failed" last: a restart would have come before it
            assertEquals("failed " + e.getCause().getMessage(), ev.next());
            return e;
        }
    }

    /** A fork that fails for a reason that may pass (here a directory that is not there yet) is retried as before. */
    @Test
    void aForkFailureThatMayPassIsRetried() throws Exception {
        Events ev = new Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"))) {
            IOException e = assertThrows(IOException.class, () -> UsermodeService.builder(blob)
                    .options(ForkOptions.builder().directory(Path.of("/nonexistent/umh-dir")).build())
                    .backoff(Duration.ofMillis(10), Duration.ofMillis(10), 0).restartLimit(2, Duration.ofMinutes(1))
                    .listener(ev).start());
            assertTrue(e.getMessage().contains("gave up after 2 restarts"), e.getMessage());
            assertEquals("restarting 1", ev.next());
            assertEquals("restarting 2", ev.next());
            assertTrue(ev.next().startsWith("failed umh service umh-blob gave up after 2 restarts"));
        }
    }

    /** After close: no umh-service thread, the umh-timer thread gone once idle, every fd released. */
    @Test
    void nothingIsLeftAfterClose() throws Exception {
        int fds = TestBlobs.openFds();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodeService s = UsermodeService.builder(blob).name("leak-check")
                     .healthCheck(ch -> ch.call(bytes("ping")), Duration.ofMillis(10), Duration.ofSeconds(10)).start()) {
            assertTrue(threadNames().contains("umh-service-leak-check"));
            s.call(bytes("hello"));
        }
        assertFalse(threadNames().contains("umh-service-leak-check"));
        Await.until("the umh-timer thread to end", WAIT, () -> !threadNames().contains("umh-timer"));
        TestBlobs.assertFds(fds);
        assertTrue(TestBlobs.zombieChildren().isEmpty());
    }

    private static List<String> threadNames() {
        List<String> names = new ArrayList<>();
        Thread.getAllStackTraces().keySet().forEach(t -> names.add(t.getName()));
        return names;
    }
}
