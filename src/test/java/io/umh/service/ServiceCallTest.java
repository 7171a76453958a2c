package io.umh.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import io.umh.ForkOptions;
import io.umh.NothingLeaked;
import io.umh.TestBlobs;
import io.umh.Umh;
import io.umh.UsermodeBlob;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Service calls across restarts: waiting for the next helper within the call's deadline, failing at once once ended, idempotent retries. */
@Timeout(120)
@ExtendWith(NothingLeaked.class)
class ServiceCallTest {
    static final Duration WAIT = Duration.ofSeconds(30);

    static ForkOptions args(String... args) {
        return ForkOptions.builder().args(args).build();
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A call made while the service waits out its backoff waits for the next helper, instead of failing with "is RESTARTING". */
    @Test
    void aCallDuringARestartWaitsForTheNextHelper() throws Exception {
        ServiceTest.Events ev = new ServiceTest.Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodeService s = UsermodeService.builder(blob).options(args("-c", "2"))
                     .backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), 0).listener(ev).start()) {
            long p1 = ev.started();
            assertArrayEquals(bytes("one"), s.call(bytes("one"), WAIT));
            IOException crash = assertThrows(IOException.class, () -> s.call(bytes("two"), WAIT)); // not idempotent
            assertEquals("umh channel: helper pid " + p1 + " closed its stdout before replying (exit status 3)", crash.getMessage());
            assertEquals("exited " + p1 + " 3", ev.next());
            assertEquals("restarting 1", ev.next()); // a second of backoff starts
            assertArrayEquals(bytes("three"), s.call(bytes("three"), WAIT));
            long p2 = ev.started();
            assertEquals(p2, s.process().pid());
            assertNotEquals(p1, p2);
        }
    }

    /** A call that finds no helper within its own deadline says where the service is, and which helper died under it. */
    @Test
    void aCallThatFindsNoHelperInTimeSaysWhereTheServiceIs() throws Exception {
        ServiceTest.Events ev = new ServiceTest.Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodeService s = UsermodeService.builder(blob).options(args("-c", "1"))
                     .backoff(Duration.ofMinutes(1), Duration.ofMinutes(1), 0).listener(ev).start()) {
            long p1 = ev.started();
            InterruptedIOException e = assertThrows(InterruptedIOException.class,
                    () -> s.callIdempotent(bytes("crash"), Duration.ofMillis(500)));
            assertTrue(e.getMessage().startsWith("umh service umh-blob: no helper took the call within PT0.5S; "), e.getMessage());
            assertTrue(e.getMessage().endsWith("; the call was to be sent again after: umh channel: helper pid " + p1
                    + " closed its stdout before replying (exit status 3)"), e.getMessage());
            assertEquals("exited " + p1 + " 3", ev.next());
            assertEquals("restarting 1", ev.next()); // a minute of backoff
            e = assertThrows(InterruptedIOException.class, () -> s.call(bytes("now?"), Duration.ofMillis(200)));
            assertEquals("umh service umh-blob: no helper took the call within PT0.2S; it is RESTARTING: umh service umh-blob:"
                    + " helper pid " + p1 + " exited with status 3", e.getMessage());
        }
    }

    /** Once FAILED or STOPPED, a call fails at once (no wait for its 30 s), naming why, idempotent or not. */
    @Test
    void callsFailAtOnceOnceTheServiceHasEnded() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"))) {
            ServiceTest.Events ev = new ServiceTest.Events();
            try (UsermodeService s = UsermodeService.builder(blob).options(args("-c", "1")).restart(UsermodeService.Restart.NEVER)
                    .listener(ev).start()) {
                long p1 = ev.started();
                String failed = "umh service umh-blob is FAILED: umh service umh-blob: helper pid " + p1 + " exited with status 3";
                IOException e = assertThrows(IOException.class, () -> s.callIdempotent(bytes("crash"), WAIT));
                assertFalse(e instanceof InterruptedIOException, e.toString());
                assertEquals(failed + "; the call was to be sent again after: umh channel: helper pid " + p1
                        + " closed its stdout before replying (exit status 3)", e.getMessage());
                e = assertThrows(IOException.class, () -> s.call(bytes("again"), WAIT));
                assertFalse(e instanceof InterruptedIOException, e.toString());
                assertEquals(failed, e.getMessage());
            }
            UsermodeService s = UsermodeService.builder(blob).start();
            s.close();
            IOException e = assertThrows(IOException.class, () -> s.call(bytes("closed"), WAIT));
            assertEquals("umh service umh-blob is STOPPED: umh service umh-blob was stopped", e.getMessage());
        }
    }

    /** With idempotent(true), a call whose helper crashes under it gets its reply from the next helper. */
    @Test
    void anIdempotentCallIsSentAgainToTheNextHelper() throws Exception {
        ServiceTest.Events ev = new ServiceTest.Events();
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodeService s = UsermodeService.builder(blob).options(args("-c", "2")).idempotent(true)
                     .backoff(Duration.ofMillis(50), Duration.ofMillis(50), 0).listener(ev).start()) {
            long p1 = ev.started();
            assertArrayEquals(bytes("one"), s.call(bytes("one")));
            assertArrayEquals(bytes("two"), s.call(bytes("two"))); // p1 exits 3 on it: the reply is the next helper's
            assertEquals("exited " + p1 + " 3", ev.next());
            assertEquals("restarting 1", ev.next());
            long p2 = ev.started();
            assertNotEquals(p1, p2);
            assertEquals(p2, s.process().pid());
        }
    }

    /** A call whose time ran out on its helper is not sent again: the channel's timeout is the failure. */
    @Test
    void aRetryNeverOutlivesTheDeadline() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"));
             UsermodeService s = UsermodeService.builder(blob).options(args("-h", "1"))
                     .backoff(Duration.ofMillis(10), Duration.ofMillis(10), 0).start()) {
            long p1 = s.process().pid();
            InterruptedIOException e = assertThrows(InterruptedIOException.class,
                    () -> s.callIdempotent(bytes("hang"), Duration.ofMillis(300)));
            assertTrue(e.getMessage().startsWith("umh channel: no reply from helper pid " + p1 + " within PT0."), e.getMessage());
            assertTrue(e.getMessage().endsWith("; it was killed (exit status 137)"), e.getMessage());
        }
    }

    /**
     * A helper that exits 3 on every 3000th request, 10,000 calls from 8 threads: idempotent, every
     * call gets its own reply (at least three crashes on the way); not, a call fails only if its
     * helper died under it (the exit status in its message, never "RESTARTING"), at most 8 per crash.
     */
    @Test
    void crashesDuringTenThousandCallsFromEightThreads() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("framed"))) {
            Outcome sure = run(blob, true);
            assertEquals(List.of(), sure.failures);
            assertTrue(sure.crashes >= 3, "crashes: " + sure.crashes);

            Outcome once = run(blob, false);
            assertTrue(once.crashes >= 1, "crashes: " + once.crashes);
            assertFalse(once.failures.isEmpty()); // the call each helper exited on, at least
            assertTrue(once.failures.size() <= 8 * once.crashes, once.failures.size() + " failures in " + once.crashes + " crashes");
            for (String f : once.failures) {
                assertTrue(f.matches("umh channel: helper pid [0-9]+ .*(exit status 3|exited with status 3).*"), f);
            }
        }
    }

    record Outcome(List<String> failures, int crashes) {}

    /** 10,000 calls from 8 threads to a service of framed -c 3000; every reply checked. */
    static Outcome run(UsermodeBlob blob, boolean idempotent) throws Exception {
        AtomicInteger crashes = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        UsermodeService.Listener count = new UsermodeService.Listener() {
            @Override
            public void exited(io.umh.UsermodeProcess p, int status, Exception cause) {
                if (status == 3) {
                    crashes.incrementAndGet();
                }
            }
        };
        try (UsermodeService s = UsermodeService.builder(blob).options(args("-c", "3000")).idempotent(idempotent)
                .backoff(Duration.ofMillis(50), Duration.ofMillis(50), 0).restartLimit(100, Duration.ofMinutes(1))
                .listener(count).start()) {
            callFromThreads(8, 10_000, request -> s.call(request, WAIT), failures);
        }
        return new Outcome(new ArrayList<>(failures), crashes.get()); // close() has joined the service's thread: every exit heard
    }

    /** A call under test: a service's or a pool's. */
    @FunctionalInterface
    interface Call {
        byte[] call(byte[] request) throws IOException;
    }

    /**
     * {@code calls} calls, each with its own request, from {@code threads} threads; a wrong reply
     * fails the test, an IOException's message goes to {@code failures}.
     */
    static void callFromThreads(int threads, int calls, Call call, ConcurrentLinkedQueue<String> failures) throws Exception {
        AtomicInteger next = new AtomicInteger();
        ConcurrentLinkedQueue<Throwable> wrong = new ConcurrentLinkedQueue<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                for (int i; (i = next.getAndIncrement()) < calls; ) {
                    byte[] request = bytes("request " + i);
                    try {
                        byte[] reply = call.call(request);
                        if (!new String(reply, StandardCharsets.UTF_8).equals("request " + i)) {
                            wrong.add(new AssertionError("request " + i + " got " + new String(reply, StandardCharsets.UTF_8)));
                        }
                    } catch (IOException e) {
                        failures.add(e.getMessage());
                    } catch (RuntimeException | Error e) {
                        wrong.add(e);
                    }
                }
            }, "caller-" + t);
            th.start();
            ts.add(th);
        }
        for (Thread th : ts) {
            th.join();
        }
        if (!wrong.isEmpty()) {
            AssertionError e = new AssertionError(wrong.size() + " wrong outcomes; the first: " + wrong.peek(), wrong.peek());
            throw e;
        }
    }
}
