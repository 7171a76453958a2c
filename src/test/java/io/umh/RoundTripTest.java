package io.umh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class RoundTripTest {
    @Test
    void smallRoundTripThroughCat() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"))) {
            p.pipeToUmh().write("ping\n".getBytes(StandardCharsets.UTF_8));
            p.pipeToUmh().close();
            assertEquals("ping\n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(0, p.waitFor());
        }
    }

    /** The system's own /bin/cat: a dynamically linked program, its loader found through PT_INTERP. */
    @Test
    void dynamicallyLinkedSystemCat() throws Exception {
        byte[] cat = java.nio.file.Files.readAllBytes(java.nio.file.Paths.get("/bin/cat"));
        try (UsermodeProcess p = Umh.forkUsermodeBlob(cat, ForkOptions.builder().argv0("cat").build())) {
            p.pipeToUmh().write("dynamic\n".getBytes(StandardCharsets.UTF_8));
            p.pipeToUmh().close();
            assertEquals("dynamic\n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(0, p.waitFor());
        }
    }

    @Test
    void loadedBlobForksManyTimes() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("cat"))) {
            assertEquals(TestBlobs.bytes("cat").length, blob.size());
            for (int i = 0; i < 20; i++) {
                try (UsermodeProcess p = blob.fork()) {
                    byte[] msg = ("message " + i).getBytes(StandardCharsets.UTF_8);
                    p.pipeToUmh().write(msg);
                    p.pipeToUmh().close();
                    assertArrayEquals(msg, p.pipeFromUmh().readAllBytes());
                    assertEquals(0, p.waitFor());
                }
            }
        }
    }

    /** 64 MiB in and 64 MiB out at the same time, compared by SHA-256. */
    @Test
    void sixtyFourMebibytesBothWaysAtOnce() throws Exception {
        final int total = 64 << 20;
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"))) {
            CompletableFuture<byte[]> sent = CompletableFuture.supplyAsync(() -> {
                try (OutputStream out = p.pipeToUmh()) {
                    MessageDigest d = MessageDigest.getInstance("SHA-256");
                    Random random = new Random(42);
                    byte[] chunk = new byte[1 << 20];
                    for (int n = 0; n < total; n += chunk.length) {
                        random.nextBytes(chunk);
                        d.update(chunk);
                        out.write(chunk);
                    }
                    return d.digest();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            long received = 0;
            byte[] buf = new byte[1 << 16];
            InputStream in = p.pipeFromUmh();
            for (int n; (n = in.read(buf)) > 0; received += n) {
                d.update(buf, 0, n);
            }
            assertEquals(total, received);
            assertArrayEquals(sent.get(), d.digest());
            assertEquals(0, p.waitFor());
        }
    }
}
