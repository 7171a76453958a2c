/*
 * The spawners: a small pool of long-lived threads that make every clone whose child must die
 * with the process. PR_SET_PDEATHSIG fires when the *thread* that cloned the child exits, so a
 * child cloned on a short-lived pool thread would be killed with that thread; cloned here, it
 * dies only with the process. A spawner therefore never exits: the pool grows, never shrinks. In
 * the JVM these threads are "umh-spawner", "umh-spawner-2", ... (Spawner.java), each of which
 * calls umh_spawner_serve() once, which returns only at the process's exit (retirement, below);
 * the C tests and the C floor start pthreads.
 *
 * Retirement, at exit: a JVM's exit waits up to ~300 ms for the threads that are in native code
 * to leave it (HotSpot's VM_Exit::wait_for_threads_in_native_to_block, measured here: a JVM
 * whose daemon thread sits in a native read exits 0.33 s later), and a spawner is in native code
 * for its whole life. umh_spawners_retire (the JVM's shutdown hook) sets `retired`: each spawner
 * serves what is queued and returns to Java, where it parks for good (its children stay its own),
 * and every later hand-off is cloned by its own caller, never by another (whose thread's end
 * would send the child its PR_SET_PDEATHSIG). A spawner that read `retired` set before a take
 * that found the queue empty may leave: a push that take missed came after the store, so its
 * caller reads `retired` set after its push and takes its hand-off back, unless a spawner has
 * taken it (every access seq_cst).
 *
 * Why a pool: a spawner is suspended in vfork from the clone until its child execs (130-250 us
 * measured on a 2-vCPU VM), so one spawner caps the process at ~4,000-7,000 spawns a second
 * whatever its cores. The pool starts with one spawner and grows by one, up to the limit its
 * grow callback enforces (Java: the CPU count, -Dumh.spawners), when a hand-off is queued while
 * every spawner is busy: one growth at a time, the next only once the new spawner has joined.
 *
 * The hand-off costs one wake-up, not two. The caller prepares everything (pipes, argv, the
 * child's struct) in its own frame, queues a umh_handoff and sleeps on h->word. A spawner only
 * clones, with CLONE_CHILD_CLEARTID on h->word: the kernel zeroes the word and futex-wakes the
 * caller the moment the child execs or exits (mm_release), the same moment it wakes the vfork
 * parent. So the caller does not wait for the spawner to be scheduled again, which on a busy
 * machine queues behind the child it just exec'd (measured: ~93 us of a ~1.5 ms spawn+wait).
 *
 * Ownership: once run() has made the clone, h and everything it points to belong to the caller
 * again, who may return and reuse that stack at once: no spawner touches h after a successful
 * run(). Only when run() fails (no child, the word not cleared by anyone) does the spawner write
 * h->rc, clear the word and wake the caller itself. Under an emulator that runs
 * CLONE_VM | CLONE_VFORK as a fork (qemu-user), the kernel's clear would land in the child's copy
 * of memory: there the spawner completes every hand-off, after the clone (kernel_wakes_callers).
 *
 * The child shares this memory until its exec, but runs only umh_child_main (umh_child.c, raw
 * system calls on what was prepared before the clone): it touches nothing of this file's, and no
 * spawner holds the queue's lock across a clone.
 *
 * Only raw futex system calls and C11 atomics: no pthread symbol, so the shim needs nothing but
 * libc and no glibc newer than 2.17 (pthread_create moved into libc with a new version in 2.34).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umh.h"

/* Hand-offs just queued, newest first: a Treiber stack that callers push with a CAS and a spawner
 * empties with one exchange (so there is no ABA), and a futex the idle spawners sleep on, bumped
 * after every push: each push wakes one of them. */
static _Atomic(struct umh_handoff *) pending;
static atomic_int pushes;

/* The spawners' own queue, oldest first: what one of them moved out of `pending` and no spawner
 * has taken yet. Only the holder of `queue_lock` (a futex lock among spawners, held for a few
 * pointer moves, never across a clone) touches it. */
static atomic_int queue_lock; /* 0 free, 1 held, 2 held and contended */
static struct umh_handoff *queue_head;

/* The pool: how many spawners have joined, how many of them are free (not between taking a
 * hand-off and its end), whether a hand-off found none free since the last growth (starved), and
 * whether a growth is under way: asked for, its spawner not joined yet (or the pool complete). */
static atomic_int joined, free_spawners, starved, joining;

/* Set once, at exit (umh_spawners_retire): spawners leave, callers clone for themselves. */
static atomic_int retired;

/* The kernel's answer to kernel_wakes_callers: -1 not asked yet, else 0 or 1. */
static atomic_int kernel_wakes = -1;

