/*
 * pid.h: processes by pid, through /proc: their state and start time,
 * the listener of a TCP port, pid files.
 *
 * A pid alone names a process only until it exits: the kernel hands the
 * number to the next program. So every process ofs acts on (a chaos
 * fault's target, an instance ofs-deploy started) is remembered with its
 * start time (field 22 of /proc/PID/stat, clock ticks after boot), and
 * a pid whose start time differs is treated as gone, never signalled.
 * Linux only (/proc); nothing here allocates except where it says so.
 */
#ifndef OFS_PID_H
#define OFS_PID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strbuf.h"

struct pidstat {
	char state;              /* R, S, D, T, t, Z, X... */
	pid_t ppid, pgrp, session;
	uint64_t start;          /* field 22: clock ticks after boot */
};

/*
 * pid_stat: read /proc/PID/stat into *st. Returns 0, or -1 with errno
 * set (ENOENT: no such process; EINVAL: a line that does not parse).
 */
int pid_stat(pid_t pid, struct pidstat *st);

/*
 * pid_alive: pid exists, is not a zombie, and started at start (start 0:
 * any start time). A pid <= 0 is never alive. No errors: a process that
 * cannot be read counts as gone.
 */
bool pid_alive(pid_t pid, uint64_t start);

/* pid_self_start: this process's start time, 0 if /proc cannot tell. */
uint64_t pid_self_start(void);

/*
 * pid_reap: reap pid if it is our child and has exited, without waiting
 * (waitpid WNOHANG, EINTR retried). Returns 1 when it was reaped now,
 * 0 when it is our child and still running, -1 when it is not our child
 * (errno ECHILD) or pid <= 0.
 */
int pid_reap(pid_t pid);

/*
 * pid_group: the live (not zombie) members of process group pgid in
 * session pgid that started at or after min_start. *out is newly
 * allocated (the caller frees it, also when 0 is returned) and the count
 * is returned.
 */
size_t pid_group(pid_t pgid, uint64_t min_start, pid_t **out);

/*
 * pid_listener: the process listening on TCP port (IPv4 or IPv6, any
 * address) on this machine, among those whose descriptors we may read:
 * /proc/net/tcp{,6} give the listening sockets' inodes, /proc/PID/fd
 * the processes holding them. When several share the socket (a server
 * that forks its workers), the one whose parent does not hold it, else
 * the lowest pid. Returns 0 with *pid, or -1 with "nothing this process
 * may see listens on port N" appended to err.
 */
int pid_listener(int port, pid_t *pid, struct strbuf *err);

/*
 * pid_file_read: the pid written in the file path (blanks and newlines
 * around it allowed; 1..INT_MAX). Returns 0 with *pid, or -1 with one of
 * "cannot read pid file 'P': No such file or directory" or "pid file 'P'
 * does not hold a pid" appended to err (errno ENOENT... or EINVAL).
 */
int pid_file_read(const char *path, pid_t *pid, struct strbuf *err);

#endif
