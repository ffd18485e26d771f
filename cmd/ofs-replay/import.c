/*
 * import.c: `ofs-replay import`, captures made by other tools as
 * replay.exchange records: GoReplay files (capture_gor.c), HAR files
 * (har.c) and nginx JSON access logs (nginxlog.c). The format is given
 * with -f or guessed from the start of each input: a first line
 * "1|2|3 HEX DIGITS..." is GoReplay; a JSON document spread over lines
 * (a first line of "{" alone), one whose first member is "log", or a
 * first line that is a whole JSON object with a "log" member is HAR; any
 * other first line starting with "{" is an nginx log.
 */
#include "common.h"
#include <ctype.h>

#include "capture.h"
#include "capture_gor.h"
#include "capture_input.h"
#include "cmds.h"
#include "har.h"
#include "nginxlog.h"
#include "opt.h"
#include "sig.h"

enum { IO_MASK = 256, IO_MASK_SALT, IO_STRICT };

const struct opt import_opts[] = {
	{ 'f', 'f', "format", "format", "the input format (default: guessed per file)",
	  "goreplay har nginx", 0 },
	{ IO_MASK, 0, "mask", "rule",
	  "mask personal data: header:NAME, hash-header:NAME, json:SEL, hash-json:SEL (repeatable)",
	  NULL, 0 },
	{ IO_MASK_SALT, 0, "mask-salt", "salt", "salt for hashed values (default $OFS_REPLAY_SALT)",
	  NULL, 0 },
	{ 'o', 'o', "output", "file", "write the records to file (.gz: gzip)", "@file", 0 },
	{ IO_STRICT, 0, "strict", NULL, "stop at the first rejected input", NULL, 0 },
	{ 0 },
};

enum fmt { FMT_GUESS, FMT_GOREPLAY, FMT_HAR, FMT_NGINX };

static bool is_gor_head(const char *p, size_t n)
{
	if (n < 4 || p[0] < '1' || p[0] > '3' || p[1] != ' ')
		return false;
	size_t i = 2;
	while (i < n && isxdigit((unsigned char)p[i]))
		i++;
	return i > 2 && i < n && p[i] == ' ';
}

/*
 * Guess the format from the first line (p holds at least it, or the
 * first GUESS_BYTES of it); FMT_GUESS if none fits.
 */
static enum fmt guess(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	if (is_gor_head(p + i, n - i))
		return FMT_GOREPLAY;
	if (i + 3 <= n && !memcmp(p + i, "\xEF\xBB\xBF", 3))
		i += 3;
	if (i >= n || p[i] != '{')
		return FMT_GUESS;
	/* A document spread over lines, or one that starts with "log", is HAR. */
	size_t k = i + 1;
	while (k < n && (p[k] == ' ' || p[k] == '\t'))
		k++;
	if (k >= n || p[k] == '\r' || p[k] == '\n' || (n - k >= 5 && !memcmp(p + k, "\"log\"", 5)))
		return FMT_HAR;
	const char *nl = memchr(p + i, '\n', n - i);
	size_t llen = nl ? (size_t)(nl - (p + i)) : n - i;
	cJSON *o = nl ? cJSON_ParseWithLength(p + i, llen) : NULL;
	enum fmt f = cJSON_IsObject(o) && cJSON_GetObjectItemCaseSensitive(o, "log") ? FMT_HAR
										   : FMT_NGINX;
	cJSON_Delete(o);
	return f;
}

/* Bytes looked at to guess a format. */
#define GUESS_BYTES (256 * 1024)

static const char *const fmt_names[] = { "guess", "goreplay", "har", "nginx" };

/* Import one input; returns the exit status it deserves (0, 1 stop, 2, 3, 4). */
static int import_one(struct cap_ctx *c, const char *path, enum fmt f, bool *stop)
{
	struct cin *in = cin_open(path);
	if (!in) {
		error("cannot open '%s': %s", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (f == FMT_GUESS) {
		const char *p;
		long n = cin_peek(in, GUESS_BYTES, &p);
		if (n < 0) {
			error("cannot read '%s': %s", cin_name(in), cin_error(in));
			cin_close(in);
			return EXIT_SYSTEM;
		}
		size_t blank = 0;
		while (blank < (size_t)n && strchr(" \t\r\n", p[blank]) && p[blank])
			blank++;
		if (blank == (size_t)n) {
			cin_close(in);
			return 0; /* empty input: nothing to import */
		}
		f = guess(p, (size_t)n);
		if (f == FMT_GUESS) {
			*stop = cap_reject(c, cin_name(in), 1,
					   "not a GoReplay, HAR or nginx JSON log file (use -f)") != 0;
			cin_close(in);
			return 0;
		}
	}
	int rc;
	switch (f) {
	case FMT_GOREPLAY:
		rc = gor_import(c, in);
		break;
	case FMT_HAR:
		rc = har_import(c, in);
		break;
	default:
		rc = nginx_import(c, in);
		break;
	}
	cin_close(in);
	if (rc < 0)
		return EXIT_SYSTEM;
	if (rc > 0)
		*stop = true;
	return 0;
}

int cmd_import(int argc, char **argv)
{
	struct opt_parser p;
	struct cap_ctx c = { 0 };
	const char *output = NULL, *salt = NULL;
	enum fmt f = FMT_GUESS;
	int o;
	sb_init(&c.rec, 0);
	opt_begin(&p, argc, argv);
	while ((o = opt_next(&p)) != OPT_DONE) {
		switch (o) {
		case 'f':
			f = FMT_GUESS;
			for (int i = 1; i < (int)ARRAY_SIZE(fmt_names); i++)
				if (!strcmp(p.arg, fmt_names[i]))
					f = (enum fmt)i;
			if (f == FMT_GUESS)
				opt_usage_error(&p, "unknown format '%s': use goreplay, har or nginx",
						p.arg);
			break;
		case 'o':
			output = p.arg;
			break;
		case IO_MASK:
			cap_mask_rule(&c, p.arg);
			break;
		case IO_MASK_SALT:
			salt = p.arg;
			break;
		case IO_STRICT:
			c.strict = true;
			break;
		}
	}
	char **files;
	int nfiles = opt_operands(&p, &files);
	cap_mask_salt(&c, salt);
	sig_setup();
	c.out = output ? out_open(output) : out_stdout();
	int status = 0;
	bool stop = false;
	static char *const dash[] = { "-" };
	if (!nfiles) {
		files = (char **)dash;
		nfiles = 1;
	}
	for (int i = 0; i < nfiles && !stop; i++) {
		int st = import_one(&c, files[i], f, &stop);
		if (st > status)
			status = st;
		if (sig_pending())
			break;
	}
	if (status < EXIT_REJECTED && c.bad)
		status = status == EXIT_USAGE ? EXIT_USAGE : EXIT_REJECTED;
	if (sig_pending())
		status = sig_exit_status();
	if (output)
		out_close(c.out);
	opt_end(&p);
	mask_release(&c.mask);
	sb_release(&c.rec);
	return status;
}
