package io.umh;

import java.io.IOException;
import java.lang.ref.Cleaner;

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
    private final String name;
    /** The name, NUL-terminated in the encoding of argv: every child's argv[0] unless its options set one. */
    private final byte[] argv0;
    private final BlobInfo info;
    private final int memfd;
    /**
     * Guards {@code forking} and {@code closed}: a monitor and a count, not a ReentrantReadWriteLock,
     * whose seven classes are outside the JDK's CDS archive and cost a first fork ~1 ms. Forks hold
     * it only to count themselves in and out; close() waits on it for the count to reach zero.
     */
    private final Object lock = new Object();
    private int forking;    // forks in progress: the memfd is theirs until they end
    private boolean closed;
    private final Cleaner.Cleanable cleanable;

    /** Takes ownership of {@code memfd}, which holds {@code size} bytes ({@code info}: what they are) and is named {@code name} ({@code argv0} encoded). */
    UsermodeBlob(int memfd, long size, BlobInfo info, String name, byte[] argv0) {
        this.memfd = memfd;
        this.size = size;
        this.info = info;
        this.name = name;
        this.argv0 = argv0;
        this.cleanable = CleanerThread.CLEANER.register(this, new Closer(memfd));
    }

    /** Forks a child running this blob with the default options. */
    public UsermodeProcess fork() throws IOException {
        return fork(ForkOptions.defaults());
    }

    /** Whether the jdk.jfr module is there: a jlinked runtime may lack it. */
    private static final boolean JFR = ModuleLayer.boot().findModule("jdk.jfr").isPresent();

    /**
     * Whether a JFR event could be on: the jdk.jfr module is there, and Flight Recorder was
     * initialized. Here, not in {@link Events}: a JVM with no recording loads no class of Events'.
     */
    static boolean recording() {
        return JFR && jdk.jfr.FlightRecorder.isInitialized();
    }

    /** Forks a child running this blob. IllegalStateException once closed. */
    public UsermodeProcess fork(ForkOptions options) throws IOException {
        java.util.Objects.requireNonNull(options, "options");
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("UsermodeBlob is closed");
            }
            forking++;
        }
        try {
            Object event = recording() ? Events.forkBegin() : null;
            try {
                UsermodeProcess p = UsermodeProcess.spawn(memfd, info, argv0, options);
                if (event != null) {
                    Events.forkEnd(event, size, p.pid(), null);
                }
                return p;
            } catch (IOException | RuntimeException | Error e) {
                if (event != null) {
                    Events.forkEnd(event, size, -1, e);
                }
                throw e;
            }
        } finally {
            synchronized (lock) {
                if (--forking == 0 && closed) {
                    lock.notifyAll();
                }
            }
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
        return info.isScript();
    }

    /** What the bytes are, as read at load: ELF machine and class, static or dynamic and its loader, or the {@code #!} interpreter. */
    public BlobInfo info() {
        return info;
    }

    /**
     * Releases the memfd, once the forks in progress have ended (new ones are refused from the
     * call on); children already forked are not affected. Idempotent. Not interruptible: an
     * interrupt that comes while it waits is kept, set again when it returns.
     */
    @Override
    public void close() {
        boolean interrupted = false;
        synchronized (lock) {
            closed = true;
            while (forking > 0) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            cleanable.clean(); // idempotent
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        boolean c;
        synchronized (lock) {
            c = closed;
        }
        return "UsermodeBlob[" + name + ", " + size + " bytes" + (info.isScript() ? ", script" : "") + (c ? ", closed" : "") + "]";
    }
}
