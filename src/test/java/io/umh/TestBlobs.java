package io.umh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.commons.io.IOUtils;

/**
 * The helper programs built from test-blobs/, and ways to look at this JVM from /proc. Public, as
 * are the methods the tests in io.umh.service and io.umh.cli use.
 */
public final class TestBlobs {
    private TestBlobs() {}

    public static Path path(String name) {
        return Paths.get(System.getProperty("umh.test.blobs", "target/test-blobs"), name);
    }

    public static byte[] bytes(String name) {
        try {
            return Files.readAllBytes(path(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A command line that runs {@code main} in a second JVM with this test class path, after
     * {@code prefix} (e.g. unshare) and with {@code jvmArgs}.
     */
    static List<String> javaCommand(List<String> prefix, List<String> jvmArgs, Class<?> main, String... args) {
        return javaCommand(prefix, jvmArgs, System.getProperty("java.class.path"), main, args);
    }

    /** As above, with the class path given (e.g. only what another user can read). */
    static List<String> javaCommand(List<String> prefix, List<String> jvmArgs, String classPath, Class<?> main,
                                    String... args) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        // no /tmp/hsperfdata_<user>/<pid>: JVMs in pid namespaces are all pid 1 there, and two at
        // once (parallel builds) warn about the other's lock on stderr, which tests read
        cmd.add("-XX:-UsePerfData");
        cmd.add("-Dumh.test.blobs=" + path("").toAbsolutePath());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs a command to its end; its stdout and stderr together. */
    static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    /** Forks once, so that the library's own fds and threads (epoll, reaper, spawner) exist before counting. */
    static void warmUp() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(bytes("exit"))) {
            p.waitFor();
        }
    }

    /**
     * Open fds of the kinds umh makes (pipes, memfds, pidfds, epoll), so that files the JVM or the
     * test framework open lazily (jars, /dev/random) do not count as leaks.
     */
    public static int openFds() throws IOException {
        return (int) fdTargets().stream().filter(t -> t.startsWith("pipe:") || t.startsWith("/memfd:")
                || t.contains("pidfd") || t.contains("eventpoll") || t.contains("seccomp") || t.contains("landlock")).count();
    }

    /**
     * The namespaces this JVM holds open by fd ("mnt:[4026532281]"): a root JVM's sandbox policies
     * keep the ones their helpers join (io.umh.Namespaces) until the policy is collected, so they
     * are counted apart from {@link #openFds()}, whose counts must not move with a GC.
     */
    static List<String> namespaceFds() throws IOException {
        return fdTargets().stream().filter(t -> t.matches("(mnt|net):\\[\\d+\\]")).sorted().collect(java.util.stream.Collectors.toList());
    }

    /** Fails, listing every fd, unless this JVM has {@code before} fds of the kinds umh makes. */
    public static void assertFds(int before) throws IOException {
        int now = openFds();
        if (now != before) {
            throw new AssertionError("fds leaked: expected " + before + " but was " + now + ": " + fdTargets());
        }
    }

    /** What every fd of this JVM points at, for messages. */
    static List<String> fdTargets() throws IOException {
        List<String> targets = new ArrayList<>();
        try (Stream<Path> s = Files.list(Paths.get("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                try {
                    targets.add(Files.readSymbolicLink(p).toString());
                } catch (IOException gone) {
                    // the listing's own fd
                }
            }
        }
        return targets;
    }

    /** Fds above 2 of this JVM that are not close-on-exec: a child gets them unless they are closed. */
    static List<Integer> inheritableFds() throws IOException {
        List<Integer> fds = new ArrayList<>();
        try (Stream<Path> s = Files.list(Paths.get("/proc/self/fdinfo"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                int fd = Integer.parseInt(p.getFileName().toString());
                try {
                    for (String line : Files.readAllLines(p)) {
                        if (line.startsWith("flags:") && fd > 2
                                && (Integer.parseInt(line.substring(6).trim(), 8) & 02000000) == 0) {
                            fds.add(fd);
                        }
                    }
                } catch (NoSuchFileException gone) {
                    // the listing's own fd
                }
            }
        }
        return fds;
    }

    /** Direct children of this JVM that are zombies. */
    public static List<Long> zombieChildren() throws IOException {
        long self = ProcessHandle.current().pid();
        List<Long> zombies = new ArrayList<>();
        try (Stream<Path> s = Files.list(Paths.get("/proc"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String stat = stat(Long.parseLong(name));
                if (stat == null) {
                    continue;
                }
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                if (f[0].equals("Z") && Long.parseLong(f[1]) == self) {
                    zombies.add(Long.parseLong(name));
                }
            }
        }
        return zombies;
    }

    /** /proc/PID/stat, or null once the process is gone. */
    static String stat(long pid) {
        try {
            return Files.readString(Paths.get("/proc/" + pid + "/stat"));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return null; // vanished while reading
        }
    }

    /** True while the process exists and is not a zombie. */
    public static boolean running(long pid) {
        String stat = stat(pid);
        return stat != null && stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
    }

    static int threads() throws IOException {
        try (Stream<Path> s = Files.list(Paths.get("/proc/self/task"))) {
            return (int) s.count();
        }
    }

    /** Whether this JVM runs as root (real uid 0). */
    static boolean root() throws IOException {
        return Files.readAllLines(Paths.get("/proc/self/status")).stream().anyMatch(l -> l.matches("Uid:\\s+0\\s.*"));
    }

    /** Forks the probe blob with {@code o}, and parses what it reports; it must exit 0. */
    static Map<String, String> probe(ForkOptions o) throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(bytes("probe"), o)) {
            Map<String, String> m = probe(p);
            if (p.waitFor() != 0) {
                throw new AssertionError("probe exited " + p.exitValue());
            }
            return m;
        }
    }

    /** Runs the probe blob and parses its key=value lines (repeated keys: argv[i] are distinct, env=... collected). */
    static Map<String, String> probe(UsermodeProcess p) throws IOException {
        p.pipeToUmh().close();
        Map<String, String> m = new LinkedHashMap<>();
        StringBuilder env = new StringBuilder();
        for (String line : IOUtils.readLines(p.pipeFromUmh(), StandardCharsets.UTF_8)) {
            int eq = line.indexOf('=');
            String k = line.substring(0, eq);
            String v = line.substring(eq + 1);
            if (k.equals("env")) {
                env.append(v).append('\n');
            } else {
                m.put(k, v);
            }
        }
        m.put("env", env.toString());
        return m;
    }

    /** The shim this JVM loaded, by path: for a second JVM that must load the same one (under ASan, the instrumented one). */
    public static String library() throws Exception {
        String explicit = System.getProperty("umh.native.path");
        if (explicit != null) {
            return explicit;
        }
        return Paths.get(Umh.class.getResource("/META-INF/native/" + Umh.platform() + "/libumh.so")
                .toURI()).toString();
    }

    public static String javaExecutable() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Only this project's classes: a second JVM needs no jar, and another user may not read the local repository. */
    public static List<String> classPathFiles() throws Exception {
        return List.of(Paths.get(Umh.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString(),
                Paths.get(TestBlobs.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
    }

    /** setpriv to uid and gid 65534 with no groups: a second JVM run as nobody. */
    public static final List<String> AS_NOBODY = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");

    /**
     * Runs {@code main} in a second JVM as uid 65534 (the shim by -Dumh.native.path, this class path)
     * and returns its output; skips the test where that uid cannot read the class path, java, the
     * shim or the test blob {@code blob} (a checkout under /root).
     */
    static String runAsNobody(Class<?> main, String blob) throws Exception {
        List<String> files = new ArrayList<>(classPathFiles());
        files.addAll(List.of(path(blob).toAbsolutePath().toString(), javaExecutable(), library()));
        String unreadable = unreadableByNobody(files);
        org.junit.jupiter.api.Assumptions.assumeTrue(unreadable.isEmpty(), "uid 65534 cannot read " + unreadable + " (checkout under /root?)");
        return run(javaCommand(AS_NOBODY, List.of("-Dumh.native.path=" + library()),
                String.join(java.io.File.pathSeparator, classPathFiles()), main));
    }

    /** The files of {@code paths} that uid 65534 cannot read (or execute, for directories), one a line; empty if none. */
    public static String unreadableByNobody(List<String> paths) throws Exception {
        List<String> check = new ArrayList<>(AS_NOBODY);
        check.addAll(List.of("sh", "-c", "for f; do [ -r \"$f\" ] && { [ -f \"$f\" ] || [ -x \"$f\" ]; } || echo \"$f\"; done", "sh"));
        check.addAll(paths);
        return run(check).trim();
    }
}
