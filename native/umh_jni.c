/*
 * JNI glue for io.umh.Native: copies Java arrays into C memory and calls the plain-C core.
 * C never throws: every native returns a value or a UMH_FAIL code, and Java builds the exception
 * in one place (Native.error). The only Java objects made here are FileDescriptors. Every
 * native is a private method of io.umh.Native named with a trailing 0 (its checked wrapper has
 * the name without).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jni.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h> /* environ */

#include "io_umh_Abi.h"
#include "io_umh_Native.h"
#include "umh.h"
#include "umh_landlock.h"
#include "umh_seccomp.h"

/* The numbers io.umh.Abi declares (javac -h writes them as io_umh_Abi_*), checked here against
 * umh.h and the kernel's headers: a renumbering on either side stops the build. */
#define ABI(name) io_umh_Abi_##name
/* ## directly, not through ABI(): the Java names are often C macros too (SIGTERM), which must not expand */
#define SAME(java, c) _Static_assert(io_umh_Abi_##java == (c), "io.umh.Abi." #java " != " #c)
SAME(SIGTERM, SIGTERM);
SAME(SIGKILL, SIGKILL);
SAME(EPERM, EPERM);
SAME(EACCES, EACCES);
SAME(EEXIST, EEXIST);
SAME(SIGHUP, SIGHUP);
SAME(SIGINT, SIGINT);
SAME(SIGQUIT, SIGQUIT);
SAME(SIGUSR1, SIGUSR1);
SAME(SIGUSR2, SIGUSR2);
SAME(SIGPIPE, SIGPIPE);
SAME(SIGALRM, SIGALRM);
SAME(SIGCONT, SIGCONT);
SAME(SIGSTOP, SIGSTOP);
SAME(SIGTSTP, SIGTSTP);
SAME(SIGWINCH, SIGWINCH);
SAME(SIGMAX, _NSIG - 1);
SAME(RUNNING, UMH_RUNNING);
SAME(SPAWNERS_MAX, UMH_SPAWNERS_MAX);
SAME(SPAWN_SCRIPT, UMH_SPAWN_SCRIPT);
SAME(SPAWN_PDEATHSIG, UMH_SPAWN_PDEATHSIG);
SAME(SPAWN_NO_NEW_PRIVS, UMH_SPAWN_NO_NEW_PRIVS);
SAME(SPAWN_SETSID, UMH_SPAWN_SETSID);
SAME(SPAWN_UMASK, UMH_SPAWN_UMASK);
SAME(SPAWN_USER, UMH_SPAWN_USER);
SAME(NO_CLOSE_RANGE, UMH_NO_CLOSE_RANGE);
SAME(NO_EXECVEAT, UMH_NO_EXECVEAT);
SAME(NO_PIDFD, UMH_NO_PIDFD);
SAME(NO_CLONE3, UMH_NO_CLONE3);
SAME(RLIMIT_CPU, RLIMIT_CPU);
SAME(RLIMIT_FSIZE, RLIMIT_FSIZE);
SAME(RLIMIT_DATA, RLIMIT_DATA);
SAME(RLIMIT_STACK, RLIMIT_STACK);
SAME(RLIMIT_CORE, RLIMIT_CORE);
SAME(RLIMIT_NPROC, RLIMIT_NPROC);
SAME(RLIMIT_NOFILE, RLIMIT_NOFILE);
SAME(RLIMIT_MEMLOCK, RLIMIT_MEMLOCK);
SAME(RLIMIT_AS, RLIMIT_AS);
SAME(STEP_NONE, UMH_STEP_NONE);
SAME(STEP_MEMFD_CREATE, UMH_MEMFD_CREATE);
SAME(STEP_WRITE, UMH_WRITE);
SAME(STEP_ADD_SEALS, UMH_ADD_SEALS);
SAME(STEP_PIPE2, UMH_PIPE2);
SAME(STEP_CLONE, UMH_CLONE);
SAME(STEP_PIDFD_OPEN, UMH_PIDFD_OPEN);
SAME(STEP_MALLOC, UMH_MALLOC);
SAME(STEP_CHILD_SIGACTION, UMH_CHILD_SIGACTION);
SAME(STEP_CHILD_PDEATHSIG, UMH_CHILD_PDEATHSIG);
SAME(STEP_CHILD_MOVE_FD, UMH_CHILD_MOVE_FD);
SAME(STEP_CHILD_DUP3, UMH_CHILD_DUP3);
SAME(STEP_CHILD_SETSID, UMH_CHILD_SETSID);
SAME(STEP_CHILD_SETRLIMIT, UMH_CHILD_SETRLIMIT);
SAME(STEP_CHILD_SETGROUPS, UMH_CHILD_SETGROUPS);
SAME(STEP_CHILD_SETGID, UMH_CHILD_SETGID);
SAME(STEP_CHILD_SETUID, UMH_CHILD_SETUID);
SAME(STEP_CHILD_NO_NEW_PRIVS, UMH_CHILD_NO_NEW_PRIVS);
SAME(STEP_CHILD_CLOSE_FDS, UMH_CHILD_CLOSE_FDS);
SAME(STEP_CHILD_CLEAR_CLOEXEC, UMH_CHILD_CLEAR_CLOEXEC);
SAME(STEP_CHILD_CHDIR, UMH_CHILD_CHDIR);
SAME(STEP_CHILD_EXECVEAT, UMH_CHILD_EXECVEAT);
SAME(STEP_OPEN, UMH_OPEN);
SAME(STEP_WAITID, UMH_WAITID);
SAME(STEP_EPOLL_CREATE, UMH_EPOLL_CREATE);
SAME(STEP_EPOLL_CTL, UMH_EPOLL_CTL);
SAME(STEP_EPOLL_WAIT, UMH_EPOLL_WAIT);
SAME(STEP_SIGNAL, UMH_SIGNAL);
SAME(STEP_CLOSE, UMH_CLOSE);
SAME(STEP_SETPIPE_SZ, UMH_SETPIPE_SZ);
SAME(STEP_DUP, UMH_DUP);
SAME(STEP_POLL, UMH_POLL);
SAME(STEP_CLONE3, UMH_CLONE3);
SAME(STEP_CHILD_SIGPROCMASK, UMH_CHILD_SIGPROCMASK);
SAME(STEP_CHILD_EXECVE, UMH_CHILD_EXECVE);
SAME(STEP_KILL, UMH_KILL);
SAME(STEP_GET_CRITICAL, UMH_GET_CRITICAL);
SAME(STEP_CHILD_SETGROUPS_DENY, UMH_CHILD_SETGROUPS_DENY);
SAME(STEP_CHILD_UID_MAP, UMH_CHILD_UID_MAP);
SAME(STEP_CHILD_GID_MAP, UMH_CHILD_GID_MAP);
SAME(STEP_CHILD_MOUNT_PRIVATE, UMH_CHILD_MOUNT_PRIVATE);
SAME(STEP_CHILD_MOUNT_TMPFS, UMH_CHILD_MOUNT_TMPFS);
SAME(STEP_CHILD_MKDIR, UMH_CHILD_MKDIR);
SAME(STEP_CHILD_MOUNT_TARGET, UMH_CHILD_MOUNT_TARGET);
SAME(STEP_CHILD_MOUNT_BIND, UMH_CHILD_MOUNT_BIND);
SAME(STEP_CHILD_MOUNT_SETATTR, UMH_CHILD_MOUNT_SETATTR);
SAME(STEP_CHILD_PIVOT_ROOT, UMH_CHILD_PIVOT_ROOT);
SAME(STEP_CHILD_UMOUNT, UMH_CHILD_UMOUNT);
SAME(STEP_CHILD_SECUREBITS, UMH_CHILD_SECUREBITS);
SAME(STEP_CHILD_CAP_AMBIENT, UMH_CHILD_CAP_AMBIENT);
SAME(STEP_CHILD_LANDLOCK, UMH_CHILD_LANDLOCK);
SAME(STEP_CHILD_SECCOMP, UMH_CHILD_SECCOMP);
SAME(STEP_SANDBOX_OPEN, UMH_SANDBOX_OPEN);
SAME(STEP_LANDLOCK_ABI, UMH_LANDLOCK_ABI);
SAME(STEP_LANDLOCK_SPEC, UMH_LANDLOCK_SPEC);
SAME(STEP_LANDLOCK_CREATE_RULESET, UMH_LANDLOCK_CREATE_RULESET);
SAME(STEP_LANDLOCK_OPEN_PATH, UMH_LANDLOCK_OPEN_PATH);
SAME(STEP_LANDLOCK_STATX, UMH_LANDLOCK_STATX);
SAME(STEP_LANDLOCK_ADD_RULE, UMH_LANDLOCK_ADD_RULE);
SAME(STEP_SECCOMP_BUILD, UMH_SECCOMP_BUILD);
SAME(STEP_SECCOMP_GROUP, UMH_SECCOMP_GROUP);
SAME(STEP_SECCOMP_ACTION_AVAIL, UMH_SECCOMP_ACTION_AVAIL);
SAME(STEP_SECCOMP_NOTIF_SIZES, UMH_SECCOMP_NOTIF_SIZES);
SAME(STEP_SECCOMP_NOTIF_RECV, UMH_SECCOMP_NOTIF_RECV);
SAME(STEP_CHILD_SECCOMP_LISTENER, UMH_CHILD_SECCOMP_LISTENER);
SAME(STEP_SANDBOX_SOCKETPAIR, UMH_SANDBOX_SOCKETPAIR);
SAME(STEP_CHILD_SETNS, UMH_CHILD_SETNS);
SAME(STEP_SANDBOX_NAMESPACES, UMH_SANDBOX_NAMESPACES);
SAME(STEP_CGROUP_MKDIR, UMH_CGROUP_MKDIR);
SAME(STEP_STATX, UMH_STATX);
SAME(STEP_COPY_FILE_RANGE, UMH_COPY_FILE_RANGE);
SAME(STEP_SENDFILE, UMH_SENDFILE);
SAME(STEP_READ, UMH_READ);
SAME(STEP_EVENTFD, UMH_EVENTFD);
SAME(MEMFD_NAME_MAX, UMH_MEMFD_NAME_MAX);
SAME(STEP_COUNT, UMH_STEP_COUNT);
SAME(SPAWN_CGROUP, UMH_SPAWN_CGROUP);
SAME(STDIO_PIPE, UMH_STDIO_PIPE);
SAME(STDIO_INHERIT, UMH_STDIO_INHERIT);
SAME(STDIO_FD, UMH_STDIO_FD);
SAME(STDIO_AS_STDOUT, UMH_STDIO_AS_STDOUT);
SAME(FDS_PASSED, 3 * io_umh_Abi_FDS_FIELDS);
SAME(PASS_MAX, UMH_PASS_MAX);
SAME(OPEN_READ, UMH_OPEN_READ);
SAME(OPEN_TRUNCATE, UMH_OPEN_TRUNCATE);
SAME(OPEN_APPEND, UMH_OPEN_APPEND);
SAME(SBX_BIND_DIR, UMH_SBX_BIND_DIR);
SAME(SBX_BIND_WRITABLE, UMH_SBX_BIND_WRITABLE);
SAME(SBX_BIND_DEVICE, UMH_SBX_BIND_DEVICE);
SAME(SBX_MAX_BINDS, UMH_SBX_MAX_BINDS);
SAME(CLONE_NEWNS, CLONE_NEWNS);
SAME(CLONE_NEWUTS, CLONE_NEWUTS);
SAME(CLONE_NEWIPC, CLONE_NEWIPC);
SAME(CLONE_NEWUSER, CLONE_NEWUSER);
SAME(CLONE_NEWPID, CLONE_NEWPID);
SAME(CLONE_NEWNET, CLONE_NEWNET);
SAME(ENOENT, ENOENT);
SAME(E2BIG, E2BIG);
SAME(ENOEXEC, ENOEXEC);

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

