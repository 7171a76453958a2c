package io.umh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** ForkOptions.pipeSize: F_SETPIPE_SZ on the child's pipes, its data path, and its failure. */
@Timeout(60)
class PipeSizeTest {
    private static final int MIB = 1 << 20;

    /** Writes {@code n} bytes into the child's stdin on another thread. */
    private static CompletableFuture<Void> write(UsermodeProcess p, int n) {
        return CompletableFuture.runAsync(() -> {
            try {
                p.getOutputStream().write(new byte[n]);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    @Test
    void aMebibytePipeHoldsAMebibyteNobodyReads() throws Exception {
        ForkOptions big = ForkOptions.builder().pipeSize(MIB).args("-p").build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), big)) {
            write(p, MIB).get(30, TimeUnit.SECONDS); // sleeper -p never reads: only the pipe can take it
            assertTrue(p.isAlive());
        }
    }

    @Test
    void theDefaultPipeDoesNot() throws Exception {
        // -p: it never reads (a plain sleeper reads stdin to EOF, a byte at a time: on a quick
        // machine it took the whole MiB within the wait below, and this test failed in CI)
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), ForkOptions.builder().args("-p").build())) {
            CompletableFuture<Void> w = write(p, MIB);
            Thread.sleep(500); // a write that stays blocked has no event: give it time to finish if it could
            assertFalse(w.isDone(), "1 MiB fitted into a default pipe");
            p.destroyForcibly().waitFor(); // the reader is gone: the blocked write fails with EPIPE
            ExecutionException e = assertThrows(ExecutionException.class, () -> w.get(30, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof UncheckedIOException, e.toString());
        }
    }

    @Test
    void bulkDataPassesIntactBothWays() throws Exception {
        byte[] data = new byte[8 * MIB];
        new Random(42).nextBytes(data);
        ForkOptions big = ForkOptions.builder().pipeSize(MIB).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"), big)) {
            CompletableFuture<Void> w = CompletableFuture.runAsync(() -> {
                try (var out = p.getOutputStream()) {
                    out.write(data);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            assertArrayEquals(data, p.getInputStream().readAllBytes());
            w.get(30, TimeUnit.SECONDS);
            assertEquals(0, p.waitFor());
        }
    }

    @Test
    void badSizesAreRefusedWhenBuilt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ForkOptions.builder().pipeSize(0));
        assertEquals("pipeSize must be > 0 bytes, not 0", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ForkOptions.builder().pipeSize(-1));
        assertEquals(MIB, ForkOptions.builder().pipeSize(MIB).build().toBuilder().build().pipeSize().getAsInt());
        assertFalse(ForkOptions.defaults().pipeSize().isPresent());
    }

    /** Above fs.pipe-max-size without CAP_SYS_RESOURCE: EPERM named, then a normal fork, nothing leaked. */
    @Test
    void tooLargeWithoutTheCapabilityFailsWithEperm() throws Exception {
        // as root, take CAP_SYS_RESOURCE away from the second JVM; others never had it
        List<String> prefix = TestBlobs.root() ? List.of("setpriv", "--bounding-set", "-sys_resource", "--inh-caps", "-sys_resource") : List.of();
        String out = TestBlobs.run(TestBlobs.javaCommand(prefix, List.of(), TooLarge.class)).trim();
        int max = pipeMaxSize();
        assertEquals("java.io.IOException: fork: fcntl(F_SETPIPE_SZ) failed: EPERM (Operation not permitted); above "
                + "/proc/sys/fs/pipe-max-size it needs CAP_SYS_RESOURCE: pipeSize " + 2 * max + "\nthen: 0, fds leaked: 0", out);
    }

    /** fs.pipe-max-size; not Files.readString: sysctl files answer only a first read, and JDK 17 reads them byte by byte. */
    static int pipeMaxSize() throws IOException {
        return Integer.parseInt(Files.readAllLines(Paths.get("/proc/sys/fs/pipe-max-size")).get(0).trim());
    }

    static final class TooLarge {
        public static void main(String[] args) throws Exception {
            TestBlobs.warmUp();
            int before = TestBlobs.openFds();
            int max = pipeMaxSize();
            try {
                try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder().pipeSize(2 * max).build())) {
                    System.out.println("forked: " + p.waitFor());
                }
            } catch (IOException e) {
                System.out.println(e);
            }
            int status;
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"))) {
                status = p.waitFor();
            }
            System.out.println("then: " + status + ", fds leaked: " + (TestBlobs.openFds() - before));
        }
    }
}
