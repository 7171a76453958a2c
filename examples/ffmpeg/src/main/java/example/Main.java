package example;

import io.umh.ForkOptions;
import io.umh.SandboxPolicy;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The static ffmpeg that JAVE2 ships in {@code ws.schild:jave-nativebin-linux64} (JAVE2 itself
 * extracts it to /tmp and chmods it, which fails where /tmp is noexec), run straight from the
 * artifact's jar: {@code Umh.loadResource} streams the 77 MB entry into a sealed memfd, and no file
 * is written. A generated tone goes through ffmpeg's pipes twice: raw PCM to FLAC, FLAC back to WAV,
 * and the WAV's samples must be the tone's, bit for bit. A codec fed untrusted input is what a
 * service most wants out of its address space, so ffmpeg runs sandboxed: its own namespaces, an
 * empty root, Landlock and seccomp; it may start threads, read the CPU list that sizes its thread
 * pool, and nothing else of the host (a third run asks it to read /etc/passwd, and it cannot).
 */
public final class Main {
    /** The one resource of jave-nativebin-linux64 3.5.0. */
    static final String FFMPEG = "/ws/schild/jave/nativebin/ffmpeg-amd64";
    static final int RATE = 8000;
    /**
     * What ffmpeg 4.4's start needs beyond stdio: threads (its codecs' pool), and file lookups,
     * which the empty root answers (it stats /etc/gnutls/config: ENOENT), with the one directory
     * whose "online" file glibc reads for the number of CPUs.
     */
    static final SandboxPolicy POLICY = SandboxPolicy.builder().allowThreads()
            .readOnly(Path.of("/sys/devices/system/cpu")).build();

    public static void main(String[] args) throws Exception {
        byte[] tone = tone(440, RATE);
        long start = System.nanoTime();
        try (UsermodeBlob ffmpeg = Umh.loadResource(Main.class, FFMPEG)) { // a memfd named "ffmpeg-amd64"
            System.out.printf("loaded %s from the jave jar in %d ms%n", ffmpeg, (System.nanoTime() - start) / 1_000_000);
            byte[] flac = run(ffmpeg, tone, "-f", "s16le", "-ar", Integer.toString(RATE), "-ac", "1", "-i", "pipe:0",
                    "-f", "flac", "pipe:1");
            check(flac.length > 4 && new String(flac, 0, 4, StandardCharsets.US_ASCII).equals("fLaC"),
                    "ffmpeg's FLAC starts with fLaC");
            System.out.printf("encoded %,d bytes of PCM to %,d bytes of FLAC%n", tone.length, flac.length);
            byte[] wav = run(ffmpeg, flac, "-f", "flac", "-i", "pipe:0", "-f", "wav", "-c:a", "pcm_s16le", "pipe:1");
            byte[] samples = wavSamples(wav);
            check(Arrays.equals(samples, tone), "the WAV's " + samples.length + " bytes of samples are the tone's " + tone.length);
            String denied = fail(ffmpeg, "-f", "data", "-i", "/etc/passwd", "-f", "data", "pipe:1");
            check(denied.contains("/etc/passwd: No such file or directory"), "the sandboxed ffmpeg cannot read /etc/passwd: " + denied);
            System.out.println("sandboxed, it cannot read /etc/passwd: " + denied.strip());
        }
        System.out.println("ok: " + RATE + " samples of a 440 Hz tone through FLAC and back, unchanged");
    }

    /** One second of a sine at {@code hz}, signed 16-bit little-endian mono at {@code rate}. */
    static byte[] tone(int hz, int rate) {
        ByteBuffer b = ByteBuffer.allocate(2 * rate).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rate; i++) {
            b.putShort((short) Math.round(12000 * Math.sin(2 * Math.PI * hz * i / rate)));
        }
        return b.array();
    }

    /**
     * Runs ffmpeg with {@code args}, {@code input} written to its stdin by a thread while this one
     * reads its stdout: what it wrote, once it exited 0.
     */
    static byte[] run(UsermodeBlob ffmpeg, byte[] input, String... args) throws Exception {
        try (UsermodeProcess p = ffmpeg.fork(options(args))) {
            Path exe = Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/exe"));
            System.out.printf("ffmpeg pid %d runs %s (argv[0] %s)%n", p.pid(), exe, ffmpeg.name());
            Thread writer = new Thread(() -> {
                try (OutputStream in = p.pipeToUmh()) {
                    in.write(input);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, "ffmpeg-stdin");
            writer.start();
            byte[] out = p.pipeFromUmh().readAllBytes();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            writer.join();
            int status = p.waitFor();
            check(status == 0, "ffmpeg " + String.join(" ", args) + " exited " + status + ": " + err
                    + p.violation().map(v -> " (stopped by the sandbox: " + v + ")").orElse(""));
            return out;
        }
    }

    /** Runs ffmpeg with {@code args} and no input: its stderr, once it failed by itself (not stopped by the sandbox). */
    static String fail(UsermodeBlob ffmpeg, String... args) throws Exception {
        try (UsermodeProcess p = ffmpeg.fork(options(args))) {
            p.pipeToUmh().close();
            p.pipeFromUmh().readAllBytes();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = p.waitFor();
            check(status == 1 && p.violation().isEmpty(), "ffmpeg " + String.join(" ", args) + " exited " + status + ": " + err);
            return err;
        }
    }

    static ForkOptions options(String... args) {
        List<String> argv = new ArrayList<>(List.of("-hide_banner", "-nostdin", "-loglevel", "error"));
        argv.addAll(List.of(args));
        return ForkOptions.builder().args(argv).redirectError(Redirect.PIPE).sandbox(POLICY).build();
    }

    /**
     * The samples of a WAV that ffmpeg wrote to a pipe: RIFF/WAVE, a "fmt " chunk for 16-bit PCM,
     * mono, at RATE, then the "data" chunk (its size may say 0 or -1: a pipe cannot be rewound to
     * fill it in, so the data is the rest of the stream).
     */
    static byte[] wavSamples(byte[] wav) {
        ByteBuffer b = ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN);
        check(wav.length >= 12 && fourCC(b, 0).equals("RIFF") && fourCC(b, 8).equals("WAVE"), "a RIFF/WAVE header");
        int at = 12;
        boolean fmt = false;
        while (at + 8 <= wav.length) {
            String id = fourCC(b, at);
            int size = b.getInt(at + 4);
            if (id.equals("fmt ")) {
                check(b.getShort(at + 8) == 1 && b.getShort(at + 10) == 1 && b.getInt(at + 12) == RATE
                        && b.getShort(at + 22) == 16, "fmt: PCM, 1 channel, " + RATE + " Hz, 16 bits");
                fmt = true;
            } else if (id.equals("data")) {
                check(fmt, "a fmt chunk before the data");
                int end = size > 0 && at + 8 + size <= wav.length ? at + 8 + size : wav.length;
                return Arrays.copyOfRange(wav, at + 8, end);
            }
            at += 8 + size + (size & 1);
        }
        throw new IllegalStateException("no data chunk in " + wav.length + " bytes of WAV");
    }

    private static String fourCC(ByteBuffer b, int at) {
        byte[] id = new byte[4];
        b.get(at, id);
        return new String(id, StandardCharsets.US_ASCII);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("failed: " + what);
        }
    }
}
