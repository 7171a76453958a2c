package io.umh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

import io.umh.ForkOptions;
import io.umh.TestBlobs;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The CLI's stdin bridge: it copies what arrives, and an interrupt ends it while its input is an
 * open pipe that nothing is written to (the CLI's stdin after the child is done), where a plain
 * FileInputStream read would block for good and hold the JVM's exit up (~300 ms: HotSpot waits for
 * threads in native code).
 */
@Timeout(60)
class CopyInBackgroundTest {
    @Test
    void copiesAndEndsAtAnInterruptWhileItsPipeStaysOpen() throws Exception {
        // sleeper -p: "ready\n", then its stdout stays open and silent
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("sleeper"));
             UsermodeProcess p = blob.fork(ForkOptions.builder().args("-p").build())) {
            FileInputStream silent = p.pipeFromUmh();
            ByteArrayOutputStream copied = new ByteArrayOutputStream();
            AtomicBoolean closed = new AtomicBoolean();
            OutputStream to = new OutputStream() {
                @Override
                public synchronized void write(byte[] b, int off, int len) {
                    copied.write(b, off, len);
                }

                @Override
                public void write(int b) {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void close() {
                    closed.set(true);
                }
            };
            Thread t = Cli.copyInBackground(silent, to, "copy-test");
            for (long end = System.nanoTime() + 30_000_000_000L; copied.size() < 6 && System.nanoTime() < end; ) {
                Thread.sleep(1);
            }
            synchronized (to) {
                assertEquals("ready\n", copied.toString(StandardCharsets.US_ASCII));
            }
            assertTrue(t.isAlive(), "blocked in its read of the open pipe");
            t.interrupt();
            t.join(30_000);
            assertFalse(t.isAlive(), "still blocked after the interrupt");
            assertTrue(closed.get(), "the output closed at the end");
            assertFalse(silent.getChannel().isOpen(), "the input's channel (and fd) closed by the interrupt");
        }
    }

    /** A read that the interrupt ended leaves the stream closed, not broken: its owner's close still works. */
    @Test
    void theInterruptedStreamClosesAgainQuietly() throws IOException, InterruptedException {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("sleeper"));
             UsermodeProcess p = blob.fork(ForkOptions.builder().args("-p").build())) {
            Thread t = Cli.copyInBackground(p.pipeFromUmh(), OutputStream.nullOutputStream(), "copy-test");
            t.interrupt();
            t.join(30_000);
            assertFalse(t.isAlive());
            p.pipeFromUmh().close(); // no exception: closing twice is nothing
        }
    }
}
