package io.umh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Who owns a helper's life: it outlives the thread that forked it, and dies with its JVM. */
@Timeout(120)
class LifetimeTest {
    /**
     * PR_SET_PDEATHSIG follows the thread that cloned the child. umh clones on its own long-lived
     * thread, so a helper forked from a thread that then exits must keep running.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void helperOutlivesTheThreadThatForkedIt(boolean killOnParentDeath) throws Exception {
        AtomicReference<UsermodeProcess> forked = new AtomicReference<>();
        AtomicReference<String> tid = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                tid.set(Files.readSymbolicLink(Paths.get("/proc/thread-self")).getFileName().toString());
                forked.set(Umh.forkUsermodeBlob(TestBlobs.bytes("cat"),
                        ForkOptions.builder().killOnParentDeath(killOnParentDeath).build()));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        t.start();
        t.join();
        // join returns before the OS thread is gone: wait for the kernel to be done with it
        Path task = Paths.get("/proc/self/task", tid.get());
        Await.until("the forking thread to be gone", () -> !Files.exists(task));
        try (UsermodeProcess p = forked.get()) {
            byte[] msg = "still here".getBytes(StandardCharsets.UTF_8);
            p.pipeToUmh().write(msg);
            p.pipeToUmh().close();
            assertArrayEquals(msg, p.pipeFromUmh().readAllBytes());
            assertEquals(0, p.waitFor());
        }
    }

    /** No thread per child: 1,000 live children add at most a couple of library threads. */
    @Test
    void thousandLiveChildrenAddAtMostTwoThreads() throws Exception {
        try (UsermodeProcess warm = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"))) {
            warm.waitFor();
        }
        int before = TestBlobs.threads();
        List<UsermodeProcess> children = new ArrayList<>();
        try (UsermodeBlob sleeper = Umh.load(TestBlobs.bytes("sleeper"))) {
            for (int i = 0; i < 1000; i++) {
                children.add(sleeper.fork());
            }
            for (UsermodeProcess p : children) {
                assertEquals(6, p.pipeFromUmh().readNBytes(6).length); // "ready": it runs
            }
            int during = TestBlobs.threads();
            assertTrue(during - before <= 2, "threads before " + before + ", with 1000 children " + during);
        } finally {
            for (UsermodeProcess p : children) {
                p.pipeToUmh().close(); // EOF: each exits 0
            }
            for (UsermodeProcess p : children) {
                assertEquals(0, p.waitFor());
                p.close();
            }
        }
        assertTrue(TestBlobs.zombieChildren().isEmpty());
    }

    /** SIGKILL the JVM: the kernel kills its helpers (PR_SET_PDEATHSIG), even one that ignores EOF and SIGTERM. */
    @Test
    void helperDiesWhenItsJvmIsKilled() throws Exception {
        assertDiesWithItsJvm("default");
    }

    /** Changing credentials clears PR_SET_PDEATHSIG; umh sets it after the change, so it still holds. */
    @Test
    void helperRunningAsAnotherUserDiesWhenItsJvmIsKilled() throws Exception {
        assumeTrue(TestBlobs.root(), "needs root");
        assertDiesWithItsJvm("user");
    }