/* Each spawner's counters, written by that spawner only, read by anyone (umh_spawner_stats). */
struct spawner_slot {
    _Atomic unsigned long long spawns, clone_ns, queued_ns;
} __attribute__((aligned(64))); /* one cache line each: no spawner writes another's line */
static struct spawner_slot slots[UMH_SPAWNERS_MAX];

/* Shared (not FUTEX_PRIVATE_FLAG) futexes throughout: the kernel's CLONE_CHILD_CLEARTID wake is
 * a shared one, and a private waiter would not hear it. */
static void futex_wait(atomic_int *word, int expected)
{
    syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0); /* EINTR, EAGAIN: callers loop */
}

static void futex_wake(atomic_int *word, int n)
{
    syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

static unsigned long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* the vDSO's: no system call */
    return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

static void add(_Atomic unsigned long long *counter, unsigned long long n)
{
    /* one writer per slot: a load and a store, no locked instruction */
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n, memory_order_relaxed);
}

/* Drepper's futex mutex ("Futexes Are Tricky", mutex2). */
static void queue_lock_take(void)
{
    int c = 0;
    if (atomic_compare_exchange_strong(&queue_lock, &c, 1))
        return;
    if (c != 2)
        c = atomic_exchange(&queue_lock, 2);
    while (c != 0) {
        futex_wait(&queue_lock, 2);
        c = atomic_exchange(&queue_lock, 2);
    }
}

static void queue_lock_drop(void)
{
    if (atomic_exchange(&queue_lock, 0) == 2)
        futex_wake(&queue_lock, 1);
}

/* The pending hand-offs in the order they were queued. Every one of them is still its caller's
 * (each caller sleeps until its own is served), so their next fields may be rewritten. */
static struct umh_handoff *take_pending(void)
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

/* The oldest hand-off no spawner has taken, or NULL; a spawner that gets one is busy from here.
 * `pending` is only emptied into an empty queue, so the queue stays oldest first. */
static struct umh_handoff *take_one(void)
{
    queue_lock_take();
    if (queue_head == NULL)
        queue_head = take_pending();
    struct umh_handoff *h = queue_head;
    if (h != NULL) {
        queue_head = h->next;
        atomic_fetch_sub(&free_spawners, 1);
    }
    queue_lock_drop();
    return h;
}

/* The next hand-off, sleeping while there is none; NULL once retired and none is left. */
static struct umh_handoff *next_handoff(void)
{
    for (;;) {
        int seen = atomic_load(&pushes);
        int leaving = atomic_load(&retired); /* before the take: see the retirement, above */
        struct umh_handoff *h = take_one();
        if (h != NULL || leaving)
            return h;
        futex_wait(&pushes, seen); /* returns at once if a push (or the retirement) came after `seen` */
    }
}

static void complete(struct umh_handoff *h, int rc)
{
    h->rc = rc;
    atomic_store(&h->word, 0); /* h may vanish from here on: the wake below only uses its address */
    futex_wake(&h->word, 1);
}

static __attribute__((no_sanitize_address)) int exit_at_once(void *arg)
{
    (void)arg;
    _exit(0); /* the probe's child: a raw exit, nothing else */
}

/* Whether the kernel zeroes a CLONE_CHILD_CLEARTID word of a CLONE_VM | CLONE_VFORK child that
 * exits, in this process's memory, before the clone returns. Linux does; qemu-user runs such a
 * clone as a fork, so the word it clears is the child's own copy, and a caller waiting for it
 * would wait forever. Asked of a child that only exits, by the first spawner before its first
 * hand-off (spawners that join at once may each ask: the stack is each one's own). */
static int kernel_wakes_callers(void)
{
    int known = atomic_load(&kernel_wakes);
    if (known >= 0)
        return known;
    char stack[16 * 1024] __attribute__((aligned(16)));
    atomic_int word = 1;
    sigset_t all, old;
    sigfillset(&all);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(uint64_t));
    int pid = clone(exit_at_once, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_CHILD_CLEARTID | SIGCHLD,
                    NULL, NULL, NULL, &word);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(uint64_t));
    if (pid < 0)
        return 0; /* not remembered: the next spawner asks again */
    int woken = atomic_load(&word) == 0;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    atomic_store(&kernel_wakes, woken);
    return woken;
}

/* Runs one hand-off, counted in slot (NULL: not counted). After a successful run(h, &h->word) the
 * caller may already be gone with h: nothing reads or writes h afterwards. Where the kernel does
 * not wake callers, run(h, NULL) makes a plain clone and the spawner completes every hand-off
 * itself. */
