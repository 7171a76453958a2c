package io.umh;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;

/**
 * The demo ({@code java -jar umh-<version>-linux-x86_64.jar}): forks the helper program that ships
 * inside this jar, straight from its bytes, and talks to it over its pipes.
 */
public final class Demo {
    private Demo() {}

    public static void main(String[] args) throws Exception {
        String resource = "/META-INF/native/" + NativeLoader.classifier() + "/umh-demo-helper";
        byte[] helper;
        try (InputStream in = Demo.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("no " + resource + " on the class path: run the platform jar");
            }
            helper = in.readAllBytes();
        }
        long start = System.nanoTime();
        try (UsermodeProcess p = Umh.forkUsermodeBlob(helper, ForkOptions.builder().argv0("umh-demo-helper").build())) {
            long micros = (System.nanoTime() - start) / 1000;
            System.out.printf("forked helper pid %d from %,d bytes inside the jar in %,d us (first fork: loading the shim included)%n", p.pid(), helper.length, micros);
            System.out.println("its executable: " + Files.readSymbolicLink(Paths.get("/proc/" + p.pid() + "/exe"))
                    + " (a memfd: no file was written)");
            Writer toHelper = new OutputStreamWriter(p.pipeToUmh(), StandardCharsets.UTF_8);
            BufferedReader fromHelper = new BufferedReader(new InputStreamReader(p.pipeFromUmh(), StandardCharsets.UTF_8));
            for (String line : List.of("hello from the JVM", "risky parsing happens out here", "bye")) {
                System.out.println("> " + line);
                toHelper.write(line + "\n");
                toHelper.flush();
                System.out.println("< " + fromHelper.readLine());
            }
            toHelper.close(); // EOF: the helper says goodbye and exits
            System.out.println("< " + fromHelper.readLine());
            System.out.println("helper exit status: " + p.waitFor());
        }
    }
}
