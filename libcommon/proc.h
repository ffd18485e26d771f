/*
 * proc.h: running hook commands and exec checks as child processes.
 *
 * ofs runs other programs in two places: hooks (restart, set-weight,
 * scale, saga actions), one at a time, and health exec checks, thousands
 * at once. Both go through one engine so they share the same guarantees
 * (DESIGN.md section 4): no shell ever sees data, every child has a
 * timeout and runs in its own process group so a timeout kills the whole
 * tree, its output is captured and bounded, and nothing is left behind.
 *
 * A command is either an argv array, executed directly (PATH is searched
 * for argv[0] when it has no slash, using ofs's own PATH), with
 * `{name}` placeholders filled in by proc_expand_argv; or a shell string
 * run by /bin/sh -c, which receives its context only through environment
 * variables (OFS_SERVICE=...), never spliced into the string.
 *
 * The child gets: its own process group; every signal disposition reset
 * to the default and an empty signal mask (ofs ignores SIGPIPE, and an
 * ignored disposition would survive exec); stdin from the given bytes or
 * /dev/null; stdout and stderr captured through pipes; no other open file
 * descriptors. Children are reaped without a SIGCHLD handler (a pidfd
 * where the kernel has one, else waitpid polling), so callers must not
 * set SIGCHLD to SIG_IGN nor reap with waitpid(-1).
 *
 * When the command (the direct child) exits, its result is final: output
 * still buffered in the pipes is read, but processes it left running in
 * the background are neither waited for nor killed. When the timeout
 * fires, the whole process group gets SIGTERM, then SIGKILL after the
 * grace period, and as soon as the command itself is gone any member of
 * its group still alive is killed too, so a timed-out tree never survives.
 */
#ifndef OFS_PROC_H
#define OFS_PROC_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define PROC_CAPTURE_DEFAULT (64 * 1024) /* bytes kept per stream */
#define PROC_GRACE_DEFAULT 2000           /* ms between SIGTERM and SIGKILL */

/* A name and its value: a placeholder or an environment variable. */
struct proc_var {
	const char *name;
	const char *value;
};

/*
 * proc_expand_argv: a copy of the NULL-terminated argv_template with every
 * `{name}` in each element replaced by the value of the var called name.
 * An unknown `{x}` is kept as it is; `{{` stands for a literal `{` (so
 * `{{service}` gives `{service}`). Values are copied verbatim and not
 * scanned again (a NULL value counts as ""): they may hold spaces,
 * quotes, semicolons or braces, and since the result is executed
 * without a shell they stay data. Returns a NULL-terminated array the
 * caller frees with proc_argv_free. Never fails (dies on out-of-memory).
 */
char **proc_expand_argv(const char *const *argv_template, const struct proc_var *vars,
			size_t nvars);
/* proc_argv_free: free an array from proc_expand_argv (NULL is fine). */
void proc_argv_free(char **argv);

/*
 * What to run. Zero-initialise and fill in; exactly one of argv and shell
 * is set. The strings and buffers are only read, and are copied before
 * proc_run or proc_pool_add return, so the caller keeps ownership.
 */
struct proc_spec {
	const char *const *argv;     /* NULL-terminated, argv[0] non-empty */
	const char *shell;           /* or: a script for /bin/sh -c */
	const struct proc_var *env;  /* set in the inherited environment (a NULL */
	size_t nenv;                 /*   value unsets); names must not hold '=' */
	const char *cwd;             /* working directory; NULL: inherited */
	const void *stdin_data;      /* written to stdin, then closed; */
	size_t stdin_len;            /*   NULL: stdin is /dev/null */
	int timeout_ms;              /* 0: no timeout */
	int grace_ms;                /* SIGTERM..SIGKILL; 0: PROC_GRACE_DEFAULT */
	size_t capture_limit;        /* per stream; 0: PROC_CAPTURE_DEFAULT */
};

/*
 * How it went. Initialise with proc_result_init (or PROC_RESULT_INIT) and
 * free with proc_result_release. When spawn_errno is non-zero the command
 * never ran (it could not be executed, the working directory was missing,
 * or ofs ran out of pipes or processes) and error holds the message, e.g.
 * "cannot run 'foo': No such file or directory"; the other fields are
 * then zero or -1. Beyond capture_limit bytes of a stream are counted in
 * *_total and dropped, and *_truncated is set; the child is never blocked.
 */
struct proc_result {
	int spawn_errno;
	int exit_code;         /* 0..255 when it exited, else -1 */
	int signal;            /* the signal that killed it, else 0 */
	int timed_out;         /* the timeout fired and the group was signalled */
	int64_t duration_ms;   /* from start to the command's exit */
	struct strbuf out;     /* captured stdout (NUL-terminated) */
	struct strbuf err;     /* captured stderr */
	int out_truncated;
	int err_truncated;
	uint64_t out_total;    /* bytes the child wrote, kept or not */
	uint64_t err_total;
	struct strbuf error;   /* the spawn error message, else empty */
};

