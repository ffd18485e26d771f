/*
 * schema_cmd.c: `ofs-replay schema ACTION [argument ...]`: records
 * against JSON Schemas, schema compatibility, and a schema registry.
 *
 * One command, several actions, so that everything about schemas sits
 * under one name in --help and the man page. The option table is the
 * union of the actions' options; each action says which it takes, and a
 * misplaced option is a usage error (status 2) rather than ignored.
 *
 *   check SCHEMA [file ...]       valid records pass through unchanged,
 *                                 so `schema check s.json | next-tool`
 *                                 only ever sees valid data; each
 *                                 violation is reported on stderr
 *   compat OLD ... NEW            problems and a verdict, as records
 *   register SUBJECT SCHEMA       versions SUBJECT   get SUBJECT [VERSION]
 *   mode SUBJECT [MODE]           subjects           serve --listen ADDR
 *
 * The loader and validator are libcommon's jschema.c, the rules of
 * compatibility compat.c, the registries registry*.c.
 */
#include "common.h"

#include "cmds.h"
#include "compat.h"
#include "config.h"
#include "jschema.h"
#include "jsonl.h"
#include "jw.h"
#include "opt.h"
#include "out.h"
#include "record.h"
#include "registry.h"

enum {
	O_INVALID = 256,
	O_LISTEN,
	O_MODE,
	O_RAW,
	O_REGISTRY,
	O_STRICT,
	O_SUBJECT,
	O_QUIET = 'q',
};

const struct opt schema_opts[] = {
	{ O_INVALID, 0, "invalid", "file",
	  "check: also write a replay.invalid record per invalid record to file", "@file", 0 },
	{ O_LISTEN, 0, "listen", "addr:port", "serve: where to serve the REST API", NULL, 0 },
	{ O_MODE, 0, "mode", "mode", "compat: the compatibility mode (default BACKWARD)",
	  "BACKWARD BACKWARD_TRANSITIVE FORWARD FORWARD_TRANSITIVE FULL FULL_TRANSITIVE NONE", 0 },
	{ O_QUIET, 'q', "quiet", NULL, "check: do not pass valid records through", NULL, 0 },
	{ O_RAW, 0, "raw", NULL, "get: print the schema alone, not a record", NULL, 0 },
	{ O_REGISTRY, 0, "registry", "dir|url",
	  "the registry: a directory (default $OFS_STATE_DIR/replay/registry) or a Schema "
	  "Registry URL",
	  "@dir", 0 },
	{ O_STRICT, 0, "strict", NULL, "check: stop at the first unparsable line", NULL, 0 },
	{ O_SUBJECT, 0, "subject", "subject",
	  "compat: check against the versions of this registry subject", NULL, 0 },
	{ 0 },
};

#define BIT(o) (1u << ((o) == O_QUIET ? 15 : (o)-256))

struct opts {
	const char *invalid, *listen, *registry, *subject;
	int mode;
	bool quiet, raw, strict;
	unsigned given;
	const char *names[16];
};

/* ---- check ------------------------------------------------------------- */

struct check_ctx {
	const char *file;
	size_t line;
	struct jw *iw; /* the errors array of a replay.invalid record, or NULL */
};

static void report_violation(const struct jschema_error *e, void *user)
{
	struct check_ctx *c = user;
	struct strbuf raw = SB_INIT, line = SB_INIT;
	sb_addf(&raw, "%s: %s (schema %s)", *e->instance ? e->instance : "(root)", e->message,
		*e->schema ? e->schema : "(root)");
	cfg_text_add(&line, raw.buf, raw.len);
	error("%s:%zu: %s", c->file, c->line, line.buf);
	sb_release(&raw);
	sb_release(&line);
	if (c->iw) {
		jw_obj_begin(c->iw);
		jw_kv_str(c->iw, "instance", e->instance);
		jw_kv_str(c->iw, "schema", e->schema);
		jw_kv_str(c->iw, "keyword", e->keyword);
		jw_kv_str(c->iw, "message", e->message);
		jw_obj_end(c->iw);
	}
}

