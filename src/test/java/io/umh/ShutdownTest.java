package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import io.umh.service.UsermodeService;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** JVM shutdown gives every live helper a graceful stop, bounded by -Dumh.shutdown.grace. */
@Timeout(120)
class ShutdownTest {
    /** A JVM running {@link Helpers} with these helpers, and what it printed up to "up". */
    private static final class Jvm {
        final Process process;
        final BufferedReader out;
        final List<Long> pids = new ArrayList<>();

        Jvm(String grace, String mode, String... helpers) throws Exception {
            List<String> args = new ArrayList<>(List.of(mode));
            args.addAll(List.of(helpers));
            process = new ProcessBuilder(TestBlobs.javaCommand(List.of(), List.of("-D" + ShutdownHook.PROPERTY + "=" + grace),
                    Helpers.class, args.toArray(new String[0]))).redirectErrorStream(true).start();
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            for (String line; !(line = out.readLine()).equals("up"); ) {
                pids.add(Long.parseLong(line));
            }
        }

        /** Everything it and its helpers wrote after "up", once all of them have closed the pipe. */
        String rest() {
            return out.lines().collect(Collectors.joining("\n"));
        }
    }

    /**
     * SIGTERM to the JVM: the helper that exits at EOF gets EOF, the one that needs SIGTERM gets it
     * after half the grace, and the one that ignores both is killed at the end of the grace, which
     * the JVM waited for and did not exceed by much.
     */
    @Test
    void sigtermToTheJvmStopsEachHelperAtTheRightStep() throws Exception {
        Duration grace = Duration.ofSeconds(2);
        Jvm jvm = new Jvm(grace.toString(), "wait", "-", "-t", "-i");
        long start = System.nanoTime();
        jvm.process.toHandle().destroy(); // SIGTERM; Process.destroy would also close our end of its output
        assertEquals(128 + 15, jvm.process.waitFor());
        long elapsed = System.nanoTime() - start;
        String rest = jvm.rest();
        assertTrue(rest.contains("graceful " + jvm.pids.get(0) + ": EOF"), rest);
        assertTrue(rest.contains("graceful " + jvm.pids.get(1) + ": SIGTERM"), rest);
        assertFalse(rest.contains("graceful " + jvm.pids.get(0) + ": SIGTERM"), rest);
        assertFalse(TestBlobs.running(jvm.pids.get(2)));
        assertTrue(elapsed >= grace.toNanos(), "shutdown took " + elapsed / 1_000_000 + " ms");
        assertTrue(elapsed < grace.plusSeconds(20).toNanos(), "shutdown took " + elapsed / 1_000_000 + " ms");
    }

