/*
 * caps.c — capabilities of the calling thread (libcap), the process's user
 * and group, and network namespaces.
 *
 * Linux capabilities, PR_SET_NO_NEW_PRIVS and namespaces are attributes of a
 * thread, not of the process: the cp_caps_* and cp_netns_* functions act on
 * the calling thread only, and threads created afterwards inherit them.
 * libcap is used without libpsx (whose all-thread cap_set_proc needs every
 * pthread_create, the Swift runtime's included, linked through
 * -Wl,-wrap,pthread_create), so cap_set_proc() changes only this thread as
 * well. glibc's setgroups/setresgid/setresuid, on the other hand, are applied
 * to every thread of the process (its SIGSETXID broadcast, as POSIX requires).
 * cp_process_privileges_read checks what every thread ended up with.
 */
#define _GNU_SOURCE
#include "cp_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
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

/* Everything but the capability sets themselves: the bounding set (while
 * CAP_SETPCAP is still effective), ambient, KEEPCAPS off, NO_NEW_PRIVS on. */
static int drop_all_but_the_sets(void)
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
    /* No execve() from this thread (or threads it creates) can grant anything
     * again: set-user-ID bits and file capabilities are ignored. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0)
        return -errno;
    return 0;
}

int cp_caps_drop_all(void)
{
    int rc = drop_all_but_the_sets();
    if (rc < 0)
        return rc;
    cap_t empty = cap_init(); /* every flag of every capability clear */
    if (empty == NULL)
        return -errno;
    rc = cap_set_proc(empty) == 0 ? 0 : -errno;
    cap_free(empty);
    return rc;
}

int cp_caps_drop_all_but_setid(void)
{
    int rc = drop_all_but_the_sets();
    if (rc < 0)
        return rc;
    cap_t caps = cap_init();
    if (caps == NULL)
        return -errno;
    const cap_value_t kept[] = { CAP_SETUID, CAP_SETGID };
    if (cap_set_flag(caps, CAP_EFFECTIVE, 2, kept, CAP_SET) != 0 || cap_set_flag(caps, CAP_PERMITTED, 2, kept, CAP_SET) != 0)
        rc = -errno;
    else
        rc = cap_set_proc(caps) == 0 ? 0 : -errno;
    cap_free(caps);
    return rc;
}

int cp_privileges_drop(int switch_user, uint32_t uid, uint32_t gid)
{
    if (switch_user && (uid == 0 || gid == 0))
        return -EINVAL;
    /* The bounding set first: emptying it needs CAP_SETPCAP, which the
     * change of user below takes away (and the change needs CAP_SETUID and
     * CAP_SETGID, so the sets are cleared last). */
    int rc = drop_all_but_the_sets();
    if (rc < 0)
        return rc;
    if (switch_user) {
        /* glibc runs each of these on every thread. Without KEEPCAPS the
         * kernel clears the permitted, effective and ambient sets of each
         * thread as its last uid 0 goes (capabilities(7), "Effect of user ID
         * changes on capabilities"). Groups first: setgroups and setresgid
         * need the privilege that setresuid gives up. */
        if (setgroups(0, NULL) != 0)
            return -errno;
        if (setresgid(gid, gid, gid) != 0)
            return -errno;
        if (setresuid(uid, uid, uid) != 0)
            return -errno;
        uid_t r, e, s;
        gid_t rg, eg, sg;
        if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0)
            return -errno;
        if (r != uid || e != uid || s != uid || rg != gid || eg != gid || sg != gid)
            return -EPERM;
        /* Back to 0 must fail now, or the change did not stick. */
        if (setuid(0) == 0)
            return -EPERM;
    }
    cap_t empty = cap_init();
    if (empty == NULL)
        return -errno;
    rc = cap_set_proc(empty) == 0 ? 0 : -errno;
    cap_free(empty);
    return rc;
}

/* One "Name:\tvalue" field of a status file, parsed in base `base`. */
static int status_field(const char *text, const char *name, int base, unsigned long long *out)
{
    size_t name_len = strlen(name);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, name, name_len) == 0) {
            char *end = NULL;
            errno = 0;
            unsigned long long value = strtoull(line + name_len, &end, base);
            if (errno != 0 || end == line + name_len)
                return -EBADMSG;
            *out = value;
            return 0;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return -ENOENT;
}

int cp_process_privileges_read(cp_process_privileges *out)
{
    if (out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    DIR *tasks = opendir("/proc/self/task");
    if (tasks == NULL)
        return -errno;
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir(tasks)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%.20s/status", entry->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) /* the thread ended meanwhile */
                continue;
            rc = -errno;
            break;
        }
        char text[4096];
        ssize_t n = read(fd, text, sizeof text - 1);
        int read_errno = errno;
        close(fd);
        if (n < 0) {
            if (read_errno == ESRCH)
                continue;
            rc = -read_errno;
            break;
        }
        text[n] = '\0';
        unsigned long long eff = 0, prm = 0, bnd = 0, amb = 0, nnp = 0;
        unsigned long long uid = 0, gid = 0;
        if ((rc = status_field(text, "CapEff:", 16, &eff)) < 0 || (rc = status_field(text, "CapPrm:", 16, &prm)) < 0 ||
            (rc = status_field(text, "CapBnd:", 16, &bnd)) < 0 || (rc = status_field(text, "CapAmb:", 16, &amb)) < 0 ||
            (rc = status_field(text, "NoNewPrivs:", 10, &nnp)) < 0 || (rc = status_field(text, "Uid:", 10, &uid)) < 0 ||
            (rc = status_field(text, "Gid:", 10, &gid)) < 0)
            break;
        out->threads++;
        if ((eff & (1ULL << CAP_SETUID)) && (eff & (1ULL << CAP_SETGID)))
            out->threads_able_to_change_ids++;
        out->effective |= eff;
        out->permitted |= prm;
        out->bounding |= bnd;
        out->ambient |= amb;
        if (nnp != 1)
            out->threads_without_no_new_privs++;
        /* Uid:/Gid: list real, effective, saved, filesystem; the first (real)
         * is parsed, and setresuid sets all of them together. */
        if (uid == 0)
            out->threads_with_uid_0++;
        if (gid == 0)
            out->threads_with_gid_0++;
    }
    closedir(tasks);
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
    /* Already there (the process entered it before dropping its privileges,
     * and this thread was created inside): setns would need CAP_SYS_ADMIN
     * for nothing. A namespace is the same one when device and inode match. */
    struct stat wanted, current;
    if (fstat(fd, &wanted) == 0 && stat("/proc/thread-self/ns/net", &current) == 0 &&
        wanted.st_dev == current.st_dev && wanted.st_ino == current.st_ino) {
        close(fd);
        return 0;
    }
    int rc = setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}
