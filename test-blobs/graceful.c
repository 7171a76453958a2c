/* Writes "ready\n" on stdout, then waits; says on stderr how it was ended and exits 0:
 *   graceful      at EOF on stdin: "graceful PID: EOF"
 *   graceful -t   ignores EOF; at SIGTERM: "graceful PID: SIGTERM"
 *   graceful -i   ignores EOF and SIGTERM: only SIGKILL ends it (silently) */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char on_term[64];

static void term(int sig)
{
    (void)sig;
    (void)!write(2, on_term, strlen(on_term));
    _exit(0);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    char c;
    snprintf(on_term, sizeof on_term, "graceful %d: SIGTERM\n", (int)getpid());
    if (strcmp(mode, "-t") == 0)
        signal(SIGTERM, term);
    else if (strcmp(mode, "-i") == 0)
        signal(SIGTERM, SIG_IGN);
    (void)!write(1, "ready\n", 6);
    if (mode[0] != '\0')
        for (;;)
            pause();
    while (read(0, &c, 1) > 0) {
    }
    fprintf(stderr, "graceful %d: EOF\n", (int)getpid());
    return 0;
}
