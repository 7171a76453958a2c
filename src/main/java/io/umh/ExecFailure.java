package io.umh;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import io.umh.internal.PermanentForkFailure;

/**
 * Why an exec failed, in words, from the blob's bytes ({@link BlobInfo}), the options and the
 * system: the detail {@link Spawn} appends to {@code "fork: execveat failed: ENOEXEC (...)"}, and
 * the exception of any failed spawn ({@link #forkFailed}). Runs only after a failure, so it may read
 * /proc and stat files.
 */
final class ExecFailure {
    /** The floor of the kernel's limit on argv + envp (include/uapi/linux/limits.h ARG_MAX). */
    private static final long ARG_MAX = 128 * 1024;
    /** Its ceiling: three quarters of _STK_LIM's 8 MiB (fs/exec.c, bprm_stack_limits). */
    private static final long ARG_CEILING = 6L << 20;
    /** auxv's AT_PAGESZ. */
    private static final long AT_PAGESZ = 6;

    private ExecFailure() {}

    /**
     * The exception for a spawn that failed with {@code rc}: a PermanentForkFailure where it would
     * recur on every fork ({@link #permanent}), an IOException otherwise, its message naming the
     * step, the errno and what of the options or the blob it concerns. Here, not in Spawn, so that
     * a first fork that works loads neither this class nor PermanentForkFailure.
     */
    static IOException forkFailed(int rc, BlobInfo blob, ForkOptions o, byte[] argv, Cgroup cgroup) {
        String why = Native.message("fork", rc, failureDetail(rc, blob, o, argv, cgroup));
        return permanent(rc) ? new PermanentForkFailure(why) : new IOException(why);
    }

    /** ": why", or "" when nothing is known beyond the errno. */
    static String explain(int errno, BlobInfo blob, ForkOptions o, byte[] argv) {
        String why = null;
        if (errno == Abi.ENOEXEC) {
            why = blob.foreignCpu();
            if (why == null) {
                why = blob.notAProgram();
            }
        } else if (errno == Abi.ENOENT) {
            why = blob.missingInterpreter(o.directory().orElse(null), o.sandbox().isPresent());
        } else if (errno == Abi.E2BIG) {
            why = tooBig(o, argv);
        }
        return why == null ? "" : ": " + why;
    }

    /** Which of the kernel's two limits argv and envp broke (fs/exec.c: one string, or all with their pointers), with the sizes. */
    static String tooBig(ForkOptions o, byte[] argv) {
        byte[] envp = o.environmentBlock();
        long maxString = 32 * pageSize(); // MAX_ARG_STRLEN, the NUL included
        String one = longest(argv, false, maxString);
        if (one == null) {
            one = longest(envp, true, maxString);
        }
        if (one != null) {
            return one + " bytes with its NUL, over the kernel's limit of " + maxString + " for one string (MAX_ARG_STRLEN)";
        }
        long stack = stackLimit(o);
        long limit = Math.max(Math.min(ARG_CEILING, stack < 0 ? Long.MAX_VALUE : stack / 4), ARG_MAX);
        long strings = argv.length + envp.length;
        int argc = ForkOptions.count(argv), envc = ForkOptions.count(envp);
        long pointers = (long) (argc + envc) * Long.BYTES;
        String why = limit == ARG_MAX ? "its floor, ARG_MAX" : limit == ARG_CEILING ? "its ceiling, 3/4 of 8 MiB"
                : "a quarter of the stack limit, RLIMIT_STACK " + stack + " bytes";
        return "argv and the environment take " + (strings + pointers) + " bytes (" + plural(argc, "argument") + " and "
                + plural(envc, "variable") + ": " + strings + " bytes of strings, " + pointers + " of pointers), over the"
                + " kernel's limit of " + limit + " bytes here (" + why + "; getconf ARG_MAX)";
    }

    private static String plural(int n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    /** "argv[i] is N" or "environment variable NAME is N" for the first string of block {@code b} over {@code max} bytes, or null. */
    private static String longest(byte[] b, boolean environment, long max) {
        for (int i = 0, from = 0; from < b.length; i++) {
            int nul = from;
            while (b[nul] != 0) {
                nul++;
            }
            if (nul + 1 - from > max) {
                int eq = from;
                while (environment && eq < nul && b[eq] != '=') {
                    eq++;
                }
                return (environment ? "environment variable " + new String(b, from, Math.min(eq - from, 64), Umh.JNU)
                        : "argv[" + i + "]") + " is " + (nul + 1 - from);
            }
            from = nul + 1;
        }
        return null;
    }

    /** The child's soft RLIMIT_STACK: the one the options give, else this JVM's (which it inherits); -1 for none. */
    private static long stackLimit(ForkOptions o) {
        long[] given = o.resourceLimits().get(ForkOptions.Resource.STACK);
        if (given != null) {
            return given[0];
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max stack size")) {
                    String soft = line.substring("Max stack size".length()).trim().split("\\s+")[0];
                    return soft.equals("unlimited") ? -1 : Long.parseLong(soft);
                }
            }
        } catch (IOException | RuntimeException e) {
            // no /proc: the kernel's default
        }
        return 8L << 20;
    }

    /** This system's page size, from the auxiliary vector (4096 without /proc). */
    private static long pageSize() {
        try {
            ByteBuffer auxv = ByteBuffer.wrap(Files.readAllBytes(Path.of("/proc/self/auxv"))).order(ByteOrder.nativeOrder());
            while (auxv.remaining() >= 16) {
                long type = auxv.getLong();
                long value = auxv.getLong();
                if (type == AT_PAGESZ) {
                    return value;
                }
            }
        } catch (IOException e) {
            // no /proc
        }
        return 4096;
    }

    /**
     * Whether a failure would recur on every fork of this blob with these options: an exec that
     * found no program (ENOEXEC), no interpreter or loader (ENOENT) or a memfd it may not run
     * (EACCES). Whatever else failed (a resource, a limit, a directory) may be there next time.
     */
    private static boolean permanent(int rc) {
        Step step = Native.step(rc);
        int errno = Native.errno(rc);
        return (step == Step.CHILD_EXECVEAT || step == Step.CHILD_EXECVE)
                && (errno == Abi.ENOEXEC || errno == Abi.ENOENT || errno == Abi.EACCES);
    }

    /** What of the options (or, for an exec, of the blob and the system) a failed step concerns, for the exception's message. */
    private static String failureDetail(int rc, BlobInfo blob, ForkOptions o, byte[] argv, Cgroup cgroup) {
        switch (Native.step(rc)) {
            case CHILD_EXECVEAT:
            case CHILD_EXECVE:
                return explain(Native.errno(rc), blob, o, argv);
            case CLONE3:
                return cgroup == null ? "" : ": starting the helper in cgroup " + cgroup.path + " (CLONE_INTO_CGROUP)";
            case CHILD_CHDIR:
                return ": directory " + o.directory().orElseThrow();
            case SETPIPE_SZ:
                return ": pipeSize " + o.pipeSize().orElseThrow();
            case DUP:
            case CHILD_MOVE_FD:
            case CHILD_DUP3:
            case CHILD_CLEAR_CLOEXEC:
                return o.passed.isEmpty() ? "" : ": passFd " + o.passed.keySet();
            default:
                return "";
        }
    }
}
