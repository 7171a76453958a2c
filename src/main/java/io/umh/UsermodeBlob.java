package io.umh;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A blob loaded once into a sealed memfd, ready to fork many times (the kernel's umd_load_blob).
 * Nobody can change the bytes after {@link Umh#load}: the memfd is sealed against writes, growth
 * and shrinking. Thread-safe: forks run concurrently; {@link #close()} waits for them.
 *
 * <p>A blob has a {@linkplain #name() name}: the memfd's, so that its children show it where a
 * program run from a file shows the file's name. {@code /proc/PID/exe} and
 * {@code ProcessHandle.Info.command()} read {@code /memfd:NAME (deleted)}; {@code /proc/PID/comm},
 * {@code ps -o comm} and {@code top} show {@code memfd:NAME} cut to 15 bytes, the kernel's limit
 * for a task's name, so 9 bytes of the name (Linux 6.14 on, whose exec names a task after the
 * file's dentry; before, they show the number of the fd it was exec'd from); and the child's
 * argv[0], which {@code ps -f} shows, is the name unless {@link ForkOptions.Builder#argv0} says otherwise.
 */
public final class UsermodeBlob implements AutoCloseable {
    /** The name of a blob loaded without one ({@link Umh#load(byte[])}, {@link Umh#load(java.io.InputStream)}). */
    public static final String DEFAULT_NAME = "umh-blob";

    private final long size;
    private final boolean script;
    private final String name;
    /** The name, NUL-terminated in the encoding of argv: every child's argv[0] unless its options set one. */
    private final byte[] argv0;
    private final int memfd;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Cleaner.Cleanable cleanable;
    private boolean closed; // guarded by lock

    /** Takes ownership of {@code memfd}, which holds {@code size} bytes and is named {@code name} ({@code argv0} encoded). */
    UsermodeBlob(int memfd, long size, boolean script, String name, byte[] argv0) {
        this.memfd = memfd;
        this.size = size;
        this.script = script;
        this.name = name;
        this.argv0 = argv0;
        this.cleanable = UsermodeProcess.CLEANER.register(this, () -> Native.closeQuietly(memfd));
    }

    /** Forks a child running this blob with the default options. */
    public UsermodeProcess fork() throws IOException {
        return fork(ForkOptions.defaults());
    }

    /** Forks a child running this blob. IllegalStateException once closed. */
    public UsermodeProcess fork(ForkOptions options) throws IOException {
        java.util.Objects.requireNonNull(options, "options");
        lock.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("UsermodeBlob is closed");
            }
            Object event = Events.forkBegin();
            try {
                UsermodeProcess p = UsermodeProcess.spawn(memfd, script, argv0, options);
                Events.forkEnd(event, size, p.pid(), null);
                return p;
            } catch (IOException | RuntimeException | Error e) {
                Events.forkEnd(event, size, -1, e);
                throw e;
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The blob's name: the memfd's, and its children's argv[0] by default ({@link #DEFAULT_NAME} if it was loaded without one). */
    public String name() {
        return name;
    }

    /** The blob's length in bytes. */
    public long size() {
        return size;
    }

    /** Whether the blob is a {@code #!} script rather than a binary. */
    public boolean isScript() {
        return script;
    }

    /** Releases the memfd; children already forked are not affected. Idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                cleanable.clean();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return "UsermodeBlob[" + name + ", " + size + " bytes" + (script ? ", script" : "") + (closed ? ", closed" : "") + "]";
    }
}
