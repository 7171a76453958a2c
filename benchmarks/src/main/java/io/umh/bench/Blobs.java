package io.umh.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** The helper programs, from this jar, and the same bytes on disk for ProcessBuilder. */
final class Blobs {
    /** A statically linked program that exits 0 at once. */
    static final byte[] EXIT = resource("exit");
    /** A statically linked cat. */
    static final byte[] CAT = resource("cat");
    /** Says "ready", then with "-p" waits for a signal, whatever happens to its pipes. */
    static final byte[] SLEEPER = resource("sleeper");
    /** Answers each framed request (umh_helper.h) with the same bytes: the channel benchmark's helper. */
    static final byte[] FRAMED = resource("framed");
    /** A #!/bin/sh script that exits 0. */
    static final byte[] SCRIPT = "#!/bin/sh\nexit 0\n".getBytes();

    private Blobs() {}

    /** A helper of the jar's by name: {@code exit}, {@code bare-exit} (no libc: test-blobs/bare-exit.c), ... */
    static byte[] resource(String name) {
        try (InputStream in = Blobs.class.getResourceAsStream("/blobs/" + name)) {
            if (in == null) {
                throw new IllegalStateException("no /blobs/" + name + " in the benchmark jar: build umh first");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes an executable file, as a jar-embedded helper is extracted today. */
    static Path writeExecutable(Path dir, String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    /** Like umh's default: pipes on fd 0 and 1, stderr inherited. */
    static ProcessBuilder processBuilder(Path file) {
        return new ProcessBuilder(file.toString()).redirectError(java.lang.ProcessBuilder.Redirect.INHERIT);
    }

    /** Runs a ProcessBuilder child to its end, with its pipes closed, as umh's close() does. */
    static int runToEnd(ProcessBuilder pb) throws IOException, InterruptedException {
        Process p = pb.start();
        try {
            return p.waitFor();
        } finally {
            p.getOutputStream().close();
            p.getInputStream().close();
        }
    }
}
