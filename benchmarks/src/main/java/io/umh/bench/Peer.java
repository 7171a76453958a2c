package io.umh.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A process a runner takes turns with (Interleaved's C floor and JVMs, SpawnerScaling's JVMs):
 * it prints "ready" once, then answers each message with one line. Closing it ends its stdin,
 * which ends it.
 */
final class Peer implements AutoCloseable {
    private final Process process;
    private final OutputStream to;
    private final BufferedReader from;

    Peer(ProcessBuilder pb) throws IOException {
        process = pb.redirectError(ProcessBuilder.Redirect.INHERIT).start();
        to = process.getOutputStream();
        from = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII));
    }

    private String line() throws IOException {
        String line = from.readLine();
        if (line == null) {
            throw new IOException(process.info().command().orElse("peer") + " ended early");
        }
        return line.trim();
    }

    void awaitReady() throws IOException {
        if (!line().equals("ready")) {
            throw new IOException("peer: no ready line");
        }
    }

    /** Sends {@code message} (ASCII) and returns the line the peer answers with. */
    String ask(String message) throws IOException {
        to.write(message.getBytes(StandardCharsets.US_ASCII));
        to.flush();
        return line();
    }

    @Override
    public void close() throws Exception {
        to.close();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
        from.close();
    }
}
