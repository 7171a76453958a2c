package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A root JVM's sandboxed helpers join a mount namespace made once per policy (its root) and one
 * empty network namespace made once per JVM with an ipc namespace (io.umh.Namespaces), and still
 * get pid and uts namespaces of their own (and an ipc one where the policy allows an IPC call):
 * read from /proc/PID/ns of running helpers, as the kernel reports them.
 */
@Timeout(120)
class SharedNamespacesTest {
    private static final List<String> KINDS = List.of("mnt", "net", "pid", "ipc", "uts", "user");

    @BeforeAll
    static void rootOnly() throws IOException {
        assumeTrue(TestBlobs.root(), "reads other users' /proc/PID/ns and starts a JVM as uid 65534");
    }

    /** The namespaces a process is in, by kind: the nsfs link's text, e.g. "mnt:[4026532281]". */
    private static Map<String, String> namespaces(long pid) throws IOException {
        Map<String, String> m = new TreeMap<>();
        for (String k : KINDS) {
            m.put(k, Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/" + k)).toString());
        }
        return m;
    }

    /** One strict() fork, closed: the JVM's empty network namespace and strict()'s root exist from here on. */
    private static void strictOnce() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder().sandbox(EscapeTargets.strict()).build())) {
            assertEquals(0, p.waitFor());
        }
    }

    private static UsermodeProcess sleeper(SandboxPolicy policy) throws IOException {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), ForkOptions.builder().sandbox(policy).build());
        assertEquals("ready", new String(p.pipeFromUmh().readNBytes(5), StandardCharsets.US_ASCII));
        return p;
    }

    @Test
    void helpersShareTheirPolicysRootTheEmptyNetworkAndItsIpcButNotTheirPidUts(@TempDir Path dir) throws Exception {
        EscapeTargets.assumeFull(SandboxSupport.Layer.NAMESPACES, SandboxSupport.Layer.EMPTY_ROOT, SandboxSupport.Layer.SECCOMP);
        Map<String, String> jvm = namespaces(ProcessHandle.current().pid());
        SandboxPolicy other = EscapeTargets.policy().readOnly(dir).build();
        SandboxPolicy hostNetwork = EscapeTargets.policy().network(true).build();
        SandboxPolicy sysv = EscapeTargets.policy().allowSyscalls("shmget").build();
        try (UsermodeProcess a = sleeper(EscapeTargets.strict()); UsermodeProcess b = sleeper(EscapeTargets.strict());
             UsermodeProcess c = sleeper(other); UsermodeProcess d = sleeper(hostNetwork); UsermodeProcess e = sleeper(sysv)) {
            Map<String, String> na = namespaces(a.pid()), nb = namespaces(b.pid()), nc = namespaces(c.pid()), nd = namespaces(d.pid());
            Map<String, String> ne = namespaces(e.pid());
            for (String k : List.of("pid", "uts")) {
                assertNotEquals(jvm.get(k), na.get(k), k);
                assertNotEquals(na.get(k), nb.get(k), k + ": each helper's own");
            }
            assertNotEquals(jvm.get("ipc"), na.get("ipc"));
            assertEquals(na.get("ipc"), nb.get("ipc"), "the ipc namespace made with the empty network: no IPC call allowed");
            assertEquals(na.get("ipc"), nc.get("ipc"), "another policy without IPC calls: the same");
            assertEquals(na.get("ipc"), nd.get("ipc"), "network(true), no IPC call allowed: the same");
            assertNotEquals(na.get("ipc"), ne.get("ipc"), "a policy that allows shmget: an ipc namespace of its own");
            assertNotEquals(jvm.get("ipc"), ne.get("ipc"));
            assertEquals(na.get("net"), ne.get("net"));
            assertTrue(a.sandboxLayers().get(SandboxSupport.Layer.NAMESPACES).reason().contains("an ipc namespace (no IPC call allowed)"),
                    a.sandboxLayers().toString());
            assertTrue(e.sandboxLayers().get(SandboxSupport.Layer.NAMESPACES).reason().startsWith("pid, ipc, uts its own"),
                    e.sandboxLayers().toString());
            assertNotEquals(jvm.get("mnt"), na.get("mnt"));
            assertEquals(na.get("mnt"), nb.get("mnt"), "strict()'s root, made once");
            assertNotEquals(na.get("mnt"), nc.get("mnt"), "another policy, another root");
            assertNotEquals(jvm.get("net"), na.get("net"));
            assertEquals(na.get("net"), nc.get("net"), "the one empty network namespace");
            assertEquals(jvm.get("net"), nd.get("net"), "network(true): the host's");
            assertEquals(jvm.get("user"), na.get("user"), "a root JVM's helper: uid 0 without capabilities, no user namespace");
            assertTrue(Files.readAllLines(Path.of("/proc/" + a.pid() + "/status")).contains("CapEff:\t0000000000000000"));
            assertTrue(a.sandboxLayers().get(SandboxSupport.Layer.NAMESPACES).reason().contains("made once"),
                    a.sandboxLayers().toString());
            for (UsermodeProcess p : List.of(a, b, c, d, e)) {
                p.destroyForcibly();
                assertEquals(137, p.waitFor());
            }
        }
        assertEquals(jvm, namespaces(ProcessHandle.current().pid()), "the JVM's own namespaces, unchanged");
        // what makes the shared one safe: no IPC call gets through strict(); where one is allowed, it works, in its own
        EscapeTargets.Attempt refused = EscapeTargets.attempt(ForkOptions.builder().sandbox(EscapeTargets.strict()).build(), "shm");
        assertTrue(refused.killedBySeccomp(), refused.toString());
        SandboxPolicy shm = EscapeTargets.policy().allowSyscalls("shmget", "shmctl").build();
        EscapeTargets.Attempt allowed = EscapeTargets.attempt(ForkOptions.builder().sandbox(shm).build(), "shm");
        assertTrue(allowed.succeeded(), allowed.toString());
    }

    @Test
    void aPolicysRootIsMadeOnceAndLetGoWithThePolicy(@TempDir Path dir) throws Exception {
        EscapeTargets.assumeFull(SandboxSupport.Layer.NAMESPACES, SandboxSupport.Layer.EMPTY_ROOT);
        strictOnce();
        int fds = TestBlobs.openFds();
        List<String> before = TestBlobs.namespaceFds();
        String made = forkTwenty(EscapeTargets.policy().readOnly(dir).build(), before);
        TestBlobs.assertFds(fds);
        Await.until("the policy's namespace fd closed once the policy is unreachable", () -> {
            System.gc();
            return !TestBlobs.namespaceFds().contains(made);
        });
    }

    /** In a frame of its own: once it returns, nothing holds the policy. The namespace it made. */
    private static String forkTwenty(SandboxPolicy policy, List<String> before) throws Exception {
        try (UsermodeBlob exit = Umh.load(TestBlobs.bytes("exit"))) {
            ForkOptions o = ForkOptions.builder().sandbox(policy).build();
            for (int i = 0; i < 20; i++) {
                try (UsermodeProcess p = exit.fork(o)) {
                    assertEquals(0, p.waitFor());
                }
            }
        }
        List<String> now = new java.util.ArrayList<>(TestBlobs.namespaceFds());
        before.forEach(now::remove);
        assertEquals(1, now.size(), "the policy's mount namespace, one fd for all its forks: " + now);
        assertTrue(now.get(0).startsWith("mnt:["), now.toString());
        assertEquals(List.of(), TestBlobs.zombieChildren(), "the clone that made it was reaped");
        return now.get(0);
    }

    @Test
    void aRootThatCannotBeMadeFailsTheForkNamedLeavesNothingAndIsTriedAgain(@TempDir Path dir) throws Exception {
        EscapeTargets.assumeFull(SandboxSupport.Layer.NAMESPACES, SandboxSupport.Layer.EMPTY_ROOT);
        Path gone = Files.createDirectory(dir.resolve("gone"));
        SandboxPolicy policy = EscapeTargets.policy().readOnly(gone).build();
        Files.delete(gone); // exists at build(), not at the first fork: the bind fails
        ForkOptions o = ForkOptions.builder().sandbox(policy).build();
        strictOnce();
        int fds = TestBlobs.openFds();
        List<String> namespaces = TestBlobs.namespaceFds();
        IOException e = assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), o));
        assertTrue(e.getMessage().startsWith("fork: the sandbox's namespaces: ") && e.getMessage().contains("ENOENT"), e.getMessage());
        TestBlobs.assertFds(fds);
        assertTrue(namespaces.containsAll(TestBlobs.namespaceFds()), "no namespace fd of the failed set-up is left");
        assertEquals(List.of(), TestBlobs.zombieChildren());
        Files.createDirectory(gone);
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), o)) {
            assertEquals(0, p.waitFor(), "made at the next fork");
        }
    }

    /**
     * An unprivileged JVM's helpers join a user namespace made once (which owns the root and the
     * network and ipc made once) through a relay child that clones each with CLONE_PARENT: each is still the
     * JVM's child, pid 1 of its own pid namespace, with its own uts; a failed exec through the
     * relay leaves no zombie (the relay and the helper are both reaped).
     */
    @Test
    void anUnprivilegedJvmsHelpersJoinItsUserNamespaceThroughARelayAndAreItsChildren() throws Exception {
        EscapeTargets.assumeWhole();
        String out = TestBlobs.runAsNobody(Unprivileged.class, "sleeper");
        assertEquals("user mnt net ipc shared, not the JVM's\npid uts each its own\nparent: the JVM\nstatus 137 137\n"
                + "ENOEXEC, no zombie\nUSER_NAMESPACE FULL\n", out);
    }

    /** Run as uid 65534 by the test above. */
    public static final class Unprivileged {
        public static void main(String[] args) throws Exception {
            long jvm = ProcessHandle.current().pid();
            Map<String, String> own = namespaces(jvm);
            ForkOptions strict = ForkOptions.builder().sandbox(SandboxPolicy.strict()).build();
            try (UsermodeProcess a = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), strict);
                 UsermodeProcess b = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), strict)) {
                a.pipeFromUmh().readNBytes(5); // "ready" (no JUnit on this JVM's class path)
                b.pipeFromUmh().readNBytes(5);
                Map<String, String> na = namespaces(a.pid()), nb = namespaces(b.pid());
                boolean shared = true, ownEach = true;
                for (String k : List.of("user", "mnt", "net", "ipc")) {
                    shared &= na.get(k).equals(nb.get(k)) && !na.get(k).equals(own.get(k));
                }
                for (String k : List.of("pid", "uts")) {
                    ownEach &= !na.get(k).equals(nb.get(k)) && !na.get(k).equals(own.get(k));
                }
                System.out.println(shared ? "user mnt net ipc shared, not the JVM's" : "not shared: " + na + " " + nb + " " + own);
                System.out.println(ownEach ? "pid uts each its own" : "not their own: " + na + " " + nb);
                long pa = ProcessHandle.of(a.pid()).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L);
                System.out.println(pa == jvm ? "parent: the JVM" : "parent " + pa + ", the JVM is " + jvm);
                a.destroyForcibly();
                b.destroy(); // pid 1 of its pid namespace, no SIGTERM handler: a SIGKILL
                System.out.println("status " + a.waitFor() + " " + b.waitFor());
                if (a.sandboxLayers().get(SandboxSupport.Layer.USER_NAMESPACE).level() != SandboxSupport.Level.FULL) {
                    System.out.println("layers " + a.sandboxLayers());
                }
            }
            try {
                Umh.forkUsermodeBlob("no program at all".getBytes(StandardCharsets.US_ASCII), ForkOptions.builder()
                        .sandbox(SandboxPolicy.strict()).build()).close();
                System.out.println("forked?");
            } catch (IOException e) {
                System.out.println((e.getMessage().contains("ENOEXEC") ? "ENOEXEC" : e.getMessage())
                        + (TestBlobs.zombieChildren().isEmpty() ? ", no zombie" : ", zombies " + TestBlobs.zombieChildren()));
            }
            System.out.println("USER_NAMESPACE " + Umh.sandboxSupport().status(SandboxSupport.Layer.USER_NAMESPACE).level());
        }
    }
}
