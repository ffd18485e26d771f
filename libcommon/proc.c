/*
 * proc.c: the child process engine behind proc_run and proc_pool (see
 * proc.h for the guarantees).
 *
 * Every command becomes a struct proc that moves from the pool's queue to
 * its running set to its done list. Starting one is fork + exec with a
 * close-on-exec status pipe: if anything fails in the child before exec
 * completes, it writes (stage, errno) into the pipe and exits 127, so the
 * parent can tell "could not run" from "ran and exited 127". All pipes are
 * close-on-exec and non-blocking on the parent's side; one poll() watches
 * every child's stdin, stdout, stderr and (where the kernel has them)
 * pidfd. Exits are observed with waitid(WNOWAIT) so the exited leader
 * stays a zombie, which keeps its process group id reserved while a
 * timed-out group is finished off; only then is it reaped. No SIGCHLD
 * handler is involved, so the engine does not disturb the caller's
 * signal set-up and waits only for its own children.
 *
 * The child side runs between fork and exec, where only async-signal-
 * safe calls are allowed (the caller may have threads, e.g. curl's
 * resolver): everything it needs (argv, envp, the signal action) is
 * prepared before fork.
 */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "proc.h"

extern char **environ;

#define READ_CHUNK 65536
#define READS_PER_ROUND 4      /* fairness among children with lots of output */
#define READS_AT_EXIT 32       /* drain after exit: up to 2 MiB per stream */
#define POLL_SLICE_MS 50       /* reaping check without pidfd */
#define POLL_SLICE_EOF_MS 5    /* ... once both output pipes are closed */

enum child_stage { STAGE_FDS = 1, STAGE_CWD, STAGE_EXEC };

struct proc {
	struct proc *next;      /* queue or done list */
	void *user;

	/* the spec, copied */
	char **argv;            /* NULL-terminated */
	const char *path;       /* what to execute: argv[0] or /bin/sh */
	int search_path;        /* argv form: execvpe searches PATH */
	char **env;             /* "NAME=value" to set, "NAME" to unset */
	size_t nenv;
	char *cwd;
	char *in_data;          /* NULL: stdin is /dev/null */
	size_t in_len, in_off;
	int timeout_ms, grace_ms;
	size_t limit;

	/* while running */
	pid_t pid;
	int pidfd, fd_in, fd_out, fd_err, fd_status;
	int slot_in, slot_out, slot_err, slot_pid; /* indexes into the pollfds */
	int64_t start_ms, deadline_ms, kill_ms;     /* kill_ms 0: no SIGKILL due */

	struct proc_result res;
};

struct proc_pool {
	size_t max_running;
	struct proc **running;
	size_t nrunning, alloc_running;
	struct proc *queue_head, *queue_tail;
	size_t nqueued;
	struct proc *done_head, *done_tail;
	size_t ndone;
	struct pollfd *pfds;    /* proc_pool_run_step's own array */
	size_t alloc_pfds;
	char *scratch;          /* READ_CHUNK bytes for reading output */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- placeholders ----------------------------------------------------- */

static const struct proc_var *find_var(const struct proc_var *vars, size_t nvars,
				       const char *name, size_t len)
{
	for (size_t i = 0; i < nvars; i++)
		if (strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0)
			return &vars[i];
	return NULL;
}

char **proc_expand_argv(const char *const *argv_template, const struct proc_var *vars,
			size_t nvars)
{
	size_t n = 0;
	while (argv_template[n])
		n++;
	char **argv = xcalloc(n + 1, sizeof(*argv));
	for (size_t i = 0; i < n; i++) {
		struct strbuf sb = SB_INIT;
		const char *s = argv_template[i];
		while (*s) {
			if (s[0] == '{' && s[1] == '{') {
				sb_addch(&sb, '{');
				s += 2;
				continue;
			}
			if (s[0] == '{') {
				const char *close = strchr(s + 1, '}');
				const struct proc_var *v = NULL;
				if (close)
					v = find_var(vars, nvars, s + 1, (size_t)(close - s - 1));
				if (v) {
					sb_addstr(&sb, v->value ? v->value : "");
					s = close + 1;
					continue;
				}
			}
			sb_addch(&sb, *s++);
		}
		argv[i] = sb_detach(&sb, NULL);
	}
	return argv;
}

void proc_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

/* ---- results ---------------------------------------------------------- */

void proc_result_init(struct proc_result *r)
{
	struct proc_result blank = PROC_RESULT_INIT;
	*r = blank;
}

void proc_result_release(struct proc_result *r)
{
	sb_release(&r->out);
	sb_release(&r->err);
	sb_release(&r->error);
	proc_result_init(r);
}

void proc_describe(const struct proc_result *r, struct strbuf *sb)
{
	if (r->spawn_errno) {
		sb_add(sb, r->error.buf, r->error.len);
		return;
	}
	if (r->timed_out)
		sb_addf(sb, "timed out after %" PRId64 " ms (", r->duration_ms);
	if (r->signal)
		sb_addf(sb, "killed by signal %d (%s)", r->signal, strsignal(r->signal));
	else if (r->exit_code >= 0)
		sb_addf(sb, "exited with status %d", r->exit_code);
	else
		sb_addstr(sb, "exit status unknown");
	if (r->timed_out)
		sb_addch(sb, ')');
}

/* ---- descriptors ------------------------------------------------------ */

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * Move fd above 2. When ofs runs with stdin, stdout or stderr closed, a
 * new pipe can land on 0..2, and the child's dup2 onto those numbers
 * would then clobber or keep the wrong descriptor.
 */
static int fd_above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(fd);
	errno = e;
	return moved;
}