static struct jschema *load_schema_file(const char *path)
{
	struct strbuf text = SB_INIT, err = SB_INIT;
	if (sb_read_file(&text, path) < 0)
		die_usage("cannot open '%s': %s", path, strerror(errno));
	struct jschema *s = jschema_load(path, text.buf, text.len, &err);
	sb_release(&text);
	if (!s) {
		error_lines(err.buf, err.len);
		exit_after_output(EXIT_USAGE);
	}
	sb_release(&err);
	return s;
}

static int do_check(struct opts *o, int n, char **args)
{
	if (n < 1)
		opt_usage_error(NULL, "check: missing schema");
	struct jschema *s = load_schema_file(args[0]);
	struct out *inv = o->invalid ? out_open(o->invalid) : NULL;
	struct out *so = out_stdout();
	struct strbuf sb = SB_INIT;
	size_t ninvalid = 0;
	char *stdin_only[] = { "-" };
	char **files = n > 1 ? args + 1 : stdin_only;
	int nfiles = n > 1 ? n - 1 : 1;
	bool stop = false;
	for (int i = 0; i < nfiles && !stop; i++) {
		struct strbuf err = SB_INIT;
		struct jsonl_reader *r = jsonl_open(files[i], o->strict ? JSONL_STRICT : 0, &err);
		if (!r) {
			error("%s", err.buf);
			sb_release(&err);
			continue;
		}
		sb_release(&err);
		cJSON *rec;
		int rc;
		while ((rc = jsonl_next(r, &rec)) > 0) {
			struct check_ctx c = { jsonl_name(r), jsonl_lineno(r), NULL };
			struct jw w;
			if (inv) {
				jw_init(&w, &sb);
				rec_begin(&w, "replay.invalid");
				jw_kv_str(&w, "file", c.file);
				jw_kv_int(&w, "line", (int64_t)c.line);
				jw_key(&w, "errors");
				jw_arr_begin(&w);
				c.iw = &w;
			}
			size_t nerr = jschema_validate(s, rec, report_violation, &c);
			if (nerr) {
				ninvalid++;
				if (inv) {
					jw_arr_end(&w);
					jw_key(&w, "record");
					jw_cjson(&w, rec);
					rec_end(&w, inv);
				}
			} else if (!o->quiet) {
				size_t len;
				const char *line = jsonl_line(r, &len);
				out_write(so, line, len);
				out_write(so, "\n", 1);
			}
			sb_reset(&sb);
			cJSON_Delete(rec);
		}
		if (rc < 0 && o->strict)
			stop = true;
		jsonl_close(r);
	}
	if (inv)
		out_close(inv);
	sb_release(&sb);
	jschema_free(s);
	return jsonl_exit_status(ninvalid ? EXIT_NO : EXIT_OK);
}

/* ---- compat ------------------------------------------------------------ */

struct compat_out {
	char **old_names; /* file names, or NULL: old is a registry version */
	const char *subject;
	struct strbuf sb;
	size_t n; /* problems printed */
};

static void print_problem(const struct compat_problem *p, void *user)
{
	struct compat_out *c = user;
	struct jw w;
	c->n++;
	jw_init(&w, &c->sb);
	rec_begin(&w, "replay.compat");
	jw_kv_str(&w, "direction", p->direction);
	jw_kv_str(&w, "pointer", p->pointer);
	jw_kv_str(&w, "rule", p->rule);
	jw_kv_str(&w, "message", p->message);
	if (c->old_names) {
		jw_kv_str(&w, "old", c->old_names[p->old]);
	} else {
		jw_kv_str(&w, "subject", c->subject);
		jw_kv_int(&w, "old_version", (int64_t)p->old);
	}
	rec_end(&w, out_stdout());
}

static void print_verdict(struct compat_out *c, enum compat_mode mode, size_t n)
{
	struct jw w;
	jw_init(&w, &c->sb);
	rec_begin(&w, "replay.compat.verdict");
	if (c->subject)
		jw_kv_str(&w, "subject", c->subject);
	jw_kv_str(&w, "mode", compat_mode_name(mode));
	jw_kv_bool(&w, "compatible", n == 0);
	jw_kv_int(&w, "problems", (int64_t)n);
	rec_end(&w, out_stdout());
}

