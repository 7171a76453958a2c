/*
 * cgroup v2 for a sandboxed helper (io.umh.SandboxPolicy.Builder.cgroup): the parent's side only.
 *
 * Before the clone, the parent makes a cgroup of the helper's own under a delegated one, writes
 * its limits (memory.max, pids.max, cpu.max) and opens it; clone3 with CLONE_INTO_CGROUP
 * (umh_spawn.c) then makes the child inside it, so the helper never runs a single instruction
 * outside its limits, and the child does nothing about it between the clone and the exec. After
 * the reap the cgroup is removed (io.umh.Cgroup, with rmdir). Plain clone has no such argument:
 * a spawn that asks for a cgroup never falls back to it (umh_spawn.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umh.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

int umh_cgroup_create(const char *parent, const char *name)
{
    if (strchr(name, '/') != NULL || name[0] == '\0' || name[0] == '.')
        return UMH_FAIL(UMH_CGROUP_MKDIR, EINVAL);
    int dir = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return UMH_FAIL(UMH_OPEN, errno);
    int fd = -1;
    if (mkdirat(dir, name, 0755) < 0) {
        fd = UMH_FAIL(UMH_CGROUP_MKDIR, errno);
        goto out;
    }
    /* O_PATH is enough: the kernel takes the cgroup from the file (fdget_raw), and the *at calls
     * that write the limits take it as their directory */
    fd = openat(dir, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fd = UMH_FAIL(UMH_OPEN, errno);
        unlinkat(dir, name, AT_REMOVEDIR);
    }
out:
    close(dir);
    return fd;
}

int umh_cgroup_write(int cgroup_fd, const char *file, const char *value)
{
    if (strchr(file, '/') != NULL)
        return UMH_FAIL(UMH_OPEN, EINVAL);
    int fd;
    do {
        fd = openat(cgroup_fd, file, O_WRONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return UMH_FAIL(UMH_OPEN, errno); /* ENOENT: the controller is not enabled for this cgroup */
    size_t len = strlen(value);
    ssize_t n;
    do {
        n = write(fd, value, len); /* one write: a cgroup file takes the whole value or nothing */
    } while (n < 0 && errno == EINTR);
    int rc = n == (ssize_t)len ? 0 : UMH_FAIL(UMH_WRITE, n < 0 ? errno : EIO);
    close(fd);
    return rc;
}

/*
 * Whether clone3 knows CLONE_INTO_CGROUP (5.7): asked with the cgroup fd INT_MAX (no fd is that
 * high; above INT_MAX is EINVAL), which such a kernel
 * refuses (EBADF) when it looks the cgroup up, after everything else of the clone is checked and
 * before any child runs; an older one refuses the flag or the longer struct (EINVAL, E2BIG),
 * one without clone3 answers ENOSYS, as umh_clone3 does on CPUs without its trampoline.
 * CLONE_VM | CLONE_VFORK keep the kernel from copying the JVM's page tables first. 0, or the
 * UMH_FAIL of clone3.
 */
static int never_runs(void *arg)
{
    (void)arg;
    _exit(127);
}

int umh_cgroup_probe(void)
{
    if (umh_fallbacks & UMH_NO_CLONE3)
        return UMH_FAIL(UMH_CLONE3, ENOSYS);
    static char stack[4096] __attribute__((aligned(16)));
    struct umh_clone_args args = {
        .flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP,
        .exit_signal = SIGCHLD,
        .stack = (uintptr_t)stack,
        .stack_size = sizeof stack,
        .cgroup = INT_MAX,
    };
    long rc = umh_clone3(&args, UMH_CLONE_ARGS_SIZE_CGROUP, never_runs, NULL);
    if (rc == -EBADF)
        return 0;
    if (rc >= 0) { /* no kernel gets here: it found a cgroup behind fd INT_MAX */
        int status;
        waitpid((pid_t)rc, &status, 0);
        return UMH_FAIL(UMH_CLONE3, EINVAL);
    }
    return UMH_FAIL(UMH_CLONE3, (int)-rc);
}
