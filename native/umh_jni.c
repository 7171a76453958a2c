/*
 * JNI glue for io.umh.Native: copies Java arrays into C memory and calls the plain-C core.
 * C never throws: every native returns a value or a UMH_FAIL code, and Java builds the exception
 * in one place (Native.check). The only Java objects made here are FileDescriptors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jni.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "io_umh_Native.h"
#include "umh.h"

#define JNI_EXPORT __attribute__((visibility("default")))
/* a blob goes into its memfd straight from the Java array, WRITE_SLICE bytes per critical
 * section, so the GC waits for at most one such write() (~25 us), whatever the blob's size */
#define WRITE_SLICE (256 * 1024)

static jclass fd_class;
static jmethodID fd_init;
static jfieldID fd_field;

JNI_EXPORT jint JNI_OnLoad(JavaVM *vm, void *reserved)
{
    (void)reserved;
    JNIEnv *env;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
        return JNI_ERR;
    jclass local = (*env)->FindClass(env, "java/io/FileDescriptor");
    if (local == NULL)
        return JNI_ERR;
    fd_class = (*env)->NewGlobalRef(env, local);
    (*env)->DeleteLocalRef(env, local);
    if (fd_class == NULL)
        return JNI_ERR;
    fd_init = (*env)->GetMethodID(env, fd_class, "<init>", "()V");
    /* FileDescriptor's private int field "fd": the same on every JDK since 1.0; nothing public
     * makes a FileDescriptor from a number. Every fork's streams are made here, so every test
     * that talks to a child through its pipes checks it (RoundTripTest, NativeLoaderTest's
     * second JVM among them), on each JDK .ci/run builds with (17, and 25 where installed). */
    fd_field = (*env)->GetFieldID(env, fd_class, "fd", "I");
    return fd_init != NULL && fd_field != NULL ? JNI_VERSION_1_8 : JNI_ERR;
}

JNIEXPORT jobject JNICALL Java_io_umh_Native_fileDescriptor(JNIEnv *env, jclass cls, jint fd)
{
    (void)cls;
    jobject obj = (*env)->NewObject(env, fd_class, fd_init);
    if (obj != NULL)
        (*env)->SetIntField(env, obj, fd_field, fd);
    return obj;
}

/*
 * Writes blob[off, off + n) to fd from the array itself: no copy into a native buffer (that copy
 * was ~35 us of a 760 KB load). Between Get and Release no JNI call is made and nothing waits
 * for a Java thread: write() to a memfd only copies into page cache.
 */
static int write_slice(JNIEnv *env, jbyteArray blob, int fd, jsize off, jsize n)
{
    jbyte *bytes = (*env)->GetPrimitiveArrayCritical(env, blob, NULL);
    if (bytes == NULL)
        return UMH_FAIL(UMH_GET_CRITICAL, ENOMEM); /* an OutOfMemoryError is pending too */
    int rc = umh_memfd_write(fd, bytes + off, (size_t)n);
    (*env)->ReleasePrimitiveArrayCritical(env, blob, bytes, JNI_ABORT);
    return rc;
}

JNIEXPORT jint JNICALL Java_io_umh_Native_load(JNIEnv *env, jclass cls, jbyteArray blob)
{
    (void)cls;
    jsize size = (*env)->GetArrayLength(env, blob);
    int fd = umh_memfd_create();
    int rc = fd < 0 ? fd : 0;
    for (jsize off = 0; rc == 0 && off < size; off += WRITE_SLICE)
        rc = write_slice(env, blob, fd, off, size - off < WRITE_SLICE ? size - off : WRITE_SLICE);
    if (rc == 0)
        rc = umh_memfd_seal(fd);
    if (rc < 0) {
        if (fd >= 0)
            umh_close(fd);
        return rc;
    }
    return fd;
}

/* Point ptrs[0..count-1] at the count NUL-terminated strings packed in block; ptrs[count] = NULL. */
static void split_block(char *block, jint count, char **ptrs)
{
    for (jint i = 0; i < count; i++) {
        ptrs[i] = block;
        block += strlen(block) + 1;
    }
    ptrs[count] = NULL;
}

/* One allocation for everything the child reads: argv and envp (pointers, then bytes) and dir. */
struct spawn_memory {
    char **argv;
    char **envp;
    char *dir;
};

