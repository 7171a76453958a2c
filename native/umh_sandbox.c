/*
 * The parent's side of a sandbox (struct umh_sandbox, umh.h): turns the policy as Java flattened
 * it (io.umh.SandboxPolicy: header words laid out as io.umh.Abi's SBX_* name them, and a block of
 * NUL-terminated paths) into what the child applies, before the clone: the id maps, the binds,
 * the directories to make. One allocation holds it all; umh_sandbox_release frees it (and closes
 * the Landlock ruleset).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umh.h"
#include "umh_child.h"
#include "umh_landlock.h"
#include "umh_seccomp.h"

/* The next NUL-terminated string of the block, or NULL past its end. */
static char *next_path(char **cursor, char *end)
{
    char *p = *cursor;
    if (p >= end)
        return NULL;
    char *nul = memchr(p, '\0', (size_t)(end - p));
    if (nul == NULL)
        return NULL;
    *cursor = nul + 1;
    return p;
}

static void map_line(char *out, size_t size, size_t *len, unsigned id)
{
    int n = snprintf(out, size, "%u %u 1", id, id);
    *len = n > 0 ? (size_t)n : 0;
}

/* The spawn's umh_fd_floor, at least 2 (the child always writes 0-2). */
static int fd_floor(const struct umh_sandbox_spec *spec)
{
    return spec->fd_floor > 2 ? spec->fd_floor : 2;
}

/* The Landlock ruleset for the binds (read-only or read-write, as bound), TCP unless the network
 * is allowed, and both scopes: what this kernel's ABI knows of it (umh_landlock.c down-levels;
 * Java has said, from the same ABI, which layers that leaves out). Into s->landlock_fd. */
static int landlock(const struct umh_sandbox_spec *spec, struct umh_sandbox *s)
{
    const char *lists[2 * (UMH_SBX_MAX_BINDS + 1)];
    const char **ro = lists, **rw = lists + UMH_SBX_MAX_BINDS + 1;
    int nro = 0, nrw = 0;
    for (int i = 0; i < s->nbinds; i++) {
        if (s->binds[i].writable)
            rw[nrw++] = s->binds[i].source;
        else
            ro[nro++] = s->binds[i].source;
    }
    ro[nro] = NULL;
    rw[nrw] = NULL;
    struct umh_landlock_spec ll = {
        .read_only = ro,
        .read_write = rw,
        .network = spec->network,
        .scopes = UMH_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | UMH_LANDLOCK_SCOPE_SIGNAL,
    };
    struct umh_landlock_report rep;
    int fd = umh_landlock_prepare(&ll, &rep);
    if (fd < 0)
        return fd;
    s->landlock_fd = fd;
    /* the child uses it after its fd plan, which would overwrite it at or below fd_floor */
    return umh_move_above(&s->landlock_fd, fd_floor(spec));
}

/* The seccomp program for this spawn: the policy's calls, the one execveat of this memfd with
 * the child's own "" (umh_child_empty_path), everything else killed; a copy of the policy's
 * program built once, this spawn's fds patched in (umh_seccomp_build_cached). Into s->filter, which lives
 * in s->mem. A memfd at or below fd_floor (0-2, or a passed fd's number) would be moved by the
 * child, which the filter cannot know: refused (the JVM's caller moves it above first). */
static int build_filter(const struct umh_sandbox_spec *spec, int notify_sock, unsigned action, struct sock_filter *out)
{
    struct umh_seccomp_spec sc = {
        .allowed = spec->syscalls,
        .nallowed = spec->nsyscalls,
        .exec_fd = spec->memfd,
        .exec_path = umh_child_empty_path,
        .notify_fd_sock = notify_sock,
        .default_action = action,
    };
    return umh_seccomp_build_cached(&sc, out, UMH_SECCOMP_MAX_INSNS);
}

/* The socket the child hands the listener over: the child's end above fd_floor (the child's fd
 * plan writes 0-2 and the passed fds, up to fd_floor, which the filter's sendmsg check could not
 * know). Without one, the kill program alone. */
static int notify_socket(struct umh_sandbox *s, int fd_floor)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
        return UMH_FAIL(UMH_SANDBOX_SOCKETPAIR, errno);
    s->notify_recv = sv[0];
    s->notify_sock = sv[1];
    return umh_move_above(&s->notify_sock, fd_floor);
}

