#ifndef USERSYNC_CLINUX_SHIM_H
#define USERSYNC_CLINUX_SHIM_H
/* Glibc's Swift module does not export epoll, eventfd or accept4. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
static inline int clinux_accept4(int fd, int flags) { return accept4(fd, (void *)0, (void *)0, flags); }
#endif
