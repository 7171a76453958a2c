package io.umh;

import io.umh.internal.Platform;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32;

/**
 * Finds and loads libumh.so, and when it cannot, says what it tried and why each way failed.
 *
 * <ol>
 *   <li>{@code -Dumh.native.path=/path/libumh.so}: an installed library, and nothing else.
 *   <li>{@code META-INF/native/<classifier>/libumh.so} from the class path (the platform jar),
 *       loaded from a memfd: no file at all ({@link MemfdLoader}: JDK 22+ with native access
 *       enabled; skipped when {@code -Dumh.native.dir} asks for extraction).
 *   <li>The same resource extracted into {@code -Dumh.native.dir}, or else into the first of
 *       java.io.tmpdir, {@code $XDG_RUNTIME_DIR}, {@code $XDG_CACHE_HOME/umh} (or
 *       {@code ~/.cache/umh}) and the jar's own directory that is not mounted noexec (read from
 *       /proc/self/mountinfo, as a CIS-hardened /tmp is) and takes the file: written to a temporary
 *       name and renamed into place, so concurrent JVMs never see a partial file; an existing copy
 *       is reused if the same user owns it alone and its bytes are the resource's. A directory that
 *       fails is left as it was found (the file and a directory made for it removed).
 * </ol>
 *
 * <p>Nothing here logs on success, hashes with a security provider or parses with a regex: each
 * costs tens of milliseconds in a fresh JVM, whose first fork this load is part of.
 */
final class NativeLoader {
    private NativeLoader() {}

    static void load() {
        String explicit = System.getProperty("umh.native.path");
        if (explicit != null) {
            List<String> tried = new ArrayList<>();
            if (!tryLoad(Paths.get(explicit), tried, "-Dumh.native.path")) {
                throw failure(tried, "-Dumh.native.path names no loadable libumh.so");
            }
            return;
        }
        String classifier = Platform.classifier();
        String resource = "/META-INF/native/" + classifier + "/libumh.so";
        URL url = NativeLoader.class.getResource(resource);
        if (url == null) {
            throw new UnsatisfiedLinkError("umh: no " + resource + " on the class path; add the platform jar"
                    + " io.umh:umh:<version>:" + classifier + " or set -Dumh.native.path");
        }
        byte[] lib;
        try (InputStream in = url.openStream()) {
            lib = in.readAllBytes();
        } catch (IOException e) {
            throw linkError("umh: cannot read " + resource + ": " + e, e);
        }
        List<String> tried = new ArrayList<>();
        String dir = System.getProperty("umh.native.dir");
        if (dir == null) {
            String whyNot = MemfdLoader.load(lib);
            if (whyNot == null) {
                Log.LOG.log(System.Logger.Level.DEBUG, "umh: loaded native library " + url + " (from a memfd: no file written)");
                return;
            }
            tried.add("a memfd: " + whyNot);
        }
        for (Path d : dir != null ? List.of(Paths.get(dir)) : candidates(url)) {
            if (extractAndLoad(lib, d, tried, resource + " extracted into " + d)) {
                return;
            }
        }
        throw failure(tried, "Set -Dumh.native.dir to a writable directory not mounted noexec, or -Dumh.native.path");
    }

    /** Where to extract without -Dumh.native.dir, in order. */
    private static Set<Path> candidates(URL url) {
        Set<Path> dirs = new LinkedHashSet<>();
        dirs.add(Paths.get(System.getProperty("java.io.tmpdir")));
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        if (runtime != null && !runtime.isEmpty()) {
            dirs.add(Paths.get(runtime));
        }
        String cache = System.getenv("XDG_CACHE_HOME");
        dirs.add(cache != null && !cache.isEmpty() ? Paths.get(cache, "umh") : Paths.get(System.getProperty("user.home"), ".cache", "umh"));
        if ("jar".equals(url.getProtocol())) { // jar:file:/path/umh-x.jar!/META-INF/...
            String spec = url.getPath();
            try {
                dirs.add(Paths.get(new java.net.URI(spec.substring(0, spec.indexOf("!/")))).getParent());
            } catch (URISyntaxException | IllegalArgumentException | IndexOutOfBoundsException e) {
                // not a file: jar (a nested or remote one): no directory of its own
            }
        }
        return dirs;
    }