    private static void assertDiesWithItsJvm(String mode) throws Exception {
        Process jvm = new ProcessBuilder(TestBlobs.javaCommand(List.of(), List.of(), ForkAndWait.class, mode))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long helper = -1;
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8));
            helper = Long.parseLong(r.readLine());
            assertTrue(TestBlobs.running(helper));
            jvm.destroyForcibly(); // SIGKILL: no shutdown hook, no finally
            jvm.waitFor();
            long h = helper;
            Await.until("helper " + h + " to die with its JVM", () -> !TestBlobs.running(h));
        } finally {
            jvm.destroyForcibly();
            if (helper > 0 && TestBlobs.running(helper)) { // a failed run must not leave it behind
                ProcessHandle.of(helper).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /** killOnParentDeath(false): the helper outlives a SIGKILLed JVM (and this test kills it itself). */
    @Test
    void withoutKillOnParentDeathTheHelperOutlivesItsJvm() throws Exception {
        Process jvm = new ProcessBuilder(TestBlobs.javaCommand(List.of(), List.of(), ForkAndWait.class, "survive"))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long helper = -1;
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8));
            helper = Long.parseLong(r.readLine());
            jvm.destroyForcibly();
            jvm.waitFor(); // every thread of that JVM is gone: a death signal would have been sent by now
            Thread.sleep(200); // a death that does not happen has no event: give it the time it would take
            assertTrue(TestBlobs.running(helper), "helper " + helper + " died with its JVM");
        } finally {
            jvm.destroyForcibly();
            if (helper > 0) {
                ProcessHandle.of(helper).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /**
     * Each lifetime, against each way a JVM ends: SIGKILL (no hook runs: only the kernel acts) and
     * a normal exit (System.exit: the shutdown hook runs). The helper ignores EOF and SIGTERM, so
     * only a SIGKILL, the kernel's or the hook's last step, ends it.
     */
    @ParameterizedTest(name = "{0}, JVM {1}")
    @CsvSource({
        "DIES_WITH_JVM, killed, dies",
        "DIES_WITH_JVM, exits, dies",
        "STOPPED_AT_SHUTDOWN, killed, survives",
        "STOPPED_AT_SHUTDOWN, exits, dies",
        "OUTLIVES_JVM, killed, survives",
        "OUTLIVES_JVM, exits, survives",
    })
    void eachLifetimeDoesWhatItSays(ForkOptions.Lifetime lifetime, String end, String fate) throws Exception {
        // a short hook grace: EOF and SIGTERM do nothing to this helper, SIGKILL follows 200 ms later
        Process jvm = new ProcessBuilder(TestBlobs.javaCommand(List.of(), List.of("-Dumh.shutdown.grace=200"),
                ForkAndWait.class, lifetime.name(), end)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long helper = -1;
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8));
            helper = Long.parseLong(r.readLine());
            assertTrue(TestBlobs.running(helper));
            if (end.equals("killed")) {
                jvm.destroyForcibly(); // SIGKILL: no shutdown hook, no finally
                jvm.waitFor();
            } else {
                assertEquals(0, jvm.waitFor()); // it exits by itself, after its hooks
            }
            long h = helper;
            if (fate.equals("dies")) {
                Await.until("helper " + h + " (" + lifetime + ") to end with its JVM", () -> !TestBlobs.running(h));
            } else {
                Thread.sleep(200); // a death that does not happen has no event: give it the time it would take
                assertTrue(TestBlobs.running(helper), "helper " + helper + " (" + lifetime + ") ended with its JVM");
            }
        } finally {
            jvm.destroyForcibly();
            if (helper > 0) {
                ProcessHandle.of(helper).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /** killOnParentDeath, pinned, is a lifetime: true DIES_WITH_JVM, false STOPPED_AT_SHUTDOWN. */
    @Test
    void killOnParentDeathIsALifetime() {
        assertEquals(ForkOptions.Lifetime.DIES_WITH_JVM, ForkOptions.defaults().lifetime());
        assertTrue(ForkOptions.defaults().killOnParentDeath());
        ForkOptions off = ForkOptions.builder().killOnParentDeath(false).build();
        assertEquals(ForkOptions.Lifetime.STOPPED_AT_SHUTDOWN, off.lifetime());
        assertFalse(off.killOnParentDeath());
        assertEquals(ForkOptions.Lifetime.STOPPED_AT_SHUTDOWN, off.toBuilder().build().lifetime());
        assertTrue(ForkOptions.builder().lifetime(ForkOptions.Lifetime.OUTLIVES_JVM).killOnParentDeath(true).build()
                .killOnParentDeath());
        assertFalse(ForkOptions.builder().lifetime(ForkOptions.Lifetime.OUTLIVES_JVM).build().killOnParentDeath());
    }

    /**
     * Main of the second JVM: fork a helper that ignores EOF and SIGTERM, print its pid, then wait
     * to be killed, or with a second argument "exits", exit normally.
     */
    public static final class ForkAndWait {
        public static void main(String[] args) throws Exception {
            // stderr discarded: a helper that wrongly survives must not hold the test run's stderr open
            ForkOptions.Builder o = ForkOptions.builder().args("-t", "-p").redirectError(ProcessBuilder.Redirect.DISCARD);
            if (args[0].equals("survive")) {
                o.killOnParentDeath(false);
            } else if (args[0].equals("user")) {
                o.user(65534, 65534);
            } else if (!args[0].equals("default")) {
                o.lifetime(ForkOptions.Lifetime.valueOf(args[0]));
            }
            UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), o.build());
            p.pipeFromUmh().readNBytes(6); // "ready"
            System.out.println(p.pid());
            System.out.flush();
            if (args.length > 1 && args[1].equals("exits")) {
                System.exit(0);
            }
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
