/*
 * test_sig.c: a termination signal is recorded, wakes a poll loop through
 * sig_fd, and maps to exit status 128 + N.
 */
#include "common.h"
#include <poll.h>
#include <signal.h>

#include "sig.h"
#include "tap.h"

int main(void)
{
	sig_setup();
	sig_setup();
	is_int(sig_pending(), 0, "no signal yet");
	is_int(sig_exit_status(), 0, "so no signal status");
	struct pollfd pfd = { sig_fd(), POLLIN, 0 };
	is_int(poll(&pfd, 1, 0), 0, "the signal descriptor is quiet");

	raise(SIGTERM);
	is_int(sig_pending(), SIGTERM, "SIGTERM is recorded, not fatal");
	is_int(poll(&pfd, 1, 1000), 1, "and wakes a poll loop");
	is_int(sig_exit_status(), 128 + SIGTERM, "exit status 143");

	sig_reset();
	is_int(sig_pending(), 0, "reset forgets it");
	is_int(poll(&pfd, 1, 0), 0, "and drains the descriptor");

	raise(SIGINT);
	is_int(sig_exit_status(), 130, "SIGINT gives 130");
	sig_reset();
	raise(SIGHUP);
	is_int(sig_pending(), SIGHUP, "SIGHUP is handled the same way");
	sig_reset();
	sig_catch(SIGUSR2);
	raise(SIGUSR2);
	is_int(sig_pending(), SIGUSR2, "sig_catch adds SIGUSR2 to the recorded signals");
	is_int(poll(&pfd, 1, 0), 1, "and it wakes the descriptor too");
	is_int(sig_exit_status(), 128 + SIGUSR2, "exit status 140");
	return tap_done();
}
