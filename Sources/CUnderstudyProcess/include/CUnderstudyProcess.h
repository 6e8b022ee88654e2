#ifndef C_UNDERSTUDY_PROCESS_H
#define C_UNDERSTUDY_PROCESS_H

#include <sys/types.h>

/// Starts `path` with `argv` (NULL-terminated) and the parent's environment, as a child that
/// the kernel sends `death_signal` when the calling *thread* ends (PR_SET_PDEATHSIG), in its
/// own process group (a terminal's Ctrl-C reaches only the parent, which forwards it), with
/// stdin from `stdin_fd` and stdout and stderr to `output_fd`, signal mask cleared and
/// SIGINT/SIGTERM/SIGHUP/SIGPIPE at their defaults.
///
/// fork + exec in C because the child MUST run nothing but async-signal-safe calls between
/// the two (the parent is multi-threaded), and posix_spawn cannot set PR_SET_PDEATHSIG.
/// The caller MUST call this from a thread that outlives the child: Linux sends the death
/// signal when the thread that forked exits, not only when the process does.
///
/// Returns the child's pid, or -errno when fork failed. When exec fails the child exits
/// with status 127 (its stderr, `output_fd`, says why).
pid_t understudy_spawn_with_parent_death_signal(const char *path, char *const argv[], int stdin_fd,
                                                int output_fd, int death_signal);

#endif
