package io.umh.service;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import io.umh.UsermodeProcess;
import io.umh.internal.Watchdog;

/**
 * Requests and replies in frames over a helper's pipes: {@link #call(byte[])} writes a request
 * to the helper's fd 0 and returns the reply it reads from its fd 1.
 *
 * <p><b>Wire format</b>, both ways: a frame is a 4-byte big-endian length N, then N bytes, with
 * N at most the maximum frame size (default {@value #DEFAULT_MAX_FRAME_SIZE} bytes). The helper
 * answers each request with exactly one reply, in order, and writes nothing else on its stdout
 * (it logs to stderr). In C, {@code native/include/umh_helper.h} reads and writes these frames.
 *
 * <p><b>Threads</b>: {@code call} is safe from several threads. One request is in flight at a
 * time, so each caller gets the reply to its own request; the turn is not handed out in arrival
 * order (a fair lock hands every turn to a parked thread: a wake-up per call).
 *
 * <p><b>Failures</b> close the channel for good and SIGKILL its helper, because a byte stream that
 * has lost its framing cannot be trusted again: a timeout after the request was sent, a reply
 * longer than the maximum, the helper closing its stdout or exiting before or during a reply, a
 * failed write. The call throws an IOException that says which, with the helper's exit status;
 * every later call throws one that names the first failure. Never a hang, never an allocation of
 * a claimed length: a reply's buffer grows with the bytes that actually arrive. A header that is
 * text (printable ASCII, tabs, line ends) claiming more than the maximum is taken for what it is,
 * a banner or a log line on stdout, and the call says so, quoting it: {@code helper pid N wrote
 * text on stdout: 'hello wor...'; does it print a banner or log to stdout?}. Two cases leave
 * the channel usable, as nothing was sent: a request longer than the maximum
 * (IllegalArgumentException), and a timeout while waiting for the turn (InterruptedIOException).
 *
 * <p>The channel owns no file descriptor; the process does, and its owner still closes it.
 * {@link #close()} only closes the helper's stdin: EOF, after which a well-behaved helper exits.
 */
public final class UsermodeChannel implements AutoCloseable {
    /** The largest frame either way unless configured otherwise: 1 MiB. */
    public static final int DEFAULT_MAX_FRAME_SIZE = 1 << 20;
    private static final int CHUNK = 64 * 1024;
    /** Each way's buffer: a frame that fits goes in one write(2), replies that fit come in one read(2). */
    private static final int BUFFER = 16 * 1024;
    /** The most bytes a diagnostic quotes of what a helper wrote that is no frame. */
    private static final int EXCERPT = 40;

    private final UsermodeProcess process;
    private final int maxFrameSize;
    private final Duration timeout; // null: none
    private final ReentrantLock turn = new ReentrantLock();
    private final byte[] out = new byte[BUFFER]; // the frame being written: only under the turn
    private final byte[] in = new byte[BUFFER];  // bytes read, not yet taken: in[inPos..inLimit), only by the one reading
    private int inPos;
    private int inLimit;
    private final byte[] head = new byte[4];     // the header of the reply being read, for diagnostics
    private volatile IOException closed; // why no call may go through any more; set once
    private volatile boolean closeProcess; // the process goes with the channel (a service's helper)

    private UsermodeChannel(UsermodeProcess process, int maxFrameSize, Duration timeout) {
        this.process = Objects.requireNonNull(process, "process");
        if (maxFrameSize < 0) {
            throw new IllegalArgumentException("maxFrameSize is negative: " + maxFrameSize);
        }
        this.maxFrameSize = maxFrameSize;
        this.timeout = Watchdog.checkTimeout(timeout, "timeout");
    }

    /** A channel over {@code process} with the default maximum frame size and no timeout. */
    public static UsermodeChannel open(UsermodeProcess process) {
        return new UsermodeChannel(process, DEFAULT_MAX_FRAME_SIZE, null);
    }

    /**
     * A channel over {@code process} whose frames, either way, are at most {@code maxFrameSize}
     * bytes, and whose {@link #call(byte[])} waits at most {@code timeout} (null: no limit).
     */
    public static UsermodeChannel open(UsermodeProcess process, int maxFrameSize, Duration timeout) {
        return new UsermodeChannel(process, maxFrameSize, timeout);
    }

