package io.umh.bench;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.stream.Stream;

import io.umh.ForkOptions;
import io.umh.Umh;
import io.umh.UsermodeBlob;
import io.umh.UsermodeProcess;

/**
 * N live children, each waited on by its own virtual thread (Java 21+): how many platform threads
 * the process library adds, and how long it takes to reap them all after SIGKILL. umh against
 * ProcessBuilder, one after the other in one JVM. Not JMH: it is one measurement of a state, not a
 * loop. Prints one JSON object per line.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.umh.bench.ManyChildren [N]}. Each umh child keeps one
 * fd (its pidfd) once its pipes are closed.
 */
public final class ManyChildren {
    private ManyChildren() {}

    interface Child {
        long pid();

        int waitFor() throws InterruptedException;

        void kill();
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        ExecutorService virtual;
        try {
            Method m = java.util.concurrent.Executors.class.getMethod("newVirtualThreadPerTaskExecutor");
            virtual = (ExecutorService) m.invoke(null);
        } catch (NoSuchMethodException e) {
            System.out.println("{\"benchmark\": \"many_children\", \"skipped\": \"needs Java 21+ (virtual threads), this is "
                    + Runtime.version() + "\"}");
            return;
        }
        // start the virtual threads' carriers and the library's own threads before counting
        for (int i = 0; i < 100; i++) {
            virtual.submit(() -> {
                Thread.sleep(1);
                return null;
            }).get();
        }
        try (UsermodeBlob sleeper = Umh.load(Blobs.SLEEPER)) {
            sleeper.fork().close();
            ForkOptions pause = ForkOptions.builder().args("-p").build();
            run("umh", n, virtual, () -> {
                UsermodeProcess p = sleeper.fork(pause);
                p.pipeFromUmh().readNBytes(6);
                p.pipeToUmh().close();
                p.pipeFromUmh().close();
                return new Child() {
                    public long pid() { return p.pid(); }
                    public int waitFor() throws InterruptedException {
                        int status = p.waitFor();
                        p.close(); // exited: releases nothing but the object, as a user would
                        return status;
                    }
                    public void kill() { p.destroyForcibly(); }
                };
            });
        }
        Path dir = Files.createTempDirectory("umh-many");
        Path file = dir.resolve("sleeper");
        Files.write(file, Blobs.SLEEPER);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
        try {
            run("processBuilder", n, virtual, () -> {
                Process p = new ProcessBuilder(file.toString(), "-p").start();
                p.getInputStream().readNBytes(6);
                p.getOutputStream().close();
                p.getInputStream().close();
                p.getErrorStream().close();
                return new Child() {
                    public long pid() { return p.pid(); }
                    public int waitFor() throws InterruptedException { return p.waitFor(); }
                    public void kill() { p.destroyForcibly(); }
                };
            });
        } finally {
            Files.delete(file);
            Files.delete(dir);
        }
        virtual.shutdown();
    }

    interface Forker {
        Child fork() throws IOException;
    }

    private static void run(String name, int n, ExecutorService virtual, Forker forker) throws Exception {
        System.gc();
        int threadsBefore = threads();
        List<Child> children = new ArrayList<>(n);
        CountDownLatch reaped = new CountDownLatch(n);
        long forkStart = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Child c = forker.fork();
            children.add(c);
            virtual.submit(() -> {
                c.waitFor();
                reaped.countDown();
                return null;
            });
        }
        double forkMs = (System.nanoTime() - forkStart) / 1e6;
        int threadsWaiting = threads();
        long killStart = System.nanoTime();
        for (Child c : children) {
            c.kill();
        }
        reaped.await();
        double reapMs = (System.nanoTime() - killStart) / 1e6;
        System.out.printf("{\"benchmark\": \"many_children\", \"library\": \"%s\", \"children\": %d, "
                        + "\"platform_threads_added\": %d, \"fork_all_ms\": %.1f, \"kill_and_reap_all_ms\": %.1f}%n",
                name, n, threadsWaiting - threadsBefore, forkMs, reapMs);
        // let the JDK's per-process threads wind down before the next contender is counted
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (threads() > threadsBefore + 8 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
    }

    private static int threads() throws IOException {
        try (Stream<Path> s = Files.list(Paths.get("/proc/self/task"))) {
            return (int) s.count();
        }
    }
}
