package io.umh.bench;

import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One cold start, in a JVM of its own (benchmarks/coldstart.sh starts them by turns): the time from
 * main's first line to the end of a first spawn+wait of the static exit program, umh's
 * {@code Umh.load} (which loads the shim) + {@code fork} + {@code waitFor} or ProcessBuilder's
 * {@code start} + {@code waitFor} of the same bytes written to FILE. Nothing of umh's or
 * ProcessBuilder's is touched before the clock starts. Prints the nanoseconds.
 *
 * <p>Usage: {@code ColdStart umh|process_builder FILE}.
 */
public final class ColdStart {
    private ColdStart() {}

    public static void main(String[] args) throws Exception {
        byte[] bytes = Files.readAllBytes(Path.of(args[1])); // read first: both sides get the bytes for free
        long start = System.nanoTime();
        int status;
        if (args[0].equals("umh")) {
            try (UsermodeBlob blob = Umh.load(bytes); UsermodeProcess p = blob.fork()) {
                status = p.waitFor();
            }
        } else {
            Process p = new ProcessBuilder(args[1]).start();
            status = p.waitFor();
            p.getOutputStream().close();
            p.getInputStream().close();
            p.getErrorStream().close();
        }
        long ns = System.nanoTime() - start;
        if (status != 0) {
            throw new IllegalStateException("exit status " + status);
        }
        System.out.println(ns);
    }
}