static int reg_status(int rc, const struct strbuf *err)
{
	error("%s", err->buf);
	return rc == REG_INVALID ? EXIT_USAGE
	       : rc == REG_NOT_FOUND || rc == REG_INCOMPATIBLE ? EXIT_NO
								: EXIT_SYSTEM;
}

/* The end of a registry action whose result rc was printed (if REG_OK):
 * report a failure, release err, sb and r; the exit status. */
static int reg_finish(struct registry *r, int rc, struct strbuf *err, struct strbuf *sb)
{
	int status = rc == REG_OK ? EXIT_OK : reg_status(rc, err);
	sb_release(sb);
	sb_release(err);
	registry_close(r);
	return status;
}

static struct registry *open_registry(struct opts *o)
{
	struct strbuf err = SB_INIT;
	struct registry *r = registry_open(o->registry, &err);
	if (!r)
		die("%s", err.buf);
	sb_release(&err);
	return r;
}

static int do_compat(struct opts *o, int n, char **args)
{
	enum compat_mode mode = o->mode >= 0 ? (enum compat_mode)o->mode : COMPAT_BACKWARD;
	struct compat_out c = { NULL, NULL, SB_INIT, 0 };
	size_t problems;
	if (o->subject) {
		if (n != 1)
			opt_usage_error(NULL, "compat --subject: expected one schema, the new one");
		struct jschema *js = load_schema_file(args[0]);
		struct registry *r = open_registry(o);
		struct strbuf err = SB_INIT;
		c.subject = o->subject;
		int rc = registry_compat(r, o->subject, jschema_root(js), (int)mode, &problems,
					 print_problem, &c, &err);
		registry_close(r);
		jschema_free(js);
		if (rc != REG_OK) {
			sb_release(&c.sb);
			int st = reg_status(rc, &err);
			sb_release(&err);
			return st;
		}
		sb_release(&err);
	} else {
		if (n < 2)
			opt_usage_error(NULL, "compat: expected OLD ... NEW");
		struct jschema **js = xcalloc((size_t)n, sizeof(*js));
		for (int i = 0; i < n; i++)
			js[i] = load_schema_file(args[i]);
		c.old_names = args;
		problems = compat_check(mode, (const struct jschema *const *)js, (size_t)n - 1,
					js[n - 1], print_problem, &c);
		for (int i = 0; i < n; i++)
			jschema_free(js[i]);
		free(js);
	}
	print_verdict(&c, mode, problems);
	sb_release(&c.sb);
	return problems ? EXIT_NO : EXIT_OK;
}

/* ---- the registry actions ---------------------------------------------- */

static void need_subject(const char *action, const char *s)
{
	if (!registry_subject_ok(s))
		opt_usage_error(NULL, "%s: invalid subject name '%s' (1 to 200 of A-Z a-z 0-9 . _ -, "
				      "not starting with a dot)",
				action, s);
}

static int do_register(struct opts *o, int n, char **args)
{
	if (n != 2)
		opt_usage_error(NULL, "register: expected SUBJECT SCHEMA");
	need_subject("register", args[0]);
	struct jschema *js = load_schema_file(args[1]);
	struct registry *r = open_registry(o);
	struct compat_out c = { NULL, args[0], SB_INIT, 0 };
	struct strbuf err = SB_INIT;
	struct reg_result res;
	int rc = registry_register(r, args[0], jschema_root(js), &res, print_problem, &c, &err);
	int status = EXIT_OK;
	if (rc == REG_OK) {
		struct jw w;
		jw_init(&w, &c.sb);
		rec_begin(&w, "replay.schema.registered");
		jw_kv_str(&w, "subject", args[0]);
		jw_kv_int(&w, "version", res.version);
		jw_kv_int(&w, "id", res.id);
		jw_kv_bool(&w, "existing", res.existing);
		rec_end(&w, out_stdout());
	} else if (rc == REG_INCOMPATIBLE) {
		enum compat_mode mode = COMPAT_BACKWARD;
		struct strbuf e2 = SB_INIT;
		registry_mode(r, args[0], &mode, &e2);
		sb_release(&e2);
		print_verdict(&c, mode, c.n ? c.n : 1);
		error("register: '%s' is incompatible with subject '%s' (mode %s); nothing stored",
		      args[1], args[0], compat_mode_name(mode));
		status = EXIT_NO;
	} else {
		status = reg_status(rc, &err);
	}
	sb_release(&err);
	sb_release(&c.sb);
	registry_close(r);
	jschema_free(js);
	return status;
}

