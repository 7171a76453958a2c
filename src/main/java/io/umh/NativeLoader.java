package io.umh;

import io.umh.internal.Platform;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.net.URL;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * Finds and loads libumh.so, and when it cannot, says what it tried and why each way failed.
 *
 * <ol>
 *   <li>{@code -Dumh.native.path=/path/libumh.so}: an installed library, and nothing else.
 *   <li>{@code META-INF/native/<classifier>/libumh.so} from the class path (the platform jar),
 *       loaded from a memfd: no file at all ({@link MemfdLoader}: JDK 22+ with native access
 *       enabled; skipped when {@code -Dumh.native.dir} asks for extraction).
 *   <li>The same resource extracted under a content-hash name into {@code -Dumh.native.dir} or
 *       java.io.tmpdir: written to a temporary name and renamed into place, so concurrent JVMs
 *       never see a partial file, and an existing copy is reused if the same user owns it alone.
 * </ol>
 */
final class NativeLoader {
    private static final System.Logger LOG = System.getLogger("io.umh");

    private NativeLoader() {}

    static void load() {
        String explicit = System.getProperty("umh.native.path");
        if (explicit != null) {
            loadOrExplain(Paths.get(explicit), "-Dumh.native.path=" + explicit, new ArrayList<>());
            return;
        }
        String classifier = Platform.classifier();
        String resource = "/META-INF/native/" + classifier + "/libumh.so";
        List<String> tried = new ArrayList<>();
        byte[] lib;
        URL url = NativeLoader.class.getResource(resource);
        if (url == null) {
            throw new UnsatisfiedLinkError("umh: no " + resource + " on the class path; add the platform jar"
                    + " io.umh:umh:<version>:" + classifier + " or set -Dumh.native.path");
        }
        try (InputStream in = url.openStream()) {
            lib = in.readAllBytes();
        } catch (IOException e) {
            throw linkError("umh: cannot read " + resource + ": " + e, e);
        }
        String dirName = System.getProperty("umh.native.dir");
        if (dirName == null) {
            String whyNot = MemfdLoader.load(lib);
            if (whyNot == null) {
                LOG.log(Level.DEBUG, "umh: loaded native library {0} (from a memfd: no file written)", url);
                return;
            }
            tried.add("a memfd: " + whyNot);
            dirName = System.getProperty("java.io.tmpdir");
        }
        Path target;
        try {
            target = extract(lib, Paths.get(dirName));
        } catch (IOException e) {
            tried.add("extracting " + resource + " into " + dirName + ": " + e);
            throw linkError("umh: cannot load the native library; tried: " + String.join("; ", tried)
                    + ". Set -Dumh.native.dir to a writable, executable directory or -Dumh.native.path", e);
        }
        loadOrExplain(target, "extracted from " + url, tried);
    }

    private static void loadOrExplain(Path path, String how, List<String> tried) {
        try {
            System.load(path.toAbsolutePath().toString());
            LOG.log(Level.DEBUG, "umh: loaded native library {0} ({1})", path.toAbsolutePath(), how);
        } catch (UnsatisfiedLinkError e) {
            tried.add(how + " -> " + path + ": " + e.getMessage());
            throw linkError("umh: cannot load the native library; tried: " + String.join("; ", tried)
                    + ". A noexec directory? Set -Dumh.native.dir to an executable one, or -Dumh.native.path", e);
        }
    }

    /**
     * The name carries the uid, and a copy is reused only if that uid owns it and no one else may
     * write it. In a shared directory such as /tmp, anyone can put the genuine bytes under the
     * expected name: its owner could rewrite them between our check and our load (and a JVM running
     * as root would load that user's code), or keep them unreadable to us.
     */
    private static Path extract(byte[] lib, Path dir) throws IOException {
        Integer uid = effectiveUid();
        Path target = dir.resolve("libumh-" + sha256(lib).substring(0, 32) + "-" + uid + ".so");
        if (ownedByAlone(target, uid) && Files.size(target) == lib.length
                && sha256(Files.readAllBytes(target)).equals(sha256(lib))) {
            return target;
        }
        Files.createDirectories(dir);
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
        return target;
    }

    /** The uid files we create belong to. */
    private static Integer effectiveUid() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return Integer.valueOf(line.split("\\s+")[2]);
            }
        }
        throw new IOException("no Uid: line in /proc/self/status");
    }

    /** A regular file (not a link) owned by {@code uid} that neither its group nor others may write. */
    private static boolean ownedByAlone(Path file, Object uid) throws IOException {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
        return uid.equals(Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS))
                && !perms.contains(PosixFilePermission.GROUP_WRITE) && !perms.contains(PosixFilePermission.OTHERS_WRITE);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static UnsatisfiedLinkError linkError(String message, Throwable cause) {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError(message);
        e.initCause(cause);
        return e;
    }
}
