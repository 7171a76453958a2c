/*
 * The sandbox's probes (umh_probe.c): each answers 0 on a machine that gives what the sandbox
 * needs, and names the step and errno where the kernel refuses it. The refusals are the kernel's,
 * made in a forked child by a seccomp filter as container runtimes install them (clone with
 * CLONE_NEWUSER EPERM, clone3 ENOSYS, an outer filter that holds a listener), and the probe is
 * called there; nothing outlives the child.
 */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>

#include "umh_test.h"

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define NOBODY_CALLS 1000
#define NAMESPACES (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET)

enum { NEED_USERNS = 1, NEED_SECCOMP = 2 };

/* A filter: other CPUs' calls allowed; call nr (with bit in its first argument, if bit) -> action. */
static int install(int nr, unsigned bit, unsigned action, unsigned flags)
{
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, bit, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    if (bit == 0) { /* the call itself, whatever its arguments: no argument test */
        prog[5] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
        prog[6] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
    }
    struct sock_fprog fp = { .len = sizeof prog / sizeof prog[0], .filter = prog };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fp);
}

enum probe_kind { NAMESPACES_WITH_USER, ROOT_WITH_USER, LISTENER, CLONE3 };

static int run_probe(enum probe_kind k)
{
    switch (k) {
    case NAMESPACES_WITH_USER:
        return umh_probe_namespaces(NAMESPACES | CLONE_NEWUSER, 0);
    case ROOT_WITH_USER:
        return umh_probe_namespaces(NAMESPACES | CLONE_NEWUSER, 1);
    case LISTENER:
        return umh_probe_listener();
    default:
        return umh_probe_clone3();
    }
}

/* In a forked child: the filter, then the probe; whether it answered want (1), else 0 (or -1). */
static int refused_in_child(int nr, unsigned bit, unsigned action, unsigned flags, enum probe_kind k, int want)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (install(nr, bit, action, flags) < 0)
            _exit(3);
        int rc = run_probe(k);
        if (rc != want)
            fprintf(stderr, "probe %d answered %d (step %d, errno %d), not %d\n", (int)k, rc,
                    rc < 0 ? UMH_FAIL_STEP(rc) : 0, rc < 0 ? UMH_FAIL_ERRNO(rc) : 0, want);
        _exit(rc == want ? 0 : 1);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void t_each_probe_answers_0_here(void)
{
    int fds = count_fds();
    CHECK(umh_probe_namespaces(NAMESPACES | CLONE_NEWUSER, 0) == 0);
    CHECK(umh_probe_namespaces(NAMESPACES | CLONE_NEWUSER, 1) == 0);
    CHECK(umh_probe_listener() == 0);
    CHECK(umh_probe_clone3() == 0);
    CHECK(count_fds() == fds); /* the listener stayed in the child's fd table */
}

static void t_a_containers_profile_refuses_the_clone(void)
{
    CHECK(refused_in_child(SYS_clone, CLONE_NEWUSER, SECCOMP_RET_ERRNO | EPERM, 0, NAMESPACES_WITH_USER,
                           UMH_FAIL(UMH_CLONE, EPERM)) == 1);
}

static void t_an_outer_listener_makes_the_helpers_ebusy(void)
{
    CHECK(refused_in_child(NOBODY_CALLS, 0, SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER, LISTENER,
                           UMH_FAIL(UMH_CHILD_SECCOMP, EBUSY)) == 1);
}

/* A JVM that already runs in a Landlock domain (a supervisor's) may make namespaces but not mount:
 * the root's probe names its first mount, EPERM, and the namespaces' probe still answers 0. */
static void t_a_landlock_domain_refuses_the_root(void)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* a domain handling only mkdir, which the probes never do: the id maps are still written */
        struct landlock_ruleset_attr attr = { .handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_DIR };
        int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
        if (ruleset < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
            _exit(3);
        int root = run_probe(ROOT_WITH_USER), ns = run_probe(NAMESPACES_WITH_USER);
        if (root != UMH_FAIL(UMH_CHILD_MOUNT_PRIVATE, EPERM) || ns != 0)
            fprintf(stderr, "in a Landlock domain: root probe %d (step %d, errno %d), namespaces probe %d\n", root,
                    root < 0 ? UMH_FAIL_STEP(root) : 0, root < 0 ? UMH_FAIL_ERRNO(root) : 0, ns);
        _exit(root == UMH_FAIL(UMH_CHILD_MOUNT_PRIVATE, EPERM) && ns == 0 ? 0 : 1);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void t_no_clone3(void)
{
    CHECK(refused_in_child(SYS_clone3, 0, SECCOMP_RET_ERRNO | ENOSYS, 0, CLONE3, UMH_FAIL(UMH_CLONE3, ENOSYS)) == 1);
    /* and the namespaces' probe, which uses clone, does not care */
    CHECK(refused_in_child(SYS_clone3, 0, SECCOMP_RET_ERRNO | ENOSYS, 0, NAMESPACES_WITH_USER, 0) == 1);
}

static const struct test tests[] = {
    { "each_probe_answers_0_here", t_each_probe_answers_0_here, NEED_USERNS },
    { "a_containers_profile_refuses_the_clone", t_a_containers_profile_refuses_the_clone, NEED_SECCOMP },
    { "an_outer_listener_makes_the_helpers_ebusy", t_an_outer_listener_makes_the_helpers_ebusy, NEED_SECCOMP },
    { "no_clone3", t_no_clone3, NEED_SECCOMP },
    { "a_landlock_domain_refuses_the_root", t_a_landlock_domain_refuses_the_root, NEED_SECCOMP },
};

/* What this system gives: user namespaces and listeners (qemu-user and containers may not), and
 * seccomp filters with a listener in a child of ours. */
static void probe_system(void)
{
    int rc = umh_probe_namespaces(NAMESPACES | CLONE_NEWUSER, 0);
    if (rc != 0 || umh_probe_listener() != 0 || umh_probe_clone3() != 0)
        snprintf(why_not[NEED_USERNS], sizeof why_not[NEED_USERNS], "a probe refused here (%d)", rc);
    else if (refused_in_child(NOBODY_CALLS, 0, SECCOMP_RET_ERRNO | ENOSYS, 0, CLONE3, 0) != 1)
        snprintf(why_not[NEED_SECCOMP], sizeof why_not[NEED_SECCOMP], "seccomp filters refused here");
    if (why_not[NEED_USERNS][0] != '\0')
        snprintf(why_not[NEED_SECCOMP], sizeof why_not[NEED_SECCOMP], "%s", why_not[NEED_USERNS]);
}

int main(int argc, char **argv)
{
    if (start_tests(argc, argv, "umh-probe-test") != 0)
        return 2;
    probe_system();
    static const char *const needs_what[] = { "", "user namespaces, a listener and clone3", "seccomp filters" };
    return report(run_tests(tests, sizeof tests / sizeof tests[0], needs_what, 1));
}
