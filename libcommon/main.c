/*
 * main.c: the one main() of every ofs binary, in the manner of git.
 *
 * It names the program after argv[0] for messages, ignores SIGPIPE so a
 * closed pipe shows up as EPIPE on write (the output layer then ends the
 * tool quietly with status 0), calls the tool's cmd_main and finally
 * flushes every output (out.h) and stdout, turning a failed write into
 * status 4.
 */
#include "common.h"
#include <signal.h>

#include "main.h"
#include "out.h"

int main(int argc, char **argv)
{
	if (argc > 0 && argv[0] && *argv[0]) {
		const char *slash = strrchr(argv[0], '/');
		ofs_progname = slash ? slash + 1 : argv[0];
	}
	signal(SIGPIPE, SIG_IGN);
	int status = cmd_main(argc, argv);
	out_finish(status);
	exit_after_output(status);
}