static void serve_one(struct umh_handoff *h, int wakes, struct spawner_slot *slot)
{
    unsigned long long start = now_ns(), queued = h->queued_ns;
    int rc = h->run(h, wakes ? &h->word : NULL); /* suspended in vfork until the child's exec */
    unsigned long long end = now_ns();
    if (rc < 0 || !wakes)
        complete(h, rc < 0 ? rc : 0);
    if (slot != NULL) {
        add(&slot->spawns, 1);
        add(&slot->clone_ns, end - start);
        add(&slot->queued_ns, start - queued);
    }
}

/* A spawner joins the pool: its number (0 for the first). A growth is over once its spawner is
 * here, and what starved before it came is the past. */
static int join(void)
{
    int id = atomic_fetch_add(&joined, 1);
    atomic_store(&starved, 0);
    atomic_store(&joining, 0);
    atomic_fetch_add(&free_spawners, 1);
    return id;
}

/* After a hand-off: asks for one more spawner if one was wanted since the last growth and none
 * is coming. `joining` stays set until the new spawner joins: where grow() starts none (the pool
 * is complete), no spawner asks again. */
static void grow_if_starved(void (*grow)(void *ctx), void *ctx)
{
    if (grow == NULL || !atomic_load(&starved) || atomic_exchange(&joining, 1))
        return;
    atomic_store(&starved, 0);
    grow(ctx);
}

void umh_spawner_serve(void (*grow)(void *ctx), void *ctx)
{
    int wakes = kernel_wakes_callers();
    int id = join();
    struct spawner_slot *slot = id < UMH_SPAWNERS_MAX ? &slots[id] : NULL;
    for (struct umh_handoff *h; (h = next_handoff()) != NULL;) {
        serve_one(h, wakes, slot);
        grow_if_starved(grow, ctx);
        atomic_fetch_add(&free_spawners, 1);
    }
    atomic_fetch_sub(&free_spawners, 1); /* retired: gone for good */
}

void *umh_spawner_thread(void *unused)
{
    (void)unused;
    umh_spawner_serve(NULL, NULL);
    return NULL;
}

void umh_spawners_retire(void)
{
    atomic_store(&retired, 1);
    atomic_fetch_add(&pushes, 1);
    futex_wake(&pushes, INT_MAX); /* every idle spawner: each finds the queue empty and leaves */
}

/* After the retirement, a caller's own hand-off out of the queue: 1 if it was still there (no
 * spawner took it), 0 if a spawner has it. What is pending joins the queue's end, in order. */
static int take_back(struct umh_handoff *h)
{
    queue_lock_take();
    struct umh_handoff **link = &queue_head;
    while (*link != NULL)
        link = &(*link)->next;
    *link = take_pending();
    for (link = &queue_head; *link != NULL && *link != h;)
        link = &(*link)->next;
    int found = *link == h;
    if (found)
        *link = h->next;
    queue_lock_drop();
    return found;
}

int umh_spawner_stats(struct umh_spawner_stats *out, int max)
{
    int n = atomic_load(&joined);
    for (int i = 0; i < max && i < n && i < UMH_SPAWNERS_MAX; i++) {
        out[i].spawns = atomic_load_explicit(&slots[i].spawns, memory_order_relaxed);
        out[i].clone_ns = atomic_load_explicit(&slots[i].clone_ns, memory_order_relaxed);
        out[i].queued_ns = atomic_load_explicit(&slots[i].queued_ns, memory_order_relaxed);
    }
    return n;
}

/* Queues h for the spawners and wakes one. */
static void push(struct umh_handoff *h)
{
    /* every spawner busy (and one there to be busy: the first may not have joined yet): grow */
    if (atomic_load(&free_spawners) <= 0 && atomic_load(&joined) > 0)
        atomic_store(&starved, 1);
    struct umh_handoff *head = atomic_load(&pending);
    do {
        h->next = head;
    } while (!atomic_compare_exchange_weak(&pending, &head, h));
    atomic_fetch_add(&pushes, 1);
    futex_wake(&pushes, 1);
}

int umh_handoff(struct umh_handoff *h)
{
    h->rc = 0;
    h->queued_ns = now_ns();
    atomic_store(&h->word, 1);
    /* retired: cloned here, on the caller's thread; `retired` read again after the push, see above */
    if (atomic_load(&retired) || (push(h), atomic_load(&retired) && take_back(h))) {
        serve_one(h, kernel_wakes_callers(), NULL);
        return h->rc;
    }
    /* The kernel writes 0 before its wake and the spawner too, so a wake-up without a 0 (a
     * signal, a stale wake of an earlier hand-off at this address) only means: wait again. */
    while (atomic_load(&h->word) != 0)
        futex_wait(&h->word, 1);
    return h->rc;
}
