/*
 * run_process.c: the process instance driver: every instance is a local
 * process ofs-deploy starts itself, on a port it picks.
 *
 * An instance must outlive the deploy that started it (a deploy killed
 * with -9 is resumed later; the instances it left keep serving), so the
 * child is started in a session of its own (setsid): no signal meant
 * for the deploy's process group or terminal reaches it. It is the
 * command itself (exec'd, or /bin/sh -c for a string), with stdin from
 * /dev/null and stdout and stderr appended to DIR/logs/ID.log; its pid
 * goes to DIR/run/ID.pid and, with its start time, into the instance
 * record, so a later run (resume, rollback) finds it and never mistakes
 * a reused pid for it. While the deploy lives the instance is its child
 * and is reaped here (waitpid WNOHANG); after a resume it is judged
 * through /proc (pid.h).
 *
 * A port is the lowest of the spec's range that no live instance of the
 * deploy holds and that no listener holds right now: a bind with
 * SO_REUSEADDR fails on Linux only when a socket listens there (on that
 * address or the wildcard), while connections in TIME_WAIT, which the
 * server will not mind, do not count.
 */
#include "common.h"
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "deploy.h"
#include "pid.h"
#include "state.h"
#include "timefmt.h"
#include "units.h"

extern char **environ;

#define POLL_NS (20 * 1000000LL)      /* between looks at a stopping process */
#define KILL_WAIT_NS (5000000000LL)   /* for SIGKILL to take effect */

/* ---- ports ------------------------------------------------------------- */

/* Whether no socket listens on host:port now (see the top of the file). */
static bool port_free(const char *host, int port)
{
	char service[16];
	snprintf(service, sizeof(service), "%d", port);
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, service, &hints, &res) != 0)
		return false;
	bool bound = false, in_use = false;
	for (struct addrinfo *ai = res; ai && !in_use; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			bound = true;
		else if (errno == EADDRINUSE)
			in_use = true;
		close(fd);
	}
	freeaddrinfo(res);
	return bound && !in_use;
}

/* Whether an instance of d that is not stopped has port. */
static bool port_taken(const struct dp_deploy *d, int port)
{
	for (size_t i = 0; i < d->ninst; i++)
		if (d->inst[i]->state != DP_STOPPED && d->inst[i]->port == port)
			return true;
	return false;
}

static const char *inst_host(const struct dp_spec *spec)
{
	return spec->instances.host && *spec->instances.host ? spec->instances.host : "127.0.0.1";
}

int dp_port_pick(struct dp_deploy *d, const struct dp_spec *spec, int *port, struct strbuf *err)
{
	const struct dp_instances *is = &spec->instances;
	for (int p = is->port_min; p > 0 && p <= is->port_max; p++) {
		if (!port_taken(d, p) && port_free(inst_host(spec), p)) {
			*port = p;
			return 0;
		}
	}
	sb_addf(err, "no free port in %d-%d", is->port_min, is->port_max);
	return -1;
}

/* ---- checks before the deploy --------------------------------------- */

/* Whether path is an executable regular file. */
static bool executable(const char *path)
{
	struct stat st;
	return access(path, X_OK) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whether name (no slash) is found as a program in $PATH. */
static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	struct strbuf full = SB_INIT;
	bool found = false;
	while (!found) {
		const char *colon = strchr(path, ':');
		size_t len = colon ? (size_t)(colon - path) : strlen(path);
		sb_reset(&full);
		if (len)
			sb_add(&full, path, len);
		else
			sb_addch(&full, '.');
		sb_addf(&full, "/%s", name);
		found = executable(full.buf);
		if (!colon)
			break;
		path = colon + 1;
	}
	sb_release(&full);
	return found;
}

