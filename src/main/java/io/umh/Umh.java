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
 * Runs a program's bytes as a child process without writing a file: the JVM's counterpart of the
 * kernel's {@code fork_usermode_blob}. The bytes go into a sealed memfd, the child is cloned with
 * two pipes on its fd 0 and fd 1 and exec'd from that memfd, and the caller gets a
 * {@link UsermodeProcess} that owns the child.
 *
 * <pre>{@code
 * try (UsermodeBlob helper = Umh.loadResource(MyService.class, "/helper");   // streamed into a memfd named "helper"
 *      UsermodeProcess p = helper.fork()) {
 *     p.pipeToUmh().write("ping\n".getBytes());
 *     p.pipeToUmh().close();
 *     byte[] reply = p.pipeFromUmh().readAllBytes();
 *     int status = p.waitFor();
 * }
 * }</pre>
 */
public final class Umh {
    private Umh() {}

    /** Loads {@code blob} and forks it once with the default options; the memfd is released once the child has it. */
    public static UsermodeProcess forkUsermodeBlob(byte[] blob) throws IOException {
        return forkUsermodeBlob(blob, ForkOptions.defaults());
    }

    /** Loads {@code blob} and forks it once; the memfd is released once the child has it. */
    public static UsermodeProcess forkUsermodeBlob(byte[] blob, ForkOptions options) throws IOException {
        Objects.requireNonNull(options, "options");
        try (UsermodeBlob loaded = load(blob)) {
            return loaded.fork(options);
        }
    }

    /**
     * Loads a blob shipped as a class-path resource, the common case for a service that carries its
     * helper in its jar: {@code Umh.loadResource(MyService.class, "/helpers/parser")}. The name is
     * resolved as {@link Class#getResourceAsStream} resolves it. The resource is streamed into the
     * memfd, never held whole on the heap, and the blob is named after the resource's file name
     * ({@code "parser"}).
     *
     * <p>In a named module, a resource in one of the anchor module's packages is found only if that
     * package is open to umh: {@code opens com.example.helpers to io.umh;} in its module-info.
     *
     * @param anchor the class the name is resolved against, and whose module or class loader holds the resource
     * @param name the resource's name: relative to the anchor's package, or absolute with a leading {@code /}
     * @return the loaded blob, to fork and close
     * @throws IOException if there is no such resource (the message names it), if it is empty
     *         ({@link java.io.EOFException}), or as {@link #load(InputStream, String)}
     * @throws IllegalArgumentException if the resource's file name cannot name a blob (see {@link #load(byte[], String)})
     */
    public static UsermodeBlob loadResource(Class<?> anchor, String name) throws IOException {
        Objects.requireNonNull(anchor, "anchor");
        Objects.requireNonNull(name, "name");
        try (InputStream in = anchor.getResourceAsStream(name)) {
            if (in == null) {
                throw new java.io.FileNotFoundException("no class-path resource " + name + " next to " + anchor.getName()
                        + (anchor.getModule().isNamed() ? " (in module " + anchor.getModule().getName()
                        + ", is its package open to io.umh?)" : ""));
            }
            return loadStream(in, fileName(name), "class-path resource " + name + " next to " + anchor.getName());
        }
    }

    /**
     * Loads {@code blob} into a sealed, executable memfd named {@link UsermodeBlob#DEFAULT_NAME}, to fork as often as needed.
     *
     * @throws NullPointerException if blob is null
     * @throws IllegalArgumentException if blob is empty
     * @throws IOException for a truncated ELF (its program headers or a segment beyond its end,
     *         which would fault at run), or naming the errno if the memfd cannot be made (EMFILE,
     *         ENOMEM, or EACCES where sysctl vm.memfd_noexec=2 forbids executable memfds)
     */
    public static UsermodeBlob load(byte[] blob) throws IOException {
        return load(blob, UsermodeBlob.DEFAULT_NAME);
    }

    /**
     * Loads {@code blob} into a sealed, executable memfd named {@code name}: the name its children
     * show in {@code /proc/PID/exe} ({@code /memfd:NAME (deleted)}), {@code ProcessHandle.Info.command()},
     * {@code /proc/PID/comm} and {@code ps} ({@code memfd:NAME} cut to 15 bytes there, by the kernel), and their argv[0]
     * unless {@link ForkOptions.Builder#argv0} sets one. See {@link UsermodeBlob}.
     *
     * @param name one file name: 1 to 249 bytes (in the JVM's file name encoding), no {@code '/'}, no NUL
     * @throws IllegalArgumentException if blob is empty, or name is not such a name (the message says why)
     * @throws IOException as {@link #load(byte[])}
     */
    public static UsermodeBlob load(byte[] blob, String name) throws IOException {
        return loadBytes(blob, name);
    }

