package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Each fallback of the sandbox, forced by the kernel itself rather than by umh's test hook: a
 * second JVM runs under test-blobs/refuse.c, which makes the kernel refuse one thing the sandbox
 * needs (a container's seccomp profile, an LSM refusing the id maps, no Landlock or an older ABI,
 * an outer seccomp listener, no clone3). In each, {@link Umh#sandboxSupport()} names the layer
 * lost and why, a REQUIRED fork throws naming it (where the layer is required), a BEST_EFFORT one
 * runs and its {@link UsermodeProcess#sandboxLayers()} says what it lost, and the helper is still
 * confined by the layers that remain: the escape attempts are stopped or refused.
 */
@Timeout(120)
class FallbackTest {
    /** Runs {@link Report} under {@code refuse ARGS...} (as uid 65534 with {@code nobody}): its lines by key. */
    private static Map<String, String> report(boolean nobody, String... refuse) throws Exception {
        assumeTrue(TestBlobs.root(), "needs root: refuse installs its seccomp filter or Landlock domain without"
                + " no_new_privs, and the unprivileged runs setpriv to uid 65534");
        List<String> prefix = new ArrayList<>(List.of(TestBlobs.path("refuse").toAbsolutePath().toString()));
        prefix.addAll(List.of(refuse));
        String classPath = System.getProperty("java.class.path");
        List<String> jvmArgs = new ArrayList<>();
        if (nobody) {
            List<String> files = new ArrayList<>(TestBlobs.classPathFiles());
            files.addAll(List.of(TestBlobs.path("escape").toAbsolutePath().toString(), TestBlobs.javaExecutable(),
                    TestBlobs.library()));
            String unreadable = TestBlobs.unreadableByNobody(files);
            assumeTrue(unreadable.isEmpty(), "uid 65534 cannot read " + unreadable + " (checkout under /root?)");
            prefix.addAll(TestBlobs.AS_NOBODY);
            classPath = String.join(java.io.File.pathSeparator, TestBlobs.classPathFiles());
            jvmArgs.add("-Dumh.native.path=" + TestBlobs.library());
        }
        String out = TestBlobs.run(TestBlobs.javaCommand(prefix, jvmArgs, classPath, Report.class));
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : out.lines().toList()) {
            int sp = line.indexOf(' ');
            m.put(sp < 0 ? line : line.substring(0, sp), sp < 0 ? "" : line.substring(sp + 1));
        }
        assertTrue(m.containsKey("end"), "the second JVM did not finish:\n" + out);
        return m;
    }

    /** The REQUIRED fork's exception, naming first what this fallback took. */
    private static void assertRequiredFailsNaming(Map<String, String> r, String first) {
        assertTrue(r.get("required").startsWith("fork: the sandbox cannot be enforced here (Enforcement.REQUIRED): " + first),
                r.get("required"));
    }

    /** The escape attempts under strict() with BEST_EFFORT: each stopped by seccomp, or refused. */
    private static void assertConfined(Map<String, String> r) {
        for (String a : List.of("read", "kill", "tcp", "abstract")) {
            assertTrue(r.get(a).startsWith("killed") || r.get(a).startsWith("refused"), a + ": " + r);
        }
        assertEquals("ok", r.get("ok"), r.toString());
    }

    /**
     * Docker's default seccomp profile: clone and unshare with CLONE_NEWUSER fail EPERM (clone3
     * ENOSYS, since a filter cannot read its flags). As root the JVM still makes the other
     * namespaces, without a user namespace, through clone: the helper is pid 1 of its own pid
     * namespace, its pid from the clone, its pidfd opened after.
     */
    @Test
    void aContainersProfileRefusingUserNamespacesAsRoot() throws Exception {
        Map<String, String> r = report(false, "userns");
        assertEquals("NONE (a clone with CLONE_NEWUSER is refused: clone failed: EPERM (Operation not permitted)"
                + " (a seccomp filter around this JVM, as a container's profile has, or an LSM))", r.get("USER_NAMESPACE"));
        assertEquals("FULL (as root, without a user namespace)", r.get("NAMESPACES"));
        assertEquals("runs", r.get("required"), "a root JVM needs no user namespace");
        assertEquals("NONE", r.get("process-USER_NAMESPACE"));
        assertEquals("FULL", r.get("process-NAMESPACES"));
        assertTrue(r.get("clone3").startsWith("clone3 failed: ENOSYS"), r.toString());
        assertEquals("socket", r.get("violation"));
        assertEquals("137 pid>1", r.get("pid1"));
        assertConfined(r);
    }

    /** The same profile around an unprivileged JVM: no namespaces at all; Landlock and seccomp remain. */
    @Test
    void aContainersProfileRefusingUserNamespacesUnprivileged() throws Exception {
        Map<String, String> r = report(true, "userns");
        assertTrue(r.get("USER_NAMESPACE").startsWith("NONE (a clone with CLONE_NEWUSER is refused: clone failed: EPERM"), r.toString());
        assertTrue(r.get("NAMESPACES").startsWith("NONE (needs a user namespace: a clone with CLONE_NEWUSER is refused"), r.toString());
        assertRequiredFailsNaming(r, "USER_NAMESPACE: a clone with CLONE_NEWUSER is refused: clone failed: EPERM");
        assertTrue(r.get("required").contains("; NAMESPACES: needs a user namespace"), r.get("required"));
        assertEquals("NONE", r.get("process-NAMESPACES"));
        assertEquals("FULL", r.get("process-LANDLOCK_FILESYSTEM"));
        assertEquals("FULL", r.get("process-SECCOMP"));
        assertEquals("socket", r.get("violation"));
        assertConfined(r);
        assertEquals("refused EACCES", r.get("read-landlock"), "Landlock, not an empty root, keeps /etc/passwd out now");
    }

    /**
     * An LSM lets the clone of a user namespace through and refuses its id maps, as Ubuntu's
     * AppArmor restriction does (kernel.apparmor_restrict_unprivileged_userns=1): here Landlock
     * denies every write under /proc, so the first map write (setgroups) is refused, EACCES.
     */
    @Test
    void anLsmRefusingTheIdMapsUnprivileged() throws Exception {
        Map<String, String> r = report(true, "proc-write");
        assertEquals("NONE (a clone makes a user namespace, but its id maps are refused: write(/proc/self/setgroups)"
                + " failed: EACCES (Permission denied) (an LSM, as Ubuntu's AppArmor restriction of unprivileged user"
                + " namespaces; or a JVM that is not dumpable, whose /proc/self is root's))", r.get("USER_NAMESPACE"));
        assertTrue(r.get("required").contains("USER_NAMESPACE: a clone makes a user namespace, but its id maps are refused"),
                r.get("required"));
        assertEquals("NONE", r.get("process-USER_NAMESPACE"));
        assertEquals("FULL", r.get("process-SECCOMP"));
        assertEquals("socket", r.get("violation"));
        assertConfined(r);
    }

    /**
     * A root JVM that already runs in a Landlock domain (a supervisor's sandbox around it): it
     * makes namespaces but may not mount, so the empty root is NONE, named by the probe (before
     * this fallback, the probe said FULL and every strict() fork failed in the root's first
     * mount); Landlock, seccomp and the namespaces remain, and keep /etc/passwd out.
     */
    @Test
    void aLandlockDomainAroundARootJvm() throws Exception {
        Map<String, String> r = report(false, "proc-write");
        assertEquals("NONE (the root cannot be mounted: mount(/, MS_REC|MS_PRIVATE) failed: EPERM (Operation not permitted)"
                + " (this JVM in a Landlock domain, which may not mount, or an LSM or seccomp filter refusing mount))",
                r.get("EMPTY_ROOT"));
        assertTrue(r.get("NAMESPACES").startsWith("FULL"), r.toString());
        assertRequiredFailsNaming(r, "EMPTY_ROOT: the root cannot be mounted");
        assertEquals("NONE", r.get("process-EMPTY_ROOT"));
        assertEquals("FULL", r.get("process-NAMESPACES"));
        assertEquals("FULL", r.get("process-LANDLOCK_FILESYSTEM"));
        assertEquals("socket", r.get("violation"));
        assertConfined(r);
        assertEquals("refused EACCES", r.get("read-landlock"), "Landlock, not an empty root, keeps /etc/passwd out");
    }

    /** No Landlock (its calls ENOSYS, as before 5.13): every Landlock layer NONE, named; seccomp and the namespaces remain. */
    @Test
    void noLandlock() throws Exception {
        Map<String, String> r = report(false, "landlock");
        String none = "NONE (no Landlock (ENOSYS): a kernel older than 5.13 or without CONFIG_SECURITY_LANDLOCK, or an emulator)";
        assertEquals(none, r.get("LANDLOCK_FILESYSTEM"));
        assertEquals(none, r.get("LANDLOCK_SCOPES"));
        assertRequiredFailsNaming(r, "LANDLOCK_FILESYSTEM: no Landlock (ENOSYS)");
        assertEquals("NONE", r.get("process-LANDLOCK_FILESYSTEM"));
        assertEquals("FULL", r.get("process-NAMESPACES"));
        assertEquals("socket", r.get("violation"));
        assertConfined(r);
        assertEquals("refused ENOENT", r.get("read-landlock"), "the empty root keeps /etc/passwd out");
    }

    /**
     * Landlock ABI 3 (Linux 6.2: no TCP rules, no scopes), then ABI 1, as a seccomp listener held by refuse
     * answers the version query; that listener also takes the helper's (EBUSY), as an outer
     * runtime's would. The file system layer is down-levelled, TCP and scopes named missing.
     */
    @Test
    void anOlderLandlockAbi() throws Exception {
        Map<String, String> r = report(false, "landlock-abi", "3");
        assertEquals("FULL (Landlock ABI 3)", r.get("LANDLOCK_FILESYSTEM"));
        assertEquals("NONE (Landlock ABI 3 < 4: TCP not restricted)", r.get("LANDLOCK_NETWORK"));
        assertEquals("NONE (Landlock ABI 3 < 6: signals and abstract sockets not scoped)", r.get("LANDLOCK_SCOPES"));
        assertTrue(r.get("required").contains("LANDLOCK_NETWORK: Landlock ABI 3 < 4: TCP not restricted; LANDLOCK_SCOPES:"),
                r.get("required"));
        assertEquals("NONE", r.get("process-LANDLOCK_SCOPES"));
        assertEquals("FULL", r.get("process-LANDLOCK_FILESYSTEM"));
        assertConfined(r);
        assertEquals("refused ENOENT", r.get("read-landlock"));

        r = report(false, "landlock-abi", "1"); // Linux 5.13: no truncate right yet
        assertEquals("PARTIAL (Landlock ABI 1 < 3: truncate not restricted)", r.get("LANDLOCK_FILESYSTEM"));
        assertTrue(r.get("required").contains("LANDLOCK_FILESYSTEM: Landlock ABI 1 < 3: truncate not restricted"), r.get("required"));
        assertEquals("PARTIAL", r.get("process-LANDLOCK_FILESYSTEM"));
        assertConfined(r);
    }

    /**
     * An outer seccomp filter holding a listener (a container runtime's, a supervisor's): the
     * helper's own is EBUSY, so a violation is the seccomp kill, "unknown" with the reason; the
     * fork is not refused for it, and everything else holds.
     */
    @Test
    void noListenerForTheHelper() throws Exception {
        Map<String, String> r = report(false, "listener");
        assertTrue(r.get("VIOLATION_NAMES").startsWith("NONE (no seccomp user-notify listener: an outer seccomp filter"
                + " already holds a listener"), r.toString());
        assertTrue(r.get("VIOLATION_NAMES").contains("failed: EBUSY"), r.get("VIOLATION_NAMES"));
        assertEquals("runs", r.get("required"), "the kill still stops the helper: no reason to refuse the fork");
        assertEquals("NONE", r.get("process-VIOLATION_NAMES"));
        assertEquals("unknown", r.get("violation"));
        assertTrue(r.get("violation-detail").contains("an outer seccomp filter already holds a listener"), r.toString());
        assertConfined(r);
    }

    /** No clone3 (ENOSYS): clone instead, every layer but the cgroup's still FULL, the pid from the clone, the call named. */
    @Test
    void noClone3() throws Exception {
        Map<String, String> r = report(false, "clone3");
        assertTrue(r.get("clone3").startsWith("clone3 failed: ENOSYS"), r.toString());
        assertTrue(r.get("table").contains("no clone3 (clone3 failed: ENOSYS"), r.get("table"));
        for (String l : List.of("USER_NAMESPACE", "NAMESPACES", "LANDLOCK_FILESYSTEM", "SECCOMP", "VIOLATION_NAMES")) {
            assertTrue(r.get(l).startsWith("FULL"), l + ": " + r);
        }
        assertEquals("runs", r.get("required"));
        assertEquals("socket", r.get("violation"));
        assertEquals("137 pid>1", r.get("pid1"));
        assertConfined(r);
        if (!r.get("CGROUP").contains("no cgroup v2 mounted")) {
            assertTrue(r.get("CGROUP").startsWith("NONE (clone3 cannot start a helper in a cgroup"), r.get("CGROUP"));
        }
    }

    /** Run in the second JVM: one "KEY VALUE" line per finding, then "end". */
    public static final class Report {
        public static void main(String[] args) throws Exception {
            SandboxSupport s = Umh.sandboxSupport();
            for (SandboxSupport.Layer l : SandboxSupport.Layer.values()) {
                System.out.println(l + " " + s.status(l));
            }
            System.out.println("clone3 " + (s.clone3Refusal == null ? "ok" : s.clone3Refusal));
            System.out.println("table " + s.toString().replace('\n', '|'));
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"),
                    ForkOptions.builder().sandbox(SandboxPolicy.strict()).build())) {
                p.waitFor();
                System.out.println("required runs");
            } catch (java.io.IOException e) {
                System.out.println("required " + e.getMessage());
            }
            SandboxPolicy best = SandboxPolicy.builder().enforcement(Enforcement.BEST_EFFORT).build();
            ForkOptions o = ForkOptions.builder().sandbox(best).build();
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), o)) {
                p.waitFor();
                p.sandboxLayers().forEach((l, st) -> System.out.println("process-" + l + " " + st.level()));
            }
            String jvm = Long.toString(EscapeTargets.jvmPid());
            try (EscapeTargets.TcpListener tcp = new EscapeTargets.TcpListener();
                 EscapeTargets.AbstractListener abs = new EscapeTargets.AbstractListener()) {
                for (String[] a : new String[][] {{"read", "/etc/passwd"}, {"kill", jvm}, {"tcp", Integer.toString(tcp.port())},
                        {"abstract", abs.name()}, {"ok"}}) {
                    System.out.println(a[0] + " " + outcome(EscapeTargets.attempt(o, a[0], Arrays.copyOfRange(a, 1, a.length))));
                }
                if (tcp.accepted(java.time.Duration.ofMillis(100)) != 0 || abs.finish() != 0) {
                    System.out.println("accepted a connection");
                }
            }
            // what Landlock or the empty root does where seccomp lets the call through (files allowed)
            ForkOptions files = ForkOptions.builder().sandbox(SandboxPolicy.builder().readOnly(java.nio.file.Path.of("/dev/null"))
                    .enforcement(Enforcement.BEST_EFFORT).build()).build();
            System.out.println("read-landlock " + outcome(EscapeTargets.attempt(files, "read", "/etc/passwd")));
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("escape"), o.toBuilder().args("socket").build())) {
                p.pipeToUmh().close();
                p.waitFor();
                SandboxViolation v = p.violation().orElseThrow();
                System.out.println("violation " + v.syscall());
                System.out.println("violation-detail " + v.detail());
            }
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), o)) {
                p.pipeFromUmh().readNBytes(6); // "ready"
                p.destroy();
                System.out.println("pid1 " + p.waitFor() + (p.pid() > 1 ? " pid>1" : " pid " + p.pid()));
            }
            System.out.println("end");
        }

        private static String outcome(EscapeTargets.Attempt a) {
            return a.succeeded() ? "ok" : a.killedBySeccomp() ? "killed" : a.refusal().map(e -> "refused " + e).orElse(a.toString());
        }
    }
}