static int seccomp_filters(const struct umh_sandbox_spec *spec, struct umh_sandbox *s, struct sock_filter *out)
{
    if (spec->memfd <= fd_floor(spec)) /* the caller moves it above (umh_jni.c) */
        return UMH_FAIL(UMH_SECCOMP_BUILD, EBADF);
    int n = build_filter(spec, -1, SECCOMP_RET_KILL_PROCESS, out);
    if (n < 0)
        return n;
    s->kill_filter = s->filter = out;
    s->kill_filter_len = s->filter_len = (unsigned short)n;
    if (!spec->notify)
        return 0;
    int rc = notify_socket(s, fd_floor(spec));
    if (rc < 0)
        return rc;
    n = build_filter(spec, s->notify_sock, SECCOMP_RET_USER_NOTIF, out + UMH_SECCOMP_MAX_INSNS);
    if (n < 0)
        return n;
    s->filter = out + UMH_SECCOMP_MAX_INSNS;
    s->filter_len = (unsigned short)n;
    return 0;
}

int umh_sandbox_listener(struct umh_sandbox *s)
{
    if (s->notify_recv < 0)
        return -1;
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    /* the child sent it before its exec, which the spawn has waited for: queued, or never sent */
    if (recvmsg(s->notify_recv, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
        return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (cm == NULL || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

int umh_sandbox_prepare(const struct umh_sandbox_spec *spec, struct umh_sandbox *s)
{
    if (spec->nbinds > UMH_SBX_MAX_BINDS)
        return UMH_FAIL(UMH_SANDBOX_OPEN, E2BIG);
    memset(s, 0, sizeof *s);
    s->landlock_fd = s->notify_sock = s->notify_recv = s->join_mnt_fd = s->join_net_fd = s->join_user_fd = s->join_ipc_fd = -1;
    /* the child's fd plan writes 0-2 and the passed fds (up to fd_floor) before it joins: a
     * namespace fd there would be overwritten (and is not ours to move), so the child joins
     * through this spawn's copy above fd_floor, which release closes */
    s->join_mnt_fd = spec->join_mnt_fd;
    s->join_net_fd = spec->join_net_fd;
    s->join_user_fd = spec->join_user_fd;
    s->join_ipc_fd = spec->join_ipc_fd;
    int *join[4] = { &s->join_mnt_fd, &s->join_net_fd, &s->join_user_fd, &s->join_ipc_fd };
    for (int i = 0; i < 4; i++) {
        if (*join[i] >= 0 && *join[i] <= fd_floor(spec)) {
            int copy = umh_dup_above(*join[i], fd_floor(spec));
            if (copy < 0) {
                umh_sandbox_release(s);
                return copy;
            }
            *join[i] = copy;
            s->join_owned |= 1 << i;
        }
    }
    s->ns_flags = spec->ns_flags;
    s->no_caps = spec->no_caps;
    map_line(s->uid_map, sizeof s->uid_map, &s->uid_map_len, (unsigned)getuid());
    map_line(s->gid_map, sizeof s->gid_map, &s->gid_map_len, (unsigned)getgid());
    size_t filter = spec->seccomp ? 2 * UMH_SECCOMP_MAX_INSNS * sizeof(struct sock_filter) : 0;
    size_t ptrs = ((size_t)spec->nmkdirs + 1) * sizeof(char *) + (size_t)spec->nbinds * sizeof(struct umh_bind);
    char *mem = malloc(filter + ptrs + spec->paths_len); /* the filter first: struct sock_filter's alignment */
    if (mem == NULL)
        return UMH_FAIL(UMH_MALLOC, ENOMEM);
    const char **mkdirs = (const char **)(mem + filter);
    struct umh_bind *binds = (struct umh_bind *)(mem + filter + ((size_t)spec->nmkdirs + 1) * sizeof(char *));
    char *block = mem + filter + ptrs, *cursor = block, *end = block + spec->paths_len;
    memcpy(block, spec->paths, spec->paths_len);
    s->mem = mem;
    const char *root = next_path(&cursor, end);
    int short_block = root == NULL;
    for (int i = 0; i < spec->nmkdirs; i++)
        short_block |= (mkdirs[i] = next_path(&cursor, end)) == NULL;
    mkdirs[spec->nmkdirs] = NULL;
    s->mkdirs = mkdirs;
    s->binds = binds;
    s->root = spec->new_root ? root : NULL;
    for (int i = 0; i < spec->nbinds; i++) {
        const char *host = next_path(&cursor, end);
        binds[i].target = next_path(&cursor, end);
        binds[i].is_dir = (spec->bind_flags[i] & UMH_SBX_BIND_DIR) != 0;
        binds[i].writable = (spec->bind_flags[i] & UMH_SBX_BIND_WRITABLE) != 0;
        binds[i].device = (spec->bind_flags[i] & UMH_SBX_BIND_DEVICE) != 0;
        binds[i].source = host;
        short_block |= host == NULL || binds[i].target == NULL;
    }
    s->nbinds = spec->nbinds;
    if (short_block) { /* a block with fewer strings than the header counts: refused, not half applied */
        umh_sandbox_release(s);
        return UMH_FAIL(UMH_SANDBOX_OPEN, EINVAL);
    }
    int rc = spec->landlock ? landlock(spec, s) : 0;
    if (rc == 0 && spec->seccomp)
        rc = seccomp_filters(spec, s, (struct sock_filter *)mem);
    if (rc < 0)
        umh_sandbox_release(s);
    return rc;
}

/* fd itself if above 2, else a close-on-exec copy above 2 (fd closed): a spawn's child moves
 * its pipes onto 0-2 before it joins. -1 (fd closed) where no copy can be made. */
static int above_stdio(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return moved;
}

/* Runs the holder (umh_child_ns_holder) to its exit: a CLONE_VM | CLONE_VFORK clone on a stack
 * of its own, as a spawn's, with every signal blocked across it (no JVM handler on that stack),
 * reaped here (its exit signal is none: no SIGCHLD reaches the JVM). 0, or UMH_FAIL. */
static int run_holder(struct umh_ns_holder *h, int flags)
{
    enum { STACK = 64 * 1024 };
    char *stack = malloc(STACK);
    if (stack == NULL)
        return UMH_FAIL(UMH_MALLOC, ENOMEM);
    sigset_t all, old;
    sigfillset(&all);
    /* raw, as umh_spawn's: glibc's pthread_sigmask would leave its own SIGCANCEL/SIGSETXID open */
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, KERNEL_SIGSET_SIZE);
    int pid = clone(umh_child_ns_holder, stack + STACK, CLONE_VM | CLONE_VFORK | CLONE_FILES | flags, h);
    int err = errno;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, KERNEL_SIGSET_SIZE);
    int rc = pid < 0 ? UMH_FAIL(UMH_SANDBOX_NAMESPACES, err) : 0;
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
        ;
    free(stack);
    if (rc == 0 && h->c.fail != 0)
        rc = h->c.fail;
    else if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = UMH_FAIL(UMH_SANDBOX_NAMESPACES, ECHILD); /* killed before it could say why */
    return rc;
}

int umh_sandbox_namespaces(const struct umh_sandbox_spec *spec, int fds[4])
{
    fds[0] = fds[1] = fds[2] = fds[3] = -1;
    struct umh_sandbox_spec root = *spec; /* the root alone: the spawns apply the rest */
    root.landlock = root.seccomp = root.notify = 0;
    root.join_mnt_fd = root.join_net_fd = root.join_user_fd = root.join_ipc_fd = -1;
    struct umh_sandbox s;
    int rc = umh_sandbox_prepare(&root, &s);
    if (rc < 0)
        return rc;
    int mount = spec->new_root, user = !mount && (spec->ns_flags & CLONE_NEWUSER) != 0;
    struct umh_ns_holder h = { .sandbox = &s, .net = !mount && !spec->network, .user = user,
                               .join_user = mount ? spec->join_user_fd : -1, .mnt_fd = -1, .net_fd = -1, .user_fd = -1,
                               .ipc_fd = -1 };
    /* a root under a user namespace made once: the holder joins it and unshares its mount namespace */
    int flags = (mount && h.join_user < 0 ? CLONE_NEWNS : 0) | (h.net ? CLONE_NEWNET | CLONE_NEWIPC : 0) | (user ? CLONE_NEWUSER : 0);
    rc = !mount && !h.net && !user ? UMH_FAIL(UMH_SANDBOX_NAMESPACES, EINVAL) : run_holder(&h, flags);
    umh_sandbox_release(&s);
    int *made[4] = { &h.mnt_fd, &h.net_fd, &h.user_fd, &h.ipc_fd };
    for (int i = 0; i < 4; i++)
        *made[i] = above_stdio(*made[i]);
    if (rc == 0 && ((mount && h.mnt_fd < 0) || (h.net && (h.net_fd < 0 || h.ipc_fd < 0)) || (user && h.user_fd < 0)))
        rc = UMH_FAIL(UMH_SANDBOX_NAMESPACES, EMFILE);
    for (int i = 0; i < 4; i++) {
        if (rc < 0 && *made[i] >= 0)
            close(*made[i]);
        fds[i] = rc < 0 ? -1 : *made[i];
    }
    return rc;
}

void umh_sandbox_release(struct umh_sandbox *s)
{
    int fds[] = { s->landlock_fd, s->notify_sock, s->notify_recv, s->join_owned & 1 ? s->join_mnt_fd : -1,
                  s->join_owned & 2 ? s->join_net_fd : -1, s->join_owned & 4 ? s->join_user_fd : -1,
                  s->join_owned & 8 ? s->join_ipc_fd : -1 };
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]); /* never retried */
    free(s->mem);
    memset(s, 0, sizeof *s);
    s->landlock_fd = s->notify_sock = s->notify_recv = s->join_mnt_fd = s->join_net_fd = s->join_user_fd = s->join_ipc_fd = -1;
}
