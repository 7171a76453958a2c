/*
 * The C floor's spawn, called from the benchmark JVM (JMH's SpawnBench.jniFloor): pipe2 x2, vfork,
 * dup2 onto 0/1, execveat of a sealed memfd, waitpid -- the same calls as umh-floor's
 * spawn_wait_loaded, run by a JVM thread. Set beside umh's figure it splits the gap to the C floor
 * into what the JVM process costs any spawn and what umh's path adds. Benchmarks only: not shipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jni.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umh_floor_spawn.h"


JNIEXPORT jint JNICALL Java_io_umh_bench_JniFloor_load(JNIEnv *env, jclass cls, jbyteArray blob);
JNIEXPORT jint JNICALL Java_io_umh_bench_JniFloor_spawnWait(JNIEnv *env, jclass cls, jint memfd);
JNIEXPORT jint JNICALL Java_io_umh_bench_JniFloor_close(JNIEnv *env, jclass cls, jint fd);

static char *const child_argv[] = { "umh", NULL };
static char *const child_envp[] = { NULL };

/* A sealed memfd holding blob, or -errno. */
JNIEXPORT jint JNICALL Java_io_umh_bench_JniFloor_load(JNIEnv *env, jclass cls, jbyteArray blob)
{
    (void)cls;
    jsize size = (*env)->GetArrayLength(env, blob);
    int fd = memfd_create("jni-floor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    jbyte *bytes = (*env)->GetPrimitiveArrayCritical(env, blob, NULL);
    jsize off = 0;
    while (bytes != NULL && off < size) {
        ssize_t n = write(fd, bytes + off, (size_t)(size - off));
        if (n < 0)
            break;
        off += (jsize)n;
    }
    int err = errno;
    if (bytes != NULL)
        (*env)->ReleasePrimitiveArrayCritical(env, blob, bytes, JNI_ABORT);
    if (off < size || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0) {
        err = off < size ? err : errno;
        close(fd);
        return -err;
    }
    return fd;
}

/* Spawn the memfd with pipes on 0 and 1, close them, wait: the exit status, or -errno. */
JNIEXPORT jint JNICALL Java_io_umh_bench_JniFloor_spawnWait(JNIEnv *env, jclass cls, jint memfd)
{
    (void)env;
    (void)cls;
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(out, O_CLOEXEC) < 0) {
        int err = errno;
        close(in[0]);
        close(in[1]);
        return -err;
    }
    pid_t pid = floor_vfork_exec(memfd, in[0], out[1], child_argv, child_envp);
    int err = errno;
    close(in[0]);
    close(out[1]);
    close(in[1]);
    close(out[0]);
    int status;
    if (pid < 0)
        return -err;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return status;
}

JNIEXPORT jint JNICALL Java_io_umh_bench_JniFloor_close(JNIEnv *env, jclass cls, jint fd)
{
    (void)env;
    (void)cls;
    return close(fd) < 0 ? -errno : 0;
}
