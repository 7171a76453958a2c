/* Writes "ready\n", then waits and exits 0:
 *   sleeper        until EOF on stdin
 *   sleeper -p     forever (pause), whatever happens to its pipes
 *   sleeper -t ... ignores SIGTERM first (combine: -t -p) */
#include <signal.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int forever = 0;
    char c;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0)
            signal(SIGTERM, SIG_IGN);
        else if (strcmp(argv[i], "-p") == 0)
            forever = 1;
    }
    signal(SIGPIPE, SIG_IGN);
    (void)!write(1, "ready\n", 6);
    if (forever)
        for (;;)
            pause();
    while (read(0, &c, 1) > 0) {
    }
    return 0;
}
