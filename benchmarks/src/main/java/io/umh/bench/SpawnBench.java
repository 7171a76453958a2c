package io.umh.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.umh.Umh;
import io.umh.UsermodeProcess;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Spawn + wait of a tiny static program (and of a #!/bin/sh script) through every contender in
 * one run. Every contender gives the child a pipe on fd 0 and on fd 1, inherits stderr, and closes
 * its pipes at the end: the same work.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class SpawnBench {
    static int run(UsermodeProcess p) throws InterruptedException {
        try (p) {
            return p.waitFor();
        }
    }

    /** umh, blob loaded once. */
    @Benchmark
    public int umhLoaded(States.Loaded l) throws Exception {
        return run(l.exit.fork());
    }

    /** umh, blob loaded once, killOnParentDeath(false): cloned on this thread, no hand-off. */
    @Benchmark
    public int umhLoadedNoDeathSignal(States.Loaded l) throws Exception {
        return run(l.exit.fork(States.Loaded.NO_DEATH_SIGNAL));
    }

    /** The C floor's raw spawn+wait through JNI, in this JVM: what the JVM process itself costs. */
    @Benchmark
    public int jniFloor(States.JniLoaded l) {
        return jniSpawnWait(l);
    }

    static int jniSpawnWait(States.JniLoaded l) {
        int status = JniFloor.spawnWait(l.memfd);
        if (status != 0) {
            throw new IllegalStateException("jniFloor: wait status or -errno " + status);
        }
        return status;
    }

    /** umh, memfd created, filled and sealed every time. */
    @Benchmark
    public int umhOneShot() throws Exception {
        return run(Umh.forkUsermodeBlob(Blobs.EXIT));
    }

    /** ProcessBuilder on the same bytes already on disk (the JDK's default launch mechanism). */
    @Benchmark
    public int processBuilder(States.OnDisk d) throws Exception {
        return Blobs.runToEnd(d.exit);
    }

    /** What jar-embedded executables do today: extract to a temp file, chmod, ProcessBuilder, delete. */
    @Benchmark
    public int extractThenProcessBuilder(States.OnDisk d) throws Exception {
        Path f = Files.createTempFile(d.dir, "helper", "");
        try {
            Files.write(f, Blobs.EXIT);
            f.toFile().setExecutable(true, true);
            return Blobs.runToEnd(Blobs.processBuilder(f));
        } finally {
            Files.delete(f);
        }
    }

    @Benchmark
    public int umhLoadedScript(States.Loaded l) throws Exception {
        return run(l.script.fork());
    }

    @Benchmark
    public int processBuilderScript(States.OnDisk d) throws Exception {
        return Blobs.runToEnd(d.script);
    }

    /** Several threads forking at once from one loaded blob: time per fork as each thread sees it. */
    @Benchmark
    @Threads(2)
    public int umhLoaded2Threads(States.Loaded l) throws Exception {
        return run(l.exit.fork());
    }

    @Benchmark
    @Threads(4)
    public int umhLoaded4Threads(States.Loaded l) throws Exception {
        return run(l.exit.fork());
    }

    @Benchmark
    @Threads(8)
    public int umhLoaded8Threads(States.Loaded l) throws Exception {
        return run(l.exit.fork());
    }

    /** The JDK's VFORK launch mechanism (JDK 17 to 2x; where a JDK no longer has it, this fork fails). */
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Warmup(iterations = 3, time = 1)
    @Measurement(iterations = 5, time = 1)
    @Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Djdk.lang.Process.launchMechanism=VFORK"})
    public static class Vfork {
        @Benchmark
        public int processBuilder(States.OnDisk d) throws Exception {
            return Blobs.runToEnd(d.exit);
        }
    }

    /** With 4 GB of touched heap: umh's cost must not grow with it. */
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Warmup(iterations = 2, time = 1)
    @Measurement(iterations = 3, time = 2)
    @Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms6g", "-Xmx6g", "-XX:+AlwaysPreTouch"})
    public static class BigHeap {
        @Benchmark
        public int umhLoaded(States.Loaded l, States.BigHeap h) throws Exception {
            return run(l.exit.fork());
        }

        @Benchmark
        public int processBuilder(States.OnDisk d, States.BigHeap h) throws Exception {
            return Blobs.runToEnd(d.exit);
        }

        /** The C floor's raw calls in this big-heap JVM: what the heap costs any spawn on this machine. */
        @Benchmark
        public int jniFloor(States.JniLoaded l, States.BigHeap h) {
            return jniSpawnWait(l);
        }
    }

    /** The JDK's FORK mechanism with the 4 GB heap: the page-table copy umh avoids. */
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Warmup(iterations = 1, time = 1)
    @Measurement(iterations = 3, time = 2)
    @Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms6g", "-Xmx6g", "-XX:+AlwaysPreTouch",
            "-Djdk.lang.Process.launchMechanism=FORK"})
    public static class BigHeapForkMode {
        @Benchmark
        public int processBuilder(States.OnDisk d, States.BigHeap h) throws Exception {
            return Blobs.runToEnd(d.exit);
        }
    }
}
