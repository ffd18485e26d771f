/*
 * test_opt.c: option tables drive parsing, help, SYNOPSIS usage and the
 * completion dump; misuse exits 2 with the reason and the usage line.
 * Each command line runs in a child process so exits can be observed.
 */
#include "common.h"
#include <fcntl.h>
#include <sys/wait.h>

#include "opt.h"
#include "out.h"
#include "strbuf.h"
#include "suggest.h"
#include "tap.h"

static struct strbuf trace = SB_INIT; /* what the command saw */

static const struct opt check_opts[] = {
	{ 'f', 'f', "file", "file", "topology file", "@file", 0 },
	{ 'v', 'v', "verbose", NULL, "report every check", NULL, 0 },
	{ 'o', 'o', "output", "format", "output format", "jsonl text nagios", 0 },
	{ 1000, 0, "strict", NULL, "stop at the first bad input line", NULL, 0 },
	{ 1001, 0, "interval", "duration", "time between rounds", NULL, 0 },
	{ 1002, 0, "secret", NULL, "hidden option", NULL, OPT_HIDDEN },
	{ 1003, 0, "to", "url", "where to send the results", NULL, OPT_REQUIRED },
	{ 'q', 'q', NULL, NULL, "quiet", NULL, 0 },
	{ 0 },
};

static int run_check(int argc, char **argv)
{
	struct opt_parser p;
	opt_begin(&p, argc, argv);
	int c;
	while ((c = opt_next(&p)) != OPT_DONE)
		sb_addf(&trace, "[%d:%s]", c, p.arg ? p.arg : "");
	char **ops;
	int n = opt_operands(&p, &ops);
	for (int i = 0; i < n; i++)
		sb_addf(&trace, "(%s)", ops[i]);
	if (n > 2)
		opt_usage_error(&p, "too many targets");
	opt_end(&p);
	return 0;
}

static const struct opt_cmd cmds[] = {
	{ "check", run_check, "[target ...]", "run one round of checks", check_opts },
	{ "watch", run_check, NULL, "check forever", NULL },
	{ 0 },
};

static const struct opt global_opts[] = {
	{ 'C', 'C', NULL, "dir", "run in dir", "@dir", 0 },
	{ 0 },
};

static void global(int id, const char *arg)
{
	sb_addf(&trace, "{%c:%s}", id, arg ? arg : "");
}

static const struct opt_tool tool = { "ofs-demo", "demonstrate option tables", global_opts, cmds,
				      global };

struct result {
	int status;
	struct strbuf out, err;
};

static void run(struct result *r, const char *args)
{
	char *argv[32];
	char *copy = xstrdup(args);
	int argc = 0;
	argv[argc++] = (char *)"ofs-demo";
	for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;

	char outp[] = "/tmp/ofs-opt-out-XXXXXX", errp[] = "/tmp/ofs-opt-err-XXXXXX";
	int ofd = mkstemp(outp), efd = mkstemp(errp);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(ofd, 1);
		dup2(efd, 2);
		ofs_progname = "ofs-demo";
		int status = opt_dispatch(&tool, argc, argv);
		struct out *o = out_stdout();
		out_write(o, trace.buf, trace.len);
		out_flush_all();
		exit_after_output(status);
	}
	int st;
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	sb_init(&r->out, 0);
	sb_init(&r->err, 0);
	sb_read_file(&r->out, outp);
	sb_read_file(&r->err, errp);
	close(ofd);
	close(efd);
	unlink(outp);
	unlink(errp);
	free(copy);
}

static void release(struct result *r)
{
	sb_release(&r->out);
	sb_release(&r->err);
}

static const char usage_check[] =
	"usage: ofs-demo check [-hqv] [-f file] [-o format] [--interval duration] [--strict] "
	"--to url [target ...]\n";

