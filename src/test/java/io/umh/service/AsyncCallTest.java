package io.umh.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

import io.umh.Await;
import io.umh.NothingLeaked;
import io.umh.TestBlobs;
import io.umh.Umh;
import io.umh.UsermodeBlob;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Async calls on a service and a pool: no thread waits for a helper, across restarts, failures and SIGKILLs; virtual threads on a pool. */
@Timeout(120)
@ExtendWith(NothingLeaked.class)
class AsyncCallTest {
    private static final Duration WAIT = ServiceCallTest.WAIT;

    private static byte[] bytes(String s) {
        return ServiceCallTest.bytes(s);
    }

    private static void kill(String signal, long pid) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start().waitFor()); // no pipes to leak
    }

    /**
     * Waits until helper {@code pid} (framed) has set up SIGUSR1: blocked, then a handler (SigCgt;
     * not SigBlk, which sigwait clears while it waits). A USR1 sent from then on is taken by sigwait, never lost.
     */
    private static void awaitUsr1Ready(long pid) throws Exception {
        Path status = Path.of("/proc/" + pid + "/status");
        Await.until("helper pid " + pid + " ready for SIGUSR1", () -> Files.readAllLines(status).stream()
                .anyMatch(l -> l.startsWith("SigCgt:") && (Long.parseLong(l.substring(7).trim(), 16) & (1L << (10 - 1))) != 0));
    }

    /** The cause of a failed future, which must have failed. */
    private static Throwable failure(CompletableFuture<byte[]> f) throws InterruptedException {
        return assertThrows(ExecutionException.class, f::get).getCause();
    }

    /**
     * 400 async calls from one thread on a pool of 4, every helper slow to answer its second request
     * (framed -w 2): all 400 are in flight at once, 100 on each member (least busy, ties in turn);
     * once the helpers go on, each gets its own reply and the counts say so.
     */
    @Test
    void asyncCallsFromOneThreadOnAPool() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodePool pool = UsermodePool.builder(blob).size(4).options(ServiceCallTest.args("-w", "2")).start()) {
            for (int i = 0; i < 4; i++) { // one to each member, in turn: each helper is past its setup
                assertArrayEquals(bytes("warm " + i), pool.call(bytes("warm " + i), WAIT));
            }
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                calls.add(pool.callAsync(bytes("call " + i), WAIT));
            }
            UsermodePool.Stats st = pool.stats();
            assertEquals(400, st.inFlight(), st.toString());
            for (UsermodePool.MemberStats m : st.members()) {
                assertEquals(100, m.inFlight(), st.toString());
            }
            assertFalse(calls.get(0).isDone()); // its helper waits for SIGUSR1
            for (UsermodePool.MemberStats m : st.members()) {
                kill("USR1", m.pid());
            }
            for (int i = 0; i < 400; i++) {
                assertArrayEquals(bytes("call " + i), calls.get(i).get());
            }
            st = pool.stats();
            assertEquals(0, st.inFlight(), st.toString());
            assertEquals(404, st.replies(), st.toString());
            for (UsermodePool.MemberStats m : st.members()) {
                assertEquals(101, m.replies(), st.toString());
            }
        }
    }

    /** An async call made while the service waits out its backoff completes once the next helper has replied; one that finds none in time fails as the sync call does. */
    @Test
    void anAsyncCallDuringARestartCompletesAfterIt() throws Exception {
        ServiceTest.Events ev = new ServiceTest.Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodeService s = UsermodeService.builder(blob).options(ServiceCallTest.args("-c", "2"))
                     .backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), 0).listener(ev).start()) {
            long p1 = ev.started();
            assertArrayEquals(bytes("one"), s.callAsync(bytes("one"), WAIT).get());
            Throwable crash = failure(s.callAsync(bytes("two"), WAIT)); // not idempotent
            assertEquals("umh channel: helper pid " + p1 + " closed its stdout before replying (exit status 3)", crash.getMessage());
            assertEquals("exited " + p1 + " 3", ev.next());
            assertEquals("restarting 1", ev.next()); // a second of backoff starts
            CompletableFuture<byte[]> three = s.callAsync(bytes("three"), WAIT);
            InterruptedIOException late = assertInstanceOf(InterruptedIOException.class,
                    failure(s.callAsync(bytes("too soon"), Duration.ofMillis(100))));
            assertEquals("umh service umh-blob: no helper took the call within PT0.1S; it is RESTARTING: umh service umh-blob:"
                    + " helper pid " + p1 + " exited with status 3", late.getMessage());
            assertFalse(three.isDone()); // the backoff is a second
            assertArrayEquals(bytes("three"), three.get());
            long p2 = ev.started();
            assertNotEquals(p1, p2);
            assertEquals(p2, s.process().pid());
        }
    }

    /** Once FAILED or STOPPED, an async call fails at once with the sync call's message; so does one on a closed pool. */
    @Test
    void asyncCallsFailAtOnceOnceEnded() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"))) {
            ServiceTest.Events ev = new ServiceTest.Events();
            try (UsermodeService s = UsermodeService.builder(blob).options(ServiceCallTest.args("-c", "1"))
                    .restart(UsermodeService.Restart.NEVER).listener(ev).start()) {
                long p1 = ev.started();
                assertThrows(IOException.class, () -> s.call(bytes("crash"), WAIT));
                assertEquals("exited " + p1 + " 3", ev.next());
                assertTrue(ev.next().startsWith("failed "));
                IOException sync = assertThrows(IOException.class, () -> s.call(bytes("again"), WAIT));
                CompletableFuture<byte[]> f = s.callAsync(bytes("again"), WAIT);
                assertTrue(f.isCompletedExceptionally(), "not at once");
                Throwable e = failure(f);
                assertFalse(e instanceof InterruptedIOException, e.toString());
                assertEquals("umh service umh-blob is FAILED: umh service umh-blob: helper pid " + p1 + " exited with status 3",
                        e.getMessage());
                assertEquals(sync.getMessage(), e.getMessage());
            }
            UsermodeService s = UsermodeService.builder(blob).start();
            s.close();
            CompletableFuture<byte[]> f = s.callIdempotentAsync(bytes("closed"), WAIT);
            assertTrue(f.isCompletedExceptionally(), "not at once");
            assertEquals("umh service umh-blob is STOPPED: umh service umh-blob was stopped", failure(f).getMessage());

            UsermodePool pool = UsermodePool.builder(blob).size(2).name("p").start();
            pool.close();
            f = pool.callAsync(bytes("closed"), WAIT);
            assertTrue(f.isCompletedExceptionally(), "not at once");
            assertEquals("umh pool p is closed", failure(f).getMessage());
            assertEquals(1, pool.stats().failedCalls());
        }
    }

    /** An idempotent async call whose helper is SIGKILLed under it gets its reply from the next helper. */
    @Test
    void anIdempotentAsyncCallSurvivesItsHelpersSigkill() throws Exception {
        ServiceTest.Events ev = new ServiceTest.Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodeService s = UsermodeService.builder(blob).options(ServiceCallTest.args("-w", "2"))
                     .backoff(Duration.ofMillis(50), Duration.ofMillis(50), 0).listener(ev).start()) {
            long p1 = ev.started();
            assertArrayEquals(bytes("one"), s.call(bytes("one"), WAIT));
            CompletableFuture<byte[]> f = s.callIdempotentAsync(bytes("survives"), WAIT); // p1 waits for a SIGUSR1 on it
            assertFalse(f.isDone());
            kill("KILL", p1);
            assertArrayEquals(bytes("survives"), f.get()); // the next helper's first request: not slow
            assertEquals("exited " + p1 + " 137", ev.next());
            assertEquals("restarting 1", ev.next());
            assertNotEquals(p1, ev.started());
        }
    }

    /**
     * On a pool of 2, every helper slow on its first request: an idempotent async call waits on
     * member A, a plain one on member B, which then goes on; SIGKILL A and the idempotent call gets
     * its reply from B (A waits out a minute of backoff), counted as a retry.
     */
    @Test
    void anIdempotentAsyncCallOnAPoolGoesToAnotherMemberAfterASigkill() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodePool pool = UsermodePool.builder(blob).size(2).options(ServiceCallTest.args("-w", "1"))
                     .backoff(Duration.ofMinutes(1), Duration.ofMinutes(1), 0).start()) {
            CompletableFuture<byte[]> survives = pool.callIdempotentAsync(bytes("survives"), WAIT);
            CompletableFuture<byte[]> plain = pool.callAsync(bytes("plain"), WAIT);
            List<UsermodePool.MemberStats> ms = pool.stats().members();
            assertEquals(1, ms.get(0).inFlight(), ms.toString());
            assertEquals(1, ms.get(1).inFlight(), ms.toString());
            awaitUsr1Ready(ms.get(1).pid());
            kill("USR1", ms.get(1).pid());
            assertArrayEquals(bytes("plain"), plain.get());
            assertFalse(survives.isDone());
            kill("KILL", ms.get(0).pid());
            assertArrayEquals(bytes("survives"), survives.get());
            UsermodePool.Stats st = pool.stats();
            assertEquals(0, st.inFlight(), st.toString());
            assertEquals(1, st.retries(), st.toString());
            assertEquals(2, st.members().get(1).replies(), st.toString());
        }
    }

    /**
     * 10,000 virtual threads calling {@link UsermodePool#call} on a pool of 8 helpers, each slow to
     * answer its first request: all 10,000 calls are in flight while the JVM has no more platform
     * threads than the carriers, the channels' readers and a few; then each gets its own reply. Java 21+.
     */
    @Test
    void tenThousandVirtualThreadsOnAPoolOfEight() throws Exception {
        ExecutorService virtual = PlatformThreads.virtualThreadPerTask();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodePool pool = UsermodePool.builder(blob).size(8).options(ServiceCallTest.args("-w", "1")).start()) {
            PlatformThreads threads = PlatformThreads.count();
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 10_000; t++) {
                byte[] request = bytes("virtual thread " + t);
                done.add(virtual.submit(() -> {
                    assertArrayEquals(request, pool.call(request, WAIT));
                    return null;
                }));
            }
            Await.until("10,000 calls in flight", WAIT, () -> pool.stats().inFlight() == 10_000);
            int waiting = threads.more();
            int carriers = PlatformThreads.carriers();
            int readers = PlatformThreads.readers();
            for (UsermodePool.MemberStats m : pool.stats().members()) {
                awaitUsr1Ready(m.pid());
                kill("USR1", m.pid());
            }
            for (Future<?> f : done) {
                f.get();
            }
            int peak = threads.peakMore();
            int cpus = Runtime.getRuntime().availableProcessors();
            System.out.println("10,000 virtual threads calling a pool of 8: while all were in flight, " + waiting
                    + " platform threads more than before (" + carriers + " carriers, scheduler parallelism " + cpus + "; "
                    + readers + " channel reader threads); " + peak + " more at the peak");
            UsermodePool.Stats st = pool.stats();
            assertEquals(10_000, st.replies(), st.toString());
            assertEquals(0, st.inFlight(), st.toString());
            assertTrue(carriers <= cpus + 2, carriers + " carriers for " + cpus + " CPUs: did a virtual thread wait in read(2)?");
            assertTrue(readers <= 8, readers + " reader threads");
            assertTrue(peak <= carriers + readers + 4, peak + " more platform threads");
        } finally {
            virtual.shutdownNow();
        }
    }
}
