/*
 * Loading a blob: an anonymous, sealed, executable memfd. The bytes never touch a file system.
 *
 * The pages are allocated with fallocate before they are mapped, so running out of memory is an
 * ENOMEM/ENOSPC from a system call, never a SIGBUS in the JVM while copying.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
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

static int memfd_create_exec(void)
{
    static const char name[] = "umh-blob";
    int fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* before 6.3 the kernel does not know MFD_EXEC */
        fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    return fd < 0 ? UMH_FAIL(UMH_MEMFD_CREATE, errno) : fd;
}

static int allocate(int fd, size_t size)
{
    int rc;
    do {
        rc = fallocate(fd, 0, 0, (off_t)size);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? UMH_FAIL(UMH_FALLOCATE, errno) : 0;
}

int umh_memfd_open(size_t size, void **map)
{
    int fd = memfd_create_exec();
    if (fd < 0)
        return fd;
    int rc = allocate(fd, size);
    if (rc == 0) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            *map = p;
            return fd;
        }
        rc = UMH_FAIL(UMH_MMAP, errno);
    }
    close(fd);
    return rc;
}

int umh_memfd_seal(int fd, void *map, size_t size)
{
    /* a writable shared mapping would make F_SEAL_WRITE fail with EBUSY: unmap first */
    munmap(map, size);
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        return UMH_FAIL(UMH_ADD_SEALS, errno);
    return 0;
}

int umh_memfd_load(const void *data, size_t size)
{
    void *map = NULL;
    int fd = umh_memfd_open(size, &map);
    if (fd < 0)
        return fd;
    memcpy(map, data, size);
    int rc = umh_memfd_seal(fd, map, size);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}
