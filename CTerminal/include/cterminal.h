#ifndef CTERMINAL_H
#define CTERMINAL_H

// The terminal handling of the CLI's live views (`trace`, `run` on a terminal): termios mode,
// the escape sequences that leave the view, and the signal handlers that restore the terminal
// on every way out. Only the isp-checker executable links this; the library never does.
//
// Why C: restoring the terminal from a signal handler (SIGTERM, or a crash: SIGSEGV, SIGILL
// from a Swift trap, SIGABRT) must use async-signal-safe calls only (tcsetattr, write); Swift
// gives no such guarantee for its code. All functions return 0 or -errno.

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Takes over the terminal: `input` (the keyboard's tty, or -1 for none) and `output` (where
/// the view is drawn). Saves the input's termios, turns off canonical input and
/// echo (keys arrive one by one, unechoed; ISIG stays on, so Ctrl-C is SIGINT) and the suspend
/// key, writes `enter` (e.g. alternate screen, hidden cursor), and installs the handlers:
/// SIGINT, SIGTERM, SIGHUP and SIGWINCH are written as one byte (the signal number) to a pipe
/// whose read end `*signal_fd` receives; a second SIGINT/SIGTERM/SIGHUP before the first was
/// handled restores the terminal and exits at once (128 + signal). SIGSEGV, SIGBUS, SIGILL,
/// SIGTRAP, SIGFPE and SIGABRT restore the terminal, then die as they would have.
/// `leave` (at most 255 bytes) is what undoes `enter`; it is written on every restore.
/// One session at a time: -EBUSY while one is active.
int ct_enter(int input, int output, const char *enter, const char *leave, int *signal_fd);

/// Restores the terminal (termios, then `leave`) and the previous signal handlers, closes the
/// pipe. Safe to call more than once and when no session is active.
void ct_leave(void);

/// Marks the signal read from the pipe as handled: a later one is again handled gracefully.
void ct_signal_handled(void);

/// The window size of the terminal on `fd`.
int ct_window_size(int fd, int *rows, int *columns);

/// Waits up to `timeout_ms` for input on `fd` (-1: none) or on `signal_fd`. Reads what is ready: key bytes
/// into `keys` (at most `capacity`, count in `*key_count`), a signal number into `*signal`
/// (0 when none). Returns 0 (also on timeout, with nothing read) or -errno.
int ct_wait(int fd, int signal_fd, int timeout_ms, unsigned char *keys, size_t capacity, size_t *key_count, int *signal);

#ifdef __cplusplus
}
#endif

#endif
