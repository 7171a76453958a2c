/* Does what each argument says with the fds it was given, in order, then exits 0 (2 on a failure):
 *   list             prints "fds=0,1,2,...": every open fd below 4096, by fcntl(F_GETFD), so that
 *                    it needs no /proc (and works under SandboxPolicy.strict())
 *   cat:N            copies fd N to stdout until its EOF
 *   accept:N:TEXT    accepts one connection on the listening socket N and writes TEXT to it
 *   stat:N           prints "N=<st_ino>": which file fd N is
 *   pause            waits, silently, until a signal ends it */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int list(void)
{
    char line[8192];
    size_t len = (size_t)snprintf(line, sizeof line, "fds=");
    const char *sep = "";
    for (int fd = 0; fd < 4096; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 && len < sizeof line - 16) {
            len += (size_t)snprintf(line + len, sizeof line - len, "%s%d", sep, fd);
            sep = ",";
        }
    }
    line[len++] = '\n';
    return write_all(1, line, len);
}

static int cat(int fd)
{
    static char buf[1 << 16];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) != 0;)
        if (n < 0 || write_all(1, buf, (size_t)n) < 0)
            return -1;
    return 0;
}

static int serve(int fd, const char *text)
{
    int conn = accept(fd, NULL, NULL);
    if (conn < 0)
        return -1;
    int rc = write_all(conn, text, strlen(text));
    close(conn);
    return rc;
}

static int inode(int fd)
{
    struct stat st;
    char line[64];
    if (fstat(fd, &st) < 0)
        return -1;
    int n = snprintf(line, sizeof line, "%d=%llu\n", fd, (unsigned long long)st.st_ino);
    return write_all(1, line, (size_t)n);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *rest;
        int rc;
        if (strcmp(a, "list") == 0)
            rc = list();
        else if (strcmp(a, "pause") == 0)
            rc = pause();
        else if (strncmp(a, "cat:", 4) == 0)
            rc = cat(atoi(a + 4));
        else if (strncmp(a, "stat:", 5) == 0)
            rc = inode(atoi(a + 5));
        else if (strncmp(a, "accept:", 7) == 0 && (rest = strchr(a + 7, ':')) != NULL)
            rc = serve(atoi(a + 7), rest + 1);
        else
            rc = -1;
        if (rc < 0)
            return 2;
    }
    return 0;
}
