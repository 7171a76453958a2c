package io.umh;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A blob loaded once into a sealed memfd, ready to fork many times (the kernel's umd_load_blob).
 * Nobody can change the bytes after {@link Umh#load}: the memfd is sealed against writes, growth
 * and shrinking. Thread-safe: forks run concurrently; {@link #close()} waits for them.
 */
public final class UsermodeBlob implements AutoCloseable {
    private final long size;
    private final boolean script;
    private final BlobInfo info;
    private final int memfd;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Cleaner.Cleanable cleanable;
    private boolean closed; // guarded by lock

    UsermodeBlob(int memfd, long size, BlobInfo info) {
        this.memfd = memfd;
        this.size = size;
        this.script = info.kind() == BlobInfo.Kind.SCRIPT;
        this.info = info;
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
                UsermodeProcess p = UsermodeProcess.spawn(memfd, info, options);
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

    /** The blob's length in bytes. */
    public long size() {
        return size;
    }

    /** Whether the blob is a {@code #!} script rather than a binary. */
    public boolean isScript() {
        return script;
    }

    /** What the bytes are, as read at load: ELF machine and class, static or dynamic and its loader, or the {@code #!} interpreter. */
    public BlobInfo info() {
        return info;
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
        return "UsermodeBlob[" + size + " bytes" + (script ? ", script" : "") + (closed ? ", closed" : "") + "]";
    }
}
