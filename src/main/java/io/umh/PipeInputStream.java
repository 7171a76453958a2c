package io.umh;

import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.util.Objects;

/**
 * A FileInputStream over the read end of a pipe.
 *
 * <p>JDK 17's FileInputStream answers readAllBytes, readNBytes and skip by asking the file for its
 * length and position (an optimisation for regular files); on a pipe lseek fails and they throw
 * "IOException: Illegal seek" (seen on 17.0.15; later JDKs fall back). Here they only read.
 */
final class PipeInputStream extends FileInputStream {
    private static final int CHUNK = 8192;

    PipeInputStream(FileDescriptor fd) {
        super(fd);
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
}
