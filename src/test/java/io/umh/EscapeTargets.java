package io.umh;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The escape-attempt helper (test-blobs/escape.c) and the real targets its attempts aim at in
 * this JVM: a secret in native memory, a loopback TCP listener, an abstract unix listener. For
 * EscapeBlobTest (every attempt succeeds without a sandbox) and the sandbox tests (every attempt
 * is refused under one), so that a refusal can never pass vacuously.
 */
public final class EscapeTargets {
    private EscapeTargets() {}

    private static final AtomicInteger NAMES = new AtomicInteger();

    /**
     * Whether this JVM runs where strict() cannot be enforced whole: .ci/run runs the sandbox
     * tests again under test-blobs/refuse, once per fallback (a container's profile, no clone3,
     * no Landlock or an older ABI, an outer listener, a Landlock domain around the JVM). There
     * the tests fork with {@link Enforcement#BEST_EFFORT} and check that what remains still
     * refuses or stops every attempt; what needs a missing layer is skipped, naming it.
     */
    public static final boolean DEGRADED = !SandboxPolicy.strict().missing.isEmpty();

    /** The fallback .ci/run forces around this JVM (-Dumh.test.fallback=WHAT, test-blobs/refuse's argument), or null. */
    public static final String FORCED = System.getProperty("umh.test.fallback");

    /** The policies the sandbox tests fork with: strict() whole, or where it cannot be (DEGRADED), with what works here. */
    public static SandboxPolicy strict() {
        return DEGRADED ? STRICT_HERE : SandboxPolicy.strict();
    }

    private static final SandboxPolicy STRICT_HERE = SandboxPolicy.builder().enforcement(Enforcement.BEST_EFFORT).build();

    /** SandboxPolicy.builder(), with BEST_EFFORT where this environment is DEGRADED. */
    public static SandboxPolicy.Builder policy() {
        SandboxPolicy.Builder b = SandboxPolicy.builder();
        return DEGRADED ? b.enforcement(Enforcement.BEST_EFFORT) : b;
    }

    /** Skips a test that needs layers this environment lacks (a forced fallback), naming them. */
    public static void assumeFull(SandboxSupport.Layer... layers) {
        for (SandboxSupport.Layer l : layers) {
            org.junit.jupiter.api.Assumptions.assumeTrue(Umh.sandboxSupport().isFull(l),
                    () -> "needs " + l + ": " + Umh.sandboxSupport().status(l));
        }
    }

    /** Skips a test that starts a second JVM expecting the whole sandbox, where this one runs under a forced fallback. */
    public static void assumeWhole() {
        org.junit.jupiter.api.Assumptions.assumeFalse(DEGRADED || FORCED != null,
                () -> "the forced fallback " + FORCED + ": " + SandboxPolicy.strict().missing);
    }

    /** This JVM's pid: the target of procmem, vmread, ptrace, kill and pidfd-getfd. */
    public static long jvmPid() {
        return ProcessHandle.current().pid();
    }

    /** One run of the escape helper: its exit status, its stdout lines, its stderr. */
    public static final class Attempt {
        public final String name;
        public final int status;
        public final List<String> lines;
        public final String stderr;

        Attempt(String name, int status, List<String> lines, String stderr) {
            this.name = name;
            this.status = status;
            this.lines = lines;
            this.stderr = stderr;
        }

        /** Exit 0 and the one line "NAME ok" (with a detail for vmread and procmem ADDR). */
        public boolean succeeded() {
            return status == 0 && lines.size() == 1
                    && (lines.get(0).equals(name + " ok") || lines.get(0).startsWith(name + " ok "));
        }

        /** What follows "NAME ok " (the bytes read, in hex), or "" for none. */
        public String detail() {
            if (!succeeded()) {
                throw new AssertionError("no success: " + this);
            }
            String l = lines.get(0);
            return l.length() > name.length() + 3 ? l.substring(name.length() + 4) : "";
        }

        /** The error name of "NAME refused ERRNAME" (exit 0), if that was the outcome. */
        public Optional<String> refusal() {
            String prefix = name + " refused ";
            return status == 0 && lines.size() == 1 && lines.get(0).startsWith(prefix)
                    ? Optional.of(lines.get(0).substring(prefix.length())) : Optional.empty();
        }

        /** Killed by SIGSYS (128 + 31), as a seccomp kill leaves it, without a line. */
        public boolean killedBySeccomp() {
            return status == 128 + 31 && lines.isEmpty();
        }

        @Override
        public String toString() {
            return name + ": status " + status + ", stdout " + lines + (stderr.isEmpty() ? "" : ", stderr " + stderr.strip());
        }
    }

