package io.umh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * A sandboxed helper's cgroup v2 ({@link SandboxPolicy.Builder#cgroup}): made under the delegated
 * parent before the clone ({@code umh-<jvm pid>-<n>}), its limits written, then the clone3 with
 * CLONE_INTO_CGROUP makes the helper inside it (umh_cgroup.c, umh_spawn.c); removed after the
 * reap. The fd it holds is O_PATH, open only until the spawn returns. Also the probe of what this
 * JVM's cgroups allow ({@link SandboxSupport.Layer#CGROUP}) and what one policy gets of it.
 */
final class Cgroup {
    private static final Log LOG = Log.LOG;
    /** The controllers whose limits a policy can set, as their files name them (memory.max: memory). */
    static final List<String> CONTROLLERS = List.of("memory", "pids", "cpu");
    private static final AtomicLong SERIAL = new AtomicLong();
    /** Made and not yet removed: the helper's, until its reap, or a descendant's it left (killed, removed once empty). */
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();
    private static final Set<Path> LEFTOVERS = ConcurrentHashMap.newKeySet();
    private static final long PID = ProcessHandle.current().pid();

    final Path path;
    private int fd;

    private Cgroup(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /** Makes a cgroup of its own under {@code parent}, with {@code limits} (file: value) written in order. */
    static Cgroup create(Path parent, Map<String, String> limits) throws IOException {
        Cgroup c = null;
        // a name an earlier JVM with this pid left behind (killed before it could remove it) is skipped
        for (int i = 0; c == null; i++) {
            Path p = parent.resolve("umh-" + PID + "-" + SERIAL.incrementAndGet());
            int rc = Native.cgroupCreate(Umh.nulTerminated(parent.toString()),
                    Umh.nulTerminated(p.getFileName().toString()));
            if (rc >= 0) {
                c = new Cgroup(p, rc);
                LIVE.add(p);
                ShutdownHook.cgroupMade();
            } else if (Native.errno(rc) != Abi.EEXIST || i == 15) {
                throw Native.error("fork", rc, ": cgroup " + p + cause(rc));
            }
        }
        try {
            for (Map.Entry<String, String> l : limits.entrySet()) {
                Native.cgroupWrite(c.fd, Umh.nulTerminated(l.getKey()), Umh.nulTerminated(l.getValue()),
                        c.path.resolve(l.getKey()) + " = " + l.getValue());
            }
        } catch (IOException | RuntimeException e) {
            c.closeFd();
            c.remove();
            throw e;
        }
        return c;
    }

    private static String cause(int rc) {
        int errno = Native.errno(rc);
        return errno == Abi.EACCES || errno == Abi.EPERM
                ? " (no delegation: this JVM may not make cgroups there; give it a cgroup it owns, as systemd's Delegate=yes does)"
                : "";
    }

    /** The O_PATH fd the clone takes (CLONE_INTO_CGROUP). */
    int fd() {
        return fd;
    }

    /** After the spawn, on the spawning thread: the clone has taken what it needs of the fd. */
    void closeFd() {
        if (fd >= 0) {
            Native.closeQuietly(fd);
            fd = -1;
        }
    }

    /**
     * After the helper's reap (or a failed spawn): rmdir. A cgroup that some descendant of the
     * helper still holds (one that escaped its reap: no pid namespace) is killed (cgroup.kill)
     * and removed once empty, at a later removal or at JVM exit. The fd plays no part (an open
     * O_PATH fd does not keep a cgroup), and is never touched here: this runs on the reaper.
     */
    void remove() {
        if (!tryRemove(path)) {
            kill(path);
            LEFTOVERS.add(path);
        }
        LIVE.remove(path);
        LEFTOVERS.removeIf(Cgroup::tryRemove);
    }

    /** JVM exit, once the helpers are stopped: every cgroup left is killed and removed, waiting up to {@code millis} for them to empty. */
    static void removeAll(long millis) {
        LEFTOVERS.addAll(LIVE);
        LEFTOVERS.forEach(Cgroup::kill);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        LEFTOVERS.removeIf(Cgroup::tryRemove);
        while (!LEFTOVERS.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(1); // a killed process leaves its cgroup within a few ms
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            LEFTOVERS.removeIf(Cgroup::tryRemove);
        }
        LEFTOVERS.forEach(p -> LOG.log(System.Logger.Level.WARNING, "umh: cgroup " + p + " still holds a process; left behind"));
    }

    /** cgroup.kill (5.14): SIGKILL to every process in it; nothing to do where there is none or no such file. */
    private static void kill(Path p) {
        try {
            Files.writeString(p.resolve("cgroup.kill"), "1");
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "umh: cgroup.kill of " + p + ": " + e);
        }
    }

