// See cterminal.h. The state below is global because signal handlers can reach nothing else;
// it belongs to the one active session (ct_enter refuses a second) and is written only while
// no handler is installed, or is sig_atomic_t.
#define _GNU_SOURCE
#include "cterminal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static const int graceful_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT};
#define GRACEFUL_COUNT (sizeof(graceful_signals) / sizeof(graceful_signals[0]))
#define FATAL_COUNT (sizeof(fatal_signals) / sizeof(fatal_signals[0]))

static int session_input = -1;
static int session_output = -1;
static int has_saved_termios;
static struct termios saved_termios;
static char leave_sequence[256];
static size_t leave_length;
static int signal_pipe[2] = {-1, -1};
static struct sigaction previous_graceful[GRACEFUL_COUNT];
static struct sigaction previous_fatal[FATAL_COUNT];
static volatile sig_atomic_t active;
static volatile sig_atomic_t restored;
static volatile sig_atomic_t signal_pending;

static void write_all(int fd, const char *bytes, size_t length) {
    while (length > 0) {
        ssize_t written = write(fd, bytes, length);
        if (written < 0) {
            if (errno == EINTR) continue;
            return;
        }
        bytes += written;
        length -= (size_t)written;
    }
}

// Async-signal-safe: tcsetattr and write only, once.
static void restore_terminal(void) {
    if (restored) return;
    restored = 1;
    if (has_saved_termios) tcsetattr(session_input, TCSADRAIN, &saved_termios);
    write_all(session_output, leave_sequence, leave_length);
}

static void on_graceful_signal(int number) {
    int saved_errno = errno;
    if (number != SIGWINCH) {
        if (signal_pending) {
            // The program did not get to the first one: leave now, as the user asked twice.
            restore_terminal();
            _exit(128 + number);
        }
        signal_pending = 1;
    }
    unsigned char byte = (unsigned char)number;
    if (write(signal_pipe[1], &byte, 1) < 0) { /* a full pipe already holds a wake-up */ }
    errno = saved_errno;
}

static void on_fatal_signal(int number) {
    restore_terminal();
    struct sigaction fallback;
    memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(number, &fallback, NULL);
    // Blocked while this handler runs: delivered with the default action when it returns
    // (a fault re-executes its instruction and faults again anyway).
    raise(number);
}

int ct_enter(int input, int output, const char *enter, const char *leave, int *signal_fd) {
    if (active) return -EBUSY;
    size_t length = leave ? strlen(leave) : 0;
    if (length >= sizeof leave_sequence) return -EINVAL;
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -errno;
    memcpy(leave_sequence, leave ? leave : "", length);
    leave_length = length;
    session_input = input;
    session_output = output;
    has_saved_termios = input >= 0 && tcgetattr(input, &saved_termios) == 0;
    restored = 0;
    signal_pending = 0;

    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    action.sa_handler = on_graceful_signal;
    for (size_t index = 0; index < GRACEFUL_COUNT; index++) sigaction(graceful_signals[index], &action, &previous_graceful[index]);
    action.sa_handler = on_fatal_signal;
    for (size_t index = 0; index < FATAL_COUNT; index++) sigaction(fatal_signals[index], &action, &previous_fatal[index]);
    active = 1;

    if (has_saved_termios) {
        struct termios raw = saved_termios;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        raw.c_cc[VSUSP] = _POSIX_VDISABLE; // a stopped view would leave the terminal taken over
        if (tcsetattr(input, TCSADRAIN, &raw) != 0) {
            int error = errno;
            ct_leave();
            return -error;
        }
    }
    if (enter) write_all(output, enter, strlen(enter));
    *signal_fd = signal_pipe[0];
    return 0;
}

void ct_leave(void) {
    if (!active) return;
    restore_terminal();
    for (size_t index = 0; index < GRACEFUL_COUNT; index++) sigaction(graceful_signals[index], &previous_graceful[index], NULL);
    for (size_t index = 0; index < FATAL_COUNT; index++) sigaction(fatal_signals[index], &previous_fatal[index], NULL);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
    active = 0;
}

void ct_signal_handled(void) { signal_pending = 0; }

int ct_window_size(int fd, int *rows, int *columns) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return -errno;
    *rows = size.ws_row;
    *columns = size.ws_col;
    return 0;
}

int ct_wait(int fd, int signal_fd, int timeout_ms, unsigned char *keys, size_t capacity, size_t *key_count, int *signal) {
    *key_count = 0;
    *signal = 0;
    struct pollfd fds[2] = {{.fd = signal_fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int ready = poll(fds, fd >= 0 ? 2 : 1, timeout_ms);
    if (ready < 0) return errno == EINTR ? 0 : -errno;
    if (fds[0].revents & POLLIN) {
        unsigned char byte;
        if (read(signal_fd, &byte, 1) == 1) *signal = byte;
    }
    if (fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
        ssize_t count = read(fd, keys, capacity);
        if (count < 0) return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (count == 0) return -EPIPE; // the terminal went away
        *key_count = (size_t)count;
    }
    return 0;
}
