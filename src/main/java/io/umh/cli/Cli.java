package io.umh.cli;

import java.io.File;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.umh.BlobInfo;
import io.umh.ForkOptions;
import io.umh.SandboxPolicy;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;

/**
 * The platform jar's command line, its Main-Class on every CPU:
 * {@code java -jar umh-<version>-<platform>.jar run [OPTIONS] FILE [ARGS...]} runs FILE's bytes from a memfd
 * with this terminal's stdin and stdout (fds 0 and 1, bridged), and exits with its status;
 * {@code inspect FILE} says what FILE's bytes are ({@link BlobInfo}); {@code demo} runs the {@link Demo}.
 * Exit codes follow a shell's: the child's own, 128+N after death by
 * signal N, 127 for a file that cannot be read, 126 for one that cannot be run, 2 for bad usage.
 */
final class Cli {
    private static final String USAGE = String.join("\n",
            "usage: java -jar umh-<version>-<platform>.jar COMMAND",
            "  run [OPTIONS] FILE [ARGS...]",
            "                      run FILE's bytes as a child process from a sealed memfd (no file is written),",
            "                      with this terminal's stdin and stdout; exits with its status (128+N if killed by signal N).",
            "                      A FILE without a / is looked up in PATH, as a shell does (./FILE for one here)",
            "    --argv0 NAME      its argv[0] (default: FILE as given)",
            "    --env K=V         set K in its environment; repeatable",
            "    --clear-env       start from an empty environment instead of this one",
            "    --cwd DIR         its working directory",
            "    --stderr FILE     its stderr to FILE (truncated), instead of this terminal's",
            "    --sandbox         in SandboxPolicy.strict(): no file system, no network, namespaces of its own",
            "    --read-only PATH  (with --sandbox) it may read PATH; repeatable",
            "    --read-write PATH (with --sandbox) it may read and write PATH; repeatable",
            "    --dynamic         (with --sandbox) a dynamically linked FILE can start",
            "    --threads         (with --sandbox) it may start threads (still no second process)",
            "    --network         (with --sandbox) the host's network",
            "  inspect FILE        what FILE's bytes are: ELF machine and class, static or dynamic and its loader,",
            "                      or the #! interpreter; and why it cannot run here, if that is known (exit status 1)",
            "  demo                run the demo: a helper shipped inside this jar, supervised, answering requests",
            "  -h, --help          show this help",
            "-Dumh.debug=true prints the stack trace of an error.");

    /** The options that take a value. */
    private static final List<String> VALUED = List.of("--argv0", "--env", "--cwd", "--stderr", "--read-only", "--read-write");

    private Cli() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (args.length == 1 && (args[0].equals("-h") || args[0].equals("--help"))) {
            System.out.println(USAGE);
            return 0;
        }
        String file = null;
        try {
            if (args.length == 2 && args[0].equals("inspect")) {
                file = args[1];
                return inspect(file);
            }
            if (args.length >= 2 && args[0].equals("run")) {
                ForkOptions.Builder options = ForkOptions.builder();
                int first = options(args, options);
                if (first < 0) {
                    return 2;
                }
                file = args[first];
                Path path = locate(file);
                return runFile(file, path, options.args(Arrays.copyOfRange(args, first + 1, args.length)));
            }
            if (args.length == 1 && args[0].equals("demo")) {
                Demo.main(new String[0]);
                return 0;
            }
        } catch (NoSuchFileException e) {
            return fail(127, file + ": " + (e.getReason() != null ? e.getReason() : "no such file"), e);
        } catch (IOException e) {
            return fail(file != null ? 126 : 1, (file != null ? file + ": " : "") + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            return usage("umh: " + e.getMessage());
        } catch (Exception | LinkageError e) {
            return fail(1, e.getMessage() != null ? e.getMessage() : e.toString(), e);
        }
        return usage(args.length == 0 ? null : "umh: unknown command: " + String.join(" ", args));
    }

