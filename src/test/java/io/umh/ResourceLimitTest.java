package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;


import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * System limits: out of fds (EMFILE), out of processes (RLIMIT_NPROC: EAGAIN), out of memory for a
 * 1 GiB blob (ENOMEM). Each gives an IOException naming the call and the errno; afterwards nothing
 * leaked and all works.
 */
@Timeout(120)
class ResourceLimitTest {
    private static String[] nofileLimit() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                return new String[] {f[0], f[1]};
            }
        }
        throw new IllegalStateException("no Max open files in /proc/self/limits");
    }

    private static void prlimit(String soft, String hard) throws Exception { // (this JVM's own NOFILE)
        Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(ProcessHandle.current().pid()),
                "--nofile=" + soft + ":" + hard).inheritIO().start();
        assertEquals(0, p.waitFor(), "prlimit");
    }

    /** Opens /dev/null until the fd table is full. */
    private static void fillUp(List<FileInputStream> hogs) throws IOException {
        try {
            while (true) {
                hogs.add(new FileInputStream("/dev/null"));
            }
        } catch (FileNotFoundException full) {
            // every fd is taken
        }
    }

    interface Call {
        AutoCloseable run() throws IOException;
    }

    /**
     * Fills the fd table and makes the call, which must then fail. Another thread may free an fd
     * between the two (the Cleaner closing pipes of processes an earlier test never closed, the
     * reaper's waiter closing a pidfd): a call that succeeds is undone (a process closed, which
     * waits for it) and made again on a table filled anew, at most five times.
     */
    private static IOException failsWhenFull(List<FileInputStream> hogs, Call call) throws Exception {
        for (int attempt = 0; attempt < 5; attempt++) {
            fillUp(hogs);
            AutoCloseable made;
            try {
                made = call.run();
            } catch (IOException expected) {
                return expected;
            }
            made.close();
        }
        return fail("succeeded five times on a full fd table: something frees fds as fast as they are taken");
    }

    @Test
    void emfileFromMemfdCreateAndPipe2() throws Exception {
        byte[] exit = TestBlobs.bytes("exit");
        try (UsermodeProcess p = Umh.forkUsermodeBlob(exit)) { // everything loaded and warm
            p.waitFor();
        }
        assertThrows(IOException.class, () -> Umh.forkUsermodeBlob("x".getBytes()));
        String[] limit = nofileLimit();
        int before = TestBlobs.openFds();
        List<FileInputStream> hogs = new ArrayList<>();
        IOException loadFailure;
        IOException forkFailure;
        prlimit(Integer.toString(TestBlobs.fdTargets().size() + 64), limit[1]);
        try {
            loadFailure = failsWhenFull(hogs, () -> Umh.load(exit));
            // room for the memfd, none for the pipes
            fillUp(hogs);
            hogs.remove(hogs.size() - 1).close();
            try (UsermodeBlob blob = Umh.load(exit)) {
                forkFailure = failsWhenFull(hogs, blob::fork);
            }
        } finally {
            for (FileInputStream h : hogs) {
                h.close();
            }
            prlimit(limit[0], limit[1]);
        }
        assertEquals("load: memfd_create failed: EMFILE (Too many open files)", loadFailure.getMessage());
        assertEquals("fork: pipe2 failed: EMFILE (Too many open files)", forkFailure.getMessage());
        TestBlobs.assertFds(before);
        assertTrue(TestBlobs.zombieChildren().isEmpty());
        try (UsermodeProcess p = Umh.forkUsermodeBlob(exit, ForkOptions.builder().args("4").build())) {
            assertEquals(4, p.waitFor());
        }
    }

    // ---- RLIMIT_NPROC and memory: in a second JVM, which this test limits from outside

    /** RLIMIT_NPROC binds only unprivileged users: a JVM run as nobody, its limit lowered under it. */
    @Test
    void eagainFromCloneAtRlimitNproc() throws Exception {
        assumeTrue(TestBlobs.root(), "needs root: to start a JVM as uid 65534 and to set its limits");
        List<String> asNobody = TestBlobs.AS_NOBODY;
        String unreadable = TestBlobs.unreadableByNobody(concat(List.of(TestBlobs.path("exit").toAbsolutePath().toString(),
                TestBlobs.javaExecutable(), TestBlobs.library()), TestBlobs.classPathFiles()));
        assumeTrue(unreadable.isEmpty(), "uid 65534 cannot read " + unreadable + " (checkout under /root?)");
        // -Xint and the serial GC: a JVM that starts no threads of its own once it runs
        // the library by path: this JVM's own shim (under java_under_asan.sh, the instrumented one)
        Driven jvm = new Driven(TestBlobs.javaCommand(asNobody, List.of("-Xint", "-XX:+UseSerialGC", "-Xmx64m",
                "-Dumh.native.path=" + TestBlobs.library()),
                String.join(File.pathSeparator, TestBlobs.classPathFiles()), LimitedJvm.class));
        try {
            long pid = jvm.pid();
            String[] nproc = limit(pid, "Max processes");
            int threads = tasks(pid);
            int ofUid = tasksOfUid(65534);
            assertTrue(ofUid >= threads, ofUid + " tasks of uid 65534 but its JVM has " + threads);
            // at the limit: the next task of the uid, the helper, is one too many. Set as nobody:
            // root here may lack CAP_SYS_RESOURCE, which setting another user's limits needs
            prlimit(asNobody, pid, "--nproc=" + threads + ":" + nproc[1]);
            String failed = jvm.ask("fork");
            String leaksAfterFailure = jvm.ask("leaks");
            prlimit(asNobody, pid, "--nproc=" + nproc[0] + ":" + nproc[1]);
            // clone3's error, or clone's where clone3 is refused (or not on this CPU)
            assertTrue(failed.matches("IOException fork: clone3? failed: EAGAIN \\(Resource temporarily unavailable\\)"),
                    failed + ": limit " + threads + ", uid 65534 had " + ofUid + " tasks");
            assertEquals("fds=0 zombies=0", leaksAfterFailure);
            assertEquals("exit 3", jvm.ask("fork"));
            assertEquals("fds=0 zombies=0", jvm.ask("leaks"));
        } finally {
            jvm.close();
        }
    }

    /**
     * A memfd over a cgroup v1 memory limit with the OOM killer disabled for that cgroup: the charge
     * fails inside write() and the kernel returns ENOMEM, where it would otherwise kill a process
     * (mm/memcontrol-v1.c: with oom_kill_disable, only a task in a user page fault waits). The
     * second JVM fills its heap (1 GiB array included) before it joins the cgroup, so those pages
     * stay charged to this one; in the limited cgroup only the memfd and the JVM's new pages count.
     * In the stress profile: the second JVM holds 1.2 GB, and faulting that in takes 12-40 s here, by load.
     */
    @Test
    @Tag("stress")
    void enomemForAGibibyteBlobOverTheMemoryLimit() throws Exception {
        assumeTrue(TestBlobs.root(), "needs root: to make a memory cgroup");
        Path parent = memoryCgroup();
        assumeTrue(parent != null, "no cgroup v1 memory controller at /sys/fs/cgroup/memory");
        Path cgroup = parent.resolve("umh-test-" + ProcessHandle.current().pid());
        try {
            Files.createDirectory(cgroup);
        } catch (IOException e) {
            assumeTrue(false, "cannot make a memory cgroup under " + parent + ": " + e);
        }
        Driven jvm = null;
        try {
            // the old generation (heap less -Xmn) must hold the 1 GiB array
            jvm = new Driven(TestBlobs.javaCommand(List.of(), List.of("-Xint", "-XX:+UseSerialGC", "-Xms1200m",
                    "-Xmx1200m", "-Xmn64m", "-XX:+AlwaysPreTouch"), LimitedJvm.class, Integer.toString(1 << 30)));
            long limit = 256L << 20;
            Files.writeString(cgroup.resolve("memory.limit_in_bytes"), Long.toString(limit));
            Files.writeString(cgroup.resolve("memory.oom_control"), "1");
            Files.writeString(cgroup.resolve("cgroup.procs"), Long.toString(jvm.pid()));
            String failed = jvm.ask("load");
            long usage = Long.parseLong(Files.readString(cgroup.resolve("memory.usage_in_bytes")).trim());
            long failcnt = Long.parseLong(Files.readString(cgroup.resolve("memory.failcnt")).trim());
            assertEquals("IOException load: write failed: ENOMEM (Cannot allocate memory)", failed);
            assertTrue(failcnt > 0, "the limit was never hit");
            assertTrue(usage < 64 << 20, "the memfd's pages are still charged: " + usage + " bytes in use");
            assertEquals("fds=0 zombies=0", jvm.ask("leaks"));
            assertEquals("exit 3", jvm.ask("fork"));
            assertEquals("fds=0 zombies=0", jvm.ask("leaks"));
        } finally {
            // a JVM stuck in a page fault at the limit wakes up once the limit is gone
            Files.writeString(cgroup.resolve("memory.oom_control"), "0");
            Files.writeString(cgroup.resolve("memory.limit_in_bytes"), "-1");
            if (jvm != null) {
                jvm.close();
            }
            removeCgroup(cgroup);
        }
    }

    /** The cgroup v1 memory controller's directory of this JVM's cgroup, or null. */
    private static Path memoryCgroup() throws IOException {
        Path mount = Paths.get("/sys/fs/cgroup/memory");
        if (!Files.isRegularFile(mount.resolve("memory.limit_in_bytes"))) {
            return null;
        }
        for (String line : Files.readAllLines(Paths.get("/proc/self/cgroup"))) {
            String[] f = line.split(":", 3);
            if (List.of(f[1].split(",")).contains("memory")) {
                Path own = Paths.get(mount + f[2]);
                // in a cgroup namespace the mount's root is our own cgroup already
                return Files.isDirectory(own) ? own : mount;
            }
        }
        return null;
    }

    private static void removeCgroup(Path cgroup) throws Exception {
        Await.until("cgroup " + cgroup + " to be removable", () -> {
            try {
                Files.deleteIfExists(cgroup); // rmdir: refused (EBUSY) while a task is still leaving
                return true;
            } catch (IOException busy) {
                return false;
            }
        });
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** The shim this JVM uses: the one named by -Dumh.native.path, else the build's. */
    /** {soft, hard} of a line of /proc/PID/limits. */
    private static String[] limit(long pid, String name) throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/" + pid + "/limits"))) {
            if (line.startsWith(name)) {
                String[] f = line.substring(name.length()).trim().split("\\s+");
                return new String[] {f[0], f[1]};
            }
        }
        throw new IllegalStateException("no " + name + " in /proc/" + pid + "/limits");
    }

    private static void prlimit(List<String> prefix, long pid, String limit) throws Exception {
        Process p = new ProcessBuilder(concat(prefix, List.of("prlimit", "--pid", Long.toString(pid), limit)))
                .inheritIO().start();
        assertEquals(0, p.waitFor(), "prlimit " + limit);
    }

    private static int tasks(long pid) throws IOException {
        try (Stream<Path> s = Files.list(Paths.get("/proc/" + pid + "/task"))) {
            return (int) s.count();
        }
    }

    /** Tasks (threads) whose real uid is {@code uid}, system-wide: what RLIMIT_NPROC counts. */
    private static int tasksOfUid(int uid) throws IOException {
        int n = 0;
        try (Stream<Path> procs = Files.list(Paths.get("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                if (!proc.getFileName().toString().chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try (Stream<Path> tasks = Files.list(proc.resolve("task"))) {
                    for (Path task : (Iterable<Path>) tasks::iterator) {
                        for (String line : Files.readAllLines(task.resolve("status"))) {
                            if (line.startsWith("Uid:") && line.split("\\s+")[1].equals(Integer.toString(uid))) {
                                n++;
                            }
                        }
                    }
                } catch (IOException gone) {
                    // exited while counted: ENOENT at the open, or ESRCH ("No such process") at the read
                }
            }
        }
        return n;
    }

    /** A second JVM answering one line per command on its stdin. */
    private static final class Driven implements AutoCloseable {
        private final Process jvm;
        private final BufferedReader out;
        private final PrintStream in;

        Driven(List<String> command) throws IOException {
            jvm = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            out = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8));
            in = new PrintStream(jvm.getOutputStream(), true, StandardCharsets.UTF_8);
            String ready = out.readLine();
            if (!"ready".equals(ready)) {
                close();
                throw new AssertionError("the second JVM did not start: " + ready);
            }
        }

        long pid() {
            return jvm.pid();
        }

        String ask(String command) throws IOException {
            in.println(command);
            String answer = out.readLine();
            if (answer == null) {
                throw new AssertionError("the second JVM ended on " + command);
            }
            return answer;
        }

        @Override
        public void close() {
            jvm.destroyForcibly();
            try {
                jvm.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Main of the second JVM. Warms up (one fork, so the library's threads and fds exist), holds a
     * blob of args[0] bytes if given, prints "ready", then answers: fork (a helper exiting 3), load
     * (the big blob), leaks (fds of umh's kinds and zombies, against the warm baseline).
     */
    public static final class LimitedJvm {
        public static void main(String[] args) throws Exception {
            byte[] exit = TestBlobs.bytes("exit");
            byte[] big = null;
            if (args.length > 0) {
                big = new byte[Integer.parseInt(args[0])];
                System.arraycopy(exit, 0, big, 0, exit.length);
            }
            TestBlobs.warmUp();
            int baseline = TestBlobs.openFds();
            BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            System.out.println("ready");
            for (String c; (c = commands.readLine()) != null; ) {
                try {
                    if (c.equals("fork")) {
                        try (UsermodeProcess p = Umh.forkUsermodeBlob(exit, ForkOptions.builder().args("3").build())) {
                            System.out.println("exit " + p.waitFor());
                        }
                    } else if (c.equals("load")) {
                        try (UsermodeBlob b = Umh.load(big)) {
                            System.out.println("loaded " + b.size());
                        }
                    } else if (c.equals("leaks")) {
                        System.out.println("fds=" + (TestBlobs.openFds() - baseline)
                                + " zombies=" + TestBlobs.zombieChildren().size());
                    }
                } catch (IOException e) {
                    System.out.println("IOException " + e.getMessage());
                }
            }
        }
    }
}
