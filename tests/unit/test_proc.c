/*
 * test_proc.c: unit tests for proc.c: placeholder expansion, running
 * commands (argv and shell), context passing without injection, stdin,
 * exit statuses and signals, capture limits, timeouts that kill a whole
 * tree, spawn errors, the child's signals and descriptors, and the pool.
 */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "proc.h"
#include "tap.h"

static char tmpdir[PATH_MAX];

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static int file_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* The pid written (as text) into tmpdir/name, or -1. */
static pid_t read_pid(const char *name)
{
	char *path = tmp_path(name);
	struct strbuf sb = SB_INIT;
	long pid = -1;
	if (sb_read_file(&sb, path) == 0) {
		char *end;
		errno = 0;
		pid = strtol(sb.buf, &end, 10);
		if (errno || end == sb.buf || pid <= 0)
			pid = -1;
	}
	sb_release(&sb);
	free(path);
	return (pid_t)pid;
}

/* Is pid gone (or a zombie waiting for init), within about a second? */
static int process_gone(pid_t pid)
{
	for (int i = 0; i < 100; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 1;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		struct strbuf sb = SB_INIT;
		int zombie = 0;
		if (sb_read_file(&sb, path) == 0) {
			const char *rp = strrchr(sb.buf, ')');
			zombie = rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
		}
		sb_release(&sb);
		if (zombie)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void test_expand(void)
{
	static const struct proc_var vars[] = {
		{ "service", "api" },
		{ "replicas", "3" },
		{ "evil", "x'; touch /tmp/pwned; echo '$(id)" },
		{ "empty", "" },
		{ "nested", "{service}" },
		{ "null", NULL },
	};
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "{service}", "api" },
		{ "--replicas={replicas}", "--replicas=3" },
		{ "{service}-{replicas}{service}", "api-3api" },
		{ "{unknown}", "{unknown}" },
		{ "{{service}", "{service}" },
		{ "{{{service}", "{api" },
		{ "a{{b", "a{b" },
		{ "{a{service}", "{aapi" },
		{ "{service", "{service" },
		{ "service}", "service}" },
		{ "{}", "{}" },
		{ "[{empty}]", "[]" },
		{ "{evil}", "x'; touch /tmp/pwned; echo '$(id)" },
		{ "{nested}", "{service}" },
		{ "<{null}>", "<>" },
		{ "plain", "plain" },
		{ "", "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *tmpl[] = { "cmd", cases[i].in, NULL };
		char **argv = proc_expand_argv(tmpl, vars, ARRAY_SIZE(vars));
		char name[128];
		snprintf(name, sizeof(name), "expand '%s'", cases[i].in);
		ok(argv[0] && strcmp(argv[0], "cmd") == 0 && argv[1] && !argv[2],
		   "%s keeps the element count", name);
		is_str(argv[1], cases[i].want, name);
		proc_argv_free(argv);
	}
	const char *none[] = { NULL };
	char **argv = proc_expand_argv(none, vars, 0);
	ok(argv && argv[0] == NULL, "an empty template gives an empty array");
	proc_argv_free(argv);
}

static void test_argv_run(void)
{
	struct proc_result r = PROC_RESULT_INIT;
	const char *argv[] = { "printf", "%s-%s", "a b", "c", NULL };
	struct proc_spec spec = { .argv = argv };
	is_int(proc_run(&spec, &r), 0, "argv: proc_run succeeds");
	is_str(r.out.buf, "a b-c", "argv: arguments arrive as separate words");
	is_int(r.exit_code, 0, "argv: exit code 0");
	is_int(r.signal, 0, "argv: no signal");
	is_int(r.timed_out, 0, "argv: not timed out");
	is_int(r.spawn_errno, 0, "argv: no spawn error");
	is_str(r.err.buf, "", "argv: nothing on stderr");
	is_int((long long)r.out_total, 5, "argv: out_total counts the bytes");

	/* the same result struct reused for another run */
	const char *argv2[] = { "sh", "-c", "echo out; echo err >&2; exit 7", NULL };
	spec.argv = argv2;
	is_int(proc_run(&spec, &r), 0, "reused result: proc_run succeeds");
	is_str(r.out.buf, "out\n", "reused result: new stdout replaces the old");
	is_str(r.err.buf, "err\n", "stderr is captured separately");
	is_int(r.exit_code, 7, "exit code 7");
	proc_result_release(&r);
}

static void test_no_injection(void)
{
	char *pwned = tmp_path("pwned");
	char *value = xasprintf("'; touch %s; echo '$(touch %s)`touch %s`", pwned, pwned, pwned);
	struct proc_result r = PROC_RESULT_INIT;

	/* a placeholder in an argv element reaches the program as one word */
	const char *tmpl[] = { "printf", "[%s]", "{service}", NULL };
	struct proc_var vars[] = { { "service", value } };
	char **argv = proc_expand_argv(tmpl, vars, 1);
	struct proc_spec spec = { .argv = (const char *const *)argv };
	proc_run(&spec, &r);
	char *want = xasprintf("[%s]", value);
	is_str(r.out.buf, want, "argv placeholder: the value is passed verbatim");
	proc_argv_free(argv);

	/* a shell string sees the context only as environment variables */
	struct proc_var env[] = { { "OFS_SERVICE", value }, { "OFS_REPLICAS", "3" } };
	struct proc_spec sh = {
		.shell = "printf '[%s]' \"$OFS_SERVICE\"; printf '(%s)' $OFS_SERVICE; "
			 "printf '<%s>' \"$OFS_REPLICAS\"",
		.env = env,
		.nenv = 2,
	};
	proc_run(&sh, &r);
	ok(strncmp(r.out.buf, want, strlen(want)) == 0,
	   "shell: the quoted variable expands to the exact value");
	ok(strstr(r.out.buf, "<3>") != NULL, "shell: a second variable is set too");
	is_int(r.exit_code, 0, "shell: the script ran to the end");
	ok(!file_exists(pwned), "no command hidden in the value was ever executed");
	free(want);
	free(value);
	free(pwned);
	proc_result_release(&r);
}

static void test_env(void)
{
	setenv("OFS_TEST_INHERIT", "parent", 1);
	setenv("OFS_TEST_OVERRIDE", "old", 1);
	setenv("OFS_TEST_UNSET", "present", 1);
	struct proc_var env[] = {
		{ "OFS_TEST_OVERRIDE", "new" },
		{ "OFS_TEST_UNSET", NULL },
		{ "OFS_TEST_EMPTY", "" },
	};
	struct proc_spec spec = {
		.shell = "echo \"$OFS_TEST_INHERIT $OFS_TEST_OVERRIDE ${OFS_TEST_UNSET-unset} "
			 "[${OFS_TEST_EMPTY-unset}]\"; env | grep -c '^OFS_TEST_OVERRIDE='",
		.env = env,
		.nenv = ARRAY_SIZE(env),
	};
	struct proc_result r = PROC_RESULT_INIT;
	proc_run(&spec, &r);
	is_str(r.out.buf, "parent new unset []\n1\n",
	       "env: inherited, overridden once, unset with NULL, set empty");
	unsetenv("OFS_TEST_INHERIT");
	unsetenv("OFS_TEST_OVERRIDE");
	unsetenv("OFS_TEST_UNSET");

	/* cwd */
	const char *pwd[] = { "pwd", "-P", NULL };
	struct proc_spec in_dir = { .argv = pwd, .cwd = tmpdir };
	proc_run(&in_dir, &r);
	char real[PATH_MAX];
	char *want = realpath(tmpdir, real) ? xasprintf("%s\n", real) : xstrdup("?");
	is_str(r.out.buf, want, "cwd: the child runs in the given directory");
	free(want);
	proc_result_release(&r);
}

static void test_stdin(void)
{
	size_t n = 200000; /* several times a pipe's capacity */
	char *data = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	const char *cat[] = { "cat", NULL };
	struct proc_spec spec = { .argv = cat, .stdin_data = data, .stdin_len = n,
				  .capture_limit = 1 << 20, .timeout_ms = 10000 };
	struct proc_result r = PROC_RESULT_INIT;
	proc_run(&spec, &r);
	is_mem(r.out.buf, r.out.len, data, n, "stdin: 200000 bytes fed and echoed back");
	is_int(r.out_truncated, 0, "stdin: under the limit nothing is truncated");

	struct proc_spec empty = { .argv = cat, .stdin_data = "", .stdin_len = 0 };
	proc_run(&empty, &r);
	is_int((long long)r.out.len, 0, "stdin: zero bytes give an immediate end of file");

	int64_t t0 = wall_ms();
	struct proc_spec devnull = { .argv = cat, .timeout_ms = 5000 };
	proc_run(&devnull, &r);
	ok(r.exit_code == 0 && !r.timed_out && r.out.len == 0 && wall_ms() - t0 < 2000,
	   "no stdin data: the child reads /dev/null and ends at once");

	/* with ofs's own stdin closed, new pipes land on fd 0; the child must still work */
	int saved = dup(STDIN_FILENO);
	close(STDIN_FILENO);
	struct proc_spec hello = { .argv = cat, .stdin_data = "hello", .stdin_len = 5,
				   .timeout_ms = 10000 };
	proc_run(&hello, &r);
	dup2(saved, STDIN_FILENO);
	close(saved);
	ok(strcmp(r.out.buf, "hello") == 0 && r.exit_code == 0 && r.err.len == 0,
	   "stdin: fed correctly while ofs's own stdin is closed");

	/* a child that never reads: no SIGPIPE may reach this process */
	char *big = xcalloc(1, 1 << 20);
	const char *tru[] = { "true", NULL };
	struct proc_spec ignored = { .argv = tru, .stdin_data = big, .stdin_len = 1 << 20 };
	is_int(proc_run(&ignored, &r), 0, "stdin: a child that does not read it still ends");
	is_int(r.exit_code, 0, "stdin: ... with its own status");
	free(big);
	free(data);
	proc_result_release(&r);
}

static void test_status(void)
{
	static const struct {
		const char *script;
		int exit_code, sig;
		const char *describe;
	} cases[] = {
		{ "exit 0", 0, 0, "exited with status 0" },
		{ "exit 1", 1, 0, "exited with status 1" },
		{ "exit 2", 2, 0, "exited with status 2" },
		{ "exit 3", 3, 0, "exited with status 3" },
		{ "exit 255", 255, 0, "exited with status 255" },
		{ "kill -TERM $$", -1, SIGTERM, "killed by signal 15 (Terminated)" },
		{ "kill -KILL $$", -1, SIGKILL, "killed by signal 9 (Killed)" },
	};
	struct proc_result r = PROC_RESULT_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct proc_spec spec = { .shell = cases[i].script };
		proc_run(&spec, &r);
		char name[128];
		snprintf(name, sizeof(name), "'%s': exit code", cases[i].script);
		is_int(r.exit_code, cases[i].exit_code, name);
		snprintf(name, sizeof(name), "'%s': signal", cases[i].script);
		is_int(r.signal, cases[i].sig, name);
		struct strbuf d = SB_INIT;
		proc_describe(&r, &d);
		snprintf(name, sizeof(name), "'%s': described", cases[i].script);
		is_str(d.buf, cases[i].describe, name);
		sb_release(&d);
	}
	proc_result_release(&r);
}