/* The program of hook cmd (what) can be run: argv[0], or /bin/sh. */
static int check_program(const struct dp_spec *spec, const char *what, const struct dp_cmd *cmd,
			 struct strbuf *err)
{
	if (cmd->shell) {
		if (executable("/bin/sh"))
			return 0;
		sb_addf(err, "%s: cannot run '/bin/sh': %s", what, strerror(ENOENT));
		return -1;
	}
	if (!cmd->argv || !cmd->argv[0]) {
		sb_addf(err, "%s: no command given", what);
		return -1;
	}
	struct dp_hookvars hv;
	dp_hook_vars(spec, NULL, -1, &hv);
	const char *tmpl[] = { cmd->argv[0], NULL };
	char **prog = proc_expand_argv(tmpl, hv.v, hv.n);
	int rc = 0;
	if (strchr(prog[0], '/')) {
		if (!executable(prog[0])) {
			int e = access(prog[0], X_OK) < 0 ? errno : EACCES;
			sb_addf(err, "%s: cannot run '%s': %s", what, prog[0], strerror(e));
			rc = -1;
		}
	} else if (!*prog[0] || !in_path(prog[0])) {
		sb_addf(err, "%s: cannot run '%s': %s", what, prog[0], strerror(ENOENT));
		rc = -1;
	}
	proc_argv_free(prog);
	return rc;
}

static int process_prepare(struct dp_deploy *d, struct strbuf *err)
{
	const struct dp_spec *spec = d->spec;
	const struct dp_instances *is = &spec->instances;
	if (check_program(spec, "start", &is->start, err) < 0)
		return -1;
	if ((is->stop.argv || is->stop.shell) && check_program(spec, "stop", &is->stop, err) < 0)
		return -1;
	int port;
	if (is->port_min > 0 && dp_port_pick(d, spec, &port, err) < 0)
		return -1;
	return 0;
}

/* ---- starting ----------------------------------------------------------- */

/* The N of an id "SERVICE-rREV-N", or -1. */
static int inst_index(const struct dp_inst *in)
{
	const char *dash = strrchr(in->id, '-');
	long long n;
	if (!dash || num_parse_int(dash + 1, 0, INT_MAX, &n, NULL) < 0)
		return -1;
	return (int)n;
}

static char *inst_path(const struct dp_deploy *d, const char *sub, const struct dp_inst *in,
		       const char *ext)
{
	return xasprintf("%s/%s/%s.%s", d->dir, sub, in->id, ext);
}

/* Whether the environment entry e sets one of hv's OFS_* variables. */
static bool overridden(const char *e, const struct dp_hookvars *hv)
{
	if (strncmp(e, "OFS_", 4))
		return false;
	for (size_t j = 0; j < hv->n; j++) {
		size_t len = strlen(hv->v[j].name);
		if (!strncasecmp(e + 4, hv->v[j].name, len) && e[4 + len] == '=')
			return true;
	}
	return false;
}

/*
 * The child's environment, built before fork: ours with hv's variables
 * set as OFS_NAME=value. The new strings are kept in *owned (freed with
 * proc_argv_free) and the array is freed by the caller.
 */
static char **child_env(const struct dp_hookvars *hv, char ***owned)
{
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **envp = xcalloc(n + hv->n + 1, sizeof(*envp));
	char **vars = xcalloc(hv->n + 1, sizeof(*vars));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!overridden(environ[i], hv))
			envp[k++] = environ[i];
	for (size_t j = 0; j < hv->n; j++) {
		struct strbuf sb = SB_INIT;
		sb_addstr(&sb, "OFS_");
		for (const char *c = hv->v[j].name; *c; c++)
			sb_addch(&sb, *c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
		sb_addf(&sb, "=%s", hv->v[j].value);
		vars[j] = sb_detach(&sb, NULL);
		envp[k++] = vars[j];
	}
	*owned = vars;
	return envp;
}

/* What the child needs, prepared before fork. */
struct launch {
	char **argv;        /* what to exec (NULL-terminated) */
	bool search;        /* argv[0] through PATH */
	char **envp;
	int in, out, status;
	long max_fd;
};

static void child_fail(int fd)
{
	int e = errno;
	ssize_t w = write(fd, &e, sizeof(e));
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

static void child_run(const struct launch *l)
{
	setsid();
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(l->in, 0) < 0 || dup2(l->out, 1) < 0 || dup2(l->out, 2) < 0)
		child_fail(l->status);
	/* keep only 0..2 and the status pipe, which closes at exec */
	close_from(3, l->status - 1, l->max_fd);
	close_from(l->status + 1, INT_MAX, l->max_fd);
	if (l->search)
		execvpe(l->argv[0], l->argv, l->envp);
	else
		execve(l->argv[0], l->argv, l->envp);
	child_fail(l->status);
}

