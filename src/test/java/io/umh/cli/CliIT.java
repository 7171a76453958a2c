package io.umh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import io.umh.TestBlobs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The platform jar's command line, run as a user runs it: {@code java -jar} in a second JVM (after package). */
@Timeout(120)
class CliIT {
    /** A finished {@code java -jar}: exit status, stdout, stderr. */
    private record Run(int status, String out, String err) {}

    /** {@code java [jvmArgs] -jar umh-...-linux-x86_64.jar [args]}, with the JVM running this test. */
    private static ProcessBuilder jar(List<String> jvmArgs, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-jar");
        cmd.add(System.getProperty("umh.jar"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd);
    }

    private static Run run(String stdin, String... args) throws Exception {
        return run(jar(List.of(), args), stdin);
    }

    private static Run run(ProcessBuilder command, String stdin) throws Exception {
        Process p = command.start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        // stderr is small: read it after stdout
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out, err);
    }

    private static String blob(String name) {
        return TestBlobs.path(name).toAbsolutePath().toString();
    }

    @Test
    void runBridgesStdinAndStdout() throws Exception {
        Run r = run("through the pipes\n", "run", blob("cat"));
        assertEquals(new Run(0, "through the pipes\n", ""), r);
    }

    @Test
    void runIsInteractive() throws Exception {
        Process p = jar(List.of(), "run", blob("cat")).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        OutputStream in = p.getOutputStream();
        for (String line : List.of("one", "two")) {
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
            assertEquals(line, out.readLine()); // before EOF: each line comes back as it is typed
        }
        in.close();
        assertEquals(null, out.readLine());
        assertEquals(0, p.waitFor());
    }

    /** {@code run yes | head -1}: once the reader has gone, the child gets SIGPIPE, as in a shell pipeline. */
    @Test
    void closedStdoutEndsTheChild() throws Exception {
        Process p = jar(List.of(), "run", "/usr/bin/yes").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("y", out.readLine());
        out.close();
        assertEquals(128 + 13, p.waitFor());
    }

    @Test
    void argumentsAndStderrReachTheChild() throws Exception {
        Run r = run("x\n", "run", blob("hello.sh"), "a", "b c");
        assertEquals(new Run(7, "hello from sh: a b c\nread: x\n", ""), r);
        assertEquals(new Run(0, "out\n", "to stderr\n"), run("", "run", blob("stderr"), "to stderr"));
    }

    @Test
    void exitStatusIsPassedThrough() throws Exception {
        assertEquals(3, run("", "run", blob("exit"), "3").status());
    }

    @Test
    void killedChildExits128PlusSignal() throws Exception {
        assertEquals(new Run(137, "", ""), run("", "run", blob("exit"), "-s", "9"));
    }

    @Test
    void missingFileIsOneLineAndExits127() throws Exception {
        assertEquals(new Run(127, "", "umh: /nonexistent: no such file\n"), run("", "run", "/nonexistent"));
    }

    @Test
    void notAProgramNamesTheErrno() throws Exception {
        String pom = Paths.get("pom.xml").toAbsolutePath().toString();
        assertEquals(new Run(126, "", "umh: " + pom + ": fork: execveat failed: ENOEXEC (Exec format error): neither an ELF"
                + " nor a #! script: it starts with \"<?xml version=\\\"1...\"\n"),
                run("", "run", pom));
    }

    @Test
    void debugPrintsTheStackTrace() throws Exception {
        Run r = run(jar(List.of("-Dumh.debug=true"), "run", "/nonexistent"), "");
        assertEquals(127, r.status());
        assertTrue(r.err().contains("java.nio.file.NoSuchFileException: /nonexistent\n\tat "), r.err());
    }

    @Test
    void helpGoesToStdout() throws Exception {
        for (String flag : List.of("--help", "-h")) {
            Run r = run("", flag);
            assertEquals(0, r.status());
            assertTrue(r.out().contains("run [OPTIONS] FILE [ARGS...]") && r.out().contains("inspect FILE") && r.out().contains("--sandbox") && r.out().contains("demo") && r.err().isEmpty(), r.toString());
        }
    }

    @Test
    void badUsageGoesToStderrAndExits2() throws Exception {
        for (String[] args : List.of(new String[0], new String[] {"run"}, new String[] {"frob"},
                new String[] {"run", "--read-only", "/", "x"}, new String[] {"run", "--threads", "x"}, new String[] {"run", "--sandbox", "--frob", "x"},
                new String[] {"run", "--sandbox", "--read-only", "relative/nonexistent", "x"}, new String[] {"run", "--env"},
                new String[] {"run", "--env", "novalue", "x"}, new String[] {"run", "--cwd", "/"}, new String[] {"inspect"})) {
            Run r = run("", args);
            assertEquals(2, r.status(), r.toString());
            assertTrue(r.out().isEmpty() && r.err().contains("usage: "), r.toString());
        }
    }

