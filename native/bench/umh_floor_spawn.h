/*
 * The C floor's spawn, shared by umh-floor and the JNI floor so that both make exactly the same
 * calls: vfork; the child puts in_r and out_w on fds 0 and 1 and execveats the memfd, or _exits
 * 127. The child never returns from here, so the parent's frame stays intact.
 */
#ifndef UMH_FLOOR_SPAWN_H
#define UMH_FLOOR_SPAWN_H

#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

static inline pid_t floor_vfork_exec(int memfd, int in_r, int out_w, char *const *argv, char *const *envp)
{
    pid_t pid = vfork();
    if (pid == 0) {
        dup2(in_r, 0);
        dup2(out_w, 1);
        syscall(SYS_execveat, memfd, "", argv, envp, AT_EMPTY_PATH);
        _exit(127);
    }
    return pid;
}

#endif
