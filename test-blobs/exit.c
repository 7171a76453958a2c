/* exit CODE: exits with CODE.  exit -s SIG: kills itself with signal SIG. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "-s") == 0) {
        int sig = atoi(argv[2]);
        signal(sig, SIG_DFL);
        kill(getpid(), sig);
        pause();
        return 99;
    }
    return argc > 1 ? atoi(argv[1]) : 0;
}
