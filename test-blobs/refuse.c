/* refuse WHAT COMMAND [ARG...]: runs COMMAND with the kernel refusing one thing a sandbox needs,
 * as the machines umh must survive refuse it (issue 14's fallbacks, forced for the tests by the
 * kernel itself, not by a hook in umh). Run as root; COMMAND inherits the refusal (a seccomp
 * filter, a Landlock domain), and refuse exits with its status.
 *
 *   userns        a container's seccomp profile (Docker's default): clone and unshare with
 *                 CLONE_NEWUSER fail EPERM; clone3, whose flags a filter cannot read, ENOSYS
 *   clone3        clone3 fails ENOSYS (a kernel before 5.3, or an older container profile)
 *   landlock      landlock_create_ruleset, _add_rule and _restrict_self fail ENOSYS (no Landlock)
 *   landlock-abi N  landlock_create_ruleset(NULL, 0, VERSION) answers N (an older kernel's ABI):
 *                 a seccomp listener held here answers it; every other call goes through. So an
 *                 outer listener exists too, as below.
 *   listener      an outer seccomp filter that holds a listener (a container runtime's or a
 *                 supervisor's, here for a call nobody makes): a second one is EBUSY
 *   proc-write    Landlock denies COMMAND every write under /proc and none elsewhere: as with
 *                 Ubuntu's AppArmor restriction of unprivileged user namespaces, an LSM lets the
 *                 clone of a user namespace through and refuses its id maps (here at the first,
 *                 /proc/self/setgroups: EACCES; AppArmor's refusal of capabilities in the new
 *                 namespace gives EACCES there too, and EPERM at uid_map). A BPF LSM program
 *                 denying CAP_SYS_ADMIN would be closer still; this kernel refuses to load
 *                 LSM and tracing programs (EPERM, even as root).
 *
 * On failure to set a refusal up: a message on stderr, exit 125. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <dirent.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#define NOBODY_CALLS 1000 /* no system call has this number: the listener's filter waits on it */

static int fail(const char *what)
{
    fprintf(stderr, "refuse: %s: %s\n", what, strerror(errno));
    return 125;
}

/* ---------------------------------------------------------------- seccomp */

static struct sock_filter prog[64];
static unsigned short len;