#define PROC_RESULT_INIT { 0, -1, 0, 0, 0, SB_INIT, SB_INIT, 0, 0, 0, 0, SB_INIT }

void proc_result_init(struct proc_result *r);
/* proc_result_release: free the buffers and reset to PROC_RESULT_INIT. */
void proc_result_release(struct proc_result *r);

/*
 * proc_describe: append a short lowercase account of the outcome to sb:
 * "exited with status 3", "killed by signal 9 (Killed)", "timed out after
 * 200 ms (killed by signal 15 (Terminated))", or the spawn error message.
 */
void proc_describe(const struct proc_result *r, struct strbuf *sb);

/*
 * proc_run: run one command to completion, waiting for it. r must be
 * initialised; what it held is released and replaced. Returns 0 when the
 * command ran, whatever its exit status, and -1 when it could not be
 * started (r->spawn_errno and r->error say why; errno is set too).
 * Built on a one-slot proc_pool, so it behaves exactly like the pool.
 */
int proc_run(const struct proc_spec *spec, struct proc_result *r);

/*
 * A bounded pool of children serviced by one poll(). Commands are queued
 * with proc_pool_add and started while fewer than max_running are alive;
 * finished ones are collected with proc_pool_next in the order they
 * ended. Driving it is either proc_pool_run_step in a loop, or, to share
 * one poll with other work (curl_multi_poll's extra_fds, sockets), the
 * trio proc_pool_pollfds / proc_pool_timeout / proc_pool_dispatch.
 */
struct proc_pool;

/* proc_pool_new: an empty pool; max_running 0 means 64. */
struct proc_pool *proc_pool_new(size_t max_running);

/*
 * proc_pool_free: kill (SIGKILL to the process group) and reap every child
 * still running, then free the pool with its queued and uncollected
 * results. The user pointers are not touched. NULL is fine.
 */
void proc_pool_free(struct proc_pool *pool);

/*
 * proc_pool_add: queue a command. The spec is copied. Nothing is started
 * until the next proc_pool_run_step or proc_pool_pollfds. An invalid spec
 * (neither or both of argv and shell, an empty argv, a bad environment
 * name) is not an error here: it comes back from proc_pool_next as a
 * result with spawn_errno EINVAL, like any other failure to start.
 */
void proc_pool_add(struct proc_pool *pool, const struct proc_spec *spec, void *user);

/*
 * proc_pool_run_step: start queued commands up to the cap, wait at most
 * timeout_ms (-1: until something happens) in one poll() for output,
 * exits and timeouts, and service them. Returns the number of finished
 * results waiting for proc_pool_next, or -1 if poll failed (errno set;
 * EINTR is not a failure and returns the count).
 */
int proc_pool_run_step(struct proc_pool *pool, int timeout_ms);

/*
 * proc_pool_next: take the oldest finished result: moves it into *r
 * (which must be initialised; its old buffers are released), stores the
 * user pointer given to proc_pool_add in *user (if user is not NULL) and
 * returns 1. Returns 0 when no result is waiting.
 */
int proc_pool_next(struct proc_pool *pool, void **user, struct proc_result *r);

/* proc_pool_pending: commands added and not yet collected by proc_pool_next. */
size_t proc_pool_pending(const struct proc_pool *pool);
/* proc_pool_running: children alive right now (never above max_running). */
size_t proc_pool_running(const struct proc_pool *pool);

/*
 * proc_pool_pollfds: start queued commands up to the cap, then describe
 * the descriptors to watch in fds (at most max; proc_pool_max_fds is
 * always enough) and return how many were filled. Children that do not
 * fit are simply not watched this round.
 */
size_t proc_pool_pollfds(struct proc_pool *pool, struct pollfd *fds, size_t max);
/* proc_pool_max_fds: the most descriptors proc_pool_pollfds ever fills. */
size_t proc_pool_max_fds(const struct proc_pool *pool);
/*
 * proc_pool_timeout: milliseconds until the pool next needs servicing
 * even without I/O (a timeout, a kill, a reaping check), -1 for never,
 * 0 when results are already waiting or work is queued with a free slot.
 */
int proc_pool_timeout(const struct proc_pool *pool);
/*
 * proc_pool_dispatch: service the children after a poll on the array the
 * last proc_pool_pollfds filled (same fds, same nfds, revents set): read
 * output, feed stdin, fire timeouts and kills, reap exits. Returns the
 * number of finished results waiting.
 */
int proc_pool_dispatch(struct proc_pool *pool, const struct pollfd *fds, size_t nfds);

#endif
