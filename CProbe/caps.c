/*
 * caps.c — capabilities of the calling thread (libcap) and network namespaces.
 *
 * Linux capabilities and namespaces are attributes of a thread, not of the
 * process: everything here acts on the calling thread only. libcap is used
 * without libpsx, so cap_set_proc() changes only this thread as well.
 */
#define _GNU_SOURCE
#include "cp_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

int cp_caps_have_net_raw(void)
{
    cap_t caps = cap_get_proc();
    if (caps == NULL)
        return -errno;
    cap_flag_value_t value = CAP_CLEAR;
    int rc = cap_get_flag(caps, CAP_NET_RAW, CAP_EFFECTIVE, &value) == 0 ? 0 : -errno;
    cap_free(caps);
    if (rc != 0)
        return rc;
    return value == CAP_SET ? 1 : 0;
}

static int holds_effective(cap_value_t cap)
{
    cap_t caps = cap_get_proc();
    if (caps == NULL)
        return 0;
    cap_flag_value_t value = CAP_CLEAR;
    int ok = cap_get_flag(caps, cap, CAP_EFFECTIVE, &value) == 0;
    cap_free(caps);
    return ok && value == CAP_SET;
}

int cp_caps_drop_all(void)
{
    /* The bounding set limits what an execve() can grant again (a set-user-ID
     * root program, or root running any program). Emptying it needs
     * CAP_SETPCAP, so it has to happen before the sets are cleared. */
    if (holds_effective(CAP_SETPCAP)) {
        int max = (int)cap_max_bits();
        for (int cap = 0; cap < max; cap++) {
            if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0UL, 0UL, 0UL) != 0 && errno != EINVAL)
                return -errno;
        }
    }
    /* Ambient capabilities survive execve() of unprivileged programs. EINVAL:
     * a kernel without ambient capabilities, so there are none to clear. */
    if (prctl(PR_CAP_AMBIENT, (unsigned long)PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) != 0 &&
        errno != EINVAL)
        return -errno;
    /* Without KEEPCAPS a later setuid() away from 0 clears permitted too. */
    if (prctl(PR_SET_KEEPCAPS, 0UL, 0UL, 0UL, 0UL) != 0)
        return -errno;

    cap_t empty = cap_init(); /* every flag of every capability clear */
    if (empty == NULL)
        return -errno;
    int rc = cap_set_proc(empty) == 0 ? 0 : -errno;
    cap_free(empty);
    return rc;
}

int cp_caps_effective_mask(uint64_t *mask_out)
{
    if (mask_out == NULL)
        return -EINVAL;
    FILE *f = fopen("/proc/thread-self/status", "re");
    if (f == NULL)
        return -errno;
    char line[256];
    int rc = -ENOENT;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "CapEff:", 7) != 0)
            continue;
        char *end = NULL;
        errno = 0;
        unsigned long long value = strtoull(line + 7, &end, 16);
        if (errno != 0 || end == line + 7)
            rc = -EBADMSG;
        else {
            *mask_out = (uint64_t)value;
            rc = 0;
        }
        break;
    }
    fclose(f);
    return rc;
}

int cp_netns_enter(const char *path)
{
    if (path == NULL)
        return -EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}