    /** rmdir: true once it is gone. */
    private static boolean tryRemove(Path p) {
        try {
            Files.delete(p);
            return true;
        } catch (NoSuchFileException gone) {
            return true;
        } catch (IOException busy) { // EBUSY: populated
            return false;
        }
    }

    /**
     * How often the kernel's OOM killer killed in this cgroup ({@code oom_kill} in memory.events),
     * 0 without a memory controller there: asked only of a helper that died by SIGKILL, before
     * {@link #remove}.
     */
    long oomKills() {
        for (String line : lines(path.resolve("memory.events"))) {
            if (line.startsWith("oom_kill ")) {
                return Long.parseLong(line.substring(9).trim());
            }
        }
        return 0;
    }

    // ---- what this JVM's cgroups allow, probed once (SandboxSupport)

    /** Where cgroup v2 is mounted here (its mount's root), or null. */
    static Path mount() {
        for (String[] m : mounts()) {
            if (m[1].equals("cgroup2")) {
                return Path.of(m[0]);
            }
        }
        return null;
    }

    /** Mount point and file system type (and super options) of every mount, from /proc/self/mountinfo. */
    private static List<String[]> mounts() {
        List<String[]> out = new ArrayList<>();
        for (String line : lines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            int dash = line.indexOf(" - ");
            if (f.length > 4 && dash > 0) {
                String[] tail = line.substring(dash + 3).split(" ");
                out.add(new String[] {Mounts.unescape(f[4]), tail[0], tail.length > 2 ? tail[2] : ""});
            }
        }
        return out;
    }


    /** This JVM's own cgroup v2 directory: its "0::" line of /proc/self/cgroup under the mount. */
    static Optional<Path> own() {
        Path mount = mount();
        if (mount == null) {
            return Optional.empty();
        }
        return lines(Path.of("/proc/self/cgroup")).stream().filter(l -> l.startsWith("0::"))
                .map(l -> mount.resolve(l.substring(3).replaceFirst("^/+", ""))).filter(Files::isDirectory).findFirst();
    }

    /** The layer as this JVM has it: cgroup v2 mounted, clone3 able to place a child, which controllers v2 has. */
    static SandboxSupport.Status probe() {
        Path mount = mount();
        if (mount == null) {
            return new SandboxSupport.Status(SandboxSupport.Level.NONE, "no cgroup v2 mounted (none in /proc/self/mountinfo)");
        }
        String refusal = Native.cgroupCloneRefusal();
        if (refusal != null) {
            return new SandboxSupport.Status(SandboxSupport.Level.NONE, "clone3 cannot start a helper in a cgroup"
                    + " (CLONE_INTO_CGROUP, Linux 5.7): " + refusal);
        }
        List<String> have = words(mount.resolve("cgroup.controllers"));
        List<String> lacking = CONTROLLERS.stream().filter(c -> !have.contains(c)).collect(Collectors.toList());
        if (lacking.isEmpty()) {
            return new SandboxSupport.Status(SandboxSupport.Level.FULL, "cgroup v2 at " + mount + ", this JVM in "
                    + own().map(Path::toString).orElse("?"));
        }
        return new SandboxSupport.Status(SandboxSupport.Level.PARTIAL, "cgroup v2 at " + mount + " has no "
                + String.join(", ", lacking) + " controller" + v1(lacking) + ": a helper is placed in a cgroup of its own,"
                + " but those limits cannot be enforced");
    }

