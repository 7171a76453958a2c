package io.umh.bench;

import io.umh.ForkOptions;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;

/**
 * Spawns per second from 1, 2, 4 and 8 threads forking at once (spawn + waitFor of the static
 * exit blob), with one spawner against a pool, and the time each spawner spends suspended in vfork
 * per spawn: does the spawner limit the JVM's spawns?
 *
 * <p>The pool size is fixed at a JVM's start ({@code -Dumh.spawners}), so each contender is a peer
 * JVM of its own, and the peers take turns, as in {@link Interleaved}: each round gives every
 * peer, in an order that rotates, one batch per thread count, a batch being SPAWNS spawn+waits
 * split evenly over T threads released at once (8 threads started once per peer; T of them work).
 * Drift on a shared machine then hits every contender alike. The contenders:
 * <ul>
 *   <li>{@code umh_1}: {@code -Dumh.spawners=1}, the single spawner of before;
 *   <li>{@code umh_pool}: the default pool (grows up to the CPU count);
 *   <li>{@code umh_pool_8}: {@code -Dumh.spawners=8}, more spawners than this machine's cores;
 *   <li>{@code umh_here}: {@code killOnParentDeath(false)}, cloned on the calling thread: no spawner at all;
 *   <li>{@code process_builder}: the same bytes on disk through ProcessBuilder (posix_spawn on the calling thread).
 * </ul>
 *
 * <p>The spawners' time in vfork is umh's own counter ({@code Native.spawnerStats}, read here by
 * reflection: it is for benchmarks and tests, not an API): CLOCK_MONOTONIC read by each spawner
 * around each clone, which returns when the child has exec'd. A thread's CPU time (/proc/.../stat)
 * would not show it (a vfork parent sleeps) and /proc/.../schedstat counts run and runqueue time
 * only; two vDSO clock reads per spawn (~50 ns) are nothing beside a 100+ us spawn.
 *
 * <p>Usage: {@code SpawnerScaling ROUNDS SPAWNS OUT.json}. Prints a table; writes
 * {"rounds", "spawns_per_batch", "cpus", "contenders": {name: {"T": STATS}}}, STATS being
 * {"spawns_per_s": {median, p10, p90}, "cpu_us_per_spawn" (the peer JVM's CPU time and its reaped
 * children's over the batches, per spawn: 10 ms ticks), "vfork_us_per_spawn", "queued_us_per_spawn",
 * "busiest_spawner_busy" (median over rounds of the busiest spawner's time in vfork / the batch's
 * wall time), "spawners": [{"spawns", "vfork_us_per_spawn"}, ...]}.
 * {@code SpawnerScaling --peer KIND} is a peer: reads "T N" lines, runs N spawn+waits on each of T
 * threads at once, prints "WALL_NS CPU_NS JOINED (SPAWNS CLONE_NS QUEUED_NS)..." (the spawners' counters
 * over the batch).
 */
public final class SpawnerScaling {
    private static final int[] THREADS = {1, 2, 4, 8};
    private static final String[] NAMES = {"umh_1", "umh_pool", "umh_pool_8", "umh_here", "process_builder"};
    private static final String[][] FLAGS = {{"-Dumh.spawners=1"}, {}, {"-Dumh.spawners=8"}, {}, {}};
    private static final String[] KINDS = {"spawner", "spawner", "spawner", "here", "pb"};

