/*
 * A spin lock on an atomic_flag, for the shim's few process-wide tables, each held for a copy or a
 * prctl or two: not pthread's mutex (libpthread's before glibc 2.34; the shim's floor is 2.17).
 * Parent side only, never the vfork child's (it may have been cloned while another thread held it).
 */
#ifndef UMH_SPIN_H
#define UMH_SPIN_H

#include <sched.h>
#include <stdatomic.h>

static inline void umh_spin_lock(atomic_flag *lock)
{
    while (atomic_flag_test_and_set_explicit(lock, memory_order_acquire))
        sched_yield();
}

static inline void umh_spin_unlock(atomic_flag *lock)
{
    atomic_flag_clear_explicit(lock, memory_order_release);
}

#endif
