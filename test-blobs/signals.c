/* Reports each signal it gets: catches every signal that can be caught (1 to 64, SIGKILL and
 * SIGSTOP aside), writes "ready\n" on stdout, then one line "signal N\n" per signal received, and
 * exits 0 at EOF on stdin. The handler only calls write (async-signal-safe). */
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void report(int sig)
{
    char line[16] = "signal ";
    int n = 7;
    if (sig >= 10)
        line[n++] = (char)('0' + sig / 10);
    line[n++] = (char)('0' + sig % 10);
    line[n++] = '\n';
    (void)!write(1, line, (size_t)n);
}

int main(void)
{
    struct sigaction sa;
    char c;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = report;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask); /* one report at a time: lines never interleave */
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void)sigaction(sig, &sa, NULL); /* glibc keeps 32 and 33 for itself: EINVAL, ignored */
    (void)!write(1, "ready\n", 6);
    while (read(0, &c, 1) > 0) {
    }
    return 0;
}
