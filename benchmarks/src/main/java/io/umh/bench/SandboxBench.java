package io.umh.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.umh.ForkOptions;
import io.umh.SandboxPolicy;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Spawn+wait of the static exit blob: unsandboxed, under {@link SandboxPolicy#strict()}, under
 * strict() with the host's network (no net namespace), and the same bytes on disk run by
 * {@code bwrap --unshare-all --die-with-parent} through ProcessBuilder. The ratios are judged by
 * {@link SandboxInterleaved} (benchmarks/sandbox.sh), which runs these in turns; JMH runs them
 * minutes apart, which this machine's drift makes worth little for a ratio.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class SandboxBench {
    static final ForkOptions STRICT = ForkOptions.builder().sandbox(SandboxPolicy.strict()).build();
    static final ForkOptions STRICT_HOST_NETWORK = ForkOptions.builder()
            .sandbox(SandboxPolicy.builder().network(true).build()).build();

    /** The exit blob on disk, once, and the bwrap command lines that run it. */
    @State(Scope.Benchmark)
    public static class Bwrap {
        public Path dir;
        /** Only the file bound into an empty root: the closest to strict()'s root. */
        public ProcessBuilder fileOnly;
        /** The host's root bound read-only, as SANDBOX.md measured. */
        public ProcessBuilder rootBind;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = Files.createTempDirectory("umh-bench");
            Path exit = Blobs.writeExecutable(dir, "exit", Blobs.EXIT);
            fileOnly = bwrap(exit, false);
            rootBind = bwrap(exit, true);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            Files.delete(dir.resolve("exit"));
            Files.delete(dir);
        }
    }

    /** {@code bwrap --unshare-all --die-with-parent} (--ro-bind FILE FILE, or --ro-bind / /) FILE. */
    static ProcessBuilder bwrap(Path file, boolean rootBind) {
        String f = file.toString();
        return new ProcessBuilder("bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", rootBind ? "/" : f,
                rootBind ? "/" : f, f).redirectError(ProcessBuilder.Redirect.INHERIT);
    }

    /** Unsandboxed, as SpawnBench.umhLoaded. */
    @Benchmark
    public int umhLoaded(States.Loaded l) throws Exception {
        return SpawnBench.run(l.exit.fork());
    }

    @Benchmark
    public int umhStrict(States.Loaded l) throws Exception {
        return SpawnBench.run(l.exit.fork(STRICT));
    }

    /** strict() but network(true): no net namespace, no Landlock TCP rules. */
    @Benchmark
    public int umhStrictHostNetwork(States.Loaded l) throws Exception {
        return SpawnBench.run(l.exit.fork(STRICT_HOST_NETWORK));
    }

    @Benchmark
    public int bwrap(Bwrap b) throws Exception {
        return Blobs.runToEnd(b.fileOnly);
    }

    @Benchmark
    public int bwrapRootBind(Bwrap b) throws Exception {
        return Blobs.runToEnd(b.rootBind);
    }
}
