/**
 * umh: run a program's bytes as a child process from a sealed memfd. The API is the packages
 * {@link io.umh} (processes) and {@link io.umh.service} (channels and services, on top); everything
 * else in them is package-private. Not exported: {@code io.umh.internal}, what both share, and
 * {@code io.umh.cli}, the platform jar's command line (its Main-Class) and demo.
 *
 * <p>On the module path the shim is loaded from this module ({@code System.load} in
 * {@code io.umh}): run with {@code --enable-native-access=io.umh} (JDK 24 and later warn
 * otherwise). JDK Flight Recorder events are emitted only when the {@code jdk.jfr} module is in
 * the boot layer; without it nothing in umh touches {@code jdk.jfr}.
 */
module io.umh {
    requires static jdk.jfr;

    exports io.umh;
    exports io.umh.service;
}