static int do_versions(struct opts *o, int n, char **args)
{
	if (n != 1)
		opt_usage_error(NULL, "versions: expected SUBJECT");
	need_subject("versions", args[0]);
	struct registry *r = open_registry(o);
	struct strbuf err = SB_INIT, sb = SB_INIT;
	int *v;
	size_t nv;
	int rc = registry_versions(r, args[0], &v, &nv, &err);
	if (rc == REG_OK) {
		struct jw w;
		jw_init(&w, &sb);
		rec_begin(&w, "replay.schema.versions");
		jw_kv_str(&w, "subject", args[0]);
		jw_key(&w, "versions");
		jw_arr_begin(&w);
		for (size_t i = 0; i < nv; i++)
			jw_int(&w, v[i]);
		jw_arr_end(&w);
		rec_end(&w, out_stdout());
		free(v);
	}
	return reg_finish(r, rc, &err, &sb);
}

static int do_get(struct opts *o, int n, char **args)
{
	if (n < 1 || n > 2)
		opt_usage_error(NULL, "get: expected SUBJECT [VERSION|latest]");
	need_subject("get", args[0]);
	int version = 0;
	if (n == 2 && strcmp(args[1], "latest")) {
		char *end;
		errno = 0;
		long v = strtol(args[1], &end, 10);
		if (errno || *end || v < 1 || v > INT_MAX)
			opt_usage_error(NULL, "get: '%s' is not a version (1, 2, ... or latest)",
					args[1]);
		version = (int)v;
	}
	struct registry *r = open_registry(o);
	struct strbuf err = SB_INIT, sb = SB_INIT;
	struct reg_schema rs;
	int rc = registry_get(r, args[0], version, &rs, &err);
	if (rc == REG_OK) {
		struct jw w;
		jw_init(&w, &sb);
		if (o->raw) {
			jw_cjson(&w, rs.schema);
			out_record(out_stdout(), &sb);
		} else {
			rec_begin(&w, "replay.schema");
			jw_kv_str(&w, "subject", args[0]);
			jw_kv_int(&w, "version", rs.version);
			jw_kv_int(&w, "id", rs.id);
			jw_key(&w, "schema");
			jw_cjson(&w, rs.schema);
			rec_end(&w, out_stdout());
		}
		cJSON_Delete(rs.schema);
	}
	return reg_finish(r, rc, &err, &sb);
}

static int do_mode(struct opts *o, int n, char **args)
{
	if (n < 1 || n > 2)
		opt_usage_error(NULL, "mode: expected SUBJECT [MODE]");
	need_subject("mode", args[0]);
	int m = -1;
	if (n == 2 && (m = compat_mode_parse(args[1])) < 0)
		opt_usage_error(NULL, "mode: unknown mode '%s' (BACKWARD, BACKWARD_TRANSITIVE, "
				      "FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, NONE)",
				args[1]);
	struct registry *r = open_registry(o);
	struct strbuf err = SB_INIT, sb = SB_INIT;
	enum compat_mode mode = (enum compat_mode)m;
	int rc = m >= 0 ? registry_set_mode(r, args[0], mode, &err)
			: registry_mode(r, args[0], &mode, &err);
	if (rc == REG_OK) {
		struct jw w;
		jw_init(&w, &sb);
		rec_begin(&w, "replay.schema.mode");
		jw_kv_str(&w, "subject", args[0]);
		jw_kv_str(&w, "mode", compat_mode_name(mode));
		rec_end(&w, out_stdout());
	}
	return reg_finish(r, rc, &err, &sb);
}

