package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.net.URLClassLoader;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/**
 * umh's shared threads (reaper, spawner, cleaner, seccomp listener, timer) carry no context class loader:
 * one inherited from whoever forked first would be pinned for the JVM's life, the class-loader
 * leak application servers know. Forked here from a thread whose loader is a throwaway one.
 */
class LibraryThreadsTest {
    @Test
    void libraryThreadsPinNoClassLoader() throws Exception {
        Thread t = new Thread(() -> {
            try {
                TestBlobs.warmUp();
                try (UsermodeProcess p = Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), ForkOptions.builder()
                        .sandbox(SandboxPolicy.builder().enforcement(Enforcement.BEST_EFFORT).build()).build())) {
                    p.waitFor();
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        ClassLoader throwaway = new URLClassLoader(new URL[0]);
        t.setContextClassLoader(throwaway);
        t.start();
        t.join();
        Map<String, ClassLoader> loaders = new TreeMap<>();
        for (Thread lib : Thread.getAllStackTraces().keySet()) {
            if (java.util.Set.of("umh-reaper", "umh-spawner", "umh-cleaner", "umh-seccomp", "umh-timer").contains(lib.getName())) {
                loaders.put(lib.getName(), lib.getContextClassLoader());
            }
        }
        assertTrue(loaders.keySet().containsAll(java.util.List.of("umh-reaper", "umh-spawner", "umh-cleaner")), loaders.toString());
        loaders.forEach((name, loader) -> assertNull(loader, name + " pins " + loader));
        assertEquals(loaders.size(), loaders.values().stream().filter(l -> l == null).count());
    }
}
