/*
 * opt.h: table-driven command lines for every ofs binary.
 *
 * A tool declares its global options and its subcommands once, as tables;
 * from them come parsing, `--help` (stdout, status 0), usage lines in
 * man-page SYNOPSIS form for misuse (stderr, status 2), `--version`, and a
 * machine-readable dump (`--dump-options`, hidden) from which
 * completions/gen writes the bash and zsh completions.
 *
 * Shape: ofs-NAME [global options] COMMAND [options] [operands], git
 * style. Within a command, options and operands may be mixed
 * (`stats a.jsonl --by service`); "--" ends options; "-" is an operand
 * (stdin). Short flags bundle (-vq), short arguments attach or follow
 * (-ofile, -o file), long arguments use = or the next word. Long names
 * must be spelled out: no abbreviations, so scripts do not break when an
 * option is added.
 */
#ifndef OFS_OPT_H
#define OFS_OPT_H

#include <stdbool.h>

#ifndef OFS_VERSION
#define OFS_VERSION "0.1.0"
#endif

enum {
	OPT_HIDDEN = 1 << 0,   /* parsed, not shown in help or completions */
	OPT_REQUIRED = 1 << 1, /* an option with an argument the command needs:
				* shown without brackets in usage lines (the
				* command itself says when it is missing) */
};

/*
 * One option. id is what opt_next returns (use the short letter when there
 * is one). arg names the argument in help ("duration"); NULL makes a flag.
 * values helps completion: a space-separated word list ("text jsonl"),
 * "@file", "@dir" or NULL.
 */
struct opt {
	int id;
	char short_name;
	const char *long_name;
	const char *arg;
	const char *help;
	const char *values;
	unsigned flags;
};

struct opt_cmd {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *operands;              /* SYNOPSIS operands: "[file ...]" */
	const char *summary;
	const struct opt *opts;            /* ends with an all-zero entry; may be NULL */
};

struct opt_tool {
	const char *name;    /* "ofs-health" */
	const char *summary; /* one line */
	const struct opt *opts;     /* global options; may be NULL */
	const struct opt_cmd *cmds; /* ends with an all-zero entry */
	/* Called for each global option the tool declared; returns 0 or
	 * exits. May be NULL when the tool has no global options. */
	void (*global)(int id, const char *arg);
};

struct opt_parser {
	int argc;
	char **argv;
	int ind;                 /* next argv element to look at */
	const char *bundle;      /* rest of a short-option bundle */
	const struct opt *opts;
	const struct opt_tool *tool;
	const struct opt_cmd *cmd; /* NULL while parsing global options */
	bool permute;            /* collect operands found between options */
	bool done;
	char **operands;         /* collected operands (owned; pointers into argv) */
	int noperands;
	const char *arg;         /* the current option's argument */
	const char *name;        /* the current option as the user wrote it */
};

#define OPT_DONE (-1)

/*
 * opt_dispatch: parse global options, pick the command, run it and return
 * its status. Handles -h/--help, --version, --dump-options, no command
 * (usage, status 2) and unknown commands (with a suggestion, status 2).
 */
int opt_dispatch(const struct opt_tool *tool, int argc, char **argv);

/*
 * opt_begin: inside a command's run(), start parsing its options with the
 * table declared for it. -h/--help is handled here (help on stdout, exit
 * 0). Then: while ((c = opt_next(&p)) != OPT_DONE) switch (c) { ... }.
 */
void opt_begin(struct opt_parser *p, int argc, char **argv);
/* opt_init: the same for an explicit table (tests, tools without commands). */
void opt_init(struct opt_parser *p, const struct opt_tool *tool, const struct opt_cmd *cmd,
	      int argc, char **argv);
/* opt_next: the next option's id (its argument in p->arg), or OPT_DONE.
 * Misuse prints the reason and the usage on stderr and exits 2. */
int opt_next(struct opt_parser *p);
/* opt_operands: the operands after parsing; *argv is owned by p. */
int opt_operands(struct opt_parser *p, char ***argv);
/* opt_end: free what the parser allocated. */
void opt_end(struct opt_parser *p);

/*
 * opt_usage_error: print "NAME CMD: message" and the usage line to stderr
 * and exit 2. For operand errors found after parsing. p may be NULL
 * inside a command's run(): the command being run is used.
 */
void opt_usage_error(const struct opt_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Text generators (the caller owns nothing; output goes to the stream). */
struct strbuf;
/* opt_synopsis: "ofs-health check [-hv] [-f file] [target ...]". */
void opt_synopsis(struct strbuf *sb, const struct opt_tool *tool, const struct opt_cmd *cmd);
void opt_help(struct strbuf *sb, const struct opt_tool *tool, const struct opt_cmd *cmd);
/* opt_dump: tab-separated lines, one per tool, command and option:
 *   tool <name> <summary> / cmd <name> <summary> /
 *   opt <cmd or -> <-s or -> <--long or -> <arg or -> <values or -> <help> */
void opt_dump(struct strbuf *sb, const struct opt_tool *tool);

#endif
