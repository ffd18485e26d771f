/*
 * exec.c: `ofs-trace exec [--name n] [--service s] [--out file] -- CMD
 * ARGS`: run a command as a span, the way otel-cli exec does, but with
 * W3C-strict propagation and a span file instead of an endpoint.
 *
 * The span is a child of $TRACEPARENT (or a new root); the command gets
 * TRACEPARENT naming the new span (and TRACESTATE passed on), and every
 * "{{traceparent}}" in its arguments replaced by that header. It inherits
 * stdin, stdout and stderr and this process group, so it behaves exactly
 * as if run directly: its exit status passes through, death by signal N
 * becomes 128+N, and SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2
 * sent to ofs-trace by another process are forwarded to it. (Signals the
 * terminal sends reach the whole foreground group already and are not
 * sent twice.) fork and execvp are used directly, not proc.h, whose
 * children are captured, timed and isolated: here the command must be
 * left alone. The span goes to --out, else $OFS_TRACE_FILE, else nowhere.
 */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "prop.h"
#include "timefmt.h"
#include "trace.h"
#include "tracectx.h"

enum { EOPT_NAME = 1000, EOPT_OUT, EOPT_SERVICE };

const struct opt exec_opts[] = {
	{ EOPT_NAME, 0, "name", "name", "the span's name (default: the command's base name)", NULL,
	  0 },
	{ EOPT_OUT, 0, "out", "file", "append the span here (default $OFS_TRACE_FILE)", "@file", 0 },
	{ EOPT_SERVICE, 0, "service", "name", "the span's service (default $OFS_SERVICE, else "
					      "ofs-trace)",
	  NULL, 0 },
	{ 0 },
};

static const int fwd_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
static volatile sig_atomic_t child_pid;

static void forward(int sig, siginfo_t *si, void *uctx)
{
	/* si_code <= 0: sent by a process (kill, sigqueue, tgkill); the
	 * kernel's own (SI_KERNEL: the terminal) reached the child already. */
	if (child_pid > 0 && (!si || si->si_code <= 0)) {
		int saved = errno;
		kill((pid_t)child_pid, sig);
		errno = saved;
	}
}

/* A copy of s with every "{{traceparent}}" replaced by tp. */
static char *replace_tp(const char *s, const char *tp)
{
	static const char pat[] = "{{traceparent}}";
	struct strbuf sb = SB_INIT;
	const char *hit;
	while ((hit = strstr(s, pat))) {
		sb_add(&sb, s, (size_t)(hit - s));
		sb_addstr(&sb, tp);
		s = hit + sizeof(pat) - 1;
	}
	sb_addstr(&sb, s);
	return sb_detach(&sb, NULL);
}

static void add_attr(struct span *s, const char *key, cJSON *v)
{
	if (!v)
		die("out of memory");
	s->attrs = xrealloc(s->attrs, (s->nattrs + 1) * sizeof(*s->attrs));
	s->attrs[s->nattrs].key = xstrdup(key);
	s->attrs[s->nattrs].value = v;
	s->nattrs++;
}

