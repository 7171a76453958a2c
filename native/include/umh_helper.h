/*
 * umh_helper.h: the helper's side of io.umh.service.UsermodeChannel. Header-only; needs only libc.
 *
 * Wire format, both ways: a frame is a 4-byte big-endian length N, then N bytes. The JVM writes
 * request frames to the helper's fd 0; the helper answers each with exactly one reply frame on
 * its fd 1, in order, and writes nothing else there (log to stderr). EOF on fd 0 between two
 * frames means "no more requests": finish and exit 0.
 *
 *     static char buf[1 << 16];
 *     uint32_t len;
 *     int rc;
 *     while ((rc = umh_read_frame(0, buf, sizeof buf, &len)) > 0)
 *         if (umh_write_frame(1, buf, len) < 0)    (an echo server)
 *             return 1;
 *     return rc == 0 ? 0 : 1;
 */
#ifndef UMH_HELPER_H
#define UMH_HELPER_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

/* Reads n bytes, through short reads and EINTR. Returns how many it read (fewer than n only at
 * EOF), or -1 with errno set. */
static inline ssize_t umh_read_full(int fd, void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, (char *)buf + done, n - done);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)r;
    }
    return (ssize_t)done;
}

/* Writes n bytes, through short writes and EINTR. Returns 0, or -1 with errno set. */
static inline int umh_write_full(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

/* Reads one frame into buf, which has room for cap bytes, and sets *len to its length.
 * Returns 1 for a frame, 0 at EOF between frames, or -1 with errno set: EMSGSIZE if the frame is
 * longer than cap (its payload is left unread: the stream is out of step, stop reading), EPROTO
 * if the input ends inside a frame, or read's own errno. */
static inline int umh_read_frame(int fd, void *buf, size_t cap, uint32_t *len)
{
    unsigned char h[4];
    *len = 0; /* set on every path: callers' compilers can see it is never read uninitialised */
    ssize_t n = umh_read_full(fd, h, sizeof h);
    if (n <= 0)
        return (int)n;
    if (n < (ssize_t)sizeof h) {
        errno = EPROTO;
        return -1;
    }
    uint32_t l = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | (uint32_t)h[3];
    if (l > cap) {
        errno = EMSGSIZE;
        return -1;
    }
    n = umh_read_full(fd, buf, l);
    if (n < 0)
        return -1;
    if ((size_t)n < l) {
        errno = EPROTO;
        return -1;
    }
    *len = l;
    return 1;
}

/* Writes one frame: len as 4 bytes big-endian, then len bytes of buf, in one writev(2) (the
 * reader is woken once per reply, not once for the header and again for the payload); a short
 * write goes on from where it stopped. Returns 0, or -1 with errno set (EPIPE once the JVM has
 * closed the channel, if SIGPIPE is ignored). */
static inline int umh_write_frame(int fd, const void *buf, uint32_t len)
{
    unsigned char h[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                           (unsigned char)len };
    struct iovec iov[2] = { { h, sizeof h }, { (void *)buf, len } };
    size_t left = sizeof h + (size_t)len;
    struct iovec *v = iov;
    while (left > 0) {
        ssize_t w = writev(fd, v, (int)(iov + 2 - v));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        left -= (size_t)w;
        while (v < iov + 2 && (size_t)w >= v->iov_len) { /* skip what is written whole */
            w -= (ssize_t)v->iov_len;
            v++;
        }
        if (v < iov + 2) {
            v->iov_base = (char *)v->iov_base + w;
            v->iov_len -= (size_t)w;
        }
    }
    return 0;
}

#endif