    /** As {@link #load(InputStream, String)}, the blob named {@link UsermodeBlob#DEFAULT_NAME}. */
    public static UsermodeBlob load(InputStream in) throws IOException {
        return load(in, UsermodeBlob.DEFAULT_NAME);
    }

    /**
     * Loads what {@code in} gives, to its end, into a sealed memfd named {@code name}; the stream
     * is read in 64 KiB chunks, each written to the memfd from one buffer, so a blob of any size
     * costs the heap that buffer. The stream stays open (closing it is the caller's, as
     * {@link java.nio.file.Files#copy(InputStream, Path, java.nio.file.CopyOption...)} leaves it);
     * an IOException from it is thrown as it is, after the memfd is closed.
     *
     * @throws java.io.EOFException if the stream is empty
     * @throws IllegalArgumentException if name is not a blob's name (see {@link #load(byte[], String)})
     * @throws IOException from the stream, or naming the errno if the memfd cannot be made or written
     *         (EMFILE; ENOSPC or ENOMEM when memory runs out)
     */
    public static UsermodeBlob load(InputStream in, String name) throws IOException {
        return loadStream(in, name, "the stream");
    }

    /**
     * Loads the file at {@code path} into a sealed memfd named after its file name; the bytes are
     * copied inside the kernel ({@code copy_file_range}, else {@code sendfile}, else read and write
     * for what is not a regular file, such as a pipe) and never pass through the JVM. A path of
     * another file system (a zip file system's, say) is streamed as {@link #load(InputStream, String)} streams.
     *
     * @throws IOException naming the call, the errno and the path: a missing file
     *         ({@code open failed: ENOENT}), a directory ({@code read failed: EISDIR}); an empty file
     *         ({@link java.io.EOFException})
     * @throws IllegalArgumentException if the file name cannot name a blob (more than 249 bytes):
     *         use {@link #load(Path, String)}
     */
    public static UsermodeBlob load(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        Path file = path.getFileName();
        return load(path, file == null ? UsermodeBlob.DEFAULT_NAME : fileName(file.toString()));
    }

    /** As {@link #load(Path)}, the blob named {@code name}. */
    public static UsermodeBlob load(Path path, String name) throws IOException {
        return loadFile(path, name);
    }

    /**
     * This JVM's platform as umh's platform jars name it, {@code linux-x86_64} or
     * {@code linux-aarch_64}: the classifier of the umh jar it needs (its shim is under
     * {@code META-INF/native/<platform>/}), and a name to pick a helper built for this CPU by
     * (the error for a helper of another CPU says which one it needs).
     *
     * @throws UnsatisfiedLinkError anywhere else, saying what is supported
     */
    public static String platform() {
        return NativeLoader.platform();
    }

    /** What this kernel and this process allow of a sandbox, layer by layer, with the reason for each missing one. */
    public static SandboxSupport sandboxSupport() {
        return SandboxSupport.Probed.SUPPORT;
    }

    // The loads themselves: bytes, a stream or a file into a sealed memfd. A stream goes in
    // CHUNK bytes at a time through one buffer, so a blob never sits whole on the heap; a file is
    // copied by the kernel (copy_file_range, sendfile) and never passes through the JVM. Each load
    // owns its memfd until the UsermodeBlob does, and closes it on every failure. (Here, not in a
    // class of their own: each class is one more for a fresh JVM's first load, see ColdStartTest.)

    /** A streamed load's buffer: large enough that the JNI call per chunk costs nothing next to the copy. */
    static final int CHUNK = 64 * 1024;
    /** The encoding the JDK itself uses for argv, environment and paths: every string umh hands the kernel. */
    static final Charset JNU = jnuCharset();

    private static UsermodeBlob loadBytes(byte[] blob, String name) throws IOException {
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
    private static UsermodeBlob loadStream(InputStream in, String name, String what) throws IOException {
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
    private static UsermodeBlob loadFile(Path path, String name) throws IOException {
        Objects.requireNonNull(path, "path");
        if (path.getFileSystem() != FileSystems.getDefault()) {
            try (InputStream in = Files.newInputStream(path)) {
                return loadStream(in, name, "file " + path.toUri());
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