static void *copy_spawn_memory(JNIEnv *env, jbyteArray argv, jint argc, jbyteArray envp, jint envc,
                               jbyteArray dir, struct spawn_memory *m)
{
    jsize alen = (*env)->GetArrayLength(env, argv);
    jsize elen = (*env)->GetArrayLength(env, envp);
    jsize dlen = dir == NULL ? 0 : (*env)->GetArrayLength(env, dir);
    size_t ptrs = ((size_t)argc + 1 + (size_t)envc + 1) * sizeof(char *);
    char *mem = malloc(ptrs + (size_t)alen + (size_t)elen + (size_t)dlen);
    if (mem == NULL)
        return NULL;
    m->argv = (char **)mem;
    m->envp = m->argv + argc + 1;
    char *bytes = mem + ptrs;
    (*env)->GetByteArrayRegion(env, argv, 0, alen, (jbyte *)bytes);
    (*env)->GetByteArrayRegion(env, envp, 0, elen, (jbyte *)bytes + alen);
    split_block(bytes, argc, m->argv);
    split_block(bytes + alen, envc, m->envp);
    m->dir = NULL;
    if (dir != NULL) {
        m->dir = bytes + alen + elen;
        (*env)->GetByteArrayRegion(env, dir, 0, dlen, (jbyte *)m->dir);
    }
    return mem;
}

/* ids: { uid, gid, umask, pipe size }; rlimits: { resource, soft, hard }... (at most 16 limits) */
static int copy_identity(JNIEnv *env, jintArray ids, jlongArray rlimits, struct umh_spawn_req *req,
                         struct umh_rlimit *lims)
{
    jint id[4];
    jlong l[16 * 3];
    (*env)->GetIntArrayRegion(env, ids, 0, 4, id);
    req->uid = (unsigned)id[0];
    req->gid = (unsigned)id[1];
    req->umask = (unsigned)id[2];
    req->pipe_size = id[3];
    jsize n = (*env)->GetArrayLength(env, rlimits);
    if (n > 16 * 3)
        return UMH_FAIL(UMH_CHILD_SETRLIMIT, EINVAL);
    (*env)->GetLongArrayRegion(env, rlimits, 0, n, l);
    for (jsize i = 0; i < n / 3; i++) {
        lims[i].resource = (int)l[3 * i];
        lims[i].soft = (unsigned long long)l[3 * i + 1]; /* -1: RLIM_INFINITY */
        lims[i].hard = (unsigned long long)l[3 * i + 2];
    }
    req->rlimits = lims;
    req->nrlimits = (int)(n / 3);
    return 0;
}

/* out: { stdin_w, stdout_r, stderr_r, pid, pidfd } */
JNIEXPORT jint JNICALL Java_io_umh_Native_spawn(JNIEnv *env, jclass cls, jint memfd, jint flags,
                                                jbyteArray argv, jint argc, jbyteArray envp, jint envc,
                                                jbyteArray dir, jint err_fd, jintArray ids,
                                                jlongArray rlimits, jintArray out)
{
    (void)cls;
    struct umh_rlimit lims[16];
    struct umh_spawn_req req = { .memfd = memfd, .flags = flags, .err_fd = err_fd };
    int rc = copy_identity(env, ids, rlimits, &req, lims);
    if (rc < 0)
        return rc;
    struct spawn_memory m;
    void *mem = copy_spawn_memory(env, argv, argc, envp, envc, dir, &m);
    if (mem == NULL)
        return UMH_FAIL(UMH_MALLOC, ENOMEM);
    req.argv = m.argv;
    req.envp = m.envp;
    req.dir = m.dir;
    struct umh_spawn_res res;
    rc = umh_spawn(&req, &res);
    free(mem);
    if (rc == 0) {
        jint vals[5] = { res.stdin_w, res.stdout_r, res.stderr_r, res.pid, res.pidfd };
        (*env)->SetIntArrayRegion(env, out, 0, 5, vals);
    }
    return rc;
}

JNIEXPORT void JNICALL Java_io_umh_Native_serveSpawns(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    umh_spawner_serve();
}

