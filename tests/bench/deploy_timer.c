/*
 * deploy_timer.c: the two measurements tests/bench/deploy.sh cannot make
 * well from the shell, where a fork of curl or of GNU time costs more
 * than what is measured.
 *
 *   deploy_timer startup PORT CMD [ARG...]
 *       Start CMD (stdin, stdout and stderr on /dev/null) and ask
 *       GET /health of 127.0.0.1:PORT every millisecond until it answers
 *       2xx; print {"ready_us": N}, the time from the fork to that
 *       answer, then stop CMD with SIGTERM (SIGKILL after 5 s). This is
 *       the instance's own start-up, which a deploy can only wait for.
 *   deploy_timer cpu OUT CMD [ARG...]
 *       Run CMD and write to the file OUT (so CMD keeps standard output
 *       for itself) {"status", "wall_s", "cpu_s", "self_cpu_s",
 *       "children_cpu_s"}: cpu_s is user + system of CMD and every
 *       descendant it reaped (wait4's rusage, what GNU time reports);
 *       children_cpu_s is the part of it those descendants spent (the
 *       zombie's cutime + cstime, read from /proc before it is reaped),
 *       and self_cpu_s the difference: the CPU of CMD's own process.
 *       Processes CMD started and left running are in neither figure.
 *       Exits with CMD's status.
 */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "timefmt.h"
#include "units.h"

#define PROBE_EVERY_NS (1000000LL)        /* between two /health probes */
#define PROBE_TIMEOUT_MS 200               /* for one probe's answer */
#define STARTUP_LIMIT_NS (30000000000LL)   /* give up on an instance after 30 s */

/* Fork and exec argv with stdio on /dev/null; the pid (dies on failure). */
static pid_t start(char **argv)
{
	pid_t pid = fork();
	if (pid < 0)
		die_errno("cannot fork");
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Whether GET /health on 127.0.0.1:port answers 2xx now. */
static bool healthy(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die_errno("cannot create a socket");
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = false;
	static const char req[] = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1)) {
		char buf[16] = { 0 };
		size_t got = 0;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		while (got < 12 && poll(&p, 1, PROBE_TIMEOUT_MS) == 1) {
			ssize_t n = read(fd, buf + got, 12 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		/* "HTTP/1.x 2.." */
		ok = got >= 10 && !strncmp(buf, "HTTP/1.", 7) && buf[9] == '2';
	}
	close(fd);
	return ok;
}

/* Stop pid: SIGTERM, then SIGKILL if it is still there after 5 s. */
static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	int64_t until = mono_ns() + 5000000000LL;
	while (waitpid(pid, NULL, WNOHANG) == 0) {
		if (mono_ns() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return;
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
}

static int startup_cmd(int argc, char **argv)
{
	long long port;
	struct strbuf err = SB_INIT;
	if (argc < 4)
		die_usage("usage: deploy_timer startup PORT CMD [ARG...]");
	if (num_parse_int(argv[2], 1, 65535, &port, &err) < 0)
		die_usage("port '%s': %s", argv[2], err.buf);
	sb_release(&err);
	int64_t t0 = mono_ns();
	pid_t pid = start(argv + 3);
	for (;;) {
		if (healthy((int)port))
			break;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			die("'%s' exited before it answered on port %lld", argv[3], port);
		if (mono_ns() - t0 > STARTUP_LIMIT_NS) {
			stop(pid);
			die("'%s' did not answer on port %lld within 30s", argv[3], port);
		}
		struct timespec ts = { 0, PROBE_EVERY_NS };
		nanosleep(&ts, NULL);
	}
	int64_t t1 = mono_ns();
	stop(pid);
	printf("{\"ready_us\":%lld}\n", (long long)((t1 - t0) / 1000));
	return 0;
}

/* cutime + cstime of the zombie pid, in seconds, from /proc/PID/stat. */
static double children_cpu(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die_errno("cannot open '%s'", path);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		die("cannot read '%s'", path);
	buf[n] = '\0';
	/* fields after "(comm)": 3 state ... 16 cutime 17 cstime */
	char *p = strrchr(buf, ')');
	unsigned long long cu, cs;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %llu %llu",
			 &cu, &cs) != 2)
		die("cannot parse '%s'", path);
	return (double)(cu + cs) / (double)sysconf(_SC_CLK_TCK);
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int cpu_cmd(int argc, char **argv)
{
	if (argc < 4)
		die_usage("usage: deploy_timer cpu OUT CMD [ARG...]");
	const char *path = argv[2];
	char **cmd = argv + 3;
	FILE *out = fopen(path, "we");
	if (!out)
		die_errno("cannot open '%s'", path);
	int64_t t0 = mono_ns();
	pid_t pid = fork();
	if (pid < 0)
		die_errno("cannot fork");
	if (pid == 0) {
		execvp(cmd[0], cmd);
		_exit(127);
	}
	/* WNOWAIT: the zombie stays, with its children's times, until wait4 */
	siginfo_t si;
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			die_errno("cannot wait for '%s'", cmd[0]);
	int64_t t1 = mono_ns();
	double kids = children_cpu(pid);
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0)
		die_errno("cannot wait for '%s'", cmd[0]);
	double cpu = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(out,
		"{\"status\":%d,\"wall_s\":%.6f,\"cpu_s\":%.6f,\"self_cpu_s\":%.6f,"
		"\"children_cpu_s\":%.6f}\n",
		rc, (double)(t1 - t0) / 1e9, cpu, cpu > kids ? cpu - kids : 0.0, kids);
	if (fclose(out) != 0)
		die_errno("cannot write '%s'", path);
	return rc;
}

int main(int argc, char **argv)
{
	ofs_progname = "deploy_timer";
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && !strcmp(argv[1], "startup"))
		return startup_cmd(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "cpu"))
		return cpu_cmd(argc, argv);
	die_usage("usage: deploy_timer startup|cpu ...");
}
