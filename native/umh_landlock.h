/*
 * umh_landlock: the parent's (the JVM's) half of a Landlock sandbox. Before the clone, the
 * parent builds one ruleset fd from a spec; the vfork child then only calls
 * prctl(PR_SET_NO_NEW_PRIVS) and landlock_restrict_self(fd, 0) on it. The same fd serves any
 * number of spawns (each restrict_self makes a domain from it), so a policy prepares it once.
 *
 * Best effort, as rust-landlock does it: the ruleset handles every access right the running
 * Landlock ABI knows (so that with no rules the whole file system is denied), and whatever
 * this kernel cannot restrict is said in the report, never silently dropped. Whether that is
 * good enough (REQUIRED or BEST_EFFORT) is the caller's decision.
 *
 * What a program needs, measured on Linux 6.18 (native/test/umh_landlock_test.c pins it):
 * the file exec'd and its ELF interpreter (ld.so) need READ_FILE and EXECUTE (the kernel opens
 * both through open_exec: read mode plus __FMODE_EXEC); libraries need READ_FILE only (ld.so
 * opens them read-only, and Landlock does not check mmap(PROT_EXEC)); /etc/ld.so.cache is
 * optional (without it ld.so tries the default directories). A memfd is on no mount Landlock
 * governs: it execs with the whole file system denied, but its interpreter, if it has one,
 * needs READ_FILE|EXECUTE like any other.
 */
#ifndef UMH_LANDLOCK_H
#define UMH_LANDLOCK_H

#include <stddef.h>
#include <stdint.h>

/* The failing steps of this file are umh.h's UMH_LANDLOCK_*, carried as UMH_FAIL(step, errno). */
#include "umh.h"

/* the kernel's LANDLOCK_SCOPE_* values (ABI 6) */
enum {
    UMH_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET = 1, /* no connect/sendto to abstract sockets outside */
    UMH_LANDLOCK_SCOPE_SIGNAL = 2,               /* no signals to processes outside the sandbox */
};

struct umh_landlock_spec {
    /* NULL-terminated arrays of absolute paths, or NULL for none. Each path is opened once, at
     * prepare: the rule holds that inode, a path renamed or replaced later does not move it. */
    const char *const *read_only;  /* READ_FILE, READ_DIR, EXECUTE (exec'd files, ld.so) */
    const char *const *read_write; /* read_only's rights without EXECUTE (no write-then-exec),
                                    * plus WRITE_FILE, TRUNCATE, REMOVE_*, MAKE_{REG,DIR,SYM,
                                    * SOCK,FIFO}, REFER; never MAKE_CHAR/MAKE_BLOCK (a root helper
                                    * could mknod a disk and open it there) nor IOCTL_DEV. A path
                                    * in both arrays gets both sets. */
    int network;                   /* 0: all TCP bind and connect denied (ABI >= 4), loopback too */
    unsigned scopes;               /* UMH_LANDLOCK_SCOPE_* (ABI >= 6) */
};

/* What a ruleset enforces, per layer. */
enum umh_landlock_layer {
    UMH_LANDLOCK_FS,           /* the file system as a whole (PARTIAL: some fs rights unknown here) */
    UMH_LANDLOCK_TCP,          /* TCP bind and connect (ABI 4); never UDP, raw or unix sockets */
    UMH_LANDLOCK_SCOPE_UNIX,   /* abstract unix sockets (ABI 6) */
    UMH_LANDLOCK_SCOPE_SIG,    /* signals (ABI 6) */
    UMH_LANDLOCK_IOCTL_DEV,    /* ioctl on device files opened in the sandbox (ABI 5) */
    UMH_LANDLOCK_TRUNCATE,     /* truncate(2), ftruncate of files opened in the sandbox (ABI 3) */
    UMH_LANDLOCK_REFER,        /* rename/link across directories (ABI 2; ABI 1 always denies it) */
    UMH_LANDLOCK_LAYERS
};
enum umh_landlock_level {
    UMH_LANDLOCK_NOT,          /* asked for, not enforced: reason says why */
    UMH_LANDLOCK_PARTIAL,      /* enforced in part: reason says what is left open */
    UMH_LANDLOCK_FULL,         /* enforced as asked (reason may note a side effect) */
    UMH_LANDLOCK_UNASKED,      /* the spec did not ask (network allowed, no scope) */
};
struct umh_landlock_status {
    int level;                 /* enum umh_landlock_level */
    char reason[112];          /* "Landlock ABI 3 < 4: TCP not restricted"; "" when nothing to say */
};
struct umh_landlock_report {
    int abi;                   /* the ABI the ruleset was built for; 0: no Landlock */
    int kernel_abi;            /* the kernel's own (abi is lower when umh_landlock_max_abi caps it) */
    int abi_errno;             /* why kernel_abi is 0 (ENOSYS, EOPNOTSUPP, EPERM), else 0 */
    uint64_t handled_fs, handled_net, scoped; /* what went into landlock_create_ruleset */
    const char *bad_path;      /* on an UMH_LANDLOCK_SPEC/OPEN_PATH/STATX/ADD_RULE failure: the
                                * spec's path at fault (its own pointer), else NULL */
    struct umh_landlock_status layer[UMH_LANDLOCK_LAYERS];
};

/* Test-only cap (and a forced fallback, as umh_fallbacks is): >= 0 makes Landlock look no
 * newer than this ABI (0: absent). -1 (the default): the kernel's own. Set before prepare. */
extern int umh_landlock_max_abi;

/* The Landlock ABI version (1 for 5.13 ... 7 for 6.15), capped by umh_landlock_max_abi;
 * 0 when there is no Landlock, with errno saying why (ENOSYS: not built in; EOPNOTSUPP: built
 * in, not enabled at boot; EPERM: refused, e.g. by a container's seccomp filter). */
int umh_landlock_abi(void);
/* "Landlock is built in but disabled at boot (not in the lsm= list)" and such, for abi_errno */
const char *umh_landlock_absent_reason(int err);

/* A ruleset fd (close-on-exec) for spec, or UMH_FAIL (nothing left open; rep->bad_path names a
 * path at fault). rep is filled in either way, as far as the failure let it: with no Landlock
 * the failure is UMH_FAIL(UMH_LANDLOCK_ABI, errno) and every asked layer is NOT, with why. */
int umh_landlock_prepare(const struct umh_landlock_spec *spec, struct umh_landlock_report *rep);

/* "filesystem", "tcp", "abstract-unix-scope", "signal-scope", "ioctl-dev", "truncate", "refer" */
const char *umh_landlock_layer_name(int layer);
/* "fully enforced", "partially enforced", "not enforced", "not asked" */
const char *umh_landlock_level_name(int level);
/* One line per layer, "tcp: not enforced (Landlock ABI 3 < 4: TCP not restricted)\n", into buf
 * (truncated to len); returns buf. */
char *umh_landlock_describe(const struct umh_landlock_report *rep, char *buf, size_t len);

#endif
