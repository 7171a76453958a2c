package io.umh.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.umh.Umh;
import io.umh.UsermodeProcess;
import io.umh.service.UsermodeChannel;

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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Framed calls of 64 bytes to one echo helper (the framed test blob, the same binary both ways),
 * from 1 and from 8 threads: umh's {@link UsermodeChannel} against ProcessBuilder with the framing
 * a user would write by hand ({@code DataOutputStream} over {@code BufferedOutputStream},
 * {@code DataInputStream} over {@code BufferedInputStream}, one {@code synchronized} call at a
 * time). Throughput gives calls per microsecond (x 10^6: calls/s), SampleTime the percentiles
 * (p99) of one call's latency in microseconds. Both contenders run in the same JMH run, named so
 * that each pair runs back to back (JMH goes in alphabetical order): their ratio is what to read.
 *
 * <p>{@code java -jar benchmarks/target/benchmarks.jar ChannelBench -f 3}
 */
@Fork(value = 3, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode({Mode.Throughput, Mode.SampleTime})
public class ChannelBench {
    static final int REQUEST = 64;

    /** One framed helper through umh's channel. */
    @State(Scope.Benchmark)
    public static class Umh1 {
        UsermodeProcess process;
        UsermodeChannel channel;
        final byte[] request = new byte[REQUEST];

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            process = Umh.forkUsermodeBlob(Blobs.FRAMED);
            channel = UsermodeChannel.open(process);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            channel.close();
            process.close();
        }
    }

    /** The same helper from a file, started by ProcessBuilder, framed by hand. */
    @State(Scope.Benchmark)
    public static class HandWritten {
        Path dir;
        Process process;
        DataOutputStream out;
        DataInputStream in;
        final byte[] request = new byte[REQUEST];

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = Files.createTempDirectory("umh-bench");
            process = Blobs.processBuilder(Blobs.writeExecutable(dir, "framed", Blobs.FRAMED)).start();
            out = new DataOutputStream(new BufferedOutputStream(process.getOutputStream()));
            in = new DataInputStream(new BufferedInputStream(process.getInputStream()));
        }

        synchronized byte[] call(byte[] request) throws IOException {
            out.writeInt(request.length);
            out.write(request);
            out.flush();
            byte[] reply = new byte[in.readInt()];
            in.readFully(reply);
            return reply;
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            out.close();
            process.waitFor();
            in.close();
            Files.delete(dir.resolve("framed"));
            Files.delete(dir);
        }
    }

    @Benchmark
    @Threads(1)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public byte[] oneThreadUmh(Umh1 s) throws IOException {
        return s.channel.call(s.request);
    }

    @Benchmark
    @Threads(1)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public byte[] oneThreadHandWritten(HandWritten s) throws IOException {
        return s.call(s.request);
    }

    @Benchmark
    @Threads(8)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public byte[] eightThreadsUmh(Umh1 s) throws IOException {
        return s.channel.call(s.request);
    }

    @Benchmark
    @Threads(8)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public byte[] eightThreadsHandWritten(HandWritten s) throws IOException {
        return s.call(s.request);
    }
}
