package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Load and soak, run by {@code mvn -Pstress verify} (and .ci/run), not by the plain test run:
 * afterwards no extra fd, no zombie, no live helper, every onExit completed, every waitFor returned.
 */
@Tag("stress")
class StressTest {
    private static final long SEED = Long.getLong("umh.seed", 7L);

    /** Our live children, zombie or not, from /proc. */
    private static List<Long> children() throws IOException {
        long self = ProcessHandle.current().pid();
        List<Long> kids = new ArrayList<>();
        try (Stream<Path> s = Files.list(Paths.get("/proc"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (name.chars().allMatch(Character::isDigit)) {
                    String stat = TestBlobs.stat(Long.parseLong(name));
                    if (stat != null && Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]) == self) {
                        kids.add(Long.parseLong(name));
                    }
                }
            }
        }
        return kids;
    }

    private static void assertClean(int fdsBefore) throws Exception {
        TestBlobs.assertFds(fdsBefore);
        assertEquals(List.of(), TestBlobs.zombieChildren());
        assertEquals(List.of(), children());
    }

    /** close() without a grace: SIGKILL at once, as close() did before it waited. */
    private static final ForkOptions KILL_AT_CLOSE = ForkOptions.builder().closeGrace(java.time.Duration.ZERO).build();

    /** 20,000 forks from 16 threads, each ended at a random moment in a random way. */
    @Test
    @Timeout(600)
    void twentyThousandForksFromSixteenThreads() throws Exception {
        TestBlobs.warmUp();
        int fdsBefore = TestBlobs.openFds();
        ConcurrentLinkedQueue<CompletableFuture<Process>> exits = new ConcurrentLinkedQueue<>();
        AtomicInteger waited = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try (UsermodeBlob sleeper = Umh.load(TestBlobs.bytes("sleeper"));
             UsermodeBlob exit = Umh.load(TestBlobs.bytes("exit"))) {
            List<Future<?>> tasks = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                Random random = new Random(SEED + t);
                tasks.add(pool.submit(() -> {
                    for (int i = 0; i < 1250; i++) {
                        int how = random.nextInt(6);
                        ForkOptions o = how == 0 ? KILL_AT_CLOSE : ForkOptions.defaults();
                        UsermodeProcess p = random.nextBoolean() ? sleeper.fork(o) : exit.fork(o);
                        exits.add(p.onExit());
                        switch (how) {
                            case 0: p.close(); break;                                // killed at once, maybe before exec'd work
                            case 5: p.close(); break;                                // EOF, waited for: each exits by itself
                            case 1: p.destroy(); p.close(); break;                   // SIGTERM, then close
                            case 2: p.destroyForcibly(); p.waitFor(); p.close(); break;
                            case 3: p.pipeToUmh().close(); p.waitFor(); p.close(); break; // EOF: sleeper exits 0
                            default: p.pipeFromUmh().read(); p.close(); break;       // after it said something (or EOF)
                        }
                        waited.incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> f : tasks) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(20_000, waited.get());
        assertEquals(20_000, exits.size());
        CompletableFuture.allOf(exits.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
        assertClean(fdsBefore);
    }

    /** Two minutes with 100 helpers alive at all times, one replaced at random every few milliseconds. */
    @Test
    @Timeout(600)
    void soakWithAHundredLiveHelpers() throws Exception {
        TestBlobs.warmUp();
        int fdsBefore = TestBlobs.openFds();
        int threadsBefore = TestBlobs.threads();
        long seconds = Long.getLong("umh.soak.seconds", 120);
        Random random = new Random(SEED);
        List<UsermodeProcess> live = new ArrayList<>();
        long replaced = 0;
        try (UsermodeBlob sleeper = Umh.load(TestBlobs.bytes("sleeper"))) {
            for (int i = 0; i < 100; i++) {
                live.add(sleeper.fork());
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < end) {
                int i = random.nextInt(live.size());
                UsermodeProcess old = live.get(i);
                if (random.nextBoolean()) {
                    old.pipeToUmh().close();
                    assertEquals(0, old.waitFor());
                }
                old.close();
                live.set(i, sleeper.fork());
                replaced++;
                assertTrue(TestBlobs.threads() <= threadsBefore + 2, "threads grew");
            }
        } finally {
            for (UsermodeProcess p : live) {
                p.close();
            }
        }
        assertTrue(replaced > 1000, "replaced only " + replaced);
        assertClean(fdsBefore);
    }
}
