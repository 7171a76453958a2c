package io.umh;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Bytes, a stream or a file into a sealed memfd: what {@link Umh}'s loads do. A stream goes in
 * {@link #CHUNK} bytes at a time through one buffer, so a blob never sits whole on the heap; a file
 * is copied by the kernel (copy_file_range, sendfile) and never passes through the JVM. Each load
 * owns its memfd until the {@link UsermodeBlob} does, and closes it on every failure.
 */
final class Load {
    /** A streamed load's buffer: large enough that the JNI call per chunk costs nothing next to the copy. */
    static final int CHUNK = 64 * 1024;
    /** The encoding the JDK itself uses for argv, environment and paths: every string umh hands the kernel. */
    static final Charset JNU = jnuCharset();

    private Load() {}

    static UsermodeBlob bytes(byte[] blob, String name) throws IOException {
        Objects.requireNonNull(blob, "blob");
        byte[] z = name(name);
        if (blob.length == 0) {
            throw new IllegalArgumentException("blob is empty");
        }
        CleanerThread.ensureStarted(); // first: it loads the fork's classes while this one works
        BlobInfo info = BlobInfo.checked(BlobInfo.of(blob)); // a truncated ELF is refused before a memfd exists
        shim();
        int fd = Native.load(blob, z);
        return new UsermodeBlob(fd, blob.length, info, name, z);
    }

    /** The shim, loaded: the cleaner thread loads it (CleanerThread), this one loads fork classes meanwhile. */
    private static void shim() {
        CleanerThread.whileTheShimLoads();
        Native.ensureLoaded();
    }

    /** Copies {@code in} to its end (closing is the caller's); {@code what} names it in messages. */
    static UsermodeBlob stream(InputStream in, String name, String what) throws IOException {
        Objects.requireNonNull(in, "in");
        byte[] z = name(name);
        CleanerThread.ensureStarted();
        shim();
        int fd = Native.memfdCreate(z);
        try {
            byte[] buf = new byte[CHUNK];
            byte[] head = new byte[BlobInfo.HEAD]; // the first bytes, whatever pieces they come in: what BlobInfo reads
            long size = 0;
            for (int n; (n = in.readNBytes(buf, 0, buf.length)) > 0; size += n) {
                if (size < head.length) {
                    System.arraycopy(buf, 0, head, (int) size, (int) Math.min(n, head.length - size));
                }
                Native.memfdWrite(fd, buf, 0, n);
            }
            if (size == 0) {
                throw new EOFException("load: " + what + " is empty");
            }
            // program headers beyond the first chunk are not checked here (rare: they follow the ELF header)
            BlobInfo info = BlobInfo.checked(BlobInfo.of(java.nio.ByteBuffer.wrap(head, 0, (int) Math.min(size, head.length)), size, null));
            Native.memfdSeal(fd);
            return new UsermodeBlob(fd, size, info, name, z);
        } catch (Throwable t) {
            Native.closeQuietly(fd);
            throw t;
        }
    }

    /** A file of the default file system by the kernel's copy; any other Path (in a zip file system, say) streamed. */
    static UsermodeBlob file(Path path, String name) throws IOException {
        Objects.requireNonNull(path, "path");
        if (path.getFileSystem() != FileSystems.getDefault()) {
            try (InputStream in = Files.newInputStream(path)) {
                return stream(in, name, "file " + path.toUri());
            }
        }
        byte[] z = name(name);
        CleanerThread.ensureStarted();
        String file = path.toString();
        byte[] p = nulTerminated(file); // a Path holds no NUL
        shim();
        long[] out = new long[Abi.LOADED_LENGTH];
        int fd = Native.loadFile(p, z, out, file);
        if (out[Abi.LOADED_SIZE] == 0) {
            Native.closeQuietly(fd);
            throw new EOFException("load: file " + file + " is empty");
        }
        BlobInfo info; // what was copied, read back from the memfd (its headers only): the file's open error is the copy's
        try {
            info = BlobInfo.checked(BlobInfo.of(Path.of("/proc/self/fd/" + fd)));
        } catch (IOException e) {
            Native.closeQuietly(fd);
            throw e;
        }
        return new UsermodeBlob(fd, out[Abi.LOADED_SIZE], info, name, z);
    }

    /** The last element of a resource's name or a path: the name a blob gets from it. */
    static String fileName(String name) {
        String n = name.substring(name.lastIndexOf('/') + 1);
        return n.isEmpty() ? UsermodeBlob.DEFAULT_NAME : n;
    }

    /**
     * {@code name}, checked as memfd_create takes it and encoded as argv is, NUL-terminated:
     * IllegalArgumentException for an empty name, a NUL or a '/' in it, or more than
     * {@link Abi#MEMFD_NAME_MAX} bytes.
     */
    static byte[] name(String name) {
        Objects.requireNonNull(name, "name");
        String problem = name.isEmpty() ? "is empty"
                : name.indexOf('\0') >= 0 ? "contains a NUL character"
                : name.indexOf('/') >= 0 ? "contains '/' (it names one file, as a file name does)" : null;
        byte[] z = problem == null ? nulTerminated(name) : null;
        if (z != null && z.length - 1 > Abi.MEMFD_NAME_MAX) {
            problem = "is " + (z.length - 1) + " bytes long; memfd_create takes at most " + Abi.MEMFD_NAME_MAX;
        }
        if (problem != null) {
            throw new IllegalArgumentException("blob name " + problem + ": \"" + name.replace('\0', '?') + "\"");
        }
        return z;
    }

    /** {@code s} in {@link #JNU}, NUL-terminated: a C string. */
    static byte[] nulTerminated(String s) {
        byte[] b = s.getBytes(JNU);
        byte[] z = new byte[b.length + 1];
        System.arraycopy(b, 0, z, 0, b.length);
        return z;
    }

    private static Charset jnuCharset() {
        try {
            return Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (RuntimeException e) {
            return StandardCharsets.UTF_8;
        }
    }
}