    @Test
    void argv0EnvironmentAndDirectoryReachTheChild() throws Exception {
        Run r = run("", "run", "--argv0", "named", "--clear-env", "--env", "A=1", "--env", "B=two words", "--cwd", "/tmp",
                blob("probe"), "x");
        assertEquals(0, r.status(), r.toString());
        assertTrue(r.out().contains("cwd=/tmp\n") && r.out().contains("argc=2\nargv[0]=named\nargv[1]=x\n"), r.out());
        assertTrue(r.out().endsWith("\nenv=A=1\nenv=B=two words\n"), r.out());
        // without --clear-env, added to this environment; argv[0] is FILE as given
        Run kept = run("", "run", "--env", "UMH_CLI_TEST=yes", blob("probe"));
        assertTrue(kept.out().contains("\nenv=UMH_CLI_TEST=yes\n") && kept.out().contains("\nenv=PATH=")
                && kept.out().contains("argv[0]=" + blob("probe") + "\n"), kept.out());
    }

    @Test
    void stderrGoesToTheFileNamed() throws Exception {
        java.nio.file.Path log = java.nio.file.Files.createTempFile("umh-cli", ".log");
        try {
            assertEquals(new Run(0, "out\n", ""), run("", "run", "--stderr", log.toString(), blob("stderr"), "to stderr"));
            assertEquals("to stderr\n", java.nio.file.Files.readString(log));
        } finally {
            java.nio.file.Files.delete(log);
        }
    }

    /** A name without a / is found in PATH, as a shell finds it; one that is not there exits 127 as a shell's does. */
    @Test
    void bareNameIsLookedUpInPath() throws Exception {
        assertEquals(new Run(0, "X=1\n", ""), run("", "run", "--clear-env", "--env", "X=1", "env"));
        assertEquals(new Run(127, "", "umh: umh-no-such-program: not found in PATH\n"), run("", "run", "umh-no-such-program"));
    }

    @Test
    void inspectSaysWhatTheBytesAre() throws Exception {
        assertEquals(new Run(0, blob("exit") + ": ELF 64-bit LSB x86_64 executable, statically linked\n", ""),
                run("", "inspect", blob("exit")));
        Run dynamic = run("", "inspect", "/bin/true");
        assertEquals(0, dynamic.status(), dynamic.toString());
        assertTrue(dynamic.out().matches("/bin/true: ELF 64-bit LSB x86_64 position-independent executable, dynamically"
                + " linked, loader /\\S+\n"), dynamic.out());
        assertEquals(new Run(1, blob("nointerp.sh") + ": #! script, interpreter /nonexistent/interpreter\n"
                + "  cannot run here: its #! interpreter /nonexistent/interpreter does not exist\n", ""),
                run("", "inspect", blob("nointerp.sh")));
        assertEquals(new Run(127, "", "umh: /nonexistent: no such file\n"), run("", "inspect", "/nonexistent"));
    }

    /**
     * The JDK's own java finds libjli.so through $ORIGIN: inspect says so and what stands in for it;
     * run fails as the loader fails (127) and says the same; run with that LD_LIBRARY_PATH works.
     */
    @Test
    void aProgramThatFindsItsLibrariesNextToItselfIsExplained() throws Exception {
        java.nio.file.Path java = Paths.get(System.getProperty("java.home"), "bin", "java").toRealPath();
        String libraryPath = "LD_LIBRARY_PATH=" + java.getParent() + ":" + java.getParent() + "/../lib";
        Run inspect = run("", "inspect", java.toString());
        assertEquals(0, inspect.status(), inspect.toString());
        assertTrue(inspect.out().contains(", library path $ORIGIN:$ORIGIN/../lib\n  note: its libraries are looked for next to"
                + " its own file") && inspect.out().contains(libraryPath), inspect.toString());
        Run fails = run("", "run", java.toString(), "-version");
        assertEquals(127, fails.status(), fails.toString());
        assertTrue(fails.err().contains("libjli.so") && fails.err().contains("umh: " + java + ": its libraries are looked for")
                && fails.err().contains(libraryPath), fails.toString());
        Run works = run("", "run", "--env", libraryPath, java.toString(), "-version");
        assertEquals(0, works.status(), works.toString());
        assertTrue(works.err().contains(System.getProperty("java.vm.name")), works.toString());
    }

    @Test
    void demoRunsTheHelperInsideTheJar() throws Exception {
        Run r = run("", "demo");
        assertEquals(0, r.status(), r.toString());
        assertTrue(r.out().contains("(a memfd: no file was written)") && r.out().endsWith("service stopped\n"), r.out());
        // the same helper in strict(), asked to open a socket (a kernel with seccomp's listener, as CI's)
        assertTrue(r.out().contains("< no reply: stopped by the sandbox for calling socket, exit status 159\n"), r.out());
    }

    @Test
    void sandboxedRunSeesNoFileOfTheHost() throws Exception {
        Run strict = run("", "run", "--sandbox", blob("escape"), "read", "/etc/passwd"); // no openat in strict()
        assertEquals(159, strict.status(), strict.toString());
        assertTrue(strict.out().isEmpty() && strict.err().startsWith("umh: " + blob("escape") + ": stopped by the sandbox: "),
                strict.toString());
        assertEquals(new Run(0, "read ok\n", ""), run("", "run", "--sandbox", "--read-only", "/etc/passwd", blob("escape"),
                "read", "/etc/passwd"));
    }

    @Test
    void threadsOnlyWithTheOption() throws Exception {
        assertEquals(new Run(0, "thread ok\n", ""), run("", "run", "--sandbox", "--threads", blob("escape"), "thread"));
        Run strict = run("", "run", "--sandbox", blob("escape"), "thread");
        assertEquals(159, strict.status(), strict.toString());
        assertTrue(strict.err().contains(": stopped by the sandbox: clone ("), strict.toString());
    }
}