static void test_capture_limit(void)
{
	struct proc_result r = PROC_RESULT_INIT;
	const char *head[] = { "head", "-c", "1048576", "/dev/zero", NULL };
	struct proc_spec spec = { .argv = head, .capture_limit = 1000, .timeout_ms = 10000 };
	int64_t t0 = wall_ms();
	proc_run(&spec, &r);
	is_int((long long)r.out.len, 1000, "capture: 1 MB of output keeps the first 1000 bytes");
	is_int((long long)r.out_total, 1048576, "capture: every byte is counted");
	is_int(r.out_truncated, 1, "capture: truncated is set");
	is_int(r.exit_code, 0, "capture: the child was never blocked and exited 0");
	ok(!r.timed_out && wall_ms() - t0 < 5000, "capture: no hang");
	is_int(r.err_truncated, 0, "capture: stderr untouched");

	struct proc_spec both = { .shell = "head -c 300000 /dev/zero >&2; echo ok",
				  .capture_limit = 100 };
	proc_run(&both, &r);
	is_str(r.out.buf, "ok\n", "capture: stdout under the limit is whole");
	is_int(r.out_truncated, 0, "capture: stdout not truncated");
	is_int((long long)r.err.len, 100, "capture: stderr keeps 100 bytes");
	is_int((long long)r.err_total, 300000, "capture: stderr total counted");
	is_int(r.err_truncated, 1, "capture: stderr truncated");

	struct proc_spec exact = { .shell = "printf 12345", .capture_limit = 5 };
	proc_run(&exact, &r);
	ok(r.out.len == 5 && !r.out_truncated, "capture: output of exactly the limit is whole");
	proc_result_release(&r);
}

