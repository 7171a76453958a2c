package io.umh;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Timespan;

/**
 * JDK Flight Recorder events: {@code io.umh.Fork} per fork (blob size, pid, outcome; its duration is
 * the spawn's) and {@code io.umh.Exit} per reaped helper (pid, exit status, lifetime). Off unless a
 * recording enables them. Nothing here is loaded, this class included, unless the jdk.jfr module
 * is there and Flight Recorder has been initialized (a recording started, now or earlier):
 * {@link UsermodeBlob#recording()} guards every use. Loading the first event class sets up JFR's
 * event machinery, ~170 ms of a JVM's first fork measured here with no recording running.
 */
final class Events {
    private Events() {}

    @Name("io.umh.Fork")
    @Label("umh Fork")
    @Category("umh")
    @Description("A usermode helper forked from a loaded blob")
    static final class Fork extends Event {
        @Label("Blob Size")
        @DataAmount(DataAmount.BYTES)
        long blobSize;

        @Label("PID")
        long pid;

        @Label("Outcome")
        String outcome;
    }

    @Name("io.umh.Exit")
    @Label("umh Exit")
    @Category("umh")
    @Description("A usermode helper exited and was reaped")
    static final class Exit extends Event {
        @Label("PID")
        long pid;

        @Label("Exit Status")
        int exitStatus;

        @Label("Lifetime")
        @Timespan(Timespan.NANOSECONDS)
        long lifetime;

        @Label("Sandbox Violation")
        @Description("The system call the sandbox stopped the helper for, or null")
        String violation;

        @Label("OOM Killed")
        @Description("Killed by the OOM killer in its own cgroup, past its sandbox's memoryMax")
        boolean oomKilled;
    }

    /** A started Fork event, or null when the event is off. */
    static Object forkBegin() {
        Fork e = new Fork();
        if (!e.isEnabled()) {
            return null;
        }
        e.begin();
        return e;
    }

    /** Ends {@code event}, forkBegin's (never null: its callers call this only for one). */
    static void forkEnd(Object event, long blobSize, long pid, Throwable failure) {
        Fork e = (Fork) event;
        e.blobSize = blobSize;
        e.pid = pid;
        e.outcome = failure == null ? "ok" : failure.toString();
        e.commit();
    }

    static void exit(long pid, int status, long lifetimeNanos, String violation, boolean oomKilled) {
        Exit e = new Exit();
        if (e.isEnabled()) {
            e.pid = pid;
            e.exitStatus = status;
            e.lifetime = lifetimeNanos;
            e.violation = violation;
            e.oomKilled = oomKilled;
            e.commit();
        }
    }
}
