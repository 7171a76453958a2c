/* Copies stdin to stdout until EOF, then exits 0. */
#include <unistd.h>

int main(void)
{
    static char buf[1 << 16];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0)
            return 2;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w < 0)
                return 3;
            off += w;
        }
    }
}