static void test_timeout(void)
{
	char *pidfile = tmp_path("grandchild.pid");
	char *script = xasprintf("sleep 30 & echo $! > %s; sleep 30; wait", pidfile);
	struct proc_spec spec = { .shell = script, .timeout_ms = 200 };
	struct proc_result r = PROC_RESULT_INIT;
	int64_t t0 = wall_ms();
	is_int(proc_run(&spec, &r), 0, "timeout: proc_run returns 0 (the command ran)");
	int64_t took = wall_ms() - t0;
	is_int(r.timed_out, 1, "timeout: timed_out is set");
	is_int(r.signal, SIGTERM, "timeout: the shell died of SIGTERM");
	ok(took >= 200 && took < 3000, "timeout: finished in %lld ms", (long long)took);
	ok(r.duration_ms >= 200 && r.duration_ms < 3000, "timeout: duration_ms %lld",
	   (long long)r.duration_ms);
	pid_t gc = read_pid("grandchild.pid");
	ok(gc > 0, "timeout: the grandchild wrote its pid");
	ok(gc > 0 && process_gone(gc), "timeout: the background grandchild was killed too");
	struct strbuf d = SB_INIT;
	proc_describe(&r, &d);
	ok(strncmp(d.buf, "timed out after ", 16) == 0 &&
		   strstr(d.buf, "(killed by signal 15 (Terminated))"),
	   "timeout: described as '%s'", d.buf);
	sb_release(&d);

	/* a command that ignores SIGTERM gets SIGKILL after the grace period */
	struct proc_spec stubborn = { .shell = "trap '' TERM; sleep 30; sleep 30",
				      .timeout_ms = 100, .grace_ms = 150 };
	t0 = wall_ms();
	proc_run(&stubborn, &r);
	took = wall_ms() - t0;
	is_int(r.signal, SIGKILL, "grace: SIGKILL after the grace period");
	ok(r.timed_out && took >= 250 && took < 3000, "grace: took %lld ms", (long long)took);

	/* a grandchild that ignores SIGTERM dies as soon as the command is gone */
	char *gc2file = tmp_path("stubborn-grandchild.pid");
	char *gc2 = xasprintf("(trap '' TERM; exec sleep 30) & echo $! > %s; sleep 30", gc2file);
	struct proc_spec tree = { .shell = gc2, .timeout_ms = 100 };
	t0 = wall_ms();
	proc_run(&tree, &r);
	took = wall_ms() - t0;
	ok(r.timed_out && r.signal == SIGTERM && took < PROC_GRACE_DEFAULT,
	   "timeout: the command died of SIGTERM within the grace period (%lld ms)",
	   (long long)took);
	gc = read_pid("stubborn-grandchild.pid");
	ok(gc > 0 && process_gone(gc), "timeout: its SIGTERM-proof grandchild was killed too");
	free(gc2);
	free(gc2file);

	/* output written before the timeout is kept */
	struct proc_spec chatty = { .shell = "echo before; exec sleep 30", .timeout_ms = 100 };
	proc_run(&chatty, &r);
	is_str(r.out.buf, "before\n", "timeout: output before the kill is captured");

	/* a background process holding the pipes does not hold up the result */
	char *bgfile = tmp_path("background.pid");
	char *bg = xasprintf("sleep 5 & echo $! > %s; echo done", bgfile);
	struct proc_spec detach = { .shell = bg };
	t0 = wall_ms();
	proc_run(&detach, &r);
	took = wall_ms() - t0;
	ok(r.exit_code == 0 && !r.timed_out && took < 2000,
	   "exit: the result does not wait for background processes (%lld ms)", (long long)took);
	is_str(r.out.buf, "done\n", "exit: the command's own output is complete");
	pid_t bgpid = read_pid("background.pid");
	if (bgpid > 0)
		kill(bgpid, SIGKILL);
	free(bg);
	free(bgfile);
	free(script);
	free(pidfile);
	proc_result_release(&r);
}

