package io.umh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * ForkOptions.passFd: the child gets exactly fds 0, 1, 2 and the passed ones, each on its number,
 * whatever number its source has (its own target, another one's, the blob's memfd's, the spawn's
 * own pipes'), sandboxed or not. The helper (test-blobs/fds.c) lists its fds with fcntl, so that
 * it needs no /proc.
 */
@Timeout(60)
class PassFdTest {
    /** Runs the fds blob with {@code o} and {@code commands}; its stdout, and it must exit 0. */
    private static String run(ForkOptions.Builder o, String... commands) throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("fds"), o.args(commands).build())) {
            String out = new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), out);
            return out;
        }
    }

    private static String fds(Integer... passed) {
        TreeSet<Integer> all = new TreeSet<>(List.of(0, 1, 2));
        all.addAll(List.of(passed));
        return "fds=" + all.stream().map(String::valueOf).collect(Collectors.joining(",")) + "\n";
    }

    private static Path file(Path dir, String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    /** The fd numbers of this JVM whose link satisfies {@code what}. */
    private static Set<Integer> fdsWhere(java.util.function.Predicate<String> what) throws IOException {
        Set<Integer> fds = new TreeSet<>();
        try (Stream<Path> s = Files.list(Paths.get("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                try {
                    if (what.test(Files.readSymbolicLink(p).toString())) {
                        fds.add(Integer.parseInt(p.getFileName().toString()));
                    }
                } catch (IOException gone) {
                    // the listing's own fd
                }
            }
        }
        return fds;
    }

    @Test
    void aFileIsReadOnFd3AndTheChildHasNoOtherFd(@TempDir Path dir) throws Exception {
        Path f = file(dir, "input", "the helper's input\n");
        assertEquals(fds(), run(ForkOptions.builder(), "list"));
        assertEquals(fds(3) + "the helper's input\n", run(ForkOptions.builder().passFd(3, f), "list", "cat:3"));
        try (FileInputStream in = new FileInputStream(f.toFile())) {
            ForkOptions.Builder b = ForkOptions.builder().passFd(3, in.getFD()).passFd(9, f);
            assertEquals(fds(3, 9) + "the helper's input\nthe helper's input\n", run(b, "list", "cat:3", "cat:9"));
            ForkOptions o = b.build();
            assertEquals(Map.of(3, in.getFD()), o.passedFds());
            assertEquals(Map.of(9, f), o.passedFiles());
            assertEquals(o.passedFiles(), o.toBuilder().build().passedFiles());
            // the copy shares the open file, and so its offset: the helper read it all
            assertEquals(-1, in.read());
        }
        assertFalse(TestBlobs.fdTargets().contains(f.toString()), "the JVM still holds " + f);
    }

    @Test
    void aPipeEndFromAnotherHelper() throws Exception {
        // writer | reader, the reader reading fd 3. Once a helper exits the JVM takes what is left
        // in its stdout pipe into memory (as the JDK does), so the writer exits only after the
        // reader has passed its output on: that read is the proof it came through fd 3
        try (UsermodeProcess writer = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"));
             UsermodeProcess reader = Umh.forkUsermodeBlob(TestBlobs.bytes("fds"),
                     ForkOptions.builder().passFd(3, writer.pipeFromUmh().getFD()).args("cat:3").build())) {
            assertEquals("ready\n", new String(reader.pipeFromUmh().readNBytes(6), StandardCharsets.UTF_8));
            writer.pipeToUmh().close(); // the sleeper exits on EOF: the reader's EOF on fd 3
            assertEquals(0, writer.waitFor());
            assertEquals(-1, reader.pipeFromUmh().read());
            assertEquals(0, reader.waitFor());
        }
    }

    @Test
    void aListeningSocket(@TempDir Path dir) throws Exception {
        Path path = dir.resolve("sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            FileDescriptor fd = Native.fileDescriptor(socketFd(path)); // not owned: the channel closes it
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("fds"),
                    ForkOptions.builder().passFd(5, fd).args("accept:5:hello from fd 5").build());
                 SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                ByteBuffer buf = ByteBuffer.allocate(64);
                while (client.read(buf) >= 0) {
                    // until the helper closes the connection
                }
                assertEquals("hello from fd 5", new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
                assertEquals(0, p.waitFor());
            }
        }
    }

    /** This JVM's fd of the UNIX socket bound to {@code path}: its inode from /proc/net/unix. */
    private static int socketFd(Path path) throws IOException {
        String inode = Files.readAllLines(Paths.get("/proc/net/unix")).stream().map(l -> l.trim().split("\\s+"))
                .filter(f -> f.length >= 8 && f[7].equals(path.toString())).map(f -> f[6]).findFirst().orElseThrow();
        Set<Integer> fds = fdsWhere(("socket:[" + inode + "]")::equals);
        assertEquals(1, fds.size(), "the socket's fd");
        return fds.iterator().next();
    }

    @Test
    void aSourceOnItsOwnTargetAndTwoSourcesOnEachOthersTargets(@TempDir Path dir) throws Exception {
        try (FileInputStream a = new FileInputStream(file(dir, "a", "A\n").toFile());
             FileInputStream b = new FileInputStream(file(dir, "b", "B\n").toFile())) {
            int fa = Native.fdNumber(a.getFD()), fb = Native.fdNumber(b.getFD());
            assertEquals(fds(fa) + "A\n", run(ForkOptions.builder().passFd(fa, a.getFD()), "list", "cat:" + fa));
        }
        try (FileInputStream a = new FileInputStream(file(dir, "a", "A\n").toFile());
             FileInputStream b = new FileInputStream(file(dir, "b", "B\n").toFile())) {
            int fa = Native.fdNumber(a.getFD()), fb = Native.fdNumber(b.getFD());
            // swapped: each source sits on the other one's target
            assertEquals(fds(fa, fb) + "B\nA\n", run(ForkOptions.builder().passFd(fa, b.getFD()).passFd(fb, a.getFD()),
                    "list", "cat:" + fa, "cat:" + fb));
        }
    }

    @Test
    void targetsOnTheMemfdAndOnTheNumbersTheSpawnsOwnFdsGet(@TempDir Path dir) throws Exception {
        Path f = file(dir, "input", "x\n");
        Set<Integer> memfdsBefore = fdsWhere(t -> t.startsWith("/memfd:"));
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("fds"))) {
            Set<Integer> memfds = fdsWhere(t -> t.startsWith("/memfd:"));
            memfds.removeAll(memfdsBefore);
            assertEquals(1, memfds.size(), "the blob's memfd");
            int memfd = memfds.iterator().next();
            for (ForkOptions base : forks()) {
                try (UsermodeProcess p = blob.fork(base.toBuilder().passFd(memfd, f).args("list", "cat:" + memfd).build())) {
                    assertEquals(fds(memfd) + "x\n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8));
                    assertEquals(0, p.waitFor());
                }
            }
        }
        // the lowest free numbers: where this fork's memfd, pipes, and a sandbox's ruleset and
        // socket land (one source for all, opened before, so that no file opened for the fork fills them)
        long inode = (Long) Files.getAttribute(f, "unix:ino");
        try (FileInputStream in = new FileInputStream(f.toFile())) {
            for (ForkOptions base : forks()) {
                List<Integer> free = lowestFree(8);
                ForkOptions.Builder b = base.toBuilder();
                StringBuilder expected = new StringBuilder(fds(free.toArray(new Integer[0])));
                List<String> commands = new ArrayList<>(List.of("list"));
                for (int fd : free) {
                    b.passFd(fd, in.getFD());
                    commands.add("stat:" + fd);
                    expected.append(fd).append('=').append(inode).append('\n');
                }
                assertEquals(expected.toString(), run(b, commands.toArray(new String[0])), base.sandbox().isPresent() ? "sandboxed" : "");
            }
        }
    }

    @Test
    void targetsOnTheSandboxsSharedNamespaces(@TempDir Path dir) throws Exception {
        Path f = file(dir, "input", "x\n");
        ForkOptions strict = ForkOptions.builder().sandbox(EscapeTargets.strict()).build();
        run(strict.toBuilder(), "list"); // the policy's namespaces are made once, at its first fork
        // the very fds strict()'s spawns join (not every namespace fd of this JVM: another policy's
        // mount namespace closes when that policy is collected, at any time)
        int[] header = EscapeTargets.strict().spawnHeader();
        Map<Integer, String> ns = new TreeMap<>();
        for (int slot : new int[] {Abi.SBX_JOIN_MNT, Abi.SBX_JOIN_NET, Abi.SBX_JOIN_USER, Abi.SBX_JOIN_IPC}) {
            if (header[slot] >= 0) {
                ns.put(header[slot], Files.readSymbolicLink(Paths.get("/proc/self/fd/" + header[slot])).toString());
            }
        }
        ForkOptions.Builder b = strict.toBuilder();
        List<String> commands = new ArrayList<>(List.of("list"));
        StringBuilder cats = new StringBuilder();
        for (int fd : ns.keySet()) {
            b.passFd(fd, f);
            commands.add("cat:" + fd);
            cats.append("x\n");
        }
        // where there are none (namespaces made per spawn), this is one more strict fork
        assertEquals(fds(ns.keySet().toArray(new Integer[0])) + cats, run(b, commands.toArray(new String[0])));
        for (Map.Entry<Integer, String> e : ns.entrySet()) {
            assertEquals(e.getValue(), Files.readSymbolicLink(Paths.get("/proc/self/fd/" + e.getKey())).toString(),
                    "the JVM's namespace fd " + e.getKey() + " stays");
        }
        assertArrayEquals(header, EscapeTargets.strict().spawnHeader(), "the spawns still join the same fds");
    }

    /** A plain fork, and one under SandboxPolicy.strict() (what this kernel gives of it, as SandboxTest). */
    private static List<ForkOptions> forks() {
        return List.of(ForkOptions.defaults(), ForkOptions.builder().sandbox(EscapeTargets.strict()).build());
    }

    private static List<Integer> lowestFree(int n) throws IOException {
        Set<Integer> open = fdsWhere(t -> true);
        List<Integer> free = new ArrayList<>();
        for (int fd = 3; free.size() < n; fd++) {
            if (!open.contains(fd)) {
                free.add(fd);
            }
        }
        return free;
    }

    @Test
    void aStrictlySandboxedHelperReadsItsInputFromAPassedFd(@TempDir Path dir) throws Exception {
        Path f = file(dir, "secret-input", "read without a file system\n");
        ForkOptions.Builder b = ForkOptions.builder().sandbox(EscapeTargets.strict()).passFd(3, f);
        assertEquals(fds(3) + "read without a file system\n", run(b, "list", "cat:3"));
        // its output to a file too: opened by the JVM, so the helper needs no access to it either
        Path output = dir.resolve("output");
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("fds"), b.redirectOutput(
                java.lang.ProcessBuilder.Redirect.to(output.toFile())).args("cat:3").build())) {
            assertEquals(0, p.waitFor());
        }
        assertEquals("read without a file system\n", Files.readString(output));
        // the helper itself can name no file: the same read by path is refused
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("escape"),
                ForkOptions.builder().sandbox(EscapeTargets.strict()).args("read", f.toString()).build())) {
            String out = new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            assertFalse(out.startsWith("read ok"), "the sandboxed helper read " + f + " by its path: " + out);
        }
    }

    @Test
    void badInputIsNamed(@TempDir Path dir) throws Exception {
        Path f = file(dir, "input", "x");
        ForkOptions.Builder b = ForkOptions.builder();
        for (int bad : new int[] {-1, 0, 1, 2}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.passFd(bad, f));
            assertTrue(e.getMessage().contains("child fd " + bad + " is not 3 or above"), e.getMessage());
        }
        b.passFd(3, f);
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> b.passFd(3, FileDescriptor.in));
        assertEquals("passFd: child fd 3 is given twice", twice.getMessage());
        IllegalArgumentException invalid = assertThrows(IllegalArgumentException.class, () -> b.passFd(4, new FileDescriptor()));
        assertTrue(invalid.getMessage().contains("passFd 4: the FileDescriptor is not valid"), invalid.getMessage());
        assertThrows(NullPointerException.class, () -> b.passFd(5, (Path) null));
        IllegalArgumentException limit = assertThrows(IllegalArgumentException.class, () -> ForkOptions.builder().passFd(10, f)
                .resourceLimit(ForkOptions.Resource.OPEN_FILES, 8, 8).build());
        assertTrue(limit.getMessage().contains("child fd 10 is not below resourceLimit(OPEN_FILES) soft 8"), limit.getMessage());
        ForkOptions.Builder many = ForkOptions.builder();
        for (int fd = 3; fd < 3 + Abi.PASS_MAX; fd++) {
            many.passFd(fd, f);
        }
        assertThrows(IllegalArgumentException.class, () -> many.passFd(3 + Abi.PASS_MAX, f));
    }

    @Test
    void whatCannotBePassedAtForkTimeIsNamedAndLeavesNothingOpen(@TempDir Path dir) throws Exception {
        TestBlobs.warmUp();
        int before = TestBlobs.openFds();
        Path f = file(dir, "input", "x");
        Path missing = dir.resolve("missing");
        FileNotFoundException e = assertThrows(FileNotFoundException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("fds"),
                ForkOptions.builder().passFd(3, f).passFd(4, missing).build()));
        assertEquals("fork: open failed: ENOENT (No such file or directory): passFd 4 " + missing, e.getMessage());
        FileInputStream in = new FileInputStream(f.toFile());
        ForkOptions o = ForkOptions.builder().passFd(3, f).passFd(5, in.getFD()).build();
        in.close();
        IOException closed = assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("fds"), o));
        assertEquals("fork: passFd 5: the FileDescriptor has been closed", closed.getMessage());
        assertFalse(TestBlobs.fdTargets().contains(f.toString()), "the JVM still holds " + f);
        TestBlobs.assertFds(before);
        assertEquals(List.of(), TestBlobs.zombieChildren());
    }
}
