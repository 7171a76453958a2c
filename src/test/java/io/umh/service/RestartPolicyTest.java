package io.umh.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.function.DoubleSupplier;

import io.umh.service.UsermodeService.Restart;

import org.junit.jupiter.api.Test;

/**
 * The restart policy alone, on a clock the test moves by hand and a random source it chooses:
 * exact delays, no sleeps, no processes. ServiceTest checks the same rules with real helpers.
 */
class RestartPolicyTest {
    private static final long MS = 1_000_000;
    private static final long GIVE_UP = RestartPolicy.GIVE_UP;
    private static final DoubleSupplier HALF = () -> 0.5; // with jitter 0 it makes no difference

    private long now = -5_000 * MS; // System.nanoTime() may be negative too

    private RestartPolicy policy(long initialMs, long maxMs, double jitter, int limit, Duration window, DoubleSupplier random) {
        return new RestartPolicy(Restart.ALWAYS, Duration.ofMillis(initialMs), Duration.ofMillis(maxMs), jitter, limit,
                window, () -> now, random);
    }

    private static RestartPolicy restart(Restart restart) {
        return new RestartPolicy(restart, Duration.ofMillis(100), Duration.ofSeconds(30), 0.2, 5, Duration.ofMinutes(1),
                System::nanoTime, Math::random);
    }

