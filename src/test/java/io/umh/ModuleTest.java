package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * umh on the module path: a consumer module that {@code requires io.umh}, compiled and run in a
 * second JVM against the module as built (target/classes), loads a helper from its own package
 * with {@link Umh#loadResource} and forks it. Nothing may be printed on stderr: no native-access
 * warning (JDK 24+) with {@code --enable-native-access=io.umh}, and no trouble from jdk.jfr being
 * absent (it is {@code requires static}) or present.
 */
@Timeout(120)
class ModuleTest {
    @TempDir
    static Path dir;
    static Path consumer;

    private static final String MODULE_INFO = String.join("\n",
            "module umh.test.consumer {",
            "    requires io.umh;",
            "    opens consumer to io.umh; // for Umh.loadResource: its helper lives in this package",
            "}");

    private static final String MAIN = String.join("\n",
            "package consumer;",
            "import io.umh.*;",
            "public class Main {",
            "    public static void main(String[] args) throws Exception {",
            "        try (UsermodeBlob blob = Umh.loadResource(Main.class, \"cat\");",
            "             UsermodeProcess p = blob.fork()) {",
            "            p.pipeToUmh().write(\"from a module\".getBytes());",
            "            p.pipeToUmh().close();",
            "            System.out.println(new String(p.pipeFromUmh().readAllBytes()) + \" \" + p.waitFor()",
            "                    + \" in \" + Umh.class.getModule().getName()",
            "                    + \", jdk.jfr \" + ModuleLayer.boot().findModule(\"jdk.jfr\").isPresent());",
            "        }",
            "    }",
            "}");

    /** The exploded module io.umh: classes, module-info and the shim. */
    private static Path umhModule() throws Exception {
        Path classes = Paths.get(Umh.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertEquals(true, Files.exists(classes.resolve("module-info.class")), classes + " has no module-info.class");
        return classes;
    }

    @BeforeAll
    static void compileConsumer() throws Exception {
        Path src = dir.resolve("src");
        consumer = dir.resolve("consumer");
        Files.createDirectories(src.resolve("consumer"));
        Files.writeString(src.resolve("module-info.java"), MODULE_INFO);
        Files.writeString(src.resolve("consumer/Main.java"), MAIN);
        String javac = Paths.get(System.getProperty("java.home"), "bin", "javac").toString();
        String out = TestBlobs.run(List.of(javac, "--module-path", umhModule().toString(), "-d", consumer.toString(),
                src.resolve("module-info.java").toString(), src.resolve("consumer/Main.java").toString()));
        assertEquals("", out, "javac");
        Files.copy(TestBlobs.path("cat"), consumer.resolve("consumer/cat"));
    }

    /** The consumer's stdout and stderr, less JFR's own "Started recording" lines. */
    private static String runConsumer(String... jvmArgs) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=io.umh");
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("--module-path", umhModule() + ":" + consumer, "-m", "umh.test.consumer/consumer.Main"));
        return TestBlobs.run(cmd).replaceAll("(?m)^\\[.*\\]\\[jfr,startup\\].*\n", "");
    }

    @Test
    void forksFromANamedModuleWithoutJfr() throws Exception {
        // only the consumer and what it requires: jdk.jfr is not even observable
        assertEquals("from a module 0 in io.umh, jdk.jfr false\n", runConsumer("--limit-modules", "umh.test.consumer"));
    }

    @Test
    void forksFromANamedModuleWithJfr() throws Exception {
        assertEquals("from a module 0 in io.umh, jdk.jfr true\n", runConsumer());
    }

    @Test
    void forksFromANamedModuleWithAFlightRecording() throws Exception {
        Path jfr = dir.resolve("umh.jfr");
        assertEquals("from a module 0 in io.umh, jdk.jfr true\n",
                runConsumer("-XX:StartFlightRecording:filename=" + jfr));
    }
}
