/*
 * opt.c: table-driven option parsing, help, usage and the completion dump
 * (see opt.h). The same tables feed every output, so help, completions
 * and the man pages' SYNOPSIS (checked by a test) cannot drift apart.
 */
#include "common.h"
#include <ctype.h>

#include "opt.h"
#include "out.h"
#include "strbuf.h"
#include "suggest.h"

static const struct opt_tool *current_tool;
static const struct opt_cmd *current_cmd;

static const struct opt help_opt = { 'h', 'h', "help", NULL, "show this help and exit", NULL, 0 };

static size_t count_opts(const struct opt *opts)
{
	size_t n = 0;
	while (opts && (opts[n].short_name || opts[n].long_name))
		n++;
	return n;
}

/* Program name for messages: "ofs-health" or "ofs-health check". */
static void prog_name(struct strbuf *sb, const struct opt_tool *tool, const struct opt_cmd *cmd)
{
	sb_addstr(sb, tool ? tool->name : ofs_progname);
	if (cmd) {
		sb_addch(sb, ' ');
		sb_addstr(sb, cmd->name);
	}
}

static int cmp_opt(const void *a, const void *b)
{
	const struct opt *x = *(const struct opt *const *)a, *y = *(const struct opt *const *)b;
	/* style(9): by letter, lowercase before uppercase of the same letter;
	 * long-only options after the short ones, by name. */
	if (x->short_name && y->short_name) {
		int lx = tolower((unsigned char)x->short_name), ly = tolower((unsigned char)y->short_name);
		if (lx != ly)
			return lx - ly;
		return y->short_name - x->short_name;
	}
	if (x->short_name != y->short_name)
		return x->short_name ? -1 : 1;
	return strcmp(x->long_name ? x->long_name : "", y->long_name ? y->long_name : "");
}

/* Visible options of a table plus -h, sorted; *n gets the count. */
static const struct opt **sorted_opts(const struct opt *opts, size_t *n)
{
	size_t total = count_opts(opts);
	const struct opt **v = xcalloc(total + 1, sizeof(*v));
	size_t k = 0;
	bool has_help = false;
	for (size_t i = 0; i < total; i++) {
		if (opts[i].flags & OPT_HIDDEN)
			continue;
		if (opts[i].short_name == 'h')
			has_help = true;
		v[k++] = &opts[i];
	}
	if (!has_help)
		v[k++] = &help_opt;
	qsort(v, k, sizeof(*v), cmp_opt);
	*n = k;
	return v;
}

void opt_synopsis(struct strbuf *sb, const struct opt_tool *tool, const struct opt_cmd *cmd)
{
	prog_name(sb, tool, cmd);
	const struct opt *opts = cmd ? cmd->opts : tool->opts;
	size_t n;
	const struct opt **v = sorted_opts(opts, &n);
	struct strbuf flags = SB_INIT;
	for (size_t i = 0; i < n; i++)
		if (v[i]->short_name && !v[i]->arg)
			sb_addch(&flags, v[i]->short_name);
	if (flags.len)
		sb_addf(sb, " [-%s]", flags.buf);
	sb_release(&flags);
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = v[i];
		if (o->short_name && !o->arg)
			continue;
		bool req = o->arg && (o->flags & OPT_REQUIRED);
		const char *open = req ? "" : "[", *close = req ? "" : "]";
		if (o->short_name)
			sb_addf(sb, " %s-%c %s%s", open, o->short_name, o->arg, close);
		else if (o->arg)
			sb_addf(sb, " %s--%s %s%s", open, o->long_name, o->arg, close);
		else
			sb_addf(sb, " [--%s]", o->long_name);
	}
	free(v);
	if (cmd) {
		if (cmd->operands && *cmd->operands)
			sb_addf(sb, " %s", cmd->operands);
	} else if (tool->cmds) {
		sb_addstr(sb, " command [argument ...]");
	}
}

