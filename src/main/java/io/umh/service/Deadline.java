package io.umh.service;

import java.time.Duration;

import io.umh.internal.Watchdog;

/**
 * A call's own time limit, from when the call began: what a service or a pool call spends
 * waiting for a helper and what is left for the channel. Null timeout: no limit.
 */
final class Deadline {
    private final Duration timeout; // null: none
    private final long start = System.nanoTime();

    private Deadline(Duration timeout) {
        this.timeout = timeout;
    }

    /** A deadline {@code timeout} from now; null for none. */
    static Deadline after(Duration timeout) {
        return new Deadline(Watchdog.checkTimeout(timeout, "timeout"));
    }

    /** The nanoseconds left: 0 or less once passed, Long.MAX_VALUE without a limit. */
    long nanosLeft() {
        return timeout == null ? Long.MAX_VALUE : Watchdog.nanos(timeout) - (System.nanoTime() - start);
    }

    /** What is left, for a channel call: null without a limit, at least a nanosecond (the channel wants a positive one). */
    Duration left() {
        return timeout == null ? null : Duration.ofNanos(Math.max(1, nanosLeft()));
    }

    /** The whole timeout, for messages. */
    Duration timeout() {
        return timeout;
    }
}
