package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * ForkOptions.defaults() is made without a Builder (a class less for a fresh JVM's first fork):
 * it must be exactly what {@code builder().build()} gives, every field, the derived ones the
 * native spawn reads (ids, rlimits, argv) included.
 */
class ForkOptionsDefaultsTest {
    @Test
    void theDefaultsAreWhatTheBuilderBuilds() throws Exception {
        ForkOptions defaults = ForkOptions.defaults();
        ForkOptions built = ForkOptions.builder().build();
        int compared = 0;
        for (Field f : ForkOptions.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers())) {
                continue;
            }
            f.setAccessible(true);
            assertEquals(value(f.get(built)), value(f.get(defaults)), f.getName());
            compared++;
        }
        assertTrue(compared >= 24, compared + " fields compared");
        assertEquals(built.spawnFlags(), defaults.spawnFlags());
    }

    /** A field's value, comparable by equals: arrays (the argv block among them) by their contents. */
    private static Object value(Object v) {
        if (v instanceof int[]) {
            return Arrays.toString((int[]) v);
        }
        if (v instanceof long[]) {
            return Arrays.toString((long[]) v);
        }
        if (v instanceof byte[]) {
            return Arrays.toString((byte[]) v);
        }
        return v;
    }
}
