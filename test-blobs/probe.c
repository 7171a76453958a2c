/* Reports what the child sees, one "key=value" line each, then exits 0:
 *   fds=0,1,2          every open fd, from /proc/self/fd (the one it reads through excluded)
 *   SigBlk= SigIgn= SigCgt= NoNewPrivs= Uid= Gid= Groups= Umask=   from /proc/self/status
 *   session_leader=0|1   limit.NAME=soft/hard (-1: unlimited)
 *   fd2=TARGET (readlink of /proc/self/fd/2)
 *   ppid=N cwd=PATH argc=N argv[i]=... env=NAME=VALUE (one line each) */
#include <dirent.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int self = dirfd(d);
    int list[1024], n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 1024) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd != self)
            list[n++] = fd;
    }
    closedir(d);
    for (int i = 0; i < n; i++) /* readdir's order is not numeric */
        for (int j = i + 1; j < n; j++)
            if (list[j] < list[i]) {
                int t = list[i];
                list[i] = list[j];
                list[j] = t;
            }
    printf("fds=");
    for (int i = 0; i < n; i++)
        printf(i ? ",%d" : "%d", list[i]);
    printf("\n");
}

static const char *const status_keys[] = { "SigBlk", "SigIgn", "SigCgt", "NoNewPrivs", "Uid", "Gid",
                                           "Groups", "Umask", NULL };

static void limits(void)
{
    static const struct { const char *name; int resource; } names[] = {
        { "AS", RLIMIT_AS }, { "CPU", RLIMIT_CPU }, { "NOFILE", RLIMIT_NOFILE },
        { "NPROC", RLIMIT_NPROC }, { "CORE", RLIMIT_CORE },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct rlimit r;
        getrlimit(names[i].resource, &r);
        printf("limit.%s=%lld/%lld\n", names[i].name, r.rlim_cur == RLIM_INFINITY ? -1LL : (long long)r.rlim_cur,
               r.rlim_max == RLIM_INFINITY ? -1LL : (long long)r.rlim_max);
    }
}

static void signals(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (fgets(line, sizeof line, f) != NULL)
        for (const char *const *key = status_keys; *key != NULL; key++) {
            size_t n = strlen(*key);
            if (strncmp(line, *key, n) == 0 && line[n] == ':') {
                char *v = line + n + 1;
                while (*v == '\t' || *v == ' ')
                    v++;
                printf("%s=%s", *key, v);
            }
        }
    fclose(f);
}

int main(int argc, char **argv)
{
    char cwd[4096];
    fds();
    signals();
    char fd2[4096];
    ssize_t n = readlink("/proc/self/fd/2", fd2, sizeof fd2 - 1);
    fd2[n < 0 ? 0 : n] = '\0';
    printf("fd2=%s\n", fd2);
    printf("ppid=%d\n", (int)getppid());
    printf("session_leader=%d\n", getsid(0) == getpid());
    limits();
    printf("cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; *e != NULL; e++)
        printf("env=%s\n", *e);
    return 0;
}
