package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * OpenJDK's ProcessHandle tests ({@code test/jdk/java/lang/ProcessHandle/OnExitTest.java},
 * {@code TreeTest.java}, {@code InfoTest.java}, {@code Basic.java}) run against
 * {@link UsermodeProcess#toHandle()} and the Process methods that go through it. Their JavaChild
 * becomes the exit and sleeper blobs.
 */
@Timeout(60)
@org.junit.jupiter.api.extension.ExtendWith(NothingLeaked.class)
class JdkProcessHandleTest {
    private static UsermodeProcess sleeper() throws IOException {
        UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("sleeper"), ForkOptions.builder().args("-p").build());
        assertEquals("ready\n", new String(p.getInputStream().readNBytes(6), StandardCharsets.US_ASCII));
        return p;
    }

    // OnExitTest.test1 "Basic test of exitValue and onExit": for exit values 0, 1, 10, onExit()'s
    // thenAccept sees the same Process and its exit value; future.get() is the Process; exitValue
    // is the value; not alive.
    @Test
    void onExitCompletesWithTheProcess() throws Exception {
        for (int value : new int[] {0, 1, 10}) {
            try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"),
                    ForkOptions.builder().args(Integer.toString(value)).build())) {
                CompletableFuture<Process> future = p.onExit();
                AtomicReference<String> seen = new AtomicReference<>();
                CompletableFuture<Void> checked = future.thenAccept(ph -> seen.set(
                        (ph == p ? "same" : "different") + " " + ph.exitValue()));
                assertSame(p, future.get());
                checked.get();
                assertEquals("same " + value, seen.get());
                assertEquals(value, p.exitValue());
                assertFalse(p.isAlive());
                p.waitFor();
            }
        }
    }

    // OnExitTest.test2/peerOnExitTest, for what applies to one child: the handle's onExit()
    // completes with a handle equal to p.toHandle(), once the process has exited, and not before.
    @Test
    void handleOnExitCompletesOnlyAfterExit() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            ProcessHandle h = p.toHandle();
            CompletableFuture<ProcessHandle> f = h.onExit();
            assertFalse(f.isDone());
            assertFalse(p.waitFor(100, TimeUnit.MILLISECONDS));
            assertFalse(f.isDone());
            h.destroy();
            assertEquals(h, f.get());
            assertEquals(h, h.onExit().get());
            assertFalse(h.isAlive());
            assertFalse(p.isAlive());
        }
    }

    // ProcessHandle/Basic.java test4: after waitFor, ProcessHandle.of(deadPid) is empty (the child
    // has been reaped: no zombie keeps the pid).
    @Test
    void noHandleForTheDeadPid() throws Exception {
        long deadPid;
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder().args("0").build())) {
            p.waitFor();
            deadPid = p.pid();
        }
        Optional<ProcessHandle> t = ProcessHandle.of(deadPid);
        assertFalse(t.isPresent(), "Handle created for invalid pid: " + t);
    }

    // TreeTest.test1 (children of this process include each spawned child, by handle) as far as umh
    // keeps it: the JDK's children() stream has this child's pid, and the child's parent() is this
    // JVM; TreeTest.test2's check after destroy: it is no longer among the children.
    @Test
    void childIsAmongTheJvmsChildrenByPid() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            List<Long> pids = ProcessHandle.current().children().map(ProcessHandle::pid).collect(Collectors.toList());
            assertTrue(pids.contains(p.pid()), p.pid() + " in " + pids);
            assertEquals(Optional.of(ProcessHandle.current()), p.toHandle().parent());
            assertTrue(p.toHandle().children().collect(Collectors.toList()).isEmpty());
            p.destroyForcibly().waitFor();
            assertFalse(p.toHandle().isAlive(), "ProcessHandle.isAlive for exited process");
            assertFalse(ProcessHandle.current().children().anyMatch(h -> h.pid() == p.pid()));
        }
    }

    // TreeTest.test3 "Test destroy of processes": a child starts three children; each is alive and
    // listed by the child's descendants() (the JDK's handles for their pids), and is forcibly
    // destroyed; then the child is destroyed, and none of them is left among this JVM's
    // descendants. The JavaChild's "spawn 3 stdin" becomes a shell starting three sleeps.
    @Test
    void descendantsOfAChildAndTheirDestroy() throws Exception {
        try (UsermodeBlob sh = Umh.load(java.nio.file.Path.of("/bin/sh"));
             UsermodeProcess p1 = sh.fork(ForkOptions.builder()
                     .args("-c", "for i in 1 2 3; do sleep 60 & echo $!; done; wait").build())) {
            threeDescendantsDestroyed(p1);
        }
    }

    // TreeTest.test3 again with a real JavaChild: the JDK's own java, forked from a memfd (its
    // libjli.so found through LD_LIBRARY_PATH, as BlobInfo.originNote says), whose main starts three
    // children with its own ProcessBuilder and prints their pids. Each is alive, listed by the Java
    // child's descendants() with the Java child as its parent, destroyed forcibly; then the Java
    // child is destroyed, and none of them is left among this JVM's descendants.
    @Test
    void descendantsOfARealJavaChildAndTheirDestroy() throws Exception {
        try (UsermodeProcess p1 = javaChild("3")) {
            threeDescendantsDestroyed(p1);
            assertEquals(128 + 9, p1.exitValue()); // the Java child sleeps on: it was the destroy that ended it
        }
    }

    /**
     * TreeTest.test3's checks of a child that prints the pids of the three children it started:
     * each alive, among p1's descendants with p1 its parent, destroyed; then p1 destroyed, and
     * none of them left among this JVM's descendants.
     */
    private static void threeDescendantsDestroyed(UsermodeProcess p1) throws Exception {
        List<ProcessHandle> spawned = new java.util.ArrayList<>();
        try {
            java.io.BufferedReader out = p1.inputReader();
            for (int i = 0; i < 3; i++) {
                String line = out.readLine();
                assertTrue(line != null && line.matches("[0-9]+"), "the child said " + line);
                spawned.add(ProcessHandle.of(Long.parseLong(line)).orElseThrow());
            }
            List<ProcessHandle> descendants = p1.toHandle().descendants().collect(Collectors.toList());
            assertEquals(3, descendants.size(), "extra processes in descendants: " + descendants);
            for (ProcessHandle h : spawned) {
                assertTrue(h.isAlive(), "Child should be alive: " + h);
                assertTrue(descendants.contains(h), "Spawned child should be listed in descendants: " + h);
                assertEquals(Optional.of(p1.pid()), h.parent().map(ProcessHandle::pid));
                h.destroyForcibly();
            }
            for (ProcessHandle h : spawned) {
                Await.until("pid " + h.pid() + " to exit", () -> !h.isAlive());
            }
            p1.destroyForcibly();
            p1.waitFor(); // a shell may have exited 0 already, once its children were gone
            List<ProcessHandle> remaining = ProcessHandle.current().descendants().collect(Collectors.toList());
            assertFalse(remaining.stream().anyMatch(h -> h.pid() == p1.pid()), "Child p1 should have exited");
            assertTrue(remaining.stream().noneMatch(spawned::contains), "Subprocess(es) should have exited: " + remaining);
        } finally {
            spawned.forEach(ProcessHandle::destroyForcibly);
        }
    }

    /** JavaChild's arguments: as a JVM started this way gets them. */
    private static List<String> javaChildArguments(String... args) {
        List<String> a = new java.util.ArrayList<>(List.of("-XX:-UsePerfData", "-cp", System.getProperty("java.class.path"),
                JavaChild.class.getName()));
        a.addAll(List.of(args));
        return a;
    }

    /** The JDK's own java running {@link JavaChild} {@code args}, forked by umh from the launcher's bytes, named "java". */
    private static UsermodeProcess javaChild(String... args) throws IOException {
        java.nio.file.Path launcher = java.nio.file.Path.of(TestBlobs.javaExecutable()).toRealPath();
        Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.put("LD_LIBRARY_PATH", launcher.getParent().resolve("../lib").normalize().toString());
        try (UsermodeBlob jvm = Umh.load(launcher, "java")) {
            return jvm.fork(ForkOptions.builder().environment(env).args(javaChildArguments(args)).build());
        }
    }

    // InfoTest.test1 with a real JavaChild: arguments() are exactly the ones it was started with,
    // user() this JVM's, startInstant() and totalCpuDuration() present; command() is the memfd the
    // launcher's bytes ran from, named after it (where the JDK's test expects a path ending "java").
    @Test
    void infoOfARealJavaChild() throws Exception {
        try (UsermodeProcess p = javaChild("0")) {
            ProcessHandle.Info info = p.info();
            assertEquals(javaChildArguments("0"), Arrays.asList(info.arguments().orElseThrow()), info.toString());
            assertEquals(ProcessHandle.current().info().user(), info.user());
            assertTrue(info.startInstant().isPresent() && info.totalCpuDuration().isPresent(), info.toString());
            assertEquals("/memfd:java (deleted)", info.command().orElseThrow());
            p.destroyForcibly();
            assertEquals(128 + 9, p.waitFor());
        }
    }

    /** The JDK tests' JavaChild, the part TreeTest uses: "spawn N": N children (sleeps) by ProcessBuilder, their pids printed, then wait. */
    public static final class JavaChild {
        public static void main(String[] args) throws Exception {
            List<Process> children = new java.util.ArrayList<>();
            for (int i = 0; i < Integer.parseInt(args[0]); i++) {
                children.add(new ProcessBuilder("sleep", "60").start());
                System.out.println(children.get(i).pid());
            }
            System.out.flush();
            Thread.sleep(60_000);
        }
    }

    // TreeTest.test1 as the JDK writes it: ProcessHandle.current().children() contains p.toHandle().
    @Test
    @Disabled("deviation, now documented at UsermodeProcess.toHandle(): it is umh's own handle (it acts through"
            + " the pidfd), which the JDK's handles for the same pid, from children() or ProcessHandle.of, do not"
            + " equal (ProcessHandleImpl.equals accepts only its own class): they match by pid")
    void childHandleIsAmongTheJvmsChildren() throws Exception {
        try (UsermodeProcess p = sleeper()) {
            assertTrue(ProcessHandle.current().children().anyMatch(h -> h.equals(p.toHandle())));
            assertEquals(ProcessHandle.of(p.pid()).get(), p.toHandle());
        }
    }

    // InfoTest.test1 (info of a spawned child): user() is this JVM's user; startInstant() is
    // present and not in the future; totalCpuDuration() present and not negative; arguments()
    // are the child's (InfoTest checks its JavaChild's); command() present.
    @Test
    void infoOfALiveChild() throws Exception {
        Instant before = Instant.now().minusSeconds(5); // the kernel's start time is in clock ticks
        try (UsermodeProcess p = sleeper()) {
            ProcessHandle.Info info = p.info();
            assertEquals(ProcessHandle.current().info().user(), info.user());
            assertTrue(info.command().isPresent(), info.toString());
            Instant start = info.startInstant().orElseThrow();
            assertFalse(start.isAfter(Instant.now().plusSeconds(1)), start.toString());
            assertFalse(start.isBefore(before), start.toString());
            assertFalse(info.totalCpuDuration().orElseThrow().isNegative());
            assertEquals(List.of("-p"), Arrays.asList(info.arguments().orElseThrow()));
            p.destroy();
        }
    }

    // InfoTest (the info of a process that has gone: every field empty) via the handle umh gives:
    // never the JVM's own info.
    @Test
    void infoOfAnExitedChildIsEmpty() throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder().args("0").build())) {
            p.waitFor();
            ProcessHandle.Info info = p.toHandle().info();
            assertFalse(info.command().isPresent());
            assertFalse(info.arguments().isPresent());
            assertFalse(info.startInstant().isPresent());
            assertFalse(info.user().isPresent());
            assertFalse(p.toHandle().parent().isPresent());
        }
    }

    // ProcessHandle Javadoc (compareTo): consistent with equals, ClassCastException for a handle
    // of another implementation; ProcessHandle/Basic.java test1/test2: a handle equals another for
    // the same process.
    @Test
    void compareToAndEquals() throws Exception {
        try (UsermodeProcess p = sleeper(); UsermodeProcess q = sleeper()) {
            ProcessHandle a = p.toHandle();
            assertEquals(a, p.toHandle());
            assertEquals(0, a.compareTo(p.toHandle()));
            assertEquals(Long.signum(Long.compare(p.pid(), q.pid())), Integer.signum(a.compareTo(q.toHandle())));
            assertThrows(ClassCastException.class, () -> a.compareTo(ProcessHandle.current()));
            assertEquals(p.pid(), a.pid());
            p.destroy();
            q.destroy();
        }
    }
}
