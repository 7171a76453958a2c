package io.umh.internal;

import java.io.IOException;

/**
 * A fork that failed for a reason the next fork of the same blob with the same options would meet
 * again: bytes that are no program (ENOEXEC), a missing {@code #!} interpreter or ELF loader
 * (ENOENT at exec), an exec the memfd refuses (EACCES), a sandbox that cannot be enforced here
 * (Enforcement.REQUIRED) or options that cannot work together. Thrown by {@code io.umh}'s fork
 * with the message any fork failure has; a {@code UsermodeService} fails at once on it, where
 * another failure would be retried with backoff.
 */
public final class PermanentForkFailure extends IOException {
    private static final long serialVersionUID = 1L;

    public PermanentForkFailure(String message) {
        super(message);
    }
}
