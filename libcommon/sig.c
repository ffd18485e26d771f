/*
 * sig.c: termination signals as flags plus a self-pipe (see sig.h).
 */
#include "common.h"
#include <fcntl.h>
#include <signal.h>

#include "sig.h"

static volatile sig_atomic_t received;
static int pipe_fds[2] = { -1, -1 };

static void on_signal(int signo)
{
	int saved = errno;
	received = signo;
	if (pipe_fds[1] >= 0) {
		char c = (char)signo;
		ssize_t w = write(pipe_fds[1], &c, 1);
		(void)w;
	}
	errno = saved;
}

void sig_setup(void)
{
	if (pipe_fds[0] >= 0)
		return;
	if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0)
		die_errno("cannot create signal pipe");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void sig_catch(int signo)
{
	sig_setup();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(signo, &sa, NULL);
}

int sig_pending(void)
{
	return received;
}

int sig_fd(void)
{
	return pipe_fds[0];
}

int sig_exit_status(void)
{
	return received ? EXIT_SIGNAL + received : 0;
}

void sig_reset(void)
{
	received = 0;
	char buf[64];
	while (pipe_fds[0] >= 0 && read(pipe_fds[0], buf, sizeof(buf)) > 0)
		;
}
