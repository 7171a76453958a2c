package io.umh;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import io.umh.internal.PermanentForkFailure;

/**
 * What a sandboxed helper may do: which paths it can name, whether it has a network, which system
 * calls reach the kernel. Immutable and thread-safe; validated and prepared once, at
 * {@link Builder#build()}. Given to a fork with {@link ForkOptions.Builder#sandbox}.
 *
 * <p>The layers, applied by the child to itself between the clone and the exec (the JVM's own
 * threads are never confined): namespaces of its own made by the clone (user, mount, pid, ipc,
 * uts, network), an empty read-only root holding only the paths named here, no capabilities after
 * the exec, no new privileges, then Landlock and seccomp; and, where the policy names a delegated
 * cgroup v2 ({@link Builder#cgroup}), a cgroup of its own with its memory, pids and cpu limits,
 * which the clone starts it in. {@link Umh#sandboxSupport()} says which layers this kernel gives;
 * {@link Enforcement} what a fork does about the others.
 */
public final class SandboxPolicy {
    /** What a dynamically linked helper needs to start: the loader, the libraries and their cache. */
    private static final List<Path> DYNAMIC_LINKING = List.of(Path.of("/lib"), Path.of("/lib64"), Path.of("/usr/lib"),
            Path.of("/usr/lib64"), Path.of("/etc/ld.so.cache"));
    /**
     * The standard character devices, in every policy that shows the helper any path (as bwrap's
     * --dev and systemd's PrivateDevices give them), read-write as the host's modes allow anyone (a
     * shell's 2>/dev/null, perl's -e): a read-only bind would not stop a write to a device, and
     * what reaches the host (a write to urandom stirs its pool, credited nothing) any user may do.
     */
    private static final int S_IFMT = 0170000, S_IFCHR = 0020000;
    private static final List<Path> DEVICES = List.of(Path.of("/dev/null"), Path.of("/dev/zero"), Path.of("/dev/full"),
            Path.of("/dev/random"), Path.of("/dev/urandom"));
    /** What a resolver reads, with the network. */
    private static final List<Path> NETWORK_FILES = List.of(Path.of("/etc/resolv.conf"), Path.of("/etc/hosts"),
            Path.of("/etc/nsswitch.conf"), Path.of("/etc/services"), Path.of("/etc/gai.conf"));
    /**
     * Calls beside the groups that any small program makes and that reach nothing outside itself:
     * its own ids (in its namespaces), waiting (pause, futex), hints (fadvise64), its own usage.
     * Those this CPU lacks (pause on aarch64) are left out.
     */
    private static final List<String> BASE = List.of("getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
            "getegid", "getgroups", "getresuid", "getresgid", "getpgrp", "getpgid", "getsid", "sched_yield",
            "sched_getaffinity", "getrusage", "times", "pause", "futex", "fadvise64");
    /** Where the new root's tmpfs is mounted (in the child's mount namespace only): the first that exists. */
    private static final List<String> ROOT_MOUNT_POINTS = List.of("/mnt", "/media", "/srv", "/opt", "/tmp", "/boot", "/home");
    private static final SandboxPolicy STRICT = new Builder().build(); // after the lists it reads

    private final List<Path> readOnly;
    private final List<Path> readWrite;
    private final boolean dynamicLinking;
    private final boolean threads;
    private final boolean network;
    private final List<String> syscalls;
    private final Enforcement enforcement;
    private final Path cgroup;
    private final long memoryMax;
    private final long pidsMax;
    private final Duration cpuQuota;
    private final Duration cpuPeriod;

