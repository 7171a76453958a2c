package io.umh;

import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * How to run a blob: argv, environment, working directory, where the child's fds 0, 1 and 2 come
 * from and go to, and which more fds it gets.
 * Immutable and validated once, when built; the argv and environment blocks the native spawn reads
 * are prepared then too, so a fork with the same options copies nothing twice.
 */
public final class ForkOptions {
    /** {@link #closeGrace()}'s default: 2 s, as the shutdown hook's ({@code -Dumh.shutdown.grace}). */
    public static final Duration DEFAULT_CLOSE_GRACE = Duration.ofSeconds(2); // before DEFAULTS, which reads it
    private static final ForkOptions DEFAULTS = new ForkOptions();

    private final String argv0; // null: the blob's name
    private final List<String> args;
    private final Map<String, String> environment; // null: the JVM's
    private final Path directory;                  // null: the JVM's
    // null: the default (PIPE, PIPE, INHERIT), so that a fork with the defaults never initialises
    // ProcessBuilder.Redirect, whose DISCARD costs a fresh JDK 25 ~6 ms (jdk.internal.util.OperatingSystem's
    // Enum.valueOf, through a first reflective call)
    private final Redirect redirectInput;
    private final Redirect redirectOutput;
    private final Redirect redirectError;
    private final boolean redirectErrorStream;
    /** The child's fds above 2: each a FileDescriptor (the caller's) or a Path (opened read-only at each fork). */
    final SortedMap<Integer, Object> passed;
    private final Lifetime lifetime; // null for the default, DIES_WITH_JVM: a default fork loads no Lifetime
    private final Duration closeGrace;
    private final boolean noNewPrivileges;
    private final boolean newSession;
    private final int uid;   // -1: unchanged
    private final int gid;
    private final int umask; // -1: unchanged
    private final int pipeSize; // 0: the kernel's default
    private final Map<Resource, long[]> limits;
    private final SandboxPolicy sandbox; // null: none

    /** argv0 and the arguments as a {@link #block}; only the arguments when argv0 is the blob's name ({@link #argv(byte[])} adds it). */
    private final byte[] argv;
    /** ids and rlimits as the native spawn reads them, laid out as {@link Abi}'s IDS_* and RLIMIT_* name them. */
    final int[] ids;
    final long[] rlimits;
    /** The environment block, or null for the JVM's own: the shim then passes the process's {@code environ}, as ProcessBuilder's does. */
    final byte[] envp;
    final byte[] dir;

