package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Every java.lang.Process method, as the JDK documents it, on a real child. */
@Timeout(60)
class ProcessContractTest {
    /** A sleeper that has said "ready": it is running, and waits for EOF on stdin. */
    static UsermodeProcess sleeper(String... args) throws IOException {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), ForkOptions.builder().args(args).build());
        byte[] ready = p.pipeFromUmh().readNBytes(6);
        assertEquals("ready\n", new String(ready, StandardCharsets.US_ASCII));
        return p;
    }

    @Test
    void pidIsTheChildsAndItsParentIsThisJvm() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            assertTrue(p.pid() > 0);
            String stat = Files.readString(Paths.get("/proc/" + p.pid() + "/stat"));
            long ppid = Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
            assertEquals(ProcessHandle.current().pid(), ppid);
            assertEquals(p.pid(), p.toHandle().pid());
        }
    }

    @Test
    void aliveUntilStdinClosesThenExitValue() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            assertTrue(p.isAlive());
            assertThrows(IllegalThreadStateException.class, p::exitValue);
            assertFalse(p.waitFor(10, TimeUnit.MILLISECONDS));
            assertFalse(p.waitFor(0, TimeUnit.SECONDS));
            p.getOutputStream().close();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertFalse(p.isAlive());
            assertEquals(0, p.exitValue());
            assertEquals(0, p.waitFor());
            assertTrue(p.waitFor(0, TimeUnit.SECONDS));
        }
    }

    @Test
    void destroyIsSigtermAndDestroyForciblyIsSigkill() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            assertTrue(p.supportsNormalTermination());
            p.destroy();
            assertEquals(128 + 15, p.waitFor());
        }
        try (UsermodeProcess p = sleeper("-t")) { // ignores SIGTERM
            p.destroy();
            assertFalse(p.waitFor(100, TimeUnit.MILLISECONDS));
            assertSame(p, p.destroyForcibly());
            assertEquals(128 + 9, p.waitFor());
        }
    }

    @Test
    void destroyAfterExitIsHarmless() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder().args("3").build())) {
            assertEquals(3, p.waitFor());
            p.destroy();
            p.destroyForcibly();
            assertFalse(p.toHandle().destroy());
            assertEquals(3, p.exitValue());
        }
    }

    @Test
    void onExitCompletesWithTheProcess() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            var f = p.onExit();
            var h = p.toHandle().onExit();
            assertFalse(f.isDone());
            p.getOutputStream().close();
            assertSame(p, f.get(30, TimeUnit.SECONDS));
            assertEquals(p.pid(), h.get(30, TimeUnit.SECONDS).pid());
            assertSame(p, p.onExit().get(30, TimeUnit.SECONDS)); // after exit too
        }
    }

    @Test
    void handleActsThroughTheProcess() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            ProcessHandle h = p.toHandle();
            assertTrue(h.isAlive());
            assertTrue(h.supportsNormalTermination());
            assertEquals(ProcessHandle.current().pid(), h.parent().orElseThrow().pid());
            assertEquals(0, h.children().count());
            assertTrue(h.info().command().isPresent());
            assertEquals(h, p.toHandle());
            assertTrue(h.destroyForcibly());
            assertEquals(128 + 9, p.waitFor());
            assertFalse(h.isAlive());
        }
    }

    @Test
    void streamsAreThePipes() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            assertSame(p.pipeToUmh(), p.getOutputStream());
            assertSame(p.pipeFromUmh(), p.getInputStream());
            InputStream err = p.getErrorStream();
            assertEquals(-1, err.read()); // stderr is inherited: nothing to read here
        }
    }

    /** Without a close grace, close() kills at once (CloseTest has the grace); reaps; idempotent. */
    @Test
    void closeKillsReapsAndIsIdempotent() throws Exception {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), ForkOptions.builder()
                .args("-t", "-p").closeGrace(java.time.Duration.ZERO).build()); // ignores SIGTERM and EOF
        assertEquals("ready\n", new String(p.pipeFromUmh().readNBytes(6), StandardCharsets.US_ASCII));
        long pid = p.pid();
        p.close();
        assertFalse(p.isAlive());
        assertEquals(128 + 9, p.exitValue());
        assertFalse(TestBlobs.running(pid));
        assertTrue(TestBlobs.zombieChildren().isEmpty());
        assertThrows(IOException.class, () -> p.pipeToUmh().write(1));
        p.close();
        assertEquals(128 + 9, p.exitValue());
    }

    @Test
    void closeAfterExitKeepsTheStatus() throws Exception {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder().args("5").build());
        assertEquals(5, p.waitFor());
        p.close();
        assertEquals(5, p.exitValue());
    }

    @Test
    void waitForIsInterruptibleAndLeavesTheChildAlone() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, p::waitFor);
            assertTrue(p.isAlive());
            p.getOutputStream().close();
            assertEquals(0, p.waitFor());
        }
    }

    /**
     * waitFor first polls the pidfd on the calling thread (20 ms), with the reaper told to leave it
     * alone, then hands it back. An interrupt in that window, or a child that outlives it, must
     * leave the reaper watching: the child still completes, and nothing is left open.
     */
    @Test
    void interruptedWhileWaitingOnThePidfdThenTheReaperStillCompletes() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            Thread waiter = Thread.currentThread();
            Thread interrupter = new Thread(() -> {
                try { // polling the pidfd itself (the reaper told to leave it), or without pidfds parked
                    Await.until("waitFor under way", () -> !p.child().watchedByReaper()
                            || waiter.getState() == Thread.State.WAITING);
                } catch (Exception e) {
                    return;
                }
                waiter.interrupt();
            });
            interrupter.start();
            assertThrows(InterruptedException.class, p::waitFor);
            interrupter.join();
            assertTrue(p.isAlive());
            CompletableFuture<Process> exit = p.onExit();
            p.getOutputStream().close();
            // completed by the reaper: nobody waits on the pidfd now
            assertSame(p, exit.get(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
        }
    }

    @Test
    void aChildThatOutlivesTheDirectWaitIsLeftToTheReaper() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            assertFalse(p.waitFor(50, TimeUnit.MILLISECONDS)); // longer than the direct window
            Thread waiter = Thread.currentThread();
            Thread closer = new Thread(() -> {
                try { // past the direct window: parked until the reaper completes it
                    Await.until("waitFor to park", () -> waiter.getState() == Thread.State.WAITING);
                    p.getOutputStream().close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            closer.start();
            assertEquals(0, p.waitFor()); // polls 20 ms, then parks until the reaper completes it
            closer.join();
        }
    }

    @Test
    void severalThreadsWaitAtOnce() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Integer>> waits = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    waits.add(pool.submit(() -> p.waitFor()));
                }
                // one of them polls the pidfd itself (without pidfds, none does: the condition holds at once)
                Await.until("one waiter polling the pidfd", () -> !p.child().watchedByReaper());
                p.getOutputStream().close();
                for (Future<Integer> w : waits) {
                    assertEquals(0, w.get(30, TimeUnit.SECONDS));
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /** With pidfds (default) the reaper's epoll watches a pidfd; with -Dumh.pidfd=false a thread waits by pid. */
    @Test
    void trackedByPidfdOrByPidAsConfigured() throws Exception {
        boolean byPid = "false".equals(System.getProperty("umh.pidfd"));
        try (UsermodeProcess p = sleeper()) {
            boolean waiter = Thread.getAllStackTraces().keySet().stream()
                    .anyMatch(t -> t.getName().equals("umh-wait-" + p.pid()));
            long pidfds;
            try (var fds = Files.list(Paths.get("/proc/self/fd"))) {
                pidfds = fds.filter(f -> {
                    try {
                        return Files.readSymbolicLink(f).toString().contains("pidfd");
                    } catch (IOException gone) {
                        return false;
                    }
                }).count();
            }
            assertEquals(byPid, waiter);
            assertEquals(byPid, pidfds == 0, "pidfds open: " + pidfds);
        }
    }

    @Test
    void toStringSaysWhatItIs() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            assertEquals("UsermodeProcess[pid=" + p.pid() + ", exitValue=\"not exited\"]", p.toString()); // as the JDK's
            assertNotEquals(-1, p.pid());
            p.getOutputStream().close();
            p.waitFor();
            assertEquals("UsermodeProcess[pid=" + p.pid() + ", exitValue=0]", p.toString());
        }
    }

    /** Regression (issue 15): an exited child's status came with an InterruptedException to an interrupted thread. */
    @Test
    void waitForAnExitedChildIgnoresTheInterruptFlag() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder().args("4").build())) {
            p.onExit().get();
            Thread.currentThread().interrupt();
            try {
                assertEquals(4, p.waitFor());
                assertTrue(p.waitFor(1, TimeUnit.SECONDS));
                assertTrue(Thread.currentThread().isInterrupted(), "the flag stays set, as the JDK leaves it");
            } finally {
                Thread.interrupted();
            }
        }
    }

    /** Regression (issue 15): a timeout near Long.MIN_VALUE overflowed into a long wait. */
    @Test
    void aHugeNegativeTimeoutReturnsAtOnce() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            assertFalse(p.waitFor(Long.MIN_VALUE, TimeUnit.NANOSECONDS));
            assertFalse(p.waitFor(Long.MIN_VALUE + 1, TimeUnit.MILLISECONDS));
            assertFalse(p.waitFor(-1, TimeUnit.DAYS));
            assertTrue(p.isAlive());
        }
    }

    /**
     * Regression: info() read right after fork lacked the arguments (CI, JdkProcessHandleTest with
     * the JDK's java; 19 of 50 forks of the sleeper): fork returns before the kernel has set the new
     * argv. ProcessBuilder's start + info() had them in 300 of 300.
     */
    @Test
    void infoRightAfterForkHasTheArguments() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("sleeper"), "sleeper")) {
            for (int i = 0; i < 50; i++) {
                try (UsermodeProcess p = blob.fork(ForkOptions.builder().args("-p", "run " + i).build())) {
                    ProcessHandle.Info info = p.info();
                    assertEquals(List.of("-p", "run " + i), Arrays.asList(info.arguments().orElseThrow()), info.toString());
                    p.destroyForcibly();
                }
            }
        }
    }

    /** Regression (issue 15): an exited child's handle reported the JVM's own info. */
    @Test
    void anExitedChildsInfoIsEmptyAndHandlesCompareAsTheyEqual() throws Exception {
        UsermodeProcess a = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"));
        UsermodeProcess b = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"));
        try (a; b) {
            a.waitFor();
            ProcessHandle.Info info = a.toHandle().info();
            assertTrue(info.command().isEmpty() && info.arguments().isEmpty() && info.user().isEmpty()
                    && info.startInstant().isEmpty(), info.toString());
            assertEquals(0, a.toHandle().compareTo(a.toHandle()));
            assertEquals(Long.signum(a.pid() - b.pid()), Integer.signum(a.toHandle().compareTo(b.toHandle())));
            assertEquals(-Integer.signum(a.toHandle().compareTo(b.toHandle())), Integer.signum(b.toHandle().compareTo(a.toHandle())));
            assertThrows(ClassCastException.class, () -> a.toHandle().compareTo(ProcessHandle.current()));
        }
    }
}
