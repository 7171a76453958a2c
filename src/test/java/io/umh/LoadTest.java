package io.umh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Named blobs (the memfd's name, as /proc, ps and ProcessHandle show it, and the default argv0) and
 * streaming loads (an InputStream in chunks, a file copied by the kernel): real children run from
 * each, the bytes they run are the bytes given, and no load, good or bad, leaves an fd behind.
 */
@Timeout(60)
@org.junit.jupiter.api.extension.ExtendWith(NothingLeaked.class)
class LoadTest {



    // ---- named blobs

    @Test
    void theChildShowsTheBlobsName() throws Exception {
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("sleeper"), "parser-helper");
             UsermodeProcess p = blob.fork()) {
            assertEquals("parser-helper", blob.name());
            assertEquals("ready\n", new String(p.pipeFromUmh().readNBytes(6), StandardCharsets.US_ASCII));
            Path proc = Paths.get("/proc/" + p.pid());
            assertEquals("/memfd:parser-helper (deleted)", Files.readSymbolicLink(proc.resolve("exe")).toString());
            assertEquals("/memfd:parser-helper (deleted)", p.toHandle().info().command().orElseThrow());
            assertEquals("/memfd:parser-helper (deleted)",
                    ProcessHandle.of(p.pid()).orElseThrow().info().command().orElseThrow());
            assertEquals("parser-helper\0", Files.readString(proc.resolve("cmdline"))); // argv[0]: the name
            String comm = Files.readString(proc.resolve("comm")).trim();
            assertComm("parser-helper", comm);
            ProcessBuilder psb = new ProcessBuilder("ps", "-o", "comm=,args=", "-p", Long.toString(p.pid()));
            psb.environment().remove("LD_PRELOAD"); // java_under_asan.sh's libasan: procps's ps hangs with it preloaded
            Process ps = psb.start();
            try (var in = ps.getInputStream(); var out = ps.getOutputStream(); var err = ps.getErrorStream()) {
                // closed here: the JDK closes them after waitFor, on its reaper thread, racing the fd count
                assertEquals(comm + " parser-helper", new String(in.readAllBytes(), StandardCharsets.UTF_8).trim().replaceAll(" +", " "));
                assertEquals(0, ps.waitFor());
            }
        }
    }

    /**
     * What the kernel makes of the memfd's name for /proc/PID/comm: since 6.14 an execveat of an fd
     * names the task after the file's dentry, "memfd:NAME", cut to 15 bytes; before, after the
     * "/dev/fd/N" it makes up: the fd's number.
     */
    private static void assertComm(String name, String comm) {
        String[] v = System.getProperty("os.version").split("[.-]");
        int major = Integer.parseInt(v[0]);
        int minor = Integer.parseInt(v[1]);
        if (major > 6 || (major == 6 && minor >= 14)) {
            assertEquals(("memfd:" + name).substring(0, Math.min(15, 6 + name.length())), comm);
        } else {
            assertTrue(comm.matches("\\d+"), comm);
        }
    }

    @Test
    void argv0IsTheBlobsNameUnlessSet() throws Exception {
        try (UsermodeBlob probe = Umh.load(TestBlobs.bytes("probe"), "my-probe")) {
            assertEquals("my-probe", probe(probe, ForkOptions.defaults()).get("argv[0]"));
            ForkOptions two = ForkOptions.builder().args("x").build();
            assertEquals(null, two.argv0());
            assertEquals("my-probe", probe(probe, two).get("argv[0]"));
            assertEquals("x", probe(probe, two).get("argv[1]"));
            assertEquals(null, two.toBuilder().build().argv0(), "toBuilder keeps argv0 unset");
            ForkOptions set = two.toBuilder().argv0("explicit").build();
            assertEquals("explicit", probe(probe, set).get("argv[0]"));
            assertEquals("x", probe(probe, set).get("argv[1]"));
        }
        try (UsermodeBlob unnamed = Umh.load(TestBlobs.bytes("probe"))) {
            assertEquals("umh-blob", unnamed.name());
            assertEquals(UsermodeBlob.DEFAULT_NAME, probe(unnamed, ForkOptions.defaults()).get("argv[0]"));
        }
        try (UsermodeBlob blob = Umh.load(TestBlobs.bytes("probe"), "ünï-€")) { // any encodable name
            assertEquals("ünï-€", probe(blob, ForkOptions.defaults()).get("argv[0]"));
        }
    }

    private static java.util.Map<String, String> probe(UsermodeBlob blob, ForkOptions o) throws Exception {
        try (UsermodeProcess p = blob.fork(o)) {
            java.util.Map<String, String> m = TestBlobs.probe(p);
            assertEquals(0, p.waitFor());
            return m;
        }
    }

    @Test
    void badNamesAreRefusedNamingTheProblem() throws Exception {
        byte[] exit = TestBlobs.bytes("exit");
        assertEquals("blob name is empty: \"\"", refused(() -> Umh.load(exit, "")));
        assertEquals("blob name contains '/' (it names one file, as a file name does): \"bin/tool\"",
                refused(() -> Umh.load(exit, "bin/tool")));
        assertEquals("blob name contains a NUL character: \"a?b\"", refused(() -> Umh.load(exit, "a\0b")));
        String longest = "n".repeat(249);
        try (UsermodeBlob ok = Umh.load(exit, longest)) {
            assertEquals(longest, ok.name());
        }
        assertTrue(refused(() -> Umh.load(exit, longest + "n"))
                .startsWith("blob name is 250 bytes long; memfd_create takes at most 249: \"nnn"));
        // bytes, not characters: 125 two-byte characters are 250 bytes
        assertTrue(refused(() -> Umh.load(new ByteArrayInputStream(exit), "é".repeat(125)))
                .startsWith("blob name is 250 bytes long"));
        assertTrue(refused(() -> Umh.load(TestBlobs.path("exit"), "x/y")).contains("contains '/'"));
        assertThrows(NullPointerException.class, () -> Umh.load(exit, null));
    }

    private static String refused(org.junit.jupiter.api.function.Executable load) {
        return assertThrows(IllegalArgumentException.class, load).getMessage();
    }

    @Test
    void aResourceIsNamedByItsFileName() throws Exception {
        try (UsermodeBlob blob = Umh.loadResource(LoadTest.class, "named-helper.sh");
             UsermodeProcess p = blob.fork()) {
            assertEquals("named-helper.sh", blob.name());
            assertTrue(blob.isScript());
            p.pipeToUmh().close();
            // the interpreter reads the script through /dev/fd/N, which names the memfd
            assertEquals("/memfd:named-helper.sh (deleted)\n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(0, p.waitFor());
        }
        assertEquals("resource-helper.sh", Umh.fileName("/io/umh/resource-helper.sh"));
        assertEquals(UsermodeBlob.DEFAULT_NAME, Umh.fileName("dir/"));
    }

    // ---- streams

    @Test
    void aStreamLoadsInChunksAndRunsTheBytesGiven() throws Exception {
        byte[] sleeper = TestBlobs.bytes("sleeper");
        assertTrue(sleeper.length > 2 * Umh.CHUNK, "needs a blob of several chunks: " + sleeper.length);
        try (InputStream in = Files.newInputStream(TestBlobs.path("sleeper"));
             UsermodeBlob blob = Umh.load(in, "sleeper")) {
            assertEquals(sleeper.length, blob.size());
            assertFalse(blob.isScript());
            assertEquals(-1, in.read(), "read to its end");
            assertRuns(blob, sleeper);
        }
        try (UsermodeBlob unnamed = Umh.load(new ByteArrayInputStream(sleeper))) {
            assertEquals(UsermodeBlob.DEFAULT_NAME, unnamed.name());
            assertRuns(unnamed, sleeper);
        }
    }

    /** The child runs, and the bytes it was exec'd from (its /proc/PID/exe) are {@code expected}. */
    private static void assertRuns(UsermodeBlob blob, byte[] expected) throws Exception {
        try (UsermodeProcess p = blob.fork()) {
            assertEquals("ready\n", new String(p.pipeFromUmh().readNBytes(6), StandardCharsets.US_ASCII));
            assertArrayEquals(expected, Files.readAllBytes(Paths.get("/proc/" + p.pid() + "/exe")));
            p.pipeToUmh().close();
            assertEquals(0, p.waitFor());
        }
    }

    /** A deflated jar entry, the way a helper ships: InflaterInputStream gives what it has, in pieces. */
    @Test
    void aJarEntryStreamsIn(@TempDir Path dir) throws Exception {
        byte[] sleeper = TestBlobs.bytes("sleeper");
        Path jar = dir.resolve("helpers.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("helpers/sleeper"));
            out.write(sleeper);
            out.closeEntry();
        }
        try (JarFile j = new JarFile(jar.toFile());
             InputStream in = j.getInputStream(j.getEntry("helpers/sleeper"));
             UsermodeBlob blob = Umh.load(in, Umh.fileName("helpers/sleeper"))) {
            assertEquals("sleeper", blob.name());
            assertRuns(blob, sleeper);
        }
        // a Path of another file system than the default is streamed, not opened by the kernel
        try (java.nio.file.FileSystem zip = java.nio.file.FileSystems.newFileSystem(jar);
             UsermodeBlob blob = Umh.load(zip.getPath("/helpers/sleeper"))) {
            assertEquals("sleeper", blob.name());
            assertRuns(blob, sleeper);
        }
    }

    /** The first two bytes decide "#!" even when the stream hands them over one at a time. */
    @Test
    void aScriptIsRecognisedFromAStreamThatTricklesIn() throws Exception {
        byte[] script = TestBlobs.bytes("hello.sh");
        try (UsermodeBlob blob = Umh.load(trickle(script), "hello.sh");
             UsermodeProcess p = blob.fork(ForkOptions.builder().args("there").build())) {
            assertTrue(blob.isScript());
            assertEquals(script.length, blob.size());
            p.pipeToUmh().write("line\n".getBytes(StandardCharsets.UTF_8));
            p.pipeToUmh().close();
            assertEquals("hello from sh: there\nread: line\n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(7, p.waitFor());
        }
        try (UsermodeBlob one = Umh.load(new ByteArrayInputStream(new byte[] {'#'}), "one")) {
            assertEquals(1, one.size());
            assertFalse(one.isScript());
        }
    }

    /** A stream that gives one byte per read. */
    private static InputStream trickle(byte[] bytes) {
        return new ByteArrayInputStream(bytes) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 1));
            }
        };
    }

    @Test
    void anEmptyOrFailingStreamClosesItsMemfd() throws Exception {
        int fdsBefore = TestBlobs.openFds();
        EOFException empty = assertThrows(EOFException.class, () -> Umh.load(InputStream.nullInputStream(), "empty"));
        assertEquals("load: the stream is empty", empty.getMessage());
        TestBlobs.assertFds(fdsBefore);

        IOException broken = new IOException("connection reset");
        InputStream failing = new InputStream() {
            private int left = 3 * Umh.CHUNK; // fails in the middle of the fourth chunk

            @Override
            public int read() throws IOException {
                if (left-- <= 0) {
                    throw broken;
                }
                return 0x7f;
            }
        };
        assertEquals(broken, assertThrows(IOException.class, () -> Umh.load(failing, "broken")));
        TestBlobs.assertFds(fdsBefore);
        assertThrows(NullPointerException.class, () -> Umh.load((InputStream) null, "x"));
    }

    /**
     * The blob is never whole on the heap: a 32 MiB stream costs this thread about one 64 KiB
     * buffer of allocation (counted by the JVM, not timed), where readAllBytes would cost 64 MiB or more.
     */
    @Test
    void aStreamedLoadAllocatesOneBufferNotTheBlob() throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long size = 32L << 20;
        Umh.load(zeros(Umh.CHUNK * 3L), "warm").close(); // classes loaded, code compiled enough
        long tid = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(tid);
        try (UsermodeBlob blob = Umh.load(zeros(size), "big")) {
            long allocated = threads.getThreadAllocatedBytes(tid) - before;
            assertEquals(size, blob.size());
            assertTrue(allocated < 256 * 1024, "allocated " + allocated + " bytes to load " + size);
        }
    }

    /** {@code size} zero bytes, made without allocating. */
    private static InputStream zeros(long size) {
        return new InputStream() {
            private long left = size;

            @Override
            public int read() {
                return left-- > 0 ? 0 : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left <= 0) {
                    return -1;
                }
                int n = (int) Math.min(len, left);
                Arrays.fill(b, off, off + n, (byte) 0);
                left -= n;
                return n;
            }
        };
    }

    // ---- files

    @Test
    void aFileIsCopiedByTheKernelAndNamedByItsFileName() throws Exception {
        byte[] sleeper = TestBlobs.bytes("sleeper");
        try (UsermodeBlob blob = Umh.load(TestBlobs.path("sleeper"))) {
            assertEquals("sleeper", blob.name());
            assertEquals(sleeper.length, blob.size());
            assertRuns(blob, sleeper);
        }
        // from tmpfs too, where copy_file_range may copy within one file system type
        Path shm = Paths.get("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            Path copy = Files.createTempFile(shm, "umh-load-test", ".bin");
            try {
                Files.write(copy, sleeper);
                try (UsermodeBlob blob = Umh.load(copy, "from-shm")) {
                    assertRuns(blob, sleeper);
                }
            } finally {
                Files.delete(copy);
            }
        }
        try (UsermodeBlob script = Umh.load(TestBlobs.path("hello.sh"));
             UsermodeProcess p = script.fork()) {
            assertTrue(script.isScript());
            assertEquals("hello.sh", script.name());
            p.pipeToUmh().close();
            assertEquals("hello from sh: \n", new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(7, p.waitFor());
        }
    }

    /** What is not a regular file is read and written: a FIFO here, fed by a thread. */
    @Test
    void aPipeIsReadToItsEnd(@TempDir Path dir) throws Exception {
        byte[] sleeper = TestBlobs.bytes("sleeper");
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor());
        Thread writer = new Thread(() -> {
            try (OutputStream out = Files.newOutputStream(fifo)) {
                out.write(sleeper);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        writer.start();
        try (UsermodeBlob blob = Umh.load(fifo)) {
            assertEquals("fifo", blob.name());
            assertRuns(blob, sleeper);
        }
        writer.join();
        // a /proc file, whose size says 0, is read too
        try (UsermodeBlob status = Umh.load(Paths.get("/proc/self/status"))) {
            assertTrue(status.size() > 100, "size " + status.size());
        }
    }

    @Test
    void aMissingFileADirectoryAndAnEmptyFileNameThePath(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing");
        assertEquals("load: open failed: ENOENT (No such file or directory): " + missing,
                assertThrows(IOException.class, () -> Umh.load(missing)).getMessage());
        assertEquals("load: read failed: EISDIR (Is a directory): " + dir,
                assertThrows(IOException.class, () -> Umh.load(dir)).getMessage());
        Path empty = Files.createFile(dir.resolve("empty"));
        assertEquals("load: file " + empty + " is empty", assertThrows(EOFException.class, () -> Umh.load(empty)).getMessage());
        Path unreadable = Files.write(dir.resolve("unreadable"), new byte[] {1});
        Files.setPosixFilePermissions(unreadable, java.util.Set.of());
        if (!TestBlobs.root()) {
            assertTrue(assertThrows(IOException.class, () -> Umh.load(unreadable)).getMessage().contains("EACCES"));
        }
        // "/" has no file name (the blob would get the default one), and is a directory
        assertEquals("load: read failed: EISDIR (Is a directory): /",
                assertThrows(IOException.class, () -> Umh.load(Paths.get("/"))).getMessage());
        assertThrows(NullPointerException.class, () -> Umh.load((Path) null));
    }
}