static void test_spawn_errors(void)
{
	struct proc_result r = PROC_RESULT_INIT;
	const char *missing[] = { "/nonexistent/ofs-no-such-command", NULL };
	struct proc_spec spec = { .argv = missing };
	errno = 0;
	is_int(proc_run(&spec, &r), -1, "exec failure: proc_run returns -1");
	is_int(errno, ENOENT, "exec failure: errno ENOENT");
	is_int(r.spawn_errno, ENOENT, "exec failure: spawn_errno ENOENT");
	is_str(r.error.buf,
	       "cannot run '/nonexistent/ofs-no-such-command': No such file or directory",
	       "exec failure: message");
	is_int(r.exit_code, -1, "exec failure: no exit code");
	struct strbuf d = SB_INIT;
	proc_describe(&r, &d);
	is_str(d.buf, r.error.buf, "exec failure: described by its message");
	sb_release(&d);

	const char *unknown[] = { "ofs-no-such-command-in-path", "x", NULL };
	spec.argv = unknown;
	proc_run(&spec, &r);
	is_str(r.error.buf, "cannot run 'ofs-no-such-command-in-path': No such file or directory",
	       "PATH search failure: message");

	char *noexec = tmp_path("not-executable");
	FILE *f = fopen(noexec, "w");
	if (f) {
		fputs("#!/bin/sh\necho hi\n", f);
		fclose(f);
	}
	chmod(noexec, 0644);
	const char *denied[] = { noexec, NULL };
	spec.argv = denied;
	proc_run(&spec, &r);
	char *want = xasprintf("cannot run '%s': Permission denied", noexec);
	is_str(r.error.buf, want, "exec of a non-executable file: Permission denied");
	is_int(r.spawn_errno, EACCES, "... errno EACCES");
	free(want);
	free(noexec);

	const char *pwd[] = { "pwd", NULL };
	struct proc_spec nodir = { .argv = pwd, .cwd = "/nonexistent/ofs-dir" };
	is_int(proc_run(&nodir, &r), -1, "missing cwd: proc_run returns -1");
	is_str(r.error.buf,
	       "cannot change directory to '/nonexistent/ofs-dir' for 'pwd': "
	       "No such file or directory",
	       "missing cwd: message");

	/* out of descriptors before fork: the pipes cannot be made */
	int lowest = dup(STDIN_FILENO);
	close(lowest);
	struct rlimit old_lim, lim;
	getrlimit(RLIMIT_NOFILE, &old_lim);
	lim = old_lim;
	lim.rlim_cur = (rlim_t)lowest + 1;
	const char *tru[] = { "true", NULL };
	struct proc_spec nofds = { .argv = tru };
	setrlimit(RLIMIT_NOFILE, &lim);
	int ret = proc_run(&nofds, &r);
	setrlimit(RLIMIT_NOFILE, &old_lim);
	ok(ret == -1 && r.spawn_errno == EMFILE, "no descriptors left: a spawn error");
	is_str(r.error.buf, "cannot start 'true': Too many open files", "... with its message");

	/* a command that exits 127 by itself is not a spawn error */
	struct proc_spec own = { .shell = "exit 127" };
	is_int(proc_run(&own, &r), 0, "exit 127 from the command: proc_run returns 0");
	ok(r.exit_code == 127 && r.spawn_errno == 0, "exit 127 from the command: a plain status");

	struct proc_spec neither = { .timeout_ms = 10 };
	is_int(proc_run(&neither, &r), -1, "invalid spec: neither argv nor shell");
	is_str(r.error.buf, "invalid command: give either an argv array or a shell string",
	       "invalid spec: message");
	const char *empty[] = { "", NULL };
	struct proc_spec emptyargv = { .argv = empty };
	proc_run(&emptyargv, &r);
	is_str(r.error.buf, "invalid command: empty argv", "invalid spec: empty argv[0]");
	struct proc_var bad[] = { { "A=B", "c" } };
	struct proc_spec badenv = { .shell = "true", .env = bad, .nenv = 1 };
	proc_run(&badenv, &r);
	is_str(r.error.buf, "invalid environment variable name 'A=B'", "invalid spec: env name");
	is_int(r.spawn_errno, EINVAL, "invalid spec: EINVAL");
	proc_result_release(&r);
}

