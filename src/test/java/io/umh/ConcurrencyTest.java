package io.umh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class ConcurrencyTest {
    /** 8 threads fork cat at once, each with its own payload: no pipe is ever crossed. */
    @Test
    void eightThreadsForkingAtOnceNeverCrossPipes() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (UsermodeBlob cat = Umh.load(TestBlobs.bytes("cat"))) {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    for (int i = 0; i < 100; i++) {
                        // every other child comes from a one-shot load, the rest from the shared blob
                        byte[] payload = ("thread " + thread + " fork " + i + " ").repeat(1 + i % 50)
                                .getBytes(StandardCharsets.UTF_8);
                        try (UsermodeProcess p = i % 2 == 0 ? cat.fork() : Umh.forkUsermodeBlob(TestBlobs.bytes("cat"))) {
                            p.pipeToUmh().write(payload);
                            p.pipeToUmh().close();
                            assertArrayEquals(payload, p.pipeFromUmh().readAllBytes());
                            assertEquals(0, p.waitFor());
                        }
                    }
                    return 100;
                }));
            }
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get();
            }
            assertEquals(800, total);
        } finally {
            pool.shutdownNow();
        }
        assertTrue(TestBlobs.zombieChildren().isEmpty());
    }

    /** Closing a blob while other threads fork from it: each fork either works or says the blob is closed. */
    @Test
    void closeWhileForking() throws Exception {
        for (int round = 0; round < 20; round++) {
            UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"));
            Thread forker = new Thread(() -> {
                for (int i = 0; i < 50; i++) {
                    try (UsermodeProcess p = blob.fork()) {
                        assertEquals(0, p.waitFor());
                    } catch (IllegalStateException closed) {
                        return;
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }
            });
            forker.start();
            blob.close();
            forker.join();
        }
        assertTrue(TestBlobs.zombieChildren().isEmpty());
    }
}
