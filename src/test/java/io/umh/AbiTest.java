package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/**
 * The Java half of the numbers shared with C: umh_jni.c asserts every {@link Abi} constant against
 * umh.h at compile time; this checks that Java's {@link Step} enum names each STEP_ constant once
 * (BadInputTest's chdir and pipe size messages show a real failure decoded to its step).
 */
class AbiTest {
    @Test
    void everyStepConstantHasItsEnumConstant() throws Exception {
        Map<Integer, String> codes = new TreeMap<>();
        for (Field f : Abi.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getName().startsWith("STEP_") && !f.getName().equals("STEP_COUNT")) {
                String name = f.getName().substring(5);
                int code = f.getInt(null);
                assertEquals(null, codes.put(code, name), "two steps numbered " + code);
                assertEquals(code, Step.valueOf(name).code, name);
            }
        }
        assertEquals(Abi.STEP_COUNT, codes.size());
        assertEquals(Abi.STEP_COUNT, Step.values().length);
        for (int i = 0; i < Abi.STEP_COUNT; i++) {
            assertTrue(codes.containsKey(i), "no step numbered " + i);
        }
        assertEquals(Step.NONE, Step.of(Abi.STEP_COUNT));
        assertEquals(Step.NONE, Step.of(-1));
    }
}
