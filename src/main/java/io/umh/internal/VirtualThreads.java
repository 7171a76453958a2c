package io.umh.internal;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Thread.isVirtual() where the JDK has it (21+): umh is built for 17. The core asks it before a
 * direct wait on a child; the channel before a thread reads its own reply (a virtual thread must
 * never wait in read(2)).
 *
 * <p>Asked as Thread.isVirtual() itself answers it, {@code instanceof java.lang.BaseVirtualThread}
 * (the sealed base of both of the JDK's virtual thread classes, 21 to 25), through
 * {@link Class#isInstance}: a method handle on isVirtual() spun two LambdaForm classes, ~4.7 ms of a
 * fresh JDK 25's first fork. A JDK without that class gets the method handle.
 */
public final class VirtualThreads {
    /** Before 21 no virtual threads, and no lookup at all (a failed one throws, on a first fork). */
    private static final boolean VIRTUAL_THREADS = Runtime.version().feature() >= 21;
    private static final Class<?> BASE = VIRTUAL_THREADS ? base() : null;

    private VirtualThreads() {}

    private static Class<?> base() {
        try {
            Class<?> c = Class.forName("java.lang.BaseVirtualThread", false, null);
            return Thread.class.isAssignableFrom(c) ? c : null;
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }

    /** Whether the calling thread is a virtual thread. */
    public static boolean current() {
        return is(Thread.currentThread());
    }

    /** Whether {@code t} is a virtual thread. */
    public static boolean is(Thread t) {
        if (BASE != null) {
            return BASE.isInstance(t);
        }
        return VIRTUAL_THREADS && ByMethodHandle.is(t);
    }

    /**
     * The method handle, for a JDK 21+ without BaseVirtualThread: a class of its own, so that no
     * other JDK verifies (and loads the exceptions of) this code on a first fork.
     */
    private static final class ByMethodHandle {
        private static final MethodHandle IS_VIRTUAL = find();

        private static MethodHandle find() {
            try {
                return MethodHandles.publicLookup().findVirtual(Thread.class, "isVirtual", MethodType.methodType(boolean.class));
            } catch (NoSuchMethodException | IllegalAccessException e) {
                return null;
            }
        }

        static boolean is(Thread t) {
            if (IS_VIRTUAL == null) {
                return false;
            }
            try {
                return (boolean) IS_VIRTUAL.invokeExact(t);
            } catch (Throwable e) {
                throw new AssertionError(e); // Thread.isVirtual() throws nothing
            }
        }
    }
}
