package io.umh;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Finds and loads libumh.so, and when it cannot, says what it tried and why each way failed.
 *
 * <ol>
 *   <li>{@code -Dumh.native.path=/path/libumh.so}: an installed library, and nothing else.
 *   <li>{@code META-INF/native/<classifier>/libumh.so} from the class path (the platform jar)
 *       extracted into {@code -Dumh.native.dir}, or else into the first of
 *       java.io.tmpdir, {@code $XDG_RUNTIME_DIR}, {@code $XDG_CACHE_HOME/umh} (or
 *       {@code ~/.cache/umh}) and the jar's own directory where an existing copy is ours, or else
 *       that is not mounted noexec (read from /proc/self/mountinfo, as a CIS-hardened /tmp is) and
 *       takes the file: written to a temporary name and renamed into place, so concurrent JVMs
 *       never see a partial file. An existing copy is reused if the same user owns it alone and
 *       its bytes are the resource's. A directory that fails is left as it was found (the file and
 *       a directory made for it removed).
 *   <li>Where no directory takes it, the same resource loaded from a memfd: no file at all
 *       ({@link MemfdLoader}: JDK 22+ with native access enabled; not when {@code -Dumh.native.dir}
 *       asks for extraction). {@code -Dumh.native.memfd=true} tries it first. Not first by default:
 *       the FFM API's first use costs a fresh JVM ~60-80 ms (JDK 25), five times ProcessBuilder's
 *       whole first start, where reusing the extracted copy costs ~1 ms.
 * </ol>
 *
 * <p>The resource is looked for first in the jar (or class directory) that umh's own classes come
 * from, read with {@link ZipFile}, whose central directory the class loader has already read:
 * its entry gives the CRC-32 and length that name the copy without reading a byte. Only where that
 * jar does not hold it (the classes and the shim in different jars, or a nested jar) is it looked
 * up on the class path as a URL, whose JarURLConnection costs a dozen classes outside the JDK's
 * CDS archive.
 *
 * <p>Nothing here logs on success, hashes with a security provider or parses with a regex: each
 * costs tens of milliseconds in a fresh JVM, whose first fork this load is part of. A JVM that
 * finds its copy in place writes nothing and reads no mountinfo.
 */
final class NativeLoader {
    static void load() {
        String explicit = System.getProperty("umh.native.path");
        if (explicit != null) {
            List<String> tried = new ArrayList<>();
            if (!tryLoad(Paths.get(explicit), tried, "-Dumh.native.path")) {
                throw failure(tried, "-Dumh.native.path names no loadable libumh.so");
            }
            return;
        }
        String classifier = platform();
        String resource = "META-INF/native/" + classifier + "/libumh.so";
        NativeLoader shim = find(resource);
        if (shim == null) {
            throw new UnsatisfiedLinkError("umh: no /" + resource + " on the class path; add the platform jar"
                    + " io.umh:umh:<version>:" + classifier + " or set -Dumh.native.path");
        }
        List<String> tried = new ArrayList<>();
        String dir = System.getProperty("umh.native.dir");
        // the memfd writes no file but costs a fresh JVM the FFM API's first use (~60-80 ms): last,
        // where no directory takes the copy, unless -Dumh.native.memfd=true puts it first
        boolean memfdFirst = dir == null && Boolean.getBoolean(MEMFD_PROPERTY);
        if (memfdFirst && loadFromMemfd(shim, tried)) {
            return;
        }
        Path first = Paths.get(dir != null ? dir : System.getProperty("java.io.tmpdir"));
        if (extractAndLoad(shim, first, tried, "/" + resource + " extracted into " + first)) {
            return;
        }
        if (dir == null) {
            for (Path d : candidates(shim)) { // the environment read only now: System.getenv costs ~10 classes
                if (!d.equals(first) && extractAndLoad(shim, d, tried, "/" + resource + " extracted into " + d)) {
                    return;
                }
            }
        }
        if (dir == null && !memfdFirst && loadFromMemfd(shim, tried)) {
            return;
        }
        throw failure(tried, "Set -Dumh.native.dir to a writable directory not mounted noexec, or -Dumh.native.path");
    }

