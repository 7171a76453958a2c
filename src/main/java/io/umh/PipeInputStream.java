package io.umh;

import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A FileInputStream over the read end of a child's pipe, which the child's exit releases.
 *
 * <p><b>Release at exit</b>, as the JDK's own process streams do ({@code ProcessPipeInputStream.
 * processExited}): once the child has exited, {@link #releaseAtExit} reads what the pipe holds
 * (bounded: one {@code FIONREAD} snapshot, at most the pipe's capacity) into memory and closes the
 * fd. Reads then serve those bytes, then EOF; what a grandchild that kept the write end open writes
 * later is lost (it gets EPIPE), as with the JDK.
 *
 * <p><b>A channel is the fd's.</b> Once {@link #getChannel()} has been taken the release leaves
 * the fd alone (a read on the channel must never find its fd closed under it): it stays open
 * until {@link #close()} (or the channel's close), as any FileInputStream's. A channel taken
 * after the release reads what was drained, from a memfd holding it, sharing its position with
 * this stream's reads, so a quick child's exit never races a caller's {@code getChannel()}. The
 * {@link #getFD()} of a released stream is not valid ({@code FileDescriptor.valid()} says so).
 *
 * <p><b>One owner at a time.</b> Every read holds {@link #reading}; the release only takes it
 * with {@code tryLock}, never waits for it. If a thread is reading at exit (blocked in the pipe,
 * say), the release is left pending and that thread does it as its read ends, before it returns:
 * the drain never reads beside a user thread, and no user read sees the fd closed under it.
 * {@link #close()} never waits for a reader either.
 *
 * <p>JDK 17's FileInputStream answers readAllBytes, readNBytes and skip by asking the file for its
 * length and position (an optimisation for regular files); on a pipe lseek fails and they throw
 * "IOException: Illegal seek" (seen on 17.0.15; later JDKs fall back). Here they only read.
 */
final class PipeInputStream extends FileInputStream {
    private static final int CHUNK = 8192;
    private static final byte[] NOTHING = new byte[0];

    private final ReentrantLock reading = new ReentrantLock(); // held by every read: the fd's one reader
    private volatile boolean releasePending; // the child has exited: drain and close at the next chance
    private volatile boolean closed;         // by close(): reads throw
    private volatile boolean fdReleased;     // by the release at exit or by close()
    private volatile boolean exposed;        // getChannel() taken before the release: the fd stays
    private volatile FileInputStream rest;   // written under reading: what was drained, as a file, once a channel asked for it
    private byte[] drained;                  // guarded by reading: non-null once released
    private int next;                        // guarded by reading: the next byte of drained to serve

    PipeInputStream(FileDescriptor fd) {
        super(fd);
    }

    /**
     * The child has exited: keep what the pipe holds and close the fd, now if no thread is
     * reading, else as that thread's read ends. Never blocks.
     */
    void releaseAtExit() {
        releasePending = true;
        releaseIfPending();
    }

    /** Whether the fd is closed (released at exit, or by close). */
    boolean released() {
        return fdReleased;
    }

    private void releaseIfPending() {
        // the release sets the flag before its tryLock, a reader checks it after its unlock: one
        // of the two always sees the other, so a pending release is never left behind
        while (releasePending && reading.tryLock()) {
            try {
                if (releasePending) {
                    releasePending = false;
                    drain();
                }
            } finally {
                reading.unlock();
            }
        }
    }

    /** Under {@link #reading}: what the pipe holds now, into memory; then the fd closes. */
    private void drain() {
        if (closed || drained != null || exposed) {
            return;
        }
        byte[] b = NOTHING;
        try {
            int n = super.available(); // FIONREAD: bounded by the pipe's capacity
            b = new byte[n];
            int got = 0;
            for (int r; got < n && (r = super.read(b, got, n - got)) > 0; got += r) {
                // no other reader: what FIONREAD counted is all there, read never blocks
            }
            b = got == n ? b : Arrays.copyOf(b, got);
        } catch (IOException e) {
            // closed meanwhile by close(): nothing to keep
        }
        drained = b;
        next = 0;
        try {
            super.close();
        } catch (IOException ignored) {
            // closing a pipe end cannot fail in a way anyone could act on
        }
        fdReleased = true;
    }

    /** Reads under {@link #reading}: from the pipe, or from what was drained at exit. */
    private int readLocked(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        reading.lock();
        try {
            if (closed) {
                throw new IOException("Stream Closed");
            }
            if (len == 0) {
                return 0;
            }
            if (drained == null) {
                return super.read(b, off, len);
            }
            if (rest != null) {
                return rest.read(b, off, len);
            }
            int n = Math.min(len, drained.length - next);
            if (n <= 0) {
                return -1;
            }
            System.arraycopy(drained, next, b, off, n);
            next += n;
            return n;
        } finally {
            reading.unlock();
            releaseIfPending();
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = readLocked(one, 0, 1);
        return n == 1 ? one[0] & 0xff : -1;
    }

    @Override
    public int read(byte[] b) throws IOException {
        return readLocked(b, 0, b.length);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        return readLocked(b, off, len);
    }

    @Override
    public int available() throws IOException {
        reading.lock();
        try {
            if (closed) {
                throw new IOException("Stream Closed");
            }
            return drained == null ? super.available() : rest != null ? rest.available() : drained.length - next;
        } finally {
            reading.unlock();
            releaseIfPending();
        }
    }

    /** Closes the fd (if the exit has not) and drops what was drained; never waits for a reader. */
    @Override
    public void close() throws IOException {
        closed = true;
        super.close();
        fdReleased = true;
        FileInputStream r = rest; // a racing getChannel() closes its own once it sees closed
        if (r != null) {
            r.close();
        }
    }

    /**
     * The pipe's channel, which keeps the fd from the release at exit; once released, a channel
     * over what was drained (see the class comment). Waits for a read of this stream in progress.
     */
    @Override
    public java.nio.channels.FileChannel getChannel() {
        if (exposed) {
            return super.getChannel();
        }
        reading.lock();
        try {
            if (drained == null || closed) { // not released (closed: the closed channel FileInputStream gives)
                exposed = !closed;
                return super.getChannel();
            }
            if (rest == null) {
                rest = restAsFile();
                if (closed) { // a close() that read rest before this write: closed here instead
                    rest.close();
                }
            }
            return rest.getChannel();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("getChannel() after the child's exit", e);
        } finally {
            reading.unlock();
        }
    }

    /** Under {@link #reading}: the drained bytes not yet read, in a memfd read from its start. */
    private FileInputStream restAsFile() throws IOException {
        int fd = Native.memfdCreate(Umh.nulTerminated("umh-drained")); // a C string, as every memfd's name
        FileInputStream in = new FileInputStream(Native.fileDescriptor(fd));
        try {
            Native.memfdWrite(fd, drained, next, drained.length - next);
            in.getChannel().position(0);
        } catch (IOException e) {
            in.close();
            throw e;
        }
        next = drained.length;
        return in;
    }

    @Override
    public byte[] readAllBytes() throws IOException {
        return readNBytes(Integer.MAX_VALUE);
    }

    @Override
    public byte[] readNBytes(int len) throws IOException {
        if (len < 0) {
            throw new IllegalArgumentException("len < 0");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[Math.min(len, CHUNK)];
        int remaining = len;
        for (int n; remaining > 0 && (n = read(buf, 0, Math.min(buf.length, remaining))) > 0; remaining -= n) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    @Override
    public int readNBytes(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        int done = 0;
        for (int n; done < len && (n = read(b, off + done, len - done)) > 0; done += n) {
            // keep reading: a pipe returns what is there, not what was asked for
        }
        return done;
    }

    @Override
    public long skip(long n) throws IOException {
        if (n <= 0) {
            return 0;
        }
        byte[] buf = new byte[(int) Math.min(n, CHUNK)];
        long skipped = 0;
        for (int r; skipped < n && (r = read(buf, 0, (int) Math.min(buf.length, n - skipped))) > 0; skipped += r) {
            // discard
        }
        return skipped;
    }

    /** Through this stream's reads (later JDKs' FileInputStream would go to the channel, past the drained bytes). */
    @Override
    public long transferTo(OutputStream out) throws IOException {
        Objects.requireNonNull(out, "out");
        byte[] buf = new byte[CHUNK];
        long total = 0;
        for (int n; (n = read(buf, 0, buf.length)) > 0; total += n) {
            out.write(buf, 0, n);
        }
        return total;
    }
}