    /** Where the v1 hierarchies that hold these controllers are mounted, if any. */
    private static String v1(List<String> controllers) {
        List<String> at = new ArrayList<>();
        for (String[] m : mounts()) {
            if (m[1].equals("cgroup") && controllers.stream().anyMatch(c -> List.of(m[2].split(",")).contains(c))) {
                at.add(m[0]);
            }
        }
        return at.isEmpty() ? "" : " (bound to cgroup v1 hierarchies: " + String.join(", ", at) + ")";
    }

    /**
     * What a policy gets of the layer, given the JVM's {@code support}: placement under
     * {@code parent}, and of {@code limits} those whose controller the parent enables for its
     * children ({@code enforceable} receives them).
     */
    static SandboxSupport.Status forPolicy(SandboxSupport.Status support, Path parent, Map<String, String> limits,
                                           Map<String, String> enforceable) {
        if (support.level() == SandboxSupport.Level.NONE) {
            return support;
        }
        if (!Files.isWritable(parent)) {
            return new SandboxSupport.Status(SandboxSupport.Level.NONE, "no delegation: " + parent
                    + " is not writable by this JVM; give it a cgroup it owns, as systemd's Delegate=yes does");
        }
        Path control = parent.resolve("cgroup.subtree_control");
        List<String> enabled = words(control);
        List<String> notes = new ArrayList<>();
        for (Map.Entry<String, String> l : limits.entrySet()) {
            String controller = l.getKey().substring(0, l.getKey().indexOf('.'));
            if (enabled.contains(controller)) {
                enforceable.put(l.getKey(), l.getValue());
            } else {
                notes.add(l.getKey() + " not enforced: the " + controller + " controller is not enabled in " + control
                        + hint(parent, controller));
            }
        }
        if (!notes.isEmpty()) {
            return new SandboxSupport.Status(SandboxSupport.Level.PARTIAL, String.join("; ", notes));
        }
        return new SandboxSupport.Status(SandboxSupport.Level.FULL, "under " + parent + (limits.isEmpty() ? ", no limits asked"
                : ": " + limits.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(", "))));
    }

    /** Why a controller is not enabled for the parent's children, where the parent says. */
    private static String hint(Path parent, String controller) {
        List<String> available = words(parent.resolve("cgroup.controllers"));
        if (!available.contains(controller)) {
            return " (nor available to it: its cgroup.controllers has " + (available.isEmpty() ? "none" : String.join(" ", available)) + ")";
        }
        boolean holdsProcesses = !lines(parent.resolve("cgroup.procs")).isEmpty();
        return holdsProcesses && !parent.equals(mount())
                ? " (it holds processes, and cgroup v2 enables controllers only for a cgroup without any: give one that holds none)"
                : " (it is available: echo +" + controller + " > that file)";
    }

    /** Limits as the cgroup files take them, in the order they are written. */
    static Map<String, String> files(long memoryMax, long pidsMax, long cpuQuotaMicros, long cpuPeriodMicros) {
        Map<String, String> m = new LinkedHashMap<>();
        if (memoryMax > 0) {
            m.put("memory.max", Long.toString(memoryMax));
        }
        if (pidsMax > 0) {
            m.put("pids.max", Long.toString(pidsMax));
        }
        if (cpuQuotaMicros > 0) {
            m.put("cpu.max", cpuQuotaMicros + " " + cpuPeriodMicros);
        }
        return m;
    }

    private static List<String> words(Path p) {
        return lines(p).stream().flatMap(l -> List.of(l.trim().split("\\s+")).stream()).filter(w -> !w.isEmpty())
                .collect(Collectors.toList());
    }

    private static List<String> lines(Path p) {
        try {
            return Files.readAllLines(p);
        } catch (IOException | UncheckedIOException | UnsupportedOperationException e) {
            return List.of();
        }
    }
}
