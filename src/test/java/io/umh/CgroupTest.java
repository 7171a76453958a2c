package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A sandboxed helper in a cgroup v2 of its own ({@link SandboxPolicy.Builder#cgroup}): started
 * inside it by the clone, the cgroup removed after the reap on every path (exit, kill, a failed
 * spawn, JVM exit), and a limit whose controller the parent does not enable refused by a REQUIRED
 * fork and reported by a BEST_EFFORT one. The parent is a cgroup the test makes under this JVM's
 * own (root can; placement needs no controller).
 */
@Timeout(120)
class CgroupTest {
    private static Path parent;
    /** A second parent with every controller it is offered enabled for its children (none where the host binds them to cgroup v1). */
    private static Path limited;
    private static List<String> limitedEnables = List.of();

    @BeforeAll
    static void makeParent() throws Exception {
        TestBlobs.warmUp();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), sandboxed(SandboxPolicy.strict()))) {
            p.waitFor(); // and the violation listener's thread, which the first sandboxed fork starts
        }
        assumeTrue(TestBlobs.root(), "needs root: to make the delegated parent cgroup");
        SandboxSupport.Status st = Umh.sandboxSupport().status(SandboxSupport.Layer.CGROUP);
        assumeTrue(st.level() != SandboxSupport.Level.NONE, "no cgroup placement here: " + st);
        parent = Umh.sandboxSupport().cgroup().orElseThrow().resolve("umh-test-" + ProcessHandle.current().pid());
        Files.createDirectory(parent);
        limited = Files.createDirectory(parent.getParent().resolve("umh-test-limited-" + ProcessHandle.current().pid()));
        List<String> offered = words(limited.resolve("cgroup.controllers"));
        List<String> want = Cgroup.CONTROLLERS.stream().filter(offered::contains).collect(Collectors.toList());
        if (!want.isEmpty()) {
            Files.writeString(limited.resolve("cgroup.subtree_control"),
                    want.stream().map(c -> "+" + c).collect(Collectors.joining(" ")));
        }
        limitedEnables = words(limited.resolve("cgroup.subtree_control"));
    }

    /** The file's words, as cgroup.controllers and cgroup.subtree_control list them (none for an empty one). */
    private static List<String> words(Path file) throws IOException {
        String s = Files.readString(file).trim();
        return s.isEmpty() ? List.of() : List.of(s.split("\\s+"));
    }

    @AfterAll
    static void removeParent() throws IOException {
        List<Path> left = new java.util.ArrayList<>();
        for (Path p : new Path[] {parent, limited}) {
            if (p != null) {
                left.addAll(children(p));
                removeEmpty(p);
            }
        }
        assertEquals(List.of(), left, "cgroups left behind");
    }

    private static List<Path> children(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).collect(Collectors.toList());
        }
    }

    private static ForkOptions sandboxed(SandboxPolicy policy, String... args) {
        return ForkOptions.builder().sandbox(policy).args(args).build();
    }

    /** The cgroup v2 path /proc/PID/cgroup names for the process (its "0::" line). */
    private static String cgroupOf(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/cgroup")).stream().filter(l -> l.startsWith("0::"))
                .map(l -> l.substring(3)).findFirst().orElseThrow();
    }

    private static String relative(Path cgroup) {
        return "/" + Cgroup.mount().relativize(cgroup);
    }

    @Test
    void theHelperStartsInACgroupOfItsOwnWhichIsRemovedAfterItsExit() throws Exception {
        int fds = TestBlobs.openFds();
        SandboxPolicy policy = SandboxPolicy.builder().cgroup(parent).build();
        String jvm = cgroupOf(ProcessHandle.current().pid());
        Path cg;
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), sandboxed(policy))) {
            assertEquals("ready\n", new String(p.pipeFromUmh().readNBytes(6), StandardCharsets.US_ASCII));
            cg = p.cgroup().orElseThrow();
            assertEquals(parent, cg.getParent());
            assertTrue(cg.getFileName().toString().matches("umh-" + ProcessHandle.current().pid() + "-[0-9]+"), cg.toString());
            assertEquals(relative(cg), cgroupOf(p.pid()), "/proc/PID/cgroup names the helper's own cgroup");
            assertEquals(List.of(Long.toString(p.pid())), Files.readAllLines(cg.resolve("cgroup.procs")), "it alone is there");
            assertEquals(SandboxSupport.Level.FULL, p.sandboxLayers().get(SandboxSupport.Layer.CGROUP).level(),
                    p.sandboxLayers().toString());
            assertEquals(jvm, cgroupOf(ProcessHandle.current().pid()), "the JVM stays where it was");
            p.pipeToUmh().close();
            assertEquals(0, p.waitFor());
            assertFalse(Files.exists(cg), "removed by the time waitFor returns");
        }
        assertEquals(List.of(), children(parent));
        TestBlobs.assertFds(fds);
    }

    @Test
    void aKilledHelpersCgroupIsRemoved() throws Exception {
        SandboxPolicy policy = SandboxPolicy.builder().cgroup(parent).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), sandboxed(policy, "-p"))) {
            p.pipeFromUmh().readNBytes(6);
            Path cg = p.cgroup().orElseThrow();
            assertTrue(Files.isDirectory(cg));
            p.destroyForcibly();
            assertEquals(137, p.waitFor());
            assertFalse(Files.exists(cg));
        }
        assertEquals(List.of(), children(parent));
    }

    @Test
    void aFailedSpawnLeavesNoCgroup() throws Exception {
        int fds = TestBlobs.openFds();
        SandboxPolicy policy = SandboxPolicy.builder().cgroup(parent).build();
        IOException e = assertThrows(IOException.class,
                () -> Umh.forkUsermodeBlob("this is no program".getBytes(StandardCharsets.US_ASCII), sandboxed(policy)));
        assertTrue(e.getMessage().contains("ENOEXEC"), e.getMessage());
        assertEquals(List.of(), children(parent));
        assertEquals(List.of(), TestBlobs.zombieChildren());
        TestBlobs.assertFds(fds);
    }

    @Test
    void manyHelpersEachGetTheirOwnAndLeaveNone() throws Exception {
        SandboxPolicy policy = SandboxPolicy.builder().cgroup(parent).build();
        List<UsermodeProcess> ps = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                ps.add(Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), sandboxed(policy)));
            }
            assertEquals(8, ps.stream().map(p -> p.cgroup().orElseThrow()).distinct().count());
            assertEquals(8, children(parent).size());
        } finally {
            for (UsermodeProcess p : ps) {
                p.close();
            }
        }
        assertEquals(List.of(), children(parent));
    }

    /** Each limit whose controller the parent does not enable: a REQUIRED fork names it; nothing is made. */
    @Test
    void aRequiredForkNamesTheControllerTheParentDoesNotEnable() throws Exception {
        List<String> enabled = words(parent.resolve("cgroup.subtree_control"));
        int tried = 0;
        for (SandboxPolicy.Builder b : List.of(SandboxPolicy.builder().memoryMax(64 << 20),
                SandboxPolicy.builder().pidsMax(16),
                SandboxPolicy.builder().cpuMax(Duration.ofMillis(10), Duration.ofMillis(100)))) {
            SandboxPolicy policy = b.cgroup(parent).build();
            String file = policy.memoryMax().isPresent() ? "memory.max" : policy.pidsMax().isPresent() ? "pids.max" : "cpu.max";
            String controller = file.substring(0, file.indexOf('.'));
            if (enabled.contains(controller)) {
                continue;
            }
            tried++;
            IOException e = assertThrows(IOException.class,
                    () -> Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), sandboxed(policy)));
            assertTrue(e.getMessage().contains("Enforcement.REQUIRED") && e.getMessage().contains("CGROUP: " + file
                    + " not enforced: the " + controller + " controller is not enabled in " + parent.resolve("cgroup.subtree_control")),
                    e.getMessage());
            assertEquals(List.of(), children(parent));
        }
        assumeTrue(tried > 0, "the parent enables memory, pids and cpu: nothing to refuse");
    }

    @Test
    void aBestEffortForkIsPlacedAndSaysWhichLimitIsNotEnforced() throws Exception {
        List<String> enabled = words(parent.resolve("cgroup.subtree_control"));
        assumeTrue(!enabled.contains("pids"), "the parent enables pids");
        SandboxPolicy policy = SandboxPolicy.builder().cgroup(parent).pidsMax(16).enforcement(Enforcement.BEST_EFFORT).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), sandboxed(policy))) {
            p.pipeFromUmh().readNBytes(6);
            Path cg = p.cgroup().orElseThrow();
            assertEquals(relative(cg), cgroupOf(p.pid()));
            SandboxSupport.Status st = p.sandboxLayers().get(SandboxSupport.Layer.CGROUP);
            assertEquals(SandboxSupport.Level.PARTIAL, st.level());
            assertTrue(st.reason().startsWith("pids.max not enforced: the pids controller is not enabled in "), st.reason());
            assertFalse(Files.exists(cg.resolve("pids.max")), "no pids controller in its cgroup");
            p.pipeToUmh().close();
            assertEquals(0, p.waitFor());
            assertFalse(Files.exists(cg));
        }
    }

    /** The parent gone after the policy was built: a REQUIRED fork fails naming the cgroup, a BEST_EFFORT one runs unplaced and says why. */
    @Test
    void aForkWhoseCgroupCannotBeMadeFailsRequiredAndRunsUnplacedBestEffort() throws Exception {
        Path gone = Files.createDirectory(parent.resolve("gone"));
        SandboxPolicy required = SandboxPolicy.builder().cgroup(gone).build();
        SandboxPolicy bestEffort = SandboxPolicy.builder().cgroup(gone).enforcement(Enforcement.BEST_EFFORT).build();
        Files.delete(gone);
        int fds = TestBlobs.openFds();
        String why = "fork: open failed: ENOENT (No such file or directory): cgroup " + gone + "/umh-";
        IOException e = assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), sandboxed(required)));
        assertTrue(e.getMessage().startsWith(why), e.getMessage());
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), sandboxed(bestEffort))) {
            assertEquals(0, p.waitFor());
            assertTrue(p.cgroup().isEmpty());
            SandboxSupport.Status st = p.sandboxLayers().get(SandboxSupport.Layer.CGROUP);
            assertEquals(SandboxSupport.Level.NONE, st.level());
            assertTrue(st.reason().startsWith(why), st.reason());
            assertEquals(SandboxSupport.Level.FULL, bestEffort.enforced.get(SandboxSupport.Layer.CGROUP).level(),
                    "the policy's own report is what build() found");
        }
        TestBlobs.assertFds(fds);
    }

    @Test
    void sandboxSupportSaysWhichControllersCgroupV2Lacks() throws Exception {
        SandboxSupport.Status st = Umh.sandboxSupport().status(SandboxSupport.Layer.CGROUP);
        List<String> have = words(Cgroup.mount().resolve("cgroup.controllers"));
        List<String> lacking = Cgroup.CONTROLLERS.stream().filter(c -> !have.contains(c)).collect(Collectors.toList());
        assertEquals(lacking.isEmpty() ? SandboxSupport.Level.FULL : SandboxSupport.Level.PARTIAL, st.level(), st.toString());
        assertTrue(st.reason().startsWith("cgroup v2 at " + Cgroup.mount()), st.reason());
        if (!lacking.isEmpty()) {
            assertTrue(st.reason().contains(" has no " + String.join(", ", lacking) + " controller"), st.reason());
        }
        assertTrue(Umh.sandboxSupport().toString().contains("CGROUP"), Umh.sandboxSupport().toString());
        assertEquals(SandboxSupport.Level.NONE, SandboxPolicy.strict().enforced.get(SandboxSupport.Layer.CGROUP).level(),
                "strict() asks for no cgroup");
    }

    // ---- the limits, where the parent enables their controllers (a cgroup v2 host; CI's KVM guest)

    private static void assumeEnabled(String controller) {
        assumeTrue(limitedEnables.contains(controller), "the " + controller + " controller cannot be enabled here: "
                + Umh.sandboxSupport().status(SandboxSupport.Layer.CGROUP));
    }

    /** escape ATTEMPT ARG under the policy: its line (empty if none), its exit status and an OOM kill, the cgroup gone after. */
    private static String attempt(SandboxPolicy policy, String... args) throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("escape"), sandboxed(policy, args))) {
            String line = new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.US_ASCII).trim();
            int status = p.waitFor();
            assertEquals(SandboxSupport.Level.FULL, p.sandboxLayers().get(SandboxSupport.Layer.CGROUP).level(),
                    p.sandboxLayers().toString());
            assertFalse(Files.exists(p.cgroup().orElseThrow()), "removed by the time waitFor returns");
            assertEquals(p.oomKilled(), p.toString().endsWith(", oomKilled=true]"), p.toString());
            return line + " / " + status + (p.oomKilled() ? " oomKilled" : "");
        }
    }

    /** The helper's own cgroup holds each limit, in the kernel's format, from before its first instruction. */
    @Test
    void eachLimitIsInTheHelpersCgroup() throws Exception {
        assumeEnabled("memory");
        assumeEnabled("pids");
        assumeEnabled("cpu");
        SandboxPolicy policy = SandboxPolicy.builder().cgroup(limited).memoryMax(48 << 20).pidsMax(7)
                .cpuMax(Duration.ofMillis(20), Duration.ofMillis(100)).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), sandboxed(policy))) {
            p.pipeFromUmh().readNBytes(6);
            Path cg = p.cgroup().orElseThrow();
            assertEquals("50331648", Files.readString(cg.resolve("memory.max")).trim());
            assertEquals("7", Files.readString(cg.resolve("pids.max")).trim());
            assertEquals("20000 100000", Files.readString(cg.resolve("cpu.max")).trim());
            assertEquals("1", Files.readString(cg.resolve("pids.current")).trim(), "the helper alone");
            assertEquals(SandboxSupport.Level.FULL, p.sandboxLayers().get(SandboxSupport.Layer.CGROUP).level(),
                    p.sandboxLayers().toString());
            p.pipeToUmh().close();
            assertEquals(0, p.waitFor());
        }
        assertEquals(List.of(), children(limited));
    }

    /**
     * Past memory.max the kernel's OOM killer ends the helper (137, {@code oomKilled()}); below it,
     * the same helper runs to its end. (A host with swap would page it out instead: CI's guest has none.)
     */
    @Test
    void aHelperPastItsMemoryMaxIsOomKilled() throws Exception {
        assumeEnabled("memory");
        SandboxPolicy policy = SandboxPolicy.builder().cgroup(limited).memoryMax(32 << 20).build();
        assertEquals("memory ok / 0", attempt(policy, "memory", "8"));
        Path jfr = Files.createTempFile("umh-oom", ".jfr");
        try (jdk.jfr.Recording r = new jdk.jfr.Recording()) {
            r.enable("io.umh.Exit");
            r.start();
            assertEquals(" / 137 oomKilled", attempt(policy, "memory", "256"));
            r.stop();
            r.dump(jfr);
            assertEquals(List.of(true), jdk.jfr.consumer.RecordingFile.readAllEvents(jfr).stream()
                    .filter(e -> e.getEventType().getName().equals("io.umh.Exit")).map(e -> e.getBoolean("oomKilled"))
                    .collect(Collectors.toList()), "the JFR Exit event says so");
        } finally {
            Files.delete(jfr);
        }
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), sandboxed(policy, "-p"))) {
            p.pipeFromUmh().readNBytes(6);
            p.destroyForcibly();
            assertEquals(137, p.waitFor());
            assertFalse(p.oomKilled(), "a SIGKILL from someone else is no OOM kill");
        }
        assertEquals(List.of(), children(limited));
    }

    /** pids.max counts the helper's threads too: a fourth thread past pidsMax(4) is refused EAGAIN, three are not. */
    @Test
    void aThreadPastPidsMaxIsRefused() throws Exception {
        assumeEnabled("pids");
        SandboxPolicy policy = SandboxPolicy.builder().allowThreads().cgroup(limited).pidsMax(4).build();
        assertEquals("threads ok / 0", attempt(policy, "threads", "3"));
        assertEquals("threads refused EAGAIN / 0", attempt(policy, "threads", "4"));
        assertEquals(List.of(), children(limited));
    }

    /**
     * cpu.max holds a spinning helper to its quota: 200 ms of CPU at 10 ms per 100 ms period cannot
     * take less than ~1.9 s of wall time (the bound is the kernel's; a slow machine only adds).
     */
    @Test
    void aSpinningHelperIsHeldToItsCpuMax() throws Exception {
        assumeEnabled("cpu");
        SandboxPolicy policy = SandboxPolicy.builder().cgroup(limited).cpuMax(Duration.ofMillis(10), Duration.ofMillis(100)).build();
        String out = attempt(policy, "spin", "200");
        assertTrue(out.matches("spin ok [0-9]+ / 0"), out);
        long wallMs = Long.parseLong(out.split(" ")[2]);
        assertTrue(wallMs >= 1500, "200 ms of CPU at 10% took only " + wallMs + " ms of wall time");
    }

    @Test
    void badCgroupOptionsAreRefusedByTheBuilder() {
        SandboxPolicy.Builder b = SandboxPolicy.builder();
        assertEquals("cgroup path is not absolute: sys/fs/cgroup",
                assertThrows(IllegalArgumentException.class, () -> b.cgroup(Path.of("sys/fs/cgroup"))).getMessage());
        assertEquals("cgroup path does not exist: /nonexistent/cg",
                assertThrows(IllegalArgumentException.class, () -> b.cgroup(Path.of("/nonexistent/cg"))).getMessage());
        assertEquals("cgroup path is not a cgroup v2 directory (it has no cgroup.subtree_control): /tmp",
                assertThrows(IllegalArgumentException.class, () -> b.cgroup(Path.of("/tmp"))).getMessage());
        assertEquals("memoryMax must be above 0 bytes: 0",
                assertThrows(IllegalArgumentException.class, () -> b.memoryMax(0)).getMessage());
        assertEquals("pidsMax must be above 0: -1", assertThrows(IllegalArgumentException.class, () -> b.pidsMax(-1)).getMessage());
        assertEquals("cpuMax period must be from 1 ms to 1 s: PT2S",
                assertThrows(IllegalArgumentException.class, () -> b.cpuMax(Duration.ofMillis(10), Duration.ofSeconds(2))).getMessage());
        assertEquals("cpuMax quota must be from 1 ms to 1 day: PT0.0005S",
                assertThrows(IllegalArgumentException.class, () -> b.cpuMax(Duration.ofNanos(500_000), Duration.ofMillis(100)))
                        .getMessage());
        assertEquals("limits [pids.max] need a cgroup to set them in: cgroup(parent)",
                assertThrows(IllegalArgumentException.class, () -> SandboxPolicy.builder().pidsMax(4).build()).getMessage());
    }
    /** A JVM that exits while its helpers run leaves no cgroup behind: its shutdown stops them and removes each. */
    @Test
    void aJvmThatExitsWithHelpersRunningLeavesNoCgroup() throws Exception {
        Path own = Files.createDirectory(parent.resolve("exits")); // what it might leave is no other test's
        try {
            String out = TestBlobs.run(TestBlobs.javaCommand(List.of(), List.of("-Dumh.shutdown.grace=0"), ExitsWithHelpers.class,
                    own.toString()));
            List<String> lines = List.of(out.split("\n"));
            assertEquals(3, lines.size(), out);
            for (String cg : lines) {
                assertTrue(cg.startsWith(own + "/umh-"), out);
                assertFalse(Files.exists(Path.of(cg)), cg + " left behind");
            }
            assertEquals(List.of(), children(own));
        } finally {
            removeEmpty(own);
        }
    }

    /** dir and the cgroups below it, which hold no process by now. */
    private static void removeEmpty(Path dir) throws IOException {
        for (Path c : children(dir)) {
            Files.deleteIfExists(c);
        }
        Files.deleteIfExists(dir);
    }

    /** Run by the test above: forks three helpers into cgroups under args[0], prints where, and returns from main. */
    public static final class ExitsWithHelpers {
        public static void main(String[] args) throws Exception {
            SandboxPolicy policy = SandboxPolicy.builder().cgroup(Path.of(args[0])).build();
            for (String[] a : new String[][] {{}, {"-p"}, {"-t", "-p"}}) { // EOF ends it; SIGTERM does; only SIGKILL does
                UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), sandboxed(policy, a));
                p.pipeFromUmh().readNBytes(6);
                System.out.println(p.cgroup().orElseThrow());
            }
        }
    }

    /** clone, not clone3 (forced, as a kernel or filter without clone3 does): no placement, and each fork says so. */
    @Test
    void withoutClone3ARequiredForkFailsAndABestEffortOneRunsUnplaced() throws Exception {
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(), List.of("-Dumh.clone3=false"), WithoutClone3.class,
                parent.toString()));
        String why = "clone3 cannot start a helper in a cgroup (CLONE_INTO_CGROUP, Linux 5.7): clone3 failed: ENOSYS (Function not implemented)";
        assertEquals("support NONE (" + why + ")\n"
                + "required PermanentForkFailure fork: the sandbox cannot be enforced here (Enforcement.REQUIRED): CGROUP: " + why
                + "; see Umh.sandboxSupport(), or use Enforcement.BEST_EFFORT\n"
                + "best effort 0 cgroup=false NONE (" + why + ")\n", out);
        assertEquals(List.of(), children(parent));
    }

    /** Run by the test above with -Dumh.clone3=false. */
    public static final class WithoutClone3 {
        public static void main(String[] args) throws Exception {
            System.out.println("support " + Umh.sandboxSupport().status(SandboxSupport.Layer.CGROUP));
            SandboxPolicy.Builder b = SandboxPolicy.builder().cgroup(Path.of(args[0]));
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), sandboxed(b.build()))) {
                System.out.println("required ran: " + p.waitFor());
            } catch (IOException e) {
                System.out.println("required " + e.getClass().getSimpleName() + " " + e.getMessage());
            }
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"),
                    sandboxed(b.enforcement(Enforcement.BEST_EFFORT).build()))) {
                System.out.println("best effort " + p.waitFor() + " cgroup=" + p.cgroup().isPresent() + " "
                        + p.sandboxLayers().get(SandboxSupport.Layer.CGROUP));
            }
        }
    }

    /**
     * An unprivileged JVM (uid 65534): a cgroup it does not own is no delegation (a REQUIRED fork
     * names it); one delegated to it as systemd's Delegate=yes does (the subtree chown'ed to it,
     * the JVM itself started inside it) places its helpers.
     */
    @Test
    void anUnprivilegedJvmPlacesHelpersOnlyInACgroupDelegatedToIt() throws Exception {
        List<String> files = new java.util.ArrayList<>(TestBlobs.classPathFiles());
        files.addAll(List.of(TestBlobs.path("sleeper").toAbsolutePath().toString(), TestBlobs.javaExecutable(), TestBlobs.library()));
        String unreadable = TestBlobs.unreadableByNobody(files);
        assumeTrue(unreadable.isEmpty(), "uid 65534 cannot read " + unreadable + " (checkout under /root?)");
        Path delegated = parent.resolve("delegated");
        Path jvm = delegated.resolve("jvm");
        Path helpers = delegated.resolve("helpers");
        Files.createDirectory(delegated);
        try {
            Files.createDirectory(jvm);
            Files.createDirectory(helpers);
            for (Path p : List.of(delegated, delegated.resolve("cgroup.procs"), delegated.resolve("cgroup.subtree_control"),
                    delegated.resolve("cgroup.threads"), jvm, jvm.resolve("cgroup.procs"), helpers, helpers.resolve("cgroup.procs"))) {
                Files.setAttribute(p, "unix:uid", 65534);
                Files.setAttribute(p, "unix:gid", 65534);
            }
            List<String> prefix = new java.util.ArrayList<>(List.of("sh", "-c", "echo $$ > \"$0\" && exec \"$@\"",
                    jvm.resolve("cgroup.procs").toString()));
            prefix.addAll(TestBlobs.AS_NOBODY);
            String out = TestBlobs.run(TestBlobs.javaCommand(prefix, List.of("-Dumh.native.path=" + TestBlobs.library()),
                    String.join(java.io.File.pathSeparator, TestBlobs.classPathFiles()), Unprivileged.class,
                    parent.toString(), helpers.toString()));
            String root = relative(helpers) + "/umh-";
            assertTrue(out.startsWith("own " + jvm + "\nnot delegated NONE (no delegation: " + parent
                    + " is not writable by this JVM; give it a cgroup it owns, as systemd's Delegate=yes does)\n"
                    + "required PermanentForkFailure fork: the sandbox cannot be enforced here (Enforcement.REQUIRED): CGROUP: no delegation: "), out);
            assertTrue(out.contains("\ndelegated FULL\nplaced " + root), out);
            assertTrue(out.endsWith("\nexit 0\n"), out);
            assertEquals(List.of(), children(helpers));
        } finally {
            for (Path p : List.of(helpers, jvm, delegated)) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Run as uid 65534 by the test above, in the delegated cgroup's "jvm": args are the undelegated and the delegated parent. */
    public static final class Unprivileged {
        public static void main(String[] args) throws Exception {
            System.out.println("own " + Umh.sandboxSupport().cgroup().orElseThrow());
            SandboxPolicy undelegated = SandboxPolicy.builder().cgroup(Path.of(args[0])).build();
            System.out.println("not delegated " + undelegated.enforced.get(SandboxSupport.Layer.CGROUP));
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), sandboxed(undelegated))) {
                System.out.println("required ran: " + p.waitFor());
            } catch (IOException e) {
                System.out.println("required " + e.getClass().getSimpleName() + " " + e.getMessage());
            }
            SandboxPolicy delegated = SandboxPolicy.builder().cgroup(Path.of(args[1])).build();
            System.out.println("delegated " + delegated.enforced.get(SandboxSupport.Layer.CGROUP).level());
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), sandboxed(delegated))) {
                p.pipeFromUmh().readNBytes(6);
                System.out.println("placed " + cgroupOf(p.pid()));
                p.pipeToUmh().close();
                System.out.println("exit " + p.waitFor());
            }
        }
    }
}
