package io.umh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Every bad input gets a clear exception naming its cause, and leaves no fd and no zombie behind. */
@Timeout(60)
@org.junit.jupiter.api.extension.ExtendWith(NothingLeaked.class)
class BadInputTest {



    @Test
    void nullBlobIsNpe() {
        assertThrows(NullPointerException.class, () -> Umh.forkUsermodeBlob(null));
        assertThrows(NullPointerException.class, () -> Umh.load((byte[]) null));
        assertThrows(NullPointerException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("exit"), null));
    }

    @Test
    void emptyBlobIsIllegalArgument() {
        assertThrows(IllegalArgumentException.class, () -> Umh.forkUsermodeBlob(new byte[0]));
    }

    @Test
    void bytesThatAreNoProgramAreEnoexec() {
        IOException e = assertThrows(IOException.class,
                () -> Umh.forkUsermodeBlob("just some text".getBytes(StandardCharsets.UTF_8)));
        assertEquals("fork: execveat failed: ENOEXEC (Exec format error): neither an ELF nor a #! script: it starts"
                + " with \"just some text\"", e.getMessage());
        // a truncated ELF header, too: never handed to /bin/sh as ProcessBuilder would, refused at load (ExecErrorTest)
        byte[] elf = Arrays.copyOf(TestBlobs.bytes("exit"), 40);
        IOException e2 = assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(elf));
        assertTrue(e2.getMessage().startsWith("load: a truncated ELF"), e2.getMessage());
    }

    @Test
    void missingDirectoryIsNamed() {
        Path missing = Path.of("/nonexistent/umh-test-dir");
        IOException e = assertThrows(IOException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("exit"),
                ForkOptions.builder().directory(missing).build()));
        assertEquals("fork: chdir failed: ENOENT (No such file or directory): directory " + missing, e.getMessage());
    }

    @Test
    void unwritableStderrFileIsNamed() {
        File f = new File("/nonexistent/dir/err.log");
        IOException e = assertThrows(java.io.FileNotFoundException.class, () -> Umh.forkUsermodeBlob(TestBlobs.bytes("exit"),
                ForkOptions.builder().redirectError(Redirect.to(f)).build()));
        assertEquals("fork: open failed: ENOENT (No such file or directory): redirectError " + f, e.getMessage());
    }

    @Test
    void nulCharactersAndBadNamesAreIllegalArguments() {
        assertThrows(IllegalArgumentException.class, () -> ForkOptions.builder().args("a\0b").build());
        assertThrows(IllegalArgumentException.class, () -> ForkOptions.builder().argv0("x\0").build());
        assertThrows(IllegalArgumentException.class, () -> ForkOptions.builder().environment(Map.of("A", "1\0")).build());
        assertThrows(IllegalArgumentException.class, () -> ForkOptions.builder().environment(Map.of("A\0", "1")).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ForkOptions.builder().environment(Map.of("A=B", "1")).build());
        assertTrue(e.getMessage().contains("'='"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ForkOptions.builder().environment(Map.of("", "1")).build());
        assertThrows(IllegalArgumentException.class,
                () -> ForkOptions.builder().redirectError(Redirect.from(new File("/dev/null"))).build());
        assertThrows(NullPointerException.class, () -> ForkOptions.builder().args((String) null).build());
    }

    @Test
    void forkOnAClosedBlobIsIllegalState() throws Exception {
        UsermodeBlob blob = Umh.load(TestBlobs.bytes("exit"));
        blob.close();
        blob.close(); // idempotent
        assertThrows(IllegalStateException.class, blob::fork);
    }
}
