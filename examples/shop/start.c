/*
 * start.c: `shopd start` and `shopd restart`.
 *
 * A full start (no operands, nothing running) writes a fresh runtime
 * topology: free ports (each chosen by binding port 0, all sockets held
 * until every port is known, so no two instances get the same one)
 * unless --fixed-ports, and {dir} and {shopd} filled in. Starting named
 * instances, and restarting, reuse the runtime topology. Each instance
 * is spawned as `shopd serve --dir DIR --instance ID` in a session of its
 * own, with stdin from /dev/null and stdout and stderr appended to
 * DIR/run/ID.log, and no other descriptor inherited (a test harness
 * waiting for its pipes to close must not wait for the shop). Then start
 * waits up to 10 s until every instance answers its health check, and
 * says which did not, and why, with the end of its log.
 */
#include "common.h"
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "instance.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "roles.h"
#include "shopd.h"
#include "state.h"
#include "timefmt.h"

#define START_WAIT_MS 10000

/* The topology beside the binary: BIN/../examples/shop/topology.json. */
static char *default_topology(void)
{
	char *exe = shop_exe_path();
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	char *path = xasprintf("%s/../examples/shop/topology.json", slash ? exe : ".");
	free(exe);
	return path;
}

/* Bind port 0 on each instance's host; all sockets stay open until done. */
static int pick_ports(struct shop_instance *const *ins, size_t n, bool fixed, struct strbuf *err)
{
	int *fds = xcalloc(n ? n : 1, sizeof(*fds));
	int r = 0;
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (fixed && ins[i]->port)
			continue;
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
		struct addrinfo *ai = NULL;
		int gai = getaddrinfo(ins[i]->host, "0", &hints, &ai);
		if (gai) {
			sb_addf(err, "cannot resolve '%s' for instance '%s': %s", ins[i]->host,
				ins[i]->id, gai_strerror(gai));
			r = -1;
			break;
		}
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
			sb_addf(err, "cannot find a free port on '%s': %s", ins[i]->host,
				strerror(errno));
			r = -1;
		} else {
			int port = ss.ss_family == AF_INET6
					   ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					   : ntohs(((struct sockaddr_in *)&ss)->sin_port);
			shop_topo_set_port(ins[i], port);
		}
		fds[i] = fd;
		freeaddrinfo(ai);
	}
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return r;
}

/* Fork and exec `EXE serve --dir DIR --instance ID`, detached. */
static pid_t spawn(const char *exe, const char *dir, const char *id, struct strbuf *err)
{
	char *log = shop_log_path(dir, id);
	int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid = -1;
	if (lfd < 0 || nfd < 0) {
		sb_addf(err, "cannot open '%s': %s", lfd < 0 ? log : "/dev/null", strerror(errno));
		goto done;
	}
	out_flush(out_stdout());
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		sb_addf(err, "cannot fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0) {
		setsid();
		if (dup2(nfd, 0) < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0)
			_exit(127);
		if (close_range(3, ~0U, 0) < 0) {
			long max = sysconf(_SC_OPEN_MAX);
			for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
				close((int)fd);
		}
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		char *args[] = { (char *)exe,  "serve",	   "--dir", (char *)dir,
				 "--instance", (char *)id, NULL };
		execv(exe, args);
		dprintf(2, "shopd: cannot run '%s': %s\n", exe, strerror(errno));
		_exit(127);
	}
done:
	if (lfd >= 0)
		close(lfd);
	if (nfd >= 0)
		close(nfd);
	free(log);
	return pid;
}

/* The last non-empty line of the instance's log, for error messages. */
static void log_tail(const char *dir, const char *id, struct strbuf *out)
{
	char *path = shop_log_path(dir, id);
	struct strbuf sb = SB_INIT;
	if (sb_read_file(&sb, path) == 0) {
		while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r'))
			sb_setlen(&sb, sb.len - 1);
		const char *nl = memrchr(sb.buf, '\n', sb.len);
		const char *line = nl ? nl + 1 : sb.buf;
		sb_addstr(out, line);
	}
	sb_release(&sb);
	free(path);
}

struct starting {
	struct shop_instance *in;
	pid_t pid;
	bool up, done;
	struct strbuf why;
};

