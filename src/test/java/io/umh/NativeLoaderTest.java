package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** How the shim is found, in fresh JVMs: each failure says what was tried and what to do. */
@Timeout(120)
class NativeLoaderTest {
    /** Main of the second JVM: fork cat once and print what came back, or the error. */
    public static final class ForkOnce {
        public static void main(String[] args) {
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("cat"))) {
                p.pipeToUmh().write("forked".getBytes(StandardCharsets.UTF_8));
                p.pipeToUmh().close();
                System.out.println(new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8) + " " + p.waitFor());
            } catch (Throwable t) {
                System.out.println(t);
            }
        }
    }

    /** Main of the second JVM: fork once, then print where the shim was mapped from and what java.io.tmpdir holds. */
    public static final class ForkAndShowShim {
        public static void main(String[] args) throws Exception {
            ForkOnce.main(args);
            System.out.println(Files.readAllLines(Paths.get("/proc/self/maps")).stream().filter(l -> l.contains("libumh"))
                    .map(l -> l.substring(l.indexOf('/'))).findFirst().orElse("no libumh mapped"));
            try (Stream<Path> files = Files.list(Paths.get(System.getProperty("java.io.tmpdir")))) {
                System.out.println("tmpdir: " + files.map(p -> p.getFileName().toString()).collect(Collectors.toList()));
            }
        }
    }

    private static String forkOnce(List<String> prefix, String... jvmArgs) throws Exception {
        return TestBlobs.run(TestBlobs.javaCommand(prefix, List.of(jvmArgs), ForkOnce.class)).trim();
    }

    private static List<String> noexecMountOver(Path dir) {
        return List.of("unshare", "-m", "sh", "-c", "mount -t tmpfs -o noexec umh-noexec '" + dir + "' && exec \"$0\" \"$@\"");
    }

    private static boolean canUnshareMounts() throws Exception {
        return TestBlobs.run(List.of("unshare", "-m", "true")).isEmpty();
    }

    /** Umh.platform() names this CPU's platform jar, whose shim is where it says: the directory the loader reads. */
    @Test
    void platformNamesThisJvmsShimDirectory() {
        String arch = System.getProperty("os.arch");
        assertEquals(arch.equals("aarch64") ? "linux-aarch_64" : "linux-x86_64", Umh.platform(), arch);
        assertTrue(Umh.class.getResource("/META-INF/native/" + Umh.platform() + "/libumh.so") != null, Umh.platform());
    }

    @Test
    void extractsOnceUnderAContentHashName(@TempDir Path dir) throws Exception {
        String prop = "-Dumh.native.dir=" + dir;
        // two JVMs at once, then a third that reuses the file
        List<CompletableFuture<String>> runs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            runs.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return forkOnce(List.of(), prop);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }));
        }
        for (CompletableFuture<String> r : runs) {
            assertEquals("forked 0", r.get());
        }
        assertEquals("forked 0", forkOnce(List.of(), prop));
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).collect(Collectors.toList());
            assertEquals(1, names.size(), names.toString());
            assertTrue(names.get(0).matches("libumh-[0-9a-f]{8}-[0-9]+-[0-9]+\\.so"), names.toString());
            // the name's uid is the effective uid /proc/self/status gave: the one the file was made with
            assertTrue(names.get(0).endsWith("-" + Files.getAttribute(dir.resolve(names.get(0)), "unix:uid") + ".so"), names.toString());
        }
    }

    /**
     * Regression: a copy under the expected name that another user owns was loaded after a hash
     * check, and that user could rewrite it in between (root JVMs in /tmp); and a root-owned copy,
     * mode 0600, made every other user's JVM fail. Now each uid has its own name, and a copy not
     * owned by this uid alone is replaced.
     */
    @Test
    void aCopyOwnedBySomeoneElseIsReplaced(@TempDir Path dir) throws Exception {
        assumeTrue(TestBlobs.root(), "needs root to give a file to another user");
        String prop = "-Dumh.native.dir=" + dir;
        assertEquals("forked 0", forkOnce(List.of(), prop));
        Path ours;
        try (Stream<Path> files = Files.list(dir)) {
            ours = files.collect(Collectors.toList()).get(0);
        }
        Files.setAttribute(ours, "unix:uid", 65534); // as if nobody had put it there first
        assertEquals("forked 0", forkOnce(List.of(), prop));
        assertEquals(0, Files.getAttribute(ours, "unix:uid"), "the copy nobody owned was kept");
        Files.setPosixFilePermissions(ours, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
        assertEquals("forked 0", forkOnce(List.of(), prop));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(ours)), "the copy anyone could write was kept");
    }

    /**
     * A copy of ours under the expected name whose bytes are not this build's (damaged, or another
     * build of the same length) fails the CRC-32 check that replaced the byte-by-byte comparison,
     * and is written anew.
     */
    @Test
    void aDamagedCopyIsReplaced(@TempDir Path dir) throws Exception {
        String prop = "-Dumh.native.dir=" + dir;
        assertEquals("forked 0", forkOnce(List.of(), prop));
        Path ours;
        try (Stream<Path> files = Files.list(dir)) {
            ours = files.collect(Collectors.toList()).get(0);
        }
        byte[] good = Files.readAllBytes(ours);
        byte[] bad = good.clone();
        bad[bad.length / 2] ^= 1; // same length, same owner and mode: only the bytes tell
        Files.write(ours, bad);
        assertEquals("forked 0", forkOnce(List.of(), prop));
        assertTrue(java.util.Arrays.equals(good, Files.readAllBytes(ours)), "the damaged copy was written anew");
    }

    @Test
    void unsupportedCpuSaysWhichPlatformsExist() throws Exception {
        String out = forkOnce(List.of(), "-Dos.arch=sparc");
        assertTrue(out.startsWith("java.lang.UnsatisfiedLinkError: umh has no native library for CPU sparc; "
                + "supported: linux-x86_64, linux-aarch_64"), out);
    }

    /**
     * An aarch64 JVM looks for the linux-aarch_64 shim, the name os-maven-plugin gives the platform.
     * Here (x86_64) it is either missing or, where the cross build put it on the class path, the
     * wrong CPU's: either way the error names it.
     */
    @Test
    void aarch64LooksForLinuxAarch64(@TempDir Path dir) throws Exception {
        String out = forkOnce(List.of(), "-Dos.arch=aarch64", "-Dumh.native.dir=" + dir);
        assertTrue(out.startsWith("java.lang.UnsatisfiedLinkError: umh: ")
                && out.contains("/META-INF/native/linux-aarch_64/libumh.so"), out);
    }

    @Test
    void notLinuxSaysSo() throws Exception {
        String out = forkOnce(List.of(), "-Dos.name=Windows 11");
        assertTrue(out.startsWith("java.lang.UnsatisfiedLinkError: umh runs on Linux only"), out);
    }

    @Test
    void explicitPathThatIsMissingSaysWhatWasTried() throws Exception {
        String out = forkOnce(List.of(), "-Dumh.native.path=/nonexistent/libumh.so");
        assertTrue(out.startsWith("java.lang.UnsatisfiedLinkError: umh: cannot load its native library; tried "
                + "-Dumh.native.path: Can't load library: /nonexistent/libumh.so. "), out);
    }

    private static List<String> inPidNamespaceWithMemfdNoexec(int value) {
        return List.of("unshare", "-p", "-f", "--mount-proc", "sh", "-c",
                "echo " + value + " > /proc/sys/vm/memfd_noexec && exec \"$0\" \"$@\"");
    }

    /**
     * vm.memfd_noexec is per pid namespace (6.3+): 1 makes memfds non-executable unless asked for
     * with MFD_EXEC, which umh does; 2 refuses executable memfds, and the error names the sysctl.
     */
    @Test
    void memfdNoexecSysctl() throws Exception {
        assumeTrue(Files.exists(Paths.get("/proc/sys/vm/memfd_noexec")), "kernel before 6.3");
        assumeTrue(TestBlobs.run(List.of("unshare", "-p", "-f", "true")).isEmpty(), "needs root for a pid namespace");
        assertEquals("forked 0", forkOnce(inPidNamespaceWithMemfdNoexec(1)));
        assertEquals("java.io.IOException: load: memfd_create failed: EACCES (Permission denied); "
                + "executable memfds are refused by sysctl vm.memfd_noexec=2", forkOnce(inPidNamespaceWithMemfdNoexec(2)));
    }

    /**
     * A noexec temporary directory (a tmpfs mounted noexec in a private mount namespace, used as
     * java.io.tmpdir, as CIS-hardened hosts mount /tmp): blobs never need it; only extracting the
     * shim does, where it cannot be loaded from a memfd (before JDK 22, or without native access).
     * The loader sees the noexec option in /proc/self/mountinfo and extracts into ~/.cache/umh
     * instead, leaving nothing in the tmpdir. Not /tmp itself: the checkout (and so the class path)
     * may live under /tmp, as in a CI clone.
     */
    @Test
    void noexecTmpFallsBackToTheUsersCache(@TempDir Path tmp, @TempDir Path home) throws Exception {
        assumeTrue(canUnshareMounts(), "needs root to make a mount namespace");
        String out = TestBlobs.run(withoutNativeAccess(TestBlobs.javaCommand(noXdg(noexecMountOver(tmp)),
                List.of("-Djava.io.tmpdir=" + tmp, "-Duser.home=" + home), ForkAndShowShim.class))).lines()
                .filter(l -> !l.startsWith("WARNING: ") && !l.isEmpty()) // JDK 24+: System.load without native access warns
                .collect(Collectors.joining("\n"));
        assertTrue(out.matches("forked 0\n" + Pattern.quote(home + "/.cache/umh/") + "libumh-[0-9a-f]{8}-[0-9]+-[0-9]+\\.so\ntmpdir: \\[\\]"), out);
    }

    /**
     * Nowhere to extract: a noexec tmpdir and a home inside it, or under a read-only root. The
     * error names each directory once with why, says what to set, and nothing is left behind.
     */
    @Test
    void nowhereToExtractSaysWhereItLookedAndLeavesNothing(@TempDir Path tmp) throws Exception {
        assumeTrue(canUnshareMounts(), "needs root to make a mount namespace");
        int jdk = Runtime.version().feature();
        String memfd = jdk < 22 ? "a memfd: needs JDK 22+ (the FFM API), this is JDK " + jdk
                : "a memfd: native access is not enabled for the class path (--enable-native-access=ALL-UNNAMED)";
        String out = TestBlobs.run(withoutNativeAccess(TestBlobs.javaCommand(noXdg(noexecMountOver(tmp)),
                List.of("-Djava.io.tmpdir=" + tmp, "-Duser.home=" + tmp + "/home"), ForkOnce.class))).trim();
        assertTrue(out.startsWith("java.lang.UnsatisfiedLinkError: umh: cannot load its native library; tried " + tmp + ": mounted noexec (on "
                + tmp + "); " + tmp + "/home/.cache/umh: mounted noexec (on " + tmp + "); " + memfd + ". "
                + "Set -Dumh.native.dir to a writable directory not mounted noexec, or -Dumh.native.path"), out);
        List<String> readOnlyRoot = List.of("unshare", "-m", "sh", "-c", "mount --make-rprivate / && mount -o remount,bind,ro / && "
                + "mount -t tmpfs -o noexec umh-noexec '" + tmp + "' && exec \"$0\" \"$@\"");
        out = TestBlobs.run(withoutNativeAccess(TestBlobs.javaCommand(noXdg(readOnlyRoot),
                List.of("-Djava.io.tmpdir=" + tmp, "-Duser.home=/root"), ForkOnce.class))).trim();
        assertTrue(out.contains("; /root/.cache/umh: Read-only file system") || out.contains("; /root/.cache/umh: no such directory"), out);
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.collect(Collectors.toList()), "nothing written where the mounts hid it either");
        }
        Path lib = Paths.get("target/classes/META-INF/native/" + Umh.platform() + "/libumh.so").toAbsolutePath();
        assertEquals("forked 0", forkOnce(noexecMountOver(tmp), "-Djava.io.tmpdir=" + tmp, "-Dumh.native.path=" + lib));
    }

    /** The prefix, run without the XDG directories (so that only the tmpdir, the home's cache and the jar's directory count). */
    private static List<String> noXdg(List<String> prefix) {
        List<String> p = new ArrayList<>(List.of("env", "-u", "XDG_RUNTIME_DIR", "-u", "XDG_CACHE_HOME"));
        p.addAll(prefix);
        return p;
    }

    private static List<String> withoutNativeAccess(List<String> command) {
        List<String> c = new ArrayList<>(command);
        c.remove("--enable-native-access=ALL-UNNAMED");
        return c;
    }

    /**
     * JDK 22+ with native access and -Dumh.native.memfd=true: the memfd first, though java.io.tmpdir
     * would take a copy: no file is written, and no warning printed.
     */
    @Test
    void loadsFromAMemfdFirstWhenAsked(@TempDir Path tmp) throws Exception {
        assumeTrue(Runtime.version().feature() >= 22, "the FFM API is final in JDK 22");
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(), List.of("-Djava.io.tmpdir=" + tmp, "-Dumh.native.memfd=true"),
                ForkAndShowShim.class)).trim();
        assertEquals("forked 0\n/memfd:libumh.so (deleted)\ntmpdir: []", out);
    }

    /**
     * JDK 22+ with native access, nowhere to extract (a noexec tmpdir, the home's cache inside it):
     * the memfd as the last resort, nothing left in the directories tried, no warning printed.
     */
    @Test
    void aMemfdIsTheLastResortOnJdk22(@TempDir Path tmp) throws Exception {
        assumeTrue(Runtime.version().feature() >= 22, "the FFM API is final in JDK 22");
        assumeTrue(canUnshareMounts(), "needs root to make a mount namespace");
        String out = TestBlobs.run(TestBlobs.javaCommand(noXdg(noexecMountOver(tmp)),
                List.of("-Djava.io.tmpdir=" + tmp, "-Duser.home=" + tmp + "/home"), ForkAndShowShim.class)).trim();
        assertEquals("forked 0\n/memfd:libumh.so (deleted)\ntmpdir: []", out);
    }

    /**
     * By default, on every JDK and with native access, the copy in java.io.tmpdir: a fresh JVM's
     * first load does without the FFM API's ~60-80 ms (benchmarks/coldstart.sh).
     */
    @Test
    void extractsFirstByDefault(@TempDir Path tmp) throws Exception {
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(), List.of("-Djava.io.tmpdir=" + tmp), ForkAndShowShim.class)).trim();
        assertTrue(out.matches("forked 0\n" + Pattern.quote(tmp.toString()) + "/libumh-[0-9a-f]{8}-[0-9]+-[0-9]+\\.so\ntmpdir: \\[libumh-.*\\.so\\]"), out);
    }

    /** -Dumh.native.dir asks for extraction: no memfd then, whatever the JDK. */
    @Test
    void nativeDirMeansExtract(@TempDir Path dir) throws Exception {
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(), List.of("-Dumh.native.dir=" + dir),
                ForkAndShowShim.class)).trim();
        assertTrue(out.matches("forked 0\n" + Pattern.quote(dir.toString()) + "/libumh-[0-9a-f]{8}-[0-9]+-[0-9]+\\.so\ntmpdir: .*"), out);
    }
}
