package io.umh;

/** The sandbox stopped a helper: the system call it made that the policy does not allow. */
public final class SandboxViolation {
    private final String syscall;
    private final String detail;

    SandboxViolation(String syscall, String detail) {
        this.syscall = syscall;
        this.detail = detail;
    }

    /** The call by name, e.g. {@code "socket"}; {@code "unknown"} where the kernel did not say which (see {@link #detail}). */
    public String syscall() {
        return syscall;
    }

    /** How the violation was seen, and why the name is unknown where it is. */
    public String detail() {
        return detail;
    }

    @Override
    public String toString() {
        return "SandboxViolation[" + syscall + ": " + detail + "]";
    }
}
