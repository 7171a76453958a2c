package io.umh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/** What /proc/self/mountinfo says of a directory's mount. */
final class Mounts {
    private Mounts() {}

    /**
     * "mounted noexec (on M)" if the mount that holds {@code dir} (or, where dir does not exist yet,
     * its nearest existing parent) has the noexec option, else null (also where mountinfo cannot be read:
     * the load then says for itself).
     */
    static String noexec(Path dir) {
        List<String> lines;
        Path real;
        try {
            lines = Files.readAllLines(Paths.get("/proc/self/mountinfo"));
            Path p = dir.toAbsolutePath();
            while (p != null && !Files.exists(p)) {
                p = p.getParent();
            }
            if (p == null) {
                return null;
            }
            real = p.toRealPath();
        } catch (IOException e) {
            return null;
        }
        String best = null;
        boolean noexec = false;
        for (String line : lines) {
            // "36 35 98:0 /root /mount/point rw,noexec,relatime shared:1 - ext4 /dev/x rw": fields 5 and 6
            String[] f = line.split(" ", 7);
            if (f.length < 7) {
                continue;
            }
            String point = unescape(f[4]);
            // later lines are mounted over earlier ones at the same point: the last one of the longest wins
            if (real.startsWith(point) && (best == null || point.length() >= best.length())) {
                best = point;
                noexec = (',' + f[5] + ',').contains(",noexec,");
            }
        }
        return noexec ? "mounted noexec (on " + best + ")" : null;
    }

    /** A mountinfo field: space, tab, newline and backslash are written there as \ooo (Cgroup's mounts too). */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 4 <= s.length()) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
