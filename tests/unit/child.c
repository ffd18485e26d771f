/*
 * child.c: run test code in a child with captured output (see child.h).
 */
#include "common.h"
#include <fcntl.h>
#include <sys/wait.h>

#include "child.h"
#include "out.h"

void child_run(struct child_result *r, const char *out_path, int (*fn)(void *), void *arg)
{
	char outp[] = "/tmp/ofs-child-out-XXXXXX", errp[] = "/tmp/ofs-child-err-XXXXXX";
	int ofd = out_path ? open(out_path, O_WRONLY) : mkstemp(outp);
	int efd = mkstemp(errp);
	if (ofd < 0 || efd < 0)
		die_errno("cannot set up child output");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die_errno("fork");
	if (pid == 0) {
		dup2(ofd, STDOUT_FILENO);
		dup2(efd, STDERR_FILENO);
		int status = fn(arg);
		out_finish(status);
		exit_after_output(status);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	sb_init(&r->out, 0);
	sb_init(&r->err, 0);
	if (!out_path) {
		sb_read_file(&r->out, outp);
		unlink(outp);
	}
	sb_read_file(&r->err, errp);
	unlink(errp);
	close(ofd);
	close(efd);
}

void child_release(struct child_result *r)
{
	sb_release(&r->out);
	sb_release(&r->err);
}
