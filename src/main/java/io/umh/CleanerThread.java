package io.umh;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * umh's one {@link Cleaner} (blobs' memfds, helpers' pipes, policies' namespaces) and its daemon
 * thread, "umh-cleaner", started by the first load ({@link #ensureStarted}) rather than by the
 * first {@link UsermodeBlob}, so that it starts as early as it can: before it starts cleaning, it
 * loads the shim (initialises {@link Native}) while the loading thread checks the blob and then
 * loads the classes a first fork needs, {@link #FIRST_FORK} ({@link #whileTheShimLoads}), which
 * this thread then shares with it while that one copies the bytes and forks. In a fresh JVM each
 * class of umh's jar costs 0.3-1 ms of interpreted class-loader code (an AppCDS archive of every
 * class saves ~6 ms of a ~35 ms first fork: benchmarks/analysis.md, twelfth session); on a second
 * core it overlaps with the rest. Those classes are loaded only, never initialised, and a class
 * the caller reaches first it loads itself, the other thread then finding it loaded. The only
 * initialisers that run here are Native's, which records any failure for the load's own
 * {@code Native.ensureLoaded()} to throw, as if it had run there, and, once the shim is loaded,
 * ShutdownHook's: none of them waits on a class the caller initialises. This thread also starts the
 * spawner and reaper threads then ({@link #startForkThreads}), which the first fork would
 * otherwise start and wait for. The cleaning waits meanwhile: nothing it could clean exists
 * before the first load returns.
 */
final class CleanerThread implements ThreadFactory, Runnable {
    static final Cleaner CLEANER = Cleaner.create(new CleanerThread());

    /**
     * What a first load + fork + waitFor + close of a static binary loads of umh's (ColdStartTest
     * keeps the list complete), in about the order the caller needs them; but for BlobInfo, which the
     * caller is loading while this thread starts.
     */
    static final String[] FIRST_FORK = {
        "io.umh.Native", "io.umh.NativeLoader", // what this thread's shim load needs first
        "io.umh.UsermodeBlob", "io.umh.Closer", "io.umh.UsermodeProcess",
        "io.umh.PipeInputStream", "io.umh.ForkOptions",
        "io.umh.Spawn", "io.umh.Spawner", "io.umh.Log", "io.umh.Child",
        "io.umh.ShutdownHook", "io.umh.Reaper", "io.umh.FdWatcher",
    }; // and on JDK 21+ VirtualThreads, which the caller's waitFor loads (none before: no virtual threads)

    /** The next of FIRST_FORK to load, for whichever thread takes it: this one, and a first load's caller while it waits for the shim. */
    private static final AtomicInteger NEXT = new AtomicInteger();
    private static volatile boolean shimLoaded;

    private Runnable cleaning; // the Cleaner's own loop, run once the classes are loaded

    private CleanerThread() {}

    /** Makes sure the thread is started (once, by this class's initialisation). */
    static void ensureStarted() {}

    /**
     * On a load's thread, right before it needs the shim: while this thread is still loading it,
     * loads first-fork classes rather than wait idle (in a fresh JVM the shim takes 4-12 ms, most
     * of which this thread would wait): the two threads share {@link #FIRST_FORK}, each taking the
     * next class; then it initialises {@link #INIT_EARLY}. Returns once the shim is loaded, or both are done.
     */
    static void whileTheShimLoads() {
        ClassLoader loader = CleanerThread.class.getClassLoader();
        while (!shimLoaded && loadNext(loader)) {
            // one class each time round
        }
        for (int i = 0; i < INIT_EARLY.length && !shimLoaded; i++) {
            try {
                Class.forName(INIT_EARLY[i], true, loader); // an Error (no memory) is the load's to throw
            } catch (ClassNotFoundException broken) {
                // not in a broken jar's copy of umh: its fork says so
            }
        }
    }

    /**
     * The first fork's classes whose initialisers need no shim, initialised by a first load's
     * thread (which initialises them a moment later anyway) once FIRST_FORK is loaded while the
     * shim still is not: their verification and initialisers run where that thread would wait.
     */
    static final String[] INIT_EARLY = {
        "io.umh.UsermodeBlob", "io.umh.ForkOptions", "io.umh.UsermodeProcess", "io.umh.Child",
        "io.umh.PipeInputStream", "io.umh.Spawn", "io.umh.Closer",
    };

    /** Loads (never initialises) the next class of FIRST_FORK: false once none is left. */
    private static boolean loadNext(ClassLoader loader) {
        int i = NEXT.getAndIncrement();
        if (i >= FIRST_FORK.length) {
            return false;
        }
        try {
            Class.forName(FIRST_FORK[i], false, loader);
        } catch (Throwable warmUpOnly) {
            // ClassNotFoundException, a LinkageError, no memory: whoever needs it loads it itself
        }
        return true;
    }

    @Override
    public Thread newThread(Runnable r) {
        cleaning = r; // Cleaner.create asks for one thread, once; its start() publishes this to it
        Thread t = new Thread(null, this, "umh-cleaner", 256 * 1024, false); // class loading's stack, not only a cleaning's
        t.setDaemon(true);
        t.setContextClassLoader(null); // a library thread: it must not pin the loader of whoever started it
        return t;
    }

    /**
     * The spawner and reaper threads a first fork needs, started here rather than by that fork,
     * which would wait for each to start, and the shutdown hook that takes them out of native code
     * at exit (else the JVM's exit waits ~300 ms for them, see ShutdownHook.retireThreads). A start
     * that fails is tried again, and thrown, by the first fork.
     */
    private static void startForkThreads() {
        try {
            ShutdownHook.ensureRegistered();
            Spawner.ensureStarted();
            Reaper.ensureStarted();
        } catch (IOException | RuntimeException | Error e) {
            // no thread or no fd now: the first fork tries again and says why
        }
    }

    @Override
    public void run() {
        try {
            Native.ensureLoaded(); // the shim: the load needs it right after its checks of the blob
        } catch (Throwable failed) {
            // recorded by Native: the load's own ensureLoaded throws it
        }
        shimLoaded = true;
        NativeLoader.logLoaded();
        if (Native.loaded()) {
            startForkThreads();
        }
        ClassLoader loader = CleanerThread.class.getClassLoader();
        while (loadNext(loader)) {
            // one class each time round
        }
        cleaning.run();
    }
}
