/*
 * A child's identity and lifetime: pidfds (5.3+) so that a signal never reaches a recycled pid,
 * epoll so that one thread waits for every child, waitid so that only our own children are reaped
 * (never waitpid(-1): the JDK's children are not ours).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umh.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int umh_pidfd_open(int pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? UMH_FAIL(UMH_PIDFD_OPEN, errno) : fd;
}

/* As the JDK reports it: the exit code, or 128 + the signal that killed it. */
static int exit_status(const siginfo_t *info)
{
    return info->si_code == CLD_EXITED ? info->si_status : 128 + info->si_status;
}

static int wait_child(idtype_t type, id_t id, int options, siginfo_t *info)
{
    int rc;
    info->si_pid = 0;
    do {
        rc = waitid(type, id, info, options);
    } while (rc < 0 && errno == EINTR);
    return rc;
}

int umh_reap(int pidfd, int pid, int block)
{
    siginfo_t info;
    int options = WEXITED | (block ? 0 : WNOHANG);
    int rc = pidfd >= 0 ? wait_child(P_PIDFD, (id_t)pidfd, options, &info)
                        : wait_child(P_PID, (id_t)pid, options, &info);
    if (rc < 0)
        return UMH_FAIL(UMH_WAITID, errno);
    return info.si_pid == 0 ? UMH_RUNNING : exit_status(&info);
}

int umh_wait_exited(int pid)
{
    siginfo_t info;
    if (wait_child(P_PID, (id_t)pid, WEXITED | WNOWAIT, &info) < 0)
        return UMH_FAIL(UMH_WAITID, errno);
    return 0;
}

int umh_signal(int pidfd, int pid, int sig)
{
    if (pidfd >= 0)
        return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? UMH_FAIL(UMH_SIGNAL, errno) : 0;
    return kill(pid, sig) < 0 ? UMH_FAIL(UMH_KILL, errno) : 0;
}

int umh_epoll_create(void)
{
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? UMH_FAIL(UMH_EPOLL_CREATE, errno) : fd;
}

int umh_epoll_ctl(int epfd, int add, int fd)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
    if (epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) < 0)
        return UMH_FAIL(UMH_EPOLL_CTL, errno);
    return 0;
}

int umh_epoll_wait(int epfd, int *fds, int max, int timeout_ms)
{
    struct epoll_event evs[64];
    if (max > 64)
        max = 64;
    int n;
    do {
        n = epoll_wait(epfd, evs, max, timeout_ms); /* EINTR: the whole timeout again, only ever 0 or -1 */
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return UMH_FAIL(UMH_EPOLL_WAIT, errno);
    for (int i = 0; i < n; i++)
        fds[i] = evs[i].data.fd;
    return n;
}

int umh_eventfd_ready(void)
{
    int fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? UMH_FAIL(UMH_EVENTFD, errno) : fd;
}

int umh_close(int fd)
{
    return close(fd) < 0 && errno != EINTR ? UMH_FAIL(UMH_CLOSE, errno) : 0;
}

int umh_dup(int fd)
{
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return copy < 0 ? UMH_FAIL(UMH_DUP, errno) : copy;
}

int umh_poll_in(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int n = poll(&p, 1, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : UMH_FAIL(UMH_POLL, errno);
    return n > 0;
}
