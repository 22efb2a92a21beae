#ifndef USERSYNC_CLINUX_SHIM_H
#define USERSYNC_CLINUX_SHIM_H
/* Glibc's Swift module does not export epoll, eventfd or accept4. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <malloc.h>

/* glibc returns freed memory to the kernel eagerly in thread arenas (an madvise per free
   of a large top chunk), which cost more system time than the sync itself. */
static inline void clinux_tune_malloc(void) {
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
    mallopt(M_TOP_PAD, 4 << 20);
    mallopt(M_ARENA_MAX, 4);
}

extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
static inline int clinux_accept4(int fd, int flags) { return accept4(fd, (void *)0, (void *)0, flags); }
#endif