    /** Sends {@code request} and returns the helper's reply, within the channel's timeout if it has one. */
    public byte[] call(byte[] request) throws IOException {
        return call(request, timeout);
    }

    /**
     * Sends {@code request} and returns the helper's reply, waiting at most {@code timeout} in all
     * (null: no limit). A timeout while another call is in flight sends nothing and leaves the
     * channel open; once the request is sent, a timeout kills the helper and closes the channel.
     *
     * @throws IllegalArgumentException if the request is longer than the maximum frame size
     * @throws InterruptedIOException on a timeout, or if interrupted while waiting for the turn
     * @throws IOException if the channel is closed or fails during this call (see the class comment)
     */
    public byte[] call(byte[] request, Duration timeout) throws IOException {
        Objects.requireNonNull(request, "request");
        Watchdog.checkTimeout(timeout, "timeout");
        if (request.length > maxFrameSize) {
            throw new IllegalArgumentException("umh channel: a request of " + request.length
                    + " bytes is longer than the maximum frame size, " + maxFrameSize);
        }
        IOException already = closed;
        if (already != null) { // fail fast, without waiting for a turn
            throw new IOException(already.getMessage(), already);
        }
        long start = System.nanoTime();
        takeTurn(timeout);
        try {
            IOException why = closed;
            if (why != null) {
                throw new IOException(why.getMessage(), why);
            }
            Duration left = timeout == null ? null : timeout.minusNanos(System.nanoTime() - start);
            if (left != null && (left.isNegative() || left.isZero())) {
                left = Duration.ofNanos(1);
            }
            Watchdog watchdog = Watchdog.start(left, process::destroyForcibly);
            byte[] reply = null;
            IOException failure = null;
            try {
                reply = exchange(request);
            } catch (IOException e) {
                failure = e;
            }
            if (watchdog.cancel()) {
                InterruptedIOException t = new InterruptedIOException("umh channel: no reply from helper pid "
                        + process.pid() + " within " + timeout + "; it was killed (exit status " + exitStatus() + ")");
                if (failure != null) {
                    t.initCause(failure);
                }
                throw fail(t);
            }
            if (failure != null) {
                throw fail(failure);
            }
            return reply;
        } finally {
            turn.unlock();
            releaseIfClosed(); // close() may have found this call in flight and left it to us
        }
    }

