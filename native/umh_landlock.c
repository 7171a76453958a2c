/*
 * The parent's half of the Landlock sandbox (see umh_landlock.h): runs in the JVM before the
 * clone, so libc is fine here. Raw syscall() for the landlock_* calls (glibc has no wrappers),
 * and our own copies of the uapi where Debian 12's headers (ABI 2) lack them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "umh.h"
#include "umh_landlock.h"

#if __has_include(<linux/landlock.h>)
#include <linux/landlock.h>
#endif

/* The same number on every CPU (the unified syscall table, since 5.13). */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef SYS_landlock_add_rule
#define SYS_landlock_add_rule 445
#endif

#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif
#ifndef LANDLOCK_RULE_PATH_BENEATH
#define LANDLOCK_RULE_PATH_BENEATH 1
#endif
/* ABI 1 */
#ifndef LANDLOCK_ACCESS_FS_EXECUTE
#define LANDLOCK_ACCESS_FS_EXECUTE (1ULL << 0)
#define LANDLOCK_ACCESS_FS_WRITE_FILE (1ULL << 1)
#define LANDLOCK_ACCESS_FS_READ_FILE (1ULL << 2)
#define LANDLOCK_ACCESS_FS_READ_DIR (1ULL << 3)
#define LANDLOCK_ACCESS_FS_REMOVE_DIR (1ULL << 4)
#define LANDLOCK_ACCESS_FS_REMOVE_FILE (1ULL << 5)
#define LANDLOCK_ACCESS_FS_MAKE_CHAR (1ULL << 6)
#define LANDLOCK_ACCESS_FS_MAKE_DIR (1ULL << 7)
#define LANDLOCK_ACCESS_FS_MAKE_REG (1ULL << 8)
#define LANDLOCK_ACCESS_FS_MAKE_SOCK (1ULL << 9)
#define LANDLOCK_ACCESS_FS_MAKE_FIFO (1ULL << 10)
#define LANDLOCK_ACCESS_FS_MAKE_BLOCK (1ULL << 11)
#define LANDLOCK_ACCESS_FS_MAKE_SYM (1ULL << 12)
#endif
#ifndef LANDLOCK_ACCESS_FS_REFER       /* ABI 2 */
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE    /* ABI 3 */
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP   /* ABI 4 */
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV   /* ABI 5 */
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET /* ABI 6 */
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif
/* ABI 7 adds only restrict_self's logging flags: no new rights. */

_Static_assert(UMH_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET == LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, "uapi");
_Static_assert(UMH_LANDLOCK_SCOPE_SIGNAL == LANDLOCK_SCOPE_SIGNAL, "uapi");

/* Our own, always: the system's struct landlock_ruleset_attr may predate the ABI 4 and 6
 * fields. The kernel takes any size from its ABI 1 struct up, and refuses (E2BIG) only
 * nonzero bytes it does not know, so the full struct with unknown fields zeroed suits every
 * kernel; the down-levelling below keeps them zero. */
struct umh_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};
/* Packed as the kernel's is (no trailing padding in the size it checks). */
struct umh_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

/* The rights a non-directory can carry: the kernel refuses (EINVAL) a rule giving a file any
 * right that only means something for a directory's content. */
#define FS_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |            \
                        LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |             \
                        LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* EXECUTE: the kernel needs it (with READ_FILE) for the file exec'd and for its ELF
 * interpreter; libraries need READ_FILE only (see umh_landlock.h). */
#define FS_READ_ONLY (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |                \
                      LANDLOCK_ACCESS_FS_EXECUTE)
/* No EXECUTE (writing a program then running it is the classic next step of an exploit), no
 * MAKE_CHAR/MAKE_BLOCK (a root helper could mknod a device node for a disk and open it
 * read-write: Landlock checks the open against the directory, not the device), no IOCTL_DEV.
 * REFER is safe to give: the kernel allows a rename/link only when it gains no rights. */
