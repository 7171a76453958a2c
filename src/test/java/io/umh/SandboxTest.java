package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sandbox, tried by the escape-attempt helper (test-blobs/escape.c), whose every attempt
 * EscapeBlobTest shows succeeding without one: under {@link SandboxPolicy#strict()} each is
 * refused or stopped, and the JVM is unchanged afterwards.
 */
@Timeout(120)
class SandboxTest {
    private static final ForkOptions STRICT = ForkOptions.builder().sandbox(EscapeTargets.strict()).build();

    @BeforeAll
    static void warmUp() throws Exception {
        TestBlobs.warmUp();
    }

    private static EscapeTargets.Attempt strict(String attempt, String... args) throws Exception {
        return EscapeTargets.attempt(STRICT, attempt, args);
    }

    private static void assertRefused(EscapeTargets.Attempt a) {
        assertFalse(a.succeeded(), a.toString());
        assertTrue(a.refusal().isPresent() || a.killedBySeccomp(), "neither refused nor stopped: " + a);
    }

    @Test
    void aForbiddenCallIsNamedAndStopsTheHelperAs159() throws Exception {
        assumeTrue(Umh.sandboxSupport().isFull(SandboxSupport.Layer.VIOLATION_NAMES), Umh.sandboxSupport().toString());
        for (String[] a : new String[][] {{"socket", "socket"}, {"fork", "clone"}, {"bpf", "bpf"}, {"unshare", "unshare"}, {"shm", "shmget"},
                {"read", "openat", "/etc/passwd"}, {"tiocsti", "ioctl"}}) { // attempt, the call it makes, its argument
            List<String> argv = a.length > 2 ? List.of(a[0], a[2]) : List.of(a[0]);
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("escape"), STRICT.toBuilder().args(argv).build())) {
                p.pipeToUmh().close();
                if (a[0].equals("unshare") && !EscapeTargets.attempt("unshare").succeeded()) {
                    // refused to the JVM itself by an outer filter (a container's profile), which answers first:
                    // seccomp takes its ERRNO over the sandbox's USER_NOTIF, so the call is refused, not named
                    assertEquals("unshare refused EPERM\n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.US_ASCII));
                    assertEquals(0, p.waitFor());
                    continue;
                }
                assertEquals(0, p.pipeFromUmh().readAllBytes().length, a[0] + " printed something: the call ran");
                assertEquals(159, p.waitFor(), a[0]);
                assertEquals(a[1], p.violation().orElseThrow().syscall(), a[0]);
                assertTrue(p.toString().contains("violation=" + a[1]), p.toString());
                assertEquals(SandboxSupport.Level.FULL, p.sandboxLayers().get(SandboxSupport.Layer.VIOLATION_NAMES).level());
            }
        }
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), STRICT.toBuilder().args("3").build())) {
            assertEquals(3, p.waitFor());
            assertTrue(p.violation().isEmpty(), "an ordinary exit is no violation");
        }
    }

    /** The benchmarks' bare-exit: no libc, its first instruction its only call; runs sandboxed as it does without. */
    @Test
    void aProgramWithoutLibcRunsUnderStrict() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("bare-exit"), "bare-exit")) {
            assertTrue(blob.info().interpreter().isEmpty(), blob.info().toString());
            for (ForkOptions o : new ForkOptions[] {ForkOptions.builder().build(), STRICT}) {
                try (UsermodeProcess p = blob.fork(o)) {
                    assertEquals(0, p.waitFor(), o.toString());
                    assertTrue(p.violation().isEmpty());
                }
            }
        }
    }

    @Test
    void withoutAListenerTheKillStillStopsItUnnamed() throws Exception {
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(),
                List.of("-D" + SandboxSupport.DISABLE_PROPERTY + "=VIOLATION_NAMES"), Unnamed.class));
        assertTrue(out.startsWith("159 unknown killed by SIGSYS (seccomp's kill): no listener to name the call (NONE (disabled by"), out);
    }

    /** Run by the test above. */
    public static final class Unnamed {
        public static void main(String[] args) throws Exception {
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("escape"), STRICT.toBuilder().args("socket").build())) {
                p.pipeToUmh().close();
                int status = p.waitFor();
                SandboxViolation v = p.violation().orElseThrow();
                System.out.println(status + " " + v.syscall() + " " + v.detail());
            }
        }
    }

    @Test
    void theControlRunsUnderStrict() throws Exception {
        EscapeTargets.Attempt a = strict("ok");
        assertTrue(a.succeeded(), a.toString());
    }

    @Test
    void noFileOfTheHostIsVisible() throws Exception {
        assertRefused(strict("read", "/etc/passwd"));
        assertRefused(strict("exec", "/bin/sh"));
        assertRefused(strict("procmem", Long.toString(EscapeTargets.jvmPid())));
    }

    @Test
    void nothingCanBeWrittenOutside(@TempDir Path dir) throws Exception {
        assertRefused(strict("write", dir.toString()));
        assertRefused(strict("write", "/"));
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void theJvmCannotBeReachedByPid() throws Exception {
        String jvm = Long.toString(EscapeTargets.jvmPid());
        assertRefused(strict("kill", jvm));
        assertRefused(strict("ptrace", jvm));
        try (EscapeTargets.Secret secret = new EscapeTargets.Secret()) {
            assertRefused(strict("vmread", jvm, secret.address()));
        }
        assertEquals(0, EscapeTargets.tracerPid(EscapeTargets.jvmPid()));
    }

    @Test
    void noNetworkNotEvenLoopback() throws Exception {
        try (EscapeTargets.TcpListener tcp = new EscapeTargets.TcpListener()) {
            assertRefused(strict("tcp", Integer.toString(tcp.port())));
            assertEquals(0, tcp.accepted(Duration.ofMillis(200)));
        }
        try (EscapeTargets.AbstractListener abs = new EscapeTargets.AbstractListener()) {
            assertRefused(strict("abstract", abs.name()));
            assertEquals(0, abs.finish());
        }
    }

    @Test
    void noPrivilegeInsideItsNamespaces(@TempDir Path dir) throws Exception {
        String name = EscapeTargets.hostname();
        assertRefused(strict("hostname"));
        ForkOptions rw = ForkOptions.builder().sandbox(EscapeTargets.policy().readWrite(dir).build()).build();
        assertRefused(EscapeTargets.attempt(rw, "mount", dir.toString())); // a directory it sees, and may write
        assertRefused(strict("chroot", "/"));
        assertEquals(name, EscapeTargets.hostname());
        assertFalse(EscapeTargets.mountedAt(dir));
    }

    @Test
    void readOnlyGivesThatDirectoryOnly(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("data.txt");
        Files.writeString(file, "inside");
        ForkOptions o = ForkOptions.builder().sandbox(EscapeTargets.policy().readOnly(dir).build()).build();
        assertTrue(EscapeTargets.attempt(o, "read", file.toString()).succeeded());
        assertRefused(EscapeTargets.attempt(o, "write", dir.toString()));
        assertRefused(EscapeTargets.attempt(o, "read", "/etc/passwd"));
    }

    @Test
    void readWriteLetsItWriteThere(@TempDir Path dir) throws Exception {
        ForkOptions o = ForkOptions.builder().sandbox(EscapeTargets.policy().readWrite(dir).build()).build();
        assertTrue(EscapeTargets.attempt(o, "write", dir.toString()).succeeded());
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count()); // the helper unlinks what it wrote
        }
    }

    @Test
    void aDynamicProgramRunsWithDynamicLinkingOnly() throws Exception {
        byte[] cat = Files.readAllBytes(Path.of("/bin/cat"));
        // an environment of its own: under java_under_asan.sh the JVM's has LD_PRELOAD=libasan.so, whose start-up
        // calls a sandbox rightly stops
        ForkOptions dynamic = ForkOptions.builder().environment(CLEAN_ENV)
                .sandbox(EscapeTargets.policy().allowDynamicLinking().build()).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(cat, dynamic)) {
            p.pipeToUmh().write("through a sandboxed cat\n".getBytes(StandardCharsets.UTF_8));
            p.pipeToUmh().close();
            assertEquals("through a sandboxed cat\n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(0, p.waitFor());
        }
        ForkOptions passwd = ForkOptions.builder().args("/etc/passwd").environment(CLEAN_ENV)
                .sandbox(EscapeTargets.policy().allowDynamicLinking().build()).redirectError(ProcessBuilder.Redirect.PIPE).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(cat, passwd)) {
            p.pipeToUmh().close();
            assertEquals(0, p.pipeFromUmh().readAllBytes().length);
            assertEquals(1, p.waitFor()); // cat: /etc/passwd: No such file or directory
        }
        try (UsermodeProcess p = Umh.forkUsermodeBlob(cat, STRICT)) {
            assertEquals(127, p.waitFor()); // the kernel cannot find its loader in an empty root
        } catch (IOException refused) {
            assertTrue(refused.getMessage().contains("execveat"), refused.getMessage());
        }
    }

    /**
     * What nearly every program asks at its start gets the kernel's answer, not a kill: isatty()
     * (ls, python3, sqlite3, jq, getent: TCGETS on fds 0-2), and glibc's probe of nscd in every
     * getpwuid(), a unix socket, refused so that it falls back. Typing into a terminal still stops it.
     */
    @Test
    void theQueriesOfEveryProgramsStartAreAnsweredNotKilled() throws Exception {
        assertEquals("ENOTTY", strict("isatty").refusal().orElseThrow(), "TCGETS of a pipe reached the kernel");
        assertEquals("ENOTTY", EscapeTargets.attempt("tiocsti").refusal().orElseThrow(), "unsandboxed, TIOCSTI reaches the kernel");
        EscapeTargets.Attempt sti = strict("tiocsti");
        assertTrue(sti.killedBySeccomp(), sti.toString());
        assertEquals("EAFNOSUPPORT", strict("unix-socket").refusal().orElseThrow());
        assertTrue(EscapeTargets.attempt(ForkOptions.builder().sandbox(EscapeTargets.policy().network(true).build()).build(), "unix-socket").succeeded(),
                "with the network, a unix socket is made");
    }

    /**
     * The environment of the tests' dynamic real programs: not the JVM's, whose LD_PRELOAD (the
     * ASan run's libasan) would load into them and make calls of its own.
     */
    private static final java.util.Map<String, String> CLEAN_ENV = java.util.Map.of("LANG", "C", "PATH", "/usr/bin:/bin");

    /**
     * Runs a real program of this system sandboxed by {@code policy}, as {@code argv0} with {@code args}, in
     * CLEAN_ENV: {@code input} on its stdin, then EOF; what it wrote to stdout, once it exited 0.
     */
    private static String runToEnd(Path program, SandboxPolicy policy, byte[] input, String argv0, String... args) throws Exception {
        ForkOptions o = ForkOptions.builder().argv0(argv0).args(args).environment(CLEAN_ENV)
                .redirectError(ProcessBuilder.Redirect.PIPE).sandbox(policy).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(Files.readAllBytes(program), o)) {
            try (OutputStream in = p.pipeToUmh()) {
                in.write(input);
            }
            String out = new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), p + " " + out + err);
            return out;
        }
    }

    /** allowThreads: a thread is made, a process still is not (the same clone, without CLONE_THREAD). */
    @Test
    void threadsMayStartButAProcessStillMayNot() throws Exception {
        EscapeTargets.Attempt strict = strict("thread");
        assertTrue(strict.killedBySeccomp(), "strict made a thread: " + strict);
        ForkOptions threads = ForkOptions.builder().sandbox(EscapeTargets.policy().allowThreads().build()).build();
        assertTrue(threads.sandbox().orElseThrow().threads());
        assertTrue(threads.sandbox().orElseThrow().toString().contains(", threads"), threads.sandbox().orElseThrow().toString());
        EscapeTargets.Attempt thread = EscapeTargets.attempt(threads, "thread");
        assertTrue(thread.succeeded(), thread.toString());
        EscapeTargets.Attempt fork = EscapeTargets.attempt(threads, "fork");
        assertTrue(fork.killedBySeccomp(), "allowThreads let a fork through: " + fork);
    }

    /** Coreutils' ls -l, nobody's test program: a terminal query, statfs, each file's xattrs, the owner's name (nscd first). */
    @Test
    void lsLongListsWhatItMayRead(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("one"), "1");
        Files.createDirectory(dir.resolve("two"));
        List<String> lines = runToEnd(Path.of("/bin/ls"), EscapeTargets.policy().readOnly(dir).allowDynamicLinking().build(),
                new byte[0], "ls", "-l", dir.toString()).lines().collect(java.util.stream.Collectors.toList());
        assertEquals(3, lines.size(), lines.toString()); // total, then one line each
        assertTrue(lines.get(1).startsWith("-") && lines.get(1).endsWith(" one"), lines.toString());
        assertTrue(lines.get(2).startsWith("d") && lines.get(2).endsWith(" two"), lines.toString());
    }

    /** Coreutils' id: getgroups and getresuid are queries of its own identity, answered, not a violation. */
    @Test
    void idSaysWhoItIs() throws Exception {
        String out = runToEnd(Path.of("/usr/bin/id"), EscapeTargets.policy().allowDynamicLinking().build(), new byte[0], "id");
        assertTrue(out.startsWith("uid=") && out.contains(" groups="), out);
    }

    /**
     * file(1), a parser of untrusted input: libmagic copies a pipe to a temporary file in /tmp
     * (umask first, then mkstemp, pread, unlink) and names an ELF from the magic it may read.
     */
    @Test
    void fileNamesWhatComesThroughItsPipe() throws Exception {
        Path file = Path.of("/usr/bin/file");
        assumeTrue(Files.isExecutable(file) && Files.isDirectory(Path.of("/usr/lib/file")), "no file(1) here");
        SandboxPolicy policy = EscapeTargets.policy().allowDynamicLinking()
                .readOnly(Path.of("/usr/lib/file"), Path.of("/usr/share/misc")).readWrite(Path.of("/tmp")).build();
        String out = runToEnd(file, policy, TestBlobs.bytes("exit"), "file", "-");
        assertTrue(out.startsWith("/dev/stdin: ELF 64-bit LSB executable") && out.contains("statically linked"), out);
    }

    /**
     * The standard devices in every policy with a file view, as bwrap --dev gives them: null,
     * zero, full, random and urandom usable, and no other device (dash's builtins only: its exec of
     * anything else is a violation).
     */
    @Test
    void theStandardDevicesAreThereAndNoOther() throws Exception {
        Path dash = Path.of("/bin/dash");
        assumeTrue(Files.isExecutable(dash), "no dash here");
        EscapeTargets.assumeFull(SandboxSupport.Layer.EMPTY_ROOT, SandboxSupport.Layer.SECCOMP); // else the host's /dev
        String script = "echo a > /dev/null && echo null; echo b 2>/dev/null > /dev/full || echo full;"
                + " exec 3</dev/zero && echo zero; exec 4</dev/random && echo random; echo c > /dev/urandom && echo urandom;"
                + " for d in /dev/sda /dev/vda /dev/mem /dev/kmsg /dev/tty /dev/console; do [ -e $d ] && echo $d; done; echo end";
        assertEquals("null\nfull\nzero\nrandom\nurandom\nend\n",
                runToEnd(dash, EscapeTargets.policy().allowDynamicLinking().build(), new byte[0], "dash", "-c", script));
        assertTrue(strict("read", "/dev/zero").killedBySeccomp(), "strict() has no file system, devices included");
        EscapeTargets.Attempt zero = EscapeTargets.attempt(ForkOptions.builder()
                .sandbox(EscapeTargets.policy().readOnly(Path.of("/etc/hostname")).build()).build(), "read", "/dev/zero");
        assertTrue(zero.succeeded(), zero.toString());
    }

    /**
     * sqlite3 as root gives its journal the database's owner (fchown): answered, since without
     * CAP_CHOWN an owner can only be set to what it is; another owner is refused.
     */
    @Test
    void sqliteWritesItsDatabaseAndCannotGiveAFileAway(@TempDir Path dir) throws Exception {
        Path sqlite = Path.of("/usr/bin/sqlite3");
        assumeTrue(Files.isExecutable(sqlite), "no sqlite3 here");
        Path db = dir.resolve("t.db");
        for (int i = 1; i <= 2; i++) {
            assertEquals(i + "\n", runToEnd(sqlite, EscapeTargets.policy().allowDynamicLinking().readWrite(dir).build(), new byte[0],
                    "sqlite3", db.toString(), "create table if not exists t(x); insert into t values(1); select count(*) from t;"));
        }
        EscapeTargets.assumeFull(SandboxSupport.Layer.NO_CAPABILITIES);
        // EPERM without CAP_CHOWN; EINVAL where the uid is not mapped in its user namespace (as uid 65534)
        String chown = EscapeTargets.attempt(ForkOptions.builder().sandbox(EscapeTargets.policy().readWrite(dir).build()).build(),
                "chown", dir.toString()).refusal().orElseThrow();
        assertTrue(chown.equals("EPERM") || chown.equals("EINVAL"), chown);
        if (TestBlobs.root()) {
            assertTrue(EscapeTargets.attempt("chown", dir.toString()).succeeded(), "unsandboxed, root gives a file away");
        }
    }

    /** Regression: a file bound inside a directory bound read-only (dynamic linking's /etc/ld.so.cache in /etc) was EROFS. */
    @Test
    void aFileInsideAReadOnlyDirectoryIsBoundToo() throws Exception {
        assertEquals(Files.readString(Path.of("/etc/hostname")), runToEnd(Path.of("/bin/cat"),
                EscapeTargets.policy().readOnly(Path.of("/etc")).allowDynamicLinking().build(), new byte[0], "cat", "/etc/hostname"));
    }

    @Test
    void theHelperIsPid1OfItsOwnPidNamespaceAndStillEnds() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), STRICT)) {
            assertEquals("ready", new String(p.pipeFromUmh().readNBytes(5), StandardCharsets.US_ASCII));
            assertTrue(p.pid() > 1, "the pid is the JVM's view of it, from the clone");
            p.destroyForcibly();
            assertEquals(137, p.waitFor());
        }
    }

    @Test
    void destroyEndsAPid1WithoutASigtermHandlerAndStopTakesItsLadder() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), STRICT)) {
            p.pipeFromUmh().readNBytes(6); // "ready": it runs, and catches nothing
            p.destroy(); // pid 1 of its pid namespace would drop a SIGTERM it has no handler for
            assertEquals(137, p.waitFor());
        }
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("graceful"), STRICT.toBuilder().args("-t").build())) {
            p.pipeFromUmh().readNBytes(6); // "ready": it has installed its SIGTERM handler
            p.destroy();
            assertEquals(0, p.waitFor(), "a handled SIGTERM is delivered to a pid 1 as to anyone");
        }
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), ForkOptions.builder().args("-p")
                .sandbox(EscapeTargets.strict()).build())) {
            p.pipeFromUmh().readNBytes(6);
            assertEquals(137, p.stop(Duration.ofMillis(100))); // EOF, then SIGTERM-as-SIGKILL
        }
    }

    @Test
    void aRoundTripOf64MiB() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"), STRICT)) {
            byte[] chunk = new byte[1 << 20];
            new java.util.Random(1).nextBytes(chunk);
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; i < 64; i++) {
                        p.pipeToUmh().write(chunk);
                    }
                    p.pipeToUmh().close();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            writer.start();
            long n = 0;
            byte[] buf = new byte[1 << 16];
            for (int r; (r = p.pipeFromUmh().read(buf)) > 0;) {
                n += r;
            }
            writer.join();
            assertEquals(64L << 20, n);
            assertEquals(0, p.waitFor());
        }
    }

    @Test
    void badInputIsNamed(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SandboxPolicy.builder().readOnly(Path.of("relative")));
        assertEquals("readOnly path is not absolute: relative", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SandboxPolicy.builder().readWrite(dir.resolve("missing")));
        assertEquals("readWrite path does not exist: " + dir.resolve("missing"), e.getMessage());
        IOException s = assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("hello.sh"), STRICT));
        assertTrue(s.getMessage().startsWith("fork: a #! script cannot run sandboxed"), s.getMessage());
        IOException u = assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("exit"),
                STRICT.toBuilder().user(65534, 65534).build()));
        assertTrue(u.getMessage().startsWith("fork: user(uid, gid) and sandbox(...) cannot work together"), u.getMessage());
    }

    @Test
    void manySandboxedForksLeaveNothingBehind() throws Exception {
        int fds = TestBlobs.openFds();
        String mounts = Files.readString(Path.of("/proc/self/mountinfo"));
        int threads = TestBlobs.threads();
        try (UsermodeBlob exit = Umh.load(TestBlobs.bytes("exit"))) {
            for (int i = 0; i < 1950; i++) { // and 50 violations below: 2,000
                try (UsermodeProcess p = exit.fork(STRICT)) {
                    assertEquals(0, p.waitFor());
                }
            }
            try (UsermodeBlob escape = Umh.load(TestBlobs.bytes("escape"))) { // violations too: each listener closed
                for (int i = 0; i < 50; i++) {
                    try (UsermodeProcess p = escape.fork(STRICT.toBuilder().args("socket").build())) {
                        assertEquals(159, p.waitFor());
                    }
                }
            }
        }
        TestBlobs.assertFds(fds);
        assertEquals(List.of(), TestBlobs.zombieChildren());
        assertEquals(mounts, Files.readString(Path.of("/proc/self/mountinfo")));
        assertTrue(TestBlobs.threads() <= threads + 1, "threads: " + threads + " before, " + TestBlobs.threads() + " after");
    }

    @Test
    void theJvmIsUnconfinedAfterwards() throws Exception {
        Path mountNs = Files.readSymbolicLink(Path.of("/proc/self/ns/mnt"));
        forkConcurrently(); // the spawner pool grown past its first thread (where the JVM has the CPUs for it)
        java.util.Map<String, String> spawners = spawnerMasks();
        String self = Files.readAllLines(Path.of("/proc/thread-self/status")).stream()
                .filter(l -> l.startsWith("SigBlk:")).findFirst().orElseThrow();
        for (int i = 0; i < 3; i++) {
            strict("ok"); // cloned on the spawner thread, which blocks every signal across the clone
            EscapeTargets.attempt(STRICT.toBuilder().killOnParentDeath(false).build(), "ok"); // cloned right here
        }
        forkConcurrently();
        java.util.Map<String, String> after = spawnerMasks();
        String first = spawners.get("umh-spawner");
        for (java.util.Map.Entry<String, String> e : after.entrySet()) { // a spawner started meanwhile: as the first
            assertEquals(spawners.getOrDefault(e.getKey(), first), e.getValue(), e.getKey() + "'s signal mask");
        }
        assertEquals(self, Files.readAllLines(Path.of("/proc/thread-self/status")).stream()
                .filter(l -> l.startsWith("SigBlk:")).findFirst().orElseThrow(), "the forking thread's signal mask");
        // no more confined than the process that started it (0 and 0, unless the suite runs under a
        // forced fallback, whose seccomp filter or Landlock domain both inherited)
        List<String> status = confinement(ProcessHandle.current().pid());
        assertEquals(confinement(ProcessHandle.current().parent().orElseThrow().pid()), status);
        assertTrue(EscapeTargets.FORCED != null || status.containsAll(List.of("Seccomp:\t0", "NoNewPrivs:\t0")), status.toString());
        assertEquals(1, Native.dumpable());
        assertTrue(Files.readString(Path.of("/etc/passwd")).length() > 0);
        Process sh = new ProcessBuilder("sh", "-c", "exit 3").start();
        assertEquals(3, sh.waitFor());
        assertEquals(mountNs, Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")));
    }

    /** A process's seccomp and no_new_privs lines of /proc/PID/status. */
    private static List<String> confinement(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                .filter(l -> l.startsWith("Seccomp") || l.startsWith("NoNewPrivs")).collect(java.util.stream.Collectors.toList());
    }

    /** The same attempts from a JVM running as uid 65534: the sandbox needs no privilege. */
    @Test
    void anUnprivilegedJvmGetsTheSameSandbox() throws Exception {
        assumeTrue(TestBlobs.root(), "needs root: to start a JVM as uid 65534");
        EscapeTargets.assumeWhole();
        String out = TestBlobs.runAsNobody(AsNobody.class, "escape");
        assertEquals("ok ok\nread refused\nkill refused\nvmread refused\ntcp refused\nunshare-then-exec ok\n"
                + "layers " + SandboxSupport.Level.FULL + "\n", out);
    }

    /** Run as uid 65534 by the test above: prints each attempt's outcome. */
    public static final class AsNobody {
        public static void main(String[] args) throws Exception {
            String jvm = Long.toString(EscapeTargets.jvmPid());
            // no EscapeTargets.Secret here: Unsafe warns on stderr on JDK 24+, which this JVM's output must not
            // hold; the attempt is stopped before it reads anything, and EscapeBlobTest shows it is real
            String anyAddress = Long.toHexString(0x7f0000000000L);
            try (EscapeTargets.TcpListener tcp = new EscapeTargets.TcpListener()) {
                print("ok", strict("ok"));
                print("read", strict("read", "/etc/passwd"));
                print("kill", strict("kill", jvm));
                print("vmread", strict("vmread", jvm, anyAddress));
                print("tcp", strict("tcp", Integer.toString(tcp.port())));
            }
            // the child left no namespace behind in this JVM, and forks unsandboxed as before
            print("unshare-then-exec", EscapeTargets.attempt("ok"));
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), STRICT)) {
                p.waitFor();
                System.out.println("layers " + p.sandboxLayers().get(SandboxSupport.Layer.USER_NAMESPACE).level());
            }
        }

        private static void print(String name, EscapeTargets.Attempt a) {
            System.out.println(name + " " + (a.succeeded() ? "ok" : a.refusal().isPresent() || a.killedBySeccomp() ? "refused" : a));
        }
    }

    /**
     * Landlock alone, the namespaces (and seccomp, which would stop most attempts first) switched
     * off as on a kernel without them (forced in a second JVM, BEST_EFFORT): the file system, TCP and signals to the JVM are still denied,
     * now by Landlock (EACCES, EPERM) rather than by an empty root and a pid namespace (ENOENT,
     * ESRCH), and the process says which layers it did not get.
     */
    @Test
    void landlockAloneWhereTheNamespacesAreMissing() throws Exception {
        assumeTrue(Native.landlockAbi() >= 6, "needs Landlock ABI 6");
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(),
                List.of("-D" + SandboxSupport.DISABLE_PROPERTY + "=USER_NAMESPACE,NAMESPACES,EMPTY_ROOT,SECCOMP"), LandlockAlone.class));
        assertEquals("read EACCES\nkill EPERM\ntcp EACCES\nabstract EPERM\nok ok\n"
                + "NAMESPACES NONE (disabled by -Dumh.sandbox.disable)\nLANDLOCK_FILESYSTEM FULL\n", out);
    }

    /** Run by the test above. */
    public static final class LandlockAlone {
        public static void main(String[] args) throws Exception {
            ForkOptions o = ForkOptions.builder().sandbox(SandboxPolicy.builder().enforcement(Enforcement.BEST_EFFORT).build()).build();
            String jvm = Long.toString(EscapeTargets.jvmPid());
            try (EscapeTargets.TcpListener tcp = new EscapeTargets.TcpListener();
                 EscapeTargets.AbstractListener abs = new EscapeTargets.AbstractListener()) {
                for (String[] a : new String[][] {{"read", "/etc/passwd"}, {"kill", jvm}, {"tcp", Integer.toString(tcp.port())},
                        {"abstract", abs.name()}, {"ok"}}) {
                    EscapeTargets.Attempt r = EscapeTargets.attempt(o, a[0], java.util.Arrays.copyOfRange(a, 1, a.length));
                    System.out.println(a[0] + " " + (r.succeeded() ? "ok" : r.refusal().orElse(r.toString())));
                }
            }
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), o)) {
                p.waitFor();
                System.out.println("NAMESPACES " + p.sandboxLayers().get(SandboxSupport.Layer.NAMESPACES));
                System.out.println("LANDLOCK_FILESYSTEM " + p.sandboxLayers().get(SandboxSupport.Layer.LANDLOCK_FILESYSTEM).level());
            }
        }
    }

    /**
     * A kernel where user namespaces are switched off, for real: a throwaway user namespace whose
     * user.max_user_namespaces is 0 (so a clone with CLONE_NEWUSER fails there, ENOSPC). The JVM is
     * root in it, so the other namespaces still come, without a user namespace, and the layers
     * report says which one is missing and why.
     */
    @Test
    void withoutUserNamespacesARootJvmGetsTheRest() throws Exception {
        assumeTrue(TestBlobs.root(), "needs root: to make the throwaway user namespace");
        EscapeTargets.assumeWhole();
        List<String> prefix = List.of("unshare", "--user", "--map-root-user", "sh", "-c",
                "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$@\"", "sh");
        String out = TestBlobs.run(TestBlobs.javaCommand(prefix, List.of(), NoUserNamespaces.class));
        assertEquals("USER_NAMESPACE NONE (sysctl user.max_user_namespaces=0)\nNAMESPACES FULL (as root, without a user namespace)\n"
                + "read killed\nkill killed\nok ok\nlayers: USER_NAMESPACE NONE, SECCOMP FULL\n", out);
    }

    /** Run by the test above, in the throwaway user namespace. */
    public static final class NoUserNamespaces {
        public static void main(String[] args) throws Exception {
            SandboxSupport s = Umh.sandboxSupport();
            System.out.println("USER_NAMESPACE " + s.status(SandboxSupport.Layer.USER_NAMESPACE));
            System.out.println("NAMESPACES " + s.status(SandboxSupport.Layer.NAMESPACES));
            for (String[] a : new String[][] {{"read", "/etc/passwd"}, {"kill", Long.toString(EscapeTargets.jvmPid())}, {"ok"}}) {
                EscapeTargets.Attempt r = strict(a[0], java.util.Arrays.copyOfRange(a, 1, a.length));
                System.out.println(a[0] + " " + (r.succeeded() ? "ok" : r.killedBySeccomp() ? "killed" : r.toString()));
            }
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), STRICT)) {
                p.waitFor();
                System.out.println("layers: USER_NAMESPACE " + p.sandboxLayers().get(SandboxSupport.Layer.USER_NAMESPACE).level()
                        + ", SECCOMP " + p.sandboxLayers().get(SandboxSupport.Layer.SECCOMP).level());
            }
        }
    }

    /** The SigBlk line of this JVM's thread named {@code comm}. */
    /**
     * The mask of thread {@code comm} once it is idle (State S: waiting for work). A caller is woken
     * at its child's exec, when the spawner may not yet have restored its mask (vfork: State D; just
     * after: R), so a sample taken then would catch the mask of the spawn, not its own.
     */
    /** Strict forks from four threads at once: the spawner pool grows while its queue is not empty. */
    private static void forkConcurrently() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<EscapeTargets.Attempt>> fs = new java.util.ArrayList<>();
            for (int i = 0; i < 16; i++) {
                fs.add(pool.submit(() -> strict("ok")));
            }
            for (java.util.concurrent.Future<EscapeTargets.Attempt> f : fs) {
                assertTrue(f.get().succeeded(), f.get().toString());
            }
        } finally {
            pool.shutdown();
        }
    }

    /** Each spawner thread's (umh-spawner, umh-spawner-2, ...) signal mask, once it is idle. */
    private static java.util.Map<String, String> spawnerMasks() throws IOException, InterruptedException {
        java.util.Map<String, String> masks = new java.util.TreeMap<>();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                String comm;
                try {
                    comm = Files.readString(t.resolve("comm")).trim();
                } catch (IOException e) {
                    if (Files.exists(t)) {
                        throw e;
                    }
                    continue; // a thread that ended while listed: ENOENT or ESRCH (spawners never end)
                }
                if (comm.startsWith("umh-spawner")) {
                    masks.put(comm, sigBlk(t));
                }
            }
        }
        assertTrue(masks.containsKey("umh-spawner"), masks.toString());
        return masks;
    }

    private static String sigBlk(Path task) throws IOException, InterruptedException {
        for (int tries = 0; ; tries++) {
            List<String> status = Files.readAllLines(task.resolve("status"));
            String mask = status.stream().filter(l -> l.startsWith("SigBlk:")).findFirst().orElseThrow();
            if (status.stream().anyMatch(l -> l.startsWith("State:\tS")) || tries == 1000) {
                return mask;
            }
            Thread.sleep(10);
        }
    }
}
