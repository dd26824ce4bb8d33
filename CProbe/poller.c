/* poller.c — the engine's readiness wait: epoll, so a turn costs the same however many
 * descriptors the engine holds (poll() asks every socket every turn). */
#include "cprobe.h"

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

int cp_poller_open(void)
{
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int cp_poller_add(int poller, int fd, uint32_t tag)
{
    struct epoll_event event = { .events = EPOLLIN, .data.u32 = tag };
    return epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event) == 0 ? 0 : -errno;
}

int cp_poller_wait(int poller, int timeout_ms, uint32_t *tags, uint32_t *events, int max)
{
    if (tags == NULL || events == NULL || max <= 0)
        return -EINVAL;
    struct epoll_event ready[64];
    if (max > 64)
        max = 64;
    int count = epoll_wait(poller, ready, max, timeout_ms);
    if (count < 0)
        return -errno;
    for (int i = 0; i < count; i++) {
        tags[i] = ready[i].data.u32;
        /* EPOLLIN, EPOLLERR and EPOLLHUP have poll()'s values on Linux. */
        events[i] = ready[i].events;
    }
    return count;
}
