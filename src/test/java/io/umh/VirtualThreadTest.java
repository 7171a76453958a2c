package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.reflect.Method;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A virtual thread blocked in fork() or waitFor() pins no carrier (Java 21+): with a single
 * carrier, another virtual thread still runs while one waits for a helper.
 */
@Timeout(60)
class VirtualThreadTest {
    @Test
    void waitForPinsNoCarrier() throws Exception {
        assumeTrue(Runtime.version().feature() >= 21, "virtual threads need Java 21+");
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(),
                List.of("-Djdk.virtualThreadScheduler.parallelism=1", "-Djdk.virtualThreadScheduler.maxPoolSize=1"),
                OneCarrier.class)).trim();
        assertEquals("other virtual thread ran while one waited; helper exit 0", out);
    }

    /** umh's own test for a virtual thread (no method handle) answers as Thread.isVirtual(), in and out of one. */
    @Test
    void virtualThreadsAreToldAsTheJdkTellsThem() throws Exception {
        assumeTrue(Runtime.version().feature() >= 21, "virtual threads need Java 21+");
        Method isVirtual = Thread.class.getMethod("isVirtual");
        Thread platform = new Thread(() -> { });
        assertEquals(false, isVirtual.invoke(platform));
        assertEquals(false, io.umh.internal.VirtualThreads.is(platform));
        assertEquals(false, io.umh.internal.VirtualThreads.current());
        boolean[] inside = new boolean[2];
        Thread virtual = (Thread) Thread.class.getMethod("startVirtualThread", Runnable.class).invoke(null, (Runnable) () -> {
            inside[0] = io.umh.internal.VirtualThreads.current();
            inside[1] = io.umh.internal.VirtualThreads.is(Thread.currentThread());
        });
        virtual.join();
        assertEquals(true, isVirtual.invoke(virtual));
        assertEquals(true, io.umh.internal.VirtualThreads.is(virtual));
        assertEquals(true, inside[0], "current() inside a virtual thread");
        assertEquals(true, inside[1]);
    }

    /** Main of the second JVM (one carrier thread). Compiled for 17: virtual threads through reflection. */
    public static final class OneCarrier {
        public static void main(String[] args) throws Exception {
            Method start = Thread.class.getMethod("startVirtualThread", Runnable.class);
            int[] status = {-1};
            // one virtual thread forks and blocks in waitFor; another must still run on the one carrier
            CountDownLatch ran = new CountDownLatch(1);
            CountDownLatch forked = new CountDownLatch(1);
            UsermodeProcess[] p = new UsermodeProcess[1];
            Thread blocked = (Thread) start.invoke(null, (Runnable) () -> {
                try {
                    p[0] = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"));
                    p[0].pipeFromUmh().readNBytes(6);
                    forked.countDown();
                    status[0] = p[0].waitFor();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            forked.await();
            Await.until("the virtual thread to block in waitFor", () -> blocked.getState() == Thread.State.WAITING);
            start.invoke(null, (Runnable) ran::countDown);
            boolean otherRan = ran.await(10, TimeUnit.SECONDS);
            p[0].pipeToUmh().close(); // now the helper exits, and the waiter returns
            blocked.join();
            p[0].close();
            System.out.println((otherRan ? "other virtual thread ran while one waited" : "carrier pinned")
                    + "; helper exit " + status[0]);
        }
    }
}