/*
 * Fork and exec l in a session of its own. Returns the pid, or -1 with
 * "cannot run 'PROG': REASON" in err (the child is reaped).
 */
static pid_t spawn(struct launch *l, struct strbuf *err)
{
	int st[2];
	if (pipe2(st, O_CLOEXEC) < 0) {
		sb_addf(err, "cannot start '%s': %s", l->argv[0], strerror(errno));
		return -1;
	}
	l->status = st[1];
	l->max_fd = sysconf(_SC_OPEN_MAX);
	if (l->max_fd < 0 || l->max_fd > 65536)
		l->max_fd = 65536;
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0)
		child_run(l);
	int fork_errno = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(st[1]);
	if (pid < 0) {
		close(st[0]);
		sb_addf(err, "cannot start '%s': %s", l->argv[0], strerror(fork_errno));
		return -1;
	}
	int child_errno = 0;
	ssize_t n;
	while ((n = read(st[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR)
		;
	close(st[0]);
	if (n > 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		sb_addf(err, "cannot run '%s': %s", l->argv[0], strerror(child_errno));
		return -1;
	}
	return pid;
}

/* Open DIR/SUB (made 0700) and the file in it; -1 with err. */
static int open_in_dir(const struct dp_deploy *d, const char *sub, const char *path, int flags,
		       struct strbuf *err)
{
	char *dir = xasprintf("%s/%s", d->dir, sub);
	int rc = state_mkdirs(dir, 0700, err);
	free(dir);
	if (rc < 0)
		return -1;
	int fd = open(path, flags | O_CLOEXEC, 0600);
	if (fd < 0)
		sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
	return fd;
}

static int write_pid_file(const struct dp_deploy *d, const struct dp_inst *in, struct strbuf *err)
{
	char *dir = xasprintf("%s/run", d->dir);
	char *path = inst_path(d, "run", in, "pid");
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", in->pid);
	int rc = state_mkdirs(dir, 0700, err);
	if (rc == 0)
		rc = state_write_atomic(path, buf, (size_t)n, 0600, err);
	free(dir);
	free(path);
	return rc;
}

static int launch_instance(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst *in,
			   struct strbuf *err)
{
	const struct dp_cmd *cmd = &spec->instances.start;
	if (!cmd->argv && !cmd->shell) {
		sb_addstr(err, "start: no command given");
		return -1;
	}
	char *log = inst_path(d, "logs", in, "log");
	int out = open_in_dir(d, "logs", log, O_WRONLY | O_CREAT | O_APPEND, err);
	free(log);
	if (out < 0)
		return -1;
	int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in_fd < 0) {
		sb_addf(err, "cannot open '/dev/null': %s", strerror(errno));
		close(out);
		return -1;
	}
	struct dp_hookvars hv;
	dp_hook_vars(spec, in, inst_index(in), &hv);
	char **vars = NULL;
	struct launch l;
	memset(&l, 0, sizeof(l));
	char *sh[] = { "/bin/sh", "-c", cmd->shell, NULL };
	char **argv = NULL;
	if (cmd->argv) {
		argv = proc_expand_argv((const char *const *)cmd->argv, hv.v, hv.n);
		l.argv = argv;
		l.search = !strchr(argv[0], '/');
	} else {
		l.argv = sh;
	}
	l.envp = child_env(&hv, &vars);
	l.in = in_fd;
	l.out = out;
	pid_t pid = spawn(&l, err);
	close(in_fd);
	close(out);
	free(l.envp);
	proc_argv_free(vars);
	proc_argv_free(argv);
	if (pid < 0)
		return -1;
	struct pidstat st;
	in->pid = pid;
	in->pid_start = pid_stat(pid, &st) == 0 ? st.start : 0;
	if (write_pid_file(d, in, err) < 0) {
		/* an instance nobody could find again must not be left running */
		kill(-pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		in->pid = 0;
		in->pid_start = 0;
		return -1;
	}
	return 0;
}

static int process_start(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst *in,
			 struct strbuf *err)
{
	int port = 0;
	if (spec->instances.port_min > 0 && dp_port_pick(d, spec, &port, err) < 0)
		return -1;
	free(in->host);
	in->host = xstrdup(inst_host(spec));
	in->port = port;
	in->pid = 0;
	in->pid_start = 0;
	if (launch_instance(d, spec, in, err) < 0) {
		in->port = 0;
		return -1;
	}
	return 0;
}

/* ---- watching and stopping -------------------------------------------- */

static int process_alive(struct dp_deploy *d, const struct dp_inst *in)
{
	(void)d;
	struct pidstat st;
	pid_t pid = (pid_t)in->pid;
	if (in->pid <= 0 || in->pid > INT_MAX || pid_stat(pid, &st) < 0)
		return 0;
	if (in->pid_start && st.start != in->pid_start)
		return 0; /* the pid is another process's now: never reap that */
	int r = pid_reap(pid);
	if (r >= 0)
		return r == 0; /* our child: reaped now (gone) or running */
	return st.state != 'Z' && st.state != 'X';
}

/* Signal in's process group (its own when it leads one), only if it is
 * still the process we started. */
static void signal_inst(const struct dp_inst *in, int sig)
{
	struct pidstat st;
	pid_t pid = (pid_t)in->pid;
	if (pid <= 0 || pid_stat(pid, &st) < 0 || (in->pid_start && st.start != in->pid_start))
		return;
	if (st.pgrp == pid)
		kill(-pid, sig);
	else
		kill(pid, sig);
}

/* Kill what is left of in's session and group (started after it). */
static void kill_leftovers(const struct dp_inst *in)
{
	pid_t *left = NULL;
	size_t n = pid_group((pid_t)in->pid, in->pid_start, &left);
	for (size_t i = 0; i < n; i++)
		kill(left[i], SIGKILL);
	free(left);
}

/* Wait up to ns for in to be gone; true when it is. */
static bool wait_gone(struct dp_deploy *d, const struct dp_inst *in, int64_t ns)
{
	int64_t end = mono_ns() + ns;
	for (;;) {
		if (process_alive(d, in) == 0)
			return true;
		if (mono_ns() >= end)
			return false;
		struct timespec ts = { 0, POLL_NS };
		nanosleep(&ts, NULL);
	}
}

static int process_stop(struct dp_deploy *d, const struct dp_spec *spec, struct dp_inst *in,
			struct strbuf *err)
{
	const struct dp_instances *is = &spec->instances;
	if (is->stop.argv || is->stop.shell) {
		struct dp_hookvars hv;
		struct strbuf why = SB_INIT;
		dp_hook_vars(spec, in, inst_index(in), &hv);
		if (dp_hook_run("stop", &is->stop, &hv, NULL, is->stop_timeout_ns, NULL, &why) < 0 &&
		    process_alive(d, in) != 0) {
			warn("instance '%s': %s; stopping it with SIGTERM", in->id, why.buf);
			signal_inst(in, SIGTERM);
		}
		sb_release(&why);
	} else if (process_alive(d, in) != 0) {
		signal_inst(in, SIGTERM);
	}
	if (!wait_gone(d, in, is->stop_timeout_ns)) {
		signal_inst(in, SIGKILL);
		wait_gone(d, in, KILL_WAIT_NS);
	}
	if (in->pid > 0)
		kill_leftovers(in);
	if (process_alive(d, in) != 0) {
		sb_addf(err, "process %ld is still running after SIGKILL", in->pid);
		return -1;
	}
	char *path = inst_path(d, "run", in, "pid");
	unlink(path);
	free(path);
	return 0;
}

static void process_release(struct dp_deploy *d)
{
	(void)d; /* no state of its own */
}

const struct dp_runner dp_runner_process = {
	.name = "process",
	.prepare = process_prepare,
	.start = process_start,
	.ready = NULL,
	.alive = process_alive,
	.stop = process_stop,
	.release = process_release,
};

int dp_process_adopt(struct dp_deploy *d, struct dp_inst *in)
{
	if (in->pid)
		return 0;
	char *path = inst_path(d, "run", in, "pid");
	pid_t pid;
	struct pidstat st;
	struct strbuf ignored = SB_INIT; /* no pid file: the start never got that far */
	int rc = -1;
	if (pid_file_read(path, &pid, &ignored) == 0 && pid_stat(pid, &st) == 0) {
		in->pid = pid;
		in->pid_start = st.start;
		rc = 0;
	}
	sb_release(&ignored);
	free(path);
	return rc;
}
