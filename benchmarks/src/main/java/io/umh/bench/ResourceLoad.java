package io.umh.bench;

import io.umh.ForkOptions;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The streaming-load target, in turns: the 77 MB static ffmpeg that {@code ws.schild:jave-nativebin-linux64:3.5.0}
 * ships (its jar on the class path, as the JAVE2 library has it) made runnable from its resource,
 * by {@code Umh.loadResource} into a memfd, and as JAVE2 and everyone else does it today: the
 * resource stream copied to a file in java.io.tmpdir ({@code Files.copy}), then chmod. One of each
 * per round, the order alternating, in one JVM; besides its time each load's heap allocation is
 * counted ({@code ThreadMXBean.getThreadAllocatedBytes} of this thread around it). A third,
 * {@code Umh.load(Path)} of a file extracted once (the kernel's copy), shows what inflating the
 * jar entry costs. What is undone after each (the blob closed, the file deleted) is outside the time.
 *
 * <p>Usage: {@code ResourceLoad ROUNDS OUT.json} (run by benchmarks/resource-load.sh). Prints a
 * summary; writes {"rounds": N, "size": BYTES, "contenders": {name: {"median_ms", "p10_ms", "p90_ms",
 * "median_cpu_ms", "median_alloc_bytes", "max_alloc_bytes"}}, "ratio": umh / extract of the
 * medians, "round_ratio_median": the median of each round's umh / extract, "cpu_ratio": the same
 * of the loading thread's CPU time (user + system; the page cache's writeback, off this thread,
 * is not in it)}.
 */
public final class ResourceLoad {
    static final String RESOURCE = "/ws/schild/jave/nativebin/ffmpeg-amd64";
    private static final String[] NAMES = {"umh_load_resource", "extract_to_tmpdir", "umh_load_path"};
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private ResourceLoad() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: ResourceLoad ROUNDS OUT.json (with the jave-nativebin-linux64 jar on the class path)");
            System.exit(2);
        }
        int rounds = Integer.parseInt(args[0]);
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        Path extracted = extract(tmp);
        long size = Files.size(extracted);
        try {
            System.out.println(version());
            Contender[] contenders = {
                () -> {
                    UsermodeBlob blob = Umh.loadResource(ResourceLoad.class, RESOURCE);
                    return blob::close;
                },
                () -> {
                    Path file = extract(tmp);
                    return () -> Files.delete(file);
                },
                () -> {
                    UsermodeBlob blob = Umh.load(extracted);
                    return blob::close;
                },
            };
            long[][] ns = new long[contenders.length][rounds];
            long[][] cpu = new long[contenders.length][rounds];
            long[][] alloc = new long[contenders.length][rounds];
            for (int r = -3; r < rounds; r++) { // 3 rounds of warm-up
                for (int k = 0; k < contenders.length; k++) {
                    int i = (r & 1) == 0 ? k : contenders.length - 1 - k;
                    long tid = Thread.currentThread().getId();
                    long a0 = THREADS.getThreadAllocatedBytes(tid);
                    long c0 = THREADS.getCurrentThreadCpuTime();
                    long t0 = System.nanoTime();
                    Undo undo = contenders[i].load();
                    long t = System.nanoTime() - t0;
                    long c = THREADS.getCurrentThreadCpuTime() - c0;
                    long a = THREADS.getThreadAllocatedBytes(tid) - a0;
                    undo.run();
                    if (r >= 0) {
                        ns[i][r] = t;
                        cpu[i][r] = c;
                        alloc[i][r] = a;
                    }
                }
            }
            double ratio = Interleaved.median(ns[0]) / Interleaved.median(ns[1]);
            double roundRatio = medianRatio(ns[0], ns[1]);
            double cpuRatio = Interleaved.median(cpu[0]) / Interleaved.median(cpu[1]);
            System.out.printf(Locale.ROOT, "%,d bytes; umh_load_resource / extract_to_tmpdir: %.3f (ratio of the medians), "
                    + "%.3f (median of the %d rounds' ratios), CPU time of the loading thread %.3f%n",
                    size, ratio, roundRatio, rounds, cpuRatio);
            Files.writeString(Path.of(args[1]), "{\"rounds\": " + rounds + ", \"size\": " + size + ", \"contenders\": "
                    + stats(ns, cpu, alloc) + String.format(Locale.ROOT,
                    ", \"ratio\": %.4f, \"round_ratio_median\": %.4f, \"cpu_ratio\": %.4f}%n", ratio, roundRatio, cpuRatio));
        } finally {
            Files.delete(extracted);
        }
    }

    /** What a load leaves to undo once its time is taken. */
    private interface Undo {
        void run() throws IOException;
    }

    private interface Contender {
        Undo load() throws IOException;
    }

    /** The resource to an executable file in {@code dir}, as JAVE2's DefaultFFMPEGLocator extracts it. */
    private static Path extract(Path dir) throws IOException {
        Path file = Files.createTempFile(dir, "ffmpeg-amd64-", "");
        try (InputStream in = ResourceLoad.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("no " + RESOURCE + ": put the jave-nativebin-linux64 jar on the class path");
            }
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    /** The first line of {@code ffmpeg -version}, run from the memfd: the loaded bytes are the program. */
    private static String version() throws Exception {
        try (UsermodeBlob blob = Umh.loadResource(ResourceLoad.class, RESOURCE);
             UsermodeProcess p = blob.fork(ForkOptions.builder().args("-version").build())) {
            p.pipeToUmh().close();
            String out = new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0 || !out.startsWith("ffmpeg version")) {
                throw new IllegalStateException("ffmpeg -version from " + blob + ": status " + p.exitValue() + ": " + out);
            }
            return blob + ": " + out.lines().findFirst().orElse("");
        }
    }

    /** The median of a[r] / b[r] over the rounds r. */
    private static double medianRatio(long[] a, long[] b) {
        double[] q = new double[a.length];
        for (int r = 0; r < a.length; r++) {
            q[r] = (double) a[r] / b[r];
        }
        Arrays.sort(q);
        return q[q.length / 2];
    }

    private static String stats(long[][] ns, long[][] cpu, long[][] alloc) {
        List<String> entries = new ArrayList<>();
        for (int i = 0; i < NAMES.length; i++) {
            long[] s = ns[i].clone();
            long[] a = alloc[i].clone();
            Arrays.sort(s);
            Arrays.sort(a);
            int n = s.length;
            double cpuMs = Interleaved.median(cpu[i]) / 1e6;
            entries.add(String.format(Locale.ROOT, "\"%s\": {\"median_ms\": %.1f, \"p10_ms\": %.1f, \"p90_ms\": %.1f, "
                    + "\"median_cpu_ms\": %.1f, \"median_alloc_bytes\": %d, \"max_alloc_bytes\": %d}",
                    NAMES[i], s[n / 2] / 1e6, s[n / 10] / 1e6, s[n * 9 / 10] / 1e6, cpuMs, a[n / 2], a[n - 1]));
            System.out.printf(Locale.ROOT, "%-18s median %8.1f ms (p10 %.1f, p90 %.1f), CPU %.1f ms; heap allocated: median %,d B, max %,d B%n",
                    NAMES[i], s[n / 2] / 1e6, s[n / 10] / 1e6, s[n * 9 / 10] / 1e6, cpuMs, a[n / 2], a[n - 1]);
        }
        return "{" + String.join(", ", entries) + "}";
    }
}