    /**
     * Prepared for the native spawn, once: laid out as Abi's SBX_* name it, with what this JVM's
     * {@link SandboxSupport} (probed once) gives of the layers; and the paths block.
     */
    final int[] header;
    final byte[] paths;
    /** Spawns join namespaces made once (a root JVM's): then {@link #spawnHeader()} names them. */
    private final boolean joins;
    /** And the ipc namespace made with the empty network's: see {@link #sharesIpc}. */
    private final boolean sharesIpc;
    private volatile int[] joinedHeader;
    /** Per layer, what a fork with this policy gets in this JVM ({@link UsermodeProcess#sandboxLayers()}). */
    final java.util.Map<SandboxSupport.Layer, SandboxSupport.Status> enforced;
    /** The layers a REQUIRED fork lacks here, with why; empty if none. */
    final String missing;
    /** The cgroup files a fork writes into its helper's cgroup (memory.max...): those the parent enables. */
    final Map<String, String> cgroupLimits;

    private SandboxPolicy(Builder b) {
        this.readOnly = List.copyOf(b.readOnly);
        this.readWrite = List.copyOf(b.readWrite);
        this.dynamicLinking = b.dynamicLinking;
        this.threads = b.threads;
        this.network = b.network;
        this.syscalls = List.copyOf(b.syscalls);
        this.enforcement = b.enforcement;
        this.cgroup = b.cgroup;
        this.memoryMax = b.memoryMax;
        this.pidsMax = b.pidsMax;
        this.cpuQuota = b.cpuQuota;
        this.cpuPeriod = b.cpuPeriod;
        Map<String, String> limits = Cgroup.files(memoryMax, pidsMax, cpuQuota == null ? 0 : micros(cpuQuota),
                cpuPeriod == null ? 0 : micros(cpuPeriod));
        if (!limits.isEmpty() && cgroup == null) {
            throw new IllegalArgumentException("limits " + limits.keySet() + " need a cgroup to set them in: cgroup(parent)");
        }

        // every path the helper sees, read-write winning over read-only, parents before children
        TreeMap<Path, Boolean> binds = new TreeMap<>();
        List<Path> ro = new ArrayList<>(readOnly);
        if (dynamicLinking) {
            DYNAMIC_LINKING.stream().filter(Files::exists).forEach(ro::add);
        }
        if (network) {
            NETWORK_FILES.stream().filter(Files::exists).forEach(ro::add);
        }
        ro.forEach(p -> binds.putIfAbsent(p.normalize(), false));
        readWrite.forEach(p -> binds.put(p.normalize(), true));
        // the devices found here, each looked at once: these binds (and only these) go without nodev
        Set<Path> devices = binds.isEmpty() ? Set.of()
                : DEVICES.stream().filter(SandboxPolicy::isDevice).collect(java.util.stream.Collectors.toSet());
        devices.forEach(p -> binds.putIfAbsent(p, true));
        // the new root's tmpfs hides what is below its mount point (in the child's mount namespace):
        // one that is no bind's ancestor, so that the child still finds every bind's source
        String root = ROOT_MOUNT_POINTS.stream().filter(d -> Files.isDirectory(Path.of(d)))
                .filter(d -> binds.keySet().stream().noneMatch(p -> p.startsWith(d)))
                .findFirst().orElseThrow(() -> new IllegalArgumentException("no directory to mount the sandbox's root on:"
                        + " each of " + ROOT_MOUNT_POINTS + " is missing or holds a path of the policy"));
        Set<String> mkdirs = new LinkedHashSet<>();
        for (Path p : binds.keySet()) {
            for (int i = 1; i < p.getNameCount(); i++) {
                mkdirs.add(root + "/" + p.subpath(0, i));
            }
        }
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        block.writeBytes(Umh.nulTerminated(root));
        mkdirs.forEach(d -> block.writeBytes(Umh.nulTerminated(d)));
        if (binds.size() > Abi.SBX_MAX_BINDS) {
            throw new IllegalArgumentException("a sandbox takes at most " + Abi.SBX_MAX_BINDS + " paths, not " + binds.size());
        }
        int[] calls = syscallNumbers(!readOnly.isEmpty() || !readWrite.isEmpty(), !readWrite.isEmpty());
        header = new int[Abi.SBX_HEADER + binds.size() + calls.length];
        System.arraycopy(calls, 0, header, Abi.SBX_HEADER + binds.size(), calls.length);
        header[Abi.SBX_SYSCALLS] = calls.length;
        int i = Abi.SBX_HEADER;
        for (var e : binds.entrySet()) {
            block.writeBytes(Umh.nulTerminated(e.getKey().toString()));
            block.writeBytes(Umh.nulTerminated(root + e.getKey()));
            header[i++] = (Files.isDirectory(e.getKey()) ? Abi.SBX_BIND_DIR : 0) | (e.getValue() ? Abi.SBX_BIND_WRITABLE : 0)
                    | (devices.contains(e.getKey()) ? Abi.SBX_BIND_DEVICE : 0);
        }
        paths = block.toByteArray();
        header[Abi.SBX_BINDS] = binds.size();
        header[Abi.SBX_MKDIRS] = mkdirs.size();
        header[Abi.SBX_NETWORK] = network ? 1 : 0;
        SandboxSupport support = SandboxSupport.Probed.SUPPORT;
        joins = joins(support);
        sharesIpc = sharesIpc(joins, support, syscalls);
        withLayers(header, support);
        Map<String, String> enforceable = new LinkedHashMap<>();
        SandboxSupport.Status cg = cgroup == null ? null
                : Cgroup.forPolicy(support.status(SandboxSupport.Layer.CGROUP), cgroup, limits, enforceable);
        cgroupLimits = java.util.Collections.unmodifiableMap(enforceable);
        enforced = enforced(support, cg);
        missing = missing(enforced, required(support));
    }

