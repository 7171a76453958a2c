package io.umh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What this kernel and this process allow of a sandbox, layer by layer, with the reason for each
 * missing one ({@link Umh#sandboxSupport()}); the same type reports, per process, which layers a
 * sandboxed fork got ({@link UsermodeProcess#sandboxLayers()}). Probed once per JVM, from the
 * sysctls that switch a layer off, the calls the shim makes, and the steps a sandboxed child takes
 * that a sysctl cannot tell (a clone with CLONE_NEWUSER and its id maps, a seccomp listener), each
 * tried for real by a short-lived child.
 */
public final class SandboxSupport {
    /** The sandbox's layers, in the order the child applies them. */
    public enum Layer {
        /** A user namespace of its own: the other namespaces without privilege, no ids of the host's but its own. */
        USER_NAMESPACE,
        /** Mount, pid, ipc and uts namespaces of its own (and a network namespace unless the policy allows the network). */
        NAMESPACES,
        /** A root of its own: an empty read-only tmpfs holding only the paths the policy names. */
        EMPTY_ROOT,
        /** No capabilities after the exec, even as root in its namespace (locked securebits, no ambient set). */
        NO_CAPABILITIES,
        /** PR_SET_NO_NEW_PRIVS: no setuid or file capabilities can raise it. */
        NO_NEW_PRIVILEGES,
        /** Landlock: the file system outside the policy's paths is denied. */
        LANDLOCK_FILESYSTEM,
        /** Landlock: TCP bind and connect denied (without the network). */
        LANDLOCK_NETWORK,
        /** Landlock scopes: no signals to, and no abstract unix sockets of, processes outside the sandbox. */
        LANDLOCK_SCOPES,
        /** seccomp-bpf: only the policy's system calls reach the kernel; the helper can exec nothing else. */
        SECCOMP,
        /** A violation names the call (seccomp's user-notify listener); without, it is death by SIGSYS. */
        VIOLATION_NAMES,
        /**
         * A cgroup v2 of its own under a delegated one, its limits (memory, pids, cpu) in force from
         * its first instruction (clone3's CLONE_INTO_CGROUP); PARTIAL where it is placed but some
         * limit's controller is missing.
         */
        CGROUP
    }

    /** How fully a layer is (or can be) enforced. */
    public enum Level { FULL, PARTIAL, NONE }

    /** One layer's level, and why where it is not FULL. */
    public static final class Status {
        private final Level level;
        private final String reason;

        Status(Level level, String reason) {
            this.level = level;
            this.reason = reason;
        }

        public Level level() {
            return level;
        }

        /** Why it is not FULL, or what it rests on; empty for a plain FULL. */
        public String reason() {
            return reason;
        }

        @Override
        public String toString() {
            return reason.isEmpty() ? level.toString() : level + " (" + reason + ")";
        }
    }

    static final Status FULL = new Status(Level.FULL, "");
    private final Map<Layer, Status> layers;
    /** The JVM runs as root (euid 0): it makes the namespaces without a user namespace where it has none. */
    final boolean root;
    /** Null where clone3 works, else why not (umh then clones with clone, and opens each pidfd after). */
    final String clone3Refusal;

    SandboxSupport(Map<Layer, Status> layers, boolean root, String clone3Refusal) {
        this.layers = Collections.unmodifiableMap(new EnumMap<>(layers));
        this.root = root;
        this.clone3Refusal = clone3Refusal;
    }

    /** Every layer's status. */
    public Map<Layer, Status> layers() {
        return layers;
    }

    public Status status(Layer layer) {
        return layers.get(layer);
    }

    /**
     * This JVM's own cgroup v2 directory (its {@code 0::} line of /proc/self/cgroup under the
     * cgroup2 mount of /proc/self/mountinfo), or empty without cgroup v2: a parent for
     * {@link SandboxPolicy.Builder#cgroup} that always places helpers, and limits them where it
     * is the root or holds no process.
     */
    public Optional<Path> cgroup() {
        return Cgroup.own();
    }

    /** Whether {@code layer} is enforced fully. */
    public boolean isFull(Layer layer) {
        return layers.get(layer).level() == Level.FULL;
    }

    /** A table, one layer a line: name, level, reason. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("umh sandbox support (kernel " + System.getProperty("os.version") + ")\n");
        layers.forEach((l, st) -> s.append(String.format(Locale.ROOT, "  %-20s %-8s %s%n", l, st.level(), st.reason())));
        if (clone3Refusal != null) {
            s.append("  no clone3 (").append(clone3Refusal).append("): umh clones with clone and opens each pidfd after;"
                    + " of the layers above only CGROUP needs it\n");
        }
        return s.toString();
    }

    // ---- the probe, once per JVM

    static final class Probed {
        static final SandboxSupport SUPPORT = probe();
    }

    /** -Dumh.sandbox.disable=LAYER,...: probe as if those layers were missing (to test each fallback). */
    static final String DISABLE_PROPERTY = "umh.sandbox.disable";

    /** The namespaces a sandbox's clone makes besides the user namespace (the network's unless the policy allows it). */
    private static final int NAMESPACES = Abi.CLONE_NEWNS | Abi.CLONE_NEWPID | Abi.CLONE_NEWIPC | Abi.CLONE_NEWUTS
            | Abi.CLONE_NEWNET;
    private static final int EBUSY = 16;

    private static SandboxSupport probe() {
        Map<Layer, Status> m = new EnumMap<>(Layer.class);
        boolean root = euid() == 0;
        Native.ensureLoaded();
        Status userns = userNamespaces(root);
        m.put(Layer.USER_NAMESPACE, userns);
        Status ns = userns.level() == Level.FULL ? FULL
                : root ? rootNamespaces()
                : new Status(Level.NONE, "needs a user namespace: " + userns.reason());
        m.put(Layer.NAMESPACES, ns);
        m.put(Layer.EMPTY_ROOT, ns.level() == Level.NONE ? new Status(Level.NONE, "needs a mount namespace")
                : emptyRoot(userns.level() == Level.FULL ? NAMESPACES | Abi.CLONE_NEWUSER : NAMESPACES));
        m.put(Layer.NO_CAPABILITIES, ns.level() == Level.NONE && !root ? new Status(Level.FULL, "an unprivileged helper has none") : FULL);
        m.put(Layer.NO_NEW_PRIVILEGES, FULL);
        landlock(m);
        String actions = sysctl("kernel/seccomp/actions_avail");
        m.put(Layer.SECCOMP, actions != null && actions.contains("kill_process") ? FULL
                : new Status(Level.NONE, actions == null ? "no seccomp filters in this kernel (CONFIG_SECCOMP_FILTER)"
                : "seccomp has no kill_process action (before 4.14)"));
        String refusal = m.get(Layer.SECCOMP).level() == Level.FULL ? listenerRefusal() : null;
        m.put(Layer.VIOLATION_NAMES, m.get(Layer.SECCOMP).level() != Level.FULL ? new Status(Level.NONE, "needs seccomp")
                : refusal == null ? FULL : new Status(Level.NONE, "no seccomp user-notify listener: " + refusal));
        m.put(Layer.CGROUP, Cgroup.probe());
        disableForTests(m, System.getProperty(DISABLE_PROPERTY, ""), root);
        return new SandboxSupport(m, root, Native.probeClone3());
    }

    /**
     * Why a helper's seccomp filter cannot have a listener here, or null: the kernel's actions, then
     * a filter with one installed for real by a probe child, which an outer filter holding a
     * listener already (a container runtime's, a supervisor's) refuses with EBUSY.
     */
    private static String listenerRefusal() {
        String refusal = Native.seccompListenerRefusal();
        if (refusal != null) {
            return refusal;
        }
        int rc = Native.probeListener();
        if (rc == 0) {
            return null;
        }
        return (-rc & 0xfff) == EBUSY ? "an outer seccomp filter already holds a listener, as a container runtime's or a"
                + " supervisor's may (" + Native.describe(rc) + "): a violation is a seccomp kill, the call unknown"
                : Native.describe(rc);
    }

    /**
     * The root's first mount in a new mount namespace, tried for real: a JVM that already runs in
     * a Landlock domain (a supervisor's sandbox) makes namespaces but may not mount (EPERM), nor
     * may one where an LSM or an outer filter refuses mount.
     */
    private static Status emptyRoot(int nsFlags) {
        int rc = Native.probeRoot(nsFlags);
        return rc == 0 ? FULL : new Status(Level.NONE, "the root cannot be mounted: " + Native.describe(rc)
                + " (this JVM in a Landlock domain, which may not mount, or an LSM or seccomp filter refusing mount)");
    }

    /** A root JVM without a user namespace: the other namespaces by privilege, tried once for real. */
    private static Status rootNamespaces() {
        int rc = Native.probeNamespaces(NAMESPACES);
        return rc == 0 ? new Status(Level.FULL, "as root, without a user namespace")
                : new Status(Level.NONE, "as root, without a user namespace: " + Native.describe(rc));
    }

    /** Landlock's layers by the ABI this kernel offers: file system from 1 (truncate from 3), TCP from 4, scopes from 6. */
    private static void landlock(Map<Layer, Status> m) {
        int abi = Native.landlockAbi();
        String none = abi == 0 ? Native.landlockRefusal() : null;
        m.put(Layer.LANDLOCK_FILESYSTEM, none != null ? new Status(Level.NONE, none)
                : abi < 3 ? new Status(Level.PARTIAL, "Landlock ABI " + abi + " < 3: truncate not restricted")
                : new Status(Level.FULL, "Landlock ABI " + abi));
        m.put(Layer.LANDLOCK_NETWORK, none != null ? new Status(Level.NONE, none)
                : abi < 4 ? new Status(Level.NONE, "Landlock ABI " + abi + " < 4: TCP not restricted") : FULL);
        m.put(Layer.LANDLOCK_SCOPES, none != null ? new Status(Level.NONE, none)
                : abi < 6 ? new Status(Level.NONE, "Landlock ABI " + abi + " < 6: signals and abstract sockets not scoped") : FULL);
    }

    private static void disableForTests(Map<Layer, Status> m, String list, boolean root) {
        for (String name : list.split(",")) {
            if (!name.isBlank()) {
                Layer l = Layer.valueOf(name.trim().toUpperCase(Locale.ROOT));
                m.put(l, new Status(Level.NONE, "disabled by -D" + DISABLE_PROPERTY));
                if (l == Layer.USER_NAMESPACE && !root) {
                    m.put(Layer.NAMESPACES, new Status(Level.NONE, "needs a user namespace: disabled by -D" + DISABLE_PROPERTY));
                    m.put(Layer.EMPTY_ROOT, new Status(Level.NONE, "needs a mount namespace"));
                }
            }
        }
    }

    /**
     * The sysctls that switch unprivileged user namespaces off, as the distributions set them
     * (each read where this kernel has it); then, with none of them set, a clone that makes one
     * and writes the id maps, tried for real: a container's seccomp profile refuses the clone
     * (EPERM), an LSM may let it through and refuse the maps, as Ubuntu's AppArmor restriction does.
     */
    private static Status userNamespaces(boolean root) {
        if ("0".equals(sysctl("user/max_user_namespaces"))) {
            return new Status(Level.NONE, "sysctl user.max_user_namespaces=0");
        }
        if (!root && "0".equals(sysctl("kernel/unprivileged_userns_clone"))) {
            return new Status(Level.NONE, "sysctl kernel.unprivileged_userns_clone=0 (Debian) and the JVM is not root");
        }
        if (!root && "1".equals(sysctl("kernel/apparmor_restrict_unprivileged_userns"))) {
            return new Status(Level.NONE, "sysctl kernel.apparmor_restrict_unprivileged_userns=1 (Ubuntu) and the JVM is not root");
        }
        int rc = Native.probeNamespaces(NAMESPACES | Abi.CLONE_NEWUSER);
        if (rc == 0) {
            return FULL;
        }
        switch (Native.step(rc)) {
            case CLONE:
                return new Status(Level.NONE, "a clone with CLONE_NEWUSER is refused: " + Native.describe(rc)
                        + " (a seccomp filter around this JVM, as a container's profile has, or an LSM)");
            case CHILD_SETGROUPS_DENY:
            case CHILD_UID_MAP:
            case CHILD_GID_MAP:
                return new Status(Level.NONE, "a clone makes a user namespace, but its id maps are refused: "
                        + Native.describe(rc) + " (an LSM, as Ubuntu's AppArmor restriction of unprivileged user namespaces;"
                        + " or a JVM that is not dumpable, whose /proc/self is root's)");
            default:
                return new Status(Level.NONE, "a clone with CLONE_NEWUSER fails: " + Native.describe(rc));
        }
    }

    static String sysctl(String name) {
        try {
            return Files.readString(Path.of("/proc/sys", name)).trim();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /** This JVM's effective uid, from /proc/self/status: once, for the probe. */
    private static int euid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.split("\\s+")[2]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through: treat as unprivileged
        }
        return -1;
    }

    /** The layers {@code policy} asks for that this JVM cannot give, with why: one line each. */
    String missing(Set<Layer> asked) {
        StringBuilder s = new StringBuilder();
        for (Layer l : asked) {
            Status st = layers.get(l);
            if (st.level() != Level.FULL) {
                s.append(s.length() == 0 ? "" : "; ").append(l).append(": ").append(st.reason());
            }
        }
        return s.toString();
    }
}
