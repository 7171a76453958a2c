/*
 * Loading a blob: an anonymous, sealed, executable memfd. The bytes never touch a file system.
 *
 * The bytes go in with plain write()s: running out of memory is an ENOMEM/ENOSPC from a system
 * call (never a SIGBUS, as a shared mapping could give), and on this VM write() was 5-10x faster
 * than fallocate + mmap + memcpy (1 MiB: 0.36 ms against 4.0 ms; see native/bench). A file goes
 * in by a copy inside the kernel (umh_memfd_copy): its bytes never pass through user memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "umh.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: ask for an executable memfd even under vm.memfd_noexec=1 */
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010 /* Linux 5.1 */
#endif

/* name: what /proc/PID/exe, comm and ps show (Java checks it: 1 to UMH_MEMFD_NAME_MAX bytes, no '/') */
int umh_memfd_create(const char *name)
{
    int fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* before 6.3 the kernel does not know MFD_EXEC */
        fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    return fd < 0 ? UMH_FAIL(UMH_MEMFD_CREATE, errno) : fd;
}

int umh_memfd_write(int fd, const void *data, size_t size)
{
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return UMH_FAIL(UMH_WRITE, errno);
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

/*
 * No more writes, no resize, no more seals. F_SEAL_FUTURE_WRITE forbids write(), truncation and
 * new writable shared mappings from now on, like F_SEAL_WRITE, but does not wait for the kernel's
 * own transient references to the new pages to drop: F_SEAL_WRITE scans every page and sleeps
 * up to ~150 ms (10, 20, 40, 80 ms) while reclaim, DAMON or migration holds one, then fails with
 * EBUSY -- seen here once in a few thousand loads. The difference, writes through a writable
 * shared mapping made before the seal, cannot happen: nobody maps this memfd. Before 5.1 the
 * kernel answers EINVAL and we fall back to F_SEAL_WRITE.
 */
int umh_memfd_seal(int fd)
{
    const int keep = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    int rc = fcntl(fd, F_ADD_SEALS, keep | F_SEAL_FUTURE_WRITE);
    if (rc < 0 && errno == EINVAL)
        rc = fcntl(fd, F_ADD_SEALS, keep | F_SEAL_WRITE);
    return rc < 0 ? UMH_FAIL(UMH_ADD_SEALS, errno) : 0;
}

int umh_memfd_load(const void *data, size_t size)
{
    int fd = umh_memfd_create(UMH_MEMFD_DEFAULT_NAME);
    if (fd < 0)
        return fd;
    int rc = umh_memfd_write(fd, data, size);
    if (rc == 0)
        rc = umh_memfd_seal(fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* A kernel-side copy that is not possible for this pair of files, or on this kernel: try the next way */
static int cannot(int err)
{
    return err == EXDEV || err == EINVAL || err == ENOSYS || err == EOPNOTSUPP || err == EPERM;
}

/*
 * Each way below copies src, from its offset, to the end of memfd until read says EOF (1), or
 * returns 0 when it cannot copy this pair at all (Linux before 4.5 has no copy_file_range; since
 * 5.19 it copies only between file systems of one type, so from ext4 or overlayfs into the memfd's
 * tmpfs it answers EXDEV), or UMH_FAIL. Both fds' offsets move with what was copied, so the next
 * way goes on where one stopped. *copied counts the bytes.
 */
static int copy_range(int memfd, int src, long long *copied)
{
    for (;;) {
        ssize_t n = syscall(SYS_copy_file_range, src, NULL, memfd, NULL, (size_t)1 << 30, 0u);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cannot(errno) ? 0 : UMH_FAIL(UMH_COPY_FILE_RANGE, errno);
        if (n == 0)
            return 1;
        *copied += n;
    }
}

static int copy_sendfile(int memfd, int src, long long *copied)
{
    for (;;) {
        ssize_t n = sendfile(memfd, src, NULL, (size_t)1 << 30);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cannot(errno) ? 0 : UMH_FAIL(UMH_SENDFILE, errno);
        if (n == 0)
            return 1;
        *copied += n;
    }
}

/* read and write: any file that can be read (a pipe, a /proc file); never 0 */
static int copy_read(int memfd, int src, long long *copied)
{
    char buf[16 * 1024];
    for (;;) {
        ssize_t n = read(src, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return UMH_FAIL(UMH_READ, errno); /* a directory: EISDIR */
        if (n == 0)
            return 1;
        int rc = umh_memfd_write(memfd, buf, (size_t)n);
        if (rc < 0)
            return rc;
        *copied += n;
    }
}

/*
 * Only a regular file with a size is copied in the kernel: /proc files say 0 bytes and /sys ones
 * 4096 whatever they hold, and a kernel copy of such a file can stop short. An end that comes before
 * st_size (a file truncated meanwhile, or such a copy) is confirmed by the next way, down to read().
 * The raw statx, as in umh_landlock.c: glibc's fstat is a GLIBC_2.33 symbol, above the shim's floor
 * (check_hardening.sh); before Linux 4.11, which has no statx, every file is read and written.
 */
long long umh_memfd_copy(int memfd, int src)
{
    struct statx stx;
    int regular = 0;
    if (syscall(SYS_statx, src, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, &stx) == 0)
        regular = S_ISREG(stx.stx_mode) && stx.stx_size > 0;
    else if (errno != ENOSYS)
        return UMH_FAIL(UMH_STATX, errno);
    long long size = regular ? (long long)stx.stx_size : 0, copied = 0;
    int rc = 0;
    if (regular) {
        rc = copy_range(memfd, src, &copied);
        if (rc == 0 || (rc == 1 && copied < size))
            rc = copy_sendfile(memfd, src, &copied);
    }
    if (rc == 0 || (rc == 1 && copied < size))
        rc = copy_read(memfd, src, &copied);
    return rc < 0 ? rc : copied;
}

int umh_memfd_is_script(int fd)
{
    char head[2];
    ssize_t n;
    while ((n = pread(fd, head, sizeof head, 0)) < 0 && errno == EINTR)
        ;
    return n == 2 && head[0] == '#' && head[1] == '!';
}

int umh_memfd_load_file(const char *path, const char *name, long long *size)
{
    int src = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (src < 0)
        return UMH_FAIL(UMH_OPEN, errno);
    int fd = umh_memfd_create(name);
    long long n = fd < 0 ? fd : umh_memfd_copy(fd, src);
    close(src);
    int rc = n < 0 ? (int)n : umh_memfd_seal(fd);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    *size = n;
    return fd;
}
