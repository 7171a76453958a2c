package io.umh.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.umh.Umh;
import io.umh.UsermodeBlob;

import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** What the benchmarks share: the blobs loaded in umh, the same bytes on disk, a big heap. */
public final class States {
    private States() {}

    /** The blobs loaded once into sealed memfds. */
    @State(Scope.Benchmark)
    public static class Loaded {
        static final io.umh.ForkOptions NO_DEATH_SIGNAL = io.umh.ForkOptions.builder().killOnParentDeath(false).build();
        public UsermodeBlob exit;
        public UsermodeBlob script;
        public UsermodeBlob cat;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            exit = Umh.load(Blobs.EXIT);
            script = Umh.load(Blobs.SCRIPT);
            cat = Umh.load(Blobs.CAT);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            exit.close();
            script.close();
            cat.close();
        }
    }

    /** The exit blob in a memfd of the JNI floor's own making. */
    @State(Scope.Benchmark)
    public static class JniLoaded {
        public int memfd = -1;

        @Setup(Level.Trial)
        public void setUp() {
            memfd = JniFloor.load(Blobs.EXIT);
            if (memfd < 0) {
                throw new IllegalStateException("JniFloor.load: errno " + -memfd);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            JniFloor.close(memfd);
        }
    }

    /** The same bytes as executable files, for ProcessBuilder. */
    @State(Scope.Benchmark)
    public static class OnDisk {
        public Path dir;
        public ProcessBuilder exit;
        public ProcessBuilder script;
        public ProcessBuilder cat;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = Files.createTempDirectory("umh-bench");
            exit = Blobs.processBuilder(Blobs.writeExecutable(dir, "exit", Blobs.EXIT));
            script = Blobs.processBuilder(Blobs.writeExecutable(dir, "script", Blobs.SCRIPT));
            cat = Blobs.processBuilder(Blobs.writeExecutable(dir, "cat", Blobs.CAT));
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            try (var files = Files.list(dir)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.delete(p);
                }
            }
            Files.delete(dir);
        }
    }

    /** 4 GB of touched heap: every page of it is mapped, as in a busy service (run with -Xmx6g). */
    @State(Scope.Benchmark)
    public static class BigHeap {
        static final int CHUNK = 256 << 20;
        public byte[][] heap;

        @Setup(Level.Trial)
        public void setUp() {
            heap = touched(4);
        }

        /** gib GiB of heap, every page of it written. */
        static byte[][] touched(int gib) {
            byte[][] heap = new byte[gib * ((1 << 30) / CHUNK)][];
            for (int i = 0; i < heap.length; i++) {
                heap[i] = new byte[CHUNK];
                for (int j = 0; j < CHUNK; j += 4096) {
                    heap[i][j] = (byte) j;
                }
            }
            return heap;
        }
    }
}
