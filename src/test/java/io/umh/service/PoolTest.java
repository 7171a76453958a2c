package io.umh.service;

import static io.umh.service.ServiceCallTest.args;
import static io.umh.service.ServiceCallTest.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.umh.Await;
import io.umh.NothingLeaked;
import io.umh.TestBlobs;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** A pool of supervised helpers: least-busy dispatch, retries on another member, helpers kept at N, stats, close. */
@Timeout(120)
@ExtendWith(NothingLeaked.class)
class PoolTest {
    private static final Duration WAIT = ServiceCallTest.WAIT;

    private static void kill(String signal, long pid) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start().waitFor());
    }

    /**
     * Members exit 3 on every 2000th request; 10,000 calls from 8 threads to a pool of 2: idempotent,
     * none is lost and the stats say so; not, a call fails only if its helper died under it.
     */
    @Test
    void crashesDuringTenThousandCallsFromEightThreads() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"))) {
            for (boolean idempotent : new boolean[] {true, false}) {
                ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
                AtomicInteger crashes = new AtomicInteger();
                UsermodePool.Stats st;
                try (UsermodePool pool = UsermodePool.builder(blob).size(2).options(args("-c", "2000")).idempotent(idempotent)
                        .backoff(Duration.ofMillis(50), Duration.ofMillis(50), 0).restartLimit(100, Duration.ofMinutes(1))
                        .listener(new UsermodeService.Listener() {
                            @Override
                            public void exited(UsermodeProcess p, int status, Exception cause) {
                                if (status == 3) {
                                    crashes.incrementAndGet();
                                }
                            }
                        }).start()) {
                    ServiceCallTest.callFromThreads(8, 10_000, request -> pool.call(request, WAIT), failures);
                    st = pool.stats();
                }
                assertEquals(0, st.inFlight());
                assertEquals(10_000 - failures.size(), st.replies());
                assertEquals(failures.size(), st.failedCalls());
                assertTrue(crashes.get() >= 4, "crashes: " + crashes); // no helper answers more than 1,999: 6 helpers at least
                if (idempotent) {
                    assertEquals(List.of(), List.copyOf(failures));
                    assertTrue(st.retries() >= 1, st.toString()); // the call each helper exited on, at least
                } else {
                    assertFalse(failures.isEmpty());
                    assertTrue(failures.size() <= 8 * crashes.get(), failures.size() + " failures in " + crashes + " crashes");
                    for (String f : failures) {
                        assertTrue(f.matches("umh channel: helper pid [0-9]+ .*(exit status 3|exited with status 3).*"), f);
                    }
                }
            }
        }
    }

    /**
     * Members SIGKILLed from outside, one after another, six times: each time the pool is back to
     * 3 live helpers, a new pid in the killed one's place, every restart counted; idempotent calls
     * made all along all get their replies; after close no helper is left.
     */
    @Test
    void keepsItsHelpersThroughKillsFromOutside() throws Exception {
        Set<Long> pids = new HashSet<>();
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger replies = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodePool pool = UsermodePool.builder(blob).size(3).name("kept")
                     .backoff(Duration.ofMillis(10), Duration.ofMillis(10), 0).restartLimit(100, Duration.ofMinutes(1)).start()) {
            assertEquals(3, pool.size());
            assertEquals(3, pool.running());
            Thread caller = new Thread(() -> {
                try {
                    for (int i = 0; !done.get(); i++) {
                        assertArrayEquals(bytes("call " + i), pool.callIdempotent(bytes("call " + i), WAIT));
                        replies.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            caller.start();
            for (int round = 0; round < 6; round++) {
                int member = round % 3;
                long pid = pool.stats().members().get(member).pid();
                assertNotEquals(-1, pid); // the last round ended with all three up
                pids.add(pid);
                kill("KILL", pid);
                Await.until("member " + member + " to be back with a new helper", WAIT, () -> {
                    UsermodePool.MemberStats m = pool.stats().members().get(member);
                    return pool.running() == 3 && m.pid() != pid && m.pid() != -1;
                });
            }
            done.set(true);
            caller.join();
            assertEquals(null, failure.get());
            assertTrue(replies.get() > 0);
            UsermodePool.Stats st = pool.stats();
            assertEquals(6, st.restarts());
            for (UsermodePool.MemberStats m : st.members()) {
                assertEquals(2, m.restarts(), m.toString());
                assertEquals(UsermodeService.State.RUNNING, m.state());
                assertTrue(m.name().startsWith("kept-"), m.name());
                pids.add(m.pid());
            }
            assertEquals(0, st.failedCalls());
            assertEquals(replies.get(), st.replies());
            assertEquals(UsermodeService.State.RUNNING, pool.state());
        }
        assertEquals(9, pids.size());
        for (long pid : pids) {
            assertFalse(TestBlobs.running(pid), "helper " + pid + " left running");
        }
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            assertFalse(t.getName().startsWith("umh-service-kept-") || t.getName().startsWith("umh-pool-kept-"), t.getName());
        }
    }

    /**
     * A member busy with a slow request (framed -W: "wait..." waits for SIGUSR1) gets no new call
     * while the others are free; ties between those go in turn.
     */
    @Test
    void callsGoToTheLeastBusyMember() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodePool pool = UsermodePool.builder(blob).size(3).options(args("-W")).start()) {
            AtomicReference<Object> slow = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    slow.set(pool.call(bytes("wait for it"), WAIT));
                } catch (IOException e) {
                    slow.set(e);
                }
            });
            t.start();
            Await.until("the slow call in flight", WAIT, () -> pool.stats().inFlight() == 1);
            int busy = -1;
            List<UsermodePool.MemberStats> ms = pool.stats().members();
            for (int i = 0; i < ms.size(); i++) {
                busy = ms.get(i).inFlight() == 1 ? i : busy;
            }
            for (int i = 0; i < 30; i++) {
                assertArrayEquals(bytes("quick " + i), pool.call(bytes("quick " + i), WAIT));
            }
            ms = pool.stats().members();
            for (int i = 0; i < ms.size(); i++) {
                assertEquals(i == busy ? 1 : 0, ms.get(i).inFlight(), ms.toString());
                assertEquals(i == busy ? 0 : 15, ms.get(i).replies(), ms.toString()); // in turn: 15 each
            }
            kill("USR1", ms.get(busy).pid());
            t.join();
            assertArrayEquals(bytes("wait for it"), (byte[]) slow.get());
            UsermodePool.Stats st = pool.stats();
            assertEquals(1, st.members().get(busy).replies());
            assertEquals(31, st.replies());
            assertEquals(0, st.inFlight());
        }
    }

    /**
     * Members exit 3 on their 3rd request: calls 1-4 go to the two in turn; the 5th, not idempotent,
     * fails on member 0; the 6th, idempotent, dies on member 1 and gets its reply from another.
     */
    @Test
    void statsCountRepliesFailuresRetriesAndRestarts() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodePool pool = UsermodePool.builder(blob).size(2).options(args("-c", "3"))
                     .backoff(Duration.ofMillis(10), Duration.ofMillis(10), 0).start()) {
            for (int i = 1; i <= 4; i++) {
                assertArrayEquals(bytes("call " + i), pool.call(bytes("call " + i), WAIT));
            }
            UsermodePool.Stats st = pool.stats();
            assertEquals(List.of(2L, 2L), List.of(st.members().get(0).replies(), st.members().get(1).replies()));
            long pid0 = st.members().get(0).pid();
            IOException e = assertThrows(IOException.class, () -> pool.call(bytes("call 5"), WAIT));
            assertEquals("umh channel: helper pid " + pid0 + " closed its stdout before replying (exit status 3)", e.getMessage());
            st = pool.stats();
            assertEquals(1, st.members().get(0).failedCalls());
            assertEquals(1, st.failedCalls());
            assertEquals(4, st.replies());

            assertArrayEquals(bytes("call 6"), pool.callIdempotent(bytes("call 6"), WAIT));
            Await.until("both members back", WAIT, () -> pool.running() == 2 && pool.stats().restarts() == 2);
            st = pool.stats();
            assertEquals(1, st.members().get(1).retries(), st.toString());
            assertEquals(1, st.retries());
            assertEquals(5, st.replies());
            assertEquals(1, st.failedCalls());
            assertEquals(0, st.inFlight());
            assertEquals(List.of(1L, 1L), List.of(st.members().get(0).restarts(), st.members().get(1).restarts()));
        }
    }

    /** Members that never restart: an idempotent call tries each once, then fails at once, the pool FAILED, naming the helper it lost. */
    @Test
    void thePoolFailsOnceEveryMemberHas() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodePool pool = UsermodePool.builder(blob).size(2).options(args("-c", "1"))
                     .restart(UsermodeService.Restart.NEVER).start()) {
            IOException e = assertThrows(IOException.class, () -> pool.callIdempotent(bytes("crash"), WAIT));
            assertTrue(e.getMessage().startsWith("umh pool umh-blob is FAILED: member umh-blob-0: it is FAILED: umh service umh-blob-0:"
                    + " helper pid "), e.getMessage());
            assertTrue(e.getMessage().matches(".*; the call was to be sent again after: umh channel: helper pid [0-9]+ closed its stdout"
                    + " before replying \\(exit status 3\\)"), e.getMessage());
            assertEquals(UsermodeService.State.FAILED, pool.state());
            UsermodePool.Stats st = pool.stats();
            assertEquals(List.of(1L, 1L), List.of(st.members().get(0).retries(), st.members().get(1).retries()));
            assertEquals(1, st.failedCalls());
            assertEquals(0, st.running());
        }
    }

    /** Bytes that are no program: start() fails at once, naming ENOEXEC, and leaves no member behind. */
    @Test
    void aPoolOfNoProgramFailsToStart() throws Exception {
        try (UsermodeBlob blob = Umh.load(bytes("no program, only words\n"))) {
            IOException e = assertThrows(IOException.class, () -> UsermodePool.builder(blob).size(3)
                    .backoff(Duration.ofSeconds(20), Duration.ofSeconds(20), 0).start());
            assertTrue(e.getMessage().startsWith("umh pool umh-blob: member umh-blob-0 did not start: umh service umh-blob-0 did not start:"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("ENOEXEC"), e.getMessage());
            assertEquals(2, e.getSuppressed().length);
        }
    }

    /** Options are checked as they are given, not at start(). */
    @Test
    void badOptionsFailAtOnce() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"))) {
            UsermodePool.Builder b = UsermodePool.builder(blob);
            assertEquals("size must be at least 1: 0", assertThrows(IllegalArgumentException.class, () -> b.size(0)).getMessage());
            assertEquals("restarts is negative: -1",
                    assertThrows(IllegalArgumentException.class, () -> b.restartLimit(-1, WAIT)).getMessage());
            assertEquals("grace is negative: PT-1S",
                    assertThrows(IllegalArgumentException.class, () -> b.stopGrace(Duration.ofSeconds(-1))).getMessage());
        }
    }

    /** The default size is the CPU count. */
    @Test
    void theDefaultSizeIsTheCpuCount() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodePool pool = UsermodePool.builder(blob).start()) {
            assertEquals(Runtime.getRuntime().availableProcessors(), pool.size());
            Await.until("all up", WAIT, () -> pool.running() == pool.size());
            List<Long> pids = new ArrayList<>();
            pool.stats().members().forEach(m -> pids.add(m.pid()));
            assertEquals(pool.size(), new HashSet<>(pids).size());
        }
    }
}