static int do_subjects(struct opts *o, int n, char **args)
{
	(void)args;
	if (n != 0)
		opt_usage_error(NULL, "subjects: takes no operands");
	struct registry *r = open_registry(o);
	struct strbuf err = SB_INIT, sb = SB_INIT;
	char **names;
	size_t nn;
	int rc = registry_subjects(r, &names, &nn, &err);
	if (rc == REG_OK) {
		for (size_t i = 0; i < nn; i++) {
			struct jw w;
			jw_init(&w, &sb);
			rec_begin(&w, "replay.schema.subject");
			jw_kv_str(&w, "subject", names[i]);
			rec_end(&w, out_stdout());
			free(names[i]);
		}
		free(names);
	}
	return reg_finish(r, rc, &err, &sb);
}

static int do_serve(struct opts *o, int n, char **args)
{
	(void)args;
	if (n != 0)
		opt_usage_error(NULL, "serve: takes no operands");
	if (!o->listen)
		opt_usage_error(NULL, "serve: --listen is required");
	if (o->registry && (!strncmp(o->registry, "http://", 7) ||
			    !strncmp(o->registry, "https://", 8)))
		opt_usage_error(NULL, "serve: --registry must be a directory");
	struct strbuf err = SB_INIT;
	int status = registry_serve(o->registry, o->listen, &err);
	if (err.len)
		error("%s", err.buf);
	sb_release(&err);
	return status;
}

/* ---- dispatch ---------------------------------------------------------- */

static const struct action {
	const char *name;
	int (*run)(struct opts *o, int n, char **args);
	unsigned allowed;
} actions[] = {
	{ "check", do_check, BIT(O_INVALID) | BIT(O_QUIET) | BIT(O_STRICT) },
	{ "compat", do_compat, BIT(O_MODE) | BIT(O_REGISTRY) | BIT(O_SUBJECT) },
	{ "register", do_register, BIT(O_REGISTRY) },
	{ "versions", do_versions, BIT(O_REGISTRY) },
	{ "get", do_get, BIT(O_REGISTRY) | BIT(O_RAW) },
	{ "mode", do_mode, BIT(O_REGISTRY) },
	{ "subjects", do_subjects, BIT(O_REGISTRY) },
	{ "serve", do_serve, BIT(O_LISTEN) | BIT(O_REGISTRY) },
	{ NULL, NULL, 0 },
};

int cmd_schema(int argc, char **argv)
{
	struct opt_parser p;
	struct opts o = { .mode = -1 };
	int c;
	opt_begin(&p, argc, argv);
	while ((c = opt_next(&p)) != OPT_DONE) {
		unsigned bit = BIT(c);
		if (!(o.given & bit))
			o.names[c == O_QUIET ? 15 : c - 256] = p.name;
		o.given |= bit;
		switch (c) {
		case O_INVALID: o.invalid = p.arg; break;
		case O_LISTEN: o.listen = p.arg; break;
		case O_MODE:
			if ((o.mode = compat_mode_parse(p.arg)) < 0)
				opt_usage_error(&p, "--mode: unknown mode '%s' (BACKWARD, "
						    "BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, "
						    "FULL, FULL_TRANSITIVE, NONE)",
						p.arg);
			break;
		case O_QUIET: o.quiet = true; break;
		case O_RAW: o.raw = true; break;
		case O_REGISTRY: o.registry = p.arg; break;
		case O_STRICT: o.strict = true; break;
		case O_SUBJECT:
			if (!registry_subject_ok(p.arg))
				opt_usage_error(&p, "--subject: invalid subject name '%s'", p.arg);
			o.subject = p.arg;
			break;
		}
	}
	char **ops;
	int n = opt_operands(&p, &ops);
	if (n < 1)
		opt_usage_error(&p, "missing action (check, compat, register, versions, get, mode, "
				    "subjects, serve)");
	const struct action *a;
	for (a = actions; a->name && strcmp(a->name, ops[0]); a++)
		;
	if (!a->name)
		opt_usage_error(&p, "unknown action '%s' (check, compat, register, versions, get, "
				    "mode, subjects, serve)",
				ops[0]);
	unsigned extra = o.given & ~a->allowed;
	for (int i = 0; i < 16; i++)
		if (extra & (1u << i))
			opt_usage_error(&p, "%s: option '%s' does not apply", a->name, o.names[i]);
	int status = a->run(&o, n - 1, ops + 1);
	opt_end(&p);
	return status;
}