static void emit(unsigned short code, unsigned char jt, unsigned char jf, unsigned k)
{
    prog[len++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

/* The arch check: another CPU's calls (x32 too) go through untouched; loads the number. */
static void start(void)
{
    emit(BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
    emit(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, ARCH);
    emit(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
    emit(BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
}

/* call nr -> action (the number is in A and stays there) */
static void when(int nr, unsigned action)
{
    emit(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (unsigned)nr);
    emit(BPF_RET | BPF_K, 0, 0, action);
}

/* call nr with bit in its first argument's low word -> action; A is the number again after */
static void when_arg0(int nr, unsigned bit, unsigned action)
{
    emit(BPF_JMP | BPF_JEQ | BPF_K, 0, 4, (unsigned)nr);
    emit(BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, args[0]));
    emit(BPF_JMP | BPF_JSET | BPF_K, 0, 1, bit);
    emit(BPF_RET | BPF_K, 0, 0, action);
    emit(BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
}

/* Installs prog, ending in allow: the listener's fd with SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0. */
static int install(unsigned flags)
{
    emit(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
    struct sock_fprog fp = { .len = len, .filter = prog };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fp);
}

/* The supervisor's answer to one notification: the version query gets abi, the rest go on. */
static int answer(int listener, int abi)
{
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
        return errno == ENOENT || errno == EINTR ? 0 : -1; /* the caller died meanwhile: nothing to answer */
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    if (req.data.nr == SYS_landlock_create_ruleset && (req.data.args[2] & 1) && abi > 0)
        resp.val = abi; /* LANDLOCK_CREATE_RULESET_VERSION */
    else if (req.data.nr == SYS_landlock_create_ruleset)
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    else
        resp.error = -ENOSYS;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- Landlock (proc-write) */

static long ll_create(const struct landlock_ruleset_attr *attr, size_t size)
{
    return syscall(SYS_landlock_create_ruleset, attr, size, 0);
}

/* Writing is denied under /proc and nowhere else: a ruleset that handles file writes, with a rule
 * allowing them beneath every entry of / but proc. Then restricted (with no new privileges). */
static int deny_proc_writes(void)
{
    struct landlock_ruleset_attr attr = { .handled_access_fs = LANDLOCK_ACCESS_FS_WRITE_FILE };
    int ruleset = (int)ll_create(&attr, sizeof attr);
    if (ruleset < 0)
        return -1;
    DIR *root = opendir("/");
    if (root == NULL)
        return -1;
    for (struct dirent *e; (e = readdir(root)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strcmp(e->d_name, "proc") == 0)
            continue;
        char path[300];
        snprintf(path, sizeof path, "/%s", e->d_name);
        int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
            continue; /* a dangling link: nothing to write there */
        struct stat st;
        int dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
        struct landlock_path_beneath_attr rule = { .allowed_access = LANDLOCK_ACCESS_FS_WRITE_FILE, .parent_fd = fd };
        long rc = dir || S_ISREG(st.st_mode) ? syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) : 0;
        close(fd);
        if (rc < 0) {
            closedir(root);
            return -1;
        }
    }
    closedir(root);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
        return -1;
    close(ruleset);
    return 0;
}

/* ---------------------------------------------------------------- running the command */

/* Forks COMMAND and supervises it: answers the listener's
 * notifications until it exits. Its exit status, as a shell gives it. */
static int supervise(char **cmd, int listener, int abi)
{
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        if (listener >= 0)
            close(listener);
        execvp(cmd[0], cmd);
        _exit(fail(cmd[0]));
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return fail("pidfd_open");
    for (;;) {
        struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = listener, .events = POLLIN } };
        if (poll(p, listener >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
            return fail("poll");
        if (p[0].revents & POLLIN)
            break;
        if (listener >= 0 && (p[1].revents & POLLIN) && answer(listener, abi) < 0)
            return fail("seccomp notification");
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int usage(void)
{
    fprintf(stderr, "usage: refuse userns|clone3|landlock|landlock-abi N|listener|proc-write COMMAND [ARG...]\n");
    return 125;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *what = argv[1];
    char **cmd = argv + 2;
    start();
    if (strcmp(what, "userns") == 0) {
        when_arg0(SYS_clone, CLONE_NEWUSER, SECCOMP_RET_ERRNO | EPERM);
        when_arg0(SYS_unshare, CLONE_NEWUSER, SECCOMP_RET_ERRNO | EPERM);
        when(SYS_clone3, SECCOMP_RET_ERRNO | ENOSYS);
    } else if (strcmp(what, "clone3") == 0) {
        when(SYS_clone3, SECCOMP_RET_ERRNO | ENOSYS);
    } else if (strcmp(what, "landlock") == 0) {
        when(SYS_landlock_create_ruleset, SECCOMP_RET_ERRNO | ENOSYS);
        when(SYS_landlock_add_rule, SECCOMP_RET_ERRNO | ENOSYS);
        when(SYS_landlock_restrict_self, SECCOMP_RET_ERRNO | ENOSYS);
    } else if (strcmp(what, "landlock-abi") == 0 && argc >= 4) {
        int abi = atoi(argv[2]);
        when(SYS_landlock_create_ruleset, SECCOMP_RET_USER_NOTIF);
        int listener = install(SECCOMP_FILTER_FLAG_NEW_LISTENER);
        return listener < 0 ? fail("seccomp") : supervise(argv + 3, listener, abi);
    } else if (strcmp(what, "listener") == 0) {
        when(NOBODY_CALLS, SECCOMP_RET_USER_NOTIF);
        int listener = install(SECCOMP_FILTER_FLAG_NEW_LISTENER);
        return listener < 0 ? fail("seccomp") : supervise(cmd, listener, 0);
    } else if (strcmp(what, "proc-write") == 0) {
        if (deny_proc_writes() < 0)
            return fail("landlock");
        execvp(cmd[0], cmd);
        return fail(cmd[0]);
    } else {
        return usage();
    }
    if (install(0) < 0)
        return fail("seccomp");
    execvp(cmd[0], cmd);
    return fail(cmd[0]);
}