#define FS_READ_WRITE (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |               \
                       LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |             \
                       LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |          \
                       LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |               \
                       LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_MAKE_SOCK |              \
                       LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_REFER)
#define ALL_SCOPES (LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL)

int umh_landlock_max_abi = -1;

const char *umh_landlock_layer_name(int layer)
{
    static const char *const names[UMH_LANDLOCK_LAYERS] = {
        [UMH_LANDLOCK_FS] = "filesystem", [UMH_LANDLOCK_TCP] = "tcp",
        [UMH_LANDLOCK_SCOPE_UNIX] = "abstract-unix-scope", [UMH_LANDLOCK_SCOPE_SIG] = "signal-scope",
        [UMH_LANDLOCK_IOCTL_DEV] = "ioctl-dev", [UMH_LANDLOCK_TRUNCATE] = "truncate",
        [UMH_LANDLOCK_REFER] = "refer",
    };
    return layer >= 0 && layer < UMH_LANDLOCK_LAYERS ? names[layer] : "unknown";
}

const char *umh_landlock_level_name(int level)
{
    static const char *const names[] = {
        [UMH_LANDLOCK_NOT] = "not enforced", [UMH_LANDLOCK_PARTIAL] = "partially enforced",
        [UMH_LANDLOCK_FULL] = "fully enforced", [UMH_LANDLOCK_UNASKED] = "not asked",
    };
    return level >= 0 && level <= UMH_LANDLOCK_UNASKED ? names[level] : "unknown";
}

const char *umh_landlock_absent_reason(int err)
{
    switch (err) {
    case ENOSYS:
        return "no Landlock (ENOSYS): a kernel older than 5.13 or without CONFIG_SECURITY_LANDLOCK, or an emulator";
    case EOPNOTSUPP:
        return "Landlock is built in but disabled at boot (not in the lsm= list)";
    case EPERM:
        return "landlock_create_ruleset refused (EPERM): a seccomp filter around this process?";
    case 0:
        return "Landlock turned off (umh_landlock_max_abi = 0)";
    default:
        return "landlock_create_ruleset(LANDLOCK_CREATE_RULESET_VERSION) failed";
    }
}

/* The kernel's ABI, or 0 with *err saying why. */
static int kernel_abi(int *err)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, (size_t)0, LANDLOCK_CREATE_RULESET_VERSION);
    *err = abi < 0 ? errno : 0;
    return abi < 0 ? 0 : (int)abi;
}

/* The kernel's ABI under the test cap; a cap of 0 reports errno 0 ("turned off"). */
static int capped_abi(int abi)
{
    return umh_landlock_max_abi >= 0 && abi > umh_landlock_max_abi ? umh_landlock_max_abi : abi;
}

int umh_landlock_abi(void)
{
    int err;
    int abi = capped_abi(kernel_abi(&err));
    errno = abi == 0 && err == 0 ? ENOSYS : err; /* capped to 0: look absent */
    return abi;
}

/* Every file system right this ABI knows: what the ruleset handles, so that what no rule
 * allows is denied (rust-landlock's AccessFs::from_all). */
static uint64_t fs_rights_of(int abi)
{
    uint64_t rights = 0;
    if (abi >= 1)
        rights = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
    if (abi >= 2)
        rights |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return rights;
}

static uint64_t net_rights_of(int abi, int network)
{
    return abi >= 4 && !network ? LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP : 0;
}

static uint64_t scopes_of(int abi, unsigned scopes)
{
    return abi >= 6 ? scopes & ALL_SCOPES : 0;
}

static void set_status(struct umh_landlock_status *s, int level, const char *reason)
{
    s->level = level;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
}

/* Below the ABI that brought a right: "Landlock ABI 3 < 4: TCP not restricted" */
static void set_too_old(struct umh_landlock_status *s, int level, int abi, int needed, const char *what)
{
    s->level = level;
    snprintf(s->reason, sizeof s->reason, "Landlock ABI %d < %d: %s", abi, needed, what);
}