    /** Reads {@code run}'s options into {@code options}: the index of FILE, or -1 after printing the usage. */
    private static int options(String[] args, ForkOptions.Builder options) {
        SandboxPolicy.Builder sandbox = null;
        Map<String, String> env = null;
        String argv0 = null;
        int i = 1;
        for (; i < args.length && args[i].startsWith("--"); i++) {
            String option = args[i];
            if (option.equals("--")) {
                i++;
                break;
            }
            String value = VALUED.contains(option) && i + 1 < args.length ? args[++i] : null;
            if (VALUED.contains(option) && value == null) {
                usage("umh: " + option + " needs a value");
                return -1;
            }
            switch (option) {
                case "--argv0":
                    argv0 = value;
                    break;
                case "--env":
                    int eq = value.indexOf('=');
                    if (eq <= 0) {
                        usage("umh: --env needs NAME=VALUE, not " + value);
                        return -1;
                    }
                    env = env != null ? env : new LinkedHashMap<>(System.getenv());
                    env.put(value.substring(0, eq), value.substring(eq + 1));
                    break;
                case "--clear-env":
                    env = new LinkedHashMap<>();
                    break;
                case "--cwd":
                    options.directory(Paths.get(value));
                    break;
                case "--stderr":
                    options.redirectError(ProcessBuilder.Redirect.to(new File(value)));
                    break;
                case "--sandbox":
                    sandbox = SandboxPolicy.builder();
                    break;
                default:
                    if (sandbox == null && List.of("--read-only", "--read-write", "--dynamic", "--threads", "--network").contains(option)) {
                        usage("umh: " + option + " needs --sandbox before it");
                        return -1;
                    } else if (option.equals("--dynamic")) {
                        sandbox.allowDynamicLinking();
                    } else if (option.equals("--threads")) {
                        sandbox.allowThreads();
                    } else if (option.equals("--network")) {
                        sandbox.network(true);
                    } else if (option.equals("--read-only")) {
                        sandbox.readOnly(Paths.get(value).toAbsolutePath());
                    } else if (option.equals("--read-write")) {
                        sandbox.readWrite(Paths.get(value).toAbsolutePath());
                    } else {
                        usage("umh: unknown option: " + option);
                        return -1;
                    }
            }
        }
        if (i >= args.length) {
            usage("umh: run needs a FILE");
            return -1;
        }
        if (env != null) {
            options.environment(env);
        }
        options.sandbox(sandbox == null ? null : sandbox.build());
        options.argv0(argv0 != null ? argv0 : args[i]);
        return i;
    }

    private static int usage(String problem) {
        System.err.println(problem == null ? USAGE : problem + "\n" + USAGE);
        return 2;
    }

    /** FILE as a shell finds it: a name with a / as it is, a bare name in PATH. */
    private static Path locate(String file) throws NoSuchFileException {
        if (file.contains("/")) {
            return Paths.get(file);
        }
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/local/bin:/usr/bin:/bin" : path).split(":", -1)) {
            Path candidate = Paths.get(dir.isEmpty() ? "." : dir, file);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new NoSuchFileException(file, null, "not found in PATH" + (Files.isRegularFile(Paths.get(file))
                ? " (./" + file + " for the file in this directory)" : ""));
    }

    /** Prints what {@code file}'s bytes are, and why they cannot run here if that is known (then exits 1). */
    private static int inspect(String file) throws IOException {
        BlobInfo info = BlobInfo.of(Paths.get(file));
        System.out.println(file + ": " + info);
        info.originNote(directory(Paths.get(file))).ifPresent(note -> System.out.println("  note: " + note));
        return info.problemHere().map(why -> {
            System.out.println("  cannot run here: " + why);
            return 1;
        }).orElse(0);
    }

    /** Runs the blob in {@code path} to its end, bridging stdin and stdout; stderr is inherited. */
    private static int runFile(String file, Path path, ForkOptions.Builder options) throws Exception {
        byte[] bytes = Files.readAllBytes(path);
        if (bytes.length == 0) {
            throw new IOException("empty file");
        }
        try (UsermodeBlob blob = Umh.load(bytes); UsermodeProcess p = blob.fork(options.build())) {
            Thread input = copyInBackground(new FileInputStream(FileDescriptor.in), p.pipeToUmh(), "umh-cli-stdin");
            // not System.out: a PrintStream hides EPIPE, and a child writing on after `| head` would
            // wait for ever; this way its stdout closes too, and it gets SIGPIPE as in a shell pipeline
            copy(p.pipeFromUmh(), new FileOutputStream(FileDescriptor.out), false);
            p.pipeFromUmh().close();
            int status = p.waitFor();
            input.interrupt(); // out of its read of our stdin: see copyInBackground
            if (status == 127) { // the loader's "cannot open shared object file", most likely
                blob.info().originNote(directory(path)).ifPresent(note -> System.err.println("umh: " + file + ": " + note));
            }
            p.violation().ifPresent(v -> System.err.println("umh: " + file + ": stopped by the sandbox: " + v.syscall()
                    + " (" + v.detail() + ")"));
            return status;
        }
    }

    /**
     * A daemon thread that copies {@code from} to {@code to} (closing {@code to} at the end) until
     * EOF, an error, or an interrupt. A daemon: a child that exits without reading all of stdin
     * must not keep the JVM up. Interruptible: it reads through the FileChannel, whose blocked
     * read an interrupt ends (closing the channel, and so {@code from}'s fd), because a thread left
     * in a native read at exit holds the JVM's exit up by ~300 ms (HotSpot waits for threads in
     * native code), whenever the CLI's own stdin stays open after the child is done.
     */
    static Thread copyInBackground(FileInputStream from, OutputStream to, String name) {
        InputStream in = Channels.newInputStream(from.getChannel());
        Thread t = new Thread(() -> copy(in, to, true), name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** The real directory {@code file} is in ($ORIGIN for its loader, were it run from there), or null. */
    private static Path directory(Path file) {
        try {
            return file.toRealPath().getParent();
        } catch (IOException e) {
            return null;
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
            // EPIPE from a child that stopped reading, a closed stream at exit, or an interrupt
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
