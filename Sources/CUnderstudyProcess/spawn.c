#define _GNU_SOURCE
#include "CUnderstudyProcess.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

extern char **environ;

/// Writes "understudy local: <what> failed: errno N" to stderr with write(2) only
/// (strerror is not async-signal-safe). Its result is ignored: there is nowhere else to report.
static void report_failure(const char *what, int error) {
    char digits[16];
    size_t length = 0;
    do {
        digits[sizeof digits - 1 - length++] = (char)('0' + error % 10);
        error /= 10;
    } while (error > 0 && length < sizeof digits);
    const char *prefix = "understudy local: ";
    ssize_t ignored = write(STDERR_FILENO, prefix, strlen(prefix));
    ignored = write(STDERR_FILENO, what, strlen(what));
    ignored = write(STDERR_FILENO, " failed: errno ", 15);
    ignored = write(STDERR_FILENO, digits + sizeof digits - length, length);
    ignored = write(STDERR_FILENO, "\n", 1);
    (void)ignored;
}

pid_t understudy_spawn_with_parent_death_signal(const char *path, char *const argv[], int stdin_fd,
                                                int output_fd, int death_signal) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid > 0) return pid;

    // The child: async-signal-safe calls only, then exec.
    if (dup2(stdin_fd, STDIN_FILENO) < 0 || dup2(output_fd, STDOUT_FILENO) < 0 ||
        dup2(output_fd, STDERR_FILENO) < 0) {
        _exit(127);
    }
    if (prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0) {
        report_failure("prctl(PR_SET_PDEATHSIG)", errno);
        _exit(127);
    }
    // The parent may have died before prctl took effect: then nobody would stop this child.
    if (getppid() != parent) _exit(127);
    if (setpgid(0, 0) != 0) {
        report_failure("setpgid", errno);
        _exit(127);
    }
    struct sigaction defaults;
    memset(&defaults, 0, sizeof defaults);
    defaults.sa_handler = SIG_DFL;
    sigemptyset(&defaults.sa_mask);
    const int reset[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT};
    for (size_t index = 0; index < sizeof reset / sizeof reset[0]; index++) {
        sigaction(reset[index], &defaults, NULL);
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    execve(path, argv, environ);
    report_failure("execve", errno);
    _exit(127);
}