    private SpawnerScaling() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("--peer")) {
            new PeerSide(args[1]).serve();
            return;
        }
        if (args.length != 3) {
            System.err.println("usage: SpawnerScaling ROUNDS SPAWNS OUT.json | SpawnerScaling --peer spawner|here|pb");
            System.exit(2);
        }
        int rounds = Integer.parseInt(args[0]);
        int spawns = Integer.parseInt(args[1]);
        Batch[][][] batches = new Batch[NAMES.length][THREADS.length][rounds];
        List<Peer> peers = new ArrayList<>();
        try {
            for (int i = 0; i < NAMES.length; i++) {
                peers.add(new Peer(peerJvm(KINDS[i], FLAGS[i])));
            }
            for (Peer p : peers) {
                p.awaitReady();
            }
            for (int r = -1; r < rounds; r++) { // round -1: warm-up, thrown away (JIT, and the pools grown)
                for (int t = 0; t < THREADS.length; t++) {
                    for (int k = 0; k < NAMES.length; k++) {
                        int i = (Math.max(r, 0) + k) % NAMES.length;
                        Batch b = batch(peers.get(i), THREADS[t], spawns / THREADS[t]);
                        if (r >= 0) {
                            batches[i][t][r] = b;
                        }
                    }
                }
            }
        } finally {
            for (Peer p : peers) {
                p.close();
            }
        }
        String json = report(batches, rounds, spawns);
        Files.writeString(Path.of(args[2]), json + "\n");
    }

    /** One spawn+wait: the exit status. */
    private interface Spawn {
        int spawnWait() throws Exception;
    }

    /** One batch as a peer measured it: wall time, and each spawner's counters over it. */
    private static final class Batch {
        final int threads;
        final int spawns;
        final long wallNs;
        final long cpuNs; // the peer's and its reaped children's, 10 ms ticks
        final int joined;
        final long[][] spawners; // [spawner][SPAWNS, CLONE_NS, QUEUED_NS]

        Batch(int threads, int spawns, String line) {
            this.threads = threads;
            this.spawns = spawns;
            String[] f = line.trim().split(" ");
            wallNs = Long.parseLong(f[0]);
            cpuNs = Long.parseLong(f[1]);
            joined = Integer.parseInt(f[2]);
            spawners = new long[joined][3];
            for (int s = 0; s < joined; s++) {
                for (int j = 0; j < 3; j++) {
                    spawners[s][j] = Long.parseLong(f[3 + s * 3 + j]);
                }
            }
        }

        double perSecond() {
            return spawns * 1e9 / wallNs;
        }

        /** The busiest spawner's time in vfork over the batch's wall time (0 without spawners). */
        double busiest() {
            return Arrays.stream(spawners).mapToDouble(s -> (double) s[1] / wallNs).max().orElse(0);
        }
    }

    private static String report(Batch[][][] batches, int rounds, int spawns) {
        int cpus = Runtime.getRuntime().availableProcessors();
        System.out.printf(Locale.ROOT, "%d rounds of %d spawn+waits per batch, %d CPUs%n", rounds, spawns, cpus);
        System.out.printf(Locale.ROOT, "%-16s %3s %10s %8s %8s %8s %9s %9s %8s  %s%n", "contender", "T", "spawns/s",
                "p10", "p90", "cpu us", "vfork us", "queue us", "busiest", "per spawner: spawns, vfork us/spawn");
        List<String> contenders = new ArrayList<>();
        for (int i = 0; i < NAMES.length; i++) {
            List<String> perThreads = new ArrayList<>();
            for (int t = 0; t < THREADS.length; t++) {
                Batch[] bs = batches[i][t];
                double[] rate = Arrays.stream(bs).mapToDouble(Batch::perSecond).sorted().toArray();
                double[] busy = Arrays.stream(bs).mapToDouble(Batch::busiest).sorted().toArray();
                int joined = Arrays.stream(bs).mapToInt(b -> b.joined).max().orElse(0);
                long[][] sum = new long[joined][3];
                for (Batch b : bs) {
                    for (int s = 0; s < b.joined; s++) {
                        for (int j = 0; j < 3; j++) {
                            sum[s][j] += b.spawners[s][j];
                        }
                    }
                }
                long served = Arrays.stream(sum).mapToLong(s -> s[0]).sum();
                double cpu = Arrays.stream(bs).mapToLong(b -> b.cpuNs).sum() / 1e3 / Arrays.stream(bs).mapToLong(b -> b.spawns).sum();
                double vfork = served == 0 ? 0 : Arrays.stream(sum).mapToLong(s -> s[1]).sum() / 1e3 / served;
                double queued = served == 0 ? 0 : Arrays.stream(sum).mapToLong(s -> s[2]).sum() / 1e3 / served;
                List<String> each = new ArrayList<>();
                StringBuilder printed = new StringBuilder();
                for (long[] s : sum) {
                    double us = s[0] == 0 ? 0 : s[1] / 1e3 / s[0];
                    each.add(String.format(Locale.ROOT, "{\"spawns\": %d, \"vfork_us_per_spawn\": %.1f}", s[0], us));
                    printed.append(String.format(Locale.ROOT, " %d,%.0f", s[0], us));
                }
                System.out.printf(Locale.ROOT, "%-16s %3d %10.0f %8.0f %8.0f %8.0f %9.1f %9.1f %8.3f %s%n", NAMES[i], THREADS[t],
                        median(rate), rate[rate.length / 10], rate[rate.length * 9 / 10], cpu, vfork, queued, median(busy), printed);
                perThreads.add(String.format(Locale.ROOT, "\"%d\": {\"spawns_per_s\": {\"median\": %.0f, \"p10\": %.0f, \"p90\": %.0f}, \"cpu_us_per_spawn\": %.0f, "
                        + "\"vfork_us_per_spawn\": %.1f, \"queued_us_per_spawn\": %.1f, \"busiest_spawner_busy\": %.3f, \"spawners\": [%s]}",
                        THREADS[t], median(rate), rate[rate.length / 10], rate[rate.length * 9 / 10], cpu, vfork, queued, median(busy),
                        String.join(", ", each)));
            }
            contenders.add("\"" + NAMES[i] + "\": {" + String.join(", ", perThreads) + "}");
        }
        for (int t = 0; t < THREADS.length; t++) {
            System.out.printf(Locale.ROOT, "T=%d: umh_pool / umh_1 %.3f, umh_pool_8 / umh_1 %.3f, umh_pool / process_builder %.3f, "
                    + "umh_pool / umh_here %.3f%n", THREADS[t], ratio(batches, 1, 0, t), ratio(batches, 2, 0, t),
                    ratio(batches, 1, 4, t), ratio(batches, 1, 3, t));
        }
        return String.format(Locale.ROOT, "{\"rounds\": %d, \"spawns_per_batch\": %d, \"cpus\": %d, \"contenders\": {%s}}",
                rounds, spawns, cpus, String.join(", ", contenders));
    }

    private static double median(double[] sorted) {
        return sorted[sorted.length / 2];
    }

    /** The median over rounds of contender a's spawns/s over contender b's in the same round. */
    private static double ratio(Batch[][][] batches, int a, int b, int t) {
        double[] r = new double[batches[a][t].length];
        for (int i = 0; i < r.length; i++) {
            r[i] = batches[a][t][i].perSecond() / batches[b][t][i].perSecond();
        }
        Arrays.sort(r);
        return median(r);
    }

    private static ProcessBuilder peerJvm(String kind, String... jvmFlags) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(List.of(jvmFlags));
        if (System.getProperty("umh.native.path") != null) {
            cmd.add("-Dumh.native.path=" + System.getProperty("umh.native.path"));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), SpawnerScaling.class.getName(), "--peer", kind));
        return new ProcessBuilder(cmd);
    }


    /** One batch on a peer: "T N" (T threads each forking N) to it, its counters back. */
    private static Batch batch(Peer peer, int threads, int perThread) throws IOException {
        return new Batch(threads, threads * perThread, peer.ask(threads + " " + perThread + "\n"));
    }

    /** A peer's side: 8 worker threads, started once, and the spawners' counters read around each batch. */
    private static final class PeerSide {
        private final String kind;
        private final CyclicBarrier start = new CyclicBarrier(THREADS[THREADS.length - 1] + 1);
        private final CyclicBarrier end = new CyclicBarrier(THREADS[THREADS.length - 1] + 1);
        private volatile int threads;
        private volatile int perThread;
        private final Method stats;
        private final int fields;
        private final int max;
        private final int[] order; // SPAWNER_SPAWNS, SPAWNER_CLONE_NS, SPAWNER_QUEUED_NS: the order printed

        PeerSide(String kind) throws ReflectiveOperationException {
            this.kind = kind;
            Class<?> nativeClass = Class.forName("io.umh.Native");
            stats = nativeClass.getDeclaredMethod("spawnerStats", long[].class);
            stats.setAccessible(true);
            Class<?> abi = Class.forName("io.umh.Abi");
            fields = constant(abi, "SPAWNER_FIELDS");
            max = constant(abi, "SPAWNERS_MAX");
            order = new int[] {constant(abi, "SPAWNER_SPAWNS"), constant(abi, "SPAWNER_CLONE_NS"), constant(abi, "SPAWNER_QUEUED_NS")};
        }

        private static int constant(Class<?> c, String name) throws ReflectiveOperationException {
            Field f = c.getDeclaredField(name);
            f.setAccessible(true);
            return f.getInt(null);
        }

        void serve() throws Exception {
            Path dir = Files.createTempDirectory("umh-spawners");
            Path exitFile = Blobs.writeExecutable(dir, "exit", Blobs.EXIT);
            ProcessBuilder pb = Blobs.processBuilder(exitFile);
            ForkOptions here = ForkOptions.builder().killOnParentDeath(false).build();
            try (UsermodeBlob blob = Umh.load(Blobs.EXIT)) {
                Spawn spawn = kind.equals("pb") ? () -> Blobs.runToEnd(pb)
                        : kind.equals("here") ? () -> SpawnBench.run(blob.fork(here)) : () -> SpawnBench.run(blob.fork());
                for (int w = 0; w < THREADS[THREADS.length - 1]; w++) {
                    int index = w;
                    Thread t = new Thread(() -> work(index, spawn), "worker-" + w);
                    t.setDaemon(true);
                    t.start();
                }
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
                System.out.println("ready");
                System.out.flush();
                for (String line; (line = in.readLine()) != null;) {
                    String[] f = line.trim().split(" ");
                    System.out.println(batch(Integer.parseInt(f[0]), Integer.parseInt(f[1])));
                    System.out.flush();
                }
            } finally {
                Files.deleteIfExists(exitFile);
                Files.deleteIfExists(dir);
            }
        }

        private void work(int index, Spawn spawn) {
            try {
                for (;;) {
                    start.await();
                    if (index < threads) {
                        for (int i = 0; i < perThread; i++) {
                            int status = spawn.spawnWait();
                            if (status != 0) {
                                throw new IllegalStateException("exit status " + status);
                            }
                        }
                    }
                    end.await();
                }
            } catch (Throwable e) {
                System.err.println("worker " + index + ": " + e);
                System.exit(1);
            }
        }

        private String batch(int t, int n) throws Exception {
            threads = t;
            perThread = n;
            long[] before = counters();
            long cpuBefore = cpuTicks();
            long begin = System.nanoTime();
            start.await();
            end.await();
            long wall = System.nanoTime() - begin;
            long cpu = cpuTicks() - cpuBefore;
            long[] after = counters();
            // a caller wakes at its child's exec, its spawner a moment later: let the last ones count
            for (int ms = 0; kind.equals("spawner") && served(after) - served(before) < (long) t * n && ms < 1000; ms++) {
                Thread.sleep(1);
                after = counters();
            }
            int joined = (int) after[0];
            StringBuilder s = new StringBuilder().append(wall).append(' ').append(cpu * 10_000_000L).append(' ').append(joined);
            for (int i = 0; i < joined; i++) {
                for (int field : order) {
                    int at = 1 + i * fields + field;
                    s.append(' ').append(after[at] - before[at]);
                }
            }
            return s.toString();
        }

        /**
         * This JVM's CPU time and its reaped children's (utime, stime, cutime, cstime of
         * /proc/self/stat) in ticks of USER_HZ, 100 a second on Linux whatever the kernel's HZ:
         * what a spawn+wait costs in CPU, which the neighbours of a shared machine do not inflate.
         */
        private static long cpuTicks() throws IOException {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
        }

        /** {joined, then fields longs per spawner} */
        private long[] counters() throws ReflectiveOperationException {
            long[] out = new long[max * fields];
            int joined = (int) stats.invoke(null, (Object) out);
            long[] r = new long[1 + max * fields];
            r[0] = joined;
            System.arraycopy(out, 0, r, 1, out.length);
            return r;
        }

        private long served(long[] counters) {
            long sum = 0;
            for (int i = 0; i < counters[0]; i++) {
                sum += counters[1 + i * fields + order[0]];
            }
            return sum;
        }
    }
}
