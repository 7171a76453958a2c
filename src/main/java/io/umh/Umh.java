package io.umh;

import java.io.IOException;
import java.util.Objects;

/**
 * Runs a program's bytes as a child process without writing a file: the JVM's counterpart of the
 * kernel's {@code fork_usermode_blob}. The bytes go into a sealed memfd, the child is cloned with
 * two pipes on its fd 0 and fd 1 and exec'd from that memfd, and the caller gets a
 * {@link UsermodeProcess} that owns the child.
 *
 * <pre>{@code
 * byte[] helper = Umh.class.getResourceAsStream("/helper").readAllBytes();
 * try (UsermodeProcess p = Umh.forkUsermodeBlob(helper)) {
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
     * resolved as {@link Class#getResourceAsStream} resolves it.
     *
     * <p>In a named module, a resource in one of the anchor module's packages is found only if that
     * package is open to umh: {@code opens com.example.helpers to io.umh;} in its module-info.
     *
     * @param anchor the class the name is resolved against, and whose module or class loader holds the resource
     * @param name the resource's name: relative to the anchor's package, or absolute with a leading {@code /}
     * @return the loaded blob, to fork and close
     * @throws IOException if there is no such resource (the message names it), or as {@link #load}
     */
    public static UsermodeBlob loadResource(Class<?> anchor, String name) throws IOException {
        Objects.requireNonNull(anchor, "anchor");
        Objects.requireNonNull(name, "name");
        byte[] blob;
        try (java.io.InputStream in = anchor.getResourceAsStream(name)) {
            if (in == null) {
                throw new java.io.FileNotFoundException("no class-path resource " + name + " next to " + anchor.getName()
                        + (anchor.getModule().isNamed() ? " (in module " + anchor.getModule().getName()
                        + ", is its package open to io.umh?)" : ""));
            }
            blob = in.readAllBytes();
        }
        return load(blob);
    }

    /**
     * Loads {@code blob} into a sealed, executable memfd, to fork as often as needed.
     *
     * @throws NullPointerException if blob is null
     * @throws IllegalArgumentException if blob is empty
     * @throws IOException for a truncated ELF (its program headers or a segment beyond its end,
     *         which would fault at run), or naming the errno if the memfd cannot be made (EMFILE,
     *         ENOMEM, or EACCES where sysctl vm.memfd_noexec=2 forbids executable memfds)
     */
    public static UsermodeBlob load(byte[] blob) throws IOException {
        Objects.requireNonNull(blob, "blob");
        if (blob.length == 0) {
            throw new IllegalArgumentException("blob is empty");
        }
        BlobInfo info = BlobInfo.checked(BlobInfo.of(blob));
        Native.ensureLoaded();
        int fd = Native.load(blob);
        return new UsermodeBlob(fd, blob.length, info);
    }

    /** What this kernel and this process allow of a sandbox, layer by layer, with the reason for each missing one. */
    public static SandboxSupport sandboxSupport() {
        return SandboxSupport.Probed.SUPPORT;
    }
}