    /** {@code n} delays in a row, at the same instant. */
    private static List<Long> delays(RestartPolicy p, int n) {
        List<Long> delays = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            delays.add(p.nextDelay());
        }
        return delays;
    }

    @Test
    void whetherAnExitIsRestartedDependsOnThePolicyAndTheFailure() {
        assertFalse(restart(Restart.NEVER).restartsAfter(true));
        assertFalse(restart(Restart.NEVER).restartsAfter(false));
        assertTrue(restart(Restart.ON_FAILURE).restartsAfter(true));
        assertFalse(restart(Restart.ON_FAILURE).restartsAfter(false));
        assertTrue(restart(Restart.ALWAYS).restartsAfter(true));
        assertTrue(restart(Restart.ALWAYS).restartsAfter(false));
    }

    /** The builder's defaults without jitter: 100 ms, doubled per restart within the minute, the 6th refused. */
    @Test
    void theBackoffDoublesPerRestartWithinTheWindowAndTheOneAfterTheLimitGivesUp() {
        RestartPolicy p = policy(100, 30_000, 0, 5, Duration.ofMinutes(1), HALF);
        assertEquals(List.of(100 * MS, 200 * MS, 400 * MS, 800 * MS, 1600 * MS, GIVE_UP, GIVE_UP), delays(p, 7));
        assertEquals(5, p.limit());
        assertEquals(Duration.ofMinutes(1), p.window());
    }

    @Test
    void theBackoffStopsAtItsMax() {
        RestartPolicy p = policy(100, 1000, 0, 100, Duration.ofMinutes(1), HALF);
        assertEquals(List.of(100 * MS, 200 * MS, 400 * MS, 800 * MS, 1000 * MS, 1000 * MS, 1000 * MS), delays(p, 7));
        assertEquals(1000 * MS, delays(p, 90).get(89)); // 2^96 times the initial: no overflow
    }

    /** A restart granted a whole window ago no longer counts, for the limit nor for the backoff. */
    @Test
    void restartsAWindowAgoAreForgotten() {
        Duration window = Duration.ofSeconds(10);
        RestartPolicy p = policy(100, 30_000, 0, 3, window, HALF);
        long start = now;
        assertEquals(100 * MS, p.nextDelay());
        now += 1_000 * MS;
        assertEquals(200 * MS, p.nextDelay());
        now += 1_000 * MS;
        assertEquals(400 * MS, p.nextDelay());
        now += 1_000 * MS;
        assertEquals(GIVE_UP, p.nextDelay());
        now = start + window.toNanos() - 1; // the first is still within the window
        assertEquals(GIVE_UP, p.nextDelay());
        now = start + window.toNanos(); // now it is not: two remain
        assertEquals(400 * MS, p.nextDelay());
        assertEquals(GIVE_UP, p.nextDelay());
        now += window.toNanos(); // all forgotten
        assertEquals(List.of(100 * MS, 200 * MS, 400 * MS, GIVE_UP), delays(p, 4));
    }

    /** One restart per window, spaced wider than the window: never refused, never longer (ServiceTest's theWindowForgetsOldRestarts). */
    @Test
    void oneRestartPerWindowSpacedWiderNeverGrows() {
        RestartPolicy p = policy(20, 10_000, 0, 1, Duration.ofMillis(5), HALF);
        for (int i = 0; i < 10; i++) {
            assertEquals(20 * MS, p.nextDelay());
            now += 20 * MS;
        }
    }

    @Test
    void aLimitOfZeroGivesUpAtOnce() {
        assertEquals(List.of(GIVE_UP, GIVE_UP), delays(policy(100, 100, 0, 0, Duration.ofMinutes(1), HALF), 2));
    }

    /** Jitter 0.25 of 800 ms: the random number r (0 to 1, 1 excluded) takes r * 25 % off: 600 to 800 ms. */
    @Test
    void jitterTakesOffARandomFractionUpToItself() {
        assertEquals(800 * MS, policy(800, 800, 0.25, 10, Duration.ofMinutes(1), () -> 0.0).nextDelay());
        assertEquals(700 * MS, policy(800, 800, 0.25, 10, Duration.ofMinutes(1), () -> 0.5).nextDelay());
        long least = policy(800, 800, 0.25, 10, Duration.ofMinutes(1), () -> Math.nextDown(1.0)).nextDelay();
        assertTrue(least >= 600 * MS && least < 600 * MS + 10, Long.toString(least));
        // it applies after the doubling and the max: 100, 200, 400, 800, 800 ms, each less 12.5 %
        assertEquals(List.of(87_500_000L, 175 * MS, 350 * MS, 700 * MS, 700 * MS),
                delays(policy(100, 800, 0.25, 10, Duration.ofMinutes(1), () -> 0.5), 5));
    }

    /** With a seeded Random: every delay within the bounds, they differ, and the same seed gives the same ones. */
    @Test
    void seededJitterStaysWithinItsBoundsAndRepeats() {
        List<Long> delays = delays(policy(800, 800, 0.25, 1000, Duration.ofMinutes(1), new Random(13)::nextDouble), 1000);
        for (long d : delays) {
            assertTrue(d >= 600 * MS && d <= 800 * MS, Long.toString(d));
        }
        assertTrue(new HashSet<>(delays).size() > 900, "too few distinct delays");
        assertEquals(delays, delays(policy(800, 800, 0.25, 1000, Duration.ofMinutes(1), new Random(13)::nextDouble), 1000));
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> RestartPolicy.checkBackoff(Duration.ofMillis(-1), Duration.ZERO, 0));
        assertThrows(IllegalArgumentException.class, () -> RestartPolicy.checkBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1), 0));
        assertThrows(NullPointerException.class, () -> RestartPolicy.checkBackoff(null, Duration.ZERO, 0));
        assertThrows(NullPointerException.class, () -> RestartPolicy.checkBackoff(Duration.ZERO, null, 0));
        for (double jitter : new double[] {-0.1, 1.1, Double.NaN}) {
            assertThrows(IllegalArgumentException.class, () -> RestartPolicy.checkBackoff(Duration.ZERO, Duration.ZERO, jitter));
        }
        RestartPolicy.checkBackoff(Duration.ZERO, Duration.ZERO, 1); // no wait at all, and full jitter: allowed
        assertThrows(IllegalArgumentException.class, () -> RestartPolicy.checkLimit(-1, Duration.ofMinutes(1)));
        assertThrows(IllegalArgumentException.class, () -> RestartPolicy.checkLimit(1, Duration.ZERO));
        assertThrows(NullPointerException.class, () -> RestartPolicy.checkLimit(1, null));
        assertThrows(IllegalArgumentException.class, () -> policy(100, 10, 0, 1, Duration.ofMinutes(1), HALF));
    }
}
