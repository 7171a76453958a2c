package io.umh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The spawner pool (Spawner.java, umh_spawner.c): helpers forked at once from many short-lived
 * threads are cloned by several long-lived spawners, outlive the threads that asked for them, and
 * die with the JVM; the pool grows under concurrent spawns, up to -Dumh.spawners, and never
 * shrinks. The pool's own tests run in a second JVM, whose pool starts empty, and which is gone
 * with its helpers, fds and all, at the end of each.
 */
@Timeout(120)
class SpawnerPoolTest {
    /** 32 threads fork 2 helpers each at once, then exit; the helpers live on, until their JVM is SIGKILLed. */
    @Test
    void helpersFromShortLivedThreadsOutliveThemAndDieWithTheJvm() throws Exception {
        Process jvm = new ProcessBuilder(TestBlobs.javaCommand(List.of(), List.of("-D" + Spawner.PROPERTY + "=4"),
                Pool.class, "helpers", "32", "2")).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<Long> helpers = new ArrayList<>();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8));
            for (String pid : field(r.readLine(), "helpers").split(" ")) {
                helpers.add(Long.parseLong(pid));
            }
            List<String> spawners = spawners(field(r.readLine(), "spawners"));
            int serving = Integer.parseInt(field(r.readLine(), "serving"));
            assertEquals(64, helpers.size());
            // printed once every forking thread was gone from /proc/<jvm>/task
            for (long h : helpers) {
                assertTrue(TestBlobs.running(h), "helper " + h + " died with the thread that forked it");
            }
            assertTrue(spawners.size() >= 2 && spawners.size() <= 4, spawners.toString());
            assertTrue(serving >= 2, "helpers cloned by " + serving + " of " + spawners);
            jvm.destroyForcibly(); // SIGKILL: no shutdown hook, no finally
            jvm.waitFor();
            for (long h : helpers) {
                Await.until("helper " + h + " to die with its JVM", () -> !TestBlobs.running(h));
            }
        } finally {
            jvm.destroyForcibly();
            jvm.waitFor();
            for (long h : helpers) { // a failed run must not leave them behind
                ProcessHandle.of(h).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /**
     * Two rounds of 16 short-lived threads forking and waiting 10 times each, a second of idleness
     * between them: every spawn served once; the pool grows to 2..limit spawners (exactly one with
     * -Dumh.spawners=1), and the idle second and the second round take none away.
     */
    @ParameterizedTest(name = "-Dumh.spawners={0}")
    @CsvSource({"1, 1, 1", "3, 2, 3"})
    void thePoolGrowsUnderConcurrentSpawnsAndNeverShrinks(int limit, int least, int most) throws Exception {
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(), List.of("-D" + Spawner.PROPERTY + "=" + limit),
                Pool.class, "rounds", "16", "10"));
        List<String> lines = Arrays.asList(out.split("\n"));
        assertEquals(4, lines.size(), out);
        List<String> first = spawners(field(lines.get(0), "loaded"));
        List<String> idle = spawners(field(lines.get(1), "idle"));
        List<String> second = spawners(field(lines.get(2), "loaded"));
        assertTrue(first.size() >= least && first.size() <= most, out);
        assertEquals(first, idle, "an idle second took spawners away");
        assertTrue(second.containsAll(first) && second.size() <= most, out);
        assertEquals("spawns 321", lines.get(3), "every spawn (1 + 2 rounds of 16 x 10) served once: " + out);
    }

    /**
     * Forked at once from 16 threads that exit afterwards, each cat echoes its own bytes: nothing
     * crossed, nothing left (NothingLeaked: in this JVM only, as the second JVMs' JDK pipes would count).
     */
    @Test
    @ExtendWith(NothingLeaked.class)
    void shortLivedThreadsForkingAtOnceEachGetTheirOwnHelper() throws Exception {
        try (UsermodeBlob cat = Umh.load(TestBlobs.bytes("cat"))) {
            AtomicInteger echoed = new AtomicInteger();
            AtomicInteger numbers = new AtomicInteger();
            Pool.inThreads(16, () -> {
                int thread = numbers.getAndIncrement();
                for (int i = 0; i < 10; i++) {
                    byte[] payload = ("thread " + thread + " fork " + i).getBytes(StandardCharsets.UTF_8);
                    try (UsermodeProcess p = cat.fork()) {
                        p.pipeToUmh().write(payload);
                        p.pipeToUmh().close();
                        assertArrayEquals(payload, p.pipeFromUmh().readAllBytes());
                        assertEquals(0, p.waitFor());
                        echoed.incrementAndGet();
                    }
                }
            });
            assertEquals(160, echoed.get());
        }
    }

    /** -Dumh.spawners: a number from 1 to SPAWNERS_MAX; anything else is the CPU count (with a warning). */
    @Test
    void theLimitIsANumberFromOneToTheMaximumElseTheCpuCount() {
        assertEquals(3, Spawner.limit("3", 8));
        assertEquals(1, Spawner.limit(" 1 ", 8));
        assertEquals(Abi.SPAWNERS_MAX, Spawner.limit(String.valueOf(Abi.SPAWNERS_MAX), 8));
        assertEquals(8, Spawner.limit(null, 8));
        assertEquals(8, Spawner.limit("0", 8));
        assertEquals(8, Spawner.limit("-2", 8));
        assertEquals(8, Spawner.limit(String.valueOf(Abi.SPAWNERS_MAX + 1), 8));
        assertEquals(8, Spawner.limit("many", 8));
        assertEquals(Abi.SPAWNERS_MAX, Spawner.limit(null, 1000), "more CPUs than counters");
    }

    private static String field(String line, String name) {
        assertTrue(line != null && line.startsWith(name + " "), "expected '" + name + " ...', got " + line);
        return line.substring(name.length() + 1);
    }

    /** The spawner threads' names, checked: umh-spawner, umh-spawner-2, ... with none missing. */
    private static List<String> spawners(String names) {
        List<String> list = Arrays.asList(names.split(" "));
        for (int i = 0; i < list.size(); i++) {
            assertEquals(i == 0 ? "umh-spawner" : "umh-spawner-" + (i + 1), list.get(i), names);
        }
        return list;
    }

    /**
     * Main of the second JVM. {@code helpers THREADS FORKS}: THREADS threads fork FORKS helpers each
     * at once (sleepers that ignore EOF and SIGTERM) and exit; once they are gone from /proc, prints
     * "helpers PID...", "spawners NAME...", "serving N" (the spawners that cloned at least one), and
     * waits to be killed. {@code rounds THREADS FORKS}: one fork, then a round of THREADS threads
     * forking and waiting FORKS times each, prints "loaded NAME...", idles a second, prints "idle
     * NAME...", a second round, "loaded NAME...", then "spawns N" (served by all spawners), and exits.
     */
    public static final class Pool {
        public static void main(String[] args) throws Exception {
            int threads = Integer.parseInt(args[1]);
            int forks = Integer.parseInt(args[2]);
            if (args[0].equals("helpers")) {
                ForkOptions o = ForkOptions.builder().args("-t", "-p").redirectError(ProcessBuilder.Redirect.DISCARD).build();
                List<UsermodeProcess> helpers = Collections.synchronizedList(new ArrayList<>());
                try (UsermodeBlob sleeper = Umh.load(TestBlobs.bytes("sleeper"))) {
                    inThreads(threads, () -> {
                        for (int i = 0; i < forks; i++) {
                            UsermodeProcess p = sleeper.fork(o);
                            p.pipeFromUmh().readNBytes(6); // "ready"
                            helpers.add(p);
                        }
                    });
                }
                System.out.println("helpers " + helpers.stream().map(p -> String.valueOf(p.pid())).collect(Collectors.joining(" ")));
                System.out.println("spawners " + spawnerNames());
                long[] stats = new long[Abi.SPAWNERS_MAX * Abi.SPAWNER_FIELDS];
                int serving = 0;
                for (int i = 0, n = Native.spawnerStats(stats); i < n; i++) {
                    serving += stats[i * Abi.SPAWNER_FIELDS + Abi.SPAWNER_SPAWNS] > 0 ? 1 : 0;
                }
                System.out.println("serving " + serving);
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE);
            }
            try (UsermodeBlob exit = Umh.load(TestBlobs.bytes("exit"))) {
                try (UsermodeProcess p = exit.fork()) { // the first spawner, alone
                    check(p.waitFor());
                }
                Body round = () -> {
                    for (int i = 0; i < forks; i++) {
                        try (UsermodeProcess p = exit.fork()) {
                            check(p.waitFor());
                        }
                    }
                };
                inThreads(threads, round);
                System.out.println("loaded " + spawnerNames());
                Thread.sleep(1000);
                System.out.println("idle " + spawnerNames());
                inThreads(threads, round);
                System.out.println("loaded " + spawnerNames());
            }
            // a caller wakes at its child's exec, its spawner a moment later: let the last ones count
            long expected = 1 + 2L * threads * forks;
            Await.until("every spawn counted", () -> spawns() >= expected);
            System.out.println("spawns " + spawns());
        }

        private interface Body {
            void run() throws Exception;
        }

        private static void check(int status) {
            if (status != 0) {
                throw new AssertionError("exit exited " + status);
            }
        }

        /** Runs body on n new threads released at once; returns once every one of them is gone from /proc. */
        private static void inThreads(int n, Body body) throws Exception {
            CountDownLatch go = new CountDownLatch(1);
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<String> tids = new ConcurrentLinkedQueue<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < n; t++) {
                threads.add(new Thread(() -> {
                    try {
                        tids.add(Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString());
                        go.await();
                        body.run();
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            threads.forEach(Thread::start);
            go.countDown();
            for (Thread t : threads) {
                t.join();
            }
            if (!failures.isEmpty()) {
                AssertionError e = new AssertionError(failures.size() + " thread(s) failed");
                failures.forEach(e::addSuppressed);
                throw e;
            }
            // join returns before the OS thread is gone: wait for the kernel to be done with it
            for (String tid : tids) {
                Await.until("thread " + tid + " to be gone", () -> !Files.exists(Path.of("/proc/self/task", tid)));
            }
        }

        /** The live spawner threads' names, in the order they were started. */
        private static String spawnerNames() {
            return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().startsWith("umh-spawner"))
                    .map(Thread::getName)
                    .sorted((a, b) -> Integer.compare(number(a), number(b)))
                    .collect(Collectors.joining(" "));
        }

        private static int number(String name) {
            return name.equals("umh-spawner") ? 1 : Integer.parseInt(name.substring("umh-spawner-".length()));
        }

        private static long spawns() {
            long[] stats = new long[Abi.SPAWNERS_MAX * Abi.SPAWNER_FIELDS];
            long sum = 0;
            for (int i = 0, n = Native.spawnerStats(stats); i < n; i++) {
                sum += stats[i * Abi.SPAWNER_FIELDS + Abi.SPAWNER_SPAWNS];
            }
            return sum;
        }
    }
}