int cmd_exec(int argc, char **argv)
{
	struct opt_parser p;
	const char *name = NULL, *service = NULL, *out = NULL;
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE) {
		if (c == EOPT_NAME)
			name = p.arg;
		else if (c == EOPT_OUT)
			out = p.arg;
		else if (c == EOPT_SERVICE)
			service = p.arg;
	}
	char **ops;
	int n = opt_operands(&p, &ops);
	if (n < 1 || !*ops[0])
		opt_usage_error(&p, "a command is required: exec [options] -- command [arg ...]");
	if (!service) {
		const char *env = getenv("OFS_SERVICE");
		service = env && *env ? env : "ofs-trace";
	}

	struct tc parent = { 0 }, self;
	bool has_parent = tc_from_env(&parent) == 1;
	if (has_parent)
		tc_new_child(&parent, &self);
	else
		tc_new_root(&self);
	char tp[TC_TRACEPARENT_BUFSZ];
	tc_format_traceparent(&self, tp);
	if (tc_to_env(&self) < 0)
		die_errno("cannot set TRACEPARENT");

	char **cargv = xcalloc((size_t)n + 1, sizeof(*cargv));
	for (int i = 0; i < n; i++)
		cargv[i] = replace_tp(ops[i], tp);
	if (!name) {
		const char *slash = strrchr(cargv[0], '/');
		name = slash && slash[1] ? slash + 1 : cargv[0];
	}

	/* Block the forwarded signals until the handlers know the child. */
	sigset_t block, old;
	sigemptyset(&block);
	for (size_t i = 0; i < ARRAY_SIZE(fwd_signals); i++)
		sigaddset(&block, fwd_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &old);

	int epipe[2];
	if (pipe2(epipe, O_CLOEXEC) < 0)
		die_errno("cannot create a pipe");
	int64_t start_ns = ts_now_ns();
	pid_t pid = fork();
	if (pid < 0)
		die_errno("cannot fork");
	if (pid == 0) {
		/* ofs ignores SIGPIPE; an ignored disposition survives exec. */
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(epipe[0]);
		execvp(cargv[0], cargv);
		int e = errno;
		ssize_t wr = write(epipe[1], &e, sizeof(e));
		(void)wr;
		_exit(e == ENOENT ? 127 : 126);
	}
	close(epipe[1]);
	child_pid = pid;
	struct sigaction sa, saved[ARRAY_SIZE(fwd_signals)];
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(fwd_signals); i++)
		sigaction(fwd_signals[i], &sa, &saved[i]);
	sigprocmask(SIG_SETMASK, &old, NULL);

	int exec_errno = 0;
	ssize_t got;
	do
		got = read(epipe[0], &exec_errno, sizeof(exec_errno));
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(exec_errno))
		exec_errno = 0;
	close(epipe[0]);

	int wstatus = 0;
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR)
			die_errno("cannot wait for '%s'", cargv[0]);
	}
	int64_t end_ns = ts_now_ns();
	child_pid = 0;
	for (size_t i = 0; i < ARRAY_SIZE(fwd_signals); i++)
		sigaction(fwd_signals[i], &saved[i], NULL);

	int status, code = -1, sig = 0;
	if (WIFSIGNALED(wstatus)) {
		sig = WTERMSIG(wstatus);
		status = EXIT_SIGNAL + sig;
	} else {
		code = WEXITSTATUS(wstatus);
		status = code;
	}
	if (exec_errno)
		error("cannot run '%s': %s", cargv[0], strerror(exec_errno));

	const char *dest = prop_dest(out);
	if (dest) {
		struct span s;
		memset(&s, 0, sizeof(s));
		memcpy(s.trace_id, self.trace_id, sizeof(s.trace_id));
		memcpy(s.span_id, self.span_id, sizeof(s.span_id));
		if (has_parent) {
			memcpy(s.parent_id, parent.span_id, sizeof(s.parent_id));
			s.has_parent = true;
		}
		char msg[96] = "";
		s.service = (char *)service;
		s.name = (char *)name;
		s.kind = SPAN_INTERNAL;
		s.start_ns = start_ns;
		s.end_ns = end_ns > start_ns ? end_ns : start_ns;
		s.status = status == 0 ? SPAN_OK : SPAN_ERROR;
		if (exec_errno)
			snprintf(msg, sizeof(msg), "cannot run: %s", strerror(exec_errno));
		else if (sig)
			snprintf(msg, sizeof(msg), "killed by signal %d (%s)", sig, strsignal(sig));
		else if (code)
			snprintf(msg, sizeof(msg), "exited with status %d", code);
		s.status_message = *msg ? msg : NULL;
		add_attr(&s, "command", cJSON_CreateString(cargv[0]));
		cJSON *args = cJSON_CreateArray();
		for (int i = 1; i < n && args; i++)
			cJSON_AddItemToArray(args, cJSON_CreateString(cargv[i]));
		add_attr(&s, "args", args);
		add_attr(&s, "pid", cJSON_CreateNumber((double)pid));
		if (sig)
			add_attr(&s, "signal", cJSON_CreateNumber(sig));
		else
			add_attr(&s, "exit_code", cJSON_CreateNumber(code));
		struct strbuf err = SB_INIT;
		if (prop_emit_span(&s, dest, &err) < 0)
			error("%s", err.buf);
		sb_release(&err);
		prop_free_attrs(s.attrs, s.nattrs);
	}
	for (int i = 0; i < n; i++)
		free(cargv[i]);
	free(cargv);
	tc_free(&parent);
	tc_free(&self);
	opt_end(&p);
	return status;
}