static void help_options(struct strbuf *sb, const struct opt *opts)
{
	size_t n;
	const struct opt **v = sorted_opts(opts, &n);
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = v[i];
		size_t start = sb->len;
		sb_addstr(sb, "  ");
		if (o->short_name)
			sb_addf(sb, "-%c", o->short_name);
		else
			sb_addstr(sb, "  ");
		if (o->long_name)
			sb_addf(sb, "%s--%s", o->short_name ? ", " : "  ", o->long_name);
		if (o->arg)
			sb_addf(sb, o->long_name ? "=%s" : " %s", o->arg);
		size_t w = sb->len - start;
		if (w <= 26) /* at least two spaces before the help */
			sb_addf(sb, "%*s", (int)(28 - w), "");
		else
			sb_addf(sb, "\n%28s", "");
		sb_addf(sb, "%s\n", o->help ? o->help : "");
	}
	free(v);
}

void opt_help(struct strbuf *sb, const struct opt_tool *tool, const struct opt_cmd *cmd)
{
	sb_addstr(sb, "usage: ");
	opt_synopsis(sb, tool, cmd);
	sb_addch(sb, '\n');
	sb_addf(sb, "\n%s\n", cmd ? cmd->summary : tool->summary);
	const struct opt *opts = cmd ? cmd->opts : tool->opts;
	sb_addstr(sb, "\noptions:\n");
	help_options(sb, opts);
	if (!cmd) {
		sb_addstr(sb, "      --version               print the version and exit\n");
		if (tool->cmds) {
			sb_addstr(sb, "\ncommands:\n");
			for (const struct opt_cmd *c = tool->cmds; c->name; c++)
				sb_addf(sb, "  %-14s%s\n", c->name, c->summary);
			sb_addf(sb, "\nRun '%s COMMAND --help' for a command's options.\n", tool->name);
		}
	}
	if (!strncmp(tool->name, "ofs-", 4))
		sb_addf(sb, "See %s(1).\n", tool->name);
}

static void dump_field(struct strbuf *sb, const char *s)
{
	sb_addch(sb, '\t');
	if (!s || !*s) {
		sb_addch(sb, '-');
		return;
	}
	for (; *s; s++)
		sb_addch(sb, *s == '\t' || *s == '\n' ? ' ' : *s);
}

static void dump_opts(struct strbuf *sb, const char *cmd, const struct opt *opts)
{
	size_t n;
	const struct opt **v = sorted_opts(opts, &n);
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = v[i];
		char s[3] = { '-', o->short_name, 0 };
		char *l = o->long_name ? xasprintf("--%s", o->long_name) : NULL;
		sb_addstr(sb, "opt");
		dump_field(sb, cmd);
		dump_field(sb, o->short_name ? s : NULL);
		dump_field(sb, l);
		dump_field(sb, o->arg);
		dump_field(sb, o->values);
		dump_field(sb, o->help);
		sb_addch(sb, '\n');
		free(l);
	}
	free(v);
}

void opt_dump(struct strbuf *sb, const struct opt_tool *tool)
{
	sb_addstr(sb, "tool");
	dump_field(sb, tool->name);
	dump_field(sb, tool->summary);
	sb_addch(sb, '\n');
	dump_opts(sb, NULL, tool->opts);
	sb_addstr(sb, "opt\t-\t-\t--version\t-\t-\tprint the version and exit\n");
	for (const struct opt_cmd *c = tool->cmds; c && c->name; c++) {
		sb_addstr(sb, "cmd");
		dump_field(sb, c->name);
		dump_field(sb, c->summary);
		sb_addch(sb, '\n');
		dump_opts(sb, c->name, c->opts);
	}
}

static void emit_stdout(struct strbuf *sb)
{
	struct out *o = out_stdout();
	out_write(o, sb->buf, sb->len);
	out_flush(o);
}

static void usage_exit(const struct opt_tool *tool, const struct opt_cmd *cmd)
	__attribute__((noreturn));
static void usage_exit(const struct opt_tool *tool, const struct opt_cmd *cmd)
{
	struct strbuf sb = SB_INIT;
	sb_addstr(&sb, "usage: ");
	opt_synopsis(&sb, tool, cmd);
	sb_addch(&sb, '\n');
	fflush(stdout);
	ssize_t w = write(STDERR_FILENO, sb.buf, sb.len);
	(void)w;
	sb_release(&sb);
	exit(EXIT_USAGE);
}

