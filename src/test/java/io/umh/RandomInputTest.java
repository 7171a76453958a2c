package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random and hostile input, from a fixed seed (set -Dumh.seed to explore others): every input
 * either runs or fails with an IOException naming the errno, and nothing leaks.
 */
@Timeout(120)
@org.junit.jupiter.api.extension.ExtendWith(NothingLeaked.class)
class RandomInputTest {
    private static final long SEED = Long.getLong("umh.seed", 20261129L);
    private final Random random = new Random(SEED);



    /** Runs the blob: it either fails to exec with an errno, or runs (and is killed if it lingers). */
    private static void runsOrFailsClearly(byte[] blob, ForkOptions o, String what) throws Exception {
        try (UsermodeProcess p = Umh.forkUsermodeBlob(blob, o)) {
            p.pipeToUmh().close();
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            assertTrue(e.getMessage().matches("fork: [a-z_0-9()]+ failed: E[A-Z0-9]+ \\(.+\\).*|load: a truncated ELF .*"),
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

    /**
     * ELF headers cut at every length up to 64, then a few longer prefixes of a real program: once
     * its class byte is there, each is refused at load; before, the exec fails.
     */
    @Test
    void truncatedElf() throws Exception {
        byte[] elf = TestBlobs.bytes("exit");
        for (int len = 1; len <= 4; len++) {
            runsOrFailsClearly(Arrays.copyOf(elf, len), ForkOptions.defaults(), "ELF cut at " + len);
        }
        for (int len : new int[] {5, 20, 63, 64, 65, 128, 623, 624, 1000, 4096, 65536, elf.length / 2}) {
            byte[] cut = Arrays.copyOf(elf, len);
            IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> Umh.load(cut));
            assertTrue(e.getMessage().startsWith("load: a truncated ELF of " + len + " bytes: "), e.getMessage());
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
            assertTrue(e.getMessage().startsWith("fork: execveat failed: E2BIG (Argument list too long): "), e.getMessage());
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

    /**
     * Random combinations of every option, bad values among them (NUL bytes, '=' in a name, a
     * reading redirect, umask and limits out of range, a limit above the hard one, a missing or
     * unreadable directory, a stderr file in a missing directory, tiny NOFILE/AS/STACK/NPROC
     * limits, another user). Each case: building fails with an IllegalArgumentException exactly
     * when a bad value went in, and forking either runs (to an exit or a signal) or fails with
     * {@code fork: <call> failed: E<NAME> (...)}. Every failure names the seed and the case.
     */
    @Test
    void randomOptionCombinations(@TempDir Path tmp) throws Exception {
        boolean root = TestBlobs.root();
        int built = 0;
        int ran = 0;
        int failed = 0;
        Map<String, Integer> causes = new java.util.TreeMap<>();
        try (UsermodeBlob exit = Umh.load(TestBlobs.bytes("exit"))) {
            for (int i = 0; i < 300; i++) {
                StringBuilder what = new StringBuilder("seed " + SEED + " case " + i + ":");
                boolean bad = false;
                ForkOptions o;
                try {
                    ForkOptions.Builder b = ForkOptions.builder();
                    if (random.nextBoolean()) {
                        String argv0 = maybeWithNul(randomString(false));
                        bad |= argv0.indexOf(0) >= 0;
                        b.argv0(argv0);
                        what.append(" argv0=").append(printable(argv0));
                    }
                    List<String> args = new ArrayList<>();
                    args.add(Integer.toString(random.nextInt(256))); // the exit status
                    for (int n = random.nextInt(4); n > 0; n--) {
                        args.add(maybeWithNul(randomString(false)));
                        bad |= args.get(args.size() - 1).indexOf(0) >= 0;
                    }
                    b.args(args);
                    what.append(" args=").append(printable(args.toString()));
                    if (random.nextBoolean()) {
                        Map<String, String> env = new LinkedHashMap<>();
                        for (int n = random.nextInt(4); n > 0; n--) {
                            String name = random.nextInt(12) == 0 ? pick("", "A=B", "X\0Y")
                                    : randomString(true);
                            String value = maybeWithNul(randomString(false));
                            bad |= name.isEmpty() || name.indexOf('=') >= 0 || name.indexOf(0) >= 0 || value.indexOf(0) >= 0;
                            env.put(name, value);
                        }
                        b.environment(env);
                        what.append(" env=").append(printable(env.toString()));
                    }
                    if (random.nextInt(3) == 0) {
                        Path dir = Paths.get(pick("/", "/tmp", tmp.toString(), "/nonexistent-umh", "/etc/hostname"));
                        b.directory(dir);
                        what.append(" dir=").append(dir);
                    }
                    if (random.nextInt(3) == 0) {
                        int r = random.nextInt(6);
                        Redirect redirect = r == 0 ? Redirect.PIPE : r == 1 ? Redirect.DISCARD
                                : r == 2 ? Redirect.to(tmp.resolve("err").toFile())
                                : r == 3 ? Redirect.appendTo(tmp.resolve("no/such/dir").toFile())
                                : r == 4 ? Redirect.INHERIT : Redirect.from(tmp.resolve("in").toFile());
                        bad |= r == 5;
                        b.redirectError(redirect);
                        what.append(" stderr=").append(redirect);
                    }
                    b.killOnParentDeath(random.nextBoolean()).noNewPrivileges(random.nextBoolean())
                            .newSession(random.nextBoolean());
                    if (random.nextInt(4) == 0) {
                        int mask = random.nextInt(0x240) - 0x20; // some below 0, some above 0777
                        bad |= mask < 0 || mask > 0777;
                        what.append(" umask=").append(mask);
                        b.umask(mask);
                    }
                    if (random.nextInt(5) == 0) {
                        int id = pick(65534, 0, -1);
                        bad |= id < 0;
                        what.append(" user=").append(id);
                        b.user(id, id);
                    }
                    // no core files: a helper that a tiny AS or STACK limit crashes would leave one in its directory
                    b.resourceLimit(ForkOptions.Resource.CORE_SIZE, 0, 0);
                    for (int n = random.nextInt(3); n > 0; n--) {
                        ForkOptions.Resource res = pick(ForkOptions.Resource.values());
                        if (res == ForkOptions.Resource.CORE_SIZE) {
                            continue;
                        }
                        long soft = pick(0L, 1L, 4L, 64L << 10, 1L << 30, ForkOptions.UNLIMITED, -2L);
                        long hard = pick(soft, 1L << 30, ForkOptions.UNLIMITED, 4L);
                        bad |= soft < -1 || hard < -1 || (hard != -1 && (soft == -1 || soft > hard));
                        what.append(" limit ").append(res).append('=').append(soft).append(':').append(hard);
                        b.resourceLimit(res, soft, hard);
                    }
                    o = b.build();
                } catch (IllegalArgumentException e) {
                    assertTrue(bad, what + ": refused a good value: " + e);
                    assertTrue(e.getMessage() != null && !e.getMessage().isEmpty(), what + ": no message");
                    continue;
                }
                assertTrue(!bad, what + ": accepted a bad value");
                built++;
                try (UsermodeProcess p = exit.fork(o)) {
                    p.pipeToUmh().close();
                    if (!p.waitFor(10, TimeUnit.SECONDS)) {
                        throw new AssertionError(what + ": still running after 10 s");
                    }
                    ran++;
                } catch (IOException e) {
                    assertTrue(e.getMessage().matches("fork: [a-z_0-9()]+ failed: E[A-Z0-9]+ \\(.+\\).*"),
                            what + ": " + e.getMessage());
                    failed++;
                    causes.merge(e.getMessage().replaceAll(" \\(.*", ""), 1, Integer::sum);
                }
                assertEquals(List.of(), TestBlobs.zombieChildren(), what.toString());
            }
        }
        System.out.printf("randomOptionCombinations, seed %d: %d built, %d ran, %d failed to fork %s (root: %s)%n",
                SEED, built, ran, failed, causes, root);
        assertTrue(ran > 0 && failed > 0, "seed " + SEED + ": " + ran + " ran, " + failed + " failed: too few of either");
    }

    /** {@code s} with a NUL put in one time out of ten. */
    private String maybeWithNul(String s) {
        if (random.nextInt(10) != 0) {
            return s;
        }
        int at = random.nextInt(s.length() + 1);
        return s.substring(0, at) + '\0' + s.substring(at);
    }

    @SafeVarargs
    private <T> T pick(T... choices) {
        return choices[random.nextInt(choices.length)];
    }

    private static String printable(String s) {
        return s.replace("\0", "\\0");
    }
}