/* A close-on-exec pipe, both ends above 2, the parent's end non-blocking. */
static int make_pipe(int p[2], int parent_end)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	p[0] = fd_above_stdio(p[0]);
	p[1] = fd_above_stdio(p[1]);
	if (p[0] < 0 || p[1] < 0 ||
	    fcntl(p[parent_end], F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;
		close_fd(&p[0]);
		close_fd(&p[1]);
		errno = e;
		return -1;
	}
	return 0;
}

/*
 * write(2) that cannot raise SIGPIPE, for feeding a child that may have
 * closed its stdin: SIGPIPE is blocked around the write and a SIGPIPE it
 * raised is consumed before unblocking. Unless the caller already had
 * one pending, which is then left alone.
 */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	int was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	ssize_t n = write(fd, buf, len);
	int e = errno;
	if (n < 0 && e == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return n;
}

/* ---- the child side --------------------------------------------------- */

/* Everything the child needs, prepared before fork. */
struct child_plan {
	int in, out, err, status;
	char **envp;
	long max_fd;            /* for closing descriptors without close_range */
	struct sigaction dfl;
};

static void child_fail(int status_fd, int stage)
{
	int msg[2] = { stage, errno };
	ssize_t w = write(status_fd, msg, sizeof(msg));
	(void)w;
	_exit(127);
}

static void close_from(int lo, int hi, long max_fd)
{
	if (lo > hi)
		return;
	if (close_range((unsigned)lo, (unsigned)hi, 0) == 0)
		return;
	for (long fd = lo; fd <= hi && fd < max_fd; fd++)
		close((int)fd);
}

static void child_exec(const struct proc *p, const struct child_plan *cp)
{
	setpgid(0, 0);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &cp->dfl, NULL); /* glibc's reserved ones fail */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (dup2(cp->in, 0) < 0 || dup2(cp->out, 1) < 0 || dup2(cp->err, 2) < 0)
		child_fail(cp->status, STAGE_FDS);
	if (p->cwd && chdir(p->cwd) < 0)
		child_fail(cp->status, STAGE_CWD);
	/* keep only 0..2 and the status pipe, which closes at exec */
	close_from(3, cp->status - 1, cp->max_fd);
	close_from(cp->status + 1, INT_MAX, cp->max_fd);

	if (p->search_path)
		execvpe(p->path, p->argv, cp->envp);
	else
		execve(p->path, p->argv, cp->envp);
	child_fail(cp->status, STAGE_EXEC);
}

/* ---- starting --------------------------------------------------------- */

static size_t env_name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');
	return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* The inherited environment with p->env applied; only the array is new. */
static char **build_env(const struct proc *p)
{
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **envp = xcalloc(n + p->nenv + 1, sizeof(*envp));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = env_name_len(environ[i]);
		int overridden = 0;
		for (size_t j = 0; j < p->nenv && !overridden; j++)
			overridden = env_name_len(p->env[j]) == len &&
				     memcmp(p->env[j], environ[i], len) == 0;
		if (!overridden)
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < p->nenv; j++) {
		size_t len = env_name_len(p->env[j]);
		int later = 0; /* the last setting of a name wins */
		for (size_t m = j + 1; m < p->nenv && !later; m++)
			later = env_name_len(p->env[m]) == len &&
				memcmp(p->env[m], p->env[j], len) == 0;
		if (!later && p->env[j][len] == '=')
			envp[k++] = p->env[j];
	}
	envp[k] = NULL;
	return envp;
}

