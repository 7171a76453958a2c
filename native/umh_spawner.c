/*
 * The spawner: one long-lived thread that makes every clone whose child must die with the
 * process. PR_SET_PDEATHSIG fires when the *thread* that cloned the child exits, so a child cloned
 * on a short-lived pool thread would be killed with that thread; cloned here, it dies only with
 * the process. In the JVM this thread is "umh-spawner" (Spawner.java), which calls
 * umh_spawner_serve() once and never returns; the C tests and the C floor start a pthread.
 *
 * The hand-off costs one wake-up, not two. The caller prepares everything (pipes, argv, the
 * child's struct) in its own frame, queues a umh_handoff and sleeps on h->word. The spawner only
 * clones, with CLONE_CHILD_CLEARTID on h->word: the kernel zeroes the word and futex-wakes the
 * caller the moment the child execs or exits (mm_release), the same moment it wakes the vfork
 * parent. So the caller does not wait for the spawner to be scheduled again, which on a busy
 * machine queues behind the child it just exec'd (measured: ~93 us of a ~1.5 ms spawn+wait).
 *
 * Ownership: once run() has made the clone, h and everything it points to belong to the caller
 * again, who may return and reuse that stack at once: the spawner does not touch h after a
 * successful run(). Only when run() fails (no child, the word not cleared by anyone) does the
 * spawner write h->rc, clear the word and wake the caller itself. Under an emulator that runs
 * CLONE_VM | CLONE_VFORK as a fork (qemu-user), the kernel's clear would land in the child's copy
 * of memory: there the spawner completes every hand-off, after the clone (kernel_wakes_callers).
 *
 * Only raw futex system calls and C11 atomics: no pthread symbol, so the shim needs nothing but
 * libc and no glibc newer than 2.17 (pthread_create moved into libc with a new version in 2.34).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umh.h"

/* Pending hand-offs, newest first (a Treiber stack: callers push with a CAS, the spawner takes
 * all of them with one exchange, so there is no ABA), and a futex the spawner sleeps on, bumped
 * after every push. */
static _Atomic(struct umh_handoff *) pending;
static atomic_int pushes;

/* Shared (not FUTEX_PRIVATE_FLAG) futexes throughout: the kernel's CLONE_CHILD_CLEARTID wake is
 * a shared one, and a private waiter would not hear it. */
static void futex_wait(atomic_int *word, int expected)
{
    syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0); /* EINTR, EAGAIN: callers loop */
}

static void futex_wake(atomic_int *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* The pending hand-offs in the order they were queued. Every one of them is still its caller's
 * (each caller sleeps until its own is served), so their next fields may be rewritten. */
static struct umh_handoff *take_all(void)
{
    struct umh_handoff *list = atomic_exchange(&pending, NULL), *fifo = NULL;
    while (list != NULL) {
        struct umh_handoff *next = list->next;
        list->next = fifo;
        fifo = list;
        list = next;
    }
    return fifo;
}

static void complete(struct umh_handoff *h, int rc)
{
    h->rc = rc;
    atomic_store(&h->word, 0); /* h may vanish from here on: the wake below only uses its address */
    futex_wake(&h->word);
}

static __attribute__((no_sanitize_address)) int exit_at_once(void *arg)
{
    (void)arg;
    _exit(0); /* the probe's child: a raw exit, nothing else */
}

/* Whether the kernel zeroes a CLONE_CHILD_CLEARTID word of a CLONE_VM | CLONE_VFORK child that
 * exits, in this process's memory, before the clone returns. Linux does; qemu-user runs such a
 * clone as a fork, so the word it clears is the child's own copy, and a caller waiting for it
 * would wait forever. Asked once, of a child that only exits, before the first hand-off. */
static int kernel_wakes_callers(void)
{
    static char stack[16 * 1024] __attribute__((aligned(16))); /* only this thread ever uses it */
    atomic_int word = 1;
    sigset_t all, old;
    sigfillset(&all);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(uint64_t));
    int pid = clone(exit_at_once, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_CHILD_CLEARTID | SIGCHLD,
                    NULL, NULL, NULL, &word);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(uint64_t));
    if (pid < 0)
        return 0;
    int woken = atomic_load(&word) == 0;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return woken;
}

/* Runs one hand-off. After a successful run(h, &h->word) the caller may already be gone with h:
 * nothing reads or writes h afterwards. Where the kernel does not wake callers, run(h, NULL)
 * makes a plain clone and the spawner completes every hand-off itself. */
static void serve_one(struct umh_handoff *h, int kernel_wakes)
{
    int rc = h->run(h, kernel_wakes ? &h->word : NULL);
    if (rc < 0 || !kernel_wakes)
        complete(h, rc < 0 ? rc : 0);
}

void umh_spawner_serve(void)
{
    int kernel_wakes = kernel_wakes_callers();
    for (;;) {
        int seen = atomic_load(&pushes);
        struct umh_handoff *h = take_all();
        if (h == NULL) {
            futex_wait(&pushes, seen); /* returns at once if a push came after `seen` */
            continue;
        }
        while (h != NULL) {
            struct umh_handoff *next = h->next; /* read before h is served and may vanish */
            serve_one(h, kernel_wakes);
            h = next;
        }
    }
}

void *umh_spawner_thread(void *unused)
{
    (void)unused;
    umh_spawner_serve();
}

int umh_handoff(struct umh_handoff *h)
{
    h->rc = 0;
    atomic_store(&h->word, 1);
    struct umh_handoff *head = atomic_load(&pending);
    do {
        h->next = head;
    } while (!atomic_compare_exchange_weak(&pending, &head, h));
    atomic_fetch_add(&pushes, 1);
    futex_wake(&pushes);
    /* The kernel writes 0 before its wake and the spawner too, so a wake-up without a 0 (a
     * signal, a stale wake of an earlier hand-off at this address) only means: wait again. */
    while (atomic_load(&h->word) != 0)
        futex_wait(&h->word, 1);
    return h->rc;
}