/* Print "NAME CMD: msg" and the usage line, exit 2. */
static void misuse_exit(const struct opt_tool *tool, const struct opt_cmd *cmd, const char *msg)
	__attribute__((noreturn));
static void misuse_exit(const struct opt_tool *tool, const struct opt_cmd *cmd, const char *msg)
{
	struct strbuf name = SB_INIT;
	prog_name(&name, tool, cmd);
	const char *saved = ofs_progname;
	ofs_progname = name.buf;
	error("%s", msg);
	ofs_progname = saved;
	sb_release(&name);
	usage_exit(tool, cmd);
}

static void misuse(const struct opt_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void misuse(const struct opt_parser *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	misuse_exit(p->tool, p->cmd, msg);
}

void opt_usage_error(const struct opt_parser *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	misuse_exit(p ? p->tool : current_tool, p ? p->cmd : current_cmd, msg);
}

void opt_init(struct opt_parser *p, const struct opt_tool *tool, const struct opt_cmd *cmd,
	      int argc, char **argv)
{
	memset(p, 0, sizeof(*p));
	p->argc = argc;
	p->argv = argv;
	p->ind = 1;
	p->tool = tool;
	p->cmd = cmd;
	p->opts = cmd ? cmd->opts : tool->opts;
	p->permute = cmd != NULL;
	p->operands = xcalloc((size_t)argc + 1, sizeof(char *));
}

void opt_begin(struct opt_parser *p, int argc, char **argv)
{
	if (!current_tool)
		die("opt_begin called outside opt_dispatch");
	opt_init(p, current_tool, current_cmd, argc, argv);
}

static const struct opt *find_short(const struct opt *opts, char c)
{
	for (size_t i = 0; opts && (opts[i].short_name || opts[i].long_name); i++)
		if (opts[i].short_name == c)
			return &opts[i];
	return c == 'h' ? &help_opt : NULL;
}

static const struct opt *find_long(const struct opt *opts, const char *name, size_t len)
{
	for (size_t i = 0; opts && (opts[i].short_name || opts[i].long_name); i++)
		if (opts[i].long_name && strlen(opts[i].long_name) == len &&
		    !memcmp(opts[i].long_name, name, len))
			return &opts[i];
	if (len == 4 && !memcmp(name, "help", 4))
		return &help_opt;
	return NULL;
}

static void unknown_long(const struct opt_parser *p, const char *word, size_t len)
{
	char w[128];
	snprintf(w, sizeof(w), "%.*s", (int)(len < 100 ? len : 100), word);
	size_t n = count_opts(p->opts);
	const char **names = xcalloc(n + 1, sizeof(*names));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (p->opts[i].long_name && !(p->opts[i].flags & OPT_HIDDEN))
			names[k++] = p->opts[i].long_name;
	const char *near = suggest_closest(w, names, k); /* points into the table */
	free(names);
	if (near)
		misuse(p, "unknown option '--%s'; did you mean '--%s'?", w, near);
	misuse(p, "unknown option '--%s'", w);
}

static int show_help(const struct opt_parser *p) __attribute__((noreturn));
static int show_help(const struct opt_parser *p)
{
	struct strbuf sb = SB_INIT;
	opt_help(&sb, p->tool, p->cmd);
	emit_stdout(&sb);
	sb_release(&sb);
	exit(EXIT_OK);
}

int opt_next(struct opt_parser *p)
{
	p->arg = NULL;
	if (p->bundle && *p->bundle) {
		char c = *p->bundle++;
		static char name[3] = "-?";
		name[1] = c;
		p->name = name;
		const struct opt *o = find_short(p->opts, c);
		if (!o)
			misuse(p, "unknown option '-%c'", c);
		if (o == &help_opt)
			show_help(p);
		if (o->arg) {
			if (*p->bundle) {
				p->arg = p->bundle;
			} else if (p->ind < p->argc) {
				p->arg = p->argv[p->ind++];
			} else {
				misuse(p, "option '-%c' requires an argument '%s'", c, o->arg);
			}
			p->bundle = NULL;
		}
		return o->id;
	}
	p->bundle = NULL;
	while (!p->done && p->ind < p->argc) {
		char *a = p->argv[p->ind];
		if (a[0] != '-' || a[1] == '\0') {
			if (!p->permute) {
				p->done = true;
				break;
			}
			p->operands[p->noperands++] = a;
			p->ind++;
			continue;
		}
		p->ind++;
		if (a[1] == '-' && a[2] == '\0') {
			p->done = true;
			break;
		}
		if (a[1] == '-') {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct opt *o = find_long(p->opts, name, len);
			p->name = a;
			if (!o)
				unknown_long(p, name, len);
			if (o == &help_opt)
				show_help(p);
			if (o->arg) {
				if (eq)
					p->arg = eq + 1;
				else if (p->ind < p->argc)
					p->arg = p->argv[p->ind++];
				else
					misuse(p, "option '--%s' requires an argument '%s'", o->long_name,
					       o->arg);
			} else if (eq) {
				misuse(p, "option '--%s' takes no argument", o->long_name);
			}
			return o->id;
		}
		p->bundle = a + 1;
		return opt_next(p);
	}
	/* The rest are operands. */
	if (p->done || p->ind >= p->argc) {
		p->done = true;
		if (p->permute || p->cmd)
			while (p->ind < p->argc)
				p->operands[p->noperands++] = p->argv[p->ind++];
	}
	return OPT_DONE;
}

int opt_operands(struct opt_parser *p, char ***argv)
{
	*argv = p->operands;
	return p->noperands;
}

void opt_end(struct opt_parser *p)
{
	free(p->operands);
	p->operands = NULL;
}

int opt_dispatch(const struct opt_tool *tool, int argc, char **argv)
{
	current_tool = tool;
	struct opt_parser p;
	opt_init(&p, tool, NULL, argc, argv);
	/* --version and --dump-options are built in. */
	for (;;) {
		if (p.ind < argc && !p.bundle) {
			const char *a = argv[p.ind];
			if (!strcmp(a, "--version")) {
				struct strbuf sb = SB_INIT;
				sb_addf(&sb, "%s %s\n", tool->name, OFS_VERSION);
				emit_stdout(&sb);
				sb_release(&sb);
				opt_end(&p);
				return EXIT_OK;
			}
			if (!strcmp(a, "--dump-options")) {
				struct strbuf sb = SB_INIT;
				opt_dump(&sb, tool);
				emit_stdout(&sb);
				sb_release(&sb);
				opt_end(&p);
				return EXIT_OK;
			}
		}
		int id = opt_next(&p);
		if (id == OPT_DONE)
			break;
		if (!tool->global)
			misuse(&p, "option '%s' is not handled", p.name);
		tool->global(id, p.arg);
	}
	if (p.ind >= argc) {
		opt_end(&p);
		error("no command given");
		usage_exit(tool, NULL);
	}
	const char *name = argv[p.ind];
	const struct opt_cmd *cmd = NULL;
	size_t ncmds = 0;
	for (const struct opt_cmd *c = tool->cmds; c && c->name; c++, ncmds++)
		if (!strcmp(c->name, name))
			cmd = c;
	if (!cmd) {
		const char **names = xcalloc(ncmds + 1, sizeof(*names));
		for (size_t i = 0; i < ncmds; i++)
			names[i] = tool->cmds[i].name;
		const char *near = suggest_closest(name, names, ncmds);
		free(names);
		opt_end(&p);
		if (near)
			misuse(&p, "unknown command '%s'; did you mean '%s'?", name, near);
		misuse(&p, "unknown command '%s'", name);
	}
	current_cmd = cmd;
	int sub_argc = argc - p.ind;
	char **sub_argv = argv + p.ind;
	opt_end(&p);
	return cmd->run(sub_argc, sub_argv);
}
