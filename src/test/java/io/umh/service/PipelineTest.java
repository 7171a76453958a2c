package io.umh.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.InterruptedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

import io.umh.ForkOptions;
import io.umh.NothingLeaked;
import io.umh.TestBlobs;
import io.umh.Umh;
import io.umh.UsermodeProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Several calls in flight on one helper: async calls, replies in order, failures and timeouts mid-pipeline, virtual threads. */
@Timeout(60)
@ExtendWith(NothingLeaked.class)
class PipelineTest {
    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static UsermodeProcess slowOnFirst() throws IOException {
        ForkOptions o = ForkOptions.builder().args("-w", "1").redirectError(Redirect.PIPE).build();
        return Umh.forkUsermodeBlob(TestBlobs.bytes("framed"), o);
    }

    private static void signal(UsermodeProcess p) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-USR1", Long.toString(p.pid())).inheritIO().start().waitFor()); // no pipes to leak
    }

    /** 2,000 requests sent before the first reply is read: each future gets the reply to its own. */
    @Test
    void asyncCallsInFlightAtOnceEachGetTheirOwnReply() throws Exception {
        try (UsermodeProcess p = ChannelTest.framed(); UsermodeChannel ch = UsermodeChannel.open(p)) {
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                calls.add(ch.callAsync(bytes("call " + i + ";".repeat(i % 300))));
            }
            for (int i = 0; i < calls.size(); i++) {
                assertArrayEquals(bytes("call " + i + ";".repeat(i % 300)), calls.get(i).get());
            }
            assertArrayEquals(bytes("sync"), ch.call(bytes("sync"))); // and a plain call after them
        }
    }

    /** Calls sent while the helper still works on the first: none answered until it goes on, then all, in order. */
    @Test
    void requestsQueueBehindASlowOne() throws Exception {
        try (UsermodeProcess p = slowOnFirst(); UsermodeChannel ch = UsermodeChannel.open(p)) {
            CompletableFuture<byte[]> first = ch.callAsync(bytes("first"));
            assertEquals('w', p.getErrorStream().read()); // the helper has the first request
            CompletableFuture<byte[]> second = ch.callAsync(bytes("second"));
            CompletableFuture<byte[]> third = ch.callAsync(bytes("third"));
            assertFalse(first.isDone() || second.isDone() || third.isDone());
            signal(p);
            assertArrayEquals(bytes("first"), first.get());
            assertArrayEquals(bytes("second"), second.get());
            assertArrayEquals(bytes("third"), third.get());
        }
    }

    /** The helper exits 3 on the 5th of 10 requests in flight: 4 replies, then 6 failures naming the status. */
    @Test
    void helperDeathMidPipelineFailsEveryCallInLine() throws Exception {
        helperDeathMidPipeline();
    }

    /**
     * Regression (a CI failure): a request written after the helper's exit (EPIPE) failed every call in
     * line, even those whose replies the helper had written before it exited; they are the reader's to
     * hand over. The same death, 200 times: every time 4 replies, then 6 failures.
     */
    @Test
    void aWriteAfterTheHelpersDeathLeavesTheEarlierRepliesToTheirCalls() throws Exception {
        for (int round = 0; round < 200; round++) {
            helperDeathMidPipeline();
        }
    }

    private static void helperDeathMidPipeline() throws Exception {
        try (UsermodeProcess p = ChannelTest.framed("-c", "5"); UsermodeChannel ch = UsermodeChannel.open(p)) {
            List<CompletableFuture<byte[]>> calls = new ArrayList<>();
            for (int i = 1; i <= 10; i++) {
                calls.add(ch.callAsync(bytes("call " + i)));
            }
            for (int i = 1; i <= 4; i++) {
                assertArrayEquals(bytes("call " + i), calls.get(i - 1).get());
            }
            for (int i = 5; i <= 10; i++) {
                ExecutionException e = assertThrows(ExecutionException.class, calls.get(i - 1)::get);
                assertTrue(e.getCause() instanceof IOException, e.toString());
                assertTrue(e.getCause().getMessage().startsWith("umh channel: helper pid " + p.pid() + " "), e.getCause().getMessage());
                assertTrue(e.getCause().getMessage().endsWith("(exit status 3)"), e.getCause().getMessage());
            }
            assertFalse(ch.isOpen());
            assertThrows(ExecutionException.class, ch.callAsync(bytes("later"))::get);
        }
    }

    /** The helper hangs on the 2nd request: that call's timeout kills it, and the call behind fails with the status. */
    @Test
    void timeoutOfTheCallTheHelperOwesKillsItAndFailsTheLine() throws Exception {
        try (UsermodeProcess p = ChannelTest.framed("-h", "2"); UsermodeChannel ch = UsermodeChannel.open(p)) {
            assertArrayEquals(bytes("one"), ch.callAsync(bytes("one")).get());
            CompletableFuture<byte[]> hangs = ch.callAsync(bytes("hangs"), Duration.ofMillis(300));
            CompletableFuture<byte[]> behind = ch.callAsync(bytes("behind"));
            ExecutionException e = assertThrows(ExecutionException.class, hangs::get);
            assertEquals("umh channel: no reply from helper pid " + p.pid() + " within PT0.3S; it was killed (exit status 137)",
                    e.getCause().getMessage());
            assertTrue(e.getCause() instanceof InterruptedIOException);
            ExecutionException b = assertThrows(ExecutionException.class, behind::get);
            assertTrue(b.getCause().getMessage().endsWith("(exit status 137)"), b.getCause().getMessage());
            assertFalse(ch.isOpen());
            assertEquals(137, p.exitValue());
        }
    }

    /**
     * A call whose timeout passes while an earlier call is still unanswered gives up alone: the
     * channel stays open, its reply is dropped when it comes, and the next call gets its own.
     */
    @Test
    void timeoutBehindASlowCallGivesUpAloneAndItsReplyIsDropped() throws Exception {
        try (UsermodeProcess p = slowOnFirst(); UsermodeChannel ch = UsermodeChannel.open(p)) {
            CompletableFuture<byte[]> slow = ch.callAsync(bytes("slow"));
            BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
            assertEquals("waiting", err.readLine());
            InterruptedIOException e = assertThrows(InterruptedIOException.class, () -> ch.call(bytes("gives up"), Duration.ofMillis(200)));
            assertEquals("umh channel: no reply from helper pid " + p.pid() + " within PT0.2S, as calls sent before it were still"
                    + " waiting for theirs; the channel stays open and drops that reply", e.getMessage());
            assertTrue(ch.isOpen());
            signal(p);
            assertArrayEquals(bytes("slow"), slow.get());
            assertArrayEquals(bytes("next"), ch.call(bytes("next")));
            assertTrue(p.isAlive());
        }
    }

    /** A cancelled call waits for nothing: a timeout behind it finds the helper late, kills it, and the channel fails. */
    @Test
    void aTimeoutBehindOnlyCancelledCallsKillsTheHelper() throws Exception {
        try (UsermodeProcess p = slowOnFirst(); UsermodeChannel ch = UsermodeChannel.open(p)) {
            CompletableFuture<byte[]> cancelled = ch.callAsync(bytes("cancelled"));
            assertEquals('w', p.getErrorStream().read());
            assertTrue(cancelled.cancel(false));
            InterruptedIOException e = assertThrows(InterruptedIOException.class, () -> ch.call(bytes("late"), Duration.ofMillis(200)));
            assertEquals("umh channel: no reply from helper pid " + p.pid() + " within PT0.2S; it was killed (exit status 137)",
                    e.getMessage());
            assertFalse(ch.isOpen());
        }
    }

    /** A sync call made in an async call's dependent action (on the reader thread), with calls still in line behind: no deadlock. */
    @Test
    void aCallInADependentActionOfAnAsyncCall() throws Exception {
        try (UsermodeProcess p = slowOnFirst(); UsermodeChannel ch = UsermodeChannel.open(p)) {
            CompletableFuture<byte[]> nested = ch.callAsync(bytes("first")).thenApply(r -> {
                try {
                    return ch.call(bytes("nested after " + new String(r, StandardCharsets.UTF_8)));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            CompletableFuture<byte[]> behind = ch.callAsync(bytes("behind"));
            assertEquals('w', p.getErrorStream().read());
            signal(p);
            assertArrayEquals(bytes("nested after first"), nested.get());
            assertArrayEquals(bytes("behind"), behind.get());
        }
    }

    /** A close with calls in line: they get their replies, then the helper gets EOF and exits 0. */
    @Test
    void closeLetsTheCallsInLineFinish() throws Exception {
        try (UsermodeProcess p = slowOnFirst()) {
            UsermodeChannel ch = UsermodeChannel.open(p);
            CompletableFuture<byte[]> first = ch.callAsync(bytes("first"));
            CompletableFuture<byte[]> second = ch.callAsync(bytes("second"));
            assertEquals('w', p.getErrorStream().read());
            ch.close();
            assertThrows(ExecutionException.class, ch.callAsync(bytes("late"))::get);
            signal(p);
            assertArrayEquals(bytes("first"), first.get());
            assertArrayEquals(bytes("second"), second.get());
            assertEquals(0, p.waitFor());
        }
    }

    /** 8 threads of sync calls and 8 of async ones on one helper, mixed: every caller gets its own replies. */
    @Test
    void syncAndAsyncCallersMixed() throws Exception {
        try (UsermodeProcess p = ChannelTest.framed(); UsermodeChannel ch = UsermodeChannel.open(p)) {
            ChannelTest.callFromThreads(16, 300, 50,
                    (thread, request) -> thread % 2 == 0 ? ch.call(request) : ch.callAsync(request).get());
        }
    }

    /**
     * 10,000 virtual threads calling 8 helpers at once, each helper slow to answer its first call:
     * while all of them wait, the JVM has no more carriers than the scheduler's (a virtual thread
     * never waits in read(2): it parks, and each channel's one reader thread reads); then each
     * gets its own reply. Java 21+.
     */
    @Test
    void tenThousandVirtualThreadsOnEightHelpers() throws Exception {
        ExecutorService virtual = PlatformThreads.virtualThreadPerTask();
        List<UsermodeProcess> helpers = new ArrayList<>();
        List<UsermodeChannel> channels = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                helpers.add(slowOnFirst());
                channels.add(UsermodeChannel.open(helpers.get(i)));
            }
            PlatformThreads threads = PlatformThreads.count();
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 10_000; t++) {
                int thread = t;
                done.add(virtual.submit(() -> {
                    byte[] request = bytes("virtual thread " + thread);
                    assertArrayEquals(request, channels.get(thread % 8).call(request));
                    return null;
                }));
            }
            for (UsermodeProcess p : helpers) { // each has a request it will not answer yet: a caller waits on each
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (p.getErrorStream().available() == 0) { // never a blocking read here: that could hang the test
                    assertTrue(System.nanoTime() < deadline, "helper pid " + p.pid() + " never got its first request");
                    Thread.sleep(10);
                }
            }
            Thread.sleep(200); // the rest of the 10,000 calls pile up behind
            int waiting = threads.more();
            int carriers = PlatformThreads.carriers();
            int readers = PlatformThreads.readers();
            for (UsermodeProcess p : helpers) {
                signal(p);
            }
            for (Future<?> f : done) {
                f.get();
            }
            int peak = threads.peakMore();
            int cpus = Runtime.getRuntime().availableProcessors();
            System.out.println("10,000 virtual threads on 8 helpers: while they waited, " + waiting + " platform threads more than before ("
                    + carriers + " carriers, scheduler parallelism " + cpus + "; " + readers + " channel reader threads); "
                    + peak + " more at the peak");
            assertTrue(carriers <= cpus + 2, carriers + " carriers for " + cpus + " CPUs: did a virtual thread wait in read(2)?");
            assertTrue(readers <= 8, readers + " reader threads");
            assertTrue(peak <= carriers + readers + 4, peak + " more platform threads");
        } finally {
            virtual.shutdownNow();
            for (int i = 0; i < channels.size(); i++) {
                channels.get(i).close();
                helpers.get(i).close();
            }
        }
    }
}
