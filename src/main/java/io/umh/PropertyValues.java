package io.umh;

import java.time.Duration;
import java.time.format.DateTimeParseException;

/**
 * The parsing of the -D values a user may set: a class of its own, loaded only where one is set,
 * so that verifying the classes that read them (Spawner, ShutdownHook), which every first fork
 * does, loads none of the JDK's exceptions for malformed numbers and durations (classes outside
 * its CDS archive, each a cost of a fresh JVM's first fork: ColdStartTest).
 */
final class PropertyValues {
    private PropertyValues() {}

    /** {@code value} (trimmed) as a decimal int, or {@code invalid} if it is none. */
    static int integer(String value, int invalid) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            return invalid;
        }
    }

    /** {@code value} (trimmed) as milliseconds or an ISO-8601 duration; null if it is neither, or negative. */
    static Duration duration(String value) {
        String v = value.trim();
        try {
            Duration d = v.matches("[0-9]+") ? Duration.ofMillis(Long.parseLong(v)) : Duration.parse(v);
            return d.isNegative() ? null : d;
        } catch (DateTimeParseException | NumberFormatException | ArithmeticException e) {
            return null;
        }
    }
}
