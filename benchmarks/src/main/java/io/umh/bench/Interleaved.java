package io.umh.bench;

import io.umh.ForkOptions;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;
import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The spawn targets' ratios, measured one spawn at a time in turn: each round runs one spawn+wait
 * of every contender, in an order that rotates from round to round, the C floor's in a
 * {@code umh-floor ... turns} process that waits for its turn on a pipe. Drift on a shared machine
 * (+-15% within minutes here) hits all contenders alike, so medians over a few thousand rounds
 * compare what JMH runs minutes apart cannot. Each spawn is timed where it runs (the C floor's by
 * itself); the turn-taking is outside every timed section.
 *
 * <p>The 4 GB-heap target is measured the same way, by two more JVMs that take their turns like the
 * C floor: one with JMH {@code BigHeap}'s heap ({@code -Xms6g -Xmx6g -XX:+AlwaysPreTouch}, 4 GB of it
 * touched), one with the default heap and nothing touched. Each runs umh's loaded spawn and the C
 * floor's calls through JNI, four contenders of the same rounds; the two JVMs differ only in their
 * heap, where this one also runs the other contenders and the turns.
 *
 * <p>Then the pipe-throughput target, in turns too: 256 MiB written and read at once through cat by
 * the C floor, by umh's streams and its FileChannels, and by ProcessBuilder's streams
 * ({@link PipeBench}'s benchmark bodies), 40 rounds ({@code -Dumh.bench.transferRounds}) after two
 * of warm-up.
 *
 * <p>Usage: {@code Interleaved UMH_FLOOR EXIT_BLOB CAT_BLOB ROUNDS OUT.json}. Prints a summary; writes
 * {"rounds": N, "contenders": {name: STATS}, "transfer_rounds": M, "transfers": {name: STATS}}, STATS
 * being {"median_us", "mean_us" (the fastest 95%), "p10_us", "p90_us"}.
 * {@code Interleaved --peer GIB} is such a JVM, GIB GiB touched: it reads a byte per turn from stdin
 * ('l': umh loaded, 'j': the C floor's calls through JNI) and prints the spawn's time in ns on a line.
 */
public final class Interleaved {
    private static final String[] NAMES = {
        "floor_loaded", "floor_one_shot", "jni_floor", "umh_loaded", "umh_loaded_here", "umh_one_shot",
        "umh_loaded_4g", "jni_floor_4g", "umh_loaded_small", "jni_floor_small"};
    private static final String[] TRANSFERS = {"floor", "umh_streams", "umh_channels", "process_builder"};
    /** 40 rounds of ~0.2 s each (15 gave medians 0.78-1.08 of the floor over 5 JVMs); -Dumh.bench.transferRounds=N. */
    private static final int TRANSFER_ROUNDS = Integer.getInteger("umh.bench.transferRounds", 40);

    private Interleaved() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("--peer")) {
            servePeer(Integer.parseInt(args[1]));
            return;
        }
        if (args.length != 5) {
            System.err.println("usage: Interleaved UMH_FLOOR EXIT_BLOB CAT_BLOB ROUNDS OUT.json | Interleaved --peer GIB");
            System.exit(2);
        }
        int rounds = Integer.parseInt(args[3]);
        long[][] ns;
        long[][] transfers;
        try (Peer floor = new Peer(new ProcessBuilder(args[0], args[1], args[2], "turns"));
             Peer bigHeap = new Peer(peerJvm(4, "-Xms6g", "-Xmx6g", "-XX:+AlwaysPreTouch"));
             Peer smallHeap = new Peer(peerJvm(0));
             UsermodeBlob blob = Umh.load(Blobs.EXIT)) {
            // warm-up: JIT, page cache, the reaper and spawner threads
            ns = inTurns(contenders(blob, floor, bigHeap, smallHeap), rounds / 10, rounds);
            transfers = transfers(floor);
        }
        System.out.printf(Locale.ROOT, "umh_loaded / floor_loaded %.3f, umh_one_shot / floor_one_shot %.3f, "
                + "jni_floor / floor_loaded %.3f, umh_loaded / umh_loaded_here %.3f, umh 4 GB / small heap peer %.3f, "
                + "JNI floor 4 GB / small heap peer %.3f; transfer time, umh streams / floor %.3f%n",
                ratio(ns, 3, 0), ratio(ns, 5, 1), ratio(ns, 2, 0), ratio(ns, 3, 4), ratio(ns, 6, 8), ratio(ns, 7, 9),
                ratio(transfers, 1, 0));
        Files.writeString(Path.of(args[4]), "{\"rounds\": " + rounds + ", \"contenders\": " + stats(NAMES, ns)
                + ", \"transfer_rounds\": " + TRANSFER_ROUNDS + ", \"transfers\": " + stats(TRANSFERS, transfers) + "}\n");
    }

    /** rounds rounds of one run of each contender, in an order that rotates, after warm rounds: [contender][round] ns. */
    private static long[][] inTurns(Contender[] contenders, int warm, int rounds) throws Exception {
        for (int r = 0; r < warm; r++) {
            for (Contender c : contenders) {
                c.run();
            }
        }
        long[][] ns = new long[contenders.length][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < contenders.length; k++) {
                int i = (r + k) % contenders.length;
                ns[i][r] = contenders[i].run();
            }
        }
        return ns;
    }

    /** The 256 MiB transfers in turns (TRANSFERS' order). */
    private static long[][] transfers(Peer floor) throws Exception {
        PipeBench bench = new PipeBench();
        States.Loaded loaded = new States.Loaded();
        States.OnDisk onDisk = new States.OnDisk();
        loaded.setUp();
        try {
            onDisk.setUp();
            try {
                return inTurns(new Contender[] {
                    () -> Long.parseLong(floor.ask("t")),
                    () -> timed(() -> bench.throughputUmh(loaded) == PipeBench.MIB_256 ? 0 : 1),
                    () -> timed(() -> bench.throughputUmhChannels(loaded) == PipeBench.MIB_256 ? 0 : 1),
                    () -> timed(() -> bench.throughputProcessBuilder(onDisk) == PipeBench.MIB_256 ? 0 : 1),
                }, 2, TRANSFER_ROUNDS);
            } finally {
                onDisk.tearDown();
            }
        } finally {
            loaded.tearDown();
        }
    }

    /** This class again as a peer: a JVM with these flags and gib GiB of its heap touched. */
    private static ProcessBuilder peerJvm(int gib, String... jvmFlags) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(jvmFlags));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path")));
        for (String p : new String[] {"umh.floor.jni", "umh.native.path"}) {
            if (System.getProperty(p) != null) {
                cmd.add("-D" + p + "=" + System.getProperty(p));
            }
        }
        cmd.add(Interleaved.class.getName());
        cmd.add("--peer");
        cmd.add(Integer.toString(gib));
        return new ProcessBuilder(cmd);
    }

    /** A peer's side of the turns: the same spawns as the driver's, with gib GiB touched (as JMH's BigHeap). */
    private static void servePeer(int gib) throws Exception {
        byte[][] heap = States.BigHeap.touched(gib);
        int jniMemfd = jniFloorMemfd();
        try (UsermodeBlob blob = Umh.load(Blobs.EXIT)) {
            System.out.println("ready");
            System.out.flush();
            int cmd;
            while ((cmd = System.in.read()) >= 0) {
                long t = timed(cmd == 'l' ? () -> SpawnBench.run(blob.fork()) : () -> JniFloor.spawnWait(jniMemfd));
                System.out.println(t);
                System.out.flush();
            }
        }
        Reference.reachabilityFence(heap);
    }

    /** One spawn+wait, or one transfer: its time in ns. */
    private interface Contender {
        long run() throws Exception;
    }

    private static int jniFloorMemfd() {
        int memfd = JniFloor.load(Blobs.EXIT);
        if (memfd < 0) {
            throw new IllegalStateException("JniFloor.load: -errno " + memfd);
        }
        return memfd;
    }

    private static Contender[] contenders(UsermodeBlob blob, Peer floor, Peer bigHeap, Peer smallHeap) throws IOException {
        ForkOptions here = ForkOptions.builder().killOnParentDeath(false).build();
        int jniMemfd = jniFloorMemfd();
        bigHeap.awaitReady();
        smallHeap.awaitReady();
        return new Contender[] {
            () -> Long.parseLong(floor.ask("l")),
            () -> Long.parseLong(floor.ask("o")),
            () -> timed(() -> JniFloor.spawnWait(jniMemfd)),
            () -> timed(() -> SpawnBench.run(blob.fork())),
            () -> timed(() -> SpawnBench.run(blob.fork(here))),
            () -> timed(() -> SpawnBench.run(Umh.forkUsermodeBlob(Blobs.EXIT))),
            () -> Long.parseLong(bigHeap.ask("l")),
            () -> Long.parseLong(bigHeap.ask("j")),
            () -> Long.parseLong(smallHeap.ask("l")),
            () -> Long.parseLong(smallHeap.ask("j")),
        };
    }

    private interface Spawn {
        int spawnWait() throws Exception;
    }

    private static long timed(Spawn s) throws Exception {
        long start = System.nanoTime();
        int status = s.spawnWait();
        long t = System.nanoTime() - start;
        if (status != 0) {
            throw new IllegalStateException("exit status " + status);
        }
        return t;
    }

    static double median(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double ratio(long[][] ns, int num, int den) {
        return median(ns[num]) / median(ns[den]);
    }

    /** {name: {median_us, mean_us (the fastest 95%), p10_us, p90_us}, ...}, and the same printed. */
    static String stats(String[] names, long[][] ns) {
        List<String> entries = new ArrayList<>();
        for (int i = 0; i < names.length; i++) {
            long[] s = ns[i].clone();
            Arrays.sort(s);
            int n = s.length;
            double median = s[n / 2] / 1e3;
            double mean = Arrays.stream(s, 0, Math.max(1, n * 95 / 100)).average().orElse(Double.NaN) / 1e3;
            entries.add(String.format(Locale.ROOT, "\"%s\": {\"median_us\": %.1f, \"mean_us\": %.1f, \"p10_us\": %.1f, \"p90_us\": %.1f}",
                    names[i], median, mean, s[n / 10] / 1e3, s[n * 9 / 10] / 1e3));
            System.out.printf(Locale.ROOT, "%-16s median %10.1f us  mean (fastest 95%%) %10.1f us%n", names[i], median, mean);
        }
        return "{" + String.join(", ", entries) + "}";
    }
}
