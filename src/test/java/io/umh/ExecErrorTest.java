package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A failed exec says why in words, from the blob's bytes and the system (another CPU, no program,
 * a missing interpreter or loader, which argument limit), and a truncated ELF is refused at load;
 * each on real bytes run for real, leaving no fd and no zombie behind.
 */
@Timeout(60)
@org.junit.jupiter.api.extension.ExtendWith(NothingLeaked.class)
class ExecErrorTest {
    private static final String HOST = BlobInfo.hostMachine();



    private static String forkFails(byte[] blob, ForkOptions o) {
        return assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(blob, o)).getMessage();
    }

    private static String forkFails(byte[] blob) {
        return forkFails(blob, ForkOptions.defaults());
    }

    /**
     * A static ELF of the other CPU umh is built for: the aarch64 build's own test helper where the
     * cross compiler built it (-Paarch64), else this CPU's with its e_machine rewritten.
     */
    private static byte[] otherCpuElf(String other) throws IOException {
        Path cross = Path.of("target/cmake-aarch64/test-blobs/exit");
        if (other.equals("aarch64") && Files.exists(cross)) {
            return Files.readAllBytes(cross);
        }
        byte[] elf = TestBlobs.bytes("exit");
        ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN).putShort(18, (short) (other.equals("aarch64") ? 183 : 62));
        return elf;
    }

    @Test
    void elfOfAnotherCpuIsNamed() throws Exception {
        String other = HOST.equals("aarch64") ? "x86_64" : "aarch64";
        byte[] elf = otherCpuElf(other);
        assumeFalse(Files.exists(Path.of("/proc/sys/fs/binfmt_misc/qemu-" + other)), "an emulator would run it");
        String classifier = HOST.equals("aarch64") ? "linux-aarch_64" : "linux-" + HOST;
        assertEquals("fork: execveat failed: ENOEXEC (Exec format error): an " + other + " ELF; this JVM runs on " + HOST
                + ": use the " + classifier + " build of the helper (or run it where the JVM runs on " + other + ")",
                forkFails(elf));
        assertEquals(other, BlobInfo.of(elf).machine().orElseThrow());
    }

    @Test
    void bytesThatAreNoProgramShowHowTheyStart() {
        assertEquals("fork: execveat failed: ENOEXEC (Exec format error): neither an ELF nor a #! script:"
                + " it starts with \"just some text\\n\"", forkFails("just some text\n".getBytes(StandardCharsets.UTF_8)));
        byte[] zip = {'P', 'K', 3, 4, 20, 0, 8, 0, 8, 0, (byte) 0xe7, 0x5a, 0x41, 0x59, 0, 0, 0, 0, 0};
        assertEquals("fork: execveat failed: ENOEXEC (Exec format error): neither an ELF nor a #! script: it starts"
                + " with \"PK\\x03\\x04\\x14\\x00\\x08\\x00\\x08\\x00\\xe7ZAY\\x00\\x00...\" (a zip or jar archive)", forkFails(zip));
        byte[] bom = "\ufeff#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8);
        assertTrue(forkFails(bom).endsWith("(a UTF-8 byte-order mark before its #!: save the script without it)"));
    }

    /** A copy cut short, as by a failed download: refused at load, never mapped to fault at run. */
    @Test
    void truncatedElfIsRefusedAtLoad() throws Exception {
        byte[] exit = TestBlobs.bytes("exit");
        byte[] half = Arrays.copyOf(exit, exit.length / 2);
        IOException e = assertThrows(IOException.class, () -> Umh.load(half));
        assertTrue(e.getMessage().matches("load: a truncated ELF of " + half.length + " bytes: its segment \\d \\(PT_LOAD\\)"
                + " ends at byte \\d+, beyond its end \\(cut short by a copy or a download\\?\\)"), e.getMessage());
        assertEquals("load: a truncated ELF of 100 bytes: its program headers end at byte 624, beyond its end"
                + " (cut short by a copy or a download?)",
                assertThrows(IOException.class, () -> Umh.load(Arrays.copyOf(exit, 100))).getMessage());
        assertEquals("load: a truncated ELF of 40 bytes: its 64-byte ELF header is cut short at 40 bytes"
                + " (cut short by a copy or a download?)",
                assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(Arrays.copyOf(exit, 40))).getMessage());
        assertEquals("load: a truncated ELF of 4 bytes: its ELF header is cut short at 4 bytes"
                + " (cut short by a copy or a download?)",
                assertThrows(IOException.class, () -> Umh.load(Arrays.copyOf(exit, 4))).getMessage());
        try (UsermodeProcess p = Umh.forkUsermodeBlob(exit)) { // the whole one runs
            assertEquals(0, p.waitFor());
        }
    }

    @Test
    void missingInterpreterIsNamed() {
        assertEquals("fork: execveat failed: ENOENT (No such file or directory): its #! interpreter"
                + " /nonexistent/interpreter does not exist", forkFails(TestBlobs.bytes("nointerp.sh")));
    }

    @Test
    void crlfLineEndingIsNamed() {
        byte[] dos = "#!/bin/sh\r\necho hi\r\n".getBytes(StandardCharsets.US_ASCII);
        assertEquals("fork: execveat failed: ENOENT (No such file or directory): its #! line ends in CRLF (a Windows line"
                + " ending), so the kernel looks for an interpreter named \"/bin/sh\\r\": convert the script to LF line endings",
                forkFails(dos));
    }

    /** /bin/true with its loader renamed in place to musl's, as a helper built on Alpine looks on a glibc host. */
    @Test
    void missingLoaderIsNamed() throws Exception {
        byte[] bin = Files.readAllBytes(Path.of("/bin/true"));
        String loader = BlobInfo.of(bin).interpreter().orElseThrow();
        String musl = "/lib/ld-musl-" + HOST + ".so.1";
        assumeFalse(Files.exists(Path.of(musl)), "musl is installed");
        byte[] patched = replace(bin, loader, musl);
        assertEquals("fork: execveat failed: ENOENT (No such file or directory): a dynamically linked ELF whose loader"
                + " (PT_INTERP) " + musl + " does not exist here (musl's: the helper was built for Alpine or with musl-gcc):"
                + " link the helper statically, or build it for this system's libc", forkFails(patched));
        try (UsermodeProcess p = Umh.forkUsermodeBlob(bin)) { // unpatched, it runs
            assertEquals(0, p.waitFor());
        }
    }

    /** A sandbox's empty root has no loader: the one the host has is named, with the option that binds it. */
    @Test
    void loaderOutsideTheSandboxIsNamed() throws Exception {
        assumeTrue(Umh.sandboxSupport().isFull(SandboxSupport.Layer.EMPTY_ROOT), "no empty root here");
        byte[] bin = Files.readAllBytes(Path.of("/bin/true"));
        String loader = BlobInfo.of(bin).interpreter().orElseThrow();
        assertEquals("fork: execveat failed: ENOENT (No such file or directory): its loader (PT_INTERP) " + loader
                + " is not inside the sandbox: SandboxPolicy.Builder.allowDynamicLinking(), or link the helper statically",
                forkFails(bin, ForkOptions.builder().sandbox(SandboxPolicy.strict()).build()));
    }

    /** {@code bytes} with the NUL-terminated {@code from} overwritten by {@code to} and NULs (no longer than it). */
    private static byte[] replace(byte[] bytes, String from, String to) {
        byte[] f = (from + "\0").getBytes(StandardCharsets.US_ASCII);
        byte[] t = Arrays.copyOf(to.getBytes(StandardCharsets.US_ASCII), f.length);
        byte[] out = bytes.clone();
        for (int i = 0; i + f.length <= out.length; i++) {
            if (Arrays.equals(out, i, i + f.length, f, 0, f.length)) {
                System.arraycopy(t, 0, out, i, t.length);
                return out;
            }
        }
        throw new AssertionError(from + " not found");
    }

    /** One string over MAX_ARG_STRLEN (32 pages with its NUL), in argv or the environment; one byte less runs. */
    @Test
    void stringOverTheKernelsLimitIsNamed() throws Exception {
        assertEquals("fork: execveat failed: E2BIG (Argument list too long): argv[2] is 131073 bytes with its NUL, over the"
                + " kernel's limit of 131072 for one string (MAX_ARG_STRLEN)",
                forkFails(TestBlobs.bytes("exit"), ForkOptions.builder().args("0", "x".repeat(128 * 1024)).build()));
        assertEquals("fork: execveat failed: E2BIG (Argument list too long): environment variable BIG is 200005 bytes with"
                + " its NUL, over the kernel's limit of 131072 for one string (MAX_ARG_STRLEN)",
                forkFails(TestBlobs.bytes("exit"), ForkOptions.builder().environment(Map.of("BIG", "y".repeat(200_000))).build()));
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"),
                ForkOptions.builder().args("0", "x".repeat(128 * 1024 - 1)).build())) {
            assertEquals(0, p.waitFor());
        }
    }

    /** argv + envp over a quarter of the stack limit: the sizes and the limit, as getconf ARG_MAX gives it. */
    @Test
    void argumentsOverTheStackLimitAreSized() throws Exception {
        List<String> args = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            args.add("a".repeat(120_000));
        }
        long stack = 4L << 20;
        ForkOptions o = ForkOptions.builder().argv0("umh").args(args).environment(Map.of("K", "v"))
                .resourceLimit(ForkOptions.Resource.STACK, stack, stack).build();
        assertEquals("fork: execveat failed: E2BIG (Argument list too long): argv and the environment take 1200114 bytes"
                + " (11 arguments and 1 variable: 1200018 bytes of strings, 96 of pointers), over the kernel's limit of"
                + " 1048576 bytes here (a quarter of the stack limit, RLIMIT_STACK 4194304 bytes; getconf ARG_MAX)",
                forkFails(TestBlobs.bytes("exit"), o));
        // the JVM's own stack limit, which a child inherits, agrees with getconf's
        args.addAll(List.copyOf(args));
        args.addAll(List.copyOf(args));
        String message = forkFails(TestBlobs.bytes("exit"), ForkOptions.builder().args(args).build());
        Process getconfProcess = new ProcessBuilder("getconf", "ARG_MAX").start();
        getconfProcess.getOutputStream().close();
        getconfProcess.getErrorStream().close();
        String getconf;
        try (java.io.InputStream out = getconfProcess.getInputStream()) {
            getconf = new String(out.readAllBytes(), StandardCharsets.US_ASCII).trim();
        }
        getconfProcess.waitFor();
        assumeFalse(message.contains("its ceiling"), "an unlimited or large stack: getconf does not cap it");
        assertTrue(message.contains("over the kernel's limit of " + getconf + " bytes here"), message + " vs " + getconf);
    }

    /**
     * A program that finds its libraries next to itself ($ORIGIN in its RPATH or RUNPATH): the JDK's
     * own {@code java}, whose libjli.so is in ../lib. From a memfd its loader finds nothing there
     * (exit 127, the library named); BlobInfo names the path and what stands in for it, and with
     * that LD_LIBRARY_PATH the same bytes run.
     */
    @Test
    void aProgramThatFindsItsLibrariesNextToItselfIsNamedAndRunsWithLdLibraryPath() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java").toRealPath();
        BlobInfo info = BlobInfo.of(java);
        String runpath = info.runpath().orElseThrow();
        assertTrue(runpath.contains("$ORIGIN"), info.toString());
        assertTrue(info.toString().endsWith(", library path " + runpath), info.toString());
        assertEquals(info.runpath(), BlobInfo.of(Files.readAllBytes(java)).runpath(), "read from the bytes as from the file");
        String libraryPath = runpath.replace("$ORIGIN", java.getParent().toString());
        String note = info.originNote(java.getParent()).orElseThrow();
        assertTrue(note.contains("LD_LIBRARY_PATH=" + libraryPath), note);
        assertTrue(BlobInfo.of(TestBlobs.bytes("exit")).runpath().isEmpty());
        assertTrue(BlobInfo.of(TestBlobs.bytes("exit")).originNote(null).isEmpty());
        try (UsermodeBlob blob = Umh.load(java)) {
            try (UsermodeProcess p = blob.fork(ForkOptions.builder().args("-version").redirectErrorStream(true).build())) {
                String out = new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(127, p.waitFor(), out);
                assertTrue(out.contains("libjli.so") && out.contains("cannot open shared object file"), out);
            }
            Map<String, String> env = new java.util.HashMap<>(System.getenv());
            env.put("LD_LIBRARY_PATH", libraryPath);
            try (UsermodeProcess p = blob.fork(ForkOptions.builder().args("-version").environment(env)
                    .redirectErrorStream(true).build())) {
                String out = new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(0, p.waitFor(), out);
                assertTrue(out.contains(System.getProperty("java.vm.name")), out);
            }
        }
    }

    @Test
    void infoSaysWhatTheBytesAre() throws Exception {
        BlobInfo exit = BlobInfo.of(TestBlobs.bytes("exit"));
        assertEquals(BlobInfo.Kind.ELF, exit.kind());
        assertEquals(64, exit.elfClass());
        assertFalse(exit.isDynamic());
        assertEquals("ELF 64-bit LSB " + HOST + " executable, statically linked", exit.toString());
        assertTrue(exit.problemHere().isEmpty());
        BlobInfo bin = BlobInfo.of(Path.of("/bin/true"));
        assertTrue(bin.isDynamic());
        assertEquals("ELF 64-bit LSB " + HOST + " position-independent executable, dynamically linked, loader "
                + bin.interpreter().orElseThrow(), bin.toString());
        try (UsermodeBlob script = Umh.load("#! /bin/sh -e\necho\n".getBytes(StandardCharsets.US_ASCII))) {
            assertEquals("#! script, interpreter /bin/sh, argument -e", script.info().toString());
            assertTrue(script.isScript());
        }
        assertEquals("its #! interpreter /nonexistent/interpreter does not exist",
                BlobInfo.of(TestBlobs.bytes("nointerp.sh")).problemHere().orElseThrow());
    }
}
