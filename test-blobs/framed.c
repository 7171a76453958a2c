/* Answers each framed request (native/include/umh_helper.h) with the same bytes; at EOF exits 0.
 * Misbehaves on request N (counted from 1) when asked to:
 *   -r      first writes the line "ready\n" (before any frame)
 *   -c N    exits 3 instead of replying                                   (crashes)
 *   -h N    never replies, nor reads again                                (hangs)
 *   -w N    writes "waiting\n" to stderr, replies once it gets SIGUSR1    (is slow)
 *   -l N    replies with a header claiming 0x7ffffff0 bytes, sends 10 of them, exits 0 (lies)
 *   -t N    sends a reply's header and half its payload, exits 0         (closes mid-frame)
 *   -T N    sends 2 bytes of a header, exits 0                            (truncates a header)
 *   -W      on every request that begins with "wait": as -w              (is slow when asked)
 *   -m MAX  takes requests up to MAX bytes (default 1 MiB); a longer one: exits 4
 *   -b N    before each reply, N rounds of FNV-1a over the request       (is CPU-bound) */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umh_helper.h"

static void on_usr1(int sig)
{
    (void)sig;
}

/* CPU work for a benchmark of CPU-bound requests: rounds of FNV-1a over the request, kept. */
volatile uint64_t burn_sink;

static void burn(const char *buf, uint32_t len, long rounds)
{
    uint64_t h = 14695981039346656037ull;
    for (long r = 0; r < rounds; r++)
        for (uint32_t i = 0; i < len; i++)
            h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
    burn_sink = h;
}

int main(int argc, char **argv)
{
    static char buf[1 << 20];
    long crash = 0, hang = 0, slow = 0, lie = 0, cut = 0, cut_header = 0, rounds = 0;
    size_t max = sizeof buf;
    int slow_on_wait = 0;
    for (int i = 1; i < argc; i++) {
        long v = i + 1 < argc ? atol(argv[i + 1]) : 0;
        if (strcmp(argv[i], "-r") == 0) {
            if (umh_write_full(1, "ready\n", 6) < 0)
                return 2;
            continue;
        }
        if (strcmp(argv[i], "-W") == 0) {
            slow_on_wait = 1;
            continue;
        }
        if (strcmp(argv[i], "-c") == 0)
            crash = v;
        else if (strcmp(argv[i], "-h") == 0)
            hang = v;
        else if (strcmp(argv[i], "-w") == 0)
            slow = v;
        else if (strcmp(argv[i], "-l") == 0)
            lie = v;
        else if (strcmp(argv[i], "-t") == 0)
            cut = v;
        else if (strcmp(argv[i], "-T") == 0)
            cut_header = v;
        else if (strcmp(argv[i], "-b") == 0)
            rounds = v;
        else if (strcmp(argv[i], "-m") == 0 && v > 0 && (size_t)v < max)
            max = (size_t)v;
        i++;
    }
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL); /* taken with sigwait, never lost before it */
    signal(SIGUSR1, on_usr1);

    uint32_t len;
    int rc;
    for (long n = 1; (rc = umh_read_frame(0, buf, max, &len)) > 0; n++) {
        if (n == crash)
            return 3;
        if (n == hang)
            for (;;)
                pause();
        if (n == slow || (slow_on_wait && len >= 4 && memcmp(buf, "wait", 4) == 0)) {
            int sig;
            (void)!write(2, "waiting\n", 8);
            sigwait(&usr1, &sig);
        }
        if (n == lie) {
            static const unsigned char claim[4] = { 0x7f, 0xff, 0xff, 0xf0 };
            return umh_write_full(1, claim, 4) < 0 || umh_write_full(1, "0123456789", 10) < 0 ? 2 : 0;
        }
        if (n == cut) {
            const unsigned char h[4] = { 0, 0, 0, 100 };
            return umh_write_full(1, h, 4) < 0 || umh_write_full(1, buf, 50) < 0 ? 2 : 0;
        }
        if (n == cut_header)
            return umh_write_full(1, "\0\0", 2) < 0 ? 2 : 0;
        burn(buf, len, rounds);
        if (umh_write_frame(1, buf, len) < 0)
            return 2;
    }
    return rc == 0 ? 0 : (errno == EMSGSIZE ? 4 : 5);
}