JNIEXPORT jint JNICALL Java_io_umh_Native_openOutput(JNIEnv *env, jclass cls, jbyteArray path, jboolean append)
{
    (void)cls;
    char buf[4096];
    jsize len = (*env)->GetArrayLength(env, path); /* NUL-terminated by Java */
    if (len > (jsize)sizeof buf)
        return UMH_FAIL(UMH_OPEN, ENAMETOOLONG);
    (*env)->GetByteArrayRegion(env, path, 0, len, (jbyte *)buf);
    return umh_open_output(buf, append);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_reap(JNIEnv *env, jclass cls, jint pidfd, jint pid, jboolean block)
{
    (void)env, (void)cls;
    return umh_reap(pidfd, pid, block);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_waitExited(JNIEnv *env, jclass cls, jint pid)
{
    (void)env, (void)cls;
    return umh_wait_exited(pid);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_signal(JNIEnv *env, jclass cls, jint pidfd, jint pid, jint sig)
{
    (void)env, (void)cls;
    return umh_signal(pidfd, pid, sig);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_dup(JNIEnv *env, jclass cls, jint fd)
{
    (void)env, (void)cls;
    return umh_dup(fd);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_pollIn(JNIEnv *env, jclass cls, jint fd, jint timeout_ms)
{
    (void)env, (void)cls;
    return umh_poll_in(fd, timeout_ms);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_epollCreate(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return umh_epoll_create();
}

JNIEXPORT jint JNICALL Java_io_umh_Native_epollCtl(JNIEnv *env, jclass cls, jint epfd, jboolean add, jint fd)
{
    (void)env, (void)cls;
    return umh_epoll_ctl(epfd, add, fd);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_epollWait(JNIEnv *env, jclass cls, jint epfd, jintArray fds)
{
    (void)cls;
    jint buf[64];
    jsize max = (*env)->GetArrayLength(env, fds);
    int n = umh_epoll_wait(epfd, buf, max < 64 ? max : 64);
    if (n > 0)
        (*env)->SetIntArrayRegion(env, fds, 0, n, buf);
    return n;
}

JNIEXPORT jint JNICALL Java_io_umh_Native_close(JNIEnv *env, jclass cls, jint fd)
{
    (void)env, (void)cls;
    return umh_close(fd);
}

JNIEXPORT jstring JNICALL Java_io_umh_Native_describe(JNIEnv *env, jclass cls, jint code)
{
    (void)cls;
    char buf[256];
    return (*env)->NewStringUTF(env, umh_describe(code, buf, sizeof buf));
}

JNIEXPORT jstring JNICALL Java_io_umh_Native_stepName(JNIEnv *env, jclass cls, jint code)
{
    (void)cls;
    return (*env)->NewStringUTF(env, umh_step_name(UMH_FAIL_STEP(code)));
}

JNIEXPORT void JNICALL Java_io_umh_Native_forceFallbacks(JNIEnv *env, jclass cls, jint bits)
{
    (void)env, (void)cls;
    umh_fallbacks |= bits;
}

JNIEXPORT jint JNICALL Java_io_umh_Native_missingFeatures(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return umh_missing_features();
}

/* This JVM's own dumpable flag (PR_GET_DUMPABLE): for the test that no fork changes it. */
JNIEXPORT jint JNICALL Java_io_umh_Native_dumpable(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_rlimitNumber(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    const char *s = (*env)->GetStringUTFChars(env, name, NULL);
    if (s == NULL)
        return -1;
    int n = umh_rlimit_number(s);
    (*env)->ReleaseStringUTFChars(env, name, s);
    return n;
}

/* Values Java must agree on with C, fetched once at load:
 * { SIGTERM, SIGKILL, UMH_RUNNING, UMH_NO_PIDFD, UMH_SPAWN_SCRIPT, UMH_SPAWN_PDEATHSIG,
 *   UMH_SPAWN_NO_NEW_PRIVS, UMH_SPAWN_SETSID, UMH_SPAWN_UMASK, UMH_SPAWN_USER,
 *   UMH_NO_CLOSE_RANGE, UMH_NO_EXECVEAT } */
JNIEXPORT jintArray JNICALL Java_io_umh_Native_constants(JNIEnv *env, jclass cls)
{
    (void)cls;
    jint vals[] = { SIGTERM, SIGKILL, UMH_RUNNING, UMH_NO_PIDFD, UMH_SPAWN_SCRIPT, UMH_SPAWN_PDEATHSIG,
                    UMH_SPAWN_NO_NEW_PRIVS, UMH_SPAWN_SETSID, UMH_SPAWN_UMASK, UMH_SPAWN_USER,
                    UMH_NO_CLOSE_RANGE, UMH_NO_EXECVEAT };
    jsize n = (jsize)(sizeof vals / sizeof vals[0]);
    jintArray arr = (*env)->NewIntArray(env, n);
    if (arr != NULL)
        (*env)->SetIntArrayRegion(env, arr, 0, n, vals);
    return arr;
}
