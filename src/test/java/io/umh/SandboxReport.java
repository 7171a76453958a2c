package io.umh;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prints docs/security.md's table: every escape attempt, unsandboxed and under each preset, as
 * this JVM runs (root or not). Not a test: run it with the test class path,
 * {@code java -cp target/classes:target/test-classes io.umh.SandboxReport [COLUMN]}, once as root and
 * once under {@code setpriv --reuid=65534 --regid=65534 --clear-groups}, and with
 * {@code -Dumh.sandbox.disable=LAYER,...} to see what the other layers do alone.
 */
public final class SandboxReport {
    private SandboxReport() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("umh-report");
        Map<String, ForkOptions> columns = new LinkedHashMap<>();
        columns.put("none", ForkOptions.defaults());
        // BEST_EFFORT, so that the layers a run switches off (-Dumh.sandbox.disable=...) show what the others do alone
        columns.put("strict()", ForkOptions.builder().sandbox(SandboxPolicy.builder().enforcement(Enforcement.BEST_EFFORT)
                .build()).build());
        columns.put("readWrite(tmp)", ForkOptions.builder().sandbox(SandboxPolicy.builder().readWrite(dir)
                .enforcement(Enforcement.BEST_EFFORT).build()).build());
        String jvm = Long.toString(EscapeTargets.jvmPid());
        try (EscapeTargets.TcpListener tcp = new EscapeTargets.TcpListener();
             EscapeTargets.AbstractListener abs = new EscapeTargets.AbstractListener();
             EscapeTargets.Secret secret = new EscapeTargets.Secret()) {
            List<String[]> attempts = new ArrayList<>();
            attempts.add(new String[] {"read", "/etc/passwd"});
            attempts.add(new String[] {"write", dir.toString()});
            attempts.add(new String[] {"procmem", jvm});
            attempts.add(new String[] {"vmread", jvm, secret.address()});
            attempts.add(new String[] {"ptrace", jvm});
            attempts.add(new String[] {"kill", jvm});
            attempts.add(new String[] {"tcp", Integer.toString(tcp.port())});
            attempts.add(new String[] {"abstract", abs.name()});
            attempts.add(new String[] {"socket"});
            attempts.add(new String[] {"fork"});
            attempts.add(new String[] {"exec", "/bin/sh"});
            attempts.add(new String[] {"memfd-exec"});
            attempts.add(new String[] {"unshare"});
            attempts.add(new String[] {"shm"});
            attempts.add(new String[] {"mount", dir.toString()});
            attempts.add(new String[] {"chroot", "/"});
            attempts.add(new String[] {"hostname"});
            attempts.add(new String[] {"bpf"});
            attempts.add(new String[] {"perf"});
            attempts.add(new String[] {"userfaultfd"});
            attempts.add(new String[] {"io_uring"});
            attempts.add(new String[] {"keyctl"});
            attempts.add(new String[] {"tiocsti"});
            attempts.add(new String[] {"isatty"});
            attempts.add(new String[] {"unix-socket"});
            attempts.add(new String[] {"thread"});
            System.out.println("| attempt | " + String.join(" | ", columns.keySet()) + " |");
            System.out.println("|---" + "|---".repeat(columns.size()) + "|");
            for (String[] a : attempts) {
                StringBuilder row = new StringBuilder("| `" + String.join(" ", a).replace(jvm, "JVM") + "` |");
                for (ForkOptions o : columns.values()) {
                    EscapeTargets.Attempt r = EscapeTargets.attempt(o, a[0], java.util.Arrays.copyOfRange(a, 1, a.length));
                    row.append(' ').append(r.succeeded() ? "**ok**" : r.killedBySeccomp() ? "killed (SIGSYS)"
                            : r.refusal().map(e -> "refused " + e).orElse("exit " + r.status)).append(" |");
                }
                System.out.println(row);
            }
        }
        System.out.println();
        System.out.println(Umh.sandboxSupport());
    }
}