static void test_child_hygiene(void)
{
	struct proc_result r = PROC_RESULT_INIT;

	/* descriptors: only 0, 1, 2 reach the child (3 is ls's own directory) */
	int leak = fcntl(STDOUT_FILENO, F_DUPFD, 20); /* not close-on-exec */
	const char *ls[] = { "ls", "/proc/self/fd", NULL };
	struct proc_spec spec = { .argv = ls };
	proc_run(&spec, &r);
	is_str(r.out.buf, "0\n1\n2\n3\n", "no descriptor other than 0, 1, 2 is inherited");
	if (leak >= 0)
		close(leak);

	/* signals: ignored and blocked ones are back to default in the child */
	static const struct {
		int sig;
		int block; /* else ignore */
		const char *script;
	} cases[] = {
		{ SIGPIPE, 0, "kill -PIPE $$; echo survived" },
		{ SIGUSR1, 0, "kill -USR1 $$; echo survived" },
		{ SIGUSR2, 1, "kill -USR2 $$; echo survived" },
		{ SIGTERM, 1, "kill -TERM $$; echo survived" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sigaction ign, old_act;
		sigset_t set, old_mask;
		memset(&ign, 0, sizeof(ign));
		ign.sa_handler = SIG_IGN;
		sigemptyset(&set);
		sigaddset(&set, cases[i].sig);
		if (cases[i].block)
			sigprocmask(SIG_BLOCK, &set, &old_mask);
		else
			sigaction(cases[i].sig, &ign, &old_act);
		struct proc_spec s = { .shell = cases[i].script };
		proc_run(&s, &r);
		if (cases[i].block)
			sigprocmask(SIG_SETMASK, &old_mask, NULL);
		else
			sigaction(cases[i].sig, &old_act, NULL);
		ok(r.signal == cases[i].sig && r.out.len == 0,
		   "signal %d %s in ofs is default in the child", cases[i].sig,
		   cases[i].block ? "blocked" : "ignored");
	}

	/* the child leads its own process group: field 5 of its stat is its pgid */
	struct proc_spec pg = {
		.shell = "set -- $(cat /proc/$$/stat); [ \"$5\" = $$ ] && echo leader",
	};
	proc_run(&pg, &r);
	is_str(r.out.buf, "leader\n", "the child is the leader of its own process group");
	proc_result_release(&r);
}

struct job {
	int n;
	int seen;
};

/* Highest number of '+' lines not yet matched by '-' lines in the trace. */
static int max_concurrency(const char *trace)
{
	int cur = 0, max = 0;
	for (const char *p = trace; *p; p++) {
		if (*p == '+' && ++cur > max)
			max = cur;
		else if (*p == '-')
			cur--;
	}
	return max;
}

static void test_pool(void)
{
	enum { N = 50, CAP = 8 };
	struct job jobs[N];
	char *trace = tmp_path("trace");
	char *script = xasprintf("echo + >> %s; sleep 0.02; echo \"job $OFS_N\"; "
				 "echo - >> %s; exit $((OFS_N %% 4))", trace, trace);
	struct proc_pool *pool = proc_pool_new(CAP);
	char nums[N][12];
	for (int i = 0; i < N; i++) {
		jobs[i].n = i;
		jobs[i].seen = 0;
		snprintf(nums[i], sizeof(nums[i]), "%d", i);
		struct proc_var env[] = { { "OFS_N", nums[i] } };
		struct proc_spec spec = { .shell = script, .env = env, .nenv = 1,
					  .timeout_ms = 10000 };
		proc_pool_add(pool, &spec, &jobs[i]);
	}
	is_int((long long)proc_pool_pending(pool), N, "pool: 50 commands pending");
	is_int((long long)proc_pool_running(pool), 0, "pool: nothing starts before a step");

	int over_cap = 0, good = 0, collected = 0, steps = 0;
	struct proc_result r = PROC_RESULT_INIT;
	int64_t t0 = wall_ms();
	while (proc_pool_pending(pool) && wall_ms() - t0 < 20000) {
		if (proc_pool_run_step(pool, 1000) < 0)
			break;
		steps++;
		if (proc_pool_running(pool) > CAP)
			over_cap = 1;
		void *user;
		while (proc_pool_next(pool, &user, &r)) {
			struct job *j = user;
			char want[32];
			snprintf(want, sizeof(want), "job %d\n", j->n);
			collected++;
			j->seen++;
			if (r.exit_code == j->n % 4 && strcmp(r.out.buf, want) == 0 &&
			    !r.timed_out && r.spawn_errno == 0)
				good++;
			else
				diag("job %d: exit %d, out '%s'", j->n, r.exit_code, r.out.buf);
		}
	}
	is_int(collected, N, "pool: every command came back");
	is_int(good, N, "pool: each result has its own exit code and output");
	int once = 1;
	for (int i = 0; i < N; i++)
		once &= jobs[i].seen == 1;
	ok(once, "pool: each user pointer came back exactly once");
	ok(!over_cap, "pool: never more than 8 running");
	struct strbuf sb = SB_INIT;
	sb_read_file(&sb, trace);
	int conc = max_concurrency(sb.buf);
	ok(conc >= 2 && conc <= CAP, "pool: the children ran concurrently, at most 8 (%d)", conc);
	is_int((long long)sb.len, N * 4, "pool: every child started and ended");
	sb_release(&sb);
	proc_pool_free(pool);
	proc_result_release(&r);
	free(script);
	free(trace);
}

/* The pool driven by the caller's own poll(), with a failure in the mix. */
static void test_pool_external_poll(void)
{
	struct proc_pool *pool = proc_pool_new(2);
	const char *missing[] = { "/nonexistent/ofs-cmd", NULL };
	static const char *names[] = { "a", "b", "slow", "missing" };
	struct proc_spec specs[] = {
		{ .shell = "echo A" },
		{ .shell = "echo B >&2; exit 2" },
		{ .shell = "exec sleep 30", .timeout_ms = 100 },
		{ .argv = missing },
	};
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++)
		proc_pool_add(pool, &specs[i], (void *)names[i]);

	size_t max = proc_pool_max_fds(pool);
	struct pollfd *fds = xcalloc(max, sizeof(*fds));
	struct proc_result results[4];
	for (size_t i = 0; i < 4; i++)
		proc_result_init(&results[i]);
	int got = 0;
	int64_t t0 = wall_ms();
	while (proc_pool_pending(pool) && wall_ms() - t0 < 10000) {
		size_t n = proc_pool_pollfds(pool, fds, max);
		poll(fds, n, proc_pool_timeout(pool));
		proc_pool_dispatch(pool, fds, n);
		void *user;
		struct proc_result r = PROC_RESULT_INIT;
		while (proc_pool_next(pool, &user, &r)) {
			for (size_t i = 0; i < 4; i++)
				if (user == names[i]) {
					proc_result_release(&results[i]);
					results[i] = r;
					proc_result_init(&r);
					got++;
				}
		}
		proc_result_release(&r);
	}
	is_int(got, 4, "external poll: four results");
	is_str(results[0].out.buf, "A\n", "external poll: first command's output");
	ok(results[1].exit_code == 2 && strcmp(results[1].err.buf, "B\n") == 0,
	   "external poll: second command's status and stderr");
	ok(results[2].timed_out && results[2].signal == SIGTERM,
	   "external poll: the timeout fired without the pool's own loop");
	is_str(results[3].error.buf, "cannot run '/nonexistent/ofs-cmd': No such file or directory",
	       "external poll: a spawn error comes back as a result");
	for (size_t i = 0; i < 4; i++)
		proc_result_release(&results[i]);
	free(fds);
	proc_pool_free(pool);
}

