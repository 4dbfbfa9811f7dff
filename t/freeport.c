/*
 * freeport - print a TCP port that is free on ADDR (default 127.0.0.1)
 * right now: the kernel picks one for a socket bound to port 0, which is
 * then closed. The daemon tests use it for status.port, which must name a
 * port in pandora_hostd.conf. Test-only; never installed.
 *
 *   freeport [ADDR]
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1";
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);

    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "freeport: '%s' is not an IPv4 address\n", addr);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        fprintf(stderr, "freeport: cannot bind %s:0: %s\n", addr,
                strerror(errno));
        return 1;
    }
    printf("%u\n", (unsigned)ntohs(sa.sin_port));
    close(fd);
    return 0;
}
