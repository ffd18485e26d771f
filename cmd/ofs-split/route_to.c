/*
 * route_to.c: the targets of `ofs-split route --to`: standard output, a
 * file (gzip for ".gz", through out.h), or a command reading the records
 * on its standard input.
 *
 * A command target is a streaming consumer, not a hook: it runs for the
 * whole of the input, so it has no timeout, and it stays in ofs-split's
 * process group, as the commands of a shell pipeline do, so that Ctrl-C
 * reaches both. It is started by /bin/sh -c with the variant in
 * OFS_VARIANT (never spliced into the command), SIGPIPE and the other
 * signals back to their defaults, and no descriptor of ours but its
 * stdin (every pipe is close-on-exec, so one command never holds another
 * one's input open and all of them see end of input when we close).
 */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "out.h"
#include "route.h"

#define PIPE_BUFSZ (64 * 1024)

struct route_sink {
	struct out *out; /* stdout or a file; NULL for a command */
	/* a command */
	char *label;     /* "new=|cmd", for messages */
	int fd;
	pid_t pid;
	bool broken;     /* it stopped reading: records are dropped */
	struct strbuf buf;
};

static struct route_sink stdout_sink;

struct route_sink *route_sink_stdout(void)
{
	if (!stdout_sink.out)
		stdout_sink.out = out_stdout();
	return &stdout_sink;
}

static void child_exec(int rfd, const char *cmd, const char *variant) __attribute__((noreturn));
static void child_exec(int rfd, const char *cmd, const char *variant)
{
	if (rfd != STDIN_FILENO) {
		if (dup2(rfd, STDIN_FILENO) < 0)
			_exit(127);
	} else {
		fcntl(rfd, F_SETFD, 0);
	}
	static const int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setenv("OFS_VARIANT", variant, 1);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

struct route_sink *route_sink_open(const char *target, const char *variant)
{
	if (!strcmp(target, "-"))
		return route_sink_stdout();
	struct route_sink *s = xcalloc(1, sizeof(*s));
	s->fd = -1;
	if (target[0] != '|') {
		s->out = out_open(target);
		return s;
	}
	s->label = xasprintf("%s=%s", variant, target);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die_errno("--to '%s': cannot make a pipe", s->label);
	/* Whatever stdio holds must not be written twice. */
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die_errno("--to '%s': cannot start the command", s->label);
	if (pid == 0)
		child_exec(p[0], target + 1, variant);
	close(p[0]);
	s->fd = p[1];
	s->pid = pid;
	sb_init(&s->buf, PIPE_BUFSZ);
	return s;
}

static void pipe_flush(struct route_sink *s)
{
	const char *p = s->buf.buf;
	size_t n = s->buf.len;
	while (n && !s->broken) {
		ssize_t w = write(s->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE) {
				s->broken = true;
				break;
			}
			die_errno("--to '%s': write error", s->label);
		}
		p += w;
		n -= (size_t)w;
	}
	sb_reset(&s->buf);
}

void route_sink_write(struct route_sink *s, const void *p, size_t n)
{
	if (s->out) {
		out_write(s->out, p, n);
		return;
	}
	if (s->broken)
		return;
	/* as out.h does: flushed before what would overflow, so a record
	 * is never split across two writes by us */
	if (s->buf.len + n > PIPE_BUFSZ)
		pipe_flush(s);
	sb_add(&s->buf, p, n);
	if (s->buf.len >= PIPE_BUFSZ)
		pipe_flush(s);
}

int route_sink_close(struct route_sink *s, struct strbuf *err)
{
	if (s == &stdout_sink) {
		out_flush(s->out);
		return 0;
	}
	int rc = 0;
	if (s->out) {
		out_close(s->out);
	} else {
		pipe_flush(s);
		close(s->fd);
		int st;
		pid_t got;
		while ((got = waitpid(s->pid, &st, 0)) < 0 && errno == EINTR)
			;
		if (got < 0) {
			sb_addf(err, "--to '%s': cannot wait for the command: %s", s->label,
				strerror(errno));
			rc = -1;
		} else if (WIFEXITED(st) && WEXITSTATUS(st)) {
			sb_addf(err, "--to '%s': the command exited with status %d", s->label,
				WEXITSTATUS(st));
			rc = -1;
		} else if (WIFSIGNALED(st) && !(s->broken && WTERMSIG(st) == SIGPIPE)) {
			sb_addf(err, "--to '%s': the command was killed by signal %d (%s)", s->label,
				WTERMSIG(st), strsignal(WTERMSIG(st)));
			rc = -1;
		}
		sb_release(&s->buf);
	}
	free(s->label);
	free(s);
	return rc;
}
