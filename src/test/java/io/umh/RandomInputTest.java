package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Random and hostile input, from a fixed seed (set -Dumh.seed to explore others): every input
 * either runs or fails with an IOException naming the errno, and nothing leaks.
 */
@Timeout(120)
class RandomInputTest {
    private static final long SEED = Long.getLong("umh.seed", 20261129L);
    private final Random random = new Random(SEED);
    private int fdsBefore;

    @BeforeEach
    void countFds() throws Exception {
        TestBlobs.warmUp();
        fdsBefore = TestBlobs.openFds();
    }

    @AfterEach
    void nothingLeaked() throws IOException {
        TestBlobs.assertFds(fdsBefore);
        assertEquals(List.of(), TestBlobs.zombieChildren());
    }

    /** Runs the blob: it either fails to exec with an errno, or runs (and is killed if it lingers). */
    private static void runsOrFailsClearly(byte[] blob, ForkOptions o, String what) throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(blob, o)) {
            p.pipeToUmh().close();
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            assertTrue(e.getMessage().matches("fork: [a-z_0-9()]+ failed: E[A-Z0-9]+ \\(.+\\).*"),
                    what + ": " + e.getMessage());
        }
    }

    @Test
    void randomBytes() throws Exception {
        for (int i = 0; i < 100; i++) {
            byte[] blob = new byte[1 + random.nextInt(4096)];
            random.nextBytes(blob);
            runsOrFailsClearly(blob, ForkOptions.defaults(), "random bytes, seed " + SEED + " case " + i);
        }
    }

    /** ELF headers cut at every length up to 64, then a few longer prefixes of a real program. */
    @Test
    void truncatedElf() throws Exception {
        byte[] elf = TestBlobs.bytes("exit");
        for (int len = 1; len <= 64; len++) {
            runsOrFailsClearly(Arrays.copyOf(elf, len), ForkOptions.defaults(), "ELF cut at " + len);
        }
        for (int len : new int[] {128, 1000, 4096, 65536, elf.length / 2}) {
            runsOrFailsClearly(Arrays.copyOf(elf, len), ForkOptions.defaults(), "ELF cut at " + len);
        }
    }

    /** "#!" lines of every length up to 300 (the kernel reads 256 bytes of them). */
    @Test
    void shebangLinesOfEveryLength() throws Exception {
        for (int len = 0; len <= 300; len += 1 + len / 20) {
            byte[] script = ("#!/" + "x".repeat(len) + "\necho hi\n").getBytes(StandardCharsets.US_ASCII);
            runsOrFailsClearly(script, ForkOptions.defaults(), "#! of " + len);
        }
        runsOrFailsClearly("#!".getBytes(StandardCharsets.US_ASCII), ForkOptions.defaults(), "bare #!");
        runsOrFailsClearly("#!\n".getBytes(StandardCharsets.US_ASCII), ForkOptions.defaults(), "empty #!");
    }

    /** Past the kernel's argument limits: E2BIG, as any exec failure. */
    @Test
    void hugeArgvIsE2big() throws Exception {
        String oneHundredKiB = "a".repeat(100 * 1024);
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 40; i++) { // 4 MB in all: over ARG_MAX (a quarter of the 8 MB stack limit)
            many.add(oneHundredKiB);
        }
        for (ForkOptions o : List.of(ForkOptions.builder().args(many).build(),
                ForkOptions.builder().args("b".repeat(200 * 1024)).build())) { // over MAX_ARG_STRLEN (128 KiB)
            IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                    () -> Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), o));
            assertEquals("fork: execveat failed: E2BIG (Argument list too long)", e.getMessage());
        }
    }

    /** Random argv and environment (any code point but NUL) arrive exactly as given. */
    @Test
    void randomArgvAndEnvironmentArriveIntact() throws Exception {
        try (UsermodeBlob probe = Umh.load(TestBlobs.bytes("probe"))) {
            for (int i = 0; i < 50; i++) {
                List<String> args = new ArrayList<>();
                for (int n = random.nextInt(8); n > 0; n--) {
                    args.add(randomString(false));
                }
                Map<String, String> env = new LinkedHashMap<>();
                for (int n = random.nextInt(8); n > 0; n--) {
                    env.put(randomString(true), randomString(false));
                }
                ForkOptions o = ForkOptions.builder().argv0(randomString(false)).args(args).environment(env).build();
                try (UsermodeProcess p = probe.fork(o)) {
                    Map<String, String> seen = TestBlobs.probe(p);
                    assertEquals(0, p.waitFor());
                    assertEquals(Integer.toString(args.size() + 1), seen.get("argc"), "seed " + SEED + " case " + i);
                    assertEquals(o.argv0(), seen.get("argv[0]"));
                    for (int a = 0; a < args.size(); a++) {
                        assertEquals(args.get(a), seen.get("argv[" + (a + 1) + "]"), "seed " + SEED + " case " + i);
                    }
                    StringBuilder expected = new StringBuilder();
                    env.forEach((k, v) -> expected.append(k).append('=').append(v).append('\n'));
                    assertEquals(expected.toString(), seen.get("env"), "seed " + SEED + " case " + i);
                }
            }
        }
    }

    /** Printable and non-ASCII text without NUL, newline (the probe's line format) or, in names, '='. */
    private String randomString(boolean name) {
        StringBuilder s = new StringBuilder();
        int len = (name ? 1 : 0) + random.nextInt(20);
        while (s.length() < len) {
            int cp = random.nextInt(4) == 0 ? 0xA0 + random.nextInt(0x2000) : 0x20 + random.nextInt(0x5F);
            if (cp == '=' && name) {
                continue;
            }
            s.appendCodePoint(cp);
        }
        return s.toString();
    }
}
