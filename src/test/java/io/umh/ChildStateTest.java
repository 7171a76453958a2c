package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the helper sees: exactly fds 0, 1, 2, a clean signal state, and the argv/env/cwd it was given. */
@Timeout(60)
class ChildStateTest {
    private static Map<String, String> probe(ForkOptions o) throws Exception {
        return TestBlobs.probe(o);
    }

    @Test
    void seesExactlyFds012AndNoSignalsBlockedOrIgnored() throws Exception {
        // the JVM has many fds open, and ignores or catches several signals: none of it may leak
        Map<String, String> m;
        try (FileInputStream open = new FileInputStream("/dev/null")) { // the JDK opens it without O_CLOEXEC
            assertFalse(TestBlobs.inheritableFds().isEmpty(), "the test needs an inheritable fd in the JVM");
            m = probe(ForkOptions.defaults());
        }
        assertEquals("0,1,2", m.get("fds"));
        assertEquals("0000000000000000", m.get("SigBlk"));
        assertEquals("0000000000000000", m.get("SigIgn"));
        assertEquals("0000000000000000", m.get("SigCgt"));
        assertEquals(Long.toString(ProcessHandle.current().pid()), m.get("ppid"));
    }

    @Test
    void argvAsGiven() throws Exception {
        Map<String, String> m = probe(ForkOptions.builder().argv0("my-helper").args("a b", "", "ü-€", "--x=1").build());
        assertEquals("5", m.get("argc"));
        assertEquals("my-helper", m.get("argv[0]"));
        assertEquals("a b", m.get("argv[1]"));
        assertEquals("", m.get("argv[2]"));
        assertEquals("ü-€", m.get("argv[3]"));
        assertEquals("--x=1", m.get("argv[4]"));
        assertEquals(UsermodeBlob.DEFAULT_NAME, probe(ForkOptions.defaults()).get("argv[0]")); // an unnamed blob's name
    }

    @Test
    void environmentReplacedOrInherited() throws Exception {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("ONE", "1");
        env.put("EMPTY", "");
        env.put("SPACED", "a = b");
        assertEquals("ONE=1\nEMPTY=\nSPACED=a = b\n", probe(ForkOptions.builder().environment(env).build()).get("env"));
        assertEquals("", probe(ForkOptions.builder().environment(Map.of()).build()).get("env"));

        // the JVM's own environ, as ProcessBuilder passes it: System.getenv()'s entries (in environ's order: compared sorted)
        List<String> inherited = new ArrayList<>();
        System.getenv().forEach((k, v) -> inherited.add(k + "=" + v));
        List<String> got = new ArrayList<>(List.of(probe(ForkOptions.defaults()).get("env").split("\n")));
        Collections.sort(inherited);
        Collections.sort(got);
        assertEquals(inherited, got);
    }

    @Test
    void workingDirectoryAsGivenOrTheJvms(@TempDir Path dir) throws Exception {
        Path real = dir.toRealPath();
        assertEquals(real.toString(), probe(ForkOptions.builder().directory(dir).build()).get("cwd"));
        assertEquals(Path.of("").toAbsolutePath().toRealPath().toString(), probe(ForkOptions.defaults()).get("cwd"));
        assertTrue(Files.isDirectory(real));
    }
}
