package io.umh.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The C floor's spawn+wait (pipe2, vfork, dup2, execveat, waitpid) called from this JVM through
 * JNI: what any spawn costs inside a JVM process, with none of umh around it. The library,
 * {@code libumh-floor-jni.so}, is built by CMake next to {@code umh-floor} (not shipped); it is
 * looked up as {@code -Dumh.floor.jni} or {@code target/cmake/libumh-floor-jni.so} from where the
 * benchmarks run (the repository's root for {@code benchmarks/run.sh}).
 */
final class JniFloor {
    static {
        Path lib = Path.of(System.getProperty("umh.floor.jni", "target/cmake/libumh-floor-jni.so")).toAbsolutePath();
        if (!Files.isRegularFile(lib)) {
            throw new IllegalStateException("no " + lib + ": build the repository first (mvn install), or set -Dumh.floor.jni");
        }
        System.load(lib.toString());
    }

    private JniFloor() {}

    /** A sealed memfd holding blob, or -errno. */
    static native int load(byte[] blob);

    /** Spawns memfd with pipes on 0 and 1, closes them, waits: the wait status, or -errno. */
    static native int spawnWait(int memfd);

    /** close(fd): 0 or -errno. */
    static native int close(int fd);
}
