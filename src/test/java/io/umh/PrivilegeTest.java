package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import io.umh.ForkOptions.Resource;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Least privilege for helpers: each option, as the helper itself sees it. */
@Timeout(60)
class PrivilegeTest {
    private static Map<String, String> probe(ForkOptions o) throws Exception {
        return TestBlobs.probe(o);
    }

    private static boolean root() throws IOException {
        return TestBlobs.root();
    }

    @Test
    void defaultsChangeNothing() throws Exception {
        Map<String, String> m = probe(ForkOptions.defaults());
        assertEquals("0", m.get("NoNewPrivs"));
        assertEquals("0", m.get("session_leader"));
    }

    @Test
    void noNewPrivileges() throws Exception {
        assertEquals("1", probe(ForkOptions.builder().noNewPrivileges(true).build()).get("NoNewPrivs"));
    }

    @Test
    void newSession() throws Exception {
        assertEquals("1", probe(ForkOptions.builder().newSession(true).build()).get("session_leader"));
    }

    @Test
    void umask(@TempDir Path dir) throws Exception {
        assertEquals("0077", probe(ForkOptions.builder().umask(077).build()).get("Umask"));
        assertEquals("0000", probe(ForkOptions.builder().umask(0).build()).get("Umask"));
        assertThrows(IllegalArgumentException.class, () -> ForkOptions.builder().umask(01000));
    }

    @Test
    void resourceLimits() throws Exception {
        Map<String, String> m = probe(ForkOptions.builder()
                .resourceLimit(Resource.ADDRESS_SPACE, 1L << 30, 2L << 30)
                .resourceLimit(Resource.CPU_SECONDS, 5, 10)
                .resourceLimit(Resource.OPEN_FILES, 64, 128)
                .resourceLimit(Resource.PROCESSES, 1000, 1000)
                .resourceLimit(Resource.CORE_SIZE, 0, 0)
                .build());
        assertEquals((1L << 30) + "/" + (2L << 30), m.get("limit.AS"));
        assertEquals("5/10", m.get("limit.CPU"));
        assertEquals("64/128", m.get("limit.NOFILE"));
        assertEquals("1000/1000", m.get("limit.NPROC"));
        assertEquals("0/0", m.get("limit.CORE"));
        assertThrows(IllegalArgumentException.class,
                () -> ForkOptions.builder().resourceLimit(Resource.CPU_SECONDS, 10, 5));
    }

    /**
     * A limit the child may not raise: the fork fails with the errno, as any step before the exec.
     * No NOFILE limit may exceed fs.nr_open, whose maximum is below 2^31, not even with
     * CAP_SYS_RESOURCE: so this holds for root too.
     */
    @Test
    void limitAboveTheHardLimitIsEperm() throws Exception {
        IOException e = assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("exit"),
                ForkOptions.builder().resourceLimit(Resource.OPEN_FILES, 1L << 40, 1L << 40).build()));
        assertTrue(e.getMessage().startsWith("fork: prlimit64 failed: EPERM"), e.getMessage());
    }

    /**
     * The limit bites: 64 KiB of address space cannot hold the program. The kernel finds out after
     * the exec's point of no return (the old image is gone), so the helper is killed by a signal.
     */
    @Test
    void addressSpaceLimitBites() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"),
                ForkOptions.builder().resourceLimit(Resource.ADDRESS_SPACE, 65536, 65536).build())) {
            int status = p.waitFor();
            assertTrue(status == 128 + 9 || status == 128 + 11, "status " + status);
        }
    }

    @Test
    void userAndGroup() throws Exception {
        assumeTrue(root(), "needs root");
        Map<String, String> m = probe(ForkOptions.builder().user(65534, 65534).build());
        assertTrue(m.get("Uid").matches("65534\\s+65534\\s+65534\\s+65534"), m.get("Uid"));
        assertTrue(m.get("Gid").matches("65534\\s+65534\\s+65534\\s+65534"), m.get("Gid"));
        assertEquals("", m.get("Groups").trim());
        assertThrows(IllegalArgumentException.class, () -> ForkOptions.builder().user(-1, 0));
    }

    /**
     * Regression: {@code user(uid, gid)} turned the JVM itself non-dumpable (1 to 0). The child
     * shares the JVM's mm until it execs, and the kernel resets the mm's dumpable flag when the
     * child changes its credentials. After any fork the JVM must still be dumpable.
     */
    @Test
    void userKeepsTheJvmDumpable() throws Exception {
        assumeTrue(root(), "needs root");
        // a JVM is dumpable when it starts; 0 here means an earlier fork in this JVM reset it
        assertEquals(1, Native.dumpable(), "the JVM's PR_GET_DUMPABLE before this test's forks");
        forkThenDumpable("default options", ForkOptions.defaults());
        forkThenDumpable("user(65534, 65534)", ForkOptions.builder().user(65534, 65534).build());
        // cloned on the calling thread rather than the spawner: the same mm either way
        forkThenDumpable("user(65534, 65534), killOnParentDeath(false)",
                ForkOptions.builder().user(65534, 65534).killOnParentDeath(false).build());
    }

    private static void forkThenDumpable(String what, ForkOptions o) throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), o)) {
            assertEquals(0, p.waitFor(), what);
        }
        assertEquals(1, Native.dumpable(), "the JVM's PR_GET_DUMPABLE after a fork with " + what);
    }
}
