package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * umh on the module path: a consumer module that {@code requires io.umh}, compiled and run in a
 * second JVM against the module as built (target/classes), loads a helper from its own package
 * with {@link Umh#loadResource}, forks it and opens a channel to it (io.umh.service). Nothing may
 * be printed on stderr: no native-access warning (JDK 24+) with {@code --enable-native-access=io.umh},
 * and no trouble from jdk.jfr being absent (it is {@code requires static}) or present.
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
            "import io.umh.service.UsermodeChannel;",
            "public class Main {",
            "    public static void main(String[] args) throws Exception {",
            "        try (UsermodeBlob blob = Umh.loadResource(Main.class, \"cat\");",
            "             UsermodeProcess p = blob.fork()) {",
            "        UsermodeChannel ch = UsermodeChannel.open(p);",
            "            p.pipeToUmh().write(\"from a module\".getBytes());",
            "            p.pipeToUmh().close();",
            "            System.out.println(new String(p.pipeFromUmh().readAllBytes()) + \" \" + p.waitFor()",
            "                    + \" in \" + Umh.class.getModule().getName() + \", \" + ch.getClass().getPackageName()",
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

    /** The API is io.umh and io.umh.service; io.umh.internal (what both share) and io.umh.cli are not exported. */
    @Test
    void exportsOnlyTheApi() throws Exception {
        ModuleDescriptor d = ModuleFinder.of(umhModule()).find("io.umh").orElseThrow().descriptor();
        assertEquals(Set.of("io.umh", "io.umh.service"),
                d.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()));
        assertTrue(d.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified), d.toString());
        assertTrue(d.opens().isEmpty(), d.toString());
        assertTrue(d.packages().containsAll(Set.of("io.umh.internal", "io.umh.cli")), d.packages().toString());
    }

    /** A consumer module cannot compile against io.umh.internal. */
    @Test
    void theInternalPackageIsNotVisible() throws Exception {
        Path src = dir.resolve("internal-src");
        Files.createDirectories(src.resolve("consumer"));
        Files.writeString(src.resolve("module-info.java"), "module umh.test.internal { requires io.umh; }");
        Files.writeString(src.resolve("consumer/Main.java"), String.join("\n",
                "package consumer;",
                "public class Main {",
                "    long year = io.umh.internal.Watchdog.nanos(java.time.Duration.ofDays(400));",
                "}"));
        String javac = Paths.get(System.getProperty("java.home"), "bin", "javac").toString();
        String out = TestBlobs.run(List.of(javac, "--module-path", umhModule().toString(), "-d", dir.resolve("internal").toString(),
                src.resolve("module-info.java").toString(), src.resolve("consumer/Main.java").toString()));
        assertTrue(out.contains("package io.umh.internal is not visible"), out);
    }

    @Test
    void forksFromANamedModuleWithoutJfr() throws Exception {
        // only the consumer and what it requires: jdk.jfr is not even observable
        assertEquals("from a module 0 in io.umh, io.umh.service, jdk.jfr false\n", runConsumer("--limit-modules", "umh.test.consumer"));
    }

    @Test
    void forksFromANamedModuleWithJfr() throws Exception {
        assertEquals("from a module 0 in io.umh, io.umh.service, jdk.jfr true\n", runConsumer());
    }

    @Test
    void forksFromANamedModuleWithAFlightRecording() throws Exception {
        Path jfr = dir.resolve("umh.jfr");
        assertEquals("from a module 0 in io.umh, io.umh.service, jdk.jfr true\n",
                runConsumer("-XX:StartFlightRecording:filename=" + jfr));
    }
}