JNIEXPORT jint JNICALL Java_io_umh_Native_fdNumber0(JNIEnv *env, jclass cls, jobject fd)
{
    (void)cls;
    return (*env)->GetIntField(env, fd, fd_field);
}

JNIEXPORT jobject JNICALL Java_io_umh_Native_fileDescriptor0(JNIEnv *env, jclass cls, jint fd)
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

/* A NUL-terminated Java byte[] into buf (max bytes with its NUL): 0, or UMH_FAIL(step, ENAMETOOLONG) */
static int copy_string(JNIEnv *env, jbyteArray bytes, char *buf, jsize max, int step)
{
    jsize len = (*env)->GetArrayLength(env, bytes);
    if (len > max || len == 0)
        return UMH_FAIL(step, ENAMETOOLONG);
    (*env)->GetByteArrayRegion(env, bytes, 0, len, (jbyte *)buf);
    buf[len - 1] = '\0';
    return 0;
}

static int create_named(JNIEnv *env, jbyteArray name)
{
    char buf[UMH_MEMFD_NAME_MAX + 1];
    int rc = copy_string(env, name, buf, sizeof buf, UMH_MEMFD_CREATE);
    return rc < 0 ? rc : umh_memfd_create(buf);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_memfdCreate0(JNIEnv *env, jclass cls, jbyteArray name)
{
    (void)cls;
    return create_named(env, name);
}

/* buf[off, off + len) onto the end of the memfd: one chunk of a streamed load */
JNIEXPORT jint JNICALL Java_io_umh_Native_memfdWrite0(JNIEnv *env, jclass cls, jint fd, jbyteArray buf, jint off,
                                                      jint len)
{
    (void)cls;
    return write_slice(env, buf, fd, off, len);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_memfdSeal0(JNIEnv *env, jclass cls, jint fd)
{
    (void)env, (void)cls;
    return umh_memfd_seal(fd);
}

/* out: laid out as io.umh.Abi's LOADED_* name them */
JNIEXPORT jint JNICALL Java_io_umh_Native_loadFile0(JNIEnv *env, jclass cls, jbyteArray path, jbyteArray name,
                                                    jlongArray out)
{
    (void)cls;
    char p[4096], n[UMH_MEMFD_NAME_MAX + 1];
    int rc = copy_string(env, path, p, sizeof p, UMH_OPEN);
    if (rc == 0)
        rc = copy_string(env, name, n, sizeof n, UMH_MEMFD_CREATE);
    if (rc < 0)
        return rc;
    long long size = 0;
    int fd = umh_memfd_load_file(p, n, &size);
    if (fd >= 0) {
        jlong o[ABI(LOADED_LENGTH)];
        o[ABI(LOADED_SIZE)] = size;
        o[ABI(LOADED_SCRIPT)] = umh_memfd_is_script(fd);
        (*env)->SetLongArrayRegion(env, out, 0, ABI(LOADED_LENGTH), o);
    }
    return fd;
}

JNIEXPORT jint JNICALL Java_io_umh_Native_load0(JNIEnv *env, jclass cls, jbyteArray blob, jbyteArray name)
{
    (void)cls;
    jsize size = (*env)->GetArrayLength(env, blob);
    int fd = create_named(env, name);
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

/*
 * One allocation for everything the child reads: argv and envp (pointers, then bytes) and dir.
 * A NULL envp is the JVM's own environment: the process's environ, read here as the JDK's
 * ProcessImpl passes it for a ProcessBuilder whose environment() was never asked for (what
 * System.getenv() shows, unless native code has called setenv since). The child only reads it.
 */
struct spawn_memory {
    char **argv;
    char **envp;
    char *dir;
};

static void *copy_spawn_memory(JNIEnv *env, jbyteArray argv, jint argc, jbyteArray envp, jint envc,
                               jbyteArray dir, struct spawn_memory *m)
{
    jsize alen = (*env)->GetArrayLength(env, argv);
    jsize elen = envp == NULL ? 0 : (*env)->GetArrayLength(env, envp);
    jsize dlen = dir == NULL ? 0 : (*env)->GetArrayLength(env, dir);
    if (envp == NULL)
        envc = 0;
    size_t ptrs = ((size_t)argc + 1 + (size_t)envc + 1) * sizeof(char *);
    char *mem = malloc(ptrs + (size_t)alen + (size_t)elen + (size_t)dlen);
    if (mem == NULL)
        return NULL;
    m->argv = (char **)mem;
    m->envp = m->argv + argc + 1;
    char *bytes = mem + ptrs;
    (*env)->GetByteArrayRegion(env, argv, 0, alen, (jbyte *)bytes);
    split_block(bytes, argc, m->argv);
    if (envp != NULL) {
        (*env)->GetByteArrayRegion(env, envp, 0, elen, (jbyte *)bytes + alen);
        split_block(bytes + alen, envc, m->envp);
    } else {
        m->envp = environ;
    }
    m->dir = NULL;
    if (dir != NULL) {
        m->dir = bytes + alen + elen;
        (*env)->GetByteArrayRegion(env, dir, 0, dlen, (jbyte *)m->dir);
    }
    return mem;
}

/* ids and rlimits laid out as io.umh.Abi names them (ABI_IDS_*, ABI_RLIMIT_*) */
static int copy_identity(JNIEnv *env, jintArray ids, jlongArray rlimits, struct umh_spawn_req *req,
                         struct umh_rlimit *lims)
{
    jint id[ABI(IDS_LENGTH)];
    jlong l[ABI(RLIMITS_MAX) * ABI(RLIMIT_FIELDS)];
    (*env)->GetIntArrayRegion(env, ids, 0, ABI(IDS_LENGTH), id);
    req->uid = (unsigned)id[ABI(IDS_UID)];
    req->gid = (unsigned)id[ABI(IDS_GID)];
    req->umask = (unsigned)id[ABI(IDS_UMASK)];
    req->pipe_size = id[ABI(IDS_PIPE_SIZE)];
    req->cgroup_fd = id[ABI(IDS_CGROUP_FD)]; /* read with UMH_SPAWN_CGROUP only */
    jsize n = (*env)->GetArrayLength(env, rlimits);
    if (n > ABI(RLIMITS_MAX) * ABI(RLIMIT_FIELDS) || n % ABI(RLIMIT_FIELDS) != 0)
        return UMH_FAIL(UMH_CHILD_SETRLIMIT, EINVAL);
    (*env)->GetLongArrayRegion(env, rlimits, 0, n, l);
    for (jsize i = 0; i < n / ABI(RLIMIT_FIELDS); i++) {
        const jlong *t = l + i * ABI(RLIMIT_FIELDS);
        lims[i].resource = (int)t[ABI(RLIMIT_RESOURCE)];
        lims[i].soft = (unsigned long long)t[ABI(RLIMIT_SOFT)]; /* -1: RLIM_INFINITY */
        lims[i].hard = (unsigned long long)t[ABI(RLIMIT_HARD)];
    }
    req->rlimits = lims;
    req->nrlimits = (int)(n / ABI(RLIMIT_FIELDS));
    return 0;
}

/* The child's fds as io.umh.Abi's FDS_* and PASS_* lay them out, into req (pass: UMH_PASS_MAX
 * entries). A layout Java would not make is EINVAL; umh_spawn checks the plan itself. */
static int copy_fds(JNIEnv *env, jintArray fds, struct umh_spawn_req *req, struct umh_fd_pass *pass)
{
    jint f[ABI(FDS_PASSED) + ABI(PASS_MAX) * ABI(PASS_FIELDS)];
    jsize n = (*env)->GetArrayLength(env, fds);
    if (n < ABI(FDS_PASSED) || n > (jsize)(sizeof f / sizeof f[0]) || (n - ABI(FDS_PASSED)) % ABI(PASS_FIELDS) != 0)
        return UMH_FAIL(UMH_CHILD_DUP3, EINVAL);
    (*env)->GetIntArrayRegion(env, fds, 0, n, f);
    for (int k = 0; k < 3; k++) {
        req->stdio[k].how = f[k * ABI(FDS_FIELDS) + ABI(FDS_HOW)];
        req->stdio[k].fd = f[k * ABI(FDS_FIELDS) + ABI(FDS_FD)];
    }
    req->npass = (int)((n - ABI(FDS_PASSED)) / ABI(PASS_FIELDS));
    for (int i = 0; i < req->npass; i++) {
        pass[i].target = f[ABI(FDS_PASSED) + i * ABI(PASS_FIELDS) + ABI(PASS_TARGET)];
        pass[i].source = f[ABI(FDS_PASSED) + i * ABI(PASS_FIELDS) + ABI(PASS_SOURCE)];
    }
    req->pass = pass;
    return 0;
}

/* The sandbox as SandboxPolicy flattened it (header laid out as Abi's SBX_*, then a word per
 * bind, then the allowed calls' numbers; paths NUL-terminated), made into a spec and handed to
 * use (umh_sandbox_prepare's or umh_sandbox_namespaces' caller below): its answer, or UMH_FAIL
 * for a header that does not add up. The spec lives until use returns. */
static int with_spec(JNIEnv *env, jint memfd, int fd_floor, jintArray header, jbyteArray paths,
                     int (*use)(const struct umh_sandbox_spec *spec, void *arg), void *arg)
{
    jsize hlen = (*env)->GetArrayLength(env, header);
    jsize plen = (*env)->GetArrayLength(env, paths);
    jint *h = malloc((size_t)hlen * sizeof(jint));
    char *p = malloc((size_t)plen);
    int rc = UMH_FAIL(UMH_MALLOC, ENOMEM);
    if (h != NULL && p != NULL && hlen >= ABI(SBX_HEADER)) {
        (*env)->GetIntArrayRegion(env, header, 0, hlen, h);
        (*env)->GetByteArrayRegion(env, paths, 0, plen, (jbyte *)p);
        int nbinds = h[ABI(SBX_BINDS)], nsys = h[ABI(SBX_SYSCALLS)];
        struct umh_sandbox_spec spec = {
            .ns_flags = (unsigned)h[ABI(SBX_NS_FLAGS)],
            .new_root = h[ABI(SBX_NEW_ROOT)],
            .no_caps = h[ABI(SBX_NO_CAPS)],
            .network = h[ABI(SBX_NETWORK)],
            .landlock = h[ABI(SBX_LANDLOCK)],
            .seccomp = h[ABI(SBX_SECCOMP)],
            .notify = h[ABI(SBX_NOTIFY)],
            .memfd = memfd,
            .fd_floor = fd_floor,
            .join_mnt_fd = h[ABI(SBX_JOIN_MNT)],
            .join_net_fd = h[ABI(SBX_JOIN_NET)],
            .join_user_fd = h[ABI(SBX_JOIN_USER)],
            .join_ipc_fd = h[ABI(SBX_JOIN_IPC)],
            .syscalls = (const int *)h + ABI(SBX_HEADER) + nbinds,
            .nsyscalls = nsys,
            .nmkdirs = h[ABI(SBX_MKDIRS)],
            .nbinds = h[ABI(SBX_BINDS)],
            .bind_flags = (const int *)h + ABI(SBX_HEADER),
            .paths = p,
            .paths_len = (size_t)plen,
        };
        rc = nbinds >= 0 && nsys >= 0 && nbinds + nsys == hlen - ABI(SBX_HEADER) ? use(&spec, arg)
                                                                                 : UMH_FAIL(UMH_SANDBOX_OPEN, EINVAL);
    }
    free(h);
    free(p);
    return rc;
}

static int prepare(const struct umh_sandbox_spec *spec, void *s)
{
    return umh_sandbox_prepare(spec, s);
}

static int namespaces(const struct umh_sandbox_spec *spec, void *fds)
{
    return umh_sandbox_namespaces(spec, fds);
}

/* The namespaces of a policy's root (and an empty network, unless it has the host's), made
 * once: 0 and out = {mount fd, network fd, user fd, ipc fd; each -1 if not made}, the caller's to close; or UMH_FAIL. */
JNIEXPORT jint JNICALL Java_io_umh_Native_sandboxNamespaces0(JNIEnv *env, jclass cls, jintArray header,
                                                            jbyteArray paths, jintArray out)
{
    (void)cls;
    int fds[4];
    int rc = with_spec(env, -1, 2, header, paths, namespaces, fds);
    if (rc == 0)
        (*env)->SetIntArrayRegion(env, out, 0, 4, fds);
    return rc;
}

/* The spawn with everything copied out of Java; memfd already above the fd plan's floor. */
static int spawn_copied(JNIEnv *env, struct umh_spawn_req *req, jbyteArray argv, jint argc, jbyteArray envp, jint envc,
                        jbyteArray dir, jintArray sandbox, jbyteArray sandbox_paths, struct umh_spawn_res *res,
                        int *listener)
{
    int rc;
    struct umh_sandbox s = { .landlock_fd = -1, .notify_sock = -1, .notify_recv = -1,
                             .join_mnt_fd = -1, .join_net_fd = -1, .join_user_fd = -1, .join_ipc_fd = -1 };
    if (sandbox != NULL) {
        if ((rc = with_spec(env, req->memfd, umh_fd_floor(req), sandbox, sandbox_paths, prepare, &s)) < 0)
            return rc;
        req->sandbox = &s;
    }
    struct spawn_memory m;
    void *mem = copy_spawn_memory(env, argv, argc, envp, envc, dir, &m);
    if (mem == NULL) {
        umh_sandbox_release(&s);
        return UMH_FAIL(UMH_MALLOC, ENOMEM);
    }
    req->argv = m.argv;
    req->envp = m.envp;
    req->dir = m.dir;
    rc = umh_spawn(req, res);
    free(mem);
    *listener = rc == 0 ? umh_sandbox_listener(&s) : -1;
    umh_sandbox_release(&s);
    req->sandbox = NULL;
    return rc;
}

JNIEXPORT jint JNICALL Java_io_umh_Native_spawn0(JNIEnv *env, jclass cls, jint memfd, jint flags,
                                                jbyteArray argv, jint argc, jbyteArray envp, jint envc,
                                                jbyteArray dir, jintArray fds, jintArray ids,
                                                jlongArray rlimits, jintArray sandbox,
                                                jbyteArray sandbox_paths, jintArray out)
{
    (void)cls;
    struct umh_rlimit lims[ABI(RLIMITS_MAX)];
    struct umh_fd_pass pass[UMH_PASS_MAX];
    struct umh_spawn_req req = { .memfd = memfd, .flags = flags };
    int rc = copy_identity(env, ids, rlimits, &req, lims);
    if (rc == 0)
        rc = copy_fds(env, fds, &req, pass);
    if (rc < 0)
        return rc;
    /* the memfd on a number the fd plan writes (a passed fd's, or 0-2): a copy above it for this
     * spawn, so that the child need not move it (a sandbox's filter names its number) */
    int memfd_copy = -1;
    if (memfd <= umh_fd_floor(&req)) {
        if ((memfd_copy = umh_dup_above(memfd, umh_fd_floor(&req))) < 0)
            return memfd_copy;
        req.memfd = memfd_copy;
    }
    struct umh_spawn_res res;
    int listener = -1;
    rc = spawn_copied(env, &req, argv, argc, envp, envc, dir, sandbox, sandbox_paths, &res, &listener);
    if (memfd_copy >= 0)
        umh_close(memfd_copy);
    if (rc == 0) {
        jint vals[ABI(OUT_LENGTH)];
        vals[ABI(OUT_STDIN_W)] = res.stdin_w;
        vals[ABI(OUT_STDOUT_R)] = res.stdout_r;
        vals[ABI(OUT_STDERR_R)] = res.stderr_r;
        vals[ABI(OUT_PID)] = res.pid;
        vals[ABI(OUT_PIDFD)] = res.pidfd;
        vals[ABI(OUT_LISTENER)] = listener;
        (*env)->SetIntArrayRegion(env, out, 0, ABI(OUT_LENGTH), vals);
    }
    return rc;
}

/* A spawner thread's way back into Java to grow the pool: Native.growSpawners(), on this thread
 * (it is a Java thread in a native method). Whatever it throws is its own failure to start a
 * spawner: the pool stays as it is. */
struct grow_ctx {
    JNIEnv *env;
    jclass cls;
    jmethodID grow;
};

static void grow_spawners(void *arg)
{
    struct grow_ctx *g = arg;
    (*g->env)->CallStaticVoidMethod(g->env, g->cls, g->grow);
    if ((*g->env)->ExceptionCheck(g->env))
        (*g->env)->ExceptionClear(g->env);
}

JNIEXPORT void JNICALL Java_io_umh_Native_serveSpawns0(JNIEnv *env, jclass cls)
{
    struct grow_ctx g = { env, cls, (*env)->GetStaticMethodID(env, cls, "growSpawners", "()V") };
    if (g.grow == NULL)
        (*env)->ExceptionClear(env); /* cannot be (the method is Native's own): a pool of one */
    umh_spawner_serve(g.grow != NULL ? grow_spawners : NULL, &g); /* returns once retired, at exit */
}

JNIEXPORT jint JNICALL Java_io_umh_Native_spawnerStats0(JNIEnv *env, jclass cls, jlongArray out)
{
    (void)cls;
    struct umh_spawner_stats s[UMH_SPAWNERS_MAX];
    int max = (*env)->GetArrayLength(env, out) / ABI(SPAWNER_FIELDS);
    int n = umh_spawner_stats(s, max < UMH_SPAWNERS_MAX ? max : UMH_SPAWNERS_MAX);
    for (int i = 0; i < n && i < max && i < UMH_SPAWNERS_MAX; i++) {
        jlong v[ABI(SPAWNER_FIELDS)];
        v[ABI(SPAWNER_SPAWNS)] = (jlong)s[i].spawns;
        v[ABI(SPAWNER_CLONE_NS)] = (jlong)s[i].clone_ns;
        v[ABI(SPAWNER_QUEUED_NS)] = (jlong)s[i].queued_ns;
        (*env)->SetLongArrayRegion(env, out, i * ABI(SPAWNER_FIELDS), ABI(SPAWNER_FIELDS), v);
    }
    return n;
}

JNIEXPORT jint JNICALL Java_io_umh_Native_openRedirect0(JNIEnv *env, jclass cls, jbyteArray path, jint how)
{
    (void)cls;
    char buf[4096];
    jsize len = (*env)->GetArrayLength(env, path); /* NUL-terminated by Java */
    if (len > (jsize)sizeof buf)
        return UMH_FAIL(UMH_OPEN, ENAMETOOLONG);
    (*env)->GetByteArrayRegion(env, path, 0, len, (jbyte *)buf);
    return umh_open_redirect(buf, how);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_reap0(JNIEnv *env, jclass cls, jint pidfd, jint pid)
{
    (void)env, (void)cls;
    return umh_reap(pidfd, pid, 0); /* Java never blocks in waitid: it waits on the pidfd first */
}

JNIEXPORT jint JNICALL Java_io_umh_Native_waitExited0(JNIEnv *env, jclass cls, jint pid)
{
    (void)env, (void)cls;
    return umh_wait_exited(pid);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_signal0(JNIEnv *env, jclass cls, jint pidfd, jint pid, jint sig)
{
    (void)env, (void)cls;
    return umh_signal(pidfd, pid, sig);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_dup0(JNIEnv *env, jclass cls, jint fd)
{
    (void)env, (void)cls;
    return umh_dup(fd);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_pollIn0(JNIEnv *env, jclass cls, jint fd, jint timeout_ms)
{
    (void)env, (void)cls;
    return umh_poll_in(fd, timeout_ms);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_epollCreate0(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return umh_epoll_create();
}

JNIEXPORT jint JNICALL Java_io_umh_Native_epollCtl0(JNIEnv *env, jclass cls, jint epfd, jboolean add, jint fd)
{
    (void)env, (void)cls;
    return umh_epoll_ctl(epfd, add, fd);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_epollWait0(JNIEnv *env, jclass cls, jint epfd, jintArray fds, jint timeout_ms)
{
    (void)cls;
    jint buf[64];
    jsize max = (*env)->GetArrayLength(env, fds);
    int n = umh_epoll_wait(epfd, buf, max < 64 ? max : 64, timeout_ms);
    if (n > 0)
        (*env)->SetIntArrayRegion(env, fds, 0, n, buf);
    return n;
}

JNIEXPORT jint JNICALL Java_io_umh_Native_eventfdReady0(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return umh_eventfd_ready();
}

JNIEXPORT void JNICALL Java_io_umh_Native_retireSpawners0(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    umh_spawners_retire();
}

JNIEXPORT jint JNICALL Java_io_umh_Native_close0(JNIEnv *env, jclass cls, jint fd)
{
    (void)env, (void)cls;
    return umh_close(fd);
}

JNIEXPORT jstring JNICALL Java_io_umh_Native_describe0(JNIEnv *env, jclass cls, jint code)
{
    (void)cls;
    char buf[256];
    return (*env)->NewStringUTF(env, umh_describe(code, buf, sizeof buf));
}

JNIEXPORT void JNICALL Java_io_umh_Native_forceFallbacks0(JNIEnv *env, jclass cls, jint bits)
{
    (void)env, (void)cls;
    umh_fallbacks |= bits;
}

JNIEXPORT jint JNICALL Java_io_umh_Native_missingFeatures0(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return umh_missing_features();
}

/* This CPU's number of a system call by name, or -1 (umh_seccomp.c's generated table). */
JNIEXPORT jint JNICALL Java_io_umh_Native_syscallNumber0(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    const char *s = (*env)->GetStringUTFChars(env, name, NULL);
    if (s == NULL)
        return -1;
    int nr = umh_syscall_number(s);
    (*env)->ReleaseStringUTFChars(env, name, s);
    return nr;
}

JNIEXPORT jstring JNICALL Java_io_umh_Native_syscallName0(JNIEnv *env, jclass cls, jint nr)
{
    (void)cls;
    const char *name = umh_syscall_name(nr);
    return name == NULL ? NULL : (*env)->NewStringUTF(env, name);
}

/* 1 if a sandbox denies the call whatever its policy says. */
JNIEXPORT jint JNICALL Java_io_umh_Native_alwaysDenied0(JNIEnv *env, jclass cls, jint nr)
{
    (void)env, (void)cls;
    return umh_seccomp_always_denied(nr);
}

/* The numbers of a named group of calls (umh_seccomp.c), or NULL for an unknown group. */
JNIEXPORT jintArray JNICALL Java_io_umh_Native_seccompGroup0(JNIEnv *env, jclass cls, jstring name)
{
    (void)cls;
    int nrs[UMH_SECCOMP_MAX_NRS];
    const char *s = (*env)->GetStringUTFChars(env, name, NULL);
    if (s == NULL)
        return NULL;
    int n = umh_seccomp_group(s, nrs, UMH_SECCOMP_MAX_NRS);
    (*env)->ReleaseStringUTFChars(env, name, s);
    if (n < 0)
        return NULL;
    jintArray arr = (*env)->NewIntArray(env, n);
    if (arr != NULL)
        (*env)->SetIntArrayRegion(env, arr, 0, n, nrs);
    return arr;
}

/* One notification from a helper's seccomp listener: the call's number, or UMH_FAIL. Only when
 * seccompPending said one waits: the ioctl would block on a listener whose helper has exited. */
JNIEXPORT jint JNICALL Java_io_umh_Native_seccompReceive0(JNIEnv *env, jclass cls, jint listener)
{
    (void)env, (void)cls;
    int nr, pid;
    int rc = umh_seccomp_notif_recv(listener, &nr, &pid);
    return rc < 0 ? rc : nr;
}

JNIEXPORT jint JNICALL Java_io_umh_Native_seccompPending0(JNIEnv *env, jclass cls, jint listener)
{
    (void)env, (void)cls;
    return umh_seccomp_pending(listener);
}

/* 1 if this kernel gives seccomp listeners, else the UMH_FAIL code saying why not. */
JNIEXPORT jint JNICALL Java_io_umh_Native_seccompListenerSupported0(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return umh_seccomp_listener_supported();
}

/* The Landlock ABI this kernel offers (0: none), for SandboxSupport. */
JNIEXPORT jint JNICALL Java_io_umh_Native_landlockAbi0(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return umh_landlock_abi();
}

/* The sandbox's steps tried once for real (umh_probe.c): 0, or the UMH_FAIL code of the step refused. */
JNIEXPORT jint JNICALL Java_io_umh_Native_probeNamespaces0(JNIEnv *env, jclass cls, jint ns_flags, jboolean root)
{
    (void)env, (void)cls;
    return umh_probe_namespaces((unsigned)ns_flags, root == JNI_TRUE);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_probeListener0(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return umh_probe_listener();
}

JNIEXPORT jint JNICALL Java_io_umh_Native_probeClone30(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return umh_probe_clone3();
}

/* Why there is no Landlock here (umh_landlock_absent_reason), or NULL where there is. */
JNIEXPORT jstring JNICALL Java_io_umh_Native_landlockRefusal0(JNIEnv *env, jclass cls)
{
    (void)cls;
    return umh_landlock_abi() > 0 ? NULL : (*env)->NewStringUTF(env, umh_landlock_absent_reason(errno));
}

/* This JVM's own dumpable flag (PR_GET_DUMPABLE): for the test that no fork changes it. */
JNIEXPORT jint JNICALL Java_io_umh_Native_dumpable0(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

/* A NUL-terminated Java byte block into buf: 0, or ENAMETOOLONG's UMH_FAIL for step. */
static int copy_path(JNIEnv *env, jbyteArray bytes, char *buf, size_t size, int step)
{
    jsize len = (*env)->GetArrayLength(env, bytes);
    if (len < 1 || (size_t)len > size)
        return UMH_FAIL(step, ENAMETOOLONG);
    (*env)->GetByteArrayRegion(env, bytes, 0, len, (jbyte *)buf);
    buf[len - 1] = '\0';
    return 0;
}

/* The helper's cgroup v2, before its spawn (umh_cgroup.c): made and opened, its fd or UMH_FAIL. */
JNIEXPORT jint JNICALL Java_io_umh_Native_cgroupCreate0(JNIEnv *env, jclass cls, jbyteArray parent, jbyteArray name)
{
    (void)cls;
    char p[4096], n[256];
    int rc = copy_path(env, parent, p, sizeof p, UMH_OPEN);
    if (rc == 0)
        rc = copy_path(env, name, n, sizeof n, UMH_CGROUP_MKDIR);
    return rc < 0 ? rc : umh_cgroup_create(p, n);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_cgroupWrite0(JNIEnv *env, jclass cls, jint fd, jbyteArray file, jbyteArray value)
{
    (void)cls;
    char f[256], v[256];
    int rc = copy_path(env, file, f, sizeof f, UMH_OPEN);
    if (rc == 0)
        rc = copy_path(env, value, v, sizeof v, UMH_WRITE);
    return rc < 0 ? rc : umh_cgroup_write(fd, f, v);
}

JNIEXPORT jint JNICALL Java_io_umh_Native_cgroupProbe0(JNIEnv *env, jclass cls)
{
    (void)env, (void)cls;
    return umh_cgroup_probe();
}
