#ifndef CRC_SYSTEM_SHIMS_H
#define CRC_SYSTEM_SHIMS_H

#include <stddef.h>
#include <sys/types.h>

/// The few C calls Swift cannot make safely by itself (variadic prctl, GNU extensions the Glibc
/// module does not export, posix_spawn's attribute set-up). One module, so no `@_silgen_name`.

/// posix_spawn of `path` with `argv`/`envp` (NULL-terminated), stdin/stdout/stderr dup'ed from the
/// given descriptors, in a new process group of its own (so its whole group can be signalled),
/// every signal's disposition reset to default and an empty signal mask, and the working directory
/// `cwd` (NULL: inherited), and every other descriptor closed. Returns 0 and the pid, or an errno value.
int crc_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
              int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid);

/// prctl(PR_SET_PDEATHSIG, sig). 0 on success, -1 otherwise.
int crc_set_parent_death_signal(int sig);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are re-parented to this process
/// instead of init, so they can be found and reaped. 0 on success, -1 otherwise.
int crc_become_child_subreaper(void);

/// glibc's malloc_trim(3) and mallopt(M_MMAP_THRESHOLD, bytes).
int crc_malloc_trim(size_t pad);
int crc_set_mmap_threshold(int bytes);

/// pipe2(fds, O_CLOEXEC): no other child inherits either end by accident.
int crc_pipe_cloexec(int fds[2]);

/// Sets or clears O_NONBLOCK on `fd`. 0 on success, -1 otherwise.
int crc_set_nonblocking(int fd, int on);

/// 1 when `fd` is a pipe or FIFO, 0 otherwise.
int crc_is_fifo(int fd);

/// The soft limit on open file descriptors (RLIMIT_NOFILE), or -1.
long crc_open_files_limit(void);

#endif
