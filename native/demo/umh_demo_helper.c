/*
 * The demo's helper: shipped inside the platform jar, run by io.umh.cli.Demo from a memfd as a
 * supervised service. It answers each framed request (native/include/umh_helper.h) with
 * "HELPER <pid>: <REQUEST IN UPPER CASE>"; the request "crash" makes it exit 1, to show a
 * restart; "socket" makes it open a TCP socket, what a compromised helper would try (under the
 * demo's sandbox, that stops it); at EOF it exits 0.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umh_helper.h"

int main(void)
{
    static char request[4096], reply[4096 + 32];
    uint32_t len;
    int rc;
    while ((rc = umh_read_frame(0, request, sizeof request, &len)) > 0) {
        if (len == 5 && memcmp(request, "crash", 5) == 0)
            return 1;
        if (len == 6 && memcmp(request, "socket", 6) == 0 && socket(AF_INET, SOCK_STREAM, 0) >= 0)
            memcpy(request, "opened a socket", len = 15);
        int n = snprintf(reply, sizeof reply, "HELPER %d: ", (int)getpid());
        for (uint32_t i = 0; i < len; i++)
            reply[(uint32_t)n + i] = (char)toupper((unsigned char)request[i]);
        if (umh_write_frame(1, reply, (uint32_t)n + len) < 0)
            return 2;
    }
    return rc == 0 ? 0 : 3;
}
