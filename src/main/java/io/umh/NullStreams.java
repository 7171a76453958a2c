package io.umh;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * The streams of a child's fd that is redirected, not piped, as ProcessBuilder's null streams
 * behave: reading gives EOF, writing throws {@code IOException("Stream closed")}, before and after
 * close. File streams over no fd ({@code new FileDescriptor()}), because UsermodeProcess's
 * {@code getOutputStream()} and {@code getInputStream()} return file streams.
 */
final class NullStreams {
    private NullStreams() {}

    /** A new null input stream: typed FileInputStream, so that verifying a caller loads no class of these. */
    static FileInputStream input() {
        return new Input();
    }

    /** A new null output stream: typed FileOutputStream, as {@link #input()}. */
    static FileOutputStream output() {
        return new Output();
    }

    /** Where a redirected stdout's {@code getInputStream()}, and a non-piped stderr, read from: always EOF. */
    private static final class Input extends FileInputStream {
        Input() {
            super(new FileDescriptor());
        }

        @Override
        public int read() {
            return -1;
        }

        @Override
        public int read(byte[] b) {
            return read(b, 0, b.length);
        }

        @Override
        public int read(byte[] b, int off, int len) {
            Objects.checkFromIndexSize(off, len, b.length);
            return len == 0 ? 0 : -1;
        }

        @Override
        public byte[] readAllBytes() {
            return new byte[0];
        }

        @Override
        public byte[] readNBytes(int len) {
            if (len < 0) {
                throw new IllegalArgumentException("len < 0");
            }
            return new byte[0];
        }

        @Override
        public int readNBytes(byte[] b, int off, int len) {
            Objects.checkFromIndexSize(off, len, b.length);
            return 0;
        }

        @Override
        public long skip(long n) {
            return 0;
        }

        @Override
        public int available() {
            return 0;
        }

        @Override
        public long transferTo(OutputStream out) {
            Objects.requireNonNull(out, "out");
            return 0;
        }
    }

    /** What a redirected stdin's {@code getOutputStream()} writes to: nothing, every write throws. */
    private static final class Output extends FileOutputStream {
        Output() {
            super(new FileDescriptor());
        }

        @Override
        public void write(int b) throws IOException {
            throw new IOException("Stream closed");
        }

        @Override
        public void write(byte[] b) throws IOException {
            write(b, 0, b.length);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (len > 0) {
                throw new IOException("Stream closed");
            }
        }
    }
}
