package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * OpenJDK's {@code test/jdk/java/lang/ProcessBuilder/InheritIOTest.java}: a second JVM runs
 * {@code printf message} with {@code inheritIO()} (TestInheritIO) or with the three redirects
 * INHERIT one by one (TestRedirectInherit), waits, writes "exit value: N" to its stderr and exits
 * with N. That JVM's stdout is exactly "message", its stderr exactly "exit value: 0", its status
 * 0. Here the child is /usr/bin/printf loaded as bytes and forked by umh.
 */
@Timeout(120)
class JdkInheritIoTest {
    @ParameterizedTest
    @ValueSource(classes = {TestInheritIO.class, TestRedirectInherit.class})
    void childWritesThroughTheJvmsOwnStreams(Class<?> main) throws Exception {
        Process jvm = new ProcessBuilder(TestBlobs.javaCommand(List.of(), List.of(), main, "message")).start();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
            try {
                return jvm.getErrorStream().readAllBytes();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        String out = new String(jvm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, jvm.waitFor());
        assertEquals("message", out);
        assertEquals("exit value: 0", new String(err.get(), StandardCharsets.UTF_8));
        // ProcessBuilder's pipes close on its reaper thread some time after the exit: closed here,
        // so that no later test's fd count sees them go
        jvm.getOutputStream().close();
        jvm.getInputStream().close();
        jvm.getErrorStream().close();
    }

    static int run(ForkOptions.Builder options, String message) throws Exception {
        try (UsermodeBlob printf = Umh.load(Path.of("/usr/bin/printf"));
             UsermodeProcess p = printf.fork(options.args(message).build())) {
            return p.waitFor();
        }
    }

    /** InheritIOTest.TestInheritIO. */
    public static final class TestInheritIO {
        public static void main(String[] args) throws Exception {
            int err = run(ForkOptions.builder().inheritIO(), args[0]);
            System.err.printf("exit value: %d", err);
            System.exit(err);
        }
    }

    /** InheritIOTest.TestRedirectInherit. */
    public static final class TestRedirectInherit {
        public static void main(String[] args) throws Exception {
            int err = run(ForkOptions.builder().redirectInput(Redirect.INHERIT).redirectOutput(Redirect.INHERIT)
                    .redirectError(Redirect.INHERIT), args[0]);
            System.err.printf("exit value: %d", err);
            System.exit(err);
        }
    }
}
