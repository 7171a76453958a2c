package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.umh.EscapeTargets.AbstractListener;
import io.umh.EscapeTargets.Attempt;
import io.umh.EscapeTargets.Secret;
import io.umh.EscapeTargets.TcpListener;

/**
 * Every attempt of the escape helper succeeds without a sandbox, against real targets in this
 * JVM, and leaves nothing behind: so that a sandbox test that sees them refused cannot pass
 * vacuously (a typo'd path, a port nobody listens on, an attempt that never reached the kernel).
 * The root-only attempts (mount, chroot, mknod, hostname, bpf) are skipped for another uid.
 */
@Timeout(60)
class EscapeBlobTest {
    @TempDir
    Path dir;

    private String hostname;

    @BeforeEach
    void before() throws Exception {
        hostname = EscapeTargets.hostname();
    }

    /** Harmless: the host and this JVM as they were. */
    @AfterEach
    void harmless() throws Exception {
        assertEquals(hostname, EscapeTargets.hostname(), "hostname");
        assertFalse(EscapeTargets.mountedAt(dir), "a mount left on " + dir);
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(0, s.count(), "files left in " + dir);
        }
        assertEquals(0, EscapeTargets.tracerPid(EscapeTargets.jvmPid()), "the JVM is still traced");
        assertTrue(ProcessHandle.current().isAlive());
    }

    private static Attempt succeeds(String attempt, String... args) throws Exception {
        Attempt a = EscapeTargets.attempt(attempt, args);
        // under a fallback forced around the whole JVM (.ci/run), what that refuses the JVM too cannot be shown here
        org.junit.jupiter.api.Assumptions.assumeTrue(EscapeTargets.FORCED == null || a.succeeded(),
                () -> "refused to this JVM itself by the forced fallback " + EscapeTargets.FORCED + ": " + a);
        assertTrue(a.succeeded(), a.toString());
        return a;
    }

    private static String pid() {
        return Long.toString(EscapeTargets.jvmPid());
    }

    @ParameterizedTest
    @ValueSource(strings = {"ok", "socket", "fork", "memfd-exec", "unshare", "perf", "userfaultfd", "io_uring",
        "keyctl", "unix-socket", "shm"})
    void withoutArguments(String attempt) throws Exception {
        succeeds(attempt);
    }

    @Test
    void readsAFile() throws Exception {
        succeeds("read", "/etc/passwd");
        assertEquals("ENOENT", EscapeTargets.attempt("read", dir.resolve("none").toString()).refusal().orElseThrow());
    }

    @Test
    void writesAndRemovesAFile() throws Exception {
        succeeds("write", dir.toString());
        assertEquals("ENOENT", EscapeTargets.attempt("write", dir.resolve("none").toString()).refusal().orElseThrow());
    }

    @Test
    void readsTheSecretThroughProcMem() throws Exception {
        succeeds("procmem", pid());
        try (Secret secret = new Secret()) {
            assertEquals(secret.hex(), succeeds("procmem", pid(), secret.address()).detail());
        }
    }

    @Test
    void readsTheSecretWithProcessVmReadv() throws Exception {
        try (Secret secret = new Secret()) {
            assertEquals(secret.hex(), succeeds("vmread", pid(), secret.address()).detail());
        }
    }

    /** Seized without stopping it; detached when the helper exits (harmless() checks TracerPid). */
    @Test
    void seizesTheJvmWithPtrace() throws Exception {
        succeeds("ptrace", pid());
    }

    @Test
    void signalsTheJvm() throws Exception {
        succeeds("kill", pid());
    }

    @Test
    void dupsAnFdOfTheJvm() throws Exception {
        Path file = dir.resolve("fd");
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            succeeds("pidfd-getfd", pid(), Integer.toString(EscapeTargets.fdOf(file)));
            assertTrue(c.isOpen());
            c.write(java.nio.ByteBuffer.wrap(new byte[] {1})); // still this JVM's, still open
        }
        Files.delete(file);
    }

    @Test
    void connectsToALoopbackListener() throws Exception {
        try (TcpListener l = new TcpListener()) {
            succeeds("tcp", Integer.toString(l.port()));
            assertEquals(1, l.accepted(Duration.ofSeconds(10)));
        }
        assertEquals("ECONNREFUSED", closedPort());
    }

    private static String closedPort() throws Exception {
        int port;
        try (TcpListener l = new TcpListener()) {
            port = l.port();
        }
        return EscapeTargets.attempt("tcp", Integer.toString(port)).refusal().orElseThrow();
    }

    @Test
    void connectsToAnAbstractListener() throws Exception {
        try (AbstractListener l = new AbstractListener()) {
            succeeds("abstract", l.name());
            assertEquals(1, l.finish());
        }
        assertEquals("ECONNREFUSED", EscapeTargets.attempt("abstract", "umh-escape-nobody").refusal().orElseThrow());
    }

    @Test
    void anAbstractListenerCountsNoneWhenNoneCame() throws Exception {
        try (AbstractListener l = new AbstractListener()) {
            assertEquals(0, l.finish());
        }
    }

    /** The shell prints "exec ok" itself: the line proves /bin/sh ran. */
    @Test
    void execsTheShell() throws Exception {
        succeeds("exec", "/bin/sh");
        assertEquals("ENOENT", EscapeTargets.attempt("exec", dir.resolve("none").toString()).refusal().orElseThrow());
    }

    @Test
    void mountsOnTheTestsDirectoryAndUndoesIt() throws Exception {
        assumeTrue(TestBlobs.root(), "root only");
        succeeds("mount", dir.toString());
    }

    @Test
    void chrootsItself() throws Exception {
        assumeTrue(TestBlobs.root(), "root only");
        succeeds("chroot", dir.toString());
    }

    @Test
    void makesADeviceNodeAndRemovesIt() throws Exception {
        assumeTrue(TestBlobs.root(), "root only");
        succeeds("mknod", dir.toString());
    }

    @Test
    void setsTheHostnameToItsCurrentValue() throws Exception {
        assumeTrue(TestBlobs.root(), "root only");
        succeeds("hostname");
    }

    @Test
    void createsABpfMap() throws Exception {
        assumeTrue(TestBlobs.root(), "root only (unprivileged_bpf_disabled)");
        succeeds("bpf");
    }

    /** The guards: a target that could harm the host is a usage error (exit 2), never "refused". */
    @Test
    void refusesHarmfulTargetsItself() throws Exception {
        for (String[] args : new String[][] {{"kill", "-1"}, {"kill", "0"}, {"kill", "1"}, {"ptrace", "-1"},
            {"mount", "/"}, {"mount", "/tmp"}, {"write", "relative"}, {"nosuch"}, {"read"}}) {
            Attempt a = EscapeTargets.attempt(args[0], java.util.Arrays.copyOfRange(args, 1, args.length));
            assertEquals(2, a.status, a.toString());
            assertTrue(a.lines.isEmpty(), a.toString());
            assertFalse(a.stderr.isEmpty(), a.toString());
        }
        Files.writeString(dir.resolve("x"), "x");
        try {
            assertEquals(2, EscapeTargets.attempt("mount", dir.toString()).status, "a directory that is not empty");
        } finally {
            Files.delete(dir.resolve("x"));
        }
    }
}
