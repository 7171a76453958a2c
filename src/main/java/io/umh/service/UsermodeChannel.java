package io.umh.service;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import io.umh.UsermodeProcess;
import io.umh.internal.VirtualThreads;
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
 * <p><b>Threads and pipelining</b>: {@code call} and {@link #callAsync(byte[])} are safe from
 * any number of threads, and several requests are in flight at once: each caller writes its frame
 * in one write(2) under a short turn (a plain lock, not a fair one: that would hand every turn to
 * a parked thread, a wake-up per call) and takes its place in line; as the helper answers in
 * order, the n-th reply is the n-th caller's. Who reads: a platform thread whose request went out
 * with nothing else in flight reads its own reply, with no hand-off (one thread calling in a loop
 * costs a write and a read); the replies of the calls that queued behind it, and every reply to
 * an async call or a virtual thread, are read by the channel's reader thread ({@code
 * umh-channel-PID}, a daemon started when first needed, ending after a second without work),
 * which hands each to its caller. A waiting caller parks, so a virtual thread never holds a
 * carrier in read(2): 10,000 virtual threads calling 8 helpers need the scheduler's carriers and
 * the 8 reader threads, nothing more.
 *
 * <p><b>Failures</b> close the channel for good and SIGKILL its helper, because a byte stream that
 * has lost its framing cannot be trusted again: a timeout after the request was sent, a reply
 * longer than the maximum, the helper closing its stdout or exiting before or during a reply, a
 * failed write. The call throws an IOException that says which, with the helper's exit status;
 * every later call throws one that names the first failure. Never a hang, never an allocation of
 * a claimed length: a reply's buffer grows with the bytes that actually arrive. A header that is
 * text (printable ASCII, tabs, line ends) claiming more than the maximum is taken for what it is,
 * a banner or a log line on stdout, and the call says so, quoting it: {@code helper pid N wrote
 * text on stdout: 'hello wor...'; does it print a banner or log to stdout?}. A failure fails
 * every call in line with the same message. A timeout kills the helper only if it is late with
 * that call's own reply: a call whose timeout passes while a call sent before it still waits for
 * its reply gives up alone (InterruptedIOException), and its reply is dropped when it comes, as is
 * an interrupted or cancelled call's. Two more cases leave the channel usable, as nothing was
 * sent: a request longer than the maximum (IllegalArgumentException), and a timeout while waiting
 * for the turn to write (InterruptedIOException).
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
    /** A platform thread that sent a request while nothing was in flight reads its reply itself. */
    private static final Object DIRECT = "direct";
    /** The channel's reader thread reads replies and hands them to the calls in line. */
    private static final Object READER = "reader thread";
    /** How long the reader thread waits for work before it ends. */
    private static final long KEEP_ALIVE = TimeUnit.SECONDS.toNanos(1);
    /** The most bytes a diagnostic quotes of what a helper wrote that is no frame. */
    private static final int EXCERPT = 40;

    private final UsermodeProcess process;
    private final int maxFrameSize;
    private final Duration timeout; // null: none
    /** The turn to write a frame: held across the write(2), so that frames never interleave. */
    private final ReentrantLock turn = new ReentrantLock();
    /** Guards the fields below it; never held across a read or a write. */
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readerWork = lock.newCondition(); // signalled when the reader thread is to read
    /** The calls sent whose replies are still to come, in the order sent (after the reading call's own). */
    private final ArrayDeque<Pending> line = new ArrayDeque<>();
    /** Who reads replies: null (nobody: the line is empty), {@link #DIRECT} or {@link #READER}. */
    private Object reader;
    private volatile Thread readerThread; // while it lives
    private boolean inWrite;     // a frame is being written: stdin stays open
    private boolean stdinClosed;
    private boolean processReleased;
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
     * (null: no limit). A timeout while another call's request is being written sends nothing and
     * leaves the channel open. Once the request is sent, a timeout kills the helper and closes the
     * channel if no call sent before it still waits for its reply (the helper is late with this
     * one); if one does, this call gives up alone and the channel stays open: its reply, when it
     * comes, is dropped.
     *
     * @throws IllegalArgumentException if the request is longer than the maximum frame size
     * @throws InterruptedIOException on a timeout, or if interrupted while waiting for the turn to
     *     write or (a call behind others) for the reply, which is then dropped
     * @throws IOException if the channel is closed or fails during this call (see the class comment)
     */
    public byte[] call(byte[] request, Duration timeout) throws IOException {
        check(request, timeout);
        long start = System.nanoTime();
        Pending p = send(request, timeout, start, !VirtualThreads.current());
        if (p == null) {
            return readOwnReply(timeout, start);
        }
        while (Thread.currentThread() == readerThread && !p.isDone()) {
            readOne(); // a call from an async call's dependent action, on the reader thread: it reads on, or nobody would
        }
        return await(p, timeout, start);
    }

    /** {@link #callAsync(byte[], Duration)} within the channel's timeout, if it has one. */
    public CompletableFuture<byte[]> callAsync(byte[] request) {
        return callAsync(request, timeout);
    }

    /**
     * Sends {@code request} and returns a future of the helper's reply, which the channel's reader
     * thread completes; several such calls are in flight at once (pipelined). The request is
     * written on the calling thread, which may wait for the turn to write (at most {@code timeout});
     * the future then completes with the reply, or fails with the IOException a {@link #call} would
     * throw, the timeout counted from now. Cancelling it gives up the call as a timeout behind other
     * calls does: its reply is dropped. Dependent actions that are not {@code *Async} run on the
     * reader thread: keep them short (a {@link #call} there works, but holds up every reply behind it).
     *
     * @throws IllegalArgumentException if the request is longer than the maximum frame size
     */
    public CompletableFuture<byte[]> callAsync(byte[] request, Duration timeout) {
        check(request, timeout);
        long start = System.nanoTime();
        Pending p;
        try {
            p = send(request, timeout, start, false);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (timeout != null) {
            Watchdog w = Watchdog.start(Duration.ofNanos(left(timeout, start)), () -> expire(p, timeout));
            p.whenComplete((reply, e) -> w.cancel());
        }
        return p;
    }

    private void check(byte[] request, Duration timeout) {
        Watchdog.checkTimeout(timeout, "timeout");
        checkFrame(request, maxFrameSize);
    }

    /** Fails if {@code request} is null or longer than {@code maxFrameSize}, naming both sizes. */
    static void checkFrame(byte[] request, int maxFrameSize) {
        Objects.requireNonNull(request, "request");
        if (request.length > maxFrameSize) {
            throw new IllegalArgumentException("umh channel: a request of " + request.length
                    + " bytes is longer than the maximum frame size, " + maxFrameSize);
        }
    }

    /**
     * Writes the request's frame, in turn with other callers, and puts its call in line for a
     * reply. Returns null if the calling thread is to read its own reply itself: it may
     * ({@code mayRead}, a platform thread blocked in read(2) costs nothing), and nothing else is
     * in flight; or else the call's place in line, whose reply the one reading hands over.
     */
    private Pending send(byte[] request, Duration timeout, long start, boolean mayRead) throws IOException {
        IOException already = closed;
        if (already != null) { // fail fast, without waiting for a turn
            throw new IOException(already.getMessage(), already);
        }
        takeTurn(timeout);
        Pending p = null;
        boolean direct = false;
        try {
            lock.lock();
            try {
                IOException why = closed;
                if (why != null) {
                    throw new IOException(why.getMessage(), why);
                }
                if (reader == null && mayRead) {
                    reader = DIRECT;
                    direct = true;
                } else {
                    p = new Pending();
                    line.add(p); // before the write: its reply cannot come before it is in line
                    if (reader == null) {
                        readerThreadReads();
                    }
                }
                inWrite = true;
            } finally {
                lock.unlock();
            }
            try {
                writeFrame(request);
            } catch (IOException e) {
                lock.lock();
                try {
                    inWrite = false;
                    if (p != null) {
                        line.remove(p); // this call fails here, with e
                    }
                } finally {
                    lock.unlock();
                }
                if (p == null) { // nothing else in flight: this thread was to read, and no one else will
                    throw fail(e, direct);
                }
                // the calls in line before it may have their replies in the pipe already: whoever reads
                // hands them over, and fails the rest at the helper's EOF; no later call is sent
                close(e);
                throw e;
            }
            lock.lock();
            try {
                inWrite = false;
            } finally {
                lock.unlock();
            }
        } finally {
            turn.unlock();
            releaseIfClosed(); // close() may have found this write in progress and left it to us
        }
        return p;
    }

    private void takeTurn(Duration timeout) throws InterruptedIOException {
        try {
            if (timeout == null) {
                turn.lockInterruptibly();
            } else if (!turn.tryLock(Watchdog.nanos(timeout), TimeUnit.NANOSECONDS)) {
                throw new InterruptedIOException("umh channel: another call's request to helper pid " + process.pid()
                        + " was still being written after " + timeout + "; nothing was sent");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("umh channel: interrupted while waiting for the turn; nothing was sent");
        }
    }

    /**
     * The reply to the request this thread just sent with nothing else in flight: read here, no
     * hand-off. A timeout is a watchdog that kills the helper, which ends the read.
     */
    private byte[] readOwnReply(Duration timeout, long start) throws IOException {
        Watchdog watchdog = timeout == null ? null : Watchdog.start(Duration.ofNanos(left(timeout, start)), process::destroyForcibly);
        byte[] reply = null;
        IOException failure = null;
        try {
            spinForReply();
            reply = readFrame();
        } catch (IOException e) {
            failure = e;
        }
        if (watchdog != null && watchdog.cancel()) {
            InterruptedIOException t = new InterruptedIOException(noReply(timeout) + "; it was killed (exit status " + exitStatus() + ")");
            if (failure != null) {
                t.initCause(failure);
            }
            throw fail(t, true);
        }
        if (failure != null) {
            throw fail(failure, true);
        }
        lock.lock();
        try {
            if (line.isEmpty()) {
                reader = null;
            } else {
                readerThreadReads(); // the calls sent while this one read: their replies come next
            }
        } finally {
            lock.unlock();
        }
        releaseIfClosed();
        return reply;
    }

    /** A call's reply, waiting (parked, never in read(2)) for the one reading to hand it over. */
    private byte[] await(Pending p, Duration timeout, long start) throws IOException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return timeout == null ? p.get() : p.get(left(timeout, start), TimeUnit.NANOSECONDS);
                } catch (ExecutionException e) {
                    throw (IOException) e.getCause(); // every failure is one, made for this call
                } catch (TimeoutException e) {
                    expire(p, timeout);
                } catch (InterruptedException e) {
                    interrupted = true;
                    giveUp(p, new InterruptedIOException("umh channel: interrupted while waiting for helper pid " + process.pid()
                            + "'s reply, behind other calls; the channel stays open and drops that reply"));
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * A call's timeout has passed without its reply. If no call sent before it still waits for its
     * reply (each has it, or gave up), the helper is late with this one: kill it and fail the
     * channel. If one does, give this call up alone: that caller's patience is not this one's.
     */
    private void expire(Pending p, Duration timeout) {
        boolean late;
        lock.lock();
        try {
            if (p.isDone()) {
                return;
            }
            late = reader != DIRECT && nobodyWaitsBefore(p);
            p.givenUp = true;
        } finally {
            lock.unlock();
        }
        if (!late) {
            p.completeExceptionally(new InterruptedIOException(noReply(timeout) + ", as calls sent before it were still"
                    + " waiting for theirs; the channel stays open and drops that reply"));
            return;
        }
        process.destroyForcibly();
        InterruptedIOException t = new InterruptedIOException(noReply(timeout) + "; it was killed (exit status " + exitStatus() + ")");
        p.completeExceptionally(t);
        fail(new InterruptedIOException(t.getMessage()), false);
    }

    /** With {@link #lock} held: whether every call in line before {@code p} was given up (or cancelled). */
    private boolean nobodyWaitsBefore(Pending p) {
        for (Pending q : line) {
            if (q == p) {
                return true;
            }
            if (!q.givenUp && !q.isDone()) {
                return false;
            }
        }
        return false; // answered meanwhile
    }

    /** Gives up a call in line with {@code why}: its reply, when it comes, is dropped. */
    private void giveUp(Pending p, IOException why) {
        lock.lock();
        try {
            p.givenUp = true;
        } finally {
            lock.unlock();
        }
        p.completeExceptionally(why);
    }

    private String noReply(Duration timeout) {
        return "umh channel: no reply from helper pid " + process.pid() + " within " + timeout;
    }

    /** Nanoseconds left of {@code timeout} since {@code start}; at least 1. */
    private static long left(Duration timeout, long start) {
        return Math.max(1, Watchdog.nanos(timeout) - (System.nanoTime() - start));
    }

    /** Hands the reading to the reader thread, started if there is none: with {@link #lock} held, a call in line. */
    private void readerThreadReads() {
        reader = READER;
        if (readerThread != null) {
            readerWork.signal();
            return;
        }
        Thread t = new Thread(null, this::readReplies, "umh-channel-" + process.pid(), 0, false);
        t.setDaemon(true);
        t.setContextClassLoader(null); // it must pin no one's loader
        readerThread = t;
        t.start();
    }

    /**
     * The reader thread: while it reads, it hands each reply to the call first in line; once the
     * line is empty it waits for the reading to come back, and ends after a second without.
     */
    private void readReplies() {
        while (true) {
            lock.lock();
            try {
                long idle = KEEP_ALIVE;
                while (reader != READER) {
                    if (closed != null || idle <= 0) {
                        readerThread = null;
                        return;
                    }
                    try {
                        idle = readerWork.awaitNanos(idle);
                    } catch (InterruptedException e) {
                        idle = 0; // nobody interrupts it but to end it
                    }
                }
            } finally {
                lock.unlock();
            }
            readOne();
        }
    }

    /** With the reading role: reads one reply and hands it to the call first in line. */
    private void readOne() {
        byte[] reply;
        try {
            reply = readFrame();
        } catch (IOException e) {
            fail(e, true);
            return;
        }
        Pending p;
        boolean done;
        lock.lock();
        try {
            p = line.pollFirst();
            if (p != null && p.givenUp) {
                p = null; // dropped: its caller has gone
            }
            done = line.isEmpty();
            if (done) {
                reader = null;
            }
        } finally {
            lock.unlock();
        }
        if (p != null) {
            p.complete(reply); // a no-op if an async caller cancelled
        }
        if (done) {
            releaseIfClosed();
        }
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
     * How long a thread that reads its own reply first polls the pipe for it (FIONREAD, a syscall
     * that keeps the thread on its CPU) before blocking in read(2): a reply that comes back within
     * it costs no wake-up of this thread, which is most of a round trip to a quick helper. Spent
     * only while replies have been coming back within it (a slow or CPU-bound helper is not
     * polled for), and never by a virtual thread or a call behind others (they wait in line).
     * {@code -Dumh.channel.spin=NANOS}, 0 to never poll; default 20 us.
     */
    /**
     * How long a thread that reads its own reply first polls the pipe for it (FIONREAD: a syscall
     * that keeps the thread on its CPU) before it blocks in read(2). A reply that comes back within
     * it costs no wake-up of this thread, which is most of a round trip to a quick helper (measured:
     * 1.41-1.53x the calls/s of one thread without it). Spent only while replies come back within
     * it: after a slower one, the next 16 own replies are read without polling; never by a virtual
     * thread or by calls in line behind others (they wait on the reader thread).
     * {@code -Dumh.channel.spin=NANOS}, 0 never to poll; default 20 us.
     */
    private static final long SPIN_NANOS = Long.getLong("umh.channel.spin", 20_000);
    /** After a reply slower than SPIN_NANOS, this many own replies are read without polling first. */
    private static final int SLOW_SKIPS = 16;
    private int skipSpins; // only the one thread reading its own reply touches it; the turn's lock orders them

    /** Polls for the reply up to SPIN_NANOS unless a recent one was slower; notes whether this one was. */
    private void spinForReply() throws IOException {
        if (SPIN_NANOS <= 0 || inLimit > inPos) {
            return;
        }
        if (skipSpins > 0) {
            skipSpins--;
            return;
        }
        FileInputStream pipe = process.pipeFromUmh();
        long start = System.nanoTime();
        while (pipe.available() == 0) {
            if (System.nanoTime() - start >= SPIN_NANOS) {
                skipSpins = SLOW_SKIPS; // a slow or CPU-bound helper: polling for it would only burn this CPU
                return;
            }
            Thread.onSpinWait();
        }
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

    /**
     * Closes the channel with {@code why}, kills the helper, fails every call in line with
     * {@code why}'s message, and returns {@code why}. {@code reading}: the caller is the one
     * reading, which stops (anyone else reading sees the helper's end and stops in turn).
     */
    private IOException fail(IOException why, boolean reading) {
        close(why);
        process.destroyForcibly();
        List<Pending> failed;
        lock.lock();
        try {
            failed = new ArrayList<>(line.size());
            for (Pending p : line) {
                if (!p.givenUp) { // its caller has its own exception
                    failed.add(p);
                }
            }
            line.clear();
            if (reading) {
                reader = null;
            }
        } finally {
            lock.unlock();
        }
        for (Pending p : failed) {
            p.completeExceptionally(why instanceof InterruptedIOException
                    ? (IOException) new InterruptedIOException(why.getMessage()).initCause(why) : new IOException(why.getMessage(), why));
        }
        releaseIfClosed();
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
     * a helper that reads requests until EOF exits. Calls in flight still get their replies (stdin
     * is closed after the requests sent, never under a write). The process stays its owner's to
     * close. Idempotent.
     */
    @Override
    public void close() {
        close(new IOException("umh channel: closed"));
    }

    /** Closes the channel, unless it already is, with {@code why} as what later calls are told. */
    void close(IOException why) {
        lock.lock();
        try {
            if (closed == null) {
                closed = why;
            }
            readerWork.signal(); // an idle reader thread ends now
        } finally {
            lock.unlock();
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
     * Once the channel is closed: closes the helper's stdin once no frame is being written, and
     * the process too (for a service) once no reply is being read or awaited. Whoever ends the
     * write or the reading checks again; every decision is taken under {@link #lock}, so the last
     * of them sees it can go.
     */
    private void releaseIfClosed() {
        if (closed == null) {
            return;
        }
        boolean stdin = false;
        boolean all = false;
        lock.lock();
        try {
            if (inWrite) {
                return;
            }
            stdin = !stdinClosed;
            stdinClosed = true;
            all = closeProcess && !processReleased && reader == null && line.isEmpty();
            processReleased |= all;
        } finally {
            lock.unlock();
        }
        try {
            if (stdin) {
                process.pipeToUmh().close(); // later writers find the channel closed before they write
            }
        } catch (IOException ignored) {
            // closing a pipe end cannot fail in a way anyone could act on
        }
        if (all) {
            process.close();
        }
    }

    /** A call in line for its reply: the future its caller waits on or was given. */
    private static final class Pending extends CompletableFuture<byte[]> {
        boolean givenUp; // guarded by lock: a timeout or interrupt; the reply is dropped (and it is never the one to fail)
    }

    @Override
    public String toString() {
        return "UsermodeChannel[pid=" + process.pid() + ", maxFrameSize=" + maxFrameSize
                + (timeout == null ? "" : ", timeout=" + timeout) + (closed == null ? "" : ", closed") + "]";
    }
}
