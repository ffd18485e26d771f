/*
 * lock.h: one writer per object, through flock(2) on a lock file.
 *
 * Every service, saga or experiment that ofs changes has a lock file in
 * the state directory (DESIGN.md section 5), so two cron runs never act
 * on the same object at once: the second waits or exits with a message
 * naming the holder. The kernel drops a flock when its holder dies, so a
 * crashed run never leaves a stale lock. Lock files are never deleted
 * (deleting one races with a process that has just opened it).
 */
#ifndef OFS_LOCK_H
#define OFS_LOCK_H

#include "strbuf.h"

/*
 * lock_acquire: take the exclusive lock on path, creating the file (0600)
 * if needed, and write our pid into it for whoever finds it busy. wait_ms
 * is how long to wait for a busy lock: 0 tries once, -1 waits forever.
 * Returns the lock's descriptor (close-on-exec; keep it open while you
 * hold the lock), or -1 with a message in err (if not NULL) and errno
 * set: EWOULDBLOCK with "'PATH' is locked by another ofs run (pid N)"
 * when it stayed busy, EINTR when a signal handler ran during the wait,
 * another errno when the file cannot be opened. A child forked while the
 * lock is held shares it until it exits or closes the descriptor.
 */
int lock_acquire(const char *path, int wait_ms, struct strbuf *err);

/* lock_release: clear the pid from the file and release the lock (-1 is fine). */
void lock_release(int fd);

#endif
