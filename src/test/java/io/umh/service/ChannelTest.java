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
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.umh.ForkOptions;
import io.umh.TestBlobs;
import io.umh.Umh;
import io.umh.UsermodeProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Framed calls to the framed test blob: round trips, threads, and every way a helper can let a call down. */
@Timeout(60)
class ChannelTest {
    static UsermodeProcess framed(String... args) throws IOException {
        return Umh.forkUsermodeBlob(TestBlobs.bytes("framed"), ForkOptions.builder().args(args).build());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void framesOfEverySizeComeBackWhole() throws Exception {
        int before = TestBlobs.openFds();
        Random random = new Random(6);
        try (UsermodeProcess p = framed()) {
            UsermodeChannel ch = UsermodeChannel.open(p);
            for (int size : new int[] {0, 1, 4095, 65536, 65537, 300_000, UsermodeChannel.DEFAULT_MAX_FRAME_SIZE}) {
                byte[] request = new byte[size];
                random.nextBytes(request);
                assertArrayEquals(request, ch.call(request), "size " + size);
            }
            ch.close();
            assertFalse(ch.isOpen());
            assertEquals(0, p.waitFor()); // close() is EOF: the helper finished
            assertThrows(IOException.class, () -> ch.call(bytes("late")));
        }
        TestBlobs.assertFds(before);
    }

    /** 8 threads, 200 calls each, one helper: every caller gets the reply to its own request. */
    @Test
    void eightThreadsEachGetTheirOwnReplies() throws Exception {
        try (UsermodeProcess p = framed(); UsermodeChannel ch = UsermodeChannel.open(p)) {
            callFromThreads(8, 200, 40, (thread, request) -> ch.call(request));
        }
    }

    /** One call of {@link #callFromThreads}: its thread's number and its request; the reply. */
    interface Call {
        byte[] call(int thread, byte[] request) throws Exception;
    }

    /**
     * {@code threads} threads at once, {@code calls} calls each through {@code call}, each request
     * its thread's own (its text repeated 1 to {@code repeats} times): every reply must be its request.
     */
    static void callFromThreads(int threads, int calls, int repeats, Call call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < calls; i++) {
                        byte[] request = bytes(("thread " + thread + " call " + i + ";").repeat(1 + i % repeats));
                        assertArrayEquals(request, call.call(thread, request));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    /** The helper exits 3 on the 3rd request: that call fails saying so, and so does every later one, at once. */
    @Test
    void helperCrashingOnTheNthRequest() throws Exception {
        try (UsermodeProcess p = framed("-c", "3"); UsermodeChannel ch = UsermodeChannel.open(p)) {
            assertArrayEquals(bytes("one"), ch.call(bytes("one")));
            assertArrayEquals(bytes("two"), ch.call(bytes("two")));
            IOException e = assertThrows(IOException.class, () -> ch.call(bytes("three")));
            assertEquals("umh channel: helper pid " + p.pid() + " closed its stdout before replying (exit status 3)", e.getMessage());
            assertFalse(ch.isOpen());
            IOException later = assertThrows(IOException.class, () -> ch.call(bytes("four")));
            assertEquals(e.getMessage(), later.getMessage());
            assertEquals(3, p.exitValue());
        }
    }

    /** Killed and reaped between two calls: its stdin was closed at its exit, and the next call says it had exited. */
    @Test
    void helperReapedBetweenTwoCalls() throws Exception {
        try (UsermodeProcess p = framed(); UsermodeChannel ch = UsermodeChannel.open(p)) {
            assertArrayEquals(bytes("one"), ch.call(bytes("one")));
            p.destroyForcibly();
            assertEquals(137, p.waitFor());
            IOException e = assertThrows(IOException.class, () -> ch.call(bytes("two")));
            assertEquals("umh channel: helper pid " + p.pid() + " exited before it took the whole request (exit status 137)",
                    e.getMessage());
            assertFalse(ch.isOpen());
        }
    }

    /** Killed from outside while a caller waits for its reply: the caller gets an IOException, not a hang. */
    @Test
    void helperKilledWhileACallWaits() throws Exception {
        ForkOptions o = ForkOptions.builder().args("-w", "1").redirectError(Redirect.PIPE).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("framed"), o);
             UsermodeChannel ch = UsermodeChannel.open(p)) {
            ExecutorService caller = Executors.newSingleThreadExecutor();
            try {
                Future<byte[]> call = caller.submit(() -> ch.call(bytes("never answered")));
                assertEquals('w', p.getErrorStream().read()); // "waiting": the request is in, the reply not out
                p.destroyForcibly();
                Exception e = assertThrows(Exception.class, call::get);
                assertTrue(e.getCause() instanceof IOException, e.toString());
                assertEquals("umh channel: helper pid " + p.pid() + " closed its stdout before replying (exit status 137)",
                        e.getCause().getMessage());
            } finally {
                caller.shutdown();
            }
        }
    }

