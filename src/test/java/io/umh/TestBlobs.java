package io.umh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.commons.io.IOUtils;

/** The helper programs built from test-blobs/, and ways to look at this JVM from /proc. */
final class TestBlobs {
    private TestBlobs() {}

    static Path path(String name) {
        return Paths.get(System.getProperty("umh.test.blobs", "target/test-blobs"), name);
    }

    static byte[] bytes(String name) {
        try {
            return Files.readAllBytes(path(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Open fds of this JVM. */
    static int openFds() throws IOException {
        try (Stream<Path> s = Files.list(Paths.get("/proc/self/fd"))) {
            return (int) s.count() - 1; // the directory stream's own fd
        }
    }

    /** Direct children of this JVM that are zombies. */
    static List<Long> zombieChildren() throws IOException {
        long self = ProcessHandle.current().pid();
        List<Long> zombies = new ArrayList<>();
        try (Stream<Path> s = Files.list(Paths.get("/proc"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String stat = stat(Long.parseLong(name));
                if (stat == null) {
                    continue;
                }
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                if (f[0].equals("Z") && Long.parseLong(f[1]) == self) {
                    zombies.add(Long.parseLong(name));
                }
            }
        }
        return zombies;
    }

    /** /proc/PID/stat, or null once the process is gone. */
    static String stat(long pid) {
        try {
            return Files.readString(Paths.get("/proc/" + pid + "/stat"));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return null; // vanished while reading
        }
    }

    /** True while the process exists and is not a zombie. */
    static boolean running(long pid) {
        String stat = stat(pid);
        return stat != null && stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
    }

    static int threads() throws IOException {
        try (Stream<Path> s = Files.list(Paths.get("/proc/self/task"))) {
            return (int) s.count();
        }
    }

    /** Runs the probe blob and parses its key=value lines (repeated keys: argv[i] are distinct, env=... collected). */
    static Map<String, String> probe(UsermodeProcess p) throws IOException {
        p.pipeToUmh().close();
        Map<String, String> m = new LinkedHashMap<>();
        StringBuilder env = new StringBuilder();
        for (String line : IOUtils.readLines(p.pipeFromUmh(), StandardCharsets.UTF_8)) {
            int eq = line.indexOf('=');
            String k = line.substring(0, eq);
            String v = line.substring(eq + 1);
            if (k.equals("env")) {
                env.append(v).append('\n');
            } else {
                m.put(k, v);
            }
        }
        m.put("env", env.toString());
        return m;
    }
}
