package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** sendSignal: any signal through the pidfd, each received as sent (the signals blob reports it); refused after the reap. */
@Timeout(60)
class SignalTest {
    /** The signals blob, once it has said "ready" (its handlers are installed). */
    private static UsermodeProcess reporter() throws IOException {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("signals"));
        assertEquals("ready", line(p));
        return p;
    }

    /** One line of the helper's stdout, unbuffered: a reader would hold back what the next line needs. */
    private static String line(UsermodeProcess p) throws IOException {
        StringBuilder s = new StringBuilder();
        for (int c; (c = p.pipeFromUmh().read()) != '\n'; ) {
            if (c < 0) {
                throw new AssertionError("EOF after \"" + s + "\"");
            }
            s.append((char) c);
        }
        return s.toString();
    }

    @ParameterizedTest
    @EnumSource(value = Signal.class, names = {"SIGKILL", "SIGSTOP"}, mode = EnumSource.Mode.EXCLUDE)
    void eachSignalArrivesAsItself(Signal signal) throws Exception {
        try (UsermodeProcess p = reporter()) {
            assertTrue(p.sendSignal(signal));
            assertEquals("signal " + signal.number(), line(p));
            p.pipeToUmh().close();
            assertEquals(0, p.waitFor()); // it caught the signal and went on
        }
    }

    /** A real-time signal, by number. */
    @Test
    void aRealTimeSignalByNumber() throws Exception {
        try (UsermodeProcess p = reporter()) {
            assertTrue(p.sendSignal(40));
            assertEquals("signal 40", line(p));
        }
    }

    /** SIGSTOP stops it (state T in /proc), SIGCONT continues it, which it reports. */
    @Test
    void stopAndContinue() throws Exception {
        try (UsermodeProcess p = reporter()) {
            assertTrue(p.sendSignal(Signal.SIGSTOP));
            Await.until("the helper to be stopped", () -> state(p.pid()) == 'T');
            assertTrue(p.sendSignal(Signal.SIGCONT));
            assertEquals("signal " + Signal.SIGCONT.number(), line(p));
        }
    }

    /** The state letter of /proc/PID/stat, after the command in parentheses. */
    private static char state(long pid) {
        String stat = TestBlobs.stat(pid);
        return stat == null ? '?' : stat.charAt(stat.lastIndexOf(')') + 2);
    }

    /** A helper with no handler dies of the signal: 128+N, as the JDK reports it. */
    @Test
    void anUncaughtSignalEndsTheHelper() throws Exception {
        try (UsermodeProcess p = ProcessContractTest.sleeper()) {
            assertTrue(p.sendSignal(Signal.SIGHUP));
            assertEquals(128 + 1, p.waitFor());
        }
    }

    /** Once reaped, the pid may be another process's: refused. Bad numbers are refused, naming them. */
    @Test
    void refusedAfterTheReapAndForBadNumbers() throws Exception {
        UsermodeProcess p = reporter();
        p.pipeToUmh().close();
        assertEquals(0, p.waitFor());
        assertFalse(p.sendSignal(Signal.SIGUSR1));
        assertFalse(p.sendSignal(10));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.sendSignal(65));
        assertTrue(e.getMessage().contains("65"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> p.sendSignal(0));
        assertThrows(NullPointerException.class, () -> p.sendSignal(null));
        p.close();
    }
}
