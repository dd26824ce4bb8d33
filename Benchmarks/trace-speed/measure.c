/*
 * Runs one command and measures it as a user's shell would see it, without counting itself.
 *
 *     measure STDOUT_FILE STDERR_FILE COMMAND [ARGS...]
 *
 * Prints one line: "START_US END_US EXIT_CODE CPU_US MAXRSS_KIB". START and END are
 * CLOCK_REALTIME microseconds (the clock of tcpdump's stamps) just before the fork and just
 * after the wait; CPU is the child's user + system time and MAXRSS its peak resident set, from
 * wait4()'s rusage of that child alone, to the microsecond (bash's `times` rounds to
 * milliseconds, /usr/bin/time's %U and %S to 10 ms).
 *
 * Why C: a child's ru_maxrss is the highest of every image it ran, the parent's copy it was
 * forked as included (exec records the old mm's peak). Forked from this small process, the
 * floor is about 1 MiB; forked from python it would be python's 13 MiB, above traceroute's.
 * run.sh compiles it with `cc -O2` into the output folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long realtime_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: measure STDOUT_FILE STDERR_FILE COMMAND [ARGS...]\n");
        return 64;
    }
    int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0 || err < 0) {
        fprintf(stderr, "measure: %s\n", strerror(errno));
        return 66;
    }
    long long start = realtime_us();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "measure: fork: %s\n", strerror(errno));
        return 71;
    }
    if (pid == 0) {
        dup2(out, 1);
        dup2(err, 2);
        execvp(argv[3], argv + 3);
        fprintf(stderr, "measure: %s: %s\n", argv[3], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "measure: wait4: %s\n", strerror(errno));
            return 71;
        }
    }
    long long end = realtime_us();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    long long cpu = (long long)usage.ru_utime.tv_sec * 1000000LL + usage.ru_utime.tv_usec
                  + (long long)usage.ru_stime.tv_sec * 1000000LL + usage.ru_stime.tv_usec;
    printf("%lld %lld %d %lld %ld\n", start, end, code, cpu, usage.ru_maxrss);
    return 0;
}
