package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a fresh JVM's first load + fork + waitFor + close sets up, read from its class-loading log:
 * none of the machinery that made umh's cold start cost several times ProcessBuilder's (measured
 * by benchmarks/coldstart.sh, not here): JFR's event classes with no recording, the System.Logger
 * backend with nothing to log, a security provider for a digest, regular expressions, a lambda of
 * umh's own (the first lambda bootstraps LambdaMetafactory); and the JDK classes outside its CDS
 * archive that umh's first fork needed no more: System.getenv's ProcessEnvironment (the child
 * gets the JVM's environ natively), a JarURLConnection to read the shim, a ReentrantReadWriteLock
 * for the blob, onExit's CompletableFuture and ForkJoinPool, a BufferedReader for /proc files.
 */
@Timeout(120)
class ColdStartTest {
    /** Loaded once the first fork has been waited for and closed. */
    public static final class End {}

    /** Main of the second JVM: one first fork, nothing else of umh's before it. */
    public static final class FirstFork {
        public static void main(String[] args) throws Exception {
            byte[] exit = Files.readAllBytes(Path.of(args[0]));
            int status;
            try (UsermodeBlob b = Umh.load(exit); UsermodeProcess p = b.fork()) {
                status = p.waitFor();
            }
            new End(); // marks the log: what a JVM's exit loads (the shutdown hook's work) is not the fork's
            System.out.println(status); // no string concatenation here: this class is compiled with indy's
        }
    }

    @Test
    void aFirstForkLoadsNoJfrNoLoggingNoDigestNoRegex(@TempDir Path dir) throws Exception {
        // the first JVM extracts the shim into tmpdir; the second finds its copy, as most JVMs do
        List<String> tmpdir = List.of("-Djava.io.tmpdir=" + dir);
        assertEquals("0\n", TestBlobs.run(TestBlobs.javaCommand(List.of(), tmpdir, FirstFork.class, TestBlobs.path("exit").toString())));
        List<String> before = listing(dir);
        Path log = dir.resolve("classes.log");
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(), List.of(tmpdir.get(0), "-Xlog:class+load=info:file=" + log),
                FirstFork.class, TestBlobs.path("exit").toString()));
        assertEquals("0\n", out);
        List<String> lines = Files.readAllLines(log);
        Files.delete(log);
        assertEquals(before, listing(dir), "a JVM that finds its copy of the shim writes nothing");
        int first = 0;
        while (first < lines.size() && !lines.get(first).contains(" io.umh.Umh ")) {
            first++;
        }
        assertTrue(first < lines.size(), "io.umh.Umh was loaded");
        int end = first;
        while (end < lines.size() && !lines.get(end).contains(" io.umh.ColdStartTest$End ")) {
            end++;
        }
        assertTrue(end < lines.size(), "the end of the first fork is marked");
        List<String> loaded = lines.subList(first, end).stream().map(l -> l.split(" ")[1]).collect(Collectors.toList());
        for (String prefix : List.of("jdk.jfr.", "java.util.logging.", "jdk.internal.logger.", "java.lang.System$Logger$Level",
                "sun.security.provider.", "java.security.MessageDigest", "java.util.regex.Pattern",
                "java.lang.invoke.StringConcatFactory",
                // the FFM API's first use (~60-80 ms on JDK 25): the memfd is the shim's last resort, not its first try
                "java.lang.foreign.", "jdk.internal.foreign.", "io.umh.MemfdLoader",
                // the default redirects as null: Redirect's initialiser costs JDK 25 ~6 ms (OperatingSystem's Enum.valueOf)
                "java.lang.ProcessBuilder$Redirect", "jdk.internal.util.OperatingSystem",
                // a method handle invoked spins LambdaForm classes (~4.7 ms on JDK 25: VirtualThreads' isVirtual() was one)
                "java.lang.invoke.LambdaForm$",
                // each of these is a class (or a dozen) outside the JDK's CDS archive that a first fork did without
                "java.lang.ProcessEnvironment", "java.net.URLConnection", "java.net.JarURLConnection", "sun.net.www.",
                "java.util.concurrent.locks.ReentrantReadWriteLock", "java.util.concurrent.CompletableFuture",
                "java.util.concurrent.ForkJoinPool", "java.io.BufferedReader", "java.io.InputStreamReader",
                // umh's own, needed only to extract the shim, to sandbox, to stop a running child or to explain a failure
                "io.umh.Mounts", "io.umh.SandboxSupport", "io.umh.Stopper", "io.umh.Step", "io.umh.Spawn$1", "io.umh.ExecFailure",
                // anonymous or nested classes folded into their outer class: each is a class less to load
                "io.umh.Spawner$Serve", "io.umh.Reaper$1", "io.umh.ShutdownHook$1", "io.umh.UsermodeProcess$1", "io.umh.Load",
                "io.umh.NativeLoader$Shim", "io.umh.Spawn$Fds", "io.umh.Spawn$Spawned", "io.umh.Child$State", "io.umh.Child$Path",
                "io.umh.ForkOptions$Builder", "io.umh.ForkOptions$Block", "io.umh.Native$Closer", "io.umh.UsermodeProcess$CloseAll",
                // loaded only where used: a failure's exception, a redirected fd's null stream, a resource limit
                "io.umh.internal.PermanentForkFailure", "io.umh.NullStreams", "io.umh.ForkOptions$Resource",
                "io.umh.ForkOptions$Lifetime", "io.umh.BlobInfo$Kind", "io.umh.PropertyValues", "io.umh.Events", "io.umh.internal.VirtualThreads$ByMethodHandle",
                // JDK classes outside CDS that a first fork did without: an unmodifiable map's wrappers
                "java.util.Collections$UnmodifiableSortedMap", "java.util.Collections$UnmodifiableMap$UnmodifiableEntrySet",
                // ... and exceptions that verifying a first fork's classes loaded for their cold paths
                "java.net.URISyntaxException", "java.nio.file.NoSuchFileException", "java.nio.file.AtomicMoveNotSupportedException",
                "java.nio.file.FileSystemNotFoundException", "java.lang.NumberFormatException", "java.time.format.DateTimeParseException",
                "java.lang.IllegalAccessException", "java.lang.AssertionError")) {
            // jdk.jfr.FlightRecorder itself is asked whether JFR was initialized: one class, nothing set up
            assertEquals(List.of(), loaded.stream().filter(c -> c.startsWith(prefix) && !c.equals("jdk.jfr.FlightRecorder"))
                    .collect(Collectors.toList()), prefix);
        }
        // what the cleaner thread loads ahead of the caller is what the first fork loads, no class left out, none
        // stale (but for what the caller loads before that thread runs)
        List<String> umh = loaded.stream().filter(c -> c.startsWith("io.umh.")
                && !List.of("io.umh.Umh", "io.umh.CleanerThread", "io.umh.BlobInfo",
                        "io.umh.internal.VirtualThreads").contains(c)) // that one on 21+ only, by the caller
                .sorted().collect(Collectors.toList());
        assertEquals(umh, Stream.of(CleanerThread.FIRST_FORK).sorted().collect(Collectors.toList()), "CleanerThread.FIRST_FORK");
        // what a first load's thread initialises early is what the first fork initialises anyway (a typo would do nothing)
        assertTrue(loaded.containsAll(List.of(CleanerThread.INIT_EARLY)), "CleanerThread.INIT_EARLY");
        // a fresh JVM's first lambda bootstraps LambdaMetafactory (tens of ms): umh's first fork makes none
        assertEquals(List.of(), loaded.stream().filter(c -> c.startsWith("io.umh.") && c.contains("$$Lambda"))
                .collect(Collectors.toList()), "umh's lambdas");
    }

    /** The names and modification times of what dir holds. */
    private static List<String> listing(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName() + " " + f.toFile().lastModified()).sorted().collect(Collectors.toList());
        }
    }
}
