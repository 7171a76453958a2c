package io.umh;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
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

    private Load() {}

    static UsermodeBlob bytes(byte[] blob, String name) throws IOException {
        Objects.requireNonNull(blob, "blob");
        byte[] z = name(name);
        if (blob.length == 0) {
            throw new IllegalArgumentException("blob is empty");
        }
        Native.ensureLoaded();
        int fd = Native.load(blob, z);
        return new UsermodeBlob(fd, blob.length, startsWithHashBang(blob, blob.length), name, z);
    }

    /** Copies {@code in} to its end (closing is the caller's); {@code what} names it in messages. */
    static UsermodeBlob stream(InputStream in, String name, String what) throws IOException {
        Objects.requireNonNull(in, "in");
        byte[] z = name(name);
        Native.ensureLoaded();
        int fd = Native.memfdCreate(z);
        try {
            byte[] buf = new byte[CHUNK];
            byte[] head = new byte[2]; // the first two bytes, whatever pieces they came in
            long size = 0;
            for (int n; (n = in.readNBytes(buf, 0, buf.length)) > 0; size += n) {
                for (int i = 0; size + i < head.length && i < n; i++) {
                    head[(int) size + i] = buf[i];
                }
                Native.memfdWrite(fd, buf, 0, n);
            }
            if (size == 0) {
                throw new EOFException("load: " + what + " is empty");
            }
            Native.memfdSeal(fd);
            return new UsermodeBlob(fd, size, startsWithHashBang(head, (int) Math.min(size, 2)), name, z);
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
        String file = path.toString();
        byte[] p = ForkOptions.nulTerminated(file); // a Path holds no NUL
        Native.ensureLoaded();
        long[] out = new long[Abi.LOADED_LENGTH];
        int fd = Native.loadFile(p, z, out, file);
        if (out[Abi.LOADED_SIZE] == 0) {
            Native.closeQuietly(fd);
            throw new EOFException("load: file " + file + " is empty");
        }
        return new UsermodeBlob(fd, out[Abi.LOADED_SIZE], out[Abi.LOADED_SCRIPT] != 0, name, z);
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
        byte[] z = problem == null ? ForkOptions.nulTerminated(name) : null;
        if (z != null && z.length - 1 > Abi.MEMFD_NAME_MAX) {
            problem = "is " + (z.length - 1) + " bytes long; memfd_create takes at most " + Abi.MEMFD_NAME_MAX;
        }
        if (problem != null) {
            throw new IllegalArgumentException("blob name " + problem + ": \"" + name.replace('\0', '?') + "\"");
        }
        return z;
    }

    private static boolean startsWithHashBang(byte[] b, int length) {
        return length >= 2 && b[0] == '#' && b[1] == '!';
    }
}
