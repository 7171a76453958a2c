package io.umh.service;

import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import io.umh.internal.Watchdog;

/**
 * The async calls of a service or a pool that wait for a helper to take them: each is placed again
 * when its owner moves on ({@link #placeAll}), or failed at its deadline by the shared timer,
 * whichever comes first. Guarded by the owner's monitor: {@link #add} is called holding it.
 */
final class WaitingCalls {
    /** A waiting call, as its owner sees it. */
    interface Call {
        Deadline deadline();

        CompletableFuture<byte[]> result();

        /** Sends the call, or waits again, or fails it; called off the owner's lock. */
        void place();

        /** Why no helper took it in time; called holding the owner's lock. */
        InterruptedIOException expired();
    }

    private final Object owner;
    private final Map<Call, Watchdog> calls = new LinkedHashMap<>(); // guarded by owner; identity keys

    WaitingCalls(Object owner) {
        this.owner = owner;
    }

    /** Makes {@code call} wait, until {@link #placeAll} or its deadline; the caller holds the owner's monitor. */
    void add(Call call) {
        calls.put(call, Watchdog.start(call.deadline().left(), () -> expire(call)));
    }

    /** The deadline passed while waiting: fails the call as the sync call fails, unless it was placed first. */
    private void expire(Call call) {
        InterruptedIOException e;
        synchronized (owner) {
            if (calls.remove(call) == null) {
                return;
            }
            e = call.expired();
        }
        call.result().completeExceptionally(e);
    }

    /** Places again every waiting call (each sent, waiting again, or failed), off the owner's lock. */
    void placeAll() {
        List<Call> taken;
        List<Watchdog> timers;
        synchronized (owner) {
            taken = new ArrayList<>(calls.keySet());
            timers = new ArrayList<>(calls.values());
            calls.clear();
        }
        for (int i = 0; i < taken.size(); i++) {
            timers.get(i).cancel();
            if (!taken.get(i).result().isDone()) { // not cancelled meanwhile
                taken.get(i).place();
            }
        }
    }
}
