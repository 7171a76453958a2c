package io.umh;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What a blob's bytes are, read once at load from its first bytes (the ELF header and program
 * headers, or the {@code #!} line): the CPU and class of an ELF, whether it is dynamically linked
 * and by which loader ({@code PT_INTERP}), or a script's interpreter. {@link Umh#load} refuses a
 * truncated ELF with it, and a failed exec says with it why, in words (another CPU, a missing
 * loader or interpreter, bytes that are no program); a fork that works never looks at it.
 * {@code java -jar umh.jar inspect FILE} prints it. Immutable.
 */
public final class BlobInfo {
    /** What the first bytes say the blob is. */
    public enum Kind {
        /** An ELF file (its first four bytes are {@code \x7fELF}). */
        ELF,
        /** A script: its first two bytes are {@code #!}. */
        SCRIPT,
        /** Neither: the kernel refuses it with ENOEXEC (unless a binfmt_misc handler takes it). */
        OTHER
    }

    /** The bytes read at load for the headers; program headers further in are read from the blob. */
    static final int HEAD = 64 * 1024;
    /** The kernel reads this much of a file for its {@code #!} line (BINPRM_BUF_SIZE). */
    private static final int SHEBANG_MAX = 256;
    private static final int PT_LOAD = 1;
    private static final int PT_DYNAMIC = 2;
    private static final int PT_INTERP = 3;
    /** d_tag values (elf.h DT_*): the end, the string table's address, and the two library search paths. */
    private static final int DT_NULL = 0, DT_STRTAB = 5, DT_RPATH = 15, DT_RUNPATH = 29;
    /** e_machine numbers (elf.h EM_*) and the names uname -m gives them. */
    private static final Map<Integer, String> MACHINES = Map.ofEntries(Map.entry(2, "sparc"), Map.entry(3, "i386"),
            Map.entry(8, "mips"), Map.entry(20, "ppc"), Map.entry(21, "ppc64"), Map.entry(22, "s390x"),
            Map.entry(40, "arm"), Map.entry(43, "sparc64"), Map.entry(62, "x86_64"), Map.entry(183, "aarch64"),
            Map.entry(243, "riscv"), Map.entry(258, "loongarch"));

    /** Kind's ordinal, a number: a load and fork that work load no enum (a class, and its initialiser, for a first fork). */
    private final int kind;
    private static final int ELF_KIND = 0, SCRIPT_KIND = 1, OTHER_KIND = 2;
    private final long size;
    private final int bits; // ELF: 32 or 64, 0 for an unknown class
    private final boolean bigEndian;
    private final int machine; // ELF: e_machine
    private final int type; // ELF: e_type
    private final String interpreter; // ELF: PT_INTERP; script: the #! interpreter; else null
    private final String argument; // script: the #! line's optional argument, else null
    private final String truncation; // ELF: why it cannot be whole, else null
    private final String runpath; // a dynamic ELF: DT_RUNPATH, else DT_RPATH, where it could be read; else null
    private final byte[] start; // the first bytes, for messages

    private BlobInfo(int kind, long size, int bits, boolean bigEndian, int machine, int type, String interpreter,
                     String argument, String truncation, String runpath, byte[] start) {
        this.kind = kind;
        this.size = size;
        this.bits = bits;
        this.bigEndian = bigEndian;
        this.machine = machine;
        this.type = type;
        this.interpreter = interpreter;
        this.argument = argument;
        this.truncation = truncation;
        this.runpath = runpath;
        this.start = start;
    }

    /** What {@code blob} is. */
    public static BlobInfo of(byte[] blob) {
        try {
            return of(ByteBuffer.wrap(blob), blob.length, null);
        } catch (IOException e) {
            // cannot happen: nothing is read beyond the array (not an AssertionError: a JDK class outside
            // CDS that verifying this class would load on every first load; PipeInputStream loads this one)
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** What the file at {@code path} is, from its first bytes and its program headers (the rest is not read). */
    public static BlobInfo of(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate((int) Math.min(size, HEAD));
            while (head.hasRemaining() && ch.read(head, head.position()) > 0) {
                // a file that shrinks while read is analysed as what was read
            }
            head.flip();
            return of(head, size, ch);
        }
    }

    /**
     * What a blob of {@code size} bytes is, from its first bytes {@code head} (position 0 to its
     * limit, at least the first {@link #HEAD} bytes or all of them); {@code rest} reads the program
     * headers or loader name that lie beyond head (null: unknown, and not checked).
     */
    static BlobInfo of(ByteBuffer head, long size, FileChannel rest) throws IOException {
        ByteBuffer b = head.duplicate();
        byte[] start = new byte[Math.min(b.remaining(), SHEBANG_MAX)];
        b.duplicate().get(start);
        if (start.length >= 4 && start[0] == 0x7f && start[1] == 'E' && start[2] == 'L' && start[3] == 'F') {
            return elf(b, size, rest, start);
        }
        if (start.length >= 2 && start[0] == '#' && start[1] == '!') {
            return script(size, start);
        }
        return new BlobInfo(OTHER_KIND, size, 0, false, 0, 0, null, null, null, null, start);
    }

    private static BlobInfo elf(ByteBuffer b, long size, FileChannel rest, byte[] start) throws IOException {
        int bits = start.length > 4 && start[4] == 1 ? 32 : start.length > 4 && start[4] == 2 ? 64 : 0;
        boolean bigEndian = start.length > 5 && start[5] == 2;
        int headerSize = bits == 32 ? 52 : 64;
        if (bits == 0 || size < headerSize || b.remaining() < headerSize) {
            // shorter than the smallest header (52 bytes) whatever its class byte says
            String truncation = size < headerSize && (bits != 0 || size < 52)
                    ? "its " + (bits == 0 ? "" : headerSize + "-byte ") + "ELF header is cut short at " + size + " bytes" : null;
            return new BlobInfo(ELF_KIND, size, bits, bigEndian, 0, 0, null, null, truncation, null, start);
        }
        b.order(bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        int type = b.getShort(16) & 0xffff;
        int machine = b.getShort(18) & 0xffff;
        long phoff = bits == 64 ? b.getLong(32) : b.getInt(28) & 0xffffffffL;
        int phentsize = b.getShort(bits == 64 ? 54 : 42) & 0xffff;
        int phnum = b.getShort(bits == 64 ? 56 : 44) & 0xffff;
        String interpreter = null;
        String truncation = null;
        long[] loads = new long[3 * 16]; // the first 16 PT_LOADs' file offset, address and file size (programs have 2-5)
        int nloads = 0;
        long dynamic = -1, dynamicSize = 0;
        long phend = phoff + (long) phentsize * phnum;
        if (phnum > 0 && (phoff < 0 || phoff > size || phend > size)) {
            truncation = "its program headers end at byte " + phend + ", beyond its end";
        } else if (phnum > 0 && phentsize >= (bits == 64 ? 56 : 32) && phend - phoff <= 65536) { // the kernel's own bound
            ByteBuffer ph = read(b, rest, phoff, (int) (phend - phoff));
            for (int i = 0; ph != null && i < phnum && truncation == null; i++) {
                int at = i * phentsize;
                int ptype = ph.getInt(at);
                long offset = bits == 64 ? ph.getLong(at + 8) : ph.getInt(at + 4) & 0xffffffffL;
                long filesz = bits == 64 ? ph.getLong(at + 32) : ph.getInt(at + 16) & 0xffffffffL;
                if (ptype == PT_LOAD && (offset < 0 || filesz < 0 || offset > size || filesz > size - offset)) {
                    truncation = "its segment " + i + " (PT_LOAD) ends at byte " + (offset + filesz) + ", beyond its end";
                } else if (ptype == PT_INTERP && offset >= 0 && offset <= size && filesz > 0 && filesz <= Math.min(4096, size - offset)) {
                    interpreter = cString(read(b, rest, offset, (int) filesz));
                }
                if (ptype == PT_LOAD && nloads < loads.length) {
                    loads[nloads++] = offset;
                    loads[nloads++] = bits == 64 ? ph.getLong(at + 16) : ph.getInt(at + 8) & 0xffffffffL;
                    loads[nloads++] = filesz;
                } else if (ptype == PT_DYNAMIC && offset >= 0 && filesz > 0 && filesz <= Math.min(65536, size - offset)) {
                    dynamic = offset;
                    dynamicSize = filesz;
                }
            }
        }
        String runpath = interpreter != null && truncation == null && dynamic >= 0
                ? runpath(b, rest, bits, size, dynamic, (int) dynamicSize, loads, nloads) : null;
        return new BlobInfo(ELF_KIND, size, bits, bigEndian, machine, type, interpreter, null, truncation, runpath, start);
    }

    /**
     * DT_RUNPATH, else DT_RPATH, of the dynamic section at {@code dynamic}: its string table's
     * address mapped to a file offset through the PT_LOAD segments ({@code loads}: offset, address,
     * size each). Null where there is none, or what it needs lies beyond what can be read.
     */
    private static String runpath(ByteBuffer b, FileChannel rest, int bits, long size, long dynamic, int dynamicSize,
                                  long[] loads, int nloads) throws IOException {
        ByteBuffer d = read(b, rest, dynamic, dynamicSize);
        int entry = bits == 64 ? 16 : 8;
        long strtab = -1, rpath = -1, runpath = -1;
        for (int at = 0; d != null && at + entry <= dynamicSize; at += entry) {
            long tag = bits == 64 ? d.getLong(at) : d.getInt(at);
            long value = bits == 64 ? d.getLong(at + 8) : d.getInt(at + 4) & 0xffffffffL;
            if (tag == DT_NULL) {
                break;
            } else if (tag == DT_STRTAB) {
                strtab = value;
            } else if (tag == DT_RPATH) {
                rpath = value;
            } else if (tag == DT_RUNPATH) {
                runpath = value;
            }
        }
        long name = runpath >= 0 ? runpath : rpath;
        for (int i = 0; name >= 0 && strtab >= 0 && i < nloads; i += 3) {
            long offset = loads[i] + strtab - loads[i + 1]; // the table's file offset, if this segment holds it
            if (strtab >= loads[i + 1] && strtab - loads[i + 1] < loads[i + 2] && offset + name < size) {
                return cString(read(b, rest, offset + name, (int) Math.min(4096, size - offset - name)));
            }
        }
        return null;
    }

    /** {@code length} bytes at {@code offset}: from head, else from rest; null if neither has them. */
    private static ByteBuffer read(ByteBuffer head, FileChannel rest, long offset, int length) throws IOException {
        ByteOrder order = head.order();
        if (offset + length <= head.limit()) {
            return head.duplicate().position((int) offset).limit((int) offset + length).slice().order(order);
        }
        if (rest == null) {
            return null;
        }
        ByteBuffer into = ByteBuffer.allocate(length);
        while (into.hasRemaining() && rest.read(into, offset + into.position()) > 0) {
            // positional reads until full, or the end
        }
        return into.hasRemaining() ? null : into.flip().order(order);
    }

    private static String cString(ByteBuffer b) {
        if (b == null) {
            return null;
        }
        int n = 0;
        while (n < b.limit() && b.get(n) != 0) {
            n++;
        }
        byte[] s = new byte[n];
        b.get(0, s);
        return new String(s, Umh.JNU);
    }

    /** The #! line as the kernel reads it (binfmt_script.c): the interpreter to the first space or tab, one argument after. */
    private static BlobInfo script(long size, byte[] start) {
        int end = 2;
        while (end < start.length && start[end] != '\n') {
            end++;
        }
        while (end > 2 && (start[end - 1] == ' ' || start[end - 1] == '\t')) {
            end--;
        }
        int name = 2;
        while (name < end && (start[name] == ' ' || start[name] == '\t')) {
            name++;
        }
        int sep = name;
        while (sep < end && start[sep] != ' ' && start[sep] != '\t' && start[sep] != 0) {
            sep++;
        }
        int arg = sep;
        while (arg < end && (start[arg] == ' ' || start[arg] == '\t')) {
            arg++;
        }
        String interpreter = name < sep ? new String(start, name, sep - name, Umh.JNU) : null;
        String argument = arg < end && start[sep] != 0 ? new String(start, arg, end - arg, Umh.JNU) : null;
        return new BlobInfo(SCRIPT_KIND, size, 0, false, 0, 0, interpreter, argument, null, null, start);
    }

    /** {@code info}, unless it is a truncated ELF: the IOException {@link Umh#load} refuses it with. */
    static BlobInfo checked(BlobInfo info) throws IOException {
        if (info.truncation != null) {
            throw new IOException("load: " + info.truncated());
        }
        return info;
    }

    /** ELF, SCRIPT or OTHER. */
    public Kind kind() {
        return Kind.values()[kind];
    }

    /** Whether the blob is a {@code #!} script (kind() SCRIPT, without loading Kind). */
    boolean isScript() {
        return kind == SCRIPT_KIND;
    }

    /** The blob's length in bytes. */
    public long size() {
        return size;
    }

    /** An ELF's CPU as {@code uname -m} names it ({@code x86_64}, {@code aarch64}, ...; {@code "machine N"} for one not known here); empty for a script or other bytes. */
    public Optional<String> machine() {
        return kind == ELF_KIND && type != 0 ? Optional.of(machineName(machine)) : Optional.empty();
    }

    /** An ELF's class: 32 or 64 (0 for a class the kernel does not know); 0 for a script or other bytes. */
    public int elfClass() {
        return bits;
    }

    /** Whether an ELF names a loader to run it ({@code PT_INTERP}); a static (or static-pie) one does not. */
    public boolean isDynamic() {
        return kind == ELF_KIND && interpreter != null;
    }

    /** A dynamic ELF's loader ({@code PT_INTERP}) or a script's {@code #!} interpreter, as the kernel looks it up. */
    public Optional<String> interpreter() {
        return Optional.ofNullable(interpreter);
    }

    /**
     * The library search path a dynamic ELF names for its loader (DT_RUNPATH, else DT_RPATH), as
     * written, e.g. {@code $ORIGIN:$ORIGIN/../lib} for the JDK's {@code java}. {@code $ORIGIN}
     * stands for the directory of the program's file, which a memfd is in none of: such a
     * program's libraries are not found there (the loader says "cannot open shared object
     * file" and the child exits 127) unless the child's {@code LD_LIBRARY_PATH} names their
     * directories ({@link #originNote}). Empty for others, and where the dynamic section lies
     * beyond what was read (a streamed load reads the first {@value #HEAD} bytes).
     */
    public Optional<String> runpath() {
        return Optional.ofNullable(runpath);
    }

    /**
     * For a dynamic ELF whose library search path uses {@code $ORIGIN}: what that means run from a
     * memfd, and the {@code LD_LIBRARY_PATH} that stands in for it, with {@code $ORIGIN} as
     * {@code dir} (the directory the program's file was in; null: unknown). Empty otherwise.
     */
    public Optional<String> originNote(Path dir) {
        if (runpath == null || !runpath.contains("$ORIGIN") && !runpath.contains("${ORIGIN}")) {
            return Optional.empty();
        }
        String path = dir == null ? "its directories" : runpath.replace("${ORIGIN}", dir.toString()).replace("$ORIGIN", dir.toString());
        return Optional.of("its libraries are looked for next to its own file ($ORIGIN in its library path \"" + runpath
                + "\"), and a memfd is in no directory: give the child LD_LIBRARY_PATH=" + path
                + " (else its loader fails with \"cannot open shared object file\", exit status 127)");
    }

    /** Why an ELF cannot be whole (its headers or a segment lie beyond its end), as {@link Umh#load} refuses it. */
    public Optional<String> truncation() {
        return Optional.ofNullable(truncation);
    }

    /**
     * Why these bytes cannot run on this system, as far as they and the file system tell: truncated,
     * another CPU, a loader or {@code #!} interpreter that is not there (a CRLF line ending named as
     * such), or no program at all. Empty when nothing is known against it. Looks at the file system: call it when needed.
     */
    public Optional<String> problemHere() {
        if (truncation != null) {
            return Optional.of(truncated());
        }
        String s = foreignCpu();
        if (s == null) {
            s = notAProgram();
        }
        if (s == null) {
            s = missingInterpreter(null, false);
        }
        return Optional.ofNullable(s);
    }

    /** "a truncated ELF of N bytes: ...". */
    String truncated() {
        return "a truncated ELF of " + size + " bytes: " + truncation + " (cut short by a copy or a download?)";
    }

    /** For ENOEXEC: an ELF this CPU or kernel does not run, or null. */
    String foreignCpu() {
        String host = hostMachine();
        if (kind != ELF_KIND) {
            return null;
        }
        if (bits == 0) {
            return "an ELF of an unknown class (byte 4 is " + start[4] + ", neither 1 for 32-bit nor 2 for 64-bit)";
        }
        if (type == 0) {
            return "an ELF of no type (e_type 0, ET_NONE)";
        }
        String name = machineName(machine);
        if (!name.equals(host)) {
            if (name.equals("i386") && host.equals("x86_64")) {
                return "a 32-bit i386 ELF; this kernel runs no 32-bit x86 programs (no IA32 emulation):"
                        + " use the x86_64 build of the helper";
            }
            return "an " + name + " ELF; this JVM runs on " + host + ": use the " + classifier(host)
                    + " build of the helper (or run it where the JVM runs on " + name + ")";
        }
        if (type == 1 || type == 4) {
            return "an ELF " + typeName() + ", not a program";
        }
        return bigEndian != hostBigEndian() ? "a " + (bigEndian ? "big" : "little") + "-endian " + name
                + " ELF; this CPU is " + (bigEndian ? "little" : "big") + "-endian" : null;
    }

    /** For ENOEXEC: bytes that are neither ELF nor #! (their first bytes, and what they look like), or null. */
    String notAProgram() {
        if (kind == SCRIPT_KIND && interpreter == null) {
            return "a #! line that names no interpreter";
        }
        if (kind != OTHER_KIND) {
            return null;
        }
        String s = "neither an ELF nor a #! script: it starts with \"" + escape(start, 16) + "\"";
        if (startsWith(0xef, 0xbb, 0xbf, '#', '!')) {
            return s + " (a UTF-8 byte-order mark before its #!: save the script without it)";
        } else if (startsWith('P', 'K', 3, 4)) {
            return s + " (a zip or jar archive)";
        } else if (startsWith(0x1f, 0x8b)) {
            return s + " (gzip-compressed: decompress it first)";
        } else if (startsWith('M', 'Z')) {
            return s + " (a Windows program)";
        } else if (startsWith(0xcf, 0xfa, 0xed, 0xfe) || startsWith(0xca, 0xfe, 0xba, 0xbe)) {
            return s + " (a macOS program or a Java class file)";
        }
        return s;
    }

    /**
     * For ENOENT: the loader or {@code #!} interpreter that is not there, or null. A relative
     * interpreter is looked up from {@code dir} (null: this JVM's directory); {@code sandboxed}: a
     * loader present here is not inside the sandbox.
     */
    String missingInterpreter(Path dir, boolean sandboxed) {
        if (interpreter == null) {
            return null;
        }
        if (kind == SCRIPT_KIND && interpreter.endsWith("\r")) {
            return "its #! line ends in CRLF (a Windows line ending), so the kernel looks for an interpreter named \""
                    + escape(interpreter.getBytes(Umh.JNU), 64) + "\": convert the script to LF line endings";
        }
        Path p = dir == null ? Path.of(interpreter) : dir.resolve(interpreter);
        boolean here = Files.exists(p);
        if (kind == SCRIPT_KIND) {
            return here ? null : "its #! interpreter " + interpreter + " does not exist";
        }
        if (here) {
            return sandboxed ? "its loader (PT_INTERP) " + interpreter + " is not inside the sandbox:"
                    + " SandboxPolicy.Builder.allowDynamicLinking(), or link the helper statically" : null;
        }
        return "a dynamically linked ELF whose loader (PT_INTERP) " + interpreter + " does not exist here"
                + (interpreter.contains("musl") ? " (musl's: the helper was built for Alpine or with musl-gcc)" : "")
                + ": link the helper statically, or build it for this system's libc";
    }

    @Override
    public String toString() {
        switch (kind) {
            case ELF_KIND:
                if (bits == 0 || type == 0) {
                    return "ELF of an unknown class" + (truncation != null ? ", truncated: " + truncation : "");
                }
                return "ELF " + bits + "-bit " + (bigEndian ? "MSB" : "LSB") + " " + machineName(machine) + " " + typeName()
                        + (type == 2 || type == 3 ? (interpreter != null ? ", dynamically linked, loader " + interpreter
                        : ", statically linked") : "") + (runpath != null ? ", library path " + runpath : "")
                        + (truncation != null ? ", truncated: " + truncation : "");
            case SCRIPT_KIND:
                return interpreter == null ? "#! script naming no interpreter"
                        : "#! script" + (interpreter.endsWith("\r") ? " with CRLF line endings" : "") + ", interpreter "
                        + escape(interpreter.getBytes(Umh.JNU), 64) + (argument != null ? ", argument "
                        + escape(argument.getBytes(Umh.JNU), 64) : "");
            default:
                return "neither ELF nor #! script, starting \"" + escape(start, 16) + "\"";
        }
    }

    private String typeName() {
        switch (type) {
            case 1: return "relocatable object (.o)";
            case 2: return "executable";
            case 3: return interpreter != null ? "position-independent executable" : "static-pie executable or shared object";
            case 4: return "core dump";
            default: return "of type " + type;
        }
    }

    private boolean startsWith(int... bytes) {
        if (start.length < bytes.length) {
            return false;
        }
        for (int i = 0; i < bytes.length; i++) {
            if ((start[i] & 0xff) != bytes[i]) {
                return false;
            }
        }
        return true;
    }

    /** Up to {@code max} bytes as printable ASCII, with C escapes for the rest, and "..." if there are more. */
    static String escape(byte[] bytes, int max) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(bytes.length, max); i++) {
            int c = bytes[i] & 0xff;
            if (c == '\r') {
                s.append("\\r");
            } else if (c == '\n') {
                s.append("\\n");
            } else if (c == '\t') {
                s.append("\\t");
            } else if (c == '"' || c == '\\') {
                s.append('\\').append((char) c);
            } else if (c >= 0x20 && c < 0x7f) {
                s.append((char) c);
            } else {
                s.append(String.format("\\x%02x", c));
            }
        }
        return bytes.length > max ? s + "..." : s.toString();
    }

    private static String machineName(int machine) {
        return MACHINES.getOrDefault(machine, "machine " + machine);
    }

    /** This JVM's CPU, as uname -m names it. */
    static String hostMachine() {
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        return arch.equals("amd64") ? "x86_64" : arch.equals("arm64") ? "aarch64" : arch;
    }

    private static boolean hostBigEndian() {
        return ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN;
    }

    /** The platform jars' name for a CPU ({@link Umh#platform()}'s), {@code linux-<cpu>} for others. */
    private static String classifier(String machine) {
        return machine.equals("aarch64") ? "linux-aarch_64" : "linux-" + machine;
    }
}
