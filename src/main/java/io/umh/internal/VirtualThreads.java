package io.umh.internal;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Thread.isVirtual() where the JDK has it (21+), through a method handle: umh is built for 17. The
 * core asks it before a direct wait on a child; the channel before a thread reads its own reply (a
 * virtual thread must never wait in read(2)).
 */
public final class VirtualThreads {
    private static final MethodHandle IS_VIRTUAL = find();

    private VirtualThreads() {}

    private static MethodHandle find() {
        if (Runtime.version().feature() < 21) {
            return null; // no virtual threads; and no failed lookup (an exception and the method handle machinery) on a first fork
        }
        try {
            return MethodHandles.publicLookup().findVirtual(Thread.class, "isVirtual", MethodType.methodType(boolean.class));
        } catch (NoSuchMethodException | IllegalAccessException e) {
            return null; // before 21: no virtual threads
        }
    }

    /** Whether the calling thread is a virtual thread. */
    public static boolean current() {
        if (IS_VIRTUAL == null) {
            return false;
        }
        try {
            return (boolean) IS_VIRTUAL.invokeExact(Thread.currentThread());
        } catch (Throwable e) {
            throw new AssertionError(e); // Thread.isVirtual() throws nothing
        }
    }
}
