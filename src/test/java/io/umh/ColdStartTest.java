package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a fresh JVM's first load + fork + waitFor sets up, read from its class-loading log: none
 * of the machinery that made umh's cold start cost several times ProcessBuilder's (measured by
 * benchmarks/coldstart.sh, not here): JFR's event classes with no recording, the System.Logger
 * backend with nothing to log, a security provider for a digest, regular expressions.
 */
@Timeout(120)
class ColdStartTest {
    /** Main of the second JVM: one first fork, nothing else of umh's before it. */
    public static final class FirstFork {
        public static void main(String[] args) throws Exception {
            byte[] exit = Files.readAllBytes(Path.of(args[0]));
            try (UsermodeBlob b = Umh.load(exit); UsermodeProcess p = b.fork()) {
                int status = p.waitFor();
                System.out.println(status); // no string concatenation here: this class is compiled with indy's
            }
        }
    }

    @Test
    void aFirstForkLoadsNoJfrNoLoggingNoDigestNoRegex(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("classes.log");
        String out = TestBlobs.run(TestBlobs.javaCommand(List.of(), List.of("-Xlog:class+load=info:file=" + log),
                FirstFork.class, TestBlobs.path("exit").toString()));
        assertEquals("0\n", out);
        List<String> lines = Files.readAllLines(log);
        int first = 0;
        while (first < lines.size() && !lines.get(first).contains(" io.umh.Umh ")) {
            first++;
        }
        assertTrue(first < lines.size(), "io.umh.Umh was loaded");
        List<String> loaded = lines.subList(first, lines.size()).stream().map(l -> l.split(" ")[1])
                .collect(Collectors.toList());
        for (String prefix : List.of("jdk.jfr.", "java.util.logging.", "jdk.internal.logger.", "sun.security.provider.",
                "java.security.MessageDigest", "java.util.regex.Pattern", "java.lang.invoke.StringConcatFactory")) {
            // jdk.jfr.FlightRecorder itself is asked whether JFR was initialized: one class, nothing set up
            assertEquals(List.of(), loaded.stream().filter(c -> c.startsWith(prefix) && !c.equals("jdk.jfr.FlightRecorder"))
                    .collect(Collectors.toList()), prefix);
        }
    }
}