static void push_done(struct proc_pool *pool, struct proc *p)
{
	p->next = NULL;
	if (pool->done_tail)
		pool->done_tail->next = p;
	else
		pool->done_head = p;
	pool->done_tail = p;
	pool->ndone++;
}

static void fail_to_start(struct proc_pool *pool, struct proc *p, int e)
{
	p->res.spawn_errno = e;
	sb_addf(&p->res.error, "cannot start '%s': %s", p->path, strerror(e));
	push_done(pool, p);
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

/* Start p; on failure it goes straight to the done list with the reason. */
static void start_proc(struct proc_pool *pool, struct proc *p)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int status[2] = { -1, -1 };
	int devnull = -1;

	if (p->in_data) {
		if (make_pipe(in, 1) < 0)
			goto fail;
	} else {
		devnull = fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
		if (devnull < 0)
			goto fail;
	}
	if (make_pipe(out, 0) < 0 || make_pipe(err, 0) < 0 || make_pipe(status, 0) < 0)
		goto fail;

	struct child_plan cp;
	memset(&cp, 0, sizeof(cp));
	cp.in = p->in_data ? in[0] : devnull;
	cp.out = out[1];
	cp.err = err[1];
	cp.status = status[1];
	cp.max_fd = sysconf(_SC_OPEN_MAX);
	if (cp.max_fd < 0 || cp.max_fd > 65536)
		cp.max_fd = 65536;
	cp.dfl.sa_handler = SIG_DFL;
	sigemptyset(&cp.dfl.sa_mask);
	cp.envp = build_env(p);

	/* no handler of ours may run in the child before it resets them */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	p->start_ms = now_ms();
	pid_t pid = fork();
	if (pid == 0)
		child_exec(p, &cp);
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(cp.envp);
	if (pid < 0) {
		errno = fork_errno;
		goto fail;
	}
	setpgid(pid, pid); /* also here, so the group exists before we signal it */

	close_fd(&in[0]);
	close_fd(&devnull);
	close_fd(&out[1]);
	close_fd(&err[1]);
	close_fd(&status[1]);
	p->pid = pid;
	p->pidfd = open_pidfd(pid);
	p->fd_in = in[1];
	p->fd_out = out[0];
	p->fd_err = err[0];
	p->fd_status = status[0];
	p->slot_in = p->slot_out = p->slot_err = p->slot_pid = -1;
	if (p->fd_in >= 0 && p->in_len == 0)
		close_fd(&p->fd_in);
	p->deadline_ms = p->timeout_ms ? p->start_ms + p->timeout_ms : 0;
	ALLOC_GROW(pool->running, pool->nrunning + 1, pool->alloc_running);
	pool->running[pool->nrunning++] = p;
	return;

fail:;
	int e = errno;
	int *fds[] = { &in[0], &in[1], &out[0], &out[1], &err[0], &err[1],
		       &status[0], &status[1], &devnull };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		close_fd(fds[i]);
	fail_to_start(pool, p, e);
}

static void start_queued(struct proc_pool *pool)
{
	while (pool->queue_head && pool->nrunning < pool->max_running) {
		struct proc *p = pool->queue_head;
		pool->queue_head = p->next;
		if (!pool->queue_head)
			pool->queue_tail = NULL;
		pool->nqueued--;
		start_proc(pool, p);
	}
}

/* ---- servicing -------------------------------------------------------- */

/* Read up to max_reads chunks from *fd into sb, keeping at most limit. */
static void drain(struct proc_pool *pool, struct proc *p, int *fd, struct strbuf *sb,
		  uint64_t *total, int *truncated, int max_reads)
{
	for (int i = 0; i < max_reads && *fd >= 0; i++) {
		ssize_t n = read(*fd, pool->scratch, READ_CHUNK);
		if (n > 0) {
			size_t keep = sb->len < p->limit ? p->limit - sb->len : 0;
			if (keep > (size_t)n)
				keep = (size_t)n;
			sb_add(sb, pool->scratch, keep);
			if (keep < (size_t)n)
				*truncated = 1;
			*total += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		close_fd(fd); /* end of file, or an error that is as good as one */
	}
}

static void feed(struct proc *p)
{
	size_t left = p->in_len - p->in_off;
	ssize_t n = write_nosigpipe(p->fd_in, p->in_data + p->in_off,
				    left < READ_CHUNK ? left : READ_CHUNK);
	if (n > 0)
		p->in_off += (size_t)n;
	else if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0 || p->in_off == p->in_len)
		close_fd(&p->fd_in); /* done, or the child stopped reading */
}

