package io.umh.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;

import io.umh.Enforcement;
import io.umh.ForkOptions;
import io.umh.SandboxPolicy;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;
import io.umh.service.UsermodeChannel;
import io.umh.service.UsermodeService;

/**
 * The demo ({@code java -jar umh-<version>-<platform>.jar demo}, through {@link Cli}): runs the
 * helper program that ships inside this jar, straight from its bytes, as a supervised service, and
 * sends it framed requests; one of them crashes it, and the service starts another.
 */
final class Demo {
    private Demo() {}

    /** Runs the demo; no arguments. */
    public static void main(String[] args) throws Exception {
        String resource = "/META-INF/native/" + Umh.platform() + "/umh-demo-helper";
        if (Demo.class.getResource(resource) == null) {
            throw new IllegalStateException("no " + resource + " on the class path: run the platform jar");
        }
        UsermodeService.Listener log = new UsermodeService.Listener() {
            @Override
            public void exited(UsermodeProcess p, int status, Exception cause) {
                System.out.println("! helper pid " + p.pid() + " exited with status " + status);
            }

            @Override
            public void restarting(int restart, Duration delay) {
                System.out.println("! restarting it in " + delay.toMillis() + " ms");
            }
        };
        long start = System.nanoTime();
        try (UsermodeBlob blob = Umh.loadResource(Demo.class, resource); // streamed, named "umh-demo-helper"
             UsermodeService service = UsermodeService.builder(blob)
                     .channel(4096, Duration.ofSeconds(5))
                     .listener(log)
                     .start()) {
            long pid = service.process().pid();
            System.out.printf("started helper pid %d from %,d bytes inside the jar in %,d us (loading the shim included)%n",
                    pid, blob.size(), (System.nanoTime() - start) / 1000);
            System.out.println("its executable: " + Files.readSymbolicLink(Paths.get("/proc/" + pid + "/exe"))
                    + " (a memfd: no file was written)");
            for (String request : List.of("hello from the JVM", "crash", "risky parsing happens out here")) {
                System.out.println("> " + request);
                try {
                    System.out.println("< " + new String(service.call(request.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    service.awaitRunning(Duration.ofSeconds(10)); // the listener reports the exit and the restart
                    System.out.println("< no reply (" + e.getMessage() + "); helper pid " + service.process().pid() + " took over");
                }
            }
            sandboxed(blob);
        } // close(): EOF, and the helper exits 0
        System.out.println("service stopped");
    }

    /** The same helper in SandboxPolicy.strict(), asked to open a socket: the sandbox stops it, and names the call. */
    private static void sandboxed(UsermodeBlob blob) throws Exception {
        ForkOptions strict = ForkOptions.builder().sandbox(SandboxPolicy.builder()
                .enforcement(Enforcement.BEST_EFFORT).build()).build();
        try (UsermodeProcess p = blob.fork(strict)) {
            UsermodeChannel ch = UsermodeChannel.open(p);
            System.out.println("> hello (to helper pid " + p.pid() + ", sandboxed: SandboxPolicy.strict())");
            System.out.println("< " + new String(ch.call("hello".getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8));
            System.out.println("> socket (what a compromised helper would try)");
            try {
                System.out.println("< " + new String(ch.call("socket".getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8));
            } catch (IOException e) {
                int status = p.waitFor();
                System.out.println("< no reply: " + p.violation().map(v -> "stopped by the sandbox for calling " + v.syscall())
                        .orElse("exited") + ", exit status " + status);
            }
        }
    }
}
