package io.umh.internal;

import java.util.Locale;

/**
 * The platform umh runs on, as the platform jars' classifier names it. Not API: public only so
 * that {@code io.umh} (the shim's resource) and {@code io.umh.cli} (the demo helper's) agree.
 */
public final class Platform {
    private Platform() {}

    /**
     * {@code linux-x86_64} or {@code linux-aarch_64}: the directory under {@code META-INF/native/}
     * that holds this platform's files in its platform jar.
     *
     * @throws UnsatisfiedLinkError anywhere else, saying what is supported
     */
    public static String classifier() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux")) {
            throw new UnsatisfiedLinkError("umh runs on Linux only, not on " + os
                    + ": it execs from a memfd with clone/execveat");
        }
        switch (arch) {
            case "amd64": case "x86_64": return "linux-x86_64";
            case "aarch64": case "arm64": return "linux-aarch_64";
            default:
                throw new UnsatisfiedLinkError("umh has no native library for CPU " + arch
                        + "; supported: linux-x86_64, linux-aarch_64");
        }
    }
}