/* Wait until every instance is healthy, has exited, or time is up. */
static void wait_healthy(struct starting *st, size_t n)
{
	int64_t deadline = mono_ms() + START_WAIT_MS;
	struct shop_instance **probe = xcalloc(n ? n : 1, sizeof(*probe));
	struct starting **who = xcalloc(n ? n : 1, sizeof(*who));
	struct shop_health *h = xcalloc(n ? n : 1, sizeof(*h));
	for (;;) {
		size_t np = 0;
		for (size_t i = 0; i < n; i++) {
			if (st[i].done)
				continue;
			int ws;
			if (waitpid(st[i].pid, &ws, WNOHANG) == st[i].pid) {
				st[i].done = true;
				if (WIFEXITED(ws))
					sb_addf(&st[i].why, "exited with status %d",
						WEXITSTATUS(ws));
				else
					sb_addf(&st[i].why, "killed by signal %d", WTERMSIG(ws));
				continue;
			}
			probe[np] = st[i].in;
			who[np++] = &st[i];
		}
		if (np == 0)
			break;
		shop_probe(probe, np, 500, h);
		bool late = mono_ms() >= deadline;
		size_t left = 0;
		for (size_t k = 0; k < np; k++) {
			if (shop_health_ok(&h[k])) {
				who[k]->up = who[k]->done = true;
			} else if (late) {
				who[k]->done = true;
				sb_addf(&who[k]->why, "not healthy after %d s: %s",
					START_WAIT_MS / 1000, h[k].error);
			} else {
				left++;
			}
		}
		if (!left)
			break;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	free(probe);
	free(who);
	free(h);
}

/* Start the selected instances of the shop in dir; refuse if one runs. */
static int start_instances(const char *dir, struct shop_instance **ins, size_t n)
{
	int status = 0;
	for (size_t i = 0; i < n; i++) {
		pid_t pid = shop_pid_read(dir, ins[i]->id);
		if (shop_pid_running(pid, dir, ins[i]->id)) {
			error("instance '%s' is already running (pid %d)", ins[i]->id, (int)pid);
			status = EXIT_NO;
		}
	}
	if (status)
		return status;

	char *exe = shop_exe_path();
	struct starting *st = xcalloc(n ? n : 1, sizeof(*st));
	struct strbuf err = SB_INIT;
	for (size_t i = 0; i < n; i++) {
		st[i].in = ins[i];
		sb_init(&st[i].why, 0);
		sb_reset(&err);
		st[i].pid = spawn(exe, dir, ins[i]->id, &err);
		if (st[i].pid < 0 || shop_pid_write(dir, ins[i]->id, st[i].pid, &err) < 0) {
			st[i].done = true;
			sb_addstr(&st[i].why, err.buf);
		}
	}
	wait_healthy(st, n);

	struct strbuf sb = SB_INIT;
	struct jw w;
	jw_init(&w, &sb);
	for (size_t i = 0; i < n; i++) {
		struct starting *s = &st[i];
		shop_rec_instance(&w, s->in, s->pid, s->up ? "up" : "down");
		if (!s->up) {
			char *log = shop_log_path(dir, s->in->id);
			jw_kv_str(&w, "error", s->why.buf);
			jw_kv_str(&w, "log", log);
			struct strbuf tail = SB_INIT;
			log_tail(dir, s->in->id, &tail);
			error("instance '%s' did not come up: %s; see '%s'%s%s", s->in->id,
			      s->why.buf, log, tail.len ? ": " : "", tail.buf);
			sb_release(&tail);
			free(log);
			status = EXIT_NO;
		}
		rec_end(&w, out_stdout());
		sb_release(&s->why);
	}
	sb_release(&sb);
	sb_release(&err);
	free(st);
	free(exe);
	return status;
}

/* Is any instance of t running? Reports each one found. */
static bool any_running(const struct shop_topo *t, const char *dir)
{
	bool found = false;
	for (size_t i = 0; i < t->nservices; i++) {
		for (size_t j = 0; j < t->services[i].ninstances; j++) {
			const char *id = t->services[i].instances[j].id;
			pid_t pid = shop_pid_read(dir, id);
			if (shop_pid_running(pid, dir, id)) {
				error("instance '%s' is already running (pid %d)", id, (int)pid);
				found = true;
			}
		}
	}
	return found;
}

/* Load and check the source topology (--topology, or the default). */
static int load_source(struct shop_topo *t, const char *source)
{
	struct strbuf err = SB_INIT;
	char *path = source ? xstrdup(source) : default_topology();
	int status = 0;
	if (!source && access(path, R_OK) < 0) {
		error("cannot find the default topology '%s': %s; give one with --topology", path,
		      strerror(errno));
		status = EXIT_USAGE;
	} else if (shop_topo_load(t, path, shop_roles, &err) < 0) {
		shop_print_errors(&err);
		status = EXIT_USAGE;
	}
	sb_release(&err);
	free(path);
	return status;
}

/* Choose the ports and write the runtime topology into dir. */
static int write_runtime(struct shop_topo *t, const char *dir, bool fixed)
{
	struct strbuf err = SB_INIT;
	struct shop_instance **all;
	size_t n = shop_select(NULL, t, NULL, 0, &all);
	char *rt = shop_runtime_topology(dir);
	char *exe = shop_exe_path();
	int status = 0;
	if (pick_ports(all, n, fixed, &err) < 0 ||
	    shop_topo_write_runtime(t, rt, dir, exe, &err) < 0) {
		error("%s", err.buf);
		status = EXIT_SYSTEM;
	}
	free(exe);
	free(rt);
	free(all);
	sb_release(&err);
	return status;
}

/* Make the run directory and its run/ below; the absolute path or NULL. */
static char *make_dir(const char *dir)
{
	struct strbuf err = SB_INIT;
	char *run = xasprintf("%s/run", dir);
	char *abs = NULL;
	if (state_mkdirs(run, 0700, &err) < 0)
		error("%s", err.buf);
	else if (!(abs = shop_abs_dir(dir)))
		error_errno("cannot resolve '%s'", dir);
	free(run);
	sb_release(&err);
	return abs;
}

/*
 * Everything is checked (topology, operands, nothing running) before the
 * directory is made or anything is written, so a mistake changes nothing.
 */
static int start(struct opt_parser *p, const char *dir_arg, const char *source, bool fixed,
		 char **ops, int nops)
{
	struct shop_topo t;
	struct strbuf err = SB_INIT;
	int status = 0;
	memset(&t, 0, sizeof(t));
	char *dir = shop_abs_dir(dir_arg); /* NULL while it does not exist */
	char *rt = dir ? shop_runtime_topology(dir) : NULL;
	bool have_rt = rt && access(rt, F_OK) == 0;
	bool fresh = nops == 0 || !have_rt;
	if (fresh) {
		if (have_rt && shop_load_runtime(&t, dir, &err) == 0 && any_running(&t, dir))
			status = EXIT_NO;
		shop_topo_free(&t);
		if (!status)
			status = load_source(&t, source);
	} else {
		if (source || fixed)
			warn("'%s' exists: using it, not --topology or --fixed-ports", rt);
		if (shop_load_runtime(&t, dir, &err) < 0) {
			shop_print_errors(&err);
			status = EXIT_USAGE;
		}
	}
	struct shop_instance **ins = NULL;
	size_t n = 0;
	if (!status)
		n = shop_select(p, &t, ops, nops, &ins);
	if (!status && fresh) {
		free(dir);
		dir = make_dir(dir_arg);
		status = dir ? write_runtime(&t, dir, fixed) : EXIT_SYSTEM;
	}
	if (!status)
		status = start_instances(dir, ins, n);
	free(ins);
	shop_topo_free(&t);
	sb_release(&err);
	free(rt);
	free(dir);
	return status;
}

int shop_cmd_start(int argc, char **argv)
{
	struct opt_parser p;
	const char *dir = NULL, *source = NULL;
	bool fixed = false;
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE) {
		if (c == SHOP_OPT_DIR)
			dir = p.arg;
		else if (c == SHOP_OPT_TOPOLOGY)
			source = p.arg;
		else if (c == SHOP_OPT_FIXED_PORTS)
			fixed = true;
	}
	if (!dir)
		opt_usage_error(&p, "--dir is required");
	char **ops;
	int nops = opt_operands(&p, &ops);
	int status = start(&p, dir, source, fixed, ops, nops);
	opt_end(&p);
	return status;
}

int shop_cmd_restart(int argc, char **argv)
{
	struct opt_parser p;
	const char *dir_arg = NULL;
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE)
		if (c == SHOP_OPT_DIR)
			dir_arg = p.arg;
	if (!dir_arg)
		opt_usage_error(&p, "--dir is required");
	char **ops;
	int nops = opt_operands(&p, &ops);
	if (nops == 0)
		opt_usage_error(&p, "name the instances or services to restart");
	struct strbuf err = SB_INIT;
	struct shop_topo t;
	int status = 0;
	char *dir = shop_abs_dir(dir_arg);
	if (!dir || shop_load_runtime(&t, dir, &err) < 0) {
		if (!dir)
			error_errno("no shop in '%s'", dir_arg);
		else
			shop_print_errors(&err);
		free(dir);
		sb_release(&err);
		opt_end(&p);
		return EXIT_USAGE;
	}
	struct shop_instance **ins;
	size_t n = shop_select(&p, &t, ops, nops, &ins);
	status = shop_stop_instances(dir, ins, n, false);
	if (!status)
		status = start_instances(dir, ins, n);
	free(ins);
	shop_topo_free(&t);
	free(dir);
	sb_release(&err);
	opt_end(&p);
	return status;
}