static void signal_group(pid_t pid, int sig)
{
	if (kill(-pid, sig) < 0 && errno == ESRCH)
		kill(pid, sig);
}

/*
 * Has the command exited? Looks without reaping (WNOWAIT). Returns 1 when
 * it has, or when it can no longer be waited for (the caller set SIGCHLD
 * to SIG_IGN and the kernel reaped it): *lost is then set.
 */
static int leader_exited(const struct proc *p, int *lost)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	*lost = 0;
	for (;;) {
		if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
			return si.si_pid != 0;
		if (errno != EINTR) {
			*lost = 1;
			return 1;
		}
	}
}

static void remove_running(struct proc_pool *pool, struct proc *p)
{
	for (size_t i = 0; i < pool->nrunning; i++)
		if (pool->running[i] == p) {
			pool->running[i] = pool->running[--pool->nrunning];
			return;
		}
}

/* The command has exited: collect everything, reap it, move it to done. */
static void finish(struct proc_pool *pool, struct proc *p, int lost, int64_t now)
{
	struct proc_result *r = &p->res;
	r->duration_ms = now - p->start_ms;
	if (r->timed_out && !lost)
		signal_group(p->pid, SIGKILL); /* whatever of the tree is left */
	drain(pool, p, &p->fd_out, &r->out, &r->out_total, &r->out_truncated, READS_AT_EXIT);
	drain(pool, p, &p->fd_err, &r->err, &r->err_total, &r->err_truncated, READS_AT_EXIT);
	close_fd(&p->fd_out);
	close_fd(&p->fd_err);
	close_fd(&p->fd_in);

	int msg[2];
	ssize_t got;
	do
		got = read(p->fd_status, msg, sizeof(msg));
	while (got < 0 && errno == EINTR);
	close_fd(&p->fd_status);

	int wstatus = 0;
	if (!lost) {
		while (waitpid(p->pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(wstatus))
			r->exit_code = WEXITSTATUS(wstatus);
		else if (WIFSIGNALED(wstatus))
			r->signal = WTERMSIG(wstatus);
	}
	close_fd(&p->pidfd);

	if (got == (ssize_t)sizeof(msg)) {
		r->spawn_errno = msg[1] ? msg[1] : EINVAL;
		r->exit_code = -1;
		r->signal = 0;
		if (msg[0] == STAGE_CWD)
			sb_addf(&r->error, "cannot change directory to '%s' for '%s': %s",
				p->cwd, p->path, strerror(r->spawn_errno));
		else
			sb_addf(&r->error, "cannot run '%s': %s", p->path,
				strerror(r->spawn_errno));
	}
	remove_running(pool, p);
	push_done(pool, p);
}

static short revents_at(const struct pollfd *fds, size_t nfds, int slot)
{
	return slot >= 0 && (size_t)slot < nfds ? fds[slot].revents : 0;
}

/* Service one running child; returns 1 when it finished (and moved). */
static int service(struct proc_pool *pool, struct proc *p, const struct pollfd *fds,
		   size_t nfds, int64_t now)
{
	struct proc_result *r = &p->res;
	if (p->fd_in >= 0 && revents_at(fds, nfds, p->slot_in))
		feed(p);
	if (p->fd_out >= 0 && revents_at(fds, nfds, p->slot_out))
		drain(pool, p, &p->fd_out, &r->out, &r->out_total, &r->out_truncated,
		      READS_PER_ROUND);
	if (p->fd_err >= 0 && revents_at(fds, nfds, p->slot_err))
		drain(pool, p, &p->fd_err, &r->err, &r->err_total, &r->err_truncated,
		      READS_PER_ROUND);

	int lost;
	if ((p->pidfd < 0 || revents_at(fds, nfds, p->slot_pid)) && leader_exited(p, &lost)) {
		finish(pool, p, lost, now);
		return 1;
	}
	if (p->deadline_ms && !r->timed_out && now >= p->deadline_ms) {
		r->timed_out = 1;
		signal_group(p->pid, SIGTERM);
		signal_group(p->pid, SIGCONT); /* a stopped member could not act on it */
		p->kill_ms = now + p->grace_ms;
	} else if (p->kill_ms && now >= p->kill_ms) {
		signal_group(p->pid, SIGKILL);
		p->kill_ms = 0;
	}
	return 0;
}

/* ---- the pool --------------------------------------------------------- */

struct proc_pool *proc_pool_new(size_t max_running)
{
	struct proc_pool *pool = xcalloc(1, sizeof(*pool));
	pool->max_running = max_running ? max_running : 64;
	pool->scratch = xmalloc(READ_CHUNK);
	return pool;
}

static void proc_free(struct proc *p)
{
	proc_argv_free(p->argv);
	for (size_t i = 0; i < p->nenv; i++)
		free(p->env[i]);
	free(p->env);
	free(p->cwd);
	free(p->in_data);
	proc_result_release(&p->res);
	free(p);
}

static void free_list(struct proc *p)
{
	while (p) {
		struct proc *next = p->next;
		proc_free(p);
		p = next;
	}
}

void proc_pool_free(struct proc_pool *pool)
{
	if (!pool)
		return;
	for (size_t i = 0; i < pool->nrunning; i++) {
		struct proc *p = pool->running[i];
		signal_group(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		int *fds[] = { &p->fd_in, &p->fd_out, &p->fd_err, &p->fd_status, &p->pidfd };
		for (size_t j = 0; j < ARRAY_SIZE(fds); j++)
			close_fd(fds[j]);
		proc_free(p);
	}
	free(pool->running);
	free_list(pool->queue_head);
	free_list(pool->done_head);
	free(pool->pfds);
	free(pool->scratch);
	free(pool);
}

/* Why spec cannot be run, or NULL; the reason is written to why. */
static const char *invalid_spec(const struct proc_spec *spec, struct strbuf *why)
{
	if (!spec->argv == !spec->shell)
		sb_addstr(why, "invalid command: give either an argv array or a shell string");
	else if (spec->argv && (!spec->argv[0] || !spec->argv[0][0]))
		sb_addstr(why, "invalid command: empty argv");
	else if (spec->timeout_ms < 0 || spec->grace_ms < 0)
		sb_addstr(why, "invalid command: negative timeout or grace period");
	for (size_t i = 0; i < spec->nenv && !why->len; i++) {
		const char *name = spec->env[i].name;
		if (!name || !*name || strchr(name, '='))
			sb_addf(why, "invalid environment variable name '%s'", name ? name : "");
	}
	return why->len ? why->buf : NULL;
}

void proc_pool_add(struct proc_pool *pool, const struct proc_spec *spec, void *user)
{
	struct proc *p = xcalloc(1, sizeof(*p));
	p->user = user;
	p->pid = -1;
	p->pidfd = p->fd_in = p->fd_out = p->fd_err = p->fd_status = -1;
	proc_result_init(&p->res);
	if (invalid_spec(spec, &p->res.error)) {
		p->res.spawn_errno = EINVAL;
		push_done(pool, p);
		return;
	}

	if (spec->argv) {
		p->argv = proc_expand_argv(spec->argv, NULL, 0);
		p->path = p->argv[0];
		p->search_path = 1;
	} else {
		const char *sh[] = { "sh", "-c", spec->shell, NULL };
		p->argv = proc_expand_argv(sh, NULL, 0);
		p->path = "/bin/sh";
	}
	p->env = xcalloc(spec->nenv + 1, sizeof(*p->env));
	p->nenv = spec->nenv;
	for (size_t i = 0; i < spec->nenv; i++)
		p->env[i] = spec->env[i].value
				    ? xasprintf("%s=%s", spec->env[i].name, spec->env[i].value)
				    : xstrdup(spec->env[i].name);
	p->cwd = spec->cwd ? xstrdup(spec->cwd) : NULL;
	if (spec->stdin_data) {
		p->in_data = xmemdup(spec->stdin_data, spec->stdin_len);
		p->in_len = spec->stdin_len;
	}
	p->timeout_ms = spec->timeout_ms;
	p->grace_ms = spec->grace_ms ? spec->grace_ms : PROC_GRACE_DEFAULT;
	p->limit = spec->capture_limit ? spec->capture_limit : PROC_CAPTURE_DEFAULT;

	if (pool->queue_tail)
		pool->queue_tail->next = p;
	else
		pool->queue_head = p;
	pool->queue_tail = p;
	pool->nqueued++;
}

size_t proc_pool_max_fds(const struct proc_pool *pool)
{
	return pool->max_running * 4;
}

size_t proc_pool_pollfds(struct proc_pool *pool, struct pollfd *fds, size_t max)
{
	start_queued(pool);
	size_t n = 0;
	for (size_t i = 0; i < pool->nrunning; i++) {
		struct proc *p = pool->running[i];
		struct {
			int fd;
			short events;
			int *slot;
		} want[] = {
			{ p->fd_in, POLLOUT, &p->slot_in },
			{ p->fd_out, POLLIN, &p->slot_out },
			{ p->fd_err, POLLIN, &p->slot_err },
			{ p->pidfd, POLLIN, &p->slot_pid },
		};
		for (size_t j = 0; j < ARRAY_SIZE(want); j++) {
			*want[j].slot = -1;
			if (want[j].fd < 0 || n >= max)
				continue;
			fds[n].fd = want[j].fd;
			fds[n].events = want[j].events;
			fds[n].revents = 0;
			*want[j].slot = (int)n++;
		}
	}
	return n;
}

int proc_pool_timeout(const struct proc_pool *pool)
{
	if (pool->ndone || (pool->nqueued && pool->nrunning < pool->max_running))
		return 0;
	int64_t now = now_ms(), wait = -1;
	for (size_t i = 0; i < pool->nrunning; i++) {
		const struct proc *p = pool->running[i];
		int64_t w = -1;
		if (p->deadline_ms && !p->res.timed_out)
			w = p->deadline_ms - now;
		else if (p->kill_ms)
			w = p->kill_ms - now;
		if (p->pidfd < 0) {
			int64_t slice = p->fd_out < 0 && p->fd_err < 0 ? POLL_SLICE_EOF_MS
								       : POLL_SLICE_MS;
			if (w < 0 || w > slice)
				w = slice;
		}
		if (w >= 0 && (wait < 0 || w < wait))
			wait = w;
	}
	if (wait > INT_MAX)
		wait = INT_MAX;
	return wait < 0 ? -1 : (int)(wait > 0 ? wait : 0);
}

int proc_pool_dispatch(struct proc_pool *pool, const struct pollfd *fds, size_t nfds)
{
	int64_t now = now_ms();
	for (size_t i = 0; i < pool->nrunning;)
		if (!service(pool, pool->running[i], fds, nfds, now))
			i++; /* a finished one was replaced by the last: look again */
	return (int)pool->ndone;
}

int proc_pool_run_step(struct proc_pool *pool, int timeout_ms)
{
	size_t cap = proc_pool_max_fds(pool);
	ALLOC_GROW(pool->pfds, cap, pool->alloc_pfds);
	size_t n = proc_pool_pollfds(pool, pool->pfds, cap);
	int wait = proc_pool_timeout(pool);
	if (timeout_ms >= 0 && (wait < 0 || wait > timeout_ms))
		wait = timeout_ms;
	if (!pool->nrunning)
		wait = 0; /* nothing could wake us */
	if (poll(pool->pfds, n, wait) < 0 && errno != EINTR)
		return -1;
	return proc_pool_dispatch(pool, pool->pfds, n);
}

int proc_pool_next(struct proc_pool *pool, void **user, struct proc_result *r)
{
	struct proc *p = pool->done_head;
	if (!p)
		return 0;
	pool->done_head = p->next;
	if (!pool->done_head)
		pool->done_tail = NULL;
	pool->ndone--;
	if (user)
		*user = p->user;
	proc_result_release(r);
	*r = p->res;
	proc_result_init(&p->res);
	proc_free(p);
	return 1;
}

size_t proc_pool_pending(const struct proc_pool *pool)
{
	return pool->nqueued + pool->nrunning + pool->ndone;
}

size_t proc_pool_running(const struct proc_pool *pool)
{
	return pool->nrunning;
}

/* ---- one at a time ---------------------------------------------------- */

int proc_run(const struct proc_spec *spec, struct proc_result *r)
{
	struct proc_pool *pool = proc_pool_new(1);
	proc_pool_add(pool, spec, NULL);
	while (!proc_pool_next(pool, NULL, r))
		if (proc_pool_run_step(pool, -1) < 0)
			die_errno("cannot wait for '%s'",
				  spec->argv ? spec->argv[0] : "/bin/sh");
	proc_pool_free(pool);
	if (r->spawn_errno) {
		errno = r->spawn_errno;
		return -1;
	}
	return 0;
}