static void test_parsing(void)
{
	static const struct {
		const char *args;
		int status;
		const char *out, *err;
	} cases[] = {
		{ "check", 0, "", "" },
		{ "check -v -q", 0, "[118:][113:]", "" },
		{ "check -vq", 0, "[118:][113:]", "" },
		{ "check -vftopo.json", 0, "[118:][102:topo.json]", "" },
		{ "check -f topo.json a b", 0, "[102:topo.json](a)(b)", "" },
		{ "check a --file=x.json b", 0, "[102:x.json](a)(b)", "" },
		{ "check --interval 5s --strict", 0, "[1001:5s][1000:]", "" },
		{ "check -- -v", 0, "(-v)", "" },
		{ "check - --secret", 0, "[1002:](-)", "" },
		{ "-C /tmp check", 0, "{C:/tmp}", "" },
		{ "check --bogus", 2, "", NULL },
		{ "check --intervall 5s", 2, "",
		  "ofs-demo check: unknown option '--intervall'; did you mean '--interval'?\n" },
		{ "check -x", 2, "", "ofs-demo check: unknown option '-x'\n" },
		{ "check -f", 2, "", "ofs-demo check: option '-f' requires an argument 'file'\n" },
		{ "check --file", 2, "", "ofs-demo check: option '--file' requires an argument 'file'\n" },
		{ "check --strict=yes", 2, "", "ofs-demo check: option '--strict' takes no argument\n" },
		{ "check a b c", 2, "", "ofs-demo check: too many targets\n" },
		{ "chekc", 2, "", "ofs-demo: unknown command 'chekc'; did you mean 'check'?\n" },
		{ "frobnicate", 2, "", "ofs-demo: unknown command 'frobnicate'\n" },
		{ "", 2, "", "ofs-demo: no command given\n" },
		{ "--version", 0, "ofs-demo " OFS_VERSION "\n", "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct result r;
		run(&r, cases[i].args);
		is_int(r.status, cases[i].status, cases[i].args);
		is_str(r.out.buf, cases[i].out, "stdout");
		if (cases[i].err && cases[i].status == 2 && cases[i].err[0]) {
			/* The reason, then the usage line of the right command. */
			ok(!strncmp(r.err.buf, cases[i].err, strlen(cases[i].err)), "reason: %.*s",
			   (int)strlen(cases[i].err) - 1, cases[i].err);
			ok(strstr(r.err.buf, "\nusage: ofs-demo") != NULL, "usage follows the reason");
		} else if (cases[i].err) {
			is_str(r.err.buf, cases[i].err, "stderr");
		}
		release(&r);
	}
}

static void test_help(void)
{
	struct result r;
	run(&r, "check --help");
	is_int(r.status, 0, "--help exits 0");
	ok(!strncmp(r.out.buf, usage_check, strlen(usage_check)),
	   "help starts with the SYNOPSIS-form usage, flags bundled, options sorted");
	ok(strstr(r.out.buf, "  -f, --file=file           topology file\n") != NULL,
	   "each option has an aligned help line");
	ok(strstr(r.out.buf, "secret") == NULL, "hidden options are not shown");
	is_str(r.err.buf, "", "help writes nothing to stderr");
	release(&r);

	run(&r, "-h");
	is_int(r.status, 0, "tool -h exits 0");
	ok(strstr(r.out.buf, "usage: ofs-demo [-Ch] command [argument ...]") == NULL &&
		   strstr(r.out.buf, "usage: ofs-demo [-h] [-C dir] command [argument ...]\n") != NULL,
	   "tool usage lists global options");
	ok(strstr(r.out.buf, "  check         run one round of checks\n") != NULL,
	   "tool help lists the commands");
	release(&r);

	run(&r, "check --bogus");
	ok(strstr(r.err.buf, usage_check) != NULL, "misuse prints the same usage line");
	release(&r);
}

static void test_dump(void)
{
	struct result r;
	run(&r, "--dump-options");
	is_int(r.status, 0, "--dump-options exits 0");
	ok(strstr(r.out.buf, "tool\tofs-demo\tdemonstrate option tables\n") == r.out.buf,
	   "dump starts with the tool line");
	ok(strstr(r.out.buf, "cmd\tcheck\trun one round of checks\n") != NULL, "commands are listed");
	ok(strstr(r.out.buf, "opt\tcheck\t-o\t--output\tformat\tjsonl text nagios\toutput format\n") !=
		   NULL,
	   "options carry their argument and completion values");
	ok(strstr(r.out.buf, "opt\t-\t-C\t-\tdir\t@dir\trun in dir\n") != NULL,
	   "global options have '-' as command");
	ok(strstr(r.out.buf, "secret") == NULL, "hidden options are not dumped");
	release(&r);
}

static void test_suggest(void)
{
	is_int((long long)suggest_distance("check", "check"), 0, "distance to itself is 0");
	is_int((long long)suggest_distance("chekc", "check"), 1, "a transposition costs 1");
	is_int((long long)suggest_distance("", "abc"), 3, "insertions");
	static const char *const names[] = { "check", "watch", "recover" };
	is_str(suggest_closest("wacth", names, 3), "watch", "closest name");
	ok(suggest_closest("deploy", names, 3) == NULL, "nothing close: no suggestion");
	static const char *const tie[] = { "ab", "ba" };
	ok(suggest_closest("aa", tie, 2) == NULL, "a tie gives no suggestion");
}

int main(void)
{
	test_parsing();
	test_help();
	test_dump();
	test_suggest();
	sb_release(&trace);
	return tap_done();
}
