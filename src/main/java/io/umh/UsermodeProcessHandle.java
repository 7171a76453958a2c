package io.umh;

import java.io.FileInputStream;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * A ProcessHandle that acts through its UsermodeProcess: destroy goes through the pidfd and
 * onExit through umh's reaper, never by bare pid. Information about the live process (info,
 * children) comes from the JDK's handle for the pid while the child has not been reaped.
 */
final class UsermodeProcessHandle implements ProcessHandle {
    private final UsermodeProcess process;

    UsermodeProcessHandle(UsermodeProcess process) {
        this.process = process;
    }

    private Optional<ProcessHandle> live() {
        return process.isAlive() ? ProcessHandle.of(process.pid()) : Optional.empty();
    }

    @Override
    public long pid() {
        return process.pid();
    }

    @Override
    public Optional<ProcessHandle> parent() {
        return process.isAlive() ? Optional.of(ProcessHandle.current()) : Optional.empty();
    }

    @Override
    public Stream<ProcessHandle> children() {
        return live().map(ProcessHandle::children).orElseGet(Stream::empty);
    }

    @Override
    public Stream<ProcessHandle> descendants() {
        return live().map(ProcessHandle::descendants).orElseGet(Stream::empty);
    }

    /**
     * The live child's info from the JDK's handle for its pid; an exited child's is empty, never the
     * JVM's own. Taken once the exec has finished: see {@link #awaitArgv()}.
     */
    @Override
    public Info info() {
        awaitArgv();
        return live().map(ProcessHandle::info).orElse(EmptyInfo.INSTANCE);
    }

    /**
     * Waits, up to a second, until the kernel has put the child's new argv in place. fork returns
     * when the exec has replaced the child's memory (the vfork wakes its parent there), and the
     * kernel sets the new argv a little later, at the end of loading the ELF: until then
     * /proc/PID/cmdline is empty and the JDK's info() has no arguments (measured: 0.3 ms median,
     * up to 8 ms on a loaded machine). ProcessBuilder's start returns later and never shows that.
     * After the exec, cmdline is empty only while an exited child waits for the reaper, which
     * ends the wait too. An interrupt ends it at once, the flag kept.
     */
    private void awaitArgv() {
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (process.isAlive() && argvPending() && System.nanoTime() - deadline < 0
                && !Thread.currentThread().isInterrupted()) {
            LockSupport.parkNanos(50_000);
        }
    }

    private boolean argvPending() {
        try (FileInputStream cmdline = new FileInputStream("/proc/" + process.pid() + "/cmdline")) {
            return cmdline.read() < 0;
        } catch (IOException gone) {
            return false;
        }
    }

    /** What the JDK's handle of a process that has gone reports: nothing. */
    private static final class EmptyInfo implements Info {
        static final EmptyInfo INSTANCE = new EmptyInfo();

        @Override
        public Optional<String> command() {
            return Optional.empty();
        }

        @Override
        public Optional<String> commandLine() {
            return Optional.empty();
        }

        @Override
        public Optional<String[]> arguments() {
            return Optional.empty();
        }

        @Override
        public Optional<java.time.Instant> startInstant() {
            return Optional.empty();
        }

        @Override
        public Optional<java.time.Duration> totalCpuDuration() {
            return Optional.empty();
        }

        @Override
        public Optional<String> user() {
            return Optional.empty();
        }

        @Override
        public String toString() {
            return "[]";
        }
    }

    @Override
    public CompletableFuture<ProcessHandle> onExit() {
        return process.exitFuture().handleAsync((s, t) -> this);
    }

    @Override
    public boolean supportsNormalTermination() {
        return true;
    }

    @Override
    public boolean destroy() {
        return process.terminate();
    }

    @Override
    public boolean destroyForcibly() {
        return process.signal(Abi.SIGKILL);
    }

    @Override
    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * By pid, as the JDK's handles compare, and 0 only for the same child (consistent with equals);
     * ClassCastException for a handle of another implementation, as ProcessHandle's Javadoc says.
     */
    @Override
    public int compareTo(ProcessHandle other) {
        UsermodeProcessHandle o = (UsermodeProcessHandle) other;
        int c = Long.compare(pid(), o.pid());
        return c != 0 ? c : Long.compare(process.serial, o.process.serial); // a pid reused by a later child
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UsermodeProcessHandle && ((UsermodeProcessHandle) o).process == process;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(pid());
    }

    @Override
    public String toString() {
        return Long.toString(pid());
    }
}