    /** System.exit with helpers that exit at EOF: the hook returns once they have, not after a minute. */
    @Test
    void systemExitWaitsOnlyAsLongAsTheHelpersNeed() throws Exception {
        long start = System.nanoTime();
        Jvm jvm = new Jvm("60000", "exit", "-", "-");
        assertEquals(7, jvm.process.waitFor());
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(30).toNanos());
        String rest = jvm.rest();
        for (long pid : jvm.pids) {
            assertTrue(rest.contains("graceful " + pid + ": EOF"), rest);
        }
    }

    /** A service whose policy restarts every exit does not restart the helper the shutdown hook stopped. */
    @Test
    void noRestartDuringShutdown() throws Exception {
        Jvm jvm = new Jvm("PT10S", "service");
        assertEquals(7, jvm.process.waitFor());
        String rest = jvm.rest();
        long pid = jvm.pids.get(0);
        assertTrue(rest.contains("graceful " + pid + ": EOF"), rest);
        assertTrue(rest.contains("event: exited " + pid + " 0\nevent: stopped"), rest);
        assertFalse(rest.contains("restarting"), rest);
    }

    /**
     * The hook's last step ({@link ShutdownHook#retireThreads}): the spawners and the reaper leave
     * native code, where the JVM's exit would wait ~300 ms for them (see benchmarks/coldstart.sh's
     * whole-JVM figure). The spawners park, the reaper sleeps between polls, and umh still works: a
     * helper running across it is seen to exit by the reaper, a fork after it runs, and one forked
     * then from a thread that ends dies with that thread (its clone was made there).
     */
    @Test
    void theHookTakesUmhsThreadsOutOfNativeCodeAndForksStillWork() throws Exception {
        assertEquals("spawners WAITING\nreaper TIMED_WAITING\nrunning across it 0\nforked after it 3\n"
                + "forked after it by a thread that ended " + (128 + 9) + "\n", retired(List.of()));
    }

    /**
     * The same with no fd left for the reaper's wake-up (EMFILE at the eventfd, RLIMIT_NOFILE 512 and
     * every fd taken): the spawners still leave, the reaper stays in epoll_wait until its next
     * event, the helper's exit, and polls from then on; nothing else changes.
     */
    @Test
    void withoutAnFdForTheWakeUpTheReaperRetiresAtItsNextEvent() throws Exception {
        assertEquals("spawners WAITING\nreaper in io.umh.Native.epollWait0\nrunning across it 0\nreaper TIMED_WAITING\nforked after it 3\n"
                + "forked after it by a thread that ended " + (128 + 9) + "\n", retired(List.of("emfile")));
    }

    /**
     * A JVM that loads a blob and never forks: the cleaner thread starts the spawner and reaper
     * threads once the shim is loaded (a first fork would otherwise wait for their starts), so it
     * registers the hook too, which takes them out of native code at exit, where HotSpot's exit
     * would wait ~300 ms for them: a hook of the JVM's own sees the spawner retired.
     */
    @Test
    void aJvmThatOnlyLoadsHasItsForkThreadsRetiredAtExit() throws Exception {
        Process jvm = new ProcessBuilder(TestBlobs.javaCommand(List.of(), List.of(), LoadOnly.class)).redirectErrorStream(true).start();
        String out = new String(jvm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, jvm.waitFor(), out);
        assertEquals("spawner in io.umh.Native.serveSpawns0\nreaper in io.umh.Native.epollWait0\nat exit: spawners WAITING\n", out);
    }

    /** Main of {@link #aJvmThatOnlyLoadsHasItsForkThreadsRetiredAtExit}. */
    public static final class LoadOnly {
        public static void main(String[] args) throws Exception {
            UsermodeBlob loaded = Umh.load(TestBlobs.bytes("exit")); // never forked
            System.out.println("spawner in " + Retired.awaitIn("umh-spawner", "io.umh.Native.serveSpawns0"));
            System.out.println("reaper in " + Retired.awaitIn("umh-reaper", "io.umh.Native.epollWait0"));
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    System.out.println("at exit: spawners " + Retired.await("umh-spawner", Thread.State.WAITING));
                } catch (InterruptedException e) {
                    System.out.println("at exit: interrupted");
                }
            }));
            java.lang.ref.Reference.reachabilityFence(loaded);
        }
    }

    /** What a {@link Retired} JVM printed, once it has exited 0. */
    private static String retired(List<String> args) throws Exception {
        List<String> prefix = args.isEmpty() ? List.of() : List.of("prlimit", "--nofile=512:512");
        Process jvm = new ProcessBuilder(TestBlobs.javaCommand(prefix, List.of(), Retired.class, args.toArray(new String[0])))
                .redirectErrorStream(true).start();
        String out = new String(jvm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, jvm.waitFor(), out);
        return out;
    }

    /** Main of the JVMs of {@link #theHookTakesUmhsThreadsOutOfNativeCodeAndForksStillWork}; {@code emfile}: no fd left at the retirement. */
    public static final class Retired {
        public static void main(String[] args) throws Exception {
            boolean emfile = args.length > 0 && args[0].equals("emfile");
            try (UsermodeBlob exit = Umh.load(TestBlobs.bytes("exit")); UsermodeBlob cat = Umh.load(TestBlobs.bytes("cat"))) {
                UsermodeProcess across = cat.fork();
                List<java.io.FileInputStream> taken = new ArrayList<>();
                try {
                    while (emfile) {
                        taken.add(new java.io.FileInputStream("/dev/null"));
                    }
                } catch (java.io.FileNotFoundException noFdLeft) {
                    // EMFILE: every fd taken
                }
                ShutdownHook.retireThreads();
                for (java.io.FileInputStream f : taken) {
                    f.close();
                }
                System.out.println("spawners " + await("umh-spawner", Thread.State.WAITING));
                if (emfile) { // not woken: still in epoll_wait, with nothing to wake it but the exit below
                    Thread.sleep(100);
                    System.out.println("reaper in " + inMethod("umh-reaper"));
                } else {
                    System.out.println("reaper " + await("umh-reaper", Thread.State.TIMED_WAITING));
                }
                across.pipeToUmh().close();
                System.out.println("running across it " + across.onExit().get(30, TimeUnit.SECONDS).exitValue());
                if (emfile) {
                    System.out.println("reaper " + await("umh-reaper", Thread.State.TIMED_WAITING));
                }
                try (UsermodeProcess p = exit.fork(ForkOptions.builder().args("3").build())) {
                    System.out.println("forked after it " + p.waitFor());
                }
                UsermodeProcess[] orphan = new UsermodeProcess[1];
                Thread t = new Thread(() -> {
                    try {
                        orphan[0] = cat.fork();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                t.start();
                t.join();
                System.out.println("forked after it by a thread that ended " + orphan[0].waitFor());
                orphan[0].close();
                across.close();
            }
        }

        /** The method the thread named {@code name} is in. */
        private static String inMethod(String name) {
            for (java.util.Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
                if (e.getKey().getName().equals(name) && e.getValue().length > 0) {
                    return e.getValue()[0].getClassName() + "." + e.getValue()[0].getMethodName();
                }
            }
            return "no thread " + name;
        }

        /** {@code method} once the thread named {@code name} is in it (within 10 s), or where it was. */
        static String awaitIn(String name, String method) throws InterruptedException {
            String seen = inMethod(name);
            for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); !seen.equals(method) && System.nanoTime() < end; Thread.sleep(1)) {
                seen = inMethod(name);
            }
            return seen;
        }

        /** The state every thread named prefix* reaches within 10 s (all of them), or what they were in. */
        static String await(String prefix, Thread.State want) throws InterruptedException {
            String seen = "no thread " + prefix;
            for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); System.nanoTime() < end; Thread.sleep(1)) {
                StringBuilder b = new StringBuilder();
                boolean all = true;
                int n = 0;
                for (java.util.Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
                    if (e.getKey().getName().startsWith(prefix)) {
                        n++;
                        all &= e.getKey().getState() == want;
                        b.append(e.getKey().getName()).append(' ').append(e.getKey().getState()).append(" at ")
                                .append(e.getValue().length > 0 ? e.getValue()[0] : "?").append("; ");
                    }
                }
                if (n > 0 && all) {
                    return want.toString();
                }
                seen = b.toString();
            }
            return seen;
        }
    }

    @Test
    void graceIsADurationOrMilliseconds() {
        assertEquals(Duration.ofMillis(1500), ShutdownHook.grace("PT1.5S"));
        assertEquals(Duration.ofMillis(250), ShutdownHook.grace("250"));
        assertEquals(Duration.ZERO, ShutdownHook.grace("0"));
        assertEquals(ShutdownHook.DEFAULT_GRACE, ShutdownHook.grace(null));
        assertEquals(ShutdownHook.DEFAULT_GRACE, ShutdownHook.grace("-PT1S"));
        assertEquals(ShutdownHook.DEFAULT_GRACE, ShutdownHook.grace("soon"));
    }

    /**
     * Main of the second JVM: {@code MODE FLAGS...} forks one graceful helper per FLAGS ("-" for
     * none), prints their pids and "up", then waits to be signalled (wait) or calls System.exit(7);
     * {@code service} runs one under a service instead.
     */
    public static final class Helpers {
        public static void main(String[] args) throws Exception {
            if (args[0].equals("service")) {
                service();
            }
            try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("graceful"))) {
                for (int i = 1; i < args.length; i++) {
                    ForkOptions o = args[i].equals("-") ? ForkOptions.defaults() : ForkOptions.builder().args(args[i]).build();
                    UsermodeProcess p = blob.fork(o);
                    p.pipeFromUmh().readNBytes(6); // "ready"
                    System.out.println(p.pid());
                }
            }
            System.out.println("up");
            System.out.flush();
            if (args[0].equals("exit")) {
                System.exit(7);
            }
            Thread.sleep(Long.MAX_VALUE);
        }

        /**
         * A service that restarts every exit, its events printed by a shutdown hook of our own
         * (up to "stopped" or "restarting"), then System.exit(7).
         */
        private static void service() throws Exception {
            BlockingQueue<String> events = new LinkedBlockingQueue<>();
            UsermodeService.Listener listener = new UsermodeService.Listener() {
                @Override
                public void exited(UsermodeProcess p, int status, Exception cause) {
                    events.add("exited " + p.pid() + " " + status);
                }

                @Override
                public void restarting(int restart, Duration delay) {
                    events.add("restarting");
                }

                @Override
                public void stopped() {
                    events.add("stopped");
                }
            };
            UsermodeBlob blob = Umh.load(TestBlobs.bytes("graceful"));
            UsermodeService s = UsermodeService.builder(blob).restart(UsermodeService.Restart.ALWAYS)
                    .backoff(Duration.ofMillis(1), Duration.ofMillis(1), 0).listener(listener)
                    .onStart(ch -> ch.process().pipeFromUmh().readNBytes(6), Duration.ofSeconds(30)).start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    for (String e; (e = events.poll(30, TimeUnit.SECONDS)) != null; ) {
                        System.out.println("event: " + e);
                        if (e.equals("stopped") || e.equals("restarting")) {
                            break;
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            System.out.println(s.process().pid());
            System.out.println("up");
            System.out.flush();
            System.exit(7);
        }
    }
}
