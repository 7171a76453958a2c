package io.umh;

/**
 * umh's "io.umh" System.Logger, looked up at the first message that is written: finding it sets
 * up the System.LoggerFinder service and java.util.logging, tens of milliseconds in a fresh JVM,
 * which a first fork that logs nothing should not pay. WARNING and above always go to the logger;
 * DEBUG and TRACE only in a JVM that configures java.util.logging
 * ({@code -Djava.util.logging.config.file} or {@code .class}) or sets {@code -Dumh.log=true}
 * (for another System.LoggerFinder, such as an SLF4J or Log4j bridge), where the logger's own level decides.
 */
final class Log {
    static final Log LOG = new Log();
    private static final boolean VERBOSE = System.getProperty("java.util.logging.config.file") != null
            || System.getProperty("java.util.logging.config.class") != null || Boolean.getBoolean("umh.log");

    private Log() {}

    private static final class Holder {
        static final System.Logger LOGGER = System.getLogger("io.umh");
    }

    /** Whether DEBUG could be written: false, without touching System.Logger.Level (a class outside CDS), unless configured. */
    boolean debug() {
        return VERBOSE && isLoggable(System.Logger.Level.DEBUG);
    }

    /** As {@link #debug()}, for TRACE. */
    boolean trace() {
        return VERBOSE && isLoggable(System.Logger.Level.TRACE);
    }

    boolean isLoggable(System.Logger.Level level) {
        return (VERBOSE || level.getSeverity() >= System.Logger.Level.INFO.getSeverity()) && Holder.LOGGER.isLoggable(level);
    }

    void log(System.Logger.Level level, String message) {
        if (isLoggable(level)) {
            Holder.LOGGER.log(level, message);
        }
    }
}