    /**
     * NUL-terminated strings packed into one array, as the child's argv or envp take them (an
     * array, not a class of its own: one class less for a first fork); no string holds a NUL.
     */
    static byte[] block(List<String> strings) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String s : strings) {
            out.writeBytes(s.getBytes(Umh.JNU));
            out.write(0);
        }
        return out.toByteArray();
    }

    /** How many strings {@code block} holds: its NULs. */
    static int count(byte[] block) {
        int n = 0;
        for (byte b : block) {
            if (b == 0) {
                n++;
            }
        }
        return n;
    }

    /**
     * The JVM's environment, encoded once, for {@link ExecFailure}'s sizes: a fork passes the process's
     * {@code environ} instead, and System.getenv() (java.lang.ProcessEnvironment, ~10 classes outside
     * the JDK's CDS archive) costs a first fork nothing.
     */
    private static final class InheritedEnvironment {
        static final byte[] BLOCK = block(entries(System.getenv()));
    }

    /** The child's environment block as the kernel counts it: this one's, or the JVM's. */
    byte[] environmentBlock() {
        return envp != null ? envp : InheritedEnvironment.BLOCK;
    }

    /**
     * The defaults, what {@code builder().build()} gives (ForkOptionsDefaultsTest compares every field),
     * made without a Builder: a class less for a fresh JVM's first fork to load.
     */
    private ForkOptions() {
        argv0 = null;
        args = List.of();
        environment = null;
        directory = null;
        redirectInput = null;
        redirectOutput = null;
        redirectError = null;
        redirectErrorStream = false;
        passed = new TreeMap<>();
        lifetime = null;
        closeGrace = DEFAULT_CLOSE_GRACE;
        noNewPrivileges = false;
        newSession = false;
        uid = -1;
        gid = -1;
        umask = -1;
        pipeSize = 0;
        limits = Map.of();
        sandbox = null;
        ids = ids(uid, gid, umask, pipeSize);
        rlimits = new long[0];
        argv = block(List.of());
        envp = null;
        dir = null;
    }

    /** The ids as the native spawn reads them, laid out as {@link Abi}'s IDS_* name them. */
    private static int[] ids(int uid, int gid, int umask, int pipeSize) {
        int[] ids = new int[Abi.IDS_LENGTH];
        ids[Abi.IDS_UID] = uid;
        ids[Abi.IDS_GID] = gid;
        ids[Abi.IDS_UMASK] = Math.max(umask, 0);
        ids[Abi.IDS_PIPE_SIZE] = pipeSize;
        return ids;
    }

    private ForkOptions(Builder b) {
        this.argv0 = b.argv0 == null ? null : checkString(b.argv0, "argv0");
        List<String> a = new ArrayList<>(b.args.size());
        for (String s : b.args) {
            a.add(checkString(s, "argument"));
        }
        this.args = Collections.unmodifiableList(a);
        if (b.environment != null) {
            Map<String, String> env = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : b.environment.entrySet()) {
                env.put(checkName(e.getKey()), checkString(e.getValue(), "value of environment variable " + e.getKey()));
            }
            this.environment = Collections.unmodifiableMap(env);
        } else {
            this.environment = null;
        }
        this.directory = b.directory;
        this.redirectInput = b.redirectInput;
        this.redirectOutput = b.redirectOutput;
        this.redirectError = b.redirectError == null ? null : checkRedirect(b.redirectError);
        this.redirectErrorStream = b.redirectErrorStream;
        this.passed = new TreeMap<>(b.passed); // never modified, never handed out (the getters copy): no wrapper class to load
        this.lifetime = b.lifetime;
        this.closeGrace = b.closeGrace;
        this.noNewPrivileges = b.noNewPrivileges;
        this.newSession = b.newSession;
        this.uid = b.uid;
        this.gid = b.gid;
        this.umask = b.umask;
        this.pipeSize = b.pipeSize;
        this.limits = b.limits.isEmpty() ? Map.of() : Collections.unmodifiableMap(new EnumMap<>(b.limits));
        long[] nofile = limits.isEmpty() ? null : limits.get(Resource.OPEN_FILES); // no limits: Resource not even loaded
        if (nofile != null && nofile[0] != UNLIMITED && !passed.isEmpty() && passed.lastKey() >= nofile[0]) {
            throw new IllegalArgumentException("passFd: child fd " + passed.lastKey() + " is not below resourceLimit(OPEN_FILES)"
                    + " soft " + nofile[0] + ", which the child gets first");
        }
        this.sandbox = b.sandbox;
        this.ids = ids(uid, gid, umask, pipeSize);
        this.rlimits = new long[limits.size() * Abi.RLIMIT_FIELDS]; // at most Resource's 9 of Abi.RLIMITS_MAX
        int i = 0;
        for (Map.Entry<Resource, long[]> e : limits.entrySet()) {
            rlimits[i + Abi.RLIMIT_RESOURCE] = e.getKey().number;
            rlimits[i + Abi.RLIMIT_SOFT] = e.getValue()[0];
            rlimits[i + Abi.RLIMIT_HARD] = e.getValue()[1];
            i += Abi.RLIMIT_FIELDS;
        }

        List<String> all = new ArrayList<>(args.size() + 1);
        if (argv0 != null) {
            all.add(argv0);
        }
        all.addAll(args);
        this.argv = block(all);
        this.envp = environment == null ? null : block(entries(environment));
        this.dir = directory == null ? null : Umh.nulTerminated(directory.toString());
    }

    /** A new builder with every default: argv0 the blob's name, no arguments, the JVM's environment and directory, stdin and stdout piped, stderr inherited, no fds passed. */
    public static Builder builder() {
        return new Builder();
    }

    /** The options {@code builder().build()} gives (the same values, made without a Builder). */
    public static ForkOptions defaults() {
        return DEFAULTS;
    }

    /** A builder that starts from these options. */
    public Builder toBuilder() {
        Builder b = new Builder().args(args).redirectErrorStream(redirectErrorStream).lifetime(lifetime())
                .closeGrace(closeGrace).noNewPrivileges(noNewPrivileges).newSession(newSession);
        b.redirectInput = redirectInput;
        b.redirectOutput = redirectOutput;
        b.redirectError = redirectError;
        b.argv0 = argv0;
        b.passed.putAll(passed);
        b.uid = uid;
        b.gid = gid;
        b.umask = umask;
        b.pipeSize = pipeSize;
        b.limits = limits.isEmpty() ? Map.of() : new EnumMap<>(limits);
        b.environment = environment;
        b.directory = directory;
        b.sandbox = sandbox;
        return b;
    }

    /**
     * The child's argv[0] as set with {@link Builder#argv0}, or null when it is the blob's name
     * ({@link UsermodeBlob#name()}), the default.
     */
    public String argv0() {
        return argv0;
    }

    /** The child's argv block for a blob named {@code name} (NUL-terminated): argv0 or the name, then the arguments. */
    byte[] argv(byte[] name) {
        if (argv0 != null) {
            return argv;
        }
        byte[] b = new byte[name.length + argv.length];
        System.arraycopy(name, 0, b, 0, name.length);
        System.arraycopy(argv, 0, b, name.length, argv.length);
        return b;
    }

    /** How many strings {@link #argv(byte[])} holds: argv0 or the name, and the arguments. */
    int argc() {
        return args.size() + 1;
    }

    /** How many strings {@link #envp} holds, where it is not null. */
    int envc() {
        return environment.size();
    }

    /** argv[1..], unmodifiable. */
    public List<String> args() {
        return args;
    }

    /** The environment that replaces the JVM's, or empty when the child inherits the JVM's. */
    public Optional<Map<String, String>> environment() {
        return Optional.ofNullable(environment);
    }

    /** The child's working directory, or empty for the JVM's. */
    public Optional<Path> directory() {
        return Optional.ofNullable(directory);
    }

    /** Where the child's fd 0 comes from (default {@link Redirect#PIPE}: {@link UsermodeProcess#pipeToUmh()}). */
    public Redirect redirectInput() {
        return redirectInput != null ? redirectInput : Redirect.PIPE;
    }

    /** Where the child's fd 1 goes (default {@link Redirect#PIPE}: {@link UsermodeProcess#pipeFromUmh()}). */
    public Redirect redirectOutput() {
        return redirectOutput != null ? redirectOutput : Redirect.PIPE;
    }

    /** Where the child's fd 2 goes (default {@link Redirect#INHERIT}); ignored with {@link #redirectErrorStream()}. */
    public Redirect redirectError() {
        return redirectError != null ? redirectError : Redirect.INHERIT;
    }

    /**
     * Child fd {@code fd}'s (0, 1 or 2) redirect as set, or null for the default (a pipe for 0 and 1,
     * the JVM's fd 2 for 2): what the fork reads, without initialising {@link Redirect}.
     */
    Redirect redirect(int fd) {
        return fd == 0 ? redirectInput : fd == 1 ? redirectOutput : redirectError;
    }

    /** Whether the child's fd 2 is whatever its fd 1 is, as {@code 2>&1} (default false). */
    public boolean redirectErrorStream() {
        return redirectErrorStream;
    }

    /** The FileDescriptors passed to the child, by the fd number it gets each on (above 2); unmodifiable. */
    public SortedMap<Integer, FileDescriptor> passedFds() {
        return passedOf(FileDescriptor.class);
    }

    /** The files passed to the child read-only, by the fd number it gets each on (above 2); unmodifiable. */
    public SortedMap<Integer, Path> passedFiles() {
        return passedOf(Path.class);
    }

    private <T> SortedMap<Integer, T> passedOf(Class<T> type) {
        SortedMap<Integer, T> m = new TreeMap<>();
        passed.forEach((fd, v) -> {
            if (type.isInstance(v)) {
                m.put(fd, type.cast(v));
            }
        });
        return Collections.unmodifiableSortedMap(m);
    }

    /**
     * Whether the kernel SIGKILLs the child when this JVM dies, even by SIGKILL: true for
     * {@link Lifetime#DIES_WITH_JVM} (the default).
     */
    public boolean killOnParentDeath() {
        return lifetime == null || lifetime == Lifetime.DIES_WITH_JVM;
    }

    /** Who ends the helper when this JVM ends (default {@link Lifetime#DIES_WITH_JVM}). */
    public Lifetime lifetime() {
        return lifetime == null ? Lifetime.DIES_WITH_JVM : lifetime;
    }

    /** Whether the shutdown hook stops the helper at a normal end of the JVM: all but {@link Lifetime#OUTLIVES_JVM}. */
    boolean stoppedAtShutdown() {
        return lifetime == null || lifetime != Lifetime.OUTLIVES_JVM;
    }

    /** How long {@link UsermodeProcess#close()} waits for the helper to exit before it kills it (default 2 s). */
    public Duration closeGrace() {
        return closeGrace;
    }

    /** Whether the child runs with PR_SET_NO_NEW_PRIVS (default false). */
    public boolean noNewPrivileges() {
        return noNewPrivileges;
    }

    /** Whether the child starts a new session with setsid (default false). */
    public boolean newSession() {
        return newSession;
    }

    /** The child's uid, or empty to keep the JVM's. */
    public OptionalInt uid() {
        return uid < 0 ? OptionalInt.empty() : OptionalInt.of(uid);
    }

    /** The child's gid, or empty to keep the JVM's. */
    public OptionalInt gid() {
        return gid < 0 ? OptionalInt.empty() : OptionalInt.of(gid);
    }

    /** The child's umask, or empty to keep the JVM's. */
    public OptionalInt umask() {
        return umask < 0 ? OptionalInt.empty() : OptionalInt.of(umask);
    }

    /** The size asked for the child's pipes, or empty for the kernel's default (64 KiB on most systems). */
    public OptionalInt pipeSize() {
        return pipeSize == 0 ? OptionalInt.empty() : OptionalInt.of(pipeSize);
    }

    /** The resource limits set in the child: {soft, hard} per resource ({@link #UNLIMITED} for none). */
    public Map<Resource, long[]> resourceLimits() {
        Map<Resource, long[]> copy = new EnumMap<>(Resource.class);
        for (Map.Entry<Resource, long[]> e : limits.entrySet()) {
            copy.put(e.getKey(), e.getValue().clone());
        }
        return copy;
    }

    /** The sandbox the child runs in, or empty for none. */
    public Optional<SandboxPolicy> sandbox() {
        return Optional.ofNullable(sandbox);
    }

    /** The native spawn flags these options ask for. */
    int spawnFlags() {
        return (killOnParentDeath() ? Abi.SPAWN_PDEATHSIG : 0) | (noNewPrivileges || sandbox != null ? Abi.SPAWN_NO_NEW_PRIVS : 0)
                | (newSession ? Abi.SPAWN_SETSID : 0) | (umask >= 0 ? Abi.SPAWN_UMASK : 0)
                | (uid >= 0 ? Abi.SPAWN_USER : 0);
    }

    /**
     * What becomes of a helper when this JVM ends. A JVM ends normally at the end of main, at
     * {@code System.exit}, or on SIGTERM, SIGINT or SIGHUP: then its shutdown hooks run, umh's
     * among them. It dies abruptly on SIGKILL, a crash or the OOM killer: then no hook runs, and
     * only the kernel can act.
     */
    public enum Lifetime {
        /**
         * The default: at a normal end the shutdown hook stops the helper gracefully (EOF, SIGTERM,
         * then SIGKILL, within {@code -Dumh.shutdown.grace}); at an abrupt end the kernel SIGKILLs
         * it ({@code PR_SET_PDEATHSIG}). It never outlives the JVM. The clone is made on umh's
         * spawner thread, as that signal follows the thread that cloned the child.
         */
        DIES_WITH_JVM,
        /**
         * At a normal end the shutdown hook stops the helper as for {@link #DIES_WITH_JVM}; after
         * an abrupt end it keeps running (it is re-parented to init or the nearest subreaper).
         * What {@code killOnParentDeath(false)} gives. Cloned on the calling thread.
         */
        STOPPED_AT_SHUTDOWN,
        /**
         * Neither: the helper outlives the JVM however the JVM ends, and umh never stops it unless
         * asked ({@code close}, {@code stop}, {@code destroy}). Its pipes to the JVM close when the
         * JVM ends (a write to stdout then fails with EPIPE, a read of stdin sees EOF); it still
         * shares the JVM's process group and terminal unless {@link Builder#newSession}. Cloned
         * on the calling thread.
         */
        OUTLIVES_JVM
    }

    /** A resource limit's value meaning "no limit" (RLIM_INFINITY). */
    public static final long UNLIMITED = -1;

    /** Resources whose limits a child can be given with {@link Builder#resourceLimit}. */
    public enum Resource {
        /** RLIMIT_AS: address space, bytes. */
        ADDRESS_SPACE(Abi.RLIMIT_AS),
        /** RLIMIT_CPU: CPU time, seconds (SIGXCPU at the soft limit, SIGKILL at the hard). */
        CPU_SECONDS(Abi.RLIMIT_CPU),
        /** RLIMIT_NOFILE: one more than the highest fd number it may open. */
        OPEN_FILES(Abi.RLIMIT_NOFILE),
        /** RLIMIT_NPROC: processes (threads) of its real uid. */
        PROCESSES(Abi.RLIMIT_NPROC),
        /** RLIMIT_CORE: core dump size, bytes (0: none). */
        CORE_SIZE(Abi.RLIMIT_CORE),
        /** RLIMIT_FSIZE: the largest file it may write, bytes. */
        FILE_SIZE(Abi.RLIMIT_FSIZE),
        /** RLIMIT_DATA: data segment and heap, bytes. */
        DATA(Abi.RLIMIT_DATA),
        /** RLIMIT_STACK: stack, bytes. */
        STACK(Abi.RLIMIT_STACK),
        /** RLIMIT_MEMLOCK: locked memory, bytes. */
        LOCKED_MEMORY(Abi.RLIMIT_MEMLOCK);

        /** RLIMIT_*'s number (the same on every CPU umh is built for; umh_jni.c asserts it). */
        final int number;

        Resource(int number) {
            this.number = number;
        }
    }

    private static List<String> entries(Map<String, String> env) {
        List<String> list = new ArrayList<>(env.size());
        for (Map.Entry<String, String> e : env.entrySet()) { // a loop, not a lambda: see ColdStartTest
            list.add(e.getKey() + "=" + e.getValue());
        }
        return list;
    }

    private static String checkString(String s, String what) {
        Objects.requireNonNull(s, what);
        if (s.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + " contains a NUL character: " + s.replace('\0', '?'));
        }
        return s;
    }

    private static String checkName(String name) {
        checkString(name, "environment variable name");
        if (name.isEmpty() || name.indexOf('=') >= 0) {
            throw new IllegalArgumentException("environment variable name is empty or contains '=': " + name);
        }
        return name;
    }

    private static Redirect checkRedirect(Redirect r) {
        Objects.requireNonNull(r, "redirectError");
        if (r.type() == Redirect.Type.READ) {
            throw new IllegalArgumentException("redirectError cannot read from a file: " + r);
        }
        return r;
    }

    /** Collects options; {@link #build()} validates them and throws on the first bad one. */
    public static final class Builder {
        private String argv0; // null: the blob's name
        private List<String> args = List.of();
        private Map<String, String> environment;
        private Path directory;
        private Redirect redirectInput; // null: the default (see ForkOptions' fields)
        private Redirect redirectOutput;
        private Redirect redirectError;
        private boolean redirectErrorStream;
        private final SortedMap<Integer, Object> passed = new TreeMap<>();
        private Lifetime lifetime; // null: DIES_WITH_JVM (see ForkOptions.lifetime)
        private Duration closeGrace = DEFAULT_CLOSE_GRACE;
        private boolean noNewPrivileges;
        private boolean newSession;
        private int uid = -1;
        private int gid = -1;
        private int umask = -1;
        private int pipeSize;
        // an EnumMap from the first limit on: making one reflects on Resource.values(), which the defaults need not pay
        private Map<Resource, long[]> limits = Map.of();
        private SandboxPolicy sandbox;

        private Builder() {}

        /**
         * argv[0]; default: the blob's name ({@link UsermodeBlob#name()}), as a shell gives a
         * program the name it was run by: busybox picks its applet by it, Python derives
         * {@code sys.executable} from it.
         */
        public Builder argv0(String argv0) {
            this.argv0 = Objects.requireNonNull(argv0, "argv0");
            return this;
        }

        /** argv[1..]. */
        public Builder args(String... args) {
            return args(List.of(Objects.requireNonNull(args, "args").clone()));
        }

        /** argv[1..]. */
        public Builder args(List<String> args) {
            Objects.requireNonNull(args, "args");
            this.args = new ArrayList<>(args);
            return this;
        }

        /**
         * Replaces the environment; default: the JVM's, as ProcessBuilder passes it: the process's
         * {@code environ} at the fork (what {@link System#getenv()} shows, unless native code has called setenv).
         */
        public Builder environment(Map<String, String> environment) {
            this.environment = new LinkedHashMap<>(Objects.requireNonNull(environment, "environment"));
            return this;
        }

        /** The child's working directory; default: the JVM's. */
        public Builder directory(Path directory) {
            this.directory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /**
         * Where the child's fd 0 comes from, as {@link ProcessBuilder#redirectInput(Redirect)}: PIPE
         * (default: {@link UsermodeProcess#pipeToUmh()}), INHERIT (the JVM's stdin) or
         * {@code from(file)}, opened by the JVM at each fork (a sandboxed helper needs no access to
         * it). Any but PIPE makes {@link Process#getOutputStream()} a null stream, as
         * ProcessBuilder's: every write throws {@code IOException("Stream closed")}; and
         * {@link UsermodeProcess#pipeToUmh()} throws IllegalStateException.
         *
         * @throws IllegalArgumentException for a redirect to write to ({@code to}, {@code appendTo}, DISCARD)
         */
        public Builder redirectInput(Redirect source) {
            Objects.requireNonNull(source, "redirectInput");
            if (source.type() == Redirect.Type.WRITE || source.type() == Redirect.Type.APPEND) {
                throw new IllegalArgumentException("redirectInput: Redirect invalid for reading: " + source);
            }
            this.redirectInput = source;
            return this;
        }

        /**
         * Where the child's fd 1 goes, as {@link ProcessBuilder#redirectOutput(Redirect)}: PIPE
         * (default: {@link UsermodeProcess#pipeFromUmh()}), INHERIT, DISCARD, {@code to(file)} or
         * {@code appendTo(file)}, opened by the JVM at each fork. Any but PIPE makes
         * {@link Process#getInputStream()} a null stream, as ProcessBuilder's: it reads EOF; and
         * {@link UsermodeProcess#pipeFromUmh()} throws IllegalStateException.
         *
         * @throws IllegalArgumentException for a redirect to read from ({@code from(file)})
         */
        public Builder redirectOutput(Redirect destination) {
            Objects.requireNonNull(destination, "redirectOutput");
            if (destination.type() == Redirect.Type.READ) {
                throw new IllegalArgumentException("redirectOutput: Redirect invalid for writing: " + destination);
            }
            this.redirectOutput = destination;
            return this;
        }

        /**
         * With true, the child's fd 2 is a copy of its fd 1, whatever that is (a pipe, a file, the
         * JVM's stdout), as {@link ProcessBuilder#redirectErrorStream(boolean)}: {@link #redirectError}
         * is then ignored and {@link Process#getErrorStream()} is a null stream.
         */
        public Builder redirectErrorStream(boolean merge) {
            this.redirectErrorStream = merge;
            return this;
        }

        /** INHERIT for fds 0, 1 and 2, as {@link ProcessBuilder#inheritIO()}. */
        public Builder inheritIO() {
            return redirectInput(Redirect.INHERIT).redirectOutput(Redirect.INHERIT).redirectError(Redirect.INHERIT);
        }

        /**
         * Gives the child {@code fd} as its fd {@code childFd} (3 or above; 0-2 are the redirects),
         * e.g. an open file, a socket or a pipe end ({@link java.io.FileInputStream#getFD()}): what a
         * sandboxed helper with no file system reads its input from. The child gets a copy (its own
         * fd, not close-on-exec, sharing the open file and its offset); {@code fd} stays the
         * caller's, and must stay open until each fork with these options has returned. The child
         * has no other fd above 2. At most 64 fds.
         *
         * @throws IllegalArgumentException for a {@code childFd} below 3 or given twice, or an
         *         {@code fd} that is not valid (closed)
         */
        public Builder passFd(int childFd, FileDescriptor fd) {
            Objects.requireNonNull(fd, "passFd " + childFd);
            if (!fd.valid()) {
                throw new IllegalArgumentException("passFd " + childFd + ": the FileDescriptor is not valid (closed?)");
            }
            return pass(childFd, fd);
        }

        /**
         * Gives the child {@code file}, opened read-only by the JVM at each fork, as its fd
         * {@code childFd} (3 or above), as {@link #passFd(int, FileDescriptor)}: a sandboxed helper
         * reads it without any access to the file system. The fork fails with a
         * FileNotFoundException naming the file if it cannot be opened.
         */
        public Builder passFd(int childFd, Path file) {
            return pass(childFd, Objects.requireNonNull(file, "passFd " + childFd));
        }

        private Builder pass(int childFd, Object source) {
            if (childFd < 3) {
                throw new IllegalArgumentException("passFd: child fd " + childFd + " is not 3 or above (0, 1 and 2 are"
                        + " redirectInput, redirectOutput and redirectError)");
            }
            if (passed.containsKey(childFd)) {
                throw new IllegalArgumentException("passFd: child fd " + childFd + " is given twice");
            }
            if (passed.size() == Abi.PASS_MAX) {
                throw new IllegalArgumentException("passFd: at most " + Abi.PASS_MAX + " fds, child fd " + childFd + " is one more");
            }
            passed.put(childFd, source);
            return this;
        }

        /**
         * Where the child's fd 2 goes: INHERIT (default), PIPE (readable through
         * {@link Process#getErrorStream()}), DISCARD, {@code to(file)} or {@code appendTo(file)}.
         */
        public Builder redirectError(Redirect redirect) {
            this.redirectError = Objects.requireNonNull(redirect, "redirectError");
            return this;
        }

        /**
         * Whether the kernel SIGKILLs the child when this JVM dies, even by SIGKILL (default true:
         * {@code PR_SET_PDEATHSIG}). That signal follows the thread that cloned the child, so umh
         * clones such children on one long-lived library thread. With {@code false} the child
         * outlives a JVM that is killed, and is cloned on the calling thread, saving that hand-off;
         * but the shutdown hook still stops it at a normal JVM exit. The same as
         * {@code lifetime(kill ? DIES_WITH_JVM : STOPPED_AT_SHUTDOWN)}; for a helper that
         * outlives the JVM in every case, {@link Lifetime#OUTLIVES_JVM}.
         */
        public Builder killOnParentDeath(boolean kill) {
            return lifetime(kill ? Lifetime.DIES_WITH_JVM : Lifetime.STOPPED_AT_SHUTDOWN);
        }

        /** What becomes of the helper when this JVM ends: see {@link Lifetime} (default {@link Lifetime#DIES_WITH_JVM}). */
        public Builder lifetime(Lifetime lifetime) {
            this.lifetime = Objects.requireNonNull(lifetime, "lifetime");
            return this;
        }

        /**
         * How long {@link UsermodeProcess#close()} waits, after closing the helper's streams (EOF
         * on its stdin), for it to exit by itself before it SIGKILLs it; default 2 s.
         * {@link Duration#ZERO} kills a helper still running at once, without waiting.
         *
         * @throws IllegalArgumentException if {@code grace} is negative
         */
        public Builder closeGrace(Duration grace) {
            Objects.requireNonNull(grace, "closeGrace");
            if (grace.isNegative()) {
                throw new IllegalArgumentException("closeGrace is negative: " + grace);
            }
            this.closeGrace = grace;
            return this;
        }

        /** PR_SET_NO_NEW_PRIVS in the child: neither it nor anything it execs can gain privileges (setuid bits, file caps). */
        public Builder noNewPrivileges(boolean on) {
            this.noNewPrivileges = on;
            return this;
        }

        /** setsid in the child: a new session and process group, no controlling terminal. */
        public Builder newSession(boolean on) {
            this.newSession = on;
            return this;
        }

        /**
         * Runs the child as {@code uid}/{@code gid} with no supplementary groups (for a JVM running
         * as root). The change happens before the exec, in the child only.
         */
        public Builder user(int uid, int gid) {
            if (uid < 0 || gid < 0) {
                throw new IllegalArgumentException("user: uid and gid must be >= 0, not " + uid + "/" + gid);
            }
            this.uid = uid;
            this.gid = gid;
            return this;
        }

        /** The child's umask, 0 to 0777. */
        public Builder umask(int mask) {
            if (mask < 0 || mask > 0777) {
                throw new IllegalArgumentException("umask must be within 0 and 0777, not 0" + Integer.toOctalString(mask));
            }
            this.umask = mask;
            return this;
        }

        /**
         * The capacity of the child's pipes in bytes ({@code F_SETPIPE_SZ}; the kernel rounds it up
         * to a power of two pages). A larger pipe moves bulk data with fewer wake-ups on both sides.
         * Above {@code /proc/sys/fs/pipe-max-size} (1 MiB by default) the fork fails with EPERM
         * unless the JVM has CAP_SYS_RESOURCE.
         */
        public Builder pipeSize(int bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("pipeSize must be > 0 bytes, not " + bytes);
            }
            this.pipeSize = bytes;
            return this;
        }

        /** A resource limit for the child ({@link ForkOptions#UNLIMITED} for none); soft must not exceed hard. */
        public Builder resourceLimit(Resource resource, long soft, long hard) {
            Objects.requireNonNull(resource, "resource");
            if (soft < UNLIMITED || hard < UNLIMITED || (hard != UNLIMITED && (soft == UNLIMITED || soft > hard))) {
                throw new IllegalArgumentException("resourceLimit " + resource + ": soft " + soft
                        + " must be within 0 and hard " + hard + " (-1: unlimited)");
            }
            if (limits.isEmpty()) {
                limits = new EnumMap<>(Resource.class);
            }
            limits.put(resource, new long[] {soft, hard});
            return this;
        }

        /** Validates and builds: IllegalArgumentException for NUL characters, '=' in names, reading redirects. */
        /** Runs the child in {@code policy}'s sandbox (null: none, the default). */
        public Builder sandbox(SandboxPolicy policy) {
            this.sandbox = policy;
            return this;
        }

        public ForkOptions build() {
            return new ForkOptions(this);
        }
    }
}
