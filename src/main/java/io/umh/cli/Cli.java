package io.umh.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;

import io.umh.ForkOptions;
import io.umh.SandboxPolicy;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;

/**
 * The platform jar's command line, its Main-Class on every CPU:
 * {@code java -jar umh-<version>-<platform>.jar run FILE [ARGS...]} runs FILE's bytes from a memfd
 * with this terminal's stdin and stdout (fds 0 and 1, bridged), and exits with its status;
 * {@code demo} runs the {@link Demo}. Exit codes follow a shell's: the child's own, 128+N after death by
 * signal N, 127 for a file that cannot be read, 126 for one that cannot be run, 2 for bad usage.
 */
final class Cli {
    private static final String USAGE = String.join("\n",
            "usage: java -jar umh-<version>-<platform>.jar COMMAND",
            "  run [SANDBOX] FILE [ARGS...]",
            "                      run FILE's bytes as a child process from a sealed memfd (no file is written),",
            "                      with this terminal's stdin and stdout; exits with its status (128+N if killed by signal N)",
            "    --sandbox         in SandboxPolicy.strict(): no file system, no network, namespaces of its own",
            "    --read-only PATH  (with --sandbox) it may read PATH; repeatable",
            "    --read-write PATH (with --sandbox) it may read and write PATH; repeatable",
            "    --dynamic         (with --sandbox) a dynamically linked FILE can start",
            "    --network         (with --sandbox) the host's network",
            "  demo                run the demo: a helper shipped inside this jar, supervised, answering requests",
            "  -h, --help          show this help",
            "-Dumh.debug=true prints the stack trace of an error.");

    private Cli() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (args.length == 1 && (args[0].equals("-h") || args[0].equals("--help"))) {
            System.out.println(USAGE);
            return 0;
        }
        int first = args.length >= 2 && args[0].equals("run") ? 1 : -1;
        SandboxPolicy.Builder sandbox = null;
        String file = null;
        try {
            while (first > 0 && first < args.length && args[first].startsWith("--")) {
                if (args[first].equals("--sandbox")) {
                    sandbox = SandboxPolicy.builder();
                } else if (sandbox == null) {
                    return usage("umh: " + args[first] + " needs --sandbox before it");
                } else if (args[first].equals("--dynamic")) {
                    sandbox.allowDynamicLinking();
                } else if (args[first].equals("--network")) {
                    sandbox.network(true);
                } else if ((args[first].equals("--read-only") || args[first].equals("--read-write")) && first + 1 < args.length) {
                    Path path = Paths.get(args[first + 1]).toAbsolutePath();
                    if (args[first++].equals("--read-only")) {
                        sandbox.readOnly(path);
                    } else {
                        sandbox.readWrite(path);
                    }
                } else {
                    return usage("umh: unknown option: " + args[first]);
                }
                first++;
            }
            file = first > 0 && first < args.length ? args[first] : null;
            if (file != null) {
                return runFile(file, Arrays.copyOfRange(args, first + 1, args.length), sandbox == null ? null : sandbox.build());
            }
            if (args.length == 1 && args[0].equals("demo")) {
                Demo.main(new String[0]);
                return 0;
            }
        } catch (NoSuchFileException e) {
            return fail(127, file + ": no such file", e);
        } catch (IOException e) {
            return fail(file != null ? 126 : 1, (file != null ? file + ": " : "") + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            return usage("umh: " + e.getMessage());
        } catch (Exception | LinkageError e) {
            return fail(1, e.getMessage() != null ? e.getMessage() : e.toString(), e);
        }
        return usage(args.length == 0 ? null : "umh: unknown command: " + String.join(" ", args));
    }

    private static int usage(String problem) {
        System.err.println(problem == null ? USAGE : problem + "\n" + USAGE);
        return 2;
    }

    /** Runs the blob in {@code file} to its end, bridging stdin and stdout; stderr is inherited. */
    private static int runFile(String file, String[] args, SandboxPolicy sandbox) throws Exception {
        byte[] bytes = Files.readAllBytes(Paths.get(file));
        if (bytes.length == 0) {
            throw new IOException("empty file");
        }
        ForkOptions options = ForkOptions.builder().argv0(file).args(args).sandbox(sandbox).build();
        try (UsermodeBlob blob = Umh.load(bytes); UsermodeProcess p = blob.fork(options)) {
            // a daemon thread: a child that exits without reading all of stdin must not keep the JVM up
            Thread input = new Thread(() -> copy(System.in, p.pipeToUmh(), true), "umh-cli-stdin");
            input.setDaemon(true);
            input.start();
            // not System.out: a PrintStream hides EPIPE, and a child writing on after `| head` would
            // wait for ever; this way its stdout closes too, and it gets SIGPIPE as in a shell pipeline
            copy(p.pipeFromUmh(), new FileOutputStream(FileDescriptor.out), false);
            p.pipeFromUmh().close();
            int status = p.waitFor();
            p.violation().ifPresent(v -> System.err.println("umh: " + file + ": stopped by the sandbox: " + v.syscall()
                    + " (" + v.detail() + ")"));
            return status;
        }
    }

    /** Copies until EOF or an error (the reader went away): a pipe's end is the child's business. */
    private static void copy(InputStream in, OutputStream out, boolean closeOut) {
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = in.read(buf)) > 0;) {
                out.write(buf, 0, n);
                out.flush(); // interactive: the other side sees each chunk at once
            }
        } catch (IOException e) {
            // EPIPE from a child that stopped reading, or a closed stream at exit
        } finally {
            if (closeOut) {
                try {
                    out.close();
                } catch (IOException e) {
                    // the child has gone already
                }
            }
        }
    }

    private static int fail(int status, String message, Throwable e) {
        System.err.println("umh: " + message);
        if (Boolean.getBoolean("umh.debug")) {
            e.printStackTrace();
        }
        return status;
    }
}
