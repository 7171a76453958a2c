package io.umh.bench;

import io.umh.ForkOptions;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The spawn targets' ratios, measured one spawn at a time in turn: each round runs one spawn+wait
 * of every contender, in an order that rotates from round to round, the C floor's in a
 * {@code umh-floor ... turns} process that waits for its turn on a pipe. Drift on a shared machine
 * (+-15% within minutes here) hits all contenders alike, so medians over a few thousand rounds
 * compare what JMH runs minutes apart cannot. Each spawn is timed where it runs (the C floor's by
 * itself); the turn-taking is outside every timed section.
 *
 * <p>Usage: {@code Interleaved UMH_FLOOR EXIT_BLOB ROUNDS OUT.json}. Prints a summary; writes
 * {"rounds": N, "contenders": {name: {"median_us", "mean_us" (the fastest 95%), "p10_us", "p90_us"}}}.
 */
public final class Interleaved {
    private static final String[] NAMES = {
        "floor_loaded", "floor_one_shot", "jni_floor", "umh_loaded", "umh_loaded_here", "umh_one_shot"};

    private Interleaved() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: Interleaved UMH_FLOOR EXIT_BLOB ROUNDS OUT.json");
            System.exit(2);
        }
        int rounds = Integer.parseInt(args[2]);
        Process floor = new ProcessBuilder(args[0], args[1], args[1], "turns")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long[][] ns = new long[NAMES.length][rounds];
        try (UsermodeBlob blob = Umh.load(Blobs.EXIT);
             OutputStream toFloor = floor.getOutputStream();
             BufferedReader fromFloor = new BufferedReader(new InputStreamReader(floor.getInputStream(), StandardCharsets.US_ASCII))) {
            Contender[] contenders = contenders(blob, toFloor, fromFloor);
            for (int r = 0; r < rounds / 10; r++) { // warm-up: JIT, page cache, the reaper and spawner threads
                for (Contender c : contenders) {
                    c.run();
                }
            }
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < contenders.length; k++) {
                    int i = (r + k) % contenders.length;
                    ns[i][r] = contenders[i].run();
                }
            }
        } finally {
            floor.waitFor(10, TimeUnit.SECONDS);
            floor.destroyForcibly();
        }
        Files.writeString(Path.of(args[3]), report(ns, rounds));
    }

    /** One spawn+wait: its time in ns. */
    private interface Contender {
        long run() throws Exception;
    }

    private static Contender[] contenders(UsermodeBlob blob, OutputStream toFloor, BufferedReader fromFloor) {
        ForkOptions here = ForkOptions.builder().killOnParentDeath(false).build();
        int jniMemfd = JniFloor.load(Blobs.EXIT);
        if (jniMemfd < 0) {
            throw new IllegalStateException("JniFloor.load: -errno " + jniMemfd);
        }
        return new Contender[] {
            () -> floorTurn(toFloor, fromFloor, 'l'),
            () -> floorTurn(toFloor, fromFloor, 'o'),
            () -> timed(() -> JniFloor.spawnWait(jniMemfd)),
            () -> timed(() -> SpawnBench.run(blob.fork())),
            () -> timed(() -> SpawnBench.run(blob.fork(here))),
            () -> timed(() -> SpawnBench.run(Umh.forkUsermodeBlob(Blobs.EXIT))),
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

    private static long floorTurn(OutputStream toFloor, BufferedReader fromFloor, char cmd) throws IOException {
        toFloor.write(cmd);
        toFloor.flush();
        String line = fromFloor.readLine();
        if (line == null) {
            throw new IOException("umh-floor turns: ended early");
        }
        return Long.parseLong(line.trim());
    }

    private static String report(long[][] ns, int rounds) {
        List<String> entries = new ArrayList<>();
        double[] median = new double[NAMES.length];
        for (int i = 0; i < NAMES.length; i++) {
            long[] s = ns[i].clone();
            Arrays.sort(s);
            median[i] = s[rounds / 2] / 1e3;
            double mean = Arrays.stream(s, 0, rounds * 95 / 100).average().orElse(Double.NaN) / 1e3;
            entries.add(String.format(Locale.ROOT, "\"%s\": {\"median_us\": %.1f, \"mean_us\": %.1f, \"p10_us\": %.1f, \"p90_us\": %.1f}",
                    NAMES[i], median[i], mean, s[rounds / 10] / 1e3, s[rounds * 9 / 10] / 1e3));
            System.out.printf(Locale.ROOT, "%-16s median %8.1f us  mean (fastest 95%%) %8.1f us%n", NAMES[i], median[i], mean);
        }
        System.out.printf(Locale.ROOT, "umh_loaded / floor_loaded %.3f, umh_one_shot / floor_one_shot %.3f, "
                + "jni_floor / floor_loaded %.3f, umh_loaded / umh_loaded_here %.3f%n",
                median[3] / median[0], median[5] / median[1], median[2] / median[0], median[3] / median[4]);
        return "{\"rounds\": " + rounds + ", \"contenders\": {" + String.join(", ", entries) + "}}\n";
    }
}
