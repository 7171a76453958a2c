package io.umh.bench;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import io.umh.Umh;
import io.umh.ForkOptions;
import io.umh.UsermodeBlob;
import io.umh.service.UsermodePool;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * CPU-bound framed calls (the framed test blob with {@code -b ROUNDS}: rounds of FNV-1a over each
 * 64-byte request before it replies: a call takes about 90 us at 1000, 0.8 ms at 10000, on one
 * helper here) from 4 threads, to a pool of
 * {@code size} helpers: the ratio of size 2 to size 1 is what a pool buys on a 2-core machine
 * (the target: >= 1.7x). Same code path both ways; only the pool's size differs.
 *
 * <p>{@code java -jar benchmarks/target/benchmarks.jar PoolBench -f 3}
 */
@Fork(value = 3, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class PoolBench {
    @Param({"1", "2"})
    int size;

    @Param({"1000", "10000"})
    int rounds;

    UsermodeBlob blob;
    UsermodePool pool;
    final byte[] request = new byte[64];

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        blob = Umh.load(Blobs.FRAMED, "framed");
        pool = UsermodePool.builder(blob).size(size)
                .options(ForkOptions.builder().args("-b", Integer.toString(rounds)).build()).start();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        blob.close();
    }

    @Benchmark
    @Threads(4)
    public byte[] cpuBoundCall() throws IOException {
        return pool.call(request);
    }
}