    /** {@link Umh#platform()}: the classifier under META-INF/native/ (here, not a class of its own: one class less for a first load). */
    static String platform() {
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

    /** What was loaded and how, for {@link #logLoaded()}. */
    private static volatile String loaded;

    /**
     * The DEBUG line that says where the shim came from: written by the cleaner thread once the
     * shim is loaded, not by the load, so that no class of the logger's is loaded on the way to the
     * shim, which a first load waits for.
     */
    static void logLoaded() {
        String s = loaded;
        if (s != null && Log.LOG.debug()) {
            Log.LOG.log(System.Logger.Level.DEBUG, "umh: loaded native library " + s);
        }
    }

    /** -Dumh.native.memfd=true: load the shim from a memfd before any extraction (no file written, a slower first load). */
    static final String MEMFD_PROPERTY = "umh.native.memfd";

    /** The shim loaded from a memfd (JDK 22+ with native access); else false, and why not added to {@code tried}. */
    private static boolean loadFromMemfd(NativeLoader shim, List<String> tried) {
        int jdk = Runtime.version().feature(); // before 22 MemfdLoader, and its reflection, is not even loaded
        String whyNot = jdk < 22 ? "needs JDK 22+ (the FFM API), this is JDK " + jdk : MemfdLoader.load(shim);
        if (whyNot != null) {
            tried.add("a memfd: " + whyNot);
            return false;
        }
        loaded = shim + " (from a memfd: no file written)";
        return true;
    }

    // An instance is libumh.so's bytes, where they are: an entry of a jar, a file of a class directory,
    // or a class path URL; their CRC-32 and length known before they are read where the jar's directory
    // says. The loader itself, not a class of its own: one class less for a first fork (ColdStartTest).
    private final Path jar;       // the jar whose entry it is, or null
    private final String entry;   // the entry's name in the jar
    private final URL url;        // where it is, if not in a jar (there: made for messages only, by toString)
    private byte[] bytes;         // once read
    private long crc;             // -1 until known
    private long size;            // -1 until known

    private NativeLoader(Path jar, String entry, URL url, byte[] bytes, long crc, long size) {
        this.jar = jar;
        this.entry = entry;
        this.url = url;
        this.bytes = bytes;
        this.crc = crc;
        this.size = size;
    }

    /** umh's own jar's or class directory's {@code resource}, else the class path's; null if neither has it. */
    static NativeLoader find(String resource) {
        Path home = codeSource();
        try {
            if (home != null && Files.isDirectory(home)) {
                Path file = home.resolve(resource);
                if (Files.isRegularFile(file)) {
                    return new NativeLoader(null, null, file.toUri().toURL(), Files.readAllBytes(file), -1, -1);
                }
            } else if (home != null) {
                try (ZipFile zip = new ZipFile(home.toFile())) { // the class loader's open jar: its directory is shared
                    ZipEntry e = zip.getEntry(resource);
                    if (e != null) {
                        return new NativeLoader(home, resource, null, null, e.getCrc(), e.getSize());
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // not readable as a plain jar or directory: the class path's URL below says for itself
        }
        URL url = NativeLoader.class.getResource("/" + resource);
        return url == null ? null : new NativeLoader(null, null, url, null, -1, -1);
    }

    /** The jar or directory NativeLoader was loaded from, if it is a file of the default file system. */
    private static Path codeSource() {
        try {
            CodeSource cs = NativeLoader.class.getProtectionDomain().getCodeSource();
            URL location = cs == null ? null : cs.getLocation();
            // URI.create, not URL.toURI: its checked URISyntaxException is a JDK class outside CDS that
            // verifying this class would load on every first fork (so with each exception caught here)
            return location == null || !"file".equals(location.getProtocol()) ? null : Paths.get(URI.create(location.toString()));
        } catch (RuntimeException e) { // a SecurityException, a URI no Path takes
            return null;
        }
    }

    byte[] bytes() throws IOException {
        if (bytes == null) {
            if (jar != null) {
                try (ZipFile zip = new ZipFile(jar.toFile()); InputStream in = zip.getInputStream(zip.getEntry(entry))) {
                    bytes = in.readAllBytes();
                }
            } else {
                try (InputStream in = url.openStream()) {
                    bytes = in.readAllBytes();
                }
            }
        }
        return bytes;
    }

    /** The bytes' CRC-32 (zlib's, native: CRC32C is Java code, slow in a fresh JVM's interpreter). */
    long crc() throws IOException {
        if (crc < 0) {
            CRC32 c = new CRC32();
            c.update(bytes());
            crc = c.getValue();
        }
        return crc;
    }

    long size() throws IOException {
        if (size < 0) {
            size = bytes().length;
        }
        return size;
    }

    /** The jar's own directory, a place to extract to: null unless the resource is in a file: jar. */
    Path jarDirectory() {
        if (jar != null) {
            return jar.getParent();
        }
        if ("jar".equals(url.getProtocol())) { // jar:file:/path/umh-x.jar!/META-INF/...
            String spec = url.getPath();
            try {
                return Paths.get(URI.create(spec.substring(0, spec.indexOf("!/")))).getParent();
            } catch (RuntimeException e) { // IllegalArgumentException, IndexOutOfBoundsException, FileSystemNotFoundException
                // not a file: jar (a nested or remote one): no directory of its own
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return jar != null ? "jar:" + jar.toUri() + "!/" + entry : url.toString();
    }

    /** Where to extract without -Dumh.native.dir after java.io.tmpdir, in order. */
    private static Set<Path> candidates(NativeLoader shim) {
        Set<Path> dirs = new LinkedHashSet<>();
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        if (runtime != null && !runtime.isEmpty()) {
            dirs.add(Paths.get(runtime));
        }
        String cache = System.getenv("XDG_CACHE_HOME");
        dirs.add(cache != null && !cache.isEmpty() ? Paths.get(cache, "umh") : Paths.get(System.getProperty("user.home"), ".cache", "umh"));
        Path jarDir = shim.jarDirectory();
        if (jarDir != null) {
            dirs.add(jarDir);
        }
        return dirs;
    }

    /**
     * Loads our copy in dir if there is one, else extracts into dir and loads; false (and why, in
     * tried) if dir is noexec, cannot take the file, or the load fails.
     */
    private static boolean extractAndLoad(NativeLoader shim, Path dir, List<String> tried, String how) {
        Path made = null; // the directory we created, if any: removed again on failure
        Path target = null;
        boolean written = false;
        try {
            int uid = effectiveUid();
            target = dir.resolve(name(shim, uid));
            if (isOurs(target, shim, uid)) {
                return tryLoad(target, tried, how); // not ours to remove if it fails
            }
            String noexec = Mounts.noexec(dir);
            if (noexec != null) {
                tried.add(dir + ": " + noexec);
                return false;
            }
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
            write(shim.bytes(), dir, target);
            written = true;
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
            loaded = path.toAbsolutePath() + " (" + how + ")";
            return true;
        } catch (UnsatisfiedLinkError e) {
            tried.add(how + ": " + e.getMessage());
            return false;
        }
    }

    /** The name carries a CRC-32 of the bytes, their length and the uid: each user's copy of each build. */
    private static String name(NativeLoader shim, int uid) throws IOException {
        String hex = Long.toHexString(shim.crc() | 1L << 32).substring(1); // 8 digits (no Formatter: it parses by regex)
        return "libumh-" + hex + "-" + shim.size() + "-" + uid + ".so";
    }

    /**
     * An existing copy is reused only if it is a regular file that this uid owns and no one else
     * may write, of the right length and CRC-32. In a shared directory such as /tmp, anyone can put
     * bytes under the expected name, and a checksum is no proof against that: its owner could
     * craft bytes to match, or rewrite them between our check and our load (and a JVM running as
     * root would load that user's code). The ownership is the proof: a file this uid owns alone,
     * in place under its final name, was renamed there by this uid (or root), and nobody else can
     * change it. The CRC-32 then checks that it is this build's bytes and undamaged, the job the
     * comparison of every byte did at ~4 ms of a first fork (the resource inflated, and an
     * Arrays.equals that the interpreter runs as a loop): the copy is read in 8 KiB pieces into
     * zlib's native CRC-32, against the one the jar's directory gives without reading the resource.
     * One stat ("unix:" attributes: no user name looked up) first, and the bytes read only if it passes.
     */
    private static boolean isOurs(Path file, NativeLoader shim, int uid) throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(file, "unix:uid,mode,size", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) { // no such file (or none we may stat): no copy to trust; writing one says what is wrong
            return false;
        }
        int mode = (Integer) a.get("mode");
        if ((mode & S_IFMT) != S_IFREG || (mode & (S_IWGRP | S_IWOTH)) != 0 || !Integer.valueOf(uid).equals(a.get("uid"))
                || (Long) a.get("size") != shim.size()) {
            return false;
        }
        CRC32 crc = new CRC32();
        try (FileInputStream in = new FileInputStream(file.toFile())) { // 8 KiB reads: the JDK's stack buffer, no malloc
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) > 0; ) {
                crc.update(buf, 0, n);
            }
        }
        return crc.getValue() == shim.crc();
    }

    /** stat(2)'s st_mode bits: the file type, and write permission for the group and for others. */
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final int S_IWGRP = 020;
    private static final int S_IWOTH = 02;

    private static void write(byte[] lib, Path dir, Path target) throws IOException {
        Path tmp = Files.createTempFile(dir, "libumh-", ".tmp"); // ours, mode 0600
        try {
            Files.write(tmp, lib);
            // a rename within one directory: never EXDEV, the one case ATOMIC_MOVE cannot do
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * The uid files we create belong to: /proc/self/status's "Uid:\treal\teffective\t...", read
     * as bytes through a FileInputStream (Files.readAllBytes costs a fresh JVM ~25 NIO channel
     * classes, a String and its charset's set-up, on the way to the shim).
     */
    private static int effectiveUid() throws IOException {
        byte[] status;
        try (FileInputStream in = new FileInputStream("/proc/self/status")) {
            status = in.readAllBytes();
        }
        int line = indexOf(status, UID_LINE);
        int field = 0; // the tab-separated field of the Uid: line: 2 is the effective uid
        for (int i = line + UID_LINE.length; line >= 0 && i < status.length && status[i] != '\n'; i++) {
            if (status[i] == '\t') {
                field++;
            } else if (field == 2) {
                int uid = 0;
                for (; i < status.length && status[i] >= '0' && status[i] <= '9'; i++) {
                    uid = uid * 10 + status[i] - '0';
                }
                return uid;
            }
        }
        throw new IOException("no Uid: line in /proc/self/status");
    }

    private static final byte[] UID_LINE = {'\n', 'U', 'i', 'd', ':'};

    /** Where {@code what} starts in {@code bytes}, or -1. */
    private static int indexOf(byte[] bytes, byte[] what) {
        outer:
        for (int i = 0; i + what.length <= bytes.length; i++) {
            for (int j = 0; j < what.length; j++) {
                if (bytes[i + j] != what[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
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
}
