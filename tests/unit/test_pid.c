/*
 * test_pid.c: unit tests for pid.c: a forked child is alive with its
 * start time and not with another, its stat names us as parent and it
 * as its group; after it exits pid_reap reaps it exactly once and it is
 * gone; pid_group finds the members of a group; pid_listener finds this
 * test as the holder of a socket it binds and listens on, and nothing on
 * a port nobody listens on; pid_file_read reads pids with blanks and
 * rejects missing, empty, non-numeric and out-of-range files with exact
 * messages.
 */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "pid.h"
#include "state.h"
#include "tap.h"

static char tmpdir[64];

static void test_self(void)
{
	struct pidstat st;
	is_int(pid_stat(getpid(), &st), 0, "pid_stat of ourselves");
	is_int(st.ppid, getppid(), "our parent");
	ok(st.start > 0, "our start time is known");
	ok(pid_self_start() == st.start, "pid_self_start is our start time");
	ok(pid_alive(getpid(), 0), "we are alive (any start time)");
	ok(pid_alive(getpid(), st.start), "we are alive with our start time");
	ok(!pid_alive(0, 0) && !pid_alive(-1, 0), "pids 0 and -1 are never alive");
	errno = 0;
	is_int(pid_stat(INT_MAX, &st), -1, "pid_stat of a pid that does not exist");
	is_int(errno, ENOENT, "... with ENOENT");
}

static void test_child(void)
{
	int go[2];
	if (pipe(go) < 0) {
		ok(0, "pipe: %s", strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		setpgid(0, 0);
		ssize_t r = read(go[0], &c, 1); /* until the parent says */
		_exit(r == 1 ? 7 : 8);
	}
	close(go[0]);
	setpgid(pid, pid);
	struct pidstat st;
	is_int(pid_stat(pid, &st), 0, "pid_stat of a child");
	is_int(st.ppid, getpid(), "the child's parent is us");
	is_int(st.pgrp, pid, "the child leads its group");
	ok(pid_alive(pid, st.start), "the child is alive with its start time");
	ok(!pid_alive(pid, st.start + 1), "not alive with a wrong start time");
	ok(pid_alive(pid, 0), "alive with any start time");
	is_int(pid_reap(pid), 0, "pid_reap of a running child: 0");

	ssize_t w = write(go[1], "x", 1);
	(void)w;
	close(go[1]);
	/* wait until it is a zombie, without reaping it */
	for (int i = 0; i < 500; i++) {
		struct pidstat z;
		if (pid_stat(pid, &z) == 0 && z.state == 'Z')
			break;
		usleep(10000);
	}
	ok(!pid_alive(pid, st.start), "an exited child (a zombie) is not alive");
	is_int(pid_reap(pid), 1, "pid_reap reaps it");
	errno = 0;
	is_int(pid_reap(pid), -1, "pid_reap again: not our child any more");
	is_int(errno, ECHILD, "... with ECHILD");
	ok(!pid_alive(pid, st.start), "reaped: not alive");
	is_int(pid_reap(0), -1, "pid_reap(0) is refused");
}

static void test_group(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		pause();
		_exit(0);
	}
	/* wait until the child has its own session */
	struct pidstat st;
	for (int i = 0; i < 500; i++) {
		if (pid_stat(pid, &st) == 0 && st.session == pid)
			break;
		usleep(10000);
	}
	pid_t *members = NULL;
	size_t n = pid_group(pid, st.start, &members);
	is_int((long long)n, 1, "pid_group finds the one member");
	if (n == 1)
		is_int(members[0], pid, "... the child");
	free(members);
	n = pid_group(pid, st.start + 1000000, &members);
	is_int((long long)n, 0, "none that started after a later time");
	free(members);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	n = pid_group(pid, 0, &members);
	is_int((long long)n, 0, "none once it is gone");
	free(members);
}

/* A socket listening on 127.0.0.1 on a free port; -1 on failure. */
static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_listener(void)
{
	int port = 0;
	int fd = listen_any(&port);
	if (!ok(fd >= 0, "listen on a free port"))
		return;
	pid_t pid = 0;
	struct strbuf err = SB_INIT;
	is_int(pid_listener(port, &pid, &err), 0, "pid_listener finds the listener");
	is_int(pid, getpid(), "... which is this test");
	is_str(err.buf, "", "... and says nothing");
	close(fd);
	sb_reset(&err);
	pid = 0;
	is_int(pid_listener(port, &pid, &err), -1, "closed: nothing listens");
	char want[96];
	snprintf(want, sizeof(want), "nothing that %s may see listens on port %d", ofs_progname,
		 port);
	is_str(err.buf, want, "... with the reason");
	is_int(pid, 0, "... and *pid untouched");
	sb_release(&err);
}

static const struct {
	const char *name;
	const char *content; /* NULL: the file does not exist */
	long pid;            /* 0: an error */
	const char *err;     /* "missing" or "bad": which message */
} file_cases[] = {
	{ "plain", "4242\n", 4242, NULL },
	{ "blanks", "  \t17 \r\n\n", 17, NULL },
	{ "no newline", "1", 1, NULL },
	{ "max", "2147483647", 2147483647L, NULL },
	{ "missing", NULL, 0, "missing" },
	{ "empty", "", 0, "bad" },
	{ "word", "pid 12\n", 0, "bad" },
	{ "zero", "0\n", 0, "bad" },
	{ "negative", "-5\n", 0, "bad" },
	{ "too big", "2147483648\n", 0, "bad" },
	{ "two", "12 13\n", 0, "bad" },
};

static void test_file(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_cases); i++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/case%zu.pid", tmpdir, i);
		if (file_cases[i].content &&
		    state_write_atomic(path, file_cases[i].content, strlen(file_cases[i].content),
				       0600, NULL) < 0) {
			ok(0, "write %s", path);
			continue;
		}
		pid_t pid = 99;
		struct strbuf err = SB_INIT;
		int rc = pid_file_read(path, &pid, &err);
		char name[96];
		if (file_cases[i].pid) {
			snprintf(name, sizeof(name), "pid file %s: read", file_cases[i].name);
			is_int(rc, 0, name);
			is_int(pid, file_cases[i].pid, name);
			is_str(err.buf, "", name);
		} else {
			char want[256];
			if (!strcmp(file_cases[i].err, "missing"))
				snprintf(want, sizeof(want),
					 "cannot read pid file '%s': No such file or directory", path);
			else
				snprintf(want, sizeof(want), "pid file '%s' does not hold a pid", path);
			snprintf(name, sizeof(name), "pid file %s: refused", file_cases[i].name);
			is_int(rc, -1, name);
			is_int(pid, 99, name);
			is_str(err.buf, want, name);
		}
		sb_release(&err);
		unlink(path);
	}
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/ofs-test-pid.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_self();
	test_child();
	test_group();
	test_listener();
	test_file();
	rmdir(tmpdir);
	return tap_done();
}