/* One layer that needs ABI `needed`: FULL from there, NOT below it, UNASKED if not asked. */
static void report_layer(struct umh_landlock_report *rep, int layer, int asked, int needed, const char *what)
{
    struct umh_landlock_status *s = &rep->layer[layer];
    if (!asked)
        set_status(s, UMH_LANDLOCK_UNASKED, "");
    else if (rep->abi >= needed)
        set_status(s, UMH_LANDLOCK_FULL, "");
    else
        set_too_old(s, UMH_LANDLOCK_NOT, rep->abi, needed, what);
}

/* The file system as a whole: FULL once every file system right of ABI 7 is handled (IOCTL_DEV,
 * ABI 5, was the last), PARTIAL with the gaps named below that. */
static void report_fs(struct umh_landlock_report *rep)
{
    struct umh_landlock_status *s = &rep->layer[UMH_LANDLOCK_FS];
    if (rep->abi >= 5)
        set_status(s, UMH_LANDLOCK_FULL, "");
    else
        set_too_old(s, UMH_LANDLOCK_PARTIAL, rep->abi, 5, rep->abi >= 3 ? "ioctl on devices not restricted"
                    : "truncate and ioctl on devices not restricted");
}

/* Every asked layer NOT, with why: there is no Landlock at all. */
static void report_absent(struct umh_landlock_report *rep)
{
    const char *why = umh_landlock_absent_reason(rep->kernel_abi == 0 ? rep->abi_errno : 0);
    for (int i = 0; i < UMH_LANDLOCK_LAYERS; i++)
        if (rep->layer[i].level != UMH_LANDLOCK_UNASKED)
            set_status(&rep->layer[i], UMH_LANDLOCK_NOT, why);
}

static void fill_report(const struct umh_landlock_spec *spec, struct umh_landlock_report *rep)
{
    report_fs(rep);
    report_layer(rep, UMH_LANDLOCK_TCP, !spec->network, 4, "TCP not restricted");
    report_layer(rep, UMH_LANDLOCK_SCOPE_UNIX, (spec->scopes & UMH_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET) != 0,
                 6, "abstract unix sockets not scoped");
    report_layer(rep, UMH_LANDLOCK_SCOPE_SIG, (spec->scopes & UMH_LANDLOCK_SCOPE_SIGNAL) != 0, 6,
                 "signals not scoped");
    report_layer(rep, UMH_LANDLOCK_IOCTL_DEV, 1, 5, "ioctl on devices not restricted");
    report_layer(rep, UMH_LANDLOCK_TRUNCATE, 1, 3, "truncate not restricted");
    report_layer(rep, UMH_LANDLOCK_REFER, 1, 2, "");
    if (rep->abi == 1) /* more than asked: ABI 1 denies every reparenting, in read_write too */
        set_too_old(&rep->layer[UMH_LANDLOCK_REFER], UMH_LANDLOCK_FULL, 1, 2,
                    "rename and link across directories always denied, in read_write too");
    if (rep->abi == 0)
        report_absent(rep);
}

/* A path not absolute: refused before anything is opened, rather than resolved against the
 * JVM's working directory. */
static int check_paths(const char *const *paths, struct umh_landlock_report *rep)
{
    for (; paths != NULL && *paths != NULL; paths++)
        if ((*paths)[0] != '/') {
            rep->bad_path = *paths;
            return UMH_FAIL(UMH_LANDLOCK_SPEC, EINVAL);
        }
    return 0;
}

static int check_spec(const struct umh_landlock_spec *spec, struct umh_landlock_report *rep)
{
    if ((spec->scopes & ~(unsigned)ALL_SCOPES) != 0)
        return UMH_FAIL(UMH_LANDLOCK_SPEC, EINVAL);
    int rc = check_paths(spec->read_only, rep);
    return rc < 0 ? rc : check_paths(spec->read_write, rep);
}

