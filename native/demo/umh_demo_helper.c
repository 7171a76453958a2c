/*
 * The demo's helper: shipped inside the platform jar, run by io.umh.Demo from a memfd.
 * For each line on stdin it answers "HELPER <pid>: <LINE IN UPPER CASE>" on stdout; at EOF it
 * says how many lines it served and exits 0.
 */
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    char line[4096];
    int served = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        for (char *c = line; *c != '\0'; c++)
            *c = (char)toupper((unsigned char)*c);
        printf("HELPER %d: %s", (int)getpid(), line);
        fflush(stdout);
        served++;
    }
    printf("helper served %d lines and exits\n", served);
    return 0;
}