    /** Extracts into dir and loads; false (and why, in tried) if dir is noexec, cannot take the file, or the load fails. */
    private static boolean extractAndLoad(byte[] lib, Path dir, List<String> tried, String how) {
        String noexec = Mounts.noexec(dir);
        if (noexec != null) {
            tried.add(dir + ": " + noexec);
            return false;
        }
        Path made = null; // the directory we created, if any: removed again on failure
        Path target = null;
        boolean written = false;
        try {
            if (!Files.isDirectory(dir)) { // ~/.cache/umh: made, with ~/.cache where the home has none
                Path parent = dir.getParent();
                Path top = parent != null && Files.isDirectory(parent) ? dir : parent;
                if (top == null || top.getParent() == null || !Files.isDirectory(top.getParent())) {
                    tried.add(dir + ": no such directory");
                    return false;
                }
                made = top;
                Files.createDirectories(dir);
            }
            int uid = effectiveUid();
            target = dir.resolve(name(lib, uid));
            if (!sameBytes(target, lib, uid)) {
                write(lib, dir, target);
                written = true;
            }
            if (tryLoad(target, tried, how)) {
                return true;
            }
        } catch (IOException | RuntimeException e) {
            tried.add(dir + ": " + reason(e));
        }
        try {
            if (written) {
                Files.deleteIfExists(target);
            }
            if (made != null) {
                Files.deleteIfExists(dir);
                Files.deleteIfExists(made);
            }
        } catch (IOException e) {
            tried.add(dir + ": could not remove what was written there: " + reason(e));
        }
        return false;
    }

    /** Loads path; false, with how and the JDK's message (which names the path) in tried, if it cannot. */
    private static boolean tryLoad(Path path, List<String> tried, String how) {
        try {
            System.load(path.toAbsolutePath().toString());
            Log.LOG.log(System.Logger.Level.DEBUG, "umh: loaded native library " + path.toAbsolutePath() + " (" + how + ")");
            return true;
        } catch (UnsatisfiedLinkError e) {
            tried.add(how + ": " + e.getMessage());
            return false;
        }
    }

    /** The name carries a CRC-32 of the bytes, their length and the uid: each user's copy of each build. */
    private static String name(byte[] lib, int uid) {
        CRC32 crc = new CRC32(); // zlib's, native: CRC32C is Java code, slow in a fresh JVM's interpreter
        crc.update(lib);
        String hex = Long.toHexString(crc.getValue() | 1L << 32).substring(1); // 8 digits (no Formatter: it parses by regex)
        return "libumh-" + hex + "-" + lib.length + "-" + uid + ".so";
    }

    /**
     * An existing copy is reused only if that uid owns it, no one else may write it, and its bytes
     * are ours. In a shared directory such as /tmp, anyone can put bytes under the expected name: its
     * owner could rewrite them between our check and our load (and a JVM running as root would load
     * that user's code), or keep them unreadable to us. The name's checksum is no proof; the bytes are.
     */
    private static boolean sameBytes(Path file, byte[] lib, int uid) throws IOException {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
        return Integer.valueOf(uid).equals(Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS))
                && !perms.contains(PosixFilePermission.GROUP_WRITE) && !perms.contains(PosixFilePermission.OTHERS_WRITE)
                && Files.size(file) == lib.length && Arrays.equals(Files.readAllBytes(file), lib);
    }

    private static void write(byte[] lib, Path dir, Path target) throws IOException {
        Path tmp = Files.createTempFile(dir, "libumh-", ".tmp"); // ours, mode 0600
        try {
            Files.write(tmp, lib);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The uid files we create belong to: /proc/self/status's "Uid:\treal\teffective\t...". */
    private static int effectiveUid() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                String[] ids = line.substring(4).trim().split("\t");
                return Integer.parseInt(ids[1].trim());
            }
        }
        throw new IOException("no Uid: line in /proc/self/status");
    }

    /** An exception's message without its class, and the path once: "Read-only file system". */
    private static String reason(Exception e) {
        if (e instanceof java.nio.file.FileSystemException) {
            String r = ((java.nio.file.FileSystemException) e).getReason();
            return r != null ? r : e.getClass().getSimpleName();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static UnsatisfiedLinkError failure(List<String> tried, String advice) {
        return new UnsatisfiedLinkError("umh: cannot load its native library; tried " + String.join("; ", tried) + ". " + advice);
    }

    private static UnsatisfiedLinkError linkError(String message, Throwable cause) {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError(message);
        e.initCause(cause);
        return e;
    }
}