    /** The helper hangs on the 2nd request: after the channel's timeout it is killed and the channel closed. */
    @Test
    void timeoutKillsAHangingHelperAndClosesTheChannel() throws Exception {
        try (UsermodeProcess p = framed("-h", "2"); UsermodeChannel ch = UsermodeChannel.open(p, 1024, Duration.ofMillis(300))) {
            assertArrayEquals(bytes("fine"), ch.call(bytes("fine"), Duration.ofSeconds(30)));
            InterruptedIOException e = assertThrows(InterruptedIOException.class, () -> ch.call(bytes("hangs")));
            assertTrue(e.getMessage().contains("no reply from helper pid " + p.pid() + " within PT0.3S"), e.getMessage());
            assertEquals(128 + 9, p.exitValue());
            assertFalse(ch.isOpen());
            assertThrows(IOException.class, () -> ch.call(bytes("after")));
        }
    }

    /**
     * A call waiting for its turn past its timeout sends nothing and leaves the channel open; a call
     * in flight during close() still gets its reply, and then the helper gets EOF.
     */
    @Test
    void turnTimeoutSendsNothingAndCloseWaitsForTheCallInFlight() throws Exception {
        ForkOptions o = ForkOptions.builder().args("-w", "1").redirectError(Redirect.PIPE).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("framed"), o)) {
            UsermodeChannel ch = UsermodeChannel.open(p);
            ExecutorService caller = Executors.newSingleThreadExecutor();
            try {
                Future<byte[]> slow = caller.submit(() -> ch.call(bytes("slow")));
                BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
                assertEquals("waiting", err.readLine()); // the helper has the request: that call holds the turn
                assertThrows(InterruptedIOException.class, () -> ch.call(bytes("no turn"), Duration.ofMillis(200)));
                assertTrue(ch.isOpen());
                ch.close();
                assertEquals(0, new ProcessBuilder("kill", "-USR1", Long.toString(p.pid())).start().waitFor());
                assertArrayEquals(bytes("slow"), slow.get());
                assertEquals(0, p.waitFor()); // EOF once the call in flight was done
            } finally {
                caller.shutdown();
            }
        }
    }

    /**
     * What a service does with a helper that has exited: the channel closes at once, but the process
     * (its pipes) only once the call in flight has its answer, never under the caller's read.
     */
    @Test
    void closeWithProcessWaitsForTheCallInFlight() throws Exception {
        ForkOptions o = ForkOptions.builder().args("-w", "1").redirectError(Redirect.PIPE).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("framed"), o)) {
            UsermodeChannel ch = UsermodeChannel.open(p);
            ExecutorService caller = Executors.newSingleThreadExecutor();
            try {
                Future<byte[]> slow = caller.submit(() -> ch.call(bytes("slow")));
                assertEquals('w', p.getErrorStream().read()); // "waiting": the call is in flight
                ch.closeWithProcess(new IOException("gone"));
                assertFalse(ch.isOpen());
                assertEquals("gone", assertThrows(IOException.class, () -> ch.call(bytes("late"))).getMessage());
                assertTrue(p.pipeFromUmh().getFD().valid());
                assertTrue(p.isAlive());
                assertEquals(0, new ProcessBuilder("kill", "-USR1", Long.toString(p.pid())).start().waitFor());
                assertArrayEquals(bytes("slow"), slow.get());
                assertFalse(p.pipeFromUmh().getFD().valid()); // closed by the call, on its way out
                assertFalse(p.isAlive());
            } finally {
                caller.shutdown();
            }
        }
    }

    @Test
    void replyLongerThanTheMaximumFails() throws Exception {
        try (UsermodeProcess p = framed("-l", "1"); UsermodeChannel ch = UsermodeChannel.open(p)) {
            IOException e = assertThrows(IOException.class, () -> ch.call(bytes("x")));
            assertTrue(e.getMessage().contains("sent a reply of 2147483632 bytes, longer than the maximum frame size, 1048576"),
                    e.getMessage());
            assertFalse(ch.isOpen());
        }
    }

    /** A helper that writes a line before its frames (framed -r: "ready\n") is told it wrote text, not "a reply of N bytes". */
    @Test
    void aBannerOnStdoutIsReportedAsText() throws Exception {
        int before = TestBlobs.openFds();
        try (UsermodeProcess p = framed("-r"); UsermodeChannel ch = UsermodeChannel.open(p)) {
            IOException e = assertThrows(IOException.class, () -> ch.call(bytes("x")));
            assertEquals("umh channel: helper pid " + p.pid() + " wrote text on stdout: 'ready\\n'; does it print a banner"
                    + " or log to stdout? Its stdout carries only frames (a 4-byte length, then the bytes); log to stderr"
                    + " (exit status 137)", e.getMessage());
            assertFalse(ch.isOpen());
            IOException later = assertThrows(IOException.class, () -> ch.call(bytes("y")));
            assertEquals(e.getMessage(), later.getMessage());
        }
        TestBlobs.assertFds(before);
    }

    /** What a script's banner says is quoted, non-printable bytes escaped, at most 40 bytes of it. */
    @Test
    void aLongBannerIsQuotedEscapedAndCut() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("banner.sh")); UsermodeChannel ch = UsermodeChannel.open(p)) {
            IOException e = assertThrows(IOException.class, () -> ch.call(bytes("x")));
            assertTrue(e.getMessage().startsWith("umh channel: helper pid " + p.pid() + " wrote text on stdout:"
                    + " 'hello\\tworld \\x01 from a helper whose banner...'; does it print a banner or log to stdout?"),
                    e.getMessage());
        }
    }

    /** With a maximum over 512 MiB, text passes for a length until the helper closes its stdout: then it is named text too. */
    @Test
    void textTakenForALengthIsNamedOnceItEnds() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("hello.sh"));
             UsermodeChannel ch = UsermodeChannel.open(p, Integer.MAX_VALUE, null)) {
            IOException e = assertThrows(IOException.class, () -> ch.call(bytes("a line\n")));
            assertTrue(e.getMessage().startsWith("umh channel: helper pid " + p.pid() + " closed its stdout after "), e.getMessage());
            assertTrue(e.getMessage().contains(" of the 1751477356 bytes of a reply; it reads as text, 'hello from sh: \\nread: "),
                    e.getMessage());
            assertTrue(e.getMessage().endsWith(": does it print a banner or log to stdout? (exit status 7)"), e.getMessage());
        }
    }

    /** Even with no practical maximum, a claimed 2 GiB reply that brings 10 bytes costs about 64 KiB, not 2 GiB. */
    @Test
    void aClaimedLengthIsNeverAllocated() throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (UsermodeProcess p = framed("-l", "1"); UsermodeChannel ch = UsermodeChannel.open(p, Integer.MAX_VALUE, null)) {
            long before = threads.getCurrentThreadAllocatedBytes();
            IOException e = assertThrows(IOException.class, () -> ch.call(bytes("x")));
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertEquals("umh channel: helper pid " + p.pid() + " closed its stdout after 10 of the 2147483632 bytes"
                    + " of a reply (exit status 0)", e.getMessage());
            assertTrue(allocated < 16 << 20, "allocated " + allocated + " bytes");
        }
    }

    @Test
    void truncatedHeader() throws Exception {
        try (UsermodeProcess p = framed("-T", "1"); UsermodeChannel ch = UsermodeChannel.open(p)) {
            IOException e = assertThrows(IOException.class, () -> ch.call(bytes("x")));
            assertEquals("umh channel: helper pid " + p.pid() + " closed its stdout after 2 of the 4 bytes"
                    + " of a frame header (exit status 0)", e.getMessage());
        }
    }

    @Test
    void helperClosingMidFrame() throws Exception {
        try (UsermodeProcess p = framed("-t", "1"); UsermodeChannel ch = UsermodeChannel.open(p)) {
            IOException e = assertThrows(IOException.class, () -> ch.call(new byte[60]));
            assertEquals("umh channel: helper pid " + p.pid() + " closed its stdout after 50 of the 100 bytes"
                    + " of a reply (exit status 0)", e.getMessage());
        }
    }

    /** A request over the channel's maximum is refused before anything is sent; the channel goes on. */
    @Test
    void requestOverTheMaximumIsRefusedAndTheChannelStaysUsable() throws Exception {
        try (UsermodeProcess p = framed(); UsermodeChannel ch = UsermodeChannel.open(p, 16, null)) {
            assertThrows(IllegalArgumentException.class, () -> ch.call(new byte[17]));
            assertTrue(ch.isOpen());
            assertArrayEquals(new byte[16], ch.call(new byte[16]));
        }
    }

    /**
     * The C side refuses a frame over its own maximum (EMSGSIZE): it exits 4, and the call says so,
     * whether the helper was gone before the payload was written (EPIPE, or its stdin closed at its reaped exit)
     * or only before it replied.
     */
    @Test
    void helperRefusingARequestOverItsMaximum() throws Exception {
        try (UsermodeProcess p = framed("-m", "16"); UsermodeChannel ch = UsermodeChannel.open(p)) {
            assertArrayEquals(new byte[16], ch.call(new byte[16]));
            IOException e = assertThrows(IOException.class, () -> ch.call(new byte[17]));
            assertTrue(e.getMessage().matches("umh channel: helper pid " + p.pid() + " (closed its stdout before replying"
                    + "|could not take the request \\(Broken pipe\\)|exited before it took the whole request) \\(exit status 4\\)"), e.getMessage());
        }
    }
}
