package io.umh.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.umh.ForkOptions;
import io.umh.Umh;
import io.umh.UsermodeProcess;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Warmup;

/** Time to first byte through a cat helper, 256 MiB through it both ways at once, and load cost. */
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class PipeBench {
    static final int MIB_256 = 256 << 20;
    static final ForkOptions MIB_PIPES = ForkOptions.builder().pipeSize(1 << 20).build();

    /** Fork cat, write one byte, read it back, close, wait. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int firstByteUmh(States.Loaded l) throws Exception {
        try (UsermodeProcess p = l.cat.fork()) {
            return echoOneByte(p.getOutputStream(), p.getInputStream(), p);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public int firstByteProcessBuilder(States.OnDisk d) throws Exception {
        Process p = d.cat.start();
        try {
            return echoOneByte(p.getOutputStream(), p.getInputStream(), p);
        } finally {
            p.getInputStream().close();
        }
    }

    private static int echoOneByte(OutputStream out, InputStream in, Process p) throws Exception {
        out.write('x');
        out.flush();
        int b = in.read();
        out.close();
        return b + p.waitFor();
    }

    /** 256 MiB written and read at once through cat; the report turns ms/op into MiB/s. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2)
    @Measurement(iterations = 8)
    public long throughputUmh(States.Loaded l) throws Exception {
        try (UsermodeProcess p = l.cat.fork()) {
            return pump(p.getOutputStream(), p.getInputStream());
        }
    }

    /** The same with 1 MiB pipes ({@code pipeSize}); the floor has a line with 1 MiB pipes too. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2)
    @Measurement(iterations = 8)
    public long throughputUmhMibPipes(States.Loaded l) throws Exception {
        try (UsermodeProcess p = l.cat.fork(MIB_PIPES)) {
            return pump(p.getOutputStream(), p.getInputStream());
        }
    }

    /**
     * The same pipes through their FileChannels and direct buffers: no copy between the Java heap
     * and the kernel, as in C. What byte[] streams cost on top is the difference to throughputUmh.
     */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2)
    @Measurement(iterations = 8)
    public long throughputUmhChannels(States.Loaded l) throws Exception {
        try (UsermodeProcess p = l.cat.fork()) {
            return pumpChannels(p.getOutputStream().getChannel(), p.getInputStream().getChannel());
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2)
    @Measurement(iterations = 8)
    public long throughputProcessBuilder(States.OnDisk d) throws Exception {
        Process p = d.cat.start();
        try {
            return pump(p.getOutputStream(), p.getInputStream());
        } finally {
            p.getInputStream().close();
            p.waitFor();
        }
    }

    private static long pump(OutputStream out, InputStream in) throws Exception {
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            byte[] chunk = new byte[1 << 16];
            try (out) {
                for (int sent = 0; sent < MIB_256; sent += chunk.length) {
                    out.write(chunk);
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        byte[] buf = new byte[1 << 16];
        long got = 0;
        for (int n; (n = in.read(buf)) > 0; ) {
            got += n;
        }
        writer.join();
        if (got != MIB_256) {
            throw new IllegalStateException("short transfer: " + got);
        }
        return got;
    }

    private static long pumpChannels(WritableByteChannel out, ReadableByteChannel in) throws Exception {
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 16);
            try (out) {
                for (int sent = 0; sent < MIB_256; sent += chunk.capacity()) {
                    chunk.clear();
                    while (chunk.hasRemaining()) {
                        out.write(chunk);
                    }
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 16);
        long got = 0;
        for (int n; (n = in.read(buf.clear())) > 0; ) {
            got += n;
        }
        writer.join();
        if (got != MIB_256) {
            throw new IllegalStateException("short transfer: " + got);
        }
        return got;
    }

    /** memfd_create + copy + seal of a blob of this many bytes. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long load(LoadSizes s) throws Exception {
        try (var blob = Umh.load(s.bytes)) {
            return blob.size();
        }
    }

    @org.openjdk.jmh.annotations.State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public static class LoadSizes {
        @Param({"65536", "1048576", "16777216", "134217728"})
        public int size;
        public byte[] bytes;

        @org.openjdk.jmh.annotations.Setup
        public void setUp() {
            bytes = new byte[size];
            System.arraycopy(Blobs.EXIT, 0, bytes, 0, Math.min(size, Blobs.EXIT.length));
        }
    }
}
