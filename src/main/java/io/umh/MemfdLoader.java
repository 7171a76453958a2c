package io.umh;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Array;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Optional;

/**
 * Loads libumh.so from a memfd, so that no file is written and a noexec java.io.tmpdir does not
 * matter: {@code memfd_create} through the FFM API (final in JDK 22), the bytes written through
 * {@code /proc/self/fd/N}, {@code System.load} of that path, then the fd closed (the mapping keeps
 * the pages). /proc/PID/maps shows the library as {@code /memfd:libumh.so (deleted)}.
 *
 * <p>Why reflection over {@code java.lang.foreign} and not a multi-release class compiled for 22:
 * the library is compiled with {@code --release 17}, and a {@code META-INF/versions/22} class is
 * seen only from a jar that says {@code Multi-Release: true}: never from target/classes (the tests,
 * IDEs) nor from a fat jar that drops the attribute. It would also need a second javac, 22 or
 * later, in every build, also when Maven runs on 17. Reflection is one source that works wherever
 * the JDK has the API; it calls public API only, so nothing moves between releases.
 *
 * <p>Tried only when native access is enabled for this module ({@code --enable-native-access=ALL-UNNAMED},
 * or the platform jar's manifest under {@code java -jar}): {@code Linker.downcallHandle} is a
 * restricted method, and JDK 22 to 25 print a warning for it otherwise (later ones refuse it).
 * Loading a JNI library needs native access from JDK 24 on anyway, so whoever runs umh without
 * warnings has it enabled; without it the loader extracts the library, as on JDK 17.
 */
final class MemfdLoader {
    /** Linux UAPI, fixed since 3.17: the shim that would tell us is what is being loaded. */
    private static final int MFD_CLOEXEC = 1;

    private MemfdLoader() {}

    /** Loads the shim from a memfd: null once loaded, else why it was not (for the loader's message). */
    static String load(NativeLoader shim) {
        int jdk = Runtime.version().feature();
        if (jdk < 22) {
            return "needs JDK 22+ (the FFM API), this is JDK " + jdk;
        }
        Module module = MemfdLoader.class.getModule();
        int fd = -1;
        try {
            // a method handle, not Method.invoke: from JDK 18 on, a first Method.invoke spins its
            // accessor's method handles (~6 ms of a JDK 25 cold start, for the answer "no" of -cp)
            boolean nativeAccess = (boolean) MethodHandles.publicLookup()
                    .findVirtual(Module.class, "isNativeAccessEnabled", MethodType.methodType(boolean.class)).invokeExact(module);
            if (!nativeAccess) {
                return "native access is not enabled for " + (module.isNamed() ? module.getName() : "the class path")
                        + " (--enable-native-access=" + (module.isNamed() ? module.getName() : "ALL-UNNAMED") + ")";
            }
            Class<?> arenaClass = Class.forName("java.lang.foreign.Arena");
            Object arena = arenaClass.getMethod("ofAuto").invoke(null); // a few bytes, freed by the GC
            Object name = arenaClass.getMethod("allocateFrom", String.class).invoke(arena, "libumh.so");
            fd = (int) downcall("memfd_create", "ADDRESS", "JAVA_INT").invoke(name, MFD_CLOEXEC);
            if (fd < 0) {
                return "memfd_create failed";
            }
            String path = "/proc/self/fd/" + fd;
            Files.write(Paths.get(path), shim.bytes());
            System.load(path);
            return null;
        } catch (UnsatisfiedLinkError e) {
            return e.getMessage();
        } catch (Error e) {
            throw e;
        } catch (Throwable t) {
            return (t instanceof InvocationTargetException ? t.getCause() : t).toString();
        } finally {
            if (fd >= 0) {
                close(fd);
            }
        }
    }

    private static void close(int fd) {
        try {
            downcall("close", "JAVA_INT").invoke(fd);
        } catch (Throwable t) {
            // only an fd leaks; the library is loaded or the caller reports why not
        }
    }

    /** A handle on libc's {@code int name(args...)}, the args named as ValueLayout fields. */
    private static MethodHandle downcall(String name, String... args) throws ReflectiveOperationException {
        Class<?> linkerClass = Class.forName("java.lang.foreign.Linker");
        Class<?> optionClass = Class.forName("java.lang.foreign.Linker$Option");
        Class<?> layoutClass = Class.forName("java.lang.foreign.MemoryLayout");
        Class<?> valueLayout = Class.forName("java.lang.foreign.ValueLayout");
        Class<?> descriptorClass = Class.forName("java.lang.foreign.FunctionDescriptor");
        Object linker = linkerClass.getMethod("nativeLinker").invoke(null);
        Object lookup = linkerClass.getMethod("defaultLookup").invoke(linker);
        Optional<?> symbol = (Optional<?>) Class.forName("java.lang.foreign.SymbolLookup")
                .getMethod("find", String.class).invoke(lookup, name);
        Object[] layouts = (Object[]) Array.newInstance(layoutClass, args.length);
        for (int i = 0; i < args.length; i++) {
            layouts[i] = valueLayout.getField(args[i]).get(null);
        }
        Object descriptor = descriptorClass.getMethod("of", layoutClass, layouts.getClass())
                .invoke(null, valueLayout.getField("JAVA_INT").get(null), layouts);
        if (symbol.isEmpty()) { // no orElseThrow(lambda): no lambda on a first fork (ColdStartTest)
            throw new ReflectiveOperationException("no " + name + " in libc");
        }
        return (MethodHandle) linkerClass
                .getMethod("downcallHandle", Class.forName("java.lang.foreign.MemorySegment"), descriptorClass, optionClass.arrayType())
                .invoke(linker, symbol.get(), descriptor, Array.newInstance(optionClass, 0));
    }
}
