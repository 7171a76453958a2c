package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Out of fds (EMFILE): an IOException naming the call and the errno; afterwards nothing leaked and all works. */
@Timeout(60)
class ResourceLimitTest {
    private static String[] nofileLimit() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                return new String[] {f[0], f[1]};
            }
        }
        throw new IllegalStateException("no Max open files in /proc/self/limits");
    }

    private static void prlimit(String soft, String hard) throws Exception {
        Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(ProcessHandle.current().pid()),
                "--nofile=" + soft + ":" + hard).inheritIO().start();
        assertEquals(0, p.waitFor(), "prlimit");
    }

    /** Opens /dev/null until the fd table is full. */
    private static void fillUp(List<FileInputStream> hogs) throws IOException {
        try {
            while (true) {
                hogs.add(new FileInputStream("/dev/null"));
            }
        } catch (FileNotFoundException full) {
            // every fd is taken
        }
    }

    @Test
    void emfileFromMemfdCreateAndPipe2() throws Exception {
        byte[] exit = TestBlobs.bytes("exit");
        try (UsermodeProcess p = Umh.forkUsermodeBlob(exit)) { // everything loaded and warm
            p.waitFor();
        }
        assertThrows(IOException.class, () -> Umh.forkUsermodeBlob("x".getBytes()));
        String[] limit = nofileLimit();
        int before = TestBlobs.openFds();
        List<FileInputStream> hogs = new ArrayList<>();
        IOException loadFailure;
        IOException forkFailure;
        prlimit(Integer.toString(TestBlobs.fdTargets().size() + 64), limit[1]);
        try {
            fillUp(hogs);
            loadFailure = assertThrows(IOException.class, () -> Umh.load(exit));
            UsermodeBlob blob = null;
            try {
                // room for the memfd, none for the pipes; fill again first, since another thread
                // (the Cleaner, closing pipes of processes an earlier test never closed) may have
                // freed an fd meanwhile
                fillUp(hogs);
                hogs.remove(hogs.size() - 1).close();
                blob = Umh.load(exit);
                fillUp(hogs);
                forkFailure = assertThrows(IOException.class, blob::fork);
            } finally {
                if (blob != null) {
                    blob.close();
                }
            }
        } finally {
            for (FileInputStream h : hogs) {
                h.close();
            }
            prlimit(limit[0], limit[1]);
        }
        assertEquals("load: memfd_create failed: EMFILE (Too many open files)", loadFailure.getMessage());
        assertEquals("fork: pipe2 failed: EMFILE (Too many open files)", forkFailure.getMessage());
        TestBlobs.assertFds(before);
        assertTrue(TestBlobs.zombieChildren().isEmpty());
        try (UsermodeProcess p = Umh.forkUsermodeBlob(exit, ForkOptions.builder().args("4").build())) {
            assertEquals(4, p.waitFor());
        }
    }
}
