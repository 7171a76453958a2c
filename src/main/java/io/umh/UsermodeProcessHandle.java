package io.umh;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
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

    @Override
    public Info info() {
        return live().map(ProcessHandle::info).orElseGet(() -> ProcessHandle.current().info());
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

    @Override
    public int compareTo(ProcessHandle other) {
        return Long.compare(pid(), other.pid());
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
