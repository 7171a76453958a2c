package io.umh.bench;

import io.umh.ForkOptions;
import io.umh.SandboxPolicy;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The sandbox targets' ratios, measured as {@link Interleaved} measures the spawn targets: each
 * round runs one spawn+wait of every contender, in an order that rotates from round to round, so
 * the shared machine's drift hits all alike. The contenders: the static exit blob loaded once and
 * forked unsandboxed, under {@link SandboxPolicy#strict()}, under strict() with the host's network
 * (no net namespace, but the resolver's files bound and the network calls allowed), under strict()
 * with those same files bound read-only (so that the two differ by the net namespace, nearly), and
 * the same bytes written once to a file, run by ProcessBuilder alone and by
 * {@code bwrap --unshare-all --die-with-parent} through ProcessBuilder, with only the file bound
 * into bwrap's empty root and with {@code --ro-bind / /}.
 *
 * <p>Each spawn is also timed until fork() (or start()) returned: for umh when the child's exec has
 * replaced its memory (the vfork clone's return), after all of the sandbox's setup; for ProcessBuilder
 * when the program it runs has exec'd (bwrap, before it makes its sandbox). The rest is the exec's end,
 * the program's run, its exit (the namespaces' teardown) and the wait.
 *
 * <p>The helper is {@code exit} (static glibc) unless HELPER names another of the jar's blobs:
 * {@code bare-exit} has no libc and no start-up code, so every contender's time is its spawn, its
 * sandbox and its wait alone (glibc's static start-up costs 0.6-1.2 ms per start on a VM whose
 * hypervisor traps CPUID, the same for every contender, which dilutes the ratios).
 *
 * <p>Usage: {@code SandboxInterleaved ROUNDS OUT.json [HELPER]} (benchmarks/sandbox.sh). Prints the ratios and
 * a summary; writes {"rounds": N, "support": Umh.sandboxSupport() as text, "strict_layers": what a
 * strict() child got, "contenders": {name: STATS}, "until_exec": {name: STATS}}, STATS as
 * Interleaved's (median_us, mean_us of the fastest 95%, p10_us, p90_us).
 */
public final class SandboxInterleaved {
    private static final String[] NAMES = {
        "umh_loaded", "umh_strict", "umh_strict_host_network", "umh_strict_binds",
        "process_builder", "bwrap", "bwrap_root_bind", "umh_strict_fresh"};

    private SandboxInterleaved() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2 && args.length != 3) {
            System.err.println("usage: SandboxInterleaved ROUNDS OUT.json [exit|bare-exit]");
            System.exit(2);
        }
        int rounds = Integer.parseInt(args[0]);
        String helper = args.length == 3 ? args[2] : "exit";
        byte[] bytes = Blobs.resource(helper);
        // what network(true) binds, bound read-only without it: strict_binds - strict is those binds'
        // cost, strict_host_network - strict_binds the net namespace's saving (less the network calls' rules)
        Path[] resolverFiles = List.of("/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/services", "/etc/gai.conf")
                .stream().map(Path::of).filter(Files::exists).toArray(Path[]::new);
        ForkOptions strict = SandboxBench.STRICT;
        ForkOptions hostNetwork = SandboxBench.STRICT_HOST_NETWORK;
        ForkOptions binds = ForkOptions.builder().sandbox(SandboxPolicy.builder().readOnly(resolverFiles).build()).build();
        // strict() with every namespace made per spawn, as an unprivileged JVM makes them (a root
        // JVM's policies otherwise join a mount and a network namespace made once)
        System.setProperty("umh.sandbox.fresh", "true");
        ForkOptions fresh = ForkOptions.builder().sandbox(SandboxPolicy.builder().build()).build();
        System.clearProperty("umh.sandbox.fresh");
        String support = Umh.sandboxSupport().toString();
        String layers;
        long[][] ns;
        long[][] forkNs;
        Path dir = Files.createTempDirectory("umh-bench");
        Path file = Blobs.writeExecutable(dir, helper, bytes);
        try (UsermodeBlob blob = Umh.load(bytes)) {
            try (var p = blob.fork(strict)) {
                layers = p.sandboxLayers().toString();
                if (p.waitFor() != 0) {
                    throw new IllegalStateException("strict(): exit status " + p.exitValue());
                }
            }
            ProcessBuilder pb = Blobs.processBuilder(file);
            ProcessBuilder bwrap = SandboxBench.bwrap(file, false);
            ProcessBuilder bwrapRoot = SandboxBench.bwrap(file, true);
            Spawn[] contenders = {
                () -> umh(blob, null),
                () -> umh(blob, strict),
                () -> umh(blob, hostNetwork),
                () -> umh(blob, binds),
                () -> processBuilder(pb),
                () -> processBuilder(bwrap),
                () -> processBuilder(bwrapRoot),
                () -> umh(blob, fresh),
            };
            long[][][] split = inTurns(contenders, Math.max(1, rounds / 10), rounds);
            forkNs = split[0];
            ns = split[1];
        } finally {
            Files.delete(file);
            Files.delete(dir);
        }
        System.out.printf(Locale.ROOT, "strict / loaded %.3f, strict host network / loaded %.3f, strict + binds / strict %.3f, "
                + "bwrap / strict %.2f, bwrap --ro-bind / / / strict %.2f, bwrap / ProcessBuilder %.2f, "
                + "strict made per spawn / loaded %.3f, bwrap / strict made per spawn %.2f%n",
                ratio(ns, 1, 0), ratio(ns, 2, 0), ratio(ns, 3, 1), ratio(ns, 5, 1), ratio(ns, 6, 1), ratio(ns, 5, 4),
                ratio(ns, 7, 0), ratio(ns, 5, 7));
        String stats = Interleaved.stats(NAMES, ns);
        System.out.println("until fork() (or start()) returned, the child exec'd:");
        String forkStats = Interleaved.stats(NAMES, forkNs);
        Files.writeString(Path.of(args[1]), "{\"rounds\": " + rounds + ", \"helper\": " + json(helper) + ", \"support\": " + json(support)
                + ", \"strict_layers\": " + json(layers) + ", \"contenders\": " + stats
                + ", \"until_exec\": " + forkStats + "}\n");
    }

    /** One spawn+wait: {ns until fork() or start() returned (the child has exec'd), ns to the end}. */
    private interface Spawn {
        long[] run() throws Exception;
    }

    private static long[] umh(UsermodeBlob blob, ForkOptions options) throws Exception {
        long start = System.nanoTime();
        UsermodeProcess p = options == null ? blob.fork() : blob.fork(options);
        long forked = System.nanoTime() - start;
        return ended(start, forked, SpawnBench.run(p));
    }

    /** As Blobs.runToEnd, timed. */
    private static long[] processBuilder(ProcessBuilder pb) throws Exception {
        long start = System.nanoTime();
        Process p = pb.start();
        long forked = System.nanoTime() - start;
        int status;
        try {
            status = p.waitFor();
        } finally {
            p.getOutputStream().close();
            p.getInputStream().close();
        }
        return ended(start, forked, status);
    }

    private static long[] ended(long start, long forked, int status) {
        long t = System.nanoTime() - start;
        if (status != 0) {
            throw new IllegalStateException("exit status " + status);
        }
        return new long[] {forked, t};
    }

    /**
     * rounds rounds of one spawn+wait of each contender, in an order that rotates, after warm
     * rounds: {until exec, whole}[contender][round] ns.
     */
    private static long[][][] inTurns(Spawn[] contenders, int warm, int rounds) throws Exception {
        for (int r = 0; r < warm; r++) {
            for (Spawn c : contenders) {
                c.run();
            }
        }
        long[][][] ns = new long[2][contenders.length][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < contenders.length; k++) {
                int i = (r + k) % contenders.length;
                long[] t = contenders[i].run();
                ns[0][i][r] = t[0];
                ns[1][i][r] = t[1];
            }
        }
        return ns;
    }

    private static double ratio(long[][] ns, int num, int den) {
        return Interleaved.median(ns[num]) / Interleaved.median(ns[den]);
    }

    private static String json(String s) {
        return s.chars().mapToObj(c -> c == '"' || c == '\\' ? "\\" + (char) c
                : c < 0x20 ? String.format(Locale.ROOT, "\\u%04x", c) : String.valueOf((char) c))
                .collect(Collectors.joining("", "\"", "\""));
    }
}