    /** A character device (not a file or link a container put there instead): only these are bound without nodev. */
    private static boolean isDevice(Path p) {
        try {
            return ((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & S_IFMT) == S_IFCHR;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** The layers of {@code asked} that are not FULL in {@code enforced}, with why: one line each. */
    private static String missing(Map<SandboxSupport.Layer, SandboxSupport.Status> enforced, Set<SandboxSupport.Layer> asked) {
        StringBuilder s = new StringBuilder();
        for (SandboxSupport.Layer l : asked) {
            SandboxSupport.Status st = enforced.get(l);
            if (st.level() != SandboxSupport.Level.FULL) {
                s.append(s.length() == 0 ? "" : "; ").append(l).append(": ").append(st.reason());
            }
        }
        return s.toString();
    }

    private static long micros(Duration d) {
        return TimeUnit.NANOSECONDS.toMicros(d.toNanos());
    }

    /** Whether a fork places its helper in a cgroup of its own: asked for, and possible here. */
    boolean placesInCgroup() {
        return cgroup != null && enforced.get(SandboxSupport.Layer.CGROUP).level() != SandboxSupport.Level.NONE;
    }

    /**
     * Whether spawns join namespaces made once ({@link Namespaces}): where the namespaces and the
     * root are there, in a root JVM, or in an unprivileged one with user namespaces and clone3 (its
     * child relays the clone of the helper through umh's clone3 trampoline, x86_64's for now).
     */
    private static boolean joins(SandboxSupport support) {
        boolean base = support.isFull(SandboxSupport.Layer.NAMESPACES) && support.isFull(SandboxSupport.Layer.EMPTY_ROOT)
                && !Boolean.getBoolean(FRESH_PROPERTY);
        return base && (support.root || relays(support));
    }

    /**
     * The SysV and POSIX-mqueue calls: the whole of what an ipc namespace holds. A helper whose
     * seccomp filter refuses all of them cannot tell a shared ipc namespace from one of its own.
     */
    private static final Set<String> IPC_CALLS = Set.of("msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop",
            "semtimedop", "semctl", "shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink", "mq_timedsend",
            "mq_timedreceive", "mq_notify", "mq_getsetattr", "ipc");

    /**
     * Whether spawns join the ipc namespace made once with the JVM's empty network (instead of a
     * fresh one per spawn, whose set-up and deferred teardown cost ~15-20 us of each): where they
     * join namespaces made once, and seccomp refuses every IPC call (no group allows one; a policy
     * that allows one by name gets an ipc namespace of its own per spawn). With the host's network
     * too: the ipc namespace is the empty network's companion only in how it is made.
     */
    private static boolean sharesIpc(boolean joins, SandboxSupport support, List<String> syscalls) {
        if (!joins || !support.isFull(SandboxSupport.Layer.SECCOMP)) {
            return false;
        }
        for (String call : syscalls) {
            if (IPC_CALLS.contains(call)) {
                return false;
            }
        }
        return true;
    }

    /** An unprivileged JVM's children relay the clone of the helper (umh_child_relay). */
    private static boolean relays(SandboxSupport support) {
        return !support.root && support.isFull(SandboxSupport.Layer.USER_NAMESPACE) && support.clone3Refusal == null
                && "amd64".equals(System.getProperty("os.arch"));
    }

    /** -Dumh.sandbox.fresh=true: every namespace made per spawn (as before namespaces were made once; to compare). */
    static final String FRESH_PROPERTY = "umh.sandbox.fresh";

    /**
     * {@link #spawnHeader()} for a spawn of a script ({@code script}) with options {@code o}, after
     * the checks a fork makes: options that cannot work together, and (REQUIRED) every layer this
     * policy asks for that this JVM cannot give.
     */
    int[] spawnHeader(boolean script, ForkOptions o) throws IOException {
        if (script) {
            throw new PermanentForkFailure("fork: a #! script cannot run sandboxed: its interpreter is a file the sandbox's"
                    + " empty root does not have; sandbox a binary, or run the interpreter with the script on stdin");
        }
        if (o.uid().isPresent()) {
            throw new PermanentForkFailure("fork: user(uid, gid) and sandbox(...) cannot work together: a sandboxed helper"
                    + " keeps the JVM's ids, each mapped to itself in a user namespace of its own");
        }
        if (!missing.isEmpty() && enforcement() == Enforcement.REQUIRED) {
            throw new PermanentForkFailure("fork: the sandbox cannot be enforced here (Enforcement.REQUIRED): " + missing
                    + "; see Umh.sandboxSupport(), or use Enforcement.BEST_EFFORT");
        }
        return spawnHeader(); // read only: the native side copies it
    }

    /**
     * The native header for a spawn: {@link #header}, or where spawns join namespaces made once,
     * a copy naming them (made at the first call; the policy must stay reachable while a spawn uses it).
     */
    int[] spawnHeader() throws IOException {
        if (!joins) {
            return header;
        }
        int[] h = joinedHeader;
        if (h == null) {
            synchronized (this) {
                if ((h = joinedHeader) == null) {
                    h = header.clone();
                    int[] made; // {network, user, ipc}
                    if (SandboxSupport.Probed.SUPPORT.root) {
                        made = network && !sharesIpc ? null : Namespaces.network(header, paths);
                        h[Abi.SBX_JOIN_MNT] = Namespaces.mount(this, header, -1);
                    } else {
                        made = Namespaces.userAndNetwork(header, paths);
                        h[Abi.SBX_JOIN_USER] = made[1];
                        h[Abi.SBX_JOIN_MNT] = Namespaces.mount(this, header, made[1]);
                    }
                    h[Abi.SBX_JOIN_NET] = network ? -1 : made[0];
                    if (sharesIpc) {
                        h[Abi.SBX_JOIN_IPC] = made[2];
                        h[Abi.SBX_NS_FLAGS] &= ~Abi.CLONE_NEWIPC;
                    }
                    joinedHeader = h;
                }
            }
        }
        return h;
    }

    /**
     * The calls the seccomp filter lets through, by this CPU's numbers: stdio, memory, time,
     * signals, exit and a static program's start-up always; a dynamic one's start-up with
     * dynamic linking; reading (and writing) files where the policy names paths; the network
     * calls with the network; then the builder's own.
     */
    private int[] syscallNumbers(boolean files, boolean write) {
        Native.ensureLoaded();
        List<String> groups = new ArrayList<>(List.of("stdio", "memory", "time", "signals", "exit", "startup-static"));
        if (dynamicLinking) {
            groups.add("startup-dynamic");
        }
        if (threads) {
            groups.add("threads");
        }
        if (files) {
            groups.add("files");
        }
        if (write) {
            groups.add("files-write");
        }
        if (network) {
            groups.add("network");
        }
        java.util.TreeSet<Integer> nrs = new java.util.TreeSet<>();
        groups.forEach(g -> Arrays.stream(Native.seccompGroup(g)).forEach(nrs::add));
        BASE.stream().mapToInt(Native::syscallNumber).filter(nr -> nr >= 0).forEach(nrs::add);
        syscalls.forEach(n -> nrs.add(Native.syscallNumber(n)));
        return nrs.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The tightest preset, for a static helper that only uses its fds: no file system, no network,
     * its own user, pid, mount, ipc and uts namespaces, no new privileges, no capabilities, no
     * second exec.
     */
    public static SandboxPolicy strict() {
        return STRICT;
    }

    /** A builder that starts from {@link #strict()}; each call widens it. */
    public static Builder builder() {
        return new Builder();
    }

    public List<Path> readOnly() {
        return readOnly;
    }

    public List<Path> readWrite() {
        return readWrite;
    }

    public boolean dynamicLinking() {
        return dynamicLinking;
    }

    /** Whether the helper may start threads ({@link Builder#allowThreads()}). */
    public boolean threads() {
        return threads;
    }

    public boolean network() {
        return network;
    }

    /** The system calls allowed beyond the preset's, by name. */
    public List<String> allowedSyscalls() {
        return syscalls;
    }

    public Enforcement enforcement() {
        return enforcement;
    }

    /** The delegated cgroup v2 under which each helper gets a cgroup of its own, or empty for none. */
    public Optional<Path> cgroup() {
        return Optional.ofNullable(cgroup);
    }

    /** memory.max of each helper's cgroup, in bytes, or empty for none. */
    public OptionalLong memoryMax() {
        return memoryMax > 0 ? OptionalLong.of(memoryMax) : OptionalLong.empty();
    }

    /** pids.max of each helper's cgroup: the processes and threads it may have at once, or empty for none. */
    public OptionalLong pidsMax() {
        return pidsMax > 0 ? OptionalLong.of(pidsMax) : OptionalLong.empty();
    }

    /** cpu.max of each helper's cgroup: its quota of CPU time per period, or empty for none. */
    public Optional<Duration> cpuQuota() {
        return Optional.ofNullable(cpuQuota);
    }

    /** The period {@link #cpuQuota()} is per, or empty for none. */
    public Optional<Duration> cpuPeriod() {
        return Optional.ofNullable(cpuPeriod);
    }

    /** The layers this policy asks for (a root JVM gets the namespaces without a user namespace, where it has none). */
    Set<SandboxSupport.Layer> layers() {
        Set<SandboxSupport.Layer> s = EnumSet.of(SandboxSupport.Layer.USER_NAMESPACE, SandboxSupport.Layer.NAMESPACES,
                SandboxSupport.Layer.EMPTY_ROOT, SandboxSupport.Layer.NO_CAPABILITIES, SandboxSupport.Layer.NO_NEW_PRIVILEGES,
                SandboxSupport.Layer.LANDLOCK_FILESYSTEM, SandboxSupport.Layer.LANDLOCK_SCOPES, SandboxSupport.Layer.SECCOMP,
                SandboxSupport.Layer.VIOLATION_NAMES);
        if (!network) {
            s.add(SandboxSupport.Layer.LANDLOCK_NETWORK);
        }
        if (cgroup != null) {
            s.add(SandboxSupport.Layer.CGROUP);
        }
        return s;
    }

    /**
     * The layers a REQUIRED fork cannot do without: all it asks for, but a user namespace for a
     * root JVM, and the violation names (without a listener the seccomp kill still stops the helper).
     */
    private Set<SandboxSupport.Layer> required(SandboxSupport support) {
        Set<SandboxSupport.Layer> s = layers();
        s.remove(SandboxSupport.Layer.VIOLATION_NAMES);
        if (support.root) {
            s.remove(SandboxSupport.Layer.USER_NAMESPACE);
        }
        return s;
    }

    /**
     * Per layer, what a fork with this policy gets here: asked and available, asked and missing
     * (why), or not asked; the cgroup layer as {@code cgroup} says for this policy's parent.
     */
    private java.util.Map<SandboxSupport.Layer, SandboxSupport.Status> enforced(SandboxSupport support, SandboxSupport.Status cgroup) {
        Set<SandboxSupport.Layer> asked = layers();
        java.util.Map<SandboxSupport.Layer, SandboxSupport.Status> m = new java.util.EnumMap<>(SandboxSupport.Layer.class);
        for (SandboxSupport.Layer l : SandboxSupport.Layer.values()) {
            m.put(l, !asked.contains(l) ? new SandboxSupport.Status(SandboxSupport.Level.NONE, "not asked for by the policy")
                    : l == SandboxSupport.Layer.CGROUP ? cgroup : support.status(l));
        }
        if (joins && support.root) {
            m.put(SandboxSupport.Layer.USER_NAMESPACE, new SandboxSupport.Status(SandboxSupport.Level.NONE,
                    "a root JVM's helper needs none: uid 0 with no capabilities, in namespaces of its own"));
        } else if (joins) {
            m.put(SandboxSupport.Layer.USER_NAMESPACE, new SandboxSupport.Status(SandboxSupport.Level.FULL,
                    "made once (the JVM's ids mapped to themselves), shared by this JVM's sandboxed helpers"));
        }
        if (joins) {
            m.put(SandboxSupport.Layer.NAMESPACES, new SandboxSupport.Status(SandboxSupport.Level.FULL,
                    (sharesIpc ? "pid, uts its own; " : "pid, ipc, uts its own; ") + "mount (this policy's root)"
                    + (sharesIpc ? ", an ipc namespace (no IPC call allowed)" : "") + (network ? "" : ", an empty network (loopback down)")
                    + " made once, shared by this JVM's helpers (the root by the policy's)" + (network ? "; the host's network" : "")));
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * Completes the native header for {@code support}: the namespaces the clone makes and what the
     * child does, less what this JVM cannot give (which a REQUIRED fork refuses, a BEST_EFFORT one
     * leaves out).
     */
    private void withLayers(int[] h, SandboxSupport support) {
        boolean userns = support.isFull(SandboxSupport.Layer.USER_NAMESPACE);
        boolean ns = support.isFull(SandboxSupport.Layer.NAMESPACES);
        int flags = 0;
        if (joins) { // the clone makes pid, ipc and uts; the child joins mount and network
            flags = Abi.CLONE_NEWPID | Abi.CLONE_NEWIPC | Abi.CLONE_NEWUTS;
        } else if (ns) {
            flags = Abi.CLONE_NEWNS | Abi.CLONE_NEWPID | Abi.CLONE_NEWIPC | Abi.CLONE_NEWUTS | (network ? 0 : Abi.CLONE_NEWNET);
            if (userns) {
                flags |= Abi.CLONE_NEWUSER;
            }
        }
        h[Abi.SBX_NS_FLAGS] = flags;
        h[Abi.SBX_NEW_ROOT] = !joins && ns && support.isFull(SandboxSupport.Layer.EMPTY_ROOT) ? 1 : 0;
        h[Abi.SBX_JOIN_MNT] = -1;
        h[Abi.SBX_JOIN_NET] = -1;
        h[Abi.SBX_JOIN_USER] = -1;
        h[Abi.SBX_JOIN_IPC] = -1;
        h[Abi.SBX_SECCOMP] = support.isFull(SandboxSupport.Layer.SECCOMP) ? 1 : 0;
        h[Abi.SBX_NOTIFY] = h[Abi.SBX_SECCOMP] == 1 && support.isFull(SandboxSupport.Layer.VIOLATION_NAMES) ? 1 : 0;
        h[Abi.SBX_LANDLOCK] = support.status(SandboxSupport.Layer.LANDLOCK_FILESYSTEM).level() != SandboxSupport.Level.NONE ? 1 : 0;
        h[Abi.SBX_NO_CAPS] = (flags & Abi.CLONE_NEWUSER) != 0 || support.root || joins ? 1 : 0;
    }

    @Override
    public String toString() {
        return "SandboxPolicy[readOnly=" + readOnly + ", readWrite=" + readWrite + ", dynamicLinking=" + dynamicLinking
                + (threads ? ", threads" : "") + ", network=" + network + ", syscalls=" + syscalls
                + (cgroup == null ? "" : ", cgroup=" + cgroup + Cgroup.files(memoryMax, pidsMax,
                        cpuQuota == null ? 0 : micros(cpuQuota), cpuPeriod == null ? 0 : micros(cpuPeriod)))
                + ", " + enforcement + "]";
    }

    /** Starts from {@link #strict()}; each call widens it. Not thread-safe; {@link #build()} copies. */
    public static final class Builder {
        private final List<Path> readOnly = new ArrayList<>();
        private final List<Path> readWrite = new ArrayList<>();
        private boolean dynamicLinking;
        private boolean threads;
        private boolean network;
        private final List<String> syscalls = new ArrayList<>();
        private Enforcement enforcement = Enforcement.REQUIRED;
        private Path cgroup;
        private long memoryMax;
        private long pidsMax;
        private Duration cpuQuota;
        private Duration cpuPeriod;

        private Builder() {}

        /** The helper may read these (and map libraries from them). Absolute paths that exist. */
        public Builder readOnly(Path... paths) {
            for (Path p : paths) {
                readOnly.add(checkPath(p, "readOnly"));
            }
            return this;
        }

        /** The helper may read and write these. Absolute paths that exist. */
        public Builder readWrite(Path... paths) {
            for (Path p : paths) {
                readWrite.add(checkPath(p, "readWrite"));
            }
            return this;
        }

        /** A dynamically linked helper can start: the loader and the system's library directories, read-only. */
        public Builder allowDynamicLinking() {
            this.dynamicLinking = true;
            return this;
        }

        /**
         * The helper may start threads (pthread_create; Go's runtime, zstd, a thread pool): clone
         * with CLONE_THREAD and without any namespace flag only, so it still cannot make a process
         * (fork stays a violation named "clone"); futex, robust lists, madvise and sched_yield
         * with it. Thread or process, a helper stays in its pids.max ({@link #pidsMax}).
         */
        public Builder allowThreads() {
            this.threads = true;
            return this;
        }

        /** Default false: no network at all, loopback included; true: the host's network and the files a resolver reads. */
        public Builder network(boolean allowed) {
            this.network = allowed;
            return this;
        }

        /**
         * System calls allowed beyond the preset's, by name for this CPU. IllegalArgumentException
         * for a name unknown here, and for one a sandbox always denies (ptrace, process_vm_*,
         * pidfd_getfd, bpf, perf_event_open, userfaultfd, io_uring, keyctl, the mount family,
         * namespace creation, module, kexec, reboot, swap, a plain execve).
         */
        public Builder allowSyscalls(String... names) {
            Native.ensureLoaded();
            for (String n : names) {
                Objects.requireNonNull(n, "syscall name");
                int nr = Native.syscallNumber(n);
                if (nr < 0) {
                    throw new IllegalArgumentException("no system call \"" + n + "\" on " + System.getProperty("os.arch"));
                }
                if (Native.alwaysDenied(nr)) {
                    throw new IllegalArgumentException(n + " cannot be allowed: a sandbox always denies it");
                }
                syscalls.add(n);
            }
            return this;
        }

        /** REQUIRED (default): a fork fails naming each layer this kernel cannot enforce; BEST_EFFORT: it runs with what works. */
        public Builder enforcement(Enforcement e) {
            this.enforcement = Objects.requireNonNull(e, "enforcement");
            return this;
        }

        /**
         * Each helper runs in a cgroup v2 of its own, {@code umh-<jvm pid>-<n>}, made under
         * {@code parent} before the clone and removed after the helper's reap: the clone itself
         * (clone3's CLONE_INTO_CGROUP) starts it there, within its limits from its first
         * instruction. {@code parent} is a delegated cgroup: one this JVM may make cgroups in
         * (root, or owned by the JVM's user, as systemd's {@code Delegate=yes} gives), holding no
         * process of its own where it is to enable controllers for the limits (cgroup v2 enables
         * them only there), with those controllers in its {@code cgroup.subtree_control}. This
         * JVM's own cgroup is {@link SandboxSupport#cgroup()}. Where the kernel cannot place the
         * helper (no cgroup v2, no clone3, no delegation) or a limit's controller is not enabled
         * in {@code parent}, a REQUIRED fork fails naming it; a BEST_EFFORT one runs with what
         * works and {@link UsermodeProcess#sandboxLayers()} says what did not.
         * IllegalArgumentException for a path that is not absolute or not a cgroup v2 directory.
         */
        public Builder cgroup(Path parent) {
            Path p = checkPath(parent, "cgroup");
            if (!Files.isRegularFile(p.resolve("cgroup.subtree_control"))) {
                throw new IllegalArgumentException("cgroup path is not a cgroup v2 directory (it has no cgroup.subtree_control): " + p);
            }
            this.cgroup = p;
            return this;
        }

        /** memory.max of each helper's cgroup: past it the kernel reclaims, then kills it (OOM). Bytes, above 0. */
        public Builder memoryMax(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("memoryMax must be above 0 bytes: " + bytes);
            }
            this.memoryMax = bytes;
            return this;
        }

        /** pids.max of each helper's cgroup: fork and clone fail (EAGAIN) past this many processes and threads. Above 0. */
        public Builder pidsMax(long max) {
            if (max <= 0) {
                throw new IllegalArgumentException("pidsMax must be above 0: " + max);
            }
            this.pidsMax = max;
            return this;
        }

        /**
         * cpu.max of each helper's cgroup: at most {@code quota} of CPU time per {@code period}
         * (quota above period: more than one CPU). Both in whole microseconds; the period from
         * 1 ms to 1 s, the quota at least 1 ms, as the kernel takes them.
         */
        public Builder cpuMax(Duration quota, Duration period) {
            Objects.requireNonNull(quota, "cpuMax quota");
            Objects.requireNonNull(period, "cpuMax period");
            if (period.compareTo(Duration.ofMillis(1)) < 0 || period.compareTo(Duration.ofSeconds(1)) > 0) {
                throw new IllegalArgumentException("cpuMax period must be from 1 ms to 1 s: " + period);
            }
            if (quota.compareTo(Duration.ofMillis(1)) < 0 || quota.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException("cpuMax quota must be from 1 ms to 1 day: " + quota);
            }
            this.cpuQuota = quota;
            this.cpuPeriod = period;
            return this;
        }

        public SandboxPolicy build() {
            return new SandboxPolicy(this);
        }

        private static Path checkPath(Path p, String what) {
            Objects.requireNonNull(p, what + " path");
            if (!p.isAbsolute()) {
                throw new IllegalArgumentException(what + " path is not absolute: " + p);
            }
            if (!Files.exists(p)) {
                throw new IllegalArgumentException(what + " path does not exist: " + p);
            }
            return p;
        }
    }
}