    /**
     * Runs {@code escape ATTEMPT ARGS...} with {@code base} (its args replaced, stderr piped), to
     * its end (30 s at most); stdin is closed at once.
     */
    public static Attempt attempt(ForkOptions base, String attempt, String... args) throws Exception {
        List<String> argv = new java.util.ArrayList<>();
        argv.add(attempt);
        argv.addAll(List.of(args));
        ForkOptions o = base.toBuilder().args(argv).redirectError(ProcessBuilder.Redirect.PIPE).build();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("escape"), o)) {
            p.pipeToUmh().close();
            String out = new String(p.pipeFromUmh().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("escape " + argv + " did not end");
            }
            return new Attempt(attempt, p.exitValue(), out.lines().collect(java.util.stream.Collectors.toList()), err);
        }
    }

    /** {@link #attempt(ForkOptions, String, String...)} without a sandbox or other options. */
    public static Attempt attempt(String attempt, String... args) throws Exception {
        return attempt(ForkOptions.defaults(), attempt, args);
    }

    /** 8 random bytes in this JVM's native memory, for vmread and procmem; freed by close(). */
    public static final class Secret implements AutoCloseable {
        private static final sun.misc.Unsafe UNSAFE = unsafe();
        private final long address;
        private final byte[] bytes = new byte[8];

        public Secret() {
            ThreadLocalRandom.current().nextBytes(bytes);
            address = UNSAFE.allocateMemory(bytes.length);
            for (int i = 0; i < bytes.length; i++) {
                UNSAFE.putByte(address + i, bytes[i]);
            }
        }

        /** Its address in hex, as the helper takes it. */
        public String address() {
            return Long.toHexString(address);
        }

        /** Its bytes in hex, in memory order, as the helper prints what it read. */
        public String hex() {
            StringBuilder s = new StringBuilder();
            for (byte b : bytes) {
                s.append(String.format("%02x", b & 0xff));
            }
            return s.toString();
        }

        @Override
        public void close() {
            UNSAFE.freeMemory(address);
        }

        private static sun.misc.Unsafe unsafe() {
            try {
                Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
                f.setAccessible(true);
                return (sun.misc.Unsafe) f.get(null);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
        }
    }

    /**
     * A loopback TCP listener on an ephemeral port that counts the connections made to it. A
     * connect() that returned in the helper is in the backlog (on loopback, a moment after), so
     * {@link #accepted(Duration)} finds it.
     */
    public static final class TcpListener implements AutoCloseable {
        private final ServerSocketChannel server;
        private int accepted;

        public TcpListener() throws IOException {
            server = ServerSocketChannel.open();
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            server.configureBlocking(false);
        }

        public int port() {
            return ((InetSocketAddress) server.socket().getLocalSocketAddress()).getPort();
        }

        /** Accepts (and closes) what is queued; the connections accepted so far. */
        public synchronized int drain() throws IOException {
            SocketChannel c;
            while ((c = server.accept()) != null) {
                c.close();
                accepted++;
            }
            return accepted;
        }

        /** Drains until at least one connection came or {@code wait} passed; the count. */
        public int accepted(Duration wait) throws Exception {
            long deadline = System.nanoTime() + wait.toNanos();
            while (drain() == 0 && System.nanoTime() - deadline < 0) {
                Thread.sleep(5);
            }
            return drain();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /**
     * An abstract-namespace unix listener ("\0NAME"). Java 17 cannot bind abstract names, so it is
     * the escape helper itself, unsandboxed, in its listen-abstract mode: started and listening
     * when the constructor returns; {@link #finish()} ends it and returns how many connections it
     * accepted. A unix connect() that returned is queued on the listener, so none is missed.
     */
    public static final class AbstractListener implements AutoCloseable {
        private final String name;
        private final UsermodeProcess process;
        private final BufferedReader out;
        private Integer accepted;

        public AbstractListener() throws Exception {
            name = "umh-escape-" + jvmPid() + "-" + NAMES.incrementAndGet() + "-"
                    + Long.toHexString(ThreadLocalRandom.current().nextLong());
            process = Umh.forkUsermodeBlob(TestBlobs.bytes("escape"),
                    ForkOptions.builder().args("listen-abstract", name).build());
            out = new BufferedReader(new InputStreamReader(process.pipeFromUmh(), StandardCharsets.UTF_8));
            String ready = out.readLine();
            if (!"listen-abstract ok".equals(ready)) {
                process.destroyForcibly();
                process.close();
                throw new AssertionError("abstract listener did not start: " + ready + ", status "
                        + (process.waitFor(5, TimeUnit.SECONDS) ? process.exitValue() : "?"));
            }
        }

        /** The name, without the leading NUL, as the helper's "abstract NAME" takes it. */
        public String name() {
            return name;
        }

        /** Ends the listener; the connections it accepted. */
        public synchronized int finish() throws Exception {
            if (accepted == null) {
                process.pipeToUmh().close();
                String line = out.readLine();
                if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0 || line == null
                        || !line.startsWith("accepted ")) {
                    process.destroyForcibly();
                    throw new AssertionError("abstract listener ended badly: " + line);
                }
                accepted = Integer.parseInt(line.substring("accepted ".length()));
                process.close();
            }
            return accepted;
        }

        @Override
        public void close() {
            if (accepted == null) {
                process.destroyForcibly();
                process.close();
            }
        }
    }

    /** The host's name now (to check that "hostname" left it as it was). */
    public static String hostname() throws IOException {
        return Files.readString(Paths.get("/proc/sys/kernel/hostname")).strip();
    }

    /** Whether anything is mounted on {@code dir} in this JVM's mount namespace. */
    public static boolean mountedAt(Path dir) throws IOException {
        String target = dir.toAbsolutePath().toString();
        for (String line : Files.readAllLines(Paths.get("/proc/self/mountinfo"))) {
            if (line.split(" ")[4].equals(target)) {
                return true;
            }
        }
        return false;
    }

    /** The tracer of {@code pid}'s main thread (TracerPid in /proc/PID/status): 0 for none. */
    public static long tracerPid(long pid) throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/" + pid + "/status"))) {
            if (line.startsWith("TracerPid:")) {
                return Long.parseLong(line.substring("TracerPid:".length()).strip());
            }
        }
        throw new AssertionError("no TracerPid in /proc/" + pid + "/status");
    }

    /** The number of an fd of this JVM open on {@code file}, for pidfd-getfd. */
    public static int fdOf(Path file) throws IOException {
        Path target = file.toAbsolutePath();
        try (Stream<Path> s = Files.list(Paths.get("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                try {
                    if (Files.readSymbolicLink(p).equals(target)) {
                        return Integer.parseInt(p.getFileName().toString());
                    }
                } catch (IOException gone) {
                    // the listing's own fd
                }
            }
        }
        throw new AssertionError("no fd open on " + file);
    }
}