static int create_ruleset(const struct umh_landlock_report *rep)
{
    struct umh_ruleset_attr attr = {
        .handled_access_fs = rep->handled_fs, .handled_access_net = rep->handled_net, .scoped = rep->scoped,
    };
    /* landlock_create_ruleset's fd is always close-on-exec */
    long fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0U);
    return fd < 0 ? UMH_FAIL(UMH_LANDLOCK_CREATE_RULESET, errno) : (int)fd;
}

/* 1 if fd is a directory, 0 if not, or UMH_FAIL. The raw statx: glibc's fstat and fstatat are
 * GLIBC_2.33 symbols, above the shim's floor (check_hardening.sh), and every kernel with
 * Landlock (5.13) has statx (4.11). */
static int is_dir(int fd)
{
    struct statx stx;
    if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_TYPE, &stx) < 0)
        return UMH_FAIL(UMH_LANDLOCK_STATX, errno);
    return S_ISDIR(stx.stx_mode);
}

/* One path's rule: rights cut to what the ruleset handles, and to file rights on a file. */
static int add_path_rule(int ruleset, const char *path, uint64_t rights, struct umh_landlock_report *rep)
{
    int rc = 0;
    struct umh_path_beneath_attr attr = { .allowed_access = rights & rep->handled_fs, .parent_fd = -1 };
    attr.parent_fd = open(path, O_PATH | O_CLOEXEC);
    if (attr.parent_fd < 0)
        rc = UMH_FAIL(UMH_LANDLOCK_OPEN_PATH, errno);
    else if ((rc = is_dir(attr.parent_fd)) >= 0) {
        if (rc == 0)
            attr.allowed_access &= FS_FILE_RIGHTS;
        rc = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0U) < 0
             ? UMH_FAIL(UMH_LANDLOCK_ADD_RULE, errno) : 0;
    }
    if (attr.parent_fd >= 0)
        close(attr.parent_fd);
    if (rc < 0)
        rep->bad_path = path;
    return rc;
}

static int add_path_rules(int ruleset, const char *const *paths, uint64_t rights, struct umh_landlock_report *rep)
{
    for (; paths != NULL && *paths != NULL; paths++) {
        int rc = add_path_rule(ruleset, *paths, rights, rep);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int umh_landlock_prepare(const struct umh_landlock_spec *spec, struct umh_landlock_report *rep)
{
    memset(rep, 0, sizeof *rep);
    int rc = check_spec(spec, rep);
    if (rc < 0)
        return rc;
    rep->kernel_abi = kernel_abi(&rep->abi_errno);
    rep->abi = capped_abi(rep->kernel_abi);
    rep->handled_fs = fs_rights_of(rep->abi);
    rep->handled_net = net_rights_of(rep->abi, spec->network);
    rep->scoped = scopes_of(rep->abi, spec->scopes);
    fill_report(spec, rep);
    if (rep->abi == 0)
        return UMH_FAIL(UMH_LANDLOCK_ABI, rep->abi_errno != 0 ? rep->abi_errno : ENOSYS);
    int ruleset = create_ruleset(rep);
    if (ruleset < 0)
        return ruleset;
    rc = add_path_rules(ruleset, spec->read_only, FS_READ_ONLY, rep);
    if (rc == 0)
        rc = add_path_rules(ruleset, spec->read_write, FS_READ_WRITE, rep);
    if (rc < 0) {
        close(ruleset);
        return rc;
    }
    return ruleset;
}

char *umh_landlock_describe(const struct umh_landlock_report *rep, char *buf, size_t len)
{
    size_t used = 0;
    if (len > 0)
        buf[0] = '\0';
    for (int i = 0; i < UMH_LANDLOCK_LAYERS && used < len; i++) {
        const struct umh_landlock_status *s = &rep->layer[i];
        int n = snprintf(buf + used, len - used, s->reason[0] ? "%s: %s (%s)\n" : "%s: %s\n",
                         umh_landlock_layer_name(i), umh_landlock_level_name(s->level), s->reason);
        used += n > 0 ? (size_t)n : 0;
    }
    return buf;
}