    private void takeTurn(Duration timeout) throws InterruptedIOException {
        try {
            if (timeout == null) {
                turn.lockInterruptibly();
            } else if (!turn.tryLock(Watchdog.nanos(timeout), TimeUnit.NANOSECONDS)) {
                throw new InterruptedIOException("umh channel: another call to helper pid " + process.pid()
                        + " was still in flight after " + timeout + "; nothing was sent");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("umh channel: interrupted while waiting for the turn; nothing was sent");
        }
    }

    /** One request out, one reply in; fails, the helper killed, if it cannot read a whole frame. */
    private byte[] exchange(byte[] request) throws IOException {
        writeFrame(request);
        return readFrame();
    }

    /**
     * Writes {@code request} as one frame in one write(2): the header and as much of the payload as
     * fits go through the channel's buffer, a longer payload's rest straight from the array. Only
     * under the turn (the buffer is the channel's).
     */
    private void writeFrame(byte[] request) throws IOException {
        byte[] b = out;
        int len = request.length;
        b[0] = (byte) (len >>> 24);
        b[1] = (byte) (len >>> 16);
        b[2] = (byte) (len >>> 8);
        b[3] = (byte) len;
        int first = Math.min(len, b.length - 4);
        System.arraycopy(request, 0, b, 4, first);
        try {
            FileOutputStream pipe = process.pipeToUmh();
            pipe.write(b, 0, 4 + first);
            if (first < len) {
                pipe.write(request, first, len - first);
            }
        } catch (IOException e) {
            // EPIPE if the helper is gone but not yet reaped; once reaped, its stdin was closed at its
            // exit (releaseAtExit) and the write finds the stream closed: the same cause, said once
            throw broken(process.isAlive() ? "could not take the request (" + e.getMessage() + ")"
                    : "exited before it took the whole request", e);
        }
    }

    /**
     * Reads one reply frame: through the channel's read buffer, so that a header and a short
     * payload (or several pipelined replies) take one read(2). A long payload's rest is read
     * straight into the reply, whose array grows with the bytes that arrive, never to a length
     * merely claimed. Only by the one reading (the buffer is the channel's).
     */
    private byte[] readFrame() throws IOException {
        int got = fill(4);
        if (got == 0) {
            throw broken("closed its stdout before replying", null);
        }
        if (got < 4) {
            throw broken("closed its stdout after " + got + " of the 4 bytes of a frame header", null);
        }
        byte[] b = in;
        long length = (b[inPos] & 0xffL) << 24 | (b[inPos + 1] & 0xff) << 16 | (b[inPos + 2] & 0xff) << 8 | b[inPos + 3] & 0xff;
        byte[] header = head;
        System.arraycopy(b, inPos, header, 0, 4);
        if (length > maxFrameSize && isText(header, header.length)) {
            throw broken(textOnStdout(header), null);
        }
        if (length > maxFrameSize) {
            throw broken("sent a reply of " + length + " bytes, longer than the maximum frame size, " + maxFrameSize, null);
        }
        inPos += 4;
        int len = (int) length;
        byte[] reply = new byte[Math.min(len, CHUNK)];
        int filled = take(reply, 0, len);
        while (filled < len) {
            if (filled == reply.length) { // grow with the bytes that arrive, never to a length merely claimed
                reply = Arrays.copyOf(reply, (int) Math.min(len, 2L * reply.length));
            }
            int n;
            if (len - filled < b.length) { // a short rest: through the buffer, which may bring the next replies too
                n = fill(1) == 0 ? -1 : take(reply, filled, len);
            } else {
                n = read(reply, filled, reply.length - filled);
            }
            if (n < 0) {
                // with a maximum of 512 MiB or more, text can pass for a length: say so once it has ended
                throw broken("closed its stdout after " + filled + " of the " + len + " bytes of a reply"
                        + (isText(header, header.length) ? "; it reads as text, " + excerpt(header, reply, textLength(reply, filled))
                        + ": does it print a banner or log to stdout?" : ""), null);
            }
            filled += n;
        }
        return reply;
    }

    /** Copies buffered bytes into {@code reply} from {@code filled}, up to {@code len} in all; returns how many. */
    private int take(byte[] reply, int filled, int len) {
        int n = Math.min(Math.min(inLimit - inPos, len - filled), reply.length - filled);
        System.arraycopy(in, inPos, reply, filled, n);
        inPos += n;
        return n;
    }

    /**
     * Reads until at least {@code want} bytes are buffered, or EOF; returns how many are. One
     * read(2) takes whatever the pipe holds, up to the buffer's size.
     */
    private int fill(int want) throws IOException {
        if (inLimit - inPos >= want) {
            return inLimit - inPos;
        }
        if (inPos > 0) { // the partial frame to the front
            System.arraycopy(in, inPos, in, 0, inLimit - inPos);
            inLimit -= inPos;
            inPos = 0;
        }
        while (inLimit < want) {
            int n = read(in, inLimit, in.length - inLimit);
            if (n < 0) {
                break;
            }
            inLimit += n;
        }
        return inLimit;
    }

    /** One read(2) from the helper's stdout: -1 at EOF. A failed read kills the helper too. */
    private int read(byte[] b, int off, int len) throws IOException {
        try {
            return process.pipeFromUmh().read(b, off, len);
        } catch (IOException e) {
            throw broken("could not be read from (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Why a header that reads as text is no frame, with what the helper wrote: the header and what
     * else is in the pipe already, up to a NUL (never a blocking read: the helper may be waiting
     * for input).
     */
    private String textOnStdout(byte[] header) {
        byte[] more = new byte[EXCERPT];
        int got = Math.min(inLimit - inPos - 4, EXCERPT);
        System.arraycopy(in, inPos + 4, more, 0, got);
        try {
            FileInputStream pipe = process.pipeFromUmh();
            int ready = Math.min(pipe.available(), EXCERPT - got);
            got += ready > 0 ? pipe.readNBytes(more, got, ready) : 0;
        } catch (IOException e) {
            // the header alone tells enough
        }
        return "wrote text on stdout: " + excerpt(header, more, textLength(more, got)) + "; does it print a banner or log to stdout?"
                + " Its stdout carries only frames (a 4-byte length, then the bytes); log to stderr";
    }

    /** How many of the first {@code n} bytes of {@code b} come before a NUL: a frame (a length under 16 MiB) may follow a banner. */
    private static int textLength(byte[] b, int n) {
        int text = 0;
        while (text < n && b[text] != 0) {
            text++;
        }
        return text;
    }

    /** True if the first {@code n} bytes of {@code b} are printable ASCII, tabs or line ends: text, not a length. */
    private static boolean isText(byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if ((b[i] < 0x20 || b[i] > 0x7e) && b[i] != '\t' && b[i] != '\n' && b[i] != '\r') {
                return false;
            }
        }
        return true;
    }

    /** {@code header} then {@code n} bytes of {@code more}, quoted, at most {@value #EXCERPT} of them, others escaped as \xNN. */
    private static String excerpt(byte[] header, byte[] more, int n) {
        StringBuilder s = new StringBuilder("'");
        int total = header.length + n;
        for (int i = 0; i < Math.min(total, EXCERPT); i++) {
            int c = (i < header.length ? header[i] : more[i - header.length]) & 0xff;
            s.append(c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : c == '\'' || c == '\\' ? "\\" + (char) c
                    : c >= 0x20 && c < 0x7f ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return s.append(total > EXCERPT ? "...'" : "'").toString();
    }

    /** The helper can no longer be talked to: kill it (a no-op if it is gone) and say why, with its status. */
    private IOException broken(String what, IOException cause) {
        process.destroyForcibly();
        IOException e = new IOException("umh channel: helper pid " + process.pid() + " " + what
                + " (exit status " + exitStatus() + ")");
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }

    /** Closes the channel with {@code why}, kills the helper, and returns {@code why}. */
    private IOException fail(IOException why) {
        close(why);
        process.destroyForcibly();
        return why;
    }

    /** The helper's exit status, once the kill it was sent (or its own exit) has been reaped. */
    private int exitStatus() {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return process.waitFor();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The helper this channel talks to. */
    public UsermodeProcess process() {
        return process;
    }

    /** The largest frame, in bytes, this channel sends or accepts. */
    public int maxFrameSize() {
        return maxFrameSize;
    }

    /** False once closed, by {@link #close()} or by a failure. */
    public boolean isOpen() {
        return closed == null;
    }

    /**
     * Closes the channel: later calls throw IOException, and the helper's stdin is closed (EOF), so
     * a helper that reads requests until EOF exits. A call in flight first gets its reply (stdin is
     * closed once it ends, never under a write). The process stays its owner's to close. Idempotent.
     */
    @Override
    public void close() {
        close(new IOException("umh channel: closed"));
    }

    /** Closes the channel, unless it already is, with {@code why} as what later calls are told. */
    void close(IOException why) {
        synchronized (this) {
            if (closed == null) {
                closed = why;
            }
        }
        releaseIfClosed();
    }

    /**
     * Closes the channel and, once no call is in flight, the process: how a service lets go of a
     * helper that has exited without closing pipes under a caller's read.
     */
    void closeWithProcess(IOException why) {
        closeProcess = true;
        close(why);
    }

    /**
     * Once the channel is closed: closes the helper's stdin (and the process, for a service), but
     * never under a call. If a call holds the turn, that call does it as it ends: it checks after it
     * has let go of the turn.
     */
    private void releaseIfClosed() {
        if (closed != null && turn.tryLock()) {
            try {
                process.pipeToUmh().close();
                if (closeProcess) {
                    process.close();
                }
            } catch (IOException ignored) {
                // closing a pipe end cannot fail in a way anyone could act on
            } finally {
                turn.unlock();
            }
        }
    }

    @Override
    public String toString() {
        return "UsermodeChannel[pid=" + process.pid() + ", maxFrameSize=" + maxFrameSize
                + (timeout == null ? "" : ", timeout=" + timeout) + (closed == null ? "" : ", closed") + "]";
    }
}