static void test_pool_free_kills(void)
{
	char *pidfile = tmp_path("running.pid");
	char *script = xasprintf("echo $$ > %s.tmp; mv %s.tmp %s; exec sleep 30", pidfile, pidfile,
				 pidfile);
	struct proc_pool *pool = proc_pool_new(4);
	struct proc_spec spec = { .shell = script };
	proc_pool_add(pool, &spec, NULL);
	pid_t pid = -1;
	int64_t t0 = wall_ms();
	while (pid < 0 && wall_ms() - t0 < 5000) {
		proc_pool_run_step(pool, 20);
		pid = read_pid("running.pid");
	}
	is_int((long long)proc_pool_running(pool), 1, "pool free: one child running");
	proc_pool_free(pool);
	errno = 0;
	ok(pid > 0 && kill(pid, 0) < 0 && errno == ESRCH,
	   "pool free: the running child is killed and reaped");
	free(script);
	free(pidfile);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/ofs-test-proc.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	int fds_before = count_fds();

	test_expand();
	test_argv_run();
	test_no_injection();
	test_env();
	test_stdin();
	test_status();
	test_capture_limit();
	test_timeout();
	test_spawn_errors();
	test_child_hygiene();
	test_pool();
	test_pool_external_poll();
	test_pool_free_kills();

	is_int(count_fds(), fds_before, "no descriptor is leaked");
	errno = 0;
	ok(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "no child is left unreaped");

	const char *rm[] = { "rm", "-rf", tmpdir, NULL };
	struct proc_spec spec = { .argv = rm };
	struct proc_result r = PROC_RESULT_INIT;
	proc_run(&spec, &r);
	ok(r.exit_code == 0 && !file_exists(tmpdir), "the temporary directory is removed");
	proc_result_release(&r);
	return tap_done();
}
